/*
 * The books. Each side of an instrument keeps its price levels in a ladder: an array of level
 * indices addressed by the price's distance from a moving base, with a three-level bitmap to find
 * the next level, so adding or removing a level is O(1) with no search and no shifting. Prices
 * beyond the ladder's far end (deep in the book) sit in a sorted overflow array, worst first. Levels and orders live in pools addressed by 32-bit index; an order points at its level,
 * so execute, cancel and delete touch only the order, its neighbours and its level. Each level
 * keeps its FIFO and its aggregate quantity and count, so the L2 view and the BBO cost nothing.
 */
#include "book.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "refmap.h"

#define NIL UINT32_MAX

/*
 * Ladder slots per side: eight per allowed level (within bounds), so the ladder costs no more
 * memory than a sorted array of max_levels 32-byte levels would. A day's book spreads over tens
 * of thousands of ticks as the market drifts and old orders stay; the bound keeps one summary
 * word over at most 64 second-level words.
 */
#define LADDER_MAX 32768u
#define LADDER_MIN 64u
#define LADDER_PER_LEVEL 8u

/* 32 bytes: two orders per cache line. Instrument, side and price are the level's. */
struct border {
	uint64_t ref;
	int64_t qty;
	uint32_t prev, next; /* FIFO within the level; next doubles as the free-list link */
	uint32_t level;
	uint32_t pad;
};

/* 32 bytes. */
struct blevel {
	int64_t price;
	int64_t qty;
	uint32_t head, tail; /* head doubles as the free-list link */
	uint32_t count;
	uint32_t sid; /* instrument * 2 + side */
};

/*
 * One side of one instrument, 32 bytes. Levels are keyed so that a smaller key is a better
 * price on both sides (side_key()); the ladder covers keys [base, base + width). While the side
 * has any level the ladder has one, so the best level is always the ladder's first. A key counts
 * steps of the side's price grid, not price units: with ITCH prices in 1/10000 and a cent tick,
 * a slot per unit would leave 99 slots in 100 empty, one level per ladder line and a ladder that
 * spans only width / 100 ticks, so the market would re-base it after moving a few cents.
 */
struct bside {
	uint64_t base;
	uint64_t summary; /* bit j: second-level bitmap word j is not zero */
	uint32_t best; /* level index, NIL when the side is empty */
	uint32_t orders;
	uint32_t fine; /* keys are price units; else steps of cfg.price_step (prices < 2^32) */
	uint16_t n; /* levels, ladder and overflow */
	uint16_t nover; /* levels in the overflow */
};
_Static_assert(sizeof(struct bside) == 32, "two sides per cache line");

struct book_set {
	struct book_cfg cfg;
	uint32_t width; /* ladder slots per side, a power of two in [LADDER_MIN, LADDER_MAX] */
	uint32_t margin; /* room kept on the better side of the best price when re-basing */
	struct border *ord;
	struct blevel *lvl;
	struct bside *sides; /* 2 per instrument */
	uint32_t *slots; /* per side: width level indices (NIL: no level) */
	uint64_t *bits; /* per side: width / 64 slot words, then words of non-zero slot words */
	uint32_t words; /* bitmap words per side */
	uint64_t *over_key; /* per side: max_levels keys, descending */
	uint32_t *over; /* per side: the levels of those keys */
	uint64_t step_m; /* 2^64 / cfg.price_step rounded up, when the step is above 1 */
	uint32_t *scratch; /* max_levels level indices, for regrid */
	uint32_t free_ord, free_lvl;
	uint32_t live;
	uint32_t nlevels; /* size of the level pool */
	struct book_instrument_info *info;
	struct refmap refs;
	struct book_stats stats;
};

/*
 * price / step for a price below 2^32, and whether it divides exactly, without a divide: with
 * M = 2^64 / step rounded up, the quotient is the high half of price * M and the remainder is
 * zero exactly when the low half is below M (Lemire, Kaser and Kurz, "Faster remainder by
 * direct computation", 2019).
 */
static inline uint64_t step_div(const struct book_set *bs, uint64_t price)
{
	return (uint64_t)(((unsigned __int128)bs->step_m * price) >> 64);
}

static inline bool on_step(const struct book_set *bs, uint64_t price)
{
	return price >> 32 == 0 && price * bs->step_m <= bs->step_m - 1;
}

