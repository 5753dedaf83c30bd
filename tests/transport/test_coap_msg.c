/*
 * Unit tests for transport/eim_coap_msg: valid vectors written out by hand
 * from RFC 7252 section 3, every option delta/length encoding (4-bit, 8-bit
 * and 16-bit extended forms at their boundaries), and malformed twins that
 * each fail with a specific error.
 */
#include "common/eim_err.h"
#include "transport/eim_coap_msg.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* CON POST, MID 0x0001, token aabbccdd, /gsma/rsp2/asn1, CF 42, payload. */
static const uint8_t vec_post[] = {
	0x44, 0x02, 0x00, 0x01, 0xaa, 0xbb, 0xcc,
	0xdd, 0xb4, 'g',  's',	'm',  'a', /* delta 11 Uri-Path */
	0x04, 'r',  's',  'p',	'2',	   /* delta 0 */
	0x04, 'a',  's',  'n',	'1',	   /* delta 0 */
	0x11, 0x2a,			   /* delta 1: CF = 42 */
	0xff, 0x01, 0x02, 0x03,
};

START_TEST(parse_valid_post)
{
	struct eim_coap_msg m;
	char path[64];
	uint32_t v;

	ck_assert_int_eq(eim_coap_msg_parse(vec_post, sizeof(vec_post), &m), 0);
	ck_assert_int_eq(m.type, EIM_COAP_CON);
	ck_assert_int_eq(m.code, EIM_COAP_POST);
	ck_assert_int_eq(m.mid, 1);
	ck_assert_int_eq(m.tkl, 4);
	ck_assert_int_eq(m.token[0], 0xaa);
	ck_assert_int_eq(m.token[3], 0xdd);
	ck_assert_int_eq(m.nopts, 4);
	ck_assert_int_eq(m.opts[3].num, EIM_COAP_OPT_CONTENT_FORMAT);
	ck_assert_int_eq(eim_coap_opt_uint(&m.opts[3], 2, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_uint_eq(m.payload_len, 3);
	ck_assert_int_eq(m.payload[2], 3);
	ck_assert_int_eq(eim_coap_msg_path(&m, path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/gsma/rsp2/asn1");
	/* Too small an output for the joined path. */
	ck_assert_int_eq(eim_coap_msg_path(&m, path, 15), EIM_ETOOBIG);
}
END_TEST

START_TEST(write_matches_vector)
{
	uint8_t buf[64];
	struct eim_coap_writer w;
	const uint8_t tok[] = {0xaa, 0xbb, 0xcc, 0xdd};
	const uint8_t body[] = {1, 2, 3};
	size_t n = 0;

	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_POST,
			     1, tok, 4);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "/gsma/rsp2/asn1");
	eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_CONTENT_FORMAT, 42);
	eim_coap_writer_payload(&w, body, sizeof(body));
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), 0);
	ck_assert_uint_eq(n, sizeof(vec_post));
	ck_assert_mem_eq(buf, vec_post, n);
}
END_TEST

START_TEST(parse_minimal_and_empty)
{
	/* Empty ACK and an empty CON ("ping"): header only. */
	const uint8_t ack[] = {0x60, 0x00, 0x12, 0x34};
	const uint8_t ping[] = {0x40, 0x00, 0xbe, 0xef};
	struct eim_coap_msg m;
	uint8_t type, code;
	uint16_t mid;

	ck_assert_int_eq(eim_coap_msg_parse(ack, sizeof(ack), &m), 0);
	ck_assert_int_eq(m.type, EIM_COAP_ACK);
	ck_assert_int_eq(m.code, 0);
	ck_assert_int_eq(m.mid, 0x1234);
	ck_assert_int_eq(m.nopts, 0);
	ck_assert_ptr_null(m.payload);
	ck_assert_int_eq(eim_coap_msg_peek(ping, 4, &type, &code, &mid), 0);
	ck_assert_int_eq(type, EIM_COAP_CON);
	ck_assert_int_eq(mid, 0xbeef);
}
END_TEST

/* Option numbers and lengths at each encoding boundary: 0-12 in the
 * nibble, 13-268 with one extension byte, 269-65535 with two. */
static const uint16_t nums[] = {1, 12, 13, 14, 268, 269, 270, 292, 1000, 65535};
static const size_t lens[] = {0, 1, 12, 13, 14, 268, 269, 270, 1000};

