/* cli.c - lookup and error helpers of the `eim` command line (see cli.h). */
#include "eim/cli.h"

#include <stdarg.h>
#include <string.h>

const struct eim_cli_cmd *eim_cli_find(const char *name)
{
	for (const struct eim_cli_cmd *c = eim_cli_cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int eim_cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eim %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EIM_EXIT_FAIL;
}

int eim_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eim %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'eim %s --help')\n", cmd);
	return EIM_EXIT_USAGE;
}

void eim_cli_print_usage(const struct eim_cli_cmd *cmd, FILE *out)
{
	fprintf(out, "%s", cmd->usage);
	if (cmd->more_help)
		cmd->more_help(out);
}
