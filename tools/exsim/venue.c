/*
 * The venue proper: the matching engine, the order table that ties engine ids to sessions and
 * OUCH tokens, and the translation of every engine event into ITCH (for everyone) and OUCH (for
 * the order's owner).
 *
 * ITCH shows only what rests on the book: RESTED is an Add Order; the passive side of an
 * execution an Order Executed; a cancel of a resting order an Order Cancel (partial) or Order
 * Delete. A cancel-replace that keeps priority keeps its ITCH reference and shows as an Order
 * Cancel of the reduction, so a book built from the feed has the venue's queue order. One that
 * loses priority shows as an Order Replace when the new order rests without trading, or as an
 * Order Delete (before its first execution) followed by an Add Order when it trades on entry.
 * Market data consumers therefore hold exactly the engine's book after every message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exsim.h"

#define NONE UINT32_MAX
#define OUCH_MARKET_PRICE 0x7FFFFFFFu
#define OUCH_MAX_SHARES 1000000u

static uint16_t locate_of(uint32_t instrument)
{
	return (uint16_t)(instrument + 1);
}

static uint32_t firm_id(const char *firm)
{
	uint8_t b[4] = { ' ', ' ', ' ', ' ' };

	memcpy(b, firm, strnlen(firm, 4));
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t token_key(int sess, const char token[OUCH_TOKEN_LEN])
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)sess;

	for (int i = 0; i < OUCH_TOKEN_LEN; i++)
		h = (h ^ (uint8_t)token[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

static void token_text(char out[OUCH_TOKEN_LEN + 1], const char token[OUCH_TOKEN_LEN])
{
	ouch_get_text(out, token, OUCH_TOKEN_LEN);
}

/* ---- records ---- */

static const char *sess_name(const struct exsim *x, int sess)
{
	return sess >= 0 ? x->sess[sess].cfg.user : "-";
}

void exsim_record(struct exsim *x, int sess, const char *kind, const char *token,
		  uint32_t instrument, uint8_t side, int64_t price, int64_t qty, int64_t leaves,
		  uint64_t match_no, const char *reason, uint64_t ref)
{
	if (!x->orders_csv)
		return;
	fprintf(x->orders_csv, "%lu,%s,%s,%s,%s,%c,%ld,%ld,%ld,%lu,%s,%lu\n",
		(unsigned long)exsim_ns_since_midnight(), sess_name(x, sess), kind,
		token ? token : "",
		instrument < x->cfg->ninstruments ? x->cfg->instruments[instrument].symbol : "",
		side ? side : '-', (long)price, (long)qty, (long)leaves, (unsigned long)match_no,
		reason ? reason : "", (unsigned long)ref);
}

static void record_order(struct exsim *x, const struct exsim_order *o, const char *kind,
			 int64_t price, int64_t qty, uint64_t match_no, const char *reason,
			 uint64_t ref)
{
	char tok[OUCH_TOKEN_LEN + 1];

	if (o->sess < 0)
		return;
	token_text(tok, o->token);
	exsim_record(x, o->sess, kind, tok, o->instrument, o->side, price, qty, o->leaves, match_no,
		     reason, ref);
}

/* ---- ITCH out ---- */

static uint8_t *itch_begin(uint8_t *m, uint8_t type, uint16_t locate)
{
	m[0] = type;
	exsim_put16(m + 1, locate);
	exsim_put16(m + 3, 0);
	exsim_put48(m + 5, exsim_ns_since_midnight());
	return m;
}

static void itch_out(struct exsim *x, const uint8_t *m, uint16_t len)
{
	exsim_pub_message(&x->pub, m, len, x->now_ns);
}

static void put_stock(char *dst, const char *symbol)
{
	ouch_put_text(dst, 8, symbol);
}

static void itch_system(struct exsim *x, uint8_t event)
{
	uint8_t m[12];

	itch_begin(m, 'S', 0)[11] = event;
	itch_out(x, m, sizeof(m));
}

static void itch_directory(struct exsim *x, uint32_t i)
{
	const struct exsim_instrument *in = &x->cfg->instruments[i];
	uint8_t m[39];

	memset(m, ' ', sizeof(m));
	itch_begin(m, 'R', locate_of(i));
	put_stock((char *)m + 11, in->symbol);
	m[19] = 'Q'; /* market category: NASDAQ Global Select */
	m[20] = 'N'; /* financial status: normal */
	exsim_put32(m + 21, in->round_lot);
	m[25] = 'N'; /* round lots only */
	m[26] = 'C'; /* issue classification: common stock */
	m[27] = 'Z';
	m[28] = ' ';
	m[29] = 'P'; /* authenticity: live/production */
	m[30] = 'N'; /* short sale threshold */
	m[31] = ' '; /* IPO flag */
	m[32] = '1'; /* LULD tier */
	m[33] = 'N'; /* ETP flag */
	exsim_put32(m + 34, 0);
	m[38] = 'N';
	itch_out(x, m, sizeof(m));
}

