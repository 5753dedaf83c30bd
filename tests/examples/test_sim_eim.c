/*
 * test_sim_eim.c - the eUICC model against the real `eim` binary: the
 * AddInitialEim that `eim export-initial-eim` writes bootstraps the model,
 * packages queued with `eim submit` (bytes from `eim show --json`) run on
 * it, and the results it signs verify both with proto's eim_epr_verify
 * and with `eim decode --euicc-cert` (the eIM's own verifier). Tampered,
 * replayed and misaddressed packages get the eUICC's error codes.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_pki.h"
#include "proto/eim_epr.h"
#include "proto/eim_ids.h"
#include "proto/eim_ipadata.h"
#include "eim_test.h"

#include <cjson/cJSON.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EID "89049032123451234512345678901235"
#define EID2 "89049032123451234512345678901332"
#define P1 "89440000000000000011"
#define P2 "89440000000000000029"

static char dir[512], db[600];
static struct eim_sim_euicc *e;
static struct eim_sig_key *euicc_pub;

#define eim(...) eim_test_eim(db, __VA_ARGS__)

static void must_run(struct eim_test_proc p)
{
	ck_assert_msg(p.status == 0, "eim failed (%d): %s", p.status, p.err);
	eim_test_proc_done(&p);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = eim_malloc(1 << 16);

	ck_assert_ptr_nonnull(f);
	*len = fread(b, 1, 1 << 16, f);
	fclose(f);
	return b;
}

static void write_all(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void add_profile(const char *iccid)
{
	struct eim_sim_profile p;

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(eim_iccid_parse(iccid, p.iccid), 0);
	snprintf(p.name, sizeof(p.name), "profile %s", iccid + 16);
	p.profile_class = EIM_SIM_CLASS_OPERATIONAL;
	ck_assert_int_eq(eim_sim_euicc_add_profile(e, &p), 0);
}

static void setup(void)
{
	struct eim_sim_pki pki;
	struct eim_sim_cred cred;
	struct eim_add_initial_resp r;
	struct eim_buf out;
	char air[700];
	uint8_t eid[EIM_EID_LEN], *bytes;
	size_t n;

	snprintf(dir, sizeof(dir), "%s", eim_test_tmpdir());
	snprintf(db, sizeof(db), "%s/eim.db", dir);
	snprintf(air, sizeof(air), "%s/air.der", dir);
	ck_assert_int_eq(eim_sim_pki_generate(&pki), 0);
	ck_assert_int_eq(eim_sim_pki_issue_euicc(&pki, EID, &cred), 0);
	ck_assert_int_eq(eim_sim_pki_write(&pki, dir), 0);
	ck_assert_int_eq(eim_sim_cred_write(&cred, dir, "euicc"), 0);
	ck_assert_int_eq(eim_eid_parse(EID, eid), 0);
	ck_assert_int_eq(eim_sim_euicc_new(eid, cred.key, cred.key_len,
					   cred.cert, cred.cert_len,
					   pki.eum.cert, pki.eum.cert_len, &e),
			 0);
	ck_assert_int_eq(eim_sig_key_load(cred.cert, cred.cert_len, &euicc_pub),
			 0);
	eim_sim_cred_done(&cred);
	eim_sim_pki_done(&pki);
	add_profile(P1);
	add_profile(P2);

	must_run(eim("init", "--eim-id", "eim-test", NULL));
	must_run(eim("export-initial-eim", "--identity", "eim-test", "--out",
		     air, "--association-token", "request", NULL));
	/* The factory step: load exactly the bytes eim wrote. */
	bytes = read_all(air, &n);
	eim_buf_init(&out);
	ck_assert_int_eq(eim_sim_euicc_add_initial_eim(e, bytes, n, &out), 0);
	ck_assert_int_eq(eim_add_initial_resp_decode(out.p, out.len, NULL, &r),
			 0);
	ck_assert(!r.is_error);
	ck_assert(r.entry[0].has_token);
	ck_assert_int_eq(r.entry[0].token, 1);
	eim_buf_done(&out);
	eim_free(bytes);
	ck_assert_str_eq(e->eims[0].eim_id, "eim-test");
}

