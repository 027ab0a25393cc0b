/*
 * The admin API's trading and operations endpoints: health and readiness, orders (list, get,
 * manual new order and cancel through the worker's command ring), positions, balances, risk
 * limits (read; set = persisted, audited and pushed to every worker), the kill switch, the
 * dataplane status from its stats region, and the audit log. Reads build their JSON in
 * PostgreSQL (json_agg) so a row's types arrive as JSON types with no per-column code here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_internal.h"
#include "clock.h"
#include "journal.h"

/* One JSON cell of a query (json_agg / row_to_json), parsed; NULL with r set on failure. */
static json_t *query_json(PGconn *c, const char *sql, int n, const char *const *params,
			  struct api_resp *r, const char *what)
{
	char err[256];
	PGresult *res = api_db_exec(c, sql, n, params, err, sizeof(err));
	json_t *j;

	if (!res) {
		db_fail(r, what, err);
		return NULL;
	}
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		j = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, NULL);
	else
		j = json_null();
	PQclear(res);
	return j;
}

/*
 * The JSON cell of a query as the body {"<key>": cell} without parsing it: PostgreSQL wrote the
 * JSON, so a list of rows is not parsed into objects only to be serialised again (that was most
 * of a list request's CPU time). false with r set on failure.
 */
static bool query_raw(PGconn *c, const char *sql, int n, const char *const *params,
		      struct api_resp *r, const char *what, const char *key)
{
	char err[256];
	PGresult *res = api_db_exec(c, sql, n, params, err, sizeof(err));
	const char *cell;
	size_t len;

	if (!res) {
		db_fail(r, what, err);
		return false;
	}
	cell = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "null";
	len = strlen(cell) + strlen(key) + 8;
	r->raw = malloc(len);
	if (r->raw)
		snprintf(r->raw, len, "{\"%s\":%s}", key, cell);
	PQclear(res);
	if (!r->raw)
		api_resp_error(r, 503, NULL, "out of memory %s", what);
	return r->raw != NULL;
}

/* A decimal query argument in [min, max] into out (as text); absent: NULL. false: r is set. */
static bool arg_int(struct api_req *q, struct api_resp *r, const char *name, long long min,
		    long long max, char *out, size_t outlen, const char **param)
{
	const char *v = api_query_arg(q, name);
	char *end;
	long long x;

	*param = NULL;
	if (!v)
		return true;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (!*v || *end || errno || x < min || x > max) {
		api_resp_error(r, 400, name, "must be an integer between %lld and %lld", min, max);
		return false;
	}
	snprintf(out, outlen, "%lld", x);
	*param = out;
	return true;
}

/* One of names into *param (the name itself); absent: NULL. false: r is set. */
static bool arg_enum(struct api_req *q, struct api_resp *r, const char *name,
		     const char *const *names, const char **param)
{
	const char *v = api_query_arg(q, name);

	*param = NULL;
	if (!v)
		return true;
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(v, names[i])) {
			*param = names[i];
			return true;
		}
	api_resp_error(r, 400, name, "unknown value");
	return false;
}

void api_h_health(struct api_req *q, struct api_resp *r)
{
	r->body = json_pack("{s:s}", "status", "ok");
}

void api_h_ready(struct api_req *q, struct api_resp *r)
{
	PGconn *c = api_db_get(&q->s->db);
	bool db = false;

	if (c) {
		PGresult *res = PQexec(c, "SELECT 1");

		db = PQresultStatus(res) == PGRES_TUPLES_OK;
		PQclear(res);
		api_db_put(&q->s->db, c);
	}
	r->status = db ? 200 : 503;
	r->body = json_pack("{s:b, s:I}", "database", db, "dataplane_workers",
			    (json_int_t)api_dataplane_workers(&q->s->dp));
}

/* ---- orders ---- */

#define ORDER_COLS                                                                               \
	"worker, order_id, orig_order_id, venue_order_id, account_id, instrument_id, venue_id, " \
	"strategy_id, side, price, qty, leaves, cum_qty, status, reason, created_ns, "           \
	"updated_ns, last_seq"

