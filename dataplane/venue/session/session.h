/*
 * A SoupBinTCP 3.0 client session driven by io_uring from the worker's own core: connect, login
 * with the next expected sequence number, heartbeats both ways, reconnect with exponential
 * backoff and replay of what was missed (by logging in again at the next expected sequence),
 * logout. Everything is non-blocking: vsession_poll() reaps completions without a syscall when
 * there are none, and sends are queued into a preallocated buffer and submitted once per poll
 * (or at once with vsession_flush()). Order entry uses the kernel TCP stack; feed traffic stays
 * on the bypass driver.
 *
 * Sequenced server messages are delivered once each, in order, with their sequence number; a
 * replay after reconnect never hands a number twice (the session skips what it already
 * delivered). The caller can persist next_seq (the journal does) and pass it to create after a
 * process restart.
 */
#ifndef TRADSYS_VENUE_SESSION_H
#define TRADSYS_VENUE_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soup.h"

enum vsession_state {
	VSESSION_DISCONNECTED, /* waiting for the backoff to reconnect */
	VSESSION_CONNECTING,
	VSESSION_LOGGING_IN,
	VSESSION_LOGGED_IN, /* orders may be sent */
	VSESSION_CLOSED, /* logged out or ended by the venue (end of session, login rejected) */
};

struct vsession_cfg {
	struct sockaddr_in venue; /* the venue's SoupBinTCP address */
	char user[SOUP_USER_LEN + 1];
	char pass[SOUP_PASS_LEN + 1];
	char session[SOUP_SESSION_LEN + 1]; /* empty: the current session */
	uint64_t next_seq; /* first sequenced message wanted (1: the whole day) */
	uint64_t heartbeat_ns; /* send a client heartbeat after this long without sending */
	uint64_t timeout_ns; /* no server bytes for this long: drop and reconnect */
	uint64_t reconnect_min_ns, reconnect_max_ns; /* backoff doubles from min to max */
	uint32_t send_buf; /* bytes queued for sending at most (orders while a send is in flight) */
	uint32_t recv_buf; /* receive buffer bytes (raised to 68 KiB: a whole packet must fit) */
};

struct vsession_ops {
	/* A sequenced message (an OUCH outbound message), exactly once per sequence number. */
	void (*on_message)(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len);
	/* The state changed (logged in, disconnected: cancel-on-disconnect decisions, metrics). */
	void (*on_state)(void *ctx, enum vsession_state state, const char *why);
};

struct vsession_stats {
	uint64_t connects, logins, login_rejects, disconnects, timeouts;
	uint64_t messages, replayed_skipped, heartbeats_sent, heartbeats_received;
	uint64_t sent_msgs, sent_bytes, send_full, protocol_errors;
};

struct vsession;

/* Fills cfg's defaults: next_seq 1, heartbeat 1 s, timeout 15 s, reconnect 100 ms .. 5 s,
 * 1 MiB send buffer, 256 KiB receive buffer. */
void vsession_cfg_default(struct vsession_cfg *cfg);

/*
 * Creates the session with its own small io_uring and starts connecting: the connect is queued
 * here and submitted by the first vsession_poll() or vsession_flush(), so the polling thread
 * owns the ring's completion work. NULL with errno (EINVAL: no user, not AF_INET, a zero
 * heartbeat, timeout or reconnect_min).
 */
struct vsession *vsession_create(const struct vsession_cfg *cfg, const struct vsession_ops *ops,
				 void *ctx);
void vsession_destroy(struct vsession *s);

/*
 * Queues one unsequenced message (an OUCH inbound message) to go out at the next poll or flush.
 * Returns 0, -ENOTCONN when not logged in, -ENOBUFS when the send buffer is full, -EINVAL for an
 * empty message or one longer than SOUP_MAX_PAYLOAD. What is queued but not yet taken by the
 * kernel when the connection drops is discarded (the OMS times such orders out).
 */
int vsession_send(struct vsession *s, const void *msg, size_t len);

/* Submits what is queued now (one io_uring_submit), first reaping the completion of the send in
 * flight when bytes wait behind it. That reap handles every completion already in the ring, so
 * the callbacks may run inside a flush as they do inside a poll (a flush called from a callback
 * does not reap). Returns 0 when everything queued is with the kernel, 1 when some of it still
 * waits for the send in flight (it goes out at the poll or flush that reaps that send's
 * completion), or -errno of the submit. */
int vsession_flush(struct vsession *s);

/* Reaps completions, delivers messages, runs heartbeats, timeouts and reconnects. Returns the
 * work done (messages delivered plus state changes), 0 when idle. Callbacks run inside it and
 * may call vsession_send, vsession_flush and vsession_logout, but not poll or destroy. A login
 * rejected with 'S' (session not available) after the session has been logged in before is
 * retried with the backoff (the venue has not yet noticed the old connection is gone); any other
 * reject closes the session. */
int vsession_poll(struct vsession *s, uint64_t now_ns);

/* Sends a logout request and closes; the session stays CLOSED. */
void vsession_logout(struct vsession *s);

/* Lets a CLOSED session (logged out, or ended by the venue) connect and log in again at the next
 * poll, at the next expected sequence number so nothing is missed. Returns 0, or -EALREADY when
 * the session is not closed (up, or already reconnecting by itself). */
int vsession_connect(struct vsession *s);

enum vsession_state vsession_state(const struct vsession *s);
/* Closed with its socket closed and no operation in flight: nothing left to poll for. */
bool vsession_quiet(const struct vsession *s);
uint64_t vsession_next_seq(const struct vsession *s); /* next sequence number expected */
const struct vsession_stats *vsession_stats(const struct vsession *s);
const char *vsession_state_name(enum vsession_state st);

#endif