static void teardown(void)
{
	eim_sim_euicc_free(e);
	eim_sig_key_free(euicc_pub);
	eim_test_rmdir(dir);
}

static void device_add(const char *eid)
{
	char cert[700], eum[700];

	snprintf(cert, sizeof(cert), "%s/euicc.pem", dir);
	snprintf(eum, sizeof(eum), "%s/eum.pem", dir);
	must_run(eim("device", "add", eid, "--psk-identity", eid, "--psk",
		     "00112233445566778899aabbccddeeff", "--association-token",
		     "1", "--euicc-cert", cert, "--euicc-cert", eum, NULL));
}

/* Package bytes of the package `eim submit` just queued. */
static uint8_t *submitted(struct eim_test_proc p, size_t *len)
{
	cJSON *arr, *show;
	char id[32];
	struct eim_test_proc s;
	const char *hex;
	uint8_t *b;

	ck_assert_msg(p.status == 0, "submit failed: %s", p.err);
	arr = cJSON_Parse(p.out);
	ck_assert(cJSON_IsArray(arr));
	snprintf(id, sizeof(id), "%d",
		 cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "id")
			 ->valueint);
	cJSON_Delete(arr);
	eim_test_proc_done(&p);
	s = eim("show", id, "--json", NULL);
	ck_assert_int_eq(s.status, 0);
	show = cJSON_Parse(s.out);
	hex = cJSON_GetStringValue(cJSON_GetObjectItem(show, "bytes"));
	ck_assert_ptr_nonnull(hex);
	b = eim_malloc(strlen(hex) / 2 + 1);
	ck_assert_int_eq(eim_hex_decode(hex, strlen(hex), b, strlen(hex) / 2,
					len),
			 0);
	cJSON_Delete(show);
	eim_test_proc_done(&s);
	return b;
}

/* Runs a package on the model; decodes the result into *res. */
static void run(const uint8_t *pkg, size_t n, struct eim_buf *out,
		struct eim_epr *res)
{
	eim_buf_reset(out);
	ck_assert_int_eq(eim_sim_euicc_load_package(e, pkg, n, out, NULL), 0);
	ck_assert_int_eq(eim_epr_decode(out->p, out->len, NULL, res), 0);
}

/* `eim decode --euicc-cert euicc.pem --token 1` on the result bytes. */
static int eim_decode_result(const struct eim_buf *out, char **text)
{
	char path[700], cert[700];
	struct eim_test_proc p;
	int status;

	snprintf(path, sizeof(path), "%s/result.der", dir);
	snprintf(cert, sizeof(cert), "%s/euicc.pem", dir);
	write_all(path, out->p, out->len);
	p = eim("decode", "--euicc-cert", cert, "--token", "1", path, NULL);
	status = p.status;
	if (text)
		*text = strdup(p.out ? p.out : "");
	eim_test_proc_done(&p);
	return status;
}

