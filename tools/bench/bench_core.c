/*
 * Benchmarks of the core runtime: clock reads, histogram recording, and SPSC ring transfer between
 * two pinned threads and between two processes through a shared mapping.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

#include "bench.h"
#include "core.h"

#define SUITE_CLOCK "clock"

/* Times n calls of an expression, returning ns per call. */
#define TIME_LOOP(n, expr)                                                       \
	({                                                                       \
		uint64_t t0_ = clock_tsc_start();                                \
		for (uint64_t i_ = 0; i_ < (n); i_++) {                          \
			expr;                                                    \
			__asm__ volatile("" ::: "memory");                       \
		}                                                                \
		(double)clock_cycles_to_ns(clock_tsc_end() - t0_) / (double)(n); \
	})

static int run_clock(const struct bench_opts *o)
{
	uint64_t n = o->ops ? o->ops : 10000000;
	double *s = calloc(o->runs, sizeof(double));
	volatile uint64_t sink = 0;
	char wl[64];

	if (!s)
		return -ENOMEM;
	snprintf(wl, sizeof(wl), "\"calls\":%lu", (unsigned long)n);
	TIME_LOOP(n / 10, sink += clock_tsc());
	for (unsigned int r = 0; r < o->runs; r++)
		s[r] = TIME_LOOP(n, sink += clock_tsc());
	bench_report(SUITE_CLOCK, "rdtsc", "latency", "ns/op", s, o->runs, wl);
	for (unsigned int r = 0; r < o->runs; r++)
		s[r] = TIME_LOOP(n, sink += clock_tsc_start());
	bench_report(SUITE_CLOCK, "lfence_rdtsc", "latency", "ns/op", s, o->runs, wl);
	for (unsigned int r = 0; r < o->runs; r++)
		s[r] = TIME_LOOP(n, sink += clock_tsc_end());
	bench_report(SUITE_CLOCK, "rdtscp_lfence", "latency", "ns/op", s, o->runs, wl);
	for (unsigned int r = 0; r < o->runs; r++)
		s[r] = TIME_LOOP(n, sink += clock_cycles_to_ns(sink + i_));
	bench_report(SUITE_CLOCK, "cycles_to_ns", "latency", "ns/op", s, o->runs, wl);
	for (unsigned int r = 0; r < o->runs; r++)
		s[r] = TIME_LOOP(n / 10, sink += clock_wall_ns());
	bench_report(SUITE_CLOCK, "clock_gettime_realtime", "latency", "ns/op", s, o->runs, wl);
	bench_report_value(SUITE_CLOCK, "tsc", "frequency", "Hz", (double)clock_cal.tsc_hz, NULL);
	(void)sink;
	free(s);
	return 0;
}

BENCH_SUITE(bench_suite_clock, SUITE_CLOCK,
	    "TSC reads, conversion, clock_gettime", run_clock)

/* Latencies shaped like a feed handler's: most near 200 ns, a tail to tens of microseconds. */
static void fill_latencies(uint64_t *v, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t base = 150 + (x & 127);
		v[i] = (x >> 40) % 1000 == 0 ? base * (1 + ((x >> 20) & 255)) : base;
	}
}

static int run_hist(const struct bench_opts *o)
{
	const size_t nvals = 1 << 20;
	uint64_t n = o->ops ? o->ops : 50000000;
	uint64_t *vals = malloc(nvals * sizeof(uint64_t));
	struct hist *h = aligned_alloc(64, sizeof(*h));
	double *s = calloc(o->runs, sizeof(double));
	char wl[128];

	if (!vals || !h || !s) {
		free(vals);
		free(h);
		free(s);
		return -ENOMEM;
	}
	fill_latencies(vals, nvals);
	snprintf(wl, sizeof(wl), "\"records\":%lu,\"distinct_inputs\":%zu,\"sub_bits\":%d",
		 (unsigned long)n, nvals, HIST_SUB_BITS);
	hist_reset(h);
	TIME_LOOP(n / 10, hist_record(h, vals[i_ & (nvals - 1)]));
	for (unsigned int r = 0; r < o->runs; r++) {
		hist_reset(h);
		s[r] = TIME_LOOP(n, hist_record(h, vals[i_ & (nvals - 1)]));
	}
	bench_report("hist", "record", "latency", "ns/op", s, o->runs, wl);

	volatile uint64_t sink = 0;
	for (unsigned int r = 0; r < o->runs; r++)
		s[r] = TIME_LOOP(1000, sink += hist_percentile(h, 0.999));
	bench_report("hist", "percentile", "latency", "ns/op", s, o->runs, wl);
	(void)sink;
	free(vals);
	free(h);
	free(s);
	return 0;
}

BENCH_SUITE(bench_suite_hist, "hist",
	    "histogram record and percentile query", run_hist)

/*
 * Ring transfer. The producer pushes consecutive 64-bit integers in bulk batches of 32; the
 * consumer takes bursts of up to 32 and checks each is the next expected value, so a lost,
 * duplicated or reordered item shows up as an error count.
 */
#define RING_BATCH 32
#define RING_CAP 8192

