/*
 * libFuzzer target for EsipaMessageFromEimToIpa, what the device simulator
 * (and any IPA built on proto/) decodes. An embedded EuiccPackageRequest is
 * decoded as well, and a decoded message must re-encode.
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_esipa.h"
#include "proto/eim_pkg.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_esipa_from_eim m;
	struct eim_der_diag d = {0};
	struct eim_buf b;

	if (eim_esipa_decode_from_eim(data, size, &d, &m) < 0) {
		if (!d.what || d.off > size)
			__builtin_trap();
		return 0;
	}
	if (m.package.kind == EIM_EPKG_EUICC_PACKAGE) {
		struct eim_pkg_view v;

		if (eim_pkg_decode(m.package.euicc_package.p,
				   m.package.euicc_package.len, NULL,
				   &v) == 0) {
			struct eim_buf again;

			eim_buf_init(&again);
			/* Counters outside 1..8388607 (the package's or an
			 * eCO's) decode but never encode; anything else that
			 * decodes must encode again. */
			int rc = eim_pkg_encode_signed(&v.pkg, &again);
			if (rc < 0 && rc != EIM_ERANGE && again.err == 0)
				__builtin_trap();
			eim_buf_done(&again);
			eim_pkg_view_done(&v);
		}
	}
	eim_buf_init(&b);
	if (eim_esipa_encode_from_eim(&m, &b) < 0 && b.err == 0)
		__builtin_trap();
	eim_buf_done(&b);
	return 0;
}
