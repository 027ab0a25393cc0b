/*
 * tradsys-exsim order entry, end to end over real TCP: SoupBinTCP login (good, bad password,
 * unknown user, second login), OUCH order types against the engine with executions on both
 * sides, rejects with reasons, cancel and replace, replay from a sequence number, heartbeats
 * and the timeout, logout, the disconnect fault, garbled input, broken trades, and the records
 * file.
 */
#include "exsim_test.h"

#define SESSIONS                                                                     \
	"[session.alice]\npassword = wonderland\nfirm = ALIC\n"                      \
	"[session.bob]\npassword = builder123\nfirm = BOBF\n"                        \
	"[session.carol]\npassword = carolpass\nfirm = ALIC\ndisconnect_after = 3\n" \
	"[session.dave]\npassword = davepass\nfirm = DAVE\ncancel_on_disconnect = true\n"

static struct venue v;

static void setup(void)
{
	venue_start(&v, SESSIONS, NULL);
}

static void teardown(void)
{
	venue_cleanup(&v);
}

TestSuite(exsim_ouch, .init = setup, .fini = teardown, .timeout = 60);

static void login_ok(struct client *c, const char *user, const char *pass)
{
	uint64_t next = 0;
	uint8_t m[256];

	cr_assert_eq(client_login(c, v.ouch_port, user, pass, 0, &next), SOUP_LOGIN_ACCEPTED);
	(void)m;
}

/* Logs in from the start of the stream and consumes the start-of-day system event. */
static void login_start(struct client *c, const char *user, const char *pass)
{
	uint64_t next = 0;
	uint8_t m[256];

	cr_assert_eq(client_login(c, v.ouch_port, user, pass, 1, &next), SOUP_LOGIN_ACCEPTED);
	cr_assert_eq(next, 1);
	client_ouch(c, m, 2000);
	cr_assert_eq(m[0], OUCH_SYSTEM_EVENT);
	cr_assert_eq(((struct ouch_system_event *)m)->event, 'S');
}

Test(exsim_ouch, login_rejections)
{
	struct client c;
	uint64_t why = 0;

	cr_assert_eq(client_login(&c, v.ouch_port, "alice", "wrong", 0, &why), SOUP_LOGIN_REJECTED);
	cr_assert_eq(why, 'A');
	client_close(&c);
	cr_assert_eq(client_login(&c, v.ouch_port, "mallor", "wonderland", 0, &why),
		     SOUP_LOGIN_REJECTED);
	cr_assert_eq(why, 'A');
	client_close(&c);

	struct client a;
	login_ok(&a, "alice", "wonderland");
	cr_assert_eq(client_login(&c, v.ouch_port, "alice", "wonderland", 0, &why),
		     SOUP_LOGIN_REJECTED, "a second login to a session in use");
	cr_assert_eq(why, 'S');
	client_close(&c);
	client_close(&a);
	cr_assert(strstr(venue_control(&v, "stats"), "\"login_rejects\":3"));
}

