/*
 * Description: the MoldUDP64 session driven with packets built in the test and a recording ops
 * struct: in-order zero-copy delivery, heartbeats, gaps with exact request bytes, duplicates,
 * reordering, overlap, retries and give-up with exact loss, bounded requests, A/B arbitration
 * with per-line loss, end of session, session changes and every kind of malformed packet.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mold.h"

#include "mold_test.h"
}

static const struct mold_ops rec_ops = {
	.on_message = rec_on_message,
	.on_gap_lost = rec_on_gap_lost,
	.on_session = rec_on_session,
	.on_end_of_session = rec_on_eos,
	.send_request = rec_send_request,
};

/* The request's fields: first sequence and count. */
static inline uint64_t req_first(const uint8_t *req)
{
	return get64(req + 10);
}

static inline uint16_t req_count(const uint8_t *req)
{
	return (uint16_t)(req[18] << 8 | req[19]);
}

#define SID "SESSION001"
#define SID2 "SESSION002"

static struct rec R;

static void cfg_small(struct mold_cfg *c)
{
	mold_cfg_default(c);
	c->window = 64;
	c->arena_bytes = 64 * 64;
	c->max_requests = 4;
	c->max_request_msgs = 100;
	c->max_retries = 2;
	c->retry_interval_ns = 1000;
}

static struct mold_session *mk(const struct mold_cfg *c)
{
	memset(&R, 0, sizeof(R));
	struct mold_session *s = mold_session_create(c, &rec_ops, &R);
	cr_assert_not_null(s);
	return s;
}

static struct mold_session *mk_default(void)
{
	struct mold_cfg c;
	cfg_small(&c);
	return mk(&c);
}

/* Feeds a packet of n messages of 30 bytes from seq. */
static int feed(struct mold_session *s, enum mold_line line, uint64_t seq, uint16_t n, uint64_t now)
{
	uint8_t buf[4096];
	size_t len = pkt_build(buf, SID, seq, n, 30);
	return mold_session_on_packet(s, line, buf, len, now);
}

static void assert_delivered_range(uint64_t first, uint64_t last)
{
	cr_assert_eq(R.n, last - first + 1, "delivered %zu, want %lu", R.n,
		     (unsigned long)(last - first + 1));
	for (size_t i = 0; i < R.n; i++)
		cr_assert_eq(R.seq[i], first + i, "message %zu has seq %lu", i,
			     (unsigned long)R.seq[i]);
	cr_assert_eq(R.bad_content, 0);
}

static void assert_request(size_t i, const char *sid, uint64_t first, uint16_t count)
{
	uint8_t want[MOLD_REQUEST_LEN];
	memcpy(want, sid, MOLD_SESSION_LEN);
	put64(want + 10, first);
	want[18] = (uint8_t)(count >> 8);
	want[19] = (uint8_t)count;
	cr_assert_gt(R.nreq, i, "request %zu was not sent", i);
	cr_assert_arr_eq(R.req[i], want, MOLD_REQUEST_LEN, "request %zu is first %lu count %u", i,
			 (unsigned long)req_first(R.req[i]), req_count(R.req[i]));
}

Test(mold, in_order_messages_are_delivered_once_in_place)
{
	struct mold_session *s = mk_default();
	uint8_t buf[1024];
	size_t len = pkt_build(buf, SID, 1, 3, 30);

	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_A, buf, len, 0), 0);
	cr_assert_eq(feed(s, MOLD_LINE_A, 4, 2, 0), 0);
	assert_delivered_range(1, 5);
	/* Zero copy: the first packet's messages point into its buffer. */
	cr_assert_eq(R.ptr[0], buf + 22);
	cr_assert_eq(R.ptr[1], buf + 22 + 32);
	cr_assert_eq(R.ptr[2], buf + 22 + 64);
	cr_assert_eq(R.nsession, 1);
	cr_assert_arr_eq(R.session[0], SID, MOLD_SESSION_LEN);
	const struct mold_stats *st = mold_session_stats(s);
	cr_assert_eq(st->delivered, 5);
	cr_assert_eq(st->line[MOLD_LINE_A].packets, 2);
	cr_assert_eq(st->line[MOLD_LINE_A].messages, 5);
	cr_assert_eq(st->line[MOLD_LINE_A].delivered, 5);
	cr_assert_eq(st->gaps_opened, 0);
	cr_assert_eq(R.nreq, 0);
	cr_assert_eq(mold_session_next_seq(s), 6);
	mold_session_destroy(s);
}

