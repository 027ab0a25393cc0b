/*
 * The run-to-completion loop. A pass takes one rx burst off the worker's queue, gives it to the
 * handler and releases it, then checks the TSC for the tick and counts down to the next command
 * poll; an empty pass goes to the idle strategy. Nothing here allocates, locks or makes a syscall
 * on a pass, except the backoff strategy's yield and sleep, which only run when there is no work.
 */
#include "worker.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

_Static_assert(DRIVER_DROP_REASONS <= SHM_STATS_MAX_DROPS, "the stats region holds every reason");
_Static_assert(WORKER_MAX <= DRIVER_MAX_QUEUES, "one queue per worker");

int worker_init(struct worker *w, const struct worker_cfg *cfg, struct driver *drv,
		const struct worker_handler *h, struct spsc_ring *commands,
		struct shm_stats_worker *st, const atomic_bool *stop)
{
	if (!cfg || !drv || !h || !h->on_packets || !st || !stop)
		return -EINVAL;
	if (cfg->queue >= drv->cfg.queues || cfg->command_poll == 0 || cfg->tx_flush_us == 0)
		return -EINVAL;
	if (commands && commands->elem_size > WORKER_COMMAND_MAX)
		return -EINVAL;
	if (clock_cal.tsc_hz == 0)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->drv = drv;
	w->st = st;
	w->stop = stop;
	w->tick_cycles =
		(uint64_t)(((unsigned __int128)cfg->tx_flush_us * clock_cal.tsc_hz) / 1000000u);
	if (w->tick_cycles == 0)
		w->tick_cycles = 1;
	w->stall_cycles = (uint64_t)(((unsigned __int128)WORKER_STALL_NS * clock_cal.tsc_hz) /
				     1000000000u);
	w->command_poll = cfg->command_poll;
	w->poll_left = cfg->command_poll;
	w->queue = cfg->queue;
	w->idle = (uint8_t)cfg->idle;
	w->h = *h;
	w->commands = commands;
	w->core = cfg->core;
	w->id = cfg->id;
	snprintf(w->name, sizeof(w->name), "ts-worker-%u", cfg->id % 10000);
	st->id = cfg->id;
	st->core = cfg->core;
	st->queue = cfg->queue;
	return 0;
}

/*
 * The slow part of the loop, every command_poll passes: publish the heartbeat and the driver's
 * per-queue drop counters (so the driver's hot path never touches shared memory), then hand at
 * most a few commands to the handler.
 */
static uint32_t command_poll(struct worker *w, uint64_t now)
{
	const struct driver_stats *q = &w->drv->qstats[w->queue].s;
	struct shm_stats_worker *st = w->st;
	uint32_t work = 0;

	st->command_polls++;
	st->heartbeat_tsc = now;
	st->rx_nobuf = q->rx_nobuf;
	for (int r = 0; r < DRIVER_DROP_REASONS; r++)
		st->drops[r] = q->drops[r];
	if (w->commands && w->h.on_command) {
		_Alignas(8) unsigned char rec[WORKER_COMMAND_MAX];

		while (work < WORKER_COMMANDS_PER_POLL && spsc_dequeue_burst(w->commands, rec, 1)) {
			w->h.on_command(w->h.ctx, rec, w->commands->elem_size);
			work++;
		}
	}
	return work;
}

