/*
 * eim_signer.h - signs packages as the store queues them.
 *
 * eim_store_enqueue() takes the next counterValue and calls a signing
 * callback inside its transaction; eim_signer_sign is that callback. It
 * builds the bytes for the operations in an eim_ops (an EuiccPackageRequest
 * signed with the identity's key, or an unsigned ProfileDownloadTrigger /
 * IpaEuiccDataRequest), with a fresh random 16-byte eimTransactionId.
 *
 * Signing keys are loaded from the identity's key file on first use and
 * kept (at most EIM_SIGNER_KEYS identities); eim_signer_done() wipes them.
 *
 * For fleets, eim_store_enqueue_bulk reserves the counters first and asks
 * for all signatures of a batch at once, with no transaction open: an
 * eim_signer_pool answers that on several threads (one P-256 signature
 * costs about 100 us, which on one core alone caps a campaign near
 * 10,000 packages per second).
 */
#ifndef EIM_SIGNER_H
#define EIM_SIGNER_H

#include "eim/eim_ops.h"
#include "proto/eim_sig.h"
#include "store/eim_store.h"

#define EIM_SIGNER_KEYS 8

struct eim_signer {
	struct eim_store *s;
	struct {
		char *eim_id;
		struct eim_sig_key *key;
	} keys[EIM_SIGNER_KEYS];
	size_t n_keys;
	char errmsg[256]; /* why the last signing failed, "" if it did not */
};

/* Starts a signer over store s (which must outlive it). */
void eim_signer_init(struct eim_signer *g, struct eim_store *s);
void eim_signer_done(struct eim_signer *g);

/*
 * The eim_store_sign_fn: ctx is the signer, in->req_ctx the const struct
 * eim_ops * to encode. Errors: EIM_ENOTFOUND (no usable key; errmsg says
 * why), EIM_ECRYPTO, or the encoder's error.
 */
int eim_signer_sign(void *ctx, const struct eim_store_sign_in *in,
		    struct eim_store_sign_out *out);

/*
 * A pool of signing threads for eim_store_enqueue_bulk (`eim submit
 * --devices`): `jobs` threads in all, the caller's included (1 = no extra
 * thread). Every thread keeps its own copy of the signing keys (loaded
 * through g on the caller's thread, so the store is only ever used there)
 * and its own random bytes for eimTransactionIds, so nothing is shared
 * while signing. g must outlive the pool.
 * Errors: EIM_EINVAL (jobs 0 or above EIM_SIGNER_JOBS_MAX), EIM_ENOMEM,
 * EIM_EIO (a thread could not be started).
 */
#define EIM_SIGNER_JOBS_MAX 256
struct eim_signer_pool;
int eim_signer_pool_new(struct eim_signer *g, unsigned jobs,
			struct eim_signer_pool **ret);
/* Stops the threads and wipes their keys. NULL is a no-op. */
void eim_signer_pool_free(struct eim_signer_pool *p);

/*
 * The eim_store_sign_many_fn: ctx is the pool; signs in[0..n) on all of
 * its threads. A request whose identity has no usable key gets
 * EIM_ENOTFOUND in errs[] and the reason in the signer's errmsg.
 */
int eim_signer_sign_many(void *ctx, const struct eim_store_sign_in *in,
			 struct eim_store_sign_out *out, int *errs, size_t n);
/* eim_signer_sign with the pool as ctx (on the caller's thread). */
int eim_signer_pool_sign(void *ctx, const struct eim_store_sign_in *in,
			 struct eim_store_sign_out *out);

/*
 * The eim_ops identity resolver (eim_ops_identity_fn): ctx is the store;
 * appends the identity's public key data and says whether it is a
 * certificate.
 */
int eim_signer_identity_pub(void *ctx, const char *eim_id, struct eim_buf *out,
			    bool *is_cert);

#endif
