/*
 * libFuzzer target: the OUCH 4.2 decoder. The first byte picks the direction; the rest is one
 * message. It is validated, and a valid message is read field by field through its view: every
 * number survives a read-write round trip and every text field comes back no longer than its
 * width. Nothing may be read outside the input (the copy is exactly its size, so ASan sees it).
 * ouch_decode must agree with ouch_msg_check on every outbound input and, on a valid one, with
 * the view field by field; a valid inbound order whose text is plain re-encodes to its own bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ouch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void num32(const uint8_t p[4])
{
	uint8_t b[4];

	ouch_put32(b, ouch_get32(p));
	if (memcmp(b, p, 4))
		abort();
}

static void num64(const uint8_t p[8])
{
	uint8_t b[8];

	ouch_put64(b, ouch_get64(p));
	if (memcmp(b, p, 8))
		abort();
}

static void text(const char *field, size_t n)
{
	char t[OUCH_TOKEN_LEN + 1];

	ouch_get_text(t, field, n);
	if (strlen(t) > n)
		abort();
}

static void decode(const uint8_t *m, enum ouch_dir dir)
{
	if (dir == OUCH_INBOUND) {
		switch (m[0]) {
		case OUCH_ENTER_ORDER: {
			const struct ouch_enter_order *o = (const void *)m;
			text(o->token, OUCH_TOKEN_LEN);
			text(o->stock, OUCH_STOCK_LEN);
			text(o->firm, OUCH_FIRM_LEN);
			num32(o->shares), num32(o->price), num32(o->tif), num32(o->min_qty);
			break;
		}
		case OUCH_REPLACE_ORDER: {
			const struct ouch_replace_order *o = (const void *)m;
			text(o->existing, OUCH_TOKEN_LEN);
			text(o->replacement, OUCH_TOKEN_LEN);
			num32(o->shares), num32(o->price), num32(o->tif), num32(o->min_qty);
			break;
		}
		case OUCH_CANCEL_ORDER: {
			const struct ouch_cancel_order *o = (const void *)m;
			text(o->token, OUCH_TOKEN_LEN);
			num32(o->shares);
			break;
		}
		}
		return;
	}
	switch (m[0]) {
	case OUCH_ACCEPTED: {
		const struct ouch_accepted *o = (const void *)m;
		num64(o->timestamp), num64(o->order_ref);
		text(o->token, OUCH_TOKEN_LEN);
		text(o->stock, OUCH_STOCK_LEN);
		num32(o->shares), num32(o->price), num32(o->tif), num32(o->min_qty);
		break;
	}
	case OUCH_REPLACED: {
		const struct ouch_replaced *o = (const void *)m;
		text(o->replacement, OUCH_TOKEN_LEN);
		text(o->previous, OUCH_TOKEN_LEN);
		num64(o->order_ref), num32(o->shares), num32(o->price);
		break;
	}
	case OUCH_CANCELED: {
		const struct ouch_canceled *o = (const void *)m;
		text(o->token, OUCH_TOKEN_LEN);
		num32(o->decrement);
		break;
	}
	case OUCH_EXECUTED: {
		const struct ouch_executed *o = (const void *)m;
		text(o->token, OUCH_TOKEN_LEN);
		num32(o->shares), num32(o->price), num64(o->match);
		break;
	}
	case OUCH_BROKEN_TRADE: {
		const struct ouch_broken_trade *o = (const void *)m;
		text(o->token, OUCH_TOKEN_LEN);
		num64(o->match);
		break;
	}
	case OUCH_REJECTED: text(((const struct ouch_rejected *)m)->token, OUCH_TOKEN_LEN); break;
	}
}

static void same_text(const char *got, const char *field, size_t n)
{
	char t[OUCH_TOKEN_LEN + 1];

	ouch_get_text(t, field, n);
	if (strcmp(got, t) != 0)
		abort();
}

/* ouch_decode on a valid outbound message against the views. */
static void decode_agrees(const uint8_t *m, size_t len)
{
	struct ouch_event ev;

	if (ouch_decode(m, len, &ev) != 0 || ev.type != m[0] || ev.token[OUCH_TOKEN_LEN] != '\0' ||
	    ev.previous[OUCH_TOKEN_LEN] != '\0' || ev.stock[OUCH_STOCK_LEN] != '\0')
		abort();
	if (m[0] != OUCH_SYSTEM_EVENT) {
		same_text(ev.token, (const char *)m + 9, OUCH_TOKEN_LEN);
		if (ev.timestamp != ouch_get64(m + 1))
			abort();
	}
	switch (m[0]) {
	case OUCH_SYSTEM_EVENT:
		if (ev.event != ((const struct ouch_system_event *)m)->event || ev.token[0])
			abort();
		break;
	case OUCH_ACCEPTED: {
		const struct ouch_accepted *o = (const void *)m;
		same_text(ev.stock, o->stock, OUCH_STOCK_LEN);
		same_text(ev.firm, o->firm, OUCH_FIRM_LEN);
		if (ev.side != o->side || ev.shares != ouch_get32(o->shares) ||
		    ev.price != ouch_get32(o->price) || ev.tif != ouch_get32(o->tif) ||
		    ev.order_ref != ouch_get64(o->order_ref) ||
		    ev.min_qty != ouch_get32(o->min_qty) || ev.state != o->state || ev.previous[0])
			abort();
		break;
	}
	case OUCH_REPLACED: {
		const struct ouch_replaced *o = (const void *)m;
		same_text(ev.token, o->replacement, OUCH_TOKEN_LEN);
		same_text(ev.previous, o->previous, OUCH_TOKEN_LEN);
		if (ev.shares != ouch_get32(o->shares) || ev.price != ouch_get32(o->price) ||
		    ev.order_ref != ouch_get64(o->order_ref) || ev.side != o->side)
			abort();
		break;
	}
	case OUCH_CANCELED: {
		const struct ouch_canceled *o = (const void *)m;
		if (ev.decrement != ouch_get32(o->decrement) || ev.reason != o->reason)
			abort();
		break;
	}
	case OUCH_EXECUTED: {
		const struct ouch_executed *o = (const void *)m;
		if (ev.shares != ouch_get32(o->shares) || ev.price != ouch_get32(o->price) ||
		    ev.liquidity != o->liquidity || ev.match != ouch_get64(o->match))
			abort();
		break;
	}
	case OUCH_BROKEN_TRADE: {
		const struct ouch_broken_trade *o = (const void *)m;
		if (ev.match != ouch_get64(o->match) || ev.reason != o->reason)
			abort();
		break;
	}
	case OUCH_REJECTED:
		if (ev.reason != ((const struct ouch_rejected *)m)->reason)
			abort();
		break;
	}
}

