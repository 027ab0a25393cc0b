/*
 * The order manager's state machine, with the real risk module: what it sends is checked as OUCH
 * bytes, and the venue's answers are OUCH messages laid out by the test. New, accept, partial and
 * full fills; risk refusals (nothing sent); cancel with a late fill; a replace racing a fill on
 * the old token; a replace the venue ignores (timeout reverts it); venue rejects; unknown tokens
 * and garbled messages; a session that cannot send; stale ids; cancel-all for a kill switch.
 * Positions and open quantities are read back from risk after each step.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "hist.h"
#include "oms.h"
#include "risk.h"

#define ACCT 1
#define INSTR 3

struct sent {
	uint8_t msg[64];
	size_t len;
	uint16_t venue;
};

static struct risk_ctx *risk;
static struct oms *oms;
static struct sent out[64];
static int nout;
static int send_rc;
static struct oms_event evs[64];
static int nevs;

static int cap_send(void *ctx, uint16_t venue, const void *msg, size_t len)
{
	(void)ctx;
	if (send_rc)
		return send_rc;
	cr_assert_lt(nout, 64);
	cr_assert_eq(ouch_msg_check(msg, len, OUCH_INBOUND), 0, "the OMS sent invalid OUCH");
	memcpy(out[nout].msg, msg, len);
	out[nout].len = len;
	out[nout].venue = venue;
	nout++;
	return 0;
}

static void cap_event(void *ctx, const struct oms_event *ev)
{
	(void)ctx;
	cr_assert_lt(nevs, 64);
	evs[nevs++] = *ev;
}

static const char *symbol(void *ctx, uint16_t venue, uint32_t instrument)
{
	(void)ctx;
	(void)venue;
	return instrument == INSTR ? "AAPL" : NULL;
}

static void setup(void)
{
	struct risk_cfg rc = { .max_accounts = 4,
			       .max_instruments = 8,
			       .max_sessions = 2,
			       .max_resting_per_side = 8 };
	struct risk_account_limits al = { .allow_short = true, .max_open_orders = 100 };
	struct risk_instrument_limits il = { .tick = 100, .max_order_qty = 1000 };
	struct oms_cfg oc = {
		.max_orders = 16, .venues = 1, .firm = "TSYS", .inflight_timeout_ns = 1000000
	};
	struct oms_ops ops = { .send = cap_send, .on_event = cap_event, .symbol = symbol };

	risk = risk_create(&rc);
	cr_assert(risk);
	cr_assert_eq(risk_set_account(risk, ACCT, &al), 0);
	cr_assert_eq(risk_set_instrument(risk, INSTR, &il), 0);
	risk_set_market(risk, INSTR, 1000000, 1000100, 0, false, false);
	oms = oms_create(&oc, risk, &ops, NULL);
	cr_assert(oms);
	nout = nevs = send_rc = 0;
}

static void teardown(void)
{
	oms_destroy(oms);
	risk_destroy(risk);
}

TestSuite(oms, .init = setup, .fini = teardown);

static uint64_t buy(int64_t qty, int64_t price)
{
	struct oms_request r = {
		.account = ACCT, .instrument = INSTR, .side = 'B', .price = price, .qty = qty
	};
	uint64_t id = 0;

	cr_assert_eq(oms_send(oms, &r, 1000, &id), 0);
	return id;
}

static void venue(const void *m, size_t len)
{
	oms_on_venue(oms, 0, m, len, 2000);
}

static void accepted(const char *token, int64_t qty, int64_t price)
{
	struct ouch_accepted m;

	memset(&m, ' ', sizeof(m));
	m.type = OUCH_ACCEPTED;
	ouch_put64(m.timestamp, 1);
	memcpy(m.token, token, OUCH_TOKEN_LEN);
	m.side = 'B';
	ouch_put32(m.shares, (uint32_t)qty);
	ouch_put32(m.price, (uint32_t)price);
	ouch_put64(m.order_ref, 42);
	m.state = 'L';
	venue(&m, sizeof(m));
}

static void executed(const char *token, int64_t qty, int64_t price, uint64_t match)
{
	struct ouch_executed m;

	m.type = OUCH_EXECUTED;
	ouch_put64(m.timestamp, 1);
	memcpy(m.token, token, OUCH_TOKEN_LEN);
	ouch_put32(m.shares, (uint32_t)qty);
	ouch_put32(m.price, (uint32_t)price);
	m.liquidity = 'A';
	ouch_put64(m.match, match);
	venue(&m, sizeof(m));
}

static void canceled(const char *token, int64_t dec, uint8_t reason)
{
	struct ouch_canceled m;

	m.type = OUCH_CANCELED;
	ouch_put64(m.timestamp, 1);
	memcpy(m.token, token, OUCH_TOKEN_LEN);
	ouch_put32(m.decrement, (uint32_t)dec);
	m.reason = reason;
	venue(&m, sizeof(m));
}

static void replaced(const char *prev, const char *repl, int64_t qty, int64_t price)
{
	struct ouch_replaced m;

	memset(&m, ' ', sizeof(m));
	m.type = OUCH_REPLACED;
	ouch_put64(m.timestamp, 1);
	memcpy(m.replacement, repl, OUCH_TOKEN_LEN);
	memcpy(m.previous, prev, OUCH_TOKEN_LEN);
	m.side = 'B';
	ouch_put32(m.shares, (uint32_t)qty);
	ouch_put32(m.price, (uint32_t)price);
	ouch_put64(m.order_ref, 43);
	m.state = 'L';
	venue(&m, sizeof(m));
}

static struct risk_position_view pos(void)
{
	struct risk_position_view p;

	cr_assert_eq(risk_position_view(risk, ACCT, INSTR, &p), 0);
	return p;
}

Test(oms, new_accept_partial_and_full_fill)
{
	uint64_t id = buy(300, 1000000);
	const struct oms_order *o = oms_order(oms, id);

	cr_assert_eq(nout, 1);
	const struct ouch_enter_order *e = (const void *)out[0].msg;
	cr_assert_eq(e->type, OUCH_ENTER_ORDER);
	cr_assert_eq(ouch_get32(e->shares), 300);
	cr_assert_eq(ouch_get32(e->price), 1000000);
	cr_assert_arr_eq(e->stock, "AAPL    ", 8);
	cr_assert_arr_eq(e->token, o->token, OUCH_TOKEN_LEN);
	cr_assert_eq(o->state, OMS_PENDING_NEW);
	cr_assert_eq(pos().open_buy_qty, 300);

	accepted(o->token, 300, 1000000);
	cr_assert_eq(o->state, OMS_LIVE);
	cr_assert_eq(o->venue_ref, 42);
	executed(o->token, 100, 1000000, 7);
	cr_assert_eq(o->state, OMS_PARTIAL);
	cr_assert_eq(o->leaves, 200);
	cr_assert_eq(pos().position, 100);
	cr_assert_eq(pos().open_buy_qty, 200);
	executed(o->token, 200, 999900, 8);
	cr_assert_eq(o->state, OMS_FILLED);
	cr_assert_eq(pos().position, 300);
	cr_assert_eq(pos().open_buy_qty, 0);
	cr_assert_eq(oms_stats(oms)->open, 0);
	cr_assert_eq(evs[nevs - 1].kind, OMS_EV_FILL);
	cr_assert_eq(evs[nevs - 1].match, 8);
	cr_assert_eq(evs[nevs - 1].price, 999900);
	/* A final order's id is no longer cancelable. */
	cr_assert_eq(oms_cancel(oms, id, 0, 3000), -ENOENT);
}

