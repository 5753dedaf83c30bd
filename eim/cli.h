/*
 * cli.h - the `eim` command line: the subcommand table and the helpers every
 * subcommand uses to report errors the same way.
 *
 * Contract (DESIGN.md, "Interfaces that are contracts"):
 *   exit 0  success
 *   exit 1  operational error (bad input file, database, network, ...)
 *   exit 2  usage error (unknown command or option, missing argument)
 * Errors go to stderr as ONE line naming what was wrong:
 *   eim decode: input.bin: malformed input at byte 12: length runs past the end
 */
#ifndef EIM_CLI_H
#define EIM_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum eim_exit {
	EIM_EXIT_OK = 0,
	EIM_EXIT_FAIL = 1,
	EIM_EXIT_USAGE = 2,
};

/*
 * One subcommand. `run` receives argv with argv[0] = the command name (so
 * getopt_long works as usual) and returns an enum eim_exit value.
 * `usage` is the full text printed by `eim CMD --help` (synopsis, then option
 * descriptions); `summary` is the one line shown by `eim help`.
 */
struct eim_cli_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const char *usage;
	/* Optional: prints more help after `usage` (e.g. generated tables). */
	void (*more_help)(FILE *out);
};

/* The table, terminated by an entry with name == NULL (cli_table.c). */
extern const struct eim_cli_cmd eim_cli_cmds[];

/* Finds a command by name; NULL if there is none. */
const struct eim_cli_cmd *eim_cli_find(const char *name);

/* Prints "eim CMD: message" + newline to stderr; returns EIM_EXIT_FAIL. */
int eim_cli_fail(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Prints "eim CMD: message (see 'eim CMD --help')" to stderr; returns
 * EIM_EXIT_USAGE.
 */
int eim_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints the usage of `cmd` to `out`. */
void eim_cli_print_usage(const struct eim_cli_cmd *cmd, FILE *out);

/* The commands, one function each (cmd_*.c). */
int eim_cmd_help(int argc, char **argv);
int eim_cmd_version(int argc, char **argv);
int eim_cmd_decode(int argc, char **argv);
int eim_cmd_init(int argc, char **argv);
int eim_cmd_identity(int argc, char **argv);
int eim_cmd_device(int argc, char **argv);
int eim_cmd_queue(int argc, char **argv);
int eim_cmd_results(int argc, char **argv);
int eim_cmd_show(int argc, char **argv);
int eim_cmd_cancel(int argc, char **argv);
int eim_cmd_audit(int argc, char **argv);
int eim_cmd_submit(int argc, char **argv);
int eim_cmd_serve(int argc, char **argv);
int eim_cmd_export(int argc, char **argv);
int eim_cmd_renew(int argc, char **argv);
void eim_cmd_submit_help(FILE *out);

#endif
