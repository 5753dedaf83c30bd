/*
 * eim_epr.c - EuiccPackageResult decode/verify/encode and result names.
 *
 * SGP.32 v1.2 section 2.11.2.1 (EuiccPackageResult, EuiccResultData and
 * the INTEGER result types), with the v1.3 unsigned error code [15].
 */
#include "proto/eim_epr.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "proto/eim_pkg.h"

#include <string.h>

struct name {
	uint32_t tag;
	int64_t code;
	const char *name;
};

static const struct name result_names[] = {
	{EIM_RES_ENABLE, 0, "enableResult"},
	{EIM_RES_DISABLE, 0, "disableResult"},
	{EIM_RES_DELETE, 0, "deleteResult"},
	{EIM_RES_LIST_PROFILE_INFO, 0, "listProfileInfoResult"},
	{EIM_RES_GET_RAT, 0, "getRATResult"},
	{EIM_RES_CONFIGURE_IMMEDIATE_ENABLE, 0,
	 "configureImmediateEnableResult"},
	{EIM_RES_ADD_EIM, 0, "addEimResult"},
	{EIM_RES_DELETE_EIM, 0, "deleteEimResult"},
	{EIM_RES_UPDATE_EIM, 0, "updateEimResult"},
	{EIM_RES_LIST_EIM, 0, "listEimResult"},
	{EIM_RES_ROLLBACK, 0, "rollbackResult"},
	{EIM_RES_SET_FALLBACK, 0, "setFallbackAttributeResult"},
	{EIM_RES_UNSET_FALLBACK, 0, "unsetFallbackAttributeResult"},
	{EIM_RES_PROCESSING_TERMINATED, 0, "processingTerminated"},
	{EIM_RES_SET_DEFAULT_DP, 0, "setDefaultDpAddressResult"},
};

