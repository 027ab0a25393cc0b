/*
 * Inline pre-trade risk. One risk context per worker holds the limits (per account, per
 * instrument, firm-wide), the exposure state the checks need (positions, open orders, cash, PnL
 * marked to the book, rate buckets, recent orders), and a counter per reject reason. Every order
 * and every replace from any path (strategy, manual order from the admin API) goes through
 * risk_check() before it is encoded; the order manager reports what happened afterwards through
 * the risk_on_*() hooks so the state stays exact. No allocation after create, no double, no
 * locks; a check reads a handful of cache lines.
 *
 * Fail closed: an account or an instrument with no limits set is refused (RISK_R_NO_LIMITS).
 *
 * Units: prices in the instrument's price scale (ITCH: 1/10000), quantities in shares, notional
 * in price units x shares (so 1/10000 of a currency unit for ITCH prices), times in ns.
 *
 * Memory: positions are a flat array of max_accounts x max_instruments records (128 bytes each
 * with their resting state), so the context suits accounts <= 64 and instruments <= 16384
 * (128 MiB at that corner), plus a pool of resting-price blocks (see max_resting_per_side).
 *
 * Semantics the fields below leave open: risk-reducing orders (risk_reduces) are exempt from
 * reduce-only, margin call and the exposure controls (gross, net, credit, leverage), so an
 * account in trouble can always get out; the order rate, max open orders and duplicate controls
 * apply to new orders only (a replace is one message and keeps its order); the mark for
 * unrealized PnL is the reference price, and a position is marked at its own average cost
 * until the instrument has one.
 */
#ifndef TRADSYS_RISK_H
#define TRADSYS_RISK_H

#include <stdbool.h>
#include <stdint.h>

/* Orders and hooks outside these are bad (RISK_R_BAD_ORDER, hooks ignore them): they keep every
 * product and sum inside 64 bits. */
#define RISK_PRICE_MAX (1ll << 44)
#define RISK_QTY_MAX (1ll << 40)
#define RISK_NOTIONAL_MAX (1ll << 62) /* price x qty of one order */

enum risk_side {
	RISK_BUY = 'B',
	RISK_SELL = 'S',
};

/* Why an order was refused; 0 is "pass". Each has a counter and a metric label. */
enum risk_reason {
	RISK_OK = 0,
	RISK_R_NO_LIMITS, /* the account has no limits configured: fail closed */
	RISK_R_KILL_FIRM,
	RISK_R_KILL_ACCOUNT,
	RISK_R_KILL_INSTRUMENT,
	RISK_R_RESTRICTED, /* instrument on the restricted list */
	RISK_R_HALTED, /* the venue halted or paused the instrument */
	RISK_R_STALE_BOOK, /* the feed lost messages: no trading on this book */
	RISK_R_BAD_ORDER, /* qty <= 0, price <= 0, unknown account/instrument, bad side */
	RISK_R_MAX_QTY,
	RISK_R_MAX_NOTIONAL,
	RISK_R_PRICE_COLLAR, /* too far from the reference price (ticks or bps) */
	RISK_R_NO_REFERENCE, /* a collar is set but there is no reference price yet */
	RISK_R_MAX_LONG, /* position + open buys + this order above the long limit */
	RISK_R_MAX_SHORT,
	RISK_R_GROSS_EXPOSURE, /* account: sum |position value| + open order notional */
	RISK_R_NET_EXPOSURE, /* account: |sum signed position value + signed open notional| */
	RISK_R_CREDIT, /* open order notional + position value above the credit limit */
	RISK_R_CASH, /* a buy costing more than the cash left after open buys */
	RISK_R_NO_SHORT, /* a sell beyond the position (less open sells) where shorting is off */
	RISK_R_REDUCE_ONLY, /* account in reduce-only (daily loss or margin call): order adds risk */
	RISK_R_LEVERAGE, /* gross exposure after the order above max_leverage x equity */
	RISK_R_ORDER_RATE, /* token bucket of new orders per account */
	RISK_R_MSG_RATE, /* token bucket of messages (new, replace, cancel) per session */
	RISK_R_MAX_OPEN_ORDERS,
	RISK_R_DUPLICATE, /* same account, instrument, side, price and qty within the window */
	RISK_R_SELF_CROSS, /* would trade against one of our own resting orders */
	RISK_R_REASONS,
};

