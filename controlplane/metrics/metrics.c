/*
 * The Prometheus exporter: renders the stats region and the control plane's counters in the text
 * exposition format, and serves it on a plain-HTTP listener of its own (Prometheus scrapes over
 * loopback or a management network; the admin API keeps TLS). Each scrape copies one worker's
 * block at a time, so the figures of a worker come from (nearly) one instant, and never writes
 * to the region.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "metrics.h"

const uint64_t metrics_bounds_ns[METRICS_NBOUNDS] = {
	100,   250,    500,    1000,   2500,	5000,	  10000,     25000,
	50000, 100000, 250000, 500000, 1000000, 10000000, 100000000, 1000000000,
};

static const char *state_name(uint32_t s)
{
	static const char *const names[] = { "starting", "running", "stopped", "failed" };

	return s < 4 ? names[s] : "unknown";
}

static double seconds(uint64_t cycles, uint64_t hz)
{
	return hz ? (double)cycles / (double)hz : 0.0;
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values come from the dataplane's config: escape what the format requires. */
static void label_value(FILE *out, const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i]; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fputc('\\', out);
		if (s[i] == '\n')
			fputs("\\n", out);
		else
			fputc(s[i], out);
	}
}

/* The per-worker counters, each a field of struct shm_stats_worker. */
static const struct counter {
	const char *name;
	const char *type;
	const char *help;
	size_t off;
	size_t size;
} counters[] = {
#define C(name, type, help, field)                                          \
	{                                                                   \
		name, type, help, offsetof(struct shm_stats_worker, field), \
			sizeof(((struct shm_stats_worker *)0)->field)       \
	}
	C("tradsys_worker_passes_total", "counter", "Main loop passes.", passes),
	C("tradsys_worker_busy_passes_total", "counter",
	  "Main loop passes that received at least one packet.", busy_passes),
	C("tradsys_worker_packets_total", "counter", "Packets handed to the worker's handler.",
	  packets),
	C("tradsys_worker_received_bytes_total", "counter",
	  "UDP payload bytes handed to the worker's handler.", bytes),
	C("tradsys_worker_timer_calls_total", "counter", "Timer (tx flush tick) invocations.",
	  timer_calls),
	C("tradsys_worker_command_polls_total", "counter", "Command ring polls.", command_polls),
	C("tradsys_worker_rx_nobuf_total", "counter",
	  "Packets the driver dropped for want of a receive buffer.", rx_nobuf),
	C("tradsys_feed_messages_total", "counter",
	  "ITCH messages the MoldUDP64 sessions delivered.", feed_messages),
	C("tradsys_feed_lost_messages_total", "counter",
	  "Feed messages declared lost (no line or re-request filled them).", feed_lost_msgs),
	C("tradsys_feed_errors_total", "counter",
	  "Malformed feed packets, bad ITCH messages and book refusals.", feed_errors),
	C("tradsys_feed_lost_gaps_total", "counter", "Feed gap episodes declared lost.",
	  feed_gaps_lost),
	C("tradsys_feed_stale_feeds", "gauge", "Feeds whose books are stale after a loss.",
	  feed_stale),
	C("tradsys_orders_sent_total", "counter",
	  "Orders that passed risk and went to a venue session.", orders_sent),
	C("tradsys_fills_total", "counter", "Fills received.", fills),
	C("tradsys_venue_rejects_total", "counter", "Orders rejected by a venue.", venue_rejects),
	C("tradsys_md_events_total", "counter", "Market data events given to strategies.",
	  md_events),
#undef C
};