struct ring_shared {
	_Alignas(64) _Atomic int go;
	_Atomic int ready;
	uint64_t items;
	int consumer_cpu;
	uint64_t t_start, t_end;
	uint64_t errors;
	_Alignas(64) unsigned char ring[];
};

static void ring_produce(struct ring_shared *sh, int cpu)
{
	struct spsc_ring *r = (struct spsc_ring *)sh->ring;
	uint64_t batch[RING_BATCH];

	thread_pin(cpu);
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->go))
		;
	sh->t_start = clock_tsc_start();
	for (uint64_t next = 0; next < sh->items; next += RING_BATCH) {
		for (uint32_t i = 0; i < RING_BATCH; i++)
			batch[i] = next + i;
		while (spsc_enqueue_bulk(r, batch, RING_BATCH) == 0)
			__builtin_ia32_pause();
	}
}

static void ring_consume(struct ring_shared *sh, int cpu)
{
	struct spsc_ring *r = (struct spsc_ring *)sh->ring;
	uint64_t batch[RING_BATCH], expect = 0, errors = 0;

	thread_pin(cpu);
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->go))
		;
	while (expect < sh->items) {
		uint32_t got = spsc_dequeue_burst(r, batch, RING_BATCH);
		if (got == 0) {
			__builtin_ia32_pause();
			continue;
		}
		for (uint32_t i = 0; i < got; i++)
			errors += batch[i] != expect + i;
		expect += got;
	}
	sh->t_end = clock_tsc_end();
	sh->errors = errors;
}

static void *consumer_thread(void *arg)
{
	struct ring_shared *sh = arg;
	ring_consume(sh, sh->consumer_cpu);
	return NULL;
}

static struct ring_shared *ring_shared_new(uint64_t items)
{
	size_t len = sizeof(struct ring_shared) + spsc_ring_bytes(RING_CAP, sizeof(uint64_t));
	struct ring_shared *sh =
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return NULL;
	spsc_ring_init((struct spsc_ring *)sh->ring, RING_CAP, sizeof(uint64_t));
	sh->items = items;
	return sh;
}

static void ring_shared_free(struct ring_shared *sh)
{
	munmap(sh, sizeof(struct ring_shared) + spsc_ring_bytes(RING_CAP, sizeof(uint64_t)));
}

static int run_ring(const struct bench_opts *o, int processes)
{
	uint64_t n = o->ops ? o->ops : 20000000;
	const char *name = processes ? "spsc-proc" : "spsc";
	double *s = calloc(o->runs + 1, sizeof(double));
	char wl[160];
	int rc = 0;

	if (!s)
		return -ENOMEM;
	n -= n % RING_BATCH;
	snprintf(wl, sizeof(wl),
		 "\"items\":%lu,\"batch\":%d,\"item_bytes\":8,\"capacity\":%d,\"cpus\":[%d,%d]",
		 (unsigned long)n, RING_BATCH, RING_CAP, o->cpu_a, o->cpu_b);
	for (unsigned int r = 0; r <= o->runs; r++) {
		struct ring_shared *sh = ring_shared_new(n);
		if (!sh) {
			rc = -ENOMEM;
			break;
		}
		sh->consumer_cpu = o->cpu_b;
		if (processes) {
			pid_t pid = fork();
			if (pid < 0) {
				ring_shared_free(sh);
				rc = -errno;
				break;
			}
			if (pid == 0) {
				ring_consume(sh, sh->consumer_cpu);
				_exit(0);
			}
			while (atomic_load(&sh->ready) < 1)
				;
			atomic_store(&sh->go, 1);
			ring_produce(sh, o->cpu_a);
			waitpid(pid, NULL, 0);
		} else {
			pthread_t t;
			pthread_create(&t, NULL, consumer_thread, sh);
			while (atomic_load(&sh->ready) < 1)
				;
			atomic_store(&sh->go, 1);
			ring_produce(sh, o->cpu_a);
			pthread_join(t, NULL);
		}
		if (sh->errors) {
			fprintf(stderr, "%s: %lu items out of order or lost\n", name,
				(unsigned long)sh->errors);
			rc = -EIO;
		}
		/* Run 0 is the warm-up. */
		if (r > 0)
			s[r - 1] = (double)n / bench_seconds(sh->t_start, sh->t_end) / 1e6;
		ring_shared_free(sh);
	}
	if (rc == 0)
		bench_report(name, processes ? "transfer_2proc" : "transfer_2thread", "throughput",
			     "Mitems/s", s, o->runs, wl);
	free(s);
	return rc;
}

static int run_spsc(const struct bench_opts *o)
{
	return run_ring(o, 0);
}

static int run_spsc_proc(const struct bench_opts *o)
{
	return run_ring(o, 1);
}

BENCH_SUITE(bench_suite_spsc, "spsc",
	    "SPSC ring transfer between two pinned threads, batches of 32", run_spsc)

BENCH_SUITE(bench_suite_spsc_proc, "spsc-proc",
	    "SPSC ring transfer between two pinned processes (shared mapping)", run_spsc_proc)
