/*
 * Description: the worker loop's logic against a software queue standing in for a driver (defined
 * here, in the test, because it tests the loop and not a driver): packets reach the handler in
 * order, in bursts of at most WORKER_BURST, and are released exactly once after the handler; the
 * tick runs at its interval on a fake clock and once after a stall; command polls every N passes
 * publish the heartbeat and the driver's drops and hand ring records to on_command; pass, busy,
 * packet and byte counters; the stop flag ends a started worker; the backoff strategy sleeps.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define SWQ_CAP 1024

/* The software queue: packets pushed by the test, handed out in order, released by handle. */
struct swq {
	uint8_t data[SWQ_CAP][8];
	uint16_t len[SWQ_CAP];
	uint32_t head, tail;
	uint32_t released[SWQ_CAP];
	uint32_t outstanding; /* handed out and not yet released */
	uint32_t max_burst;
};

static struct swq q;
static _Alignas(64) struct driver drv;
static struct shm_stats_worker st;
static atomic_bool stop;

static uint16_t swq_rx(struct driver *d, uint16_t queue, struct pkt *p, uint16_t n)
{
	struct swq *s = d->priv;
	uint16_t got = 0;

	while (got < n && s->tail < s->head) {
		uint32_t i = s->tail++;
		memset(&p[got], 0, sizeof(p[got]));
		p[got].data = s->data[i];
		p[got].len = s->len[i];
		p[got].handle = i;
		got++;
	}
	s->outstanding += got;
	if (got > s->max_burst)
		s->max_burst = got;
	return got;
}

static void swq_release(struct driver *d, uint16_t queue, const struct pkt *p, uint16_t n)
{
	struct swq *s = d->priv;

	for (uint16_t i = 0; i < n; i++)
		s->released[p[i].handle]++;
	s->outstanding -= n;
}

static uint16_t swq_tx(struct driver *d, uint16_t queue, const struct tx_pkt *p, uint16_t n)
{
	return 0;
}

static int swq_stats(struct driver *d, struct driver_stats *out)
{
	driver_stats_sum_queues(d, out);
	return 0;
}

static const struct driver_ops swq_ops = {
	.name = "swq",
	.rx_burst = swq_rx,
	.release = swq_release,
	.tx_burst = swq_tx,
	.stats = swq_stats,
};

static void push(uint32_t n, uint16_t len)
{
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = q.head++;
		memset(q.data[i], 0, sizeof(q.data[i]));
		memcpy(q.data[i], &i, sizeof(i));
		q.len[i] = len;
	}
}

/* What the test handler saw. */
struct seen {
	uint32_t seq[SWQ_CAP];
	uint32_t n;
	uint32_t unreleased_at_call; /* outstanding packets while the handler ran, max */
	uint64_t timer_at[64];
	uint32_t timers;
	uint32_t stop_after_timers; /* 0: never */
	uint32_t cmds[64];
	uint32_t ncmds;
	uint32_t stops; /* on_stop calls */
	pthread_t stop_thread; /* the thread on_stop ran on */
	uint32_t state_at_stop; /* the stats region's state then */
};

static struct seen seen;

static void on_packets(void *ctx, struct pkt *p, uint16_t n, uint64_t now)
{
	struct seen *s = ctx;

	for (uint16_t i = 0; i < n; i++) {
		uint32_t v;
		memcpy(&v, p[i].data, sizeof(v));
		s->seq[s->n++] = v;
	}
	if (q.outstanding > s->unreleased_at_call)
		s->unreleased_at_call = q.outstanding;
}

static int on_timer(void *ctx, uint64_t now)
{
	struct seen *s = ctx;

	if (s->timers < 64)
		s->timer_at[s->timers] = now;
	s->timers++;
	if (s->stop_after_timers && s->timers == s->stop_after_timers)
		atomic_store(&stop, true);
	return 0;
}

static void on_command(void *ctx, const void *cmd, size_t len)
{
	struct seen *s = ctx;
	uint32_t v;

	cr_assert_eq(len, 16);
	memcpy(&v, cmd, sizeof(v));
	s->cmds[s->ncmds++] = v;
}

static void on_stop(void *ctx)
{
	struct seen *s = ctx;

	s->stops++;
	s->stop_thread = pthread_self();
	s->state_at_stop = st.state;
}