/* Result codes per alternative (SGP.32 v1.2 2.11.2.1). */
static const struct name code_names[] = {
	{EIM_RES_ENABLE, 0, "ok"},
	{EIM_RES_ENABLE, 1, "iccidOrAidNotFound"},
	{EIM_RES_ENABLE, 2, "profileNotInDisabledState"},
	{EIM_RES_ENABLE, 3, "disallowedByPolicy"},
	{EIM_RES_ENABLE, 5, "catBusy"},
	{EIM_RES_ENABLE, 20, "rollbackNotAvailable"},
	{EIM_RES_ENABLE, 127, "undefinedError"},
	{EIM_RES_DISABLE, 0, "ok"},
	{EIM_RES_DISABLE, 1, "iccidOrAidNotFound"},
	{EIM_RES_DISABLE, 2, "profileNotInEnabledState"},
	{EIM_RES_DISABLE, 3, "disallowedByPolicy"},
	{EIM_RES_DISABLE, 5, "catBusy"},
	{EIM_RES_DISABLE, 127, "undefinedError"},
	{EIM_RES_DELETE, 0, "ok"},
	{EIM_RES_DELETE, 1, "iccidOrAidNotFound"},
	{EIM_RES_DELETE, 2, "profileNotInDisabledState"},
	{EIM_RES_DELETE, 3, "disallowedByPolicy"},
	{EIM_RES_DELETE, 20, "rollbackNotAvailable"},
	{EIM_RES_DELETE, 21, "returnFallbackProfile"},
	{EIM_RES_DELETE, 127, "undefinedError"},
	{EIM_RES_LIST_PROFILE_INFO, 1, "incorrectInputValues"},
	{EIM_RES_LIST_PROFILE_INFO, 11, "profileChangeOngoing"},
	{EIM_RES_LIST_PROFILE_INFO, 127, "undefinedError"},
	{EIM_RES_CONFIGURE_IMMEDIATE_ENABLE, 0, "ok"},
	{EIM_RES_CONFIGURE_IMMEDIATE_ENABLE, 1, "insufficientMemory"},
	{EIM_RES_CONFIGURE_IMMEDIATE_ENABLE, 7, "commandError"},
	{EIM_RES_CONFIGURE_IMMEDIATE_ENABLE, 127, "undefinedError"},
	{EIM_RES_ADD_EIM, 0, "ok"},
	{EIM_RES_ADD_EIM, 1, "insufficientMemory"},
	{EIM_RES_ADD_EIM, 2, "associatedEimAlreadyExists"},
	{EIM_RES_ADD_EIM, 3, "ciPKUnknown"},
	{EIM_RES_ADD_EIM, 5, "invalidAssociationToken"},
	{EIM_RES_ADD_EIM, 6, "counterValueOutOfRange"},
	{EIM_RES_ADD_EIM, 7, "commandError"},
	{EIM_RES_ADD_EIM, 127, "undefinedError"},
	{EIM_RES_DELETE_EIM, 0, "ok"},
	{EIM_RES_DELETE_EIM, 1, "eimNotFound"},
	{EIM_RES_DELETE_EIM, 2, "lastEimDeleted"},
	{EIM_RES_DELETE_EIM, 7, "commandError"},
	{EIM_RES_DELETE_EIM, 127, "undefinedError"},
	{EIM_RES_UPDATE_EIM, 0, "ok"},
	{EIM_RES_UPDATE_EIM, 1, "eimNotFound"},
	{EIM_RES_UPDATE_EIM, 3, "ciPKUnknown"},
	{EIM_RES_UPDATE_EIM, 6, "counterValueOutOfRange"},
	{EIM_RES_UPDATE_EIM, 7, "commandError"},
	{EIM_RES_UPDATE_EIM, 127, "undefinedError"},
	{EIM_RES_LIST_EIM, 7, "commandError"}, /* v1.0 */
	{EIM_RES_LIST_EIM, 127, "undefinedError"},
	{EIM_RES_ROLLBACK, 0, "ok"},
	{EIM_RES_ROLLBACK, 127, "undefinedError"},
	{EIM_RES_SET_FALLBACK, 0, "ok"},
	{EIM_RES_SET_FALLBACK, 1, "iccidOrAidNotFound"},
	{EIM_RES_SET_FALLBACK, 2, "fallbackNotAllowed"},
	{EIM_RES_SET_FALLBACK, 3, "fallbackProfileEnabled"},
	{EIM_RES_SET_FALLBACK, 127, "undefinedError"},
	{EIM_RES_UNSET_FALLBACK, 0, "ok"},
	{EIM_RES_UNSET_FALLBACK, 2, "noFallbackAttribute"},
	{EIM_RES_UNSET_FALLBACK, 3, "fallbackProfileEnabled"},
	{EIM_RES_UNSET_FALLBACK, 7, "commandError"},
	{EIM_RES_UNSET_FALLBACK, 127, "undefinedError"},
	{EIM_RES_PROCESSING_TERMINATED, 1, "resultSizeOverflow"},
	{EIM_RES_PROCESSING_TERMINATED, 2, "unknownOrDamagedCommand"},
	{EIM_RES_PROCESSING_TERMINATED, 3, "interruption"},
	{EIM_RES_PROCESSING_TERMINATED, 127, "undefinedError"},
	{EIM_RES_SET_DEFAULT_DP, 0, "ok"},
	{EIM_RES_SET_DEFAULT_DP, 127, "undefinedError"},
};

