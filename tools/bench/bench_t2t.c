/*
 * Tick to trade through the whole appliance: runs tests/integration/test_trading.sh (exsim in one
 * network namespace publishing ITCH over MoldUDP64 with background flow and taking OUCH; the
 * dataplane in another with the market maker, feed on the XDP driver over the veth pair) for
 * --ops seconds (default 10) per run, and reports the dataplane's own histograms: tick-to-trade
 * from the packet's RX TSC to the OUCH session's io_uring submit (every order), the feed stage
 * (RX to the market data event reaching the strategies: decode and book of that message and of
 * those before it in the burst) and the strategy stage (strategy, risk, OMS, encode), both on one
 * market data event in 16. The worker
 * busy-spins on the highest allowed CPU and exsim runs on the others (TRADSYS_TRADING_PIN=1), as
 * on a box whose worker core is isolated; on this 2-vCPU VM the worker's core is still shared
 * with whatever else the kernel schedules there, so the tail shows that.
 * Usage: tradsys-bench t2t [--runs N] [--ops SECONDS] [--file DRIVER]   (needs root)
 * TRADSYS_TRADING_FEED_RATE sets exsim's background flow (messages/s, default 3000).
 * Each run also reports the worker's core stalls (struct shm_stats_worker): how often and how
 * long the core was taken away while the worker spun, which is what the tail is made of here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define SUITE_T2T "t2t"

static int exe_dir(char *out, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);

	if (n <= 0)
		return -1;
	out[n] = '\0';
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
	return 0;
}

static int run_t2t(const struct bench_opts *o)
{
	char dir[4096], cmd[16384], line[512], wl[128];
	const char *driver = o->file ? o->file : "xdp";
	unsigned long secs = o->ops ? (unsigned long)o->ops : 10;
	const char *hists[] = { "tick_to_trade_ns", "feed_burst_ns", "strategy_ns", "decode_ns",
				"book_ns",	    "risk_ns",	     "encode_ns" };

	if (geteuid() != 0) {
		fprintf(stderr, "t2t: needs root (network namespaces, XDP)\n");
		return 1;
	}
	if (exe_dir(dir, sizeof(dir)))
		return 1;
	/* exsim's background flow in messages/s: test_trading.sh's default unless overridden. */
	const char *rate = getenv("TRADSYS_TRADING_FEED_RATE");
	snprintf(wl, sizeof(wl),
		 "\"driver\":\"%s\",\"seconds\":%lu,\"feed_rate\":%lu,\"worker\":\"spin, pinned\"",
		 driver, secs, rate ? strtoul(rate, NULL, 10) : 3000ul);
	for (unsigned int r = 0; r < (o->runs ? o->runs : 1); r++) {
		/* The script lives in the source tree; the binaries next to this one. */
		snprintf(
			cmd, sizeof(cmd),
			"TRADSYS_TRADING_PIN=1 '" TRADSYS_SOURCE_DIR
			"/tests/integration/test_trading.sh' "
			"'%s/../../dataplane/worker/tradsys-dataplane' '%s/../exsim/tradsys-exsim' "
			"%s %lu 2>&1",
			dir, dir, driver, secs);
		FILE *p = popen(cmd, "r");
		int ok = 0;
		if (!p)
			return 1;
		while (fgets(line, sizeof(line), p)) {
			unsigned long n, p50, p99, p999, max, stalls, stalled, longest;
			char name[64];
			if (sscanf(line, " trading: core_stalls %lu stalled_ns %lu longest_ns %lu",
				   &stalls, &stalled, &longest) == 3) {
				/* The worker's core taken away while it spun: the tail's cause. */
				bench_report_value(SUITE_T2T, "worker_core", "stalls_over_5us",
						   "stalls", (double)stalls, wl);
				bench_report_value(SUITE_T2T, "worker_core", "stalled_total", "us",
						   (double)stalled / 1e3, wl);
				bench_report_value(SUITE_T2T, "worker_core", "stall_longest", "us",
						   (double)longest / 1e3, wl);
			} else if (sscanf(line, " trading: %63s n %lu p50 %lu p99 %lu p99.9 %lu max %lu",
				   name, &n, &p50, &p99, &p999, &max) == 6) {
				for (size_t h = 0; h < sizeof(hists) / sizeof(hists[0]); h++) {
					if (strcmp(name, hists[h]) != 0)
						continue;
					bench_report_value(SUITE_T2T, name, "count", "samples",
							   (double)n, wl);
					bench_report_value(SUITE_T2T, name, "p50", "ns",
							   (double)p50, wl);
					bench_report_value(SUITE_T2T, name, "p99", "ns",
							   (double)p99, wl);
					bench_report_value(SUITE_T2T, name, "p99.9", "ns",
							   (double)p999, wl);
					bench_report_value(SUITE_T2T, name, "max", "ns",
							   (double)max, wl);
				}
			} else if (strncmp(line, "ok:", 3) == 0) {
				ok = 1;
				fprintf(stderr, "t2t: %s", line);
			} else if (strncmp(line, "FAIL", 4) == 0 || strncmp(line, "  ", 2) == 0) {
				fprintf(stderr, "t2t: %s", line);
			}
		}
		if (pclose(p) != 0 || !ok) {
			fprintf(stderr, "t2t: the trading run failed\n");
			return 1;
		}
	}
	return 0;
}

BENCH_SUITE(bench_suite_t2t, SUITE_T2T,
	    "tick to trade through exsim + dataplane over a veth pair (root; --ops SECONDS, --file "
	    "xdp|dpdk|uring)",
	    run_t2t)
