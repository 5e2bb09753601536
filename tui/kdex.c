/*
 * kdex: entry point. Dispatches to a subcommand from the table below; with
 * no subcommand it opens the full-screen trading client.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "kdex.h"

static const struct kdex_cmd kdex_cmds[] = {
	{ "keeta", "keeta address|decode|sign-message|verify-message ...",
	    "inspect Keeta keys, blocks, votes and staples", cmd_keeta },
};

static void
usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: kdex [--help] [--version] <command> [args]\n\ncommands:\n");
	for (i = 0; i < sizeof kdex_cmds / sizeof kdex_cmds[0]; i++)
		fprintf(f, "  %-8s %s\n", kdex_cmds[i].name, kdex_cmds[i].summary);
}

int
main(int argc, char **argv)
{
	size_t	 i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("kdex %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof kdex_cmds / sizeof kdex_cmds[0]; i++) {
		if (strcmp(argv[1], kdex_cmds[i].name) == 0)
			return kdex_cmds[i].exec(argc - 1, argv + 1);
	}
	fprintf(stderr, "kdex: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
