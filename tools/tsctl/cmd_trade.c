/*
 * tsctl's trading commands: orders (list with filters), order show/new/cancel, positions and
 * balances. Numbers given on the command line are checked to be integers here, so a typo is
 * reported with the field's name without a round trip; ranges and everything else are the
 * server's to judge, and its 400 names the field the same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define NPOS 16

static const struct tsctl_col order_cols[] = {
	{ "ORDER", "order_id", TSCTL_FMT_TEXT },
	{ "WORKER", "worker", TSCTL_FMT_TEXT },
	{ "ACCOUNT", "account_id", TSCTL_FMT_TEXT },
	{ "INSTRUMENT", "instrument_id", TSCTL_FMT_TEXT },
	{ "VENUE", "venue_id", TSCTL_FMT_TEXT },
	{ "SIDE", "side", TSCTL_FMT_TEXT },
	{ "PRICE", "price", TSCTL_FMT_TEXT },
	{ "QTY", "qty", TSCTL_FMT_TEXT },
	{ "LEAVES", "leaves", TSCTL_FMT_TEXT },
	{ "FILLED", "cum_qty", TSCTL_FMT_TEXT },
	{ "STATUS", "status", TSCTL_FMT_TEXT },
	{ "UPDATED (UTC)", "updated_ns", TSCTL_FMT_WALL_NS },
};

static const struct tsctl_col event_cols[] = {
	{ "SEQ", "seq", TSCTL_FMT_TEXT },
	{ "EVENT", "event_type", TSCTL_FMT_TEXT },
	{ "TIME (UTC)", "wall_ns", TSCTL_FMT_WALL_NS },
	{ "PRICE", "price", TSCTL_FMT_TEXT },
	{ "QTY", "qty", TSCTL_FMT_TEXT },
	{ "LEAVES", "leaves", TSCTL_FMT_TEXT },
	{ "LAST_PX", "last_px", TSCTL_FMT_TEXT },
	{ "LAST_QTY", "last_qty", TSCTL_FMT_TEXT },
	{ "REASON", "reason", TSCTL_FMT_TEXT },
};

static const struct tsctl_col position_cols[] = {
	{ "ACCOUNT", "account_id", TSCTL_FMT_TEXT },
	{ "INSTRUMENT", "instrument_id", TSCTL_FMT_TEXT },
	{ "QTY", "qty", TSCTL_FMT_TEXT },
	{ "AVG_PRICE", "avg_price", TSCTL_FMT_TEXT },
	{ "REALIZED_PNL", "realized_pnl", TSCTL_FMT_TEXT },
	{ "UPDATED (UTC)", "updated_at", TSCTL_FMT_PG_TIME },
};

static const struct tsctl_col balance_cols[] = {
	{ "ACCOUNT", "account_id", TSCTL_FMT_TEXT },
	{ "CURRENCY", "currency", TSCTL_FMT_TEXT },
	{ "AMOUNT", "amount", TSCTL_FMT_TEXT },
	{ "UPDATED (UTC)", "updated_at", TSCTL_FMT_PG_TIME },
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* Parses a command's flags; on error prints the usage and returns TSCTL_EXIT_USAGE. */
static int parse(int argc, char **argv, struct tsctl_flag *flags, size_t nflags, char **pos,
		 int *npos, const char *usage)
{
	char err[160];

	if (argc - 1 > NPOS) {
		tsctl_usage_error("too many arguments; %s", usage);
		return TSCTL_EXIT_USAGE;
	}
	if (tsctl_flags_parse(argc - 1, argv + 1, flags, nflags, pos, npos, err, sizeof(err))) {
		tsctl_usage_error("%s; %s", err, usage);
		return TSCTL_EXIT_USAGE;
	}
	return 0;
}

/* GETs path and prints member key of the answer as a table (or the answer with --json). */
static int list(struct tsctl_client *c, const char *path, const char *key,
		const struct tsctl_col *cols, size_t ncols, const char *empty)
{
	json_t *j;
	int code = tsctl_call(c, "GET", path, NULL, &j);

	if (code)
		return code;
	if (c->o->json)
		tsctl_print_json(j);
	else if (tsctl_table_print_json(stdout, json_object_get(j, key), cols, ncols, empty))
		code = TSCTL_EXIT_SERVER;
	if (code)
		fprintf(stderr, "tsctl: the answer has no '%s' list\n", key);
	json_decref(j);
	return code;
}

