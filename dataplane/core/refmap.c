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
	m->keys = core_mem_alloc(cap * sizeof(*m->keys));
	m->vals = core_mem_alloc(cap * sizeof(*m->vals));
	m->mask = cap - 1;
	m->cap = cap;
	if (!m->keys || !m->vals) {
		refmap_free(m);
		return -ENOMEM;
	}
	return 0;
}

void refmap_free(struct refmap *m)
{
	core_mem_free(m->keys, m->cap * sizeof(*m->keys));
	core_mem_free(m->vals, m->cap * sizeof(*m->vals));
	m->keys = NULL;
	m->vals = NULL;
}
