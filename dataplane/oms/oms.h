/*
 * The order manager: every order's life from the strategy (or a manual order) to the venue and
 * back. oms_send/oms_cancel/oms_replace check risk first (no path around it), encode OUCH 4.2 and
 * hand the bytes to the venue session; oms_on_venue() applies the venue's answers (accepted,
 * executed, canceled, replaced, rejected, broken trade) to the order and to risk's positions,
 * cash and PnL, and reports each step through one event callback (strategies, the journal).
 *
 *   PENDING_NEW -> LIVE -> PARTIAL -> FILLED
 *        |          |  \      |  \
 *        v          |   +-> PENDING_CANCEL -> CANCELED   (fills may still arrive: "late fills")
 *     REJECTED      +-----> PENDING_REPLACE -> LIVE (new token, price, qty)
 *                   (IOC remainder, venue cancel) -> CANCELED; no answer in time -> timeout event
 *   PENDING_NEW sent before its session dropped and still unanswered after the in-flight timeout
 *   (the replay after the new login would have carried any answer) -> EXPIRED: it never reached
 *   the venue. A cancel lost that way returns the order to its state before the cancel.
 *
 * Orders live in a preallocated pool; ids are pool index + generation, so a stale id is refused.
 * Nothing allocates after create.
 */
#ifndef TRADSYS_OMS_H
#define TRADSYS_OMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ouch.h"
#include "risk.h"

struct hist; /* core/hist.h: the stage histograms (not part of the strategy API's headers) */

#define OMS_MAX_VENUES 8
/* An order id is a serial (growing through the day and across restarts) above the order's slot:
 * at most 2^16 live and recently finished orders per OMS. */
#define OMS_SLOT_BITS 16
#define OMS_SLOT_MASK ((1u << OMS_SLOT_BITS) - 1)
#define OMS_ID_EPOCH 1735689600 /* 2025-01-01T00:00:00Z: where the serial's clock starts */

enum oms_state {
	OMS_PENDING_NEW,
	OMS_LIVE,
	OMS_PARTIAL,
	OMS_PENDING_CANCEL,
	OMS_PENDING_REPLACE,
	OMS_FILLED,
	OMS_CANCELED,
	OMS_REJECTED,
	OMS_EXPIRED, /* never reached the venue (lost in a disconnect) */
	OMS_STATES,
};

enum oms_tif {
	OMS_DAY,
	OMS_IOC,
};

struct oms_order {
	uint64_t id;
	char token[OUCH_TOKEN_LEN + 1];
	char new_token[OUCH_TOKEN_LEN + 1]; /* PENDING_REPLACE: the replacement's token */
	uint32_t account;
	uint32_t instrument;
	uint32_t strategy;
	uint16_t venue;
	uint8_t side; /* 'B' or 'S' */
	uint8_t state; /* enum oms_state */
	uint8_t tif;
	uint8_t reject_reason; /* OUCH reject code, or 0 */
	uint8_t prev_state; /* before a pending cancel/replace */
	int64_t price;
	int64_t qty; /* as entered (or as replaced) */
	int64_t leaves; /* open at the venue as far as we know */
	int64_t filled;
	int64_t pend_price, pend_qty; /* PENDING_REPLACE */
	uint64_t venue_ref;
	uint64_t sent_ns; /* last request sent */
	uint64_t trigger_tsc; /* rx TSC of the market data that caused it (tick-to-trade) */
	uint32_t next_free;
	uint32_t fl_prev, fl_next; /* the in-flight list, oldest request first */
	bool timed_out;
};

enum oms_event_kind {
	OMS_EV_SENT, /* new order on its way (PENDING_NEW) */
	OMS_EV_RISK_REJECT, /* refused by risk before sending: reason is an enum risk_reason */
	OMS_EV_ACCEPTED,
	OMS_EV_REJECTED, /* by the venue: reason is the OUCH code */
	OMS_EV_FILL, /* qty at price, match */
	OMS_EV_CANCELED, /* qty removed; reason the OUCH code */
	OMS_EV_REPLACED,
	OMS_EV_CANCEL_SENT,
	OMS_EV_REPLACE_SENT,
	OMS_EV_TIMEOUT, /* no answer within the in-flight timeout */
	OMS_EV_BROKEN, /* a trade broken by the venue: qty/price undone from the position */
	OMS_EV_EXPIRED, /* a new order lost in a disconnect: final, its open quantity released */
	OMS_EV_KINDS,
};

struct oms_event {
	enum oms_event_kind kind;
	const struct oms_order *o; /* NULL for a risk reject of a new order */
	int64_t qty, price;
	uint64_t match;
	uint32_t reason;
	uint64_t now_ns;
	/* A risk reject: the order as checked (account, the venue's instrument, side), the limit
	 * in force and what the order would have made the measured value (risk_explain). */
	uint32_t account, instrument;
	uint8_t side;
	int64_t limit, value;
};