START_TEST(option_encodings_roundtrip)
{
	size_t cap = 4096;
	uint8_t *buf = malloc(cap), *val = malloc(2000);

	for (size_t i = 0; i < 2000; i++)
		val[i] = (uint8_t)(i * 7);
	for (size_t a = 0; a < sizeof(nums) / sizeof(nums[0]); a++) {
		for (size_t b = 0; b < sizeof(lens) / sizeof(lens[0]); b++) {
			struct eim_coap_writer w;
			struct eim_coap_msg m;
			size_t n;

			eim_coap_writer_init(&w, buf, cap, EIM_COAP_NON,
					     EIM_COAP_GET, 7, NULL, 0);
			/* Two options: delta from 0, then delta 0 (same
			 * number repeated) to exercise both positions. */
			eim_coap_writer_opt(&w, nums[a], val, lens[b]);
			eim_coap_writer_opt(&w, nums[a], val + 1, lens[b]);
			ck_assert_int_eq(eim_coap_writer_finish(&w, &n), 0);
			/* Check the first option's header byte. */
			uint8_t dn = nums[a] < 13    ? nums[a]
				     : nums[a] < 269 ? 13
						     : 14;
			uint8_t ln = lens[b] < 13    ? (uint8_t)lens[b]
				     : lens[b] < 269 ? 13
						     : 14;
			ck_assert_int_eq(buf[4], (dn << 4) | ln);
			ck_assert_int_eq(eim_coap_msg_parse(buf, n, &m), 0);
			ck_assert_int_eq(m.nopts, 2);
			ck_assert_int_eq(m.opts[0].num, nums[a]);
			ck_assert_int_eq(m.opts[1].num, nums[a]);
			ck_assert_uint_eq(m.opts[0].len, lens[b]);
			if (lens[b]) {
				ck_assert_mem_eq(m.opts[0].val, val, lens[b]);
				ck_assert_mem_eq(m.opts[1].val, val + 1,
						 lens[b]);
			}
			ck_assert_uint_eq(m.payload_len, 0);
		}
	}
	free(buf);
	free(val);
}
END_TEST

START_TEST(option_extended_exact_bytes)
{
	/* Option 292 (Request-Tag) with 1-byte value: delta 292 = 269 + 23
	 * -> nibble 14, ext 0x00 0x17; length 1. */
	uint8_t buf[16];
	struct eim_coap_writer w;
	size_t n;
	const uint8_t v = 0x5a;

	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_GET,
			     0, NULL, 0);
	eim_coap_writer_opt(&w, EIM_COAP_OPT_REQUEST_TAG, &v, 1);
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), 0);
	const uint8_t want[] = {0x40, 0x01, 0, 0, 0xe1, 0x00, 0x17, 0x5a};
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(buf, want, n);
	/* Option 60 (Size1) value 1024: delta 60 = 13 + 47 -> 0xd2 0x2f. */
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_GET,
			     0, NULL, 0);
	eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_SIZE1, 1024);
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), 0);
	const uint8_t want2[] = {0x40, 0x01, 0, 0, 0xd2, 0x2f, 0x04, 0x00};
	ck_assert_uint_eq(n, sizeof(want2));
	ck_assert_mem_eq(buf, want2, n);
}
END_TEST

START_TEST(uint_minimal)
{
	uint8_t buf[32];
	struct eim_coap_writer w;
	struct eim_coap_msg m;
	size_t n;
	uint32_t v;

	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_GET,
			     0, NULL, 0);
	eim_coap_writer_opt_uint(&w, 1, 0);
	eim_coap_writer_opt_uint(&w, 2, 255);
	eim_coap_writer_opt_uint(&w, 3, 256);
	eim_coap_writer_opt_uint(&w, 4, 0x01000000);
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), 0);
	ck_assert_int_eq(eim_coap_msg_parse(buf, n, &m), 0);
	ck_assert_uint_eq(m.opts[0].len, 0);
	ck_assert_uint_eq(m.opts[1].len, 1);
	ck_assert_uint_eq(m.opts[2].len, 2);
	ck_assert_uint_eq(m.opts[3].len, 4);
	ck_assert_int_eq(eim_coap_opt_uint(&m.opts[3], 4, &v), 0);
	ck_assert_uint_eq(v, 0x01000000);
	ck_assert_int_eq(eim_coap_opt_uint(&m.opts[3], 2, &v), EIM_ERANGE);
}
END_TEST

START_TEST(writer_errors)
{
	uint8_t buf[8];
	struct eim_coap_writer w;
	size_t n = 99;
	uint8_t tok[9] = {0};

	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_GET,
			     0, NULL, 0);
	eim_coap_writer_opt(&w, 11, "a", 1);
	eim_coap_writer_opt(&w, 4, "b", 1); /* descending */
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), EIM_EINVAL);
	ck_assert_uint_eq(n, 99);

	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_GET,
			     0, NULL, 0);
	eim_coap_writer_payload(&w, "123456789", 9);
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), EIM_ETOOBIG);

	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_GET,
			     0, tok, 9);
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), EIM_EINVAL);

	eim_coap_writer_init(&w, buf, 3, EIM_COAP_CON, EIM_COAP_GET, 0, NULL,
			     0);
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), EIM_ETOOBIG);
}
END_TEST

