/*
 * Order books built from an order-by-order feed. One book_set holds every instrument of a feed:
 * per instrument an L3 book (each order, in time priority within its price level) and, in the same
 * structure, the L2 view (per level: aggregate quantity and order count) and the BBO. Order
 * references are unique across a feed's day, so one reference map serves all instruments. All
 * memory is allocated by book_set_create(); no operation allocates.
 * The instrument directory (symbol, round lot, trading state, stale flag) is part of the set.
 */
#ifndef TRADSYS_BOOK_H
#define TRADSYS_BOOK_H

#include <stdbool.h>
#include <stdint.h>

enum book_side {
	BOOK_BID = 0,
	BOOK_ASK = 1,
};

#define BOOK_MAX_LEVELS 65535u

struct book_cfg {
	uint32_t max_instruments; /* instrument ids (ITCH stock locates) 0 .. max_instruments-1 */
	uint32_t max_orders; /* live orders across all instruments */
	uint32_t max_levels; /* price levels per side per instrument, at most BOOK_MAX_LEVELS */
	/* The usual tick in price units (ITCH: 100, a cent): one ladder slot per step. A side that
	 * sees a price off this grid goes to one unit per slot for good (book_stats.regrids).
	 * 0 or 1: one unit per slot from the start. */
	uint32_t price_step;
};

/* What an operation did to an order: enough to build an md_event. */
struct book_fill {
	uint32_t instrument;
	enum book_side side;
	int64_t price;
	int64_t qty; /* executed, canceled or added quantity */
	int64_t remaining; /* what the order has left (0: it left the book) */
};

struct book_bbo {
	int64_t bid_px, bid_qty; /* 0, 0 when the side is empty */
	int64_t ask_px, ask_qty;
};

struct book_level_view {
	int64_t price;
	int64_t qty;
	uint32_t orders;
};

/* Per-reason counters of operations the book refused; the book is unchanged by each. */
struct book_stats {
	uint64_t adds, executes, cancels, deletes, replaces;
	uint64_t unknown_ref; /* execute/cancel/delete/replace of a reference not in the book */
	uint64_t dup_ref; /* add of a reference already live */
	uint64_t pool_full; /* no order or level slot left */
	uint64_t over_execute; /* executed or canceled more than remained: order removed */
	uint64_t bad_order; /* bad instrument, side, price or quantity */
	uint64_t regrids; /* sides that met a price off price_step and went to one unit per slot */
};

/* Trading states from ITCH H messages; a feed starts every instrument halted until 'T'. */
enum book_trading_state {
	BOOK_STATE_HALTED = 'H',
	BOOK_STATE_PAUSED = 'P',
	BOOK_STATE_QUOTATION = 'Q',
	BOOK_STATE_TRADING = 'T',
};

struct book_instrument_info {
	char symbol[9];
	uint8_t market_category;
	uint8_t financial_status;
	uint8_t issue_classification;
	uint8_t trading_state; /* enum book_trading_state */
	uint8_t reg_sho; /* '0', '1', '2' */
	bool known; /* a stock directory message was seen */
	bool stale; /* the feed lost messages: do not trade on this book */
	uint32_t round_lot;
	int64_t luld_ref_price;
};

/*
 * The normalized market data event strategies see (DESIGN.md): what changed and the BBO after it.
 */
enum md_kind {
	MD_ADD,
	MD_EXECUTE,
	MD_CANCEL,
	MD_DELETE,
	MD_REPLACE,
	MD_TRADE, /* a non-displayed execution (ITCH P) */
	MD_STATUS,
};

struct md_event {
	uint32_t instrument;
	uint8_t kind; /* enum md_kind */
	uint8_t side; /* enum book_side */
	int64_t price;
	int64_t qty;
	struct book_bbo bbo;
	uint64_t exch_ts; /* ns since midnight, from the feed */
	uint64_t rx_tsc; /* when the packet came off the wire */
};

struct book_set;

/* Allocates a set for cfg. NULL with errno EINVAL (a zero size) or ENOMEM. */
struct book_set *book_set_create(const struct book_cfg *cfg);
void book_set_destroy(struct book_set *bs);

