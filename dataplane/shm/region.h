/*
 * Private to dataplane/shm: creating a shared memory object (the stats region, a command ring)
 * that other processes map.
 */
#ifndef TRADSYS_SHM_REGION_H
#define TRADSYS_SHM_REGION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Creates the object `name` afresh, as a new inode: never the old one truncated under a reader
 * that still maps it (a reader touching a truncated mapping dies of SIGBUS; the control plane
 * keeps the region mapped across a dataplane's restarts and notices the new inode). An object
 * left behind by a process that is gone is unlinked first; one that live() says a running
 * process owns is refused. Returns the descriptor (size 0, mode as given), -EBUSY with *pid set,
 * or -errno.
 */
int shm_region_create(const char *name, mode_t mode, bool (*live)(int fd, int32_t *pid),
		      int32_t *pid);

#endif
