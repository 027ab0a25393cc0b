/*
 * The SoupBinTCP client session (session.h) on its own small io_uring: one connect, one recv and
 * at most one send in flight, so a poll with nothing pending is a look at the completion ring in
 * shared memory and no syscall. Bytes from the venue land in one preallocated buffer that keeps a
 * partial packet at its start; bytes to the venue are appended to one preallocated buffer that is
 * sent in one piece from where the kernel last stopped. A connection is torn down by cancelling
 * its operations and closing the socket only once they have all completed, because the kernel
 * may still be reading or writing both buffers until then.
 */
#include "session.h"

#include <errno.h>
#include <liburing.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define VS_RING_ENTRIES 64
#define VS_MIN_RECV (65536u + 4096u) /* a whole packet (up to 65537 bytes) must fit */
#define VS_MIN_SEND 256u
#define VS_DESTROY_WAIT_NS 500000000ull /* destroy lets a logout's send finish this long */

/* user_data of each operation: there is never more than one of each kind in flight. */
enum vs_op {
	VS_OP_CONNECT = 1,
	VS_OP_POLL, /* waits for a connect the kernel reported in progress */
	VS_OP_RECV,
	VS_OP_SEND,
	VS_OP_CANCEL,
};

struct vsession {
	/* Hot: every send and poll. */
	struct io_uring ring;
	int fd;
	enum vsession_state state;
	bool draining; /* the connection is being torn down: its operations are finishing */
	bool tx_activity; /* something was queued since the last poll (the heartbeat clock) */
	bool close_after_send; /* logout: close once the send buffer has gone out */
	bool connect_armed, recv_armed, send_armed;
	bool reaping; /* inside reap: a callback's flush must not reap the same completions again */
	bool stamp; /* take the clocks from the first poll (create has no time) */
	bool ever_logged_in;
	uint32_t inflight; /* submitted operations whose completion is not reaped yet */
	uint8_t *sbuf;
	uint32_t scap, shead, slen, sinfl; /* queued: [shead, slen); in flight: [shead, +sinfl) */
	uint8_t *rbuf;
	uint32_t rcap, rlen; /* rbuf[0, rlen) is unparsed: a partial packet at most */
	uint64_t next_seq; /* the next sequence number to deliver */
	uint64_t srv_seq; /* the sequence number of the next sequenced packet on this connection */
	int work;

	/* Clocks, in the caller's time base. */
	uint64_t now, last_rx, last_tx, state_since, reconnect_at, backoff, drain_since;

	struct vsession_stats st;
	struct vsession_ops ops;
	void *ctx;
	struct vsession_cfg cfg;
	char session_id[SOUP_SESSION_LEN + 1]; /* the venue's, once logged in: kept for re-logins */
	char why[96];
};

void vsession_cfg_default(struct vsession_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->venue.sin_family = AF_INET;
	cfg->next_seq = 1;
	cfg->heartbeat_ns = 1000000000ull;
	cfg->timeout_ns = 15000000000ull;
	cfg->reconnect_min_ns = 100000000ull;
	cfg->reconnect_max_ns = 5000000000ull;
	cfg->send_buf = 1u << 20;
	cfg->recv_buf = 256u << 10;
}

const char *vsession_state_name(enum vsession_state st)
{
	switch (st) {
	case VSESSION_DISCONNECTED: return "disconnected";
	case VSESSION_CONNECTING: return "connecting";
	case VSESSION_LOGGING_IN: return "logging_in";
	case VSESSION_LOGGED_IN: return "logged_in";
	case VSESSION_CLOSED: return "closed";
	}
	return "unknown";
}

enum vsession_state vsession_state(const struct vsession *s)
{
	return s->state;
}

uint64_t vsession_next_seq(const struct vsession *s)
{
	return s->next_seq;
}

const struct vsession_stats *vsession_stats(const struct vsession *s)
{
	return &s->st;
}

/* ---- small helpers ---- */

static bool elapsed(uint64_t now, uint64_t since, uint64_t span)
{
	return now > since && now - since >= span;
}

static void set_state(struct vsession *s, enum vsession_state st, const char *why)
{
	s->state = st;
	s->state_since = s->now;
	s->work++;
	if (s->ops.on_state)
		s->ops.on_state(s->ctx, st, why);
}

