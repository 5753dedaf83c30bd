/*
 * eim_dtls_cred.h - a DTLS server's own certificate credentials: an X.509
 * chain (leaf first) and its P-256 private key, both from PEM text, for
 * the ECDHE_ECDSA suites (RFC 8422, RFC 7925 section 4.4.2).
 *
 * The chain is kept ready-encoded as the body of a TLS Certificate message
 * (RFC 5246 section 7.4.2): certificate_list<0..2^24-1> of
 * ASN.1Cert<1..2^24-1>.
 */
#ifndef EIM_DTLS_CRED_H
#define EIM_DTLS_CRED_H

#include <stddef.h>
#include <stdint.h>

struct eim_dtls_cred;
struct WC_RNG;

/* Largest Certificate message body we build (fits the reassembly bound
 * of peers and our own). */
#define EIM_DTLS_CHAIN_MAX 8192
/* DER ECDSA-Sig-Value for P-256 is at most 72 bytes. */
#define EIM_DTLS_ECDSA_SIG_MAX 80

/*
 * Parses cert_pem (one or more CERTIFICATE blocks, leaf first) and key_pem
 * (an EC PRIVATE KEY or PKCS#8 PRIVATE KEY on P-256). cert_pem may be NULL
 * for a raw-public-key-only server (RFC 7250). Both are copied; the
 * caller may wipe its buffers afterwards. Errors: EIM_EINVAL, EIM_ECERT (no
 * certificate or a block that does not decode), EIM_EUNSUPPORTED (key not
 * P-256), EIM_EMALFORMED (key does not decode), EIM_ETOOBIG (chain over
 * EIM_DTLS_CHAIN_MAX), EIM_ENOMEM.
 */
int eim_dtls_cred_from_pem(const char *cert_pem, size_t cert_len,
			   const char *key_pem, size_t key_len,
			   struct eim_dtls_cred **ret);

/* The Certificate message body (3-byte list length included), or NULL
 * when the credential has no certificate. */
const uint8_t *eim_dtls_cred_chain(const struct eim_dtls_cred *c, size_t *len);

/* The Certificate message body for a raw public key (RFC 7250 section 3):
 * uint24 length, then the DER SubjectPublicKeyInfo of the key. */
const uint8_t *eim_dtls_cred_rpk(const struct eim_dtls_cred *c, size_t *len);

/*
 * Signs a SHA-256 hash with the private key; writes a DER ECDSA-Sig-Value
 * to sig (capacity EIM_DTLS_ECDSA_SIG_MAX) and its length to *sig_len.
 * Errors: EIM_ECRYPTO, EIM_EINVAL.
 */
int eim_dtls_cred_sign(struct eim_dtls_cred *c, struct WC_RNG *rng,
		       const uint8_t hash[32], uint8_t *sig, size_t *sig_len);

/* Wipes the key and frees. NULL is a no-op. */
void eim_dtls_cred_free(struct eim_dtls_cred *c);

#endif
