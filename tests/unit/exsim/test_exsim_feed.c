/*
 * tradsys-exsim market data, end to end over real UDP: the ITCH it publishes, decoded by our
 * MoldUDP64 session and feed handler into books, equals the engine's own books (BBO per
 * instrument and resting order count) after background flow and order entry including both
 * kinds of replace; packet loss on a line is recovered through the re-request server; A/B
 * arbitration drops the duplicates; heartbeats and end of session arrive; replay mode
 * publishes a file's messages unchanged.
 */
#include "exsim_test.h"
#include "feed.h"
#include "itch.h"
#include "mold.h"

#define SESSIONS "[session.alice]\npassword = wonderland\nfirm = ALIC\n"

struct rx {
	struct mold_session *mold;
	struct feed *feed;
	int req_fd; /* requests go out and answers come back here */
	struct sockaddr_in req_to;
	int line_b_fd;
	uint64_t delivered, eos, heartbeats_seen, last_seq;
	bool in_order;
	/* replay test: the messages as received */
	uint8_t *copy;
	size_t copy_len, copy_cap;
};

static struct venue v;

static void teardown(void)
{
	venue_cleanup(&v);
}

TestSuite(exsim_feed, .fini = teardown, .timeout = 90);

static void on_message(void *ctx, uint64_t seq, const uint8_t *msg, uint16_t len)
{
	struct rx *r = ctx;

	r->in_order &= seq == r->last_seq + 1;
	r->last_seq = seq;
	r->delivered++;
	feed_itch_message(r->feed, msg, len);
	if (r->copy) {
		cr_assert(r->copy_len + 2 + len <= r->copy_cap);
		r->copy[r->copy_len++] = (uint8_t)(len >> 8);
		r->copy[r->copy_len++] = (uint8_t)len;
		memcpy(r->copy + r->copy_len, msg, len);
		r->copy_len += len;
	}
}

static void on_eos(void *ctx)
{
	((struct rx *)ctx)->eos++;
}

static int send_request(void *ctx, const uint8_t *pkt, size_t len)
{
	struct rx *r = ctx;

	return sendto(r->req_fd, pkt, len, 0, (struct sockaddr *)&r->req_to, sizeof(r->req_to)) ==
			       (ssize_t)len
		       ? 0
		       : -errno;
}

