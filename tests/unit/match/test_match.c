/*
 * Description: the matching engine's order types, time in force, price-time priority, replace
 * priority rules, self-trade prevention, rejects, and its book against a brute-force model.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

#define MAXEV 4096

static struct match_event evs[MAXEV];
static size_t nev;

static void record(void *ctx, const struct match_event *ev)
{
	(void)ctx;
	cr_assert_lt(nev, MAXEV);
	evs[nev++] = *ev;
}

static struct match_engine *engine(void)
{
	struct match_cfg cfg = { .instruments = 4, .max_orders = 1024, .max_levels = 64 };
	nev = 0;
	struct match_engine *e = match_create(&cfg, record, NULL);
	cr_assert_not_null(e);
	return e;
}

static uint64_t limit(struct match_engine *e, char side, int64_t px, int64_t qty, uint32_t firm)
{
	struct match_order o = { .user = 7,
				 .instrument = 1,
				 .firm = firm,
				 .side = side,
				 .tif = MATCH_DAY,
				 .price = px,
				 .qty = qty };
	uint64_t id;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	return id;
}

/* Counts events of a kind since index from. */
static size_t count_kind(size_t from, enum match_event_kind k)
{
	size_t n = 0;
	for (size_t i = from; i < nev; i++)
		n += evs[i].kind == k;
	return n;
}

static const struct match_event *find_kind(size_t from, enum match_event_kind k, size_t nth)
{
	for (size_t i = from; i < nev; i++)
		if (evs[i].kind == k && nth-- == 0)
			return &evs[i];
	return NULL;
}

Test(match, limit_order_rests_and_sets_the_bbo)
{
	struct match_engine *e = engine();
	uint64_t id = limit(e, 'B', 1000, 100, 1);
	int64_t b, bq, a, aq;

	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[0].kind, MATCH_EV_ACCEPTED);
	cr_assert_eq(evs[1].kind, MATCH_EV_RESTED);
	cr_assert_eq(evs[1].id, id);
	cr_assert_eq(evs[1].qty, 100);
	match_bbo(e, 1, &b, &bq, &a, &aq);
	cr_assert_eq(b, 1000);
	cr_assert_eq(bq, 100);
	cr_assert_eq(a, 0);
	cr_assert_eq(match_order_count(e), 1);
	match_destroy(e);
}

Test(match, crossing_order_fills_at_resting_prices_across_levels)
{
	struct match_engine *e = engine();
	uint64_t s1 = limit(e, 'S', 1001, 50, 1);
	uint64_t s2 = limit(e, 'S', 1002, 50, 2);
	limit(e, 'S', 1005, 50, 3);
	size_t from = nev;
	uint64_t b = limit(e, 'B', 1003, 80, 4);

	cr_assert_eq(count_kind(from, MATCH_EV_EXECUTED), 4, "two matches, two sides each");
	const struct match_event *x1 = find_kind(from, MATCH_EV_EXECUTED, 0);
	const struct match_event *x2 = find_kind(from, MATCH_EV_EXECUTED, 1);
	cr_assert_eq(x1->id, b);
	cr_assert_eq(x1->price, 1001);
	cr_assert_eq(x1->qty, 50);
	cr_assert_eq(x1->leaves, 30);
	cr_assert(!x1->passive);
	cr_assert_eq(x2->id, s1);
	cr_assert(x2->passive);
	cr_assert_eq(x2->match_no, x1->match_no);
	const struct match_event *x3 = find_kind(from, MATCH_EV_EXECUTED, 2);
	cr_assert_eq(x3->price, 1002);
	cr_assert_eq(x3->qty, 30);
	cr_assert_eq(x3->match_no, x1->match_no + 1);
	cr_assert_eq(match_order_leaves(e, s2), 20);
	cr_assert_eq(match_order_leaves(e, s1), -ENOENT, "filled orders leave the book");
	cr_assert_eq(count_kind(from, MATCH_EV_RESTED), 0, "fully filled aggressor does not rest");
	match_destroy(e);
}

Test(match, price_time_priority_within_a_level)
{
	struct match_engine *e = engine();
	uint64_t first = limit(e, 'S', 1000, 10, 1);
	uint64_t second = limit(e, 'S', 1000, 10, 2);
	uint64_t better = limit(e, 'S', 999, 10, 3);
	size_t from = nev;
	limit(e, 'B', 1000, 25, 4);
	cr_assert_eq(find_kind(from, MATCH_EV_EXECUTED, 1)->id, better, "better price first");
	cr_assert_eq(find_kind(from, MATCH_EV_EXECUTED, 3)->id, first, "then time");
	cr_assert_eq(find_kind(from, MATCH_EV_EXECUTED, 5)->id, second);
	cr_assert_eq(match_order_leaves(e, second), 5);
	match_destroy(e);
}

