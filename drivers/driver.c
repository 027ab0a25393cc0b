/*
 * Choosing and opening a backend, and the counters every backend shares. The backend is picked
 * once here; afterwards the worker calls through d->ops without further checks.
 */
#include "driver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[DRIVER_KINDS] = { "dpdk", "xdp", "uring" };

static const char *const drop_names[DRIVER_DROP_REASONS] = {
	[DRIVER_DROP_NOT_UDP] = "not_udp",
	[DRIVER_DROP_MALFORMED] = "malformed",
	[DRIVER_DROP_FRAGMENT] = "fragment",
	[DRIVER_DROP_NO_FLOW] = "no_flow",
};

const char *driver_kind_name(enum driver_kind kind)
{
	return (unsigned)kind < DRIVER_KINDS ? kind_names[kind] : "unknown";
}

int driver_kind_parse(const char *s, enum driver_kind *out)
{
	for (int k = 0; k < DRIVER_KINDS; k++) {
		if (strcmp(s, kind_names[k]) == 0) {
			*out = (enum driver_kind)k;
			return 0;
		}
	}
	return -EINVAL;
}

const char *driver_drop_name(enum driver_drop reason)
{
	return (unsigned)reason < DRIVER_DROP_REASONS ? drop_names[reason] : "unknown";
}

void driver_cfg_default(struct driver_cfg *cfg, enum driver_kind kind)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = kind;
	cfg->queues = 1;
	cfg->ring_size = 1024;
	cfg->bufs = 4096;
	cfg->buf_size = 2048;
	cfg->tx_src_port = 26477;
	memset(cfg->tx_dst_mac, 0xff, sizeof(cfg->tx_dst_mac));
}

static const struct driver_ops *backend(enum driver_kind kind)
{
	switch (kind) {
	case DRIVER_DPDK: return &driver_dpdk_ops;
	case DRIVER_XDP: return &driver_xdp_ops;
	case DRIVER_URING: return &driver_uring_ops;
	default: return NULL;
	}
}

struct driver *driver_open(const struct driver_cfg *cfg, char *err, size_t errlen)
{
	const struct driver_ops *ops = backend(cfg->kind);
	struct driver *d;
	int rc;

	if (!ops || !ops->open) {
		snprintf(err, errlen, "driver %s: not built into this binary",
			 driver_kind_name(cfg->kind));
		return NULL;
	}
	if (cfg->queues == 0 || cfg->queues > DRIVER_MAX_QUEUES) {
		snprintf(err, errlen, "driver %s: queues: %u is outside [1, %d]", ops->name,
			 cfg->queues, DRIVER_MAX_QUEUES);
		return NULL;
	}
	if (cfg->nflows == 0 || cfg->nflows > DRIVER_MAX_FLOWS) {
		snprintf(err, errlen, "driver %s: flows: %u configured, need 1 to %d", ops->name,
			 cfg->nflows, DRIVER_MAX_FLOWS);
		return NULL;
	}
	d = aligned_alloc(64, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "driver %s: out of memory", ops->name);
		return NULL;
	}
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->cfg = *cfg;
	rc = ops->open(d);
	if (rc) {
		snprintf(err, errlen, "driver %s: %s", ops->name,
			 d->err[0] ? d->err : strerror(-rc));
		free(d);
		return NULL;
	}
	return d;
}

void driver_close(struct driver *d)
{
	if (!d)
		return;
	d->ops->close(d);
	free(d);
}

int driver_stats(struct driver *d, struct driver_stats *out)
{
	memset(out, 0, sizeof(*out));
	return d->ops->stats(d, out);
}

void driver_stats_sum_queues(const struct driver *d, struct driver_stats *out)
{
	for (uint16_t q = 0; q < d->cfg.queues; q++) {
		const struct driver_stats *s = &d->qstats[q].s;
		out->rx_packets += s->rx_packets;
		out->rx_bytes += s->rx_bytes;
		out->tx_packets += s->tx_packets;
		out->tx_bytes += s->tx_bytes;
		out->tx_full += s->tx_full;
		out->rx_nobuf += s->rx_nobuf;
		for (int r = 0; r < DRIVER_DROP_REASONS; r++)
			out->drops[r] += s->drops[r];
	}
}

int driver_fail(struct driver *d, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	return rc;
}
