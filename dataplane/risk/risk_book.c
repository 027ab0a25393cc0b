/*
 * Risk accounting (risk.h): the order manager's hooks (risk_on_open/close/fill) and the book's
 * market updates (risk_set_market) keep every sum the check compares exact: positions, average
 * cost, cash and PnL, open quantity and notional per side, the own resting prices for self-cross
 * and the account state (reduce-only, margin call, leverage cap) derived from them.
 */
#include "risk_impl.h"

/* ---- account state ---- */

/* Re-derives the account's state after its PnL, exposure or limits moved: reduce-only latches
 * (until the limits are set again), margin call follows equity, the leverage cap is precomputed
 * so the check compares once. */
static void acct_refresh(struct acct *a)
{
	const __int128 pnl = (__int128)a->realized + a->unreal;
	const __int128 equity = a->start_cash + pnl;

	if (a->daily_loss && pnl <= -(__int128)a->daily_loss)
		a->block |= A_REDUCE;
	if (a->margin_bps && equity * 10000 < (__int128)a->gross * a->margin_bps)
		a->block |= A_MARGIN;
	else
		a->block &= (uint8_t)~A_MARGIN;
	a->lev_cap = equity > 0 ? sat(equity * a->lev_x100 / 100) : -1;
}

static void acct_apply(struct acct *a, const struct contrib *was, const struct contrib *now)
{
	a->gross = sat((__int128)a->gross + abs64(now->value) - abs64(was->value));
	a->net = sat((__int128)a->net + now->value - was->value);
	a->unreal = sat((__int128)a->unreal + now->unreal - was->unreal);
	a->cost = sat((__int128)a->cost + now->cost - was->cost);
}

static void holder_set(struct risk_ctx *r, uint32_t account, uint32_t instrument, bool on)
{
	uint64_t *w = &r->holders[(size_t)instrument * r->words + account / 64];
	uint64_t bit = 1ull << (account % 64);

	*w = on ? *w | bit : *w & ~bit;
}

/* ---- resting prices ---- */

static inline bool better(bool buy, int64_t a, int64_t b)
{
	return buy ? a > b : a < b;
}

static int64_t side_best(const struct risk_ctx *r, const struct rest *c, bool buy)
{
	int64_t best = c->ovf_qty > 0 ? c->ovf_bound : 0;

	if (c->blk != NONE) {
		const int64_t *px = &r->blk_price[(size_t)c->blk * r->k];
		const int64_t *q = &r->blk_qty[(size_t)c->blk * r->k];
		for (uint32_t i = 0; i < r->k; i++)
			if (q[i] > 0 && (!best || better(buy, px[i], best)))
				best = px[i];
	}
	return best;
}

static void ovf_add(struct rest *c, bool buy, int64_t price, int64_t qty, int64_t notional,
		    uint32_t orders)
{
	if (c->ovf_qty <= 0 || better(buy, price, c->ovf_bound))
		c->ovf_bound = price;
	c->ovf_qty = sadd(c->ovf_qty, qty);
	c->ovf_notional = sadd(c->ovf_notional, notional);
	c->ovf_orders += orders;
}

/*
 * Records qty resting at price: in the slot of that price, else a free slot, else (all K slots
 * hold other prices) the worse of the new price and the worst slot goes to the overflow. So the
 * slots always hold the best K prices, and the best own price is exact while the best price is
 * in a slot; when it is only in the overflow, ovf_bound stands in for it, never less aggressive
 * than the true best (self-cross may then refuse too much, never too little).
 */
