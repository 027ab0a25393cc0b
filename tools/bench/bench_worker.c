/*
 * Benchmarks of the worker loop's own overhead, with a software driver that costs next to nothing
 * so the figures are the loop's: an idle pass (empty rx burst, tick check, poll countdown), and a
 * full pass of 32 packets through the count handler (per-packet cost and packets/s on one core).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core.h"
#include "worker.h"

#define SUITE_WORKER "worker"

static uint16_t bench_burst; /* packets each rx burst returns */
static struct pkt bench_pkts[WORKER_BURST];
static uint8_t bench_payload[64];

static uint16_t soft_rx(struct driver *d, uint16_t queue, struct pkt *p, uint16_t n)
{
	uint16_t got = bench_burst < n ? bench_burst : n;

	memcpy(p, bench_pkts, got * sizeof(*p));
	return got;
}

static void soft_release(struct driver *d, uint16_t queue, const struct pkt *p, uint16_t n)
{
	__asm__ volatile("" ::"r"(p), "r"(n) : "memory");
}

static uint16_t soft_tx(struct driver *d, uint16_t queue, const struct tx_pkt *p, uint16_t n)
{
	return n;
}

static int soft_stats(struct driver *d, struct driver_stats *out)
{
	driver_stats_sum_queues(d, out);
	return 0;
}

static const struct driver_ops soft_ops = {
	.name = "soft",
	.rx_burst = soft_rx,
	.release = soft_release,
	.tx_burst = soft_tx,
	.stats = soft_stats,
};

/* Runs passes of burst packets each; returns ns per pass. */
static double time_passes(struct worker *w, uint64_t passes)
{
	uint64_t t0 = clock_tsc_start();

	for (uint64_t i = 0; i < passes; i++)
		worker_pass(w, clock_tsc());
	return (double)clock_cycles_to_ns(clock_tsc_end() - t0) / (double)passes;
}

static int run_worker(const struct bench_opts *o)
{
	uint64_t passes = o->ops ? o->ops : 5000000;
	struct driver *drv = aligned_alloc(64, sizeof(*drv));
	struct shm_stats_worker *st = aligned_alloc(64, sizeof(*st));
	struct worker *w = aligned_alloc(64, sizeof(*w));
	double *s = calloc(o->runs, sizeof(double));
	struct worker_cfg cfg = { .core = -1, .command_poll = 1024, .tx_flush_us = 50 };
	struct worker_count count;
	struct worker_handler h;
	atomic_bool stop = false;
	char wl[128];
	int rc = -ENOMEM;

	if (!drv || !st || !w || !s)
		goto out;
	memset(drv, 0, sizeof(*drv));
	memset(st, 0, sizeof(*st));
	memset(&count, 0, sizeof(count));
	hist_reset(&st->burst_cycles);
	drv->ops = &soft_ops;
	drv->cfg.queues = 1;
	for (int i = 0; i < WORKER_BURST; i++) {
		bench_pkts[i].data = bench_payload;
		bench_pkts[i].len = sizeof(bench_payload);
	}
	worker_count_handler(&count, &h);
	rc = worker_init(w, &cfg, drv, &h, NULL, st, &stop);
	if (rc)
		goto out;

	bench_burst = 0;
	snprintf(wl, sizeof(wl), "\"passes\":%lu,\"burst\":0,\"command_poll\":1024",
		 (unsigned long)passes);
	time_passes(w, passes / 10);
	for (unsigned int r = 0; r < o->runs; r++)
		s[r] = time_passes(w, passes);
	bench_report(SUITE_WORKER, "idle_pass", "latency", "ns/pass", s, o->runs, wl);

	bench_burst = WORKER_BURST;
	snprintf(wl, sizeof(wl),
		 "\"passes\":%lu,\"burst\":%d,\"payload\":%zu,\"handler\":\"count\","
		 "\"driver\":\"software\"",
		 (unsigned long)(passes / 4), WORKER_BURST, sizeof(bench_payload));
	time_passes(w, passes / 40);
	for (unsigned int r = 0; r < o->runs; r++)
		s[r] = time_passes(w, passes / 4) / WORKER_BURST;
	bench_report(SUITE_WORKER, "busy_pass", "latency", "ns/packet", s, o->runs, wl);
	for (unsigned int r = 0; r < o->runs; r++)
		s[r] = 1e9 / s[r];
	bench_report(SUITE_WORKER, "busy_pass", "throughput", "packets/s", s, o->runs, wl);
	rc = count.packets > 0 ? 0 : -EIO;
out:
	free(s);
	free(w);
	free(st);
	free(drv);
	return rc;
}

BENCH_SUITE(bench_suite_worker, SUITE_WORKER,
	    "worker loop overhead: idle pass, 32-packet pass through the count handler", run_worker)