void api_h_orders_list(struct api_req *q, struct api_resp *r)
{
	static const char *const statuses[] = { "pending_new", "open",	   "partially_filled",
						"filled",      "canceled", "rejected",
						"replaced",    NULL };
	char acc[24], ins[24], lim[24];
	const char *params[5];
	PGconn *c;

	params[0] = q->s->cfg.instance;
	if (!arg_enum(q, r, "status", statuses, &params[1]) ||
	    !arg_int(q, r, "account", 0, UINT32_MAX, acc, sizeof(acc), &params[2]) ||
	    !arg_int(q, r, "instrument", 0, UINT32_MAX, ins, sizeof(ins), &params[3]) ||
	    !arg_int(q, r, "limit", 1, 1000, lim, sizeof(lim), &params[4]))
		return;
	if (!params[4])
		params[4] = "100";
	if (!(c = db_or_503(q, r)))
		return;
	query_raw(c,
		  "SELECT coalesce(json_agg(o), '[]') FROM (SELECT " ORDER_COLS
		  " FROM orders WHERE instance = $1 AND ($2::order_status IS NULL OR "
		  "status = $2::order_status) AND ($3::bigint IS NULL OR account_id = $3) AND "
		  "($4::bigint IS NULL OR instrument_id = $4) ORDER BY updated_ns DESC, "
		  "order_id DESC LIMIT $5::int) o",
		  5, params, r, "listing orders", "orders");
	api_db_put(&q->s->db, c);
}

void api_h_order_get(struct api_req *q, struct api_resp *r)
{
	char id[24];
	const char *params[2] = { q->s->cfg.instance, id };
	PGconn *c = db_or_503(q, r);
	json_t *j;

	if (!c)
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)q->id[0]);
	/* An order's events: those in its born range that are not in the order index, and those
	 * the (partial) index holds (migration 008). */
	j = query_json(c,
		       "SELECT row_to_json(o) FROM (SELECT " ORDER_COLS ", (SELECT coalesce("
		       "json_agg(e ORDER BY e.seq), '[]') FROM (SELECT seq, event_type, wall_ns, "
		       "price, qty, leaves, last_px, last_qty, reason FROM order_events ev WHERE "
		       "ev.seq BETWEEN x.born_seq AND x.born_last_seq AND ev.worker = x.worker AND "
		       "ev.instance = x.instance AND ev.order_id = x.order_id AND NOT ev.late "
		       "UNION ALL SELECT seq, event_type, wall_ns, price, qty, leaves, last_px, "
		       "last_qty, reason FROM order_events ev WHERE ev.late AND ev.order_id = "
		       "x.order_id AND ev.worker = x.worker AND ev.instance = x.instance) e) AS "
		       "events FROM orders x WHERE instance = $1 AND order_id = $2::bigint ORDER BY "
		       "worker LIMIT 1) o",
		       2, params, r, "reading the order");
	if (j && json_is_null(j)) {
		json_decref(j);
		api_resp_error(r, 404, NULL, "no order %s", id);
	} else if (j) {
		r->body = j;
	}
	api_db_put(&q->s->db, c);
}

/* Sends one command and maps the outcome to r (503 when no dataplane takes it). */
static bool send_command(struct api_req *q, struct api_resp *r, uint32_t worker,
			 struct shm_command *cmd)
{
	char err[256];
	int rc;

	cmd->version = 1;
	cmd->issued_wall_ns = clock_wall_ns();
	rc = api_dataplane_send(&q->s->dp, worker, cmd, err, sizeof(err));
	if (rc == 0)
		return true;
	api_resp_error(r, 503, NULL, "%s", err);
	return false;
}

