/*
 * The persister: tails every worker's journal of one instance and loads the records into
 * PostgreSQL. One transaction per pass moves each worker's checkpoint (guarded by its old value)
 * and COPYs that worker's records, so the database holds exactly the records 1..last_seq of every
 * worker. After any failure the persister forgets everything it has not seen committed, and on
 * reconnect it reads the checkpoints back and repositions its readers after them: a transaction
 * that died with the connection either committed (its checkpoint says so) or left no row.
 */
#include "db.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WORKERS 256
#define READ_CHUNK 1024
#define SCAN_NS 1000000000ull /* look for new workers' journals every second */
#define SYNC_NS 1000000000ull /* fdatasync of the tailed journal files every second */

struct tail {
	struct shm_journal_reader *rd;
	uint64_t committed; /* last seq in the database */
	uint32_t worker;
	uint32_t pending; /* records of this worker in the open transaction */
	uint32_t order_events; /* of which order events */
	bool replaces; /* a replace among them: mark the replaced orders */
};

struct db_persister {
	char *conninfo, *dir, *instance;
	uint32_t batch, idle_us;
	bool no_orders;
	FILE *log;
	void (*on_pass)(void *ctx, int rc);
	void *ctx;
	PGconn *conn;
	struct tail tails[MAX_WORKERS];
	size_t ntails;
	uint64_t next_scan_ns, next_sync_ns;
	struct shm_journal_record *recs;
	struct db_rows rows;
	struct db_persist_stats st;
	char err[2048];
};

/*
 * One scan of the batch's events: the latest event of each order gives its state, window sums
 * over the order give its first time and the quantity filled in this batch. No join, so the plan
 * stays a range scan and a sort even when the table's statistics lag the rows just copied (a
 * join of the two halves, planned on stale statistics, took seconds per batch).
 */
static const char upsert_sql[] =
	"INSERT INTO orders AS o (instance, worker, order_id, orig_order_id, venue_order_id, "
	"account_id, instrument_id, venue_id, strategy_id, side, price, qty, leaves, cum_qty, "
	"status, reason, created_ns, updated_ns, last_seq) "
	"SELECT DISTINCT ON (order_id) instance, worker, order_id, orig_order_id, venue_order_id, "
	"account_id, instrument_id, venue_id, strategy_id, side, price, qty, leaves, "
	"sum(CASE WHEN event_type = 'fill' THEN last_qty ELSE 0 END) OVER w, "
	"(CASE event_type WHEN 'new' THEN 'pending_new' WHEN 'ack' THEN 'open' "
	"WHEN 'replace' THEN 'open' WHEN 'reject' THEN 'rejected' WHEN 'cancel' THEN 'canceled' "
	"ELSE CASE WHEN leaves = 0 THEN 'filled' ELSE 'partially_filled' END END)::order_status, "
	"reason, min(wall_ns) OVER w, wall_ns, seq "
	"FROM order_events WHERE instance = $1 AND worker = $2 AND seq > $3 AND seq <= $4 "
	"WINDOW w AS (PARTITION BY order_id) "
	"ORDER BY order_id, seq DESC "
	"ON CONFLICT (instance, worker, order_id) DO UPDATE SET "
	"venue_order_id = CASE WHEN EXCLUDED.venue_order_id <> 0 THEN EXCLUDED.venue_order_id "
	"ELSE o.venue_order_id END, price = EXCLUDED.price, qty = EXCLUDED.qty, "
	"leaves = EXCLUDED.leaves, cum_qty = o.cum_qty + EXCLUDED.cum_qty, status = EXCLUDED.status, "
	"reason = EXCLUDED.reason, updated_ns = EXCLUDED.updated_ns, last_seq = EXCLUDED.last_seq";

static const char replaced_sql[] =
	"UPDATE orders o SET status = 'replaced', leaves = 0 FROM order_events e "
	"WHERE e.instance = $1 AND e.worker = $2 AND e.seq > $3 AND e.seq <= $4 "
	"AND e.event_type = 'replace' AND o.instance = $1 AND o.worker = $2 "
	"AND o.order_id = e.orig_order_id";

