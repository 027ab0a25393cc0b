/*
 * Description: the feed handler applies ITCH messages to the books and reports md_events with the
 * BBO after each change; refused and malformed messages are counted; a MoldUDP64 session in front
 * of it delivers in order and a lost gap marks every book stale.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "feed.h"
#include "mold.h"

static struct md_event evs[64];
static int nev;

static void on_md(void *ctx, const struct md_event *ev)
{
	(void)ctx;
	evs[nev++] = *ev;
}

static uint8_t m[64];

static void put(size_t off, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		m[off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint16_t msg(uint8_t type, uint16_t locate)
{
	memset(m, ' ', sizeof(m));
	m[0] = type;
	put(1, locate, 2);
	put(3, 0, 2);
	put(5, 1000, 6);
	return itch_msg_len[type];
}

static uint16_t add(char side, uint16_t locate, uint64_t ref, uint32_t qty, uint32_t px)
{
	uint16_t len = msg('A', locate);
	put(11, ref, 8);
	m[19] = (uint8_t)side;
	put(20, qty, 4);
	memcpy(m + 24, "TEST    ", 8);
	put(32, px, 4);
	return len;
}

static struct feed *mk(void)
{
	struct book_cfg cfg = { 16, 256, 64, 100 };
	nev = 0;
	struct feed *f = feed_create(&cfg, on_md, NULL);
	cr_assert_not_null(f);
	return f;
}

Test(feed, add_execute_cancel_delete_replace_update_book_and_events)
{
	struct feed *f = mk();
	uint16_t len = add('B', 3, 1, 500, 100000);
	cr_assert_eq(feed_itch_message(f, m, len), 0);
	len = add('S', 3, 2, 300, 100500);
	cr_assert_eq(feed_itch_message(f, m, len), 0);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[1].kind, MD_ADD);
	cr_assert_eq(evs[1].bbo.bid_px, 100000);
	cr_assert_eq(evs[1].bbo.ask_px, 100500);
	cr_assert_eq(evs[1].exch_ts, 1000);

	len = msg('E', 3);
	put(11, 1, 8);
	put(19, 200, 4);
	put(23, 55, 8);
	cr_assert_eq(feed_itch_message(f, m, len), 0);
	cr_assert_eq(evs[2].kind, MD_EXECUTE);
	cr_assert_eq(evs[2].qty, 200);
	cr_assert_eq(evs[2].price, 100000);
	cr_assert_eq(evs[2].bbo.bid_qty, 300);

	len = msg('X', 3);
	put(11, 2, 8);
	put(19, 100, 4);
	cr_assert_eq(feed_itch_message(f, m, len), 0);
	cr_assert_eq(evs[3].kind, MD_CANCEL);
	cr_assert_eq(evs[3].bbo.ask_qty, 200);

	len = msg('U', 3);
	put(11, 2, 8);
	put(19, 9, 8);
	put(27, 50, 4);
	put(31, 100400, 4);
	cr_assert_eq(feed_itch_message(f, m, len), 0);
	cr_assert_eq(evs[4].kind, MD_REPLACE);
	cr_assert_eq(evs[4].bbo.ask_px, 100400);
	cr_assert_eq(evs[4].bbo.ask_qty, 50);

	len = msg('D', 3);
	put(11, 9, 8);
	cr_assert_eq(feed_itch_message(f, m, len), 0);
	cr_assert_eq(evs[5].kind, MD_DELETE);
	cr_assert_eq(evs[5].bbo.ask_px, 0);
	cr_assert_eq(book_order_count(f->books), 1);
	feed_destroy(f);
}

Test(feed, directory_and_trading_action_fill_the_instrument)
{
	struct feed *f = mk();
	uint16_t len = msg('R', 5);
	memcpy(m + 11, "MSFT    ", 8);
	m[19] = 'Q';
	put(21, 100, 4);
	cr_assert_eq(feed_itch_message(f, m, len), 0);
	len = msg('H', 5);
	memcpy(m + 11, "MSFT    ", 8);
	m[19] = 'T';
	cr_assert_eq(feed_itch_message(f, m, len), 0);
	struct book_instrument_info *i = book_instrument(f->books, 5);
	cr_assert_str_eq(i->symbol, "MSFT");
	cr_assert_eq(i->round_lot, 100);
	cr_assert_eq(i->trading_state, BOOK_STATE_TRADING);
	cr_assert_eq(evs[nev - 1].kind, MD_STATUS);
	feed_destroy(f);
}

Test(feed, refused_and_malformed_messages_are_counted)
{
	struct feed *f = mk();
	uint16_t len = msg('D', 3);
	put(11, 777, 8);
	cr_assert_eq(feed_itch_message(f, m, len), -ENOENT);
	cr_assert_eq(f->st.book_refused, 1);
	cr_assert_eq(feed_itch_message(f, m, len - 1), -ITCH_ERR_BAD_LENGTH);
	cr_assert_eq(f->st.itch.errors[ITCH_ERR_BAD_LENGTH], 1);
	len = add('B', 40, 1, 1, 1); /* locate beyond 16 instruments */
	cr_assert_eq(feed_itch_message(f, m, len), -EINVAL);
	len = add('Z', 3, 1, 1, 1); /* bad side */
	cr_assert_eq(feed_itch_message(f, m, len), -EINVAL);
	cr_assert_eq(nev, 0, "nothing reported for refused messages");
	feed_destroy(f);
}