static const struct name error_names[] = {
	{EIM_EPR_ERROR_SIGNED, 3, "invalidEid"},
	{EIM_EPR_ERROR_SIGNED, 4, "replayError"},
	{EIM_EPR_ERROR_SIGNED, 6, "counterValueOutOfRange"},
	{EIM_EPR_ERROR_SIGNED, 15, "sizeOverflow"},
	{EIM_EPR_ERROR_SIGNED, 104, "ecallActive"},
	{EIM_EPR_ERROR_SIGNED, 127, "undefinedError"},
	{EIM_EPR_ERROR_UNSIGNED, 15, "sizeOverflow"},
	{EIM_EPR_ERROR_UNSIGNED, 127, "undefinedError"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *eim_epr_result_name(uint32_t tag)
{
	for (size_t i = 0; i < N(result_names); i++)
		if (result_names[i].tag == tag)
			return result_names[i].name;
	return "unknown";
}

const char *eim_epr_code_name(uint32_t tag, int64_t code)
{
	for (size_t i = 0; i < N(code_names); i++)
		if (code_names[i].tag == tag && code_names[i].code == code)
			return code_names[i].name;
	return NULL;
}

const char *eim_epr_error_name(enum eim_epr_kind kind, int64_t code)
{
	for (size_t i = 0; i < N(error_names); i++)
		if (error_names[i].tag == (uint32_t)kind &&
		    error_names[i].code == code)
			return error_names[i].name;
	return NULL;
}

const char *eim_epr_kind_name(enum eim_epr_kind kind)
{
	switch (kind) {
	case EIM_EPR_RESULT_SIGNED:
		return "euiccPackageResultSigned";
	case EIM_EPR_ERROR_SIGNED:
		return "euiccPackageErrorSigned";
	case EIM_EPR_ERROR_UNSIGNED:
		return "euiccPackageErrorUnsigned";
	}
	return "unknown";
}

bool eim_epr_result_ok(const struct eim_epr_result *r)
{
	if (!r)
		return false;
	switch (r->tag) {
	case EIM_RES_PROCESSING_TERMINATED:
		return false;
	case EIM_RES_ADD_EIM:
		return r->has_token || r->code == 0;
	case EIM_RES_DELETE_EIM:
		/* Deleting the last eIM still succeeded (2.11.2.1 note). */
		return r->code == 0 || r->code == 2;
	case EIM_RES_LIST_PROFILE_INFO:
	case EIM_RES_GET_RAT:
	case EIM_RES_LIST_EIM:
		return r->code == -1;
	default:
		return r->code == 0;
	}
}

/* ----- decoding ----- */

static int int_of(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		  int64_t *ret)
{
	return eim_der_get_int(c, t, INT32_MIN, INT32_MAX, ret);
}

/* listProfileInfo / listEim: [0] data list (A0) or [1] error (81). */
static int decode_list_choice(const struct eim_der_cur *c,
			      const struct eim_der_tlv *t,
			      struct eim_epr_result *r)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_read(&in, &f)) < 0)
		return rc;
	if (f.tag == 0xa0) {
		r->code = -1;
	} else if (f.tag == 0x81) {
		if ((rc = int_of(&in, &f, &r->code)) < 0)
			return rc;
	} else {
		return eim_der_fail(&in, f.off, EIM_ETAG,
				    "expected list [0] or error [1]");
	}
	return eim_der_finish(&in);
}

static int decode_result(const struct eim_der_cur *c,
			 const struct eim_der_tlv *t, struct eim_epr_result *r)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	memset(r, 0, sizeof(*r));
	r->tag = t->tag;
	switch (t->tag) {
	case EIM_RES_ENABLE:
	case EIM_RES_DISABLE:
	case EIM_RES_DELETE:
	case EIM_RES_CONFIGURE_IMMEDIATE_ENABLE:
	case EIM_RES_DELETE_EIM:
	case EIM_RES_UPDATE_EIM:
	case EIM_RES_ROLLBACK:
	case EIM_RES_SET_FALLBACK:
	case EIM_RES_UNSET_FALLBACK:
	case EIM_RES_PROCESSING_TERMINATED:
		return int_of(c, t, &r->code);
	case EIM_RES_LIST_PROFILE_INFO:
	case EIM_RES_LIST_EIM:
		r->data.p = t->raw;
		r->data.len = t->raw_len;
		return decode_list_choice(c, t, r);
	case EIM_RES_GET_RAT:
		if (!t->constructed)
			return eim_der_fail(c, t->off, EIM_EMALFORMED,
					    "getRATResult must be constructed");
		r->code = -1;
		r->data.p = t->raw;
		r->data.len = t->raw_len;
		return 0;
	case EIM_RES_ADD_EIM:
		/* Explicit CHOICE: [4] associationToken or INTEGER code. */
		if ((rc = eim_der_enter(c, t, &in)) < 0 ||
		    (rc = eim_der_read(&in, &f)) < 0)
			return rc;
		if (f.tag == 0x84) {
			r->has_token = true;
			r->code = -1;
			rc = eim_der_get_int(&in, &f, INT64_MIN, INT64_MAX,
					     &r->token);
		} else if (f.tag == 0x02) {
			rc = int_of(&in, &f, &r->code);
		} else {
			return eim_der_fail(
				&in, f.off, EIM_ETAG,
				"addEimResult: expected [4] or INTEGER");
		}
		if (rc < 0)
			return rc;
		return eim_der_finish(&in);
	case EIM_RES_SET_DEFAULT_DP:
		if ((rc = eim_der_enter(c, t, &in)) < 0 ||
		    (rc = eim_der_expect(&in, 0x80, &f)) < 0 ||
		    (rc = int_of(&in, &f, &r->code)) < 0)
			return rc;
		return eim_der_finish(&in);
	}
	return eim_der_fail(c, t->off, EIM_ETAG, "unknown EuiccResultData");
}

