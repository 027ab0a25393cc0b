/*
 * ITCH 5.0 tables (lengths, names) and the file walker used by tools and tests. The per-message
 * work is inline in itch.h so a feed handler's switch compiles to loads from the packet.
 */
#include "itch.h"

#include <string.h>

const uint16_t itch_msg_len[256] = {
	[ITCH_SYSTEM_EVENT] = sizeof(struct itch_system_event),
	[ITCH_STOCK_DIRECTORY] = sizeof(struct itch_stock_directory),
	[ITCH_TRADING_ACTION] = sizeof(struct itch_trading_action),
	[ITCH_REG_SHO] = sizeof(struct itch_reg_sho),
	[ITCH_PARTICIPANT_POSITION] = sizeof(struct itch_participant_position),
	[ITCH_MWCB_DECLINE] = sizeof(struct itch_mwcb_decline),
	[ITCH_MWCB_STATUS] = sizeof(struct itch_mwcb_status),
	[ITCH_IPO_QUOTING] = sizeof(struct itch_ipo_quoting),
	[ITCH_LULD_COLLAR] = sizeof(struct itch_luld_collar),
	[ITCH_OPERATIONAL_HALT] = sizeof(struct itch_operational_halt),
	[ITCH_ADD_ORDER] = sizeof(struct itch_add_order),
	[ITCH_ADD_ORDER_MPID] = sizeof(struct itch_add_order_mpid),
	[ITCH_ORDER_EXECUTED] = sizeof(struct itch_order_executed),
	[ITCH_ORDER_EXECUTED_PRICE] = sizeof(struct itch_order_executed_price),
	[ITCH_ORDER_CANCEL] = sizeof(struct itch_order_cancel),
	[ITCH_ORDER_DELETE] = sizeof(struct itch_order_delete),
	[ITCH_ORDER_REPLACE] = sizeof(struct itch_order_replace),
	[ITCH_TRADE] = sizeof(struct itch_trade),
	[ITCH_CROSS_TRADE] = sizeof(struct itch_cross_trade),
	[ITCH_BROKEN_TRADE] = sizeof(struct itch_broken_trade),
	[ITCH_NOII] = sizeof(struct itch_noii),
	[ITCH_RPII] = sizeof(struct itch_rpii),
	[ITCH_DLCR] = sizeof(struct itch_dlcr),
};

static const char *const type_names[256] = {
	[ITCH_SYSTEM_EVENT] = "system_event",
	[ITCH_STOCK_DIRECTORY] = "stock_directory",
	[ITCH_TRADING_ACTION] = "trading_action",
	[ITCH_REG_SHO] = "reg_sho",
	[ITCH_PARTICIPANT_POSITION] = "participant_position",
	[ITCH_MWCB_DECLINE] = "mwcb_decline",
	[ITCH_MWCB_STATUS] = "mwcb_status",
	[ITCH_IPO_QUOTING] = "ipo_quoting",
	[ITCH_LULD_COLLAR] = "luld_collar",
	[ITCH_OPERATIONAL_HALT] = "operational_halt",
	[ITCH_ADD_ORDER] = "add_order",
	[ITCH_ADD_ORDER_MPID] = "add_order_mpid",
	[ITCH_ORDER_EXECUTED] = "order_executed",
	[ITCH_ORDER_EXECUTED_PRICE] = "order_executed_price",
	[ITCH_ORDER_CANCEL] = "order_cancel",
	[ITCH_ORDER_DELETE] = "order_delete",
	[ITCH_ORDER_REPLACE] = "order_replace",
	[ITCH_TRADE] = "trade",
	[ITCH_CROSS_TRADE] = "cross_trade",
	[ITCH_BROKEN_TRADE] = "broken_trade",
	[ITCH_NOII] = "noii",
	[ITCH_RPII] = "rpii",
	[ITCH_DLCR] = "dlcr",
};

static const char *const error_names[ITCH_ERR_COUNT] = {
	[ITCH_ERR_EMPTY] = "empty",
	[ITCH_ERR_UNKNOWN_TYPE] = "unknown_type",
	[ITCH_ERR_BAD_LENGTH] = "bad_length",
	[ITCH_ERR_TRUNCATED] = "truncated",
};

const char *itch_type_name(uint8_t type)
{
	return type_names[type] ? type_names[type] : "unknown";
}

const char *itch_error_name(int err)
{
	if (err < 0)
		err = -err;
	return err > 0 && err < ITCH_ERR_COUNT ? error_names[err] : "unknown";
}

void itch_symbol(const char stock[ITCH_STOCK_LEN], char out[ITCH_STOCK_LEN + 1])
{
	size_t n = ITCH_STOCK_LEN;
	while (n > 0 && stock[n - 1] == ' ')
		n--;
	memcpy(out, stock, n);
	out[n] = '\0';
}

uint64_t itch_decode_file(const uint8_t *buf, size_t size, itch_msg_fn fn, void *ctx,
			  struct itch_stats *st)
{
	size_t off = 0;
	const uint8_t *m;
	uint16_t len;
	uint64_t good = 0;
	int r;

	while ((r = itch_file_next(buf, size, &off, &m, &len)) > 0) {
		int err = itch_msg_check(m, len);
		if (err) {
			st->errors[-err]++;
			continue;
		}
		st->msgs[m[0]]++;
		good++;
		if (fn)
			fn(ctx, m, len);
	}
	if (r < 0)
		st->errors[-r]++;
	return good;
}
