/*
 * The device-lab scenario runner (`eim-device scenario`) with the real
 * binaries: every file shipped in examples/scenarios/ must pass (exit 0,
 * a JSON report with ok=true and every step run and passed); a scenario
 * whose expectation is false must fail at that step (exit 1, the step
 * named, later steps not run); a malformed scenario file must be refused
 * before anything runs (exit 2, one line naming the file, the step and
 * the member).
 */
#include "eim_test.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *dir;

static const char *device_bin(void)
{
	const char *b = getenv("EIM_DEVICE_BIN");
	ck_assert_msg(b != NULL, "EIM_DEVICE_BIN is not set");
	return b;
}

/* eim-device scenario FILE [extra] --json */
static struct eim_test_proc scenario(const char *file, const char *extra,
				     const char *extra2)
{
	char *argv[] = {(char *)device_bin(),
			(char *)"scenario",
			(char *)file,
			(char *)"--eim",
			(char *)eim_test_bin(),
			(char *)(extra ? extra : "--json"),
			(char *)extra2,
			NULL};
	struct eim_test_proc p;

	ck_assert_int_eq(eim_test_run(argv, NULL, NULL, 0, &p), 0);
	return p;
}

static char *write_tmp(const char *name, const char *text)
{
	static char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert(f != NULL);
	fputs(text, f);
	fclose(f);
	return path;
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void setup(void)
{
	dir = eim_test_tmpdir();
}

static void teardown(void)
{
	eim_test_rmdir(dir);
}

START_TEST(every_shipped_scenario_passes)
{
	char sdir[600], path[1200];
	const char *root = getenv("EIM_SOURCE_ROOT");
	struct dirent *de;
	DIR *d;
	int files = 0;

	ck_assert(root != NULL);
	snprintf(sdir, sizeof(sdir), "%s/examples/scenarios", root);
	d = opendir(sdir);
	ck_assert_msg(d != NULL, "%s", sdir);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", sdir, de->d_name);
		files++;

		/* what the file declares */
		FILE *f = fopen(path, "r");
		char buf[65536];
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = 0;
		cJSON *doc = cJSON_Parse(buf);
		ck_assert_msg(doc != NULL, "%s", path);
		int n_steps =
			cJSON_GetArraySize(cJSON_GetObjectItem(doc, "steps"));

		struct eim_test_proc p = scenario(path, NULL, NULL);
		ck_assert_msg(p.status == 0, "%s: exit %d\n%s\n%s", path,
			      p.status, p.out, p.err);
		cJSON *r = cJSON_Parse(p.out);
		ck_assert_msg(r != NULL, "%s: report is not JSON: %s", path,
			      p.out);
		ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
		ck_assert_str_eq(cJSON_GetObjectItem(r, "scenario")
					 ->valuestring,
				 cJSON_GetObjectItem(doc, "name")->valuestring);
		ck_assert(
			cJSON_IsNumber(cJSON_GetObjectItem(r, "duration_ms")));
		cJSON *steps = cJSON_GetObjectItem(r, "steps");
		ck_assert_int_eq(cJSON_GetArraySize(steps), n_steps);
		for (int i = 0; i < n_steps; i++) {
			cJSON *s = cJSON_GetArrayItem(steps, i);
			ck_assert_int_eq(cJSON_GetObjectItem(s, "n")->valueint,
					 i + 1);
			ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(s, "ok")));
			ck_assert(
				cJSON_IsString(cJSON_GetObjectItem(s, "kind")));
			ck_assert(cJSON_IsString(
				cJSON_GetObjectItem(s, "detail")));
		}
		cJSON_Delete(r);
		cJSON_Delete(doc);
		eim_test_proc_done(&p);
	}
	closedir(d);
	/* the six scenarios of the issue at least */
	ck_assert_int_ge(files, 6);
}
END_TEST

/* One device, one package; then an expectation that is false. */
static const char false_expectation[] =
	"{\"name\": \"wrong-counter\", \"profiles\": "
	"[\"89440012345678901234\"],\n"
	" \"steps\": [\n"
	"  {\"eim\": [\"submit\", \"{eid0}\", \"get-rat\"]},\n"
	"  {\"wake\": \"all\", \"expect_packages\": 1},\n"
	"  {\"expect_device\": {\"device\": 0, \"counter\": 5}},\n"
	"  {\"eim\": [\"submit\", \"{eid0}\", \"get-rat\"]}\n"
	" ]}\n";

