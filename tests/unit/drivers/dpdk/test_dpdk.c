/*
 * Description: the DPDK backend on real DPDK virtual devices: net_pcap replay (payloads in order,
 * drops counted by reason, tx frames written to a pcap), net_ring loopback on one and two queues,
 * net_af_packet and net_af_xdp on a veth pair in a network namespace the test creates, and the
 * errors for a bad vdev, no ports, a bad port id and a second EAL in one process.
 * Criterion forks every test, so each one initialises its own EAL.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpdk.h"
#include "driver.h"
#include "../test_netns.h"
#include "net.h"

#define PORT 5000
#define GROUP "239.1.2.3"
/* No hugepages needed: each test's EAL takes 256 MiB of ordinary memory. */
#define EAL_NOHUGE "--no-pci --no-huge -m 256 -l 0 --log-level=lib.eal:error"

/* Hugepage memory: the driver adds --in-memory, so nothing is left in hugetlbfs afterwards. */
#define EAL_HUGE "--no-pci -l 0 --log-level=lib.eal:error"

static const uint8_t src_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t group_mac[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };

/*
 * LeakSanitizer's hook for built-in suppressions. DPDK 22.11's net_af_xdp closes its AF_XDP socket
 * but the libxdp UMEM it made in xsk_umem__create (80 bytes) is never freed: a leak in the PMD,
 * once per port, not in this backend.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:xsk_umem__create\n";
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t ip4(const char *s)
{
	uint32_t a;
	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void cfg_init(struct driver_cfg *cfg, const char *args)
{
	driver_cfg_default(cfg, DRIVER_DPDK);
	cfg->dpdk_args = args;
	cfg->bufs = 1024;
	cfg->ring_size = 256;
	cfg->local_ip = ip4("10.0.0.1");
	cfg->nflows = 1;
	cfg->flows[0].group = ip4(GROUP);
	cfg->flows[0].port = PORT;
}

static struct driver *open_or_die(const struct driver_cfg *cfg)
{
	char err[256] = "";
	struct driver *d = driver_open(cfg, err, sizeof(err));
	cr_assert_not_null(d, "driver_open: %s", err);
	return d;
}

/* Payload i: "pay<i>" then i-dependent filler, so both order and content are checked. */
static uint16_t payload(uint8_t *buf, uint32_t i)
{
	uint16_t len = (uint16_t)(8 + (i * 37) % 300);
	int k = snprintf((char *)buf, 8, "pay%04u", i % 10000);
	for (uint16_t j = (uint16_t)k; j < len; j++)
		buf[j] = (uint8_t)(i + j);
	return len;
}

static void check_payload(const struct pkt *p, uint32_t i)
{
	uint8_t want[400];
	uint16_t len = payload(want, i);
	cr_assert_eq(p->len, len, "packet %u: length %u, want %u", i, p->len, len);
	cr_assert_eq(memcmp(p->data, want, len), 0, "packet %u: payload differs", i);
}

/* --- pcap files --------------------------------------------------------------------------- */

static void pcap_put32(FILE *f, uint32_t v)
{
	cr_assert_eq(fwrite(&v, 4, 1, f), 1);
}

static void pcap_write_header(FILE *f)
{
	pcap_put32(f, 0xa1b2c3d4);
	uint16_t ver[2] = { 2, 4 };
	cr_assert_eq(fwrite(ver, 2, 2, f), 2);
	pcap_put32(f, 0);
	pcap_put32(f, 0);
	pcap_put32(f, 65535);
	pcap_put32(f, 1); /* Ethernet */
}

static void pcap_write_frame(FILE *f, const uint8_t *frame, uint32_t len)
{
	pcap_put32(f, 1);
	pcap_put32(f, 0);
	pcap_put32(f, len);
	pcap_put32(f, len);
	cr_assert_eq(fwrite(frame, 1, len, f), len);
}

