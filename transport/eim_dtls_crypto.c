/*
 * eim_dtls_crypto.c - TLS 1.2 PRF, key schedule and AEAD for DTLS 1.2, on
 * wolfCrypt (RFC 5246 sections 5, 6.3, 7.4.9; RFC 7627; RFC 6655; RFC 5288;
 * RFC 7905). See eim_dtls_crypto.h.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "transport/eim_dtls_crypto.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

static const struct eim_dtls_aead_info aead_table[] = {
	{EIM_DTLS_AEAD_AES128_CCM8, 16, 4, 8, 8},
	{EIM_DTLS_AEAD_AES128_GCM, 16, 4, 8, 16},
	{EIM_DTLS_AEAD_CHACHA20_POLY1305, 32, 12, 0, 16},
};

const struct eim_dtls_aead_info *eim_dtls_aead_info(enum eim_dtls_aead_alg alg)
{
	for (size_t i = 0; i < sizeof(aead_table) / sizeof(aead_table[0]); i++)
		if (aead_table[i].alg == alg)
			return &aead_table[i];
	return NULL;
}

/*
 * HMAC-SHA256 (RFC 2104) kept as the two SHA-256 states after the key's
 * inner and outer pad blocks: the PRF runs several HMACs under one secret,
 * and starting each from these states saves two of the four compressions
 * a short HMAC costs when the pads are hashed again every time.
 */
struct hmac_pads {
	wc_Sha256 inner, outer;
};

static void hmac_pads_wipe(struct hmac_pads *p)
{
	wc_Sha256Free(&p->inner);
	wc_Sha256Free(&p->outer);
	eim_wipe(p, sizeof(*p));
}

static int hmac_pads_init(struct hmac_pads *p, const uint8_t *key,
			  size_t key_len)
{
	uint8_t k[WC_SHA256_BLOCK_SIZE] = {0}, pad[WC_SHA256_BLOCK_SIZE];
	int rc = EIM_ECRYPTO;

	memset(p, 0, sizeof(*p));
	if (key_len > sizeof(k)) {
		if (wc_Sha256Hash(key, (word32)key_len, k) != 0)
			goto out;
	} else if (key_len) {
		memcpy(k, key, key_len);
	}
	if (wc_InitSha256(&p->inner) != 0)
		goto out;
	if (wc_InitSha256(&p->outer) != 0) {
		wc_Sha256Free(&p->inner);
		goto out;
	}
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	if (wc_Sha256Update(&p->inner, pad, sizeof(pad)) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	if (wc_Sha256Update(&p->outer, pad, sizeof(pad)) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	hmac_pads_wipe(p);
out:
	eim_wipe(k, sizeof(k));
	eim_wipe(pad, sizeof(pad));
	return rc;
}

/* HMAC of a || b (either may be empty) from precomputed pads. */
static int hmac_run(const struct hmac_pads *p, const uint8_t *a, size_t a_len,
		    const uint8_t *b, size_t b_len, uint8_t out[32])
{
	wc_Sha256 h;
	uint8_t ih[WC_SHA256_DIGEST_SIZE];
	int rc = EIM_ECRYPTO;

	/* wc_Sha256Copy takes a non-const source but does not change it */
	if (wc_Sha256Copy((wc_Sha256 *)&p->inner, &h) != 0)
		return EIM_ECRYPTO;
	if ((a_len && wc_Sha256Update(&h, a, (word32)a_len) != 0) ||
	    (b_len && wc_Sha256Update(&h, b, (word32)b_len) != 0) ||
	    wc_Sha256Final(&h, ih) != 0)
		goto out;
	wc_Sha256Free(&h);
	if (wc_Sha256Copy((wc_Sha256 *)&p->outer, &h) != 0)
		goto wipe;
	if (wc_Sha256Update(&h, ih, sizeof(ih)) != 0 ||
	    wc_Sha256Final(&h, out) != 0)
		goto out;
	rc = 0;
out:
	wc_Sha256Free(&h);
wipe:
	eim_wipe(&h, sizeof(h));
	eim_wipe(ih, sizeof(ih));
	return rc;
}

int eim_dtls_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *a,
			 size_t a_len, const uint8_t *b, size_t b_len,
			 const uint8_t *c, size_t c_len, uint8_t out[32])
{
	Hmac h;
	int rc = EIM_ECRYPTO;

	if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
		return EIM_ECRYPTO;
	if (wc_HmacSetKey(&h, WC_SHA256, key, (word32)key_len) != 0)
		goto out;
	if (a_len && wc_HmacUpdate(&h, a, (word32)a_len) != 0)
		goto out;
	if (b_len && wc_HmacUpdate(&h, b, (word32)b_len) != 0)
		goto out;
	if (c_len && wc_HmacUpdate(&h, c, (word32)c_len) != 0)
		goto out;
	if (wc_HmacFinal(&h, out) != 0)
		goto out;
	rc = 0;
out:
	wc_HmacFree(&h);
	eim_wipe(&h, sizeof(h));
	return rc;
}

int eim_dtls_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	return wc_Sha256Hash(data, (word32)len, out) == 0 ? 0 : EIM_ECRYPTO;
}

