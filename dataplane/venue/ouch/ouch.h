/*
 * OUCH 4.2 messages (Nasdaq order entry, carried in SoupBinTCP unsequenced packets from the client
 * and sequenced packets from the venue). Each message is a packed view of the wire bytes: text
 * fields are space-padded ASCII, numbers are big-endian binary, prices are 4 bytes at 1/10000.
 * Read fields in place with ouch_get32/64, write them with ouch_put32/64 and ouch_put_text.
 * ouch_msg_check() validates type and length for a direction before any field is read.
 */
#ifndef TRADSYS_OUCH_H
#define TRADSYS_OUCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define OUCH_TOKEN_LEN 14
#define OUCH_STOCK_LEN 8
#define OUCH_FIRM_LEN 4
#define OUCH_TIF_IOC 0u
#define OUCH_TIF_MARKET_HOURS 99998u
#define OUCH_TIF_SYSTEM_HOURS 99999u

enum ouch_dir {
	OUCH_INBOUND, /* client to venue */
	OUCH_OUTBOUND, /* venue to client */
};

/* Inbound types. */
#define OUCH_ENTER_ORDER 'O'
#define OUCH_REPLACE_ORDER 'U'
#define OUCH_CANCEL_ORDER 'X'
#define OUCH_MODIFY_ORDER 'M'
/* Outbound types ('U' is Replaced outbound). */
#define OUCH_SYSTEM_EVENT 'S'
#define OUCH_ACCEPTED 'A'
#define OUCH_REPLACED 'U'
#define OUCH_CANCELED 'C'
#define OUCH_AIQ_CANCELED 'D'
#define OUCH_EXECUTED 'E'
#define OUCH_BROKEN_TRADE 'B'
#define OUCH_PRICE_CORRECTION 'K'
#define OUCH_REJECTED 'J'
#define OUCH_CANCEL_PENDING 'P'
#define OUCH_CANCEL_REJECT 'I'
#define OUCH_ORDER_MODIFIED 'M'

#define OUCH_PACKED __attribute__((packed))

struct ouch_enter_order {
	uint8_t type;
	char token[OUCH_TOKEN_LEN];
	uint8_t side; /* B, S, T (short), E (short exempt) */
	uint8_t shares[4];
	char stock[OUCH_STOCK_LEN];
	uint8_t price[4];
	uint8_t tif[4];
	char firm[OUCH_FIRM_LEN];
	uint8_t display;
	uint8_t capacity;
	uint8_t iso;
	uint8_t min_qty[4];
	uint8_t cross;
	uint8_t customer;
} OUCH_PACKED;

struct ouch_replace_order {
	uint8_t type;
	char existing[OUCH_TOKEN_LEN];
	char replacement[OUCH_TOKEN_LEN];
	uint8_t shares[4];
	uint8_t price[4];
	uint8_t tif[4];
	uint8_t display;
	uint8_t iso;
	uint8_t min_qty[4];
} OUCH_PACKED;

struct ouch_cancel_order {
	uint8_t type;
	char token[OUCH_TOKEN_LEN];
	uint8_t shares[4]; /* the new total: 0 cancels the order */
} OUCH_PACKED;

struct ouch_modify_order {
	uint8_t type;
	char token[OUCH_TOKEN_LEN];
	uint8_t side;
	uint8_t shares[4];
} OUCH_PACKED;

struct ouch_system_event {
	uint8_t type;
	uint8_t timestamp[8]; /* ns since midnight */
	uint8_t event; /* S start of day, E end of day */
} OUCH_PACKED;

struct ouch_accepted {
	uint8_t type;
	uint8_t timestamp[8];
	char token[OUCH_TOKEN_LEN];
	uint8_t side;
	uint8_t shares[4];
	char stock[OUCH_STOCK_LEN];
	uint8_t price[4];
	uint8_t tif[4];
	char firm[OUCH_FIRM_LEN];
	uint8_t display;
	uint8_t order_ref[8];
	uint8_t capacity;
	uint8_t iso;
	uint8_t min_qty[4];
	uint8_t cross;
	uint8_t state; /* L live, D dead */
	uint8_t bbo_weight;
} OUCH_PACKED;

