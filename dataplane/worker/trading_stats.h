/*
 * What the trading handler publishes in its stats block beyond the hot counters (stats region
 * ABI 3): venue sessions, risk rejects by control, kill switches, accounts' PnL and exposure, and
 * positions. Everything here runs from the tick's command-poll cadence, on session state
 * changes, on the venue's answers and on commands; nothing on the tick-to-trade path. Internal to
 * the trading handler (trading.c).
 */
#ifndef TRADSYS_WORKER_TRADING_STATS_H
#define TRADSYS_WORKER_TRADING_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "oms.h"
#include "risk.h"
#include "session.h"
#include "stats.h"

struct trading_stats {
	struct shm_stats_worker *st;
	uint32_t stride; /* instruments per venue in risk's id space */
	uint32_t ninstr; /* risk instruments */
	uint32_t max_accounts; /* risk accounts */
	uint16_t nvenues;
	uint64_t *killed; /* a bit per risk instrument killed by a command */
	uint32_t nkilled;
	bool kills_changed; /* a kill command arrived since the last publish (accounts rescanned) */
	uint64_t next_full_ns; /* accounts and positions are published every 10 ms */
	const char *(*symbol)(void *ctx, uint16_t venue, uint32_t instrument);
	void *ctx;
};

/*
 * Sets up ts for st: names the risk reasons in the block, sized for ninstr risk instruments
 * (stride per venue) and max_accounts accounts. symbol(ctx, venue, instrument) names a venue's
 * instrument for the position rows. Returns 0 or -ENOMEM.
 */
int trading_stats_init(struct trading_stats *ts, struct shm_stats_worker *st, uint32_t stride,
		       uint32_t ninstr, uint32_t max_accounts,
		       const char *(*symbol)(void *ctx, uint16_t venue, uint32_t instrument),
		       void *ctx);
void trading_stats_fini(struct trading_stats *ts);

/* Venue i is named name (at start, in config order; at most SHM_STATS_MAX_SESSIONS are shown). */
void trading_stats_venue(struct trading_stats *ts, uint16_t i, const char *name);

/* Venue i's session changed state (from its on_state callback). */
void trading_stats_session_state(struct trading_stats *ts, uint16_t i, enum vsession_state st);

/* An operator disconnected (down true) or connected (false) venue i. */
void trading_stats_admin(struct trading_stats *ts, uint16_t i, bool down);

/* A venue's answer (accepted, canceled, rejected, expired, fill): counted per venue; a fill
 * notes its position row. */
void trading_stats_answer(struct trading_stats *ts, const struct oms_event *ev);

/* An OMS event. Inline so an order being sent (OMS_EV_SENT, on the tick-to-trade path) costs one
 * compare and no call. */
static inline void trading_stats_event(struct trading_stats *ts, const struct oms_event *ev)
{
	if (ev->kind != OMS_EV_SENT)
		trading_stats_answer(ts, ev);
}

/* A kill switch command that risk accepted (scope, id as risk_kill). */
void trading_stats_kill(struct trading_stats *ts, enum risk_scope scope, uint32_t id, bool on);

/*
 * Copies the sessions, the reject counters (rejects[RISK_R_REASONS]) and the kill switches into
 * the block, and every 10 ms the accounts (configured ones: acct_set[max_accounts]) and
 * positions. sessions[i] is venue i's session.
 */
void trading_stats_publish(struct trading_stats *ts, const struct risk_ctx *risk,
			   struct vsession *const *sessions, const uint64_t *rejects,
			   const bool *acct_set, uint64_t now_ns);

#endif