/* An SQE; the ring is far larger than what is ever in flight, so a full SQ only needs a submit. */
static struct io_uring_sqe *sqe_get(struct vsession *s, enum vs_op op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

	if (!sqe) {
		io_uring_submit(&s->ring);
		sqe = io_uring_get_sqe(&s->ring);
		if (!sqe)
			return NULL;
	}
	io_uring_sqe_set_data64(sqe, op);
	s->inflight++;
	return sqe;
}

/* Appends one packet to the send buffer, compacting it first when no send is reading it. */
static int queue_packet(struct vsession *s, uint8_t type, const void *payload, size_t len)
{
	size_t need = len + 3;

	if (s->slen + need > s->scap && !s->send_armed && s->shead) {
		memmove(s->sbuf, s->sbuf + s->shead, s->slen - s->shead);
		s->slen -= s->shead;
		s->shead = 0;
	}
	if (s->slen + need > s->scap)
		return -ENOBUFS;
	s->slen += (uint32_t)soup_build(s->sbuf + s->slen, s->scap - s->slen, type, payload, len);
	return 0;
}

static void arm_recv(struct vsession *s)
{
	struct io_uring_sqe *sqe;

	if (s->recv_armed || s->draining || s->fd < 0 || !(sqe = sqe_get(s, VS_OP_RECV)))
		return;
	io_uring_prep_recv(sqe, s->fd, s->rbuf + s->rlen, s->rcap - s->rlen, 0);
	s->recv_armed = true;
}

static void arm_send(struct vsession *s)
{
	struct io_uring_sqe *sqe;

	if (s->send_armed || s->draining || s->fd < 0 || s->slen == s->shead)
		return;
	if (s->state != VSESSION_LOGGING_IN && s->state != VSESSION_LOGGED_IN &&
	    !s->close_after_send)
		return;
	if (!(sqe = sqe_get(s, VS_OP_SEND)))
		return;
	s->sinfl = s->slen - s->shead;
	io_uring_prep_send(sqe, s->fd, s->sbuf + s->shead, s->sinfl, MSG_NOSIGNAL);
	s->send_armed = true;
}

/*
 * Stops using the connection. Operations still in flight are cancelled and the socket is closed
 * when the last of them completes (finish_close), never before: until then the kernel may still
 * write into rbuf or read sbuf.
 */
static void teardown(struct vsession *s)
{
	s->close_after_send = false;
	s->rlen = 0;
	if (s->fd < 0 || s->draining)
		return;
	if (s->connect_armed || s->recv_armed || s->send_armed) {
		struct io_uring_sqe *sqe = sqe_get(s, VS_OP_CANCEL);
		if (sqe) {
			io_uring_prep_cancel_fd(sqe, s->fd, IORING_ASYNC_CANCEL_ALL);
			s->draining = true;
			s->drain_since = s->now;
			io_uring_submit(&s->ring);
			return;
		}
		/* No SQE: shutting the socket down completes its operations too. */
		shutdown(s->fd, SHUT_RDWR);
		s->draining = true;
		s->drain_since = s->now;
		return;
	}
	close(s->fd);
	s->fd = -1;
	s->shead = s->slen = s->sinfl = 0;
}

static void finish_close(struct vsession *s)
{
	close(s->fd);
	s->fd = -1;
	s->draining = false;
	s->shead = s->slen = s->sinfl = 0;
}

/* Lost the connection (or never got one): reconnect after the backoff, which then doubles. */
static void drop(struct vsession *s, const char *why)
{
	if (s->state == VSESSION_CLOSED) {
		teardown(s); /* the end of a logout: stay closed */
		return;
	}
	if (s->state == VSESSION_LOGGING_IN || s->state == VSESSION_LOGGED_IN)
		s->st.disconnects++;
	teardown(s);
	s->reconnect_at = s->now + s->backoff;
	s->backoff = s->backoff * 2 > s->cfg.reconnect_max_ns ? s->cfg.reconnect_max_ns
							      : s->backoff * 2;
	set_state(s, VSESSION_DISCONNECTED, why);
}

static void close_session(struct vsession *s, const char *why)
{
	teardown(s);
	set_state(s, VSESSION_CLOSED, why);
}

