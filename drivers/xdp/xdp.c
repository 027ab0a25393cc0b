/*
 * The AF_XDP backend. open() loads feed_filter.bpf.c from its skeleton with the flows baked in
 * as constants, attaches it through a bpf_link (so a process that dies takes its program with
 * it), and per queue sets up a UMEM with fill and completion rings and an AF_XDP socket that the
 * filter redirects to. Received frames stay in the UMEM and are handed out as views of their UDP
 * payload; release() puts them back on the fill ring. A queue's UMEM is split once at open: the
 * first frames feed the fill ring, the rest are a free-list for tx.
 */
#include "xdp.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include "core.h"
#include "net.h"
#include "xdp/feed_filter.skel.h"

#define HUGE_2M (2u << 20)

/* One queue's socket, rings and UMEM; written only by the queue's worker after open. */
struct xdp_queue {
	/* Hot: touched on every burst. */
	struct xsk_ring_cons rx;
	struct xsk_ring_prod fill;
	struct xsk_ring_prod tx;
	struct xsk_ring_cons comp;
	uint8_t *area;
	uint64_t *tx_free; /* UMEM addresses of idle tx frames, used as a stack */
	uint32_t ntx_free;
	uint32_t tx_frames;
	int fd;
	/* Cold: open and close. */
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	size_t area_len;
};

struct xdp_priv {
	struct xdp_queue q[DRIVER_MAX_QUEUES];
	uint64_t frame_mask; /* clears the offset inside a frame: buf_size is a power of two */
	uint32_t src_ip;
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	struct feed_filter *skel;
	int link_fd;
	int ifindex;
	int mcast_fd;
};

/* libbpf reports why a load failed through its print callback; open() keeps its last line and
 * the verifier's verdict (the line before "processed N insns" in the load log). */
static _Thread_local char libbpf_last[192];
static _Thread_local char verifier_last[160];

static void keep_verdict(const char *log)
{
	const char *end = strstr(log, "\nprocessed ");
	const char *start;

	if (!end)
		return;
	start = end;
	while (start > log && start[-1] != '\n')
		start--;
	if (start == end && start > log) {
		/* An empty line just before: take the one above it. */
		end = start - 1;
		start = end;
		while (start > log && start[-1] != '\n')
			start--;
	}
	snprintf(verifier_last, sizeof(verifier_last), "%.*s", (int)(end - start), start);
}

static int libbpf_capture(enum libbpf_print_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static int libbpf_capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[sizeof(libbpf_last)];
	size_t len;

	if (level == LIBBPF_DEBUG)
		return 0;
	if (strstr(fmt, "BEGIN PROG LOAD LOG")) {
		va_list copy;
		char *log = NULL;

		va_copy(copy, ap);
		if (vasprintf(&log, fmt, copy) >= 0)
			keep_verdict(log);
		va_end(copy);
		free(log);
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == ' '))
		line[--len] = '\0';
	if (len)
		memcpy(libbpf_last, line, len + 1);
	return 0;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t pow2_ceil(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static bool has_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return data[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32));
}

/* The kernel charges UMEM pages to RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK; saying so
 * up front beats the bare ENOBUFS/EPERM that registration would give. */
static int check_memlock(struct driver *d, uint64_t umem_bytes)
{
	struct rlimit rl;

	if (has_cap_ipc_lock() || getrlimit(RLIMIT_MEMLOCK, &rl) != 0 ||
	    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= umem_bytes)
		return 0;
	return driver_fail(
		d, -ENOBUFS,
		"RLIMIT_MEMLOCK %llu KiB too low for %llu KiB of UMEM (%u queues x %u x %u B): "
		"raise it or grant CAP_IPC_LOCK",
		(unsigned long long)rl.rlim_cur >> 10, (unsigned long long)umem_bytes >> 10,
		d->cfg.queues, d->cfg.bufs, d->cfg.buf_size);
}

