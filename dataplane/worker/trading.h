/*
 * The "trading" handler: tick to trade on one core. The feed handler keeps the books; every book
 * change becomes an md_event that updates risk's market state and goes to the strategies; the
 * orders they send pass risk in the OMS, are encoded as OUCH and queued on the venue's SoupBinTCP
 * session, and the sessions are flushed (one io_uring submit each) at the end of the burst, when
 * the tick-to-trade time is taken: TSC at submission minus the packet's RX TSC. The tick polls the
 * venue sessions (acks, fills), the MoldUDP64 timers, the OMS timeouts and the strategies' timers.
 *
 * Configuration, besides [feed.*] and [worker.N] handler = trading:
 *   [venue.<name>]   (name: 1 to 23 characters) feed (the [feed.<name>] with this venue's
 *                    market data), address (IP:PORT of its SoupBinTCP server), user, password,
 *                    session (optional), firm
 *   [risk]           per-instrument limits for every instrument: tick, max_order_qty,
 *                    max_order_notional, collar_ticks, collar_bps, max_long, max_short;
 *                    per-session throttle: msg_rate, msg_burst
 *   [account.<N>]    max_gross_exposure, max_net_exposure, credit_limit, start_cash, check_cash,
 *                    allow_short, daily_loss_limit, max_leverage_x100, margin_bps,
 *                    max_open_orders, order_rate, order_burst, dup_window_ms, self_cross_check,
 *                    allow_reducing_when_killed (money in currency units, e.g. 250000.00)
 *   [strategy.<name>] type (a built-in: market_maker, imbalance_taker, arbitrage) or plugin
 *                    (path to a .so), account, and the strategy's own parameters
 * An account without an [account.N] section has no limits: risk refuses its orders (fail closed).
 */
#ifndef TRADSYS_WORKER_TRADING_H
#define TRADSYS_WORKER_TRADING_H

#include <stdio.h>

#include "worker.h"

struct trading;

/* Builds the handler of worker index on top of its feed handler wf (which it drives), counting
 * into st's trading block (orders, fills, rejects, tick-to-trade and stage histograms). NULL with
 * a message naming the file, section and key in err. */
struct trading *trading_create(struct config *c, const char *name, const struct worker_config *wc,
			       uint16_t index, struct worker_feed *wf, struct shm_stats_worker *st,
			       char *err, size_t errlen);
void trading_handler(struct trading *t, struct worker_handler *h);
/* After the worker stopped (its on_stop already canceled, drained and logged out on the worker's
 * thread): writes the report file's positions and open orders. Returns 0 or -errno of a failed
 * write. */
int trading_finish(struct trading *t);
/* Orders, fills, rejects by reason, positions and tick-to-trade percentiles (cold path). */
void trading_summary(const struct trading *t, FILE *out);
void trading_destroy(struct trading *t);

#endif