/* Reads every record of a pcap file into frames[]; returns the count. */
static int pcap_read(const char *path, uint8_t frames[][2048], uint32_t *lens, int max)
{
	FILE *f = fopen(path, "rb");
	uint8_t hdr[24], rec[16];
	int n = 0;

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fread(hdr, 1, 24, f), 24);
	while (n < max && fread(rec, 1, 16, f) == 16) {
		uint32_t len;
		memcpy(&len, rec + 8, 4);
		cr_assert_leq(len, 2048);
		cr_assert_eq(fread(frames[n], 1, len, f), len);
		lens[n++] = len;
	}
	fclose(f);
	return n;
}

static uint32_t udp_frame(uint8_t *out, uint32_t dst_ip, uint16_t port, uint32_t i)
{
	uint8_t pl[400];
	uint16_t len = payload(pl, i);
	size_t n = net_udp_build(out, 2048, src_mac, group_mac, ip4("10.9.9.9"), dst_ip, 4000, port,
				 pl, len);
	cr_assert_gt(n, 0);
	return (uint32_t)n;
}

static void ip_rechecksum(uint8_t *frame)
{
	uint8_t *ip = frame + NET_ETH_HLEN;
	ip[10] = ip[11] = 0;
	uint16_t c = net_ip4_checksum(ip, NET_IP4_HLEN);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

static char pcap_in[64], pcap_out[64];

static void pcap_files_remove(void)
{
	unlink(pcap_in);
	unlink(pcap_out);
}

Test(dpdk_pcap, replay_delivers_flow_payloads_in_order_and_counts_drops_by_reason, .timeout = 60,
     .fini = pcap_files_remove)
{
	char *in = pcap_in, *out = pcap_out, args[320];
	uint8_t f[2048];
	uint32_t n, group = ip4(GROUP);
	struct driver_cfg cfg;
	FILE *fp;

	snprintf(pcap_in, sizeof(pcap_in), "/tmp/tsdpdk-%d-in.pcap", (int)getpid());
	snprintf(pcap_out, sizeof(pcap_out), "/tmp/tsdpdk-%d-out.pcap", (int)getpid());
	fp = fopen(in, "wb");
	cr_assert_not_null(fp);
	pcap_write_header(fp);
	n = udp_frame(f, group, PORT, 0);
	pcap_write_frame(fp, f, n);
	/* ARP: not IPv4. */
	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, src_mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	pcap_write_frame(fp, f, 60);
	n = udp_frame(f, group, PORT, 1);
	pcap_write_frame(fp, f, n);
	/* TCP: IPv4 but not UDP. */
	n = udp_frame(f, group, PORT, 99);
	f[NET_ETH_HLEN + 9] = 6;
	ip_rechecksum(f);
	pcap_write_frame(fp, f, n);
	/* A first fragment (more-fragments set). */
	n = udp_frame(f, group, PORT, 98);
	f[NET_ETH_HLEN + 6] |= 0x20;
	ip_rechecksum(f);
	pcap_write_frame(fp, f, n);
	/* UDP to a port no flow takes. */
	n = udp_frame(f, group, PORT + 1, 97);
	pcap_write_frame(fp, f, n);
	/* IPv4 cut off inside its header. */
	n = udp_frame(f, group, PORT, 96);
	pcap_write_frame(fp, f, NET_ETH_HLEN + 10);
	n = udp_frame(f, group, PORT, 2);
	pcap_write_frame(fp, f, n);
	fclose(fp);

	snprintf(args, sizeof(args), EAL_NOHUGE " --vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s", in, out);
	cfg_init(&cfg, args);
	struct driver *d = open_or_die(&cfg);

	struct pkt pk[8];
	uint32_t got = 0, bytes = 0;
	for (int tries = 0; tries < 1000 && got < 3; tries++) {
		uint16_t k = driver_rx_burst(d, 0, pk, 8);
		for (uint16_t i = 0; i < k; i++) {
			check_payload(&pk[i], got + i);
			cr_assert_eq(pk[i].flow, 0);
			cr_assert_eq(pk[i].dst_ip, group);
			cr_assert_eq(pk[i].src_ip, ip4("10.9.9.9"));
			cr_assert_eq(pk[i].src_port, 4000);
			cr_assert_neq(pk[i].rx_tsc, 0);
			/* net_pcap in 22.11 offers no RX_OFFLOAD_TIMESTAMP capability. */
			cr_assert_eq(pk[i].hw_ts_ns, 0);
			cr_assert_neq(pk[i].handle, 0);
			bytes += pk[i].len;
		}
		driver_release(d, 0, pk, k);
		got += k;
	}
	cr_assert_eq(got, 3);

	struct driver_stats st;
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.rx_packets, 3);
	cr_assert_eq(st.rx_bytes, bytes);
	cr_assert_eq(st.drops[DRIVER_DROP_NOT_UDP], 2);
	cr_assert_eq(st.drops[DRIVER_DROP_FRAGMENT], 1);
	cr_assert_eq(st.drops[DRIVER_DROP_NO_FLOW], 1);
	cr_assert_eq(st.drops[DRIVER_DROP_MALFORMED], 1);
	cr_assert_eq(st.rx_nobuf, 0);

	/* tx: three payloads to the group, written by the PMD to the tx pcap. */
	uint8_t pl[3][400];
	struct tx_pkt tx[3];
	for (uint32_t i = 0; i < 3; i++) {
		tx[i].data = pl[i];
		tx[i].len = payload(pl[i], 10 + i);
		tx[i].dst_ip = group;
		tx[i].dst_port = PORT;
	}
	cr_assert_eq(driver_tx_burst(d, 0, tx, 3), 3);
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.tx_packets, 3);
	cr_assert_eq(st.tx_bytes, (uint64_t)tx[0].len + tx[1].len + tx[2].len);
	cr_assert_eq(st.tx_full, 0);
	driver_close(d);

	static uint8_t frames[8][2048];
	uint32_t lens[8];
	int nf = pcap_read(out, frames, lens, 8);
	cr_assert_eq(nf, 3);
	for (int i = 0; i < nf; i++) {
		struct pkt p;
		enum driver_drop why;
		cr_assert_eq(lens[i], NET_UDP_FRAME_OVERHEAD + tx[i].len);
		cr_assert_eq(memcmp(frames[i], group_mac, 6), 0, "frame %d: not to the group MAC",
			     i);
		cr_assert_eq(net_udp_classify(frames[i], lens[i], &cfg, &p, &why), 0,
			     "frame %d: dropped as %d", i, why);
		check_payload(&p, 10 + (uint32_t)i);
		cr_assert_eq(p.src_ip, cfg.local_ip);
		cr_assert_eq(p.src_port, cfg.tx_src_port);
	}
}

