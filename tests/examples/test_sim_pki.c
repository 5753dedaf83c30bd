/*
 * test_sim_pki.c - the simulator's test PKI: the generated chain validates
 * with proto's eim_cert_verify_euicc and, independently, with
 * `openssl verify`; a chain from another CI does not.
 */
#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "examples/eim_sim_pki.h"
#include "proto/eim_cert.h"
#include "proto/eim_ids.h"
#include "proto/eim_sig.h"
#include "eim_test.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EID "89049032123451234512345678901235"

static struct eim_sim_pki pki;
static struct eim_sim_cred euicc;

static void setup(void)
{
	char eid[33];

	ck_assert_int_eq(eim_sim_pki_generate(&pki), 0);
	ck_assert_int_eq(eim_eid_complete("890490321234512345123456789012",
					  eid),
			 0);
	ck_assert_int_eq(eim_sim_pki_issue_euicc(&pki, eid, &euicc), 0);
}

static void teardown(void)
{
	eim_sim_cred_done(&euicc);
	eim_sim_pki_done(&pki);
}

START_TEST(chain_verifies_with_proto)
{
	struct eim_cert_store *s;
	struct eim_cert_diag d;
	struct eim_sig_key *k = NULL, *priv = NULL;
	uint8_t rs[64];
	struct eim_slice part = {(const uint8_t *)"hello", 5};

	ck_assert_int_eq(eim_cert_store_new(&s), 0);
	ck_assert_int_eq(eim_cert_store_add_ci(s, pki.ci.cert, pki.ci.cert_len),
			 0);
	ck_assert_int_eq(eim_cert_verify_euicc(s, pki.eum.cert,
					       pki.eum.cert_len, euicc.cert,
					       euicc.cert_len, &d, &k),
			 0);
	/* The key in the certificate is the key we hold. */
	ck_assert_int_eq(eim_sig_key_load(euicc.key, euicc.key_len, &priv), 0);
	ck_assert_int_eq(eim_sig_sign(priv, &part, 1, rs), 0);
	ck_assert_int_eq(eim_sig_verify(k, &part, 1, rs, 64), 0);
	eim_sig_key_free(k);
	eim_sig_key_free(priv);
	eim_cert_store_free(s);
}
END_TEST

START_TEST(other_ci_rejected)
{
	struct eim_sim_pki other;
	struct eim_cert_store *s;
	struct eim_cert_diag d;

	ck_assert_int_eq(eim_sim_pki_generate(&other), 0);
	ck_assert_int_eq(eim_cert_store_new(&s), 0);
	ck_assert_int_eq(eim_cert_store_add_ci(s, other.ci.cert,
					       other.ci.cert_len),
			 0);
	ck_assert_int_eq(eim_cert_verify_euicc(s, pki.eum.cert,
					       pki.eum.cert_len, euicc.cert,
					       euicc.cert_len, &d, NULL),
			 EIM_ECERT);
	ck_assert_int_eq(d.which, EIM_CERT_EUM);
	/* An eUICC certificate presented as the EUM cannot issue. */
	eim_cert_store_free(s);
	ck_assert_int_eq(eim_cert_store_new(&s), 0);
	ck_assert_int_eq(eim_cert_store_add_ci(s, pki.ci.cert, pki.ci.cert_len),
			 0);
	ck_assert_int_eq(eim_cert_verify_euicc(s, euicc.cert, euicc.cert_len,
					       euicc.cert, euicc.cert_len, &d,
					       NULL),
			 EIM_ECERT);
	eim_cert_store_free(s);
	eim_sim_pki_done(&other);
}
END_TEST

START_TEST(skid_is_ci_pkid)
{
	uint8_t skid[32];
	size_t n = 0;

	ck_assert_int_eq(eim_sim_cert_skid(pki.ci.cert, pki.ci.cert_len, skid,
					   sizeof(skid), &n),
			 0);
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(eim_sim_cert_skid(pki.ci.cert, 10, skid, sizeof(skid),
					   &n),
			 EIM_ETRUNC);
	ck_assert_int_eq(eim_sim_cert_skid(pki.ci.cert, pki.ci.cert_len, skid,
					   4, &n),
			 EIM_ETOOBIG);
}
END_TEST

