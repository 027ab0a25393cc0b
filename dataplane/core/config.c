/*
 * Config loading on inih. inih calls back per key without a line number, so the file is fed to it
 * through a reader that counts lines; each entry stores the line its key was on. Entries live in
 * one growable array: configs are small and read at start, never on the hot path.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_entry {
	char *section;
	char *key;
	char *value;
	unsigned int line;
};

struct config {
	char *name;
	struct config_entry *entries;
	size_t n, cap;
	char err[256];
};

/*
 * Reader state. inih numbers lines by reader calls, so the reader hands it exactly one physical
 * line per call; a line too long for inih's buffer is consumed whole and replaced by an invalid
 * line, so inih reports it at the right number and we say why.
 */
struct config_reader {
	const char *text;
	size_t len, pos;
	unsigned int line;
	struct config *cfg;
	unsigned int cause_line;
	char cause[160];
};

static void reader_fail(struct config_reader *r, const char *why)
{
	if (r->cause_line)
		return;
	r->cause_line = r->line;
	snprintf(r->cause, sizeof(r->cause), "%s", why);
}

static char *reader_next(char *str, int num, void *stream)
{
	struct config_reader *r = stream;
	int i = 0;

	if (r->pos >= r->len || num < 3)
		return NULL;
	r->line++;
	while (r->pos < r->len) {
		char ch = r->text[r->pos++];
		if (ch == '\n')
			break;
		if (i < num - 2)
			/* A NUL inside a line would end inih's string early; make it garbage instead. */
			str[i++] = ch == '\0' ? '\x01' : ch;
		else
			i = num; /* too long: keep consuming to the end of the line */
	}
	if (i == num) {
		reader_fail(r, "line too long");
		strcpy(str, "\x01\n");
		return str;
	}
	str[i++] = '\n';
	str[i] = '\0';
	return str;
}

static void set_err(struct config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct config *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

static struct config_entry *find(const struct config *c, const char *section, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->entries[i].section, section) == 0 &&
		    strcmp(c->entries[i].key, key) == 0)
			return &c->entries[i];
	return NULL;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct config_reader *r = user;
	struct config *c = r->cfg;
	struct config_entry *e;

	if (!key) /* a section header with no keys yet */
		return 1;
	if (find(c, section, key)) {
		char why[160];
		snprintf(why, sizeof(why), "[%s] %s: duplicate key", section, key);
		reader_fail(r, why);
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct config_entry *grown = realloc(c->entries, cap * sizeof(*grown));
		if (!grown) {
			reader_fail(r, "out of memory");
			return 0;
		}
		c->entries = grown;
		c->cap = cap;
	}
	e = &c->entries[c->n];
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = r->line;
	if (!e->section || !e->key || !e->value) {
		free(e->section);
		free(e->key);
		free(e->value);
		reader_fail(r, "out of memory");
		return 0;
	}
	c->n++;
	return 1;
}

struct config *config_parse(const char *text, size_t len, const char *name, char *err,
			    size_t errlen)
{
	struct config *c = calloc(1, sizeof(*c));
	struct config_reader r = { .text = text, .len = len, .cfg = c };

	if (!c || !(c->name = strdup(name))) {
		snprintf(err, errlen, "%s: out of memory", name);
		config_free(c);
		return NULL;
	}
	int line = ini_parse_stream(reader_next, &r, on_entry, &r);
	if (line != 0) {
		if (line < 0)
			snprintf(err, errlen, "%s: cannot parse (%d)", name, line);
		else
			snprintf(err, errlen, "%s:%d: %s", name, line,
				 r.cause_line == (unsigned int)line
					 ? r.cause
					 : "syntax error (expected [section] or key = value)");
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct config *c = NULL;
	char *text = NULL;
	long len;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (len > (16 << 20)) {
		snprintf(err, errlen, "%s: larger than 16 MiB", path);
		goto out;
	}
	text = malloc((size_t)len + 1);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (fread(text, 1, (size_t)len, f) != (size_t)len) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	c = config_parse(text, (size_t)len, path, err, errlen);
out:
	free(text);
	fclose(f);
	return c;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].section);
		free(c->entries[i].key);
		free(c->entries[i].value);
	}
	free(c->entries);
	free(c->name);
	free(c);
}

const char *config_error(const struct config *c)
{
	return c->err;
}

const char *config_get(const struct config *c, const char *section, const char *key)
{
	const struct config_entry *e = find(c, section, key);
	return e ? e->value : NULL;
}

int config_require(struct config *c, const char *section, const char *key)
{
	if (find(c, section, key))
		return 0;
	set_err(c, "%s: [%s] %s: required but missing", c->name, section, key);
	return -ENOENT;
}

int config_str(struct config *c, const char *section, const char *key, const char **out)
{
	const struct config_entry *e = find(c, section, key);

	if (e)
		*out = e->value;
	return 0;
}

