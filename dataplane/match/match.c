/*
 * The matching engine. Per instrument and side, price levels sit in a sorted array with the best
 * level at the end, because nearly all activity is at or near the top: inserting or removing
 * there moves few entries. Each level is a FIFO of orders linked by pool index. Order ids map to
 * pool slots through the core refmap (open addressing, backward-shift deletion). No allocation after
 * match_create().
 */
#include "match.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refmap.h"

#define NIL UINT32_MAX

struct mord {
	uint64_t id;
	uint64_t user;
	int64_t price;
	int64_t qty;
	uint32_t prev, next; /* FIFO within the level; next doubles as the free-list link */
	uint32_t instr;
	uint32_t firm;
	uint8_t side; /* 0 buy, 1 sell */
};

struct mlevel {
	int64_t price;
	int64_t qty;
	uint32_t head, tail;
	uint32_t count;
};

struct mside {
	struct mlevel *lv; /* ascending toward the best: bids by price, asks by minus price */
	uint32_t n;
};

struct match_engine {
	struct match_cfg cfg;
	match_event_fn on_event;
	void *ctx;
	struct mord *ord;
	uint32_t free_head;
	uint32_t live;
	struct mside *sides; /* instrument * 2 + side */
	struct mlevel *levels;
	struct refmap ids; /* order id -> pool index */
	uint64_t next_id;
	uint64_t next_match;
	struct match_stats stats;
};

static const char *const reason_names[MATCH_R_REASONS] = {
	[MATCH_R_NONE] = "none",
	[MATCH_R_BAD_PRICE] = "bad_price",
	[MATCH_R_BAD_QTY] = "bad_qty",
	[MATCH_R_BAD_SIDE] = "bad_side",
	[MATCH_R_BAD_INSTRUMENT] = "bad_instrument",
	[MATCH_R_UNKNOWN_ORDER] = "unknown_order",
	[MATCH_R_WOULD_CROSS] = "would_cross",
	[MATCH_R_BOOK_FULL] = "book_full",
	[MATCH_R_USER] = "user",
	[MATCH_R_IOC] = "ioc",
	[MATCH_R_FOK] = "fok",
	[MATCH_R_MIN_QTY] = "min_qty",
	[MATCH_R_SELF_TRADE] = "self_trade",
};

const char *match_reason_name(enum match_reason r)
{
	return (unsigned)r < MATCH_R_REASONS ? reason_names[r] : "unknown";
}

/* ---- levels ---- */

static inline struct mside *side_of(struct match_engine *e, uint32_t instr, int side)
{
	return &e->sides[instr * 2 + (uint32_t)side];
}

/* True if price a is better than b for side (higher bid, lower ask). */
static inline bool better(int side, int64_t a, int64_t b)
{
	return side == 0 ? a > b : a < b;
}

