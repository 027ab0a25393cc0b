/*
 * Description: OUCH 4.2 messages laid out per the specification (field offsets and big-endian
 * numbers), encoded and read back through the packed views, and validation of type and length
 * per direction. The codec: encoders checked byte by byte against the specification's offsets,
 * round trips through the views, and the decoder on every outbound type laid out by hand, on
 * garbled and on truncated input.
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

/* ---- codec ---- */

Test(ouch_codec, enter_encodes_at_the_spec_offsets)
{
	uint8_t b[64];
	const struct ouch_enter e = { .token = "TOK00000000001",
				      .stock = "AAPL",
				      .firm = "TSYS",
				      .shares = 300,
				      .price = 1895000,
				      .tif = OUCH_TIF_SYSTEM_HOURS,
				      .min_qty = 7,
				      .side = 'S',
				      .display = 'A',
				      .capacity = 'P' };

	memset(b, 0xee, sizeof(b));
	cr_assert_eq(ouch_encode_enter(b, sizeof(b), &e), 49);
	cr_assert_eq(b[0], 'O');
	cr_assert_arr_eq(b + 1, "TOK00000000001", 14);
	cr_assert_eq(b[15], 'S');
	cr_assert_arr_eq(b + 16, ((uint8_t[]){ 0, 0, 1, 0x2c }), 4);
	cr_assert_arr_eq(b + 20, "AAPL    ", 8);
	cr_assert_arr_eq(b + 28, ((uint8_t[]){ 0x00, 0x1c, 0xea, 0x58 }), 4);
	cr_assert_arr_eq(b + 32, ((uint8_t[]){ 0, 1, 0x86, 0x9f }), 4);
	cr_assert_arr_eq(b + 36, "TSYS", 4);
	cr_assert_eq(b[40], 'A');
	cr_assert_eq(b[41], 'P');
	cr_assert_eq(b[42], 'N', "iso defaults to N");
	cr_assert_arr_eq(b + 43, ((uint8_t[]){ 0, 0, 0, 7 }), 4);
	cr_assert_eq(b[47], 'N');
	cr_assert_eq(b[48], 'N');
	cr_assert_eq(b[49], 0xee, "nothing written past the message");
	cr_assert_eq(ouch_msg_check(b, 49, OUCH_INBOUND), 0);
}

Test(ouch_codec, enter_defaults_and_refusals)
{
	uint8_t b[64];
	struct ouch_enter e = { .token = "T", .stock = "MSFT", .shares = 1, .side = 'B' };

	cr_assert_eq(ouch_encode_enter(b, sizeof(b), &e), 49);
	cr_assert_arr_eq(b + 1, "T             ", 14);
	cr_assert_arr_eq(b + 36, "    ", 4, "no firm: spaces");
	cr_assert_eq(b[40], 'Y');
	cr_assert_eq(b[41], 'A');
	cr_assert_eq(ouch_encode_enter(b, 48, &e), 0, "too small a buffer");
	e.token = "TOKEN_IS_15_CHR";
	cr_assert_eq(ouch_encode_enter(b, sizeof(b), &e), 0, "token longer than 14");
	e.token = "";
	cr_assert_eq(ouch_encode_enter(b, sizeof(b), &e), 0, "empty token");
	e.token = NULL;
	cr_assert_eq(ouch_encode_enter(b, sizeof(b), &e), 0, "no token");
	e.token = "T";
	e.stock = "TOOLONGSTK";
	cr_assert_eq(ouch_encode_enter(b, sizeof(b), &e), 0, "stock longer than 8");
	e.stock = "AAPL";
	e.firm = "FIRMX";
	cr_assert_eq(ouch_encode_enter(b, sizeof(b), &e), 0, "firm longer than 4");
	e.firm = NULL;
	e.side = 0;
	cr_assert_eq(ouch_encode_enter(b, sizeof(b), &e), 0, "no side");
}

