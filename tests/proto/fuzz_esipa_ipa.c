/*
 * libFuzzer target for EsipaMessageFromIpaToEim, the bytes every device can
 * send to the eIM. Whatever decodes is taken further the way the service
 * does: embedded EuiccPackageResults and IpaEuiccDataResponses are decoded
 * too, and every decoded message is re-encoded (which must succeed).
 */
#include "common/eim_bytes.h"
#include "proto/eim_epr.h"
#include "proto/eim_esipa.h"
#include "proto/eim_ipadata.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void body(const struct eim_esipa_result *r)
{
	struct eim_der_cur c;
	struct eim_der_tlv t;

	if (!r->body.p)
		return;
	eim_der_cur_init(&c, r->body.p, r->body.len, NULL);
	if (eim_der_read(&c, &t) < 0)
		__builtin_trap(); /* the decoder already validated it */
	if (t.tag == 0xbf51) {
		struct eim_epr e;

		if (eim_epr_decode_tlv(&c, &t, &e) == 0)
			eim_epr_done(&e);
	} else if (t.tag == 0xbf52) {
		struct eim_ipadata d;

		(void)eim_ipadata_decode(&c, &t, &d);
	} else if (t.tag == 0xbf54) {
		struct eim_pdt_result p;

		(void)eim_pdt_result_decode(&c, &t, &p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_esipa_from_ipa m;
	struct eim_der_diag d = {0};
	struct eim_buf b;

	if (eim_esipa_decode_from_ipa(data, size, &d, &m) < 0) {
		if (!d.what || d.off > size)
			__builtin_trap();
		return 0;
	}
	if (m.tag == EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT)
		body(&m.result);
	if (m.tag == EIM_ESIPA_HANDLE_NOTIFICATION &&
	    m.notification.kind == EIM_NOTIF_PROVIDE_RESULT)
		body(&m.notification.result);
	/* v1.0 forms re-encode as v1.2, so only check that encoding works. */
	eim_buf_init(&b);
	if (!m.result.v10 && !m.notification.result.v10 &&
	    eim_esipa_encode_from_ipa(&m, &b) < 0 && b.err == 0)
		__builtin_trap();
	eim_buf_done(&b);
	return 0;
}
