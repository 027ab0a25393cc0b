/*
 * Description: order book operations and their effect on L3 queues, the L2 view and the BBO;
 * refused operations leave the book unchanged; the reference map under churn; L2 against a
 * brute-force recomputation after a long random sequence; the instrument directory.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"

static struct book_set *mk(uint32_t instruments, uint32_t orders, uint32_t levels)
{
	struct book_cfg cfg = { instruments, orders, levels };
	struct book_set *bs = book_set_create(&cfg);
	cr_assert_not_null(bs);
	return bs;
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
