/* cmd_help.c - `eim help` and `eim version`. */
#include "eim/cli.h"
#include "eim/eim_version.h"

#include <sqlite3.h>
#include <wolfssl/options.h>
#include <wolfssl/version.h>
#include <cjson/cJSON.h>

#include <string.h>

int eim_cmd_help(int argc, char **argv)
{
	if (argc > 2)
		return eim_cli_usage_error("help", "too many arguments");
	if (argc == 2) {
		const struct eim_cli_cmd *c = eim_cli_find(argv[1]);
		if (!c)
			return eim_cli_usage_error("help",
						   "unknown command '%s'",
						   argv[1]);
		eim_cli_print_usage(c, stdout);
		return EIM_EXIT_OK;
	}
	printf("eim %s - an SGP.32 eIM: remote management of IoT eSIMs over "
	       "CoAP/DTLS\n\n"
	       "usage: eim COMMAND [OPTIONS] [ARGS]\n\n"
	       "commands:\n",
	       EIM_VERSION);
	for (const struct eim_cli_cmd *c = eim_cli_cmds; c->name; c++)
		printf("  %-20s %s\n", c->name, c->summary);
	printf("\nRun 'eim COMMAND --help' for the options of a command.\n"
	       "Exit codes: 0 success, 1 operational error, 2 usage error.\n");
	return EIM_EXIT_OK;
}

int eim_cmd_version(int argc, char **argv)
{
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return eim_cli_usage_error("version",
						   "unknown argument '%s'",
						   argv[i]);
	}
	if (!json) {
		printf("eim %s (wolfSSL %s, SQLite %s, cJSON %s)\n",
		       EIM_VERSION, LIBWOLFSSL_VERSION_STRING,
		       sqlite3_libversion(), cJSON_Version());
		return EIM_EXIT_OK;
	}
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return eim_cli_fail("version", "out of memory");
	cJSON_AddStringToObject(o, "eim", EIM_VERSION);
	cJSON_AddStringToObject(o, "wolfssl", LIBWOLFSSL_VERSION_STRING);
	cJSON_AddStringToObject(o, "sqlite", sqlite3_libversion());
	cJSON_AddStringToObject(o, "cjson", cJSON_Version());
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return eim_cli_fail("version", "out of memory");
	printf("%s\n", s);
	cJSON_free(s);
	return EIM_EXIT_OK;
}
