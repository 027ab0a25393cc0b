/*
 * Inline pre-trade risk (risk.h). All state lives in one preallocated region of flat arrays
 * indexed by id: accounts, instruments, sessions, one position record per (instrument, account)
 * pair (instrument-major, so a mark change walks one instrument's accounts contiguously), the
 * resting-price state per pair and side, and a pool of resting-price blocks. A check reads the
 * account's first cache line, the instrument's, the position's and the session's, plus the
 * duplicate ring when that control is on; the hooks keep every sum the check compares exact.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <nmmintrin.h>

#include "mem.h"
#include "risk.h"
#include "risk_internal.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define NONE UINT32_MAX
#define DUP_SLOTS 16 /* recent passed new orders per account remembered for duplicates */
#define MAX_BLOCKS 65536u /* resting-price blocks shared by all (pair, side)s */
#define MAX_PAIRS (1ull << 24)

/* Why an account or instrument may refuse before the arithmetic; UNCONF is bit 0 in both. */
enum { B_UNCONF = 1, B_KILLED = 2 };
enum { A_REDUCE = 4, A_MARGIN = 8 };
enum { I_RESTRICTED = 4, I_HALTED = 8, I_STALE = 16, I_NOREF = 32 };

/* A token bucket in its virtual-time form (GCRA): one token is t ns of rate, the bucket holds
 * burst tokens, and tat is the time at which it would be full again. An event at now passes while
 * tat - now <= tau = (burst - 1) * t, and moves tat on by t. Equivalent to a bucket refilled at
 * rate per second, with no division on the check path. t == 0: no limit. */
struct bucket {
	uint64_t t;
	uint64_t tau;
	uint64_t tat;
};

struct acct {
	/* Line 0: what every check reads. */
	uint8_t block;
	bool check_cash;
	bool allow_short;
	bool self_cross;
	bool allow_reducing;
	uint8_t dup_next;
	uint32_t open_orders;
	uint32_t max_open_orders;
	int64_t obn, osn; /* open buy and sell notional */
	int64_t gross; /* sum |position x mark| */
	int64_t net; /* sum position x mark */
	int64_t cost; /* sum |position| x average price: the credit check's position value */
	int64_t cash; /* start_cash + cash flow of fills */
	/* Line 1: limits of the exposure controls, the order bucket, the duplicate window. */
	int64_t max_gross, max_net, credit, lev_cap;
	struct bucket order;
	uint64_t dup_window;
	/* Line 2: 32-bit tags of the recent orders' hashes, compared all at once. */
	uint32_t dup_tag[DUP_SLOTS] __attribute__((aligned(64)));
	/* Cold: read on a tag hit or when PnL moves. */
	uint32_t lev_x100, margin_bps;
	int64_t realized, unreal, start_cash, daily_loss;
	uint64_t dup_hash[DUP_SLOTS];
	uint64_t dup_time[DUP_SLOTS];
} __attribute__((aligned(64)));

struct instr {
	/* Line 0: what every check reads (the collar as a precomputed [lo, hi] band). */
	uint8_t block;
	int64_t max_qty, max_notional, lo, hi, max_long, max_short;
	int64_t mark; /* reference price; 0: none yet */
	/* Line 1: inputs of the band. */
	int64_t tick, collar_ticks;
	int32_t collar_bps;
	int64_t bid, ask, last;
} __attribute__((aligned(64)));

/* One (instrument, account) pair: one cache line. own_bid/own_ask: best own resting price per
 * side, 0 for none. */
struct pos {
	int64_t pos, obq, osq, own_bid, own_ask, avg, realized, pad;
};

/* Resting state of one (pair, side): a block of per-price slots from the pool (blk) and an
 * overflow aggregate for prices that did not fit. ovf_bound is never less aggressive than the
 * best price in the overflow. */
struct rest {
	int64_t ovf_qty, ovf_notional, ovf_bound;
	uint32_t ovf_orders;
	uint32_t blk;
};

struct contrib {
	int64_t value, unreal, cost;
};

struct risk_ctx {
	uint32_t n_acct, n_instr, n_sess, k, words, nblk;
	uint8_t firm_killed;
	uint32_t free_blk;
	struct acct *acct;
	struct instr *instr;
	struct bucket *sess;
	struct pos *pos;
	struct rest *rest;
	uint64_t *holders; /* per instrument, a bit per account with a non-zero position */
	int64_t *blk_price, *blk_qty;
	uint32_t *blk_orders, *blk_next;
	char *state; /* start of the arrays (for the digest) */
	size_t size; /* of the whole region */
	uint64_t bad_hooks; /* hook calls with ids or values out of range, ignored */
	uint64_t rejects[RISK_R_REASONS] __attribute__((aligned(64)));
};

