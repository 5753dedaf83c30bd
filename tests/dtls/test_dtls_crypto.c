/*
 * Unit tests for transport/eim_dtls_crypto: TLS 1.2 PRF, master secret,
 * key block, Finished data and the AES key schedule cache (same bytes as
 * without it, whatever the slot numbers).
 *
 * Expected values were computed independently when the test was written:
 * the PRF vector with both `openssl kdf ... TLS1-PRF` and a python3
 * hmac/hashlib P_SHA256, the rest with the same python3 script (psk =
 * 0102..10, pre-master secret as RFC 4279 section 2 builds it, client
 * random 00..1f, server random 80..9f, transcript hash =
 * SHA-256("transcript")). The PRF under a secret longer than a SHA-256 block is
 * checked against wolfCrypt's own HMAC (eim_dtls_hmac_sha256) built into
 * P_SHA256 by hand; ECDHE by agreement of two fresh key pairs and by refusal of
 * malformed and small-order peer values.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "transport/eim_dtls_crypto.h"

#include <check.h>
#include <string.h>

static void hex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	ck_assert_int_eq(eim_hex_decode(s, strlen(s), out, cap, n), 0);
}

START_TEST(prf_sha256_vector)
{
	uint8_t secret[16], seed[16], exp[100], out[100];
	size_t n;

	hex("9bbe436ba940f017b17652849a71db35", secret, sizeof(secret), &n);
	hex("a0ba9f936cda311827a6f796ffd5198c", seed, sizeof(seed), &n);
	hex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
	    "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
	    "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
	    "87347b66",
	    exp, sizeof(exp), &n);
	ck_assert_int_eq(eim_dtls_prf(secret, 16, "test label", seed, 16, NULL,
				      0, out, 100),
			 0);
	ck_assert_mem_eq(out, exp, 100);
	/* shorter output is a prefix; seed may be split in two */
	memset(out, 0, sizeof(out));
	ck_assert_int_eq(eim_dtls_prf(secret, 16, "test label", seed, 5,
				      seed + 5, 11, out, 33),
			 0);
	ck_assert_mem_eq(out, exp, 33);
	ck_assert_uint_eq(out[33], 0);
}
END_TEST

START_TEST(prf_rejects_bad_arguments)
{
	uint8_t big[200] = {0}, out[8];

	ck_assert_int_eq(eim_dtls_prf(big, 16, "l", big, 150, big, 50, out, 8),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_dtls_prf(big, 16, NULL, big, 1, NULL, 0, out, 8),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_dtls_prf(big, 16, "l", NULL, 1, NULL, 0, out, 8),
			 EIM_EINVAL);
}
END_TEST

static void psk_pms(uint8_t pms[36])
{
	static const uint8_t psk[16] = {1, 2,  3,  4,  5,  6,  7,  8,
					9, 10, 11, 12, 13, 14, 15, 16};

	/* RFC 4279: uint16 N, N zeros, uint16 N, psk */
	memset(pms, 0, 36);
	pms[1] = 16;
	pms[19] = 16;
	memcpy(pms + 20, psk, 16);
}

static void randoms(uint8_t cr[32], uint8_t sr[32], uint8_t h[32])
{
	for (int i = 0; i < 32; i++) {
		cr[i] = (uint8_t)i;
		sr[i] = (uint8_t)(0x80 + i);
	}
	ck_assert_int_eq(eim_dtls_sha256((const uint8_t *)"transcript", 10, h),
			 0);
}

START_TEST(master_secret_plain_and_extended)
{
	uint8_t pms[36], cr[32], sr[32], h[32], ms[48], exp[48];
	size_t n;

	psk_pms(pms);
	randoms(cr, sr, h);
	ck_assert_int_eq(eim_dtls_master_secret(pms, 36, 0, cr, sr, ms), 0);
	hex("b321d146e9d56bcd9359bd6282f69e12ecc249e04f95c1eccb8a12c956e47d26"
	    "dd6348416ea2a63778884fdee2b34381",
	    exp, sizeof(exp), &n);
	ck_assert_mem_eq(ms, exp, 48);
	ck_assert_int_eq(eim_dtls_master_secret(pms, 36, 1, h, NULL, ms), 0);
	hex("bf20733f84c50b4724a38ab38dc50056379fd484762eb96c3b9b4ca374ad3e30"
	    "2d3cf06331c5c37b66f5c60b673b46b0",
	    exp, sizeof(exp), &n);
	ck_assert_mem_eq(ms, exp, 48);
	ck_assert_int_eq(eim_dtls_master_secret(pms, 36, 0, cr, NULL, ms),
			 EIM_EINVAL);
}
END_TEST

