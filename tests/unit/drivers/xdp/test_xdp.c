/*
 * Description: the AF_XDP backend on a veth pair whose far end sits in a network namespace the
 * test creates (names and a /30 derived from the pid) and deletes in the fini, also on failure.
 * Feed datagrams (unicast and multicast) arrive through the socket intact and in order; other
 * UDP, ping and TCP still reach the kernel; the program goes away on close and on SIGKILL; a
 * leftover netlink-attached program is replaced; a missing interface is reported; tx works.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "driver.h"
#include "xdp/xdp.h"

#define FEED_PORT 31001
#define MCAST_PORT 31002
#define OTHER_PORT 31003
#define TCP_PORT 31004
#define NS_PORT 31005

/* The pair of this test process: host side "tsx<pid>a", namespace side "tsx<pid>b". */
static struct {
	bool ready;
	char ns[32], host_if[IFNAMSIZ], ns_if[IFNAMSIZ], ns_path[64];
	uint32_t host_ip, ns_ip, group; /* network order */
	uint8_t ns_mac[6];
} env;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void setup(void)
{
	unsigned pid = (unsigned)getpid();
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	if (geteuid() != 0)
		return;
	snprintf(env.ns, sizeof(env.ns), "tsx%un", pid);
	snprintf(env.host_if, sizeof(env.host_if), "tsx%ua", pid);
	snprintf(env.ns_if, sizeof(env.ns_if), "tsx%ub", pid);
	snprintf(env.ns_path, sizeof(env.ns_path), "/var/run/netns/%s", env.ns);
	/* 10.128-255.y.z/30, unique for pids below 2^21. */
	uint32_t base = (10u << 24) | ((128u + ((pid >> 14) & 0x7f)) << 16) |
			(((pid >> 6) & 0xff) << 8) | ((pid & 0x3f) << 2);
	env.host_ip = htonl(base + 1);
	env.ns_ip = htonl(base + 2);
	env.group = htonl((239u << 24) | (77u << 16) | (pid & 0xffff));
	inet_ntop(AF_INET, &env.host_ip, a, sizeof(a));
	inet_ntop(AF_INET, &env.ns_ip, b, sizeof(b));
	if (sh("ip netns add %s", env.ns) ||
	    sh("ip link add %s type veth peer name %s", env.host_if, env.ns_if) ||
	    sh("ip link set %s netns %s", env.ns_if, env.ns) ||
	    sh("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1", env.host_if) ||
	    sh("ip addr add %s/30 dev %s && ip link set %s up", a, env.host_if, env.host_if) ||
	    sh("ip netns exec %s sh -c 'sysctl -qw net.ipv6.conf.%s.disable_ipv6=1 && "
	       "ip addr add %s/30 dev %s && ip link set %s up && ip link set lo up && "
	       "ip route add 224.0.0.0/4 dev %s'",
	       env.ns, env.ns_if, b, env.ns_if, env.ns_if, env.ns_if))
		return;
	char path[96];
	snprintf(path, sizeof(path), "ip netns exec %s cat /sys/class/net/%s/address", env.ns,
		 env.ns_if);
	FILE *f = popen(path, "r");
	if (!f)
		return;
	unsigned m[6];
	int got = fscanf(f, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
	pclose(f);
	if (got != 6)
		return;
	for (int i = 0; i < 6; i++)
		env.ns_mac[i] = (uint8_t)m[i];
	/* Static neighbours: datagrams queued behind an ARP resolution can be overtaken by the
	 * next ones sent from another CPU, and the tests check order. */
	if (sh("ip netns exec %s ip neigh replace %s lladdr $(cat /sys/class/net/%s/address) "
	       "dev %s nud permanent",
	       env.ns, a, env.host_if, env.ns_if) ||
	    sh("ip neigh replace %s lladdr %02x:%02x:%02x:%02x:%02x:%02x dev %s nud permanent", b,
	       m[0], m[1], m[2], m[3], m[4], m[5], env.host_if))
		return;
	env.ready = true;
}

static void teardown(void)
{
	if (geteuid() != 0 || !env.ns[0])
		return;
	/* Deleting the namespace deletes its veth end, and the pair with it. */
	sh("ip link del %s 2>/dev/null", env.host_if);
	sh("ip netns del %s 2>/dev/null", env.ns);
}

TestSuite(xdp, .init = setup, .fini = teardown, .timeout = 60);

static void need_env(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to create a namespace, a veth pair and an XDP program");
	cr_assert(env.ready, "could not create namespace %s and veth %s", env.ns, env.host_if);
}

/* Runs fn(arg) in a child inside the namespace; returns its exit status (0 is success). */
static int in_ns(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(env.ns_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
			_exit(90);
		_exit(fn(arg));
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static uint16_t len_of(uint32_t seq)
{
	return (uint16_t)(4 + (seq * 37) % 1200);
}

static void fill(uint8_t *buf, uint32_t seq, uint16_t len)
{
	memcpy(buf, &seq, sizeof(seq));
	for (uint16_t j = sizeof(seq); j < len; j++)
		buf[j] = (uint8_t)(seq * 7 + j);
}

static void check_payload(const uint8_t *data, uint16_t got_len, uint32_t seq, uint16_t len)
{
	uint32_t got;

	cr_assert_eq(got_len, len, "seq %u: length %u, want %u", seq, got_len, len);
	memcpy(&got, data, sizeof(got));
	cr_assert_eq(got, seq, "got seq %u, want %u", got, seq);
	for (uint16_t j = sizeof(seq); j < len; j++)
		cr_assert_eq(data[j], (uint8_t)(seq * 7 + j), "seq %u byte %u", seq, j);
}

/* What a sender child sends: count datagrams seq first..first+count-1 to dst:port, paced so
 * the veth queue never overflows. */
struct send_job {
	uint32_t dst, first, count;
	uint16_t port;
};

static int send_udp(void *arg)
{
	const struct send_job *j = arg;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(j->port) };
	struct in_addr ifaddr = { .s_addr = env.ns_ip };
	uint8_t buf[2048];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return 1;
	to.sin_addr.s_addr = j->dst;
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifaddr, sizeof(ifaddr)) != 0)
		return 2;
	for (uint32_t s = j->first; s < j->first + j->count; s++) {
		fill(buf, s, len_of(s));
		if (sendto(fd, buf, len_of(s), 0, (struct sockaddr *)&to, sizeof(to)) != len_of(s))
			return 3;
		if (s % 16 == 15)
			usleep(1000);
	}
	close(fd);
	return 0;
}

