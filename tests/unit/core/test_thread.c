/*
 * Description: pinning and naming threads, CPU list parsing, and isolation detection from sysfs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thread.h"

Test(thread, pin_moves_the_thread_to_the_core)
{
	cr_assert_eq(thread_pin(0), 0);
	cpu_set_t set;
	cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof(set), &set), 0);
	cr_assert_eq(CPU_COUNT(&set), 1);
	cr_assert(CPU_ISSET(0, &set));
	cr_assert_eq(sched_getcpu(), 0);
}

Test(thread, pin_rejects_cpus_out_of_range)
{
	cr_assert_eq(thread_pin(-1), -EINVAL);
	cr_assert_eq(thread_pin(CPU_SETSIZE), -EINVAL);
	/* A CPU number in range but not present on the machine is refused by the kernel. */
	cr_assert_eq(thread_pin(CPU_SETSIZE - 1), -EINVAL);
}

Test(thread, name_is_set_and_long_names_refused)
{
	char name[16];
	cr_assert_eq(thread_set_name("ts-worker-1"), 0);
	cr_assert_eq(pthread_getname_np(pthread_self(), name, sizeof(name)), 0);
	cr_assert_str_eq(name, "ts-worker-1");
	cr_assert_eq(thread_set_name("a-name-that-is-too-long"), -ERANGE);
}

Test(thread, cpulist_parses_ranges_and_singles)
{
	cpu_set_t s;
	cr_assert_eq(thread_parse_cpulist("0-3,8,10-11\n", &s), 0);
	cr_assert_eq(CPU_COUNT(&s), 7);
	cr_assert(CPU_ISSET(2, &s) && CPU_ISSET(8, &s) && CPU_ISSET(11, &s));
	cr_assert(!CPU_ISSET(9, &s));
	cr_assert_eq(thread_parse_cpulist("\n", &s), 0);
	cr_assert_eq(CPU_COUNT(&s), 0);
}

Test(thread, cpulist_rejects_garbage)
{
	cpu_set_t s;
	cr_assert_eq(thread_parse_cpulist("3-1", &s), -EINVAL);
	cr_assert_eq(thread_parse_cpulist("1,,2", &s), -EINVAL);
	cr_assert_eq(thread_parse_cpulist("a", &s), -EINVAL);
	cr_assert_eq(thread_parse_cpulist("1-", &s), -EINVAL);
	cr_assert_eq(thread_parse_cpulist("99999", &s), -EINVAL);
	cr_assert_eq(thread_parse_cpulist("1 2", &s), -EINVAL);
}

/* A fake sysfs tree lets the test decide which cores are isolated. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

Test(thread, isolation_is_read_from_isolated_and_nohz_full)
{
	char root[] = "/tmp/tradsys-sysfs-XXXXXX", path[256];
	cr_assert_not_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/devices", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/devices/system", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/devices/system/cpu", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/devices/system/cpu/isolated", root);
	write_file(path, "2-3\n");
	cr_assert_eq(thread_cpu_isolated(root, 2), 1);
	cr_assert_eq(thread_cpu_isolated(root, 1), 0, "no nohz_full file, not isolated");

	char nohz[256];
	snprintf(nohz, sizeof(nohz), "%s/devices/system/cpu/nohz_full", root);
	write_file(nohz, "1\n");
	cr_assert_eq(thread_cpu_isolated(root, 1), 1);
	cr_assert_eq(thread_cpu_isolated(root, 0), 0);
	write_file(path, "garbage\n");
	cr_assert_eq(thread_cpu_isolated(root, 0), -EINVAL);
	unlink(nohz);
	unlink(path);
	snprintf(path, sizeof(path), "%s/devices/system/cpu", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/devices/system", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/devices", root);
	rmdir(path);
	rmdir(root);
}

Test(thread, setup_pins_and_names)
{
	char name[16];
	cr_assert_eq(thread_setup(0, "ts-setup"), 0);
	cr_assert_eq(sched_getcpu(), 0);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	cr_assert_str_eq(name, "ts-setup");
}
