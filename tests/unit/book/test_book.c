/*
 * Description: order book operations and their effect on L3 queues, the L2 view and the BBO;
 * refused operations leave the book unchanged; the reference map under churn; L2 against a
 * brute-force recomputation after a long random sequence, near the touch and over prices wide
 * enough to leave the price ladder and move it; the level limit; the instrument directory.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"

static struct book_set *mk_step(uint32_t instruments, uint32_t orders, uint32_t levels,
				uint32_t step)
{
	struct book_cfg cfg = { instruments, orders, levels, step };
	struct book_set *bs = book_set_create(&cfg);
	cr_assert_not_null(bs);
	return bs;
}

static struct book_set *mk(uint32_t instruments, uint32_t orders, uint32_t levels)
{
	return mk_step(instruments, orders, levels, 0);
}

struct walk {
	uint64_t refs[64];
	int64_t qty[64];
	int n;
};

static void collect(void *ctx, uint64_t ref, int64_t price, int64_t qty)
{
	struct walk *w = ctx;
	w->refs[w->n] = ref;
	w->qty[w->n++] = qty;
}

Test(book, add_sets_l2_and_bbo)
{
	struct book_set *bs = mk(4, 64, 16);
	struct book_bbo b;
	cr_assert_eq(book_add(bs, 1, 10, BOOK_BID, 1000, 100), 0);
	cr_assert_eq(book_add(bs, 1, 11, BOOK_BID, 1000, 50), 0);
	cr_assert_eq(book_add(bs, 1, 12, BOOK_BID, 999, 70), 0);
	cr_assert_eq(book_add(bs, 1, 13, BOOK_ASK, 1002, 30), 0);
	book_bbo(bs, 1, &b);
	cr_assert_eq(b.bid_px, 1000);
	cr_assert_eq(b.bid_qty, 150);
	cr_assert_eq(b.ask_px, 1002);
	cr_assert_eq(b.ask_qty, 30);
	struct book_level_view lv[4];
	cr_assert_eq(book_depth(bs, 1, BOOK_BID, lv, 4), 2);
	cr_assert_eq(lv[0].price, 1000);
	cr_assert_eq(lv[0].orders, 2);
	cr_assert_eq(lv[1].price, 999);
	cr_assert_eq(lv[1].qty, 70);
	cr_assert_eq(book_instrument_orders(bs, 1), 4);
	cr_assert_eq(book_instrument_orders(bs, 2), 0);
	book_set_destroy(bs);
}

Test(book, queue_keeps_time_priority)
{
	struct book_set *bs = mk(1, 64, 16);
	struct walk w = { 0 };
	book_add(bs, 0, 1, BOOK_ASK, 500, 10);
	book_add(bs, 0, 2, BOOK_ASK, 500, 20);
	book_add(bs, 0, 3, BOOK_ASK, 499, 30);
	book_add(bs, 0, 4, BOOK_ASK, 500, 40);
	book_walk(bs, 0, BOOK_ASK, collect, &w);
	cr_assert_eq(w.n, 4);
	uint64_t want[] = { 3, 1, 2, 4 };
	cr_assert_arr_eq(w.refs, want, sizeof(want));
	book_set_destroy(bs);
}

Test(book, partial_executions_down_to_zero_remove_the_order_and_level)
{
	struct book_set *bs = mk(1, 64, 16);
	struct book_fill f;
	struct book_bbo b;
	book_add(bs, 0, 7, BOOK_BID, 100, 300);
	cr_assert_eq(book_execute(bs, 7, 100, &f), 0);
	cr_assert_eq(f.qty, 100);
	cr_assert_eq(f.remaining, 200);
	cr_assert_eq(f.price, 100);
	cr_assert_eq(f.side, BOOK_BID);
	book_bbo(bs, 0, &b);
	cr_assert_eq(b.bid_qty, 200);
	cr_assert_eq(book_cancel(bs, 7, 50, &f), 0);
	cr_assert_eq(f.remaining, 150);
	cr_assert_eq(book_execute(bs, 7, 150, &f), 0);
	cr_assert_eq(f.remaining, 0);
	book_bbo(bs, 0, &b);
	cr_assert_eq(b.bid_px, 0);
	cr_assert_eq(book_order_count(bs), 0);
	cr_assert_eq(book_delete(bs, 7, NULL), -ENOENT, "gone after its last share");
	book_set_destroy(bs);
}

Test(book, replace_gets_a_new_ref_and_loses_priority)
{
	struct book_set *bs = mk(1, 64, 16);
	struct walk w = { 0 };
	struct book_fill f;
	book_add(bs, 0, 1, BOOK_BID, 100, 10);
	book_add(bs, 0, 2, BOOK_BID, 100, 10);
	cr_assert_eq(book_replace(bs, 1, 9, 100, 5, &f), 0);
	cr_assert_eq(f.qty, 5);
	book_walk(bs, 0, BOOK_BID, collect, &w);
	cr_assert_eq(w.n, 2);
	cr_assert_eq(w.refs[0], 2);
	cr_assert_eq(w.refs[1], 9);
	cr_assert_eq(book_delete(bs, 1, NULL), -ENOENT, "old reference is gone");
	cr_assert_eq(book_replace(bs, 9, 10, 101, 5, NULL), 0);
	struct book_bbo b;
	book_bbo(bs, 0, &b);
	cr_assert_eq(b.bid_px, 101);
	book_set_destroy(bs);
}

Test(book, unknown_references_are_counted_and_change_nothing)
{
	struct book_set *bs = mk(2, 64, 16);
	book_add(bs, 1, 5, BOOK_ASK, 200, 10);
	uint64_t before = book_checksum(bs, 1);
	cr_assert_eq(book_execute(bs, 99, 1, NULL), -ENOENT);
	cr_assert_eq(book_cancel(bs, 99, 1, NULL), -ENOENT);
	cr_assert_eq(book_delete(bs, 99, NULL), -ENOENT);
	cr_assert_eq(book_replace(bs, 99, 100, 200, 1, NULL), -ENOENT);
	cr_assert_eq(book_checksum(bs, 1), before);
	cr_assert_eq(book_stats(bs)->unknown_ref, 4);
	book_set_destroy(bs);
}

/* Found by fuzz_feed: reference 0 matched an empty map slot and freed a wrong order. */
Test(book, reference_zero_is_never_found)
{
	struct book_set *bs = mk(1, 8, 4);
	book_add(bs, 0, 1, BOOK_BID, 100, 10);
	cr_assert_eq(book_execute(bs, 0, 1, NULL), -ENOENT);
	cr_assert_eq(book_cancel(bs, 0, 1, NULL), -ENOENT);
	cr_assert_eq(book_delete(bs, 0, NULL), -ENOENT);
	cr_assert_eq(book_replace(bs, 0, 5, 100, 1, NULL), -ENOENT);
	cr_assert_eq(book_add(bs, 0, 0, BOOK_BID, 100, 1), -EINVAL);
	cr_assert_eq(book_order_count(bs), 1);
	cr_assert_eq(book_execute(bs, 1, 10, NULL), 0);
	book_set_destroy(bs);
}

