/*
 * Unit tests for transport/eim_dtls_cred: certificate chain and P-256 key
 * from PEM, and the ServerKeyExchange signature.
 *
 * Fixtures in tests/dtls/fixtures/ are throw-away test material made with
 * the openssl CLI (never used anywhere else): test-dtls-server.cert.pem
 * (412 bytes of DER, CN=127.0.0.1, issued by test-dtls-ca.cert.pem, 437
 * bytes of DER), its key as SEC1 and as PKCS#8, and a P-384 key.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>

#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "transport/eim_dtls_cred.h"
#include "transport/eim_dtls_hs.h"
#include "transport/eim_dtls_server.h"
#include "transport/eim_dtls_trust.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fixture(const char *name, size_t *len)
{
	char path[1024];
	const char *root = getenv("EIM_SOURCE_ROOT");
	FILE *f;
	char *b;
	long n;

	snprintf(path, sizeof(path), "%s/tests/dtls/fixtures/%s",
		 root ? root : ".", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

START_TEST(chain_and_key_load)
{
	size_t cl, sl, kl, n = 0;
	char *srv = fixture("test-dtls-server.cert.pem", &sl);
	char *ca = fixture("test-dtls-ca.cert.pem", &cl);
	char *key = fixture(_i ? "test-dtls-server.pkcs8.key.pem"
			       : "test-dtls-server.key.pem",
			    &kl);
	char *chain = calloc(1, sl + cl + 1);
	struct eim_dtls_cred *c = NULL;
	const uint8_t *m;

	memcpy(chain, srv, sl);
	memcpy(chain + sl, ca, cl);
	ck_assert_int_eq(eim_dtls_cred_from_pem(chain, sl + cl, key, kl, &c),
			 0);
	m = eim_dtls_cred_chain(c, &n);
	/* list length, then each certificate with its 3-byte length */
	ck_assert_uint_eq(n, 3 + 3 + 412 + 3 + 437);
	ck_assert_uint_eq(eim_get_be24(m), 3 + 412 + 3 + 437);
	ck_assert_uint_eq(eim_get_be24(m + 3), 412);
	ck_assert_uint_eq(m[6], 0x30); /* DER SEQUENCE */
	ck_assert_uint_eq(eim_get_be24(m + 3 + 3 + 412), 437);
	eim_dtls_cred_free(c);
	free(srv);
	free(ca);
	free(key);
	free(chain);
}
END_TEST

START_TEST(signature_verifies_with_certificate_key)
{
	size_t sl, kl, siglen = 0, n = 0;
	char *srv = fixture("test-dtls-server.cert.pem", &sl);
	char *key = fixture("test-dtls-server.key.pem", &kl);
	struct eim_dtls_cred *c = NULL;
	uint8_t h[32], sig[EIM_DTLS_ECDSA_SIG_MAX], spki[256];
	word32 spki_len = sizeof(spki), idx = 0;
	const uint8_t *m;
	struct DecodedCert dc;
	WC_RNG rng;
	ecc_key pub;
	int ok = 0;

	ck_assert_int_eq(eim_dtls_cred_from_pem(srv, sl, key, kl, &c), 0);
	ck_assert_int_eq(wc_InitRng(&rng), 0);
	memset(h, 0xab, sizeof(h));
	ck_assert_int_eq(eim_dtls_cred_sign(c, &rng, h, sig, &siglen), 0);
	ck_assert_uint_le(siglen, 72);
	ck_assert_uint_eq(sig[0], 0x30);
	/* independent check: the certificate's own public key verifies it */
	m = eim_dtls_cred_chain(c, &n);
	wc_InitDecodedCert(&dc, m + 6, eim_get_be24(m + 3), NULL);
	ck_assert_int_eq(wc_ParseCert(&dc, CERT_TYPE, 0 /* NO_VERIFY */, NULL),
			 0);
	ck_assert_int_eq(wc_GetPubKeyDerFromCert(&dc, spki, &spki_len), 0);
	ck_assert_int_eq(wc_ecc_init(&pub), 0);
	ck_assert_int_eq(wc_EccPublicKeyDecode(spki, &idx, &pub, spki_len), 0);
	ck_assert_int_eq(wc_ecc_verify_hash(sig, (word32)siglen, h, 32, &ok,
					    &pub),
			 0);
	ck_assert_int_eq(ok, 1);
	h[0] ^= 1;
	ck_assert_int_eq(wc_ecc_verify_hash(sig, (word32)siglen, h, 32, &ok,
					    &pub),
			 0);
	ck_assert_int_eq(ok, 0);
	wc_ecc_free(&pub);
	wc_FreeDecodedCert(&dc);
	wc_FreeRng(&rng);
	eim_dtls_cred_free(c);
	free(srv);
	free(key);
}
END_TEST

