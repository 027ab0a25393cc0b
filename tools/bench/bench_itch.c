/*
 * ITCH benchmarks over a file already in memory (mmap'd and pre-faulted): decode only (frame,
 * validate, read every order field in place), decode plus L3/L2 books through the feed handler,
 * and per-operation book latencies (add, execute, cancel, delete, replace) as percentiles.
 * Usage: tradsys-bench itch --file DAY.itch   (make one with tradsys-itch gen)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "core.h"
#include "feed.h"

#define SUITE_ITCH "itch"

static uint64_t sink;

/*
 * Decode only: every order message's fields are read, nothing is applied. Message types arrive
 * in no predictable order, so a switch on the type mispredicts on most messages and that, not
 * reading the bytes, is what decoding costs. Each type's fields are instead described by a row
 * of offsets and masks (an absent field reads in-bounds bytes at offset 0 and masks them off),
 * so every message runs the same branch-free code. decode_switch() is the plain form, run once
 * to check that both give the same sum.
 */
struct field_row {
	uint8_t ref, second, shares, price, side; /* offsets; 0: absent */
	uint64_t ref_mask, second_mask, shares_mask, price_mask, side_mask, locate_mask, ts_mask;
};

#define ALL UINT64_MAX
static const struct field_row rows[256] = {
	['A'] = { 11, 0, 20, 32, 19, ALL, 0, ALL, ALL, ALL, ALL, 0 },
	['F'] = { 11, 0, 20, 32, 19, ALL, 0, ALL, ALL, ALL, ALL, 0 },
	['E'] = { 11, 23, 19, 0, 0, ALL, ALL, ALL, 0, 0, 0, 0 },
	['C'] = { 11, 23, 19, 0, 0, ALL, ALL, ALL, 0, 0, 0, 0 },
	['X'] = { 11, 0, 19, 0, 0, ALL, 0, ALL, 0, 0, 0, 0 },
	['D'] = { 11, 0, 0, 0, 0, ALL, 0, 0, 0, 0, 0, 0 },
	['U'] = { 11, 19, 27, 31, 0, ALL, ALL, ALL, ALL, 0, 0, 0 },
};
#undef ALL

static uint64_t decode_all(const uint8_t *buf, size_t size)
{
	size_t off = 0;
	const uint8_t *m;
	uint16_t len;
	uint64_t n = 0, acc = 0;

	while (itch_file_next(buf, size, &off, &m, &len) > 0) {
		if (itch_msg_check(m, len) != 0)
			continue;
		n++;
		const struct field_row *r = &rows[m[0]];
		/* Types without a row only contribute their timestamp. */
		uint64_t ts_mask = r->ref_mask ? 0 : UINT64_MAX;
		acc += (itch_locate(m) & r->locate_mask) + (itch_be64(m + r->ref) & r->ref_mask) +
		       (itch_be64(m + r->second) & r->second_mask) +
		       (itch_be32(m + r->shares) & r->shares_mask) +
		       (itch_be32(m + r->price) & r->price_mask) + (m[r->side] & r->side_mask) +
		       (itch_timestamp(m) & ts_mask);
	}
	sink += acc;
	return n;
}

static uint64_t decode_switch(const uint8_t *buf, size_t size)
{
	size_t off = 0;
	const uint8_t *m;
	uint16_t len;
	uint64_t acc = 0;

	while (itch_file_next(buf, size, &off, &m, &len) > 0) {
		if (itch_msg_check(m, len) != 0)
			continue;
		switch (m[0]) {
		case ITCH_ADD_ORDER:
		case ITCH_ADD_ORDER_MPID: {
			const struct itch_add_order *a = (const void *)m;
			acc += itch_locate(m) + itch_be64(a->ref) + a->side + itch_be32(a->shares) +
			       itch_be32(a->price);
			break;
		}
		case ITCH_ORDER_EXECUTED:
		case ITCH_ORDER_EXECUTED_PRICE: {
			const struct itch_order_executed *e = (const void *)m;
			acc += itch_be64(e->ref) + itch_be32(e->shares) + itch_be64(e->match);
			break;
		}
		case ITCH_ORDER_CANCEL: {
			const struct itch_order_cancel *x = (const void *)m;
			acc += itch_be64(x->ref) + itch_be32(x->shares);
			break;
		}
		case ITCH_ORDER_DELETE:
			acc += itch_be64(((const struct itch_order_delete *)m)->ref);
			break;
		case ITCH_ORDER_REPLACE: {
			const struct itch_order_replace *u = (const void *)m;
			acc += itch_be64(u->orig_ref) + itch_be64(u->new_ref) +
			       itch_be32(u->shares) + itch_be32(u->price);
			break;
		}
		default: acc += itch_timestamp(m);
		}
	}
	return acc;
}

