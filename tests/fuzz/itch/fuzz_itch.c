/*
 * libFuzzer target: arbitrary bytes as an ITCH file (2-byte length framing), every valid message
 * read field by field through its view, from an exact-size copy so ASan sees any over-read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "itch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t sink;

static void visit(void *ctx, const uint8_t *m, uint16_t len)
{
	sink += itch_locate(m) + itch_timestamp(m);
	switch (m[0]) {
	case ITCH_ADD_ORDER: {
		const struct itch_add_order *a = (const void *)m;
		sink += itch_be64(a->ref) + itch_be32(a->shares) + itch_be32(a->price) + a->side;
		break;
	}
	case ITCH_ORDER_REPLACE: {
		const struct itch_order_replace *u = (const void *)m;
		sink += itch_be64(u->orig_ref) + itch_be64(u->new_ref) + itch_be32(u->price);
		break;
	}
	case ITCH_DLCR: {
		const struct itch_dlcr *o = (const void *)m;
		sink += itch_be64(o->near_time) + itch_be32(o->upper_collar);
		break;
	}
	default:
		/* Every byte of the message is readable. */
		for (uint16_t i = 0; i < len; i++)
			sink += m[i];
	}
	if (len != itch_msg_len[m[0]])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	struct itch_stats st = { 0 };

	memcpy(buf, data, size);
	itch_decode_file(buf, size, visit, NULL, &st);
	free(buf);
	return 0;
}
