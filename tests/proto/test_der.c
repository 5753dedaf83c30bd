/*
 * Unit tests for proto/eim_der: the bounded TLV reader (every malformed
 * form it must refuse, with the offset it reports) and the strict DER
 * writer (minimal lengths and INTEGERs).
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_der.h"

#include <check.h>
#include <string.h>

static int read_one(const uint8_t *p, size_t n, struct eim_der_tlv *t,
		    struct eim_der_diag *d)
{
	struct eim_der_cur c;

	memset(d, 0, sizeof(*d));
	eim_der_cur_init(&c, p, n, d);
	return eim_der_read(&c, t);
}

START_TEST(read_short_and_multibyte_tags)
{
	const uint8_t m[] = {0xbf, 0x4f, 0x03, 0x02, 0x01, 0x01};
	struct eim_der_tlv t, in;
	struct eim_der_diag d;
	struct eim_der_cur c, cc;
	int64_t v = 0;

	ck_assert_int_eq(read_one(m, sizeof(m), &t, &d), 0);
	ck_assert_uint_eq(t.tag, 0xbf4f);
	ck_assert(t.constructed);
	ck_assert_uint_eq(t.len, 3);
	ck_assert_uint_eq(t.raw_len, 6);
	ck_assert_ptr_eq(t.raw, m);
	eim_der_cur_init(&c, m, sizeof(m), NULL);
	ck_assert_int_eq(eim_der_read(&c, &t), 0);
	ck_assert_int_eq(eim_der_enter(&c, &t, &cc), 0);
	ck_assert_int_eq(eim_der_expect(&cc, 0x02, &in), 0);
	ck_assert_uint_eq(in.off, 3);
	ck_assert_int_eq(eim_der_get_int(&cc, &in, 0, 127, &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(eim_der_finish(&cc), 0);
	ck_assert(eim_der_at_end(&c));

	const uint8_t t3[] = {0x9f, 0x70, 0x01, 0x01};
	ck_assert_int_eq(read_one(t3, sizeof(t3), &t, &d), 0);
	ck_assert_uint_eq(t.tag, 0x9f70);
	ck_assert(!t.constructed);
	const uint8_t t4[] = {0x5f, 0x81, 0x01, 0x00};
	ck_assert_int_eq(read_one(t4, sizeof(t4), &t, &d), 0);
	ck_assert_uint_eq(t.tag, 0x5f8101);
}
END_TEST

START_TEST(read_long_lengths)
{
	uint8_t m[300];
	struct eim_der_tlv t;
	struct eim_der_diag d;

	memset(m, 0, sizeof(m));
	m[0] = 0x04;
	m[1] = 0x82;
	m[2] = 0x01;
	m[3] = 0x00;
	ck_assert_int_eq(read_one(m, 4 + 256, &t, &d), 0);
	ck_assert_uint_eq(t.len, 256);
	ck_assert_uint_eq(t.raw_len, 260);
	/* BER: a non-minimal length is accepted on input. */
	const uint8_t nm[] = {0x04, 0x81, 0x01, 0xaa};
	ck_assert_int_eq(read_one(nm, sizeof(nm), &t, &d), 0);
	ck_assert_uint_eq(t.len, 1);
	const uint8_t l4[] = {0x04, 0x84, 0x00, 0x00, 0x00, 0x01, 0xaa};
	ck_assert_int_eq(read_one(l4, sizeof(l4), &t, &d), 0);
	ck_assert_uint_eq(t.len, 1);
}
END_TEST

START_TEST(read_malformed)
{
	static const struct {
		uint8_t in[8];
		size_t n;
		int err;
		size_t off;
	} v[] = {
		{{0}, 0, EIM_ETRUNC, 0},		    /* empty */
		{{0x30}, 1, EIM_ETRUNC, 1},		    /* no length */
		{{0x30, 0x80, 0, 0}, 4, EIM_EMALFORMED, 1}, /* indefinite */
		{{0x04, 0x85, 0, 0, 0, 0, 1, 0}, 8, EIM_EMALFORMED, 1},
		{{0x04, 0x82, 0x01}, 3, EIM_ETRUNC, 1},	      /* short len */
		{{0x04, 0x03, 0x01, 0x02}, 4, EIM_ETRUNC, 1}, /* too long */
		{{0x04, 0x84, 0xff, 0xff, 0xff, 0xff}, 6, EIM_ETRUNC, 1},
		{{0xbf}, 1, EIM_ETRUNC, 1},			  /* tag cut */
		{{0xbf, 0x81}, 2, EIM_ETRUNC, 2},		  /* tag cut */
		{{0xbf, 0x80, 0x01, 0x00}, 4, EIM_EMALFORMED, 1}, /* 80 pad */
		{{0x9f, 0x05, 0x00}, 3, EIM_EMALFORMED, 1}, /* low number */
		{{0xbf, 0x81, 0x81, 0x81, 0x01, 0x00}, 6, EIM_EMALFORMED, 4},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct eim_der_tlv t;
		struct eim_der_diag d;

		ck_assert_msg(read_one(v[i].in, v[i].n, &t, &d) == v[i].err,
			      "case %zu", i);
		ck_assert_msg(d.what != NULL, "case %zu has no reason", i);
		ck_assert_msg(d.off == v[i].off, "case %zu: offset %zu", i,
			      d.off);
	}
}
END_TEST

