/*
 * Description: the SoupBinTCP client session (dataplane/venue/session) against the real
 * tradsys-exsim on loopback: login, a rejected login, an order accepted, heartbeats through an
 * idle spell, a silent venue, the disconnect fault and the control disconnect with replay
 * delivering every sequenced message exactly once, backoff while the venue is down, end of
 * session, logout and a burst of orders. A scripted server in a child process covers what exsim
 * cannot be made to do: packets split byte by byte across receives and a venue that replays
 * more than was asked for.
 */
#include "../exsim/exsim_test.h"

#include "session.h"

#define SESSIONS                                                                     \
	"[session.alice]\npassword = wonderland\nfirm = ALIC\n"                      \
	"[session.bob]\npassword = builder123\nfirm = BOBF\n"                        \
	"[session.carol]\npassword = carolpass\nfirm = CARL\ndisconnect_after = 5\n" \
	"cancel_on_disconnect = true\n"                                              \
	"[session.dave]\npassword = davepass\nfirm = DAVE\ncancel_on_disconnect = true\n"

#define MAX_SEQ 8192
#define MAX_STATES 256

struct rec {
	uint64_t seqs[MAX_SEQ];
	uint32_t nseq;
	uint32_t dup; /* a sequence number delivered twice */
	uint32_t gap; /* a sequence number that skipped ahead */
	struct ouch_event last;
	uint32_t accepted;
	uint8_t tokens_seen[MAX_SEQ]; /* Accepted per order number (token "T<n>") */
	uint8_t tokens_canceled[MAX_SEQ];
	uint32_t canceled;
	enum vsession_state states[MAX_STATES];
	uint64_t state_ns[MAX_STATES];
	uint32_t nstates;
	char why[128];
	uint8_t raw[MAX_SEQ][16]; /* the scripted server's payloads */
	uint16_t raw_len[MAX_SEQ];
};

static struct venue v;
static struct rec r;

static uint64_t t_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_message(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len)
{
	struct rec *x = ctx;

	if (x->nseq && seq <= x->seqs[x->nseq - 1])
		x->dup++;
	if (x->nseq && seq != x->seqs[x->nseq - 1] + 1)
		x->gap++;
	if (x->nseq < MAX_SEQ) {
		size_t n = len < sizeof(x->raw[0]) ? len : sizeof(x->raw[0]);
		memcpy(x->raw[x->nseq], msg, n);
		x->raw_len[x->nseq] = len;
		x->seqs[x->nseq++] = seq;
	}
	if (ouch_decode(msg, len, &x->last) != 0)
		return;
	unsigned k = (unsigned)atoi(x->last.token + 1);
	if (x->last.token[0] != 'T' || k >= MAX_SEQ)
		k = 0;
	if (x->last.type == OUCH_ACCEPTED) {
		x->accepted++;
		x->tokens_seen[k]++;
	} else if (x->last.type == OUCH_CANCELED) {
		x->canceled++;
		x->tokens_canceled[k]++;
	}
}

static void on_state(void *ctx, enum vsession_state st, const char *why)
{
	struct rec *x = ctx;

	if (x->nstates < MAX_STATES) {
		x->states[x->nstates] = st;
		x->state_ns[x->nstates++] = t_now_ns();
	}
	snprintf(x->why, sizeof(x->why), "%s", why);
}

static const struct vsession_ops ops = { .on_message = on_message, .on_state = on_state };

static void cfg_for(struct vsession_cfg *c, uint16_t port, const char *user, const char *pass)
{
	vsession_cfg_default(c);
	c->venue.sin_port = htons(port);
	c->venue.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(c->user, sizeof(c->user), "%s", user);
	snprintf(c->pass, sizeof(c->pass), "%s", pass);
	c->reconnect_min_ns = 20000000ull;
	c->reconnect_max_ns = 320000000ull;
}

/* Polls s until cond holds or ms pass; evaluates to cond. */
#define POLL_UNTIL(s, ms, cond)                                         \
	({                                                              \
		uint64_t end_ = t_now_ns() + (uint64_t)(ms)*1000000ull; \
		while (!(cond) && t_now_ns() < end_) {                  \
			if (vsession_poll((s), t_now_ns()) == 0)        \
				usleep(50);                             \
		}                                                       \
		(cond);                                                 \
	})