int eim_dtls_prf(const uint8_t *secret, size_t secret_len, const char *label,
		 const uint8_t *seed1, size_t seed1_len, const uint8_t *seed2,
		 size_t seed2_len, uint8_t *out, size_t out_len)
{
	/* label || seed; our labels are short and seeds at most two randoms */
	uint8_t seed[160];
	uint8_t a[32], block[32];
	struct hmac_pads pads;
	size_t label_len, seed_len, done = 0;
	int rc = 0;

	if (!label || !out || (!seed1 && seed1_len) || (!seed2 && seed2_len) ||
	    (!secret && secret_len))
		return EIM_EINVAL;
	label_len = strlen(label);
	if (label_len + seed1_len + seed2_len > sizeof(seed))
		return EIM_EINVAL;
	memcpy(seed, label, label_len);
	if (seed1_len)
		memcpy(seed + label_len, seed1, seed1_len);
	if (seed2_len)
		memcpy(seed + label_len + seed1_len, seed2, seed2_len);
	seed_len = label_len + seed1_len + seed2_len;

	rc = hmac_pads_init(&pads, secret, secret_len);
	if (rc) {
		eim_wipe(seed, sizeof(seed));
		eim_wipe(out, out_len);
		return rc;
	}
	/* A(1) = HMAC(secret, seed) */
	rc = hmac_run(&pads, seed, seed_len, NULL, 0, a);
	while (rc == 0 && done < out_len) {
		size_t n = out_len - done < 32 ? out_len - done : 32;

		rc = hmac_run(&pads, a, 32, seed, seed_len, block);
		if (rc)
			break;
		memcpy(out + done, block, n);
		done += n;
		/* A(i+1) = HMAC(secret, A(i)), only when another block
		 * follows */
		if (done < out_len)
			rc = hmac_run(&pads, a, 32, NULL, 0, a);
	}
	hmac_pads_wipe(&pads);
	eim_wipe(a, sizeof(a));
	eim_wipe(block, sizeof(block));
	eim_wipe(seed, sizeof(seed));
	if (rc)
		eim_wipe(out, out_len);
	return rc;
}

int eim_dtls_master_secret(const uint8_t *pms, size_t pms_len, int ems,
			   const uint8_t *crandom, const uint8_t *srandom,
			   uint8_t out[EIM_DTLS_MASTER_LEN])
{
	if (!pms || !crandom || !out || (!ems && !srandom))
		return EIM_EINVAL;
	if (ems)
		return eim_dtls_prf(pms, pms_len, "extended master secret",
				    crandom, 32, NULL, 0, out,
				    EIM_DTLS_MASTER_LEN);
	return eim_dtls_prf(pms, pms_len, "master secret", crandom,
			    EIM_DTLS_RANDOM_LEN, srandom, EIM_DTLS_RANDOM_LEN,
			    out, EIM_DTLS_MASTER_LEN);
}

int eim_dtls_key_block(const struct eim_dtls_aead_info *info,
		       const uint8_t master[EIM_DTLS_MASTER_LEN],
		       const uint8_t crandom[EIM_DTLS_RANDOM_LEN],
		       const uint8_t srandom[EIM_DTLS_RANDOM_LEN],
		       struct eim_dtls_aead_key *client_write,
		       struct eim_dtls_aead_key *server_write)
{
	uint8_t kb[2 * (EIM_DTLS_MAX_KEY_LEN + EIM_DTLS_MAX_IV_LEN)];
	size_t kl, il;
	int rc;

