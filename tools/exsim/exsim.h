/*
 * tradsys-exsim: a venue in one process. A price-time matching engine (dataplane/match) whose
 * every book change and trade is published as ITCH 5.0 over MoldUDP64 on an A and an optional B
 * line, with a re-request server; OUCH 4.2 order entry over SoupBinTCP 3.0 on several sessions;
 * background flow from synthetic participants (or an ITCH file replayed instead); fault injection
 * per line and per session; and a record of every order event and packet for tests to reconcile
 * against. It is a single-threaded epoll loop: a simulator, not part of the appliance's hot path.
 */
#ifndef TRADSYS_EXSIM_H
#define TRADSYS_EXSIM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "match.h"
#include "mold.h"
#include "ouch.h"
#include "refmap.h"
#include "soup.h"

#define EXSIM_MAX_INSTRUMENTS 1024
#define EXSIM_MAX_SESSIONS 64
#define EXSIM_MAX_CONNS 128
#define EXSIM_LINES 2
#define EXSIM_MAX_PACKET 1472 /* a MoldUDP64 packet in one Ethernet frame */
#define EXSIM_SLOT 64 /* retained bytes per message: every ITCH 5.0 message fits */
#define EXSIM_DELAY_QUEUE 8192 /* packets one line can hold back for added delay */

/* Fault injection on one downstream line. Probabilities are per packet. */
struct exsim_fault {
	double drop;
	double dup;
	double reorder; /* hold a packet back and send it after the next one */
	uint32_t burst_every; /* every N packets, drop a burst of burst_len (0: off) */
	uint32_t burst_len;
	uint32_t delay_us; /* added to every packet */
};

struct exsim_instrument {
	char symbol[9];
	int64_t price; /* starting mid, 1/10000 */
	int64_t tick;
	uint32_t round_lot;
	bool flow; /* background flow trades it (default true) */
	bool halted;
	/* flow state */
	int64_t mid;
};

struct exsim_session_cfg {
	char user[SOUP_USER_LEN + 1];
	char pass[SOUP_PASS_LEN + 1];
	char firm[OUCH_FIRM_LEN + 1];
	uint64_t disconnect_after; /* fault: drop the connection after N sequenced messages; 0: off */
	bool cancel_on_disconnect; /* the venue cancels the session's open orders when it drops */
};

enum exsim_flow_mode {
	EXSIM_FLOW_OFF,
	EXSIM_FLOW_SYNTHETIC,
	EXSIM_FLOW_REPLAY,
};

struct exsim_cfg {
	const char *name;
	char session[MOLD_SESSION_LEN + 1];
	uint64_t seed;
	const char *records; /* directory for orders.csv and packets.csv; NULL: none */
	const char *control; /* unix socket path; NULL: none */
	const char *ready_file; /* written once listening: "ouch_port=N request_port=N" */
	uint32_t max_orders;
	uint32_t max_levels;
	char bg_firm[OUCH_FIRM_LEN + 1];
	/* downstream */
	struct sockaddr_in line[EXSIM_LINES];
	uint32_t nlines;
	struct in_addr mcast_if; /* INADDR_ANY: the routing table decides */
	uint32_t ttl;
	uint16_t request_port; /* 0: ephemeral; the re-request server always runs */
	struct in_addr request_ip;
	uint64_t heartbeat_ns;
	uint64_t flush_ns; /* 0: send what a loop pass produced at its end */
	uint32_t max_packet;
	uint32_t retain; /* messages kept for re-requests */
	struct exsim_fault fault[EXSIM_LINES];
	/* order entry */
	struct sockaddr_in ouch_listen;
	uint64_t soup_heartbeat_ns;
	uint64_t soup_timeout_ns;
	struct exsim_session_cfg sessions[EXSIM_MAX_SESSIONS];
	uint32_t nsessions;
	/* instruments and flow */
	struct exsim_instrument instruments[EXSIM_MAX_INSTRUMENTS];
	uint32_t ninstruments;
	enum exsim_flow_mode flow;
	uint64_t flow_rate; /* orders per second, Poisson */
	uint32_t spread_ticks;
	uint32_t depth_levels;
	uint32_t cross_pct, cancel_pct;
	uint32_t max_qty;
	uint32_t max_resting; /* background orders resting at most, per instrument */
	const char *replay_file;
	uint64_t replay_rate; /* messages per second; 0: as fast as the loop goes */
};

/* Loads path into cfg (strings point into *keep, freed by the caller with config_free). Returns 0,
 * or -1 with a message naming file, line, section and key in err. */
struct config;
int exsim_config_load(const char *path, struct exsim_cfg *cfg, struct config **keep, char *err,
		      size_t errlen);

/* ---- the MoldUDP64 publisher and re-request server (publish.c) ---- */

struct exsim_line_stats {
	uint64_t packets, bytes, dropped, duplicated, reordered, delayed;
};

