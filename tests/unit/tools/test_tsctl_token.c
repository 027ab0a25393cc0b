/*
 * Description: tsctl's token file (tools/tsctl/token.c). Saving makes the missing directories
 * 0700 and the file 0600 whatever the umask, and a reload gives back what was saved; a file that
 * group or others may read is refused (-EPERM), a missing one is -ENOENT, a foreign one -EINVAL;
 * removing is idempotent.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsctl.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tsctl-token-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st.st_mode & 07777;
}

TestSuite(token, .init = setup, .fini = teardown);

Test(token, save_makes_private_file_and_dirs_and_reloads)
{
	struct tsctl_token t = { 0 }, back;
	char path[160], sub[128];

	snprintf(t.url, sizeof(t.url), "https://127.0.0.1:8443");
	snprintf(t.username, sizeof(t.username), "root");
	snprintf(t.role, sizeof(t.role), "admin");
	snprintf(t.access, sizeof(t.access), "aaa.bbb.ccc");
	snprintf(t.refresh, sizeof(t.refresh), "refresh-secret");
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	snprintf(path, sizeof(path), "%s/token", sub);
	umask(0);
	cr_assert_eq(tsctl_token_save(path, &t), 0);
	umask(022);
	cr_assert_eq(mode_of(path), 0600);
	cr_assert_eq(mode_of(sub), 0700);
	cr_assert_eq(tsctl_token_load(path, &back), 0);
	cr_assert_str_eq(back.url, t.url);
	cr_assert_str_eq(back.username, "root");
	cr_assert_str_eq(back.role, "admin");
	cr_assert_str_eq(back.access, "aaa.bbb.ccc");
	cr_assert_str_eq(back.refresh, "refresh-secret");
	/* Saving again replaces it in place. */
	snprintf(t.access, sizeof(t.access), "new");
	cr_assert_eq(tsctl_token_save(path, &t), 0);
	cr_assert_eq(tsctl_token_load(path, &back), 0);
	cr_assert_str_eq(back.access, "new");
	tsctl_token_wipe(&back);
	cr_assert_eq(back.access[0], 0);
}

Test(token, readable_by_others_is_refused)
{
	struct tsctl_token t = { 0 }, back;
	char path[128];

	snprintf(path, sizeof(path), "%s/token", dir);
	snprintf(t.url, sizeof(t.url), "https://h");
	snprintf(t.access, sizeof(t.access), "a");
	snprintf(t.refresh, sizeof(t.refresh), "r");
	cr_assert_eq(tsctl_token_save(path, &t), 0);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(tsctl_token_load(path, &back), -EPERM);
	cr_assert_eq(back.access[0], 0, "nothing from a refused file is kept");
}

Test(token, missing_and_foreign_files)
{
	struct tsctl_token back;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/none", dir);
	cr_assert_eq(tsctl_token_load(path, &back), -ENOENT);
	cr_assert_eq(tsctl_token_remove(path), 0);
	snprintf(path, sizeof(path), "%s/foreign", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"url\":\"https://h\",\"access_token\":7}\n", f);
	fclose(f);
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(tsctl_token_load(path, &back), -EINVAL);
	cr_assert_eq(tsctl_token_remove(path), 0);
	cr_assert_eq(access(path, F_OK), -1);
}
