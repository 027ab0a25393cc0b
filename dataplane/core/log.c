/*
 * The log rings' registry and the drainer. Registration and the drainer take a mutex; a log call
 * on an attached thread never does. Each ring's drop counters are written by its owner thread and
 * read by the drainer, so they sit on their own cache line.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "clock.h"
#include "spsc.h"

#define LOG_MAX_RINGS 256

struct log_ring {
	char name[16];
	/* rate limiting state: owner thread only */
	uint64_t tokens;
	uint64_t burst;
	uint64_t cycles_per_token;
	uint64_t refill_tsc;
	/* written by the owner, read by the drainer */
	_Alignas(64) _Atomic uint64_t dropped_full;
	_Atomic uint64_t dropped_rate;
	/* drainer only: what it has reported */
	_Alignas(64) uint64_t reported_full;
	uint64_t reported_rate;
	struct spsc_ring *ring;
};

enum log_level log_min_level = LOG_LEVEL_INFO;

static struct {
	pthread_mutex_t lock; /* registry changes and synchronous writes */
	struct log_ring *rings[LOG_MAX_RINGS];
	_Atomic uint32_t nrings;
	struct log_opts opts;
	pthread_t drainer;
	bool running;
	_Atomic bool stop;
} log_state = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.opts = { LOG_SINK_STDERR, LOG_LEVEL_INFO, 10000, 1000 },
};

static __thread struct log_ring *log_tls;

