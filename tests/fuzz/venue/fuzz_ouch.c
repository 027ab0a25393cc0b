/*
 * libFuzzer target: the OUCH 4.2 decoder. The first byte picks the direction; the rest is one
 * message. It is validated, and a valid message is read field by field through its view: every
 * number survives a read-write round trip and every text field comes back no longer than its
 * width. Nothing may be read outside the input (the copy is exactly its size, so ASan sees it).
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
	} else if (rc != -OUCH_ERR_EMPTY && rc != -OUCH_ERR_UNKNOWN_TYPE &&
		   rc != -OUCH_ERR_BAD_LENGTH) {
		abort();
	}
	free(m);
	return 0;
}