static void itch_trading(struct exsim *x, uint32_t i, uint8_t state)
{
	uint8_t m[25];

	memset(m, ' ', sizeof(m));
	itch_begin(m, 'H', locate_of(i));
	put_stock((char *)m + 11, x->cfg->instruments[i].symbol);
	m[19] = state;
	m[20] = ' ';
	itch_out(x, m, sizeof(m));
}

static void itch_add(struct exsim *x, uint32_t i, uint64_t ref, uint8_t side, int64_t qty,
		     int64_t price)
{
	uint8_t m[36];

	itch_begin(m, 'A', locate_of(i));
	exsim_put64(m + 11, ref);
	m[19] = side;
	exsim_put32(m + 20, (uint32_t)qty);
	put_stock((char *)m + 24, x->cfg->instruments[i].symbol);
	exsim_put32(m + 32, (uint32_t)price);
	itch_out(x, m, sizeof(m));
}

static void itch_executed(struct exsim *x, uint32_t i, uint64_t ref, int64_t qty, uint64_t match)
{
	uint8_t m[31];

	itch_begin(m, 'E', locate_of(i));
	exsim_put64(m + 11, ref);
	exsim_put32(m + 19, (uint32_t)qty);
	exsim_put64(m + 23, match);
	itch_out(x, m, sizeof(m));
}

static void itch_cancel(struct exsim *x, uint32_t i, uint64_t ref, int64_t qty)
{
	uint8_t m[23];

	itch_begin(m, 'X', locate_of(i));
	exsim_put64(m + 11, ref);
	exsim_put32(m + 19, (uint32_t)qty);
	itch_out(x, m, sizeof(m));
}

static void itch_delete(struct exsim *x, uint32_t i, uint64_t ref)
{
	uint8_t m[19];

	itch_begin(m, 'D', locate_of(i));
	exsim_put64(m + 11, ref);
	itch_out(x, m, sizeof(m));
}

static void itch_replace(struct exsim *x, uint32_t i, uint64_t old_ref, uint64_t new_ref,
			 int64_t qty, int64_t price)
{
	uint8_t m[35];

	itch_begin(m, 'U', locate_of(i));
	exsim_put64(m + 11, old_ref);
	exsim_put64(m + 19, new_ref);
	exsim_put32(m + 27, (uint32_t)qty);
	exsim_put32(m + 31, (uint32_t)price);
	itch_out(x, m, sizeof(m));
}

static void itch_broken(struct exsim *x, uint32_t i, uint64_t match)
{
	uint8_t m[19];

	itch_begin(m, 'B', locate_of(i));
	exsim_put64(m + 11, match);
	itch_out(x, m, sizeof(m));
}

/* ---- OUCH out ---- */

static void ouch_stamp(uint8_t *type, uint8_t ts[8], uint8_t t)
{
	*type = t;
	exsim_put64(ts, exsim_ns_since_midnight());
}

static void ouch_out(struct exsim *x, int sess, const void *m, size_t len)
{
	x->st.ouch_out++;
	exsim_soup_sequenced(x, sess, m, len);
}

static void ouch_accepted(struct exsim *x, const struct exsim_order *o, int64_t qty)
{
	struct ouch_accepted m;

	memset(&m, ' ', sizeof(m));
	ouch_stamp(&m.type, m.timestamp, OUCH_ACCEPTED);
	memcpy(m.token, o->token, OUCH_TOKEN_LEN);
	m.side = o->side;
	ouch_put32(m.shares, (uint32_t)qty);
	put_stock(m.stock, x->cfg->instruments[o->instrument].symbol);
	ouch_put32(m.price, (uint32_t)o->price);
	ouch_put32(m.tif, o->tif);
	ouch_put_text(m.firm, OUCH_FIRM_LEN, x->sess[o->sess].cfg.firm);
	m.display = o->display;
	ouch_put64(m.order_ref, match_ref(x->eng, o->engine_id));
	m.capacity = o->capacity;
	m.iso = 'N';
	ouch_put32(m.min_qty, o->min_qty);
	m.cross = 'N';
	m.state = 'L';
	m.bbo_weight = ' ';
	ouch_out(x, o->sess, &m, sizeof(m));
}

