/*
 * Description: log records from an attached thread reach the sink in order through the drainer;
 * a full ring and the rate limit drop and count; the level threshold skips at the call site.
 * Each Criterion test runs in its own process, so the global log state starts fresh every time.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static char capture_path[64];
static int saved_stderr = -1;

/* Sends fd 2 to a temporary file so the test can read what the sink wrote. */
static void capture_start(void)
{
	snprintf(capture_path, sizeof(capture_path), "/tmp/tradsys-log-test-XXXXXX");
	int fd = mkstemp(capture_path);
	cr_assert_geq(fd, 0);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *capture_end(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	FILE *f = fopen(capture_path, "r");
	cr_assert_not_null(f);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(capture_path);
	return buf;
}

static size_t count_lines(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

Test(log, widened_arguments_print_as_passed)
{
	char buf[128];
	const uint64_t args[] = { (uint64_t)(int64_t)-42, 18446744073709551615ull,
				  (uint64_t)(uintptr_t) "XNAS", 0xbeef, 7 };
	log_format(buf, sizeof(buf), "%d %lu %s %x %u", 5, args);
	cr_assert_str_eq(buf, "-42 18446744073709551615 XNAS beef 7");
}

Test(log, format_truncates_to_the_buffer)
{
	char buf[8];
	const uint64_t args[] = { 123456789 };
	int n = log_format(buf, sizeof(buf), "value=%lu", 1, args);
	cr_assert_eq(n, 7);
	cr_assert_str_eq(buf, "value=1");
}

Test(log, attached_thread_records_reach_the_sink_in_order)
{
	struct log_opts o = { LOG_SINK_STDERR, LOG_LEVEL_INFO, 0, 200 };
	clock_calibrate(50);
	capture_start();
	cr_assert_eq(log_start(&o), 0);
	cr_assert_eq(log_thread_attach("tworker", 1024), 0);
	cr_assert_eq(log_thread_attach("again", 1024), -EEXIST);
	for (int i = 0; i < 100; i++)
		LOG_INFO("order %d of %s", i, "XNAS");
	log_stop();
	char *out = capture_end();

	cr_assert_eq(count_lines(out, "INFO   [tworker] order "), 100, "output:\n%s", out);
	const char *p = out;
	for (int i = 0; i < 100; i++) {
		char want[64];
		snprintf(want, sizeof(want), "[tworker] order %d of XNAS\n", i);
		p = strstr(p, want);
		cr_assert_not_null(p, "line %d missing or out of order", i);
	}
}

Test(log, full_ring_drops_and_counts)
{
	struct log_opts o = { LOG_SINK_STDERR, LOG_LEVEL_INFO, 0, 200 };
	uint64_t full, rate;

	clock_calibrate(50);
	/* Not started: nothing drains, so the ring fills at 8 records. */
	log_set_level(LOG_LEVEL_INFO);
	cr_assert_eq(log_thread_attach("filler", 8), 0);
	for (int i = 0; i < 20; i++)
		LOG_INFO("msg %d", i);
	log_dropped(&full, &rate);
	cr_assert_eq(full, 12);
	cr_assert_eq(rate, 0);

	capture_start();
	cr_assert_eq(log_start(&o), 0);
	log_stop();
	char *out = capture_end();
	cr_assert_eq(count_lines(out, "[filler] msg "), 8);
	cr_assert_not_null(strstr(out, "dropped 12 records (ring full) and 0 (rate limit)"), "%s",
			   out);
}

Test(log, rate_limit_keeps_the_budget_and_counts_the_rest)
{
	struct log_opts o = { LOG_SINK_STDERR, LOG_LEVEL_INFO, 10, 200 };
	uint64_t full, rate;

	clock_calibrate(50);
	capture_start();
	cr_assert_eq(log_start(&o), 0);
	cr_assert_eq(log_thread_attach("chatty", 1024), 0);
	for (int i = 0; i < 100; i++)
		LOG_INFO("burst %d", i);
	log_dropped(&full, &rate);
	log_stop();
	char *out = capture_end();
	/* A burst of 10 passes; at most one more token can accrue while the loop runs. */
	size_t written = count_lines(out, "[chatty] burst ");
	cr_assert(written >= 10 && written <= 11, "wrote %zu", written);
	cr_assert_eq(rate, 100 - written);
	cr_assert_eq(full, 0);
}

Test(log, records_above_the_threshold_are_skipped)
{
	struct log_opts o = { LOG_SINK_STDERR, LOG_LEVEL_WARN, 0, 200 };
	uint64_t full, rate;

	clock_calibrate(50);
	capture_start();
	cr_assert_eq(log_start(&o), 0);
	cr_assert_eq(log_thread_attach("quiet", 4), 0);
	for (int i = 0; i < 50; i++)
		LOG_DEBUG("debug %d", i);
	for (int i = 0; i < 50; i++)
		LOG_INFO("info %d", i);
	LOG_ERR("limit breached on %s", "AAPL");
	log_dropped(&full, &rate);
	log_stop();
	char *out = capture_end();
	cr_assert_eq(full, 0, "skipped records never reach the ring");
	cr_assert_null(strstr(out, "info "));
	cr_assert_not_null(strstr(out, "ERR    [quiet] limit breached on AAPL"), "%s", out);
}

Test(log, unattached_thread_writes_synchronously)
{
	capture_start();
	log_set_level(LOG_LEVEL_INFO);
	LOG_WARN("started with %d workers", 3);
	char *out = capture_end();
	cr_assert_not_null(strstr(out, "WARN"));
	cr_assert_not_null(strstr(out, "started with 3 workers\n"), "%s", out);
}

Test(log, level_names_parse)
{
	enum log_level l;
	cr_assert_eq(log_level_parse("debug", &l), 0);
	cr_assert_eq(l, LOG_LEVEL_DEBUG);
	cr_assert_eq(log_level_parse("WARN", &l), 0);
	cr_assert_eq(l, LOG_LEVEL_WARN);
	cr_assert_eq(log_level_parse("loud", &l), -EINVAL);
}
