/*
 * cli_util.h - what every operator command shares: choosing and opening the
 * database, parsing identifiers with one-line errors, option-parsing glue,
 * reading small files, and printing JSON or times.
 *
 * Every function that reports an error prints exactly one line to stderr in
 * the "eim CMD: ..." form (via eim_cli_fail / eim_cli_usage_error) and
 * returns the exit code to use; callers just return it.
 */
#ifndef EIM_CLI_UTIL_H
#define EIM_CLI_UTIL_H

#include "eim/cli.h"
#include "store/eim_store.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The database path: `opt` (from --db) if set, else $EIM_DB, else ./eim.db. */
const char *eim_cli_db_path(const char *opt);

/*
 * Opens the store for command `cmd`. Unless `create`, a missing file is an
 * error that tells the operator to run `eim init`. Returns EIM_EXIT_OK with
 * *ret set, or EIM_EXIT_FAIL after printing the reason.
 */
int eim_cli_open_store(const char *cmd, const char *path, bool create,
		       struct eim_store **ret);

/*
 * Parses an EID argument with its check digits. On error prints e.g.
 * "eim device add: '8904...': an EID has 32 decimal digits" and returns
 * EIM_EXIT_USAGE (a mistyped argument is a usage error).
 */
int eim_cli_parse_eid(const char *cmd, const char *text, uint8_t out[16]);

/*
 * True when text is 1..max bytes of well-formed UTF-8 without control
 * characters (C0, DEL, C1 U+0080..U+009F). Names an operator gives (eimIds,
 * PSK identities) are quoted in logs, audit entries and terminal output,
 * where such bytes could forge lines or drive the terminal.
 */
bool eim_cli_text_ok(const char *text, size_t max);

/* Parses a decimal integer in [min, max]; prints an error naming `what`. */
int eim_cli_parse_int(const char *cmd, const char *what, const char *text,
		      int64_t min, int64_t max, int64_t *out);

/*
 * Runs getopt_long with our error reporting: returns the option character,
 * -1 at the end of options, or '?' after printing a one-line usage error
 * (unknown option, missing value) — the caller then returns EIM_EXIT_USAGE.
 * Resets getopt state on the first call for each argv, so commands can be
 * run several times in one process (tests).
 */
int eim_cli_getopt(const char *cmd, int argc, char **argv,
		   const char *shortopts, const struct option *longopts);

/*
 * Reads a whole file (at most 1 MiB) into a NUL-terminated buffer (the NUL
 * is not counted in *ret_len). Prints "eim CMD: PATH: reason" on error and
 * returns EIM_EXIT_FAIL. Free *ret with eim_free().
 */
int eim_cli_read_file(const char *cmd, const char *path, uint8_t **ret,
		      size_t *ret_len);

/* Prints a JSON value on one line to stdout and frees it. Returns exit code. */
int eim_cli_print_json(const char *cmd, cJSON *v);

/* Formats Unix milliseconds as "2026-11-22T20:57:16Z" (UTC) into out[32]. */
char *eim_cli_time(int64_t ms, char out[32]);

/* Adds `ms` as an ISO 8601 string to obj, or null when ms is 0. */
void eim_cli_json_time(cJSON *obj, const char *name, int64_t ms);

/* Adds a byte string as lowercase hex. */
void eim_cli_json_hex(cJSON *obj, const char *name, const uint8_t *p, size_t n);

/* Adds an EID as its 32 digits. */
void eim_cli_json_eid(cJSON *obj, const char *name, const uint8_t eid[16]);

#endif