static void rx_open(struct rx *r, int line_b_fd)
{
	struct mold_cfg mc;
	struct mold_ops ops = { .on_message = on_message,
				.on_end_of_session = on_eos,
				.send_request = send_request };
	struct book_cfg bc = { .max_instruments = 16, .max_orders = 200000, .max_levels = 4096 };
	uint16_t port;

	memset(r, 0, sizeof(*r));
	r->in_order = true;
	r->line_b_fd = line_b_fd;
	mold_cfg_default(&mc);
	mc.window = 1 << 16;
	mc.arena_bytes = 64u << 20;
	mc.retry_interval_ns = 20000000;
	mc.max_retries = 20;
	r->mold = mold_session_create(&mc, &ops, r);
	r->feed = feed_create(&bc, NULL, NULL);
	cr_assert(r->mold && r->feed);
	r->req_fd = udp_bound(&port);
	r->req_to = (struct sockaddr_in){ .sin_family = AF_INET,
					  .sin_port = htons(v.req_port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

static void rx_close(struct rx *r)
{
	mold_session_destroy(r->mold);
	feed_destroy(r->feed);
	close(r->req_fd);
	free(r->copy);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Receives for ms milliseconds (or until end of session when ms is 0, up to 20 s). */
static void rx_run(struct rx *r, int ms)
{
	uint64_t end = t_now_ms() + (ms ? (uint64_t)ms : 20000);
	uint8_t buf[2048];

	while (t_now_ms() < end && !(ms == 0 && r->eos)) {
		struct pollfd p[3] = { { .fd = v.feed_fd, .events = POLLIN },
				       { .fd = r->req_fd, .events = POLLIN },
				       { .fd = r->line_b_fd > 0 ? r->line_b_fd : -1,
					 .events = POLLIN } };
		poll(p, 3, 5);
		for (int i = 0; i < 3; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			ssize_t n;
			while ((n = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
				enum mold_line line = i == 0   ? MOLD_LINE_A
						      : i == 1 ? MOLD_LINE_RETRANS
							       : MOLD_LINE_B;
				if (n == MOLD_HEADER_LEN && buf[18] == 0 && buf[19] == 0)
					r->heartbeats_seen++;
				mold_session_on_packet(r->mold, line, buf, (size_t)n, mono_ns());
			}
		}
		mold_session_poll(r->mold, mono_ns());
	}
}

static void books_equal_engine(struct rx *r)
{
	static const char *syms[] = { "AAPL", "MSFT" };

	for (uint32_t i = 0; i < 2; i++) {
		struct book_bbo b;
		char want[160], cmd[32];

		book_bbo(r->feed->books, i + 1, &b); /* exsim's locates start at 1 */
		snprintf(want, sizeof(want), "ok bid=%ld bid_qty=%ld ask=%ld ask_qty=%ld",
			 (long)b.bid_px, (long)b.bid_qty, (long)b.ask_px, (long)b.ask_qty);
		snprintf(cmd, sizeof(cmd), "bbo %s", syms[i]);
		cr_assert_str_eq(venue_control(&v, cmd), want, "%s: feed book vs engine", syms[i]);
	}
	char want[32];
	snprintf(want, sizeof(want), "ok %u", book_order_count(r->feed->books));
	cr_assert_str_eq(venue_control(&v, "orders"), want, "resting orders: engine vs feed");
	cr_assert_eq(r->feed->st.book_refused, 0, "every book operation applied");
	cr_assert_eq(r->feed->st.itch.errors[0] + r->feed->st.itch.errors[1] +
			     r->feed->st.itch.errors[2],
		     0);
}

static void replace(struct client *c, const char *old, const char *new, uint32_t shares,
		    uint32_t price)
{
	struct ouch_replace_order m;

	memset(&m, ' ', sizeof(m));
	m.type = OUCH_REPLACE_ORDER;
	t_put_text(m.existing, OUCH_TOKEN_LEN, old);
	t_put_text(m.replacement, OUCH_TOKEN_LEN, new);
	ouch_put32(m.shares, shares);
	ouch_put32(m.price, price);
	ouch_put32(m.tif, OUCH_TIF_MARKET_HOURS);
	m.display = 'Y';
	m.iso = 'N';
	ouch_put32(m.min_qty, 0);
	client_send(c, SOUP_UNSEQUENCED, &m, sizeof(m));
}

/* Stops the flow, ends the session and drains the feed to the end of session. */
static void finish(struct rx *r)
{
	cr_assert_str_eq(venue_control(&v, "flow off"), "ok");
	cr_assert_str_eq(venue_control(&v, "end"), "ok");
	rx_run(r, 0);
	cr_assert_eq(r->eos, 1, "end of session delivered");
	cr_assert(r->in_order, "messages delivered in sequence");
}

Test(exsim_feed, published_books_equal_the_engine)
{
	struct rx r;
	struct client c;
	uint8_t m[256];
	uint64_t next;

	venue_start(&v, SESSIONS,
		    "[flow]\nmode = synthetic\nrate = 20000\ncross_pct = 10\ncancel_pct = 40\n");
	rx_open(&r, -1);
	rx_run(&r, 500);
	/* Our own orders, with a replace that keeps priority and one that moves and trades. */
	cr_assert_eq(client_login(&c, v.ouch_port, "alice", "wonderland", 0, &next),
		     SOUP_LOGIN_ACCEPTED);
	enter_order(&c, "M1", 'B', 1000, "AAPL", 1000000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&c, m, 2000);
	replace(&c, "M1", "M2", 600, 1000000); /* same price, fewer shares: keeps priority */
	cr_assert_eq(client_ouch(&c, m, 2000), sizeof(struct ouch_replaced));
	replace(&c, "M2", "M3", 700, 1000100); /* new price: loses it */
	cr_assert_eq(client_ouch(&c, m, 2000), sizeof(struct ouch_replaced));
	enter_order(&c, "M4", 'S', 300, "MSFT", 9000000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&c, m, 2000);
	replace(&c, "M4", "M5", 300, 1000000); /* crosses MSFT's bids: trades on entry */
	cr_assert_eq(client_ouch(&c, m, 2000), sizeof(struct ouch_replaced));
	rx_run(&r, 1000);
	client_close(&c);
	finish(&r);
	const struct mold_stats *ms = mold_session_stats(r.mold);
	cr_assert_gt(r.delivered, 10000, "delivered %lu", (unsigned long)r.delivered);
	cr_assert_eq(ms->lost_msgs, 0);
	books_equal_engine(&r);
	cr_assert_gt(r.feed->st.itch.msgs['E'], 0, "the flow traded");
	cr_assert_gt(r.feed->st.itch.msgs['U'] + r.feed->st.itch.msgs['X'], 0);
	rx_close(&r);
}

Test(exsim_feed, loss_is_recovered_through_the_request_server)
{
	struct rx r;

	venue_start(&v, SESSIONS,
		    "[flow]\nmode = synthetic\nrate = 20000\n"
		    "[fault.a]\ndrop = 0.05\nreorder = 0.05\nburst_every = 200\nburst_len = 5\n");
	rx_open(&r, -1);
	rx_run(&r, 2000);
	finish(&r);
	const struct mold_stats *ms = mold_session_stats(r.mold);
	cr_assert_gt(ms->gaps_opened, 5, "faults made gaps (%lu)", (unsigned long)ms->gaps_opened);
	cr_assert_gt(ms->requests_sent, 0);
	cr_assert_eq(ms->lost_msgs, 0, "every gap recovered");
	cr_assert_gt(ms->line[MOLD_LINE_RETRANS].delivered, 0);
	cr_assert(strstr(venue_control(&v, "stats"), "\"retrans_messages\":"));
	books_equal_engine(&r);
	rx_close(&r);
}

Test(exsim_feed, a_b_arbitration_drops_duplicates)
{
	struct rx r;
	uint16_t bport;
	int bfd = udp_bound(&bport);
	char extra[512];

	snprintf(extra, sizeof(extra),
		 "[itch]\nline_b = 127.0.0.1:%u\n[flow]\nmode = synthetic\nrate = 10000\n"
		 "[fault.a]\ndrop = 0.1\n[fault.b]\ndrop = 0.1\ndup = 0.1\n",
		 bport);
	venue_start(&v, SESSIONS, extra);
	rx_open(&r, bfd);
	rx_run(&r, 1500);
	finish(&r);
	const struct mold_stats *ms = mold_session_stats(r.mold);
	cr_assert_gt(ms->line[MOLD_LINE_A].delivered, 0);
	cr_assert_gt(ms->line[MOLD_LINE_B].delivered, 0, "B fills A's losses");
	cr_assert_gt(ms->line[MOLD_LINE_B].duplicates, 0);
	cr_assert_gt(ms->line[MOLD_LINE_A].gaps, 0);
	cr_assert_eq(ms->lost_msgs, 0);
	books_equal_engine(&r);
	rx_close(&r);
	close(bfd);
}

Test(exsim_feed, heartbeats_when_idle)
{
	struct rx r;

	venue_start(&v, SESSIONS, NULL);
	rx_open(&r, -1);
	rx_run(&r, 1000);
	cr_assert_geq(r.heartbeats_seen, 5, "heartbeat_ms = 100 gives about 10 a second");
	/* start of day: S O, 2 x (R, H), S S, S Q */
	cr_assert_eq(r.delivered, 7);
	cr_assert_eq(r.feed->st.itch.msgs['R'], 2);
	cr_assert_eq(book_known_instruments(r.feed->books), 2);
	cr_assert_eq(book_instrument(r.feed->books, 1)->trading_state, 'T');
	cr_assert_str_eq(book_instrument(r.feed->books, 2)->symbol, "MSFT");
	finish(&r);
	rx_close(&r);
}

Test(exsim_feed, replay_publishes_the_file_unchanged)
{
	struct rx r;
	char extra[1024], path[512], cmd[2048];
	const char *build = getenv("TRADSYS_BUILD_ROOT");

	/* A generated day in Nasdaq's file framing, from tradsys-itch. */
	cr_assert(build);
	snprintf(path, sizeof(path), "/tmp/tradsys-exsim-replay-%d.itch", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "'%s/tools/itch/tradsys-itch' gen --messages 3000 --symbols 7 --seed 5 -o '%s' "
		 ">/dev/null",
		 build, path);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(extra, sizeof(extra), "[flow]\nmode = replay\nreplay_file = %s\nreplay_rate = 0\n",
		 path);
	venue_start(&v, SESSIONS, extra);
	rx_open(&r, -1);
	r.copy_cap = 1 << 20;
	r.copy = malloc(r.copy_cap);
	rx_run(&r, 1000);

	FILE *f = fopen(path, "rb");
	cr_assert(f);
	static uint8_t file[1 << 20];
	size_t n = fread(file, 1, sizeof(file), f);
	fclose(f);
	unlink(path);
	/* What arrived: exsim's start of day (7 messages), then the file, byte for byte. */
	size_t off = 0;
	const uint8_t *msg;
	uint16_t len;
	for (int i = 0; i < 7; i++)
		cr_assert_eq(itch_file_next(r.copy, r.copy_len, &off, &msg, &len), 1);
	cr_assert_eq(r.copy_len - off, n, "replayed bytes");
	cr_assert_eq(memcmp(r.copy + off, file, n), 0);
	cr_assert_eq(r.delivered, 7 + 3000);
	finish(&r);
	rx_close(&r);
}
