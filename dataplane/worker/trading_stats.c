/*
 * The trading handler's slow stats (trading_stats.h): sessions, rejects by control, kill
 * switches, accounts and positions in the worker's ABI 3 block. The block is written only by its
 * worker with plain stores (a reader copies it and may see one row a publish behind another);
 * the cost is a few hundred nanoseconds per millisecond tick and a few microseconds every 10 ms,
 * none of it between a packet and the order it causes.
 */
#include "trading_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define FULL_PERIOD_NS 10000000u

int trading_stats_init(struct trading_stats *ts, struct shm_stats_worker *st, uint32_t stride,
		       uint32_t ninstr, uint32_t max_accounts,
		       const char *(*symbol)(void *ctx, uint16_t venue, uint32_t instrument),
		       void *ctx)
{
	memset(ts, 0, sizeof(*ts));
	ts->st = st;
	ts->stride = stride;
	ts->ninstr = ninstr;
	ts->max_accounts = max_accounts;
	ts->symbol = symbol;
	ts->ctx = ctx;
	ts->kills_changed = true;
	ts->killed = calloc((ninstr + 63) / 64 + 1, sizeof(uint64_t));
	if (!ts->killed)
		return -ENOMEM;
	_Static_assert(RISK_R_REASONS <= SHM_STATS_MAX_REASONS, "room for every risk reason");
	if (!st)
		return 0; /* --check builds the handler without a stats region */
	st->nreasons = RISK_R_REASONS;
	for (int r = 0; r < RISK_R_REASONS; r++)
		snprintf(st->reason_names[r], SHM_STATS_REASON_NAME_LEN, "%s",
			 risk_reason_name((enum risk_reason)r));
	return 0;
}

void trading_stats_fini(struct trading_stats *ts)
{
	free(ts->killed);
	ts->killed = NULL;
}

void trading_stats_venue(struct trading_stats *ts, uint16_t i, const char *name)
{
	if (!ts->st || i >= SHM_STATS_MAX_SESSIONS)
		return;
	snprintf(ts->st->sessions[i].name, SHM_STATS_SESSION_NAME_LEN, "%s", name);
	if (i + 1u > ts->st->nsessions)
		ts->st->nsessions = i + 1u;
	if (i + 1u > ts->nvenues)
		ts->nvenues = (uint16_t)(i + 1u);
}

/* enum vsession_state and enum shm_stats_session_state list the same states in the same order. */
_Static_assert(VSESSION_DISCONNECTED == (int)SHM_SESSION_DISCONNECTED &&
		       VSESSION_CONNECTING == (int)SHM_SESSION_CONNECTING &&
		       VSESSION_LOGGING_IN == (int)SHM_SESSION_LOGGING_IN &&
		       VSESSION_LOGGED_IN == (int)SHM_SESSION_ACTIVE &&
		       VSESSION_CLOSED == (int)SHM_SESSION_CLOSED,
	       "session states match");

void trading_stats_session_state(struct trading_stats *ts, uint16_t i, enum vsession_state st)
{
	/* A session may report a state while the handler is still being built. */
	if (!ts->st || i >= SHM_STATS_MAX_SESSIONS)
		return;
	ts->st->sessions[i].state = (uint32_t)st;
	ts->st->sessions[i].state_change_tsc = clock_tsc();
}

void trading_stats_admin(struct trading_stats *ts, uint16_t i, bool down)
{
	if (ts->st && i < SHM_STATS_MAX_SESSIONS)
		ts->st->sessions[i].admin_down = down;
}

/* The position row of (account, venue, instrument), made on its first fill. */
static void note_position(struct trading_stats *ts, const struct oms_order *o)
{
	struct shm_stats_worker *st = ts->st;

	for (uint32_t i = 0; i < st->npositions; i++) {
		const struct shm_stats_position *p = &st->positions[i];
		if (p->account == o->account && p->instrument == o->instrument &&
		    p->session == o->venue)
			return;
	}
	if (st->npositions >= SHM_STATS_MAX_POSITIONS) {
		st->positions_truncated = 1;
		return;
	}
	struct shm_stats_position *p = &st->positions[st->npositions];
	const char *sym = ts->symbol ? ts->symbol(ts->ctx, o->venue, o->instrument) : NULL;
	memset(p, 0, sizeof(*p));
	p->account = o->account;
	p->instrument = o->instrument;
	p->session = o->venue;
	if (sym)
		snprintf(p->symbol, sizeof(p->symbol), "%s", sym);
	/* The row is complete before it is counted, so a reader never sees half of one. */
	__atomic_store_n(&st->npositions, st->npositions + 1, __ATOMIC_RELEASE);
}

void trading_stats_answer(struct trading_stats *ts, const struct oms_event *ev)
{
	if (!ev->o || !ts->st || ev->o->venue >= SHM_STATS_MAX_SESSIONS)
		return;
	struct shm_stats_session *s = &ts->st->sessions[ev->o->venue];
	switch (ev->kind) {
	case OMS_EV_ACCEPTED: s->orders_accepted++; break;
	case OMS_EV_CANCELED: s->orders_canceled++; break;
	case OMS_EV_REJECTED:
	case OMS_EV_EXPIRED: s->orders_rejected++; break;
	case OMS_EV_FILL:
		s->orders_filled++;
		note_position(ts, ev->o);
		break;
	default: break;
	}
}

