/*
 * Description: the orders projection a batch of order events folds into (controlplane/db/orders.c).
 * Each order's row follows its latest event (state by event type, leaves, price, quantity), sums
 * its fills, keeps its first event's time and the last venue reference that is not 0; a replace
 * under a new order id marks the old order replaced (no leaves) unless the old order has a later
 * event, and a replace that keeps the id marks nothing; an order only named by a replace is a mark
 * alone, left out of the staging rows; workers keep their own order ids; reset empties the fold.
 * Which events go into the order index (late): not an order's new-order event nor the events that
 * follow it in the batch within DB_BORN_SPAN records (the row's born range covers those, exactly),
 * every other event and every event of an order not born in the batch.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static struct db_order_fold *fold;
static uint64_t next_seq;
static bool last_late; /* what the fold said of the latest event */

static void setup(void)
{
	fold = db_order_fold_new();
	cr_assert_not_null(fold);
	next_seq = 1;
}

static void teardown(void)
{
	db_order_fold_free(fold);
}

TestSuite(orders, .init = setup, .fini = teardown);

/* An order record of type whose seq and time advance with every call. */
static struct shm_journal_record record(uint16_t type)
{
	struct shm_journal_record r = { .type = type,
					.version = 1,
					.len = sizeof(struct shm_journal_order) };

	atomic_store(&r.seq, next_seq);
	r.wall_ns = 1000 + next_seq;
	next_seq++;
	r.order.side = SHM_JOURNAL_BUY;
	return r;
}

/* Folds an event of order id of worker 1 with leaves and last_qty; its seq and time advance. */
static void ev(uint16_t type, uint64_t id, int64_t leaves, int64_t last_qty, uint64_t venue_ref)
{
	struct shm_journal_record r = record(type);

	r.order.order_id = id;
	r.order.venue_order_id = venue_ref;
	r.order.qty = 100;
	r.order.price = 5000;
	r.order.leaves = leaves;
	r.order.last_qty = last_qty;
	r.order.account = 3;
	cr_assert_eq(db_order_fold_add(fold, 1, &r, &last_late), 0);
}

static void replace(uint64_t old_id, uint64_t new_id, int64_t qty)
{
	struct shm_journal_record r = record(SHM_JOURNAL_ORDER_REPLACE);

	r.order.order_id = new_id;
	r.order.orig_order_id = old_id;
	r.order.qty = r.order.leaves = qty;
	r.order.price = 5001;
	cr_assert_eq(db_order_fold_add(fold, 1, &r, &last_late), 0);
}

static const struct db_order_row *row(uint32_t worker, uint64_t id)
{
	size_t n;
	const struct db_order_row *rows = db_order_fold_rows(fold, &n);

	for (size_t i = 0; i < n; i++)
		if (rows[i].worker == worker && rows[i].order_id == id)
			return &rows[i];
	cr_assert(false, "no row for order %llu of worker %u", (unsigned long long)id, worker);
	return NULL;
}

Test(orders, a_filled_order_sums_its_fills_and_keeps_its_first_time)
{
	ev(SHM_JOURNAL_ORDER_NEW, 7, 100, 0, 0);
	ev(SHM_JOURNAL_ORDER_ACK, 7, 100, 0, 77);
	ev(SHM_JOURNAL_ORDER_FILL, 7, 60, 40, 0);
	const struct db_order_row *x = row(1, 7);
	cr_assert_eq(x->status, DB_ORDER_PARTIALLY_FILLED);
	cr_assert_eq(x->leaves, 60);
	cr_assert_eq(x->cum_qty, 40);
	ev(SHM_JOURNAL_ORDER_FILL, 7, 0, 60, 77);
	x = row(1, 7);
	cr_assert_eq(x->status, DB_ORDER_FILLED);
	cr_assert_eq(x->leaves, 0);
	cr_assert_eq(x->cum_qty, 100);
	cr_assert_eq(x->created_ns, 1001);
	cr_assert_eq(x->updated_ns, 1004);
	cr_assert_eq(x->last_seq, 4);
	cr_assert_eq(x->venue_order_id, 77);
	cr_assert(x->has_event && !x->replaced);
}

Test(orders, each_event_type_gives_its_state)
{
	ev(SHM_JOURNAL_ORDER_NEW, 1, 100, 0, 0);
	ev(SHM_JOURNAL_ORDER_NEW, 2, 100, 0, 0);
	ev(SHM_JOURNAL_ORDER_ACK, 2, 100, 0, 5);
	ev(SHM_JOURNAL_ORDER_NEW, 3, 100, 0, 0);
	ev(SHM_JOURNAL_ORDER_REJECT, 3, 0, 0, 0); /* a venue reject, or expired */
	ev(SHM_JOURNAL_ORDER_NEW, 4, 100, 0, 0);
	ev(SHM_JOURNAL_ORDER_CANCEL, 4, 0, 0, 9);
	cr_assert_eq(row(1, 1)->status, DB_ORDER_PENDING_NEW);
	cr_assert_eq(row(1, 2)->status, DB_ORDER_OPEN);
	cr_assert_eq(row(1, 3)->status, DB_ORDER_REJECTED);
	cr_assert_eq(row(1, 3)->leaves, 0);
	cr_assert_eq(row(1, 4)->status, DB_ORDER_CANCELED);
	cr_assert_eq(row(1, 4)->venue_order_id, 9);
	cr_assert_eq(db_order_fold_marks(fold), 0);
}

