/*
 * The worker runtime: one pinned thread per configured core, each running a run-to-completion
 * loop over its own driver queue in the manner of DPDK's l2fwd: rx burst -> handler -> release,
 * a TSC-timed tick for tx flush and timers, and a command poll every N passes; an idle strategy
 * (spin, or spin/yield/sleep backoff) when a pass found no work. Counters go straight into the
 * worker's block of the shared-memory stats region. This header also holds the dataplane's
 * configuration loader and the two built-in handlers (count, and dump for tests).
 */
#ifndef TRADSYS_WORKER_H
#define TRADSYS_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core.h"
#include "driver.h"
#include "spsc.h"
#include "stats.h"

#define WORKER_BURST 32
#define WORKER_MAX SHM_STATS_MAX_WORKERS
#define WORKER_COMMAND_MAX 256 /* largest command record the poll hands to on_command */
#define WORKER_COMMANDS_PER_POLL 8 /* so a command flood cannot starve the packet path */

/* Backoff idle strategy: pause for this many empty passes, then yield, then sleep doubling from
 * 1 us up to the cap. Any pass with work starts over at pausing. */
#define WORKER_BACKOFF_SPINS 10000u
#define WORKER_BACKOFF_YIELDS 100u
#define WORKER_BACKOFF_MAX_SLEEP_NS 1000000u
/* A gap after an idle pass longer than this counts as a stall (struct shm_stats_worker). */
#define WORKER_STALL_NS 5000u

enum worker_idle {
	WORKER_IDLE_SPIN,
	WORKER_IDLE_BACKOFF,
};

enum worker_handler_kind {
	WORKER_HANDLER_COUNT,
	WORKER_HANDLER_DUMP,
	WORKER_HANDLER_FEED,
	WORKER_HANDLER_TRADING, /* feed + strategies + risk + OMS + venue sessions (trading.h) */
};

/* What a worker does with its traffic. Callbacks run on the worker's core, on the hot path. */
struct worker_handler {
	/* A burst of packets, valid until the callback returns (the loop then releases them). */
	void (*on_packets)(void *ctx, struct pkt *pkts, uint16_t n, uint64_t now_tsc);
	/* The tick, every tx_flush_us: flush tx, run timers. Returns the work it did (packets
	 * sent, timers fired), which counts as work for the idle strategy. May be NULL. */
	int (*on_timer)(void *ctx, uint64_t now_tsc);
	/* A record from the command ring. May be NULL. */
	void (*on_command)(void *ctx, const void *cmd, size_t len);
	/* Once, on the worker's thread, after its loop saw the stop and before the thread ends:
	 * what must run on the thread that owns the handler's resources (io_uring requests are
	 * canceled when the thread that issued them exits). May be NULL. */
	void (*on_stop)(void *ctx);
	void *ctx;
};

/*
 * One [feed.<name>] section: a MoldUDP64 feed of ITCH 5.0 on one or two redundant lines.
 *   group, port         line A: UDP port (required) and multicast group (absent: any address)
 *   b_group, b_port     line B (optional): b_port is required when b_group is set
 *   max_instruments     book sizes for handler = feed: instrument ids (stock locates) 0..N-1
 *   max_orders          (default WORKER_FEED_DEFAULT_*), live orders across the feed,
 *   max_levels          and price levels per side per instrument (at most 65535)
 *   price_step          the usual tick in ITCH price units (default 100, a cent): the book's
 *                       ladder has a slot per step (book.h); prices off it still work
 *   request_server      IP:PORT of the venue's MoldUDP64 re-request server (optional)
 * Each line is one driver flow, numbered in file order: feed 0's A, feed 0's B (if any), feed
 * 1's A, ...; at most DRIVER_MAX_FLOWS lines in all, no two with the same port unless both name
 * different groups. Re-requests go out on an ordinary non-blocking UDP socket and their answers
 * are read from it on the worker's tick, for a second after the last request (so a worker with
 * nothing to recover makes no syscall on its tick): they are rare (a gap neither line filled, or
 * a late join) and off the fast path, so they do not need the bypass driver; the XDP filter
 * passes them to the kernel. Without a request server, or when recovery fails, a gap is declared
 * lost after the session's retry timers and the feed's books are marked stale (the stats feed
 * block).
 */
#define WORKER_NO_FLOW UINT16_MAX
#define WORKER_FEED_DEFAULT_INSTRUMENTS 16384
#define WORKER_FEED_DEFAULT_ORDERS (1u << 20)
#define WORKER_FEED_DEFAULT_LEVELS 64
#define WORKER_FEED_DEFAULT_PRICE_STEP 100