static void ouch_rejected(struct exsim *x, int sess, const char token[OUCH_TOKEN_LEN],
			  uint8_t reason)
{
	struct ouch_rejected m;

	ouch_stamp(&m.type, m.timestamp, OUCH_REJECTED);
	memcpy(m.token, token, OUCH_TOKEN_LEN);
	m.reason = reason;
	ouch_out(x, sess, &m, sizeof(m));
}

static void ouch_canceled(struct exsim *x, const struct exsim_order *o, int64_t qty, uint8_t reason)
{
	struct ouch_canceled m;

	ouch_stamp(&m.type, m.timestamp, OUCH_CANCELED);
	memcpy(m.token, o->token, OUCH_TOKEN_LEN);
	ouch_put32(m.decrement, (uint32_t)qty);
	m.reason = reason;
	ouch_out(x, o->sess, &m, sizeof(m));
}

static void ouch_executed(struct exsim *x, const struct exsim_order *o, int64_t qty, int64_t price,
			  bool passive, uint64_t match)
{
	struct ouch_executed m;

	ouch_stamp(&m.type, m.timestamp, OUCH_EXECUTED);
	memcpy(m.token, o->token, OUCH_TOKEN_LEN);
	ouch_put32(m.shares, (uint32_t)qty);
	ouch_put32(m.price, (uint32_t)price);
	m.liquidity = passive ? 'A' : 'R';
	ouch_put64(m.match, match);
	ouch_out(x, o->sess, &m, sizeof(m));
}

static void ouch_replaced(struct exsim *x, const struct exsim_order *o)
{
	struct ouch_replaced m;

	memset(&m, ' ', sizeof(m));
	ouch_stamp(&m.type, m.timestamp, OUCH_REPLACED);
	memcpy(m.replacement, o->token, OUCH_TOKEN_LEN);
	m.side = o->side;
	ouch_put32(m.shares, (uint32_t)o->leaves);
	put_stock(m.stock, x->cfg->instruments[o->instrument].symbol);
	ouch_put32(m.price, (uint32_t)o->price);
	ouch_put32(m.tif, o->tif);
	ouch_put_text(m.firm, OUCH_FIRM_LEN, x->sess[o->sess].cfg.firm);
	m.display = o->display;
	ouch_put64(m.order_ref, match_ref(x->eng, o->engine_id));
	m.capacity = o->capacity;
	m.iso = 'N';
	ouch_put32(m.min_qty, o->min_qty);
	m.cross = 'N';
	m.state = 'L';
	memcpy(m.previous, x->replace_prev, OUCH_TOKEN_LEN);
	m.bbo_weight = ' ';
	ouch_out(x, o->sess, &m, sizeof(m));
}

static void ouch_system(struct exsim *x, int sess, uint8_t event)
{
	struct ouch_system_event m;

	ouch_stamp(&m.type, m.timestamp, OUCH_SYSTEM_EVENT);
	m.event = event;
	ouch_out(x, sess, &m, sizeof(m));
}

/* ---- the order table ---- */

static uint32_t order_alloc(struct exsim *x)
{
	uint32_t i = x->free_head;

	if (i == NONE)
		return NONE;
	x->free_head = x->ord[i].next_free;
	memset(&x->ord[i], 0, sizeof(x->ord[i]));
	x->ord[i].bg_slot = NONE;
	x->ord[i].live = 1;
	return i;
}

static void bg_remove(struct exsim *x, uint32_t i)
{
	struct exsim_order *o = &x->ord[i];

	if (o->bg_slot == NONE)
		return;
	uint32_t last = x->bg[--x->nbg];
	x->bg[o->bg_slot] = last;
	x->ord[last].bg_slot = o->bg_slot;
	o->bg_slot = NONE;
	x->bg_per_inst[o->instrument]--;
}

/* The order is done (nothing open, not resting): its token may be used again. */
static void order_done(struct exsim *x, uint32_t i)
{
	struct exsim_order *o = &x->ord[i];

	if (!o->live)
		return;
	bg_remove(x, i);
	if (o->sess >= 0) {
		uint64_t k = token_key(o->sess, o->token);
		if (refmap_get(&x->sess[o->sess].tokens, k) == i)
			refmap_del(&x->sess[o->sess].tokens, k);
	}
	o->live = 0;
	o->engine_id = 0;
	o->next_free = x->free_head;
	x->free_head = i;
}

