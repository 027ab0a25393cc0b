/*
 * Receive path benchmarks over a veth pair: a sender in a network namespace sends small UDP
 * datagrams (64-byte payload carrying a sequence number and the sender's TSC) to the host side,
 * and each receiver takes them: a plain kernel socket with recvmmsg (the baseline), then every
 * driver built into this binary. Reported per receiver: packets/s at full send rate, loss, and
 * one-way latency (receive TSC minus send TSC, same machine) at a paced rate, with the ratio to
 * the baseline from the same run. Each receiver runs in its own process (DPDK's EAL can start only
 * once per process). Needs root; the namespace and veth are removed on exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "core.h"
#include "driver.h"

#define SUITE_NET "net"
#define NET_PORT 26400
#define PAYLOAD 64
#define BATCH 32

struct net_env {
	char ns[32], host_if[16], peer_if[16];
	char host_ip[16], peer_ip[16];
};

struct net_result {
	uint64_t received;
	uint64_t bad;
	uint64_t first_tsc, last_tsc;
	uint64_t busy_cycles; /* in receive calls that returned packets, and their processing */
	struct hist lat;
};

static struct net_env env;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	return system(cmd);
}

static void env_down(void)
{
	if (env.ns[0]) {
		sh("ip link del %s", env.host_if);
		sh("ip netns del %s", env.ns);
		env.ns[0] = '\0';
	}
}

static int env_up(void)
{
	int id = getpid() % 250;

	snprintf(env.ns, sizeof(env.ns), "tsbench%d", getpid());
	snprintf(env.host_if, sizeof(env.host_if), "tsb%da", getpid() % 100000);
	snprintf(env.peer_if, sizeof(env.peer_if), "tsb%db", getpid() % 100000);
	snprintf(env.host_ip, sizeof(env.host_ip), "10.250.%d.1", id);
	snprintf(env.peer_ip, sizeof(env.peer_ip), "10.250.%d.2", id);
	atexit(env_down);
	if (sh("ip netns add %s", env.ns) ||
	    sh("ip link add %s type veth peer name %s", env.host_if, env.peer_if) ||
	    sh("ip link set %s netns %s", env.peer_if, env.ns) ||
	    sh("ip addr add %s/30 dev %s", env.host_ip, env.host_if) ||
	    sh("ip link set %s up", env.host_if) ||
	    sh("ip -n %s addr add %s/30 dev %s", env.ns, env.peer_ip, env.peer_if) ||
	    sh("ip -n %s link set %s up", env.ns, env.peer_if) ||
	    sh("ip -n %s link set lo up", env.ns)) {
		fprintf(stderr, "net: cannot create namespace %s and veth %s (root needed)\n",
			env.ns, env.host_if);
		return -EPERM;
	}
	/* Resolve ARP once so the first timed packets do not wait for it. */
	sh("ip netns exec %s ping -c 1 -W 1 %s", env.ns, env.host_ip);
	return 0;
}

/* Sends count datagrams from inside the namespace; pps 0 means as fast as possible. */
static void send_from_ns(uint64_t count, uint64_t pps)
{
	char path[64];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(NET_PORT) };
	static uint8_t bufs[BATCH][PAYLOAD];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];

	snprintf(path, sizeof(path), "/var/run/netns/%s", env.ns);
	int nsfd = open(path, O_RDONLY);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0)
		_exit(2);
	inet_pton(AF_INET, env.host_ip, &to.sin_addr);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int sndbuf = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], PAYLOAD };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
	}
	uint64_t interval = pps ? clock_cal.tsc_hz / pps : 0, start = clock_tsc();
	for (uint64_t seq = 0; seq < count;) {
		unsigned int n = pps ? 1 : BATCH;
		if (count - seq < n)
			n = (unsigned int)(count - seq);
		if (pps)
			while (clock_tsc() < start + seq * interval)
				;
		for (unsigned int i = 0; i < n; i++) {
			uint64_t s = seq + i, t = clock_tsc();
			memcpy(bufs[i], &s, 8);
			memcpy(bufs[i] + 8, &t, 8);
		}
		int sent = sendmmsg(fd, msgs, n, 0);
		if (sent > 0)
			seq += (uint64_t)sent;
	}
	_exit(0);
}

