/*
 * Decimal text without printf, for writers on a hot or bulk path (the feed handler's decoded
 * file, the dump handler, the persister's COPY rows).
 */
#ifndef TRADSYS_CORE_TEXT_H
#define TRADSYS_CORE_TEXT_H

#include <stdint.h>

/* Writes v in decimal at p (at most 20 characters, no NUL) and returns the end. */
static inline char *core_put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

#endif
