/*
 * eim_signer.c - signs packages for the store: one at a time inside the
 * enqueue transaction, or a whole batch on a pool of threads between the
 * two transactions of eim_store_enqueue_bulk (see eim_signer.h).
 */
#include "eim/eim_signer.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "proto/eim_der.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"

#include <pthread.h>
#include <stdatomic.h>
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

/* Whether packages of this kind carry an eIM signature. */
static bool eim__needs_key(const struct eim_ops *ops)
{
	return ops->kind != EIM_OPS_DOWNLOAD && ops->kind != EIM_OPS_EUICC_DATA;
}

/*
 * Encodes (and for PSMO/eCO packages signs with `key`) the package of
 * in->req_ctx with eimTransactionId txid. Touches nothing shared, so the
 * pool's threads run it concurrently.
 */
static int eim__build(const struct eim_store_sign_in *in,
		      struct eim_store_sign_out *out, struct eim_sig_key *key,
		      const uint8_t txid16[16])
{
	const struct eim_ops *ops = in->req_ctx;

	memcpy(out->txid, txid16, 16);
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
	return eim_pkg_build(&pkg,
			     in->has_association_token ? in->association_token
						       : 0,
			     key, out->bytes);
}

int eim_signer_sign(void *ctx, const struct eim_store_sign_in *in,
		    struct eim_store_sign_out *out)
{
	struct eim_signer *g = ctx;
	struct eim_sig_key *key = NULL;
	uint8_t txid[16] = {0}; /* (GCC cannot see eim_sig_random fill it) */

	g->errmsg[0] = '\0';
	if (eim__needs_key(in->req_ctx) &&
	    !(key = eim__signer_key(g, in->eim_id)))
		return EIM_ENOTFOUND;
	if (eim_sig_random(txid, sizeof(txid)))
		return EIM_ECRYPTO;
	return eim__build(in, out, key, txid);
}

/* ---- the pool of signing threads --------------------------------------- */

/* Random bytes fetched at once: one DRBG instantiation per 64 packages. */
#define EIM__RND_BYTES 1024
/* Requests a thread takes at a time from the shared index. */
#define EIM__CHUNK 8

struct eim__worker {
	struct eim_signer_pool *pool;
	pthread_t thread;
	bool started;
	struct {
		char *eim_id;
		struct eim_sig_key *key;
	} keys[EIM_SIGNER_KEYS];
	size_t n_keys;
	uint8_t rnd[EIM__RND_BYTES];
	size_t rnd_left;
};

struct eim_signer_pool {
	struct eim_signer *g;
	unsigned n; /* workers, [0] being the caller's thread */
	struct eim__worker *w;
	pthread_mutex_t mu;
	pthread_cond_t go, idle;
	uint64_t gen;  /* bumped for every batch */
	unsigned busy; /* extra threads still working on this batch */
	bool quit;
	/* the batch being signed */
	const struct eim_store_sign_in *in;
	struct eim_store_sign_out *out;
	int *errs;
	size_t n_items;
	atomic_size_t next;
};

static struct eim_sig_key *eim__worker_key(struct eim__worker *w,
					   const char *eim_id)
{
	for (size_t i = 0; i < w->n_keys; i++)
		if (strcmp(w->keys[i].eim_id, eim_id) == 0)
			return w->keys[i].key;
	return NULL;
}

/* Gives worker w its own copy of `key` (caller's thread, pool idle). */
static int eim__worker_add_key(struct eim__worker *w, const char *eim_id,
			       const struct eim_sig_key *key)
{
	struct eim_buf der;
	struct eim_sig_key *copy = NULL;
	int rc;

	if (eim__worker_key(w, eim_id))
		return 0;
	if (w->n_keys == EIM_SIGNER_KEYS)
		return EIM_ETOOBIG;
	eim_buf_init(&der);
	rc = eim_sig_key_sec1(key, &der);
	if (rc == 0)
		rc = eim_sig_key_load(der.p, der.len, &copy);
	if (der.p)
		eim_wipe(der.p, der.cap);
	eim_buf_done(&der);
	if (rc)
		return rc;
	w->keys[w->n_keys].eim_id = eim_strdup(eim_id);
	if (!w->keys[w->n_keys].eim_id) {
		eim_sig_key_free(copy);
		return EIM_ENOMEM;
	}
	w->keys[w->n_keys].key = copy;
	w->n_keys++;
	return 0;
}

static int eim__worker_txid(struct eim__worker *w, uint8_t txid[16])
{
	if (w->rnd_left < 16) {
		if (eim_sig_random(w->rnd, sizeof(w->rnd)))
			return EIM_ECRYPTO;
		w->rnd_left = sizeof(w->rnd);
	}
	w->rnd_left -= 16;
	memcpy(txid, w->rnd + w->rnd_left, 16);
	/* Each value is handed out once. */
	eim_wipe(w->rnd + w->rnd_left, 16);
	return 0;
}

