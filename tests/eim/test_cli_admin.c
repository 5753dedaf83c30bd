/*
 * Integration tests of the administrative commands on a real database file:
 * eim init, eim identity add|list|show, eim device add|list|show.
 * Each error path asserts the exit code and the one-line message.
 */
#include "eim_test.h"

#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *dir;
static char db[512];

#define EID1 "89049032123451234512345678901235"
#define EID2 "89044045116727494800000004479366"
#define PSK "000102030405060708090a0b0c0d0e0f"

/* eim WORDS... with EIM_DB set to this test's database */
#define eim(...) eim_test_eim(db, __VA_ARGS__)

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Asserts an exit code and that stderr is one line containing `msg`. */
#define EXPECT_ERR(p, code, msg)                                               \
	do {                                                                   \
		ck_assert_msg((p).status == (code), "exit %d, want %d: %s",    \
			      (p).status, (code), (p).err);                    \
		ck_assert_msg(eim_test_contains((p).err, (msg)),               \
			      "stderr '%s' lacks '%s'", (p).err, (msg));       \
		ck_assert_int_eq(lines((p).err), 1);                           \
		eim_test_proc_done(&(p));                                      \
	} while (0)

#define EXPECT_OK(p)                                                           \
	do {                                                                   \
		ck_assert_msg((p).status == 0, "exit %d: %s", (p).status,      \
			      (p).err);                                        \
		eim_test_proc_done(&(p));                                      \
	} while (0)

static void setup(void)
{
	dir = eim_test_tmpdir();
	ck_assert_ptr_nonnull(dir);
	snprintf(db, sizeof(db), "%s/eim.db", dir);
}

static void teardown(void)
{
	eim_test_rmdir(dir);
}