Test(mold, heartbeat_at_next_sequence_delivers_nothing)
{
	struct mold_session *s = mk_default();
	uint8_t hb[MOLD_HEADER_LEN];

	feed(s, MOLD_LINE_A, 1, 2, 0);
	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_A, hb, pkt_ctl(hb, SID, 3, 0), 0), 0);
	assert_delivered_range(1, 2);
	const struct mold_stats *st = mold_session_stats(s);
	cr_assert_eq(st->line[MOLD_LINE_A].heartbeats, 1);
	cr_assert_eq(st->gaps_opened, 0);
	cr_assert_eq(R.nreq, 0);
	mold_session_destroy(s);
}

Test(mold, heartbeat_ahead_opens_gap_and_requests_the_missing_messages)
{
	struct mold_session *s = mk_default();
	uint8_t hb[MOLD_HEADER_LEN];

	feed(s, MOLD_LINE_A, 1, 2, 0);
	mold_session_on_packet(s, MOLD_LINE_A, hb, pkt_ctl(hb, SID, 6, 0), 0);
	assert_delivered_range(1, 2);
	cr_assert_eq(R.nreq, 1);
	assert_request(0, SID, 3, 3);
	const struct mold_stats *st = mold_session_stats(s);
	cr_assert_eq(st->gaps_opened, 1);
	cr_assert_eq(st->line[MOLD_LINE_A].gaps, 1);
	cr_assert_eq(st->line[MOLD_LINE_A].gap_msgs, 3);
	mold_session_destroy(s);
}

Test(mold, gap_is_requested_exactly_and_retransmission_fills_it)
{
	struct mold_session *s = mk_default();

	feed(s, MOLD_LINE_A, 1, 2, 0);
	feed(s, MOLD_LINE_A, 6, 3, 10);
	assert_delivered_range(1, 2);
	cr_assert_eq(R.nreq, 1);
	assert_request(0, SID, 3, 3);
	cr_assert_eq(mold_session_stats(s)->held, 3);

	cr_assert_eq(feed(s, MOLD_LINE_RETRANS, 3, 3, 20), 0);
	assert_delivered_range(1, 8);
	const struct mold_stats *st = mold_session_stats(s);
	cr_assert_eq(st->gaps_opened, 1);
	cr_assert_eq(st->gaps_recovered, 1);
	cr_assert_eq(st->requests_sent, 1);
	cr_assert_eq(st->lost_msgs, 0);
	cr_assert_eq(st->held, 0);
	cr_assert_eq(st->held_hwm, 3);
	cr_assert_eq(st->line[MOLD_LINE_RETRANS].delivered, 3);
	cr_assert_eq(st->line[MOLD_LINE_A].delivered, 5);
	/* The answered request is retired: no retry later. */
	cr_assert_eq(mold_session_poll(s, 100000), 0);
	cr_assert_eq(R.nreq, 1);
	mold_session_destroy(s);
}

Test(mold, duplicate_packet_is_dropped_and_counted_on_its_line)
{
	struct mold_session *s = mk_default();

	feed(s, MOLD_LINE_A, 1, 3, 0);
	cr_assert_eq(feed(s, MOLD_LINE_A, 1, 3, 0), 0);
	assert_delivered_range(1, 3);
	cr_assert_eq(mold_session_stats(s)->line[MOLD_LINE_A].duplicates, 3);
	cr_assert_eq(mold_session_stats(s)->line[MOLD_LINE_A].gaps, 0);
	mold_session_destroy(s);
}