Test(orders, a_replace_under_a_new_id_marks_the_old_order)
{
	ev(SHM_JOURNAL_ORDER_NEW, 10, 100, 0, 0);
	ev(SHM_JOURNAL_ORDER_FILL, 10, 70, 30, 0);
	replace(10, 11, 80);
	cr_assert(row(1, 10)->replaced);
	cr_assert_eq(row(1, 10)->cum_qty, 30);
	cr_assert_eq(row(1, 11)->status, DB_ORDER_OPEN);
	cr_assert_eq(row(1, 11)->leaves, 80);
	cr_assert_eq(row(1, 11)->orig_order_id, 10);
	cr_assert_not(row(1, 11)->replaced);
	cr_assert_eq(db_order_fold_marks(fold), 0);
}

Test(orders, a_later_event_of_the_old_order_clears_the_mark)
{
	ev(SHM_JOURNAL_ORDER_NEW, 10, 100, 0, 0);
	replace(10, 11, 80);
	ev(SHM_JOURNAL_ORDER_CANCEL, 10, 0, 0, 0);
	cr_assert_not(row(1, 10)->replaced);
	cr_assert_eq(row(1, 10)->status, DB_ORDER_CANCELED);
}

Test(orders, a_replace_keeping_the_id_marks_nothing)
{
	ev(SHM_JOURNAL_ORDER_ACK, 10, 100, 0, 3);
	replace(0, 10, 50); /* the OMS replaces in place: no orig_order_id */
	replace(10, 10, 40);
	cr_assert_eq(row(1, 10)->status, DB_ORDER_OPEN);
	cr_assert_eq(row(1, 10)->leaves, 40);
	cr_assert_not(row(1, 10)->replaced);
	cr_assert_eq(db_order_fold_marks(fold), 0);
	cr_assert_eq(row(1, 10)->venue_order_id, 3);
}

Test(orders, an_order_only_named_by_a_replace_is_a_mark_alone)
{
	struct db_buf b = { 0 };

	replace(20, 21, 100);
	cr_assert_eq(db_order_fold_marks(fold), 1);
	cr_assert_not(row(1, 20)->has_event);
	cr_assert(row(1, 20)->replaced);
	cr_assert_eq(db_order_fold_format(fold, "inst", &b), 0);
	cr_assert_eq(b.rows, 1);
	cr_assert(strncmp(b.p, "inst\t1\t21\t20\t", 12) == 0);
	free(b.p);
}

Test(orders, workers_keep_their_own_order_ids)
{
	struct shm_journal_record r = { .type = SHM_JOURNAL_ORDER_CANCEL,
					.version = 1,
					.len = sizeof(struct shm_journal_order) };

	ev(SHM_JOURNAL_ORDER_ACK, 5, 100, 0, 0);
	r.order.order_id = 5;
	cr_assert_eq(db_order_fold_add(fold, 2, &r, &last_late), 0);
	cr_assert_eq(row(1, 5)->status, DB_ORDER_OPEN);
	cr_assert_eq(row(2, 5)->status, DB_ORDER_CANCELED);
}

Test(orders, staging_rows_carry_the_final_state_in_copy_order)
{
	struct db_buf b = { 0 };

	ev(SHM_JOURNAL_ORDER_NEW, 30, 100, 0, 0);
	ev(SHM_JOURNAL_ORDER_FILL, 30, 60, 40, 8);
	replace(30, 31, 90);
	cr_assert_eq(db_order_fold_format(fold, "inst", &b), 0);
	cr_assert_eq(b.rows, 2);
	b.p[b.len] = '\0'; /* the buffer has room: rows are reserved at their bound */
	cr_assert_str_eq(b.p,
			 "inst\t1\t30\t0\t8\t3\t0\t0\t0\tB\t5000\t100\t0\t40\treplaced\t0\t1001"
			 "\t1002\t2\t1\t2\n"
			 "inst\t1\t31\t30\t0\t0\t0\t0\t0\tB\t5001\t90\t90\t0\topen\t0\t1003\t1003"
			 "\t3\t0\t0\n");
	cr_assert(strstr(db_order_fold_copy_sql(),
			 "COPY orders_stage (instance, worker, order_id,") != NULL);
	free(b.p);
}

/* Born in the batch: the first event seen is the new-order event. Those rows go straight into
 * orders; the rest (and marks) stay with the merge. */