static uint8_t cancel_reason(enum match_reason r)
{
	switch (r) {
	case MATCH_R_USER: return 'U';
	case MATCH_R_IOC:
	case MATCH_R_FOK:
	case MATCH_R_MIN_QTY: return 'I';
	case MATCH_R_SELF_TRADE: return 'Q';
	default: return 'Z';
	}
}

static uint8_t reject_reason(enum match_reason r)
{
	switch (r) {
	case MATCH_R_BAD_PRICE: return 'X';
	case MATCH_R_BAD_QTY: return 'Z';
	case MATCH_R_BAD_INSTRUMENT: return 'S';
	default: return 'O';
	}
}

static void fill_note(struct exsim *x, const struct match_event *ev, const struct exsim_order *o)
{
	struct exsim_fill *f;

	if (x->nfills && x->fills[x->nfills - 1].match_no == ev->match_no) {
		f = &x->fills[x->nfills - 1];
	} else {
		if (x->nfills == x->fills_cap) {
			size_t cap = x->fills_cap ? x->fills_cap * 2 : 1024;
			struct exsim_fill *n = realloc(x->fills, cap * sizeof(*n));
			if (!n)
				return;
			x->fills = n;
			x->fills_cap = cap;
		}
		f = &x->fills[x->nfills++];
		memset(f, 0, sizeof(*f));
		f->match_no = ev->match_no;
		f->instrument = ev->instrument;
		f->sess[0] = f->sess[1] = -1;
	}
	int side = ev->passive ? 1 : 0;
	f->sess[side] = o->sess;
	memcpy(f->token[side], o->token, OUCH_TOKEN_LEN);
}

static void on_event(void *ctx, const struct match_event *ev)
{
	struct exsim *x = ctx;
	uint32_t i = (uint32_t)ev->user;
	struct exsim_order *o = &x->ord[i];
	uint8_t side = (uint8_t)ev->side;
	/* What leaves the venue (ITCH and OUCH order references, the record) is the reference. */
	uint64_t ref = match_ref(x->eng, ev->id);

	switch (ev->kind) {
	case MATCH_EV_ACCEPTED:
		o->engine_id = ev->id;
		if (o->sess >= 0) {
			ouch_accepted(x, o, ev->qty);
			record_order(x, o, "ACCEPTED", o->price, ev->qty, 0, NULL, ref);
		}
		break;
	case MATCH_EV_REJECTED:
		if (o->sess >= 0) {
			char r[2] = { (char)reject_reason(ev->reason), 0 };
			ouch_rejected(x, o->sess, o->token, (uint8_t)r[0]);
			record_order(x, o, "REJECTED", o->price, ev->qty, 0, r, 0);
			x->st.rejects++;
		}
		order_done(x, i);
		break;
	case MATCH_EV_RESTED:
		if (x->pend_old_ref && i == x->pend_order) {
			itch_replace(x, ev->instrument, x->pend_old_ref, ref, ev->qty,
				     ev->price);
			x->pend_old_ref = 0;
		} else {
			itch_add(x, ev->instrument, ref, side, ev->qty, ev->price);
		}
		o->itch_ref = ref;
		o->leaves = ev->leaves;
		o->price = ev->price;
		if (o->sess < 0 && o->bg_slot == NONE) {
			o->bg_slot = x->nbg;
			x->bg[x->nbg++] = i;
			x->bg_per_inst[o->instrument]++;
		}
		break;
	case MATCH_EV_EXECUTED:
		if (ev->passive) {
			itch_executed(x, ev->instrument, o->itch_ref, ev->qty, ev->match_no);
		} else if (x->pend_old_ref && i == x->pend_order) {
			itch_delete(x, ev->instrument, x->pend_old_ref);
			x->pend_old_ref = 0;
		}
		o->leaves = ev->leaves;
		if (o->sess >= 0) {
			ouch_executed(x, o, ev->qty, ev->price, ev->passive, ev->match_no);
			record_order(x, o, "EXECUTED", ev->price, ev->qty, ev->match_no,
				     ev->passive ? "A" : "R", match_ref(x->eng, o->engine_id));
			x->sess[o->sess].fills++;
			x->st.fills++;
			fill_note(x, ev, o);
		}
		if (ev->leaves == 0)
			order_done(x, i);
		break;
	case MATCH_EV_CANCELED:
		if (o->itch_ref) {
			if (ev->leaves > 0)
				itch_cancel(x, ev->instrument, o->itch_ref, ev->qty);
			else
				itch_delete(x, ev->instrument, o->itch_ref);
		}
		o->leaves = ev->leaves;
		if (o->sess >= 0) {
			char r[2] = { (char)cancel_reason(ev->reason), 0 };
			ouch_canceled(x, o, ev->qty, (uint8_t)r[0]);
			record_order(x, o, "CANCELED", o->price, ev->qty, 0, r,
				     match_ref(x->eng, o->engine_id));
		}
		if (ev->leaves == 0)
			order_done(x, i);
		break;
	case MATCH_EV_REPLACED:
		if (ev->kept_priority) {
			if (o->leaves > ev->qty)
				itch_cancel(x, ev->instrument, o->itch_ref, o->leaves - ev->qty);
		} else {
			x->pend_old_ref = o->itch_ref;
			x->pend_order = i;
			o->itch_ref = 0;
		}
		o->engine_id = ev->new_id;
		o->price = ev->price;
		o->leaves = ev->qty;
		if (o->sess >= 0) {
			char why[8 + OUCH_TOKEN_LEN], prev[OUCH_TOKEN_LEN + 1];

			ouch_replaced(x, o);
			token_text(prev, x->replace_prev);
			/* The previous token rides in the reason column, so a reader can close it. */
			snprintf(why, sizeof(why), "%s:%s", ev->kept_priority ? "kept" : "moved",
				 prev);
			record_order(x, o, "REPLACED", ev->price, ev->qty, 0, why,
				     match_ref(x->eng, ev->new_id));
		}
		break;
	}
}