	if (!info || !master || !crandom || !srandom || !client_write ||
	    !server_write)
		return EIM_EINVAL;
	kl = info->key_len;
	il = info->fixed_iv_len;
	/* key_block = PRF(master, "key expansion", server_random +
	 * client_random): client key, server key, client IV, server IV. */
	rc = eim_dtls_prf(master, EIM_DTLS_MASTER_LEN, "key expansion", srandom,
			  EIM_DTLS_RANDOM_LEN, crandom, EIM_DTLS_RANDOM_LEN, kb,
			  2 * (kl + il));
	if (rc)
		return rc;
	memset(client_write, 0, sizeof(*client_write));
	memset(server_write, 0, sizeof(*server_write));
	client_write->info = info;
	server_write->info = info;
	memcpy(client_write->key, kb, kl);
	memcpy(server_write->key, kb + kl, kl);
	memcpy(client_write->iv, kb + 2 * kl, il);
	memcpy(server_write->iv, kb + 2 * kl + il, il);
	eim_wipe(kb, sizeof(kb));
	return 0;
}

int eim_dtls_verify_data(const uint8_t master[EIM_DTLS_MASTER_LEN],
			 int from_client, const uint8_t hash[32],
			 uint8_t out[EIM_DTLS_VERIFY_LEN])
{
	return eim_dtls_prf(master, EIM_DTLS_MASTER_LEN,
			    from_client ? "client finished" : "server finished",
			    hash, 32, NULL, 0, out, EIM_DTLS_VERIFY_LEN);
}

/* ---- AES key schedule cache ---------------------------------------------
 */

struct eim_dtls_aead_slot {
	uint32_t id; /* 0: empty */
	uint8_t alg; /* enum eim_dtls_aead_alg of the schedule */
	uint8_t key_len;
	uint8_t key[EIM_DTLS_MAX_KEY_LEN]; /* the raw key the schedule is of */
	Aes aes;
};

struct eim_dtls_aead_cache {
	uint32_t next_id;
	struct eim_dtls_aead_cache_stats st;
	struct eim_dtls_aead_slot slot[EIM_DTLS_AEAD_CACHE_SLOTS];
};

int eim_dtls_aead_cache_new(struct eim_dtls_aead_cache **ret)
{
	struct eim_dtls_aead_cache *c;

	if (!ret)
		return EIM_EINVAL;
	c = eim_calloc(1, sizeof(*c));
	if (!c)
		return EIM_ENOMEM;
	*ret = c;
	return 0;
}

static void slot_clear(struct eim_dtls_aead_slot *s)
{
	if (s->id == 0)
		return;
	wc_AesFree(&s->aes);
	eim_wipe(s, sizeof(*s));
}

void eim_dtls_aead_cache_free(struct eim_dtls_aead_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < EIM_DTLS_AEAD_CACHE_SLOTS; i++)
		slot_clear(&c->slot[i]);
	eim_free(c);
}

void eim_dtls_aead_cache_attach(struct eim_dtls_aead_cache *c,
				struct eim_dtls_aead_key *k)
{
	if (!k)
		return;
	k->cache = c;
	k->cache_id = 0;
	if (!c)
		return;
	if (++c->next_id == 0)
		c->next_id = 1;
	k->cache_id = c->next_id;
}

static struct eim_dtls_aead_slot *slot_of(const struct eim_dtls_aead_key *k)
{
	return &k->cache->slot[k->cache_id % EIM_DTLS_AEAD_CACHE_SLOTS];
}

/* Whether two raw keys (16 or 32 bytes) are equal, in constant time, a
 * word at a time: this runs for every record. */
static bool key_same(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t d = 0, x, y;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		d |= x ^ y;
	}
	return d == 0;
}

static bool slot_holds(const struct eim_dtls_aead_slot *s,
		       const struct eim_dtls_aead_key *k)
{
	return s->id == k->cache_id && s->alg == (uint8_t)k->info->alg &&
	       s->key_len == k->info->key_len &&
	       key_same(s->key, k->key, k->info->key_len);
}