Test(mold, out_of_order_packets_within_the_window_are_held_then_delivered_in_order)
{
	struct mold_session *s = mk_default();

	feed(s, MOLD_LINE_A, 1, 2, 0);
	feed(s, MOLD_LINE_A, 5, 2, 0);
	cr_assert_eq(R.n, 2);
	feed(s, MOLD_LINE_A, 3, 2, 0);
	assert_delivered_range(1, 6);
	const struct mold_stats *st = mold_session_stats(s);
	cr_assert_eq(st->line[MOLD_LINE_A].gaps, 1);
	cr_assert_eq(st->line[MOLD_LINE_A].gap_msgs, 2);
	cr_assert_eq(st->gaps_recovered, 1);
	cr_assert_eq(st->held, 0);
	cr_assert_eq(st->held_hwm, 2);
	mold_session_destroy(s);
}

Test(mold, overlapping_packet_delivers_only_the_new_messages)
{
	struct mold_session *s = mk_default();

	feed(s, MOLD_LINE_A, 1, 4, 0);
	feed(s, MOLD_LINE_A, 3, 4, 0);
	assert_delivered_range(1, 6);
	cr_assert_eq(mold_session_stats(s)->line[MOLD_LINE_A].duplicates, 2);
	mold_session_destroy(s);
}

Test(mold, unrecoverable_gap_is_lost_with_exact_range_after_retries_then_held_are_delivered)
{
	struct mold_session *s = mk_default();

	feed(s, MOLD_LINE_A, 1, 2, 0);
	feed(s, MOLD_LINE_A, 6, 3, 0);
	cr_assert_eq(R.nreq, 1);
	cr_assert_eq(mold_session_poll(s, 999), 0);
	cr_assert_eq(R.nreq, 1);
	cr_assert_eq(mold_session_poll(s, 1000), 1, "first retry");
	cr_assert_eq(mold_session_poll(s, 2000), 1, "second retry");
	cr_assert_eq(R.nreq, 3);
	assert_request(1, SID, 3, 3);
	assert_request(2, SID, 3, 3);
	cr_assert_eq(R.nlost, 0);
	cr_assert_eq(mold_session_poll(s, 3000), 1, "give up");
	cr_assert_eq(R.nlost, 1);
	cr_assert_eq(R.lost_first[0], 3);
	cr_assert_eq(R.lost_count[0], 3);
	cr_assert_eq(R.n, 5);
	uint64_t want[] = { 1, 2, 6, 7, 8 };
	for (int i = 0; i < 5; i++)
		cr_assert_eq(R.seq[i], want[i]);
	const struct mold_stats *st = mold_session_stats(s);
	cr_assert_eq(st->lost_msgs, 3);
	cr_assert_eq(st->gaps_lost, 1);
	cr_assert_eq(st->requests_sent, 1);
	cr_assert_eq(st->request_retries, 2);
	cr_assert_eq(st->gaps_opened, 1);
	cr_assert_eq(st->gaps_recovered, 0);
	cr_assert_eq(st->held, 0);
	cr_assert_eq(mold_session_next_seq(s), 9);
	/* A late answer is a duplicate now. */
	feed(s, MOLD_LINE_RETRANS, 3, 3, 4000);
	cr_assert_eq(R.n, 5);
	cr_assert_eq(st->line[MOLD_LINE_RETRANS].duplicates, 3);
	mold_session_destroy(s);
}