/* Kill switch scopes. */
enum risk_scope {
	RISK_SCOPE_FIRM,
	RISK_SCOPE_ACCOUNT,
	RISK_SCOPE_INSTRUMENT,
};

/* Account states beyond normal. Reduce-only and margin call let only risk-reducing orders in. */
enum risk_account_state {
	RISK_ACCT_NORMAL,
	RISK_ACCT_REDUCE_ONLY, /* the daily loss limit was hit (realized + unrealized) */
	RISK_ACCT_MARGIN_CALL, /* equity below the margin requirement on the gross exposure */
	RISK_ACCT_KILLED,
};

/* Limits of one instrument (apply to every account). 0 means "no limit" unless stated. */
struct risk_instrument_limits {
	int64_t tick; /* price increment, for collars in ticks (required, > 0) */
	int64_t max_order_qty;
	int64_t max_order_notional;
	int64_t collar_ticks; /* |price - reference| <= collar_ticks * tick */
	int32_t collar_bps; /* |price - reference| * 10000 <= collar_bps * reference */
	int64_t max_long; /* position plus open buys, per account */
	int64_t max_short; /* position minus open sells, per account, as a positive number */
	bool restricted;
};

/* Limits of one account. 0 means "no limit" unless stated. */
struct risk_account_limits {
	int64_t max_gross_exposure;
	int64_t max_net_exposure;
	int64_t credit_limit; /* open order notional + sum |position| x average cost */
	int64_t start_cash; /* cash at the start of the day; buys need cash when check_cash */
	bool check_cash;
	bool allow_short; /* false: sells only from the position */
	int64_t daily_loss_limit; /* > 0: at realized + unrealized <= -limit, reduce-only */
	uint32_t max_leverage_x100; /* gross / equity * 100 at most this (e.g. 400 = 4x) */
	uint32_t margin_bps; /* equity must stay >= gross * margin_bps / 10000, else margin call */
	uint32_t max_open_orders;
	uint32_t order_rate; /* new orders per second (token bucket) */
	uint32_t order_burst; /* bucket depth (>= 1 when order_rate is set) */
	uint64_t dup_window_ns; /* duplicate within the window among the last 16 new orders; 0: off */
	bool self_cross_check; /* refuse orders that would cross our own resting orders */
	bool allow_reducing_when_killed; /* kill switch lets risk-reducing orders through */
};

/* Per session message throttle. */
struct risk_session_limits {
	uint32_t msg_rate; /* messages per second; 0: no limit */
	uint32_t msg_burst;
};

/* An order (or the new state of an order being replaced) to check. */
struct risk_order {
	uint32_t account;
	uint32_t instrument;
	uint16_t session; /* venue session it would go out on */
	uint8_t side; /* enum risk_side */
	bool replace; /* a replace of an open order: old_price/old_qty are its open state */
	int64_t price; /* limit price (> 0); market orders are priced at the collar edge */
	int64_t qty;
	int64_t old_price;
	int64_t old_qty; /* open quantity the replace takes over (its exposure is not counted twice) */
	uint64_t now_ns;
};

/* What an account looks like now (for the OMS, the API and tests). */
struct risk_account_view {
	enum risk_account_state state;
	int64_t cash;
	int64_t realized_pnl;
	int64_t unrealized_pnl;
	int64_t gross_exposure; /* sum |position x mark| */
	int64_t net_exposure;
	int64_t open_buy_notional, open_sell_notional;
	uint32_t open_orders;
};

struct risk_position_view {
	int64_t position; /* signed shares */
	int64_t avg_price; /* average cost of the open position */
	int64_t open_buy_qty, open_sell_qty;
	int64_t realized_pnl;
	int64_t unrealized_pnl;
};

struct risk_cfg {
	uint32_t max_accounts; /* account ids 0 .. max_accounts-1 */
	uint32_t max_instruments; /* instrument ids 0 .. max_instruments-1 */
	uint32_t max_sessions;
	/* Own resting price slots per account, instrument and side (1..64), from a pool of
	 * min(2 x accounts x instruments, 65536) blocks. When a side holds more prices (or the pool
	 * is empty), the worst go to an aggregate whose best price is kept as a bound that is never
	 * less aggressive than the truth: the best own price stays exact while it is in a slot, and
	 * self-cross may then refuse too much, never too little. Open orders are counted per price:
	 * an order leaves the count when its price's open quantity reaches zero. */
	uint32_t max_resting_per_side;
};

