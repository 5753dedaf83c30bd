/*
 * eim_sig.h - ECDSA keys and signatures as SGP.32 uses them.
 *
 * Design notes
 * ------------
 * SGP.32 signs with ECDSA over SHA-256 on NIST P-256 or brainpoolP256r1
 * (SGP.32 2.11.1.1 eimSignature, 2.11.2.1 euiccSignEPR/EPE) and carries the
 * signature as raw r||s, 32 bytes each (BSI TR-03111 "plain" format), not as
 * the DER SEQUENCE X.509 uses. This module converts between the two and
 * computes the hash over a list of byte ranges, because every SGP.32
 * signature input is a concatenation (signed TLV || associationToken DO).
 *
 * Keys load from PEM or DER: SEC1 ECPrivateKey, PKCS#8 PrivateKeyInfo
 * (unencrypted), SubjectPublicKeyInfo, or an X.509 certificate (its public
 * key). The structures are walked with eim_der (so the curve comes from the
 * OID actually present) and imported into wolfCrypt, which does the maths.
 *
 * Thread safety: a key holds its own RNG; one key must not sign from two
 * threads at once. Verification keys may be shared once loaded.
 */
#ifndef EIM_SIG_H
#define EIM_SIG_H

#include "common/eim_bytes.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Size of a raw r||s signature on a 256-bit curve. */
#define EIM_SIG_RAW_LEN 64
/* Largest DER ECDSA-Sig-Value for a 256-bit curve. */
#define EIM_SIG_DER_MAX 72

enum eim_sig_curve {
	EIM_SIG_P256 = 1, /* secp256r1 / prime256v1 */
	EIM_SIG_BRAINPOOLP256R1 = 2,
};

struct eim_sig_key;

/*
 * Loads a key from PEM text or DER bytes: "EC PRIVATE KEY" (SEC1),
 * "PRIVATE KEY" (PKCS#8), "PUBLIC KEY" (SPKI) or "CERTIFICATE" (X.509). In
 * DER the form is recognised from the structure. A private key also gives
 * its public half. The buffer is not kept.
 *
 * Returns 0 and a new key in *ret (free with eim_sig_key_free), or
 * EIM_EMALFORMED (not a key/certificate), EIM_EUNSUPPORTED (another
 * algorithm or curve, encrypted PEM), EIM_ECRYPTO (wolfCrypt refused the
 * point or scalar), EIM_ENOMEM, EIM_EINVAL.
 */
int eim_sig_key_load(const uint8_t *buf, size_t n, struct eim_sig_key **ret);

/* Generates a fresh key pair on `curve` (tests, simulator, benchmark). */
int eim_sig_key_generate(enum eim_sig_curve curve, struct eim_sig_key **ret);

/* Frees a key (wiping the private scalar). NULL is a no-op. */
void eim_sig_key_free(struct eim_sig_key *k);

bool eim_sig_key_has_private(const struct eim_sig_key *k);
enum eim_sig_curve eim_sig_key_curve(const struct eim_sig_key *k);

/*
 * Appends the key's SubjectPublicKeyInfo (DER, named curve) to out, e.g. to
 * put it in EimConfigurationData.eimPublicKeyData. Returns 0 or out->err /
 * EIM_ECRYPTO.
 */
int eim_sig_key_spki(const struct eim_sig_key *k, struct eim_buf *out);

/*
 * Appends the private key as SEC1 ECPrivateKey DER (with curve and public
 * key) to out. For tests and the simulator; EIM_ESTATE without a private key.
 */
int eim_sig_key_sec1(const struct eim_sig_key *k, struct eim_buf *out);

/*
 * Signs SHA-256(parts[0] || parts[1] || ...) and writes raw r||s to `rs`.
 * Returns 0, EIM_ESTATE (public key only), EIM_ECRYPTO.
 */
int eim_sig_sign(struct eim_sig_key *k, const struct eim_slice *parts,
		 size_t nparts, uint8_t rs[EIM_SIG_RAW_LEN]);

/*
 * Verifies raw r||s over SHA-256 of the concatenated parts. Returns 0 when
 * valid, EIM_EVERIFY when the signature does not match (or r or s is out of
 * range, or rs_len is not 64), EIM_ECRYPTO on an internal failure.
 */
int eim_sig_verify(const struct eim_sig_key *k, const struct eim_slice *parts,
		   size_t nparts, const uint8_t *rs, size_t rs_len);

/*
 * Converts raw r||s (64 bytes) to a DER ECDSA-Sig-Value (for openssl and
 * X.509 tools) and back. der_cap >= EIM_SIG_DER_MAX always suffices.
 * Errors: EIM_EMALFORMED, EIM_ETOOBIG.
 */
int eim_sig_raw_to_der(const uint8_t rs[EIM_SIG_RAW_LEN], uint8_t *der,
		       size_t der_cap, size_t *ret_len);
int eim_sig_der_to_raw(const uint8_t *der, size_t der_len,
		       uint8_t rs[EIM_SIG_RAW_LEN]);

/*
 * Finds the first PEM block in text[0..n) and decodes it into a newly
 * allocated DER buffer. *ret_label points into `text` (not NUL-terminated;
 * *ret_label_len bytes), e.g. "CERTIFICATE". Returns EIM_ENOTFOUND when there
 * is no PEM block, EIM_EMALFORMED for bad base64 or a missing END line.
 * *ret_der is freed with eim_free().
 */
int eim_sig_pem_decode(const char *text, size_t n, const char **ret_label,
		       size_t *ret_label_len, uint8_t **ret_der,
		       size_t *ret_der_len);

/*
 * Fills out[0..n) with random bytes from wolfCrypt's DRBG (e.g. for
 * eimTransactionId). Returns 0 or EIM_ECRYPTO.
 */
int eim_sig_random(uint8_t *out, size_t n);

#endif
