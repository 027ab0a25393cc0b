/*
 * The books. Per instrument and side, price levels sit in a sorted array with the best level at
 * the end, so the updates that dominate a feed (at or near the top) move few entries, and a level
 * is found by binary search. Each level holds its orders as a FIFO linked by pool index, with its
 * aggregate quantity and count kept up to date, so the L2 view and the BBO cost nothing extra.
 */
#include "book.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "refmap.h"

#define NIL UINT32_MAX

struct border {
	uint64_t ref;
	int64_t price;
	int64_t qty;
	uint32_t prev, next; /* FIFO within the level; next doubles as the free-list link */
	uint32_t instr;
	uint8_t side;
};

struct blevel {
	int64_t price;
	int64_t qty;
	uint32_t count;
	uint32_t head, tail;
};

struct bside {
	struct blevel *lv; /* ascending toward the best */
	uint32_t n;
};

struct binst {
	struct bside side[2];
	uint32_t orders;
};

struct book_set {
	struct book_cfg cfg;
	struct border *ord;
	uint32_t free_head;
	uint32_t live;
	struct binst *inst;
	struct blevel *levels;
	struct book_instrument_info *info;
	struct refmap refs;
	struct book_stats stats;
};

static inline bool better(int side, int64_t a, int64_t b)
{
	return side == BOOK_BID ? a > b : a < b;
}

