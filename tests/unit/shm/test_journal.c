/*
 * Description: the journal file ABI. Records appended by a writer come back from a reader with the
 * same content and contiguous seqs; a reserved record stays invisible until commit; the writer
 * rolls into a file named after the next seq when a file is full and when the (injected) UTC day
 * changes, and the reader follows across files, also while the writer runs; a writer that died
 * mid-record is reopened after its last complete record and clears stale slots; a second writer
 * is refused; bad magic, ABI version, record size, a truncated file and a corrupt record are
 * refused with their own errors and messages.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"

static char dir[64];
static char err[1024];
static uint64_t fake_now; /* the injected clock */

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tradsys-journal-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	fake_now = 19000 * SHM_JOURNAL_DAY_NS + 3600000000000ull; /* 01:00 UTC of day 19000 */
}

static void teardown(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(journal, .init = setup, .fini = teardown);

static struct shm_journal_writer *open_writer(uint64_t capacity)
{
	struct shm_journal_opts o = {
		.dir = dir, .instance = "ti", .worker = 3, .capacity = capacity, .now = fake_clock
	};
	struct shm_journal_writer *w = shm_journal_writer_open(&o, err, sizeof(err));

	cr_assert_not_null(w, "%s", err);
	return w;
}

/* Appends an order event whose fields derive from i, so a reader can check it. */
static uint64_t append_order(struct shm_journal_writer *w, uint64_t i)
{
	struct shm_journal_order o = {
		.order_id = 1000 + i,
		.price = 1000000 + (int64_t)i,
		.qty = 100 + (int64_t)(i % 7),
		.leaves = 100,
		.instrument = (uint32_t)(i % 13),
		.account = 7,
		.side = i % 2 ? SHM_JOURNAL_SELL : SHM_JOURNAL_BUY,
	};
	return shm_journal_append(w, SHM_JOURNAL_ORDER_NEW, &o, sizeof(o));
}

static void check_order(const struct shm_journal_record *r, uint64_t i)
{
	cr_assert_eq(r->type, SHM_JOURNAL_ORDER_NEW);
	cr_assert_eq(r->version, 1);
	cr_assert_eq(r->len, sizeof(struct shm_journal_order));
	cr_assert_eq(r->order.order_id, 1000 + i, "record %lu: order id %lu", (unsigned long)i,
		     (unsigned long)r->order.order_id);
	cr_assert_eq(r->order.price, 1000000 + (int64_t)i);
	cr_assert_eq(r->order.qty, 100 + (int64_t)(i % 7));
	cr_assert_eq(r->order.instrument, (uint32_t)(i % 13));
	cr_assert_eq(r->order.side, i % 2 ? SHM_JOURNAL_SELL : SHM_JOURNAL_BUY);
}

static bool file_exists(uint64_t first)
{
	char path[256];

	shm_journal_file_name(dir, "ti", 3, first, path, sizeof(path));
	return access(path, F_OK) == 0;
}

/* Reads everything available from seq from on; returns the count and checks each record. */
static uint64_t read_all(uint64_t from, uint64_t expect_first)
{
	struct shm_journal_reader *r =
		shm_journal_reader_open(dir, "ti", 3, from, err, sizeof(err));
	struct shm_journal_record recs[16];
	uint64_t n = 0;
	int got;

	cr_assert_not_null(r, "%s", err);
	while ((got = shm_journal_reader_read(r, recs, 16)) > 0) {
		for (int i = 0; i < got; i++, n++) {
			cr_assert_eq(recs[i].seq, expect_first + n);
			check_order(&recs[i], expect_first + n);
		}
	}
	cr_assert_eq(got, 0, "read: %d %s", got, shm_journal_reader_error(r));
	cr_assert_eq(shm_journal_reader_next_seq(r), expect_first + n);
	shm_journal_reader_close(r);
	return n;
}

Test(journal, file_names_sort_by_seq_and_instance_names_are_validated)
{
	char path[256];

	cr_assert_eq(shm_journal_file_name("/j", "demo", 2, 17, path, sizeof(path)), 0);
	cr_assert_str_eq(path, "/j/demo-w2-00000000000000000017.journal");
	cr_assert_eq(shm_journal_file_name("/j", "a/b", 2, 17, path, sizeof(path)), -EINVAL);
	cr_assert_eq(shm_journal_file_name("/j", "", 2, 17, path, sizeof(path)), -EINVAL);
	cr_assert_eq(shm_journal_file_name("/j", "demo", 2, 17, path, 10), -ENAMETOOLONG);
	cr_assert_str_eq(shm_journal_type_name(SHM_JOURNAL_ORDER_FILL), "fill");
	cr_assert_null(shm_journal_type_name(999));
}

Test(journal, appended_records_read_back_with_contiguous_seqs)
{
	struct shm_journal_writer *w = open_writer(64);
	struct shm_journal_session s = {
		.in_seq = 5, .out_seq = 9, .venue = 2, .kind = SHM_JOURNAL_SESSION_LOGIN
	};
	struct shm_journal_record recs[32];
	struct shm_journal_reader *r;

	for (uint64_t i = 1; i <= 10; i++)
		cr_assert_eq(append_order(w, i), i);
	strcpy(s.session, "S1");
	cr_assert_eq(shm_journal_append(w, SHM_JOURNAL_SESSION, &s, sizeof(s)), 11);
	r = shm_journal_reader_open(dir, "ti", 3, 1, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(shm_journal_reader_read(r, recs, 32), 11);
	for (uint64_t i = 1; i <= 10; i++) {
		cr_assert_eq(recs[i - 1].seq, i);
		check_order(&recs[i - 1], i);
		cr_assert_eq(recs[i - 1].wall_ns, fake_now);
		cr_assert_neq(recs[i - 1].tsc, 0);
	}
	cr_assert_eq(recs[10].type, SHM_JOURNAL_SESSION);
	cr_assert_eq(recs[10].session.out_seq, 9);
	cr_assert_str_eq(recs[10].session.session, "S1");
	cr_assert_eq(shm_journal_reader_read(r, recs, 32), 0);
	cr_assert_eq(append_order(w, 12), 12);
	cr_assert_eq(shm_journal_reader_read(r, recs, 32), 1);
	check_order(&recs[0], 12);
	shm_journal_reader_close(r);
	cr_assert_eq(shm_journal_writer_close(w), 0);
}

Test(journal, a_reserved_record_is_invisible_until_commit)
{
	struct shm_journal_writer *w = open_writer(64);
	struct shm_journal_reader *r = shm_journal_reader_open(dir, "ti", 3, 1, err, sizeof(err));
	struct shm_journal_record out, *rec;

	cr_assert_not_null(r, "%s", err);
	rec = shm_journal_reserve(w);
	cr_assert_not_null(rec);
	rec->type = SHM_JOURNAL_COMMAND_ACK;
	rec->version = 1;
	rec->len = sizeof(rec->command_ack);
	rec->command_ack.command_id = 42;
	rec->command_ack.result = -EPERM;
	cr_assert_eq(shm_journal_reader_read(r, &out, 1), 0);
	cr_assert_eq(shm_journal_commit(w, rec), 1);
	cr_assert_eq(shm_journal_reader_read(r, &out, 1), 1);
	cr_assert_eq(out.seq, 1);
	cr_assert_eq(out.command_ack.command_id, 42);
	cr_assert_eq(out.command_ack.result, -EPERM);
	shm_journal_reader_close(r);
	shm_journal_writer_close(w);
}

Test(journal, a_full_file_rolls_into_one_named_after_the_next_seq)
{
	struct shm_journal_writer *w = open_writer(4);
	char path[256];
	int fd;
	struct shm_journal_file_header h;

	for (uint64_t i = 1; i <= 10; i++)
		cr_assert_eq(append_order(w, i), i);
	cr_assert(file_exists(1));
	cr_assert(file_exists(5));
	cr_assert(file_exists(9));
	cr_assert(!file_exists(13));
	shm_journal_file_name(dir, "ti", 3, 1, path, sizeof(path));
	fd = open(path, O_RDONLY);
	cr_assert_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	cr_assert_eq(h.sealed_last_seq, 4);
	cr_assert_eq(h.first_seq, 1);
	cr_assert_eq(h.capacity, 4);
	cr_assert_eq(h.worker, 3);
	cr_assert_str_eq(h.instance, "ti");
	cr_assert_eq(read_all(1, 1), 10);
	cr_assert_eq(read_all(7, 7), 4, "a reader starting mid-journal finds the right file");
	shm_journal_writer_close(w);
}

Test(journal, a_new_utc_day_starts_a_new_file)
{
	struct shm_journal_writer *w = open_writer(64);
	struct shm_journal_file_header h;
	char path[256];
	int fd;

	for (uint64_t i = 1; i <= 3; i++)
		append_order(w, i);
	fake_now += SHM_JOURNAL_DAY_NS - 3600000000000ull + 1; /* 00:00:00.000000001 next day */
	for (uint64_t i = 4; i <= 5; i++)
		append_order(w, i);
	cr_assert(file_exists(4));
	shm_journal_file_name(dir, "ti", 3, 4, path, sizeof(path));
	fd = open(path, O_RDONLY);
	cr_assert_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	cr_assert_eq(h.creation_day, 19001);
	cr_assert_eq(h.first_seq, 4);
	cr_assert_eq(read_all(1, 1), 5, "the reader skips the old day's empty slots");
	shm_journal_writer_close(w);
}

Test(journal, a_new_day_on_an_empty_file_keeps_the_file)
{
	struct shm_journal_writer *w = open_writer(64);

	fake_now += 2 * SHM_JOURNAL_DAY_NS;
	cr_assert_eq(append_order(w, 1), 1);
	cr_assert_eq(w->hdr->creation_day, 19002);
	cr_assert(file_exists(1));
	cr_assert(!file_exists(2));
	shm_journal_writer_close(w);
}

Test(journal, a_writer_that_died_mid_record_is_continued_after_its_last_complete_record)
{
	pid_t child = fork();
	int status;

	if (child == 0) {
		struct shm_journal_opts o = {
			.dir = dir, .instance = "ti", .worker = 3, .capacity = 64, .now = fake_clock
		};
		struct shm_journal_writer *w = shm_journal_writer_open(&o, err, sizeof(err));
		struct shm_journal_record *rec;

		if (!w)
			_exit(1);
		for (uint64_t i = 1; i <= 5; i++)
			append_order(w, i);
		/* Half of record 6, never committed, and a stale seq further on as a power loss
		 * could leave; then die without unmapping or closing anything. */
		rec = shm_journal_reserve(w);
		rec->type = SHM_JOURNAL_ORDER_FILL;
		rec->order.order_id = 666;
		atomic_store(&w->recs[9].seq, 10);
		_exit(0);
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	struct shm_journal_writer *w = open_writer(64);
	cr_assert_eq(w->next_seq, 6);
	cr_assert_eq(atomic_load(&w->recs[9].seq), 0, "the stale slot was cleared");
	for (uint64_t i = 6; i <= 12; i++)
		cr_assert_eq(append_order(w, i), i);
	cr_assert_eq(read_all(1, 1), 12);
	shm_journal_writer_close(w);
}

Test(journal, unmapping_without_close_and_reopening_continues_the_sequence)
{
	struct shm_journal_writer *w = open_writer(8);

	for (uint64_t i = 1; i <= 8; i++)
		append_order(w, i);
	/* A crash after the file filled up: only the lock goes, as it would with the process. */
	munmap(w->hdr, w->map_len);
	close(w->fd);
	close(w->lock_fd);
	free(w);
	w = open_writer(8);
	cr_assert_eq(w->next_seq, 9);
	cr_assert_eq(append_order(w, 9), 9, "a full reopened file rolls over");
	cr_assert(file_exists(9));
	cr_assert_eq(read_all(1, 1), 9);
	shm_journal_writer_close(w);
}

Test(journal, a_second_writer_for_the_same_worker_is_refused)
{
	struct shm_journal_writer *w = open_writer(8);
	struct shm_journal_opts o = { .dir = dir, .instance = "ti", .worker = 3 };

	cr_assert_null(shm_journal_writer_open(&o, err, sizeof(err)));
	cr_assert(strstr(err, "is open by another writer") != NULL, "%s", err);
	o.worker = 4;
	struct shm_journal_writer *w4 = shm_journal_writer_open(&o, err, sizeof(err));
	cr_assert_not_null(w4, "%s", err);
	shm_journal_writer_close(w4);
	shm_journal_writer_close(w);
}

/* Writes a journal of 3 records, closes it, and overwrites len bytes at off in its file. */
static void damage(off_t off, const void *bytes, size_t len)
{
	struct shm_journal_writer *w = open_writer(8);
	char path[256];
	int fd;

	for (uint64_t i = 1; i <= 3; i++)
		append_order(w, i);
	shm_journal_writer_close(w);
	shm_journal_file_name(dir, "ti", 3, 1, path, sizeof(path));
	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

/* Both the reader and a reopening writer refuse the damaged file with code and message. */
static void expect_refused(int code, const char *msg)
{
	struct shm_journal_reader *r = shm_journal_reader_open(dir, "ti", 3, 1, err, sizeof(err));
	struct shm_journal_opts o = { .dir = dir, .instance = "ti", .worker = 3 };
	struct shm_journal_record rec;

	cr_assert_eq(shm_journal_reader_read(r, &rec, 1), code, "%s", shm_journal_reader_error(r));
	cr_assert(strstr(shm_journal_reader_error(r), msg) != NULL, "%s",
		  shm_journal_reader_error(r));
	cr_assert_eq(shm_journal_reader_next_seq(r), 1);
	shm_journal_reader_close(r);
	cr_assert_null(shm_journal_writer_open(&o, err, sizeof(err)));
	cr_assert(strstr(err, msg) != NULL, "%s", err);
}

Test(journal, a_bad_magic_is_refused)
{
	uint32_t bad = 0xdeadbeef;

	damage(offsetof(struct shm_journal_file_header, magic), &bad, sizeof(bad));
	expect_refused(-EPROTO, "not a tradsys journal (magic 0xdeadbeef");
}

Test(journal, another_abi_version_is_refused)
{
	uint32_t v = 7;

	damage(offsetof(struct shm_journal_file_header, abi_version), &v, sizeof(v));
	expect_refused(-EPROTONOSUPPORT, "journal ABI version 7, this build understands version 1");
}

Test(journal, another_record_size_is_refused)
{
	uint32_t v = 64;

	damage(offsetof(struct shm_journal_file_header, record_size), &v, sizeof(v));
	expect_refused(-EINVAL, "journal record size 64 and header size 4096, this build uses 128");
}

Test(journal, a_truncated_file_is_refused)
{
	char path[256];

	damage(0, "", 0);
	shm_journal_file_name(dir, "ti", 3, 1, path, sizeof(path));
	cr_assert_eq(truncate(path, SHM_JOURNAL_HEADER_SIZE + 5 * SHM_JOURNAL_RECORD_SIZE), 0);
	expect_refused(-EINVAL, "does not hold the 8 records its header says");
	cr_assert_eq(truncate(path, 100), 0);
	expect_refused(-EINVAL, "100 bytes is smaller than a journal header");
}

Test(journal, a_header_that_contradicts_its_file_name_is_refused)
{
	uint64_t first = 2;

	damage(offsetof(struct shm_journal_file_header, first_seq), &first, sizeof(first));
	expect_refused(-EINVAL, "the file name says 'ti' 3 1");
}

Test(journal, a_corrupt_record_stops_the_reader_with_an_error)
{
	uint64_t seq = 77;
	struct shm_journal_record recs[8];
	struct shm_journal_reader *r;

	damage(SHM_JOURNAL_HEADER_SIZE + 1 * SHM_JOURNAL_RECORD_SIZE, &seq, sizeof(seq));
	r = shm_journal_reader_open(dir, "ti", 3, 1, err, sizeof(err));
	cr_assert_eq(shm_journal_reader_read(r, recs, 8), 1, "the good record before it");
	cr_assert_eq(shm_journal_reader_read(r, recs, 8), -EBADMSG);
	cr_assert(strstr(shm_journal_reader_error(r), "record 1 of the file starting at 1 has seq "
						      "77 and length 96, expected seq 2") != NULL,
		  "%s", shm_journal_reader_error(r));
	shm_journal_reader_close(r);
}

Test(journal, a_seq_older_than_the_oldest_file_is_an_error)
{
	struct shm_journal_writer *w = open_writer(4);
	struct shm_journal_record rec;
	struct shm_journal_reader *r;
	char path[256];

	for (uint64_t i = 1; i <= 6; i++)
		append_order(w, i);
	shm_journal_file_name(dir, "ti", 3, 1, path, sizeof(path));
	cr_assert_eq(unlink(path), 0);
	r = shm_journal_reader_open(dir, "ti", 3, 2, err, sizeof(err));
	cr_assert_eq(shm_journal_reader_read(r, &rec, 1), -ENOENT);
	cr_assert(strstr(shm_journal_reader_error(r), "seq 2 is older than the oldest file") !=
			  NULL,
		  "%s", shm_journal_reader_error(r));
	shm_journal_reader_close(r);
	cr_assert_eq(read_all(5, 5), 2);
	shm_journal_writer_close(w);
}

Test(journal, a_reader_before_any_file_waits_then_reads)
{
	struct shm_journal_reader *r = shm_journal_reader_open(dir, "ti", 3, 1, err, sizeof(err));
	struct shm_journal_record rec;
	struct shm_journal_writer *w;

	cr_assert_eq(shm_journal_reader_read(r, &rec, 1), 0);
	w = open_writer(8);
	cr_assert_eq(shm_journal_reader_read(r, &rec, 1), 0);
	append_order(w, 1);
	cr_assert_eq(shm_journal_reader_read(r, &rec, 1), 1);
	check_order(&rec, 1);
	shm_journal_reader_close(r);
	shm_journal_writer_close(w);
}

Test(journal, list_workers_finds_each_worker_once_and_no_other_instance)
{
	struct shm_journal_opts o = { .dir = dir, .instance = "ti", .capacity = 2 };
	struct shm_journal_writer *ws[3];
	uint32_t ids[8];
	uint32_t wk[3] = { 5, 0, 12 };

	for (int i = 0; i < 3; i++) {
		o.worker = wk[i];
		ws[i] = shm_journal_writer_open(&o, err, sizeof(err));
		cr_assert_not_null(ws[i], "%s", err);
		for (uint64_t s = 1; s <= 5; s++)
			append_order(ws[i], s);
	}
	o.instance = "ti-w1";
	o.worker = 9;
	struct shm_journal_writer *other = shm_journal_writer_open(&o, err, sizeof(err));
	cr_assert_not_null(other, "%s", err);
	append_order(other, 1);
	cr_assert_eq(shm_journal_list_workers(dir, "ti", ids, 8, err, sizeof(err)), 3);
	cr_assert_eq(ids[0], 0);
	cr_assert_eq(ids[1], 5);
	cr_assert_eq(ids[2], 12);
	cr_assert_eq(shm_journal_list_workers("/nonexistent-dir", "ti", ids, 8, err, sizeof(err)),
		     -ENOENT);
	for (int i = 0; i < 3; i++)
		shm_journal_writer_close(ws[i]);
	shm_journal_writer_close(other);
}

#define FOLLOW_N 200000u

static void *follow_writer(void *arg)
{
	struct shm_journal_writer *w = arg;

	for (uint64_t i = 1; i <= FOLLOW_N; i++)
		if (append_order(w, i) != i)
			return (void *)1;
	return NULL;
}

Test(journal, a_reader_follows_a_running_writer_across_files)
{
	struct shm_journal_writer *w = open_writer(1000);
	struct shm_journal_reader *r = shm_journal_reader_open(dir, "ti", 3, 1, err, sizeof(err));
	static struct shm_journal_record recs[256];
	uint64_t n = 0;
	pthread_t t;
	void *res;

	cr_assert_eq(pthread_create(&t, NULL, follow_writer, w), 0);
	while (n < FOLLOW_N) {
		int got = shm_journal_reader_read(r, recs, 256);
		cr_assert_geq(got, 0, "%s", shm_journal_reader_error(r));
		for (int i = 0; i < got; i++, n++) {
			cr_assert_eq(recs[i].seq, n + 1);
			check_order(&recs[i], n + 1);
		}
	}
	pthread_join(t, &res);
	cr_assert_null(res);
	cr_assert(file_exists(FOLLOW_N - 999));
	shm_journal_reader_close(r);
	shm_journal_writer_close(w);
}

/* Prefaulting ahead of the writer touches one slot per page from the next slot to the end of the
 * file, never past it, and leaves the reader seeing exactly what was committed. */
Test(journal, prefault_touches_the_pages_ahead_and_changes_nothing_a_reader_sees)
{
	struct shm_journal_writer *w = open_writer(100); /* 32 records per 4 KiB page */
	struct shm_journal_record recs[128];
	struct shm_journal_reader *r;

	for (uint64_t i = 1; i <= 3; i++)
		cr_assert_eq(append_order(w, i), i);
	/* Slots 3..34: the rest of page 0 and page 1. */
	cr_assert_eq(shm_journal_writer_prefault(w, 32), 2);
	/* Slots 3..99: pages 0 to 3 (the file ends at slot 99). */
	cr_assert_eq(shm_journal_writer_prefault(w, 1000), 4);
	r = shm_journal_reader_open(dir, "ti", 3, 1, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(shm_journal_reader_read(r, recs, 128), 3);
	for (uint64_t i = 4; i <= 40; i++)
		cr_assert_eq(append_order(w, i), i);
	cr_assert_eq(shm_journal_reader_read(r, recs, 128), 37);
	check_order(&recs[36], 40);
	shm_journal_reader_close(r);
	cr_assert_eq(shm_journal_writer_close(w), 0);
}
