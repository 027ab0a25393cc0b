/*
 * Description: the Prometheus exporter's text (controlplane/metrics/metrics.c). With no
 * dataplane only tradsys_dataplane_up 0 and the control plane's series appear; with a region,
 * every family has HELP and TYPE once, counters end in _total, histograms are cumulative in
 * seconds with +Inf equal to _count, drop reasons become labels, and label values are escaped.
 * A trading worker (ABI 3) adds its sessions (up, state set, sequence numbers, reconnects),
 * orders per venue by outcome, risk rejects by control, kill switches by scope, accounts' PnL in
 * currency units and positions; a worker that does not trade has only its kill switch series
 * (all 0) and no empty families.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(const struct shm_stats *st, const struct metrics_source *src)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	cr_assert_eq(metrics_render(f, st, src, 0), 0);
	fclose(f);
	return text;
}

static struct shm_stats *region(uint32_t n)
{
	struct shm_stats *st = calloc(1, shm_stats_bytes(n));

	st->hdr.magic = SHM_STATS_MAGIC;
	st->hdr.abi_version = SHM_STATS_ABI_VERSION;
	st->hdr.nworkers = n;
	st->hdr.tsc_hz = 1000000000; /* one cycle per ns: bounds in cycles equal ns */
	st->hdr.ndrops = 1;
	strcpy(st->hdr.instance, "a\"b");
	strcpy(st->hdr.driver, "uring");
	strcpy(st->hdr.drop_names[0], "no_flow");
	return st;
}

Test(metrics, no_dataplane)
{
	_Atomic uint64_t req[3] = { 5, 0, 1 };
	const int codes[2] = { 200, 401 };
	struct metrics_source src = { .codes = codes, .requests = req, .ncodes = 2 };
	char *t = render(NULL, &src);

	cr_assert(strstr(t, "\ntradsys_dataplane_up 0\n"));
	cr_assert(strstr(t, "tradsys_api_requests_total{code=\"200\"} 5\n"));
	cr_assert(strstr(t, "tradsys_api_requests_total{code=\"other\"} 1\n"));
	cr_assert_null(strstr(t, "tradsys_worker_"));
	free(t);
}

Test(metrics, worker_series_and_histograms)
{
	struct shm_stats *st = region(2);
	char *t, *p;

	st->workers[1].packets = 42;
	st->workers[1].drops[0] = 3;
	st->workers[1].stalls = 7;
	st->workers[1].stall_cycles = 350000; /* 350 us at one cycle per ns */
	st->workers[1].stall_max_cycles = 120000;
	hist_record(&st->workers[1].t2t_cycles, 90); /* 90 ns: in le=1e-07 */
	hist_record(&st->workers[1].t2t_cycles, 2000); /* 2 us: le=2.5e-06 */
	hist_record(&st->workers[1].t2t_cycles, 5000000000ull); /* 5 s: only +Inf */
	t = render(st, NULL);
	cr_assert(strstr(t, "tradsys_worker_packets_total{worker=\"1\"} 42\n"));
	cr_assert(strstr(t, "tradsys_worker_drops_total{worker=\"1\",reason=\"no_flow\"} 3\n"));
	cr_assert(strstr(t, "tradsys_worker_stalls_total{worker=\"1\"} 7\n"));
	cr_assert(strstr(t, "tradsys_worker_stalled_seconds_total{worker=\"1\"} 0.00035\n"));
	cr_assert(strstr(t, "tradsys_worker_stall_max_seconds{worker=\"1\"} 0.00012\n"));
	cr_assert(strstr(t, "tradsys_worker_stalls_total{worker=\"0\"} 0\n"));
	cr_assert(strstr(t, "instance=\"a\\\"b\""), "label value escaped");
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_bucket{worker=\"1\",le=\"1e-07\"} 1\n"));
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_bucket{worker=\"1\",le=\"1e-06\"} 1\n"));
	cr_assert(
		strstr(t, "tradsys_tick_to_trade_seconds_bucket{worker=\"1\",le=\"2.5e-06\"} 2\n"));
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_bucket{worker=\"1\",le=\"1\"} 2\n"));
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_bucket{worker=\"1\",le=\"+Inf\"} 3\n"));
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_count{worker=\"1\"} 3\n"));
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_sum{worker=\"1\"} 5.00000209\n"));
	/* Each family is declared once, and every counter is named *_total. */
	for (p = t; (p = strstr(p, "# TYPE ")); p++) {
		char name[128], type[32];

		cr_assert_eq(sscanf(p, "# TYPE %127s %31s", name, type), 2);
		if (!strcmp(type, "counter"))
			cr_assert(strlen(name) > 6 && !strcmp(name + strlen(name) - 6, "_total"),
				  "%s", name);
		{
			char decl[160];

			snprintf(decl, sizeof(decl), "# TYPE %s ", name);
			cr_assert_eq(strstr(strstr(t, decl) + 1, decl), NULL, "%s twice", name);
		}
	}
	free(t);
	free(st);
}