Test(book, duplicate_and_bad_adds_are_refused)
{
	struct book_set *bs = mk(2, 64, 16);
	cr_assert_eq(book_add(bs, 1, 5, BOOK_ASK, 200, 10), 0);
	cr_assert_eq(book_add(bs, 0, 5, BOOK_BID, 100, 10), -EEXIST);
	cr_assert_eq(book_add(bs, 2, 6, BOOK_BID, 100, 10), -EINVAL);
	cr_assert_eq(book_add(bs, 0, 6, BOOK_BID, 0, 10), -EINVAL);
	cr_assert_eq(book_add(bs, 0, 6, BOOK_BID, 100, 0), -EINVAL);
	cr_assert_eq(book_stats(bs)->dup_ref, 1);
	cr_assert_eq(book_stats(bs)->bad_order, 3);
	cr_assert_eq(book_order_count(bs), 1);
	book_set_destroy(bs);
}

Test(book, over_execution_removes_the_order_and_is_reported)
{
	struct book_set *bs = mk(1, 8, 4);
	struct book_fill f;
	book_add(bs, 0, 1, BOOK_BID, 100, 10);
	cr_assert_eq(book_execute(bs, 1, 11, &f), -ERANGE);
	cr_assert_eq(f.qty, 10);
	cr_assert_eq(book_order_count(bs), 0);
	cr_assert_eq(book_stats(bs)->over_execute, 1);
	book_set_destroy(bs);
}

