/*
 * libFuzzer target: arbitrary bytes as an ITCH file through the whole feed handler (decoder and
 * books, with md_events). Books must stay consistent: the live count equals the sum over
 * instruments, and every event's instrument is in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_md(void *ctx, const struct md_event *ev)
{
	if (ev->instrument >= 64 || ev->side > 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct feed *f;
	struct book_cfg cfg = { 64, 128, 16, 100 };
	uint8_t *buf = malloc(size ? size : 1);
	size_t off = 0;
	const uint8_t *m;
	uint16_t len;

	f = feed_create(&cfg, on_md, NULL);
	memcpy(buf, data, size);
	while (itch_file_next(buf, size, &off, &m, &len) > 0)
		feed_itch_message(f, m, len);
	uint32_t sum = 0;
	for (uint32_t i = 0; i < 64; i++)
		sum += book_instrument_orders(f->books, i);
	if (sum != book_order_count(f->books))
		abort();
	feed_destroy(f);
	free(buf);
	return 0;
}