/* --- net_ring: its tx rings are its rx rings, so what goes out comes back --------------- */

static void ring_roundtrip(struct driver *d, uint16_t q, uint32_t first, uint32_t count)
{
	uint8_t pl[32][400];
	struct tx_pkt tx[32];
	struct pkt pk[32];
	uint32_t group = ip4(GROUP);

	cr_assert_leq(count, 32);
	for (uint32_t i = 0; i < count; i++) {
		tx[i].data = pl[i];
		tx[i].len = payload(pl[i], first + i);
		tx[i].dst_ip = group;
		tx[i].dst_port = PORT;
	}
	cr_assert_eq(driver_tx_burst(d, q, tx, (uint16_t)count), count);
	uint32_t got = 0;
	for (int tries = 0; tries < 100 && got < count; tries++) {
		uint16_t k = driver_rx_burst(d, q, pk, 32);
		for (uint16_t i = 0; i < k; i++) {
			check_payload(&pk[i], first + got + i);
			cr_assert_eq(pk[i].src_ip, d->cfg.local_ip);
			cr_assert_eq(pk[i].src_port, d->cfg.tx_src_port);
			cr_assert_eq(pk[i].dst_ip, group);
		}
		driver_release(d, q, pk, k);
		got += k;
	}
	cr_assert_eq(got, count);
}