START_TEST(malformed_inputs)
{
	size_t sl, kl, k3l;
	char *srv = fixture("test-dtls-server.cert.pem", &sl);
	char *key = fixture("test-dtls-server.key.pem", &kl);
	char *p384 = fixture("test-dtls-p384.key.pem", &k3l);
	struct eim_dtls_cred *c = NULL;
	char buf[2048];

	/* no certificate block */
	ck_assert_int_eq(eim_dtls_cred_from_pem("hello", 5, key, kl, &c),
			 EIM_ECERT);
	/* a block cut before its END line */
	ck_assert_int_eq(eim_dtls_cred_from_pem(srv, sl - 30, key, kl, &c),
			 EIM_ECERT);
	/* damaged base64 inside the block */
	memcpy(buf, srv, sl);
	memset(buf + 100, '!', 20);
	ck_assert_int_eq(eim_dtls_cred_from_pem(buf, sl, key, kl, &c),
			 EIM_ECERT);
	/* a key on another curve, and a key that is no key */
	ck_assert_int_eq(eim_dtls_cred_from_pem(srv, sl, p384, k3l, &c),
			 EIM_EUNSUPPORTED);
	ck_assert_int_eq(eim_dtls_cred_from_pem(srv, sl, "junk", 4, &c),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_dtls_cred_from_pem(srv, sl, NULL, 0, &c),
			 EIM_EINVAL);
	/* too long a chain */
	{
		size_t reps = 8192 / 412 + 2, o = 0;
		char *big = calloc(reps, sl);

		for (size_t i = 0; i < reps; i++, o += sl)
			memcpy(big + o, srv, sl);
		ck_assert_int_eq(eim_dtls_cred_from_pem(big, o, key, kl, &c),
				 EIM_ETOOBIG);
		free(big);
	}
	ck_assert_ptr_null(c);
	free(srv);
	free(key);
	free(p384);
}
END_TEST

static int no_send(void *ctx, const struct sockaddr *to, socklen_t tl,
		   const uint8_t *d, size_t n)
{
	(void)ctx;
	(void)to;
	(void)tl;
	(void)d;
	(void)n;
	return 0;
}

static int no_psk(void *ctx, const uint8_t *id, size_t idlen, uint8_t *key,
		  size_t *key_len)
{
	(void)ctx;
	(void)id;
	(void)idlen;
	(void)key;
	(void)key_len;
	return EIM_ENOTFOUND;
}

static int no_pin(void *ctx, enum eim_dtls_identity_kind kind,
		  const uint8_t fp[32])
{
	(void)ctx;
	(void)kind;
	(void)fp;
	return EIM_ENOTFOUND;
}

START_TEST(server_certificate_config)
{
	size_t sl, kl;
	char *srv = fixture("test-dtls-server.cert.pem", &sl);
	char *key = fixture("test-dtls-server.key.pem", &kl);
	struct eim_dtls_server_config sc;
	struct eim_dtls_server *s = NULL;
	static const uint16_t ecdsa[] = {EIM_DTLS_ECDHE_ECDSA_AES128_CCM8};
	static const uint16_t psk[] = {EIM_DTLS_PSK_AES128_CCM8};

	eim_dtls_server_config_init(&sc);
	sc.send = no_send;
	/* an ECDSA suite needs a certificate */
	sc.suites = ecdsa;
	sc.n_suites = 1;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &s), EIM_EINVAL);
	/* certificate without key */
	sc.cert_pem = srv;
	sc.cert_pem_len = sl;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &s), EIM_EINVAL);
	/* a certificate-only server is fine, a PSK suite then is not */
	sc.key_pem = key;
	sc.key_pem_len = kl;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &s), 0);
	eim_dtls_server_free(s);
	s = NULL;
	sc.suites = psk;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &s), EIM_EINVAL);
	/* the credential errors come through */
	sc.suites = NULL;
	sc.n_suites = 0;
	sc.cert_pem = "nothing";
	sc.cert_pem_len = 7;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &s), EIM_ECERT);
	ck_assert_ptr_null(s);
	free(srv);
	free(key);
}
END_TEST

