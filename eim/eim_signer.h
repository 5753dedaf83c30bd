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
 * The eim_ops identity resolver (eim_ops_identity_fn): ctx is the store;
 * appends the identity's public key data and says whether it is a
 * certificate.
 */
int eim_signer_identity_pub(void *ctx, const char *eim_id, struct eim_buf *out,
			    bool *is_cert);

#endif
