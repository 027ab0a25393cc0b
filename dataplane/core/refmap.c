/*
 * Refmap allocation (huge-page backed, resident); the operations are inline in refmap.h.
 */
#include "refmap.h"

#include <errno.h>

#include "mem.h"

int refmap_init(struct refmap *m, uint64_t max_live)
{
	uint64_t cap = 16;

	while (cap < max_live * 2)
		cap <<= 1;
	m->slots = core_mem_alloc(cap * sizeof(*m->slots));
	m->mask = cap - 1;
	m->cap = cap;
	m->shift = 64 - (unsigned int)__builtin_ctzll(cap / REFMAP_GROUP);
	if (!m->slots) {
		refmap_free(m);
		return -ENOMEM;
	}
	return 0;
}

void refmap_free(struct refmap *m)
{
	core_mem_free(m->slots, m->cap * sizeof(*m->slots));
	m->slots = NULL;
}
