/*
 * Description: the built-in handlers. "count" adds packets, bytes and per-flow packets; "dump"
 * writes one "<flow> <len> <hex>" line per packet, including empty payloads, and reports a file it
 * cannot create.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

static void fill(struct pkt *p, const void *data, uint16_t len, uint16_t flow)
{
	memset(p, 0, sizeof(*p));
	p->data = data;
	p->len = len;
	p->flow = flow;
}

Test(handlers, count_adds_packets_bytes_and_flows)
{
	struct worker_count c;
	struct worker_handler h;
	struct pkt p[3];

	memset(&c, 0, sizeof(c));
	worker_count_handler(&c, &h);
	cr_assert_null(h.on_timer);
	fill(&p[0], "abc", 3, 0);
	fill(&p[1], "defgh", 5, 2);
	fill(&p[2], "", 0, 2);
	h.on_packets(h.ctx, p, 3, 0);
	h.on_packets(h.ctx, p, 1, 0);
	cr_assert_eq(c.packets, 4);
	cr_assert_eq(c.bytes, 11);
	cr_assert_eq(c.flow_packets[0], 2);
	cr_assert_eq(c.flow_packets[2], 2);
}

Test(handlers, dump_writes_flow_length_and_hex_per_packet)
{
	char path[64], err[256], buf[256];
	struct worker_handler h;
	struct worker_dump *d;
	struct pkt p[3];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/tmp/tradsys-test-dump-%d", (int)getpid());
	d = worker_dump_open(path, err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	worker_dump_handler(d, &h);
	fill(&p[0], "\x00\xff\x10", 3, 0);
	fill(&p[1], "", 0, 1);
	fill(&p[2], "AB", 2, 7);
	h.on_packets(h.ctx, p, 3, 0);
	cr_assert_eq(worker_dump_close(d), 0);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	cr_assert_str_eq(buf, "0 3 00ff10\n1 0 \n7 2 4142\n");
}

Test(handlers, dump_open_reports_a_file_it_cannot_create)
{
	char err[256];

	cr_assert_null(worker_dump_open("/nonexistent-dir/x", err, sizeof(err)));
	cr_assert_str_eq(err, "dump file /nonexistent-dir/x: No such file or directory");
}
