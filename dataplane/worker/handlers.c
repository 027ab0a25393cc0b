/*
 * The built-in handlers. "count" only counts, which measures the driver and the loop with no
 * application work. "dump" is a test handler: it writes every packet's flow, length and payload
 * as a line of text, so an integration test can compare byte for byte what each driver delivered
 * with what was sent. It goes through stdio's buffer and is not meant for production rates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "worker.h"

static void count_packets(void *ctx, struct pkt *pkts, uint16_t n, uint64_t now_tsc)
{
	struct worker_count *c = ctx;

	for (uint16_t i = 0; i < n; i++) {
		c->bytes += pkts[i].len;
		if (pkts[i].flow < DRIVER_MAX_FLOWS)
			c->flow_packets[pkts[i].flow]++;
	}
	c->packets += n;
}

void worker_count_handler(struct worker_count *c, struct worker_handler *h)
{
	memset(h, 0, sizeof(*h));
	h->on_packets = count_packets;
	h->ctx = c;
}

/* "<flow> <len> " with two 5-digit numbers, the hex of a 65535-byte payload, and a newline. */
#define DUMP_LINE_MAX (6 + 6 + 2 * 65535 + 1)

struct worker_dump {
	FILE *f;
	int err; /* first write error, reported at close */
	char line[DUMP_LINE_MAX];
};

static void dump_packets(void *ctx, struct pkt *pkts, uint16_t n, uint64_t now_tsc)
{
	static const char hex[] = "0123456789abcdef";
	struct worker_dump *d = ctx;

	for (uint16_t i = 0; i < n; i++) {
		char *p = d->line;

		p = core_put_u64(p, pkts[i].flow);
		*p++ = ' ';
		p = core_put_u64(p, pkts[i].len);
		*p++ = ' ';
		for (uint16_t b = 0; b < pkts[i].len; b++) {
			*p++ = hex[pkts[i].data[b] >> 4];
			*p++ = hex[pkts[i].data[b] & 15];
		}
		*p++ = '\n';
		if (fwrite(d->line, 1, (size_t)(p - d->line), d->f) != (size_t)(p - d->line) &&
		    !d->err)
			d->err = -EIO;
	}
}

struct worker_dump *worker_dump_open(const char *path, char *err, size_t errlen)
{
	struct worker_dump *d = malloc(sizeof(*d));

	if (!d) {
		snprintf(err, errlen, "dump %s: out of memory", path);
		return NULL;
	}
	d->err = 0;
	d->f = fopen(path, "we");
	if (!d->f) {
		snprintf(err, errlen, "dump file %s: %s", path, strerror(errno));
		free(d);
		return NULL;
	}
	/* A large buffer keeps the worker out of write() for all but every megabyte. */
	setvbuf(d->f, NULL, _IOFBF, 1 << 20);
	return d;
}

void worker_dump_handler(struct worker_dump *d, struct worker_handler *h)
{
	memset(h, 0, sizeof(*h));
	h->on_packets = dump_packets;
	h->ctx = d;
}

int worker_dump_close(struct worker_dump *d)
{
	int rc;

	if (!d)
		return 0;
	rc = d->err;
	if (fclose(d->f) && !rc)
		rc = -errno;
	free(d);
	return rc;
}
