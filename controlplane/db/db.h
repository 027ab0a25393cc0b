/*
 * The control plane's PostgreSQL side: versioned schema migrations and the persister that copies
 * every worker's journal into the database exactly once. Migrations are SQL files
 * (migrations/NNN_name.sql, built into the binary or read from a directory), each applied in its
 * own transaction and recorded in schema_migrations with a SHA-256 of its text, so an applied
 * migration that was edited afterwards is refused instead of silently diverging. The persister
 * loads journal records with COPY in batches and moves the worker's row in journal_checkpoints in
 * the same transaction, so whatever dies (the persister, PostgreSQL, the dataplane) it resumes at
 * the first record not committed: nothing lost, nothing twice. libpq only.
 */
#ifndef TRADSYS_DB_H
#define TRADSYS_DB_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "journal.h"

/* ---- migrations ---- */

struct db_migration {
	int version; /* NNN of NNN_name.sql, >= 1 */
	char name[64]; /* the file name without ".sql" */
	const char *sql;
	size_t len;
	char checksum[65]; /* SHA-256 of sql, lowercase hex */
};

/* A set of migrations in version order. */
struct db_migrations {
	struct db_migration *m;
	size_t n;
	char *storage; /* file contents read by db_migrations_load_dir */
};

/* Fills set with the migrations built into this binary (nothing to free but set->m). Returns 0
 * or -ENOMEM. */
int db_migrations_builtin(struct db_migrations *set, char *err, size_t errlen);

/*
 * Reads every NNN_name.sql in dir, in version order. Returns 0, or -errno with a message in err:
 * unreadable dir or file, a .sql file whose name is not NNN_name.sql (-EINVAL), or two files with
 * the same version (-EEXIST).
 */
int db_migrations_load_dir(struct db_migrations *set, const char *dir, char *err, size_t errlen);

void db_migrations_free(struct db_migrations *set);

/* SHA-256 of len bytes at sql as 64 lowercase hex digits and a NUL into out. */
void db_migration_checksum(const char *sql, size_t len, char out[65]);

/*
 * Brings the database on conn up to date: takes an advisory lock (one migrator at a time),
 * creates schema_migrations if absent, checks every applied migration against set (same version,
 * name and checksum), then applies the missing ones in order, each with its schema_migrations row
 * in one transaction. Returns how many were applied (0: up to date), or -errno with err naming the
 * migration and PostgreSQL's message (with the line of the failing statement): -EINVAL for an
 * edited applied migration, -EPROTO for an applied version this build does not know, -EIO for a
 * failed statement.
 */
int db_migrate(PGconn *conn, const struct db_migrations *set, FILE *log, char *err, size_t errlen);

/* ---- journal records as COPY rows ---- */

/* The tables the persister loads, in the order their COPYs run. Fills are order events of type
 * fill (the fills view, migration 005), so they take no COPY of their own. */
enum db_table {
	DB_ORDER_EVENTS,
	DB_RISK_EVENTS,
	DB_SESSION_EVENTS,
	DB_COMMAND_RESULTS,
	DB_JOURNAL_UNKNOWN, /* records of a type this build does not know, kept raw */
	DB_NTABLES,
};

/* A growing text buffer of COPY rows. */
struct db_buf {
	char *p;
	size_t len, cap;
	uint64_t rows;
};

struct db_rows {
	struct db_buf t[DB_NTABLES];
};

/* The "COPY table (columns) FROM STDIN" statement of t. */
const char *db_rows_copy_sql(enum db_table t);

/*
 * Appends the row record r of (instance, worker) makes in COPY text format to its table's buffer.
 * Text from the journal is reduced to printable ASCII and escaped, so no record can break the COPY
 * stream. late is order_events.late of an order event (db_order_fold_add says which; true when in
 * doubt: the event is then found through the order index); other records ignore it. Returns 0 or
 * -ENOMEM.
 */
int db_rows_add(struct db_rows *rows, const char *instance, uint32_t worker,
		const struct shm_journal_record *r, bool late);