Test(book, pool_exhaustion_is_refused_and_recovers_after_deletes)
{
	struct book_set *bs = mk(1, 4, 8);
	for (uint64_t r = 1; r <= 4; r++)
		cr_assert_eq(book_add(bs, 0, r, BOOK_BID, 100 + (int64_t)r, 1), 0);
	cr_assert_eq(book_add(bs, 0, 5, BOOK_BID, 100, 1), -ENOSPC);
	cr_assert_eq(book_stats(bs)->pool_full, 1);
	cr_assert_eq(book_delete(bs, 2, NULL), 0);
	cr_assert_eq(book_add(bs, 0, 5, BOOK_BID, 100, 1), 0);
	book_set_destroy(bs);

	bs = mk(1, 16, 2);
	book_add(bs, 0, 1, BOOK_ASK, 100, 1);
	book_add(bs, 0, 2, BOOK_ASK, 101, 1);
	cr_assert_eq(book_add(bs, 0, 3, BOOK_ASK, 102, 1), -ENOSPC, "no third level");
	cr_assert_eq(book_add(bs, 0, 3, BOOK_ASK, 101, 1), 0, "an existing level takes it");
	book_set_destroy(bs);
}

Test(book, reference_map_survives_heavy_churn)
{
	enum { N = 4096 };
	struct book_set *bs = mk(1, N, 4096);
	uint64_t x = 12345;
	static uint8_t live[4 * N + 1];
	for (uint64_t r = 1; r <= N; r++) {
		cr_assert_eq(book_add(bs, 0, r * 7919, BOOK_BID, (int64_t)(1 + r % 500), 1), 0);
		live[r] = 1;
	}
	for (int round = 0; round < 20000; round++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t r = 1 + x % (4 * N);
		if (live[r]) {
			cr_assert_eq(book_delete(bs, r * 7919, NULL), 0, "ref %lu", r);
			live[r] = 0;
		} else if (book_order_count(bs) < N) {
			cr_assert_eq(book_add(bs, 0, r * 7919, BOOK_ASK, 1000, 1), 0);
			live[r] = 1;
		}
	}
	uint32_t n = 0;
	for (uint64_t r = 1; r <= 4 * N; r++) {
		n += live[r];
		int got = book_execute(bs, r * 7919, 1, NULL);
		cr_assert_eq(got, live[r] ? 0 : -ENOENT, "ref %lu", r);
	}
	cr_assert_gt(n, 0);
	cr_assert_eq(book_order_count(bs), 0);
	book_set_destroy(bs);
}

/* A brute-force model: the live orders; L2 is recomputed from them and compared with depth. */
struct model {
	uint64_t ref;
	uint32_t instr;
	int side;
	int64_t px, qty;
};

static int cmp_level(const void *a, const void *b)
{
	const struct book_level_view *x = a, *y = b;
	return (x->price > y->price) - (x->price < y->price);
}

static void check_l2(struct book_set *bs, const struct model *m, size_t nm, uint32_t instr,
		     int side)
{
	static struct book_level_view want[4096], got[4096];
	uint32_t nw = 0;
	for (size_t i = 0; i < nm; i++) {
		if (!m[i].ref || m[i].instr != instr || m[i].side != side)
			continue;
		uint32_t k = 0;
		while (k < nw && want[k].price != m[i].px)
			k++;
		if (k == nw)
			want[nw++] = (struct book_level_view){ m[i].px, 0, 0 };
		want[k].qty += m[i].qty;
		want[k].orders++;
	}
	qsort(want, nw, sizeof(want[0]), cmp_level);
	uint32_t ng = book_depth(bs, instr, side, got, 4096);
	cr_assert_eq(ng, nw, "levels instr %u side %d", instr, side);
	for (uint32_t i = 0; i < ng; i++) {
		/* depth is best first: bids descending, asks ascending */
		const struct book_level_view *w = side == BOOK_BID ? &want[nw - 1 - i] : &want[i];
		cr_assert_eq(got[i].price, w->price);
		cr_assert_eq(got[i].qty, w->qty, "qty at %ld", w->price);
		cr_assert_eq(got[i].orders, w->orders);
	}
}