void eim_dtls_aead_cache_forget(struct eim_dtls_aead_key *k)
{
	if (!k || !k->cache || !k->info)
		return;
	struct eim_dtls_aead_slot *s = slot_of(k);
	if (slot_holds(s, k))
		slot_clear(s);
	k->cache = NULL;
	k->cache_id = 0;
}

void eim_dtls_aead_cache_stats(const struct eim_dtls_aead_cache *c,
			       struct eim_dtls_aead_cache_stats *ret)
{
	if (!ret)
		return;
	memset(ret, 0, sizeof(*ret));
	if (c)
		*ret = c->st;
}

/* Expands k's AES key into aes (initialised here). 0 or EIM_ECRYPTO. */
static int aes_setup(Aes *aes, const struct eim_dtls_aead_key *k)
{
	int ccm = k->info->alg == EIM_DTLS_AEAD_AES128_CCM8;

	if (wc_AesInit(aes, NULL, INVALID_DEVID) != 0)
		return EIM_ECRYPTO;
	if ((ccm ? wc_AesCcmSetKey(aes, k->key, k->info->key_len)
		 : wc_AesGcmSetKey(aes, k->key, k->info->key_len)) != 0) {
		wc_AesFree(aes);
		return EIM_ECRYPTO;
	}
	return 0;
}

/* The cached schedule of k, expanded into its slot first when the slot
 * holds another key (or nothing). NULL when the expansion failed. */
static Aes *aes_cached(const struct eim_dtls_aead_key *k)
{
	struct eim_dtls_aead_cache *c = k->cache;
	struct eim_dtls_aead_slot *s = slot_of(k);

	if (slot_holds(s, k)) {
		c->st.hits++;
		return &s->aes;
	}
	c->st.misses++;
	slot_clear(s);
	if (aes_setup(&s->aes, k) != 0) {
		eim_wipe(s, sizeof(*s));
		return NULL;
	}
	s->id = k->cache_id;
	s->alg = (uint8_t)k->info->alg;
	s->key_len = k->info->key_len;
	memcpy(s->key, k->key, k->info->key_len);
	return &s->aes;
}

static int aes_aead(const struct eim_dtls_aead_key *k, int seal,
		    const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		    uint8_t *buf, size_t len, uint8_t *tag)
{
	Aes local, *aes;
	int wrc, rc = EIM_ECRYPTO;
	int ccm = k->info->alg == EIM_DTLS_AEAD_AES128_CCM8;

	if (k->cache && k->cache_id) {
		aes = aes_cached(k);
		if (!aes)
			return EIM_ECRYPTO;
	} else {
		if (aes_setup(&local, k) != 0)
			return EIM_ECRYPTO;
		aes = &local;
	}
	if (seal)
		wrc = ccm ? wc_AesCcmEncrypt(aes, buf, buf, (word32)len, nonce,
					     EIM_DTLS_NONCE_LEN, tag,
					     k->info->tag_len, aad,
					     (word32)aad_len)
			  : wc_AesGcmEncrypt(aes, buf, buf, (word32)len, nonce,
					     EIM_DTLS_NONCE_LEN, tag,
					     k->info->tag_len, aad,
					     (word32)aad_len);
	else
		wrc = ccm ? wc_AesCcmDecrypt(aes, buf, buf, (word32)len, nonce,
					     EIM_DTLS_NONCE_LEN, tag,
					     k->info->tag_len, aad,
					     (word32)aad_len)
			  : wc_AesGcmDecrypt(aes, buf, buf, (word32)len, nonce,
					     EIM_DTLS_NONCE_LEN, tag,
					     k->info->tag_len, aad,
					     (word32)aad_len);
	if (wrc == AES_GCM_AUTH_E || wrc == AES_CCM_AUTH_E)
		rc = EIM_EVERIFY;
	else if (wrc == 0)
		rc = 0;
	if (aes == &local) {
		wc_AesFree(&local);
		eim_wipe(&local, sizeof(local));
	}
	return rc;
}

