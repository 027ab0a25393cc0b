/*
 * Journal records as PostgreSQL COPY text rows, one buffer per table. Formatting is the
 * persister's own CPU cost per record, so numbers are written by hand instead of through printf,
 * and the only text that comes from the journal (session ids, details) is reduced to printable
 * ASCII and escaped: a damaged or hostile record can make an odd row, never a broken COPY stream.
 */
#include "db.h"
#include "copy_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const copy_sql[DB_NTABLES] = {
	[DB_ORDER_EVENTS] =
		"COPY order_events (instance, worker, seq, event_type, wall_ns, order_id, "
		"orig_order_id, venue_order_id, match_no, account_id, instrument_id, "
		"venue_id, strategy_id, side, ord_type, tif, price, qty, leaves, "
		"last_px, last_qty, liquidity, reason, late) FROM STDIN",
	[DB_RISK_EVENTS] = "COPY risk_events (instance, worker, seq, wall_ns, order_id, control, "
			   "action, account_id, instrument_id, side, price, qty, limit_value, "
			   "observed_value) FROM STDIN",
	[DB_SESSION_EVENTS] =
		"COPY session_events (instance, worker, seq, wall_ns, venue_id, kind, "
		"error, session, in_seq, out_seq, detail) FROM STDIN",
	[DB_COMMAND_RESULTS] = "COPY command_results (instance, worker, seq, wall_ns, command_id, "
			       "command_type, result, detail) FROM STDIN",
	[DB_JOURNAL_UNKNOWN] =
		"COPY journal_unknown (instance, worker, seq, wall_ns, type, version, "
		"payload) FROM STDIN",
};

const char *db_rows_copy_sql(enum db_table t)
{
	return t < DB_NTABLES ? copy_sql[t] : NULL;
}

/* Makes room for n more bytes. */
/* Text of at most max bytes (stops at NUL), printable ASCII only, COPY-escaped (<= 2*max). */
static void col_text(struct db_buf *b, const char *s, size_t max)
{
	put_c(b, '\t');
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\\') {
			put_c(b, '\\');
			put_c(b, '\\');
		} else {
			put_c(b, ch >= 0x20 && ch < 0x7f ? (char)ch : '?');
		}
	}
}

/* A one-character code (side) that must be printable ASCII and not a backslash. */
static void col_char(struct db_buf *b, uint8_t ch)
{
	put_c(b, '\t');
	put_c(b, ch > 0x20 && ch < 0x7f && ch != '\\' ? (char)ch : '?');
}

/* The key columns every journal table starts with. */
static void key(struct db_buf *b, const char *instance, size_t ilen, uint32_t worker,
		const struct shm_journal_record *r)
{
	memcpy(b->p + b->len, instance, ilen);
	b->len += ilen;
	col_i64(b, worker);
	col_id(b, r->seq);
}

/* Generous bound of one row: keys, up to 24 numbers of 21 bytes, escaped text. */
#define ROW_MAX (SHM_JOURNAL_NAME_LEN + 24 * 22 + 2 * SHM_JOURNAL_PAYLOAD_MAX + 16)
#define RAW_ROW_MAX (SHM_JOURNAL_NAME_LEN + 8 * 22 + 4 + 2 * SHM_JOURNAL_PAYLOAD_MAX + 16)