Test(book, l2_equals_brute_force_after_a_million_random_operations, .timeout = 120)
{
	enum { CAP = 2048, INSTR = 4 };
	struct book_set *bs = mk(INSTR, CAP, 1024);
	static struct model m[CAP];
	uint64_t x = 0xdeadbeefcafef00dull, next_ref = 1;

	for (int step = 1; step <= 1000000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t slot = x % CAP;
		struct model *o = &m[slot];
		int op = (int)((x >> 20) % 10);
		if (!o->ref) {
			struct model n = { next_ref++, (uint32_t)((x >> 30) % INSTR),
					   (int)((x >> 34) & 1), 1000 + (int64_t)((x >> 36) % 64),
					   1 + (int64_t)((x >> 44) % 500) };
			cr_assert_eq(book_add(bs, n.instr, n.ref, n.side, n.px, n.qty), 0);
			*o = n;
		} else if (op < 3) {
			int64_t q = 1 + (int64_t)((x >> 40) % (uint64_t)o->qty);
			cr_assert_eq(book_execute(bs, o->ref, q, NULL), 0);
			o->qty -= q;
			if (!o->qty)
				o->ref = 0;
		} else if (op < 5) {
			int64_t q = 1 + (int64_t)((x >> 40) % (uint64_t)o->qty);
			cr_assert_eq(book_cancel(bs, o->ref, q, NULL), 0);
			o->qty -= q;
			if (!o->qty)
				o->ref = 0;
		} else if (op < 7) {
			cr_assert_eq(book_delete(bs, o->ref, NULL), 0);
			o->ref = 0;
		} else {
			uint64_t nr = next_ref++;
			int64_t px = 1000 + (int64_t)((x >> 36) % 64),
				q = 1 + (int64_t)((x >> 44) % 500);
			cr_assert_eq(book_replace(bs, o->ref, nr, px, q, NULL), 0);
			o->ref = nr;
			o->px = px;
			o->qty = q;
		}
		if (step % 10000 == 0)
			for (uint32_t i = 0; i < INSTR; i++) {
				check_l2(bs, m, CAP, i, BOOK_BID);
				check_l2(bs, m, CAP, i, BOOK_ASK);
			}
	}
	book_set_destroy(bs);
}

/*
 * The price ladder of a side spans 8 slots per allowed level (at least 64) from a base kept a
 * little better than the best price; these tests use 16 levels, so 128 slots: prices more than
 * about 110 ticks behind the best live in the sorted overflow.
 */
static uint32_t depth_prices(struct book_set *bs, uint32_t instr, enum book_side side, int64_t *px,
			     uint32_t n)
{
	struct book_level_view lv[64];
	uint32_t k = book_depth(bs, instr, side, lv, n < 64 ? n : 64);
	for (uint32_t i = 0; i < k; i++)
		px[i] = lv[i].price;
	return k;
}

Test(book, prices_far_behind_the_best_stay_in_price_order)
{
	struct book_set *bs = mk(1, 64, 16);
	int64_t px[16];
	struct book_bbo b;
	cr_assert_eq(book_add(bs, 0, 1, BOOK_BID, 100000, 10), 0);
	cr_assert_eq(book_add(bs, 0, 2, BOOK_BID, 90000, 20), 0);
	cr_assert_eq(book_add(bs, 0, 3, BOOK_BID, 95000, 30), 0);
	cr_assert_eq(book_add(bs, 0, 4, BOOK_BID, 99990, 40), 0);
	cr_assert_eq(book_add(bs, 0, 5, BOOK_BID, 95000, 5), 0, "joins a far level");
	cr_assert_eq(book_add(bs, 0, 6, BOOK_ASK, 100500, 1), 0);
	cr_assert_eq(book_add(bs, 0, 7, BOOK_ASK, 200000, 1), 0);
	cr_assert_eq(depth_prices(bs, 0, BOOK_BID, px, 16), 4);
	int64_t want[] = { 100000, 99990, 95000, 90000 };
	cr_assert_arr_eq(px, want, sizeof(want));
	struct book_level_view lv[4];
	book_depth(bs, 0, BOOK_BID, lv, 4);
	cr_assert_eq(lv[2].qty, 35);
	cr_assert_eq(lv[2].orders, 2);
	cr_assert_eq(depth_prices(bs, 0, BOOK_ASK, px, 16), 2);
	cr_assert_eq(px[1], 200000);

	/* Emptying the near levels brings the far ones to the top. */
	cr_assert_eq(book_delete(bs, 1, NULL), 0);
	cr_assert_eq(book_delete(bs, 4, NULL), 0);
	book_bbo(bs, 0, &b);
	cr_assert_eq(b.bid_px, 95000);
	cr_assert_eq(b.bid_qty, 35);
	cr_assert_eq(book_delete(bs, 3, NULL), 0);
	cr_assert_eq(book_delete(bs, 5, NULL), 0);
	book_bbo(bs, 0, &b);
	cr_assert_eq(b.bid_px, 90000);
	cr_assert_eq(book_delete(bs, 6, NULL), 0);
	book_bbo(bs, 0, &b);
	cr_assert_eq(b.ask_px, 200000);
	cr_assert_eq(b.ask_qty, 1);
	cr_assert_eq(book_instrument_orders(bs, 0), 2);
	book_set_destroy(bs);
}