static int aead(const struct eim_dtls_aead_key *k, int seal,
		const uint8_t nonce[EIM_DTLS_NONCE_LEN], const uint8_t *aad,
		size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag)
{
	int rc, wrc;

	if (!k || !k->info || !nonce || (!aad && aad_len) || (!buf && len) ||
	    !tag)
		return EIM_EINVAL;
	if (k->info->alg != EIM_DTLS_AEAD_CHACHA20_POLY1305) {
		rc = aes_aead(k, seal, nonce, aad, aad_len, buf, len, tag);
	} else {
		if (seal)
			wrc = wc_ChaCha20Poly1305_Encrypt(k->key, nonce, aad,
							  (word32)aad_len, buf,
							  (word32)len, buf,
							  tag);
		else
			wrc = wc_ChaCha20Poly1305_Decrypt(k->key, nonce, aad,
							  (word32)aad_len, buf,
							  (word32)len, tag,
							  buf);
		rc = wrc == 0		       ? 0
		     : wrc == MAC_CMP_FAILED_E ? EIM_EVERIFY
					       : EIM_ECRYPTO;
	}
	if (rc && !seal && len)
		eim_wipe(buf, len);
	return rc;
}

int eim_dtls_aead_seal(const struct eim_dtls_aead_key *k,
		       const uint8_t nonce[EIM_DTLS_NONCE_LEN],
		       const uint8_t *aad, size_t aad_len, uint8_t *buf,
		       size_t len, uint8_t *tag)
{
	return aead(k, 1, nonce, aad, aad_len, buf, len, tag);
}

int eim_dtls_aead_open(const struct eim_dtls_aead_key *k,
		       const uint8_t nonce[EIM_DTLS_NONCE_LEN],
		       const uint8_t *aad, size_t aad_len, uint8_t *buf,
		       size_t len, const uint8_t *tag)
{
	return aead(k, 0, nonce, aad, aad_len, buf, len, (uint8_t *)tag);
}

/*
 * One ephemeral key: P-256 (wolfCrypt's generic-math ECC, about 85 us to
 * make with its fixed-base table and 500 us for the shared secret with a
 * point it has not seen) or X25519 (RFC 7748, about 50 us each).
 */
struct eim_dtls_ecdhe {
	uint16_t group;
	union {
		ecc_key p256;
		curve25519_key x25519;
	} k;
};

int eim_dtls_ecdhe_new_group(struct WC_RNG *rng, uint16_t group,
			     struct eim_dtls_ecdhe **ret,
			     uint8_t pub[EIM_DTLS_ECDHE_PUB_MAX],
			     size_t *pub_len)
{
	struct eim_dtls_ecdhe *e;
	word32 n = EIM_DTLS_ECDHE_PUB_MAX;
	int wrc;

	if (!rng || !ret || !pub || !pub_len)
		return EIM_EINVAL;
	if (group != EIM_DTLS_GROUP_SECP256R1 && group != EIM_DTLS_GROUP_X25519)
		return EIM_EINVAL;
	e = eim_calloc(1, sizeof(*e));
	if (!e)
		return EIM_ENOMEM;
	e->group = group;
	if (group == EIM_DTLS_GROUP_X25519) {
		if (wc_curve25519_init(&e->k.x25519) != 0) {
			eim_free(e);
			return EIM_ECRYPTO;
		}
		/* RFC 8422 section 5.4: the 32-byte u-coordinate in the byte
		 * order of RFC 7748 (little-endian) */
		wrc = wc_curve25519_make_key(rng, CURVE25519_KEYSIZE,
					     &e->k.x25519);
		if (wrc == 0)
			wrc = wc_curve25519_export_public_ex(
				&e->k.x25519, pub, &n, EC25519_LITTLE_ENDIAN);
		if (wrc != 0 || n != EIM_DTLS_X25519_POINT_LEN)
			goto fail;
	} else {
		if (wc_ecc_init(&e->k.p256) != 0) {
			eim_free(e);
			return EIM_ECRYPTO;
		}
		if (wc_ecc_make_key_ex(rng, 32, &e->k.p256, ECC_SECP256R1) !=
			    0 ||
		    wc_ecc_set_rng(&e->k.p256, rng) != 0 ||
		    wc_ecc_export_x963(&e->k.p256, pub, &n) != 0 ||
		    n != EIM_DTLS_P256_POINT_LEN)
			goto fail;
	}
	*pub_len = n;
	*ret = e;
	return 0;
fail:
	eim_dtls_ecdhe_free(e);
	return EIM_ECRYPTO;
}

