/*
 * Schema migrations: the SQL files built into the binary (or read from a directory), their
 * checksums, and applying the missing ones in order. Each migration runs with its
 * schema_migrations row in one transaction, so a failed migration leaves no trace and the next run
 * retries it; an advisory lock keeps two migrators from racing.
 */
#include "db.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Made by embed.py from migrations/. */
extern const struct db_builtin_migration {
	const char *file;
	const char *sql;
	size_t len;
} db_builtin_migrations[];
extern const size_t db_builtin_migrations_n;

/* The advisory lock key of migrations ("tsmigrat" as a number), so two migrators queue. */
#define MIGRATE_LOCK_KEY "8391170830195908980"

void db_migration_checksum(const char *sql, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(sql, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* Parses "NNN_name.sql" (NNN: 1 to 9 digits, name: [a-z0-9_]). */
static bool parse_file_name(const char *file, int *version, char *name, size_t namelen)
{
	size_t n = strlen(file), digits = 0;
	long v = 0;

	if (n < 6 || strcmp(file + n - 4, ".sql") != 0 || n - 4 >= namelen)
		return false;
	while (file[digits] >= '0' && file[digits] <= '9' && digits < 9)
		v = v * 10 + (file[digits++] - '0');
	if (digits == 0 || file[digits] != '_' || v < 1 || digits + 1 >= n - 4)
		return false;
	for (size_t i = digits + 1; i < n - 4; i++) {
		char ch = file[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	*version = (int)v;
	memcpy(name, file, n - 4);
	name[n - 4] = '\0';
	return true;
}

static int cmp_version(const void *a, const void *b)
{
	const struct db_migration *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

/* Sorts and refuses duplicate versions. */
static int finish_set(struct db_migrations *set, char *err, size_t errlen)
{
	qsort(set->m, set->n, sizeof(*set->m), cmp_version);
	for (size_t i = 1; i < set->n; i++) {
		if (set->m[i].version == set->m[i - 1].version) {
			snprintf(err, errlen, "migrations %s and %s have the same version %d",
				 set->m[i - 1].name, set->m[i].name, set->m[i].version);
			return -EEXIST;
		}
	}
	for (size_t i = 0; i < set->n; i++)
		db_migration_checksum(set->m[i].sql, set->m[i].len, set->m[i].checksum);
	return 0;
}

int db_migrations_builtin(struct db_migrations *set, char *err, size_t errlen)
{
	memset(set, 0, sizeof(*set));
	set->m = calloc(db_builtin_migrations_n ? db_builtin_migrations_n : 1, sizeof(*set->m));
	if (!set->m) {
		snprintf(err, errlen, "migrations: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < db_builtin_migrations_n; i++) {
		struct db_migration *m = &set->m[set->n];
		if (!parse_file_name(db_builtin_migrations[i].file, &m->version, m->name,
				     sizeof(m->name))) {
			snprintf(err, errlen, "built-in migration %s is not named NNN_name.sql",
				 db_builtin_migrations[i].file);
			db_migrations_free(set);
			return -EINVAL;
		}
		m->sql = db_builtin_migrations[i].sql;
		m->len = db_builtin_migrations[i].len;
		set->n++;
	}
	return finish_set(set, err, errlen);
}

int db_migrations_load_dir(struct db_migrations *set, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0, total = 0;
	char path[4096];
	int rc = 0;

	memset(set, 0, sizeof(*set));
	if (!d) {
		rc = -errno;
		snprintf(err, errlen, "migrations directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	/* Two passes: names and sizes first, so the contents go into one block. */
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct db_migration *m;
		struct stat st;

		if (n < 4 || strcmp(de->d_name + n - 4, ".sql") != 0)
			continue;
		if (set->n == cap) {
			struct db_migration *nm;
			cap = cap ? cap * 2 : 16;
			nm = realloc(set->m, cap * sizeof(*nm));
			if (!nm) {
				rc = -ENOMEM;
				snprintf(err, errlen, "migrations: out of memory");
				goto out;
			}
			set->m = nm;
		}
		m = &set->m[set->n];
		memset(m, 0, sizeof(*m));
		if (!parse_file_name(de->d_name, &m->version, m->name, sizeof(m->name))) {
			rc = -EINVAL;
			snprintf(
				err, errlen,
				"%s/%s: a migration must be named NNN_name.sql (name: a-z, 0-9, _)",
				dir, de->d_name);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st)) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			goto out;
		}
		m->len = (size_t)st.st_size;
		total += m->len + 1;
		set->n++;
	}
	set->storage = malloc(total ? total : 1);
	if (!set->storage) {
		rc = -ENOMEM;
		snprintf(err, errlen, "migrations: out of memory");
		goto out;
	}
	total = 0;
	for (size_t i = 0; i < set->n; i++) {
		struct db_migration *m = &set->m[i];
		ssize_t got;
		int fd;

		snprintf(path, sizeof(path), "%s/%s.sql", dir, m->name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			goto out;
		}
		got = read(fd, set->storage + total, m->len);
		close(fd);
		if (got != (ssize_t)m->len) {
			rc = -EIO;
			snprintf(err, errlen, "%s: short read (changed while reading?)", path);
			goto out;
		}
		set->storage[total + m->len] = '\0';
		m->sql = set->storage + total;
		total += m->len + 1;
	}
	rc = finish_set(set, err, errlen);
out:
	closedir(d);
	if (rc)
		db_migrations_free(set);
	return rc;
}

void db_migrations_free(struct db_migrations *set)
{
	free(set->m);
	free(set->storage);
	memset(set, 0, sizeof(*set));
}

/* 1-based line of the 1-based character position pos in sql. */
static int line_of(const char *sql, size_t len, long pos)
{
	int line = 1;

	for (long i = 0; i < pos - 1 && (size_t)i < len; i++)
		if (sql[i] == '\n')
			line++;
	return line;
}

/* Runs sql; on failure writes "what: message" (with the line in src when known) into err. */
static int exec_ok(PGconn *c, const char *sql, const char *what, const struct db_migration *src,
		   char *err, size_t errlen)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		if (src && pos)
			snprintf(err, errlen, "%s: line %d: %s", what,
				 line_of(src->sql, src->len, atol(pos)),
				 msg ? msg : PQerrorMessage(c));
		else
			snprintf(err, errlen, "%s: %s", what, msg ? msg : PQerrorMessage(c));
		rc = -EIO;
	}
	PQclear(res);
	return rc;
}

static int apply(PGconn *c, const struct db_migration *m, char *err, size_t errlen)
{
	const char *params[3];
	char version[16], what[128];
	PGresult *res;
	int rc;

	snprintf(what, sizeof(what), "migration %s", m->name);
	if ((rc = exec_ok(c, "BEGIN", what, NULL, err, errlen)))
		return rc;
	rc = exec_ok(c, m->sql, what, m, err, errlen);
	if (rc == 0) {
		snprintf(version, sizeof(version), "%d", m->version);
		params[0] = version;
		params[1] = m->name;
		params[2] = m->checksum;
		res = PQexecParams(c,
				   "INSERT INTO schema_migrations (version, name, checksum) "
				   "VALUES ($1, $2, $3)",
				   3, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "%s: recording it: %s", what, PQerrorMessage(c));
			rc = -EIO;
		}
		PQclear(res);
	}
	if (rc == 0)
		rc = exec_ok(c, "COMMIT", what, NULL, err, errlen);
	if (rc)
		PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

int db_migrate(PGconn *c, const struct db_migrations *set, FILE *log, char *err, size_t errlen)
{
	PGresult *res = NULL;
	int rc, applied = 0, rows;

	rc = exec_ok(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "migration lock", NULL,
		     err, errlen);
	if (rc)
		return rc;
	rc = exec_ok(c,
		     "SET client_min_messages = warning;"
		     "CREATE TABLE IF NOT EXISTS schema_migrations ("
		     " version integer PRIMARY KEY,"
		     " name text NOT NULL,"
		     " checksum text NOT NULL,"
		     " applied_at timestamptz NOT NULL DEFAULT now())",
		     "schema_migrations", NULL, err, errlen);
	if (rc)
		goto out;
	res = PQexec(c, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "reading schema_migrations: %s", PQerrorMessage(c));
		rc = -EIO;
		goto out;
	}
	rows = PQntuples(res);
	for (int i = 0; i < rows; i++) {
		int v = atoi(PQgetvalue(res, i, 0));
		const char *name = PQgetvalue(res, i, 1), *sum = PQgetvalue(res, i, 2);
		const struct db_migration *m = NULL;

		for (size_t j = 0; j < set->n && !m; j++)
			if (set->m[j].version == v)
				m = &set->m[j];
		if (!m) {
			snprintf(err, errlen,
				 "the database has migration %s (version %d) that this build does "
				 "not know: is it older than the one that migrated it?",
				 name, v);
			rc = -EPROTO;
			goto out;
		}
		if (strcmp(m->name, name) != 0 || strcmp(m->checksum, sum) != 0) {
			snprintf(
				err, errlen,
				"migration %s was applied as %s with checksum %.12s..., but the file "
				"now has checksum %.12s...: an applied migration must not be edited; "
				"add a new one",
				m->name, name, sum, m->checksum);
			rc = -EINVAL;
			goto out;
		}
	}
	for (size_t j = 0; j < set->n; j++) {
		bool done = false;
		for (int i = 0; i < rows && !done; i++)
			done = atoi(PQgetvalue(res, i, 0)) == set->m[j].version;
		if (done)
			continue;
		rc = apply(c, &set->m[j], err, errlen);
		if (rc)
			goto out;
		if (log)
			fprintf(log, "applied migration %s\n", set->m[j].name);
		applied++;
	}
	rc = applied;
out:
	PQclear(res);
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
	return rc;
}