Test(book, a_new_best_far_ahead_moves_the_ladder_and_back)
{
	struct book_set *bs = mk(1, 64, 16);
	int64_t px[16];
	struct book_bbo b;
	for (uint64_t r = 1; r <= 10; r++)
		cr_assert_eq(book_add(bs, 0, r, BOOK_ASK, 5000 + (int64_t)r * 7, (int64_t)r), 0);
	uint64_t before = book_checksum(bs, 0);
	/* A much better ask: the ladder moves to it and every old level leaves the ladder. */
	cr_assert_eq(book_add(bs, 0, 99, BOOK_ASK, 10, 3), 0);
	book_bbo(bs, 0, &b);
	cr_assert_eq(b.ask_px, 10);
	cr_assert_eq(depth_prices(bs, 0, BOOK_ASK, px, 16), 11);
	cr_assert_eq(px[0], 10);
	for (int i = 1; i <= 10; i++)
		cr_assert_eq(px[i], 5000 + i * 7);
	/* Gone again: the ladder comes back to the old levels, with their queues intact. */
	cr_assert_eq(book_delete(bs, 99, NULL), 0);
	book_bbo(bs, 0, &b);
	cr_assert_eq(b.ask_px, 5007);
	cr_assert_eq(b.ask_qty, 1);
	cr_assert_eq(book_checksum(bs, 0), before);
	/* New orders land on the same levels again. */
	cr_assert_eq(book_add(bs, 0, 100, BOOK_ASK, 5014, 50), 0);
	struct book_level_view lv[2];
	cr_assert_eq(book_depth(bs, 0, BOOK_ASK, lv, 2), 2);
	cr_assert_eq(lv[1].qty, 52);
	cr_assert_eq(lv[1].orders, 2);
	book_set_destroy(bs);
}

Test(book, the_ladder_follows_a_market_that_walks_away)
{
	struct book_set *bs = mk(2, 256, 16);
	struct book_bbo b;
	uint64_t ref = 1;
	/* Bids walk down a tick at a time over many ladder widths, keeping a few levels behind;
	 * the instrument beside them must not notice. */
	cr_assert_eq(book_add(bs, 1, 100000, BOOK_BID, 42, 1), 0);
	for (int64_t p = 100000; p > 90000; p -= 3) {
		cr_assert_eq(book_add(bs, 0, ref++, BOOK_BID, p, 1), 0);
		if (ref > 6)
			cr_assert_eq(book_delete(bs, ref - 6, NULL), 0);
		book_bbo(bs, 0, &b);
		int64_t best = ref > 6 ? p + 12 : 100000;
		cr_assert_eq(b.bid_px, best, "at %ld", p);
	}
	cr_assert_eq(book_instrument_orders(bs, 0), 5);
	int64_t px[16];
	cr_assert_eq(depth_prices(bs, 0, BOOK_BID, px, 16), 5);
	for (int i = 1; i < 5; i++)
		cr_assert_eq(px[i], px[i - 1] - 3);
	book_bbo(bs, 1, &b);
	cr_assert_eq(b.bid_px, 42);
	book_set_destroy(bs);
}

Test(book, the_level_limit_is_refused_counted_and_changes_nothing)
{
	struct book_set *bs = mk(1, 64, 4);
	for (uint64_t r = 1; r <= 4; r++)
		cr_assert_eq(book_add(bs, 0, r, BOOK_BID, 1000 - (int64_t)r, 1), 0);
	uint64_t before = book_checksum(bs, 0);
	cr_assert_eq(book_add(bs, 0, 10, BOOK_BID, 998, 5), 0, "an existing level is no new level");
	cr_assert_eq(book_delete(bs, 10, NULL), 0);
	cr_assert_eq(book_add(bs, 0, 11, BOOK_BID, 995, 1), -ENOSPC, "near, new");
	cr_assert_eq(book_add(bs, 0, 12, BOOK_BID, 5000, 1), -ENOSPC, "a new best far ahead");
	cr_assert_eq(book_add(bs, 0, 13, BOOK_BID, 10, 1), -ENOSPC, "far behind");
	cr_assert_eq(book_stats(bs)->pool_full, 3);
	cr_assert_eq(book_checksum(bs, 0), before);
	cr_assert_eq(book_order_count(bs), 4);
	cr_assert_eq(book_add(bs, 0, 14, BOOK_ASK, 1001, 1), 0, "the other side has its own limit");
	/* A replace to a fifth price cannot be placed: the order is gone, counted. */
	cr_assert_eq(book_replace(bs, 1, 15, 900, 1, NULL), 0, "its level empties first");
	cr_assert_eq(book_replace(bs, 2, 16, 901, 1, NULL), 0);
	cr_assert_eq(book_add(bs, 0, 17, BOOK_BID, 902, 1), -ENOSPC);
	cr_assert_eq(book_stats(bs)->pool_full, 4);
	book_set_destroy(bs);
}

