/*
 * The per-worker journal: every order event, risk breach, session event and command answer a
 * worker produces, appended to an mmap'd, preallocated file of fixed-size records with a
 * per-worker sequence number (1, 2, 3, ... with no gaps). The worker writes a record in place and
 * publishes it by storing its seq last, with release order, so a reader in another process never
 * sees half a record. The control plane's persister tails the files and copies them into
 * PostgreSQL. This header is a versioned ABI shared by both processes.
 *
 * Files: <dir>/<instance>-w<worker>-<seq of first record, 20 digits>.journal. A file holds
 * capacity records after a 4 KiB header; the writer starts a new file when one is full or when
 * the UTC day changes, and the new file's name is the next seq, so a reader at the end of one file
 * knows which file to open next. A new file appears by rename(), fully initialised.
 *
 * Durability: a record is in the page cache the moment it is committed, which survives a crash of
 * the dataplane process. The hot path never makes a system call; fdatasync belongs to a non-hot
 * thread or process (the persister calls shm_journal_reader_sync on the file it tails about once a
 * second, and the writer syncs on close), so a power loss costs at most the unsynced second of
 * records the persister had not yet committed to PostgreSQL.
 */
#ifndef TRADSYS_SHM_JOURNAL_H
#define TRADSYS_SHM_JOURNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"

#define SHM_JOURNAL_MAGIC 0x524a5354u /* "TSJR" */
/* Bump on any change to the header, the record header or a payload; readers refuse others. */
#define SHM_JOURNAL_ABI_VERSION 1u
#define SHM_JOURNAL_RECORD_SIZE 128
#define SHM_JOURNAL_PAYLOAD_MAX 96
#define SHM_JOURNAL_HEADER_SIZE 4096 /* records start on a page boundary */
#define SHM_JOURNAL_NAME_LEN 32 /* instance name, NUL included */
#define SHM_JOURNAL_DEFAULT_CAPACITY (1u << 20) /* records per file: 128 MiB */
#define SHM_JOURNAL_DAY_NS 86400000000000ull

enum shm_journal_type {
	SHM_JOURNAL_ORDER_NEW = 1, /* the worker sent an order (struct shm_journal_order) */
	SHM_JOURNAL_ORDER_ACK = 2, /* the venue accepted it */
	SHM_JOURNAL_ORDER_REJECT = 3, /* risk or the venue refused it */
	SHM_JOURNAL_ORDER_FILL = 4, /* an execution: last_px, last_qty, match_no */
	SHM_JOURNAL_ORDER_CANCEL = 5, /* cancelled (leaves 0), by us or the venue */
	SHM_JOURNAL_ORDER_REPLACE = 6, /* replaced: order_id is the new id, orig_order_id the old */
	SHM_JOURNAL_RISK = 16, /* a risk control fired (struct shm_journal_risk) */
	SHM_JOURNAL_SESSION = 32, /* a venue session event (struct shm_journal_session) */
	SHM_JOURNAL_COMMAND_ACK = 48, /* the answer to a command (struct shm_journal_command_ack) */
};

enum shm_journal_side {
	SHM_JOURNAL_BUY = 'B',
	SHM_JOURNAL_SELL = 'S',
	SHM_JOURNAL_SELL_SHORT = 'T',
	SHM_JOURNAL_SELL_SHORT_EXEMPT = 'E',
};

/* The payload of the six order event types: the order as it stands after the event. */
struct shm_journal_order {
	uint64_t order_id; /* the worker's client order id, unique per instance and worker */
	uint64_t orig_order_id; /* replace: the order replaced; otherwise 0 */
	uint64_t venue_order_id; /* the venue's order reference (OUCH: token); 0 before the ack */
	uint64_t match_no; /* fill: the venue's match number */
	int64_t price; /* limit price in the instrument's price scale */
	int64_t qty; /* order quantity (after a replace, the new quantity) */
	int64_t leaves; /* open quantity after this event */
	int64_t last_px; /* fill: execution price */
	int64_t last_qty; /* fill: executed quantity */
	uint32_t instrument;
	uint32_t account;
	uint16_t venue;
	uint16_t strategy;
	uint16_t reason; /* reject/cancel: risk control or venue reason code; 0 otherwise */
	uint8_t side; /* enum shm_journal_side */
	uint8_t ord_type; /* venue order type code */
	uint8_t tif; /* time in force code */
	uint8_t liquidity; /* fill: the venue's liquidity flag */
	uint8_t pad[6];
};