static void poll_for(struct vsession *s, unsigned ms)
{
	POLL_UNTIL(s, ms, false);
}

static void setup(void)
{
	memset(&r, 0, sizeof(r));
	venue_start(&v, SESSIONS, NULL);
}

static void teardown(void)
{
	venue_cleanup(&v);
}

TestSuite(session, .init = setup, .fini = teardown, .timeout = 60);

static struct vsession *login(const char *user, const char *pass)
{
	struct vsession_cfg c;

	cfg_for(&c, v.ouch_port, user, pass);
	struct vsession *s = vsession_create(&c, &ops, &r);
	cr_assert(s, "create: %s", strerror(errno));
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_LOGGED_IN), "state %s: %s",
		  vsession_state_name(vsession_state(s)), r.why);
	return s;
}

static void send_order(struct vsession *s, unsigned n, uint32_t price)
{
	char tok[16];
	uint8_t m[64];
	snprintf(tok, sizeof(tok), "T%u", n);
	const struct ouch_enter e = { .token = tok,
				      .stock = "AAPL",
				      .shares = 100,
				      .price = price,
				      .tif = OUCH_TIF_MARKET_HOURS,
				      .side = 'B' };
	size_t len = ouch_encode_enter(m, sizeof(m), &e);
	cr_assert_eq(len, sizeof(struct ouch_enter_order));
	cr_assert_eq(vsession_send(s, m, len), 0);
}

/* Every sequence number from 1 to n, once each, in order. */
static void seqs_are_contiguous(uint64_t n)
{
	cr_assert_eq(r.dup, 0, "a sequence number was delivered twice");
	cr_assert_eq(r.gap, 0, "a sequence number was skipped");
	cr_assert_eq(r.nseq, n, "delivered %u of %lu", r.nseq, (unsigned long)n);
	for (uint32_t i = 0; i < r.nseq; i++)
		cr_assert_eq(r.seqs[i], i + 1);
}

Test(session, logs_in_and_receives_the_start_of_day)
{
	struct vsession *s = login("alice", "wonderland");
	const struct vsession_stats *st = vsession_stats(s);

	cr_assert_eq(st->connects, 1);
	cr_assert_eq(st->logins, 1);
	cr_assert(POLL_UNTIL(s, 2000, r.nseq == 1));
	cr_assert_eq(r.seqs[0], 1);
	cr_assert_eq(r.last.type, OUCH_SYSTEM_EVENT);
	cr_assert_eq(r.last.event, 'S');
	cr_assert_eq(vsession_next_seq(s), 2);
	cr_assert_eq(st->messages, 1);
	cr_assert_eq(r.states[0], VSESSION_CONNECTING);
	cr_assert_eq(r.states[1], VSESSION_LOGGING_IN);
	cr_assert_eq(r.states[2], VSESSION_LOGGED_IN);
	vsession_destroy(s);
}

Test(session, bad_password_closes_and_counts_the_reject)
{
	struct vsession_cfg c;

	cfg_for(&c, v.ouch_port, "alice", "wrong");
	struct vsession *s = vsession_create(&c, &ops, &r);
	cr_assert(s);
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_CLOSED));
	cr_assert_str_eq(r.why, "login rejected: not authorized");
	cr_assert_eq(vsession_stats(s)->login_rejects, 1);
	cr_assert_eq(vsession_stats(s)->logins, 0);
	/* Closed means closed: no reconnect however long it is polled. */
	poll_for(s, 300);
	cr_assert_eq(vsession_state(s), VSESSION_CLOSED);
	cr_assert_eq(vsession_stats(s)->connects, 1);
	uint8_t m[8] = { 0 };
	cr_assert_eq(vsession_send(s, m, sizeof(m)), -ENOTCONN);
	vsession_destroy(s);
	cr_assert(strstr(venue_control(&v, "stats"), "\"login_rejects\":1,"));
}

