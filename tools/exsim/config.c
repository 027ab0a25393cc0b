/*
 * The simulator's configuration file. Sections:
 *   [venue]   name, session, seed, records, control, ready_file, max_orders, max_levels, firm
 *   [itch]    line_a, line_b, interface, ttl, request_port, request_ip, heartbeat_ms, flush_us,
 *             max_packet, retain
 *   [ouch]    listen, heartbeat_ms, timeout_ms
 *   [session.<user>]     password, firm, disconnect_after, cancel_on_disconnect
 *   [instrument.<SYMBOL>] price, tick, round_lot, flow (background flow trades it: true)
 *   [flow]    mode (off|synthetic|replay), rate, spread_ticks, depth_levels, cross_pct,
 *             cancel_pct, max_qty, max_resting, replay_file, replay_rate
 *   [fault.a], [fault.b]  drop, dup, reorder, burst_every, burst_len, delay_us
 * Every error names the file, section and key. There are no default credentials: a session
 * without a password is an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exsim.h"

#define NAMES(a) a, sizeof(a) / sizeof((a)[0])

static const char *const venue_keys[] = { "name",    "session",	   "seed",	 "records",
					  "control", "ready_file", "max_orders", "max_levels",
					  "firm",    NULL };
static const char *const itch_keys[] = {
	"line_a",   "line_b",	  "interface", "ttl", "request_port", "request_ip", "heartbeat_ms",
	"flush_us", "max_packet", "retain",    NULL
};
static const char *const ouch_keys[] = { "listen", "heartbeat_ms", "timeout_ms", NULL };
static const char *const session_keys[] = { "password", "firm", "disconnect_after",
					    "cancel_on_disconnect", NULL };
static const char *const instrument_keys[] = { "price", "tick", "round_lot", "flow", NULL };
static const char *const flow_keys[] = { "mode",	 "rate",	"spread_ticks",
					 "depth_levels", "cross_pct",	"cancel_pct",
					 "max_qty",	 "max_resting", "replay_file",
					 "replay_rate",	 NULL };
static const char *const fault_keys[] = { "drop",      "dup",	   "reorder", "burst_every",
					  "burst_len", "delay_us", NULL };
static const char *const flow_modes[] = { "off", "synthetic", "replay" };
static const char *const known_sections[] = { "venue",	    "itch", "ouch",  "session",
					      "instrument", "flow", "fault", NULL };

struct ctx {
	struct config *c;
	const char *path;
	char *err;
	size_t errlen;
};

static int bad(struct ctx *x, const char *sec, const char *key, const char *why, const char *v)
{
	snprintf(x->err, x->errlen, "%s: [%s] %s: '%s' %s", x->path, sec, key, v ? v : "", why);
	return -1;
}

static int cfg_fail(struct ctx *x)
{
	snprintf(x->err, x->errlen, "%s", config_error(x->c));
	return -1;
}

/* A text field that must fit n characters of printable ASCII with no spaces. */
static int text_field(struct ctx *x, const char *sec, const char *key, char *out, size_t n,
		      bool required)
{
	const char *v = config_get(x->c, sec, key);

	if (!v) {
		if (required)
			return bad(x, sec, key, "is required", "");
		return 0;
	}
	size_t len = strlen(v);
	if (len == 0 || len > n)
		return snprintf(x->err, x->errlen, "%s: [%s] %s: must be 1 to %zu characters",
				x->path, sec, key, n),
		       -1;
	for (size_t i = 0; i < len; i++)
		if (v[i] <= ' ' || v[i] > '~')
			return bad(x, sec, key, "must be printable ASCII without spaces", v);
	memcpy(out, v, len + 1);
	return 0;
}

static int prob(struct ctx *x, const char *sec, const char *key, double *out)
{
	const char *v = config_get(x->c, sec, key);
	char *end;

	if (!v)
		return 0;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || *end || end == v || !(d >= 0.0 && d <= 1.0))
		return bad(x, sec, key, "is not a probability between 0 and 1", v);
	*out = d;
	return 0;
}

static int addr(struct ctx *x, const char *sec, const char *key, struct sockaddr_in *out,
		bool *present)
{
	const char *v = config_get(x->c, sec, key);

	*present = v != NULL;
	if (v && exsim_parse_addr(v, out) != 0)
		return bad(x, sec, key, "is not IPv4:PORT", v);
	return 0;
}

