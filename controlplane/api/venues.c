/*
 * The admin API's venue endpoints: GET /api/v1/venues lists every venue session of the running
 * dataplane per worker, from its stats region (state, sequence number, messages, logins,
 * reconnects, orders by outcome); POST /api/v1/venues/{name}/disconnect and .../connect are
 * audited like every mutation and pushed through the command ring of each worker that has the
 * venue (disconnect: log out and stay down; connect: reconnect and log in at the next expected
 * sequence number). The worker answers in its journal (command ack).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "clock.h"

static json_int_t age_ns(uint64_t now_tsc, uint64_t then_tsc, uint64_t hz)
{
	if (!hz || !then_tsc || now_tsc <= then_tsc)
		return 0;
	return (json_int_t)((unsigned __int128)(now_tsc - then_tsc) * 1000000000u / hz);
}

static json_t *session_json(const struct shm_stats_session *v, uint32_t worker, uint64_t now_tsc,
			    uint64_t hz)
{
	return json_pack("{s:s#, s:i, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, "
			 "s:I, s:I}}",
			 "name", v->name, strnlen(v->name, sizeof(v->name)), "worker", (int)worker,
			 "state", shm_stats_session_state_name(v->state), "admin_down",
			 v->admin_down != 0, "next_seq", (json_int_t)v->next_seq, "out_msgs",
			 (json_int_t)v->out_msgs, "in_msgs", (json_int_t)v->in_msgs, "logins",
			 (json_int_t)v->logins, "reconnects", (json_int_t)v->reconnects,
			 "disconnects", (json_int_t)v->disconnects, "state_age_ns",
			 age_ns(now_tsc, v->state_change_tsc, hz), "orders", "accepted",
			 (json_int_t)v->orders_accepted, "canceled", (json_int_t)v->orders_canceled,
			 "filled", (json_int_t)v->orders_filled, "rejected",
			 (json_int_t)v->orders_rejected);
}

void api_h_venues(struct api_req *q, struct api_resp *r)
{
	char err[256];
	const struct shm_stats *st = api_dataplane_stats_get(&q->s->dp, err, sizeof(err));
	json_t *venues;

	if (!st) {
		r->body = json_pack("{s:s, s:b, s:s, s:[]}", "instance", q->s->cfg.instance,
				    "running", 0, "error", err, "venues");
		return;
	}
	venues = json_array();
	for (uint32_t w = 0; w < st->hdr.nworkers && w < SHM_STATS_MAX_WORKERS; w++) {
		const struct shm_stats_worker *k = &st->workers[w];
		uint32_t n = k->nsessions < SHM_STATS_MAX_SESSIONS ? k->nsessions
								   : SHM_STATS_MAX_SESSIONS;
		for (uint32_t i = 0; i < n; i++) {
			struct shm_stats_session v;
			/* A copy: the worker keeps writing while this reads. */
			memcpy(&v, &k->sessions[i], sizeof(v));
			json_array_append_new(venues,
					      session_json(&v, w, clock_tsc(), st->hdr.tsc_hz));
		}
	}
	r->body = json_pack("{s:s, s:b, s:o}", "instance", q->s->cfg.instance, "running",
			    st->hdr.state == SHM_STATS_RUNNING, "venues", venues);
	api_dataplane_stats_put(&q->s->dp);
}

/* The {name} of /api/v1/venues/{name}/ACTION into name; false (and a 400) when it is not a venue
 * name as the dataplane's config allows one. */
static bool venue_name(struct api_req *q, struct api_resp *r, char *name, size_t len)
{
	const char *p = q->url + strlen("/api/v1/venues/");
	const char *slash = strchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : 0;

	if (n == 0 || n >= len || n >= SHM_STATS_SESSION_NAME_LEN) {
		api_resp_error(r, 400, "name", "a venue name has 1 to %d characters",
			       SHM_STATS_SESSION_NAME_LEN - 1);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.')) {
			api_resp_error(r, 400, "name",
				       "a venue name has only letters, digits, '-', '_' and '.'");
			return false;
		}
	}
	memcpy(name, p, n);
	name[n] = '\0';
	return true;
}