static void rest_add(struct risk_ctx *r, struct rest *c, bool buy, int64_t price, int64_t qty,
		     int64_t notional)
{
	if (c->blk == NONE && r->free_blk != NONE) {
		c->blk = r->free_blk;
		r->free_blk = r->blk_next[c->blk];
	}
	if (c->blk == NONE) {
		ovf_add(c, buy, price, qty, notional, 1);
		return;
	}
	const size_t base = (size_t)c->blk * r->k;
	int64_t *px = &r->blk_price[base], *q = &r->blk_qty[base];
	uint32_t *ord = &r->blk_orders[base];
	uint32_t free_i = NONE, worst = NONE;

	for (uint32_t i = 0; i < r->k; i++) {
		if (q[i] > 0 && px[i] == price) {
			q[i] = sadd(q[i], qty);
			ord[i]++;
			return;
		}
		if (q[i] <= 0) {
			if (free_i == NONE)
				free_i = i;
		} else if (worst == NONE || better(buy, px[worst], px[i])) {
			worst = i;
		}
	}
	if (free_i == NONE) {
		if (!better(buy, price, px[worst])) {
			ovf_add(c, buy, price, qty, notional, 1);
			return;
		}
		ovf_add(c, buy, px[worst], q[worst], sat((__int128)px[worst] * q[worst]),
			ord[worst]);
		free_i = worst;
	}
	px[free_i] = price;
	q[free_i] = qty;
	ord[free_i] = 1;
}

/* Takes up to want from slot i; the notional leaves at the slot's price. */
static int64_t take_slot(struct risk_ctx *r, struct acct *a, const struct rest *c, bool buy,
			 uint32_t i, int64_t want)
{
	const size_t j = (size_t)c->blk * r->k + i;
	const int64_t t = want < r->blk_qty[j] ? want : r->blk_qty[j];
	const int64_t dn = sat((__int128)r->blk_price[j] * t);

	r->blk_qty[j] -= t;
	if (buy)
		a->obn = sadd(a->obn, -dn);
	else
		a->osn = sadd(a->osn, -dn);
	if (r->blk_qty[j] == 0) {
		a->open_orders -= r->blk_orders[j] < a->open_orders ? r->blk_orders[j]
								    : a->open_orders;
		r->blk_orders[j] = 0;
		r->blk_price[j] = 0;
	}
	return t;
}

/* Takes up to want from the overflow: at price when known (a close), else pro rata (a fill). */
static int64_t take_ovf(struct acct *a, struct rest *c, bool buy, int64_t want, int64_t price)
{
	const int64_t t = want < c->ovf_qty ? want : c->ovf_qty;
	int64_t dn;

	if (t <= 0)
		return 0;
	if (t == c->ovf_qty)
		dn = c->ovf_notional;
	else if (price)
		dn = sat((__int128)price * t);
	else
		dn = (int64_t)((__int128)c->ovf_notional * t / c->ovf_qty);
	if (dn > c->ovf_notional)
		dn = c->ovf_notional;
	c->ovf_qty -= t;
	c->ovf_notional -= dn;
	if (buy)
		a->obn = sadd(a->obn, -dn);
	else
		a->osn = sadd(a->osn, -dn);
	if (c->ovf_qty == 0) {
		a->open_orders -= c->ovf_orders < a->open_orders ? c->ovf_orders : a->open_orders;
		c->ovf_orders = 0;
		c->ovf_bound = 0;
		c->ovf_notional = 0;
	}
	return t;
}

/* The slot to take from next. exact: the slot at price (a close names its order's price).
 * Otherwise for a fill at price: the least aggressive slot that could have traded there; and
 * with fallback, any slot (best first for fills, worst first for closes). */
static uint32_t pick(const struct risk_ctx *r, const struct rest *c, bool buy, int64_t price,
		     bool exact, bool fallback, bool fill)
{
	const size_t base = (size_t)c->blk * r->k;
	const int64_t *px = &r->blk_price[base], *q = &r->blk_qty[base];
	uint32_t best = NONE;

	for (uint32_t i = 0; i < r->k; i++) {
		if (q[i] <= 0)
			continue;
		if (exact) {
			if (px[i] == price)
				return i;
		} else if (fallback) {
			if (best == NONE ||
			    (fill ? better(buy, px[i], px[best]) : better(buy, px[best], px[i])))
				best = i;
		} else if (buy ? px[i] >= price : px[i] <= price) {
			if (best == NONE || better(buy, px[best], px[i]))
				best = i;
		}
	}
	return best;
}

