/*
 * Benchmark of what the trading handler adds for the stats region's ABI 3 (trading_stats.c): the
 * per-event hook for an order being sent (on the tick-to-trade path: it must return at once), the
 * hook for a fill (a venue answer on the tick), the publish the tick runs at most every
 * millisecond (sessions, rejects by control, kill switches over 64 accounts), and the full one
 * every 10 ms (16 accounts and 64 positions read from risk). The worker has one venue session
 * (created, never connected), 64 accounts of which 16 configured, 64 instruments, and 64
 * positions made by fills before the timing starts. Reports ns per call, min and median of runs.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core.h"
#include "trading_stats.h"

#define SUITE_TS "trading_stats"
#define ACCOUNTS 64
#define INSTRUMENTS 64

static const char *symbol(void *ctx, uint16_t venue, uint32_t instrument)
{
	return "AAPL";
}

static int run_ts(const struct bench_opts *opts)
{
	struct risk_cfg rc = { .max_accounts = ACCOUNTS,
			       .max_instruments = INSTRUMENTS,
			       .max_sessions = 1,
			       .max_resting_per_side = 16 };
	struct risk_account_limits al = { .max_gross_exposure = 1ll << 50, .allow_short = true };
	struct risk_instrument_limits il = { .tick = 1, .max_order_qty = 10000 };
	struct shm_stats_worker *st = aligned_alloc(64, sizeof(*st));
	struct risk_ctx *r = risk_create(&rc);
	uint64_t rejects[RISK_R_REASONS] = { 0 };
	bool acct_set[ACCOUNTS] = { false };
	struct vsession_cfg vc;
	struct vsession *sess;
	struct trading_stats ts = { 0 };
	const uint64_t n = opts->ops ? opts->ops : 2000000;
	double *s = calloc(opts->runs, sizeof(double));
	char wl[160];
	int rc2 = 1;

	vsession_cfg_default(&vc);
	strcpy(vc.user, "bench");
	vc.venue.sin_port = htons(1);
	vc.venue.sin_addr.s_addr = htonl(0x7f000001);
	sess = vsession_create(&vc, &(struct vsession_ops){ 0 }, NULL);
	if (!st || !r || !s || !sess) {
		fprintf(stderr, "trading_stats: setup failed\n");
		goto out;
	}
	memset(st, 0, sizeof(*st));
	if (trading_stats_init(&ts, st, INSTRUMENTS, INSTRUMENTS, ACCOUNTS, symbol, NULL))
		goto out;
	trading_stats_venue(&ts, 0, "sim");
	for (uint32_t i = 0; i < INSTRUMENTS; i++) {
		risk_set_instrument(r, i, &il);
		risk_set_market(r, i, 9990, 10010, 10000, false, false);
	}
	for (uint32_t a = 0; a < ACCOUNTS; a++)
		risk_set_account(r, a, &al);
	for (uint32_t a = 0; a < 16; a++)
		acct_set[a] = true;
	/* 64 positions: 16 accounts x 4 instruments, each made by a fill. */
	for (uint32_t k = 0; k < 64; k++) {
		struct oms_order o = {
			.account = k / 4, .instrument = k % 4, .venue = 0, .side = 'B'
		};
		struct oms_event ev = { .kind = OMS_EV_FILL, .o = &o, .qty = 100, .price = 10000 };
		risk_on_fill(r, o.account, o.instrument, 'B', 10000, 100);
		trading_stats_event(&ts, &ev);
	}
	if (st->npositions != 64) {
		fprintf(stderr, "trading_stats: %u positions, expected 64\n", st->npositions);
		goto out;
	}
	snprintf(wl, sizeof(wl),
		 "\"event_calls\":%lu,\"publish_calls\":%lu,\"accounts\":16,\"positions\":64,"
		 "\"sessions\":1",
		 (unsigned long)n, (unsigned long)(n / 100 ? n / 100 : 1));

	struct oms_order o = { .account = 1, .instrument = 1, .venue = 0, .side = 'B' };
	struct oms_event sent = { .kind = OMS_EV_SENT, .o = &o };
	struct oms_event fill = { .kind = OMS_EV_FILL, .o = &o, .qty = 1, .price = 10000 };
	for (unsigned int run = 0; run <= opts->runs; run++) {
		uint64_t t0 = clock_tsc();
		for (uint64_t i = 0; i < n; i++) {
			trading_stats_event(&ts, &sent);
			__asm__ volatile("" ::: "memory");
		}
		if (run)
			s[run - 1] = bench_seconds(t0, clock_tsc()) * 1e9 / (double)n;
	}
	bench_report(SUITE_TS, "event_sent", "time_per_call", "ns", s, opts->runs, wl);
	for (unsigned int run = 0; run <= opts->runs; run++) {
		uint64_t t0 = clock_tsc();
		for (uint64_t i = 0; i < n; i++)
			trading_stats_event(&ts, &fill);
		if (run)
			s[run - 1] = bench_seconds(t0, clock_tsc()) * 1e9 / (double)n;
	}
	bench_report(SUITE_TS, "event_fill", "time_per_call", "ns", s, opts->runs, wl);
	struct vsession *sessions[1] = { sess };
	uint64_t m = n / 100 ? n / 100 : 1;
	for (unsigned int run = 0; run <= opts->runs; run++) {
		uint64_t t0 = clock_tsc();
		ts.next_full_ns = UINT64_MAX; /* the 1 ms part only */
		for (uint64_t i = 0; i < m; i++)
			trading_stats_publish(&ts, r, sessions, rejects, acct_set, i);
		if (run)
			s[run - 1] = bench_seconds(t0, clock_tsc()) * 1e9 / (double)m;
	}
	bench_report(SUITE_TS, "publish_tick", "time_per_call", "ns", s, opts->runs, wl);
	for (unsigned int run = 0; run <= opts->runs; run++) {
		uint64_t t0 = clock_tsc();
		for (uint64_t i = 0; i < m; i++) {
			ts.next_full_ns = 0; /* accounts and positions every call */
			trading_stats_publish(&ts, r, sessions, rejects, acct_set, i);
		}
		if (run)
			s[run - 1] = bench_seconds(t0, clock_tsc()) * 1e9 / (double)m;
	}
	bench_report(SUITE_TS, "publish_full", "time_per_call", "ns", s, opts->runs, wl);
	rc2 = 0;
out:
	trading_stats_fini(&ts);
	vsession_destroy(sess);
	risk_destroy(r);
	free(st);
	free(s);
	return rc2;
}

BENCH_SUITE(ts_suite, SUITE_TS,
	    "trading handler's ABI 3 stats: per-event hooks and the tick's publish (ns per call)",
	    run_ts)
