/*
 * `tsctl top`: a live view of the dataplane from /api/v1/status, one frame a second with the
 * counters turned into rates against the previous frame, until q or Ctrl-C. On a terminal it
 * draws on the alternate screen and reads keys without echo, and puts the terminal back however
 * it ends; `--once` prints one frame (rates averaged since the dataplane started, no terminal
 * control) for scripts and tests.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

static volatile sig_atomic_t quit;
static struct termios saved_tio;
static bool tio_saved, screen_on;

static void on_signal(int sig)
{
	quit = 1;
}

static void screen_restore(void)
{
	if (screen_on) {
		fputs("\033[?25h\033[?1049l", stdout);
		fflush(stdout);
		screen_on = false;
	}
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		tio_saved = false;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t member(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* The worker of prev with the same id, for rates. */
static const json_t *prev_worker(const json_t *prev, const json_t *w)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(prev, "workers"), i, p)
	{
		if (member(p, "id") == member(w, "id"))
			return p;
	}
	return NULL;
}

/* A counter's rate per second against the previous frame; without one, its average over the
 * uptime (seconds since the dataplane started); "-" with neither. */
static const char *rate(const json_t *w, const json_t *p, const char *key, double dt,
			int64_t uptime, char *out, size_t outlen)
{
	int64_t d;

	if (p && dt > 0) {
		d = member(w, key) - member(p, key);
		snprintf(out, outlen, "%.0f", d > 0 ? (double)d / dt : 0.0);
	} else if (!p && uptime > 0) {
		snprintf(out, outlen, "%.0f", (double)member(w, key) / (double)uptime);
	} else {
		snprintf(out, outlen, "-");
	}
	return out;
}

/* "sessions  NAME/wW STATE ..." from /api/v1/venues (nothing when it has no sessions). */
static void render_sessions(FILE *out, const json_t *venues)
{
	const json_t *v;
	char name[64], state[64];
	size_t i;

	if (!json_array_size(json_object_get(venues, "venues")))
		return;
	fprintf(out, "sessions");
	json_array_foreach(json_object_get(venues, "venues"), i, v)
	{
		tsctl_cell(json_object_get(v, "name"), TSCTL_FMT_TEXT, name, sizeof(name));
		tsctl_cell(json_object_get(v, "state"), TSCTL_FMT_TEXT, state, sizeof(state));
		fprintf(out, "  %s/w%lld %s%s", name, (long long)member(v, "worker"), state,
			json_is_true(json_object_get(v, "admin_down")) ? " (operator)" : "");
	}
	fprintf(out, "\n\n");
}

/* One frame of the view into out; venues (may be NULL) is /api/v1/venues's answer. */
static void render(FILE *out, const struct tsctl_client *c, const json_t *st, const json_t *venues,
		   const json_t *prev, double dt, const char *problem)
{
	static const char *const headers[] = { "WORKER",   "STATE",   "BUSY",	 "PKT/S",
					       "MSG/S",	   "LOST",    "ORD/S",	 "FILLS",
					       "RISK_REJ", "VEN_REJ", "T2T_P50", "T2T_P99",
					       "BURST_P99" };
	char cells[13][64], when[40], s1[64], s2[64], s3[32], up[32];
	const char *row[13];
	struct tsctl_table *t;
	const json_t *w;
	size_t i;

	tsctl_fmt_wall_ns((uint64_t)time(NULL) * 1000000000u, when, sizeof(when));
	when[19] = 0; /* whole seconds */
	fprintf(out, "tsctl top  %s  %s UTC\n", c->url, when);
	if (problem) {
		fprintf(out, "\n%s\n", problem);
		return;
	}
	tsctl_cell(json_object_get(st, "instance"), TSCTL_FMT_TEXT, s1, sizeof(s1));
	if (!json_is_true(json_object_get(st, "running"))) {
		fprintf(out, "instance %s: dataplane not running: %s\n", s1,
			tsctl_cell(json_object_get(st, "error"), TSCTL_FMT_TEXT, s2, sizeof(s2)));
		return;
	}
	int64_t start = member(st, "start_wall_ns") / 1000000000, now = (int64_t)time(NULL);
	int64_t uptime = start > 0 && now > start ? now - start : 0;

	tsctl_fmt_uptime((uint64_t)uptime, up, sizeof(up));
	fprintf(out, "instance %s  state %s  driver %s  pid %lld  up %s%s\n\n", s1,
		tsctl_cell(json_object_get(st, "state"), TSCTL_FMT_TEXT, s2, sizeof(s2)),
		tsctl_cell(json_object_get(st, "driver"), TSCTL_FMT_TEXT, s3, sizeof(s3)),
		(long long)member(st, "pid"), up, prev ? "" : "  (rates: average since start)");
	render_sessions(out, venues);
	t = tsctl_table_new(headers, 13);
	if (!t)
		return;
	json_array_foreach(json_object_get(st, "workers"), i, w)
	{
		const json_t *p = prev_worker(prev, w);

		tsctl_cell(json_object_get(w, "id"), TSCTL_FMT_TEXT, cells[0], 64);
		tsctl_cell(json_object_get(w, "state"), TSCTL_FMT_TEXT, cells[1], 64);
		tsctl_cell(json_object_get(w, "busy_ratio"), TSCTL_FMT_PERCENT, cells[2], 64);
		rate(w, p, "packets", dt, uptime, cells[3], 64);
		rate(w, p, "feed_messages", dt, uptime, cells[4], 64);
		tsctl_cell(json_object_get(w, "feed_lost"), TSCTL_FMT_TEXT, cells[5], 64);
		rate(w, p, "orders_sent", dt, uptime, cells[6], 64);
		tsctl_cell(json_object_get(w, "fills"), TSCTL_FMT_TEXT, cells[7], 64);
		tsctl_cell(json_object_get(w, "risk_rejects"), TSCTL_FMT_TEXT, cells[8], 64);
		tsctl_cell(json_object_get(w, "venue_rejects"), TSCTL_FMT_TEXT, cells[9], 64);
		tsctl_cell(json_object_get(w, "tick_to_trade_p50_ns"), TSCTL_FMT_LATENCY, cells[10],
			   64);
		tsctl_cell(json_object_get(w, "tick_to_trade_p99_ns"), TSCTL_FMT_LATENCY, cells[11],
			   64);
		tsctl_cell(json_object_get(w, "burst_p99_ns"), TSCTL_FMT_LATENCY, cells[12], 64);
		for (int k = 0; k < 13; k++)
			row[k] = cells[k];
		tsctl_table_add(t, row);
	}
	tsctl_table_print(t, out);
	tsctl_table_free(t);
}

