/*
 * OUCH 4.2 message lengths per direction and validation. The views and field accessors are in
 * ouch.h; nothing here copies a message.
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
