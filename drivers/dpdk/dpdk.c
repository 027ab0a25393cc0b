/*
 * The DPDK backend: the EAL is initialised from cfg->dpdk_args, one port is set up with a mempool
 * and an rx/tx queue pair per worker, and bursts are handed out as views into the mbufs. It works
 * the same on a NIC bound to vfio-pci and on virtual devices (net_pcap, net_ring, net_af_packet,
 * net_af_xdp). Set-up code may allocate and log; the burst functions only touch preallocated
 * per-queue arrays and the PMD.
 */
#include "dpdk.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>

#include "clock.h"
#include "net.h"

/* The most packets one rx or tx burst moves; larger requests are served in part. */
#define DPDK_BURST_MAX 256
#define DPDK_MAX_ARGS 64
#define DPDK_MAX_MC 8

struct dpdk_queue {
	struct rte_mempool *pool;
	struct rte_mbuf *mbufs[DPDK_BURST_MAX];
} __attribute__((aligned(64)));

struct dpdk_priv {
	uint16_t port;
	bool have_port; /* port is ours to stop and close */
	bool started;
	bool hw_ts; /* the device stamps mbufs: read the dynfield at ts_off when ts_flag is set */
	int ts_off;
	uint64_t ts_flag;
	uint8_t mac[6];
	struct driver_dpdk_link link;
	char *argbuf; /* the split copy of cfg->dpdk_args that argv points into */
	char rundir[128]; /* the EAL's runtime dir when we chose its prefix, removed at close */
	struct dpdk_queue q[DRIVER_MAX_QUEUES];
};

/* DPDK has one EAL per process, and rte_eal_cleanup() does not make a second rte_eal_init()
 * possible, so the backend refuses early with a clear message rather than let the EAL fail. */
static bool eal_used;
static unsigned int open_count;

static bool has_prefix(const char *tok, const char *prefix)
{
	return strncmp(tok, prefix, strlen(prefix)) == 0;
}

/* -l, -c and --lcores all choose the lcores; only a single-dash option may be glued to its value. */
static bool is_lcore_opt(const char *tok)
{
	return (tok[0] == '-' && (tok[1] == 'l' || tok[1] == 'c')) || has_prefix(tok, "--lcores");
}

/* The first CPU this thread may run on: the default main lcore when the caller names none. */
static int first_allowed_cpu(const cpu_set_t *set)
{
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set))
			return c;
	return 0;
}

/*
 * Splits cfg->dpdk_args on white space into argv (no quoting: EAL arguments do not need it) and
 * adds what keeps parallel processes apart unless the caller chose otherwise: a unique
 * --file-prefix, --in-memory (no files under /var/run/dpdk or hugetlbfs to collide on or leak),
 * --no-telemetry (no socket), and -l with one core. With --no-huge, --no-shconf stands in for
 * --in-memory. Returns argc, or -errno with d->err set.
 */
