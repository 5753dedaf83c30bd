/*
 * eim_device_scenario_check.c - the strict checker of scenario files
 * (format: examples/scenarios/README.md). A scenario is an assertion about
 * eim; a misspelt member that is silently ignored would make it pass
 * without checking anything, so every member is known, typed and bounded
 * before the first step runs.
 */
#include "examples/eim_device_scenario_int.h"

#include "proto/eim_ids.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EIM_SCN_COUNTER_MAX 8388607

static const char *const eim__actions[] = {"rollback",	"fallback",
					   "return",	"reboot",
					   "bootstrap", "replay_last",
					   NULL};

static int eim__err(char *err, size_t cap, int step, const char *member,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int eim__err(char *err, size_t cap, int step, const char *member,
		    const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (step > 0)
		snprintf(err, cap, "step %d: '%s': %s", step, member, why);
	else
		snprintf(err, cap, "'%s': %s", member, why);
	return -1;
}

static bool eim__is_int(const cJSON *x, double lo, double hi)
{
	return cJSON_IsNumber(x) && x->valuedouble >= -1e15 &&
	       x->valuedouble <= 1e15 &&
	       (double)(long long)x->valuedouble == x->valuedouble &&
	       x->valuedouble >= lo && x->valuedouble <= hi;
}

/* The first member of obj not in `allowed`, or NULL. */
static const char *eim__unknown(const cJSON *obj, const char *const *allowed)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, obj)
	{
		size_t i;
		for (i = 0; allowed[i]; i++)
			if (strcmp(m->string, allowed[i]) == 0)
				break;
		if (!allowed[i])
			return m->string;
	}
	return NULL;
}

const char *eim_scn_str_at(const cJSON *x, int i)
{
	if (cJSON_IsString(x))
		return i == 0 ? x->valuestring : NULL;
	if (!cJSON_IsArray(x) || i >= cJSON_GetArraySize(x))
		return NULL;
	return cJSON_GetArrayItem(x, i)->valuestring;
}

static bool eim__strs(const cJSON *x)
{
	const cJSON *s;

	if (cJSON_IsString(x))
		return true;
	if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) == 0)
		return false;
	cJSON_ArrayForEach(s, x) if (!cJSON_IsString(s)) return false;
	return true;
}

/*
 * {name} placeholders: dir, db, pki, fleet, air, eids and eid0..eidN-1.
 * An unknown {name} is an error (it would reach eim as literal text);
 * braces around anything but a lowercase name are left alone.
 */
static int eim__placeholders(const char *s, int n_dev, char *why, size_t cap)
{
	static const char *const names[] = {"dir", "db",   "pki", "fleet",
					    "air", "eids", NULL};

	for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{')) {
		size_t n =
			strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");
		bool known = false;

		if (n == 0 || p[1 + n] != '}')
			continue;
		for (size_t i = 0; names[i]; i++)
			if (strlen(names[i]) == n &&
			    !strncmp(p + 1, names[i], n))
				known = true;
		if (!known && n > 3 && !strncmp(p + 1, "eid", 3) &&
		    strspn(p + 4, "0123456789") == n - 3 && n - 3 <= 2) {
			int k = atoi(p + 4);
			if (k < n_dev)
				known = true;
			else {
				snprintf(
					why, cap,
					"{%.*s}: the scenario has %d device(s)",
					(int)n, p + 1, n_dev);
				return -1;
			}
		}
		if (!known) {
			snprintf(why, cap, "unknown placeholder {%.*s}", (int)n,
				 p + 1);
			return -1;
		}
	}
	return 0;
}

static bool eim__iccid_ok(const char *s)
{
	uint8_t iccid[EIM_ICCID_LEN];
	char text[32];
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n >= sizeof(text))
		return false;
	memcpy(text, s, n);
	text[n] = 0;
	return eim_iccid_parse(text, iccid) == 0;
}