START_TEST(key_block_split)
{
	uint8_t ms[48], cr[32], sr[32], h[32], kb[88];
	struct eim_dtls_aead_key c, s;
	size_t n;

	hex("b321d146e9d56bcd9359bd6282f69e12ecc249e04f95c1eccb8a12c956e47d26"
	    "dd6348416ea2a63778884fdee2b34381",
	    ms, sizeof(ms), &n);
	randoms(cr, sr, h);
	/* CCM-8: 16-byte keys, 4-byte salts */
	hex("81aa57e4929c334da1ff2ff79e76cccc2ad3f50742b9b37ebaca43086049870c"
	    "e07bc849f1002172",
	    kb, sizeof(kb), &n);
	ck_assert_int_eq(eim_dtls_key_block(eim_dtls_aead_info(
						    EIM_DTLS_AEAD_AES128_CCM8),
					    ms, cr, sr, &c, &s),
			 0);
	ck_assert_mem_eq(c.key, kb, 16);
	ck_assert_mem_eq(s.key, kb + 16, 16);
	ck_assert_mem_eq(c.iv, kb + 32, 4);
	ck_assert_mem_eq(s.iv, kb + 36, 4);
	/* ChaCha20-Poly1305: 32-byte keys, 12-byte IVs */
	hex("81aa57e4929c334da1ff2ff79e76cccc2ad3f50742b9b37ebaca43086049870c"
	    "e07bc849f10021726837b31a43bcbfd0010a6cd99707a9b151ea146a13fb333b"
	    "386d4144943be2031e89449ac76146d3647696ea442da851",
	    kb, sizeof(kb), &n);
	ck_assert_int_eq(
		eim_dtls_key_block(eim_dtls_aead_info(
					   EIM_DTLS_AEAD_CHACHA20_POLY1305),
				   ms, cr, sr, &c, &s),
		0);
	ck_assert_mem_eq(c.key, kb, 32);
	ck_assert_mem_eq(s.key, kb + 32, 32);
	ck_assert_mem_eq(c.iv, kb + 64, 12);
	ck_assert_mem_eq(s.iv, kb + 76, 12);
	ck_assert_int_eq(eim_dtls_key_block(NULL, ms, cr, sr, &c, &s),
			 EIM_EINVAL);
}
END_TEST

START_TEST(finished_verify_data)
{
	uint8_t ms[48], cr[32], sr[32], h[32], out[12], exp[12];
	size_t n;

	hex("b321d146e9d56bcd9359bd6282f69e12ecc249e04f95c1eccb8a12c956e47d26"
	    "dd6348416ea2a63778884fdee2b34381",
	    ms, sizeof(ms), &n);
	randoms(cr, sr, h);
	ck_assert_int_eq(eim_dtls_verify_data(ms, 1, h, out), 0);
	hex("a2b0f4329fe57e929eb268ac", exp, sizeof(exp), &n);
	ck_assert_mem_eq(out, exp, 12);
	ck_assert_int_eq(eim_dtls_verify_data(ms, 0, h, out), 0);
	hex("2d6fb23f766f9f034d0108e2", exp, sizeof(exp), &n);
	ck_assert_mem_eq(out, exp, 12);
}
END_TEST

START_TEST(aead_info_table)
{
	const struct eim_dtls_aead_info *i;

	i = eim_dtls_aead_info(EIM_DTLS_AEAD_AES128_CCM8);
	ck_assert_ptr_nonnull(i);
	ck_assert_uint_eq(i->tag_len, 8);
	ck_assert_uint_eq(i->explicit_len, 8);
	i = eim_dtls_aead_info(EIM_DTLS_AEAD_CHACHA20_POLY1305);
	ck_assert_uint_eq(i->explicit_len, 0);
	ck_assert_uint_eq(i->fixed_iv_len, 12);
	ck_assert_ptr_null(eim_dtls_aead_info((enum eim_dtls_aead_alg)99));
}
END_TEST

