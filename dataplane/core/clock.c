/*
 * TSC calibration. The TSC and CLOCK_MONOTONIC_RAW are sampled together at both ends of a window;
 * each pair is taken as the tightest of a few tries so a preemption between the two reads does
 * not skew the result. The result is a fixed-point multiplier, so the hot path never divides.
 */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct clock_cal clock_cal = {
	.tsc_hz = 1000000000ull,
	.mult = 1ull << CLOCK_SHIFT,
};

/* Reads the TSC and the reference clock as close together as the machine allows. */
static void sample_pair(uint64_t *tsc, uint64_t *mono_ns)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 16; i++) {
		uint64_t t0 = clock_tsc_start();
		uint64_t ns = clock_mono_ns();
		uint64_t t1 = clock_tsc_end();

		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*mono_ns = ns;
		}
	}
}

bool clock_tsc_invariant(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool constant = false, nonstop = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		constant = strstr(line, " constant_tsc") != NULL;
		nonstop = strstr(line, " nonstop_tsc") != NULL;
		break;
	}
	fclose(f);
	return constant && nonstop;
}

int clock_calibrate(unsigned int window_ms)
{
	uint64_t tsc0 = 0, ns0 = 0, tsc1 = 0, ns1 = 0;
	struct timespec req;

	if (window_ms == 0)
		return -EINVAL;
	sample_pair(&tsc0, &ns0);
	req.tv_sec = window_ms / 1000;
	req.tv_nsec = (long)(window_ms % 1000) * 1000000L;
	while (nanosleep(&req, &req) != 0 && errno == EINTR)
		;
	sample_pair(&tsc1, &ns1);
	if (tsc1 <= tsc0 || ns1 <= ns0)
		return -ENOTSUP;

	uint64_t dtsc = tsc1 - tsc0, dns = ns1 - ns0;
	clock_cal.tsc_hz = (uint64_t)(((unsigned __int128)dtsc * 1000000000ull) / dns);
	clock_cal.mult = (uint64_t)(((unsigned __int128)dns << CLOCK_SHIFT) / dtsc);
	clock_cal.invariant = clock_tsc_invariant();
	/* Anchor wall time to the TSC at one instant for clock_tsc_to_wall_ns(). */
	uint64_t t0 = clock_tsc_start();
	uint64_t wall = clock_wall_ns();
	uint64_t t1 = clock_tsc_end();
	clock_cal.tsc_base = t0 + (t1 - t0) / 2;
	clock_cal.wall_base_ns = wall;
	return 0;
}