/* Where the OMS sends bytes and reports. send returns 0 or -errno (-ENOTCONN: not logged in). */
struct oms_ops {
	int (*send)(void *ctx, uint16_t venue, const void *msg, size_t len);
	void (*on_event)(void *ctx, const struct oms_event *ev);
	/* The OUCH stock field of a venue's instrument (up to 8 characters), or NULL if unknown. */
	const char *(*symbol)(void *ctx, uint16_t venue, uint32_t instrument);
};

struct oms_cfg {
	uint32_t max_orders; /* live and recently finished orders, at most OMS_SLOT_MASK + 1 */
	uint16_t venues;
	char firm[OUCH_FIRM_LEN + 1];
	uint32_t worker; /* in the token prefix, so workers never collide */
	uint64_t inflight_timeout_ns; /* pending new/cancel/replace unanswered this long: event */
	/* Instrument ids are per venue (ITCH locates); risk sees venue * stride + instrument, so
	 * the same locate on two venues is two instruments. 0: one venue's ids are risk's ids. */
	uint32_t instrument_stride;
};

/* The risk instrument id of a venue's instrument. */
static inline uint32_t oms_risk_instrument(uint32_t stride, uint16_t venue, uint32_t instrument)
{
	return stride ? (uint32_t)venue * stride + instrument : instrument;
}

/* What a caller asks for. price is ignored for market orders (not supported: always limit). */
struct oms_request {
	uint32_t account;
	uint32_t instrument;
	uint32_t strategy;
	uint16_t venue;
	uint8_t side;
	uint8_t tif; /* enum oms_tif */
	int64_t price;
	int64_t qty;
	uint64_t trigger_tsc;
};

struct oms_stats {
	uint64_t sent, risk_rejects, accepted, rejected, fills, filled_qty, canceled, replaced;
	uint64_t cancels_sent, replaces_sent, timeouts, broken, unknown_token, bad_messages;
	uint64_t send_errors, pool_full;
	uint32_t open; /* orders not yet final */
};

struct oms;

struct oms *oms_create(const struct oms_cfg *cfg, struct risk_ctx *risk, const struct oms_ops *ops,
		       void *ctx);
void oms_destroy(struct oms *m);

/*
 * A new order: risk check, encode, send. Returns 0 with *id, the negative enum risk_reason when
 * risk refused it (-RISK_R_MAX_QTY ...; an OMS_EV_RISK_REJECT event says so too), -ENOSPC when the
 * pool is full, -ENOTCONN / -ENOBUFS from the session (the order is rejected locally).
 */
int oms_send(struct oms *m, const struct oms_request *r, uint64_t now_ns, uint64_t *id);

/* Cancels the open quantity down to leaves (0: all). 0, -ENOENT, -EALREADY (already pending or
 * final), or a negative risk reason (message throttle). */
int oms_cancel(struct oms *m, uint64_t id, int64_t leaves, uint64_t now_ns);

/* Cancel-replace to a new price and quantity, risk-checked as the new order. */
int oms_replace(struct oms *m, uint64_t id, int64_t price, int64_t qty, uint64_t trigger_tsc,
		uint64_t now_ns);

/* Cancels every open order of an account, an instrument, or all (kill switch); returns how many
 * cancels were sent. account/instrument UINT32_MAX: any. */
uint32_t oms_cancel_all(struct oms *m, uint32_t account, uint32_t instrument, uint64_t now_ns);

/* A sequenced OUCH message from venue's session. Unknown tokens and bad messages are counted. */
void oms_on_venue(struct oms *m, uint16_t venue, const uint8_t *msg, size_t len, uint64_t now_ns);

/* The venue's session dropped at now_ns: requests sent before it may never have arrived. */
void oms_venue_down(struct oms *m, uint16_t venue, uint64_t now_ns);

/* Whether venue's session can take messages now (logged in). Until it can, oms_send,
 * oms_replace and oms_cancel for it return -ENOTCONN before the risk check, which would take
 * rate tokens and remember the order for duplicates. A new OMS takes every venue as ready. */
void oms_venue_ready(struct oms *m, uint16_t venue, bool ready);

/* Timeouts of in-flight requests. Returns how many timed out now. */
uint32_t oms_poll(struct oms *m, uint64_t now_ns);

/*
 * Stage clocks: while tracing is on, each new order or replace that passes risk records the
 * risk check's cycles into risk and the OUCH encoding plus the hand-off to the session into
 * encode, less overhead (the cost of one TSC read). The worker turns tracing on for the market
 * data events it samples; hist pointers NULL: never.
 */
void oms_set_stage_hists(struct oms *m, struct hist *risk, struct hist *encode, uint64_t overhead);
void oms_trace(struct oms *m, bool on);

const struct oms_order *oms_order(const struct oms *m, uint64_t id);
const struct oms_stats *oms_stats(const struct oms *m);
/* Calls fn for each order that is not final. */
void oms_each_open(const struct oms *m, void (*fn)(void *ctx, const struct oms_order *o),
		   void *ctx);
const char *oms_state_name(enum oms_state s);
const char *oms_event_name(enum oms_event_kind k);

#endif
