/*
 * The token file: where `tsctl login` keeps the access and refresh tokens between runs. It is a
 * small JSON object, readable by its owner only (0600, in a directory made 0700), replaced
 * atomically so a crash or a concurrent tsctl never leaves half a file, and refused when others
 * could have read it. The tokens are wiped from memory once written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsctl.h"

void tsctl_token_wipe(struct tsctl_token *t)
{
	explicit_bzero(t, sizeof(*t));
}

static int get_str(json_t *o, const char *key, char *out, size_t outlen, bool required)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	out[0] = 0;
	if (!v)
		return required ? -EINVAL : 0;
	if (!json_is_string(v) || (n = json_string_length(v)) >= outlen)
		return -EINVAL;
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

int tsctl_token_load(const char *path, struct tsctl_token *t)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[8192];
	struct stat st;
	ssize_t n;
	json_t *o = NULL;
	int rc = -EINVAL;

	memset(t, 0, sizeof(*t));
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if (st.st_mode & 077) {
		rc = -EPERM;
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		goto out;
	buf[n] = 0;
	o = json_loads(buf, 0, NULL);
	if (!json_is_object(o))
		goto out;
	if (get_str(o, "url", t->url, sizeof(t->url), true) ||
	    get_str(o, "username", t->username, sizeof(t->username), false) ||
	    get_str(o, "role", t->role, sizeof(t->role), false) ||
	    get_str(o, "access_token", t->access, sizeof(t->access), true) ||
	    get_str(o, "refresh_token", t->refresh, sizeof(t->refresh), true))
		goto out;
	rc = 0;
out:
	if (rc)
		tsctl_token_wipe(t);
	json_decref(o);
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* mkdir -p of path's directory; the ones it makes are 0700. */
static int make_dirs(const char *path)
{
	char dir[1024];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, n + 1);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int tsctl_token_save(const char *path, const struct tsctl_token *t)
{
	char tmp[1100];
	json_t *o;
	char *text = NULL;
	size_t len, off = 0;
	int fd = -1, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if ((rc = make_dirs(path)))
		return rc;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "url", t->url, "username", t->username, "role",
		      t->role, "access_token", t->access, "refresh_token", t->refresh);
	if (o)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	/* The umask can only remove bits, but be explicit: nobody else reads this file. */
	if (fchmod(fd, 0600)) {
		rc = -errno;
		goto out;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			goto out;
		}
		off += (size_t)w;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd)) {
		rc = -EIO;
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		rc = -errno;
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	explicit_bzero(text, len);
	free(text);
	return rc;
}

int tsctl_token_remove(const char *path)
{
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}