enum shm_journal_risk_action {
	SHM_JOURNAL_RISK_REJECTED = 1, /* the order was refused */
	SHM_JOURNAL_RISK_KILL = 2, /* the control tripped a kill switch */
	SHM_JOURNAL_RISK_WARNED = 3, /* a soft limit was crossed */
};

/* A risk control that fired. */
struct shm_journal_risk {
	uint64_t order_id; /* the order that hit it; 0 when not order-driven */
	int64_t limit; /* the limit in force */
	int64_t value; /* what the order would have made the measured value */
	int64_t price;
	int64_t qty;
	uint32_t instrument;
	uint32_t account;
	uint16_t control; /* which check (the risk module's reason code) */
	uint8_t side;
	uint8_t action; /* enum shm_journal_risk_action */
	uint8_t pad[44];
};

enum shm_journal_session_kind {
	SHM_JOURNAL_SESSION_LOGIN = 1,
	SHM_JOURNAL_SESSION_LOGOUT = 2,
	SHM_JOURNAL_SESSION_DISCONNECT = 3,
	SHM_JOURNAL_SESSION_RECONNECT = 4,
	SHM_JOURNAL_SESSION_LOGIN_REJECTED = 5,
	SHM_JOURNAL_SESSION_GAP = 6, /* sequence gap detected, replay requested */
};

/* A venue order-entry session event. */
struct shm_journal_session {
	uint64_t in_seq; /* next sequence number expected from the venue */
	uint64_t out_seq; /* next sequence number we send */
	uint16_t venue;
	uint16_t kind; /* enum shm_journal_session_kind */
	int32_t error; /* -errno or a venue reason; 0 when none */
	char session[16]; /* venue session id, NUL-padded */
	char detail[56]; /* NUL-padded text */
};

/* The answer to a command from the command ring (command.h). */
struct shm_journal_command_ack {
	uint64_t command_id;
	uint16_t command_type; /* enum shm_command_type */
	uint16_t pad;
	int32_t result; /* 0, or -errno */
	char detail[80]; /* NUL-padded text for the operator */
};

/* One record, 128 bytes: a 32-byte header and the payload. */
struct shm_journal_record {
	_Atomic uint64_t seq; /* 0: not (yet) written; stored last, with release */
	uint16_t type; /* enum shm_journal_type */
	uint16_t version; /* payload version (1) */
	uint32_t len; /* payload bytes used, <= SHM_JOURNAL_PAYLOAD_MAX */
	uint64_t wall_ns; /* CLOCK_REALTIME ns since the epoch */
	uint64_t tsc; /* TSC at reserve, for latency against packet timestamps */
	union {
		unsigned char payload[SHM_JOURNAL_PAYLOAD_MAX];
		struct shm_journal_order order;
		struct shm_journal_risk risk;
		struct shm_journal_session session;
		struct shm_journal_command_ack command_ack;
	};
};

_Static_assert(sizeof(struct shm_journal_order) == SHM_JOURNAL_PAYLOAD_MAX, "order payload");
_Static_assert(sizeof(struct shm_journal_risk) == SHM_JOURNAL_PAYLOAD_MAX, "risk payload");
_Static_assert(sizeof(struct shm_journal_session) == SHM_JOURNAL_PAYLOAD_MAX, "session payload");
_Static_assert(sizeof(struct shm_journal_command_ack) == SHM_JOURNAL_PAYLOAD_MAX, "ack payload");
_Static_assert(sizeof(struct shm_journal_record) == SHM_JOURNAL_RECORD_SIZE, "record size");

/* The first SHM_JOURNAL_HEADER_SIZE bytes of every file. */
struct shm_journal_file_header {
	uint32_t magic; /* stored last when the file is made */
	uint32_t abi_version;
	uint32_t header_size;
	uint32_t record_size;
	uint64_t capacity; /* records in the file */
	uint64_t first_seq; /* seq of record 0; equals the number in the file name */
	uint32_t worker;
	uint32_t creation_day; /* UTC days since the epoch */
	uint64_t created_wall_ns;
	char instance[SHM_JOURNAL_NAME_LEN];
	int32_t pid; /* the writer that made the file */
	uint32_t pad;
	/* 0 while the writer appends here; the last seq in the file once it moved on. Informative:
	 * readers go by the next file's existence, which also covers a writer that died mid-roll. */
	_Atomic uint64_t sealed_last_seq;
};