static int ip(struct ctx *x, const char *sec, const char *key, struct in_addr *out)
{
	const char *v = config_get(x->c, sec, key);

	if (v && inet_pton(AF_INET, v, out) != 1)
		return bad(x, sec, key, "is not an IPv4 address", v);
	return 0;
}

static int u32(struct ctx *x, const char *sec, const char *key, uint64_t min, uint64_t max,
	       uint32_t *out)
{
	uint64_t v = *out;

	if (config_u64(x->c, sec, key, min, max, &v))
		return cfg_fail(x);
	*out = (uint32_t)v;
	return 0;
}

static int ms_to_ns(struct ctx *x, const char *sec, const char *key, uint64_t min, uint64_t max,
		    uint64_t *ns)
{
	uint64_t v = *ns / 1000000u;

	if (config_u64(x->c, sec, key, min, max, &v))
		return cfg_fail(x);
	*ns = v * 1000000u;
	return 0;
}

static int parse_venue(struct ctx *x, struct exsim_cfg *cfg)
{
	cfg->name = "exsim";
	strcpy(cfg->session, "EXSIM00001");
	strcpy(cfg->bg_firm, "FLOW");
	cfg->seed = 1;
	cfg->max_orders = 1u << 20;
	cfg->max_levels = 4096;
	if (config_str(x->c, "venue", "name", &cfg->name) ||
	    config_u64(x->c, "venue", "seed", 0, UINT64_MAX, &cfg->seed) ||
	    config_str(x->c, "venue", "records", &cfg->records) ||
	    config_str(x->c, "venue", "control", &cfg->control) ||
	    config_str(x->c, "venue", "ready_file", &cfg->ready_file))
		return cfg_fail(x);
	if (u32(x, "venue", "max_orders", 16, 1u << 26, &cfg->max_orders) ||
	    u32(x, "venue", "max_levels", 16, 1u << 20, &cfg->max_levels) ||
	    text_field(x, "venue", "session", cfg->session, MOLD_SESSION_LEN, false) ||
	    text_field(x, "venue", "firm", cfg->bg_firm, OUCH_FIRM_LEN, false))
		return -1;
	return 0;
}

static int parse_itch(struct ctx *x, struct exsim_cfg *cfg)
{
	bool a = false, b = false;

	cfg->ttl = 1;
	cfg->heartbeat_ns = 1000000000u;
	cfg->max_packet = 1400;
	cfg->retain = 1u << 20;
	cfg->request_ip.s_addr = htonl(INADDR_ANY);
	cfg->mcast_if.s_addr = htonl(INADDR_ANY);
	if (addr(x, "itch", "line_a", &cfg->line[0], &a) ||
	    addr(x, "itch", "line_b", &cfg->line[1], &b))
		return -1;
	if (!a)
		return bad(x, "itch", "line_a", "is required", "");
	cfg->nlines = b ? 2 : 1;
	uint64_t port = 0, flush_us = 0;
	if (config_u64(x->c, "itch", "request_port", 0, 65535, &port) ||
	    config_u64(x->c, "itch", "flush_us", 0, 1000000, &flush_us))
		return cfg_fail(x);
	cfg->request_port = (uint16_t)port;
	cfg->flush_ns = flush_us * 1000u;
	if (ip(x, "itch", "interface", &cfg->mcast_if) ||
	    ip(x, "itch", "request_ip", &cfg->request_ip) ||
	    u32(x, "itch", "ttl", 1, 255, &cfg->ttl) ||
	    u32(x, "itch", "max_packet", 64, EXSIM_MAX_PACKET, &cfg->max_packet) ||
	    u32(x, "itch", "retain", 1024, 1u << 26, &cfg->retain) ||
	    ms_to_ns(x, "itch", "heartbeat_ms", 1, 60000, &cfg->heartbeat_ns))
		return -1;
	return 0;
}

static int parse_ouch(struct ctx *x, struct exsim_cfg *cfg)
{
	bool present = false;

	cfg->soup_heartbeat_ns = 1000000000u;
	cfg->soup_timeout_ns = 15000000000u;
	if (exsim_parse_addr("127.0.0.1:0", &cfg->ouch_listen) ||
	    addr(x, "ouch", "listen", &cfg->ouch_listen, &present) ||
	    ms_to_ns(x, "ouch", "heartbeat_ms", 1, 60000, &cfg->soup_heartbeat_ns) ||
	    ms_to_ns(x, "ouch", "timeout_ms", 1, 600000, &cfg->soup_timeout_ns))
		return -1;
	return 0;
}

