/*
 * tsctl's readable output: JSON values into cells, cells into aligned columns. Everything the
 * server sends is treated as untrusted text: control characters (an ANSI escape in a user name
 * or in a failed login's target) are replaced before they reach the terminal, and long cells are
 * cut so one row cannot push the others off the screen.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tsctl.h"

#define CELL_MAX_CHARS 60
#define CELL_BYTES 512

struct tsctl_table {
	size_t ncols, nrows, cap;
	char **cells; /* (nrows + 1) * ncols, the header first */
};

char *tsctl_sanitize(const char *s, size_t max_chars, char *out, size_t outlen)
{
	size_t o = 0, chars = 0;

	if (!outlen)
		return out;
	if (max_chars && max_chars < 3)
		max_chars = 3; /* room for one character and the ".." */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		bool cont = (c & 0xc0) == 0x80;

		if (!cont) {
			if (max_chars && chars == max_chars) {
				/* Cut: replace the tail with "..", within the limit. */
				while (o > 0 && chars > max_chars - 2) {
					o--;
					if (((unsigned char)out[o] & 0xc0) != 0x80)
						chars--;
				}
				if (o + 2 < outlen) {
					out[o++] = '.';
					out[o++] = '.';
				}
				break;
			}
			chars++;
		}
		if (c < 0x20 || c == 0x7f)
			c = '?';
		/* C1 controls (U+0080..U+009F: 0xc2 0x80..0x9f) act as escapes on some terminals. */
		if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			c = '?';
			p++;
		}
		if (o + 1 >= outlen)
			break;
		out[o++] = (char)c;
	}
	/* Never end in the middle of a UTF-8 sequence. */
	while (o > 0 && ((unsigned char)out[o - 1] & 0x80)) {
		size_t start = o - 1, need;
		unsigned char lead;

		while (start > 0 && ((unsigned char)out[start] & 0xc0) == 0x80)
			start--;
		lead = (unsigned char)out[start];
		need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
		if (o - start >= need)
			break;
		o = start;
	}
	out[o] = 0;
	return out;
}

char *tsctl_fmt_wall_ns(uint64_t ns, char *out, size_t outlen)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	char day[32];

	if (!ns || !gmtime_r(&s, &tm)) {
		snprintf(out, outlen, "-");
		return out;
	}
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%03u", day, (unsigned)(ns / 1000000u % 1000u));
	return out;
}

char *tsctl_fmt_pg_time(const char *ts, char *out, size_t outlen)
{
	char tmp[20];
	size_t n = strlen(ts);

	/* "YYYY-MM-DDTHH:MM:SS" and then fractions and a zone we do not show. */
	if (n < 19 || ts[4] != '-' || ts[10] != 'T') {
		tsctl_sanitize(ts, 32, out, outlen);
		return out;
	}
	memcpy(tmp, ts, 19);
	tmp[10] = ' ';
	tmp[19] = 0;
	tsctl_sanitize(tmp, 0, out, outlen);
	return out;
}

