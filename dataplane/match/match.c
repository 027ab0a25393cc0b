/*
 * The matching engine. Per instrument and side, the price levels near the touch sit in a ladder:
 * a ring of slots indexed by price with a bitmap of the non-empty ones, so finding a level by
 * price is one load and finding the next best level is a bit scan. The ladder covers a window of
 * W prices that starts a little better than the best price; the rare levels worse than the window
 * sit in a sorted array, and the window follows the touch. Each order records its level, so a
 * cancel or replace never searches. Each level is a FIFO of orders linked by pool index. An order
 * id carries its pool slot in its low bits under a serial number (see order_id()), so finding an
 * order by id is one load and a compare, with no map to keep. No allocation after match_create().
 */
#include "match.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define NIL UINT32_MAX
/* Ladder width bounds: at most one summary word over 64 bitmap words. */
#define LADDER_MIN 64u
#define LADDER_MAX 4096u

/* A resting order (40 bytes). Its price, side and instrument are those of its level. */
struct mord {
	uint64_t id; /* 0 while the slot is free or reserved */
	uint64_t user;
	int64_t qty;
	uint32_t prev, next; /* FIFO within the level; next doubles as the free-list link */
	uint32_t lvl;
	uint32_t firm;
};

/* A price level (32 bytes); an empty level is freed at once. */
struct mlevel {
	int64_t price;
	int64_t qty;
	uint32_t head, tail; /* tail doubles as the free-list link */
	uint32_t sx; /* instrument * 2 + side (0 buy, 1 sell): its struct mside */
	uint32_t pad;
};

/*
 * One side of one instrument. Prices are compared as ranks, lower is better: -price for bids,
 * price for asks. Every level has a rank of at least lo; those below lo + W are in the ladder at
 * position rank & (W - 1), the others in far. So whenever the side has a level, its best one is
 * in the ladder.
 */
struct mside {
	int64_t lo; /* rank of the ladder's first price */
	uint32_t best; /* best level, NIL when the side is empty */
	uint32_t n; /* levels on this side, at most cfg.max_levels */
	uint32_t nfar; /* of which beyond the ladder */
	uint64_t summary; /* bit w set when bits[w] is not 0 */
	uint32_t *slot; /* W entries: the level at each ladder position, or NIL */
	uint64_t *bits; /* W bits: the non-empty ladder positions */
	uint32_t *far; /* levels beyond the ladder by rank descending, so the best is last */
};

