/*
 * eim_sim_pki.h - a throw-away test PKI for the device simulator: a test
 * CI root, a test EUM signed by it, and eUICC certificates signed by the
 * EUM, all ECDSA on NIST P-256 (the shape of SGP.22 section 4.5.2.1, which
 * SGP.32 reuses for euiccSignEPR).
 *
 * Design notes
 * ------------
 *   CI    self-signed, CA, keyCertSign|cRLSign, policy id-rspRole-ci
 *   EUM   CA with pathLen 0, signed by the CI, policy id-rspRole-eum
 *   eUICC end entity, digitalSignature, signed by the EUM, subject
 *         serialNumber = the EID, policy id-rspRole-euicc
 *   eIM   end entity, digitalSignature, signed by the CI, CN = eimId
 * Every certificate carries a SubjectKeyIdentifier, and the issued ones an
 * AuthorityKeyIdentifier pointing at their issuer: the CI's SKID is what
 * SGP.22 calls euiccCiPKId. Certificates are produced by wolfCrypt's
 * certificate generator (WOLFSSL_CERT_GEN / WOLFSSL_CERT_EXT in Debian's
 * build). Nothing here is fit for production: the keys are written to disk
 * in the clear so that tests and demos need no hand-made files.
 */
#ifndef EIM_SIM_PKI_H
#define EIM_SIM_PKI_H

#include <stddef.h>
#include <stdint.h>

/* One certificate and its private key (SEC1 ECPrivateKey), both DER. */
struct eim_sim_cred {
	uint8_t *cert;
	size_t cert_len;
	uint8_t *key; /* secret: wiped by eim_sim_cred_done() */
	size_t key_len;
};

/* The CI and EUM of one test PKI. */
struct eim_sim_pki {
	struct eim_sim_cred ci;
	struct eim_sim_cred eum;
};

/*
 * Generates a new CI and an EUM signed by it (valid for 10 years from
 * now). On success *ret is filled (release with eim_sim_pki_done()).
 * Errors: EIM_ECRYPTO (wolfCrypt refused), EIM_ENOMEM, EIM_EINVAL.
 */
int eim_sim_pki_generate(struct eim_sim_pki *ret);

/*
 * Issues an eUICC certificate for `eid` (32 digits, check digits verified)
 * with a fresh P-256 key, signed by pki->eum. Release with
 * eim_sim_cred_done(). Errors: EIM_EMALFORMED/EIM_EVERIFY (EID), EIM_ECRYPTO,
 * EIM_ENOMEM, EIM_EINVAL.
 */
int eim_sim_pki_issue_euicc(const struct eim_sim_pki *pki, const char *eid,
			    struct eim_sim_cred *ret);

/*
 * Issues a certificate for an eIM identity (CN = eim_id, 1..63 bytes) with a
 * fresh P-256 key, signed by the CI: what `eim init --key K --cert C` takes
 * so that eUICCs get eimPublicKeyData as a certificate ([1]) rather than a
 * bare key. Errors: EIM_ECRYPTO, EIM_ENOMEM, EIM_EINVAL.
 */
int eim_sim_pki_issue_eim(const struct eim_sim_pki *pki, const char *eim_id,
			  struct eim_sim_cred *ret);

/*
 * Writes ci.pem, ci.key.pem, eum.pem, eum.key.pem into `dir` (which must
 * exist). Key files get mode 0600. Errors: EIM_EIO (errno says why),
 * EIM_ENOMEM, EIM_EINVAL.
 */
int eim_sim_pki_write(const struct eim_sim_pki *pki, const char *dir);

/*
 * Reads the four files eim_sim_pki_write() wrote back. Errors: EIM_EIO,
 * EIM_EMALFORMED (a file holds no PEM block of the expected label),
 * EIM_ENOMEM.
 */
int eim_sim_pki_read(const char *dir, struct eim_sim_pki *ret);

/*
 * Writes one credential as `<dir>/<name>.pem` and `<dir>/<name>.key.pem`
 * (0600). Errors: EIM_EIO, EIM_ENOMEM, EIM_EINVAL.
 */
int eim_sim_cred_write(const struct eim_sim_cred *c, const char *dir,
		       const char *name);

/*
 * Copies the SubjectKeyIdentifier of a DER certificate (the CI's is the
 * euiccCiPKId) into out (cap bytes). Errors: EIM_ENOTFOUND (no SKID),
 * EIM_EMALFORMED, EIM_ETOOBIG.
 */
int eim_sim_cert_skid(const uint8_t *cert, size_t n, uint8_t *out, size_t cap,
		      size_t *ret_len);

/* Releases a credential (wiping the key) / both credentials. NULL-safe. */
void eim_sim_cred_done(struct eim_sim_cred *c);
void eim_sim_pki_done(struct eim_sim_pki *p);

#endif