/* After an engine call: a replaced order that neither rested nor traded leaves the book. */
static void settle(struct exsim *x, uint32_t instrument)
{
	if (x->pend_old_ref) {
		itch_delete(x, instrument, x->pend_old_ref);
		x->pend_old_ref = 0;
	}
}

int exsim_instrument_find(const struct exsim *x, const char *symbol)
{
	for (uint32_t i = 0; i < x->cfg->ninstruments; i++)
		if (strcmp(x->cfg->instruments[i].symbol, symbol) == 0)
			return (int)i;
	return -1;
}

int exsim_session_find(const struct exsim *x, const char *user)
{
	for (uint32_t i = 0; i < x->cfg->nsessions; i++)
		if (strcmp(x->sess[i].cfg.user, user) == 0)
			return (int)i;
	return -1;
}

/* ---- OUCH in ---- */

static void enter_order(struct exsim *x, int sess, const struct ouch_enter_order *m)
{
	struct exsim_session *s = &x->sess[sess];
	char tok[OUCH_TOKEN_LEN + 1], stock[OUCH_STOCK_LEN + 1];
	uint32_t shares = ouch_get32(m->shares), price = ouch_get32(m->price);
	uint32_t tif = ouch_get32(m->tif), min_qty = ouch_get32(m->min_qty);
	uint64_t key = token_key(sess, m->token);
	uint8_t reject = 0;
	int instrument;

	token_text(tok, m->token);
	ouch_get_text(stock, m->stock, OUCH_STOCK_LEN);
	instrument = exsim_instrument_find(x, stock);
	x->st.orders++;
	s->orders++;
	exsim_record(x, sess, "ENTER", tok, instrument < 0 ? UINT32_MAX : (uint32_t)instrument,
		     m->side, price, shares, shares, 0, NULL, 0);
	if (refmap_get(&s->tokens, key) != REFMAP_NONE) {
		/* OUCH: an order with a token already in use is ignored. */
		exsim_record(x, sess, "IGNORED", tok, UINT32_MAX, m->side, price, shares, 0, 0,
			     "duplicate_token", 0);
		return;
	}
	if (instrument < 0)
		reject = 'S';
	else if (x->cfg->instruments[instrument].halted)
		reject = 'H';
	else if (m->side != 'B' && m->side != 'S' && m->side != 'T' && m->side != 'E')
		reject = 'O';
	else if (shares == 0 || shares > OUCH_MAX_SHARES)
		reject = 'Z';
	else if (min_qty > shares)
		reject = 'N';
	else if (price != OUCH_MARKET_PRICE &&
		 (price == 0 || price % x->cfg->instruments[instrument].tick))
		reject = 'X';
	if (reject) {
		char r[2] = { (char)reject, 0 };
		ouch_rejected(x, sess, m->token, reject);
		exsim_record(x, sess, "REJECTED", tok,
			     instrument < 0 ? UINT32_MAX : (uint32_t)instrument, m->side, price,
			     shares, 0, 0, r, 0);
		x->st.rejects++;
		return;
	}
	uint32_t i = order_alloc(x);
	if (i == NONE) {
		ouch_rejected(x, sess, m->token, 'O');
		exsim_record(x, sess, "REJECTED", tok, (uint32_t)instrument, m->side, price, shares,
			     0, 0, "O", 0);
		x->st.rejects++;
		return;
	}
	struct exsim_order *o = &x->ord[i];
	bool market = price == OUCH_MARKET_PRICE;
	o->sess = sess;
	memcpy(o->token, m->token, OUCH_TOKEN_LEN);
	o->instrument = (uint32_t)instrument;
	o->side = m->side == 'B' ? 'B' : 'S';
	o->price = market ? 0 : price;
	o->leaves = shares;
	o->tif = tif;
	o->min_qty = min_qty;
	o->display = m->display;
	o->capacity = m->capacity;
	refmap_put(&s->tokens, key, i);

	struct match_order mo = {
		.user = i,
		.instrument = (uint32_t)instrument,
		.firm = firm_id(s->cfg.firm),
		.side = o->side == 'B' ? MATCH_BUY : MATCH_SELL,
		.tif = tif == OUCH_TIF_IOC || market ? MATCH_IOC : MATCH_DAY,
		.market = market,
		.post_only = m->display == 'P',
		.price = market ? 0 : price,
		.qty = shares,
		.min_qty = min_qty,
	};
	/* OUCH 4.2 has no fill-or-kill; an IOC whose minimum is all of it is one. */
	if (mo.tif == MATCH_IOC && min_qty == shares) {
		mo.tif = MATCH_FOK;
		mo.min_qty = 0;
	}
	uint64_t id;
	match_submit(x->eng, &mo, &id);
	settle(x, (uint32_t)instrument);
}

