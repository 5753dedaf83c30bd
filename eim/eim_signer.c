/* eim_signer.c - signs packages inside the store's enqueue transaction. */
#include "eim/eim_signer.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "proto/eim_der.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"

#include <stdio.h>
#include <string.h>

void eim_signer_init(struct eim_signer *g, struct eim_store *s)
{
	memset(g, 0, sizeof(*g));
	g->s = s;
}

static int eim__key_ref_cb(void *ctx, const struct eim_store_identity *id)
{
	char **ref = ctx;
	*ref = id->key_ref ? eim_strdup(id->key_ref) : NULL;
	return 0;
}

static struct eim_sig_key *eim__signer_key(struct eim_signer *g,
					   const char *eim_id)
{
	char *ref = NULL;
	FILE *f = NULL;
	uint8_t buf[8192];
	size_t n = 0;
	struct eim_sig_key *k = NULL;

	for (size_t i = 0; i < g->n_keys; i++)
		if (strcmp(g->keys[i].eim_id, eim_id) == 0)
			return g->keys[i].key;
	if (g->n_keys == EIM_SIGNER_KEYS) {
		snprintf(g->errmsg, sizeof(g->errmsg),
			 "more than %d eIM identities in one submission",
			 EIM_SIGNER_KEYS);
		return NULL;
	}
	if (eim_store_identity_list(g->s, eim_id, eim__key_ref_cb, &ref) ||
	    !ref) {
		snprintf(g->errmsg, sizeof(g->errmsg),
			 "eIM identity '%s' has no signing key", eim_id);
		goto out;
	}
	if (!(f = fopen(ref, "rb"))) {
		snprintf(g->errmsg, sizeof(g->errmsg),
			 "signing key of '%s': cannot read %s", eim_id, ref);
		goto out;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (eim_sig_key_load(buf, n, &k) || !eim_sig_key_has_private(k)) {
		eim_sig_key_free(k);
		k = NULL;
		snprintf(g->errmsg, sizeof(g->errmsg),
			 "signing key of '%s': %s holds no usable private key",
			 eim_id, ref);
		goto out;
	}
	g->keys[g->n_keys].eim_id = eim_strdup(eim_id);
	g->keys[g->n_keys].key = k;
	g->n_keys++;
out:
	eim_wipe(buf, sizeof(buf));
	if (f)
		fclose(f);
	eim_free(ref);
	return k;
}

void eim_signer_done(struct eim_signer *g)
{
	for (size_t i = 0; i < g->n_keys; i++) {
		eim_free(g->keys[i].eim_id);
		eim_sig_key_free(g->keys[i].key);
	}
	g->n_keys = 0;
}

int eim_signer_sign(void *ctx, const struct eim_store_sign_in *in,
		    struct eim_store_sign_out *out)
{
	struct eim_signer *g = ctx;
	g->errmsg[0] = '\0';
	const struct eim_ops *ops = in->req_ctx;
	int rc;

	if (eim_sig_random(out->txid, 16))
		return EIM_ECRYPTO;
	out->txid_len = 16;
	struct eim_slice txid = {out->txid, out->txid_len};

	if (ops->kind == EIM_OPS_DOWNLOAD) {
		struct eim_pdt_req r = {0};
		r.kind = ops->activation_code ? EIM_PDT_ACTIVATION_CODE
					      : EIM_PDT_DEFAULT_SMDP;
		if (ops->activation_code) {
			r.activation_code.p =
				(const uint8_t *)ops->activation_code;
			r.activation_code.len = strlen(ops->activation_code);
		}
		r.txid = txid;
		return eim_pdt_req_encode(&r, out->bytes);
	}
	if (ops->kind == EIM_OPS_EUICC_DATA) {
		struct eim_ipadata_req r = {0};
		r.tag_list = ops->data_tags;
		r.txid = txid;
		return eim_ipadata_req_encode(&r, out->bytes);
	}
	struct eim_sig_key *key = eim__signer_key(g, in->eim_id);
	if (!key)
		return EIM_ENOTFOUND;
	struct eim_pkg pkg = {0};
	pkg.eim_id.p = (const uint8_t *)in->eim_id;
	pkg.eim_id.len = strlen(in->eim_id);
	memcpy(pkg.eid, in->eid, EIM_EID_LEN);
	pkg.counter = in->counter;
	pkg.txid = txid;
	pkg.is_eco = ops->kind == EIM_OPS_ECO;
	pkg.psmo = ops->psmo;
	pkg.eco = ops->eco;
	pkg.n_ops = ops->n;
	rc = eim_pkg_build(&pkg,
			   in->has_association_token ? in->association_token
						     : 0,
			   key, out->bytes);
	return rc;
}

/* Resolves "identity" in add-eim/update-eim to the identity's key data. */
static int eim__identity_pub_cb(void *ctx, const struct eim_store_identity *id)
{
	struct eim_buf *b = ctx;
	eim_buf_append(b, id->public_key, id->public_key_len);
	return 0;
}

int eim_signer_identity_pub(void *ctx, const char *eim_id, struct eim_buf *out,
			    bool *is_cert)
{
	struct eim_store *s = ctx;
	int rc = eim_store_identity_list(s, eim_id, eim__identity_pub_cb, out);

	if (rc)
		return rc;
	if (out->err || out->len < 4)
		return EIM_ENOTFOUND;
	/* A certificate's first inner element is the TBSCertificate
	 * SEQUENCE; an SPKI's is the AlgorithmIdentifier SEQUENCE followed
	 * by a BIT STRING: count the elements of the outer SEQUENCE. */
	struct eim_der_cur c, in;
	struct eim_der_tlv t;
	int k = 0;
	eim_der_cur_init(&c, out->p, out->len, NULL);
	if (eim_der_expect(&c, 0x30, &t) || eim_der_enter(&c, &t, &in))
		return EIM_EMALFORMED;
	while (!eim_der_at_end(&in) && eim_der_read(&in, &t) == 0)
		k++;
	*is_cert = k == 3;
	return 0;
}