Test(oms, risk_refusal_sends_nothing)
{
	struct oms_request r = {
		.account = ACCT, .instrument = INSTR, .side = 'B', .price = 1000000, .qty = 1001
	};
	uint64_t id = 99;

	cr_assert_eq(oms_send(oms, &r, 1000, &id), -RISK_R_MAX_QTY);
	cr_assert_eq(id, 0);
	cr_assert_eq(nout, 0);
	cr_assert_eq(evs[0].kind, OMS_EV_RISK_REJECT);
	cr_assert_eq(evs[0].reason, RISK_R_MAX_QTY);
	/* The event names the order (no OMS order exists for it) and what refused it. */
	cr_assert_null(evs[0].o);
	cr_assert_eq(evs[0].account, ACCT);
	cr_assert_eq(evs[0].instrument, INSTR);
	cr_assert_eq(evs[0].side, 'B');
	cr_assert_eq(evs[0].qty, 1001);
	cr_assert_eq(evs[0].price, 1000000);
	cr_assert_eq(evs[0].limit, 1000);
	cr_assert_eq(evs[0].value, 1001);
	cr_assert_eq(pos().open_buy_qty, 0);
	/* An account with no limits: fail closed. */
	r.account = 2;
	r.qty = 1;
	cr_assert_eq(oms_send(oms, &r, 1000, &id), -RISK_R_NO_LIMITS);
	/* An instrument the venue has no symbol for. */
	r.account = ACCT;
	r.instrument = 1;
	cr_assert_lt(oms_send(oms, &r, 1000, &id), 0);
	cr_assert_eq(nout, 0);
}