/* Bids: higher is better; asks: lower is better. Both map into [0, INT64_MAX). */
static inline uint64_t units_key(uint32_t side, uint64_t units)
{
	return side == BOOK_BID ? (uint64_t)INT64_MAX - units : units;
}

/* The key of a price on the side's grid. */
static inline uint64_t side_key(const struct book_set *bs, const struct bside *s, uint32_t side,
				int64_t price)
{
	return units_key(side, s->fine ? (uint64_t)price : step_div(bs, (uint64_t)price));
}

static inline uint32_t *ladder(const struct book_set *bs, uint32_t sid)
{
	return bs->slots + (size_t)sid * bs->width;
}

static inline uint64_t *bitmap(const struct book_set *bs, uint32_t sid)
{
	return bs->bits + (size_t)sid * bs->words;
}

/* The second level: bit i of word j says slot word j * 64 + i is not zero. */
static inline uint64_t *bitmap2(const struct book_set *bs, uint32_t sid)
{
	return bitmap(bs, sid) + bs->width / 64;
}

static inline uint32_t *overflow(const struct book_set *bs, uint32_t sid)
{
	return bs->over + (size_t)sid * bs->cfg.max_levels;
}

static inline uint64_t *overflow_keys(const struct book_set *bs, uint32_t sid)
{
	return bs->over_key + (size_t)sid * bs->cfg.max_levels;
}

static inline uint64_t level_key(const struct book_set *bs, uint32_t l)
{
	const struct blevel *v = &bs->lvl[l];
	return side_key(bs, &bs->sides[v->sid], v->sid & 1, v->price);
}

/* The base that puts key margin slots from the ladder's start. */
static inline uint64_t anchor(const struct book_set *bs, uint64_t key)
{
	return key > bs->margin ? key - bs->margin : 0;
}

static uint32_t ladder_first(const struct book_set *bs, uint32_t sid, const struct bside *s)
{
	if (!s->summary)
		return NIL;
	uint32_t j = (uint32_t)__builtin_ctzll(s->summary);
	uint32_t w = j * 64 + (uint32_t)__builtin_ctzll(bitmap2(bs, sid)[j]);
	uint32_t b = (uint32_t)__builtin_ctzll(bitmap(bs, sid)[w]);
	return ladder(bs, sid)[w * 64 + b];
}

static void ladder_set(const struct book_set *bs, uint32_t sid, struct bside *s, uint32_t off,
		       uint32_t l)
{
	ladder(bs, sid)[off] = l;
	bitmap(bs, sid)[off / 64] |= 1ull << (off % 64);
	bitmap2(bs, sid)[off / 4096] |= 1ull << (off / 64 % 64);
	s->summary |= 1ull << (off / 4096);
}

static void ladder_clear(const struct book_set *bs, uint32_t sid, struct bside *s, uint32_t off)
{
	uint64_t *bits = bitmap(bs, sid), *bits2 = bitmap2(bs, sid);
	ladder(bs, sid)[off] = NIL;
	bits[off / 64] &= ~(1ull << (off % 64));
	if (bits[off / 64])
		return;
	bits2[off / 4096] &= ~(1ull << (off / 64 % 64));
	if (!bits2[off / 4096])
		s->summary &= ~(1ull << (off / 4096));
}

/*
 * Moves the ladder to start at key nb. Moving down pushes the levels that fall off the far end
 * into the overflow (they are better than everything there, so they go at its end, worst
 * first); moving up pulls the overflow's best levels that now fit. A caller moving up guarantees
 * no level lies below nb. O(width): it happens when the market moves by about half a ladder.
 */
