/*
 * The orders projection of one batch, folded in C while the persister reads the journal: the
 * latest state of each order, the quantity filled in the batch, the time of its first event and
 * the replaced mark. PostgreSQL then only merges one row per order (an index probe each) instead of
 * sorting and windowing the batch's events again, which was most of the persister's time.
 */
#include "db.h"
#include "copy_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct db_order_fold {
	struct db_order_row *rows;
	size_t n, cap, marks, born;
	uint32_t *slots; /* open addressing: row index + 1, 0 empty */
	size_t nslots; /* a power of two, at least twice n */
};

static const char *const status_names[] = {
	[DB_ORDER_PENDING_NEW] = "pending_new",
	[DB_ORDER_OPEN] = "open",
	[DB_ORDER_PARTIALLY_FILLED] = "partially_filled",
	[DB_ORDER_FILLED] = "filled",
	[DB_ORDER_CANCELED] = "canceled",
	[DB_ORDER_REJECTED] = "rejected",
	[DB_ORDER_REPLACED] = "replaced",
};

#define ORDER_COLUMNS                                                                          \
	"(instance, worker, order_id, orig_order_id, venue_order_id, account_id, instrument_id, " \
	"venue_id, strategy_id, side, price, qty, leaves, cum_qty, status, reason, created_ns, "  \
	"updated_ns, last_seq, born_seq, born_last_seq)"

static const char copy_sql[] = "COPY orders_stage " ORDER_COLUMNS " FROM STDIN";
static const char born_copy_sql[] = "COPY orders " ORDER_COLUMNS " FROM STDIN";

const char *db_order_fold_copy_sql(void)
{
	return copy_sql;
}

const char *db_order_fold_born_copy_sql(void)
{
	return born_copy_sql;
}

struct db_order_fold *db_order_fold_new(void)
{
	return calloc(1, sizeof(struct db_order_fold));
}

static size_t hash(uint32_t worker, uint64_t id, size_t mask)
{
	uint64_t h = (id ^ ((uint64_t)worker << 40)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & mask;
}

/* Doubles the slot table (rehashing every row). */
static int grow_slots(struct db_order_fold *f)
{
	size_t nslots = f->nslots ? f->nslots * 2 : 4096;
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		size_t s = hash(f->rows[i].worker, f->rows[i].order_id, nslots - 1);
		while (slots[s])
			s = (s + 1) & (nslots - 1);
		slots[s] = (uint32_t)(i + 1);
	}
	free(f->slots);
	f->slots = slots;
	f->nslots = nslots;
	return 0;
}

/* The row of (worker, id), made empty if new; NULL without memory. */
static struct db_order_row *lookup(struct db_order_fold *f, uint32_t worker, uint64_t id)
{
	struct db_order_row *r;
	size_t s;

	if (2 * (f->n + 1) > f->nslots && grow_slots(f))
		return NULL;
	for (s = hash(worker, id, f->nslots - 1); f->slots[s]; s = (s + 1) & (f->nslots - 1)) {
		r = &f->rows[f->slots[s] - 1];
		if (r->order_id == id && r->worker == worker)
			return r;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 2048;
		struct db_order_row *rows = realloc(f->rows, cap * sizeof(*rows));
		if (!rows)
			return NULL;
		f->rows = rows;
		f->cap = cap;
	}
	r = &f->rows[f->n++];
	memset(r, 0, sizeof(*r));
	r->worker = worker;
	r->order_id = id;
	f->slots[s] = (uint32_t)f->n;
	f->marks++; /* until it has an event */
	return r;
}