/* Open quantity leaves a side: a close at the order's price, or a fill at the trade's price. */
static void rest_take(struct risk_ctx *r, struct acct *a, struct pos *p, struct rest *c, bool buy,
		      int64_t price, int64_t qty, bool fill)
{
	int64_t left = qty;
	uint32_t i;

	if (c->blk != NONE) {
		if (!fill) {
			if ((i = pick(r, c, buy, price, true, false, false)) != NONE)
				left -= take_slot(r, a, c, buy, i, left);
		} else {
			while (left > 0 && (i = pick(r, c, buy, price, false, false, true)) != NONE)
				left -= take_slot(r, a, c, buy, i, left);
		}
	}
	left -= take_ovf(a, c, buy, left, fill ? 0 : price);
	while (left > 0 && c->blk != NONE &&
	       (i = pick(r, c, buy, price, false, true, fill)) != NONE)
		left -= take_slot(r, a, c, buy, i, left);

	if (buy)
		p->obq -= qty - left;
	else
		p->osq -= qty - left;
	if (c->blk != NONE && pick(r, c, buy, 0, false, true, fill) == NONE) {
		r->blk_next[c->blk] = r->free_blk;
		r->free_blk = c->blk;
		c->blk = NONE;
	}
	if (buy)
		p->own_bid = side_best(r, c, true);
	else
		p->own_ask = side_best(r, c, false);
}

/* ---- hooks ---- */

static bool hook_args(struct risk_ctx *r, uint32_t account, uint32_t instrument, uint8_t side,
		      int64_t price, int64_t qty)
{
	if (account < r->n_acct && instrument < r->n_instr &&
	    (side == RISK_BUY || side == RISK_SELL) && price > 0 && price <= RISK_PRICE_MAX &&
	    qty > 0 && qty <= RISK_QTY_MAX)
		return true;
	r->bad_hooks++;
	return false;
}

void risk_on_open(struct risk_ctx *r, uint32_t account, uint32_t instrument, uint8_t side,
		  int64_t price, int64_t qty)
{
	if (!hook_args(r, account, instrument, side, price, qty))
		return;
	const size_t pi = pair_of(r, account, instrument);
	const bool buy = side == RISK_BUY;
	struct acct *a = &r->acct[account];
	struct pos *p = &r->pos[pi];
	const int64_t n = sat((__int128)price * qty);

	if (buy) {
		p->obq = sadd(p->obq, qty);
		a->obn = sadd(a->obn, n);
		if (!p->own_bid || price > p->own_bid)
			p->own_bid = price;
	} else {
		p->osq = sadd(p->osq, qty);
		a->osn = sadd(a->osn, n);
		if (!p->own_ask || price < p->own_ask)
			p->own_ask = price;
	}
	a->open_orders++;
	rest_add(r, &r->rest[pi * 2 + !buy], buy, price, qty, n);
}

void risk_on_close(struct risk_ctx *r, uint32_t account, uint32_t instrument, uint8_t side,
		   int64_t price, int64_t qty)
{
	if (!hook_args(r, account, instrument, side, price, qty))
		return;
	const size_t pi = pair_of(r, account, instrument);
	const bool buy = side == RISK_BUY;

	rest_take(r, &r->acct[account], &r->pos[pi], &r->rest[pi * 2 + !buy], buy, price, qty,
		  false);
}

