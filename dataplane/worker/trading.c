/*
 * The trading handler (trading.h): feed -> strategies -> risk -> OMS -> venue sessions on one
 * core, with tick-to-trade measured from the packet's RX TSC to the session's submit.
 */
#include "trading.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book.h"
#include "core.h"
#include "feed.h"
#include "command.h"
#include "hist.h"
#include "journal.h"
#include "oms.h"
#include "risk.h"
#include "session.h"
#include "strategy.h"
#include "trading_stats.h"

#define MAX_STRATEGIES 16
#define MAX_ACCOUNTS 64
#define MAX_PENDING 256 /* orders sent in one burst whose tick-to-trade is taken at the flush */
#define MONEY 10000 /* currency units to price x qty units (ITCH prices are 1/10000) */

/* An order's tick-to-trade start, kept until its venue's session has handed it to the kernel. */
struct pend {
	uint64_t rx_tsc;
	uint16_t venue;
};

struct tvenue {
	struct trading *t;
	uint16_t index;
	int feed;
	const char *name;
	struct vsession *sess;
	bool dirty; /* something queued since the last flush */
};

struct trading {
	struct worker_handler feed_h; /* the feed handler this one drives */
	struct worker_feed *wf;
	struct risk_ctx *risk;
	struct oms *oms;
	struct tvenue venues[OMS_MAX_VENUES];
	uint16_t nvenues;
	int16_t feed_venue[DRIVER_MAX_FLOWS]; /* venue of a feed index, -1: none */
	struct strategy strat[MAX_STRATEGIES];
	uint16_t nstrat;
	uint32_t stride; /* instruments per venue in risk's id space */
	int64_t *last; /* last trade per risk instrument */
	uint64_t now_ns;
	uint64_t cur_trigger; /* RX TSC of the event being handled; 0 outside market data */
	struct pend pend[MAX_PENDING];
	uint32_t npend;
	uint64_t next_oms_poll_ns;
	FILE *report;
	int report_err;
	uint64_t md_events, risk_rejects[RISK_R_REASONS];
	uint64_t now_tsc; /* of the burst or tick being handled */
	uint64_t tsc_cost; /* of one TSC read, taken off the stage clocks */
	struct shm_stats_worker *st; /* the trading block and histograms */
	struct shm_journal_writer *journal; /* every order event, before anything else sees it */
	bool journal_failed; /* a record could not be written: trading stops (fail closed) */
	uint64_t journal_records;
	/* the limits as configured, so a command can change one field of them */
	struct risk_instrument_limits il;
	struct risk_account_limits acct[MAX_ACCOUNTS];
	bool acct_set[MAX_ACCOUNTS];
	uint64_t commands, command_errors;
	struct trading_stats pub; /* sessions, rejects by control, kills, PnL in the stats block */
};

/* ---- configuration ---- */

static int money(struct config *c, const char *sec, const char *key, int64_t *out, char *err,
		 size_t errlen, const char *name)
{
	const char *v = config_get(c, sec, key);
	char *end;

	if (!v)
		return 0;
	errno = 0;
	long long whole = strtoll(v, &end, 10);
	long long frac = 0;
	int digits = 0;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9' && digits < 2; end++, digits++)
			frac = frac * 10 + (*end - '0');
	if (errno || *end || end == v || whole < 0 || whole > 100000000000ll) {
		snprintf(err, errlen, "%s: [%s] %s: '%s' is not an amount like 250000.00", name,
			 sec, key, v);
		return -EINVAL;
	}
	for (; digits < 2; digits++)
		frac *= 10;
	*out = ((int64_t)whole * 100 + frac) * (MONEY / 100);
	return 0;
}

static int cfg_err(struct config *c, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", config_error(c));
	return -EINVAL;
}

static int u32_key(struct config *c, const char *sec, const char *key, uint64_t max, uint32_t *out)
{
	uint64_t v = *out;
	int rc = config_u64(c, sec, key, 0, max, &v);

	*out = (uint32_t)v;
	return rc;
}

static int parse_risk(struct trading *t, struct config *c, const char *name, char *err,
		      size_t errlen)
{
	static const char *const keys[] = {
		"tick",	    "max_order_qty", "max_order_notional", "collar_ticks", "collar_bps",
		"max_long", "max_short",     "msg_rate",	   "msg_burst",	   NULL
	};
	struct risk_instrument_limits il = { .tick = 100 };
	struct risk_session_limits sl = { 0 };
	uint64_t v;

	if (config_check_keys(c, "risk", keys))
		return cfg_err(c, err, errlen);
	v = 0;
	if (config_u64(c, "risk", "max_order_qty", 0, 1u << 30, &v))
		return cfg_err(c, err, errlen);
	il.max_order_qty = (int64_t)v;
	const char *tick = config_get(c, "risk", "tick");
	if (tick) {
		struct strategy_param p = { "tick", tick };
		if (strategy_param_price(&p, 1, "tick", &il.tick, err, errlen) || il.tick <= 0) {
			snprintf(err, errlen, "%s: [risk] tick: '%s' is not a positive price", name,
				 tick);
			return -EINVAL;
		}
	}
	if (money(c, "risk", "max_order_notional", &il.max_order_notional, err, errlen, name))
		return -EINVAL;
	v = 0;
	if (config_u64(c, "risk", "collar_ticks", 0, 1u << 30, &v))
		return cfg_err(c, err, errlen);
	il.collar_ticks = (int64_t)v;
	uint32_t bps = 0;
	if (u32_key(c, "risk", "collar_bps", 100000, &bps))
		return cfg_err(c, err, errlen);
	il.collar_bps = (int32_t)bps;
	v = 0;
	if (config_u64(c, "risk", "max_long", 0, 1ull << 40, &v))
		return cfg_err(c, err, errlen);
	il.max_long = (int64_t)v;
	v = 0;
	if (config_u64(c, "risk", "max_short", 0, 1ull << 40, &v))
		return cfg_err(c, err, errlen);
	il.max_short = (int64_t)v;
	if (u32_key(c, "risk", "msg_rate", 10000000, &sl.msg_rate) ||
	    u32_key(c, "risk", "msg_burst", 10000000, &sl.msg_burst))
		return cfg_err(c, err, errlen);
	if (sl.msg_rate && !sl.msg_burst)
		sl.msg_burst = sl.msg_rate;
	t->il = il;
	for (uint32_t i = 0; i < t->stride * t->nvenues; i++)
		if (risk_set_instrument(t->risk, i, &il)) {
			snprintf(err, errlen, "%s: [risk]: limits refused by the risk module",
				 name);
			return -EINVAL;
		}
	for (uint16_t v2 = 0; v2 < t->nvenues; v2++)
		if (risk_set_session(t->risk, v2, &sl)) {
			snprintf(err, errlen, "%s: [risk] msg_rate: refused by the risk module",
				 name);
			return -EINVAL;
		}
	return 0;
}