START_TEST(init_creates_db_and_key)
{
	struct eim_test_proc p = eim("init", "--eim-id", "eim-one", NULL);
	char key[600];
	struct stat st;

	ck_assert_msg(p.status == 0, "%s", p.err);
	ck_assert(eim_test_contains(p.out, "eIM identity 'eim-one' added"));
	eim_test_proc_done(&p);
	snprintf(key, sizeof(key), "%s/eim-one.key.pem", dir);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(db, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);

	/* The key is a real P-256 key that openssl reads. */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "openssl ec -in '%s' -noout -text 2>/dev/null | grep -q "
		 "'NIST CURVE: P-256'",
		 key);
	ck_assert_int_eq(system(cmd), 0);

	/* A second init is refused; identity add works. */
	p = eim("init", "--eim-id", "eim-two", NULL);
	EXPECT_ERR(p, 1, "is already initialised (1 identity)");
	p = eim("identity", "add", "--eim-id", "eim-two", NULL);
	EXPECT_OK(p);
	p = eim("identity", "add", "--eim-id", "eim-two", "--key", key, NULL);
	EXPECT_ERR(p, 1, "eim-two");

	p = eim("identity", "list", "--json", NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert(eim_test_contains(p.out, "\"eim_id\":\"eim-one\""));
	ck_assert(eim_test_contains(p.out, "\"eim_id\":\"eim-two\""));
	ck_assert(!eim_test_contains(p.out, "PRIVATE"));
	eim_test_proc_done(&p);

	p = eim("identity", "show", "eim-one", "--json", NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert(strncmp(p.out, "{\"eim_id\":\"eim-one\"", 19) == 0);
	/* SPKI of a P-256 key: 30 59 30 13 06 07 2a 86 48 ce 3d 02 01 ... */
	ck_assert(eim_test_contains(
		p.out, "\"public_key\":\"3059301306072a8648ce3d0201"));
	eim_test_proc_done(&p);
	p = eim("identity", "show", "nobody", NULL);
	EXPECT_ERR(p, 1, "no eIM identity 'nobody'");
}
END_TEST

START_TEST(init_with_existing_key_and_cert)
{
	char key[600], cert[600], other[600], cmd[4096];

	snprintf(key, sizeof(key), "%s/k.pem", dir);
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(other, sizeof(other), "%s/o.pem", dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl ecparam -name prime256v1 -genkey -noout -out '%s' && "
		 "openssl req -new -x509 -key '%s' -subj /CN=eim -days 2 -out "
		 "'%s' && openssl ecparam -name prime256v1 -genkey -noout "
		 "-out '%s'",
		 key, key, cert, other);
	ck_assert_int_eq(system(cmd), 0);

	struct eim_test_proc p = eim("init", "--eim-id", "e", "--key", other,
				     "--cert", cert, NULL);
	EXPECT_ERR(p, 1, "the certificate's public key does not match");
	p = eim("init", "--eim-id", "e", "--key", cert, NULL);
	EXPECT_ERR(p, 1, "holds no private key");
	p = eim("init", "--eim-id", "e", "--key", "/nonexistent.pem", NULL);
	EXPECT_ERR(p, 1, "/nonexistent.pem: No such file");
	p = eim("init", "--eim-id", "e", "--key", key, "--cert", cert, NULL);
	EXPECT_OK(p);
	/* the certificate (30 82 ...) is what the identity publishes */
	p = eim("identity", "show", "e", "--json", NULL);
	ck_assert(eim_test_contains(p.out, "\"public_key\":\"3082"));
	eim_test_proc_done(&p);
}
END_TEST

START_TEST(init_usage_errors)
{
	struct eim_test_proc p = eim("init", NULL);
	EXPECT_ERR(p, 2, "eim init: --eim-id is required");
	p = eim("init", "--eim-id", "", NULL);
	EXPECT_ERR(p, 2, "must be 1 to 128 printable characters");
	p = eim("init", "--bogus", NULL);
	EXPECT_ERR(p, 2, "eim init: unknown option '--bogus'");
	p = eim("init", "--eim-id", NULL);
	EXPECT_ERR(p, 2, "needs a value");
	p = eim("identity", "frob", NULL);
	EXPECT_ERR(p, 2, "unknown action 'frob'");
	/* None of the failed inits left a database behind. */
	p = eim("identity", "list", NULL);
	EXPECT_ERR(p, 1, "no database at");
	p = eim("init", "--eim-id", "x", "--key", "/nonexistent.pem", NULL);
	EXPECT_ERR(p, 1, "No such file");
	p = eim("identity", "list", NULL);
	EXPECT_ERR(p, 1, "no database at");
}
END_TEST

START_TEST(device_add_list_show)
{
	struct eim_test_proc p = eim("init", "--eim-id", "eim-one", NULL);
	EXPECT_OK(p);
	p = eim("device", "add", EID1, "--psk-identity", "dev1", "--psk", PSK,
		"--counter", "41", NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	ck_assert(eim_test_contains(p.out, "counter 41"));
	ck_assert(!eim_test_contains(p.out, PSK));
	eim_test_proc_done(&p);
	p = eim("device", "add", EID2, "--cert-fingerprint",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddee"
		"ff",
		"--association-token", "7", NULL);
	EXPECT_OK(p);

	p = eim("device", "list", "--json", NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert(eim_test_contains(p.out, "\"eid\":\"" EID1 "\""));
	ck_assert(eim_test_contains(p.out, "\"psk_identity\":\"dev1\""));
	ck_assert(eim_test_contains(p.out, "\"counter\":41"));
	ck_assert(eim_test_contains(p.out, "\"association_token\":7"));
	ck_assert(!eim_test_contains(p.out, PSK)); /* never the secret */
	eim_test_proc_done(&p);

	p = eim("device", "show", EID1, NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert(eim_test_contains(p.out, "next package: 42"));
	ck_assert(!eim_test_contains(p.out, PSK));
	eim_test_proc_done(&p);
	p = eim("device", "list", NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert_int_eq(lines(p.out), 2);
	eim_test_proc_done(&p);

	/* remove: the counter to re-add with is said; the PSK is free again */
	p = eim("device", "remove", EID1, NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	ck_assert(eim_test_contains(p.out, "'eim-one' counter 41"));
	eim_test_proc_done(&p);
	p = eim("device", "list", NULL);
	ck_assert_int_eq(lines(p.out), 1);
	eim_test_proc_done(&p);
	p = eim("device", "add", EID1, "--psk-identity", "dev1", "--psk", PSK,
		"--counter", "41", NULL);
	EXPECT_OK(p);
	p = eim("audit", EID1, NULL);
	ck_assert(eim_test_contains(p.out, "device-remove"));
	eim_test_proc_done(&p);
}
END_TEST

START_TEST(device_errors)
{
	struct eim_test_proc p = eim("init", "--eim-id", "eim-one", NULL);
	EXPECT_OK(p);
	p = eim("device", "add", "8904903212345123451234567890123",
		"--psk-identity", "d", "--psk", PSK, NULL);
	EXPECT_ERR(p, 2, "an EID has 32 decimal digits");
	p = eim("device", "add", "89049032123451234512345678901236",
		"--psk-identity", "d", "--psk", PSK, NULL);
	EXPECT_ERR(p, 2, "check digits do not match");
	p = eim("device", "add", EID1, NULL);
	EXPECT_ERR(p, 2, "give the device's DTLS credential");
	p = eim("device", "add", EID1, "--psk-identity", "d", NULL);
	EXPECT_ERR(p, 2, "--psk-identity and --psk go together");
	p = eim("device", "add", EID1, "--psk-identity", "d", "--psk",
		"secretzz", NULL);
	EXPECT_ERR(p, 2, "--psk must be 16 to 64 bytes in hex");
	p = eim("device", "add", EID1, "--psk-identity", "d", "--psk", PSK,
		"--counter", "8388607", NULL);
	EXPECT_ERR(p, 2,
		   "--counter '8388607' must be an integer from 0 to "
		   "8388606");
	p = eim("device", "add", EID1, "--cert-fingerprint", "abcd", NULL);
	EXPECT_ERR(p, 2, "must be a SHA-256");
	p = eim("device", "add", EID1, "--psk-identity", "d", "--psk", PSK,
		"--eim", "nobody", NULL);
	EXPECT_ERR(p, 1, "nobody");
	p = eim("device", "add", EID1, "--psk-identity", "d", "--psk", PSK,
		NULL);
	EXPECT_OK(p);
	p = eim("device", "add", EID1, "--psk-identity", "x", "--psk", PSK,
		NULL);
	EXPECT_ERR(p, 1, "");
	/* the PSK identity is bound to another device */
	p = eim("device", "add", EID2, "--psk-identity", "d", "--psk", PSK,
		NULL);
	EXPECT_ERR(p, 1, "'d'");
	p = eim("device", "show", EID2, NULL);
	EXPECT_ERR(p, 1, "no device " EID2);
	p = eim("device", "remove", EID2, NULL);
	EXPECT_ERR(p, 1, "no device " EID2);
	p = eim("device", "remove", NULL);
	EXPECT_ERR(p, 2, "give exactly one EID");
	p = eim("identity", "add", "--eim-id", "eim-two", NULL);
	EXPECT_OK(p);
	p = eim("device", "add", EID2, "--psk-identity", "e", "--psk", PSK,
		NULL);
	EXPECT_ERR(p, 2, "several eIM identities: choose one with --eim");
}
END_TEST

START_TEST(export_initial_eim)
{
	char out[600], cfg[600], cmd[1500];

	struct eim_test_proc p = eim("init", "--eim-id", "eim-one", NULL);
	EXPECT_OK(p);
	snprintf(out, sizeof(out), "%s/air.der", dir);
	snprintf(cfg, sizeof(cfg), "%s/cfg.der", dir);
	p = eim("export-initial-eim", "--identity", "eim-one", "--out", out,
		"--config-out", cfg, "--counter", "41", "--fqdn",
		"eim.example.com", "--protocols", "retrieve-coaps", "--json",
		NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	/* BF57 { A0 { 30 { 80 "eim-one" 81 fqdn 83 29 A5 {...} 87 ... } } } */
	ck_assert(
		eim_test_contains(p.out, "\"add_initial_eim_request\":\"bf57"));
	ck_assert(eim_test_contains(p.out, "800765696d2d6f6e65"));
	ck_assert(eim_test_contains(p.out, "830129"));
	ck_assert(eim_test_contains(p.out, "\"eim_configuration_data\":\"30"));
	eim_test_proc_done(&p);
	/* an independent DER parser accepts both files */
	snprintf(cmd, sizeof(cmd),
		 "openssl asn1parse -inform DER -in '%s' >/dev/null && "
		 "openssl asn1parse -inform DER -in '%s' | grep -q prime256v1",
		 out, cfg);
	ck_assert_int_eq(system(cmd), 0);

	p = eim("export-initial-eim", "--identity", "nobody", NULL);
	EXPECT_ERR(p, 1, "--identity: no local eIM identity 'nobody'");
	p = eim("export-initial-eim", NULL);
	EXPECT_ERR(p, 2, "--identity is required");
	p = eim("export-initial-eim", "--identity", "eim-one", "--protocols",
		"carrier-pigeon", NULL);
	EXPECT_ERR(p, 1, "'carrier-pigeon' is not one of");
}
END_TEST

/* Writes n import lines (valid EIDs with check digits) to path. */
static void write_fleet(const char *path, int n, const char *extra)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "# EID,PSK identity,PSK\n");
	for (int i = 0; i < n; i++) {
		char d[33];
		snprintf(d, sizeof(d), "8904903200000000000%011d", i);
		unsigned r = 0;
		for (int k = 0; k < 30; k++)
			r = (r * 10 + (unsigned)(d[k] - '0')) % 97;
		r = (r * 100) % 97;
		fprintf(f, "%s%02u,fleet-%d,%s\n", d, 98 - r, i, PSK);
	}
	if (extra)
		fputs(extra, f);
	fclose(f);
}

START_TEST(device_import)
{
	char path[600];
	struct eim_test_proc p = eim("init", "--eim-id", "eim-one", NULL);
	EXPECT_OK(p);
	snprintf(path, sizeof(path), "%s/fleet.csv", dir);

	/* a bad line: nothing is added, the line is named, no secret shown */
	write_fleet(path, 300,
		    "89049032000000000000000000000066,bad,"
		    "C0FFEE\n");
	p = eim("device", "import", path, NULL);
	EXPECT_ERR(p, 1, "fleet.csv: line 302: the PSK must be 16 to 64");
	p = eim("device", "list", NULL);
	ck_assert_int_eq(lines(p.out), 0);
	ck_assert(!eim_test_contains(p.err, "C0FFEE"));
	eim_test_proc_done(&p);

	/* a duplicate EID found by the store: the batch is rolled back */
	write_fleet(path, 300,
		    "89049032000000000000000000000066,dup,"
		    "000102030405060708090a0b0c0d0e0f\n");
	p = eim("device", "import", path, NULL);
	EXPECT_ERR(p, 1, "(entry 301)");
	p = eim("device", "list", NULL);
	ck_assert_int_eq(lines(p.out), 0);
	eim_test_proc_done(&p);

	write_fleet(path, 2500, NULL);
	p = eim("device", "import", path, NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	ck_assert(eim_test_contains(p.out, "imported 2500 devices"));
	eim_test_proc_done(&p);
	p = eim("device", "list", NULL);
	ck_assert_int_eq(lines(p.out), 2500);
	eim_test_proc_done(&p);
	p = eim("device", "import", "/nonexistent.csv", NULL);
	EXPECT_ERR(p, 1, "/nonexistent.csv: No such file");
}
END_TEST

static Suite *admin_suite(void)
{
	Suite *s = suite_create("cli_admin");
	TCase *tc = tcase_create("commands");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, init_creates_db_and_key);
	tcase_add_test(tc, init_with_existing_key_and_cert);
	tcase_add_test(tc, init_usage_errors);
	tcase_add_test(tc, device_add_list_show);
	tcase_add_test(tc, device_errors);
	tcase_add_test(tc, export_initial_eim);
	tcase_add_test(tc, device_import);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(admin_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