static void start_connect(struct vsession *s)
{
	struct io_uring_sqe *sqe;
	int one = 1;

	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		snprintf(s->why, sizeof(s->why), "socket: %s", strerror(errno));
		s->state = VSESSION_CONNECTING; /* so drop() reports the failed attempt */
		drop(s, s->why);
		return;
	}
	/* Orders are small and latency-bound: never wait to coalesce them. */
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->rlen = 0;
	s->shead = s->slen = s->sinfl = 0;
	s->close_after_send = false;
	sqe = sqe_get(s, VS_OP_CONNECT);
	if (!sqe) {
		close(s->fd);
		s->fd = -1;
		drop(s, "no submission queue entry");
		return;
	}
	io_uring_prep_connect(sqe, s->fd, (const struct sockaddr *)&s->cfg.venue,
			      sizeof(s->cfg.venue));
	s->connect_armed = true;
	set_state(s, VSESSION_CONNECTING, "connecting");
}

/* The TCP connection is up: log in at the next sequence number we still need. */
static void connected(struct vsession *s)
{
	uint8_t buf[64];
	const char *sess = s->session_id[0] ? s->session_id : s->cfg.session;
	size_t n = soup_build_login_request(buf, sizeof(buf), s->cfg.user, s->cfg.pass, sess,
					    s->next_seq);

	s->st.connects++;
	s->last_rx = s->last_tx = s->now;
	if (n == 0 || queue_packet(s, SOUP_LOGIN_REQUEST, buf + 3, n - 3)) {
		drop(s, "login request does not fit");
		return;
	}
	set_state(s, VSESSION_LOGGING_IN, "connected");
	arm_recv(s);
	arm_send(s);
}

static void connect_failed(struct vsession *s, int err)
{
	snprintf(s->why, sizeof(s->why), "connect: %s", strerror(err));
	drop(s, s->why);
}

/* ---- packets from the venue ---- */

static void protocol_error(struct vsession *s, const char *what)
{
	s->st.protocol_errors++;
	snprintf(s->why, sizeof(s->why), "protocol error: %s", what);
	drop(s, s->why);
}

static void on_login_accepted(struct vsession *s, const struct soup_frame *f)
{
	char session[SOUP_SESSION_LEN + 1];
	uint64_t seq;

	if (s->state != VSESSION_LOGGING_IN) {
		protocol_error(s, "login accepted twice");
		return;
	}
	if (soup_accepted_parse(f, session, &seq)) {
		protocol_error(s, "bad login accepted");
		return;
	}
	/*
	 * The venue starts at seq. Below what we asked for, what we already delivered comes again
	 * and is skipped; above it (or when we asked for 0, "from now"), there is nothing earlier
	 * to have, so delivery goes on from seq.
	 */
	s->srv_seq = seq;
	if (s->next_seq == 0 || seq > s->next_seq)
		s->next_seq = seq;
	memcpy(s->session_id, session, sizeof(session));
	s->st.logins++;
	s->ever_logged_in = true;
	s->backoff = s->cfg.reconnect_min_ns;
	set_state(s, VSESSION_LOGGED_IN, "logged in");
}

static void on_login_rejected(struct vsession *s, const struct soup_frame *f)
{
	char reason = f->len ? (char)f->payload[0] : '?';

	s->st.login_rejects++;
	/*
	 * 'S' (session not available) right after we lost a connection usually means the venue has
	 * not yet noticed the old one is gone: try again later. Anything else will not change by
	 * retrying.
	 */
	if (reason == 'S' && s->ever_logged_in) {
		drop(s, "login rejected: session not available");
		return;
	}
	snprintf(s->why, sizeof(s->why), "login rejected: %s",
		 reason == 'A'	 ? "not authorized"
		 : reason == 'S' ? "session not available"
				 : "?");
	close_session(s, s->why);
}

static void on_sequenced(struct vsession *s, const struct soup_frame *f)
{
	if (s->state != VSESSION_LOGGED_IN) {
		protocol_error(s, "sequenced data before login");
		return;
	}
	uint64_t seq = s->srv_seq++;
	if (seq < s->next_seq) {
		s->st.replayed_skipped++;
		return;
	}
	s->next_seq = seq + 1;
	s->st.messages++;
	s->work++;
	if (s->ops.on_message)
		s->ops.on_message(s->ctx, seq, f->payload, f->len);
}

static void on_packet(struct vsession *s, const struct soup_frame *f)
{
	switch (f->type) {
	case SOUP_SEQUENCED: on_sequenced(s, f); break;
	case SOUP_SERVER_HEARTBEAT: s->st.heartbeats_received++; break;
	case SOUP_LOGIN_ACCEPTED: on_login_accepted(s, f); break;
	case SOUP_LOGIN_REJECTED: on_login_rejected(s, f); break;
	case SOUP_END_OF_SESSION: close_session(s, "end of session"); break;
	default: break; /* debug */
	}
}

