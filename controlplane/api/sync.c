/*
 * The risk configuration on its way to the dataplane. The dataplane has no database connection
 * (by design), so everything persisted reaches it as commands in its workers' rings: a PUT of a
 * limit or kill switch pushes that one change to the running workers, and a thread of `serve`
 * watches the stats region for a new dataplane incarnation (another pid or start time: serve's own
 * start counts as one) and pushes every persisted limit and every engaged kill switch to it, so a
 * restarted dataplane trades under the limits the operators set. Both paths hold one mutex from
 * reading to sending, so a change committed while a whole set is being pushed is sent after it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_internal.h"
#include "clock.h"

#define SYNC_PERIOD_MS 200 /* how often the stats region is checked for a new incarnation */

/*
 * Sends one command per running worker (fill makes worker w's of n); returns the ids sent as a
 * JSON array. Workers that cannot take it are appended to failed with the reason. push_mu held.
 */
static json_t *push_all(struct api_server *s, PGconn *c, json_t *failed,
			void (*fill)(struct shm_command *cmd, uint32_t w, uint32_t n,
				     const void *ctx),
			const void *ctx)
{
	uint32_t n = api_dataplane_workers(&s->dp);
	json_t *ids = json_array();

	for (uint32_t w = 0; w < n; w++) {
		struct shm_command cmd;
		char err[256];

		memset(&cmd, 0, sizeof(cmd));
		fill(&cmd, w, n, ctx);
		cmd.id = api_db_next_id(c, "api_command_ids");
		cmd.version = 1;
		cmd.issued_wall_ns = clock_wall_ns();
		if (cmd.id && !api_dataplane_send(&s->dp, w, &cmd, err, sizeof(err)))
			json_array_append_new(ids, json_integer((json_int_t)cmd.id));
		else
			json_array_append_new(failed,
					      json_pack("{s:i, s:s}", "worker", (int)w, "error",
							cmd.id ? err : "no command id"));
	}
	return ids;
}

static void fill_limit(struct shm_command *cmd, uint32_t w, uint32_t n, const void *ctx)
{
	const struct api_limit_body *b = ctx;
	int64_t v = b->enabled ? b->value : 0; /* 0: no limit, as the risk module reads it */

	/* A firm-wide aggregate is split into per-worker budgets (DESIGN.md): worker w gets
	 * value / n, the first value % n workers one more, so the budgets add up exactly. */
	for (size_t i = 0; i < api_limit_nkinds; i++)
		if (api_limit_kinds[i].code == b->code && api_limit_kinds[i].split &&
		    b->scope == API_SCOPE_FIRM && v > 0)
			v = v / (int64_t)n + ((int64_t)w < v % (int64_t)n ? 1 : 0);
	cmd->type = SHM_COMMAND_SET_LIMIT;
	cmd->set_limit.scope = (uint32_t)b->scope;
	cmd->set_limit.id = b->id;
	cmd->set_limit.limit = b->code;
	cmd->set_limit.value = v;
}

static void fill_kill(struct shm_command *cmd, uint32_t w, uint32_t n, const void *ctx)
{
	const struct api_kill_body *b = ctx;

	cmd->type = SHM_COMMAND_KILL_SWITCH;
	cmd->kill_switch.scope = (uint32_t)b->scope;
	cmd->kill_switch.id = b->id;
	cmd->kill_switch.on = b->on;
	cmd->kill_switch.cancel_open = b->cancel_open;
}

json_t *api_push_limit(struct api_server *s, PGconn *c, const struct api_limit_body *b,
		       json_t *failed)
{
	json_t *ids;

	pthread_mutex_lock(&s->sync.push_mu);
	ids = push_all(s, c, failed, fill_limit, b);
	pthread_mutex_unlock(&s->sync.push_mu);
	return ids;
}

json_t *api_push_kill(struct api_server *s, PGconn *c, const struct api_kill_body *b,
		      json_t *failed)
{
	json_t *ids;

	pthread_mutex_lock(&s->sync.push_mu);
	ids = push_all(s, c, failed, fill_kill, b);
	pthread_mutex_unlock(&s->sync.push_mu);
	return ids;
}

/*
 * Pushes every row of sql (one JSON body per row, parsed by parse as an API request would be)
 * with fill. Counts the rows pushed in *pushed; a row the parser refuses is logged and skipped.
 * Returns 0, or -EIO (database) / -EAGAIN (a worker did not take a command) with err.
 */
static int push_rows(struct api_server *s, PGconn *c, const char *sql,
		     int (*parse)(const char *buf, size_t len, void *out, struct api_error *e),
		     void (*fill)(struct shm_command *cmd, uint32_t w, uint32_t n, const void *ctx),
		     uint32_t *pushed, char *err, size_t errlen)
{
	union {
		struct api_limit_body limit;
		struct api_kill_body kill;
	} b;
	PGresult *res = api_db_exec(c, sql, 0, NULL, err, errlen);
	struct api_error e;
	int rc = 0;

	if (!res)
		return -EIO;
	for (int i = 0; i < PQntuples(res) && !rc; i++) {
		const char *row = PQgetvalue(res, i, 0);
		json_t *failed, *ids;

		if (parse(row, strlen(row), &b, &e)) {
			fprintf(stderr,
				"tradsys-controlplane serve: persisted row %s not pushed: %s: %s\n",
				row, e.field, e.msg);
			continue;
		}
		failed = json_array();
		ids = push_all(s, c, failed, fill, &b);
		if (json_array_size(failed)) {
			json_t *f = json_array_get(failed, 0);

			snprintf(err, errlen, "worker %lld: %s",
				 (long long)json_integer_value(json_object_get(f, "worker")),
				 json_string_value(json_object_get(f, "error")));
			rc = -EAGAIN;
		} else {
			(*pushed)++;
		}
		json_decref(failed);
		json_decref(ids);
	}
	PQclear(res);
	return rc;
}