/* Binary search: levels ascend toward the best, so "better" orders the array. */
static struct mlevel *level_find(struct mside *s, int side, int64_t price)
{
	uint32_t lo = 0, hi = s->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (s->lv[mid].price == price)
			return &s->lv[mid];
		if (better(side, price, s->lv[mid].price))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct mlevel *level_get_or_add(struct match_engine *e, struct mside *s, int side,
				       int64_t price)
{
	uint32_t i = 0, hi = s->n;

	/* Find the first level better than price; price goes just below it. */
	while (i < hi) {
		uint32_t mid = (i + hi) / 2;
		if (better(side, s->lv[mid].price, price))
			hi = mid;
		else
			i = mid + 1;
	}
	if (i > 0 && s->lv[i - 1].price == price)
		return &s->lv[i - 1];
	if (s->n == e->cfg.max_levels)
		return NULL;
	memmove(&s->lv[i + 1], &s->lv[i], (s->n - i) * sizeof(s->lv[0]));
	s->n++;
	s->lv[i] = (struct mlevel){ .price = price, .head = NIL, .tail = NIL };
	return &s->lv[i];
}

static void level_remove(struct mside *s, struct mlevel *l)
{
	uint32_t i = (uint32_t)(l - s->lv);
	memmove(&s->lv[i], &s->lv[i + 1], (s->n - i - 1) * sizeof(s->lv[0]));
	s->n--;
}

static void level_unlink(struct match_engine *e, struct mlevel *l, uint32_t idx)
{
	struct mord *o = &e->ord[idx];
	if (o->prev != NIL)
		e->ord[o->prev].next = o->next;
	else
		l->head = o->next;
	if (o->next != NIL)
		e->ord[o->next].prev = o->prev;
	else
		l->tail = o->prev;
	l->count--;
	l->qty -= o->qty;
}

static void level_append(struct match_engine *e, struct mlevel *l, uint32_t idx)
{
	struct mord *o = &e->ord[idx];
	o->prev = l->tail;
	o->next = NIL;
	if (l->tail != NIL)
		e->ord[l->tail].next = idx;
	else
		l->head = idx;
	l->tail = idx;
	l->count++;
	l->qty += o->qty;
}

static void order_free(struct match_engine *e, uint32_t idx)
{
	refmap_del(&e->ids, e->ord[idx].id);
	e->ord[idx].next = e->free_head;
	e->free_head = idx;
	e->live--;
}

/* ---- events ---- */

static void emit(struct match_engine *e, struct match_event *ev)
{
	e->on_event(e->ctx, ev);
}

static void emit_simple(struct match_engine *e, enum match_event_kind kind,
			enum match_reason reason, const struct match_order *o, uint64_t id,
			int64_t qty, int64_t leaves)
{
	struct match_event ev = {
		.kind = kind,
		.reason = reason,
		.side = o->side,
		.instrument = o->instrument,
		.id = id,
		.user = o->user,
		.price = o->market ? 0 : o->price,
		.qty = qty,
		.leaves = leaves,
	};
	emit(e, &ev);
}

static int reject(struct match_engine *e, const struct match_order *o, enum match_reason r)
{
	e->stats.rejected++;
	e->stats.rejects[r]++;
	emit_simple(e, MATCH_EV_REJECTED, r, o, 0, o->qty, 0);
	return r == MATCH_R_BOOK_FULL ? -ENOSPC : -EINVAL;
}

/* ---- matching ---- */

static inline bool crosses(int side, const struct match_order *o, int64_t best)
{
	if (o->market)
		return true;
	return side == 0 ? o->price >= best : o->price <= best;
}

/* Quantity that would execute now, in priority order, stopping at an order of the same firm
 * (self-trade prevention ends matching there) or once want is reached. */
static int64_t executable(struct match_engine *e, const struct match_order *o, int side,
			  int64_t want)
{
	struct mside *opp = side_of(e, o->instrument, !side);
	int64_t got = 0;

	for (uint32_t i = opp->n; i-- > 0 && got < want;) {
		struct mlevel *l = &opp->lv[i];
		if (!crosses(side, o, l->price))
			break;
		for (uint32_t k = l->head; k != NIL && got < want; k = e->ord[k].next) {
			if (e->ord[k].firm == o->firm)
				return got;
			got += e->ord[k].qty;
		}
	}
	return got;
}

/*
 * Matches an accepted order (id) against the opposite side, then rests or cancels what remains.
 * Returns 0.
 */
static int execute_and_rest(struct match_engine *e, const struct match_order *o, uint64_t id,
			    int64_t leaves)
{
	int side = o->side == MATCH_SELL;
	struct mside *opp = side_of(e, o->instrument, !side);

	if (o->tif == MATCH_FOK && executable(e, o, side, leaves) < leaves) {
		e->stats.canceled++;
		emit_simple(e, MATCH_EV_CANCELED, MATCH_R_FOK, o, id, leaves, 0);
		return 0;
	}
	if (o->min_qty > 0 && executable(e, o, side, o->min_qty) < o->min_qty) {
		e->stats.canceled++;
		emit_simple(e, MATCH_EV_CANCELED, MATCH_R_MIN_QTY, o, id, leaves, 0);
		return 0;
	}

	while (leaves > 0 && opp->n > 0) {
		struct mlevel *l = &opp->lv[opp->n - 1];
		if (!crosses(side, o, l->price))
			break;
		uint32_t k = l->head;
		struct mord *r = &e->ord[k];
		if (r->firm == o->firm) {
			e->stats.canceled++;
			emit_simple(e, MATCH_EV_CANCELED, MATCH_R_SELF_TRADE, o, id, leaves, 0);
			return 0;
		}
		int64_t fill = leaves < r->qty ? leaves : r->qty;
		uint64_t match_no = ++e->next_match;
		leaves -= fill;
		r->qty -= fill;
		l->qty -= fill;
		e->stats.executions++;

		struct match_event ev = {
			.kind = MATCH_EV_EXECUTED,
			.side = o->side,
			.instrument = o->instrument,
			.id = id,
			.user = o->user,
			.price = l->price,
			.qty = fill,
			.leaves = leaves,
			.match_no = match_no,
			.contra_id = r->id,
		};
		emit(e, &ev);
		ev.side = side ? MATCH_BUY : MATCH_SELL;
		ev.passive = true;
		ev.id = r->id;
		ev.user = r->user;
		ev.leaves = r->qty;
		ev.contra_id = id;
		emit(e, &ev);

		if (r->qty == 0) {
			/* The order's quantity is already out of the level total. */
			r->qty = 0;
			level_unlink(e, l, k);
			order_free(e, k);
			if (l->count == 0)
				level_remove(opp, l);
		}
	}

	if (leaves == 0)
		return 0;
	if (o->market || o->tif != MATCH_DAY) {
		e->stats.canceled++;
		emit_simple(e, MATCH_EV_CANCELED, MATCH_R_IOC, o, id, leaves, 0);
		return 0;
	}

	struct mlevel *l =
		e->free_head == NIL
			? NULL
			: level_get_or_add(e, side_of(e, o->instrument, side), side, o->price);
	if (!l) {
		e->stats.canceled++;
		emit_simple(e, MATCH_EV_CANCELED, MATCH_R_BOOK_FULL, o, id, leaves, 0);
		return 0;
	}
	uint32_t idx = e->free_head;
	struct mord *n = &e->ord[idx];
	e->free_head = n->next;
	*n = (struct mord){ .id = id,
			    .user = o->user,
			    .price = o->price,
			    .qty = leaves,
			    .instr = o->instrument,
			    .firm = o->firm,
			    .side = (uint8_t)side };
	level_append(e, l, idx);
	refmap_put(&e->ids, id, idx);
	e->live++;
	emit_simple(e, MATCH_EV_RESTED, MATCH_R_NONE, o, id, leaves, leaves);
	return 0;
}

static enum match_reason validate(const struct match_engine *e, const struct match_order *o)
{
	if (o->side != MATCH_BUY && o->side != MATCH_SELL)
		return MATCH_R_BAD_SIDE;
	if (o->instrument >= e->cfg.instruments)
		return MATCH_R_BAD_INSTRUMENT;
	if (o->qty <= 0 || o->qty > MATCH_QTY_MAX || o->min_qty < 0 || o->min_qty > o->qty)
		return MATCH_R_BAD_QTY;
	if (!o->market && (o->price <= 0 || o->price >= MATCH_PRICE_MAX))
		return MATCH_R_BAD_PRICE;
	if ((unsigned)o->tif > MATCH_FOK || (o->market && o->post_only))
		return MATCH_R_BAD_PRICE;
	return MATCH_R_NONE;
}

int match_submit(struct match_engine *e, const struct match_order *o, uint64_t *id)
{
	enum match_reason r = validate(e, o);

	*id = 0;
	if (r != MATCH_R_NONE)
		return reject(e, o, r);
	if (o->post_only) {
		int side = o->side == MATCH_SELL;
		struct mside *opp = side_of(e, o->instrument, !side);
		if (opp->n > 0 && crosses(side, o, opp->lv[opp->n - 1].price))
			return reject(e, o, MATCH_R_WOULD_CROSS);
	}
	*id = ++e->next_id;
	e->stats.accepted++;
	emit_simple(e, MATCH_EV_ACCEPTED, MATCH_R_NONE, o, *id, o->qty, o->qty);
	return execute_and_rest(e, o, *id, o->qty);
}

int match_cancel(struct match_engine *e, uint64_t id, int64_t leaves)
{
	uint32_t idx = id ? refmap_get(&e->ids, id) : REFMAP_NONE;

	if (idx == REFMAP_NONE)
		return -ENOENT;
	struct mord *o = &e->ord[idx];
	if (leaves < 0)
		leaves = 0;
	if (leaves >= o->qty)
		return 0;

	int side = o->side;
	struct mside *s = side_of(e, o->instr, side);
	struct mlevel *l = level_find(s, side, o->price);
	int64_t removed = o->qty - leaves;
	struct match_event ev = {
		.kind = MATCH_EV_CANCELED,
		.reason = MATCH_R_USER,
		.side = side ? MATCH_SELL : MATCH_BUY,
		.instrument = o->instr,
		.id = id,
		.user = o->user,
		.price = o->price,
		.qty = removed,
		.leaves = leaves,
	};

	e->stats.canceled++;
	if (leaves == 0) {
		level_unlink(e, l, idx);
		order_free(e, idx);
		if (l->count == 0)
			level_remove(s, l);
	} else {
		o->qty = leaves;
		l->qty -= removed;
	}
	emit(e, &ev);
	return 0;
}

int match_replace(struct match_engine *e, uint64_t id, int64_t price, int64_t qty, uint64_t *new_id)
{
	uint32_t idx = id ? refmap_get(&e->ids, id) : REFMAP_NONE;

	*new_id = 0;
	if (idx == REFMAP_NONE)
		return -ENOENT;
	if (qty <= 0 || qty > MATCH_QTY_MAX || price <= 0 || price >= MATCH_PRICE_MAX)
		return -EINVAL;

	struct mord *o = &e->ord[idx];
	int side = o->side;
	struct mside *s = side_of(e, o->instr, side);
	struct mlevel *l = level_find(s, side, o->price);
	struct match_order req = {
		.user = o->user,
		.instrument = o->instr,
		.firm = o->firm,
		.side = side ? MATCH_SELL : MATCH_BUY,
		.tif = MATCH_DAY,
		.price = price,
		.qty = qty,
	};
	struct match_event ev = {
		.kind = MATCH_EV_REPLACED,
		.side = req.side,
		.instrument = o->instr,
		.id = id,
		.user = o->user,
		.price = price,
		.qty = qty,
		.leaves = qty,
	};

	*new_id = ++e->next_id;
	ev.new_id = *new_id;
	e->stats.replaced++;
	if (price == o->price && qty <= o->qty) {
		/* Same price, no more shares: the order keeps its place under its new id. */
		l->qty -= o->qty - qty;
		o->qty = qty;
		refmap_del(&e->ids, id);
		o->id = *new_id;
		refmap_put(&e->ids, *new_id, idx);
		ev.kept_priority = true;
		emit(e, &ev);
		return 0;
	}
	level_unlink(e, l, idx);
	order_free(e, idx);
	if (l->count == 0)
		level_remove(s, l);
	emit(e, &ev);
	return execute_and_rest(e, &req, *new_id, qty);
}

void match_bbo(const struct match_engine *e, uint32_t instrument, int64_t *bid, int64_t *bid_qty,
	       int64_t *ask, int64_t *ask_qty)
{
	const struct mside *b = &e->sides[instrument * 2];
	const struct mside *a = &e->sides[instrument * 2 + 1];

	*bid = b->n ? b->lv[b->n - 1].price : 0;
	*bid_qty = b->n ? b->lv[b->n - 1].qty : 0;
	*ask = a->n ? a->lv[a->n - 1].price : 0;
	*ask_qty = a->n ? a->lv[a->n - 1].qty : 0;
}

int64_t match_order_leaves(const struct match_engine *e, uint64_t id)
{
	uint32_t idx = id ? refmap_get(&e->ids, id) : REFMAP_NONE;
	return idx == REFMAP_NONE ? -ENOENT : e->ord[idx].qty;
}

uint32_t match_order_count(const struct match_engine *e)
{
	return e->live;
}

const struct match_stats *match_stats(const struct match_engine *e)
{
	return &e->stats;
}

struct match_engine *match_create(const struct match_cfg *cfg, match_event_fn on_event, void *ctx)
{
	struct match_engine *e;

