/*
 * eim_sig.c - ECDSA-SHA256 keys and raw r||s signatures for SGP.32.
 *
 * Key formats: RFC 5915 (SEC1 ECPrivateKey), RFC 5208 (PKCS#8), RFC 5480
 * (SubjectPublicKeyInfo for EC), RFC 5280 (certificate, for its SPKI),
 * RFC 7468 (PEM). Curves: RFC 5480 (secp256r1), RFC 5639 (brainpoolP256r1).
 * Signature format: SGP.22 / SGP.32 raw r||s, converted to and from the
 * X.509 ECDSA-Sig-Value SEQUENCE for wolfCrypt.
 */
#include "proto/eim_sig.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_der.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <string.h>

struct eim_sig_key {
	ecc_key ecc;
	WC_RNG rng;
	bool rng_ok;
	bool priv;
	enum eim_sig_curve curve;
};

/* OID contents (without the 06 tag and length). */
static const uint8_t oid_ec_public_key[] = {0x2a, 0x86, 0x48, 0xce,
					    0x3d, 0x02, 0x01};
static const uint8_t oid_p256[] = {0x2a, 0x86, 0x48, 0xce,
				   0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_bp256[] = {0x2b, 0x24, 0x03, 0x03, 0x02,
				    0x08, 0x01, 0x01, 0x07};

static int wc_curve_of(enum eim_sig_curve c)
{
	return c == EIM_SIG_BRAINPOOLP256R1 ? ECC_BRAINPOOLP256R1
					    : ECC_SECP256R1;
}

static int curve_from_oid(const struct eim_der_tlv *t, enum eim_sig_curve *ret)
{
	if (t->tag != 0x06)
		return EIM_EMALFORMED;
	if (t->len == sizeof(oid_p256) &&
	    memcmp(t->val, oid_p256, sizeof(oid_p256)) == 0) {
		*ret = EIM_SIG_P256;
		return 0;
	}
	if (t->len == sizeof(oid_bp256) &&
	    memcmp(t->val, oid_bp256, sizeof(oid_bp256)) == 0) {
		*ret = EIM_SIG_BRAINPOOLP256R1;
		return 0;
	}
	return EIM_EUNSUPPORTED;
}

static const uint8_t *curve_oid(enum eim_sig_curve c, size_t *len)
{
	if (c == EIM_SIG_BRAINPOOLP256R1) {
		*len = sizeof(oid_bp256);
		return oid_bp256;
	}
	*len = sizeof(oid_p256);
	return oid_p256;
}

static struct eim_sig_key *key_new(void)
{
	struct eim_sig_key *k = eim_calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	if (wc_ecc_init(&k->ecc) != 0) {
		eim_free(k);
		return NULL;
	}
	return k;
}

void eim_sig_key_free(struct eim_sig_key *k)
{
	if (!k)
		return;
	wc_ecc_free(&k->ecc);
	if (k->rng_ok)
		wc_FreeRng(&k->rng);
	eim_free_secret(k, sizeof(*k));
}

static int ensure_rng(struct eim_sig_key *k)
{
	if (k->rng_ok)
		return 0;
	if (wc_InitRng(&k->rng) != 0)
		return EIM_ECRYPTO;
	k->rng_ok = true;
	/* Timing-resistant scalar multiplication blinds with the RNG. */
	if (wc_ecc_set_rng(&k->ecc, &k->rng) != 0)
		return EIM_ECRYPTO;
	return 0;
}

/* AlgorithmIdentifier { ecPublicKey, namedCurve } -> curve. */
static int parse_ec_alg(const struct eim_der_cur *parent,
			const struct eim_der_tlv *alg, enum eim_sig_curve *ret)
{
	struct eim_der_cur c;
	struct eim_der_tlv oid, param;
	int rc;

	if (alg->tag != 0x30)
		return EIM_EMALFORMED;
	if ((rc = eim_der_enter(parent, alg, &c)) < 0 ||
	    (rc = eim_der_expect(&c, 0x06, &oid)) < 0)
		return EIM_EMALFORMED;
	if (oid.len != sizeof(oid_ec_public_key) ||
	    memcmp(oid.val, oid_ec_public_key, oid.len) != 0)
		return EIM_EUNSUPPORTED;
	if (eim_der_read(&c, &param) < 0)
		return EIM_EMALFORMED;
	if (param.tag != 0x06)
		return EIM_EUNSUPPORTED; /* explicit curve parameters */
	return curve_from_oid(&param, ret);
}

/*
 * Public-key validation of an imported point (SEC 1 v2 3.2.2.1, NIST SP
 * 800-56A 5.6.2.3.4): uncompressed, coordinates below p, on the curve, not
 * the point at infinity. Both of our curves have cofactor 1, so every such
 * point already has the prime order n and the full check's n*Q == O (what
 * wc_ecc_check_key adds) proves nothing more. It is also expensive here:
 * with Debian's FP_ECC build that scalar multiplication puts the point in
 * wolfCrypt's fixed-point cache, and the key's first verification, its
 * second use, then builds a 256-entry table for it (~4 ms against ~0.5 ms,
 * measured with eUICC certificates; a fleet verifies each eUICC key once).
 */
static bool public_point_valid(ecc_key *ecc, enum eim_sig_curve curve,
			       const uint8_t *pt, size_t len)
{
	const ecc_set_type *dp = wc_ecc_get_curve_params(
		wc_ecc_get_curve_idx(wc_curve_of(curve)));
	uint8_t prime[32];
	size_t plen = 0;

	if (len != 65 || pt[0] != 0x04 || !dp || !dp->prime ||
	    eim_hex_decode(dp->prime, strlen(dp->prime), prime, sizeof(prime),
			   &plen) != 0 ||
	    plen != sizeof(prime))
		return false;
	/* big-endian X and Y, each strictly below p */
	if (memcmp(pt + 1, prime, 32) >= 0 || memcmp(pt + 33, prime, 32) >= 0)
		return false;
	return wc_ecc_point_is_at_infinity(&ecc->pubkey) == 0 &&
	       wc_ecc_point_is_on_curve(&ecc->pubkey, ecc->idx) == 0;
}

static int import_public(struct eim_sig_key *k, enum eim_sig_curve curve,
			 const struct eim_der_tlv *bits)
{
	/* BIT STRING: 00 unused bits, then the uncompressed point 04 X Y. */
	if (bits->tag != 0x03 || bits->len < 2 || bits->val[0] != 0)
		return EIM_EMALFORMED;
	if (wc_ecc_import_x963_ex(bits->val + 1, (word32)(bits->len - 1),
				  &k->ecc, wc_curve_of(curve)) != 0)
		return EIM_ECRYPTO;
	if (!public_point_valid(&k->ecc, curve, bits->val + 1, bits->len - 1))
		return EIM_ECRYPTO;
	k->curve = curve;
	return 0;
}

static int load_spki(struct eim_sig_key *k, const struct eim_der_cur *parent,
		     const struct eim_der_tlv *spki)
{
	struct eim_der_cur c;
	struct eim_der_tlv alg, bits;
	enum eim_sig_curve curve;
	int rc;

	if (spki->tag != 0x30 || eim_der_enter(parent, spki, &c) < 0 ||
	    eim_der_read(&c, &alg) < 0 || eim_der_expect(&c, 0x03, &bits) < 0 ||
	    eim_der_finish(&c) < 0)
		return EIM_EMALFORMED;
	if ((rc = parse_ec_alg(&c, &alg, &curve)) < 0)
		return rc;
	return import_public(k, curve, &bits);
}

/* SEC1 ECPrivateKey; `curve` is preset when PKCS#8 named it (or 0). */
static int load_sec1(struct eim_sig_key *k, const struct eim_der_cur *parent,
		     const struct eim_der_tlv *seq, enum eim_sig_curve curve)
{
	struct eim_der_cur c, pc;
	struct eim_der_tlv ver, priv, params, pub, oid, bits;
	bool have_pub = false;
	int64_t v;
	int rc;

	if (seq->tag != 0x30 || eim_der_enter(parent, seq, &c) < 0 ||
	    eim_der_expect(&c, 0x02, &ver) < 0 ||
	    eim_der_get_int(&c, &ver, 1, 1, &v) < 0 ||
	    eim_der_expect(&c, 0x04, &priv) < 0)
		return EIM_EMALFORMED;
	if (priv.len == 0 || priv.len > 32)
		return EIM_EUNSUPPORTED;
	if ((rc = eim_der_optional(&c, 0xa0, &params)) < 0)
		return EIM_EMALFORMED;
	if (rc == 1) {
		enum eim_sig_curve named;

		if (eim_der_enter(&c, &params, &pc) < 0 ||
		    eim_der_read(&pc, &oid) < 0)
			return EIM_EMALFORMED;
		if ((rc = curve_from_oid(&oid, &named)) < 0)
			return rc;
		if (curve && curve != named)
			return EIM_EMALFORMED;
		curve = named;
	}
	if (!curve)
		return EIM_EMALFORMED; /* no way to know the curve */
	if ((rc = eim_der_optional(&c, 0xa1, &pub)) < 0)
		return EIM_EMALFORMED;
	if (rc == 1) {
		if (eim_der_enter(&c, &pub, &pc) < 0 ||
		    eim_der_expect(&pc, 0x03, &bits) < 0 || bits.len < 2 ||
		    bits.val[0] != 0)
			return EIM_EMALFORMED;
		have_pub = true;
	}
	if (eim_der_finish(&c) < 0)
		return EIM_EMALFORMED;
	if (wc_ecc_import_private_key_ex(priv.val, (word32)priv.len,
					 have_pub ? bits.val + 1 : NULL,
					 have_pub ? (word32)(bits.len - 1) : 0,
					 &k->ecc, wc_curve_of(curve)) != 0)
		return EIM_ECRYPTO;
	if ((rc = ensure_rng(k)) < 0)
		return rc;
	if (!have_pub && wc_ecc_make_pub(&k->ecc, NULL) != 0)
		return EIM_ECRYPTO;
	if (wc_ecc_check_key(&k->ecc) != 0)
		return EIM_ECRYPTO;
	k->curve = curve;
	k->priv = true;
	return 0;
}

static int load_pkcs8(struct eim_sig_key *k, struct eim_der_cur *c)
{
	struct eim_der_tlv alg, octets, inner;
	enum eim_sig_curve curve;
	struct eim_der_cur ic;
	int rc;

	if (eim_der_read(c, &alg) < 0 || eim_der_expect(c, 0x04, &octets) < 0)
		return EIM_EMALFORMED;
	if ((rc = parse_ec_alg(c, &alg, &curve)) < 0)
		return rc;
	/* The OCTET STRING holds an ECPrivateKey; attributes may follow. */
	eim_der_cur_init(&ic, octets.val, octets.len, NULL);
	if (eim_der_read(&ic, &inner) < 0 || eim_der_finish(&ic) < 0)
		return EIM_EMALFORMED;
	return load_sec1(k, &ic, &inner, curve);
}

/* Certificate ::= SEQUENCE { tbs, sigAlg, sig }: take tbs.subjectPKInfo. */
static int load_cert(struct eim_sig_key *k, const struct eim_der_cur *parent,
		     const struct eim_der_tlv *tbs)
{
	struct eim_der_cur c;
	struct eim_der_tlv t;
	int rc;

	if (eim_der_enter(parent, tbs, &c) < 0)
		return EIM_EMALFORMED;
	if ((rc = eim_der_optional(&c, 0xa0, &t)) < 0) /* version */
		return EIM_EMALFORMED;
	/* serialNumber, signature, issuer, validity, subject */
	if (eim_der_expect(&c, 0x02, &t) < 0)
		return EIM_EMALFORMED;
	for (int i = 0; i < 4; i++)
		if (eim_der_expect(&c, 0x30, &t) < 0)
			return EIM_EMALFORMED;
	if (eim_der_expect(&c, 0x30, &t) < 0)
		return EIM_EMALFORMED;
	return load_spki(k, &c, &t);
}

static int load_der(struct eim_sig_key *k, const uint8_t *der, size_t n)
{
	struct eim_der_tlv top, first, second;
	struct eim_der_cur root, c;
	int64_t v;

	eim_der_cur_init(&root, der, n, NULL);
	if (eim_der_read(&root, &top) < 0 || eim_der_finish(&root) < 0 ||
	    top.tag != 0x30 || eim_der_enter(&root, &top, &c) < 0 ||
	    eim_der_read(&c, &first) < 0)
		return EIM_EMALFORMED;
	if (first.tag == 0x02) {
		if (eim_der_get_int(&c, &first, 0, 1, &v) < 0)
			return EIM_EMALFORMED;
		/* SEC1 is version 1 then an OCTET STRING; PKCS#8 is version 0
		 * (or 1 for RFC 5958 OneAsymmetricKey) then a SEQUENCE. */
		uint32_t next = 0;
		if (eim_der_peek(&c, &next) < 0)
			return EIM_EMALFORMED;
		if (v == 1 && next == 0x04)
			return load_sec1(k, &root, &top, 0);
		return load_pkcs8(k, &c);
	}
	if (first.tag != 0x30 || eim_der_read(&c, &second) < 0)
		return EIM_EMALFORMED;
	if (second.tag == 0x03)
		return load_spki(k, &root, &top);
	if (second.tag == 0x30)
		return load_cert(k, &c, &first);
	return EIM_EMALFORMED;
}

int eim_sig_pem_decode(const char *text, size_t n, const char **ret_label,
		       size_t *ret_label_len, uint8_t **ret_der,
		       size_t *ret_der_len)
{
	static const char begin[] = "-----BEGIN ";
	static const char end[] = "-----END ";
	const char *p, *lab, *body, *stop;
	size_t lab_len, cap, len = 0;
	uint8_t *der;
	int rc;

	if (!text || !ret_der || !ret_der_len)
		return EIM_EINVAL;
	p = memmem(text, n, begin, sizeof(begin) - 1);
	if (!p)
		return EIM_ENOTFOUND;
	lab = p + sizeof(begin) - 1;
	body = memmem(lab, n - (size_t)(lab - text), "-----", 5);
	if (!body)
		return EIM_EMALFORMED;
	lab_len = (size_t)(body - lab);
	body += 5;
	stop = memmem(body, n - (size_t)(body - text), end, sizeof(end) - 1);
	if (!stop)
		return EIM_EMALFORMED;
	/* RFC 1421 headers (Proc-Type, DEK-Info) mean an encrypted key. */
	if (memchr(body, ':', (size_t)(stop - body)))
		return EIM_EUNSUPPORTED;
	cap = (size_t)(stop - body) / 4 * 3 + 3;
	der = eim_malloc(cap ? cap : 1);
	if (!der)
		return EIM_ENOMEM;
	rc = eim_base64_decode(body, (size_t)(stop - body), der, cap, &len);
	if (rc < 0 || len == 0) {
		eim_free_secret(der, cap);
		return EIM_EMALFORMED;
	}
	if (ret_label)
		*ret_label = lab;
	if (ret_label_len)
		*ret_label_len = lab_len;
	*ret_der = der;
	*ret_der_len = len;
	return 0;
}

int eim_sig_key_load(const uint8_t *buf, size_t n, struct eim_sig_key **ret)
{
	struct eim_sig_key *k = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int rc;

	if (!buf || !ret)
		return EIM_EINVAL;
	rc = eim_sig_pem_decode((const char *)buf, n, NULL, NULL, &der,
				&der_len);
	if (rc < 0 && rc != EIM_ENOTFOUND)
		return rc;
	k = key_new();
	if (!k) {
		rc = EIM_ENOMEM;
		goto out;
	}
	rc = der ? load_der(k, der, der_len) : load_der(k, buf, n);
	if (rc < 0)
		goto out;
	*ret = k;
	k = NULL;
out:
	eim_sig_key_free(k);
	if (der)
		eim_free_secret(der, der_len);
	return rc;
}

int eim_sig_key_generate(enum eim_sig_curve curve, struct eim_sig_key **ret)
{
	struct eim_sig_key *k;
	int rc;

	if (!ret || (curve != EIM_SIG_P256 && curve != EIM_SIG_BRAINPOOLP256R1))
		return EIM_EINVAL;
	k = key_new();
	if (!k)
		return EIM_ENOMEM;
	if ((rc = ensure_rng(k)) < 0)
		goto fail;
	if (wc_ecc_make_key_ex(&k->rng, 32, &k->ecc, wc_curve_of(curve)) != 0) {
		rc = EIM_ECRYPTO;
		goto fail;
	}
	k->curve = curve;
	k->priv = true;
	*ret = k;
	return 0;
fail:
	eim_sig_key_free(k);
	return rc;
}

bool eim_sig_key_has_private(const struct eim_sig_key *k)
{
	return k && k->priv;
}

enum eim_sig_curve eim_sig_key_curve(const struct eim_sig_key *k)
{
	return k->curve;
}

static int export_point(const struct eim_sig_key *k, uint8_t pt[65])
{
	word32 len = 65;

	if (wc_ecc_export_x963((ecc_key *)&k->ecc, pt, &len) != 0 || len != 65)
		return EIM_ECRYPTO;
	return 0;
}

int eim_sig_key_spki(const struct eim_sig_key *k, struct eim_buf *out)
{
	uint8_t pt[66];
	const uint8_t *oid;
	size_t oid_len, top, alg;
	int rc;

	if (!k || !out)
		return EIM_EINVAL;
	pt[0] = 0; /* BIT STRING: no unused bits */
	if ((rc = export_point(k, pt + 1)) < 0)
		return rc;
	oid = curve_oid(k->curve, &oid_len);
	top = eim_der_open(out, 0x30);
	alg = eim_der_open(out, 0x30);
	eim_der_put(out, 0x06, oid_ec_public_key, sizeof(oid_ec_public_key));
	eim_der_put(out, 0x06, oid, oid_len);
	eim_der_close(out, alg);
	eim_der_put(out, 0x03, pt, sizeof(pt));
	eim_der_close(out, top);
	return out->err;
}

int eim_sig_key_sec1(const struct eim_sig_key *k, struct eim_buf *out)
{
	uint8_t priv[32], pt[66];
	word32 plen = sizeof(priv);
	const uint8_t *oid;
	size_t oid_len, top, m;
	int rc;

	if (!k || !out)
		return EIM_EINVAL;
	if (!k->priv)
		return EIM_ESTATE;
	if (wc_ecc_export_private_only((ecc_key *)&k->ecc, priv, &plen) != 0)
		return EIM_ECRYPTO;
	pt[0] = 0;
	if ((rc = export_point(k, pt + 1)) < 0)
		goto out;
	oid = curve_oid(k->curve, &oid_len);
	top = eim_der_open(out, 0x30);
	eim_der_put_int(out, 0x02, 1);
	eim_der_put(out, 0x04, priv, plen);
	m = eim_der_open(out, 0xa0);
	eim_der_put(out, 0x06, oid, oid_len);
	eim_der_close(out, m);
	m = eim_der_open(out, 0xa1);
	eim_der_put(out, 0x03, pt, sizeof(pt));
	eim_der_close(out, m);
	eim_der_close(out, top);
	rc = out->err;
out:
	eim_wipe(priv, sizeof(priv));
	return rc;
}

static int hash_parts(const struct eim_slice *parts, size_t nparts,
		      uint8_t digest[WC_SHA256_DIGEST_SIZE])
{
	wc_Sha256 sha;
	int rc = 0;

	if (wc_InitSha256(&sha) != 0)
		return EIM_ECRYPTO;
	for (size_t i = 0; i < nparts && rc == 0; i++)
		if (parts[i].len && wc_Sha256Update(&sha, parts[i].p,
						    (word32)parts[i].len) != 0)
			rc = EIM_ECRYPTO;
	if (rc == 0 && wc_Sha256Final(&sha, digest) != 0)
		rc = EIM_ECRYPTO;
	wc_Sha256Free(&sha);
	return rc;
}

int eim_sig_raw_to_der(const uint8_t rs[EIM_SIG_RAW_LEN], uint8_t *der,
		       size_t der_cap, size_t *ret_len)
{
	word32 len = (word32)(der_cap > 0xffff ? 0xffff : der_cap);

	if (!rs || !der || !ret_len)
		return EIM_EINVAL;
	if (der_cap < EIM_SIG_DER_MAX)
		return EIM_ETOOBIG;
	if (wc_ecc_rs_raw_to_sig(rs, 32, rs + 32, 32, der, &len) != 0)
		return EIM_EMALFORMED;
	*ret_len = len;
	return 0;
}

int eim_sig_der_to_raw(const uint8_t *der, size_t der_len,
		       uint8_t rs[EIM_SIG_RAW_LEN])
{
	uint8_t r[33], s[33];
	word32 rlen = sizeof(r), slen = sizeof(s);
	struct eim_der_tlv t;

	if (!der || !rs)
		return EIM_EINVAL;
	/* Strictly one SEQUENCE: wolfCrypt tolerates trailing bytes. */
	if (eim_der_parse_one(der, der_len, NULL, &t) < 0 || t.tag != 0x30)
		return EIM_EMALFORMED;
	if (wc_ecc_sig_to_rs(der, (word32)der_len, r, &rlen, s, &slen) != 0)
		return EIM_EMALFORMED;
	/* wolfCrypt strips leading zeros; anything wider than 32 is bogus. */
	if (rlen > 32 || slen > 32)
		return EIM_EMALFORMED;
	memset(rs, 0, EIM_SIG_RAW_LEN);
	memcpy(rs + 32 - rlen, r, rlen);
	memcpy(rs + 64 - slen, s, slen);
	return 0;
}

int eim_sig_sign(struct eim_sig_key *k, const struct eim_slice *parts,
		 size_t nparts, uint8_t rs[EIM_SIG_RAW_LEN])
{
	uint8_t digest[WC_SHA256_DIGEST_SIZE];
	uint8_t der[EIM_SIG_DER_MAX + 8];
	word32 der_len = sizeof(der);
	int rc;

	if (!k || (!parts && nparts) || !rs)
		return EIM_EINVAL;
	if (!k->priv)
		return EIM_ESTATE;
	if ((rc = ensure_rng(k)) < 0)
		return rc;
	if ((rc = hash_parts(parts, nparts, digest)) < 0)
		return rc;
	if (wc_ecc_sign_hash(digest, sizeof(digest), der, &der_len, &k->rng,
			     &k->ecc) != 0)
		return EIM_ECRYPTO;
	return eim_sig_der_to_raw(der, der_len, rs) < 0 ? EIM_ECRYPTO : 0;
}

int eim_sig_verify(const struct eim_sig_key *k, const struct eim_slice *parts,
		   size_t nparts, const uint8_t *rs, size_t rs_len)
{
	uint8_t digest[WC_SHA256_DIGEST_SIZE];
	uint8_t der[EIM_SIG_DER_MAX + 8];
	size_t der_len = 0;
	int ok = 0, rc;

	if (!k || (!parts && nparts) || !rs)
		return EIM_EINVAL;
	if (rs_len != EIM_SIG_RAW_LEN)
		return EIM_EVERIFY;
	if ((rc = hash_parts(parts, nparts, digest)) < 0)
		return rc;
	if (eim_sig_raw_to_der(rs, der, sizeof(der), &der_len) < 0)
		return EIM_EVERIFY;
	/* A signature with r or s out of range is simply invalid, so every
	 * wolfCrypt refusal here counts as a failed verification. */
	rc = wc_ecc_verify_hash(der, (word32)der_len, digest, sizeof(digest),
				&ok, (ecc_key *)&k->ecc);
	if (rc != 0 || ok != 1)
		return EIM_EVERIFY;
	return 0;
}

int eim_sig_random(uint8_t *out, size_t n)
{
	WC_RNG rng;
	int rc = 0;

	if (!out)
		return EIM_EINVAL;
	if (wc_InitRng(&rng) != 0)
		return EIM_ECRYPTO;
	if (wc_RNG_GenerateBlock(&rng, out, (word32)n) != 0)
		rc = EIM_ECRYPTO;
	wc_FreeRng(&rng);
	return rc;
}
