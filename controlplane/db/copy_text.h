/*
 * Private to controlplane/db: appending numbers to a COPY text row in a db_buf by hand (the
 * persister's own CPU per record; printf costs several times as much). Used by rows.c (journal
 * tables) and orders.c (the orders projection).
 */
#ifndef TRADSYS_DB_COPY_TEXT_H
#define TRADSYS_DB_COPY_TEXT_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "db.h"
#include "text.h"

/* Room for n more bytes in b (it doubles from 64 KiB). Returns 0 or -ENOMEM. */
static inline int db_buf_reserve(struct db_buf *b, size_t n)
{
	char *p;
	size_t cap;

	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 1 << 16;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Appenders: the caller reserved enough room for the whole row first. */
static inline void put_c(struct db_buf *b, char c)
{
	b->p[b->len++] = c;
}

static inline void put_u64(struct db_buf *b, uint64_t v)
{
	b->len = (size_t)(core_put_u64(b->p + b->len, v) - b->p);
}

static inline void put_i64(struct db_buf *b, int64_t v)
{
	if (v < 0) {
		put_c(b, '-');
		put_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(b, (uint64_t)v);
	}
}

/* A column separator and a signed value: the common case. */
static inline void col_i64(struct db_buf *b, int64_t v)
{
	put_c(b, '\t');
	put_i64(b, v);
}

/* A 64-bit id stored in bigint with the same bits. */
static inline void col_id(struct db_buf *b, uint64_t v)
{
	col_i64(b, (int64_t)v);
}

#endif
