/*
 * tradsys-dataplane: loads the configuration, opens the driver, creates the stats region and
 * starts one pinned worker per [worker.N]; the main thread then only waits for SIGINT or SIGTERM
 * (blocked everywhere and taken with sigtimedwait, so no handler runs on a worker), stops and
 * joins the workers and prints a summary (for handler = feed also per feed and line). Under
 * systemd (Type=notify) the main thread also tells the service manager READY=1 once every worker
 * runs, WATCHDOG=1 while every worker's heartbeat moves, and STOPPING=1 when a signal arrives.
 * `--stats INSTANCE` prints a running instance's stats region as JSON. `--check FILE` validates a
 * configuration without running it. Every failure before the workers run is a message and exit
 * status 1.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "driver.h"
#include "stats.h"
#include "command.h"
#include "trading.h"
#include "worker.h"

#define PROG "tradsys-dataplane"

/* Everything main owns, so one cleanup path can release whatever was reached. */
struct app {
	struct config *cfg;
	struct worker_config wc;
	struct shm_stats *stats;
	struct driver *drv;
	struct worker *workers;
	struct worker_count counts[WORKER_MAX];
	struct worker_dump *dumps[WORKER_MAX];
	struct worker_feed *feeds[WORKER_MAX];
	struct trading *trading[WORKER_MAX];
	struct shm_command_ring commands[WORKER_MAX]; /* trading workers: from the control plane */
	const char *path;
	atomic_bool stop;
	bool log_started;
};

/*
 * The service manager's view of the workers, kept by the main thread alone: no worker sends a
 * notification or is slowed by one. A worker's heartbeat is the TSC its command poll stores in
 * the stats region (every command_poll passes, idle or not); a worker whose heartbeat stood
 * still longer than its stall limit is stuck, and the ping is withheld so that systemd's
 * watchdog restarts the process.
 */
struct supervise {
	uint64_t interval_ns; /* half of WatchdogSec=; 0: no watchdog */
	uint64_t next_ping_ns;
	uint64_t heartbeat[WORKER_MAX]; /* as last seen */
	uint64_t moved_ns[WORKER_MAX]; /* when it last changed */
	uint64_t stall_ns[WORKER_MAX]; /* standing still longer than this: stuck */
	bool ready;
	bool withheld;
};

static int scope_of(const char *s, uint32_t *out)
{
	*out = !strcmp(s, "firm")	  ? SHM_COMMAND_SCOPE_FIRM
	       : !strcmp(s, "account")	  ? SHM_COMMAND_SCOPE_ACCOUNT
	       : !strcmp(s, "instrument") ? SHM_COMMAND_SCOPE_INSTRUMENT
					  : 0;
	return *out ? 0 : -EINVAL;
}

static int limit_of(const char *s, uint32_t *out)
{
	static const char *const names[] = {
		"max_order_qty", "max_order_notional", "collar_ticks",	     "collar_bps",
		"max_long",	 "max_short",	       "max_gross_exposure", "max_net_exposure",
		"credit_limit",	 "daily_loss_limit",   "max_open_orders",    "order_rate"
	};
	/* enum shm_command_limit: the names' positions, from 1 */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*out = (uint32_t)i + SHM_LIMIT_MAX_ORDER_QTY;
			return 0;
		}
	return -EINVAL;
}

