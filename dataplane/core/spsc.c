/*
 * SPSC ring set-up and the checks a second process makes before it trusts a mapped ring. The
 * transfer functions are inline in spsc.h so the hot path pays no call.
 */
#include "spsc.h"

#include <errno.h>

int spsc_ring_init(struct spsc_ring *r, uint32_t capacity, uint32_t elem_size)
{
	if (capacity < 2 || (capacity & (capacity - 1)) != 0 || elem_size == 0)
		return -EINVAL;
	r->elem_size = elem_size;
	r->capacity = capacity;
	r->mask = capacity - 1;
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	r->tail_cache = 0;
	r->head_cache = 0;
	/* The magic goes last, released, so a process that sees it sees the rest. */
	atomic_thread_fence(memory_order_release);
	r->magic = SPSC_MAGIC;
	return 0;
}

int spsc_ring_check(const struct spsc_ring *r, size_t len, uint32_t elem_size)
{
	if (len < sizeof(*r))
		return -EINVAL;
	if (r->magic != SPSC_MAGIC)
		return -EPROTO;
	if (r->elem_size != elem_size || r->capacity < 2 || (r->capacity & r->mask) != 0 ||
	    r->mask != r->capacity - 1 || spsc_ring_bytes(r->capacity, r->elem_size) > len)
		return -EINVAL;
	return 0;
}
