/*
 * Packet I/O behind one interface. A driver (DPDK, AF_XDP or io_uring) is chosen once at start
 * from config; the worker loop then calls driver_rx_burst() / driver_release() / driver_tx_burst()
 * through its ops table, one indirect call per burst. A received packet is a view of the UDP
 * payload inside driver memory (an mbuf, a UMEM frame, a provided buffer): parsers read it in place
 * and hand it back with driver_release() once the burst is processed.
 */
#ifndef TRADSYS_DRIVER_H
#define TRADSYS_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum driver_kind {
	DRIVER_DPDK,
	DRIVER_XDP,
	DRIVER_URING,
	DRIVER_KINDS,
};

#define DRIVER_MAX_FLOWS 8
#define DRIVER_MAX_QUEUES 16

/* Feed traffic the driver takes: UDP to port, and to group when it is a multicast address
 * (joined on open). group 0 means any destination address. Addresses are in network order,
 * ports in host order. */
struct driver_flow {
	uint32_t group;
	uint16_t port;
};

struct driver_cfg {
	enum driver_kind kind;
	const char *ifname; /* xdp, uring: the interface; dpdk: the kernel name for logs */
	const char *dpdk_args; /* dpdk: EAL arguments, e.g. "--no-pci --vdev=net_ring0 ..." */
	uint16_t dpdk_port; /* dpdk: port id after probing (0 for a single vdev) */
	uint16_t queues; /* rx/tx queue pairs: one per worker */
	uint16_t ring_size; /* descriptors per rx and tx ring (power of two) */
	uint32_t bufs; /* mbufs / UMEM frames / provided buffers per queue */
	uint16_t buf_size; /* bytes per buffer: at least the largest frame */
	bool zero_copy; /* xdp: require zero-copy mode instead of falling back to copy */
	uint32_t local_ip; /* network order; source of tx and interface for joins (0: any) */
	uint16_t tx_src_port; /* host order; UDP source port of tx packets */
	uint8_t tx_dst_mac[6]; /* dpdk, xdp: next hop for tx frames (all zero: broadcast) */
	struct driver_flow flows[DRIVER_MAX_FLOWS];
	uint16_t nflows;
};

/* A received packet: its UDP payload, where it came from, and when. */
struct pkt {
	const uint8_t *data; /* UDP payload, in driver memory, valid until released */
	uint16_t len;
	uint16_t flow; /* index of the cfg.flows entry it matched */
	uint16_t src_port; /* host order */
	uint16_t pad;
	uint32_t src_ip; /* network order */
	uint32_t dst_ip; /* network order */
	uint64_t rx_tsc; /* TSC when the burst was taken off the device */
	uint64_t hw_ts_ns; /* NIC timestamp in ns, 0 when the device gives none */
	uintptr_t handle; /* the driver's buffer (mbuf, UMEM address, buffer id) */
};

/* A packet to send: a UDP payload and its destination (network-order address, host-order
 * port). Raw drivers build the Ethernet/IPv4/UDP headers around it. */
struct tx_pkt {
	const void *data;
	uint16_t len;
	uint16_t dst_port;
	uint32_t dst_ip;
};

/* Why a received frame was dropped before it reached the caller. */
enum driver_drop {
	DRIVER_DROP_NOT_UDP, /* not IPv4/UDP (ARP, IPv6, TCP ...) */
	DRIVER_DROP_MALFORMED, /* a header or length that does not add up */
	DRIVER_DROP_FRAGMENT, /* IPv4 fragment: feeds never fragment */
	DRIVER_DROP_NO_FLOW, /* UDP, but not to a configured flow */
	DRIVER_DROP_REASONS,
};

struct driver_stats {
	uint64_t rx_packets; /* handed to the caller */
	uint64_t rx_bytes; /* UDP payload bytes handed to the caller */
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_full; /* packets not sent: ring or buffers full */
	uint64_t rx_nobuf; /* device or kernel ran out of buffers (from its counters) */
	uint64_t drops[DRIVER_DROP_REASONS];
};

struct driver;

struct driver_ops {
	const char *name;
	/* Opens the device for cfg; fills d->err and returns -errno on failure. */
	int (*open)(struct driver *d);
	uint16_t (*rx_burst)(struct driver *d, uint16_t queue, struct pkt *pkts, uint16_t n);
	void (*release)(struct driver *d, uint16_t queue, const struct pkt *pkts, uint16_t n);
	uint16_t (*tx_burst)(struct driver *d, uint16_t queue, const struct tx_pkt *pkts,
			     uint16_t n);
	/* Sums the counters of every queue plus the device's own into out. */
	int (*stats)(struct driver *d, struct driver_stats *out);
	void (*close)(struct driver *d);
};

struct driver {
	const struct driver_ops *ops;
	struct driver_cfg cfg;
	void *priv;
	/* Per-queue counters, each on its own line: queue q is written only by its worker. */
	struct driver_queue_stats {
		_Alignas(64) struct driver_stats s;
	} qstats[DRIVER_MAX_QUEUES];
	char err[256];
};

/* Fills cfg with defaults: 1 queue, 1024 descriptors, 4096 buffers of 2048 bytes. */
void driver_cfg_default(struct driver_cfg *cfg, enum driver_kind kind);

/*
 * Opens the driver cfg->kind names. Returns the driver, or NULL with a message in err naming what
 * is wrong (no such interface, no hugepages, memlock too low, driver not built ...).
 */
struct driver *driver_open(const struct driver_cfg *cfg, char *err, size_t errlen);

/* Closes the device and frees the driver; NULL is a no-op. */
void driver_close(struct driver *d);

/* "dpdk", "xdp", "uring"; driver_kind_parse returns 0 or -EINVAL. */
const char *driver_kind_name(enum driver_kind kind);
int driver_kind_parse(const char *s, enum driver_kind *out);

/* Receives up to n packets from queue; returns how many. Each must be released. */
static inline uint16_t driver_rx_burst(struct driver *d, uint16_t queue, struct pkt *pkts,
				       uint16_t n)
{
	return d->ops->rx_burst(d, queue, pkts, n);
}

/* Gives received packets' buffers back to the device. */
static inline void driver_release(struct driver *d, uint16_t queue, const struct pkt *pkts,
				  uint16_t n)
{
	d->ops->release(d, queue, pkts, n);
}

/* Sends up to n packets on queue; returns how many were queued (the rest count as tx_full). */
static inline uint16_t driver_tx_burst(struct driver *d, uint16_t queue, const struct tx_pkt *pkts,
				       uint16_t n)
{
	return d->ops->tx_burst(d, queue, pkts, n);
}

/* Sums every queue's counters and the device's into out. Returns 0 or -errno. */
int driver_stats(struct driver *d, struct driver_stats *out);

/* Label of a drop reason ("not_udp", ...) for metrics. */
const char *driver_drop_name(enum driver_drop reason);

/* For backends: writes a printf-style message into d->err and returns rc (a -errno), so an
 * open() failure reads `return driver_fail(d, -ENODEV, "interface %s not found", name);`. */
int driver_fail(struct driver *d, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* For backends: adds every queue's d->qstats into out (the stats op then adds the device's). */
void driver_stats_sum_queues(const struct driver *d, struct driver_stats *out);

/* Backends; a backend that is not built leaves its symbol undefined (weak). */
extern const struct driver_ops driver_dpdk_ops __attribute__((weak));
extern const struct driver_ops driver_xdp_ops __attribute__((weak));
extern const struct driver_ops driver_uring_ops __attribute__((weak));

#endif