/* /api/v1/venues for the sessions line, or NULL: the line is extra, never a reason to fail. */
static json_t *venues_get(struct tsctl_client *c)
{
	json_t *v = NULL;
	long status = 0;

	if (tsctl_request(c, "GET", "/api/v1/venues", NULL, true, &status, &v) || status != 200) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static int once(struct tsctl_client *c)
{
	json_t *st, *venues = NULL;
	int code = tsctl_call(c, "GET", "/api/v1/status", NULL, &st);

	if (code)
		return code;
	if (c->o->json) {
		tsctl_print_json(st);
	} else {
		venues = venues_get(c);
		render(stdout, c, st, venues, NULL, 0, NULL);
		json_decref(venues);
	}
	json_decref(st);
	return 0;
}

/* Waits up to ms for a key; true when it asks to quit. */
static bool wait_key(int ms, bool *stdin_open)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	char ch[16];
	ssize_t n;

	if (!*stdin_open) {
		poll(NULL, 0, ms);
		return false;
	}
	if (poll(&p, 1, ms) <= 0)
		return false;
	n = read(STDIN_FILENO, ch, sizeof(ch));
	if (n <= 0) {
		*stdin_open = false; /* EOF (not a terminal): only a signal ends the view */
		return false;
	}
	for (ssize_t i = 0; i < n; i++)
		if (ch[i] == 'q' || ch[i] == 'Q' || ch[i] == 3 /* ^C without ISIG */)
			return true;
	return false;
}

int cmd_top(struct tsctl_client *c, int argc, char **argv)
{
	struct tsctl_flag f[] = { { "--once", false, NULL } };
	struct sigaction sa;
	char err[160], *pos[8];
	bool tty = isatty(STDOUT_FILENO), stdin_open = true;
	json_t *prev = NULL;
	double prev_t = 0;
	int npos, code = 0;

	if (argc - 1 > 8 ||
	    tsctl_flags_parse(argc - 1, argv + 1, f, 1, pos, &npos, err, sizeof(err)) || npos)
		return tsctl_usage_error("tsctl top [--once]");
	if (f[0].value)
		return once(c);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &saved_tio)) {
		struct termios tio = saved_tio;

		tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		tio_saved = !tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio);
	}
	if (tty) {
		fputs("\033[?1049h\033[?25l", stdout);
		screen_on = true;
	}
	while (!quit) {
		double t0 = now_s();
		char *frame = NULL, problem[300];
		size_t flen = 0;
		FILE *mem = open_memstream(&frame, &flen);
		long status = 0;
		json_t *st = NULL;
		int rc = tsctl_request(c, "GET", "/api/v1/status", NULL, true, &status, &st);

		code = tsctl_exit_for_status(rc ? 0 : status);
		if (rc == -EACCES || code == TSCTL_EXIT_AUTH) {
			/* No session or no right: nothing to wait for. */
			if (mem)
				fclose(mem);
			free(frame);
			screen_restore();
			code = tsctl_report(c, rc, status, st, "GET");
			json_decref(st);
			goto out;
		}
		if (!mem) {
			json_decref(st);
			code = TSCTL_EXIT_SERVER;
			break;
		}
		if (rc)
			snprintf(problem, sizeof(problem), "cannot reach the server: %s (retrying)",
				 c->err);
		else if (code)
			snprintf(problem, sizeof(problem), "the server answered %ld: %s (retrying)",
				 status, json_string_value(json_object_get(st, "error")) ?: "");
		if (tty)
			fputs("\033[H\033[2J", mem);
		json_t *venues = rc || code ? NULL : venues_get(c);
		render(mem, c, st, venues, prev, prev ? t0 - prev_t : 0,
		       rc || code ? tsctl_sanitize(problem, 200, err, sizeof(err)) : NULL);
		json_decref(venues);
		if (tty)
			fputs("\n(q to quit)", mem);
		else
			fputs("\n", mem);
		fclose(mem);
		fwrite(frame, 1, flen, stdout);
		fflush(stdout);
		free(frame);
		if (!rc && !code) {
			json_decref(prev);
			prev = st;
			prev_t = t0;
		} else {
			json_decref(st);
		}
		code = 0;
		while (!quit) {
			int left = (int)((t0 + 1.0 - now_s()) * 1000);

			if (left <= 0)
				break;
			if (wait_key(left, &stdin_open))
				quit = 1;
		}
	}
	screen_restore();
out:
	json_decref(prev);
	return code;
}
