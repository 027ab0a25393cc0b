/*
 * Helpers shared by the MoldUDP64 tests: packet and message builders with a checkable payload, and
 * a recording mold_ops that keeps every delivery, loss, session event and request for assertions.
 */
#ifndef TRADSYS_TEST_MOLD_H
#define TRADSYS_TEST_MOLD_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "mold.h"

#define REC_MAX 8192
#define REC_REQ_MAX 256

struct rec {
	uint64_t seq[REC_MAX];
	const uint8_t *ptr[REC_MAX];
	size_t n;
	unsigned int bad_content; /* messages whose bytes do not match their sequence */
	uint64_t lost_first[64], lost_count[64];
	size_t nlost;
	char session[8][MOLD_SESSION_LEN];
	size_t nsession;
	unsigned int eos;
	uint8_t req[REC_REQ_MAX][MOLD_REQUEST_LEN];
	size_t nreq;
	int send_rc;
};

static inline void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Message body for sequence seq: the sequence big-endian, then bytes derived from it. */
static inline void msg_fill(uint8_t *p, uint64_t seq, uint16_t len)
{
	uint8_t tmp[8];
	put64(tmp, seq);
	for (uint16_t i = 0; i < len; i++)
		p[i] = i < 8 ? tmp[i] : (uint8_t)(seq * 7 + i);
}

static inline int msg_check(const uint8_t *p, uint64_t seq, uint16_t len)
{
	uint8_t want[512];
	if (len > sizeof(want))
		return 0;
	msg_fill(want, seq, len);
	return memcmp(p, want, len) == 0;
}

/* Builds a downstream packet of n messages of mlen bytes from seq; returns its length. */
static inline size_t pkt_build(uint8_t *buf, const char *sid, uint64_t seq, uint16_t n,
			       uint16_t mlen)
{
	size_t off = MOLD_HEADER_LEN;
	memcpy(buf, sid, MOLD_SESSION_LEN);
	put64(buf + 10, seq);
	buf[18] = (uint8_t)(n >> 8);
	buf[19] = (uint8_t)n;
	for (uint16_t i = 0; i < n; i++) {
		buf[off] = (uint8_t)(mlen >> 8);
		buf[off + 1] = (uint8_t)mlen;
		msg_fill(buf + off + 2, seq + i, mlen);
		off += 2u + mlen;
	}
	return off;
}

/* Heartbeat (count 0) or end of session (count 0xFFFF). */
static inline size_t pkt_ctl(uint8_t *buf, const char *sid, uint64_t seq, uint16_t count)
{
	memcpy(buf, sid, MOLD_SESSION_LEN);
	put64(buf + 10, seq);
	buf[18] = (uint8_t)(count >> 8);
	buf[19] = (uint8_t)count;
	return MOLD_HEADER_LEN;
}

static inline void rec_on_message(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len)
{
	struct rec *r = ctx;
	if (!msg_check(msg, seq, len))
		r->bad_content++;
	if (r->n < REC_MAX) {
		r->seq[r->n] = seq;
		r->ptr[r->n] = msg;
	}
	r->n++;
}

static inline void rec_on_gap_lost(void *ctx, uint64_t first, uint64_t count)
{
	struct rec *r = ctx;
	if (r->nlost < 64) {
		r->lost_first[r->nlost] = first;
		r->lost_count[r->nlost] = count;
	}
	r->nlost++;
}

static inline void rec_on_session(void *ctx, const char session[MOLD_SESSION_LEN])
{
	struct rec *r = ctx;
	if (r->nsession < 8)
		memcpy(r->session[r->nsession], session, MOLD_SESSION_LEN);
	r->nsession++;
}

static inline void rec_on_eos(void *ctx)
{
	struct rec *r = ctx;
	r->eos++;
}

static inline int rec_send_request(void *ctx, const uint8_t *pkt, size_t len)
{
	struct rec *r = ctx;
	if (len != MOLD_REQUEST_LEN)
		return -EINVAL;
	if (r->nreq < REC_REQ_MAX)
		memcpy(r->req[r->nreq], pkt, len);
	r->nreq++;
	return r->send_rc;

#endif
