/*
 * Unit tests for proto/eim_sig: key generation and reload in every format
 * this module writes, raw r||s signatures over concatenated parts, DER <->
 * raw conversion, and malformed keys and signatures.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_der.h"
#include "proto/eim_sig.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static struct eim_sig_key *reload(struct eim_buf *der)
{
	struct eim_sig_key *k = NULL;

	ck_assert_int_eq(der->err, 0);
	ck_assert_int_eq(eim_sig_key_load(der->p, der->len, &k), 0);
	return k;
}

static void sign_verify_curve(enum eim_sig_curve curve)
{
	struct eim_sig_key *k = NULL, *pub, *priv;
	struct eim_buf spki, sec1;
	const uint8_t a[] = "package bytes", b[] = {0x84, 0x01, 0x00};
	struct eim_slice parts[2] = {{a, sizeof(a) - 1}, {b, sizeof(b)}};
	uint8_t rs[EIM_SIG_RAW_LEN], rs2[EIM_SIG_RAW_LEN];

	ck_assert_int_eq(eim_sig_key_generate(curve, &k), 0);
	ck_assert(eim_sig_key_has_private(k));
	ck_assert_int_eq(eim_sig_key_curve(k), curve);
	eim_buf_init(&spki);
	eim_buf_init(&sec1);
	ck_assert_int_eq(eim_sig_key_spki(k, &spki), 0);
	ck_assert_int_eq(eim_sig_key_sec1(k, &sec1), 0);
	pub = reload(&spki);
	priv = reload(&sec1);
	ck_assert(!eim_sig_key_has_private(pub));
	ck_assert_int_eq(eim_sig_key_curve(pub), curve);
	ck_assert_int_eq(eim_sig_sign(pub, parts, 2, rs), EIM_ESTATE);

	ck_assert_int_eq(eim_sig_sign(k, parts, 2, rs), 0);
	ck_assert_int_eq(eim_sig_verify(pub, parts, 2, rs, sizeof(rs)), 0);
	ck_assert_int_eq(eim_sig_sign(priv, parts, 2, rs2), 0);
	ck_assert_int_eq(eim_sig_verify(k, parts, 2, rs2, sizeof(rs2)), 0);

	/* The parts are hashed as one concatenation. */
	struct eim_slice joined_parts[3] = {{a, 3},
					    {a + 3, sizeof(a) - 4},
					    {b, sizeof(b)}};
	ck_assert_int_eq(eim_sig_verify(pub, joined_parts, 3, rs, 64), 0);

	/* Any flipped bit fails, as does a wrong length or another input. */
	for (size_t i = 0; i < sizeof(rs); i += 7) {
		rs[i] ^= 0x01;
		ck_assert_int_eq(eim_sig_verify(pub, parts, 2, rs, 64),
				 EIM_EVERIFY);
		rs[i] ^= 0x01;
	}
	ck_assert_int_eq(eim_sig_verify(pub, parts, 2, rs, 63), EIM_EVERIFY);
	ck_assert_int_eq(eim_sig_verify(pub, parts, 1, rs, 64), EIM_EVERIFY);
	memset(rs2, 0, sizeof(rs2));
	ck_assert_int_eq(eim_sig_verify(pub, parts, 2, rs2, 64), EIM_EVERIFY);

	eim_buf_done(&spki);
	eim_buf_done(&sec1);
	eim_sig_key_free(k);
	eim_sig_key_free(pub);
	eim_sig_key_free(priv);
}

START_TEST(p256_sign_verify)
{
	sign_verify_curve(EIM_SIG_P256);
}
END_TEST

START_TEST(brainpool_sign_verify)
{
	sign_verify_curve(EIM_SIG_BRAINPOOLP256R1);
}
END_TEST

START_TEST(cross_curve_fails)
{
	struct eim_sig_key *a = NULL, *b = NULL;
	const uint8_t m[] = {1, 2, 3};
	struct eim_slice part = {m, sizeof(m)};
	uint8_t rs[64];

	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &a), 0);
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_BRAINPOOLP256R1, &b), 0);
	ck_assert_int_eq(eim_sig_sign(a, &part, 1, rs), 0);
	ck_assert_int_eq(eim_sig_verify(b, &part, 1, rs, 64), EIM_EVERIFY);
	eim_sig_key_free(a);
	eim_sig_key_free(b);
}
END_TEST

