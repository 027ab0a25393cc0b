/*
 * The text form of a feed's books that `tradsys-itch stats` prints and the dataplane's feed
 * handler writes at shutdown (decoded_file), shared so the two can be compared line by line:
 * "book <locate> <symbol> orders <n> checksum <hex>" per instrument, then "books_checksum <hex>".
 */
#ifndef TRADSYS_WORKER_BOOKS_PRINT_H
#define TRADSYS_WORKER_BOOKS_PRINT_H

#include <stdint.h>
#include <stdio.h>

#include "book.h"

/*
 * Calls fn for every instrument of bs that a stock directory message described or that holds
 * orders, in locate order, with its symbol ("" when unknown), live orders and book_checksum().
 * Returns the FNV-1a fold of those checksums (the "books_checksum").
 */
uint64_t worker_books_each(struct book_set *bs,
			   void (*fn)(void *ctx, uint32_t locate, const char *symbol,
				      uint32_t orders, uint64_t checksum),
			   void *ctx);

/* Writes the book lines and the books_checksum line to out. Returns 0 or -EIO. */
int worker_books_print(struct book_set *bs, FILE *out);

#endif