Test(match, ioc_executes_what_it_can_and_cancels_the_rest)
{
	struct match_engine *e = engine();
	limit(e, 'S', 1000, 30, 1);
	size_t from = nev;
	struct match_order o = { .instrument = 1,
				 .firm = 2,
				 .side = MATCH_BUY,
				 .tif = MATCH_IOC,
				 .price = 1000,
				 .qty = 50 };
	uint64_t id;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	const struct match_event *c = find_kind(from, MATCH_EV_CANCELED, 0);
	cr_assert_not_null(c);
	cr_assert_eq(c->reason, MATCH_R_IOC);
	cr_assert_eq(c->qty, 20);
	cr_assert_eq(match_order_count(e), 0);
	match_destroy(e);
}

Test(match, fok_is_all_or_nothing)
{
	struct match_engine *e = engine();
	limit(e, 'S', 1000, 30, 1);
	limit(e, 'S', 1001, 30, 1);
	struct match_order o = { .instrument = 1,
				 .firm = 2,
				 .side = MATCH_BUY,
				 .tif = MATCH_FOK,
				 .price = 1001,
				 .qty = 61 };
	uint64_t id;
	size_t from = nev;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	cr_assert_eq(count_kind(from, MATCH_EV_EXECUTED), 0);
	cr_assert_eq(find_kind(from, MATCH_EV_CANCELED, 0)->reason, MATCH_R_FOK);
	cr_assert_eq(match_order_count(e), 2, "book untouched");

	o.qty = 60;
	from = nev;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	cr_assert_eq(count_kind(from, MATCH_EV_EXECUTED), 4);
	cr_assert_eq(match_order_count(e), 0);
	match_destroy(e);
}

Test(match, market_order_into_an_empty_book_is_canceled)
{
	struct match_engine *e = engine();
	struct match_order o = {
		.instrument = 1, .firm = 2, .side = MATCH_SELL, .market = true, .qty = 10
	};
	uint64_t id;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[1].kind, MATCH_EV_CANCELED);
	cr_assert_eq(evs[1].reason, MATCH_R_IOC);
	cr_assert_eq(evs[1].qty, 10);
	match_destroy(e);
}

Test(match, market_order_sweeps_any_price)
{
	struct match_engine *e = engine();
	limit(e, 'B', 900, 10, 1);
	limit(e, 'B', 500, 10, 1);
	struct match_order o = {
		.instrument = 1, .firm = 2, .side = MATCH_SELL, .market = true, .qty = 20
	};
	uint64_t id;
	size_t from = nev;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	cr_assert_eq(find_kind(from, MATCH_EV_EXECUTED, 2)->price, 500);
	cr_assert_eq(match_order_count(e), 0);
	match_destroy(e);
}

Test(match, post_only_that_would_cross_is_rejected)
{
	struct match_engine *e = engine();
	limit(e, 'S', 1000, 10, 1);
	struct match_order o = { .instrument = 1,
				 .firm = 2,
				 .side = MATCH_BUY,
				 .post_only = true,
				 .price = 1000,
				 .qty = 5 };
	uint64_t id;
	size_t from = nev;
	cr_assert_eq(match_submit(e, &o, &id), -EINVAL);
	cr_assert_eq(evs[from].kind, MATCH_EV_REJECTED);
	cr_assert_eq(evs[from].reason, MATCH_R_WOULD_CROSS);
	o.price = 999;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	cr_assert_eq(match_order_leaves(e, id), 5);
	match_destroy(e);
}

Test(match, min_qty_not_available_cancels_and_available_executes)
{
	struct match_engine *e = engine();
	limit(e, 'S', 1000, 30, 1);
	struct match_order o = { .instrument = 1,
				 .firm = 2,
				 .side = MATCH_BUY,
				 .price = 1000,
				 .qty = 100,
				 .min_qty = 40 };
	uint64_t id;
	size_t from = nev;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	cr_assert_eq(find_kind(from, MATCH_EV_CANCELED, 0)->reason, MATCH_R_MIN_QTY);
	o.min_qty = 30;
	from = nev;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	cr_assert_eq(count_kind(from, MATCH_EV_EXECUTED), 2);
	cr_assert_eq(match_order_leaves(e, id), 70, "the rest rests");
	match_destroy(e);
}

