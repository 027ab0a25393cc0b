/*
 * The order manager. Orders sit in a pool with a free list; a per-venue token map (tokens hashed
 * to 64 bits, the order's own token compared on every hit) finds the order an OUCH message is
 * about. A pending replace registers the replacement token at once, so executions on either
 * token before the Replaced message land on the same order. Positions, cash and PnL are risk's
 * (risk_on_fill); the OMS keeps order state and reports every step through on_event.
 */
#include "oms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "refmap.h"

#define NONE UINT32_MAX
#define RI(m, venue, instrument) oms_risk_instrument((m)->cfg.instrument_stride, venue, instrument)

struct oms {
	struct oms_cfg cfg;
	struct risk_ctx *risk;
	struct oms_ops ops;
	void *ctx;
	struct oms_order *ord;
	uint32_t free_head;
	/* Orders with a request in flight, oldest send first: oms_poll looks at the head only,
	 * so a timeout scan costs what times out, not the pool (a full scan of 65536 slots every
	 * millisecond evicted the worker's caches and stalled its receive loop). An order whose
	 * answer came stays linked until its deadline passes and is dropped then. */
	uint32_t fl_head, fl_tail;
	bool trace; /* stage clocks on for the orders being made now */
	uint64_t trace_overhead;
	struct hist *risk_hist, *encode_hist;
	struct refmap tokens;
	uint64_t next_token;
	uint64_t next_serial; /* order ids: serial << OMS_SLOT_BITS | slot */
	uint64_t down_ns[OMS_MAX_VENUES]; /* when each venue's session last dropped */
	bool offline[OMS_MAX_VENUES]; /* the session cannot take a message now (oms_venue_ready) */
	struct oms_stats st;
};

static const char *const state_names[OMS_STATES] = {
	"pending_new", "live",	   "partial",  "pending_cancel", "pending_replace",
	"filled",      "canceled", "rejected", "expired",
};

static const char *const event_names[OMS_EV_KINDS] = {
	"sent",	    "risk_reject", "accepted",	   "rejected", "fill",	 "canceled",
	"replaced", "cancel_sent", "replace_sent", "timeout",  "broken", "expired",
};

const char *oms_state_name(enum oms_state s)
{
	return s < OMS_STATES ? state_names[s] : "unknown";
}

const char *oms_event_name(enum oms_event_kind k)
{
	return k < OMS_EV_KINDS ? event_names[k] : "unknown";
}

static bool is_final(uint8_t state)
{
	return state == OMS_FILLED || state == OMS_CANCELED || state == OMS_REJECTED ||
	       state == OMS_EXPIRED;
}