/* Accounts one received payload. */
static inline void take(struct net_result *r, const uint8_t *p, uint16_t len, uint64_t now)
{
	uint64_t t;

	if (len != PAYLOAD) {
		r->bad++;
		return;
	}
	memcpy(&t, p + 8, 8);
	if (r->received == 0)
		r->first_tsc = now;
	r->last_tsc = now;
	r->received++;
	hist_record(&r->lat, clock_cycles_to_ns(now - t));
}

/* Receives with a kernel socket until count arrive or the line is quiet for idle_ms. */
static int recv_kernel(struct net_result *r, uint64_t count, int *ready)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(NET_PORT) };
	static uint8_t bufs[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rcvbuf = 32 << 20;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0)
		return -errno;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
	uint64_t quiet = clock_tsc() + clock_cal.tsc_hz * 3;
	while (r->received < count && clock_tsc() < quiet) {
		uint64_t t0 = clock_tsc();
		int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		uint64_t now = clock_tsc();
		for (int i = 0; i < n; i++)
			take(r, bufs[i], (uint16_t)msgs[i].msg_len, now);
		quiet = clock_tsc();
		r->busy_cycles += quiet - t0;
		quiet += clock_cal.tsc_hz / 2;
	}
	close(fd);
	return 0;
}

static int recv_driver(struct net_result *r, enum driver_kind kind, uint64_t count, int *ready)
{
	struct driver_cfg cfg;
	struct pkt pkts[BATCH];
	char err[256], eal[256];

	driver_cfg_default(&cfg, kind);
	cfg.ifname = env.host_if;
	inet_pton(AF_INET, env.host_ip, &cfg.local_ip);
	cfg.flows[0] = (struct driver_flow){ 0, NET_PORT };
	cfg.nflows = 1;
	snprintf(eal, sizeof(eal),
		 "-l 0 --no-pci --in-memory --file-prefix=tsb%d --vdev=net_af_packet0,iface=%s",
		 getpid(), env.host_if);
	cfg.dpdk_args = eal;
	struct driver *d = driver_open(&cfg, err, sizeof(err));
	if (!d) {
		fprintf(stderr, "net: %s\n", err);
		return -ENODEV;
	}
	__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
	uint64_t quiet = clock_tsc() + clock_cal.tsc_hz * 3;
	while (r->received < count && clock_tsc() < quiet) {
		uint64_t t0 = clock_tsc();
		uint16_t n = driver_rx_burst(d, 0, pkts, BATCH);
		if (n == 0)
			continue;
		uint64_t now = pkts[0].rx_tsc;
		for (uint16_t i = 0; i < n; i++)
			take(r, pkts[i].data, pkts[i].len, now);
		driver_release(d, 0, pkts, n);
		quiet = clock_tsc();
		r->busy_cycles += quiet - t0;
		quiet += clock_cal.tsc_hz / 2;
	}
	driver_close(d);
	return 0;
}

