/*
 * libFuzzer target for the decoders of proto/eim_ipadata (SGP.32 v1.2
 * sections 2.11.1.2, 2.11.2.2, 6.3): IpaEuiccDataRequest/Response,
 * ProfileDownloadTriggerRequest/Result, EimAcknowledgements, AddInitialEim
 * request/response and ProfileInfo. The service decodes IpaEuiccData and
 * the trigger result from devices; the IPA side (simulator) the others.
 *
 * The first input byte picks the decoder, the rest is the element. What
 * decodes must encode again (unless the encoder rightly refuses a value:
 * EIM_EINVAL / EIM_ERANGE) and the encoding must decode. The lists inside
 * an IpaEuiccData (results, notifications) are walked with
 * eim_ipadata_list_next() to their end or first error.
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_der.h"
#include "proto/eim_ipadata.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An encoder's answer: 0 and bytes that parse as one TLV, or a refusal. */
static int reparse(int rc, struct eim_buf *b, struct eim_der_cur *c,
		   struct eim_der_tlv *t)
{
	if (rc != 0) {
		if (rc != EIM_EINVAL && rc != EIM_ERANGE && b->err == 0)
			__builtin_trap();
		return -1;
	}
	if (eim_der_parse_one(b->p, b->len, NULL, t) != 0)
		__builtin_trap();
	eim_der_cur_init(c, b->p, b->len, NULL);
	return 0;
}

static void walk(struct eim_slice list)
{
	struct eim_der_tlv t;
	size_t it = 0;
	int n = 0;

	if (!list.p)
		return;
	while (eim_ipadata_list_next(list, &it, &t) == 1)
		if (++n > 100000 || it > list.len)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_der_diag d = {0};
	struct eim_der_cur c, c2;
	struct eim_der_tlv t, t2;
	struct eim_buf b;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0] % 8;
	data++;
	size--;
	eim_buf_init(&b);
	if (sel == 6 || sel == 7) {
		/* AddInitialEim: decoders over a whole buffer. */
		if (sel == 6) {
			static struct eim_add_initial_req r, r2;
			if (eim_add_initial_req_decode(data, size, &d, &r) ==
				    0 &&
			    reparse(eim_add_initial_req_encode(&r, &b), &b, &c2,
				    &t2) == 0 &&
			    eim_add_initial_req_decode(b.p, b.len, NULL, &r2) !=
				    0)
				__builtin_trap();
		} else {
			static struct eim_add_initial_resp r, r2;
			if (eim_add_initial_resp_decode(data, size, &d, &r) ==
				    0 &&
			    reparse(eim_add_initial_resp_encode(&r, &b), &b,
				    &c2, &t2) == 0 &&
			    eim_add_initial_resp_decode(b.p, b.len, NULL,
							&r2) != 0)
				__builtin_trap();
		}
		goto out;
	}
	if (eim_der_parse_one(data, size, &d, &t) != 0)
		goto out;
	eim_der_cur_init(&c, data, size, &d);
	switch (sel) {
	case 0: {
		struct eim_ipadata_req r, r2;
		if (eim_ipadata_req_decode(&c, &t, &r) == 0 &&
		    reparse(eim_ipadata_req_encode(&r, &b), &b, &c2, &t2) ==
			    0 &&
		    eim_ipadata_req_decode(&c2, &t2, &r2) != 0)
			__builtin_trap();
		break;
	}
	case 1: {
		struct eim_ipadata r, r2;
		if (eim_ipadata_decode(&c, &t, &r) != 0)
			break;
		walk(r.epr_list);
		walk(r.notifications);
		(void)eim_ipadata_error_name(r.err_code);
		if (reparse(eim_ipadata_encode(&r, &b), &b, &c2, &t2) == 0 &&
		    eim_ipadata_decode(&c2, &t2, &r2) != 0)
			__builtin_trap();
		break;
	}
	case 2: {
		struct eim_pdt_req r, r2;
		if (eim_pdt_req_decode(&c, &t, &r) == 0 &&
		    reparse(eim_pdt_req_encode(&r, &b), &b, &c2, &t2) == 0 &&
		    eim_pdt_req_decode(&c2, &t2, &r2) != 0)
			__builtin_trap();
		break;
	}
	case 3: {
		struct eim_pdt_result r, r2;
		if (eim_pdt_result_decode(&c, &t, &r) == 0 &&
		    reparse(eim_pdt_result_encode(&r, &b), &b, &c2, &t2) == 0 &&
		    eim_pdt_result_decode(&c2, &t2, &r2) != 0)
			__builtin_trap();
		break;
	}
	case 4: {
		struct eim_acks r, r2;
		if (eim_acks_decode(&c, &t, &r) == 0) {
			if (r.n > EIM_ACKS_MAX)
				__builtin_trap();
			if (reparse(eim_acks_encode(&r, &b), &b, &c2, &t2) ==
				    0 &&
			    eim_acks_decode(&c2, &t2, &r2) != 0)
				__builtin_trap();
		}
		break;
	}
	default: {
		struct eim_profile_info r, r2;
		if (eim_profile_info_decode(&c, &t, &r) == 0 &&
		    reparse(eim_profile_info_encode(&r, &b), &b, &c2, &t2) ==
			    0 &&
		    eim_profile_info_decode(&c2, &t2, &r2) != 0)
			__builtin_trap();
		break;
	}
	}
out:
	eim_buf_done(&b);
	return 0;
}