static int build_argv(struct driver *d, struct dpdk_priv *p, const cpu_set_t *cpus, char **argv,
		      char extra[4][64])
{
	const char *args = d->cfg.dpdk_args ? d->cfg.dpdk_args : "";
	bool prefix = false, memory = false, telemetry = false, lcores = false, nohuge = false;
	int argc = 0, nextra = 0;

	p->argbuf = strdup(args);
	if (!p->argbuf) {
		snprintf(d->err, sizeof(d->err), "out of memory");
		return -ENOMEM;
	}
	argv[argc++] = "tradsys";
	for (char *save = NULL, *tok = strtok_r(p->argbuf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (argc >= DPDK_MAX_ARGS - 5) {
			snprintf(d->err, sizeof(d->err), "dpdk_args: more than %d arguments",
				 DPDK_MAX_ARGS - 5);
			return -E2BIG;
		}
		prefix |= has_prefix(tok, "--file-prefix");
		memory |= has_prefix(tok, "--in-memory") || has_prefix(tok, "--proc-type") ||
			  has_prefix(tok, "--huge-unlink");
		nohuge |= has_prefix(tok, "--no-huge");
		telemetry |= has_prefix(tok, "--telemetry") || has_prefix(tok, "--no-telemetry");
		lcores |= is_lcore_opt(tok);
		argv[argc++] = tok;
	}
	if (!prefix) {
		snprintf(extra[nextra], 64, "--file-prefix=tradsys-%d-%u", (int)getpid(),
			 open_count);
		argv[argc++] = extra[nextra++];
		p->rundir[0] = 1; /* filled in once the EAL has made it */
	}
	/* --no-huge implies legacy memory, which --in-memory refuses: no shared config then. */
	if (!memory)
		argv[argc++] = nohuge ? "--no-shconf" : "--in-memory";
	if (!telemetry)
		argv[argc++] = "--no-telemetry";
	if (!lcores) {
		snprintf(extra[nextra], 64, "-l%d", first_allowed_cpu(cpus));
		argv[argc++] = extra[nextra++];
	}
	argv[argc] = NULL;
	return argc;
}

static int eal_init(struct driver *d, struct dpdk_priv *p)
{
	char *argv[DPDK_MAX_ARGS + 1];
	char extra[4][64];
	cpu_set_t cpus;
	int argc, rc;

	if (eal_used) {
		snprintf(d->err, sizeof(d->err),
			 "the DPDK EAL was already initialised in this process: one dpdk driver "
			 "per process");
		return -EALREADY;
	}
	CPU_ZERO(&cpus);
	if (pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus) != 0)
		CPU_SET(0, &cpus);
	argc = build_argv(d, p, &cpus, argv, extra);
	if (argc < 0)
		return argc;
	eal_used = true;
	open_count++;
	rc = rte_eal_init(argc, argv);
	/* The EAL pins the calling thread to the main lcore; the caller's threads are pinned by the
	 * worker runtime instead, so the start-up thread gets its own CPU set back. */
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	/* Even with --in-memory the EAL makes an empty /var/run/dpdk/<prefix>, and never removes
	 * it; a unique prefix per process would leave one behind per run. */
	if (p->rundir[0])
		snprintf(p->rundir, sizeof(p->rundir), "%s", rte_eal_get_runtime_dir());
	if (rc < 0) {
		if (p->rundir[0])
			(void)rmdir(p->rundir);
		int e = rte_errno;
		snprintf(
			d->err, sizeof(d->err),
			"EAL init failed: %s (args \"%s\"); check hugepages (scripts/bootstrap) or "
			"run with --no-huge -m 256",
			rte_strerror(e), d->cfg.dpdk_args ? d->cfg.dpdk_args : "");
		return e > 0 && e < 4096 ? -e : -EINVAL;
	}
	return 0;
}

/* The flows' multicast MACs, so the NIC filters in hardware; allmulticast where it cannot. */
static void setup_multicast(struct driver *d, struct dpdk_priv *p)
{
	struct rte_ether_addr mc[DPDK_MAX_MC];
	uint32_t n = 0;

	for (uint16_t f = 0; f < d->cfg.nflows && n < DPDK_MAX_MC; f++) {
		const uint8_t *g = (const uint8_t *)&d->cfg.flows[f].group;
		if ((g[0] & 0xf0) != 0xe0)
			continue;
		const struct rte_ether_addr a = { { 0x01, 0x00, 0x5e, (uint8_t)(g[1] & 0x7f), g[2],
						    g[3] } };
		bool dup = false;
		for (uint32_t i = 0; i < n; i++)
			dup |= rte_is_same_ether_addr(&mc[i], &a);
		if (!dup)
			mc[n++] = a;
	}
	if (n == 0)
		return;
	/* Virtual devices (pcap, ring) have neither filter: they deliver every frame anyway. */
	if (rte_eth_dev_set_mc_addr_list(p->port, mc, n) != 0)
		(void)rte_eth_allmulticast_enable(p->port);
}

static int read_link(uint16_t port, struct driver_dpdk_link *out)
{
	struct rte_eth_link link;
	int rc;

	memset(&link, 0, sizeof(link));
	rc = rte_eth_link_get_nowait(port, &link);
	if (rc < 0)
		return rc;
	out->up = link.link_status == RTE_ETH_LINK_UP;
	out->full_duplex = link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
	out->speed_mbps = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
	return 0;
}