struct risk_ctx;

/* Allocates a context (everything preallocated). NULL with errno EINVAL or ENOMEM. */
struct risk_ctx *risk_create(const struct risk_cfg *cfg);
void risk_destroy(struct risk_ctx *r);

/* Limits; each returns 0 or -EINVAL (id out of range, bad values). Changeable at run time. */
int risk_set_account(struct risk_ctx *r, uint32_t account, const struct risk_account_limits *l);
int risk_set_instrument(struct risk_ctx *r, uint32_t instrument,
			const struct risk_instrument_limits *l);
int risk_set_session(struct risk_ctx *r, uint16_t session, const struct risk_session_limits *l);

/* Kill switch on or off for a scope (id ignored for the firm). Returns 0 or -EINVAL. The caller
 * (OMS) cancels the open orders it covers. */
int risk_kill(struct risk_ctx *r, enum risk_scope scope, uint32_t id, bool on);
bool risk_killed(const struct risk_ctx *r, uint32_t account, uint32_t instrument);

/* Market state of an instrument, from the book on every change: the reference price for collars
 * (last trade if set, else the BBO mid, else the side's best), the mark for unrealized PnL. */
void risk_set_market(struct risk_ctx *r, uint32_t instrument, int64_t bid, int64_t ask,
		     int64_t last, bool stale, bool halted);

/*
 * The check: every control in turn, the first refusal wins. Returns RISK_OK or the reason (and
 * counts it). A pass also takes a token from the rate buckets and records the order for
 * duplicate detection, so call it exactly once per order actually about to be sent.
 */
enum risk_reason risk_check(struct risk_ctx *r, const struct risk_order *o);

/*
 * After a refusal of o for why (before anything else changes the context): the limit in force
 * and the value the order would have made the measured quantity, e.g. max_order_qty and the
 * order's qty, the collar edge crossed and the price, the exposure limit and the exposure with
 * the order. Rates give the configured rate per second and no value; the duplicate control its
 * window and the age of the earlier order (ns); gates with no quantity (kill switches, halts,
 * stale books, no limits, bad orders) give 0 and 0. Off the check path: once per refusal.
 */
void risk_explain(const struct risk_ctx *r, const struct risk_order *o, enum risk_reason why,
		  int64_t *limit, int64_t *value);

/* A cancel request also costs a message token. Returns RISK_OK or RISK_R_MSG_RATE. */
enum risk_reason risk_check_cancel(struct risk_ctx *r, uint16_t session, uint64_t now_ns);

/*
 * Accounting hooks from the order manager. on_open: an order was sent (or a replace took over
 * with its new price and qty after on_close of the old). on_close: open qty left the book without
 * trading (cancel, reject, expiry, the old side of a replace). on_fill: qty traded at price (the
 * open qty shrinks; position, cash and PnL move).
 */
void risk_on_open(struct risk_ctx *r, uint32_t account, uint32_t instrument, uint8_t side,
		  int64_t price, int64_t qty);
void risk_on_close(struct risk_ctx *r, uint32_t account, uint32_t instrument, uint8_t side,
		   int64_t price, int64_t qty);
void risk_on_fill(struct risk_ctx *r, uint32_t account, uint32_t instrument, uint8_t side,
		  int64_t price, int64_t qty);

/* Would this order only reduce the account's position in the instrument? */
bool risk_reduces(const struct risk_ctx *r, uint32_t account, uint32_t instrument, uint8_t side,
		  int64_t qty);

int risk_account_view(const struct risk_ctx *r, uint32_t account, struct risk_account_view *out);
int risk_position_view(const struct risk_ctx *r, uint32_t account, uint32_t instrument,
		       struct risk_position_view *out);

/* Reject counters by reason, and the metric label of a reason ("max_qty", ...). */
const uint64_t *risk_rejects(const struct risk_ctx *r);
const char *risk_reason_name(enum risk_reason reason);

#endif