Test(orders, rows_born_in_the_batch_split_from_the_rest)
{
	struct db_buf born = { 0 }, known = { 0 }, all = { 0 };

	ev(SHM_JOURNAL_ORDER_NEW, 40, 100, 0, 0);
	ev(SHM_JOURNAL_ORDER_FILL, 40, 60, 40, 8); /* born, then filled */
	ev(SHM_JOURNAL_ORDER_ACK, 41, 100, 0, 9); /* its new event was in an earlier batch */
	ev(SHM_JOURNAL_ORDER_NEW, 42, 100, 0, 0);
	replace(43, 44, 50); /* 43: a mark; 44: first seen in a replace, so not born */
	cr_assert(row(1, 40)->born);
	cr_assert_not(row(1, 41)->born);
	cr_assert(row(1, 42)->born);
	cr_assert_not(row(1, 43)->born);
	cr_assert_not(row(1, 44)->born);
	cr_assert_eq(db_order_fold_born(fold), 2);
	cr_assert_eq(db_order_fold_format_part(fold, "inst", DB_FOLD_BORN, &born), 0);
	cr_assert_eq(db_order_fold_format_part(fold, "inst", DB_FOLD_KNOWN, &known), 0);
	cr_assert_eq(db_order_fold_format(fold, "inst", &all), 0);
	cr_assert_eq(born.rows, 2);
	cr_assert_eq(known.rows, 2, "41 and 44; the mark 43 is the caller's");
	cr_assert_eq(all.rows, 4);
	cr_assert_eq(born.len + known.len, all.len);
	cr_assert(strncmp(born.p, "inst\t1\t40\t", 10) == 0);
	cr_assert(strncmp(known.p, "inst\t1\t41\t", 10) == 0);
	cr_assert(strstr(db_order_fold_born_copy_sql(), "COPY orders (instance, worker, order_id,") !=
		  NULL);
	db_order_fold_reset(fold);
	cr_assert_eq(db_order_fold_born(fold), 0);
	free(born.p);
	free(known.p);
	free(all.p);
}

Test(orders, events_near_the_birth_stay_out_of_the_order_index)
{
	struct shm_journal_record risk = { .type = SHM_JOURNAL_RISK, .version = 1 };
	uint64_t born;

	ev(SHM_JOURNAL_ORDER_ACK, 50, 100, 0, 9); /* born in an earlier batch */
	cr_assert(last_late);
	born = next_seq;
	ev(SHM_JOURNAL_ORDER_NEW, 51, 100, 0, 0);
	cr_assert_not(last_late, "the new-order event is in the born range");
	ev(SHM_JOURNAL_ORDER_ACK, 51, 100, 0, 9);
	cr_assert_not(last_late);
	cr_assert_eq(row(1, 51)->born_seq, born);
	cr_assert_eq(row(1, 51)->born_last_seq, born + 1);
	cr_assert_eq(row(1, 50)->born_seq, 0);
	cr_assert_eq(row(1, 50)->born_last_seq, 0);
	/* Just inside the span, then at it: the last event in range, then the first one out. */
	next_seq = born + DB_BORN_SPAN - 1;
	ev(SHM_JOURNAL_ORDER_FILL, 51, 60, 40, 0);
	cr_assert_not(last_late);
	cr_assert_eq(row(1, 51)->born_last_seq, born + DB_BORN_SPAN - 1);
	ev(SHM_JOURNAL_ORDER_FILL, 51, 20, 40, 0);
	cr_assert(last_late, "DB_BORN_SPAN records after the birth: into the index");
	cr_assert_eq(row(1, 51)->born_last_seq, born + DB_BORN_SPAN - 1, "the range stops");
	ev(SHM_JOURNAL_ORDER_CANCEL, 50, 0, 0, 0);
	cr_assert(last_late);
	replace(51, 52, 10); /* 52 is first seen in a replace: not born */
	cr_assert(last_late);
	cr_assert_eq(row(1, 52)->born_seq, 0);
	last_late = false;
	atomic_store(&risk.seq, next_seq++);
	cr_assert_eq(db_order_fold_add(fold, 1, &risk, &last_late), 0);
	cr_assert(last_late, "not an order event: true, as in doubt");
	/* In the next batch the same order is known, not born: its events go into the index. */
	db_order_fold_reset(fold);
	ev(SHM_JOURNAL_ORDER_FILL, 51, 0, 20, 0);
	cr_assert(last_late);
	cr_assert_eq(row(1, 51)->born_seq, 0);
}

Test(orders, many_orders_and_reset)
{
	for (uint64_t id = 1; id <= 20000; id++)
		ev(SHM_JOURNAL_ORDER_NEW, id, 100, 0, 0);
	for (uint64_t id = 1; id <= 20000; id += 2)
		ev(SHM_JOURNAL_ORDER_FILL, id, 0, 100, 0);
	size_t n;
	db_order_fold_rows(fold, &n);
	cr_assert_eq(n, 20000);
	cr_assert_eq(row(1, 19999)->status, DB_ORDER_FILLED);
	cr_assert_eq(row(1, 20000)->status, DB_ORDER_PENDING_NEW);
	db_order_fold_reset(fold);
	db_order_fold_rows(fold, &n);
	cr_assert_eq(n, 0);
	ev(SHM_JOURNAL_ORDER_ACK, 19999, 100, 0, 0);
	cr_assert_eq(row(1, 19999)->status, DB_ORDER_OPEN);
	cr_assert_eq(row(1, 19999)->cum_qty, 0);
}
