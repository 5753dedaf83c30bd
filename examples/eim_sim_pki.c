/*
 * eim_sim_pki.c - test CI -> EUM -> eUICC certificates with wolfCrypt's
 * certificate generator (SGP.22 section 4.5.2.1 profile, reduced to what
 * chain validation needs). See eim_sim_pki.h.
 */
#include "examples/eim_sim_pki.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_der.h"
#include "proto/eim_ids.h"
#include "proto/eim_sig.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CERT_CAP 2048
#define KEY_CAP 256
#define DAYS_VALID 3650

/* SGP.22 id-rspRole certificate policies (2.23.146.1.2.1.x). */
#define POLICY_CI "2.23.146.1.2.1.0"
#define POLICY_EUICC "2.23.146.1.2.1.1"
#define POLICY_EUM "2.23.146.1.2.1.2"

enum role {
	ROLE_CI,
	ROLE_EUM,
	ROLE_EUICC,
	ROLE_EIM
};

void eim_sim_cred_done(struct eim_sim_cred *c)
{
	if (!c)
		return;
	eim_free(c->cert);
	eim_free_secret(c->key, c->key_len);
	memset(c, 0, sizeof(*c));
}

void eim_sim_pki_done(struct eim_sim_pki *p)
{
	if (!p)
		return;
	eim_sim_cred_done(&p->ci);
	eim_sim_cred_done(&p->eum);
}

static void set_name(CertName *n, const char *org, const char *cn,
		     const char *serial)
{
	snprintf(n->country, sizeof(n->country), "%s", "CH");
	snprintf(n->org, sizeof(n->org), "%s", org);
	snprintf(n->commonName, sizeof(n->commonName), "%s", cn);
	if (serial)
		snprintf(n->serialDev, sizeof(n->serialDev), "%s", serial);
}

/*
 * Rewrites the basicConstraints extension of a TBSCertificate as RFC 5280
 * 4.2.1.9 wants it for a CA: critical, with pathLenConstraint when
 * path_len >= 0. wolfSSL 5.5.4 writes neither (no pathLen 0, not
 * critical), so the TBS is rebuilt before it is signed.
 */
static int fix_basic_constraints(const uint8_t *tbs, size_t n, int path_len,
				 struct eim_buf *out)
{
	static const uint8_t bc_oid[] = {0x55, 0x1d, 0x13}; /* 2.5.29.19 */
	struct eim_der_cur c, tc, ec, xc;
	struct eim_der_tlv t, f, exts, ext, oid;
	size_t top, a3, seq, one, oct, bc;
	int rc;

	eim_der_cur_init(&c, tbs, n, NULL);
	if ((rc = eim_der_expect(&c, 0x30, &t)) < 0 ||
	    (rc = eim_der_enter(&c, &t, &tc)) < 0)
		return rc;
	top = eim_der_open(out, 0x30);
	while (!eim_der_at_end(&tc)) {
		if ((rc = eim_der_read(&tc, &f)) < 0)
			return rc;
		if (f.tag != 0xa3) {
			eim_buf_append(out, f.raw, f.raw_len);
			continue;
		}
		if ((rc = eim_der_enter(&tc, &f, &ec)) < 0 ||
		    (rc = eim_der_expect(&ec, 0x30, &exts)) < 0 ||
		    (rc = eim_der_enter(&ec, &exts, &xc)) < 0)
			return rc;
		a3 = eim_der_open(out, 0xa3);
		seq = eim_der_open(out, 0x30);
		while (!eim_der_at_end(&xc)) {
			struct eim_der_cur oc;

			if ((rc = eim_der_expect(&xc, 0x30, &ext)) < 0 ||
			    (rc = eim_der_enter(&xc, &ext, &oc)) < 0 ||
			    (rc = eim_der_expect(&oc, 0x06, &oid)) < 0)
				return rc;
			if (oid.len != sizeof(bc_oid) ||
			    memcmp(oid.val, bc_oid, oid.len) != 0) {
				eim_buf_append(out, ext.raw, ext.raw_len);
				continue;
			}
			one = eim_der_open(out, 0x30);
			eim_der_put(out, 0x06, bc_oid, sizeof(bc_oid));
			eim_der_put_bool(out, 0x01, true);
			oct = eim_der_open(out, 0x04);
			bc = eim_der_open(out, 0x30);
			eim_der_put_bool(out, 0x01, true);
			if (path_len >= 0)
				eim_der_put_int(out, 0x02, path_len);
			eim_der_close(out, bc);
			eim_der_close(out, oct);
			eim_der_close(out, one);
		}
		eim_der_close(out, seq);
		eim_der_close(out, a3);
	}
	eim_der_close(out, top);
	return out->err;
}

