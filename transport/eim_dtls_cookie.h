/*
 * eim_dtls_cookie.h - stateless HelloVerifyRequest cookies (RFC 6347
 * section 4.2.1).
 *
 * cookie = HMAC-SHA256(secret, peer address || client_random)
 *
 * The server keeps no per-peer memory before a ClientHello comes back with
 * a valid cookie. The secret rotates every `period_ms`; the previous secret
 * stays valid for one more period, so a cookie is accepted for between one
 * and two periods after it was issued.
 */
#ifndef EIM_DTLS_COOKIE_H
#define EIM_DTLS_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#define EIM_DTLS_COOKIE_LEN 32

struct eim_dtls_cookie_ctx {
	uint8_t cur[32];
	uint8_t prev[32];
	uint64_t rotated_ms;
	uint64_t period_ms;
};

/*
 * Sets the first secret (32 random bytes from the caller, who owns the RNG)
 * at time now_ms. The previous secret starts as a copy of it.
 */
void eim_dtls_cookie_init(struct eim_dtls_cookie_ctx *c,
			  const uint8_t secret[32], uint64_t period_ms,
			  uint64_t now_ms);

/* True when the secret is due for rotation at now_ms. */
int eim_dtls_cookie_due(const struct eim_dtls_cookie_ctx *c, uint64_t now_ms);

/* Makes the current secret the previous one and installs fresh. */
void eim_dtls_cookie_rotate(struct eim_dtls_cookie_ctx *c,
			    const uint8_t fresh[32], uint64_t now_ms);

/*
 * Computes the cookie for (peer, client_random) with the current secret.
 * peer is a canonical address encoding (any bytes that identify the peer).
 */
int eim_dtls_cookie_make(const struct eim_dtls_cookie_ctx *c,
			 const uint8_t *peer, size_t peer_len,
			 const uint8_t client_random[32],
			 uint8_t out[EIM_DTLS_COOKIE_LEN]);

/*
 * Checks a cookie against the current secret and, only when that does not
 * match, the previous one; each comparison is constant-time. Returns 0 when
 * valid, EIM_EVERIFY otherwise (wrong length included).
 */
int eim_dtls_cookie_check(const struct eim_dtls_cookie_ctx *c,
			  const uint8_t *peer, size_t peer_len,
			  const uint8_t client_random[32],
			  const uint8_t *cookie, size_t cookie_len);

/* Wipes both secrets. */
void eim_dtls_cookie_done(struct eim_dtls_cookie_ctx *c);

#endif
