/*
 * eim_cert.h - validation of the eUICC certificate chain
 * CERT.EUICC.ECDSA <- CERT.EUM.ECDSA <- GSMA CI root (SGP.22 section 4.5.2,
 * as reused by SGP.32 for euiccSignEPR verification).
 *
 * Design notes
 * ------------
 * The caller (the service, from its configuration) gives the trusted CI
 * root certificates and any certificate revocation lists; both are kept as
 * DER copies in a store. Each validation builds a fresh wolfSSL certificate
 * manager from the store, so that an EUM accepted for one device never
 * becomes a trust anchor for the next:
 *
 *   1. verify the EUM certificate against the CI roots (signature, validity
 *      dates, CA constraints; and the CI's CRL when one was given);
 *   2. load the EUM as a temporary CA and verify the eUICC certificate the
 *      same way (the EUM's CRL when one was given);
 *   3. return the eUICC public key for eim_epr_verify().
 *
 * A CRL is checked when one was loaded for the issuer; an issuer without a
 * CRL is not an error (revocation data is optional in the configuration).
 * Certificates may be PEM or DER; the [5]/[6] re-tagged forms found in
 * IpaEuiccData (A5/A6 instead of 30) are accepted too.
 *
 * Not checked here (left to policy in the service): the certificate policy
 * OIDs, EUM name constraints against the EID prefix, and the EID in the
 * eUICC certificate subject.
 */
#ifndef EIM_CERT_H
#define EIM_CERT_H

#include "proto/eim_sig.h"

#include <stddef.h>
#include <stdint.h>

struct eim_cert_store;

/* Which certificate of the chain an error concerns. */
enum eim_cert_which {
	EIM_CERT_EUM = 1,
	EIM_CERT_EUICC = 2,
};

struct eim_cert_diag {
	enum eim_cert_which which; /* 0 when the error is not about one cert */
	int wolf_err;		   /* wolfSSL/wolfCrypt code, for logs */
	const char *what;	   /* static text: "unknown issuer", ... */
};

/* Creates an empty store. EIM_ENOMEM. Free with eim_cert_store_free(). */
int eim_cert_store_new(struct eim_cert_store **ret);
void eim_cert_store_free(struct eim_cert_store *s);

/*
 * Adds a trusted CI root (PEM or DER). The certificate is parsed now:
 * EIM_ECERT if wolfSSL refuses it as a CA, EIM_EMALFORMED if it is not a
 * certificate.
 */
int eim_cert_store_add_ci(struct eim_cert_store *s, const uint8_t *buf,
			  size_t n);

/* Adds a CRL (PEM or DER) issued by a CI or an EUM. EIM_EMALFORMED. */
int eim_cert_store_add_crl(struct eim_cert_store *s, const uint8_t *buf,
			   size_t n);

/*
 * Validates eUICC <- EUM <- CI and, on success, returns the eUICC public
 * key in *ret_key (may be NULL when only the verdict is wanted; free with
 * eim_sig_key_free). Errors, with *diag saying which certificate:
 *   EIM_ECERT     unknown CI / issuer, bad signature, EUM not a CA, bad form
 *   EIM_EEXPIRED  a certificate is expired or not yet valid
 *   EIM_EREVOKED  a certificate is on a CRL
 *   EIM_EMALFORMED, EIM_ENOMEM, EIM_EINVAL
 */
int eim_cert_verify_euicc(const struct eim_cert_store *s, const uint8_t *eum,
			  size_t eum_len, const uint8_t *euicc,
			  size_t euicc_len, struct eim_cert_diag *diag,
			  struct eim_sig_key **ret_key);

#endif
