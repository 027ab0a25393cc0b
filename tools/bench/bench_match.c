/*
 * Benchmarks of the matching engine on the mix of a well-known exchange core's benchmark: one
 * instrument, about 1000 resting orders over about 750 price levels; 9% GTC limit, 3% IOC,
 * 6% cancel, 82% move (cancel-replace to a new price). The operations are generated first, against
 * an engine of their own, and then replayed, so the timed loops hold only the engine's work.
 * Throughput on one core, then latency at fixed offered rates measured from each operation's
 * intended start, so queueing counts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "core.h"
#include "match.h"

#define SUITE_MATCH "match"
#define LIVE_CAP 4096
#define SLOT_BITS 20
#define STALL_NS 5000u /* a gap in the rate loop's clock reads that means the core was away */

/* The client's view of its resting orders. Orders that leave the book by execution are found
 * lazily (match_order_leaves() < 0) when the client next picks them, like a client that reads its
 * fills asynchronously. */
struct client {
	uint64_t ids[LIVE_CAP];
	uint8_t sell[LIVE_CAP];
	uint32_t n;
	uint64_t last_rested;
	uint64_t x;
	int64_t mid;
};

static void slot_drop(struct client *c, uint32_t s)
{
	c->n--;
	c->ids[s] = c->ids[c->n];
	c->sell[s] = c->sell[c->n];
}

static void slot_add(struct client *c, uint64_t id, int sell)
{
	if (c->n < LIVE_CAP) {
		c->ids[c->n] = id;
		c->sell[c->n++] = (uint8_t)sell;
	}
}

static void on_event(void *ctx, const struct match_event *ev)
{
	struct client *c = ctx;

	if (ev->kind == MATCH_EV_RESTED) {
		slot_add(c, ev->id, ev->side == MATCH_SELL);
		c->last_rested = ev->id;
	}
}

/* A random live order's slot, discarding slots whose orders have left the book; -1 if none. */
static int pick(struct match_engine *e, struct client *c, uint64_t r)
{
	while (c->n > 0) {
		uint32_t s = (uint32_t)(r % c->n);
		if (match_order_leaves(e, c->ids[s]) > 0)
			return (int)s;
		slot_drop(c, s);
	}
	return -1;
}

static inline uint64_t rnd(struct client *c)
{
	c->x ^= c->x << 13;
	c->x ^= c->x >> 7;
	c->x ^= c->x << 17;
	return c->x;
}

/* A price within 375 ticks either side of mid on the passive side: ~750 levels in all. */
static inline int64_t passive_price(struct client *c, int sell)
{
	int64_t off = 1 + (int64_t)(rnd(c) % 375);
	return sell ? c->mid + off : c->mid - off;
}

/* One pre-generated operation: the engine calls of the mix with their arguments fixed. */
enum op_kind {
	OP_SUBMIT,
	OP_CANCEL,
	OP_REPLACE,
};

struct op {
	uint8_t kind;
	uint8_t side;
	uint8_t tif;
	uint32_t firm;
	int64_t price;
	int64_t qty;
	uint64_t id; /* OP_CANCEL, OP_REPLACE */
};

