/*
 * Description: config parsing with inih, typed getters, and errors that name file, line and key.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static const char sample[] = "# tradsys test config\n"
			     "[appliance]\n"
			     "instance_id = 7\n"
			     "driver = xdp\n"
			     "\n"
			     "[worker.0]\n"
			     "core = 1\n"
			     "pool = 64M\n"
			     "busy_poll = yes\n"
			     "[worker.1]\n"
			     "core = 2\n"
			     "offset = -15\n";

static struct config *parse(const char *text)
{
	char err[256] = "";
	struct config *c = config_parse(text, strlen(text), "test.conf", err, sizeof(err));
	cr_assert_not_null(c, "parse failed: %s", err);
	return c;
}

Test(config, typed_values_parse)
{
	struct config *c = parse(sample);
	uint64_t id = 0, core = 99, pool = 0;
	int64_t off = 0;
	bool busy = false;
	int drv = -1;
	static const char *const drivers[] = { "dpdk", "xdp", "uring" };

	cr_assert_eq(config_u64(c, "appliance", "instance_id", 0, 1000, &id), 0);
	cr_assert_eq(id, 7);
	cr_assert_eq(config_enum(c, "appliance", "driver", drivers, 3, &drv), 0);
	cr_assert_eq(drv, 1);
	cr_assert_eq(config_u64(c, "worker.0", "core", 0, 1023, &core), 0);
	cr_assert_eq(core, 1);
	cr_assert_eq(config_size(c, "worker.0", "pool", 0, UINT64_MAX, &pool), 0);
	cr_assert_eq(pool, 64ull << 20);
	cr_assert_eq(config_bool(c, "worker.0", "busy_poll", &busy), 0);
	cr_assert(busy);
	cr_assert_eq(config_i64(c, "worker.1", "offset", -100, 100, &off), 0);
	cr_assert_eq(off, -15);
	config_free(c);
}

Test(config, absent_keys_keep_the_default)
{
	struct config *c = parse(sample);
	uint64_t v = 1234;
	const char *s = "dflt";
	cr_assert_eq(config_u64(c, "appliance", "missing", 0, 10000, &v), 0);
	cr_assert_eq(v, 1234);
	cr_assert_eq(config_str(c, "nosuch", "key", &s), 0);
	cr_assert_str_eq(s, "dflt");
	cr_assert_null(config_get(c, "appliance", "missing"));
	config_free(c);
}

Test(config, bad_integer_names_file_line_and_key)
{
	struct config *c = parse("[a]\nx = 1\n\n[worker.3]\ncore = two\n");
	uint64_t v = 0;
	cr_assert_eq(config_u64(c, "worker.3", "core", 0, 64, &v), -EINVAL);
	cr_assert_str_eq(config_error(c),
			 "test.conf:5: [worker.3] core: 'two' is not an unsigned integer");
	config_free(c);
}

Test(config, out_of_range_names_the_bounds)
{
	struct config *c = parse("[risk]\nmax_qty = 5000000\n");
	uint64_t v = 0;
	cr_assert_eq(config_u64(c, "risk", "max_qty", 1, 1000000, &v), -EINVAL);
	cr_assert_str_eq(config_error(c),
			 "test.conf:2: [risk] max_qty: 5000000 is outside [1, 1000000]");
	cr_assert_eq(v, 0, "the output is untouched on error");
	config_free(c);
}

Test(config, negative_is_not_unsigned_and_junk_is_not_a_size)
{
	struct config *c = parse("[a]\nn = -1\ns = 12Q\nb = maybe\ne = fpga\n");
	uint64_t v;
	bool b;
	int e;
	static const char *const names[] = { "dpdk", "xdp" };
	cr_assert_eq(config_u64(c, "a", "n", 0, 10, &v), -EINVAL);
	cr_assert_eq(config_size(c, "a", "s", 0, UINT64_MAX, &v), -EINVAL);
	cr_assert(strstr(config_error(c), "test.conf:3: [a] s:") != NULL, "%s", config_error(c));
	cr_assert_eq(config_bool(c, "a", "b", &b), -EINVAL);
	cr_assert(strstr(config_error(c), "test.conf:4: [a] b: 'maybe'") != NULL);
	cr_assert_eq(config_enum(c, "a", "e", names, 2, &e), -EINVAL);
	cr_assert_str_eq(config_error(c), "test.conf:5: [a] e: 'fpga' is not one of: dpdk, xdp");
	config_free(c);
}

Test(config, syntax_error_names_the_line)
{
	char err[256];
	const char *text = "[a]\nx = 1\nthis line has no equals sign\n";
	cr_assert_null(config_parse(text, strlen(text), "bad.conf", err, sizeof(err)));
	cr_assert(strncmp(err, "bad.conf:3: ", 12) == 0, "%s", err);
}

Test(config, duplicate_key_is_an_error_on_its_line)
{
	char err[256];
	const char *text = "[a]\nx = 1\n# comment\nx = 2\n";
	cr_assert_null(config_parse(text, strlen(text), "dup.conf", err, sizeof(err)));
	cr_assert_str_eq(err, "dup.conf:4: [a] x: duplicate key");
}

Test(config, overlong_line_is_an_error_on_its_own_line)
{
	char text[2048], err[256];
	char longval[600];
	memset(longval, 'v', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	snprintf(text, sizeof(text), "[a]\nx = 1\n# %s\nk = 2\n", longval);
	cr_assert_null(config_parse(text, strlen(text), "long.conf", err, sizeof(err)));
	cr_assert_str_eq(err, "long.conf:3: line too long");
}

Test(config, crlf_and_missing_final_newline_parse)
{
	struct config *c = parse("[a]\r\nx = 1\r\ny = 2");
	cr_assert_str_eq(config_get(c, "a", "x"), "1");
	cr_assert_str_eq(config_get(c, "a", "y"), "2");
	config_free(c);
}

Test(config, unknown_key_is_named)
{
	struct config *c = parse(sample);
	static const char *const worker_keys[] = { "core", "pool", "busy_poll", NULL };
	cr_assert_eq(config_check_keys(c, "worker", worker_keys), -EINVAL);
	cr_assert_str_eq(config_error(c), "test.conf:12: [worker.1] offset: unknown key");
	static const char *const app_keys[] = { "instance_id", "driver", NULL };
	cr_assert_eq(config_check_keys(c, "appliance", app_keys), 0);
	config_free(c);
}

Test(config, required_key_missing_is_named)
{
	struct config *c = parse(sample);
	cr_assert_eq(config_require(c, "appliance", "instance_id"), 0);
	cr_assert_eq(config_require(c, "database", "url"), -ENOENT);
	cr_assert_str_eq(config_error(c), "test.conf: [database] url: required but missing");
	config_free(c);
}

Test(config, sections_are_listed_by_prefix_in_file_order)
{
	struct config *c = parse(sample);
	const char *names[4];
	cr_assert_eq(config_sections(c, "worker", names, 4), 2);
	cr_assert_str_eq(names[0], "worker.0");
	cr_assert_str_eq(names[1], "worker.1");
	cr_assert_eq(config_sections(c, "work", names, 4), 0, "prefix must end at a dot");
	config_free(c);
}

Test(config, load_reads_a_file_and_missing_file_is_named)
{
	char path[] = "/tmp/tradsys-config-test-XXXXXX", err[256];
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, sample, strlen(sample)), (ssize_t)strlen(sample));
	close(fd);
	struct config *c = config_load(path, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_assert_str_eq(config_get(c, "appliance", "driver"), "xdp");
	config_free(c);
	unlink(path);
	cr_assert_null(config_load(path, err, sizeof(err)));
	cr_assert(strstr(err, "No such file or directory") != NULL, "%s", err);
	cr_assert(strncmp(err, path, strlen(path)) == 0);
}
