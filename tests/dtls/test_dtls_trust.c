/*
 * Unit tests for transport/eim_dtls_trust: certificate paths with
 * intermediates, path length, key usage, extended key usage, validity
 * (with CAs and for pinned certificates), forged signatures, unknown
 * roots, host names, raw public keys, and the alert each refusal maps to
 * (RFC 5246 7.2.2, RFC 5280 section 6, RFC 7250).
 *
 * Fixtures: tests/dtls/fixtures/test-pki-*, made by make-pki.sh in that
 * folder (see its header for what each certificate is).
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "transport/eim_dtls_cred.h"
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

/* The Certificate message body a peer holding test-pki-NAME sends:
 * NAME.chain.pem when chain, else NAME.cert.pem alone. */
struct msg {
	uint8_t b[EIM_DTLS_CHAIN_MAX];
	size_t n;
};

static void certmsg(const char *name, bool chain, struct msg *m)
{
	char f[128];
	size_t cl, kl, n;
	char *c, *k;
	struct eim_dtls_cred *cr = NULL;
	const uint8_t *p;

	snprintf(f, sizeof(f), "test-pki-%s.%s.pem", name,
		 chain ? "chain" : "cert");
	c = fixture(f, &cl);
	snprintf(f, sizeof(f), "test-pki-%s.key.pem", name);
	k = fixture(f, &kl);
	ck_assert_int_eq(eim_dtls_cred_from_pem(c, cl, k, kl, &cr), 0);
	p = eim_dtls_cred_chain(cr, &n);
	ck_assert_ptr_nonnull(p);
	memcpy(m->b, p, n);
	m->n = n;
	eim_dtls_cred_free(cr);
	free(c);
	free(k);
}

/* P-384 has no cred (our creds are P-256): build its message by hand. */
static void certmsg_pem(const char *file, struct msg *m)
{
	size_t l;
	char *pem = fixture(file, &l);
	uint8_t der[2048];
	int n = wc_CertPemToDer((const unsigned char *)pem, (int)l, der,
				sizeof(der), CERT_TYPE);

	ck_assert_int_gt(n, 0);
	eim_put_be24(m->b, (uint32_t)n + 3);
	eim_put_be24(m->b + 3, (uint32_t)n);
	memcpy(m->b + 6, der, (size_t)n);
	m->n = 6 + (size_t)n;
	free(pem);
}

static struct eim_dtls_trust *trust(const char *file)
{
	size_t l;
	char *pem = fixture(file, &l);
	struct eim_dtls_trust *t = NULL;

	ck_assert_int_eq(eim_dtls_trust_from_pem(pem, l, &t), 0);
	free(pem);
	return t;
}

static int judge(struct eim_dtls_trust *t, unsigned flags, const char *host,
		 const struct msg *m)
{
	uint8_t fp[32], pub[EIM_DTLS_P256_POINT_LEN];

	return eim_dtls_trust_chain(t, flags, host, m->b, m->n, fp, pub);
}

START_TEST(chain_with_intermediate_accepted)
{
	struct eim_dtls_trust *t = trust("test-pki-root.cert.pem");
	struct msg m;
	uint8_t fp[32], pub[EIM_DTLS_P256_POINT_LEN], want[32];

	certmsg("client", true, &m);
	ck_assert_int_eq(eim_dtls_trust_chain(t, 0, NULL, m.b, m.n, fp, pub),
			 0);
	/* fp is SHA-256 of the leaf DER (the first ASN.1Cert) */
	ck_assert_int_eq(wc_Sha256Hash(m.b + 6, eim_get_be24(m.b + 3), want),
			 0);
	ck_assert_mem_eq(fp, want, 32);
	ck_assert_uint_eq(pub[0], 0x04);
	/* the leaf alone does not reach the root */
	certmsg("client", false, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_EPERM);
	eim_dtls_trust_free(t);
	/* trusting the intermediate itself, the leaf alone is enough */
	t = trust("test-pki-int.cert.pem");
	ck_assert_int_eq(judge(t, 0, NULL, &m), 0);
	eim_dtls_trust_free(t);
}
END_TEST