struct ouch_replaced {
	uint8_t type;
	uint8_t timestamp[8];
	char replacement[OUCH_TOKEN_LEN];
	uint8_t side;
	uint8_t shares[4];
	char stock[OUCH_STOCK_LEN];
	uint8_t price[4];
	uint8_t tif[4];
	char firm[OUCH_FIRM_LEN];
	uint8_t display;
	uint8_t order_ref[8];
	uint8_t capacity;
	uint8_t iso;
	uint8_t min_qty[4];
	uint8_t cross;
	uint8_t state;
	char previous[OUCH_TOKEN_LEN];
	uint8_t bbo_weight;
} OUCH_PACKED;

struct ouch_canceled {
	uint8_t type;
	uint8_t timestamp[8];
	char token[OUCH_TOKEN_LEN];
	uint8_t decrement[4];
	uint8_t reason; /* U user, I IOC, T timeout, S supervisory, D regulatory, Q self-match, Z system */
} OUCH_PACKED;

struct ouch_executed {
	uint8_t type;
	uint8_t timestamp[8];
	char token[OUCH_TOKEN_LEN];
	uint8_t shares[4];
	uint8_t price[4];
	uint8_t liquidity; /* A added, R removed, ... */
	uint8_t match[8];
} OUCH_PACKED;

struct ouch_broken_trade {
	uint8_t type;
	uint8_t timestamp[8];
	char token[OUCH_TOKEN_LEN];
	uint8_t match[8];
	uint8_t reason; /* E erroneous, C consent, S supervisory, X external */
} OUCH_PACKED;

struct ouch_rejected {
	uint8_t type;
	uint8_t timestamp[8];
	char token[OUCH_TOKEN_LEN];
	uint8_t reason; /* H halted, S invalid stock, X invalid price, N invalid min qty, O other ... */
} OUCH_PACKED;

struct ouch_cancel_pending {
	uint8_t type;
	uint8_t timestamp[8];
	char token[OUCH_TOKEN_LEN];
} OUCH_PACKED;

_Static_assert(sizeof(struct ouch_enter_order) == 49, "OUCH 4.2 Enter Order is 49 bytes");
_Static_assert(sizeof(struct ouch_replace_order) == 47, "OUCH 4.2 Replace Order is 47 bytes");
_Static_assert(sizeof(struct ouch_cancel_order) == 19, "OUCH 4.2 Cancel Order is 19 bytes");
_Static_assert(sizeof(struct ouch_modify_order) == 20, "OUCH 4.2 Modify Order is 20 bytes");
_Static_assert(sizeof(struct ouch_system_event) == 10, "System Event is 10 bytes");
_Static_assert(sizeof(struct ouch_accepted) == 66, "OUCH 4.2 Accepted is 66 bytes");
_Static_assert(sizeof(struct ouch_replaced) == 80, "OUCH 4.2 Replaced is 80 bytes");
_Static_assert(sizeof(struct ouch_canceled) == 28, "Canceled is 28 bytes");
_Static_assert(sizeof(struct ouch_executed) == 40, "Executed is 40 bytes");
_Static_assert(sizeof(struct ouch_broken_trade) == 32, "Broken Trade is 32 bytes");
_Static_assert(sizeof(struct ouch_rejected) == 24, "Rejected is 24 bytes");
_Static_assert(sizeof(struct ouch_cancel_pending) == 23, "Cancel Pending is 23 bytes");

enum ouch_error {
	OUCH_ERR_EMPTY = 1,
	OUCH_ERR_UNKNOWN_TYPE,
	OUCH_ERR_BAD_LENGTH,
	OUCH_ERR_COUNT,
};

/*
 * Validates that msg[0..len) is a whole OUCH 4.2 message of a known type for dir. Returns 0, or
 * -OUCH_ERR_EMPTY, -OUCH_ERR_UNKNOWN_TYPE or -OUCH_ERR_BAD_LENGTH.
 */
int ouch_msg_check(const uint8_t *msg, size_t len, enum ouch_dir dir);

/* Label of an error ("bad_length", ...). */
const char *ouch_error_name(int err);