/* --command INSTANCE WORKER CMD ARGS: one command into a running worker's ring. */
static int send_command(int argc, char **argv)
{
	struct shm_command c;
	struct shm_command_ring cr;
	char err[256];
	int bad = 0;

	memset(&c, 0, sizeof(c));
	c.version = 1;
	c.issued_wall_ns = clock_wall_ns();
	c.id = c.issued_wall_ns;
	const char *cmd = argv[2];
	if (!strcmp(cmd, "kill") && argc >= 4) {
		c.type = SHM_COMMAND_KILL_SWITCH;
		c.kill_switch.on = !strcmp(argv[3], "on");
		c.kill_switch.cancel_open = c.kill_switch.on;
		c.kill_switch.scope = SHM_COMMAND_SCOPE_FIRM;
		bad = strcmp(argv[3], "on") && strcmp(argv[3], "off");
		if (argc == 6) {
			bad |= scope_of(argv[4], &c.kill_switch.scope);
			c.kill_switch.id = (uint32_t)strtoul(argv[5], NULL, 10);
		} else if (argc != 4) {
			bad = 1;
		}
	} else if (!strcmp(cmd, "cancel-all")) {
		c.type = SHM_COMMAND_CANCEL_ALL;
		c.cancel_all.scope = SHM_COMMAND_SCOPE_FIRM;
		if (argc == 5) {
			bad = scope_of(argv[3], &c.cancel_all.scope);
			c.cancel_all.id = (uint32_t)strtoul(argv[4], NULL, 10);
		} else if (argc != 3) {
			bad = 1;
		}
	} else if (!strcmp(cmd, "limit") && argc == 7) {
		c.type = SHM_COMMAND_SET_LIMIT;
		bad = scope_of(argv[3], &c.set_limit.scope) ||
		      limit_of(argv[5], &c.set_limit.limit);
		c.set_limit.id = (uint32_t)strtoul(argv[4], NULL, 10);
		c.set_limit.value = strtoll(argv[6], NULL, 10);
	} else if (!strcmp(cmd, "order") && argc == 9) {
		c.type = SHM_COMMAND_MANUAL_ORDER;
		c.manual_order.account = (uint32_t)strtoul(argv[3], NULL, 10);
		c.manual_order.venue = (uint16_t)strtoul(argv[4], NULL, 10);
		c.manual_order.instrument = (uint32_t)strtoul(argv[5], NULL, 10);
		c.manual_order.side = (uint8_t)argv[6][0];
		c.manual_order.qty = strtoll(argv[7], NULL, 10);
		c.manual_order.price = strtoll(argv[8], NULL, 10);
		bad = argv[6][0] != 'B' && argv[6][0] != 'S';
	} else if (!strcmp(cmd, "venue") && argc == 5) {
		c.type = !strcmp(argv[3], "connect") ? SHM_COMMAND_VENUE_CONNECT
						     : SHM_COMMAND_VENUE_DISCONNECT;
		bad = (strcmp(argv[3], "connect") && strcmp(argv[3], "disconnect")) ||
		      strlen(argv[4]) >= sizeof(c.venue.name);
		snprintf(c.venue.name, sizeof(c.venue.name), "%s", argv[4]);
	} else if (!strcmp(cmd, "cancel") && argc == 5) {
		c.type = SHM_COMMAND_MANUAL_CANCEL;
		c.manual_cancel.account = (uint32_t)strtoul(argv[3], NULL, 10);
		c.manual_cancel.order_id = strtoull(argv[4], NULL, 10);
	} else {
		bad = 1;
	}
	if (bad) {
		fprintf(stderr, PROG ": --command %s: bad arguments (see --help)\n", cmd);
		return 2;
	}
	if (shm_command_attach(&cr, argv[0], (uint32_t)strtoul(argv[1], NULL, 10), err,
			       sizeof(err))) {
		fprintf(stderr, PROG ": --command: %s\n", err);
		return 1;
	}
	int rc = shm_command_send(&cr, &c);
	shm_command_destroy(&cr);
	if (rc) {
		fprintf(stderr, PROG ": --command: the worker's ring is full\n");
		return 1;
	}
	printf("command %lu sent\n", (unsigned long)c.id);
	return 0;
}

/*
 * --check FILE: everything run() would refuse in the file, without touching the host: the
 * [appliance]/[driver]/[feed]/[worker] sections, and for trading workers the venues, risk,
 * accounts and strategies (plugins are loaded and their init run). No driver, stats region,
 * journal or report file is opened and cores are not checked, so a file can be checked on a
 * machine other than the one it is for.
 */
