/*
 * libFuzzer target for the dataplane configuration loader: any bytes are parsed as an INI file
 * and, when that succeeds, loaded as a dataplane configuration. The loader must refuse or accept
 * without a crash, and what it accepts must hold the invariants the runtime relies on.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct worker_config wc;
	char err[512];
	struct config *c = config_parse((const char *)data, size, "fuzz.conf", err, sizeof(err));

	if (!c)
		return 0;
	if (worker_config_parse(c, "fuzz.conf", &wc, err, sizeof(err)) == 0) {
		if (wc.nworkers == 0 || wc.nworkers > WORKER_MAX || wc.driver.nflows == 0 ||
		    wc.driver.nflows > DRIVER_MAX_FLOWS || wc.driver.queues == 0)
			abort();
		if (wc.nfeeds == 0 || wc.nfeeds > wc.driver.nflows)
			abort();
		for (uint16_t i = 0; i < wc.nfeeds; i++) {
			const struct worker_feed_cfg *f = &wc.feeds[i];

			if (f->flow_a >= wc.driver.nflows ||
			    (f->flow_b != WORKER_NO_FLOW && f->flow_b >= wc.driver.nflows) ||
			    f->flow_a == f->flow_b || !f->max_instruments || !f->max_orders ||
			    !f->max_levels)
				abort();
		}
		for (uint16_t i = 0; i < wc.nworkers; i++) {
			if (wc.workers[i].queue >= wc.driver.queues || wc.workers[i].core < 0 ||
			    wc.workers[i].command_poll == 0 || wc.workers[i].tx_flush_us == 0)
				abort();
			if (wc.workers[i].handler == WORKER_HANDLER_DUMP &&
			    !wc.workers[i].dump_file)
				abort();
			if (wc.workers[i].decoded_file &&
			    (wc.workers[i].handler != WORKER_HANDLER_FEED ||
			     !wc.workers[i].decoded_file[0]))
				abort();
			for (uint16_t j = 0; j < i; j++)
				if (wc.workers[j].queue == wc.workers[i].queue ||
				    wc.workers[j].core == wc.workers[i].core)
					abort();
		}
	}
	config_free(c);
	return 0;
}
