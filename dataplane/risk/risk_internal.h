/*
 * Risk internals for tests and the fuzz target only: a digest of every piece of state a check
 * may read or write (everything but the reject counters), and a consistency walk of the
 * accounting. Neither is for the hot path.
 */
#ifndef TRADSYS_RISK_INTERNAL_H
#define TRADSYS_RISK_INTERNAL_H

#include <stdint.h>

#include "risk.h"

/* FNV-1a over all state except the reject counters: equal before and after a refused check. */
uint64_t risk_state_digest(const struct risk_ctx *r);

/*
 * Walks every (account, instrument, side): open quantity never negative and equal to its resting
 * slots plus overflow, slot and overflow quantities never negative, open notional and open
 * order counts of each account equal to the sum over its instruments. Returns 0 or a negative
 * code naming the first broken rule (-1 ... -8).
 */
int risk_check_invariants(const struct risk_ctx *r);

#endif
