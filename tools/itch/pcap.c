/*
 * tradsys-itch pcap: wraps an ITCH file's messages into MoldUDP64 downstream packets (20-byte
 * header: session, sequence of the first message, count; then 2-byte length + message per
 * block; at most 1400 bytes of UDP payload) inside Ethernet/IPv4/UDP frames to a multicast group,
 * and writes them as a classic pcap file, for replay through DPDK's net_pcap.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itch.h"
#include "itch_tool.h"
#include "net.h"

#define MOLD_MAX 1400

struct pcap_out {
	FILE *f;
	uint32_t frames;
	uint64_t ts_us;
};

static int write_frame(struct pcap_out *o, const uint8_t *frame, size_t len)
{
	uint32_t rec[4] = { (uint32_t)(o->ts_us / 1000000), (uint32_t)(o->ts_us % 1000000),
			    (uint32_t)len, (uint32_t)len };
	o->ts_us += 10;
	o->frames++;
	return fwrite(rec, sizeof(rec), 1, o->f) == 1 && fwrite(frame, 1, len, o->f) == len ? 0
											    : -EIO;
}

int itch_tool_pcap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "group", required_argument, NULL, 'g' },
		{ "port", required_argument, NULL, 'p' },
		{ "session", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *group = "233.54.12.111", *session = "TSYS000001";
	uint16_t port = 26400;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:g:p:s:", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'g': group = optarg; break;
		case 'p': port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 's': session = optarg; break;
		default: return 2;
		}
	}
	if (optind >= argc || !out || strlen(session) > 10) {
		fprintf(stderr, "usage: tradsys-itch pcap FILE -o OUT.pcap [--group G] [--port P] "
				"[--session S (10 chars max)]\n");
		return 2;
	}
	struct in_addr dst;
	if (inet_pton(AF_INET, group, &dst) != 1) {
		fprintf(stderr, "tradsys-itch pcap: --group: '%s' is not an IPv4 address\n", group);
		return 2;
	}
	size_t size;
	const uint8_t *buf = itch_tool_map(argv[optind], &size);
	if (!buf)
		return 1;

	struct pcap_out o = { .f = fopen(out, "wb"), .ts_us = 1700000000ull * 1000000 };
	if (!o.f) {
		perror(out);
		return 1;
	}
	/* pcap global header: magic, v2.4, UTC, accuracy, snaplen, Ethernet. */
	uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	fwrite(gh, sizeof(gh), 1, o.f);

	static const uint8_t src_mac[6] = { 0x02, 0x54, 0x53, 0x59, 0x53, 0x01 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t pkt[MOLD_MAX], frame[2048];
	size_t used = 20, off = 0;
	uint64_t seq = 1, first = 1;
	uint16_t count = 0;
	const uint8_t *m;
	uint16_t len;
	int r, rc = 0;

	memset(pkt, ' ', 10);
	memcpy(pkt, session, strlen(session));
	for (;;) {
		r = itch_file_next(buf, size, &off, &m, &len);
		if (count && (r <= 0 || used + 2 + len > MOLD_MAX)) {
			for (int i = 0; i < 8; i++)
				pkt[10 + i] = (uint8_t)(first >> (56 - 8 * i));
			pkt[18] = (uint8_t)(count >> 8);
			pkt[19] = (uint8_t)count;
			size_t fl = net_udp_build(frame, sizeof(frame), src_mac, bcast,
						  inet_addr("10.54.12.1"), dst.s_addr, 26477, port,
						  pkt, used);
			rc |= write_frame(&o, frame, fl);
			first = seq;
			used = 20;
			count = 0;
		}
		if (r <= 0)
			break;
		if (len + 22 > MOLD_MAX)
			continue; /* cannot be framed; ITCH messages are at most 50 bytes */
		pkt[used] = (uint8_t)(len >> 8);
		pkt[used + 1] = (uint8_t)len;
		memcpy(pkt + used + 2, m, len);
		used += 2 + (size_t)len;
		count++;
		seq++;
	}
	if (r < 0)
		fprintf(stderr, "tradsys-itch pcap: %s ends inside a message; stopped there\n",
			argv[optind]);
	if (fclose(o.f) != 0 || rc) {
		fprintf(stderr, "tradsys-itch pcap: writing %s failed\n", out);
		return 1;
	}
	fprintf(stderr, "tradsys-itch pcap: %lu messages in %u packets to %s:%u\n",
		(unsigned long)(seq - 1), o.frames, group, port);
	return 0;
}