/* Length of a message type for dir, or 0 if unknown. */
size_t ouch_msg_len(uint8_t type, enum ouch_dir dir);

static inline uint32_t ouch_get32(const uint8_t p[4])
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t ouch_get64(const uint8_t p[8])
{
	return (uint64_t)ouch_get32(p) << 32 | ouch_get32(p + 4);
}

static inline void ouch_put32(uint8_t p[4], uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void ouch_put64(uint8_t p[8], uint64_t v)
{
	ouch_put32(p, (uint32_t)(v >> 32));
	ouch_put32(p + 4, (uint32_t)v);
}

/* Writes s left-justified and space-padded into a field of n bytes; a longer s is cut at n. */
static inline void ouch_put_text(char *field, size_t n, const char *s)
{
	size_t l = strnlen(s, n);
	memcpy(field, s, l);
	memset(field + l, ' ', n - l);
}

/* Copies a space-padded field into dst (n + 1 bytes) without the padding. */
static inline void ouch_get_text(char *dst, const char *field, size_t n)
{
	while (n > 0 && field[n - 1] == ' ')
		n--;
	memcpy(dst, field, n);
	dst[n] = '\0';
}

/* ---- codec: encoders of inbound messages and one decoder of outbound messages ---- */

/*
 * The fields of an Enter Order. Text fields are C strings no longer than their wire field; a
 * zero single-character field takes its usual default (display 'Y', capacity 'A', iso, cross and
 * customer 'N').
 */
struct ouch_enter {
	const char *token;
	const char *stock;
	const char *firm; /* NULL or "": spaces */
	uint32_t shares, price, tif, min_qty;
	char side, display, capacity, iso, cross, customer;
};

/* The fields of a Replace Order (display 'Y' and iso 'N' by default). */
struct ouch_replace {
	const char *existing;
	const char *replacement;
	uint32_t shares, price, tif, min_qty;
	char display, iso;
};

/* The fields of a Cancel Order: shares is the new total, 0 cancels the whole order. */
struct ouch_cancel {
	const char *token;
	uint32_t shares;
};

/*
 * Encoders. Each writes one message (no SoupBinTCP header) into out and returns its size, or 0
 * when cap is too small, a required text field is missing or empty, or a text field is longer
 * than its wire field.
 */
size_t ouch_encode_enter(uint8_t *out, size_t cap, const struct ouch_enter *e);
size_t ouch_encode_replace(uint8_t *out, size_t cap, const struct ouch_replace *r);
size_t ouch_encode_cancel(uint8_t *out, size_t cap, const struct ouch_cancel *c);

/*
 * One outbound message, normalized. Fields a type does not carry are zero or empty. token is
 * the order's token (the replacement for Replaced), previous the token it replaced. For AIQ
 * Canceled, shares is the quantity prevented from trading and price the execution price; for
 * Price Correction, price is the new price; for Order Modified, shares is the new total.
 */
struct ouch_event {
	uint8_t type;
	uint8_t side;
	uint8_t liquidity;
	uint8_t reason;
	uint8_t state; /* Accepted/Replaced: L live, D dead */
	uint8_t event; /* System Event: S start of day, E end of day */
	uint8_t display;
	uint8_t capacity;
	uint32_t shares;
	uint32_t price;
	uint32_t decrement;
	uint32_t tif;
	uint32_t min_qty;
	uint64_t timestamp; /* ns since midnight */
	uint64_t order_ref;
	uint64_t match;
	char token[OUCH_TOKEN_LEN + 1];
	char previous[OUCH_TOKEN_LEN + 1];
	char stock[OUCH_STOCK_LEN + 1];
	char firm[OUCH_FIRM_LEN + 1];
};

/*
 * Decodes an outbound message msg[0..len) into *out (validated with ouch_msg_check first; out is
 * cleared either way). Returns 0 or -OUCH_ERR_EMPTY, -OUCH_ERR_UNKNOWN_TYPE, -OUCH_ERR_BAD_LENGTH.
 */
int ouch_decode(const uint8_t *msg, size_t len, struct ouch_event *out);

#endif