/*
 * Makes one certificate for a new key. `issuer` is NULL for the self-signed
 * CI; otherwise its certificate gives the issuer name and the AKI, and its
 * key signs.
 */
static int make_cert(enum role role, const char *name,
		     const struct eim_sim_cred *issuer,
		     struct eim_sim_cred *ret)
{
	ecc_key key, ikey;
	WC_RNG rng;
	Cert *cert = NULL;
	uint8_t *der = NULL, *kder = NULL;
	word32 idx = 0;
	int n, kn, rc = EIM_ECRYPTO;
	bool key_init = false, ikey_init = false, rng_init = false;

	cert = eim_calloc(1, sizeof(*cert));
	der = eim_malloc(CERT_CAP);
	kder = eim_malloc(KEY_CAP);
	if (!cert || !der || !kder) {
		rc = EIM_ENOMEM;
		goto out;
	}
	if (wc_InitRng(&rng) != 0)
		goto out;
	rng_init = true;
	if (wc_ecc_init(&key) != 0)
		goto out;
	key_init = true;
	if (wc_ecc_make_key_ex(&rng, 32, &key, ECC_SECP256R1) != 0)
		goto out;
	if (issuer) {
		if (wc_ecc_init(&ikey) != 0)
			goto out;
		ikey_init = true;
		if (wc_EccPrivateKeyDecode(issuer->key, &idx, &ikey,
					   (word32)issuer->key_len) != 0)
			goto out;
	}
	if (wc_InitCert(cert) != 0)
		goto out;
	cert->sigType = CTC_SHA256wECDSA;
	cert->daysValid = DAYS_VALID;
	/* A positive 16-byte serial (RFC 5280 4.1.2.2). */
	if (wc_RNG_GenerateBlock(&rng, cert->serial, 16) != 0)
		goto out;
	cert->serial[0] = (uint8_t)((cert->serial[0] & 0x7f) | 0x01);
	cert->serialSz = 16;
	switch (role) {
	case ROLE_CI:
		set_name(&cert->subject, "eim test CI", "eim test CI", NULL);
		cert->isCA = 1;
		cert->pathLen = 1;
		cert->selfSigned = 1;
		snprintf(cert->certPolicies[0], CTC_MAX_CERTPOL_SZ, "%s",
			 POLICY_CI);
		if (wc_SetKeyUsage(cert, "keyCertSign,cRLSign") != 0)
			goto out;
		break;
	case ROLE_EUM:
		set_name(&cert->subject, "eim test EUM", "eim test EUM", NULL);
		cert->isCA = 1;
		cert->pathLen = 0; /* the EUM issues eUICCs only */
		snprintf(cert->certPolicies[0], CTC_MAX_CERTPOL_SZ, "%s",
			 POLICY_EUM);
		if (wc_SetKeyUsage(cert, "keyCertSign,cRLSign") != 0)
			goto out;
		break;
	case ROLE_EIM:
		/* No SGP.22 role policy: the eUICC trusts it by key. */
		set_name(&cert->subject, "eim test eIM", name, NULL);
		cert->certPoliciesNb = 0;
		if (wc_SetKeyUsage(cert, "digitalSignature") != 0)
			goto out;
		break;
	case ROLE_EUICC:
		set_name(&cert->subject, "eim test EUM", "eim test eUICC",
			 name);
		snprintf(cert->certPolicies[0], CTC_MAX_CERTPOL_SZ, "%s",
			 POLICY_EUICC);
		if (wc_SetKeyUsage(cert, "digitalSignature") != 0)
			goto out;
		break;
	}
	if (role != ROLE_EIM)
		cert->certPoliciesNb = 1;
	if (wc_SetSubjectKeyIdFromPublicKey(cert, NULL, &key) != 0)
		goto out;
	if (issuer) {
		if (wc_SetIssuerBuffer(cert, issuer->cert,
				       (int)issuer->cert_len) != 0 ||
		    wc_SetAuthKeyIdFromCert(cert, issuer->cert,
					    (int)issuer->cert_len) != 0)
			goto out;
	} else if (wc_SetAuthKeyIdFromPublicKey(cert, NULL, &key) != 0) {
		goto out;
	}
	if ((n = wc_MakeCert(cert, der, CERT_CAP, NULL, &key, &rng)) < 0)
		goto out;
	if (cert->isCA) {
		struct eim_buf tbs;

		eim_buf_init(&tbs);
		rc = fix_basic_constraints(der, (size_t)cert->bodySz,
					   role == ROLE_EUM ? 0 : -1, &tbs);
		if (rc == 0 && tbs.len > CERT_CAP - 128)
			rc = EIM_ETOOBIG;
		if (rc < 0) {
			eim_buf_done(&tbs);
			goto out;
		}
		memcpy(der, tbs.p, tbs.len);
		cert->bodySz = (int)tbs.len;
		eim_buf_done(&tbs);
		rc = EIM_ECRYPTO;
	}
	n = wc_SignCert(cert->bodySz, cert->sigType, der, CERT_CAP, NULL,
			issuer ? &ikey : &key, &rng);
	if (n < 0)
		goto out;
	kn = wc_EccKeyToDer(&key, kder, KEY_CAP);
	if (kn < 0)
		goto out;
	ret->cert = der;
	ret->cert_len = (size_t)n;
	ret->key = kder;
	ret->key_len = (size_t)kn;
	der = kder = NULL;
	rc = 0;
out:
	if (key_init)
		wc_ecc_free(&key);
	if (ikey_init)
		wc_ecc_free(&ikey);
	if (rng_init)
		wc_FreeRng(&rng);
	if (cert)
		eim_free_secret(cert, sizeof(*cert));
	eim_free(der);
	eim_free_secret(kder, KEY_CAP);
	return rc;
}

