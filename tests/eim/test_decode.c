/*
 * Integration tests of `eim decode`: the real binary decodes messages built
 * with proto/ (binary, hex and base64 input; text and JSON output), checks
 * eimSignature and euiccSignEPR with the keys given, and reports malformed
 * input as exit 1 with one line naming the byte offset.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim_test.h"
#include "proto/eim_epr.h"
#include "proto/eim_esipa.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"
#include "proto/eim_sig.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const char *dir;
static char eim_pub[512], euicc_pub[512], other_pub[512];
static struct eim_sig_key *eim_key, *euicc_key, *other_key;

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void write_pem(const char *path, struct eim_sig_key *k)
{
	struct eim_buf b;
	char *pem;
	size_t n;

	eim_buf_init(&b);
	ck_assert_int_eq(eim_sig_key_spki(k, &b), 0);
	pem = eim_malloc(eim_base64_encoded_size(b.len) + 64);
	ck_assert_ptr_nonnull(pem);
	n = (size_t)sprintf(pem, "-----BEGIN PUBLIC KEY-----\n");
	eim_base64_encode(b.p, b.len, pem + n);
	strcat(pem, "\n-----END PUBLIC KEY-----\n");
	write_file(path, pem, strlen(pem));
	eim_free(pem);
	eim_buf_done(&b);
}

static void setup(void)
{
	dir = eim_test_tmpdir();
	ck_assert_ptr_nonnull(dir);
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &eim_key), 0);
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &euicc_key), 0);
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_BRAINPOOLP256R1,
					      &other_key),
			 0);
	snprintf(eim_pub, sizeof(eim_pub), "%s/eim.pub.pem", dir);
	snprintf(euicc_pub, sizeof(euicc_pub), "%s/euicc.pub.pem", dir);
	snprintf(other_pub, sizeof(other_pub), "%s/other.pub.pem", dir);
	write_pem(eim_pub, eim_key);
	write_pem(euicc_pub, euicc_key);
	write_pem(other_pub, other_key);
}

static void teardown(void)
{
	eim_sig_key_free(eim_key);
	eim_sig_key_free(euicc_key);
	eim_sig_key_free(other_key);
	eim_test_rmdir(dir);
}

/* BF4F { BF51 signed package: enable ICCID 8944..., rollback } */
static void get_response(struct eim_buf *out, int64_t token)
{
	struct eim_psmo op = {.kind = EIM_PSMO_ENABLE, .rollback = true};
	struct eim_pkg p = {0};
	struct eim_buf pkg;

	ck_assert_int_eq(eim_iccid_parse("8944123456789012345", op.iccid), 0);
	p.eim_id.p = (const uint8_t *)"eim.example.org";
	p.eim_id.len = 15;
	memset(p.eid, 0x89, 16);
	p.counter = 42;
	p.psmo = &op;
	p.n_ops = 1;
	eim_buf_init(&pkg);
	ck_assert_int_eq(eim_pkg_build(&p, token, eim_key, &pkg), 0);
	eim_buf_init(out);
	ck_assert_int_eq(eim_esipa_get_pkg_response_package(pkg.p, pkg.len,
							    out),
			 0);
	eim_buf_done(&pkg);
}

/* BF50 { 5A EID, BF51 signed result: enableResult rollbackNotAvailable } */
static void provide_result(struct eim_buf *out)
{
	struct eim_epr_result r = {.tag = EIM_RES_ENABLE, .code = 20};
	struct eim_epr e = {0};
	struct eim_esipa_from_ipa m;
	struct eim_buf epr;

	e.kind = EIM_EPR_RESULT_SIGNED;
	e.eim_id.p = (const uint8_t *)"eim.example.org";
	e.eim_id.len = 15;
	e.counter = 42;
	e.seq = 7;
	e.results = &r;
	e.n_results = 1;
	eim_buf_init(&epr);
	ck_assert_int_eq(eim_epr_encode(&e, 0, euicc_key, &epr), 0);
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
	m.result.has_eid = true;
	memset(m.result.eid, 0x89, 16);
	m.result.kind = EIM_RESULT_EPR;
	m.result.body.p = epr.p;
	m.result.body.len = epr.len;
	eim_buf_init(out);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, out), 0);
	eim_buf_done(&epr);
}

