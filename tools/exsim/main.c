/*
 * tradsys-exsim --config FILE [--check]
 *
 * The loop: epoll over the OUCH listener and connections, the re-request socket, the control
 * socket and a signalfd, with a nanosecond timeout to the next thing due (a flow arrival, a
 * packet flush, a heartbeat, a delayed packet). Each pass handles what is ready, runs the flow,
 * sends what the pass produced, and polls the sessions. SIGINT/SIGTERM end the trading day
 * cleanly (ITCH end of day and MoldUDP64 end of session, SoupBinTCP end of session), print the
 * counters as JSON on stdout and exit 0.
 *
 * Control socket ([venue] control = PATH, a unix stream socket), one command per line, one reply
 * line each ("ok ..." or "error ..."):
 *   stats | bbo SYMBOL | orders | halt SYMBOL | resume SYMBOL | break MATCH | disconnect USER
 *   fault a|b drop|dup|reorder|burst_every|burst_len VALUE | flow rate N | flow off|on
 *   end (end of day and of session) | quit
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "exsim.h"

#define PROG "tradsys-exsim"
#define CONTROL_MAX 8

struct control_conn {
	int fd;
	size_t len;
	char buf[1024];
};

struct app {
	struct exsim x;
	struct exsim_cfg cfg;
	struct config *conf;
	int sig_fd;
	int ctl_fd;
	struct control_conn ctl[CONTROL_MAX];
	bool stop;
};

static int print_stats(const struct app *a, char *out, size_t cap)
{
	const struct exsim *x = &a->x;
	const struct exsim_pub_stats *p = &x->pub.st;
	const struct match_stats *m = match_stats(x->eng);

	return snprintf(
		out, cap,
		"{\"venue\":\"%s\",\"itch\":{\"messages\":%lu,\"packets\":%lu,\"heartbeats\":%lu,"
		"\"next_seq\":%lu,\"requests\":%lu,\"requests_bad\":%lu,\"requests_expired\":%lu,"
		"\"retrans_packets\":%lu,\"retrans_messages\":%lu,"
		"\"line_a\":{\"packets\":%lu,\"dropped\":%lu,\"duplicated\":%lu,\"reordered\":%lu},"
		"\"line_b\":{\"packets\":%lu,\"dropped\":%lu,\"duplicated\":%lu,\"reordered\":%lu}},"
		"\"ouch\":{\"in\":%lu,\"bad\":%lu,\"out\":%lu,\"soup_bad\":%lu,\"logins\":%lu,"
		"\"login_rejects\":%lu,\"timeouts\":%lu,\"fault_disconnects\":%lu,\"orders\":%lu,"
		"\"rejects\":%lu,\"fills\":%lu,\"broken\":%lu},"
		"\"flow\":{\"orders\":%lu,\"cancels\":%lu,\"crosses\":%lu,\"resting\":%u},"
		"\"engine\":{\"accepted\":%lu,\"rejected\":%lu,\"executions\":%lu,\"canceled\":%lu,"
		"\"replaced\":%lu,\"resting\":%u}}",
		a->cfg.name, (unsigned long)p->messages, (unsigned long)p->packets,
		(unsigned long)p->heartbeats, (unsigned long)x->pub.next_seq,
		(unsigned long)p->requests, (unsigned long)p->requests_bad,
		(unsigned long)p->requests_expired, (unsigned long)p->retrans_packets,
		(unsigned long)p->retrans_messages, (unsigned long)p->line[0].packets,
		(unsigned long)p->line[0].dropped, (unsigned long)p->line[0].duplicated,
		(unsigned long)p->line[0].reordered, (unsigned long)p->line[1].packets,
		(unsigned long)p->line[1].dropped, (unsigned long)p->line[1].duplicated,
		(unsigned long)p->line[1].reordered, (unsigned long)x->st.ouch_in,
		(unsigned long)x->st.ouch_bad, (unsigned long)x->st.ouch_out,
		(unsigned long)x->st.soup_bad, (unsigned long)x->st.logins,
		(unsigned long)x->st.login_rejects, (unsigned long)x->st.timeouts,
		(unsigned long)x->st.fault_disconnects, (unsigned long)x->st.orders,
		(unsigned long)x->st.rejects, (unsigned long)x->st.fills,
		(unsigned long)x->st.broken, (unsigned long)x->st.bg_orders,
		(unsigned long)x->st.bg_cancels, (unsigned long)x->st.bg_crosses, x->nbg,
		(unsigned long)m->accepted, (unsigned long)m->rejected,
		(unsigned long)m->executions, (unsigned long)m->canceled,
		(unsigned long)m->replaced, match_order_count(x->eng));
}

static int set_fault(struct exsim_fault *f, const char *key, const char *val)
{
	char *end;
	double d = strtod(val, &end);

	if (*end || end == val || d < 0)
		return -EINVAL;
	if (!strcmp(key, "drop") || !strcmp(key, "dup") || !strcmp(key, "reorder")) {
		if (d > 1)
			return -EINVAL;
		*(!strcmp(key, "drop")	? &f->drop
		  : !strcmp(key, "dup") ? &f->dup
					: &f->reorder) = d;
		return 0;
	}
	if (d > 1e8 || d != (double)(uint32_t)d)
		return -EINVAL;
	if (!strcmp(key, "burst_every"))
		f->burst_every = (uint32_t)d;
	else if (!strcmp(key, "burst_len"))
		f->burst_len = (uint32_t)d;
	else if (!strcmp(key, "delay_us"))
		return -EOPNOTSUPP; /* the delay queue is sized at start: set it in the config */
	else
		return -EINVAL;
	return 0;
}

