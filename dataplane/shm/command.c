/*
 * Creating, attaching to and removing a worker's command ring. The dataplane makes the object at
 * start and removes it on a clean exit; the control plane maps it and checks magic, version and
 * sizes before it enqueues anything, because a dataplane of another build may own it.
 */
#include "command.h"
#include "region.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int shm_command_name(const char *instance, uint32_t worker, char *out, size_t len)
{
	size_t n = instance ? strlen(instance) : 0;

	if (n == 0 || n >= SHM_COMMAND_NAME_LEN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = instance[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
		if (!ok)
			return -EINVAL;
	}
	if ((size_t)snprintf(out, len, "/tradsys-%s-cmd-%u", instance, worker) >= len)
		return -EINVAL;
	return 0;
}

size_t shm_command_bytes(uint32_t capacity)
{
	return offsetof(struct shm_command_region, ring) +
	       spsc_ring_bytes(capacity, SHM_COMMAND_RECORD_SIZE);
}

/* True when fd holds an object whose creator is another process that is still alive. */
static bool owned_by_live_process(int fd, int32_t *pid)
{
	struct shm_command_header h;

	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.magic != SHM_COMMAND_MAGIC ||
	    h.pid <= 0 || h.pid == (int32_t)getpid())
		return false;
	*pid = h.pid;
	return kill(h.pid, 0) == 0 || errno == EPERM;
}

int shm_command_create(struct shm_command_ring *cr, const char *instance, uint32_t worker,
		       uint32_t capacity, char *err, size_t errlen)
{
	struct shm_command_region *reg;
	char name[64];
	size_t bytes;
	int32_t pid;
	int fd, rc;

	memset(cr, 0, sizeof(*cr));
	if (shm_command_name(instance, worker, name, sizeof(name))) {
		snprintf(err, errlen, "instance '%s': use 1 to %d letters, digits, '-', '_' or '.'",
			 instance ? instance : "", SHM_COMMAND_NAME_LEN - 1);
		return -EINVAL;
	}
	if (capacity < 2 || (capacity & (capacity - 1)) || capacity > (1u << 24)) {
		snprintf(err, errlen, "command ring capacity %u: use a power of two in [2, 2^24]",
			 capacity);
		return -EINVAL;
	}
	bytes = shm_command_bytes(capacity);
	fd = shm_region_create(name, 0600, owned_by_live_process, &pid);
	if (fd == -EBUSY) {
		snprintf(err, errlen, "command ring /dev/shm%s belongs to running process %d", name,
			 pid);
		return fd;
	}
	if (fd < 0) {
		snprintf(err, errlen, "shm_open %s: %s", name, strerror(-fd));
		return fd;
	}
	if (ftruncate(fd, (off_t)bytes)) {
		rc = -errno;
		snprintf(err, errlen, "ftruncate %s to %zu bytes: %s", name, bytes, strerror(-rc));
		goto out;
	}
	reg = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (reg == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "mmap %s (%zu bytes): %s", name, bytes, strerror(-rc));
		goto out;
	}
	reg->hdr.abi_version = SHM_COMMAND_ABI_VERSION;
	reg->hdr.size = bytes;
	reg->hdr.record_size = SHM_COMMAND_RECORD_SIZE;
	reg->hdr.worker = worker;
	reg->hdr.pid = (int32_t)getpid();
	snprintf(reg->hdr.instance, sizeof(reg->hdr.instance), "%s", instance);
	spsc_ring_init(&reg->ring, capacity, SHM_COMMAND_RECORD_SIZE);
	atomic_store_explicit((_Atomic uint32_t *)&reg->hdr.magic, SHM_COMMAND_MAGIC,
			      memory_order_release);
	cr->region = reg;
	cr->size = bytes;
	cr->owner = true;
	rc = 0;
out:
	close(fd);
	return rc;
}

int shm_command_check(const void *mem, size_t len, char *err, size_t errlen)
{
	const struct shm_command_region *reg = mem;
	const struct shm_command_header *h = &reg->hdr;
	uint32_t magic;

	if (len < sizeof(struct shm_command_region)) {
		snprintf(err, errlen, "command ring of %zu bytes is smaller than its header (%zu)",
			 len, sizeof(struct shm_command_region));
		return -EINVAL;
	}
	magic = atomic_load_explicit((const _Atomic uint32_t *)&h->magic, memory_order_acquire);
	if (magic != SHM_COMMAND_MAGIC) {
		snprintf(err, errlen,
			 "not a tradsys command ring (magic 0x%08x, expected 0x%08x), or not "
			 "initialised yet",
			 magic, SHM_COMMAND_MAGIC);
		return -EPROTO;
	}
	if (h->abi_version != SHM_COMMAND_ABI_VERSION) {
		snprintf(err, errlen,
			 "command ring ABI version %u, this build understands version %u",
			 h->abi_version, SHM_COMMAND_ABI_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (h->record_size != SHM_COMMAND_RECORD_SIZE || h->size != len ||
	    spsc_ring_check(&reg->ring, len - offsetof(struct shm_command_region, ring),
			    SHM_COMMAND_RECORD_SIZE) ||
	    h->size != shm_command_bytes(reg->ring.capacity)) {
		snprintf(
			err, errlen,
			"command ring sizes do not add up: record size %u (expected %d), size %llu, "
			"mapped %zu, ring capacity %u",
			h->record_size, SHM_COMMAND_RECORD_SIZE, (unsigned long long)h->size, len,
			reg->ring.capacity);
		return -EINVAL;
	}
	return 0;
}

int shm_command_attach(struct shm_command_ring *cr, const char *instance, uint32_t worker,
		       char *err, size_t errlen)
{
	struct stat st;
	char name[64];
	void *mem;
	int fd, rc;

	memset(cr, 0, sizeof(*cr));
	if (shm_command_name(instance, worker, name, sizeof(name))) {
		snprintf(err, errlen, "instance '%s': not a valid instance name",
			 instance ? instance : "");
		return -EINVAL;
	}
	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen,
			 "no command ring for instance '%s' worker %u (/dev/shm%s: %s)", instance,
			 worker, name, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		snprintf(err, errlen, "fstat /dev/shm%s: %s", name, strerror(-rc));
		goto out;
	}
	if ((size_t)st.st_size < sizeof(struct shm_command_region)) {
		rc = -EINVAL;
		snprintf(err, errlen, "/dev/shm%s: %lld bytes is too small for a command ring",
			 name, (long long)st.st_size);
		goto out;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "mmap /dev/shm%s: %s", name, strerror(-rc));
		goto out;
	}
	rc = shm_command_check(mem, (size_t)st.st_size, err, errlen);
	if (rc) {
		munmap(mem, (size_t)st.st_size);
		goto out;
	}
	cr->region = mem;
	cr->size = (size_t)st.st_size;
out:
	close(fd);
	return rc;
}

void shm_command_destroy(struct shm_command_ring *cr)
{
	char name[64];

	if (!cr->region)
		return;
	if (cr->owner && shm_command_name(cr->region->hdr.instance, cr->region->hdr.worker, name,
					  sizeof(name)) == 0)
		shm_unlink(name);
	munmap(cr->region, cr->size);
	cr->region = NULL;
}