Test(oms, cancel_with_a_late_fill)
{
	uint64_t id = buy(100, 1000000);
	const struct oms_order *o = oms_order(oms, id);

	accepted(o->token, 100, 1000000);
	cr_assert_eq(oms_cancel(oms, id, 0, 2000), 0);
	cr_assert_eq(o->state, OMS_PENDING_CANCEL);
	cr_assert_eq(out[1].msg[0], OUCH_CANCEL_ORDER);
	cr_assert_eq(oms_cancel(oms, id, 0, 2000), -EALREADY);
	executed(o->token, 30, 1000000, 9); /* crossed with the cancel */
	cr_assert_eq(o->state, OMS_PENDING_CANCEL);
	cr_assert_eq(o->leaves, 70);
	canceled(o->token, 70, 'U');
	cr_assert_eq(o->state, OMS_CANCELED);
	cr_assert_eq(o->filled, 30);
	cr_assert_eq(pos().position, 30);
	cr_assert_eq(pos().open_buy_qty, 0);
}

Test(oms, replace_racing_a_fill_on_the_old_token)
{
	uint64_t id = buy(100, 1000000);
	const struct oms_order *o = oms_order(oms, id);
	char old[OUCH_TOKEN_LEN + 1];

	accepted(o->token, 100, 1000000);
	memcpy(old, o->token, sizeof(old));
	cr_assert_eq(oms_replace(oms, id, 999900, 80, 0, 2000), 0);
	cr_assert_eq(o->state, OMS_PENDING_REPLACE);
	const struct ouch_replace_order *u = (const void *)out[1].msg;
	cr_assert_eq(u->type, OUCH_REPLACE_ORDER);
	cr_assert_arr_eq(u->existing, old, OUCH_TOKEN_LEN);
	cr_assert_arr_eq(u->replacement, o->new_token, OUCH_TOKEN_LEN);
	executed(old, 20, 1000000, 10); /* a fill on the old order before the replace landed */
	cr_assert_eq(pos().position, 20);
	replaced(old, (const char *)u->replacement, 60, 999900); /* the venue gives what is left */
	cr_assert_eq(o->state, OMS_PARTIAL);
	cr_assert_str_neq(o->token, old);
	cr_assert_eq(o->leaves, 60);
	cr_assert_eq(o->price, 999900);
	cr_assert_eq(pos().open_buy_qty, 60);
	executed(old, 5, 1000000, 11); /* the old token is gone */
	cr_assert_eq(oms_stats(oms)->unknown_token, 1);
	executed(o->token, 60, 999900, 12);
	cr_assert_eq(o->state, OMS_FILLED);
	cr_assert_eq(pos().position, 80);
	cr_assert_eq(pos().open_buy_qty, 0);
}

Test(oms, replace_the_venue_ignores_times_out_and_reverts)
{
	uint64_t id = buy(100, 1000000);
	const struct oms_order *o = oms_order(oms, id);

	accepted(o->token, 100, 1000000);
	cr_assert_eq(oms_replace(oms, id, 999900, 80, 0, 2000), 0);
	cr_assert_eq(oms_poll(oms, 2000 + 999999), 0);
	cr_assert_eq(oms_poll(oms, 2000 + 1000000), 1);
	cr_assert_eq(o->state, OMS_LIVE);
	cr_assert_eq(o->new_token[0], '\0');
	cr_assert_eq(o->price, 1000000);
	cr_assert_eq(evs[nevs - 1].kind, OMS_EV_TIMEOUT);
	cr_assert_eq(pos().open_buy_qty, 100);
}

