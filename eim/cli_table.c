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
	 "(the same as 'eim COMMAND --help').\n",
	 NULL},
	{"init", eim_cmd_init, "create the database and the first eIM identity",
	 "usage: eim init --eim-id ID [--key PEM] [--cert PEM] [--db PATH]\n"
	 "\n"
	 "Creates the database (default ./eim.db, or $EIM_DB) and its first\n"
	 "eIM identity. The identity signs every package with a P-256 key:\n"
	 "  --eim-id ID   the eimId the eUICCs know this eIM by (1-128 chars)\n"
	 "  --key PEM     use this private key (SEC1 or PKCS#8 PEM/DER); "
	 "without\n"
	 "                it a new key is written next to the database as\n"
	 "                <eimId>.key.pem with mode 0600\n"
	 "  --cert PEM    the eIM's certificate for that key (eUICCs then get\n"
	 "                the certificate instead of the bare public key)\n"
	 "  --db PATH     the database file\n",
	 NULL},
	{"identity", eim_cmd_identity, "add, list and show eIM identities",
	 "usage: eim identity add --eim-id ID [--key PEM] [--cert PEM]\n"
	 "       eim identity list [--json]\n"
	 "       eim identity show ID [--json]\n"
	 "\n"
	 "One database can hold several eIM identities (two managers sharing\n"
	 "a device, or a second identity to renew an exhausted counter).\n"
	 "'add' takes the options of 'eim init'. All actions take --db "
	 "PATH.\n",
	 NULL},
	{"device", eim_cmd_device,
	 "register devices and their DTLS credentials",
	 "usage: eim device add EID CREDENTIAL [--eim ID] [--counter N]\n"
	 "                      [--association-token N] [--euicc-cert "
	 "FILE]...\n"
	 "       eim device list [--json]\n"
	 "       eim device show EID [--json]\n"
	 "       eim device remove EID [--force]\n"
	 "       eim device import FILE [--eim ID]\n"
	 "\n"
	 "EID is the eUICC's 32-digit identifier (check digits are verified).\n"
	 "CREDENTIAL is how the device authenticates over DTLS, one of:\n"
	 "  --psk-identity ID --psk HEX   pre-shared key (16-64 bytes)\n"
	 "  --cert-fingerprint SHA256     client certificate (64 hex digits)\n"
	 "  --rpk PEMFILE                 raw public key (RFC 7250)\n"
	 "Options of 'add':\n"
	 "  --eim ID               managing eIM identity (default: the only "
	 "one)\n"
	 "  --counter N            counterValue the eUICC was given for this "
	 "eIM\n"
	 "                         (default 0: the first package carries 1)\n"
	 "  --association-token N  the associationToken of this association\n"
	 "  --euicc-cert FILE      eUICC certificate (then EUM) used to "
	 "verify\n"
	 "                         results; repeat for the chain\n"
	 "'import' adds a fleet from FILE (- = stdin), one device per line:\n"
	 "EID,PSK_IDENTITY,PSK_HEX[,COUNTER[,CERTFILE]] ('#' comments;\n"
	 "CERTFILE: PEM with the eUICC then the EUM certificate); every line "
	 "is\n"
	 "checked first, then devices are added 1,000 per transaction.\n"
	 "'remove' deletes the device, its credentials, queue and results\n"
	 "(the audit trail keeps them); it is refused while a delivered\n"
	 "package awaits its result, unless --force.\n"
	 "All actions take --db PATH. Secrets are never printed.\n",
	 NULL},
	{"serve", eim_cmd_serve, "answer devices (ESipa over CoAP)",
	 "usage: eim serve [--config FILE] [--db PATH] [--coap ADDR:PORT]\n"
	 "                 [--listen ADDR:PORT] [--log-level LEVEL]\n"
	 "                 [--require-verified-results] [--ci-root PEM]...\n"
	 "                 [--dtls-cert PEM] [--dtls-key PEM]\n"
	 "                 [--dtls-client-ca PEM] [--dtls-allow-expired-pins]\n"
	 "                 [--stats-interval S]\n"
	 "\n"
	 "Serves POST /gsma/rsp2/asn1 to devices: getEimPackage,\n"
	 "provideEimPackageResult, handleNotification. Logs one line per\n"
	 "request. SIGINT/SIGTERM finish the request in progress and close\n"
	 "the database. The first line on stdout says where it listens.\n"
	 "\n"
	 "  --config FILE   JSON settings (see eim/eim_config.h, README);\n"
	 "                  the options below override it\n"
	 "  --db PATH       database (default ./eim.db or $EIM_DB)\n"
	 "  --listen ADDR:PORT  coaps: DTLS 1.2 with Connection ID, devices\n"
	 "                  authenticated by their PSK, or by a certificate\n"
	 "                  or raw key with --dtls-key (default [::]:5684;\n"
	 "                  '' turns it off; port 0 picks a free port)\n"
	 "  --coap ADDR:PORT  also plain CoAP, unauthenticated: labs only\n"
	 "  --log-level L   error, warn, info (default) or debug\n"
	 "  --require-verified-results  refuse results whose eUICC\n"
	 "                  signature cannot be checked\n"
	 "  --ci-root PEM   trusted CI certificate: eUICC chains are then\n"
	 "                  validated (repeat for several)\n"
	 "  --dtls-cert PEM  server certificate chain, leaf first (with\n"
	 "                  --dtls-key): the ECDHE-ECDSA suites are offered\n"
	 "  --dtls-key PEM   the server's P-256 private key; without\n"
	 "                  --dtls-cert the server presents it as a raw\n"
	 "                  public key (RFC 7250). With a key, devices may\n"
	 "                  also authenticate by a certificate or raw key\n"
	 "                  registered with 'eim device add'\n"
	 "  --dtls-client-ca PEM  CA(s) that must have issued device\n"
	 "                  certificates (then checked too)\n"
	 "  --dtls-allow-expired-pins  accept a device certificate pinned\n"
	 "                  by fingerprint outside its validity period\n"
	 "  --stats-interval S  log a line of counters (requests, DTLS\n"
	 "                  sessions, handshakes and every drop reason)\n"
	 "                  every S seconds (default 300; 0: only when\n"
	 "                  stopping)\n",
	 NULL},
	{"export-initial-eim", eim_cmd_export,
	 "export what a fresh eUICC needs to trust this eIM",
	 "usage: eim export-initial-eim --identity ID [--out FILE]\n"
	 "          [--config-out FILE] [--counter N] [--fqdn FQDN]\n"
	 "          [--id-type oid|fqdn|proprietary] [--protocols LIST]\n"
	 "          [--association-token N|request] [--tls-certificate PEM]\n"
	 "          [--tls-public-key PEM] [--json] [--db PATH]\n"
	 "\n"
	 "Builds the eIM's EimConfigurationData from the identity's public "
	 "key\n"
	 "(or certificate) and prints two things in hex:\n"
	 "  - the AddInitialEimRequest (ES10b) a factory or the IPA loads "
	 "onto\n"
	 "    a fresh eUICC (--out FILE also writes it as DER);\n"
	 "  - the EimConfigurationData another eIM puts in an addEim\n"
	 "    (--config-out FILE writes it as DER).\n"
	 "--counter (default 0) must equal the --counter given to 'eim device\n"
	 "add' for the devices it is loaded onto. --json prints {eim_id,\n"
	 "counter, add_initial_eim_request, eim_configuration_data}.\n",
	 NULL},
	{"submit", eim_cmd_submit, "queue signed packages for devices",
	 "usage: eim submit EID OPERATION [--param VALUE]... [+ OPERATION "
	 "...]\n"
	 "       eim submit --devices FILE OPERATION ... (same package for "
	 "each "
	 "EID)\n"
	 "       eim submit --file FILE (packages described in JSON; - = "
	 "stdin)\n"
	 "\n"
	 "Queues one signed package per device: its counterValue is taken and\n"
	 "the package signed in one transaction. Several operations go in one\n"
	 "package when joined with '+', e.g.\n"
	 "  eim submit EID disable --iccid A + enable --iccid B --rollback\n"
	 "Prints the package id and counterValue of each package.\n"
	 "\n"
	 "options:\n"
	 "  --eim ID          sign as this eIM identity (default: the "
	 "device's)\n"
	 "  --valid-for T     deliver within T (3600, 30m, 12h, 7d, none;\n"
	 "                    default 7d); expired packages are never sent\n"
	 "  --devices FILE    one EID per line ('#' comments allowed)\n"
	 "  --jobs N          --devices: sign on N threads (default: one per\n"
	 "                    CPU); counters are reserved first, so a crash\n"
	 "                    can leave unused counterValues, never repeats\n"
	 "  --file FILE       {\"packages\": [{\"eid\": ..., \"operations\": "
	 "[...]}]}\n"
	 "                    (see examples/ops.json)\n"
	 "  --json            print [{id, eid, counter, transaction_id,\n"
	 "                    counter_warning}]\n"
	 "  --db PATH         the database file\n",
	 eim_cmd_submit_help},
	{"renew", eim_cmd_renew, "renew an eIM's association (counter renewal)",
	 "usage: eim renew EID --eim A --via B [--json] [--db PATH]\n"
	 "\n"
	 "Before eIM identity A runs out of counterValues for the device\n"
	 "(8,388,607), identity B, which the eUICC also trusts, queues one\n"
	 "package: deleteEim(A) then addEim(A) with counter 0 and a request\n"
	 "for a new associationToken. When its verified result arrives, eim\n"
	 "serve stores A's new token and restarts A's counter: every package\n"
	 "A signed before covered the old token and can no longer be "
	 "replayed.\n"
	 "Refused while A has undelivered packages for the device. See\n"
	 "README, 'Counter renewal'.\n",
	 NULL},
	{"queue", eim_cmd_queue, "list packages and their delivery state",
	 "usage: eim queue [EID] [--state S] [--since T] [--until T] [--limit "
	 "N]\n"
	 "                 [--json] [--db PATH]\n"
	 "\n"
	 "Lists packages, oldest first: all, or one device's (EID).\n"
	 "  --state S    queued, sent (delivered, result pending), done,\n"
	 "               expired or cancelled\n"
	 "  --since T    created at or after T (YYYY-MM-DD,\n"
	 "               YYYY-MM-DDTHH:MM:SSZ or Unix seconds)\n"
	 "  --until T    created before T\n"
	 "  --limit N    at most N packages\n"
	 "  --json       a JSON array of packages: id, eid, eim_id, counter,\n"
	 "               transaction_id, kind, summary, state, created, sent,\n"
	 "               finished, valid_until, attempts\n",
	 NULL},
	{"results", eim_cmd_results, "list the results devices reported",
	 "usage: eim results [EID] [--since T] [--until T] [--json] [--db "
	 "PATH]\n"
	 "\n"
	 "Lists the eUICC package results received, oldest first, and whether\n"
	 "each one's eUICC signature was verified.\n"
	 "  --json   a JSON array: id, package_id, eid, verified, seq_number,\n"
	 "           summary, codes, received\n",
	 NULL},
	{"show", eim_cmd_show, "show one package and its results",
	 "usage: eim show PACKAGE_ID [--json] [--db PATH]\n"
	 "\n"
	 "Shows a package (state, counter, operations, times) and the results\n"
	 "received for it. --json adds the exact bytes as hex (bytes).\n",
	 NULL},
	{"cancel", eim_cmd_cancel, "cancel a package that was not sent yet",
	 "usage: eim cancel PACKAGE_ID [--json] [--db PATH]\n"
	 "\n"
	 "Cancels a queued package. A package already delivered to the device\n"
	 "cannot be cancelled: the eUICC may have run it.\n",
	 NULL},
	{"audit", eim_cmd_audit, "show the audit trail",
	 "usage: eim audit [EID] [--since T] [--until T] [--limit N] [--json]\n"
	 "                 [--db PATH]\n"
	 "\n"
	 "Every operator action and every package state change, oldest first.\n"
	 "  --json   a JSON array: id, at, actor, action, eid, package_id, "
	 "detail\n",
	 NULL},
	{"decode", eim_cmd_decode,
	 "print an SGP.32 message and check its signatures",
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
	 "Exit 1 also when a signature does not verify with the keys given.\n",
	 NULL},
	{"version", eim_cmd_version,
	 "print the version of eim and its libraries",
	 "usage: eim version [--json]\n"
	 "\n"
	 "Prints the eim version and the versions of the libraries it runs "
	 "on.\n"
	 "Also available as 'eim --version'.\n"
	 "\n"
	 "  --json   print a JSON object instead of text\n",
	 NULL},
	{NULL, NULL, NULL, NULL, NULL},
};
