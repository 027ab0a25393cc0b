/*
 * tradsys-controlplane <command> [options]: the control plane's one binary. This file only
 * dispatches on the command word; each command lives with its module and parses its own options
 * (db/cmd.c: migrate, persist; api/cmd.c: serve, create-admin). A new command is one line in the
 * table below.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "migrate", db_cmd_migrate, "apply the database schema migrations" },
	{ "persist", db_cmd_persist, "copy the workers' journals into the database until SIGTERM" },
	{ "serve", api_cmd_serve, "serve the HTTPS admin API and /metrics until SIGTERM" },
	{ "create-admin", api_cmd_create_admin, "create an admin user with a generated password" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: tradsys-controlplane <command> [options]   (<command> --help for its "
		     "options)\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tradsys-controlplane: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