/* Index of the level at price, or of where it would go (and *found false). */
static uint32_t level_search(const struct bside *s, int side, int64_t price, bool *found)
{
	uint32_t lo = 0, hi = s->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (s->lv[mid].price == price) {
			*found = true;
			return mid;
		}
		if (better(side, price, s->lv[mid].price))
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void unlink_order(struct book_set *bs, uint32_t idx)
{
	struct border *o = &bs->ord[idx];
	struct bside *s = &bs->inst[o->instr].side[o->side];
	bool found;
	uint32_t li = level_search(s, o->side, o->price, &found);
	struct blevel *l = &s->lv[li];

	if (o->prev != NIL)
		bs->ord[o->prev].next = o->next;
	else
		l->head = o->next;
	if (o->next != NIL)
		bs->ord[o->next].prev = o->prev;
	else
		l->tail = o->prev;
	l->count--;
	l->qty -= o->qty;
	if (l->count == 0) {
		memmove(&s->lv[li], &s->lv[li + 1], (s->n - li - 1) * sizeof(s->lv[0]));
		s->n--;
	}
	bs->inst[o->instr].orders--;
}

static void free_order(struct book_set *bs, uint32_t idx)
{
	refmap_del(&bs->refs, bs->ord[idx].ref);
	bs->ord[idx].next = bs->free_head;
	bs->free_head = idx;
	bs->live--;
}

/* Links order idx (fields set) at the back of its level, creating the level if needed. */
static int link_order(struct book_set *bs, uint32_t idx)
{
	struct border *o = &bs->ord[idx];
	struct bside *s = &bs->inst[o->instr].side[o->side];
	bool found;
	uint32_t li = level_search(s, o->side, o->price, &found);

	if (!found) {
		if (s->n == bs->cfg.max_levels)
			return -ENOSPC;
		memmove(&s->lv[li + 1], &s->lv[li], (s->n - li) * sizeof(s->lv[0]));
		s->n++;
		s->lv[li] = (struct blevel){ .price = o->price, .head = NIL, .tail = NIL };
	}
	struct blevel *l = &s->lv[li];
	o->prev = l->tail;
	o->next = NIL;
	if (l->tail != NIL)
		bs->ord[l->tail].next = idx;
	else
		l->head = idx;
	l->tail = idx;
	l->count++;
	l->qty += o->qty;
	bs->inst[o->instr].orders++;
	return 0;
}

static void fill_out(const struct border *o, int64_t qty, struct book_fill *out)
{
	if (out) {
		out->instrument = o->instr;
		out->side = (enum book_side)o->side;
		out->price = o->price;
		out->qty = qty;
		out->remaining = o->qty;
	}
}

/* Places a new order (shared by add and replace); counts refusals, not successes. */
static int place(struct book_set *bs, uint32_t instrument, uint64_t ref, enum book_side side,
		 int64_t price, int64_t qty)
{
	if (instrument >= bs->cfg.max_instruments || (side != BOOK_BID && side != BOOK_ASK) ||
	    price <= 0 || qty <= 0 || ref == 0) {
		bs->stats.bad_order++;
		return -EINVAL;
	}
	if (refmap_get(&bs->refs, ref) != REFMAP_NONE) {
		bs->stats.dup_ref++;
		return -EEXIST;
	}
	if (bs->free_head == NIL) {
		bs->stats.pool_full++;
		return -ENOSPC;
	}
	uint32_t idx = bs->free_head;
	struct border *o = &bs->ord[idx];
	uint32_t next_free = o->next;
	*o = (struct border){
		.ref = ref, .price = price, .qty = qty, .instr = instrument, .side = (uint8_t)side
	};
	if (link_order(bs, idx) != 0) {
		o->next = next_free;
		bs->stats.pool_full++;
		return -ENOSPC;
	}
	bs->free_head = next_free;
	refmap_put(&bs->refs, ref, idx);
	bs->live++;
	return 0;
}

int book_add(struct book_set *bs, uint32_t instrument, uint64_t ref, enum book_side side,
	     int64_t price, int64_t qty)
{
	int r = place(bs, instrument, ref, side, price, qty);
	if (r == 0)
		bs->stats.adds++;
	return r;
}

/* Takes qty off an order (execution or partial cancel). */
static int reduce(struct book_set *bs, uint64_t ref, int64_t qty, struct book_fill *out)
{
	uint32_t idx = refmap_get(&bs->refs, ref);

	if (idx == REFMAP_NONE) {
		bs->stats.unknown_ref++;
		return -ENOENT;
	}
	struct border *o = &bs->ord[idx];
	if (qty <= 0) {
		bs->stats.bad_order++;
		return -EINVAL;
	}
	if (qty >= o->qty) {
		int over = qty > o->qty;
		int64_t had = o->qty;
		unlink_order(bs, idx);
		o->qty = 0;
		fill_out(o, had, out);
		free_order(bs, idx);
		if (over) {
			bs->stats.over_execute++;
			return -ERANGE;
		}
		return 0;
	}
	struct bside *s = &bs->inst[o->instr].side[o->side];
	bool found;
	uint32_t li = level_search(s, o->side, o->price, &found);
	s->lv[li].qty -= qty;
	o->qty -= qty;
	fill_out(o, qty, out);
	return 0;
}

int book_execute(struct book_set *bs, uint64_t ref, int64_t qty, struct book_fill *out)
{
	int r = reduce(bs, ref, qty, out);
	if (r == 0)
		bs->stats.executes++;
	return r;
}

int book_cancel(struct book_set *bs, uint64_t ref, int64_t qty, struct book_fill *out)
{
	int r = reduce(bs, ref, qty, out);
	if (r == 0)
		bs->stats.cancels++;
	return r;
}

int book_delete(struct book_set *bs, uint64_t ref, struct book_fill *out)
{
	uint32_t idx = refmap_get(&bs->refs, ref);

	if (idx == REFMAP_NONE) {
		bs->stats.unknown_ref++;
		return -ENOENT;
	}
	struct border *o = &bs->ord[idx];
	int64_t had = o->qty;
	unlink_order(bs, idx);
	o->qty = 0;
	fill_out(o, had, out);
	free_order(bs, idx);
	bs->stats.deletes++;
	return 0;
}

int book_replace(struct book_set *bs, uint64_t old_ref, uint64_t new_ref, int64_t price,
		 int64_t qty, struct book_fill *out)
{
	uint32_t idx = refmap_get(&bs->refs, old_ref);

	if (idx == REFMAP_NONE) {
		bs->stats.unknown_ref++;
		return -ENOENT;
	}
	if (price <= 0 || qty <= 0 || new_ref == 0) {
		bs->stats.bad_order++;
		return -EINVAL;
	}
	if (new_ref != old_ref && refmap_get(&bs->refs, new_ref) != REFMAP_NONE) {
		bs->stats.dup_ref++;
		return -EEXIST;
	}
	struct border *o = &bs->ord[idx];
	uint32_t instr = o->instr;
	enum book_side side = (enum book_side)o->side;

	/* Remove then add: the new order takes the back of its level. Only a side whose levels
	 * are all taken can refuse the new price; the order is then gone and counted (pool_full),
	 * as the book cannot hold it. */
	unlink_order(bs, idx);
	free_order(bs, idx);
	int r = place(bs, instr, new_ref, side, price, qty);
	if (r != 0)
		return r;
	bs->stats.replaces++;
	if (out) {
		out->instrument = instr;
		out->side = side;
		out->price = price;
		out->qty = qty;
		out->remaining = qty;
	}
	return 0;
}

void book_bbo(const struct book_set *bs, uint32_t instrument, struct book_bbo *out)
{
	const struct bside *b = &bs->inst[instrument].side[BOOK_BID];
	const struct bside *a = &bs->inst[instrument].side[BOOK_ASK];

	out->bid_px = b->n ? b->lv[b->n - 1].price : 0;
	out->bid_qty = b->n ? b->lv[b->n - 1].qty : 0;
	out->ask_px = a->n ? a->lv[a->n - 1].price : 0;
	out->ask_qty = a->n ? a->lv[a->n - 1].qty : 0;
}

uint32_t book_depth(const struct book_set *bs, uint32_t instrument, enum book_side side,
		    struct book_level_view *out, uint32_t n)
{
	const struct bside *s = &bs->inst[instrument].side[side];
	uint32_t k = 0;

	for (uint32_t i = s->n; i-- > 0 && k < n; k++)
		out[k] = (struct book_level_view){ s->lv[i].price, s->lv[i].qty, s->lv[i].count };
	return k;
}

uint32_t book_instrument_orders(const struct book_set *bs, uint32_t instrument)
{
	return bs->inst[instrument].orders;
}

uint32_t book_order_count(const struct book_set *bs)
{
	return bs->live;
}

void book_walk(const struct book_set *bs, uint32_t instrument, enum book_side side,
	       void (*fn)(void *ctx, uint64_t ref, int64_t price, int64_t qty), void *ctx)
{
	const struct bside *s = &bs->inst[instrument].side[side];

	for (uint32_t i = s->n; i-- > 0;)
		for (uint32_t k = s->lv[i].head; k != NIL; k = bs->ord[k].next)
			fn(ctx, bs->ord[k].ref, bs->ord[k].price, bs->ord[k].qty);
}

/* FNV-1a over 64-bit words. */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t book_checksum(const struct book_set *bs, uint32_t instrument)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int side = 0; side < 2; side++) {
		const struct bside *s = &bs->inst[instrument].side[side];
		h = mix(h, (uint64_t)side);
		for (uint32_t i = s->n; i-- > 0;) {
			h = mix(h, (uint64_t)s->lv[i].price);
			for (uint32_t k = s->lv[i].head; k != NIL; k = bs->ord[k].next) {
				h = mix(h, bs->ord[k].ref);
				h = mix(h, (uint64_t)bs->ord[k].qty);
			}
		}
	}
	return h;
}