/*
 * The brute-force comparison over wide prices: a mid that drifts over many ladder widths, orders
 * up to 3000 ticks either side of it, so levels move between the ladder and the overflow, the
 * ladder re-bases both ways and the level limit is reached. Refusals are checked against the
 * model: an add refused for the level limit changes nothing, a refused replace removes the order.
 */
/*
 * Random adds, executions, deletes and replaces over three drifting markets, L2 checked against
 * the model every 2000 steps. With a price step, prices are on its grid except, when off_grid is
 * set, one in 500 of instrument 2's, which re-lays that instrument's sides.
 */
static void drift(uint32_t step_units, bool off_grid)
{
	enum { CAP = 2048, INSTR = 3, LEVELS = 64 };
	struct book_set *bs = mk_step(INSTR, CAP, LEVELS, step_units);
	const int64_t g = step_units ? step_units : 1;
	static struct model m[CAP];
	uint64_t x = 0x0123456789abcdefull, next_ref = 1;
	int64_t mid[INSTR] = { 50000 * g, 1000000 * g, 7000 * g };
	uint64_t refused = 0;

	memset(m, 0, sizeof(m));
	for (int step = 1; step <= 300000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t slot = x % CAP;
		struct model *o = &m[slot];
		int op = (int)((x >> 20) % 10);
		uint32_t in = (uint32_t)((x >> 30) % INSTR);
		mid[in] += ((int64_t)((x >> 24) % 41) - 20) * g;
		if (mid[in] < 4000 * g)
			mid[in] = 4000 * g;
		int64_t off = (int64_t)((x >> 36) % 3000) * g,
			px = mid[in] / g * g + ((x >> 48) & 1 ? off : -off);
		if (off_grid && in == 2 && (x >> 52) % 500 == 0)
			px += g / 2 + 1;
		if (!o->ref) {
			struct model n = { next_ref++, in, (int)((x >> 34) & 1), px,
					   1 + (int64_t)((x >> 44) % 500) };
			int r = book_add(bs, n.instr, n.ref, n.side, n.px, n.qty);
			if (r == -ENOSPC) {
				refused++;
				continue;
			}
			cr_assert_eq(r, 0);
			*o = n;
		} else if (op < 3) {
			int64_t q = 1 + (int64_t)((x >> 40) % (uint64_t)o->qty);
			cr_assert_eq(book_execute(bs, o->ref, q, NULL), 0);
			o->qty -= q;
			if (!o->qty)
				o->ref = 0;
		} else if (op < 6) {
			cr_assert_eq(book_delete(bs, o->ref, NULL), 0);
			o->ref = 0;
		} else {
			uint64_t nr = next_ref++;
			int64_t rpx = mid[o->instr] / g * g + ((x >> 48) & 1 ? off : -off);
			int r = book_replace(bs, o->ref, nr, rpx, 7, NULL);
			if (r == -ENOSPC) {
				refused++;
				o->ref = 0;
				continue;
			}
			cr_assert_eq(r, 0);
			o->ref = nr;
			o->px = rpx;
			o->qty = 7;
		}
		if (step % 2000 == 0)
			for (uint32_t i = 0; i < INSTR; i++) {
				check_l2(bs, m, CAP, i, BOOK_BID);
				check_l2(bs, m, CAP, i, BOOK_ASK);
			}
	}
	cr_assert_gt(refused, 0, "the level limit was reached");
	cr_assert_eq(book_stats(bs)->pool_full, refused);
	if (off_grid)
		cr_assert(book_stats(bs)->regrids >= 1 && book_stats(bs)->regrids <= 2,
			  "instrument 2's sides, once each: %lu",
			  (unsigned long)book_stats(bs)->regrids);
	else
		cr_assert_eq(book_stats(bs)->regrids, 0);
	book_set_destroy(bs);
}

