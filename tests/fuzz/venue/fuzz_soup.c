/*
 * libFuzzer target: a SoupBinTCP byte stream (first byte picks the direction) framed packet by
 * packet; login packets parsed; OUCH payloads of sequenced and unsequenced packets validated.
 * Every view must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ouch.h"
#include "soup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum soup_dir dir = data[0] & 1 ? SOUP_FROM_CLIENT : SOUP_FROM_SERVER;
	uint8_t *buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	size_t len = size - 1, off = 0;
	struct soup_frame f;

	for (;;) {
		int r = soup_frame_next(buf + off, len - off, dir, &f);
		if (r <= 0)
			break;
		if (f.payload < buf || f.payload + f.len > buf + len)
			abort();
		if (f.type == SOUP_LOGIN_REQUEST) {
			struct soup_login l;
			soup_login_parse(&f, &l);
		} else if (f.type == SOUP_LOGIN_ACCEPTED) {
			char s[SOUP_SESSION_LEN + 1];
			uint64_t seq;
			soup_accepted_parse(&f, s, &seq);
		} else if (f.type == SOUP_SEQUENCED || f.type == SOUP_UNSEQUENCED) {
			enum ouch_dir od = f.type == SOUP_SEQUENCED ? OUCH_OUTBOUND : OUCH_INBOUND;
			if (ouch_msg_check(f.payload, f.len, od) == 0 &&
			    f.len != ouch_msg_len(f.payload[0], od))
				abort();
		}
		off += (size_t)r;
	}
	free(buf);
	return 0;
}