static int parse_accounts(struct trading *t, struct config *c, const char *name, char *err,
			  size_t errlen)
{
	static const char *const keys[] = {
		"max_gross_exposure",
		"max_net_exposure",
		"credit_limit",
		"start_cash",
		"check_cash",
		"allow_short",
		"daily_loss_limit",
		"max_leverage_x100",
		"margin_bps",
		"max_open_orders",
		"order_rate",
		"order_burst",
		"dup_window_ms",
		"self_cross_check",
		"allow_reducing_when_killed",
		NULL,
	};
	const char *secs[MAX_ACCOUNTS + 1];
	size_t n = config_sections(c, "account", secs, MAX_ACCOUNTS + 1);

	if (config_check_keys(c, "account", keys))
		return cfg_err(c, err, errlen);
	if (n > MAX_ACCOUNTS) {
		snprintf(err, errlen, "%s: more than %d [account.N] sections", name, MAX_ACCOUNTS);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *sec = secs[i];
		char *end;
		unsigned long id = strtoul(sec + 8, &end, 10);
		struct risk_account_limits l = { .allow_short = true, .self_cross_check = true };
		uint64_t dup_ms = 0;

		if (strncmp(sec, "account.", 8) || *end || end == sec + 8 || id >= MAX_ACCOUNTS) {
			snprintf(err, errlen, "%s: [%s]: name accounts [account.N] with N < %d",
				 name, sec, MAX_ACCOUNTS);
			return -EINVAL;
		}
		if (money(c, sec, "max_gross_exposure", &l.max_gross_exposure, err, errlen, name) ||
		    money(c, sec, "max_net_exposure", &l.max_net_exposure, err, errlen, name) ||
		    money(c, sec, "credit_limit", &l.credit_limit, err, errlen, name) ||
		    money(c, sec, "start_cash", &l.start_cash, err, errlen, name) ||
		    money(c, sec, "daily_loss_limit", &l.daily_loss_limit, err, errlen, name))
			return -EINVAL;
		if (config_bool(c, sec, "check_cash", &l.check_cash) ||
		    config_bool(c, sec, "allow_short", &l.allow_short) ||
		    config_bool(c, sec, "self_cross_check", &l.self_cross_check) ||
		    config_bool(c, sec, "allow_reducing_when_killed",
				&l.allow_reducing_when_killed) ||
		    u32_key(c, sec, "max_leverage_x100", 1000000, &l.max_leverage_x100) ||
		    u32_key(c, sec, "margin_bps", 10000, &l.margin_bps) ||
		    u32_key(c, sec, "max_open_orders", 10000000, &l.max_open_orders) ||
		    u32_key(c, sec, "order_rate", 10000000, &l.order_rate) ||
		    u32_key(c, sec, "order_burst", 10000000, &l.order_burst) ||
		    config_u64(c, sec, "dup_window_ms", 0, 3600000, &dup_ms))
			return cfg_err(c, err, errlen);
		if (l.order_rate && !l.order_burst)
			l.order_burst = l.order_rate;
		l.dup_window_ns = dup_ms * 1000000u;
		t->acct[id] = l;
		t->acct_set[id] = true;
		if (risk_set_account(t->risk, (uint32_t)id, &l)) {
			snprintf(err, errlen, "%s: [%s]: limits refused by the risk module", name,
				 sec);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- callbacks ---- */

static int oms_send_cb(void *ctx, uint16_t venue, const void *msg, size_t len)
{
	struct trading *t = ctx;

	if (venue >= t->nvenues)
		return -EINVAL;
	int rc = vsession_send(t->venues[venue].sess, msg, len);
	if (rc == 0) {
		t->venues[venue].dirty = true;
		if (t->cur_trigger && t->npend < MAX_PENDING)
			t->pend[t->npend++] = (struct pend){ t->cur_trigger, venue };
	}
	return rc;
}

static const char *oms_symbol_cb(void *ctx, uint16_t venue, uint32_t instrument)
{
	struct trading *t = ctx;

	if (venue >= t->nvenues || t->venues[venue].feed < 0)
		return NULL;
	struct book_set *b = worker_feed_feed(t->wf, (uint16_t)t->venues[venue].feed)->books;
	struct book_instrument_info *in = book_instrument(b, instrument);
	return in && in->known ? in->symbol : NULL;
}

/* Journal slots made writable ahead of the writer each millisecond (256 KiB): appends on the
 * order path never take the file system's page fault. */
#define JOURNAL_PREFAULT 2048
#define STAGE_SAMPLE 16 /* a power of two */

static inline uint64_t less(uint64_t v, uint64_t cost)
{
	return v > cost ? v - cost : 0;
}

/* What reading the TSC costs here: the least of many back-to-back reads. */
static uint64_t tsc_read_cost(void)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 1000; i++) {
		uint64_t a = clock_tsc(), b = clock_tsc();
		if (b - a < best)
			best = b - a;
	}
	return best;
}

/* The worker's clocks of the burst or tick being handled: no clock read per record. */
static uint64_t journal_now(void *ctx)
{
	const struct trading *t = ctx;

	return t->now_ns ? t->now_ns : clock_wall_ns();
}

static uint64_t journal_tsc(void *ctx)
{
	const struct trading *t = ctx;

	return t->now_tsc ? t->now_tsc : clock_tsc();
}

/* The OMS event as a journal record: the order as it stands after the event. */
static void journal_event(struct trading *t, const struct oms_event *ev)
{
	static const uint16_t types[OMS_EV_KINDS] = {
		[OMS_EV_SENT] = SHM_JOURNAL_ORDER_NEW,
		[OMS_EV_RISK_REJECT] = SHM_JOURNAL_RISK,
		[OMS_EV_ACCEPTED] = SHM_JOURNAL_ORDER_ACK,
		[OMS_EV_REJECTED] = SHM_JOURNAL_ORDER_REJECT,
		[OMS_EV_FILL] = SHM_JOURNAL_ORDER_FILL,
		[OMS_EV_CANCELED] = SHM_JOURNAL_ORDER_CANCEL,
		[OMS_EV_REPLACED] = SHM_JOURNAL_ORDER_REPLACE,
		[OMS_EV_EXPIRED] = SHM_JOURNAL_ORDER_REJECT,
	};
	uint16_t type = ev->kind < OMS_EV_KINDS ? types[ev->kind] : 0;

	if (!t->journal || !type)
		return;
	struct shm_journal_record *r = shm_journal_reserve(t->journal);
	if (!r) {
		/* No record, no trading: the kill switch stops every new order from here on. */
		if (!t->journal_failed)
			risk_kill(t->risk, RISK_SCOPE_FIRM, 0, true);
		t->journal_failed = true;
		return;
	}
	r->type = type;
	r->version = 1;
	memset(r->payload, 0, sizeof(r->payload));
	if (type == SHM_JOURNAL_RISK) {
		struct shm_journal_risk *k = (void *)r->payload;
		k->order_id = ev->o ? ev->o->id : 0;
		k->limit = ev->limit;
		k->value = ev->value;
		k->price = ev->price;
		k->qty = ev->qty;
		k->instrument = ev->instrument;
		k->account = ev->account;
		k->control = (uint16_t)ev->reason;
		k->side = ev->side;
		k->action = SHM_JOURNAL_RISK_REJECTED;
		r->len = sizeof(*k);
	} else {
		const struct oms_order *o = ev->o;
		struct shm_journal_order *j = (void *)r->payload;
		j->order_id = o->id;
		j->venue_order_id = o->venue_ref;
		j->match_no = ev->match;
		j->price = o->price;
		j->qty = o->qty;
		j->leaves = o->leaves;
		if (ev->kind == OMS_EV_FILL) {
			j->last_px = ev->price;
			j->last_qty = ev->qty;
			j->liquidity = (uint8_t)ev->reason;
		} else {
			j->reason = (uint16_t)ev->reason;
		}
		j->instrument = o->instrument;
		j->account = o->account;
		j->venue = o->venue;
		j->strategy = (uint16_t)o->strategy;
		j->side = o->side;
		j->tif = o->tif;
		r->len = sizeof(*j);
	}
	shm_journal_commit(t->journal, r);
	t->journal_records++;
}

static void oms_event_cb(void *ctx, const struct oms_event *ev)
{
	struct trading *t = ctx;

	journal_event(t, ev);
	trading_stats_event(&t->pub, ev);
	if (ev->kind == OMS_EV_RISK_REJECT && ev->reason < RISK_R_REASONS)
		t->risk_rejects[ev->reason]++;
	if (ev->kind == OMS_EV_FILL && t->report) {
		const struct oms_order *o = ev->o;
		if (fprintf(t->report, "fill %s %s %c %ld %ld %lu\n", t->venues[o->venue].name,
			    o->token, o->side, (long)ev->qty, (long)ev->price,
			    (unsigned long)ev->match) < 0 &&
		    !t->report_err)
			t->report_err = -EIO;
	}
	if (!ev->o || ev->o->strategy >= t->nstrat)
		return;
	struct strategy *s = &t->strat[ev->o->strategy];
	s->now_ns = t->now_ns;
	s->trigger_tsc = 0; /* orders from order updates are not tick-to-trade */
	if (ev->kind == OMS_EV_FILL && s->ops->on_fill)
		s->ops->on_fill(s, ev);
	else if (s->ops->on_order_update)
		s->ops->on_order_update(s, ev);
}

static void flush(struct trading *t);

static void on_md(void *ctx, uint16_t feed, const struct md_event *ev)
{
	struct trading *t = ctx;
	int16_t v = feed < DRIVER_MAX_FLOWS ? t->feed_venue[feed] : -1;

	t->md_events++;
	if (v < 0)
		return;
	uint32_t ri = oms_risk_instrument(t->stride, (uint16_t)v, ev->instrument);
	struct book_set *b = worker_feed_feed(t->wf, (uint16_t)feed)->books;
	struct book_instrument_info *in = book_instrument(b, ev->instrument);
	if (ri < t->stride * t->nvenues) {
		if (ev->kind == MD_EXECUTE || ev->kind == MD_TRADE)
			t->last[ri] = ev->price;
		risk_set_market(t->risk, ri, ev->bbo.bid_px, ev->bbo.ask_px, t->last[ri],
				in && in->stale, in && in->trading_state != BOOK_STATE_TRADING);
	}
	/* Reading the TSC costs 20 cycles on bare metal and about 40 ns in this project's VMs, so
	 * the stage clocks run on the one message in STAGE_SAMPLE the feed stamped, not on every
	 * message; tick-to-trade itself is timed for every order. */
	struct feed *fd = worker_feed_feed(t->wf, (uint16_t)feed);
	bool sample = fd->trace_book != 0;
	uint64_t t0 = 0;
	if (sample) {
		t0 = clock_tsc();
		hist_record(&t->st->feed_cycles, t0 - ev->rx_tsc);
		hist_record(&t->st->decode_cycles,
			    less(fd->trace_book - fd->trace_in, t->tsc_cost));
		hist_record(&t->st->book_cycles, less(t0 - fd->trace_book, t->tsc_cost));
		fd->trace_book = 0;
		oms_trace(t->oms, true);
	}
	t->cur_trigger = ev->rx_tsc;
	for (uint16_t i = 0; i < t->nstrat; i++) {
		struct strategy *s = &t->strat[i];
		s->now_ns = t->now_ns;
		s->trigger_tsc = ev->rx_tsc;
		if (s->ops->on_md)
			s->ops->on_md(s, (uint16_t)v, ev);
	}
	t->cur_trigger = 0;
	if (sample) {
		oms_trace(t->oms, false);
		hist_record(&t->st->strategy_cycles, less(clock_tsc() - t0, t->tsc_cost));
	}
	/* Orders go out as soon as the event that caused them is handled, not at the end of the
	 * burst: the rest of the burst is not on their tick-to-trade path. */
	if (t->npend)
		flush(t);
}

/*
 * Submits what the sessions queued. Tick-to-trade ends at the submission: the TSC just before
 * the io_uring submit that hands the orders to the kernel (the submit itself runs the TCP send).
 * Orders that wait behind a send still in flight have not been submitted: their venue stays
 * dirty and their stamps stay pending until a later flush (after the tick's poll at the latest)
 * hands them over, and tick-to-trade is taken then. Orders a dropped session discarded are not
 * counted at all. A session's flush may reap venue messages, so OMS events can be handled here.
 */
static void flush(struct trading *t)
{
	uint64_t now = 0;
	uint32_t gone = 0; /* venues whose queue is with the kernel, or discarded: a bit each */
	uint32_t down = 0;
	_Static_assert(OMS_MAX_VENUES <= 32, "a bit per venue");

	for (uint16_t v = 0; v < t->nvenues; v++) {
		if (!t->venues[v].dirty)
			continue;
		if (!now)
			now = clock_tsc();
		int rc = vsession_flush(t->venues[v].sess);
		if (rc == 1)
			continue;
		t->venues[v].dirty = false;
		gone |= 1u << v;
		if (rc < 0 || vsession_state(t->venues[v].sess) != VSESSION_LOGGED_IN)
			down |= 1u << v;
	}
	if (!t->npend)
		return;
	uint32_t keep = 0;
	for (uint32_t i = 0; i < t->npend; i++) {
		const struct pend *p = &t->pend[i];
		if (!(gone >> p->venue & 1))
			t->pend[keep++] = *p;
		else if (!(down >> p->venue & 1))
			hist_record(&t->st->t2t_cycles, now - p->rx_tsc);
	}
	t->npend = keep;
}

static void on_packets(void *ctx, struct pkt *pkts, uint16_t n, uint64_t now_tsc)
{
	struct trading *t = ctx;

	t->now_ns = clock_tsc_to_wall_ns(now_tsc);
	t->now_tsc = now_tsc;
	t->feed_h.on_packets(t->feed_h.ctx, pkts, n, now_tsc);
	flush(t);
}

/* Sessions, rejects by control, kill switches, accounts and positions (trading_stats.h). */
static void publish_slow(struct trading *t)
{
	struct vsession *sess[OMS_MAX_VENUES];

	for (uint16_t v = 0; v < t->nvenues; v++)
		sess[v] = t->venues[v].sess;
	trading_stats_publish(&t->pub, t->risk, sess, t->risk_rejects, t->acct_set, t->now_ns);
}

/* Counters into the stats block, once per tick. */
static void publish(struct trading *t)
{
	const struct oms_stats *s = oms_stats(t->oms);

	t->st->orders_sent = s->sent;
	t->st->fills = s->fills;
	t->st->risk_rejects = s->risk_rejects;
	t->st->venue_rejects = s->rejected;
	t->st->md_events = t->md_events;
	publish_slow(t);
}

static void on_venue_message(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len)
{
	struct tvenue *v = ctx;

	oms_on_venue(v->t->oms, v->index, msg, len, v->t->now_ns);
	(void)seq;
}

static void on_venue_state(void *ctx, enum vsession_state st, const char *why)
{
	struct tvenue *v = ctx;

	/* Whatever was in flight may be lost; the OMS settles it after the replay. */
	if (st == VSESSION_DISCONNECTED || st == VSESSION_CLOSED)
		oms_venue_down(v->t->oms, v->index, v->t->now_ns ? v->t->now_ns : clock_wall_ns());
	if (v->t->oms) /* NULL while the handler is being built; set from the state then */
		oms_venue_ready(v->t->oms, v->index, st == VSESSION_LOGGED_IN);
	trading_stats_session_state(&v->t->pub, v->index, st);
	(void)why;
}

static int on_timer(void *ctx, uint64_t now_tsc)
{
	struct trading *t = ctx;
	int work = t->feed_h.on_timer ? t->feed_h.on_timer(t->feed_h.ctx, now_tsc) : 0;

	t->now_ns = clock_tsc_to_wall_ns(now_tsc);
	t->now_tsc = now_tsc;
	for (uint16_t v = 0; v < t->nvenues; v++)
		work += vsession_poll(t->venues[v].sess, t->now_ns);
	if (t->now_ns >= t->next_oms_poll_ns) {
		work += (int)oms_poll(t->oms, t->now_ns);
		for (uint16_t i = 0; i < t->nstrat; i++)
			if (t->strat[i].ops->on_timer) {
				t->strat[i].now_ns = t->now_ns;
				t->strat[i].trigger_tsc = 0;
				t->strat[i].ops->on_timer(&t->strat[i], t->now_ns);
			}
		t->next_oms_poll_ns = t->now_ns + 1000000;
		publish(t);
		if (t->journal)
			shm_journal_writer_prefault(t->journal, JOURNAL_PREFAULT);
	}
	flush(t);
	return work;
}

/* ---- commands from the control plane ---- */

static void command_ack(struct trading *t, const struct shm_command *c, int result,
			const char *detail)
{
	struct shm_journal_command_ack a;

	t->commands++;
	if (result)
		t->command_errors++;
	if (!t->journal)
		return;
	memset(&a, 0, sizeof(a));
	a.command_id = c->id;
	a.command_type = c->type;
	a.result = result;
	snprintf(a.detail, sizeof(a.detail), "%s", detail);
	if (!shm_journal_append(t->journal, SHM_JOURNAL_COMMAND_ACK, &a, sizeof(a)) &&
	    !t->journal_failed) {
		risk_kill(t->risk, RISK_SCOPE_FIRM, 0, true);
		t->journal_failed = true;
	}
}

/* A limit change (enum shm_command_limit). */
static int set_limit(struct trading *t, const struct shm_command_set_limit *l)
{
	int64_t v = l->value;
	bool instrument_limit = l->limit >= SHM_LIMIT_MAX_ORDER_QTY &&
				l->limit <= SHM_LIMIT_MAX_SHORT;

	if (v < 0)
		return -EINVAL;
	if (instrument_limit) {
		struct risk_instrument_limits il = t->il;
		switch (l->limit) {
		case SHM_LIMIT_MAX_ORDER_QTY: il.max_order_qty = v; break;
		case SHM_LIMIT_MAX_ORDER_NOTIONAL: il.max_order_notional = v; break;
		case SHM_LIMIT_COLLAR_TICKS: il.collar_ticks = v; break;
		case SHM_LIMIT_COLLAR_BPS: il.collar_bps = (int32_t)v; break;
		case SHM_LIMIT_MAX_LONG: il.max_long = v; break;
		default: il.max_short = v; break;
		}
		uint32_t n = t->stride * t->nvenues;
		if (l->scope == SHM_COMMAND_SCOPE_INSTRUMENT)
			return l->id < n ? risk_set_instrument(t->risk, l->id, &il) : -EINVAL;
		if (l->scope != SHM_COMMAND_SCOPE_FIRM)
			return -EINVAL;
		t->il = il;
		for (uint32_t i = 0; i < n; i++)
			if (risk_set_instrument(t->risk, i, &il))
				return -EINVAL;
		return 0;
	}
	if (l->limit < SHM_LIMIT_MAX_GROSS_EXPOSURE || l->limit > SHM_LIMIT_ORDER_RATE)
		return -EINVAL;
	uint32_t first = l->id, last = l->id;
	if (l->scope == SHM_COMMAND_SCOPE_FIRM) {
		first = 0;
		last = MAX_ACCOUNTS - 1;
	} else if (l->scope != SHM_COMMAND_SCOPE_ACCOUNT || l->id >= MAX_ACCOUNTS) {
		return -EINVAL;
	}
	for (uint32_t id = first; id <= last; id++) {
		if (l->scope == SHM_COMMAND_SCOPE_FIRM && !t->acct_set[id])
			continue; /* firm scope reaches configured accounts only: never opens one */
		struct risk_account_limits a = t->acct[id];
		switch (l->limit) {
		case SHM_LIMIT_MAX_GROSS_EXPOSURE: a.max_gross_exposure = v; break;
		case SHM_LIMIT_MAX_NET_EXPOSURE: a.max_net_exposure = v; break;
		case SHM_LIMIT_CREDIT: a.credit_limit = v; break;
		case SHM_LIMIT_DAILY_LOSS: a.daily_loss_limit = v; break;
		case SHM_LIMIT_MAX_OPEN_ORDERS: a.max_open_orders = (uint32_t)v; break;
		default:
			a.order_rate = (uint32_t)v;
			if (a.order_burst < a.order_rate / 10 + 1)
				a.order_burst = a.order_rate / 10 + 1;
			break;
		}
		int rc = risk_set_account(t->risk, id, &a);
		if (rc)
			return rc;
		t->acct[id] = a;
		t->acct_set[id] = true;
	}
	return 0;
}

/*
 * Venue disconnect (log out, stay down until connect) and connect (reconnect at once and log in
 * at the next expected sequence number, so the replay brings back whatever happened meanwhile).
 * A worker without the venue answers -ENOENT: the control plane sends to every worker.
 */
static int venue_command(struct trading *t, const struct shm_command *c, char *why, size_t len)
{
	char name[SHM_COMMAND_VENUE_NAME_LEN + 1];
	struct tvenue *v = NULL;

	memcpy(name, c->venue.name, SHM_COMMAND_VENUE_NAME_LEN);
	name[SHM_COMMAND_VENUE_NAME_LEN] = '\0';
	for (uint16_t i = 0; i < t->nvenues && !v; i++)
		if (!strcmp(t->venues[i].name, name))
			v = &t->venues[i];
	if (!v) {
		snprintf(why, len, "no venue '%s' on this worker", name);
		return -ENOENT;
	}
	if (c->type == SHM_COMMAND_VENUE_DISCONNECT) {
		trading_stats_admin(&t->pub, v->index, true);
		vsession_logout(v->sess);
		snprintf(why, len, "venue %s logged out", v->name);
		return 0;
	}
	int rc = vsession_connect(v->sess);
	if (rc == 0 || rc == -EALREADY)
		trading_stats_admin(&t->pub, v->index, false);
	snprintf(why, len, rc == 0 ? "venue %s reconnecting" : "venue %s is not disconnected",
		 v->name);
	return rc;
}

static void on_command(void *ctx, const void *rec, size_t len)
{
	struct trading *t = ctx;
	const struct shm_command *c = rec;
	char why[80] = "";
	int rc = -EINVAL;

	if (len < sizeof(*c))
		return;
	switch (c->type) {
	case SHM_COMMAND_KILL_SWITCH: {
		const struct shm_command_kill_switch *k = &c->kill_switch;
		enum risk_scope sc = k->scope == SHM_COMMAND_SCOPE_ACCOUNT ? RISK_SCOPE_ACCOUNT
				     : k->scope == SHM_COMMAND_SCOPE_INSTRUMENT
					     ? RISK_SCOPE_INSTRUMENT
					     : RISK_SCOPE_FIRM;
		rc = risk_kill(t->risk, sc, k->id, k->on != 0);
		if (rc == 0)
			trading_stats_kill(&t->pub, sc, k->id, k->on != 0);
		if (rc == 0 && k->on && k->cancel_open) {
			uint32_t n = oms_cancel_all(t->oms,
						    sc == RISK_SCOPE_ACCOUNT ? k->id : UINT32_MAX,
						    UINT32_MAX, t->now_ns);
			snprintf(why, sizeof(why), "kill switch on, %u cancels sent", n);
		} else {
			snprintf(why, sizeof(why), "kill switch %s", k->on ? "on" : "off");
		}
		break;
	}
	case SHM_COMMAND_CANCEL_ALL: {
		const struct shm_command_cancel_all *k = &c->cancel_all;
		uint32_t n = oms_cancel_all(
			t->oms, k->scope == SHM_COMMAND_SCOPE_ACCOUNT ? k->id : UINT32_MAX,
			UINT32_MAX, t->now_ns);
		snprintf(why, sizeof(why), "%u cancels sent", n);
		rc = 0;
		break;
	}
	case SHM_COMMAND_SET_LIMIT:
		rc = set_limit(t, &c->set_limit);
		snprintf(why, sizeof(why), "limit %u = %ld", c->set_limit.limit,
			 (long)c->set_limit.value);
		break;
	case SHM_COMMAND_MANUAL_ORDER: {
		const struct shm_command_manual_order *m = &c->manual_order;
		struct oms_request r = { .account = m->account,
					 .instrument = m->instrument,
					 .strategy = UINT32_MAX,
					 .venue = m->venue,
					 .side = m->side == 'B' ? 'B' : 'S',
					 .tif = m->tif == OMS_IOC ? OMS_IOC : OMS_DAY,
					 .price = m->price,
					 .qty = m->qty };
		uint64_t id;
		/* The same risk checks as any strategy order: oms_send runs them. */
		rc = oms_send(t->oms, &r, t->now_ns, &id);
		if (rc == 0)
			snprintf(why, sizeof(why), "order %lu sent", (unsigned long)id);
		else if (rc < 0 && -rc < RISK_R_REASONS)
			snprintf(why, sizeof(why), "risk: %s",
				 risk_reason_name((enum risk_reason) - rc));
		break;
	}
	case SHM_COMMAND_MANUAL_CANCEL: {
		const struct oms_order *o = oms_order(t->oms, c->manual_cancel.order_id);
		rc = !o || o->account != c->manual_cancel.account
			     ? -ENOENT
			     : oms_cancel(t->oms, c->manual_cancel.order_id, 0, t->now_ns);
		break;
	}
	case SHM_COMMAND_VENUE_DISCONNECT:
	case SHM_COMMAND_VENUE_CONNECT: rc = venue_command(t, c, why, sizeof(why)); break;
	default: rc = -EOPNOTSUPP; break;
	}
	if (rc && !why[0])
		snprintf(why, sizeof(why), "%s", strerror(rc < 0 ? -rc : rc));
	command_ack(t, c, rc, why);
	flush(t);
}

/* ---- construction ---- */

static int parse_venues(struct trading *t, struct config *c, const char *name, char *err,
			size_t errlen)
{
	static const char *const keys[] = { "feed",    "address", "user", "password",
					    "session", "firm",	  NULL };
	const char *secs[OMS_MAX_VENUES + 1];
	size_t n = config_sections(c, "venue", secs, OMS_MAX_VENUES + 1);

	if (config_check_keys(c, "venue", keys))
		return cfg_err(c, err, errlen);
	if (n == 0 || n > OMS_MAX_VENUES) {
		snprintf(err, errlen, "%s: handler trading needs 1 to %d [venue.<name>] sections",
			 name, OMS_MAX_VENUES);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *sec = secs[i], *feed = NULL, *addr = NULL, *user = NULL, *pass = NULL;
		const char *session = "";
		struct tvenue *v = &t->venues[i];
		struct vsession_cfg sc;

		v->t = t;
		v->index = (uint16_t)i;
		v->name = sec + 6;
		/* The name is how the stats region, the command ring and the API find the venue. */
		if (!*v->name || strlen(v->name) >= SHM_STATS_SESSION_NAME_LEN) {
			snprintf(err, errlen, "%s: [%s]: a venue name is 1 to %d characters", name,
				 sec, SHM_STATS_SESSION_NAME_LEN - 1);
			return -EINVAL;
		}
		if (config_require(c, sec, "feed") || config_require(c, sec, "address") ||
		    config_require(c, sec, "user") || config_require(c, sec, "password"))
			return cfg_err(c, err, errlen);
		config_str(c, sec, "feed", &feed);
		config_str(c, sec, "address", &addr);
		config_str(c, sec, "user", &user);
		config_str(c, sec, "password", &pass);
		config_str(c, sec, "session", &session);
		v->feed = worker_feed_find(t->wf, feed);
		if (v->feed < 0) {
			snprintf(err, errlen, "%s: [%s] feed: no [feed.%s]", name, sec, feed);
			return -EINVAL;
		}
		t->feed_venue[v->feed] = (int16_t)i;
		vsession_cfg_default(&sc);
		char host[64];
		const char *colon = strrchr(addr, ':');
		unsigned long port = colon ? strtoul(colon + 1, NULL, 10) : 0;
		if (!colon || (size_t)(colon - addr) >= sizeof(host) || port == 0 || port > 65535) {
			snprintf(err, errlen, "%s: [%s] address: '%s' is not IPv4:PORT", name, sec,
				 addr);
			return -EINVAL;
		}
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		sc.venue.sin_family = AF_INET;
		sc.venue.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sc.venue.sin_addr) != 1) {
			snprintf(err, errlen, "%s: [%s] address: '%s' is not IPv4:PORT", name, sec,
				 addr);
			return -EINVAL;
		}
		if (strlen(user) > SOUP_USER_LEN || strlen(pass) > SOUP_PASS_LEN ||
		    strlen(session) > SOUP_SESSION_LEN) {
			snprintf(err, errlen,
				 "%s: [%s]: user up to %d, password up to %d, session up to %d "
				 "characters",
				 name, sec, SOUP_USER_LEN, SOUP_PASS_LEN, SOUP_SESSION_LEN);
			return -EINVAL;
		}
		strcpy(sc.user, user);
		strcpy(sc.pass, pass);
		strcpy(sc.session, session);
		const struct vsession_ops ops = { .on_message = on_venue_message,
						  .on_state = on_venue_state };
		v->sess = vsession_create(&sc, &ops, v);
		if (!v->sess) {
			snprintf(err, errlen, "%s: [%s]: session: %s", name, sec, strerror(errno));
			return -EINVAL;
		}
		t->nvenues++;
	}
	return 0;
}