/* Each family is declared once and, when declared, has at least one sample. */
static void families_are_declared_once_with_samples(const char *t)
{
	for (const char *p = t; (p = strstr(p, "# TYPE ")); p++) {
		char name[128], decl[160], sample[140];

		cr_assert_eq(sscanf(p, "# TYPE %127s", name), 1);
		snprintf(decl, sizeof(decl), "# TYPE %s ", name);
		cr_assert_eq(strstr(strstr(t, decl) + 1, decl), NULL, "%s twice", name);
		snprintf(sample, sizeof(sample), "\n%s{", name);
		if (strstr(p, " histogram\n") == p + 7 + strlen(name))
			snprintf(sample, sizeof(sample), "\n%s_bucket{", name);
		if (!strstr(t, sample)) {
			snprintf(sample, sizeof(sample), "\n%s ", name);
			cr_assert(strstr(t, sample), "%s has no sample", name);
		}
	}
}

Test(metrics, trading_worker_sessions_rejects_kills_pnl_and_positions)
{
	struct shm_stats *st = region(2);
	struct shm_stats_worker *w = &st->workers[1];
	char *t;

	w->nsessions = 1;
	strcpy(w->sessions[0].name, "xnas");
	w->sessions[0].state = SHM_SESSION_CLOSED;
	w->sessions[0].admin_down = 1;
	w->sessions[0].next_seq = 1234;
	w->sessions[0].reconnects = 2;
	w->sessions[0].orders_filled = 9;
	w->nreasons = 3;
	strcpy(w->reason_names[1], "no_limits");
	strcpy(w->reason_names[2], "max_qty");
	w->risk_rejects_by[2] = 17;
	w->kill_firm = 1;
	w->kill_instruments = 2;
	w->naccounts = 1;
	w->accounts[0] = (struct shm_stats_account){
		.id = 4, .realized_pnl = -25000, .unrealized_pnl = 5, .state = 1
	};
	w->npositions = 1;
	w->positions[0] =
		(struct shm_stats_position){ .account = 4, .session = 0, .position = -300 };
	strcpy(w->positions[0].symbol, "AAPL");
	t = render(st, NULL);
	cr_assert(strstr(t, "tradsys_session_up{worker=\"1\",venue=\"xnas\"} 0\n"), "%s", t);
	cr_assert(strstr(
		t, "tradsys_session_state{worker=\"1\",venue=\"xnas\",state=\"closed\"} 1\n"));
	cr_assert(strstr(
		t, "tradsys_session_state{worker=\"1\",venue=\"xnas\",state=\"active\"} 0\n"));
	cr_assert(strstr(t, "tradsys_session_admin_down{worker=\"1\",venue=\"xnas\"} 1\n"));
	cr_assert(
		strstr(t, "tradsys_session_next_inbound_seq{worker=\"1\",venue=\"xnas\"} 1234\n"));
	cr_assert(strstr(t, "tradsys_session_reconnects_total{worker=\"1\",venue=\"xnas\"} 2\n"));
	cr_assert(strstr(
		t, "tradsys_venue_orders_total{worker=\"1\",venue=\"xnas\",outcome=\"filled\"} "
		   "9\n"));
	cr_assert(strstr(t, "tradsys_risk_rejects_total{worker=\"1\",control=\"max_qty\"} 17\n"));
	cr_assert(strstr(t, "tradsys_risk_rejects_total{worker=\"1\",control=\"no_limits\"} 0\n"));
	cr_assert_null(strstr(t, "control=\"ok\""), "reason 0 is a pass, not a control");
	cr_assert(strstr(t, "tradsys_kill_switch_engaged{worker=\"1\",scope=\"firm\"} 1\n"));
	cr_assert(strstr(t, "tradsys_kill_switch_engaged{worker=\"1\",scope=\"instrument\"} 2\n"));
	cr_assert(strstr(t, "tradsys_kill_switch_engaged{worker=\"0\",scope=\"firm\"} 0\n"));
	cr_assert(strstr(t, "tradsys_pnl_realized{worker=\"1\",account=\"4\"} -2.5000\n"));
	cr_assert(strstr(t, "tradsys_pnl_unrealized{worker=\"1\",account=\"4\"} 0.0005\n"));
	cr_assert(strstr(t, "tradsys_account_state{worker=\"1\",account=\"4\"} 1\n"));
	cr_assert(strstr(t, "tradsys_position{worker=\"1\",account=\"4\",venue=\"xnas\","
			    "instrument=\"AAPL\"} -300\n"));
	cr_assert(strstr(t, "tradsys_stats_rows_truncated{worker=\"1\",table=\"positions\"} 0\n"));
	cr_assert_null(strstr(t, "worker=\"0\",venue"), "worker 0 has no sessions");
	families_are_declared_once_with_samples(t);
	free(t);
	free(st);
}

Test(metrics, a_dataplane_that_does_not_trade_has_no_empty_families)
{
	struct shm_stats *st = region(1);
	char *t = render(st, NULL);

	cr_assert(strstr(t, "tradsys_kill_switch_engaged{worker=\"0\",scope=\"account\"} 0\n"));
	cr_assert_null(strstr(t, "tradsys_session_up"));
	cr_assert_null(strstr(t, "tradsys_risk_rejects_total"));
	cr_assert_null(strstr(t, "tradsys_pnl_realized"));
	families_are_declared_once_with_samples(t);
	free(t);
	free(st);
}