static int port_setup(struct driver *d, struct dpdk_priv *p)
{
	const struct driver_cfg *cfg = &d->cfg;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	uint16_t nrx = cfg->ring_size, ntx = cfg->ring_size;
	int socket, rc;

	if (rte_eth_dev_count_avail() == 0) {
		snprintf(d->err, sizeof(d->err), "no DPDK ports: check --vdev/--allow");
		return -ENODEV;
	}
	if (!rte_eth_dev_is_valid_port(cfg->dpdk_port)) {
		snprintf(d->err, sizeof(d->err), "dpdk_port %u does not exist: %u ports probed",
			 cfg->dpdk_port, rte_eth_dev_count_avail());
		return -ENODEV;
	}
	p->port = cfg->dpdk_port;
	p->have_port = true;
	rc = rte_eth_dev_info_get(p->port, &info);
	if (rc < 0) {
		snprintf(d->err, sizeof(d->err), "port %u: cannot read device info: %s", p->port,
			 rte_strerror(-rc));
		return rc;
	}
	if (cfg->queues > info.max_rx_queues || cfg->queues > info.max_tx_queues) {
		snprintf(d->err, sizeof(d->err),
			 "port %u (%s): %u queues asked, the device has %u rx and %u tx", p->port,
			 info.driver_name, cfg->queues, info.max_rx_queues, info.max_tx_queues);
		return -EINVAL;
	}

	memset(&conf, 0, sizeof(conf));
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) {
		if (rte_mbuf_dyn_rx_timestamp_register(&p->ts_off, &p->ts_flag) == 0) {
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
			p->hw_ts = true;
		}
	}
	rc = rte_eth_dev_configure(p->port, cfg->queues, cfg->queues, &conf);
	if (rc < 0) {
		snprintf(d->err, sizeof(d->err), "port %u (%s): configure %u queue pairs: %s",
			 p->port, info.driver_name, cfg->queues, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port, &nrx, &ntx);
	if (rc < 0) {
		snprintf(d->err, sizeof(d->err), "port %u: ring_size %u: %s", p->port,
			 cfg->ring_size, rte_strerror(-rc));
		return rc;
	}

	socket = rte_eth_dev_socket_id(p->port);
	if (socket < 0)
		socket = (int)rte_socket_id();
	for (uint16_t q = 0; q < cfg->queues; q++) {
		char name[RTE_MEMPOOL_NAMESIZE];
		/* A per-lcore cache must stay under 1/1.5 of the pool (rte_mempool's rule). */
		unsigned int cache = cfg->bufs / 2 < 256 ? cfg->bufs / 2 : 256;

		snprintf(name, sizeof(name), "tsdpdk%u_%u", p->port, q);
		p->q[q].pool = rte_pktmbuf_pool_create(
			name, cfg->bufs, cache, 0, (uint16_t)(cfg->buf_size + RTE_PKTMBUF_HEADROOM),
			socket);
		if (!p->q[q].pool) {
			snprintf(
				d->err, sizeof(d->err),
				"cannot allocate %u mbufs of %u bytes on socket %d for queue %u: %s; "
				"reserve more hugepages",
				cfg->bufs, cfg->buf_size, socket, q, rte_strerror(rte_errno));
			return -ENOMEM;
		}
		rc = rte_eth_rx_queue_setup(p->port, q, nrx, (unsigned int)socket, NULL,
					    p->q[q].pool);
		if (rc < 0) {
			snprintf(d->err, sizeof(d->err),
				 "port %u: rx queue %u (%u descriptors, %u mbufs): %s", p->port, q,
				 nrx, cfg->bufs, rte_strerror(-rc));
			return rc;
		}
		rc = rte_eth_tx_queue_setup(p->port, q, ntx, (unsigned int)socket, NULL);
		if (rc < 0) {
			snprintf(d->err, sizeof(d->err),
				 "port %u: tx queue %u (%u descriptors): %s", p->port, q, ntx,
				 rte_strerror(-rc));
			return rc;
		}
	}

	setup_multicast(d, p);
	rc = rte_eth_macaddr_get(p->port, &mac);
	if (rc == 0)
		memcpy(p->mac, mac.addr_bytes, 6);
	rc = rte_eth_dev_start(p->port);
	if (rc < 0) {
		snprintf(d->err, sizeof(d->err), "port %u (%s): start: %s", p->port,
			 info.driver_name, rte_strerror(-rc));
		return rc;
	}
	p->started = true;
	(void)read_link(p->port, &p->link);
	return 0;
}

