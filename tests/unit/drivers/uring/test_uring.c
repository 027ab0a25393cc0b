/*
 * Description: the io_uring backend on loopback and over a veth pair in a network namespace:
 * unicast flows delivered intact and in order with their source, provided buffers recycled,
 * reception resuming after the buffer ring ran dry, oversize datagrams dropped, multicast joins,
 * UDP sends, and the errors for a missing interface and a port already taken.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "../test_netns.h"

#define LOOPBACK htonl(INADDR_LOOPBACK)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A port nobody holds right now: bind to port 0 and let the kernel pick. */
static uint16_t free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = LOOPBACK };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* A sender on 127.0.0.1; returns the fd and its port. */
static int sender(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = LOOPBACK };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Payload of datagram seq: its sequence number, then bytes derived from it. */
static uint16_t fill(uint8_t *buf, uint32_t seq, uint16_t len)
{
	memcpy(buf, &seq, sizeof(seq));
	for (uint16_t j = sizeof(seq); j < len; j++)
		buf[j] = (uint8_t)(seq * 7 + j);
	return len;
}

static void check_payload(const struct pkt *p, uint32_t seq, uint16_t len)
{
	uint32_t got;

	cr_assert_eq(p->len, len, "seq %u: length %u, want %u", seq, p->len, len);
	memcpy(&got, p->data, sizeof(got));
	cr_assert_eq(got, seq, "got seq %u, want %u", got, seq);
	for (uint16_t j = sizeof(seq); j < len; j++)
		cr_assert_eq(p->data[j], (uint8_t)(seq * 7 + j), "seq %u byte %u", seq, j);
}

static void send_to(int fd, uint32_t ip, uint16_t port, uint32_t seq, uint16_t len)
{
	uint8_t buf[2048];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };

	to.sin_addr.s_addr = ip;
	fill(buf, seq, len);
	cr_assert_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), len, "sendto: %s",
		     strerror(errno));
}

static struct driver *open_or_die(const struct driver_cfg *cfg)
{
	char err[256] = "";
	struct driver *d = driver_open(cfg, err, sizeof(err));

	cr_assert_not_null(d, "driver_open: %s", err);
	return d;
}

/* Defaults, but an ephemeral tx source port, so no other test's socket can be in the way. */
static void cfg_init(struct driver_cfg *cfg)
{
	driver_cfg_default(cfg, DRIVER_URING);
	cfg->tx_src_port = 0;
}

static uint16_t len_of(uint32_t seq)
{
	return (uint16_t)(4 + (seq * 37) % 1397);
}

Test(uring, loopback_two_flows_arrive_intact_in_order_with_source, .timeout = 60)
{
	struct driver_cfg cfg;
	uint16_t sport;
	int fd = sender(&sport);

	cfg_init(&cfg);
	cfg.nflows = 2;
	cfg.flows[0].port = free_port();
	cfg.flows[1].port = free_port();
	struct driver *d = open_or_die(&cfg);
	cr_assert_eq(driver_rx_burst(d, 0, NULL, 0), 0, "nothing before anything is sent");

	uint64_t bytes = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		send_to(fd, LOOPBACK, cfg.flows[i % 2].port, i, len_of(i));
		bytes += len_of(i);
	}

	uint32_t next[2] = { 0, 1 }, got = 0;
	uint64_t deadline = now_ns() + 20000000000ull;
	struct pkt pk[32];
	while (got < 1000 && now_ns() < deadline) {
		uint16_t n = driver_rx_burst(d, 0, pk, 32);
		for (uint16_t k = 0; k < n; k++) {
			uint16_t f = pk[k].flow;
			cr_assert_lt(f, 2);
			check_payload(&pk[k], next[f], len_of(next[f]));
			cr_assert_eq(next[f] % 2, f, "seq %u on the wrong flow", next[f]);
			cr_assert_eq(pk[k].src_ip, LOOPBACK);
			cr_assert_eq(pk[k].src_port, sport);
			cr_assert_eq(pk[k].dst_ip, 0);
			cr_assert_neq(pk[k].rx_tsc, 0);
			next[f] += 2;
		}
		driver_release(d, 0, pk, n);
		got += n;
	}
	cr_assert_eq(got, 1000);
	cr_assert_eq(next[0], 1000);
	cr_assert_eq(next[1], 1001);

	struct driver_stats st;
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.rx_packets, 1000);
	cr_assert_eq(st.rx_bytes, bytes);
	cr_assert_eq(st.rx_nobuf, 0);
	for (int r = 0; r < DRIVER_DROP_REASONS; r++)
		cr_assert_eq(st.drops[r], 0, "drops[%s]", driver_drop_name((enum driver_drop)r));
	driver_close(d);
	close(fd);
}