	if (!cfg->instruments || !cfg->max_orders || !cfg->max_levels || !on_event ||
	    cfg->max_orders >= NIL) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->cfg = *cfg;
	e->on_event = on_event;
	e->ctx = ctx;
	e->ord = calloc(cfg->max_orders, sizeof(*e->ord));
	e->sides = calloc((size_t)cfg->instruments * 2, sizeof(*e->sides));
	e->levels = calloc((size_t)cfg->instruments * 2 * cfg->max_levels, sizeof(*e->levels));
	if (!e->ord || !e->sides || !e->levels || refmap_init(&e->ids, cfg->max_orders) != 0)
		goto nomem;
	for (uint32_t i = 0; i < cfg->instruments * 2; i++)
		e->sides[i].lv = &e->levels[(size_t)i * cfg->max_levels];
	for (uint32_t i = 0; i < cfg->max_orders; i++)
		e->ord[i].next = i + 1 < cfg->max_orders ? i + 1 : NIL;
	e->free_head = 0;
	return e;
nomem:
	match_destroy(e);
	errno = ENOMEM;
	return NULL;
}

void match_destroy(struct match_engine *e)
{
	if (!e)
		return;
	free(e->ord);
	free(e->sides);
	free(e->levels);
	refmap_free(&e->ids);
	free(e);
}