static void rebase(struct book_set *bs, uint32_t sid, struct bside *s, uint64_t nb)
{
	uint32_t w = bs->width, *sl = ladder(bs, sid), *ov = overflow(bs, sid);
	uint64_t ob = s->base, *ok = overflow_keys(bs, sid);

	if (nb < ob) {
		uint64_t d = ob - nb;
		uint32_t keep = d < w ? w - (uint32_t)d : 0;
		for (uint32_t off = w; off-- > keep;) {
			if (sl[off] != NIL) {
				ok[s->nover] = ob + off;
				ov[s->nover++] = sl[off];
			}
		}
		if (keep)
			memmove(sl + (w - keep), sl, keep * sizeof(*sl));
		memset(sl, 0xff, (w - keep) * sizeof(*sl));
	} else if (nb > ob) {
		uint64_t d = nb - ob;
		uint32_t keep = d < w ? w - (uint32_t)d : 0;
		if (keep)
			memmove(sl, sl + (w - keep), keep * sizeof(*sl));
		memset(sl + keep, 0xff, (w - keep) * sizeof(*sl));
		while (s->nover && ok[s->nover - 1] - nb < w) {
			s->nover--;
			sl[ok[s->nover] - nb] = ov[s->nover];
		}
	}
	s->base = nb;
	uint64_t *bits = bitmap(bs, sid), *bits2 = bitmap2(bs, sid);
	memset(bits2, 0, (bs->words - w / 64) * sizeof(*bits2));
	s->summary = 0;
	for (uint32_t i = 0; i < w / 64; i++) {
		uint64_t word = 0;
		for (uint32_t b = 0; b < 64; b++)
			word |= (uint64_t)(sl[i * 64 + b] != NIL) << b;
		bits[i] = word;
		bits2[i / 64] |= (uint64_t)(word != 0) << (i % 64);
		s->summary |= (uint64_t)(word != 0) << (i / 64);
	}
}