/* Frames what arrived; a partial packet stays at the start of the buffer for the next recv. */
static void on_bytes(struct vsession *s, uint32_t n)
{
	size_t off = 0;

	s->rlen += n;
	s->last_rx = s->now;
	/* A callback may log out: stop delivering as soon as the session is no longer up. */
	while ((s->state == VSESSION_LOGGED_IN || s->state == VSESSION_LOGGING_IN) &&
	       !s->draining && !s->close_after_send) {
		struct soup_frame f;
		int used = soup_frame_next(s->rbuf + off, s->rlen - off, SOUP_FROM_SERVER, &f);
		if (used == 0)
			break;
		if (used < 0) {
			protocol_error(s, soup_error_name(used));
			return;
		}
		off += (size_t)used;
		on_packet(s, &f);
	}
	if (s->draining || s->fd < 0 || s->close_after_send ||
	    (s->state != VSESSION_LOGGED_IN && s->state != VSESSION_LOGGING_IN))
		return;
	if (off) {
		memmove(s->rbuf, s->rbuf + off, s->rlen - off);
		s->rlen -= (uint32_t)off;
	}
	arm_recv(s);
}

/* ---- completions ---- */

static void on_connect_done(struct vsession *s, int res)
{
	s->connect_armed = false;
	if (s->draining)
		return;
	if (res == 0 || res == -EISCONN) {
		connected(s);
	} else if (res == -EINPROGRESS || res == -EALREADY) {
		/* Older kernels hand a non-blocking connect back unfinished: wait for it. */
		struct io_uring_sqe *sqe = sqe_get(s, VS_OP_POLL);
		if (!sqe) {
			connect_failed(s, EAGAIN);
			return;
		}
		io_uring_prep_poll_add(sqe, s->fd, POLLOUT);
		s->connect_armed = true;
	} else {
		connect_failed(s, -res);
	}
}

static void on_poll_done(struct vsession *s, int res)
{
	int err = 0;
	socklen_t el = sizeof(err);

	s->connect_armed = false;
	if (s->draining)
		return;
	if (res < 0)
		err = -res;
	else if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el))
		err = errno;
	if (err)
		connect_failed(s, err);
	else
		connected(s);
}

static void on_recv_done(struct vsession *s, int res)
{
	s->recv_armed = false;
	if (s->draining || s->fd < 0)
		return;
	if (res > 0) {
		on_bytes(s, (uint32_t)res);
	} else if (res == 0) {
		drop(s, "venue closed the connection");
	} else if (res == -EINTR || res == -EAGAIN || res == -ENOBUFS) {
		arm_recv(s);
	} else {
		snprintf(s->why, sizeof(s->why), "recv: %s", strerror(-res));
		drop(s, s->why);
	}
}

static void on_send_done(struct vsession *s, int res)
{
	s->send_armed = false;
	if (s->draining || s->fd < 0)
		return;
	if (res == -EINTR || res == -EAGAIN) {
		arm_send(s);
		return;
	}
	if (res < 0) {
		snprintf(s->why, sizeof(s->why), "send: %s", strerror(-res));
		if (s->close_after_send)
			teardown(s);
		else
			drop(s, s->why);
		return;
	}
	/* A partial send leaves the rest queued: the next send starts where this one stopped. */
	s->shead += (uint32_t)res;
	s->st.sent_bytes += (uint64_t)res;
	if (s->shead == s->slen)
		s->shead = s->slen = 0;
	if (s->close_after_send && s->slen == 0) {
		teardown(s);
		return;
	}
	arm_send(s);
}

static void complete(struct vsession *s, uint64_t op, int res)
{
	s->inflight--;
	switch (op) {
	case VS_OP_CONNECT: on_connect_done(s, res); break;
	case VS_OP_POLL: on_poll_done(s, res); break;
	case VS_OP_RECV: on_recv_done(s, res); break;
	case VS_OP_SEND: on_send_done(s, res); break;
	default: break; /* a cancel */
	}
}

/* Handles every completion already in the ring: shared memory only, no syscall. */
static unsigned reap(struct vsession *s)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	s->reaping = true;
	io_uring_for_each_cqe(&s->ring, head, cqe)
	{
		uint64_t op = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		n++;
		complete(s, op, res);
	}
	if (n)
		io_uring_cq_advance(&s->ring, n);
	s->reaping = false;
	return n;
}

