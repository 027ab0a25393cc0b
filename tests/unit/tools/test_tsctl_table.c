/*
 * Description: tsctl's readable output (tools/tsctl/table.c). Columns are as wide as their widest
 * cell, numbers align right and text left, with no trailing blanks; JSON rows become cells by
 * format (times, latencies, percentages, yes/no, "-" for null); an empty list prints its message;
 * control characters and C1 escapes from the server never reach the terminal, and long cells are
 * cut on a character boundary.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsctl.h"

/* Runs fn into a memory stream and returns the text (the caller frees it). */
static char *capture(void (*fn)(FILE *out, void *ctx), void *ctx)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	fn(f, ctx);
	fclose(f);
	return text;
}

static void print_table(FILE *out, void *ctx)
{
	tsctl_table_print(ctx, out);
}

Test(table, aligns_numbers_right_text_left)
{
	const char *h[] = { "ID", "NAME", "QTY" };
	const char *r1[] = { "7", "ann", "100" }, *r2[] = { "12", "bartholomew", "-" };
	struct tsctl_table *t = tsctl_table_new(h, 3);
	char *s;

	cr_assert_not_null(t);
	cr_assert_eq(tsctl_table_add(t, r1), 0);
	cr_assert_eq(tsctl_table_add(t, r2), 0);
	s = capture(print_table, t);
	cr_assert_str_eq(s, "ID  NAME         QTY\n"
			    " 7  ann          100\n"
			    "12  bartholomew    -\n");
	free(s);
	tsctl_table_free(t);
}

struct json_case {
	const char *json;
	const struct tsctl_col *cols;
	size_t ncols;
	const char *empty;
	int rc;
};

static void print_json(FILE *out, void *ctx)
{
	struct json_case *c = ctx;
	json_t *j = json_loads(c->json, 0, NULL);

	cr_assert_not_null(j, "%s", c->json);
	c->rc = tsctl_table_print_json(out, j, c->cols, c->ncols, c->empty);
	json_decref(j);
}

Test(table, json_rows_by_format)
{
	static const struct tsctl_col cols[] = {
		{ "ORDER", "order_id", TSCTL_FMT_TEXT },
		{ "UPDATED", "updated_ns", TSCTL_FMT_WALL_NS },
		{ "AT", "at", TSCTL_FMT_PG_TIME },
		{ "P99", "p99", TSCTL_FMT_LATENCY },
		{ "BUSY", "busy", TSCTL_FMT_PERCENT },
		{ "ON", "on", TSCTL_FMT_TEXT },
		{ "REASON", "reason", TSCTL_FMT_TEXT },
		{ "DETAILS", "details", TSCTL_FMT_JSON },
	};
	struct json_case c = {
		"[{\"order_id\":4242,\"updated_ns\":1764000001123000000,"
		"\"at\":\"2026-11-25T10:45:23.123456+00:00\",\"p99\":12345,\"busy\":0.25,"
		"\"on\":true,\"reason\":null,\"details\":{\"b\":1,\"a\":\"x\"}}]",
		cols, 8, NULL, -1
	};
	char *s = capture(print_json, &c);

	cr_assert_eq(c.rc, 0);
	cr_assert_str_eq(s,
			 "ORDER  UPDATED                  AT                   P99      BUSY  ON   "
			 "REASON  DETAILS\n"
			 " 4242  2025-11-24 16:00:01.123  2026-11-25 10:45:23  12.3us  25.0%  yes"
			 "       -  {\"a\":\"x\",\"b\":1}\n",
			 "got:\n%s", s);
	free(s);
}

Test(table, empty_list_prints_message_and_non_array_fails)
{
	static const struct tsctl_col cols[] = { { "ID", "id", TSCTL_FMT_TEXT } };
	struct json_case c = { "[]", cols, 1, "no orders", -1 };
	char *s = capture(print_json, &c);

	cr_assert_eq(c.rc, 0);
	cr_assert_str_eq(s, "no orders\n");
	free(s);
	c.json = "{\"id\":1}";
	s = capture(print_json, &c);
	cr_assert_eq(c.rc, -EINVAL);
	free(s);
}

Test(table, control_characters_never_reach_the_terminal)
{
	char out[128];

	cr_assert_str_eq(tsctl_sanitize("\x1b[31mred\x07", 0, out, sizeof(out)), "?[31mred?");
	/* U+009B is a one-byte CSI on some terminals. */
	cr_assert_str_eq(tsctl_sanitize("a\xc2\x9b"
					"2Jb",
					0, out, sizeof(out)),
			 "a?2Jb");
	cr_assert_str_eq(tsctl_sanitize("tab\there\nnl\x7f", 0, out, sizeof(out)), "tab?here?nl?");
	cr_assert_str_eq(tsctl_sanitize("d\xc3\xa9j\xc3\xa0", 0, out, sizeof(out)),
			 "d\xc3\xa9j\xc3\xa0", "UTF-8 text must pass");
}

Test(table, long_cells_cut_on_character_boundary)
{
	char out[64], small[5];

	cr_assert_str_eq(tsctl_sanitize("abcdefghij", 6, out, sizeof(out)), "abcd..");
	cr_assert_str_eq(tsctl_sanitize("abcdef", 6, out, sizeof(out)), "abcdef");
	cr_assert_str_eq(tsctl_sanitize("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3, out, sizeof(out)),
			 "\xc3\xa9..");
	/* A buffer too small for a whole sequence drops it rather than split it. */
	cr_assert_str_eq(tsctl_sanitize("abc\xe2\x82\xac", 0, small, sizeof(small)), "abc");
}

Test(table, cells_in_the_table_are_sanitized)
{
	const char *h[] = { "NAME" }, *r[] = { "\x1b]0;pwned\x07" };
	struct tsctl_table *t = tsctl_table_new(h, 1);
	char *s;

	cr_assert_eq(tsctl_table_add(t, r), 0);
	s = capture(print_table, t);
	cr_assert_null(strchr(s, '\x1b'));
	cr_assert_str_eq(s, "NAME\n?]0;pwned?\n");
	free(s);
	tsctl_table_free(t);
}

Test(table, formats)
{
	char b[64];

	cr_assert_str_eq(tsctl_fmt_latency(850, b, sizeof(b)), "850ns");
	cr_assert_str_eq(tsctl_fmt_latency(4560000, b, sizeof(b)), "4.56ms");
	cr_assert_str_eq(tsctl_fmt_latency(7890000000ull, b, sizeof(b)), "7.89s");
	cr_assert_str_eq(tsctl_fmt_uptime(45, b, sizeof(b)), "45s");
	cr_assert_str_eq(tsctl_fmt_uptime(725, b, sizeof(b)), "12m05s");
	cr_assert_str_eq(tsctl_fmt_uptime(3 * 3600 + 4 * 60 + 9, b, sizeof(b)), "3h04m");
	cr_assert_str_eq(tsctl_fmt_uptime(2 * 86400 + 5 * 3600, b, sizeof(b)), "2d05h");
	cr_assert_str_eq(tsctl_fmt_wall_ns(0, b, sizeof(b)), "-");
	cr_assert_str_eq(tsctl_fmt_pg_time("not a time", b, sizeof(b)), "not a time");
}