/* Empties every buffer (keeping the memory). */
void db_rows_reset(struct db_rows *rows);

void db_rows_free(struct db_rows *rows);

/* ---- the orders projection of a batch ---- */

/*
 * The orders rows a batch of order events makes, folded in memory: per (worker, order id) the
 * state after its latest event, the first event's time, the quantity filled in the batch,
 * whether a later replace (with a new order id) marked it replaced, and for an order born in the
 * batch the seq range of its events that stay out of the order index. The persister COPYs the
 * result into a staging table and merges it into orders with one INSERT ... ON CONFLICT, instead
 * of having PostgreSQL sort and window the batch's order_events again.
 */
struct db_order_fold;

/* One folded order (the fold's storage; read-only outside orders.c). */
struct db_order_row {
	uint64_t order_id, orig_order_id, venue_order_id;
	uint64_t created_ns, updated_ns, last_seq;
	int64_t price, qty, leaves, cum_qty; /* cum_qty: filled in this batch */
	uint32_t worker, account, instrument;
	uint16_t venue, strategy, reason;
	uint8_t side, status; /* status: enum db_order_status */
	bool has_event; /* false: only marked replaced by another order's replace */
	bool replaced; /* a replace naming it came after its latest event in the batch */
	bool born; /* its first event in the batch is its new-order event: no row can exist yet */
	/* Born orders: the seq of the new-order event and of the last event after it in the batch
	 * within DB_BORN_SPAN records (order_events.late false); 0 for the others. */
	uint64_t born_seq, born_last_seq;
};

/*
 * How far (in the worker's records) an order's events may follow its new-order event and still
 * be found by the seq range orders.born_seq .. born_last_seq instead of the order index: the most
 * index entries that GET /orders/{id} scans for the range is this many per worker.
 */
#define DB_BORN_SPAN 4096

/* orders.status, in the order of the order_status enum of migration 002. */
enum db_order_status {
	DB_ORDER_PENDING_NEW,
	DB_ORDER_OPEN,
	DB_ORDER_PARTIALLY_FILLED,
	DB_ORDER_FILLED,
	DB_ORDER_CANCELED,
	DB_ORDER_REJECTED,
	DB_ORDER_REPLACED,
};

/* An empty fold, or NULL without memory. */
struct db_order_fold *db_order_fold_new(void);

/*
 * Folds record r of worker in (records must come in seq order per worker); records that are not
 * order events are ignored. *late is what order_events.late of r must hold: false when r is its
 * order's new-order event or follows it in this batch within DB_BORN_SPAN records (the order's
 * row then locates it by seq), true otherwise (the partial index order_events_order_idx holds it).
 * Returns 0 or -ENOMEM.
 */
int db_order_fold_add(struct db_order_fold *f, uint32_t worker, const struct shm_journal_record *r,
		      bool *late);

/* The folded orders in first-seen order, *n of them; valid until the next add or reset. */
const struct db_order_row *db_order_fold_rows(const struct db_order_fold *f, size_t *n);

/* How many of the rows are only marks (has_event false). */
size_t db_order_fold_marks(const struct db_order_fold *f);

/*
 * Appends the fold's rows that have an event in COPY text format for db_order_fold_copy_sql()
 * (orders_stage, the staging table the persister makes per connection), with the final status
 * and leaves ('replaced' and 0 once marked). Marks alone are left to the caller. Returns 0 or
 * -ENOMEM.
 */
int db_order_fold_format(const struct db_order_fold *f, const char *instance, struct db_buf *out);

/* Which rows db_order_fold_format_part() appends. */
enum db_fold_part {
	DB_FOLD_ALL,
	DB_FOLD_BORN, /* orders whose new-order event is in the batch */
	DB_FOLD_KNOWN, /* the others: orders the table may already hold */
};

/* db_order_fold_format() for a part of the rows; the text fits either COPY statement. */
int db_order_fold_format_part(const struct db_order_fold *f, const char *instance,
			      enum db_fold_part part, struct db_buf *out);