Test(dpdk_ring, payloads_sent_come_back_in_order, .timeout = 60)
{
	struct driver_cfg cfg;
	struct driver_stats st;

	cfg_init(&cfg, EAL_NOHUGE " --vdev=net_ring0");
	struct driver *d = open_or_die(&cfg);
	for (uint32_t round = 0; round < 50; round++)
		ring_roundtrip(d, 0, round * 32, 32);
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.tx_packets, 1600);
	cr_assert_eq(st.rx_packets, 1600);
	cr_assert_eq(st.tx_bytes, st.rx_bytes);
	cr_assert_eq(st.drops[DRIVER_DROP_NO_FLOW] + st.drops[DRIVER_DROP_NOT_UDP] +
			     st.drops[DRIVER_DROP_MALFORMED] + st.drops[DRIVER_DROP_FRAGMENT],
		     0);
	driver_close(d);
}

Test(dpdk_ring, two_queues_are_independent, .timeout = 60)
{
	struct driver_cfg cfg;
	struct pkt pk[4];

	cfg_init(&cfg, EAL_NOHUGE " --vdev=net_ring0");
	cfg.queues = 2;
	struct driver *d = open_or_die(&cfg);
	ring_roundtrip(d, 1, 100, 5);
	cr_assert_eq(driver_rx_burst(d, 0, pk, 4), 0);
	ring_roundtrip(d, 0, 200, 7);
	cr_assert_eq(driver_rx_burst(d, 1, pk, 4), 0);
	cr_assert_eq(d->qstats[0].s.rx_packets, 7);
	cr_assert_eq(d->qstats[1].s.rx_packets, 5);
	driver_close(d);
}

Test(dpdk_ring, unsent_packets_count_as_tx_full_and_mbufs_are_recycled, .timeout = 60)
{
	struct driver_cfg cfg;
	struct driver_stats st;
	struct tx_pkt tx[32];
	struct pkt pk[32];
	uint8_t pl[400];
	uint16_t len = payload(pl, 0);
	uint64_t sent = 0;

	/* 64 mbufs: the ring (1024 slots) holds more than the pool, so the pool runs dry. */
	cfg_init(&cfg, EAL_NOHUGE " --vdev=net_ring0");
	cfg.bufs = 64;
	struct driver *d = open_or_die(&cfg);
	for (int i = 0; i < 32; i++)
		tx[i] = (struct tx_pkt){
			.data = pl, .len = len, .dst_ip = ip4(GROUP), .dst_port = PORT
		};
	for (int r = 0; r < 4; r++)
		sent += driver_tx_burst(d, 0, tx, 32);
	cr_assert_eq(sent, 64);
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.tx_full, 128 - 64);
	cr_assert_eq(st.tx_packets, 64);
	/* Draining the ring gives every mbuf back, and sending works again. */
	uint32_t got = 0;
	for (int tries = 0; tries < 100 && got < 64; tries++) {
		uint16_t k = driver_rx_burst(d, 0, pk, 32);
		driver_release(d, 0, pk, k);
		got += k;
	}
	cr_assert_eq(got, 64);
	cr_assert_eq(driver_tx_burst(d, 0, tx, 32), 32);
	driver_close(d);
}

static void count_xstat(void *ctx, const char *name, uint64_t value)
{
	(void)value;
	if (name[0])
		(*(int *)ctx)++;
}

