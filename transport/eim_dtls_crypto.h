/*
 * eim_dtls_crypto.h - the cryptography DTLS 1.2 needs, on wolfCrypt.
 *
 *   - the TLS 1.2 PRF with SHA-256 (RFC 5246 section 5, P_SHA256),
 *   - master secret derivation, plain or extended (RFC 7627 section 4),
 *   - the AEAD key block split (RFC 5246 section 6.3; AEAD suites have no
 *     MAC keys, only write keys and fixed IVs),
 *   - one-shot AEAD seal/open for the three AEAD families of our suites:
 *     AES-128-CCM-8 (RFC 6655), AES-128-GCM (RFC 5288) and
 *     ChaCha20-Poly1305 (RFC 7905).
 *
 * Nothing here knows about records or handshakes; callers build nonces and
 * additional data (see eim_dtls_record.h).
 */
#ifndef EIM_DTLS_CRYPTO_H
#define EIM_DTLS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

enum eim_dtls_aead_alg {
	EIM_DTLS_AEAD_AES128_CCM8 = 1,
	EIM_DTLS_AEAD_AES128_GCM,
	EIM_DTLS_AEAD_CHACHA20_POLY1305,
};

/* Sizes of one AEAD family as it is used in (D)TLS 1.2. */
struct eim_dtls_aead_info {
	enum eim_dtls_aead_alg alg;
	uint8_t key_len;      /* write key */
	uint8_t fixed_iv_len; /* implicit part of the nonce from the key block
			       */
	uint8_t explicit_len; /* nonce bytes carried in each record */
	uint8_t tag_len;
};

#define EIM_DTLS_MAX_KEY_LEN 32
#define EIM_DTLS_MAX_IV_LEN 12
#define EIM_DTLS_NONCE_LEN 12
#define EIM_DTLS_MASTER_LEN 48
#define EIM_DTLS_RANDOM_LEN 32
#define EIM_DTLS_VERIFY_LEN 12

/* Returns the static description of alg, or NULL for an unknown value. */
const struct eim_dtls_aead_info *eim_dtls_aead_info(enum eim_dtls_aead_alg alg);

/*
 * P_SHA256(secret, label || seed1 || seed2) truncated to out_len bytes
 * (RFC 5246 section 5). label is a NUL-terminated ASCII string whose NUL is
 * not hashed; seed2 may be NULL when seed2_len is 0. Returns 0 or
 * EIM_ECRYPTO / EIM_EINVAL.
 */
int eim_dtls_prf(const uint8_t *secret, size_t secret_len, const char *label,
		 const uint8_t *seed1, size_t seed1_len, const uint8_t *seed2,
		 size_t seed2_len, uint8_t *out, size_t out_len);

/*
 * Master secret (48 bytes) from a pre-master secret. With ems == 0 the seed
 * is client_random || server_random ("master secret"); with ems != 0 it is
 * the session hash of RFC 7627 ("extended master secret") and crandom must
 * point to the 32-byte SHA-256 transcript hash, srandom is ignored.
 */
int eim_dtls_master_secret(const uint8_t *pms, size_t pms_len, int ems,
			   const uint8_t *crandom, const uint8_t *srandom,
			   uint8_t out[EIM_DTLS_MASTER_LEN]);

struct eim_dtls_aead_cache;

/*
 * One direction's AEAD state: the raw key and fixed IV from the key block.
 * cache and cache_id are set by eim_dtls_aead_cache_attach() (both zero
 * otherwise: every record then expands the AES key again).
 */
struct eim_dtls_aead_key {
	const struct eim_dtls_aead_info *info;
	struct eim_dtls_aead_cache *cache; /* not owned; NULL: none */
	uint8_t key[EIM_DTLS_MAX_KEY_LEN];
	uint8_t iv[EIM_DTLS_MAX_IV_LEN];
	uint32_t cache_id;
};

/*
 * A table of expanded AES key schedules for the keys used most recently,
 * so that a session sending or receiving several records in a row does not
 * expand its AES key (and build the GCM table) for each one: about 15 % of
 * the cost of protecting a small record with wolfCrypt's portable AES.
 *
 * Keys attached to a cache take slots by a number the cache hands out
 * (consecutive, so sessions opened together do not collide); a slot is
 * used only when its saved raw key equals the record's key (compared in
 * constant time), so a wrapped or colliding number costs a new expansion,
 * never the wrong key. ChaCha20-Poly1305 has no schedule and never uses
 * the cache. Not thread-safe: one cache per server (or client) thread.
 * Every slot holds key material: eim_dtls_aead_cache_forget() wipes a
 * key's slot when its session ends, eim_dtls_aead_cache_free() all.
 */
#define EIM_DTLS_AEAD_CACHE_SLOTS 128u

/* Allocates an empty cache (about 150 KB, pages touched as slots fill).
 * Returns 0 or EIM_EINVAL / EIM_ENOMEM. */
int eim_dtls_aead_cache_new(struct eim_dtls_aead_cache **ret);
/* Wipes every slot and frees the cache (NULL-safe). Keys still attached
 * must not be used afterwards. */
void eim_dtls_aead_cache_free(struct eim_dtls_aead_cache *c);
/* Attaches k (whose info and key are set) to c with a new slot number.
 * c may be NULL: k then keeps working without a cache. */
void eim_dtls_aead_cache_attach(struct eim_dtls_aead_cache *c,
				struct eim_dtls_aead_key *k);
/* Wipes k's slot if it holds k's schedule, and detaches k (NULL-safe;
 * nothing to do for a key without a cache). */
void eim_dtls_aead_cache_forget(struct eim_dtls_aead_key *k);

