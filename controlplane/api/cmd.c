/*
 * The admin API's subcommands: `serve` (the HTTPS API and the Prometheus exporter until a
 * signal) and `create-admin` (the first administrator, with a generated password printed once;
 * there are no default credentials). Both bring the schema up to date first, like `migrate`.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "db.h"
#include "journal.h"
#include "metrics.h"
#include "notify.h"

static int migrate_or_say(const char *cmd, PGconn *c)
{
	struct db_migrations set;
	char err[1024];
	int rc = db_migrations_builtin(&set, err, sizeof(err));

	if (!rc) {
		rc = db_migrate(c, &set, NULL, err, sizeof(err));
		db_migrations_free(&set);
	}
	if (rc < 0) {
		fprintf(stderr, "tradsys-controlplane %s: %s\n", cmd, err);
		return rc;
	}
	return 0;
}

static PGconn *connect_or_say(const char *cmd, const char *url)
{
	PGconn *c = PQconnectdb(url);

	if (PQstatus(c) != CONNECTION_OK) {
		/* libpq's message names the host and the cause, never the password. */
		fprintf(stderr, "tradsys-controlplane %s: cannot connect to the database: %s", cmd,
			PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* ---- persister progress for /metrics ---- */

struct persister_probe {
	pthread_mutex_t mu;
	const struct api_config *cfg;
	PGconn *c;
};

#define LAG_READ_MAX 1000000 /* records counted past a checkpoint at most, per scrape */

static int64_t journal_lag(const char *dir, const char *instance, uint32_t w, uint64_t seq)
{
	static _Thread_local struct shm_journal_record buf[256];
	char err[256];
	struct shm_journal_reader *r =
		shm_journal_reader_open(dir, instance, w, seq + 1, err, sizeof(err));
	int64_t n = 0;
	int got;

	if (!r)
		return -1;
	while (n < LAG_READ_MAX && (got = shm_journal_reader_read(r, buf, 256)) > 0)
		n += got;
	shm_journal_reader_close(r);
	return got < 0 && n == 0 ? -1 : n;
}

static int persister_rows(void *ctx, struct metrics_persister *out, size_t max)
{
	struct persister_probe *p = ctx;
	const char *params[1] = { p->cfg->instance };
	char err[256];
	PGresult *res;
	int n = -EIO;

	pthread_mutex_lock(&p->mu);
	if (!p->c)
		p->c = PQconnectdb(p->cfg->database);
	else if (PQstatus(p->c) != CONNECTION_OK)
		PQreset(p->c);
	if (PQstatus(p->c) != CONNECTION_OK)
		goto out;
	res = api_db_exec(p->c,
			  "SELECT worker, last_seq FROM journal_checkpoints WHERE instance = $1 "
			  "ORDER BY worker",
			  1, params, err, sizeof(err));
	if (!res)
		goto out;
	n = 0;
	for (int i = 0; i < PQntuples(res) && (size_t)n < max; i++, n++) {
		out[n].worker = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		out[n].checkpoint_seq = strtoull(PQgetvalue(res, i, 1), NULL, 10);
		out[n].lag = p->cfg->journal_dir[0]
				     ? journal_lag(p->cfg->journal_dir, p->cfg->instance,
						   out[n].worker, out[n].checkpoint_seq)
				     : -1;
	}
	PQclear(res);
out:
	pthread_mutex_unlock(&p->mu);
	return n;
}

/* ---- serve ---- */

/*
 * Under systemd (Type=notify): READY=1 once the listeners are up (the schema was brought up to
 * date before), then WATCHDOG=1 every half WatchdogSec= from this thread while it waits for the
 * signal, whose number it returns. The requests are served by libmicrohttpd's own threads.
 */
static int wait_notifying(const sigset_t *set, const struct api_config *cfg)
{
	uint64_t ns = notify_watchdog_interval_ns();
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
	char line[sizeof(cfg->listen_host) + sizeof(cfg->metrics_host) + sizeof(cfg->instance) + 64];
	int sig;

	snprintf(line, sizeof(line), "HTTPS API on %s:%u, /metrics on %s:%u, instance %s",
		 cfg->listen_host, cfg->listen_port, cfg->metrics_host, cfg->metrics_port,
		 cfg->instance);
	notify_ready(line);
	if (!ns)
		return sigwait(set, &sig) == 0 ? sig : -1;
	for (;;) {
		notify_watchdog();
		sig = sigtimedwait(set, NULL, &ts);
		if (sig > 0)
			return sig;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
	}
}

int api_cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct api_server s; /* large, and the MHD threads point into it */
	struct persister_probe probe = { .mu = PTHREAD_MUTEX_INITIALIZER, .cfg = &s.cfg };
	struct metrics_source src;
	struct metrics_server *ms = NULL;
	const char *path = NULL;
	char err[1024], pw[48];
	sigset_t set;
	PGconn *c;
	int ch, sig, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'h':
			printf("usage: tradsys-controlplane serve --config FILE\n"
			       "Serves the HTTPS admin API ([api]) and the Prometheus exporter\n"
			       "([metrics]) until SIGTERM or SIGINT.\n");
			return 0;
		default: return 2;
		}
	}
	if (!path || optind != argc) {
		fprintf(stderr, "usage: tradsys-controlplane serve --config FILE\n");
		return 2;
	}
	if (api_config_load(path, &s.cfg, err, sizeof(err))) {
		fprintf(stderr, "tradsys-controlplane serve: %s\n", err);
		return 1;
	}
	if (api_jwt_secret_load(s.cfg.jwt_secret_file, s.jwt_key, &s.jwt_keylen, err,
				sizeof(err))) {
		fprintf(stderr, "tradsys-controlplane serve: jwt_secret_file %s\n", err);
		return 1;
	}
	if (!(c = connect_or_say("serve", s.cfg.database)))
		return 1;
	rc = migrate_or_say("serve", c);
	PQfinish(c);
	if (rc)
		return 1;
	rc = 1;
	if (api_random_token(pw, sizeof(pw), 24) ||
	    api_password_hash(pw, s.cfg.argon2_t_cost, s.cfg.argon2_m_kib, s.dummy_hash,
			      sizeof(s.dummy_hash)) ||
	    api_db_pool_init(&s.db, s.cfg.database, s.cfg.threads) ||
	    api_rate_init(&s.rate, 4096, s.cfg.rate_per_s, s.cfg.rate_per_s) ||
	    /* Logins cost an Argon2 hash each: a tenth of the request rate per client address,
	     * with a burst of ten. */
	    api_rate_init(&s.login_rate, 1024,
			  s.cfg.rate_per_s >= 10 ? s.cfg.rate_per_s / 10.0 : 1.0, 10)) {
		fprintf(stderr, "tradsys-controlplane serve: out of memory\n");
		return 1;
	}
	api_dataplane_init(&s.dp, s.cfg.instance);
	api_jwt_cache_init(&s.jwt_cache);
	api_sync_init(&s);

	/* Signals are taken by sigwait below, never by the server threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (api_server_start(&s, err, sizeof(err))) {
		fprintf(stderr, "tradsys-controlplane serve: %s\n", err);
		goto out;
	}
	memset(&src, 0, sizeof(src));
	src.instance = s.cfg.instance;
	src.codes = api_status_codes;
	src.requests = s.requests;
	src.ncodes = API_NCODES;
	src.persister = persister_rows;
	src.ctx = &probe;
	if (s.cfg.metrics_port &&
	    !(ms = metrics_server_start(s.cfg.metrics_host, s.cfg.metrics_port, &src, err,
					sizeof(err)))) {
		fprintf(stderr, "tradsys-controlplane serve: %s\n", err);
		goto out;
	}
	if (api_sync_start(&s, err, sizeof(err))) {
		fprintf(stderr, "tradsys-controlplane serve: %s\n", err);
		goto out;
	}
	fprintf(stderr,
		"tradsys-controlplane serve: HTTPS API on %s:%u, /metrics on %s:%u, instance %s\n",
		s.cfg.listen_host, s.cfg.listen_port, s.cfg.metrics_host, s.cfg.metrics_port,
		s.cfg.instance);
	sig = wait_notifying(&set, &s.cfg);
	if (sig > 0)
		fprintf(stderr, "tradsys-controlplane serve: %s, stopping\n", strsignal(sig));
	notify_stopping("stopping");
	rc = 0;
out:
	api_sync_stop(&s);
	metrics_server_stop(ms);
	api_server_stop(&s);
	api_dataplane_fini(&s.dp);
	api_jwt_cache_fini(&s.jwt_cache);
	api_rate_fini(&s.rate);
	api_rate_fini(&s.login_rate);
	api_db_pool_fini(&s.db);
	if (probe.c)
		PQfinish(probe.c);
	explicit_bzero(s.jwt_key, sizeof(s.jwt_key));
	return rc;
}

/* ---- create-admin ---- */

