/*
 * Logging that a pinned worker can afford. Each thread that attaches gets its own SPSC ring; a
 * log call checks the level, copies a 64-byte record (TSC, format, up to five integer or
 * static-string arguments) into the ring and returns. A drainer thread formats the records and
 * writes them to stderr or journald. A full ring or an exhausted per-thread rate budget drops the
 * record and counts it; the drainer reports the counts. Threads that never attach (control plane
 * threads, start-up code) log synchronously.
 *
 * Arguments are stored as 64-bit integers: integers, pointers and string literals only. A string
 * argument must outlive the drainer (a literal or a static table), never a stack buffer.
 */
#ifndef TRADSYS_CORE_LOG_H
#define TRADSYS_CORE_LOG_H

#include <stdint.h>
#include <stdio.h>

/* Levels are syslog priorities so journald gets them unchanged. */
enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

enum log_sink {
	LOG_SINK_STDERR,
	LOG_SINK_JOURNALD,
};

#define LOG_MAX_ARGS 5

struct log_record {
	uint64_t tsc;
	const char *fmt;
	uint8_t level;
	uint8_t nargs;
	uint8_t pad[6];
	uint64_t args[LOG_MAX_ARGS];
};

_Static_assert(sizeof(struct log_record) == 64, "a log record is one cache line");

struct log_opts {
	enum log_sink sink;
	enum log_level level; /* records above this level are skipped at the call site */
	uint32_t rate_per_sec; /* per-thread budget for ring records; 0 means unlimited */
	uint32_t drain_interval_us; /* drainer sleep between passes */
};

/* The current threshold; read by every log macro before it does anything else. */
extern enum log_level log_min_level;

/*
 * Starts the drainer thread with the given options (NULL: stderr, INFO, 10000/s, 1000 us).
 * Returns 0, -EALREADY if already started, or -errno from pthread_create.
 */
int log_start(const struct log_opts *opts);

/* Drains every ring, writes the drop counts, and stops the drainer. Safe when not started. */
void log_stop(void);

/* Changes the threshold at run time (from the command ring, say). */
void log_set_level(enum log_level level);

/*
 * Gives the calling thread a ring of capacity records (a power of two) named name (for the log
 * line). Returns 0, -EINVAL on a bad capacity, -EEXIST if the thread has one, -ENOSPC if the
 * registry is full, or -ENOMEM.
 */
int log_thread_attach(const char *name, uint32_t capacity);

/* Parses "err", "warn", "notice", "info" or "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

/* Records dropped so far by every ring, for the stats region: ring full and over the rate. */
void log_dropped(uint64_t *full, uint64_t *rate);

/* The slow half of every macro: enqueue on an attached thread, else write synchronously. */
void log_emit(enum log_level level, const char *fmt, uint32_t nargs, const uint64_t *args);

/* Formats a record's message into buf (exposed for tests). Returns the length written. */
int log_format(char *buf, size_t len, const char *fmt, uint32_t nargs, const uint64_t *args);

/* Argument capture: each argument becomes a uint64_t; a floating-point argument does not compile. */
#define LOG_NOFLOAT_(x) ((void)sizeof(char[1 - 2 * (__builtin_classify_type(x) == 8)]))
#define LOG_A_(x) (LOG_NOFLOAT_(x), (uint64_t)(uintptr_t)(x))
#define LOG_NARG_(_0, _1, _2, _3, _4, _5, N, ...) N
#define LOG_NARG(...) LOG_NARG_(_, ##__VA_ARGS__, 5, 4, 3, 2, 1, 0)
#define LOG_ARGS_0()
#define LOG_ARGS_1(a) LOG_A_(a)
#define LOG_ARGS_2(a, b) LOG_A_(a), LOG_A_(b)
#define LOG_ARGS_3(a, b, c) LOG_A_(a), LOG_A_(b), LOG_A_(c)
#define LOG_ARGS_4(a, b, c, d) LOG_A_(a), LOG_A_(b), LOG_A_(c), LOG_A_(d)
#define LOG_ARGS_5(a, b, c, d, e) LOG_A_(a), LOG_A_(b), LOG_A_(c), LOG_A_(d), LOG_A_(e)
#define LOG_CAT_(a, b) a##b
#define LOG_CAT(a, b) LOG_CAT_(a, b)
#define LOG_ARGS(...) LOG_CAT(LOG_ARGS_, LOG_NARG(__VA_ARGS__))(__VA_ARGS__)

#define LOG_AT(lvl, fmt, ...)                                                         \
	do {                                                                          \
		if (__builtin_expect((lvl) <= log_min_level, 0)) {                    \
			if (0)                                                        \
				printf(fmt, ##__VA_ARGS__);                           \
			const uint64_t log_args_[] = { 0, LOG_ARGS(__VA_ARGS__) };    \
			log_emit((lvl), (fmt), LOG_NARG(__VA_ARGS__), log_args_ + 1); \
		}                                                                     \
	} while (0)

#define LOG_ERR(fmt, ...) LOG_AT(LOG_LEVEL_ERR, fmt, ##__VA_ARGS__)
#define LOG_WARN(fmt, ...) LOG_AT(LOG_LEVEL_WARN, fmt, ##__VA_ARGS__)
#define LOG_NOTICE(fmt, ...) LOG_AT(LOG_LEVEL_NOTICE, fmt, ##__VA_ARGS__)
#define LOG_INFO(fmt, ...) LOG_AT(LOG_LEVEL_INFO, fmt, ##__VA_ARGS__)
#define LOG_DEBUG(fmt, ...) LOG_AT(LOG_LEVEL_DEBUG, fmt, ##__VA_ARGS__)

#endif
