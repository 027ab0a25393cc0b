/*
 * Book checksum lines in the one format both `tradsys-itch stats` and the dataplane's decoded_file
 * use. Cold path only: it walks every instrument and prints through stdio.
 */
#include "books_print.h"

#include <errno.h>
#include <inttypes.h>

uint64_t worker_books_each(struct book_set *bs,
			   void (*fn)(void *ctx, uint32_t locate, const char *symbol,
				      uint32_t orders, uint64_t checksum),
			   void *ctx)
{
	uint64_t all = 0xcbf29ce484222325ull;

	for (uint32_t i = 0; i < book_max_instruments(bs); i++) {
		const struct book_instrument_info *info = book_instrument(bs, i);
		uint32_t orders = book_instrument_orders(bs, i);
		uint64_t ck;

		if (!info->known && orders == 0)
			continue;
		ck = book_checksum(bs, i);
		all = (all ^ ck) * 0x100000001b3ull;
		fn(ctx, i, info->symbol, orders, ck);
	}
	return all;
}

static void print_line(void *ctx, uint32_t locate, const char *symbol, uint32_t orders,
		       uint64_t checksum)
{
	fprintf(ctx, "book %u %s orders %u checksum %016" PRIx64 "\n", locate,
		symbol[0] ? symbol : "-", orders, checksum);
}

int worker_books_print(struct book_set *bs, FILE *out)
{
	uint64_t all = worker_books_each(bs, print_line, out);

	fprintf(out, "books_checksum %016" PRIx64 "\n", all);
	return ferror(out) ? -EIO : 0;
}
