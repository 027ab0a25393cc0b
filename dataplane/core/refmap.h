/*
 * An open-addressing map from 64-bit ids (order references, order ids) to 32-bit pool indices,
 * with linear probing and backward-shift deletion, so lookups never wade through tombstones and
 * the table never needs rebuilding. Id 0 is reserved as "empty". Capacity is a power of two at
 * least twice the live entries, sized once at start. A key and its value share a 16-byte slot,
 * so a lookup costs one cache line, and refmap_prefetch() can fetch it ahead of use.
 */
#ifndef TRADSYS_CORE_REFMAP_H
#define TRADSYS_CORE_REFMAP_H

#include <stdint.h>
#include <stdlib.h>

#define REFMAP_NONE UINT32_MAX

struct refmap_slot {
	uint64_t key;
	uint32_t val;
	uint32_t pad;
};

struct refmap {
	struct refmap_slot *slots;
	uint64_t mask;
	uint64_t cap;
	unsigned int shift; /* 64 - log2(cap / REFMAP_GROUP) */
};

/* Allocates room for max_live entries. Returns 0 or -ENOMEM. */
int refmap_init(struct refmap *m, uint64_t max_live);
void refmap_free(struct refmap *m);

/*
 * Exchanges hand out order references (and the engine its ids) in increasing order, and most
 * activity is on recent orders, so each run of REFMAP_GROUP consecutive keys shares one cache
 * line: a burst of new orders costs one miss per line, not per order. The groups themselves are
 * scattered (Fibonacci hashing of the group number): mapping consecutive keys to consecutive
 * slots everywhere would let one long-lived order displace every later key by a slot, building
 * runs of thousands of occupied slots that each insert and delete must walk.
 */
#define REFMAP_GROUP 4

static inline uint64_t refmap_slot(const struct refmap *m, uint64_t key)
{
	uint64_t group = (key / REFMAP_GROUP) * 0x9e3779b97f4a7c15ull >> m->shift;
	return (group * REFMAP_GROUP + key % REFMAP_GROUP) & m->mask;
}

/* Starts loading key's home slot into the cache, for a lookup a little later. */
static inline void refmap_prefetch(const struct refmap *m, uint64_t key)
{
	__builtin_prefetch(&m->slots[refmap_slot(m, key)], 1);
}

/* The slot holding key, or NULL (always for key 0, which marks empty slots). */
static inline const struct refmap_slot *refmap_find(const struct refmap *m, uint64_t key)
{
	if (key == 0)
		return NULL;
	for (uint64_t s = refmap_slot(m, key);; s = (s + 1) & m->mask) {
		if (m->slots[s].key == key)
			return &m->slots[s];
		if (m->slots[s].key == 0)
			return NULL;
	}
}

/* The value stored for key, or REFMAP_NONE (always for key 0). */
static inline uint32_t refmap_get(const struct refmap *m, uint64_t key)
{
	const struct refmap_slot *s = refmap_find(m, key);

	return s ? s->val : REFMAP_NONE;
}

/*
 * For a refmap_del() a little later: the backward shift reads the slot after the key's, which is
 * on the next cache line when the key's slot ends its line (one key in four). Starts loading it.
 */
static inline void refmap_prefetch_del(const struct refmap *m, const struct refmap_slot *s)
{
	if (((uintptr_t)(s + 1) & 63) == 0)
		__builtin_prefetch(&m->slots[(uint64_t)(s + 1 - m->slots) & m->mask], 1);
}

/* Stores key (not present, not 0) -> val. The caller keeps the live count within capacity. */
static inline void refmap_put(struct refmap *m, uint64_t key, uint32_t val)
{
	uint64_t s = refmap_slot(m, key);
	while (m->slots[s].key != 0)
		s = (s + 1) & m->mask;
	m->slots[s].key = key;
	m->slots[s].val = val;
}

/* Removes key (which must be present), shifting later members of its probe run back. */
static inline void refmap_del(struct refmap *m, uint64_t key)
{
	uint64_t s = refmap_slot(m, key);
	while (m->slots[s].key != key)
		s = (s + 1) & m->mask;
	for (uint64_t n = (s + 1) & m->mask; m->slots[n].key != 0; n = (n + 1) & m->mask) {
		uint64_t home = refmap_slot(m, m->slots[n].key);
		/* The entry at n may fill s only if its home is not cyclically in (s, n]. */
		if (((n - home) & m->mask) >= ((n - s) & m->mask)) {
			m->slots[s] = m->slots[n];
			s = n;
		}
	}
	m->slots[s].key = 0;
}

#endif