/* Options of a writer. */
struct shm_journal_opts {
	const char *dir; /* an existing directory */
	const char *instance; /* 1..31 of [A-Za-z0-9._-] */
	uint32_t worker;
	uint64_t capacity; /* records per new file; 0: SHM_JOURNAL_DEFAULT_CAPACITY */
	/* Wall clock in ns since the epoch; NULL: clock_wall_ns. Tests inject one to cross days;
	 * a worker passes the time of the burst it is handling, read once for the whole burst. */
	uint64_t (*now)(void *ctx);
	/* The records' TSC; NULL: clock_tsc. */
	uint64_t (*tsc)(void *ctx);
	void *now_ctx;
};

/* The writer: owned by one worker thread. The hot fields are first. */
struct shm_journal_writer {
	/* line 0: read and written on every append */
	_Alignas(64) struct shm_journal_record *recs;
	uint64_t next_seq; /* seq the next commit gets */
	uint64_t index; /* slot of the next record in the current file */
	uint64_t capacity; /* of the current file */
	uint64_t day_end_ns; /* first ns of the UTC day after the current file's */
	uint64_t (*now)(void *ctx);
	uint64_t (*tsc)(void *ctx);
	void *now_ctx;
	/* cold */
	_Alignas(64) struct shm_journal_file_header *hdr;
	size_t map_len;
	uint64_t new_capacity;
	int fd;
	int lock_fd;
	uint32_t worker;
	char instance[SHM_JOURNAL_NAME_LEN];
	char dir[4096];
	char err[512]; /* why the last rollover failed */
};

/*
 * Opens the journal of (instance, worker) in dir for appending: takes the writer lock (a second
 * writer fails), then reopens the latest file and continues after its last complete record (a
 * record whose seq was never stored is discarded), or creates the first file at seq 1. Returns
 * the writer, or NULL with a message in err: bad options, another writer, or a latest file whose
 * magic, ABI version, record size or sizes are not this build's (the file is left untouched).
 */
struct shm_journal_writer *shm_journal_writer_open(const struct shm_journal_opts *o, char *err,
						   size_t errlen);

/*
 * fdatasyncs the current file and releases everything, lock included. The file stays open for
 * appending: the next writer_open continues in it. Returns 0 or -errno of the sync. NULL: 0.
 */
int shm_journal_writer_close(struct shm_journal_writer *w);

/* fdatasync of the current file and fsync of dir (not for the hot path). Returns 0 or -errno. */
int shm_journal_writer_sync(struct shm_journal_writer *w);

/*
 * Off the hot path (a worker's timer): makes the pages of the next `records` slots of the current
 * file writable now, so that appends do not take the page fault. The first write to a page of a
 * shared file mapping faults into the file system (ext4 allocates and journals the block: about
 * a microsecond), and so does the first write after writeback cleaned the page. It stores 0 into
 * the seq of unused slots only, which is what readers already see there. Returns the pages
 * touched.
 */
uint32_t shm_journal_writer_prefault(struct shm_journal_writer *w, uint32_t records);

/*
 * Starts the next file (the current is full or of an earlier day) as of wall time now. Called by
 * shm_journal_reserve; exposed for tests. Returns 0 or -errno with the reason in w->err.
 */
int shm_journal_writer_roll(struct shm_journal_writer *w, uint64_t now);

/*
 * Hot path. Returns the slot for the next record with wall_ns and tsc set; the caller fills type,
 * version, len and the payload in place and calls shm_journal_commit. NULL only when a new file
 * was due and could not be made (disk full, ...): w->err says why, and the worker must stop
 * sending orders, since it can no longer record them. No system call except at a rollover.
 */
