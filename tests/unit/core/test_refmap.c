/*
 * Description: the reference map against a plain array: keys that share a home slot queue behind
 * it and are found (refmap_find points at the slot each sits in), a delete shifts the keys after
 * it back so every one stays reachable, the probe wraps from the last slot to the first, and after
 * long random sequences of puts and deletes the map answers like an array with no hole inside any
 * probe run.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "refmap.h"

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The first n keys whose home slot is slot (each from a different group: a group's keys have
 * different home slots). */
static void keys_at(const struct refmap *m, uint64_t slot, uint64_t *out, int n)
{
	int k = 0;
	for (uint64_t key = 1; k < n; key++)
		if (refmap_slot(m, key) == slot)
			out[k++] = key;
}

/* Where key sits, or -1. */
static int64_t slot_of(const struct refmap *m, uint64_t key)
{
	for (uint64_t i = 0; i < m->cap; i++)
		if (m->slots[i].key == key)
			return (int64_t)i;
	return -1;
}

Test(refmap, keys_with_one_home_queue_behind_it_and_a_delete_shifts_them_back)
{
	struct refmap m;
	uint64_t k[7];

	cr_assert_eq(refmap_init(&m, 8), 0); /* 16 slots */
	cr_assert_eq(m.cap, 16);
	keys_at(&m, 5, k, 7);
	for (int i = 0; i < 6; i++)
		refmap_put(&m, k[i], 100 + (uint32_t)i);
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(refmap_get(&m, k[i]), 100 + (uint32_t)i, "key %d", i);
		cr_assert_eq(slot_of(&m, k[i]), 5 + i, "key %d queues behind the one before", i);
		cr_assert_eq(refmap_find(&m, k[i]), &m.slots[5 + i], "key %d: its own slot", i);
	}
	cr_assert_eq(refmap_get(&m, k[6]), REFMAP_NONE, "absent key with the same home");
	cr_assert_null(refmap_find(&m, k[6]), "absent key: no slot");
	cr_assert_null(refmap_find(&m, 0), "key 0: no slot");

	/* The first goes: the rest move back one slot each, and all are still found. */
	refmap_del(&m, k[0]);
	cr_assert_eq(refmap_get(&m, k[0]), REFMAP_NONE);
	for (int i = 1; i < 6; i++) {
		cr_assert_eq(refmap_get(&m, k[i]), 100 + (uint32_t)i, "key %d", i);
		cr_assert_eq(slot_of(&m, k[i]), 4 + i, "key %d shifted back", i);
	}
	cr_assert_eq(m.slots[10].key, 0, "the run's last slot is empty again");
	refmap_put(&m, k[6], 106);
	cr_assert_eq(slot_of(&m, k[6]), 10);
	cr_assert_eq(refmap_get(&m, 0), REFMAP_NONE, "key 0 marks empty slots");
	refmap_free(&m);
}

Test(refmap, the_probe_wraps_from_the_last_slot_to_the_first)
{
	struct refmap m;
	uint64_t k[4];

	cr_assert_eq(refmap_init(&m, 8), 0);
	keys_at(&m, m.mask, k, 4);
	for (int i = 0; i < 4; i++)
		refmap_put(&m, k[i], (uint32_t)i);
	cr_assert_eq(slot_of(&m, k[0]), (int64_t)m.mask);
	cr_assert_eq(slot_of(&m, k[3]), 2);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(refmap_get(&m, k[i]), (uint32_t)i);
	refmap_del(&m, k[0]);
	cr_assert_eq(slot_of(&m, k[1]), (int64_t)m.mask, "shifted back across the wrap");
	for (int i = 1; i < 4; i++)
		cr_assert_eq(refmap_get(&m, k[i]), (uint32_t)i);
	refmap_free(&m);
}

/* Keys from a small space, mostly increasing like order references, inserted and deleted at
 * random up to the capacity's half: the map answers like an array after every operation, and no
 * live key has an empty slot between its home and where it sits (what lookups rely on). */
Test(refmap, long_random_sequences_answer_like_an_array)
{
	enum { MAX_LIVE = 512, SPACE = 6000, OPS = 400000 };
	struct refmap m;
	uint32_t *val = calloc(SPACE, sizeof(*val)); /* 0: absent, else value + 1 */
	uint64_t *live = calloc(MAX_LIVE, sizeof(*live)), s = 0x9e3779b97f4a7c15ull, next = 1;
	uint32_t nlive = 0;

	cr_assert(val && live);
	cr_assert_eq(refmap_init(&m, MAX_LIVE), 0);
	for (int op = 0; op < OPS; op++) {
		uint64_t r = rng(&s);
		if (nlive < MAX_LIVE && (r % 100 < 52 || nlive == 0)) {
			/* New keys mostly climb; some jump back into the space. */
			uint64_t key = r % 8 ? next : 1 + rng(&s) % (SPACE - 1);
			if (r % 8)
				next = next % (SPACE - 1) + 1;
			if (val[key])
				continue;
			val[key] = (uint32_t)op + 1;
			live[nlive++] = key;
			refmap_put(&m, key, (uint32_t)op);
		} else {
			uint32_t i = (uint32_t)(rng(&s) % nlive);
			uint64_t key = live[i];
			refmap_del(&m, key);
			val[key] = 0;
			live[i] = live[--nlive];
		}
		uint64_t probe = 1 + rng(&s) % (SPACE - 1);
		uint32_t want = val[probe] ? val[probe] - 1 : REFMAP_NONE;
		cr_assert_eq(refmap_get(&m, probe), want, "op %d key %lu", op,
			     (unsigned long)probe);
	}
	for (uint64_t key = 1; key < SPACE; key++)
		cr_assert_eq(refmap_get(&m, key), val[key] ? val[key] - 1 : REFMAP_NONE);
	for (uint64_t i = 0; i < m.cap; i++) {
		uint64_t key = m.slots[i].key;
		if (!key)
			continue;
		for (uint64_t j = refmap_slot(&m, key); j != i; j = (j + 1) & m.mask)
			cr_assert_neq(m.slots[j].key, 0, "key %lu at %lu: hole at %lu",
				      (unsigned long)key, (unsigned long)i, (unsigned long)j);
	}
	free(val);
	free(live);
	refmap_free(&m);
}