Test(dpdk_ring, xstats_and_link_are_reported, .timeout = 60)
{
	struct driver_cfg cfg;
	struct driver_dpdk_link link;
	int names = 0;

	cfg_init(&cfg, EAL_NOHUGE " --vdev=net_ring0");
	struct driver *d = open_or_die(&cfg);
	ring_roundtrip(d, 0, 0, 4);
	cr_assert_eq(driver_dpdk_xstats(d, count_xstat, &names), 0);
	/* Every ethdev has at least the generic rx_good_packets ... counters. */
	cr_assert_geq(names, 4);
	cr_assert_eq(driver_dpdk_link(d, &link), 0);
	cr_assert(link.up, "a started net_ring port reports its link up");
	driver_close(d);
}

Test(dpdk_ring, hugepage_memory_in_memory_mode_leaves_no_files, .timeout = 60)
{
	struct driver_cfg cfg;
	char path[64];

	if (access("/dev/hugepages", W_OK) != 0)
		cr_skip_test("no hugetlbfs at /dev/hugepages: run scripts/bootstrap");
	cfg_init(&cfg, EAL_HUGE " --vdev=net_ring0");
	struct driver *d = open_or_die(&cfg);
	ring_roundtrip(d, 0, 0, 32);
	driver_close(d);
	/* The default prefix is tradsys-<pid>-0; --in-memory must not have made its files. */
	snprintf(path, sizeof(path), "/dev/hugepages/tradsys-%d-0map_0", (int)getpid());
	cr_assert_neq(access(path, F_OK), 0, "%s exists", path);
	snprintf(path, sizeof(path), "/var/run/dpdk/tradsys-%d-0", (int)getpid());
	cr_assert_neq(access(path, F_OK), 0, "%s exists", path);
}

/* --- errors -------------------------------------------------------------------------------- */

static void open_fails_with(const struct driver_cfg *cfg, const char *text)
{
	char err[256] = "";
	struct driver *d = driver_open(cfg, err, sizeof(err));
	cr_assert_null(d, "driver_open succeeded, expected \"%s\"", text);
	cr_assert_not_null(strstr(err, text), "error \"%s\" does not say \"%s\"", err, text);
}

Test(dpdk_errors, no_ports_is_named, .timeout = 60)
{
	struct driver_cfg cfg;
	cfg_init(&cfg, EAL_NOHUGE);
	open_fails_with(&cfg, "no DPDK ports: check --vdev/--allow");
}

Test(dpdk_errors, unknown_vdev_fails_eal_init_with_a_hint, .timeout = 60)
{
	struct driver_cfg cfg;
	cfg_init(&cfg, EAL_NOHUGE " --vdev=net_nosuchpmd0");
	char err[256] = "";
	cr_assert_null(driver_open(&cfg, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "EAL init failed: "), "error: %s", err);
	cr_assert_not_null(strstr(err, "net_nosuchpmd0"), "error: %s", err);
	cr_assert_not_null(strstr(err, "hugepages"), "error: %s", err);
}

Test(dpdk_errors, port_id_beyond_the_probed_ports_is_named, .timeout = 60)
{
	struct driver_cfg cfg;
	cfg_init(&cfg, EAL_NOHUGE " --vdev=net_ring0");
	cfg.dpdk_port = 5;
	open_fails_with(&cfg, "dpdk_port 5 does not exist: 1 ports probed");
}

Test(dpdk_errors, second_eal_in_one_process_is_refused, .timeout = 60)
{
	struct driver_cfg cfg;
	cfg_init(&cfg, EAL_NOHUGE " --vdev=net_ring0");
	driver_close(open_or_die(&cfg));
	open_fails_with(&cfg, "already initialised in this process");
}

Test(dpdk_errors, too_many_queues_for_the_device_are_named, .timeout = 60)
{
	struct driver_cfg cfg;
	cfg_init(&cfg, EAL_NOHUGE " --vdev=net_pcap0,iface=lo");
	cfg.queues = 2;
	open_fails_with(&cfg, "2 queues asked, the device has 1 rx and 1 tx");
}

/* --- net_af_packet and net_af_xdp over a veth pair in a namespace -------------------------- */

static struct test_netns net;

static void netns_teardown(void)
{
	test_netns_down(&net);
}

