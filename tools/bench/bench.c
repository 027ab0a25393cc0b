/*
 * tradsys-bench <suite> [--runs N] [--ops N] [--cpus A,B] [--file F]: runs one benchmark suite
 * (or "all") and prints JSON lines. "list" names the suites.
 */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define BENCH_MAX_SUITES 64

static const struct bench_suite *suites[BENCH_MAX_SUITES];
static size_t nsuites;

void bench_register(const struct bench_suite *suite)
{
	if (nsuites < BENCH_MAX_SUITES)
		suites[nsuites++] = suite;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void print_line(const char *suite, const char *name, const char *metric, const char *stat,
		       double value, const char *unit, unsigned int runs, const char *workload)
{
	printf("{\"suite\":\"%s\",\"name\":\"%s\",\"metric\":\"%s\",\"stat\":\"%s\",\"value\":%.3f,"
	       "\"unit\":\"%s\",\"runs\":%u%s%s}\n",
	       suite, name, metric, stat, value, unit, runs, workload ? "," : "",
	       workload ? workload : "");
}

void bench_report(const char *suite, const char *name, const char *metric, const char *unit,
		  double *samples, unsigned int n, const char *workload)
{
	if (n == 0)
		return;
	qsort(samples, n, sizeof(double), cmp_double);
	double median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
	/* For throughput the best run is the largest; for time per op, the smallest. */
	int higher_better = strstr(unit, "/s") != NULL;
	/* Throughput: the worst run too, since a VM pause or a neighbour shows there first. */
	if (higher_better)
		print_line(suite, name, metric, "min", samples[0], unit, n, workload);
	print_line(suite, name, metric, higher_better ? "max" : "min",
		   higher_better ? samples[n - 1] : samples[0], unit, n, workload);
	print_line(suite, name, metric, "median", median, unit, n, workload);
	fflush(stdout);
}

void bench_report_value(const char *suite, const char *name, const char *metric, const char *unit,
			double value, const char *workload)
{
	print_line(suite, name, metric, "value", value, unit, 1, workload);
	fflush(stdout);
}

double bench_seconds(uint64_t tsc0, uint64_t tsc1)
{
	return (double)clock_cycles_to_ns(tsc1 - tsc0) / 1e9;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: tradsys-bench <suite|all|list> [--runs N] [--ops N] [--cpus A,B] "
		     "[--file F]\nsuites:\n");
	for (size_t i = 0; i < nsuites; i++)
		fprintf(out, "  %-12s %s\n", suites[i]->name, suites[i]->help);
}

int main(int argc, char **argv)
{
	struct bench_opts opts = { .runs = 5, .cpu_a = 0, .cpu_b = 1 };
	static const struct option longopts[] = {
		{ "runs", required_argument, NULL, 'r' }, { "ops", required_argument, NULL, 'n' },
		{ "cpus", required_argument, NULL, 'c' }, { "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },	  { NULL, 0, NULL, 0 },
	};
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "r:n:c:f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			opts.runs = (unsigned int)strtoul(optarg, NULL, 10);
			if (opts.runs == 0 || opts.runs > 1000) {
				fprintf(stderr, "tradsys-bench: --runs: '%s' is not in 1..1000\n",
					optarg);
				return 2;
			}
			break;
		case 'n': opts.ops = strtoull(optarg, NULL, 10); break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &opts.cpu_a, &opts.cpu_b) != 2) {
				fprintf(stderr, "tradsys-bench: --cpus: expected A,B, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'f': opts.file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *want = argv[optind];
	if (strcmp(want, "list") == 0) {
		usage(stdout);
		return 0;
	}
	int err = clock_calibrate(200);
	if (err) {
		fprintf(stderr, "tradsys-bench: TSC calibration failed: %s\n", strerror(-err));
		return 1;
	}

	int found = 0;
	for (size_t i = 0; i < nsuites; i++) {
		if (strcmp(want, "all") != 0 && strcmp(want, suites[i]->name) != 0)
			continue;
		found = 1;
		if (suites[i]->run(&opts) != 0) {
			fprintf(stderr, "tradsys-bench: suite %s failed\n", suites[i]->name);
			rc = 1;
		}
	}
	if (!found) {
		fprintf(stderr, "tradsys-bench: no suite named '%s'\n", want);
		usage(stderr);
		return 2;
	}
	return rc;
}
