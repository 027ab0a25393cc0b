/*
 * Description: core_put_u64 writes the decimal digits of every 64-bit value, no more and no NUL,
 * and returns the end: the same text as printf's %llu at the edges and across the range.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

static void check(uint64_t v)
{
	char got[32], want[32];

	memset(got, 'x', sizeof(got));
	char *end = core_put_u64(got, v);
	int n = snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
	cr_assert_eq(end - got, n, "%llu: %ld characters", (unsigned long long)v, (long)(end - got));
	cr_assert(memcmp(got, want, (size_t)n) == 0, "%llu: '%.*s'", (unsigned long long)v, n, got);
	cr_assert_eq(got[n], 'x', "%llu: wrote past its digits", (unsigned long long)v);
}

Test(text, edges_and_powers_of_ten)
{
	uint64_t p = 1;

	check(0);
	check(UINT64_MAX);
	check(UINT64_MAX - 1);
	for (int i = 0; i < 20; i++, p *= 10) {
		check(p);
		check(p - 1);
		check(p + 1);
	}
}

Test(text, a_spread_of_values)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check(x >> (x % 64));
	}
}
