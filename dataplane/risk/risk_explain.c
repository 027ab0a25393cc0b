/*
 * risk_explain: after a refusal, the limit that refused the order and the value the order would
 * have made the measured quantity, for the journal's risk records and the operator reading them.
 * It recomputes the refusing control's arithmetic the way risk_check does (a refusal changes no
 * state, so the inputs are those the check saw). Off the check path: called once per refusal.
 */
#include "risk_impl.h"

/* Nanoseconds per token as a rate per second (the bucket's configured rate). */
static int64_t rate_of(const struct bucket *b)
{
	return b->t ? (int64_t)(1000000000ull / b->t) : 0;
}

void risk_explain(const struct risk_ctx *r, const struct risk_order *o, enum risk_reason why,
		  int64_t *limit, int64_t *value)
{
	*limit = 0;
	*value = 0;
	if (why == RISK_R_MSG_RATE && o->session < r->n_sess) {
		*limit = rate_of(&r->sess[o->session]);
		return;
	}
	if (o->account >= r->n_acct || o->instrument >= r->n_instr || o->price <= 0 ||
	    o->price > RISK_PRICE_MAX || o->qty <= 0 || o->qty > RISK_QTY_MAX || o->old_qty < 0 ||
	    o->old_qty > RISK_QTY_MAX || o->old_price < 0 || o->old_price > RISK_PRICE_MAX)
		return;

	const struct acct *a = &r->acct[o->account];
	const struct instr *in = &r->instr[o->instrument];
	const struct pos *p = &r->pos[pair_of(r, o->account, o->instrument)];
	const bool buy = o->side == RISK_BUY;
	const int64_t price = o->price, qty = o->qty;
	const int64_t old_qty = o->replace ? o->old_qty : 0;
	const int64_t old_n = o->replace ? sat((__int128)o->old_price * o->old_qty) : 0;
	const int64_t n = sat((__int128)price * qty);
	int64_t same = (buy ? p->obq : p->osq) - old_qty;
	const int64_t along = buy ? p->pos : -p->pos;
	const __int128 open = (__int128)a->obn + a->osn - old_n + n;
	const __int128 gross = a->gross + open;

	if (same < 0)
		same = 0;
	switch (why) {
	case RISK_R_MAX_QTY: *limit = in->max_qty, *value = qty; break;
	case RISK_R_MAX_NOTIONAL: *limit = in->max_notional, *value = n; break;
	case RISK_R_PRICE_COLLAR: *limit = price < in->lo ? in->lo : in->hi, *value = price; break;
	case RISK_R_MAX_LONG:
	case RISK_R_MAX_SHORT:
		*limit = buy ? in->max_long : in->max_short;
		*value = sat((__int128)along + same + qty);
		break;
	case RISK_R_CASH: *limit = a->cash, *value = sat((__int128)a->obn - old_n + n); break;
	case RISK_R_NO_SHORT: *limit = p->pos, *value = sat((__int128)same + qty); break;
	case RISK_R_GROSS_EXPOSURE: *limit = a->max_gross, *value = sat(gross); break;
	case RISK_R_NET_EXPOSURE: {
		__int128 net = (__int128)a->net + a->obn - a->osn + (buy ? n - old_n : old_n - n);
		*limit = a->max_net, *value = sat(net < 0 ? -net : net);
		break;
	}
	case RISK_R_CREDIT: *limit = a->credit, *value = sat(a->cost + open); break;
	case RISK_R_LEVERAGE: *limit = a->lev_cap, *value = sat(gross); break;
	case RISK_R_REDUCE_ONLY:
		/* The loss limit as a floor on the day's PnL (realized + unrealized). */
		*limit = a->daily_loss ? -a->daily_loss : 0;
		*value = sadd(a->realized, a->unreal);
		break;
	case RISK_R_MAX_OPEN_ORDERS:
		*limit = a->max_open_orders, *value = (int64_t)a->open_orders + 1;
		break;
	case RISK_R_ORDER_RATE: *limit = rate_of(&a->order); break;
	case RISK_R_DUPLICATE: {
		/* The window, and how long ago the same order went out. */
		const uint64_t h = dup_hash(o->instrument, buy, price, qty);
		*limit = (int64_t)a->dup_window;
		for (uint32_t i = 0; i < DUP_SLOTS; i++) {
			uint64_t t = a->dup_time[i];
			if (a->dup_hash[i] == h && t <= o->now_ns && o->now_ns - t < a->dup_window)
				*value = (int64_t)(o->now_ns - t);
		}
		break;
	}
	case RISK_R_SELF_CROSS: *limit = buy ? p->own_ask : p->own_bid, *value = price; break;
	default: /* gates with no quantity: kill switches, market state, no limits, bad order */
		break;
	}
}