static void setup(void)
{
	memset(&q, 0, sizeof(q));
	memset(&drv, 0, sizeof(drv));
	memset(&st, 0, sizeof(st));
	hist_reset(&st.burst_cycles);
	memset(&seen, 0, sizeof(seen));
	atomic_store(&stop, false);
	drv.ops = &swq_ops;
	drv.cfg.queues = 1;
	drv.priv = &q;
	/* A 1 MHz "TSC": one cycle per microsecond, so fake times read as microseconds. */
	clock_cal.tsc_hz = 1000000;
}

static struct worker_cfg cfg_of(uint32_t poll, uint32_t flush_us)
{
	struct worker_cfg c = { .id = 3,
				.core = -1,
				.queue = 0,
				.idle = WORKER_IDLE_SPIN,
				.command_poll = poll,
				.tx_flush_us = flush_us };
	return c;
}

static struct worker *new_worker(const struct worker_cfg *c, struct spsc_ring *cmds)
{
	struct worker *w = aligned_alloc(64, sizeof(*w));
	struct worker_handler h = { .on_packets = on_packets,
				    .on_timer = on_timer,
				    .on_command = on_command,
				    .on_stop = on_stop,
				    .ctx = &seen };

	cr_assert_not_null(w);
	cr_assert_eq(worker_init(w, c, &drv, &h, cmds, &st, &stop), 0);
	return w;
}

TestSuite(worker, .init = setup);

Test(worker, packets_reach_handler_in_order_and_are_released_once)
{
	struct worker_cfg c = cfg_of(1024, 50);
	struct worker *w = new_worker(&c, NULL);

	push(500, 8);
	for (uint64_t t = 0; t < 100; t++)
		worker_pass(w, t);
	cr_assert_eq(seen.n, 500);
	for (uint32_t i = 0; i < 500; i++) {
		cr_assert_eq(seen.seq[i], i, "packet %u arrived as %u", i, seen.seq[i]);
		cr_assert_eq(q.released[i], 1, "packet %u released %u times", i, q.released[i]);
	}
	cr_assert_eq(q.outstanding, 0);
	/* The handler ran while its burst was still held: release comes after it. */
	cr_assert_eq(seen.unreleased_at_call, WORKER_BURST);
	free(w);
}

Test(worker, bursts_are_at_most_worker_burst)
{
	struct worker_cfg c = cfg_of(1024, 50);
	struct worker *w = new_worker(&c, NULL);

	push(100, 8);
	cr_assert_eq(worker_pass(w, 0), WORKER_BURST);
	cr_assert_eq(seen.n, WORKER_BURST);
	cr_assert_eq(q.max_burst, WORKER_BURST);
	free(w);
}

Test(worker, tick_runs_every_interval_on_fake_clock)
{
	struct worker_cfg c = cfg_of(1024, 50);
	struct worker *w = new_worker(&c, NULL);

	for (uint64_t t = 0; t <= 1000; t += 10)
		worker_pass(w, t);
	cr_assert_eq(seen.timers, 21);
	for (uint32_t i = 0; i < 21; i++)
		cr_assert_eq(seen.timer_at[i], i * 50ull);
	cr_assert_eq(st.timer_calls, 21);
	free(w);
}

Test(worker, tick_after_a_stall_runs_once_then_resumes_interval)
{
	struct worker_cfg c = cfg_of(1024, 50);
	struct worker *w = new_worker(&c, NULL);

	worker_pass(w, 0);
	worker_pass(w, 10000);
	worker_pass(w, 10049);
	worker_pass(w, 10050);
	cr_assert_eq(seen.timers, 3);
	cr_assert_eq(seen.timer_at[1], 10000);
	cr_assert_eq(seen.timer_at[2], 10050);
	free(w);
}

Test(worker, command_poll_every_n_passes_publishes_heartbeat_and_drops)
{
	struct worker_cfg c = cfg_of(4, 50);
	struct worker *w = new_worker(&c, NULL);

	drv.qstats[0].s.drops[DRIVER_DROP_NO_FLOW] = 7;
	drv.qstats[0].s.drops[DRIVER_DROP_MALFORMED] = 2;
	drv.qstats[0].s.rx_nobuf = 5;
	for (uint64_t t = 1; t <= 10; t++)
		worker_pass(w, t * 1000);
	cr_assert_eq(st.command_polls, 2);
	cr_assert_eq(st.heartbeat_tsc, 8000);
	cr_assert_eq(st.drops[DRIVER_DROP_NO_FLOW], 7);
	cr_assert_eq(st.drops[DRIVER_DROP_MALFORMED], 2);
	cr_assert_eq(st.drops[DRIVER_DROP_NOT_UDP], 0);
	cr_assert_eq(st.rx_nobuf, 5);
	free(w);
}

