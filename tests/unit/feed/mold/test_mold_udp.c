/*
 * Description: gap recovery against a real MoldUDP64 re-request server over loopback UDP. A thread
 * serves a stored session's messages on 127.0.0.1; the test drops packets from the "multicast"
 * stream, the session's send_request sends real request datagrams, and the answers read from
 * the client socket are fed back as MOLD_LINE_RETRANS. Also: a server that never answers.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core.h"
#include "mold.h"

#include "mold_test.h"
}

/* The request's fields: first sequence and count. */
static inline uint64_t req_first(const uint8_t *req)
{
	return get64(req + 10);
}

static inline uint16_t req_count(const uint8_t *req)
{
	return (uint16_t)(req[18] << 8 | req[19]);
}

#define SID "UDPSESS001"
#define NMSG 200
#define PER_PKT 5
#define MLEN 34

/* The re-request server: answers requests for sequences 1..NMSG of SID unless mute. */
struct server {
	int fd;
	struct sockaddr_in addr;
	pthread_t thread;
	bool started;
	bool mute;
	_Atomic int stop;
	_Atomic unsigned int requests; /* valid request datagrams received */
	_Atomic unsigned int bad_requests;
	_Atomic unsigned int answers; /* downstream packets sent */
};

struct client {
	int fd;
	struct sockaddr_in server;
	struct rec rec;
	unsigned int send_errors;
};

static struct server srv = { .fd = -1 };
static struct client cli = { .fd = -1 };

static void server_answer(struct server *sv, const uint8_t *req, const struct sockaddr_in *to)
{
	uint64_t first = get64(req + 10);
	uint64_t end = first + req_count(req);
	uint8_t pkt[1500];

	if (end > NMSG + 1)
		end = NMSG + 1;
	while (first < end) {
		uint16_t n = end - first > 10 ? 10 : (uint16_t)(end - first);
		size_t len = pkt_build(pkt, SID, first, n, MLEN);
		if (sendto(sv->fd, pkt, len, 0, (const struct sockaddr *)to, sizeof(*to)) ==
		    (ssize_t)len)
			atomic_fetch_add(&sv->answers, 1);
		first += n;
	}
}

static void *server_main(void *arg)
{
	struct server *sv = arg;
	struct pollfd pfd = { .fd = sv->fd, .events = POLLIN };

	while (!atomic_load(&sv->stop)) {
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		uint8_t req[64];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(sv->fd, req, sizeof(req), 0, (struct sockaddr *)&from, &fl);
		if (n != MOLD_REQUEST_LEN || memcmp(req, SID, MOLD_SESSION_LEN) != 0 ||
		    req_count(req) == 0) {
			atomic_fetch_add(&sv->bad_requests, 1);
			continue;
		}
		atomic_fetch_add(&sv->requests, 1);
		if (!sv->mute)
			server_answer(sv, req, &from);
	}
	return NULL;
}

static int udp_socket_loopback(struct sockaddr_in *bound)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t l = sizeof(*bound);

	if (fd < 0)
		return -1;
	memset(bound, 0, sizeof(*bound));
	bound->sin_family = AF_INET;
	bound->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bound->sin_port = 0;
	if (bind(fd, (struct sockaddr *)bound, sizeof(*bound)) != 0 ||
	    getsockname(fd, (struct sockaddr *)bound, &l) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void start_server(bool mute)
{
	srv.mute = mute;
	srv.fd = udp_socket_loopback(&srv.addr);
	cr_assert_geq(srv.fd, 0, "server socket: %s", strerror(errno));
	cr_assert_eq(pthread_create(&srv.thread, NULL, server_main, &srv), 0);
	srv.started = true;
	struct sockaddr_in caddr;
	cli.fd = udp_socket_loopback(&caddr);
	cr_assert_geq(cli.fd, 0, "client socket: %s", strerror(errno));
	cli.server = srv.addr;
}

static void teardown(void)
{
	if (srv.started) {
		atomic_store(&srv.stop, 1);
		pthread_join(srv.thread, NULL);
		srv.started = false;
	}
	if (srv.fd >= 0)
		close(srv.fd);
	if (cli.fd >= 0)
		close(cli.fd);
	srv.fd = cli.fd = -1;
}

/* send_request: a real datagram from the client socket to the server. */
static int udp_send_request(void *ctx, const uint8_t *pkt, size_t len)
{
	struct client *c = ctx;
	rec_send_request(&c->rec, pkt, len);
	if (sendto(c->fd, pkt, len, 0, (const struct sockaddr *)&c->server, sizeof(c->server)) !=
	    (ssize_t)len) {
		c->send_errors++;
		return -errno;
	}
	return 0;
}

static void udp_on_message(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len)
{
	rec_on_message(&((struct client *)ctx)->rec, seq, msg, len);
}

static void udp_on_gap_lost(void *ctx, uint64_t first, uint64_t count)
{
	rec_on_gap_lost(&((struct client *)ctx)->rec, first, count);
}

static void udp_on_session(void *ctx, const char session[MOLD_SESSION_LEN])
{
	rec_on_session(&((struct client *)ctx)->rec, session);
}

static void udp_on_eos(void *ctx)
{
	rec_on_eos(&((struct client *)ctx)->rec);
}

static const struct mold_ops udp_ops = {
	.on_message = udp_on_message,
	.on_gap_lost = udp_on_gap_lost,
	.on_session = udp_on_session,
	.on_end_of_session = udp_on_eos,
	.send_request = udp_send_request,
};

/* Reads every answer waiting (up to wait_ms for the first) and feeds it as retransmission. */
static unsigned int pump_retrans(struct mold_session *s, int wait_ms, uint64_t now)
{
	struct pollfd pfd = { .fd = cli.fd, .events = POLLIN };
	unsigned int got = 0;
	uint8_t buf[2048];

	if (poll(&pfd, 1, wait_ms) <= 0)
		return 0;
	for (;;) {
		ssize_t n = recv(cli.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			break;
		cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_RETRANS, buf, (size_t)n, now), 0);
		got++;
	}
	return got;
}