void risk_on_fill(struct risk_ctx *r, uint32_t account, uint32_t instrument, uint8_t side,
		  int64_t price, int64_t qty)
{
	if (!hook_args(r, account, instrument, side, price, qty))
		return;
	const size_t pi = pair_of(r, account, instrument);
	const bool buy = side == RISK_BUY;
	struct acct *a = &r->acct[account];
	struct pos *p = &r->pos[pi];
	const int64_t mark = r->instr[instrument].mark;
	const int64_t q = buy ? qty : -qty;
	struct contrib was, now;

	contrib(p, mark, &was);
	if (p->pos == 0 || (p->pos > 0) == (q > 0)) {
		/* Adds to the position: the average cost moves (rounded down). */
		const __int128 held = abs64(p->pos);
		p->avg = (int64_t)((held * p->avg + (__int128)qty * price) / (held + qty));
		p->pos = sadd(p->pos, q);
	} else {
		/* Reduces, closes or flips: the closed part realizes against the average. */
		const int64_t held = abs64(p->pos);
		const int64_t closed = qty < held ? qty : held;
		const __int128 pnl = (__int128)closed * (price - p->avg) * (p->pos > 0 ? 1 : -1);
		p->realized = sat(p->realized + pnl);
		a->realized = sat(a->realized + pnl);
		p->pos += q;
		if (p->pos == 0)
			p->avg = 0;
		else if (qty > held)
			p->avg = price; /* flipped: the remainder opened at this price */
	}
	const __int128 flow = (__int128)price * qty;
	a->cash = sat(a->cash + (buy ? -flow : flow));
	contrib(p, mark, &now);
	acct_apply(a, &was, &now);
	holder_set(r, account, instrument, p->pos != 0);
	rest_take(r, a, p, &r->rest[pi * 2 + !buy], buy, price, qty, true);
	acct_refresh(a);
}

/* ---- market ---- */

/* The collar as a band [lo, hi] around the reference: |price - ref| <= w exactly when
 * lo <= price <= hi, and floor(bps * ref / 10000) keeps the bps test exact in integers. */
static void instr_band(struct instr *in)
{
	in->block &= (uint8_t)~I_NOREF;
	in->lo = INT64_MIN;
	in->hi = INT64_MAX;
	if (!in->collar_ticks && !in->collar_bps)
		return;
	if (!in->mark) {
		in->block |= I_NOREF;
		return;
	}
	int64_t w = INT64_MAX;
	if (in->collar_ticks)
		w = sat((__int128)in->collar_ticks * in->tick);
	if (in->collar_bps) {
		int64_t wb = sat((__int128)in->collar_bps * in->mark / 10000);
		if (wb < w)
			w = wb;
	}
	in->lo = sadd(in->mark, -w);
	in->hi = sadd(in->mark, w);
}

static inline int64_t price_or_0(int64_t v)
{
	return v > 0 && v <= RISK_PRICE_MAX ? v : 0;
}

void risk_set_market(struct risk_ctx *r, uint32_t instrument, int64_t bid, int64_t ask,
		     int64_t last, bool stale, bool halted)
{
	if (instrument >= r->n_instr) {
		r->bad_hooks++;
		return;
	}
	struct instr *in = &r->instr[instrument];
	bid = price_or_0(bid);
	ask = price_or_0(ask);
	last = price_or_0(last);
	const int64_t ref = last ? last : bid && ask ? bid + (ask - bid) / 2 : bid ? bid : ask;
	const int64_t old = in->mark;

	in->bid = bid;
	in->ask = ask;
	in->last = last;
	in->block = (uint8_t)((in->block & ~(I_STALE | I_HALTED)) | (stale ? I_STALE : 0) |
			      (halted ? I_HALTED : 0));
	if (ref == old)
		return;
	in->mark = ref;
	instr_band(in);
	/* Re-mark the accounts that hold the instrument. */
	const uint64_t *w = &r->holders[(size_t)instrument * r->words];
	for (uint32_t wi = 0; wi < r->words; wi++) {
		for (uint64_t bits = w[wi]; bits; bits &= bits - 1) {
			uint32_t acc = wi * 64 + (uint32_t)__builtin_ctzll(bits);
			const struct pos *p = &r->pos[pair_of(r, acc, instrument)];
			struct contrib was, now;
			contrib(p, old, &was);
			contrib(p, ref, &now);
			acct_apply(&r->acct[acc], &was, &now);
			acct_refresh(&r->acct[acc]);
		}
	}
}

/* ---- for risk_config.c ---- */

/* The setters and the test walk share these; the hooks and risk_set_market above call the static
 * versions so that they stay inlined there (with -fPIC an exported function is not). */
void risk_acct_refresh(struct acct *a)
{
	acct_refresh(a);
}

void risk_instr_band(struct instr *in)
{
	instr_band(in);
}

int64_t risk_side_best(const struct risk_ctx *r, const struct rest *c, bool buy)
{
	return side_best(r, c, buy);
}
