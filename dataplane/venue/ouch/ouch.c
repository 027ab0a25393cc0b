/*
 * OUCH 4.2 message lengths per direction, validation, and the codec: encoders that lay out the
 * inbound messages from plain structs, and a decoder that reads any outbound message into one
 * normalized event. The views and field accessors are in ouch.h.
 */
#include "ouch.h"

static const char *const error_names[OUCH_ERR_COUNT] = {
	[OUCH_ERR_EMPTY] = "empty",
	[OUCH_ERR_UNKNOWN_TYPE] = "unknown_type",
	[OUCH_ERR_BAD_LENGTH] = "bad_length",
};

const char *ouch_error_name(int err)
{
	if (err < 0)
		err = -err;
	return err > 0 && err < OUCH_ERR_COUNT ? error_names[err] : "unknown";
}

size_t ouch_msg_len(uint8_t type, enum ouch_dir dir)
{
	if (dir == OUCH_INBOUND) {
		switch (type) {
		case OUCH_ENTER_ORDER: return sizeof(struct ouch_enter_order);
		case OUCH_REPLACE_ORDER: return sizeof(struct ouch_replace_order);
		case OUCH_CANCEL_ORDER: return sizeof(struct ouch_cancel_order);
		case OUCH_MODIFY_ORDER: return sizeof(struct ouch_modify_order);
		default: return 0;
		}
	}
	switch (type) {
	case OUCH_SYSTEM_EVENT: return sizeof(struct ouch_system_event);
	case OUCH_ACCEPTED: return sizeof(struct ouch_accepted);
	case OUCH_REPLACED: return sizeof(struct ouch_replaced);
	case OUCH_CANCELED: return sizeof(struct ouch_canceled);
	case OUCH_AIQ_CANCELED: return 37; /* Canceled + quantity prevented, price, liquidity */
	case OUCH_EXECUTED: return sizeof(struct ouch_executed);
	case OUCH_BROKEN_TRADE: return sizeof(struct ouch_broken_trade);
	case OUCH_PRICE_CORRECTION: return 36; /* token, match, new price, reason */
	case OUCH_REJECTED: return sizeof(struct ouch_rejected);
	case OUCH_CANCEL_PENDING:
	case OUCH_CANCEL_REJECT: return sizeof(struct ouch_cancel_pending);
	case OUCH_ORDER_MODIFIED: return 28; /* token, side, shares */
	default: return 0;
	}
}

int ouch_msg_check(const uint8_t *msg, size_t len, enum ouch_dir dir)
{
	if (len == 0)
		return -OUCH_ERR_EMPTY;
	size_t want = ouch_msg_len(msg[0], dir);
	if (want == 0)
		return -OUCH_ERR_UNKNOWN_TYPE;
	if (len != want)
		return -OUCH_ERR_BAD_LENGTH;
	return 0;
}

/* Writes a required text field: 0, or -1 when s is missing, empty or longer than the field. */
static int put_required(char *field, size_t n, const char *s)
{
	if (!s || !s[0] || strnlen(s, n + 1) > n)
		return -1;
	ouch_put_text(field, n, s);
	return 0;
}

/* An optional text field: NULL or "" is all spaces. */
static int put_optional(char *field, size_t n, const char *s)
{
	if (s && strnlen(s, n + 1) > n)
		return -1;
	ouch_put_text(field, n, s ? s : "");
	return 0;
}

static uint8_t or_default(char c, char def)
{
	return (uint8_t)(c ? c : def);
}

size_t ouch_encode_enter(uint8_t *out, size_t cap, const struct ouch_enter *e)
{
	struct ouch_enter_order *m = (struct ouch_enter_order *)out;

	if (cap < sizeof(*m) || !e->side)
		return 0;
	if (put_required(m->token, OUCH_TOKEN_LEN, e->token) ||
	    put_required(m->stock, OUCH_STOCK_LEN, e->stock) ||
	    put_optional(m->firm, OUCH_FIRM_LEN, e->firm))
		return 0;
	m->type = OUCH_ENTER_ORDER;
	m->side = (uint8_t)e->side;
	ouch_put32(m->shares, e->shares);
	ouch_put32(m->price, e->price);
	ouch_put32(m->tif, e->tif);
	m->display = or_default(e->display, 'Y');
	m->capacity = or_default(e->capacity, 'A');
	m->iso = or_default(e->iso, 'N');
	ouch_put32(m->min_qty, e->min_qty);
	m->cross = or_default(e->cross, 'N');
	m->customer = or_default(e->customer, 'N');
	return sizeof(*m);
}

