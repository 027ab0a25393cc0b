/*
 * Large preallocated tables for the hot path (order pools, reference maps, price levels). They are
 * mapped on 2 MiB pages where the machine allows it, because a table of tens of megabytes touched
 * at random costs a TLB miss per access on 4 KiB pages, and they are faulted in at allocation so
 * no page fault lands on the message path.
 */
#ifndef TRADSYS_CORE_MEM_H
#define TRADSYS_CORE_MEM_H

#include <stddef.h>

/*
 * Returns size bytes of zeroed, resident memory aligned to 64 bytes: from hugetlbfs pages when
 * reserved ones are free, else anonymous memory with transparent huge pages requested, else plain
 * pages. NULL with errno ENOMEM on failure. Free with core_mem_free(ptr, size).
 */
void *core_mem_alloc(size_t size);
void core_mem_free(void *p, size_t size);

#endif
