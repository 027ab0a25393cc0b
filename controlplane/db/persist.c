/*
 * The persister: tails every worker's journal of one instance and loads the records into
 * PostgreSQL. The workers are split over a few connections ("lanes", worker w on lane
 * w % connections), each driven by its own thread so the server loads them in parallel. One
 * transaction per lane and pass moves each of its workers' checkpoints (guarded by the old value)
 * and COPYs those workers' records, so the database holds exactly the records 1..last_seq of every
 * worker. After any failure a lane forgets everything it has not seen committed, and on reconnect
 * it reads its checkpoints back and repositions its readers after them: a transaction that died
 * with the connection either committed (its checkpoint says so) or left no row.
 */
#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WORKERS 256
#define MAX_LANES 16
#define READ_CHUNK 1024
#define SCAN_NS 1000000000ull /* look for new workers' journals every second */
#define SYNC_NS 1000000000ull /* fdatasync of the tailed journal files every second */

struct tail {
	struct shm_journal_reader *rd;
	uint64_t committed; /* last seq in the database */
	uint32_t worker;
	uint32_t pending; /* records of this worker in the open transaction */
};

/* One connection, its workers and its thread (lane 0 runs in the caller's). */
struct lane {
	struct db_persister *p;
	unsigned int idx;
	PGconn *conn;
	struct tail tails[MAX_WORKERS];
	size_t ntails;
	uint64_t next_scan_ns, next_sync_ns;
	struct shm_journal_record *recs;
	struct db_rows rows;
	struct db_order_fold *fold;
	struct db_buf stage; /* the fold as COPY rows of orders_stage */
	struct db_persist_stats st;
	int rc; /* of its last pass */
	uint64_t gen; /* the last pass it ran */
	pthread_t thread;
	bool started;
	char err[2048];
};

struct db_persister {
	char *conninfo, *dir, *instance;
	uint32_t batch, idle_us;
	bool no_orders;
	FILE *log;
	void (*on_pass)(void *ctx, int rc);
	void *ctx;
	struct lane lanes[MAX_LANES];
	unsigned int nlanes;
	/* Passes: the caller bumps gen and wakes the lane threads, runs lane 0, waits for done. */
	pthread_mutex_t mu;
	pthread_cond_t go, finished;
	uint64_t gen;
	unsigned int done;
	bool quit;
	char err[2048];
};

/* The orders staging table, one per connection, emptied by every commit. */
static const char stage_sql[] =
	"CREATE TEMPORARY TABLE orders_stage (instance text COLLATE \"C\" NOT NULL, "
	"worker integer NOT NULL, order_id bigint NOT NULL, orig_order_id bigint NOT NULL, "
	"venue_order_id bigint NOT NULL, account_id bigint NOT NULL, instrument_id bigint NOT NULL, "
	"venue_id integer NOT NULL, strategy_id integer NOT NULL, side char(1) NOT NULL, "
	"price bigint NOT NULL, qty bigint NOT NULL, leaves bigint NOT NULL, "
	"cum_qty bigint NOT NULL, status order_status NOT NULL, reason integer NOT NULL, "
	"created_ns bigint NOT NULL, updated_ns bigint NOT NULL, last_seq bigint NOT NULL, "
	"born_seq bigint NOT NULL, born_last_seq bigint NOT NULL) "
	"ON COMMIT DELETE ROWS";

/*
 * The batch's orders, folded in C (orders.c), merged in one statement: a new order is inserted,
 * a known one takes the latest state, adds the batch's filled quantity and keeps its first time,
 * identity and born range; the venue's reference changes only when the batch knows it.
 */