static int check(const char *path)
{
	struct app *a = calloc(1, sizeof(*a));
	struct worker_config *wc = calloc(1, sizeof(*wc));
	char err[512] = "";
	int status = 1;

	if (!a || !wc) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	a->cfg = config_load(path, err, sizeof(err));
	if (!a->cfg || worker_config_parse(a->cfg, path, &a->wc, err, sizeof(err)))
		goto out;
	*wc = a->wc;
	wc->journal_dir = NULL;
	for (uint16_t i = 0; i < wc->nworkers; i++) {
		wc->workers[i].decoded_file = NULL;
		wc->workers[i].report_file = NULL;
		if (wc->workers[i].handler != WORKER_HANDLER_TRADING)
			continue;
		a->feeds[i] = worker_feed_create(wc, i, NULL, err, sizeof(err));
		if (!a->feeds[i])
			goto out;
		a->trading[i] =
			trading_create(a->cfg, path, wc, i, a->feeds[i], NULL, err, sizeof(err));
		if (!a->trading[i])
			goto out;
	}
	printf("%s: ok (instance %s, %u feed(s), %u worker(s))\n", path, a->wc.instance,
	       a->wc.nfeeds, a->wc.nworkers);
	status = 0;
out:
	if (status)
		fprintf(stderr, PROG ": %s\n", err[0] ? err : "failed");
	for (uint16_t i = 0; a && i < WORKER_MAX; i++) {
		trading_destroy(a->trading[i]);
		worker_feed_destroy(a->feeds[i]);
	}
	if (a)
		config_free(a->cfg);
	free(wc);
	free(a);
	return status;
}

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"usage: " PROG " --config FILE    run the dataplane until SIGINT/SIGTERM\n"
		"       " PROG " --check FILE     validate a configuration and exit\n"
		"       " PROG " --stats INSTANCE print a running instance's stats as JSON\n"
		"       " PROG " --command INSTANCE WORKER COMMAND...   send one command:\n"
		"           kill on|off [account N|instrument N]   (on cancels open orders)\n"
		"           cancel-all [account N]\n"
		"           limit firm|account|instrument ID LIMIT VALUE   (LIMIT: max_order_qty,\n"
		"             max_order_notional, collar_ticks, collar_bps, max_long, max_short,\n"
		"             max_gross_exposure, max_net_exposure, credit_limit,\n"
		"             daily_loss_limit, max_open_orders, order_rate; internal units)\n"
		"           order ACCOUNT VENUE INSTRUMENT B|S QTY PRICE   (a manual order)\n"
		"           cancel ACCOUNT ORDER_ID\n"
		"           venue disconnect|connect NAME   (log out and stay down / reconnect)\n"
		"       the answer is journaled (command ack) by the worker\n");
	return rc;
}

static int print_stats(const char *instance)
{
	char err[512];
	const struct shm_stats *s = shm_stats_attach(instance, err, sizeof(err));
	int rc;

	if (!s) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	rc = shm_stats_json(s, stdout);
	shm_stats_detach(s);
	return rc ? 1 : 0;
}

/* Formats set as a CPU list ("0-3,6") for messages. */
static void cpulist(const cpu_set_t *set, char *out, size_t len)
{
	size_t at = 0;

	out[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE && at < len; c++) {
		int e = c;

		if (!CPU_ISSET(c, set))
			continue;
		while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set))
			e++;
		at += (size_t)snprintf(out + at, len - at, e > c ? "%s%d-%d" : "%s%d",
				       at ? "," : "", c, e);
		c = e;
	}
}