/* MoldUDP64 in front: messages flow to the feed; a lost gap marks the books stale. */
static void mold_to_feed(void *ctx, uint64_t seq, const uint8_t *msg_, uint16_t len)
{
	feed_itch_message(ctx, msg_, len);
}

static void lost_to_feed(void *ctx, uint64_t first, uint64_t count)
{
	feed_gap_lost(ctx, first, count);
}

static size_t mold_packet(uint8_t *p, uint64_t seq, const uint8_t *msgs, const uint16_t *lens,
			  int n)
{
	memcpy(p, "SESSION001", 10);
	for (int i = 0; i < 8; i++)
		p[10 + i] = (uint8_t)(seq >> (56 - 8 * i));
	p[18] = 0;
	p[19] = (uint8_t)n;
	size_t off = 20;
	for (int i = 0; i < n; i++) {
		p[off] = 0;
		p[off + 1] = (uint8_t)lens[i];
		memcpy(p + off + 2, msgs, lens[i]);
		msgs += lens[i];
		off += 2 + lens[i];
	}
	return off;
}

Test(feed, mold_gap_that_cannot_be_recovered_marks_books_stale)
{
	struct feed *f = mk();
	struct mold_cfg cfg;
	mold_cfg_default(&cfg);
	cfg.max_retries = 0;
	cfg.retry_interval_ns = 1000;
	struct mold_ops ops = { .on_message = mold_to_feed, .on_gap_lost = lost_to_feed };
	struct mold_session *s = mold_session_create(&cfg, &ops, f);
	cr_assert_not_null(s);

	uint8_t msgs[128], pkt[256];
	uint16_t lens[2];
	lens[0] = add('B', 2, 1, 100, 5000);
	memcpy(msgs, m, lens[0]);
	lens[1] = add('S', 2, 2, 100, 5100);
	memcpy(msgs + lens[0], m, lens[1]);
	size_t n = mold_packet(pkt, 1, msgs, lens, 2);
	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_A, pkt, n, 0), 0);
	cr_assert_eq(book_order_count(f->books), 2);
	cr_assert(!book_instrument(f->books, 2)->stale);

	/* Sequence 3 never arrives; 4 does; no retransmission comes. */
	lens[0] = add('B', 2, 4, 100, 4900);
	n = mold_packet(pkt, 4, m, lens, 1);
	cr_assert_eq(mold_session_on_packet(s, MOLD_LINE_A, pkt, n, 10), 0);
	cr_assert_eq(book_order_count(f->books), 2, "held until the gap resolves");
	mold_session_poll(s, 1000000000ull);
	cr_assert_eq(f->st.gaps_lost, 1);
	cr_assert(book_instrument(f->books, 2)->stale);
	cr_assert(book_instrument(f->books, 9)->stale, "a gap can touch any book");
	cr_assert_eq(book_order_count(f->books), 3, "held message delivered after the gap");
	mold_session_destroy(s);
	feed_destroy(f);
}

/* Stage clocks sample one message in sample_every: its entry and decoded TSCs are left for the
 * consumer of its event, in order; unsampled messages leave them alone. */
Test(feed, one_message_in_sample_every_carries_stage_clocks)
{
	struct feed *f = mk();

	f->sample_every = f->sample_left = 3;
	cr_assert_eq(feed_itch_message(f, m, add('B', 1, 1, 100, 10000)), 0);
	cr_assert_eq(feed_itch_message(f, m, add('B', 1, 2, 100, 10000)), 0);
	cr_assert_eq(f->trace_book, 0);
	cr_assert_eq(feed_itch_message(f, m, add('B', 1, 3, 100, 10000)), 0);
	cr_assert_neq(f->trace_book, 0, "the third message is sampled");
	cr_assert_geq(f->trace_book, f->trace_in);
	f->trace_book = 0;
	cr_assert_eq(feed_itch_message(f, m, add('B', 1, 4, 100, 10000)), 0);
	cr_assert_eq(f->trace_book, 0);
	feed_destroy(f);
}
