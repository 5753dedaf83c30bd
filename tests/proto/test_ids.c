/* Unit tests for proto/eim_ids: EID and ICCID text <-> wire forms. */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_ids.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

/* Public sample EIDs whose value mod 97 is 1 (checked independently). */
static const char *const good_eids[] = {
	"89049032123451234512345678901235",
	"89044045116727494800000004479366",
};

START_TEST(eid_round_trip)
{
	uint8_t b[EIM_EID_LEN];
	char t[EIM_EID_DIGITS + 1];

	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(eim_eid_parse(good_eids[i], b), 0);
		ck_assert_int_eq(eim_eid_check(b), 0);
		ck_assert_int_eq(eim_eid_format(b, t), 0);
		ck_assert_str_eq(t, good_eids[i]);
	}
	/* Digit order: first digit in the high nibble, no swapping. */
	ck_assert_int_eq(eim_eid_parse(good_eids[0], b), 0);
	ck_assert_uint_eq(b[0], 0x89);
	ck_assert_uint_eq(b[1], 0x04);
	ck_assert_uint_eq(b[15], 0x35);
}
END_TEST

START_TEST(eid_errors)
{
	uint8_t b[EIM_EID_LEN];

	memset(b, 0xAA, sizeof(b));
	/* one digit changed: check digits no longer match */
	ck_assert_int_eq(eim_eid_parse("89049032123451234512345678901236", b),
			 EIM_EVERIFY);
	ck_assert_uint_eq(b[0], 0xAA); /* nothing written on error */
	ck_assert_int_eq(eim_eid_parse("8904903212345123451234567890123", b),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_eid_parse("890490321234512345123456789012355", b),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_eid_parse("8904903212345123451234567890123a", b),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_eid_parse("", b), EIM_EMALFORMED);
	ck_assert_int_eq(eim_eid_parse(NULL, b), EIM_EMALFORMED);

	char t[EIM_EID_DIGITS + 1];
	memset(b, 0x11, sizeof(b));
	b[3] = 0x1A;
	ck_assert_int_eq(eim_eid_format(b, t), EIM_EMALFORMED);
	ck_assert_int_eq(t[7], '?');
	ck_assert_int_eq(eim_eid_check(b), EIM_EMALFORMED);
}
END_TEST

START_TEST(eid_complete_makes_valid_eids)
{
	char t[EIM_EID_DIGITS + 1];
	uint8_t b[EIM_EID_LEN];

	ck_assert_int_eq(eim_eid_complete("890490321234512345123456789012", t),
			 0);
	ck_assert_str_eq(t, good_eids[0]);
	for (int i = 0; i < 1000; i++) {
		char prefix[31];
		snprintf(prefix, sizeof(prefix), "89049032000000000000%010d",
			 i * 7919);
		ck_assert_int_eq(eim_eid_complete(prefix, t), 0);
		ck_assert_int_eq(eim_eid_parse(t, b), 0);
	}
	ck_assert_int_eq(eim_eid_complete("12345", t), EIM_EMALFORMED);
	ck_assert_int_eq(eim_eid_complete("8904903212345123451234567890xx", t),
			 EIM_EMALFORMED);
}
END_TEST

START_TEST(iccid_round_trip)
{
	static const struct {
		const char *text;
		const char *shown;
		uint8_t wire[EIM_ICCID_LEN];
	} v[] = {
		{"89440012345678901234",
		 "89440012345678901234",
		 {0x98, 0x44, 0x00, 0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0x43}},
		{"8944001234567890123",
		 "8944001234567890123",
		 {0x98, 0x44, 0x00, 0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0xF3}},
		{"8944001234567890123F",
		 "8944001234567890123",
		 {0x98, 0x44, 0x00, 0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0xF3}},
		{"894400123456789012",
		 "894400123456789012",
		 {0x98, 0x44, 0x00, 0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0xFF}},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t w[EIM_ICCID_LEN];
		char t[EIM_ICCID_MAX_DIGITS + 1];
		ck_assert_int_eq(eim_iccid_parse(v[i].text, w), 0);
		ck_assert_mem_eq(w, v[i].wire, EIM_ICCID_LEN);
		ck_assert_int_eq(eim_iccid_format(w, t), 0);
		ck_assert_str_eq(t, v[i].shown);
	}
}
END_TEST