static inline struct shm_journal_record *shm_journal_reserve(struct shm_journal_writer *w)
{
	uint64_t now = w->now ? w->now(w->now_ctx) : clock_wall_ns();
	struct shm_journal_record *r;

	if (__builtin_expect(w->index >= w->capacity || now >= w->day_end_ns, 0))
		if (shm_journal_writer_roll(w, now))
			return NULL;
	r = &w->recs[w->index];
	r->wall_ns = now;
	r->tsc = w->tsc ? w->tsc(w->now_ctx) : clock_tsc();
	return r;
}

/* Hot path. Publishes the record from the last reserve and returns its seq. */
static inline uint64_t shm_journal_commit(struct shm_journal_writer *w,
					  struct shm_journal_record *r)
{
	uint64_t seq = w->next_seq++;

	w->index++;
	atomic_store_explicit(&r->seq, seq, memory_order_release);
	return seq;
}

/*
 * Hot path: reserve, copy len bytes of payload (<= SHM_JOURNAL_PAYLOAD_MAX), commit. Returns the
 * seq, or 0 when reserve failed.
 */
static inline uint64_t shm_journal_append(struct shm_journal_writer *w, uint16_t type,
					  const void *payload, uint32_t len)
{
	struct shm_journal_record *r = shm_journal_reserve(w);

	if (__builtin_expect(!r, 0))
		return 0;
	r->type = type;
	r->version = 1;
	r->len = len;
	__builtin_memcpy(r->payload, payload, len);
	return shm_journal_commit(w, r);
}

/*
 * Writes "<dir>/<instance>-w<worker>-<first_seq, 20 digits>.journal" into out. Returns 0, or
 * -EINVAL for an invalid instance name or -ENAMETOOLONG.
 */
int shm_journal_file_name(const char *dir, const char *instance, uint32_t worker,
			  uint64_t first_seq, char *out, size_t len);

/* True when instance is 1..SHM_JOURNAL_NAME_LEN-1 of [A-Za-z0-9._-]. */
bool shm_journal_instance_ok(const char *instance);

/*
 * Checks that len bytes at mem start with a journal header this build understands and that the
 * file size len matches it. Returns 0, -EPROTO for a bad magic, -EPROTONOSUPPORT for another ABI
 * version, or -EINVAL for a record size, header size or capacity that does not match; err says
 * which, with the values found.
 */
int shm_journal_check_header(const void *mem, size_t len, char *err, size_t errlen);

/*
 * The workers that have journal files of instance in dir: stores up to max ids in workers,
 * ascending, and returns how many there are, or -errno (with err) when dir cannot be read.
 */
int shm_journal_list_workers(const char *dir, const char *instance, uint32_t *workers, size_t max,
			     char *err, size_t errlen);

/* A reader that tails one worker's journal across its files. */
struct shm_journal_reader;

/*
 * Opens a reader of (instance, worker) in dir that will return records from seq from_seq (>= 1)
 * on. No file need exist yet. Returns the reader, or NULL (bad options, out of memory) with err.
 */
struct shm_journal_reader *shm_journal_reader_open(const char *dir, const char *instance,
						   uint32_t worker, uint64_t from_seq, char *err,
						   size_t errlen);

/*
 * Copies up to n records, in seq order from the reader's position, into out and advances.
 * Returns how many (0: none published yet), or -errno with shm_journal_reader_error() set:
 * -EPROTO / -EPROTONOSUPPORT / -EINVAL for a file with a bad magic, version or sizes, -EBADMSG for
 * a record whose seq or length is wrong (a corrupt file), -ENOENT when the seq wanted is older
 * than the oldest file, -errno of open/mmap. After an error the reader stays at the same seq.
 */
int shm_journal_reader_read(struct shm_journal_reader *r, struct shm_journal_record *out,
			    unsigned int n);

/* The seq the next read starts at. */
uint64_t shm_journal_reader_next_seq(const struct shm_journal_reader *r);

/* The message of the last failed read. */
const char *shm_journal_reader_error(const struct shm_journal_reader *r);

/* fdatasync of the file the reader is on (see "Durability" above). Returns 0 or -errno. */
int shm_journal_reader_sync(struct shm_journal_reader *r);

/* Unmaps and frees; NULL is a no-op. */
void shm_journal_reader_close(struct shm_journal_reader *r);

/* A printable name of a record type ("new", "fill", ...), or NULL for an unknown type. */
const char *shm_journal_type_name(uint16_t type);

#endif
