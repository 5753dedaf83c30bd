/* cli_util.c - helpers shared by the operator commands (see cli_util.h). */
#include "eim/cli_util.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *eim_cli_db_path(const char *opt)
{
	const char *env = getenv("EIM_DB");

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	return "./eim.db";
}

int eim_cli_open_store(const char *cmd, const char *path, bool create,
		       struct eim_store **ret)
{
	struct eim_store_options opt;
	struct stat st;

	if (!create && stat(path, &st) != 0)
		return eim_cli_fail(cmd,
				    "no database at %s (run 'eim init' first, "
				    "or choose one with --db or $EIM_DB)",
				    path);
	eim_store_options_init(&opt);
	opt.actor = "cli";
	if (eim_store_open(path, &opt, ret) != 0)
		return eim_cli_fail(cmd, "%s", eim_store_open_errmsg());
	return EIM_EXIT_OK;
}

int eim_cli_parse_eid(const char *cmd, const char *text, uint8_t out[16])
{
	int rc = eim_eid_parse(text, out);

	if (rc == EIM_EMALFORMED)
		return eim_cli_usage_error(
			cmd, "'%s' is not an EID: an EID has 32 decimal digits",
			text);
	if (rc == EIM_EVERIFY)
		return eim_cli_usage_error(
			cmd,
			"'%s' is not an EID: its check digits do not match "
			"(mistyped digit?)",
			text);
	return rc ? EIM_EXIT_USAGE : EIM_EXIT_OK;
}

bool eim_cli_text_ok(const char *text, size_t max)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = strlen(text);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t k;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return false; /* continuation byte, C0/C1, F5..FF */
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF, C1 controls */
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += k + 1;
	}
	return true;
}

int eim_cli_parse_int(const char *cmd, const char *what, const char *text,
		      int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (!*text || *end || errno || v < min || v > max)
		return eim_cli_usage_error(
			cmd, "%s '%s' must be an integer from %lld to %lld",
			what, text, (long long)min, (long long)max);
	*out = v;
	return EIM_EXIT_OK;
}

int eim_cli_getopt(const char *cmd, int argc, char **argv,
		   const char *shortopts, const struct option *longopts)
{
	static char **last_argv;
	char spec[64];

	if (argv != last_argv) {
		optind = 0; /* GNU: full reinitialisation */
		last_argv = argv;
	}
	snprintf(spec, sizeof(spec), ":%s", shortopts);
	opterr = 0;
	int c = getopt_long(argc, argv, spec, longopts, NULL);
	if (c == '?') {
		const char *bad = argv[optind - 1];
		if (optopt && !(bad[0] == '-' && bad[1] == '-'))
			eim_cli_usage_error(cmd, "unknown option '-%c'",
					    optopt);
		else
			eim_cli_usage_error(cmd, "unknown option '%s'", bad);
		last_argv = NULL;
		return '?';
	}
	if (c == ':') {
		eim_cli_usage_error(cmd, "option '%s' needs a value",
				    argv[optind - 1]);
		last_argv = NULL;
		return '?';
	}
	if (c == -1)
		last_argv = NULL;
	return c;
}

int eim_cli_read_file(const char *cmd, const char *path, uint8_t **ret,
		      size_t *ret_len)
{
	const size_t max = 1u << 20;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc = EIM_EXIT_OK;

	if (!f)
		return eim_cli_fail(cmd, "%s: %s", path, strerror(errno));
	buf = eim_malloc(max + 1);
	if (!buf) {
		rc = eim_cli_fail(cmd, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		rc = eim_cli_fail(cmd, "%s: read error", path);
		goto out;
	}
	if (n > max) {
		rc = eim_cli_fail(cmd, "%s: larger than 1 MiB", path);
		goto out;
	}
	buf[n] = 0;
	*ret = buf;
	*ret_len = n;
	buf = NULL;
out:
	eim_free(buf);
	if (f != stdin)
		fclose(f);
	return rc;
}

int eim_cli_print_json(const char *cmd, cJSON *v)
{
	char *s = v ? cJSON_PrintUnformatted(v) : NULL;

	cJSON_Delete(v);
	if (!s)
		return eim_cli_fail(cmd, "out of memory");
	puts(s);
	cJSON_free(s);
	return EIM_EXIT_OK;
}

char *eim_cli_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

void eim_cli_json_time(cJSON *obj, const char *name, int64_t ms)
{
	char t[32];

	if (ms == 0)
		cJSON_AddNullToObject(obj, name);
	else
		cJSON_AddStringToObject(obj, name, eim_cli_time(ms, t));
}

void eim_cli_json_hex(cJSON *obj, const char *name, const uint8_t *p, size_t n)
{
	char *h = eim_malloc(2 * n + 1);

	if (!h)
		return;
	cJSON_AddStringToObject(obj, name, eim_hex_encode(p, n, h));
	eim_free(h);
}

void eim_cli_json_eid(cJSON *obj, const char *name, const uint8_t eid[16])
{
	char t[EIM_EID_DIGITS + 1];

	eim_eid_format(eid, t);
	cJSON_AddStringToObject(obj, name, t);
}
