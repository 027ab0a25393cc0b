/*
 * tradsys-itch stats: runs a file through the feed handler (decoder and books) and prints what
 * it holds in a stable order, so two runs or two implementations can be compared line by line.
 * The books are sized from the file: a first pass finds the highest locate and counts adds. The
 * book lines come from worker_books_print(), which the dataplane's decoded_file shares.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "books_print.h"
#include "feed.h"
#include "itch_tool.h"

struct json_books {
	int first;
};

static void json_book(void *ctx, uint32_t locate, const char *symbol, uint32_t orders,
		      uint64_t checksum)
{
	struct json_books *jb = ctx;

	printf("%s{\"locate\":%u,\"symbol\":\"%s\",\"orders\":%u,\"checksum\":\"%016" PRIx64 "\"}",
	       jb->first ? "" : ",", locate, symbol, orders, checksum);
	jb->first = 0;
}

static void scan(const uint8_t *buf, size_t size, uint32_t *max_locate, uint64_t *adds)
{
	size_t off = 0;
	const uint8_t *m;
	uint16_t len;

	while (itch_file_next(buf, size, &off, &m, &len) > 0) {
		if (itch_msg_check(m, len) != 0)
			continue;
		if (itch_locate(m) > *max_locate)
			*max_locate = itch_locate(m);
		*adds += m[0] == ITCH_ADD_ORDER || m[0] == ITCH_ADD_ORDER_MPID ||
			 m[0] == ITCH_ORDER_REPLACE;
	}
}

int itch_tool_stats(int argc, char **argv)
{
	const char *path = NULL;
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (!path)
			path = argv[i];
		else {
			fprintf(stderr, "tradsys-itch stats: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: tradsys-itch stats FILE [--json]\n");
		return 2;
	}
	size_t size;
	const uint8_t *buf = itch_tool_map(path, &size);
	if (!buf)
		return 1;

	uint32_t max_locate = 0;
	uint64_t adds = 0;
	scan(buf, size, &max_locate, &adds);
	struct book_cfg cfg = {
		.max_instruments = max_locate + 1,
		.max_orders = (uint32_t)(adds < 1000000 ? adds + 16 : 4000000),
		.max_levels = 4096,
		.price_step = 100, /* a cent */
	};
	struct feed *f = feed_create(&cfg, NULL, NULL);
	if (!f) {
		fprintf(stderr, "tradsys-itch stats: cannot size books for %u instruments: %s\n",
			cfg.max_instruments, strerror(errno));
		return 1;
	}

	size_t off = 0;
	const uint8_t *m;
	uint16_t len;
	int r;
	uint64_t total = 0;
	while ((r = itch_file_next(buf, size, &off, &m, &len)) > 0) {
		feed_itch_message(f, m, len);
		total++;
	}
	if (r < 0)
		f->st.itch.errors[-r]++;

	const struct book_stats *bst = book_stats(f->books);
	uint32_t symbols = book_known_instruments(f->books);

	if (json) {
		printf("{\"file\":\"%s\",\"messages\":%" PRIu64 ",\"types\":{", path, total);
		int first = 1;
		for (int t = 0; t < 256; t++)
			if (f->st.itch.msgs[t]) {
				printf("%s\"%c\":%" PRIu64, first ? "" : ",", t,
				       f->st.itch.msgs[t]);
				first = 0;
			}
		printf("},\"errors\":{");
		for (int e = 1; e < ITCH_ERR_COUNT; e++)
			printf("%s\"%s\":%" PRIu64, e > 1 ? "," : "", itch_error_name(e),
			       f->st.itch.errors[e]);
		printf("},\"symbols\":%u,\"peak_live_orders\":%" PRIu64
		       ",\"end_live_orders\":%u,\"book_refused\":{\"unknown_ref\":%" PRIu64
		       ",\"dup_ref\":%" PRIu64 ",\"pool_full\":%" PRIu64
		       ",\"over_execute\":%" PRIu64 ",\"bad_order\":%" PRIu64 "},\"books\":[",
		       symbols, f->st.peak_orders, book_order_count(f->books), bst->unknown_ref,
		       bst->dup_ref, bst->pool_full, bst->over_execute, bst->bad_order);
	} else {
		printf("file %s\nmessages %" PRIu64 "\n", path, total);
		for (int t = 0; t < 256; t++)
			if (f->st.itch.msgs[t])
				printf("type %c %s %" PRIu64 "\n", t, itch_type_name((uint8_t)t),
				       f->st.itch.msgs[t]);
		for (int e = 1; e < ITCH_ERR_COUNT; e++)
			printf("error %s %" PRIu64 "\n", itch_error_name(e), f->st.itch.errors[e]);
		printf("symbols %u\npeak_live_orders %" PRIu64 "\nend_live_orders %u\n", symbols,
		       f->st.peak_orders, book_order_count(f->books));
		printf("book_refused unknown_ref %" PRIu64 " dup_ref %" PRIu64 " pool_full %" PRIu64
		       " over_execute %" PRIu64 " bad_order %" PRIu64 "\n",
		       bst->unknown_ref, bst->dup_ref, bst->pool_full, bst->over_execute,
		       bst->bad_order);
	}
	if (json) {
		struct json_books jb = { .first = 1 };
		uint64_t all = worker_books_each(f->books, json_book, &jb);
		printf("],\"books_checksum\":\"%016" PRIx64 "\"}\n", all);
	} else {
		worker_books_print(f->books, stdout);
	}
	feed_destroy(f);
	return 0;
}