Test(match, self_trade_cancels_the_newest_order)
{
	struct match_engine *e = engine();
	uint64_t other = limit(e, 'S', 1000, 10, 9);
	uint64_t own = limit(e, 'S', 1001, 10, 5);
	size_t from = nev;
	uint64_t b = limit(e, 'B', 1001, 30, 5);
	cr_assert_eq(count_kind(from, MATCH_EV_EXECUTED), 2, "traded with the other firm only");
	const struct match_event *c = find_kind(from, MATCH_EV_CANCELED, 0);
	cr_assert_eq(c->id, b);
	cr_assert_eq(c->reason, MATCH_R_SELF_TRADE);
	cr_assert_eq(c->qty, 20);
	cr_assert_eq(match_order_leaves(e, own), 10, "the resting own order stays");
	cr_assert_eq(match_order_leaves(e, other), -ENOENT);
	match_destroy(e);
}

Test(match, replace_down_at_same_price_keeps_priority_with_a_new_id)
{
	struct match_engine *e = engine();
	uint64_t a = limit(e, 'B', 1000, 50, 1);
	uint64_t b = limit(e, 'B', 1000, 50, 2);
	uint64_t na;
	cr_assert_eq(match_replace(e, a, 1000, 30, &na), 0);
	cr_assert_neq(na, a);
	cr_assert_eq(evs[nev - 1].kind, MATCH_EV_REPLACED);
	cr_assert(evs[nev - 1].kept_priority);
	cr_assert_eq(match_order_leaves(e, a), -ENOENT, "old id is gone");
	size_t from = nev;
	limit(e, 'S', 1000, 30, 3);
	cr_assert_eq(find_kind(from, MATCH_EV_EXECUTED, 1)->id, na, "still first in line");
	cr_assert_eq(match_order_leaves(e, b), 50);
	match_destroy(e);
}

Test(match, replace_up_or_new_price_goes_to_the_back)
{
	struct match_engine *e = engine();
	uint64_t a = limit(e, 'B', 1000, 50, 1);
	uint64_t b = limit(e, 'B', 1000, 50, 2);
	uint64_t na;
	cr_assert_eq(match_replace(e, a, 1000, 60, &na), 0);
	cr_assert(!evs[nev - 2].kept_priority || evs[nev - 1].kind == MATCH_EV_RESTED);
	size_t from = nev;
	limit(e, 'S', 1000, 50, 3);
	cr_assert_eq(find_kind(from, MATCH_EV_EXECUTED, 1)->id, b, "b is first now");
	cr_assert_eq(match_order_leaves(e, na), 60);
	match_destroy(e);
}

Test(match, replace_to_a_crossing_price_executes)
{
	struct match_engine *e = engine();
	limit(e, 'S', 1005, 10, 1);
	uint64_t a = limit(e, 'B', 1000, 10, 2);
	uint64_t na;
	size_t from = nev;
	cr_assert_eq(match_replace(e, a, 1005, 10, &na), 0);
	cr_assert_eq(find_kind(from, MATCH_EV_EXECUTED, 0)->id, na);
	cr_assert_eq(match_order_count(e), 0);
	match_destroy(e);
}

Test(match, cancel_reduces_or_removes_and_unknown_is_an_error)
{
	struct match_engine *e = engine();
	uint64_t a = limit(e, 'S', 1000, 50, 1);
	int64_t b, bq, ask, aq;
	cr_assert_eq(match_cancel(e, a, 20), 0);
	cr_assert_eq(evs[nev - 1].qty, 30);
	cr_assert_eq(evs[nev - 1].leaves, 20);
	match_bbo(e, 1, &b, &bq, &ask, &aq);
	cr_assert_eq(aq, 20);
	cr_assert_eq(match_cancel(e, a, 0), 0);
	match_bbo(e, 1, &b, &bq, &ask, &aq);
	cr_assert_eq(ask, 0);
	cr_assert_eq(match_cancel(e, a, 0), -ENOENT);
	uint64_t n;
	cr_assert_eq(match_replace(e, 12345, 1000, 1, &n), -ENOENT);
	match_destroy(e);
}

