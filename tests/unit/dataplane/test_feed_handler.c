/*
 * Description: the "feed" handler driven directly with packets, as the worker loop would hand
 * them over. In-order MoldUDP64 packets reach the books and the decoded file; line B fills what
 * line A missed; a gap neither line fills is declared lost by the timer, the books turn stale and
 * the stats block's feed fields show it; a gap is recovered from a request server over UDP, and the
 * tick reads the request socket only while a recovery may await answers; packets on a flow no
 * feed owns and malformed packets are counted; a decoded file it cannot create is reported.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "books_print.h"
#include "feed.h"
#include "mold.h"
#include "worker.h"

#define MS(n) ((uint64_t)(n)*clock_cal.tsc_hz / 1000u) /* a TSC value n ms after 0 */

static struct worker_config wc;
static struct config *conf;
static struct shm_stats_worker st;
static struct worker_feed *wf;
static struct worker_handler h;
static char decoded[64];

static void setup(void)
{
	cr_assert_eq(clock_calibrate(20), 0);
	memset(&st, 0, sizeof(st));
	snprintf(decoded, sizeof(decoded), "/tmp/tradsys-test-decoded-%d", (int)getpid());
}

static void teardown(void)
{
	worker_feed_destroy(wf);
	wf = NULL;
	config_free(conf);
	conf = NULL;
	unlink(decoded);
}

TestSuite(feed_handler, .init = setup, .fini = teardown);

/* Parses a config with feed "x" (A on flow 0, B on flow 1, feed_extra added to its section)
 * and creates the handler. */
static void start_with(bool with_decoded, const char *feed_extra)
{
	char text[768], err[256] = "";

	snprintf(text, sizeof(text),
		 "[driver]\nkind = uring\ninterface = lo\n"
		 "[feed.x]\ngroup = 239.1.1.1\nport = 26400\nb_group = 239.1.1.2\nb_port = 26400\n"
		 "max_instruments = 16\nmax_orders = 64\nmax_levels = 8\n%s"
		 "[worker.0]\ncore = 0\nhandler = feed\n%s%s\n",
		 feed_extra, with_decoded ? "decoded_file = " : "", with_decoded ? decoded : "");
	conf = config_parse(text, strlen(text), "t.conf", err, sizeof(err));
	cr_assert_not_null(conf, "%s", err);
	cr_assert_eq(worker_config_parse(conf, "t.conf", &wc, err, sizeof(err)), 0, "%s", err);
	wf = worker_feed_create(&wc, 0, &st, err, sizeof(err));
	cr_assert_not_null(wf, "%s", err);
	worker_feed_handler(wf, &h);
	cr_assert_not_null(h.on_timer);
}

static void start(bool with_decoded)
{
	start_with(with_decoded, "");
}

