/*
 * Description: OUCH 4.2 messages laid out per the specification (field offsets and big-endian
 * numbers), encoded and read back through the packed views, and validation of type and length
 * per direction.
 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

#include "ouch.h"

Test(ouch, enter_order_fields_sit_at_the_spec_offsets)
{
	struct ouch_enter_order m;
	const uint8_t *b = (const uint8_t *)&m;

	m.type = OUCH_ENTER_ORDER;
	ouch_put_text(m.token, OUCH_TOKEN_LEN, "TOK00000000001");
	m.side = 'B';
	ouch_put32(m.shares, 300);
	ouch_put_text(m.stock, OUCH_STOCK_LEN, "AAPL");
	ouch_put32(m.price, 1895000); /* 189.5000 */
	ouch_put32(m.tif, OUCH_TIF_SYSTEM_HOURS);
	ouch_put_text(m.firm, OUCH_FIRM_LEN, "TSYS");
	m.display = 'A';
	m.capacity = 'P';
	m.iso = 'N';
	ouch_put32(m.min_qty, 0);
	m.cross = 'N';
	m.customer = ' ';

	cr_assert_eq(b[0], 'O');
	cr_assert_arr_eq(b + 1, "TOK00000000001", 14);
	cr_assert_eq(b[15], 'B');
	cr_assert_arr_eq(b + 16, ((uint8_t[]){ 0, 0, 1, 0x2c }), 4, "shares big-endian at 16");
	cr_assert_arr_eq(b + 20, "AAPL    ", 8);
	cr_assert_arr_eq(b + 28, ((uint8_t[]){ 0x00, 0x1c, 0xea, 0x58 }), 4, "price at 28");
	cr_assert_arr_eq(b + 32, ((uint8_t[]){ 0, 1, 0x86, 0x9f }), 4, "tif 99999 at 32");
	cr_assert_arr_eq(b + 36, "TSYS", 4);
	cr_assert_eq(b[40], 'A');
	cr_assert_eq(b[41], 'P');
	cr_assert_eq(b[42], 'N');
	cr_assert_eq(b[47], 'N');
	cr_assert_eq(b[48], ' ');
	cr_assert_eq(ouch_msg_check(b, sizeof(m), OUCH_INBOUND), 0);
	cr_assert_eq(ouch_get32(m.price), 1895000);
	char stock[9];
	ouch_get_text(stock, m.stock, OUCH_STOCK_LEN);
	cr_assert_str_eq(stock, "AAPL");
}

Test(ouch, outbound_offsets_match_the_spec)
{
	cr_assert_eq(offsetof(struct ouch_accepted, token), 9);
	cr_assert_eq(offsetof(struct ouch_accepted, price), 36);
	cr_assert_eq(offsetof(struct ouch_accepted, order_ref), 49);
	cr_assert_eq(offsetof(struct ouch_accepted, state), 64);
	cr_assert_eq(offsetof(struct ouch_replaced, previous), 65);
	cr_assert_eq(offsetof(struct ouch_executed, match), 32);
	cr_assert_eq(offsetof(struct ouch_canceled, reason), 27);
	cr_assert_eq(offsetof(struct ouch_replace_order, replacement), 15);
	cr_assert_eq(offsetof(struct ouch_replace_order, min_qty), 43);
}

Test(ouch, executed_round_trips)
{
	struct ouch_executed e;
	e.type = OUCH_EXECUTED;
	ouch_put64(e.timestamp, 34200000000123ull);
	ouch_put_text(e.token, OUCH_TOKEN_LEN, "T1");
	ouch_put32(e.shares, 100);
	ouch_put32(e.price, 1000100);
	e.liquidity = 'R';
	ouch_put64(e.match, 0x0102030405060708ull);
	const uint8_t *b = (const uint8_t *)&e;
	cr_assert_eq(ouch_msg_check(b, sizeof(e), OUCH_OUTBOUND), 0);
	cr_assert_eq(ouch_get64(e.timestamp), 34200000000123ull);
	cr_assert_eq(ouch_get64(e.match), 0x0102030405060708ull);
	cr_assert_eq(b[32], 1);
	cr_assert_eq(b[39], 8);
	cr_assert_arr_eq(e.token, "T1            ", 14);
}

Test(ouch, lengths_are_checked_per_direction)
{
	uint8_t buf[128] = { 0 };
	buf[0] = 'U';
	cr_assert_eq(ouch_msg_check(buf, 47, OUCH_INBOUND), 0, "Replace Order inbound");
	cr_assert_eq(ouch_msg_check(buf, 80, OUCH_OUTBOUND), 0, "Replaced outbound");
	cr_assert_eq(ouch_msg_check(buf, 47, OUCH_OUTBOUND), -OUCH_ERR_BAD_LENGTH);
	buf[0] = 'A';
	cr_assert_eq(ouch_msg_check(buf, 66, OUCH_INBOUND), -OUCH_ERR_UNKNOWN_TYPE);
	cr_assert_eq(ouch_msg_check(buf, 65, OUCH_OUTBOUND), -OUCH_ERR_BAD_LENGTH);
	cr_assert_eq(ouch_msg_check(buf, 0, OUCH_OUTBOUND), -OUCH_ERR_EMPTY);
	cr_assert_str_eq(ouch_error_name(-OUCH_ERR_BAD_LENGTH), "bad_length");
}

Test(ouch, every_type_has_its_spec_length)
{
	static const struct {
		uint8_t type;
		enum ouch_dir dir;
		size_t len;
	} t[] = {
		{ 'O', OUCH_INBOUND, 49 },  { 'U', OUCH_INBOUND, 47 },	{ 'X', OUCH_INBOUND, 19 },
		{ 'M', OUCH_INBOUND, 20 },  { 'S', OUCH_OUTBOUND, 10 }, { 'A', OUCH_OUTBOUND, 66 },
		{ 'U', OUCH_OUTBOUND, 80 }, { 'C', OUCH_OUTBOUND, 28 }, { 'D', OUCH_OUTBOUND, 37 },
		{ 'E', OUCH_OUTBOUND, 40 }, { 'B', OUCH_OUTBOUND, 32 }, { 'K', OUCH_OUTBOUND, 36 },
		{ 'J', OUCH_OUTBOUND, 24 }, { 'P', OUCH_OUTBOUND, 23 }, { 'I', OUCH_OUTBOUND, 23 },
		{ 'M', OUCH_OUTBOUND, 28 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_assert_eq(ouch_msg_len(t[i].type, t[i].dir), t[i].len, "type %c", t[i].type);
}

Test(ouch, long_text_is_cut_to_the_field)
{
	char f[4];
	ouch_put_text(f, 4, "TOOLONG");
	cr_assert_arr_eq(f, "TOOL", 4);
}
