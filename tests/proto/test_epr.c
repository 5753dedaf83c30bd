/*
 * Unit tests for proto/eim_epr: the three EuiccPackageResult forms, every
 * EuiccResultData alternative with its names, euiccSignEPR/EPE checked over
 * the bytes as received (including BER that is not DER), and malformed twins.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_epr.h"
#include "proto/eim_pkg.h"

#include <check.h>
#include <string.h>

#define S(str) ((struct eim_slice){(const uint8_t *)(str), sizeof(str) - 1})

static struct eim_sig_key *euicc, *euicc_pub;

static void setup(void)
{
	struct eim_buf b;

	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &euicc), 0);
	eim_buf_init(&b);
	ck_assert_int_eq(eim_sig_key_spki(euicc, &b), 0);
	ck_assert_int_eq(eim_sig_key_load(b.p, b.len, &euicc_pub), 0);
	eim_buf_done(&b);
}

static void teardown(void)
{
	eim_sig_key_free(euicc);
	eim_sig_key_free(euicc_pub);
}

/* BF2D { A0 { E3 { 5A iccid } } }, A6 {}, AB { A0 { 30 { 80 'x' } } } */
static const uint8_t list_info[] = {0xbf, 0x2d, 0x10, 0xa0, 0x0e, 0xe3, 0x0c,
				    0x5a, 0x0a, 0x98, 0x10, 0x32, 0x54, 0x76,
				    0x98, 0x10, 0x32, 0x54, 0xf6};
static const uint8_t rat[] = {0xa6, 0x00};
static const uint8_t list_eim[] = {0xab, 0x07, 0xa0, 0x05, 0x30,
				   0x03, 0x80, 0x01, 0x78};

START_TEST(result_every_alternative_round_trip)
{
	struct eim_epr_result r[17];
	struct eim_epr e = {0}, d;
	struct eim_buf b;
	size_t n = 0;
	static const uint32_t int_tags[] =
		{EIM_RES_ENABLE,	 EIM_RES_DISABLE,
		 EIM_RES_DELETE,	 EIM_RES_CONFIGURE_IMMEDIATE_ENABLE,
		 EIM_RES_DELETE_EIM,	 EIM_RES_UPDATE_EIM,
		 EIM_RES_ROLLBACK,	 EIM_RES_SET_FALLBACK,
		 EIM_RES_UNSET_FALLBACK, EIM_RES_PROCESSING_TERMINATED,
		 EIM_RES_SET_DEFAULT_DP};

	memset(r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(int_tags) / sizeof(int_tags[0]); i++) {
		r[n].tag = int_tags[i];
		r[n].code = (int64_t)i % 3;
		n++;
	}
	r[n].tag = EIM_RES_LIST_PROFILE_INFO;
	r[n].data.p = list_info;
	r[n++].data.len = sizeof(list_info);
	r[n].tag = EIM_RES_LIST_PROFILE_INFO; /* error form */
	r[n++].code = 11;
	r[n].tag = EIM_RES_GET_RAT;
	r[n].data.p = rat;
	r[n++].data.len = sizeof(rat);
	r[n].tag = EIM_RES_ADD_EIM;
	r[n].has_token = true;
	r[n++].token = 42;
	r[n].tag = EIM_RES_ADD_EIM;
	r[n++].code = 2;
	r[n].tag = EIM_RES_LIST_EIM;
	r[n].data.p = list_eim;
	r[n++].data.len = sizeof(list_eim);

	e.kind = EIM_EPR_RESULT_SIGNED;
	e.eim_id = S("eim.example.org");
	e.counter = 8388607;
	e.txid = S("0123456789abcdef");
	e.seq = 300;
	e.results = r;
	e.n_results = n;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_epr_encode(&e, 9, euicc, &b), 0);
	ck_assert_int_eq(eim_epr_decode(b.p, b.len, NULL, &d), 0);
	ck_assert_int_eq(d.kind, EIM_EPR_RESULT_SIGNED);
	ck_assert(d.counter == 8388607);
	ck_assert(d.seq == 300);
	ck_assert_uint_eq(d.txid.len, 16);
	ck_assert_uint_eq(d.n_results, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(d.results[i].tag, r[i].tag);
		ck_assert_int_eq(d.results[i].has_token, r[i].has_token);
		if (r[i].data.p) {
			ck_assert_int_eq(d.results[i].code, -1);
			ck_assert_uint_eq(d.results[i].data.len, r[i].data.len);
			ck_assert_mem_eq(d.results[i].data.p, r[i].data.p,
					 r[i].data.len);
			ck_assert(eim_epr_result_ok(&d.results[i]));
		} else if (r[i].has_token) {
			ck_assert(d.results[i].token == 42);
			ck_assert(eim_epr_result_ok(&d.results[i]));
		} else {
			ck_assert(d.results[i].code == r[i].code);
		}
		ck_assert_str_ne(eim_epr_result_name(d.results[i].tag),
				 "unknown");
	}
	ck_assert_int_eq(eim_epr_verify(&d, 9, euicc_pub), 0);
	ck_assert_int_eq(eim_epr_verify(&d, 0, euicc_pub), EIM_EVERIFY);
	eim_epr_done(&d);
	/* One flipped byte inside the signed data. */
	b.p[12] ^= 0x01;
	if (eim_epr_decode(b.p, b.len, NULL, &d) == 0) {
		ck_assert_int_eq(eim_epr_verify(&d, 9, euicc_pub), EIM_EVERIFY);
		eim_epr_done(&d);
	}
	eim_buf_done(&b);
}
END_TEST

