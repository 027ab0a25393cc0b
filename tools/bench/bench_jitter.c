/*
 * Is the worker's core quiet? Four measurements on one pinned core (the B of --cpus A,B; default
 * 1), in the manner of sysjitter:
 *
 *  - interruptions: a loop that does nothing but read the TSC, for --ops seconds (default 2) per
 *    run. Any step between two reads longer than 1 us is time the core spent elsewhere (an
 *    interrupt, a timer tick, another task, or on a VM the host). Reported per second of run
 *    above 1, 5 and 50 us, as the share of the time taken, and the longest.
 *  - cache decay: a working set that fits the core's L1d (32 KiB) or L2 (512 KiB) is walked as one
 *    random pointer cycle, then the core spins for 0, 10, 100, 300 or 1000 us, then the walk is
 *    timed again: ns per cache line. On a quiet core the figure does not move with the spin; where
 *    it grows, something else ran on the core meanwhile and took the worker's cache. That is what
 *    a worker pays per market data event at low feed rates.
 *  - cache reach: the same kind of cycle over working sets from 256 KiB to 128 MiB, walked with
 *    the core busy: ns per line when each read waits for the one before (p50 of REACH_SAMPLES
 *    walks). The steps show how much L2 and last-level cache the core really gets; on a shared
 *    host that can be far less than lscpu reports (TUNING.md).
 *  - TLB reach: one line on each of 32 to 256 2 MiB pages (hugetlbfs), walked the same way. The
 *    lines fit in L1, so a step up is the translation: where the TLB stops holding the pages,
 *    each read pays a page walk. The book's tables span hundreds of such pages (TUNING.md).
 *
 * A tuned box (TUNING.md) shows next to no interruptions on an isolated nohz_full core. Run it on
 * the core a worker will use, with the dataplane stopped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core.h"

#define SUITE_JITTER "jitter"
#define DECAY_SAMPLES 400
#define REACH_SAMPLES 5
#define REACH_STEPS 262144 /* reads per timed walk, at most */
#define REACH_MIN_STEPS 65536 /* and at least */

static char *volatile sink;

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* One run of the interruption loop; fills the counts and returns the cycles spun. */
static uint64_t spin_gaps(uint64_t seconds, uint64_t counts[3], uint64_t *taken, uint64_t *longest)
{
	const uint64_t us = clock_cal.tsc_hz / 1000000u;
	const uint64_t lim[3] = { us, 5 * us, 50 * us };
	const uint64_t t0 = clock_tsc(), end = t0 + seconds * clock_cal.tsc_hz;
	uint64_t last = t0;

	memset(counts, 0, 3 * sizeof(counts[0]));
	*taken = *longest = 0;
	while (last < end) {
		uint64_t t = clock_tsc(), d = t - last;
		last = t;
		if (d <= lim[0])
			continue;
		*taken += d;
		if (d > *longest)
			*longest = d;
		for (int i = 0; i < 3; i++)
			counts[i] += d > lim[i];
	}
	return last - t0;
}

/* Where line i of a cycle sits: packed (stride 64), or one per stride bytes, at an offset that
 * moves with i so the lines spread over the cache's sets. */
static size_t line_at(size_t i, size_t stride)
{
	return i * stride + (stride > 64 ? (i * 7 % 64) * 64 : 0);
}

/* A single random cycle through lines 64-byte lines of buf, one per stride bytes. Returns 0 or
 * -ENOMEM. */
static int make_cycle(char *buf, size_t lines, size_t stride)
{
	uint32_t *order = malloc(lines * sizeof(*order));
	uint64_t x = 0x2545f4914f6cdd1dull;

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < lines; i++)
		order[i] = (uint32_t)i;
	for (size_t i = lines - 1; i > 0; i--) {
		size_t j = rnd(&x) % (i + 1);
		uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < lines; i++)
		*(char **)(buf + line_at(order[i], stride)) =
			buf + line_at(order[(i + 1) % lines], stride);
	free(order);
	return 0;
}