START_TEST(chain_ending_with_the_root_accepted)
{
	struct eim_dtls_trust *t = trust("test-pki-root.cert.pem");
	struct msg m, r;

	certmsg("client", true, &m);
	certmsg_pem("test-pki-root.cert.pem", &r);
	/* append the root's ASN.1Cert to the list */
	memcpy(m.b + m.n, r.b + 3, r.n - 3);
	m.n += r.n - 3;
	eim_put_be24(m.b, (uint32_t)(m.n - 3));
	ck_assert_int_eq(judge(t, 0, NULL, &m), 0);
	eim_dtls_trust_free(t);
}
END_TEST

START_TEST(refusals_and_their_alerts)
{
	struct eim_dtls_trust *t = trust("test-pki-root.cert.pem");
	struct msg m;

	/* int has pathlen:0 but a sub-CA follows it */
	certmsg("client-deep", true, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_ECERT);
	/* keyUsage without digitalSignature */
	certmsg("client-nods", true, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_ECERT);
	/* EKU serverAuth only: not a client, but a server */
	certmsg("client-srveku", true, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_ECERT);
	ck_assert_int_eq(judge(t, EIM_DTLS_TRUST_SERVER, NULL, &m), 0);
	/* validity */
	certmsg("client-expired", true, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_EEXPIRED);
	/* the flag is for pinning only: a CA path is always dated */
	ck_assert_int_eq(judge(t, EIM_DTLS_TRUST_ALLOW_EXPIRED, NULL, &m),
			 EIM_EEXPIRED);
	certmsg("client-future", true, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_EEXPIRED);
	/* issuer name of int, signature by another key */
	certmsg("forged", true, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_ECERT);
	/* self-signed, no CA knows it */
	certmsg("self", false, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_EPERM);
	/* "issued" by a certificate that is not a CA */
	certmsg("notca-child", true, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_ECERT);
	eim_dtls_trust_free(t);
	/* the configured root has pathlen:0 but an intermediate follows;
	 * trusting that intermediate directly, the leaf is fine */
	t = trust("test-pki-root-pl0.cert.pem");
	certmsg("client-pl", true, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_ECERT);
	eim_dtls_trust_free(t);
	t = trust("test-pki-int-pl.cert.pem");
	ck_assert_int_eq(judge(t, 0, NULL, &m), 0);
	eim_dtls_trust_free(t);

	ck_assert_int_eq(eim_dtls_trust_alert(EIM_EPERM), 48);
	ck_assert_int_eq(eim_dtls_trust_alert(EIM_EEXPIRED), 45);
	ck_assert_int_eq(eim_dtls_trust_alert(EIM_ECERT), 42);
	ck_assert_int_eq(eim_dtls_trust_alert(EIM_EUNSUPPORTED), 43);
	ck_assert_int_eq(eim_dtls_trust_alert(EIM_EMALFORMED), 50);
	ck_assert_int_eq(eim_dtls_trust_alert(EIM_ETRUNC), 50);
	ck_assert_int_eq(eim_dtls_trust_alert(EIM_ENOTFOUND), 40);
	ck_assert_int_eq(eim_dtls_trust_alert(EIM_ENOMEM), 80);
}
END_TEST

START_TEST(p384_leaf_unsupported)
{
	struct eim_dtls_trust *t = trust("test-pki-int.cert.pem");
	struct msg m;

	certmsg_pem("test-pki-client-p384.cert.pem", &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_EUNSUPPORTED);
	ck_assert_int_eq(judge(NULL, 0, NULL, &m), EIM_EUNSUPPORTED);
	eim_dtls_trust_free(t);
}
END_TEST

