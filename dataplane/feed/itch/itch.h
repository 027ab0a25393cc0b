/*
 * Nasdaq TotalView-ITCH 5.0 in place. Each message type is a packed view of its wire bytes (the
 * spec's offsets, checked by static asserts); fields are read where they lie with itch_be16/32/
 * 48/64, so decoding copies nothing. itch_msg_check() validates type and length before any field
 * is read: a caller that checks first can never read past a message. Prices are 4-byte integers
 * at 1/10000 (MWCB levels: 8 bytes at 1/100000000); timestamps are 6-byte nanoseconds since
 * midnight; text fields are ASCII, right-padded with spaces.
 */
#ifndef TRADSYS_ITCH_H
#define TRADSYS_ITCH_H

#include <stddef.h>
#include <stdint.h>

#define ITCH_PRICE_SCALE 10000
#define ITCH_MWCB_PRICE_SCALE 100000000
#define ITCH_STOCK_LEN 8

/* Message types of the 5.0 edition. */
#define ITCH_SYSTEM_EVENT 'S'
#define ITCH_STOCK_DIRECTORY 'R'
#define ITCH_TRADING_ACTION 'H'
#define ITCH_REG_SHO 'Y'
#define ITCH_PARTICIPANT_POSITION 'L'
#define ITCH_MWCB_DECLINE 'V'
#define ITCH_MWCB_STATUS 'W'
#define ITCH_IPO_QUOTING 'K'
#define ITCH_LULD_COLLAR 'J'
#define ITCH_OPERATIONAL_HALT 'h'
#define ITCH_ADD_ORDER 'A'
#define ITCH_ADD_ORDER_MPID 'F'
#define ITCH_ORDER_EXECUTED 'E'
#define ITCH_ORDER_EXECUTED_PRICE 'C'
#define ITCH_ORDER_CANCEL 'X'
#define ITCH_ORDER_DELETE 'D'
#define ITCH_ORDER_REPLACE 'U'
#define ITCH_TRADE 'P'
#define ITCH_CROSS_TRADE 'Q'
#define ITCH_BROKEN_TRADE 'B'
#define ITCH_NOII 'I'
#define ITCH_RPII 'N'
#define ITCH_DLCR 'O'

#define ITCH_PACKED __attribute__((packed))

/* The 11 bytes every message starts with. */
#define ITCH_HEADER          \
	uint8_t type;        \
	uint8_t locate[2];   \
	uint8_t tracking[2]; \
	uint8_t timestamp[6]

struct itch_header {
	ITCH_HEADER;
} ITCH_PACKED;

struct itch_system_event {
	ITCH_HEADER;
	uint8_t event; /* O S Q M E C */
} ITCH_PACKED;

struct itch_stock_directory {
	ITCH_HEADER;
	char stock[8];
	uint8_t market_category;
	uint8_t financial_status;
	uint8_t round_lot[4];
	uint8_t round_lots_only;
	uint8_t issue_classification;
	char issue_subtype[2];
	uint8_t authenticity;
	uint8_t short_sale_threshold;
	uint8_t ipo_flag;
	uint8_t luld_tier;
	uint8_t etp_flag;
	uint8_t etp_leverage[4];
	uint8_t inverse;
} ITCH_PACKED;

struct itch_trading_action {
	ITCH_HEADER;
	char stock[8];
	uint8_t state; /* H halted, P paused, Q quotation only, T trading */
	uint8_t reserved;
	char reason[4];
} ITCH_PACKED;

struct itch_reg_sho {
	ITCH_HEADER;
	char stock[8];
	uint8_t action; /* 0 none, 1 intraday drop, 2 in effect */
} ITCH_PACKED;

struct itch_participant_position {
	ITCH_HEADER;
	char mpid[4];
	char stock[8];
	uint8_t primary;
	uint8_t mode;
	uint8_t state;
} ITCH_PACKED;

struct itch_mwcb_decline {
	ITCH_HEADER;
	uint8_t level1[8];
	uint8_t level2[8];
	uint8_t level3[8];
} ITCH_PACKED;

struct itch_mwcb_status {
	ITCH_HEADER;
	uint8_t level;
} ITCH_PACKED;

struct itch_ipo_quoting {
	ITCH_HEADER;
	char stock[8];
	uint8_t release_time[4];
	uint8_t qualifier;
	uint8_t price[4];
} ITCH_PACKED;

struct itch_luld_collar {
	ITCH_HEADER;
	char stock[8];
	uint8_t ref_price[4];
	uint8_t upper[4];
	uint8_t lower[4];
	uint8_t extension[4];
} ITCH_PACKED;