/* A worker on a core this process may not run on fails here, named, not as a pinning error. */
static int check_cores(const struct app *a, const char *path, char *err, size_t errlen)
{
	cpu_set_t set;
	char list[128];

	if (sched_getaffinity(0, sizeof(set), &set)) {
		snprintf(err, errlen, "sched_getaffinity: %s", strerror(errno));
		return -errno;
	}
	for (uint16_t i = 0; i < a->wc.nworkers; i++) {
		const struct worker_cfg *w = &a->wc.workers[i];

		if (w->core < CPU_SETSIZE && CPU_ISSET(w->core, &set))
			continue;
		cpulist(&set, list, sizeof(list));
		snprintf(err, errlen,
			 "%s: [worker.%u] core: cpu %d is not present or not allowed for this "
			 "process (available: %s)",
			 path, w->id, w->core, list);
		return -EINVAL;
	}
	return 0;
}

static int make_handler(struct app *a, uint16_t i, struct worker_handler *h, char *err,
			size_t errlen)
{
	const struct worker_cfg *w = &a->wc.workers[i];

	switch (w->handler) {
	case WORKER_HANDLER_COUNT: worker_count_handler(&a->counts[i], h); return 0;
	case WORKER_HANDLER_DUMP:
		a->dumps[i] = worker_dump_open(w->dump_file, err, errlen);
		if (!a->dumps[i])
			return -EIO;
		worker_dump_handler(a->dumps[i], h);
		return 0;
	case WORKER_HANDLER_FEED:
		a->feeds[i] = worker_feed_create(&a->wc, i, &a->stats->workers[i], err, errlen);
		if (!a->feeds[i])
			return -ENOMEM;
		worker_feed_handler(a->feeds[i], h);
		return 0;
	case WORKER_HANDLER_TRADING:
		a->feeds[i] = worker_feed_create(&a->wc, i, &a->stats->workers[i], err, errlen);
		if (!a->feeds[i])
			return -ENOMEM;
		a->trading[i] = trading_create(a->cfg, a->path, &a->wc, i, a->feeds[i],
					       &a->stats->workers[i], err, errlen);
		if (!a->trading[i])
			return -EINVAL;
		trading_handler(a->trading[i], h);
		return 0;
	default: snprintf(err, errlen, "[worker.%u] handler: unknown", w->id); return -EINVAL;
	}
}

static bool all_running(const struct app *a)
{
	for (uint16_t i = 0; i < a->wc.nworkers; i++)
		if (a->stats->workers[i].state != SHM_STATS_RUNNING)
			return false;
	return true;
}

/* The STATUS= line of a healthy instance. */
static void status_line(const struct app *a, char *out, size_t len)
{
	snprintf(out, len, "%u worker(s) running on driver %s, instance %s", a->wc.nworkers,
		 driver_kind_name(a->wc.driver.kind), a->wc.instance);
}

/*
 * A worker's stall limit: the ping interval, unless its heartbeat may legitimately stand still
 * longer: idle with backoff, each pass sleeps up to WORKER_BACKOFF_MAX_SLEEP_NS, so command_poll
 * passes can take command_poll milliseconds. Then twice that, and the operator is told.
 */
static uint64_t stall_limit(const struct app *a, uint16_t i, uint64_t interval_ns)
{
	const struct worker_cfg *w = &a->wc.workers[i];
	uint64_t idle_ns = (uint64_t)w->command_poll * WORKER_BACKOFF_MAX_SLEEP_NS;

	if (w->idle != WORKER_IDLE_BACKOFF || 2 * idle_ns <= interval_ns)
		return interval_ns;
	fprintf(stderr,
		PROG
		": worker %u: command_poll = %u with idle = backoff publishes a heartbeat only "
		"every ~%.1f s when idle, more than the watchdog's ping interval (%.1f s): a "
		"stall is noticed after %.1f s; lower command_poll or raise WatchdogSec=\n",
		w->id, w->command_poll, (double)idle_ns / 1e9, (double)interval_ns / 1e9,
		(double)(2 * idle_ns) / 1e9);
	return 2 * idle_ns;
}

/*
 * Called every tick of the main thread. Once every worker runs: READY=1. Then it watches the
 * heartbeats and, every ping interval, sends WATCHDOG=1 unless a worker is stuck.
 */