static const char merge_sql[] =
	"INSERT INTO orders AS o (instance, worker, order_id, orig_order_id, venue_order_id, "
	"account_id, instrument_id, venue_id, strategy_id, side, price, qty, leaves, cum_qty, "
	"status, reason, created_ns, updated_ns, last_seq, born_seq, born_last_seq) "
	"SELECT instance, worker, order_id, orig_order_id, venue_order_id, account_id, "
	"instrument_id, venue_id, strategy_id, side, price, qty, leaves, cum_qty, status, reason, "
	"created_ns, updated_ns, last_seq, born_seq, born_last_seq FROM orders_stage "
	"ON CONFLICT (instance, worker, order_id) DO UPDATE SET "
	"venue_order_id = CASE WHEN EXCLUDED.venue_order_id <> 0 THEN EXCLUDED.venue_order_id "
	"ELSE o.venue_order_id END, price = EXCLUDED.price, qty = EXCLUDED.qty, "
	"leaves = EXCLUDED.leaves, cum_qty = o.cum_qty + EXCLUDED.cum_qty, status = EXCLUDED.status, "
	"reason = EXCLUDED.reason, updated_ns = EXCLUDED.updated_ns, last_seq = EXCLUDED.last_seq";

/*
 * Orders of a worker replaced in this batch whose own events all came in earlier ones: rare, so
 * their ids come as an array the primary key looks up, never a join the planner could turn into
 * a scan of orders.
 */
static const char marks_sql[] =
	"UPDATE orders SET status = 'replaced', leaves = 0 "
	"WHERE instance = $1 AND worker = $2 AND order_id = ANY ($3::bigint[])";

/*
 * A batch whose born orders had to be merged (their ids already had rows): its order events go
 * into the order index after all, since a reused id's row keeps the born range of its first life.
 */
static const char late_sql[] =
	"UPDATE order_events SET late = true WHERE seq > $3 AND seq <= $4 AND worker = $2 AND "
	"instance = $1 AND NOT late";

static const char checkpoint_sql[] =
	"UPDATE journal_checkpoints SET last_seq = $3, updated_at = now() "
	"WHERE instance = $1 AND worker = $2 AND last_seq = $4";

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *lane_thread(void *arg);

struct db_persister *db_persister_new(const struct db_persist_opts *o, char *err, size_t errlen)
{
	struct db_persister *p;

	if (!o->conninfo || !o->journal_dir || !shm_journal_instance_ok(o->instance)) {
		snprintf(err, errlen,
			 "persister: need a database, a journal directory and a valid "
			 "instance name (1 to 31 of A-Z a-z 0-9 . _ -)");
		return NULL;
	}
	if (o->connections > MAX_LANES) {
		snprintf(err, errlen, "persister: %u connections, at most %d", o->connections,
			 MAX_LANES);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->finished, NULL);
	p->conninfo = strdup(o->conninfo);
	p->dir = strdup(o->journal_dir);
	p->instance = strdup(o->instance);
	p->batch = o->batch ? o->batch : 65536;
	p->idle_us = o->idle_us ? o->idle_us : 2000;
	p->nlanes = o->connections ? o->connections : 2;
	p->no_orders = o->no_orders;
	p->log = o->log ? o->log : stderr;
	p->on_pass = o->on_pass;
	p->ctx = o->ctx;
	if (!p->conninfo || !p->dir || !p->instance)
		goto fail;
	for (unsigned int i = 0; i < p->nlanes; i++) {
		struct lane *l = &p->lanes[i];
		l->p = p;
		l->idx = i;
		l->recs = malloc(READ_CHUNK * sizeof(*l->recs));
		l->fold = db_order_fold_new();
		if (!l->recs || !l->fold)
			goto fail;
		if (i > 0) {
			if (pthread_create(&l->thread, NULL, lane_thread, l))
				goto fail;
			l->started = true;
		}
	}
	return p;
fail:
	db_persister_free(p);
nomem:
	snprintf(err, errlen, "persister: out of memory");
	return NULL;
}

static void drop_tails(struct lane *l)
{
	for (size_t i = 0; i < l->ntails; i++)
		shm_journal_reader_close(l->tails[i].rd);
	l->ntails = 0;
	l->next_scan_ns = 0;
}