static int decode_results(const struct eim_der_cur *c,
			  const struct eim_der_tlv *t, struct eim_epr *e)
{
	struct eim_der_cur in, cnt;
	struct eim_der_tlv f;
	size_t n = 0;
	int rc;

	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	cnt = in;
	while (!eim_der_at_end(&cnt)) {
		if ((rc = eim_der_read(&cnt, &f)) < 0)
			return rc;
		if (++n > EIM_EPR_MAX_RESULTS)
			return eim_der_fail(c, f.off, EIM_ETOOBIG,
					    "too many results");
	}
	if (n) {
		e->store = eim_calloc(n, sizeof(*e->store));
		if (!e->store)
			return EIM_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = eim_der_read(&in, &f)) < 0 ||
		    (rc = decode_result(&in, &f, &e->store[i])) < 0)
			return rc;
	}
	e->results = e->store;
	e->n_results = n;
	return 0;
}

static int get_eim_id(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		      struct eim_slice *ret)
{
	if (t->len < 1 || t->len > 128 || t->constructed)
		return eim_der_fail(c, t->off, EIM_EMALFORMED,
				    "eimId must be 1..128 bytes");
	ret->p = t->val;
	ret->len = t->len;
	return 0;
}

static int get_txid(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		    struct eim_slice *ret)
{
	if (t->len < 1 || t->len > 16 || t->constructed)
		return eim_der_fail(c, t->off, EIM_EMALFORMED,
				    "transactionId must be 1..16 bytes");
	ret->p = t->val;
	ret->len = t->len;
	return 0;
}

/* The signed 30 element of the result or error form. */
static int decode_signed_data(const struct eim_der_cur *c,
			      const struct eim_der_tlv *t, struct eim_epr *e)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	if ((rc = eim_der_expect(&in, 0x80, &f)) < 0 ||
	    (rc = get_eim_id(&in, &f, &e->eim_id)) < 0)
		return rc;
	if ((rc = eim_der_expect(&in, 0x81, &f)) < 0 ||
	    (rc = eim_der_get_int(&in, &f, 0, UINT32_MAX, &e->counter)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0x82, &f)) < 0)
		return rc;
	if (rc && (rc = get_txid(&in, &f, &e->txid)) < 0)
		return rc;
	if (e->kind == EIM_EPR_RESULT_SIGNED) {
		if ((rc = eim_der_expect(&in, 0x83, &f)) < 0 ||
		    (rc = eim_der_get_int(&in, &f, 0, INT32_MAX, &e->seq)) < 0)
			return rc;
		if ((rc = eim_der_expect(&in, 0x30, &f)) < 0 ||
		    (rc = decode_results(&in, &f, e)) < 0)
			return rc;
	} else {
		if ((rc = eim_der_expect(&in, 0x02, &f)) < 0 ||
		    (rc = int_of(&in, &f, &e->error_code)) < 0)
			return rc;
	}
	return eim_der_finish(&in);
}

static int decode_unsigned(const struct eim_der_cur *c,
			   const struct eim_der_tlv *t, struct eim_epr *e)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	if ((rc = eim_der_expect(&in, 0x80, &f)) < 0 ||
	    (rc = get_eim_id(&in, &f, &e->eim_id)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0x82, &f)) < 0)
		return rc;
	if (rc && (rc = get_txid(&in, &f, &e->txid)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0x84, &f)) < 0)
		return rc;
	if (rc) {
		e->has_token = true;
		if ((rc = eim_der_get_int(&in, &f, INT64_MIN, INT64_MAX,
					  &e->token)) < 0)
			return rc;
	}
	e->error_code = -1;
	if ((rc = eim_der_optional(&in, 0x8f, &f)) < 0)
		return rc;
	if (rc && (rc = int_of(&in, &f, &e->error_code)) < 0)
		return rc;
	return eim_der_finish(&in);
}