Test(session, an_order_comes_back_accepted)
{
	struct vsession_cfg c;
	uint8_t m[64];

	cfg_for(&c, v.ouch_port, "alice", "wonderland");
	struct vsession *s = vsession_create(&c, &ops, &r);
	cr_assert_eq(vsession_send(s, m, 10), -ENOTCONN, "not logged in yet");
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_LOGGED_IN));
	cr_assert(POLL_UNTIL(s, 2000, r.nseq == 1));
	send_order(s, 7, 1500000);
	cr_assert_eq(vsession_flush(s), 0);
	cr_assert(POLL_UNTIL(s, 2000, r.accepted == 1));
	cr_assert_eq(r.last.type, OUCH_ACCEPTED);
	cr_assert_str_eq(r.last.token, "T7");
	cr_assert_eq(r.last.price, 1500000);
	cr_assert_eq(r.last.shares, 100);
	cr_assert_eq(r.last.side, 'B');
	cr_assert_str_eq(r.last.stock, "AAPL");
	cr_assert_eq(r.last.state, 'L');
	cr_assert_gt(r.last.order_ref, 0);
	cr_assert_eq(r.seqs[1], 2);
	cr_assert_eq(vsession_stats(s)->sent_msgs, 1);
	cr_assert_eq(vsession_send(s, m, 0), -EINVAL);
	cr_assert_str_eq(venue_control(&v, "bbo AAPL"),
			 "ok bid=1500000 bid_qty=100 ask=0 ask_qty=0");
	vsession_destroy(s);
}

Test(session, heartbeats_keep_an_idle_session_up, .timeout = 30)
{
	venue_cleanup(&v);
	venue_start(&v, SESSIONS, "[ouch]\nheartbeat_ms = 100\ntimeout_ms = 400\n");
	struct vsession_cfg c;

	cfg_for(&c, v.ouch_port, "alice", "wonderland");
	c.heartbeat_ns = 100000000ull;
	c.timeout_ns = 1000000000ull;
	struct vsession *s = vsession_create(&c, &ops, &r);
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_LOGGED_IN));
	/* Four times the venue's timeout with nothing to say. */
	poll_for(s, 1600);
	const struct vsession_stats *st = vsession_stats(s);
	cr_assert_eq(vsession_state(s), VSESSION_LOGGED_IN, "%s", r.why);
	cr_assert_eq(st->disconnects, 0);
	cr_assert_eq(st->logins, 1);
	cr_assert_geq(st->heartbeats_sent, 8, "sent %lu", (unsigned long)st->heartbeats_sent);
	cr_assert_geq(st->heartbeats_received, 8);
	cr_assert(strstr(venue_control(&v, "stats"), "\"timeouts\":0,"));
	vsession_destroy(s);
}

Test(session, a_silent_venue_times_out_and_the_session_comes_back, .timeout = 30)
{
	struct vsession_cfg c;

	cfg_for(&c, v.ouch_port, "alice", "wonderland");
	c.heartbeat_ns = 100000000ull;
	c.timeout_ns = 400000000ull;
	struct vsession *s = vsession_create(&c, &ops, &r);
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_LOGGED_IN));
	cr_assert(POLL_UNTIL(s, 2000, r.nseq == 1));
	/* A stopped process sends no heartbeats (exsim's are 1 s apart anyway). */
	kill(v.pid, SIGSTOP);
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_DISCONNECTED));
	cr_assert_eq(vsession_stats(s)->timeouts, 1);
	cr_assert_str_eq(r.why, "venue silent past the timeout");
	kill(v.pid, SIGCONT);
	cr_assert(POLL_UNTIL(s, 5000, vsession_state(s) == VSESSION_LOGGED_IN), "%s", r.why);
	send_order(s, 1, 1500000);
	cr_assert(POLL_UNTIL(s, 2000, r.accepted == 1));
	seqs_are_contiguous(2);
	vsession_destroy(s);
}

/*
 * carol's connection drops after 5 sequenced messages (exsim's disconnect_after fault), and the
 * venue cancels her resting orders when it does: those Canceled messages are sequenced while she
 * is away and reach her only through the replay of the re-login.
 */