Test(worker, command_ring_records_reach_on_command_in_order_a_few_per_poll)
{
	struct worker_cfg c = cfg_of(1, 50);
	struct spsc_ring *r = aligned_alloc(64, spsc_ring_bytes(64, 16));
	struct worker *w;

	cr_assert_not_null(r);
	cr_assert_eq(spsc_ring_init(r, 64, 16), 0);
	w = new_worker(&c, r);
	for (uint32_t i = 0; i < 20; i++) {
		unsigned char rec[16] = { 0 };
		memcpy(rec, &i, sizeof(i));
		cr_assert_eq(spsc_enqueue_burst(r, rec, 1), 1);
	}
	cr_assert_eq(worker_pass(w, 0), WORKER_COMMANDS_PER_POLL);
	cr_assert_eq(seen.ncmds, WORKER_COMMANDS_PER_POLL);
	worker_pass(w, 1);
	worker_pass(w, 2);
	cr_assert_eq(worker_pass(w, 3), 0);
	cr_assert_eq(seen.ncmds, 20);
	for (uint32_t i = 0; i < 20; i++)
		cr_assert_eq(seen.cmds[i], i);
	free(w);
	free(r);
}

Test(worker, counters_count_passes_busy_passes_packets_bytes_and_bursts)
{
	struct worker_cfg c = cfg_of(1024, 50);
	struct worker *w = new_worker(&c, NULL);

	push(40, 6);
	for (uint64_t t = 0; t < 5; t++)
		worker_pass(w, t);
	cr_assert_eq(st.passes, 5);
	cr_assert_eq(st.busy_passes, 2);
	cr_assert_eq(st.packets, 40);
	cr_assert_eq(st.bytes, 240);
	cr_assert_eq(st.burst_cycles.count, 2);
	cr_assert_eq(st.id, 3);
	cr_assert_eq(st.core, -1);
	free(w);
}

/*
 * Stalls: a pass that begins more than WORKER_STALL_NS (5 fake cycles here) after a pass that
 * only polled the receive ring. Passes that ran the tick, a command poll or the handler may
 * take their time and do not count.
 */
Test(worker, stalls_count_only_gaps_after_quiet_passes)
{
	struct worker_cfg c = cfg_of(1000000, 1000);
	struct worker *w = new_worker(&c, NULL);

	worker_pass(w, 0); /* runs the tick: not quiet */
	worker_pass(w, 100);
	cr_assert_eq(st.stalls, 0, "a gap after the tick is the tick's own time");
	worker_pass(w, 101); /* quiet */
	worker_pass(w, 120);
	cr_assert_eq(st.stalls, 1);
	cr_assert_eq(st.stall_cycles, 19);
	cr_assert_eq(st.stall_max_cycles, 19);
	worker_pass(w, 124); /* 4: within the bound */
	cr_assert_eq(st.stalls, 1);
	worker_pass(w, 132);
	cr_assert_eq(st.stalls, 2);
	cr_assert_eq(st.stall_cycles, 27);
	cr_assert_eq(st.stall_max_cycles, 19);
	push(1, 8);
	worker_pass(w, 133); /* busy */
	worker_pass(w, 300);
	cr_assert_eq(st.stalls, 2, "a gap after a burst is the handler's time");
	worker_pass(w, 1000); /* 700 after the quiet pass at 300; this one runs the tick */
	cr_assert_eq(st.stalls, 3);
	cr_assert_eq(st.stall_max_cycles, 700);
	worker_pass(w, 1100);
	cr_assert_eq(st.stalls, 3, "a gap after the tick is the tick's own time");
	worker_pass(w, 1200);
	cr_assert_eq(st.stalls, 4);
	cr_assert_eq(st.stall_cycles, 19 + 8 + 700 + 100);
	cr_assert_eq(st.stall_max_cycles, 700);
	free(w);
}