/* An eIM certificate: signed by the CI, usable as an eIM key. */
START_TEST(eim_certificate)
{
	struct eim_sim_cred c;
	struct eim_sig_key *pub = NULL, *priv = NULL;
	struct eim_slice part = {(const uint8_t *)"pkg", 3};
	uint8_t rs[64];

	ck_assert_int_eq(eim_sim_pki_issue_eim(&pki, "eim-a.example", &c), 0);
	ck_assert_int_eq(eim_sig_key_load(c.cert, c.cert_len, &pub), 0);
	ck_assert_int_eq(eim_sig_key_load(c.key, c.key_len, &priv), 0);
	ck_assert_int_eq(eim_sig_sign(priv, &part, 1, rs), 0);
	ck_assert_int_eq(eim_sig_verify(pub, &part, 1, rs, 64), 0);
	eim_sig_key_free(pub);
	eim_sig_key_free(priv);
	eim_sim_cred_done(&c);
	ck_assert_int_eq(eim_sim_pki_issue_eim(&pki, "", &c), EIM_EINVAL);
}
END_TEST

START_TEST(bad_eid_refused)
{
	struct eim_sim_cred c;

	ck_assert_int_eq(eim_sim_pki_issue_euicc(&pki, "1234", &c),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_sim_pki_issue_euicc(
				 &pki, "89049032123451234512345678901234", &c),
			 EIM_EVERIFY);
}
END_TEST

/* Files round trip; keys 0600; openssl agrees the chain is valid. */
START_TEST(files_and_openssl)
{
	const char *dir = eim_test_tmpdir();
	char tmp[512], cmd[2048];
	struct eim_sim_pki back;
	struct eim_sim_cred other;
	struct stat st;
	const char *openssl = getenv("OPENSSL");

	snprintf(tmp, sizeof(tmp), "%s", dir);
	ck_assert_int_eq(eim_sim_pki_write(&pki, tmp), 0);
	ck_assert_int_eq(eim_sim_cred_write(&euicc, tmp, "euicc"), 0);
	snprintf(cmd, sizeof(cmd), "%s/eum.key.pem", tmp);
	ck_assert_int_eq(stat(cmd, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(eim_sim_pki_read(tmp, &back), 0);
	ck_assert_uint_eq(back.eum.cert_len, pki.eum.cert_len);
	ck_assert_mem_eq(back.eum.cert, pki.eum.cert, pki.eum.cert_len);
	ck_assert_mem_eq(back.ci.key, pki.ci.key, pki.ci.key_len);
	eim_sim_pki_done(&back);
	/* A certificate where a key is expected. */
	snprintf(cmd, sizeof(cmd), "cp %s/ci.pem %s/ci.key.pem", tmp, tmp);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(eim_sim_pki_read(tmp, &back), EIM_EMALFORMED);
	ck_assert_int_eq(eim_sim_pki_read("/nonexistent-dir", &back), EIM_EIO);
	if (openssl && *openssl) {
		snprintf(cmd, sizeof(cmd),
			 "%s verify -CAfile %s/ci.pem -untrusted %s/eum.pem "
			 "%s/euicc.pem >/dev/null 2>&1",
			 openssl, tmp, tmp, tmp);
		ck_assert_int_eq(system(cmd), 0);
		/* The eIM certificate chains to the CI directly. */
		ck_assert_int_eq(eim_sim_pki_issue_eim(&pki, "eim-x", &other),
				 0);
		ck_assert_int_eq(eim_sim_cred_write(&other, tmp, "eim-x"), 0);
		eim_sim_cred_done(&other);
		snprintf(cmd, sizeof(cmd),
			 "%s verify -CAfile %s/ci.pem %s/eim-x.pem "
			 ">/dev/null 2>&1",
			 openssl, tmp, tmp);
		ck_assert_int_eq(system(cmd), 0);
		/* Without the EUM there is no path: openssl must refuse. */
		snprintf(cmd, sizeof(cmd),
			 "%s verify -CAfile %s/ci.pem %s/euicc.pem "
			 ">/dev/null 2>&1",
			 openssl, tmp, tmp);
		ck_assert_int_ne(system(cmd), 0);
		/* pathLen 0 on the EUM, policy OID on the eUICC. */
		snprintf(cmd, sizeof(cmd),
			 "%s x509 -in %s/eum.pem -noout -text | grep -q "
			 "'Basic Constraints: critical' && "
			 "%s x509 -in %s/eum.pem -noout -text | grep -q "
			 "'CA:TRUE, pathlen:0' && "
			 "%s x509 -in %s/euicc.pem -noout -text | grep -q "
			 "'2.23.146.1.2.1.1'",
			 openssl, tmp, openssl, tmp, openssl, tmp);
		ck_assert_int_eq(system(cmd), 0);
	}
	eim_test_rmdir(tmp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim_pki");
	TCase *tc = tcase_create("pki");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, chain_verifies_with_proto);
	tcase_add_test(tc, other_ci_rejected);
	tcase_add_test(tc, skid_is_ci_pkid);
	tcase_add_test(tc, bad_eid_refused);
	tcase_add_test(tc, eim_certificate);
	tcase_add_test(tc, files_and_openssl);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
