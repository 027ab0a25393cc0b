/*
 * Description: the Prometheus exporter's text (controlplane/metrics/metrics.c). With no
 * dataplane only tradsys_dataplane_up 0 and the control plane's series appear; with a region,
 * every family has HELP and TYPE once, counters end in _total, histograms are cumulative in
 * seconds with +Inf equal to _count, drop reasons become labels, and label values are escaped.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(const struct shm_stats *st, const struct metrics_source *src)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	cr_assert_eq(metrics_render(f, st, src, 0), 0);
	fclose(f);
	return text;
}

static struct shm_stats *region(uint32_t n)
{
	struct shm_stats *st = calloc(1, shm_stats_bytes(n));

	st->hdr.magic = SHM_STATS_MAGIC;
	st->hdr.abi_version = SHM_STATS_ABI_VERSION;
	st->hdr.nworkers = n;
	st->hdr.tsc_hz = 1000000000; /* one cycle per ns: bounds in cycles equal ns */
	st->hdr.ndrops = 1;
	strcpy(st->hdr.instance, "a\"b");
	strcpy(st->hdr.driver, "uring");
	strcpy(st->hdr.drop_names[0], "no_flow");
	return st;
}

Test(metrics, no_dataplane)
{
	_Atomic uint64_t req[3] = { 5, 0, 1 };
	const int codes[2] = { 200, 401 };
	struct metrics_source src = { .codes = codes, .requests = req, .ncodes = 2 };
	char *t = render(NULL, &src);

	cr_assert(strstr(t, "\ntradsys_dataplane_up 0\n"));
	cr_assert(strstr(t, "tradsys_api_requests_total{code=\"200\"} 5\n"));
	cr_assert(strstr(t, "tradsys_api_requests_total{code=\"other\"} 1\n"));
	cr_assert_null(strstr(t, "tradsys_worker_"));
	free(t);
}

Test(metrics, worker_series_and_histograms)
{
	struct shm_stats *st = region(2);
	char *t, *p;

	st->workers[1].packets = 42;
	st->workers[1].drops[0] = 3;
	hist_record(&st->workers[1].t2t_cycles, 90); /* 90 ns: in le=1e-07 */
	hist_record(&st->workers[1].t2t_cycles, 2000); /* 2 us: le=2.5e-06 */
	hist_record(&st->workers[1].t2t_cycles, 5000000000ull); /* 5 s: only +Inf */
	t = render(st, NULL);
	cr_assert(strstr(t, "tradsys_worker_packets_total{worker=\"1\"} 42\n"));
	cr_assert(strstr(t, "tradsys_worker_drops_total{worker=\"1\",reason=\"no_flow\"} 3\n"));
	cr_assert(strstr(t, "instance=\"a\\\"b\""), "label value escaped");
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_bucket{worker=\"1\",le=\"1e-07\"} 1\n"));
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_bucket{worker=\"1\",le=\"1e-06\"} 1\n"));
	cr_assert(
		strstr(t, "tradsys_tick_to_trade_seconds_bucket{worker=\"1\",le=\"2.5e-06\"} 2\n"));
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_bucket{worker=\"1\",le=\"1\"} 2\n"));
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_bucket{worker=\"1\",le=\"+Inf\"} 3\n"));
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_count{worker=\"1\"} 3\n"));
	cr_assert(strstr(t, "tradsys_tick_to_trade_seconds_sum{worker=\"1\"} 5.00000209\n"));
	/* Each family is declared once, and every counter is named *_total. */
	for (p = t; (p = strstr(p, "# TYPE ")); p++) {
		char name[128], type[32];

		cr_assert_eq(sscanf(p, "# TYPE %127s %31s", name, type), 2);
		if (!strcmp(type, "counter"))
			cr_assert(strlen(name) > 6 && !strcmp(name + strlen(name) - 6, "_total"),
				  "%s", name);
		{
			char decl[160];

			snprintf(decl, sizeof(decl), "# TYPE %s ", name);
			cr_assert_eq(strstr(strstr(t, decl) + 1, decl), NULL, "%s twice", name);
		}
	}
	free(t);
	free(st);
}
