/*
 * The SoupBinTCP session over io_uring against a local tradsys-exsim on loopback (started here
 * from the build tree, next to this binary: ../exsim/tradsys-exsim, or TRADSYS_EXSIM). Reports
 * the round trip of one order (vsession_send of an OUCH Enter Order -> its Accepted delivered
 * by vsession_poll, busy-polling) as p50/p99/p99.9/max, the cost of vsession_send + flush (one
 * io_uring_submit that hands the bytes to TCP), vsession_send alone, and an idle vsession_poll.
 * Usage: tradsys-bench session [--runs N] [--ops ORDERS] [--cpus A,B] (A: this, B: exsim)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "core.h"
#include "ouch.h"
#include "session.h"

#define SUITE_SESSION "session"
#define WARMUP 500

struct sim {
	pid_t pid;
	char dir[64];
	uint16_t port;
};

struct bs {
	bool want; /* waiting for the Accepted of token */
	char token[OUCH_TOKEN_LEN + 1];
	uint64_t got_tsc;
	uint64_t messages;
};

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static int exsim_exe(char *out, size_t cap)
{
	const char *env = getenv("TRADSYS_EXSIM");
	ssize_t n;

	if (env) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", out, cap - 1);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	char *slash = strrchr(out, '/');
	if (!slash)
		return -1;
	snprintf(slash, cap - (size_t)(slash - out), "/../exsim/tradsys-exsim");
	return access(out, X_OK);
}

