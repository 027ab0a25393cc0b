/*
 * tsctl, the operator's CLI over the control plane's HTTPS admin API. This file takes the global
 * options, prints the help (which documents the exit codes scripts rely on) and dispatches on the
 * command word; the commands live in cmd_auth.c, cmd_trade.c, cmd_ops.c, cmd_venues.c and top.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const struct {
	const char *name;
	int (*run)(struct tsctl_client *c, int argc, char **argv);
} commands[] = {
	{ "login", cmd_login },	      { "logout", cmd_logout }, { "status", cmd_status },
	{ "orders", cmd_orders },     { "order", cmd_order },	{ "positions", cmd_positions },
	{ "balances", cmd_balances }, { "risk", cmd_risk },	{ "kill", cmd_kill },
	{ "users", cmd_users },	      { "audit", cmd_audit },	{ "top", cmd_top },
	{ "venues", cmd_venues },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char help[] =
	"usage: tsctl [global options] COMMAND [ARGS]\n"
	"\n"
	"The operator's CLI for a tradsys appliance, over the control plane's HTTPS admin API.\n"
	"\n"
	"global options (anywhere before --):\n"
	"  --url URL          the admin API (env TSCTL_URL; else the logged-in server's; else\n"
	"                     " TSCTL_DEFAULT_URL ")\n"
	"  --cacert FILE      CA or self-signed certificate to trust (env TSCTL_CACERT)\n"
	"  --token-file FILE  where login keeps the session (default ~/.config/tradsys/token,\n"
	"                     mode 0600 in a 0700 directory)\n"
	"  --json             print the API's JSON answer (one line) instead of a table\n"
	"  -h, --help         this text\n"
	"\n"
	"commands:\n"
	"  login USER [--totp CODE]   log in; the password comes from TSCTL_PASSWORD or a prompt\n"
	"                             without echo, a TOTP code is asked for when needed\n"
	"  logout                     revoke the refresh token and remove the token file\n"
	"  status                     the dataplane (workers, counters, latency) and the database\n"
	"  orders [--status S] [--account N] [--instrument N] [--limit N]\n"
	"  order show ID              one order and its events\n"
	"  order new ACCOUNT VENUE INSTRUMENT B|S QTY PRICE [--type N] [--tif N]\n"
	"                             a manual order, through the worker's pre-trade risk checks\n"
	"  order cancel ID\n"
	"  positions [--account N]\n"
	"  balances [--account N]\n"
	"  risk get                   limits and active kill switches\n"
	"  risk set SCOPE ID KIND VALUE [--disable]\n"
	"                             SCOPE firm|account|instrument (ID 0 for firm), e.g.\n"
	"                             risk set firm 0 max_order_qty 5000; pushed live\n"
	"  kill on|off [--scope firm|account|instrument --id N] [--cancel-open]\n"
	"  users                      list users\n"
	"  users add USER ROLE [--display NAME]   password from TSCTL_NEW_PASSWORD or a prompt\n"
	"  users del USER | users role USER ROLE | users disable USER | users enable USER\n"
	"                             USER is a name or an id; ROLE admin|trader|viewer\n"
	"  audit [--limit N] [--action A] [--actor USER] [--before-id ID]\n"
	"  venues                     venue sessions per worker: state, sequence, reconnects,\n"
	"                             orders by outcome\n"
	"  venues disconnect|connect NAME\n"
	"                             log the venue's session out and keep it down, or let it\n"
	"                             reconnect (audited; pushed to the workers that have it)\n"
	"  top [--once]               live view refreshed every second until q or Ctrl-C;\n"
	"                             --once prints one frame\n"
	"\n"
	"An expired access token is refreshed once automatically with the stored refresh token.\n"
	"Errors go to stderr; passwords and tokens are never printed.\n"
	"\n"
	"exit codes:\n"
	"  0  ok\n"
	"  1  usage: bad command line, no password to read, token file not writable\n"
	"  2  authentication or permission: 401 (not logged in, session over, bad password)\n"
	"     or 403 (the role lacks the permission)\n"
	"  3  not found (404)\n"
	"  4  bad request: 400, 409 and other 4xx, or a value tsctl refused before sending;\n"
	"     the field at fault is printed\n"
	"  5  server or connection error: 5xx, 429, no connection, TLS failure, an unreadable\n"
	"     answer; also risk set, kill and venues disconnect|connect when a running worker\n"
	"     did not take the change\n"
	"     (it is stored and applies when the worker restarts)\n";

static const char *env(const char *name)
{
	return getenv(name);
}

int main(int argc, char **argv)
{
	struct tsctl_opts o;
	struct tsctl_client c;
	char err[256], **rest;
	int nrest, code;

	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!rest)
		return TSCTL_EXIT_SERVER;
	if (tsctl_opts_parse(argc, argv, env, &o, rest, &nrest, err, sizeof(err))) {
		fprintf(stderr, "tsctl: %s (tsctl --help)\n", err);
		free(rest);
		return TSCTL_EXIT_USAGE;
	}
	if (o.help || (nrest == 1 && !strcmp(rest[0], "help"))) {
		fputs(help, stdout);
		free(rest);
		return TSCTL_EXIT_OK;
	}
	if (!nrest) {
		fputs(help, stderr);
		free(rest);
		return TSCTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(rest[0], commands[i].name))
			continue;
		if (tsctl_client_init(&c, &o)) {
			fprintf(stderr, "tsctl: cannot start libcurl\n");
			free(rest);
			return TSCTL_EXIT_SERVER;
		}
		code = commands[i].run(&c, nrest, rest);
		tsctl_client_fini(&c);
		free(rest);
		return code;
	}
	fprintf(stderr, "tsctl: unknown command '%s' (tsctl --help)\n", rest[0]);
	free(rest);
	return TSCTL_EXIT_USAGE;
}
