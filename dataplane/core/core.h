/*
 * The core runtime in one include: clock, histogram, SPSC ring, log, config and threads.
 */
#ifndef TRADSYS_CORE_H
#define TRADSYS_CORE_H

#include "clock.h"
#include "config.h"
#include "hist.h"
#include "log.h"
#include "refmap.h"
#include "spsc.h"
#include "thread.h"

/* Marks the cache line size for hot structs; every module uses the same constant. */
#define CORE_CACHE_LINE 64
/* Writes one byte per page of [p, p + len) so every page is resident before the hot path runs.
 * The memory must be zeroed (calloc'd): the byte written is the zero already there. */
static inline void core_prefault(void *p, size_t len)
{
	volatile char *c = p;
	for (size_t i = 0; i < len; i += 4096)
		c[i] = 0;
}

#define core_likely(x) __builtin_expect(!!(x), 1)
#define core_unlikely(x) __builtin_expect(!!(x), 0)

#endif