char *tsctl_fmt_latency(uint64_t ns, char *out, size_t outlen)
{
	if (ns < 1000)
		snprintf(out, outlen, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(out, outlen, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(out, outlen, "%.2fms", (double)ns / 1e6);
	else
		snprintf(out, outlen, "%.2fs", (double)ns / 1e9);
	return out;
}

char *tsctl_fmt_uptime(uint64_t s, char *out, size_t outlen)
{
	if (s < 60)
		snprintf(out, outlen, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(out, outlen, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(out, outlen, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60));
	else
		snprintf(out, outlen, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s / 3600 % 24));
	return out;
}

char *tsctl_cell(const json_t *v, enum tsctl_fmt fmt, char *out, size_t outlen)
{
	char *js;

	if (!v || json_is_null(v)) {
		snprintf(out, outlen, "-");
		return out;
	}
	switch (fmt) {
	case TSCTL_FMT_WALL_NS:
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			return tsctl_fmt_wall_ns((uint64_t)json_integer_value(v), out, outlen);
		break;
	case TSCTL_FMT_PG_TIME:
		if (json_is_string(v))
			return tsctl_fmt_pg_time(json_string_value(v), out, outlen);
		break;
	case TSCTL_FMT_LATENCY:
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			return tsctl_fmt_latency((uint64_t)json_integer_value(v), out, outlen);
		break;
	case TSCTL_FMT_PERCENT:
		if (json_is_number(v)) {
			snprintf(out, outlen, "%.1f%%", json_number_value(v) * 100.0);
			return out;
		}
		break;
	case TSCTL_FMT_JSON:
		js = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
		tsctl_sanitize(js ? js : "?", CELL_MAX_CHARS, out, outlen);
		free(js);
		return out;
	case TSCTL_FMT_TEXT: break;
	}
	if (json_is_string(v))
		tsctl_sanitize(json_string_value(v), CELL_MAX_CHARS, out, outlen);
	else if (json_is_integer(v))
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, outlen, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(out, outlen, "%s", json_is_true(v) ? "yes" : "no");
	else
		return tsctl_cell(v, TSCTL_FMT_JSON, out, outlen);
	return out;
}

struct tsctl_table *tsctl_table_new(const char *const *headers, size_t ncols)
{
	struct tsctl_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	if (tsctl_table_add(t, headers)) {
		free(t);
		return NULL;
	}
	t->nrows = 0; /* the header is row -1 */
	return t;
}

int tsctl_table_add(struct tsctl_table *t, const char *const *cells)
{
	size_t have = t->cells ? (t->nrows + 1) * t->ncols : 0;
	char buf[CELL_BYTES];

	if (have + t->ncols > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16 * t->ncols;
		char **c;

		while (cap < have + t->ncols)
			cap *= 2;
		c = realloc(t->cells, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		t->cells[have + i] = strdup(tsctl_sanitize(cells[i] ? cells[i] : "-",
							   CELL_MAX_CHARS, buf, sizeof(buf)));
		if (!t->cells[have + i]) {
			while (i--)
				free(t->cells[have + i]);
			return -ENOMEM;
		}
	}
	if (have)
		t->nrows++;
	return 0;
}

/* Characters (UTF-8 code points) in s. */
static size_t width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool numeric(const char *s)
{
	if (!strcmp(s, "-"))
		return true;
	if (*s == '-' || *s == '+')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == '.' || *s == '%'))
			return false;
	return true;
}

void tsctl_table_print(const struct tsctl_table *t, FILE *out)
{
	size_t *w = calloc(t->ncols, sizeof(*w));
	bool *right = calloc(t->ncols, sizeof(*right));

	if (!w || !right)
		goto out;
	for (size_t c = 0; c < t->ncols; c++) {
		right[c] = t->nrows > 0;
		for (size_t r = 0; r <= t->nrows; r++) {
			const char *s = t->cells[r * t->ncols + c];

			if (width(s) > w[c])
				w[c] = width(s);
			if (r && !numeric(s))
				right[c] = false;
		}
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t pad = w[c] - width(s);
			bool last = c + 1 == t->ncols;

			if (c)
				fputs("  ", out);
			if (right[c])
				fprintf(out, "%*s", (int)pad, "");
			fputs(s, out);
			if (!right[c] && !last)
				fprintf(out, "%*s", (int)pad, "");
		}
		fputc('\n', out);
	}
out:
	free(w);
	free(right);
}

void tsctl_table_free(struct tsctl_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < (t->nrows + 1) * t->ncols && t->cells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

int tsctl_table_print_json(FILE *out, const json_t *rows, const struct tsctl_col *cols,
			   size_t ncols, const char *empty_msg)
{
	const char *headers[32], *cells[32];
	char bufs[32][CELL_BYTES];
	struct tsctl_table *t;
	const json_t *row;
	size_t i;
	int rc = 0;

	if (!json_is_array(rows) || ncols > 32)
		return -EINVAL;
	if (!json_array_size(rows) && empty_msg) {
		fprintf(out, "%s\n", empty_msg);
		return 0;
	}
	for (size_t c = 0; c < ncols; c++)
		headers[c] = cols[c].header;
	t = tsctl_table_new(headers, ncols);
	if (!t)
		return -ENOMEM;
	json_array_foreach(rows, i, row)
	{
		for (size_t c = 0; c < ncols; c++)
			cells[c] = tsctl_cell(
				json_is_object(row) ? json_object_get(row, cols[c].key) : NULL,
				cols[c].fmt, bufs[c], sizeof(bufs[c]));
		if ((rc = tsctl_table_add(t, cells)))
			goto out;
	}
	tsctl_table_print(t, out);
out:
	tsctl_table_free(t);
	return rc;
}
