/*
 * The AF_XDP backend (driver_xdp_ops, chosen with kind "xdp") and its XDP filter program
 * feed_filter.bpf.c. This header is shared by both, libbpf-bootstrap style: the table sizes and
 * counter indexes are plain enums the BPF compiler also takes; the host-only part below reads
 * the filter's counters, which are not drops (the packets went on to the kernel stack) and so
 * are not in struct driver_stats.
 */
#ifndef TRADSYS_XDP_H
#define TRADSYS_XDP_H

#define XDP_FILTER_MAX_FLOWS 8 /* DRIVER_MAX_FLOWS */
#define XDP_FILTER_MAX_QUEUES 16 /* DRIVER_MAX_QUEUES */

/* Per-CPU counters of the filter, by index into its "counters" array map. */
enum xdp_filter_counter {
	XDP_FILTER_REDIRECTED, /* feed datagrams sent to an AF_XDP socket */
	XDP_FILTER_PASSED_NOT_UDP, /* ARP, IPv6, TCP, ICMP, runts: to the kernel */
	XDP_FILTER_PASSED_FRAGMENT, /* IPv4 fragments: to the kernel */
	XDP_FILTER_PASSED_NO_FLOW, /* UDP to no configured flow: to the kernel */
	XDP_FILTER_PASSED_NO_SOCKET, /* a feed datagram on a queue without a socket */
	XDP_FILTER_COUNTERS,
};

#ifndef __bpf__
#include <stdint.h>

#include "driver.h"

_Static_assert(XDP_FILTER_MAX_FLOWS == DRIVER_MAX_FLOWS, "one filter slot per flow");
_Static_assert(XDP_FILTER_MAX_QUEUES == DRIVER_MAX_QUEUES, "one XSKMAP slot per queue");

/*
 * Reads the filter program's counters of an open xdp driver, summed over CPUs, into
 * out[XDP_FILTER_COUNTERS]. Control-plane code (a map lookup, a syscall). Returns 0, -EINVAL if
 * d is not an xdp driver, or -errno from the map lookup.
 */
int xdp_filter_counters_read(struct driver *d, uint64_t out[XDP_FILTER_COUNTERS]);
#endif

#endif