START_TEST(pinned_certificates_are_dated)
{
	struct msg m;

	/* without CAs only the leaf is judged: any issuer is fine */
	certmsg("self", false, &m);
	ck_assert_int_eq(judge(NULL, 0, NULL, &m), 0);
	certmsg("forged", true, &m);
	ck_assert_int_eq(judge(NULL, 0, NULL, &m), 0);
	/* ... but its dates and key usage still count */
	certmsg("self-expired", false, &m);
	ck_assert_int_eq(judge(NULL, 0, NULL, &m), EIM_EEXPIRED);
	ck_assert_int_eq(judge(NULL, EIM_DTLS_TRUST_ALLOW_EXPIRED, NULL, &m),
			 0);
	certmsg("client-future", true, &m);
	ck_assert_int_eq(judge(NULL, 0, NULL, &m), EIM_EEXPIRED);
	ck_assert_int_eq(judge(NULL, EIM_DTLS_TRUST_ALLOW_EXPIRED, NULL, &m),
			 0);
	certmsg("client-nods", true, &m);
	ck_assert_int_eq(judge(NULL, 0, NULL, &m), EIM_ECERT);
	/* the client-side wrapper passes the flag and drops SERVER */
	{
		uint8_t fp[32], pub[EIM_DTLS_P256_POINT_LEN];

		certmsg("self-expired", false, &m);
		ck_assert_int_eq(eim_dtls_trust_client(NULL, false, 0, m.b, m.n,
						       fp, pub),
				 EIM_EEXPIRED);
		ck_assert_int_eq(
			eim_dtls_trust_client(NULL, false,
					      EIM_DTLS_TRUST_ALLOW_EXPIRED, m.b,
					      m.n, fp, pub),
			0);
		certmsg("client-srveku", true, &m);
		ck_assert_int_eq(eim_dtls_trust_client(NULL, false,
						       EIM_DTLS_TRUST_SERVER,
						       m.b, m.n, fp, pub),
				 EIM_ECERT);
	}
}
END_TEST

START_TEST(server_names)
{
	struct eim_dtls_trust *t = trust("test-pki-root.cert.pem");
	struct msg m;

	certmsg("server", true, &m);
	ck_assert_int_eq(judge(t, EIM_DTLS_TRUST_SERVER, NULL, &m), 0);
	ck_assert_int_eq(judge(t, EIM_DTLS_TRUST_SERVER, "eim.test", &m), 0);
	ck_assert_int_eq(judge(t, EIM_DTLS_TRUST_SERVER, "EIM.Test", &m), 0);
	ck_assert_int_eq(judge(t, EIM_DTLS_TRUST_SERVER, "127.0.0.1", &m), 0);
	ck_assert_int_eq(judge(t, EIM_DTLS_TRUST_SERVER, "other.test", &m),
			 EIM_ECERT);
	ck_assert_int_eq(judge(t, EIM_DTLS_TRUST_SERVER, "x.eim.test", &m),
			 EIM_ECERT);
	ck_assert_int_eq(judge(t, EIM_DTLS_TRUST_SERVER, "127.0.0.2", &m),
			 EIM_ECERT);
	ck_assert_int_eq(judge(t, EIM_DTLS_TRUST_SERVER, "::1", &m), EIM_ECERT);
	/* a server certificate (EKU serverAuth) cannot act as a client */
	ck_assert_int_eq(judge(t, 0, NULL, &m), EIM_ECERT);
	eim_dtls_trust_free(t);
}
END_TEST

START_TEST(framing_and_limits)
{
	struct eim_dtls_trust *t = trust("test-pki-root.cert.pem");
	struct msg m, one;
	uint8_t fp[32], pub[EIM_DTLS_P256_POINT_LEN];

	certmsg("client", true, &m);
	ck_assert_int_eq(eim_dtls_trust_chain(t, 0, NULL, m.b, m.n - 1, fp,
					      pub),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_dtls_trust_chain(t, 0, NULL, m.b, 2, fp, pub),
			 EIM_ETRUNC);
	ck_assert_int_eq(eim_dtls_trust_chain(t, 0, NULL,
					      (const uint8_t *)"\0\0\0", 3, fp,
					      pub),
			 EIM_ENOTFOUND);
	/* two trailing bytes after the last ASN.1Cert: no room for a length */
	m.b[m.n] = 0;
	m.b[m.n + 1] = 0;
	eim_put_be24(m.b, (uint32_t)(m.n - 1));
	ck_assert_int_eq(eim_dtls_trust_chain(t, 0, NULL, m.b, m.n + 2, fp,
					      pub),
			 EIM_ETRUNC);
	/* six certificates: over EIM_DTLS_TRUST_MAX_CERTS */
	certmsg("self", false, &one);
	m.n = 3;
	for (int i = 0; i < EIM_DTLS_TRUST_MAX_CERTS + 1; i++) {
		memcpy(m.b + m.n, one.b + 3, one.n - 3);
		m.n += one.n - 3;
	}
	eim_put_be24(m.b, (uint32_t)(m.n - 3));
	ck_assert_int_eq(eim_dtls_trust_chain(t, 0, NULL, m.b, m.n, fp, pub),
			 EIM_ECERT);
	/* a leaf that is not DER */
	memcpy(m.b, one.b, one.n);
	m.b[6] ^= 0xff;
	ck_assert_int_eq(eim_dtls_trust_chain(t, 0, NULL, m.b, one.n, fp, pub),
			 EIM_ECERT);
	ck_assert_int_eq(eim_dtls_trust_chain(NULL, 0, NULL, m.b, one.n, fp,
					      pub),
			 EIM_ECERT);
	ck_assert_int_eq(eim_dtls_trust_chain(t, 0, NULL, NULL, 1, fp, pub),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_dtls_trust_chain(t, 0, NULL, one.b, one.n, NULL,
					      pub),
			 EIM_EINVAL);
	eim_dtls_trust_free(t);
}
END_TEST