static void cfg_init(struct driver_cfg *cfg)
{
	driver_cfg_default(cfg, DRIVER_XDP);
	cfg->ifname = env.host_if;
	/* Room for every datagram of a test: the senders run before the driver is polled. */
	cfg->bufs = 4096;
	cfg->ring_size = 1024;
	cfg->local_ip = env.host_ip;
	cfg->tx_src_port = 31000;
	memcpy(cfg->tx_dst_mac, env.ns_mac, 6);
	cfg->nflows = 2;
	cfg->flows[0].port = FEED_PORT;
	cfg->flows[1].group = env.group;
	cfg->flows[1].port = MCAST_PORT;
}

static struct driver *open_or_die(const struct driver_cfg *cfg)
{
	char err[256] = "";
	struct driver *d = driver_open(cfg, err, sizeof(err));

	cr_assert_not_null(d, "driver_open: %s", err);
	return d;
}

/* The XDP program id on the host side, 0 for none, UINT32_MAX when the query fails. */
static uint32_t attached_prog_id(void)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, qo);

	if (bpf_xdp_query((int)if_nametoindex(env.host_if), 0, &qo) != 0)
		return UINT32_MAX;
	return qo.prog_id;
}

/* Receives up to want packets within 20 s, checks each payload against its sequence number and
 * records (flow, seq) in arrival order; returns how many arrived. */
static uint32_t receive(struct driver *d, uint32_t want, uint32_t *flows_out, uint32_t *seqs)
{
	struct pkt pk[32];
	uint32_t got = 0;
	uint64_t deadline = now_ns() + 20000000000ull;

	while (got < want && now_ns() < deadline) {
		uint16_t n = driver_rx_burst(d, 0, pk, 32);
		for (uint16_t k = 0; k < n && got < want; k++, got++) {
			uint32_t seq;

			cr_assert_geq(pk[k].len, 4);
			memcpy(&seq, pk[k].data, 4);
			check_payload(pk[k].data, pk[k].len, seq, len_of(seq));
			cr_assert_eq(pk[k].src_ip, env.ns_ip);
			cr_assert_neq(pk[k].rx_tsc, 0);
			flows_out[got] = pk[k].flow;
			seqs[got] = seq;
		}
		driver_release(d, 0, pk, n);
		if (!n)
			usleep(100);
	}
	return got;
}

