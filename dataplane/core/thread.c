/*
 * Thread placement. Isolation is read from sysfs rather than the kernel command line so that it
 * reflects what the running kernel actually applied.
 */
#include "thread.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int thread_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int thread_set_name(const char *name)
{
	if (strlen(name) > 15)
		return -ERANGE;
	return -pthread_setname_np(pthread_self(), name);
}

/* Reads one decimal CPU number; returns the character after it, or NULL. */
static const char *read_cpu(const char *s, long *cpu)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return NULL;
	errno = 0;
	*cpu = strtol(s, &end, 10);
	if (errno || *cpu >= CPU_SETSIZE)
		return NULL;
	return end;
}

int thread_parse_cpulist(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '\n')
		return 0;
	for (;;) {
		long lo, hi;

		s = read_cpu(s, &lo);
		if (!s)
			return -EINVAL;
		hi = lo;
		if (*s == '-') {
			s = read_cpu(s + 1, &hi);
			if (!s || hi < lo)
				return -EINVAL;
		}
		for (long c = lo; c <= hi; c++)
			CPU_SET((int)c, set);
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s == '\0' || *s == '\n')
			return 0;
		return -EINVAL;
	}
}

/* 1 if cpu is in the list file at path, 0 if not or the file is absent, -errno on error. */
static int cpu_in_file(const char *path, int cpu)
{
	char buf[4096];
	cpu_set_t set;
	FILE *f = fopen(path, "r");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	if (thread_parse_cpulist(buf, &set) != 0)
		return -EINVAL;
	return CPU_ISSET(cpu, &set) ? 1 : 0;
}

int thread_cpu_isolated(const char *root, int cpu)
{
	char path[512];
	int r;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	if (!root)
		root = "/sys";
	snprintf(path, sizeof(path), "%s/devices/system/cpu/isolated", root);
	r = cpu_in_file(path, cpu);
	if (r != 0)
		return r;
	snprintf(path, sizeof(path), "%s/devices/system/cpu/nohz_full", root);
	return cpu_in_file(path, cpu);
}

int thread_setup(int cpu, const char *name)
{
	int err = thread_pin(cpu);

	if (err) {
		LOG_ERR("cannot pin thread to cpu %d: error %d", cpu, -err);
		return err;
	}
	err = thread_set_name(name);
	if (err)
		return err;
	if (thread_cpu_isolated(NULL, cpu) != 1)
		LOG_WARN("cpu %d is not isolated (isolcpus/nohz_full); expect scheduler jitter",
			 cpu);
	return 0;
}