int eim_sim_pki_generate(struct eim_sim_pki *ret)
{
	struct eim_sim_pki p;
	int rc;

	if (!ret)
		return EIM_EINVAL;
	memset(&p, 0, sizeof(p));
	if ((rc = make_cert(ROLE_CI, NULL, NULL, &p.ci)) < 0 ||
	    (rc = make_cert(ROLE_EUM, NULL, &p.ci, &p.eum)) < 0) {
		eim_sim_pki_done(&p);
		return rc;
	}
	*ret = p;
	return 0;
}

int eim_sim_pki_issue_euicc(const struct eim_sim_pki *pki, const char *eid,
			    struct eim_sim_cred *ret)
{
	uint8_t bin[EIM_EID_LEN];
	int rc;

	if (!pki || !eid || !ret || !pki->eum.cert || !pki->eum.key)
		return EIM_EINVAL;
	if ((rc = eim_eid_parse(eid, bin)) < 0)
		return rc;
	return make_cert(ROLE_EUICC, eid, &pki->eum, ret);
}

int eim_sim_pki_issue_eim(const struct eim_sim_pki *pki, const char *eim_id,
			  struct eim_sim_cred *ret)
{
	if (!pki || !eim_id || !ret || !pki->ci.cert || !pki->ci.key ||
	    !*eim_id || strlen(eim_id) >= CTC_NAME_SIZE)
		return EIM_EINVAL;
	return make_cert(ROLE_EIM, eim_id, &pki->ci, ret);
}

/* Writes `len` bytes to path with the given mode (replacing the file). */
static int write_file(const char *path, const void *p, size_t len, int mode)
{
	const uint8_t *b = p;
	int fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return EIM_EIO;
	/* An existing file keeps its mode on O_CREAT: force it. */
	if (fchmod(fd, (mode_t)mode) < 0)
		goto fail;
	while (len > 0) {
		ssize_t w = write(fd, b, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		b += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0)
		return EIM_EIO;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return EIM_EIO;
}

static int write_pem(const char *dir, const char *name, const char *suffix,
		     const char *label, const uint8_t *der, size_t n, int mode)
{
	struct eim_buf b;
	char path[4096];
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s%s", dir, name, suffix) >=
	    (int)sizeof(path))
		return EIM_EINVAL;
	eim_buf_init(&b);
	if ((rc = eim_pem_encode(label, der, n, &b)) == 0)
		rc = write_file(path, b.p, b.len, mode);
	if (b.p)
		eim_wipe(b.p, b.len);
	eim_buf_done(&b);
	return rc;
}

int eim_sim_cred_write(const struct eim_sim_cred *c, const char *dir,
		       const char *name)
{
	int rc;

	if (!c || !dir || !name || !c->cert || !c->key)
		return EIM_EINVAL;
	if ((rc = write_pem(dir, name, ".pem", "CERTIFICATE", c->cert,
			    c->cert_len, 0644)) < 0)
		return rc;
	return write_pem(dir, name, ".key.pem", "EC PRIVATE KEY", c->key,
			 c->key_len, 0600);
}

int eim_sim_pki_write(const struct eim_sim_pki *pki, const char *dir)
{
	int rc;

	if (!pki || !dir)
		return EIM_EINVAL;
	if ((rc = eim_sim_cred_write(&pki->ci, dir, "ci")) < 0)
		return rc;
	return eim_sim_cred_write(&pki->eum, dir, "eum");
}

/* Reads a whole (small) file into a NUL-terminated heap buffer. */
static int read_file(const char *path, char **ret, size_t *ret_len)
{
	struct eim_buf b;
	char chunk[4096];
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return EIM_EIO;
	eim_buf_init(&b);
	b.max = 1 << 20;
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		eim_buf_append(&b, chunk, (size_t)r);
	}
	close(fd);
	eim_buf_append_byte(&b, 0);
	if (r < 0 || b.err) {
		int rc = r < 0 ? EIM_EIO : b.err;
		eim_buf_done(&b);
		return rc;
	}
	*ret_len = b.len - 1;
	*ret = (char *)eim_buf_steal(&b, NULL);
	return 0;
}

