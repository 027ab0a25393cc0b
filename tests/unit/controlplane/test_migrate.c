/*
 * Description: the migration set. The built-in migrations come in version order with SHA-256
 * checksums of their text; a directory's NNN_name.sql files load in version order whatever their
 * directory order; a file named otherwise and two files of one version are refused with messages;
 * the checksum changes with any edit. Applying them is tested against a server in
 * tests/integration/test_persist_migrate.sh.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

static char dir[64];
static char err[1024];
static struct db_migrations set;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tradsys-migrations-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	db_migrations_free(&set);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(migrate, .init = setup, .fini = teardown);

static void put(const char *name, const char *sql)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(sql, f);
	fclose(f);
}

Test(migrate, checksum_is_sha256_hex)
{
	char sum[65];

	db_migration_checksum("abc", 3, sum);
	cr_assert_str_eq(sum, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(migrate, builtin_migrations_are_in_version_order_with_checksums)
{
	char sum[65];

	cr_assert_eq(db_migrations_builtin(&set, err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(set.n, 3);
	cr_assert_str_eq(set.m[0].name, "001_reference");
	cr_assert_str_eq(set.m[1].name, "002_trading");
	cr_assert_str_eq(set.m[2].name, "003_market_data");
	for (size_t i = 0; i < set.n; i++) {
		cr_assert_eq(set.m[i].version, (int)i + 1);
		cr_assert_eq(strlen(set.m[i].sql), set.m[i].len);
		db_migration_checksum(set.m[i].sql, set.m[i].len, sum);
		cr_assert_str_eq(set.m[i].checksum, sum);
	}
	cr_assert(strstr(set.m[1].sql, "CREATE TABLE journal_checkpoints") != NULL);
}

Test(migrate, a_directory_loads_in_version_order_and_ignores_other_files)
{
	put("010_later.sql", "SELECT 10;");
	put("002_second.sql", "SELECT 2;");
	put("001_first.sql", "SELECT 1;");
	put("README", "not sql");
	cr_assert_eq(db_migrations_load_dir(&set, dir, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(set.n, 3);
	cr_assert_str_eq(set.m[0].name, "001_first");
	cr_assert_str_eq(set.m[1].name, "002_second");
	cr_assert_str_eq(set.m[2].name, "010_later");
	cr_assert_eq(set.m[2].version, 10);
	cr_assert_str_eq(set.m[2].sql, "SELECT 10;");
}

Test(migrate, an_edit_changes_the_checksum)
{
	char before[65];

	put("001_first.sql", "SELECT 1;");
	cr_assert_eq(db_migrations_load_dir(&set, dir, err, sizeof(err)), 0, "%s", err);
	memcpy(before, set.m[0].checksum, sizeof(before));
	db_migrations_free(&set);
	put("001_first.sql", "SELECT 1; ");
	cr_assert_eq(db_migrations_load_dir(&set, dir, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_neq(set.m[0].checksum, before);
}

Test(migrate, a_badly_named_file_is_refused)
{
	put("1-first.sql", "SELECT 1;");
	cr_assert_eq(db_migrations_load_dir(&set, dir, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "1-first.sql: a migration must be named NNN_name.sql") != NULL, "%s",
		  err);
}

Test(migrate, two_files_of_one_version_are_refused)
{
	put("003_a.sql", "SELECT 1;");
	put("3_b.sql", "SELECT 2;");
	cr_assert_eq(db_migrations_load_dir(&set, dir, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, "have the same version 3") != NULL, "%s", err);
}

Test(migrate, a_missing_directory_says_so)
{
	cr_assert_eq(db_migrations_load_dir(&set, "/nonexistent/migrations", err, sizeof(err)),
		     -ENOENT);
	cr_assert(strstr(err, "migrations directory /nonexistent/migrations") != NULL, "%s", err);
}