START_TEST(prf_long_secret_matches_hmac)
{
	/* an ECDHE_PSK pre-master secret can exceed the 64-byte block, so
	 * the PRF must hash the key first (RFC 2104) */
	uint8_t secret[100], seed[64], a1[32], want[40], got[40], a2[32];
	uint8_t lab_seed[64 + 13];

	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(0xa0 + i);
	memcpy(lab_seed, "key expansion", 13);
	memcpy(lab_seed + 13, seed, sizeof(seed));
	/* A(1), block 1 = HMAC(A(1) || seed), A(2), block 2 */
	ck_assert_int_eq(eim_dtls_hmac_sha256(secret, sizeof(secret), lab_seed,
					      sizeof(lab_seed), NULL, 0, NULL,
					      0, a1),
			 0);
	ck_assert_int_eq(eim_dtls_hmac_sha256(secret, sizeof(secret), a1, 32,
					      lab_seed, sizeof(lab_seed), NULL,
					      0, want),
			 0);
	ck_assert_int_eq(eim_dtls_hmac_sha256(secret, sizeof(secret), a1, 32,
					      NULL, 0, NULL, 0, a2),
			 0);
	{
		uint8_t b2[32];

		ck_assert_int_eq(eim_dtls_hmac_sha256(secret, sizeof(secret),
						      a2, 32, lab_seed,
						      sizeof(lab_seed), NULL, 0,
						      b2),
				 0);
		memcpy(want + 32, b2, 8);
	}
	ck_assert_int_eq(eim_dtls_prf(secret, sizeof(secret), "key expansion",
				      seed, 32, seed + 32, 32, got,
				      sizeof(got)),
			 0);
	ck_assert_mem_eq(got, want, sizeof(want));
	/* and a 64-byte secret, exactly one block, unhashed */
	ck_assert_int_eq(eim_dtls_hmac_sha256(secret, 64, lab_seed,
					      sizeof(lab_seed), NULL, 0, NULL,
					      0, a1),
			 0);
	ck_assert_int_eq(eim_dtls_hmac_sha256(secret, 64, a1, 32, lab_seed,
					      sizeof(lab_seed), NULL, 0, want),
			 0);
	ck_assert_int_eq(eim_dtls_prf(secret, 64, "key expansion", seed, 32,
				      seed + 32, 32, got, 32),
			 0);
	ck_assert_mem_eq(got, want, 32);
}
END_TEST

static void agree(uint16_t group, size_t want_len)
{
	WC_RNG rng;
	struct eim_dtls_ecdhe *a = NULL, *b = NULL;
	uint8_t pa[EIM_DTLS_ECDHE_PUB_MAX], pb[EIM_DTLS_ECDHE_PUB_MAX];
	uint8_t za[32], zb[32], zero[32] = {0};
	size_t la = 0, lb = 0;

	ck_assert_int_eq(wc_InitRng(&rng), 0);
	ck_assert_int_eq(eim_dtls_ecdhe_new_group(&rng, group, &a, pa, &la), 0);
	ck_assert_int_eq(eim_dtls_ecdhe_new_group(&rng, group, &b, pb, &lb), 0);
	ck_assert_uint_eq(la, want_len);
	ck_assert_uint_eq(lb, want_len);
	ck_assert_uint_eq(eim_dtls_ecdhe_group(a), group);
	ck_assert_int_eq(eim_dtls_ecdhe_shared(a, pb, lb, za), 0);
	ck_assert_int_eq(eim_dtls_ecdhe_shared(b, pa, la, zb), 0);
	ck_assert_mem_eq(za, zb, 32);
	ck_assert_mem_ne(za, zero, 32);
	eim_dtls_ecdhe_free(a);
	eim_dtls_ecdhe_free(b);
	wc_FreeRng(&rng);
}

START_TEST(ecdhe_agree_both_groups)
{
	agree(EIM_DTLS_GROUP_X25519, EIM_DTLS_X25519_POINT_LEN);
	agree(EIM_DTLS_GROUP_SECP256R1, EIM_DTLS_P256_POINT_LEN);
	ck_assert_uint_eq(eim_dtls_ecdhe_group(NULL), 0);
}
END_TEST