static const char checkpoint_sql[] =
	"UPDATE journal_checkpoints SET last_seq = $3, updated_at = now() "
	"WHERE instance = $1 AND worker = $2 AND last_seq = $4";

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct db_persister *db_persister_new(const struct db_persist_opts *o, char *err, size_t errlen)
{
	struct db_persister *p;

	if (!o->conninfo || !o->journal_dir || !shm_journal_instance_ok(o->instance)) {
		snprintf(err, errlen,
			 "persister: need a database, a journal directory and a valid "
			 "instance name (1 to 31 of A-Z a-z 0-9 . _ -)");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	p->conninfo = strdup(o->conninfo);
	p->dir = strdup(o->journal_dir);
	p->instance = strdup(o->instance);
	p->batch = o->batch ? o->batch : 8192;
	p->idle_us = o->idle_us ? o->idle_us : 2000;
	p->no_orders = o->no_orders;
	p->log = o->log ? o->log : stderr;
	p->on_pass = o->on_pass;
	p->ctx = o->ctx;
	p->recs = malloc(READ_CHUNK * sizeof(*p->recs));
	if (!p->conninfo || !p->dir || !p->instance || !p->recs) {
		db_persister_free(p);
		goto nomem;
	}
	return p;
nomem:
	snprintf(err, errlen, "persister: out of memory");
	return NULL;
}

static void drop_tails(struct db_persister *p)
{
	for (size_t i = 0; i < p->ntails; i++)
		shm_journal_reader_close(p->tails[i].rd);
	p->ntails = 0;
	p->next_scan_ns = 0;
}

/* Forgets the connection and every uncommitted position. */
static void disconnect(struct db_persister *p)
{
	drop_tails(p);
	PQfinish(p->conn);
	p->conn = NULL;
}

/*
 * Turns a failed result into an errno and a message: -ECONNRESET when the connection is gone,
 * -EAGAIN for server states that pass (shutdown, recovery, serialization, resources), -EIO for
 * the rest, which retrying will not fix.
 */
static int fail(struct db_persister *p, PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	int rc;

	if (!msg || !*msg)
		msg = PQerrorMessage(p->conn);
	if (PQstatus(p->conn) != CONNECTION_OK || !state)
		rc = -ECONNRESET;
	else if (!strncmp(state, "08", 2) || !strncmp(state, "57", 2) || !strncmp(state, "40", 2) ||
		 !strncmp(state, "53", 2) || !strcmp(state, "55P03"))
		rc = -EAGAIN;
	else
		rc = -EIO;
	snprintf(p->err, sizeof(p->err), "%s: %s%s%s", what, state ? state : "", state ? " " : "",
		 msg);
	/* libpq messages end in a newline; the caller adds its own. */
	for (size_t n = strlen(p->err); n && (p->err[n - 1] == '\n' || p->err[n - 1] == ' '); n--)
		p->err[n - 1] = '\0';
	PQclear(res);
	return rc;
}

static int exec_cmd(struct db_persister *p, const char *sql, const char *what)
{
	PGresult *res = PQexec(p->conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail(p, res, what);
	PQclear(res);
	return 0;
}

static int prepare(struct db_persister *p, const char *name, const char *sql)
{
	PGresult *res = PQprepare(p->conn, name, sql, 0, NULL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail(p, res, name);
	PQclear(res);
	return 0;
}

static int connect_db(struct db_persister *p)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *vals[] = { p->conninfo, "tradsys-persister", "5", NULL };
	int rc;

	p->conn = PQconnectdbParams(keys, vals, 1);
	if (!p->conn) {
		snprintf(p->err, sizeof(p->err), "connect: out of memory");
		return -ENOMEM;
	}
	if (PQstatus(p->conn) != CONNECTION_OK) {
		snprintf(p->err, sizeof(p->err), "connect: %s", PQerrorMessage(p->conn));
		p->err[strcspn(p->err, "\n")] = '\0';
		disconnect(p);
		return -ECONNRESET;
	}
	/* The checkpoint update must wait for a concurrent persister's transaction rather than
	 * fail, and commits must be durable: both are the server defaults, set here so that a
	 * site-wide setting cannot weaken "exactly once". The prepared statements work on a seq
	 * range whose width only the actual values tell: a generic plan, blind to it, may scan
	 * the whole table, so every execution is planned with its values. */
	rc = exec_cmd(p,
		      "SET synchronous_commit = on; SET lock_timeout = 0; "
		      "SET plan_cache_mode = force_custom_plan",
		      "session settings");
	if (!rc)
		rc = prepare(p, "checkpoint", checkpoint_sql);
	if (!rc)
		rc = prepare(p, "orders_upsert", upsert_sql);
	if (!rc)
		rc = prepare(p, "orders_replaced", replaced_sql);
	if (rc) {
		disconnect(p);
		return rc;
	}
	p->st.reconnects++;
	return 0;
}

/* Adds worker's tail at the checkpoint the database has (making its row if it is new). */
static int add_tail(struct db_persister *p, uint32_t worker)
{
	char w[16], e[512];
	const char *params[2] = { p->instance, w };
	struct tail *t = &p->tails[p->ntails];
	PGresult *res;

	snprintf(w, sizeof(w), "%u", worker);
	res = PQexecParams(p->conn,
			   "INSERT INTO journal_checkpoints (instance, worker) VALUES ($1, $2) "
			   "ON CONFLICT (instance, worker) DO NOTHING",
			   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail(p, res, "journal_checkpoints insert");
	PQclear(res);
	res = PQexecParams(p->conn,
			   "SELECT last_seq FROM journal_checkpoints WHERE instance = $1 AND "
			   "worker = $2",
			   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return fail(p, res, "journal_checkpoints select");
	memset(t, 0, sizeof(*t));
	t->worker = worker;
	t->committed = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	t->rd = shm_journal_reader_open(p->dir, p->instance, worker, t->committed + 1, e,
					sizeof(e));
	if (!t->rd) {
		snprintf(p->err, sizeof(p->err), "%s", e);
		return -ENOMEM;
	}
	fprintf(p->log, "persist: worker %u resumes after seq %llu\n", worker,
		(unsigned long long)t->committed);
	p->ntails++;
	return 0;
}

/* Finds workers whose journals appeared since the last look. */
static int discover(struct db_persister *p)
{
	uint32_t ids[MAX_WORKERS];
	int n = shm_journal_list_workers(p->dir, p->instance, ids, MAX_WORKERS, p->err,
					 sizeof(p->err));
	int rc;

	if (n < 0)
		return n;
	for (int i = 0; i < n && i < MAX_WORKERS; i++) {
		bool known = false;
		for (size_t j = 0; j < p->ntails && !known; j++)
			known = p->tails[j].worker == ids[i];
		if (known || p->ntails == MAX_WORKERS)
			continue;
		if ((rc = add_tail(p, ids[i])))
			return rc;
	}
	return 0;
}

/* Reads up to batch records of t and formats them. Returns the count or -errno. */
static int gather(struct db_persister *p, struct tail *t)
{
	uint32_t total = 0;

	t->pending = t->order_events = 0;
	t->replaces = false;
	while (total < p->batch) {
		unsigned int want = p->batch - total < READ_CHUNK ? p->batch - total : READ_CHUNK;
		int got = shm_journal_reader_read(t->rd, p->recs, want);

		if (got < 0) {
			snprintf(p->err, sizeof(p->err), "%s", shm_journal_reader_error(t->rd));
			return got;
		}
		for (int i = 0; i < got; i++) {
			const struct shm_journal_record *r = &p->recs[i];
			if (db_rows_add(&p->rows, p->instance, t->worker, r)) {
				snprintf(p->err, sizeof(p->err), "persist: out of memory");
				return -ENOMEM;
			}
			if (r->type >= SHM_JOURNAL_ORDER_NEW &&
			    r->type <= SHM_JOURNAL_ORDER_REPLACE)
				t->order_events++;
			if (r->type == SHM_JOURNAL_ORDER_REPLACE)
				t->replaces = true;
		}
		total += (uint32_t)got;
		if ((unsigned int)got < want)
			break;
	}
	t->pending = total;
	return (int)total;
}

static int copy_table(struct db_persister *p, enum db_table tb)
{
	struct db_buf *b = &p->rows.t[tb];
	PGresult *res;

	if (b->rows == 0)
		return 0;
	res = PQexec(p->conn, db_rows_copy_sql(tb));
	if (PQresultStatus(res) != PGRES_COPY_IN)
		return fail(p, res, "COPY");
	PQclear(res);
	if (PQputCopyData(p->conn, b->p, (int)b->len) != 1 || PQputCopyEnd(p->conn, NULL) != 1)
		return fail(p, NULL, "COPY data");
	res = PQgetResult(p->conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail(p, res, db_rows_copy_sql(tb));
	PQclear(res);
	while ((res = PQgetResult(p->conn)) != NULL)
		PQclear(res);
	return 0;
}

/*
 * Runs a prepared statement with ($1 instance, $2 worker, $3 lo, $4 hi); expect: how many rows it
 * must touch, or -1 for any (only the checkpoint update has an expectation, and its $4 is the old
 * checkpoint).
 */
static int exec_range(struct db_persister *p, const char *stmt, const struct tail *t, uint64_t lo,
		      uint64_t hi, int expect)
{
	char w[16], a[24], b[24];
	const char *params[4] = { p->instance, w, a, b };
	PGresult *res;

	snprintf(w, sizeof(w), "%u", t->worker);
	snprintf(a, sizeof(a), "%llu", (unsigned long long)lo);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)hi);
	res = PQexecPrepared(p->conn, stmt, 4, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail(p, res, stmt);
	if (expect >= 0 && atoi(PQcmdTuples(res)) != expect) {
		snprintf(p->err, sizeof(p->err),
			 "checkpoint of '%s' worker %u moved from %llu under us (the last commit "
			 "of a killed persister landed late, or another persister runs for this "
			 "instance); resynchronising",
			 p->instance, t->worker, (unsigned long long)hi);
		PQclear(res);
		return -EAGAIN;
	}
	PQclear(res);
	return 0;
}

/* One transaction over every tail with pending records. */
static int commit_batch(struct db_persister *p)
{
	int rc = exec_cmd(p, "BEGIN", "BEGIN");

	/* Checkpoints first: the row locks make a second persister wait here, and the guard on
	 * the old value makes it fail instead of loading the same records again. */
	for (size_t i = 0; i < p->ntails && !rc; i++) {
		struct tail *t = &p->tails[i];
		if (t->pending)
			rc = exec_range(p, "checkpoint", t, t->committed + t->pending, t->committed,
					1);
	}
	for (int tb = 0; tb < DB_NTABLES && !rc; tb++)
		rc = copy_table(p, (enum db_table)tb);
	for (size_t i = 0; i < p->ntails && !rc && !p->no_orders; i++) {
		struct tail *t = &p->tails[i];
		if (!t->order_events)
			continue;
		rc = exec_range(p, "orders_upsert", t, t->committed, t->committed + t->pending, -1);
		if (!rc && t->replaces)
			rc = exec_range(p, "orders_replaced", t, t->committed,
					t->committed + t->pending, -1);
	}
	if (!rc)
		rc = exec_cmd(p, "COMMIT", "COMMIT");
	return rc;
}

int db_persister_step(struct db_persister *p)
{
	uint64_t now = mono_ns(), total = 0;
	int rc;

	if (!p->conn && (rc = connect_db(p)))
		return rc;
	if (now >= p->next_scan_ns) {
		if ((rc = discover(p)))
			goto fail;
		p->next_scan_ns = now + SCAN_NS;
	}
	db_rows_reset(&p->rows);
	for (size_t i = 0; i < p->ntails; i++) {
		rc = gather(p, &p->tails[i]);
		if (rc < 0)
			goto fail;
		total += (uint64_t)rc;
	}
	/* The dataplane never syncs its journal on the hot path; this bounds what a power loss
	 * can take from records not yet committed here to about a second. */
	if (now >= p->next_sync_ns) {
		for (size_t i = 0; i < p->ntails; i++)
			shm_journal_reader_sync(p->tails[i].rd);
		p->next_sync_ns = now + SYNC_NS;
	}
	if (total == 0)
		return 0;
	rc = commit_batch(p);
	if (rc)
		goto fail;
	for (size_t i = 0; i < p->ntails; i++) {
		p->tails[i].committed += p->tails[i].pending;
		p->tails[i].pending = 0;
	}
	p->st.records += total;
	p->st.transactions++;
	return total > INT32_MAX ? INT32_MAX : (int)total;
fail:
	/* Whatever was read but not committed is read again from the checkpoints. */
	p->st.errors++;
	disconnect(p);
	return rc;
}

static void sleep_ns(uint64_t ns, const atomic_bool *stop)
{
	while (ns && !atomic_load(stop)) {
		uint64_t slice = ns < 100000000ull ? ns : 100000000ull;
		struct timespec ts = { (time_t)(slice / 1000000000ull),
				       (long)(slice % 1000000000ull) };
		nanosleep(&ts, NULL);
		ns -= slice;
	}
}

int db_persister_run(struct db_persister *p, const atomic_bool *stop)
{
	uint64_t backoff = 50000000ull;
	bool failing = false;

	while (!atomic_load(stop)) {
		int rc = db_persister_step(p);

		if (p->on_pass)
			p->on_pass(p->ctx, rc);
		if (rc > 0) {
			if (failing)
				fprintf(p->log, "persist: recovered\n");
			failing = false;
			backoff = 50000000ull;
			continue;
		}
		if (rc == 0) {
			sleep_ns((uint64_t)p->idle_us * 1000, stop);
			continue;
		}
		if (rc != -ECONNRESET && rc != -EAGAIN)
			return rc;
		if (!failing)
			fprintf(p->log, "persist: %s; retrying\n", p->err);
		failing = true;
		sleep_ns(backoff, stop);
		backoff = backoff * 2 > 2000000000ull ? 2000000000ull : backoff * 2;
	}
	return 0;
}

void db_persister_stats(const struct db_persister *p, struct db_persist_stats *out)
{
	*out = p->st;
}

const char *db_persister_error(const struct db_persister *p)
{
	return p->err;
}

void db_persister_free(struct db_persister *p)
{
	if (!p)
		return;
	disconnect(p);
	db_rows_free(&p->rows);
	free(p->recs);
	free(p->conninfo);
	free(p->dir);
	free(p->instance);
	free(p);
}
