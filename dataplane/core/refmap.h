/*
 * An open-addressing map from 64-bit ids (order references, order ids) to 32-bit pool indices,
 * with linear probing and backward-shift deletion, so lookups never wade through tombstones and
 * the table never needs rebuilding. Id 0 is reserved as "empty". Capacity is a power of two at
 * least twice the live entries, sized once at start.
 */
#ifndef TRADSYS_CORE_REFMAP_H
#define TRADSYS_CORE_REFMAP_H

#include <stdint.h>
#include <stdlib.h>

#define REFMAP_NONE UINT32_MAX

struct refmap {
	uint64_t *keys;
	uint32_t *vals;
	uint64_t mask;
	uint64_t cap;
};

/* Allocates room for max_live entries. Returns 0 or -ENOMEM. */
int refmap_init(struct refmap *m, uint64_t max_live);
void refmap_free(struct refmap *m);

/*
 * Exchanges hand out order references (and the engine its ids) in increasing order, and most
 * activity is on recent orders, so consecutive keys go to consecutive slots: a burst of recent
 * orders shares cache lines instead of costing a miss each. The fold of the high bits keeps keys
 * that differ only above the table size from landing on one slot.
 */
static inline uint64_t refmap_slot(const struct refmap *m, uint64_t key)
{
	return (key ^ (key >> 32) * 0x9e3779b1u) & m->mask;
}

/* The value stored for key, or REFMAP_NONE (always for key 0, which marks empty slots). */
static inline uint32_t refmap_get(const struct refmap *m, uint64_t key)
{
	if (key == 0)
		return REFMAP_NONE;
	for (uint64_t s = refmap_slot(m, key);; s = (s + 1) & m->mask) {
		if (m->keys[s] == key)
			return m->vals[s];
		if (m->keys[s] == 0)
			return REFMAP_NONE;
	}
}

/* Stores key (not present, not 0) -> val. The caller keeps the live count within capacity. */
static inline void refmap_put(struct refmap *m, uint64_t key, uint32_t val)
{
	uint64_t s = refmap_slot(m, key);
	while (m->keys[s] != 0)
		s = (s + 1) & m->mask;
	m->keys[s] = key;
	m->vals[s] = val;
}

/* Removes key (which must be present), shifting later members of its probe run back. */
static inline void refmap_del(struct refmap *m, uint64_t key)
{
	uint64_t s = refmap_slot(m, key);
	while (m->keys[s] != key)
		s = (s + 1) & m->mask;
	for (uint64_t n = (s + 1) & m->mask; m->keys[n] != 0; n = (n + 1) & m->mask) {
		uint64_t home = refmap_slot(m, m->keys[n]);
		/* The entry at n may fill s only if its home is not cyclically in (s, n]. */
		if (((n - home) & m->mask) >= ((n - s) & m->mask)) {
			m->keys[s] = m->keys[n];
			m->vals[s] = m->vals[n];
			s = n;
		}
	}
	m->keys[s] = 0;
}

#endif