/* Text an encoder could have written: printable ASCII without NULs once the padding is off. */
static int plain(const char *field, size_t n, char *out, int required)
{
	size_t l = n;

	while (l > 0 && field[l - 1] == ' ')
		l--;
	for (size_t i = 0; i < l; i++)
		if (field[i] < 0x20 || field[i] > 0x7e)
			return 0;
	ouch_get_text(out, field, n);
	return !required || l > 0;
}

/* A valid Enter Order with plain text and set flags encodes back to exactly its bytes. */
static void enter_round_trip(const uint8_t *m)
{
	const struct ouch_enter_order *o = (const void *)m;
	char tok[OUCH_TOKEN_LEN + 1], stock[OUCH_STOCK_LEN + 1], firm[OUCH_FIRM_LEN + 1];
	uint8_t out[64];

	if (!plain(o->token, OUCH_TOKEN_LEN, tok, 1) ||
	    !plain(o->stock, OUCH_STOCK_LEN, stock, 1) || !plain(o->firm, OUCH_FIRM_LEN, firm, 0))
		return;
	if (!o->side || !o->display || !o->capacity || !o->iso || !o->cross || !o->customer)
		return;
	const struct ouch_enter e = { .token = tok,
				      .stock = stock,
				      .firm = firm,
				      .shares = ouch_get32(o->shares),
				      .price = ouch_get32(o->price),
				      .tif = ouch_get32(o->tif),
				      .min_qty = ouch_get32(o->min_qty),
				      .side = (char)o->side,
				      .display = (char)o->display,
				      .capacity = (char)o->capacity,
				      .iso = (char)o->iso,
				      .cross = (char)o->cross,
				      .customer = (char)o->customer };
	if (ouch_encode_enter(out, sizeof(out), &e) != sizeof(*o) || memcmp(out, m, sizeof(*o)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum ouch_dir dir = data[0] & 1 ? OUCH_INBOUND : OUCH_OUTBOUND;
	size_t len = size - 1;
	uint8_t *m = malloc(len ? len : 1);
	memcpy(m, data + 1, len);
	int rc = ouch_msg_check(m, len, dir);
	if (rc == 0) {
		if (len != ouch_msg_len(m[0], dir))
			abort();
		decode(m, dir);
		if (dir == OUCH_OUTBOUND)
			decode_agrees(m, len);
		else if (m[0] == OUCH_ENTER_ORDER)
			enter_round_trip(m);
	} else if (rc != -OUCH_ERR_EMPTY && rc != -OUCH_ERR_UNKNOWN_TYPE &&
		   rc != -OUCH_ERR_BAD_LENGTH) {
		abort();
	}
	if (dir == OUCH_OUTBOUND) {
		struct ouch_event ev;
		if (ouch_decode(m, len, &ev) != rc)
			abort();
	}
	free(m);
	return 0;
}
