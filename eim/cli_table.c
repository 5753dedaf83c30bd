/*
 * cli_table.c - the subcommands of `eim`, in the order `eim help` lists them.
 * Adding a command: write eim/cmd_NAME.c with `int eim_cmd_NAME(int, char **)`,
 * declare it in cli.h and add one row here.
 */
#include "eim/cli.h"

#include <stddef.h>

const struct eim_cli_cmd eim_cli_cmds[] = {
	{"help", eim_cmd_help, "show the commands, or the help of one command",
	 "usage: eim help [COMMAND]\n"
	 "\n"
	 "Without COMMAND, lists every command. With COMMAND, prints its help\n"
	 "(the same as 'eim COMMAND --help').\n"},
	{"version", eim_cmd_version,
	 "print the version of eim and its libraries",
	 "usage: eim version [--json]\n"
	 "\n"
	 "Prints the eim version and the versions of the libraries it runs "
	 "on.\n"
	 "Also available as 'eim --version'.\n"
	 "\n"
	 "  --json   print a JSON object instead of text\n"},
	{NULL, NULL, NULL, NULL},
};
