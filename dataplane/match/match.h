/*
 * A price-time priority matching engine: the venue inside the exchange simulator, and what paper
 * trading runs against. One engine holds every instrument's book; all memory is allocated at
 * create time. Each call runs to completion and reports what happened through one event callback,
 * in order: the same input sequence always gives the same events, order ids and match numbers.
 */
#ifndef TRADSYS_MATCH_H
#define TRADSYS_MATCH_H

#include <stdbool.h>
#include <stdint.h>

#define MATCH_PRICE_MAX ((int64_t)1 << 52) /* prices are positive and below this */
#define MATCH_QTY_MAX ((int64_t)1 << 40)

enum match_side {
	MATCH_BUY = 'B',
	MATCH_SELL = 'S',
};

enum match_tif {
	MATCH_DAY, /* rests until canceled */
	MATCH_IOC, /* executes what it can now, cancels the rest */
	MATCH_FOK, /* executes in full now or not at all */
};

struct match_order {
	uint64_t user; /* the caller's tag, echoed in every event (OUCH token, session) */
	uint32_t instrument;
	uint32_t firm; /* self-trade prevention: orders of one firm never trade together */
	enum match_side side;
	enum match_tif tif;
	bool market; /* no limit price; never rests */
	bool post_only; /* rejected if it would execute on entry */
	int64_t price; /* limit, in the instrument's price scale */
	int64_t qty;
	int64_t min_qty; /* at least this much must execute on entry, else canceled; 0 = none */
};

enum match_event_kind {
	MATCH_EV_ACCEPTED, /* taken: id assigned; events for its executions and rest follow */
	MATCH_EV_REJECTED, /* refused before it touched the book: reason says why */
	MATCH_EV_RESTED, /* now resting on the book with qty (ITCH add) */
	MATCH_EV_EXECUTED, /* one side of a match: qty at price; passive marks the resting side */
	MATCH_EV_CANCELED, /* qty removed from the order: reason says why; leaves what remains */
	MATCH_EV_REPLACED, /* id became new_id with price and leaves; kept_priority tells how */
};

enum match_reason {
	MATCH_R_NONE,
	MATCH_R_BAD_PRICE,
	MATCH_R_BAD_QTY,
	MATCH_R_BAD_SIDE,
	MATCH_R_BAD_INSTRUMENT,
	MATCH_R_UNKNOWN_ORDER,
	MATCH_R_WOULD_CROSS, /* post-only */
	MATCH_R_BOOK_FULL, /* no order or level slot left */
	MATCH_R_USER, /* canceled by request */
	MATCH_R_IOC, /* unexecuted part of an IOC or market order */
	MATCH_R_FOK, /* FOK that could not fill in full */
	MATCH_R_MIN_QTY, /* less than min_qty was executable */
	MATCH_R_SELF_TRADE, /* would have traded with its own firm: the newer order goes */
	MATCH_R_REASONS,
};

struct match_event {
	enum match_event_kind kind;
	enum match_reason reason;
	enum match_side side;
	bool passive; /* EXECUTED: this order was resting */
	bool kept_priority; /* REPLACED */
	uint32_t instrument;
	/* The engine's order id (also its ITCH order reference): ids grow in acceptance order and
	 * are never reused; the low bits name the order's pool slot. */
	uint64_t id;
	uint64_t user;
	int64_t price;
	int64_t qty; /* executed, canceled or rested quantity */
	int64_t leaves; /* quantity still open after this event */
	uint64_t match_no; /* EXECUTED: same on both sides of one match, unique per engine */
	uint64_t contra_id; /* EXECUTED: the other order */
	uint64_t new_id; /* REPLACED */
};

struct match_cfg {
	uint32_t instruments; /* ids 0 .. instruments-1 */
	uint32_t max_orders; /* resting orders across all instruments */
	uint32_t max_levels; /* price levels per side per instrument */
};

struct match_stats {
	uint64_t accepted, rejected, executions, canceled, replaced;
	uint64_t rejects[MATCH_R_REASONS];
};

typedef void (*match_event_fn)(void *ctx, const struct match_event *ev);

struct match_engine;

/* Allocates an engine for cfg; NULL with errno EINVAL (zero sizes) or ENOMEM. */
struct match_engine *match_create(const struct match_cfg *cfg, match_event_fn on_event, void *ctx);
void match_destroy(struct match_engine *e);

/*
 * Enters an order: ACCEPTED (or REJECTED), then its executions, then RESTED or CANCELED for the
 * remainder. Returns 0 with *id set, or -EINVAL / -ENOSPC when rejected (the event says why).
 */
int match_submit(struct match_engine *e, const struct match_order *o, uint64_t *id);

/*
 * Reduces a resting order to leaves (0 cancels it): CANCELED with the removed quantity. A leaves
 * at or above the open quantity changes nothing. Returns 0, or -ENOENT for an unknown order.
 */
int match_cancel(struct match_engine *e, uint64_t id, int64_t leaves);

/*
 * OUCH cancel-replace: the order gets a new id; it keeps its place only when the price is the same
 * and the quantity does not go up, otherwise it goes to the back at its new price (and may
 * execute). Returns 0 with *new_id, -ENOENT for an unknown order, -EINVAL for a bad price/qty.
 */
int match_replace(struct match_engine *e, uint64_t id, int64_t price, int64_t qty,
		  uint64_t *new_id);

/* Best bid and ask of an instrument (0 when that side is empty) and their quantities. */
void match_bbo(const struct match_engine *e, uint32_t instrument, int64_t *bid, int64_t *bid_qty,
	       int64_t *ask, int64_t *ask_qty);

/* Open quantity of a resting order, or -ENOENT. */
int64_t match_order_leaves(const struct match_engine *e, uint64_t id);

/*
 * The order reference a venue publishes for an id (ITCH, OUCH Accepted): the id's serial, so
 * references are dense and grow by one per accepted order or replace, as an exchange's do, and
 * never repeat within the engine's life.
 */
uint64_t match_ref(const struct match_engine *e, uint64_t id);

/* Resting orders across the book. */
uint32_t match_order_count(const struct match_engine *e);

const struct match_stats *match_stats(const struct match_engine *e);

/* Label of a reason ("would_cross", ...). */
const char *match_reason_name(enum match_reason r);

#endif
