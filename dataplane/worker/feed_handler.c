/*
 * The "feed" handler: MoldUDP64 sessions in front of ITCH feed handlers and their books, one pair
 * per configured feed, on the worker's core. A packet's flow says which feed and which line (A or
 * B) it came on; the session arbitrates the lines and hands each message up once, in sequence, and
 * the feed applies it to the books. Everything is allocated at create; a pass only parses, updates
 * books and adds counters. The decoded file, a test aid, goes through stdio like the dump handler.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "books_print.h"
#include "feed.h"
#include "mold.h"
#include "text.h"
#include "worker.h"

#define NO_FEED UINT8_MAX
/* "<seq> " with a 20-digit sequence, the hex of the largest message a block can hold, '\n'. */
#define DECODED_LINE_MAX (21 + 2 * 65535 + 1)

struct wf_feed {
	struct mold_session *mold;
	int req_fd; /* re-requests out, answers in; -1: no request server */
	struct sockaddr_in req_to;
	struct feed *feed;
	struct worker_feed *owner;
	const char *name;
	uint16_t index;
	bool stale; /* a gap was declared lost: the books are not to be trusted */
	bool asked; /* a request went out since the last tick */
	uint64_t answers_until_ns; /* read answers on the tick until then */
	uint64_t answer_reads; /* ticks that read the request socket */
};

/*
 * How long after its last request a feed keeps reading answers. The request server answers in
 * well under this, and a request is re-sent every retry interval while unanswered, so no answer
 * is missed; after it, a feed with nothing to recover makes no syscall on the tick. A stray
 * packet that arrives later waits in the socket until the next recovery reads it (the session
 * drops what it no longer needs).
 */
#define WF_ANSWER_LINGER_NS 1000000000ull

struct worker_feed {
	/* read per packet */
	_Alignas(64) uint8_t flow_feed[DRIVER_MAX_FLOWS]; /* feed index by flow, or NO_FEED */
	uint8_t flow_line[DRIVER_MAX_FLOWS]; /* enum mold_line by flow */
	uint16_t nfeeds;
	uint64_t unknown_flow; /* packets on a flow no feed owns */
	worker_md_fn on_md; /* market data events for a trading handler, or NULL */
	void *md_ctx;
	FILE *decoded;
	struct shm_stats_worker *st;
	struct wf_feed feeds[DRIVER_MAX_FLOWS];
	/* cold */
	unsigned int worker_id;
	int err; /* first decoded-file write error */
	char line[DECODED_LINE_MAX];
};

static void write_decoded(struct worker_feed *wf, uint64_t seq, const uint8_t *msg, uint16_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *p = core_put_u64(wf->line, seq);

	*p++ = ' ';
	for (uint16_t b = 0; b < len; b++) {
		*p++ = hex[msg[b] >> 4];
		*p++ = hex[msg[b] & 15];
	}
	*p++ = '\n';
	if (fwrite(wf->line, 1, (size_t)(p - wf->line), wf->decoded) != (size_t)(p - wf->line) &&
	    !wf->err)
		wf->err = -EIO;
}

static void on_message(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len)
{
	struct wf_feed *f = ctx;

	if (f->owner->decoded)
		write_decoded(f->owner, seq, msg, len);
	/* Refusals are counted in the feed's own stats; a bad message never stops the session. */
	(void)feed_itch_message(f->feed, msg, len);
}

static void on_gap_lost(void *ctx, uint64_t first_seq, uint64_t count)
{
	struct wf_feed *f = ctx;

	feed_gap_lost(f->feed, first_seq, count);
	f->stale = true;
}

static int send_request(void *ctx, const uint8_t *pkt, size_t len)
{
	struct wf_feed *f = ctx;

	f->asked = true;
	if (sendto(f->req_fd, pkt, len, MSG_DONTWAIT, (const struct sockaddr *)&f->req_to,
		   sizeof(f->req_to)) != (ssize_t)len)
		return -errno;
	return 0;
}

/* Answers of the request server, read on the tick only while a recovery may be waiting for
 * them (WF_ANSWER_LINGER_NS): a recv that finds nothing is still a syscall on the worker's core,
 * which its loop otherwise never makes. */