struct exsim_pub_stats {
	uint64_t messages, packets, heartbeats;
	uint64_t requests, requests_bad, retrans_packets, retrans_messages, requests_expired;
	struct exsim_line_stats line[EXSIM_LINES];
};

struct exsim_delayed {
	uint64_t due_ns;
	uint16_t len;
	uint8_t data[EXSIM_MAX_PACKET];
};

struct exsim_line {
	struct sockaddr_in to;
	struct exsim_fault fault;
	uint64_t count; /* packets offered to this line */
	uint32_t burst_left;
	bool holding; /* a packet held back for reordering */
	uint16_t held_len;
	uint8_t held[EXSIM_MAX_PACKET];
	struct exsim_delayed *q; /* FIFO of EXSIM_DELAY_QUEUE */
	uint32_t q_head, q_tail;
};

struct exsim_pub {
	int fd; /* lines */
	int req_fd; /* re-request server */
	uint16_t req_port;
	char session[MOLD_SESSION_LEN];
	uint32_t max_packet;
	uint64_t flush_ns, heartbeat_ns;
	uint64_t next_seq; /* of the next message published */
	/* the packet being filled */
	uint8_t pkt[EXSIM_MAX_PACKET];
	uint32_t pkt_len;
	uint16_t pkt_count;
	uint64_t pkt_open_ns;
	uint64_t last_send_ns;
	bool ended;
	/* retained messages, slot seq % retain */
	uint8_t *store;
	uint32_t retain;
	struct exsim_line lines[EXSIM_LINES];
	uint32_t nlines;
	uint64_t rng;
	FILE *rec; /* packets.csv */
	struct exsim_pub_stats st;
};

int exsim_pub_open(struct exsim_pub *p, const struct exsim_cfg *cfg, FILE *rec, char *err,
		   size_t errlen);
void exsim_pub_close(struct exsim_pub *p);
/* Appends one ITCH message; the packet goes out when full, at flush, or at exsim_pub_poll. */
void exsim_pub_message(struct exsim_pub *p, const void *msg, uint16_t len, uint64_t now_ns);
/* Sends what is due: the open packet (after flush_ns), delayed packets, heartbeats. */
void exsim_pub_poll(struct exsim_pub *p, uint64_t now_ns, bool end_of_pass);
/* Answers the re-requests waiting on req_fd. */
void exsim_pub_requests(struct exsim_pub *p, uint64_t now_ns);
/* Sends the end-of-session packet on every line. */
void exsim_pub_end(struct exsim_pub *p, uint64_t now_ns);
/* When the loop next has something to do (UINT64_MAX: nothing). */
uint64_t exsim_pub_next_due(const struct exsim_pub *p);

/* ---- the venue: engine, order table, ITCH and OUCH output, sessions (venue.c, soup_server.c) ---- */

struct exsim_order {
	uint64_t engine_id; /* 0: the engine no longer holds it */
	uint64_t itch_ref; /* reference it is displayed under (0: not displayed) */
	int64_t price;
	int64_t leaves;
	uint32_t instrument;
	int32_t sess; /* -1: background flow */
	uint32_t bg_slot;
	uint32_t next_free;
	uint32_t tif;
	uint32_t min_qty;
	uint8_t side; /* 'B' or 'S' */
	uint8_t display;
	uint8_t capacity;
	uint8_t live;
	char token[OUCH_TOKEN_LEN];
};

struct exsim_conn {
	int fd;
	int sess; /* -1 until logged in */
	const char *closing; /* set: closed at the next poll, for this reason; nothing more is sent */
	bool want_out; /* registered for EPOLLOUT */
	uint64_t opened_ns, last_rx_ns, last_tx_ns;
	uint32_t rlen;
	uint8_t rbuf[2 * 65536];
	uint8_t *wbuf;
	size_t wlen, wcap;
};

struct exsim_session {
	struct exsim_session_cfg cfg;
	int conn; /* index in conns, -1 when nobody is logged in */
	/* the sequenced stream, kept for replay: message i (from 1) at log[off[i-1]] */
	uint8_t *log;
	size_t log_len, log_cap;
	uint64_t *off;
	uint64_t nmsgs, off_cap;
	uint64_t sent_since_login;
	bool disconnected_fault;
	struct refmap tokens; /* token hash -> order index */
	uint64_t logins, rejects_login, orders, fills;
};

struct exsim_fill {
	uint64_t match_no;
	uint32_t instrument;
	int32_t sess[2];
	char token[2][OUCH_TOKEN_LEN];
	bool broken;
};

struct exsim_venue_stats {
	uint64_t ouch_in, ouch_bad, ouch_out, soup_bad, logins, login_rejects, timeouts;
	uint64_t fault_disconnects, orders, rejects, fills, broken;
	uint64_t bg_orders, bg_cancels, bg_crosses;
};

