/*
 * The downstream side: ITCH messages packed into MoldUDP64 packets and sent on the A and B lines
 * (multicast or unicast), each line through its own fault injector (drops, bursts of drops,
 * reordering, duplication, added delay); heartbeats when idle; end of session; and the
 * re-request server, which answers MoldUDP64 request packets from a ring of the last `retain`
 * messages. Every packet offered to a line is a row of packets.csv with what happened to it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exsim.h"

static const char line_names[] = "ABR";

static void record(struct exsim_pub *p, int line, const uint8_t *pkt, uint16_t len,
		   const char *action)
{
	if (!p->rec)
		return;
	uint64_t seq = 0;
	uint16_t count = 0;

	if (len >= MOLD_HEADER_LEN) {
		for (int i = 0; i < 8; i++)
			seq = seq << 8 | pkt[10 + i];
		count = (uint16_t)(pkt[18] << 8 | pkt[19]);
	}
	fprintf(p->rec, "%lu,%c,%lu,%u,%u,%s\n", (unsigned long)exsim_ns_since_midnight(),
		line_names[line], (unsigned long)seq, count, len, action);
}

static void wire_send(struct exsim_pub *p, struct exsim_line *l, const uint8_t *d, uint16_t len)
{
	int li = (int)(l - p->lines);

	if (sendto(p->fd, d, len, 0, (const struct sockaddr *)&l->to, sizeof(l->to)) < 0) {
		record(p, li, d, len, "send_error");
		return;
	}
	p->st.line[li].packets++;
	p->st.line[li].bytes += len;
	record(p, li, d, len, "sent");
}

/* Sends now, or queues for the line's added delay. */
static void transmit(struct exsim_pub *p, struct exsim_line *l, const uint8_t *d, uint16_t len,
		     uint64_t now)
{
	if (!l->fault.delay_us || l->q_tail - l->q_head >= EXSIM_DELAY_QUEUE) {
		wire_send(p, l, d, len);
		return;
	}
	struct exsim_delayed *q = &l->q[l->q_tail++ % EXSIM_DELAY_QUEUE];
	q->due_ns = now + (uint64_t)l->fault.delay_us * 1000u;
	q->len = len;
	memcpy(q->data, d, len);
	p->st.line[l - p->lines].delayed++;
}

/* One packet offered to a line, through its faults. */
static void offer(struct exsim_pub *p, struct exsim_line *l, const uint8_t *d, uint16_t len,
		  uint64_t now)
{
	struct exsim_fault *f = &l->fault;
	struct exsim_line_stats *st = &p->st.line[l - p->lines];
	int li = (int)(l - p->lines);

	l->count++;
	if (f->burst_every && f->burst_len && l->count % f->burst_every == 0)
		l->burst_left = f->burst_len;
	if (l->burst_left) {
		l->burst_left--;
		st->dropped++;
		record(p, li, d, len, "drop_burst");
		return;
	}
	if (f->drop > 0 && exsim_rand01(&p->rng) < f->drop) {
		st->dropped++;
		record(p, li, d, len, "drop");
		return;
	}
	if (!l->holding && f->reorder > 0 && exsim_rand01(&p->rng) < f->reorder) {
		l->holding = true;
		l->held_len = len;
		memcpy(l->held, d, len);
		st->reordered++;
		record(p, li, d, len, "held");
		return;
	}
	transmit(p, l, d, len, now);
	if (f->dup > 0 && exsim_rand01(&p->rng) < f->dup) {
		st->duplicated++;
		record(p, li, d, len, "dup");
		transmit(p, l, d, len, now);
	}
	if (l->holding) {
		l->holding = false;
		transmit(p, l, l->held, l->held_len, now);
	}
}

static void header(uint8_t *pkt, const char session[MOLD_SESSION_LEN], uint64_t seq, uint16_t count)
{
	memcpy(pkt, session, MOLD_SESSION_LEN);
	exsim_put64(pkt + 10, seq);
	exsim_put16(pkt + 18, count);
}

static void send_open(struct exsim_pub *p, uint64_t now)
{
	if (!p->pkt_count)
		return;
	exsim_put16(p->pkt + 18, p->pkt_count);
	for (uint32_t i = 0; i < p->nlines; i++)
		offer(p, &p->lines[i], p->pkt, (uint16_t)p->pkt_len, now);
	p->st.packets++;
	p->pkt_count = 0;
	p->pkt_len = 0;
	p->last_send_ns = now;
}