static int parse_limit(const char *buf, size_t len, void *out, struct api_error *e)
{
	return api_body_limit(buf, len, out, e);
}

static int parse_kill(const char *buf, size_t len, void *out, struct api_error *e)
{
	return api_body_kill(buf, len, out, e);
}

/* Pushes the whole persisted set to the incarnation inc. Returns 0 or -errno with err. */
static int push_everything(struct api_server *s, const struct api_dataplane_incarnation *inc,
			   char *err, size_t errlen)
{
	struct api_dataplane_incarnation now;
	uint32_t limits = 0, kills = 0;
	PGconn *c = api_db_get(&s->db);
	int rc;

	if (!c) {
		snprintf(err, errlen, "database unavailable");
		return -EIO;
	}
	pthread_mutex_lock(&s->sync.push_mu);
	/* Disabled limits too: the dataplane may start with limits of its own config, and a
	 * disabled one is "no limit" (value 0), as the last PUT told the previous incarnation. */
	rc = push_rows(s, c,
		       "SELECT json_build_object('scope', scope, 'id', scope_id, 'kind', "
		       "limit_kind, 'value', value, 'enabled', enabled)::text FROM risk_limits "
		       "ORDER BY id",
		       parse_limit, fill_limit, &limits, err, errlen);
	if (!rc)
		rc = push_rows(
			s, c,
			"SELECT json_build_object('scope', scope, 'id', scope_id, 'on', "
			"true)::text FROM kill_switches WHERE active ORDER BY scope, scope_id",
			parse_kill, fill_kill, &kills, err, errlen);
	pthread_mutex_unlock(&s->sync.push_mu);
	api_db_put(&s->db, c);
	if (rc)
		return rc;
	/* A dataplane that restarted meanwhile got part of it: the next round sends it all. */
	if (api_dataplane_incarnation(&s->dp, &now, err, errlen) || now.pid != inc->pid ||
	    now.start_wall_ns != inc->start_wall_ns) {
		snprintf(err, errlen, "the dataplane restarted during the push");
		return -EAGAIN;
	}
	fprintf(stderr,
		"tradsys-controlplane serve: dataplane '%s' pid %d (%u workers): pushed %u "
		"persisted limit(s) and %u engaged kill switch(es)\n",
		s->cfg.instance, inc->pid, inc->nworkers, limits, kills);
	return 0;
}

static void *sync_main(void *arg)
{
	struct api_server *s = arg;
	struct api_dataplane_incarnation done = { 0, 0, 0 }, inc;
	char err[512], last_err[512] = "";
	struct timespec until;

	pthread_mutex_lock(&s->sync.mu);
	while (!s->sync.stop) {
		pthread_mutex_unlock(&s->sync.mu);
		if (!api_dataplane_incarnation(&s->dp, &inc, err, sizeof(err)) &&
		    (inc.pid != done.pid || inc.start_wall_ns != done.start_wall_ns)) {
			if (!push_everything(s, &inc, err, sizeof(err))) {
				done = inc;
				last_err[0] = 0;
			} else if (strcmp(err, last_err)) {
				/* Said once per cause, retried every round. */
				fprintf(stderr,
					"tradsys-controlplane serve: pushing the persisted risk "
					"configuration to dataplane '%s' pid %d: %s; retrying\n",
					s->cfg.instance, inc.pid, err);
				snprintf(last_err, sizeof(last_err), "%s", err);
			}
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SYNC_PERIOD_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->sync.mu);
		if (!s->sync.stop)
			pthread_cond_timedwait(&s->sync.cv, &s->sync.mu, &until);
	}
	pthread_mutex_unlock(&s->sync.mu);
	return NULL;
}

void api_sync_init(struct api_server *s)
{
	pthread_mutex_init(&s->sync.push_mu, NULL);
	pthread_mutex_init(&s->sync.mu, NULL);
	pthread_cond_init(&s->sync.cv, NULL);
	s->sync.stop = false;
	s->sync.running = false;
}

int api_sync_start(struct api_server *s, char *err, size_t errlen)
{
	int rc = pthread_create(&s->sync.thread, NULL, sync_main, s);

	if (rc) {
		snprintf(err, errlen, "cannot start the dataplane sync thread: %s", strerror(rc));
		return -rc;
	}
	s->sync.running = true;
	return 0;
}

void api_sync_stop(struct api_server *s)
{
	if (s->sync.running) {
		pthread_mutex_lock(&s->sync.mu);
		s->sync.stop = true;
		pthread_cond_signal(&s->sync.cv);
		pthread_mutex_unlock(&s->sync.mu);
		pthread_join(s->sync.thread, NULL);
		s->sync.running = false;
	}
	pthread_cond_destroy(&s->sync.cv);
	pthread_mutex_destroy(&s->sync.mu);
	pthread_mutex_destroy(&s->sync.push_mu);
}