struct exsim {
	struct exsim_cfg *cfg;
	struct match_engine *eng;
	struct exsim_pub pub;
	struct exsim_order *ord;
	uint32_t free_head, max_orders;
	/* background resting orders, for cancels */
	uint32_t *bg;
	uint32_t nbg;
	uint32_t *bg_per_inst;
	/* a replace in progress whose new order has not rested yet */
	uint64_t pend_old_ref;
	uint32_t pend_order;
	char replace_prev[OUCH_TOKEN_LEN]; /* the token a replace in progress retires */
	uint32_t bg_firm;
	struct exsim_session sess[EXSIM_MAX_SESSIONS];
	struct exsim_conn *conns[EXSIM_MAX_CONNS];
	int epfd;
	int listen_fd;
	uint16_t ouch_port;
	struct exsim_fill *fills;
	size_t nfills, fills_cap;
	FILE *orders_csv;
	uint64_t rng;
	uint64_t now_ns; /* monotonic, the loop's current time */
	/* flow */
	bool flow_paused; /* control "flow off" */
	uint64_t next_arrival_ns;
	const uint8_t *replay;
	size_t replay_size, replay_off;
	uint64_t replay_next_ns;
	struct exsim_venue_stats st;
};

int exsim_venue_open(struct exsim *x, struct exsim_cfg *cfg, char *err, size_t errlen);
void exsim_venue_close(struct exsim *x);
/* Publishes the start of day: system events, stock directory and trading state per instrument. */
void exsim_venue_start(struct exsim *x);
/* End of day: system events, end of session on the feed and SoupBinTCP. */
void exsim_venue_end(struct exsim *x);
/* Halts or resumes an instrument (ITCH H). Returns 0 or -ENOENT. */
int exsim_venue_halt(struct exsim *x, const char *symbol, bool halt);
/* Breaks a trade: OUCH Broken Trade to each session side. Returns 0 or -ENOENT. */
int exsim_venue_break(struct exsim *x, uint64_t match_no);
/* Cancels every open order of a session (cancel on disconnect). Returns how many. */
uint32_t exsim_venue_cancel_session(struct exsim *x, int sess);
/* Instrument index of a symbol or -1. */
int exsim_instrument_find(const struct exsim *x, const char *symbol);

/* What an epoll event's data.u64 names: kind << 32 | index. */
enum exsim_ev {
	EXSIM_EV_LISTEN = 1,
	EXSIM_EV_CONN,
	EXSIM_EV_REQUEST,
	EXSIM_EV_CONTROL,
	EXSIM_EV_CONTROL_CONN,
	EXSIM_EV_SIGNAL,
};

/* SoupBinTCP server side. */
int exsim_soup_listen(struct exsim *x, char *err, size_t errlen);
void exsim_soup_accept(struct exsim *x);
/* Reads and handles what conn i sent; closes it on EOF, error or a protocol violation. */
void exsim_soup_read(struct exsim *x, int i);
/* Heartbeats, timeouts and pending writes. */
void exsim_soup_poll(struct exsim *x);
/* Appends a sequenced message to a session's stream (sent now if it is logged in). */
void exsim_soup_sequenced(struct exsim *x, int sess, const void *msg, size_t len);
/* Closes conn i (reason for the record). */
void exsim_soup_close(struct exsim *x, int i, const char *reason);
int exsim_session_find(const struct exsim *x, const char *user);
/* Sends End of Session to every logged-in connection. */
void exsim_soup_end(struct exsim *x);
/* The OUCH message handler (venue.c). */
void exsim_ouch_message(struct exsim *x, int sess, const uint8_t *msg, size_t len);

/* Background orders (venue.c): a synthetic participant's order, and a cancel of bg[slot]. */
int exsim_bg_submit(struct exsim *x, uint32_t instrument, enum match_side side, int64_t price,
		    int64_t qty, enum match_tif tif, uint32_t firm);
void exsim_bg_cancel(struct exsim *x, uint32_t slot);

/* Background flow and replay (flow.c). open: -1 when the replay file cannot be mapped. */
int exsim_flow_open(struct exsim *x);
void exsim_flow_close(struct exsim *x);
void exsim_flow_run(struct exsim *x);
uint64_t exsim_flow_next_due(const struct exsim *x);

/* Records (venue.c): one CSV row per order event. */
void exsim_record(struct exsim *x, int sess, const char *kind, const char *token,
		  uint32_t instrument, uint8_t side, int64_t price, int64_t qty, int64_t leaves,
		  uint64_t match_no, const char *reason, uint64_t ref);

/* Helpers (util.c). */
uint64_t exsim_mono_ns(void);
uint64_t exsim_ns_since_midnight(void);
uint64_t exsim_rand(uint64_t *state);
double exsim_rand01(uint64_t *state);
void exsim_put16(uint8_t *p, uint16_t v);
void exsim_put32(uint8_t *p, uint32_t v);
void exsim_put48(uint8_t *p, uint64_t v);
void exsim_put64(uint8_t *p, uint64_t v);
int exsim_parse_price(const char *s, int64_t *out); /* "123.45" -> 1234500 (1/10000) */
int exsim_parse_addr(const char *s, struct sockaddr_in *out); /* "IP:PORT" */

#endif
