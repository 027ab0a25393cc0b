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
#define SHM_STATS_ABI_VERSION 4u
#define SHM_STATS_MAX_WORKERS 16
#define SHM_STATS_MAX_DROPS 8 /* drop reasons the region has room for */
#define SHM_STATS_NAME_LEN 32 /* instance and driver names, NUL included */
#define SHM_STATS_DROP_NAME_LEN 16
/* ABI 3: the trading handler's sessions, risk rejects, kill switches and accounts. */
#define SHM_STATS_MAX_SESSIONS 8 /* venue sessions per worker */
#define SHM_STATS_SESSION_NAME_LEN 24
#define SHM_STATS_MAX_REASONS 32 /* risk reject reasons (controls) */
#define SHM_STATS_REASON_NAME_LEN 20
#define SHM_STATS_MAX_ACCOUNTS 16 /* accounts published per worker (lowest ids first) */
#define SHM_STATS_MAX_POSITIONS 64 /* account x instrument positions per worker */
#define SHM_STATS_MAX_KILLED 16 /* killed accounts and instruments listed by id */

enum shm_stats_state {
	SHM_STATS_STARTING,
	SHM_STATS_RUNNING,
	SHM_STATS_STOPPED,
	SHM_STATS_FAILED,
};

/* A venue session's state; the same order as dataplane/venue/session's enum vsession_state,
 * named here so readers need no venue header. */
enum shm_stats_session_state {
	SHM_SESSION_DISCONNECTED, /* down, reconnecting after the backoff */
	SHM_SESSION_CONNECTING,
	SHM_SESSION_LOGGING_IN, /* connected, login request sent */
	SHM_SESSION_ACTIVE, /* logged in: orders may be sent */
	SHM_SESSION_CLOSED, /* logged out (by the venue or an operator's disconnect): stays down */
	SHM_SESSION_STATES,
};

/* One venue session of a trading worker: 128 bytes, two cache lines. */
struct shm_stats_session {
	char name[SHM_STATS_SESSION_NAME_LEN]; /* the [venue.<name>] of the config, set at start */
	uint32_t state; /* enum shm_stats_session_state */
	uint8_t admin_down; /* 1: disconnected by an operator command; stays down until connect */
	uint8_t pad[3];
	uint64_t next_seq; /* next inbound (venue -> us) sequence number expected */
	uint64_t out_msgs; /* unsequenced messages (orders, cancels, replaces) queued to the venue */
	uint64_t in_msgs; /* sequenced messages delivered from the venue */
	uint64_t logins;
	uint64_t reconnects; /* logins after the first one */
	uint64_t disconnects; /* connections lost while logging in or logged in */
	uint64_t out_bytes; /* bytes the kernel took */
	uint64_t state_change_tsc; /* TSC of the last state change (0: none yet) */
	/* Orders on this venue by outcome (the venue's answers). */
	uint64_t orders_accepted;
	uint64_t orders_canceled;
	uint64_t orders_filled; /* fill executions, partial fills included */
	uint64_t orders_rejected; /* by the venue, or lost in a disconnect (expired) */
};

/* Money in the account and position rows is in the trading price scale times quantity:
 * SHM_STATS_MONEY_SCALE units are one currency unit (ITCH prices are 1/10000). */
#define SHM_STATS_MONEY_SCALE 10000

/* One account of a trading worker (its share of the firm's budget): 64 bytes. */
struct shm_stats_account {
	uint32_t id;
	uint32_t state; /* 0 normal, 1 reduce only (daily loss), 2 margin call, 3 killed */
	uint32_t open_orders;
	uint32_t pad;
	int64_t realized_pnl;
	int64_t unrealized_pnl; /* marked to the book (last trade or mid) */
	int64_t gross_exposure;
	int64_t net_exposure;
	int64_t cash;
	int64_t open_notional; /* open buy and sell orders' notional */
};