Test(mold, lost_runs_around_held_messages_are_reported_separately)
{
	struct mold_session *s = mk_default();

	feed(s, MOLD_LINE_A, 1, 2, 0);
	feed(s, MOLD_LINE_A, 5, 1, 0);
	feed(s, MOLD_LINE_A, 7, 1, 0);
	cr_assert_eq(R.nreq, 2);
	assert_request(0, SID, 3, 2);
	assert_request(1, SID, 6, 1);
	mold_session_poll(s, 1000);
	mold_session_poll(s, 2000);
	mold_session_poll(s, 3000);
	cr_assert_eq(R.nlost, 2);
	cr_assert_eq(R.lost_first[0], 3);
	cr_assert_eq(R.lost_count[0], 2);
	cr_assert_eq(R.lost_first[1], 6);
	cr_assert_eq(R.lost_count[1], 1);
	uint64_t want[] = { 1, 2, 5, 7 };
	cr_assert_eq(R.n, 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(R.seq[i], want[i]);
	cr_assert_eq(mold_session_stats(s)->lost_msgs, 3);
	mold_session_destroy(s);
}

Test(mold, retry_asks_only_for_what_is_still_missing)
{
	struct mold_session *s = mk_default();

	feed(s, MOLD_LINE_A, 1, 2, 0);
	feed(s, MOLD_LINE_A, 9, 1, 0);
	assert_request(0, SID, 3, 6);
	feed(s, MOLD_LINE_RETRANS, 3, 2, 500);
	assert_delivered_range(1, 4);
	cr_assert_eq(mold_session_poll(s, 1000), 1);
	assert_request(1, SID, 5, 4);
	mold_session_destroy(s);
}

Test(mold, outstanding_requests_are_bounded_and_each_covers_at_most_k_messages)
{
	struct mold_cfg c;
	cfg_small(&c);
	c.max_requests = 2;
	c.max_request_msgs = 10;
	struct mold_session *s = mk(&c);

	feed(s, MOLD_LINE_A, 1, 1, 0);
	feed(s, MOLD_LINE_A, 52, 1, 0);
	cr_assert_eq(R.nreq, 2);
	assert_request(0, SID, 2, 10);
	assert_request(1, SID, 12, 10);
	cr_assert_eq(mold_session_poll(s, 500), 0);
	cr_assert_eq(R.nreq, 2);
	/* Answering the first frees a slot for the next chunk at once. */
	feed(s, MOLD_LINE_RETRANS, 2, 10, 600);
	assert_delivered_range(1, 11);
	cr_assert_eq(R.nreq, 3);
	assert_request(2, SID, 22, 10);
	cr_assert_eq(mold_session_stats(s)->requests_sent, 3);
	mold_session_destroy(s);
}

Test(mold, recovery_timeout_declares_loss_before_retries_run_out)
{
	struct mold_cfg c;
	cfg_small(&c);
	c.max_retries = 100;
	c.recovery_timeout_ns = 2500;
	struct mold_session *s = mk(&c);

	feed(s, MOLD_LINE_A, 1, 1, 0);
	feed(s, MOLD_LINE_A, 4, 1, 0);
	mold_session_poll(s, 1000);
	mold_session_poll(s, 2000);
	cr_assert_eq(R.nlost, 0);
	mold_session_poll(s, 3000);
	cr_assert_eq(R.nreq, 3);
	cr_assert_eq(R.nlost, 1);
	cr_assert_eq(R.lost_first[0], 2);
	cr_assert_eq(R.lost_count[0], 2);
	cr_assert_eq(R.n, 2);
	cr_assert_eq(R.seq[1], 4);
	mold_session_destroy(s);
}

Test(mold, failed_request_send_is_counted_and_retried)
{
	struct mold_session *s = mk_default();

	R.send_rc = -EIO;
	feed(s, MOLD_LINE_A, 1, 1, 0);
	feed(s, MOLD_LINE_A, 3, 1, 0);
	cr_assert_eq(mold_session_stats(s)->request_errors, 1);
	R.send_rc = 0;
	mold_session_poll(s, 1000);
	cr_assert_eq(R.nreq, 2);
	assert_request(1, SID, 2, 1);
	cr_assert_eq(mold_session_stats(s)->request_errors, 1);
	mold_session_destroy(s);
}

/* A loses packets 3, 7 and 8, B loses 5 and 12; B runs one packet behind A. */
static bool ab_lost(int line, int k)
{
	if (line == 0)
		return k == 3 || k == 7 || k == 8;
	return k == 5 || k == 12;
}

static void ab_run(struct mold_session *s)
{
	for (int k = 1; k <= 21; k++) {
		if (k <= 20 && !ab_lost(0, k))
			feed(s, MOLD_LINE_A, (uint64_t)(2 * k - 1), 2, 0);
		if (k >= 2 && !ab_lost(1, k - 1))
			feed(s, MOLD_LINE_B, (uint64_t)(2 * (k - 1) - 1), 2, 0);
	}
}

Test(mold, ab_arbitration_delivers_each_message_once_and_counts_each_lines_loss)
{
	struct mold_session *s = mk_default();

	ab_run(s);
	assert_delivered_range(1, 40);
	const struct mold_stats *st = mold_session_stats(s);
	cr_assert_eq(st->line[MOLD_LINE_A].gaps, 2);
	cr_assert_eq(st->line[MOLD_LINE_A].gap_msgs, 6);
	cr_assert_eq(st->line[MOLD_LINE_B].gaps, 2);
	cr_assert_eq(st->line[MOLD_LINE_B].gap_msgs, 4);
	cr_assert_eq(st->line[MOLD_LINE_A].delivered, 34);
	cr_assert_eq(st->line[MOLD_LINE_B].delivered, 6);
	cr_assert_eq(st->line[MOLD_LINE_A].duplicates, 0);
	cr_assert_eq(st->line[MOLD_LINE_B].duplicates, 30);
	cr_assert_eq(st->lost_msgs, 0);
	cr_assert_eq(st->gaps_opened, st->gaps_recovered);
	cr_assert_eq(st->held, 0);
	mold_session_destroy(s);
}

Test(mold, request_delay_lets_the_other_line_fill_a_gap_without_a_request)
{
	struct mold_cfg c;
	cfg_small(&c);
	c.request_delay_ns = 1000;
	struct mold_session *s = mk(&c);

	ab_run(s);
	assert_delivered_range(1, 40);
	cr_assert_eq(R.nreq, 0);
	cr_assert_eq(mold_session_stats(s)->requests_sent, 0);
	mold_session_destroy(s);
}

Test(mold, request_delay_expires_and_then_requests)
{
	struct mold_cfg c;
	cfg_small(&c);
	c.request_delay_ns = 1000;
	struct mold_session *s = mk(&c);

	feed(s, MOLD_LINE_A, 1, 1, 0);
	feed(s, MOLD_LINE_A, 3, 1, 100);
	cr_assert_eq(R.nreq, 0);
	cr_assert_eq(mold_session_poll(s, 1099), 0);
	cr_assert_eq(mold_session_poll(s, 1100), 1);
	assert_request(0, SID, 2, 1);
	mold_session_destroy(s);
}

Test(mold, end_of_session_is_reported_once_and_later_data_is_dropped)
{
	struct mold_session *s = mk_default();
	uint8_t eos[MOLD_HEADER_LEN];

	feed(s, MOLD_LINE_A, 1, 3, 0);
	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_A, eos, pkt_ctl(eos, SID, 4, 0xFFFF), 0),
		     0);
	cr_assert_eq(R.eos, 1);
	cr_assert_eq(feed(s, MOLD_LINE_A, 4, 1, 0), -ESTALE);
	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_B, eos, MOLD_HEADER_LEN, 0), -ESTALE);
	cr_assert_eq(R.eos, 1);
	assert_delivered_range(1, 3);
	const struct mold_stats *st = mold_session_stats(s);
	cr_assert_eq(st->line[MOLD_LINE_A].end_of_session, 1);
	cr_assert_eq(st->line[MOLD_LINE_A].after_eos, 1);
	cr_assert_eq(st->line[MOLD_LINE_B].after_eos, 1);
	mold_session_destroy(s);
}