int db_order_fold_add(struct db_order_fold *f, uint32_t worker, const struct shm_journal_record *r,
		      bool *late)
{
	const struct shm_journal_order *o = &r->order;
	struct db_order_row *x;

	*late = true;
	if (r->type < SHM_JOURNAL_ORDER_NEW || r->type > SHM_JOURNAL_ORDER_REPLACE)
		return 0;
	if (!(x = lookup(f, worker, o->order_id)))
		return -ENOMEM;
	if (!x->has_event) {
		x->has_event = true;
		x->created_ns = r->wall_ns;
		x->born = r->type == SHM_JOURNAL_ORDER_NEW;
		x->born_seq = x->born ? r->seq : 0;
		f->marks--;
		f->born += x->born;
	}
	/* Near its birth, an event is found by the order's seq range and stays out of the order
	 * index: the index entry per event was the largest cost of loading order_events. */
	if (x->born && r->seq - x->born_seq < DB_BORN_SPAN) {
		x->born_last_seq = r->seq;
		*late = false;
	}
	/* Every column follows the latest event but the venue's reference, which an event that
	 * does not carry it (0) leaves as it was. */
	x->orig_order_id = o->orig_order_id;
	if (o->venue_order_id)
		x->venue_order_id = o->venue_order_id;
	x->account = o->account;
	x->instrument = o->instrument;
	x->venue = o->venue;
	x->strategy = o->strategy;
	x->side = o->side;
	x->price = o->price;
	x->qty = o->qty;
	x->leaves = o->leaves;
	x->reason = o->reason;
	x->updated_ns = r->wall_ns;
	x->last_seq = r->seq;
	x->replaced = false;
	switch (r->type) {
	case SHM_JOURNAL_ORDER_NEW: x->status = DB_ORDER_PENDING_NEW; break;
	case SHM_JOURNAL_ORDER_ACK:
	case SHM_JOURNAL_ORDER_REPLACE: x->status = DB_ORDER_OPEN; break;
	case SHM_JOURNAL_ORDER_REJECT: x->status = DB_ORDER_REJECTED; break;
	case SHM_JOURNAL_ORDER_CANCEL: x->status = DB_ORDER_CANCELED; break;
	default:
		x->cum_qty += o->last_qty;
		x->status = o->leaves == 0 ? DB_ORDER_FILLED : DB_ORDER_PARTIALLY_FILLED;
		break;
	}
	/* A replace under a new order id ends the old order. (The OMS replaces in place, keeping
	 * the id and no orig_order_id: nothing to mark then.) */
	if (r->type == SHM_JOURNAL_ORDER_REPLACE && o->orig_order_id &&
	    o->orig_order_id != o->order_id) {
		if (!(x = lookup(f, worker, o->orig_order_id)))
			return -ENOMEM;
		x->replaced = true;
	}
	return 0;
}

const struct db_order_row *db_order_fold_rows(const struct db_order_fold *f, size_t *n)
{
	*n = f->n;
	return f->rows;
}

size_t db_order_fold_marks(const struct db_order_fold *f)
{
	return f->marks;
}

size_t db_order_fold_born(const struct db_order_fold *f)
{
	return f->born;
}

/* Bound of one staging row: the instance, 18 numbers, the side and the status. */
#define STAGE_ROW_MAX (SHM_JOURNAL_NAME_LEN + 20 * 22 + 24)

int db_order_fold_format(const struct db_order_fold *f, const char *instance, struct db_buf *out)
{
	return db_order_fold_format_part(f, instance, DB_FOLD_ALL, out);
}

int db_order_fold_format_part(const struct db_order_fold *f, const char *instance,
			      enum db_fold_part part, struct db_buf *out)
{
	size_t ilen = strnlen(instance, SHM_JOURNAL_NAME_LEN - 1), need = f->n * STAGE_ROW_MAX;

	if (db_buf_reserve(out, need))
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		const struct db_order_row *x = &f->rows[i];
		if (!x->has_event || (part == DB_FOLD_BORN && !x->born) ||
		    (part == DB_FOLD_KNOWN && x->born))
			continue;
		const char *st = status_names[x->replaced ? DB_ORDER_REPLACED : x->status];
		uint8_t side = x->side > 0x20 && x->side < 0x7f && x->side != '\\' ? x->side : '?';

		memcpy(out->p + out->len, instance, ilen);
		out->len += ilen;
		col_i64(out, x->worker);
		col_id(out, x->order_id);
		col_id(out, x->orig_order_id);
		col_id(out, x->venue_order_id);
		col_i64(out, x->account);
		col_i64(out, x->instrument);
		col_i64(out, x->venue);
		col_i64(out, x->strategy);
		put_c(out, '\t');
		put_c(out, (char)side);
		col_i64(out, x->price);
		col_i64(out, x->qty);
		col_i64(out, x->replaced ? 0 : x->leaves);
		col_i64(out, x->cum_qty);
		put_c(out, '\t');
		memcpy(out->p + out->len, st, strlen(st));
		out->len += strlen(st);
		col_i64(out, x->reason);
		col_id(out, x->created_ns);
		col_id(out, x->updated_ns);
		col_id(out, x->last_seq);
		col_id(out, x->born_seq);
		col_id(out, x->born_last_seq);
		put_c(out, '\n');
		out->rows++;
	}
	return 0;
}

void db_order_fold_reset(struct db_order_fold *f)
{
	if (f->n)
		memset(f->slots, 0, f->nslots * sizeof(*f->slots));
	f->n = f->marks = f->born = 0;
}

void db_order_fold_free(struct db_order_fold *f)
{
	if (!f)
		return;
	free(f->rows);
	free(f->slots);
	free(f);
}
