/*
 * eim_dtls_trust.c - server certificate check and ECDSA verification for
 * the DTLS client, on wolfSSL's certificate manager and wolfCrypt. See
 * eim_dtls_trust.h.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "transport/eim_dtls_trust.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"

#include <string.h>

struct eim_dtls_trust {
	WOLFSSL_CERT_MANAGER *cm;
};

int eim_dtls_trust_from_pem(const char *ca_pem, size_t len,
			    struct eim_dtls_trust **ret)
{
	struct eim_dtls_trust *t;

	if (!ca_pem || !ret || len == 0 || len > INT32_MAX)
		return EIM_EINVAL;
	t = eim_calloc(1, sizeof(*t));
	if (!t)
		return EIM_ENOMEM;
	t->cm = wolfSSL_CertManagerNew();
	if (!t->cm) {
		eim_free(t);
		return EIM_ENOMEM;
	}
	if (wolfSSL_CertManagerLoadCABuffer(t->cm, (const unsigned char *)ca_pem,
					    (long)len, WOLFSSL_FILETYPE_PEM) !=
	    WOLFSSL_SUCCESS) {
		eim_dtls_trust_free(t);
		return EIM_ECERT;
	}
	*ret = t;
	return 0;
}

void eim_dtls_trust_free(struct eim_dtls_trust *t)
{
	if (!t)
		return;
	if (t->cm)
		wolfSSL_CertManagerFree(t->cm);
	eim_free(t);
}

/* A SubjectPublicKeyInfo's key as an uncompressed P-256 point. */
static int spki_key(const uint8_t *spki, size_t spki_len,
		    uint8_t pub[EIM_DTLS_P256_POINT_LEN])
{
	word32 idx = 0, n = EIM_DTLS_P256_POINT_LEN;
	ecc_key k;
	int rc = EIM_ECERT;

	if (spki_len > 4096)
		return EIM_ECERT;
	if (wc_ecc_init(&k) != 0)
		return EIM_ECRYPTO;
	/* the whole buffer must be the SPKI: no trailing bytes */
	if (wc_EccPublicKeyDecode(spki, &idx, &k, (word32)spki_len) != 0 ||
	    idx != spki_len)
		goto out; /* not an EC key */
	rc = EIM_EUNSUPPORTED;
	if (!k.dp || k.dp->id != ECC_SECP256R1)
		goto out;
	rc = EIM_ECRYPTO;
	if (wc_ecc_export_x963(&k, pub, &n) != 0 ||
	    n != EIM_DTLS_P256_POINT_LEN)
		goto out;
	rc = 0;
out:
	wc_ecc_free(&k);
	return rc;
}

/* The leaf's public key as an uncompressed P-256 point. */
static int leaf_key(const uint8_t *der, size_t len,
		    uint8_t pub[EIM_DTLS_P256_POINT_LEN])
{
	struct DecodedCert dc;
	uint8_t spki[256];
	word32 spki_len = sizeof(spki);

	wc_InitDecodedCert(&dc, der, (word32)len, NULL);
	if (wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL) != 0 ||
	    wc_GetPubKeyDerFromCert(&dc, spki, &spki_len) != 0) {
		wc_FreeDecodedCert(&dc);
		return EIM_ECERT;
	}
	wc_FreeDecodedCert(&dc);
	return spki_key(spki, spki_len, pub);
}

/* certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>: the leaf. */
static int first_cert(const uint8_t *msg, size_t len, const uint8_t **leaf,
		      size_t *leaf_len)
{
	size_t list, n;

	if (len < 3)
		return EIM_ETRUNC;
	list = eim_get_be24(msg);
	if (list != len - 3)
		return EIM_EMALFORMED;
	if (list == 0)
		return EIM_ENOTFOUND;
	if (list < 3)
		return EIM_ETRUNC;
	n = eim_get_be24(msg + 3);
	if (n == 0 || n > list - 3)
		return EIM_EMALFORMED;
	*leaf = msg + 6;
	*leaf_len = n;
	return 0;
}

int eim_dtls_trust_client(struct eim_dtls_trust *t, bool rpk,
			  const uint8_t *msg, size_t len, uint8_t fp[32],
			  uint8_t pub[EIM_DTLS_P256_POINT_LEN])
{
	const uint8_t *der;
	size_t der_len;
	uint8_t h[32], k[EIM_DTLS_P256_POINT_LEN];
	int rc;

	if ((!msg && len) || !fp || !pub)
		return EIM_EINVAL;
	if (rpk) {
		/* opaque ASN.1_subjectPublicKeyInfo<1..2^24-1> */
		if (len < 3)
			return EIM_ETRUNC;
		der_len = eim_get_be24(msg);
		if (der_len != len - 3)
			return EIM_EMALFORMED;
		if (der_len == 0)
			return EIM_ENOTFOUND;
		der = msg + 3;
		rc = spki_key(der, der_len, k);
	} else {
		rc = first_cert(msg, len, &der, &der_len);
		if (rc)
			return rc;
		if (t &&
		    wolfSSL_CertManagerVerifyBuffer(t->cm, der, (long)der_len,
						    WOLFSSL_FILETYPE_ASN1) !=
			    WOLFSSL_SUCCESS)
			return EIM_ECERT;
		rc = leaf_key(der, der_len, k);
	}
	if (rc)
		return rc;
	if (wc_Sha256Hash(der, (word32)der_len, h) != 0)
		return EIM_ECRYPTO;
	memcpy(fp, h, 32);
	memcpy(pub, k, sizeof(k));
	return 0;
}

int eim_dtls_trust_check(struct eim_dtls_trust *t, const uint8_t *msg,
			 size_t len, uint8_t pub[EIM_DTLS_P256_POINT_LEN])
{
	const uint8_t *leaf;
	size_t leaf_len;
	int rc;

	if (!t || (!msg && len) || !pub)
		return EIM_EINVAL;
	rc = first_cert(msg, len, &leaf, &leaf_len);
	if (rc)
		/* an empty list: the server sent no certificate */
		return rc == EIM_ENOTFOUND ? EIM_ECERT : rc;
	if (wolfSSL_CertManagerVerifyBuffer(t->cm, leaf, (long)leaf_len,
					    WOLFSSL_FILETYPE_ASN1) !=
	    WOLFSSL_SUCCESS)
		return EIM_ECERT;
	return leaf_key(leaf, leaf_len, pub);
}

int eim_dtls_ecdsa_verify(const uint8_t pub[EIM_DTLS_P256_POINT_LEN],
			  const uint8_t hash[32], const uint8_t *sig,
			  size_t sig_len)
{
	ecc_key k;
	int ok = 0, rc = EIM_EVERIFY;

	if (!pub || !hash || !sig || sig_len == 0 || sig_len > 128)
		return EIM_EVERIFY;
	if (wc_ecc_init(&k) != 0)
		return EIM_EVERIFY;
	if (wc_ecc_import_x963_ex(pub, EIM_DTLS_P256_POINT_LEN, &k,
				  ECC_SECP256R1) == 0 &&
	    wc_ecc_verify_hash(sig, (word32)sig_len, hash, 32, &ok, &k) == 0 &&
	    ok == 1)
		rc = 0;
	wc_ecc_free(&k);
	return rc;
}
