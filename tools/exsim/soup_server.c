/*
 * SoupBinTCP 3.0, server side. A connection must log in first (user, password, session, next
 * sequence number); a session is one user's stream of sequenced messages, kept whole so a client
 * that logs in again asking for an earlier sequence number gets everything from there. One
 * connection per session at a time. The server sends a heartbeat after heartbeat_ms without
 * output and drops a connection that has sent nothing for timeout_ms. Connections are closed at
 * the next poll, never inside a read, so a handler can ask for a close at any point.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exsim.h"

#define WBUF_MAX (64u << 20) /* a client this far behind is dropped as a slow consumer */

static void flush(struct exsim_conn *c)
{
	while (c->wlen && !c->closing) {
		ssize_t n = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				c->closing = "write_error";
			return;
		}
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
}

static void conn_write(struct exsim *x, struct exsim_conn *c, const uint8_t *d, size_t len)
{
	if (c->closing)
		return;
	if (c->wlen + len > c->wcap) {
		size_t cap = c->wcap ? c->wcap : 65536;
		while (cap < c->wlen + len)
			cap *= 2;
		uint8_t *n = cap <= WBUF_MAX ? realloc(c->wbuf, cap) : NULL;
		if (!n) {
			c->closing = "slow_consumer";
			return;
		}
		c->wbuf = n;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, d, len);
	c->wlen += len;
	c->last_tx_ns = x->now_ns;
	if (c->wlen >= 16384)
		flush(c);
}

static void packet(struct exsim *x, struct exsim_conn *c, uint8_t type, const void *p, size_t len)
{
	uint8_t buf[3 + 65536];
	size_t n = soup_build(buf, sizeof(buf), type, p, len);

	if (n)
		conn_write(x, c, buf, n);
}

int exsim_soup_listen(struct exsim *x, char *err, size_t errlen)
{
	struct sockaddr_in a = x->cfg->ouch_listen;
	socklen_t al = sizeof(a);
	int one = 1;

	x->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->listen_fd < 0) {
		snprintf(err, errlen, "tcp socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(x->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(x->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(x->listen_fd, 64) < 0) {
		snprintf(err, errlen, "[ouch] listen: %s:%u: %s", inet_ntoa(a.sin_addr),
			 ntohs(a.sin_port), strerror(errno));
		return -1;
	}
	getsockname(x->listen_fd, (struct sockaddr *)&a, &al);
	x->ouch_port = ntohs(a.sin_port);
	return 0;
}

void exsim_soup_accept(struct exsim *x)
{
	int fd;

	while ((fd = accept4(x->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		int i = 0, one = 1;

		while (i < EXSIM_MAX_CONNS && x->conns[i])
			i++;
		struct exsim_conn *c = i < EXSIM_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			close(fd);
			exsim_record(x, -1, "CONNECTION_REFUSED", NULL, UINT32_MAX, 0, 0, 0, 0, 0,
				     "too_many_connections", 0);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->sess = -1;
		c->opened_ns = c->last_rx_ns = c->last_tx_ns = x->now_ns;
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = (uint64_t)EXSIM_EV_CONN << 32 | (uint32_t)i };
		epoll_ctl(x->epfd, EPOLL_CTL_ADD, fd, &ev);
		x->conns[i] = c;
	}
}

void exsim_soup_close(struct exsim *x, int i, const char *reason)
{
	struct exsim_conn *c = x->conns[i];

	if (c && !c->closing)
		c->closing = reason;
	(void)x;
}

static void close_now(struct exsim *x, int i)
{
	struct exsim_conn *c = x->conns[i];

	if (c->sess >= 0) {
		x->sess[c->sess].conn = -1;
		exsim_record(x, c->sess, "DISCONNECT", NULL, UINT32_MAX, 0, 0, 0, 0, 0, c->closing,
			     0);
		/* What this cancels is sequenced into the session's stream: a client that logs in
		 * again sees every Canceled in the replay. */
		if (x->sess[c->sess].cfg.cancel_on_disconnect)
			exsim_venue_cancel_session(x, c->sess);
	}
	epoll_ctl(x->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->wbuf);
	free(c);
	x->conns[i] = NULL;
}

/* One sequenced message to a logged-in connection; the disconnect fault counts them. */
static void deliver(struct exsim *x, struct exsim_session *s, struct exsim_conn *c,
		    const uint8_t *msg, size_t len)
{
	packet(x, c, SOUP_SEQUENCED, msg, len);
	s->sent_since_login++;
	if (s->cfg.disconnect_after && !s->disconnected_fault &&
	    s->sent_since_login >= s->cfg.disconnect_after) {
		/* The fault: what was queued is sent, then the connection drops. */
		s->disconnected_fault = true;
		x->st.fault_disconnects++;
		flush(c);
		exsim_soup_close(x, s->conn, "fault_disconnect");
	}
}

static void send_sequenced(struct exsim *x, struct exsim_conn *c, struct exsim_session *s,
			   uint64_t from)
{
	for (uint64_t k = from; k <= s->nmsgs && !c->closing; k++) {
		uint64_t start = s->off[k - 1];
		uint64_t end = k < s->nmsgs ? s->off[k] : s->log_len;
		deliver(x, s, c, s->log + start, end - start);
	}
}

static void login(struct exsim *x, int i, const struct soup_frame *f)
{
	struct exsim_conn *c = x->conns[i];
	struct soup_login l;
	uint8_t buf[64];
	size_t n;

	if (soup_login_parse(f, &l) != 0) {
		x->st.soup_bad++;
		exsim_soup_close(x, i, "bad_login_packet");
		return;
	}
	int s = exsim_session_find(x, l.user);
	char reason = 0;
	if (s < 0 || strcmp(x->sess[s].cfg.pass, l.pass) != 0)
		reason = 'A'; /* not authorized */
	else if ((l.session[0] && strcmp(l.session, x->cfg->session) != 0) || x->sess[s].conn >= 0)
		reason = 'S'; /* session not available */
	if (reason) {
		n = soup_build_login_rejected(buf, sizeof(buf), reason);
		conn_write(x, c, buf, n);
		flush(c);
		x->st.login_rejects++;
		if (s >= 0)
			x->sess[s].rejects_login++;
		char r[2] = { reason, 0 };
		exsim_record(x, s, "LOGIN_REJECTED", NULL, UINT32_MAX, 0, 0, 0, 0, 0, r, 0);
		exsim_soup_close(x, i, "login_rejected");
		return;
	}
	struct exsim_session *ss = &x->sess[s];
	uint64_t next = l.seq == 0 || l.seq > ss->nmsgs + 1 ? ss->nmsgs + 1 : l.seq;
	c->sess = s;
	ss->conn = i;
	ss->logins++;
	ss->sent_since_login = 0;
	x->st.logins++;
	n = soup_build_login_accepted(buf, sizeof(buf), x->cfg->session, next);
	conn_write(x, c, buf, n);
	exsim_record(x, s, "LOGIN", NULL, UINT32_MAX, 0, 0, 0, 0, 0, NULL, next);
	send_sequenced(x, c, ss, next);
	flush(c);
}

void exsim_soup_read(struct exsim *x, int i)
{
	struct exsim_conn *c = x->conns[i];

	for (;;) {
		if (c->closing)
			return;
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, MSG_DONTWAIT);
		if (n == 0) {
			exsim_soup_close(x, i, "peer_closed");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				exsim_soup_close(x, i, "read_error");
			return;
		}
		c->rlen += (uint32_t)n;
		c->last_rx_ns = x->now_ns;

		size_t off = 0;
		struct soup_frame f;
		int used;
		while (!c->closing && (used = soup_frame_next(c->rbuf + off, c->rlen - off,
							      SOUP_FROM_CLIENT, &f)) != 0) {
			if (used < 0) {
				x->st.soup_bad++;
				exsim_soup_close(x, i, soup_error_name(used));
				break;
			}
			off += (size_t)used;
			if (c->sess < 0 && f.type != SOUP_LOGIN_REQUEST) {
				x->st.soup_bad++;
				exsim_soup_close(x, i, "not_logged_in");
				break;
			}
			switch (f.type) {
			case SOUP_LOGIN_REQUEST:
				if (c->sess >= 0) {
					x->st.soup_bad++;
					exsim_soup_close(x, i, "second_login");
				} else {
					login(x, i, &f);
				}
				break;
			case SOUP_UNSEQUENCED:
				exsim_ouch_message(x, c->sess, f.payload, f.len);
				break;
			case SOUP_LOGOUT_REQUEST: exsim_soup_close(x, i, "logout"); break;
			default: break; /* client heartbeat, debug */
			}
		}
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= (uint32_t)off;
	}
}