Test(match, bad_price_quantity_side_and_instrument_are_rejected)
{
	struct match_engine *e = engine();
	struct match_order o = { .instrument = 1, .side = MATCH_BUY, .price = 0, .qty = 10 };
	uint64_t id;
	cr_assert_eq(match_submit(e, &o, &id), -EINVAL);
	cr_assert_eq(evs[nev - 1].reason, MATCH_R_BAD_PRICE);
	o.price = 100;
	o.qty = 0;
	cr_assert_eq(match_submit(e, &o, &id), -EINVAL);
	cr_assert_eq(evs[nev - 1].reason, MATCH_R_BAD_QTY);
	o.qty = 10;
	o.side = 'X';
	cr_assert_eq(match_submit(e, &o, &id), -EINVAL);
	cr_assert_eq(evs[nev - 1].reason, MATCH_R_BAD_SIDE);
	o.side = MATCH_SELL;
	o.instrument = 4;
	cr_assert_eq(match_submit(e, &o, &id), -EINVAL);
	cr_assert_eq(evs[nev - 1].reason, MATCH_R_BAD_INSTRUMENT);
	cr_assert_eq(match_stats(e)->rejected, 4);
	cr_assert_eq(match_order_count(e), 0);
	match_destroy(e);
}

Test(match, full_book_cancels_the_remainder)
{
	struct match_cfg cfg = { .instruments = 1, .max_orders = 4, .max_levels = 2 };
	nev = 0;
	struct match_engine *e = match_create(&cfg, record, NULL);
	struct match_order o = { .instrument = 0, .firm = 1, .side = MATCH_BUY, .qty = 1 };
	uint64_t id;
	o.price = 100;
	match_submit(e, &o, &id);
	o.price = 101;
	match_submit(e, &o, &id);
	o.price = 102; /* a third level */
	match_submit(e, &o, &id);
	cr_assert_eq(evs[nev - 1].kind, MATCH_EV_CANCELED);
	cr_assert_eq(evs[nev - 1].reason, MATCH_R_BOOK_FULL);
	cr_assert_eq(match_order_count(e), 2);
	match_destroy(e);
}

/* Prices further apart than any ladder is wide (4096), so most of these levels lie beyond it. */
Test(match, far_prices_rest_and_trade_in_price_order)
{
	struct match_engine *e = engine();
	int64_t b, bq, a, aq;
	limit(e, 'B', 100000, 10, 1);
	limit(e, 'B', 90000, 10, 1);
	limit(e, 'B', 50000, 10, 1);
	limit(e, 'B', 95000, 10, 1);
	limit(e, 'B', 50000, 5, 1);
	match_bbo(e, 1, &b, &bq, &a, &aq);
	cr_assert_eq(b, 100000);
	cr_assert_eq(bq, 10);
	struct match_order o = {
		.instrument = 1, .firm = 2, .side = MATCH_SELL, .market = true, .qty = 45
	};
	uint64_t id;
	size_t from = nev;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	static const int64_t px[] = { 100000, 95000, 90000, 50000, 50000 };
	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(find_kind(from, MATCH_EV_EXECUTED, 2 * i)->price, px[i], "fill %zu",
			     i);
	cr_assert_eq(match_order_count(e), 0);
	match_bbo(e, 1, &b, &bq, &a, &aq);
	cr_assert_eq(b, 0);
	match_destroy(e);
}

Test(match, a_new_best_far_ahead_of_the_book_keeps_everyones_priority)
{
	struct match_engine *e = engine();
	int64_t b, bq, a, aq;
	uint64_t first = limit(e, 'S', 100000, 10, 1);
	uint64_t other = limit(e, 'S', 100001, 10, 1);
	uint64_t ahead = limit(e, 'S', 10000, 10, 1);
	match_bbo(e, 1, &b, &bq, &a, &aq);
	cr_assert_eq(a, 10000);
	cr_assert_eq(match_cancel(e, ahead, 0), 0);
	match_bbo(e, 1, &b, &bq, &a, &aq);
	cr_assert_eq(a, 100000, "the touch went back to the book's bulk");
	cr_assert_eq(aq, 10);
	uint64_t second = limit(e, 'S', 100000, 5, 1);
	size_t from = nev;
	limit(e, 'B', 100000, 15, 2);
	cr_assert_eq(find_kind(from, MATCH_EV_EXECUTED, 1)->id, first);
	cr_assert_eq(find_kind(from, MATCH_EV_EXECUTED, 3)->id, second);
	cr_assert_eq(match_order_leaves(e, other), 10);
	match_bbo(e, 1, &b, &bq, &a, &aq);
	cr_assert_eq(a, 100001);
	match_destroy(e);
}