int eim_dtls_ecdhe_new(struct WC_RNG *rng, struct eim_dtls_ecdhe **ret,
		       uint8_t pub[EIM_DTLS_P256_POINT_LEN])
{
	uint8_t tmp[EIM_DTLS_ECDHE_PUB_MAX];
	size_t n;
	int rc;

	if (!pub)
		return EIM_EINVAL;
	rc = eim_dtls_ecdhe_new_group(rng, EIM_DTLS_GROUP_SECP256R1, ret, tmp,
				      &n);
	if (rc == 0)
		memcpy(pub, tmp, EIM_DTLS_P256_POINT_LEN);
	return rc;
}

uint16_t eim_dtls_ecdhe_group(const struct eim_dtls_ecdhe *e)
{
	return e ? e->group : 0;
}

static int x25519_shared(struct eim_dtls_ecdhe *e, const uint8_t *peer,
			 size_t peer_len, uint8_t out[32])
{
	curve25519_key pk;
	word32 n = EIM_DTLS_X25519_SECRET_LEN;
	uint8_t acc = 0;
	int wrc, rc = EIM_EMALFORMED;

	if (peer_len != EIM_DTLS_X25519_POINT_LEN)
		return EIM_EMALFORMED;
	if (wc_curve25519_init(&pk) != 0)
		return EIM_ECRYPTO;
	if (wc_curve25519_import_public_ex(peer, (word32)peer_len, &pk,
					   EC25519_LITTLE_ENDIAN) != 0)
		goto out;
	wrc = wc_curve25519_shared_secret_ex(&e->k.x25519, &pk, out, &n,
					     EC25519_LITTLE_ENDIAN);
	if (wrc != 0 || n != EIM_DTLS_X25519_SECRET_LEN) {
		/* wolfCrypt refuses some small-order points itself */
		rc = wrc == ECC_OUT_OF_RANGE_E ? EIM_EMALFORMED : EIM_ECRYPTO;
		goto out;
	}
	/* RFC 8422 section 5.11: an all-zero result means the peer sent a
	 * point of small order; checked without branching on the bytes */
	for (size_t i = 0; i < EIM_DTLS_X25519_SECRET_LEN; i++)
		acc |= out[i];
	if (acc == 0) {
		eim_wipe(out, EIM_DTLS_X25519_SECRET_LEN);
		goto out;
	}
	rc = 0;
out:
	wc_curve25519_free(&pk);
	return rc;
}

int eim_dtls_ecdhe_shared(struct eim_dtls_ecdhe *e, const uint8_t *peer,
			  size_t peer_len,
			  uint8_t out[EIM_DTLS_P256_SECRET_LEN])
{
	ecc_key pk;
	word32 n = EIM_DTLS_P256_SECRET_LEN;
	int rc = EIM_EMALFORMED;

	if (!e || !peer || !out)
		return EIM_EINVAL;
	if (e->group == EIM_DTLS_GROUP_X25519)
		return x25519_shared(e, peer, peer_len, out);
	if (peer_len != EIM_DTLS_P256_POINT_LEN || peer[0] != 0x04)
		return EIM_EMALFORMED;
	if (wc_ecc_init(&pk) != 0)
		return EIM_ECRYPTO;
	if (wc_ecc_import_x963_ex(peer, (word32)peer_len, &pk, ECC_SECP256R1) !=
		    0 ||
	    wc_ecc_point_is_on_curve(&pk.pubkey,
				     wc_ecc_get_curve_idx(ECC_SECP256R1)) != 0)
		goto out;
	rc = EIM_ECRYPTO;
	if (wc_ecc_shared_secret(&e->k.p256, &pk, out, &n) != 0 ||
	    n != EIM_DTLS_P256_SECRET_LEN)
		goto out;
	rc = 0;
out:
	wc_ecc_free(&pk);
	return rc;
}

void eim_dtls_ecdhe_free(struct eim_dtls_ecdhe *e)
{
	if (!e)
		return;
	if (e->group == EIM_DTLS_GROUP_X25519)
		wc_curve25519_free(&e->k.x25519);
	else
		wc_ecc_free(&e->k.p256);
	eim_free_secret(e, sizeof(*e));
}