static void supervise(struct app *a, struct supervise *sv, uint64_t now_ns)
{
	const struct shm_stats_worker *stuck = NULL;
	uint64_t stuck_ns = 0;
	char line[160];

	if (!sv->ready) {
		if (!all_running(a))
			return;
		sv->ready = true;
		a->stats->hdr.state = SHM_STATS_RUNNING;
		fprintf(stderr, PROG ": instance %s running %u worker(s) on driver %s\n",
			a->wc.instance, a->wc.nworkers, driver_kind_name(a->wc.driver.kind));
		status_line(a, line, sizeof(line));
		notify_ready(line);
		sv->interval_ns = notify_watchdog_interval_ns();
		sv->next_ping_ns = now_ns + sv->interval_ns;
		for (uint16_t i = 0; i < a->wc.nworkers && sv->interval_ns; i++) {
			sv->heartbeat[i] = a->stats->workers[i].heartbeat_tsc;
			sv->moved_ns[i] = now_ns;
			sv->stall_ns[i] = stall_limit(a, i, sv->interval_ns);
		}
		if (sv->interval_ns)
			notify_watchdog();
		return;
	}
	if (!sv->interval_ns)
		return;
	for (uint16_t i = 0; i < a->wc.nworkers; i++) {
		uint64_t hb = a->stats->workers[i].heartbeat_tsc;

		if (hb != sv->heartbeat[i]) {
			sv->heartbeat[i] = hb;
			sv->moved_ns[i] = now_ns;
		} else if (!stuck && now_ns - sv->moved_ns[i] > sv->stall_ns[i]) {
			stuck = &a->stats->workers[i];
			stuck_ns = now_ns - sv->moved_ns[i];
		}
	}
	if (now_ns < sv->next_ping_ns)
		return;
	sv->next_ping_ns = now_ns + sv->interval_ns;
	if (!stuck) {
		notify_watchdog();
		if (sv->withheld) {
			fprintf(stderr, PROG ": every worker's heartbeat moves again\n");
			status_line(a, line, sizeof(line));
			notify_status("%s", line);
		}
		sv->withheld = false;
		return;
	}
	if (!sv->withheld) {
		fprintf(stderr,
			PROG ": worker %u (core %d): no heartbeat for %.1f s; watchdog ping "
			     "withheld\n",
			stuck->id, stuck->core, (double)stuck_ns / 1e9);
		notify_status("worker %u (core %d) stuck: no heartbeat for %.1f s", stuck->id,
			      stuck->core, (double)stuck_ns / 1e9);
	}
	sv->withheld = true;
}

/*
 * Waits for SIGINT/SIGTERM, telling systemd how the workers do meanwhile; returns 0 on a signal
 * (STOPPING=1 sent before the workers are told to stop, cancel their orders and log out), -1
 * when a worker ended on its own.
 */
static int wait_for_stop(struct app *a, const sigset_t *sigs, char *err, size_t errlen)
{
	/* Short ticks until every worker runs, so READY=1 follows them closely. */
	const struct timespec starting = { .tv_sec = 0, .tv_nsec = 2 * 1000 * 1000 };
	const struct timespec tick = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
	struct supervise sv = { 0 };

	for (;;) {
		int sig;

		supervise(a, &sv, clock_mono_ns());
		sig = sigtimedwait(sigs, NULL, sv.ready ? &tick : &starting);
		if (sig > 0) {
			fprintf(stderr, PROG ": %s, stopping\n", strsignal(sig));
			notify_stopping("stopping: cancelling open orders and logging out");
			return 0;
		}
		for (uint16_t i = 0; i < a->wc.nworkers; i++) {
			struct worker *w = &a->workers[i];

			if (!atomic_load(&w->done))
				continue;
			snprintf(err, errlen, "worker %u (core %d) could not run: %s", w->id,
				 w->core, strerror(w->rc ? -w->rc : EINTR));
			return -1;
		}
	}
}