START_TEST(submitted_packages_run_and_verify)
{
	struct eim_buf out;
	struct eim_epr res;
	uint8_t *pkg;
	size_t n;
	char *text = NULL;

	eim_buf_init(&out);
	device_add(EID);
	pkg = submitted(eim("submit", EID, "enable", "--iccid", P1, "--json",
			    NULL),
			&n);
	run(pkg, n, &out, &res);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	ck_assert_int_eq(res.counter, 1);
	ck_assert_uint_eq(res.n_results, 1);
	ck_assert_uint_eq(res.results[0].tag, EIM_RES_ENABLE);
	ck_assert_int_eq(res.results[0].code, 0);
	ck_assert_int_eq(eim_epr_verify(&res, 1, euicc_pub), 0);
	eim_epr_done(&res);
	/* eim's own verifier agrees. */
	ck_assert_int_eq(eim_decode_result(&out, &text), 0);
	ck_assert_msg(eim_test_contains(text, "enableResult"), "%s", text);
	free(text);
	/* The same bytes again: a replay. */
	run(pkg, n, &out, &res);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_SIGNED);
	ck_assert_int_eq(res.error_code, 4);
	ck_assert_int_eq(eim_epr_verify(&res, 1, euicc_pub), 0);
	eim_epr_done(&res);
	ck_assert_int_eq(eim_decode_result(&out, NULL), 0);
	eim_free(pkg);

	/* Two PSMOs in one package, the enable with rollback. */
	pkg = submitted(eim("submit", EID, "disable", "--iccid", P1, "+",
			    "enable", "--iccid", P2, "--rollback", "--json",
			    NULL),
			&n);
	run(pkg, n, &out, &res);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	ck_assert_uint_eq(res.n_results, 2);
	ck_assert_int_eq(res.results[0].code, 0);
	ck_assert_int_eq(res.results[1].code, 0);
	eim_epr_done(&res);
	eim_free(pkg);
	eim_buf_reset(&out);
	ck_assert_int_eq(eim_sim_euicc_rollback(e, &out), 0);
	ck_assert_int_eq(eim_decode_result(&out, &text), 0);
	ck_assert_msg(eim_test_contains(text, "rollbackResult"), "%s", text);
	free(text);

	/* An eCO package. */
	pkg = submitted(eim("submit", EID, "list-eim", "--json", NULL), &n);
	run(pkg, n, &out, &res);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	ck_assert_uint_eq(res.results[0].tag, EIM_RES_LIST_EIM);
	ck_assert_int_eq(eim_epr_verify(&res, 1, euicc_pub), 0);
	eim_epr_done(&res);
	ck_assert_int_eq(eim_decode_result(&out, &text), 0);
	ck_assert_msg(eim_test_contains(text, "eim-test"), "%s", text);
	free(text);
	eim_free(pkg);
	eim_buf_done(&out);
}
END_TEST

START_TEST(tampered_and_misaddressed)
{
	struct eim_buf out;
	struct eim_epr res;
	uint8_t *pkg;
	size_t n;

	eim_buf_init(&out);
	device_add(EID);
	device_add(EID2);
	pkg = submitted(eim("submit", EID, "get-rat", "--json", NULL), &n);
	pkg[n - 1] ^= 0x01;
	run(pkg, n, &out, &res);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_UNSIGNED);
	eim_epr_done(&res);
	ck_assert_int_eq(e->eims[0].counter, 0);
	pkg[n - 1] ^= 0x01;
	run(pkg, n, &out, &res);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	eim_epr_done(&res);
	eim_free(pkg);
	/* A package for another device, loaded onto this one. */
	pkg = submitted(eim("submit", EID2, "get-rat", "--json", NULL), &n);
	run(pkg, n, &out, &res);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_SIGNED);
	ck_assert_int_eq(res.error_code, 3);
	ck_assert_int_eq(eim_epr_verify(&res, 1, euicc_pub), 0);
	eim_epr_done(&res);
	eim_free(pkg);
	eim_buf_done(&out);
}
END_TEST

