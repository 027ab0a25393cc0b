/*
 * Refmap allocation; the operations are inline in refmap.h.
 */
#include "refmap.h"

#include <errno.h>

int refmap_init(struct refmap *m, uint64_t max_live)
{
	uint64_t cap = 16;

	while (cap < max_live * 2)
		cap <<= 1;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	m->mask = cap - 1;
	if (!m->keys || !m->vals) {
		refmap_free(m);
		return -ENOMEM;
	}
	return 0;
}

void refmap_free(struct refmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
}
