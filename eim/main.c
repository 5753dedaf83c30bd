/*
 * main.c - entry point of `eim`: finds the subcommand in the table and runs
 * it. `eim CMD --help` / `-h` is answered here for every command, so each
 * command only parses its own options.
 */
#include "eim/cli.h"

#include <string.h>

static bool eim__wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		eim_cmd_help(1, argv);
		return EIM_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		return eim_cmd_help(1, argv);
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
		name = "version";

	const struct eim_cli_cmd *cmd = eim_cli_find(name);
	if (!cmd) {
		fprintf(stderr,
			"eim: unknown command '%s' (see 'eim help' for the "
			"list)\n",
			name);
		return EIM_EXIT_USAGE;
	}
	if (eim__wants_help(argc - 1, argv + 1)) {
		eim_cli_print_usage(cmd, stdout);
		return EIM_EXIT_OK;
	}
	int rc = cmd->run(argc - 1, argv + 1);
	if (fflush(stdout) != 0 && rc == EIM_EXIT_OK)
		rc = EIM_EXIT_FAIL; /* e.g. stdout is a full disk */
	return rc;
}