int db_rows_add(struct db_rows *rows, const char *instance, uint32_t worker,
		const struct shm_journal_record *r, bool late)
{
	size_t ilen = strnlen(instance, SHM_JOURNAL_NAME_LEN - 1);
	const char *tname = shm_journal_type_name(r->type);
	struct db_buf *b;

	switch (r->type) {
	case SHM_JOURNAL_ORDER_NEW:
	case SHM_JOURNAL_ORDER_ACK:
	case SHM_JOURNAL_ORDER_REJECT:
	case SHM_JOURNAL_ORDER_FILL:
	case SHM_JOURNAL_ORDER_CANCEL:
	case SHM_JOURNAL_ORDER_REPLACE: {
		const struct shm_journal_order *o = &r->order;
		b = &rows->t[DB_ORDER_EVENTS];
		if (db_buf_reserve(b, ROW_MAX))
			return -ENOMEM;
		key(b, instance, ilen, worker, r);
		put_c(b, '\t');
		memcpy(b->p + b->len, tname, strlen(tname));
		b->len += strlen(tname);
		col_id(b, r->wall_ns);
		col_id(b, o->order_id);
		col_id(b, o->orig_order_id);
		col_id(b, o->venue_order_id);
		col_id(b, o->match_no);
		col_i64(b, o->account);
		col_i64(b, o->instrument);
		col_i64(b, o->venue);
		col_i64(b, o->strategy);
		col_char(b, o->side);
		col_i64(b, o->ord_type);
		col_i64(b, o->tif);
		col_i64(b, o->price);
		col_i64(b, o->qty);
		col_i64(b, o->leaves);
		col_i64(b, o->last_px);
		col_i64(b, o->last_qty);
		col_i64(b, o->liquidity);
		col_i64(b, o->reason);
		put_c(b, '\t');
		put_c(b, late ? 't' : 'f');
		break;
	}
	case SHM_JOURNAL_RISK: {
		const struct shm_journal_risk *k = &r->risk;
		b = &rows->t[DB_RISK_EVENTS];
		if (db_buf_reserve(b, ROW_MAX))
			return -ENOMEM;
		key(b, instance, ilen, worker, r);
		col_id(b, r->wall_ns);
		col_id(b, k->order_id);
		col_i64(b, k->control);
		col_i64(b, k->action);
		col_i64(b, k->account);
		col_i64(b, k->instrument);
		col_char(b, k->side);
		col_i64(b, k->price);
		col_i64(b, k->qty);
		col_i64(b, k->limit);
		col_i64(b, k->value);
		break;
	}
	case SHM_JOURNAL_SESSION: {
		const struct shm_journal_session *s = &r->session;
		b = &rows->t[DB_SESSION_EVENTS];
		if (db_buf_reserve(b, ROW_MAX))
			return -ENOMEM;
		key(b, instance, ilen, worker, r);
		col_id(b, r->wall_ns);
		col_i64(b, s->venue);
		col_i64(b, s->kind);
		col_i64(b, s->error);
		col_text(b, s->session, sizeof(s->session));
		col_id(b, s->in_seq);
		col_id(b, s->out_seq);
		col_text(b, s->detail, sizeof(s->detail));
		break;
	}
	case SHM_JOURNAL_COMMAND_ACK: {
		const struct shm_journal_command_ack *a = &r->command_ack;
		b = &rows->t[DB_COMMAND_RESULTS];
		if (db_buf_reserve(b, ROW_MAX))
			return -ENOMEM;
		key(b, instance, ilen, worker, r);
		col_id(b, r->wall_ns);
		col_id(b, a->command_id);
		col_i64(b, a->command_type);
		col_i64(b, a->result);
		col_text(b, a->detail, sizeof(a->detail));
		break;
	}
	default: {
		static const char hex[] = "0123456789abcdef";
		uint32_t len = r->len <= SHM_JOURNAL_PAYLOAD_MAX ? r->len : SHM_JOURNAL_PAYLOAD_MAX;
		b = &rows->t[DB_JOURNAL_UNKNOWN];
		if (db_buf_reserve(b, RAW_ROW_MAX))
			return -ENOMEM;
		key(b, instance, ilen, worker, r);
		col_id(b, r->wall_ns);
		col_i64(b, r->type);
		col_i64(b, r->version);
		/* bytea hex input, its backslash escaped for COPY: \\x0102... */
		put_c(b, '\t');
		put_c(b, '\\');
		put_c(b, '\\');
		put_c(b, 'x');
		for (uint32_t i = 0; i < len; i++) {
			put_c(b, hex[r->payload[i] >> 4]);
			put_c(b, hex[r->payload[i] & 15]);
		}
		break;
	}
	}
	put_c(b, '\n');
	b->rows++;
	return 0;
}

void db_rows_reset(struct db_rows *rows)
{
	for (int t = 0; t < DB_NTABLES; t++) {
		rows->t[t].len = 0;
		rows->t[t].rows = 0;
	}
}

void db_rows_free(struct db_rows *rows)
{
	for (int t = 0; t < DB_NTABLES; t++)
		free(rows->t[t].p);
	memset(rows, 0, sizeof(*rows));
}