/* Member `name` of obj, when present, must be an integer in lo..hi. */
static int eim__opt_int(const cJSON *obj, const char *name, double lo,
			double hi, int step, char *err, size_t cap)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (x && !eim__is_int(x, lo, hi))
		return eim__err(err, cap, step, name,
				"not an integer in %.0f..%.0f", lo, hi);
	return 0;
}

static int eim__opt_bool(const cJSON *obj, const char *name, int step,
			 char *err, size_t cap)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (x && !cJSON_IsBool(x))
		return eim__err(err, cap, step, name, "not true or false");
	return 0;
}

static int eim__opt_strs(const cJSON *obj, const char *name, int n_dev,
			 int step, char *err, size_t cap)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, name);
	char why[160];

	if (!x)
		return 0;
	if (!eim__strs(x))
		return eim__err(err, cap, step, name,
				"not a string or a non-empty array of "
				"strings");
	for (int i = 0; eim_scn_str_at(x, i); i++)
		if (eim__placeholders(eim_scn_str_at(x, i), n_dev, why,
				      sizeof(why)))
			return eim__err(err, cap, step, name, "%s", why);
	return 0;
}

enum eim_scn_kind eim_scn_kind_of(const cJSON *step)
{
	if (cJSON_HasObjectItem(step, "eim"))
		return EIM_SCN_EIM;
	if (cJSON_HasObjectItem(step, "wake"))
		return EIM_SCN_WAKE;
	if (cJSON_HasObjectItem(step, "do"))
		return EIM_SCN_DO;
	if (cJSON_HasObjectItem(step, "expect_result"))
		return EIM_SCN_EXPECT_RESULT;
	return EIM_SCN_EXPECT_DEVICE;
}

const char *eim_scn_kind_name(enum eim_scn_kind k)
{
	static const char *const names[] = {"eim", "wake", "device",
					    "expect_result", "expect_device"};
	return names[k];
}

static int eim__check_eim(const cJSON *st, int n, int n_dev, char *err,
			  size_t cap)
{
	static const char *const ok[] = {"eim",
					 "expect_exit",
					 "expect_stdout_contains",
					 "expect_stdout_lacks",
					 "expect_stderr_contains",
					 "note",
					 NULL};
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(st, "eim");
	const char *bad = eim__unknown(st, ok);
	char why[160];

	if (bad)
		return eim__err(err, cap, n, bad,
				"unknown member of an eim "
				"step");
	if (!cJSON_IsArray(w) || cJSON_GetArraySize(w) == 0 ||
	    cJSON_GetArraySize(w) > 60)
		return eim__err(err, cap, n, "eim",
				"not an array of 1 to 60 words");
	for (int i = 0; i < cJSON_GetArraySize(w); i++) {
		const cJSON *x = cJSON_GetArrayItem(w, i);
		if (!cJSON_IsString(x))
			return eim__err(err, cap, n, "eim",
					"word %d is not a string", i);
		if (eim__placeholders(x->valuestring, n_dev, why, sizeof(why)))
			return eim__err(err, cap, n, "eim", "%s", why);
	}
	if (eim__opt_int(st, "expect_exit", 0, 255, n, err, cap) ||
	    eim__opt_strs(st, "expect_stdout_contains", n_dev, n, err, cap) ||
	    eim__opt_strs(st, "expect_stdout_lacks", n_dev, n, err, cap) ||
	    eim__opt_strs(st, "expect_stderr_contains", n_dev, n, err, cap))
		return -1;
	return 0;
}