Test(session, the_disconnect_fault_reconnects_and_replays_exactly_once)
{
	struct vsession *s = login("carol", "carolpass");

	cr_assert(POLL_UNTIL(s, 2000, r.nseq == 1));
	for (unsigned i = 1; i <= 4; i++) {
		send_order(s, i, 1500000 - i * 100);
		cr_assert(POLL_UNTIL(s, 2000, r.accepted == i || vsession_stats(s)->disconnects));
	}
	cr_assert(POLL_UNTIL(s, 5000, r.canceled == 4), "canceled %u: %s", r.canceled, r.why);
	cr_assert_eq(vsession_state(s), VSESSION_LOGGED_IN);
	const struct vsession_stats *st = vsession_stats(s);
	cr_assert_eq(st->disconnects, 1);
	cr_assert_eq(st->logins, 2);
	cr_assert(strstr(venue_control(&v, "stats"), "\"fault_disconnects\":1,"));
	send_order(s, 5, 1500000);
	cr_assert(POLL_UNTIL(s, 2000, r.accepted == 5));
	/* 1 start of day, 2-5 Accepted, 6-9 Canceled (replayed), 10 Accepted. */
	seqs_are_contiguous(10);
	for (unsigned i = 1; i <= 4; i++) {
		cr_assert_eq(r.tokens_seen[i], 1, "order T%u accepted %u times", i,
			     r.tokens_seen[i]);
		cr_assert_eq(r.tokens_canceled[i], 1, "order T%u canceled %u times", i,
			     r.tokens_canceled[i]);
	}
	cr_assert_eq(r.tokens_seen[5], 1);
	cr_assert_eq(vsession_next_seq(s), 11);
	cr_assert_eq(st->replayed_skipped, 0, "the venue replays from what was asked");
	vsession_destroy(s);
}

/* dave is dropped by the venue's control socket three times with 50 orders resting each time. */
Test(session, a_control_disconnect_mid_trading_loses_and_repeats_nothing)
{
	struct vsession *s = login("dave", "davepass");
	unsigned sent = 0;

	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 50; i++) {
			sent++;
			send_order(s, sent, 1400000 - sent * 100);
		}
		vsession_flush(s);
		cr_assert(POLL_UNTIL(s, 3000, r.accepted == sent), "round %d: accepted %u of %u",
			  round, r.accepted, sent);
		cr_assert_str_eq(venue_control(&v, "disconnect dave"), "ok");
		cr_assert(POLL_UNTIL(s, 5000,
				     vsession_state(s) == VSESSION_LOGGED_IN && r.canceled == sent),
			  "round %d: canceled %u of %u (%s)", round, r.canceled, sent, r.why);
	}
	cr_assert_eq(vsession_stats(s)->disconnects, 3);
	cr_assert_eq(vsession_stats(s)->logins, 4);
	seqs_are_contiguous(1 + 2 * sent);
	for (unsigned i = 1; i <= sent; i++) {
		cr_assert_eq(r.tokens_seen[i], 1);
		cr_assert_eq(r.tokens_canceled[i], 1);
	}
	vsession_destroy(s);
}

Test(session, reconnects_back_off_while_the_venue_is_down, .timeout = 30)
{
	struct vsession *s = login("alice", "wonderland");
	int st;

	kill(v.pid, SIGKILL);
	waitpid(v.pid, &st, 0);
	v.pid = 0;
	uint32_t first = r.nstates;
	poll_for(s, 2000);
	cr_assert_neq(vsession_state(s), VSESSION_LOGGED_IN);
	cr_assert_eq(vsession_stats(s)->disconnects, 1);

	uint64_t at[64];
	unsigned n = 0;
	for (uint32_t i = first; i < r.nstates && n < 64; i++)
		if (r.states[i] == VSESSION_CONNECTING)
			at[n++] = r.state_ns[i];
	/* 20, 40, 80, 160, 320, 320 ms ...: a handful of attempts in 2 s, not hundreds. */
	cr_assert(n >= 5 && n <= 10, "%u attempts", n);
	for (unsigned i = 2; i < n; i++) {
		uint64_t gap = at[i] - at[i - 1], prev = at[i - 1] - at[i - 2];
		cr_assert_geq(gap + 5000000, prev, "gap %u shrank: %lu < %lu ns", i,
			      (unsigned long)gap, (unsigned long)prev);
		cr_assert_leq(gap, 320000000ull + 50000000ull, "gap %u above the maximum", i);
	}
	cr_assert_geq(at[n - 1] - at[n - 2], 300000000ull, "reaches the maximum backoff");
	vsession_destroy(s);
}

