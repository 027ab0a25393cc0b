/*
 * Risk configuration and life cycle (risk.h, risk_internal.h): the limit setters, the kill switch,
 * the account and position views, the reason names, create and destroy, and the state digest and
 * invariant walk for tests. None of it is on the per-order path.
 */
#include <errno.h>

#include "mem.h"
#include "risk_impl.h"
#include "risk_internal.h"

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

/* ---- limits ---- */

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
	a->lev_limit = l->max_leverage_x100 != 0;
	a->margin_bps = l->margin_bps;
	a->max_open_orders = l->max_open_orders;
	bucket_set(&a->order, l->order_rate, l->order_burst);
	a->dup_window = l->dup_window_ns;
	a->self_cross = l->self_cross_check;
	a->allow_reducing = l->allow_reducing_when_killed;
	a->block &= (uint8_t) ~(B_UNCONF | A_REDUCE);
	risk_acct_refresh(a);
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
	risk_instr_band(in);
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
				if ((s ? p->own_ask : p->own_bid) != risk_side_best(r, c2, !s))
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
