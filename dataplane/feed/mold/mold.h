/*
 * The MoldUDP64 1.0 downstream session: validates packets from the A and B multicast lines and
 * from the re-request server, hands every message up exactly once and in sequence order, holds
 * out-of-order messages in a preallocated window, re-requests what is missing (bounded and
 * retried), and declares a gap lost when recovery fails so the feed handler can mark books stale.
 */
#ifndef TRADSYS_FEED_MOLD_H
#define TRADSYS_FEED_MOLD_H

#include <stddef.h>
#include <stdint.h>

#define MOLD_SESSION_LEN 10
#define MOLD_HEADER_LEN 20
#define MOLD_REQUEST_LEN 20
#define MOLD_COUNT_END_OF_SESSION 0xFFFFu
/* Per held message: a 16-byte arena header, data rounded up to 8 bytes. */
#define MOLD_HOLD_OVERHEAD 16u

/* Where a packet came from: the two redundant multicast lines, or a re-request answer. */
enum mold_line {
	MOLD_LINE_A,
	MOLD_LINE_B,
	MOLD_LINE_RETRANS,
	MOLD_LINE_COUNT,
};

/* Why a packet was dropped as malformed; mold_malformed_name() gives the metric label. */
enum mold_malformed {
	MOLD_MALFORMED_SHORT_HEADER, /* fewer than 20 bytes */
	MOLD_MALFORMED_COUNT_MISMATCH, /* count claims more blocks than the bytes hold */
	MOLD_MALFORMED_BLOCK_PAST_END, /* a block's length runs past the end of the packet */
	MOLD_MALFORMED_TRAILING_BYTES, /* bytes left after the last counted block */
	MOLD_MALFORMED_BAD_SEQUENCE, /* sequence 0, or sequence + count overflows */
	MOLD_MALFORMED_REASONS,
};

struct mold_cfg {
	uint32_t window; /* max messages held out of order: a power of two >= 2 (e.g. 4096) */
	uint32_t arena_bytes; /* bytes for held messages, MOLD_HOLD_OVERHEAD + data (8-aligned) each */
	uint32_t max_requests; /* max outstanding re-requests (>= 1) */
	uint16_t max_request_msgs; /* max messages asked for in one request (>= 1) */
	uint32_t max_retries; /* re-sends of an unanswered request before its range is lost */
	uint64_t retry_interval_ns; /* wait for an answer before re-sending (> 0) */
	uint64_t recovery_timeout_ns; /* a request older than this is lost whatever its retries; 0 = none */
	uint64_t request_delay_ns; /* wait after a gap appears before requesting (lets the other
				      line fill it); 0 = request at once */
	uint64_t start_seq; /* first sequence to deliver: 1 = from the session's start, 0 = from the
			       first sequence seen (join late) */
};

/*
 * Upcalls. on_message is required, the others may be NULL. They run inside on_packet/poll and
 * must not call back into the same session. msg points into the caller's packet (in order) or
 * into the window (after a gap); it is valid only during the call.
 */
struct mold_ops {
	void (*on_message)(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len);
	/* Recovery gave up on [first_seq, first_seq + count): these messages will never come. */
	void (*on_gap_lost)(void *ctx, uint64_t first_seq, uint64_t count);
	/* The first session id seen, or a new session after an end of session. */
	void (*on_session)(void *ctx, const char session[MOLD_SESSION_LEN]);
	/* Every message before the end-of-session sequence was delivered or declared lost. */
	void (*on_end_of_session)(void *ctx);
	/* Sends a 20-byte request packet to the re-request server; returns 0 or -errno. */
	int (*send_request)(void *ctx, const uint8_t *pkt, size_t len);
};

/* Counters of one line. "gaps"/"gap_msgs" are the line's own losses, even if the other line
 * covered them, so operators see which line is bad. */
struct mold_line_stats {
	uint64_t packets; /* every packet handed in on this line, malformed included */
	uint64_t messages; /* message blocks in valid packets of the current session */
	uint64_t delivered; /* messages of this line that won arbitration and were delivered */
	uint64_t duplicates; /* messages already delivered or already held */
	uint64_t heartbeats;
	uint64_t end_of_session; /* end-of-session packets */
	uint64_t gaps; /* jumps in this line's own sequence */
	uint64_t gap_msgs; /* messages skipped by those jumps */
	uint64_t wrong_session; /* packets of another session id, dropped */
	uint64_t after_eos; /* messages or packets past the end of session, dropped */
	uint64_t malformed[MOLD_MALFORMED_REASONS];
};