/* Chooses one operation of the mix, applies it to the generator's engine and records it. */
static void gen_op(struct match_engine *e, struct client *c, struct op *op)
{
	uint64_t r = rnd(c) % 100, id;
	struct match_order o = { .instrument = 0, .qty = 1 + (int64_t)(rnd(c) % 100) };

	o.firm = (uint32_t)(rnd(c) % 64);
	o.side = rnd(c) & 1 ? MATCH_SELL : MATCH_BUY;
	/* Keep about 1000 orders resting, as the reference benchmark does: a GTC insert becomes a
	 * cancel above 1100 resting orders, a cancel becomes an insert below 900. */
	uint32_t live = match_order_count(e);
	if (r < 9 && live > 1100)
		r = 12;
	else if (r >= 12 && r < 18 && live < 900)
		r = 0;
	int s = r >= 12 ? pick(e, c, rnd(c)) : 0;
	if (s < 0)
		r = 0;
	if (r < 9) {
		o.tif = MATCH_DAY;
		o.price = passive_price(c, o.side == MATCH_SELL);
		/* One in eight GTC orders crosses a little. */
		if ((rnd(c) & 7) == 0)
			o.price = o.side == MATCH_SELL ? c->mid - 2 : c->mid + 2;
	} else if (r < 12) {
		o.tif = MATCH_IOC;
		o.price = o.side == MATCH_SELL ? c->mid - 5 : c->mid + 5;
	}
	if (r < 12) {
		*op = (struct op){ .kind = OP_SUBMIT,
				   .side = (uint8_t)o.side,
				   .tif = (uint8_t)o.tif,
				   .firm = o.firm,
				   .price = o.price,
				   .qty = o.qty };
		match_submit(e, &o, &id);
	} else if (r < 18) {
		*op = (struct op){ .kind = OP_CANCEL, .id = c->ids[s] };
		match_cancel(e, c->ids[s], 0);
		slot_drop(c, (uint32_t)s);
	} else {
		/* Move: a new passive price on the order's own side, same quantity. */
		uint64_t old = c->ids[s];
		int sell = c->sell[s];
		int64_t leaves = match_order_leaves(e, old);
		slot_drop(c, (uint32_t)s);
		c->last_rested = 0;
		*op = (struct op){ .kind = OP_REPLACE,
				   .price = passive_price(c, sell),
				   .qty = leaves,
				   .id = old };
		match_replace(e, old, op->price, leaves, &id);
		/* Kept its place (same price, no RESTED event): track it under its new id. */
		if (c->last_rested != id && match_order_leaves(e, id) > 0)
			slot_add(c, id, sell);
	}
	/* Drift the mid a little so the book keeps moving. */
	if ((rnd(c) & 1023) == 0)
		c->mid += (rnd(c) & 1) ? 1 : -1;
}

/* Replays one recorded operation: only the engine's work. */
static inline void run_op(struct match_engine *e, const struct op *op)
{
	uint64_t id;

	switch (op->kind) {
	case OP_SUBMIT: {
		struct match_order o = { .instrument = 0,
					 .firm = op->firm,
					 .side = op->side,
					 .tif = op->tif,
					 .price = op->price,
					 .qty = op->qty };
		match_submit(e, &o, &id);
		break;
	}
	case OP_CANCEL: match_cancel(e, op->id, 0); break;
	default: match_replace(e, op->id, op->price, op->qty, &id); break;
	}
}

/* The replaying engine's consumer: counts events, as a cheap stand-in for encoding them. */
static void count_event(void *ctx, const struct match_event *ev)
{
	(void)ev;
	(*(uint64_t *)ctx)++;
}

/* An engine with about 1000 resting orders, the same for the same seed. */
static struct match_engine *fresh(struct client *c, match_event_fn fn, void *ctx)
{
	struct match_cfg cfg = { .instruments = 1, .max_orders = 65536, .max_levels = 4096 };
	struct match_engine *e;

	memset(c, 0, sizeof(*c));
	c->x = 0x2545f4914f6cdd1dull;
	c->mid = 100000;
	e = match_create(&cfg, fn, ctx);
	if (!e)
		return NULL;
	while (match_order_count(e) < 1000) {
		struct match_order o = { .instrument = 0, .tif = MATCH_DAY, .qty = 100 };
		uint64_t id;
		o.firm = (uint32_t)(rnd(c) % 64);
		o.side = rnd(c) & 1 ? MATCH_SELL : MATCH_BUY;
		o.price = passive_price(c, o.side == MATCH_SELL);
		match_submit(e, &o, &id);
	}
	return e;
}

/*
 * Generates n operations of the mix into ops against a generator engine: the client's choices
 * (random numbers, divisions, picking a live order) are made here, outside the timed loops. The
 * engine is deterministic, so replaying ops on an engine from fresh() with the same seed gives
 * the same ids. Returns the generator's resting orders at the end, or -ENOMEM.
 */
static int64_t gen_ops(struct client *c, struct op *ops, uint64_t n)
{
	struct match_engine *g = fresh(c, on_event, c);

	if (!g)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		gen_op(g, c, &ops[i]);
	int64_t live = match_order_count(g);
	match_destroy(g);
	return live;
}

/* Gaps over limit cycles between two clock reads of the rate loop: the core was taken away. */
struct gaps {
	uint64_t limit, n, cycles, max;
};

static inline void gap_note(struct gaps *g, uint64_t from, uint64_t to)
{
	uint64_t d = to - from;

	if (d > g->limit) {
		g->n++;
		g->cycles += d;
		g->max = d > g->max ? d : g->max;
	}
}

