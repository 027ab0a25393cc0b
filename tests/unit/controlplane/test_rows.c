/*
 * Description: journal records as COPY text rows. Each record type goes to its table with its
 * columns in the order of its COPY statement; a fill is one order_events row (fills is a view of
 * them) with its price and quantity in last_px and last_qty; 64-bit ids keep their
 * bits in bigint; text from the journal is bounded, reduced to printable ASCII and escaped; a
 * record of an unknown type is kept raw as bytea hex; an order event carries its late flag (t or f)
 * last; reset empties the buffers.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "db.h"

static struct db_rows rows;

static void teardown(void)
{
	db_rows_free(&rows);
}

TestSuite(rows, .fini = teardown);

/* The buffer of t as a NUL-terminated string. */
static const char *text(enum db_table t)
{
	static char out[4096];
	size_t n = rows.t[t].len < sizeof(out) - 1 ? rows.t[t].len : sizeof(out) - 1;

	memcpy(out, rows.t[t].p ? rows.t[t].p : "", n);
	out[n] = '\0';
	return out;
}

static struct shm_journal_record order(uint16_t type)
{
	struct shm_journal_record r = { .type = type,
					.version = 1,
					.len = sizeof(struct shm_journal_order),
					.wall_ns = 1700000000123456789ull };
	atomic_store(&r.seq, 42);
	r.order.order_id = 9001;
	r.order.venue_order_id = 18446744073709551615ull; /* all ones: -1 in bigint */
	r.order.account = 7;
	r.order.instrument = 4000000000u;
	r.order.venue = 2;
	r.order.strategy = 3;
	r.order.side = SHM_JOURNAL_BUY;
	r.order.price = -15;
	r.order.qty = 100;
	r.order.leaves = 60;
	return r;
}

Test(rows, an_order_event_is_one_row_in_column_order)
{
	struct shm_journal_record r = order(SHM_JOURNAL_ORDER_ACK);

	cr_assert_eq(db_rows_add(&rows, "inst", 3, &r, false), 0);
	cr_assert_str_eq(text(DB_ORDER_EVENTS), "inst\t3\t42\tack\t1700000000123456789\t9001\t0\t-1"
						"\t0\t7\t4000000000\t2\t3\tB\t0\t0\t-15\t100\t60"
						"\t0\t0\t0\t0\tf\n");
	cr_assert_eq(rows.t[DB_ORDER_EVENTS].rows, 1);
	cr_assert(strstr(db_rows_copy_sql(DB_ORDER_EVENTS), "COPY order_events (instance, worker, "
							    "seq, event_type, wall_ns,") != NULL);
	cr_assert(strstr(db_rows_copy_sql(DB_ORDER_EVENTS), "reason, late) FROM STDIN") != NULL);
}

Test(rows, a_fill_is_one_order_events_row_only)
{
	struct shm_journal_record r = order(SHM_JOURNAL_ORDER_FILL);

	r.order.last_px = 101;
	r.order.last_qty = 40;
	r.order.match_no = 555;
	r.order.liquidity = 'A';
	cr_assert_eq(db_rows_add(&rows, "inst", 3, &r, true), 0);
	cr_assert_eq(rows.t[DB_ORDER_EVENTS].rows, 1);
	cr_assert_str_eq(text(DB_ORDER_EVENTS), "inst\t3\t42\tfill\t1700000000123456789\t9001\t0"
						"\t-1\t555\t7\t4000000000\t2\t3\tB\t0\t0\t-15"
						"\t100\t60\t101\t40\t65\t0\tt\n");
	for (int t = 0; t < DB_NTABLES; t++)
		cr_assert_eq(rows.t[t].rows, t == DB_ORDER_EVENTS, "table %d", t);
}

Test(rows, text_is_bounded_printable_and_escaped)
{
	struct shm_journal_record r = { .type = SHM_JOURNAL_SESSION,
					.version = 1,
					.len = sizeof(struct shm_journal_session) };

	atomic_store(&r.seq, 1);
	memcpy(r.session.session, "ABCDEFGHIJKLMNOPQRST", 16); /* no NUL: stops at 16 */
	strcpy(r.session.detail, "a\tb\\c\nd\xff");
	r.session.in_seq = 5;
	r.session.error = -104;
	cr_assert_eq(db_rows_add(&rows, "i", 0, &r, true), 0);
	cr_assert_str_eq(text(DB_SESSION_EVENTS),
			 "i\t0\t1\t0\t0\t0\t-104\tABCDEFGHIJKLMNOP\t5\t0\ta?b\\\\c?d?\n");
}

Test(rows, a_side_that_is_not_a_letter_becomes_a_question_mark)
{
	struct shm_journal_record r = { .type = SHM_JOURNAL_RISK, .version = 1 };

	atomic_store(&r.seq, 2);
	r.risk.side = '\t';
	r.risk.limit = 10;
	r.risk.value = 11;
	r.risk.action = SHM_JOURNAL_RISK_KILL;
	cr_assert_eq(db_rows_add(&rows, "i", 1, &r, true), 0);
	cr_assert_str_eq(text(DB_RISK_EVENTS), "i\t1\t2\t0\t0\t0\t2\t0\t0\t?\t0\t0\t10\t11\n");
}

Test(rows, a_command_ack_goes_to_command_results)
{
	struct shm_journal_record r = { .type = SHM_JOURNAL_COMMAND_ACK, .version = 1 };

	atomic_store(&r.seq, 3);
	r.command_ack.command_id = 77;
	r.command_ack.command_type = 2;
	r.command_ack.result = -1;
	strcpy(r.command_ack.detail, "not permitted");
	cr_assert_eq(db_rows_add(&rows, "i", 1, &r, true), 0);
	cr_assert_str_eq(text(DB_COMMAND_RESULTS), "i\t1\t3\t0\t77\t2\t-1\tnot permitted\n");
}

Test(rows, an_unknown_type_is_kept_raw)
{
	struct shm_journal_record r = { .type = 200, .version = 3, .len = 3 };

	atomic_store(&r.seq, 4);
	r.payload[0] = 0x01;
	r.payload[1] = 0xab;
	r.payload[2] = 0xff;
	cr_assert_eq(db_rows_add(&rows, "i", 1, &r, true), 0);
	cr_assert_str_eq(text(DB_JOURNAL_UNKNOWN), "i\t1\t4\t0\t200\t3\t\\\\x01abff\n");
	r.len = 1000; /* a lying length is clamped to the payload */
	cr_assert_eq(db_rows_add(&rows, "i", 1, &r, true), 0);
	cr_assert_eq(rows.t[DB_JOURNAL_UNKNOWN].rows, 2);
}

Test(rows, many_rows_grow_the_buffer_and_reset_empties_it)
{
	struct shm_journal_record r = order(SHM_JOURNAL_ORDER_NEW);

	for (int i = 0; i < 10000; i++)
		cr_assert_eq(db_rows_add(&rows, "instance-name", 15, &r, true), 0);
	cr_assert_eq(rows.t[DB_ORDER_EVENTS].rows, 10000);
	cr_assert_eq(rows.t[DB_ORDER_EVENTS].p[rows.t[DB_ORDER_EVENTS].len - 1], '\n');
	db_rows_reset(&rows);
	cr_assert_eq(rows.t[DB_ORDER_EVENTS].rows, 0);
	cr_assert_eq(rows.t[DB_ORDER_EVENTS].len, 0);
}
