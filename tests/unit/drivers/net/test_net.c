/*
 * Description: classifying Ethernet/IPv4/UDP frames against the feed flows, each drop reason, and
 * frames built by net_udp_build() round-tripping through the classifier.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 1 };
static const uint8_t dst_mac[6] = { 0x02, 0, 0, 0, 0, 2 };

static struct driver_cfg cfg_two_flows(void)
{
	struct driver_cfg c;
	driver_cfg_default(&c, DRIVER_URING);
	c.flows[0] = (struct driver_flow){ inet_addr("239.1.1.1"), 26400 };
	c.flows[1] = (struct driver_flow){ 0, 26401 };
	c.nflows = 2;
	return c;
}

static size_t build(uint8_t *f, const char *dst, uint16_t dport, const char *payload)
{
	return net_udp_build(f, 2048, src_mac, dst_mac, inet_addr("10.0.0.1"), inet_addr(dst), 5000,
			     dport, payload, strlen(payload));
}

Test(net, multicast_frame_to_a_flow_points_at_its_payload)
{
	struct driver_cfg c = cfg_two_flows();
	uint8_t f[2048];
	struct pkt p = { 0 };
	enum driver_drop why;
	size_t n = build(f, "239.1.1.1", 26400, "ITCH-PAYLOAD");

	cr_assert_eq(n, 42 + 12);
	cr_assert_eq(f[0], 0x01);
	cr_assert_eq(f[2], 0x5e);
	cr_assert_eq(f[5], 1, "multicast MAC from the group's low bits");
	cr_assert_eq(net_udp_classify(f, (uint32_t)n, &c, &p, &why), 0);
	cr_assert_eq(p.flow, 0);
	cr_assert_eq(p.len, 12);
	cr_assert_eq(p.data, f + 42, "a view into the frame, not a copy");
	cr_assert_arr_eq(p.data, "ITCH-PAYLOAD", 12);
	cr_assert_eq(p.src_ip, inet_addr("10.0.0.1"));
	cr_assert_eq(p.src_port, 5000);
	cr_assert_eq(p.dst_ip, inet_addr("239.1.1.1"));
}

Test(net, any_destination_flow_matches_on_port_alone)
{
	struct driver_cfg c = cfg_two_flows();
	uint8_t f[2048];
	struct pkt p = { 0 };
	enum driver_drop why;
	size_t n = build(f, "10.0.0.2", 26401, "x");
	cr_assert_eq(net_udp_classify(f, (uint32_t)n, &c, &p, &why), 0);
	cr_assert_eq(p.flow, 1);
	cr_assert_arr_eq(f, dst_mac, 6, "unicast uses the given MAC");
}

Test(net, wrong_group_or_port_is_no_flow)
{
	struct driver_cfg c = cfg_two_flows();
	uint8_t f[2048];
	struct pkt p;
	enum driver_drop why = DRIVER_DROP_REASONS;
	size_t n = build(f, "239.1.1.2", 26400, "x");
	cr_assert_eq(net_udp_classify(f, (uint32_t)n, &c, &p, &why), -EINVAL);
	cr_assert_eq(why, DRIVER_DROP_NO_FLOW);
	n = build(f, "239.1.1.1", 9999, "x");
	cr_assert_eq(net_udp_classify(f, (uint32_t)n, &c, &p, &why), -EINVAL);
	cr_assert_eq(why, DRIVER_DROP_NO_FLOW);
}

Test(net, arp_and_tcp_are_not_udp)
{
	struct driver_cfg c = cfg_two_flows();
	uint8_t f[2048];
	struct pkt p;
	enum driver_drop why;
	size_t n = build(f, "239.1.1.1", 26400, "payload");

	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	cr_assert_eq(net_udp_classify(f, (uint32_t)n, &c, &p, &why), -EINVAL);
	cr_assert_eq(why, DRIVER_DROP_NOT_UDP);

	n = build(f, "239.1.1.1", 26400, "payload");
	f[14 + 9] = 6; /* TCP: fix the checksum so only the protocol differs */
	f[14 + 10] = f[14 + 11] = 0;
	uint16_t ck = net_ip4_checksum(f + 14, 20);
	f[14 + 10] = (uint8_t)(ck >> 8);
	f[14 + 11] = (uint8_t)ck;
	cr_assert_eq(net_udp_classify(f, (uint32_t)n, &c, &p, &why), -EINVAL);
	cr_assert_eq(why, DRIVER_DROP_NOT_UDP);
}

Test(net, vlan_tagged_frame_is_accepted)
{
	struct driver_cfg c = cfg_two_flows();
	uint8_t plain[2048], f[2048];
	struct pkt p;
	enum driver_drop why;
	size_t n = build(plain, "239.1.1.1", 26400, "tagged");

	memcpy(f, plain, 12);
	f[12] = 0x81;
	f[13] = 0x00;
	f[14] = 0x00;
	f[15] = 0x64;
	memcpy(f + 16, plain + 12, n - 12);
	cr_assert_eq(net_udp_classify(f, (uint32_t)n + 4, &c, &p, &why), 0);
	cr_assert_arr_eq(p.data, "tagged", 6);
}