static void sim_stop(struct sim *x)
{
	char cmd[128];

	if (x->pid > 0) {
		kill(x->pid, SIGTERM);
		waitpid(x->pid, NULL, 0);
		x->pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	if (x->dir[0] && system(cmd) != 0)
		fprintf(stderr, "session: could not remove %s\n", x->dir);
}

static int sim_start(struct sim *x, int cpu)
{
	char exe[4096], path[128], ready[128];
	FILE *f;

	memset(x, 0, sizeof(*x));
	if (exsim_exe(exe, sizeof(exe))) {
		fprintf(stderr, "session: tradsys-exsim not found next to tradsys-bench "
				"(set TRADSYS_EXSIM)\n");
		return -1;
	}
	strcpy(x->dir, "/tmp/tradsys-bench-session-XXXXXX");
	if (!mkdtemp(x->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/exsim.conf", x->dir);
	snprintf(ready, sizeof(ready), "%s/ready", x->dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	/* The feed goes to the discard port; no background flow, so only our orders trade. */
	fprintf(f,
		"[venue]\nname = bench\nsession = BENCH00001\nrecords = %s/rec\nready_file = %s\n"
		"max_orders = 2000000\n[itch]\nline_a = 127.0.0.1:9\nheartbeat_ms = 1000\n"
		"[ouch]\nlisten = 127.0.0.1:0\n[session.bench]\npassword = bench\nfirm = BNCH\n"
		"[instrument.AAPL]\nprice = 150.00\ntick = 0.01\n",
		x->dir, ready);
	fclose(f);
	x->pid = fork();
	if (x->pid < 0)
		return -1;
	if (x->pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		pin(cpu);
		execl(exe, "tradsys-exsim", "--config", path, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++, usleep(10000)) {
		unsigned o = 0, r = 0;
		f = fopen(ready, "r");
		if (!f) {
			if (waitpid(x->pid, NULL, WNOHANG) != 0) {
				x->pid = 0;
				fprintf(stderr, "session: tradsys-exsim exited early\n");
				return -1;
			}
			continue;
		}
		int got = fscanf(f, "ouch_port=%u\nrequest_port=%u", &o, &r);
		fclose(f);
		if (got >= 1 && o) {
			x->port = (uint16_t)o;
			return 0;
		}
	}
	fprintf(stderr, "session: tradsys-exsim did not become ready\n");
	return -1;
}

static void on_message(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len)
{
	struct bs *b = ctx;
	const struct ouch_accepted *a = (const void *)msg;

	(void)seq;
	b->messages++;
	if (b->want && len == sizeof(*a) && a->type == OUCH_ACCEPTED &&
	    memcmp(a->token, b->token, strlen(b->token)) == 0) {
		b->got_tsc = clock_tsc_end();
		b->want = false;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static double pct(const uint64_t *sorted, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return (double)sorted[i < n ? i : n - 1];
}

static size_t order(uint8_t *m, struct bs *b, uint64_t k)
{
	snprintf(b->token, sizeof(b->token), "B%lu", (unsigned long)k);
	const struct ouch_enter e = { .token = b->token,
				      .stock = "AAPL",
				      .shares = 100,
				      .price = 1000000 + (uint32_t)(k % 100) * 100,
				      .tif = OUCH_TIF_MARKET_HOURS,
				      .side = 'B' };
	return ouch_encode_enter(m, 64, &e);
}

/* One order, round trip: returns its latency in ns (0 on a timeout) and the send+flush cost. */
static uint64_t round_trip(struct vsession *s, struct bs *b, uint64_t k, uint64_t *send_ns)
{
	uint8_t m[64];
	size_t len = order(m, b, k);

	b->want = true;
	uint64_t t0 = clock_tsc_start();
	if (vsession_send(s, m, len) || vsession_flush(s) < 0)
		return 0;
	uint64_t t1 = clock_tsc_end();
	uint64_t end = clock_mono_ns() + 2000000000ull;
	while (b->want) {
		vsession_poll(s, clock_mono_ns());
		if (clock_mono_ns() > end)
			return 0;
	}
	*send_ns = clock_cycles_to_ns(t1 - t0);
	return clock_cycles_to_ns(b->got_tsc - t0);
}

static int run_session(const struct bench_opts *o)
{
	uint64_t n = o->ops ? o->ops : 5000;
	unsigned runs = o->runs ? o->runs : 1;
	struct sim x;
	struct bs b = { 0 };
	struct vsession_cfg c;
	char wl[160];
	int rc = 1;
	struct vsession *s = NULL;
	uint64_t *rt = NULL, *sf = NULL, k = 0, d;
	double *run_p50 = NULL;

	pin(o->cpu_a);
	if (sim_start(&x, o->cpu_b))
		goto out;
	vsession_cfg_default(&c);
	c.venue.sin_port = htons(x.port);
	c.venue.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	strcpy(c.user, "bench");
	strcpy(c.pass, "bench");
	const struct vsession_ops ops = { .on_message = on_message };
	s = vsession_create(&c, &ops, &b);
	if (!s) {
		fprintf(stderr, "session: create: %s\n", strerror(errno));
		goto out;
	}
	uint64_t end = clock_mono_ns() + 5000000000ull;
	while ((vsession_state(s) != VSESSION_LOGGED_IN || b.messages == 0) &&
	       clock_mono_ns() < end)
		vsession_poll(s, clock_mono_ns());
	if (vsession_state(s) != VSESSION_LOGGED_IN) {
		fprintf(stderr, "session: no login: %s\n", vsession_state_name(vsession_state(s)));
		goto destroy;
	}

	rt = calloc(n * runs, sizeof(*rt));
	sf = calloc(n * runs, sizeof(*sf));
	run_p50 = calloc(runs, sizeof(double));
	if (!rt || !sf || !run_p50)
		goto freeall;
	for (unsigned i = 0; i < WARMUP; i++)
		if (!round_trip(s, &b, ++k, &d))
			goto timeout;
	for (unsigned r = 0; r < runs; r++) {
		for (uint64_t i = 0; i < n; i++) {
			uint64_t *slot = &rt[r * n + i];
			*slot = round_trip(s, &b, ++k, &sf[r * n + i]);
			if (!*slot)
				goto timeout;
		}
		qsort(rt + r * n, n, sizeof(*rt), cmp_u64);
		run_p50[r] = pct(rt + r * n, n, 0.5);
	}
	snprintf(wl, sizeof(wl),
		 "\"orders\":%lu,\"transport\":\"loopback\",\"venue\":\"tradsys-exsim\","
		 "\"mode\":\"one in flight, busy poll\"",
		 (unsigned long)n);
	bench_report(SUITE_SESSION, "order_to_accepted", "latency_p50", "ns", run_p50, runs, wl);
	qsort(rt, n * runs, sizeof(*rt), cmp_u64);
	qsort(sf, n * runs, sizeof(*sf), cmp_u64);
	bench_report_value(SUITE_SESSION, "order_to_accepted", "latency_p50", "ns",
			   pct(rt, n * runs, 0.5), wl);
	bench_report_value(SUITE_SESSION, "order_to_accepted", "latency_p99", "ns",
			   pct(rt, n * runs, 0.99), wl);
	bench_report_value(SUITE_SESSION, "order_to_accepted", "latency_p99.9", "ns",
			   pct(rt, n * runs, 0.999), wl);
	bench_report_value(SUITE_SESSION, "order_to_accepted", "latency_max", "ns",
			   (double)rt[n * runs - 1], wl);
	bench_report_value(SUITE_SESSION, "send_flush", "latency_p50", "ns", pct(sf, n * runs, 0.5),
			   wl);
	bench_report_value(SUITE_SESSION, "send_flush", "latency_p99", "ns",
			   pct(sf, n * runs, 0.99), wl);

	/* vsession_send alone: the copy into the send buffer, a batch of 64 then one flush. */
	double *per = calloc(runs, sizeof(double));
	if (per) {
		uint8_t m[64];
		size_t len = order(m, &b, ++k);
		for (unsigned r = 0; r < runs; r++) {
			uint64_t best = UINT64_MAX;
			for (int rep = 0; rep < 200; rep++) {
				uint64_t t0 = clock_tsc_start();
				for (int i = 0; i < 64; i++)
					vsession_send(s, m, len);
				uint64_t t1 = clock_tsc_end();
				if (t1 - t0 < best)
					best = t1 - t0;
				vsession_flush(s);
				for (int i = 0; i < 200; i++)
					vsession_poll(s, clock_mono_ns());
			}
			per[r] = (double)clock_cycles_to_ns(best) / 64;
		}
		bench_report(SUITE_SESSION, "send_only", "latency", "ns/op", per, runs,
			     "\"batch\":64,\"msg_bytes\":49");
		/* An idle poll: nothing in the completion ring, nothing to submit. */
		end = clock_mono_ns() + 200000000ull;
		while (clock_mono_ns() < end)
			vsession_poll(s, clock_mono_ns()); /* the last Accepted messages drain */
		for (unsigned r = 0; r < runs; r++) {
			uint64_t now = clock_mono_ns();
			uint64_t t0 = clock_tsc_start();
			for (int i = 0; i < 100000; i++)
				vsession_poll(s, now);
			per[r] = (double)clock_cycles_to_ns(clock_tsc_end() - t0) / 100000;
		}
		bench_report(SUITE_SESSION, "poll_idle", "latency", "ns/op", per, runs,
			     "\"polls\":100000");
		free(per);
	}
	rc = 0;
	goto freeall;
timeout:
	fprintf(stderr, "session: no Accepted for order %lu within 2 s\n", (unsigned long)k);
freeall:
	free(rt);
	free(sf);
	free(run_p50);
destroy:
	vsession_logout(s);
	vsession_destroy(s);
out:
	sim_stop(&x);
	return rc;
}

BENCH_SUITE(session_suite, SUITE_SESSION,
	    "order -> Accepted round trip against a local tradsys-exsim, send+flush, idle poll "
	    "(--ops ORDERS, --cpus BENCH,EXSIM)",
	    run_session)