Test(mold, end_of_session_waits_for_missing_messages_before_it)
{
	struct mold_session *s = mk_default();
	uint8_t eos[MOLD_HEADER_LEN];

	feed(s, MOLD_LINE_A, 1, 2, 0);
	mold_session_on_packet(s, MOLD_LINE_A, eos, pkt_ctl(eos, SID, 6, 0xFFFF), 0);
	cr_assert_eq(R.eos, 0);
	assert_request(0, SID, 3, 3);
	feed(s, MOLD_LINE_RETRANS, 3, 4, 10);
	assert_delivered_range(1, 5);
	cr_assert_eq(R.eos, 1);
	cr_assert_eq(mold_session_stats(s)->line[MOLD_LINE_RETRANS].after_eos, 1);
	mold_session_destroy(s);
}

Test(mold, other_session_id_is_dropped_while_the_session_is_active)
{
	struct mold_session *s = mk_default();
	uint8_t buf[256];

	feed(s, MOLD_LINE_A, 1, 2, 0);
	size_t len = pkt_build(buf, SID2, 3, 2, 30);
	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_B, buf, len, 0), -ESTALE);
	assert_delivered_range(1, 2);
	cr_assert_eq(R.nsession, 1);
	cr_assert_eq(mold_session_stats(s)->line[MOLD_LINE_B].wrong_session, 1);
	mold_session_destroy(s);
}