START_TEST(error_forms_round_trip)
{
	struct eim_epr e = {0}, d;
	struct eim_buf b;

	e.kind = EIM_EPR_ERROR_SIGNED;
	e.eim_id = S("e");
	e.counter = 5;
	e.error_code = 4;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_epr_encode(&e, 0, euicc, &b), 0);
	ck_assert_int_eq(eim_epr_decode(b.p, b.len, NULL, &d), 0);
	ck_assert_int_eq(d.kind, EIM_EPR_ERROR_SIGNED);
	ck_assert(d.error_code == 4);
	ck_assert_ptr_null(d.txid.p);
	ck_assert_str_eq(eim_epr_error_name(d.kind, d.error_code),
			 "replayError");
	ck_assert_int_eq(eim_epr_verify(&d, 0, euicc_pub), 0);
	eim_epr_done(&d);

	eim_buf_reset(&b);
	memset(&e, 0, sizeof(e));
	e.kind = EIM_EPR_ERROR_UNSIGNED;
	e.eim_id = S("e");
	e.txid = S("t");
	e.has_token = true;
	e.token = 3;
	e.error_code = 15;
	ck_assert_int_eq(eim_epr_encode(&e, 0, NULL, &b), 0);
	char hex[64];
	eim_hex_encode(b.p, b.len, hex);
	ck_assert_str_eq(hex, "bf510ea20c800165820174840103"
			      "8f010f");
	ck_assert_int_eq(eim_epr_decode(b.p, b.len, NULL, &d), 0);
	ck_assert_int_eq(d.kind, EIM_EPR_ERROR_UNSIGNED);
	ck_assert(d.has_token && d.token == 3);
	ck_assert(d.error_code == 15);
	ck_assert_str_eq(eim_epr_error_name(d.kind, 15), "sizeOverflow");
	ck_assert_int_eq(eim_epr_verify(&d, 0, euicc_pub), EIM_ESTATE);
	eim_epr_done(&d);
	/* v1.2 unsigned error without code (v1.3 field absent). */
	const uint8_t v12[] = {0xbf, 0x51, 0x05, 0xa2, 0x03, 0x80, 0x01, 0x65};
	ck_assert_int_eq(eim_epr_decode(v12, sizeof(v12), NULL, &d), 0);
	ck_assert(d.error_code == -1);
	eim_epr_done(&d);
	eim_buf_done(&b);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(eim_epr_code_name(EIM_RES_ENABLE, 20),
			 "rollbackNotAvailable");
	ck_assert_str_eq(eim_epr_code_name(EIM_RES_DELETE, 21),
			 "returnFallbackProfile");
	ck_assert_str_eq(eim_epr_code_name(EIM_RES_DELETE_EIM, 2),
			 "lastEimDeleted");
	ck_assert_str_eq(eim_epr_code_name(EIM_RES_PROCESSING_TERMINATED, 2),
			 "unknownOrDamagedCommand");
	ck_assert_str_eq(eim_epr_code_name(EIM_RES_UNSET_FALLBACK, 2),
			 "noFallbackAttribute");
	ck_assert_ptr_null(eim_epr_code_name(EIM_RES_ENABLE, 4));
	ck_assert_str_eq(eim_epr_result_name(0xbf65),
			 "setDefaultDpAddressResult");
	ck_assert_str_eq(eim_epr_result_name(0x99), "unknown");
	ck_assert_str_eq(eim_epr_error_name(EIM_EPR_ERROR_SIGNED, 104),
			 "ecallActive");
	struct eim_epr_result ok = {.tag = EIM_RES_DELETE_EIM, .code = 2};
	ck_assert(eim_epr_result_ok(&ok));
	ok.tag = EIM_RES_PROCESSING_TERMINATED;
	ck_assert(!eim_epr_result_ok(&ok));
}
END_TEST

/* A signature over non-DER bytes (81 81 05: long-form length) verifies,
 * because verification uses the bytes as received. */