/* ---- timers ---- */

static void run_timers(struct vsession *s)
{
	uint64_t now = s->now;

	/* An operation the cancel missed: shutting the socket down completes it. */
	if (s->draining && elapsed(now, s->drain_since, s->cfg.timeout_ns)) {
		shutdown(s->fd, SHUT_RDWR);
		s->drain_since = now;
	}
	switch (s->state) {
	case VSESSION_DISCONNECTED:
		if (s->fd < 0 && !s->draining && now >= s->reconnect_at)
			start_connect(s);
		break;
	case VSESSION_CONNECTING:
		if (elapsed(now, s->state_since, s->cfg.timeout_ns)) {
			s->st.timeouts++;
			drop(s, "connect timed out");
		}
		break;
	case VSESSION_LOGGING_IN:
	case VSESSION_LOGGED_IN:
		if (elapsed(now, s->last_rx, s->cfg.timeout_ns)) {
			s->st.timeouts++;
			drop(s, "venue silent past the timeout");
		} else if (s->state == VSESSION_LOGGED_IN &&
			   elapsed(now, s->last_tx, s->cfg.heartbeat_ns) &&
			   queue_packet(s, SOUP_CLIENT_HEARTBEAT, NULL, 0) == 0) {
			s->st.heartbeats_sent++;
			s->last_tx = now;
		}
		break;
	case VSESSION_CLOSED:
		/* A logout whose send does not finish is not waited for forever. */
		if (s->close_after_send && elapsed(now, s->state_since, s->cfg.timeout_ns))
			teardown(s);
		break;
	}
}

/* ---- public ---- */

