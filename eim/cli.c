/* cli.c - lookup and error helpers of the `eim` command line (see cli.h). */
#include "eim/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct eim_cli_cmd *eim_cli_find(const char *name)
{
	for (const struct eim_cli_cmd *c = eim_cli_cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/*
 * Writes a formatted message to stderr with every control byte (below 0x20,
 * and DEL) shown as \xNN, and the C1 controls U+0080..U+009F (which some
 * terminals obey in UTF-8 too) as \u00NN. Messages quote what the
 * operator gave (EIDs, ICCIDs, lines of --file and --devices files), and a
 * file from someone else must not move the cursor, rewrite the terminal
 * title or forge a second line in a log that captures stderr.
 */
static void eim__cli_vmsg(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));
static void eim__cli_vmsg(const char *fmt, va_list ap)
{
	char msg[4096];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (n < 0)
		return;
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "\\x%02x", *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fprintf(stderr, "\\u00%02x", p[1]);
			p++;
		} else {
			fputc(*p, stderr);
		}
	}
	if ((size_t)n >= sizeof(msg))
		fputs("...", stderr);
}

int eim_cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eim %s: ", cmd);
	va_start(ap, fmt);
	eim__cli_vmsg(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EIM_EXIT_FAIL;
}

int eim_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eim %s: ", cmd);
	va_start(ap, fmt);
	eim__cli_vmsg(fmt, ap);
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