static int parse_strategies(struct trading *t, struct config *c, const char *name, char *err,
			    size_t errlen)
{
	const char *secs[MAX_STRATEGIES + 1];
	size_t n = config_sections(c, "strategy", secs, MAX_STRATEGIES + 1);

	if (n > MAX_STRATEGIES) {
		snprintf(err, errlen, "%s: more than %d strategies", name, MAX_STRATEGIES);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *sec = secs[i], *keys[STRATEGY_MAX_PARAMS + 3],
			   *vals[STRATEGY_MAX_PARAMS + 3];
		struct strategy_param p[STRATEGY_MAX_PARAMS];
		size_t np = 0, nk = config_entries(c, sec, keys, vals, STRATEGY_MAX_PARAMS + 3);
		const struct strategy_ops *ops = NULL;
		uint64_t account = 0;
		char why[256] = "";

		if (nk > STRATEGY_MAX_PARAMS + 3) {
			snprintf(err, errlen, "%s: [%s]: too many parameters", name, sec);
			return -EINVAL;
		}
		if (config_u64(c, sec, "account", 0, MAX_ACCOUNTS - 1, &account))
			return cfg_err(c, err, errlen);
		for (size_t k = 0; k < nk; k++) {
			if (!strcmp(keys[k], "type")) {
				ops = strategy_builtin(vals[k]);
				if (!ops) {
					snprintf(err, errlen,
						 "%s: [%s] type: '%s' is not a built-in strategy "
						 "(market_maker, imbalance_taker, arbitrage)",
						 name, sec, vals[k]);
					return -EINVAL;
				}
			} else if (!strcmp(keys[k], "plugin")) {
				ops = strategy_load(vals[k], why, sizeof(why));
				if (!ops) {
					snprintf(err, errlen, "%s: [%s] plugin: %s", name, sec,
						 why);
					return -EINVAL;
				}
			} else if (strcmp(keys[k], "account") != 0) {
				p[np++] = (struct strategy_param){ keys[k], vals[k] };
			}
		}
		if (!ops) {
			snprintf(err, errlen, "%s: [%s]: type or plugin is required", name, sec);
			return -EINVAL;
		}
		struct strategy *s = &t->strat[i];
		s->ops = ops;
		s->id = (uint32_t)i;
		s->account = (uint32_t)account;
		s->oms = t->oms;
		s->venues = t->nvenues;
		for (uint16_t v = 0; v < t->nvenues; v++)
			s->books[v] = worker_feed_feed(t->wf, (uint16_t)t->venues[v].feed)->books;
		if (ops->init(s, p, np, why, sizeof(why))) {
			snprintf(err, errlen, "%s: [%s] %s", name, sec, why);
			if (ops->fini)
				ops->fini(s);
			s->ops = NULL;
			return -EINVAL;
		}
		t->nstrat++;
	}
	return 0;
}