static void dpdk_teardown(struct dpdk_priv *p, bool eal_up)
{
	if (eal_up && p->have_port) {
		if (p->started)
			(void)rte_eth_dev_stop(p->port);
		(void)rte_eth_dev_close(p->port);
	}
	for (int q = 0; q < DRIVER_MAX_QUEUES; q++)
		rte_mempool_free(p->q[q].pool);
	if (eal_up)
		(void)rte_eal_cleanup();
	if (p->rundir[0])
		(void)rmdir(p->rundir);
	free(p->argbuf);
	free(p);
}

static int dpdk_open(struct driver *d)
{
	struct dpdk_priv *p;
	int rc;

	if (d->cfg.bufs == 0 || d->cfg.buf_size < NET_UDP_FRAME_OVERHEAD ||
	    d->cfg.buf_size > UINT16_MAX - RTE_PKTMBUF_HEADROOM) {
		snprintf(d->err, sizeof(d->err),
			 "bufs %u × buf_size %u: need at least 1 buffer of %d to %d bytes",
			 d->cfg.bufs, d->cfg.buf_size, NET_UDP_FRAME_OVERHEAD,
			 UINT16_MAX - RTE_PKTMBUF_HEADROOM);
		return -EINVAL;
	}
	p = aligned_alloc(64, sizeof(*p));
	if (!p) {
		snprintf(d->err, sizeof(d->err), "out of memory");
		return -ENOMEM;
	}
	memset(p, 0, sizeof(*p));
	rc = eal_init(d, p);
	if (rc) {
		free(p->argbuf);
		free(p);
		return rc;
	}
	rc = port_setup(d, p);
	if (rc) {
		dpdk_teardown(p, true);
		return rc;
	}
	d->priv = p;
	return 0;
}

static uint16_t dpdk_rx_burst(struct driver *d, uint16_t queue, struct pkt *pkts, uint16_t n)
{
	struct dpdk_priv *p = d->priv;
	struct dpdk_queue *dq = &p->q[queue];
	struct driver_stats *s = &d->qstats[queue].s;
	uint16_t got, out = 0;
	uint64_t tsc, bytes = 0;

	if (n > DPDK_BURST_MAX)
		n = DPDK_BURST_MAX;
	got = rte_eth_rx_burst(p->port, queue, dq->mbufs, n);
	if (got == 0)
		return 0;
	tsc = clock_tsc();
	for (uint16_t i = 0; i < got; i++) {
		struct rte_mbuf *m = dq->mbufs[i];
		struct pkt *pk = &pkts[out];
		enum driver_drop why;

		/* A frame chained over segments classifies as malformed: buf_size must hold a
		 * whole frame, and the payload view must be contiguous. */
		if (net_udp_classify(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m),
				     &d->cfg, pk, &why) != 0) {
			s->drops[why]++;
			rte_pktmbuf_free(m);
			continue;
		}
		pk->rx_tsc = tsc;
		pk->hw_ts_ns = 0;
		if (p->hw_ts && (m->ol_flags & p->ts_flag))
			pk->hw_ts_ns = *RTE_MBUF_DYNFIELD(m, p->ts_off, rte_mbuf_timestamp_t *);
		pk->handle = (uintptr_t)m;
		bytes += pk->len;
		out++;
	}
	s->rx_packets += out;
	s->rx_bytes += bytes;
	return out;
}

static void dpdk_release(struct driver *d, uint16_t queue, const struct pkt *pkts, uint16_t n)
{
	struct rte_mbuf *batch[64];
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		batch[k++] = (struct rte_mbuf *)pkts[i].handle;
		if (k == 64) {
			rte_pktmbuf_free_bulk(batch, k);
			k = 0;
		}
	}
	if (k)
		rte_pktmbuf_free_bulk(batch, k);
}

