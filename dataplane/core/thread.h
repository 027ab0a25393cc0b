/*
 * Putting a thread on its core: pin, name, and check that the core is isolated from the kernel
 * scheduler (isolcpus or nohz_full), because a worker sharing its core with other tasks loses
 * microseconds whenever the scheduler runs something else there.
 */
#ifndef TRADSYS_CORE_THREAD_H
#define TRADSYS_CORE_THREAD_H

#include <sched.h>
#include <stdbool.h>

/* Pins the calling thread to cpu. Returns 0, -EINVAL for a cpu out of range, or -errno. */
int thread_pin(int cpu);

/* Names the calling thread (15 characters at most, as ps and top show it). Returns 0 or -ERANGE. */
int thread_set_name(const char *name);

/*
 * Parses a Linux CPU list ("0-3,8,10-11") into set. Returns 0, or -EINVAL for malformed text or a
 * CPU beyond CPU_SETSIZE.
 */
int thread_parse_cpulist(const char *s, cpu_set_t *set);

/*
 * True if cpu is listed in /sys/devices/system/cpu/isolated or nohz_full. root is the sysfs root
 * (NULL for "/sys"; tests point it at a fake tree). Returns 1, 0, or -errno.
 */
int thread_cpu_isolated(const char *root, int cpu);

/*
 * Pins and names the calling thread and warns (through the log) when the core is not isolated.
 * Returns 0 or the error of thread_pin() / thread_set_name().
 */
int thread_setup(int cpu, const char *name);

#endif
