/*
 * Description: TSC calibration against CLOCK_MONOTONIC_RAW, conversions, and the fenced reads.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <time.h>

#include "clock.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

Test(clock, calibration_within_one_percent_of_monotonic_over_a_second)
{
	cr_assert_eq(clock_calibrate(1000), 0);
	cr_assert_gt(clock_cal.tsc_hz, 100000000ull, "TSC at %lu Hz is implausible",
		     clock_cal.tsc_hz);

	uint64_t t0 = clock_tsc_start(), n0 = clock_mono_ns();
	sleep_ms(1000);
	uint64_t t1 = clock_tsc_end(), n1 = clock_mono_ns();

	int64_t by_tsc = (int64_t)clock_cycles_to_ns(t1 - t0);
	int64_t by_mono = (int64_t)(n1 - n0);
	int64_t diff = by_tsc > by_mono ? by_tsc - by_mono : by_mono - by_tsc;
	cr_assert_leq(diff * 100, by_mono, "TSC says %ld ns, CLOCK_MONOTONIC_RAW %ld ns", by_tsc,
		      by_mono);
}

Test(clock, one_second_of_cycles_converts_to_one_second)
{
	cr_assert_eq(clock_calibrate(100), 0);
	uint64_t ns = clock_cycles_to_ns(clock_cal.tsc_hz);
	cr_assert(ns > 999000000ull && ns < 1001000000ull, "got %lu ns", ns);
	cr_assert_eq(clock_cycles_to_ns(0), 0);
}

Test(clock, tsc_to_wall_matches_realtime)
{
	cr_assert_eq(clock_calibrate(100), 0);
	sleep_ms(50);
	uint64_t wall = clock_wall_ns();
	uint64_t from_tsc = clock_tsc_to_wall_ns(clock_tsc());
	int64_t diff = (int64_t)(from_tsc - wall);
	cr_assert(diff > -2000000 && diff < 2000000, "TSC wall time off by %ld ns", diff);
	/* A reading from before the anchor converts to an earlier wall time. */
	cr_assert_lt(clock_tsc_to_wall_ns(clock_cal.tsc_base - clock_cal.tsc_hz),
		     clock_cal.wall_base_ns);
}

Test(clock, reads_are_monotonic_on_one_thread)
{
	uint64_t prev = clock_tsc_start();
	for (int i = 0; i < 100000; i++) {
		uint64_t now = (i & 1) ? clock_tsc_end() : clock_tsc();
		cr_assert_geq(now, prev);
		prev = now;
	}
}

Test(clock, zero_window_is_rejected)
{
	cr_assert_eq(clock_calibrate(0), -EINVAL);
}
