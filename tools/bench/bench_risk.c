/*
 * Benchmark of the pre-trade risk check: one worker's context with 8 accounts over 1024
 * instruments and 8 sessions, every control configured (collars, quantity, notional, position,
 * exposure, credit, cash, no-short, loss and margin, leverage, both rate buckets, open orders,
 * duplicates, self-cross against resting orders on both sides), and a pre-generated stream of
 * passive orders that all pass (4096 orders over all accounts and instruments, cycled, so the
 * stream stays in cache beside the risk state as an order just built by a strategy would).
 * Reports ns/order over the stream; per-order latency percentiles from the TSC, raw (two reads
 * around each check) and net of the timer's minimum cost (on this VM the TSC moves in steps of
 * about 10 ns); the same for one hot account and instrument; and the cost of orders refused
 * early (max quantity) and late (self-cross, after every other control passed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core.h"
#include "risk.h"

#define SUITE_RISK "risk"
#define ACCOUNTS 8
#define INSTRUMENTS 1024
#define SESSIONS 8
#define STEP_NS 100 /* injected time between orders: 10 M orders/s over the worker */
#define MID 100000
#define STREAM 4096 /* distinct orders, cycled */

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A context with every control set, a long position in every (account, instrument) so that
 * sells pass the no-short check, and own resting orders 200-260 ticks away on both sides. */
static struct risk_ctx *setup(void)
{
	struct risk_cfg cfg = { .max_accounts = ACCOUNTS,
				.max_instruments = INSTRUMENTS,
				.max_sessions = SESSIONS,
				.max_resting_per_side = 16 };
	struct risk_instrument_limits il = { .tick = 1,
					     .max_order_qty = 10000,
					     .max_order_notional = 2000000000,
					     .collar_ticks = 500,
					     .collar_bps = 500,
					     .max_long = 1000000,
					     .max_short = 1000000 };
	struct risk_account_limits al = { .max_gross_exposure = 1ll << 50,
					  .max_net_exposure = 1ll << 50,
					  .credit_limit = 1ll << 50,
					  .start_cash = 1ll << 48,
					  .check_cash = true,
					  .allow_short = false,
					  .daily_loss_limit = 1ll << 40,
					  .max_leverage_x100 = 1000,
					  .margin_bps = 500,
					  .max_open_orders = 100000,
					  .order_rate = 4000000,
					  .order_burst = 1000,
					  .dup_window_ns = 1000000,
					  .self_cross_check = true };
	struct risk_session_limits sl = { .msg_rate = 4000000, .msg_burst = 1000 };
	struct risk_ctx *r = risk_create(&cfg);

	if (!r)
		return NULL;
	for (uint32_t i = 0; i < INSTRUMENTS; i++) {
		risk_set_instrument(r, i, &il);
		risk_set_market(r, i, MID - 5, MID + 5, 0, false, false);
	}
	for (uint32_t a = 0; a < ACCOUNTS; a++)
		risk_set_account(r, a, &al);
	for (uint16_t s = 0; s < SESSIONS; s++)
		risk_set_session(r, s, &sl);
	for (uint32_t a = 0; a < ACCOUNTS; a++) {
		for (uint32_t i = 0; i < INSTRUMENTS; i++) {
			risk_on_open(r, a, i, RISK_BUY, MID, 5000);
			risk_on_fill(r, a, i, RISK_BUY, MID, 5000);
			for (int k = 0; k < 4; k++) {
				risk_on_open(r, a, i, RISK_BUY, MID - 200 - 20 * k, 100);
				risk_on_open(r, a, i, RISK_SELL, MID + 200 + 20 * k, 100);
			}
		}
	}
	return r;
}