struct match_engine {
	match_event_fn on_event;
	void *ctx;
	struct mord *ord;
	struct mlevel *lv;
	struct mside *sides; /* instrument * 2 + side */
	uint32_t free_ord;
	uint32_t free_lvl;
	uint32_t live;
	uint32_t wmask; /* ladder width W - 1 */
	int64_t margin; /* the ladder starts this many prices better than the best when it moves */
	uint32_t id_shift; /* an id is serial << id_shift | slot */
	uint64_t slot_mask; /* (1 << id_shift) - 1: also the slot part of an id with no slot */
	uint64_t next_id; /* the last serial handed out */
	uint64_t next_match;
	struct match_cfg cfg;
	struct match_stats stats;
	/* Allocations, for match_destroy(). */
	uint32_t *slots;
	uint64_t *bits;
	uint32_t *fars;
	size_t ord_sz, lv_sz, sides_sz, slots_sz, bits_sz, fars_sz;
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

/* ---- the ladder ---- */

static inline int64_t rank_of(uint32_t sx, int64_t price)
{
	return sx & 1 ? price : -price;
}

static inline int64_t level_rank(const struct mlevel *l)
{
	return rank_of(l->sx, l->price);
}

static inline int64_t ladder_width(const struct match_engine *e)
{
	return (int64_t)e->wmask + 1;
}

static inline uint32_t ladder_pos(const struct match_engine *e, int64_t rank)
{
	return (uint32_t)((uint64_t)rank & e->wmask);
}

static inline void ladder_set(struct mside *s, uint32_t pos, uint32_t lvl)
{
	s->slot[pos] = lvl;
	s->bits[pos >> 6] |= 1ull << (pos & 63);
	s->summary |= 1ull << (pos >> 6);
}

static inline void ladder_clear(struct mside *s, uint32_t pos)
{
	s->slot[pos] = NIL;
	s->bits[pos >> 6] &= ~(1ull << (pos & 63));
	if (!s->bits[pos >> 6])
		s->summary &= ~(1ull << (pos >> 6));
}

/* The first non-empty ladder position at or after pos, going round the ring; -1 if none. */
static inline int32_t ladder_first(const struct mside *s, uint32_t pos)
{
	uint32_t w = pos >> 6;
	uint64_t m = s->bits[w] & (~0ull << (pos & 63));

	if (m)
		return (int32_t)(w * 64 + (uint32_t)__builtin_ctzll(m));
	/* Words after w, else from the ring's start (word w again, now only below pos). */
	m = s->summary & ~((2ull << w) - 1);
	if (!m)
		m = s->summary;
	if (!m)
		return -1;
	w = (uint32_t)__builtin_ctzll(m);
	return (int32_t)(w * 64 + (uint32_t)__builtin_ctzll(s->bits[w]));
}

/* Index of the first far level whose rank is not above rank (where rank is or would go). Far
 * levels are rare, so the search reads their ranks from the levels rather than keep a copy. */
static uint32_t far_search(const struct match_engine *e, const struct mside *s, int64_t rank)
{
	uint32_t lo = 0, hi = s->nfar;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (level_rank(&e->lv[s->far[mid]]) > rank)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Moves the ladder to start at rank nlo. Moving to better prices pushes the levels that fall off
 * its end onto the end of far, worst first: they are better than every far level. Moving to worse
 * prices pulls in the far levels that now fit; the caller makes sure no level is better than nlo.
 * Positions are rank & (W - 1), so the levels that stay do not move.
 */
static void ladder_move(struct match_engine *e, struct mside *s, int64_t nlo)
{
	int64_t w = ladder_width(e);

	if (nlo < s->lo) {
		int64_t stop = nlo + w > s->lo ? nlo + w : s->lo;
		/* Walk down from the old end a bitmap word at a time: O(W / 64 + levels moved). */
		for (int64_t r = s->lo + w - 1; r >= stop && s->n > s->nfar;) {
			uint32_t pos = ladder_pos(e, r);
			uint64_t m = s->bits[pos >> 6] & (~0ull >> (63 - (pos & 63)));
			if (!m) {
				r -= (pos & 63) + 1;
				continue;
			}
			uint32_t top = (pos & ~63u) | (63u - (uint32_t)__builtin_clzll(m));
			r -= pos - top;
			if (r < stop)
				break;
			s->far[s->nfar++] = s->slot[top];
			ladder_clear(s, top);
			r--;
		}
		s->lo = nlo;
		return;
	}
	s->lo = nlo;
	while (s->nfar > 0) {
		uint32_t lvl = s->far[s->nfar - 1];
		int64_t r = level_rank(&e->lv[lvl]);
		if (r >= nlo + w)
			break;
		s->nfar--;
		ladder_set(s, ladder_pos(e, r), lvl);
	}
}

/* ---- levels ---- */

static uint32_t level_new(struct match_engine *e, struct mside *s, uint32_t sx, int64_t price)
{
	uint32_t lvl = e->free_lvl;
	struct mlevel *l = &e->lv[lvl];

	e->free_lvl = l->tail;
	*l = (struct mlevel){ .price = price, .head = NIL, .tail = NIL, .sx = sx };
	s->n++;
	return lvl;
}

/* The level for price on side sx, created if need be; NIL when that needs a level beyond
 * cfg.max_levels. */
static uint32_t level_get_or_add(struct match_engine *e, uint32_t sx, int64_t price)
{
	struct mside *s = &e->sides[sx];
	int64_t r = rank_of(sx, price), w = ladder_width(e);
	uint32_t lvl;

	if (s->n == 0) {
		s->lo = r - e->margin;
	} else if (r < s->lo) {
		/* A new best well ahead of the window: the ladder follows it. */
		if (s->n == e->cfg.max_levels)
			return NIL;
		ladder_move(e, s, r - e->margin);
	} else if (r >= s->lo + w) {
		/* Beyond the window while the touch has drifted away from its start: follow the
		 * touch, so the book's bulk stays in the ladder. */
		int64_t b = level_rank(&e->lv[s->best]);
		if (b - s->lo > w / 2)
			ladder_move(e, s, b - e->margin);
	}

	if (r < s->lo + w) {
		uint32_t pos = ladder_pos(e, r);
		if (s->slot[pos] != NIL)
			return s->slot[pos];
		if (s->n == e->cfg.max_levels)
			return NIL;
		lvl = level_new(e, s, sx, price);
		ladder_set(s, pos, lvl);
	} else {
		uint32_t i = far_search(e, s, r);
		if (i < s->nfar && e->lv[s->far[i]].price == price)
			return s->far[i];
		if (s->n == e->cfg.max_levels)
			return NIL;
		lvl = level_new(e, s, sx, price);
		memmove(&s->far[i + 1], &s->far[i], (s->nfar - i) * sizeof(s->far[0]));
		s->far[i] = lvl;
		s->nfar++;
	}
	if (s->best == NIL || r < level_rank(&e->lv[s->best]))
		s->best = lvl;
	return lvl;
}

/* Removes an empty level from its side and frees it. */
static void level_remove(struct match_engine *e, uint32_t lvl)
{
	struct mlevel *l = &e->lv[lvl];
	struct mside *s = &e->sides[l->sx];
	int64_t r = level_rank(l);

	if (r < s->lo + ladder_width(e)) {
		ladder_clear(s, ladder_pos(e, r));
	} else {
		uint32_t i = far_search(e, s, r);
		memmove(&s->far[i], &s->far[i + 1], (s->nfar - i - 1) * sizeof(s->far[0]));
		s->nfar--;
	}
	s->n--;
	l->tail = e->free_lvl;
	e->free_lvl = lvl;
	if (lvl != s->best)
		return;
	if (s->n == 0) {
		s->best = NIL;
		return;
	}
	int32_t pos;
	if (s->n == s->nfar) {
		/* The ladder emptied: bring it to the far levels. */
		ladder_move(e, s, level_rank(&e->lv[s->far[s->nfar - 1]]) - e->margin);
		pos = ladder_first(s, ladder_pos(e, s->lo));
	} else {
		/* Every rank from lo up to the old best is empty, so the ring scan meets the next
		 * best first. */
		pos = ladder_first(s, ladder_pos(e, r + 1));
	}
	s->best = s->slot[pos];
}

/* The level after lvl in priority order on its side, or NIL. */
static uint32_t level_next(const struct match_engine *e, uint32_t lvl)
{
	const struct mlevel *l = &e->lv[lvl];
	const struct mside *s = &e->sides[l->sx];
	int64_t r = level_rank(l);

	if (r < s->lo + ladder_width(e)) {
		/* lvl itself is in the ladder, so the scan finds something; a rank not above r
		 * means it went round: no better-ranked ladder level is left. */
		uint32_t pos = (uint32_t)ladder_first(s, ladder_pos(e, r + 1));
		int64_t nr = s->lo + (int64_t)((pos - ladder_pos(e, s->lo)) & e->wmask);
		if (nr > r)
			return s->slot[pos];
		return s->nfar ? s->far[s->nfar - 1] : NIL;
	}
	uint32_t i = far_search(e, s, r);
	return i > 0 ? s->far[i - 1] : NIL;
}

static inline void level_unlink(struct match_engine *e, struct mlevel *l, uint32_t idx)
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
	l->qty -= o->qty;
}

static inline void level_append(struct match_engine *e, struct mlevel *l, uint32_t idx)
{
	struct mord *o = &e->ord[idx];
	o->prev = l->tail;
	o->next = NIL;
	if (l->tail != NIL)
		e->ord[l->tail].next = idx;
	else
		l->head = idx;
	l->tail = idx;
	l->qty += o->qty;
}

/*
 * Order ids. Each accepted order takes the next serial and, at once, the pool slot it will rest
 * in (slot_take()); its id is serial << id_shift | slot, so ids grow in acceptance order, never
 * repeat, and name their slot. An order that does not rest gives its slot back (slot_give()).
 * A slot's id field is 0 unless an order rests there, so a stale id finds nothing. When the pool
 * is empty at acceptance the id's slot part is slot_mask, which names no slot (max_orders <=
 * slot_mask), and the order cannot rest.
 */
static inline uint64_t order_id(struct match_engine *e, uint32_t slot)
{
	return ++e->next_id << e->id_shift | (slot == NIL ? e->slot_mask : slot);
}

/* The pool slot of a resting order's id, or NIL. */
static inline uint32_t order_find(const struct match_engine *e, uint64_t id)
{
	uint64_t idx = id & e->slot_mask;

	if (id == 0 || idx >= e->cfg.max_orders || e->ord[idx].id != id)
		return NIL;
	return (uint32_t)idx;
}

static inline uint32_t slot_take(struct match_engine *e)
{
	uint32_t idx = e->free_ord;

	if (idx != NIL)
		e->free_ord = e->ord[idx].next;
	return idx;
}

static inline void slot_give(struct match_engine *e, uint32_t idx)
{
	if (idx == NIL)
		return;
	e->ord[idx].id = 0;
	e->ord[idx].next = e->free_ord;
	e->free_ord = idx;
}

/* Takes an order out of its level, and the level off the book once empty; the slot stays taken. */
static inline void order_detach(struct match_engine *e, uint32_t idx)
{
	uint32_t lvl = e->ord[idx].lvl;
	struct mlevel *l = &e->lv[lvl];

	level_unlink(e, l, idx);
	e->ord[idx].id = 0;
	e->live--;
	if (l->head == NIL)
		level_remove(e, lvl);
}

/* Takes an order off the book and its slot back to the pool. */
static inline void order_remove(struct match_engine *e, uint32_t idx)
{
	order_detach(e, idx);
	slot_give(e, idx);
}

/* ---- events ---- */

static inline void emit(struct match_engine *e, const struct match_event *ev)
{
	e->on_event(e->ctx, ev);
}

static inline void emit_simple(struct match_engine *e, enum match_event_kind kind,
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
	const struct mside *opp = &e->sides[o->instrument * 2 + (uint32_t)!side];
	int64_t got = 0;

	for (uint32_t lvl = opp->best; lvl != NIL && got < want; lvl = level_next(e, lvl)) {
		const struct mlevel *l = &e->lv[lvl];
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
 * Matches an accepted order (id, which names slot) against the opposite side, then rests what
 * remains in slot or cancels it. Returns true when the order rested.
 */
static bool execute_and_rest(struct match_engine *e, const struct match_order *o, uint64_t id,
			     int64_t leaves, uint32_t slot)
{
	int side = o->side == MATCH_SELL;
	uint32_t sx = o->instrument * 2 + (uint32_t)side;
	struct mside *opp = &e->sides[sx ^ 1];

	if (o->tif == MATCH_FOK && executable(e, o, side, leaves) < leaves) {
		e->stats.canceled++;
		emit_simple(e, MATCH_EV_CANCELED, MATCH_R_FOK, o, id, leaves, 0);
		return false;
	}
	if (o->min_qty > 0 && executable(e, o, side, o->min_qty) < o->min_qty) {
		e->stats.canceled++;
		emit_simple(e, MATCH_EV_CANCELED, MATCH_R_MIN_QTY, o, id, leaves, 0);
		return false;
	}

	while (leaves > 0 && opp->best != NIL) {
		struct mlevel *l = &e->lv[opp->best];
		if (!crosses(side, o, l->price))
			break;
		uint32_t k = l->head;
		struct mord *r = &e->ord[k];
		if (r->firm == o->firm) {
			e->stats.canceled++;
			emit_simple(e, MATCH_EV_CANCELED, MATCH_R_SELF_TRADE, o, id, leaves, 0);
			return false;
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

		/* A filled order's quantity is already out of the level total. */
		if (r->qty == 0)
			order_remove(e, k);
	}

	if (leaves == 0)
		return false;
	if (o->market || o->tif != MATCH_DAY) {
		e->stats.canceled++;
		emit_simple(e, MATCH_EV_CANCELED, MATCH_R_IOC, o, id, leaves, 0);
		return false;
	}

	uint32_t lvl = slot == NIL ? NIL : level_get_or_add(e, sx, o->price);
	if (lvl == NIL) {
		e->stats.canceled++;
		emit_simple(e, MATCH_EV_CANCELED, MATCH_R_BOOK_FULL, o, id, leaves, 0);
		return false;
	}
	struct mord *n = &e->ord[slot];
	*n = (struct mord){ .id = id, .user = o->user, .qty = leaves, .lvl = lvl, .firm = o->firm };
	level_append(e, &e->lv[lvl], slot);
	e->live++;
	emit_simple(e, MATCH_EV_RESTED, MATCH_R_NONE, o, id, leaves, leaves);
	return true;
}

/* execute_and_rest(), giving the slot back unless the order rested in it. Returns 0. */
static int run_order(struct match_engine *e, const struct match_order *o, uint64_t id,
		     int64_t leaves, uint32_t slot)
{
	if (!execute_and_rest(e, o, id, leaves, slot))
		slot_give(e, slot);
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
		const struct mside *opp = &e->sides[o->instrument * 2 + (uint32_t)!side];
		if (opp->best != NIL && crosses(side, o, e->lv[opp->best].price))
			return reject(e, o, MATCH_R_WOULD_CROSS);
	}
	uint32_t slot = slot_take(e);
	*id = order_id(e, slot);
	e->stats.accepted++;
	emit_simple(e, MATCH_EV_ACCEPTED, MATCH_R_NONE, o, *id, o->qty, o->qty);
	return run_order(e, o, *id, o->qty, slot);
}

int match_cancel(struct match_engine *e, uint64_t id, int64_t leaves)
{
	uint32_t idx = order_find(e, id);

	if (idx == NIL)
		return -ENOENT;
	struct mord *o = &e->ord[idx];
	if (leaves < 0)
		leaves = 0;
	if (leaves >= o->qty)
		return 0;

	struct mlevel *l = &e->lv[o->lvl];
	int64_t removed = o->qty - leaves;
	struct match_event ev = {
		.kind = MATCH_EV_CANCELED,
		.reason = MATCH_R_USER,
		.side = l->sx & 1 ? MATCH_SELL : MATCH_BUY,
		.instrument = l->sx >> 1,
		.id = id,
		.user = o->user,
		.price = l->price,
		.qty = removed,
		.leaves = leaves,
	};

	e->stats.canceled++;
	if (leaves == 0) {
		order_remove(e, idx);
	} else {
		o->qty = leaves;
		l->qty -= removed;
	}
	emit(e, &ev);
	return 0;
}

int match_replace(struct match_engine *e, uint64_t id, int64_t price, int64_t qty, uint64_t *new_id)
{
	uint32_t idx = order_find(e, id);

	*new_id = 0;
	if (idx == NIL)
		return -ENOENT;
	if (qty <= 0 || qty > MATCH_QTY_MAX || price <= 0 || price >= MATCH_PRICE_MAX)
		return -EINVAL;

	struct mord *o = &e->ord[idx];
	struct mlevel *l = &e->lv[o->lvl];
	struct match_order req = {
		.user = o->user,
		.instrument = l->sx >> 1,
		.firm = o->firm,
		.side = l->sx & 1 ? MATCH_SELL : MATCH_BUY,
		.tif = MATCH_DAY,
		.price = price,
		.qty = qty,
	};
	struct match_event ev = {
		.kind = MATCH_EV_REPLACED,
		.side = req.side,
		.instrument = req.instrument,
		.id = id,
		.user = o->user,
		.price = price,
		.qty = qty,
		.leaves = qty,
	};

	/* The new id names the same slot: the order keeps it whether it keeps its place or not. */
	*new_id = order_id(e, idx);
	ev.new_id = *new_id;
	e->stats.replaced++;
	if (price == l->price && qty <= o->qty) {
		/* Same price, no more shares: the order keeps its place under its new id. */
		l->qty -= o->qty - qty;
		o->qty = qty;
		o->id = *new_id;
		ev.kept_priority = true;
		emit(e, &ev);
		return 0;
	}
	order_detach(e, idx);
	emit(e, &ev);
	return run_order(e, &req, *new_id, qty, idx);
}

void match_bbo(const struct match_engine *e, uint32_t instrument, int64_t *bid, int64_t *bid_qty,
	       int64_t *ask, int64_t *ask_qty)
{
	const struct mside *b = &e->sides[instrument * 2];
	const struct mside *a = &e->sides[instrument * 2 + 1];

	*bid = b->best != NIL ? e->lv[b->best].price : 0;
	*bid_qty = b->best != NIL ? e->lv[b->best].qty : 0;
	*ask = a->best != NIL ? e->lv[a->best].price : 0;
	*ask_qty = a->best != NIL ? e->lv[a->best].qty : 0;
}

int64_t match_order_leaves(const struct match_engine *e, uint64_t id)
{
	uint32_t idx = order_find(e, id);
	return idx == NIL ? -ENOENT : e->ord[idx].qty;
}

uint64_t match_ref(const struct match_engine *e, uint64_t id)
{
	return id >> e->id_shift;
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
	uint64_t nsides, nlevels;
	uint32_t w = LADDER_MIN;

	if (!cfg->instruments || !cfg->max_orders || !cfg->max_levels || !on_event ||
	    cfg->max_orders >= NIL) {
		errno = EINVAL;
		return NULL;
	}
	nsides = (uint64_t)cfg->instruments * 2;
	nlevels = nsides * cfg->max_levels;
	if (nlevels >= NIL) {
		errno = ENOMEM;
		return NULL;
	}
	/* A ladder as wide as the levels a side may hold (within bounds) keeps a full book of
	 * one-tick levels in it. */
	while (w < cfg->max_levels && w < LADDER_MAX)
		w <<= 1;

	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->cfg = *cfg;
	e->on_event = on_event;
	e->ctx = ctx;
	e->wmask = w - 1;
	e->margin = w / 4;
	e->ord_sz = cfg->max_orders * sizeof(*e->ord);
	e->lv_sz = nlevels * sizeof(*e->lv);
	e->sides_sz = nsides * sizeof(*e->sides);
	e->slots_sz = nsides * w * sizeof(*e->slots);
	e->bits_sz = nsides * (w / 64) * sizeof(*e->bits);
	e->fars_sz = nlevels * sizeof(*e->fars);
	e->ord = core_mem_alloc(e->ord_sz);
	e->lv = core_mem_alloc(e->lv_sz);
	e->sides = core_mem_alloc(e->sides_sz);
	e->slots = core_mem_alloc(e->slots_sz);
	e->bits = core_mem_alloc(e->bits_sz);
	e->fars = core_mem_alloc(e->fars_sz);
	if (!e->ord || !e->lv || !e->sides || !e->slots || !e->bits || !e->fars)
		goto nomem;
	/* The smallest slot field with a value above every slot, for an id with no slot. */
	while ((1ull << e->id_shift) - 1 < cfg->max_orders)
		e->id_shift++;
	e->slot_mask = (1ull << e->id_shift) - 1;
	memset(e->slots, 0xff, e->slots_sz);
	for (uint64_t i = 0; i < nsides; i++) {
		struct mside *s = &e->sides[i];
		s->best = NIL;
		s->slot = &e->slots[i * w];
		s->bits = &e->bits[i * (w / 64)];
		s->far = &e->fars[i * cfg->max_levels];
	}
	for (uint32_t i = 0; i < cfg->max_orders; i++)
		e->ord[i].next = i + 1 < cfg->max_orders ? i + 1 : NIL;
	for (uint64_t i = 0; i < nlevels; i++)
		e->lv[i].tail = i + 1 < nlevels ? (uint32_t)i + 1 : NIL;
	e->free_ord = 0;
	e->free_lvl = 0;
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
	core_mem_free(e->ord, e->ord_sz);
	core_mem_free(e->lv, e->lv_sz);
	core_mem_free(e->sides, e->sides_sz);
	core_mem_free(e->slots, e->slots_sz);
	core_mem_free(e->bits, e->bits_sz);
	core_mem_free(e->fars, e->fars_sz);
	free(e);
}