START_TEST(iccid_errors)
{
	uint8_t w[EIM_ICCID_LEN];
	char t[EIM_ICCID_MAX_DIGITS + 1];

	ck_assert_int_eq(eim_iccid_parse("89440012345678901", w),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_iccid_parse("894400123456789012345", w),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_iccid_parse("8944001234567890123x", w),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_iccid_parse("89440012345678F90123", w),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_iccid_parse("", w), EIM_EMALFORMED);
	const uint8_t bad[EIM_ICCID_LEN] = {0x98, 0x4A, 0, 0, 0, 0, 0, 0, 0, 0};
	ck_assert_int_eq(eim_iccid_format(bad, t), EIM_EMALFORMED);
	ck_assert_int_eq(t[2], '?'); /* low nibble of byte 1 comes first */
}
END_TEST

START_TEST(oid_round_trip)
{
	static const struct {
		const char *text;
		const char *hex;
	} v[] = {
		{"1.2.840.10045.2.1", "2a8648ce3d0201"}, /* id-ecPublicKey */
		{"1.2.840.10045.3.1.7", "2a8648ce3d030107"}, /* prime256v1 */
		{"2.23.146.1.2.1.0", "67811201020100"},	     /* GSMA CI role */
		{"2.999.3", "883703"},
		{"0.0", "00"},
		{"1.3.6.1.4.1.4294967295", "2b060104018fffffff7f"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t der[32];
		size_t n = 0;
		char hex[65], back[64];
		ck_assert_int_eq(eim_oid_encode(v[i].text, der, sizeof(der),
						&n),
				 0);
		ck_assert_str_eq(eim_hex_encode(der, n, hex), v[i].hex);
		ck_assert_int_eq(eim_oid_format(der, n, back, sizeof(back)), 0);
		ck_assert_str_eq(back, v[i].text);
	}
}
END_TEST

START_TEST(oid_errors)
{
	uint8_t der[8];
	size_t n = 0;
	char t[16];
	static const char *const bad[] = {"",	  "1",
					  "3.1",  "1.40",
					  "1..2", "1.2.",
					  ".1.2", "1.2a",
					  "1.02", "1.2.4294967296",
					  NULL};
	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(eim_oid_encode(bad[i], der, sizeof(der), &n) ==
				      EIM_EMALFORMED,
			      "%s accepted", bad[i]);
	ck_assert_int_eq(eim_oid_encode("1.2.3.4.5.6.7.8.9.10", der, 4, &n),
			 EIM_ETOOBIG);
	const uint8_t trunc[] = {0x2a, 0x86};
	ck_assert_int_eq(eim_oid_format(trunc, 2, t, sizeof(t)),
			 EIM_EMALFORMED);
	const uint8_t padded[] = {0x2a, 0x80, 0x01};
	ck_assert_int_eq(eim_oid_format(padded, 3, t, sizeof(t)),
			 EIM_EMALFORMED);
	const uint8_t ok[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
	ck_assert_int_eq(eim_oid_format(ok, sizeof(ok), t, 8), EIM_ETOOBIG);
}
END_TEST

static Suite *ids_suite(void)
{
	Suite *s = suite_create("eim_ids");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, eid_round_trip);
	tcase_add_test(tc, eid_errors);
	tcase_add_test(tc, eid_complete_makes_valid_eids);
	tcase_add_test(tc, iccid_round_trip);
	tcase_add_test(tc, iccid_errors);
	tcase_add_test(tc, oid_round_trip);
	tcase_add_test(tc, oid_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ids_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