int cmd_orders(struct tsctl_client *c, int argc, char **argv)
{
	static const char usage[] =
		"tsctl orders [--status S] [--account N] [--instrument N] [--limit N]";
	struct tsctl_flag f[] = { { "--status", true, NULL },
				  { "--account", true, NULL },
				  { "--instrument", true, NULL },
				  { "--limit", true, NULL } };
	char path[512] = "/api/v1/orders", *pos[NPOS];
	int npos, code;

	if ((code = parse(argc, argv, f, NCOLS(f), pos, &npos, usage)))
		return code;
	if (npos)
		return tsctl_usage_error("%s", usage);
	for (size_t i = 0; i < NCOLS(f); i++)
		if (tsctl_query_add(path, sizeof(path), f[i].name + 2, f[i].value))
			return tsctl_field_error(f[i].name + 2, "too long");
	return list(c, path, "orders", order_cols, NCOLS(order_cols), "no orders");
}

/* An id argument: a positive integer, or exit 4 naming field. */
static int parse_id(const char *s, const char *field, int64_t *out)
{
	if (tsctl_parse_int(s, 1, INT64_MAX, out))
		return tsctl_field_error(field, "must be a positive integer");
	return 0;
}

static int order_show(struct tsctl_client *c, const char *id_arg)
{
	static const struct {
		const char *label, *key;
		enum tsctl_fmt fmt;
	} fields[] = {
		{ "order", "order_id", TSCTL_FMT_TEXT },
		{ "status", "status", TSCTL_FMT_TEXT },
		{ "account", "account_id", TSCTL_FMT_TEXT },
		{ "instrument", "instrument_id", TSCTL_FMT_TEXT },
		{ "venue", "venue_id", TSCTL_FMT_TEXT },
		{ "side", "side", TSCTL_FMT_TEXT },
		{ "price", "price", TSCTL_FMT_TEXT },
		{ "qty", "qty", TSCTL_FMT_TEXT },
		{ "leaves", "leaves", TSCTL_FMT_TEXT },
		{ "filled", "cum_qty", TSCTL_FMT_TEXT },
		{ "reason", "reason", TSCTL_FMT_TEXT },
		{ "worker", "worker", TSCTL_FMT_TEXT },
		{ "strategy", "strategy_id", TSCTL_FMT_TEXT },
		{ "venue order", "venue_order_id", TSCTL_FMT_TEXT },
		{ "replaces", "orig_order_id", TSCTL_FMT_TEXT },
		{ "created", "created_ns", TSCTL_FMT_WALL_NS },
		{ "updated", "updated_ns", TSCTL_FMT_WALL_NS },
	};
	char path[64], cell[512];
	int64_t id;
	json_t *j;
	int code;

	if ((code = parse_id(id_arg, "id", &id)))
		return code;
	snprintf(path, sizeof(path), "/api/v1/orders/%lld", (long long)id);
	if ((code = tsctl_call(c, "GET", path, NULL, &j)))
		return code;
	if (c->o->json) {
		tsctl_print_json(j);
	} else {
		for (size_t i = 0; i < NCOLS(fields); i++)
			printf("%-12s %s\n", fields[i].label,
			       tsctl_cell(json_object_get(j, fields[i].key), fields[i].fmt, cell,
					  sizeof(cell)));
		printf("\n");
		tsctl_table_print_json(stdout, json_object_get(j, "events"), event_cols,
				       NCOLS(event_cols), "no events");
	}
	json_decref(j);
	return 0;
}