void api_h_order_create(struct api_req *q, struct api_resp *r)
{
	struct api_order_body b;
	struct shm_command cmd;
	struct api_error e;
	PGconn *c;

	if (api_body_order(q->body, q->len, &b, &e)) {
		api_resp_from_error(r, &e);
		return;
	}
	if (!api_dataplane_workers(&q->s->dp)) {
		api_resp_error(r, 503, NULL, "no dataplane instance '%s' is running",
			       q->s->cfg.instance);
		return;
	}
	if (!(c = db_or_503(q, r)))
		return;
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = SHM_COMMAND_MANUAL_ORDER;
	cmd.id = api_db_next_id(c, "api_command_ids");
	cmd.manual_order.client_order_id = api_db_next_id(c, "api_client_order_ids");
	cmd.manual_order.price = b.price;
	cmd.manual_order.qty = b.qty;
	cmd.manual_order.instrument = b.instrument;
	cmd.manual_order.account = b.account;
	cmd.manual_order.venue = b.venue;
	cmd.manual_order.side = b.side;
	cmd.manual_order.ord_type = b.ord_type;
	cmd.manual_order.tif = b.tif;
	if (!cmd.id || !cmd.manual_order.client_order_id) {
		api_resp_error(r, 503, NULL, "database unavailable");
		goto out;
	}
	/* Worker 0 takes manual orders: it owns the manual order flow until orders are routed to
	 * the worker that owns the instrument (see the report on issue 8). */
	if (!send_command(q, r, 0, &cmd))
		goto out;
	r->status = 202;
	r->body = json_pack("{s:I, s:I, s:i, s:s}", "command_id", (json_int_t)cmd.id,
			    "client_order_id", (json_int_t)cmd.manual_order.client_order_id,
			    "worker", 0, "status", "sent");
	if (api_audit(c, q, "order.create", "",
		      json_pack("{s:I, s:I, s:I, s:I, s:i, s:s#, s:I, s:I}", "command_id",
				(json_int_t)cmd.id, "client_order_id",
				(json_int_t)cmd.manual_order.client_order_id, "account",
				(json_int_t)b.account, "instrument", (json_int_t)b.instrument,
				"venue", b.venue, "side", (const char *)&b.side, (size_t)1, "price",
				(json_int_t)b.price, "qty", (json_int_t)b.qty)))
		fprintf(stderr, "tradsys-controlplane: command %llu sent but not audited\n",
			(unsigned long long)cmd.id);
out:
	api_db_put(&q->s->db, c);
}

void api_h_order_cancel(struct api_req *q, struct api_resp *r)
{
	char id[24], err[256];
	const char *params[2] = { q->s->cfg.instance, id };
	struct shm_command cmd;
	PGresult *res;
	PGconn *c = db_or_503(q, r);
	const char *st;

	if (!c)
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)q->id[0]);
	res = api_db_exec(c,
			  "SELECT worker, account_id, status FROM orders WHERE instance = $1 AND "
			  "order_id = $2::bigint ORDER BY worker LIMIT 1",
			  2, params, err, sizeof(err));
	if (!res) {
		db_fail(r, "reading the order", err);
		goto out;
	}
	if (PQntuples(res) != 1) {
		api_resp_error(r, 404, NULL, "no order %s", id);
		goto out;
	}
	st = PQgetvalue(res, 0, 2);
	if (!strcmp(st, "filled") || !strcmp(st, "canceled") || !strcmp(st, "rejected") ||
	    !strcmp(st, "replaced")) {
		api_resp_error(r, 409, NULL, "order %s is %s", id, st);
		goto out;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = SHM_COMMAND_MANUAL_CANCEL;
	cmd.id = api_db_next_id(c, "api_command_ids");
	cmd.manual_cancel.order_id = q->id[0];
	cmd.manual_cancel.account = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	if (!cmd.id) {
		api_resp_error(r, 503, NULL, "database unavailable");
		goto out;
	}
	if (!send_command(q, r, (uint32_t)atoi(PQgetvalue(res, 0, 0)), &cmd))
		goto out;
	r->status = 202;
	r->body = json_pack("{s:I, s:I, s:s}", "command_id", (json_int_t)cmd.id, "order_id",
			    (json_int_t)q->id[0], "status", "sent");
	api_audit(c, q, "order.cancel", id,
		  json_pack("{s:I, s:i}", "command_id", (json_int_t)cmd.id, "worker",
			    atoi(PQgetvalue(res, 0, 0))));
out:
	PQclear(res);
	api_db_put(&q->s->db, c);
}

/* ---- positions, balances ---- */

void api_h_positions(struct api_req *q, struct api_resp *r)
{
	char acc[24];
	const char *params[1];
	PGconn *c;
	json_t *j;

	if (!arg_int(q, r, "account", 0, UINT32_MAX, acc, sizeof(acc), &params[0]))
		return;
	if (!(c = db_or_503(q, r)))
		return;
	j = query_json(c,
		       "SELECT coalesce(json_agg(p ORDER BY p.account_id, p.instrument_id), '[]') "
		       "FROM (SELECT account_id, instrument_id, qty, avg_price, realized_pnl, "
		       "updated_at FROM positions WHERE $1::bigint IS NULL OR account_id = $1) p",
		       1, params, r, "listing positions");
	if (j)
		r->body = json_pack("{s:o}", "positions", j);
	api_db_put(&q->s->db, c);
}