static void netns_setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to create a network namespace and a veth pair");
	int rc = test_netns_up(&net, "tsd", 160);
	if (rc == -1)
		cr_skip_test("cannot create a network namespace here (ip netns add failed)");
	cr_assert_eq(rc, 0, "cannot set up veth %s in namespace %s", net.host_if, net.ns);
}

/* Waits (bounded) until the host end of the veth is up: a veth drops what is sent earlier. */
static void wait_veth_up(void)
{
	char path[64], oper[16] = "";
	uint64_t deadline = now_ns() + 10000000000ull;

	snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", net.host_if);
	while (strcmp(oper, "up\n") != 0 && now_ns() < deadline) {
		FILE *f = fopen(path, "r");
		cr_assert_not_null(f);
		if (!fgets(oper, sizeof(oper), f))
			oper[0] = 0;
		fclose(f);
		usleep(10000);
	}
	cr_assert_str_eq(oper, "up\n");
}

/* In a child moved into the namespace: payloads first..first+count to the group, out of b. */
static void send_from_netns(uint32_t count)
{
	struct in_addr ifaddr = { .s_addr = net.ns_ip };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	uint8_t buf[400];
	int fd;

	if (test_netns_enter(&net) != 0)
		_exit(2);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifaddr, sizeof(ifaddr)))
		_exit(3);
	inet_pton(AF_INET, GROUP, &to.sin_addr);
	for (uint32_t i = 0; i < count; i++) {
		uint16_t len = payload(buf, i);
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) != len)
			_exit(4);
	}
	_exit(0);
}

static void veth_receive(struct driver *d, uint32_t count)
{
	struct pkt pk[32];
	uint32_t got = 0;
	int status;

	wait_veth_up();
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0)
		send_from_netns(count);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sender failed: status %d",
		  status);
	uint64_t deadline = now_ns() + 10000000000ull;
	while (got < count && now_ns() < deadline) {
		uint16_t k = driver_rx_burst(d, 0, pk, 32);
		for (uint16_t i = 0; i < k; i++) {
			check_payload(&pk[i], got + i);
			cr_assert_eq(pk[i].src_ip, net.ns_ip);
			cr_assert_eq(pk[i].dst_ip, ip4(GROUP));
			cr_assert_eq(pk[i].flow, 0);
		}
		driver_release(d, 0, pk, k);
		got += k;
	}
	cr_assert_eq(got, count);
	struct driver_stats st;
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.rx_packets, count);
}

Test(dpdk_veth, af_packet_receives_multicast_sent_from_the_namespace_in_order, .init = netns_setup,
     .fini = netns_teardown, .timeout = 60)
{
	char args[256];
	struct driver_cfg cfg;

	snprintf(args, sizeof(args), EAL_NOHUGE " --vdev=net_af_packet0,iface=%s", net.host_if);
	cfg_init(&cfg, args);
	cfg.ifname = net.host_if;
	cfg.local_ip = net.host_ip;
	struct driver *d = open_or_die(&cfg);
	veth_receive(d, 200);
	driver_close(d);
}

Test(dpdk_veth, af_xdp_receives_multicast_sent_from_the_namespace_in_order, .init = netns_setup,
     .fini = netns_teardown, .timeout = 60)
{
	char args[256], err[256] = "";
	struct driver_cfg cfg;

	snprintf(args, sizeof(args), EAL_NOHUGE " --vdev=net_af_xdp0,iface=%s,start_queue=0",
		 net.host_if);
	cfg_init(&cfg, args);
	cfg.ifname = net.host_if;
	cfg.local_ip = net.host_ip;
	/* With 1024 mbufs the PMD cannot fill its fill ring at set-up (dpdk.h). */
	cfg.bufs = 4096;
	struct driver *d = driver_open(&cfg, err, sizeof(err));
	cr_assert_not_null(d, "driver_open: %s", err);
	veth_receive(d, 200);
	driver_close(d);
}
