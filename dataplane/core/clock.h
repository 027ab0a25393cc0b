/*
 * Time for the appliance: the TSC for latency (cheap, monotonic, per-core consistent on CPUs with
 * an invariant TSC) and CLOCK_REALTIME nanoseconds for wall time. The TSC is calibrated against
 * CLOCK_MONOTONIC_RAW once at start; conversion is integer (multiply and shift), never double.
 */
#ifndef TRADSYS_CORE_CLOCK_H
#define TRADSYS_CORE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <x86intrin.h>

/* Calibration result; conversions read it without locks once clock_calibrate() has returned. */
struct clock_cal {
	uint64_t tsc_hz; /* measured TSC frequency */
	uint64_t mult; /* ns = (cycles * mult) >> CLOCK_SHIFT */
	uint64_t tsc_base; /* TSC at the calibration's end ... */
	uint64_t wall_base_ns; /* ... and CLOCK_REALTIME at the same instant */
	bool invariant; /* CPU reports constant_tsc and nonstop_tsc */
};

#define CLOCK_SHIFT 32

extern struct clock_cal clock_cal;

/* A timestamp: rdtsc with no ordering, for stamping packets and events. */
static inline uint64_t clock_tsc(void)
{
	return __rdtsc();
}

/* Start of a timed region: lfence keeps earlier instructions from drifting past the read. */
static inline uint64_t clock_tsc_start(void)
{
	_mm_lfence();
	return __rdtsc();
}

/* End of a timed region: rdtscp waits for earlier instructions, lfence stops later ones. */
static inline uint64_t clock_tsc_end(void)
{
	unsigned int aux;
	uint64_t t = __rdtscp(&aux);
	_mm_lfence();
	return t;
}

/* Cycles to nanoseconds with the calibrated multiplier. */
static inline uint64_t clock_cycles_to_ns(uint64_t cycles)
{
	return (uint64_t)(((unsigned __int128)cycles * clock_cal.mult) >> CLOCK_SHIFT);
}

/* Wall-clock nanoseconds since the epoch for a TSC reading taken after calibration. */
static inline uint64_t clock_tsc_to_wall_ns(uint64_t tsc)
{
	if (tsc >= clock_cal.tsc_base)
		return clock_cal.wall_base_ns + clock_cycles_to_ns(tsc - clock_cal.tsc_base);
	return clock_cal.wall_base_ns - clock_cycles_to_ns(clock_cal.tsc_base - tsc);
}

/* CLOCK_REALTIME in nanoseconds since the epoch (vDSO; not for the per-packet path). */
static inline uint64_t clock_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC_RAW in nanoseconds: the reference the TSC is calibrated against. */
static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Measures the TSC frequency against CLOCK_MONOTONIC_RAW over window_ms milliseconds (100 is
 * plenty at start; longer windows are more exact) and fills clock_cal. Call once per process
 * before any conversion. Returns 0, or -EINVAL if window_ms is 0, or -ENOTSUP if the TSC did
 * not advance.
 */
int clock_calibrate(unsigned int window_ms);

/* True if /proc/cpuinfo lists constant_tsc and nonstop_tsc (TSC usable across cores and idle). */
bool clock_tsc_invariant(void);

#endif
