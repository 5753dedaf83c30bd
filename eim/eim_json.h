/*
 * eim_json.h - reading operator JSON (config files, operation files) with
 * errors a person can act on.
 *
 * cJSON reports where a syntax error is but not on which line, and nothing
 * about a well-formed document holding the wrong thing. These helpers add
 * both: syntax errors become "LINE:COL: what", and typed getters name the
 * member by its path ("dtls.cid_length: must be an integer from 0 to 20").
 *
 * Errors are written to a caller-provided `struct eim_json_err` (a fixed
 * buffer, so reporting never allocates).
 */
#ifndef EIM_JSON_H
#define EIM_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eim_json_err {
	char msg[256];
};

/*
 * Parses `len` bytes of JSON text. On success stores the document in *ret
 * (free with cJSON_Delete) and returns 0. On a syntax error returns
 * EIM_EMALFORMED with err->msg = "line L, column C: <what>".
 * Documents nested deeper than 64 levels or larger than 16 MiB are refused.
 */
int eim_json_parse(const char *text, size_t len, cJSON **ret,
		   struct eim_json_err *err);

/*
 * Reads a whole file ("-" = stdin) and parses it. err->msg then starts with
 * the path: "ops.json: line 3, column 7: expected ',' or '}'".
 * Errors: EIM_EIO (cannot read), EIM_ETOOBIG, EIM_EMALFORMED.
 */
int eim_json_parse_file(const char *path, cJSON **ret,
			struct eim_json_err *err);

/* Formats err->msg (printf-style); returns `code` for `return
 * eim_json_fail(...)`. */
int eim_json_fail(struct eim_json_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Checks that every member of `obj` is named in `known` (NULL-terminated).
 * An unknown member is usually a typo, so it is an error:
 * "<path>.<name>: unknown setting". Returns 0 or EIM_EINVAL.
 */
int eim_json_check_keys(const cJSON *obj, const char *path,
			const char *const known[], struct eim_json_err *err);

/*
 * Typed getters. Each looks up `name` in `obj`; when absent they return 0 and
 * leave *out unchanged (so the caller's default stays). When present but of
 * the wrong type or range they return EIM_EINVAL with err->msg naming
 * "<path>.<name>".
 */
int eim_json_get_string(const cJSON *obj, const char *path, const char *name,
			const char **out, struct eim_json_err *err);
int eim_json_get_bool(const cJSON *obj, const char *path, const char *name,
		      bool *out, struct eim_json_err *err);
int eim_json_get_int(const cJSON *obj, const char *path, const char *name,
		     int64_t min, int64_t max, int64_t *out,
		     struct eim_json_err *err);

#endif