struct bad {
	const char *what;
	uint8_t b[24];
	size_t n;
	int err;
};

static const struct bad bad_vectors[] = {
	{"3 bytes", {0x40, 0x01, 0x00}, 3, EIM_ETRUNC},
	{"empty", {0}, 0, EIM_ETRUNC},
	{"version 0", {0x00, 0x01, 0, 0}, 4, EIM_EVERSION},
	{"version 2", {0x80, 0x01, 0, 0}, 4, EIM_EVERSION},
	{"version 3", {0xc0, 0x01, 0, 0}, 4, EIM_EVERSION},
	{"tkl 9",
	 {0x49, 0x01, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	 13,
	 EIM_EMALFORMED},
	{"tkl 15", {0x4f, 0x01, 0, 0}, 4, EIM_EMALFORMED},
	{"token cut", {0x44, 0x01, 0, 0, 1, 2, 3}, 7, EIM_ETRUNC},
	{"delta nibble 15", {0x40, 0x01, 0, 0, 0xf1, 0x00}, 6, EIM_EMALFORMED},
	{"length nibble 15", {0x40, 0x01, 0, 0, 0x1f, 0x00}, 6, EIM_EMALFORMED},
	{"ext1 delta missing", {0x40, 0x01, 0, 0, 0xd0}, 5, EIM_ETRUNC},
	{"ext2 delta cut", {0x40, 0x01, 0, 0, 0xe0, 0x00}, 6, EIM_ETRUNC},
	{"ext1 length missing", {0x40, 0x01, 0, 0, 0x1d}, 5, EIM_ETRUNC},
	{"ext2 length cut", {0x40, 0x01, 0, 0, 0x1e, 0x01}, 6, EIM_ETRUNC},
	{"value cut", {0x40, 0x01, 0, 0, 0xb3, 'a', 'b'}, 7, EIM_ETRUNC},
	{"ext1 length beyond end",
	 {0x40, 0x01, 0, 0, 0xbd, 0x00, 'a'},
	 7,
	 EIM_ETRUNC},
	{"marker, no payload", {0x40, 0x01, 0, 0, 0xff}, 5, EIM_EMALFORMED},
	{"empty with token", {0x41, 0x00, 0, 0, 0x01}, 5, EIM_EMALFORMED},
	{"empty with payload",
	 {0x40, 0x00, 0, 0, 0xff, 0x01},
	 6,
	 EIM_EMALFORMED},
	{"empty with option", {0x60, 0x00, 0, 0, 0x10}, 5, EIM_EMALFORMED},
	/* 65535 then +1 */
	{"number overflow",
	 {0x40, 0x01, 0, 0, 0xe0, 0xfe, 0xf2, 0x10},
	 8,
	 EIM_EMALFORMED},
};

START_TEST(malformed_twins)
{
	const struct bad *b = &bad_vectors[_i];
	struct eim_coap_msg m;

	m.code = 0x77;
	ck_assert_msg(eim_coap_msg_parse(b->b, b->n, &m) == b->err,
		      "%s: got %d want %d", b->what,
		      eim_coap_msg_parse(b->b, b->n, &m), b->err);
	/* Output untouched on failure. */
	ck_assert_int_eq(m.code, 0x77);
}
END_TEST

START_TEST(too_many_options)
{
	uint8_t buf[4 + EIM_COAP_MAX_OPTIONS + 1];
	struct eim_coap_msg m;

	buf[0] = 0x40, buf[1] = 0x01, buf[2] = 0, buf[3] = 0;
	/* Each 0x10: delta 1, length 0. */
	memset(buf + 4, 0x10, EIM_COAP_MAX_OPTIONS);
	ck_assert_int_eq(eim_coap_msg_parse(buf, 4 + EIM_COAP_MAX_OPTIONS, &m),
			 0);
	ck_assert_int_eq(m.nopts, EIM_COAP_MAX_OPTIONS);
	buf[4 + EIM_COAP_MAX_OPTIONS] = 0x10;
	ck_assert_int_eq(eim_coap_msg_parse(buf, sizeof(buf), &m), EIM_ETOOBIG);
}
END_TEST

START_TEST(block_values)
{
	struct eim_coap_opt o;
	struct eim_coap_block b;
	uint8_t v[4];

	/* Empty value: num 0, M 0, SZX 0 (16 bytes). */
	o.num = EIM_COAP_OPT_BLOCK2, o.len = 0, o.val = v;
	ck_assert_int_eq(eim_coap_block_decode(&o, &b), 0);
	ck_assert_int_eq(b.num, 0);
	ck_assert(!b.more);
	ck_assert_int_eq(b.szx, 0);
	/* 1 byte: num 2, M, SZX 2 (64 bytes). */
	v[0] = 0x2a, o.len = 1;
	ck_assert_int_eq(eim_coap_block_decode(&o, &b), 0);
	ck_assert_int_eq(b.num, 2);
	ck_assert(b.more);
	ck_assert_int_eq(eim_coap_szx_size(b.szx), 64);
	/* 3 bytes: largest num. */
	v[0] = 0xff, v[1] = 0xff, v[2] = 0xf6, o.len = 3;
	ck_assert_int_eq(eim_coap_block_decode(&o, &b), 0);
	ck_assert_uint_eq(b.num, 0xfffff);
	ck_assert_int_eq(b.szx, 6);
	/* Malformed twins: SZX 7, 4 bytes. */
	v[0] = 0x07, o.len = 1;
	ck_assert_int_eq(eim_coap_block_decode(&o, &b), EIM_EMALFORMED);
	o.len = 4;
	ck_assert_int_eq(eim_coap_block_decode(&o, &b), EIM_ERANGE);
	ck_assert_uint_eq(eim_coap_block_encode(2, true, 2), 0x2a);
	ck_assert_uint_eq(eim_coap_block_encode(0xfffff, false, 6), 0xfffff6);
}
END_TEST

START_TEST(path_edge_cases)
{
	struct eim_coap_msg m;
	char p[32];
	const uint8_t nopath[] = {0x40, 0x01, 0, 0};
	const uint8_t slash[] = {0x40, 0x01, 0, 0, 0xb3, 'a', '/', 'b'};
	const uint8_t nul[] = {0x40, 0x01, 0, 0, 0xb2, 'a', 0};
	const uint8_t emptyseg[] = {0x40, 0x01, 0, 0, 0xb0, 0x01, 'x'};

	ck_assert_int_eq(eim_coap_msg_parse(nopath, sizeof(nopath), &m), 0);
	ck_assert_int_eq(eim_coap_msg_path(&m, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/");
	ck_assert_int_eq(eim_coap_msg_parse(slash, sizeof(slash), &m), 0);
	ck_assert_int_eq(eim_coap_msg_path(&m, p, sizeof(p)), EIM_EMALFORMED);
	ck_assert_int_eq(eim_coap_msg_parse(nul, sizeof(nul), &m), 0);
	ck_assert_int_eq(eim_coap_msg_path(&m, p, sizeof(p)), EIM_EMALFORMED);
	ck_assert_int_eq(eim_coap_msg_parse(emptyseg, sizeof(emptyseg), &m), 0);
	ck_assert_int_eq(eim_coap_msg_path(&m, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "//x");
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(eim_coap_opt_name(EIM_COAP_OPT_URI_PATH), "Uri-Path");
	ck_assert_str_eq(eim_coap_opt_name(EIM_COAP_OPT_REQUEST_TAG),
			 "Request-Tag");
	ck_assert_str_eq(eim_coap_opt_name(9999), "Unknown");
	ck_assert_str_eq(eim_coap_code_name(EIM_COAP_CONTENT), "2.05 Content");
	ck_assert_str_eq(eim_coap_code_name(EIM_COAP_POST), "POST");
	ck_assert_str_eq(eim_coap_code_name(EIM_COAP_CODE(7, 31)), "Unknown");
	ck_assert(eim_coap_opt_is_critical(EIM_COAP_OPT_URI_PATH));
	ck_assert(!eim_coap_opt_is_critical(EIM_COAP_OPT_SIZE1));
}
END_TEST

/* Inputs found by fuzz_coap_msg are added here as regression vectors. */
START_TEST(opt_iteration)
{
	struct eim_coap_msg m;
	size_t it = 0;
	int count = 0;

	ck_assert_int_eq(eim_coap_msg_parse(vec_post, sizeof(vec_post), &m), 0);
	while (eim_coap_msg_opt_next(&m, EIM_COAP_OPT_URI_PATH, &it))
		count++;
	ck_assert_int_eq(count, 3);
	ck_assert_ptr_null(eim_coap_msg_opt(&m, EIM_COAP_OPT_BLOCK1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coap_msg");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, parse_valid_post);
	tcase_add_test(tc, write_matches_vector);
	tcase_add_test(tc, parse_minimal_and_empty);
	tcase_add_test(tc, option_encodings_roundtrip);
	tcase_add_test(tc, option_extended_exact_bytes);
	tcase_add_test(tc, uint_minimal);
	tcase_add_test(tc, writer_errors);
	tcase_add_loop_test(tc, malformed_twins, 0,
			    sizeof(bad_vectors) / sizeof(bad_vectors[0]));
	tcase_add_test(tc, too_many_options);
	tcase_add_test(tc, block_values);
	tcase_add_test(tc, path_edge_cases);
	tcase_add_test(tc, names);
	tcase_add_test(tc, opt_iteration);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