struct worker_feed_cfg {
	const char *name; /* the <name> of [feed.<name>] */
	uint16_t flow_a; /* index in driver.flows of line A */
	uint16_t flow_b; /* of line B, or WORKER_NO_FLOW */
	uint32_t max_instruments;
	uint32_t max_orders;
	uint32_t max_levels;
	uint32_t price_step; /* book_cfg.price_step */
	uint32_t request_ip; /* network order; 0: no request server */
	uint16_t request_port; /* host order */
};

/* One [worker.N] section. */
struct worker_cfg {
	unsigned int id; /* the N of [worker.N] */
	int core; /* -1: do not pin (tests) */
	uint16_t queue;
	enum worker_idle idle;
	uint32_t command_poll; /* passes between command polls */
	uint32_t tx_flush_us; /* tick interval */
	enum worker_handler_kind handler;
	const char *dump_file; /* handler dump: where */
	const char *decoded_file; /* handler feed, tests: delivered messages and book checksums */
	const char *report_file; /* handler trading, tests: fills as they happen, positions at stop */
};

/* The whole dataplane configuration. Strings point into the struct config it was parsed from. */
struct worker_config {
	const char *instance;
	const char *
		journal_dir; /* [appliance] journal_dir: where trading workers journal; NULL: none */
	enum log_level log_level;
	struct driver_cfg driver;
	const char *feed_names[DRIVER_MAX_FLOWS]; /* the <name> of [feed.<name>], by flow index */
	struct worker_feed_cfg feeds[DRIVER_MAX_FLOWS]; /* in file order */
	uint16_t nfeeds;
	uint16_t nworkers;
	struct worker_cfg workers[WORKER_MAX];
};

struct worker {
	/* line 0: read on every pass */
	_Alignas(64) struct driver *drv;
	struct shm_stats_worker *st;
	const atomic_bool *stop;
	uint64_t next_tick_tsc;
	uint64_t tick_cycles;
	uint32_t poll_left; /* passes until the next command poll */
	uint32_t command_poll;
	uint32_t idle_passes; /* consecutive passes without work (backoff) */
	uint16_t queue;
	uint8_t idle;
	uint64_t idle_tsc; /* start of the last pass when it found no work and only spun; else 0 */
	uint64_t stall_cycles; /* WORKER_STALL_NS in cycles */
	/* line 1: the handler and the command ring */
	_Alignas(64) struct worker_handler h;
	struct spsc_ring *commands;
	/* the burst, on its own lines */
	_Alignas(64) struct pkt pkts[WORKER_BURST];
	/* cold: start and stop */
	_Alignas(64) pthread_t tid;
	int core;
	unsigned int id;
	int rc; /* the thread's result: 0, or why it could not run */
	atomic_bool done;
	bool started;
	char name[16];
};

/*
 * Prepares w to run cfg on queue cfg->queue of drv, handing packets to h, counting into st
 * (zeroed by the caller or shm_stats_create) and stopping when *stop becomes true. commands is
 * the command ring to poll (NULL: none; the shm command ring is not part of the ABI yet) and its
 * records must fit WORKER_COMMAND_MAX. The tick interval is converted with clock_cal, which must
 * be calibrated. Returns 0 or -EINVAL (queue beyond the driver's, zero intervals, no on_packets,
 * command records too large, uncalibrated clock).
 */
int worker_init(struct worker *w, const struct worker_cfg *cfg, struct driver *drv,
		const struct worker_handler *h, struct spsc_ring *commands,
		struct shm_stats_worker *st, const atomic_bool *stop);

/*
 * One pass of the loop at time now_tsc: an rx burst handed to the handler and released, the tick
 * if it is due, the command poll if this is the Nth pass. Returns the work done (packets plus what
 * on_timer and on_command reported), 0 for an idle pass. Exposed so tests can drive the loop with
 * a fake clock; worker_run() calls it with clock_tsc().
 */
uint32_t worker_pass(struct worker *w, uint64_t now_tsc);

/* Runs passes on the calling thread, idling as configured, until *stop; then marks it stopped. */
void worker_run(struct worker *w);

/*
 * Starts a thread that pins itself to the worker's core (unless -1), names itself ts-worker-N,
 * attaches a log ring and runs worker_run(). Signals stay as the caller blocked them. Returns 0
 * or -errno from pthread_create. If pinning fails the thread marks the worker FAILED, stores the
 * error in w->rc and sets w->done without running.
 */