Test(oms, venue_reject_and_bad_input)
{
	uint64_t id = buy(100, 1000000);
	const struct oms_order *o = oms_order(oms, id);
	struct ouch_rejected j;

	j.type = OUCH_REJECTED;
	ouch_put64(j.timestamp, 1);
	memcpy(j.token, o->token, OUCH_TOKEN_LEN);
	j.reason = 'H';
	venue(&j, sizeof(j));
	cr_assert_eq(o->state, OMS_REJECTED);
	cr_assert_eq(o->reject_reason, 'H');
	cr_assert_eq(pos().open_buy_qty, 0);
	cr_assert_eq(oms_stats(oms)->open, 0);

	venue(&j, sizeof(j) - 1); /* truncated */
	cr_assert_eq(oms_stats(oms)->bad_messages, 1);
	accepted("NOSUCHTOKEN000", 1, 1);
	cr_assert_eq(oms_stats(oms)->unknown_token, 1);
}

Test(oms, a_session_that_cannot_send_leaves_no_order)
{
	struct oms_request r = {
		.account = ACCT, .instrument = INSTR, .side = 'B', .price = 1000000, .qty = 10
	};
	uint64_t id;

	send_rc = -ENOTCONN;
	cr_assert_eq(oms_send(oms, &r, 1000, &id), -ENOTCONN);
	cr_assert_eq(oms_stats(oms)->open, 0);
	cr_assert_eq(pos().open_buy_qty, 0);
	send_rc = 0;
	cr_assert_eq(oms_send(oms, &r, 1000, &id), 0);
}

Test(oms, cancel_all_for_a_kill_switch)
{
	uint64_t a = buy(10, 1000000), b = buy(10, 999900);
	struct oms_request r = {
		.account = 0, .instrument = INSTR, .side = 'B', .price = 999800, .qty = 10
	};
	struct risk_account_limits al = { .allow_short = true, .max_open_orders = 100 };
	uint64_t c;

	cr_assert_eq(risk_set_account(risk, 0, &al), 0);
	cr_assert_eq(oms_send(oms, &r, 1000, &c), 0);
	accepted(oms_order(oms, a)->token, 10, 1000000);
	accepted(oms_order(oms, b)->token, 10, 999900);
	accepted(oms_order(oms, c)->token, 10, 999800);
	cr_assert_eq(oms_cancel_all(oms, ACCT, UINT32_MAX, 3000), 2);
	cr_assert_eq(oms_order(oms, a)->state, OMS_PENDING_CANCEL);
	cr_assert_eq(oms_order(oms, b)->state, OMS_PENDING_CANCEL);
	cr_assert_eq(oms_order(oms, c)->state, OMS_LIVE);
	cr_assert_eq(oms_cancel_all(oms, UINT32_MAX, UINT32_MAX, 3000), 1);
}

Test(oms, pool_full_and_tokens_unique)
{
	uint64_t ids[16];

	for (int i = 0; i < 16; i++)
		ids[i] = buy(1, 1000000);
	struct oms_request r = {
		.account = ACCT, .instrument = INSTR, .side = 'B', .price = 1000000, .qty = 1
	};
	uint64_t id;
	cr_assert_eq(oms_send(oms, &r, 1000, &id), -ENOSPC);
	cr_assert_eq(oms_stats(oms)->pool_full, 1);
	for (int i = 0; i < 16; i++)
		for (int k = i + 1; k < 16; k++)
			cr_assert_arr_neq(oms_order(oms, ids[i])->token,
					  oms_order(oms, ids[k])->token, OUCH_TOKEN_LEN);
}

Test(oms, lost_in_a_disconnect_expires_after_the_timeout)
{
	uint64_t a = buy(100, 1000000), b = buy(50, 999900);
	const struct oms_order *oa = oms_order(oms, a), *ob = oms_order(oms, b);

	accepted(ob->token, 50, 999900);
	cr_assert_eq(oms_cancel(oms, b, 0, 1500), 0);
	/* The session drops after both were sent; a's order and b's cancel never got there. */
	oms_venue_down(oms, 0, 1600);
	cr_assert_eq(oms_poll(oms, 1500 + 1000000), 2);
	cr_assert_eq(oa->state, OMS_EXPIRED);
	cr_assert_eq(ob->state, OMS_LIVE, "a lost cancel leaves the order as it was");
	cr_assert_eq(pos().open_buy_qty, 50);
	cr_assert_eq(oms_stats(oms)->open, 1);
	/* Sent after the session came back: a timeout is only reported. */
	struct oms_request r = {
		.account = ACCT, .instrument = INSTR, .side = 'B', .price = 999800, .qty = 10
	};
	uint64_t c;
	cr_assert_eq(oms_send(oms, &r, 2000000, &c), 0);
	cr_assert_eq(oms_poll(oms, 3000000), 1);
	cr_assert_eq(oms_order(oms, c)->state, OMS_PENDING_NEW);
	cr_assert_eq(evs[nevs - 1].kind, OMS_EV_TIMEOUT);
}