static int eim__check_wake(const cJSON *st, int n, int n_dev, char *err,
			   size_t cap)
{
	static const char *const ok[] = {"wake",
					 "rebind",
					 "expect_packages",
					 "expect_session",
					 "note",
					 NULL};
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(st, "wake");
	const char *bad = eim__unknown(st, ok);

	if (bad)
		return eim__err(err, cap, n, bad,
				"unknown member of a wake step");
	if (cJSON_IsString(w) && strcmp(w->valuestring, "all") == 0) {
		/* every device */
	} else if (cJSON_IsArray(w) && cJSON_GetArraySize(w) > 0) {
		const cJSON *x;
		cJSON_ArrayForEach(x, w) if (
			!eim__is_int(
				x, 0,
				n_dev - 1)) return eim__err(err, cap, n, "wake",
							    "device numbers "
							    "are 0..%d",
							    n_dev - 1);
	} else {
		return eim__err(err, cap, n, "wake",
				"not \"all\" or an array of device numbers");
	}
	if (eim__opt_bool(st, "rebind", n, err, cap) ||
	    eim__opt_int(st, "expect_packages", 0, 1000, n, err, cap))
		return -1;
	w = cJSON_GetObjectItemCaseSensitive(st, "expect_session");
	if (w && (!cJSON_IsString(w) || (strcmp(w->valuestring, "handshake") &&
					 strcmp(w->valuestring, "resumed"))))
		return eim__err(err, cap, n, "expect_session",
				"not \"handshake\" or \"resumed\"");
	return 0;
}

static int eim__check_do(const cJSON *st, int n, int n_dev, char *err,
			 size_t cap)
{
	static const char *const ok[] = {"device", "do",   "expect_code",
					 "air",	   "note", NULL};
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(st, "device");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(st, "do");
	const char *bad = eim__unknown(st, ok);
	size_t i;

	if (bad)
		return eim__err(err, cap, n, bad,
				"unknown member of a device step");
	if (!eim__is_int(d, 0, n_dev - 1))
		return eim__err(err, cap, n, "device",
				"not a device number in 0..%d", n_dev - 1);
	for (i = 0; cJSON_IsString(a) && eim__actions[i]; i++)
		if (strcmp(a->valuestring, eim__actions[i]) == 0)
			break;
	if (!cJSON_IsString(a) || !eim__actions[i])
		return eim__err(
			err, cap, n, "do",
			"not one of rollback, fallback, return, reboot, "
			"bootstrap, replay_last");
	if (eim__opt_int(st, "expect_code", 0, 127, n, err, cap) ||
	    eim__opt_strs(st, "air", n_dev, n, err, cap))
		return -1;
	if (cJSON_HasObjectItem(st, "air") &&
	    (strcmp(a->valuestring, "bootstrap") != 0 ||
	     !cJSON_IsString(cJSON_GetObjectItem(st, "air"))))
		return eim__err(err, cap, n, "air",
				"one file name, for bootstrap only");
	if (cJSON_HasObjectItem(st, "expect_code") &&
	    (!strcmp(a->valuestring, "reboot") ||
	     !strcmp(a->valuestring, "replay_last")))
		return eim__err(err, cap, n, "expect_code",
				"%s has no result code", a->valuestring);
	return 0;
}

static int eim__check_expect_result(const cJSON *st, int n, int n_dev,
				    char *err, size_t cap)
{
	static const char *const ok[] = {"expect_result", "note", NULL};
	static const char *const in[] = {"device",   "contains", "lacks",
					 "verified", "count",	 "which",
					 NULL};
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(st, "expect_result");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(x, "which");
	const char *bad = eim__unknown(st, ok);

	if (bad)
		return eim__err(err, cap, n, bad,
				"unknown member of an expect_result step");
	if (!cJSON_IsObject(x))
		return eim__err(err, cap, n, "expect_result", "not an object");
	if ((bad = eim__unknown(x, in)))
		return eim__err(err, cap, n, bad,
				"unknown member of expect_result");
	if (!eim__is_int(cJSON_GetObjectItemCaseSensitive(x, "device"), 0,
			 n_dev - 1))
		return eim__err(err, cap, n, "device",
				"not a device number in 0..%d", n_dev - 1);
	if (w && (!cJSON_IsString(w) || (strcmp(w->valuestring, "last") &&
					 strcmp(w->valuestring, "any"))))
		return eim__err(err, cap, n, "which",
				"not \"last\" or \"any\"");
	if (eim__opt_strs(x, "contains", n_dev, n, err, cap) ||
	    eim__opt_strs(x, "lacks", n_dev, n, err, cap) ||
	    eim__opt_bool(x, "verified", n, err, cap) ||
	    eim__opt_int(x, "count", 0, 100000, n, err, cap))
		return -1;
	if (!cJSON_HasObjectItem(x, "contains") &&
	    !cJSON_HasObjectItem(x, "lacks") &&
	    !cJSON_HasObjectItem(x, "verified") &&
	    !cJSON_HasObjectItem(x, "count"))
		return eim__err(err, cap, n, "expect_result",
				"asserts nothing (give contains, lacks, "
				"verified or count)");
	return 0;
}