/* Position of key in the overflow (keys descending), or where it would go (*found false). */
static uint32_t over_search(const struct book_set *bs, uint32_t sid, const struct bside *s,
			    uint64_t key, bool *found)
{
	const uint64_t *ok = overflow_keys(bs, sid);
	uint32_t lo = 0, hi = s->nover;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		uint64_t k = ok[mid];
		if (k == key) {
			*found = true;
			return mid;
		}
		if (k > key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static uint32_t level_new(struct book_set *bs, uint32_t sid, struct bside *s, int64_t price)
{
	uint32_t l = bs->free_lvl;
	struct blevel *lv = &bs->lvl[l];
	bs->free_lvl = lv->head;
	*lv = (struct blevel){ .price = price, .head = NIL, .tail = NIL, .sid = sid };
	s->n++;
	return l;
}

/*
 * A price off the side's grid: the side goes to one price unit per key, and its levels are laid
 * out again in the new keys, best first (the ladder from the best, the rest into the overflow).
 * O(width + levels), once per side at most: sub-penny prices, or a step the venue does not use.
 */
static void regrid(struct book_set *bs, uint32_t sid, struct bside *s)
{
	uint32_t *sl = ladder(bs, sid), *ov = overflow(bs, sid), *all = bs->scratch, k = 0;
	uint64_t *ok = overflow_keys(bs, sid);

	bs->stats.regrids++;
	for (uint32_t off = 0; off < bs->width; off++)
		if (sl[off] != NIL)
			all[k++] = sl[off];
	for (uint32_t i = s->nover; i-- > 0;)
		all[k++] = ov[i]; /* the overflow is worst first */
	memset(sl, 0xff, bs->width * sizeof(*sl));
	memset(bitmap(bs, sid), 0, bs->words * sizeof(uint64_t));
	s->summary = 0;
	s->nover = 0;
	s->fine = 1;
	if (!k)
		return;
	/* Keys ascend through all[]: the ladder takes what fits after the best, the overflow the
	 * rest, worst first. */
	s->base = anchor(bs, level_key(bs, all[0]));
	s->best = all[0];
	uint32_t j = 0;
	for (; j < k && level_key(bs, all[j]) - s->base < bs->width; j++)
		ladder_set(bs, sid, s, (uint32_t)(level_key(bs, all[j]) - s->base), all[j]);
	for (uint32_t i = k; i-- > j;) {
		ok[s->nover] = level_key(bs, all[i]);
		ov[s->nover++] = all[i];
	}
}

/*
 * The level at price on side sid, created if needed; NIL when the side already has max_levels
 * levels (nothing changes then).
 */
static uint32_t level_get(struct book_set *bs, uint32_t sid, struct bside *s, int64_t price)
{
	uint64_t q = (uint64_t)price;

	if (!s->fine) {
		if (core_unlikely(!on_step(bs, q)))
			regrid(bs, sid, s);
		else
			q = step_div(bs, q);
	}
	uint64_t key = units_key(sid & 1, q), off = key - s->base;

	if (core_likely(key >= s->base && off < bs->width)) {
		uint32_t l = ladder(bs, sid)[off];
		if (l != NIL)
			return l;
		if (s->n == bs->cfg.max_levels)
			return NIL;
		l = level_new(bs, sid, s, price);
		ladder_set(bs, sid, s, (uint32_t)off, l);
		if (s->best == NIL || off < level_key(bs, s->best) - s->base)
			s->best = l;
		return l;
	}
	bool found = false;
	uint32_t pos = 0;
	if (key > s->base && s->n) {
		pos = over_search(bs, sid, s, key, &found);
		if (found)
			return overflow(bs, sid)[pos];
	}
	if (s->n == bs->cfg.max_levels)
		return NIL;
	if (key < s->base || !s->n) {
		/* A new best beyond the ladder's near end, or an empty side: re-base around it. */
		if (s->n)
			rebase(bs, sid, s, anchor(bs, key));
		else
			s->base = anchor(bs, key);
		uint32_t l = level_new(bs, sid, s, price);
		ladder_set(bs, sid, s, (uint32_t)(key - s->base), l);
		s->best = l;
		return l;
	}
	uint32_t *ov = overflow(bs, sid);
	uint64_t *ok = overflow_keys(bs, sid);
	uint32_t l = level_new(bs, sid, s, price);
	memmove(ov + pos + 1, ov + pos, (s->nover - pos) * sizeof(*ov));
	memmove(ok + pos + 1, ok + pos, (s->nover - pos) * sizeof(*ok));
	ov[pos] = l;
	ok[pos] = key;
	s->nover++;
	return l;
}

/* Takes an empty level out of its side and back to the pool. */
static void level_remove(struct book_set *bs, uint32_t l)
{
	uint32_t sid = bs->lvl[l].sid;
	struct bside *s = &bs->sides[sid];
	uint64_t key = level_key(bs, l), off = key - s->base;

	if (off < bs->width) {
		ladder_clear(bs, sid, s, (uint32_t)off);
		if (s->best == l) {
			s->best = ladder_first(bs, sid, s);
			if (s->best == NIL) {
				if (s->nover) {
					uint64_t *ok = overflow_keys(bs, sid);
					rebase(bs, sid, s, anchor(bs, ok[s->nover - 1]));
					s->best = ladder_first(bs, sid, s);
				}
			} else if (level_key(bs, s->best) - s->base >= bs->width / 2) {
				/* The market moved away from the near end: keep room on both sides. */
				rebase(bs, sid, s, anchor(bs, level_key(bs, s->best)));
			}
		}
	} else {
		bool found;
		uint32_t *ov = overflow(bs, sid);
		uint64_t *ok = overflow_keys(bs, sid);
		uint32_t pos = over_search(bs, sid, s, key, &found);
		memmove(ov + pos, ov + pos + 1, (s->nover - pos - 1) * sizeof(*ov));
		memmove(ok + pos, ok + pos + 1, (s->nover - pos - 1) * sizeof(*ok));
		s->nover--;
	}
	s->n--;
	bs->lvl[l].head = bs->free_lvl;
	bs->free_lvl = l;
}

static void unlink_order(struct book_set *bs, uint32_t idx)
{
	struct border *o = &bs->ord[idx];
	struct blevel *l = &bs->lvl[o->level];

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
	bs->sides[l->sid].orders--;
	if (l->count == 0)
		level_remove(bs, o->level);
}

static void free_order(struct book_set *bs, uint32_t idx)
{
	refmap_del(&bs->refs, bs->ord[idx].ref);
	bs->ord[idx].next = bs->free_ord;
	bs->free_ord = idx;
	bs->live--;
}

/* Reports an order's state; its level must still be valid (read before the level is freed). */
static void fill_out(const struct blevel *l, int64_t qty, int64_t remaining, struct book_fill *out)
{
	if (out) {
		out->instrument = l->sid >> 1;
		out->side = (enum book_side)(l->sid & 1);
		out->price = l->price;
		out->qty = qty;
		out->remaining = remaining;
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
	if (bs->free_ord == NIL) {
		bs->stats.pool_full++;
		return -ENOSPC;
	}
	uint32_t sid = instrument * 2 + (uint32_t)side;
	struct bside *s = &bs->sides[sid];
	uint32_t li = level_get(bs, sid, s, price);
	if (li == NIL) {
		bs->stats.pool_full++;
		return -ENOSPC;
	}
	uint32_t idx = bs->free_ord;
	struct border *o = &bs->ord[idx];
	struct blevel *l = &bs->lvl[li];
	bs->free_ord = o->next;
	*o = (struct border){ .ref = ref, .qty = qty, .prev = l->tail, .next = NIL, .level = li };
	if (l->tail != NIL)
		bs->ord[l->tail].next = idx;
	else
		l->head = idx;
	l->tail = idx;
	l->count++;
	l->qty += qty;
	s->orders++;
	refmap_put(&bs->refs, ref, idx);
	/* Venues number orders in sequence across the feed, so the next add is most likely ref + 1:
	 * its slot is loaded now, in the gap before that add, not on its path. */
	refmap_prefetch(&bs->refs, ref + 1);
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
	struct blevel *l = &bs->lvl[o->level];
	if (qty >= o->qty) {
		int over = qty > o->qty;
		int64_t had = o->qty;
		fill_out(l, had, 0, out);
		unlink_order(bs, idx);
		free_order(bs, idx);
		if (over) {
			bs->stats.over_execute++;
			return -ERANGE;
		}
		return 0;
	}
	l->qty -= qty;
	o->qty -= qty;
	fill_out(l, qty, o->qty, out);
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
	fill_out(&bs->lvl[o->level], o->qty, 0, out);
	unlink_order(bs, idx);
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
	uint32_t sid = bs->lvl[bs->ord[idx].level].sid;
	uint32_t instr = sid >> 1;
	enum book_side side = (enum book_side)(sid & 1);

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

/* Where a level's slot and bitmap word are, to prefetch them before the level is removed. */
static void prefetch_ladder(const struct book_set *bs, uint32_t sid, uint64_t key)
{
	const struct bside *s = &bs->sides[sid];
	uint64_t off = key - s->base;

	if (key >= s->base && off < bs->width) {
		__builtin_prefetch(&ladder(bs, sid)[off], 1);
		__builtin_prefetch(&bitmap(bs, sid)[off / 64], 1);
	}
}

void book_prefetch_ref(const struct book_set *bs, uint64_t ref, unsigned int stage)
{
	if (stage == 0) {
		refmap_prefetch(&bs->refs, ref);
		return;
	}
	const struct refmap_slot *slot = refmap_find(&bs->refs, ref);
	if (!slot)
		return;
	const struct border *o = &bs->ord[slot->val];
	if (stage == 1) {
		__builtin_prefetch(o, 1);
		refmap_prefetch_del(&bs->refs, slot);
		return;
	}
	if (o->level >= bs->nlevels)
		return;
	const struct blevel *l = &bs->lvl[o->level];
	if (stage == 2) {
		if (o->prev != NIL)
			__builtin_prefetch(&bs->ord[o->prev], 1);
		if (o->next != NIL)
			__builtin_prefetch(&bs->ord[o->next], 1);
		__builtin_prefetch(l, 1);
		return;
	}
	if (l->count == 1 && l->sid < bs->cfg.max_instruments * 2)
		prefetch_ladder(bs, l->sid, level_key(bs, o->level));
}

void book_prefetch_add(const struct book_set *bs, uint32_t instrument, uint64_t ref,
		       enum book_side side, int64_t price, unsigned int stage)
{
	if (stage == 0)
		refmap_prefetch(&bs->refs, ref);
	if (instrument >= bs->cfg.max_instruments || (side != BOOK_BID && side != BOOK_ASK) ||
	    price <= 0)
		return;
	uint32_t sid = instrument * 2 + (uint32_t)side;
	const struct bside *s = &bs->sides[sid];
	if (!s->fine && !on_step(bs, (uint64_t)price))
		return;
	uint64_t key = side_key(bs, s, side, price), off = key - s->base;
	if (key < s->base || off >= bs->width)
		return;
	const uint32_t *slot = &ladder(bs, sid)[off];
	if (stage == 0) {
		__builtin_prefetch(slot, 1);
		return;
	}
	if (stage > 2)
		return;
	uint32_t l = *slot;
	if (l == NIL) {
		/* A new level: its bitmap word will be set. */
		__builtin_prefetch(&bitmap(bs, sid)[off / 64], 1);
		return;
	}
	if (stage == 1) {
		__builtin_prefetch(&bs->lvl[l], 1);
		return;
	}
	uint32_t tail = bs->lvl[l].tail;
	if (tail != NIL)
		__builtin_prefetch(&bs->ord[tail], 1);
}

void book_bbo(const struct book_set *bs, uint32_t instrument, struct book_bbo *out)
{
	uint32_t b = bs->sides[instrument * 2 + BOOK_BID].best;
	uint32_t a = bs->sides[instrument * 2 + BOOK_ASK].best;

	out->bid_px = b != NIL ? bs->lvl[b].price : 0;
	out->bid_qty = b != NIL ? bs->lvl[b].qty : 0;
	out->ask_px = a != NIL ? bs->lvl[a].price : 0;
	out->ask_qty = a != NIL ? bs->lvl[a].qty : 0;
}

/* Walks one side's levels best first: the ladder by its bitmap, then the overflow. */
struct level_iter {
	const struct book_set *bs;
	uint32_t sid;
	uint32_t word; /* bitmap word being read */
	uint64_t rest; /* its bits not yet returned */
	uint32_t ov; /* overflow entries not yet returned */
};

static void level_iter_init(struct level_iter *it, const struct book_set *bs, uint32_t sid)
{
	*it = (struct level_iter){
		.bs = bs, .sid = sid, .rest = bitmap(bs, sid)[0], .ov = bs->sides[sid].nover
	};
}

/* The first non-zero slot word at or after w, or width / 64. */
static uint32_t next_word(const struct book_set *bs, uint32_t sid, uint32_t w)
{
	const uint64_t *bits2 = bitmap2(bs, sid);
	uint32_t end = bs->width / 64;

	if (w >= end)
		return end;
	uint32_t j = w / 64;
	uint64_t m = bits2[j] & (~0ull << (w % 64));
	while (!m) {
		if (++j * 64 >= end)
			return end;
		m = bits2[j];
	}
	return j * 64 + (uint32_t)__builtin_ctzll(m);
}

static uint32_t level_iter_next(struct level_iter *it)
{
	const struct book_set *bs = it->bs;
	uint32_t words = bs->width / 64;

	while (!it->rest) {
		it->word = next_word(bs, it->sid, it->word + 1);
		if (it->word >= words) {
			if (!it->ov)
				return NIL;
			return overflow(bs, it->sid)[--it->ov];
		}
		it->rest = bitmap(bs, it->sid)[it->word];
	}
	uint32_t b = (uint32_t)__builtin_ctzll(it->rest);
	it->rest &= it->rest - 1;
	return ladder(bs, it->sid)[it->word * 64 + b];
}

uint32_t book_depth(const struct book_set *bs, uint32_t instrument, enum book_side side,
		    struct book_level_view *out, uint32_t n)
{
	struct level_iter it;
	uint32_t k = 0, l;

	level_iter_init(&it, bs, instrument * 2 + (uint32_t)side);
	while (k < n && (l = level_iter_next(&it)) != NIL)
		out[k++] = (struct book_level_view){ bs->lvl[l].price, bs->lvl[l].qty,
						     bs->lvl[l].count };
	return k;
}

uint32_t book_instrument_orders(const struct book_set *bs, uint32_t instrument)
{
	return bs->sides[instrument * 2].orders + bs->sides[instrument * 2 + 1].orders;
}

uint32_t book_order_count(const struct book_set *bs)
{
	return bs->live;
}

void book_walk(const struct book_set *bs, uint32_t instrument, enum book_side side,
	       void (*fn)(void *ctx, uint64_t ref, int64_t price, int64_t qty), void *ctx)
{
	struct level_iter it;
	uint32_t l;

	level_iter_init(&it, bs, instrument * 2 + (uint32_t)side);
	while ((l = level_iter_next(&it)) != NIL)
		for (uint32_t k = bs->lvl[l].head; k != NIL; k = bs->ord[k].next)
			fn(ctx, bs->ord[k].ref, bs->lvl[l].price, bs->ord[k].qty);
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

	for (uint32_t side = 0; side < 2; side++) {
		struct level_iter it;
		uint32_t l;
		h = mix(h, (uint64_t)side);
		level_iter_init(&it, bs, instrument * 2 + side);
		while ((l = level_iter_next(&it)) != NIL) {
			h = mix(h, (uint64_t)bs->lvl[l].price);
			for (uint32_t k = bs->lvl[l].head; k != NIL; k = bs->ord[k].next) {
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

/*
 * Table sizes. Every level holds at least one order, so the level pool never needs more entries
 * than the order pool.
 */
struct sizes {
	size_t ord, lvl, sides, slots, bits, over, over_key;
};

static struct sizes sizes_of(const struct book_set *bs)
{
	const struct book_cfg *cfg = &bs->cfg;
	size_t nsides = (size_t)cfg->max_instruments * 2;
	return (struct sizes){
		.ord = (size_t)cfg->max_orders * sizeof(struct border),
		.lvl = (size_t)bs->nlevels * sizeof(struct blevel),
		.sides = nsides * sizeof(struct bside),
		.slots = nsides * bs->width * sizeof(uint32_t),
		.bits = nsides * bs->words * sizeof(uint64_t),
		.over = nsides * cfg->max_levels * sizeof(uint32_t),
		.over_key = nsides * cfg->max_levels * sizeof(uint64_t),
	};
}

struct book_set *book_set_create(const struct book_cfg *cfg)
{
	struct book_set *bs;

	if (!cfg->max_instruments || !cfg->max_orders || !cfg->max_levels ||
	    cfg->max_levels > BOOK_MAX_LEVELS || cfg->max_orders >= NIL ||
	    cfg->max_instruments > UINT32_MAX / 2) {
		errno = EINVAL;
		return NULL;
	}
	bs = calloc(1, sizeof(*bs));
	if (!bs)
		goto nomem;
	bs->cfg = *cfg;
	bs->width = LADDER_MIN;
	while (bs->width < (uint64_t)cfg->max_levels * LADDER_PER_LEVEL && bs->width < LADDER_MAX)
		bs->width *= 2;
	bs->margin = bs->width / 8;
	if (cfg->price_step > 1)
		bs->step_m = UINT64_MAX / cfg->price_step + 1;
	bs->words = bs->width / 64 + (bs->width + 4095) / 4096;
	uint64_t all_levels = (uint64_t)cfg->max_instruments * 2 * cfg->max_levels;
	bs->nlevels = all_levels < cfg->max_orders ? (uint32_t)all_levels : cfg->max_orders;
	struct sizes z = sizes_of(bs);
	bs->ord = core_mem_alloc(z.ord);
	bs->lvl = core_mem_alloc(z.lvl);
	bs->sides = core_mem_alloc(z.sides);
	bs->slots = core_mem_alloc(z.slots);
	bs->bits = core_mem_alloc(z.bits);
	bs->over = core_mem_alloc(z.over);
	bs->over_key = core_mem_alloc(z.over_key);
	bs->info = calloc(cfg->max_instruments, sizeof(*bs->info));
	bs->scratch = calloc(cfg->max_levels, sizeof(*bs->scratch));
	if (!bs->ord || !bs->lvl || !bs->sides || !bs->slots || !bs->bits || !bs->over ||
	    !bs->over_key || !bs->info || !bs->scratch ||
	    refmap_init(&bs->refs, cfg->max_orders) != 0)
		goto nomem;
	memset(bs->slots, 0xff, z.slots);
	for (size_t i = 0; i < (size_t)cfg->max_instruments * 2; i++) {
		bs->sides[i].best = NIL;
		bs->sides[i].fine = cfg->price_step <= 1;
	}
	for (uint32_t i = 0; i < cfg->max_instruments; i++)
		bs->info[i].trading_state = BOOK_STATE_HALTED;
	for (uint32_t i = 0; i < cfg->max_orders; i++)
		bs->ord[i].next = i + 1 < cfg->max_orders ? i + 1 : NIL;
	for (uint32_t i = 0; i < bs->nlevels; i++)
		bs->lvl[i].head = i + 1 < bs->nlevels ? i + 1 : NIL;
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
	struct sizes z = sizes_of(bs);
	core_mem_free(bs->ord, z.ord);
	core_mem_free(bs->lvl, z.lvl);
	core_mem_free(bs->sides, z.sides);
	core_mem_free(bs->slots, z.slots);
	core_mem_free(bs->bits, z.bits);
	core_mem_free(bs->over, z.over);
	core_mem_free(bs->over_key, z.over_key);
	free(bs->info);
	free(bs->scratch);
	refmap_free(&bs->refs);
	free(bs);
}
