/*
 * libFuzzer target: the config parser on arbitrary bytes, then every getter on whatever parsed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct config *c = config_parse((const char *)data, size, "fuzz.conf", err, sizeof(err));
	const char *names[8];
	static const char *const known[] = { "core", "driver", NULL };
	static const char *const drivers[] = { "dpdk", "xdp", "uring" };

	if (!c) {
		/* Every failure has a message naming the input. */
		if (strncmp(err, "fuzz.conf", 9) != 0)
			abort();
		return 0;
	}
	size_t n = config_sections(c, "worker", names, 8);
	for (size_t i = 0; i < n && i < 8; i++) {
		uint64_t u = 0;
		int64_t s = 0;
		bool b = false;
		int e = 0;
		const char *str = NULL;
		config_u64(c, names[i], "core", 0, 1024, &u);
		config_size(c, names[i], "pool", 0, UINT64_MAX, &u);
		config_i64(c, names[i], "offset", INT64_MIN, INT64_MAX, &s);
		config_bool(c, names[i], "busy_poll", &b);
		config_enum(c, names[i], "driver", drivers, 3, &e);
		config_str(c, names[i], "name", &str);
		config_check_keys(c, names[i], known);
	}
	config_require(c, "appliance", "instance_id");
	config_free(c);
	return 0;
}