void exsim_soup_sequenced(struct exsim *x, int sess, const void *msg, size_t len)
{
	struct exsim_session *s = &x->sess[sess];

	if (s->log_len + len > s->log_cap) {
		size_t cap = s->log_cap ? s->log_cap * 2 : 1 << 16;
		while (cap < s->log_len + len)
			cap *= 2;
		uint8_t *n = realloc(s->log, cap);
		if (!n)
			return;
		s->log = n;
		s->log_cap = cap;
	}
	if (s->nmsgs == s->off_cap) {
		uint64_t cap = s->off_cap ? s->off_cap * 2 : 4096;
		uint64_t *n = realloc(s->off, cap * sizeof(*n));
		if (!n)
			return;
		s->off = n;
		s->off_cap = cap;
	}
	s->off[s->nmsgs++] = s->log_len;
	memcpy(s->log + s->log_len, msg, len);
	s->log_len += len;
	if (s->conn >= 0)
		deliver(x, s, x->conns[s->conn], msg, len);
}

void exsim_soup_poll(struct exsim *x)
{
	for (int i = 0; i < EXSIM_MAX_CONNS; i++) {
		struct exsim_conn *c = x->conns[i];
		if (!c)
			continue;
		if (!c->closing && x->now_ns - c->last_rx_ns >= x->cfg->soup_timeout_ns) {
			x->st.timeouts++;
			exsim_soup_close(x, i, "heartbeat_timeout");
		}
		if (!c->closing && c->sess >= 0 &&
		    x->now_ns - c->last_tx_ns >= x->cfg->soup_heartbeat_ns)
			packet(x, c, SOUP_SERVER_HEARTBEAT, NULL, 0);
		flush(c);
		if (c->closing) {
			close_now(x, i);
			continue;
		}
		if (c->want_out != (c->wlen != 0)) {
			struct epoll_event ev = {
				.events = EPOLLIN | (c->wlen ? EPOLLOUT : 0),
				.data.u64 = (uint64_t)EXSIM_EV_CONN << 32 | (uint32_t)i,
			};
			c->want_out = c->wlen != 0;
			epoll_ctl(x->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
}

void exsim_soup_end(struct exsim *x)
{
	for (int i = 0; i < EXSIM_MAX_CONNS; i++) {
		struct exsim_conn *c = x->conns[i];
		if (!c || c->sess < 0)
			continue;
		packet(x, c, SOUP_END_OF_SESSION, NULL, 0);
		flush(c);
	}
}
