/*
 * tsctl's operations commands: status (the dataplane from its stats region, the database from
 * /ready), risk limits (get, set), the kill switch, users and the audit log. A change the server
 * stored but a running worker did not take (push_failed) is reported and exits 5: the operator
 * must know the appliance is not yet running with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"

#define NPOS 16
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static int parse(int argc, char **argv, struct tsctl_flag *flags, size_t nflags, char **pos,
		 int *npos, const char *usage)
{
	char err[160];

	if (argc - 1 > NPOS)
		return tsctl_usage_error("too many arguments; %s", usage);
	if (tsctl_flags_parse(argc - 1, argv + 1, flags, nflags, pos, npos, err, sizeof(err)))
		return tsctl_usage_error("%s; %s", err, usage);
	return 0;
}

/* ---- status ---- */

static const struct tsctl_col worker_cols[] = {
	{ "WORKER", "id", TSCTL_FMT_TEXT },
	{ "STATE", "state", TSCTL_FMT_TEXT },
	{ "BUSY", "busy_ratio", TSCTL_FMT_PERCENT },
	{ "PACKETS", "packets", TSCTL_FMT_TEXT },
	{ "FEED_MSGS", "feed_messages", TSCTL_FMT_TEXT },
	{ "FEED_LOST", "feed_lost", TSCTL_FMT_TEXT },
	{ "ORDERS", "orders_sent", TSCTL_FMT_TEXT },
	{ "FILLS", "fills", TSCTL_FMT_TEXT },
	{ "RISK_REJ", "risk_rejects", TSCTL_FMT_TEXT },
	{ "VENUE_REJ", "venue_rejects", TSCTL_FMT_TEXT },
	{ "T2T_P50", "tick_to_trade_p50_ns", TSCTL_FMT_LATENCY },
	{ "T2T_P99", "tick_to_trade_p99_ns", TSCTL_FMT_LATENCY },
};

int cmd_status(struct tsctl_client *c, int argc, char **argv)
{
	char s1[128], s2[64], s3[64], up[32];
	json_t *j, *ready = NULL;
	long status = 0;
	int code;

	if (argc != 1)
		return tsctl_usage_error("tsctl status");
	if ((code = tsctl_call(c, "GET", "/api/v1/status", NULL, &j)))
		return code;
	if (c->o->json) {
		tsctl_print_json(j);
		json_decref(j);
		return 0;
	}
	/* /ready answers 503 when the database is down: that is a state to show, not a failure. */
	tsctl_request(c, "GET", "/api/v1/ready", NULL, false, &status, &ready);
	printf("instance   %s\n",
	       tsctl_cell(json_object_get(j, "instance"), TSCTL_FMT_TEXT, s1, sizeof(s1)));
	if (json_is_true(json_object_get(j, "running"))) {
		int64_t start = json_integer_value(json_object_get(j, "start_wall_ns"));
		int64_t now = (int64_t)time(NULL);

		tsctl_fmt_uptime(start > 0 && now > start / 1000000000
					 ? (uint64_t)(now - start / 1000000000)
					 : 0,
				 up, sizeof(up));
		printf("dataplane  %s (driver %s, pid %s, up %s)\n",
		       tsctl_cell(json_object_get(j, "state"), TSCTL_FMT_TEXT, s1, sizeof(s1)),
		       tsctl_cell(json_object_get(j, "driver"), TSCTL_FMT_TEXT, s2, sizeof(s2)),
		       tsctl_cell(json_object_get(j, "pid"), TSCTL_FMT_TEXT, s3, sizeof(s3)), up);
	} else {
		const json_t *e = json_object_get(j, "error");

		printf("dataplane  not running%s%s\n", e ? ": " : "",
		       e ? tsctl_cell(e, TSCTL_FMT_TEXT, s1, sizeof(s1)) : "");
	}
	if (status == 200 || status == 503)
		printf("database   %s\n",
		       json_is_true(json_object_get(ready, "database")) ? "ok" : "unavailable");
	else
		printf("database   unknown\n");
	if (json_array_size(json_object_get(j, "workers"))) {
		printf("\n");
		tsctl_table_print_json(stdout, json_object_get(j, "workers"), worker_cols,
				       NCOLS(worker_cols), NULL);
	}
	json_decref(ready);
	json_decref(j);
	return 0;
}

