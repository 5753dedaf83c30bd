/*
 * eim_cert.c - eUICC <- EUM <- CI chain validation with wolfSSL's
 * certificate manager (RFC 5280 path validation as wolfSSL implements it,
 * RFC 5280 section 5 CRLs). See eim_cert.h for the procedure.
 */
#include "proto/eim_cert.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "proto/eim_der.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/error-ssl.h>

#include <stdbool.h>
#include <string.h>

#define STORE_MAX 32

struct der {
	uint8_t *p;
	size_t len;
};

struct eim_cert_store {
	size_t n_ci, n_crl;
	struct der ci[STORE_MAX];
	struct der crl[STORE_MAX];
};

/* PEM or DER (or an A5/A6 re-tagged certificate) -> owned DER copy. */
static int to_der(const uint8_t *buf, size_t n, struct der *ret)
{
	struct eim_der_tlv t;
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	rc = eim_sig_pem_decode((const char *)buf, n, NULL, NULL, &der, &len);
	if (rc == EIM_ENOTFOUND) {
		der = eim_memdup(buf, n);
		if (!der)
			return EIM_ENOMEM;
		len = n;
	} else if (rc < 0) {
		return rc;
	}
	if (eim_der_parse_one(der, len, NULL, &t) < 0 || !t.constructed) {
		eim_free(der);
		return EIM_EMALFORMED;
	}
	/* IpaEuiccData carries certificates as [5]/[6] IMPLICIT: the
	 * outer tag is the only difference from X.509's SEQUENCE. */
	if (t.tag == 0xa5 || t.tag == 0xa6)
		der[0] = 0x30;
	else if (t.tag != 0x30) {
		eim_free(der);
		return EIM_EMALFORMED;
	}
	ret->p = der;
	ret->len = len;
	return 0;
}

int eim_cert_store_new(struct eim_cert_store **ret)
{
	struct eim_cert_store *s;

	if (!ret)
		return EIM_EINVAL;
	s = eim_calloc(1, sizeof(*s));
	if (!s)
		return EIM_ENOMEM;
	/* Reference-counted library initialisation, paired in _free(). */
	if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
		eim_free(s);
		return EIM_ECRYPTO;
	}
	*ret = s;
	return 0;
}

void eim_cert_store_free(struct eim_cert_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ci; i++)
		eim_free(s->ci[i].p);
	for (size_t i = 0; i < s->n_crl; i++)
		eim_free(s->crl[i].p);
	eim_free(s);
	wolfSSL_Cleanup();
}

static int map_err(int e)
{
	switch (e) {
	case ASN_BEFORE_DATE_E:
	case ASN_AFTER_DATE_E:
		return EIM_EEXPIRED;
	case CRL_CERT_REVOKED:
		return EIM_EREVOKED;
	case MEMORY_E:
		return EIM_ENOMEM;
	default:
		return EIM_ECERT;
	}
}

static const char *err_text(int e)
{
	switch (e) {
	case ASN_NO_SIGNER_E:
		return "unknown issuer (no trusted CI or EUM signed it)";
	case ASN_SIG_CONFIRM_E:
		return "signature does not verify";
	case ASN_BEFORE_DATE_E:
		return "not yet valid";
	case ASN_AFTER_DATE_E:
		return "expired";
	case CRL_CERT_REVOKED:
		return "revoked";
	case NOT_CA_ERROR:
		return "not a CA certificate";
	case ASN_PATHLEN_SIZE_E:
	case ASN_PATHLEN_INV_E:
		return "path length constraint violated";
	default:
		return "rejected by the certificate manager";
	}
}

static int fail(struct eim_cert_diag *d, enum eim_cert_which which, int e)
{
	if (d) {
		d->which = which;
		d->wolf_err = e;
		d->what = err_text(e);
	}
	return map_err(e);
}

int eim_cert_store_add_ci(struct eim_cert_store *s, const uint8_t *buf,
			  size_t n)
{
	WOLFSSL_CERT_MANAGER *cm;
	WOLFSSL_X509 *x;
	struct der d;
	bool is_ca;
	int rc;

	if (!s || !buf)
		return EIM_EINVAL;
	if (s->n_ci == STORE_MAX)
		return EIM_ETOOBIG;
	if ((rc = to_der(buf, n, &d)) < 0)
		return rc;
	/* wolfSSL accepts any certificate as a trust anchor; a CI root must
	 * at least assert basicConstraints CA:TRUE. */
	x = wolfSSL_X509_d2i(NULL, d.p, (int)d.len);
	is_ca = x && wolfSSL_X509_get_isCA(x) == 1;
	wolfSSL_X509_free(x);
	if (!is_ca) {
		eim_free(d.p);
		return EIM_ECERT;
	}
	/* Parse it now so that a bad root is reported at configuration
	 * time, not at the first result. */
	cm = wolfSSL_CertManagerNew();
	if (!cm) {
		eim_free(d.p);
		return EIM_ENOMEM;
	}
	rc = wolfSSL_CertManagerLoadCABuffer(cm, d.p, (long)d.len,
					     WOLFSSL_FILETYPE_ASN1);
	wolfSSL_CertManagerFree(cm);
	if (rc != WOLFSSL_SUCCESS) {
		eim_free(d.p);
		return map_err(rc);
	}
	s->ci[s->n_ci++] = d;
	return 0;
}