struct trading *trading_create(struct config *c, const char *name, const struct worker_config *wc,
			       uint16_t index, struct worker_feed *wf, struct shm_stats_worker *st,
			       char *err, size_t errlen)
{
	const struct worker_cfg *w = &wc->workers[index];
	struct trading *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "[worker.%u] handler trading: out of memory", w->id);
		return NULL;
	}
	t->wf = wf;
	t->st = st;
	t->pub.st = NULL; /* set by trading_stats_init once the venues are known */
	worker_feed_handler(wf, &t->feed_h);
	worker_feed_set_md(wf, on_md, t);
	memset(t->feed_venue, -1, sizeof(t->feed_venue));
	for (uint16_t i = 0; i < wc->nfeeds; i++)
		if (wc->feeds[i].max_instruments > t->stride)
			t->stride = wc->feeds[i].max_instruments;
	/* Venues first (they name their feeds), then risk sized for them, then the rest. */
	struct oms_cfg oc = { .max_orders = 65536,
			      .worker = w->id,
			      .inflight_timeout_ns = 2000000000u,
			      .instrument_stride = 0 };
	strcpy(oc.firm, "TSYS");
	if (parse_venues(t, c, name, err, errlen))
		goto fail;
	oc.venues = t->nvenues;
	oc.instrument_stride = t->stride;
	if (trading_stats_init(&t->pub, st, t->stride, t->stride * t->nvenues, MAX_ACCOUNTS,
			       oms_symbol_cb, t)) {
		snprintf(err, errlen, "[worker.%u] handler trading: out of memory", w->id);
		goto fail;
	}
	for (uint16_t v = 0; v < t->nvenues; v++) {
		trading_stats_venue(&t->pub, v, t->venues[v].name);
		trading_stats_session_state(&t->pub, v, vsession_state(t->venues[v].sess));
	}
	struct risk_cfg rc = { .max_accounts = MAX_ACCOUNTS,
			       .max_instruments = t->stride * t->nvenues,
			       .max_sessions = t->nvenues,
			       .max_resting_per_side = 16 };
	t->risk = risk_create(&rc);
	t->last = calloc(rc.max_instruments, sizeof(*t->last));
	const struct oms_ops ops = { .send = oms_send_cb,
				     .on_event = oms_event_cb,
				     .symbol = oms_symbol_cb };
	t->oms = t->risk ? oms_create(&oc, t->risk, &ops, t) : NULL;
	if (!t->risk || !t->last || !t->oms) {
		snprintf(err, errlen, "[worker.%u] handler trading: cannot allocate risk/OMS: %s",
			 w->id, strerror(errno));
		goto fail;
	}
	/* No venue takes orders until its session logs in (on_venue_state). */
	for (uint16_t v = 0; v < t->nvenues; v++)
		oms_venue_ready(t->oms, v, vsession_state(t->venues[v].sess) == VSESSION_LOGGED_IN);
	if (t->st) {
		t->tsc_cost = tsc_read_cost();
		oms_set_stage_hists(t->oms, &t->st->risk_cycles, &t->st->encode_cycles,
				    t->tsc_cost);
		for (uint16_t v = 0; v < t->nvenues; v++)
			if (t->venues[v].feed >= 0) {
				struct feed *fd =
					worker_feed_feed(t->wf, (uint16_t)t->venues[v].feed);
				fd->sample_every = fd->sample_left = STAGE_SAMPLE;
			}
	}
	if (parse_risk(t, c, name, err, errlen) || parse_accounts(t, c, name, err, errlen) ||
	    parse_strategies(t, c, name, err, errlen))
		goto fail;
	if (wc->journal_dir) {
		struct shm_journal_opts jo = { .dir = wc->journal_dir,
					       .instance = wc->instance,
					       .worker = w->id,
					       .now = journal_now,
					       .tsc = journal_tsc,
					       .now_ctx = t };
		char why[512];
		t->journal = shm_journal_writer_open(&jo, why, sizeof(why));
		if (!t->journal) {
			snprintf(err, errlen, "[appliance] journal_dir %s: %s", wc->journal_dir,
				 why);
			goto fail;
		}
	}
	if (w->report_file) {
		t->report = fopen(w->report_file, "we");
		if (!t->report) {
			snprintf(err, errlen, "[worker.%u] report_file %s: %s", w->id,
				 w->report_file, strerror(errno));
			goto fail;
		}
		setvbuf(t->report, NULL, _IOFBF, 1 << 16);
	}
	return t;