/* PKCS#8 built around our SEC1 key, version 0 and RFC 5958 version 1. */
START_TEST(pkcs8_versions)
{
	static const uint8_t alg[] = {0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
				      0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
				      0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	struct eim_sig_key *k = NULL, *k2 = NULL;
	struct eim_buf sec1, p8;

	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	eim_buf_init(&sec1);
	ck_assert_int_eq(eim_sig_key_sec1(k, &sec1), 0);
	for (int version = 0; version <= 1; version++) {
		eim_buf_init(&p8);
		size_t m = eim_der_open(&p8, 0x30);
		eim_der_put_int(&p8, 0x02, version);
		eim_buf_append(&p8, alg, sizeof(alg));
		eim_der_put(&p8, 0x04, sec1.p, sec1.len);
		eim_der_close(&p8, m);
		ck_assert_int_eq(eim_sig_key_load(p8.p, p8.len, &k2), 0);
		ck_assert(eim_sig_key_has_private(k2));
		eim_sig_key_free(k2);
		k2 = NULL;
		eim_buf_done(&p8);
	}
	eim_buf_done(&sec1);
	eim_sig_key_free(k);
}
END_TEST

START_TEST(pem_round_trip)
{
	struct eim_sig_key *k = NULL, *k2 = NULL;
	struct eim_buf spki;
	char *pem;
	size_t b64;
	int n;

	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	eim_buf_init(&spki);
	ck_assert_int_eq(eim_sig_key_spki(k, &spki), 0);
	b64 = eim_base64_encoded_size(spki.len);
	pem = eim_malloc(b64 + 100);
	ck_assert_ptr_nonnull(pem);
	n = sprintf(pem, "junk before\n-----BEGIN PUBLIC KEY-----\n");
	eim_base64_encode(spki.p, spki.len, pem + n);
	strcat(pem, "\n-----END PUBLIC KEY-----\n");
	ck_assert_int_eq(eim_sig_key_load((uint8_t *)pem, strlen(pem), &k2), 0);
	ck_assert(!eim_sig_key_has_private(k2));

	/* Broken PEM: no END line, bad base64, encrypted headers. */
	struct eim_sig_key *bad = NULL;
	const char *noend = "-----BEGIN PUBLIC KEY-----\nAAAA\n";
	const char *badb64 =
		"-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----\n";
	const char *enc = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: "
			  "4,ENCRYPTED\nAAAA\n-----END EC PRIVATE KEY-----\n";
	ck_assert_int_eq(eim_sig_key_load((const uint8_t *)noend, strlen(noend),
					  &bad),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_sig_key_load((const uint8_t *)badb64,
					  strlen(badb64), &bad),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_sig_key_load((const uint8_t *)enc, strlen(enc),
					  &bad),
			 EIM_EUNSUPPORTED);
	ck_assert_ptr_null(bad);
	eim_free(pem);
	eim_buf_done(&spki);
	eim_sig_key_free(k);
	eim_sig_key_free(k2);
}
END_TEST

START_TEST(malformed_keys)
{
	struct eim_sig_key *k = NULL;
	struct eim_sig_key *g = NULL;
	struct eim_buf spki;
	/* An SPKI for an RSA key: unsupported algorithm. */
	const uint8_t rsa[] = {0x30, 0x12, 0x30, 0x0d, 0x06, 0x09, 0x2a,
			       0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
			       0x01, 0x05, 0x00, 0x03, 0x01, 0x00};
	const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01};

	ck_assert_int_eq(eim_sig_key_load(rsa, sizeof(rsa), &k),
			 EIM_EUNSUPPORTED);
	ck_assert_int_eq(eim_sig_key_load(junk, sizeof(junk), &k),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_sig_key_load(junk, 0, &k), EIM_EMALFORMED);

	/* A valid SPKI with its point moved off the curve. */
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &g), 0);
	eim_buf_init(&spki);
	ck_assert_int_eq(eim_sig_key_spki(g, &spki), 0);
	spki.p[spki.len - 1] ^= 0x01;
	ck_assert_int_eq(eim_sig_key_load(spki.p, spki.len, &k), EIM_ECRYPTO);
	/* And truncated. */
	ck_assert_int_eq(eim_sig_key_load(spki.p, spki.len - 1, &k),
			 EIM_EMALFORMED);
	ck_assert_ptr_null(k);
	eim_buf_done(&spki);
	eim_sig_key_free(g);
}
END_TEST

