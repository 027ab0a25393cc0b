/*
 * The dataplane's configuration file, turned into a driver configuration and one worker_cfg per
 * [worker.N]. Every value is checked here, before anything is opened, so a mistake is reported
 * as file:line and key instead of surfacing later as a driver or thread error. Unknown keys are
 * rejected: a misspelt key silently ignored is a setting the operator believes is in force.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "worker.h"

static const char *const appliance_keys[] = { "instance", "log_level", "journal_dir", NULL };
static const char *const driver_keys[] = { "kind", "interface", "dpdk_args", "queues", "ring_size",
					   "bufs", "buf_size",	"zero_copy", NULL };
static const char *const feed_keys[] = {
	"group",      "port",	    "b_group",	  "b_port",	    "max_instruments",
	"max_orders", "max_levels", "price_step", "request_server", NULL
};
static const char *const worker_keys[] = { "core",	  "queue",   "idle",	  "command_poll",
					   "tx_flush_us", "handler", "dump_file", "decoded_file",
					   "report_file", NULL };
static const char *const level_names[] = { "err", "warn", "notice", "info", "debug" };
static const char *const idle_names[] = { "spin", "backoff" };
static const char *const handler_names[] = { "count", "dump", "feed", "trading" };

#define NAMES(a) (a), (sizeof(a) / sizeof((a)[0]))

static int cfg_fail(struct config *c, char *err, size_t errlen, int rc)
{
	snprintf(err, errlen, "%s", config_error(c));
	return rc;
}

static int parse_appliance(struct config *c, const char *name, struct worker_config *out, char *err,
			   size_t errlen)
{
	int level = 3; /* info */
	char shm[64];

	out->instance = "default";
	if (config_str(c, "appliance", "instance", &out->instance) ||
	    config_str(c, "appliance", "journal_dir", &out->journal_dir) ||
	    config_enum(c, "appliance", "log_level", NAMES(level_names), &level))
		return cfg_fail(c, err, errlen, -EINVAL);
	if (shm_stats_name(out->instance, shm, sizeof(shm))) {
		snprintf(err, errlen,
			 "%s: [appliance] instance: '%s' must be 1 to %d letters, digits, '-', '_' "
			 "or '.'",
			 name, out->instance, SHM_STATS_NAME_LEN - 1);
		return -EINVAL;
	}
	out->log_level = (enum log_level)(LOG_LEVEL_ERR + level);
	return 0;
}

static int parse_driver(struct config *c, const char *name, struct worker_config *out, char *err,
			size_t errlen)
{
	struct driver_cfg *d = &out->driver;
	const char *kind;
	uint64_t queues, ring, bufs, bsize;
	enum driver_kind k;

	if (config_require(c, "driver", "kind"))
		return cfg_fail(c, err, errlen, -ENOENT);
	kind = config_get(c, "driver", "kind");
	if (driver_kind_parse(kind, &k)) {
		snprintf(err, errlen, "%s: [driver] kind: '%s' is not one of: dpdk, xdp, uring",
			 name, kind);
		return -EINVAL;
	}
	driver_cfg_default(d, k);
	queues = d->queues;
	ring = d->ring_size;
	bufs = d->bufs;
	bsize = d->buf_size;
	if (config_str(c, "driver", "interface", &d->ifname) ||
	    config_str(c, "driver", "dpdk_args", &d->dpdk_args) ||
	    config_u64(c, "driver", "queues", 1, DRIVER_MAX_QUEUES, &queues) ||
	    config_u64(c, "driver", "ring_size", 64, 32768, &ring) ||
	    config_u64(c, "driver", "bufs", 64, 1u << 20, &bufs) ||
	    config_size(c, "driver", "buf_size", 256, 65535, &bsize) ||
	    config_bool(c, "driver", "zero_copy", &d->zero_copy))
		return cfg_fail(c, err, errlen, -EINVAL);
	if (ring & (ring - 1)) {
		snprintf(err, errlen, "%s: [driver] ring_size: %lu is not a power of two", name,
			 (unsigned long)ring);
		return -EINVAL;
	}
	if (k != DRIVER_DPDK && (!d->ifname || !d->ifname[0])) {
		snprintf(err, errlen, "%s: [driver] interface: required for kind %s", name, kind);
		return -ENOENT;
	}
	if (k == DRIVER_DPDK && !d->dpdk_args) {
		snprintf(err, errlen, "%s: [driver] dpdk_args: required for kind dpdk", name);
		return -ENOENT;
	}
	d->queues = (uint16_t)queues;
	d->ring_size = (uint16_t)ring;
	d->bufs = (uint32_t)bufs;
	d->buf_size = (uint16_t)bsize;
	return 0;
}