static void print_summary(const struct app *a)
{
	struct driver_stats ds;

	for (uint16_t i = 0; i < a->wc.nworkers; i++) {
		const struct shm_stats_worker *s = &a->stats->workers[i];

		printf("worker %u core %d queue %u packets %lu bytes %lu passes %lu busy_passes %lu "
		       "busy_ratio %.6f timer_calls %lu",
		       s->id, s->core, s->queue, (unsigned long)s->packets, (unsigned long)s->bytes,
		       (unsigned long)s->passes, (unsigned long)s->busy_passes,
		       s->passes ? (double)s->busy_passes / (double)s->passes : 0.0,
		       (unsigned long)s->timer_calls);
		for (int r = 0; r < DRIVER_DROP_REASONS; r++)
			printf(" drop_%s %lu", driver_drop_name((enum driver_drop)r),
			       (unsigned long)s->drops[r]);
		printf("\n");
		worker_feed_summary(a->feeds[i], stdout);
		if (a->trading[i])
			trading_summary(a->trading[i], stdout);
	}
	if (driver_stats(a->drv, &ds) == 0)
		printf("driver %s rx_packets %lu rx_bytes %lu tx_packets %lu tx_full %lu rx_nobuf "
		       "%lu\n",
		       driver_kind_name(a->wc.driver.kind), (unsigned long)ds.rx_packets,
		       (unsigned long)ds.rx_bytes, (unsigned long)ds.tx_packets,
		       (unsigned long)ds.tx_full, (unsigned long)ds.rx_nobuf);
	fflush(stdout);
}

/* Starts the workers, waits for a signal and stops them. Returns the exit status. */
static int run_workers(struct app *a, const sigset_t *sigs, char *err, size_t errlen)
{
	uint16_t started = 0;
	int rc = 0;

	for (uint16_t i = 0; i < a->wc.nworkers && !rc; i++) {
		struct worker_handler h;

		struct spsc_ring *cmds = NULL;

		rc = make_handler(a, i, &h, err, errlen);
		/* A trading worker takes commands (limits, kill switch, manual orders) from the
		 * control plane through its ring in shared memory. */
		if (!rc && a->trading[i]) {
			rc = shm_command_create(&a->commands[i], a->wc.instance,
						a->wc.workers[i].id, SHM_COMMAND_DEFAULT_CAPACITY,
						err, errlen);
			if (!rc)
				cmds = shm_command_spsc(&a->commands[i]);
		}
		if (!rc)
			rc = worker_init(&a->workers[i], &a->wc.workers[i], a->drv, &h, cmds,
					 &a->stats->workers[i], &a->stop);
		if (rc && !err[0])
			snprintf(err, errlen, "worker %u: setup failed: %s", a->wc.workers[i].id,
				 strerror(-rc));
		if (!rc) {
			rc = worker_start(&a->workers[i]);
			if (rc)
				snprintf(err, errlen, "worker %u: pthread_create: %s",
					 a->wc.workers[i].id, strerror(-rc));
			else
				started++;
		}
	}
	if (!rc)
		rc = wait_for_stop(a, sigs, err, errlen);
	atomic_store(&a->stop, true);
	for (uint16_t i = 0; i < started; i++) {
		int wrc = worker_join(&a->workers[i]);
		if (wrc && !rc) {
			snprintf(err, errlen, "worker %u: %s", a->workers[i].id, strerror(-wrc));
			rc = wrc;
		}
	}
	/* Book checksums only after a clean stop: a failed run's books prove nothing. */
	for (uint16_t i = 0; i < a->wc.nworkers && !rc; i++) {
		int frc = worker_feed_finish(a->feeds[i]);
		int trc = trading_finish(a->trading[i]);
		if (trc && !frc) {
			snprintf(err, errlen, "report file %s: %s", a->wc.workers[i].report_file,
				 strerror(-trc));
			rc = trc;
		}
		if (frc) {
			snprintf(err, errlen, "decoded file %s: %s", a->wc.workers[i].decoded_file,
				 strerror(-frc));
			rc = frc;
		}
	}
	a->stats->hdr.state = rc ? SHM_STATS_FAILED : SHM_STATS_STOPPED;
	if (started)
		print_summary(a);
	for (uint16_t i = 0; i < a->wc.nworkers; i++) {
		int drc = worker_dump_close(a->dumps[i]);
		a->dumps[i] = NULL;
		if (drc && !rc) {
			snprintf(err, errlen, "dump file %s: %s", a->wc.workers[i].dump_file,
				 strerror(-drc));
			rc = drc;
		}
	}
	return rc ? 1 : 0;
}

