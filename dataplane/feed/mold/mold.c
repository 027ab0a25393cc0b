/*
 * MoldUDP64 downstream session. A packet is validated in one pass over its block headers, then
 * walked again to deliver: the next expected message goes up in place (zero copy), later ones are
 * copied once into a window of slots indexed by sequence, backed by a byte ring (the arena) that
 * is reclaimed lazily in arrival order. Requests cover [next, highest seen) in order, so the
 * oldest request always expires first and a give-up skips exactly its missing runs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "mold.h"

enum mold_state {
	MOLD_STATE_NONE, /* no session id yet */
	MOLD_STATE_ACTIVE,
	MOLD_STATE_EOS_PENDING, /* end of session seen, messages before it still missing */
	MOLD_STATE_ENDED,
};

/* A held message: seq 0 marks a free slot (MoldUDP64 sequences start at 1). */
struct mold_slot {
	uint64_t seq;
	uint32_t off; /* arena offset of the message's header */
	uint16_t len;
	uint8_t line;
	uint8_t pad;
};

/* Written in the arena before each held message so the ring tail can walk allocations. */
struct mold_hold_hdr {
	uint64_t seq; /* 0 for a wrap pad */
	uint32_t total; /* bytes of this allocation */
	uint32_t pad;
};

struct mold_req {
	uint64_t first;
	uint64_t end; /* one past the last requested sequence */
	uint64_t opened_ns;
	uint64_t deadline_ns;
	uint32_t sends;
};

struct mold_session {
	/* First line: what every packet reads. */
	_Alignas(CORE_CACHE_LINE) uint64_t next; /* next sequence to deliver */
	uint64_t high; /* one past the highest sequence seen (capped at the end of session) */
	uint64_t limit; /* sequences at or past this are after the end of session */
	uint32_t held;
	uint32_t mask;
	struct mold_slot *slots;
	void (*on_message)(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len);
	void *ctx;
	int state;
	char sid[MOLD_SESSION_LEN];

	uint64_t line_next[MOLD_LINE_COUNT]; /* each line's own next expected sequence */
	uint8_t *arena;
	uint64_t a_head, a_tail; /* byte counters; position is counter % arena_size */
	uint32_t arena_size;

	/* Requests: a FIFO ordered by sequence (and so by time). */
	struct mold_req *req;
	uint32_t req_head, nreq;
	uint64_t req_next; /* [next, req_next) is covered by requests or held */
	uint64_t uncovered_since;
	bool uncovered;
	bool in_episode;
	uint64_t episode_lost;

	struct mold_ops ops;
	struct mold_cfg cfg;
	struct mold_stats stats;
};

static const char *const malformed_names[MOLD_MALFORMED_REASONS] = {
	[MOLD_MALFORMED_SHORT_HEADER] = "short_header",
	[MOLD_MALFORMED_COUNT_MISMATCH] = "count_mismatch",
	[MOLD_MALFORMED_BLOCK_PAST_END] = "block_past_end",
	[MOLD_MALFORMED_TRAILING_BYTES] = "trailing_bytes",
	[MOLD_MALFORMED_BAD_SEQUENCE] = "bad_sequence",
};

const char *mold_malformed_name(enum mold_malformed reason)
{
	if ((unsigned int)reason >= MOLD_MALFORMED_REASONS)
		return "unknown";
	return malformed_names[reason];
}

const char *mold_line_name(enum mold_line line)
{
	switch (line) {
	case MOLD_LINE_A: return "a";
	case MOLD_LINE_B: return "b";
	case MOLD_LINE_RETRANS: return "retrans";
	default: return "unknown";
	}
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned int)p[0] << 8 | p[1]);
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

size_t mold_request_build(uint8_t *out, const char session[MOLD_SESSION_LEN], uint64_t first_seq,
			  uint16_t count)
{
	uint64_t be = __builtin_bswap64(first_seq);

	memcpy(out, session, MOLD_SESSION_LEN);
	memcpy(out + 10, &be, sizeof(be));
	out[18] = (uint8_t)(count >> 8);
	out[19] = (uint8_t)count;
	return MOLD_REQUEST_LEN;
}

void mold_cfg_default(struct mold_cfg *cfg)
{
	*cfg = (struct mold_cfg){
		.window = 4096,
		.arena_bytes = 4096 * 64,
		.max_requests = 8,
		.max_request_msgs = 1024,
		.max_retries = 3,
		.retry_interval_ns = 5000000,
		.recovery_timeout_ns = 0,
		.request_delay_ns = 0,
		.start_seq = 1,
	};
}