struct itch_operational_halt {
	ITCH_HEADER;
	char stock[8];
	uint8_t market_code;
	uint8_t action;
} ITCH_PACKED;

struct itch_add_order {
	ITCH_HEADER;
	uint8_t ref[8];
	uint8_t side; /* B or S */
	uint8_t shares[4];
	char stock[8];
	uint8_t price[4];
} ITCH_PACKED;

struct itch_add_order_mpid {
	ITCH_HEADER;
	uint8_t ref[8];
	uint8_t side;
	uint8_t shares[4];
	char stock[8];
	uint8_t price[4];
	char attribution[4];
} ITCH_PACKED;

struct itch_order_executed {
	ITCH_HEADER;
	uint8_t ref[8];
	uint8_t shares[4];
	uint8_t match[8];
} ITCH_PACKED;

struct itch_order_executed_price {
	ITCH_HEADER;
	uint8_t ref[8];
	uint8_t shares[4];
	uint8_t match[8];
	uint8_t printable;
	uint8_t price[4];
} ITCH_PACKED;

struct itch_order_cancel {
	ITCH_HEADER;
	uint8_t ref[8];
	uint8_t shares[4];
} ITCH_PACKED;

struct itch_order_delete {
	ITCH_HEADER;
	uint8_t ref[8];
} ITCH_PACKED;

struct itch_order_replace {
	ITCH_HEADER;
	uint8_t orig_ref[8];
	uint8_t new_ref[8];
	uint8_t shares[4];
	uint8_t price[4];
} ITCH_PACKED;

struct itch_trade {
	ITCH_HEADER;
	uint8_t ref[8];
	uint8_t side;
	uint8_t shares[4];
	char stock[8];
	uint8_t price[4];
	uint8_t match[8];
} ITCH_PACKED;

struct itch_cross_trade {
	ITCH_HEADER;
	uint8_t shares[8];
	char stock[8];
	uint8_t price[4];
	uint8_t match[8];
	uint8_t cross_type;
} ITCH_PACKED;

struct itch_broken_trade {
	ITCH_HEADER;
	uint8_t match[8];
} ITCH_PACKED;

struct itch_noii {
	ITCH_HEADER;
	uint8_t paired[8];
	uint8_t imbalance[8];
	uint8_t direction;
	char stock[8];
	uint8_t far_price[4];
	uint8_t near_price[4];
	uint8_t ref_price[4];
	uint8_t cross_type;
	uint8_t variation;
} ITCH_PACKED;

struct itch_rpii {
	ITCH_HEADER;
	char stock[8];
	uint8_t flag;
} ITCH_PACKED;

struct itch_dlcr {
	ITCH_HEADER;
	char stock[8];
	uint8_t eligibility;
	uint8_t min_price[4];
	uint8_t max_price[4];
	uint8_t near_price[4];
	uint8_t near_time[8];
	uint8_t lower_collar[4];
	uint8_t upper_collar[4];
} ITCH_PACKED;

_Static_assert(sizeof(struct itch_system_event) == 12, "S is 12 bytes");
_Static_assert(sizeof(struct itch_stock_directory) == 39, "R is 39 bytes");
_Static_assert(sizeof(struct itch_trading_action) == 25, "H is 25 bytes");
_Static_assert(sizeof(struct itch_reg_sho) == 20, "Y is 20 bytes");
_Static_assert(sizeof(struct itch_participant_position) == 26, "L is 26 bytes");
_Static_assert(sizeof(struct itch_mwcb_decline) == 35, "V is 35 bytes");
_Static_assert(sizeof(struct itch_mwcb_status) == 12, "W is 12 bytes");
_Static_assert(sizeof(struct itch_ipo_quoting) == 28, "K is 28 bytes");
_Static_assert(sizeof(struct itch_luld_collar) == 35, "J is 35 bytes");
_Static_assert(sizeof(struct itch_operational_halt) == 21, "h is 21 bytes");
_Static_assert(sizeof(struct itch_add_order) == 36, "A is 36 bytes");
_Static_assert(sizeof(struct itch_add_order_mpid) == 40, "F is 40 bytes");
_Static_assert(sizeof(struct itch_order_executed) == 31, "E is 31 bytes");
_Static_assert(sizeof(struct itch_order_executed_price) == 36, "C is 36 bytes");
_Static_assert(sizeof(struct itch_order_cancel) == 23, "X is 23 bytes");
_Static_assert(sizeof(struct itch_order_delete) == 19, "D is 19 bytes");
_Static_assert(sizeof(struct itch_order_replace) == 35, "U is 35 bytes");
_Static_assert(sizeof(struct itch_trade) == 44, "P is 44 bytes");
_Static_assert(sizeof(struct itch_cross_trade) == 40, "Q is 40 bytes");
_Static_assert(sizeof(struct itch_broken_trade) == 19, "B is 19 bytes");
_Static_assert(sizeof(struct itch_noii) == 50, "I is 50 bytes");
_Static_assert(sizeof(struct itch_rpii) == 20, "N is 20 bytes");
_Static_assert(sizeof(struct itch_dlcr) == 48, "O is 48 bytes");

