/*
 * The three sample strategies.
 *
 * market_maker: quotes one bid and one ask of `size` around the mid of one symbol, `spread_ticks`
 * wide, shifted against its inventory by `skew_ticks` per `size` held, and requotes (cancel-
 * replace) when the BBO moves its prices. It stops adding to a side at `max_position`.
 *
 * imbalance_taker: sums the top `levels` of each side; when the bid share of that quantity is at
 * least `threshold_pct` it buys `size` IOC at the best ask (sells at the best bid when the ask
 * share is), at most once per `cooldown_ms`, within `max_position`.
 *
 * arbitrage: one symbol on two venues; when one venue's best bid is at least `min_edge_ticks`
 * above the other's best ask, it buys there and sells here, `size` each, IOC, at most once per
 * `cooldown_ms`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strategy.h"

#define NO_INSTRUMENT UINT32_MAX

/* Resolves a symbol on a venue's books (the directory fills in at the start of the session). */
static uint32_t resolve(struct strategy *s, uint16_t venue, const char *symbol, uint32_t *cache)
{
	if (*cache == NO_INSTRUMENT && venue < s->venues && s->books[venue]) {
		int64_t i = book_find_symbol(s->books[venue], symbol);
		if (i >= 0)
			*cache = (uint32_t)i;
	}
	return *cache;
}

static bool tradable(struct strategy *s, uint16_t venue, uint32_t instrument)
{
	struct book_instrument_info *in = book_instrument(s->books[venue], instrument);

	return in && !in->stale && in->trading_state == BOOK_STATE_TRADING;
}

/* ---- market maker ---- */

struct mm {
	char symbol[9];
	uint16_t venue;
	uint32_t instrument;
	int64_t size, spread_ticks, skew_ticks, max_position, tick;
	int64_t position;
	uint64_t bid_id, ask_id;
	int64_t bid_px, ask_px;
};

static int copy_symbol(char out[9], const char *v, char *err, size_t errlen)
{
	if (!v || !*v || strlen(v) > 8) {
		snprintf(err, errlen, "symbol: required, 1 to 8 characters");
		return -EINVAL;
	}
	strcpy(out, v);
	return 0;
}

static int mm_init(struct strategy *s, const struct strategy_param *p, size_t n, char *err,
		   size_t errlen)
{
	static const char *const keys[] = { "symbol",	  "venue",	  "size", "spread_ticks",
					    "skew_ticks", "max_position", "tick", NULL };
	struct mm *m = calloc(1, sizeof(*m));
	int64_t venue = 0;

	if (!m)
		return -ENOMEM;
	s->priv = m;
	m->instrument = NO_INSTRUMENT;
	m->size = 100;
	m->spread_ticks = 4;
	m->skew_ticks = 1;
	m->max_position = 1000;
	m->tick = 100;
	if (strategy_param_check(p, n, keys, err, errlen) ||
	    copy_symbol(m->symbol, strategy_param_str(p, n, "symbol"), err, errlen) ||
	    strategy_param_i64(p, n, "venue", 0, OMS_MAX_VENUES - 1, &venue, err, errlen) ||
	    strategy_param_i64(p, n, "size", 1, 1000000, &m->size, err, errlen) ||
	    strategy_param_i64(p, n, "spread_ticks", 1, 10000, &m->spread_ticks, err, errlen) ||
	    strategy_param_i64(p, n, "skew_ticks", 0, 10000, &m->skew_ticks, err, errlen) ||
	    strategy_param_i64(p, n, "max_position", 1, 100000000, &m->max_position, err, errlen) ||
	    strategy_param_price(p, n, "tick", &m->tick, err, errlen))
		return -EINVAL;
	if (m->tick <= 0) {
		snprintf(err, errlen, "tick: must be positive");
		return -EINVAL;
	}
	m->venue = (uint16_t)venue;
	return 0;
}