fail:
	trading_destroy(t);
	return NULL;
}

static void on_stop(void *ctx);

void trading_handler(struct trading *t, struct worker_handler *h)
{
	memset(h, 0, sizeof(*h));
	h->on_packets = on_packets;
	h->on_timer = on_timer;
	h->on_command = on_command;
	h->on_stop = on_stop;
	h->ctx = t;
}

static void report_open(void *ctx, const struct oms_order *o)
{
	struct trading *t = ctx;

	fprintf(t->report, "open %s %s %c %ld %ld\n", t->venues[o->venue].name, o->token, o->side,
		(long)o->leaves, (long)o->price);
}

/* Polls the sessions for up to ms while orders are open (the worker's loop has ended). */
static void drain(struct trading *t, uint64_t ms)
{
	uint64_t end = clock_wall_ns() + ms * 1000000u;

	while (oms_stats(t->oms)->open > 0 && clock_wall_ns() < end) {
		t->now_ns = clock_wall_ns();
		for (uint16_t v = 0; v < t->nvenues; v++)
			vsession_poll(t->venues[v].sess, t->now_ns);
		oms_poll(t->oms, t->now_ns);
		flush(t);
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
}

/*
 * The worker's stop, on its own thread: the sessions' io_uring requests were issued there and
 * the kernel cancels them when that thread exits, which the sessions would see as a drop (and
 * log in again from another thread just to log out). A stopping appliance leaves nothing
 * resting: cancel every open order and wait (up to 3 s, past the in-flight timeout) for the
 * venue's answers, fills included, then log out.
 */
static void on_stop(void *ctx)
{
	struct trading *t = ctx;

	t->now_ns = clock_wall_ns();
	oms_cancel_all(t->oms, UINT32_MAX, UINT32_MAX, t->now_ns);
	flush(t);
	drain(t, 3000);
	for (uint16_t v = 0; v < t->nvenues; v++)
		vsession_logout(t->venues[v].sess);
	/* The logout goes out and the sockets close before the thread (and its requests) ends. */
	uint64_t end = clock_wall_ns() + 500000000u;
	for (uint16_t v = 0; v < t->nvenues; v++)
		while (!vsession_quiet(t->venues[v].sess) && clock_wall_ns() < end) {
			vsession_poll(t->venues[v].sess, clock_wall_ns());
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
		}
}

int trading_finish(struct trading *t)
{
	if (!t || !t->report)
		return 0;
	for (uint16_t v = 0; v < t->nvenues; v++) {
		struct book_set *b = worker_feed_feed(t->wf, (uint16_t)t->venues[v].feed)->books;
		for (uint32_t a = 0; a < MAX_ACCOUNTS; a++)
			for (uint32_t i = 0; i < t->stride; i++) {
				struct risk_position_view pv;
				uint32_t ri = oms_risk_instrument(t->stride, v, i);
				if (risk_position_view(t->risk, a, ri, &pv) || pv.position == 0)
					continue;
				struct book_instrument_info *in = book_instrument(b, i);
				fprintf(t->report, "position %u %s %s %ld\n", a, t->venues[v].name,
					in ? in->symbol : "?", (long)pv.position);
			}
	}
	oms_each_open(t->oms, report_open, t);
	if (fflush(t->report) && !t->report_err)
		t->report_err = -errno;
	return t->report_err;
}

void trading_summary(const struct trading *t, FILE *out)
{
	const struct oms_stats *s = oms_stats(t->oms);

	fprintf(out,
		"trading: md_events %lu orders_sent %lu accepted %lu rejected %lu fills %lu "
		"filled_qty %lu canceled %lu replaced %lu risk_rejects %lu timeouts %lu open %u\n",
		(unsigned long)t->md_events, (unsigned long)s->sent, (unsigned long)s->accepted,
		(unsigned long)s->rejected, (unsigned long)s->fills, (unsigned long)s->filled_qty,
		(unsigned long)s->canceled, (unsigned long)s->replaced,
		(unsigned long)s->risk_rejects, (unsigned long)s->timeouts, s->open);
	for (int r = 1; r < RISK_R_REASONS; r++)
		if (t->risk_rejects[r])
			fprintf(out, "trading: risk_reject %s %lu\n",
				risk_reason_name((enum risk_reason)r),
				(unsigned long)t->risk_rejects[r]);
	for (uint16_t v = 0; v < t->nvenues; v++) {
		const struct vsession_stats *vs = vsession_stats(t->venues[v].sess);
		fprintf(out, "trading: venue %s state %s logins %lu disconnects %lu messages %lu\n",
			t->venues[v].name, vsession_state_name(vsession_state(t->venues[v].sess)),
			(unsigned long)vs->logins, (unsigned long)vs->disconnects,
			(unsigned long)vs->messages);
	}
	if (t->journal || t->commands)
		fprintf(out,
			"trading: journal_records %lu journal_failed %d commands %lu command_errors %lu\n",
			(unsigned long)t->journal_records, (int)t->journal_failed,
			(unsigned long)t->commands, (unsigned long)t->command_errors);
	for (uint32_t a = 0; a < MAX_ACCOUNTS; a++) {
		struct risk_account_view av;
		if (risk_account_view(t->risk, a, &av) || (!av.realized_pnl && !av.unrealized_pnl &&
							   !av.gross_exposure && !av.open_orders))
			continue;
		fprintf(out,
			"trading: account %u pnl %.2f realized %.2f unrealized %.2f gross_exposure %.2f "
			"open_orders %u state %d\n",
			a, (double)(av.realized_pnl + av.unrealized_pnl) / MONEY,
			(double)av.realized_pnl / MONEY, (double)av.unrealized_pnl / MONEY,
			(double)av.gross_exposure / MONEY, av.open_orders, (int)av.state);
	}
	static const struct {
		const char *name;
		size_t off;
	} hs[] = {
		{ "tick_to_trade_ns", offsetof(struct shm_stats_worker, t2t_cycles) },
		{ "feed_burst_ns", offsetof(struct shm_stats_worker, feed_cycles) },
		{ "strategy_ns", offsetof(struct shm_stats_worker, strategy_cycles) },
		{ "decode_ns", offsetof(struct shm_stats_worker, decode_cycles) },
		{ "book_ns", offsetof(struct shm_stats_worker, book_cycles) },
		{ "risk_ns", offsetof(struct shm_stats_worker, risk_cycles) },
		{ "encode_ns", offsetof(struct shm_stats_worker, encode_cycles) },
	};
	fprintf(out, "trading: core_stalls %lu stalled_ns %lu longest_ns %lu\n",
		(unsigned long)t->st->stalls,
		(unsigned long)clock_cycles_to_ns(t->st->stall_cycles),
		(unsigned long)clock_cycles_to_ns(t->st->stall_max_cycles));
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		const struct hist *h = (const void *)((const char *)t->st + hs[i].off);
		if (!h->count)
			continue;
		fprintf(out, "trading: %s n %lu p50 %lu p99 %lu p99.9 %lu max %lu\n", hs[i].name,
			(unsigned long)h->count,
			(unsigned long)clock_cycles_to_ns(hist_percentile(h, 0.5)),
			(unsigned long)clock_cycles_to_ns(hist_percentile(h, 0.99)),
			(unsigned long)clock_cycles_to_ns(hist_percentile(h, 0.999)),
			(unsigned long)clock_cycles_to_ns(h->max));
	}
}

void trading_destroy(struct trading *t)
{
	if (!t)
		return;
	for (uint16_t i = 0; i < MAX_STRATEGIES; i++)
		if (t->strat[i].ops && t->strat[i].ops->fini)
			t->strat[i].ops->fini(&t->strat[i]);
	for (uint16_t v = 0; v < OMS_MAX_VENUES; v++)
		if (t->venues[v].sess)
			vsession_destroy(t->venues[v].sess);
	oms_destroy(t->oms);
	risk_destroy(t->risk);
	shm_journal_writer_close(t->journal);
	trading_stats_fini(&t->pub);
	free(t->last);
	if (t->report)
		fclose(t->report);
	if (t->wf)
		worker_feed_set_md(t->wf, NULL, NULL);
	free(t);
}
