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
	{"decode", eim_cmd_decode, "print an SGP.32 message and check its signatures",
	 "usage: eim decode [--json] [--eim-key PUB] [--euicc-cert CERT]...\n"
	 "                  [--token N] [FILE|-]\n"
	 "\n"
	 "Reads one message (binary, hex or base64, detected) from FILE or\n"
	 "stdin: an ESipa message in either direction, an EuiccPackageRequest\n"
	 "or EuiccPackageResult, or an AddInitialEim request or response.\n"
	 "Prints it as a tree with field and result-code names, then whether\n"
	 "each signature verifies. Malformed input: exit 1 and one line with\n"
	 "the byte offset (in the decoded bytes) and what is wrong.\n"
	 "  --json            print JSON: {message, direction, input,\n"
	 "                    signatures}; byte strings as hex, EID/ICCID as\n"
	 "                    digits, known result codes as names\n"
	 "  --eim-key PUB     eIM public key, certificate or private key (PEM\n"
	 "                    or DER) to check eimSignature; repeatable\n"
	 "  --euicc-cert CERT eUICC certificate (or key) to check\n"
	 "                    euiccSignEPR/EPE; repeatable\n"
	 "  --token N         associationToken of the association (default:\n"
	 "                    none, i.e. 84 01 00)\n"
	 "Exit 1 also when a signature does not verify with the keys given.\n"},
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
