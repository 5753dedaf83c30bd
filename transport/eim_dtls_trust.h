/*
 * eim_dtls_trust.h - how a DTLS peer's certificate or raw public key is
 * judged (RFC 5246 sections 7.4.2 and 7.4.6, RFC 5280 section 6, RFC 7250
 * section 3, RFC 8422 section 5.4), for both ends: the server checking a
 * client certificate and the client checking the server's.
 *
 * An X.509 certificate_list (leaf first, then the intermediates the peer
 * chose to send, optionally ending with the root) is accepted against a
 * set of trusted CAs when:
 *  - every certificate is signed by the next one up to the first that a
 *    configured CA signed (wolfSSL's certificate manager checks each
 *    signature, the validity period and that the issuer is a CA; what the
 *    peer sent above that one is ignored);
 *  - no issuer's pathLenConstraint is exceeded, and an issuer with a
 *    keyUsage extension has keyCertSign (our own check);
 *  - the leaf, if it has keyUsage, has digitalSignature (it signs the
 *    ServerKeyExchange or the CertificateVerify), and if it has
 *    extendedKeyUsage, lists clientAuth (a client) or serverAuth (a
 *    server) or anyExtendedKeyUsage;
 *  - the leaf's key is P-256 (the only curve we negotiate);
 *  - optionally (a server), the leaf names the expected host.
 * Without CAs (t == NULL: trust by fingerprint pinning, which the caller
 * checks on the returned SHA-256) only the leaf is judged: key usage, key
 * type and validity period, the latter unless EIM_DTLS_TRUST_ALLOW_EXPIRED.
 * At most EIM_DTLS_TRUST_MAX_CERTS certificates are accepted in a list.
 *
 * Errors are chosen so that eim_dtls_trust_alert() gives the RFC 5246
 * alert that says why.
 */
#ifndef EIM_DTLS_TRUST_H
#define EIM_DTLS_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/eim_dtls_crypto.h"

struct eim_dtls_trust;

/* Longest certificate_list we verify (leaf, up to 3 CAs, root). */
#define EIM_DTLS_TRUST_MAX_CERTS 5

/* The leaf authenticates a server: extendedKeyUsage, when present, must
 * allow serverAuth (else clientAuth). */
#define EIM_DTLS_TRUST_SERVER 0x1u
/* Without CAs (pinning only), accept a leaf outside its validity period.
 * A pinned key does not age; some fleets pin long-lived device certificates
 * on purpose. Off by default; ignored when CAs are used. */
#define EIM_DTLS_TRUST_ALLOW_EXPIRED 0x2u

/*
 * Loads one or more trust anchors from PEM text (copied). Every
 * CERTIFICATE block must decode and be accepted by wolfSSL's certificate
 * manager; an anchor is trusted as configured (its own CA flag is not
 * required, its pathLenConstraint is honoured). Errors: EIM_EINVAL,
 * EIM_ECERT (no certificate, or one that does not decode),
 * EIM_ETOOBIG (over 64 anchors), EIM_ENOMEM.
 */
int eim_dtls_trust_from_pem(const char *ca_pem, size_t len,
			    struct eim_dtls_trust **ret);
void eim_dtls_trust_free(struct eim_dtls_trust *t);

/*
 * Judges a Certificate message body holding an X.509 certificate_list as
 * described above. t: the CAs, or NULL for pinning only. flags:
 * EIM_DTLS_TRUST_*. host: NULL, or the DNS name or IP address (text) the
 * leaf must carry in subjectAltName (or CN without SAN). On success fp
 * receives SHA-256 of the leaf's DER and pub its uncompressed P-256
 * point. Errors:
 *   EIM_ENOTFOUND   empty list (the peer has no certificate)
 *   EIM_ETRUNC, EIM_EMALFORMED  framing of the list
 *   EIM_EPERM       the chain does not lead to a configured CA
 *   EIM_EEXPIRED    a certificate outside its validity period
 *   EIM_ECERT       anything else wrong: a signature that does not verify,
 *                   an issuer that is not a CA or whose path length is
 *                   exceeded, key usage, extended key usage, host name,
 *                   a certificate that does not parse, too long a list
 *   EIM_EUNSUPPORTED  the leaf key is not P-256
 *   EIM_EINVAL, EIM_ENOMEM, EIM_ECRYPTO
 */
int eim_dtls_trust_chain(struct eim_dtls_trust *t, unsigned flags,
			 const char *host, const uint8_t *msg, size_t len,
			 uint8_t fp[32], uint8_t pub[EIM_DTLS_P256_POINT_LEN]);

/*
 * A raw public key Certificate body (RFC 7250 section 3): uint24 length,
 * then a SubjectPublicKeyInfo that must be all of it and a P-256 key. fp
 * receives SHA-256 of the SPKI DER (what the caller pins), pub the point.
 * Errors: EIM_ENOTFOUND (zero length), EIM_ETRUNC / EIM_EMALFORMED
 * (framing), EIM_ECERT (not a public key we can parse), EIM_EUNSUPPORTED
 * (not P-256), EIM_EINVAL, EIM_ECRYPTO.
 */
int eim_dtls_trust_rpk(const uint8_t *msg, size_t len, uint8_t fp[32],
		       uint8_t pub[EIM_DTLS_P256_POINT_LEN]);

/*
 * The server's check of a client's Certificate message: with rpk
 * eim_dtls_trust_rpk(), else eim_dtls_trust_chain(t, flags, NULL, ...).
 */
int eim_dtls_trust_client(struct eim_dtls_trust *t, bool rpk, unsigned flags,
			  const uint8_t *msg, size_t len, uint8_t fp[32],
			  uint8_t pub[EIM_DTLS_P256_POINT_LEN]);

/*
 * The fatal alert (RFC 5246 section 7.2.2) for an error of the functions
 * above: EIM_EPERM -> unknown_ca (48), EIM_EEXPIRED -> certificate_expired
 * (45), EIM_ECERT -> bad_certificate (42), EIM_EUNSUPPORTED ->
 * unsupported_certificate (43), EIM_ETRUNC / EIM_EMALFORMED ->
 * decode_error (50), EIM_ENOTFOUND -> handshake_failure (40), anything
 * else -> internal_error (80).
 */
int eim_dtls_trust_alert(int rc);

/*
 * Verifies a DER ECDSA signature over a SHA-256 hash with an uncompressed
 * P-256 point. Returns 0 or EIM_EVERIFY (also for malformed input).
 */
int eim_dtls_ecdsa_verify(const uint8_t pub[EIM_DTLS_P256_POINT_LEN],
			  const uint8_t hash[32], const uint8_t *sig,
			  size_t sig_len);

#endif