/* Runs one receiver (kind < 0: kernel socket) in a child against a sender; fills res. */
static int run_one(int kind, uint64_t count, uint64_t pps, const struct bench_opts *o,
		   struct net_result *res)
{
	struct shared {
		int ready;
		int rc;
		struct net_result r;
	} *sh_mem = mmap(NULL, sizeof(*sh_mem), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
	if (sh_mem == MAP_FAILED)
		return -ENOMEM;
	memset(sh_mem, 0, sizeof(*sh_mem));
	hist_reset(&sh_mem->r.lat);

	pid_t rx = fork();
	if (rx == 0) {
		thread_pin(o->cpu_b);
		sh_mem->rc = kind < 0 ? recv_kernel(&sh_mem->r, count, &sh_mem->ready)
				      : recv_driver(&sh_mem->r, (enum driver_kind)kind, count,
						    &sh_mem->ready);
		__atomic_store_n(&sh_mem->ready, 1, __ATOMIC_RELEASE);
		_exit(0);
	}
	while (!__atomic_load_n(&sh_mem->ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(100000);
	pid_t tx = fork();
	if (tx == 0) {
		thread_pin(o->cpu_a);
		send_from_ns(count, pps);
	}
	waitpid(tx, NULL, 0);
	waitpid(rx, NULL, 0);
	*res = sh_mem->r;
	int rc = sh_mem->rc;
	munmap(sh_mem, sizeof(*sh_mem));
	return rc;
}

static int run_net(const struct bench_opts *o)
{
	static const struct {
		int kind;
		const char *name;
	} rx[] = { { -1, "kernel_recvmmsg" },
		   { DRIVER_URING, "uring" },
		   { DRIVER_XDP, "xdp" },
		   { DRIVER_DPDK, "dpdk_af_packet" } };
	uint64_t count = o->ops ? o->ops : 1000000, paced = 20000;
	struct net_result *r = malloc(sizeof(*r));
	double base_pps = 0, base_p50 = 0, base_cost = 0;
	char wl[256];
	int rc;

	if (!r)
		return -ENOMEM;
	if ((rc = env_up()) != 0) {
		free(r);
		return rc;
	}
	for (size_t i = 0; i < sizeof(rx) / sizeof(rx[0]); i++) {
		double rates[16]; /* packets/s of each run */
		double cost[16]; /* receiver ns per packet while it had packets */
		unsigned int runs = o->runs > 16 ? 16 : o->runs, got = 0;
		for (unsigned int k = 0; k < runs; k++) {
			if (run_one(rx[i].kind, count, 0, o, r) != 0 || r->received < 2)
				break;
			cost[got] = (double)clock_cycles_to_ns(r->busy_cycles) / (double)r->received;
			rates[got++] =
				(double)r->received / bench_seconds(r->first_tsc, r->last_tsc);
		}
		if (got == 0) {
			bench_report_value(SUITE_NET, rx[i].name, "available", "bool", 0, NULL);
			continue;
		}
		snprintf(wl, sizeof(wl),
			 "\"sent\":%lu,\"payload\":%d,\"received_last_run\":%lu,\"link\":\"veth\"",
			 (unsigned long)count, PAYLOAD, (unsigned long)r->received);
		for (unsigned int k = 0; k < got; k++)
			rates[k] /= 1e6;
		/* Sorts rates in place: rates[got / 2] is the median afterwards. */
		bench_report(SUITE_NET, rx[i].name, "receive_rate", "Mpkts/s", rates, got, wl);
		/* The sender (one core, kernel UDP over veth) usually limits the rate; the receiver's
		 * own cost per packet says what it could take. */
		bench_report(SUITE_NET, rx[i].name, "rx_cost", "ns/pkt", cost, got, wl);

		if (run_one(rx[i].kind, paced * 2, paced, o, r) != 0)
			continue;
		snprintf(wl, sizeof(wl), "\"offered_pps\":%lu,\"sent\":%lu,\"received\":%lu",
			 (unsigned long)paced, (unsigned long)paced * 2,
			 (unsigned long)r->received);
		double p50 = (double)hist_percentile(&r->lat, 0.5);
		bench_report_value(SUITE_NET, rx[i].name, "latency_p50", "ns", p50, wl);
		bench_report_value(SUITE_NET, rx[i].name, "latency_p99", "ns",
				   (double)hist_percentile(&r->lat, 0.99), wl);
		bench_report_value(SUITE_NET, rx[i].name, "latency_p99.9", "ns",
				   (double)hist_percentile(&r->lat, 0.999), wl);
		if (rx[i].kind < 0) {
			base_p50 = p50;
			base_pps = rates[got / 2];
			base_cost = cost[got / 2];
		} else if (base_p50 > 0) {
			bench_report_value(SUITE_NET, rx[i].name, "rx_cost_vs_kernel", "ratio",
					   cost[got / 2] / base_cost, NULL);
			bench_report_value(SUITE_NET, rx[i].name, "rate_vs_kernel", "ratio",
					   rates[got / 2] / base_pps, NULL);
			bench_report_value(SUITE_NET, rx[i].name, "latency_p50_vs_kernel", "ratio",
					   p50 / base_p50, NULL);
		}
	}
	env_down();
	free(r);
	return 0;
}

BENCH_SUITE(bench_suite_net, SUITE_NET,
	    "veth receive rate and one-way latency per driver beside a recvmmsg baseline (root)",
	    run_net)