Test(book, l2_equals_brute_force_over_wide_drifting_prices, .timeout = 120)
{
	drift(0, false);
}

Test(book, l2_equals_brute_force_with_a_price_step, .timeout = 120)
{
	drift(100, false);
}

Test(book, l2_equals_brute_force_when_prices_leave_the_step, .timeout = 120)
{
	drift(100, true);
}

/*
 * A cent step (100 units): bids a tick apart, some far enough behind to sit in the overflow,
 * then a sub-penny bid. The bid side is laid out again at one unit per slot, once; its depth is
 * the same levels in the same order plus the new one; the ask side keeps its step.
 */
Test(book, a_price_off_the_step_relays_only_its_side)
{
	struct book_set *bs = mk_step(1, 64, 16, 100);
	const int64_t bids[] = { 1000000, 999900, 999800, 990000, 900000, 800000 };
	int64_t px[16];
	uint64_t ref = 1;

	for (size_t i = 0; i < sizeof(bids) / sizeof(bids[0]); i++)
		cr_assert_eq(book_add(bs, 0, ref++, BOOK_BID, bids[i], 10), 0);
	cr_assert_eq(book_add(bs, 0, ref++, BOOK_ASK, 1000100, 5), 0);
	cr_assert_eq(book_add(bs, 0, ref++, BOOK_ASK, 1200000, 5), 0);
	cr_assert_eq(book_stats(bs)->regrids, 0);
	cr_assert_eq(book_add(bs, 0, ref++, BOOK_BID, 999950, 3), 0, "sub-penny");
	cr_assert_eq(book_stats(bs)->regrids, 1);
	const int64_t want[] = { 1000000, 999950, 999900, 999800, 990000, 900000, 800000 };
	cr_assert_eq(depth_prices(bs, 0, BOOK_BID, px, 16), 7);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(px[i], want[i], "level %d: %ld", i, px[i]);
	/* A new best far ahead, deletes that empty the best levels: the re-laid side still works. */
	cr_assert_eq(book_add(bs, 0, ref++, BOOK_BID, 1000050, 1), 0);
	cr_assert_eq(book_delete(bs, ref - 1, NULL), 0);
	cr_assert_eq(book_delete(bs, 1, NULL), 0);
	cr_assert_eq(book_delete(bs, 9, NULL), 0);
	struct book_bbo b;
	book_bbo(bs, 0, &b);
	cr_assert_eq(b.bid_px, 999900);
	cr_assert_eq(b.ask_px, 1000100);
	cr_assert_eq(depth_prices(bs, 0, BOOK_ASK, px, 16), 2);
	cr_assert_eq(px[1], 1200000);
	cr_assert_eq(book_add(bs, 0, ref++, BOOK_ASK, 1000150, 1), 0, "the ask side's turn");
	cr_assert_eq(book_stats(bs)->regrids, 2);
	book_set_destroy(bs);

	/* The step's keys need prices below 2^32: a larger one, even on the step, re-lays too. */
	bs = mk_step(1, 8, 4, 100);
	const int64_t big = (1ll << 32) * 100;
	cr_assert_eq(book_add(bs, 0, 1, BOOK_BID, 4000000000, 1), 0);
	cr_assert_eq(book_stats(bs)->regrids, 0);
	cr_assert_eq(book_add(bs, 0, 2, BOOK_BID, big, 1), 0);
	cr_assert_eq(book_add(bs, 0, 3, BOOK_BID, big - 100, 1), 0);
	cr_assert_eq(book_stats(bs)->regrids, 1);
	cr_assert_eq(depth_prices(bs, 0, BOOK_BID, px, 16), 3);
	cr_assert_eq(px[0], big);
	cr_assert_eq(px[1], big - 100);
	cr_assert_eq(px[2], 4000000000);
	book_set_destroy(bs);
}