static char *walk(char *p, size_t lines)
{
	for (size_t i = 0; i < lines; i++)
		p = *(char **)p;
	return p;
}

/* p50 over REACH_SAMPLES timed walks of a warm cycle of lines lines, one per stride bytes, in
 * tenths of a ns per read; reads is set to the reads per walk (round the cycle as often as it
 * takes to make up REACH_MIN_STEPS). */
static int reach_p50(struct hist *h, size_t lines, size_t stride, size_t *reads, uint64_t *p50)
{
	size_t size = lines * stride;
	size_t steps = lines > REACH_STEPS	 ? REACH_STEPS
		       : lines < REACH_MIN_STEPS ? REACH_MIN_STEPS
						 : lines;
	char *buf = core_mem_alloc(size), *p;

	if (!buf || make_cycle(buf, lines, stride) != 0) {
		core_mem_free(buf, size);
		return -ENOMEM;
	}
	p = walk(buf + line_at(0, stride), lines); /* once round: as warm as it can be */
	hist_reset(h);
	for (int k = 0; k < REACH_SAMPLES; k++) {
		uint64_t t0 = clock_tsc_start();
		p = walk(p, steps);
		uint64_t t1 = clock_tsc_end();
		hist_record(h, clock_cycles_to_ns((t1 - t0) * 10) / steps);
	}
	sink = p;
	core_mem_free(buf, size);
	*reads = steps;
	*p50 = hist_percentile(h, 0.5);
	return 0;
}

/* Dependent-read latency per working set, then per number of 2 MiB pages: where the core's
 * caches and its TLB really end. */
static int cache_reach(struct hist *h, const char *wl)
{
	static const size_t sets_kib[] = { 256, 1024, 2048, 4096, 8192, 16384, 32768, 131072 };
	static const size_t pages[] = { 32, 64, 96, 128, 256 };
	char wl2[240], name[48];
	size_t reads;
	uint64_t p50;
	int rc;

	for (size_t si = 0; si < sizeof(sets_kib) / sizeof(sets_kib[0]); si++) {
		if ((rc = reach_p50(h, sets_kib[si] * 1024 / 64, 64, &reads, &p50)))
			return rc;
		snprintf(wl2, sizeof(wl2),
			 "%s,\"working_set_kib\":%zu,\"reads\":%zu,\"samples\":%d", wl,
			 sets_kib[si], reads, REACH_SAMPLES);
		snprintf(name, sizeof(name), "latency_%zukib", sets_kib[si]);
		bench_report_value(SUITE_JITTER, name, "p50", "ns/line", (double)p50 / 10.0, wl2);
	}
	for (size_t pi = 0; pi < sizeof(pages) / sizeof(pages[0]); pi++) {
		if ((rc = reach_p50(h, pages[pi], 2u << 20, &reads, &p50)))
			return rc;
		snprintf(wl2, sizeof(wl2),
			 "%s,\"pages_2mib\":%zu,\"lines_per_page\":1,\"reads\":%zu,\"samples\":%d",
			 wl, pages[pi], reads, REACH_SAMPLES);
		snprintf(name, sizeof(name), "tlb_%zupages", pages[pi]);
		bench_report_value(SUITE_JITTER, name, "p50", "ns/line", (double)p50 / 10.0, wl2);
	}
	return 0;
}