static int check_cfg(struct driver *d)
{
	const struct driver_cfg *c = &d->cfg;
	long page = sysconf(_SC_PAGESIZE);

	if (!c->ifname || !c->ifname[0])
		return driver_fail(d, -EINVAL, "ifname: no interface configured");
	if (!is_pow2(c->ring_size) || c->ring_size < 64)
		return driver_fail(d, -EINVAL, "ring_size: %u is not a power of two >= 64",
				   c->ring_size);
	/* Aligned UMEM mode: frames are powers of two from 2 KiB up to a page. */
	if (!is_pow2(c->buf_size) || c->buf_size < 2048 || c->buf_size > page)
		return driver_fail(d, -EINVAL, "buf_size: %u is not a power of two in [2048, %ld]",
				   c->buf_size, page);
	if (c->bufs < 2 * 64 || c->bufs > (1u << 20))
		return driver_fail(d, -EINVAL, "bufs: %u is outside [128, 1048576]", c->bufs);
	return 0;
}

/* Removes a program attached the old way (netlink, no link), which is what a crashed older
 * version leaves behind. A program held by a live bpf_link belongs to a running process and is
 * left alone: that is an error for the caller. */
static int detach_leftover(struct driver *d, int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, qo);
	const struct {
		uint32_t id;
		uint32_t flag;
		const char *mode;
	} cur[] = {
		{ 0, XDP_FLAGS_DRV_MODE, "native" },
		{ 0, XDP_FLAGS_SKB_MODE, "skb" },
		{ 0, XDP_FLAGS_HW_MODE, "hw" },
	};
	uint32_t ids[3];
	int rc = bpf_xdp_query(ifindex, 0, &qo);

	if (rc)
		return driver_fail(d, rc, "query XDP programs on %s: %s", d->cfg.ifname,
				   strerror(-rc));
	if (!qo.prog_id)
		return 0;
	ids[0] = qo.drv_prog_id;
	ids[1] = qo.skb_prog_id;
	ids[2] = qo.hw_prog_id;
	for (int m = 0; m < 3; m++) {
		if (!ids[m])
			continue;
		rc = bpf_xdp_detach(ifindex, cur[m].flag, NULL);
		if (rc == -EBUSY)
			return driver_fail(
				d, rc,
				"%s already has XDP program id %u attached (%s mode) through a "
				"bpf_link held by a running process",
				d->cfg.ifname, ids[m], cur[m].mode);
		if (rc)
			return driver_fail(d, rc, "detach leftover XDP program id %u from %s: %s",
					   ids[m], d->cfg.ifname, strerror(-rc));
		LOG_WARN("xdp: detached a leftover XDP program id %u (%s mode) from ifindex %d",
			 ids[m], cur[m].mode, ifindex);
	}
	return 0;
}

/* Native mode first (the driver runs the program before any skb exists), generic otherwise. */
static int attach(struct driver *d, struct xdp_priv *x)
{
	int prog = bpf_program__fd(x->skel->progs.feed_filter);
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);
	int fd = bpf_link_create(prog, x->ifindex, BPF_XDP, &lo);

	if (fd >= 0) {
		LOG_INFO("xdp: filter attached in native mode to ifindex %d", x->ifindex);
	} else {
		int native = fd;

		lo.flags = XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog, x->ifindex, BPF_XDP, &lo);
		if (fd < 0)
			return driver_fail(d, fd,
					   "attach XDP program to %s: native: %s, generic: %s",
					   d->cfg.ifname, strerror(-native), strerror(-fd));
		LOG_INFO("xdp: native mode refused (errno %d), filter attached in generic mode to "
			 "ifindex %d",
			 -native, x->ifindex);
	}
	x->link_fd = fd;
	return 0;
}

static int load_filter(struct driver *d, struct xdp_priv *x)
{
	libbpf_print_fn_t old = libbpf_set_print(libbpf_capture);
	int rc = 0;

	libbpf_last[0] = '\0';
	verifier_last[0] = '\0';
	x->skel = feed_filter__open();
	if (!x->skel) {
		rc = -errno;
		driver_fail(d, rc, "open BPF skeleton: %s",
			    libbpf_last[0] ? libbpf_last : strerror(-rc));
		goto out;
	}
	for (uint16_t f = 0; f < d->cfg.nflows; f++) {
		x->skel->rodata->flow_group[f] = d->cfg.flows[f].group;
		x->skel->rodata->flow_port[f] = d->cfg.flows[f].port;
	}
	x->skel->rodata->nflows = d->cfg.nflows;
	rc = feed_filter__load(x->skel);
	if (rc && verifier_last[0])
		driver_fail(d, rc, "load XDP program: verifier: %s (%s)", verifier_last,
			    strerror(-rc));
	else if (rc)
		driver_fail(d, rc, "load XDP program: %s",
			    libbpf_last[0] ? libbpf_last : strerror(-rc));
out:
	libbpf_set_print(old);
	return rc;
}