/* Forgets the connection and every uncommitted position. */
static void disconnect(struct lane *l)
{
	drop_tails(l);
	PQfinish(l->conn);
	l->conn = NULL;
}

/*
 * Turns a failed result into an errno and a message: -ECONNRESET when the connection is gone,
 * -EAGAIN for server states that pass (shutdown, recovery, serialization, resources), -EIO for
 * the rest, which retrying will not fix.
 */
static int fail(struct lane *l, PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	int rc;

	if (!msg || !*msg)
		msg = PQerrorMessage(l->conn);
	if (PQstatus(l->conn) != CONNECTION_OK || !state)
		rc = -ECONNRESET;
	else if (!strncmp(state, "08", 2) || !strncmp(state, "57", 2) || !strncmp(state, "40", 2) ||
		 !strncmp(state, "53", 2) || !strcmp(state, "55P03"))
		rc = -EAGAIN;
	else
		rc = -EIO;
	snprintf(l->err, sizeof(l->err), "%s: %s%s%s", what, state ? state : "", state ? " " : "",
		 msg);
	/* libpq messages end in a newline; the caller adds its own. */
	for (size_t n = strlen(l->err); n && (l->err[n - 1] == '\n' || l->err[n - 1] == ' '); n--)
		l->err[n - 1] = '\0';
	PQclear(res);
	return rc;
}