/* The touch walks 100 ticks at a time, 60 times down and back up: far past any ladder width. */
Test(match, the_book_follows_a_touch_that_walks_away)
{
	struct match_engine *e = engine();
	int64_t b, bq, a, aq;
	uint64_t prev = 0;
	for (int i = 0; i < 120; i++) {
		int64_t px = 100000 + 100 * (i < 60 ? -i : i - 120);
		uint64_t id = limit(e, 'B', px, 1 + i, 1);
		limit(e, 'B', 89950 - 100 * (i % 30), 1, 1); /* deep levels, below the walk, stay */
		if (prev)
			cr_assert_eq(match_cancel(e, prev, 0), 0);
		prev = id;
		match_bbo(e, 1, &b, &bq, &a, &aq);
		cr_assert_eq(b, px, "step %d", i);
		cr_assert_eq(bq, 1 + i, "step %d", i);
	}
	/* 120 deep orders over 30 prices and the last touch order: a sweep takes them best first. */
	struct match_order o = {
		.instrument = 1, .firm = 2, .side = MATCH_SELL, .market = true, .qty = 1000
	};
	uint64_t id;
	size_t from = nev;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	int64_t last = INT64_MAX;
	size_t fills = 0;
	for (const struct match_event *x; (x = find_kind(from, MATCH_EV_EXECUTED, 2 * fills));
	     fills++) {
		cr_assert_leq(x->price, last, "fill %zu out of price order", fills);
		last = x->price;
	}
	cr_assert_eq(fills, 121);
	cr_assert_eq(match_order_count(e), 0);
	match_destroy(e);
}

Test(match, level_limit_counts_levels_beyond_the_ladder_and_ahead_of_it)
{
	struct match_cfg cfg = { .instruments = 1, .max_orders = 16, .max_levels = 3 };
	struct match_order o = { .instrument = 0, .firm = 1, .side = MATCH_BUY, .qty = 1 };
	int64_t b, bq, a, aq;
	uint64_t id, low[2];
	nev = 0;
	struct match_engine *e = match_create(&cfg, record, NULL);
	cr_assert_not_null(e);
	o.price = 1000;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	o.price = 100000; /* a new best far ahead */
	cr_assert_eq(match_submit(e, &o, &id), 0);
	o.price = 500; /* far behind */
	cr_assert_eq(match_submit(e, &o, &low[0]), 0);
	cr_assert_eq(evs[nev - 1].kind, MATCH_EV_RESTED);
	static const int64_t more[] = { 2000, 200000, 100 };
	for (size_t i = 0; i < 3; i++) {
		o.price = more[i];
		cr_assert_eq(match_submit(e, &o, &id), 0);
		cr_assert_eq(evs[nev - 1].kind, MATCH_EV_CANCELED, "price %ld", (long)more[i]);
		cr_assert_eq(evs[nev - 1].reason, MATCH_R_BOOK_FULL);
	}
	o.price = 500; /* an existing level takes more orders */
	cr_assert_eq(match_submit(e, &o, &low[1]), 0);
	cr_assert_eq(evs[nev - 1].kind, MATCH_EV_RESTED);
	cr_assert_eq(match_order_count(e), 4);
	match_bbo(e, 0, &b, &bq, &a, &aq);
	cr_assert_eq(b, 100000);
	/* Emptying a level frees its slot for a new price. */
	cr_assert_eq(match_cancel(e, low[0], 0), 0);
	cr_assert_eq(match_cancel(e, low[1], 0), 0);
	o.price = 200000;
	cr_assert_eq(match_submit(e, &o, &id), 0);
	cr_assert_eq(evs[nev - 1].kind, MATCH_EV_RESTED);
	match_bbo(e, 0, &b, &bq, &a, &aq);
	cr_assert_eq(b, 200000);
	match_destroy(e);
}

/* A brute-force model: every resting order with its price and quantity, checked against the
 * engine's BBO and per-order leaves after each of many random operations. */
struct model_ord {
	uint64_t id;
	int side;
	int64_t px, qty;
};

/*
 * Runs steps random operations on one instrument with prices base + [0, spread), where base moves
 * by drift every 1000 steps (alternately up and down, twice as far up), and checks the engine
 * against the model.
 */