Test(worker, init_rejects_bad_queue_intervals_and_handlers)
{
	struct worker w;
	struct worker_handler h = { .on_packets = on_packets, .ctx = &seen };
	struct worker_handler none = { 0 };
	struct worker_cfg c = cfg_of(1024, 50);
	struct spsc_ring *big = aligned_alloc(64, spsc_ring_bytes(2, 512));

	cr_assert_eq(spsc_ring_init(big, 2, 512), 0);
	cr_assert_eq(worker_init(&w, &c, &drv, &none, NULL, &st, &stop), -EINVAL);
	cr_assert_eq(worker_init(&w, &c, &drv, &h, big, &st, &stop), -EINVAL);
	c.queue = 1;
	cr_assert_eq(worker_init(&w, &c, &drv, &h, NULL, &st, &stop), -EINVAL);
	c = cfg_of(0, 50);
	cr_assert_eq(worker_init(&w, &c, &drv, &h, NULL, &st, &stop), -EINVAL);
	c = cfg_of(1024, 0);
	cr_assert_eq(worker_init(&w, &c, &drv, &h, NULL, &st, &stop), -EINVAL);
	c = cfg_of(1024, 50);
	cr_assert_eq(worker_init(&w, &c, &drv, &h, NULL, &st, &stop), 0);
	free(big);
}

Test(worker, stop_flag_ends_a_started_worker_after_it_drained_its_queue)
{
	struct worker_cfg c = cfg_of(16, 50);
	struct worker *w;

	clock_cal.tsc_hz = 0;
	cr_assert_eq(clock_calibrate(20), 0);
	w = new_worker(&c, NULL);
	push(300, 8);
	cr_assert_eq(worker_start(w), 0);
	/* Bounded by a pass count, not a time: the worker must get there eventually. */
	for (uint64_t spins = 0; __atomic_load_n(&st.packets, __ATOMIC_RELAXED) < 300; spins++) {
		cr_assert_lt(spins, 1000000000ull, "worker never drained its queue");
		sched_yield();
	}
	cr_assert_eq(seen.stops, 0);
	atomic_store(&stop, true);
	cr_assert_eq(worker_join(w), 0);
	cr_assert(atomic_load(&w->done));
	cr_assert_eq(st.state, SHM_STATS_STOPPED);
	/* The stop hook ran once, on the worker's own thread, while it still counted as running. */
	cr_assert_eq(seen.stops, 1);
	cr_assert_not(pthread_equal(seen.stop_thread, pthread_self()));
	cr_assert_eq(seen.state_at_stop, SHM_STATS_RUNNING);
	cr_assert_eq(st.packets, 300);
	cr_assert_eq(seen.n, 300);
	cr_assert_geq(st.passes, st.busy_passes);
	cr_assert_geq(st.command_polls, 1);
	free(w);
}

Test(worker, run_returns_at_once_when_stop_is_already_set)
{
	struct worker_cfg c = cfg_of(1024, 50);
	struct worker *w = new_worker(&c, NULL);

	push(10, 8);
	atomic_store(&stop, true);
	worker_run(w);
	cr_assert_eq(st.passes, 0);
	cr_assert_eq(seen.n, 0);
	cr_assert_eq(st.state, SHM_STATS_STOPPED);
	free(w);
}

Test(worker, backoff_idle_strategy_sleeps_instead_of_spinning)
{
	struct worker_cfg c = cfg_of(1024, 1000);
	struct worker *w;

	clock_cal.tsc_hz = 0;
	cr_assert_eq(clock_calibrate(20), 0);
	c.idle = WORKER_IDLE_BACKOFF;
	w = new_worker(&c, NULL);
	seen.stop_after_timers = 20;
	worker_run(w);
	cr_assert_eq(st.timer_calls, 20);
	/* 20 ticks of 1 ms take at least 19 ms; once sleeping, a pass costs at least the sleep, so
	 * the passes are bounded by the spin and yield phases plus a few dozen sleeps. Spinning
	 * would take hundreds of thousands. */
	cr_assert_leq(st.passes, WORKER_BACKOFF_SPINS + WORKER_BACKOFF_YIELDS + 64, "passes %lu",
		      (unsigned long)st.passes);
	free(w);
}
