/* Unit tests for common/eim_bytes: hex, base64, big-endian, ct compare, buf. */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"

#include <check.h>
#include <string.h>

START_TEST(hex_round_trip)
{
	const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char txt[2 * sizeof(in) + 1];
	uint8_t out[sizeof(in)];
	size_t n = 0;

	ck_assert_str_eq(eim_hex_encode(in, sizeof(in), txt), "00017f80abff");
	ck_assert_int_eq(eim_hex_decode(txt, strlen(txt), out, sizeof(out), &n),
			 0);
	ck_assert_uint_eq(n, sizeof(in));
	ck_assert_mem_eq(out, in, sizeof(in));
}
END_TEST

START_TEST(hex_separators_and_case)
{
	uint8_t out[4];
	size_t n = 0;
	const char *s = "BF 4f:03\n01";

	ck_assert_int_eq(eim_hex_decode(s, strlen(s), out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(out[0], 0xbf);
	ck_assert_uint_eq(out[1], 0x4f);
	ck_assert_uint_eq(out[3], 0x01);
}
END_TEST

START_TEST(hex_malformed_reports_offset)
{
	uint8_t out[8];
	size_t n = 0;

	ck_assert_int_eq(eim_hex_decode("01zz", 4, out, sizeof(out), &n),
			 EIM_EMALFORMED);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(eim_hex_decode("012", 3, out, sizeof(out), &n),
			 EIM_EMALFORMED);
	ck_assert_uint_eq(n, 2);
	/* A separator inside a byte pair is not allowed. */
	ck_assert_int_eq(eim_hex_decode("0 1", 3, out, sizeof(out), &n),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_hex_decode("0102", 4, out, 1, &n), EIM_ETOOBIG);
}
END_TEST

START_TEST(base64_vectors)
{
	/* RFC 4648 section 10 test vectors. */
	static const char *const plain[] = {"",	    "f",     "fo",    "foo",
					    "foob", "fooba", "foobar"};
	static const char *const enc[] = {"",	     "Zg==",	 "Zm8=",
					  "Zm9v",    "Zm9vYg==", "Zm9vYmE=",
					  "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		char b[16];
		uint8_t d[16];
		size_t n = 0;
		eim_base64_encode((const uint8_t *)plain[i], strlen(plain[i]),
				  b);
		ck_assert_str_eq(b, enc[i]);
		ck_assert_uint_eq(eim_base64_encoded_size(strlen(plain[i])),
				  strlen(enc[i]) + 1);
		ck_assert_int_eq(eim_base64_decode(enc[i], strlen(enc[i]), d,
						   sizeof(d), &n),
				 0);
		ck_assert_uint_eq(n, strlen(plain[i]));
		ck_assert_mem_eq(d, plain[i], n);
	}
}
END_TEST

START_TEST(base64_malformed)
{
	uint8_t d[16];
	size_t n = 0;

	ck_assert_int_eq(eim_base64_decode("Zm9v!", 5, d, sizeof(d), &n),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_base64_decode("Z", 1, d, sizeof(d), &n),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_base64_decode("Zg==Zg", 6, d, sizeof(d), &n),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_base64_decode("Zm9vYmFy", 8, d, 3, &n),
			 EIM_ETOOBIG);
}
END_TEST

START_TEST(big_endian)
{
	uint8_t b[6];

	eim_put_be16(b, 0xbf4f);
	ck_assert_uint_eq(eim_get_be16(b), 0xbf4f);
	eim_put_be24(b, 0x7fffff);
	ck_assert_uint_eq(eim_get_be24(b), 0x7fffff);
	eim_put_be32(b, 0xdeadbeef);
	ck_assert_uint_eq(b[0], 0xde);
	ck_assert_uint_eq(eim_get_be32(b), 0xdeadbeef);
	eim_put_be48(b, 0xffffffffffffULL);
	ck_assert_uint_eq(eim_get_be48(b), 0xffffffffffffULL);
	eim_put_be48(b, 0x010203040506ULL);
	ck_assert_uint_eq(b[0], 1);
	ck_assert_uint_eq(b[5], 6);
}
END_TEST

START_TEST(ct_equal)
{
	ck_assert(eim_ct_equal("abcd", "abcd", 4));
	ck_assert(!eim_ct_equal("abcd", "abce", 4));
	ck_assert(!eim_ct_equal("xbcd", "abcd", 4));
	ck_assert(eim_ct_equal("a", "b", 0));
}
END_TEST

START_TEST(buf_grows_and_steals)
{
	struct eim_buf b;
	uint8_t big[1000];
	size_t n = 0;

	memset(big, 0x5a, sizeof(big));
	eim_buf_init(&b);
	for (int i = 0; i < 10; i++)
		eim_buf_append(&b, big, sizeof(big));
	eim_buf_append_byte(&b, 0x01);
	ck_assert_int_eq(b.err, 0);
	ck_assert_uint_eq(b.len, 10001);
	uint8_t *p = eim_buf_steal(&b, &n);
	ck_assert_uint_eq(n, 10001);
	ck_assert_uint_eq(p[10000], 0x01);
	ck_assert_ptr_null(b.p);
	eim_free(p);
	eim_buf_done(&b);
}
END_TEST

START_TEST(buf_max_and_oom_are_sticky)
{
	struct eim_buf b;

	eim_buf_init(&b);
	b.max = 4;
	eim_buf_append(&b, "abc", 3);
	eim_buf_append(&b, "de", 2);
	ck_assert_int_eq(b.err, EIM_ETOOBIG);
	eim_buf_append(&b, "f", 1);
	ck_assert_uint_eq(b.len, 3);
	eim_buf_done(&b);

	eim_buf_init(&b);
	eim_alloc_fail_after(0);
	eim_buf_append(&b, "abc", 3);
	eim_alloc_fail_reset();
	ck_assert_int_eq(b.err, EIM_ENOMEM);
	ck_assert_uint_eq(b.len, 0);
	eim_buf_append(&b, "abc", 3); /* still failed: error is sticky */
	ck_assert_uint_eq(b.len, 0);
	eim_buf_reset(&b);
	eim_buf_append(&b, "abc", 3);
	ck_assert_uint_eq(b.len, 3);
	eim_buf_done(&b);
}
END_TEST

START_TEST(pem_encode_lines)
{
	uint8_t der[100];
	struct eim_buf b;

	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)i;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_pem_encode("PUBLIC KEY", der, sizeof(der), &b), 0);
	eim_buf_append_byte(&b, 0);
	const char *t = (const char *)b.p;
	ck_assert(strncmp(t, "-----BEGIN PUBLIC KEY-----\nAAECAwQF", 35) == 0);
	/* 100 bytes = 48 + 48 + 4: two 64-column lines and one of 8 */
	const char *l2 = strchr(strchr(t, '\n') + 1, '\n') + 1;
	ck_assert_ptr_eq(strchr(t, '\n') + 1 + 65, l2);
	ck_assert(strstr(t, "\n-----END PUBLIC KEY-----\n"));
	size_t n = 0;
	uint8_t back[100];
	const char *body = strchr(t, '\n') + 1;
	const char *end = strstr(t, "-----END");
	ck_assert_int_eq(eim_base64_decode(body, (size_t)(end - body), back,
					   sizeof(back), &n),
			 0);
	ck_assert_uint_eq(n, sizeof(der));
	ck_assert_mem_eq(back, der, n);
	eim_buf_done(&b);
}
END_TEST

static Suite *bytes_suite(void)
{
	Suite *s = suite_create("eim_bytes");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, hex_round_trip);
	tcase_add_test(tc, hex_separators_and_case);
	tcase_add_test(tc, hex_malformed_reports_offset);
	tcase_add_test(tc, base64_vectors);
	tcase_add_test(tc, base64_malformed);
	tcase_add_test(tc, big_endian);
	tcase_add_test(tc, ct_equal);
	tcase_add_test(tc, buf_grows_and_steals);
	tcase_add_test(tc, buf_max_and_oom_are_sticky);
	tcase_add_test(tc, pem_encode_lines);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(bytes_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