int api_cmd_create_admin(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "database", required_argument, NULL, 'd' },
		{ "username", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *name = NULL;
	char pw[48], hash[160], err[512];
	const char *params[3];
	struct api_user_body ub;
	struct api_error e;
	PGresult *res;
	PGconn *c;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:u:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': url = optarg; break;
		case 'u': name = optarg; break;
		case 'h':
			printf("usage: tradsys-controlplane create-admin --database URL --username "
			       "NAME\nCreates an ADMIN user and prints its generated password once.\n");
			return 0;
		default: return 2;
		}
	}
	if (!url || !name || optind != argc) {
		fprintf(stderr,
			"usage: tradsys-controlplane create-admin --database URL --username "
			"NAME\n");
		return 2;
	}
	/* The same rules as POST /api/v1/users, through the same parser. */
	{
		json_t *j = json_pack("{s:s, s:s, s:s}", "username", name, "role", "admin",
				      "password", "placeholder-long-enough");
		char *body = json_dumps(j, JSON_COMPACT);

		json_decref(j);
		if (!body || api_body_user_create(body, strlen(body), &ub, &e)) {
			fprintf(stderr, "tradsys-controlplane create-admin: --username: %s\n",
				body ? e.msg : "out of memory");
			free(body);
			return 2;
		}
		free(body);
	}
	if (api_random_token(pw, sizeof(pw), 24) ||
	    api_password_hash(pw, 2, 19456, hash, sizeof(hash))) {
		fprintf(stderr, "tradsys-controlplane create-admin: cannot make a password\n");
		return 1;
	}
	if (!(c = connect_or_say("create-admin", url)))
		goto out;
	if (migrate_or_say("create-admin", c))
		goto out_conn;
	params[0] = name;
	params[1] = hash;
	params[2] = "{\"via\":\"create-admin\"}";
	res = api_db_exec(
		c,
		"WITH u AS (INSERT INTO users (username, password_hash, role) VALUES ($1, "
		"$2, 'admin') RETURNING id, username) INSERT INTO audit_log (user_id, "
		"actor, action, target, details) SELECT id, 'create-admin', 'user.create', "
		"username, $3::jsonb FROM u RETURNING user_id",
		3, params, err, sizeof(err));
	if (!res) {
		if (strstr(err, "duplicate key"))
			fprintf(stderr,
				"tradsys-controlplane create-admin: user '%s' exists already\n",
				name);
		else
			fprintf(stderr, "tradsys-controlplane create-admin: %s\n", err);
		goto out_conn;
	}
	printf("created admin '%s' (id %s); its password, shown only now:\n%s\n", name,
	       PQgetvalue(res, 0, 0), pw);
	fflush(stdout);
	PQclear(res);
	rc = 0;
out_conn:
	PQfinish(c);
out:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(hash, sizeof(hash));
	return rc;
}
