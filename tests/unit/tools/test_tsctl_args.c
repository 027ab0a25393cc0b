/*
 * Description: tsctl's command line (tools/tsctl/args.c). Global options are taken wherever they
 * stand and the rest keeps its order; the environment fills what is not given; a non-https URL,
 * a missing value and an unknown command option are refused; command flags and positionals are
 * split; integers are checked whole and in range; HTTP statuses map to the documented exit codes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tsctl.h"

static const char *no_env(const char *name)
{
	return !strcmp(name, "HOME") ? "/home/op" : NULL;
}

static const char *full_env(const char *name)
{
	if (!strcmp(name, "TSCTL_URL"))
		return "https://env.example:9443/";
	if (!strcmp(name, "TSCTL_CACERT"))
		return "/etc/env.pem";
	return no_env(name);
}

#define ARGV(...) ((char *[]){ "tsctl", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "tsctl", __VA_ARGS__ }) / sizeof(char *)))

Test(args, globals_anywhere_rest_in_order)
{
	char **argv = ARGV("orders", "--url", "https://h:1", "--status", "open", "--json",
			   "--cacert=/c.pem", "--token-file", "/t");
	int argc = ARGC("orders", "--url", "https://h:1", "--status", "open", "--json",
			"--cacert=/c.pem", "--token-file", "/t");
	struct tsctl_opts o;
	char *rest[16], err[128];
	int n;

	cr_assert_eq(tsctl_opts_parse(argc, argv, no_env, &o, rest, &n, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(o.url, "https://h:1");
	cr_assert_str_eq(o.cacert, "/c.pem");
	cr_assert_str_eq(o.token_file, "/t");
	cr_assert(o.json);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(rest[0], "orders");
	cr_assert_str_eq(rest[1], "--status");
	cr_assert_str_eq(rest[2], "open");
}

Test(args, environment_and_defaults)
{
	char **argv = ARGV("status");
	struct tsctl_opts o;
	char *rest[4], err[128];
	int n;

	cr_assert_eq(tsctl_opts_parse(2, argv, full_env, &o, rest, &n, err, sizeof(err)), 0);
	cr_assert_str_eq(o.url, "https://env.example:9443", "trailing slash kept: %s", o.url);
	cr_assert_str_eq(o.cacert, "/etc/env.pem");
	cr_assert_str_eq(o.token_file, "/home/op/.config/tradsys/token");
	cr_assert_not(o.json);
	cr_assert_eq(tsctl_opts_parse(2, argv, no_env, &o, rest, &n, err, sizeof(err)), 0);
	cr_assert_str_eq(o.url, "", "no URL given must stay empty for the token file's");
}

Test(args, refuses_plain_http_and_missing_value)
{
	struct tsctl_opts o;
	char *rest[8], err[128];
	int n;

	cr_assert_eq(tsctl_opts_parse(3, ARGV("--url", "http://h:1"), no_env, &o, rest, &n, err,
				      sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "https://"), "%s", err);
	cr_assert_eq(tsctl_opts_parse(3, ARGV("status", "--url"), no_env, &o, rest, &n, err,
				      sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "--url needs a value"), "%s", err);
}

Test(args, double_dash_ends_global_options)
{
	struct tsctl_opts o;
	char *rest[8], err[128];
	int n;

	cr_assert_eq(tsctl_opts_parse(4, ARGV("users", "--", "--json"), no_env, &o, rest, &n, err,
				      sizeof(err)),
		     0);
	cr_assert_not(o.json);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(rest[2], "--json");
}

Test(args, command_flags_and_positionals)
{
	struct tsctl_flag f[] = { { "--scope", true, NULL }, { "--once", false, NULL } };
	char *argv[] = { "on", "--scope=account", "-3", "--once" };
	char *pos[4], err[128];
	int n;

	cr_assert_eq(tsctl_flags_parse(4, argv, f, 2, pos, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(f[0].value, "account");
	cr_assert_str_eq(f[1].value, "");
	cr_assert_eq(n, 2);
	cr_assert_str_eq(pos[0], "on");
	cr_assert_str_eq(pos[1], "-3", "a negative number is a positional, not an option");
}

Test(args, command_flag_errors)
{
	struct tsctl_flag f[] = { { "--id", true, NULL } };
	char *unknown[] = { "--ids", "3" }, *twice[] = { "--id", "1", "--id=2" },
	     *last[] = { "--id" };
	char *pos[4], err[128];
	int n;

	cr_assert_eq(tsctl_flags_parse(2, unknown, f, 1, pos, &n, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "unknown option '--ids'"), "%s", err);
	cr_assert_eq(tsctl_flags_parse(3, twice, f, 1, pos, &n, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "given twice"), "%s", err);
	cr_assert_eq(tsctl_flags_parse(1, last, f, 1, pos, &n, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "needs a value"), "%s", err);
}

Test(args, integers_whole_and_in_range)
{
	int64_t v = 0;

	cr_assert_eq(tsctl_parse_int("42", 0, 100, &v), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(tsctl_parse_int("-7", -10, 10, &v), 0);
	cr_assert_eq(v, -7);
	cr_assert_eq(tsctl_parse_int("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	cr_assert_eq(v, INT64_MAX);
	cr_assert_eq(tsctl_parse_int("4x", 0, 100, &v), -EINVAL);
	cr_assert_eq(tsctl_parse_int("", 0, 100, &v), -EINVAL);
	cr_assert_eq(tsctl_parse_int(" 4", 0, 100, &v), -EINVAL);
	cr_assert_eq(tsctl_parse_int("+4", 0, 100, &v), -EINVAL);
	cr_assert_eq(tsctl_parse_int("101", 0, 100, &v), -ERANGE);
	cr_assert_eq(tsctl_parse_int("99999999999999999999", INT64_MIN, INT64_MAX, &v), -ERANGE);
}

Test(args, exit_codes_for_statuses)
{
	cr_assert_eq(tsctl_exit_for_status(200), TSCTL_EXIT_OK);
	cr_assert_eq(tsctl_exit_for_status(204), TSCTL_EXIT_OK);
	cr_assert_eq(tsctl_exit_for_status(401), TSCTL_EXIT_AUTH);
	cr_assert_eq(tsctl_exit_for_status(403), TSCTL_EXIT_AUTH);
	cr_assert_eq(tsctl_exit_for_status(404), TSCTL_EXIT_NOT_FOUND);
	cr_assert_eq(tsctl_exit_for_status(400), TSCTL_EXIT_BAD_REQUEST);
	cr_assert_eq(tsctl_exit_for_status(409), TSCTL_EXIT_BAD_REQUEST);
	cr_assert_eq(tsctl_exit_for_status(413), TSCTL_EXIT_BAD_REQUEST);
	cr_assert_eq(tsctl_exit_for_status(429), TSCTL_EXIT_SERVER);
	cr_assert_eq(tsctl_exit_for_status(503), TSCTL_EXIT_SERVER);
	cr_assert_eq(tsctl_exit_for_status(0), TSCTL_EXIT_SERVER);
}