/* ---- risk limits and the kill switch ---- */

static const struct tsctl_col limit_cols[] = {
	{ "SCOPE", "scope", TSCTL_FMT_TEXT },
	{ "ID", "id", TSCTL_FMT_TEXT },
	{ "KIND", "kind", TSCTL_FMT_TEXT },
	{ "VALUE", "value", TSCTL_FMT_TEXT },
	{ "ENABLED", "enabled", TSCTL_FMT_TEXT },
	{ "BY", "updated_by", TSCTL_FMT_TEXT },
	{ "UPDATED (UTC)", "updated_at", TSCTL_FMT_PG_TIME },
};

static const struct tsctl_col kill_cols[] = {
	{ "KILL SCOPE", "scope", TSCTL_FMT_TEXT },
	{ "ID", "id", TSCTL_FMT_TEXT },
	{ "SINCE (UTC)", "updated_at", TSCTL_FMT_PG_TIME },
};

/* Reports the workers that did not take a pushed change; TSCTL_EXIT_SERVER if any. */
static int push_report(const json_t *j, const char *what)
{
	const json_t *failed = json_object_get(j, "push_failed"), *f;
	char err[256];
	size_t i;

	json_array_foreach(failed, i, f)
	{
		fprintf(stderr, "tsctl: %s stored, but worker %lld did not take it: %s\n", what,
			(long long)json_integer_value(json_object_get(f, "worker")),
			tsctl_cell(json_object_get(f, "error"), TSCTL_FMT_TEXT, err, sizeof(err)));
	}
	return json_array_size(failed) ? TSCTL_EXIT_SERVER : 0;
}

static int risk_get(struct tsctl_client *c)
{
	json_t *j;
	int code = tsctl_call(c, "GET", "/api/v1/risk/limits", NULL, &j);

	if (code)
		return code;
	if (c->o->json) {
		tsctl_print_json(j);
	} else {
		tsctl_table_print_json(stdout, json_object_get(j, "limits"), limit_cols,
				       NCOLS(limit_cols), "no risk limits set");
		printf("\n");
		tsctl_table_print_json(stdout, json_object_get(j, "kill_switches"), kill_cols,
				       NCOLS(kill_cols), "no kill switch on");
	}
	json_decref(j);
	return 0;
}

static int risk_set(struct tsctl_client *c, char **pos, bool disable)
{
	int64_t id, value;
	json_t *body, *j, *prev;
	int code;

	if (tsctl_parse_int(pos[1], 0, INT64_MAX, &id))
		return tsctl_field_error("id", "must be an integer >= 0 (0 for the firm)");
	if (tsctl_parse_int(pos[3], INT64_MIN, INT64_MAX, &value))
		return tsctl_field_error("value", "must be an integer");
	body = json_pack("{s:s, s:I, s:s, s:I, s:b}", "scope", pos[0], "id", (json_int_t)id, "kind",
			 pos[2], "value", (json_int_t)value, "enabled", !disable);
	if (!body)
		return TSCTL_EXIT_SERVER;
	code = tsctl_call(c, "PUT", "/api/v1/risk/limits", body, &j);
	json_decref(body);
	if (code)
		return code;
	if (c->o->json) {
		tsctl_print_json(j);
	} else {
		char k[64], s[32], was[64] = "";

		prev = json_object_get(j, "previous"); /* null: there was no limit before */
		if (json_is_object(prev))
			snprintf(was, sizeof(was), " (was %lld%s)",
				 (long long)json_integer_value(json_object_get(prev, "value")),
				 json_is_false(json_object_get(prev, "enabled")) ? ", disabled"
										 : "");
		printf("limit %s for %s %lld set to %lld%s%s; pushed to %zu worker(s)\n",
		       tsctl_cell(json_object_get(j, "kind"), TSCTL_FMT_TEXT, k, sizeof(k)),
		       tsctl_cell(json_object_get(j, "scope"), TSCTL_FMT_TEXT, s, sizeof(s)),
		       (long long)id, (long long)value, disable ? ", disabled" : "", was,
		       json_array_size(json_object_get(j, "command_ids")));
	}
	code = push_report(j, "the limit is");
	json_decref(j);
	return code;
}