static int eim__check_expect_device(const cJSON *st, int n, int n_dev,
				    char *err, size_t cap)
{
	static const char *const ok[] = {"expect_device", "note", NULL};
	static const char *const in[] =
		{"device",  "eim",     "counter",	  "eims",
		 "eim_ids", "enabled", "pending_results", "fallback_active",
		 NULL};
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(st, "expect_device");
	const cJSON *y;
	const char *bad = eim__unknown(st, ok);

	if (bad)
		return eim__err(err, cap, n, bad,
				"unknown member of an expect_device step");
	if (!cJSON_IsObject(x))
		return eim__err(err, cap, n, "expect_device", "not an object");
	if ((bad = eim__unknown(x, in)))
		return eim__err(err, cap, n, bad,
				"unknown member of expect_device");
	if (!eim__is_int(cJSON_GetObjectItemCaseSensitive(x, "device"), 0,
			 n_dev - 1))
		return eim__err(err, cap, n, "device",
				"not a device number in 0..%d", n_dev - 1);
	if ((y = cJSON_GetObjectItemCaseSensitive(x, "eim")) &&
	    !cJSON_IsString(y))
		return eim__err(err, cap, n, "eim", "not an eimId string");
	if ((y = cJSON_GetObjectItemCaseSensitive(x, "eim_ids"))) {
		const cJSON *s;
		if (!cJSON_IsArray(y))
			return eim__err(err, cap, n, "eim_ids",
					"not an array of eimIds");
		cJSON_ArrayForEach(s, y) if (
			!cJSON_IsString(
				s)) return eim__err(err, cap, n, "eim_ids",
						    "not an array of eimIds");
	}
	if ((y = cJSON_GetObjectItemCaseSensitive(x, "enabled")) &&
	    !cJSON_IsNull(y) &&
	    (!cJSON_IsString(y) || strchr(y->valuestring, ':') ||
	     !eim__iccid_ok(y->valuestring)))
		return eim__err(err, cap, n, "enabled",
				"not an ICCID or null (none enabled)");
	if (eim__opt_int(x, "counter", 0, EIM_SCN_COUNTER_MAX, n, err, cap) ||
	    eim__opt_int(x, "eims", 0, 8, n, err, cap) ||
	    eim__opt_int(x, "pending_results", 0, 32, n, err, cap) ||
	    eim__opt_bool(x, "fallback_active", n, err, cap))
		return -1;
	if (cJSON_GetArraySize(x) < 2)
		return eim__err(err, cap, n, "expect_device",
				"asserts nothing");
	return 0;
}

