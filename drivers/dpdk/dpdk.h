/*
 * The DPDK backend's own API beyond struct driver_ops: the device's extended counters (xstats) and
 * its link state. Everything else goes through driver.h with cfg.kind = DRIVER_DPDK.
 *
 * The EAL can be initialised only once per process (DPDK keeps global state that
 * rte_eal_cleanup() does not reset), so a process opens at most one dpdk driver in its lifetime;
 * a second driver_open() of kind dpdk fails with a message saying so, even after driver_close().
 *
 * Unless dpdk_args say otherwise, open() adds a unique --file-prefix, --in-memory (--no-shconf
 * with --no-huge, which refuses --in-memory), --no-telemetry and -l <first CPU the caller may
 * use>, and gives the calling thread its CPU set back after rte_eal_init() pinned it. net_af_xdp
 * fills its fill ring from the queue's mempool at set-up: with cfg.bufs = 1024 that fails ("Failed
 * to get enough buffers for fq"), with 4096 it works.
 * Hardware timestamps (pkt.hw_ts_ns) come from devices offering RTE_ETH_RX_OFFLOAD_TIMESTAMP;
 * their unit is the device's. net_pcap in DPDK 22.11 does not offer it.
 */
#ifndef TRADSYS_DRIVERS_DPDK_H
#define TRADSYS_DRIVERS_DPDK_H

#include <stdbool.h>
#include <stdint.h>

#include "driver.h"

/* A device's link as read at open time and by driver_dpdk_link(). */
struct driver_dpdk_link {
	bool up;
	bool full_duplex;
	uint32_t speed_mbps; /* 0 when the device does not know (virtual devices) */
};

/*
 * Calls cb(ctx, name, value) once for every extended counter of d's port, in the device's order.
 * Not for the hot path: it allocates and calls into the PMD. d must be an open dpdk driver.
 * Returns 0, -EINVAL if d is not a dpdk driver, -ENOMEM, or the PMD's -errno.
 */
int driver_dpdk_xstats(struct driver *d, void (*cb)(void *ctx, const char *name, uint64_t value),
		       void *ctx);

/*
 * Reads d's link status now (without waiting for negotiation) into out. Returns 0, -EINVAL if d
 * is not a dpdk driver, or the PMD's -errno.
 */
int driver_dpdk_link(struct driver *d, struct driver_dpdk_link *out);

#endif