int cmd_risk(struct tsctl_client *c, int argc, char **argv)
{
	static const char usage[] =
		"tsctl risk get | risk set SCOPE ID KIND VALUE [--disable]   (SCOPE firm|account|"
		"instrument, ID 0 for the firm)";
	struct tsctl_flag f[] = { { "--disable", false, NULL } };
	char *pos[NPOS];
	int npos, code;

	if ((code = parse(argc, argv, f, 1, pos, &npos, usage)))
		return code;
	if (npos == 1 && !strcmp(pos[0], "get") && !f[0].value)
		return risk_get(c);
	if (npos == 5 && !strcmp(pos[0], "set"))
		return risk_set(c, pos + 1, f[0].value != NULL);
	return tsctl_usage_error("%s", usage);
}

int cmd_kill(struct tsctl_client *c, int argc, char **argv)
{
	static const char usage[] = "tsctl kill on|off [--scope firm|account|instrument --id N] "
				    "[--cancel-open]";
	struct tsctl_flag f[] = { { "--scope", true, NULL },
				  { "--id", true, NULL },
				  { "--cancel-open", false, NULL } };
	const char *scope;
	char *pos[NPOS], s[32];
	int64_t id = 0;
	json_t *body, *j;
	int npos, code;
	bool on;

	if ((code = parse(argc, argv, f, NCOLS(f), pos, &npos, usage)))
		return code;
	if (npos != 1 || (strcmp(pos[0], "on") && strcmp(pos[0], "off")))
		return tsctl_usage_error("%s", usage);
	on = !strcmp(pos[0], "on");
	scope = f[0].value ? f[0].value : "firm";
	if (f[1].value && tsctl_parse_int(f[1].value, 0, INT64_MAX, &id))
		return tsctl_field_error("id", "must be an integer >= 0");
	body = json_pack("{s:s, s:b}", "scope", scope, "on", on);
	if (body && f[1].value)
		json_object_set_new(body, "id", json_integer((json_int_t)id));
	if (body && f[2].value)
		json_object_set_new(body, "cancel_open", json_true());
	if (!body)
		return TSCTL_EXIT_SERVER;
	code = tsctl_call(c, "POST", "/api/v1/kill", body, &j);
	json_decref(body);
	if (code)
		return code;
	if (c->o->json)
		tsctl_print_json(j);
	else
		printf("kill switch %s for %s %lld%s; pushed to %zu worker(s)\n", on ? "ON" : "OFF",
		       tsctl_cell(json_object_get(j, "scope"), TSCTL_FMT_TEXT, s, sizeof(s)),
		       (long long)json_integer_value(json_object_get(j, "id")),
		       json_is_true(json_object_get(j, "cancel_open")) ? ", open orders canceled"
								       : "",
		       json_array_size(json_object_get(j, "command_ids")));
	code = push_report(j, "the kill switch is");
	json_decref(j);
	return code;
}

/* ---- users ---- */

static const struct tsctl_col user_cols[] = {
	{ "ID", "id", TSCTL_FMT_TEXT },
	{ "USERNAME", "username", TSCTL_FMT_TEXT },
	{ "ROLE", "role", TSCTL_FMT_TEXT },
	{ "NAME", "display_name", TSCTL_FMT_TEXT },
	{ "DISABLED", "disabled", TSCTL_FMT_TEXT },
	{ "TOTP", "totp", TSCTL_FMT_TEXT },
	{ "LOCKED", "locked", TSCTL_FMT_TEXT },
	{ "LAST LOGIN (UTC)", "last_login_at", TSCTL_FMT_PG_TIME },
};