Test(mold, new_session_after_end_of_session_restarts_at_one)
{
	struct mold_session *s = mk_default();
	uint8_t buf[256], eos[MOLD_HEADER_LEN];

	feed(s, MOLD_LINE_A, 1, 2, 0);
	mold_session_on_packet(s, MOLD_LINE_A, eos, pkt_ctl(eos, SID, 3, 0xFFFF), 0);
	cr_assert_eq(R.eos, 1);
	/* The new session's first packet was lost: sequencing restarts at 1 and 1..2 are asked. */
	size_t len = pkt_build(buf, SID2, 3, 2, 30);
	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_A, buf, len, 0), 0);
	cr_assert_eq(R.nsession, 2);
	cr_assert_arr_eq(R.session[1], SID2, MOLD_SESSION_LEN);
	assert_request(0, SID2, 1, 2);
	len = pkt_build(buf, SID2, 1, 2, 30);
	mold_session_on_packet(s, MOLD_LINE_RETRANS, buf, len, 0);
	uint64_t want[] = { 1, 2, 1, 2, 3, 4 };
	cr_assert_eq(R.n, 6);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(R.seq[i], want[i]);
	cr_assert_eq(mold_session_next_seq(s), 5);
	mold_session_destroy(s);
}

Test(mold, join_late_starts_at_the_first_sequence_seen)
{
	struct mold_cfg c;
	cfg_small(&c);
	c.start_seq = 0;
	struct mold_session *s = mk(&c);

	feed(s, MOLD_LINE_A, 1000, 2, 0);
	assert_delivered_range(1000, 1001);
	cr_assert_eq(R.nreq, 0);
	mold_session_destroy(s);
}

Test(mold, packet_beyond_the_window_is_dropped_then_recovered_when_the_window_reaches_it)
{
	struct mold_cfg c;
	cfg_small(&c);
	c.window = 8;
	struct mold_session *s = mk(&c);

	feed(s, MOLD_LINE_A, 1, 1, 0);
	feed(s, MOLD_LINE_A, 20, 1, 0);
	cr_assert_eq(mold_session_stats(s)->window_full_drops, 1);
	cr_assert_eq(mold_session_stats(s)->held, 0);
	/* Requests never reach past the window: answers there could not be held. */
	cr_assert_eq(R.nreq, 1);
	assert_request(0, SID, 2, 8);
	feed(s, MOLD_LINE_RETRANS, 2, 8, 10);
	assert_request(1, SID, 10, 8);
	feed(s, MOLD_LINE_RETRANS, 10, 8, 20);
	assert_request(2, SID, 18, 3);
	feed(s, MOLD_LINE_RETRANS, 18, 3, 30);
	assert_delivered_range(1, 20);
	cr_assert_eq(mold_session_stats(s)->lost_msgs, 0);
	mold_session_destroy(s);
}

Test(mold, arena_full_drops_are_counted_and_recovered_by_retry)
{
	struct mold_cfg c;
	cfg_small(&c);
	c.arena_bytes = 4 * 48; /* four 30-byte messages */
	struct mold_session *s = mk(&c);

	feed(s, MOLD_LINE_A, 1, 1, 0);
	feed(s, MOLD_LINE_A, 3, 6, 0);
	cr_assert_eq(mold_session_stats(s)->held, 4);
	cr_assert_eq(mold_session_stats(s)->window_full_drops, 2);
	feed(s, MOLD_LINE_RETRANS, 2, 1, 10);
	assert_delivered_range(1, 6);
	mold_session_poll(s, 1000);
	assert_request(1, SID, 7, 2);
	feed(s, MOLD_LINE_RETRANS, 7, 2, 1100);
	assert_delivered_range(1, 8);
	mold_session_destroy(s);
}