static int read_answers(struct wf_feed *f, uint64_t now_ns)
{
	uint8_t buf[2048];
	ssize_t n;
	int got = 0;

	f->answer_reads++;
	while ((n = recv(f->req_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		(void)mold_session_on_packet(f->mold, MOLD_LINE_RETRANS, buf, (size_t)n, now_ns);
		got++;
	}
	return got;
}

static void on_packets(void *ctx, struct pkt *pkts, uint16_t n, uint64_t now_tsc)
{
	struct worker_feed *wf = ctx;
	uint64_t now_ns = clock_cycles_to_ns(now_tsc);

	for (uint16_t i = 0; i < n; i++) {
		const struct pkt *p = &pkts[i];
		uint8_t fi = p->flow < DRIVER_MAX_FLOWS ? wf->flow_feed[p->flow] : NO_FEED;
		struct wf_feed *f;

		if (fi == NO_FEED) {
			wf->unknown_flow++;
			continue;
		}
		f = &wf->feeds[fi];
		f->feed->rx_tsc = p->rx_tsc;
		/* Malformed, foreign-session and late packets are counted by the session. */
		(void)mold_session_on_packet(f->mold, (enum mold_line)wf->flow_line[p->flow],
					     p->data, p->len, now_ns);
	}
}

static uint64_t feed_errors(const struct wf_feed *f)
{
	const struct mold_stats *ms = mold_session_stats(f->mold);
	const struct feed_stats *fs = &f->feed->st;
	uint64_t e = fs->bad_locate + fs->book_refused;

	for (int l = 0; l < MOLD_LINE_COUNT; l++)
		for (int r = 0; r < MOLD_MALFORMED_REASONS; r++)
			e += ms->line[l].malformed[r];
	for (int r = 1; r < ITCH_ERR_COUNT; r++)
		e += fs->itch.errors[r];
	return e;
}

/* Copies the sums into the stats block: a few dozen additions per tick, not per packet. */
static void publish(struct worker_feed *wf)
{
	struct shm_stats_worker *st = wf->st;
	uint64_t msgs = 0, lost = 0, errors = wf->unknown_flow, gaps = 0;
	uint32_t stale = 0;

	if (!st)
		return;
	for (uint16_t i = 0; i < wf->nfeeds; i++) {
		const struct wf_feed *f = &wf->feeds[i];
		const struct mold_stats *ms = mold_session_stats(f->mold);

		msgs += ms->delivered;
		lost += ms->lost_msgs;
		gaps += ms->gaps_lost;
		errors += feed_errors(f);
		stale += f->stale;
	}
	st->feed_messages = msgs;
	st->feed_lost_msgs = lost;
	st->feed_errors = errors;
	st->feed_gaps_lost = (uint32_t)gaps;
	st->feed_stale = stale;
}

static int on_timer(void *ctx, uint64_t now_tsc)
{
	struct worker_feed *wf = ctx;
	uint64_t now_ns = clock_cycles_to_ns(now_tsc);
	int work = 0;

	for (uint16_t i = 0; i < wf->nfeeds; i++) {
		struct wf_feed *f = &wf->feeds[i];
		if (f->asked) {
			f->asked = false;
			f->answers_until_ns = now_ns + WF_ANSWER_LINGER_NS;
		}
		if (f->req_fd >= 0 && now_ns < f->answers_until_ns)
			work += read_answers(f, now_ns);
		work += mold_session_poll(wf->feeds[i].mold, now_ns);
	}
	publish(wf);
	return work;
}

struct worker_feed *worker_feed_create(const struct worker_config *cfg, uint16_t index,
				       struct shm_stats_worker *st, char *err, size_t errlen)
{
	const struct worker_cfg *w = &cfg->workers[index];
	struct worker_feed *wf = aligned_alloc(64, sizeof(*wf));
	struct mold_cfg mc;

	if (!wf) {
		snprintf(err, errlen, "[worker.%u] handler feed: out of memory", w->id);
		return NULL;
	}
	memset(wf, 0, offsetof(struct worker_feed, line));
	memset(wf->flow_feed, NO_FEED, sizeof(wf->flow_feed));
	wf->st = st;
	wf->worker_id = w->id;
	mold_cfg_default(&mc);
	for (uint16_t i = 0; i < cfg->nfeeds; i++) {
		const struct worker_feed_cfg *fc = &cfg->feeds[i];
		const struct book_cfg bc = { .max_instruments = fc->max_instruments,
					     .max_orders = fc->max_orders,
					     .max_levels = fc->max_levels,
					     .price_step = fc->price_step };
		const struct mold_ops ops = { .on_message = on_message,
					      .on_gap_lost = on_gap_lost,
					      .send_request = fc->request_ip ? send_request
									     : NULL };
		struct wf_feed *f = &wf->feeds[i];

		f->req_fd = -1;
		if (fc->request_ip) {
			f->req_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			int rcvbuf = 4 << 20;
			if (f->req_fd < 0) {
				snprintf(err, errlen, "[feed.%s] request_server: socket: %s",
					 fc->name, strerror(errno));
				goto fail;
			}
			setsockopt(f->req_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
			f->req_to = (struct sockaddr_in){ .sin_family = AF_INET,
							  .sin_port = htons(fc->request_port),
							  .sin_addr.s_addr = fc->request_ip };
		}
		f->owner = wf;
		f->name = fc->name;
		f->index = i;
		f->feed = feed_create(&bc, NULL, NULL);
		if (!f->feed) {
			snprintf(err, errlen,
				 "[feed.%s]: cannot allocate books for %u instruments, %u orders, "
				 "%u levels: %s",
				 fc->name, fc->max_instruments, fc->max_orders, fc->max_levels,
				 strerror(errno));
			goto fail;
		}
		f->mold = mold_session_create(&mc, &ops, f);
		if (!f->mold) {
			snprintf(err, errlen, "[feed.%s]: MoldUDP64 session: %s", fc->name,
				 strerror(errno));
			goto fail;
		}
		wf->nfeeds++;
		wf->flow_feed[fc->flow_a] = (uint8_t)i;
		wf->flow_line[fc->flow_a] = MOLD_LINE_A;
		if (fc->flow_b != WORKER_NO_FLOW) {
			wf->flow_feed[fc->flow_b] = (uint8_t)i;
			wf->flow_line[fc->flow_b] = MOLD_LINE_B;
		}
	}
	if (w->decoded_file) {
		wf->decoded = fopen(w->decoded_file, "we");
		if (!wf->decoded) {
			snprintf(err, errlen, "[worker.%u] decoded_file %s: %s", w->id,
				 w->decoded_file, strerror(errno));
			goto fail;
		}
		/* A large buffer keeps the worker out of write() for all but every megabyte. */
		setvbuf(wf->decoded, NULL, _IOFBF, 1 << 20);
	}
	return wf;
fail:
	/* The feed of a failed iteration is not counted in nfeeds yet. */
	if (wf->nfeeds < cfg->nfeeds) {
		feed_destroy(wf->feeds[wf->nfeeds].feed);
		if (wf->feeds[wf->nfeeds].req_fd >= 0)
			close(wf->feeds[wf->nfeeds].req_fd);
	}
	worker_feed_destroy(wf);
	return NULL;
}

static void forward_md(void *ctx, const struct md_event *ev)
{
	struct wf_feed *f = ctx;

	f->owner->on_md(f->owner->md_ctx, f->index, ev);
}

void worker_feed_set_md(struct worker_feed *wf, worker_md_fn fn, void *ctx)
{
	wf->on_md = fn;
	wf->md_ctx = ctx;
	for (uint16_t i = 0; i < wf->nfeeds; i++) {
		wf->feeds[i].feed->on_md = fn ? forward_md : NULL;
		wf->feeds[i].feed->ctx = &wf->feeds[i];
	}
}

int worker_feed_find(const struct worker_feed *wf, const char *name)
{
	for (uint16_t i = 0; i < wf->nfeeds; i++)
		if (strcmp(wf->feeds[i].name, name) == 0)
			return i;
	return -1;
}

void worker_feed_handler(struct worker_feed *wf, struct worker_handler *h)
{
	memset(h, 0, sizeof(*h));
	h->on_packets = on_packets;
	h->on_timer = on_timer;
	h->ctx = wf;
}

int worker_feed_finish(struct worker_feed *wf)
{
	int rc;

	if (!wf)
		return 0;
	publish(wf);
	if (!wf->decoded)
		return 0;
	for (uint16_t i = 0; i < wf->nfeeds; i++) {
		fprintf(wf->decoded, "feed %s\n", wf->feeds[i].name);
		rc = worker_books_print(wf->feeds[i].feed->books, wf->decoded);
		if (rc && !wf->err)
			wf->err = rc;
	}
	if (fflush(wf->decoded) && !wf->err)
		wf->err = -errno;
	return wf->err;
}

void worker_feed_summary(const struct worker_feed *wf, FILE *out)
{
	for (uint16_t i = 0; wf && i < wf->nfeeds; i++) {
		const struct wf_feed *f = &wf->feeds[i];
		const struct mold_stats *ms = mold_session_stats(f->mold);
		const struct feed_stats *fs = &f->feed->st;
		uint64_t itch_errors = 0;

		for (int r = 1; r < ITCH_ERR_COUNT; r++)
			itch_errors += fs->itch.errors[r];
		fprintf(out,
			"feed %s worker %u delivered %" PRIu64 " sessions %" PRIu64
			" gaps_opened %" PRIu64 " gaps_recovered %" PRIu64 " gaps_lost %" PRIu64
			" lost_msgs %" PRIu64 " window_full_drops %" PRIu64 " itch_errors %" PRIu64
			" bad_locate %" PRIu64 " book_refused %" PRIu64
			" live_orders %u stale %d\n",
			f->name, wf->worker_id, ms->delivered, ms->sessions, ms->gaps_opened,
			ms->gaps_recovered, ms->gaps_lost, ms->lost_msgs, ms->window_full_drops,
			itch_errors, fs->bad_locate, fs->book_refused,
			book_order_count(f->feed->books), f->stale);
		for (int l = 0; l < MOLD_LINE_COUNT; l++) {
			const struct mold_line_stats *ls = &ms->line[l];
			uint64_t malformed = 0;

			for (int r = 0; r < MOLD_MALFORMED_REASONS; r++)
				malformed += ls->malformed[r];
			if (!ls->packets)
				continue;
			fprintf(out,
				"feed %s worker %u line %s packets %" PRIu64 " messages %" PRIu64
				" delivered %" PRIu64 " duplicates %" PRIu64 " heartbeats %" PRIu64
				" gaps %" PRIu64 " gap_msgs %" PRIu64 " wrong_session %" PRIu64
				" after_eos %" PRIu64 " malformed %" PRIu64 "\n",
				f->name, wf->worker_id, mold_line_name((enum mold_line)l),
				ls->packets, ls->messages, ls->delivered, ls->duplicates,
				ls->heartbeats, ls->gaps, ls->gap_msgs, ls->wrong_session,
				ls->after_eos, malformed);
		}
	}
	if (wf && wf->unknown_flow)
		fprintf(out, "feed - worker %u unknown_flow %" PRIu64 "\n", wf->worker_id,
			wf->unknown_flow);
}

void worker_feed_destroy(struct worker_feed *wf)
{
	if (!wf)
		return;
	for (uint16_t i = 0; i < wf->nfeeds; i++) {
		mold_session_destroy(wf->feeds[i].mold);
		feed_destroy(wf->feeds[i].feed);
		if (wf->feeds[i].req_fd >= 0)
			close(wf->feeds[i].req_fd);
	}
	if (wf->decoded)
		fclose(wf->decoded);
	free(wf);
}

struct feed *worker_feed_feed(struct worker_feed *wf, uint16_t i)
{
	return wf && i < wf->nfeeds ? wf->feeds[i].feed : NULL;
}

uint64_t worker_feed_answer_reads(const struct worker_feed *wf, uint16_t i)
{
	return wf && i < wf->nfeeds ? wf->feeds[i].answer_reads : 0;
}

const struct mold_stats *worker_feed_mold_stats(const struct worker_feed *wf, uint16_t i)
{
	return wf && i < wf->nfeeds ? mold_session_stats(wf->feeds[i].mold) : NULL;
}
