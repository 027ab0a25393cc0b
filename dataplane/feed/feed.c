/*
 * ITCH to book. The switch reads each field where it lies in the packet (itch.h views) and calls
 * the book directly: no intermediate message struct, no copies.
 */
#include "feed.h"

#include <errno.h>
#include <stdlib.h>

#include "clock.h"

struct feed *feed_create(const struct book_cfg *cfg, feed_md_fn on_md, void *ctx)
{
	struct feed *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->books = book_set_create(cfg);
	if (!f->books) {
		free(f);
		return NULL;
	}
	f->on_md = on_md;
	f->ctx = ctx;
	return f;
}

void feed_destroy(struct feed *f)
{
	if (!f)
		return;
	book_set_destroy(f->books);
	free(f);
}

static void emit(struct feed *f, const uint8_t *m, enum md_kind kind, uint32_t instr,
		 enum book_side side, int64_t price, int64_t qty)
{
	struct md_event ev = {
		.instrument = instr,
		.kind = (uint8_t)kind,
		.side = (uint8_t)side,
		.price = price,
		.qty = qty,
		.exch_ts = itch_timestamp(m),
		.rx_tsc = f->rx_tsc,
	};
	book_bbo(f->books, instr, &ev.bbo);
	f->on_md(f->ctx, &ev);
}

static int refused(struct feed *f, int err)
{
	f->st.book_refused++;
	return err;
}

static int add_order(struct feed *f, const uint8_t *m, const struct itch_add_order *a)
{
	uint32_t instr = itch_locate(m);
	enum book_side side = a->side == 'S' ? BOOK_ASK : BOOK_BID;
	int64_t px = itch_be32(a->price), qty = itch_be32(a->shares);

	if (a->side != 'B' && a->side != 'S')
		return refused(f, -EINVAL);
	int r = book_add(f->books, instr, itch_be64(a->ref), side, px, qty);
	if (r)
		return refused(f, r);
	uint32_t live = book_order_count(f->books);
	if (live > f->st.peak_orders)
		f->st.peak_orders = live;
	if (f->on_md)
		emit(f, m, MD_ADD, instr, side, px, qty);
	return 0;
}

static void directory(struct feed *f, const struct itch_stock_directory *r,
		      struct book_instrument_info *i)
{
	itch_symbol(r->stock, i->symbol);
	i->market_category = r->market_category;
	i->financial_status = r->financial_status;
	i->issue_classification = r->issue_classification;
	i->round_lot = itch_be32(r->round_lot);
	i->known = true;
}

int feed_itch_message(struct feed *f, const uint8_t *m, uint16_t len)
{
	uint64_t t_in = 0;

	if (__builtin_expect(f->sample_every != 0, 0) && --f->sample_left == 0) {
		f->sample_left = f->sample_every;
		t_in = clock_tsc();
	}
	int err = itch_msg_check(m, len);
	struct book_fill fill;
	int r;

	if (err) {
		f->st.itch.errors[-err]++;
		return err;
	}
	f->st.itch.msgs[m[0]]++;
	if (__builtin_expect(t_in != 0, 0)) {
		f->trace_in = t_in;
		f->trace_book = clock_tsc();
	}

	switch (m[0]) {
	case ITCH_ADD_ORDER:
	case ITCH_ADD_ORDER_MPID:
		/* F is A with an attribution appended: the shared prefix has the same layout. */
		return add_order(f, m, (const struct itch_add_order *)m);
	case ITCH_ORDER_EXECUTED: {
		const struct itch_order_executed *e = (const void *)m;
		r = book_execute(f->books, itch_be64(e->ref), itch_be32(e->shares), &fill);
		if (r && r != -ERANGE)
			return refused(f, r);
		if (f->on_md)
			emit(f, m, MD_EXECUTE, fill.instrument, fill.side, fill.price, fill.qty);
		return r ? refused(f, r) : 0;
	}
	case ITCH_ORDER_EXECUTED_PRICE: {
		const struct itch_order_executed_price *c = (const void *)m;
		r = book_execute(f->books, itch_be64(c->ref), itch_be32(c->shares), &fill);
		if (r && r != -ERANGE)
			return refused(f, r);
		if (f->on_md)
			emit(f, m, MD_EXECUTE, fill.instrument, fill.side, itch_be32(c->price),
			     fill.qty);
		return r ? refused(f, r) : 0;
	}
	case ITCH_ORDER_CANCEL: {
		const struct itch_order_cancel *x = (const void *)m;
		r = book_cancel(f->books, itch_be64(x->ref), itch_be32(x->shares), &fill);
		if (r && r != -ERANGE)
			return refused(f, r);
		if (f->on_md)
			emit(f, m, MD_CANCEL, fill.instrument, fill.side, fill.price, fill.qty);
		return r ? refused(f, r) : 0;
	}
	case ITCH_ORDER_DELETE: {
		const struct itch_order_delete *d = (const void *)m;
		r = book_delete(f->books, itch_be64(d->ref), &fill);
		if (r)
			return refused(f, r);
		if (f->on_md)
			emit(f, m, MD_DELETE, fill.instrument, fill.side, fill.price, fill.qty);
		return 0;
	}
	case ITCH_ORDER_REPLACE: {
		const struct itch_order_replace *u = (const void *)m;
		r = book_replace(f->books, itch_be64(u->orig_ref), itch_be64(u->new_ref),
				 itch_be32(u->price), itch_be32(u->shares), &fill);
		if (r)
			return refused(f, r);
		if (f->on_md)
			emit(f, m, MD_REPLACE, fill.instrument, fill.side, fill.price, fill.qty);
		return 0;
	}
	case ITCH_TRADE: {
		const struct itch_trade *p = (const void *)m;
		uint32_t instr = itch_locate(m);
		if (instr >= book_max_instruments(f->books)) {
			f->st.bad_locate++;
			return -EINVAL;
		}
		if (f->on_md)
			emit(f, m, MD_TRADE, instr, p->side == 'S' ? BOOK_ASK : BOOK_BID,
			     itch_be32(p->price), itch_be32(p->shares));
		return 0;
	}
	case ITCH_STOCK_DIRECTORY:
	case ITCH_TRADING_ACTION:
	case ITCH_REG_SHO:
	case ITCH_LULD_COLLAR: {
		struct book_instrument_info *i = book_instrument(f->books, itch_locate(m));
		if (!i) {
			f->st.bad_locate++;
			return -EINVAL;
		}
		if (m[0] == ITCH_STOCK_DIRECTORY)
			directory(f, (const struct itch_stock_directory *)m, i);
		else if (m[0] == ITCH_TRADING_ACTION)
			i->trading_state = ((const struct itch_trading_action *)m)->state;
		else if (m[0] == ITCH_REG_SHO)
			i->reg_sho = ((const struct itch_reg_sho *)m)->action;
		else
			i->luld_ref_price =
				itch_be32(((const struct itch_luld_collar *)m)->ref_price);
		if (f->on_md && m[0] == ITCH_TRADING_ACTION)
			emit(f, m, MD_STATUS, itch_locate(m), BOOK_BID, 0, 0);
		return 0;
	}
	default:
		/* System events, MWCB, IPO, NOII, RPII, DLCR, crosses: counted, no book change. */
		return 0;
	}
}

void feed_gap_lost(struct feed *f, uint64_t first_seq, uint64_t count)
{
	f->st.gaps_lost += count;
	book_set_stale_all(f->books, true);
}