START_TEST(false_expectation_fails_at_its_step)
{
	const char *path = write_tmp("wrong.json", false_expectation);
	struct eim_test_proc p = scenario(path, NULL, NULL);

	ck_assert_msg(p.status == 1, "exit %d: %s %s", p.status, p.out, p.err);
	cJSON *r = cJSON_Parse(p.out);
	ck_assert_msg(r != NULL, "%s", p.out);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(r, "ok")));
	cJSON *steps = cJSON_GetObjectItem(r, "steps");
	/* stopped at the failed step: the fourth never ran */
	ck_assert_int_eq(cJSON_GetArraySize(steps), 3);
	cJSON *s = cJSON_GetArrayItem(steps, 2);
	ck_assert_int_eq(cJSON_GetObjectItem(s, "n")->valueint, 3);
	ck_assert_str_eq(cJSON_GetObjectItem(s, "kind")->valuestring,
			 "expect_device");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(s, "ok")));
	const char *detail = cJSON_GetObjectItem(s, "detail")->valuestring;
	ck_assert_msg(strstr(detail, "counter of eim-a 1 (expected 5)"), "%s",
		      detail);
	ck_assert(cJSON_IsTrue(
		cJSON_GetObjectItem(cJSON_GetArrayItem(steps, 1), "ok")));
	cJSON_Delete(r);
	eim_test_proc_done(&p);

	/* the text report names the step too */
	p = scenario(path, "--keep", NULL);
	ck_assert_int_eq(p.status, 1);
	ck_assert_msg(strstr(p.out, "3 expect_device FAIL device 0: counter "
				    "of eim-a 1 (expected 5)"),
		      "%s", p.out);
	ck_assert(strstr(p.out, "FAIL: 2 of 4 step(s) passed"));
	/* --keep leaves the lab for a post-mortem */
	const char *kept = strstr(p.err, "kept ");
	ck_assert_msg(kept != NULL, "%s", p.err);
	char lab[600], db[700];
	snprintf(lab, sizeof(lab), "%.*s", (int)strcspn(kept + 5, "\n"),
		 kept + 5);
	snprintf(db, sizeof(db), "%s/eim.db", lab);
	struct stat st;
	ck_assert_int_eq(stat(db, &st), 0);
	eim_test_rmdir(lab);
	eim_test_proc_done(&p);
}
END_TEST

/* An eim step whose exit code or output differ from the expectation. */
START_TEST(eim_step_expectations_fail)
{
	const char *path =
		write_tmp("exit.json", "{\"name\": \"x\", \"steps\": [\n"
				       " {\"eim\": [\"queue\", \"{eid0}\"], "
				       "\"expect_stdout_contains\":"
				       " \"counter 1\"}]}\n");
	struct eim_test_proc p = scenario(path, NULL, NULL);

	ck_assert_int_eq(p.status, 1);
	ck_assert_msg(strstr(p.out, "stdout \\\"counter 1\\\" missing"), "%s",
		      p.out);
	eim_test_proc_done(&p);

	path = write_tmp("exit2.json", "{\"name\": \"x\", \"steps\": [\n"
				       " {\"eim\": [\"show\", \"42\"]}]}\n");
	p = scenario(path, NULL, NULL);
	ck_assert_int_eq(p.status, 1);
	ck_assert_msg(strstr(p.out, "eim show: exit 1, expected 0"), "%s",
		      p.out);
	eim_test_proc_done(&p);
}
END_TEST