static int run_match(const struct bench_opts *opts)
{
	static const uint64_t rates[] = { 125000, 1000000 };
	uint64_t n = opts->ops ? opts->ops : 5000000;
	uint64_t nops = n > 2 * rates[1] ? n : 2 * rates[1];
	double *s = calloc(opts->runs, sizeof(double));
	struct client *c = malloc(sizeof(*c));
	struct hist *h = malloc(sizeof(*h));
	struct hist *hs = malloc(sizeof(*hs));
	struct op *ops = malloc(nops * sizeof(*ops));
	uint64_t events = 0;
	char wl[320];
	int rc = 0;

	if (!s || !c || !h || !hs || !ops) {
		rc = -ENOMEM;
		goto out;
	}
	int64_t gen_live = gen_ops(c, ops, nops);
	if (gen_live < 0) {
		rc = (int)gen_live;
		goto out;
	}
	snprintf(wl, sizeof(wl),
		 "\"ops\":%lu,\"instruments\":1,\"resting_start\":1000,\"levels\":750,"
		 "\"mix\":\"9%% GTC, 3%% IOC, 6%% cancel, 82%% move\",\"ops_pregenerated\":true",
		 (unsigned long)n);
	for (unsigned int r = 0; r <= opts->runs; r++) {
		struct match_engine *e = fresh(c, count_event, &events);
		if (!e) {
			rc = -ENOMEM;
			goto out;
		}
		uint64_t t0 = clock_tsc_start();
		for (uint64_t i = 0; i < n; i++)
			run_op(e, &ops[i]);
		uint64_t t1 = clock_tsc_end();
		if (r > 0)
			s[r - 1] = (double)n / bench_seconds(t0, t1) / 1e6;
		/* The replay must have followed the generator exactly. */
		if (n == nops && (int64_t)match_order_count(e) != gen_live) {
			fprintf(stderr, "bench match: replay diverged: %u resting, generator %ld\n",
				match_order_count(e), (long)gen_live);
			rc = -EPROTO;
		}
		if (r == opts->runs)
			bench_report_value(SUITE_MATCH, "mix", "resting_orders_at_end", "orders",
					   (double)match_order_count(e), wl);
		match_destroy(e);
	}
	bench_report(SUITE_MATCH, "mix", "throughput", "Mops/s", s, opts->runs, wl);

	/*
	 * Latency at offered rates, from intended start time (no coordinated omission), in runs of
	 * two seconds each; each percentile is reported as min and median over the runs. The loop
	 * also watches for the core being taken away: any gap over STALL_NS between two of its
	 * clock reads (it reads the clock every few ns while it waits, and around each operation,
	 * which takes well under a microsecond). Those gaps are the host's or the kernel's, not the
	 * engine's, and a single one queues every operation due during it.
	 */
	for (size_t ri = 0; ri < 2; ri++) {
		static const struct {
			const char *stat;
			double q;
		} qs[] = { { "p50", 0.5 },     { "p90", 0.9 },	     { "p99", 0.99 },
			   { "p99.9", 0.999 }, { "p99.99", 0.9999 }, { "max", 1.0 } };
		enum { NQ = sizeof(qs) / sizeof(qs[0]) };
		unsigned int runs = opts->runs;
		double *lat = calloc((size_t)runs * NQ, sizeof(double));
		double *svc = calloc((size_t)runs * NQ, sizeof(double));
		double *stalls = calloc(runs, sizeof(double)), *stall_us = calloc(runs, sizeof(double));
		double *longest = calloc(runs, sizeof(double)), *nivcsw = calloc(runs, sizeof(double));
		uint64_t nr = rates[ri] * 2; /* two seconds of offered load */
		uint64_t interval = clock_cal.tsc_hz / rates[ri];
		uint64_t stall_cyc = clock_cal.tsc_hz / (1000000000ull / STALL_NS);
		if (!lat || !svc || !stalls || !stall_us || !longest || !nivcsw) {
			free(lat), free(svc), free(stalls), free(stall_us), free(longest), free(nivcsw);
			rc = -ENOMEM;
			goto out;
		}
		for (unsigned int r = 0; r < runs; r++) {
			struct match_engine *e = fresh(c, count_event, &events);
			if (!e) {
				rc = -ENOMEM;
				break;
			}
			hist_reset(h);
			hist_reset(hs);
			struct rusage ru0, ru1;
			struct gaps g = { .limit = stall_cyc };
			getrusage(RUSAGE_THREAD, &ru0);
			uint64_t start = clock_tsc() + clock_cal.tsc_hz / 100, prev = clock_tsc();
			for (uint64_t i = 0; i < nr; i++) {
				uint64_t due = start + i * interval, t;
				for (;;) {
					t = clock_tsc();
					gap_note(&g, prev, t);
					prev = t;
					if (t >= due)
						break;
					__builtin_ia32_pause();
				}
				run_op(e, &ops[i]);
				uint64_t end = clock_tsc_end();
				gap_note(&g, t, end);
				prev = end;
				hist_record(h, clock_cycles_to_ns(end - due));
				hist_record(hs, clock_cycles_to_ns(end - t));
			}
			getrusage(RUSAGE_THREAD, &ru1);
			match_destroy(e);
			for (size_t qi = 0; qi < NQ; qi++) {
				lat[qi * runs + r] = (double)hist_percentile(h, qs[qi].q);
				svc[qi * runs + r] = (double)hist_percentile(hs, qs[qi].q);
			}
			stalls[r] = (double)g.n;
			stall_us[r] = (double)clock_cycles_to_ns(g.cycles) / 1e3;
			longest[r] = (double)clock_cycles_to_ns(g.max) / 1e3;
			nivcsw[r] = (double)(ru1.ru_nivcsw - ru0.ru_nivcsw);
		}
		if (rc == 0) {
			char name[64], wl2[320];
			snprintf(name, sizeof(name), "mix_at_%lu_ops_per_s", (unsigned long)rates[ri]);
			/* Latency from the intended start; service time (the engine's own time per
			 * operation) from its actual start. */
			static const char *const kinds[2][2] = { { "latency", "intended_start" },
								 { "service", "actual_start" } };
			for (int k = 0; k < 2; k++) {
				const double *v = k ? svc : lat;
				snprintf(wl2, sizeof(wl2),
					 "\"offered_rate\":%lu,\"ops\":%lu,\"measured_from\":\"%s\"",
					 (unsigned long)rates[ri], (unsigned long)nr, kinds[k][1]);
				for (size_t qi = 0; qi < NQ; qi++) {
					char metric[32];
					snprintf(metric, sizeof(metric), "%s_%s", kinds[k][0],
						 qs[qi].stat);
					bench_report(SUITE_MATCH, name, metric, "ns",
						     (double *)v + qi * runs, runs, wl2);
				}
			}
			snprintf(wl2, sizeof(wl2), "\"offered_rate\":%lu,\"stall_over_ns\":%u",
				 (unsigned long)rates[ri], STALL_NS);
			bench_report(SUITE_MATCH, name, "core_stalls", "stalls", stalls, runs, wl2);
			bench_report(SUITE_MATCH, name, "core_stalled_total", "us", stall_us, runs, wl2);
			bench_report(SUITE_MATCH, name, "core_stall_longest", "us", longest, runs, wl2);
			bench_report(SUITE_MATCH, name, "involuntary_context_switches", "switches",
				     nivcsw, runs, wl2);
		}
		free(lat), free(svc), free(stalls), free(stall_us), free(longest), free(nivcsw);
		if (rc)
			goto out;
	}

	/* Inserts of crossing limit orders: each buy takes one resting sell, which is replaced. */
	for (unsigned int r = 0; r <= opts->runs; r++) {
		struct match_engine *e = fresh(c, count_event, &events);
		uint64_t id, m = n / 2;
		if (!e) {
			rc = -ENOMEM;
			goto out;
		}
		uint64_t t0 = clock_tsc_start();
		for (uint64_t i = 0; i < m; i++) {
			struct match_order o = { .instrument = 0,
						 .tif = MATCH_DAY,
						 .qty = 100,
						 .firm = (uint32_t)(i & 63) };
			o.side = MATCH_SELL;
			o.price = c->mid + 1 + (int64_t)(i % 16);
			match_submit(e, &o, &id);
			o.side = MATCH_BUY;
			o.firm = (uint32_t)((i + 1) & 63) | 64;
			o.price = c->mid + 20;
			match_submit(e, &o, &id);
		}
		uint64_t t1 = clock_tsc_end();
		if (r > 0)
			s[r - 1] = (double)(2 * m) / bench_seconds(t0, t1) / 1e6;
		match_destroy(e);
	}
	snprintf(wl, sizeof(wl), "\"inserts\":%lu,\"half_crossing\":true", (unsigned long)n);
	bench_report(SUITE_MATCH, "limit_inserts_crossing", "throughput", "Minserts/s", s,
		     opts->runs, wl);
out:
	free(s);
	free(c);
	free(h);
	free(hs);
	free(ops);
	return rc;
}

BENCH_SUITE(bench_suite_match, SUITE_MATCH,
	    "matching engine: exchange-core mix, latency at 125k and 1M ops/s, crossing inserts",
	    run_match)