START_TEST(ecdhe_refuses_bad_peer_values)
{
	WC_RNG rng;
	struct eim_dtls_ecdhe *x = NULL, *p = NULL;
	uint8_t pub[EIM_DTLS_ECDHE_PUB_MAX], peer[65] = {0}, z[32];
	size_t n;

	ck_assert_int_eq(wc_InitRng(&rng), 0);
	ck_assert_int_eq(eim_dtls_ecdhe_new_group(&rng, 24, &x, pub, &n),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_dtls_ecdhe_new_group(&rng, EIM_DTLS_GROUP_X25519,
						  &x, pub, &n),
			 0);
	ck_assert_int_eq(eim_dtls_ecdhe_new_group(&rng,
						  EIM_DTLS_GROUP_SECP256R1, &p,
						  pub, &n),
			 0);
	/* x25519: 32 bytes exactly; u = 0 and u = 1 have small order and
	 * give an all-zero secret (RFC 7748 section 6.1) */
	ck_assert_int_eq(eim_dtls_ecdhe_shared(x, pub, 31, z), EIM_EMALFORMED);
	ck_assert_int_eq(eim_dtls_ecdhe_shared(x, pub, 33, z), EIM_EMALFORMED);
	ck_assert_int_eq(eim_dtls_ecdhe_shared(x, pub, 65, z), EIM_EMALFORMED);
	ck_assert_int_eq(eim_dtls_ecdhe_shared(x, peer, 32, z), EIM_EMALFORMED);
	peer[0] = 1;
	ck_assert_int_eq(eim_dtls_ecdhe_shared(x, peer, 32, z), EIM_EMALFORMED);
	/* secp256r1: an uncompressed point on the curve only */
	ck_assert_int_eq(eim_dtls_ecdhe_shared(p, pub, 64, z), EIM_EMALFORMED);
	peer[0] = 0x04;
	peer[64] = 1;
	ck_assert_int_eq(eim_dtls_ecdhe_shared(p, peer, 65, z), EIM_EMALFORMED);
	eim_dtls_ecdhe_free(x);
	eim_dtls_ecdhe_free(p);
	wc_FreeRng(&rng);
}
END_TEST