static struct eim_test_proc run(const void *in, size_t in_len, const char *a1,
				const char *a2, const char *a3, const char *a4,
				const char *a5)
{
	char *argv[8] = {(char *)eim_test_bin(),
			 (char *)"decode",
			 (char *)a1,
			 (char *)a2,
			 (char *)a3,
			 (char *)a4,
			 (char *)a5,
			 NULL};
	struct eim_test_proc p;

	ck_assert_int_eq(eim_test_run(argv, NULL, in, in_len, &p), 0);
	return p;
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(package_tree_and_signature)
{
	struct eim_buf m;
	char path[600];
	struct eim_test_proc p;

	get_response(&m, 3);
	snprintf(path, sizeof(path), "%s/get.bin", dir);
	write_file(path, m.p, m.len);
	p = run(NULL, 0, "--eim-key", other_pub, "--eim-key", eim_pub,
		"--token");
	eim_test_proc_done(&p); /* --token without a value: usage error */
	char *argv[] = {(char *)eim_test_bin(),
			(char *)"decode",
			(char *)"--eim-key",
			other_pub,
			(char *)"--eim-key",
			eim_pub,
			(char *)"--token",
			(char *)"3",
			path,
			NULL};
	ck_assert_int_eq(eim_test_run(argv, NULL, NULL, 0, &p), 0);
	ck_assert_msg(p.status == 0, "stderr: %s", p.err);
	ck_assert(eim_test_contains(p.out, "getEimPackageResponse (BF4F)"));
	ck_assert(eim_test_contains(p.out, "    euiccPackageSigned (30)"));
	ck_assert(eim_test_contains(p.out, "eimId (80): \"eim.example.org\""));
	ck_assert(eim_test_contains(p.out, "counterValue (81): 42"));
	ck_assert(eim_test_contains(
		p.out, "eidValue (5A): 89898989898989898989898989898989"));
	ck_assert(eim_test_contains(p.out, "enable (A3)"));
	ck_assert(eim_test_contains(p.out, "iccid (5A): 8944123456789012345"));
	ck_assert(eim_test_contains(p.out, "rollbackFlag (05): present"));
	ck_assert(eim_test_contains(p.out, "eimSignature (counterValue 42): "
					   "verified with"));
	ck_assert(eim_test_contains(p.out, "eim.pub.pem"));
	eim_test_proc_done(&p);

	/* Wrong token: the signature input differs -> exit 1. */
	argv[7] = (char *)"4";
	ck_assert_int_eq(eim_test_run(argv, NULL, NULL, 0, &p), 0);
	ck_assert_int_eq(p.status, 1);
	ck_assert(eim_test_contains(p.out, "DOES NOT VERIFY"));
	eim_test_proc_done(&p);
	/* A flipped byte in the signed part, as hex on stdin. */
	m.p[20] ^= 0x01;
	char *hex = eim_malloc(2 * m.len + 2);
	eim_hex_encode(m.p, m.len, hex);
	strcat(hex, "\n");
	p = run(hex, strlen(hex), "--eim-key", eim_pub, "--token", "3", NULL);
	ck_assert_int_eq(p.status, 1);
	ck_assert(eim_test_contains(p.out, "DOES NOT VERIFY"));
	eim_test_proc_done(&p);
	eim_free(hex);
	eim_buf_done(&m);
}
END_TEST

START_TEST(result_json_with_euicc_key)
{
	struct eim_buf m;
	struct eim_test_proc p;
	char *b64;

	provide_result(&m);
	b64 = eim_malloc(eim_base64_encoded_size(m.len));
	eim_base64_encode(m.p, m.len, b64);
	p = run(b64, strlen(b64), "--json", "--euicc-cert", euicc_pub, NULL,
		NULL);
	ck_assert_msg(p.status == 0, "stderr: %s", p.err);
	cJSON *j = cJSON_Parse(p.out);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "input")->valuestring,
			 "base64");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "direction")->valuestring,
			 "ipaToEim");
	cJSON *res = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "message"),
					 "provideEimPackageResult");
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(cJSON_GetObjectItem(res, "eidValue")->valuestring,
			 "89898989898989898989898989898989");
	cJSON *data = cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(res,
							"euiccPackageResult"),
				    "euiccPackageResultSigned"),
		"euiccPackageResultDataSigned");
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(cJSON_GetObjectItem(data, "seqNumber")->valueint, 7);
	cJSON *list = cJSON_GetObjectItem(data, "euiccResult");
	ck_assert(cJSON_IsArray(list));
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0),
					     "enableResult")
				 ->valuestring,
			 "rollbackNotAvailable");
	cJSON *sig =
		cJSON_GetArrayItem(cJSON_GetObjectItem(j, "signatures"), 0);
	ck_assert_ptr_nonnull(sig);
	ck_assert_str_eq(cJSON_GetObjectItem(sig, "signature")->valuestring,
			 "euiccSignEPR");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(sig, "verified")));
	cJSON_Delete(j);
	eim_test_proc_done(&p);

	/* The eIM's key is not the eUICC's. */
	p = run(m.p, m.len, "--euicc-cert", eim_pub, NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 1);
	ck_assert(eim_test_contains(p.out, "euiccSignEPR (counterValue 42): "
					   "DOES NOT VERIFY"));
	ck_assert(eim_test_contains(p.out, "enableResult (83): 20 "
					   "(rollbackNotAvailable)"));
	eim_test_proc_done(&p);
	eim_free(b64);
	eim_buf_done(&m);
}
END_TEST