Test(mold, arena_space_is_reused_across_many_gaps)
{
	struct mold_cfg c;
	cfg_small(&c);
	c.arena_bytes = 5 * 48 + 24; /* odd size: forces wrap pads */
	struct mold_session *s = mk(&c);
	uint64_t seq = 1;

	for (int round = 0; round < 200; round++) {
		/* seq is lost on A, seq+1..seq+3 held, then seq arrives on B. */
		feed(s, MOLD_LINE_A, seq + 1, 3, 0);
		feed(s, MOLD_LINE_B, seq, 1, 0);
		seq += 4;
	}
	assert_delivered_range(1, 800);
	cr_assert_eq(mold_session_stats(s)->window_full_drops, 0);
	cr_assert_eq(mold_session_stats(s)->held_hwm, 3);
	mold_session_destroy(s);
}

/* Each malformed packet is dropped whole; the session id is not fixed by it. */
static void expect_malformed(const uint8_t *pkt, size_t len, enum mold_malformed why)
{
	struct mold_session *s = mk_default();
	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_A, pkt, len, 0), -EBADMSG, "%s",
		     mold_malformed_name(why));
	const struct mold_stats *st = mold_session_stats(s);
	for (int r = 0; r < MOLD_MALFORMED_REASONS; r++)
		cr_assert_eq(st->line[MOLD_LINE_A].malformed[r], r == (int)why ? 1u : 0u,
			     "reason %s", mold_malformed_name((enum mold_malformed)r));
	cr_assert_eq(R.n, 0);
	cr_assert_eq(R.nsession, 0);
	cr_assert_eq(R.nreq, 0);
	cr_assert_eq(st->line[MOLD_LINE_A].packets, 1);
	/* The session still works afterwards. */
	cr_assert_eq(feed(s, MOLD_LINE_A, 1, 1, 0), 0);
	cr_assert_eq(R.n, 1);
	mold_session_destroy(s);
}

Test(mold, short_header_is_malformed)
{
	uint8_t buf[64];
	size_t len = pkt_ctl(buf, SID, 1, 0);
	expect_malformed(buf, len - 1, MOLD_MALFORMED_SHORT_HEADER);
	expect_malformed(buf, 0, MOLD_MALFORMED_SHORT_HEADER);
}

Test(mold, block_length_past_the_end_is_malformed_and_earlier_blocks_are_not_delivered)
{
	uint8_t buf[256];
	size_t len = pkt_build(buf, SID, 1, 3, 30);
	expect_malformed(buf, len - 5, MOLD_MALFORMED_BLOCK_PAST_END);
	/* The third block's length field says 30 but only 0 bytes follow it. */
	expect_malformed(buf, len - 30, MOLD_MALFORMED_BLOCK_PAST_END);
}

Test(mold, count_larger_than_the_blocks_is_malformed)
{
	uint8_t buf[256];
	size_t len = pkt_build(buf, SID, 1, 2, 30);
	buf[19] = 3;
	expect_malformed(buf, len, MOLD_MALFORMED_COUNT_MISMATCH);
	/* One byte of the third block's length field. */
	buf[len] = 0;
	expect_malformed(buf, len + 1, MOLD_MALFORMED_COUNT_MISMATCH);
}

Test(mold, trailing_garbage_is_malformed)
{
	uint8_t buf[256];
	size_t len = pkt_build(buf, SID, 1, 2, 30);
	memset(buf + len, 0xAB, 3);
	expect_malformed(buf, len + 3, MOLD_MALFORMED_TRAILING_BYTES);
	/* Count smaller than the blocks present. */
	buf[19] = 1;
	expect_malformed(buf, len, MOLD_MALFORMED_TRAILING_BYTES);
	/* A heartbeat or end of session with a body. */
	len = pkt_ctl(buf, SID, 1, 0xFFFF);
	expect_malformed(buf, len + 2, MOLD_MALFORMED_TRAILING_BYTES);
	len = pkt_ctl(buf, SID, 1, 0);
	expect_malformed(buf, len + 2, MOLD_MALFORMED_TRAILING_BYTES);
}

Test(mold, sequence_zero_or_overflowing_is_malformed)
{
	uint8_t buf[256];
	size_t len = pkt_build(buf, SID, 0, 1, 30);
	expect_malformed(buf, len, MOLD_MALFORMED_BAD_SEQUENCE);
	len = pkt_build(buf, SID, UINT64_MAX, 2, 30);
	expect_malformed(buf, len, MOLD_MALFORMED_BAD_SEQUENCE);
}

