/*
 * SoupBinTCP framing and the login packets' fixed-width text fields: alphanumeric fields are
 * left-justified and space-padded, the sequence number is right-justified decimal ASCII padded
 * with spaces on the left.
 */
#include "soup.h"

#include <errno.h>
#include <string.h>

static const char *const error_names[SOUP_ERR_COUNT] = {
	[SOUP_ERR_ZERO_LENGTH] = "zero_length",
	[SOUP_ERR_UNKNOWN_TYPE] = "unknown_type",
	[SOUP_ERR_BAD_LENGTH] = "bad_length",
	[SOUP_ERR_BAD_FIELD] = "bad_field",
};

const char *soup_error_name(int err)
{
	if (err < 0)
		err = -err;
	return err > 0 && err < SOUP_ERR_COUNT ? error_names[err] : "unknown";
}

/* Payload size of each fixed-size type, or -1 for variable; 0 marks not allowed in dir. */
static int fixed_len(uint8_t type, enum soup_dir dir)
{
	if (dir == SOUP_FROM_SERVER) {
		switch (type) {
		case SOUP_LOGIN_ACCEPTED: return SOUP_SESSION_LEN + SOUP_SEQ_LEN;
		case SOUP_LOGIN_REJECTED: return 1;
		case SOUP_SERVER_HEARTBEAT:
		case SOUP_END_OF_SESSION: return -2; /* exactly 0 */
		case SOUP_SEQUENCED:
		case SOUP_DEBUG: return -1;
		default: return 0;
		}
	}
	switch (type) {
	case SOUP_LOGIN_REQUEST:
		return SOUP_USER_LEN + SOUP_PASS_LEN + SOUP_SESSION_LEN + SOUP_SEQ_LEN;
	case SOUP_CLIENT_HEARTBEAT:
	case SOUP_LOGOUT_REQUEST: return -2;
	case SOUP_UNSEQUENCED:
	case SOUP_DEBUG: return -1;
	default: return 0;
	}
}

int soup_frame_next(const uint8_t *buf, size_t len, enum soup_dir dir, struct soup_frame *f)
{
	if (len < 2)
		return 0;
	uint16_t plen = (uint16_t)(buf[0] << 8 | buf[1]);
	if (plen == 0)
		return -SOUP_ERR_ZERO_LENGTH;
	if (len < 3)
		return 0;
	/* The type is checked before the whole packet is in, so garbage fails fast. */
	int want = fixed_len(buf[2], dir);
	if (want == 0)
		return -SOUP_ERR_UNKNOWN_TYPE;
	if ((want == -2 && plen != 1) || (want > 0 && plen != want + 1))
		return -SOUP_ERR_BAD_LENGTH;
	if (len < (size_t)plen + 2)
		return 0;
	f->type = buf[2];
	f->len = (uint16_t)(plen - 1);
	f->payload = buf + 3;
	return plen + 2;
}

/* Copies a space-padded field into a NUL-terminated string without the padding. */
static int take_alpha(char *dst, const uint8_t *src, size_t n)
{
	size_t end = n;
	while (end > 0 && src[end - 1] == ' ')
		end--;
	for (size_t i = 0; i < end; i++)
		if (src[i] < 0x21 || src[i] > 0x7e)
			return -SOUP_ERR_BAD_FIELD;
	memcpy(dst, src, end);
	dst[end] = '\0';
	return 0;
}

