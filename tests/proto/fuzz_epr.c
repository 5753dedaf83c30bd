/*
 * libFuzzer target for the EuiccPackageResult decoder and verifier
 * (SGP.32 v1.2 section 2.11.2.1), what the service runs over every
 * provideEimPackageResult body.
 *
 * 1. eim_epr_decode() on arbitrary bytes: errors must come with a
 *    diagnostic inside the input; views must lie inside the input.
 * 2. Signed forms are verified with the fixed test key (the seed corpus
 *    holds results signed with it, so the success path is reached) with
 *    and without an associationToken; the unsigned form must be refused
 *    with EIM_ESTATE.
 * 3. Whatever decodes is encoded again with the test key (unless the
 *    encoder rightly refuses a field, EIM_EINVAL), decoded again, must
 *    describe the same result and must verify: the encoder, decoder and
 *    verifier agree.
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_epr.h"
#include "proto/eim_sig.h"
#include "tests/proto/fuzz_key.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct eim_sig_key *key;

static void inside(struct eim_slice s, const uint8_t *data, size_t size)
{
	if (s.p && (s.p < data || s.len > size || s.p + s.len > data + size))
		__builtin_trap();
}

static bool same_slice(struct eim_slice a, struct eim_slice b)
{
	if ((a.p == NULL) != (b.p == NULL) || a.len != b.len)
		return false;
	return a.len == 0 || memcmp(a.p, b.p, a.len) == 0;
}

static void same(const struct eim_epr *a, const struct eim_epr *b)
{
	if (a->kind != b->kind || !same_slice(a->eim_id, b->eim_id) ||
	    !same_slice(a->txid, b->txid))
		__builtin_trap();
	if (a->kind == EIM_EPR_ERROR_UNSIGNED) {
		/* -1 means "no code" in the struct: a negative code on the
		 * wire decodes but is not written back (see FUZZING.md). */
		if ((a->error_code >= 0 ? a->error_code != b->error_code
					: b->error_code != -1) ||
		    a->has_token != b->has_token ||
		    (a->has_token && a->token != b->token))
			__builtin_trap();
		return;
	}
	if (a->counter != b->counter)
		__builtin_trap();
	if (a->kind == EIM_EPR_ERROR_SIGNED) {
		if (a->error_code != b->error_code)
			__builtin_trap();
		return;
	}
	if (a->seq != b->seq || a->n_results != b->n_results)
		__builtin_trap();
	for (size_t i = 0; i < a->n_results; i++) {
		const struct eim_epr_result *x = &a->results[i],
					    *y = &b->results[i];
		if (x->tag != y->tag || x->has_token != y->has_token ||
		    (x->has_token && x->token != y->token) ||
		    !same_slice(x->data, y->data) ||
		    (!x->data.p && x->code != y->code))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_der_diag d = {0};
	struct eim_epr e;
	struct eim_buf b;
	int rc;

	if (!key && eim_sig_key_load(eim_fuzz_test_key,
				     sizeof(eim_fuzz_test_key), &key) != 0)
		__builtin_trap();
	if (eim_epr_decode(data, size, &d, &e) < 0) {
		if (!d.what || d.off > size)
			__builtin_trap();
		return 0;
	}
	inside(e.raw, data, size);
	inside(e.signed_raw, data, size);
	inside(e.signature, data, size);
	inside(e.eim_id, data, size);
	inside(e.txid, data, size);
	for (size_t i = 0; i < e.n_results; i++) {
		inside(e.results[i].data, data, size);
		(void)eim_epr_result_name(e.results[i].tag);
		(void)eim_epr_code_name(e.results[i].tag, e.results[i].code);
		(void)eim_epr_result_ok(&e.results[i]);
	}
	(void)eim_epr_error_name(e.kind, e.error_code);

	rc = eim_epr_verify(&e, 0, key);
	if (e.kind == EIM_EPR_ERROR_UNSIGNED ? rc != EIM_ESTATE
					     : rc != 0 && rc != EIM_EVERIFY)
		__builtin_trap();
	rc = eim_epr_verify(&e, 77, key);
	if (e.kind != EIM_EPR_ERROR_UNSIGNED && rc != 0 && rc != EIM_EVERIFY)
		__builtin_trap();

	eim_buf_init(&b);
	rc = eim_epr_encode(&e, 5, key, &b);
	if (rc == 0) {
		struct eim_epr again;

		if (eim_epr_decode(b.p, b.len, NULL, &again) != 0)
			__builtin_trap();
		same(&e, &again);
		if (e.kind != EIM_EPR_ERROR_UNSIGNED &&
		    (eim_epr_verify(&again, 5, key) != 0 ||
		     eim_epr_verify(&again, 6, key) != EIM_EVERIFY))
			__builtin_trap();
		eim_epr_done(&again);
	} else if (rc != EIM_EINVAL && b.err == 0) {
		__builtin_trap();
	}
	eim_buf_done(&b);
	eim_epr_done(&e);
	return 0;
}
