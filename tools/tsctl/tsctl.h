/*
 * tsctl's library: the parts of the operator CLI that do no network I/O, so the unit tests can
 * reach them: the exit codes and how HTTP statuses map onto them, the global and per-command
 * option parsers, number parsing, the table formatter (JSON rows into aligned text columns, with
 * every server string made safe for a terminal) and the token file (0600 in a 0700 directory).
 */
#ifndef TRADSYS_TSCTL_H
#define TRADSYS_TSCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- exit codes: what a script may rely on ---- */

enum tsctl_exit {
	TSCTL_EXIT_OK = 0,
	TSCTL_EXIT_USAGE = 1, /* bad command line */
	TSCTL_EXIT_AUTH =
		2, /* 401 or 403: not logged in, session over, or the role lacks a right */
	TSCTL_EXIT_NOT_FOUND = 3, /* 404 */
	TSCTL_EXIT_BAD_REQUEST = 4, /* 400, 409 and other 4xx: the field at fault is printed */
	TSCTL_EXIT_SERVER = 5, /* 5xx, 429, no connection, TLS failure, an unreadable answer */
};

/* The exit code for an HTTP status (0: no answer at all, which is TSCTL_EXIT_SERVER). */
int tsctl_exit_for_status(long status);

/* ---- global options ---- */

#define TSCTL_DEFAULT_URL "https://127.0.0.1:8443"

struct tsctl_opts {
	char url[512]; /* "" when neither --url nor TSCTL_URL gave one */
	char cacert[1024]; /* "" for the system's CA store */
	char token_file[1024];
	bool json;
	bool help;
};

/*
 * Takes the global options (--url URL, --cacert FILE, --token-file FILE, --json, --help/-h, each
 * also as --opt=VALUE) out of argv[1..argc-1] wherever they stand before a "--", so a script may
 * write `tsctl orders --json` as well as `tsctl --json orders`. What is left (the command and its
 * own arguments, in order) goes to rest, which must hold argc pointers; *nrest is its count.
 * Values not given come from env(): TSCTL_URL, TSCTL_CACERT, and the token file defaults to
 * $HOME/.config/tradsys/token. The URL must be https://. Returns 0, or -EINVAL with err.
 */
int tsctl_opts_parse(int argc, char **argv, const char *(*env)(const char *name),
		     struct tsctl_opts *o, char **rest, int *nrest, char *err, size_t errlen);

/* ---- a command's own options ---- */

struct tsctl_flag {
	const char *name; /* "--status" */
	bool takes_value;
	const char *value; /* out: the value, "" for a flag that is present, NULL when absent */
};

/*
 * Splits argv[0..argc-1] (a command's arguments, its name excluded) into the flags it knows and
 * its positional arguments, in order, into pos (room for argc). "--" ends the options. Returns 0,
 * or -EINVAL with err for an unknown option, a missing value or an option given twice.
 */
int tsctl_flags_parse(int argc, char **argv, struct tsctl_flag *flags, size_t nflags, char **pos,
		      int *npos, char *err, size_t errlen);

/* A decimal integer, all of s, in [min, max]. Returns 0, or -EINVAL (not a number) or -ERANGE. */
int tsctl_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* ---- text for a terminal ---- */

/*
 * Copies s into out (size outlen > 0) fit to print: control characters and escapes become '?',
 * so a hostile string from the server (a user name, an audit target) cannot drive the terminal,
 * and text past max_chars characters (UTF-8 code points; 0: no limit) ends in "..". Returns out.
 */
char *tsctl_sanitize(const char *s, size_t max_chars, char *out, size_t outlen);

/* Wall-clock nanoseconds since the epoch as "YYYY-MM-DD HH:MM:SS.mmm" UTC; 0 as "-". */
char *tsctl_fmt_wall_ns(uint64_t ns, char *out, size_t outlen);

/* A PostgreSQL JSON timestamp ("2026-11-25T10:45:23.123+00:00") as "2026-11-25 10:45:23". */
char *tsctl_fmt_pg_time(const char *ts, char *out, size_t outlen);

/* A duration in nanoseconds as "850ns", "12.3us", "4.56ms", "7.89s". */
char *tsctl_fmt_latency(uint64_t ns, char *out, size_t outlen);

/* An uptime in seconds as "45s", "12m05s", "3h04m", "2d05h". */
char *tsctl_fmt_uptime(uint64_t s, char *out, size_t outlen);

/* ---- tables ---- */

enum tsctl_fmt {
	TSCTL_FMT_TEXT = 0, /* strings sanitized, numbers in decimal, true/false as yes/no */
	TSCTL_FMT_WALL_NS, /* an integer of nanoseconds since the epoch */
	TSCTL_FMT_PG_TIME, /* a PostgreSQL timestamp string */
	TSCTL_FMT_LATENCY, /* an integer of nanoseconds */
	TSCTL_FMT_PERCENT, /* a ratio 0..1 as "42.0%" */
	TSCTL_FMT_JSON, /* any value as compact JSON (objects such as audit details) */
};

struct tsctl_col {
	const char *header;
	const char *key; /* member of each row object */
	enum tsctl_fmt fmt;
};

struct tsctl_table;

/* A table of ncols columns. Returns it or NULL (no memory). */
struct tsctl_table *tsctl_table_new(const char *const *headers, size_t ncols);

/* Appends one row of ncols cells (copied and sanitized). Returns 0 or -ENOMEM. */
int tsctl_table_add(struct tsctl_table *t, const char *const *cells);

/*
 * Prints the header and the rows with two spaces between columns, each column as wide as its
 * widest cell; a column whose cells are all numbers (or "-") is aligned right. No trailing blanks.
 */
void tsctl_table_print(const struct tsctl_table *t, FILE *out);

void tsctl_table_free(struct tsctl_table *t);

/* One JSON value as a cell in format fmt (null or absent: "-"). Returns out. */
char *tsctl_cell(const json_t *v, enum tsctl_fmt fmt, char *out, size_t outlen);

/*
 * Prints a JSON array of objects as a table of cols; an empty array prints empty_msg (when not
 * NULL) instead of a lone header. Returns 0, -EINVAL when rows is not an array, or -ENOMEM.
 */
int tsctl_table_print_json(FILE *out, const json_t *rows, const struct tsctl_col *cols,
			   size_t ncols, const char *empty_msg);

/* ---- the token file ---- */

struct tsctl_token {
	char url[512]; /* the server the tokens belong to: never sent anywhere else */
	char username[80];
	char role[16];
	char access[4096];
	char refresh[256];
};

/*
 * Reads path into t. Returns 0; -ENOENT when there is no file; -EPERM when group or others may
 * read it (the tokens may have leaked; log in again); -EINVAL when it is not a token file.
 */
int tsctl_token_load(const char *path, struct tsctl_token *t);

/*
 * Writes t to path atomically (a 0600 temporary file renamed over it), making the missing
 * directories above it with mode 0700. Returns 0 or -errno.
 */
int tsctl_token_save(const char *path, const struct tsctl_token *t);

/* Removes path. Returns 0 (also when there was none) or -errno. */
int tsctl_token_remove(const char *path);

/* Zeroes t so no token stays in memory longer than needed. */
void tsctl_token_wipe(struct tsctl_token *t);

#endif
