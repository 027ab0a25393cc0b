/*
 * Frame classification and construction for the raw backends. This is per-packet code: no
 * allocation, no calls out, a few dozen instructions for a good frame.
 */
#include "net.h"

#include <errno.h>
#include <string.h>

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint16_t net_ip4_checksum(const uint8_t *hdr, size_t hlen)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < hlen; i += 2)
		sum += rd16(hdr + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int net_udp_classify(const uint8_t *frame, uint32_t len, const struct driver_cfg *cfg,
		     struct pkt *p, enum driver_drop *why)
{
	uint32_t off = NET_ETH_HLEN;
	uint16_t ethertype;

	if (len < NET_ETH_HLEN)
		goto malformed;
	ethertype = rd16(frame + 12);
	if (ethertype == 0x8100) {
		if (len < NET_ETH_HLEN + NET_VLAN_HLEN)
			goto malformed;
		ethertype = rd16(frame + 16);
		off += NET_VLAN_HLEN;
	}
	if (ethertype != 0x0800)
		goto not_udp;

	const uint8_t *ip = frame + off;
	uint32_t room = len - off;
	if (room < NET_IP4_HLEN || (ip[0] >> 4) != 4)
		goto malformed;
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	uint32_t total = rd16(ip + 2);
	/* Frames may carry Ethernet padding after the datagram, never less than it. */
	if (ihl < NET_IP4_HLEN || total < ihl || total > room)
		goto malformed;
	if (net_ip4_checksum(ip, ihl) != 0)
		goto malformed;
	if (ip[9] != 17)
		goto not_udp;
	if ((rd16(ip + 6) & 0x3fff) != 0) {
		*why = DRIVER_DROP_FRAGMENT;
		return -EINVAL;
	}

	/* The UDP header must lie inside the datagram before any of it is read. */
	if (total - ihl < NET_UDP_HLEN)
		goto malformed;
	const uint8_t *udp = ip + ihl;
	uint32_t udp_len = rd16(udp + 4);
	if (udp_len < NET_UDP_HLEN || udp_len > total - ihl)
		goto malformed;

	uint16_t dport = rd16(udp + 2);
	uint32_t dst;
	memcpy(&dst, ip + 16, 4);
	for (uint16_t f = 0; f < cfg->nflows; f++) {
		if (cfg->flows[f].port != dport ||
		    (cfg->flows[f].group && cfg->flows[f].group != dst))
			continue;
		p->data = udp + NET_UDP_HLEN;
		p->len = (uint16_t)(udp_len - NET_UDP_HLEN);
		p->flow = f;
		p->src_port = rd16(udp);
		memcpy(&p->src_ip, ip + 12, 4);
		p->dst_ip = dst;
		return 0;
	}
	*why = DRIVER_DROP_NO_FLOW;
	return -EINVAL;

not_udp:
	*why = DRIVER_DROP_NOT_UDP;
	return -EINVAL;
malformed:
	*why = DRIVER_DROP_MALFORMED;
	return -EINVAL;
}

size_t net_udp_build(uint8_t *out, size_t cap, const uint8_t src_mac[6], const uint8_t dst_mac[6],
		     uint32_t src_ip, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port,
		     const void *payload, size_t len)
{
	size_t frame = NET_UDP_FRAME_OVERHEAD + len;
	const uint8_t *d = (const uint8_t *)&dst_ip;

	if (len > 65507 || frame > cap)
		return 0;
	/* Ethernet: 224.0.0.0/4 maps to 01:00:5e plus the group's low 23 bits. */
	if ((d[0] & 0xf0) == 0xe0) {
		const uint8_t mc[6] = { 0x01, 0x00, 0x5e, (uint8_t)(d[1] & 0x7f), d[2], d[3] };
		memcpy(out, mc, 6);
	} else {
		memcpy(out, dst_mac, 6);
	}
	memcpy(out + 6, src_mac, 6);
	wr16(out + 12, 0x0800);

	uint8_t *ip = out + NET_ETH_HLEN;
	ip[0] = 0x45;
	ip[1] = 0;
	wr16(ip + 2, (uint16_t)(NET_IP4_HLEN + NET_UDP_HLEN + len));
	wr16(ip + 4, 0);
	wr16(ip + 6, 0x4000); /* don't fragment */
	ip[8] = (d[0] & 0xf0) == 0xe0 ? 32 : 64;
	ip[9] = 17;
	wr16(ip + 10, 0);
	memcpy(ip + 12, &src_ip, 4);
	memcpy(ip + 16, &dst_ip, 4);
	wr16(ip + 10, net_ip4_checksum(ip, NET_IP4_HLEN));

	uint8_t *udp = ip + NET_IP4_HLEN;
	wr16(udp, src_port);
	wr16(udp + 2, dst_port);
	wr16(udp + 4, (uint16_t)(NET_UDP_HLEN + len));
	wr16(udp + 6, 0); /* no UDP checksum: optional in IPv4, and the NIC verifies Ethernet CRC */
	memcpy(udp + NET_UDP_HLEN, payload, len);
	return frame;
}