static uint32_t find_token(struct exsim *x, int sess, const char token[OUCH_TOKEN_LEN])
{
	uint32_t i = refmap_get(&x->sess[sess].tokens, token_key(sess, token));

	if (i == REFMAP_NONE || !x->ord[i].live || memcmp(x->ord[i].token, token, OUCH_TOKEN_LEN))
		return NONE;
	return i;
}

static void replace_order(struct exsim *x, int sess, const struct ouch_replace_order *m)
{
	struct exsim_session *s = &x->sess[sess];
	char tok[OUCH_TOKEN_LEN + 1];
	uint32_t i = find_token(x, sess, m->existing);
	uint32_t shares = ouch_get32(m->shares), price = ouch_get32(m->price);

	token_text(tok, m->replacement);
	if (i == NONE || !x->ord[i].engine_id) {
		exsim_record(x, sess, "IGNORED", tok, UINT32_MAX, 0, price, shares, 0, 0,
			     "replace_unknown_token", 0);
		return;
	}
	struct exsim_order *o = &x->ord[i];
	uint64_t new_key = token_key(sess, m->replacement);
	if (refmap_get(&s->tokens, new_key) != REFMAP_NONE) {
		exsim_record(x, sess, "IGNORED", tok, o->instrument, o->side, price, shares, 0, 0,
			     "duplicate_token", 0);
		return;
	}
	if (shares == 0 || shares > OUCH_MAX_SHARES || price == 0 || price == OUCH_MARKET_PRICE ||
	    price % x->cfg->instruments[o->instrument].tick) {
		exsim_record(x, sess, "IGNORED", tok, o->instrument, o->side, price, shares, 0, 0,
			     "replace_bad_field", 0);
		return;
	}
	exsim_record(x, sess, "REPLACE", tok, o->instrument, o->side, price, shares, 0, 0, NULL, 0);
	/* The new token takes over before the engine reports, so the Replaced message and any
	 * executions on entry carry it. */
	memcpy(x->replace_prev, o->token, OUCH_TOKEN_LEN);
	refmap_del(&s->tokens, token_key(sess, o->token));
	memcpy(o->token, m->replacement, OUCH_TOKEN_LEN);
	refmap_put(&s->tokens, new_key, i);
	o->tif = ouch_get32(m->tif);
	o->display = m->display;
	o->min_qty = ouch_get32(m->min_qty);
	uint64_t new_id;
	match_replace(x->eng, o->engine_id, price, shares, &new_id);
	settle(x, o->instrument);
}

