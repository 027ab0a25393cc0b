/*
 * SoupBinTCP 3.0 framing: every packet is a 2-byte big-endian length (of what follows), a 1-byte
 * packet type and a payload. The framer reads packets in place out of a TCP receive buffer and
 * never reads past it; builders write packets into a caller's buffer. Session logic (login,
 * heartbeats, replay) sits on top of this in the venue session code.
 */
#ifndef TRADSYS_SOUP_H
#define TRADSYS_SOUP_H

#include <stddef.h>
#include <stdint.h>

#define SOUP_MAX_PAYLOAD 65534 /* the length field counts the type byte too */
#define SOUP_USER_LEN 6
#define SOUP_PASS_LEN 10
#define SOUP_SESSION_LEN 10
#define SOUP_SEQ_LEN 20

enum soup_type {
	/* server to client */
	SOUP_DEBUG = '+',
	SOUP_LOGIN_ACCEPTED = 'A',
	SOUP_LOGIN_REJECTED = 'J',
	SOUP_SEQUENCED = 'S',
	SOUP_SERVER_HEARTBEAT = 'H',
	SOUP_END_OF_SESSION = 'Z',
	/* client to server */
	SOUP_LOGIN_REQUEST = 'L',
	SOUP_UNSEQUENCED = 'U',
	SOUP_CLIENT_HEARTBEAT = 'R',
	SOUP_LOGOUT_REQUEST = 'O',
};

/* Which side sent the bytes being framed: packet types are checked against it. */
enum soup_dir {
	SOUP_FROM_SERVER,
	SOUP_FROM_CLIENT,
};

enum soup_error {
	SOUP_ERR_ZERO_LENGTH = 1, /* a length of 0 has no room for the type */
	SOUP_ERR_UNKNOWN_TYPE, /* not a type this direction sends */
	SOUP_ERR_BAD_LENGTH, /* a fixed-size packet with the wrong size */
	SOUP_ERR_BAD_FIELD, /* a login field that is not space-padded text or digits */
	SOUP_ERR_COUNT,
};

/* A packet found in a buffer: its type and a view of its payload. */
struct soup_frame {
	uint8_t type;
	uint16_t len;
	const uint8_t *payload;
};

/*
 * Frames one packet at buf[0..len). Returns the bytes it takes (> 0) with *f filled, 0 when the
 * buffer holds only part of a packet (read more), or -SOUP_ERR_* when the bytes are not a valid
 * packet for dir (the connection should be dropped: SoupBinTCP has no resynchronisation).
 */
int soup_frame_next(const uint8_t *buf, size_t len, enum soup_dir dir, struct soup_frame *f);

/* Label of an error ("unknown_type", ...). */
const char *soup_error_name(int err);

/* A parsed login request; text fields are NUL-terminated with their padding removed. */
struct soup_login {
	char user[SOUP_USER_LEN + 1];
	char pass[SOUP_PASS_LEN + 1];
	char session[SOUP_SESSION_LEN + 1]; /* empty: the current session */
	uint64_t seq; /* requested next sequence; 0: from now */
};

/* Parses a login request payload (46 bytes). Returns 0 or -SOUP_ERR_BAD_FIELD / BAD_LENGTH. */
int soup_login_parse(const struct soup_frame *f, struct soup_login *out);

/* Parses a login accepted payload (session and next sequence). Returns 0 or -SOUP_ERR_*. */
int soup_accepted_parse(const struct soup_frame *f, char session[SOUP_SESSION_LEN + 1],
			uint64_t *seq);

/*
 * Builders. Each writes one packet into out (cap bytes) and returns its size, or 0 if it does not
 * fit or a field is too long.
 */
size_t soup_build(uint8_t *out, size_t cap, uint8_t type, const void *payload, size_t len);
size_t soup_build_login_request(uint8_t *out, size_t cap, const char *user, const char *pass,
				const char *session, uint64_t seq);
size_t soup_build_login_accepted(uint8_t *out, size_t cap, const char *session, uint64_t seq);
size_t soup_build_login_rejected(uint8_t *out, size_t cap, char reason);

#endif
