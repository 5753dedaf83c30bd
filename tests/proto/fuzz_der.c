/*
 * libFuzzer target for the TLV reader: walks every element of the input
 * recursively (bounded depth) and reads every primitive as an INTEGER, NULL
 * and BOOLEAN, so each accessor sees hostile lengths.
 */
#include "proto/eim_der.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(struct eim_der_cur *c, int depth)
{
	struct eim_der_tlv t;
	int64_t v;
	bool b;

	while (!eim_der_at_end(c)) {
		if (eim_der_read(c, &t) < 0)
			return;
		if (t.raw + t.raw_len > c->end ||
		    t.val + t.len != t.raw + t.raw_len)
			__builtin_trap();
		if (t.constructed && depth < EIM_DER_MAX_DEPTH) {
			struct eim_der_cur in;

			if (eim_der_enter(c, &t, &in) == 0)
				walk(&in, depth + 1);
		} else {
			(void)eim_der_get_int(c, &t, INT64_MIN, INT64_MAX, &v);
			(void)eim_der_get_null(c, &t);
			(void)eim_der_get_bool(c, &t, &b);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_der_diag d = {0};
	struct eim_der_cur c;

	eim_der_cur_init(&c, data, size, &d);
	walk(&c, 0);
	if (d.what && d.off > size)
		__builtin_trap();
	return 0;
}
