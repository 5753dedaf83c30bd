/*
 * libFuzzer target for the CLI's JSON operation files (`eim submit --file`,
 * `eim renew`, `eim export-initial-eim`): eim_json_parse() and then
 * eim_ops_add_json() for each operation, as cmd_submit.c does.
 *
 * The input is JSON text: an array of operations, an object with an
 * "operations" array, or a submit file {"packages": [{"operations": ...}]}.
 * Checks:
 *   - a refused operation comes with a message and leaves the package's
 *     kind and operation count as they were;
 *   - whatever the validator accepts can be encoded the way the signer
 *     does it (EuiccPackageRequest, ProfileDownloadTrigger or
 *     IpaEuiccDataRequest) and the encoding decodes: validation is the only
 *     gate between an operator's file and a signed package;
 *   - the package summary (JSON the store keeps) prints.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim/eim_json.h"
#include "eim/eim_ops.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void encode(const struct eim_ops *ops)
{
	static const uint8_t txid[16] = {1};
	struct eim_der_cur c;
	struct eim_der_tlv t;
	struct eim_buf b;
	int rc;

	eim_buf_init(&b);
	if (ops->kind == EIM_OPS_DOWNLOAD) {
		struct eim_pdt_req r = {0}, back;
		r.kind = ops->activation_code ? EIM_PDT_ACTIVATION_CODE
					      : EIM_PDT_DEFAULT_SMDP;
		if (ops->activation_code) {
			r.activation_code.p =
				(const uint8_t *)ops->activation_code;
			r.activation_code.len = strlen(ops->activation_code);
		}
		r.txid = (struct eim_slice){txid, sizeof(txid)};
		rc = eim_pdt_req_encode(&r, &b);
		if (rc == 0) {
			if (eim_der_parse_one(b.p, b.len, NULL, &t) != 0)
				__builtin_trap();
			eim_der_cur_init(&c, b.p, b.len, NULL);
			rc = eim_pdt_req_decode(&c, &t, &back);
		}
	} else if (ops->kind == EIM_OPS_EUICC_DATA) {
		struct eim_ipadata_req r = {0}, back;
		r.tag_list = ops->data_tags;
		r.txid = (struct eim_slice){txid, sizeof(txid)};
		rc = eim_ipadata_req_encode(&r, &b);
		if (rc == 0) {
			if (eim_der_parse_one(b.p, b.len, NULL, &t) != 0)
				__builtin_trap();
			eim_der_cur_init(&c, b.p, b.len, NULL);
			rc = eim_ipadata_req_decode(&c, &t, &back);
		}
	} else {
		struct eim_pkg pkg = {0};
		struct eim_pkg_view v;
		pkg.eim_id = (struct eim_slice){(const uint8_t *)"eim-one", 7};
		pkg.counter = 1;
		pkg.txid = (struct eim_slice){txid, sizeof(txid)};
		pkg.is_eco = ops->kind == EIM_OPS_ECO;
		pkg.psmo = ops->psmo;
		pkg.eco = ops->eco;
		pkg.n_ops = ops->n;
		/* The signed part; the signature itself is not the point. */
		eim_buf_append(&b, (const uint8_t *)"\xbf\x51\x82\x00\x00", 5);
		rc = eim_pkg_encode_signed(&pkg, &b);
		if (rc == 0) {
			static const uint8_t sig[] = {0x5f, 0x37, 0x40};
			size_t body;
			eim_buf_append(&b, sig, sizeof(sig));
			for (int i = 0; i < 64; i++)
				eim_buf_append_byte(&b, 0);
			body = b.len - 5;
			if (b.err || body > 0xffff)
				__builtin_trap();
			b.p[3] = (uint8_t)(body >> 8);
			b.p[4] = (uint8_t)body;
			rc = eim_pkg_decode(b.p, b.len, NULL, &v);
			if (rc == 0) {
				if (v.pkg.n_ops != ops->n)
					__builtin_trap();
				eim_pkg_view_done(&v);
			}
		}
	}
	if (rc != 0) {
		fprintf(stderr, "accepted operations do not encode: %s\n",
			eim_errname(rc));
		__builtin_trap();
	}
	eim_buf_done(&b);
}

/* One package's operations, as cmd_submit.c feeds them to the validator. */
static void run_ops(const cJSON *arr)
{
	struct eim_json_err err;
	struct eim_ops ops;
	int k = 0;

	if (!cJSON_IsArray(arr) || eim_ops_init(&ops) != 0)
		return;
	for (const cJSON *op = arr->child; op; op = op->next, k++) {
		enum eim_ops_kind kind = ops.kind;
		size_t n = ops.n;
		char w[64];

		snprintf(w, sizeof(w), "operations[%d]", k);
		memset(&err, 0, sizeof(err));
		if (eim_ops_add_json(&ops, op, w, &err) != 0) {
			if (!err.msg[0] || ops.kind != kind || ops.n != n)
				__builtin_trap();
			break;
		}
		if (ops.n > EIM_OPS_MAX)
			__builtin_trap();
	}
	if (ops.kind != EIM_OPS_NONE) {
		char *s = cJSON_PrintUnformatted(ops.summary);
		if (!s)
			__builtin_trap();
		free(s);
		encode(&ops);
	}
	eim_ops_done(&ops);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_json_err err;
	const cJSON *pkgs;
	cJSON *doc = NULL;

	memset(&err, 0, sizeof(err));
	if (eim_json_parse((const char *)data, size, &doc, &err) != 0) {
		if (!err.msg[0])
			__builtin_trap();
		return 0;
	}
	if (!cJSON_IsObject(doc)) {
		run_ops(doc); /* a bare array of operations */
	} else if (cJSON_IsArray(pkgs = cJSON_GetObjectItemCaseSensitive(
					 doc, "packages"))) {
		for (const cJSON *p = pkgs->child; p; p = p->next)
			run_ops(cJSON_GetObjectItemCaseSensitive(p,
								 "operations"));
	} else {
		run_ops(cJSON_GetObjectItemCaseSensitive(doc, "operations"));
	}
	cJSON_Delete(doc);
	return 0;
}