static uint64_t field(const struct shm_stats_worker *w, const struct counter *c)
{
	const unsigned char *p = (const unsigned char *)w + c->off;

	if (c->size == 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		return v;
	}
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The histograms, each in TSC cycles in the region. */
static const struct histo {
	const char *name;
	const char *help;
	size_t off;
} histos[] = {
	{ "tradsys_worker_burst_duration_seconds",
	  "Time from the end of rx_burst to the end of release, per busy burst.",
	  offsetof(struct shm_stats_worker, burst_cycles) },
	{ "tradsys_tick_to_trade_seconds",
	  "Time from a packet's receive timestamp to the venue session's submit.",
	  offsetof(struct shm_stats_worker, t2t_cycles) },
	{ "tradsys_feed_burst_duration_seconds",
	  "Time from a packet's receive timestamp to its market data event reaching the "
	  "strategies (one event in 16).",
	  offsetof(struct shm_stats_worker, feed_cycles) },
	{ "tradsys_strategy_duration_seconds",
	  "Strategy, risk, OMS and encoding time per market data event (one event in 16).",
	  offsetof(struct shm_stats_worker, strategy_cycles) },
	{ "tradsys_decode_duration_seconds",
	  "ITCH message check and decode time (one message in 16).",
	  offsetof(struct shm_stats_worker, decode_cycles) },
	{ "tradsys_book_duration_seconds",
	  "Order book update time of one ITCH message (one message in 16).",
	  offsetof(struct shm_stats_worker, book_cycles) },
	{ "tradsys_risk_check_duration_seconds",
	  "Pre-trade risk check time of one order (orders of sampled events).",
	  offsetof(struct shm_stats_worker, risk_cycles) },
	{ "tradsys_encode_duration_seconds",
	  "OUCH encoding and session hand-off time of one order (orders of sampled events).",
	  offsetof(struct shm_stats_worker, encode_cycles) },
};

static void render_histogram(FILE *out, const char *name, const struct hist *h, uint32_t worker,
			     uint64_t hz)
{
	uint64_t bounds[METRICS_NBOUNDS], cum[METRICS_NBOUNDS], count = h->count;

	for (int i = 0; i < METRICS_NBOUNDS; i++)
		bounds[i] = (uint64_t)((unsigned __int128)metrics_bounds_ns[i] * hz / 1000000000u);
	hist_cumulative(h, bounds, METRICS_NBOUNDS, cum);
	for (int i = 0; i < METRICS_NBOUNDS; i++) {
		/* A writer racing this read may leave a bucket ahead of an earlier one or of the
		 * count: keep the series cumulative, as Prometheus requires. */
		if (i && cum[i] < cum[i - 1])
			cum[i] = cum[i - 1];
		fprintf(out, "%s_bucket{worker=\"%u\",le=\"%.9g\"} %lu\n", name, worker,
			(double)metrics_bounds_ns[i] * 1e-9, (unsigned long)cum[i]);
	}
	if (count < cum[METRICS_NBOUNDS - 1])
		count = cum[METRICS_NBOUNDS - 1];
	fprintf(out, "%s_bucket{worker=\"%u\",le=\"+Inf\"} %lu\n", name, worker,
		(unsigned long)count);
	fprintf(out, "%s_sum{worker=\"%u\"} %.9g\n", name, worker, seconds(h->sum, hz));
	fprintf(out, "%s_count{worker=\"%u\"} %lu\n", name, worker, (unsigned long)count);
}

/* A trading worker (ABI 3 block in use): it names its venues or its risk controls. */
static bool trading(const struct shm_stats_worker *w)
{
	return w->nsessions || w->nreasons;
}

static uint32_t at_most(uint32_t v, uint32_t max)
{
	return v < max ? v : max;
}

/* Money as currency units (the region keeps SHM_STATS_MONEY_SCALE units per currency unit). */
static double money(int64_t v)
{
	return (double)v / SHM_STATS_MONEY_SCALE;
}

/* {worker="W",venue="NAME" (no closing brace: the caller adds labels or "}") */
static void session_labels(FILE *out, uint32_t worker, const struct shm_stats_session *v)
{
	fprintf(out, "{worker=\"%u\",venue=\"", worker);
	label_value(out, v->name, sizeof(v->name));
	fputc('"', out);
}

/* Per venue session: one gauge or counter per field. */
static const struct session_field {
	const char *name;
	const char *type;
	const char *help;
	size_t off;
} session_fields[] = {
#define S(name, type, help, field)                                          \
	{                                                                   \
		name, type, help, offsetof(struct shm_stats_session, field) \
	}
	S("tradsys_session_next_inbound_seq", "gauge",
	  "Next sequence number expected from the venue (SoupBinTCP).", next_seq),
	S("tradsys_session_outbound_messages_total", "counter",
	  "Messages (orders, cancels, replaces) queued to the venue.", out_msgs),
	S("tradsys_session_inbound_messages_total", "counter",
	  "Sequenced messages delivered from the venue.", in_msgs),
	S("tradsys_session_logins_total", "counter", "Logins accepted by the venue.", logins),
	S("tradsys_session_reconnects_total", "counter", "Logins after the first one.", reconnects),
	S("tradsys_session_disconnects_total", "counter",
	  "Connections lost while logging in or logged in.", disconnects),
#undef S
};

static void render_sessions(FILE *out, const struct shm_stats_worker *ws, uint32_t n,
			    uint64_t now_tsc, uint64_t hz)
{
	static const char *const outcomes[] = { "accepted", "canceled", "filled", "rejected" };
	uint32_t any = 0;

	/* A family is declared only when it has samples (a feed-only dataplane has none). */
	for (uint32_t i = 0; i < n; i++)
		any += ws[i].nsessions;
	if (!any)
		return;

	family(out, "tradsys_session_up", "gauge",
	       "1 when the venue session is logged in and orders may be sent.");
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < at_most(ws[i].nsessions, SHM_STATS_MAX_SESSIONS); k++) {
			fprintf(out, "tradsys_session_up");
			session_labels(out, i, &ws[i].sessions[k]);
			fprintf(out, "} %d\n", ws[i].sessions[k].state == SHM_SESSION_ACTIVE);
		}
	family(out, "tradsys_session_state", "gauge",
	       "The venue session's state: 1 for the current one (disconnected, connecting, "
	       "logging_in, active, closed).");
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < at_most(ws[i].nsessions, SHM_STATS_MAX_SESSIONS); k++)
			for (uint32_t s = 0; s < SHM_SESSION_STATES; s++) {
				fprintf(out, "tradsys_session_state");
				session_labels(out, i, &ws[i].sessions[k]);
				fprintf(out, ",state=\"%s\"} %d\n", shm_stats_session_state_name(s),
					ws[i].sessions[k].state == s);
			}
	family(out, "tradsys_session_admin_down", "gauge",
	       "1 when an operator disconnected the venue session (it stays down until connect).");
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < at_most(ws[i].nsessions, SHM_STATS_MAX_SESSIONS); k++) {
			fprintf(out, "tradsys_session_admin_down");
			session_labels(out, i, &ws[i].sessions[k]);
			fprintf(out, "} %d\n", ws[i].sessions[k].admin_down != 0);
		}
	family(out, "tradsys_session_state_age_seconds", "gauge",
	       "Time since the venue session last changed state.");
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < at_most(ws[i].nsessions, SHM_STATS_MAX_SESSIONS); k++) {
			uint64_t t = ws[i].sessions[k].state_change_tsc;
			fprintf(out, "tradsys_session_state_age_seconds");
			session_labels(out, i, &ws[i].sessions[k]);
			fprintf(out, "} %.9g\n", t && now_tsc > t ? seconds(now_tsc - t, hz) : 0.0);
		}
	for (size_t f = 0; f < sizeof(session_fields) / sizeof(session_fields[0]); f++) {
		family(out, session_fields[f].name, session_fields[f].type, session_fields[f].help);
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t k = 0; k < at_most(ws[i].nsessions, SHM_STATS_MAX_SESSIONS);
			     k++) {
				uint64_t v;
				memcpy(&v, (const char *)&ws[i].sessions[k] + session_fields[f].off,
				       sizeof(v));
				fprintf(out, "%s", session_fields[f].name);
				session_labels(out, i, &ws[i].sessions[k]);
				fprintf(out, "} %lu\n", (unsigned long)v);
			}
	}
	family(out, "tradsys_venue_orders_total", "counter",
	       "Orders by the venue's answer: accepted, canceled, filled (executions, partial "
	       "ones included) and rejected (by the venue, or lost in a disconnect).");
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < at_most(ws[i].nsessions, SHM_STATS_MAX_SESSIONS); k++) {
			const struct shm_stats_session *v = &ws[i].sessions[k];
			const uint64_t vals[] = { v->orders_accepted, v->orders_canceled,
						  v->orders_filled, v->orders_rejected };
			for (int o = 0; o < 4; o++) {
				fprintf(out, "tradsys_venue_orders_total");
				session_labels(out, i, v);
				fprintf(out, ",outcome=\"%s\"} %lu\n", outcomes[o],
					(unsigned long)vals[o]);
			}
		}
}

