/*
 * eim_dtls_trust.c - certificate path and raw public key checks for both
 * ends of DTLS (RFC 5246 7.4.2 / 7.4.6, RFC 5280 section 6, RFC 7250
 * section 3), on wolfSSL's certificate manager for signatures, validity and
 * CA-ness, with our own checks for what it leaves to the application:
 * intermediates sent by the peer, pathLenConstraint, key usage of the leaf,
 * extended key usage and validity without a CA (pinning). See
 * eim_dtls_trust.h.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "transport/eim_dtls_trust.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"

#include <arpa/inet.h>
#include <string.h>

#define EIM_DTLS_TRUST_MAX_CAS 64

/* What we need to remember of a trusted CA beyond what the certificate
 * manager keeps: its name (hash) and path length constraint. */
struct eim_dtls_trust_ca {
	uint8_t subject[KEYID_SIZE];
	bool plen_set;
	uint8_t plen;
};

struct eim_dtls_trust {
	WOLFSSL_CERT_MANAGER *cm;
	size_t n_cas;
	struct eim_dtls_trust_ca cas[EIM_DTLS_TRUST_MAX_CAS];
};

/* The facts of one certificate our own checks look at. */
struct eim_dtls_cert_info {
	uint8_t subject[KEYID_SIZE], issuer[KEYID_SIZE];
	bool self_signed, is_ca, plen_set, ku_set, eku_set, ec_key;
	uint8_t plen, eku;
	uint16_t ku;
};

static int cert_info(const uint8_t *der, size_t len,
		     struct eim_dtls_cert_info *ci)
{
	struct DecodedCert dc;
	int rc = EIM_ECERT;

	if (len > INT32_MAX)
		return EIM_ECERT;
	wc_InitDecodedCert(&dc, der, (word32)len, NULL);
	if (wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL) == 0) {
		memcpy(ci->subject, dc.subjectHash, KEYID_SIZE);
		memcpy(ci->issuer, dc.issuerHash, KEYID_SIZE);
		ci->self_signed = dc.selfSigned;
		ci->is_ca = dc.isCA;
		ci->plen_set = dc.pathLengthSet;
		ci->plen = dc.pathLength;
		ci->ku_set = dc.extKeyUsageSet;
		ci->ku = dc.extKeyUsage;
		ci->eku_set = dc.extExtKeyUsageSet;
		ci->eku = dc.extExtKeyUsage;
		ci->ec_key = dc.keyOID == ECDSAk;
		rc = 0;
	}
	wc_FreeDecodedCert(&dc);
	return rc;
}

/* wolfSSL's verdict in our terms. */
static int cm_error(int wolf_rc)
{
	switch (wolf_rc) {
	case WOLFSSL_SUCCESS:
		return 0;
	case ASN_NO_SIGNER_E:
	case ASN_SELF_SIGNED_E: /* a root that is not one of ours */
		return EIM_EPERM;
	case ASN_BEFORE_DATE_E:
	case ASN_AFTER_DATE_E:
		return EIM_EEXPIRED;
	case MEMORY_E:
		return EIM_ENOMEM;
	default: /* bad signature, not a CA, unparsable, ... */
		return EIM_ECERT;
	}
}

static const char *find(const char *h, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(h + i, needle, k) == 0)
			return h + i;
	return NULL;
}

/* One PEM CERTIFICATE block: into the manager and our CA list. */
static int add_ca(struct eim_dtls_trust *t, const char *pem, size_t len,
		  uint8_t *der, size_t cap)
{
	struct eim_dtls_cert_info ci;
	struct eim_dtls_trust_ca *ca;
	int n, rc;

	if (t->n_cas == EIM_DTLS_TRUST_MAX_CAS)
		return EIM_ETOOBIG;
	n = wc_CertPemToDer((const unsigned char *)pem, (int)len, der, (int)cap,
			    CERT_TYPE);
	if (n <= 0)
		return EIM_ECERT;
	if ((rc = cert_info(der, (size_t)n, &ci)))
		return rc;
	if (wolfSSL_CertManagerLoadCABuffer(t->cm, der, n,
					    WOLFSSL_FILETYPE_ASN1) !=
	    WOLFSSL_SUCCESS)
		return EIM_ECERT;
	ca = &t->cas[t->n_cas++];
	memcpy(ca->subject, ci.subject, KEYID_SIZE);
	ca->plen_set = ci.plen_set;
	ca->plen = ci.plen;
	return 0;
}

