/*
 * The pre-trade check (risk.h): risk_check, risk_check_cancel and risk_reduces, with the rate
 * buckets, the duplicate detection and the risk-reducing test they use. Everything here runs per
 * order on the worker's core: its helpers are static here or static inline in risk_impl.h, so
 * they inline and the check makes no calls out (objdump -d shows none).
 */
#include "risk_impl.h"

static inline enum risk_reason reject(struct risk_ctx *r, enum risk_reason why)
{
	r->rejects[why]++;
	return why;
}

static inline bool bucket_ok(const struct bucket *b, uint64_t now)
{
	return b->tat <= now || b->tat - now <= b->tau;
}

static inline void bucket_take(struct bucket *b, uint64_t now)
{
	uint64_t base = b->tat > now ? b->tat : now;
	b->tat = base > UINT64_MAX - b->t ? UINT64_MAX : base + b->t;
}

/* Any of the recent orders with the same 32-bit tag? Four SSE compares over one cache line. */
static inline bool dup_tag_hit(const struct acct *a, uint64_t h)
{
	const __m128i t = _mm_set1_epi32((int)((uint32_t)(h >> 32) | 1));
	const __m128i *v = (const __m128i *)a->dup_tag;
	__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi32(v[0], t), _mm_cmpeq_epi32(v[1], t)),
				 _mm_or_si128(_mm_cmpeq_epi32(v[2], t), _mm_cmpeq_epi32(v[3], t)));
	return _mm_movemask_epi8(m) != 0;
}

/* A tag hit: the same full hash within the window (a clock that went back counts as within). */
static bool dup_confirm(const struct acct *a, uint64_t h, uint64_t now)
{
	for (uint32_t i = 0; i < DUP_SLOTS; i++) {
		uint64_t t = a->dup_time[i];
		if (a->dup_hash[i] == h && (now < t || now - t < a->dup_window))
			return true;
	}
	return false;
}

/* How an order would change things: is it risk-reducing, given the open orders on its side
 * (less the quantity a replace takes over)? */
static inline bool reduces(const struct pos *p, bool buy, int64_t qty, int64_t old_qty)
{
	const unsigned s = side_ix(buy);
	const int64_t neg = -(int64_t)s; /* 0 for a buy, -1 for a sell */
	int64_t same = p->oq[s] - old_qty;
	const int64_t along = (p->pos ^ neg) - neg; /* the position in the order's direction */

	if (same < 0)
		same = 0;
	return along < 0 && (__int128)qty + same <= -(__int128)along;
}

enum risk_reason risk_check(struct risk_ctx *r, const struct risk_order *o)
{
	if (unlikely(o->account >= r->n_acct || o->instrument >= r->n_instr ||
		     o->session >= r->n_sess))
		return reject(r, RISK_R_BAD_ORDER);

	struct acct *a = &r->acct[o->account];
	const struct instr *in = &r->instr[o->instrument];
	const struct pos *p = &r->pos[pair_of(r, o->account, o->instrument)];
	struct bucket *s = &r->sess[o->session];
	const bool buy = o->side == RISK_BUY;
	const unsigned si = side_ix(buy);
	const int64_t neg = -(int64_t)si; /* (x ^ neg) - neg: x for a buy, -x for a sell */
	const int64_t price = o->price, qty = o->qty;
	int64_t old_qty = 0, old_n = 0;

	if (unlikely((a->block | in->block) & B_UNCONF))
		return reject(r, RISK_R_NO_LIMITS);
	/* Bitwise, not ||: a short-circuit on the side would be a branch taken half the time. */
	if (unlikely((!buy & (o->side != RISK_SELL)) | (price <= 0) | (price > RISK_PRICE_MAX) |
		     (qty <= 0) | (qty > RISK_QTY_MAX)))
		return reject(r, RISK_R_BAD_ORDER);
	if (o->replace) {
		if (unlikely(o->old_qty < 0 || o->old_qty > RISK_QTY_MAX || o->old_price < 0 ||
			     o->old_price > RISK_PRICE_MAX))
			return reject(r, RISK_R_BAD_ORDER);
		old_qty = o->old_qty;
		old_n = sat((__int128)o->old_price * old_qty);
	}
	const __int128 n128 = (__int128)price * qty;
	if (unlikely(n128 > RISK_NOTIONAL_MAX))
		return reject(r, RISK_R_BAD_ORDER);
	const int64_t n = (int64_t)n128;
	const bool reducing = reduces(p, buy, qty, old_qty);

	/* Gates: kill switches, then the instrument's market state. */
	if (unlikely(r->firm_killed | ((a->block | in->block) & B_KILLED))) {
		if (!(a->allow_reducing && reducing))
			return reject(r, r->firm_killed	       ? RISK_R_KILL_FIRM
					 : a->block & B_KILLED ? RISK_R_KILL_ACCOUNT
							       : RISK_R_KILL_INSTRUMENT);
	}
	if (unlikely(in->block & (I_RESTRICTED | I_HALTED | I_STALE)))
		return reject(r, in->block & I_RESTRICTED ? RISK_R_RESTRICTED
				 : in->block & I_HALTED	  ? RISK_R_HALTED
							  : RISK_R_STALE_BOOK);