Test(exsim_ouch, cross_executes_both_sides_with_one_match_number)
{
	struct client a, b;
	uint8_t m[256];

	login_start(&a, "alice", "wonderland");
	login_start(&b, "bob", "builder123");
	enter_order(&a, "A1", 'B', 300, "AAPL", 1500000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_accepted));
	struct ouch_accepted *acc = (void *)m;
	cr_assert_eq(acc->type, OUCH_ACCEPTED);
	token_is(acc->token, "A1");
	cr_assert_eq(ouch_get32(acc->shares), 300);
	cr_assert_eq(ouch_get32(acc->price), 1500000);
	cr_assert_eq(acc->state, 'L');
	uint64_t ref = ouch_get64(acc->order_ref);
	cr_assert(ref > 0);

	enter_order(&b, "B1", 'S', 100, "AAPL", 1490000, OUCH_TIF_IOC, 0, 'Y');
	cr_assert_eq(client_ouch(&b, m, 2000), sizeof(struct ouch_accepted));
	cr_assert_eq(client_ouch(&b, m, 2000), sizeof(struct ouch_executed));
	struct ouch_executed eb = *(struct ouch_executed *)m;
	token_is(eb.token, "B1");
	cr_assert_eq(ouch_get32(eb.shares), 100);
	cr_assert_eq(ouch_get32(eb.price), 1500000, "trades at the resting order's price");
	cr_assert_eq(eb.liquidity, 'R');

	cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_executed));
	struct ouch_executed ea = *(struct ouch_executed *)m;
	token_is(ea.token, "A1");
	cr_assert_eq(ouch_get32(ea.shares), 100);
	cr_assert_eq(ea.liquidity, 'A');
	cr_assert_eq(ouch_get64(ea.match), ouch_get64(eb.match));

	cr_assert_str_eq(venue_control(&v, "bbo AAPL"),
			 "ok bid=1500000 bid_qty=200 ask=0 ask_qty=0");

	/* A second IOC for more than rests: executes 200, the rest is canceled as IOC. */
	enter_order(&b, "B2", 'S', 500, "AAPL", 1500000, OUCH_TIF_IOC, 0, 'Y');
	cr_assert_eq(client_ouch(&b, m, 2000), sizeof(struct ouch_accepted));
	cr_assert_eq(client_ouch(&b, m, 2000), sizeof(struct ouch_executed));
	cr_assert_eq(ouch_get32(((struct ouch_executed *)m)->shares), 200);
	cr_assert_eq(client_ouch(&b, m, 2000), sizeof(struct ouch_canceled));
	cr_assert_eq(ouch_get32(((struct ouch_canceled *)m)->decrement), 300);
	cr_assert_eq(((struct ouch_canceled *)m)->reason, 'I');

	/* Breaking the first trade reaches both sides. */
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "break %lu", (unsigned long)ouch_get64(ea.match));
	cr_assert_str_eq(venue_control(&v, cmd), "ok");
	cr_assert_eq(client_ouch(&b, m, 2000), sizeof(struct ouch_broken_trade));
	token_is(((struct ouch_broken_trade *)m)->token, "B1");
	client_ouch(&a, m, 2000); /* A1's second execution */
	cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_broken_trade));
	cr_assert_eq(ouch_get64(((struct ouch_broken_trade *)m)->match), ouch_get64(ea.match));
	client_close(&a);
	client_close(&b);
}

Test(exsim_ouch, rejects_name_their_reason)
{
	struct client a;
	uint8_t m[256];
	static const struct {
		const char *stock;
		uint32_t shares, price, min_qty;
		char reason;
	} cases[] = {
		{ "ZZZZ", 100, 1000000, 0, 'S' }, /* unknown stock */
		{ "AAPL", 100, 1000050, 0, 'X' }, /* not on the 0.01 tick */
		{ "AAPL", 0, 1000000, 0, 'Z' }, /* no shares */
		{ "AAPL", 2000000, 1000000, 0, 'Z' }, /* above the safety threshold */
		{ "AAPL", 100, 1000000, 200, 'N' }, /* minimum above the order */
	};

	login_start(&a, "alice", "wonderland");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char tok[16];
		snprintf(tok, sizeof(tok), "R%zu", i);
		enter_order(&a, tok, 'B', cases[i].shares, cases[i].stock, cases[i].price,
			    OUCH_TIF_MARKET_HOURS, cases[i].min_qty, 'Y');
		cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_rejected));
		token_is(((struct ouch_rejected *)m)->token, tok);
		cr_assert_eq(((struct ouch_rejected *)m)->reason, cases[i].reason, "case %zu", i);
	}
	/* Halted instrument. */
	cr_assert_str_eq(venue_control(&v, "halt MSFT"), "ok");
	enter_order(&a, "H1", 'B', 100, "MSFT", 3000000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&a, m, 2000);
	cr_assert_eq(((struct ouch_rejected *)m)->reason, 'H');
	cr_assert_str_eq(venue_control(&v, "resume MSFT"), "ok");
	/* Post-only that would cross: the engine refuses it. */
	enter_order(&a, "P0", 'S', 100, "MSFT", 3000000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_accepted));
	enter_order(&a, "P1", 'B', 100, "MSFT", 3000000, OUCH_TIF_MARKET_HOURS, 0, 'P');
	cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_rejected));
	token_is(((struct ouch_rejected *)m)->token, "P1");
	client_close(&a);
}