/* Seals "msg" under k with a fixed nonce and AAD into out (len + tag). */
static void seal_msg(const struct eim_dtls_aead_key *k, uint8_t *out,
		     size_t *out_len)
{
	static const uint8_t msg[40] = "a record of forty bytes, for the cache";
	uint8_t nonce[EIM_DTLS_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	uint8_t aad[13] = {0, 1, 0, 0, 0, 0, 0, 7, 23, 0xfe, 0xfd, 0, 40};

	memcpy(out, msg, sizeof(msg));
	ck_assert_int_eq(eim_dtls_aead_seal(k, nonce, aad, sizeof(aad), out,
					    sizeof(msg), out + sizeof(msg)),
			 0);
	*out_len = sizeof(msg) + k->info->tag_len;
}

static void open_msg(const struct eim_dtls_aead_key *k, uint8_t *in, size_t len,
		     int want)
{
	uint8_t nonce[EIM_DTLS_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	uint8_t aad[13] = {0, 1, 0, 0, 0, 0, 0, 7, 23, 0xfe, 0xfd, 0, 40};
	size_t tl = k->info->tag_len;

	ck_assert_int_eq(eim_dtls_aead_open(k, nonce, aad, sizeof(aad), in,
					    len - tl, in + len - tl),
			 want);
}

static void cache_case(enum eim_dtls_aead_alg alg)
{
	struct eim_dtls_aead_cache *c = NULL;
	struct eim_dtls_aead_cache_stats st;
	struct eim_dtls_aead_key a, b, ca, cb;
	uint8_t ref_a[64], ref_b[64], out[64];
	size_t la, lb, n;

	memset(&a, 0, sizeof(a));
	a.info = eim_dtls_aead_info(alg);
	for (size_t i = 0; i < sizeof(a.key); i++)
		a.key[i] = (uint8_t)i;
	b = a;
	b.key[5] ^= 0x80; /* one bit apart */
	/* without a cache: the reference bytes */
	seal_msg(&a, ref_a, &la);
	seal_msg(&b, ref_b, &lb);
	ck_assert_mem_ne(ref_a, ref_b, la);

	ck_assert_int_eq(eim_dtls_aead_cache_new(&c), 0);
	ca = a;
	cb = b;
	eim_dtls_aead_cache_attach(c, &ca);
	eim_dtls_aead_cache_attach(c, &cb);
	ck_assert_ptr_eq(ca.cache, c);
	ck_assert_uint_ne(ca.cache_id, 0);
	ck_assert_uint_eq(cb.cache_id, ca.cache_id + 1);
	seal_msg(&ca, out, &n);
	ck_assert_mem_eq(out, ref_a, la);
	seal_msg(&ca, out, &n); /* second use: from the slot */
	ck_assert_mem_eq(out, ref_a, la);
	open_msg(&ca, out, n, 0);
	eim_dtls_aead_cache_stats(c, &st);
	ck_assert_uint_eq(st.misses, 1);
	ck_assert_uint_eq(st.hits, 2);

	/* b takes a's slot with another number: each use re-expands and
	 * still protects with its own key */
	cb.cache_id = ca.cache_id + EIM_DTLS_AEAD_CACHE_SLOTS;
	seal_msg(&cb, out, &n);
	ck_assert_mem_eq(out, ref_b, lb);
	seal_msg(&ca, out, &n);
	ck_assert_mem_eq(out, ref_a, la);
	/* b with a's very number (a wrapped counter): the raw key differs,
	 * so the slot is not used for b */
	cb.cache_id = ca.cache_id;
	seal_msg(&cb, out, &n);
	ck_assert_mem_eq(out, ref_b, lb);
	memcpy(out, ref_a, la);
	open_msg(&cb, out, la, EIM_EVERIFY); /* b cannot open a's record */
	eim_dtls_aead_cache_stats(c, &st);
	ck_assert_uint_eq(st.hits, 3); /* the open found b's schedule */
	ck_assert_uint_eq(st.misses, 4);

	/* a tampered record does not open from the cache either */
	seal_msg(&ca, out, &n);
	out[3] ^= 1;
	open_msg(&ca, out, n, EIM_EVERIFY);

	/* forget: detached, and the slot no longer holds a's schedule */
	eim_dtls_aead_cache_forget(&ca);
	ck_assert_ptr_null(ca.cache);
	ck_assert_uint_eq(ca.cache_id, 0);
	seal_msg(&ca, out, &n); /* no cache: still right */
	ck_assert_mem_eq(out, ref_a, la);
	cb.cache_id = (uint32_t)(cb.cache_id + EIM_DTLS_AEAD_CACHE_SLOTS);
	eim_dtls_aead_cache_stats(c, &st);
	n = (size_t)st.misses;
	seal_msg(&cb, out, &lb);
	ck_assert_mem_eq(out, ref_b, lb);
	eim_dtls_aead_cache_stats(c, &st);
	ck_assert_uint_eq(st.misses, n + 1);
	eim_dtls_aead_cache_forget(&cb);
	eim_dtls_aead_cache_forget(&cb); /* twice: nothing left to do */
	eim_dtls_aead_cache_free(c);
}

START_TEST(aead_cache_same_bytes_as_uncached)
{
	cache_case(EIM_DTLS_AEAD_AES128_CCM8);
	cache_case(EIM_DTLS_AEAD_AES128_GCM);
}
END_TEST

START_TEST(aead_cache_chacha_and_arguments)
{
	struct eim_dtls_aead_cache *c = NULL;
	struct eim_dtls_aead_cache_stats st;
	struct eim_dtls_aead_key k, ref;
	uint8_t a[64], b[64];
	size_t la, lb;

	ck_assert_int_eq(eim_dtls_aead_cache_new(NULL), EIM_EINVAL);
	eim_dtls_aead_cache_free(NULL);
	eim_dtls_aead_cache_forget(NULL);
	eim_dtls_aead_cache_attach(NULL, NULL);
	memset(&k, 0, sizeof(k));
	k.info = eim_dtls_aead_info(EIM_DTLS_AEAD_CHACHA20_POLY1305);
	memset(k.key, 0x42, sizeof(k.key));
	ref = k;
	/* attaching to no cache leaves the key without one */
	eim_dtls_aead_cache_attach(NULL, &k);
	ck_assert_ptr_null(k.cache);
	ck_assert_int_eq(eim_dtls_aead_cache_new(&c), 0);
	eim_dtls_aead_cache_attach(c, &k);
	seal_msg(&ref, a, &la);
	seal_msg(&k, b, &lb);
	ck_assert_mem_eq(a, b, la);
	open_msg(&k, b, lb, 0);
	eim_dtls_aead_cache_stats(c, &st);
	ck_assert_uint_eq(st.hits + st.misses, 0); /* no AES schedule */
	eim_dtls_aead_cache_forget(&k);
	eim_dtls_aead_cache_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_crypto");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, prf_sha256_vector);
	tcase_add_test(tc, prf_rejects_bad_arguments);
	tcase_add_test(tc, master_secret_plain_and_extended);
	tcase_add_test(tc, key_block_split);
	tcase_add_test(tc, finished_verify_data);
	tcase_add_test(tc, aead_info_table);
	tcase_add_test(tc, prf_long_secret_matches_hmac);
	tcase_add_test(tc, ecdhe_agree_both_groups);
	tcase_add_test(tc, ecdhe_refuses_bad_peer_values);
	tcase_add_test(tc, aead_cache_same_bytes_as_uncached);
	tcase_add_test(tc, aead_cache_chacha_and_arguments);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