static void cancel_order(struct exsim *x, int sess, const char token[OUCH_TOKEN_LEN],
			 uint32_t shares)
{
	char tok[OUCH_TOKEN_LEN + 1];
	uint32_t i = find_token(x, sess, token);

	token_text(tok, token);
	if (i == NONE || !x->ord[i].engine_id) {
		exsim_record(x, sess, "IGNORED", tok, UINT32_MAX, 0, 0, shares, 0, 0,
			     "cancel_unknown_token", 0);
		return;
	}
	exsim_record(x, sess, "CANCEL", tok, x->ord[i].instrument, x->ord[i].side, 0, shares,
		     x->ord[i].leaves, 0, NULL, 0);
	match_cancel(x->eng, x->ord[i].engine_id, shares);
}

void exsim_ouch_message(struct exsim *x, int sess, const uint8_t *msg, size_t len)
{
	int rc = ouch_msg_check(msg, len, OUCH_INBOUND);

	x->st.ouch_in++;
	if (rc) {
		/* Counted and ignored: without a valid message there is no token to answer. */
		x->st.ouch_bad++;
		exsim_record(x, sess, "BAD_MESSAGE", NULL, UINT32_MAX, 0, 0, 0, 0, 0,
			     rc == -OUCH_ERR_UNKNOWN_TYPE ? "unknown_type"
			     : rc == -OUCH_ERR_BAD_LENGTH ? "bad_length"
							  : "empty",
			     len ? msg[0] : 0);
		return;
	}
	switch (msg[0]) {
	case OUCH_ENTER_ORDER: enter_order(x, sess, (const void *)msg); break;
	case OUCH_REPLACE_ORDER: replace_order(x, sess, (const void *)msg); break;
	case OUCH_CANCEL_ORDER: {
		const struct ouch_cancel_order *c = (const void *)msg;
		cancel_order(x, sess, c->token, ouch_get32(c->shares));
		break;
	}
	case OUCH_MODIFY_ORDER: {
		const struct ouch_modify_order *c = (const void *)msg;
		cancel_order(x, sess, c->token, ouch_get32(c->shares));
		break;
	}
	}
}

/* ---- background flow entry points (used by flow.c) ---- */

int exsim_bg_submit(struct exsim *x, uint32_t instrument, enum match_side side, int64_t price,
		    int64_t qty, enum match_tif tif, uint32_t firm)
{
	uint32_t i = order_alloc(x);

	if (i == NONE)
		return -ENOSPC;
	struct exsim_order *o = &x->ord[i];
	o->sess = -1;
	o->instrument = instrument;
	o->side = (uint8_t)side;
	o->price = price;
	o->leaves = qty;
	struct match_order mo = {
		.user = i,
		.instrument = instrument,
		.firm = firm,
		.side = side,
		.tif = tif,
		.price = price,
		.qty = qty,
	};
	uint64_t id;
	x->st.bg_orders++;
	int rc = match_submit(x->eng, &mo, &id);
	settle(x, instrument);
	return rc;
}

void exsim_bg_cancel(struct exsim *x, uint32_t slot)
{
	struct exsim_order *o = &x->ord[x->bg[slot]];

	x->st.bg_cancels++;
	match_cancel(x->eng, o->engine_id, 0);
}

/* ---- lifecycle ---- */

int exsim_venue_open(struct exsim *x, struct exsim_cfg *cfg, char *err, size_t errlen)
{
	FILE *packets = NULL;

	memset(x, 0, sizeof(*x));
	x->cfg = cfg;
	x->listen_fd = x->epfd = -1;
	x->rng = cfg->seed;
	x->bg_firm = firm_id(cfg->bg_firm);
	x->now_ns = exsim_mono_ns();
	struct match_cfg mc = {
		.instruments = cfg->ninstruments,
		.max_orders = cfg->max_orders,
		.max_levels = cfg->max_levels,
	};
	x->eng = match_create(&mc, on_event, x);
	x->max_orders = cfg->max_orders + 1024; /* room for orders that never rest */
	x->ord = calloc(x->max_orders, sizeof(*x->ord));
	x->bg = calloc(x->max_orders, sizeof(*x->bg));
	x->bg_per_inst = calloc(cfg->ninstruments, sizeof(*x->bg_per_inst));
	if (!x->eng || !x->ord || !x->bg || !x->bg_per_inst) {
		snprintf(err, errlen, "[venue] max_orders: cannot allocate %u orders",
			 cfg->max_orders);
		return -1;
	}
	for (uint32_t i = 0; i < x->max_orders; i++)
		x->ord[i].next_free = i + 1 < x->max_orders ? i + 1 : NONE;
	x->free_head = 0;
	for (uint32_t i = 0; i < cfg->nsessions; i++) {
		x->sess[i].cfg = cfg->sessions[i];
		x->sess[i].conn = -1;
		if (refmap_init(&x->sess[i].tokens, x->max_orders)) {
			snprintf(err, errlen, "sessions: out of memory");
			return -1;
		}
	}
	if (cfg->records) {
		char path[4096];

		mkdir(cfg->records, 0755);
		snprintf(path, sizeof(path), "%s/orders.csv", cfg->records);
		x->orders_csv = fopen(path, "we");
		snprintf(path, sizeof(path), "%s/packets.csv", cfg->records);
		packets = fopen(path, "we");
		if (!x->orders_csv || !packets) {
			snprintf(err, errlen, "[venue] records: %s: %s", path, strerror(errno));
			if (packets)
				fclose(packets);
			return -1;
		}
		fprintf(x->orders_csv, "ts_ns,session,kind,token,symbol,side,price,qty,leaves,"
				       "match,reason,ref\n");
		fprintf(packets, "ts_ns,line,seq,count,bytes,action\n");
	}
	if (exsim_pub_open(&x->pub, cfg, packets, err, errlen))
		return -1;
	return exsim_soup_listen(x, err, errlen);
}

