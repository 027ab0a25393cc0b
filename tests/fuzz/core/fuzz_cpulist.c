/*
 * libFuzzer target: the CPU list parser (isolated, nohz_full and config core lists).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[256];
	cpu_set_t set;

	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (thread_parse_cpulist(buf, &set) != 0 && CPU_COUNT(&set) > CPU_SETSIZE)
		abort();
	return 0;
}
