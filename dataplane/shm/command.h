/*
 * The command ring: how the control plane tells one worker what to do (limits, kill switches,
 * cancel all, manual orders and cancels, strategy parameters, venue disconnect and connect). One shared-memory object per
 * worker, /dev/shm/tradsys-<instance>-cmd-<N>: a header with a magic and the ABI version, then a
 * struct spsc_ring (core/spsc.h) of fixed-size records. The dataplane creates it and polls it every
 * few passes; the control plane attaches and is its only producer. Every command carries an id,
 * and the worker answers through its journal with a SHM_JOURNAL_COMMAND_ACK record holding that id
 * and the result, so an answer is persisted like everything else and survives either crash.
 */
#ifndef TRADSYS_SHM_COMMAND_H
#define TRADSYS_SHM_COMMAND_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spsc.h"

#define SHM_COMMAND_MAGIC 0x4d435354u /* "TSCM" */
/* Bump on any change to the header or a command layout; attach refuses other versions. */
#define SHM_COMMAND_ABI_VERSION 1u
#define SHM_COMMAND_RECORD_SIZE 128
#define SHM_COMMAND_DEFAULT_CAPACITY 1024u
#define SHM_COMMAND_NAME_LEN 32 /* instance name, NUL included */

enum shm_command_type {
	SHM_COMMAND_SET_LIMIT = 1,
	SHM_COMMAND_KILL_SWITCH = 2,
	SHM_COMMAND_CANCEL_ALL = 3,
	SHM_COMMAND_MANUAL_ORDER = 4,
	SHM_COMMAND_MANUAL_CANCEL = 5,
	SHM_COMMAND_STRATEGY_PARAM = 6,
	/* Kinds added without a version bump: an older worker answers them -EOPNOTSUPP. */
	SHM_COMMAND_VENUE_DISCONNECT = 7, /* log the venue's session out; it stays down */
	SHM_COMMAND_VENUE_CONNECT = 8, /* let a disconnected session reconnect and log in */
};

/* What a limit, kill switch or cancel-all applies to. */
enum shm_command_scope {
	SHM_COMMAND_SCOPE_FIRM = 1, /* id unused */
	SHM_COMMAND_SCOPE_ACCOUNT = 2, /* id: account */
	SHM_COMMAND_SCOPE_INSTRUMENT = 3, /* id: instrument */
};

/* Which limit a set-limit command changes (the API's limit kinds use the same codes). Instrument
 * limits apply to one instrument (scope instrument) or all of them (scope firm); account limits
 * to one account (scope account) or every configured account (scope firm, the worker's share). */
enum shm_command_limit {
	SHM_LIMIT_MAX_ORDER_QTY = 1,
	SHM_LIMIT_MAX_ORDER_NOTIONAL = 2, /* price scale x shares */
	SHM_LIMIT_COLLAR_TICKS = 3,
	SHM_LIMIT_COLLAR_BPS = 4,
	SHM_LIMIT_MAX_LONG = 5,
	SHM_LIMIT_MAX_SHORT = 6,
	SHM_LIMIT_MAX_GROSS_EXPOSURE = 7,
	SHM_LIMIT_MAX_NET_EXPOSURE = 8,
	SHM_LIMIT_CREDIT = 9,
	SHM_LIMIT_DAILY_LOSS = 10,
	SHM_LIMIT_MAX_OPEN_ORDERS = 11,
	SHM_LIMIT_ORDER_RATE = 12,
};

struct shm_command_set_limit {
	uint32_t scope; /* enum shm_command_scope */
	uint32_t id;
	uint32_t limit; /* enum shm_command_limit */
	uint32_t pad;
	int64_t value; /* in the limit's unit (price scale, quantity, notional) */
};

struct shm_command_kill_switch {
	uint32_t scope;
	uint32_t id;
	uint8_t on; /* 1: stop new orders (and cancel open ones if cancel_open); 0: release */
	uint8_t cancel_open;
	uint8_t pad[6];
};

struct shm_command_cancel_all {
	uint32_t scope;
	uint32_t id;
};

/* A manual order passes through the same risk checks as a strategy's. */
struct shm_command_manual_order {
	uint64_t client_order_id; /* chosen by the control plane, echoed in the journal */
	int64_t price;
	int64_t qty;
	uint32_t instrument;
	uint32_t account;
	uint16_t venue;
	uint8_t side; /* enum shm_journal_side */
	uint8_t ord_type;
	uint8_t tif;
	uint8_t pad[3];
};

struct shm_command_manual_cancel {
	uint64_t order_id;
	uint32_t account; /* checked against the order's, so a typo cannot cancel another's */
	uint32_t pad;
};