Test(session, end_of_session_closes_it)
{
	struct vsession *s = login("alice", "wonderland");

	cr_assert_str_eq(venue_control(&v, "end"), "ok");
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_CLOSED));
	cr_assert_str_eq(r.why, "end of session");
	poll_for(s, 200);
	cr_assert_eq(vsession_state(s), VSESSION_CLOSED);
	cr_assert_eq(vsession_stats(s)->connects, 1);
	vsession_destroy(s);
}

Test(session, logout_closes_and_frees_the_venue_session)
{
	struct vsession *s = login("alice", "wonderland");
	struct client c;
	uint64_t next = 0;

	vsession_logout(s);
	cr_assert_eq(vsession_state(s), VSESSION_CLOSED);
	cr_assert_str_eq(r.why, "logout");
	poll_for(s, 200);
	cr_assert_eq(vsession_state(s), VSESSION_CLOSED);
	/* The venue let go of the session: the same user logs in again elsewhere. */
	cr_assert_eq(client_login(&c, v.ouch_port, "alice", "wonderland", 0, &next),
		     SOUP_LOGIN_ACCEPTED);
	client_close(&c);
	vsession_logout(s); /* twice is harmless */
	vsession_destroy(s);
}

Test(session, connect_after_logout_logs_in_again_and_replays_what_was_missed)
{
	struct vsession *s = login("alice", "wonderland");

	cr_assert_eq(vsession_connect(s), -EALREADY, "a logged-in session is not closed");
	cr_assert(POLL_UNTIL(s, 2000, r.nseq == 1));
	send_order(s, 1, 1500000);
	cr_assert(POLL_UNTIL(s, 2000, r.accepted == 1));
	vsession_logout(s);
	poll_for(s, 200);
	cr_assert_eq(vsession_state(s), VSESSION_CLOSED);
	cr_assert_eq(vsession_stats(s)->connects, 1, "closed: no reconnect by itself");
	cr_assert_eq(vsession_connect(s), 0);
	cr_assert_eq(vsession_state(s), VSESSION_DISCONNECTED);
	cr_assert_str_eq(r.why, "connect requested");
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_LOGGED_IN), "state %s: %s",
		  vsession_state_name(vsession_state(s)), r.why);
	cr_assert_eq(vsession_stats(s)->logins, 2);
	/* Logged in at the next expected sequence: what came before is not delivered again. */
	send_order(s, 2, 1500100);
	cr_assert(POLL_UNTIL(s, 2000, r.accepted == 2));
	seqs_are_contiguous(vsession_next_seq(s) - 1);
	vsession_destroy(s);
}

/*
 * Thousands of Accepted messages pile up unread while the session is not polled, so each receive
 * into the smallest buffer ends inside a packet and the rest of it comes with the next one.
 */
Test(session, a_burst_of_orders_comes_back_whole)
{
	struct vsession_cfg c;
	const unsigned n = 4000;

	cfg_for(&c, v.ouch_port, "alice", "wonderland");
	c.recv_buf = 0; /* the minimum */
	struct vsession *s = vsession_create(&c, &ops, &r);
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_LOGGED_IN));
	cr_assert(POLL_UNTIL(s, 2000, r.nseq == 1));
	for (unsigned i = 1; i <= n; i++)
		send_order(s, i, 1000000 + (i % 50) * 100);
	cr_assert_eq(vsession_flush(s), 0);
	const uint64_t bytes = (uint64_t)n * (3 + sizeof(struct ouch_enter_order));
	cr_assert(POLL_UNTIL(s, 5000, vsession_stats(s)->sent_bytes >= bytes), "sent %lu",
		  (unsigned long)vsession_stats(s)->sent_bytes);
	usleep(300000);
	cr_assert(POLL_UNTIL(s, 10000, r.accepted == n), "accepted %u", r.accepted);
	seqs_are_contiguous(1 + n);
	for (unsigned i = 1; i <= n; i++)
		cr_assert_eq(r.tokens_seen[i], 1);
	cr_assert_eq(vsession_stats(s)->protocol_errors, 0);
	cr_assert_eq(vsession_stats(s)->sent_msgs, n);
	cr_assert_eq(vsession_state(s), VSESSION_LOGGED_IN);
	vsession_destroy(s);
}