static int parse_sessions(struct ctx *x, struct exsim_cfg *cfg)
{
	const char *secs[EXSIM_MAX_SESSIONS + 1];
	size_t n = config_sections(x->c, "session", secs, EXSIM_MAX_SESSIONS + 1);

	if (n > EXSIM_MAX_SESSIONS) {
		snprintf(x->err, x->errlen, "%s: more than %d [session.*] sections", x->path,
			 EXSIM_MAX_SESSIONS);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct exsim_session_cfg *s = &cfg->sessions[i];
		const char *user = secs[i] + strlen("session.");

		if (strncmp(secs[i], "session.", 8) != 0 || !*user ||
		    strlen(user) > SOUP_USER_LEN) {
			snprintf(x->err, x->errlen,
				 "%s: [%s]: name sessions [session.<user>] with a user of 1 to %d "
				 "characters",
				 x->path, secs[i], SOUP_USER_LEN);
			return -1;
		}
		strcpy(s->user, user);
		strcpy(s->firm, "FIRM");
		if (text_field(x, secs[i], "password", s->pass, SOUP_PASS_LEN, true) ||
		    text_field(x, secs[i], "firm", s->firm, OUCH_FIRM_LEN, false))
			return -1;
		if (config_u64(x->c, secs[i], "disconnect_after", 0, UINT64_MAX,
			       &s->disconnect_after) ||
		    config_bool(x->c, secs[i], "cancel_on_disconnect", &s->cancel_on_disconnect))
			return cfg_fail(x);
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->sessions[j].user, s->user) == 0) {
				snprintf(x->err, x->errlen, "%s: [%s]: duplicate user", x->path,
					 secs[i]);
				return -1;
			}
	}
	cfg->nsessions = (uint32_t)n;
	return 0;
}

static int parse_instruments(struct ctx *x, struct exsim_cfg *cfg)
{
	const char *secs[EXSIM_MAX_INSTRUMENTS + 1];
	size_t n = config_sections(x->c, "instrument", secs, EXSIM_MAX_INSTRUMENTS + 1);

	if (n == 0) {
		snprintf(x->err, x->errlen, "%s: no [instrument.<SYMBOL>] section", x->path);
		return -1;
	}
	if (n > EXSIM_MAX_INSTRUMENTS) {
		snprintf(x->err, x->errlen, "%s: more than %d instruments", x->path,
			 EXSIM_MAX_INSTRUMENTS);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct exsim_instrument *in = &cfg->instruments[i];
		const char *sym = secs[i] + strlen("instrument.");
		const char *v;

		if (strncmp(secs[i], "instrument.", 11) != 0 || !*sym || strlen(sym) > 8) {
			snprintf(x->err, x->errlen,
				 "%s: [%s]: name instruments [instrument.<SYMBOL>] with 1 to 8 "
				 "characters",
				 x->path, secs[i]);
			return -1;
		}
		strcpy(in->symbol, sym);
		in->price = 100 * 10000;
		in->tick = 100;
		in->round_lot = 100;
		in->flow = true;
		if (config_bool(x->c, secs[i], "flow", &in->flow))
			return cfg_fail(x);
		if ((v = config_get(x->c, secs[i], "price")) &&
		    (exsim_parse_price(v, &in->price) || in->price <= 0))
			return bad(x, secs[i], "price", "is not a positive price like 123.45", v);
		if ((v = config_get(x->c, secs[i], "tick")) &&
		    (exsim_parse_price(v, &in->tick) || in->tick <= 0))
			return bad(x, secs[i], "tick", "is not a positive price increment", v);
		if (in->price % in->tick)
			return bad(x, secs[i], "price", "is not a multiple of the tick",
				   config_get(x->c, secs[i], "price"));
		if (u32(x, secs[i], "round_lot", 1, 1000000, &in->round_lot))
			return -1;
		in->mid = in->price;
	}
	cfg->ninstruments = (uint32_t)n;
	return 0;
}

