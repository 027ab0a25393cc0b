/*
 * The appliance's configuration file: INI ([section] key = value, '#' or ';' comments), parsed
 * with inih. Every entry remembers its line, so an error names the file, the line and the key:
 * "tradsys.conf:12: [worker.1] core: 'x' is not an integer". Typed getters leave the caller's
 * default in place when a key is absent; config_check_keys() catches misspelt keys.
 */
#ifndef TRADSYS_CORE_CONFIG_H
#define TRADSYS_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

/*
 * Loads and parses a file. Returns the config, or NULL with a message in err (errno-style cause,
 * or "file:line: ..." for a syntax error or a duplicate key).
 */
struct config *config_load(const char *path, char *err, size_t errlen);

/* Parses text as if it were the file called name (for tests, fuzzing and the command ring). */
struct config *config_parse(const char *text, size_t len, const char *name, char *err,
			    size_t errlen);

void config_free(struct config *c);

/* The message of the last getter that failed, naming file, line and key. */
const char *config_error(const struct config *c);

/* The raw value of [section] key, or NULL when absent. */
const char *config_get(const struct config *c, const char *section, const char *key);

/* -ENOENT with an error naming the key when [section] key is absent; 0 otherwise. */
int config_require(struct config *c, const char *section, const char *key);

/*
 * Typed getters. Each returns 0 and leaves *out untouched when the key is absent (so *out holds
 * the default), 0 with *out set when the value is good, or -EINVAL with config_error() set when
 * the value is malformed or out of [min, max].
 */
int config_str(struct config *c, const char *section, const char *key, const char **out);
int config_u64(struct config *c, const char *section, const char *key, uint64_t min, uint64_t max,
	       uint64_t *out);
int config_i64(struct config *c, const char *section, const char *key, int64_t min, int64_t max,
	       int64_t *out);
/* Byte sizes with an optional K, M or G suffix (powers of 1024). */
int config_size(struct config *c, const char *section, const char *key, uint64_t min, uint64_t max,
		uint64_t *out);
/* true/false, yes/no, on/off, 1/0. */
int config_bool(struct config *c, const char *section, const char *key, bool *out);
/* One of names[0..n-1]; *out is its index. */
int config_enum(struct config *c, const char *section, const char *key, const char *const *names,
		size_t n, int *out);

/*
 * Fails with -EINVAL naming the first key in a section that is not in known (NULL-terminated).
 * A section matches when its name equals section, or starts with section followed by '.'
 * ("worker" covers "worker.0", "worker.1").
 */
int config_check_keys(struct config *c, const char *section, const char *const *known);

/* Names of the sections equal to prefix or starting with "prefix." (every section when prefix is
 * NULL), in file order. Returns how many there are; at most max are stored in names. */
size_t config_sections(const struct config *c, const char *prefix, const char **names, size_t max);

/* The keys and values of one section, in file order (for free-form sections such as a
 * strategy's parameters). Returns how many there are; at most max are stored. */
size_t config_entries(const struct config *c, const char *section, const char **keys,
		      const char **values, size_t max);

#endif