/* Reads one line's group and port keys; *port stays 0 when the port key is absent. */
static int parse_line(struct config *c, const char *name, const char *sec, const char *gkey,
		      const char *pkey, uint32_t *group, uint64_t *port, char *err, size_t errlen)
{
	const char *g = NULL;
	struct in_addr a = { 0 };

	if (config_u64(c, sec, pkey, 1, 65535, port) || config_str(c, sec, gkey, &g))
		return cfg_fail(c, err, errlen, -EINVAL);
	if (g && inet_pton(AF_INET, g, &a) != 1) {
		snprintf(err, errlen, "%s: [%s] %s: '%s' is not an IPv4 address", name, sec, gkey,
			 g);
		return -EINVAL;
	}
	*group = a.s_addr;
	return 0;
}

/*
 * Adds a line as the next driver flow. Two flows on one port are refused unless both name
 * different groups: the driver hands a packet to the first flow it matches, so the second would
 * never see traffic.
 */
static int add_flow(struct worker_config *out, const char *name, const char *sec, const char *pkey,
		    uint32_t group, uint64_t port, uint16_t *flow, char *err, size_t errlen)
{
	struct driver_cfg *d = &out->driver;

	if (d->nflows == DRIVER_MAX_FLOWS) {
		snprintf(err, errlen, "%s: [%s] %s: more than %d feed lines (A and B) in all", name,
			 sec, pkey, DRIVER_MAX_FLOWS);
		return -EINVAL;
	}
	for (uint16_t i = 0; i < d->nflows; i++) {
		const struct driver_flow *o = &d->flows[i];

		if (o->port != port || (o->group && group && o->group != group))
			continue;
		snprintf(err, errlen, "%s: [%s] %s: port %lu%s is already taken by [feed.%s]", name,
			 sec, pkey, (unsigned long)port,
			 o->group == group ? " with the same group" : " (one line has no group)",
			 out->feed_names[i]);
		return -EINVAL;
	}
	d->flows[d->nflows].group = group;
	d->flows[d->nflows].port = (uint16_t)port;
	out->feed_names[d->nflows] = sec + 5;
	*flow = d->nflows++;
	return 0;
}

static int parse_feed(struct config *c, const char *name, const char *sec,
		      struct worker_config *out, char *err, size_t errlen)
{
	struct worker_feed_cfg *f = &out->feeds[out->nfeeds];
	uint64_t port = 0, bport = 0, ninst = WORKER_FEED_DEFAULT_INSTRUMENTS,
		 norders = WORKER_FEED_DEFAULT_ORDERS, nlevels = WORKER_FEED_DEFAULT_LEVELS,
		 step = WORKER_FEED_DEFAULT_PRICE_STEP;
	uint32_t group = 0, bgroup = 0;
	int rc;