/* A user given by id (digits) or by name, looked up in the user list. */
static int user_id(struct tsctl_client *c, const char *who, int64_t *id)
{
	const json_t *u;
	char name[100];
	json_t *j;
	size_t i;
	int code;

	if (who[0] >= '0' && who[0] <= '9') {
		if (tsctl_parse_int(who, 1, INT64_MAX, id))
			return tsctl_field_error("user", "must be a user name or a positive id");
		return 0;
	}
	if ((code = tsctl_call(c, "GET", "/api/v1/users", NULL, &j)))
		return code;
	json_array_foreach(json_object_get(j, "users"), i, u)
	{
		if (!strcmp(json_string_value(json_object_get(u, "username")) ?: "", who)) {
			*id = json_integer_value(json_object_get(u, "id"));
			json_decref(j);
			return 0;
		}
	}
	json_decref(j);
	fprintf(stderr, "tsctl: not found: no user named '%s'\n",
		tsctl_sanitize(who, 64, name, sizeof(name)));
	return TSCTL_EXIT_NOT_FOUND;
}

/* The new user's password: TSCTL_NEW_PASSWORD, or typed twice on the terminal. */
static int new_password(char *pw, size_t len)
{
	const char *env = getenv("TSCTL_NEW_PASSWORD");
	char again[260];
	int rc;

	if (env && *env) {
		if (strlen(env) >= len)
			return tsctl_field_error("password", "TSCTL_NEW_PASSWORD is too long");
		snprintf(pw, len, "%s", env);
		return 0;
	}
	if (tsctl_read_secret("New user's password: ", pw, len) ||
	    tsctl_read_secret("Again: ", again, sizeof(again))) {
		fprintf(stderr,
			"tsctl: no password: set TSCTL_NEW_PASSWORD or run on a terminal\n");
		return TSCTL_EXIT_USAGE;
	}
	rc = strcmp(pw, again) ? tsctl_field_error("password", "the two entries differ") : 0;
	explicit_bzero(again, sizeof(again));
	return rc;
}

static int users_add(struct tsctl_client *c, char **pos, const char *display)
{
	char pw[260], u[100], r[20];
	json_t *body, *j, *v;
	int code;

	if ((code = new_password(pw, sizeof(pw))))
		return code;
	body = json_pack("{s:s, s:s, s:s}", "username", pos[0], "role", pos[1], "password", pw);
	explicit_bzero(pw, sizeof(pw));
	if (body && display)
		json_object_set_new(body, "display_name", json_string(display));
	if (!body)
		return TSCTL_EXIT_SERVER;
	code = tsctl_call(c, "POST", "/api/v1/users", body, &j);
	v = json_object_get(body, "password");
	explicit_bzero((char *)json_string_value(v), json_string_length(v));
	json_decref(body);
	if (code)
		return code;
	if (c->o->json)
		tsctl_print_json(j);
	else
		printf("user %s created (id %lld, role %s)\n",
		       tsctl_cell(json_object_get(j, "username"), TSCTL_FMT_TEXT, u, sizeof(u)),
		       (long long)json_integer_value(json_object_get(j, "id")),
		       tsctl_cell(json_object_get(j, "role"), TSCTL_FMT_TEXT, r, sizeof(r)));
	json_decref(j);
	return 0;
}

/* PUT /users/{id} with body (taken) or DELETE it when body is NULL. */
static int users_change(struct tsctl_client *c, const char *who, json_t *body, const char *done)
{
	char path[64], name[100];
	int64_t id = 0;
	json_t *j;
	int code = user_id(c, who, &id);

	if (!code) {
		snprintf(path, sizeof(path), "/api/v1/users/%lld", (long long)id);
		code = tsctl_call(c, body ? "PUT" : "DELETE", path, body, &j);
	}
	json_decref(body);
	if (code)
		return code;
	if (c->o->json && j)
		tsctl_print_json(j);
	else if (c->o->json) /* 204: no body to print; say what was done for a script */
		printf("{\"id\":%lld,\"deleted\":true}\n", (long long)id);
	else
		printf("user %s (id %lld) %s\n", tsctl_sanitize(who, 64, name, sizeof(name)),
		       (long long)id, done);
	json_decref(j);
	return 0;
}