static uint16_t dpdk_tx_burst(struct driver *d, uint16_t queue, const struct tx_pkt *pkts,
			      uint16_t n)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct dpdk_priv *p = d->priv;
	struct dpdk_queue *dq = &p->q[queue];
	struct driver_stats *s = &d->qstats[queue].s;
	const uint8_t *dst_mac = d->cfg.tx_dst_mac;
	uint16_t want = n > DPDK_BURST_MAX ? DPDK_BURST_MAX : n, built = 0, sent;
	uint64_t bytes = 0;

	/* An all-zero next hop means broadcast (driver.h). */
	if (!(dst_mac[0] | dst_mac[1] | dst_mac[2] | dst_mac[3] | dst_mac[4] | dst_mac[5]))
		dst_mac = bcast;
	/* Bulk allocation is all or nothing; under pressure take what the pool still has. */
	if (rte_pktmbuf_alloc_bulk(dq->pool, dq->mbufs, want) != 0) {
		uint16_t have = 0;
		while (have < want && (dq->mbufs[have] = rte_pktmbuf_alloc(dq->pool)) != NULL)
			have++;
		want = have;
	}
	/* Frames go out in order, so the first payload that does not fit ends the burst. */
	for (; built < want; built++) {
		struct rte_mbuf *m = dq->mbufs[built];
		const struct tx_pkt *t = &pkts[built];
		size_t len = net_udp_build(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m),
					   p->mac, dst_mac, d->cfg.local_ip, t->dst_ip,
					   d->cfg.tx_src_port, t->dst_port, t->data, t->len);
		if (len == 0)
			break;
		m->data_len = (uint16_t)len;
		m->pkt_len = (uint32_t)len;
		bytes += t->len;
	}
	sent = rte_eth_tx_burst(p->port, queue, dq->mbufs, built);
	for (uint16_t i = sent; i < want; i++)
		rte_pktmbuf_free(dq->mbufs[i]);
	/* Bytes of the packets the device did not take come off the total. */
	for (uint16_t i = sent; i < built; i++)
		bytes -= pkts[i].len;
	s->tx_packets += sent;
	s->tx_bytes += bytes;
	s->tx_full += (uint64_t)(n - sent);
	return sent;
}

static int dpdk_stats(struct driver *d, struct driver_stats *out)
{
	struct dpdk_priv *p = d->priv;
	struct rte_eth_stats st;
	int rc;

	driver_stats_sum_queues(d, out);
	rc = rte_eth_stats_get(p->port, &st);
	if (rc < 0)
		return rc;
	out->rx_nobuf += st.imissed + st.rx_nombuf;
	return 0;
}

static void dpdk_close(struct driver *d)
{
	if (d->priv)
		dpdk_teardown(d->priv, true);
	d->priv = NULL;
}

const struct driver_ops driver_dpdk_ops = {
	.name = "dpdk",
	.open = dpdk_open,
	.rx_burst = dpdk_rx_burst,
	.release = dpdk_release,
	.tx_burst = dpdk_tx_burst,
	.stats = dpdk_stats,
	.close = dpdk_close,
};

int driver_dpdk_xstats(struct driver *d, void (*cb)(void *ctx, const char *name, uint64_t value),
		       void *ctx)
{
	struct rte_eth_xstat_name *names = NULL;
	struct rte_eth_xstat *vals = NULL;
	struct dpdk_priv *p;
	int n, rc = 0;

	if (!d || d->ops != &driver_dpdk_ops || !d->priv)
		return -EINVAL;
	p = d->priv;
	n = rte_eth_xstats_get_names(p->port, NULL, 0);
	if (n <= 0)
		return n;
	names = calloc((size_t)n, sizeof(*names));
	vals = calloc((size_t)n, sizeof(*vals));
	if (!names || !vals) {
		rc = -ENOMEM;
		goto out;
	}
	if (rte_eth_xstats_get_names(p->port, names, (unsigned int)n) != n ||
	    rte_eth_xstats_get(p->port, vals, (unsigned int)n) != n) {
		/* The count changed between the calls or the PMD failed: report nothing partial. */
		rc = -EIO;
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (vals[i].id < (uint64_t)n)
			cb(ctx, names[vals[i].id].name, vals[i].value);
out:
	free(names);
	free(vals);
	return rc;
}

int driver_dpdk_link(struct driver *d, struct driver_dpdk_link *out)
{
	struct dpdk_priv *p;
	int rc;

	if (!d || d->ops != &driver_dpdk_ops || !d->priv)
		return -EINVAL;
	p = d->priv;
	rc = read_link(p->port, &p->link);
	if (rc == 0)
		*out = p->link;
	return rc;
}