Test(net, truncation_at_every_length_is_malformed_never_an_overread)
{
	struct driver_cfg c = cfg_two_flows();
	uint8_t f[2048];
	struct pkt p;
	enum driver_drop why;
	size_t n = build(f, "239.1.1.1", 26400, "0123456789");

	for (size_t len = 0; len < n; len++) {
		/* Copy into an exact-size heap buffer so ASan catches any read past len. */
		uint8_t *cut = malloc(len ? len : 1);
		memcpy(cut, f, len);
		cr_assert_eq(net_udp_classify(cut, (uint32_t)len, &c, &p, &why), -EINVAL, "len %zu",
			     len);
		cr_assert_eq(why, DRIVER_DROP_MALFORMED, "len %zu", len);
		free(cut);
	}
}

Test(net, bad_checksum_ihl_and_udp_length_are_malformed)
{
	struct driver_cfg c = cfg_two_flows();
	uint8_t f[2048];
	struct pkt p;
	enum driver_drop why;
	size_t n = build(f, "239.1.1.1", 26400, "0123456789");

	f[14 + 8] ^= 1; /* TTL changes, checksum does not */
	cr_assert_eq(net_udp_classify(f, (uint32_t)n, &c, &p, &why), -EINVAL);
	cr_assert_eq(why, DRIVER_DROP_MALFORMED);

	n = build(f, "239.1.1.1", 26400, "0123456789");
	f[14 + 20 + 4] = 0x7f; /* UDP length beyond the datagram */
	cr_assert_eq(net_udp_classify(f, (uint32_t)n, &c, &p, &why), -EINVAL);
	cr_assert_eq(why, DRIVER_DROP_MALFORMED);
}

/* Found by fuzz_net: an IPv4 datagram that ends with its header, at the end of the frame. */
Test(net, datagram_too_short_for_a_udp_header_is_malformed_without_reading_past_it)
{
	struct driver_cfg c = cfg_two_flows();
	uint8_t f[2048];
	struct pkt p;
	enum driver_drop why;
	build(f, "239.1.1.1", 26400, "0123456789");

	f[14 + 2] = 0;
	f[14 + 3] = 20; /* total length: the IP header alone */
	f[14 + 10] = f[14 + 11] = 0;
	uint16_t ck = net_ip4_checksum(f + 14, 20);
	f[14 + 10] = (uint8_t)(ck >> 8);
	f[14 + 11] = (uint8_t)ck;
	uint8_t *cut = malloc(34);
	memcpy(cut, f, 34);
	cr_assert_eq(net_udp_classify(cut, 34, &c, &p, &why), -EINVAL);
	cr_assert_eq(why, DRIVER_DROP_MALFORMED);
	free(cut);
}

Test(net, fragments_are_dropped_as_fragments)
{
	struct driver_cfg c = cfg_two_flows();
	uint8_t f[2048];
	struct pkt p;
	enum driver_drop why;
	size_t n = build(f, "239.1.1.1", 26400, "frag");

	f[14 + 6] = 0x20; /* more fragments */
	f[14 + 10] = f[14 + 11] = 0;
	uint16_t ck = net_ip4_checksum(f + 14, 20);
	f[14 + 10] = (uint8_t)(ck >> 8);
	f[14 + 11] = (uint8_t)ck;
	cr_assert_eq(net_udp_classify(f, (uint32_t)n, &c, &p, &why), -EINVAL);
	cr_assert_eq(why, DRIVER_DROP_FRAGMENT);
}

Test(net, ethernet_padding_after_the_datagram_is_ignored)
{
	struct driver_cfg c = cfg_two_flows();
	uint8_t f[2048];
	struct pkt p;
	enum driver_drop why;
	size_t n = build(f, "239.1.1.1", 26400, "ab");
	memset(f + n, 0, 16); /* padded to the 60-byte minimum */
	cr_assert_eq(net_udp_classify(f, 60, &c, &p, &why), 0);
	cr_assert_eq(p.len, 2);
}

Test(net, build_refuses_what_does_not_fit)
{
	uint8_t f[64];
	static const uint8_t payload[32] = { 0 };
	cr_assert_eq(net_udp_build(f, sizeof(f), src_mac, dst_mac, 0, 0, 1, 2, payload, 23), 0);
	cr_assert_eq(net_udp_build(f, sizeof(f), src_mac, dst_mac, 0, 0, 1, 2, payload, 22), 64);
}

Test(net, kind_and_drop_names)
{
	enum driver_kind k;
	cr_assert_eq(driver_kind_parse("xdp", &k), 0);
	cr_assert_eq(k, DRIVER_XDP);
	cr_assert_eq(driver_kind_parse("netmap", &k), -EINVAL);
	cr_assert_str_eq(driver_drop_name(DRIVER_DROP_NO_FLOW), "no_flow");
}