void eim_epr_done(struct eim_epr *e)
{
	if (!e)
		return;
	eim_free(e->store);
	e->store = NULL;
	e->results = NULL;
	e->n_results = 0;
}

int eim_epr_decode_tlv(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		       struct eim_epr *ret)
{
	struct eim_der_cur in, sc;
	struct eim_der_tlv form, s, sig;
	struct eim_epr e;
	int rc;

	if (!c || !t || !ret)
		return EIM_EINVAL;
	memset(&e, 0, sizeof(e));
	if (t->tag != 0xbf51)
		return eim_der_fail(c, t->off, EIM_ETAG,
				    "expected EuiccPackageResult (BF51)");
	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_read(&in, &form)) < 0)
		goto fail;
	switch (form.tag) {
	case 0xa0:
	case 0xa1:
		e.kind = form.tag == 0xa0 ? EIM_EPR_RESULT_SIGNED
					  : EIM_EPR_ERROR_SIGNED;
		if ((rc = eim_der_enter(&in, &form, &sc)) < 0 ||
		    (rc = eim_der_expect(&sc, 0x30, &s)) < 0 ||
		    (rc = decode_signed_data(&sc, &s, &e)) < 0 ||
		    (rc = eim_der_expect(&sc, 0x5f37, &sig)) < 0 ||
		    (rc = eim_der_finish(&sc)) < 0)
			goto fail;
		e.signed_raw.p = s.raw;
		e.signed_raw.len = s.raw_len;
		e.signature.p = sig.val;
		e.signature.len = sig.len;
		break;
	case 0xa2:
		e.kind = EIM_EPR_ERROR_UNSIGNED;
		if ((rc = decode_unsigned(&in, &form, &e)) < 0)
			goto fail;
		break;
	default:
		rc = eim_der_fail(&in, form.off, EIM_ETAG,
				  "EuiccPackageResult: expected A0, A1 or A2");
		goto fail;
	}
	if ((rc = eim_der_finish(&in)) < 0)
		goto fail;
	e.raw.p = t->raw;
	e.raw.len = t->raw_len;
	*ret = e;
	return 0;
fail:
	eim_epr_done(&e);
	return rc;
}

int eim_epr_decode(const uint8_t *buf, size_t n, struct eim_der_diag *diag,
		   struct eim_epr *ret)
{
	struct eim_der_cur c;
	struct eim_der_tlv t;
	int rc;

	if (!buf || !ret)
		return EIM_EINVAL;
	eim_der_cur_init(&c, buf, n, diag);
	if ((rc = eim_der_read(&c, &t)) < 0 || (rc = eim_der_finish(&c)) < 0)
		return rc;
	return eim_epr_decode_tlv(&c, &t, ret);
}

int eim_epr_verify(const struct eim_epr *e, int64_t token,
		   const struct eim_sig_key *euicc_pub)
{
	if (!e || !euicc_pub)
		return EIM_EINVAL;
	if (e->kind == EIM_EPR_ERROR_UNSIGNED || !e->signed_raw.p)
		return EIM_ESTATE;
	return eim_pkg_verify_signed(e->signed_raw, e->signature, token,
				     euicc_pub);
}

/* ----- encoding (the eUICC side: simulator and tests) ----- */

static int encode_result(const struct eim_epr_result *r, struct eim_buf *out)
{
	size_t m, n;

	switch (r->tag) {
	case EIM_RES_ENABLE:
	case EIM_RES_DISABLE:
	case EIM_RES_DELETE:
	case EIM_RES_CONFIGURE_IMMEDIATE_ENABLE:
	case EIM_RES_DELETE_EIM:
	case EIM_RES_UPDATE_EIM:
	case EIM_RES_ROLLBACK:
	case EIM_RES_SET_FALLBACK:
	case EIM_RES_UNSET_FALLBACK:
	case EIM_RES_PROCESSING_TERMINATED:
		eim_der_put_int(out, r->tag, r->code);
		return 0;
	case EIM_RES_LIST_PROFILE_INFO:
	case EIM_RES_LIST_EIM:
	case EIM_RES_GET_RAT:
		if (r->data.p) {
			struct eim_der_tlv t;

			if (eim_der_parse_one(r->data.p, r->data.len, NULL,
					      &t) < 0 ||
			    t.tag != r->tag)
				return EIM_EINVAL;
			eim_buf_append(out, r->data.p, r->data.len);
			return 0;
		}
		if (r->tag == EIM_RES_GET_RAT)
			return EIM_EINVAL;
		m = eim_der_open(out, r->tag);
		eim_der_put_int(out, 0x81, r->code);
		eim_der_close(out, m);
		return 0;
	case EIM_RES_ADD_EIM:
		m = eim_der_open(out, r->tag);
		if (r->has_token)
			eim_der_put_int(out, 0x84, r->token);
		else
			eim_der_put_int(out, 0x02, r->code);
		eim_der_close(out, m);
		return 0;
	case EIM_RES_SET_DEFAULT_DP:
		n = eim_der_open(out, r->tag);
		eim_der_put_int(out, 0x80, r->code);
		eim_der_close(out, n);
		return 0;
	}
	return EIM_EINVAL;
}