static uint64_t buy_at(int64_t qty, int64_t price, uint64_t now)
{
	struct oms_request r = {
		.account = ACCT, .instrument = INSTR, .side = 'B', .price = price, .qty = qty
	};
	uint64_t id = 0;

	cr_assert_eq(oms_send(oms, &r, now, &id), 0);
	return id;
}

/* The in-flight list: timeouts come oldest request first, once each, only for requests still
 * unanswered, and a new request on an order (a cancel) restarts its clock. */
Test(oms, timeouts_follow_the_request_order)
{
	uint64_t a = buy_at(10, 1000000, 1000);
	const struct oms_order *oa = oms_order(oms, a);
	accepted(oa->token, 10, 1000000);
	uint64_t b = buy_at(10, 1000000, 2000);
	uint64_t c = buy_at(10, 1000000, 3000);
	accepted(oms_order(oms, c)->token, 10, 1000000);
	cr_assert_eq(oms_cancel(oms, a, 0, 3500), 0);
	cr_assert_eq(oa->state, OMS_PENDING_CANCEL);

	cr_assert_eq(oms_poll(oms, 1000 + 1000000), 0, "a's first request was answered");
	cr_assert_eq(oms_poll(oms, 2000 + 999999), 0);
	cr_assert_eq(oms_poll(oms, 2000 + 1000000), 1, "b's new order is unanswered");
	cr_assert(oms_order(oms, b)->timed_out);
	cr_assert_eq(evs[nevs - 1].kind, OMS_EV_TIMEOUT);
	cr_assert_eq(evs[nevs - 1].o, oms_order(oms, b));
	cr_assert_eq(oms_poll(oms, 3000 + 1000000), 0, "c was accepted");
	cr_assert_eq(oms_poll(oms, 3500 + 1000000), 1, "a's cancel is unanswered");
	cr_assert_eq(evs[nevs - 1].o, oa);
	cr_assert_eq(oms_poll(oms, 100000000), 0, "each request times out once");
}

/* Many orders through a small pool: slots are reused while their old requests are still on the
 * in-flight list; the list stays consistent and only the one unanswered order times out. */
Test(oms, in_flight_list_survives_slot_reuse)
{
	uint64_t now = 1000;

	for (int i = 0; i < 5000; i++, now += 10) {
		uint64_t id = buy_at(10, 1000000, now);
		const struct oms_order *o = oms_order(oms, id);
		accepted(o->token, 10, 1000000);
		cr_assert_eq(oms_cancel(oms, id, 0, now + 5), 0);
		canceled(o->token, 10, 'U');
		cr_assert_eq(o->state, OMS_CANCELED);
		if (i % 100 == 0)
			cr_assert_eq(oms_poll(oms, now), 0);
		nevs = 0;
		nout = 0;
	}
	uint64_t last = buy_at(10, 1000000, now);
	cr_assert_eq(oms_poll(oms, now + 999999), 0);
	cr_assert_eq(oms_poll(oms, now + 1000000), 1);
	cr_assert(oms_order(oms, last)->timed_out);
	cr_assert_eq(oms_stats(oms)->timeouts, 1);
	cr_assert_str_eq(oms_state_name(OMS_EXPIRED), "expired");
}

/* Stage clocks: only orders made while tracing is on are timed, one risk and one encode value
 * each; a refused order times nothing. */
Test(oms, stage_clocks_time_traced_orders_only)
{
	static struct hist risk_h, enc_h;

	hist_reset(&risk_h);
	hist_reset(&enc_h);
	oms_set_stage_hists(oms, &risk_h, &enc_h, 0);
	buy(10, 1000000);
	cr_assert_eq(risk_h.count, 0);
	oms_trace(oms, true);
	uint64_t id = buy(10, 1000000);
	accepted(oms_order(oms, id)->token, 10, 1000000);
	cr_assert_eq(oms_replace(oms, id, 999900, 10, 0, 2000), 0);
	struct oms_request big = {
		.account = ACCT, .instrument = INSTR, .side = 'B', .price = 1000000, .qty = 5000
	};
	uint64_t none;
	cr_assert_lt(oms_send(oms, &big, 3000, &none), 0, "over max_order_qty");
	cr_assert_eq(risk_h.count, 2);
	cr_assert_eq(enc_h.count, 2);
	cr_assert_gt(enc_h.max, 0, "encoding and the session's copy take time");
	oms_trace(oms, false);
	buy(10, 1000000);
	cr_assert_eq(risk_h.count, 2);
}