static void random_against_model(const struct match_cfg *cfg, int steps, int64_t spread,
				 int64_t drift)
{
	struct match_engine *e = match_create(cfg, record, NULL);
	static struct model_ord live[4096];
	uint64_t x = 88172645463325252ull;
	uint64_t executed_qty = 0;
	int64_t base = 1000;

	cr_assert_not_null(e);
	cr_assert_leq(cfg->max_orders, 4096);
	memset(live, 0, sizeof(live));
	for (int step = 0; step < steps; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		nev = 0;
		if (step % 1000 == 999)
			base += (step / 1000) % 2 ? -drift : 2 * drift;
		int op = (int)(x % 10);
		uint64_t id;
		if (op < 6 || match_order_count(e) == 0) {
			struct match_order o = { .instrument = 0,
						 .firm = (uint32_t)(x >> 8) % 7,
						 .side = (x >> 12) & 1 ? MATCH_SELL : MATCH_BUY,
						 .price = base +
							  (int64_t)((x >> 16) % (uint64_t)spread),
						 .qty = 1 + (int64_t)((x >> 24) % 100) };
			match_submit(e, &o, &id);
		} else {
			/* pick a live order through the events of an earlier step: use the model */
			size_t n = 0;
			for (size_t i = 0; i < 4096; i++)
				n += live[i].id != 0;
			if (n == 0)
				continue;
			size_t k = (x >> 20) % n;
			size_t i = 0;
			for (;; i++)
				if (live[i].id && k-- == 0)
					break;
			if (op < 8)
				match_cancel(e, live[i].id, live[i].qty / 2);
			else
				match_replace(e, live[i].id,
					      base + (int64_t)((x >> 30) % (uint64_t)spread),
					      1 + (int64_t)((x >> 40) % 100), &id);
		}
		/* Apply the events to the model. */
		for (size_t j = 0; j < nev; j++) {
			const struct match_event *ev = &evs[j];
			struct model_ord *m = NULL;
			for (size_t i = 0; i < 4096 && !m; i++)
				if (live[i].id == ev->id)
					m = &live[i];
			switch (ev->kind) {
			case MATCH_EV_RESTED:
				for (size_t i = 0; i < 4096; i++)
					if (!live[i].id) {
						live[i] = (struct model_ord){ ev->id,
									      ev->side == 'S',
									      ev->price, ev->qty };
						break;
					}
				break;
			case MATCH_EV_EXECUTED:
				executed_qty += (uint64_t)ev->qty;
				if (m) {
					cr_assert(ev->passive);
					m->qty -= ev->qty;
					cr_assert_eq(m->qty, ev->leaves);
					if (m->qty == 0)
						m->id = 0;
				}
				break;
			case MATCH_EV_CANCELED:
				if (m) {
					m->qty = ev->leaves;
					if (m->qty == 0)
						m->id = 0;
				}
				break;
			case MATCH_EV_REPLACED:
				cr_assert_not_null(m);
				if (ev->kept_priority) {
					m->id = ev->new_id;
					m->qty = ev->leaves;
				} else {
					m->id = 0;
				}
				break;
			default: break;
			}
		}
		/* Check the BBO and that the book never stays crossed. */
		if (step % 97 == 0) {
			int64_t bb = 0, bbq = 0, ba = 0, baq = 0, b, bq, a, aq;
			uint32_t count = 0;
			for (size_t i = 0; i < 4096; i++) {
				if (!live[i].id)
					continue;
				count++;
				cr_assert_eq(match_order_leaves(e, live[i].id), live[i].qty);
				if (live[i].side == 0 && live[i].px > bb)
					bb = live[i].px;
				if (live[i].side == 1 && (ba == 0 || live[i].px < ba))
					ba = live[i].px;
			}
			for (size_t i = 0; i < 4096; i++) {
				if (live[i].id && live[i].side == 0 && live[i].px == bb)
					bbq += live[i].qty;
				if (live[i].id && live[i].side == 1 && live[i].px == ba)
					baq += live[i].qty;
			}
			match_bbo(e, 0, &b, &bq, &a, &aq);
			cr_assert_eq(count, match_order_count(e), "step %d", step);
			cr_assert_eq(b, bb, "step %d", step);
			cr_assert_eq(a, ba, "step %d", step);
			cr_assert_eq(bq, bbq, "step %d", step);
			cr_assert_eq(aq, baq, "step %d", step);
			cr_assert(b == 0 || a == 0 || b < a, "crossed book at step %d", step);
		}
	}
	cr_assert_gt(executed_qty, 10000, "the sequence traded");
	match_destroy(e);
}