static int run(const char *path)
{
	struct app *a = calloc(1, sizeof(*a));
	char err[512] = "";
	sigset_t sigs;
	int status = 1;

	if (!a) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	a->path = path;
	a->cfg = config_load(path, err, sizeof(err));
	if (!a->cfg)
		goto out;
	if (worker_config_parse(a->cfg, path, &a->wc, err, sizeof(err)) ||
	    check_cores(a, path, err, sizeof(err)))
		goto out;
	/* Blocked before any thread exists, so every worker inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (log_start(&(struct log_opts){ .sink = LOG_SINK_STDERR,
					  .level = a->wc.log_level,
					  .rate_per_sec = 10000,
					  .drain_interval_us = 1000 }) == 0)
		a->log_started = true;
	if (clock_calibrate(100)) {
		snprintf(err, sizeof(err), "TSC calibration failed: the TSC does not advance");
		goto out;
	}
	a->stats = shm_stats_create(a->wc.instance, a->wc.nworkers, err, sizeof(err));
	if (!a->stats)
		goto out;
	snprintf(a->stats->hdr.driver, sizeof(a->stats->hdr.driver), "%s",
		 driver_kind_name(a->wc.driver.kind));
	a->stats->hdr.ndrops = DRIVER_DROP_REASONS;
	for (int r = 0; r < DRIVER_DROP_REASONS; r++)
		snprintf(a->stats->hdr.drop_names[r], SHM_STATS_DROP_NAME_LEN, "%s",
			 driver_drop_name((enum driver_drop)r));
	/* DPDK's EAL init can take long (hugepages): say so in `systemctl status`. */
	notify_status("opening driver %s", driver_kind_name(a->wc.driver.kind));
	a->drv = driver_open(&a->wc.driver, err, sizeof(err));
	if (!a->drv)
		goto out;
	a->workers = aligned_alloc(64, sizeof(struct worker) * WORKER_MAX);
	if (!a->workers) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	memset(a->workers, 0, sizeof(struct worker) * WORKER_MAX);
	status = run_workers(a, &sigs, err, sizeof(err));
out:
	if (status) {
		fprintf(stderr, PROG ": %s\n", err[0] ? err : "failed");
		notify_status("failed: %s", err[0] ? err : "see the log");
	}
	for (uint16_t i = 0; i < WORKER_MAX; i++) {
		worker_dump_close(a->dumps[i]);
		trading_destroy(a->trading[i]);
		if (a->commands[i].region)
			shm_command_destroy(&a->commands[i]);
		worker_feed_destroy(a->feeds[i]);
	}
	free(a->workers);
	driver_close(a->drv);
	if (a->stats && a->stats->hdr.state != SHM_STATS_STOPPED)
		a->stats->hdr.state = SHM_STATS_FAILED;
	shm_stats_destroy(a->stats);
	if (a->log_started)
		log_stop();
	config_free(a->cfg);
	free(a);
	return status;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--config") == 0)
		return run(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--check") == 0)
		return check(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--stats") == 0)
		return print_stats(argv[2]);
	if (argc >= 5 && strcmp(argv[1], "--command") == 0)
		return send_command(argc - 2, argv + 2);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return usage(stdout, 0);
	return usage(stderr, 2);
}