START_TEST(expect_optional_finish)
{
	const uint8_t m[] = {0x80, 0x01, 0x05, 0x81, 0x00, 0xff};
	struct eim_der_cur c;
	struct eim_der_tlv t;
	struct eim_der_diag d = {0};

	eim_der_cur_init(&c, m, sizeof(m), &d);
	ck_assert_int_eq(eim_der_optional(&c, 0x82, &t), 0);
	ck_assert_int_eq(eim_der_optional(&c, 0x80, &t), 1);
	ck_assert_int_eq(eim_der_expect(&c, 0x82, &t), EIM_ETAG);
	ck_assert_uint_eq(d.off, 3);
	ck_assert_int_eq(eim_der_expect(&c, 0x81, &t), 0);
	ck_assert_int_eq(eim_der_get_null(&c, &t), 0);
	/* 0xff alone: a tag with no length. */
	ck_assert_int_eq(eim_der_optional(&c, 0x83, &t), EIM_ETRUNC);
	ck_assert_int_eq(eim_der_finish(&c), EIM_EMALFORMED);

	/* Entering a primitive element is refused. */
	eim_der_cur_init(&c, m, sizeof(m), NULL);
	ck_assert_int_eq(eim_der_read(&c, &t), 0);
	struct eim_der_cur in;
	ck_assert_int_eq(eim_der_enter(&c, &t, &in), EIM_EMALFORMED);

	/* parse_one refuses trailing bytes. */
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(eim_der_parse_one(m, sizeof(m), &d, &t),
			 EIM_EMALFORMED);
	ck_assert_uint_eq(d.off, 3);
	ck_assert_str_eq(d.what, "trailing bytes");
}
END_TEST

START_TEST(integers_bounded)
{
	struct eim_der_tlv t;
	struct eim_der_diag d;
	int64_t v;
	const uint8_t neg[] = {0x02, 0x01, 0xff};
	const uint8_t big[] = {0x02, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0};
	const uint8_t emp[] = {0x02, 0x00};
	const uint8_t x80[] = {0x02, 0x02, 0x00, 0x80};
	const uint8_t max8[] = {0x02, 0x08, 0x7f, 0xff, 0xff,
				0xff, 0xff, 0xff, 0xff, 0xff};

	ck_assert_int_eq(read_one(neg, sizeof(neg), &t, &d), 0);
	ck_assert_int_eq(eim_der_get_int(NULL, &t, INT64_MIN, INT64_MAX, &v),
			 0);
	ck_assert_int_eq(v, -1);
	ck_assert_int_eq(eim_der_get_int(NULL, &t, 0, 10, &v), EIM_ERANGE);
	ck_assert_int_eq(read_one(big, sizeof(big), &t, &d), 0);
	ck_assert_int_eq(eim_der_get_int(NULL, &t, INT64_MIN, INT64_MAX, &v),
			 EIM_ERANGE);
	ck_assert_int_eq(read_one(emp, sizeof(emp), &t, &d), 0);
	ck_assert_int_eq(eim_der_get_int(NULL, &t, INT64_MIN, INT64_MAX, &v),
			 EIM_EMALFORMED);
	ck_assert_int_eq(read_one(x80, sizeof(x80), &t, &d), 0);
	ck_assert_int_eq(eim_der_get_int(NULL, &t, 0, 1000, &v), 0);
	ck_assert_int_eq(v, 128);
	ck_assert_int_eq(read_one(max8, sizeof(max8), &t, &d), 0);
	ck_assert_int_eq(eim_der_get_int(NULL, &t, INT64_MIN, INT64_MAX, &v),
			 0);
	ck_assert(v == INT64_MAX);
}
END_TEST

static void expect_int_enc(int64_t v, const char *hex)
{
	struct eim_buf b;
	char out[64];

	eim_buf_init(&b);
	eim_der_put_int(&b, 0x02, v);
	ck_assert_int_eq(b.err, 0);
	eim_hex_encode(b.p, b.len, out);
	ck_assert_str_eq(out, hex);
	/* And it reads back. */
	struct eim_der_tlv t;
	int64_t r;
	ck_assert_int_eq(eim_der_parse_one(b.p, b.len, NULL, &t), 0);
	ck_assert_int_eq(eim_der_get_int(NULL, &t, INT64_MIN, INT64_MAX, &r),
			 0);
	ck_assert(r == v);
	eim_buf_done(&b);
}