static int exec_cmd(struct lane *l, const char *sql, const char *what)
{
	PGresult *res = PQexec(l->conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail(l, res, what);
	PQclear(res);
	return 0;
}

static int prepare(struct lane *l, const char *name, const char *sql)
{
	PGresult *res = PQprepare(l->conn, name, sql, 0, NULL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail(l, res, name);
	PQclear(res);
	return 0;
}

static int connect_db(struct lane *l)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *vals[] = { l->p->conninfo, "tradsys-persister", "5", NULL };
	int rc;

	l->conn = PQconnectdbParams(keys, vals, 1);
	if (!l->conn) {
		snprintf(l->err, sizeof(l->err), "connect: out of memory");
		return -ENOMEM;
	}
	if (PQstatus(l->conn) != CONNECTION_OK) {
		snprintf(l->err, sizeof(l->err), "connect: %s", PQerrorMessage(l->conn));
		l->err[strcspn(l->err, "\n")] = '\0';
		disconnect(l);
		return -ECONNRESET;
	}
	/* The checkpoint update must wait for a concurrent persister's transaction rather than
	 * fail, and commits must be durable: both are the server defaults, set here so that a
	 * site-wide setting cannot weaken "exactly once". */
	rc = exec_cmd(l, "SET synchronous_commit = on; SET lock_timeout = 0", "session settings");
	if (!rc)
		rc = exec_cmd(l, stage_sql, "orders_stage");
	if (!rc)
		rc = prepare(l, "checkpoint", checkpoint_sql);
	if (!rc)
		rc = prepare(l, "orders_merge", merge_sql);
	if (!rc)
		rc = prepare(l, "orders_marks", marks_sql);
	if (!rc)
		rc = prepare(l, "events_late", late_sql);
	if (rc) {
		disconnect(l);
		return rc;
	}
	l->st.reconnects++;
	return 0;
}

/* Adds worker's tail at the checkpoint the database has (making its row if it is new). */
static int add_tail(struct lane *l, uint32_t worker)
{
	struct db_persister *p = l->p;
	char w[16], e[512];
	const char *params[2] = { p->instance, w };
	struct tail *t = &l->tails[l->ntails];
	PGresult *res;

	snprintf(w, sizeof(w), "%u", worker);
	res = PQexecParams(l->conn,
			   "INSERT INTO journal_checkpoints (instance, worker) VALUES ($1, $2) "
			   "ON CONFLICT (instance, worker) DO NOTHING",
			   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail(l, res, "journal_checkpoints insert");
	PQclear(res);
	res = PQexecParams(l->conn,
			   "SELECT last_seq FROM journal_checkpoints WHERE instance = $1 AND "
			   "worker = $2",
			   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return fail(l, res, "journal_checkpoints select");
	memset(t, 0, sizeof(*t));
	t->worker = worker;
	t->committed = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	t->rd = shm_journal_reader_open(p->dir, p->instance, worker, t->committed + 1, e,
					sizeof(e));
	if (!t->rd) {
		snprintf(l->err, sizeof(l->err), "%s", e);
		return -ENOMEM;
	}
	fprintf(p->log, "persist: worker %u resumes after seq %llu\n", worker,
		(unsigned long long)t->committed);
	l->ntails++;
	return 0;
}

/* Finds this lane's workers whose journals appeared since the last look. */
static int discover(struct lane *l)
{
	struct db_persister *p = l->p;
	uint32_t ids[MAX_WORKERS];
	int n = shm_journal_list_workers(p->dir, p->instance, ids, MAX_WORKERS, l->err,
					 sizeof(l->err));
	int rc;

	if (n < 0)
		return n;
	for (int i = 0; i < n && i < MAX_WORKERS; i++) {
		bool known = false;
		if (ids[i] % p->nlanes != l->idx)
			continue;
		for (size_t j = 0; j < l->ntails && !known; j++)
			known = l->tails[j].worker == ids[i];
		if (known || l->ntails == MAX_WORKERS)
			continue;
		if ((rc = add_tail(l, ids[i])))
			return rc;
	}
	return 0;
}

/* Reads up to batch records of t, formats and folds them. Returns the count or -errno. */
static int gather(struct lane *l, struct tail *t)
{
	struct db_persister *p = l->p;
	uint32_t total = 0;

	t->pending = 0;
	while (total < p->batch) {
		unsigned int want = p->batch - total < READ_CHUNK ? p->batch - total : READ_CHUNK;
		int got = shm_journal_reader_read(t->rd, l->recs, want);

		if (got < 0) {
			snprintf(l->err, sizeof(l->err), "%s", shm_journal_reader_error(t->rd));
			return got;
		}
		for (int i = 0; i < got; i++) {
			const struct shm_journal_record *r = &l->recs[i];
			bool late = true;
			/* The fold first: it says whether the event goes into the order index. */
			if ((!p->no_orders && db_order_fold_add(l->fold, t->worker, r, &late)) ||
			    db_rows_add(&l->rows, p->instance, t->worker, r, late)) {
				snprintf(l->err, sizeof(l->err), "persist: out of memory");
				return -ENOMEM;
			}
		}
		total += (uint32_t)got;
		if ((unsigned int)got < want)
			break;
	}
	t->pending = total;
	return (int)total;
}

/*
 * COPYs b with sql. Returns 0, -errno, or 1 when the COPY failed with SQLSTATE tolerate (not
 * NULL): the transaction is then in error, for the caller to roll back to a savepoint.
 */
static int copy_rows_or(struct lane *l, const char *sql, const struct db_buf *b,
			const char *tolerate)
{
	PGresult *res;
	int rc = 0;

	if (b->rows == 0)
		return 0;
	res = PQexec(l->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		return fail(l, res, "COPY");
	PQclear(res);
	if (PQputCopyData(l->conn, b->p, (int)b->len) != 1 || PQputCopyEnd(l->conn, NULL) != 1)
		return fail(l, NULL, "COPY data");
	res = PQgetResult(l->conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (!tolerate || !state || strcmp(state, tolerate) != 0)
			return fail(l, res, sql);
		rc = 1;
	}
	PQclear(res);
	while ((res = PQgetResult(l->conn)) != NULL)
		PQclear(res);
	return rc;
}

static int copy_rows(struct lane *l, const char *sql, const struct db_buf *b)
{
	return copy_rows_or(l, sql, b, NULL);
}

/* Moves t's checkpoint from t->committed to t->committed + t->pending, or fails if it moved. */
static int move_checkpoint(struct lane *l, const struct tail *t)
{
	char w[16], a[24], b[24];
	const char *params[4] = { l->p->instance, w, a, b };
	PGresult *res;

	snprintf(w, sizeof(w), "%u", t->worker);
	snprintf(a, sizeof(a), "%llu", (unsigned long long)(t->committed + t->pending));
	snprintf(b, sizeof(b), "%llu", (unsigned long long)t->committed);
	res = PQexecPrepared(l->conn, "checkpoint", 4, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail(l, res, "checkpoint");
	if (atoi(PQcmdTuples(res)) != 1) {
		snprintf(l->err, sizeof(l->err),
			 "checkpoint of '%s' worker %u moved from %llu under us (the last commit "
			 "of a killed persister landed late, or another persister runs for this "
			 "instance); resynchronising",
			 l->p->instance, t->worker, (unsigned long long)t->committed);
		PQclear(res);
		return -EAGAIN;
	}
	PQclear(res);
	return 0;
}

static int exec_prepared(struct lane *l, const char *stmt, int n, const char *const *params)
{
	PGresult *res = PQexecPrepared(l->conn, stmt, n, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail(l, res, stmt);
	PQclear(res);
	return 0;
}

/* Marks the orders of worker that the batch only names as replaced (an array literal of ids). */
static int mark_replaced(struct lane *l, uint32_t worker)
{
	const struct db_order_row *rows;
	char w[16], *ids, *q;
	const char *params[3] = { l->p->instance, w, NULL };
	size_t n, k = 0;
	int rc;

	rows = db_order_fold_rows(l->fold, &n);
	if (!(ids = malloc(db_order_fold_marks(l->fold) * 24 + 3))) {
		snprintf(l->err, sizeof(l->err), "persist: out of memory");
		return -ENOMEM;
	}
	q = ids;
	*q++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (rows[i].has_event || rows[i].worker != worker)
			continue;
		q += sprintf(q, "%s%lld", k++ ? "," : "", (long long)rows[i].order_id);
	}
	*q++ = '}';
	*q = '\0';
	snprintf(w, sizeof(w), "%u", worker);
	params[2] = ids;
	rc = k ? exec_prepared(l, "orders_marks", 3, params) : 0;
	free(ids);
	return rc;
}

/*
 * The orders born in this batch (their new-order event is in it) cannot have a row yet, so they
 * go straight into orders with COPY: no staging, no conflict arbitration, which is most of what
 * the merge costs per row. Under a savepoint: should one exist after all (order ids reused by
 * another dataplane under this instance name, a database restored over a newer one), the COPY
 * fails on the primary key and is undone, those orders go through the merge with the rest, and the
 * batch's order events are put into the order index (late), which is where GET /orders/{id} then
 * finds them. Returns 0 when they are in, 1 when the merge must take them, or -errno.
 */
static int copy_born(struct lane *l)
{
	int rc;

	l->stage.len = 0;
	l->stage.rows = 0;
	if (db_order_fold_format_part(l->fold, l->p->instance, DB_FOLD_BORN, &l->stage)) {
		snprintf(l->err, sizeof(l->err), "persist: out of memory");
		return -ENOMEM;
	}
	if ((rc = exec_cmd(l, "SAVEPOINT born", "SAVEPOINT")))
		return rc;
	/* 23505: unique_violation. */
	rc = copy_rows_or(l, db_order_fold_born_copy_sql(), &l->stage, "23505");
	if (rc == 0)
		return exec_cmd(l, "RELEASE SAVEPOINT born", "RELEASE SAVEPOINT");
	if (rc < 0)
		return rc;
	if ((rc = exec_cmd(l, "ROLLBACK TO SAVEPOINT born", "ROLLBACK TO SAVEPOINT")))
		return rc;
	for (size_t i = 0; i < l->ntails && !rc; i++) {
		const struct tail *t = &l->tails[i];
		char w[16], a[24], b[24];
		const char *params[4] = { l->p->instance, w, a, b };

		if (!t->pending)
			continue;
		snprintf(w, sizeof(w), "%u", t->worker);
		snprintf(a, sizeof(a), "%llu", (unsigned long long)t->committed);
		snprintf(b, sizeof(b), "%llu", (unsigned long long)(t->committed + t->pending));
		rc = exec_prepared(l, "events_late", 4, params);
	}
	if (rc)
		return rc;
	l->st.born_conflicts++;
	fprintf(l->p->log,
		"persist: orders of this batch already have rows (order ids reused under instance "
		"'%s'?): merging them instead\n",
		l->p->instance);
	return 1;
}

/* The batch's orders: the born ones by COPY, the rest COPYed into orders_stage and merged, then
 * the marks of the replaced. */
static int merge_orders(struct lane *l)
{
	size_t n, marks = db_order_fold_marks(l->fold), born = db_order_fold_born(l->fold);
	enum db_fold_part rest = DB_FOLD_ALL;
	int rc = 0;

	db_order_fold_rows(l->fold, &n);
	if (born) {
		rc = copy_born(l);
		if (rc < 0)
			return rc;
		if (rc == 0)
			rest = DB_FOLD_KNOWN;
		rc = 0;
	}
	if (n > marks + (rest == DB_FOLD_KNOWN ? born : 0)) {
		l->stage.len = 0;
		l->stage.rows = 0;
		if (db_order_fold_format_part(l->fold, l->p->instance, rest, &l->stage)) {
			snprintf(l->err, sizeof(l->err), "persist: out of memory");
			return -ENOMEM;
		}
		rc = copy_rows(l, db_order_fold_copy_sql(), &l->stage);
		if (!rc)
			rc = exec_prepared(l, "orders_merge", 0, NULL);
	}
	for (size_t i = 0; i < l->ntails && marks && !rc; i++)
		if (l->tails[i].pending)
			rc = mark_replaced(l, l->tails[i].worker);
	return rc;
}

/* One transaction over every tail of l with pending records. */
static int commit_batch(struct lane *l)
{
	uint64_t t0 = mono_ns(), t1, t2, t3;
	int rc = exec_cmd(l, "BEGIN", "BEGIN");

	/* Checkpoints first: the row locks make a second persister wait here, and the guard on
	 * the old value makes it fail instead of loading the same records again. */
	for (size_t i = 0; i < l->ntails && !rc; i++)
		if (l->tails[i].pending)
			rc = move_checkpoint(l, &l->tails[i]);
	t1 = mono_ns();
	for (int tb = 0; tb < DB_NTABLES && !rc; tb++)
		rc = copy_rows(l, db_rows_copy_sql((enum db_table)tb), &l->rows.t[tb]);
	t2 = mono_ns();
	if (!rc && !l->p->no_orders)
		rc = merge_orders(l);
	t3 = mono_ns();
	if (!rc)
		rc = exec_cmd(l, "COMMIT", "COMMIT");
	l->st.commit_ns += (t1 - t0) + (mono_ns() - t3);
	l->st.copy_ns += t2 - t1;
	l->st.orders_ns += t3 - t2;
	return rc;
}

/* One pass of a lane: what db_persister_step does for its workers. */
static int lane_step(struct lane *l)
{
	uint64_t now = mono_ns(), total = 0;
	int rc;

	if (!l->conn && (rc = connect_db(l)))
		return rc;
	if (now >= l->next_scan_ns) {
		if ((rc = discover(l)))
			goto fail;
		l->next_scan_ns = now + SCAN_NS;
	}
	db_rows_reset(&l->rows);
	db_order_fold_reset(l->fold);
	for (size_t i = 0; i < l->ntails; i++) {
		rc = gather(l, &l->tails[i]);
		if (rc < 0)
			goto fail;
		total += (uint64_t)rc;
	}
	/* The dataplane never syncs its journal on the hot path; this bounds what a power loss
	 * can take from records not yet committed here to about a second. */
	if (now >= l->next_sync_ns) {
		for (size_t i = 0; i < l->ntails; i++)
			shm_journal_reader_sync(l->tails[i].rd);
		l->next_sync_ns = now + SYNC_NS;
	}
	l->st.read_ns += mono_ns() - now;
	if (total == 0)
		return 0;
	rc = commit_batch(l);
	if (rc)
		goto fail;
	for (size_t i = 0; i < l->ntails; i++) {
		l->tails[i].committed += l->tails[i].pending;
		l->tails[i].pending = 0;
	}
	l->st.records += total;
	l->st.transactions++;
	return total > INT32_MAX ? INT32_MAX : (int)total;
fail:
	/* Whatever was read but not committed is read again from the checkpoints. */
	l->st.errors++;
	disconnect(l);
	return rc;
}

static void *lane_thread(void *arg)
{
	struct lane *l = arg;
	struct db_persister *p = l->p;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && l->gen == p->gen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		l->gen = p->gen;
		pthread_mutex_unlock(&p->mu);
		l->rc = lane_step(l);
		pthread_mutex_lock(&p->mu);
		p->done++;
		pthread_cond_signal(&p->finished);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* A permanent failure outranks a transient one, which outranks success. */
static bool worse(int a, int b)
{
	bool ta = a == -ECONNRESET || a == -EAGAIN, tb = b == -ECONNRESET || b == -EAGAIN;

	if (a >= 0)
		return false;
	if (b >= 0)
		return true;
	return !ta && tb;
}

int db_persister_step(struct db_persister *p)
{
	struct lane *bad = NULL;
	uint64_t total = 0;

	if (p->nlanes > 1) {
		pthread_mutex_lock(&p->mu);
		p->gen++;
		p->done = 0;
		pthread_cond_broadcast(&p->go);
		pthread_mutex_unlock(&p->mu);
	}
	p->lanes[0].rc = lane_step(&p->lanes[0]);
	if (p->nlanes > 1) {
		pthread_mutex_lock(&p->mu);
		while (p->done < p->nlanes - 1)
			pthread_cond_wait(&p->finished, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
	/* Lanes that committed keep their progress even when another failed: each moved only
	 * its own workers' checkpoints. */
	for (unsigned int i = 0; i < p->nlanes; i++) {
		struct lane *l = &p->lanes[i];
		if (l->rc > 0)
			total += (uint64_t)l->rc;
		if (!bad ? l->rc < 0 : worse(l->rc, bad->rc))
			bad = l;
	}
	if (bad) {
		snprintf(p->err, sizeof(p->err), "%s", bad->err);
		return bad->rc;
	}
	return total > INT32_MAX ? INT32_MAX : (int)total;
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
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < p->nlanes; i++) {
		const struct db_persist_stats *s = &p->lanes[i].st;
		out->records += s->records;
		out->transactions += s->transactions;
		out->reconnects += s->reconnects;
		out->errors += s->errors;
		out->read_ns += s->read_ns;
		out->copy_ns += s->copy_ns;
		out->orders_ns += s->orders_ns;
		out->commit_ns += s->commit_ns;
		out->born_conflicts += s->born_conflicts;
	}
}

const char *db_persister_error(const struct db_persister *p)
{
	return p->err;
}

void db_persister_free(struct db_persister *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (unsigned int i = 0; i < MAX_LANES; i++) {
		struct lane *l = &p->lanes[i];
		if (l->started)
			pthread_join(l->thread, NULL);
		disconnect(l);
		db_rows_free(&l->rows);
		db_order_fold_free(l->fold);
		free(l->stage.p);
		free(l->recs);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->finished);
	free(p->conninfo);
	free(p->dir);
	free(p->instance);
	free(p);
}
