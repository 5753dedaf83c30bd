/*
 * eim_dtls_cred.c - server certificate chain and P-256 key from PEM, on
 * wolfCrypt (RFC 5246 section 7.4.2, RFC 8422 section 5.4). See
 * eim_dtls_cred.h.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "transport/eim_dtls_cred.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"

#include <string.h>

struct eim_dtls_cred {
	ecc_key key;
	/* RFC 7250 Certificate body: uint24 length, SubjectPublicKeyInfo */
	size_t rpk_len;
	uint8_t rpk[3 + 128];
	size_t chain_len; /* 0: no certificate, raw public key only */
	uint8_t chain[EIM_DTLS_CHAIN_MAX];
};

static const char *find(const char *h, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(h + i, needle, k) == 0)
			return h + i;
	return NULL;
}

static int load_chain(struct eim_dtls_cred *c, const char *pem, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	const char *p = pem, *stop = pem + len;
	uint8_t *der = NULL;
	size_t o = 3;
	int rc = EIM_ECERT;

	der = eim_malloc(EIM_DTLS_CHAIN_MAX);
	if (!der)
		return EIM_ENOMEM;
	for (;;) {
		const char *b = find(p, (size_t)(stop - p), begin), *e;
		int n;

		if (!b)
			break;
		e = find(b, (size_t)(stop - b), end);
		if (!e) {
			rc = EIM_ECERT;
			goto out;
		}
		e += sizeof(end) - 1;
		n = wc_CertPemToDer((const unsigned char *)b, (int)(e - b), der,
				    EIM_DTLS_CHAIN_MAX, CERT_TYPE);
		if (n <= 0) {
			rc = EIM_ECERT;
			goto out;
		}
		if (o + 3 + (size_t)n > sizeof(c->chain)) {
			rc = EIM_ETOOBIG;
			goto out;
		}
		eim_put_be24(c->chain + o, (uint32_t)n);
		memcpy(c->chain + o + 3, der, (size_t)n);
		o += 3 + (size_t)n;
		p = e;
	}
	if (o == 3)
		goto out; /* no certificate at all */
	eim_put_be24(c->chain, (uint32_t)(o - 3));
	c->chain_len = o;
	rc = 0;
out:
	eim_free(der);
	return rc;
}

static int load_key(struct eim_dtls_cred *c, const char *pem, size_t len)
{
	uint8_t der[512];
	word32 idx = 0;
	int n, rc = EIM_EMALFORMED;

	n = wc_KeyPemToDer((const unsigned char *)pem, (int)len, der,
			   sizeof(der), NULL);
	if (n <= 0)
		return EIM_EMALFORMED;
	if (wc_EccPrivateKeyDecode(der, &idx, &c->key, (word32)n) == 0) {
		rc = c->key.dp && c->key.dp->id == ECC_SECP256R1
			     ? 0
			     : EIM_EUNSUPPORTED;
	}
	eim_wipe(der, sizeof(der));
	if (rc)
		return rc;
	/* PKCS#8 may omit the public point: compute it */
	if (c->key.type == ECC_PRIVATEKEY_ONLY &&
	    wc_ecc_make_pub(&c->key, NULL) != 0)
		return EIM_ECRYPTO;
	/* the public half as a SubjectPublicKeyInfo with its curve OID */
	n = wc_EccPublicKeyToDer(&c->key, c->rpk + 3,
				 (word32)(sizeof(c->rpk) - 3), 1);
	if (n <= 0)
		return EIM_ECRYPTO;
	eim_put_be24(c->rpk, (uint32_t)n);
	c->rpk_len = 3 + (size_t)n;
	return 0;
}

int eim_dtls_cred_from_pem(const char *cert_pem, size_t cert_len,
			   const char *key_pem, size_t key_len,
			   struct eim_dtls_cred **ret)
{
	struct eim_dtls_cred *c;
	int rc;

	if (!key_pem || !ret || cert_len > INT32_MAX || key_len > INT32_MAX)
		return EIM_EINVAL;
	c = eim_calloc(1, sizeof(*c));
	if (!c)
		return EIM_ENOMEM;
	if (wc_ecc_init(&c->key) != 0) {
		eim_free(c);
		return EIM_ECRYPTO;
	}
	rc = cert_pem ? load_chain(c, cert_pem, cert_len) : 0;
	if (!rc)
		rc = load_key(c, key_pem, key_len);
	if (rc) {
		eim_dtls_cred_free(c);
		return rc;
	}
	*ret = c;
	return 0;
}

const uint8_t *eim_dtls_cred_chain(const struct eim_dtls_cred *c, size_t *len)
{
	if (!c || !len || !c->chain_len)
		return NULL;
	*len = c->chain_len;
	return c->chain;
}

const uint8_t *eim_dtls_cred_rpk(const struct eim_dtls_cred *c, size_t *len)
{
	if (!c || !len)
		return NULL;
	*len = c->rpk_len;
	return c->rpk;
}

int eim_dtls_cred_sign(struct eim_dtls_cred *c, struct WC_RNG *rng,
		       const uint8_t hash[32], uint8_t *sig, size_t *sig_len)
{
	word32 n = EIM_DTLS_ECDSA_SIG_MAX;

	if (!c || !rng || !hash || !sig || !sig_len)
		return EIM_EINVAL;
	if (wc_ecc_sign_hash(hash, 32, sig, &n, rng, &c->key) != 0)
		return EIM_ECRYPTO;
	*sig_len = n;
	return 0;
}

void eim_dtls_cred_free(struct eim_dtls_cred *c)
{
	if (!c)
		return;
	wc_ecc_free(&c->key);
	eim_free_secret(c, sizeof(*c));
}