/* SHA-256 of the DER of the first certificate in a PEM text. */
static void pem_cert_sha256(const char *pem, size_t len, uint8_t out[32])
{
	uint8_t der[2048];
	int n = wc_CertPemToDer((const unsigned char *)pem, (int)len, der,
				sizeof(der), CERT_TYPE);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(wc_Sha256Hash(der, (word32)n, out), 0);
}

START_TEST(client_certificate_and_raw_key)
{
	size_t sl, cl, kl, k3l, n = 0, rn = 0, siglen = 0;
	char *srv = fixture("test-dtls-server.cert.pem", &sl);
	char *ca = fixture("test-dtls-ca.cert.pem", &cl);
	char *key = fixture("test-dtls-server.key.pem", &kl);
	char *p384 = fixture("test-dtls-p384.key.pem", &k3l);
	struct eim_dtls_cred *c = NULL, *rpk_only = NULL;
	struct eim_dtls_trust *t = NULL, *wrong = NULL;
	uint8_t fp[32], want[32], pub[EIM_DTLS_P256_POINT_LEN], h[32];
	uint8_t sig[EIM_DTLS_ECDSA_SIG_MAX], spki[256], msg[512];
	word32 spki_len = sizeof(spki);
	const uint8_t *m, *r;
	struct DecodedCert dc;
	WC_RNG rng;

	ck_assert_int_eq(eim_dtls_cred_from_pem(srv, sl, key, kl, &c), 0);
	ck_assert_int_eq(eim_dtls_trust_from_pem(ca, cl, &t), 0);
	m = eim_dtls_cred_chain(c, &n);
	pem_cert_sha256(srv, sl, want);

	/* issued by the CA: accepted, fingerprint = SHA-256 of the DER, and
	 * the returned key verifies what the certificate's key signs */
	ck_assert_int_eq(eim_dtls_trust_client(t, false, 0, m, n, fp, pub), 0);
	ck_assert_mem_eq(fp, want, 32);
	ck_assert_int_eq(wc_InitRng(&rng), 0);
	memset(h, 0x5a, sizeof(h));
	ck_assert_int_eq(eim_dtls_cred_sign(c, &rng, h, sig, &siglen), 0);
	ck_assert_int_eq(eim_dtls_ecdsa_verify(pub, h, sig, siglen), 0);
	/* pinning only (no CA): the same fingerprint */
	memset(fp, 0, sizeof(fp));
	ck_assert_int_eq(eim_dtls_trust_client(NULL, false, 0, m, n, fp, pub),
			 0);
	ck_assert_mem_eq(fp, want, 32);
	/* a trust store without the issuer: unknown CA */
	{
		size_t ol;
		char *other = fixture("test-pki-root.cert.pem", &ol);

		ck_assert_int_eq(eim_dtls_trust_from_pem(other, ol, &wrong), 0);
		free(other);
	}
	ck_assert_int_eq(eim_dtls_trust_client(wrong, false, 0, m, n, fp, pub),
			 EIM_EPERM);
	/* no certificate at all, and broken framing */
	ck_assert_int_eq(eim_dtls_trust_client(t, false, 0,
					       (const uint8_t *)"\0\0\0", 3, fp,
					       pub),
			 EIM_ENOTFOUND);
	ck_assert_int_eq(eim_dtls_trust_client(t, false, 0, m, 2, fp, pub),
			 EIM_ETRUNC);
	ck_assert_int_eq(eim_dtls_trust_client(t, false, 0, m, n - 1, fp, pub),
			 EIM_EMALFORMED);
	memcpy(msg, m, 10);
	eim_put_be24(msg, 2);
	ck_assert_int_eq(eim_dtls_trust_client(t, false, 0, msg, 5, fp, pub),
			 EIM_ETRUNC);
	eim_put_be24(msg, 7);
	eim_put_be24(msg + 3, 0); /* an empty ASN.1Cert */
	ck_assert_int_eq(eim_dtls_trust_client(t, false, 0, msg, 10, fp, pub),
			 EIM_EMALFORMED);

	/* raw public key: our SPKI equals the certificate's, independently
	 * extracted by wolfSSL's certificate parser */
	r = eim_dtls_cred_rpk(c, &rn);
	wc_InitDecodedCert(&dc, m + 6, eim_get_be24(m + 3), NULL);
	ck_assert_int_eq(wc_ParseCert(&dc, CERT_TYPE, 0, NULL), 0);
	ck_assert_int_eq(wc_GetPubKeyDerFromCert(&dc, spki, &spki_len), 0);
	wc_FreeDecodedCert(&dc);
	ck_assert_uint_eq(rn, 3 + spki_len);
	ck_assert_uint_eq(eim_get_be24(r), spki_len);
	ck_assert_mem_eq(r + 3, spki, spki_len);
	ck_assert_int_eq(wc_Sha256Hash(spki, spki_len, want), 0);
	ck_assert_int_eq(eim_dtls_trust_client(t, true, 0, r, rn, fp, pub), 0);
	ck_assert_mem_eq(fp, want, 32);
	ck_assert_int_eq(eim_dtls_ecdsa_verify(pub, h, sig, siglen), 0);
	/* a raw-key-only credential: no chain, the same raw key */
	ck_assert_int_eq(eim_dtls_cred_from_pem(NULL, 0, key, kl, &rpk_only),
			 0);
	ck_assert_ptr_null(eim_dtls_cred_chain(rpk_only, &n));
	ck_assert_mem_eq(eim_dtls_cred_rpk(rpk_only, &n), r, rn);
	/* raw key errors: empty, length mismatch, trailing byte, not a key,
	 * another curve */
	ck_assert_int_eq(eim_dtls_trust_client(NULL, true, 0,
					       (const uint8_t *)"\0\0\0", 3, fp,
					       pub),
			 EIM_ENOTFOUND);
	ck_assert_int_eq(eim_dtls_trust_client(NULL, true, 0, r, 2, fp, pub),
			 EIM_ETRUNC);
	ck_assert_int_eq(eim_dtls_trust_client(NULL, true, 0, r, rn - 1, fp,
					       pub),
			 EIM_EMALFORMED);
	memcpy(msg, r, rn);
	msg[rn] = 0;
	eim_put_be24(msg, (uint32_t)(rn - 2));
	ck_assert_int_eq(eim_dtls_trust_client(NULL, true, 0, msg, rn + 1, fp,
					       pub),
			 EIM_ECERT);
	memcpy(msg, r, rn);
	msg[3 + 20] ^= 0xff; /* inside the algorithm identifier */
	ck_assert_int_eq(eim_dtls_trust_client(NULL, true, 0, msg, rn, fp, pub),
			 EIM_ECERT);
	eim_dtls_cred_free(rpk_only);
	rpk_only = NULL;
	ck_assert_int_eq(eim_dtls_cred_from_pem(NULL, 0, p384, k3l, &rpk_only),
			 EIM_EUNSUPPORTED);
	ck_assert_int_eq(eim_dtls_trust_client(NULL, true, 0, NULL, 0, fp, pub),
			 EIM_ETRUNC);
	ck_assert_int_eq(eim_dtls_trust_client(NULL, true, 0, r, rn, NULL, pub),
			 EIM_EINVAL);

	wc_FreeRng(&rng);
	eim_dtls_trust_free(t);
	eim_dtls_trust_free(wrong);
	eim_dtls_cred_free(c);
	free(srv);
	free(ca);
	free(key);
	free(p384);
}
END_TEST