/* One account x instrument position: 64 bytes. */
struct shm_stats_position {
	uint32_t account;
	uint32_t instrument; /* the venue's instrument id (ITCH stock locate) */
	uint16_t session; /* index into sessions[]: the venue */
	uint16_t pad;
	char symbol[12]; /* as the venue's directory names it, empty when unknown */
	int64_t position; /* signed quantity */
	int64_t avg_price; /* price scale */
	int64_t realized_pnl; /* money scale */
	int64_t unrealized_pnl;
	int64_t open_qty; /* unfilled quantity of open orders, both sides */
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
	/* ABI 4: times the worker's core was taken away while the worker spun idle: a loop pass
	 * that began more than WORKER_STALL_NS after a pass that only polled the receive ring
	 * (well under a microsecond), as the host pausing the vCPU, an interrupt or another task
	 * does. They are what a tick-to-trade tail is made of on a core that is not isolated. */
	uint64_t stalls;
	uint64_t stall_cycles; /* their summed length */
	uint64_t stall_max_cycles; /* the longest */
	/* Cycles from the loop pass that found the burst (just before rx_burst) to the end of
	 * release, per busy burst. */
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
	/* Stages, on one market data event in 16 (a TSC read costs too much to time every
	 * message), each less the cost of one TSC read: feed, from the packet's RX TSC to the event
	 * reaching the strategies (decode and book of its message and of those before it in the
	 * burst); strategy, the strategies with the risk checks, OMS and encoding of what they send;
	 * decode, the message's checks and field reads; book, the book update and the event's BBO;
	 * risk, one order's pre-trade checks; encode, its OUCH encoding and copy into the session. */
	_Alignas(64) struct hist feed_cycles;
	_Alignas(64) struct hist strategy_cycles;
	_Alignas(64) struct hist decode_cycles;
	_Alignas(64) struct hist book_cycles;
	_Alignas(64) struct hist risk_cycles;
	_Alignas(64) struct hist encode_cycles;
	/* --- ABI 3: written by the "trading" handler at the command-poll cadence (at most every
	 * millisecond; accounts and positions every 10 ms) and on session state changes, never on
	 * the tick-to-trade path; zero for other handlers. A reader racing the writer may see one
	 * row a publish behind another. --- */
	_Alignas(64) uint64_t publish_tsc; /* TSC of the last publish */
	uint32_t nsessions;
	uint32_t nreasons; /* risk reject reasons in use, named in reason_names */
	uint32_t naccounts;
	uint32_t npositions;
	uint8_t accounts_truncated; /* more accounts are configured than the region has rows */
	uint8_t positions_truncated; /* more positions were traded than the region has rows */
	uint8_t kill_firm; /* the firm-wide kill switch is engaged */
	uint8_t pad3;
	uint32_t kill_accounts; /* accounts killed (all of them counted, the first ids listed) */
	uint32_t kill_instruments;
	uint32_t pad4;
	uint32_t killed_accounts[SHM_STATS_MAX_KILLED];
	uint32_t killed_instruments[SHM_STATS_MAX_KILLED]; /* risk ids: venue x stride + locate */
	uint64_t risk_rejects_by[SHM_STATS_MAX_REASONS]; /* by reason, index 0 ("ok") unused */
	char reason_names[SHM_STATS_MAX_REASONS][SHM_STATS_REASON_NAME_LEN]; /* set at start */
	_Alignas(64) struct shm_stats_session sessions[SHM_STATS_MAX_SESSIONS];
	_Alignas(64) struct shm_stats_account accounts[SHM_STATS_MAX_ACCOUNTS];
	_Alignas(64) struct shm_stats_position positions[SHM_STATS_MAX_POSITIONS];
};

_Static_assert(sizeof(struct shm_stats_session) == 128, "session row size");
_Static_assert(sizeof(struct shm_stats_account) == 64, "account row size");
_Static_assert(sizeof(struct shm_stats_position) == 64, "position row size");
_Static_assert(sizeof(struct shm_stats_worker) % 64 == 0, "worker blocks on their own lines");

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

/* The name of a session state ("disconnected", "connecting", "logging_in", "active", "closed"),
 * "unknown" for anything else. */
const char *shm_stats_session_state_name(uint32_t state);

/* Unmaps a region from shm_stats_attach; NULL is a no-op. */
void shm_stats_detach(const struct shm_stats *s);

/*
 * Writes a consistent-enough snapshot of the region as one JSON object and a newline to out:
 * header fields, then per worker its counters, busy ratio, heartbeat age and burst time
 * percentiles in ns; for a trading worker its sessions, risk rejects by reason, kill switches,
 * accounts and positions (money as currency units with 4 decimals). Returns 0 or -EIO when writing fails.
 */
int shm_stats_json(const struct shm_stats *s, FILE *out);

#endif