int eim_scn_check(const cJSON *doc, char *err, size_t cap)
{
	static const char *const top[] = {"name",
					  "description",
					  "devices",
					  "profiles",
					  "fallback_profile",
					  "counter",
					  "eim_id",
					  "steps",
					  NULL};
	static const char *const kinds[] =
		{"eim", "wake", "do", "expect_result", "expect_device", NULL};
	const cJSON *x, *steps;
	const char *bad;
	int n_dev = 1;

	if (!cJSON_IsObject(doc))
		return eim__err(err, cap, 0, "(document)", "not a JSON object");
	if ((bad = eim__unknown(doc, top)))
		return eim__err(err, cap, 0, bad, "unknown member");
	x = cJSON_GetObjectItemCaseSensitive(doc, "name");
	if (!cJSON_IsString(x) || !x->valuestring[0] ||
	    strlen(x->valuestring) > 80)
		return eim__err(err, cap, 0, "name",
				"required, a string of 1 to 80 characters");
	for (const char *p = x->valuestring; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return eim__err(err, cap, 0, "name",
					"contains control characters");
	x = cJSON_GetObjectItemCaseSensitive(doc, "description");
	if (x && !cJSON_IsString(x))
		return eim__err(err, cap, 0, "description", "not a string");
	x = cJSON_GetObjectItemCaseSensitive(doc, "devices");
	if (x) {
		if (!eim__is_int(x, 1, EIM_SCN_MAX_DEVICES))
			return eim__err(err, cap, 0, "devices",
					"not an integer in 1..%d",
					EIM_SCN_MAX_DEVICES);
		n_dev = x->valueint;
	}
	x = cJSON_GetObjectItemCaseSensitive(doc, "profiles");
	if (x) {
		const cJSON *p;
		if (!cJSON_IsArray(x) ||
		    cJSON_GetArraySize(x) > EIM_SCN_MAX_PROFILES)
			return eim__err(err, cap, 0, "profiles",
					"not an array of at most %d ICCIDs",
					EIM_SCN_MAX_PROFILES);
		cJSON_ArrayForEach(p, x) if (
			!cJSON_IsString(p) ||
			!eim__iccid_ok(
				p->valuestring)) return eim__err(err, cap, 0,
								 "profiles",
								 "'%s' is not "
								 "an "
								 "ICCID[:NAME]",
								 cJSON_IsString(
									 p)
									 ? p->valuestring
									 : "(no"
									   "t "
									   "a "
									   "str"
									   "ing"
									   ")");
	}
	x = cJSON_GetObjectItemCaseSensitive(doc, "fallback_profile");
	if (x && (!cJSON_IsString(x) || !eim__iccid_ok(x->valuestring)))
		return eim__err(err, cap, 0, "fallback_profile",
				"not an ICCID[:NAME]");
	if (eim__opt_int(doc, "counter", 0, EIM_SCN_COUNTER_MAX, 0, err, cap))
		return -1;
	x = cJSON_GetObjectItemCaseSensitive(doc, "eim_id");
	if (x &&
	    (!cJSON_IsString(x) || !x->valuestring[0] ||
	     strlen(x->valuestring) > 63 ||
	     strspn(x->valuestring, "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789._-") != strlen(x->valuestring)))
		return eim__err(err, cap, 0, "eim_id",
				"1-63 letters, digits, '.', '_' or '-'");
	steps = cJSON_GetObjectItemCaseSensitive(doc, "steps");
	if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) == 0)
		return eim__err(err, cap, 0, "steps",
				"required, a non-empty array");
	for (int i = 0; i < cJSON_GetArraySize(steps); i++) {
		const cJSON *st = cJSON_GetArrayItem(steps, i);
		int found = 0, n = i + 1, rc;

		if (!cJSON_IsObject(st))
			return eim__err(err, cap, n, "(step)",
					"not a JSON object");
		for (size_t k = 0; kinds[k]; k++)
			found += cJSON_HasObjectItem(st, kinds[k]);
		if (found != 1)
			return eim__err(err, cap, n, "(step)",
					"needs exactly one of eim, wake, do, "
					"expect_result, expect_device");
		switch (eim_scn_kind_of(st)) {
		case EIM_SCN_EIM:
			rc = eim__check_eim(st, n, n_dev, err, cap);
			break;
		case EIM_SCN_WAKE:
			rc = eim__check_wake(st, n, n_dev, err, cap);
			break;
		case EIM_SCN_DO:
			rc = eim__check_do(st, n, n_dev, err, cap);
			break;
		case EIM_SCN_EXPECT_RESULT:
			rc = eim__check_expect_result(st, n, n_dev, err, cap);
			break;
		default:
			rc = eim__check_expect_device(st, n, n_dev, err, cap);
		}
		if (rc)
			return rc;
		if ((x = cJSON_GetObjectItemCaseSensitive(st, "note")) &&
		    !cJSON_IsString(x))
			return eim__err(err, cap, n, "note", "not a string");
	}
	return 0;
}