/* Keeps one side's quote at px (0: no quote on that side). */
static void mm_quote(struct strategy *s, struct mm *m, uint8_t side, int64_t px)
{
	uint64_t *id = side == 'B' ? &m->bid_id : &m->ask_id;
	int64_t *cur = side == 'B' ? &m->bid_px : &m->ask_px;

	if (*id) {
		const struct oms_order *o = oms_order(s->oms, *id);
		if (!o || o->state >= OMS_FILLED) {
			*id = 0;
		} else if (o->state == OMS_LIVE || o->state == OMS_PARTIAL) {
			if (px == 0)
				oms_cancel(s->oms, *id, 0, s->now_ns);
			else if (px != *cur && oms_replace(s->oms, *id, px, m->size, s->trigger_tsc,
							   s->now_ns) == 0)
				*cur = px;
			return;
		} else {
			return; /* a request is in flight: wait for its answer */
		}
	}
	if (px > 0 &&
	    strategy_send(s, m->venue, m->instrument, side, px, m->size, OMS_DAY, id) == 0)
		*cur = px;
}

/* Where our quote of side may still trade at the venue: its price, or for a replace the venue
 * has not answered yet the more aggressive of the old and new prices. 0: no quote. */
static int64_t mm_resting(const struct strategy *s, uint64_t id, uint8_t side)
{
	const struct oms_order *o = id ? oms_order(s->oms, id) : NULL;

	if (!o || o->state >= OMS_FILLED)
		return 0;
	if (o->state != OMS_PENDING_REPLACE)
		return o->price;
	if (side == 'B')
		return o->pend_price > o->price ? o->pend_price : o->price;
	return o->pend_price < o->price ? o->pend_price : o->price;
}

static void mm_on_md(struct strategy *s, uint16_t venue, const struct md_event *ev)
{
	struct mm *m = s->priv;

	if (venue != m->venue || resolve(s, venue, m->symbol, &m->instrument) != ev->instrument)
		return;
	if (!ev->bbo.bid_px || !ev->bbo.ask_px || !tradable(s, venue, m->instrument))
		return;
	/* Fair value: the mid, leaned against the inventory. */
	int64_t mid2 = ev->bbo.bid_px + ev->bbo.ask_px; /* twice the mid */
	int64_t lean = m->skew_ticks * m->tick * m->position / m->size;
	int64_t half = m->spread_ticks * m->tick; /* twice half the spread */
	int64_t bid = (mid2 - half) / 2 - lean, ask = (mid2 + half) / 2 - lean;
	bid = bid / m->tick * m->tick;
	ask = (ask + m->tick - 1) / m->tick * m->tick;
	if (bid <= 0 || ask <= bid)
		return;
	int64_t qb = m->position + m->size > m->max_position ? 0 : bid;
	int64_t qa = m->position - m->size < -m->max_position ? 0 : ask;
	/* Move the side that would meet our own other quote first; the other follows only where it
	 * cannot meet what still rests (a replace's old price rests until the venue answers), else
	 * it waits for a later event instead of sending an order risk refuses as a self-cross. */
	int64_t a = mm_resting(s, m->ask_id, 'S');
	if (a && qb >= a) {
		mm_quote(s, m, 'S', qa);
		a = mm_resting(s, m->ask_id, 'S');
		if (!qb || !a || qb < a)
			mm_quote(s, m, 'B', qb);
	} else {
		mm_quote(s, m, 'B', qb);
		int64_t b = mm_resting(s, m->bid_id, 'B');
		if (!qa || !b || qa > b)
			mm_quote(s, m, 'S', qa);
	}
}

static void mm_on_update(struct strategy *s, const struct oms_event *ev)
{
	struct mm *m = s->priv;

	if (!ev->o || ev->o->state < OMS_FILLED)
		return;
	if (ev->o->id == m->bid_id)
		m->bid_id = 0;
	if (ev->o->id == m->ask_id)
		m->ask_id = 0;
}

static void mm_on_fill(struct strategy *s, const struct oms_event *ev)
{
	struct mm *m = s->priv;

	m->position += ev->o->side == 'B' ? ev->qty : -ev->qty;
	mm_on_update(s, ev);
}