static void control_command(struct app *a, char *line, char *out, size_t cap)
{
	struct exsim *x = &a->x;
	char *argv[6] = { 0 };
	int argc = 0;

	for (char *t = strtok(line, " \t\r"); t && argc < 6; t = strtok(NULL, " \t\r"))
		argv[argc++] = t;
	if (argc == 0) {
		snprintf(out, cap, "error empty command");
	} else if (!strcmp(argv[0], "stats")) {
		size_t n = (size_t)snprintf(out, cap, "ok ");
		print_stats(a, out + n, cap - n);
	} else if (!strcmp(argv[0], "bbo") && argc == 2) {
		int i = exsim_instrument_find(x, argv[1]);
		int64_t b, bq, s, sq;
		if (i < 0) {
			snprintf(out, cap, "error unknown symbol %s", argv[1]);
			return;
		}
		match_bbo(x->eng, (uint32_t)i, &b, &bq, &s, &sq);
		snprintf(out, cap, "ok bid=%ld bid_qty=%ld ask=%ld ask_qty=%ld", (long)b, (long)bq,
			 (long)s, (long)sq);
	} else if ((!strcmp(argv[0], "halt") || !strcmp(argv[0], "resume")) && argc == 2) {
		if (exsim_venue_halt(x, argv[1], argv[0][0] == 'h'))
			snprintf(out, cap, "error unknown symbol %s", argv[1]);
		else
			snprintf(out, cap, "ok");
	} else if (!strcmp(argv[0], "break") && argc == 2) {
		if (exsim_venue_break(x, strtoull(argv[1], NULL, 10)))
			snprintf(out, cap, "error no trade with a session side has match %s",
				 argv[1]);
		else
			snprintf(out, cap, "ok");
	} else if (!strcmp(argv[0], "disconnect") && argc == 2) {
		int s = exsim_session_find(x, argv[1]);
		if (s < 0 || x->sess[s].conn < 0) {
			snprintf(out, cap, "error %s is not connected", argv[1]);
			return;
		}
		exsim_soup_close(x, x->sess[s].conn, "control_disconnect");
		snprintf(out, cap, "ok");
	} else if (!strcmp(argv[0], "fault") && argc == 4) {
		int ln = !strcmp(argv[1], "a") ? 0 : !strcmp(argv[1], "b") ? 1 : -1;
		if (ln < 0 || (uint32_t)ln >= x->pub.nlines) {
			snprintf(out, cap, "error line: %s is not a configured line (a or b)",
				 argv[1]);
			return;
		}
		int rc = set_fault(&x->pub.lines[ln].fault, argv[2], argv[3]);
		if (rc)
			snprintf(out, cap, "error fault %s: '%s' %s", argv[2], argv[3],
				 rc == -EOPNOTSUPP ? "can only be set in the config"
						   : "is not a valid value for this key");
		else
			snprintf(out, cap, "ok");
	} else if (!strcmp(argv[0], "flow") && argc == 3 && !strcmp(argv[1], "rate")) {
		unsigned long long r = strtoull(argv[2], NULL, 10);
		if (r == 0 || r > 10000000) {
			snprintf(out, cap, "error rate: '%s' is not 1..10000000", argv[2]);
			return;
		}
		a->cfg.flow_rate = r;
		snprintf(out, cap, "ok");
	} else if (!strcmp(argv[0], "flow") && argc == 2 &&
		   (!strcmp(argv[1], "off") || !strcmp(argv[1], "on"))) {
		x->flow_paused = argv[1][1] == 'f';
		if (!x->flow_paused && x->next_arrival_ns < x->now_ns)
			x->next_arrival_ns = x->now_ns;
		snprintf(out, cap, "ok");
	} else if (!strcmp(argv[0], "orders")) {
		snprintf(out, cap, "ok %u", match_order_count(x->eng));
	} else if (!strcmp(argv[0], "end")) {
		exsim_venue_end(x);
		exsim_soup_end(x);
		snprintf(out, cap, "ok");
	} else if (!strcmp(argv[0], "quit")) {
		a->stop = true;
		snprintf(out, cap, "ok");
	} else {
		snprintf(out, cap, "error unknown command or arguments: %s", argv[0]);
	}
}