Test(xdp, unicast_and_multicast_feed_arrive_in_order_with_exact_payloads)
{
	need_env();
	struct driver_cfg cfg;
	cfg_init(&cfg);
	struct driver *d = open_or_die(&cfg);
	struct send_job uni = { .dst = env.host_ip, .first = 0, .count = 300, .port = FEED_PORT };
	struct send_job mc = { .dst = env.group, .first = 1000, .count = 300, .port = MCAST_PORT };
	static uint32_t flows[600], seqs[600];
	uint64_t bytes = 0;

	cr_assert_eq(in_ns(send_udp, &uni), 0);
	cr_assert_eq(in_ns(send_udp, &mc), 0);
	for (uint32_t s = 0; s < 300; s++)
		bytes += len_of(s) + len_of(1000 + s);
	uint32_t got = receive(d, 600, flows, seqs);
	struct driver_stats st;
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(got, 600, "got %u, rx_nobuf %lu", got, (unsigned long)st.rx_nobuf);
	for (uint32_t i = 0; i < 600; i++) {
		uint32_t want = i < 300 ? i : 1000 + (i - 300);
		cr_assert_eq(seqs[i], want, "packet %u: seq %u, want %u", i, seqs[i], want);
		cr_assert_eq(flows[i], i < 300 ? 0u : 1u, "packet %u: flow %u", i, flows[i]);
	}
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.rx_packets, 600);
	cr_assert_eq(st.rx_bytes, bytes);
	cr_assert_eq(st.rx_nobuf, 0);
	for (int r = 0; r < DRIVER_DROP_REASONS; r++)
		cr_assert_eq(st.drops[r], 0, "drops[%s]", driver_drop_name((enum driver_drop)r));
	uint64_t c[XDP_FILTER_COUNTERS];
	cr_assert_eq(xdp_filter_counters_read(d, c), 0);
	cr_assert_eq(c[XDP_FILTER_REDIRECTED], 600);
	cr_assert_eq(c[XDP_FILTER_PASSED_NO_FLOW], 0);
	cr_assert_eq(c[XDP_FILTER_PASSED_NO_SOCKET], 0);
	driver_close(d);
}

Test(xdp, frames_are_recycled_past_the_umem_size)
{
	need_env();
	struct driver_cfg cfg;
	cfg_init(&cfg);
	cfg.bufs = 128; /* 64 rx frames against 1024 datagrams */
	cfg.ring_size = 64;
	struct driver *d = open_or_die(&cfg);
	static uint32_t flows[1024], seqs[1024];
	uint32_t got = 0;

	for (uint32_t chunk = 0; chunk < 1024; chunk += 32) {
		struct send_job j = {
			.dst = env.host_ip, .first = chunk, .count = 32, .port = FEED_PORT
		};
		cr_assert_eq(in_ns(send_udp, &j), 0);
		got += receive(d, 32, flows + got, seqs + got);
		cr_assert_eq(got, chunk + 32);
	}
	for (uint32_t i = 0; i < 1024; i++)
		cr_assert_eq(seqs[i], i, "packet %u: seq %u", i, seqs[i]);
	struct driver_stats st;
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.rx_packets, 1024);
	cr_assert_eq(st.rx_nobuf, 0);
	driver_close(d);
}

struct recv_result {
	int fd;
	uint8_t buf[2048];
	ssize_t len;
};

static int bound_udp(uint32_t ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = ip;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		return -1;
	return fd;
}

Test(xdp, udp_to_another_port_reaches_a_kernel_socket)
{
	need_env();
	struct driver_cfg cfg;
	cfg_init(&cfg);
	struct driver *d = open_or_die(&cfg);
	int fd = bound_udp(env.host_ip, OTHER_PORT);
	cr_assert_geq(fd, 0, "bind: %s", strerror(errno));
	struct send_job j = { .dst = env.host_ip, .first = 7, .count = 3, .port = OTHER_PORT };
	uint8_t buf[2048];

	cr_assert_eq(in_ns(send_udp, &j), 0);
	for (uint32_t s = 7; s < 10; s++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		cr_assert_geq(n, 0, "recv: %s", strerror(errno));
		check_payload(buf, (uint16_t)n, s, len_of(s));
	}
	struct pkt pk[8];
	cr_assert_eq(driver_rx_burst(d, 0, pk, 8), 0);
	uint64_t c[XDP_FILTER_COUNTERS];
	cr_assert_eq(xdp_filter_counters_read(d, c), 0);
	cr_assert_eq(c[XDP_FILTER_PASSED_NO_FLOW], 3);
	cr_assert_eq(c[XDP_FILTER_REDIRECTED], 0);
	close(fd);
	driver_close(d);
}

