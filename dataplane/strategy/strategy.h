/*
 * The strategy API (DESIGN.md). A strategy is a set of callbacks run on the worker's core:
 * on_md for every book change of the feeds it trades, on_order_update and on_fill for its own
 * orders, on_timer at the worker's tick. It acts only through the OMS (oms_send, oms_cancel,
 * oms_replace), so every order passes risk. Strategies are built in (strategy_builtin) or loaded
 * from a shared object that exports
 *
 *     const struct strategy_ops *tradsys_strategy(void);
 *
 * and are configured by name with string parameters ([strategy.<name>] sections).
 */
#ifndef TRADSYS_STRATEGY_H
#define TRADSYS_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "book.h"
#include "oms.h"

#define STRATEGY_MAX_PARAMS 32

struct strategy_param {
	const char *key;
	const char *value;
};

struct strategy;

struct strategy_ops {
	const char *name;
	/* Reads the parameters; returns 0 or -EINVAL with a message naming the key in err. */
	int (*init)(struct strategy *s, const struct strategy_param *p, size_t n, char *err,
		    size_t errlen);
	void (*on_md)(struct strategy *s, uint16_t venue, const struct md_event *ev);
	void (*on_order_update)(struct strategy *s, const struct oms_event *ev);
	void (*on_fill)(struct strategy *s, const struct oms_event *ev);
	void (*on_timer)(struct strategy *s, uint64_t now_ns);
	void (*fini)(struct strategy *s);
};

/* What a strategy sees of the worker. */
struct strategy {
	const struct strategy_ops *ops;
	void *priv; /* the strategy's own state (allocated in init, freed in fini) */
	uint32_t id; /* its index: orders carry it back */
	uint32_t account;
	struct oms *oms;
	struct book_set *books[OMS_MAX_VENUES]; /* each venue's books, for depth and BBO */
	uint16_t venues;
	uint64_t now_ns; /* the worker's time of the current callback */
	uint64_t trigger_tsc; /* rx TSC of the market data being handled (tick-to-trade) */
};

/* Parameter helpers for init: 0, or -EINVAL with err naming the key (absent: *out untouched). */
int strategy_param_i64(const struct strategy_param *p, size_t n, const char *key, int64_t min,
		       int64_t max, int64_t *out, char *err, size_t errlen);
int strategy_param_price(const struct strategy_param *p, size_t n, const char *key, int64_t *out,
			 char *err, size_t errlen);
const char *strategy_param_str(const struct strategy_param *p, size_t n, const char *key);
/* Fails naming the first key not in known (NULL-terminated). */
int strategy_param_check(const struct strategy_param *p, size_t n, const char *const *known,
			 char *err, size_t errlen);

/* A built-in strategy by name ("market_maker", "imbalance_taker", "arbitrage"), or NULL. */
const struct strategy_ops *strategy_builtin(const char *name);

/* Loads a plugin: a path to a .so exporting tradsys_strategy(). NULL with a message in err. */
const struct strategy_ops *strategy_load(const char *path, char *err, size_t errlen);

/* Sends an order for the strategy (its account and id, the current trigger). */
int strategy_send(struct strategy *s, uint16_t venue, uint32_t instrument, uint8_t side,
		  int64_t price, int64_t qty, uint8_t tif, uint64_t *id);

#endif