int eim_dtls_trust_from_pem(const char *ca_pem, size_t len,
			    struct eim_dtls_trust **ret)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	struct eim_dtls_trust *t;
	const char *p = ca_pem, *stop;
	uint8_t *der = NULL;
	int rc = EIM_ECERT;

	if (!ca_pem || !ret || len == 0 || len > INT32_MAX)
		return EIM_EINVAL;
	stop = ca_pem + len;
	t = eim_calloc(1, sizeof(*t));
	der = eim_malloc(len); /* DER is shorter than its base64 */
	if (!t || !der || !(t->cm = wolfSSL_CertManagerNew())) {
		rc = EIM_ENOMEM;
		goto out;
	}
	for (;;) {
		const char *b = find(p, (size_t)(stop - p), begin), *e;

		if (!b)
			break;
		e = find(b, (size_t)(stop - b), end);
		if (!e) {
			rc = EIM_ECERT;
			goto out;
		}
		e += sizeof(end) - 1;
		if ((rc = add_ca(t, b, (size_t)(e - b), der, len)))
			goto out;
		p = e;
	}
	rc = t->n_cas ? 0 : EIM_ECERT;
out:
	eim_free(der);
	if (rc) {
		eim_dtls_trust_free(t);
		return rc;
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

/* certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>, split. */
struct eim_dtls_cert_list {
	size_t n;
	const uint8_t *der[EIM_DTLS_TRUST_MAX_CERTS];
	size_t len[EIM_DTLS_TRUST_MAX_CERTS];
};

static int split_list(const uint8_t *msg, size_t len,
		      struct eim_dtls_cert_list *l)
{
	size_t o = 3;

	if (len < 3)
		return EIM_ETRUNC;
	if (eim_get_be24(msg) != len - 3)
		return EIM_EMALFORMED;
	if (len == 3)
		return EIM_ENOTFOUND;
	l->n = 0;
	while (o < len) {
		size_t n;

		if (len - o < 3)
			return EIM_ETRUNC;
		n = eim_get_be24(msg + o);
		if (n == 0 || n > len - o - 3)
			return EIM_EMALFORMED;
		if (l->n == EIM_DTLS_TRUST_MAX_CERTS)
			return EIM_ECERT; /* longer than any path we accept */
		l->der[l->n] = msg + o + 3;
		l->len[l->n++] = n;
		o += 3 + n;
	}
	return 0;
}

/*
 * The path from the lowest certificate of the list that a configured CA
 * issued (the peer may send more above it, even the root: those are not
 * needed) down to the leaf: each certificate below is checked by a manager
 * that holds only its (already checked) issuer, so nothing the peer sent is
 * ever trusted for more than the one step below it.
 */
static int verify_path(struct eim_dtls_trust *t,
		       const struct eim_dtls_cert_list *l,
		       const struct eim_dtls_cert_info *ci)
{
	size_t top;
	int rc = EIM_EPERM;

	for (top = 0; top < l->n; top++) {
		rc = cm_error(
			wolfSSL_CertManagerVerifyBuffer(t->cm, l->der[top],
							(long)l->len[top],
							WOLFSSL_FILETYPE_ASN1));
		/* "no signer" here only means: not issued by an anchor,
		 * maybe the next one is; anything else is final */
		if (rc != EIM_EPERM)
			break;
	}
	if (rc)
		return rc;
	for (size_t i = top; i-- > 0;) {
		WOLFSSL_CERT_MANAGER *cm = wolfSSL_CertManagerNew();

		if (!cm)
			return EIM_ENOMEM;
		rc = cm_error(
			wolfSSL_CertManagerLoadCABuffer(cm, l->der[i + 1],
							(long)l->len[i + 1],
							WOLFSSL_FILETYPE_ASN1));
		if (!rc)
			rc = cm_error(wolfSSL_CertManagerVerifyBuffer(
				cm, l->der[i], (long)l->len[i],
				WOLFSSL_FILETYPE_ASN1));
		wolfSSL_CertManagerFree(cm);
		/* below the top, "no signer" means the next certificate is
		 * not this one's issuer (a CA that is not one, or the list
		 * out of order): a bad chain, not an unknown CA */
		if (rc == EIM_EPERM)
			rc = EIM_ECERT;
		if (rc)
			return rc;
	}
	/* RFC 5280 6.1.4 (k), (l), (n): issuers are CAs that may sign
	 * certificates, with at most pathLenConstraint intermediates below */
	for (size_t j = 1; j <= top; j++) {
		if (!ci[j].is_ca ||
		    (ci[j].ku_set && !(ci[j].ku & KEYUSE_KEY_CERT_SIGN)) ||
		    (ci[j].plen_set && j - 1 > ci[j].plen))
			return EIM_ECERT;
	}
	if (!ci[top].self_signed) {
		for (size_t k = 0; k < t->n_cas; k++) {
			const struct eim_dtls_trust_ca *ca = &t->cas[k];

			if (memcmp(ca->subject, ci[top].issuer, KEYID_SIZE) ==
				    0 &&
			    ca->plen_set && top > ca->plen)
				return EIM_ECERT;
		}
	}
	return 0;
}

/* Validity period of a certificate (pinning: no manager looked). */
static int check_dates(const uint8_t *der, size_t len)
{
	WOLFSSL_X509 *x = wolfSSL_X509_d2i(NULL, der, (int)len);
	const WOLFSSL_ASN1_TIME *nb, *na;
	int rc = EIM_ECERT;

	if (!x)
		return EIM_ECERT;
	nb = wolfSSL_X509_get_notBefore(x);
	na = wolfSSL_X509_get_notAfter(x);
	if (nb && na) {
		/* -1: the time is in the past, 1: in the future, 0: error */
		int b = wolfSSL_X509_cmp_current_time(nb);
		int a = wolfSSL_X509_cmp_current_time(na);

		if (a != 0 && b != 0)
			rc = b < 0 && a > 0 ? 0 : EIM_EEXPIRED;
	}
	wolfSSL_X509_free(x);
	return rc;
}

/* The leaf names host: a DNS name, or an IP address in text form. */
static int check_host(const uint8_t *der, size_t len, const char *host)
{
	WOLFSSL_X509 *x = wolfSSL_X509_d2i(NULL, der, (int)len);
	uint8_t ip[16];
	bool is_ip;
	int ok;

	if (!x)
		return EIM_ECERT;
	is_ip = inet_pton(AF_INET, host, ip) == 1 ||
		inet_pton(AF_INET6, host, ip) == 1;
	ok = is_ip ? wolfSSL_X509_check_ip_asc(x, host, 0)
		   : wolfSSL_X509_check_host(x, host, strlen(host), 0, NULL);
	wolfSSL_X509_free(x);
	return ok == WOLFSSL_SUCCESS ? 0 : EIM_ECERT;
}

int eim_dtls_trust_chain(struct eim_dtls_trust *t, unsigned flags,
			 const char *host, const uint8_t *msg, size_t len,
			 uint8_t fp[32], uint8_t pub[EIM_DTLS_P256_POINT_LEN])
{
	struct eim_dtls_cert_list l;
	struct eim_dtls_cert_info ci[EIM_DTLS_TRUST_MAX_CERTS];
	uint8_t h[32], k[EIM_DTLS_P256_POINT_LEN];
	uint8_t want;
	int rc;

	if ((!msg && len) || !fp || !pub)
		return EIM_EINVAL;
	if ((rc = split_list(msg, len, &l)))
		return rc;
	/* without CAs only the leaf matters: the rest is the peer's */
	if (!t)
		l.n = 1;
	for (size_t i = 0; i < l.n; i++)
		if ((rc = cert_info(l.der[i], l.len[i], &ci[i])))
			return rc;
	if (t)
		rc = verify_path(t, &l, ci);
	else if (!(flags & EIM_DTLS_TRUST_ALLOW_EXPIRED))
		rc = check_dates(l.der[0], l.len[0]);
	if (rc)
		return rc;
	/* the leaf signs our handshake: RFC 5280 4.2.1.3 and 4.2.1.12 */
	want = flags & EIM_DTLS_TRUST_SERVER ? EXTKEYUSE_SERVER_AUTH
					     : EXTKEYUSE_CLIENT_AUTH;
	if ((ci[0].ku_set && !(ci[0].ku & KEYUSE_DIGITAL_SIG)) ||
	    (ci[0].eku_set && !(ci[0].eku & (want | EXTKEYUSE_ANY))))
		return EIM_ECERT;
	if (!ci[0].ec_key)
		return EIM_EUNSUPPORTED;
	if ((rc = leaf_key(l.der[0], l.len[0], k)))
		return rc;
	if (host && (rc = check_host(l.der[0], l.len[0], host)))
		return rc;
	if (wc_Sha256Hash(l.der[0], (word32)l.len[0], h) != 0)
		return EIM_ECRYPTO;
	memcpy(fp, h, 32);
	memcpy(pub, k, sizeof(k));
	return 0;
}

int eim_dtls_trust_rpk(const uint8_t *msg, size_t len, uint8_t fp[32],
		       uint8_t pub[EIM_DTLS_P256_POINT_LEN])
{
	uint8_t h[32], k[EIM_DTLS_P256_POINT_LEN];
	size_t n;
	int rc;

	if ((!msg && len) || !fp || !pub)
		return EIM_EINVAL;
	/* opaque ASN.1_subjectPublicKeyInfo<1..2^24-1> */
	if (len < 3)
		return EIM_ETRUNC;
	n = eim_get_be24(msg);
	if (n != len - 3)
		return EIM_EMALFORMED;
	if (n == 0)
		return EIM_ENOTFOUND;
	if ((rc = spki_key(msg + 3, n, k)))
		return rc;
	if (wc_Sha256Hash(msg + 3, (word32)n, h) != 0)
		return EIM_ECRYPTO;
	memcpy(fp, h, 32);
	memcpy(pub, k, sizeof(k));
	return 0;
}

int eim_dtls_trust_client(struct eim_dtls_trust *t, bool rpk, unsigned flags,
			  const uint8_t *msg, size_t len, uint8_t fp[32],
			  uint8_t pub[EIM_DTLS_P256_POINT_LEN])
{
	if (rpk)
		return eim_dtls_trust_rpk(msg, len, fp, pub);
	return eim_dtls_trust_chain(t, flags & ~EIM_DTLS_TRUST_SERVER, NULL,
				    msg, len, fp, pub);
}

int eim_dtls_trust_alert(int rc)
{
	switch (rc) {
	case EIM_EPERM:
		return 48; /* unknown_ca */
	case EIM_EEXPIRED:
		return 45; /* certificate_expired */
	case EIM_ECERT:
		return 42; /* bad_certificate */
	case EIM_EUNSUPPORTED:
		return 43; /* unsupported_certificate */
	case EIM_ETRUNC:
	case EIM_EMALFORMED:
		return 50; /* decode_error */
	case EIM_ENOTFOUND:
		return 40; /* handshake_failure */
	default:
		return 80; /* internal_error */
	}
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