/*
 * A coordinate may not be encoded as itself plus p: such a point is on the
 * curve modulo p, so only a range check refuses it (eim_sig's own, and
 * wolfCrypt's on-curve check has one too). brainpoolP256r1's p is about
 * 0.66 * 2^256, so X + p still fits 32 bytes for about half the keys.
 */
START_TEST(noncanonical_point_refused)
{
	/* brainpoolP256r1 p (RFC 5639 3.4) */
	static const uint8_t p[32] = {0xa9, 0xfb, 0x57, 0xdb, 0xa1, 0xee, 0xa9,
				      0xbc, 0x3e, 0x66, 0x0a, 0x90, 0x9d, 0x83,
				      0x8d, 0x72, 0x6e, 0x3b, 0xf6, 0x23, 0xd5,
				      0x26, 0x20, 0x28, 0x20, 0x13, 0x48, 0x1d,
				      0x1f, 0x6e, 0x53, 0x77};
	bool tested = false;

	for (int tries = 0; tries < 64 && !tested; tries++) {
		struct eim_sig_key *g = NULL, *k = NULL;
		struct eim_buf spki;
		ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_BRAINPOOLP256R1,
						      &g),
				 0);
		eim_buf_init(&spki);
		ck_assert_int_eq(eim_sig_key_spki(g, &spki), 0);
		ck_assert_int_eq(eim_sig_key_load(spki.p, spki.len, &k), 0);
		eim_sig_key_free(k);
		k = NULL;
		/* X is the 32 bytes after 04, 64 bytes from the end */
		uint8_t *x = spki.p + spki.len - 64;
		unsigned carry = 0;
		uint8_t sum[32];
		for (int i = 31; i >= 0; i--) {
			unsigned v = (unsigned)x[i] + p[i] + carry;
			sum[i] = (uint8_t)v;
			carry = v >> 8;
		}
		if (!carry) {
			memcpy(x, sum, 32);
			ck_assert_int_eq(eim_sig_key_load(spki.p, spki.len, &k),
					 EIM_ECRYPTO);
			ck_assert_ptr_null(k);
			tested = true;
		}
		eim_buf_done(&spki);
		eim_sig_key_free(g);
	}
	ck_assert(tested);
}
END_TEST

START_TEST(der_raw_conversion)
{
	uint8_t rs[64], back[64], der[80];
	size_t n = 0;

	/* r with a high bit (needs a 00 pad), s with leading zero bytes. */
	memset(rs, 0, sizeof(rs));
	rs[0] = 0x80;
	rs[31] = 0x01;
	rs[62] = 0x12;
	rs[63] = 0x34;
	ck_assert_int_eq(eim_sig_raw_to_der(rs, der, sizeof(der), &n), 0);
	ck_assert_uint_eq(der[0], 0x30);
	ck_assert_uint_eq(der[3], 33); /* r: 00 80 ... */
	ck_assert_int_eq(eim_sig_der_to_raw(der, n, back), 0);
	ck_assert_mem_eq(rs, back, 64);
	ck_assert_int_eq(eim_sig_der_to_raw(der, n - 1, back), EIM_EMALFORMED);
	der[n] = 0;
	ck_assert_int_eq(eim_sig_der_to_raw(der, n + 1, back), EIM_EMALFORMED);
	ck_assert_int_eq(eim_sig_raw_to_der(rs, der, 10, &n), EIM_ETOOBIG);
}
END_TEST

START_TEST(random_bytes_differ)
{
	uint8_t a[16], b[16];

	ck_assert_int_eq(eim_sig_random(a, sizeof(a)), 0);
	ck_assert_int_eq(eim_sig_random(b, sizeof(b)), 0);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sig");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, p256_sign_verify);
	tcase_add_test(tc, brainpool_sign_verify);
	tcase_add_test(tc, cross_curve_fails);
	tcase_add_test(tc, pkcs8_versions);
	tcase_add_test(tc, pem_round_trip);
	tcase_add_test(tc, malformed_keys);
	tcase_add_test(tc, noncanonical_point_refused);
	tcase_add_test(tc, der_raw_conversion);
	tcase_add_test(tc, random_bytes_differ);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