/* Each fails at its last step, with this in the step's detail. */
static const struct {
	const char *text;
	const char *kind, *detail;
} failing[] = {
	{"{\"name\": \"x\", \"steps\": [{\"device\": 0, \"do\": "
	 "\"replay_last\"}]}",
	 "device", "device 0 has not woken yet"},
	{"{\"name\": \"x\", \"steps\": [{\"wake\": \"all\"}, {\"device\": 0, "
	 "\"do\": \"replay_last\"}]}",
	 "device", "the eIM lists no finished package for device 0"},
	{"{\"name\": \"x\", \"steps\": [{\"eim\": [\"submit\", \"{eid0}\", "
	 "\"get-rat\"]}, {\"wake\": \"all\", \"expect_packages\": 2}]}",
	 "wake", "expected 2 package(s), ran 1"},
	{"{\"name\": \"x\", \"steps\": [{\"wake\": \"all\", "
	 "\"expect_session\": \"resumed\"}]}",
	 "wake", "device 0: expected no handshake (CID)"},
	{"{\"name\": \"x\", \"steps\": [{\"device\": 0, \"do\": "
	 "\"rollback\"}]}",
	 "device", "device 0 rollback: code 1, expected 0"},
	{"{\"name\": \"x\", \"steps\": [{\"device\": 0, \"do\": \"bootstrap\", "
	 "\"air\": \"{dir}/none.der\"}]}",
	 "device", "none.der"},
	{"{\"name\": \"x\", \"steps\": [{\"eim\": [\"submit\", \"{eid0}\", "
	 "\"get-rat\"]}, {\"wake\": [0]}, {\"expect_result\": {\"device\": 0, "
	 "\"which\": \"any\", \"contains\": \"replayError\"}}]}",
	 "expect_result", "1 result(s); none matches"},
	{"{\"name\": \"x\", \"steps\": [{\"expect_result\": {\"device\": 0, "
	 "\"verified\": true}}]}",
	 "expect_result", "0 result(s); none to match"},
	{"{\"name\": \"x\", \"devices\": 2, \"steps\": [{\"expect_device\": "
	 "{\"device\": 1, \"eim_ids\": [\"eim-b\"], \"enabled\": null}}]}",
	 "expect_device", "device 1: eIMs [eim-a] (expected other)"},
};

START_TEST(failing_steps_are_named)
{
	for (size_t i = 0; i < sizeof(failing) / sizeof(failing[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "fail%zu.json", i);
		const char *path = write_tmp(name, failing[i].text);
		struct eim_test_proc p = scenario(path, NULL, NULL);

		ck_assert_msg(p.status == 1, "%s: exit %d: %s %s",
			      failing[i].text, p.status, p.out, p.err);
		cJSON *r = cJSON_Parse(p.out);
		ck_assert_msg(r != NULL, "%s", p.out);
		ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(r, "ok")));
		cJSON *steps = cJSON_GetObjectItem(r, "steps");
		cJSON *last = cJSON_GetArrayItem(steps,
						 cJSON_GetArraySize(steps) - 1);
		ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(last, "ok")));
		ck_assert_str_eq(cJSON_GetObjectItem(last, "kind")->valuestring,
				 failing[i].kind);
		const char *d =
			cJSON_GetObjectItem(last, "detail")->valuestring;
		ck_assert_msg(strstr(d, failing[i].detail), "%s: detail '%s'",
			      failing[i].text, d);
		cJSON_Delete(r);
		eim_test_proc_done(&p);
	}
}
END_TEST

struct bad {
	const char *text;
	const char *want; /* in the one line after "FILE: " */
};

static const struct bad bad_files[] = {
	{"{\"name\": \"x\", \"steps\": [", "not valid JSON"},
	{"[1, 2]", "'(document)': not a JSON object"},
	{"{\"steps\": [{\"wake\": \"all\"}]}", "'name': required"},
	{"{\"name\": \"x\", \"steps\": []}", "'steps': required, a non-empty"},
	{"{\"name\": \"x\", \"devise\": 2, \"steps\": [{\"wake\": \"all\"}]}",
	 "'devise': unknown member"},
	{"{\"name\": \"x\", \"devices\": 0, \"steps\": [{\"wake\": \"all\"}]}",
	 "'devices': not an integer in 1..64"},
	{"{\"name\": \"x\", \"profiles\": [\"12\"], \"steps\": [{\"wake\": "
	 "\"all\"}]}",
	 "'profiles': '12' is not an ICCID"},
	{"{\"name\": \"x\", \"counter\": 8388608, \"steps\": [{\"wake\": "
	 "\"all\"}]}",
	 "'counter': not an integer in 0..8388607"},
	{"{\"name\": \"x\", \"steps\": [{\"wake\": \"all\"}, {\"wake\": "
	 "[1]}]}",
	 "step 2: 'wake': device numbers are 0..0"},
	{"{\"name\": \"x\", \"steps\": [{\"wake\": \"all\"}, "
	 "{\"expect_result\": {\"device\": 0, \"contians\": \"ok\"}}]}",
	 "step 2: 'contians': unknown member of expect_result"},
	{"{\"name\": \"x\", \"steps\": [{\"eim\": [\"submit\", \"{eid1}\", "
	 "\"get-rat\"]}]}",
	 "step 1: 'eim': {eid1}: the scenario has 1 device(s)"},
	{"{\"name\": \"x\", \"steps\": [{\"eim\": [\"show\", \"{database}\"]}"
	 "]}",
	 "step 1: 'eim': unknown placeholder {database}"},
	{"{\"name\": \"x\", \"steps\": [{\"eim\": [\"queue\"], "
	 "\"expect_exit\": \"0\"}]}",
	 "step 1: 'expect_exit': not an integer in 0..255"},
	{"{\"name\": \"x\", \"steps\": [{\"wake\": \"all\", "
	 "\"expect_session\": \"cid\"}]}",
	 "step 1: 'expect_session': not \"handshake\" or \"resumed\""},
	{"{\"name\": \"x\", \"steps\": [{\"device\": 0, \"do\": \"explode\"}]}",
	 "step 1: 'do': not one of"},
	{"{\"name\": \"x\", \"steps\": [{\"device\": 0, \"do\": \"reboot\", "
	 "\"expect_code\": 0}]}",
	 "step 1: 'expect_code': reboot has no result code"},
	{"{\"name\": \"x\", \"steps\": [{\"wake\": \"all\", \"eim\": "
	 "[\"queue\"]}]}",
	 "step 1: '(step)': needs exactly one of"},
	{"{\"name\": \"x\", \"steps\": [{\"expect_device\": {\"device\": 0}}]}",
	 "step 1: 'expect_device': asserts nothing"},
	{"{\"name\": \"x\", \"steps\": [{\"expect_device\": {\"device\": 0, "
	 "\"enabled\": \"1234\"}}]}",
	 "step 1: 'enabled': not an ICCID or null"},
	{"{\"name\": \"x\", \"steps\": [{\"expect_result\": {\"device\": 0}}]}",
	 "step 1: 'expect_result': asserts nothing"},
};

