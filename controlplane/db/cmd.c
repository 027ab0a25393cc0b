/*
 * The database subcommands of tradsys-controlplane: `migrate` and `persist`. Each parses its own
 * options, so controlplane/main.c only dispatches on the first word.
 */
#include "db.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "notify.h"

static atomic_bool stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, true);
}

static PGconn *connect_or_say(const char *cmd, const char *url)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *vals[] = { url, "tradsys-controlplane", "10", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (!c || PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "tradsys-controlplane %s: cannot connect to the database: %s", cmd,
			c ? PQerrorMessage(c) : "out of memory\n");
		PQfinish(c);
		return NULL;
	}
	return c;
}

int db_cmd_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "database", required_argument, NULL, 'd' },
		{ "migrations", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *dir = NULL;
	struct db_migrations set;
	char err[1024];
	PGconn *c;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:m:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': url = optarg; break;
		case 'm': dir = optarg; break;
		case 'h':
			printf("usage: tradsys-controlplane migrate --database URL [--migrations DIR]\n"
			       "Applies the schema migrations the database lacks (built in, or the\n"
			       "NNN_name.sql files of DIR), each in its own transaction.\n");
			return 0;
		default: return 2;
		}
	}
	if (!url || optind != argc) {
		fprintf(stderr, "usage: tradsys-controlplane migrate --database URL "
				"[--migrations DIR]\n");
		return 2;
	}
	rc = dir ? db_migrations_load_dir(&set, dir, err, sizeof(err))
		 : db_migrations_builtin(&set, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "tradsys-controlplane migrate: %s\n", err);
		return 1;
	}
	c = connect_or_say("migrate", url);
	if (!c) {
		db_migrations_free(&set);
		return 1;
	}
	rc = db_migrate(c, &set, stdout, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "tradsys-controlplane migrate: %s\n", err);
	else
		printf("database schema is up to date: %d migration%s applied now, %zu known\n", rc,
		       rc == 1 ? "" : "s", set.n);
	PQfinish(c);
	db_migrations_free(&set);
	return rc < 0 ? 1 : 0;
}

/*
 * persist under systemd (Type=notify): READY=1 after the first pass that reached the database
 * (connected, checkpoints read; the unit's ExecStartPre= ran the migrations), WATCHDOG=1 while
 * the loop turns (also while it retries a lost database: that is its job), STATUS= on each
 * change between copying and retrying.
 */
struct persist_notify {
	const struct db_persister *p;
	const struct db_persist_opts *o;
	uint64_t interval_ns, next_ns;
	bool ready, failing;
};

static void persist_on_pass(void *ctx, int rc)
{
	struct persist_notify *n = ctx;
	uint64_t now = clock_mono_ns();

	if (rc >= 0 && (!n->ready || n->failing)) {
		char line[160];

		snprintf(line, sizeof(line), "copying the journals of instance %s in %s",
			 n->o->instance, n->o->journal_dir);
		if (n->ready)
			notify_status("%s", line);
		else
			notify_ready(line);
		n->ready = true;
	} else if (rc < 0 && !n->failing) {
		notify_status("%s the database: %s", n->ready ? "retrying" : "waiting for",
			      db_persister_error(n->p));
	}
	n->failing = rc < 0;
	if (n->interval_ns && now >= n->next_ns) {
		notify_watchdog();
		n->next_ns = now + n->interval_ns;
	}
}

int db_cmd_persist(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "database", required_argument, NULL, 'd' },
		{ "journal-dir", required_argument, NULL, 'j' },
		{ "instance", required_argument, NULL, 'i' },
		{ "batch", required_argument, NULL, 'b' },
		{ "connections", required_argument, NULL, 'c' },
		{ "no-orders", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct db_persist_opts o = { 0 };
	struct persist_notify pn = { .o = &o, .interval_ns = notify_watchdog_interval_ns() };
	struct db_persist_stats st;
	struct db_persister *p;
	struct sigaction sa;
	char err[1024], *end;
	unsigned long v;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:j:i:b:c:nh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': o.conninfo = optarg; break;
		case 'j': o.journal_dir = optarg; break;
		case 'i': o.instance = optarg; break;
		case 'b':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || v == 0 || v > 1000000) {
				fprintf(stderr,
					"tradsys-controlplane persist: --batch: '%s' is not "
					"in 1..1000000\n",
					optarg);
				return 2;
			}
			o.batch = (uint32_t)v;
			break;
		case 'c':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || v == 0 || v > 16) {
				fprintf(stderr,
					"tradsys-controlplane persist: --connections: '%s' is not "
					"in 1..16\n",
					optarg);
				return 2;
			}
			o.connections = (uint32_t)v;
			break;
		case 'n': o.no_orders = true; break;
		case 'h':
			printf("usage: tradsys-controlplane persist --database URL --journal-dir DIR "
			       "--instance NAME [--batch N] [--connections N] [--no-orders]\n"
			       "Copies every worker journal of NAME in DIR into the database, exactly\n"
			       "once, until SIGTERM or SIGINT: --batch records per worker and\n"
			       "transaction (65536), the workers split over --connections parallel\n"
			       "connections (2), each with its own transactions.\n");
			return 0;
		default: return 2;
		}
	}
	if (!o.conninfo || !o.journal_dir || !o.instance || optind != argc) {
		fprintf(stderr,
			"usage: tradsys-controlplane persist --database URL --journal-dir "
			"DIR --instance NAME [--batch N] [--connections N] [--no-orders]\n");
		return 2;
	}
	o.on_pass = persist_on_pass;
	o.ctx = &pn;
	p = db_persister_new(&o, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "tradsys-controlplane persist: %s\n", err);
		return 2;
	}
	pn.p = p;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: a sleep ends at the signal */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "persist: instance %s, journals in %s\n", o.instance, o.journal_dir);
	rc = db_persister_run(p, &stop_flag);
	if (!rc)
		notify_stopping("stopping");
	db_persister_stats(p, &st);
	if (rc)
		fprintf(stderr, "tradsys-controlplane persist: %s\n", db_persister_error(p));
	fprintf(stderr,
		"persist: %s after %llu records in %llu transactions (%llu connects, %llu errors)\n",
		rc ? "failed" : "stopped", (unsigned long long)st.records,
		(unsigned long long)st.transactions, (unsigned long long)st.reconnects,
		(unsigned long long)st.errors);
	db_persister_free(p);
	return rc ? 1 : 0;
}
