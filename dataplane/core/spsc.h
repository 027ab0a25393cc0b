/*
 * A bounded single-producer single-consumer ring of fixed-size elements. It holds no pointers,
 * so it works in memory shared between processes (the command ring, log rings). The producer's
 * and the consumer's indices sit on their own cache lines, each side keeps a private copy of the
 * other's index and reloads it only when the ring looks full or empty, and a burst moves with at
 * most two memcpy calls and one release store.
 */
#ifndef TRADSYS_CORE_SPSC_H
#define TRADSYS_CORE_SPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SPSC_MAGIC 0x54535053u /* "TSPS" */
#define SPSC_CACHE_LINE 64

struct spsc_ring {
	/* line 0: set once by spsc_ring_init(), read by both sides */
	uint32_t magic;
	uint32_t elem_size;
	uint32_t capacity;
	uint32_t mask;
	/* line 1: written by the producer only */
	_Alignas(SPSC_CACHE_LINE) _Atomic uint64_t head;
	uint64_t tail_cache;
	/* line 2: written by the consumer only */
	_Alignas(SPSC_CACHE_LINE) _Atomic uint64_t tail;
	uint64_t head_cache;
	/* elements start on their own line */
	_Alignas(SPSC_CACHE_LINE) unsigned char data[];
};

/* Bytes to allocate (or map) for a ring of capacity elements of elem_size bytes. */
static inline size_t spsc_ring_bytes(uint32_t capacity, uint32_t elem_size)
{
	return sizeof(struct spsc_ring) + (size_t)capacity * elem_size;
}

/*
 * Initialises a ring in caller-provided memory of spsc_ring_bytes() bytes, aligned to 64.
 * Returns 0, or -EINVAL if capacity is not a power of two >= 2 or elem_size is 0.
 */
int spsc_ring_init(struct spsc_ring *r, uint32_t capacity, uint32_t elem_size);

/*
 * Checks that memory mapped from another process holds a ring of elem_size elements that fits
 * in len bytes. Returns 0, -EPROTO on a bad magic, or -EINVAL on a size mismatch.
 */
int spsc_ring_check(const struct spsc_ring *r, size_t len, uint32_t elem_size);

/* Elements in the ring as the consumer would see them now. */
static inline uint32_t spsc_ring_count(const struct spsc_ring *r)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	return (uint32_t)(h - t);
}

/* Copies n elements in at index idx, wrapping at the end of the array. */
static inline void spsc_copy_in(struct spsc_ring *r, uint64_t idx, const void *src, uint32_t n)
{
	uint32_t at = (uint32_t)idx & r->mask;
	uint32_t first = r->capacity - at < n ? r->capacity - at : n;
	size_t es = r->elem_size;

	memcpy(r->data + at * es, src, first * es);
	if (n > first)
		memcpy(r->data, (const unsigned char *)src + first * es, (n - first) * es);
}

static inline void spsc_copy_out(const struct spsc_ring *r, uint64_t idx, void *dst, uint32_t n)
{
	uint32_t at = (uint32_t)idx & r->mask;
	uint32_t first = r->capacity - at < n ? r->capacity - at : n;
	size_t es = r->elem_size;

	memcpy(dst, r->data + at * es, first * es);
	if (n > first)
		memcpy((unsigned char *)dst + first * es, r->data, (n - first) * es);
}

/* Producer: enqueues up to n elements from items; returns how many went in (0 when full). */
static inline uint32_t spsc_enqueue_burst(struct spsc_ring *r, const void *items, uint32_t n)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t free_slots = r->capacity - (uint32_t)(head - r->tail_cache);

	if (free_slots < n) {
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		free_slots = r->capacity - (uint32_t)(head - r->tail_cache);
		if (n > free_slots)
			n = free_slots;
	}
	if (n == 0)
		return 0;
	spsc_copy_in(r, head, items, n);
	atomic_store_explicit(&r->head, head + n, memory_order_release);
	return n;
}

/* Producer: enqueues all n elements or none; returns n or 0. */
static inline uint32_t spsc_enqueue_bulk(struct spsc_ring *r, const void *items, uint32_t n)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (r->capacity - (uint32_t)(head - r->tail_cache) < n) {
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (r->capacity - (uint32_t)(head - r->tail_cache) < n)
			return 0;
	}
	spsc_copy_in(r, head, items, n);
	atomic_store_explicit(&r->head, head + n, memory_order_release);
	return n;
}

/* Consumer: dequeues up to n elements into items; returns how many came out (0 when empty). */
static inline uint32_t spsc_dequeue_burst(struct spsc_ring *r, void *items, uint32_t n)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t avail = (uint32_t)(r->head_cache - tail);

	if (avail < n) {
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
		avail = (uint32_t)(r->head_cache - tail);
		if (n > avail)
			n = avail;
	}
	if (n == 0)
		return 0;
	spsc_copy_out(r, tail, items, n);
	atomic_store_explicit(&r->tail, tail + n, memory_order_release);
	return n;
}

#endif