Test(uring, buffers_are_recycled_past_the_ring_size, .timeout = 60)
{
	struct driver_cfg cfg;
	uint16_t sport;
	int fd = sender(&sport);

	cfg_init(&cfg);
	cfg.bufs = 64;
	cfg.nflows = 1;
	cfg.flows[0].port = free_port();
	struct driver *d = open_or_die(&cfg);

	uint32_t sent = 0, got = 0;
	uint64_t deadline = now_ns() + 40000000000ull;
	struct pkt pk[16];
	while (got < 10000 && now_ns() < deadline) {
		/* Chunks of 32 against 64 buffers: the ring never runs dry. */
		for (int c = 0; c < 32 && sent < 10000 && sent - got < 32; c++, sent++)
			send_to(fd, LOOPBACK, cfg.flows[0].port, sent, (uint16_t)(4 + sent % 200));
		uint16_t n = driver_rx_burst(d, 0, pk, 16);
		for (uint16_t k = 0; k < n; k++) {
			check_payload(&pk[k], got + k, (uint16_t)(4 + (got + k) % 200));
			cr_assert_lt(pk[k].handle, 64, "buffer id %lu",
				     (unsigned long)pk[k].handle);
		}
		driver_release(d, 0, pk, n);
		got += n;
	}
	cr_assert_eq(got, 10000);

	struct driver_stats st;
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.rx_packets, 10000);
	cr_assert_eq(st.rx_nobuf, 0, "64 buffers were never all in use");
	driver_close(d);
	close(fd);
}

Test(uring, reception_resumes_after_the_buffer_ring_runs_dry, .timeout = 60)
{
	struct driver_cfg cfg;
	uint16_t sport;
	int fd = sender(&sport);

	cfg_init(&cfg);
	cfg.bufs = 16;
	cfg.nflows = 1;
	cfg.flows[0].port = free_port();
	struct driver *d = open_or_die(&cfg);

	for (uint32_t i = 0; i < 40; i++)
		send_to(fd, LOOPBACK, cfg.flows[0].port, i, 100);

	/* Hold everything: after 16 datagrams the ring is empty and the receive ends -ENOBUFS. */
	struct pkt held[64];
	uint16_t nheld = 0;
	uint64_t deadline = now_ns() + 10000000000ull;
	while ((nheld < 16 || d->qstats[0].s.rx_nobuf == 0) && now_ns() < deadline)
		nheld += driver_rx_burst(d, 0, held + nheld, (uint16_t)(64 - nheld));
	cr_assert_eq(nheld, 16, "exactly the ring's 16 buffers were filled");
	cr_assert_geq(d->qstats[0].s.rx_nobuf, 1, "the -ENOBUFS completion was counted");
	for (uint16_t k = 0; k < 16; k++)
		check_payload(&held[k], k, 100);
	cr_assert_eq(driver_rx_burst(d, 0, held + nheld, 8), 0, "nothing more without buffers");

	driver_release(d, 0, held, nheld);
	uint32_t got = 16;
	struct pkt pk[8];
	while (got < 40 && now_ns() < deadline) {
		uint16_t n = driver_rx_burst(d, 0, pk, 8);
		for (uint16_t k = 0; k < n; k++)
			check_payload(&pk[k], got + k, 100);
		driver_release(d, 0, pk, n);
		got += n;
	}
	cr_assert_eq(got, 40, "the datagrams waited in the socket and none was lost");

	struct driver_stats st;
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.rx_packets, 40);
	cr_assert_eq(st.rx_bytes, 40 * 100);
	/* rx_nobuf is the -ENOBUFS completions only: the kernel itself dropped nothing. */
	cr_assert_eq(st.rx_nobuf, d->qstats[0].s.rx_nobuf);
	driver_close(d);
	close(fd);
}