static void priv_free(struct strategy *s)
{
	free(s->priv);
	s->priv = NULL;
}

const struct strategy_ops strategy_market_maker = {
	.name = "market_maker",
	.init = mm_init,
	.on_md = mm_on_md,
	.on_order_update = mm_on_update,
	.on_fill = mm_on_fill,
	.fini = priv_free,
};

/* ---- imbalance taker ---- */

struct taker {
	char symbol[9];
	uint16_t venue;
	uint32_t instrument;
	int64_t size, levels, threshold_pct, cooldown_ns, max_position;
	int64_t position;
	uint64_t last_ns;
};

static int taker_init(struct strategy *s, const struct strategy_param *p, size_t n, char *err,
		      size_t errlen)
{
	static const char *const keys[] = { "symbol",	     "venue",
					    "size",	     "levels",
					    "threshold_pct", "cooldown_ms",
					    "max_position",  NULL };
	struct taker *t = calloc(1, sizeof(*t));
	int64_t venue = 0, cooldown_ms = 100;

	if (!t)
		return -ENOMEM;
	s->priv = t;
	t->instrument = NO_INSTRUMENT;
	t->size = 100;
	t->levels = 5;
	t->threshold_pct = 80;
	t->max_position = 1000;
	if (strategy_param_check(p, n, keys, err, errlen) ||
	    copy_symbol(t->symbol, strategy_param_str(p, n, "symbol"), err, errlen) ||
	    strategy_param_i64(p, n, "venue", 0, OMS_MAX_VENUES - 1, &venue, err, errlen) ||
	    strategy_param_i64(p, n, "size", 1, 1000000, &t->size, err, errlen) ||
	    strategy_param_i64(p, n, "levels", 1, 64, &t->levels, err, errlen) ||
	    strategy_param_i64(p, n, "threshold_pct", 51, 100, &t->threshold_pct, err, errlen) ||
	    strategy_param_i64(p, n, "cooldown_ms", 0, 3600000, &cooldown_ms, err, errlen) ||
	    strategy_param_i64(p, n, "max_position", 1, 100000000, &t->max_position, err, errlen))
		return -EINVAL;
	t->venue = (uint16_t)venue;
	t->cooldown_ns = cooldown_ms * 1000000;
	return 0;
}

static int64_t side_qty(struct book_set *b, uint32_t instrument, enum book_side side,
			uint32_t levels)
{
	struct book_level_view lv[64];
	uint32_t n = book_depth(b, instrument, side, lv, levels);
	int64_t q = 0;

	for (uint32_t i = 0; i < n; i++)
		q += lv[i].qty;
	return q;
}

static void taker_on_md(struct strategy *s, uint16_t venue, const struct md_event *ev)
{
	struct taker *t = s->priv;
	uint64_t id;

	if (venue != t->venue || resolve(s, venue, t->symbol, &t->instrument) != ev->instrument ||
	    !ev->bbo.bid_px || !ev->bbo.ask_px ||
	    s->now_ns - t->last_ns < (uint64_t)t->cooldown_ns || !tradable(s, venue, t->instrument))
		return;
	int64_t bq = side_qty(s->books[venue], t->instrument, BOOK_BID, (uint32_t)t->levels);
	int64_t aq = side_qty(s->books[venue], t->instrument, BOOK_ASK, (uint32_t)t->levels);
	if (bq + aq == 0)
		return;
	if (bq * 100 >= t->threshold_pct * (bq + aq) && t->position + t->size <= t->max_position) {
		if (strategy_send(s, venue, t->instrument, 'B', ev->bbo.ask_px, t->size, OMS_IOC,
				  &id) == 0)
			t->last_ns = s->now_ns;
	} else if (aq * 100 >= t->threshold_pct * (bq + aq) &&
		   t->position - t->size >= -t->max_position) {
		if (strategy_send(s, venue, t->instrument, 'S', ev->bbo.bid_px, t->size, OMS_IOC,
				  &id) == 0)
			t->last_ns = s->now_ns;
	}
}