static void state_clear(struct mold_session *s)
{
	memset(s->slots, 0, (size_t)s->cfg.window * sizeof(*s->slots));
	s->stats.held = 0;
	s->held = 0;
	s->a_head = s->a_tail = 0;
	s->nreq = s->req_head = 0;
	s->uncovered = false;
	s->in_episode = false;
	s->next = s->high = s->req_next = 0;
	s->limit = UINT64_MAX;
	memset(s->line_next, 0, sizeof(s->line_next));
}

struct mold_session *mold_session_create(const struct mold_cfg *cfg, const struct mold_ops *ops,
					 void *ctx)
{
	struct mold_session *s;

	if (!cfg || !ops || !ops->on_message || cfg->window < 2 ||
	    (cfg->window & (cfg->window - 1)) != 0 || cfg->arena_bytes < 2 * MOLD_HOLD_OVERHEAD ||
	    cfg->max_requests == 0 || cfg->max_request_msgs == 0 || cfg->retry_interval_ns == 0) {
		errno = EINVAL;
		return NULL;
	}
	s = aligned_alloc(CORE_CACHE_LINE,
			  (sizeof(*s) + CORE_CACHE_LINE - 1) / CORE_CACHE_LINE * CORE_CACHE_LINE);
	if (!s)
		goto nomem;
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->ops = *ops;
	s->ctx = ctx;
	s->on_message = ops->on_message;
	s->mask = cfg->window - 1;
	s->arena_size = cfg->arena_bytes & ~7u;
	s->slots = calloc(cfg->window, sizeof(*s->slots));
	s->arena = aligned_alloc(CORE_CACHE_LINE, (s->arena_size + CORE_CACHE_LINE - 1) /
							  CORE_CACHE_LINE * CORE_CACHE_LINE);
	s->req = calloc(cfg->max_requests, sizeof(*s->req));
	if (!s->slots || !s->arena || !s->req)
		goto nomem;
	state_clear(s);
	return s;
nomem:
	mold_session_destroy(s);
	errno = ENOMEM;
	return NULL;
}

void mold_session_destroy(struct mold_session *s)
{
	if (!s)
		return;
	free(s->slots);
	free(s->arena);
	free(s->req);
	free(s);
}

void mold_session_reset(struct mold_session *s)
{
	state_clear(s);
	s->state = MOLD_STATE_NONE;
}

uint64_t mold_session_next_seq(const struct mold_session *s)
{
	return s->next;
}

const struct mold_stats *mold_session_stats(const struct mold_session *s)
{
	return &s->stats;
}

/* ---- the window and its arena ---- */

static inline bool held_at(const struct mold_session *s, uint64_t seq)
{
	return s->held && s->slots[seq & s->mask].seq == seq;
}

/* Returns the arena offset for a message of len bytes, or -1 if the ring has no room. */
static int64_t arena_alloc(struct mold_session *s, uint64_t seq, uint16_t len)
{
	uint32_t need = (MOLD_HOLD_OVERHEAD + len + 7u) & ~7u;
	uint32_t size = s->arena_size;
	uint32_t pos = (uint32_t)(s->a_head % size);
	uint64_t used = s->a_head - s->a_tail;
	struct mold_hold_hdr h = { .seq = seq, .total = need };

	if (need > size)
		return -1;
	if (size - pos < need) {
		/* An allocation never wraps: pad to the end and start again at 0. */
		uint32_t pad = size - pos;
		if (used + pad + need > size)
			return -1;
		if (pad >= sizeof(h)) {
			struct mold_hold_hdr p = { .seq = 0, .total = pad };
			memcpy(s->arena + pos, &p, sizeof(p));
		}
		s->a_head += pad;
		pos = 0;
	} else if (used + need > size) {
		return -1;
	}
	memcpy(s->arena + pos, &h, sizeof(h));
	s->a_head += need;
	return pos;
}

/* Moves the ring tail over allocations whose messages have left the window. */
static void arena_reclaim(struct mold_session *s)
{
	uint32_t size = s->arena_size;

	if (s->held == 0) {
		s->a_head = s->a_tail = 0;
		return;
	}
	while (s->a_tail < s->a_head) {
		uint32_t pos = (uint32_t)(s->a_tail % size);
		struct mold_hold_hdr h;

		if (size - pos < sizeof(h)) {
			s->a_tail += size - pos;
			continue;
		}
		memcpy(&h, s->arena + pos, sizeof(h));
		if (h.seq != 0) {
			const struct mold_slot *sl = &s->slots[h.seq & s->mask];
			if (sl->seq == h.seq && sl->off == pos)
				break;
		}
		s->a_tail += h.total;
	}
}