static void control_close(struct app *a, int i)
{
	epoll_ctl(a->x.epfd, EPOLL_CTL_DEL, a->ctl[i].fd, NULL);
	close(a->ctl[i].fd);
	a->ctl[i].fd = -1;
}

static void control_read(struct app *a, int i)
{
	struct control_conn *c = &a->ctl[i];
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
	char *nl;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			control_close(a, i);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	while ((nl = strchr(c->buf, '\n'))) {
		char reply[4096];
		*nl = '\0';
		control_command(a, c->buf, reply, sizeof(reply) - 1);
		size_t rl = strlen(reply);
		reply[rl++] = '\n';
		if (send(c->fd, reply, rl, MSG_NOSIGNAL) < 0) {
			control_close(a, i);
			return;
		}
		c->len -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len + 1);
	}
	if (c->len >= sizeof(c->buf) - 1)
		control_close(a, i); /* a line longer than any command */
}

static void control_accept(struct app *a)
{
	int fd;

	while ((fd = accept4(a->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		int i = 0;
		while (i < CONTROL_MAX && a->ctl[i].fd >= 0)
			i++;
		if (i == CONTROL_MAX) {
			close(fd);
			continue;
		}
		a->ctl[i].fd = fd;
		a->ctl[i].len = 0;
		struct epoll_event ev = {
			.events = EPOLLIN,
			.data.u64 = (uint64_t)EXSIM_EV_CONTROL_CONN << 32 | (uint32_t)i,
		};
		epoll_ctl(a->x.epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

static int control_open(struct app *a, char *err, size_t errlen)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	if (!a->cfg.control)
		return 0;
	if (strlen(a->cfg.control) >= sizeof(un.sun_path)) {
		snprintf(err, errlen, "[venue] control: path longer than %zu bytes",
			 sizeof(un.sun_path) - 1);
		return -1;
	}
	strcpy(un.sun_path, a->cfg.control);
	unlink(a->cfg.control);
	a->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->ctl_fd < 0 || bind(a->ctl_fd, (struct sockaddr *)&un, sizeof(un)) < 0 ||
	    listen(a->ctl_fd, 8) < 0) {
		snprintf(err, errlen, "[venue] control: %s: %s", a->cfg.control, strerror(errno));
		return -1;
	}
	return 0;
}

static int add_fd(struct app *a, int fd, enum exsim_ev kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)kind << 32 };

	return epoll_ctl(a->x.epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int write_ready(const struct app *a, char *err, size_t errlen)
{
	char tmp[4096];
	FILE *f;

	if (!a->cfg.ready_file)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", a->cfg.ready_file);
	f = fopen(tmp, "we");
	if (!f ||
	    fprintf(f, "ouch_port=%u\nrequest_port=%u\npid=%d\n", a->x.ouch_port, a->x.pub.req_port,
		    (int)getpid()) < 0 ||
	    fclose(f) || rename(tmp, a->cfg.ready_file)) {
		snprintf(err, errlen, "[venue] ready_file: %s: %s", a->cfg.ready_file,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static void run(struct app *a)
{
	struct exsim *x = &a->x;
	struct epoll_event evs[64];

	while (!a->stop) {
		uint64_t due = exsim_pub_next_due(&x->pub);
		uint64_t flow = exsim_flow_next_due(x);
		uint64_t now = exsim_mono_ns();
		if (flow < due)
			due = flow;
		/* sessions: heartbeats and timeouts are checked at least every 10 ms */
		if (due > now + 10000000u)
			due = now + 10000000u;
		struct timespec ts = { 0, due > now ? (long)(due - now) : 0 };
		int n = epoll_pwait2(x->epfd, evs, 64, &ts, NULL);
		x->now_ns = exsim_mono_ns();
		for (int k = 0; k < n; k++) {
			uint32_t kind = (uint32_t)(evs[k].data.u64 >> 32);
			int idx = (int)(uint32_t)evs[k].data.u64;
			switch (kind) {
			case EXSIM_EV_LISTEN: exsim_soup_accept(x); break;
			case EXSIM_EV_CONN:
				if (x->conns[idx] &&
				    (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
					exsim_soup_read(x, idx);
				break;
			case EXSIM_EV_REQUEST: exsim_pub_requests(&x->pub, x->now_ns); break;
			case EXSIM_EV_CONTROL: control_accept(a); break;
			case EXSIM_EV_CONTROL_CONN:
				if (a->ctl[idx].fd >= 0)
					control_read(a, idx);
				break;
			case EXSIM_EV_SIGNAL: {
				struct signalfd_siginfo si;
				if (read(a->sig_fd, &si, sizeof(si)) == sizeof(si))
					a->stop = true;
				break;
			}
			}
		}
		exsim_flow_run(x);
		exsim_pub_poll(&x->pub, x->now_ns, true);
		exsim_soup_poll(x);
		if (x->orders_csv)
			fflush(x->orders_csv);
		if (x->pub.rec)
			fflush(x->pub.rec);
	}
}

static int usage(FILE *f)
{
	fprintf(f, "usage: " PROG " --config FILE [--check]\n"
		   "  the exchange simulator: ITCH 5.0 over MoldUDP64 out, OUCH 4.2 over "
		   "SoupBinTCP 3.0 in\n"
		   "  --check  load and validate the config, then exit\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	static struct app a;
	const char *path = NULL;
	bool check = false;
	char err[512];
	sigset_t mask;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--check"))
			check = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout);
		else
			return usage(stderr);
	}
	if (!path)
		return usage(stderr);
	if (exsim_config_load(path, &a.cfg, &a.conf, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		config_free(a.conf);
		return 1;
	}
	if (check) {
		printf("%s: ok (%u instruments, %u sessions, %u lines)\n", path, a.cfg.ninstruments,
		       a.cfg.nsessions, a.cfg.nlines);
		config_free(a.conf);
		return 0;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	a.ctl_fd = -1;
	for (int i = 0; i < CONTROL_MAX; i++)
		a.ctl[i].fd = -1;

	if (exsim_venue_open(&a.x, &a.cfg, err, sizeof(err)) || control_open(&a, err, sizeof(err)))
		goto out;
	a.x.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a.x.epfd < 0 || add_fd(&a, a.x.listen_fd, EXSIM_EV_LISTEN) ||
	    add_fd(&a, a.x.pub.req_fd, EXSIM_EV_REQUEST) || add_fd(&a, a.sig_fd, EXSIM_EV_SIGNAL) ||
	    (a.ctl_fd >= 0 && add_fd(&a, a.ctl_fd, EXSIM_EV_CONTROL))) {
		snprintf(err, sizeof(err), "epoll: %s", strerror(errno));
		goto out;
	}
	if (exsim_flow_open(&a.x)) {
		snprintf(err, sizeof(err), "[flow] replay_file: %s: cannot map it (%s)",
			 a.cfg.replay_file, strerror(errno));
		goto out;
	}
	exsim_venue_start(&a.x);
	exsim_pub_poll(&a.x.pub, a.x.now_ns, true);
	if (write_ready(&a, err, sizeof(err)))
		goto out;
	fprintf(stderr, PROG ": %s trading: ouch port %u, re-request port %u, %u instruments\n",
		a.cfg.name, a.x.ouch_port, a.x.pub.req_port, a.cfg.ninstruments);
	run(&a);
	a.x.now_ns = exsim_mono_ns();
	exsim_venue_end(&a.x);
	exsim_soup_end(&a.x);
	{
		static char js[8192];
		print_stats(&a, js, sizeof(js));
		printf("%s\n", js);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, PROG ": %s\n", err);
	exsim_flow_close(&a.x);
	for (int i = 0; i < CONTROL_MAX; i++)
		if (a.ctl[i].fd >= 0)
			close(a.ctl[i].fd);
	if (a.ctl_fd >= 0) {
		close(a.ctl_fd);
		unlink(a.cfg.control);
	}
	if (a.cfg.ready_file && rc == 0)
		unlink(a.cfg.ready_file);
	exsim_venue_close(&a.x);
	if (a.x.epfd >= 0)
		close(a.x.epfd);
	config_free(a.conf);
	return rc;
}
