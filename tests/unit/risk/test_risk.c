/*
 * Description: every pre-trade control at, just below and just above its limit (with its reject
 * reason and counter, and no state change on a refusal), fail-closed, replace exposure, kill
 * switches, reduce-only by daily loss and margin call, token buckets over injected time,
 * duplicates, self-cross, and positions/average price/PnL through the fill hooks. After every
 * test the accounting invariants hold.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "risk.h"
#include "risk_internal.h"

#define ACCT 1
#define INSTR 2
#define OTHER 3
#define T0 1000000000000ull

static struct risk_ctx *r;
static uint64_t now;

static struct risk_account_limits base_acct(void)
{
	return (struct risk_account_limits){ .allow_short = true };
}

static struct risk_instrument_limits base_instr(void)
{
	return (struct risk_instrument_limits){ .tick = 1 };
}

static void setup(void)
{
	struct risk_cfg cfg = { .max_accounts = 4,
				.max_instruments = 8,
				.max_sessions = 2,
				.max_resting_per_side = 4 };
	struct risk_account_limits al = base_acct();
	struct risk_instrument_limits il = base_instr();

	r = risk_create(&cfg);
	cr_assert_not_null(r);
	cr_assert_eq(risk_set_account(r, ACCT, &al), 0);
	cr_assert_eq(risk_set_instrument(r, INSTR, &il), 0);
	cr_assert_eq(risk_set_instrument(r, OTHER, &il), 0);
	risk_set_market(r, INSTR, 9990, 10010, 0, false, false); /* reference 10000 */
	risk_set_market(r, OTHER, 9990, 10010, 0, false, false);
	now = T0;
}

static void teardown(void)
{
	cr_assert_eq(risk_check_invariants(r), 0, "invariants: %d", risk_check_invariants(r));
	risk_destroy(r);
}

TestSuite(risk, .init = setup, .fini = teardown);

static struct risk_order ord(char side, int64_t price, int64_t qty)
{
	return (struct risk_order){ .account = ACCT,
				    .instrument = INSTR,
				    .session = 0,
				    .side = (uint8_t)side,
				    .price = price,
				    .qty = qty,
				    .now_ns = now };
}

static struct risk_order repl(char side, int64_t price, int64_t qty, int64_t old_price,
			      int64_t old_qty)
{
	struct risk_order o = ord(side, price, qty);
	o.replace = true;
	o.old_price = old_price;
	o.old_qty = old_qty;
	return o;
}

static void pass_o(struct risk_order o)
{
	enum risk_reason got = risk_check(r, &o);
	cr_assert_eq(got, RISK_OK, "%c %ld @ %ld: refused (%s)", o.side, (long)o.qty, (long)o.price,
		     risk_reason_name(got));
}

/* Refused with why: its counter moved by one, and nothing else changed. */
static void refuse_o(struct risk_order o, enum risk_reason why)
{
	uint64_t before = risk_rejects(r)[why], digest = risk_state_digest(r);
	enum risk_reason got = risk_check(r, &o);

	cr_assert_eq(got, why, "%c %ld @ %ld: got %s, want %s", o.side, (long)o.qty, (long)o.price,
		     risk_reason_name(got), risk_reason_name(why));
	cr_assert_eq(risk_rejects(r)[why], before + 1);
	cr_assert_eq(risk_state_digest(r), digest, "a refused check changed state");
}

static void pass(char side, int64_t price, int64_t qty)
{
	pass_o(ord(side, price, qty));
}

static void refuse(char side, int64_t price, int64_t qty, enum risk_reason why)
{
	refuse_o(ord(side, price, qty), why);
}

/* An order sent and traded in full. */
static void trade(char side, int64_t price, int64_t qty)
{
	risk_on_open(r, ACCT, INSTR, (uint8_t)side, price, qty);
	risk_on_fill(r, ACCT, INSTR, (uint8_t)side, price, qty);
}

static void set_acct(struct risk_account_limits l)
{
	cr_assert_eq(risk_set_account(r, ACCT, &l), 0);
}

static void set_instr(struct risk_instrument_limits l)
{
	cr_assert_eq(risk_set_instrument(r, INSTR, &l), 0);
}

static struct risk_account_view aview(void)
{
	struct risk_account_view v;
	cr_assert_eq(risk_account_view(r, ACCT, &v), 0);
	return v;
}

static struct risk_position_view pview(void)
{
	struct risk_position_view v;
	cr_assert_eq(risk_position_view(r, ACCT, INSTR, &v), 0);
	return v;
}

/* ---- configuration and fail-closed ---- */

