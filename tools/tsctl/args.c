/*
 * tsctl's command line: the global options (which may stand anywhere before "--", so scripts can
 * put --json last), each command's own flags, decimal integers, and the one table that maps an
 * HTTP status to the exit code a script sees. No I/O: the environment comes in as a function.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsctl.h"

int tsctl_exit_for_status(long status)
{
	if (status >= 200 && status < 300)
		return TSCTL_EXIT_OK;
	if (status == 401 || status == 403)
		return TSCTL_EXIT_AUTH;
	if (status == 404)
		return TSCTL_EXIT_NOT_FOUND;
	/* 429 is the server pacing us, not a fault in the request: retrying later can succeed. */
	if (status >= 400 && status < 500 && status != 429)
		return TSCTL_EXIT_BAD_REQUEST;
	return TSCTL_EXIT_SERVER;
}

/* Copies src into dst[len]; false when it does not fit. */
static bool copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* If arg is --name or --name=VALUE, takes the value (the next argument in the first form). */
static int take_value(const char *name, int argc, char **argv, int *i, const char **value,
		      bool *matched, char *err, size_t errlen)
{
	const char *arg = argv[*i];
	size_t n = strlen(name);

	*matched = false;
	if (strncmp(arg, name, n))
		return 0;
	if (arg[n] == '=') {
		*value = arg + n + 1;
	} else if (!arg[n]) {
		if (*i + 1 >= argc) {
			snprintf(err, errlen, "%s needs a value", name);
			return -EINVAL;
		}
		*value = argv[++*i];
	} else {
		return 0;
	}
	*matched = true;
	return 0;
}

int tsctl_opts_parse(int argc, char **argv, const char *(*env)(const char *name),
		     struct tsctl_opts *o, char **rest, int *nrest, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		size_t off, len;
	} valued[] = {
		{ "--url", offsetof(struct tsctl_opts, url), sizeof(o->url) },
		{ "--cacert", offsetof(struct tsctl_opts, cacert), sizeof(o->cacert) },
		{ "--token-file", offsetof(struct tsctl_opts, token_file), sizeof(o->token_file) },
	};
	bool ended = false;
	const char *v;

	memset(o, 0, sizeof(*o));
	*nrest = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		bool matched = false;

		if (ended || arg[0] != '-' || !arg[1]) {
			rest[(*nrest)++] = argv[i];
			continue;
		}
		if (!strcmp(arg, "--")) {
			/* Kept for the command, which ends its own options there too. */
			ended = true;
			rest[(*nrest)++] = argv[i];
			continue;
		}
		if (!strcmp(arg, "--json")) {
			o->json = true;
			continue;
		}
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			o->help = true;
			continue;
		}
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]) && !matched; k++) {
			if (take_value(valued[k].name, argc, argv, &i, &v, &matched, err, errlen))
				return -EINVAL;
			if (matched && !copy((char *)o + valued[k].off, valued[k].len, v)) {
				snprintf(err, errlen, "%s: value too long", valued[k].name);
				return -EINVAL;
			}
		}
		if (!matched)
			rest[(*nrest)++] = argv[i]; /* the command's own option */
	}
	if (!o->url[0] && (v = env("TSCTL_URL")) && *v && !copy(o->url, sizeof(o->url), v)) {
		snprintf(err, errlen, "TSCTL_URL: value too long");
		return -EINVAL;
	}
	if (!o->cacert[0] && (v = env("TSCTL_CACERT")) && *v &&
	    !copy(o->cacert, sizeof(o->cacert), v)) {
		snprintf(err, errlen, "TSCTL_CACERT: value too long");
		return -EINVAL;
	}
	if (!o->token_file[0]) {
		const char *home = env("HOME");

		if (!home || !*home) {
			snprintf(err, errlen, "HOME is not set: give --token-file");
			return -EINVAL;
		}
		if ((size_t)snprintf(o->token_file, sizeof(o->token_file),
				     "%s/.config/tradsys/token", home) >= sizeof(o->token_file)) {
			snprintf(err, errlen, "HOME: value too long");
			return -EINVAL;
		}
	}
	/* A bearer token must never cross the network in clear. */
	if (o->url[0] && strncmp(o->url, "https://", 8)) {
		snprintf(err, errlen, "--url must start with https://");
		return -EINVAL;
	}
	/* Paths are joined onto the URL, so a trailing slash would double. */
	for (size_t n = strlen(o->url); n > 8 && o->url[n - 1] == '/'; n--)
		o->url[n - 1] = 0;
	return 0;
}

int tsctl_flags_parse(int argc, char **argv, struct tsctl_flag *flags, size_t nflags, char **pos,
		      int *npos, char *err, size_t errlen)
{
	bool ended = false;

	for (size_t k = 0; k < nflags; k++)
		flags[k].value = NULL;
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		bool matched = false;

		if (ended || arg[0] != '-' || !arg[1] || (arg[1] >= '0' && arg[1] <= '9')) {
			/* "-5" is a (bad) number for the command to judge, not an option. */
			pos[(*npos)++] = argv[i];
			continue;
		}
		if (!strcmp(arg, "--")) {
			ended = true;
			continue;
		}
		for (size_t k = 0; k < nflags && !matched; k++) {
			const char *v = "";

			if (flags[k].takes_value) {
				if (take_value(flags[k].name, argc, argv, &i, &v, &matched, err,
					       errlen))
					return -EINVAL;
			} else {
				matched = !strcmp(arg, flags[k].name);
			}
			if (!matched)
				continue;
			if (flags[k].value) {
				snprintf(err, errlen, "%s given twice", flags[k].name);
				return -EINVAL;
			}
			flags[k].value = v;
		}
		if (!matched) {
			snprintf(err, errlen, "unknown option '%s'", arg);
			return -EINVAL;
		}
	}
	return 0;
}

int tsctl_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
