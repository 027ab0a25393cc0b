/* Parameter parsing, the built-in registry, the plugin loader and the send helper. */
#include "strategy.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct strategy_ops strategy_market_maker;
extern const struct strategy_ops strategy_imbalance_taker;
extern const struct strategy_ops strategy_arbitrage;

static const struct strategy_ops *const builtins[] = {
	&strategy_market_maker,
	&strategy_imbalance_taker,
	&strategy_arbitrage,
};

const struct strategy_ops *strategy_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i]->name, name) == 0)
			return builtins[i];
	return NULL;
}

const struct strategy_ops *strategy_load(const char *path, char *err, size_t errlen)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(err, errlen, "plugin %s: %s", path, dlerror());
		return NULL;
	}
	const struct strategy_ops *(*get)(void) =
		(const struct strategy_ops *(*)(void))dlsym(h, "tradsys_strategy");
	const struct strategy_ops *ops = get ? get() : NULL;
	if (!ops || !ops->name || !ops->init) {
		snprintf(err, errlen,
			 "plugin %s: no tradsys_strategy() returning strategy_ops with a "
			 "name and init",
			 path);
		dlclose(h);
		return NULL;
	}
	return ops; /* the handle stays open for the life of the process */
}

const char *strategy_param_str(const struct strategy_param *p, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].key, key) == 0)
			return p[i].value;
	return NULL;
}

int strategy_param_i64(const struct strategy_param *p, size_t n, const char *key, int64_t min,
		       int64_t max, int64_t *out, char *err, size_t errlen)
{
	const char *v = strategy_param_str(p, n, key);
	char *end;

	if (!v)
		return 0;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || *end || end == v || x < min || x > max) {
		snprintf(err, errlen, "%s: '%s' is not an integer in [%lld, %lld]", key, v,
			 (long long)min, (long long)max);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int strategy_param_price(const struct strategy_param *p, size_t n, const char *key, int64_t *out,
			 char *err, size_t errlen)
{
	const char *v = strategy_param_str(p, n, key), *s;
	int64_t whole = 0, frac = 0;
	int digits = 0;

	if (!v)
		return 0;
	for (s = v; *s >= '0' && *s <= '9' && whole < 100000000; s++)
		whole = whole * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
			frac = frac * 10 + (*s - '0');
	if (*s || s == v) {
		snprintf(err, errlen, "%s: '%s' is not a price like 0.01 (at most 4 decimals)", key,
			 v);
		return -EINVAL;
	}
	for (; digits < 4; digits++)
		frac *= 10;
	*out = whole * 10000 + frac;
	return 0;
}

int strategy_param_check(const struct strategy_param *p, size_t n, const char *const *known,
			 char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcmp(*k, p[i].key) == 0;
		if (!ok) {
			snprintf(err, errlen, "%s: unknown parameter", p[i].key);
			return -EINVAL;
		}
	}
	return 0;
}

int strategy_send(struct strategy *s, uint16_t venue, uint32_t instrument, uint8_t side,
		  int64_t price, int64_t qty, uint8_t tif, uint64_t *id)
{
	struct oms_request r = {
		.account = s->account,
		.instrument = instrument,
		.strategy = s->id,
		.venue = venue,
		.side = side,
		.tif = tif,
		.price = price,
		.qty = qty,
		.trigger_tsc = s->trigger_tsc,
	};
	return oms_send(s->oms, &r, s->now_ns, id);
}