START_TEST(client_auth_config)
{
	size_t cl, kl;
	char *ca = fixture("test-dtls-ca.cert.pem", &cl);
	char *key = fixture("test-dtls-server.key.pem", &kl);
	struct eim_dtls_server_config sc;
	struct eim_dtls_server *s = NULL;

	eim_dtls_server_config_init(&sc);
	sc.send = no_send;
	/* client CAs without a server key to run ECDHE_ECDSA with */
	sc.psk_lookup = no_psk;
	sc.ca_pem = ca;
	sc.ca_pem_len = cl;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &s), EIM_EINVAL);
	sc.ca_pem = NULL;
	sc.cert_check = no_pin;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &s), EIM_EINVAL);
	/* a raw-key-only server with pins and CAs */
	sc.key_pem = key;
	sc.key_pem_len = kl;
	sc.ca_pem = ca;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &s), 0);
	eim_dtls_server_free(s);
	s = NULL;
	/* a CA text with no certificate in it */
	sc.ca_pem = "no CA here";
	sc.ca_pem_len = 10;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &s), EIM_ECERT);
	ck_assert_ptr_null(s);
	free(ca);
	free(key);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_cred");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, chain_and_key_load, 0, 2);
	tcase_add_test(tc, signature_verifies_with_certificate_key);
	tcase_add_test(tc, malformed_inputs);
	tcase_add_test(tc, server_certificate_config);
	tcase_add_test(tc, client_certificate_and_raw_key);
	tcase_add_test(tc, client_auth_config);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