Test(session, a_full_send_buffer_says_so)
{
	struct vsession_cfg c;
	uint8_t m[49] = { 'O' };

	cfg_for(&c, v.ouch_port, "alice", "wonderland");
	c.send_buf = 1024;
	struct vsession *s = vsession_create(&c, &ops, &r);
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_LOGGED_IN));
	int rc = 0;
	unsigned queued = 0;
	while ((rc = vsession_send(s, m, sizeof(m))) == 0)
		queued++;
	cr_assert_eq(rc, -ENOBUFS);
	cr_assert_eq(queued, 1024 / 52);
	cr_assert_eq(vsession_stats(s)->send_full, 1);
	vsession_destroy(s);
}

/* ---- a scripted server ---- */

#define SCRIPT_N 20

static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(fd, 4) == 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Starts a scripted venue in a child process, listening on *port: serve's result is the child's
 * exit status. */
static pid_t fork_venue(uint16_t *port, int (*serve)(int lfd, const void *arg), const void *arg)
{
	int lfd = listener(port);

	memset(&r, 0, sizeof(r));
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0)
		_exit(serve(lfd, arg));
	close(lfd);
	return pid;
}

/* Reads one login request; returns its sequence number or -1. */
static long script_login(int fd)
{
	uint8_t b[64];
	size_t n = 0;
	struct soup_frame f;
	struct soup_login l;

	while (n < 49) {
		ssize_t k = recv(fd, b + n, sizeof(b) - n, 0);
		if (k <= 0)
			return -1;
		n += (size_t)k;
	}
	if (soup_frame_next(b, n, SOUP_FROM_CLIENT, &f) != 49 || soup_login_parse(&f, &l))
		return -1;
	return (long)l.seq;
}

/* Sends bytes one at a time, each in its own segment, so they arrive split everywhere. */
static int drip(int fd, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (send(fd, p + i, 1, MSG_NOSIGNAL) != 1)
			return -1;
		usleep(100);
	}
	return 0;
}

static size_t script_msg(uint8_t *out, unsigned k)
{
	char payload[16];
	int n = snprintf(payload, sizeof(payload), "msg-%03u", k);
	return soup_build(out, 64, SOUP_SEQUENCED, payload, (size_t)n);
}

/*
 * The child: on the first connection, accept the login, drip SCRIPT_N messages and hang up. On
 * the second, check the client asked for SCRIPT_N + 1, answer from 1 anyway and send everything
 * again plus two more, then end the session. Exit status: 0 when the client behaved.
 */
static int script_server(int lfd, const void *arg)
{
	uint8_t b[128];
	size_t n;
	int one = 1;

	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return 10;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (script_login(fd) != 1)
		return 11;
	n = soup_build_login_accepted(b, sizeof(b), "SCRIPT0001", 1);
	if (drip(fd, b, n))
		return 12;
	for (unsigned k = 1; k <= SCRIPT_N; k++) {
		n = script_msg(b, k);
		if (drip(fd, b, n))
			return 13;
	}
	usleep(50000);
	close(fd);

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return 20;
	long seq = script_login(fd);
	if (seq != SCRIPT_N + 1)
		return 21;
	n = soup_build_login_accepted(b, sizeof(b), "SCRIPT0001", 1);
	uint8_t all[64 * (SCRIPT_N + 3)];
	size_t len = 0;
	memcpy(all, b, n);
	len += n;
	for (unsigned k = 1; k <= SCRIPT_N + 2; k++)
		len += script_msg(all + len, k);
	all[len++] = 0;
	all[len++] = 1;
	all[len++] = SOUP_END_OF_SESSION;
	if (send(fd, all, len, MSG_NOSIGNAL) != (ssize_t)len)
		return 22;
	/* The client closes after the end of session. */
	while (recv(fd, b, sizeof(b), 0) > 0)
		;
	close(fd);
	return 0;
}

