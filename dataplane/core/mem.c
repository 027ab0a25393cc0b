/*
 * Huge-page backed allocation. Sizes of 2 MiB and more are rounded up to 2 MiB whether hugetlb
 * pages or ordinary (THP-advised) pages back them, smaller ones to 4 KiB; the mapping records
 * nothing: the caller passes the size back to core_mem_free(), as with munmap.
 */
#include "mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_2M (2u << 20)

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

void *core_mem_alloc(size_t size)
{
	void *p;

	if (size == 0)
		size = 1;
	/* Small tables are not worth a huge page each. */
	if (size >= HUGE_2M) {
		p = mmap(NULL, round_up(size, HUGE_2M), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
		if (p != MAP_FAILED)
			return p;
	}
	/* At 2 MiB and up the length is a multiple of 2 MiB either way, so core_mem_free() can
	 * unmap with one length whichever kind of page backed it. */
	size_t len = round_up(size, size >= HUGE_2M ? HUGE_2M : 4096);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	if (len >= HUGE_2M)
		madvise(p, len, MADV_HUGEPAGE);
	/* Fault every page in now (anonymous memory is already zero). */
	for (size_t i = 0; i < len; i += 4096)
		((volatile char *)p)[i] = 0;
	return p;
}

void core_mem_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size == 0)
		size = 1;
	munmap(p, round_up(size, size >= HUGE_2M ? HUGE_2M : 4096));
}