START_TEST(verify_over_ber_as_received)
{
	uint8_t msg[128], rs[64];
	size_t n = 0, s0, s_len;
	struct eim_epr d;
	const uint8_t tok[] = {0x84, 0x01, 0x00};

	/* BF51 L A0 L 30 L { 80 01 65 81 81 05 83 01 01 30 00 } 5F37 40 sig */
	const uint8_t signed_data[] = {0x30, 0x0c, 0x80, 0x01, 0x65,
				       0x81, 0x81, 0x01, 0x05, 0x83,
				       0x01, 0x01, 0x30, 0x00, 0x9f};
	s_len = sizeof(signed_data) - 1; /* the last byte is not part of it */
	struct eim_slice parts[2] = {{signed_data, s_len}, {tok, 3}};
	ck_assert_int_eq(eim_sig_sign(euicc, parts, 2, rs), 0);
	msg[n++] = 0xbf;
	msg[n++] = 0x51;
	msg[n++] = (uint8_t)(2 + s_len + 3 + 64);
	msg[n++] = 0xa0;
	msg[n++] = (uint8_t)(s_len + 3 + 64);
	s0 = n;
	memcpy(msg + n, signed_data, s_len);
	n += s_len;
	msg[n++] = 0x5f;
	msg[n++] = 0x37;
	msg[n++] = 0x40;
	memcpy(msg + n, rs, 64);
	n += 64;
	ck_assert_int_eq(eim_epr_decode(msg, n, NULL, &d), 0);
	ck_assert(d.counter == 5);
	ck_assert_ptr_eq(d.signed_raw.p, msg + s0);
	ck_assert_int_eq(eim_epr_verify(&d, 0, euicc_pub), 0);
	eim_epr_done(&d);
}
END_TEST

static int dec_hex(const char *hex, struct eim_der_diag *dg)
{
	uint8_t buf[512];
	size_t n = 0;
	struct eim_epr d;
	int rc;

	ck_assert_int_eq(eim_hex_decode(hex, strlen(hex), buf, sizeof(buf), &n),
			 0);
	memset(dg, 0, sizeof(*dg));
	rc = eim_epr_decode(buf, n, dg, &d);
	if (rc == 0)
		eim_epr_done(&d);
	return rc;
}

START_TEST(malformed_twins)
{
	struct eim_der_diag dg;
	struct eim_epr e = {0}, d;
	struct eim_epr_result r = {.tag = EIM_RES_ENABLE, .code = 0};
	struct eim_buf b;

	e.kind = EIM_EPR_RESULT_SIGNED;
	e.eim_id = S("e");
	e.counter = 1;
	e.seq = 1;
	e.results = &r;
	e.n_results = 1;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_epr_encode(&e, 0, euicc, &b), 0);
	for (size_t i = 0; i < b.len; i++) {
		memset(&dg, 0, sizeof(dg));
		ck_assert_int_lt(eim_epr_decode(b.p, i, &dg, &d), 0);
		ck_assert_ptr_nonnull(dg.what);
	}
	/* trailing byte */
	eim_buf_append_byte(&b, 0);
	ck_assert_int_eq(eim_epr_decode(b.p, b.len, &dg, &d), EIM_EMALFORMED);
	eim_buf_done(&b);

	ck_assert_int_eq(dec_hex("bf5003a30100", &dg), EIM_ETAG);
	/* unknown form A3 */
	ck_assert_int_eq(dec_hex("bf5102a300", &dg), EIM_ETAG);
	/* unknown result alternative 9f01 */
	ck_assert_int_eq(dec_hex("bf5116a014"
				 "300f"
				 "800165810101830101"
				 "3004"
				 "9f210100"
				 "5f3700",
				 &dg),
			 EIM_ETAG);
	ck_assert_str_eq(dg.what, "unknown EuiccResultData");
	/* missing seqNumber */
	ck_assert_int_eq(dec_hex("bf510fa00d"
				 "300a"
				 "800165810101"
				 "3000"
				 "5f3700",
				 &dg),
			 EIM_ETAG);
	/* addEimResult with a wrong inner tag */
	ck_assert_int_eq(dec_hex("bf5117a015"
				 "3010"
				 "800165810101830101"
				 "3005"
				 "a803850101"
				 "5f3700",
				 &dg),
			 EIM_ETAG);
	/* counter too long for an INTEGER bound */
	ck_assert_int_eq(dec_hex("bf5114a012"
				 "300d"
				 "8001658105010000000083"
				 "0101"
				 "5f3700",
				 &dg),
			 EIM_ERANGE);
	/* unsigned error with eimId of 0 bytes */
	ck_assert_int_eq(dec_hex("bf5104a2028000", &dg), EIM_EMALFORMED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("epr");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, result_every_alternative_round_trip);
	tcase_add_test(tc, error_forms_round_trip);
	tcase_add_test(tc, names);
	tcase_add_test(tc, verify_over_ber_as_received);
	tcase_add_test(tc, malformed_twins);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
