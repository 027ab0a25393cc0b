/*
 * `tsctl venues`: the venue sessions of every worker (GET /api/v1/venues) as a table or --json,
 * and `tsctl venues disconnect|connect NAME`, an operator's logout (the session stays down) and
 * reconnect, audited by the server and pushed to the workers that have the venue. Like risk set
 * and kill, an action a running worker did not take is reported and exits 5.
 */
#include <string.h>

#include "cmd.h"

#define NCOLS 13

/* One session row of the API's answer into cells. */
static void row_cells(const json_t *v, char cells[NCOLS][64])
{
	const json_t *o = json_object_get(v, "orders");

	tsctl_cell(json_object_get(v, "worker"), TSCTL_FMT_TEXT, cells[0], 64);
	tsctl_cell(json_object_get(v, "name"), TSCTL_FMT_TEXT, cells[1], 64);
	tsctl_cell(json_object_get(v, "state"), TSCTL_FMT_TEXT, cells[2], 64);
	tsctl_cell(json_object_get(v, "admin_down"), TSCTL_FMT_TEXT, cells[3], 64);
	tsctl_cell(json_object_get(v, "next_seq"), TSCTL_FMT_TEXT, cells[4], 64);
	tsctl_cell(json_object_get(v, "out_msgs"), TSCTL_FMT_TEXT, cells[5], 64);
	tsctl_cell(json_object_get(v, "in_msgs"), TSCTL_FMT_TEXT, cells[6], 64);
	tsctl_cell(json_object_get(v, "logins"), TSCTL_FMT_TEXT, cells[7], 64);
	tsctl_cell(json_object_get(v, "reconnects"), TSCTL_FMT_TEXT, cells[8], 64);
	tsctl_cell(json_object_get(o, "accepted"), TSCTL_FMT_TEXT, cells[9], 64);
	tsctl_cell(json_object_get(o, "filled"), TSCTL_FMT_TEXT, cells[10], 64);
	tsctl_cell(json_object_get(o, "canceled"), TSCTL_FMT_TEXT, cells[11], 64);
	tsctl_cell(json_object_get(o, "rejected"), TSCTL_FMT_TEXT, cells[12], 64);
}

static int venues_list(struct tsctl_client *c)
{
	static const char *const headers[NCOLS] = { "WORKER",	"VENUE",    "STATE",   "ADMIN_DOWN",
						    "NEXT_SEQ", "OUT_MSGS", "IN_MSGS", "LOGINS",
						    "RECONN",	"ACCEPTED", "FILLED",  "CANCELED",
						    "REJECTED" };
	char cells[NCOLS][64], s[160];
	const char *row[NCOLS];
	struct tsctl_table *t;
	const json_t *v, *venues;
	size_t i;
	json_t *j;
	int code = tsctl_call(c, "GET", "/api/v1/venues", NULL, &j);

	if (code)
		return code;
	if (c->o->json) {
		tsctl_print_json(j);
		json_decref(j);
		return 0;
	}
	venues = json_object_get(j, "venues");
	if (!json_is_true(json_object_get(j, "running")))
		printf("dataplane %s not running%s%s\n",
		       tsctl_cell(json_object_get(j, "instance"), TSCTL_FMT_TEXT, s, sizeof(s)),
		       json_object_get(j, "error") ? ": " : "",
		       json_object_get(j, "error") ? json_string_value(json_object_get(j, "error"))
						   : "");
	if (!json_array_size(venues)) {
		printf("no venue sessions\n");
		json_decref(j);
		return 0;
	}
	t = tsctl_table_new(headers, NCOLS);
	if (!t) {
		json_decref(j);
		return TSCTL_EXIT_SERVER;
	}
	json_array_foreach(venues, i, v)
	{
		row_cells(v, cells);
		for (int k = 0; k < NCOLS; k++)
			row[k] = cells[k];
		tsctl_table_add(t, row);
	}
	tsctl_table_print(t, stdout);
	tsctl_table_free(t);
	json_decref(j);
	return 0;
}

/* A venue name as the dataplane's config allows one, so it is safe in a URL path. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 23)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

static int venues_action(struct tsctl_client *c, const char *action, const char *name)
{
	const json_t *failed, *f;
	char path[96], err[256];
	size_t i;
	json_t *j;
	int code;

	if (!name_ok(name))
		return tsctl_field_error("name", "1 to 23 letters, digits, '-', '_' or '.'");
	snprintf(path, sizeof(path), "/api/v1/venues/%s/%s", name, action);
	if ((code = tsctl_call(c, "POST", path, NULL, &j)))
		return code;
	if (c->o->json)
		tsctl_print_json(j);
	else
		printf("venue %s: %s sent to %zu worker(s)\n", name, action,
		       json_array_size(json_object_get(j, "command_ids")));
	failed = json_object_get(j, "push_failed");
	json_array_foreach(failed, i, f)
	{
		fprintf(stderr, "tsctl: the %s was audited, but worker %lld did not take it: %s\n",
			action, (long long)json_integer_value(json_object_get(f, "worker")),
			tsctl_cell(json_object_get(f, "error"), TSCTL_FMT_TEXT, err, sizeof(err)));
	}
	code = json_array_size(failed) ? TSCTL_EXIT_SERVER : 0;
	json_decref(j);
	return code;
}

int cmd_venues(struct tsctl_client *c, int argc, char **argv)
{
	static const char usage[] = "tsctl venues [disconnect|connect NAME]";

	if (argc == 1)
		return venues_list(c);
	if (argc == 3 && (!strcmp(argv[1], "disconnect") || !strcmp(argv[1], "connect")))
		return venues_action(c, argv[1], argv[2]);
	return tsctl_usage_error("%s", usage);
}