struct shm_command_strategy_param {
	uint32_t strategy;
	uint32_t pad;
	char key[32]; /* NUL-padded */
	char value[48]; /* NUL-padded text; the strategy parses it */
};

/* Venue disconnect and connect: the venue by its [venue.<name>] name (the worker that does not
 * have it answers -ENOENT). */
#define SHM_COMMAND_VENUE_NAME_LEN 32
struct shm_command_venue {
	char name[SHM_COMMAND_VENUE_NAME_LEN]; /* NUL-padded */
};

/* One command: a 16-byte header and its arguments. */
struct shm_command {
	uint64_t id; /* unique per worker, chosen by the control plane; the ack carries it */
	uint16_t type; /* enum shm_command_type */
	uint16_t version; /* 1 */
	uint32_t pad;
	uint64_t issued_wall_ns;
	uint64_t pad2;
	union {
		unsigned char args[96];
		struct shm_command_set_limit set_limit;
		struct shm_command_kill_switch kill_switch;
		struct shm_command_cancel_all cancel_all;
		struct shm_command_manual_order manual_order;
		struct shm_command_manual_cancel manual_cancel;
		struct shm_command_strategy_param strategy_param;
		struct shm_command_venue venue;
	};
};

_Static_assert(sizeof(struct shm_command) == SHM_COMMAND_RECORD_SIZE, "command record size");

struct shm_command_header {
	uint32_t magic; /* stored last by the creator */
	uint32_t abi_version;
	uint64_t size; /* bytes of the whole object */
	uint32_t record_size;
	uint32_t worker;
	int32_t pid; /* the dataplane that created it */
	uint32_t pad;
	char instance[SHM_COMMAND_NAME_LEN];
};

/* The shared object: the header on its own line, then the ring. */
struct shm_command_region {
	_Alignas(64) struct shm_command_header hdr;
	_Alignas(64) struct spsc_ring ring;
};

/* A mapping of one worker's command ring, either side. */
struct shm_command_ring {
	struct shm_command_region *region;
	size_t size;
	bool owner; /* made by shm_command_create: destroy unlinks the object */
};

/*
 * Writes the shm object name "/tradsys-<instance>-cmd-<worker>" into out. Returns 0, or -EINVAL
 * for an invalid instance name (1..31 of [A-Za-z0-9._-]) or a short buffer.
 */
int shm_command_name(const char *instance, uint32_t worker, char *out, size_t len);

/* Bytes of a command object whose ring holds capacity records. */
size_t shm_command_bytes(uint32_t capacity);

/*
 * Dataplane side: creates (or replaces one a dead process left) the ring of (instance, worker)
 * for capacity records (a power of two >= 2), empty. Returns 0 and fills *cr, or -errno with a
 * message in err: a bad name or capacity, a live process owning it (-EBUSY), or shm_open /
 * ftruncate / mmap's error.
 */
int shm_command_create(struct shm_command_ring *cr, const char *instance, uint32_t worker,
		       uint32_t capacity, char *err, size_t errlen);

/*
 * Control plane side: maps the ring of (instance, worker) read-write and checks it with
 * shm_command_check. Returns 0, or -errno with err: -ENOENT (no such dataplane worker), -EPROTO,
 * -EPROTONOSUPPORT or -EINVAL as shm_command_check.
 */
int shm_command_attach(struct shm_command_ring *cr, const char *instance, uint32_t worker,
		       char *err, size_t errlen);

/*
 * Checks that len bytes at mem hold a command object this build understands. Returns 0, -EPROTO
 * for a bad magic (or one not initialised yet), -EPROTONOSUPPORT for another ABI version, or
 * -EINVAL for sizes that do not add up (record size, ring, object size); err gives the values.
 */
int shm_command_check(const void *mem, size_t len, char *err, size_t errlen);

/* The ring inside, for worker_init's commands argument (elements of SHM_COMMAND_RECORD_SIZE). */
static inline struct spsc_ring *shm_command_spsc(struct shm_command_ring *cr)
{
	return &cr->region->ring;
}

/* Control plane: enqueues one command. Returns 0, or -EAGAIN when the ring is full. */
static inline int shm_command_send(struct shm_command_ring *cr, const struct shm_command *c)
{
	return spsc_enqueue_bulk(&cr->region->ring, c, 1) ? 0 : -EAGAIN;
}

/* Dataplane: dequeues one command into out. Returns true when there was one. */
static inline bool shm_command_poll(struct shm_command_ring *cr, struct shm_command *out)
{
	return spsc_dequeue_burst(&cr->region->ring, out, 1) == 1;
}

/* Unmaps; when cr made the object (shm_command_create) it is also removed. No region: no-op. */
void shm_command_destroy(struct shm_command_ring *cr);

#endif
