/*
 * XDP filter of the AF_XDP backend: feed datagrams (IPv4/UDP to a configured port, and to the
 * configured group when that is non-zero) are redirected to the AF_XDP socket of the receiving
 * queue; everything else (ARP, IPv6, TCP sessions, SSH, other UDP, fragments) goes on to the
 * kernel stack untouched. The flows are `const volatile` globals the loader sets before load, so
 * the verifier sees them as constants and the per-packet loop is a few compares.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp.h"

/* Set by the loader between open and load; groups in network order, ports in host order. */
const volatile __u32 flow_group[XDP_FILTER_MAX_FLOWS] = {};
const volatile __u16 flow_port[XDP_FILTER_MAX_FLOWS] = {};
const volatile __u32 nflows = 0;

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XDP_FILTER_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_FILTER_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

static __always_inline int count(__u32 what, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &what);

	if (c)
		*c += 1;
	return verdict;
}

SEC("xdp")
int feed_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u16 proto;
	void *l3;

	if ((void *)(eth + 1) > end)
		return count(XDP_FILTER_PASSED_NOT_UDP, XDP_PASS);
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vlan = l3;

		if ((void *)(vlan + 1) > end)
			return count(XDP_FILTER_PASSED_NOT_UDP, XDP_PASS);
		proto = vlan->proto;
		l3 = vlan + 1;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return count(XDP_FILTER_PASSED_NOT_UDP, XDP_PASS);

	struct iphdr *ip = l3;
	if ((void *)(ip + 1) > end)
		return count(XDP_FILTER_PASSED_NOT_UDP, XDP_PASS);
	if (ip->protocol != IPPROTO_UDP || ip->ihl < 5)
		return count(XDP_FILTER_PASSED_NOT_UDP, XDP_PASS);
	/* Fragments go to the kernel, which reassembles them; feeds never fragment. */
	if (ip->frag_off & bpf_htons(0x3fff))
		return count(XDP_FILTER_PASSED_FRAGMENT, XDP_PASS);

	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end)
		return count(XDP_FILTER_PASSED_NOT_UDP, XDP_PASS);

	__u16 dport = bpf_ntohs(udp->dest);
	__u32 daddr = ip->daddr;
	/* A map key must live on the stack, not in the context. */
	__u32 queue = ctx->rx_queue_index;
	for (__u32 f = 0; f < XDP_FILTER_MAX_FLOWS; f++) {
		if (f >= nflows)
			break;
		if (flow_port[f] != dport || (flow_group[f] != 0 && flow_group[f] != daddr))
			continue;
		/* A queue without a socket falls back to the kernel rather than dropping. */
		if (bpf_map_lookup_elem(&xsks, &queue))
			return count(XDP_FILTER_REDIRECTED,
				     bpf_redirect_map(&xsks, queue, XDP_PASS));
		return count(XDP_FILTER_PASSED_NO_SOCKET, XDP_PASS);
	}
	return count(XDP_FILTER_PASSED_NO_FLOW, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
