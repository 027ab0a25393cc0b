/*
 * libFuzzer target: input bytes as a sequence of risk operations (8 bytes each: op and seven
 * arguments) on a small context (3 accounts, 3 instruments, 2 sessions, 2 resting slots per side
 * so the overflow is reached): set limits, market updates, kill switches, checks, cancels and
 * the open/close/fill hooks, with ids and values now and then out of range. After every step the
 * accounting invariants hold (open quantities never negative and equal to their resting prices,
 * account sums equal to their instruments'); a refused check changes no state but its own
 * reason's counter, and a passed one no counter. A broken rule aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "risk.h"
#include "risk_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A price near 1000, or (1 in 16) one out of range. */
static int64_t price_of(uint8_t b)
{
	if ((b & 15) == 15)
		return b & 16 ? 0 : RISK_PRICE_MAX + 1;
	return 990 + (int64_t)(b % 24);
}

static int64_t qty_of(uint8_t b)
{
	if (b == 255)
		return RISK_QTY_MAX + 1;
	if (b == 254)
		return -1;
	return 1 + (int64_t)(b % 40);
}

static uint8_t side_of(uint8_t b)
{
	return (b & 3) == 3 ? 'X' : (b & 1) ? RISK_SELL : RISK_BUY;
}

static void set_account(struct risk_ctx *r, const uint8_t *a)
{
	struct risk_account_limits l = {
		.max_gross_exposure = a[1] & 1 ? (int64_t)a[2] * 2000 : 0,
		.max_net_exposure = a[1] & 2 ? (int64_t)a[3] * 1000 : 0,
		.credit_limit = a[1] & 4 ? (int64_t)a[4] * 3000 : 0,
		.start_cash = (int64_t)a[5] * 5000,
		.check_cash = a[1] & 8,
		.allow_short = a[1] & 16,
		.daily_loss_limit = a[1] & 32 ? (int64_t)a[6] * 10 : 0,
		.max_leverage_x100 = a[1] & 64 ? (uint32_t)a[3] * 10 : 0,
		.margin_bps = a[1] & 128 ? (uint32_t)a[4] * 10 : 0,
		.max_open_orders = a[6] % 8,
		.order_rate = a[2] % 4 ? (uint32_t)a[2] * 1000 : 0,
		.order_burst = 1 + a[6] % 4,
		.dup_window_ns = a[5] % 2 ? (uint64_t)a[3] * 100 : 0,
		.self_cross_check = a[6] & 64,
		.allow_reducing_when_killed = a[6] & 128,
	};
	risk_set_account(r, a[0] % 4, &l);
}

static void set_instrument(struct risk_ctx *r, const uint8_t *a)
{
	struct risk_instrument_limits l = {
		.tick = a[1] % 4, /* 0 is refused */
		.max_order_qty = a[2] % 3 ? a[2] % 50 : 0,
		.max_order_notional = a[3] % 2 ? (int64_t)a[3] * 300 : 0,
		.collar_ticks = a[4] % 3 ? a[4] % 16 : 0,
		.collar_bps = a[5] % 3 ? (int32_t)(a[5] % 64) : 0,
		.max_long = a[6] % 2 ? a[6] % 100 : 0,
		.max_short = a[6] % 3 ? a[6] % 90 : 0,
		.restricted = (a[1] & 0xf0) == 0xf0,
	};
	risk_set_instrument(r, a[0] % 4, &l);
}

static void check(struct risk_ctx *r, const uint8_t *a, uint64_t now)
{
	struct risk_order o = {
		.account = a[0] % 4,
		.instrument = a[0] / 4 % 4,
		.session = (uint16_t)(a[0] / 16 % 3),
		.side = side_of(a[1]),
		.replace = a[1] & 4,
		.price = price_of(a[2]),
		.qty = qty_of(a[3]),
		.old_price = price_of(a[4]),
		.old_qty = qty_of(a[5]) - 1,
		.now_ns = now,
	};
	uint64_t before[RISK_R_REASONS];
	const uint64_t *rej = risk_rejects(r);
	uint64_t digest = risk_state_digest(r);

	memcpy(before, rej, sizeof(before));
	enum risk_reason why = risk_check(r, &o);
	if ((unsigned)why >= RISK_R_REASONS)
		abort();
	for (int i = 0; i < RISK_R_REASONS; i++)
		if (rej[i] != before[i] + (why != RISK_OK && i == (int)why))
			abort();
	if (why != RISK_OK) {
		if (risk_state_digest(r) != digest)
			abort();
		/* Nothing moved, so the same order is refused for the same reason. */
		if (risk_check(r, &o) != why)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct risk_cfg cfg = { .max_accounts = 3,
				.max_instruments = 3,
				.max_sessions = 2,
				.max_resting_per_side = 2 };
	struct risk_ctx *r = risk_create(&cfg);
	uint64_t now = 1000000;

	if (!r)
		abort();
	for (size_t i = 0; i + 8 <= size; i += 8) {
		const uint8_t op = data[i], *a = &data[i + 1];
		now += (uint64_t)(op >> 4) * 1000;
		switch (op % 10) {
		case 0: set_account(r, a); break;
		case 1: set_instrument(r, a); break;
		case 2: {
			struct risk_session_limits l = { .msg_rate = a[1] % 2 ? a[1] * 1000u : 0,
							 .msg_burst = a[2] % 4 };
			risk_set_session(r, (uint16_t)(a[0] % 3), &l);
			break;
		}
		case 3:
			risk_set_market(r, a[0] % 4, a[1] % 5 ? price_of(a[2]) : 0,
					a[1] % 7 ? price_of(a[3]) + 2 : 0,
					a[1] & 8 ? price_of(a[4]) : 0, (a[5] & 7) == 7,
					(a[6] & 7) == 7);
			break;
		case 4: risk_kill(r, (enum risk_scope)(a[0] % 4), a[1] % 4, a[2] & 1); break;
		case 5:
		case 6: check(r, a, now); break;
		case 7:
			risk_on_open(r, a[0] % 4, a[0] / 4 % 4, side_of(a[1]), price_of(a[2]),
				     qty_of(a[3]));
			break;
		case 8:
			if (a[4] & 1)
				risk_on_close(r, a[0] % 4, a[0] / 4 % 4, side_of(a[1]),
					      price_of(a[2]), qty_of(a[3]));
			else
				risk_on_fill(r, a[0] % 4, a[0] / 4 % 4, side_of(a[1]),
					     price_of(a[2]), qty_of(a[3]));
			break;
		default: {
			uint64_t before = risk_rejects(r)[RISK_R_MSG_RATE];
			enum risk_reason why = risk_check_cancel(r, (uint16_t)(a[0] % 3), now);
			if (why != RISK_OK && why != RISK_R_MSG_RATE && why != RISK_R_BAD_ORDER)
				abort();
			if (why == RISK_R_MSG_RATE &&
			    risk_rejects(r)[RISK_R_MSG_RATE] != before + 1)
				abort();
		}
		}
		if (risk_check_invariants(r) != 0)
			abort();
		for (uint32_t acc = 0; acc < 3; acc++) {
			struct risk_account_view v;
			if (risk_account_view(r, acc, &v) || v.open_buy_notional < 0 ||
			    v.open_sell_notional < 0)
				abort();
			for (uint32_t in = 0; in < 3; in++) {
				struct risk_position_view p;
				if (risk_position_view(r, acc, in, &p) || p.open_buy_qty < 0 ||
				    p.open_sell_qty < 0)
					abort();
			}
		}
	}
	risk_destroy(r);
	return 0;
}