static int read_pem(const char *dir, const char *name, const char *label,
		    uint8_t **ret, size_t *ret_len)
{
	char path[4096], *text = NULL;
	const char *lab;
	uint8_t *der = NULL;
	size_t n = 0, lab_len, der_len = 0;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return EIM_EINVAL;
	if ((rc = read_file(path, &text, &n)) < 0)
		return rc;
	rc = eim_sig_pem_decode(text, n, &lab, &lab_len, &der, &der_len);
	if (rc == EIM_ENOTFOUND)
		rc = EIM_EMALFORMED;
	if (rc == 0 &&
	    (lab_len != strlen(label) || memcmp(lab, label, lab_len) != 0)) {
		eim_free_secret(der, der_len);
		rc = EIM_EMALFORMED;
	}
	if (rc == 0) {
		*ret = der;
		*ret_len = der_len;
	}
	eim_free_secret(text, n);
	return rc;
}

int eim_sim_pki_read(const char *dir, struct eim_sim_pki *ret)
{
	struct eim_sim_pki p;
	int rc;

	if (!dir || !ret)
		return EIM_EINVAL;
	memset(&p, 0, sizeof(p));
	if ((rc = read_pem(dir, "ci.pem", "CERTIFICATE", &p.ci.cert,
			   &p.ci.cert_len)) < 0 ||
	    (rc = read_pem(dir, "ci.key.pem", "EC PRIVATE KEY", &p.ci.key,
			   &p.ci.key_len)) < 0 ||
	    (rc = read_pem(dir, "eum.pem", "CERTIFICATE", &p.eum.cert,
			   &p.eum.cert_len)) < 0 ||
	    (rc = read_pem(dir, "eum.key.pem", "EC PRIVATE KEY", &p.eum.key,
			   &p.eum.key_len)) < 0) {
		eim_sim_pki_done(&p);
		return rc;
	}
	*ret = p;
	return 0;
}

int eim_sim_cert_skid(const uint8_t *cert, size_t n, uint8_t *out, size_t cap,
		      size_t *ret_len)
{
	static const uint8_t skid_oid[] = {0x55, 0x1d, 0x0e}; /* 2.5.29.14 */
	struct eim_der_cur c, cc, tc, ec, xc;
	struct eim_der_tlv t, tbs, f, ext, oid, val, inner;
	int rc;

	if (!cert || !out || !ret_len)
		return EIM_EINVAL;
	eim_der_cur_init(&c, cert, n, NULL);
	if ((rc = eim_der_expect(&c, 0x30, &t)) < 0 ||
	    (rc = eim_der_enter(&c, &t, &cc)) < 0 ||
	    (rc = eim_der_expect(&cc, 0x30, &tbs)) < 0 ||
	    (rc = eim_der_enter(&cc, &tbs, &tc)) < 0)
		return rc;
	/* Skip to [3] extensions, the last field of TBSCertificate. */
	while (!eim_der_at_end(&tc)) {
		if ((rc = eim_der_read(&tc, &f)) < 0)
			return rc;
		if (f.tag != 0xa3)
			continue;
		if ((rc = eim_der_enter(&tc, &f, &ec)) < 0 ||
		    (rc = eim_der_expect(&ec, 0x30, &t)) < 0 ||
		    (rc = eim_der_enter(&ec, &t, &xc)) < 0)
			return rc;
		while (!eim_der_at_end(&xc)) {
			struct eim_der_cur one;

			if ((rc = eim_der_expect(&xc, 0x30, &ext)) < 0 ||
			    (rc = eim_der_enter(&xc, &ext, &one)) < 0 ||
			    (rc = eim_der_expect(&one, 0x06, &oid)) < 0)
				return rc;
			if (oid.len != sizeof(skid_oid) ||
			    memcmp(oid.val, skid_oid, oid.len) != 0)
				continue;
			if ((rc = eim_der_optional(&one, 0x01, &val)) < 0 ||
			    (rc = eim_der_expect(&one, 0x04, &val)) < 0 ||
			    (rc = eim_der_parse_one(val.val, val.len, NULL,
						    &inner)) < 0)
				return rc;
			if (inner.tag != 0x04)
				return EIM_EMALFORMED;
			if (inner.len > cap)
				return EIM_ETOOBIG;
			memcpy(out, inner.val, inner.len);
			*ret_len = inner.len;
			return 0;
		}
	}
	return EIM_ENOTFOUND;
}