/* Passive orders inside the collar and inside our own resting orders: every one passes. */
static void gen(struct risk_order *o, uint64_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = rnd(&x);
		bool buy = v & 1;
		int64_t off = 1 + (int64_t)((v >> 8) % 150);
		o[i] = (struct risk_order){ .account = (uint32_t)((v >> 1) % ACCOUNTS),
					    .instrument = (uint32_t)((v >> 20) % INSTRUMENTS),
					    .session = (uint16_t)((v >> 40) % SESSIONS),
					    .side = buy ? RISK_BUY : RISK_SELL,
					    .price = buy ? MID - off : MID + off,
					    .qty = 1 + (int64_t)((v >> 48) % 1000) };
	}
}

/* Runs the stream once from t0 (ns of injected time); returns the refusals. */
static uint64_t run_stream(struct risk_ctx *r, struct risk_order *o, uint64_t n, uint64_t t0)
{
	uint64_t refused = 0;

	for (uint64_t i = 0; i < n; i++) {
		struct risk_order *x = &o[i % STREAM];
		x->now_ns = t0 + i * STEP_NS;
		refused += risk_check(r, x) != RISK_OK;
	}
	return refused;
}

static void report_hist(const char *name, const struct hist *h, const char *wl)
{
	static const struct {
		const char *stat;
		double q;
	} qs[] = { { "p50", 0.5 }, { "p99", 0.99 }, { "p99.9", 0.999 }, { "max", 1.0 } };

	for (size_t qi = 0; qi < sizeof(qs) / sizeof(qs[0]); qi++) {
		char metric[32];
		snprintf(metric, sizeof(metric), "latency_%s", qs[qi].stat);
		bench_report_value(SUITE_RISK, name, metric, "ns",
				   (double)hist_percentile(h, qs[qi].q), wl);
	}
}

/* Times n checks of one order shape; ns/order for each run into s. */
static int run_refused(struct risk_ctx *r, const struct bench_opts *opts, double *s,
		       struct risk_order proto, enum risk_reason want, uint64_t n, uint64_t t)
{
	for (unsigned int run = 0; run <= opts->runs; run++) {
		uint64_t bad = 0, t0 = clock_tsc_start();
		for (uint64_t i = 0; i < n; i++) {
			proto.now_ns = t + i * STEP_NS;
			bad += risk_check(r, &proto) != want;
		}
		uint64_t t1 = clock_tsc_end();
		if (bad) {
			fprintf(stderr, "bench risk: %lu orders not refused with %s\n",
				(unsigned long)bad, risk_reason_name(want));
			return -EPROTO;
		}
		if (run > 0)
			s[run - 1] = bench_seconds(t0, t1) * 1e9 / (double)n;
	}
	return 0;
}