static uint64_t token_key(uint16_t venue, const char *token, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ venue;

	for (size_t i = 0; i < n && token[i]; i++)
		h = (h ^ (uint8_t)token[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

struct oms *oms_create(const struct oms_cfg *cfg, struct risk_ctx *risk, const struct oms_ops *ops,
		       void *ctx)
{
	if (!cfg->max_orders || cfg->max_orders > OMS_SLOT_MASK + 1 || !cfg->venues ||
	    cfg->venues > OMS_MAX_VENUES || !risk || !ops->send || !ops->symbol) {
		errno = EINVAL;
		return NULL;
	}
	struct oms *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cfg = *cfg;
	m->risk = risk;
	m->ops = *ops;
	m->ctx = ctx;
	m->ord = calloc(cfg->max_orders, sizeof(*m->ord));
	/* Two tokens per order at most (a pending replace). */
	if (!m->ord || refmap_init(&m->tokens, (uint64_t)cfg->max_orders * 2)) {
		oms_destroy(m);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < cfg->max_orders; i++) {
		m->ord[i].next_free = i + 1 < cfg->max_orders ? i + 1 : NONE;
		m->ord[i].state = OMS_CANCELED;
		m->ord[i].fl_prev = m->ord[i].fl_next = NONE;
	}
	m->fl_head = m->fl_tail = NONE;
	/* Tokens only grow through the day, across restarts too: start from the microsecond of
	 * the day (11 digits hold a whole day of them). */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	m->next_token = (uint64_t)(ts.tv_sec % 86400) * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	/* Order ids too, for good: the serial above the slot starts from the 10 us tick of the
	 * wall clock since 2025 (47 bits hold them until 2069, so ids stay positive as the signed
	 * 64-bit numbers of the database and JSON), so a restarted dataplane never reuses an id of
	 * an earlier run unless that run averaged more than 100,000 orders a second, and ids grow
	 * in the order the orders were made (the database appends them to its indexes). */
	const int64_t since = ts.tv_sec > OMS_ID_EPOCH ? ts.tv_sec - OMS_ID_EPOCH : 0;
	m->next_serial = (uint64_t)since * 100000u + (uint64_t)ts.tv_nsec / 10000u;
	return m;
}

void oms_destroy(struct oms *m)
{
	if (!m)
		return;
	refmap_free(&m->tokens);
	free(m->ord);
	free(m);
}

static void emit(struct oms *m, enum oms_event_kind kind, const struct oms_order *o, int64_t qty,
		 int64_t price, uint64_t match, uint32_t reason, uint64_t now)
{
	if (!m->ops.on_event)
		return;
	struct oms_event ev = {
		.kind = kind,
		.o = o,
		.qty = qty,
		.price = price,
		.match = match,
		.reason = reason,
		.now_ns = now,
	};
	m->ops.on_event(m->ctx, &ev);
}

/* A refusal by risk of the order ro (instrument: the venue's id), with what refused it. */
static void emit_risk(struct oms *m, const struct oms_order *o, const struct risk_order *ro,
		      uint32_t instrument, enum risk_reason why, uint64_t now)
{
	m->st.risk_rejects++;
	if (!m->ops.on_event)
		return;
	struct oms_event ev = {
		.kind = OMS_EV_RISK_REJECT,
		.o = o,
		.qty = ro->qty,
		.price = ro->price,
		.reason = why,
		.now_ns = now,
		.account = ro->account,
		.instrument = instrument,
		.side = ro->side,
	};
	risk_explain(m->risk, ro, why, &ev.limit, &ev.value);
	m->ops.on_event(m->ctx, &ev);
}

static struct oms_order *by_id(const struct oms *m, uint64_t id)
{
	uint32_t i = (uint32_t)(id & OMS_SLOT_MASK);

	if (i >= m->cfg.max_orders || m->ord[i].id != id || is_final(m->ord[i].state))
		return NULL;
	return &m->ord[i];
}

static void token_put(struct oms *m, struct oms_order *o, const char *token)
{
	refmap_put(&m->tokens, token_key(o->venue, token, OUCH_TOKEN_LEN), (uint32_t)(o - m->ord));
}

static void token_del(struct oms *m, struct oms_order *o, const char *token)
{
	uint64_t k = token_key(o->venue, token, OUCH_TOKEN_LEN);

	if (token[0] && refmap_get(&m->tokens, k) == (uint32_t)(o - m->ord))
		refmap_del(&m->tokens, k);
}

/* "T" + two digits of the worker + eleven of the counter: written by hand (no printf on the
 * order path). */
static void new_token(struct oms *m, char out[OUCH_TOKEN_LEN + 1])
{
	uint64_t v = m->next_token++ % 100000000000ull;
	uint32_t w = m->cfg.worker % 100;

	out[0] = 'T';
	out[1] = (char)('0' + w / 10);
	out[2] = (char)('0' + w % 10);
	for (int i = OUCH_TOKEN_LEN - 1; i >= 3; i--, v /= 10)
		out[i] = (char)('0' + v % 10);
	out[OUCH_TOKEN_LEN] = '\0';
}

void oms_set_stage_hists(struct oms *m, struct hist *risk, struct hist *encode, uint64_t overhead)
{
	m->risk_hist = risk;
	m->encode_hist = encode;
	m->trace_overhead = overhead;
	m->trace = false;
}

void oms_trace(struct oms *m, bool on)
{
	m->trace = on && m->risk_hist && m->encode_hist;
}

static inline uint64_t less(uint64_t v, uint64_t overhead)
{
	return v > overhead ? v - overhead : 0;
}

/* Risk from t0 to t1, encoding and the session's copy from t1 to now. */
static void stage_record(struct oms *m, uint64_t t0, uint64_t t1)
{
	uint64_t t2 = clock_tsc();

	hist_record(m->risk_hist, less(t1 - t0, m->trace_overhead));
	hist_record(m->encode_hist, less(t2 - t1, m->trace_overhead));
}

static void flight_unlink(struct oms *m, struct oms_order *o)
{
	uint32_t i = (uint32_t)(o - m->ord);

	if (o->fl_prev == NONE && m->fl_head != i)
		return; /* not linked */
	if (o->fl_prev != NONE)
		m->ord[o->fl_prev].fl_next = o->fl_next;
	else
		m->fl_head = o->fl_next;
	if (o->fl_next != NONE)
		m->ord[o->fl_next].fl_prev = o->fl_prev;
	else
		m->fl_tail = o->fl_prev;
	o->fl_prev = o->fl_next = NONE;
}

/* A request for o went out at now: it is the newest in flight. */
static void flight_push(struct oms *m, struct oms_order *o, uint64_t now)
{
	uint32_t i = (uint32_t)(o - m->ord);

	flight_unlink(m, o);
	o->sent_ns = now;
	o->timed_out = false;
	o->fl_prev = m->fl_tail;
	if (m->fl_tail != NONE)
		m->ord[m->fl_tail].fl_next = i;
	else
		m->fl_head = i;
	m->fl_tail = i;
}

/* The order is final: its tokens go, its slot returns to the pool. */
static void finish(struct oms *m, struct oms_order *o)
{
	token_del(m, o, o->token);
	token_del(m, o, o->new_token);
	o->new_token[0] = '\0';
	o->next_free = m->free_head;
	m->free_head = (uint32_t)(o - m->ord);
	m->st.open--;
}

static int transmit(struct oms *m, uint16_t venue, const void *msg, size_t len)
{
	int rc = m->ops.send(m->ctx, venue, msg, len);

	if (rc)
		m->st.send_errors++;
	return rc;
}

int oms_send(struct oms *m, const struct oms_request *r, uint64_t now, uint64_t *id)
{
	const char *sym = r->venue < m->cfg.venues ? m->ops.symbol(m->ctx, r->venue, r->instrument)
						   : NULL;
	struct risk_order ro = {
		.account = r->account,
		.instrument = RI(m, r->venue, r->instrument),
		.session = r->venue,
		.side = r->side,
		.price = r->price,
		.qty = r->qty,
		.now_ns = now,
	};
	*id = 0;
	/* Before risk: a pass takes rate tokens and remembers the order for duplicates, for an
	 * order that could not go out. */
	if (sym && m->offline[r->venue])
		return -ENOTCONN;
	uint64_t t0 = m->trace ? clock_tsc() : 0;
	enum risk_reason why = sym ? risk_check(m->risk, &ro) : RISK_R_BAD_ORDER;
	uint64_t t1 = m->trace ? clock_tsc() : 0;

	if (why != RISK_OK) {
		emit_risk(m, NULL, &ro, r->instrument, why, now);
		return -(int)why;
	}
	uint32_t i = m->free_head;
	if (i == NONE) {
		m->st.pool_full++;
		return -ENOSPC;
	}
	struct oms_order *o = &m->ord[i];
	struct ouch_enter_order e;

	new_token(m, o->token);
	memset(&e, ' ', sizeof(e));
	e.type = OUCH_ENTER_ORDER;
	memcpy(e.token, o->token, OUCH_TOKEN_LEN);
	e.side = r->side;
	ouch_put32(e.shares, (uint32_t)r->qty);
	ouch_put_text(e.stock, OUCH_STOCK_LEN, sym);
	ouch_put32(e.price, (uint32_t)r->price);
	ouch_put32(e.tif, r->tif == OMS_IOC ? OUCH_TIF_IOC : OUCH_TIF_MARKET_HOURS);
	ouch_put_text(e.firm, OUCH_FIRM_LEN, m->cfg.firm);
	e.display = 'Y';
	e.capacity = 'P';
	e.iso = 'N';
	ouch_put32(e.min_qty, 0);
	e.cross = 'N';
	e.customer = 'N';
	int rc = transmit(m, r->venue, &e, sizeof(e));
	if (rc)
		return rc; /* nothing was sent: the slot stays free, risk saw no open order */
	if (m->trace)
		stage_record(m, t0, t1);

	m->free_head = o->next_free;
	o->id = m->next_serial++ << OMS_SLOT_BITS | i;
	o->new_token[0] = '\0';
	o->account = r->account;
	o->instrument = r->instrument;
	o->strategy = r->strategy;
	o->venue = r->venue;
	o->side = r->side;
	o->tif = r->tif;
	o->state = OMS_PENDING_NEW;
	o->reject_reason = 0;
	o->price = r->price;
	o->qty = o->leaves = r->qty;
	o->filled = 0;
	o->venue_ref = 0;
	o->trigger_tsc = r->trigger_tsc;
	flight_push(m, o, now);
	token_put(m, o, o->token);
	risk_on_open(m->risk, o->account, RI(m, o->venue, o->instrument), o->side, o->price,
		     o->leaves);
	m->st.sent++;
	m->st.open++;
	*id = o->id;
	emit(m, OMS_EV_SENT, o, o->qty, o->price, 0, 0, now);
	return 0;
}

int oms_cancel(struct oms *m, uint64_t id, int64_t leaves, uint64_t now)
{
	struct oms_order *o = by_id(m, id);

	if (!o)
		return -ENOENT;
	if (o->state == OMS_PENDING_CANCEL || o->state == OMS_PENDING_REPLACE)
		return -EALREADY;
	if (m->offline[o->venue])
		return -ENOTCONN;
	enum risk_reason why = risk_check_cancel(m->risk, o->venue, now);
	if (why != RISK_OK) {
		const struct risk_order ro = {
			.account = o->account,
			.instrument = RI(m, o->venue, o->instrument),
			.session = o->venue,
			.side = o->side,
			.price = o->price,
			.qty = leaves,
			.now_ns = now,
		};
		emit_risk(m, o, &ro, o->instrument, why, now);
		return -(int)why;
	}
	struct ouch_cancel_order c;
	c.type = OUCH_CANCEL_ORDER;
	memcpy(c.token, o->token, OUCH_TOKEN_LEN);
	ouch_put32(c.shares, (uint32_t)(leaves < 0 ? 0 : leaves));
	int rc = transmit(m, o->venue, &c, sizeof(c));
	if (rc)
		return rc;
	o->prev_state = o->state;
	o->state = OMS_PENDING_CANCEL;
	flight_push(m, o, now);
	m->st.cancels_sent++;
	emit(m, OMS_EV_CANCEL_SENT, o, leaves, o->price, 0, 0, now);
	return 0;
}

int oms_replace(struct oms *m, uint64_t id, int64_t price, int64_t qty, uint64_t trigger_tsc,
		uint64_t now)
{
	struct oms_order *o = by_id(m, id);

	if (!o)
		return -ENOENT;
	if (o->state == OMS_PENDING_CANCEL || o->state == OMS_PENDING_REPLACE ||
	    o->state == OMS_PENDING_NEW)
		return -EALREADY;
	if (m->offline[o->venue])
		return -ENOTCONN;
	struct risk_order ro = {
		.account = o->account,
		.instrument = RI(m, o->venue, o->instrument),
		.session = o->venue,
		.side = o->side,
		.replace = true,
		.price = price,
		.qty = qty,
		.old_price = o->price,
		.old_qty = o->leaves,
		.now_ns = now,
	};
	uint64_t t0 = m->trace ? clock_tsc() : 0;
	enum risk_reason why = risk_check(m->risk, &ro);
	uint64_t t1 = m->trace ? clock_tsc() : 0;
	if (why != RISK_OK) {
		emit_risk(m, o, &ro, o->instrument, why, now);
		return -(int)why;
	}
	struct ouch_replace_order u;
	char tok[OUCH_TOKEN_LEN + 1];
	memset(&u, ' ', sizeof(u));
	u.type = OUCH_REPLACE_ORDER;
	memcpy(u.existing, o->token, OUCH_TOKEN_LEN);
	new_token(m, tok);
	memcpy(u.replacement, tok, OUCH_TOKEN_LEN);
	ouch_put32(u.shares, (uint32_t)qty);
	ouch_put32(u.price, (uint32_t)price);
	ouch_put32(u.tif, OUCH_TIF_MARKET_HOURS);
	u.display = 'Y';
	u.iso = 'N';
	ouch_put32(u.min_qty, 0);
	int rc = transmit(m, o->venue, &u, sizeof(u));
	if (rc)
		return rc;
	if (m->trace)
		stage_record(m, t0, t1);
	memcpy(o->new_token, tok, sizeof(tok));
	token_put(m, o, o->new_token);
	o->prev_state = o->state;
	o->state = OMS_PENDING_REPLACE;
	o->pend_price = price;
	o->pend_qty = qty;
	o->trigger_tsc = trigger_tsc;
	flight_push(m, o, now);
	m->st.replaces_sent++;
	emit(m, OMS_EV_REPLACE_SENT, o, qty, price, 0, 0, now);
	return 0;
}

uint32_t oms_cancel_all(struct oms *m, uint32_t account, uint32_t instrument, uint64_t now)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->cfg.max_orders; i++) {
		struct oms_order *o = &m->ord[i];
		if (is_final(o->state) || !o->id ||
		    (account != UINT32_MAX && o->account != account) ||
		    (instrument != UINT32_MAX && o->instrument != instrument))
			continue;
		n += oms_cancel(m, o->id, 0, now) == 0;
	}
	return n;
}

static struct oms_order *find(struct oms *m, uint16_t venue, const char *token)
{
	uint32_t i = refmap_get(&m->tokens, token_key(venue, token, OUCH_TOKEN_LEN));

	if (i == REFMAP_NONE)
		return NULL;
	struct oms_order *o = &m->ord[i];
	if (o->venue != venue || is_final(o->state) ||
	    (strncmp(o->token, token, OUCH_TOKEN_LEN) != 0 &&
	     strncmp(o->new_token, token, OUCH_TOKEN_LEN) != 0))
		return NULL;
	return o;
}

/* Open quantity went down without a trade: cancel, reject, IOC remainder. */
static void reduce(struct oms *m, struct oms_order *o, int64_t qty)
{
	if (qty > o->leaves)
		qty = o->leaves;
	if (qty > 0)
		risk_on_close(m->risk, o->account, RI(m, o->venue, o->instrument), o->side,
			      o->price, qty);
	o->leaves -= qty;
}

static void on_accepted(struct oms *m, struct oms_order *o, const struct ouch_accepted *a,
			uint64_t now)
{
	if (o->state == OMS_PENDING_NEW)
		o->state = OMS_LIVE;
	o->venue_ref = ouch_get64(a->order_ref);
	m->st.accepted++;
	emit(m, OMS_EV_ACCEPTED, o, o->qty, o->price, 0, 0, now);
}

static void on_executed(struct oms *m, struct oms_order *o, const struct ouch_executed *x,
			uint64_t now)
{
	int64_t qty = ouch_get32(x->shares), price = ouch_get32(x->price);

	if (qty > o->leaves)
		qty = o->leaves; /* more than was open: trust the book we sent, count it */
	o->leaves -= qty;
	o->filled += qty;
	risk_on_fill(m->risk, o->account, RI(m, o->venue, o->instrument), o->side, price, qty);
	m->st.fills++;
	m->st.filled_qty += (uint64_t)qty;
	if (o->state == OMS_PENDING_NEW || o->state == OMS_LIVE)
		o->state = OMS_PARTIAL;
	else if (o->state == OMS_PENDING_CANCEL || o->state == OMS_PENDING_REPLACE)
		o->prev_state = OMS_PARTIAL;
	/* Nothing left: done, even with a replace pending (the venue cannot replace a filled
	 * order; had it replaced first, this fill would be on the new token in LIVE). */
	bool done = o->leaves == 0;
	if (done)
		o->state = OMS_FILLED;
	emit(m, OMS_EV_FILL, o, qty, price, ouch_get64(x->match), x->liquidity, now);
	if (done)
		finish(m, o);
}

static void on_canceled(struct oms *m, struct oms_order *o, const struct ouch_canceled *c,
			uint64_t now)
{
	int64_t dec = ouch_get32(c->decrement);

	reduce(m, o, dec);
	m->st.canceled++;
	bool done = o->leaves == 0 && o->state != OMS_PENDING_REPLACE;
	if (done)
		o->state = OMS_CANCELED;
	else if (o->state == OMS_PENDING_CANCEL)
		o->state = o->prev_state; /* a partial cancel: the rest is still live */
	emit(m, OMS_EV_CANCELED, o, dec, o->price, 0, c->reason, now);
	if (done)
		finish(m, o);
}

static void on_replaced(struct oms *m, struct oms_order *o, const struct ouch_replaced *r,
			uint64_t now)
{
	char prev[OUCH_TOKEN_LEN + 1], repl[OUCH_TOKEN_LEN + 1];

	ouch_get_text(prev, r->previous, OUCH_TOKEN_LEN);
	ouch_get_text(repl, r->replacement, OUCH_TOKEN_LEN);
	/* The old order's open quantity goes, the replacement's comes. */
	reduce(m, o, o->leaves);
	token_del(m, o, o->token);
	memcpy(o->token, repl, sizeof(repl));
	o->new_token[0] = '\0';
	o->price = ouch_get32(r->price);
	o->qty = o->leaves = ouch_get32(r->shares);
	o->venue_ref = ouch_get64(r->order_ref);
	o->state = o->filled ? OMS_PARTIAL : OMS_LIVE;
	risk_on_open(m->risk, o->account, RI(m, o->venue, o->instrument), o->side, o->price,
		     o->leaves);
	m->st.replaced++;
	emit(m, OMS_EV_REPLACED, o, o->qty, o->price, 0, 0, now);
	(void)prev;
}

void oms_on_venue(struct oms *m, uint16_t venue, const uint8_t *msg, size_t len, uint64_t now)
{
	char tok[OUCH_TOKEN_LEN + 1];
	struct oms_order *o;

	if (ouch_msg_check(msg, len, OUCH_OUTBOUND) != 0) {
		m->st.bad_messages++;
		return;
	}
	switch (msg[0]) {
	case OUCH_SYSTEM_EVENT: return;
	case OUCH_REPLACED: {
		const struct ouch_replaced *r = (const void *)msg;
		ouch_get_text(tok, r->previous, OUCH_TOKEN_LEN);
		break;
	}
	default:
		/* Every other outbound message has its token at offset 9. */
		ouch_get_text(tok, (const char *)msg + 9, OUCH_TOKEN_LEN);
		break;
	}
	o = find(m, venue, tok);
	if (!o) {
		m->st.unknown_token++;
		return;
	}
	switch (msg[0]) {
	case OUCH_ACCEPTED: on_accepted(m, o, (const void *)msg, now); break;
	case OUCH_EXECUTED: on_executed(m, o, (const void *)msg, now); break;
	case OUCH_CANCELED: on_canceled(m, o, (const void *)msg, now); break;
	case OUCH_AIQ_CANCELED: on_canceled(m, o, (const void *)msg, now); break;
	case OUCH_REPLACED: on_replaced(m, o, (const void *)msg, now); break;
	case OUCH_REJECTED: {
		const struct ouch_rejected *j = (const void *)msg;
		reduce(m, o, o->leaves);
		o->state = OMS_REJECTED;
		o->reject_reason = j->reason;
		m->st.rejected++;
		emit(m, OMS_EV_REJECTED, o, o->qty, o->price, 0, j->reason, now);
		finish(m, o);
		break;
	}
	case OUCH_BROKEN_TRADE: {
		const struct ouch_broken_trade *b = (const void *)msg;
		m->st.broken++;
		emit(m, OMS_EV_BROKEN, o, 0, 0, ouch_get64(b->match), b->reason, now);
		break;
	}
	default: m->st.bad_messages++; break;
	}
}

uint32_t oms_poll(struct oms *m, uint64_t now)
{
	uint32_t n = 0;

	if (!m->cfg.inflight_timeout_ns)
		return 0;
	while (m->fl_head != NONE) {
		struct oms_order *o = &m->ord[m->fl_head];
		if (now - o->sent_ns < m->cfg.inflight_timeout_ns)
			break; /* the rest went out later */
		flight_unlink(m, o);
		if (is_final(o->state) || !o->id || o->timed_out ||
		    (o->state != OMS_PENDING_NEW && o->state != OMS_PENDING_CANCEL &&
		     o->state != OMS_PENDING_REPLACE))
			continue; /* answered in time */
		o->timed_out = true;
		m->st.timeouts++;
		n++;
		uint8_t was = o->state;
		bool lost = o->sent_ns <= m->down_ns[o->venue];
		if (was == OMS_PENDING_NEW && lost) {
			/* Sent, then the session dropped, and the replay after the new login had no
			 * answer for it: the venue never got it. */
			reduce(m, o, o->leaves);
			o->state = OMS_EXPIRED;
			emit(m, OMS_EV_EXPIRED, o, o->qty, o->price, 0, 'L', now);
			finish(m, o);
			continue;
		}
		if (was == OMS_PENDING_CANCEL && lost) {
			o->state =
				o->prev_state; /* the cancel never arrived: the order is as it was */
			o->timed_out = false;
		}
		if (was == OMS_PENDING_REPLACE) {
			/* The venue ignored the replace (the order was gone or done): keep the order
			 * as it is, forget the replacement token. */
			token_del(m, o, o->new_token);
			o->new_token[0] = '\0';
			o->state = o->leaves ? o->prev_state : OMS_FILLED;
		}
		emit(m, OMS_EV_TIMEOUT, o, o->leaves, o->price, 0, was, now);
		if (o->state == OMS_FILLED)
			finish(m, o);
	}
	return n;
}

void oms_venue_down(struct oms *m, uint16_t venue, uint64_t now_ns)
{
	if (venue < OMS_MAX_VENUES)
		m->down_ns[venue] = now_ns;
}

void oms_venue_ready(struct oms *m, uint16_t venue, bool ready)
{
	if (venue < OMS_MAX_VENUES)
		m->offline[venue] = !ready;
}

const struct oms_order *oms_order(const struct oms *m, uint64_t id)
{
	uint32_t i = (uint32_t)(id & OMS_SLOT_MASK);

	if (i >= m->cfg.max_orders || m->ord[i].id != id)
		return NULL;
	return &m->ord[i];
}

const struct oms_stats *oms_stats(const struct oms *m)
{
	return &m->st;
}

void oms_each_open(const struct oms *m, void (*fn)(void *ctx, const struct oms_order *o), void *ctx)
{
	for (uint32_t i = 0; i < m->cfg.max_orders; i++)
		if (m->ord[i].id && !is_final(m->ord[i].state))
			fn(ctx, &m->ord[i]);
}