START_TEST(malformed_files_exit_2_with_one_line)
{
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		char name[32], want[300];
		snprintf(name, sizeof(name), "bad%zu.json", i);
		const char *path = write_tmp(name, bad_files[i].text);
		struct eim_test_proc p = scenario(path, NULL, NULL);

		ck_assert_msg(p.status == 2, "%s: exit %d: %s",
			      bad_files[i].text, p.status, p.err);
		snprintf(want, sizeof(want), "eim-device scenario: %s: %s",
			 path, bad_files[i].want);
		ck_assert_msg(strncmp(p.err, want, strlen(want)) == 0,
			      "got: %s\nwant: %s", p.err, want);
		ck_assert_int_eq(lines(p.err), 1);
		ck_assert_str_eq(p.out, ""); /* nothing ran, no report */
		eim_test_proc_done(&p);
	}
}
END_TEST

START_TEST(usage_errors)
{
	char *argv[] = {(char *)device_bin(), (char *)"scenario", NULL};
	struct eim_test_proc p;

	ck_assert_int_eq(eim_test_run(argv, NULL, NULL, 0, &p), 0);
	ck_assert_int_eq(p.status, 2);
	ck_assert(eim_test_contains(p.err, "one scenario FILE is required"));
	eim_test_proc_done(&p);

	p = scenario("/nonexistent/s.json", NULL, NULL);
	ck_assert_int_eq(p.status, 2);
	ck_assert(eim_test_contains(p.err, "/nonexistent/s.json: cannot read"));
	eim_test_proc_done(&p);

	/* --workdir refuses a directory that already holds a lab */
	const char *path = write_tmp(
		"ok.json",
		"{\"name\": \"x\", \"steps\": [{\"eim\": [\"queue\"]}]}");
	char wd[700], wdopt[720];
	snprintf(wd, sizeof(wd), "%s/lab", dir);
	snprintf(wdopt, sizeof(wdopt), "--workdir=%s", wd);
	p = scenario(path, wdopt, "--json");
	ck_assert_msg(p.status == 0, "%s", p.err);
	eim_test_proc_done(&p);
	p = scenario(path, wdopt, "--json");
	ck_assert_int_eq(p.status, 1);
	ck_assert(eim_test_contains(p.err, "already holds an eim.db"));
	eim_test_proc_done(&p);
}
END_TEST

static Suite *scenario_suite(void)
{
	Suite *s = suite_create("scenarios");
	TCase *tc = tcase_create("runner");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, every_shipped_scenario_passes);
	tcase_add_test(tc, false_expectation_fails_at_its_step);
	tcase_add_test(tc, eim_step_expectations_fail);
	tcase_add_test(tc, failing_steps_are_named);
	tcase_add_test(tc, malformed_files_exit_2_with_one_line);
	tcase_add_test(tc, usage_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scenario_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