Test(book, prefetch_hints_change_nothing_whatever_their_arguments)
{
	struct book_set *bs = mk(2, 64, 16);
	book_add(bs, 0, 1, BOOK_BID, 1000, 10);
	book_add(bs, 0, 2, BOOK_BID, 1000, 20);
	book_add(bs, 0, 3, BOOK_BID, 5, 30);
	book_add(bs, 1, 4, BOOK_ASK, 1001, 40);
	uint64_t c0 = book_checksum(bs, 0), c1 = book_checksum(bs, 1);
	for (unsigned int st = 0; st < 6; st++) {
		for (uint64_t r = 0; r < 8; r++)
			book_prefetch_ref(bs, r, st);
		book_prefetch_add(bs, 0, 9, BOOK_BID, 1000, st);
		book_prefetch_add(bs, 0, 9, BOOK_BID, 999, st);
		book_prefetch_add(bs, 0, 9, BOOK_BID, 1, st);
		book_prefetch_add(bs, 1, 9, BOOK_ASK, INT64_MAX, st);
		book_prefetch_add(bs, 2, 9, BOOK_ASK, 1000, st);
		book_prefetch_add(bs, 0, 9, (enum book_side)7, 1000, st);
		book_prefetch_add(bs, 0, 9, BOOK_BID, -5, st);
	}
	cr_assert_eq(book_checksum(bs, 0), c0);
	cr_assert_eq(book_checksum(bs, 1), c1);
	cr_assert_eq(book_order_count(bs), 4);
	book_set_destroy(bs);
}

Test(book, extreme_prices_are_ordered)
{
	struct book_set *bs = mk(1, 64, 16);
	int64_t px[4];
	cr_assert_eq(book_add(bs, 0, 1, BOOK_BID, INT64_MAX, 1), 0);
	cr_assert_eq(book_add(bs, 0, 2, BOOK_BID, 1, 1), 0);
	cr_assert_eq(book_add(bs, 0, 3, BOOK_BID, INT64_MAX - 1, 1), 0);
	cr_assert_eq(book_add(bs, 0, 4, BOOK_ASK, 1, 1), 0);
	cr_assert_eq(book_add(bs, 0, 5, BOOK_ASK, INT64_MAX, 1), 0);
	cr_assert_eq(depth_prices(bs, 0, BOOK_BID, px, 4), 3);
	cr_assert_eq(px[0], INT64_MAX);
	cr_assert_eq(px[1], INT64_MAX - 1);
	cr_assert_eq(px[2], 1);
	cr_assert_eq(depth_prices(bs, 0, BOOK_ASK, px, 4), 2);
	cr_assert_eq(px[0], 1);
	cr_assert_eq(px[1], INT64_MAX);
	cr_assert_eq(book_delete(bs, 1, NULL), 0);
	cr_assert_eq(book_delete(bs, 3, NULL), 0);
	cr_assert_eq(depth_prices(bs, 0, BOOK_BID, px, 4), 1);
	cr_assert_eq(px[0], 1);
	book_set_destroy(bs);
}

Test(book, checksum_depends_on_queue_order)
{
	struct book_set *a = mk(1, 8, 4), *b = mk(1, 8, 4);
	book_add(a, 0, 1, BOOK_BID, 100, 10);
	book_add(a, 0, 2, BOOK_BID, 100, 10);
	book_add(b, 0, 2, BOOK_BID, 100, 10);
	book_add(b, 0, 1, BOOK_BID, 100, 10);
	cr_assert_neq(book_checksum(a, 0), book_checksum(b, 0));
	book_delete(a, 1, NULL);
	book_delete(b, 1, NULL);
	cr_assert_eq(book_checksum(a, 0), book_checksum(b, 0));
	book_set_destroy(a);
	book_set_destroy(b);
}

Test(book, directory_entries_state_and_stale)
{
	struct book_set *bs = mk(8, 8, 4);
	struct book_instrument_info *i = book_instrument(bs, 3);
	cr_assert_not_null(i);
	cr_assert_eq(i->trading_state, BOOK_STATE_HALTED, "halted until the feed says trading");
	strcpy(i->symbol, "AAPL");
	i->known = true;
	i->round_lot = 100;
	cr_assert_eq(book_find_symbol(bs, "AAPL"), 3);
	cr_assert_eq(book_find_symbol(bs, "MSFT"), -ENOENT);
	cr_assert_eq(book_known_instruments(bs), 1);
	book_set_stale_all(bs, true);
	cr_assert(book_instrument(bs, 0)->stale && book_instrument(bs, 7)->stale);
	book_set_stale_all(bs, false);
	cr_assert(!book_instrument(bs, 3)->stale);
	cr_assert_null(book_instrument(bs, 8));
	book_set_destroy(bs);
}
