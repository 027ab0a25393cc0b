/*
 * libFuzzer target: input bytes as a sequence of book operations (4 bytes each: op, ref, price,
 * quantity) on a small two-instrument book. Bit 6 of the op byte spreads prices hundreds of ticks
 * apart, beyond the price ladder (64 slots for 8 levels), so levels move to and from its overflow
 * and the ladder re-bases; bit 5 puts the price on the book's price step (100), and a price off
 * it re-lays that side. After each step every level of the L2 view must be
 * non-empty and in price order, L2 totals must equal the orders walked in L3, and the order count
 * must match. (A feed's book may be crossed, so that is not an invariant.) A mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>

#include "book.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sum {
	int64_t qty;
	uint32_t orders;
};

static void add_up(void *ctx, uint64_t ref, int64_t price, int64_t qty)
{
	struct sum *s = ctx;
	if (qty <= 0 || price <= 0)
		abort();
	s->qty += qty;
	s->orders++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct book_cfg cfg = { 2, 32, 8, 100 }; /* prices off the grid re-lay a side */
	struct book_set *bs = book_set_create(&cfg);
	struct book_level_view lv[8];

	for (size_t i = 0; i + 4 <= size; i += 4) {
		uint8_t op = data[i] % 6;
		uint64_t ref = 1 + data[i + 1] % 48;
		int64_t px = 1 + data[i + 2] % 16 * (data[i] & 64 ? 97 : 1), qty = data[i + 3] % 8;
		if (data[i] & 32)
			px *= 100; /* on the price step */
		uint32_t instr = data[i] >> 7;
		switch (op) {
		case 0:
		case 1:
			book_add(bs, instr, ref, (enum book_side)(data[i + 2] >> 7), px, qty);
			break;
		case 2: book_execute(bs, ref, qty, NULL); break;
		case 3: book_cancel(bs, ref, qty, NULL); break;
		case 4: book_delete(bs, ref, NULL); break;
		default: book_replace(bs, ref, 1 + data[i + 3] % 48, px, qty, NULL);
		}
		uint32_t total = 0;
		for (uint32_t in = 0; in < 2; in++) {
			for (int side = 0; side < 2; side++) {
				struct sum walked = { 0 };
				int64_t q = 0;
				uint32_t n = 0;
				book_walk(bs, in, (enum book_side)side, add_up, &walked);
				uint32_t nl = book_depth(bs, in, (enum book_side)side, lv, 8);
				for (uint32_t k = 0; k < nl; k++) {
					if (lv[k].orders == 0 || lv[k].qty <= 0)
						abort();
					if (k &&
					    (side == BOOK_BID ? lv[k].price >= lv[k - 1].price
							      : lv[k].price <= lv[k - 1].price))
						abort();
					q += lv[k].qty;
					n += lv[k].orders;
				}
				if (q != walked.qty || n != walked.orders)
					abort();
				total += n;
			}
		}
		if (total != book_order_count(bs))
			abort();
	}
	book_set_destroy(bs);
	return 0;
}