Test(risk, create_refuses_bad_config)
{
	struct risk_cfg bad[] = {
		{ 0, 8, 1, 4 }, { 4, 0, 1, 4 }, { 4, 8, 0, 4 }, { 4, 8, 1, 0 }, { 4, 8, 1, 65 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		cr_assert_null(risk_create(&bad[i]));
		cr_assert_eq(errno, EINVAL);
	}
}

Test(risk, setters_refuse_bad_values)
{
	struct risk_account_limits al = base_acct();
	struct risk_instrument_limits il = base_instr();
	struct risk_session_limits sl = { 0 };

	cr_assert_eq(risk_set_account(r, 4, &al), -EINVAL);
	al.order_rate = 10;
	cr_assert_eq(risk_set_account(r, ACCT, &al), -EINVAL); /* rate without burst */
	al = base_acct();
	al.max_gross_exposure = -1;
	cr_assert_eq(risk_set_account(r, ACCT, &al), -EINVAL);
	il.tick = 0;
	cr_assert_eq(risk_set_instrument(r, INSTR, &il), -EINVAL);
	il = base_instr();
	il.collar_bps = -1;
	cr_assert_eq(risk_set_instrument(r, INSTR, &il), -EINVAL);
	cr_assert_eq(risk_set_instrument(r, 8, &il), -EINVAL);
	cr_assert_eq(risk_set_session(r, 2, &sl), -EINVAL);
	cr_assert_eq(risk_kill(r, RISK_SCOPE_ACCOUNT, 4, true), -EINVAL);
	cr_assert_eq(risk_kill(r, RISK_SCOPE_INSTRUMENT, 8, true), -EINVAL);
}

Test(risk, fails_closed_without_limits)
{
	struct risk_order o = ord('B', 10000, 1);

	o.account = 0; /* never configured */
	refuse_o(o, RISK_R_NO_LIMITS);
	o = ord('B', 10000, 1);
	o.instrument = 5; /* never configured */
	refuse_o(o, RISK_R_NO_LIMITS);
	struct risk_account_limits al = base_acct();
	cr_assert_eq(risk_set_account(r, 0, &al), 0);
	o.account = 0;
	o.instrument = INSTR;
	pass_o(o);
}

Test(risk, a_pass_with_nothing_limited)
{
	pass('B', 10000, 100);
	pass('S', 10000, 100);
	cr_assert_eq(risk_rejects(r)[RISK_R_NO_LIMITS], 0);
	cr_assert_str_eq(risk_reason_name(RISK_R_MAX_QTY), "max_qty");
	cr_assert_str_eq(risk_reason_name(RISK_R_SELF_CROSS), "self_cross");
}

Test(risk, bad_orders)
{
	struct risk_order o = ord('B', 10000, 1);

	refuse('B', 10000, 0, RISK_R_BAD_ORDER);
	refuse('B', 10000, -1, RISK_R_BAD_ORDER);
	refuse('B', 0, 1, RISK_R_BAD_ORDER);
	refuse('X', 10000, 1, RISK_R_BAD_ORDER);
	refuse('B', RISK_PRICE_MAX + 1, 1, RISK_R_BAD_ORDER);
	refuse('B', 1, RISK_QTY_MAX + 1, RISK_R_BAD_ORDER);
	pass('B', RISK_PRICE_MAX, 1);
	pass('B', 1, RISK_QTY_MAX);
	refuse('B', RISK_PRICE_MAX, RISK_QTY_MAX, RISK_R_BAD_ORDER); /* notional above 2^62 */
	o.account = 4;
	refuse_o(o, RISK_R_BAD_ORDER);
	o = ord('B', 10000, 1);
	o.instrument = 8;
	refuse_o(o, RISK_R_BAD_ORDER);
	o = ord('B', 10000, 1);
	o.session = 2;
	refuse_o(o, RISK_R_BAD_ORDER);
	refuse_o(repl('B', 10000, 1, 10000, -1), RISK_R_BAD_ORDER);
}

/* ---- the order alone ---- */

Test(risk, max_order_qty)
{
	struct risk_instrument_limits il = base_instr();
	il.max_order_qty = 100;
	set_instr(il);
	pass('B', 10000, 100);
	pass('B', 10000, 99);
	refuse('B', 10000, 101, RISK_R_MAX_QTY);
	refuse('S', 10000, 101, RISK_R_MAX_QTY);
	refuse_o(repl('B', 10000, 101, 10000, 1), RISK_R_MAX_QTY);
}

Test(risk, max_order_notional)
{
	struct risk_instrument_limits il = base_instr();
	il.max_order_notional = 1000000;
	set_instr(il);
	pass('B', 10000, 100); /* 1,000,000 */
	pass('B', 9999, 100); /* 999,900 */
	refuse('B', 9901, 101, RISK_R_MAX_NOTIONAL); /* 1,000,001 */
}

Test(risk, price_collar_in_ticks)
{
	struct risk_instrument_limits il = base_instr();
	il.tick = 5;
	il.collar_ticks = 10; /* 50 either side of 10000 */
	set_instr(il);
	pass('B', 10050, 1);
	pass('B', 10045, 1);
	refuse('B', 10051, 1, RISK_R_PRICE_COLLAR);
	pass('S', 9950, 1);
	pass('S', 9955, 1);
	refuse('S', 9949, 1, RISK_R_PRICE_COLLAR);
}

Test(risk, price_collar_in_bps)
{
	struct risk_instrument_limits il = base_instr();
	il.collar_bps = 50;
	set_instr(il);
	risk_set_market(r, INSTR, 0, 0, 10001, false, false); /* last trade wins: 10001 */
	/* |p - 10001| * 10000 <= 50 * 10001 = 500050 */
	pass('B', 10051, 1);
	pass('B', 10050, 1);
	refuse('B', 10052, 1, RISK_R_PRICE_COLLAR);
	pass('S', 9951, 1);
	refuse('S', 9950, 1, RISK_R_PRICE_COLLAR);
}

Test(risk, price_collar_takes_the_tighter_of_ticks_and_bps)
{
	struct risk_instrument_limits il = base_instr();
	il.collar_ticks = 100;
	il.collar_bps = 20; /* 20 at 10000: tighter than 100 ticks */
	set_instr(il);
	pass('B', 10020, 1);
	refuse('B', 10021, 1, RISK_R_PRICE_COLLAR);
}

Test(risk, price_collar_reference_falls_back_from_last_to_mid_to_side)
{
	struct risk_instrument_limits il = base_instr();
	il.collar_ticks = 10;
	set_instr(il);
	risk_set_market(r, INSTR, 20000, 0, 0, false, false); /* only a bid */
	pass('B', 20010, 1);
	refuse('B', 20011, 1, RISK_R_PRICE_COLLAR);
	risk_set_market(r, INSTR, 20000, 20100, 0, false, false); /* mid 20050 */
	pass('B', 20060, 1);
	refuse('B', 20061, 1, RISK_R_PRICE_COLLAR);
}

Test(risk, no_reference_with_a_collar_and_no_market)
{
	struct risk_instrument_limits il = base_instr();
	il.collar_ticks = 10;
	set_instr(il);
	risk_set_market(r, INSTR, 0, 0, 0, false, false);
	refuse('B', 10000, 1, RISK_R_NO_REFERENCE);
	risk_set_market(r, INSTR, 9990, 10010, 0, false, false);
	pass('B', 10000, 1);
	il.collar_ticks = 0; /* no collar: no reference needed */
	set_instr(il);
	risk_set_market(r, INSTR, 0, 0, 0, false, false);
	pass('B', 10000, 1);
}

/* ---- market state ---- */

Test(risk, restricted_halted_and_stale)
{
	struct risk_instrument_limits il = base_instr();
	il.restricted = true;
	set_instr(il);
	refuse('B', 10000, 1, RISK_R_RESTRICTED);
	il.restricted = false;
	set_instr(il);
	pass('B', 10000, 1);
	risk_set_market(r, INSTR, 9990, 10010, 0, false, true);
	refuse('B', 10000, 1, RISK_R_HALTED);
	risk_set_market(r, INSTR, 9990, 10010, 0, true, false);
	refuse('S', 10000, 1, RISK_R_STALE_BOOK);
	risk_set_market(r, INSTR, 9990, 10010, 0, false, false);
	pass('B', 10000, 1);
}

/* ---- position limits ---- */

Test(risk, max_long_counts_position_and_open_buys)
{
	struct risk_instrument_limits il = base_instr();
	il.max_long = 1000;
	set_instr(il);
	trade('B', 10000, 300);
	risk_on_open(r, ACCT, INSTR, 'B', 9990, 200);
	pass('B', 10000, 500);
	pass('B', 10000, 499);
	refuse('B', 10000, 501, RISK_R_MAX_LONG);
	pass('S', 10000, 5000); /* sells never hit the long limit */
}

Test(risk, max_short_counts_position_and_open_sells)
{
	struct risk_instrument_limits il = base_instr();
	il.max_short = 1000;
	set_instr(il);
	trade('B', 10000, 300);
	risk_on_open(r, ACCT, INSTR, 'S', 10010, 100);
	/* open sells + qty - position <= 1000 */
	pass('S', 10000, 1200);
	pass('S', 10000, 1199);
	refuse('S', 10000, 1201, RISK_R_MAX_SHORT);
}

Test(risk, replace_does_not_double_count_its_old_quantity)
{
	struct risk_instrument_limits il = base_instr();
	il.max_long = 1000;
	set_instr(il);
	risk_on_open(r, ACCT, INSTR, 'B', 9990, 800);
	refuse('B', 10000, 201, RISK_R_MAX_LONG);
	pass_o(repl('B', 9995, 1000, 9990, 800));
	refuse_o(repl('B', 9995, 1001, 9990, 800), RISK_R_MAX_LONG);
}

Test(risk, replace_does_not_double_count_its_old_notional)
{
	struct risk_account_limits al = base_acct();
	al.max_gross_exposure = 1000000;
	set_acct(al);
	risk_on_open(r, ACCT, INSTR, 'B', 10000, 100); /* 1,000,000 open */
	refuse('B', 10000, 1, RISK_R_GROSS_EXPOSURE);
	pass_o(repl('B', 10000, 100, 10000, 100));
	pass_o(repl('B', 9999, 100, 10000, 100));
	refuse_o(repl('B', 10000, 101, 10000, 100), RISK_R_GROSS_EXPOSURE);
}

/* ---- account exposure ---- */

Test(risk, gross_exposure)
{
	struct risk_account_limits al = base_acct();
	al.max_gross_exposure = 2000000;
	set_acct(al);
	trade('B', 10000, 100); /* 1,000,000 at the mark */
	risk_on_open(r, ACCT, INSTR, 'S', 10010, 10); /* 100,100 open */
	/* 1,100,100 + q x price <= 2,000,000 */
	pass('B', 10000, 89); /* 1,990,100 */
	pass('B', 9999, 89);
	refuse('B', 10000, 90, RISK_R_GROSS_EXPOSURE); /* 2,000,100 */
	risk_on_close(r, ACCT, INSTR, 'S', 10010, 10);
	risk_on_open(r, ACCT, INSTR, 'S', 10000, 10);
	pass('B', 10000, 90); /* exactly 2,000,000 */
	refuse('B', 10001, 90, RISK_R_GROSS_EXPOSURE);
	struct risk_account_view v = aview();
	cr_assert_eq(v.gross_exposure, 1000000);
	cr_assert_eq(v.open_sell_notional, 100000);
}

Test(risk, gross_exposure_limit_exactly_at)
{
	struct risk_account_limits al = base_acct();
	al.max_gross_exposure = 1000000;
	set_acct(al);
	pass('B', 10000, 100);
	pass('B', 10000, 99);
	refuse('B', 10000, 101, RISK_R_GROSS_EXPOSURE);
}

Test(risk, net_exposure_both_directions)
{
	struct risk_account_limits al = base_acct();
	al.max_net_exposure = 500000;
	set_acct(al);
	pass('S', 10000, 50);
	pass('S', 10000, 49);
	refuse('S', 10000, 51, RISK_R_NET_EXPOSURE);
	trade('B', 10000, 100); /* net +1,000,000: only sells can come in */
	refuse('B', 10000, 1, RISK_R_NET_EXPOSURE);
	risk_on_open(r, ACCT, INSTR, 'S', 10000, 40); /* net 600,000 */
	pass('S', 10000, 50); /* reduces (40 open + 50 <= 100): exempt, and net falls anyway */
	refuse('B', 10000, 1, RISK_R_NET_EXPOSURE);
}

/* Open buys put the net at +400,000; a sell counts against that with its own sign. */
Test(risk, net_exposure_a_sell_offsets_open_buys)
{
	struct risk_account_limits al = base_acct();
	al.max_net_exposure = 500000;
	set_acct(al);
	risk_on_open(r, ACCT, INSTR, 'B', 10000, 40);
	pass('S', 10000, 80); /* net -400,000 */
	pass('S', 10000, 90); /* exactly -500,000 */
	refuse('S', 10000, 91, RISK_R_NET_EXPOSURE);
	pass('B', 10000, 10); /* exactly +500,000 */
	refuse('B', 10000, 11, RISK_R_NET_EXPOSURE);
}

Test(risk, net_exposure_limit_exactly_at)
{
	struct risk_account_limits al = base_acct();
	al.max_net_exposure = 500000;
	set_acct(al);
	trade('B', 10000, 20); /* net 200,000 */
	pass('B', 10000, 30);
	pass('B', 10000, 29);
	refuse('B', 10000, 31, RISK_R_NET_EXPOSURE);
}

Test(risk, credit_counts_positions_at_cost)
{
	struct risk_account_limits al = base_acct();
	al.credit_limit = 1500000;
	set_acct(al);
	trade('B', 10000, 100); /* cost 1,000,000 */
	risk_set_market(r, INSTR, 11990, 12010, 0, false, false); /* mark 12000: value 1.2M */
	pass('B', 12000, 41); /* 1,000,000 + 492,000 */
	refuse('B', 12000, 42, RISK_R_CREDIT); /* 1,504,000 */
	pass('B', 10000, 50); /* exactly 1,500,000 */
	refuse('B', 10001, 50, RISK_R_CREDIT);
}

Test(risk, cash_for_buys_after_open_buys)
{
	struct risk_account_limits al = base_acct();
	al.start_cash = 1000000;
	al.check_cash = true;
	set_acct(al);
	risk_on_open(r, ACCT, INSTR, 'B', 10000, 10); /* 100,000 committed */
	pass('B', 10000, 90);
	pass('B', 10000, 89);
	refuse('B', 10000, 91, RISK_R_CASH);
	pass('S', 10000, 1000); /* sells need no cash */
	trade('S', 10000, 10); /* short sale: +100,000 cash */
	pass('B', 10000, 100);
	refuse('B', 10000, 101, RISK_R_CASH);
	cr_assert_eq(aview().cash, 1100000);
}

Test(risk, no_short_sells_only_from_the_position)
{
	struct risk_account_limits al = base_acct();
	al.allow_short = false;
	set_acct(al);
	refuse('S', 10000, 1, RISK_R_NO_SHORT);
	trade('B', 10000, 100);
	risk_on_open(r, ACCT, INSTR, 'S', 10010, 30);
	pass('S', 10000, 70);
	pass('S', 10000, 69);
	refuse('S', 10000, 71, RISK_R_NO_SHORT);
	pass('B', 10000, 100);
}

Test(risk, leverage_against_equity)
{
	struct risk_account_limits al = base_acct();
	al.start_cash = 250000;
	al.max_leverage_x100 = 400; /* 4x: 1,000,000 */
	set_acct(al);
	pass('B', 10000, 100);
	pass('B', 10000, 99);
	refuse('B', 10000, 101, RISK_R_LEVERAGE);
	trade('B', 10000, 50);
	risk_set_market(r, INSTR, 9490, 9510, 0, false, false);
	/* equity 250,000 - 25,000 = 225,000: cap 900,000; gross 475,000 */
	pass('B', 9500, 44); /* 893,000 */
	refuse('B', 9500, 45, RISK_R_LEVERAGE);
}

Test(risk, leverage_with_no_equity_refuses_risk_but_not_reducing)
{
	struct risk_account_limits al = base_acct();
	al.max_leverage_x100 = 400;
	set_acct(al); /* start_cash 0 */
	refuse('B', 10000, 1, RISK_R_LEVERAGE);
	trade('S', 10000, 10);
	pass('B', 10000, 10); /* covers the short */
}

Test(risk, leverage_limit_set_to_zero_is_off)
{
	struct risk_account_limits al = base_acct();
	al.max_leverage_x100 = 400;
	set_acct(al); /* start_cash 0: any new risk is over the cap */
	refuse('B', 10000, 1, RISK_R_LEVERAGE);
	al.max_leverage_x100 = 0;
	set_acct(al);
	pass('B', 10000, 1);
	al.max_leverage_x100 = 400;
	set_acct(al);
	refuse('B', 10000, 1, RISK_R_LEVERAGE);
}

/* ---- reduce-only ---- */

Test(risk, daily_loss_by_mark_move_puts_the_account_in_reduce_only)
{
	struct risk_account_limits al = base_acct();
	al.daily_loss_limit = 50000;
	set_acct(al);
	trade('B', 10000, 100);
	risk_set_market(r, INSTR, 9500, 9502, 0, false, false); /* mark 9501: -49,900 */
	cr_assert_eq(aview().unrealized_pnl, -49900);
	cr_assert_eq(aview().state, RISK_ACCT_NORMAL);
	pass('B', 9501, 1);
	/* At the limit (realized + unrealized <= -limit) the account is reduce-only. */
	risk_set_market(r, INSTR, 9499, 9501, 0, false, false); /* mark 9500: -50,000 */
	cr_assert_eq(aview().state, RISK_ACCT_REDUCE_ONLY);
	refuse('B', 9500, 1, RISK_R_REDUCE_ONLY);
	refuse('S', 9500, 101, RISK_R_REDUCE_ONLY); /* would flip short */
	pass('S', 9500, 100);
	pass('S', 9500, 99);
	/* Latched: a recovery does not lift it, setting the limits again does. */
	risk_set_market(r, INSTR, 9999, 10001, 0, false, false);
	refuse('B', 10000, 1, RISK_R_REDUCE_ONLY);
	set_acct(al);
	pass('B', 10000, 1);
}

Test(risk, daily_loss_by_realized_pnl)
{
	struct risk_account_limits al = base_acct();
	al.daily_loss_limit = 50000;
	set_acct(al);
	trade('B', 10000, 100);
	trade('S', 9501, 100);
	cr_assert_eq(aview().realized_pnl, -49900);
	pass('B', 9500, 1);
	trade('B', 10000, 1);
	trade('S', 9900, 1); /* -100 more: -50,000 */
	cr_assert_eq(aview().realized_pnl, -50000);
	cr_assert_eq(aview().state, RISK_ACCT_REDUCE_ONLY);
	refuse('B', 9500, 1, RISK_R_REDUCE_ONLY);
	refuse('S', 9500, 1, RISK_R_REDUCE_ONLY); /* flat: nothing reduces */
}

Test(risk, margin_call_and_back)
{
	struct risk_account_limits al = base_acct();
	al.start_cash = 100000;
	al.margin_bps = 1000; /* 10% of the gross */
	set_acct(al);
	trade('B', 10000, 100); /* gross 1,000,000, equity 100,000: exactly enough */
	cr_assert_eq(aview().state, RISK_ACCT_NORMAL);
	pass('B', 10000, 1);
	risk_set_market(r, INSTR, 10000, 10002, 0, false, false); /* 10001: equity 100,100 */
	cr_assert_eq(aview().state, RISK_ACCT_NORMAL);
	risk_set_market(r, INSTR, 9998, 10000, 0, false, false); /* 9999: 99,900 < 99,990 */
	cr_assert_eq(aview().state, RISK_ACCT_MARGIN_CALL);
	refuse('B', 9999, 1, RISK_R_REDUCE_ONLY);
	pass('S', 9999, 50);
	/* Not latched: equity back, trading back. */
	risk_set_market(r, INSTR, 9999, 10001, 0, false, false);
	cr_assert_eq(aview().state, RISK_ACCT_NORMAL);
	pass('B', 10000, 1);
}

/* ---- counts and rates ---- */

Test(risk, max_open_orders)
{
	struct risk_account_limits al = base_acct();
	al.max_open_orders = 3;
	set_acct(al);
	risk_on_open(r, ACCT, INSTR, 'B', 9990, 10);
	pass('B', 9980, 10); /* would be the 2nd */
	risk_on_open(r, ACCT, INSTR, 'B', 9980, 10);
	pass('B', 9970, 10); /* the 3rd: at the limit */
	risk_on_open(r, ACCT, INSTR, 'S', 10020, 10);
	cr_assert_eq(aview().open_orders, 3);
	refuse('B', 9960, 10, RISK_R_MAX_OPEN_ORDERS);
	pass_o(repl('B', 9985, 10, 9980, 10)); /* a replace keeps its order */
	risk_on_close(r, ACCT, INSTR, 'S', 10020, 10);
	cr_assert_eq(aview().open_orders, 2);
	pass('B', 9960, 10);
}

Test(risk, open_orders_leave_the_count_when_filled)
{
	risk_on_open(r, ACCT, INSTR, 'B', 9990, 10);
	risk_on_open(r, ACCT, INSTR, 'S', 10020, 10);
	risk_on_fill(r, ACCT, INSTR, 'B', 9990, 4);
	cr_assert_eq(aview().open_orders, 2);
	risk_on_fill(r, ACCT, INSTR, 'B', 9990, 6);
	cr_assert_eq(aview().open_orders, 1);
	cr_assert_eq(aview().open_buy_notional, 0);
	cr_assert_eq(pview().open_buy_qty, 0);
}

Test(risk, order_rate_token_bucket_refills_over_time)
{
	struct risk_account_limits al = base_acct();
	al.order_rate = 10; /* one token per 100 ms */
	al.order_burst = 3;
	set_acct(al);
	pass('B', 10000, 1);
	pass('B', 10000, 2);
	pass('B', 10000, 3); /* the burst: at the limit */
	refuse('B', 10000, 4, RISK_R_ORDER_RATE);
	now = T0 + 100000000 - 1;
	refuse('B', 10000, 4, RISK_R_ORDER_RATE);
	now = T0 + 100000000;
	pass('B', 10000, 4);
	refuse('B', 10000, 5, RISK_R_ORDER_RATE);
	now = T0 + 1000000000; /* a long pause refills only up to the burst */
	pass('B', 10000, 5);
	pass('B', 10000, 6);
	pass('B', 10000, 7);
	refuse('B', 10000, 8, RISK_R_ORDER_RATE);
	/* Replaces are messages, not new orders. */
	pass_o(repl('B', 10000, 8, 10000, 1));
}

Test(risk, message_rate_per_session_counts_new_replace_and_cancel)
{
	struct risk_session_limits sl = { .msg_rate = 1000, .msg_burst = 3 }; /* 1 ms a token */
	struct risk_order o;

	cr_assert_eq(risk_set_session(r, 0, &sl), 0);
	pass('B', 10000, 1);
	pass_o(repl('B', 10000, 2, 10000, 1));
	cr_assert_eq(risk_check_cancel(r, 0, now), RISK_OK); /* the third: at the limit */
	refuse('B', 10000, 3, RISK_R_MSG_RATE);
	uint64_t before = risk_rejects(r)[RISK_R_MSG_RATE];
	cr_assert_eq(risk_check_cancel(r, 0, now), RISK_R_MSG_RATE);
	cr_assert_eq(risk_rejects(r)[RISK_R_MSG_RATE], before + 1);
	o = ord('B', 10000, 3);
	o.session = 1; /* another session has its own bucket (and no limit) */
	pass_o(o);
	now += 999999;
	refuse('B', 10000, 3, RISK_R_MSG_RATE);
	now += 1;
	pass('B', 10000, 3);
}

Test(risk, duplicate_within_and_outside_the_window)
{
	struct risk_account_limits al = base_acct();
	al.dup_window_ns = 1000;
	set_acct(al);
	pass('B', 10000, 100);
	now += 999;
	refuse('B', 10000, 100, RISK_R_DUPLICATE);
	pass('B', 10000, 101); /* other quantity */
	pass('B', 10001, 100); /* other price */
	pass('S', 10000, 100); /* other side */
	struct risk_order o = ord('B', 10000, 100);
	o.instrument = OTHER; /* other instrument */
	pass_o(o);
	now = T0 + 1000; /* the window is over */
	pass('B', 10000, 100);
	pass_o(repl('B', 10000, 100, 10000, 50)); /* replaces are not duplicates */
}

Test(risk, self_cross_on_both_sides_and_after_close)
{
	struct risk_account_limits al = base_acct();
	al.self_cross_check = true;
	set_acct(al);
	risk_on_open(r, ACCT, INSTR, 'S', 10010, 10);
	risk_on_open(r, ACCT, INSTR, 'S', 10020, 10);
	risk_on_open(r, ACCT, INSTR, 'B', 9990, 10);
	pass('B', 10009, 1);
	refuse('B', 10010, 1, RISK_R_SELF_CROSS);
	refuse('B', 10011, 1, RISK_R_SELF_CROSS);
	pass('S', 9991, 1);
	refuse('S', 9990, 1, RISK_R_SELF_CROSS);
	refuse('S', 9989, 1, RISK_R_SELF_CROSS);
	refuse_o(repl('B', 10015, 10, 9990, 10), RISK_R_SELF_CROSS);
	/* The best ask closes: the next one counts. */
	risk_on_close(r, ACCT, INSTR, 'S', 10010, 10);
	pass('B', 10019, 1);
	refuse('B', 10020, 1, RISK_R_SELF_CROSS);
	risk_on_fill(r, ACCT, INSTR, 'S', 10020, 10);
	pass('B', 10030, 1);
	risk_on_close(r, ACCT, INSTR, 'B', 9990, 10);
	pass('S', 9000, 1);
	/* Other accounts may trade with us. */
	struct risk_account_limits other = base_acct();
	other.self_cross_check = true;
	cr_assert_eq(risk_set_account(r, 2, &other), 0);
	risk_on_open(r, 2, INSTR, 'S', 10000, 5);
	pass('B', 10000, 1);
}

Test(risk, self_cross_keeps_the_best_price_when_the_slots_are_full)
{
	struct risk_account_limits al = base_acct();
	al.self_cross_check = true;
	set_acct(al);
	/* Six prices into four slots: the two worst go to the overflow. */
	for (int64_t px = 10030; px >= 10010; px -= 4)
		risk_on_open(r, ACCT, INSTR, 'S', px, 1); /* 10030 10026 ... 10010 */
	refuse('B', 10010, 1, RISK_R_SELF_CROSS);
	pass('B', 10009, 1);
	for (int64_t px = 10010; px <= 10022; px += 4)
		risk_on_close(r, ACCT, INSTR, 'S', px, 1);
	/* The rest (10026, 10030) were in the overflow: still guarded at their best. */
	pass('B', 10025, 1);
	refuse('B', 10026, 1, RISK_R_SELF_CROSS);
	cr_assert_eq(pview().open_sell_qty, 2);
	cr_assert_eq(aview().open_sell_notional, 10026 + 10030);
	risk_on_close(r, ACCT, INSTR, 'S', 10026, 1);
	risk_on_close(r, ACCT, INSTR, 'S', 10030, 1);
	pass('B', 10040, 1);
	cr_assert_eq(aview().open_orders, 0);
}

/* ---- kill switch ---- */

Test(risk, kill_switch_at_each_scope)
{
	struct risk_order o;

	cr_assert_eq(risk_kill(r, RISK_SCOPE_FIRM, 0, true), 0);
	cr_assert(risk_killed(r, ACCT, INSTR));
	refuse('B', 10000, 1, RISK_R_KILL_FIRM);
	cr_assert_eq(risk_kill(r, RISK_SCOPE_FIRM, 0, false), 0);
	pass('B', 10000, 1);

	cr_assert_eq(risk_kill(r, RISK_SCOPE_ACCOUNT, ACCT, true), 0);
	cr_assert(risk_killed(r, ACCT, INSTR));
	cr_assert_eq(aview().state, RISK_ACCT_KILLED);
	refuse('B', 10000, 1, RISK_R_KILL_ACCOUNT);
	struct risk_account_limits al = base_acct();
	cr_assert_eq(risk_set_account(r, 2, &al), 0);
	o = ord('B', 10000, 1);
	o.account = 2;
	pass_o(o);
	cr_assert_eq(risk_kill(r, RISK_SCOPE_ACCOUNT, ACCT, false), 0);
	pass('B', 10000, 1);

	cr_assert_eq(risk_kill(r, RISK_SCOPE_INSTRUMENT, INSTR, true), 0);
	cr_assert(risk_killed(r, 2, INSTR));
	cr_assert_not(risk_killed(r, 2, OTHER));
	refuse('S', 10000, 1, RISK_R_KILL_INSTRUMENT);
	o = ord('B', 10000, 1);
	o.instrument = OTHER;
	pass_o(o);
	cr_assert_eq(risk_kill(r, RISK_SCOPE_INSTRUMENT, INSTR, false), 0);
	pass('S', 10000, 1);
	cr_assert_not(risk_killed(r, ACCT, INSTR));
}

Test(risk, kill_switch_lets_reducing_orders_through_only_when_configured)
{
	trade('B', 10000, 100);
	cr_assert(risk_reduces(r, ACCT, INSTR, 'S', 100));
	cr_assert_not(risk_reduces(r, ACCT, INSTR, 'S', 101));
	cr_assert_not(risk_reduces(r, ACCT, INSTR, 'B', 1));
	cr_assert_eq(risk_kill(r, RISK_SCOPE_FIRM, 0, true), 0);
	refuse('S', 10000, 50, RISK_R_KILL_FIRM);

	struct risk_account_limits al = base_acct();
	al.allow_reducing_when_killed = true;
	set_acct(al);
	pass('S', 10000, 100);
	refuse('S', 10000, 101, RISK_R_KILL_FIRM);
	refuse('B', 10000, 1, RISK_R_KILL_FIRM);
	/* Open sells count: 60 open + 50 would take the position short. */
	risk_on_open(r, ACCT, INSTR, 'S', 10000, 60);
	cr_assert_not(risk_reduces(r, ACCT, INSTR, 'S', 50));
	refuse('S', 10000, 50, RISK_R_KILL_FIRM);
	pass('S', 10000, 40);
	cr_assert_eq(risk_kill(r, RISK_SCOPE_FIRM, 0, false), 0);
	cr_assert_eq(risk_kill(r, RISK_SCOPE_ACCOUNT, ACCT, true), 0);
	pass('S', 10000, 40);
	refuse('S', 10000, 41, RISK_R_KILL_ACCOUNT);
	cr_assert_eq(risk_kill(r, RISK_SCOPE_ACCOUNT, ACCT, false), 0);
	cr_assert_eq(risk_kill(r, RISK_SCOPE_INSTRUMENT, INSTR, true), 0);
	pass('S', 10000, 40);
	refuse('B', 10000, 1, RISK_R_KILL_INSTRUMENT);
}

/* ---- positions and PnL ---- */

Test(risk, positions_average_price_and_pnl_through_buys_partial_sells_and_a_flip)
{
	risk_set_market(r, INSTR, 0, 0, 0, false, false); /* no mark: positions at cost */
	trade('B', 10000, 100);
	trade('B', 10300, 200); /* (1,000,000 + 2,060,000) / 300 = 10200 */
	struct risk_position_view p = pview();
	cr_assert_eq(p.position, 300);
	cr_assert_eq(p.avg_price, 10200);
	cr_assert_eq(p.unrealized_pnl, 0);
	cr_assert_eq(aview().cash, -3060000);

	trade('S', 10500, 100); /* +300 x 100 */
	p = pview();
	cr_assert_eq(p.position, 200);
	cr_assert_eq(p.avg_price, 10200);
	cr_assert_eq(p.realized_pnl, 30000);

	risk_set_market(r, INSTR, 10090, 10110, 0, false, false); /* mark 10100 */
	p = pview();
	cr_assert_eq(p.unrealized_pnl, -20000);
	struct risk_account_view v = aview();
	cr_assert_eq(v.unrealized_pnl, -20000);
	cr_assert_eq(v.gross_exposure, 2020000);
	cr_assert_eq(v.net_exposure, 2020000);

	trade('S', 10000, 500); /* closes 200 (-200 x 200), opens 300 short at 10000 */
	p = pview();
	cr_assert_eq(p.position, -300);
	cr_assert_eq(p.avg_price, 10000);
	cr_assert_eq(p.realized_pnl, 30000 - 40000);
	cr_assert_eq(p.unrealized_pnl, -300 * 100);
	v = aview();
	cr_assert_eq(v.realized_pnl, -10000);
	cr_assert_eq(v.gross_exposure, 3030000);
	cr_assert_eq(v.net_exposure, -3030000);
	cr_assert_eq(v.cash, -3060000 + 1050000 + 5000000);

	trade('B', 9900, 300); /* covers the short at a profit of 100 x 300 */
	p = pview();
	cr_assert_eq(p.position, 0);
	cr_assert_eq(p.avg_price, 0);
	cr_assert_eq(p.realized_pnl, 20000);
	cr_assert_eq(p.unrealized_pnl, 0);
	v = aview();
	cr_assert_eq(v.gross_exposure, 0);
	cr_assert_eq(v.unrealized_pnl, 0);
	cr_assert_eq(v.cash, 20000); /* flat: cash flow equals realized */
}

Test(risk, fills_at_a_better_price_release_the_order_notional)
{
	risk_on_open(r, ACCT, INSTR, 'B', 10010, 100);
	risk_on_fill(r, ACCT, INSTR, 'B', 10000, 40); /* price improvement */
	cr_assert_eq(pview().open_buy_qty, 60);
	cr_assert_eq(aview().open_buy_notional, 10010 * 60);
	risk_on_close(r, ACCT, INSTR, 'B', 10010, 60);
	cr_assert_eq(aview().open_buy_notional, 0);
	cr_assert_eq(aview().open_orders, 0);
}

Test(risk, hooks_ignore_bad_arguments)
{
	uint64_t d = risk_state_digest(r);

	risk_on_open(r, 9, INSTR, 'B', 10000, 1);
	risk_on_open(r, ACCT, INSTR, 'B', 10000, 0);
	risk_on_open(r, ACCT, INSTR, 'Z', 10000, 1);
	risk_on_fill(r, ACCT, 99, 'B', 10000, 1);
	risk_on_close(r, ACCT, INSTR, 'S', -1, 1);
	cr_assert_eq(risk_state_digest(r), d);
	risk_on_close(r, ACCT, INSTR, 'S', 10000, 5); /* nothing open: nothing goes negative */
	cr_assert_eq(pview().open_sell_qty, 0);
}

/* Refused with why, and risk_explain names the limit in force and the order's value. */
static void refuse_explained(struct risk_order o, enum risk_reason why, int64_t limit,
			     int64_t value)
{
	int64_t l = -1, v = -1;

	refuse_o(o, why);
	risk_explain(r, &o, why, &l, &v);
	cr_assert_eq(l, limit, "%s: limit %ld, want %ld", risk_reason_name(why), (long)l,
		     (long)limit);
	cr_assert_eq(v, value, "%s: value %ld, want %ld", risk_reason_name(why), (long)v,
		     (long)value);
}

Test(risk, explain_names_the_limit_and_the_value_of_each_control)
{
	struct risk_instrument_limits il = base_instr();
	il.max_order_qty = 100;
	il.max_order_notional = 900000;
	il.collar_ticks = 50; /* [9950, 10050] around 10000 */
	il.max_long = 150;
	set_instr(il);
	refuse_explained(ord('B', 10000, 101), RISK_R_MAX_QTY, 100, 101);
	refuse_explained(ord('B', 10000, 91), RISK_R_MAX_NOTIONAL, 900000, 910000);
	refuse_explained(ord('B', 10051, 1), RISK_R_PRICE_COLLAR, 10050, 10051);
	refuse_explained(ord('S', 9949, 1), RISK_R_PRICE_COLLAR, 9950, 9949);
	trade('B', 10000, 80);
	risk_on_open(r, ACCT, INSTR, 'B', 10000, 50);
	refuse_explained(ord('B', 10000, 21), RISK_R_MAX_LONG, 150, 151);
	/* A replace counts the other open buys, not its own old quantity. */
	refuse_explained(repl('B', 10000, 71, 10000, 50), RISK_R_MAX_LONG, 150, 151);
	set_instr(base_instr());

	struct risk_account_limits al = base_acct();
	al.max_gross_exposure = 2000000;
	al.max_open_orders = 1;
	set_acct(al);
	/* 800,000 position + 500,000 open + 710,000 */
	refuse_explained(ord('B', 10000, 71), RISK_R_GROSS_EXPOSURE, 2000000, 2010000);
	refuse_explained(ord('B', 10000, 1), RISK_R_MAX_OPEN_ORDERS, 1, 2);
	risk_on_close(r, ACCT, INSTR, 'B', 10000, 50);

	al = base_acct();
	al.check_cash = true;
	al.start_cash = 1000000; /* less the 800,000 the fill cost */
	set_acct(al);
	refuse_explained(ord('B', 10000, 21), RISK_R_CASH, 200000, 210000);

	al = base_acct();
	al.dup_window_ns = 1000;
	set_acct(al);
	pass('S', 10000, 5);
	now += 400;
	refuse_explained(ord('S', 10000, 5), RISK_R_DUPLICATE, 1000, 400);
	al.order_rate = 10;
	al.order_burst = 1;
	set_acct(al);
	pass('S', 10000, 6);
	refuse_explained(ord('S', 10000, 7), RISK_R_ORDER_RATE, 10, 0);

	/* Gates have no quantity. */
	risk_kill(r, RISK_SCOPE_FIRM, 0, true);
	refuse_explained(ord('S', 10000, 8), RISK_R_KILL_FIRM, 0, 0);
	risk_kill(r, RISK_SCOPE_FIRM, 0, false);
}