static int run_jitter(const struct bench_opts *o)
{
	const uint64_t seconds = o->ops ? o->ops : 2;
	const int cpu = o->cpu_b;
	double *per_s[3], *share = calloc(o->runs, sizeof(double)),
			  *longest = calloc(o->runs, sizeof(double));
	struct hist *h = malloc(sizeof(*h));
	char wl[160];
	int rc = 0;

	for (int i = 0; i < 3; i++)
		per_s[i] = calloc(o->runs, sizeof(double));
	if (!share || !longest || !h || !per_s[0] || !per_s[1] || !per_s[2]) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = thread_pin(cpu)) != 0) {
		fprintf(stderr, "bench jitter: cannot pin to cpu %d: %s\n", cpu, strerror(-rc));
		goto out;
	}
	snprintf(wl, sizeof(wl), "\"cpu\":%d,\"seconds\":%lu,\"isolated\":%d", cpu,
		 (unsigned long)seconds, thread_cpu_isolated(NULL, cpu) == 1);

	for (unsigned int r = 0; r <= o->runs; r++) {
		uint64_t c[3], taken, lng;
		uint64_t spun = spin_gaps(r == 0 ? 1 : seconds, c, &taken, &lng);
		if (r == 0)
			continue; /* warm-up */
		double sec = bench_seconds(0, spun);
		for (int i = 0; i < 3; i++)
			per_s[i][r - 1] = (double)c[i] / sec;
		share[r - 1] = 100.0 * (double)taken / (double)spun;
		longest[r - 1] = (double)clock_cycles_to_ns(lng) / 1000.0;
	}
	static const char *const names[3] = { "over_1us", "over_5us", "over_50us" };
	for (int i = 0; i < 3; i++)
		bench_report(SUITE_JITTER, "interruptions", names[i], "per_s", per_s[i], o->runs,
			     wl);
	bench_report(SUITE_JITTER, "interruptions", "time_taken", "percent", share, o->runs, wl);
	bench_report(SUITE_JITTER, "interruptions", "longest", "us", longest, o->runs, wl);

	static const size_t sets_kib[] = { 32, 512 };
	static const unsigned int spins_us[] = { 0, 10, 100, 300, 1000 };
	for (size_t si = 0; si < sizeof(sets_kib) / sizeof(sets_kib[0]); si++) {
		size_t lines = sets_kib[si] * 1024 / 64;
		char *buf = core_mem_alloc(lines * 64), *p;
		if (!buf || make_cycle(buf, lines, 64) != 0) {
			core_mem_free(buf, lines * 64);
			rc = -ENOMEM;
			goto out;
		}
		p = walk(buf, lines * 4);
		for (size_t gi = 0; gi < sizeof(spins_us) / sizeof(spins_us[0]); gi++) {
			const uint64_t spin = spins_us[gi] * (clock_cal.tsc_hz / 1000000u);
			hist_reset(h);
			for (int k = 0; k < DECAY_SAMPLES; k++) {
				for (uint64_t t = clock_tsc(); clock_tsc() - t < spin;)
					;
				uint64_t t0 = clock_tsc_start();
				p = walk(p, lines);
				uint64_t t1 = clock_tsc_end();
				/* tenths of a ns per line, so the histogram keeps the fraction */
				hist_record(h, clock_cycles_to_ns((t1 - t0) * 10) / lines);
			}
			char wl2[240];
			snprintf(wl2, sizeof(wl2),
				 "%s,\"working_set_kib\":%zu,\"spin_us\":%u,\"samples\":%d", wl,
				 sets_kib[si], spins_us[gi], DECAY_SAMPLES);
			char name[48];
			snprintf(name, sizeof(name), "reload_%zukib_after_%uus", sets_kib[si],
				 spins_us[gi]);
			bench_report_value(SUITE_JITTER, name, "p50", "ns/line",
					   (double)hist_percentile(h, 0.5) / 10.0, wl2);
			bench_report_value(SUITE_JITTER, name, "p90", "ns/line",
					   (double)hist_percentile(h, 0.9) / 10.0, wl2);
		}
		sink = p; /* the walks have a result, so the compiler keeps them */
		core_mem_free(buf, lines * 64);
	}
	rc = cache_reach(h, wl);
out:
	for (int i = 0; i < 3; i++)
		free(per_s[i]);
	free(share);
	free(longest);
	free(h);
	return rc;
}

BENCH_SUITE(bench_suite_jitter, SUITE_JITTER,
	    "is the core quiet: interruptions of a TSC spin (per s over 1/5/50 us), cache decay "
	    "after idle spins, read latency by working set and by 2 MiB page count (--cpus A,B "
	    "measures B; --ops SECONDS)",
	    run_jitter)