/* Exact length of each type; 0 for a byte that is not a 5.0 message type. */
extern const uint16_t itch_msg_len[256];

enum itch_error {
	ITCH_ERR_EMPTY = 1, /* a zero-length message */
	ITCH_ERR_UNKNOWN_TYPE, /* a type byte the spec does not define */
	ITCH_ERR_BAD_LENGTH, /* the framing length differs from the type's */
	ITCH_ERR_TRUNCATED, /* the buffer ends inside a length prefix or a message */
	ITCH_ERR_COUNT,
};

/* Messages seen per type and errors per reason. */
struct itch_stats {
	uint64_t msgs[256];
	uint64_t errors[ITCH_ERR_COUNT];
};

static inline uint16_t itch_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* memcpy of a constant size compiles to one unaligned load; the swap to one bswap. */
static inline uint32_t itch_be32(const uint8_t *p)
{
	uint32_t v;
	__builtin_memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

static inline uint64_t itch_be64(const uint8_t *p)
{
	uint64_t v;
	__builtin_memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

static inline uint64_t itch_be48(const uint8_t *p)
{
	return (uint64_t)itch_be16(p) << 32 | itch_be32(p + 2);
}

/* Header fields of any message (valid once itch_msg_check() passed). */
static inline uint16_t itch_locate(const uint8_t *m)
{
	return itch_be16(m + 1);
}

static inline uint64_t itch_timestamp(const uint8_t *m)
{
	return itch_be48(m + 5);
}

/*
 * 0 when msg[0..len) is a whole message of a known type; else -ITCH_ERR_*. The common case is one
 * table load and one compare (an unknown type has length 0 in the table, which no non-empty
 * message matches); the reason is worked out only on failure.
 */
static inline int itch_msg_check(const uint8_t *msg, size_t len)
{
	if (__builtin_expect(len != 0 && itch_msg_len[msg[0]] == len, 1))
		return 0;
	if (len == 0)
		return -ITCH_ERR_EMPTY;
	return itch_msg_len[msg[0]] == 0 ? -ITCH_ERR_UNKNOWN_TYPE : -ITCH_ERR_BAD_LENGTH;
}

/*
 * Steps through Nasdaq's file framing (each message preceded by a 2-byte big-endian length).
 * From buf[*off], returns 1 with *msg and *len set and *off advanced, 0 at the end of the buffer,
 * or -ITCH_ERR_TRUNCATED when the buffer ends inside a prefix or a message (*off is unchanged).
 * The message itself is not validated: call itch_msg_check() on it.
 */
static inline int itch_file_next(const uint8_t *buf, size_t size, size_t *off, const uint8_t **msg,
				 uint16_t *len)
{
	size_t o = *off;

	if (o >= size)
		return 0;
	if (size - o < 2)
		return -ITCH_ERR_TRUNCATED;
	uint16_t l = itch_be16(buf + o);
	if (size - o - 2 < l)
		return -ITCH_ERR_TRUNCATED;
	*msg = buf + o + 2;
	*len = l;
	*off = o + 2 + l;
	return 1;
}

/* Called for each valid message by itch_decode_file(). */
typedef void (*itch_msg_fn)(void *ctx, const uint8_t *msg, uint16_t len);

/*
 * Validates and hands every message of a file-framed buffer to fn, counting types and errors in
 * st. A bad message is counted and skipped; a truncated tail is counted and ends the walk.
 * Returns the number of valid messages.
 */
uint64_t itch_decode_file(const uint8_t *buf, size_t size, itch_msg_fn fn, void *ctx,
			  struct itch_stats *st);

/* Label of an error ("bad_length", ...) and of a type ("add_order", ...; "unknown"). */
const char *itch_error_name(int err);
const char *itch_type_name(uint8_t type);

/* Copies a space-padded stock symbol into out (9 bytes) without the padding. */
void itch_symbol(const char stock[ITCH_STOCK_LEN], char out[ITCH_STOCK_LEN + 1]);

#endif
