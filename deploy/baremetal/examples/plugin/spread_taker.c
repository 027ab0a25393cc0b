/*
 * spread_taker: a tiny tradsys strategy plugin, the example of deploy/baremetal/STRATEGY.md.
 * When the book of one instrument on one venue is at most `max_spread_ticks` wide, it buys
 * `size` IOC at the best ask, at most once per `cooldown_ms` and `max_orders` times in all.
 * Every order goes through the OMS and pre-trade risk like a built-in strategy's.
 *
 * Build: make (or meson setup b && ninja -C b); use: [strategy.x] plugin = /path/spread_taker.so
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strategy.h"

/*
 * strategy_send lives in the tradsys-dataplane executable. A weak reference lets the plugin load
 * into a dataplane that does not export its symbols (built without export_dynamic): it then
 * only watches, and says so at init.
 */
#pragma weak strategy_send

struct spread_taker {
	uint32_t instrument;
	uint16_t venue;
	int64_t size, max_spread, tick;
	uint64_t cooldown_ns, next_ns;
	uint64_t max_orders, sent, events, fills;
};

/* Parameters are strings; parse them here (cold path) and name the key in any error. */
static int param(const struct strategy_param *p, size_t n, const char *key, long long min,
		 long long max, long long *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		char *end;

		if (strcmp(p[i].key, key))
			continue;
		errno = 0;
		long long v = strtoll(p[i].value, &end, 10);
		if (errno || *end || end == p[i].value || v < min || v > max) {
			snprintf(err, errlen, "%s: '%s' is not an integer in %lld..%lld", key,
				 p[i].value, min, max);
			return -EINVAL;
		}
		*out = v;
	}
	return 0;
}

static int st_init(struct strategy *s, const struct strategy_param *p, size_t n, char *err,
		   size_t errlen)
{
	static const char *const known[] = {
		"instrument",	    "venue",	   "size",	 "tick",
		"max_spread_ticks", "cooldown_ms", "max_orders", NULL
	};
	long long instrument = -1, venue = 0, size = 100, tick = 100, spread = 1, cooldown = 1000,
		  max_orders = 10;

	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		while (known[k] && strcmp(known[k], p[i].key))
			k++;
		if (!known[k]) {
			snprintf(err, errlen, "%s: unknown parameter", p[i].key);
			return -EINVAL;
		}
	}
	if (param(p, n, "instrument", 0, UINT32_MAX - 1, &instrument, err, errlen) ||
	    param(p, n, "venue", 0, OMS_MAX_VENUES - 1, &venue, err, errlen) ||
	    param(p, n, "size", 1, 1000000, &size, err, errlen) ||
	    param(p, n, "tick", 1, 1000000000, &tick, err, errlen) ||
	    param(p, n, "max_spread_ticks", 1, 1000, &spread, err, errlen) ||
	    param(p, n, "cooldown_ms", 0, 3600000, &cooldown, err, errlen) ||
	    param(p, n, "max_orders", 0, 1000000, &max_orders, err, errlen))
		return -EINVAL;
	if (instrument < 0) {
		snprintf(err, errlen, "instrument: required (the feed's stock locate)");
		return -EINVAL;
	}
	if (venue >= s->venues) {
		snprintf(err, errlen, "venue: %lld, but the worker has %u venue(s)", venue,
			 s->venues);
		return -EINVAL;
	}
	/* All state is allocated here, never on the hot path. */
	struct spread_taker *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->instrument = (uint32_t)instrument;
	t->venue = (uint16_t)venue;
	t->size = size;
	t->tick = tick;
	t->max_spread = spread * tick;
	t->cooldown_ns = (uint64_t)cooldown * 1000000u;
	t->max_orders = (uint64_t)max_orders;
	s->priv = t;
	if (!strategy_send)
		fprintf(stderr, "spread_taker: this tradsys-dataplane does not export "
				"strategy_send: watching only, no orders\n");
	return 0;
}

/* The hot path: no allocation, no syscalls, no printing. */
static void st_on_md(struct strategy *s, uint16_t venue, const struct md_event *ev)
{
	struct spread_taker *t = s->priv;
	uint64_t id;

	t->events++;
	if (venue != t->venue || ev->instrument != t->instrument || !strategy_send)
		return;
	if (!ev->bbo.bid_px || !ev->bbo.ask_px || ev->bbo.ask_px - ev->bbo.bid_px > t->max_spread)
		return;
	if (t->sent >= t->max_orders || s->now_ns < t->next_ns)
		return;
	if (strategy_send(s, venue, t->instrument, 'B', ev->bbo.ask_px, t->size, OMS_IOC, &id) ==
	    0) {
		t->sent++;
		t->next_ns = s->now_ns + t->cooldown_ns;
	}
}

static void st_on_fill(struct strategy *s, const struct oms_event *ev)
{
	struct spread_taker *t = s->priv;

	(void)ev;
	t->fills++;
}

static void st_fini(struct strategy *s)
{
	struct spread_taker *t = s->priv;

	if (!t)
		return;
	/* Cold path (the worker has stopped): one line for the operator. */
	fprintf(stderr, "spread_taker: %llu market data events, %llu orders, %llu fills\n",
		(unsigned long long)t->events, (unsigned long long)t->sent,
		(unsigned long long)t->fills);
	free(t);
	s->priv = NULL;
}

static const struct strategy_ops ops = {
	.name = "spread_taker",
	.init = st_init,
	.on_md = st_on_md,
	.on_fill = st_on_fill,
	.fini = st_fini,
};

const struct strategy_ops *tradsys_strategy(void);

const struct strategy_ops *tradsys_strategy(void)
{
	return &ops;
}