/* Copies a message that arrived ahead of next into the window. */
static void hold(struct mold_session *s, struct mold_line_stats *ls, enum mold_line line,
		 uint64_t seq, const uint8_t *msg, uint16_t len)
{
	struct mold_slot *sl = &s->slots[seq & s->mask];
	int64_t off;

	if (sl->seq == seq) {
		ls->duplicates++;
		return;
	}
	if (seq - s->next >= s->cfg.window) {
		s->stats.window_full_drops++;
		return;
	}
	off = arena_alloc(s, seq, len);
	if (off < 0) {
		s->stats.window_full_drops++;
		return;
	}
	memcpy(s->arena + off + MOLD_HOLD_OVERHEAD, msg, len);
	sl->seq = seq;
	sl->off = (uint32_t)off;
	sl->len = len;
	sl->line = (uint8_t)line;
	s->held++;
	s->stats.held = s->held;
	if (s->held > s->stats.held_hwm)
		s->stats.held_hwm = s->held;
}

/* Delivers held messages contiguous with next. */
static void drain(struct mold_session *s)
{
	while (s->held) {
		struct mold_slot *sl = &s->slots[s->next & s->mask];
		if (sl->seq != s->next)
			break;
		s->on_message(s->ctx, s->next, s->arena + sl->off + MOLD_HOLD_OVERHEAD, sl->len);
		s->stats.line[sl->line].delivered++;
		s->stats.delivered++;
		sl->seq = 0;
		s->held--;
		s->next++;
	}
	s->stats.held = s->held;
	arena_reclaim(s);
}

/* ---- requests ---- */

static inline struct mold_req *req_at(struct mold_session *s, uint32_t i)
{
	return &s->req[(s->req_head + i) % s->cfg.max_requests];
}

static void req_pop(struct mold_session *s)
{
	s->req_head = (s->req_head + 1) % s->cfg.max_requests;
	s->nreq--;
}

/* Sends a request for [first, end) trimmed of delivered and held messages at either end;
 * returns false if nothing in it is missing. */
static bool req_send(struct mold_session *s, uint64_t first, uint64_t end)
{
	uint8_t pkt[MOLD_REQUEST_LEN];

	if (first < s->next)
		first = s->next;
	if (end > s->high)
		end = s->high; /* an end of session may have cut the range short */
	while (first < end && held_at(s, first))
		first++;
	while (end > first && held_at(s, end - 1))
		end--;
	if (first >= end)
		return false;
	mold_request_build(pkt, s->sid, first, (uint16_t)(end - first));
	if (s->ops.send_request && s->ops.send_request(s->ctx, pkt, sizeof(pkt)) < 0)
		s->stats.request_errors++;
	return true;
}

/* The highest sequence worth requesting: answers past the window could not be held. */
static uint64_t req_limit(const struct mold_session *s)
{
	return s->high - s->next > s->cfg.window ? s->next + s->cfg.window : s->high;
}

/* Covers missing sequences with new requests while the table has room. */
static int req_issue(struct mold_session *s, uint64_t now)
{
	uint64_t from = s->req_next > s->next ? s->req_next : s->next;
	uint64_t lim = req_limit(s);
	int sent = 0;

	if (from >= lim) {
		s->uncovered = false;
		return 0;
	}
	if (!s->uncovered) {
		s->uncovered = true;
		s->uncovered_since = now;
	}
	if (now - s->uncovered_since < s->cfg.request_delay_ns)
		return 0;
	while (s->nreq < s->cfg.max_requests && from < lim) {
		while (from < lim && held_at(s, from))
			from++;
		if (from >= lim)
			break;
		uint64_t end = lim - from > s->cfg.max_request_msgs ? from + s->cfg.max_request_msgs
								    : lim;
		/* One request per missing run: held messages are not asked for again. */
		for (uint64_t q = from + 1; q < end; q++) {
			if (held_at(s, q)) {
				end = q;
				break;
			}
		}
		struct mold_req *r = req_at(s, s->nreq);
		req_send(s, from, end);
		*r = (struct mold_req){ .first = from,
					.end = end,
					.opened_ns = now,
					.deadline_ns = now + s->cfg.retry_interval_ns,
					.sends = 1 };
		s->nreq++;
		s->stats.requests_sent++;
		sent++;
		from = end;
	}
	s->req_next = from;
	s->uncovered = from < lim;
	return sent;
}