	/* The order alone, against its instrument. */
	if (in->max_qty && qty > in->max_qty)
		return reject(r, RISK_R_MAX_QTY);
	if (in->max_notional && n > in->max_notional)
		return reject(r, RISK_R_MAX_NOTIONAL);
	if (unlikely(in->block & I_NOREF))
		return reject(r, RISK_R_NO_REFERENCE);
	if (price < in->lo || price > in->hi)
		return reject(r, RISK_R_PRICE_COLLAR);

	/* The account's state, then the order against its position and exposure. */
	if (unlikely(a->block & (A_REDUCE | A_MARGIN)) && !reducing)
		return reject(r, RISK_R_REDUCE_ONLY);
	/* The side decides operands, not branches: a stream mixes buys and sells at random, and a
	 * branch on the side is mispredicted half the time. Both sides' conditions are computed and
	 * the side selects one; indexes and sign flips stand in for the ternaries. */
	int64_t same = p->oq[si] - old_qty;
	if (same < 0)
		same = 0;
	const int64_t along = (p->pos ^ neg) - neg;
	const int64_t max_pos = in->max_pos[si];
	if (max_pos && (__int128)along + same + qty > max_pos)
		return reject(r, buy ? RISK_R_MAX_LONG : RISK_R_MAX_SHORT);
	const bool no_cash = a->check_cash & ((__int128)a->obn - old_n + n > a->cash);
	const bool no_short = !a->allow_short & ((__int128)same + qty > p->pos);
	if ((no_cash & buy) | (no_short & !buy))
		return reject(r, buy ? RISK_R_CASH : RISK_R_NO_SHORT);
	if (!reducing) {
		const __int128 open = (__int128)a->obn + a->osn - old_n + n;
		const __int128 gross = a->gross + open;
		if (a->max_gross && gross > a->max_gross)
			return reject(r, RISK_R_GROSS_EXPOSURE);
		if (a->max_net) {
			__int128 net = (__int128)a->net + a->obn - a->osn + ((n - old_n) ^ neg) - neg;
			if ((net < 0 ? -net : net) > a->max_net)
				return reject(r, RISK_R_NET_EXPOSURE);
		}
		if (a->credit && a->cost + open > a->credit)
			return reject(r, RISK_R_CREDIT);
		if (a->lev_limit && gross > a->lev_cap)
			return reject(r, RISK_R_LEVERAGE);
	}

	/* Counts and rates; a replace is a message, not a new order. */
	const uint64_t now = o->now_ns;
	if (!o->replace) {
		if (a->max_open_orders && a->open_orders >= a->max_open_orders)
			return reject(r, RISK_R_MAX_OPEN_ORDERS);
		if (a->order.t && !bucket_ok(&a->order, now))
			return reject(r, RISK_R_ORDER_RATE);
	}
	if (s->t && !bucket_ok(s, now))
		return reject(r, RISK_R_MSG_RATE);
	uint64_t h = 0;
	if (!o->replace && a->dup_window) {
		h = dup_hash(o->instrument, buy, price, qty);
		if (unlikely(dup_tag_hit(a, h)) && dup_confirm(a, h, now))
			return reject(r, RISK_R_DUPLICATE);
	}
	const int64_t own = p->own[si ^ 1]; /* our best resting price on the other side */
	if (a->self_cross && own && (((price - own) ^ neg) - neg) >= 0)
		return reject(r, RISK_R_SELF_CROSS);

	/* Passed: only now take the tokens and remember the order. */
	if (!o->replace && a->order.t)
		bucket_take(&a->order, now);
	if (s->t)
		bucket_take(s, now);
	if (h) {
		uint32_t i = a->dup_next++ % DUP_SLOTS;
		a->dup_tag[i] = (uint32_t)(h >> 32) | 1;
		a->dup_hash[i] = h;
		a->dup_time[i] = now;
	}
	return RISK_OK;
}

enum risk_reason risk_check_cancel(struct risk_ctx *r, uint16_t session, uint64_t now_ns)
{
	if (session >= r->n_sess)
		return reject(r, RISK_R_BAD_ORDER);
	struct bucket *s = &r->sess[session];
	if (s->t) {
		if (!bucket_ok(s, now_ns))
			return reject(r, RISK_R_MSG_RATE);
		bucket_take(s, now_ns);
	}
	return RISK_OK;
}

bool risk_reduces(const struct risk_ctx *r, uint32_t account, uint32_t instrument, uint8_t side,
		  int64_t qty)
{
	if (account >= r->n_acct || instrument >= r->n_instr || qty <= 0 ||
	    (side != RISK_BUY && side != RISK_SELL))
		return false;
	return reduces(&r->pos[pair_of(r, account, instrument)], side == RISK_BUY, qty, 0);
}
