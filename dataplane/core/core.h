/*
 * The core runtime in one include: clock, histogram, SPSC ring, log, config, threads and
 * the service manager's notifications.
 */
#ifndef TRADSYS_CORE_H
#define TRADSYS_CORE_H

#include "clock.h"
#include "config.h"
#include "hist.h"
#include "log.h"
#include "mem.h"
#include "notify.h"
#include "refmap.h"
#include "spsc.h"
#include "thread.h"

/* Marks the cache line size for hot structs; every module uses the same constant. */
#define CORE_CACHE_LINE 64
#define core_likely(x) __builtin_expect(!!(x), 1)
#define core_unlikely(x) __builtin_expect(!!(x), 0)

#endif
