/*
 * Test harness for tradsys-exsim: starts the real binary with a config in a temp directory on
 * loopback, waits for its ready file, and talks to it over real sockets: a SoupBinTCP client for
 * order entry, a UDP socket for the MoldUDP64 feed, and the control socket.
 */
#ifndef TRADSYS_EXSIM_TEST_H
#define TRADSYS_EXSIM_TEST_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ouch.h"
#include "soup.h"

struct venue {
	pid_t pid;
	char dir[64];
	char control[128];
	uint16_t ouch_port, req_port, feed_port;
	int feed_fd; /* line A arrives here */
};

static inline uint64_t t_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline const char *exsim_path(void)
{
	static char p[4096];
	const char *b = getenv("TRADSYS_BUILD_ROOT");
	cr_assert(b, "TRADSYS_BUILD_ROOT is not set (run through meson test)");
	snprintf(p, sizeof(p), "%s/tools/exsim/tradsys-exsim", b);
	return p;
}

static inline int udp_bound(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int buf = 8 << 20;

	cr_assert(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Starts exsim with the common sections plus extra (more sections or keys). */
static inline void venue_start(struct venue *v, const char *sessions, const char *extra)
{
	char cfg[4096], path[128], ready[128];
	FILE *f;

	memset(v, 0, sizeof(*v));
	strcpy(v->dir, "/tmp/tradsys-exsim-test-XXXXXX");
	cr_assert(mkdtemp(v->dir));
	v->feed_fd = udp_bound(&v->feed_port);
	snprintf(v->control, sizeof(v->control), "%s/control.sock", v->dir);
	snprintf(ready, sizeof(ready), "%s/ready", v->dir);
	snprintf(cfg, sizeof(cfg),
		 "[venue]\nname = test\nsession = TEST000001\nrecords = %s/rec\ncontrol = %s\n"
		 "ready_file = %s\nmax_orders = 100000\n"
		 "[itch]\nline_a = 127.0.0.1:%u\nrequest_ip = 127.0.0.1\nheartbeat_ms = 100\n"
		 "[ouch]\nlisten = 127.0.0.1:0\n"
		 "[instrument.AAPL]\nprice = 150.00\ntick = 0.01\n"
		 "[instrument.MSFT]\nprice = 300.00\ntick = 0.01\n%s\n%s\n",
		 v->dir, v->control, ready, v->feed_port, sessions, extra ? extra : "");
	snprintf(path, sizeof(path), "%s/exsim.conf", v->dir);
	f = fopen(path, "w");
	cr_assert(f && fputs(cfg, f) >= 0 && fclose(f) == 0);

	const char *exe = exsim_path();
	char out[160], errf[160];
	snprintf(out, sizeof(out), "%s/exsim.out", v->dir);
	snprintf(errf, sizeof(errf), "%s/exsim.err", v->dir);
	v->pid = fork();
	cr_assert(v->pid >= 0);
	if (v->pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fe, 2);
		execl(exe, "tradsys-exsim", "--config", path, (char *)NULL);
		_exit(127);
	}
	for (uint64_t end = t_now_ms() + 10000; t_now_ms() < end; usleep(10000)) {
		f = fopen(ready, "r");
		if (!f) {
			int st;
			if (waitpid(v->pid, &st, WNOHANG) != 0) {
				char msg[512] = "";
				FILE *e = fopen(errf, "r");
				if (e) {
					size_t n = fread(msg, 1, sizeof(msg) - 1, e);
					msg[n] = '\0';
					fclose(e);
				}
				v->pid = 0;
				cr_assert_fail("tradsys-exsim exited early: %s", msg);
			}
			continue;
		}
		unsigned o = 0, r = 0;
		cr_assert(fscanf(f, "ouch_port=%u\nrequest_port=%u", &o, &r) == 2);
		fclose(f);
		v->ouch_port = (uint16_t)o;
		v->req_port = (uint16_t)r;
		return;
	}
	cr_assert_fail("tradsys-exsim did not become ready");
}

/* Stops it with SIGTERM; returns its exit status. */
static inline int venue_stop(struct venue *v)
{
	int st = -1;

	if (v->pid > 0) {
		kill(v->pid, SIGTERM);
		waitpid(v->pid, &st, 0);
		v->pid = 0;
	}
	if (v->feed_fd > 0)
		close(v->feed_fd);
	v->feed_fd = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline void venue_cleanup(struct venue *v)
{
	char cmd[160];
	bool running = v->pid > 0;
	int st = venue_stop(v);

	/* A clean day ends with status 0; a sanitizer report or a crash does not. */
	cr_expect(!running || st == 0, "tradsys-exsim exited with status %d", st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", v->dir);
	if (v->dir[0])
		cr_assert(system(cmd) == 0);
}

/* One control command; returns the reply line (static buffer). */
static inline const char *venue_control(struct venue *v, const char *cmd)
{
	static char reply[8192];
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t n = 0;

	strcpy(un.sun_path, v->control);
	cr_assert(connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0);
	cr_assert(send(fd, cmd, strlen(cmd), 0) == (ssize_t)strlen(cmd));
	cr_assert(send(fd, "\n", 1, 0) == 1);
	while (n < sizeof(reply) - 1) {
		ssize_t r = recv(fd, reply + n, sizeof(reply) - 1 - n, 0);
		cr_assert(r > 0, "control socket closed");
		n += (size_t)r;
		if (reply[n - 1] == '\n')
			break;
	}
	reply[n - 1] = '\0';
	close(fd);
	return reply;
}

/* A space-padded text field (strlen, so short literals are fine). */
static inline void t_put_text(char *field, size_t n, const char *s)
{
	size_t l = strlen(s);

	memset(field, ' ', n);
	memcpy(field, s, l < n ? l : n);
}

/* ---- a SoupBinTCP client ---- */

struct client {
	int fd;
	size_t len;
	uint8_t buf[1 << 16];
	uint64_t seq; /* sequenced messages received since login */
};

static inline void client_connect(struct client *c, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(c->fd >= 0);
	cr_assert(connect(c->fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s",
		  strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static inline void client_send(struct client *c, uint8_t type, const void *p, size_t len)
{
	uint8_t buf[4096];
	size_t n = soup_build(buf, sizeof(buf), type, p, len);

	cr_assert(n > 0);
	cr_assert(send(c->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n);
}

/*
 * The next server packet within timeout_ms, skipping heartbeats unless want_hb. Returns 1 with
 * *f set (payload copied into out), 0 on timeout, -1 when the server closed the connection.
 */
static inline int client_next(struct client *c, struct soup_frame *f, uint8_t *out, int timeout_ms,
			      bool want_hb)
{
	uint64_t end = t_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		int used = soup_frame_next(c->buf, c->len, SOUP_FROM_SERVER, f);
		cr_assert(used >= 0, "server sent an invalid SoupBinTCP packet: %s",
			  soup_error_name(used));
		if (used > 0) {
			memcpy(out, f->payload, f->len);
			f->payload = out;
			memmove(c->buf, c->buf + used, c->len - (size_t)used);
			c->len -= (size_t)used;
			if (f->type == SOUP_SERVER_HEARTBEAT && !want_hb)
				continue;
			if (f->type == SOUP_SEQUENCED)
				c->seq++;
			return 1;
		}
		uint64_t now = t_now_ms();
		if (now >= end)
			return 0;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

/* Logs in; returns the first packet's type ('A' or 'J') and the reject code or next seq. */
static inline uint8_t client_login(struct client *c, uint16_t port, const char *user,
				   const char *pass, uint64_t seq, uint64_t *next_or_reason)
{
	uint8_t buf[128], out[128];
	struct soup_frame f;

	client_connect(c, port);
	size_t n = soup_build_login_request(buf, sizeof(buf), user, pass, "", seq);
	cr_assert(send(c->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n);
	cr_assert(client_next(c, &f, out, 3000, false) == 1, "no login answer");
	if (f.type == SOUP_LOGIN_ACCEPTED) {
		char s[SOUP_SESSION_LEN + 1];
		cr_assert(soup_accepted_parse(&f, s, next_or_reason) == 0);
		cr_assert_str_eq(s, "TEST000001");
	} else if (f.type == SOUP_LOGIN_REJECTED) {
		*next_or_reason = f.payload[0];
	}
	return f.type;
}

/* The next sequenced OUCH message (copied into m); fails the test on timeout. */
static inline size_t client_ouch(struct client *c, uint8_t *m, int timeout_ms)
{
	struct soup_frame f;

	for (;;) {
		int r = client_next(c, &f, m, timeout_ms, false);
		cr_assert(r == 1, "expected an OUCH message (%s)", r ? "closed" : "timeout");
		if (f.type == SOUP_SEQUENCED) {
			cr_assert(ouch_msg_check(m, f.len, OUCH_OUTBOUND) == 0,
				  "server sent an invalid OUCH message type %c len %u", m[0],
				  f.len);
			return f.len;
		}
	}
}

static inline void client_close(struct client *c)
{
	if (c->fd > 0)
		close(c->fd);
	c->fd = -1;
}

static inline void enter_order(struct client *c, const char *token, char side, uint32_t shares,
			       const char *stock, uint32_t price, uint32_t tif, uint32_t min_qty,
			       char display)
{
	struct ouch_enter_order o;

	memset(&o, ' ', sizeof(o));
	o.type = OUCH_ENTER_ORDER;
	t_put_text(o.token, OUCH_TOKEN_LEN, token);
	o.side = (uint8_t)side;
	ouch_put32(o.shares, shares);
	t_put_text(o.stock, OUCH_STOCK_LEN, stock);
	ouch_put32(o.price, price);
	ouch_put32(o.tif, tif);
	t_put_text(o.firm, OUCH_FIRM_LEN, "");
	o.display = (uint8_t)display;
	o.capacity = 'A';
	o.iso = 'N';
	ouch_put32(o.min_qty, min_qty);
	o.cross = 'N';
	o.customer = 'N';
	client_send(c, SOUP_UNSEQUENCED, &o, sizeof(o));
}

static inline void token_is(const char *field, const char *want)
{
	char got[OUCH_TOKEN_LEN + 1];

	ouch_get_text(got, field, OUCH_TOKEN_LEN);
	cr_assert_str_eq(got, want);
}

#endif
