/*
 * libFuzzer target for the EuiccPackageRequest decoder and the eimSignature
 * check (SGP.32 v1.2 section 2.11.1): what an IPA built on proto/ (the
 * device simulator) runs over every package the eIM sends.
 *
 * 1. eim_pkg_decode() on arbitrary bytes: errors come with a diagnostic
 *    inside the input, views lie inside the input.
 * 2. eim_pkg_verify() with the fixed test key (the seeds are signed with
 *    it) answers 0 or EIM_EVERIFY, never anything else.
 * 3. What decodes is built again with the test key (unless the builder
 *    rightly refuses a value: EIM_EINVAL, or EIM_ERANGE for counters the
 *    decoder accepts but the eIM never sends), decoded again, must keep
 *    the header fields and operations, and must verify with the same
 *    token and fail with another.
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_pkg.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_der_diag d = {0};
	struct eim_pkg_view v;
	struct eim_buf b;
	int rc;

	if (!key && eim_sig_key_load(eim_fuzz_test_key,
				     sizeof(eim_fuzz_test_key), &key) != 0)
		__builtin_trap();
	if (eim_pkg_decode(data, size, &d, &v) < 0) {
		if (!d.what || d.off > size)
			__builtin_trap();
		return 0;
	}
	inside(v.raw, data, size);
	inside(v.signed_raw, data, size);
	inside(v.signature, data, size);
	inside(v.pkg.eim_id, data, size);
	inside(v.pkg.txid, data, size);
	if (v.pkg.n_ops == 0 || v.pkg.n_ops > EIM_PKG_MAX_OPS)
		__builtin_trap();
	for (size_t i = 0; i < v.pkg.n_ops; i++) {
		if (v.pkg.is_eco)
			(void)eim_eco_name(v.pkg.eco[i].kind);
		else
			(void)eim_psmo_name(v.pkg.psmo[i].kind);
	}
	rc = eim_pkg_verify(&v, 0, key);
	if (rc != 0 && rc != EIM_EVERIFY)
		__builtin_trap();

	eim_buf_init(&b);
	rc = eim_pkg_build(&v.pkg, 9, key, &b);
	if (rc == 0) {
		struct eim_pkg_view again;

		if (eim_pkg_decode(b.p, b.len, NULL, &again) != 0)
			__builtin_trap();
		if (again.pkg.counter != v.pkg.counter ||
		    again.pkg.is_eco != v.pkg.is_eco ||
		    again.pkg.n_ops != v.pkg.n_ops ||
		    memcmp(again.pkg.eid, v.pkg.eid, sizeof(v.pkg.eid)) != 0 ||
		    again.pkg.eim_id.len != v.pkg.eim_id.len ||
		    memcmp(again.pkg.eim_id.p, v.pkg.eim_id.p,
			   v.pkg.eim_id.len) != 0)
			__builtin_trap();
		for (size_t i = 0; i < v.pkg.n_ops; i++)
			if (v.pkg.is_eco
				    ? again.pkg.eco[i].kind != v.pkg.eco[i].kind
				    : again.pkg.psmo[i].kind !=
					      v.pkg.psmo[i].kind)
				__builtin_trap();
		if (eim_pkg_verify(&again, 9, key) != 0 ||
		    eim_pkg_verify(&again, 0, key) != EIM_EVERIFY)
			__builtin_trap();
		eim_pkg_view_done(&again);
	} else if (rc != EIM_EINVAL && rc != EIM_ERANGE && b.err == 0) {
		__builtin_trap();
	}
	eim_buf_done(&b);
	eim_pkg_view_done(&v);
	return 0;
}