int eim_epr_encode(const struct eim_epr *e, int64_t token,
		   struct eim_sig_key *euicc_key, struct eim_buf *out)
{
	uint8_t tok[12], rs[EIM_SIG_RAW_LEN];
	struct eim_buf tb = {.p = tok, .cap = sizeof(tok), .max = sizeof(tok)};
	struct eim_slice parts[2];
	size_t start, top, form, s, list;
	int rc = 0;

	if (!e || !out || !e->eim_id.p || e->eim_id.len < 1 ||
	    e->eim_id.len > 128)
		return EIM_EINVAL;
	if (e->txid.p && (e->txid.len < 1 || e->txid.len > 16))
		return EIM_EINVAL;
	if (e->kind != EIM_EPR_ERROR_UNSIGNED && !euicc_key)
		return EIM_EINVAL;
	if (out->err)
		return out->err;
	start = out->len;
	top = eim_der_open(out, 0xbf51);
	if (e->kind == EIM_EPR_ERROR_UNSIGNED) {
		form = eim_der_open(out, 0xa2);
		eim_der_put(out, 0x80, e->eim_id.p, e->eim_id.len);
		if (e->txid.p)
			eim_der_put(out, 0x82, e->txid.p, e->txid.len);
		if (e->has_token)
			eim_der_put_int(out, 0x84, e->token);
		if (e->error_code >= 0)
			eim_der_put_int(out, 0x8f, e->error_code);
		eim_der_close(out, form);
	} else if (e->kind == EIM_EPR_RESULT_SIGNED ||
		   e->kind == EIM_EPR_ERROR_SIGNED) {
		form = eim_der_open(out, e->kind == EIM_EPR_RESULT_SIGNED
						 ? 0xa0
						 : 0xa1);
		s = out->len;
		size_t seq = eim_der_open(out, 0x30);
		eim_der_put(out, 0x80, e->eim_id.p, e->eim_id.len);
		eim_der_put_int(out, 0x81, e->counter);
		if (e->txid.p)
			eim_der_put(out, 0x82, e->txid.p, e->txid.len);
		if (e->kind == EIM_EPR_RESULT_SIGNED) {
			eim_der_put_int(out, 0x83, e->seq);
			list = eim_der_open(out, 0x30);
			for (size_t i = 0; i < e->n_results && rc == 0; i++)
				rc = encode_result(&e->results[i], out);
			if (rc < 0)
				goto fail;
			eim_der_close(out, list);
		} else {
			eim_der_put_int(out, 0x02, e->error_code);
		}
		eim_der_close(out, seq);
		if ((rc = out->err) < 0)
			goto fail;
		eim_pkg_token_do(token, &tb);
		parts[0].p = out->p + s;
		parts[0].len = out->len - s;
		parts[1].p = tok;
		parts[1].len = tb.len;
		if ((rc = eim_sig_sign(euicc_key, parts, 2, rs)) < 0)
			goto fail;
		eim_der_put(out, 0x5f37, rs, sizeof(rs));
		eim_der_close(out, form);
	} else {
		rc = EIM_EINVAL;
		goto fail;
	}
	eim_der_close(out, top);
	if ((rc = out->err) < 0)
		goto fail;
	return 0;
fail:
	if (!out->err)
		out->len = start;
	return rc;
}
