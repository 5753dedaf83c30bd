/*
 * Crash safety end to end (issue 10): `eim serve` is killed with SIGKILL
 * again and again while a fleet of simulated devices is fetching and
 * reporting packages, and restarted on the same port. Afterwards, once the
 * devices have caught up:
 *   - the database passes PRAGMA integrity_check;
 *   - every package is done, with exactly the counters 1..N per device
 *     (none lost, none reused);
 *   - every package has a verified result and no eUICC ever answered
 *     replayError (a package delivered twice with different bytes, or a
 *     counter used twice, would show up there);
 *   - each simulated eUICC's saved counter equals the last counter used.
 */
#include "eim_test.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEVICES 6
#define ROUNDS 4 /* packages per device */
#define KILLS 8

static const char *dir;
static char db[600], dbenv[700], device_bin[600], addr[64], ci[700];

#define eim(...) eim_ok(eim_test_eim(db, __VA_ARGS__))
static struct eim_test_proc eim_ok(struct eim_test_proc p)
{
	ck_assert_msg(p.status == 0, "eim: exit %d: %s", p.status, p.err);
	return p;
}
static void run(struct eim_test_proc p)
{
	eim_test_proc_done(&p);
}

/* A free UDP port on loopback, kept for every restart of the server. */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void start_server(struct eim_test_child *srv)
{
	char line[256];
	char *argv[] = {(char *)eim_test_bin(),
			(char *)"serve",
			(char *)"--listen",
			addr,
			(char *)"--ci-root",
			ci,
			(char *)"--log-level",
			(char *)"warn",
			NULL};
	char *env[] = {dbenv, NULL};

	ck_assert_int_eq(eim_test_spawn(argv, env, srv), 0);
	ck_assert_msg(eim_test_child_line(srv, line, sizeof(line), 10000) == 0,
		      "eim serve did not start");
}

