/*
 * Description: SoupBinTCP 3.0 framing from a byte stream (whole, partial, several packets, bad
 * lengths and types for each direction) and the login packets' padded fields.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "soup.h"

Test(soup, login_request_round_trips_with_padding)
{
	uint8_t buf[64];
	struct soup_frame f;
	struct soup_login l;
	size_t n = soup_build_login_request(buf, sizeof(buf), "TRD1", "s3cret", "", 1234);

	cr_assert_eq(n, 49);
	cr_assert_eq(buf[0], 0);
	cr_assert_eq(buf[1], 47);
	cr_assert_eq(buf[2], 'L');
	cr_assert_arr_eq(buf + 3, "TRD1  s3cret              ", 26,
			 "user and password space-padded");
	cr_assert_arr_eq(buf + 29, "                1234", 20, "sequence right-justified");
	cr_assert_eq(soup_frame_next(buf, n, SOUP_FROM_CLIENT, &f), 49);
	cr_assert_eq(f.type, 'L');
	cr_assert_eq(f.len, 46);
	cr_assert_eq(soup_login_parse(&f, &l), 0);
	cr_assert_str_eq(l.user, "TRD1");
	cr_assert_str_eq(l.pass, "s3cret");
	cr_assert_str_eq(l.session, "");
	cr_assert_eq(l.seq, 1234);
}

Test(soup, login_accepted_round_trips)
{
	uint8_t buf[64];
	struct soup_frame f;
	char session[11];
	uint64_t seq;
	size_t n = soup_build_login_accepted(buf, sizeof(buf), "SESS000001", 99);
	cr_assert_eq(n, 33);
	cr_assert_eq(soup_frame_next(buf, n, SOUP_FROM_SERVER, &f), 33);
	cr_assert_eq(soup_accepted_parse(&f, session, &seq), 0);
	cr_assert_str_eq(session, "SESS000001");
	cr_assert_eq(seq, 99);
}

Test(soup, partial_packet_asks_for_more_at_every_cut)
{
	uint8_t buf[64];
	struct soup_frame f;
	size_t n = soup_build(buf, sizeof(buf), SOUP_SEQUENCED, "ABCDEFGH", 8);
	for (size_t cut = 0; cut < n; cut++)
		cr_assert_eq(soup_frame_next(buf, cut, SOUP_FROM_SERVER, &f), 0, "cut %zu", cut);
	cr_assert_eq(soup_frame_next(buf, n, SOUP_FROM_SERVER, &f), (int)n);
	cr_assert_arr_eq(f.payload, "ABCDEFGH", 8);
	cr_assert_eq(f.payload, buf + 3, "payload is a view into the buffer");
}

Test(soup, several_packets_in_one_read_are_framed_in_turn)
{
	uint8_t buf[128];
	size_t n = 0;
	struct soup_frame f;
	n += soup_build(buf + n, sizeof(buf) - n, SOUP_SERVER_HEARTBEAT, NULL, 0);
	n += soup_build(buf + n, sizeof(buf) - n, SOUP_SEQUENCED, "xy", 2);
	n += soup_build(buf + n, sizeof(buf) - n, SOUP_END_OF_SESSION, NULL, 0);
	size_t off = 0;
	uint8_t types[3];
	for (int i = 0; i < 3; i++) {
		int r = soup_frame_next(buf + off, n - off, SOUP_FROM_SERVER, &f);
		cr_assert_gt(r, 0);
		types[i] = f.type;
		off += (size_t)r;
	}
	cr_assert_eq(off, n);
	cr_assert_arr_eq(types, "HSZ", 3);
}

Test(soup, types_are_checked_against_the_direction)
{
	uint8_t buf[16];
	struct soup_frame f;
	size_t n = soup_build(buf, sizeof(buf), SOUP_CLIENT_HEARTBEAT, NULL, 0);
	cr_assert_eq(soup_frame_next(buf, n, SOUP_FROM_SERVER, &f), -SOUP_ERR_UNKNOWN_TYPE);
	cr_assert_eq(soup_frame_next(buf, n, SOUP_FROM_CLIENT, &f), 3);
	n = soup_build(buf, sizeof(buf), 'Q', NULL, 0);
	cr_assert_eq(soup_frame_next(buf, n, SOUP_FROM_CLIENT, &f), -SOUP_ERR_UNKNOWN_TYPE);
	cr_assert_str_eq(soup_error_name(-SOUP_ERR_UNKNOWN_TYPE), "unknown_type");
}

Test(soup, zero_and_wrong_fixed_lengths_are_errors)
{
	uint8_t zero[3] = { 0, 0, 'H' };
	uint8_t hb_long[4] = { 0, 2, 'H', 0 };
	uint8_t login_short[20] = { 0, 10, 'L' };
	struct soup_frame f;
	cr_assert_eq(soup_frame_next(zero, 3, SOUP_FROM_SERVER, &f), -SOUP_ERR_ZERO_LENGTH);
	cr_assert_eq(soup_frame_next(hb_long, 4, SOUP_FROM_SERVER, &f), -SOUP_ERR_BAD_LENGTH);
	cr_assert_eq(soup_frame_next(login_short, 3, SOUP_FROM_CLIENT, &f), -SOUP_ERR_BAD_LENGTH,
		     "a bad length is caught before the rest arrives");
}

Test(soup, login_with_garbage_fields_is_rejected)
{
	uint8_t buf[64];
	struct soup_frame f;
	struct soup_login l;
	size_t n = soup_build_login_request(buf, sizeof(buf), "TRD1", "pw", "", 7);
	buf[3 + 26 + 19] = 'x'; /* sequence number not a digit */
	cr_assert_eq(soup_frame_next(buf, n, SOUP_FROM_CLIENT, &f), 49);
	cr_assert_eq(soup_login_parse(&f, &l), -SOUP_ERR_BAD_FIELD);
	n = soup_build_login_request(buf, sizeof(buf), "TRD1", "pw", "", 7);
	buf[3] = 0x01; /* control byte in the user name */
	soup_frame_next(buf, n, SOUP_FROM_CLIENT, &f);
	cr_assert_eq(soup_login_parse(&f, &l), -SOUP_ERR_BAD_FIELD);
}

Test(soup, builders_refuse_what_does_not_fit)
{
	uint8_t buf[8];
	cr_assert_eq(soup_build(buf, sizeof(buf), 'S', "123456", 6), 0);
	cr_assert_eq(soup_build(buf, sizeof(buf), 'S', "12345", 5), 8);
	uint8_t big[64];
	cr_assert_eq(soup_build_login_request(big, sizeof(big), "TOOLONGUSER", "p", "", 1), 0);
}