void api_h_balances(struct api_req *q, struct api_resp *r)
{
	char acc[24];
	const char *params[1];
	PGconn *c;
	json_t *j;

	if (!arg_int(q, r, "account", 0, UINT32_MAX, acc, sizeof(acc), &params[0]))
		return;
	if (!(c = db_or_503(q, r)))
		return;
	/* Amounts are numeric(38, 8): sent as strings so no client rounds them through a double. */
	j = query_json(c,
		       "SELECT coalesce(json_agg(b ORDER BY b.account_id, b.currency), '[]') FROM "
		       "(SELECT account_id, currency, amount::text AS amount, updated_at FROM "
		       "balances WHERE $1::bigint IS NULL OR account_id = $1) b",
		       1, params, r, "listing balances");
	if (j)
		r->body = json_pack("{s:o}", "balances", j);
	api_db_put(&q->s->db, c);
}

/* ---- risk limits and the kill switch ---- */

void api_h_limits_get(struct api_req *q, struct api_resp *r)
{
	PGconn *c = db_or_503(q, r);
	json_t *j, *k;

	if (!c)
		return;
	j = query_json(c,
		       "SELECT coalesce(json_agg(l ORDER BY l.scope, l.id, l.kind), '[]') FROM "
		       "(SELECT scope, scope_id AS id, limit_kind AS kind, value, enabled, "
		       "updated_at, (SELECT username FROM users u WHERE u.id = updated_by) AS "
		       "updated_by FROM risk_limits) l",
		       0, NULL, r, "listing limits");
	if (!j)
		goto out;
	k = query_json(c,
		       "SELECT coalesce(json_agg(k ORDER BY k.scope, k.id), '[]') FROM (SELECT "
		       "scope, scope_id AS id, active AS on, updated_at FROM kill_switches "
		       "WHERE active) k",
		       0, NULL, r, "listing kill switches");
	if (!k) {
		json_decref(j);
		goto out;
	}
	r->body = json_pack("{s:o, s:o}", "limits", j, "kill_switches", k);
out:
	api_db_put(&q->s->db, c);
}

/*
 * Stores one limit (params: scope, id, kind, value, enabled, updated_by) inside the caller's
 * transaction. Returns what it replaced as {"value", "enabled"} or JSON null when there was no
 * row, or NULL with err. The old row is read with its own SELECT ... FOR UPDATE, since an upsert's
 * CTE runs on the snapshot before the statement and a RETURNING subquery over it sees nothing.
 * When there is no row yet, ON CONFLICT DO NOTHING tells whether this transaction made it: if
 * another made it first, its row is read (locked) and updated, so "previous" is never a value
 * that a concurrent writer had already replaced.
 */
static json_t *limit_store(PGconn *c, const char *const *params, char *err, size_t errlen)
{
	json_t *prev = NULL;
	PGresult *res;

	for (int attempt = 0; attempt < 2 && !prev; attempt++) {
		res = api_db_exec(c,
				  "SELECT value, enabled FROM risk_limits WHERE scope = $1 AND "
				  "scope_id = $2::bigint AND limit_kind = $3 FOR UPDATE",
				  3, params, err, errlen);
		if (!res)
			return NULL;
		if (PQntuples(res) == 1) {
			prev = json_pack("{s:I, s:b}", "value",
					 (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10),
					 "enabled", !strcmp(PQgetvalue(res, 0, 1), "t"));
			PQclear(res);
			res = api_db_exec(
				c,
				"UPDATE risk_limits SET value = $4::bigint, enabled = "
				"$5::boolean, updated_by = $6::bigint, updated_at = now() "
				"WHERE scope = $1 AND scope_id = $2::bigint AND limit_kind = $3",
				6, params, err, errlen);
			if (!res) {
				json_decref(prev);
				return NULL;
			}
			PQclear(res);
			return prev;
		}
		PQclear(res);
		res = api_db_exec(
			c,
			"INSERT INTO risk_limits (scope, scope_id, limit_kind, value, "
			"enabled, updated_by) VALUES ($1, $2::bigint, $3, $4::bigint, "
			"$5::boolean, $6::bigint) ON CONFLICT (scope, scope_id, limit_kind) "
			"DO NOTHING RETURNING id",
			6, params, err, errlen);
		if (!res)
			return NULL;
		if (PQntuples(res) == 1)
			prev = json_null();
		PQclear(res);
	}
	if (!prev)
		snprintf(err, errlen, "the limit row neither exists nor can be inserted");
	return prev;
}

