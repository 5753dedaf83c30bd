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
 * Verifies a DER ECDSA signature over a SHA-256 hash with an uncompressed
 * P-256 point. Returns 0 or EIM_EVERIFY (also for malformed input).
 */
int eim_dtls_ecdsa_verify(const uint8_t pub[EIM_DTLS_P256_POINT_LEN],
			  const uint8_t hash[32], const uint8_t *sig,
			  size_t sig_len);

#endif
