/*
 * The device lab's path with the real programs: eim-device pki/fleet,
 * eim init/export-initial-eim/device import/submit, eim serve over DTLS,
 * eim-device run with NAT rebinding between wakes. With a Connection ID
 * each device makes one handshake and resumes every later wake; without,
 * every wake is a new handshake. Every result is verified by the eIM
 * through the eUICC <- EUM <- CI chain.
 */
#include "eim_test.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;
static char db[600], server[64], device_bin[600];
static struct eim_test_child srv;

#define eim(...) eim_ok(eim_test_eim(db, __VA_ARGS__))
static struct eim_test_proc eim_ok(struct eim_test_proc p)
{
	ck_assert_msg(p.status == 0, "eim: exit %d: %s", p.status, p.err);
	return p;
}

/* eim-device with up to 15 words; a NULL ends them. */
#define device(...) device_run(__VA_ARGS__, NULL)
static struct eim_test_proc device_run(const char *a0, ...)
{
	char *argv[17] = {device_bin, (char *)a0};
	va_list ap;
	int n = 2;
	va_start(ap, a0);
	while (a0 && n < 16 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	ck_assert_msg(n < 16, "too many words");
	struct eim_test_proc p;
	ck_assert_int_eq(eim_test_run(argv, NULL, NULL, 0, &p), 0);
	return p;
}

static void setup(void)
{
	char p1[700], p2[700], p3[700], p4[1400], line[256], dbenv[700];
	struct eim_test_proc p;

	dir = eim_test_tmpdir();
	snprintf(db, sizeof(db), "%s/eim.db", dir);
	snprintf(device_bin, sizeof(device_bin), "%s/examples/eim-device",
		 getenv("EIM_BUILD_ROOT"));
	snprintf(p1, sizeof(p1), "%s/pki", dir);
	snprintf(p2, sizeof(p2), "%s/air.der", dir);
	snprintf(p3, sizeof(p3), "%s/fleet", dir);
	p = device("pki", "--out", p1, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		   NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	eim_test_proc_done(&p);
	p = eim("init", "--eim-id", "eim.example.com", NULL);
	eim_test_proc_done(&p);
	p = eim("export-initial-eim", "--identity", "eim.example.com", "--out",
		p2, NULL);
	eim_test_proc_done(&p);
	p = device("fleet", "--dir", p3, "--count", "5", "--pki", p1, "--air",
		   p2, "--profile", "89440012345678901234:ops");
	ck_assert_msg(p.status == 0, "%s", p.err);
	ck_assert(eim_test_contains(p.out, "5 devices in"));
	eim_test_proc_done(&p);
	snprintf(p4, sizeof(p4), "%s/devices.csv", p3);
	p = eim("device", "import", p4, NULL);
	ck_assert(eim_test_contains(p.out, "imported 5 devices"));
	eim_test_proc_done(&p);

	snprintf(p4, sizeof(p4), "%s/ci.pem", p1);
	snprintf(dbenv, sizeof(dbenv), "EIM_DB=%s", db);
	/* the server's log goes to a file, for the statistics line */
	char logp[700];
	snprintf(logp, sizeof(logp), "%s/serve.log", dir);
	char *argv[] = {(char *)"/bin/sh",
			(char *)"-c",
			(char *)"exec \"$0\" serve --listen 127.0.0.1:0 "
				"--ci-root \"$1\" 2>\"$2\"",
			(char *)eim_test_bin(),
			p4,
			logp,
			NULL};
	char *env[] = {dbenv, NULL};
	ck_assert_int_eq(eim_test_spawn(argv, env, &srv), 0);
	ck_assert_int_eq(eim_test_child_line(&srv, line, sizeof(line), 10000),
			 0);
	int port = 0;
	const char *at = strstr(line, "127.0.0.1:");
	ck_assert_msg(at && sscanf(at, "127.0.0.1:%d", &port) == 1, "%s", line);
	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
}

static void teardown(void)
{
	if (srv.pid > 0)
		eim_test_child_stop(&srv, SIGKILL);
	eim_test_rmdir(dir);
}

static cJSON *run_fleet(const char *wakes, bool cid)
{
	char fleet[700];
	snprintf(fleet, sizeof(fleet), "%s/fleet", dir);
	struct eim_test_proc p =
		device("run", "--fleet", fleet, "--server", server, "--wakes",
		       wakes, "--interval", "50", "--json",
		       cid ? NULL : "--no-cid");
	ck_assert_msg(p.status == 0, "eim-device run: %s", p.err);
	cJSON *j = cJSON_Parse(p.out);
	ck_assert_msg(j != NULL, "%s", p.out);
	eim_test_proc_done(&p);
	return j;
}

static int num(cJSON *j, const char *k)
{
	return cJSON_GetObjectItem(j, k)->valueint;
}

START_TEST(fleet_with_and_without_cid)
{
	char eids[700];
	snprintf(eids, sizeof(eids), "%s/eids.txt", dir);
	char cmd[1600];
	snprintf(cmd, sizeof(cmd),
		 "grep -v '^#' '%s/fleet/devices.csv' | cut -d, -f1 > '%s'",
		 dir, eids);
	ck_assert_int_eq(system(cmd), 0);
	struct eim_test_proc p = eim("submit", "--devices", eids, "enable",
				     "--iccid", "89440012345678901234", NULL);
	eim_test_proc_done(&p);
	p = eim("submit", "--devices", eids, "list-eim", NULL);
	eim_test_proc_done(&p);

	/* with CID: one handshake per device, every later wake resumed */
	cJSON *j = run_fleet("3", true);
	ck_assert_int_eq(num(j, "devices"), 5);
	ck_assert_int_eq(num(j, "wakes"), 15);
	ck_assert_int_eq(num(j, "packages"), 10);
	ck_assert_int_eq(num(j, "acknowledged"), 10);
	ck_assert_int_eq(num(j, "handshakes"), 5);
	ck_assert_int_eq(num(j, "resumed_by_cid"), 10);
	ck_assert_int_eq(num(j, "failures"), 0);
	cJSON_Delete(j);

	p = eim("results", "--json", NULL);
	cJSON *r = cJSON_Parse(p.out);
	eim_test_proc_done(&p);
	ck_assert_int_eq(cJSON_GetArraySize(r), 10);
	for (int i = 0; i < 10; i++)
		ck_assert(cJSON_IsTrue(
			cJSON_GetObjectItem(cJSON_GetArrayItem(r, i),
					    "verified")));
	cJSON_Delete(r);

	/* a "reboot" (a new run from the saved state) keeps the counters:
	 * the next package is accepted, not a replay */
	p = eim("submit", "--devices", eids, "get-rat", NULL);
	eim_test_proc_done(&p);
	/* and without CID every wake is a new handshake */
	j = run_fleet("2", false);
	ck_assert_int_eq(num(j, "packages"), 5);
	ck_assert_int_eq(num(j, "handshakes"), 10);
	ck_assert_int_eq(num(j, "resumed_by_cid"), 0);
	ck_assert_int_eq(num(j, "failures"), 0);
	cJSON_Delete(j);
	p = eim("results", "--json", NULL);
	ck_assert(!eim_test_contains(p.out, "replayError"));
	ck_assert(eim_test_contains(p.out, "getRATResult"));
	eim_test_proc_done(&p);
}
END_TEST

/* --live without a terminal: no line per wake, the final table (a row per
 * device with its counts, a totals line) and the JSON report in a file. */
START_TEST(live_table_and_report)
{
	char fleet[700], eids[700], report[700], cmd[1600];
	snprintf(fleet, sizeof(fleet), "%s/fleet", dir);
	snprintf(eids, sizeof(eids), "%s/eids.txt", dir);
	snprintf(report, sizeof(report), "%s/run.json", dir);
	snprintf(cmd, sizeof(cmd),
		 "grep -v '^#' '%s/fleet/devices.csv' | cut -d, -f1 > '%s'",
		 dir, eids);
	ck_assert_int_eq(system(cmd), 0);
	struct eim_test_proc p =
		eim("submit", "--devices", eids, "list-eim", NULL);
	eim_test_proc_done(&p);

	p = device("run", "--fleet", fleet, "--server", server, "--wakes", "2",
		   "--interval", "50", "--live", "--report", report);
	ck_assert_msg(p.status == 0, "eim-device run: %s", p.err);
	ck_assert(eim_test_contains(p.out, "device (EID)"));
	ck_assert(!eim_test_contains(p.out, "session resumed"));
	/* every device done, two wakes, one package and one acked result */
	int rows = 0;
	for (const char *at = p.out; (at = strstr(at, "  done ")); at++)
		rows++;
	ck_assert_int_eq(rows, 5);
	ck_assert(eim_test_contains(p.out, "  2/2 "));
	ck_assert(eim_test_contains(p.out,
				    "wakes 10/10  packages 5  results 5  "
				    "handshakes 5  resumed by CID 5"));
	eim_test_proc_done(&p);

	char *argv[] = {(char *)"/bin/cat", report, NULL};
	ck_assert_int_eq(eim_test_run(argv, NULL, NULL, 0, &p), 0);
	cJSON *j = cJSON_Parse(p.out);
	ck_assert_msg(j != NULL, "%s", p.out);
	ck_assert_int_eq(num(j, "wakes"), 10);
	ck_assert_int_eq(num(j, "packages"), 5);
	ck_assert_int_eq(num(j, "resumed_by_cid"), 5);
	ck_assert_int_eq(num(j, "failures"), 0);
	cJSON_Delete(j);
	eim_test_proc_done(&p);

	p = device("run", "--fleet", fleet, "--server", server, "--live",
		   "--json", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 2);
	ck_assert(eim_test_contains(p.err, "--live and --json exclude"));
	eim_test_proc_done(&p);
	p = device("run", "--fleet", fleet, "--server", server, "--report",
		   "/nonexistent/r.json", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 1);
	ck_assert(eim_test_contains(p.err, "/nonexistent/r.json"));
	eim_test_proc_done(&p);
	/* eim serve's statistics line at stop: the service's counters and
	 * the DTLS engine's, with the address changes of the rebinding */
	ck_assert_int_eq(eim_test_child_stop(&srv, SIGTERM), 0);
	srv.pid = 0;
	char logp[700];
	snprintf(logp, sizeof(logp), "%s/serve.log", dir);
	char *cat[] = {(char *)"/bin/cat", logp, NULL};
	ck_assert_int_eq(eim_test_run(cat, NULL, NULL, 0, &p), 0);
	const char *st = strstr(p.out, "stats (at stop): requests=");
	ck_assert_msg(st != NULL, "%s", p.out);
	ck_assert(eim_test_contains(st, " packages_sent=5 "));
	ck_assert(eim_test_contains(st, " results=5 "));
	ck_assert(eim_test_contains(st, "; dtls sessions=5 handshaking=0 "));
	ck_assert(eim_test_contains(st, " handshakes_completed=5 "));
	ck_assert(eim_test_contains(st, " address_changes=5"));
	eim_test_proc_done(&p);
}
END_TEST

START_TEST(usage_errors)
{
	struct eim_test_proc p = device("run", NULL, NULL, NULL, NULL, NULL,
					NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 2);
	ck_assert(
		eim_test_contains(p.err, "--fleet and --server are required"));
	eim_test_proc_done(&p);
	p = device("run", "--fleet", "/nonexistent", "--server", server, NULL,
		   NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 1);
	ck_assert(eim_test_contains(p.err, "/nonexistent/fleet.json"));
	eim_test_proc_done(&p);
	p = device("fleet", "--dir", "/tmp/x", "--count", "0", NULL, NULL, NULL,
		   NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 2);
	ck_assert(eim_test_contains(p.err, "--count '0' must be 1 to"));
	eim_test_proc_done(&p);
}
END_TEST

static Suite *fleet_suite(void)
{
	Suite *s = suite_create("device_fleet");
	TCase *tc = tcase_create("lab");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, fleet_with_and_without_cid);
	tcase_add_test(tc, live_table_and_report);
	tcase_add_test(tc, usage_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fleet_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
