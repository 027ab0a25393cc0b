/*
 * The feed handler: ITCH 5.0 messages into order books and normalized md_events. Each message is
 * validated, then its type's fields are read in place and applied to the book set directly; what
 * changed is reported to the strategy callback with the BBO after the change. Bad messages and
 * book refusals are counted per reason, never fatal. A MoldUDP64 session in front of it hands
 * messages in sequence; when the session declares messages lost, every instrument of the feed is
 * marked stale (an ITCH gap can touch any book).
 */
#ifndef TRADSYS_FEED_H
#define TRADSYS_FEED_H

#include <stdint.h>

#include "book.h"
#include "itch.h"

typedef void (*feed_md_fn)(void *ctx, const struct md_event *ev);

struct feed_stats {
	struct itch_stats itch;
	uint64_t bad_locate; /* a locate beyond the configured instruments */
	uint64_t book_refused; /* book operations refused (details in book_stats) */
	uint64_t gaps_lost; /* messages the transport declared lost */
	uint64_t peak_orders; /* most live orders at once */
};

struct feed {
	struct book_set *books;
	feed_md_fn on_md; /* may be NULL: books only */
	void *ctx;
	uint64_t rx_tsc; /* stamped into events: set by the caller per packet */
	/* Stage clocks on one message in sample_every (0: never). For a sampled message,
	 * trace_in is the TSC on entry and trace_book the TSC once it is checked and decoded, just
	 * before the book; the consumer of its market data event reads and clears them. */
	uint32_t sample_every, sample_left;
	uint64_t trace_in, trace_book;
	struct feed_stats st;
};

/* Creates a feed with its own book set. NULL with errno on failure. */
struct feed *feed_create(const struct book_cfg *cfg, feed_md_fn on_md, void *ctx);
void feed_destroy(struct feed *f);

/*
 * Applies one ITCH message. Returns 0, or the negative itch_error / errno of what was refused
 * (counted in f->st). Never reads outside msg[0..len).
 */
int feed_itch_message(struct feed *f, const uint8_t *msg, uint16_t len);

/* The transport lost count messages from first_seq: every book is stale until reset. */
void feed_gap_lost(struct feed *f, uint64_t first_seq, uint64_t count);

#endif