static void taker_on_fill(struct strategy *s, const struct oms_event *ev)
{
	struct taker *t = s->priv;

	t->position += ev->o->side == 'B' ? ev->qty : -ev->qty;
}

const struct strategy_ops strategy_imbalance_taker = {
	.name = "imbalance_taker",
	.init = taker_init,
	.on_md = taker_on_md,
	.on_fill = taker_on_fill,
	.fini = priv_free,
};

/* ---- cross-venue arbitrage ---- */

struct arb {
	char symbol[9];
	uint16_t venue[2];
	uint32_t instrument[2];
	int64_t size, min_edge_ticks, tick, cooldown_ns;
	uint64_t last_ns;
};

static int arb_init(struct strategy *s, const struct strategy_param *p, size_t n, char *err,
		    size_t errlen)
{
	static const char *const keys[] = { "symbol",	      "venue_a", "venue_b",	"size",
					    "min_edge_ticks", "tick",	 "cooldown_ms", NULL };
	struct arb *a = calloc(1, sizeof(*a));
	int64_t va = 0, vb = 1, cooldown_ms = 100;

	if (!a)
		return -ENOMEM;
	s->priv = a;
	a->instrument[0] = a->instrument[1] = NO_INSTRUMENT;
	a->size = 100;
	a->min_edge_ticks = 1;
	a->tick = 100;
	if (strategy_param_check(p, n, keys, err, errlen) ||
	    copy_symbol(a->symbol, strategy_param_str(p, n, "symbol"), err, errlen) ||
	    strategy_param_i64(p, n, "venue_a", 0, OMS_MAX_VENUES - 1, &va, err, errlen) ||
	    strategy_param_i64(p, n, "venue_b", 0, OMS_MAX_VENUES - 1, &vb, err, errlen) ||
	    strategy_param_i64(p, n, "size", 1, 1000000, &a->size, err, errlen) ||
	    strategy_param_i64(p, n, "min_edge_ticks", 1, 10000, &a->min_edge_ticks, err, errlen) ||
	    strategy_param_price(p, n, "tick", &a->tick, err, errlen) ||
	    strategy_param_i64(p, n, "cooldown_ms", 0, 3600000, &cooldown_ms, err, errlen))
		return -EINVAL;
	if (va == vb) {
		snprintf(err, errlen, "venue_b: must differ from venue_a");
		return -EINVAL;
	}
	a->venue[0] = (uint16_t)va;
	a->venue[1] = (uint16_t)vb;
	a->cooldown_ns = cooldown_ms * 1000000;
	return 0;
}

static void arb_on_md(struct strategy *s, uint16_t venue, const struct md_event *ev)
{
	struct arb *a = s->priv;
	struct book_bbo q[2];
	uint64_t id;

	if (venue != a->venue[0] && venue != a->venue[1])
		return;
	for (int k = 0; k < 2; k++) {
		if (resolve(s, a->venue[k], a->symbol, &a->instrument[k]) == NO_INSTRUMENT ||
		    !tradable(s, a->venue[k], a->instrument[k]))
			return;
		book_bbo(s->books[a->venue[k]], a->instrument[k], &q[k]);
	}
	if (s->now_ns - a->last_ns < (uint64_t)a->cooldown_ns)
		return;
	int64_t edge = a->min_edge_ticks * a->tick;
	for (int k = 0; k < 2; k++) {
		int o = 1 - k; /* sell on k, buy on o */
		if (q[k].bid_px && q[o].ask_px && q[k].bid_px - q[o].ask_px >= edge) {
			strategy_send(s, a->venue[o], a->instrument[o], 'B', q[o].ask_px, a->size,
				      OMS_IOC, &id);
			strategy_send(s, a->venue[k], a->instrument[k], 'S', q[k].bid_px, a->size,
				      OMS_IOC, &id);
			a->last_ns = s->now_ns;
			return;
		}
	}
	(void)ev;
}

const struct strategy_ops strategy_arbitrage = {
	.name = "arbitrage",
	.init = arb_init,
	.on_md = arb_on_md,
	.fini = priv_free,
};
