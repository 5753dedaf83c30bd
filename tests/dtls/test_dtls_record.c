/*
 * Unit tests for transport/eim_dtls_record: header parsing and its malformed
 * twins, AEAD record protection for plain and RFC 9146 CID records, and the
 * anti-replay window.
 *
 * The protected-record vectors were computed independently with python3's
 * `cryptography` package (AESCCM tag_length=8, AESGCM, ChaCha20Poly1305)
 * following RFC 5246/6347 (plain AAD) and RFC 9146 section 5 (CID AAD) by
 * hand: key 00..0f (ChaCha: 00..1f), salt a1a2a3a4 (ChaCha IV 40..4b),
 * epoch 1, sequence 5, CID 0102030405060708, content "hello", type 23.
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "transport/eim_dtls_record.h"

#include <check.h>
#include <string.h>

static const uint8_t cid8[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	ck_assert_int_eq(eim_hex_decode(s, strlen(s), out, cap, &n), 0);
	return n;
}

static struct eim_dtls_aead_key key_for(enum eim_dtls_aead_alg alg)
{
	struct eim_dtls_aead_key k;

	memset(&k, 0, sizeof(k));
	k.info = eim_dtls_aead_info(alg);
	for (int i = 0; i < 32; i++)
		k.key[i] = (uint8_t)i;
	if (alg == EIM_DTLS_AEAD_CHACHA20_POLY1305) {
		for (int i = 0; i < 12; i++)
			k.iv[i] = (uint8_t)(0x40 + i);
	} else {
		hex("a1a2a3a4", k.iv, 4);
	}
	return k;
}

/* ---- parsing ---------------------------------------------------------- */

START_TEST(parse_plain_and_two_records)
{
	uint8_t d[64];
	struct eim_dtls_record r;
	size_t used = 0, n;

	n = hex("16fefd00000000000000070003aabbcc"
		"15feff0001000000000009000102",
		d, sizeof(d));
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 0, &r, &used), 0);
	ck_assert_uint_eq(used, 16);
	ck_assert_uint_eq(r.type, EIM_DTLS_CT_HANDSHAKE);
	ck_assert_uint_eq(r.version, EIM_DTLS_VERSION_1_2);
	ck_assert_uint_eq(r.epoch, 0);
	ck_assert_uint_eq(r.seq, 7);
	ck_assert_uint_eq(r.fragment.len, 3);
	ck_assert_ptr_eq(r.fragment.p, d + 13);
	ck_assert_uint_eq(r.cid.len, 0);
	ck_assert_int_eq(eim_dtls_record_parse(d + used, n - used, 0, &r,
					       &used),
			 0);
	ck_assert_uint_eq(r.type, EIM_DTLS_CT_ALERT);
	ck_assert_uint_eq(r.version, EIM_DTLS_VERSION_1_0);
	ck_assert_uint_eq(r.epoch, 1);
	ck_assert_uint_eq(r.seq, 9);
	ck_assert_uint_eq(used, 14);
}
END_TEST

START_TEST(parse_cid_record)
{
	uint8_t d[64];
	struct eim_dtls_record r;
	size_t used = 0, n;

	n = hex("19fefd0001ffffffffffff0102030405060708000211aa", d, sizeof(d));
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 8, &r, &used), 0);
	ck_assert_uint_eq(used, n);
	ck_assert_uint_eq(r.type, EIM_DTLS_CT_TLS12_CID);
	ck_assert_uint_eq(r.seq, EIM_DTLS_SEQ_MAX);
	ck_assert_uint_eq(r.cid.len, 8);
	ck_assert_mem_eq(r.cid.p, cid8, 8);
	ck_assert_uint_eq(r.fragment.len, 2);
	/* the same bytes with a wrong CID length mis-frame: detected */
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 4, &r, &used),
			 EIM_EMALFORMED);
	/* an endpoint that takes no CIDs does not know type 25 */
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 0, &r, &used), EIM_ETAG);
	/* header cut inside the CID */
	ck_assert_int_eq(eim_dtls_record_parse(d, 15, 8, &r, &used),
			 EIM_ETRUNC);
	/* CID longer than we support */
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 33, &r, &used),
			 EIM_EINVAL);
}
END_TEST