void api_h_limits_put(struct api_req *q, struct api_resp *r)
{
	struct api_limit_body b;
	struct api_error e;
	char id[24], val[24], uid[24], err[256];
	const char *params[6];
	PGresult *res;
	PGconn *c;
	json_t *failed, *ids, *details, *prev;

	if (api_body_limit(q->body, q->len, &b, &e)) {
		api_resp_from_error(r, &e);
		return;
	}
	if (!(c = db_or_503(q, r)))
		return;
	snprintf(id, sizeof(id), "%u", b.id);
	snprintf(val, sizeof(val), "%lld", (long long)b.value);
	snprintf(uid, sizeof(uid), "%lld", (long long)q->who.user_id);
	params[0] = api_scope_name(b.scope);
	params[1] = id;
	params[2] = b.kind;
	params[3] = val;
	params[4] = b.enabled ? "true" : "false";
	params[5] = q->who.user_id > 0 ? uid : NULL;
	PQclear(api_db_exec(c, "BEGIN", 0, NULL, err, sizeof(err)));
	if (!(prev = limit_store(c, params, err, sizeof(err)))) {
		db_fail(r, "storing the limit", err);
		goto out;
	}
	details = json_pack("{s:s, s:I, s:s, s:I, s:b, s:o}", "scope", params[0], "id",
			    (json_int_t)b.id, "kind", b.kind, "value", (json_int_t)b.value,
			    "enabled", b.enabled, "previous", prev);
	if (api_audit(c, q, "risk_limit.set", b.kind, json_incref(details))) {
		json_decref(details);
		api_resp_error(r, 503, NULL, "cannot write the audit log");
		goto out;
	}
	res = api_db_exec(c, "COMMIT", 0, NULL, err, sizeof(err));
	if (!res) {
		json_decref(details);
		db_fail(r, "committing the limit", err);
		goto out;
	}
	PQclear(res);
	/* Persisted first: a dataplane that starts later loads it; the running one gets it now. */
	failed = json_array();
	ids = api_push_limit(q->s, c, &b, failed);
	json_object_set_new(details, "command_ids", ids);
	json_object_set_new(details, "push_failed", failed);
	r->body = details;
out:
	api_db_put(&q->s->db, c);
}

void api_h_kill(struct api_req *q, struct api_resp *r)
{
	struct api_kill_body b;
	struct api_error e;
	char id[24], uid[24], err[256];
	const char *params[4];
	PGresult *res;
	PGconn *c;
	json_t *failed, *ids, *details;

	if (api_body_kill(q->body, q->len, &b, &e)) {
		api_resp_from_error(r, &e);
		return;
	}
	if (!(c = db_or_503(q, r)))
		return;
	snprintf(id, sizeof(id), "%u", b.id);
	snprintf(uid, sizeof(uid), "%lld", (long long)q->who.user_id);
	params[0] = api_scope_name(b.scope);
	params[1] = id;
	params[2] = b.on ? "true" : "false";
	params[3] = q->who.user_id > 0 ? uid : NULL;
	PQclear(api_db_exec(c, "BEGIN", 0, NULL, err, sizeof(err)));
	res = api_db_exec(
		c,
		"INSERT INTO kill_switches (scope, scope_id, active, updated_by) VALUES "
		"($1, $2::bigint, $3::boolean, $4::bigint) ON CONFLICT (scope, scope_id) "
		"DO UPDATE SET active = excluded.active, updated_by = excluded.updated_by, "
		"updated_at = now()",
		4, params, err, sizeof(err));
	if (!res) {
		db_fail(r, "storing the kill switch", err);
		goto out;
	}
	PQclear(res);
	details = json_pack("{s:s, s:I, s:b, s:b}", "scope", params[0], "id", (json_int_t)b.id,
			    "on", b.on, "cancel_open", b.cancel_open);
	if (api_audit(c, q, b.on ? "kill_switch.on" : "kill_switch.off", params[0],
		      json_incref(details))) {
		json_decref(details);
		api_resp_error(r, 503, NULL, "cannot write the audit log");
		goto out;
	}
	PQclear(api_db_exec(c, "COMMIT", 0, NULL, err, sizeof(err)));
	failed = json_array();
	ids = api_push_kill(q->s, c, &b, failed);
	json_object_set_new(details, "command_ids", ids);
	json_object_set_new(details, "push_failed", failed);
	r->body = details;
out:
	api_db_put(&q->s->db, c);
}