static int iface_addrs(struct driver *d, struct xdp_priv *x)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return driver_fail(d, -errno, "socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->cfg.ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
		rc = driver_fail(d, -errno, "read MAC address of %s: %s", d->cfg.ifname,
				 strerror(errno));
		goto out;
	}
	memcpy(x->src_mac, ifr.ifr_hwaddr.sa_data, 6);
	x->src_ip = d->cfg.local_ip;
	/* No address is not an error: rx works without one, tx then sends from 0.0.0.0. */
	if (!x->src_ip && ioctl(fd, SIOCGIFADDR, &ifr) == 0)
		x->src_ip = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr;
	static const uint8_t zero[6];
	if (memcmp(d->cfg.tx_dst_mac, zero, 6) == 0)
		memset(x->dst_mac, 0xff, 6);
	else
		memcpy(x->dst_mac, d->cfg.tx_dst_mac, 6);
out:
	close(fd);
	return rc;
}

/* The joins make the kernel program the NIC's multicast filter; the socket is never read. */
static int join_groups(struct driver *d, struct xdp_priv *x)
{
	for (uint16_t f = 0; f < d->cfg.nflows; f++) {
		uint32_t g = d->cfg.flows[f].group;
		struct ip_mreqn mr = { .imr_ifindex = x->ifindex };
		bool seen = false;

		if (!IN_MULTICAST(ntohl(g)))
			continue;
		for (uint16_t e = 0; e < f; e++)
			seen |= d->cfg.flows[e].group == g;
		if (seen)
			continue;
		if (x->mcast_fd < 0) {
			x->mcast_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (x->mcast_fd < 0)
				return driver_fail(d, -errno, "socket: %s", strerror(errno));
		}
		mr.imr_multiaddr.s_addr = g;
		if (setsockopt(x->mcast_fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0) {
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &g, a, sizeof(a));
			return driver_fail(d, -errno, "join group %s on %s: %s", a, d->cfg.ifname,
					   strerror(errno));
		}
	}
	return 0;
}

/* Hugepages when the system has them (fewer TLB misses per frame), plain pages otherwise. */
static void *umem_alloc(size_t *len)
{
	size_t huge = (*len + HUGE_2M - 1) & ~(size_t)(HUGE_2M - 1);
	void *p = mmap(NULL, huge, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);

	if (p != MAP_FAILED) {
		*len = huge;
		return p;
	}
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
		 0);
	return p == MAP_FAILED ? NULL : p;
}

