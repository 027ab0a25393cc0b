/*
 * The admin API's link to a running dataplane: it finds the instance through its stats region
 * and writes commands into the workers' command rings. The stats region is mapped once and kept:
 * each use checks (one stat(2)) that the object behind the name is still the one mapped, and
 * remaps only when it is not (another inode or size: a dataplane that restarted made a new one),
 * since mapping per request cost more than the rest of GET /status. A ring is single-producer, so
 * every send holds one mutex; a ring mapping is dropped and remade when the dataplane behind it
 * changed (another pid in the stats region), since a restarted dataplane makes new shared objects.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_internal.h"

void api_dataplane_init(struct api_dataplane *d, const char *instance)
{
	char name[64];

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	pthread_rwlock_init(&d->st_lock, NULL);
	snprintf(d->instance, sizeof(d->instance), "%s", instance);
	/* glibc's shm_open puts "/name" under /dev/shm; a bad name fails later in shm_open with the
	 * same message shm_stats_attach gives. */
	if (shm_stats_name(instance, name, sizeof(name)) == 0)
		snprintf(d->st_path, sizeof(d->st_path), "/dev/shm%s", name);
}

static void stats_unmap(struct api_dataplane *d)
{
	/* The length mapped, not the header's: a dataplane that reused the object may have
	 * changed the header. */
	if (d->st)
		munmap((void *)d->st, d->st_len);
	d->st = NULL;
	d->st_len = 0;
}

void api_dataplane_fini(struct api_dataplane *d)
{
	for (uint32_t w = 0; w < SHM_STATS_MAX_WORKERS; w++)
		if (d->rings[w].region)
			shm_command_destroy(&d->rings[w]);
	stats_unmap(d);
	pthread_rwlock_destroy(&d->st_lock);
	pthread_mutex_destroy(&d->mu);
}

/* true when the mapping is of the object the name holds now and that object checks out. */
static bool stats_current(const struct api_dataplane *d)
{
	struct stat sb;
	char err[8];

	return d->st && !stat(d->st_path, &sb) && sb.st_ino == d->st_ino &&
	       sb.st_dev == d->st_dev && (size_t)sb.st_size == d->st_len &&
	       !shm_stats_check(d->st, d->st_len, err, sizeof(err));
}

/* Maps the region anew (write lock held). Returns 0 or -errno with err. */
static int stats_remap(struct api_dataplane *d, char *err, size_t errlen)
{
	char name[64];
	struct stat sb;
	void *mem;
	int fd, rc;

	stats_unmap(d);
	if (shm_stats_name(d->instance, name, sizeof(name))) {
		snprintf(err, errlen, "instance '%s': not a valid instance name", d->instance);
		return -EINVAL;
	}
	fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "no dataplane instance '%s' (/dev/shm%s: %s)", d->instance,
			 name, strerror(errno));
		return rc;
	}
	if (fstat(fd, &sb)) {
		rc = -errno;
		snprintf(err, errlen, "fstat /dev/shm%s: %s", name, strerror(errno));
		goto out;
	}
	if ((size_t)sb.st_size < sizeof(struct shm_stats)) {
		rc = -EPROTO;
		snprintf(err, errlen, "/dev/shm%s: %ld bytes is too small for a stats region", name,
			 (long)sb.st_size);
		goto out;
	}
	mem = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "mmap /dev/shm%s: %s", name, strerror(errno));
		goto out;
	}
	rc = shm_stats_check(mem, (size_t)sb.st_size, err, errlen);
	if (rc) {
		munmap(mem, (size_t)sb.st_size);
		goto out;
	}
	d->st = mem;
	d->st_len = (size_t)sb.st_size;
	d->st_dev = sb.st_dev;
	d->st_ino = sb.st_ino;
out:
	close(fd);
	return rc;
}

const struct shm_stats *api_dataplane_stats_get(struct api_dataplane *d, char *err, size_t errlen)
{
	pthread_rwlock_rdlock(&d->st_lock);
	if (stats_current(d))
		return d->st;
	pthread_rwlock_unlock(&d->st_lock);

	pthread_rwlock_wrlock(&d->st_lock);
	/* Another thread may have remapped while this one waited. */
	if (!stats_current(d) && stats_remap(d, err, errlen)) {
		pthread_rwlock_unlock(&d->st_lock);
		return NULL;
	}
	/* Readers may share it from here on; a writer that slips in between finds it current or
	 * replaces it with another that is, so what is returned is always a live mapping. */
	pthread_rwlock_unlock(&d->st_lock);
	pthread_rwlock_rdlock(&d->st_lock);
	if (!d->st) {
		pthread_rwlock_unlock(&d->st_lock);
		snprintf(err, errlen, "dataplane instance '%s' went away", d->instance);
		return NULL;
	}
	return d->st;
}

void api_dataplane_stats_put(struct api_dataplane *d)
{
	pthread_rwlock_unlock(&d->st_lock);
}

int api_dataplane_incarnation(struct api_dataplane *d, struct api_dataplane_incarnation *inc,
			      char *err, size_t errlen)
{
	const struct shm_stats *st = api_dataplane_stats_get(d, err, errlen);
	int rc = 0;

	if (!st)
		return -ENOENT;
	inc->pid = st->hdr.pid;
	inc->start_wall_ns = st->hdr.start_wall_ns;
	inc->nworkers = st->hdr.nworkers;
	if (st->hdr.state != SHM_STATS_RUNNING || inc->pid <= 0 ||
	    (kill(inc->pid, 0) && errno == ESRCH)) {
		snprintf(err, errlen, "dataplane instance '%s' is not running", d->instance);
		rc = -ENOENT;
	}
	api_dataplane_stats_put(d);
	return rc;
}

/* The pid of the live dataplane of the instance, or 0 (and err) when none runs. */
static int32_t live_pid(struct api_dataplane *d, uint32_t *nworkers, char *err, size_t errlen)
{
	struct api_dataplane_incarnation inc;

	if (api_dataplane_incarnation(d, &inc, err, errlen))
		return 0;
	if (nworkers)
		*nworkers = inc.nworkers;
	return inc.pid;
}

uint32_t api_dataplane_workers(struct api_dataplane *d)
{
	char err[256];
	uint32_t n = 0;

	return live_pid(d, &n, err, sizeof(err)) ? n : 0;
}

int api_dataplane_send(struct api_dataplane *d, uint32_t w, const struct shm_command *c, char *err,
		       size_t errlen)
{
	uint32_t nworkers = 0;
	int32_t pid;
	int rc;

	if (w >= SHM_STATS_MAX_WORKERS) {
		snprintf(err, errlen, "worker %u out of range", w);
		return -EINVAL;
	}
	pid = live_pid(d, &nworkers, err, errlen);
	if (!pid)
		return -ENOENT;
	if (w >= nworkers) {
		snprintf(err, errlen, "dataplane instance '%s' has %u workers, no worker %u",
			 d->instance, nworkers, w);
		return -ENOENT;
	}
	pthread_mutex_lock(&d->mu);
	if (d->rings[w].region && d->ring_pid[w] != pid)
		shm_command_destroy(&d->rings[w]);
	if (!d->rings[w].region) {
		rc = shm_command_attach(&d->rings[w], d->instance, w, err, errlen);
		if (rc) {
			memset(&d->rings[w], 0, sizeof(d->rings[w]));
			goto out;
		}
		d->ring_pid[w] = pid;
	}
	rc = shm_command_send(&d->rings[w], c);
	if (rc == -EAGAIN)
		snprintf(err, errlen, "the command ring of worker %u is full", w);
out:
	pthread_mutex_unlock(&d->mu);
	return rc;
}