Test(ouch_codec, replace_and_cancel_encode_at_the_spec_offsets)
{
	uint8_t b[64];
	const struct ouch_replace r = { .existing = "OLD1",
					.replacement = "NEW22",
					.shares = 0x01020304,
					.price = 2995000,
					.tif = OUCH_TIF_IOC,
					.min_qty = 100 };

	cr_assert_eq(ouch_encode_replace(b, sizeof(b), &r), 47);
	cr_assert_eq(b[0], 'U');
	cr_assert_arr_eq(b + 1, "OLD1          ", 14);
	cr_assert_arr_eq(b + 15, "NEW22         ", 14);
	cr_assert_arr_eq(b + 29, ((uint8_t[]){ 1, 2, 3, 4 }), 4);
	cr_assert_eq(ouch_get32(b + 33), 2995000);
	cr_assert_eq(ouch_get32(b + 37), 0);
	cr_assert_eq(b[41], 'Y');
	cr_assert_eq(b[42], 'N');
	cr_assert_eq(ouch_get32(b + 43), 100);
	cr_assert_eq(ouch_msg_check(b, 47, OUCH_INBOUND), 0);
	cr_assert_eq(ouch_encode_replace(b, 46, &r), 0);
	struct ouch_replace bad = r;
	bad.replacement = NULL;
	cr_assert_eq(ouch_encode_replace(b, sizeof(b), &bad), 0);

	const struct ouch_cancel c = { .token = "ABCDEFGHIJKLMN", .shares = 250 };
	cr_assert_eq(ouch_encode_cancel(b, sizeof(b), &c), 19);
	cr_assert_eq(b[0], 'X');
	cr_assert_arr_eq(b + 1, "ABCDEFGHIJKLMN", 14, "a full-width token has no padding");
	cr_assert_arr_eq(b + 15, ((uint8_t[]){ 0, 0, 0, 250 }), 4);
	cr_assert_eq(ouch_encode_cancel(b, 18, &c), 0);
}

Test(ouch_codec, encoded_messages_read_back_through_the_views)
{
	uint8_t b[64];
	const struct ouch_enter e = { .token = "RT1",
				      .stock = "GOOGL",
				      .firm = "AB",
				      .shares = 4294967295u,
				      .price = 123456789,
				      .tif = OUCH_TIF_MARKET_HOURS,
				      .min_qty = 0,
				      .side = 'T',
				      .cross = 'O',
				      .customer = 'Y',
				      .iso = 'Y' };
	char t[16];

	ouch_encode_enter(b, sizeof(b), &e);
	const struct ouch_enter_order *o = (const void *)b;
	ouch_get_text(t, o->token, OUCH_TOKEN_LEN);
	cr_assert_str_eq(t, "RT1");
	ouch_get_text(t, o->stock, OUCH_STOCK_LEN);
	cr_assert_str_eq(t, "GOOGL");
	ouch_get_text(t, o->firm, OUCH_FIRM_LEN);
	cr_assert_str_eq(t, "AB");
	cr_assert_eq(ouch_get32(o->shares), 4294967295u);
	cr_assert_eq(ouch_get32(o->price), 123456789);
	cr_assert_eq(ouch_get32(o->tif), OUCH_TIF_MARKET_HOURS);
	cr_assert_eq(o->side, 'T');
	cr_assert_eq(o->iso, 'Y');
	cr_assert_eq(o->cross, 'O');
	cr_assert_eq(o->customer, 'Y');

	const struct ouch_cancel c = { .token = "RT1", .shares = 0 };
	ouch_encode_cancel(b, sizeof(b), &c);
	const struct ouch_cancel_order *x = (const void *)b;
	ouch_get_text(t, x->token, OUCH_TOKEN_LEN);
	cr_assert_str_eq(t, "RT1");
	cr_assert_eq(ouch_get32(x->shares), 0);
}

/* Builders of outbound messages, byte by byte at the spec's offsets (not through the views). */
static void hdr(uint8_t *b, uint8_t type, uint64_t ts, const char *token)
{
	memset(b, ' ', 128);
	b[0] = type;
	ouch_put64(b + 1, ts);
	if (token)
		memcpy(b + 9, token, strlen(token));
}