START_TEST(parse_malformed_twins)
{
	uint8_t d[32];
	struct eim_dtls_record r;
	size_t used = 12345, n;

	memset(&r, 0x5a, sizeof(r));
	n = hex("17fefd00010000000000050003aabbcc", d, sizeof(d));
	/* empty and truncated header */
	ck_assert_int_eq(eim_dtls_record_parse(d, 0, 0, &r, &used), EIM_ETRUNC);
	ck_assert_int_eq(eim_dtls_record_parse(d, 12, 0, &r, &used),
			 EIM_ETRUNC);
	/* length runs past the datagram */
	ck_assert_int_eq(eim_dtls_record_parse(d, n - 1, 0, &r, &used),
			 EIM_EMALFORMED);
	/* nothing written on failure */
	ck_assert_uint_eq(used, 12345);
	ck_assert_uint_eq(r.type, 0x5a);
	/* unknown content types: 24 (heartbeat is not supported), 0, 255 */
	d[0] = 24;
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 0, &r, &used), EIM_ETAG);
	d[0] = 0;
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 8, &r, &used), EIM_ETAG);
	d[0] = 23;
	/* TLS 1.2 version on a DTLS record */
	d[1] = 0x03;
	d[2] = 0x03;
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 0, &r, &used),
			 EIM_EVERSION);
	d[1] = 0xfe;
	d[2] = 0xfd;
	/* length field above the ciphertext maximum */
	d[11] = 0xff;
	d[12] = 0xff;
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 0, &r, &used),
			 EIM_ETOOBIG);
	d[11] = 0;
	d[12] = 3;
	/* zero-length fragment is a valid record */
	d[12] = 0;
	ck_assert_int_eq(eim_dtls_record_parse(d, 13, 0, &r, &used), 0);
	ck_assert_uint_eq(used, 13);
}
END_TEST

/* ---- protection ------------------------------------------------------- */

START_TEST(cid_aad_layout)
{
	uint8_t aad[64], exp[64];
	size_t n, e;

	n = eim_dtls_aad_cid(aad, EIM_DTLS_VERSION_1_2, 1, 5, cid8, 8, 8);
	e = hex("ffffffffffffffff190819fefd0001000000000005010203040506070800"
		"08",
		exp, sizeof(exp));
	ck_assert_uint_eq(n, 31);
	ck_assert_uint_eq(n, e);
	ck_assert_mem_eq(aad, exp, n);
	/* zero-length CID still carries cid_length = 0 */
	n = eim_dtls_aad_cid(aad, EIM_DTLS_VERSION_1_2, 0x0102, 0x030405060708,
			     NULL, 0, 0x0a0b);
	e = hex("ffffffffffffffff190019fefd01020304050607080a0b", exp,
		sizeof(exp));
	ck_assert_uint_eq(n, e);
	ck_assert_mem_eq(aad, exp, n);
}
END_TEST

struct vec {
	enum eim_dtls_aead_alg alg;
	int cid;
	size_t pad;
	const char *hex;
};

static const struct vec vectors[] = {
	{EIM_DTLS_AEAD_AES128_CCM8, 1, 2,
	 "19fefd000100000000000501020304050607080018000100000000000519d76d40"
	 "9cf22987ec6a37d1ea115288"},
	{EIM_DTLS_AEAD_AES128_CCM8, 0, 0,
	 "17fefd00010000000000050015000100000000000519d76d409ced9a8d70d93b277"
	 "5"},
	{EIM_DTLS_AEAD_AES128_GCM, 0, 0,
	 "17fefd0001000000000005001d00010000000000059445ba914039c7aadc2d946232"
	 "6a69839e5745ed61"},
	{EIM_DTLS_AEAD_CHACHA20_POLY1305, 0, 0,
	 "17fefd00010000000000050015a887000913fab7212fe5ffbf7b8f5f4bd530d6e2c"
	 "8"},
	{EIM_DTLS_AEAD_CHACHA20_POLY1305, 1, 0,
	 "19fefd000100000000000501020304050607080016a88700091331a6579ebb7a84cc"
	 "a085ec45f18e05b63c"},
};

START_TEST(seal_matches_independent_vectors)
{
	const struct vec *v = &vectors[_i];
	struct eim_dtls_aead_key k = key_for(v->alg);
	uint8_t exp[128], out[128];
	size_t elen, olen = 0;

	elen = hex(v->hex, exp, sizeof(exp));
	ck_assert_int_eq(eim_dtls_record_seal(&k, EIM_DTLS_CT_APP_DATA, 1, 5,
					      v->cid ? cid8 : NULL,
					      v->cid ? 8 : 0, v->pad,
					      (const uint8_t *)"hello", 5, out,
					      sizeof(out), &olen),
			 0);
	ck_assert_uint_eq(olen, elen);
	ck_assert_mem_eq(out, exp, elen);
	/* no room for the tag */
	ck_assert_int_eq(eim_dtls_record_seal(&k, EIM_DTLS_CT_APP_DATA, 1, 5,
					      v->cid ? cid8 : NULL,
					      v->cid ? 8 : 0, v->pad,
					      (const uint8_t *)"hello", 5, out,
					      elen - 1, &olen),
			 EIM_ETOOBIG);
}
END_TEST