int exsim_pub_open(struct exsim_pub *p, const struct exsim_cfg *cfg, FILE *rec, char *err,
		   size_t errlen)
{
	struct sockaddr_in req = { .sin_family = AF_INET };
	socklen_t rl = sizeof(req);
	unsigned char ttl = (unsigned char)cfg->ttl, loop = 1;

	memset(p, 0, sizeof(*p));
	p->fd = p->req_fd = -1;
	memcpy(p->session, cfg->session, MOLD_SESSION_LEN);
	for (size_t i = strlen(cfg->session); i < MOLD_SESSION_LEN; i++)
		p->session[i] = ' ';
	p->max_packet = cfg->max_packet;
	p->flush_ns = cfg->flush_ns;
	p->heartbeat_ns = cfg->heartbeat_ns;
	p->next_seq = 1;
	p->retain = cfg->retain;
	p->rng = cfg->seed ^ 0x5eed;
	p->rec = rec;
	p->nlines = cfg->nlines;
	p->store = calloc(cfg->retain, EXSIM_SLOT);
	if (!p->store) {
		snprintf(err, errlen, "retain: cannot allocate %u messages", cfg->retain);
		return -1;
	}
	for (uint32_t i = 0; i < p->nlines; i++) {
		p->lines[i].to = cfg->line[i];
		p->lines[i].fault = cfg->fault[i];
		if (cfg->fault[i].delay_us) {
			p->lines[i].q = malloc(sizeof(struct exsim_delayed) * EXSIM_DELAY_QUEUE);
			if (!p->lines[i].q) {
				snprintf(err, errlen, "fault delay queue: out of memory");
				return -1;
			}
		}
	}
	/* One socket bound to the request port sends both the lines and the answers, so a client
	 * sees every packet come from the venue's request address. */
	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	p->req_fd = p->fd;
	if (p->fd < 0) {
		snprintf(err, errlen, "udp socket: %s", strerror(errno));
		return -1;
	}
	req.sin_addr = cfg->request_ip;
	req.sin_port = htons(cfg->request_port);
	int one = 1, sndbuf = 4 << 20;
	setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (bind(p->fd, (struct sockaddr *)&req, sizeof(req)) < 0) {
		snprintf(err, errlen, "[itch] request_port: bind %s:%u: %s",
			 inet_ntoa(cfg->request_ip), cfg->request_port, strerror(errno));
		return -1;
	}
	getsockname(p->fd, (struct sockaddr *)&req, &rl);
	p->req_port = ntohs(req.sin_port);
	if (setsockopt(p->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    setsockopt(p->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) < 0) {
		snprintf(err, errlen, "multicast options: %s", strerror(errno));
		return -1;
	}
	if (cfg->mcast_if.s_addr != htonl(INADDR_ANY) &&
	    setsockopt(p->fd, IPPROTO_IP, IP_MULTICAST_IF, &cfg->mcast_if, sizeof(cfg->mcast_if)) <
		    0) {
		snprintf(err, errlen, "[itch] interface: %s: %s", inet_ntoa(cfg->mcast_if),
			 strerror(errno));
		return -1;
	}
	return 0;
}

void exsim_pub_close(struct exsim_pub *p)
{
	if (p->fd >= 0)
		close(p->fd);
	for (uint32_t i = 0; i < EXSIM_LINES; i++)
		free(p->lines[i].q);
	free(p->store);
	p->fd = p->req_fd = -1;
	p->store = NULL;
}

void exsim_pub_message(struct exsim_pub *p, const void *msg, uint16_t len, uint64_t now_ns)
{
	if (p->ended || len == 0 || len >= EXSIM_SLOT)
		return;
	if (p->pkt_count && (p->pkt_len + 2u + len > p->max_packet || p->pkt_count == 0xFFFE))
		send_open(p, now_ns);
	if (!p->pkt_count) {
		header(p->pkt, p->session, p->next_seq, 0);
		p->pkt_len = MOLD_HEADER_LEN;
		p->pkt_open_ns = now_ns;
	}
	exsim_put16(p->pkt + p->pkt_len, len);
	memcpy(p->pkt + p->pkt_len + 2, msg, len);
	p->pkt_len += 2u + len;
	p->pkt_count++;

	uint8_t *slot = p->store + (p->next_seq % p->retain) * EXSIM_SLOT;
	slot[0] = (uint8_t)len;
	memcpy(slot + 1, msg, len);
	p->next_seq++;
	p->st.messages++;
}

void exsim_pub_poll(struct exsim_pub *p, uint64_t now, bool end_of_pass)
{
	if (p->pkt_count && (end_of_pass ? now - p->pkt_open_ns >= p->flush_ns
					 : p->flush_ns && now - p->pkt_open_ns >= p->flush_ns))
		send_open(p, now);
	for (uint32_t i = 0; i < p->nlines; i++) {
		struct exsim_line *l = &p->lines[i];
		while (l->q_head != l->q_tail &&
		       l->q[l->q_head % EXSIM_DELAY_QUEUE].due_ns <= now) {
			struct exsim_delayed *q = &l->q[l->q_head++ % EXSIM_DELAY_QUEUE];
			wire_send(p, l, q->data, q->len);
		}
	}
	if (!p->ended && !p->pkt_count && now - p->last_send_ns >= p->heartbeat_ns) {
		uint8_t hb[MOLD_HEADER_LEN];

		header(hb, p->session, p->next_seq, 0);
		for (uint32_t i = 0; i < p->nlines; i++)
			offer(p, &p->lines[i], hb, sizeof(hb), now);
		p->st.heartbeats++;
		p->last_send_ns = now;
	}
}

uint64_t exsim_pub_next_due(const struct exsim_pub *p)
{
	uint64_t due = p->ended ? UINT64_MAX : p->last_send_ns + p->heartbeat_ns;

	if (p->pkt_count && p->pkt_open_ns + p->flush_ns < due)
		due = p->pkt_open_ns + p->flush_ns;
	for (uint32_t i = 0; i < p->nlines; i++) {
		const struct exsim_line *l = &p->lines[i];
		if (l->q_head != l->q_tail && l->q[l->q_head % EXSIM_DELAY_QUEUE].due_ns < due)
			due = l->q[l->q_head % EXSIM_DELAY_QUEUE].due_ns;
	}
	return due;
}

/* Answers one request: the retained messages from seq, in packets to the requester. */
static void answer(struct exsim_pub *p, const struct sockaddr_in *to, uint64_t seq, uint32_t count)
{
	uint64_t oldest = p->next_seq > p->retain ? p->next_seq - p->retain : 1;
	uint64_t end = seq + count;
	uint8_t pkt[EXSIM_MAX_PACKET];

	if (end > p->next_seq)
		end = p->next_seq;
	if (seq < oldest) {
		p->st.requests_expired++;
		seq = oldest;
	}
	while (seq < end) {
		uint32_t len = MOLD_HEADER_LEN;
		uint16_t n = 0;

		header(pkt, p->session, seq, 0);
		while (seq + n < end) {
			const uint8_t *slot = p->store + ((seq + n) % p->retain) * EXSIM_SLOT;
			if (len + 2u + slot[0] > p->max_packet)
				break;
			exsim_put16(pkt + len, slot[0]);
			memcpy(pkt + len + 2, slot + 1, slot[0]);
			len += 2u + slot[0];
			n++;
		}
		exsim_put16(pkt + 18, n);
		if (sendto(p->req_fd, pkt, len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
			break;
		record(p, 2, pkt, (uint16_t)len, "retrans");
		p->st.retrans_packets++;
		p->st.retrans_messages += n;
		seq += n;
	}
}

void exsim_pub_requests(struct exsim_pub *p, uint64_t now_ns)
{
	uint8_t buf[64];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	(void)now_ns;
	while ((n = recvfrom(p->req_fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
			     &fl)) >= 0) {
		fl = sizeof(from);
		if (n != MOLD_REQUEST_LEN || memcmp(buf, p->session, MOLD_SESSION_LEN) != 0) {
			p->st.requests_bad++;
			continue;
		}
		uint64_t seq = 0;
		for (int i = 0; i < 8; i++)
			seq = seq << 8 | buf[10 + i];
		uint16_t count = (uint16_t)(buf[18] << 8 | buf[19]);
		if (seq == 0 || count == 0 || seq >= p->next_seq) {
			p->st.requests_bad++;
			continue;
		}
		p->st.requests++;
		answer(p, &from, seq, count);
	}
}

void exsim_pub_end(struct exsim_pub *p, uint64_t now_ns)
{
	uint8_t eos[MOLD_HEADER_LEN];

	if (p->ended)
		return;
	send_open(p, now_ns);
	for (uint32_t i = 0; i < p->nlines; i++) {
		struct exsim_line *l = &p->lines[i];
		while (l->q_head != l->q_tail) { /* what the delay still held goes first */
			struct exsim_delayed *q = &l->q[l->q_head++ % EXSIM_DELAY_QUEUE];
			wire_send(p, l, q->data, q->len);
		}
		if (l->holding) {
			l->holding = false;
			wire_send(p, l, l->held, l->held_len);
		}
	}
	header(eos, p->session, p->next_seq, MOLD_COUNT_END_OF_SESSION);
	for (uint32_t i = 0; i < p->nlines; i++)
		wire_send(p, &p->lines[i], eos, sizeof(eos));
	p->ended = true;
}