void exsim_venue_close(struct exsim *x)
{
	for (int i = 0; i < EXSIM_MAX_CONNS; i++)
		if (x->conns[i])
			exsim_soup_close(x, i, "shutdown");
	exsim_soup_poll(x);
	for (uint32_t i = 0; i < EXSIM_MAX_SESSIONS; i++) {
		refmap_free(&x->sess[i].tokens);
		free(x->sess[i].log);
		free(x->sess[i].off);
	}
	if (x->pub.rec)
		fclose(x->pub.rec);
	x->pub.rec = NULL;
	exsim_pub_close(&x->pub);
	if (x->orders_csv)
		fclose(x->orders_csv);
	match_destroy(x->eng);
	free(x->ord);
	free(x->bg);
	free(x->bg_per_inst);
	free(x->fills);
}

void exsim_venue_start(struct exsim *x)
{
	itch_system(x, 'O');
	for (uint32_t i = 0; i < x->cfg->ninstruments; i++) {
		itch_directory(x, i);
		itch_trading(x, i, 'T');
	}
	itch_system(x, 'S');
	itch_system(x, 'Q');
	for (uint32_t s = 0; s < x->cfg->nsessions; s++)
		ouch_system(x, (int)s, 'S');
}

void exsim_venue_end(struct exsim *x)
{
	if (x->pub.ended)
		return;
	itch_system(x, 'M');
	itch_system(x, 'E');
	itch_system(x, 'C');
	for (uint32_t s = 0; s < x->cfg->nsessions; s++)
		ouch_system(x, (int)s, 'E');
	exsim_pub_end(&x->pub, x->now_ns);
}

uint32_t exsim_venue_cancel_session(struct exsim *x, int sess)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < x->max_orders; i++) {
		struct exsim_order *o = &x->ord[i];
		if (o->live && o->sess == sess && o->engine_id &&
		    match_cancel(x->eng, o->engine_id, 0) == 0)
			n++;
	}
	return n;
}

int exsim_venue_halt(struct exsim *x, const char *symbol, bool halt)
{
	int i = exsim_instrument_find(x, symbol);

	if (i < 0)
		return -ENOENT;
	x->cfg->instruments[i].halted = halt;
	itch_trading(x, (uint32_t)i, halt ? 'H' : 'T');
	return 0;
}

int exsim_venue_break(struct exsim *x, uint64_t match_no)
{
	for (size_t k = 0; k < x->nfills; k++) {
		struct exsim_fill *f = &x->fills[k];
		if (f->match_no != match_no || f->broken)
			continue;
		f->broken = true;
		x->st.broken++;
		for (int side = 0; side < 2; side++) {
			struct ouch_broken_trade m;
			char tok[OUCH_TOKEN_LEN + 1];

			if (f->sess[side] < 0)
				continue;
			ouch_stamp(&m.type, m.timestamp, OUCH_BROKEN_TRADE);
			memcpy(m.token, f->token[side], OUCH_TOKEN_LEN);
			ouch_put64(m.match, match_no);
			m.reason = 'S';
			ouch_out(x, f->sess[side], &m, sizeof(m));
			token_text(tok, f->token[side]);
			exsim_record(x, f->sess[side], "BROKEN", tok, UINT32_MAX, 0, 0, 0, 0,
				     match_no, "S", 0);
		}
		itch_broken(x, f->instrument, match_no);
		return 0;
	}
	return -ENOENT;
}
