/*
 * Description: the stats region ABI. A region created under an instance name is seen by a reader
 * with the same header and counters; attach refuses a bad magic, another ABI version and sizes
 * that do not add up, each with its own error and message; instance names are validated; a live
 * owner blocks a second create while a dead owner's region is replaced by a new zeroed object
 * (a reader still mapping the old one keeps it whole); destroy removes
 * the shm object; the JSON output carries the counters. ABI 3: the layout keeps every worker's
 * block and its session, account and position tables on their own cache lines, a version 2
 * region (an older dataplane) is refused by name, and the JSON carries sessions, rejects by
 * control, kill switches, accounts and positions with money in currency units.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats.h"

static char inst[32];

static void setup(void)
{
	snprintf(inst, sizeof(inst), "test-%d", (int)getpid());
}

/* Runs after every test, also one whose assertion failed midway: no region outlives its test. */
static void teardown(void)
{
	char name[64];

	if (shm_stats_name(inst, name, sizeof(name)) == 0)
		shm_unlink(name);
}

TestSuite(stats, .init = setup, .fini = teardown);

Test(stats, name_maps_instance_to_shm_object_and_rejects_bad_names)
{
	char name[64];
	char longname[40];

	cr_assert_eq(shm_stats_name("demo", name, sizeof(name)), 0);
	cr_assert_str_eq(name, "/tradsys-demo-stats");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(shm_stats_name("", name, sizeof(name)), -EINVAL);
	cr_assert_eq(shm_stats_name("a/b", name, sizeof(name)), -EINVAL);
	cr_assert_eq(shm_stats_name("a b", name, sizeof(name)), -EINVAL);
	cr_assert_eq(shm_stats_name(longname, name, sizeof(name)), -EINVAL);
}