/* Parses an unsigned decimal or 0x hex number with an optional size suffix. */
static int parse_u64(const char *s, bool sizes, uint64_t *out)
{
	char *end;
	uint64_t v, mult = 1;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -ERANGE;
	if (sizes && *end) {
		switch (toupper((unsigned char)*end)) {
		case 'K': mult = 1ull << 10; break;
		case 'M': mult = 1ull << 20; break;
		case 'G': mult = 1ull << 30; break;
		default: return -EINVAL;
		}
		end++;
		if (toupper((unsigned char)*end) == 'B' || toupper((unsigned char)*end) == 'I')
			end++;
	}
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

static int get_u64(struct config *c, const char *section, const char *key, uint64_t min,
		   uint64_t max, bool sizes, uint64_t *out)
{
	const struct config_entry *e = find(c, section, key);
	uint64_t v;

	if (!e)
		return 0;
	if (parse_u64(e->value, sizes, &v) != 0) {
		set_err(c, "%s:%u: [%s] %s: '%s' is not %s", c->name, e->line, section, key,
			e->value,
			sizes ? "a size (number with optional K, M or G)" : "an unsigned integer");
		return -EINVAL;
	}
	if (v < min || v > max) {
		set_err(c, "%s:%u: [%s] %s: %" PRIu64 " is outside [%" PRIu64 ", %" PRIu64 "]",
			c->name, e->line, section, key, v, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int config_u64(struct config *c, const char *section, const char *key, uint64_t min, uint64_t max,
	       uint64_t *out)
{
	return get_u64(c, section, key, min, max, false, out);
}

int config_size(struct config *c, const char *section, const char *key, uint64_t min, uint64_t max,
		uint64_t *out)
{
	return get_u64(c, section, key, min, max, true, out);
}

int config_i64(struct config *c, const char *section, const char *key, int64_t min, int64_t max,
	       int64_t *out)
{
	const struct config_entry *e = find(c, section, key);
	const char *s;
	char *end;
	int64_t v;

	if (!e)
		return 0;
	s = e->value;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno || !(isdigit((unsigned char)*s) || *s == '-' || *s == '+')) {
		set_err(c, "%s:%u: [%s] %s: '%s' is not an integer", c->name, e->line, section, key,
			e->value);
		return -EINVAL;
	}
	if (v < min || v > max) {
		set_err(c, "%s:%u: [%s] %s: %" PRId64 " is outside [%" PRId64 ", %" PRId64 "]",
			c->name, e->line, section, key, v, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int config_bool(struct config *c, const char *section, const char *key, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	const struct config_entry *e = find(c, section, key);

	if (!e)
		return 0;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(e->value, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(e->value, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	set_err(c, "%s:%u: [%s] %s: '%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
		c->name, e->line, section, key, e->value);
	return -EINVAL;
}

int config_enum(struct config *c, const char *section, const char *key, const char *const *names,
		size_t n, int *out)
{
	const struct config_entry *e = find(c, section, key);
	char choices[128] = "";
	size_t used = 0;

	if (!e)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e->value, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
		int w = snprintf(choices + used, sizeof(choices) - used, "%s%s", i ? ", " : "",
				 names[i]);
		if (w > 0 && used + (size_t)w < sizeof(choices))
			used += (size_t)w;
	}
	set_err(c, "%s:%u: [%s] %s: '%s' is not one of: %s", c->name, e->line, section, key,
		e->value, choices);
	return -EINVAL;
}

static bool section_matches(const char *name, const char *prefix)
{
	if (!prefix)
		return true;
	size_t n = strlen(prefix);
	return strncmp(name, prefix, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

int config_check_keys(struct config *c, const char *section, const char *const *known)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct config_entry *e = &c->entries[i];
		bool ok = false;

		if (!section_matches(e->section, section))
			continue;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcmp(*k, e->key) == 0;
		if (!ok) {
			set_err(c, "%s:%u: [%s] %s: unknown key", c->name, e->line, e->section,
				e->key);
			return -EINVAL;
		}
	}
	return 0;
}

size_t config_sections(const struct config *c, const char *prefix, const char **names, size_t max)
{
	size_t found = 0;

	for (size_t i = 0; i < c->n; i++) {
		const char *s = c->entries[i].section;
		bool seen = false;

		if (!section_matches(s, prefix))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(c->entries[j].section, s) == 0;
		if (seen)
			continue;
		if (found < max)
			names[found] = s;
		found++;
	}
	return found;
}

size_t config_entries(const struct config *c, const char *section, const char **keys,
		      const char **values, size_t max)
{
	size_t found = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->entries[i].section, section) != 0)
			continue;
		if (found < max) {
			keys[found] = c->entries[i].key;
			values[found] = c->entries[i].value;
		}
		found++;
	}
	return found;
}