/* ---- status, audit ---- */

static const char *state_name(uint32_t s)
{
	static const char *const names[] = { "starting", "running", "stopped", "failed" };

	return s < 4 ? names[s] : "unknown";
}

static json_int_t ns_of(uint64_t cycles, uint64_t hz)
{
	return hz ? (json_int_t)((unsigned __int128)cycles * 1000000000u / hz) : 0;
}

void api_h_status(struct api_req *q, struct api_resp *r)
{
	char err[256];
	const struct shm_stats *st = api_dataplane_stats_get(&q->s->dp, err, sizeof(err));
	const struct shm_stats_header *h;
	json_t *workers;

	if (!st) {
		r->body = json_pack("{s:s, s:b, s:s}", "instance", q->s->cfg.instance, "running", 0,
				    "error", err);
		return;
	}
	h = &st->hdr;
	workers = json_array();
	for (uint32_t i = 0; i < h->nworkers && i < SHM_STATS_MAX_WORKERS; i++) {
		const struct shm_stats_worker *w = &st->workers[i];

		json_array_append_new(
			workers,
			json_pack("{s:i, s:s, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
				  "s:I, s:I}",
				  "id", (int)w->id, "state", state_name(w->state), "packets",
				  (json_int_t)w->packets, "bytes", (json_int_t)w->bytes,
				  "busy_ratio",
				  w->passes ? (double)w->busy_passes / (double)w->passes : 0.0,
				  "feed_messages", (json_int_t)w->feed_messages, "feed_lost",
				  (json_int_t)w->feed_lost_msgs, "orders_sent",
				  (json_int_t)w->orders_sent, "fills", (json_int_t)w->fills,
				  "risk_rejects", (json_int_t)w->risk_rejects, "venue_rejects",
				  (json_int_t)w->venue_rejects, "tick_to_trade_p50_ns",
				  ns_of(hist_percentile(&w->t2t_cycles, 0.5), h->tsc_hz),
				  "tick_to_trade_p99_ns",
				  ns_of(hist_percentile(&w->t2t_cycles, 0.99), h->tsc_hz),
				  "burst_p99_ns",
				  ns_of(hist_percentile(&w->burst_cycles, 0.99), h->tsc_hz)));
	}
	r->body = json_pack("{s:s#, s:b, s:s#, s:i, s:s, s:I, s:o}", "instance", h->instance,
			    strnlen(h->instance, sizeof(h->instance)), "running",
			    h->state == SHM_STATS_RUNNING, "driver", h->driver,
			    strnlen(h->driver, sizeof(h->driver)), "pid", (int)h->pid, "state",
			    state_name(h->state), "start_wall_ns", (json_int_t)h->start_wall_ns,
			    "workers", workers);
	api_dataplane_stats_put(&q->s->dp);
}

void api_h_audit(struct api_req *q, struct api_resp *r)
{
	char lim[24], before[24];
	const char *params[4];
	PGconn *c;
	json_t *j;

	if (!arg_int(q, r, "limit", 1, 1000, lim, sizeof(lim), &params[0]) ||
	    !arg_int(q, r, "before_id", 1, INT64_MAX, before, sizeof(before), &params[1]))
		return;
	if (!params[0])
		params[0] = "100";
	params[2] = api_query_arg(q, "action");
	params[3] = api_query_arg(q, "actor");
	if ((params[2] && strlen(params[2]) > 64) || (params[3] && strlen(params[3]) > 80)) {
		api_resp_error(r, 400, params[2] && strlen(params[2]) > 64 ? "action" : "actor",
			       "too long");
		return;
	}
	if (!(c = db_or_503(q, r)))
		return;
	j = query_json(c,
		       "SELECT coalesce(json_agg(a ORDER BY a.id DESC), '[]') FROM (SELECT id, at, "
		       "user_id, actor, action, target, details, host(source_ip) AS source_ip FROM "
		       "audit_log WHERE ($2::bigint IS NULL OR id < $2) AND ($3::text IS NULL OR "
		       "action = $3) AND ($4::text IS NULL OR actor = $4) ORDER BY id DESC LIMIT "
		       "$1::int) a",
		       4, params, r, "reading the audit log");
	if (j)
		r->body = json_pack("{s:o}", "audit", j);
	api_db_put(&q->s->db, c);
}