const struct book_stats *book_stats(const struct book_set *bs)
{
	return &bs->stats;
}

struct book_instrument_info *book_instrument(struct book_set *bs, uint32_t instrument)
{
	return instrument < bs->cfg.max_instruments ? &bs->info[instrument] : NULL;
}

int64_t book_find_symbol(const struct book_set *bs, const char *symbol)
{
	for (uint32_t i = 0; i < bs->cfg.max_instruments; i++)
		if (bs->info[i].known && strcmp(bs->info[i].symbol, symbol) == 0)
			return i;
	return -ENOENT;
}

void book_set_stale_all(struct book_set *bs, bool stale)
{
	for (uint32_t i = 0; i < bs->cfg.max_instruments; i++)
		bs->info[i].stale = stale;
}

uint32_t book_known_instruments(const struct book_set *bs)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < bs->cfg.max_instruments; i++)
		n += bs->info[i].known;
	return n;
}

uint32_t book_max_instruments(const struct book_set *bs)
{
	return bs->cfg.max_instruments;
}

/* The big tables are huge-page backed and resident from the start (core_mem_alloc). */
static size_t ord_bytes(const struct book_cfg *cfg)
{
	return (size_t)cfg->max_orders * sizeof(struct border);
}

static size_t level_bytes(const struct book_cfg *cfg)
{
	return (size_t)cfg->max_instruments * 2 * cfg->max_levels * sizeof(struct blevel);
}

struct book_set *book_set_create(const struct book_cfg *cfg)
{
	struct book_set *bs;

	if (!cfg->max_instruments || !cfg->max_orders || !cfg->max_levels ||
	    cfg->max_orders >= NIL) {
		errno = EINVAL;
		return NULL;
	}
	bs = calloc(1, sizeof(*bs));
	if (!bs)
		goto nomem;
	bs->cfg = *cfg;
	bs->ord = core_mem_alloc(ord_bytes(cfg));
	bs->inst = calloc(cfg->max_instruments, sizeof(*bs->inst));
	bs->info = calloc(cfg->max_instruments, sizeof(*bs->info));
	bs->levels = core_mem_alloc(level_bytes(cfg));
	if (!bs->ord || !bs->inst || !bs->info || !bs->levels ||
	    refmap_init(&bs->refs, cfg->max_orders) != 0)
		goto nomem;
	for (uint32_t i = 0; i < cfg->max_instruments; i++) {
		for (int s = 0; s < 2; s++)
			bs->inst[i].side[s].lv =
				&bs->levels[((size_t)i * 2 + (size_t)s) * cfg->max_levels];
		bs->info[i].trading_state = BOOK_STATE_HALTED;
	}
	for (uint32_t i = 0; i < cfg->max_orders; i++)
		bs->ord[i].next = i + 1 < cfg->max_orders ? i + 1 : NIL;
	return bs;
nomem:
	book_set_destroy(bs);
	errno = ENOMEM;
	return NULL;
}

void book_set_destroy(struct book_set *bs)
{
	if (!bs)
		return;
	core_mem_free(bs->ord, ord_bytes(&bs->cfg));
	free(bs->inst);
	free(bs->info);
	core_mem_free(bs->levels, level_bytes(&bs->cfg));
	refmap_free(&bs->refs);
	free(bs);
}