	if (strncmp(sec, "feed.", 5) != 0 || sec[5] == '\0') {
		snprintf(err, errlen, "%s: [%s]: name feed sections [feed.<name>]", name, sec);
		return -EINVAL;
	}
	if (config_require(c, sec, "port"))
		return cfg_fail(c, err, errlen, -ENOENT);
	rc = parse_line(c, name, sec, "group", "port", &group, &port, err, errlen);
	if (!rc)
		rc = parse_line(c, name, sec, "b_group", "b_port", &bgroup, &bport, err, errlen);
	if (rc)
		return rc;
	/* ITCH stock locates are 16-bit; the book refuses a pool as large as its NIL index. */
	if (config_u64(c, sec, "max_instruments", 1, 65536, &ninst) ||
	    config_u64(c, sec, "max_orders", 1, 1u << 28, &norders) ||
	    config_u64(c, sec, "max_levels", 1, BOOK_MAX_LEVELS, &nlevels) ||
	    config_u64(c, sec, "price_step", 1, 1000000, &step))
		return cfg_fail(c, err, errlen, -EINVAL);
	if (bgroup && !bport) {
		snprintf(err, errlen, "%s: [%s] b_port: required with b_group", name, sec);
		return -ENOENT;
	}
	f->name = sec + 5;
	f->flow_b = WORKER_NO_FLOW;
	rc = add_flow(out, name, sec, "port", group, port, &f->flow_a, err, errlen);
	if (!rc && bport)
		rc = add_flow(out, name, sec, "b_port", bgroup, bport, &f->flow_b, err, errlen);
	if (rc)
		return rc;
	f->max_instruments = (uint32_t)ninst;
	f->max_orders = (uint32_t)norders;
	f->max_levels = (uint32_t)nlevels;
	f->price_step = (uint32_t)step;
	const char *rs = config_get(c, sec, "request_server");
	if (rs) {
		char host[32];
		const char *colon = strrchr(rs, ':');
		char *end = NULL;
		unsigned long rport = colon ? strtoul(colon + 1, &end, 10) : 0;
		struct in_addr a;
		if (!colon || (size_t)(colon - rs) >= sizeof(host) || !end || *end || rport == 0 ||
		    rport > 65535 ||
		    (memcpy(host, rs, (size_t)(colon - rs)), host[colon - rs] = '\0',
		     inet_pton(AF_INET, host, &a) != 1) ||
		    a.s_addr == 0) {
			snprintf(err, errlen, "%s: [%s] request_server: '%s' is not IPv4:PORT",
				 name, sec, rs);
			return -EINVAL;
		}
		f->request_ip = a.s_addr;
		f->request_port = (uint16_t)rport;
	}
	out->nfeeds++;
	return 0;
}