uint32_t worker_pass(struct worker *w, uint64_t now_tsc)
{
	struct shm_stats_worker *st = w->st;
	uint16_t n = driver_rx_burst(w->drv, w->queue, w->pkts, WORKER_BURST);
	uint32_t work = n;
	bool quiet = n == 0; /* nothing but the receive poll ran */

	st->passes++;
	/* The pass before only polled the receive ring and the loop only paused: any real time
	 * since it began was taken from this core. */
	if (w->idle_tsc && now_tsc - w->idle_tsc > w->stall_cycles) {
		uint64_t gap = now_tsc - w->idle_tsc;
		st->stalls++;
		st->stall_cycles += gap;
		if (gap > st->stall_max_cycles)
			st->stall_max_cycles = gap;
	}
	if (n) {
		uint64_t bytes = 0;

		/* Summed before the handler runs: it may rewrite the views it was given. */
		for (uint16_t i = 0; i < n; i++)
			bytes += w->pkts[i].len;
		w->h.on_packets(w->h.ctx, w->pkts, n, now_tsc);
		driver_release(w->drv, w->queue, w->pkts, n);
		hist_record(&st->burst_cycles, clock_tsc() - now_tsc);
		st->busy_passes++;
		st->packets += n;
		st->bytes += bytes;
	}
	if (now_tsc >= w->next_tick_tsc) {
		/* Re-armed from now, not from the due time: after a stall the tick runs once, it
		 * does not replay every interval it missed. */
		w->next_tick_tsc = now_tsc + w->tick_cycles;
		st->timer_calls++;
		quiet = false;
		if (w->h.on_timer) {
			int done = w->h.on_timer(w->h.ctx, now_tsc);
			if (done > 0)
				work += (uint32_t)done;
		}
	}
	if (--w->poll_left == 0) {
		w->poll_left = w->command_poll;
		work += command_poll(w, now_tsc);
		quiet = false;
	}
	/* A caller that sleeps or yields after a quiet pass clears this (worker_run). */
	w->idle_tsc = quiet ? now_tsc : 0;
	return work;
}

static void idle_backoff(struct worker *w)
{
	uint32_t n = ++w->idle_passes;

	if (n <= WORKER_BACKOFF_SPINS) {
		_mm_pause();
	} else if (n <= WORKER_BACKOFF_SPINS + WORKER_BACKOFF_YIELDS) {
		sched_yield();
	} else {
		uint32_t step = n - WORKER_BACKOFF_SPINS - WORKER_BACKOFF_YIELDS;
		uint64_t ns = step >= 10 ? WORKER_BACKOFF_MAX_SLEEP_NS : 1000ull << step;
		struct timespec ts;

		if (ns > WORKER_BACKOFF_MAX_SLEEP_NS)
			ns = WORKER_BACKOFF_MAX_SLEEP_NS;
		if (n == UINT32_MAX)
			w->idle_passes = WORKER_BACKOFF_SPINS + WORKER_BACKOFF_YIELDS + 10;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)ns;
		nanosleep(&ts, NULL);
	}
}

void worker_run(struct worker *w)
{
	w->st->state = SHM_STATS_RUNNING;
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		uint32_t work = worker_pass(w, clock_tsc());

		if (work) {
			w->idle_passes = 0;
		} else if (w->idle == WORKER_IDLE_SPIN) {
			_mm_pause();
		} else {
			idle_backoff(w);
			/* Past its spins, the backoff gives the core away on purpose. */
			if (w->idle_passes > WORKER_BACKOFF_SPINS)
				w->idle_tsc = 0;
		}
	}
	if (w->h.on_stop)
		w->h.on_stop(w->h.ctx);
	/* A last poll so the stats region ends with the driver's final drop counts. */
	command_poll(w, clock_tsc());
	w->st->state = SHM_STATS_STOPPED;
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	int rc;

	if (w->core >= 0) {
		rc = thread_setup(w->core, w->name);
		if (rc) {
			w->rc = rc;
			w->st->state = SHM_STATS_FAILED;
			atomic_store(&w->done, true);
			return NULL;
		}
	} else {
		(void)thread_set_name(w->name);
	}
	/* Without a ring the thread logs synchronously: slower, but nothing is lost. */
	rc = log_thread_attach(w->name, 1024);
	if (rc && rc != -EEXIST)
		LOG_WARN("worker %u: no log ring (error %d); logging synchronously", w->id, -rc);
	worker_run(w);
	atomic_store(&w->done, true);
	return NULL;
}

int worker_start(struct worker *w)
{
	int rc = pthread_create(&w->tid, NULL, worker_thread, w);

	if (rc)
		return -rc;
	w->started = true;
	return 0;
}

int worker_join(struct worker *w)
{
	if (!w->started)
		return 0;
	pthread_join(w->tid, NULL);
	w->started = false;
	return w->rc;
}
