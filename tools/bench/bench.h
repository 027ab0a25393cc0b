/*
 * tradsys-bench: the suite registry and result printing. Each suite runs its workload several
 * times after a warm-up and prints one JSON object per line per statistic, so a script can
 * compare runs. The machine is a VM that the host may pause: report min and median, not mean.
 */
#ifndef TRADSYS_BENCH_H
#define TRADSYS_BENCH_H

#include <stddef.h>
#include <stdint.h>

struct bench_opts {
	unsigned int runs; /* measured repetitions (warm-up excluded) */
	uint64_t ops; /* operations per repetition; 0 means the suite's default */
	int cpu_a, cpu_b; /* cores for two-sided suites */
	const char *file; /* input file for suites that read one */
};

struct bench_suite {
	const char *name;
	const char *help;
	int (*run)(const struct bench_opts *opts);
};

/*
 * Prints min and median of samples[0..n) (and max for a rate, a unit ending in "/s") as JSON
 * lines: suite, name, metric, stat, value, unit, followed by the workload parameters given as a
 * preformatted JSON fragment
 * ("\"batch\":32,\"items\":10000000") or NULL. Sorts samples in place.
 */
void bench_report(const char *suite, const char *name, const char *metric, const char *unit,
		  double *samples, unsigned int n, const char *workload);

/* Prints one value (a percentile, a count) as a JSON line with stat "value". */
void bench_report_value(const char *suite, const char *name, const char *metric, const char *unit,
			double value, const char *workload);

/* Seconds between two TSC readings, using the calibrated clock. */
double bench_seconds(uint64_t tsc0, uint64_t tsc1);

/* Adds a suite to the runner; called before main() by BENCH_SUITE. */
void bench_register(const struct bench_suite *suite);

/* Defines and registers a suite: each bench_*.c file in tools/bench declares its own. */
#define BENCH_SUITE(var, name, help, fn)                                                          \
	static const struct bench_suite var = { name, help, fn };                                 \
	__attribute__((constructor)) static void var##_register(void)                             \
	{                                                                                         \
		bench_register(&var);                                                             \
	}

#endif