static uint16_t icmp_sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

/* One echo request to the host side; 0 when the matching reply comes back. */
static int ping_host(void *arg)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 3 };
	struct icmphdr req = { .type = ICMP_ECHO };
	uint8_t buf[256];
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);

	(void)arg;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		return 1;
	to.sin_addr.s_addr = env.host_ip;
	req.un.echo.id = htons(0x7478);
	req.un.echo.sequence = htons(1);
	req.checksum = icmp_sum(&req, sizeof(req));
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) != sizeof(req))
		return 2;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return 3;
		size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
		if ((size_t)n < ihl + sizeof(struct icmphdr))
			continue;
		const struct icmphdr *rep = (const void *)(buf + ihl);
		if (rep->type == ICMP_ECHOREPLY && rep->un.echo.id == req.un.echo.id)
			return 0;
	}
}

Test(xdp, ping_to_the_host_side_still_works)
{
	need_env();
	struct driver_cfg cfg;
	cfg_init(&cfg);
	struct driver *d = open_or_die(&cfg);

	cr_assert_eq(in_ns(ping_host, NULL), 0, "no echo reply with the filter attached");
	uint64_t c[XDP_FILTER_COUNTERS];
	cr_assert_eq(xdp_filter_counters_read(d, c), 0);
	cr_assert_geq(c[XDP_FILTER_PASSED_NOT_UDP], 1, "the echo request went past the filter");
	driver_close(d);
}

static int tcp_client(void *arg)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(TCP_PORT) };
	char buf[8] = "";
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	to.sin_addr.s_addr = env.host_ip;
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0)
		return 1;
	if (write(fd, "order", 5) != 5)
		return 2;
	if (read(fd, buf, 3) != 3 || memcmp(buf, "ack", 3) != 0)
		return 3;
	close(fd);
	return 0;
}

Test(xdp, tcp_session_to_the_host_side_works)
{
	need_env();
	struct driver_cfg cfg;
	cfg_init(&cfg);
	struct driver *d = open_or_die(&cfg);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(TCP_PORT) };
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = env.host_ip;
	cr_assert_geq(ls, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind: %s", strerror(errno));
	cr_assert_eq(listen(ls, 1), 0);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(env.ns_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
			_exit(90);
		_exit(tcp_client(NULL));
	}
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int c = accept(ls, NULL, NULL);
	cr_assert_geq(c, 0, "accept: %s", strerror(errno));
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char buf[8] = "";
	cr_assert_eq(read(c, buf, 5), 5);
	cr_assert_eq(memcmp(buf, "order", 5), 0);
	cr_assert_eq(write(c, "ack", 3), 3);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client status %d", status);
	close(c);
	close(ls);
	driver_close(d);
}

/* Sends one feed datagram and expects it through d. */
static void feed_one_arrives(struct driver *d, uint32_t seq)
{
	struct send_job j = { .dst = env.host_ip, .first = seq, .count = 1, .port = FEED_PORT };
	uint32_t flow, got_seq;

	cr_assert_eq(in_ns(send_udp, &j), 0);
	cr_assert_eq(receive(d, 1, &flow, &got_seq), 1);
	cr_assert_eq(got_seq, seq);
}

Test(xdp, close_detaches_and_a_second_open_works)
{
	need_env();
	struct driver_cfg cfg;
	cfg_init(&cfg);
	struct driver *d = open_or_die(&cfg);
	cr_assert(attached_prog_id() != 0 && attached_prog_id() != UINT32_MAX);
	driver_close(d);
	cr_assert_eq(attached_prog_id(), 0, "a program is left on %s after close", env.host_if);

	d = open_or_die(&cfg);
	feed_one_arrives(d, 42);
	driver_close(d);
	cr_assert_eq(attached_prog_id(), 0);
}

