/*
 * eim_device_scenario_int.h - what the scenario runner's two files share:
 * the scenario file's checker (eim_device_scenario_check.c) and the runner
 * (eim_device_scenario.c). Not an interface for anything else.
 */
#ifndef EIM_DEVICE_SCENARIO_INT_H
#define EIM_DEVICE_SCENARIO_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define EIM_SCN_MAX_DEVICES 64
#define EIM_SCN_MAX_PROFILES 8

/* The kinds of step, by the member that names them. */
enum eim_scn_kind {
	EIM_SCN_EIM,	       /* "eim": [words] */
	EIM_SCN_WAKE,	       /* "wake": "all" | [devices] */
	EIM_SCN_DO,	       /* "device": N, "do": ACTION */
	EIM_SCN_EXPECT_RESULT, /* "expect_result": {...} */
	EIM_SCN_EXPECT_DEVICE  /* "expect_device": {...} */
};

/*
 * Checks a parsed scenario document completely before anything runs:
 * types, ranges, unknown members (refused, so a typo cannot silently
 * weaken an assertion) and {placeholders}. On an error writes one line
 * "step N: 'member': reason" (or "'member': reason" for the top level)
 * to `err` and returns -1; 0 when the document is good.
 */
int eim_scn_check(const cJSON *doc, char *err, size_t cap);

/* The kind of an already checked step. */
enum eim_scn_kind eim_scn_kind_of(const cJSON *step);
const char *eim_scn_kind_name(enum eim_scn_kind k);

/* A member that may be one string or an array of strings: its i-th
 * string, or NULL past the end. */
const char *eim_scn_str_at(const cJSON *x, int i);

#endif