int worker_start(struct worker *w);

/* Joins a started worker; returns its rc (0 after a clean stop). */
int worker_join(struct worker *w);

/*
 * Loads the dataplane configuration from c (name is the file name, for messages): [appliance],
 * [driver], [feed.<name>] and [worker.N], rejecting unknown keys. Returns 0, or -EINVAL /
 * -ENOENT with a message in err naming the file (and line, where the config module knows it),
 * section and key.
 */
int worker_config_parse(struct config *c, const char *name, struct worker_config *out, char *err,
			size_t errlen);

/* Counts what it sees: the "count" handler. */
struct worker_count {
	uint64_t packets;
	uint64_t bytes;
	uint64_t flow_packets[DRIVER_MAX_FLOWS];
};

/* Fills h to count into c (zeroed by the caller). */
void worker_count_handler(struct worker_count *c, struct worker_handler *h);

/*
 * The "dump" handler, a test handler: it appends each packet as a text line
 * "<flow> <len> <payload hex>\n" to a file through stdio's buffer, so integration tests can
 * compare what different drivers delivered. It writes to a file on the worker and is not for
 * production traffic.
 */
struct worker_dump;

/* Creates (truncates) path. Returns the dump, or NULL with a message in err. */
struct worker_dump *worker_dump_open(const char *path, char *err, size_t errlen);

/* Fills h to write into d. */
void worker_dump_handler(struct worker_dump *d, struct worker_handler *h);

/* Flushes and closes the file. Returns 0, or -errno of the first failed write. NULL: 0. */
int worker_dump_close(struct worker_dump *d);

/*
 * The "feed" handler: per configured feed a MoldUDP64 session (A/B arbitration, gap detection)
 * in front of a feed handler keeping that feed's L3/L2 books (dataplane/feed). A packet goes to
 * the session of its flow's feed, as line A or B; every message the session delivers in sequence
 * is applied to the books. on_timer runs the sessions' retry timers, which declare a gap lost
 * when neither line filled it (there is no request server: see struct worker_feed_cfg); the feed
 * then marks every book stale. Counters reach the stats block's feed fields each tick.
 * With decoded_file set (tests), each delivered message is also appended as a line
 * "<mold seq> <message hex>\n" through stdio's buffer, like the dump handler, and
 * worker_feed_finish() writes each feed's "feed <name>" line and book checksum lines in the
 * format of `tradsys-itch stats` (books_print.h). With several feeds their message lines
 * interleave in delivery order.
 */
struct worker_feed;
struct feed;
struct mold_stats;

/*
 * Creates the handler of worker cfg->workers[index]: the sessions, the feeds with their books
 * (allocated and faulted in here, not on the worker) and the decoded file if configured. Counters
 * are published into st (may be NULL: not published). Returns it, or NULL with a message in err
 * naming the feed or the file.
 */
struct worker_feed *worker_feed_create(const struct worker_config *cfg, uint16_t index,
				       struct shm_stats_worker *st, char *err, size_t errlen);

/* Fills h to run wf. */
void worker_feed_handler(struct worker_feed *wf, struct worker_handler *h);

/* Market data events of every feed go to fn (with the feed's index) as books change: the
 * trading handler's entry point. NULL stops them. */
struct md_event;
typedef void (*worker_md_fn)(void *ctx, uint16_t feed, const struct md_event *ev);
void worker_feed_set_md(struct worker_feed *wf, worker_md_fn fn, void *ctx);

/* The index of the feed named name, or -1. */
int worker_feed_find(const struct worker_feed *wf, const char *name);

/*
 * After the worker stopped: publishes the final counters and, with a decoded file, writes the
 * book checksum lines and flushes it. Returns 0, or -errno of the first failed write.
 */
int worker_feed_finish(struct worker_feed *wf);

/* Writes a summary line per feed and per line to out (cold path). */
void worker_feed_summary(const struct worker_feed *wf, FILE *out);

/* Frees everything and closes the decoded file without writing more; NULL is a no-op. */
void worker_feed_destroy(struct worker_feed *wf);

/* The feed handler (books, counters) and the session counters of feed i; NULL when out of range.
 * For tests and the summary. */
struct feed *worker_feed_feed(struct worker_feed *wf, uint16_t i);
const struct mold_stats *worker_feed_mold_stats(const struct worker_feed *wf, uint16_t i);
/* Ticks that read feed i's request socket: only while a recovery may await answers. */
uint64_t worker_feed_answer_reads(const struct worker_feed *wf, uint16_t i);

#endif