Test(exsim_ouch, self_trade_prevention_and_fok)
{
	struct client a, c;
	uint8_t m[256];

	/* alice and carol share firm ALIC: carol's crossing order is canceled, alice's rests. */
	login_start(&a, "alice", "wonderland");
	enter_order(&a, "S1", 'S', 100, "AAPL", 1510000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&a, m, 2000);
	login_start(&c, "carol", "carolpass");
	enter_order(&c, "C1", 'B', 100, "AAPL", 1510000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	cr_assert_eq(client_ouch(&c, m, 2000), sizeof(struct ouch_accepted));
	cr_assert_eq(client_ouch(&c, m, 2000), sizeof(struct ouch_canceled));
	cr_assert_eq(((struct ouch_canceled *)m)->reason, 'Q');
	cr_assert_str_eq(venue_control(&v, "bbo AAPL"),
			 "ok bid=0 bid_qty=0 ask=1510000 ask_qty=100");
	client_close(&c);

	/* FOK (IOC with min_qty = shares) for more than rests: canceled whole, nothing trades. */
	struct client b;
	login_start(&b, "bob", "builder123");
	enter_order(&b, "F1", 'B', 200, "AAPL", 1510000, OUCH_TIF_IOC, 200, 'Y');
	cr_assert_eq(client_ouch(&b, m, 2000), sizeof(struct ouch_accepted));
	cr_assert_eq(client_ouch(&b, m, 2000), sizeof(struct ouch_canceled));
	cr_assert_eq(ouch_get32(((struct ouch_canceled *)m)->decrement), 200);
	cr_assert_str_eq(venue_control(&v, "bbo AAPL"),
			 "ok bid=0 bid_qty=0 ask=1510000 ask_qty=100");
	client_close(&a);
	client_close(&b);
}

Test(exsim_ouch, cancel_and_replace)
{
	struct client a;
	uint8_t m[256];

	login_start(&a, "alice", "wonderland");
	enter_order(&a, "O1", 'B', 500, "MSFT", 2990000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&a, m, 2000);

	struct ouch_cancel_order x;
	x.type = OUCH_CANCEL_ORDER;
	t_put_text(x.token, OUCH_TOKEN_LEN, "O1");
	ouch_put32(x.shares, 200); /* reduce to 200 */
	client_send(&a, SOUP_UNSEQUENCED, &x, sizeof(x));
	cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_canceled));
	cr_assert_eq(ouch_get32(((struct ouch_canceled *)m)->decrement), 300);
	cr_assert_eq(((struct ouch_canceled *)m)->reason, 'U');

	struct ouch_replace_order r;
	memset(&r, ' ', sizeof(r));
	r.type = OUCH_REPLACE_ORDER;
	t_put_text(r.existing, OUCH_TOKEN_LEN, "O1");
	t_put_text(r.replacement, OUCH_TOKEN_LEN, "O2");
	ouch_put32(r.shares, 400);
	ouch_put32(r.price, 2995000);
	ouch_put32(r.tif, OUCH_TIF_MARKET_HOURS);
	r.display = 'Y';
	r.iso = 'N';
	ouch_put32(r.min_qty, 0);
	client_send(&a, SOUP_UNSEQUENCED, &r, sizeof(r));
	cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_replaced));
	struct ouch_replaced *rp = (void *)m;
	token_is(rp->replacement, "O2");
	token_is(rp->previous, "O1");
	cr_assert_eq(ouch_get32(rp->shares), 400);
	cr_assert_eq(ouch_get32(rp->price), 2995000);
	cr_assert_str_eq(venue_control(&v, "bbo MSFT"),
			 "ok bid=2995000 bid_qty=400 ask=0 ask_qty=0");

	/* The old token is gone: canceling it is ignored; the new one cancels in full. */
	client_send(&a, SOUP_UNSEQUENCED, &x, sizeof(x));
	t_put_text(x.token, OUCH_TOKEN_LEN, "O2");
	ouch_put32(x.shares, 0);
	client_send(&a, SOUP_UNSEQUENCED, &x, sizeof(x));
	cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_canceled));
	token_is(((struct ouch_canceled *)m)->token, "O2");
	cr_assert_eq(ouch_get32(((struct ouch_canceled *)m)->decrement), 400);
	cr_assert_str_eq(venue_control(&v, "bbo MSFT"), "ok bid=0 bid_qty=0 ask=0 ask_qty=0");

	/* A duplicate token of a live order is ignored (no answer), a fresh one is accepted. */
	enter_order(&a, "D1", 'B', 100, "MSFT", 2900000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&a, m, 2000);
	enter_order(&a, "D1", 'B', 100, "MSFT", 2900000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	enter_order(&a, "D2", 'B', 100, "MSFT", 2900000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_accepted));
	token_is(((struct ouch_accepted *)m)->token, "D2");
	client_close(&a);
}