int vsession_poll(struct vsession *s, uint64_t now_ns)
{
	s->work = 0;
	s->now = now_ns;
	if (s->stamp) {
		s->stamp = false;
		s->last_rx = s->last_tx = s->state_since = now_ns;
	}
	if (s->tx_activity) {
		s->tx_activity = false;
		s->last_tx = now_ns;
	}
	if (s->inflight) {
		/*
		 * With COOP_TASKRUN the kernel does not interrupt us to post completions; it sets a
		 * flag instead, and only then is entering the kernel worth it.
		 */
		if (reap(s) == 0 && IO_URING_READ_ONCE(*s->ring.sq.kflags) &
					    (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) {
			io_uring_get_events(&s->ring);
			reap(s);
		}
	}
	if (s->draining && s->inflight == 0)
		finish_close(s);
	run_timers(s);
	arm_send(s);
	if (io_uring_sq_ready(&s->ring))
		io_uring_submit(&s->ring);
	return s->work;
}

int vsession_send(struct vsession *s, const void *msg, size_t len)
{
	if (s->state != VSESSION_LOGGED_IN || s->draining)
		return -ENOTCONN;
	if (len == 0 || len > SOUP_MAX_PAYLOAD)
		return -EINVAL;
	if (queue_packet(s, SOUP_UNSEQUENCED, msg, len)) {
		s->st.send_full++;
		return -ENOBUFS;
	}
	s->st.sent_msgs++;
	s->tx_activity = true;
	return 0;
}

/*
 * One send is in flight at a time (a second could interleave with the first's unsent rest). A
 * send on a socket with room completes inside the submit that carried it, so when bytes wait
 * behind an armed send, its completion is most likely already in the ring: reaping it here lets
 * them go now instead of at the next poll.
 */
int vsession_flush(struct vsession *s)
{
	if (s->send_armed && s->slen - s->shead > s->sinfl && !s->reaping)
		reap(s);
	arm_send(s);
	if (io_uring_sq_ready(&s->ring)) {
		int rc = io_uring_submit(&s->ring);
		if (rc < 0)
			return rc;
	}
	return s->send_armed && s->slen - s->shead > s->sinfl;
}

void vsession_logout(struct vsession *s)
{
	if (s->state == VSESSION_CLOSED)
		return;
	if ((s->state == VSESSION_LOGGING_IN || s->state == VSESSION_LOGGED_IN) && !s->draining &&
	    queue_packet(s, SOUP_LOGOUT_REQUEST, NULL, 0) == 0) {
		/* The logout request goes out, then the socket closes (on_send_done). */
		s->close_after_send = true;
		set_state(s, VSESSION_CLOSED, "logout");
		vsession_flush(s);
		return;
	}
	close_session(s, "logout");
	vsession_flush(s);
}

int vsession_connect(struct vsession *s)
{
	if (s->state != VSESSION_CLOSED)
		return -EALREADY;
	/* At once, not after a backoff grown by earlier failures: an operator asked for it. */
	s->backoff = s->cfg.reconnect_min_ns;
	s->reconnect_at = s->now;
	set_state(s, VSESSION_DISCONNECTED, "connect requested");
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool vsession_quiet(const struct vsession *s)
{
	return s->state == VSESSION_CLOSED && s->fd < 0 && s->inflight == 0;
}

void vsession_destroy(struct vsession *s)
{
	if (!s)
		return;
	s->ops.on_message = NULL;
	s->ops.on_state = NULL;
	if (s->fd >= 0) {
		uint64_t end = mono_ns() + VS_DESTROY_WAIT_NS;
		/* Let a logout request finish going out, then cancel what is left. */
		while (s->close_after_send && s->send_armed && mono_ns() < end) {
			struct __kernel_timespec ts = { .tv_nsec = 10000000 };
			struct io_uring_cqe *cqe;
			io_uring_submit(&s->ring);
			if (io_uring_wait_cqe_timeout(&s->ring, &cqe, &ts) == 0) {
				s->now = mono_ns();
				reap(s);
			}
		}
		teardown(s);
		while (s->inflight && mono_ns() < end) {
			struct __kernel_timespec ts = { .tv_nsec = 10000000 };
			struct io_uring_cqe *cqe;
			io_uring_submit(&s->ring);
			if (io_uring_wait_cqe_timeout(&s->ring, &cqe, &ts) == 0)
				reap(s);
		}
		if (s->fd >= 0)
			close(s->fd);
	}
	/* Exiting the ring cancels anything still in flight before the buffers go. */
	io_uring_queue_exit(&s->ring);
	free(s->sbuf);
	free(s->rbuf);
	free(s);
}

/* The cheapest completion mode the kernel has; see drivers/uring/uring.c for the reasoning. */
static int ring_init(struct io_uring *r)
{
	static const unsigned modes[] = { IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
					  0 };
	int rc = -EINVAL;

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		rc = io_uring_queue_init(VS_RING_ENTRIES, r, modes[m]);
		if (rc != -EINVAL)
			break;
	}
	return rc;
}

static bool text_ok(const char *s, size_t cap, bool required)
{
	size_t n = strnlen(s, cap);
	return n < cap && (!required || n > 0);
}

struct vsession *vsession_create(const struct vsession_cfg *cfg, const struct vsession_ops *ops,
				 void *ctx)
{
	struct vsession *s;
	int rc;

	if (!cfg || cfg->venue.sin_family != AF_INET ||
	    !text_ok(cfg->user, sizeof(cfg->user), true) ||
	    !text_ok(cfg->pass, sizeof(cfg->pass), false) ||
	    !text_ok(cfg->session, sizeof(cfg->session), false) || cfg->heartbeat_ns == 0 ||
	    cfg->timeout_ns == 0 || cfg->reconnect_min_ns == 0) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->fd = -1;
	s->cfg = *cfg;
	if (s->cfg.reconnect_max_ns < s->cfg.reconnect_min_ns)
		s->cfg.reconnect_max_ns = s->cfg.reconnect_min_ns;
	s->scap = cfg->send_buf > VS_MIN_SEND ? cfg->send_buf : VS_MIN_SEND;
	s->rcap = cfg->recv_buf > VS_MIN_RECV ? cfg->recv_buf : VS_MIN_RECV;
	s->sbuf = malloc(s->scap);
	s->rbuf = malloc(s->rcap);
	if (!s->sbuf || !s->rbuf) {
		rc = -ENOMEM;
		goto err;
	}
	rc = ring_init(&s->ring);
	if (rc)
		goto err;
	if (ops)
		s->ops = *ops;
	s->ctx = ctx;
	s->next_seq = cfg->next_seq;
	s->backoff = s->cfg.reconnect_min_ns;
	s->stamp = true;
	/*
	 * The connect is prepared here but submitted by the first poll or flush, so the thread that
	 * polls is the one the kernel runs the session's completion work on.
	 */
	start_connect(s);
	return s;
err:
	free(s->sbuf);
	free(s->rbuf);
	free(s);
	errno = -rc;
	return NULL;
}