Test(stats, reader_sees_header_and_counters_the_creator_wrote)
{
	char err[256] = "";
	struct shm_stats *w = shm_stats_create(inst, 2, err, sizeof(err));
	const struct shm_stats *r;

	cr_assert_not_null(w, "%s", err);
	w->workers[1].packets = 12345;
	w->workers[1].drops[2] = 9;
	r = shm_stats_attach(inst, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(r->hdr.magic, SHM_STATS_MAGIC);
	cr_assert_eq(r->hdr.abi_version, SHM_STATS_ABI_VERSION);
	cr_assert_eq(r->hdr.nworkers, 2);
	cr_assert_eq(r->hdr.size, shm_stats_bytes(2));
	cr_assert_eq(r->hdr.pid, getpid());
	cr_assert_str_eq(r->hdr.instance, inst);
	cr_assert_eq(r->workers[1].id, 1);
	cr_assert_eq(r->workers[1].packets, 12345);
	cr_assert_eq(r->workers[1].drops[2], 9);
	cr_assert_eq(r->workers[0].packets, 0);
	cr_assert_eq(r->workers[0].state, SHM_STATS_STARTING);
	shm_stats_detach(r);
	shm_stats_destroy(w);
}

Test(stats, worker_blocks_start_on_their_own_cache_lines)
{
	cr_assert_eq(sizeof(struct shm_stats_worker) % 64, 0);
	cr_assert_eq(offsetof(struct shm_stats, workers) % 64, 0);
	cr_assert_eq(offsetof(struct shm_stats_worker, burst_cycles) % 64, 0);
}

Test(stats, destroy_removes_the_shm_object)
{
	char err[256] = "";
	struct shm_stats *w = shm_stats_create(inst, 1, err, sizeof(err));

	cr_assert_not_null(w, "%s", err);
	shm_stats_destroy(w);
	cr_assert_null(shm_stats_attach(inst, err, sizeof(err)));
	cr_assert(strstr(err, "no dataplane instance") != NULL, "%s", err);
	cr_assert(strstr(err, "No such file") != NULL, "%s", err);
}

Test(stats, attach_rejects_a_bad_magic)
{
	char err[256] = "";
	struct shm_stats *w = shm_stats_create(inst, 1, err, sizeof(err));

	cr_assert_not_null(w, "%s", err);
	w->hdr.magic = 0x12345678;
	cr_assert_null(shm_stats_attach(inst, err, sizeof(err)));
	cr_assert(strstr(err, "not a tradsys stats region (magic 0x12345678") != NULL, "%s", err);
	cr_assert_eq(shm_stats_check(w, w->hdr.size, err, sizeof(err)), -EPROTO);
	shm_stats_destroy(w);
}

Test(stats, attach_rejects_another_abi_version)
{
	char err[256] = "";
	struct shm_stats *w = shm_stats_create(inst, 1, err, sizeof(err));

	cr_assert_not_null(w, "%s", err);
	w->hdr.abi_version = 99;
	cr_assert_null(shm_stats_attach(inst, err, sizeof(err)));
	cr_assert(strstr(err, "ABI version 99, this reader understands version 4") != NULL, "%s",
		  err);
	cr_assert_eq(shm_stats_check(w, w->hdr.size, err, sizeof(err)), -EPROTONOSUPPORT);
	shm_stats_destroy(w);
}

Test(stats, attach_refuses_a_version_2_region_of_an_older_dataplane)
{
	char err[256] = "";
	struct shm_stats *w = shm_stats_create(inst, 1, err, sizeof(err));

	cr_assert_not_null(w, "%s", err);
	w->hdr.abi_version = 2;
	cr_assert_null(shm_stats_attach(inst, err, sizeof(err)));
	cr_assert(strstr(err, "ABI version 2, this reader understands version 4") != NULL, "%s",
		  err);
	shm_stats_destroy(w);
}

Test(stats, abi3_layout_keeps_blocks_and_tables_on_their_own_cache_lines)
{
	cr_assert_eq(SHM_STATS_ABI_VERSION, 4);
	cr_assert_eq(sizeof(struct shm_stats_worker) % 64, 0);
	cr_assert_eq(offsetof(struct shm_stats, workers) % 64, 0);
	cr_assert_eq(offsetof(struct shm_stats_worker, publish_tsc) % 64, 0);
	cr_assert_eq(offsetof(struct shm_stats_worker, sessions) % 64, 0);
	cr_assert_eq(offsetof(struct shm_stats_worker, accounts) % 64, 0);
	cr_assert_eq(offsetof(struct shm_stats_worker, positions) % 64, 0);
	cr_assert_eq(sizeof(struct shm_stats_session), 128);
	cr_assert_eq(sizeof(struct shm_stats_account), 64);
	cr_assert_eq(sizeof(struct shm_stats_position), 64);
	/* The ABI 3 part follows the ABI 2 trading block, so it never shares its lines. */
	cr_assert_gt(offsetof(struct shm_stats_worker, publish_tsc),
		     offsetof(struct shm_stats_worker, strategy_cycles));
	cr_assert_eq(shm_stats_bytes(2),
		     sizeof(struct shm_stats) + 2 * sizeof(struct shm_stats_worker));
	cr_assert_str_eq(shm_stats_session_state_name(SHM_SESSION_ACTIVE), "active");
	cr_assert_str_eq(shm_stats_session_state_name(SHM_SESSION_CLOSED), "closed");
	cr_assert_str_eq(shm_stats_session_state_name(99), "unknown");
}

Test(stats, json_carries_sessions_rejects_kills_accounts_and_positions)
{
	char err[256] = "";
	struct shm_stats *w = shm_stats_create(inst, 1, err, sizeof(err));
	struct shm_stats_worker *k;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(w, "%s", err);
	k = &w->workers[0];
	k->nsessions = 1;
	strcpy(k->sessions[0].name, "xnas");
	k->sessions[0].state = SHM_SESSION_CLOSED;
	k->sessions[0].admin_down = 1;
	k->sessions[0].next_seq = 42;
	k->sessions[0].reconnects = 2;
	k->sessions[0].orders_filled = 7;
	k->nreasons = 3;
	strcpy(k->reason_names[0], "ok");
	strcpy(k->reason_names[1], "no_limits");
	strcpy(k->reason_names[2], "kill_firm");
	k->risk_rejects_by[2] = 11;
	k->kill_firm = 1;
	k->kill_accounts = 1;
	k->killed_accounts[0] = 5;
	k->naccounts = 1;
	k->accounts[0] = (struct shm_stats_account){
		.id = 3, .realized_pnl = -12345, .unrealized_pnl = 25000, .cash = 1000000000
	};
	k->npositions = 1;
	k->positions[0] = (struct shm_stats_position){
		.account = 3, .instrument = 9, .session = 0, .position = -200, .avg_price = 1000500
	};
	strcpy(k->positions[0].symbol, "AAPL");
	cr_assert_eq(shm_stats_json(w, f), 0);
	fclose(f);
	cr_assert(strstr(buf, "\"sessions\":[{\"name\":\"xnas\",\"state\":\"closed\","
			      "\"admin_down\":true,\"next_seq\":42,") != NULL,
		  "%s", buf);
	cr_assert(strstr(buf, "\"reconnects\":2,") != NULL, "%s", buf);
	cr_assert(strstr(buf, "\"orders_filled\":7,") != NULL, "%s", buf);
	cr_assert(strstr(buf, "\"risk_rejects_by\":{\"no_limits\":0,\"kill_firm\":11}") != NULL,
		  "%s", buf);
	cr_assert(strstr(buf, "\"kill_switches\":{\"firm\":true,\"accounts\":1,\"instruments\":0,"
			      "\"account_ids\":[5],\"instrument_ids\":[]}") != NULL,
		  "%s", buf);
	cr_assert(strstr(buf, "{\"id\":3,\"state\":0,\"open_orders\":0,\"realized_pnl\":-1.2345,"
			      "\"unrealized_pnl\":2.5000,") != NULL,
		  "%s", buf);
	cr_assert(strstr(buf, "\"cash\":100000.0000,") != NULL, "%s", buf);
	cr_assert(strstr(buf,
			 "\"positions\":[{\"account\":3,\"session\":\"xnas\",\"instrument\":9,"
			 "\"symbol\":\"AAPL\",\"position\":-200,\"avg_price\":1000500,") != NULL,
		  "%s", buf);
	free(buf);
	shm_stats_destroy(w);
}

Test(stats, check_rejects_sizes_that_do_not_add_up)
{
	char err[256] = "";
	struct shm_stats *s = aligned_alloc(64, shm_stats_bytes(2));

	memset(s, 0, shm_stats_bytes(2));
	s->hdr.magic = SHM_STATS_MAGIC;
	s->hdr.abi_version = SHM_STATS_ABI_VERSION;
	s->hdr.nworkers = 2;
	s->hdr.size = shm_stats_bytes(2);
	cr_assert_eq(shm_stats_check(s, shm_stats_bytes(2), err, sizeof(err)), 0);
	cr_assert_eq(shm_stats_check(s, shm_stats_bytes(1), err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "do not add up") != NULL, "%s", err);
	s->hdr.nworkers = 3;
	cr_assert_eq(shm_stats_check(s, shm_stats_bytes(2), err, sizeof(err)), -EINVAL);
	s->hdr.nworkers = 2;
	s->hdr.ndrops = SHM_STATS_MAX_DROPS + 1;
	cr_assert_eq(shm_stats_check(s, shm_stats_bytes(2), err, sizeof(err)), -EINVAL);
	cr_assert_eq(shm_stats_check(s, 16, err, sizeof(err)), -EINVAL);
	free(s);
}

Test(stats, create_refuses_an_instance_a_live_process_owns)
{
	char err[256] = "";
	struct shm_stats *w = shm_stats_create(inst, 1, err, sizeof(err));

	cr_assert_not_null(w, "%s", err);
	w->hdr.pid = (int32_t)getppid(); /* alive: it is running this test */
	cr_assert_null(shm_stats_create(inst, 1, err, sizeof(err)));
	cr_assert(strstr(err, "is already running") != NULL, "%s", err);
	w->hdr.pid = (int32_t)getpid();
	shm_stats_destroy(w);
}

Test(stats, create_replaces_a_dead_owners_region_with_a_zeroed_one)
{
	char err[256] = "";
	struct shm_stats *w = shm_stats_create(inst, 1, err, sizeof(err));
	struct shm_stats *w2;
	pid_t child = fork();

	cr_assert_not_null(w, "%s", err);
	if (child == 0)
		_exit(0);
	cr_assert_eq(waitpid(child, NULL, 0), child);
	w->hdr.pid = (int32_t)child; /* reaped: no such process any more */
	w->workers[0].packets = 77;
	/* A reader (the control plane) that keeps the dead one's region mapped. */
	char name[64];
	struct stat before, after;
	cr_assert_eq(shm_stats_name(inst, name, sizeof(name)), 0);
	int fd = shm_open(name, O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &before), 0);
	const volatile struct shm_stats *old =
		mmap(NULL, shm_stats_bytes(1), PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq((void *)old, MAP_FAILED);
	close(fd);
	w2 = shm_stats_create(inst, 1, err, sizeof(err));
	cr_assert_not_null(w2, "%s", err);
	cr_assert_eq(w2->workers[0].packets, 0);
	cr_assert_eq(w2->hdr.pid, getpid());
	/* A new object, not the old one truncated: the reader's mapping stays whole (touching a
	 * truncated one is SIGBUS) until it notices the name now names another inode. */
	cr_assert_eq(old->workers[0].packets, 77);
	cr_assert_eq(((const volatile char *)old)[shm_stats_bytes(1) - 1], 0);
	char path[96];
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_neq(after.st_ino, before.st_ino);
	munmap((void *)old, shm_stats_bytes(1));
	munmap(w, shm_stats_bytes(1));
	shm_stats_destroy(w2);
}

Test(stats, json_carries_header_and_worker_counters)
{
	char err[256] = "";
	struct shm_stats *w = shm_stats_create(inst, 1, err, sizeof(err));
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(w, "%s", err);
	w->hdr.ndrops = 2;
	strcpy(w->hdr.drop_names[0], "not_udp");
	strcpy(w->hdr.drop_names[1], "malformed");
	w->workers[0].packets = 5;
	w->workers[0].bytes = 30;
	w->workers[0].passes = 10;
	w->workers[0].busy_passes = 5;
	w->workers[0].drops[1] = 3;
	cr_assert_eq(shm_stats_json(w, f), 0);
	fclose(f);
	cr_assert(strstr(buf, "\"instance\":\"test-") != NULL, "%s", buf);
	cr_assert(strstr(buf, "\"packets\":5,\"bytes\":30,\"passes\":10,\"busy_passes\":5,"
			      "\"busy_ratio\":0.5,") != NULL,
		  "%s", buf);
	cr_assert(strstr(buf, "\"drops\":{\"not_udp\":0,\"malformed\":3}") != NULL, "%s", buf);
	cr_assert_eq(buf[len - 1], '\n');
	free(buf);
	shm_stats_destroy(w);
}