/* Signs chunks of the current batch until none is left. */
static void eim__work(struct eim__worker *w)
{
	struct eim_signer_pool *p = w->pool;
	uint8_t txid[16] = {0};

	for (;;) {
		size_t i = atomic_fetch_add(&p->next, EIM__CHUNK);
		if (i >= p->n_items)
			break;
		size_t end = i + EIM__CHUNK < p->n_items ? i + EIM__CHUNK
							 : p->n_items;
		for (; i < end; i++) {
			const struct eim_store_sign_in *in = &p->in[i];
			struct eim_sig_key *key = NULL;
			if (p->errs[i])
				continue; /* no key: said on the caller's side
					   */
			if (eim__needs_key(in->req_ctx) &&
			    !(key = eim__worker_key(w, in->eim_id))) {
				p->errs[i] = EIM_ENOTFOUND;
				continue;
			}
			p->errs[i] = eim__worker_txid(w, txid);
			if (p->errs[i] == 0)
				p->errs[i] =
					eim__build(in, &p->out[i], key, txid);
		}
	}
}

static void *eim__worker_main(void *arg)
{
	struct eim__worker *w = arg;
	struct eim_signer_pool *p = w->pool;
	uint64_t seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		eim__work(w);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
#ifdef FP_ECC
	/* wolfCrypt's fixed-point tables are per thread (HAVE_THREAD_LS). */
	wc_ecc_fp_free();
#endif
	return NULL;
}

void eim_signer_pool_free(struct eim_signer_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n; i++) {
		struct eim__worker *w = &p->w[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		for (size_t k = 0; k < w->n_keys; k++) {
			eim_free(w->keys[k].eim_id);
			eim_sig_key_free(w->keys[k].key);
		}
	}
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->mu);
	eim_free(p->w);
	eim_free(p);
}

int eim_signer_pool_new(struct eim_signer *g, unsigned jobs,
			struct eim_signer_pool **ret)
{
	struct eim_signer_pool *p;

	if (!g || !ret || jobs == 0 || jobs > EIM_SIGNER_JOBS_MAX)
		return EIM_EINVAL;
	p = eim_calloc(1, sizeof(*p));
	if (!p)
		return EIM_ENOMEM;
	p->w = eim_calloc(jobs, sizeof(*p->w));
	if (!p->w) {
		eim_free(p);
		return EIM_ENOMEM;
	}
	p->g = g;
	p->n = jobs;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->idle, NULL);
	atomic_init(&p->next, 0);
	for (unsigned i = 0; i < jobs; i++)
		p->w[i].pool = p;
	for (unsigned i = 1; i < jobs; i++) {
		if (pthread_create(&p->w[i].thread, NULL, eim__worker_main,
				   &p->w[i]) != 0) {
			eim_signer_pool_free(p);
			return EIM_EIO;
		}
		p->w[i].started = true;
	}
	*ret = p;
	return 0;
}

/*
 * On the caller's thread, before the batch starts: loads the key of every
 * identity the batch signs for (through the store) and copies it to every
 * worker. A request without a usable key is marked EIM_ENOTFOUND.
 */
static int eim__pool_keys(struct eim_signer_pool *p,
			  const struct eim_store_sign_in *in, int *errs,
			  size_t n)
{
	const char *last = NULL;
	bool last_ok = false;
	int rc;

	p->g->errmsg[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		errs[i] = 0;
		if (!eim__needs_key(in[i].req_ctx))
			continue;
		if (last && strcmp(last, in[i].eim_id) == 0) {
			if (!last_ok)
				errs[i] = EIM_ENOTFOUND;
			continue;
		}
		last = in[i].eim_id;
		struct eim_sig_key *key = eim__signer_key(p->g, last);
		last_ok = key != NULL;
		if (!key) {
			errs[i] = EIM_ENOTFOUND;
			continue;
		}
		for (unsigned k = 0; k < p->n; k++)
			if ((rc = eim__worker_add_key(&p->w[k], last, key)))
				return rc;
	}
	return 0;
}

int eim_signer_sign_many(void *ctx, const struct eim_store_sign_in *in,
			 struct eim_store_sign_out *out, int *errs, size_t n)
{
	struct eim_signer_pool *p = ctx;
	int rc;

	if (!p || (n && (!in || !out || !errs)))
		return EIM_EINVAL;
	if ((rc = eim__pool_keys(p, in, errs, n)))
		return rc;
	pthread_mutex_lock(&p->mu);
	p->in = in;
	p->out = out;
	p->errs = errs;
	p->n_items = n;
	atomic_store(&p->next, 0);
	p->busy = p->n - 1;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	eim__work(&p->w[0]);
	pthread_mutex_lock(&p->mu);
	while (p->busy > 0)
		pthread_cond_wait(&p->idle, &p->mu);
	p->in = NULL;
	p->out = NULL;
	p->errs = NULL;
	p->n_items = 0;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int eim_signer_pool_sign(void *ctx, const struct eim_store_sign_in *in,
			 struct eim_store_sign_out *out)
{
	struct eim_signer_pool *p = ctx;
	return eim_signer_sign(p->g, in, out);
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