/* A stored result recovered through IpaEuiccData (A2) is checked too. */
START_TEST(stored_result_in_ipa_data)
{
	struct eim_epr_result r = {.tag = EIM_RES_DELETE, .code = 0};
	struct eim_epr e = {0};
	struct eim_ipadata d = {0};
	struct eim_esipa_from_ipa m;
	struct eim_buf epr, list, data, msg;
	struct eim_test_proc p;
	size_t l;

	e.kind = EIM_EPR_RESULT_SIGNED;
	e.eim_id.p = (const uint8_t *)"e";
	e.eim_id.len = 1;
	e.counter = 9;
	e.seq = 3;
	e.results = &r;
	e.n_results = 1;
	eim_buf_init(&epr);
	ck_assert_int_eq(eim_epr_encode(&e, 0, euicc_key, &epr), 0);
	eim_buf_init(&list);
	l = eim_der_open(&list, 0xa2);
	eim_buf_append(&list, epr.p, epr.len);
	eim_der_close(&list, l);
	d.epr_list.p = list.p;
	d.epr_list.len = list.len;
	eim_buf_init(&data);
	ck_assert_int_eq(eim_ipadata_encode(&d, &data), 0);
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
	m.result.kind = EIM_RESULT_IPA_DATA;
	m.result.body.p = data.p;
	m.result.body.len = data.len;
	eim_buf_init(&msg);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, &msg), 0);
	p = run(msg.p, msg.len, "--euicc-cert", euicc_pub, NULL, NULL, NULL);
	ck_assert_msg(p.status == 0, "stderr: %s", p.err);
	ck_assert(eim_test_contains(p.out, "euiccPackageResultList (A2)"));
	ck_assert(eim_test_contains(p.out, "deleteResult (85): 0 (ok)"));
	ck_assert(eim_test_contains(p.out, "euiccSignEPR (counterValue 9): "
					   "verified with"));
	eim_test_proc_done(&p);
	eim_buf_done(&msg);
	eim_buf_done(&data);
	eim_buf_done(&list);
	eim_buf_done(&epr);
}
END_TEST

START_TEST(malformed_input_one_line_with_offset)
{
	static const struct {
		const char *in;
		const char *msg;
	} v[] = {
		{"bf4f03020201",
		 "malformed input at byte 4: length runs past the end"},
		{"bf4f0302010100", "malformed input at byte 6: trailing bytes"},
		{"bf4f03040101", "malformed input at byte 3: unknown "
				 "GetEimPackageResponse alternative"},
		{"bf5006bf5303810105",
		 "malformed input at byte 6: unexpected tag"},
		{"bf4c00", "malformed input at byte 0: unknown ESipa message"},
		{"bf4f80", "malformed input at byte 2: indefinite length"},
		{"bf4f035a0101",
		 "malformed input at byte 3: EID must be 16 bytes"},
		{"zz!!", "not binary, hex or base64"},
		{"", "empty input"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct eim_test_proc p = run(v[i].in, strlen(v[i].in), NULL,
					     NULL, NULL, NULL, NULL);
		ck_assert_msg(p.status == 1, "case %zu: status %d", i,
			      p.status);
		ck_assert_msg(eim_test_contains(p.err, v[i].msg),
			      "case %zu: stderr '%s'", i, p.err);
		ck_assert_int_eq(lines(p.err), 1);
		ck_assert(strncmp(p.err, "eim decode: -: ", 15) == 0);
		ck_assert_uint_eq(p.out_len, 0);
		eim_test_proc_done(&p);
	}
}
END_TEST

START_TEST(usage_and_file_errors)
{
	struct eim_test_proc p;

	p = run(NULL, 0, "--bogus", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 2);
	eim_test_proc_done(&p);
	p = run(NULL, 0, "a", "b", NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 2);
	eim_test_proc_done(&p);
	p = run(NULL, 0, "/nonexistent/x.bin", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 1);
	ck_assert(eim_test_contains(p.err, "No such file"));
	eim_test_proc_done(&p);
	p = run(NULL, 0, "--eim-key", "/nonexistent.pem", NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 1);
	eim_test_proc_done(&p);
	p = run(NULL, 0, "--help", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert(eim_test_contains(p.out, "usage: eim decode"));
	eim_test_proc_done(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, package_tree_and_signature);
	tcase_add_test(tc, result_json_with_euicc_key);
	tcase_add_test(tc, stored_result_in_ipa_data);
	tcase_add_test(tc, malformed_input_one_line_with_offset);
	tcase_add_test(tc, usage_and_file_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