int cmd_users(struct tsctl_client *c, int argc, char **argv)
{
	static const char usage[] =
		"tsctl users | users add USER ROLE [--display NAME] | users del USER | users role "
		"USER ROLE | users disable USER | users enable USER";
	struct tsctl_flag f[] = { { "--display", true, NULL } };
	char *pos[NPOS], msg[64];
	json_t *j;
	int npos, code;

	if ((code = parse(argc, argv, f, 1, pos, &npos, usage)))
		return code;
	if (f[0].value && (npos != 3 || strcmp(pos[0], "add")))
		return tsctl_usage_error("%s", usage);
	if (!npos) {
		if ((code = tsctl_call(c, "GET", "/api/v1/users", NULL, &j)))
			return code;
		if (c->o->json)
			tsctl_print_json(j);
		else
			tsctl_table_print_json(stdout, json_object_get(j, "users"), user_cols,
					       NCOLS(user_cols), "no users");
		json_decref(j);
		return 0;
	}
	if (npos == 3 && !strcmp(pos[0], "add"))
		return users_add(c, pos + 1, f[0].value);
	if (npos == 2 && !strcmp(pos[0], "del"))
		return users_change(c, pos[1], NULL, "deleted");
	if (npos == 3 && !strcmp(pos[0], "role")) {
		snprintf(msg, sizeof(msg), "now has role %.20s", pos[2]);
		return users_change(c, pos[1], json_pack("{s:s}", "role", pos[2]), msg);
	}
	if (npos == 2 && (!strcmp(pos[0], "disable") || !strcmp(pos[0], "enable")))
		return users_change(c, pos[1],
				    json_pack("{s:b}", "disabled", !strcmp(pos[0], "disable")),
				    !strcmp(pos[0], "disable") ? "disabled" : "enabled");
	return tsctl_usage_error("%s", usage);
}

/* ---- audit ---- */

static const struct tsctl_col audit_cols[] = {
	{ "ID", "id", TSCTL_FMT_TEXT },		  { "AT (UTC)", "at", TSCTL_FMT_PG_TIME },
	{ "ACTOR", "actor", TSCTL_FMT_TEXT },	  { "ACTION", "action", TSCTL_FMT_TEXT },
	{ "TARGET", "target", TSCTL_FMT_TEXT },	  { "FROM", "source_ip", TSCTL_FMT_TEXT },
	{ "DETAILS", "details", TSCTL_FMT_JSON },
};

int cmd_audit(struct tsctl_client *c, int argc, char **argv)
{
	static const char usage[] =
		"tsctl audit [--limit N] [--action ACTION] [--actor USER] [--before-id ID]";
	struct tsctl_flag f[] = { { "--limit", true, NULL },
				  { "--action", true, NULL },
				  { "--actor", true, NULL },
				  { "--before-id", true, NULL } };
	static const char *const keys[] = { "limit", "action", "actor", "before_id" };
	char path[512] = "/api/v1/audit", *pos[NPOS];
	json_t *j;
	int npos, code;

	if ((code = parse(argc, argv, f, NCOLS(f), pos, &npos, usage)))
		return code;
	if (npos)
		return tsctl_usage_error("%s", usage);
	for (size_t i = 0; i < NCOLS(f); i++)
		if (tsctl_query_add(path, sizeof(path), keys[i], f[i].value))
			return tsctl_field_error(keys[i], "too long");
	if ((code = tsctl_call(c, "GET", path, NULL, &j)))
		return code;
	if (c->o->json)
		tsctl_print_json(j);
	else
		tsctl_table_print_json(stdout, json_object_get(j, "audit"), audit_cols,
				       NCOLS(audit_cols), "no audit entries");
	json_decref(j);
	return 0;
}