START_TEST(trust_store_loading)
{
	struct eim_dtls_trust *t = NULL;
	size_t rl, il;
	char *root = fixture("test-pki-root.cert.pem", &rl);
	char *in = fixture("test-pki-int.cert.pem", &il);
	char *both = calloc(1, rl + il + 1);
	struct msg m;

	/* two anchors in one PEM text: either one is enough */
	memcpy(both, in, il);
	memcpy(both + il, root, rl);
	ck_assert_int_eq(eim_dtls_trust_from_pem(both, rl + il, &t), 0);
	certmsg("client", false, &m);
	ck_assert_int_eq(judge(t, 0, NULL, &m), 0);
	eim_dtls_trust_free(t);
	/* a block without its END line, a corrupted block, no block */
	ck_assert_int_eq(eim_dtls_trust_from_pem(root, rl - 30, &t), EIM_ECERT);
	root[40] = root[40] == 'A' ? 'B' : 'A';
	root[41] = '!';
	ck_assert_int_eq(eim_dtls_trust_from_pem(root, rl, &t), EIM_ECERT);
	ck_assert_int_eq(eim_dtls_trust_from_pem("hello", 5, &t), EIM_ECERT);
	ck_assert_int_eq(eim_dtls_trust_from_pem(NULL, 5, &t), EIM_EINVAL);
	ck_assert_int_eq(eim_dtls_trust_from_pem(in, 0, &t), EIM_EINVAL);
	free(root);
	free(in);
	free(both);
}
END_TEST

START_TEST(raw_public_key_fingerprint)
{
	size_t kl, hl, n;
	char *key = fixture("test-pki-server.key.pem", &kl);
	char *hex = fixture("test-pki-server.spki.sha256", &hl);
	struct eim_dtls_cred *c = NULL;
	const uint8_t *r;
	uint8_t fp[32], want[32], pub[EIM_DTLS_P256_POINT_LEN];
	size_t wl = 0;

	ck_assert_int_eq(eim_dtls_cred_from_pem(NULL, 0, key, kl, &c), 0);
	r = eim_dtls_cred_rpk(c, &n);
	ck_assert_int_eq(eim_dtls_trust_rpk(r, n, fp, pub), 0);
	/* the same value openssl computes (make-pki.sh) */
	ck_assert_int_eq(eim_hex_decode(hex, 64, want, sizeof(want), &wl), 0);
	ck_assert_uint_eq(wl, 32);
	ck_assert_mem_eq(fp, want, 32);
	ck_assert_int_eq(eim_dtls_trust_rpk(r, 2, fp, pub), EIM_ETRUNC);
	ck_assert_int_eq(eim_dtls_trust_rpk(r, n - 1, fp, pub), EIM_EMALFORMED);
	ck_assert_int_eq(eim_dtls_trust_rpk((const uint8_t *)"\0\0\0", 3, fp,
					    pub),
			 EIM_ENOTFOUND);
	eim_dtls_cred_free(c);
	free(key);
	free(hex);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_trust");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, chain_with_intermediate_accepted);
	tcase_add_test(tc, chain_ending_with_the_root_accepted);
	tcase_add_test(tc, refusals_and_their_alerts);
	tcase_add_test(tc, p384_leaf_unsupported);
	tcase_add_test(tc, pinned_certificates_are_dated);
	tcase_add_test(tc, server_names);
	tcase_add_test(tc, framing_and_limits);
	tcase_add_test(tc, trust_store_loading);
	tcase_add_test(tc, raw_public_key_fingerprint);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