Test(uring, datagram_larger_than_a_buffer_is_dropped_as_malformed, .timeout = 60)
{
	struct driver_cfg cfg;
	uint16_t sport;
	int fd = sender(&sport);

	cfg_init(&cfg);
	cfg.bufs = 8;
	cfg.buf_size = 256;
	cfg.nflows = 1;
	cfg.flows[0].port = free_port();
	struct driver *d = open_or_die(&cfg);

	send_to(fd, LOOPBACK, cfg.flows[0].port, 1, 500);
	send_to(fd, LOOPBACK, cfg.flows[0].port, 2, 224); /* 256 less the 32-byte header */

	struct pkt pk[4];
	uint16_t n = 0;
	uint64_t deadline = now_ns() + 10000000000ull;
	while (n == 0 && now_ns() < deadline)
		n = driver_rx_burst(d, 0, pk, 4);
	cr_assert_eq(n, 1);
	check_payload(&pk[0], 2, 224);
	driver_release(d, 0, pk, n);
	cr_assert_eq(d->qstats[0].s.drops[DRIVER_DROP_MALFORMED], 1);
	cr_assert_eq(d->qstats[0].s.rx_packets, 1);
	driver_close(d);
	close(fd);
}

Test(uring, tx_burst_sends_the_payloads_from_the_configured_source, .timeout = 60)
{
	struct driver_cfg cfg;
	uint16_t dport;
	int fd = sender(&dport);
	struct timeval tv = { .tv_sec = 10 };

	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cfg_init(&cfg);
	cfg.local_ip = LOOPBACK;
	cfg.tx_src_port = free_port();
	cfg.nflows = 1;
	cfg.flows[0].port = free_port();
	struct driver *d = open_or_die(&cfg);

	uint8_t bufs[10][1500];
	struct tx_pkt tp[10];
	uint64_t bytes = 0;
	for (uint32_t b = 0; b < 10; b++) {
		for (uint32_t k = 0; k < 10; k++) {
			uint32_t seq = b * 10 + k;
			tp[k].data = bufs[k];
			tp[k].len = fill(bufs[k], seq, len_of(seq));
			tp[k].dst_ip = LOOPBACK;
			tp[k].dst_port = dport;
			bytes += tp[k].len;
		}
		cr_assert_eq(driver_tx_burst(d, 0, tp, 10), 10);
		/* The driver copied the payloads: scribbling on ours changes nothing sent. */
		memset(bufs, 0xee, sizeof(bufs));
	}
	for (uint32_t seq = 0; seq < 100; seq++) {
		uint8_t buf[2048];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		cr_assert_eq(r, len_of(seq), "seq %u: recvfrom %zd: %s", seq, r, strerror(errno));
		struct pkt p = { .data = buf, .len = (uint16_t)r };
		check_payload(&p, seq, len_of(seq));
		cr_assert_eq(ntohs(from.sin_port), cfg.tx_src_port);
		cr_assert_eq(from.sin_addr.s_addr, LOOPBACK);
	}
	/* A burst of nothing reaps any completion still pending. */
	driver_tx_burst(d, 0, tp, 0);
	struct driver_stats st;
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.tx_packets, 100);
	cr_assert_eq(st.tx_bytes, bytes);
	cr_assert_eq(st.tx_full, 0);
	driver_close(d);
	close(fd);
}

Test(uring, tx_burst_beyond_the_free_slots_counts_tx_full, .timeout = 60)
{
	struct driver_cfg cfg;
	uint16_t dport;
	int fd = sender(&dport);
	uint8_t buf[64];
	struct tx_pkt tp[20];

	cfg_init(&cfg);
	cfg.ring_size = 8;
	cfg.local_ip = LOOPBACK;
	cfg.nflows = 1;
	cfg.flows[0].port = free_port();
	struct driver *d = open_or_die(&cfg);
	for (int k = 0; k < 20; k++)
		tp[k] = (struct tx_pkt){
			.data = buf, .len = fill(buf, 0, 64), .dst_ip = LOOPBACK, .dst_port = dport
		};
	cr_assert_eq(driver_tx_burst(d, 0, tp, 20), 8, "8 slots");
	driver_tx_burst(d, 0, tp, 0);
	struct driver_stats st;
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.tx_full, 12);
	cr_assert_eq(st.tx_packets, 8);
	cr_assert_eq(driver_tx_burst(d, 0, tp, 4), 4, "the slots came back");
	driver_close(d);
	close(fd);
}