void trading_stats_kill(struct trading_stats *ts, enum risk_scope scope, uint32_t id, bool on)
{
	ts->kills_changed = true;
	if (scope != RISK_SCOPE_INSTRUMENT || id >= ts->ninstr || !ts->killed)
		return;
	uint64_t bit = 1ull << (id % 64), *w = &ts->killed[id / 64];
	if (on && !(*w & bit))
		ts->nkilled++;
	else if (!on && (*w & bit))
		ts->nkilled--;
	*w = on ? *w | bit : *w & ~bit;
}

static void publish_kills(struct trading_stats *ts, const struct risk_ctx *risk)
{
	struct shm_stats_worker *st = ts->st;
	uint32_t n = 0;

	/* The firm switch is also thrown by the worker itself (a journal write failed); account and
	 * instrument switches move only by command, so they are rescanned only after one. */
	st->kill_firm = risk_killed(risk, UINT32_MAX, UINT32_MAX);
	if (!ts->kills_changed)
		return;
	ts->kills_changed = false;
	for (uint32_t a = 0; a < ts->max_accounts; a++) {
		struct risk_account_view av;
		if (risk_account_view(risk, a, &av) || av.state != RISK_ACCT_KILLED)
			continue;
		if (n < SHM_STATS_MAX_KILLED)
			st->killed_accounts[n] = a;
		n++;
	}
	st->kill_accounts = n;
	n = 0;
	for (uint32_t i = 0; i < (ts->ninstr + 63) / 64 && n < SHM_STATS_MAX_KILLED; i++)
		for (uint64_t w = ts->killed[i]; w && n < SHM_STATS_MAX_KILLED; w &= w - 1)
			st->killed_instruments[n++] = i * 64 + (uint32_t)__builtin_ctzll(w);
	st->kill_instruments = ts->nkilled;
}

static void publish_accounts(struct trading_stats *ts, const struct risk_ctx *risk,
			     const bool *acct_set)
{
	struct shm_stats_worker *st = ts->st;
	uint32_t n = 0;

	st->accounts_truncated = 0;
	for (uint32_t a = 0; a < ts->max_accounts; a++) {
		struct risk_account_view av;
		if (!acct_set[a] || risk_account_view(risk, a, &av))
			continue;
		if (n >= SHM_STATS_MAX_ACCOUNTS) {
			st->accounts_truncated = 1;
			break;
		}
		st->accounts[n++] = (struct shm_stats_account){
			.id = a,
			.state = (uint32_t)av.state,
			.open_orders = av.open_orders,
			.realized_pnl = av.realized_pnl,
			.unrealized_pnl = av.unrealized_pnl,
			.gross_exposure = av.gross_exposure,
			.net_exposure = av.net_exposure,
			.cash = av.cash,
			.open_notional = av.open_buy_notional + av.open_sell_notional,
		};
	}
	st->naccounts = n;
	for (uint32_t i = 0; i < st->npositions; i++) {
		struct shm_stats_position *p = &st->positions[i];
		struct risk_position_view pv;
		uint32_t ri = oms_risk_instrument(ts->stride, p->session, p->instrument);
		if (risk_position_view(risk, p->account, ri, &pv))
			continue;
		p->position = pv.position;
		p->avg_price = pv.avg_price;
		p->realized_pnl = pv.realized_pnl;
		p->unrealized_pnl = pv.unrealized_pnl;
		p->open_qty = pv.open_buy_qty + pv.open_sell_qty;
	}
}

void trading_stats_publish(struct trading_stats *ts, const struct risk_ctx *risk,
			   struct vsession *const *sessions, const uint64_t *rejects,
			   const bool *acct_set, uint64_t now_ns)
{
	struct shm_stats_worker *st = ts->st;

	if (!st)
		return;
	for (uint16_t i = 0; i < ts->nvenues; i++) {
		const struct vsession_stats *vs = vsession_stats(sessions[i]);
		struct shm_stats_session *s = &st->sessions[i];
		s->state = (uint32_t)vsession_state(sessions[i]);
		s->next_seq = vsession_next_seq(sessions[i]);
		s->out_msgs = vs->sent_msgs;
		s->in_msgs = vs->messages;
		s->logins = vs->logins;
		s->reconnects = vs->logins > 1 ? vs->logins - 1 : 0;
		s->disconnects = vs->disconnects;
		s->out_bytes = vs->sent_bytes;
	}
	memcpy(st->risk_rejects_by, rejects, sizeof(uint64_t) * RISK_R_REASONS);
	publish_kills(ts, risk);
	if (now_ns >= ts->next_full_ns) {
		publish_accounts(ts, risk, acct_set);
		ts->next_full_ns = now_ns + FULL_PERIOD_NS;
	}
	st->publish_tsc = clock_tsc();
}