/* Counters of a cache: expansions saved and done. */
struct eim_dtls_aead_cache_stats {
	uint64_t hits;
	uint64_t misses;
};
void eim_dtls_aead_cache_stats(const struct eim_dtls_aead_cache *c,
			       struct eim_dtls_aead_cache_stats *ret);

/*
 * Runs the "key expansion" PRF (seed server_random || client_random) and
 * splits it into the client-write and server-write keys for `info`.
 * Wipe the keys with eim_wipe() when done.
 */
int eim_dtls_key_block(const struct eim_dtls_aead_info *info,
		       const uint8_t master[EIM_DTLS_MASTER_LEN],
		       const uint8_t crandom[EIM_DTLS_RANDOM_LEN],
		       const uint8_t srandom[EIM_DTLS_RANDOM_LEN],
		       struct eim_dtls_aead_key *client_write,
		       struct eim_dtls_aead_key *server_write);

/*
 * Finished verify_data (RFC 5246 section 7.4.9): PRF(master, label,
 * transcript_hash)[0..11], label "client finished" or "server finished".
 */
int eim_dtls_verify_data(const uint8_t master[EIM_DTLS_MASTER_LEN],
			 int from_client, const uint8_t hash[32],
			 uint8_t out[EIM_DTLS_VERIFY_LEN]);

/*
 * Encrypts buf[0..len) in place and writes info->tag_len bytes of tag.
 * nonce is the full 12-byte nonce. Returns 0 or EIM_ECRYPTO.
 */
int eim_dtls_aead_seal(const struct eim_dtls_aead_key *k,
		       const uint8_t nonce[EIM_DTLS_NONCE_LEN],
		       const uint8_t *aad, size_t aad_len, uint8_t *buf,
		       size_t len, uint8_t *tag);

/*
 * Decrypts buf[0..len) in place after checking the tag. Returns 0, or
 * EIM_EVERIFY when the record does not authenticate (buf is then zeroed, so
 * no unauthenticated plaintext escapes), EIM_ECRYPTO on other failures.
 */
int eim_dtls_aead_open(const struct eim_dtls_aead_key *k,
		       const uint8_t nonce[EIM_DTLS_NONCE_LEN],
		       const uint8_t *aad, size_t aad_len, uint8_t *buf,
		       size_t len, const uint8_t *tag);

/*
 * Ephemeral ECDH (RFC 8422; used by ECDHE_PSK, RFC 5489, and ECDHE_ECDSA
 * suites) on secp256r1 or x25519. The key lives only during one handshake.
 */
struct eim_dtls_ecdhe;
struct WC_RNG;
#define EIM_DTLS_GROUP_SECP256R1 23u /* NamedCurve values, RFC 8422 5.1.1 */
#define EIM_DTLS_GROUP_X25519 29u
#define EIM_DTLS_P256_POINT_LEN 65 /* uncompressed: 04 || X || Y */
#define EIM_DTLS_P256_SECRET_LEN 32
#define EIM_DTLS_X25519_POINT_LEN 32 /* u-coordinate, RFC 7748 order */
#define EIM_DTLS_X25519_SECRET_LEN 32
#define EIM_DTLS_ECDHE_PUB_MAX EIM_DTLS_P256_POINT_LEN

/*
 * Generates a key pair on `group` (EIM_DTLS_GROUP_SECP256R1 or _X25519)
 * with rng (which must outlive the key) and writes the public value as it
 * goes on the wire (uncompressed point, or the 32-byte u-coordinate) to
 * pub and its length to *pub_len. Free with eim_dtls_ecdhe_free().
 * Errors: EIM_EINVAL (other group), EIM_ENOMEM, EIM_ECRYPTO.
 */
int eim_dtls_ecdhe_new_group(struct WC_RNG *rng, uint16_t group,
			     struct eim_dtls_ecdhe **ret,
			     uint8_t pub[EIM_DTLS_ECDHE_PUB_MAX],
			     size_t *pub_len);
/* Same on secp256r1, the point always EIM_DTLS_P256_POINT_LEN bytes. */
int eim_dtls_ecdhe_new(struct WC_RNG *rng, struct eim_dtls_ecdhe **ret,
		       uint8_t pub[EIM_DTLS_P256_POINT_LEN]);
/* The group of e (0 for NULL). */
uint16_t eim_dtls_ecdhe_group(const struct eim_dtls_ecdhe *e);
/*
 * Computes the 32-byte shared secret with the peer's public value: for
 * secp256r1 the X coordinate (RFC 8422 section 5.10) of an uncompressed
 * point checked to be on the curve; for x25519 the X25519 output, refused
 * when it is all zeros (a small-order peer value, RFC 8422 section 5.11).
 * Errors: EIM_EMALFORMED (wrong length or format, not on the curve, small
 * order), EIM_ECRYPTO.
 */
int eim_dtls_ecdhe_shared(struct eim_dtls_ecdhe *e, const uint8_t *peer,
			  size_t peer_len,
			  uint8_t out[EIM_DTLS_P256_SECRET_LEN]);
/* Wipes and frees (NULL-safe). */
void eim_dtls_ecdhe_free(struct eim_dtls_ecdhe *e);

/* SHA-256 of data (used for transcript snapshots and cookies). */
int eim_dtls_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/*
 * HMAC-SHA256 over the concatenation of up to three parts (NULL parts with
 * length 0 are skipped).
 */
int eim_dtls_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *a,
			 size_t a_len, const uint8_t *b, size_t b_len,
			 const uint8_t *c, size_t c_len, uint8_t out[32]);

#endif