/* An eIM whose identity is a certificate: eimPublicKeyData [1]. */
START_TEST(eim_identity_with_certificate)
{
	char db2[700], air[700], key[700], cert[700], id[32];
	struct eim_sim_pki pki;
	struct eim_sim_cred ecred, ucred;
	struct eim_sim_euicc *f;
	struct eim_buf out;
	struct eim_epr res;
	struct eim_add_initial_resp r;
	struct eim_test_proc p;
	uint8_t eid[EIM_EID_LEN], *bytes;
	size_t n;
	cJSON *j;
	const char *hex;

	snprintf(db2, sizeof(db2), "%s/cert.db", dir);
	snprintf(air, sizeof(air), "%s/air-cert.der", dir);
	snprintf(key, sizeof(key), "%s/eim-cert.key.pem", dir);
	snprintf(cert, sizeof(cert), "%s/eim-cert.pem", dir);
	ck_assert_int_eq(eim_sim_pki_generate(&pki), 0);
	ck_assert_int_eq(eim_sim_pki_issue_eim(&pki, "eim-cert", &ecred), 0);
	ck_assert_int_eq(eim_sim_cred_write(&ecred, dir, "eim-cert"), 0);
	ck_assert_int_eq(eim_sim_pki_issue_euicc(&pki, EID, &ucred), 0);
	ck_assert_int_eq(eim_eid_parse(EID, eid), 0);
	ck_assert_int_eq(eim_sim_euicc_new(eid, ucred.key, ucred.key_len,
					   ucred.cert, ucred.cert_len,
					   pki.eum.cert, pki.eum.cert_len, &f),
			 0);
	must_run(eim_test_eim(db2, "init", "--eim-id", "eim-cert", "--key", key,
			      "--cert", cert, NULL));
	must_run(eim_test_eim(db2, "export-initial-eim", "--identity",
			      "eim-cert", "--out", air, NULL));
	bytes = read_all(air, &n);
	eim_buf_init(&out);
	ck_assert_int_eq(eim_sim_euicc_add_initial_eim(f, bytes, n, &out), 0);
	eim_free(bytes);
	ck_assert_int_eq(eim_add_initial_resp_decode(out.p, out.len, NULL, &r),
			 0);
	ck_assert(!r.is_error);
	ck_assert_int_eq(f->eims[0].key_kind, EIM_KEYDATA_CERT);
	ck_assert_uint_eq(f->eims[0].key_data_len, ecred.cert_len);
	ck_assert_mem_eq(f->eims[0].key_data, ecred.cert, ecred.cert_len);
	must_run(eim_test_eim(db2, "device", "add", EID, "--psk-identity", "c",
			      "--psk", "00112233445566778899aabbccddeeff",
			      NULL));
	p = eim_test_eim(db2, "submit", EID, "get-rat", "--json", NULL);
	ck_assert_int_eq(p.status, 0);
	j = cJSON_Parse(p.out);
	snprintf(id, sizeof(id), "%d",
		 cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "id")->valueint);
	cJSON_Delete(j);
	eim_test_proc_done(&p);
	p = eim_test_eim(db2, "show", id, "--json", NULL);
	j = cJSON_Parse(p.out);
	hex = cJSON_GetStringValue(cJSON_GetObjectItem(j, "bytes"));
	ck_assert_ptr_nonnull(hex);
	bytes = eim_malloc(strlen(hex) / 2 + 1);
	ck_assert_int_eq(eim_hex_decode(hex, strlen(hex), bytes,
					strlen(hex) / 2 + 1, &n),
			 0);
	cJSON_Delete(j);
	eim_test_proc_done(&p);
	eim_buf_reset(&out);
	ck_assert_int_eq(eim_sim_euicc_load_package(f, bytes, n, &out, NULL),
			 0);
	ck_assert_int_eq(eim_epr_decode(out.p, out.len, NULL, &res), 0);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	ck_assert_uint_eq(res.results[0].tag, EIM_RES_GET_RAT);
	eim_epr_done(&res);
	eim_free(bytes);
	eim_buf_done(&out);
	eim_sim_euicc_free(f);
	eim_sim_cred_done(&ecred);
	eim_sim_cred_done(&ucred);
	eim_sim_pki_done(&pki);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim_eim");
	TCase *tc = tcase_create("eim");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, submitted_packages_run_and_verify);
	tcase_add_test(tc, tampered_and_misaddressed);
	tcase_add_test(tc, eim_identity_with_certificate);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