/* The workers of the running dataplane with a session named name, as a bit mask; 0 with a 404 or
 * 503 answer when there is none. */
static uint32_t venue_workers(struct api_req *q, struct api_resp *r, const char *name)
{
	char err[256];
	const struct shm_stats *st = api_dataplane_stats_get(&q->s->dp, err, sizeof(err));
	uint32_t mask = 0;

	if (!st || st->hdr.state != SHM_STATS_RUNNING) {
		api_resp_error(r, 503, NULL, "dataplane instance '%s' is not running%s%s",
			       q->s->cfg.instance, st ? "" : ": ", st ? "" : err);
		if (st)
			api_dataplane_stats_put(&q->s->dp);
		return 0;
	}
	for (uint32_t w = 0; w < st->hdr.nworkers && w < SHM_STATS_MAX_WORKERS; w++) {
		const struct shm_stats_worker *k = &st->workers[w];
		for (uint32_t i = 0; i < k->nsessions && i < SHM_STATS_MAX_SESSIONS; i++)
			if (!strncmp(k->sessions[i].name, name, SHM_STATS_SESSION_NAME_LEN))
				mask |= 1u << w;
	}
	api_dataplane_stats_put(&q->s->dp);
	if (!mask)
		api_resp_error(r, 404, "name", "no venue '%s' on dataplane instance '%s'", name,
			       q->s->cfg.instance);
	return mask;
}

static uint64_t command_id(PGconn *c)
{
	char err[256];
	PGresult *res =
		api_db_exec(c, "SELECT nextval('api_command_ids')", 0, NULL, err, sizeof(err));
	uint64_t v = 0;

	if (res) {
		v = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	return v;
}

static void venue_action(struct api_req *q, struct api_resp *r, bool connect)
{
	const char *action = connect ? "venue.connect" : "venue.disconnect";
	char name[SHM_STATS_SESSION_NAME_LEN], err[256];
	json_t *details, *ids, *failed, *workers;
	uint32_t mask;
	PGconn *c;

	if (!venue_name(q, r, name, sizeof(name)) || !(mask = venue_workers(q, r, name)))
		return;
	if (!(c = db_or_503(q, r)))
		return;
	workers = json_array();
	for (uint32_t w = 0; w < SHM_STATS_MAX_WORKERS; w++)
		if (mask & (1u << w))
			json_array_append_new(workers, json_integer(w));
	details = json_pack("{s:s, s:s, s:o}", "venue", name, "action",
			    connect ? "connect" : "disconnect", "workers", workers);
	/* Audited before it is pushed: an action the log does not hold never reaches a worker. */
	if (api_audit(c, q, action, name, json_incref(details))) {
		json_decref(details);
		api_resp_error(r, 503, NULL, "cannot write the audit log");
		goto out;
	}
	ids = json_array();
	failed = json_array();
	for (uint32_t w = 0; w < SHM_STATS_MAX_WORKERS; w++) {
		struct shm_command cmd;

		if (!(mask & (1u << w)))
			continue;
		memset(&cmd, 0, sizeof(cmd));
		cmd.type = connect ? SHM_COMMAND_VENUE_CONNECT : SHM_COMMAND_VENUE_DISCONNECT;
		cmd.version = 1;
		cmd.id = command_id(c);
		cmd.issued_wall_ns = clock_wall_ns();
		snprintf(cmd.venue.name, sizeof(cmd.venue.name), "%s", name);
		if (cmd.id && !api_dataplane_send(&q->s->dp, w, &cmd, err, sizeof(err)))
			json_array_append_new(ids, json_integer((json_int_t)cmd.id));
		else
			json_array_append_new(failed,
					      json_pack("{s:i, s:s}", "worker", (int)w, "error",
							cmd.id ? err : "no command id"));
	}
	json_object_set_new(details, "command_ids", ids);
	json_object_set_new(details, "push_failed", failed);
	r->body = details;
out:
	api_db_put(&q->s->db, c);
}

void api_h_venue_disconnect(struct api_req *q, struct api_resp *r)
{
	venue_action(q, r, false);
}

void api_h_venue_connect(struct api_req *q, struct api_resp *r)
{
	venue_action(q, r, true);
}
