/*
 * Description: every ITCH 5.0 message type built byte by byte at the spec's offsets and read back
 * through the views; length and type validation; file framing with truncated tails; the real
 * Nasdaq sample file; garbage input at the end of a guard page.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "itch.h"

static uint8_t m[64];

/* The test's own big-endian writer, independent of the decoder's readers. */
static void put(size_t off, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		m[off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void text(size_t off, const char *s, size_t n)
{
	memset(m + off, ' ', n);
	memcpy(m + off, s, strlen(s));
}

/* Header: type, locate 0x1234, tracking 7, timestamp 34200.000000123 s after midnight. */
static void begin(uint8_t type)
{
	memset(m, 0xee, sizeof(m));
	m[0] = type;
	put(1, 0x1234, 2);
	put(3, 7, 2);
	put(5, 34200000000123ull, 6);
}

static void check_header(uint8_t type)
{
	cr_assert_eq(itch_msg_check(m, itch_msg_len[type]), 0);
	cr_assert_eq(itch_locate(m), 0x1234);
	cr_assert_eq(itch_be16(((const struct itch_header *)m)->tracking), 7);
	cr_assert_eq(itch_timestamp(m), 34200000000123ull);
}

static void sym_is(const char *field, const char *want)
{
	char got[9];
	itch_symbol(field, got);
	cr_assert_str_eq(got, want);
}

Test(itch, system_event)
{
	begin('S');
	m[11] = 'O';
	check_header('S');
	cr_assert_eq(((const struct itch_system_event *)m)->event, 'O');
}

Test(itch, stock_directory)
{
	begin('R');
	text(11, "AAPL", 8);
	m[19] = 'Q';
	m[20] = 'N';
	put(21, 100, 4);
	m[25] = 'N';
	m[26] = 'C';
	text(27, "Z", 2);
	m[29] = 'P';
	m[30] = 'N';
	m[31] = ' ';
	m[32] = '1';
	m[33] = 'N';
	put(34, 3, 4);
	m[38] = 'Y';
	check_header('R');
	const struct itch_stock_directory *r = (const void *)m;
	sym_is(r->stock, "AAPL");
	cr_assert_eq(r->market_category, 'Q');
	cr_assert_eq(r->financial_status, 'N');
	cr_assert_eq(itch_be32(r->round_lot), 100);
	cr_assert_eq(r->round_lots_only, 'N');
	cr_assert_eq(r->issue_classification, 'C');
	cr_assert_eq(r->issue_subtype[0], 'Z');
	cr_assert_eq(r->authenticity, 'P');
	cr_assert_eq(r->short_sale_threshold, 'N');
	cr_assert_eq(r->ipo_flag, ' ');
	cr_assert_eq(r->luld_tier, '1');
	cr_assert_eq(r->etp_flag, 'N');
	cr_assert_eq(itch_be32(r->etp_leverage), 3);
	cr_assert_eq(r->inverse, 'Y');
}

Test(itch, trading_action_reg_sho_and_operational_halt)
{
	begin('H');
	text(11, "MSFT", 8);
	m[19] = 'T';
	m[20] = ' ';
	text(21, "IPO1", 4);
	check_header('H');
	const struct itch_trading_action *h = (const void *)m;
	sym_is(h->stock, "MSFT");
	cr_assert_eq(h->state, 'T');
	cr_assert_arr_eq(h->reason, "IPO1", 4);

	begin('Y');
	text(11, "MSFT", 8);
	m[19] = '2';
	check_header('Y');
	cr_assert_eq(((const struct itch_reg_sho *)m)->action, '2');

	begin('h');
	text(11, "QQQ", 8);
	m[19] = 'Q';
	m[20] = 'H';
	check_header('h');
	cr_assert_eq(((const struct itch_operational_halt *)m)->market_code, 'Q');
	cr_assert_eq(((const struct itch_operational_halt *)m)->action, 'H');
}

Test(itch, participant_position)
{
	begin('L');
	text(11, "NITE", 4);
	text(15, "AMZN", 8);
	m[23] = 'Y';
	m[24] = 'N';
	m[25] = 'A';
	check_header('L');
	const struct itch_participant_position *l = (const void *)m;
	cr_assert_arr_eq(l->mpid, "NITE", 4);
	sym_is(l->stock, "AMZN");
	cr_assert_eq(l->primary, 'Y');
	cr_assert_eq(l->mode, 'N');
	cr_assert_eq(l->state, 'A');
}

Test(itch, mwcb_decline_levels_are_eight_byte_prices)
{
	begin('V');
	put(11, 350000000000ull, 8); /* 3500.00000000 */
	put(19, 320000000000ull, 8);
	put(27, 290000000000ull, 8);
	check_header('V');
	const struct itch_mwcb_decline *v = (const void *)m;
	cr_assert_eq(itch_be64(v->level1), 350000000000ull);
	cr_assert_eq(itch_be64(v->level2), 320000000000ull);
	cr_assert_eq(itch_be64(v->level3), 290000000000ull);
	cr_assert_eq(itch_be64(v->level1) / ITCH_MWCB_PRICE_SCALE, 3500);

	begin('W');
	m[11] = '2';
	check_header('W');
	cr_assert_eq(((const struct itch_mwcb_status *)m)->level, '2');
}

Test(itch, ipo_quoting_and_luld_collar)
{
	begin('K');
	text(11, "NEWCO", 8);
	put(19, 36000, 4);
	m[23] = 'A';
	put(24, 215000, 4);
	check_header('K');
	const struct itch_ipo_quoting *k = (const void *)m;
	cr_assert_eq(itch_be32(k->release_time), 36000);
	cr_assert_eq(k->qualifier, 'A');
	cr_assert_eq(itch_be32(k->price), 215000);

	begin('J');
	text(11, "NEWCO", 8);
	put(19, 215000, 4);
	put(23, 236500, 4);
	put(27, 193500, 4);
	put(31, 2, 4);
	check_header('J');
	const struct itch_luld_collar *j = (const void *)m;
	cr_assert_eq(itch_be32(j->ref_price), 215000);
	cr_assert_eq(itch_be32(j->upper), 236500);
	cr_assert_eq(itch_be32(j->lower), 193500);
	cr_assert_eq(itch_be32(j->extension), 2);
}

Test(itch, add_order_and_add_order_mpid)
{
	begin('A');
	put(11, 0x0102030405060708ull, 8);
	m[19] = 'B';
	put(20, 500, 4);
	text(24, "AAPL", 8);
	put(32, 1895000, 4);
	check_header('A');
	const struct itch_add_order *a = (const void *)m;
	cr_assert_eq(itch_be64(a->ref), 0x0102030405060708ull);
	cr_assert_eq(a->side, 'B');
	cr_assert_eq(itch_be32(a->shares), 500);
	sym_is(a->stock, "AAPL");
	cr_assert_eq(itch_be32(a->price), 1895000);

	begin('F');
	put(11, 99, 8);
	m[19] = 'S';
	put(20, 200, 4);
	text(24, "AAPL", 8);
	put(32, 1895100, 4);
	text(36, "GSCO", 4);
	check_header('F');
	const struct itch_add_order_mpid *f = (const void *)m;
	cr_assert_eq(itch_be64(f->ref), 99);
	cr_assert_eq(f->side, 'S');
	cr_assert_eq(itch_be32(f->price), 1895100);
	cr_assert_arr_eq(f->attribution, "GSCO", 4);
}

Test(itch, executions_cancel_delete_replace)
{
	begin('E');
	put(11, 42, 8);
	put(19, 100, 4);
	put(23, 777, 8);
	check_header('E');
	const struct itch_order_executed *e = (const void *)m;
	cr_assert_eq(itch_be64(e->ref), 42);
	cr_assert_eq(itch_be32(e->shares), 100);
	cr_assert_eq(itch_be64(e->match), 777);

	begin('C');
	put(11, 42, 8);
	put(19, 50, 4);
	put(23, 778, 8);
	m[31] = 'Y';
	put(32, 1895200, 4);
	check_header('C');
	const struct itch_order_executed_price *c = (const void *)m;
	cr_assert_eq(itch_be32(c->shares), 50);
	cr_assert_eq(itch_be64(c->match), 778);
	cr_assert_eq(c->printable, 'Y');
	cr_assert_eq(itch_be32(c->price), 1895200);

	begin('X');
	put(11, 42, 8);
	put(19, 25, 4);
	check_header('X');
	cr_assert_eq(itch_be32(((const struct itch_order_cancel *)m)->shares), 25);

	begin('D');
	put(11, 42, 8);
	check_header('D');
	cr_assert_eq(itch_be64(((const struct itch_order_delete *)m)->ref), 42);

	begin('U');
	put(11, 42, 8);
	put(19, 43, 8);
	put(27, 300, 4);
	put(31, 1895300, 4);
	check_header('U');
	const struct itch_order_replace *u = (const void *)m;
	cr_assert_eq(itch_be64(u->orig_ref), 42);
	cr_assert_eq(itch_be64(u->new_ref), 43);
	cr_assert_eq(itch_be32(u->shares), 300);
	cr_assert_eq(itch_be32(u->price), 1895300);
}

Test(itch, trades_cross_and_broken)
{
	begin('P');
	put(11, 0, 8);
	m[19] = 'B';
	put(20, 100, 4);
	text(24, "TSLA", 8);
	put(32, 2500000, 4);
	put(36, 900, 8);
	check_header('P');
	const struct itch_trade *p = (const void *)m;
	cr_assert_eq(p->side, 'B');
	cr_assert_eq(itch_be32(p->shares), 100);
	sym_is(p->stock, "TSLA");
	cr_assert_eq(itch_be32(p->price), 2500000);
	cr_assert_eq(itch_be64(p->match), 900);

	begin('Q');
	put(11, 1000000, 8);
	text(19, "TSLA", 8);
	put(27, 2501000, 4);
	put(31, 901, 8);
	m[39] = 'O';
	check_header('Q');
	const struct itch_cross_trade *q = (const void *)m;
	cr_assert_eq(itch_be64(q->shares), 1000000);
	cr_assert_eq(itch_be32(q->price), 2501000);
	cr_assert_eq(itch_be64(q->match), 901);
	cr_assert_eq(q->cross_type, 'O');

	begin('B');
	put(11, 901, 8);
	check_header('B');
	cr_assert_eq(itch_be64(((const struct itch_broken_trade *)m)->match), 901);
}

Test(itch, noii_rpii_dlcr)
{
	begin('I');
	put(11, 5000, 8);
	put(19, 1200, 8);
	m[27] = 'B';
	text(28, "SPY", 8);
	put(36, 4500000, 4);
	put(40, 4501000, 4);
	put(44, 4500500, 4);
	m[48] = 'C';
	m[49] = 'L';
	check_header('I');
	const struct itch_noii *i = (const void *)m;
	cr_assert_eq(itch_be64(i->paired), 5000);
	cr_assert_eq(itch_be64(i->imbalance), 1200);
	cr_assert_eq(i->direction, 'B');
	sym_is(i->stock, "SPY");
	cr_assert_eq(itch_be32(i->far_price), 4500000);
	cr_assert_eq(itch_be32(i->near_price), 4501000);
	cr_assert_eq(itch_be32(i->ref_price), 4500500);
	cr_assert_eq(i->cross_type, 'C');
	cr_assert_eq(i->variation, 'L');

	begin('N');
	text(11, "SPY", 8);
	m[19] = 'A';
	check_header('N');
	cr_assert_eq(((const struct itch_rpii *)m)->flag, 'A');

	begin('O');
	text(11, "DLCR1", 8);
	m[19] = 'Y';
	put(20, 80000, 4);
	put(24, 180000, 4);
	put(28, 100000, 4);
	put(32, 1234567890123ull, 8);
	put(40, 90000, 4);
	put(44, 110000, 4);
	check_header('O');
	const struct itch_dlcr *o = (const void *)m;
	cr_assert_eq(o->eligibility, 'Y');
	cr_assert_eq(itch_be32(o->min_price), 80000);
	cr_assert_eq(itch_be32(o->max_price), 180000);
	cr_assert_eq(itch_be32(o->near_price), 100000);
	cr_assert_eq(itch_be64(o->near_time), 1234567890123ull);
	cr_assert_eq(itch_be32(o->lower_collar), 90000);
	cr_assert_eq(itch_be32(o->upper_collar), 110000);
}

Test(itch, wrong_length_unknown_type_and_empty_are_rejected)
{
	begin('A');
	cr_assert_eq(itch_msg_check(m, 35), -ITCH_ERR_BAD_LENGTH);
	cr_assert_eq(itch_msg_check(m, 37), -ITCH_ERR_BAD_LENGTH);
	m[0] = 'Z';
	cr_assert_eq(itch_msg_check(m, 36), -ITCH_ERR_UNKNOWN_TYPE);
	cr_assert_eq(itch_msg_check(m, 0), -ITCH_ERR_EMPTY);
	int known = 0;
	for (int t = 0; t < 256; t++)
		known += itch_msg_len[t] != 0;
	cr_assert_eq(known, 23, "every 5.0 type and no other");
}

/* A file-framed buffer with a good message, a bad-length one, an unknown type, then a tail. */
Test(itch, file_walk_counts_and_skips_bad_messages_and_a_truncated_tail)
{
	uint8_t buf[128];
	size_t n = 0;
	struct itch_stats st = { 0 };

	begin('D');
	put(11, 5, 8);
	buf[n++] = 0;
	buf[n++] = 19;
	memcpy(buf + n, m, 19);
	n += 19;
	buf[n++] = 0;
	buf[n++] = 18; /* a D one byte short */
	memcpy(buf + n, m, 18);
	n += 18;
	buf[n++] = 0;
	buf[n++] = 3;
	memcpy(buf + n, "Z12", 3);
	n += 3;
	buf[n++] = 0;
	buf[n++] = 19; /* claims 19, has 4 */
	memcpy(buf + n, m, 4);
	n += 4;

	uint8_t *exact = malloc(n);
	memcpy(exact, buf, n);
	cr_assert_eq(itch_decode_file(exact, n, NULL, NULL, &st), 1);
	cr_assert_eq(st.msgs['D'], 1);
	cr_assert_eq(st.errors[ITCH_ERR_BAD_LENGTH], 1);
	cr_assert_eq(st.errors[ITCH_ERR_UNKNOWN_TYPE], 1);
	cr_assert_eq(st.errors[ITCH_ERR_TRUNCATED], 1);
	/* Every cut of the buffer is walked without reading past it (ASan checks). */
	for (size_t cut = 0; cut <= n; cut++) {
		struct itch_stats s2 = { 0 };
		uint8_t *c = malloc(cut ? cut : 1);
		memcpy(c, buf, cut);
		itch_decode_file(c, cut, NULL, NULL, &s2);
		free(c);
	}
	free(exact);
}

Test(itch, one_byte_tail_is_truncated)
{
	uint8_t b[1] = { 0 };
	size_t off = 0;
	const uint8_t *msg;
	uint16_t len;
	cr_assert_eq(itch_file_next(b, 1, &off, &msg, &len), -ITCH_ERR_TRUNCATED);
	cr_assert_eq(off, 0);
	cr_assert_eq(itch_file_next(b, 0, &off, &msg, &len), 0);
}

struct sample {
	char first_symbols[3][9];
	int nsym;
};

static void collect(void *ctx, const uint8_t *msg, uint16_t len)
{
	struct sample *s = ctx;
	if (msg[0] == 'R' && s->nsym < 3)
		itch_symbol(((const struct itch_stock_directory *)msg)->stock,
			    s->first_symbols[s->nsym++]);
}

Test(itch, nasdaq_sample_file_has_the_documented_counts)
{
	const char *root = getenv("TRADSYS_SOURCE_ROOT");
	char path[512];
	snprintf(path, sizeof(path), "%s/../shared/data/itch/nasdaq-sample-1000.itch",
		 root ? root : ".");
	FILE *f = fopen(path, "rb");
	if (!f)
		cr_skip_test("sample file not found at %s", path);
	static uint8_t buf[65536];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	cr_assert_eq(n, 40874);

	struct itch_stats st = { 0 };
	struct sample s = { 0 };
	cr_assert_eq(itch_decode_file(buf, n, collect, &s, &st), 1000);
	cr_assert_eq(st.msgs['S'], 1);
	cr_assert_eq(st.msgs['R'], 993);
	cr_assert_eq(st.msgs['H'], 3);
	cr_assert_eq(st.msgs['Y'], 3);
	for (int e = 0; e < ITCH_ERR_COUNT; e++)
		cr_assert_eq(st.errors[e], 0);
	cr_assert_str_eq(s.first_symbols[0], "A");
	cr_assert_str_eq(s.first_symbols[1], "AA");
	cr_assert_str_eq(s.first_symbols[2], "AAAU");
}

Test(itch, garbage_at_the_end_of_a_guard_page_never_reads_past_it)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *mem = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(mem, MAP_FAILED);
	cr_assert_eq(mprotect(mem + page, (size_t)page, PROT_NONE), 0);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < 2000; round++) {
		size_t len = 1 + (size_t)(round % 300);
		uint8_t *p = mem + page - len;
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[i] = (uint8_t)x;
		}
		/* Plausible lengths now and then, so walks go deeper. */
		if (round % 3 == 0 && len > 2) {
			p[0] = 0;
			p[1] = (uint8_t)(len - 2);
		}
		struct itch_stats st = { 0 };
		itch_decode_file(p, len, NULL, NULL, &st);
		uint64_t total = 0;
		for (int t = 0; t < 256; t++)
			total += st.msgs[t];
		for (int e = 0; e < ITCH_ERR_COUNT; e++)
			total += st.errors[e];
		cr_assert_gt(total, 0, "every walk counts something");
	}
	munmap(mem, (size_t)page * 2);
}