size_t ouch_encode_replace(uint8_t *out, size_t cap, const struct ouch_replace *r)
{
	struct ouch_replace_order *m = (struct ouch_replace_order *)out;

	if (cap < sizeof(*m))
		return 0;
	if (put_required(m->existing, OUCH_TOKEN_LEN, r->existing) ||
	    put_required(m->replacement, OUCH_TOKEN_LEN, r->replacement))
		return 0;
	m->type = OUCH_REPLACE_ORDER;
	ouch_put32(m->shares, r->shares);
	ouch_put32(m->price, r->price);
	ouch_put32(m->tif, r->tif);
	m->display = or_default(r->display, 'Y');
	m->iso = or_default(r->iso, 'N');
	ouch_put32(m->min_qty, r->min_qty);
	return sizeof(*m);
}

size_t ouch_encode_cancel(uint8_t *out, size_t cap, const struct ouch_cancel *c)
{
	struct ouch_cancel_order *m = (struct ouch_cancel_order *)out;

	if (cap < sizeof(*m) || put_required(m->token, OUCH_TOKEN_LEN, c->token))
		return 0;
	m->type = OUCH_CANCEL_ORDER;
	ouch_put32(m->shares, c->shares);
	return sizeof(*m);
}

/*
 * Every outbound type starts with the type byte, an 8-byte timestamp and (all but System Event)
 * the 14-byte token, so those are read once; the switch reads what follows.
 */
int ouch_decode(const uint8_t *msg, size_t len, struct ouch_event *out)
{
	memset(out, 0, sizeof(*out));
	int rc = ouch_msg_check(msg, len, OUCH_OUTBOUND);
	if (rc)
		return rc;
	out->type = msg[0];
	out->timestamp = ouch_get64(msg + 1);
	if (msg[0] != OUCH_SYSTEM_EVENT)
		ouch_get_text(out->token, (const char *)msg + 9, OUCH_TOKEN_LEN);

	switch (msg[0]) {
	case OUCH_SYSTEM_EVENT: out->event = ((const struct ouch_system_event *)msg)->event; break;
	case OUCH_ACCEPTED: {
		const struct ouch_accepted *m = (const void *)msg;
		out->side = m->side;
		out->shares = ouch_get32(m->shares);
		ouch_get_text(out->stock, m->stock, OUCH_STOCK_LEN);
		out->price = ouch_get32(m->price);
		out->tif = ouch_get32(m->tif);
		ouch_get_text(out->firm, m->firm, OUCH_FIRM_LEN);
		out->display = m->display;
		out->order_ref = ouch_get64(m->order_ref);
		out->capacity = m->capacity;
		out->min_qty = ouch_get32(m->min_qty);
		out->state = m->state;
		break;
	}
	case OUCH_REPLACED: {
		const struct ouch_replaced *m = (const void *)msg;
		out->side = m->side;
		out->shares = ouch_get32(m->shares);
		ouch_get_text(out->stock, m->stock, OUCH_STOCK_LEN);
		out->price = ouch_get32(m->price);
		out->tif = ouch_get32(m->tif);
		ouch_get_text(out->firm, m->firm, OUCH_FIRM_LEN);
		out->display = m->display;
		out->order_ref = ouch_get64(m->order_ref);
		out->capacity = m->capacity;
		out->min_qty = ouch_get32(m->min_qty);
		out->state = m->state;
		ouch_get_text(out->previous, m->previous, OUCH_TOKEN_LEN);
		break;
	}
	case OUCH_CANCELED: {
		const struct ouch_canceled *m = (const void *)msg;
		out->decrement = ouch_get32(m->decrement);
		out->reason = m->reason;
		break;
	}
	case OUCH_AIQ_CANCELED:
		/* Canceled, then quantity prevented from trading, execution price, liquidity. */
		out->decrement = ouch_get32(msg + 23);
		out->reason = msg[27];
		out->shares = ouch_get32(msg + 28);
		out->price = ouch_get32(msg + 32);
		out->liquidity = msg[36];
		break;
	case OUCH_EXECUTED: {
		const struct ouch_executed *m = (const void *)msg;
		out->shares = ouch_get32(m->shares);
		out->price = ouch_get32(m->price);
		out->liquidity = m->liquidity;
		out->match = ouch_get64(m->match);
		break;
	}
	case OUCH_BROKEN_TRADE: {
		const struct ouch_broken_trade *m = (const void *)msg;
		out->match = ouch_get64(m->match);
		out->reason = m->reason;
		break;
	}
	case OUCH_PRICE_CORRECTION:
		/* Token, match number, new price, reason. */
		out->match = ouch_get64(msg + 23);
		out->price = ouch_get32(msg + 31);
		out->reason = msg[35];
		break;
	case OUCH_REJECTED: out->reason = ((const struct ouch_rejected *)msg)->reason; break;
	case OUCH_ORDER_MODIFIED:
		/* Token, side, shares (the new total). */
		out->side = msg[23];
		out->shares = ouch_get32(msg + 24);
		break;
	default: break; /* Cancel Pending, Cancel Reject: the token is all they carry */
	}
	return 0;
}