/* Parses a right-justified, space-padded decimal field; all spaces means 0. */
static int take_number(uint64_t *out, const uint8_t *src, size_t n)
{
	size_t i = 0;
	uint64_t v = 0;

	while (i < n && src[i] == ' ')
		i++;
	for (; i < n; i++) {
		if (src[i] < '0' || src[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -SOUP_ERR_BAD_FIELD;
		v = v * 10 + (uint64_t)(src[i] - '0');
	}
	*out = v;
	return 0;
}

int soup_login_parse(const struct soup_frame *f, struct soup_login *out)
{
	const uint8_t *p = f->payload;

	if (f->type != SOUP_LOGIN_REQUEST ||
	    f->len != SOUP_USER_LEN + SOUP_PASS_LEN + SOUP_SESSION_LEN + SOUP_SEQ_LEN)
		return -SOUP_ERR_BAD_LENGTH;
	if (take_alpha(out->user, p, SOUP_USER_LEN) ||
	    take_alpha(out->pass, p + SOUP_USER_LEN, SOUP_PASS_LEN) ||
	    take_alpha(out->session, p + SOUP_USER_LEN + SOUP_PASS_LEN, SOUP_SESSION_LEN) ||
	    take_number(&out->seq, p + SOUP_USER_LEN + SOUP_PASS_LEN + SOUP_SESSION_LEN,
			SOUP_SEQ_LEN))
		return -SOUP_ERR_BAD_FIELD;
	return 0;
}

int soup_accepted_parse(const struct soup_frame *f, char session[SOUP_SESSION_LEN + 1],
			uint64_t *seq)
{
	if (f->type != SOUP_LOGIN_ACCEPTED || f->len != SOUP_SESSION_LEN + SOUP_SEQ_LEN)
		return -SOUP_ERR_BAD_LENGTH;
	if (take_alpha(session, f->payload, SOUP_SESSION_LEN) ||
	    take_number(seq, f->payload + SOUP_SESSION_LEN, SOUP_SEQ_LEN))
		return -SOUP_ERR_BAD_FIELD;
	return 0;
}

size_t soup_build(uint8_t *out, size_t cap, uint8_t type, const void *payload, size_t len)
{
	if (len > SOUP_MAX_PAYLOAD || len + 3 > cap)
		return 0;
	out[0] = (uint8_t)((len + 1) >> 8);
	out[1] = (uint8_t)(len + 1);
	out[2] = type;
	if (len)
		memcpy(out + 3, payload, len);
	return len + 3;
}

static int put_alpha(uint8_t *dst, const char *s, size_t n)
{
	size_t l = s ? strlen(s) : 0;
	if (l > n)
		return -1;
	memcpy(dst, s, l);
	memset(dst + l, ' ', n - l);
	return 0;
}

static void put_number(uint8_t *dst, uint64_t v, size_t n)
{
	memset(dst, ' ', n);
	size_t i = n;
	do {
		dst[--i] = (uint8_t)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
}

size_t soup_build_login_request(uint8_t *out, size_t cap, const char *user, const char *pass,
				const char *session, uint64_t seq)
{
	uint8_t p[SOUP_USER_LEN + SOUP_PASS_LEN + SOUP_SESSION_LEN + SOUP_SEQ_LEN];

	if (put_alpha(p, user, SOUP_USER_LEN) || put_alpha(p + 6, pass, SOUP_PASS_LEN) ||
	    put_alpha(p + 16, session, SOUP_SESSION_LEN))
		return 0;
	put_number(p + 26, seq, SOUP_SEQ_LEN);
	return soup_build(out, cap, SOUP_LOGIN_REQUEST, p, sizeof(p));
}

size_t soup_build_login_accepted(uint8_t *out, size_t cap, const char *session, uint64_t seq)
{
	uint8_t p[SOUP_SESSION_LEN + SOUP_SEQ_LEN];

	if (put_alpha(p, session, SOUP_SESSION_LEN))
		return 0;
	put_number(p + SOUP_SESSION_LEN, seq, SOUP_SEQ_LEN);
	return soup_build(out, cap, SOUP_LOGIN_ACCEPTED, p, sizeof(p));
}

size_t soup_build_login_rejected(uint8_t *out, size_t cap, char reason)
{
	uint8_t r = (uint8_t)reason;
	return soup_build(out, cap, SOUP_LOGIN_REJECTED, &r, 1);
}