int eim_cert_store_add_crl(struct eim_cert_store *s, const uint8_t *buf,
			   size_t n)
{
	struct eim_der_tlv t;
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	if (!s || !buf)
		return EIM_EINVAL;
	if (s->n_crl == STORE_MAX)
		return EIM_ETOOBIG;
	rc = eim_sig_pem_decode((const char *)buf, n, NULL, NULL, &der, &len);
	if (rc == EIM_ENOTFOUND) {
		der = eim_memdup(buf, n);
		len = n;
		if (!der)
			return EIM_ENOMEM;
	} else if (rc < 0) {
		return rc;
	}
	if (eim_der_parse_one(der, len, NULL, &t) < 0 || t.tag != 0x30) {
		eim_free(der);
		return EIM_EMALFORMED;
	}
	s->crl[s->n_crl].p = der;
	s->crl[s->n_crl].len = len;
	s->n_crl++;
	return 0;
}

/*
 * Loads every CRL whose issuer is already trusted by cm. A CRL whose issuer
 * is not (yet) loaded is skipped: wolfSSL checks the CRL's own signature
 * when loading it, so an unverifiable CRL never counts.
 */
static void load_crls(const struct eim_cert_store *s, WOLFSSL_CERT_MANAGER *cm)
{
	for (size_t i = 0; i < s->n_crl; i++)
		(void)wolfSSL_CertManagerLoadCRLBuffer(cm, s->crl[i].p,
						       (long)s->crl[i].len,
						       WOLFSSL_FILETYPE_ASN1);
}

static int verify_one(WOLFSSL_CERT_MANAGER *cm, const struct der *c)
{
	int rc = wolfSSL_CertManagerVerifyBuffer(cm, c->p, (long)c->len,
						 WOLFSSL_FILETYPE_ASN1);

	if (rc == WOLFSSL_SUCCESS)
		return 0;
	/* Signature and dates passed; only the issuer has no CRL loaded,
	 * which the configuration allows (see eim_cert.h). */
	if (rc == CRL_MISSING)
		return 0;
	return rc;
}

int eim_cert_verify_euicc(const struct eim_cert_store *s, const uint8_t *eum,
			  size_t eum_len, const uint8_t *euicc,
			  size_t euicc_len, struct eim_cert_diag *diag,
			  struct eim_sig_key **ret_key)
{
	WOLFSSL_CERT_MANAGER *cm = NULL;
	struct der eum_der = {0}, euicc_der = {0};
	struct eim_sig_key *key = NULL;
	int rc, e;

	if (diag)
		memset(diag, 0, sizeof(*diag));
	if (!s || !eum || !euicc)
		return EIM_EINVAL;
	if ((rc = to_der(eum, eum_len, &eum_der)) < 0) {
		if (diag) {
			diag->which = EIM_CERT_EUM;
			diag->what = "not a certificate";
		}
		goto out;
	}
	if ((rc = to_der(euicc, euicc_len, &euicc_der)) < 0) {
		if (diag) {
			diag->which = EIM_CERT_EUICC;
			diag->what = "not a certificate";
		}
		goto out;
	}
	cm = wolfSSL_CertManagerNew();
	if (!cm) {
		rc = EIM_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->n_ci; i++)
		(void)wolfSSL_CertManagerLoadCABuffer(cm, s->ci[i].p,
						      (long)s->ci[i].len,
						      WOLFSSL_FILETYPE_ASN1);
	if (s->n_crl) {
		if (wolfSSL_CertManagerEnableCRL(cm, 0) != WOLFSSL_SUCCESS) {
			rc = EIM_ECRYPTO;
			goto out;
		}
		load_crls(s, cm);
	}
	if ((e = verify_one(cm, &eum_der)) != 0) {
		rc = fail(diag, EIM_CERT_EUM, e);
		goto out;
	}
	e = wolfSSL_CertManagerLoadCABuffer(cm, eum_der.p, (long)eum_der.len,
					    WOLFSSL_FILETYPE_ASN1);
	if (e != WOLFSSL_SUCCESS) {
		rc = fail(diag, EIM_CERT_EUM, e);
		goto out;
	}
	if (s->n_crl)
		load_crls(s, cm); /* now the EUM's own CRLs can verify */
	if ((e = verify_one(cm, &euicc_der)) != 0) {
		rc = fail(diag, EIM_CERT_EUICC, e);
		goto out;
	}
	if (ret_key) {
		if ((rc = eim_sig_key_load(euicc_der.p, euicc_der.len, &key)) <
		    0) {
			if (diag) {
				diag->which = EIM_CERT_EUICC;
				diag->what = "public key unusable";
			}
			goto out;
		}
		*ret_key = key;
	}
	rc = 0;
out:
	if (cm)
		wolfSSL_CertManagerFree(cm);
	eim_free(eum_der.p);
	eim_free(euicc_der.p);
	return rc;
}
