/*
 * libFuzzer target: frame classification on arbitrary bytes, with the input copied to an
 * exact-size buffer so any read past the frame is caught by ASan.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct driver_cfg cfg;
	struct pkt p;
	enum driver_drop why;

	if (cfg.nflows == 0) {
		driver_cfg_default(&cfg, DRIVER_DPDK);
		cfg.flows[0] = (struct driver_flow){ inet_addr("239.1.1.1"), 26400 };
		cfg.flows[1] = (struct driver_flow){ 0, 26401 };
		cfg.nflows = 2;
	}
	if (size > 65535)
		return 0;
	uint8_t *frame = malloc(size ? size : 1);
	memcpy(frame, data, size);
	if (net_udp_classify(frame, (uint32_t)size, &cfg, &p, &why) == 0) {
		/* The view must lie inside the frame. */
		if (p.data < frame || p.data + p.len > frame + size || p.flow >= cfg.nflows)
			abort();
	} else if ((unsigned)why >= DRIVER_DROP_REASONS) {
		abort();
	}
	free(frame);
	return 0;
}