Test(match, random_operations_agree_with_a_brute_force_model, .timeout = 60)
{
	struct match_cfg cfg = { .instruments = 1, .max_orders = 4096, .max_levels = 512 };
	random_against_model(&cfg, 200000, 40, 0);
}

/* Prices over far more levels than the ladder is wide, a touch that wanders, and sides that
 * reach their level limit. */
Test(match, random_operations_over_far_and_drifting_prices_agree_with_the_model, .timeout = 60)
{
	struct match_cfg cfg = { .instruments = 1, .max_orders = 4096, .max_levels = 300 };
	random_against_model(&cfg, 200000, 3000, 700);
}

/*
 * Order ids name pool slots under a serial: they grow in acceptance order, a slot reused by a new
 * order never makes an old id valid again, and a replace's new id finds the same order.
 */
Test(match, ids_grow_and_never_come_back)
{
	struct match_cfg cfg = { .instruments = 1, .max_orders = 2, .max_levels = 8 };
	struct match_order o = { .instrument = 0, .firm = 1, .side = MATCH_BUY, .qty = 10 };
	uint64_t a, b, c, d, na, x;
	nev = 0;
	struct match_engine *e = match_create(&cfg, record, NULL);
	cr_assert_not_null(e);

	o.price = 100;
	cr_assert_eq(match_submit(e, &o, &a), 0);
	o.price = 101;
	cr_assert_eq(match_submit(e, &o, &b), 0);
	cr_assert_gt(b, a);
	/* The references a venue publishes are dense: one per accepted order. */
	cr_assert_eq(match_ref(e, a), 1);
	cr_assert_eq(match_ref(e, b), 2);
	cr_assert_eq(match_order_leaves(e, a), 10);
	cr_assert_eq(match_order_leaves(e, b), 10);

	/* The pool is full: an order that would rest is canceled, yet it got an id of its own. */
	o.price = 102;
	cr_assert_eq(match_submit(e, &o, &c), 0);
	cr_assert_gt(c, b);
	cr_assert_eq(evs[nev - 1].kind, MATCH_EV_CANCELED);
	cr_assert_eq(evs[nev - 1].reason, MATCH_R_BOOK_FULL);
	cr_assert_eq(match_order_leaves(e, c), -ENOENT);

	/* Even with the pool full, an order that fills in full trades. */
	struct match_order s = { .instrument = 0, .firm = 2, .side = MATCH_SELL, .qty = 10,
				 .price = 101 };
	cr_assert_eq(match_submit(e, &s, &x), 0);
	cr_assert_eq(count_kind(0, MATCH_EV_EXECUTED), 2);
	cr_assert_eq(match_order_leaves(e, b), -ENOENT, "b filled");

	/* b's slot goes to d; b stays unknown, and so do ids nobody was given. */
	o.price = 99;
	cr_assert_eq(match_submit(e, &o, &d), 0);
	cr_assert_eq(evs[nev - 1].kind, MATCH_EV_RESTED);
	cr_assert_eq(match_order_leaves(e, d), 10);
	cr_assert_eq(match_order_leaves(e, b), -ENOENT);
	cr_assert_eq(match_cancel(e, b, 0), -ENOENT);
	cr_assert_eq(match_order_leaves(e, 0), -ENOENT);
	cr_assert_eq(match_order_leaves(e, d + 1), -ENOENT);
	cr_assert_eq(match_order_leaves(e, UINT64_MAX), -ENOENT);

	/* A replace to a new price: the old id is gone, the new one is the order. */
	cr_assert_eq(match_replace(e, a, 98, 7, &na), 0);
	cr_assert_gt(na, d);
	cr_assert_eq(match_ref(e, na), match_ref(e, d) + 1, "a replace takes the next reference");
	cr_assert_eq(match_order_leaves(e, a), -ENOENT);
	cr_assert_eq(match_order_leaves(e, na), 7);
	cr_assert_eq(match_order_count(e), 2);
	cr_assert_eq(match_cancel(e, na, 0), 0);
	cr_assert_eq(match_order_leaves(e, na), -ENOENT);
	cr_assert_eq(match_order_count(e), 1);
	match_destroy(e);
}