/* Risk rejects by control, kill switches, accounts and positions. */
static void render_risk(FILE *out, const struct shm_stats_worker *ws, uint32_t n)
{
	uint32_t ntrading = 0, naccounts = 0, npositions = 0;

	for (uint32_t i = 0; i < n; i++) {
		ntrading += trading(&ws[i]);
		naccounts += ws[i].naccounts;
		npositions += ws[i].npositions;
	}
	if (ntrading)
		family(out, "tradsys_risk_rejects_total", "counter",
		       "Orders refused by pre-trade risk, by the control that refused them.");
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t r = 1; r < at_most(ws[i].nreasons, SHM_STATS_MAX_REASONS); r++) {
			fprintf(out, "tradsys_risk_rejects_total{worker=\"%u\",control=\"", i);
			label_value(out, ws[i].reason_names[r], SHM_STATS_REASON_NAME_LEN);
			fprintf(out, "\"} %lu\n", (unsigned long)ws[i].risk_rejects_by[r]);
		}
	/* Every worker has the series (0 where nothing trades), so an alert on it always has
	 * something to evaluate. */
	family(out, "tradsys_kill_switch_engaged", "gauge",
	       "Kill switches engaged, by scope: firm 0 or 1, account and instrument how many.");
	for (uint32_t i = 0; i < n; i++)
		fprintf(out,
			"tradsys_kill_switch_engaged{worker=\"%u\",scope=\"firm\"} %u\n"
			"tradsys_kill_switch_engaged{worker=\"%u\",scope=\"account\"} %u\n"
			"tradsys_kill_switch_engaged{worker=\"%u\",scope=\"instrument\"} %u\n",
			i, ws[i].kill_firm != 0, i, ws[i].kill_accounts, i, ws[i].kill_instruments);

	static const struct {
		const char *name, *help;
		size_t off;
	} money_fields[] = {
		{ "tradsys_pnl_realized", "Realized PnL of the account, in currency units.",
		  offsetof(struct shm_stats_account, realized_pnl) },
		{ "tradsys_pnl_unrealized",
		  "Unrealized PnL of the account marked to the book, in currency units.",
		  offsetof(struct shm_stats_account, unrealized_pnl) },
		{ "tradsys_account_gross_exposure",
		  "Sum of |position x mark| of the account, in currency units.",
		  offsetof(struct shm_stats_account, gross_exposure) },
		{ "tradsys_account_net_exposure",
		  "Signed sum of position x mark of the account, in currency units.",
		  offsetof(struct shm_stats_account, net_exposure) },
		{ "tradsys_account_cash", "Cash of the account, in currency units.",
		  offsetof(struct shm_stats_account, cash) },
		{ "tradsys_account_open_notional",
		  "Notional of the account's open orders, both sides, in currency units.",
		  offsetof(struct shm_stats_account, open_notional) },
	};
	for (size_t f = 0; naccounts && f < sizeof(money_fields) / sizeof(money_fields[0]); f++) {
		family(out, money_fields[f].name, "gauge", money_fields[f].help);
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t a = 0; a < at_most(ws[i].naccounts, SHM_STATS_MAX_ACCOUNTS);
			     a++) {
				int64_t v;
				memcpy(&v, (const char *)&ws[i].accounts[a] + money_fields[f].off,
				       sizeof(v));
				fprintf(out, "%s{worker=\"%u\",account=\"%u\"} %.4f\n",
					money_fields[f].name, i, ws[i].accounts[a].id, money(v));
			}
	}
	if (naccounts)
		family(out, "tradsys_account_open_orders", "gauge", "Open orders of the account.");
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t a = 0; a < at_most(ws[i].naccounts, SHM_STATS_MAX_ACCOUNTS); a++)
			fprintf(out,
				"tradsys_account_open_orders{worker=\"%u\",account=\"%u\"} %u\n", i,
				ws[i].accounts[a].id, ws[i].accounts[a].open_orders);
	if (naccounts)
		family(out, "tradsys_account_state", "gauge",
		       "Risk state of the account: 0 normal, 1 reduce only (daily loss limit hit), "
		       "2 margin call, 3 killed.");
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t a = 0; a < at_most(ws[i].naccounts, SHM_STATS_MAX_ACCOUNTS); a++)
			fprintf(out, "tradsys_account_state{worker=\"%u\",account=\"%u\"} %u\n", i,
				ws[i].accounts[a].id, ws[i].accounts[a].state);
	if (npositions)
		family(out, "tradsys_position", "gauge",
		       "Signed position of an account in an instrument of a venue (quantity).");
	for (uint32_t i = 0; i < n; i++) {
		uint32_t ns = at_most(ws[i].nsessions, SHM_STATS_MAX_SESSIONS);
		for (uint32_t k = 0; k < at_most(ws[i].npositions, SHM_STATS_MAX_POSITIONS); k++) {
			const struct shm_stats_position *p = &ws[i].positions[k];
			fprintf(out, "tradsys_position{worker=\"%u\",account=\"%u\",venue=\"", i,
				p->account);
			if (p->session < ns)
				label_value(out, ws[i].sessions[p->session].name,
					    SHM_STATS_SESSION_NAME_LEN);
			fprintf(out, "\",instrument=\"");
			if (p->symbol[0])
				label_value(out, p->symbol, sizeof(p->symbol));
			else
				fprintf(out, "%u", p->instrument);
			fprintf(out, "\"} %ld\n", (long)p->position);
		}
	}
	if (ntrading)
		family(out, "tradsys_stats_rows_truncated", "gauge",
		       "1 when the stats region had no room for every account or position row "
		       "(table).");
	for (uint32_t i = 0; i < n; i++)
		if (trading(&ws[i]))
			fprintf(out,
				"tradsys_stats_rows_truncated{worker=\"%u\",table=\"accounts\"} %d\n"
				"tradsys_stats_rows_truncated{worker=\"%u\",table=\"positions\"} "
				"%d\n",
				i, ws[i].accounts_truncated != 0, i,
				ws[i].positions_truncated != 0);
}

