/*
 * Benchmarks of the MoldUDP64 session: in-order packets of 10 messages of 30-40 bytes (ITCH-like)
 * prebuilt in memory and handed to mold_session_on_packet with a trivial on_message, and the same
 * stream arriving twice (lines A and B) so every second copy goes through arbitration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core.h"
#include "mold.h"

#define SUITE_MOLD "mold"
#define MSGS_PER_PKT 10

struct stream {
	uint8_t *buf;
	size_t *off; /* packet i is buf[off[i] .. off[i + 1]) */
	uint64_t npkt;
};

static uint64_t sink_bytes;

static void on_message(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len)
{
	sink_bytes += len + msg[0];
}

static const struct mold_ops ops = { .on_message = on_message };

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static int stream_build(struct stream *st, uint64_t npkt)
{
	size_t cap = npkt * (20 + MSGS_PER_PKT * (2 + 40));
	uint64_t seq = 1, x = 0x9e3779b97f4a7c15ull;
	size_t o = 0;

	st->buf = malloc(cap);
	st->off = malloc((npkt + 1) * sizeof(size_t));
	if (!st->buf || !st->off)
		return -ENOMEM;
	st->npkt = npkt;
	for (uint64_t p = 0; p < npkt; p++) {
		uint8_t *h = st->buf + o;
		st->off[p] = o;
		memcpy(h, "BENCHSESS1", 10);
		put64(h + 10, seq);
		h[18] = 0;
		h[19] = MSGS_PER_PKT;
		o += 20;
		for (int m = 0; m < MSGS_PER_PKT; m++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			uint16_t len = (uint16_t)(30 + x % 11);
			st->buf[o] = 0;
			st->buf[o + 1] = (uint8_t)len;
			memset(st->buf + o + 2, 'A' + m, len);
			o += 2u + len;
		}
		seq += MSGS_PER_PKT;
	}
	st->off[npkt] = o;
	return 0;
}

static void stream_free(struct stream *st)
{
	free(st->buf);
	free(st->off);
}

/* One pass over the stream; lines = 1 (A only) or 2 (A then B for each packet). Returns ns. */
static double run_pass(struct mold_session *s, const struct stream *st, int lines)
{
	mold_session_reset(s);
	uint64_t t0 = clock_tsc_start();
	for (uint64_t p = 0; p < st->npkt; p++) {
		const uint8_t *pkt = st->buf + st->off[p];
		size_t len = st->off[p + 1] - st->off[p];
		mold_session_on_packet(s, MOLD_LINE_A, pkt, len, 0);
		if (lines == 2)
			mold_session_on_packet(s, MOLD_LINE_B, pkt, len, 0);
	}
	return (double)clock_cycles_to_ns(clock_tsc_end() - t0);
}

static int run_mold(const struct bench_opts *o)
{
	uint64_t npkt = o->ops ? o->ops : 50000;
	struct stream st = { 0 };
	struct mold_cfg cfg;
	struct mold_session *s = NULL;
	double *pkt_ns = calloc(o->runs, sizeof(double));
	double *msg_ns = calloc(o->runs, sizeof(double));
	double *pair_ns = calloc(o->runs, sizeof(double));
	char wl[160];
	int rc = 0;

	mold_cfg_default(&cfg);
	if (!pkt_ns || !msg_ns || !pair_ns || stream_build(&st, npkt) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	s = mold_session_create(&cfg, &ops, NULL);
	if (!s) {
		rc = -errno;
		goto out;
	}
	snprintf(wl, sizeof(wl),
		 "\"packets\":%lu,\"msgs_per_packet\":%d,\"msg_bytes\":\"30-40\",\"window\":%u",
		 (unsigned long)npkt, MSGS_PER_PKT, cfg.window);

	run_pass(s, &st, 1); /* warm-up */
	for (unsigned int r = 0; r < o->runs; r++) {
		double ns = run_pass(s, &st, 1);
		pkt_ns[r] = ns / (double)npkt;
		msg_ns[r] = ns / (double)(npkt * MSGS_PER_PKT);
	}
	if (mold_session_stats(s)->line[MOLD_LINE_A].delivered !=
	    (uint64_t)(o->runs + 1) * npkt * MSGS_PER_PKT) {
		fprintf(stderr, "mold: not every message was delivered\n");
		rc = -EIO;
		goto out;
	}
	bench_report(SUITE_MOLD, "on_packet_in_order", "latency", "ns/packet", pkt_ns, o->runs, wl);
	bench_report(SUITE_MOLD, "on_packet_in_order", "latency", "ns/message", msg_ns, o->runs,
		     wl);

	run_pass(s, &st, 2); /* warm-up */
	for (unsigned int r = 0; r < o->runs; r++)
		pair_ns[r] = run_pass(s, &st, 2) / (double)npkt;
	if (mold_session_stats(s)->line[MOLD_LINE_B].duplicates !=
	    (uint64_t)(o->runs + 1) * npkt * MSGS_PER_PKT) {
		fprintf(stderr, "mold: B copies were not all duplicates\n");
		rc = -EIO;
		goto out;
	}
	bench_report(SUITE_MOLD, "on_packet_ab_arbitration", "latency", "ns/packet_pair", pair_ns,
		     o->runs, wl);
out:
	mold_session_destroy(s);
	stream_free(&st);
	free(pkt_ns);
	free(msg_ns);
	free(pair_ns);
	return rc;
}

BENCH_SUITE(bench_suite_mold, SUITE_MOLD,
	    "MoldUDP64 session: in-order packets of 10 msgs, and A+B arbitration", run_mold)