struct worker_arg {
	struct driver *d;
	uint32_t want;
	uint32_t got;
	uint32_t bad;
};

/* What a dataplane worker does: poll a queue the main thread opened. */
static void *worker(void *p)
{
	struct worker_arg *w = p;
	struct pkt pk[16];
	uint64_t deadline = now_ns() + 20000000000ull;

	while (w->got < w->want && now_ns() < deadline) {
		uint16_t n = driver_rx_burst(w->d, 0, pk, 16);
		for (uint16_t k = 0; k < n; k++) {
			uint32_t seq;
			memcpy(&seq, pk[k].data, sizeof(seq));
			w->bad += seq != w->got + k;
		}
		driver_release(w->d, 0, pk, n);
		w->got += n;
	}
	return NULL;
}

Test(uring, queue_opened_on_one_thread_is_polled_by_another, .timeout = 60)
{
	struct driver_cfg cfg;
	uint16_t sport;
	int fd = sender(&sport);
	pthread_t t;

	cfg_init(&cfg);
	cfg.bufs = 64;
	cfg.nflows = 1;
	cfg.flows[0].port = free_port();
	struct driver *d = open_or_die(&cfg);
	struct worker_arg w = { .d = d, .want = 200 };
	cr_assert_eq(pthread_create(&t, NULL, worker, &w), 0);
	for (uint32_t i = 0; i < 200; i++) {
		send_to(fd, LOOPBACK, cfg.flows[0].port, i, 64);
		if (i % 32 == 31)
			usleep(1000);
	}
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(w.got, 200);
	cr_assert_eq(w.bad, 0, "every datagram in order");
	/* Closed by the main thread after the ring's owner has gone. */
	driver_close(d);
	close(fd);
}

Test(uring, flows_are_sharded_over_queues, .timeout = 60)
{
	struct driver_cfg cfg;
	uint16_t sport;
	int fd = sender(&sport);

	cfg_init(&cfg);
	cfg.queues = 2;
	cfg.nflows = 3;
	for (int f = 0; f < 3; f++)
		cfg.flows[f].port = free_port();
	struct driver *d = open_or_die(&cfg);
	for (uint32_t f = 0; f < 3; f++)
		send_to(fd, LOOPBACK, cfg.flows[f].port, f, 16);

	uint32_t seen[2] = { 0, 0 }; /* bit f set when flow f arrived on that queue */
	struct pkt pk[8];
	uint64_t deadline = now_ns() + 10000000000ull;
	while ((__builtin_popcount(seen[0]) + __builtin_popcount(seen[1])) < 3 &&
	       now_ns() < deadline) {
		for (uint16_t q = 0; q < 2; q++) {
			uint16_t n = driver_rx_burst(d, q, pk, 8);
			for (uint16_t k = 0; k < n; k++) {
				check_payload(&pk[k], pk[k].flow, 16);
				seen[q] |= 1u << pk[k].flow;
			}
			driver_release(d, q, pk, n);
		}
	}
	cr_assert_eq(seen[0], 0x5, "flows 0 and 2 on queue 0, got mask %#x", seen[0]);
	cr_assert_eq(seen[1], 0x2, "flow 1 on queue 1, got mask %#x", seen[1]);
	cr_assert_eq(d->qstats[0].s.rx_packets, 2);
	cr_assert_eq(d->qstats[1].s.rx_packets, 1);
	driver_close(d);
	close(fd);
}

Test(uring, missing_interface_is_reported_by_name)
{
	struct driver_cfg cfg;
	char err[256] = "";

	cfg_init(&cfg);
	cfg.ifname = "tsunone0";
	cfg.nflows = 1;
	cfg.flows[0].port = free_port();
	cr_assert_null(driver_open(&cfg, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "interface tsunone0 not found"), "err: %s", err);
}

