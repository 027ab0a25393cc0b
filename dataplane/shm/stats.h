/*
 * The stats region: per-worker counters the dataplane publishes in shared memory
 * (/dev/shm/tradsys-<instance>-stats) for the control plane, tsctl and tests to read. It is a
 * versioned ABI: a header with a magic, the ABI version and the total size, then one block per
 * worker. Each block is written only by its worker and sits on its own cache lines, so a reader
 * never slows a worker down; a reader racing a writer may see a counter one burst behind.
 */
#ifndef TRADSYS_SHM_STATS_H
#define TRADSYS_SHM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"

#define SHM_STATS_MAGIC 0x54535354u /* "TSST" */
/* Bump on any change to the layout below; readers refuse other versions. */
#define SHM_STATS_ABI_VERSION 2u
#define SHM_STATS_MAX_WORKERS 16
#define SHM_STATS_MAX_DROPS 8 /* drop reasons the region has room for */
#define SHM_STATS_NAME_LEN 32 /* instance and driver names, NUL included */
#define SHM_STATS_DROP_NAME_LEN 16

enum shm_stats_state {
	SHM_STATS_STARTING,
	SHM_STATS_RUNNING,
	SHM_STATS_STOPPED,
	SHM_STATS_FAILED,
};

/* One worker's counters: written by that worker only, read by anyone. */
struct shm_stats_worker {
	/* line 0..1: counters updated on every pass or burst */
	_Alignas(64) uint64_t passes; /* loop passes */
	uint64_t busy_passes; /* passes that received at least one packet */
	uint64_t packets; /* packets handed to the handler */
	uint64_t bytes; /* their UDP payload bytes */
	uint64_t timer_calls; /* on_timer invocations (the tx flush tick) */
	uint64_t command_polls;
	uint64_t heartbeat_tsc; /* TSC of the last command poll: a stuck worker stops moving it */
	uint64_t rx_nobuf; /* copied from the driver's queue counters at each command poll */
	uint64_t drops[SHM_STATS_MAX_DROPS]; /* the driver's drops by reason, same cadence */
	/* line 2: set at start */
	_Alignas(64) int32_t core; /* -1: not pinned */
	uint16_t queue;
	uint16_t pad;
	uint32_t state; /* enum shm_stats_state */
	uint32_t id;
	/* Cycles from the end of rx_burst to the end of release, per busy burst. */
	_Alignas(64) struct hist burst_cycles;
	/* --- feed block: written by the "feed" and "trading" handlers
	 * (dataplane/worker/feed_handler.c) every tick, zero for other handlers. --- */
	uint64_t feed_messages; /* ITCH messages the MoldUDP64 sessions delivered */
	uint64_t feed_lost_msgs; /* messages declared lost (no line or re-request filled them) */
	uint64_t feed_errors; /* malformed packets, bad ITCH messages, book refusals */
	uint32_t feed_gaps_lost; /* gap episodes declared lost */
	uint32_t feed_stale; /* feeds whose books are stale after a loss */
	/* --- trading block (ABI 2): written by the "trading" handler, zero for others --- */
	_Alignas(64) uint64_t orders_sent; /* passed risk and went to a venue session */
	uint64_t fills;
	uint64_t risk_rejects;
	uint64_t venue_rejects;
	uint64_t md_events;
	/* Tick to trade: cycles from the packet's RX TSC to the venue session's submit. */
	_Alignas(64) struct hist t2t_cycles;
	/* Stages: per busy burst, decode + book (strategies excluded); per market data event,
	 * strategies with the risk checks, OMS and OUCH encoding of what they send. */
	_Alignas(64) struct hist feed_cycles;
	_Alignas(64) struct hist strategy_cycles;
};

struct shm_stats_header {
	uint32_t magic; /* written last by the creator, so a reader never sees half a header */
	uint32_t abi_version;
	uint64_t size; /* bytes of the whole region */
	char instance[SHM_STATS_NAME_LEN];
	char driver[SHM_STATS_NAME_LEN];
	uint64_t start_wall_ns;
	uint64_t tsc_hz; /* to turn TSC cycles (heartbeats, histograms) into time */
	int32_t pid;
	uint32_t state; /* enum shm_stats_state of the process */
	uint32_t nworkers;
	uint32_t ndrops; /* drop reasons in use, named below so readers need no driver header */
	char drop_names[SHM_STATS_MAX_DROPS][SHM_STATS_DROP_NAME_LEN];
};

struct shm_stats {
	_Alignas(64) struct shm_stats_header hdr;
	struct shm_stats_worker workers[];
};

/* Bytes of a region with nworkers workers. */
size_t shm_stats_bytes(uint32_t nworkers);

/*
 * Writes the shm object name of instance ("/tradsys-<instance>-stats") into out. Returns 0, or
 * -EINVAL when instance is empty, longer than SHM_STATS_NAME_LEN - 1 or holds anything but
 * letters, digits, '-', '_' and '.'.
 */
int shm_stats_name(const char *instance, char *out, size_t len);

/*
 * Creates (or replaces a stale one left by a dead process) the region of instance for nworkers
 * workers, zeroed, with the header filled and every worker STARTING. Returns the mapping, or NULL
 * with a message in err: a bad instance name, another live process owning the instance, or the
 * shm_open / ftruncate / mmap error.
 */
struct shm_stats *shm_stats_create(const char *instance, uint32_t nworkers, char *err,
				   size_t errlen);

/* Unmaps a region made by shm_stats_create and removes its shm object; NULL is a no-op. */
void shm_stats_destroy(struct shm_stats *s);

/*
 * Checks that len bytes at mem hold a region this reader understands. Returns 0, -EPROTO for a
 * bad magic (not a stats region, or not yet initialised), -EPROTONOSUPPORT for another ABI
 * version, or -EINVAL when the sizes do not add up; err says which, with the values found.
 */
int shm_stats_check(const void *mem, size_t len, char *err, size_t errlen);

/*
 * Maps the region of instance read-only and checks it with shm_stats_check. Returns it, or NULL
 * with a message in err ("no dataplane instance 'x' (/dev/shm/tradsys-x-stats: No such file...)",
 * a magic or version mismatch).
 */
const struct shm_stats *shm_stats_attach(const char *instance, char *err, size_t errlen);

/* Unmaps a region from shm_stats_attach; NULL is a no-op. */
void shm_stats_detach(const struct shm_stats *s);

/*
 * Writes a consistent-enough snapshot of the region as one JSON object and a newline to out:
 * header fields, then per worker its counters, busy ratio, heartbeat age and burst time
 * percentiles in ns. Returns 0 or -EIO when writing fails.
 */
int shm_stats_json(const struct shm_stats *s, FILE *out);

#endif