Test(session_script, split_packets_and_an_over_eager_replay)
{
	uint16_t port;
	int st;
	pid_t pid = fork_venue(&port, script_server, NULL);

	struct vsession_cfg c;
	cfg_for(&c, port, "me", "pw");
	struct vsession *s = vsession_create(&c, &ops, &r);
	cr_assert(s);
	cr_assert(POLL_UNTIL(s, 10000, vsession_state(s) == VSESSION_CLOSED), "%s", r.why);
	cr_assert_str_eq(r.why, "end of session");
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "script server: status %d",
		  WEXITSTATUS(st));

	seqs_are_contiguous(SCRIPT_N + 2);
	for (unsigned k = 1; k <= SCRIPT_N + 2; k++) {
		char want[16];
		snprintf(want, sizeof(want), "msg-%03u", k);
		cr_assert_eq(r.raw_len[k - 1], strlen(want));
		cr_assert_arr_eq(r.raw[k - 1], want, strlen(want));
	}
	const struct vsession_stats *vs = vsession_stats(s);
	cr_assert_eq(vs->replayed_skipped, SCRIPT_N);
	cr_assert_eq(vs->messages, SCRIPT_N + 2);
	cr_assert_eq(vs->logins, 2);
	cr_assert_eq(vs->disconnects, 1);
	cr_assert_eq(vs->protocol_errors, 0);
	vsession_destroy(s);
}

/* The child: logs the client in, then sends a packet of a type no server sends. */
static int garbage_server(int lfd, const void *arg)
{
	int fd = accept(lfd, NULL, NULL);
	uint8_t b[64];

	if (fd < 0 || script_login(fd) != 1)
		return 1;
	size_t n = soup_build_login_accepted(b, sizeof(b), "SCRIPT0001", 1);
	b[n++] = 0;
	b[n++] = 3;
	b[n++] = 'Q'; /* no server sends Q */
	b[n++] = 0;
	b[n++] = 0;
	if (send(fd, b, n, MSG_NOSIGNAL) != (ssize_t)n)
		return 2;
	while (recv(fd, b, sizeof(b), 0) > 0)
		;
	return 0;
}

Test(session_script, garbage_from_the_venue_drops_the_connection)
{
	uint16_t port;
	int st;
	pid_t pid = fork_venue(&port, garbage_server, NULL);

	struct vsession_cfg c;
	cfg_for(&c, port, "me", "pw");
	c.reconnect_min_ns = 10000000000ull; /* no second attempt during the test */
	c.reconnect_max_ns = 10000000000ull;
	struct vsession *s = vsession_create(&c, &ops, &r);
	cr_assert(POLL_UNTIL(s, 3000, vsession_stats(s)->protocol_errors == 1));
	cr_assert_eq(vsession_state(s), VSESSION_DISCONNECTED);
	cr_assert_str_eq(r.why, "protocol error: unknown_type");
	poll_for(s, 50);
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the client closed its socket");
	vsession_destroy(s);
}

#define ORDER_PKT (3 + sizeof(struct ouch_enter_order))

struct reading {
	unsigned delay_ms;
	size_t want;
	bool drain; /* then read on until the client closes, so nothing it sends is refused */
};

/* The child: logs the client in, waits delay_ms without reading, then reads until want bytes
 * came or 3 s pass in silence. 0 when they came, 1 when not, 255 when the login went wrong. */