static bool dropped(uint64_t k)
{
	return k == 3 || k == 10 || k == 11 || k == 25 || k == 40;
}

static struct mold_session *udp_session(uint32_t max_retries, uint64_t retry_ns)
{
	struct mold_cfg c;
	mold_cfg_default(&c);
	c.window = 256;
	c.arena_bytes = 256 * 64;
	c.max_requests = 4;
	c.max_request_msgs = 64;
	c.max_retries = max_retries;
	c.retry_interval_ns = retry_ns;
	memset(&cli.rec, 0, sizeof(cli.rec));
	struct mold_session *s = mold_session_create(&c, &udp_ops, &cli);
	cr_assert_not_null(s);
	return s;
}

Test(mold_udp, dropped_packets_are_recovered_from_the_server_once_and_in_order, .fini = teardown)
{
	uint8_t pkt[1500];
	uint64_t now = 1000; /* session time stands still: no retry can fire, counts are exact */

	start_server(false);
	struct mold_session *s = udp_session(3, 1000000000);
	for (uint64_t k = 1; k <= NMSG / PER_PKT; k++) {
		if (dropped(k))
			continue;
		size_t len = pkt_build(pkt, SID, (k - 1) * PER_PKT + 1, PER_PKT, MLEN);
		cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_A, pkt, len, now), 0);
		pump_retrans(s, 0, now);
	}
	/* The last packet was dropped: the exchange's heartbeat tells the session it is missing. */
	size_t len = pkt_ctl(pkt, SID, NMSG + 1, 0);
	mold_session_on_packet(s, MOLD_LINE_A, pkt, len, now);
	for (int i = 0; i < 250 && mold_session_next_seq(s) <= NMSG; i++)
		pump_retrans(s, 20, now);

	struct rec *r = &cli.rec;
	cr_assert_eq(r->n, NMSG, "delivered %zu of %d", r->n, NMSG);
	for (size_t i = 0; i < r->n; i++)
		cr_assert_eq(r->seq[i], i + 1);
	cr_assert_eq(r->bad_content, 0);
	cr_assert_eq(r->nlost, 0);
	const struct mold_stats *st = mold_session_stats(s);
	/* Four missing runs (packet 3, packets 10-11, 25, 40), one request each. */
	cr_assert_eq(st->requests_sent, 4);
	cr_assert_eq(st->request_retries, 0);
	cr_assert_eq(st->request_errors, 0);
	cr_assert_eq(r->nreq, 4);
	uint64_t want_first[] = { 11, 46, 121, 196 };
	uint16_t want_count[] = { 5, 10, 5, 5 };
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(req_first(r->req[i]), want_first[i]);
		cr_assert_eq(req_count(r->req[i]), want_count[i]);
	}
	cr_assert_eq(st->line[MOLD_LINE_RETRANS].delivered, 25);
	cr_assert_eq(st->line[MOLD_LINE_A].delivered, NMSG - 25);
	cr_assert_eq(st->lost_msgs, 0);
	cr_assert_eq(st->gaps_recovered, st->gaps_opened);
	cr_assert_eq(atomic_load(&srv.bad_requests), 0);
	mold_session_destroy(s);
}

Test(mold_udp, silent_server_leads_to_gap_lost_after_the_retries, .fini = teardown)
{
	uint8_t pkt[1500];
	const uint64_t interval = 1000000;
	uint64_t now = 0;

	start_server(true);
	struct mold_session *s = udp_session(2, interval);
	for (uint64_t k = 1; k <= 10; k++) {
		if (k == 3)
			continue;
		size_t len = pkt_build(pkt, SID, (k - 1) * PER_PKT + 1, PER_PKT, MLEN);
		mold_session_on_packet(s, MOLD_LINE_A, pkt, len, now);
	}
	struct rec *r = &cli.rec;
	cr_assert_eq(r->n, 10);
	for (int i = 0; i < 4 && r->nlost == 0; i++) {
		now += interval;
		mold_session_poll(s, now);
		cr_assert_eq(pump_retrans(s, 10, now), 0, "the server is mute");
	}
	cr_assert_eq(r->nlost, 1);
	cr_assert_eq(r->lost_first[0], 11);
	cr_assert_eq(r->lost_count[0], 5);
	cr_assert_eq(r->n, 45);
	cr_assert_eq(r->seq[9], 10);
	cr_assert_eq(r->seq[10], 16);
	cr_assert_eq(r->seq[44], 50);
	const struct mold_stats *st = mold_session_stats(s);
	cr_assert_eq(st->requests_sent, 1);
	cr_assert_eq(st->request_retries, 2);
	cr_assert_eq(st->lost_msgs, 5);
	cr_assert_eq(cli.send_errors, 0);
	/* The three datagrams reached the server: wait for it to read them. */
	for (int i = 0; i < 250 && atomic_load(&srv.requests) < 3; i++)
		usleep(10000);
	cr_assert_eq(atomic_load(&srv.requests), 3);
	cr_assert_eq(atomic_load(&srv.answers), 0);
	mold_session_destroy(s);
}