Test(mold, zero_length_messages_are_valid)
{
	struct mold_session *s = mk_default();
	uint8_t buf[64];
	size_t len = pkt_build(buf, SID, 1, 3, 0);
	cr_assert_eq(len, 26);
	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_A, buf, len, 0), 0);
	cr_assert_eq(R.n, 3);
	mold_session_destroy(s);
}

Test(mold, malformed_reasons_and_lines_have_names)
{
	cr_assert_str_eq(mold_malformed_name(MOLD_MALFORMED_SHORT_HEADER), "short_header");
	cr_assert_str_eq(mold_malformed_name(MOLD_MALFORMED_COUNT_MISMATCH), "count_mismatch");
	cr_assert_str_eq(mold_malformed_name(MOLD_MALFORMED_BLOCK_PAST_END), "block_past_end");
	cr_assert_str_eq(mold_malformed_name(MOLD_MALFORMED_TRAILING_BYTES), "trailing_bytes");
	cr_assert_str_eq(mold_malformed_name(MOLD_MALFORMED_BAD_SEQUENCE), "bad_sequence");
	cr_assert_str_eq(mold_malformed_name(MOLD_MALFORMED_REASONS), "unknown");
	cr_assert_str_eq(mold_line_name(MOLD_LINE_B), "b");
	cr_assert_str_eq(mold_line_name(MOLD_LINE_RETRANS), "retrans");
}

Test(mold, create_rejects_a_bad_config)
{
	struct mold_cfg c;
	struct rec r;
	struct mold_ops no_msg = rec_ops;
	no_msg.on_message = NULL;

	cfg_small(&c);
	c.window = 48;
	errno = 0;
	cr_assert_null(mold_session_create(&c, &rec_ops, &r));
	cr_assert_eq(errno, EINVAL);
	cfg_small(&c);
	c.max_requests = 0;
	cr_assert_null(mold_session_create(&c, &rec_ops, &r));
	cfg_small(&c);
	c.max_request_msgs = 0;
	cr_assert_null(mold_session_create(&c, &rec_ops, &r));
	cfg_small(&c);
	c.retry_interval_ns = 0;
	cr_assert_null(mold_session_create(&c, &rec_ops, &r));
	cfg_small(&c);
	c.arena_bytes = 16;
	cr_assert_null(mold_session_create(&c, &rec_ops, &r));
	cfg_small(&c);
	cr_assert_null(mold_session_create(&c, &no_msg, &r));
	cr_assert_eq(errno, EINVAL);
}

Test(mold, reset_forgets_the_session)
{
	struct mold_session *s = mk_default();
	uint8_t buf[256];

	feed(s, MOLD_LINE_A, 1, 2, 0);
	mold_session_reset(s);
	size_t len = pkt_build(buf, SID2, 1, 1, 30);
	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_A, buf, len, 0), 0);
	cr_assert_eq(R.nsession, 2);
	cr_assert_eq(R.n, 3);
	cr_assert_eq(R.seq[2], 1);
	mold_session_destroy(s);
}

Test(mold, end_of_session_cuts_an_outstanding_request_short)
{
	struct mold_session *s = mk_default();
	uint8_t eos[MOLD_HEADER_LEN];

	feed(s, MOLD_LINE_A, 1, 2, 0);
	feed(s, MOLD_LINE_A, 6, 3, 0);
	assert_request(0, SID, 3, 3);
	mold_session_on_packet(s, MOLD_LINE_A, eos, pkt_ctl(eos, SID, 4, 0xFFFF), 0);
	cr_assert_eq(R.eos, 0);
	mold_session_poll(s, 1000);
	assert_request(1, SID, 3, 1);
	mold_session_poll(s, 2000);
	mold_session_poll(s, 3000);
	cr_assert_eq(R.nlost, 1);
	cr_assert_eq(R.lost_first[0], 3);
	cr_assert_eq(R.lost_count[0], 1);
	cr_assert_eq(R.eos, 1);
	assert_delivered_range(1, 2);
	mold_session_destroy(s);
}
