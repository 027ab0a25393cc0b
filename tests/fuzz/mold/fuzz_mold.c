/*
 * libFuzzer target: the MoldUDP64 session. The input is a script of packets (raw bytes, or
 * built from a few bytes so deep states are reached quickly) on lines A, B and retransmission,
 * and clock advances that run the request timers. Invariant: delivered sequences go up by one
 * except across on_gap_lost, which must account exactly for what was skipped; abort() if not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct mold_session *s;
	uint64_t expect; /* next sequence the session must hand up */
	char sid[MOLD_SESSION_LEN];
	int have_session;
	int ended;
	uint32_t window;
	uint8_t sink;
};

static void fz_message(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len)
{
	struct fz *f = ctx;
	if (!f->have_session || f->ended || seq != f->expect)
		abort();
	for (uint16_t i = 0; i < len; i++)
		f->sink ^= msg[i]; /* touch every byte: ASan checks the view */
	f->expect++;
}

static void fz_gap_lost(void *ctx, uint64_t first, uint64_t count)
{
	struct fz *f = ctx;
	if (!f->have_session || f->ended || first != f->expect || count == 0 ||
	    count > UINT64_MAX - first)
		abort();
	f->expect = first + count;
}

static void fz_session(void *ctx, const char session[MOLD_SESSION_LEN])
{
	struct fz *f = ctx;
	if (f->have_session && !f->ended)
		abort(); /* a session may only change after its end */
	f->have_session = 1;
	f->ended = 0;
	memcpy(f->sid, session, MOLD_SESSION_LEN);
	f->expect = mold_session_next_seq(f->s);
}

static void fz_eos(void *ctx)
{
	struct fz *f = ctx;
	if (!f->have_session || f->ended || mold_session_next_seq(f->s) != f->expect)
		abort();
	f->ended = 1;
}

static int fz_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct fz *f = ctx;
	uint64_t first = 0;
	uint16_t count = (uint16_t)(pkt[18] << 8 | pkt[19]);

	for (int i = 0; i < 8; i++)
		first = first << 8 | pkt[10 + i];
	if (len != MOLD_REQUEST_LEN || memcmp(pkt, f->sid, MOLD_SESSION_LEN) != 0 || count == 0 ||
	    first < f->expect || first - f->expect >= f->window)
		abort();
	return (first & 3) == 0 ? -5 : 0; /* sometimes fail, like a full socket buffer */
}

static const struct mold_ops fz_ops = {
	.on_message = fz_message,
	.on_gap_lost = fz_gap_lost,
	.on_session = fz_session,
	.on_end_of_session = fz_eos,
	.send_request = fz_send,
};

/* Builds a packet from a few script bytes around the session's next sequence. */
static size_t build(uint8_t *pkt, size_t cap, struct fz *f, const uint8_t *b)
{
	static const char sids[2][MOLD_SESSION_LEN + 1] = { "FUZZSESS01", "FUZZSESS02" };
	uint64_t base = mold_session_next_seq(f->s);
	int64_t delta = (int8_t)b[0];
	uint64_t seq = (int64_t)base + delta >= 1 ? (uint64_t)((int64_t)base + delta) : 1;
	uint16_t count = b[1] % 13;
	uint16_t mlen = b[2] % 48;
	size_t off = MOLD_HEADER_LEN;

	memcpy(pkt, sids[(b[1] >> 7) & (b[2] >> 7)], MOLD_SESSION_LEN);
	if ((b[1] & 0x70) == 0x70)
		count = 0xFFFF; /* end of session */
	for (int i = 7; i >= 0; i--) {
		pkt[10 + i] = (uint8_t)seq;
		seq >>= 8;
	}
	pkt[18] = (uint8_t)(count >> 8);
	pkt[19] = (uint8_t)count;
	if (count == 0xFFFF)
		return off;
	for (uint16_t i = 0; i < count && off + 2u + mlen <= cap; i++) {
		pkt[off] = 0;
		pkt[off + 1] = (uint8_t)mlen;
		memset(pkt + off + 2, (int)i, mlen);
		off += 2u + mlen;
	}
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mold_cfg cfg;
	struct fz f = { 0 };
	uint64_t now = 0;
	uint8_t pkt[1024];

	if (size < 2)
		return 0;
	mold_cfg_default(&cfg);
	cfg.window = 1u << (1 + (data[0] & 7)); /* 2 .. 256 */
	cfg.arena_bytes = cfg.window * (16u + (data[1] & 63u));
	cfg.max_requests = 1 + ((data[0] >> 3) & 3);
	cfg.max_request_msgs = (uint16_t)(1 + ((data[1] >> 6) * 5));
	cfg.max_retries = (data[0] >> 5) & 3;
	cfg.retry_interval_ns = 1000;
	cfg.recovery_timeout_ns = (data[0] & 0x80) ? 2500 : 0;
	cfg.request_delay_ns = (data[1] & 0x20) ? 300 : 0;
	cfg.start_seq = (data[1] & 0x10) ? 0 : 1;
	f.window = cfg.window;
	f.s = mold_session_create(&cfg, &fz_ops, &f);
	if (!f.s)
		abort();
	data += 2;
	size -= 2;

	while (size > 0) {
		uint8_t op = data[0];
		enum mold_line line = (enum mold_line)((op & 3) % 3);
		data++;
		size--;
		if ((op >> 6) == 0) {
			/* Raw packet: two length bytes, then that many bytes (or what is left). */
			if (size < 2)
				break;
			size_t len = (size_t)data[0] << 8 | data[1];
			data += 2;
			size -= 2;
			if (len > size)
				len = size;
			/* Copy so a read past len hits ASan's redzone, not the rest of the input. */
			uint8_t *p = malloc(len ? len : 1);
			if (!p)
				abort();
			memcpy(p, data, len);
			mold_session_on_packet(f.s, line, p, len, now);
			free(p);
			data += len;
			size -= len;
		} else if ((op >> 6) == 1 || (op >> 6) == 2) {
			if (size < 3)
				break;
			size_t len = build(pkt, sizeof(pkt), &f, data);
			mold_session_on_packet(f.s, line, pkt, len, now);
			data += 3;
			size -= 3;
		} else {
			now += (uint64_t)(op & 0x3F) * 100;
			mold_session_poll(f.s, now);
		}
		if (f.have_session && !f.ended && mold_session_next_seq(f.s) != f.expect)
			abort();
		if (mold_session_stats(f.s)->held > cfg.window)
			abort();
	}
	/* Drain: with time running, every gap is eventually recovered or lost. */
	for (int i = 0; i < 64; i++) {
		now += 1000;
		mold_session_poll(f.s, now);
	}
	if (f.have_session && !f.ended && mold_session_next_seq(f.s) != f.expect)
		abort();
	mold_session_destroy(f.s);
	return 0;
}