static int parse_flow(struct ctx *x, struct exsim_cfg *cfg)
{
	int mode = EXSIM_FLOW_OFF;

	cfg->flow_rate = 1000;
	cfg->spread_ticks = 2;
	cfg->depth_levels = 10;
	cfg->cross_pct = 5;
	cfg->cancel_pct = 45;
	cfg->max_qty = 500;
	cfg->max_resting = 200;
	if (config_enum(x->c, "flow", "mode", NAMES(flow_modes), &mode) ||
	    config_u64(x->c, "flow", "rate", 1, 10000000, &cfg->flow_rate) ||
	    config_str(x->c, "flow", "replay_file", &cfg->replay_file) ||
	    config_u64(x->c, "flow", "replay_rate", 0, 100000000, &cfg->replay_rate))
		return cfg_fail(x);
	cfg->flow = (enum exsim_flow_mode)mode;
	if (u32(x, "flow", "spread_ticks", 1, 10000, &cfg->spread_ticks) ||
	    u32(x, "flow", "depth_levels", 1, 10000, &cfg->depth_levels) ||
	    u32(x, "flow", "cross_pct", 0, 100, &cfg->cross_pct) ||
	    u32(x, "flow", "cancel_pct", 0, 100, &cfg->cancel_pct) ||
	    u32(x, "flow", "max_qty", 1, 1000000, &cfg->max_qty) ||
	    u32(x, "flow", "max_resting", 1, 1000000, &cfg->max_resting))
		return -1;
	if (cfg->cross_pct + cfg->cancel_pct > 100)
		return bad(x, "flow", "cancel_pct", "plus cross_pct exceeds 100",
			   config_get(x->c, "flow", "cancel_pct"));
	if (cfg->flow == EXSIM_FLOW_REPLAY && !cfg->replay_file)
		return bad(x, "flow", "replay_file", "is required with mode = replay", "");
	return 0;
}

static int parse_fault(struct ctx *x, const char *sec, struct exsim_fault *f)
{
	if (prob(x, sec, "drop", &f->drop) || prob(x, sec, "dup", &f->dup) ||
	    prob(x, sec, "reorder", &f->reorder) ||
	    u32(x, sec, "burst_every", 0, 100000000, &f->burst_every) ||
	    u32(x, sec, "burst_len", 0, 100000, &f->burst_len) ||
	    u32(x, sec, "delay_us", 0, 10000000, &f->delay_us))
		return -1;
	return 0;
}

int exsim_config_load(const char *path, struct exsim_cfg *cfg, struct config **keep, char *err,
		      size_t errlen)
{
	struct ctx x = { .path = path, .err = err, .errlen = errlen };
	const char *secs[4096];

	memset(cfg, 0, sizeof(*cfg));
	*keep = NULL;
	x.c = config_load(path, err, errlen);
	if (!x.c)
		return -1;
	*keep = x.c;
	size_t n = config_sections(x.c, NULL, secs, 4096);
	/* Sections other than the known ones are misspellings. */
	for (size_t i = 0; i < n && i < 4096; i++) {
		bool ok = false;
		for (const char *const *k = known_sections; *k && !ok; k++) {
			size_t l = strlen(*k);
			ok = strncmp(secs[i], *k, l) == 0 &&
			     (secs[i][l] == '\0' || secs[i][l] == '.');
		}
		if (!ok) {
			snprintf(err, errlen, "%s: [%s]: unknown section", path, secs[i]);
			return -1;
		}
	}
	if (config_check_keys(x.c, "venue", venue_keys) ||
	    config_check_keys(x.c, "itch", itch_keys) ||
	    config_check_keys(x.c, "ouch", ouch_keys) ||
	    config_check_keys(x.c, "session", session_keys) ||
	    config_check_keys(x.c, "instrument", instrument_keys) ||
	    config_check_keys(x.c, "flow", flow_keys) ||
	    config_check_keys(x.c, "fault", fault_keys))
		return cfg_fail(&x);
	if (config_get(x.c, "fault", "drop")) /* a bare [fault] would apply to nothing */
		return bad(&x, "fault", "drop", "belongs in [fault.a] or [fault.b]", "");
	if (parse_venue(&x, cfg) || parse_itch(&x, cfg) || parse_ouch(&x, cfg) ||
	    parse_sessions(&x, cfg) || parse_instruments(&x, cfg) || parse_flow(&x, cfg) ||
	    parse_fault(&x, "fault.a", &cfg->fault[0]) ||
	    parse_fault(&x, "fault.b", &cfg->fault[1]))
		return -1;
	return 0;
}