struct mold_stats {
	struct mold_line_stats line[MOLD_LINE_COUNT];
	uint64_t delivered; /* messages handed up */
	uint64_t sessions; /* on_session calls */
	uint64_t gaps_opened; /* episodes with something missing below the highest sequence seen */
	uint64_t gaps_recovered; /* episodes that closed with nothing declared lost */
	uint64_t gaps_lost; /* on_gap_lost calls */
	uint64_t lost_msgs; /* messages declared lost */
	uint64_t requests_sent; /* first sends of a request */
	uint64_t request_retries; /* re-sends after a timeout */
	uint64_t request_errors; /* send_request returned an error */
	uint64_t window_full_drops; /* messages ahead that the window or arena could not hold */
	uint64_t held; /* messages held now */
	uint64_t held_hwm; /* most messages held at once */
};

struct mold_session;

/* Fills cfg with defaults: window 4096, 64 B per held message, 8 requests of <= 1024 messages,
 * 3 retries 5 ms apart, no overall timeout, no request delay, start at sequence 1. */
void mold_cfg_default(struct mold_cfg *cfg);

/*
 * Creates a session, allocating the window, the arena and the request table. Returns NULL with
 * errno EINVAL on a bad cfg or ops (window not a power of two >= 2, arena smaller than one
 * 16-byte message, zero requests or request size, zero retry interval, no on_message), or
 * ENOMEM.
 */
struct mold_session *mold_session_create(const struct mold_cfg *cfg, const struct mold_ops *ops,
					 void *ctx);

/* Frees the session; NULL is a no-op. */
void mold_session_destroy(struct mold_session *s);

/*
 * Handles one downstream packet received at now_ns on line. The packet is validated in full
 * first; a malformed one is counted by reason and nothing is delivered from it. Messages below
 * the next expected sequence are duplicates; the next expected is delivered in place followed by
 * any held successors; messages ahead are copied into the window (those beyond the window, or
 * that the arena cannot take, are dropped and counted: they are re-requested when the window
 * reaches them and declared lost only after that recovery fails). A jump opens a gap and sends
 * requests (at most max_requests outstanding, each for at most max_request_msgs, never beyond
 * the window).
 * Session policy: the first valid packet fixes the session id. A packet with another id is
 * dropped (-ESTALE), unless the current session has ended (end of session seen and everything
 * before it delivered or lost): then the new session replaces it, sequencing restarts at 1 and
 * on_session is called. After an end of session, data at or past its sequence is dropped.
 * Returns 0, -EBADMSG (malformed), -ESTALE (other session, or after the end of session), or
 * -EINVAL (bad line). Never reads past pkt + len.
 */
int mold_session_on_packet(struct mold_session *s, enum mold_line line, const uint8_t *pkt,
			   size_t len, uint64_t now_ns);

/*
 * Runs the request timers at now_ns: re-sends unanswered requests every retry_interval_ns; after
 * max_retries re-sends (or recovery_timeout_ns) declares the still-missing part of the oldest
 * request's range lost (on_gap_lost for each missing run, exact first and count), delivers the
 * held messages after it, and issues requests for gaps not yet covered. Returns the number of
 * requests sent plus gaps declared lost (0 when idle).
 */
int mold_session_poll(struct mold_session *s, uint64_t now_ns);

/* Forgets the session id and all state; the next valid packet starts a session (operator
 * action when the exchange changed sessions without an end of session). */
void mold_session_reset(struct mold_session *s);

/* The next sequence number to deliver (0 before the first packet). */
uint64_t mold_session_next_seq(const struct mold_session *s);

/* Counters; the pointer stays valid until destroy. */
const struct mold_stats *mold_session_stats(const struct mold_session *s);

/* Label of a malformed reason ("short_header", ...), or "unknown". */
const char *mold_malformed_name(enum mold_malformed reason);

/* Label of a line ("a", "b", "retrans"), or "unknown". */
const char *mold_line_name(enum mold_line line);

/*
 * Builds a 20-byte request packet for count messages from first_seq in out (>= 20 bytes).
 * Returns MOLD_REQUEST_LEN.
 */
size_t mold_request_build(uint8_t *out, const char session[MOLD_SESSION_LEN], uint64_t first_seq,
			  uint16_t count);

#endif
