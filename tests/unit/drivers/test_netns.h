/*
 * A network namespace and veth pair for one driver test process: the host end stays in the test's
 * namespace (where the driver runs), the other end goes into a namespace of its own (where a
 * sender runs). Names carry the pid and a per-file prefix, and each process gets its own /30 in
 * 10.<base..base+63>.0.0, so test files and parallel runs never share a name or a subnet.
 * Teardown removes both, and is safe to call when setup failed half-way.
 */
#ifndef TRADSYS_TEST_NETNS_H
#define TRADSYS_TEST_NETNS_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct test_netns {
	char ns[32];
	char host_if[IFNAMSIZ];
	char ns_if[IFNAMSIZ];
	uint32_t host_ip, ns_ip; /* network order */
};

static inline int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command; returns its exit status (-1 if it did not exit). */
static inline int test_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/*
 * Creates prefix<pid> (namespace), prefix<pid>a (host end) and prefix<pid>b (namespace end), both
 * up with their addresses, lo up in the namespace. Returns 0, or -1 when the namespace cannot be
 * created (n->ns is then empty), or -2 when a later step failed (call test_netns_down).
 */
static inline int test_netns_up(struct test_netns *n, const char *prefix, unsigned base)
{
	int pid = getpid();
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	snprintf(n->ns, sizeof(n->ns), "%s%d", prefix, pid);
	snprintf(n->host_if, sizeof(n->host_if), "%s%da", prefix, pid);
	snprintf(n->ns_if, sizeof(n->ns_if), "%s%db", prefix, pid);
	uint32_t addr = 10u << 24 | (uint32_t)(base + ((unsigned)(pid >> 14) & 63)) << 16 |
			(uint32_t)((pid >> 6) & 255) << 8 | (uint32_t)((pid & 63) << 2);
	n->host_ip = htonl(addr | 1);
	n->ns_ip = htonl(addr | 2);
	inet_ntop(AF_INET, &n->host_ip, a, sizeof(a));
	inet_ntop(AF_INET, &n->ns_ip, b, sizeof(b));
	if (test_sh("ip netns add %s", n->ns) != 0) {
		n->ns[0] = '\0';
		return -1;
	}
	if (test_sh("ip link add %s type veth peer name %s", n->host_if, n->ns_if) ||
	    test_sh("ip link set %s netns %s", n->ns_if, n->ns) ||
	    test_sh("ip addr add %s/30 dev %s && ip link set %s up", a, n->host_if, n->host_if) ||
	    test_sh("ip -n %s addr add %s/30 dev %s && ip -n %s link set %s up && "
		    "ip -n %s link set lo up",
		    n->ns, b, n->ns_if, n->ns, n->ns_if, n->ns))
		return -2;
	return 0;
}

/* Deleting the namespace takes its veth end, and the pair with it; the host end goes too. */
static inline void test_netns_down(struct test_netns *n)
{
	if (!n->ns[0])
		return;
	test_sh("ip link del %s >/dev/null 2>&1", n->host_if);
	test_sh("ip netns del %s >/dev/null 2>&1", n->ns);
	n->ns[0] = '\0';
}

/* Moves the calling process (a forked sender) into the namespace. Returns 0 or -1. */
static inline int test_netns_enter(const struct test_netns *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/var/run/netns/%s", n->ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
		return -1;
	close(fd);
	return 0;
}

#endif
