/*
 * The admin API's link to a running dataplane: it finds the instance through its stats region
 * and writes commands into the workers' command rings. A ring is single-producer, so every send
 * holds one mutex; a mapping is dropped and remade when the dataplane behind it changed (another
 * pid in the stats region), since a restarted dataplane makes new shared objects.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api_internal.h"

void api_dataplane_init(struct api_dataplane *d, const char *instance)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	snprintf(d->instance, sizeof(d->instance), "%s", instance);
}

void api_dataplane_fini(struct api_dataplane *d)
{
	for (uint32_t w = 0; w < SHM_STATS_MAX_WORKERS; w++)
		if (d->rings[w].region)
			shm_command_destroy(&d->rings[w]);
	pthread_mutex_destroy(&d->mu);
}

/* The pid of the live dataplane of the instance, or 0 (and err) when none runs. */
static int32_t live_pid(const char *instance, uint32_t *nworkers, char *err, size_t errlen)
{
	const struct shm_stats *st = shm_stats_attach(instance, err, errlen);
	int32_t pid;

	if (!st)
		return 0;
	pid = st->hdr.pid;
	if (nworkers)
		*nworkers = st->hdr.nworkers;
	if (st->hdr.state != SHM_STATS_RUNNING || pid <= 0 || (kill(pid, 0) && errno == ESRCH)) {
		snprintf(err, errlen, "dataplane instance '%s' is not running", instance);
		pid = 0;
	}
	shm_stats_detach(st);
	return pid;
}

uint32_t api_dataplane_workers(struct api_dataplane *d)
{
	char err[256];
	uint32_t n = 0;

	return live_pid(d->instance, &n, err, sizeof(err)) ? n : 0;
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
	pid = live_pid(d->instance, &nworkers, err, errlen);
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