/* Rows with an event whose order was born in the batch. */
size_t db_order_fold_born(const struct db_order_fold *f);

/* COPY into orders_stage, for the merge. */
const char *db_order_fold_copy_sql(void);

/* COPY straight into orders, for rows born in the batch. */
const char *db_order_fold_born_copy_sql(void);

void db_order_fold_reset(struct db_order_fold *f);

void db_order_fold_free(struct db_order_fold *f);

/* ---- the persister ---- */

struct db_persist_opts {
	const char *conninfo; /* a libpq URL or key=value string */
	const char *journal_dir;
	const char *instance;
	uint32_t batch; /* records per worker per transaction; 0: 65536 */
	uint32_t connections; /* parallel connections, workers split over them; 0: 2 */
	uint32_t idle_us; /* sleep when no worker had records; 0: 2000 */
	bool no_orders; /* skip the orders upsert (the events are still loaded) */
	FILE *log; /* progress and errors; NULL: stderr */
	/* Called by db_persister_run after every pass with the step's result (records, 0 idle,
	 * -errno), so the caller can report readiness and feed a watchdog; NULL: none. */
	void (*on_pass)(void *ctx, int rc);
	void *ctx;
};

struct db_persist_stats {
	uint64_t records; /* committed since start */
	uint64_t transactions;
	uint64_t reconnects;
	uint64_t errors;
	/* Time spent per phase, summed over the connections (so it can exceed the wall time):
	 * reading, formatting and folding records; COPY of the journal tables; the orders staging
	 * COPY and merge; BEGIN, checkpoints and COMMIT. */
	uint64_t read_ns, copy_ns, orders_ns, commit_ns;
	/* Batches whose new orders were already in orders (ids reused: another instance under
	 * the same name, or a restored database) and so went through the merge instead. */
	uint64_t born_conflicts;
};

struct db_persister;

/* Makes a persister (no connection yet). Returns it, or NULL with err (bad options, memory). */
struct db_persister *db_persister_new(const struct db_persist_opts *o, char *err, size_t errlen);

/*
 * One pass: on each connection (worker w goes to connection w % connections, each in its own
 * thread): connects if needed (and then loads each of its workers' checkpoint and positions the
 * reader after it), finds new workers' journals, reads up to batch records per worker and commits
 * them with their checkpoints in one transaction. Returns the records committed (0: nothing new), or
 * -errno with db_persister_error(): -ECONNRESET / -EAGAIN for a connection or transient server
 * failure (call again: it reconnects and resumes from the committed checkpoints), anything else
 * (-EBADMSG a corrupt journal, -EPROTO a file of another ABI, -EIO a statement the schema refused)
 * is permanent. When one connection fails, what the others committed stands (it is in the stats)
 * and the step returns the failure, a permanent one before a transient one.
 */
int db_persister_step(struct db_persister *p);

/*
 * Steps until *stop (sleeping idle_us when idle), reconnecting with a backoff from 50 ms to 2 s
 * after transient failures. Returns 0 once stopped, or the permanent error of a step.
 */
int db_persister_run(struct db_persister *p, const atomic_bool *stop);

/* Records behind the journal ends, committed counts and the like. */
void db_persister_stats(const struct db_persister *p, struct db_persist_stats *out);

const char *db_persister_error(const struct db_persister *p);

/* Closes the connection and the readers. NULL: no-op. */
void db_persister_free(struct db_persister *p);

/* ---- subcommands of tradsys-controlplane ---- */

/* `migrate --database URL [--migrations DIR]`. Returns the process exit status. */
int db_cmd_migrate(int argc, char **argv);

/* `persist --database URL --journal-dir DIR --instance NAME [--batch N] [--connections N]` until
 * SIGTERM/SIGINT.
 * Returns the process exit status (0 after a signal, 1 on a permanent error, 2 on bad usage). */
int db_cmd_persist(int argc, char **argv);

#endif