/* Declares everything still missing below end lost and delivers the held messages around it. */
static void give_up_to(struct mold_session *s, uint64_t end)
{
	if (end > s->high)
		end = s->high; /* nothing at or past an end of session is lost */
	while (s->next < end) {
		if (held_at(s, s->next)) {
			drain(s);
			continue;
		}
		uint64_t first = s->next;
		if (s->held == 0) {
			s->next = end;
		} else {
			while (s->next < end && !held_at(s, s->next))
				s->next++;
		}
		s->stats.gaps_lost++;
		s->stats.lost_msgs += s->next - first;
		if (s->ops.on_gap_lost)
			s->ops.on_gap_lost(s->ctx, first, s->next - first);
	}
	drain(s);
}

/* Bookkeeping after next may have moved: retire answered requests, track the gap episode, end
 * the session when everything before its end was handed up, and cover new gaps. */
static int settle(struct mold_session *s, uint64_t now)
{
	while (s->nreq && req_at(s, 0)->end <= s->next)
		req_pop(s);
	if (s->req_next < s->next)
		s->req_next = s->next;
	if (s->next < s->high) {
		if (!s->in_episode) {
			s->in_episode = true;
			s->episode_lost = s->stats.lost_msgs;
			s->stats.gaps_opened++;
		}
	} else if (s->in_episode) {
		s->in_episode = false;
		if (s->stats.lost_msgs == s->episode_lost)
			s->stats.gaps_recovered++;
	}
	if (s->state == MOLD_STATE_EOS_PENDING && s->next >= s->limit) {
		s->state = MOLD_STATE_ENDED;
		s->nreq = 0;
		s->uncovered = false;
		if (s->ops.on_end_of_session)
			s->ops.on_end_of_session(s->ctx);
		return 0;
	}
	if (s->state != MOLD_STATE_ACTIVE && s->state != MOLD_STATE_EOS_PENDING)
		return 0;
	return req_issue(s, now);
}

int mold_session_poll(struct mold_session *s, uint64_t now)
{
	int work = 0;

	if (s->state != MOLD_STATE_ACTIVE && s->state != MOLD_STATE_EOS_PENDING)
		return 0;
	for (uint32_t i = 0; i < s->nreq;) {
		struct mold_req *r = req_at(s, i);
		if (now < r->deadline_ns) {
			i++;
			continue;
		}
		bool timed_out = s->cfg.recovery_timeout_ns &&
				 now - r->opened_ns >= s->cfg.recovery_timeout_ns;
		if (r->sends > s->cfg.max_retries || timed_out) {
			uint64_t end = r->end;
			/* Requests are in sequence order: this one and all before it are done. */
			for (uint32_t k = 0; k <= i; k++)
				req_pop(s);
			give_up_to(s, end);
			work++;
			work += settle(s, now);
			i = 0;
			continue;
		}
		if (req_send(s, r->first, r->end)) {
			s->stats.request_retries++;
			work++;
		}
		r->sends++;
		r->deadline_ns = now + s->cfg.retry_interval_ns;
		i++;
	}
	return work + settle(s, now);
}

/* ---- packets ---- */

/* Checks the whole packet before anything is delivered; returns a reason or -1 if valid. */
static int validate(const uint8_t *pkt, size_t len, uint64_t *seq, uint32_t *count)
{
	size_t off = MOLD_HEADER_LEN;

	if (len < MOLD_HEADER_LEN)
		return MOLD_MALFORMED_SHORT_HEADER;
	*seq = rd64(pkt + 10);
	*count = rd16(pkt + 18);
	if (*count == MOLD_COUNT_END_OF_SESSION) {
		if (len != MOLD_HEADER_LEN)
			return MOLD_MALFORMED_TRAILING_BYTES;
		if (*seq == 0)
			return MOLD_MALFORMED_BAD_SEQUENCE;
		return -1;
	}
	for (uint32_t i = 0; i < *count; i++) {
		if (len - off < 2)
			return MOLD_MALFORMED_COUNT_MISMATCH;
		size_t mlen = rd16(pkt + off);
		off += 2;
		if (len - off < mlen)
			return MOLD_MALFORMED_BLOCK_PAST_END;
		off += mlen;
	}
	if (off != len)
		return MOLD_MALFORMED_TRAILING_BYTES;
	if (*seq == 0 || *seq > UINT64_MAX - *count)
		return MOLD_MALFORMED_BAD_SEQUENCE;
	return -1;
}