START_TEST(open_vectors_and_tampering)
{
	const struct vec *v = &vectors[_i];
	struct eim_dtls_aead_key k = key_for(v->alg);
	struct eim_dtls_record r;
	uint8_t d[128], out[128], type = 0;
	size_t n, used, olen = 0;
	size_t cl = v->cid ? 8 : 0;

	n = hex(v->hex, d, sizeof(d));
	ck_assert_int_eq(eim_dtls_record_parse(d, n, cl, &r, &used), 0);
	ck_assert_int_eq(eim_dtls_record_open(&k, &r, out, sizeof(out), &type,
					      &olen),
			 0);
	ck_assert_uint_eq(type, EIM_DTLS_CT_APP_DATA);
	ck_assert_uint_eq(olen, 5);
	ck_assert_mem_eq(out, "hello", 5);

	/* Every header field is authenticated: flip one bit of each in turn
	 * (version, epoch, sequence, CID, and the last tag byte). */
	static const size_t pos[] = {2, 4, 10, 11, 18};
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		size_t at = pos[i] == 18 ? n - 1 : pos[i];

		if (pos[i] == 11 && !v->cid)
			continue;
		n = hex(v->hex, d, sizeof(d));
		d[at] ^= 0x01;
		if (eim_dtls_record_parse(d, n, cl, &r, &used) != 0)
			continue; /* a version bit flip is caught earlier */
		memset(out, 0x77, sizeof(out));
		ck_assert_int_eq(eim_dtls_record_open(&k, &r, out, sizeof(out),
						      &type, &olen),
				 EIM_EVERIFY);
		/* no unauthenticated plaintext left behind */
		ck_assert_uint_eq(out[0], 0);
	}
	/* fragment shorter than explicit nonce + tag */
	n = hex(v->hex, d, sizeof(d));
	ck_assert_int_eq(eim_dtls_record_parse(d, n, cl, &r, &used), 0);
	r.fragment.len = k.info->explicit_len + k.info->tag_len - 1;
	ck_assert_int_eq(eim_dtls_record_open(&k, &r, out, sizeof(out), &type,
					      &olen),
			 EIM_EMALFORMED);
	/* output buffer too small */
	ck_assert_int_eq(eim_dtls_record_parse(d, n, cl, &r, &used), 0);
	ck_assert_int_eq(eim_dtls_record_open(&k, &r, out, 2, &type, &olen),
			 EIM_ETOOBIG);
}
END_TEST

/* Builds a CID record around an arbitrary inner plaintext (bypassing the
 * checks of eim_dtls_record_seal) to test what the receiver does with it. */
static size_t raw_cid_record(const struct eim_dtls_aead_key *k,
			     const uint8_t *inner, size_t inner_len,
			     uint8_t *out)
{
	uint8_t aad[64], nonce[12];
	size_t aad_len, o;

	out[0] = 25;
	eim_put_be16(out + 1, EIM_DTLS_VERSION_1_2);
	eim_put_be16(out + 3, 1);
	eim_put_be48(out + 5, 9);
	memcpy(out + 11, cid8, 8);
	eim_put_be16(out + 19, (uint16_t)(8 + inner_len + 8));
	eim_dtls_nonce(k, 1, 9, nonce);
	memcpy(out + 21, nonce + 4, 8);
	o = 29;
	memcpy(out + o, inner, inner_len);
	aad_len = eim_dtls_aad_cid(aad, EIM_DTLS_VERSION_1_2, 1, 9, cid8, 8,
				   (uint16_t)inner_len);
	ck_assert_int_eq(eim_dtls_aead_seal(k, nonce, aad, aad_len, out + o,
					    inner_len, out + o + inner_len),
			 0);
	return o + inner_len + 8;
}

START_TEST(cid_inner_plaintext_malformed)
{
	struct eim_dtls_aead_key k = key_for(EIM_DTLS_AEAD_AES128_CCM8);
	struct eim_dtls_record r;
	uint8_t d[128], out[128], type = 0;
	size_t n, used, olen = 0;
	const uint8_t zeros[6] = {0};
	const uint8_t badtype[4] = {'a', 'b', 25, 0};
	const uint8_t padded[7] = {'h', 'i', 22, 0, 0, 0, 0};

	n = raw_cid_record(&k, zeros, sizeof(zeros), d);
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 8, &r, &used), 0);
	ck_assert_int_eq(eim_dtls_record_open(&k, &r, out, sizeof(out), &type,
					      &olen),
			 EIM_EMALFORMED);
	n = raw_cid_record(&k, badtype, sizeof(badtype), d);
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 8, &r, &used), 0);
	ck_assert_int_eq(eim_dtls_record_open(&k, &r, out, sizeof(out), &type,
					      &olen),
			 EIM_ETAG);
	n = raw_cid_record(&k, padded, sizeof(padded), d);
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 8, &r, &used), 0);
	ck_assert_int_eq(eim_dtls_record_open(&k, &r, out, sizeof(out), &type,
					      &olen),
			 0);
	ck_assert_uint_eq(type, EIM_DTLS_CT_HANDSHAKE);
	ck_assert_uint_eq(olen, 2);
	/* an empty CID record (type byte only is missing) */
	n = raw_cid_record(&k, zeros, 0, d);
	ck_assert_int_eq(eim_dtls_record_parse(d, n, 8, &r, &used), 0);
	ck_assert_int_eq(eim_dtls_record_open(&k, &r, out, sizeof(out), &type,
					      &olen),
			 EIM_EMALFORMED);
}
END_TEST