static int order_new(struct tsctl_client *c, char **pos, const struct tsctl_flag *f)
{
	static const char *const names[] = {
		"account", "venue", "instrument", NULL, "qty", "price"
	};
	int64_t v[6] = { 0 };
	json_t *body, *j;
	int code;

	for (int i = 0; i < 6; i++)
		if (names[i] && tsctl_parse_int(pos[i], INT64_MIN, INT64_MAX, &v[i]))
			return tsctl_field_error(names[i], "must be an integer");
	body = json_pack("{s:I, s:I, s:I, s:s, s:I, s:I}", "account", (json_int_t)v[0], "venue",
			 (json_int_t)v[1], "instrument", (json_int_t)v[2], "side", pos[3], "qty",
			 (json_int_t)v[4], "price", (json_int_t)v[5]);
	for (int i = 0; i < 2 && body; i++) {
		int64_t x;

		if (!f[i].value)
			continue;
		if (tsctl_parse_int(f[i].value, INT64_MIN, INT64_MAX, &x)) {
			json_decref(body);
			return tsctl_field_error(f[i].name + 2, "must be an integer");
		}
		json_object_set_new(body, i ? "tif" : "ord_type", json_integer((json_int_t)x));
	}
	if (!body)
		return TSCTL_EXIT_SERVER;
	code = tsctl_call(c, "POST", "/api/v1/orders", body, &j);
	json_decref(body);
	if (code)
		return code;
	if (c->o->json)
		tsctl_print_json(j);
	else
		printf("order sent: client order id %lld (command %lld, worker %lld); it passes the "
		       "worker's risk checks, see tsctl orders\n",
		       (long long)json_integer_value(json_object_get(j, "client_order_id")),
		       (long long)json_integer_value(json_object_get(j, "command_id")),
		       (long long)json_integer_value(json_object_get(j, "worker")));
	json_decref(j);
	return 0;
}

static int order_cancel(struct tsctl_client *c, const char *id_arg)
{
	char path[64];
	int64_t id;
	json_t *j;
	int code;

	if ((code = parse_id(id_arg, "id", &id)))
		return code;
	snprintf(path, sizeof(path), "/api/v1/orders/%lld", (long long)id);
	if ((code = tsctl_call(c, "DELETE", path, NULL, &j)))
		return code;
	if (c->o->json)
		tsctl_print_json(j);
	else
		printf("cancel sent for order %lld (command %lld)\n", (long long)id,
		       (long long)json_integer_value(json_object_get(j, "command_id")));
	json_decref(j);
	return 0;
}

int cmd_order(struct tsctl_client *c, int argc, char **argv)
{
	static const char usage[] = "tsctl order show ID | order new ACCOUNT VENUE INSTRUMENT "
				    "B|S QTY PRICE [--type N] [--tif N] | order cancel ID";
	struct tsctl_flag f[] = { { "--type", true, NULL }, { "--tif", true, NULL } };
	char *pos[NPOS];
	int npos, code;

	if ((code = parse(argc, argv, f, NCOLS(f), pos, &npos, usage)))
		return code;
	if (npos == 2 && !strcmp(pos[0], "show") && !f[0].value && !f[1].value)
		return order_show(c, pos[1]);
	if (npos == 2 && !strcmp(pos[0], "cancel") && !f[0].value && !f[1].value)
		return order_cancel(c, pos[1]);
	if (npos == 7 && !strcmp(pos[0], "new"))
		return order_new(c, pos + 1, f);
	return tsctl_usage_error("%s", usage);
}

static int account_list(struct tsctl_client *c, int argc, char **argv, const char *what,
			const struct tsctl_col *cols, size_t ncols)
{
	struct tsctl_flag f[] = { { "--account", true, NULL } };
	char path[256], usage[64], empty[32], *pos[NPOS];
	int npos, code;

	snprintf(usage, sizeof(usage), "tsctl %s [--account N]", what);
	if ((code = parse(argc, argv, f, 1, pos, &npos, usage)))
		return code;
	if (npos)
		return tsctl_usage_error("%s", usage);
	snprintf(path, sizeof(path), "/api/v1/%s", what);
	if (tsctl_query_add(path, sizeof(path), "account", f[0].value))
		return tsctl_field_error("account", "too long");
	snprintf(empty, sizeof(empty), "no %s", what);
	return list(c, path, what, cols, ncols, empty);
}

int cmd_positions(struct tsctl_client *c, int argc, char **argv)
{
	return account_list(c, argc, argv, "positions", position_cols, NCOLS(position_cols));
}

int cmd_balances(struct tsctl_client *c, int argc, char **argv)
{
	return account_list(c, argc, argv, "balances", balance_cols, NCOLS(balance_cols));
}