Test(uring, port_held_without_reuseaddr_is_reported_by_number)
{
	struct driver_cfg cfg;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char err[256] = "", want[64];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	cfg_init(&cfg);
	cfg.nflows = 1;
	cfg.flows[0].port = free_port();
	sa.sin_port = htons(cfg.flows[0].port);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_null(driver_open(&cfg, err, sizeof(err)));
	snprintf(want, sizeof(want), "port %u: Address already in use", cfg.flows[0].port);
	cr_assert_not_null(strstr(err, want), "err: %s", err);
	close(fd);
}

Test(uring, bufs_not_a_power_of_two_is_rejected)
{
	struct driver_cfg cfg;
	char err[256] = "";

	cfg_init(&cfg);
	cfg.bufs = 100;
	cfg.nflows = 1;
	cfg.flows[0].port = free_port();
	cr_assert_null(driver_open(&cfg, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "bufs: 100"), "err: %s", err);
}

/* Multicast over a veth pair: the host side receives, the namespace side sends. */
static struct test_netns net;

static void netns_teardown(void)
{
	test_netns_down(&net);
}

static void netns_setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to create a network namespace and a veth pair");
	int rc = test_netns_up(&net, "tsu", 100);
	if (rc == -1)
		cr_skip_test("cannot create a network namespace here (ip netns add failed)");
	cr_assert_eq(rc, 0, "cannot set up veth %s in namespace %s", net.host_if, net.ns);
}

/* In a child moved into the namespace: count datagrams to group:port out of net.ns_if. */
static void send_from_netns(uint32_t group, uint16_t port, uint32_t count)
{
	struct in_addr ifaddr = { .s_addr = net.ns_ip };
	uint8_t buf[256];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd;

	if (test_netns_enter(&net) != 0)
		_exit(2);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifaddr, sizeof(ifaddr)))
		_exit(3);
	to.sin_addr.s_addr = group;
	for (uint32_t i = 0; i < count; i++) {
		uint16_t len = fill(buf, i, (uint16_t)(4 + i % 200));
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) != len)
			_exit(4);
	}
	_exit(0);
}

Test(uring, multicast_group_joined_on_a_veth_is_received, .init = netns_setup,
     .fini = netns_teardown, .timeout = 60)
{
	struct driver_cfg cfg;
	uint32_t group;
	char oper[16] = "";

	inet_pton(AF_INET, "239.77.1.9", &group);
	cfg_init(&cfg);
	cfg.ifname = net.host_if;
	cfg.local_ip = net.host_ip;
	cfg.nflows = 1;
	cfg.flows[0].group = group;
	cfg.flows[0].port = free_port();
	struct driver *d = open_or_die(&cfg);
	cr_assert_eq(driver_rx_burst(d, 0, NULL, 0), 0);

	/* A veth drops what is sent before both ends are up. */
	uint64_t deadline = now_ns() + 20000000000ull;
	char path[64];
	snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", net.host_if);
	while (strcmp(oper, "up\n") != 0 && now_ns() < deadline) {
		FILE *f = fopen(path, "r");
		cr_assert_not_null(f);
		if (!fgets(oper, sizeof(oper), f))
			oper[0] = 0;
		fclose(f);
		usleep(10000);
	}
	cr_assert_str_eq(oper, "up\n");

	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0)
		send_from_netns(group, cfg.flows[0].port, 100);
	int status;
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sender failed: status %d",
		  status);

	uint32_t got = 0;
	struct pkt pk[16];
	while (got < 100 && now_ns() < deadline) {
		uint16_t n = driver_rx_burst(d, 0, pk, 16);
		for (uint16_t k = 0; k < n; k++) {
			check_payload(&pk[k], got + k, (uint16_t)(4 + (got + k) % 200));
			cr_assert_eq(pk[k].src_ip, net.ns_ip);
			cr_assert_eq(pk[k].dst_ip, group);
			cr_assert_eq(pk[k].flow, 0);
		}
		driver_release(d, 0, pk, n);
		got += n;
	}
	cr_assert_eq(got, 100);
	driver_close(d);
}