Test(oms, a_venue_not_ready_takes_nothing_and_costs_no_risk_tokens)
{
	struct risk_account_limits al = {
		.allow_short = true, .max_open_orders = 100, .order_rate = 1, .order_burst = 1
	};
	struct oms_request r = {
		.account = ACCT, .instrument = INSTR, .side = 'B', .price = 1000000, .qty = 10
	};
	uint64_t id = 99, first;

	cr_assert_eq(risk_set_account(risk, ACCT, &al), 0);
	oms_venue_ready(oms, 0, false);
	/* Refused before risk: no event, no refusal counted, the one token of the bucket kept. */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(oms_send(oms, &r, 1000, &id), -ENOTCONN);
	cr_assert_eq(id, 0);
	cr_assert_eq(nout, 0);
	cr_assert_eq(nevs, 0);
	cr_assert_eq(oms_stats(oms)->risk_rejects, 0);
	oms_venue_ready(oms, 0, true);
	cr_assert_eq(oms_send(oms, &r, 1000, &first), 0);
	cr_assert_eq(nout, 1);
	/* The bucket is empty now: the next new order is the rate's. */
	cr_assert_eq(oms_send(oms, &r, 1000, &id), -RISK_R_ORDER_RATE);
	/* Replace and cancel wait for the session too. */
	accepted(oms_order(oms, first)->token, 10, 1000000);
	oms_venue_ready(oms, 0, false);
	cr_assert_eq(oms_replace(oms, first, 1000100, 10, 0, 2000), -ENOTCONN);
	cr_assert_eq(oms_cancel(oms, first, 0, 2000), -ENOTCONN);
	cr_assert_eq(nout, 1);
}

Test(oms, order_ids_grow_and_a_restarted_oms_never_reuses_one)
{
	struct oms_cfg oc = { .max_orders = 16, .venues = 1, .firm = "TSYS" };
	struct oms_ops ops = { .send = cap_send, .on_event = cap_event, .symbol = symbol };
	uint64_t last = 0;

	for (int k = 0; k < 5; k++) {
		uint64_t id = buy(10 + k, 1000000);
		cr_assert_gt(id, last, "id %lu after %lu", (unsigned long)id, (unsigned long)last);
		cr_assert_eq(id & OMS_SLOT_MASK, (uint64_t)k, "the slot is the id's low bits");
		last = id;
	}
	/* The same process restarted a millisecond later: its first id is above every earlier one
	 * (the serial starts from the wall clock's 10 us tick, five orders moved it 50 us). */
	struct timespec ms = { 0, 1000000 };
	nanosleep(&ms, NULL);
	struct oms *again = oms_create(&oc, risk, &ops, NULL);
	struct oms_request r = {
		.account = ACCT, .instrument = INSTR, .side = 'B', .price = 1000000, .qty = 77
	};
	uint64_t id = 0;
	cr_assert_not_null(again);
	cr_assert_eq(oms_send(again, &r, 1000, &id), 0);
	cr_assert_gt(id, last);
	cr_assert_eq(id & OMS_SLOT_MASK, 0);
	oms_destroy(again);
	/* More slots than an id holds is refused. */
	oc.max_orders = OMS_SLOT_MASK + 2;
	cr_assert_null(oms_create(&oc, risk, &ops, NULL));
	cr_assert_eq(errno, EINVAL);
}

Test(oms, order_ids_are_positive_signed_64_bit_numbers)
{
	uint64_t id = buy(10, 1000000);

	/* The database stores them in bigint and JSON carries them as integers; the serial above
	 * the slot is the 10 us tick since 2025 (until 2069 below 2^63). */
	cr_assert_lt(id, (uint64_t)INT64_MAX);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t tick = (uint64_t)(now.tv_sec - OMS_ID_EPOCH) * 100000u;
	uint64_t serial = id >> OMS_SLOT_BITS;
	cr_assert(serial <= tick + 100000u && serial + 100000u >= tick, "serial %lu, wall tick %lu",
		  (unsigned long)serial, (unsigned long)tick);
}
