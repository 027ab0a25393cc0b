/*
 * Private to the risk module (risk.c, risk_book.c, risk_config.c). All state lives in one
 * preallocated region of flat arrays indexed by id: accounts, instruments, sessions, one position
 * record per (instrument, account) pair (instrument-major, so a mark change walks one instrument's
 * accounts contiguously), the resting-price state per pair and side, and a pool of resting-price
 * blocks. A check reads the account's first cache line, the instrument's, the position's and the
 * session's, plus the duplicate ring when that control is on; the hooks keep every sum the check
 * compares exact. Whatever risk_check calls is static inline, here or in risk.c.
 */
#ifndef TRADSYS_RISK_IMPL_H
#define TRADSYS_RISK_IMPL_H

#include <nmmintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "risk.h"

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
	bool lev_limit; /* lev_x100 != 0, here so the check reads no cold line */
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
_Static_assert(offsetof(struct acct, max_gross) == 64 && offsetof(struct acct, dup_tag) == 128,
	       "an account's check lines are its first three");

struct instr {
	/* Line 0: what every check reads (the collar as a precomputed [lo, hi] band). */
	uint8_t block;
	int64_t max_qty, max_notional, lo, hi;
	union { /* max_pos[side index] on the check path */
		struct {
			int64_t max_long, max_short;
		};
		int64_t max_pos[2];
	};
	int64_t mark; /* reference price; 0: none yet */
	/* Line 1: inputs of the band. */
	int64_t tick, collar_ticks;
	int32_t collar_bps;
	int64_t bid, ask, last;
} __attribute__((aligned(64)));

/* One (instrument, account) pair: one cache line. obq/osq: open quantity per side; own_bid/own_ask:
 * best own resting price per side, 0 for none. The check reads both through the side index
 * (side_ix), so a stream of mixed buys and sells picks operands instead of taking branches. */
struct pos {
	int64_t pos;
	union {
		struct {
			int64_t obq, osq;
		};
		int64_t oq[2];
	};
	union {
		struct {
			int64_t own_bid, own_ask;
		};
		int64_t own[2];
	};
	int64_t avg, realized, pad;
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

/* The index of a side in the two-element arrays above: 0 buy, 1 sell. */
static inline unsigned side_ix(bool buy)
{
	return !buy;
}

static inline size_t pair_of(const struct risk_ctx *r, uint32_t account, uint32_t instrument)
{
	return (size_t)instrument * r->n_acct + account;
}

/* What one pair adds to its account's sums, marked at mark (its own average without a mark). */
static inline void contrib(const struct pos *p, int64_t mark, struct contrib *c)
{
	const int64_t m = mark ? mark : p->avg;

	c->value = sat((__int128)p->pos * m);
	c->unreal = sat((__int128)p->pos * (m - p->avg));
	c->cost = sat((__int128)abs64(p->pos) * p->avg);
}

/* The duplicate control's key (risk.c, risk_explain.c). Two CRC32C chains with different seeds (SSE4.2, in the x86-64-v2 baseline): three dependent
 * 3-cycle steps, where a multiply-based mix is twice that. */
static inline uint64_t dup_hash(uint32_t instrument, bool buy, int64_t price, int64_t qty)
{
	const uint64_t k = (uint64_t)instrument << 1 | buy;
	uint64_t hi = _mm_crc32_u64(0x9e3779b9u, k), lo = _mm_crc32_u64(0x85ebca6bu, k);

	hi = _mm_crc32_u64(_mm_crc32_u64(hi, (uint64_t)price), (uint64_t)qty);
	lo = _mm_crc32_u64(_mm_crc32_u64(lo, (uint64_t)qty), (uint64_t)price);
	return (hi << 32 | lo) | 1; /* 0 marks an empty slot */
}

/* Across files (risk_book.c): the account state after its sums moved, the collar band after its
 * reference or limits moved, the best own resting price of a side. */
void risk_acct_refresh(struct acct *a);
void risk_instr_band(struct instr *in);
int64_t risk_side_best(const struct risk_ctx *r, const struct rest *c, bool buy);

#endif