/* Starts `eim-device run` in the background; returns its pid. */
static pid_t start_devices(const char *wakes)
{
	char fleet[700];
	snprintf(fleet, sizeof(fleet), "%s/fleet", dir);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", 1);
		dup2(null, 1);
		execl(device_bin, device_bin, "run", "--fleet", fleet,
		      "--server", addr, "--wakes", wakes, "--interval", "40",
		      "--json", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int64_t sql_int(sqlite3 *h, const char *q)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(h, q, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

START_TEST(sigkill_under_a_running_fleet)
{
	char p1[700], p2[700], p3[700], eids[700], cmd[2100];
	struct eim_test_child srv;

	dir = eim_test_tmpdir();
	snprintf(db, sizeof(db), "%s/eim.db", dir);
	snprintf(dbenv, sizeof(dbenv), "EIM_DB=%s", db);
	snprintf(device_bin, sizeof(device_bin), "%s/examples/eim-device",
		 getenv("EIM_BUILD_ROOT"));
	snprintf(p1, sizeof(p1), "%s/pki", dir);
	snprintf(ci, sizeof(ci), "%s/pki/ci.pem", dir);
	snprintf(p2, sizeof(p2), "%s/air.der", dir);
	snprintf(p3, sizeof(p3), "%s/fleet", dir);
	snprintf(eids, sizeof(eids), "%s/eids.txt", dir);

	char *pki_argv[] = {device_bin, (char *)"pki", (char *)"--out", p1,
			    NULL};
	struct eim_test_proc p;
	ck_assert_int_eq(eim_test_run(pki_argv, NULL, NULL, 0, &p), 0);
	ck_assert_int_eq(p.status, 0);
	eim_test_proc_done(&p);
	run(eim("init", "--eim-id", "eim.example.com", NULL));
	run(eim("export-initial-eim", "--identity", "eim.example.com", "--out",
		p2, NULL));
	char count[8];
	snprintf(count, sizeof(count), "%d", DEVICES);
	char *fleet_argv[] = {device_bin,
			      (char *)"fleet",
			      (char *)"--dir",
			      p3,
			      (char *)"--count",
			      count,
			      (char *)"--pki",
			      p1,
			      (char *)"--air",
			      p2,
			      NULL};
	ck_assert_int_eq(eim_test_run(fleet_argv, NULL, NULL, 0, &p), 0);
	ck_assert_msg(p.status == 0, "%s", p.err);
	eim_test_proc_done(&p);
	snprintf(cmd, sizeof(cmd), "%s/devices.csv", p3);
	run(eim("device", "import", cmd, NULL));
	snprintf(cmd, sizeof(cmd),
		 "grep -v '^#' '%s/devices.csv' | cut -d, -f1 > '%s'", p3,
		 eids);
	ck_assert_int_eq(system(cmd), 0);
	for (int r = 0; r < ROUNDS; r++)
		run(eim("submit", "--devices", eids,
			r % 2 ? "list-eim" : "get-rat", NULL));

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", free_port());
	srand((unsigned)time(NULL));
	for (int k = 0; k < KILLS; k++) {
		start_server(&srv);
		pid_t devs = start_devices("2");
		usleep(20000 + (useconds_t)(rand() % 150000));
		ck_assert_int_eq(eim_test_child_stop(&srv, SIGKILL),
				 128 + SIGKILL);
		/* the devices time out or finish; either is fine */
		kill(devs, SIGKILL);
		waitpid(devs, NULL, 0);
	}
	/* The server stays up: the devices catch up. */
	start_server(&srv);
	for (int attempt = 0; attempt < 10; attempt++) {
		pid_t devs = start_devices("1");
		int st = 0;
		waitpid(devs, &st, 0);
		struct eim_test_proc q =
			eim("queue", "--state", "queued", "--json", NULL);
		struct eim_test_proc s =
			eim("queue", "--state", "sent", "--json", NULL);
		int done = strcmp(q.out, "[]\n") == 0 &&
			   strcmp(s.out, "[]\n") == 0;
		eim_test_proc_done(&q);
		eim_test_proc_done(&s);
		if (done)
			break;
	}
	ck_assert_int_eq(eim_test_child_stop(&srv, SIGTERM), 0);

	sqlite3 *h = NULL;
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1,
					    &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	/* every package done, counters exactly 1..ROUNDS per device */
	ck_assert_int_eq(sql_int(h, "SELECT count(*) FROM package"),
			 DEVICES * ROUNDS);
	ck_assert_int_eq(sql_int(h, "SELECT count(*) FROM package WHERE "
				    "state = 2"),
			 DEVICES * ROUNDS);
	ck_assert_int_eq(
		sql_int(h, "SELECT count(*) FROM (SELECT device_id FROM "
			   "package GROUP BY device_id HAVING min(counter) = 1 "
			   "AND max(counter) = 4 AND count(DISTINCT counter) = "
			   "4)"),
		DEVICES);
	/* every package has a verified result; no replayError anywhere */
	ck_assert_int_eq(
		sql_int(h, "SELECT count(*) FROM package p WHERE NOT EXISTS "
			   "(SELECT 1 FROM result r WHERE r.package_id = p.id "
			   "AND r.verified = 1)"),
		0);
	ck_assert_int_eq(sql_int(h, "SELECT count(*) FROM result WHERE "
				    "summary LIKE '%replayError%' OR summary "
				    "LIKE '%Unsigned%'"),
			 0);
	sqlite3_close(h);

	/* each eUICC accepted exactly the counters the eIM used */
	snprintf(cmd, sizeof(cmd),
		 "cat '%s'/89*.json | grep -cE '\"counter\":[[:space:]]*4,'",
		 p3);
	FILE *f = popen(cmd, "r");
	int n = 0;
	ck_assert_int_eq(fscanf(f, "%d", &n), 1);
	pclose(f);
	if (n != DEVICES) {
		snprintf(cmd, sizeof(cmd),
			 "grep -HE '\"counter\"' '%s'/89*.json >&2", p3);
		if (system(cmd) != 0)
			fprintf(stderr, "(no counters found)\n");
	}
	ck_assert_int_eq(n, DEVICES);
	eim_test_rmdir(dir);
}
END_TEST

static Suite *crash_suite(void)
{
	Suite *s = suite_create("crash_fleet");
	TCase *tc = tcase_create("sigkill");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, sigkill_under_a_running_fleet);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crash_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
