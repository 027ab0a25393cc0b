/* Creating a shared memory object afresh (region.h). */
#include "region.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int shm_region_create(const char *name, mode_t mode, bool (*live)(int fd, int32_t *pid),
		      int32_t *pid)
{
	/* Twice at most: another process may create the name between the unlink and the open. */
	for (int tries = 0; tries < 2; tries++) {
		int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
		int old = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
		if (old >= 0) {
			bool busy = live(old, pid);
			close(old);
			if (busy)
				return -EBUSY;
		}
		if (shm_unlink(name) && errno != ENOENT)
			return -errno;
	}
	return -EEXIST;
}
