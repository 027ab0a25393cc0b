/*
 * The Prometheus exporter: /metrics in the text exposition format (version 0.0.4), made on each
 * scrape from the dataplane's stats region (dataplane/shm/stats.h, ABI 3) and the control
 * plane's own state (API requests by status, the persister's checkpoint and lag). Latency
 * histograms are exported in seconds with fixed buckets; names follow Prometheus conventions
 * (tradsys_*_total counters, units in names) so `promtool check metrics` passes with no warning.
 * Trading workers add their venue sessions (tradsys_session_*{worker,venue}), orders per venue
 * by outcome, risk rejects by control, kill switches (every worker), accounts' PnL, exposure and
 * cash as floats in currency units, and positions (tradsys_position{worker,account,venue,
 * instrument}) in quantity.
 */
#ifndef TRADSYS_METRICS_H
#define TRADSYS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stats.h"

/* Bucket upper bounds of every latency histogram, in nanoseconds (100 ns .. 1 s). */
#define METRICS_NBOUNDS 16
extern const uint64_t metrics_bounds_ns[METRICS_NBOUNDS];

/* One worker's persister progress: the last seq committed, and how many records the journal
 * holds beyond it (lag < 0: unknown). */
struct metrics_persister {
	uint32_t worker;
	uint64_t checkpoint_seq;
	int64_t lag;
};

/* What the control plane contributes to a scrape. */
struct metrics_source {
	const char *instance;
	/* HTTP statuses and their request counters (ncodes + 1 counters: the last is "other"). */
	const int *codes;
	const _Atomic uint64_t *requests;
	size_t ncodes;
	/* Fills up to max persister rows; returns how many, or -errno when unknown. NULL: none. */
	int (*persister)(void *ctx, struct metrics_persister *out, size_t max);
	void *ctx;
};

/*
 * Writes every metric to out. st is the attached stats region (NULL when no dataplane runs:
 * tradsys_dataplane_up is then 0 and no worker series are written); now_tsc is the reader's TSC
 * for heartbeat ages. Returns 0 or -EIO when writing fails.
 */
int metrics_render(FILE *out, const struct shm_stats *st, const struct metrics_source *src,
		   uint64_t now_tsc);

struct metrics_server;

/* Serves GET /metrics over plain HTTP on host:port (IPv4) on one thread. Returns the server or
 * NULL with err (address in use, ...). src must outlive the server. */
struct metrics_server *metrics_server_start(const char *host, uint16_t port,
					    const struct metrics_source *src, char *err,
					    size_t errlen);

void metrics_server_stop(struct metrics_server *m);

#endif