static void render_dataplane(FILE *out, const struct shm_stats *st, uint64_t now_tsc)
{
	const struct shm_stats_header *h = &st->hdr;
	uint32_t n = h->nworkers < SHM_STATS_MAX_WORKERS ? h->nworkers : SHM_STATS_MAX_WORKERS;
	uint32_t ndrops = h->ndrops < SHM_STATS_MAX_DROPS ? h->ndrops : SHM_STATS_MAX_DROPS;
	struct shm_stats_worker *ws = malloc(sizeof(*ws) * (n ? n : 1));

	if (!ws)
		return;
	for (uint32_t i = 0; i < n; i++)
		memcpy(&ws[i], &st->workers[i], sizeof(ws[i]));

	family(out, "tradsys_dataplane_info", "gauge",
	       "The running dataplane: instance and packet I/O driver.");
	fprintf(out, "tradsys_dataplane_info{instance=\"");
	label_value(out, h->instance, sizeof(h->instance));
	fprintf(out, "\",driver=\"");
	label_value(out, h->driver, sizeof(h->driver));
	fprintf(out, "\",state=\"%s\"} 1\n", state_name(h->state));
	family(out, "tradsys_dataplane_start_time_seconds", "gauge",
	       "When the dataplane started, seconds since the epoch.");
	fprintf(out, "tradsys_dataplane_start_time_seconds %.3f\n",
		(double)h->start_wall_ns * 1e-9);
	family(out, "tradsys_dataplane_workers", "gauge", "Workers of the dataplane.");
	fprintf(out, "tradsys_dataplane_workers %u\n", n);

	family(out, "tradsys_worker_up", "gauge", "1 when the worker is running.");
	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "tradsys_worker_up{worker=\"%u\"} %d\n", i,
			ws[i].state == SHM_STATS_RUNNING);
	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		family(out, counters[c].name, counters[c].type, counters[c].help);
		for (uint32_t i = 0; i < n; i++)
			fprintf(out, "%s{worker=\"%u\"} %lu\n", counters[c].name, i,
				(unsigned long)field(&ws[i], &counters[c]));
	}
	family(out, "tradsys_worker_busy_ratio", "gauge",
	       "Share of main loop passes that received packets, since start.");
	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "tradsys_worker_busy_ratio{worker=\"%u\"} %.6g\n", i,
			ws[i].passes ? (double)ws[i].busy_passes / (double)ws[i].passes : 0.0);
	family(out, "tradsys_worker_heartbeat_age_seconds", "gauge",
	       "Time since the worker last polled its command ring (a stuck worker grows it).");
	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "tradsys_worker_heartbeat_age_seconds{worker=\"%u\"} %.9g\n", i,
			ws[i].heartbeat_tsc && now_tsc > ws[i].heartbeat_tsc
				? seconds(now_tsc - ws[i].heartbeat_tsc, h->tsc_hz)
				: 0.0);
	family(out, "tradsys_worker_stalls_total", "counter",
	       "Times the worker's core was taken away for over 5 us while it spun idle.");
	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "tradsys_worker_stalls_total{worker=\"%u\"} %lu\n", i,
			(unsigned long)ws[i].stalls);
	family(out, "tradsys_worker_stalled_seconds_total", "counter",
	       "Time the worker's core was taken away in those stalls.");
	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "tradsys_worker_stalled_seconds_total{worker=\"%u\"} %.9g\n", i,
			seconds(ws[i].stall_cycles, h->tsc_hz));
	family(out, "tradsys_worker_stall_max_seconds", "gauge",
	       "The longest of those stalls since the worker started.");
	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "tradsys_worker_stall_max_seconds{worker=\"%u\"} %.9g\n", i,
			seconds(ws[i].stall_max_cycles, h->tsc_hz));
	family(out, "tradsys_worker_drops_total", "counter",
	       "Packets the driver dropped, by reason.");
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t r = 0; r < ndrops; r++) {
			fprintf(out, "tradsys_worker_drops_total{worker=\"%u\",reason=\"", i);
			label_value(out, h->drop_names[r], SHM_STATS_DROP_NAME_LEN);
			fprintf(out, "\"} %lu\n", (unsigned long)ws[i].drops[r]);
		}
	for (size_t k = 0; k < sizeof(histos) / sizeof(histos[0]); k++) {
		family(out, histos[k].name, "histogram", histos[k].help);
		for (uint32_t i = 0; i < n; i++)
			render_histogram(out, histos[k].name,
					 (const struct hist *)(const void *)((const char *)&ws[i] +
									     histos[k].off),
					 i, h->tsc_hz);
	}
	render_sessions(out, ws, n, now_tsc, h->tsc_hz);
	render_risk(out, ws, n);
	free(ws);
}

