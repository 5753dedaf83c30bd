/*
 * Where the secrets live, checked on the real binary (the claims SECURITY.md
 * makes): `eim init` writes the eIM signing key as a mode 0600 PEM file next
 * to the database and keeps only its path and public key in the database
 * (the private scalar appears nowhere in the database file); the database
 * is mode 0600; `eim serve` creates its opt-in DTLS key log with mode 0600.
 */
#include "common/eim_alloc.h"
#include "eim_test.h"
#include "proto/eim_sig.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir;
static char db[512];

#define eim(...) eim_test_eim(db, __VA_ARGS__)

static void setup(void)
{
	dir = eim_test_tmpdir();
	ck_assert_ptr_nonnull(dir);
	snprintf(db, sizeof(db), "%s/eim.db", dir);
	/* a permissive umask: the modes must not depend on the caller's */
	umask(022);
}

static void teardown(void)
{
	eim_test_rmdir(dir);
}

static unsigned mode_of(const char *path)
{
	struct stat sb;

	ck_assert_msg(stat(path, &sb) == 0, "%s missing", path);
	return (unsigned)(sb.st_mode & 07777);
}

static uint8_t *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	p[n] = 0;
	*ret_len = (size_t)n;
	return p;
}

START_TEST(signing_key_is_a_0600_file_never_in_the_database)
{
	char key[600];
	struct eim_test_proc p = eim("init", "--eim-id", "eim-one", NULL);
	size_t n, dn, der_len = 0, label_len = 0;
	uint8_t *pem, *dbb, *der = NULL;
	const char *label = NULL;

	ck_assert_msg(p.status == 0, "%s", p.err);
	eim_test_proc_done(&p);
	snprintf(key, sizeof(key), "%s/eim-one.key.pem", dir);
	ck_assert_uint_eq(mode_of(key), 0600);
	ck_assert_uint_eq(mode_of(db), 0600);

	/* SEC1 ECPrivateKey: 30 77 02 01 01 04 20 <32-byte scalar> ... */
	pem = slurp(key, &n);
	ck_assert_int_eq(eim_sig_pem_decode((const char *)pem, n, &label,
					    &label_len, &der, &der_len),
			 0);
	ck_assert_uint_ge(der_len, 39);
	ck_assert_uint_eq(der[5], 0x04);
	ck_assert_uint_eq(der[6], 0x20);
	dbb = slurp(db, &dn);
	ck_assert_ptr_null(memmem(dbb, dn, der + 7, 32));
	ck_assert_ptr_null(memmem(dbb, dn, "PRIVATE KEY", 11));
	/* what the database does hold: the path */
	ck_assert_ptr_nonnull(memmem(dbb, dn, key, strlen(key)));
	eim_free(der);
	free(pem);
	free(dbb);
}
END_TEST

START_TEST(dtls_key_log_is_created_0600)
{
	char cfg[600], log[600], line[256];
	struct eim_test_child srv;
	FILE *f;

	struct eim_test_proc p = eim("init", "--eim-id", "eim-one", NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	eim_test_proc_done(&p);
	snprintf(cfg, sizeof(cfg), "%s/serve.json", dir);
	snprintf(log, sizeof(log), "%s/keys.log", dir);
	f = fopen(cfg, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\"dtls\": {\"keylog_file\": \"%s\"}}\n", log);
	fclose(f);
	char *argv[] = {(char *)eim_test_bin(),
			(char *)"serve",
			(char *)"--db",
			db,
			(char *)"--config",
			cfg,
			(char *)"--listen",
			(char *)"127.0.0.1:0",
			NULL};
	ck_assert_int_eq(eim_test_spawn(argv, NULL, &srv), 0);
	ck_assert_int_eq(eim_test_child_line(&srv, line, sizeof(line), 10000),
			 0);
	ck_assert_uint_eq(mode_of(log), 0600);
	ck_assert_int_eq(eim_test_child_stop(&srv, SIGTERM), 0);
}
END_TEST

static Suite *secrets_suite(void)
{
	Suite *s = suite_create("secrets");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, signing_key_is_a_0600_file_never_in_the_database);
	tcase_add_test(tc, dtls_key_log_is_created_0600);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(secrets_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