static const char *const level_names[] = {
	[LOG_LEVEL_ERR] = "ERR",   [LOG_LEVEL_WARN] = "WARN",	[LOG_LEVEL_NOTICE] = "NOTICE",
	[LOG_LEVEL_INFO] = "INFO", [LOG_LEVEL_DEBUG] = "DEBUG",
};

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "err", LOG_LEVEL_ERR },	{ "error", LOG_LEVEL_ERR },
		{ "warn", LOG_LEVEL_WARN },	{ "warning", LOG_LEVEL_WARN },
		{ "notice", LOG_LEVEL_NOTICE }, { "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_level(enum log_level level)
{
	__atomic_store_n(&log_min_level, level, __ATOMIC_RELAXED);
}

/*
 * Every argument was widened to 64 bits; on x86-64 each variadic integer or pointer takes one
 * 64-bit slot, so a %d reads the low half of its slot, which is the value the caller passed.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
int log_format(char *buf, size_t len, const char *fmt, uint32_t nargs, const uint64_t *args)
{
	uint64_t a[LOG_MAX_ARGS] = { 0 };

	memcpy(a, args, (nargs > LOG_MAX_ARGS ? LOG_MAX_ARGS : nargs) * sizeof(uint64_t));
	int n = snprintf(buf, len, fmt, a[0], a[1], a[2], a[3], a[4]);
	if (n < 0)
		n = 0;
	return (size_t)n >= len ? (int)len - 1 : n;
}
#pragma GCC diagnostic pop

static void write_line(enum log_level level, const char *thread, uint64_t wall_ns, const char *msg)
{
	if (log_state.opts.sink == LOG_SINK_JOURNALD) {
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", (int)level, "TRADSYS_THREAD=%s",
				thread, NULL);
		return;
	}

	time_t secs = (time_t)(wall_ns / 1000000000ull);
	struct tm tm;
	char when[32];

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%06luZ %-6s [%s] %s\n", when,
		(unsigned long)(wall_ns % 1000000000ull) / 1000,
		level <= LOG_LEVEL_DEBUG ? level_names[level] : "?", thread, msg);
}

static bool rate_allows(struct log_ring *lr, uint64_t now)
{
	if (lr->cycles_per_token == 0)
		return true;
	if (lr->tokens == 0) {
		uint64_t earned = (now - lr->refill_tsc) / lr->cycles_per_token;
		if (earned == 0)
			return false;
		lr->tokens = earned > lr->burst ? lr->burst : earned;
		lr->refill_tsc = now;
	}
	lr->tokens--;
	return true;
}

void log_emit(enum log_level level, const char *fmt, uint32_t nargs, const uint64_t *args)
{
	struct log_ring *lr = log_tls;

	if (lr) {
		struct log_record rec;
		rec.tsc = clock_tsc();
		if (!rate_allows(lr, rec.tsc)) {
			atomic_fetch_add_explicit(&lr->dropped_rate, 1, memory_order_relaxed);
			return;
		}
		rec.fmt = fmt;
		rec.level = (uint8_t)level;
		rec.nargs = (uint8_t)nargs;
		memcpy(rec.args, args, nargs * sizeof(uint64_t));
		if (spsc_enqueue_burst(lr->ring, &rec, 1) == 0)
			atomic_fetch_add_explicit(&lr->dropped_full, 1, memory_order_relaxed);
		return;
	}

	char msg[512], name[16] = "main";
	log_format(msg, sizeof(msg), fmt, nargs, args);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	pthread_mutex_lock(&log_state.lock);
	write_line(level, name, clock_wall_ns(), msg);
	pthread_mutex_unlock(&log_state.lock);
}

int log_thread_attach(const char *name, uint32_t capacity)
{
	struct log_ring *lr;
	int err;

	if (log_tls)
		return -EEXIST;
	lr = aligned_alloc(64, sizeof(*lr));
	if (!lr)
		return -ENOMEM;
	memset(lr, 0, sizeof(*lr));
	lr->ring = aligned_alloc(64, spsc_ring_bytes(capacity, sizeof(struct log_record)));
	if (!lr->ring) {
		err = -ENOMEM;
		goto err_free;
	}
	err = spsc_ring_init(lr->ring, capacity, sizeof(struct log_record));
	if (err)
		goto err_free;
	snprintf(lr->name, sizeof(lr->name), "%s", name);
	if (log_state.opts.rate_per_sec) {
		lr->burst = log_state.opts.rate_per_sec;
		lr->tokens = lr->burst;
		lr->cycles_per_token = clock_cal.tsc_hz / log_state.opts.rate_per_sec;
		if (lr->cycles_per_token == 0)
			lr->cycles_per_token = 1;
		lr->refill_tsc = clock_tsc();
	}

	pthread_mutex_lock(&log_state.lock);
	uint32_t n = atomic_load(&log_state.nrings);
	if (n == LOG_MAX_RINGS) {
		pthread_mutex_unlock(&log_state.lock);
		err = -ENOSPC;
		goto err_free;
	}
	log_state.rings[n] = lr;
	atomic_store_explicit(&log_state.nrings, n + 1, memory_order_release);
	pthread_mutex_unlock(&log_state.lock);
	log_tls = lr;
	return 0;

err_free:
	free(lr->ring);
	free(lr);
	return err;
}

/* One pass over every ring; returns the records written. Called with the lock held. */
static size_t drain_once(void)
{
	struct log_record recs[32];
	char msg[512];
	size_t total = 0;
	uint32_t n = atomic_load_explicit(&log_state.nrings, memory_order_acquire);

	for (uint32_t i = 0; i < n; i++) {
		struct log_ring *lr = log_state.rings[i];
		uint32_t got;

		while ((got = spsc_dequeue_burst(lr->ring, recs, 32)) > 0) {
			for (uint32_t j = 0; j < got; j++) {
				log_format(msg, sizeof(msg), recs[j].fmt, recs[j].nargs,
					   recs[j].args);
				write_line(recs[j].level, lr->name,
					   clock_tsc_to_wall_ns(recs[j].tsc), msg);
			}
			total += got;
		}

		uint64_t full = atomic_load_explicit(&lr->dropped_full, memory_order_relaxed);
		uint64_t rate = atomic_load_explicit(&lr->dropped_rate, memory_order_relaxed);
		if (full != lr->reported_full || rate != lr->reported_rate) {
			snprintf(msg, sizeof(msg),
				 "log: dropped %lu records (ring full) and %lu (rate limit)",
				 (unsigned long)(full - lr->reported_full),
				 (unsigned long)(rate - lr->reported_rate));
			write_line(LOG_LEVEL_WARN, lr->name, clock_wall_ns(), msg);
			lr->reported_full = full;
			lr->reported_rate = rate;
		}
	}
	if (total && log_state.opts.sink == LOG_SINK_STDERR)
		fflush(stderr);
	return total;
}

static void *drainer_main(void *arg)
{
	struct timespec nap = {
		.tv_sec = 0,
		.tv_nsec = (long)log_state.opts.drain_interval_us * 1000,
	};

	pthread_setname_np(pthread_self(), "ts-log");
	while (!atomic_load(&log_state.stop)) {
		pthread_mutex_lock(&log_state.lock);
		size_t n = drain_once();
		pthread_mutex_unlock(&log_state.lock);
		if (n == 0)
			nanosleep(&nap, NULL);
	}
	return NULL;
}

int log_start(const struct log_opts *opts)
{
	int err;

	if (log_state.running)
		return -EALREADY;
	if (opts)
		log_state.opts = *opts;
	if (log_state.opts.drain_interval_us == 0 || log_state.opts.drain_interval_us >= 1000000)
		log_state.opts.drain_interval_us = 1000;
	log_set_level(log_state.opts.level);
	atomic_store(&log_state.stop, false);
	err = pthread_create(&log_state.drainer, NULL, drainer_main, NULL);
	if (err)
		return -err;
	log_state.running = true;
	return 0;
}

void log_stop(void)
{
	if (log_state.running) {
		atomic_store(&log_state.stop, true);
		pthread_join(log_state.drainer, NULL);
		log_state.running = false;
	}
	pthread_mutex_lock(&log_state.lock);
	drain_once();
	pthread_mutex_unlock(&log_state.lock);
}

void log_dropped(uint64_t *full, uint64_t *rate)
{
	uint32_t n = atomic_load_explicit(&log_state.nrings, memory_order_acquire);

	*full = 0;
	*rate = 0;
	for (uint32_t i = 0; i < n; i++) {
		*full += atomic_load_explicit(&log_state.rings[i]->dropped_full,
					      memory_order_relaxed);
		*rate += atomic_load_explicit(&log_state.rings[i]->dropped_rate,
					      memory_order_relaxed);
	}
}
