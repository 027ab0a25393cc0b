/*
 * Ethernet/IPv4/UDP framing for the raw backends (DPDK, AF_XDP), which see whole frames: classify
 * a received frame against the configured feed flows and point the packet view at its UDP
 * payload in place, and build frames around payloads for tx. Every length is checked before it
 * is used, so a frame can be any bytes at all.
 */
#ifndef TRADSYS_NET_H
#define TRADSYS_NET_H

#include <stddef.h>
#include <stdint.h>

#include "driver.h"

#define NET_ETH_HLEN 14
#define NET_VLAN_HLEN 4
#define NET_IP4_HLEN 20
#define NET_UDP_HLEN 8
#define NET_UDP_FRAME_OVERHEAD (NET_ETH_HLEN + NET_IP4_HLEN + NET_UDP_HLEN)

/*
 * Classifies frame[0..len): on a match with one of cfg's flows, fills p's data, len, flow, source
 * and destination (not rx_tsc or handle) and returns 0. Otherwise returns -EINVAL and sets *why:
 * not IPv4/UDP, malformed (bad lengths, IHL, checksum), an IPv4 fragment, or no matching flow.
 * VLAN-tagged (802.1Q) frames are accepted.
 */
int net_udp_classify(const uint8_t *frame, uint32_t len, const struct driver_cfg *cfg,
		     struct pkt *p, enum driver_drop *why);

/*
 * Writes an Ethernet/IPv4/UDP frame carrying payload into out (cap bytes). The destination MAC
 * is dst_mac, or the multicast MAC of dst_ip when dst_ip is a multicast address. Addresses in
 * network order, ports in host order. Returns the frame length, or 0 if it does not fit cap or
 * the payload exceeds 65507 bytes.
 */
size_t net_udp_build(uint8_t *out, size_t cap, const uint8_t src_mac[6], const uint8_t dst_mac[6],
		     uint32_t src_ip, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port,
		     const void *payload, size_t len);

/* The IPv4 header checksum (RFC 1071) over hlen bytes. */
uint16_t net_ip4_checksum(const uint8_t *hdr, size_t hlen);

#endif