Test(exsim_ouch, replay_from_a_sequence_number)
{
	struct client a;
	uint8_t m[256], first[16][256];
	size_t lens[16];
	uint64_t next = 0;

	login_start(&a, "alice", "wonderland");
	for (int i = 0; i < 5; i++) {
		char tok[8];
		snprintf(tok, sizeof(tok), "Q%d", i);
		enter_order(&a, tok, 'S', 100, "AAPL", 1600000 + (uint32_t)i * 100,
			    OUCH_TIF_MARKET_HOURS, 0, 'Y');
		lens[i] = client_ouch(&a, first[i], 2000);
	}
	client_close(&a);
	/* Sequence 1 was the system event; ask again from 3: orders 1..4 come back identical. */
	cr_assert_eq(client_login(&a, v.ouch_port, "alice", "wonderland", 3, &next),
		     SOUP_LOGIN_ACCEPTED);
	cr_assert_eq(next, 3);
	for (int i = 1; i < 5; i++) {
		size_t n = client_ouch(&a, m, 2000);
		cr_assert_eq(n, lens[i]);
		cr_assert_eq(memcmp(m, first[i], n), 0, "replayed message %d differs", i);
	}
	client_close(&a);
	/* Asking for 0 means "from now": nothing is replayed, next is 7. */
	cr_assert_eq(client_login(&a, v.ouch_port, "alice", "wonderland", 0, &next),
		     SOUP_LOGIN_ACCEPTED);
	cr_assert_eq(next, 7);
	struct soup_frame f;
	cr_assert_eq(client_next(&a, &f, m, 300, false), 0, "nothing should be replayed");
	client_close(&a);
}