/*
 * Adds an order at the back of its price level. Returns 0, -EEXIST for a live reference,
 * -ENOSPC when the pool or the side's levels are full, -EINVAL for a bad instrument, side,
 * price (<= 0) or quantity (<= 0).
 */
int book_add(struct book_set *bs, uint32_t instrument, uint64_t ref, enum book_side side,
	     int64_t price, int64_t qty);

/*
 * Executes qty of an order; at zero the order leaves the book. Returns 0, -ENOENT for an unknown
 * reference, or -ERANGE when qty exceeds what remains (the order is removed and counted).
 * out may be NULL.
 */
int book_execute(struct book_set *bs, uint64_t ref, int64_t qty, struct book_fill *out);

/* Cancels qty of an order (partial cancel); same returns as book_execute. */
int book_cancel(struct book_set *bs, uint64_t ref, int64_t qty, struct book_fill *out);

/* Removes an order. Returns 0 or -ENOENT. */
int book_delete(struct book_set *bs, uint64_t ref, struct book_fill *out);

/*
 * Replaces an order with a new reference, price and quantity on the same side and instrument; it
 * goes to the back of its new level. Returns 0, -ENOENT (old unknown), -EEXIST (new live),
 * -EINVAL (bad price or quantity; nothing changes).
 */
int book_replace(struct book_set *bs, uint64_t old_ref, uint64_t new_ref, int64_t price,
		 int64_t qty, struct book_fill *out);

/*
 * Cache hints for a caller that can see messages ahead (a burst, a file). Neither changes the
 * book or fails, whatever the arguments. An operation is prepared in stages 0 to 3, some messages
 * apart, each reading only what the one before loaded. For an execute, cancel, delete or the old
 * reference of a replace (book_prefetch_ref): the reference map slot, the order (and the map's
 * next line when the slot ends its line: the delete's shift reads it), its queue neighbours and
 * level, then the level's ladder slot when the order is its last. For an add
 * (book_prefetch_add): the reference map and ladder slots, the level, the level's last order
 * (stage 3: nothing). A replace's new reference needs only book_prefetch_ref() stage 0.
 */
void book_prefetch_ref(const struct book_set *bs, uint64_t ref, unsigned int stage);
void book_prefetch_add(const struct book_set *bs, uint32_t instrument, uint64_t ref,
		       enum book_side side, int64_t price, unsigned int stage);

/* The best bid and ask of an instrument. */
void book_bbo(const struct book_set *bs, uint32_t instrument, struct book_bbo *out);

/* Up to n levels of one side from the best outward; returns how many were written. */
uint32_t book_depth(const struct book_set *bs, uint32_t instrument, enum book_side side,
		    struct book_level_view *out, uint32_t n);

/* Orders in one instrument's book, and in the whole set. */
uint32_t book_instrument_orders(const struct book_set *bs, uint32_t instrument);
uint32_t book_order_count(const struct book_set *bs);

/*
 * A hash over an instrument's whole L3 state: each level in price order with each order's
 * reference and quantity in queue order. Equal books give equal sums across runs and machines.
 */
uint64_t book_checksum(const struct book_set *bs, uint32_t instrument);

/* Calls fn for each order of one side of an instrument, best level first, in queue order. */
void book_walk(const struct book_set *bs, uint32_t instrument, enum book_side side,
	       void (*fn)(void *ctx, uint64_t ref, int64_t price, int64_t qty), void *ctx);

const struct book_stats *book_stats(const struct book_set *bs);

/* Directory: the entry for an instrument id (NULL when out of range). */
struct book_instrument_info *book_instrument(struct book_set *bs, uint32_t instrument);

/* The instrument id of a symbol, or -ENOENT (a linear search: for tools and the API). */
int64_t book_find_symbol(const struct book_set *bs, const char *symbol);

/* Marks every instrument stale (the feed lost messages) or clears the flag. */
void book_set_stale_all(struct book_set *bs, bool stale);

/* Number of instruments a stock directory message described. */
uint32_t book_known_instruments(const struct book_set *bs);

uint32_t book_max_instruments(const struct book_set *bs);

#endif