START_TEST(seal_rejects_bad_arguments)
{
	struct eim_dtls_aead_key k = key_for(EIM_DTLS_AEAD_AES128_CCM8);
	static uint8_t big[EIM_DTLS_MAX_PLAINTEXT + 1];
	static uint8_t out[EIM_DTLS_MAX_PLAINTEXT + 128];
	size_t olen;

	ck_assert_int_eq(eim_dtls_record_seal(&k, 24, 1, 0, NULL, 0, 0, big, 1,
					      out, sizeof(out), &olen),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_dtls_record_seal(&k, 23, 1, EIM_DTLS_SEQ_MAX + 1,
					      NULL, 0, 0, big, 1, out,
					      sizeof(out), &olen),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_dtls_record_seal(&k, 23, 1, 0, NULL, 0, 0, big,
					      sizeof(big), out, sizeof(out),
					      &olen),
			 EIM_ETOOBIG);
	ck_assert_int_eq(eim_dtls_record_seal(&k, 23, 1, 0, NULL, 0, 0, big,
					      sizeof(big) - 1, out, sizeof(out),
					      &olen),
			 0);
}
END_TEST

/* ---- replay window ---------------------------------------------------- */

START_TEST(replay_window_edges)
{
	struct eim_dtls_replay w;

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(eim_dtls_replay_check(&w, 0), 0);
	eim_dtls_replay_mark(&w, 0);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 0), EIM_EEXIST);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 1), 0);
	/* 63 ahead: 0 stays inside the window and stays marked */
	eim_dtls_replay_mark(&w, 63);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 0), EIM_EEXIST);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 1), 0);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 62), 0);
	/* out of order inside the window */
	eim_dtls_replay_mark(&w, 30);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 30), EIM_EEXIST);
	/* one more slides 0 out: now too old, not "seen" */
	eim_dtls_replay_mark(&w, 64);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 0), EIM_ERANGE);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 1), 0);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 30), EIM_EEXIST);
	/* marking something already too old changes nothing */
	eim_dtls_replay_mark(&w, 0);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 1), 0);
	/* a jump of exactly 64 empties the window except the new top */
	eim_dtls_replay_mark(&w, 128);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 64), EIM_ERANGE);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 65), 0);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 128), EIM_EEXIST);
	/* a huge jump (shift >= 64 must not be undefined behaviour) */
	eim_dtls_replay_mark(&w, 1000000);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 128), EIM_ERANGE);
	ck_assert_int_eq(eim_dtls_replay_check(&w, 999999), 0);
	/* the top of the 48-bit space, and beyond it */
	eim_dtls_replay_mark(&w, EIM_DTLS_SEQ_MAX);
	ck_assert_int_eq(eim_dtls_replay_check(&w, EIM_DTLS_SEQ_MAX),
			 EIM_EEXIST);
	ck_assert_int_eq(eim_dtls_replay_check(&w, EIM_DTLS_SEQ_MAX - 63), 0);
	ck_assert_int_eq(eim_dtls_replay_check(&w, EIM_DTLS_SEQ_MAX - 64),
			 EIM_ERANGE);
	ck_assert_int_eq(eim_dtls_replay_check(&w, EIM_DTLS_SEQ_MAX + 1),
			 EIM_ERANGE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_record");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;
	int nv = (int)(sizeof(vectors) / sizeof(vectors[0]));

	tcase_add_test(tc, parse_plain_and_two_records);
	tcase_add_test(tc, parse_cid_record);
	tcase_add_test(tc, parse_malformed_twins);
	tcase_add_test(tc, cid_aad_layout);
	tcase_add_loop_test(tc, seal_matches_independent_vectors, 0, nv);
	tcase_add_loop_test(tc, open_vectors_and_tampering, 0, nv);
	tcase_add_test(tc, cid_inner_plaintext_malformed);
	tcase_add_test(tc, seal_rejects_bad_arguments);
	tcase_add_test(tc, replay_window_edges);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