Test(ouch_codec, decodes_accepted)
{
	uint8_t b[128];
	struct ouch_event ev;

	hdr(b, 'A', 34200000000001ull, "ACC1");
	b[23] = 'B';
	ouch_put32(b + 24, 500);
	memcpy(b + 28, "MSFT", 4);
	ouch_put32(b + 36, 4100000);
	ouch_put32(b + 40, 99998);
	memcpy(b + 44, "FRMA", 4);
	b[48] = 'Y';
	ouch_put64(b + 49, 0x1122334455667788ull);
	b[57] = 'A';
	b[58] = 'N';
	ouch_put32(b + 59, 100);
	b[63] = 'N';
	b[64] = 'L';
	b[65] = ' ';
	cr_assert_eq(ouch_decode(b, 66, &ev), 0);
	cr_assert_eq(ev.type, 'A');
	cr_assert_eq(ev.timestamp, 34200000000001ull);
	cr_assert_str_eq(ev.token, "ACC1");
	cr_assert_eq(ev.side, 'B');
	cr_assert_eq(ev.shares, 500);
	cr_assert_str_eq(ev.stock, "MSFT");
	cr_assert_eq(ev.price, 4100000);
	cr_assert_eq(ev.tif, 99998);
	cr_assert_str_eq(ev.firm, "FRMA");
	cr_assert_eq(ev.display, 'Y');
	cr_assert_eq(ev.order_ref, 0x1122334455667788ull);
	cr_assert_eq(ev.capacity, 'A');
	cr_assert_eq(ev.min_qty, 100);
	cr_assert_eq(ev.state, 'L');
	cr_assert_str_eq(ev.previous, "");
	cr_assert_eq(ev.match, 0);
}

Test(ouch_codec, decodes_replaced)
{
	uint8_t b[128];
	struct ouch_event ev;

	hdr(b, 'U', 5, "NEWTOKEN000002");
	b[23] = 'S';
	ouch_put32(b + 24, 400);
	memcpy(b + 28, "AAPL", 4);
	ouch_put32(b + 36, 2995000);
	ouch_put32(b + 40, 0);
	ouch_put64(b + 49, 77);
	b[64] = 'D';
	memcpy(b + 65, "OLDTOKEN000001", 14);
	cr_assert_eq(ouch_decode(b, 80, &ev), 0);
	cr_assert_eq(ev.type, 'U');
	cr_assert_str_eq(ev.token, "NEWTOKEN000002");
	cr_assert_str_eq(ev.previous, "OLDTOKEN000001");
	cr_assert_eq(ev.side, 'S');
	cr_assert_eq(ev.shares, 400);
	cr_assert_eq(ev.price, 2995000);
	cr_assert_eq(ev.order_ref, 77);
	cr_assert_eq(ev.state, 'D');
}

Test(ouch_codec, decodes_executions_cancels_and_rejects)
{
	uint8_t b[128];
	struct ouch_event ev;

	hdr(b, 'E', 9, "EX");
	ouch_put32(b + 23, 100);
	ouch_put32(b + 27, 1500000);
	b[31] = 'R';
	ouch_put64(b + 32, 0xdeadbeefcafeull);
	cr_assert_eq(ouch_decode(b, 40, &ev), 0);
	cr_assert_str_eq(ev.token, "EX");
	cr_assert_eq(ev.shares, 100);
	cr_assert_eq(ev.price, 1500000);
	cr_assert_eq(ev.liquidity, 'R');
	cr_assert_eq(ev.match, 0xdeadbeefcafeull);

	hdr(b, 'C', 10, "CX");
	ouch_put32(b + 23, 300);
	b[27] = 'I';
	cr_assert_eq(ouch_decode(b, 28, &ev), 0);
	cr_assert_str_eq(ev.token, "CX");
	cr_assert_eq(ev.decrement, 300);
	cr_assert_eq(ev.reason, 'I');
	cr_assert_eq(ev.timestamp, 10);

	hdr(b, 'D', 11, "AIQ");
	ouch_put32(b + 23, 50);
	b[27] = 'Q';
	ouch_put32(b + 28, 25);
	ouch_put32(b + 32, 1499900);
	b[36] = 'A';
	cr_assert_eq(ouch_decode(b, 37, &ev), 0);
	cr_assert_eq(ev.type, 'D');
	cr_assert_eq(ev.decrement, 50);
	cr_assert_eq(ev.reason, 'Q');
	cr_assert_eq(ev.shares, 25);
	cr_assert_eq(ev.price, 1499900);
	cr_assert_eq(ev.liquidity, 'A');

	hdr(b, 'B', 12, "BRK");
	ouch_put64(b + 23, 42);
	b[31] = 'E';
	cr_assert_eq(ouch_decode(b, 32, &ev), 0);
	cr_assert_eq(ev.match, 42);
	cr_assert_eq(ev.reason, 'E');

	hdr(b, 'K', 13, "PC");
	ouch_put64(b + 23, 43);
	ouch_put32(b + 31, 1234500);
	b[35] = 'X';
	cr_assert_eq(ouch_decode(b, 36, &ev), 0);
	cr_assert_eq(ev.match, 43);
	cr_assert_eq(ev.price, 1234500);
	cr_assert_eq(ev.reason, 'X');

	hdr(b, 'J', 14, "REJ");
	b[23] = 'H';
	cr_assert_eq(ouch_decode(b, 24, &ev), 0);
	cr_assert_str_eq(ev.token, "REJ");
	cr_assert_eq(ev.reason, 'H');

	hdr(b, 'P', 15, "PEND");
	cr_assert_eq(ouch_decode(b, 23, &ev), 0);
	cr_assert_eq(ev.type, 'P');
	cr_assert_str_eq(ev.token, "PEND");
	hdr(b, 'I', 16, "CREJ");
	cr_assert_eq(ouch_decode(b, 23, &ev), 0);
	cr_assert_eq(ev.type, 'I');
	cr_assert_str_eq(ev.token, "CREJ");

	hdr(b, 'M', 17, "MOD");
	b[23] = 'B';
	ouch_put32(b + 24, 60);
	cr_assert_eq(ouch_decode(b, 28, &ev), 0);
	cr_assert_eq(ev.side, 'B');
	cr_assert_eq(ev.shares, 60);

	hdr(b, 'S', 34200000000000ull, NULL);
	b[9] = 'E';
	cr_assert_eq(ouch_decode(b, 10, &ev), 0);
	cr_assert_eq(ev.type, 'S');
	cr_assert_eq(ev.event, 'E');
	cr_assert_eq(ev.timestamp, 34200000000000ull);
	cr_assert_str_eq(ev.token, "");
}