Test(exsim_ouch, logout_and_garbled_input)
{
	struct client a;
	uint8_t m[256];
	struct soup_frame f;

	login_start(&a, "alice", "wonderland");
	/* A valid SoupBinTCP packet holding a bad OUCH message: counted, session stays up. */
	uint8_t junk[5] = { OUCH_ENTER_ORDER, 1, 2, 3, 4 };
	client_send(&a, SOUP_UNSEQUENCED, junk, sizeof(junk));
	enter_order(&a, "G1", 'B', 100, "AAPL", 1400000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	cr_assert_eq(client_ouch(&a, m, 2000), sizeof(struct ouch_accepted));
	cr_assert(strstr(venue_control(&v, "stats"), "\"bad\":1,"));
	client_send(&a, SOUP_LOGOUT_REQUEST, NULL, 0);
	cr_assert_eq(client_next(&a, &f, m, 2000, false), -1, "logout closes the connection");
	client_close(&a);

	/* A packet type no client sends: SoupBinTCP cannot resynchronise, so the server drops it. */
	login_ok(&a, "alice", "wonderland");
	uint8_t bad[3] = { 0, 1, 'Q' };
	cr_assert(send(a.fd, bad, sizeof(bad), 0) == 3);
	cr_assert_eq(client_next(&a, &f, m, 2000, false), -1);
	client_close(&a);
	/* Anything before a login also closes it. */
	client_connect(&a, v.ouch_port);
	client_send(&a, SOUP_CLIENT_HEARTBEAT, NULL, 0);
	cr_assert_eq(client_next(&a, &f, m, 2000, false), -1);
	client_close(&a);
}

Test(exsim_ouch, disconnect_fault_then_replay_loses_nothing)
{
	struct client c;
	uint8_t m[256];
	struct soup_frame f;
	uint64_t next;

	/* carol is dropped after 3 sequenced messages: system event + 2 accepts. */
	login_start(&c, "carol", "carolpass");
	enter_order(&c, "K1", 'B', 100, "AAPL", 1000000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	enter_order(&c, "K2", 'B', 100, "AAPL", 1000100, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&c, m, 2000);
	client_ouch(&c, m, 2000);
	cr_assert_eq(client_next(&c, &f, m, 2000, false), -1, "the fault drops the connection");
	client_close(&c);
	cr_assert_eq(client_login(&c, v.ouch_port, "carol", "carolpass", 2, &next),
		     SOUP_LOGIN_ACCEPTED);
	client_ouch(&c, m, 2000);
	token_is(((struct ouch_accepted *)m)->token, "K1");
	client_ouch(&c, m, 2000);
	token_is(((struct ouch_accepted *)m)->token, "K2");
	enter_order(&c, "K3", 'B', 100, "AAPL", 1000200, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&c, m, 2000);
	token_is(((struct ouch_accepted *)m)->token, "K3");
	client_close(&c);
	cr_assert(strstr(venue_control(&v, "stats"), "\"fault_disconnects\":1,"));
}

Test(exsim_ouch, cancel_on_disconnect)
{
	struct client d;
	uint8_t m[256];
	uint64_t next;

	login_start(&d, "dave", "davepass");
	enter_order(&d, "V1", 'B', 100, "MSFT", 2900000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	enter_order(&d, "V2", 'S', 200, "MSFT", 3100000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&d, m, 2000);
	client_ouch(&d, m, 2000);
	cr_assert_str_eq(venue_control(&v, "bbo MSFT"),
			 "ok bid=2900000 bid_qty=100 ask=3100000 ask_qty=200");
	client_close(&d);
	/* The venue pulls both orders when the connection drops ... */
	for (int i = 0;
	     i < 100 && strcmp(venue_control(&v, "bbo MSFT"), "ok bid=0 bid_qty=0 ask=0 ask_qty=0");
	     i++)
		usleep(10000);
	cr_assert_str_eq(venue_control(&v, "bbo MSFT"), "ok bid=0 bid_qty=0 ask=0 ask_qty=0");
	/* ... and the Canceled messages wait in the session's stream for the next login. */
	cr_assert_eq(client_login(&d, v.ouch_port, "dave", "davepass", 4, &next),
		     SOUP_LOGIN_ACCEPTED);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(client_ouch(&d, m, 2000), sizeof(struct ouch_canceled));
		cr_assert_eq(((struct ouch_canceled *)m)->reason, 'U');
	}
	client_close(&d);
}

Test(exsim_ouch, records_every_order_event)
{
	struct client a, b;
	uint8_t m[256];
	char path[160], line[512];

	login_start(&a, "alice", "wonderland");
	login_start(&b, "bob", "builder123");
	enter_order(&a, "W1", 'B', 100, "AAPL", 1500000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&a, m, 2000);
	enter_order(&b, "W2", 'S', 100, "AAPL", 1500000, OUCH_TIF_MARKET_HOURS, 0, 'Y');
	client_ouch(&b, m, 2000);
	client_ouch(&b, m, 2000);
	uint64_t match = ouch_get64(((struct ouch_executed *)m)->match);
	client_close(&a);
	client_close(&b);
	cr_assert_eq(venue_stop(&v), 0, "SIGTERM ends the day cleanly with status 0");

	snprintf(path, sizeof(path), "%s/rec/orders.csv", v.dir);
	FILE *f = fopen(path, "r");
	cr_assert(f);
	int execs = 0, accepts = 0;
	while (fgets(line, sizeof(line), f)) {
		char want[64];
		snprintf(want, sizeof(want), ",%lu,", (unsigned long)match);
		if (strstr(line, ",EXECUTED,W") && strstr(line, ",AAPL,") &&
		    strstr(line, ",1500000,100,0,") && strstr(line, want))
			execs++;
		if (strstr(line, ",ACCEPTED,W"))
			accepts++;
	}
	fclose(f);
	cr_assert_eq(execs, 2, "both sides of match %lu recorded", (unsigned long)match);
	cr_assert_eq(accepts, 2);
}

Test(exsim_ouch, heartbeats_and_timeout, .timeout = 30)
{
	struct client a;
	uint8_t m[256];
	struct soup_frame f;
	int hbs = 0;

	venue_cleanup(&v);
	venue_start(&v, SESSIONS, "[ouch]\nheartbeat_ms = 100\ntimeout_ms = 600\n");
	login_ok(&a, "alice", "wonderland");
	/* Sending client heartbeats keeps it up for well past the timeout, and the server's
	 * heartbeats arrive meanwhile. */
	for (uint64_t end = t_now_ms() + 1500; t_now_ms() < end;) {
		client_send(&a, SOUP_CLIENT_HEARTBEAT, NULL, 0);
		int r = client_next(&a, &f, m, 100, true);
		cr_assert_neq(r, -1, "closed while heartbeating");
		hbs += r == 1 && f.type == SOUP_SERVER_HEARTBEAT;
	}
	cr_assert_geq(hbs, 5);
	/* Silence: closed after about timeout_ms. */
	uint64_t t0 = t_now_ms();
	int r;
	while ((r = client_next(&a, &f, m, 3000, false)) == 1)
		;
	cr_assert_eq(r, -1, "a silent client is dropped");
	cr_assert_lt(t_now_ms() - t0, 2500);
	client_close(&a);
	cr_assert(strstr(venue_control(&v, "stats"), "\"timeouts\":1,"));
}

/* Runs tradsys-exsim --check on text; returns its exit status with stderr+stdout in out. */
static int check_config(const char *text, char *out, size_t cap)
{
	char dir[] = "/tmp/tradsys-exsim-cfg-XXXXXX", path[128], cmd[4608];

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.conf", dir);
	FILE *f = fopen(path, "w");
	cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0);
	snprintf(cmd, sizeof(cmd),
		 "'%s' --config '%s' --check 2>&1; echo \"status=$?\"; rm -rf '%s'", exsim_path(),
		 path, dir);
	FILE *p = popen(cmd, "r");
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	pclose(p);
	const char *s = strstr(out, "status=");
	cr_assert(s);
	return atoi(s + 7);
}

#define BASE "[itch]\nline_a = 127.0.0.1:9\n[instrument.AAPL]\nprice = 1.00\n"

Test(exsim_config, errors_name_the_field)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ BASE "[session.bob]\nfirm = BOBF\n", "[session.bob] password: '' is required" },
		{ "[itch]\nline_a = nowhere\n[instrument.AAPL]\n",
		  "[itch] line_a: 'nowhere' is not IPv4:PORT" },
		{ "[instrument.AAPL]\n", "[itch] line_a: '' is required" },
		{ BASE "[flwo]\nrate = 1\n", "[flwo]: unknown section" },
		{ BASE "[flow]\nrat = 1\n", "rat" },
		{ BASE "[instrument.MSFT]\nprice = 1.005\n",
		  "[instrument.MSFT] price: '1.005' is not a multiple of the tick" },
		{ BASE "[fault.a]\ndrop = 1.5\n",
		  "[fault.a] drop: '1.5' is not a probability between 0 and 1" },
		{ BASE "[flow]\nmode = replay\n",
		  "[flow] replay_file: '' is required with mode = replay" },
		{ BASE "[session.toolonguser]\npassword = x\n",
		  "[session.toolonguser]: name sessions" },
		{ BASE "[session.bob]\npassword = 12345678901\n",
		  "[session.bob] password: must be 1 to 10 characters" },
	};
	char out[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(check_config(cases[i].text, out, sizeof(out)), 1, "case %zu: %s", i,
			     out);
		cr_assert(strstr(out, cases[i].want), "case %zu: want '%s' in: %s", i,
			  cases[i].want, out);
	}
	cr_assert_eq(check_config(BASE "[session.bob]\npassword = builder\n", out, sizeof(out)), 0,
		     "%s", out);
	cr_assert(strstr(out, "ok (1 instruments, 1 sessions, 1 lines)"), "%s", out);

	/* The annotated example in the tree stays valid. */
	static char ex[16384];
	char path[4096];
	snprintf(path, sizeof(path), "%s/tools/exsim/exsim.example.conf",
		 getenv("TRADSYS_SOURCE_ROOT"));
	FILE *f = fopen(path, "r");
	cr_assert(f, "%s", path);
	ex[fread(ex, 1, sizeof(ex) - 1, f)] = '\0';
	fclose(f);
	cr_assert_eq(check_config(ex, out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "ok (2 instruments, 2 sessions, 2 lines)"), "%s", out);
}
