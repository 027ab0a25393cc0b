/*
 * Description: the SPSC ring's boundaries (empty, full, wrap-around, partial and all-or-nothing
 * bursts), its checks on shared memory, and 10M items between two processes in order.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spsc.h"

struct item {
	uint64_t seq;
	uint32_t a, b;
};

static struct spsc_ring *ring_new(uint32_t cap, uint32_t es)
{
	struct spsc_ring *r = aligned_alloc(64, spsc_ring_bytes(cap, es));
	cr_assert_not_null(r);
	cr_assert_eq(spsc_ring_init(r, cap, es), 0);
	return r;
}

Test(spsc, init_rejects_bad_capacity_and_element_size)
{
	static _Alignas(64) unsigned char mem[4096];
	struct spsc_ring *r = (struct spsc_ring *)mem;
	cr_assert_eq(spsc_ring_init(r, 0, 8), -EINVAL);
	cr_assert_eq(spsc_ring_init(r, 1, 8), -EINVAL);
	cr_assert_eq(spsc_ring_init(r, 12, 8), -EINVAL);
	cr_assert_eq(spsc_ring_init(r, 16, 0), -EINVAL);
	cr_assert_eq(spsc_ring_init(r, 16, 8), 0);
}

Test(spsc, empty_ring_dequeues_nothing)
{
	struct spsc_ring *r = ring_new(8, sizeof(struct item));
	struct item out[4];
	cr_assert_eq(spsc_dequeue_burst(r, out, 4), 0);
	cr_assert_eq(spsc_ring_count(r), 0);
	free(r);
}

Test(spsc, full_ring_takes_no_more_and_partial_burst_fills_it)
{
	struct spsc_ring *r = ring_new(8, sizeof(struct item));
	struct item in[12];
	for (int i = 0; i < 12; i++)
		in[i] = (struct item){ .seq = (uint64_t)i, .a = (uint32_t)i * 3 };
	cr_assert_eq(spsc_enqueue_burst(r, in, 5), 5);
	cr_assert_eq(spsc_enqueue_burst(r, in + 5, 7), 3, "only three slots were free");
	cr_assert_eq(spsc_ring_count(r), 8);
	cr_assert_eq(spsc_enqueue_burst(r, in + 8, 1), 0);
	cr_assert_eq(spsc_enqueue_bulk(r, in + 8, 1), 0);

	struct item out[8];
	cr_assert_eq(spsc_dequeue_burst(r, out, 8), 8);
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(out[i].seq, (uint64_t)i);
		cr_assert_eq(out[i].a, (uint32_t)i * 3);
	}
	free(r);
}

Test(spsc, bulk_enqueue_is_all_or_nothing)
{
	struct spsc_ring *r = ring_new(8, sizeof(uint64_t));
	uint64_t v[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	cr_assert_eq(spsc_enqueue_bulk(r, v, 6), 6);
	cr_assert_eq(spsc_enqueue_bulk(r, v, 3), 0);
	cr_assert_eq(spsc_ring_count(r), 6);
	cr_assert_eq(spsc_enqueue_bulk(r, v, 2), 2);
	free(r);
}

Test(spsc, items_keep_order_across_many_wrap_arounds)
{
	struct spsc_ring *r = ring_new(16, sizeof(uint64_t));
	uint64_t next_in = 0, next_out = 0, buf[7];

	/* Bursts of 7 into a ring of 16 land on every offset, so every wrap split is exercised. */
	for (int round = 0; round < 10000; round++) {
		uint32_t want = (uint32_t)(round % 7) + 1;
		for (uint32_t i = 0; i < want; i++)
			buf[i] = next_in + i;
		next_in += spsc_enqueue_burst(r, buf, want);
		uint32_t got = spsc_dequeue_burst(r, buf, (uint32_t)(round % 5) + 1);
		for (uint32_t i = 0; i < got; i++)
			cr_assert_eq(buf[i], next_out + i, "round %d", round);
		next_out += got;
	}
	cr_assert_gt(next_out, 16 * 100, "the ring wrapped many times");
	cr_assert_eq(spsc_ring_count(r), (uint32_t)(next_in - next_out));
	free(r);
}

Test(spsc, check_rejects_foreign_or_mismatched_memory)
{
	size_t len = spsc_ring_bytes(64, 16);
	struct spsc_ring *r = aligned_alloc(64, len);
	memset(r, 0xab, len);
	cr_assert_eq(spsc_ring_check(r, len, 16), -EPROTO);
	cr_assert_eq(spsc_ring_init(r, 64, 16), 0);
	cr_assert_eq(spsc_ring_check(r, len, 16), 0);
	cr_assert_eq(spsc_ring_check(r, len, 8), -EINVAL, "element size differs");
	cr_assert_eq(spsc_ring_check(r, len - 1, 16), -EINVAL, "mapping too short");
	r->mask = 62;
	cr_assert_eq(spsc_ring_check(r, len, 16), -EINVAL, "corrupt mask");
	free(r);
}

/* 10M items from a child process to this one through a MAP_SHARED mapping, in batches of 32. */
Test(spsc, ten_million_items_between_two_processes_in_order_none_lost, .timeout = 120)
{
	enum { ITEMS = 10000000, BATCH = 32, CAP = 4096 };
	size_t len = spsc_ring_bytes(CAP, sizeof(uint64_t));
	struct spsc_ring *r =
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(r, MAP_FAILED);
	cr_assert_eq(spsc_ring_init(r, CAP, sizeof(uint64_t)), 0);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		uint64_t b[BATCH];
		for (uint64_t next = 0; next < ITEMS;) {
			uint32_t n = ITEMS - next < BATCH ? (uint32_t)(ITEMS - next) : BATCH;
			for (uint32_t i = 0; i < n; i++)
				b[i] = next + i;
			next += spsc_enqueue_burst(r, b, n);
		}
		_exit(0);
	}

	uint64_t expect = 0, bad = 0, b[BATCH];
	while (expect < ITEMS) {
		uint32_t got = spsc_dequeue_burst(r, b, BATCH);
		for (uint32_t i = 0; i < got; i++)
			bad += b[i] != expect + i;
		expect += got;
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(bad, 0, "%lu items out of order", bad);
	cr_assert_eq(expect, ITEMS);
	cr_assert_eq(spsc_ring_count(r), 0, "nothing extra arrived");
	munmap(r, len);
}
