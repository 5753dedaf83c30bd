/* eim_json.c - JSON parsing with line/column errors and typed getters. */
#include "eim/eim_json.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EIM__JSON_MAX_BYTES (16u << 20)
#define EIM__JSON_MAX_DEPTH 64

int eim_json_fail(struct eim_json_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Depth of nesting, computed without recursion limits of our own stack. */
static int eim__json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '[' || c == '{')
			max = ++depth > max ? depth : max;
		else if (c == ']' || c == '}')
			depth--;
	}
	return max;
}

static void eim__line_col(const char *text, size_t off, unsigned *line,
			  unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

int eim_json_parse(const char *text, size_t len, cJSON **ret,
		   struct eim_json_err *err)
{
	const char *end = NULL;

	if (len > EIM__JSON_MAX_BYTES)
		return eim_json_fail(err, EIM_ETOOBIG,
				     "document larger than %u bytes",
				     EIM__JSON_MAX_BYTES);
	if (memchr(text, '\0', len))
		return eim_json_fail(err, EIM_EMALFORMED,
				     "NUL byte in JSON text");
	if (eim__json_depth(text, len) > EIM__JSON_MAX_DEPTH)
		return eim_json_fail(err, EIM_EMALFORMED,
				     "nested deeper than %d levels",
				     EIM__JSON_MAX_DEPTH);
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		size_t off = end && end >= text && end <= text + len
				     ? (size_t)(end - text)
				     : len;
		unsigned line, col;
		eim__line_col(text, off, &line, &col);
		if (off >= len)
			return eim_json_fail(err, EIM_EMALFORMED,
					     "line %u, column %u: unexpected "
					     "end of JSON",
					     line, col);
		char near[17] = {0};
		size_t k = 0;
		for (size_t i = off; i < len && k < 16 && text[i] != '\n'; i++)
			near[k++] = text[i];
		return eim_json_fail(err, EIM_EMALFORMED,
				     "line %u, column %u: JSON syntax error "
				     "near '%s'",
				     line, col, near);
	}
	/* Only whitespace may follow the document. */
	for (const char *p = end; p && p < text + len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			unsigned line, col;
			eim__line_col(text, (size_t)(p - text), &line, &col);
			cJSON_Delete(root);
			return eim_json_fail(err, EIM_EMALFORMED,
					     "line %u, column %u: unexpected "
					     "text after the JSON document",
					     line, col);
		}
	}
	*ret = root;
	return 0;
}

int eim_json_parse_file(const char *path, cJSON **ret, struct eim_json_err *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!f)
		return eim_json_fail(err, EIM_EIO, "%s: %s", path,
				     strerror(errno));
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > EIM__JSON_MAX_BYTES + 8192) {
				rc = eim_json_fail(err, EIM_ETOOBIG,
						   "%s: larger than %u bytes",
						   path, EIM__JSON_MAX_BYTES);
				goto out;
			}
			char *t = eim_realloc(text, cap);
			if (!t) {
				rc = eim_json_fail(err, EIM_ENOMEM,
						   "%s: out of memory", path);
				goto out;
			}
			text = t;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		rc = eim_json_fail(err, EIM_EIO, "%s: read error", path);
		goto out;
	}
	rc = eim_json_parse(text ? text : "", len, ret, err);
	if (rc) {
		char m[sizeof(err->msg)];
		snprintf(m, sizeof(m), "%s", err->msg);
		eim_json_fail(err, rc, "%s: %s", path, m);
	}
out:
	eim_free(text);
	if (f != stdin)
		fclose(f);
	return rc;
}

static void eim__member_path(char *out, size_t cap, const char *path,
			     const char *name)
{
	if (path && *path)
		snprintf(out, cap, "%s.%s", path, name);
	else
		snprintf(out, cap, "%s", name);
}

int eim_json_check_keys(const cJSON *obj, const char *path,
			const char *const known[], struct eim_json_err *err)
{
	char where[160];

	if (!cJSON_IsObject(obj))
		return eim_json_fail(err, EIM_EINVAL, "%s: must be an object",
				     path && *path ? path : "document");
	for (const cJSON *m = obj->child; m; m = m->next) {
		bool ok = false;
		for (size_t i = 0; known[i]; i++)
			if (m->string && strcmp(m->string, known[i]) == 0)
				ok = true;
		if (!ok) {
			eim__member_path(where, sizeof(where), path,
					 m->string ? m->string : "?");
			return eim_json_fail(err, EIM_EINVAL,
					     "%s: unknown setting", where);
		}
	}
	return 0;
}

int eim_json_get_string(const cJSON *obj, const char *path, const char *name,
			const char **out, struct eim_json_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	char where[160];

	if (!v)
		return 0;
	if (!cJSON_IsString(v)) {
		eim__member_path(where, sizeof(where), path, name);
		return eim_json_fail(err, EIM_EINVAL, "%s: must be a string",
				     where);
	}
	*out = v->valuestring;
	return 0;
}

int eim_json_get_bool(const cJSON *obj, const char *path, const char *name,
		      bool *out, struct eim_json_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	char where[160];

	if (!v)
		return 0;
	if (!cJSON_IsBool(v)) {
		eim__member_path(where, sizeof(where), path, name);
		return eim_json_fail(err, EIM_EINVAL,
				     "%s: must be true or false", where);
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

int eim_json_get_int(const cJSON *obj, const char *path, const char *name,
		     int64_t min, int64_t max, int64_t *out,
		     struct eim_json_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	char where[160];

	if (!v)
		return 0;
	eim__member_path(where, sizeof(where), path, name);
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < (double)min || v->valuedouble > (double)max)
		return eim_json_fail(err, EIM_EINVAL,
				     "%s: must be an integer from %lld to %lld",
				     where, (long long)min, (long long)max);
	*out = (int64_t)v->valuedouble;
	return 0;
}