static int run_risk(const struct bench_opts *opts)
{
	uint64_t n = opts->ops ? opts->ops : 4000000;
	struct risk_order *o = malloc(STREAM * sizeof(*o));
	double *s = calloc(opts->runs, sizeof(double));
	struct hist *h = malloc(sizeof(*h)), *ho = malloc(sizeof(*ho)), *hr = malloc(sizeof(*hr));
	struct risk_ctx *r = setup();
	uint64_t t = 1000000000000ull;
	char wl[400];
	int rc = 0;

	if (!o || !s || !h || !ho || !hr || !r) {
		rc = -ENOMEM;
		goto out;
	}
	gen(o, STREAM);
	snprintf(wl, sizeof(wl),
		 "\"orders\":%lu,\"distinct_orders\":%d,\"accounts\":%d,\"instruments\":%d,"
		 "\"sessions\":%d,\"resting_per_side\":4,\"controls\":\"all\",\"passing\":true,"
		 "\"orders_pregenerated\":true",
		 (unsigned long)n, STREAM, ACCOUNTS, INSTRUMENTS, SESSIONS);

	/* Throughput over the stream; run 0 warms up and checks that every order passes. */
	for (unsigned int run = 0; run <= opts->runs; run++) {
		uint64_t t0 = clock_tsc_start();
		uint64_t refused = run_stream(r, o, n, t);
		uint64_t t1 = clock_tsc_end();
		t += n * STEP_NS + 1000000000ull;
		if (refused) {
			fprintf(stderr, "bench risk: %lu of %lu orders refused\n",
				(unsigned long)refused, (unsigned long)n);
			rc = -EPROTO;
			goto out;
		}
		if (run > 0)
			s[run - 1] = bench_seconds(t0, t1) * 1e9 / (double)n;
	}
	bench_report(SUITE_RISK, "check_pass", "time_per_order", "ns", s, opts->runs, wl);

	/* Per-order latency: each check between two TSC reads. The timer's own cost: its minimum
	 * over empty regions is taken off each sample for the net figures. */
	uint64_t tmin = UINT64_MAX;
	hist_reset(ho);
	for (int i = 0; i < 100000; i++) {
		uint64_t c2 = clock_tsc_start();
		uint64_t c3 = clock_tsc_end();
		hist_record(ho, clock_cycles_to_ns(c3 - c2));
		if (c3 - c2 < tmin)
			tmin = c3 - c2;
	}
	report_hist("timer_overhead", ho, "\"empty_region\":true");
	char wl2[480];
	struct risk_order one = o[0];
	for (int hot = 0; hot < 2; hot++) {
		hist_reset(h);
		hist_reset(hr);
		t += 5 * n * STEP_NS + 1000000000ull;
		for (uint64_t i = 0; i < n; i++) {
			/* hot: one account and instrument, as a strategy quoting one name (at 2 M
			 * orders/s of injected time, inside the rate limits). */
			struct risk_order *x = &o[i % STREAM];
			if (hot) {
				x = &one;
				x->qty = 1 + (int64_t)(i % 1000);
				x->now_ns = t + i * 5 * STEP_NS;
			} else {
				x->now_ns = t + i * STEP_NS;
			}
			uint64_t c0 = clock_tsc_start();
			enum risk_reason why = risk_check(r, x);
			uint64_t c1 = clock_tsc_end();
			if (why != RISK_OK) {
				fprintf(stderr, "bench risk: refused %s\n", risk_reason_name(why));
				rc = -EPROTO;
				goto out;
			}
			hist_record(hr, clock_cycles_to_ns(c1 - c0));
			hist_record(h, clock_cycles_to_ns(c1 - c0 > tmin ? c1 - c0 - tmin : 0));
		}
		snprintf(wl2, sizeof(wl2), "%s,\"mix\":\"%s\",\"timer_min_ns\":%lu", wl,
			 hot ? "one account and instrument" : "all",
			 (unsigned long)clock_cycles_to_ns(tmin));
		report_hist(hot ? "check_pass_hot" : "check_pass", h, wl2);
		report_hist(hot ? "check_pass_hot_raw" : "check_pass_raw", hr, wl2);
	}

	/* Refused orders: early (max quantity, the first arithmetic control) and late (self-cross,
	 * the last control, after every other one passed). */
	struct risk_order early = o[0], late = o[0];
	early.qty = 10001;
	late.side = RISK_BUY;
	late.price = MID + 200;
	late.qty = 1;
	uint64_t nr = n / 4;
	snprintf(wl, sizeof(wl), "\"orders\":%lu,\"same_order\":true", (unsigned long)nr);
	t += 5 * n * STEP_NS;
	if ((rc = run_refused(r, opts, s, early, RISK_R_MAX_QTY, nr, t)))
		goto out;
	bench_report(SUITE_RISK, "check_refused_max_qty", "time_per_order", "ns", s, opts->runs,
		     wl);
	if ((rc = run_refused(r, opts, s, late, RISK_R_SELF_CROSS, nr, t)))
		goto out;
	bench_report(SUITE_RISK, "check_refused_self_cross", "time_per_order", "ns", s, opts->runs,
		     wl);
out:
	risk_destroy(r);
	free(o);
	free(s);
	free(h);
	free(ho);
	free(hr);
	return rc;
}

BENCH_SUITE(bench_suite_risk, SUITE_RISK,
	    "pre-trade risk: all controls on a passing order (ns/order, TSC percentiles), refusals",
	    run_risk)