int metrics_render(FILE *out, const struct shm_stats *st, const struct metrics_source *src,
		   uint64_t now_tsc)
{
	family(out, "tradsys_dataplane_up", "gauge",
	       "1 when the configured dataplane instance's stats region is readable.");
	fprintf(out, "tradsys_dataplane_up %d\n", st != NULL);
	if (st)
		render_dataplane(out, st, now_tsc);
	if (src && src->requests) {
		family(out, "tradsys_api_requests_total", "counter",
		       "Admin API requests answered, by HTTP status.");
		for (size_t i = 0; i <= src->ncodes; i++) {
			uint64_t v = atomic_load_explicit(&src->requests[i], memory_order_relaxed);

			if (i < src->ncodes)
				fprintf(out, "tradsys_api_requests_total{code=\"%d\"} %lu\n",
					src->codes[i], (unsigned long)v);
			else
				fprintf(out, "tradsys_api_requests_total{code=\"other\"} %lu\n",
					(unsigned long)v);
		}
	}
	if (src && src->persister) {
		struct metrics_persister p[SHM_STATS_MAX_WORKERS];
		int n = src->persister(src->ctx, p, SHM_STATS_MAX_WORKERS);

		family(out, "tradsys_persister_up", "gauge",
		       "1 when the persister's checkpoints could be read from the database.");
		fprintf(out, "tradsys_persister_up %d\n", n >= 0);
		if (n > 0) {
			family(out, "tradsys_persister_checkpoint_seq", "gauge",
			       "Last journal sequence number committed to PostgreSQL, per worker.");
			for (int i = 0; i < n; i++)
				fprintf(out,
					"tradsys_persister_checkpoint_seq{worker=\"%u\"} %lu\n",
					p[i].worker, (unsigned long)p[i].checkpoint_seq);
			family(out, "tradsys_persister_lag_records", "gauge",
			       "Journal records not yet committed to PostgreSQL, per worker.");
			for (int i = 0; i < n; i++)
				if (p[i].lag >= 0)
					fprintf(out,
						"tradsys_persister_lag_records{worker=\"%u\"} %ld\n",
						p[i].worker, (long)p[i].lag);
		}
	}
	return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

/* ---- the listener ---- */

struct metrics_server {
	struct MHD_Daemon *d;
	const struct metrics_source *src;
};

static enum MHD_Result on_scrape(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct metrics_server *m = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int status = 200;
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *f;

	if (strcmp(url, "/metrics")) {
		static char nf[] = "not found: the exporter serves /metrics\n";

		resp = MHD_create_response_from_buffer(sizeof(nf) - 1, nf, MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(conn, 404, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return MHD_NO;
	f = open_memstream(&text, &len);
	if (!f)
		return MHD_NO;
	{
		const struct shm_stats *st =
			m->src->instance ? shm_stats_attach(m->src->instance, err, sizeof(err))
					 : NULL;

		if (metrics_render(f, st, m->src, __rdtsc()))
			status = 500;
		shm_stats_detach(st);
	}
	fclose(f);
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

struct metrics_server *metrics_server_start(const char *host, uint16_t port,
					    const struct metrics_source *src, char *err,
					    size_t errlen)
{
	struct metrics_server *m = calloc(1, sizeof(*m));
	struct sockaddr_in sa;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->src = src;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "[metrics] listen: '%s' is not an IPv4 address", host);
		free(m);
		return NULL;
	}
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				on_scrape, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!m->d) {
		snprintf(err, errlen, "cannot serve /metrics on %s:%u (address in use?)", host,
			 port);
		free(m);
		return NULL;
	}
	return m;
}

void metrics_server_stop(struct metrics_server *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