static int reading_server(int lfd, const void *arg)
{
	const struct reading *rd = arg;
	static uint8_t b[1 << 16];
	struct timeval tv = { .tv_sec = 3 };
	size_t got = 0;
	int one = 1;

	int fd = accept(lfd, NULL, NULL);
	if (fd < 0 || script_login(fd) != 1)
		return 255;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	size_t n = soup_build_login_accepted(b, sizeof(b), "SCRIPT0001", 1);
	if (send(fd, b, n, MSG_NOSIGNAL) != (ssize_t)n)
		return 255;
	usleep(rd->delay_ms * 1000);
	while (got < rd->want) {
		ssize_t k = recv(fd, b, sizeof(b), 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	bool ok = got >= rd->want;
	while (rd->drain && recv(fd, b, sizeof(b), 0) > 0)
		;
	close(fd);
	return ok ? 0 : 1;
}

static struct vsession *script_login_client(uint16_t port, uint32_t send_buf)
{
	struct vsession_cfg c;

	cfg_for(&c, port, "me", "pw");
	c.send_buf = send_buf;
	struct vsession *s = vsession_create(&c, &ops, &r);
	cr_assert(s);
	cr_assert(POLL_UNTIL(s, 3000, vsession_state(s) == VSESSION_LOGGED_IN), "%s", r.why);
	return s;
}

/*
 * Two events' orders flushed one after the other, with no poll between: the second flush finds
 * the first send's completion and hands its order to the kernel at once, instead of leaving it
 * for the next poll. The venue sees both orders while the client never polls again.
 */
Test(session_script, back_to_back_flushes_each_hand_their_orders_over)
{
	uint16_t port;
	int st;
	const struct reading rd = { .delay_ms = 0, .want = 2 * ORDER_PKT };
	pid_t pid = fork_venue(&port, reading_server, &rd);

	struct vsession *s = script_login_client(port, 0);
	const uint64_t login = vsession_stats(s)->sent_bytes;
	send_order(s, 1, 1000000);
	cr_assert_eq(vsession_flush(s), 0);
	send_order(s, 2, 1000100);
	cr_assert_eq(vsession_flush(s), 0, "the second order is with the kernel");
	cr_assert_eq(vsession_stats(s)->sent_bytes - login, ORDER_PKT, "the first send was reaped");
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the venue got both orders without a poll");
	vsession_destroy(s);
}

/*
 * A venue that does not read: once the socket's buffers are full the send stays in flight, and
 * an order queued behind it is not with the kernel yet, which flush says (1). When the venue
 * reads again, everything arrives once, in order of queueing.
 */
Test(session_script, a_flush_behind_a_send_still_in_flight_says_so)
{
	const unsigned n = (24u << 20) / ORDER_PKT; /* more than loopback TCP buffers hold */
	uint16_t port;
	int st;
	const struct reading rd = { .delay_ms = 300, .want = (size_t)n * ORDER_PKT, .drain = true };
	pid_t pid = fork_venue(&port, reading_server, &rd);

	struct vsession *s = script_login_client(port, 32u << 20);
	const uint64_t login = vsession_stats(s)->sent_bytes;
	for (unsigned i = 1; i <= n; i++)
		send_order(s, i, 1000000);
	cr_assert_eq(vsession_flush(s), 0);
	int rc = 0;
	unsigned extra = 0;
	while (rc != 1 && extra < 100) {
		send_order(s, n + ++extra, 1000000);
		rc = vsession_flush(s);
		cr_assert(rc == 0 || rc == 1, "flush: %d", rc);
	}
	cr_assert_eq(rc, 1, "no flush found the send in flight");
	const uint64_t total = login + (uint64_t)(n + extra) * ORDER_PKT;
	cr_assert(POLL_UNTIL(s, 20000, vsession_stats(s)->sent_bytes == total), "sent %lu of %lu",
		  (unsigned long)vsession_stats(s)->sent_bytes, (unsigned long)total);
	cr_assert_eq(vsession_stats(s)->sent_msgs, n + extra);
	cr_assert_eq(vsession_flush(s), 0);
	vsession_destroy(s);
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the venue did not receive the orders");
}

Test(session_cfg, bad_configs_are_refused)
{
	struct vsession_cfg c;

	cfg_for(&c, 1, "", "pw");
	errno = 0;
	cr_assert_null(vsession_create(&c, &ops, &r));
	cr_assert_eq(errno, EINVAL);
	cfg_for(&c, 1, "me", "pw");
	c.timeout_ns = 0;
	cr_assert_null(vsession_create(&c, &ops, &r));
	cfg_for(&c, 1, "me", "pw");
	c.venue.sin_family = AF_INET6;
	cr_assert_null(vsession_create(&c, &ops, &r));
	cr_assert_str_eq(vsession_state_name(VSESSION_LOGGED_IN), "logged_in");
}