static struct feed *feed_for(const uint8_t *buf, size_t size)
{
	size_t off = 0;
	const uint8_t *m;
	uint16_t len;
	uint32_t max_locate = 0;

	while (itch_file_next(buf, size, &off, &m, &len) > 0)
		if (itch_msg_check(m, len) == 0 && itch_locate(m) > max_locate)
			max_locate = itch_locate(m);
	struct book_cfg cfg = { max_locate + 1, 4000000, 4096, 100 }; /* a cent per ladder slot */
	return feed_create(&cfg, NULL, NULL);
}

/*
 * Cache hints for a message PF_DIST * (PF_STAGES - stage) messages before it is applied (book.h:
 * each stage reads what the one before loaded). The book's tables are far larger than the caches and
 * each message's order, level and neighbours are a chain of dependent misses; spread over a few
 * messages they overlap instead of stalling one after the other.
 */
#define PF_DIST 4
#define PF_STAGES 4
#define PF_RING 32 /* a power of two above PF_STAGES * PF_DIST */

static void prefetch(const struct book_set *bs, const uint8_t *m, uint16_t len, unsigned int stage)
{
	if (itch_msg_check(m, len) != 0)
		return;
	switch (m[0]) {
	case ITCH_ADD_ORDER:
	case ITCH_ADD_ORDER_MPID: {
		const struct itch_add_order *a = (const void *)m;
		book_prefetch_add(bs, itch_locate(m), itch_be64(a->ref),
				  a->side == 'S' ? BOOK_ASK : BOOK_BID, itch_be32(a->price), stage);
		break;
	}
	case ITCH_ORDER_REPLACE:
		if (stage == 0)
			book_prefetch_ref(
				bs, itch_be64(((const struct itch_order_replace *)m)->new_ref), 0);
		/* fall through */
	case ITCH_ORDER_EXECUTED:
	case ITCH_ORDER_EXECUTED_PRICE:
	case ITCH_ORDER_CANCEL:
	case ITCH_ORDER_DELETE:
		/* The (original) reference is at the same offset in each. */
		book_prefetch_ref(bs, itch_be64(((const struct itch_order_delete *)m)->ref), stage);
		break;
	default: break;
	}
}

/* Applies every message through the feed handler, preparing each a few messages ahead. */
static uint64_t apply_all(struct feed *f, const uint8_t *buf, size_t size)
{
	const uint8_t *ring[PF_RING];
	uint16_t lens[PF_RING];
	size_t off = 0;
	uint64_t framed = 0, n = 0;

	for (;;) {
		while (framed < n + PF_STAGES * PF_DIST + 1 &&
		       itch_file_next(buf, size, &off, &ring[framed % PF_RING],
				      &lens[framed % PF_RING]) > 0) {
			prefetch(f->books, ring[framed % PF_RING], lens[framed % PF_RING], 0);
			framed++;
		}
		if (n == framed)
			break;
		for (unsigned int st = 1; st < PF_STAGES; st++) {
			uint64_t k = n + (PF_STAGES - st) * PF_DIST;
			if (k < framed)
				prefetch(f->books, ring[k % PF_RING], lens[k % PF_RING], st);
		}
		feed_itch_message(f, ring[n % PF_RING], lens[n % PF_RING]);
		n++;
	}
	return n;
}