static const char *const reason_names[RISK_R_REASONS] = {
	[RISK_OK] = "ok",
	[RISK_R_NO_LIMITS] = "no_limits",
	[RISK_R_KILL_FIRM] = "kill_firm",
	[RISK_R_KILL_ACCOUNT] = "kill_account",
	[RISK_R_KILL_INSTRUMENT] = "kill_instrument",
	[RISK_R_RESTRICTED] = "restricted",
	[RISK_R_HALTED] = "halted",
	[RISK_R_STALE_BOOK] = "stale_book",
	[RISK_R_BAD_ORDER] = "bad_order",
	[RISK_R_MAX_QTY] = "max_qty",
	[RISK_R_MAX_NOTIONAL] = "max_notional",
	[RISK_R_PRICE_COLLAR] = "price_collar",
	[RISK_R_NO_REFERENCE] = "no_reference",
	[RISK_R_MAX_LONG] = "max_long",
	[RISK_R_MAX_SHORT] = "max_short",
	[RISK_R_GROSS_EXPOSURE] = "gross_exposure",
	[RISK_R_NET_EXPOSURE] = "net_exposure",
	[RISK_R_CREDIT] = "credit",
	[RISK_R_CASH] = "cash",
	[RISK_R_NO_SHORT] = "no_short",
	[RISK_R_REDUCE_ONLY] = "reduce_only",
	[RISK_R_LEVERAGE] = "leverage",
	[RISK_R_ORDER_RATE] = "order_rate",
	[RISK_R_MSG_RATE] = "msg_rate",
	[RISK_R_MAX_OPEN_ORDERS] = "max_open_orders",
	[RISK_R_DUPLICATE] = "duplicate",
	[RISK_R_SELF_CROSS] = "self_cross",
};

/* Sums saturate instead of wrapping: only reachable with values far outside any market. */
static inline int64_t sat(__int128 v)
{
	return v > INT64_MAX ? INT64_MAX : v < -INT64_MAX ? -INT64_MAX : (int64_t)v;
}

static inline int64_t sadd(int64_t a, int64_t b)
{
	return sat((__int128)a + b);
}

static inline int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v; /* values are kept within +-INT64_MAX */
}

static inline size_t pair_of(const struct risk_ctx *r, uint32_t account, uint32_t instrument)
{
	return (size_t)instrument * r->n_acct + account;
}

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

static void bucket_set(struct bucket *b, uint32_t rate, uint32_t burst)
{
	if (!rate) {
		b->t = b->tau = b->tat = 0;
		return;
	}
	/* Rounded up: never faster than the configured rate. */
	b->t = (1000000000ull + rate - 1) / rate;
	b->tau = (uint64_t)(burst ? burst - 1 : 0) * b->t;
}

/* Two CRC32C chains with different seeds (SSE4.2, in the x86-64-v2 baseline): three dependent
 * 3-cycle steps, where a multiply-based mix is twice that. */