Test(xdp, open_after_a_sigkilled_owner_succeeds)
{
	need_env();
	struct driver_cfg cfg;
	cfg_init(&cfg);
	int p[2];
	cr_assert_eq(pipe(p), 0);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char err[256];
		struct driver *d = driver_open(&cfg, err, sizeof(err));
		char ok = d ? 'y' : 'n';
		if (write(p[1], &ok, 1) != 1 || !d)
			_exit(1);
		for (;;)
			pause();
	}
	/* The child dies before any assertion can end this test and leave it running. */
	char ok = 0;
	ssize_t r = read(p[0], &ok, 1);
	uint32_t while_alive = attached_prog_id();
	kill(pid, SIGKILL);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(r, 1);
	cr_assert_eq(ok, 'y', "the child could not open the driver");
	cr_assert(while_alive != 0 && while_alive != UINT32_MAX);
	cr_assert(WIFSIGNALED(status));
	cr_assert_eq(attached_prog_id(), 0, "the dead process left its program attached");

	struct driver *d = open_or_die(&cfg);
	feed_one_arrives(d, 43);
	driver_close(d);
	close(p[0]);
	close(p[1]);
}

Test(xdp, leftover_netlink_program_is_detached_on_open)
{
	need_env();
	/* What an older version that attached without a link leaves behind: r0 = XDP_PASS. */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog = bpf_prog_load(BPF_PROG_TYPE_XDP, "leftover", "GPL", insns, 2, NULL);
	cr_assert_geq(prog, 0, "load: %s", strerror(-prog));
	int ifindex = (int)if_nametoindex(env.host_if);
	cr_assert_eq(bpf_xdp_attach(ifindex, prog, XDP_FLAGS_SKB_MODE, NULL), 0);
	close(prog);
	uint32_t old = attached_prog_id();
	cr_assert_neq(old, 0);

	struct driver_cfg cfg;
	cfg_init(&cfg);
	struct driver *d = open_or_die(&cfg);
	uint32_t now = attached_prog_id();
	cr_assert(now != 0 && now != UINT32_MAX);
	cr_assert_neq(now, old, "the leftover program is still attached");
	feed_one_arrives(d, 44);
	driver_close(d);
	cr_assert_eq(attached_prog_id(), 0);
}

Test(xdp, missing_interface_is_reported_as_not_found)
{
	need_env();
	struct driver_cfg cfg;
	char name[IFNAMSIZ], err[256] = "";
	cfg_init(&cfg);
	snprintf(name, sizeof(name), "tsx%unone", (unsigned)getpid() % 100000);
	cfg.ifname = name;

	cr_assert_null(driver_open(&cfg, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "not found"), "message: %s", err);
	cr_assert_not_null(strstr(err, name), "message: %s", err);
}

Test(xdp, bad_buffer_size_is_rejected_with_the_field_named)
{
	need_env();
	struct driver_cfg cfg;
	char err[256] = "";
	cfg_init(&cfg);
	cfg.buf_size = 3000;

	cr_assert_null(driver_open(&cfg, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "buf_size: 3000"), "message: %s", err);
	cr_assert_eq(attached_prog_id(), 0);
}

static int recv_one(void *arg)
{
	int *p = arg;
	int fd = bound_udp(env.ns_ip, NS_PORT);
	uint8_t buf[2048];
	char ready = 'r';

	if (fd < 0 || write(p[1], &ready, 1) != 1)
		return 1;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return 2;
	if (write(p[1], buf, (size_t)n) != n)
		return 3;
	return 0;
}

Test(xdp, tx_burst_reaches_a_socket_in_the_namespace)
{
	need_env();
	struct driver_cfg cfg;
	cfg_init(&cfg);
	struct driver *d = open_or_die(&cfg);
	int p[2];
	cr_assert_eq(pipe(p), 0);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(env.ns_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
			_exit(90);
		_exit(recv_one(p));
	}
	char ready = 0;
	cr_assert_eq(read(p[0], &ready, 1), 1);
	cr_assert_eq(ready, 'r');

	uint8_t payload[333];
	fill(payload, 77, sizeof(payload));
	struct tx_pkt tp = {
		.data = payload, .len = sizeof(payload), .dst_port = NS_PORT, .dst_ip = env.ns_ip
	};
	cr_assert_eq(driver_tx_burst(d, 0, &tp, 1), 1);

	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "receiver status %d", status);
	uint8_t got[2048];
	ssize_t n = read(p[0], got, sizeof(got));
	check_payload(got, (uint16_t)n, 77, sizeof(payload));

	driver_tx_burst(d, 0, NULL, 0); /* reclaims the completed frame */
	struct driver_stats st;
	cr_assert_eq(driver_stats(d, &st), 0);
	cr_assert_eq(st.tx_packets, 1);
	cr_assert_eq(st.tx_bytes, sizeof(payload));
	cr_assert_eq(st.tx_full, 0);
	close(p[0]);
	close(p[1]);
	driver_close(d);
}