/* Per-operation latencies: each order message timed alone, the timer's own cost subtracted. */
static void op_latencies(const uint8_t *buf, size_t size, const char *wl)
{
	static const struct {
		uint8_t type;
		const char *name;
	} ops[] = { { 'A', "add" },
		    { 'E', "execute" },
		    { 'X', "cancel" },
		    { 'D', "delete" },
		    { 'U', "replace" } };
	struct hist *h = calloc(256, sizeof(struct hist));
	struct feed *f = feed_for(buf, size);
	size_t off = 0;
	const uint8_t *m;
	uint16_t len;

	if (!h || !f) {
		free(h);
		feed_destroy(f);
		return;
	}
	for (int t = 0; t < 256; t++)
		hist_reset(&h[t]);
	uint64_t overhead = UINT64_MAX;
	for (int i = 0; i < 10000; i++) {
		uint64_t a = clock_tsc_start(), b = clock_tsc_end();
		if (b - a < overhead)
			overhead = b - a;
	}
	while (itch_file_next(buf, size, &off, &m, &len) > 0) {
		uint64_t t0 = clock_tsc_start();
		feed_itch_message(f, m, len);
		uint64_t c = clock_tsc_end() - t0;
		hist_record(&h[m[0]], clock_cycles_to_ns(c > overhead ? c - overhead : 0));
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct hist *x = &h[ops[i].type];
		if (ops[i].type == 'A')
			hist_merge(x, &h['F']);
		if (ops[i].type == 'E')
			hist_merge(x, &h['C']);
		char name[32];
		snprintf(name, sizeof(name), "book_%s", ops[i].name);
		bench_report_value(SUITE_ITCH, name, "latency_p50", "ns",
				   (double)hist_percentile(x, 0.5), wl);
		bench_report_value(SUITE_ITCH, name, "latency_p99", "ns",
				   (double)hist_percentile(x, 0.99), wl);
		bench_report_value(SUITE_ITCH, name, "latency_p99.9", "ns",
				   (double)hist_percentile(x, 0.999), wl);
	}
	bench_report_value(SUITE_ITCH, "timer", "overhead_subtracted", "ns",
			   (double)clock_cycles_to_ns(overhead), NULL);
	free(h);
	feed_destroy(f);
}

static int run_itch(const struct bench_opts *o)
{
	struct stat st;
	int fd;

	if (!o->file) {
		fprintf(stderr, "itch: needs --file DAY.itch (tradsys-itch gen --messages 50000000 "
				"--symbols 500 --seed 1 -o DAY.itch)\n");
		return -EINVAL;
	}
	fd = open(o->file, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(o->file);
		return -errno;
	}
	size_t size = (size_t)st.st_size;
	const uint8_t *buf = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED)
		return -errno;
	/* Pre-fault: touch every page before anything is timed. */
	for (size_t i = 0; i < size; i += 4096)
		sink += buf[i];

	double *s = calloc(o->runs, sizeof(double)), *rate = calloc(o->runs, sizeof(double));
	char wl[256];
	uint64_t before = sink;
	uint64_t n = decode_all(buf, size);
	if (sink - before != decode_switch(buf, size)) {
		fprintf(stderr, "itch: table decode and switch decode disagree\n");
		munmap((void *)buf, size);
		free(s);
		free(rate);
		return -EIO;
	}
	snprintf(wl, sizeof(wl), "\"file\":\"%s\",\"messages\":%lu,\"bytes\":%zu", o->file,
		 (unsigned long)n, size);
	for (unsigned int r = 0; r < o->runs; r++) {
		uint64_t t0 = clock_tsc_start();
		decode_all(buf, size);
		double sec = bench_seconds(t0, clock_tsc_end());
		s[r] = sec * 1e9 / (double)n;
		rate[r] = (double)n / sec / 1e6;
	}
	bench_report(SUITE_ITCH, "decode_only", "latency", "ns/msg", s, o->runs, wl);
	bench_report(SUITE_ITCH, "decode_only", "throughput", "Mmsgs/s", rate, o->runs, wl);

	for (unsigned int r = 0; r < o->runs; r++) {
		struct feed *f = feed_for(buf, size);
		if (!f)
			return -ENOMEM;
		uint64_t t0 = clock_tsc_start();
		apply_all(f, buf, size);
		double sec = bench_seconds(t0, clock_tsc_end());
		s[r] = sec * 1e9 / (double)n;
		rate[r] = (double)n / sec / 1e6;
		if (r == 0)
			bench_report_value(SUITE_ITCH, "decode_book", "peak_live_orders", "orders",
					   (double)f->st.peak_orders, wl);
		feed_destroy(f);
	}
	bench_report(SUITE_ITCH, "decode_book", "latency", "ns/msg", s, o->runs, wl);
	bench_report(SUITE_ITCH, "decode_book", "throughput", "Mmsgs/s", rate, o->runs, wl);

	op_latencies(buf, size, wl);
	munmap((void *)buf, size);
	free(s);
	free(rate);
	return 0;
}

BENCH_SUITE(bench_suite_itch, SUITE_ITCH,
	    "ITCH decode only, decode + L3/L2 books, book op latencies (--file DAY.itch)", run_itch)