static void session_start(struct mold_session *s, const uint8_t *pkt, uint64_t first)
{
	state_clear(s);
	memcpy(s->sid, pkt, MOLD_SESSION_LEN);
	s->state = MOLD_STATE_ACTIVE;
	s->next = s->high = s->req_next = first;
	for (int l = 0; l < MOLD_LINE_COUNT; l++)
		s->line_next[l] = first;
	s->stats.sessions++;
	if (s->ops.on_session)
		s->ops.on_session(s->ctx, s->sid);
}

/* A line's own sequence: a jump is that line's loss, even if the other line covers it. */
static inline void line_track(struct mold_session *s, struct mold_line_stats *ls,
			      enum mold_line line, uint64_t seq, uint64_t end)
{
	if (line == MOLD_LINE_RETRANS)
		return;
	if (seq > s->line_next[line]) {
		ls->gaps++;
		ls->gap_msgs += seq - s->line_next[line];
	}
	if (end > s->line_next[line])
		s->line_next[line] = end;
}

int mold_session_on_packet(struct mold_session *s, enum mold_line line, const uint8_t *pkt,
			   size_t len, uint64_t now)
{
	struct mold_line_stats *ls;
	uint64_t seq = 0;
	uint32_t count = 0;
	int bad;

	if (core_unlikely((unsigned int)line >= MOLD_LINE_COUNT))
		return -EINVAL;
	ls = &s->stats.line[line];
	ls->packets++;
	bad = validate(pkt, len, &seq, &count);
	if (core_unlikely(bad >= 0)) {
		ls->malformed[bad]++;
		return -EBADMSG;
	}
	if (core_unlikely(s->state == MOLD_STATE_NONE)) {
		session_start(s, pkt, s->cfg.start_seq ? s->cfg.start_seq : seq);
	} else if (core_unlikely(memcmp(pkt, s->sid, MOLD_SESSION_LEN) != 0)) {
		if (s->state != MOLD_STATE_ENDED) {
			ls->wrong_session++;
			return -ESTALE;
		}
		session_start(s, pkt, 1);
	} else if (core_unlikely(s->state == MOLD_STATE_ENDED)) {
		ls->after_eos++;
		return -ESTALE;
	}

	if (core_unlikely(count == MOLD_COUNT_END_OF_SESSION)) {
		ls->end_of_session++;
		line_track(s, ls, line, seq, seq);
		if (s->state == MOLD_STATE_ACTIVE && seq >= s->next) {
			s->state = MOLD_STATE_EOS_PENDING;
			s->limit = seq;
			/* Messages held past the end can never be delivered. */
			s->high = seq;
		}
		settle(s, now);
		return 0;
	}
	if (count == 0) {
		ls->heartbeats++;
		line_track(s, ls, line, seq, seq);
		if (seq > s->high && seq <= s->limit)
			s->high = seq;
		settle(s, now);
		return 0;
	}

	const uint8_t *p = pkt + MOLD_HEADER_LEN;
	uint64_t sq = seq;

	ls->messages += count;
	line_track(s, ls, line, seq, seq + count);
	for (uint32_t i = 0; i < count; i++, sq++) {
		uint16_t mlen = rd16(p);
		const uint8_t *msg = p + 2;
		p = msg + mlen;
		if (sq < s->next) {
			ls->duplicates++;
		} else if (core_likely(sq == s->next)) {
			if (core_unlikely(sq >= s->limit)) {
				ls->after_eos++;
				continue;
			}
			s->on_message(s->ctx, sq, msg, mlen);
			ls->delivered++;
			s->stats.delivered++;
			s->next++;
			if (s->held)
				drain(s);
		} else if (sq >= s->limit) {
			ls->after_eos++;
		} else {
			hold(s, ls, line, sq, msg, mlen);
		}
	}
	if (sq > s->high)
		s->high = sq < s->limit ? sq : s->limit;
	if (core_likely(s->next == s->high && s->nreq == 0 && !s->in_episode &&
			s->state == MOLD_STATE_ACTIVE))
		return 0;
	settle(s, now);
	return 0;
}