START_TEST(write_minimal_integers)
{
	expect_int_enc(0, "020100");
	expect_int_enc(1, "020101");
	expect_int_enc(127, "02017f");
	expect_int_enc(128, "02020080");
	expect_int_enc(255, "020200ff");
	expect_int_enc(256, "02020100");
	expect_int_enc(32767, "02027fff");
	expect_int_enc(32768, "0203008000");
	expect_int_enc(8388607, "02037fffff");
	expect_int_enc(8388608, "020400800000");
	expect_int_enc(-1, "0201ff");
	expect_int_enc(-128, "020180");
	expect_int_enc(-129, "0202ff7f");
	expect_int_enc(INT64_MAX, "02087fffffffffffffff");
	expect_int_enc(INT64_MIN, "02088000000000000000");
}
END_TEST

START_TEST(write_nested_lengths)
{
	static const size_t sizes[] = {0, 1, 127, 128, 255, 256, 65535, 65536};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct eim_buf b;
		uint8_t *body = eim_calloc(1, sizes[i] + 1);
		size_t outer, inner;
		struct eim_der_tlv t, u;
		struct eim_der_cur c, cc;

		ck_assert_ptr_nonnull(body);
		memset(body, 0x5a, sizes[i]);
		eim_buf_init(&b);
		outer = eim_der_open(&b, 0xbf51);
		inner = eim_der_open(&b, 0x30);
		eim_der_put(&b, 0x04, body, sizes[i]);
		eim_der_close(&b, inner);
		eim_der_put_empty(&b, 0x05);
		eim_der_close(&b, outer);
		ck_assert_int_eq(b.err, 0);
		/* Length octets must be minimal: 2 + len_size of the value. */
		ck_assert_int_eq(eim_der_parse_one(b.p, b.len, NULL, &t), 0);
		ck_assert_uint_eq(t.raw_len - t.len,
				  2 + eim_der_len_size(t.len));
		eim_der_cur_init(&c, b.p, b.len, NULL);
		ck_assert_int_eq(eim_der_read(&c, &t), 0);
		ck_assert_int_eq(eim_der_enter(&c, &t, &cc), 0);
		ck_assert_int_eq(eim_der_expect(&cc, 0x30, &u), 0);
		ck_assert_uint_eq(u.len,
				  sizes[i] + 1 + eim_der_len_size(sizes[i]));
		ck_assert_int_eq(eim_der_expect(&cc, 0x05, &u), 0);
		ck_assert_int_eq(eim_der_finish(&cc), 0);
		eim_buf_done(&b);
		eim_free(body);
	}
	ck_assert_uint_eq(eim_der_len_size(0xffffff), 4);
	ck_assert_uint_eq(eim_der_len_size(0x1000000), 5);
}
END_TEST

START_TEST(write_retag_and_bool)
{
	const uint8_t spki[] = {0x30, 0x03, 0x02, 0x01, 0x05};
	const uint8_t two[] = {0x30, 0x00, 0x30, 0x00};
	struct eim_buf b;
	char hex[64];

	eim_buf_init(&b);
	ck_assert_int_eq(eim_der_put_retagged(&b, 0xa1, spki, sizeof(spki)), 0);
	ck_assert_int_eq(eim_der_put_retagged(&b, 0xa1, two, sizeof(two)),
			 EIM_EMALFORMED);
	eim_der_put_bool(&b, 0x9f26, true);
	eim_der_put_bool(&b, 0x01, false);
	ck_assert_int_eq(b.err, 0);
	eim_hex_encode(b.p, b.len, hex);
	ck_assert_str_eq(hex, "a1030201059f2601ff010100");
	eim_buf_done(&b);
}
END_TEST

START_TEST(write_allocation_failure_is_sticky)
{
	struct eim_buf b;
	size_t m;

	eim_buf_init(&b);
	eim_alloc_fail_after(0);
	m = eim_der_open(&b, 0x30);
	eim_der_put_int(&b, 0x02, 5);
	eim_der_close(&b, m);
	eim_alloc_fail_reset();
	ck_assert_int_eq(b.err, EIM_ENOMEM);
	eim_buf_done(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("der");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, read_short_and_multibyte_tags);
	tcase_add_test(tc, read_long_lengths);
	tcase_add_test(tc, read_malformed);
	tcase_add_test(tc, expect_optional_finish);
	tcase_add_test(tc, integers_bounded);
	tcase_add_test(tc, write_minimal_integers);
	tcase_add_test(tc, write_nested_lengths);
	tcase_add_test(tc, write_retag_and_bool);
	tcase_add_test(tc, write_allocation_failure_is_sticky);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