static inline uint64_t dup_hash(uint32_t instrument, bool buy, int64_t price, int64_t qty)
{
	const uint64_t k = (uint64_t)instrument << 1 | buy;
	uint64_t hi = _mm_crc32_u64(0x9e3779b9u, k), lo = _mm_crc32_u64(0x85ebca6bu, k);

	hi = _mm_crc32_u64(_mm_crc32_u64(hi, (uint64_t)price), (uint64_t)qty);
	lo = _mm_crc32_u64(_mm_crc32_u64(lo, (uint64_t)qty), (uint64_t)price);
	return (hi << 32 | lo) | 1; /* 0 marks an empty slot */
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
	int64_t same = (buy ? p->obq : p->osq) - old_qty;
	const int64_t along = buy ? p->pos : -p->pos; /* the position in the order's direction */

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
	const int64_t price = o->price, qty = o->qty;
	int64_t old_qty = 0, old_n = 0;

	if (unlikely((a->block | in->block) & B_UNCONF))
		return reject(r, RISK_R_NO_LIMITS);
	if (unlikely((!buy && o->side != RISK_SELL) || price <= 0 || price > RISK_PRICE_MAX ||
		     qty <= 0 || qty > RISK_QTY_MAX))
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
	/* The side decides operands, not branches: the stream mixes buys and sells at random. */
	int64_t same = (buy ? p->obq : p->osq) - old_qty;
	if (same < 0)
		same = 0;
	const int64_t along = buy ? p->pos : -p->pos;
	const int64_t max_pos = buy ? in->max_long : in->max_short;
	if (max_pos && (__int128)along + same + qty > max_pos)
		return reject(r, buy ? RISK_R_MAX_LONG : RISK_R_MAX_SHORT);
	if (buy ? a->check_cash && (__int128)a->obn - old_n + n > a->cash
		: !a->allow_short && (__int128)same + qty > p->pos)
		return reject(r, buy ? RISK_R_CASH : RISK_R_NO_SHORT);
	if (!reducing) {
		const __int128 open = (__int128)a->obn + a->osn - old_n + n;
		const __int128 gross = a->gross + open;
		if (a->max_gross && gross > a->max_gross)
			return reject(r, RISK_R_GROSS_EXPOSURE);
		if (a->max_net) {
			__int128 net =
				(__int128)a->net + a->obn - a->osn + (buy ? n - old_n : old_n - n);
			if ((net < 0 ? -net : net) > a->max_net)
				return reject(r, RISK_R_NET_EXPOSURE);
		}
		if (a->credit && a->cost + open > a->credit)
			return reject(r, RISK_R_CREDIT);
		if (a->lev_x100 && gross > a->lev_cap)
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
	const int64_t own = buy ? p->own_ask : p->own_bid;
	if (a->self_cross && own && (buy ? price - own : own - price) >= 0)
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

/* What one pair adds to its account's sums, marked at mark (its own average without a mark). */
static void contrib(const struct pos *p, int64_t mark, struct contrib *c)
{
	const int64_t m = mark ? mark : p->avg;

	c->value = sat((__int128)p->pos * m);
	c->unreal = sat((__int128)p->pos * (m - p->avg));
	c->cost = sat((__int128)abs64(p->pos) * p->avg);
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

/* ---- market and limits ---- */

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

int risk_set_account(struct risk_ctx *r, uint32_t account, const struct risk_account_limits *l)
{
	if (!r || !l || account >= r->n_acct || l->max_gross_exposure < 0 ||
	    l->max_net_exposure < 0 || l->credit_limit < 0 || l->daily_loss_limit < 0 ||
	    l->start_cash < -RISK_NOTIONAL_MAX || l->start_cash > RISK_NOTIONAL_MAX ||
	    (l->order_rate && !l->order_burst))
		return -EINVAL;
	struct acct *a = &r->acct[account];

	a->cash = sat((__int128)a->cash - a->start_cash + l->start_cash);
	a->start_cash = l->start_cash;
	a->max_gross = l->max_gross_exposure;
	a->max_net = l->max_net_exposure;
	a->credit = l->credit_limit;
	a->check_cash = l->check_cash;
	a->allow_short = l->allow_short;
	a->daily_loss = l->daily_loss_limit;
	a->lev_x100 = l->max_leverage_x100;
	a->margin_bps = l->margin_bps;
	a->max_open_orders = l->max_open_orders;
	bucket_set(&a->order, l->order_rate, l->order_burst);
	a->dup_window = l->dup_window_ns;
	a->self_cross = l->self_cross_check;
	a->allow_reducing = l->allow_reducing_when_killed;
	a->block &= (uint8_t) ~(B_UNCONF | A_REDUCE);
	acct_refresh(a);
	return 0;
}

int risk_set_instrument(struct risk_ctx *r, uint32_t instrument,
			const struct risk_instrument_limits *l)
{
	if (!r || !l || instrument >= r->n_instr || l->tick <= 0 || l->max_order_qty < 0 ||
	    l->max_order_notional < 0 || l->collar_ticks < 0 || l->collar_bps < 0 ||
	    l->max_long < 0 || l->max_short < 0)
		return -EINVAL;
	struct instr *in = &r->instr[instrument];

	in->tick = l->tick;
	in->max_qty = l->max_order_qty;
	in->max_notional = l->max_order_notional;
	in->collar_ticks = l->collar_ticks;
	in->collar_bps = l->collar_bps;
	in->max_long = l->max_long;
	in->max_short = l->max_short;
	in->block = (uint8_t)((in->block & ~(B_UNCONF | I_RESTRICTED)) |
			      (l->restricted ? I_RESTRICTED : 0));
	instr_band(in);
	return 0;
}

int risk_set_session(struct risk_ctx *r, uint16_t session, const struct risk_session_limits *l)
{
	if (!r || !l || session >= r->n_sess)
		return -EINVAL;
	bucket_set(&r->sess[session], l->msg_rate, l->msg_burst ? l->msg_burst : 1);
	return 0;
}

int risk_kill(struct risk_ctx *r, enum risk_scope scope, uint32_t id, bool on)
{
	uint8_t *b;

	switch (scope) {
	case RISK_SCOPE_FIRM: r->firm_killed = on; return 0;
	case RISK_SCOPE_ACCOUNT:
		if (id >= r->n_acct)
			return -EINVAL;
		b = &r->acct[id].block;
		break;
	case RISK_SCOPE_INSTRUMENT:
		if (id >= r->n_instr)
			return -EINVAL;
		b = &r->instr[id].block;
		break;
	default: return -EINVAL;
	}
	*b = (uint8_t)(on ? *b | B_KILLED : *b & ~B_KILLED);
	return 0;
}

bool risk_killed(const struct risk_ctx *r, uint32_t account, uint32_t instrument)
{
	return r->firm_killed || (account < r->n_acct && r->acct[account].block & B_KILLED) ||
	       (instrument < r->n_instr && r->instr[instrument].block & B_KILLED);
}

/* ---- views ---- */

int risk_account_view(const struct risk_ctx *r, uint32_t account, struct risk_account_view *out)
{
	if (account >= r->n_acct)
		return -EINVAL;
	const struct acct *a = &r->acct[account];

	*out = (struct risk_account_view){
		.state = a->block & B_KILLED   ? RISK_ACCT_KILLED
			 : a->block & A_REDUCE ? RISK_ACCT_REDUCE_ONLY
			 : a->block & A_MARGIN ? RISK_ACCT_MARGIN_CALL
					       : RISK_ACCT_NORMAL,
		.cash = a->cash,
		.realized_pnl = a->realized,
		.unrealized_pnl = a->unreal,
		.gross_exposure = a->gross,
		.net_exposure = a->net,
		.open_buy_notional = a->obn,
		.open_sell_notional = a->osn,
		.open_orders = a->open_orders,
	};
	return 0;
}

int risk_position_view(const struct risk_ctx *r, uint32_t account, uint32_t instrument,
		       struct risk_position_view *out)
{
	if (account >= r->n_acct || instrument >= r->n_instr)
		return -EINVAL;
	const struct pos *p = &r->pos[pair_of(r, account, instrument)];
	struct contrib c;

	contrib(p, r->instr[instrument].mark, &c);
	*out = (struct risk_position_view){
		.position = p->pos,
		.avg_price = p->avg,
		.open_buy_qty = p->obq,
		.open_sell_qty = p->osq,
		.realized_pnl = p->realized,
		.unrealized_pnl = c.unreal,
	};
	return 0;
}

const uint64_t *risk_rejects(const struct risk_ctx *r)
{
	return r->rejects;
}

const char *risk_reason_name(enum risk_reason reason)
{
	return (unsigned)reason < RISK_R_REASONS ? reason_names[reason] : "unknown";
}

/* ---- life cycle ---- */

static size_t up64(size_t v)
{
	return (v + 63) & ~(size_t)63;
}

struct risk_ctx *risk_create(const struct risk_cfg *cfg)
{
	if (!cfg || !cfg->max_accounts || !cfg->max_instruments || !cfg->max_sessions ||
	    cfg->max_sessions > 65536 || !cfg->max_resting_per_side ||
	    cfg->max_resting_per_side > 64 ||
	    (uint64_t)cfg->max_accounts * cfg->max_instruments > MAX_PAIRS) {
		errno = EINVAL;
		return NULL;
	}
	const size_t pairs = (size_t)cfg->max_accounts * cfg->max_instruments;
	const uint32_t words = (cfg->max_accounts + 63) / 64, k = cfg->max_resting_per_side;
	const uint32_t nblk = pairs * 2 < MAX_BLOCKS ? (uint32_t)pairs * 2 : MAX_BLOCKS;
	size_t off[11], size = up64(sizeof(struct risk_ctx));
	const size_t len[11] = {
		sizeof(struct acct) * cfg->max_accounts,
		sizeof(struct instr) * cfg->max_instruments,
		sizeof(struct bucket) * cfg->max_sessions,
		sizeof(struct pos) * pairs,
		sizeof(struct rest) * pairs * 2,
		sizeof(uint64_t) * words * cfg->max_instruments,
		sizeof(int64_t) * nblk * k,
		sizeof(int64_t) * nblk * k,
		sizeof(uint32_t) * nblk * k,
		sizeof(uint32_t) * nblk,
		0,
	};
	for (int i = 0; i < 11; i++) {
		off[i] = size;
		size += up64(len[i]);
	}
	char *m = core_mem_alloc(size);
	if (!m)
		return NULL;
	struct risk_ctx *r = (struct risk_ctx *)m;

	r->n_acct = cfg->max_accounts;
	r->n_instr = cfg->max_instruments;
	r->n_sess = cfg->max_sessions;
	r->k = k;
	r->words = words;
	r->nblk = nblk;
	r->acct = (struct acct *)(m + off[0]);
	r->instr = (struct instr *)(m + off[1]);
	r->sess = (struct bucket *)(m + off[2]);
	r->pos = (struct pos *)(m + off[3]);
	r->rest = (struct rest *)(m + off[4]);
	r->holders = (uint64_t *)(m + off[5]);
	r->blk_price = (int64_t *)(m + off[6]);
	r->blk_qty = (int64_t *)(m + off[7]);
	r->blk_orders = (uint32_t *)(m + off[8]);
	r->blk_next = (uint32_t *)(m + off[9]);
	r->state = m + off[0];
	r->size = size;
	for (uint32_t i = 0; i < r->n_acct; i++) {
		r->acct[i].block = B_UNCONF;
		r->acct[i].lev_cap = -1;
	}
	for (uint32_t i = 0; i < r->n_instr; i++) {
		r->instr[i].block = B_UNCONF;
		r->instr[i].lo = INT64_MIN;
		r->instr[i].hi = INT64_MAX;
	}
	for (size_t i = 0; i < pairs * 2; i++)
		r->rest[i].blk = NONE;
	for (uint32_t i = 0; i < nblk; i++)
		r->blk_next[i] = i + 1 < nblk ? i + 1 : NONE;
	r->free_blk = 0;
	return r;
}

void risk_destroy(struct risk_ctx *r)
{
	if (r)
		core_mem_free(r, r->size);
}

/* ---- internals for tests ---- */

uint64_t risk_state_digest(const struct risk_ctx *r)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *b = (const unsigned char *)r->state;
	const size_t n = r->size - (size_t)(r->state - (const char *)r);

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	h = (h ^ r->firm_killed) * 0x100000001b3ull;
	h = (h ^ r->free_blk) * 0x100000001b3ull;
	return h;
}

int risk_check_invariants(const struct risk_ctx *r)
{
	for (uint32_t acc = 0; acc < r->n_acct; acc++) {
		const struct acct *a = &r->acct[acc];
		__int128 n[2] = { 0, 0 }, gross = 0, net = 0, unreal = 0, cost = 0;
		uint64_t orders = 0;
		for (uint32_t in = 0; in < r->n_instr; in++) {
			const size_t pi = pair_of(r, acc, in);
			const struct pos *p = &r->pos[pi];
			struct contrib c;
			contrib(p, r->instr[in].mark, &c);
			gross += abs64(c.value);
			net += c.value;
			unreal += c.unreal;
			cost += c.cost;
			if (((r->holders[(size_t)in * r->words + acc / 64] >> (acc % 64)) & 1) !=
			    (p->pos != 0))
				return -8;
			for (int s = 0; s < 2; s++) {
				const struct rest *c2 = &r->rest[pi * 2 + s];
				__int128 q = c2->ovf_qty;
				if (c2->ovf_qty < 0 || c2->ovf_notional < 0)
					return -1;
				n[s] += c2->ovf_notional;
				orders += c2->ovf_orders;
				if (c2->blk != NONE) {
					for (uint32_t i = 0; i < r->k; i++) {
						size_t j = (size_t)c2->blk * r->k + i;
						if (r->blk_qty[j] < 0)
							return -1;
						q += r->blk_qty[j];
						n[s] += (__int128)r->blk_price[j] * r->blk_qty[j];
						orders += r->blk_orders[j];
					}
				}
				const int64_t open = s ? p->osq : p->obq;
				if (open < 0)
					return -2;
				if (q != open)
					return -3;
				if ((s ? p->own_ask : p->own_bid) != side_best(r, c2, !s))
					return -4;
			}
		}
		if (n[0] != a->obn || n[1] != a->osn)
			return -5;
		if (orders != a->open_orders)
			return -6;
		if (gross != a->gross || net != a->net || unreal != a->unreal || cost != a->cost)
			return -7;
	}
	return 0;
}