static int queue_open(struct driver *d, struct xdp_priv *x, uint16_t qi)
{
	const struct driver_cfg *c = &d->cfg;
	struct xdp_queue *q = &x->q[qi];
	uint32_t tx_frames = c->bufs / 2 < c->ring_size ? c->bufs / 2 : c->ring_size;
	uint32_t rx_frames = c->bufs - tx_frames;
	struct xsk_umem_config uc = {
		.fill_size = pow2_ceil(rx_frames),
		.comp_size = pow2_ceil(tx_frames),
		.frame_size = c->buf_size,
	};
	struct xsk_socket_config sc = {
		.rx_size = c->ring_size,
		.tx_size = c->ring_size,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP | (c->zero_copy ? XDP_ZEROCOPY : 0),
	};
	struct xdp_options opts = { 0 };
	socklen_t optlen = sizeof(opts);
	uint32_t idx;
	int rc;

	q->fd = -1;
	q->area_len = (size_t)c->bufs * c->buf_size;
	q->area = umem_alloc(&q->area_len);
	if (!q->area)
		return driver_fail(d, -ENOMEM, "queue %u: cannot map %zu KiB of UMEM", qi,
				   (size_t)c->bufs * c->buf_size >> 10);
	q->tx_free = malloc(sizeof(*q->tx_free) * tx_frames);
	if (!q->tx_free)
		return driver_fail(d, -ENOMEM, "queue %u: out of memory", qi);
	/* A socket closed just before (ours, or a dead process's) releases its queue from a
	 * kernel work item; until then bind says EBUSY, so wait for it a little. */
	for (int tries = 0;; tries++) {
		rc = xsk_umem__create(&q->umem, q->area, (uint64_t)c->bufs * c->buf_size, &q->fill,
				      &q->comp, &uc);
		if (rc) {
			q->umem = NULL;
			return driver_fail(d, rc, "queue %u: register UMEM of %u x %u B: %s", qi,
					   c->bufs, c->buf_size, strerror(-rc));
		}
		rc = xsk_socket__create(&q->xsk, c->ifname, qi, q->umem, &q->rx, &q->tx, &sc);
		if (!rc)
			break;
		q->xsk = NULL;
		xsk_umem__delete(q->umem);
		q->umem = NULL;
		if (rc != -EBUSY || tries == 100)
			break;
		usleep(10000);
	}
	if (rc == -EBUSY)
		return driver_fail(d, rc, "queue %u of %s is held by another AF_XDP socket", qi,
				   c->ifname);
	if (rc && c->zero_copy && (rc == -EOPNOTSUPP || rc == -EPROTONOSUPPORT || rc == -EINVAL))
		return driver_fail(
			d, rc,
			"queue %u: %s cannot do zero-copy AF_XDP (%s): set zero_copy off to "
			"use copy mode",
			qi, c->ifname, strerror(-rc));
	if (rc)
		return driver_fail(d, rc, "queue %u: create AF_XDP socket on %s: %s", qi, c->ifname,
				   strerror(-rc));
	q->fd = xsk_socket__fd(q->xsk);
	if (getsockopt(q->fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen) == 0)
		LOG_INFO("xdp: queue %u bound in %s mode", qi,
			 (opts.flags & XDP_OPTIONS_ZEROCOPY) ? "zero-copy" : "copy");
	rc = xsk_socket__update_xskmap(q->xsk, bpf_map__fd(x->skel->maps.xsks));
	if (rc)
		return driver_fail(d, rc, "queue %u: add socket to the XSKMAP: %s", qi,
				   strerror(-rc));

	if (xsk_ring_prod__reserve(&q->fill, rx_frames, &idx) != rx_frames)
		return driver_fail(d, -ENOSPC, "queue %u: fill ring smaller than %u frames", qi,
				   rx_frames);
	for (uint32_t i = 0; i < rx_frames; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = (uint64_t)i * c->buf_size;
	xsk_ring_prod__submit(&q->fill, rx_frames);
	for (uint32_t i = 0; i < tx_frames; i++)
		q->tx_free[i] = (uint64_t)(rx_frames + i) * c->buf_size;
	q->ntx_free = tx_frames;
	q->tx_frames = tx_frames;
	return 0;
}

static void xdp_close(struct driver *d)
{
	struct xdp_priv *x = d->priv;

	if (!x)
		return;
	for (uint16_t qi = 0; qi < DRIVER_MAX_QUEUES; qi++) {
		struct xdp_queue *q = &x->q[qi];

		if (q->xsk)
			xsk_socket__delete(q->xsk);
		if (q->umem)
			xsk_umem__delete(q->umem);
		if (q->area)
			munmap(q->area, q->area_len);
		free(q->tx_free);
	}
	if (x->mcast_fd >= 0)
		close(x->mcast_fd);
	/* Closing the only reference to the link detaches the program. */
	if (x->link_fd >= 0)
		close(x->link_fd);
	feed_filter__destroy(x->skel);
	free(x);
	d->priv = NULL;
}

static int xdp_open(struct driver *d)
{
	struct xdp_priv *x;
	int rc;

	rc = check_cfg(d);
	if (rc)
		return rc;
	x = calloc(1, sizeof(*x));
	if (!x)
		return driver_fail(d, -ENOMEM, "out of memory");
	x->link_fd = -1;
	x->mcast_fd = -1;
	x->frame_mask = ~(uint64_t)(d->cfg.buf_size - 1);
	d->priv = x;

	x->ifindex = (int)if_nametoindex(d->cfg.ifname);
	if (!x->ifindex) {
		rc = driver_fail(d, -ENODEV, "interface %s not found", d->cfg.ifname);
		goto err;
	}
	rc = check_memlock(d, (uint64_t)d->cfg.queues * d->cfg.bufs * d->cfg.buf_size);
	if (rc)
		goto err;
	rc = iface_addrs(d, x);
	if (rc)
		goto err;
	rc = load_filter(d, x);
	if (rc)
		goto err;
	rc = detach_leftover(d, x->ifindex);
	if (rc)
		goto err;
	rc = attach(d, x);
	if (rc)
		goto err;
	for (uint16_t qi = 0; qi < d->cfg.queues; qi++) {
		rc = queue_open(d, x, qi);
		if (rc)
			goto err;
	}
	rc = join_groups(d, x);
	if (rc)
		goto err;
	return 0;
err:
	xdp_close(d);
	return rc;
}

/* Hands a frame straight back to the kernel; the fill ring holds every rx frame, so there is
 * always room. */
static inline void refill_one(struct xdp_queue *q, uint64_t addr)
{
	uint32_t idx;

	if (xsk_ring_prod__reserve(&q->fill, 1, &idx) == 1) {
		*xsk_ring_prod__fill_addr(&q->fill, idx) = addr;
		xsk_ring_prod__submit(&q->fill, 1);
	}
}

static uint16_t xdp_rx_burst(struct driver *d, uint16_t queue, struct pkt *pkts, uint16_t n)
{
	struct xdp_priv *x = d->priv;
	struct xdp_queue *q = &x->q[queue];
	struct driver_stats *st = &d->qstats[queue].s;
	uint32_t idx, got;
	uint16_t k = 0;
	uint64_t tsc, bytes = 0;

	got = n ? xsk_ring_cons__peek(&q->rx, n, &idx) : 0;
	if (!got) {
		/* Only when the kernel ran out of fill entries and asked to be woken. */
		if (xsk_ring_prod__needs_wakeup(&q->fill))
			recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return 0;
	}
	tsc = clock_tsc();
	for (uint32_t i = 0; i < got; i++) {
		const struct xdp_desc *desc = xsk_ring_cons__rx_desc(&q->rx, idx + i);
		const uint8_t *frame = xsk_umem__get_data(q->area, desc->addr);
		enum driver_drop why;

		/* The filter already matched it, but a frame is untrusted input: check again. */
		if (net_udp_classify(frame, desc->len, &d->cfg, &pkts[k], &why) != 0) {
			st->drops[why]++;
			refill_one(q, desc->addr & x->frame_mask);
			continue;
		}
		pkts[k].rx_tsc = tsc;
		pkts[k].hw_ts_ns = 0;
		pkts[k].handle = (uintptr_t)desc->addr;
		bytes += pkts[k].len;
		k++;
	}
	xsk_ring_cons__release(&q->rx, got);
	st->rx_packets += k;
	st->rx_bytes += bytes;
	return k;
}

static void xdp_release(struct driver *d, uint16_t queue, const struct pkt *pkts, uint16_t n)
{
	struct xdp_priv *x = d->priv;
	struct xdp_queue *q = &x->q[queue];
	uint32_t idx;

	if (!n)
		return;
	/* Cannot fail unless a frame is released twice: the ring has a slot for every rx frame. */
	if (xsk_ring_prod__reserve(&q->fill, n, &idx) != n)
		return;
	for (uint16_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = pkts[i].handle & x->frame_mask;
	xsk_ring_prod__submit(&q->fill, n);
}

static inline void tx_reclaim(struct xdp_priv *x, struct xdp_queue *q)
{
	uint32_t idx, done = xsk_ring_cons__peek(&q->comp, q->tx_frames, &idx);

	for (uint32_t i = 0; i < done; i++)
		q->tx_free[q->ntx_free++] = *xsk_ring_cons__comp_addr(&q->comp, idx + i) &
					    x->frame_mask;
	if (done)
		xsk_ring_cons__release(&q->comp, done);
}

/* Queues a prefix of pkts: it stops at the first packet that finds no free frame, no ring slot,
 * or does not fit a frame; the rest count as tx_full. */
static uint16_t xdp_tx_burst(struct driver *d, uint16_t queue, const struct tx_pkt *pkts,
			     uint16_t n)
{
	struct xdp_priv *x = d->priv;
	struct xdp_queue *q = &x->q[queue];
	struct driver_stats *st = &d->qstats[queue].s;
	uint32_t want = 0, idx;
	uint64_t bytes = 0;

	tx_reclaim(x, q);
	while (want < n && want < q->ntx_free &&
	       (uint32_t)pkts[want].len + NET_UDP_FRAME_OVERHEAD <= d->cfg.buf_size)
		want++;
	if (want && xsk_ring_prod__reserve(&q->tx, want, &idx) != want)
		want = 0;
	for (uint32_t i = 0; i < want; i++) {
		const struct tx_pkt *p = &pkts[i];
		uint64_t addr = q->tx_free[--q->ntx_free];
		struct xdp_desc *desc = xsk_ring_prod__tx_desc(&q->tx, idx + i);

		desc->addr = addr;
		desc->len = (uint32_t)net_udp_build(q->area + addr, d->cfg.buf_size, x->src_mac,
						    x->dst_mac, x->src_ip, p->dst_ip,
						    d->cfg.tx_src_port, p->dst_port, p->data,
						    p->len);
		bytes += p->len;
	}
	if (want)
		xsk_ring_prod__submit(&q->tx, want);
	/* Copy mode always asks for the kick; zero-copy only when the driver is idle. Frames
	 * still in flight get another kick on the next burst. */
	if ((want || q->ntx_free < q->tx_frames) && xsk_ring_prod__needs_wakeup(&q->tx))
		sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	st->tx_packets += want;
	st->tx_bytes += bytes;
	st->tx_full += n - want;
	return (uint16_t)want;
}

static int xdp_stats(struct driver *d, struct driver_stats *out)
{
	struct xdp_priv *x = d->priv;

	driver_stats_sum_queues(d, out);
	for (uint16_t qi = 0; qi < d->cfg.queues; qi++) {
		struct xdp_statistics xs;
		socklen_t len = sizeof(xs);

		if (getsockopt(x->q[qi].fd, SOL_XDP, XDP_STATISTICS, &xs, &len) != 0)
			return -errno;
		/* Every way the kernel lost a frame meant for the socket: no fill entry, a full
		 * rx ring, or a frame that did not fit. */
		out->rx_nobuf += xs.rx_dropped + xs.rx_ring_full + xs.rx_fill_ring_empty_descs;
	}
	return 0;
}

int xdp_filter_counters_read(struct driver *d, uint64_t out[XDP_FILTER_COUNTERS])
{
	struct xdp_priv *x;
	int ncpu = libbpf_num_possible_cpus();

	if (!d || d->ops != &driver_xdp_ops || !d->priv || ncpu <= 0)
		return -EINVAL;
	x = d->priv;
	uint64_t *per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	int fd = bpf_map__fd(x->skel->maps.counters);
	int rc = 0;
	for (uint32_t k = 0; k < XDP_FILTER_COUNTERS; k++) {
		if (bpf_map_lookup_elem(fd, &k, per_cpu) != 0) {
			rc = -errno;
			break;
		}
		out[k] = 0;
		for (int c = 0; c < ncpu; c++)
			out[k] += per_cpu[c];
	}
	free(per_cpu);
	return rc;
}

const struct driver_ops driver_xdp_ops = {
	.name = "xdp",
	.open = xdp_open,
	.rx_burst = xdp_rx_burst,
	.release = xdp_release,
	.tx_burst = xdp_tx_burst,
	.stats = xdp_stats,
	.close = xdp_close,
};
