/*
 * tradsys-bench persist: what the journal costs a worker and how fast the persister drains it.
 *   append     ns per shm_journal_append of an order event into a fresh file (its page faults
 *              included, as a worker pays them), in TRADSYS_BENCH_JOURNAL_DIR or /tmp
 *   persister  records/s from journals already written (two workers, the order lifecycle mix of
 *              the integration test: new, ack, fills, cancels, some risk/session/command records)
 *              into PostgreSQL at TRADSYS_BENCH_DATABASE, with and without the orders projection,
 *              and where the time went per record (reading and formatting, the journal tables'
 *              COPY, the orders merge, BEGIN/checkpoints/COMMIT; summed over the persister's
 *              connections); skipped with a hint when the variable is unset.
 *              TRADSYS_BENCH_PERSIST_CONNECTIONS and TRADSYS_BENCH_PERSIST_BATCH set the
 *              persister's connections and batch (default: the persister's)
 */
#include "bench.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "db.h"
#include "journal.h"

#define APPEND_DEFAULT_OPS 2000000u
#define PERSIST_DEFAULT_OPS 1000000u
#define PERSIST_WORKERS 2

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static char *make_dir(void)
{
	const char *base = getenv("TRADSYS_BENCH_JOURNAL_DIR");
	char *dir = malloc(4096);

	snprintf(dir, 4096, "%s/tradsys-bench-journal-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench persist: mkdtemp %s: %s\n", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

static void remove_dir(char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* The record of (worker, seq): the mix of tests/unit/shm/journal_gen.c in short. */
static void make(struct shm_journal_record *r, uint32_t worker, uint64_t seq)
{
	uint64_t k = seq % 100, id = (uint64_t)worker * 1000000000ull + seq / 4 + 1;
	struct shm_journal_order *o = &r->order;
	static const uint16_t types[4] = { SHM_JOURNAL_ORDER_NEW, SHM_JOURNAL_ORDER_ACK,
					   SHM_JOURNAL_ORDER_FILL, SHM_JOURNAL_ORDER_FILL };

	memset(r->payload, 0, sizeof(r->payload));
	r->version = 1;
	if (k == 37 || k == 73 || k == 91) {
		r->type = k == 37   ? SHM_JOURNAL_RISK
			  : k == 73 ? SHM_JOURNAL_SESSION
				    : SHM_JOURNAL_COMMAND_ACK;
		r->len = SHM_JOURNAL_PAYLOAD_MAX;
		r->risk.order_id = seq; /* the first field of all three */
		return;
	}
	r->type = types[seq % 4];
	r->len = sizeof(*o);
	o->order_id = id;
	o->venue_order_id = id + 7;
	o->price = 1000000 + (int64_t)(id % 1000);
	o->qty = 100;
	o->leaves = seq % 4 == 2 ? 60 : seq % 4 == 3 ? 0 : 100;
	o->last_qty = seq % 4 == 2 ? 40 : seq % 4 == 3 ? 60 : 0;
	o->last_px = o->price;
	o->instrument = (uint32_t)(id % 50);
	o->account = (uint32_t)(id % 3) + 1;
	o->side = id % 2 ? SHM_JOURNAL_SELL : SHM_JOURNAL_BUY;
}

static int bench_append(const struct bench_opts *opts)
{
	uint64_t n = opts->ops ? opts->ops : APPEND_DEFAULT_OPS;
	double *ns = calloc(opts->runs, sizeof(double));
	struct shm_journal_order o = {
		.order_id = 1, .price = 1000000, .qty = 100, .leaves = 100, .side = SHM_JOURNAL_BUY
	};
	char workload[160], err[1024];
	int rc = 0;

	snprintf(workload, sizeof(workload),
		 "\"records\":%llu,\"record_bytes\":%d,\"file\":\"fresh, preallocated\"",
		 (unsigned long long)n, SHM_JOURNAL_RECORD_SIZE);
	for (unsigned int run = 0; run <= opts->runs && !rc; run++) {
		char *dir = make_dir();
		struct shm_journal_opts jo = { .instance = "bench", .capacity = n };
		struct shm_journal_writer *w;
		uint64_t t0, t1;

		if (!dir)
			return -1;
		jo.dir = dir;
		w = shm_journal_writer_open(&jo, err, sizeof(err));
		if (!w) {
			fprintf(stderr, "bench persist: %s\n", err);
			remove_dir(dir);
			rc = -1;
			break;
		}
		t0 = clock_tsc_start();
		for (uint64_t i = 0; i < n; i++) {
			o.order_id = i;
			if (!shm_journal_append(w, SHM_JOURNAL_ORDER_NEW, &o, sizeof(o))) {
				fprintf(stderr, "bench persist: append: %s\n", w->err);
				rc = -1;
				break;
			}
		}
		t1 = clock_tsc_end();
		if (run > 0) /* run 0 warms up */
			ns[run - 1] = bench_seconds(t0, t1) * 1e9 / (double)n;
		shm_journal_writer_close(w);
		remove_dir(dir);
	}
	if (!rc)
		bench_report("persist", "append", "latency", "ns/record", ns, opts->runs, workload);
	free(ns);
	return rc;
}

/* Writes per records for each worker of instance into dir. */
static int fill_journals(const char *dir, const char *instance, uint64_t per)
{
	char err[1024];

	for (uint32_t w = 0; w < PERSIST_WORKERS; w++) {
		struct shm_journal_opts jo = { .dir = dir, .instance = instance, .worker = w };
		struct shm_journal_writer *jw = shm_journal_writer_open(&jo, err, sizeof(err));
		if (!jw) {
			fprintf(stderr, "bench persist: %s\n", err);
			return -1;
		}
		for (uint64_t s = 1; s <= per; s++) {
			struct shm_journal_record *r = shm_journal_reserve(jw);
			if (!r) {
				fprintf(stderr, "bench persist: %s\n", jw->err);
				shm_journal_writer_close(jw);
				return -1;
			}
			make(r, w, s);
			shm_journal_commit(jw, r);
		}
		shm_journal_writer_close(jw);
	}
	return 0;
}

static int bench_persister(const struct bench_opts *opts, const char *url, bool orders)
{
	uint64_t per = (opts->ops ? opts->ops : PERSIST_DEFAULT_OPS) / PERSIST_WORKERS;
	double *rate = calloc(opts->runs, sizeof(double));
	double *phase[4];
	static const char *const phase_names[4] = { "read", "copy", "orders", "commit" };
	const char *conns = getenv("TRADSYS_BENCH_PERSIST_CONNECTIONS");
	const char *batch_env = getenv("TRADSYS_BENCH_PERSIST_BATCH");
	uint32_t nconn = conns ? (uint32_t)strtoul(conns, NULL, 10) : 0;
	uint32_t batch = batch_env ? (uint32_t)strtoul(batch_env, NULL, 10) : 0;
	char workload[320], err[1024], instance[32], name[64];
	int rc = 0;

	for (int i = 0; i < 4; i++)
		phase[i] = calloc(opts->runs, sizeof(double));
	snprintf(workload, sizeof(workload),
		 "\"records\":%llu,\"workers\":%d,\"batch\":%u,\"connections\":%u,"
		 "\"orders_upsert\":%s,"
		 "\"mix\":\"new/ack/fill/fill-or-cancel + 3%% risk/session/ack\"",
		 (unsigned long long)per * PERSIST_WORKERS, PERSIST_WORKERS, batch ? batch : 65536,
		 nconn ? nconn : 2, orders ? "true" : "false");
	for (unsigned int run = 0; run <= opts->runs && !rc; run++) {
		struct db_persist_opts po = {
			.conninfo = url, .no_orders = !orders, .connections = nconn, .batch = batch
		};
		struct db_persist_stats st;
		struct db_persister *p;
		char *dir = make_dir();
		uint64_t done = 0, t0, t1;

		if (!dir)
			return -1;
		snprintf(instance, sizeof(instance), "bench%d-%c%u", (int)getpid(),
			 orders ? 'o' : 'n', run);
		if (fill_journals(dir, instance, per)) {
			remove_dir(dir);
			rc = -1;
			break;
		}
		po.journal_dir = dir;
		po.instance = instance;
		po.log = fopen("/dev/null", "w");
		p = db_persister_new(&po, err, sizeof(err));
		if (!p) {
			fprintf(stderr, "bench persist: %s\n", err);
			rc = -1;
		}
		t0 = clock_tsc_start();
		while (p && done < per * PERSIST_WORKERS) {
			int got = db_persister_step(p);
			if (got < 0) {
				fprintf(stderr, "bench persist: %s\n", db_persister_error(p));
				rc = -1;
				break;
			}
			done += (uint64_t)got;
		}
		t1 = clock_tsc_end();
		if (!rc && run > 0) {
			rate[run - 1] = (double)done / bench_seconds(t0, t1);
			db_persister_stats(p, &st);
			phase[0][run - 1] = (double)st.read_ns / (double)done;
			phase[1][run - 1] = (double)st.copy_ns / (double)done;
			phase[2][run - 1] = (double)st.orders_ns / (double)done;
			phase[3][run - 1] = (double)st.commit_ns / (double)done;
		}
		db_persister_free(p);
		fclose(po.log);
		remove_dir(dir);
	}
	if (!rc) {
		bench_report("persist", orders ? "persister" : "persister_no_orders", "throughput",
			     "records/s", rate, opts->runs, workload);
		for (int i = 0; i < 4; i++) {
			snprintf(name, sizeof(name), "%s_%s",
				 orders ? "persister" : "persister_no_orders", phase_names[i]);
			bench_report("persist", name, "phase", "ns/record", phase[i], opts->runs,
				     workload);
		}
	}
	for (int i = 0; i < 4; i++)
		free(phase[i]);
	free(rate);
	return rc;
}

static int run_persist(const struct bench_opts *opts)
{
	const char *url = getenv("TRADSYS_BENCH_DATABASE");
	struct db_migrations set;
	char err[1024];
	PGconn *c;
	int rc;

	if ((rc = bench_append(opts)))
		return rc;
	if (!url || !*url) {
		fprintf(stderr,
			"bench persist: TRADSYS_BENCH_DATABASE is not set, so the persister figure "
			"is skipped. To run it against a private throwaway server:\n"
			"  tests/scripts/pg-test sh -c 'TRADSYS_BENCH_DATABASE=$TRADSYS_TEST_DATABASE "
			"BUILD/tools/bench/tradsys-bench persist'\n");
		return 0;
	}
	c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "bench persist: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	rc = db_migrations_builtin(&set, err, sizeof(err));
	if (!rc && (rc = db_migrate(c, &set, NULL, err, sizeof(err))) > 0)
		rc = 0;
	if (rc)
		fprintf(stderr, "bench persist: migrate: %s\n", err);
	db_migrations_free(&set);
	PQfinish(c);
	if (rc)
		return rc;
	if ((rc = bench_persister(opts, url, true)))
		return rc;
	return bench_persister(opts, url, false);
}

BENCH_SUITE(persist_suite, "persist",
	    "journal append ns/record; persister records/s into TRADSYS_BENCH_DATABASE",
	    run_persist)