static int parse_feeds(struct config *c, const char *name, struct worker_config *out, char *err,
		       size_t errlen)
{
	const char *secs[DRIVER_MAX_FLOWS];
	size_t n = config_sections(c, "feed", secs, DRIVER_MAX_FLOWS);

	if (n == 0) {
		snprintf(err, errlen, "%s: no [feed.<name>] section: configure at least one flow",
			 name);
		return -ENOENT;
	}
	if (n > DRIVER_MAX_FLOWS) {
		snprintf(err, errlen, "%s: %zu [feed.*] sections, at most %d", name, n,
			 DRIVER_MAX_FLOWS);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = parse_feed(c, name, secs[i], out, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

/* The N of "worker.N": a decimal below 10000 with no sign or leading junk. */
static int worker_id(const char *sec, unsigned int *id)
{
	const char *p = sec + strlen("worker");
	unsigned int v = 0;

	if (*p != '.' || !p[1])
		return -EINVAL;
	for (p++; *p; p++) {
		if (*p < '0' || *p > '9' || v >= 1000)
			return -EINVAL;
		v = v * 10 + (unsigned int)(*p - '0');
	}
	*id = v;
	return 0;
}

static int parse_worker(struct config *c, const char *name, const char *sec, uint16_t index,
			struct worker_config *out, char *err, size_t errlen)
{
	struct worker_cfg *w = &out->workers[index];
	int64_t core = -1;
	uint64_t queue = index, poll = 1024, flush = 50;
	int idle = WORKER_IDLE_SPIN, handler = WORKER_HANDLER_COUNT;

	if (worker_id(sec, &w->id)) {
		snprintf(err, errlen, "%s: [%s]: name worker sections [worker.N], N a number", name,
			 sec);
		return -EINVAL;
	}
	if (config_require(c, sec, "core"))
		return cfg_fail(c, err, errlen, -ENOENT);
	if (config_i64(c, sec, "core", 0, 4095, &core) ||
	    config_u64(c, sec, "queue", 0, DRIVER_MAX_QUEUES - 1, &queue) ||
	    config_enum(c, sec, "idle", NAMES(idle_names), &idle) ||
	    config_u64(c, sec, "command_poll", 1, 1u << 24, &poll) ||
	    config_u64(c, sec, "tx_flush_us", 1, 10000000, &flush) ||
	    config_enum(c, sec, "handler", NAMES(handler_names), &handler) ||
	    config_str(c, sec, "dump_file", &w->dump_file) ||
	    config_str(c, sec, "decoded_file", &w->decoded_file) ||
	    config_str(c, sec, "report_file", &w->report_file))
		return cfg_fail(c, err, errlen, -EINVAL);
	w->core = (int)core;
	w->queue = (uint16_t)queue;
	w->idle = (enum worker_idle)idle;
	w->command_poll = (uint32_t)poll;
	w->tx_flush_us = (uint32_t)flush;
	w->handler = (enum worker_handler_kind)handler;
	if (w->handler == WORKER_HANDLER_DUMP && (!w->dump_file || !w->dump_file[0])) {
		snprintf(err, errlen, "%s: [%s] dump_file: required with handler = dump", name,
			 sec);
		return -ENOENT;
	}
	if (w->decoded_file && w->handler != WORKER_HANDLER_FEED &&
	    w->handler != WORKER_HANDLER_TRADING) {
		snprintf(err, errlen, "%s: [%s] decoded_file: only with handler = feed or trading",
			 name, sec);
		return -EINVAL;
	}
	if (w->report_file && w->handler != WORKER_HANDLER_TRADING) {
		snprintf(err, errlen, "%s: [%s] report_file: only with handler = trading", name,
			 sec);
		return -EINVAL;
	}
	if (w->decoded_file && !w->decoded_file[0]) {
		snprintf(err, errlen, "%s: [%s] decoded_file: empty path", name, sec);
		return -EINVAL;
	}
	if (w->queue >= out->driver.queues) {
		snprintf(err, errlen, "%s: [%s] queue: %u, but [driver] queues = %u", name, sec,
			 w->queue, out->driver.queues);
		return -EINVAL;
	}
	for (uint16_t j = 0; j < index; j++) {
		const struct worker_cfg *o = &out->workers[j];
		const char *what = o->id == w->id	  ? "id"
				   : o->queue == w->queue ? "queue"
				   : o->core == w->core	  ? "core"
							  : NULL;
		if (what) {
			snprintf(err, errlen,
				 "%s: [%s]: same %s as [worker.%u]; each worker needs its "
				 "own core and queue",
				 name, sec, what, o->id);
			return -EINVAL;
		}
	}
	return 0;
}

int worker_config_parse(struct config *c, const char *name, struct worker_config *out, char *err,
			size_t errlen)
{
	const char *secs[WORKER_MAX];
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (config_check_keys(c, "appliance", appliance_keys) ||
	    config_check_keys(c, "driver", driver_keys) ||
	    config_check_keys(c, "feed", feed_keys) || config_check_keys(c, "worker", worker_keys))
		return cfg_fail(c, err, errlen, -EINVAL);
	rc = parse_appliance(c, name, out, err, errlen);
	if (!rc)
		rc = parse_driver(c, name, out, err, errlen);
	if (!rc)
		rc = parse_feeds(c, name, out, err, errlen);
	if (rc)
		return rc;
	n = config_sections(c, "worker", secs, WORKER_MAX);
	if (n == 0) {
		snprintf(err, errlen, "%s: no [worker.N] section: configure at least one worker",
			 name);
		return -ENOENT;
	}
	if (n > WORKER_MAX) {
		snprintf(err, errlen, "%s: %zu [worker.N] sections, at most %d", name, n,
			 WORKER_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		rc = parse_worker(c, name, secs[i], (uint16_t)i, out, err, errlen);
		if (rc)
			return rc;
	}
	out->nworkers = (uint16_t)n;
	return 0;
}
