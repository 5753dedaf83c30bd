/*
 * test_sim_cli.c - the real `eim-device` binary with the real `eim`:
 * a test PKI, a device bootstrapped from `eim export-initial-eim`, a
 * package queued by `eim submit` loaded onto it, its result checked by
 * `eim decode`, the state surviving between invocations; usage and
 * operational errors as one line with exit 2 / 1.
 */
#include "eim_test.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EID "89049032123451234512345678901235"
#define P1 "89440000000000000011"
#define P2 "89440000000000000029"
#define P3 "8944000000000000003"

static char dir[512], db[600], state[600], pki[600];

#define eim(...) eim_test_eim(db, __VA_ARGS__)

/* Runs eim-device with the words given (NULL-terminated). */
static struct eim_test_proc dev(const char *a0, ...)
{
	char *argv[32];
	struct eim_test_proc p;
	va_list ap;
	int n = 0;

	argv[n++] = getenv("EIM_DEVICE_BIN");
	va_start(ap, a0);
	for (const char *a = a0; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	if (eim_test_run(argv, NULL, NULL, 0, &p) != 0)
		p.status = -1;
	return p;
}

static void ok(struct eim_test_proc p)
{
	ck_assert_msg(p.status == 0, "exit %d: %s", p.status, p.err);
	eim_test_proc_done(&p);
}

/* Exit code `status` and one stderr line containing `needle`. */
static void refused(struct eim_test_proc p, int status, const char *needle)
{
	ck_assert_msg(p.status == status, "exit %d: %s", p.status, p.err);
	ck_assert_msg(eim_test_contains(p.err, needle), "stderr: %s", p.err);
	ck_assert_ptr_nonnull(strchr(p.err, '\n'));
	ck_assert_ptr_null(strchr(p.err, '\n') + 1 < p.err + p.err_len
				   ? strchr(strchr(p.err, '\n') + 1, '\n')
				   : NULL);
	eim_test_proc_done(&p);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s", eim_test_tmpdir());
	snprintf(db, sizeof(db), "%s/eim.db", dir);
	snprintf(state, sizeof(state), "%s/dev.json", dir);
	snprintf(pki, sizeof(pki), "%s/pki", dir);
}

static void teardown(void)
{
	eim_test_rmdir(dir);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(device_runs_eim_packages)
{
	char air[700], cert[700], pkg[700], res[700], *hex, *end;
	struct eim_test_proc p;
	struct stat st;

	snprintf(air, sizeof(air), "%s/air.der", dir);
	snprintf(cert, sizeof(cert), "%s/euicc.pem", dir);
	snprintf(pkg, sizeof(pkg), "%s/pkg.hex", dir);
	snprintf(res, sizeof(res), "%s/res.der", dir);
	ok(dev("pki", "--out", pki, NULL));
	ok(eim("init", "--eim-id", "eim-test", NULL));
	ok(eim("export-initial-eim", "--identity", "eim-test", "--out", air,
	       "--association-token", "request", NULL));
	p = dev("init", "--state", state, "--eid", EID, "--pki", pki, "--air",
		air, "--profile", P1 ":One", NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert(eim_test_contains(p.out, "associationToken 1"));
	eim_test_proc_done(&p);
	ck_assert_int_eq(stat(state, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* A second init would lose the card's state. */
	refused(dev("init", "--state", state, "--eid", EID, "--pki", pki, NULL),
		1, "exists");
	p = dev("cert", "--state", state, NULL);
	ck_assert_int_eq(p.status, 0);
	write_text(cert, p.out);
	eim_test_proc_done(&p);
	ok(eim("device", "add", EID, "--psk-identity", "d", "--psk",
	       "00112233445566778899aabbccddeeff", "--association-token", "1",
	       "--euicc-cert", cert, NULL));
	ok(eim("submit", EID, "enable", "--iccid", P1, NULL));
	p = eim("show", "1", "--json", NULL);
	ck_assert_int_eq(p.status, 0);
	hex = strstr(p.out, "\"bytes\":\"");
	ck_assert_ptr_nonnull(hex);
	hex += 9;
	end = strchr(hex, '"');
	*end = 0;
	write_text(pkg, hex);
	eim_test_proc_done(&p);
	p = dev("load", "--state", state, "--out", res, pkg, NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert_str_eq(p.out, "euiccPackageResultSigned seq 1: "
				"enableResult=ok\n");
	eim_test_proc_done(&p);
	ok(eim("decode", "--euicc-cert", cert, "--token", "1", res, NULL));
	/* The state file kept the counter: the same package is a replay. */
	p = dev("load", "--state", state, pkg, NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert_str_eq(p.out, "euiccPackageErrorSigned replayError\n");
	eim_test_proc_done(&p);
	p = dev("show", "--state", state, NULL);
	ck_assert(eim_test_contains(p.out, "eIM eim-test counter 1 token 1"));
	ck_assert(eim_test_contains(p.out, "profile " P1 " enabled One"));
	ck_assert(eim_test_contains(p.out, "results pending: 1"));
	eim_test_proc_done(&p);
	p = dev("ack", "--state", state, "1", NULL);
	ck_assert_str_eq(p.out, "1 result(s) acknowledged, 0 kept\n");
	eim_test_proc_done(&p);
}
END_TEST

/* Writes the bytes of package `id` (from `eim show --json`) to path. */
static void package_file(const char *id, const char *path)
{
	struct eim_test_proc p = eim("show", id, "--json", NULL);
	char *hex, *end;

	ck_assert_int_eq(p.status, 0);
	hex = strstr(p.out, "\"bytes\":\"");
	ck_assert_ptr_nonnull(hex);
	hex += 9;
	end = strchr(hex, '"');
	*end = 0;
	write_text(path, hex);
	eim_test_proc_done(&p);
}

/* Loads package `id`; returns eim-device's stdout line (static). */
static const char *load(const char *id)
{
	static char line[512];
	char path[700];
	struct eim_test_proc p;

	snprintf(path, sizeof(path), "%s/pkg-%s.hex", dir, id);
	package_file(id, path);
	p = dev("load", "--state", state, path, NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	snprintf(line, sizeof(line), "%s", p.out);
	eim_test_proc_done(&p);
	return line;
}

START_TEST(rollback_fallback_ipa_data)
{
	char air[700], cert[700], res[700], req[700];
	struct eim_test_proc p;

	snprintf(air, sizeof(air), "%s/air.der", dir);
	snprintf(cert, sizeof(cert), "%s/euicc.pem", dir);
	snprintf(res, sizeof(res), "%s/rollback.der", dir);
	snprintf(req, sizeof(req), "%s/req.hex", dir);
	ok(dev("pki", "--out", pki, NULL));
	ok(eim("init", "--eim-id", "eim-test", NULL));
	ok(eim("export-initial-eim", "--identity", "eim-test", "--out", air,
	       "--association-token", "request", NULL));
	ok(dev("init", "--state", state, "--eid", EID, "--pki", pki, "--air",
	       air, "--profile", P1, "--profile", P2, "--fallback-profile", P3,
	       NULL));
	p = dev("cert", "--state", state, NULL);
	write_text(cert, p.out);
	eim_test_proc_done(&p);
	ok(eim("device", "add", EID, "--psk-identity", "d", "--psk",
	       "00112233445566778899aabbccddeeff", "--association-token", "1",
	       "--euicc-cert", cert, NULL));
	ok(eim("submit", EID, "enable", "--iccid", P1, NULL));
	ck_assert_str_eq(load("1"),
			 "euiccPackageResultSigned seq 1: enableResult=ok\n");
	ok(eim("submit", EID, "enable", "--iccid", P2, "--rollback", NULL));
	ck_assert_str_eq(load("2"),
			 "euiccPackageResultSigned seq 2: enableResult=ok\n");
	p = dev("rollback", "--state", state, "--out", res, NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert_str_eq(p.out, "rollback: ok (0)\n"
				"euiccPackageResultSigned seq 3: "
				"rollbackResult=ok\n");
	eim_test_proc_done(&p);
	ok(eim("decode", "--euicc-cert", cert, "--token", "1", res, NULL));
	p = dev("rollback", "--state", state, NULL);
	ck_assert_str_eq(p.out, "rollback: rollbackNotAllowed (1)\n");
	eim_test_proc_done(&p);
	/* Fallback: not available until the attribute is set. */
	p = dev("fallback", "--state", state, NULL);
	ck_assert_str_eq(p.out, "fallback: fallbackNotAvailable (6)\n");
	eim_test_proc_done(&p);
	ok(eim("submit", EID, "set-fallback", "--iccid", P3, NULL));
	ck_assert_str_eq(load("3"), "euiccPackageResultSigned seq 4: "
				    "setFallbackAttributeResult=ok\n");
	p = dev("fallback", "--state", state, NULL);
	ck_assert_str_eq(p.out, "fallback: ok (0)\n");
	eim_test_proc_done(&p);
	p = dev("show", "--state", state, NULL);
	ck_assert(eim_test_contains(p.out, "profile " P3 " enabled fallback"));
	ck_assert(eim_test_contains(p.out, "profile " P1 " disabled"));
	eim_test_proc_done(&p);
	p = dev("return", "--state", state, NULL);
	ck_assert_str_eq(p.out, "return: ok (0)\n");
	eim_test_proc_done(&p);
	p = dev("show", "--state", state, NULL);
	ck_assert(eim_test_contains(p.out, "profile " P1 " enabled"));
	eim_test_proc_done(&p);
	/* IpaEuiccData: tags 84 (token) and 81 (default SM-DP+), txid 01. */
	write_text(req, "bf52075c02848183 0101");
	p = dev("ipa-data", "--state", state, "--eim", "eim-test", req, NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert_str_eq(p.out, "bf5208a006840101870101\n");
	eim_test_proc_done(&p);
	write_text(req, "bf52055c0299"); /* length past the end */
	refused(dev("ipa-data", "--state", state, req, NULL), 1,
		"not an IpaEuiccDataRequest");
	write_text(req, "bf52035c0199");
	p = dev("ipa-data", "--state", state, req, NULL);
	ck_assert_str_eq(p.out, "bf5205a103020101\n"); /* incorrectTagList */
	eim_test_proc_done(&p);
}
END_TEST

START_TEST(errors_are_one_line)
{
	char bad[700], junk[700];

	snprintf(bad, sizeof(bad), "%s/bad.json", dir);
	snprintf(junk, sizeof(junk), "%s/junk.bin", dir);
	refused(dev("bogus", NULL), 2, "unknown command 'bogus'");
	refused(dev("init", "--eid", EID, NULL), 2, "--state FILE");
	refused(dev("init", "--state", state, "--eid",
		    "89049032123451234512345678901234", "--pki", pki, NULL),
		2, "check digits");
	refused(dev("init", "--state", state, "--eid", EID, "--pki",
		    "/nonexistent", NULL),
		1, "no test PKI");
	refused(dev("load", "--state", state, NULL), 2, "PACKAGE");
	refused(dev("show", "--state", "/nonexistent/x.json", NULL), 1,
		"No such file");
	write_text(bad, "{\"format\":\"eim-sim-euicc/1\",\"eid\":7}");
	refused(dev("show", "--state", bad, NULL), 1,
		"eid: missing or not a string");
	ok(dev("pki", "--out", pki, NULL));
	ok(dev("init", "--state", state, "--eid", EID, "--pki", pki, NULL));
	write_text(junk, "zz not a package");
	refused(dev("load", "--state", state, junk, NULL), 1,
		"not an EuiccPackageRequest");
	refused(dev("ack", "--state", state, "x", NULL), 2,
		"'x' is not a seqNumber");
	refused(dev("pki", "--outt", pki, NULL), 2, "--outt");
	refused(dev("pki", "--out", pki, "--eim", "../x", NULL), 2,
		"eIM id '../x'");
	/* --eim on an existing PKI keeps its CI (devices came from it). */
	{
		char ci[700], eimc[700], before[2048], after[2048];
		struct stat b;
		FILE *f;
		size_t n1, n2;

		snprintf(ci, sizeof(ci), "%s/ci.pem", pki);
		snprintf(eimc, sizeof(eimc), "%s/eim-e1.key.pem", pki);
		f = fopen(ci, "r");
		n1 = fread(before, 1, sizeof(before), f);
		fclose(f);
		ok(dev("pki", "--out", pki, "--eim", "e1", NULL));
		f = fopen(ci, "r");
		n2 = fread(after, 1, sizeof(after), f);
		fclose(f);
		ck_assert_uint_eq(n1, n2);
		ck_assert_mem_eq(before, after, n1);
		ck_assert_int_eq(stat(eimc, &b), 0);
		ck_assert_int_eq(b.st_mode & 0777, 0600);
	}
	ok(dev("load", "--help", NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("device_cli");
	TCase *tc = tcase_create("cli");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, device_runs_eim_packages);
	tcase_add_test(tc, rollback_fallback_ipa_data);
	tcase_add_test(tc, errors_are_one_line);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
