/*
 * eim_dtls_trust.h - the DTLS client's check of a server certificate
 * (RFC 5246 section 7.4.2, RFC 8422 section 5.4): the leaf certificate of
 * a Certificate message must chain to a configured CA (wolfSSL's
 * certificate manager), and its P-256 key then verifies the
 * ServerKeyExchange signature.
 *
 * Limits of this first version: the leaf must be issued directly by a
 * trusted CA (intermediates sent by the server are not used), and the
 * server's name is not compared with the certificate.
 */
#ifndef EIM_DTLS_TRUST_H
#define EIM_DTLS_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/eim_dtls_crypto.h"

struct eim_dtls_trust;

/*
 * Loads one or more CA certificates from PEM text (copied). Errors:
 * EIM_EINVAL, EIM_ECERT (nothing usable), EIM_ENOMEM.
 */
int eim_dtls_trust_from_pem(const char *ca_pem, size_t len,
			    struct eim_dtls_trust **ret);
void eim_dtls_trust_free(struct eim_dtls_trust *t);

/*
 * Parses a Certificate message body, verifies its leaf against the CAs
 * and writes the leaf's uncompressed P-256 public point to pub. Errors:
 * EIM_EMALFORMED / EIM_ETRUNC (framing), EIM_ECERT (empty list, not
 * trusted, expired or unparsable), EIM_EUNSUPPORTED (key not P-256).
 */
int eim_dtls_trust_check(struct eim_dtls_trust *t, const uint8_t *msg,
			 size_t len, uint8_t pub[EIM_DTLS_P256_POINT_LEN]);

/*
 * The server's check of a client's Certificate message (RFC 5246 section
 * 7.4.6, RFC 7250 section 3). For rpk the body is uint24 length then a
 * SubjectPublicKeyInfo, which must be a P-256 key; fp receives SHA-256 of
 * that SPKI DER. Otherwise it is a certificate_list: t (may be NULL for
 * fingerprint pinning only) verifies its leaf against the CAs, fp
 * receives SHA-256 of the leaf's DER. pub receives the P-256 point that
 * must sign the CertificateVerify. Errors: EIM_ENOTFOUND (an empty list:
 * the client has no certificate), EIM_EMALFORMED / EIM_ETRUNC (framing),
 * EIM_ECERT (not trusted, expired or unparsable), EIM_EUNSUPPORTED (key
 * not P-256), EIM_ECRYPTO.
 */
int eim_dtls_trust_client(struct eim_dtls_trust *t, bool rpk,
			  const uint8_t *msg, size_t len, uint8_t fp[32],
			  uint8_t pub[EIM_DTLS_P256_POINT_LEN]);

/*
 * Verifies a DER ECDSA signature over a SHA-256 hash with an uncompressed
 * P-256 point. Returns 0 or EIM_EVERIFY (also for malformed input).
 */
int eim_dtls_ecdsa_verify(const uint8_t pub[EIM_DTLS_P256_POINT_LEN],
			  const uint8_t hash[32], const uint8_t *sig,
			  size_t sig_len);

#endif