Test(ouch_codec, garbled_and_truncated_input_is_refused)
{
	uint8_t b[128];
	struct ouch_event ev;

	hdr(b, 'A', 1, "X");
	for (size_t len = 0; len < 66; len++) {
		memset(&ev, 0x5a, sizeof(ev));
		int rc = ouch_decode(b, len, &ev);
		cr_assert_eq(rc, len ? -OUCH_ERR_BAD_LENGTH : -OUCH_ERR_EMPTY, "len %zu", len);
		cr_assert_eq(ev.type, 0, "cleared on error");
		cr_assert_str_eq(ev.token, "");
	}
	cr_assert_eq(ouch_decode(b, 67, &ev), -OUCH_ERR_BAD_LENGTH, "too long");
	b[0] = 'O'; /* inbound only */
	cr_assert_eq(ouch_decode(b, 49, &ev), -OUCH_ERR_UNKNOWN_TYPE);
	b[0] = 0;
	cr_assert_eq(ouch_decode(b, 1, &ev), -OUCH_ERR_UNKNOWN_TYPE);
	b[0] = 0xff;
	cr_assert_eq(ouch_decode(b, 66, &ev), -OUCH_ERR_UNKNOWN_TYPE);
	/* A token of NULs and high bytes still comes back terminated within its width. */
	hdr(b, 'J', 1, NULL);
	memset(b + 9, 0xff, 14);
	b[12] = 0;
	cr_assert_eq(ouch_decode(b, 24, &ev), 0);
	cr_assert_eq(ev.token[14], '\0');
}

Test(ouch_codec, decoder_agrees_with_the_views)
{
	struct ouch_executed x;
	struct ouch_event ev;

	x.type = OUCH_EXECUTED;
	ouch_put64(x.timestamp, 1);
	ouch_put_text(x.token, OUCH_TOKEN_LEN, "VIEW");
	ouch_put32(x.shares, 9);
	ouch_put32(x.price, 8);
	x.liquidity = 'A';
	ouch_put64(x.match, 7);
	cr_assert_eq(ouch_decode((const uint8_t *)&x, sizeof(x), &ev), 0);
	cr_assert_str_eq(ev.token, "VIEW");
	cr_assert_eq(ev.shares, ouch_get32(x.shares));
	cr_assert_eq(ev.price, ouch_get32(x.price));
	cr_assert_eq(ev.match, ouch_get64(x.match));
}