/* ITCH messages: a stock directory entry and an add order, fields big-endian. */
static void put(uint8_t *m, size_t off, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		m[off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint16_t itch_add(uint8_t *m, uint16_t locate, uint64_t ref, uint32_t qty, uint32_t px)
{
	memset(m, ' ', 36);
	m[0] = 'A';
	put(m, 1, locate, 2);
	put(m, 3, 0, 2);
	put(m, 5, 1000, 6);
	put(m, 11, ref, 8);
	m[19] = 'B';
	put(m, 20, qty, 4);
	memcpy(m + 24, "TEST    ", 8);
	put(m, 32, px, 4);
	return 36;
}

/* A MoldUDP64 packet of one add order per sequence seq..seq+n-1 (refs equal to sequences). */
static size_t mold_pkt(uint8_t *p, uint64_t seq, uint16_t n)
{
	size_t off = MOLD_HEADER_LEN;

	memcpy(p, "SESSION001", MOLD_SESSION_LEN);
	put(p, 10, seq, 8);
	put(p, 18, n, 2);
	for (uint16_t i = 0; i < n; i++) {
		uint16_t len = itch_add(p + off + 2, 3, seq + i, 100, 5000 + (uint32_t)(seq + i));
		put(p, off, len, 2);
		off += 2u + len;
	}
	return off;
}

/* Hands one packet on flow to the handler at tsc now, as the worker loop does. */
static void deliver(uint16_t flow, const uint8_t *data, size_t len, uint64_t now)
{
	struct pkt p = { .data = data, .len = (uint16_t)len, .flow = flow, .rx_tsc = now };

	h.on_packets(h.ctx, &p, 1, now);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(feed_handler, in_order_packets_reach_the_books_and_the_decoded_file)
{
	uint8_t pkt[512];
	char want[4096], books[1024];
	size_t n;

	start(true);
	n = mold_pkt(pkt, 1, 2);
	deliver(0, pkt, n, MS(1));
	n = mold_pkt(pkt, 3, 1);
	deliver(0, pkt, n, MS(2));
	h.on_timer(h.ctx, MS(3));
	struct feed *f = worker_feed_feed(wf, 0);
	cr_assert_not_null(f);
	cr_assert_eq(book_instrument_orders(f->books, 3), 3);
	cr_assert_eq(st.feed_messages, 3);
	cr_assert_eq(st.feed_lost_msgs, 0);
	cr_assert_eq(st.feed_errors, 0);
	cr_assert_eq(st.feed_stale, 0);
	cr_assert_eq(worker_feed_mold_stats(wf, 0)->line[MOLD_LINE_A].delivered, 3);
	cr_assert_eq(worker_feed_finish(wf), 0);

	/* The expected file: "<seq> <hex>" per message, then the feed's book lines. */
	int at = 0;
	for (uint64_t s = 1; s <= 3; s++) {
		uint8_t m[36];
		itch_add(m, 3, s, 100, 5000 + (uint32_t)s);
		at += snprintf(want + at, sizeof(want) - (size_t)at, "%lu ", (unsigned long)s);
		for (int b = 0; b < 36; b++)
			at += snprintf(want + at, sizeof(want) - (size_t)at, "%02x", m[b]);
		at += snprintf(want + at, sizeof(want) - (size_t)at, "\n");
	}
	FILE *mem = fmemopen(books, sizeof(books), "w");
	cr_assert_not_null(mem);
	cr_assert_eq(worker_books_print(f->books, mem), 0);
	fclose(mem);
	snprintf(want + at, sizeof(want) - (size_t)at, "feed x\n%s", books);
	cr_assert(strstr(books, "book 3 - orders 3 checksum ") == books, "%s", books);
	cr_assert_str_eq(slurp(decoded), want);
}

Test(feed_handler, line_b_fills_what_line_a_missed)
{
	uint8_t pkt[512];
	size_t n;

	start(false);
	n = mold_pkt(pkt, 1, 1);
	deliver(0, pkt, n, MS(1));
	deliver(1, pkt, n, MS(1));
	n = mold_pkt(pkt, 2, 1); /* lost on A */
	deliver(1, pkt, n, MS(2));
	n = mold_pkt(pkt, 3, 1);
	deliver(0, pkt, n, MS(3));
	deliver(1, pkt, n, MS(3));
	h.on_timer(h.ctx, MS(100));
	const struct mold_stats *ms = worker_feed_mold_stats(wf, 0);
	cr_assert_eq(ms->delivered, 3);
	cr_assert_eq(ms->line[MOLD_LINE_B].delivered, 1);
	cr_assert_eq(ms->line[MOLD_LINE_B].duplicates, 2);
	cr_assert_eq(ms->gaps_lost, 0);
	cr_assert_eq(st.feed_messages, 3);
	cr_assert_eq(st.feed_stale, 0);
	cr_assert(!book_instrument(worker_feed_feed(wf, 0)->books, 3)->stale);
}

Test(feed_handler, gap_no_line_fills_is_lost_after_the_timers_and_marks_books_stale)
{
	uint8_t pkt[512];
	size_t n;

	start(false);
	n = mold_pkt(pkt, 1, 1);
	deliver(0, pkt, n, MS(1));
	n = mold_pkt(pkt, 4, 1); /* 2 and 3 never come, on either line */
	deliver(0, pkt, n, MS(2));
	h.on_timer(h.ctx, MS(2));
	struct feed *f = worker_feed_feed(wf, 0);
	cr_assert_eq(book_instrument_orders(f->books, 3), 1, "4 is held behind the gap");
	cr_assert_eq(st.feed_stale, 0, "not lost before the retry timers ran out");
	cr_assert_eq(st.feed_lost_msgs, 0);

	/* Default timers: 3 retries 5 ms apart. Tick well past them. */
	for (int t = 10; t <= 100; t += 10)
		h.on_timer(h.ctx, MS(t));
	cr_assert_eq(st.feed_lost_msgs, 2);
	cr_assert_eq(st.feed_gaps_lost, 1);
	cr_assert_eq(st.feed_stale, 1);
	cr_assert_eq(st.feed_messages, 2);
	cr_assert_eq(f->st.gaps_lost, 2);
	cr_assert(book_instrument(f->books, 3)->stale);
	cr_assert(book_instrument(f->books, 0)->stale, "a gap can touch any book");
	cr_assert_eq(book_instrument_orders(f->books, 3), 2, "the held message followed the gap");
}

Test(feed_handler, unknown_flows_and_malformed_packets_are_counted_as_errors)
{
	uint8_t pkt[512];
	size_t n;

	start(false);
	n = mold_pkt(pkt, 1, 1);
	deliver(5, pkt, n, MS(1)); /* no feed owns flow 5 */
	deliver(0, pkt, 10, MS(1)); /* shorter than a MoldUDP64 header */
	pkt[MOLD_HEADER_LEN + 2] = '?'; /* an ITCH type that does not exist */
	deliver(0, pkt, n, MS(1));
	h.on_timer(h.ctx, MS(2));
	cr_assert_eq(st.feed_messages, 1);
	cr_assert_eq(st.feed_errors, 3, "errors %lu", (unsigned long)st.feed_errors);
	cr_assert_eq(worker_feed_feed(wf, 0)->st.itch.errors[ITCH_ERR_UNKNOWN_TYPE], 1);
	cr_assert_eq(worker_feed_mold_stats(wf, 0)
			     ->line[MOLD_LINE_A]
			     .malformed[MOLD_MALFORMED_SHORT_HEADER],
		     1);
}

Test(feed_handler, decoded_file_it_cannot_create_is_reported)
{
	char text[256], err[256] = "";

	snprintf(text, sizeof(text),
		 "[driver]\nkind = uring\ninterface = lo\n[feed.x]\nport = 1\nmax_instruments = 4\n"
		 "max_orders = 4\nmax_levels = 4\n[worker.3]\ncore = 0\nhandler = feed\n"
		 "decoded_file = /nonexistent-dir/d\n");
	conf = config_parse(text, strlen(text), "t.conf", err, sizeof(err));
	cr_assert_eq(worker_config_parse(conf, "t.conf", &wc, err, sizeof(err)), 0, "%s", err);
	cr_assert_null(worker_feed_create(&wc, 0, &st, err, sizeof(err)));
	cr_assert_str_eq(err, "[worker.3] decoded_file /nonexistent-dir/d: No such file or "
			      "directory");
}

/*
 * A request server on loopback: the gap 2..3 is asked for in one request, answered, and
 * delivered in order. Before the first request and after its answers had time to come, the tick
 * makes no recv syscall (it used to make one every tick, which cost the worker its caches).
 */
Test(feed_handler, a_gap_is_recovered_from_the_request_server_and_then_the_tick_stops_reading)
{
	int srv = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct timeval tv = { .tv_sec = 5 };
	char extra[96];
	uint8_t pkt[512], req[64];
	size_t n;

	cr_assert_geq(srv, 0);
	cr_assert_eq(bind(srv, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(srv, (struct sockaddr *)&a, &alen), 0);
	cr_assert_eq(setsockopt(srv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	snprintf(extra, sizeof(extra), "request_server = 127.0.0.1:%u\n", ntohs(a.sin_port));
	start_with(false, extra);

	n = mold_pkt(pkt, 1, 1);
	deliver(0, pkt, n, MS(1));
	for (int t = 1; t <= 5; t++)
		h.on_timer(h.ctx, MS(t));
	cr_assert_eq(worker_feed_answer_reads(wf, 0), 0, "nothing asked, nothing read");

	n = mold_pkt(pkt, 4, 1); /* 2 and 3 lost on both lines */
	deliver(0, pkt, n, MS(6));
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t got = recvfrom(srv, req, sizeof(req), 0, (struct sockaddr *)&from, &flen);
	cr_assert_eq(got, MOLD_REQUEST_LEN, "the handler asked the request server");
	cr_assert_eq(memcmp(req, "SESSION001", MOLD_SESSION_LEN), 0);
	uint64_t first = 0;
	for (int i = 0; i < 8; i++)
		first = first << 8 | req[10 + i];
	cr_assert_eq(first, 2);
	cr_assert_eq(req[18] << 8 | req[19], 2);

	n = mold_pkt(pkt, 2, 2);
	cr_assert_eq(sendto(srv, pkt, n, 0, (struct sockaddr *)&from, flen), (ssize_t)n);
	const struct mold_stats *ms = worker_feed_mold_stats(wf, 0);
	for (int t = 7; t < 200 && ms->delivered < 4; t++) {
		h.on_timer(h.ctx, MS(t));
		usleep(1000);
	}
	cr_assert_eq(ms->delivered, 4);
	cr_assert_eq(ms->gaps_recovered, 1);
	cr_assert_eq(ms->lost_msgs, 0);
	cr_assert_eq(book_instrument_orders(worker_feed_feed(wf, 0)->books, 3), 4);
	uint64_t reads = worker_feed_answer_reads(wf, 0);
	cr_assert_gt(reads, 0);

	/* Well after the last request: ticks make no syscall, and a stray packet is left alone. */
	cr_assert_eq(sendto(srv, pkt, n, 0, (struct sockaddr *)&from, flen), (ssize_t)n);
	for (int t = 2000; t <= 2100; t++)
		h.on_timer(h.ctx, MS(t));
	cr_assert_eq(worker_feed_answer_reads(wf, 0), reads);
	cr_assert_eq(ms->line[MOLD_LINE_RETRANS].packets, 1);
	close(srv);
}
