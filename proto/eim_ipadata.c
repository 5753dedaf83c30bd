/*
 * eim_ipadata.c - IpaEuiccData, ProfileDownloadTrigger, EimAcknowledgements,
 * AddInitialEim and ProfileInfo codecs.
 *
 * SGP.32 v1.2 sections 2.11.1.2 (IpaEuiccDataRequest), 2.11.1.3
 * (ProfileDownloadTriggerRequest), 2.11.2.2 (IpaEuiccDataResponse),
 * 2.11.2.3 (ProfileDownloadTriggerResult), 5.9.4 (AddInitialEim), 2.11.1
 * (EimAcknowledgements); SGP.22 5.7.15 (ProfileInfo).
 */
#include "proto/eim_ipadata.h"

#include "common/eim_err.h"

#include <string.h>

static struct eim_slice view(const struct eim_der_tlv *t)
{
	struct eim_slice s = {t->val, t->len};
	return s;
}

static struct eim_slice whole(const struct eim_der_tlv *t)
{
	struct eim_slice s = {t->raw, t->raw_len};
	return s;
}

static int get_txid(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		    struct eim_slice *ret)
{
	if (t->len < 1 || t->len > 16 || t->constructed)
		return eim_der_fail(c, t->off, EIM_EMALFORMED,
				    "transactionId must be 1..16 bytes");
	*ret = view(t);
	return 0;
}

static bool txid_ok(struct eim_slice s)
{
	return !s.p || (s.len >= 1 && s.len <= 16);
}

/* Appends a stored TLV after checking it is one element with `tag`. */
static int put_raw(struct eim_buf *out, struct eim_slice s, uint32_t tag)
{
	struct eim_der_tlv t;

	if (!s.p)
		return 0;
	if (eim_der_parse_one(s.p, s.len, NULL, &t) < 0 || t.tag != tag)
		return EIM_EINVAL;
	eim_buf_append(out, s.p, s.len);
	return 0;
}

/* ----- IpaEuiccDataRequest ----- */

int eim_ipadata_req_encode(const struct eim_ipadata_req *r, struct eim_buf *out)
{
	size_t top, m;

	if (!r || !out || !r->tag_list.p || !txid_ok(r->txid))
		return EIM_EINVAL;
	top = eim_der_open(out, 0xbf52);
	eim_der_put(out, 0x5c, r->tag_list.p, r->tag_list.len);
	if (r->ci_pkid.p)
		eim_der_put(out, 0x04, r->ci_pkid.p, r->ci_pkid.len);
	if (r->notif_search == EIM_NOTIF_SEARCH_SEQ) {
		m = eim_der_open(out, 0xa1);
		eim_der_put_int(out, 0x80, r->notif_seq);
		eim_der_close(out, m);
	} else if (r->notif_search == EIM_NOTIF_SEARCH_EVENT) {
		if (!r->notif_event.p || r->notif_event.len < 1)
			return EIM_EINVAL;
		m = eim_der_open(out, 0xa1);
		eim_der_put(out, 0x81, r->notif_event.p, r->notif_event.len);
		eim_der_close(out, m);
	} else if (r->notif_search != EIM_NOTIF_SEARCH_NONE) {
		return EIM_EINVAL;
	}
	if (r->has_epr_seq) {
		m = eim_der_open(out, 0xa2);
		eim_der_put_int(out, 0x80, r->epr_seq);
		eim_der_close(out, m);
	}
	if (r->txid.p)
		eim_der_put(out, 0x83, r->txid.p, r->txid.len);
	eim_der_close(out, top);
	return out->err;
}

int eim_ipadata_req_decode(const struct eim_der_cur *c,
			   const struct eim_der_tlv *t,
			   struct eim_ipadata_req *ret)
{
	struct eim_ipadata_req r;
	struct eim_der_cur in, sc;
	struct eim_der_tlv f, s;
	int rc;

	if (!c || !t || !ret)
		return EIM_EINVAL;
	memset(&r, 0, sizeof(r));
	if (t->tag != 0xbf52)
		return eim_der_fail(c, t->off, EIM_ETAG,
				    "expected IpaEuiccDataRequest (BF52)");
	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_expect(&in, 0x5c, &f)) < 0)
		return rc;
	r.tag_list = view(&f);
	if ((rc = eim_der_optional(&in, 0x04, &f)) < 0)
		return rc;
	if (rc)
		r.ci_pkid = view(&f);
	if ((rc = eim_der_optional(&in, 0xa1, &f)) < 0)
		return rc;
	if (rc) {
		if ((rc = eim_der_enter(&in, &f, &sc)) < 0 ||
		    (rc = eim_der_read(&sc, &s)) < 0)
			return rc;
		if (s.tag == 0x80) {
			r.notif_search = EIM_NOTIF_SEARCH_SEQ;
			if ((rc = eim_der_get_int(&sc, &s, 0, INT32_MAX,
						  &r.notif_seq)) < 0)
				return rc;
		} else if (s.tag == 0x81) {
			if (s.len < 1)
				return eim_der_fail(&sc, s.off, EIM_EMALFORMED,
						    "empty BIT STRING");
			r.notif_search = EIM_NOTIF_SEARCH_EVENT;
			r.notif_event = view(&s);
		} else {
			return eim_der_fail(
				&sc, s.off, EIM_ETAG,
				"unknown searchCriteriaNotification");
		}
		if ((rc = eim_der_finish(&sc)) < 0)
			return rc;
	}
	if ((rc = eim_der_optional(&in, 0xa2, &f)) < 0)
		return rc;
	if (rc) {
		r.has_epr_seq = true;
		if ((rc = eim_der_enter(&in, &f, &sc)) < 0 ||
		    (rc = eim_der_expect(&sc, 0x80, &s)) < 0 ||
		    (rc = eim_der_get_int(&sc, &s, 0, INT32_MAX, &r.epr_seq)) <
			    0 ||
		    (rc = eim_der_finish(&sc)) < 0)
			return rc;
	}
	if ((rc = eim_der_optional(&in, 0x83, &f)) < 0)
		return rc;
	if (rc && (rc = get_txid(&in, &f, &r.txid)) < 0)
		return rc;
	if ((rc = eim_der_finish(&in)) < 0)
		return rc;
	*ret = r;
	return 0;
}

/* ----- IpaEuiccDataResponse ----- */

const char *eim_ipadata_error_name(int64_t code)
{
	switch (code) {
	case 1:
		return "incorrectTagList";
	case 5:
		return "euiccCiPKIdNotFound";
	case 104:
		return "ecallActive";
	case 127:
		return "undefinedError";
	}
	return NULL;
}

int eim_ipadata_encode(const struct eim_ipadata *d, struct eim_buf *out)
{
	size_t top, m;
	int rc = 0;

	if (!d || !out)
		return EIM_EINVAL;
	top = eim_der_open(out, 0xbf52);
	if (d->is_error) {
		if (!txid_ok(d->err_txid))
			return EIM_EINVAL;
		m = eim_der_open(out, 0xa1);
		if (d->err_txid.p)
			eim_der_put(out, 0x80, d->err_txid.p, d->err_txid.len);
		eim_der_put_int(out, 0x02, d->err_code);
		eim_der_close(out, m);
	} else {
		m = eim_der_open(out, 0xa0);
		if ((rc = put_raw(out, d->notifications, 0xa0)) < 0)
			return rc;
		if (d->default_smdp.p)
			eim_der_put(out, 0x81, d->default_smdp.p,
				    d->default_smdp.len);
		if ((rc = put_raw(out, d->epr_list, 0xa2)) < 0 ||
		    (rc = put_raw(out, d->euicc_info1, 0xbf20)) < 0 ||
		    (rc = put_raw(out, d->euicc_info2, 0xbf22)) < 0)
			return rc;
		if (d->root_smds.p)
			eim_der_put(out, 0x83, d->root_smds.p,
				    d->root_smds.len);
		if (d->has_token)
			eim_der_put_int(out, 0x84, d->token);
		if ((rc = put_raw(out, d->eum_cert, 0xa5)) < 0 ||
		    (rc = put_raw(out, d->euicc_cert, 0xa6)) < 0)
			return rc;
		if (d->txid.p) {
			if (!txid_ok(d->txid))
				return EIM_EINVAL;
			eim_der_put(out, 0x87, d->txid.p, d->txid.len);
		}
		if ((rc = put_raw(out, d->ipa_capabilities, 0xa8)) < 0 ||
		    (rc = put_raw(out, d->device_info, 0xa9)) < 0)
			return rc;
		eim_der_close(out, m);
	}
	eim_der_close(out, top);
	return out->err;
}

int eim_ipadata_decode(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		       struct eim_ipadata *ret)
{
	struct eim_ipadata d;
	struct eim_der_cur in, dc;
	struct eim_der_tlv form, f;
	int rc;

	if (!c || !t || !ret)
		return EIM_EINVAL;
	memset(&d, 0, sizeof(d));
	if (t->tag != 0xbf52)
		return eim_der_fail(c, t->off, EIM_ETAG,
				    "expected IpaEuiccDataResponse (BF52)");
	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_read(&in, &form)) < 0)
		return rc;
	if (form.tag == 0xa1) {
		d.is_error = true;
		if ((rc = eim_der_enter(&in, &form, &dc)) < 0)
			return rc;
		if ((rc = eim_der_optional(&dc, 0x80, &f)) < 0)
			return rc;
		if (rc && (rc = get_txid(&dc, &f, &d.err_txid)) < 0)
			return rc;
		if ((rc = eim_der_expect(&dc, 0x02, &f)) < 0 ||
		    (rc = eim_der_get_int(&dc, &f, INT32_MIN, INT32_MAX,
					  &d.err_code)) < 0 ||
		    (rc = eim_der_finish(&dc)) < 0)
			return rc;
	} else if (form.tag == 0xa0) {
		if ((rc = eim_der_enter(&in, &form, &dc)) < 0)
			return rc;
		/* Fields may come in any order from older IPAs; each at most
		 * once. v1.0 tags (80, 88, BF2B) are not mapped. */
		while (!eim_der_at_end(&dc)) {
			if ((rc = eim_der_read(&dc, &f)) < 0)
				return rc;
			struct eim_slice *dst = NULL;
			switch (f.tag) {
			case 0xa0:
				dst = &d.notifications;
				break;
			case 0x81:
				dst = &d.default_smdp;
				break;
			case 0xa2:
				dst = &d.epr_list;
				break;
			case 0xbf20:
				dst = &d.euicc_info1;
				break;
			case 0xbf22:
				dst = &d.euicc_info2;
				break;
			case 0x83:
				dst = &d.root_smds;
				break;
			case 0xa5:
				dst = &d.eum_cert;
				break;
			case 0xa6:
				dst = &d.euicc_cert;
				break;
			case 0x87:
				dst = &d.txid;
				break;
			case 0xa8:
				dst = &d.ipa_capabilities;
				break;
			case 0xa9:
				dst = &d.device_info;
				break;
			case 0x84:
				if (d.has_token)
					return eim_der_fail(&dc, f.off,
							    EIM_EMALFORMED,
							    "duplicate field");
				d.has_token = true;
				if ((rc = eim_der_get_int(&dc, &f, INT64_MIN,
							  INT64_MAX,
							  &d.token)) < 0)
					return rc;
				continue;
			default:
				return eim_der_fail(
					&dc, f.off, EIM_ETAG,
					"unknown IpaEuiccData field");
			}
			if (dst->p)
				return eim_der_fail(&dc, f.off, EIM_EMALFORMED,
						    "duplicate field");
			/* Primitive fields are values; constructed ones keep
			 * their whole TLV (to relay or re-tag). */
			*dst = f.constructed ? whole(&f) : view(&f);
			if (f.tag == 0x87 && (rc = get_txid(&dc, &f, dst)) < 0)
				return rc;
		}
	} else {
		return eim_der_fail(&in, form.off, EIM_ETAG,
				    "IpaEuiccDataResponse: expected A0 or A1");
	}
	if ((rc = eim_der_finish(&in)) < 0)
		return rc;
	*ret = d;
	return 0;
}

int eim_ipadata_list_next(struct eim_slice list, size_t *it,
			  struct eim_der_tlv *ret)
{
	struct eim_der_tlv t;
	struct eim_der_cur c, in;
	int rc;

	if (!list.p || !it || !ret)
		return EIM_EINVAL;
	eim_der_cur_init(&c, list.p, list.len, NULL);
	if ((rc = eim_der_read(&c, &t)) < 0 ||
	    (rc = eim_der_enter(&c, &t, &in)) < 0)
		return rc;
	if (*it > t.len)
		return EIM_EINVAL;
	in.p = t.val + *it;
	if (eim_der_at_end(&in))
		return 0;
	if ((rc = eim_der_read(&in, ret)) < 0)
		return rc;
	*it = (size_t)(in.p - t.val);
	return 1;
}

/* ----- ProfileDownloadTrigger ----- */

int eim_pdt_req_encode(const struct eim_pdt_req *r, struct eim_buf *out)
{
	size_t top, m, s;

	if (!r || !out || !txid_ok(r->txid))
		return EIM_EINVAL;
	top = eim_der_open(out, 0xbf54);
	if (r->kind != EIM_PDT_NONE) {
		m = eim_der_open(out, 0xa0);
		switch (r->kind) {
		case EIM_PDT_ACTIVATION_CODE:
			if (!r->activation_code.p ||
			    r->activation_code.len > 255)
				return EIM_EINVAL;
			eim_der_put(out, 0x80, r->activation_code.p,
				    r->activation_code.len);
			break;
		case EIM_PDT_DEFAULT_SMDP:
			eim_der_put_empty(out, 0x81);
			break;
		case EIM_PDT_SMDS:
			s = eim_der_open(out, 0xa2);
			if (r->smds_address.p)
				eim_der_put(out, 0x80, r->smds_address.p,
					    r->smds_address.len);
			eim_der_close(out, s);
			break;
		default:
			return EIM_EINVAL;
		}
		eim_der_close(out, m);
	}
	if (r->txid.p)
		eim_der_put(out, 0x82, r->txid.p, r->txid.len);
	eim_der_close(out, top);
	return out->err;
}

int eim_pdt_req_decode(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		       struct eim_pdt_req *ret)
{
	struct eim_pdt_req r;
	struct eim_der_cur in, dc, sc;
	struct eim_der_tlv f, d, s;
	int rc;

	if (!c || !t || !ret)
		return EIM_EINVAL;
	memset(&r, 0, sizeof(r));
	if (t->tag != 0xbf54)
		return eim_der_fail(
			c, t->off, EIM_ETAG,
			"expected ProfileDownloadTriggerRequest (BF54)");
	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0xa0, &f)) < 0)
		return rc;
	if (rc) {
		if ((rc = eim_der_enter(&in, &f, &dc)) < 0 ||
		    (rc = eim_der_read(&dc, &d)) < 0)
			return rc;
		if (d.tag == 0x80) {
			if (d.len > 255)
				return eim_der_fail(
					&dc, d.off, EIM_ERANGE,
					"activationCode over 255 bytes");
			r.kind = EIM_PDT_ACTIVATION_CODE;
			r.activation_code = view(&d);
		} else if (d.tag == 0x81) {
			if ((rc = eim_der_get_null(&dc, &d)) < 0)
				return rc;
			r.kind = EIM_PDT_DEFAULT_SMDP;
		} else if (d.tag == 0xa2) {
			r.kind = EIM_PDT_SMDS;
			if ((rc = eim_der_enter(&dc, &d, &sc)) < 0)
				return rc;
			if ((rc = eim_der_optional(&sc, 0x80, &s)) < 0)
				return rc;
			if (rc)
				r.smds_address = view(&s);
			if ((rc = eim_der_finish(&sc)) < 0)
				return rc;
		} else {
			return eim_der_fail(&dc, d.off, EIM_ETAG,
					    "unknown ProfileDownloadData");
		}
		if ((rc = eim_der_finish(&dc)) < 0)
			return rc;
	}
	if ((rc = eim_der_optional(&in, 0x82, &f)) < 0)
		return rc;
	if (rc && (rc = get_txid(&in, &f, &r.txid)) < 0)
		return rc;
	if ((rc = eim_der_finish(&in)) < 0)
		return rc;
	*ret = r;
	return 0;
}

int eim_pdt_result_encode(const struct eim_pdt_result *r, struct eim_buf *out)
{
	size_t top, m;
	int rc;

	if (!r || !out || !txid_ok(r->txid))
		return EIM_EINVAL;
	top = eim_der_open(out, 0xbf54);
	if (r->txid.p)
		eim_der_put(out, 0x82, r->txid.p, r->txid.len);
	if (r->is_error) {
		m = eim_der_open(out, 0x30);
		eim_der_put_int(out, 0x80, r->error_reason);
		if (r->error_response.p)
			eim_der_put(out, 0x04, r->error_response.p,
				    r->error_response.len);
		eim_der_close(out, m);
	} else {
		if (!r->pir.p)
			return EIM_EINVAL;
		if ((rc = put_raw(out, r->pir, 0xbf37)) < 0)
			return rc;
	}
	eim_der_close(out, top);
	return out->err;
}

int eim_pdt_result_decode(const struct eim_der_cur *c,
			  const struct eim_der_tlv *t,
			  struct eim_pdt_result *ret)
{
	struct eim_pdt_result r;
	struct eim_der_cur in, ec;
	struct eim_der_tlv f, e;
	int rc;

	if (!c || !t || !ret)
		return EIM_EINVAL;
	memset(&r, 0, sizeof(r));
	if (t->tag != 0xbf54)
		return eim_der_fail(
			c, t->off, EIM_ETAG,
			"expected ProfileDownloadTriggerResult (BF54)");
	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0x82, &f)) < 0)
		return rc;
	if (rc && (rc = get_txid(&in, &f, &r.txid)) < 0)
		return rc;
	if ((rc = eim_der_read(&in, &f)) < 0)
		return rc;
	if (f.tag == 0xbf37) {
		r.pir = whole(&f);
	} else if (f.tag == 0x30) {
		r.is_error = true;
		if ((rc = eim_der_enter(&in, &f, &ec)) < 0 ||
		    (rc = eim_der_expect(&ec, 0x80, &e)) < 0 ||
		    (rc = eim_der_get_int(&ec, &e, INT32_MIN, INT32_MAX,
					  &r.error_reason)) < 0)
			return rc;
		if ((rc = eim_der_optional(&ec, 0x04, &e)) < 0)
			return rc;
		if (rc)
			r.error_response = view(&e);
		if ((rc = eim_der_finish(&ec)) < 0)
			return rc;
	} else {
		return eim_der_fail(&in, f.off, EIM_ETAG,
				    "expected profileInstallationResult or "
				    "profileDownloadError");
	}
	if ((rc = eim_der_finish(&in)) < 0)
		return rc;
	*ret = r;
	return 0;
}

/* ----- EimAcknowledgements ----- */

int eim_acks_encode(const struct eim_acks *a, struct eim_buf *out)
{
	size_t m;

	if (!a || !out || a->n > EIM_ACKS_MAX)
		return EIM_EINVAL;
	m = eim_der_open(out, 0xbf53);
	for (size_t i = 0; i < a->n; i++)
		eim_der_put_int(out, 0x80, a->seq[i]);
	eim_der_close(out, m);
	return out->err;
}

int eim_acks_decode(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		    struct eim_acks *ret)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	if (!c || !t || !ret)
		return EIM_EINVAL;
	if (t->tag != 0xbf53)
		return eim_der_fail(c, t->off, EIM_ETAG,
				    "expected EimAcknowledgements (BF53)");
	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	ret->n = 0;
	while (!eim_der_at_end(&in)) {
		if ((rc = eim_der_expect(&in, 0x80, &f)) < 0)
			return rc;
		if (ret->n == EIM_ACKS_MAX)
			return eim_der_fail(&in, f.off, EIM_ETOOBIG,
					    "too many acknowledgements");
		if ((rc = eim_der_get_int(&in, &f, 0, INT32_MAX,
					  &ret->seq[ret->n])) < 0)
			return rc;
		ret->n++;
	}
	return 0;
}

/* ----- AddInitialEim ----- */

const char *eim_add_initial_error_name(int64_t code)
{
	switch (code) {
	case 1:
		return "insufficientMemory";
	case 2:
		return "associatedEimAlreadyExists";
	case 3:
		return "ciPKUnknown";
	case 5:
		return "invalidAssociationToken";
	case 6:
		return "counterValueOutOfRange";
	case 7:
		return "commandError";
	case 127:
		return "undefinedError";
	}
	return NULL;
}

int eim_add_initial_req_encode(const struct eim_add_initial_req *r,
			       struct eim_buf *out)
{
	size_t top, list;
	int rc;

	if (!r || !out || r->n == 0 || r->n > EIM_IPADATA_MAX_LIST)
		return EIM_EINVAL;
	top = eim_der_open(out, 0xbf57);
	list = eim_der_open(out, 0xa0);
	for (size_t i = 0; i < r->n; i++)
		if ((rc = eim_pkg_encode_config(&r->cfg[i], 0x30, out)) < 0)
			return rc;
	eim_der_close(out, list);
	eim_der_close(out, top);
	return out->err;
}

int eim_add_initial_req_decode(const uint8_t *buf, size_t n,
			       struct eim_der_diag *diag,
			       struct eim_add_initial_req *ret)
{
	struct eim_der_cur c, in, lc;
	struct eim_der_tlv t, l, f;
	int rc;

	if (!buf || !ret)
		return EIM_EINVAL;
	eim_der_cur_init(&c, buf, n, diag);
	if ((rc = eim_der_read(&c, &t)) < 0 || (rc = eim_der_finish(&c)) < 0)
		return rc;
	if (t.tag != 0xbf57)
		return eim_der_fail(&c, t.off, EIM_ETAG,
				    "expected AddInitialEimRequest (BF57)");
	if ((rc = eim_der_enter(&c, &t, &in)) < 0 ||
	    (rc = eim_der_expect(&in, 0xa0, &l)) < 0 ||
	    (rc = eim_der_finish(&in)) < 0 ||
	    (rc = eim_der_enter(&in, &l, &lc)) < 0)
		return rc;
	ret->n = 0;
	while (!eim_der_at_end(&lc)) {
		if ((rc = eim_der_expect(&lc, 0x30, &f)) < 0)
			return rc;
		if (ret->n == EIM_IPADATA_MAX_LIST)
			return eim_der_fail(&lc, f.off, EIM_ETOOBIG,
					    "too many configurations");
		if ((rc = eim_pkg_decode_config(&lc, &f, &ret->cfg[ret->n])) <
		    0)
			return rc;
		ret->n++;
	}
	if (ret->n == 0)
		return eim_der_fail(&in, l.off, EIM_EMALFORMED,
				    "empty eimConfigurationDataList");
	return 0;
}

int eim_add_initial_resp_encode(const struct eim_add_initial_resp *r,
				struct eim_buf *out)
{
	size_t top, list;

	if (!r || !out || r->n > EIM_IPADATA_MAX_LIST)
		return EIM_EINVAL;
	top = eim_der_open(out, 0xbf57);
	if (r->is_error) {
		eim_der_put_int(out, 0x81, r->error_code);
	} else {
		list = eim_der_open(out, 0xa0);
		for (size_t i = 0; i < r->n; i++) {
			if (r->entry[i].has_token)
				eim_der_put_int(out, 0x84, r->entry[i].token);
			else
				eim_der_put_empty(out, 0x05);
		}
		eim_der_close(out, list);
	}
	eim_der_close(out, top);
	return out->err;
}

int eim_add_initial_resp_decode(const uint8_t *buf, size_t n,
				struct eim_der_diag *diag,
				struct eim_add_initial_resp *ret)
{
	struct eim_der_cur c, in, lc;
	struct eim_der_tlv t, f, e;
	int rc;

	if (!buf || !ret)
		return EIM_EINVAL;
	memset(ret, 0, sizeof(*ret));
	eim_der_cur_init(&c, buf, n, diag);
	if ((rc = eim_der_read(&c, &t)) < 0 || (rc = eim_der_finish(&c)) < 0)
		return rc;
	if (t.tag != 0xbf57)
		return eim_der_fail(&c, t.off, EIM_ETAG,
				    "expected AddInitialEimResponse (BF57)");
	if ((rc = eim_der_enter(&c, &t, &in)) < 0 ||
	    (rc = eim_der_read(&in, &f)) < 0)
		return rc;
	if (f.tag == 0x81) {
		ret->is_error = true;
		if ((rc = eim_der_get_int(&in, &f, INT32_MIN, INT32_MAX,
					  &ret->error_code)) < 0)
			return rc;
	} else if (f.tag == 0xa0) {
		if ((rc = eim_der_enter(&in, &f, &lc)) < 0)
			return rc;
		while (!eim_der_at_end(&lc)) {
			if ((rc = eim_der_read(&lc, &e)) < 0)
				return rc;
			if (ret->n == EIM_IPADATA_MAX_LIST)
				return eim_der_fail(&lc, e.off, EIM_ETOOBIG,
						    "too many entries");
			if (e.tag == 0x84) {
				ret->entry[ret->n].has_token = true;
				rc = eim_der_get_int(&lc, &e, INT64_MIN,
						     INT64_MAX,
						     &ret->entry[ret->n].token);
			} else if (e.tag == 0x05) {
				rc = eim_der_get_null(&lc, &e);
			} else {
				rc = eim_der_fail(
					&lc, e.off, EIM_ETAG,
					"expected associationToken or addOk");
			}
			if (rc < 0)
				return rc;
			ret->n++;
		}
	} else {
		return eim_der_fail(&in, f.off, EIM_ETAG,
				    "AddInitialEimResponse: expected A0 or 81");
	}
	return eim_der_finish(&in);
}

/* ----- ProfileInfo ----- */

int eim_profile_info_encode(const struct eim_profile_info *p,
			    struct eim_buf *out)
{
	size_t m;

	if (!p || !out)
		return EIM_EINVAL;
	m = eim_der_open(out, 0xe3);
	if (p->has_iccid)
		eim_der_put(out, 0x5a, p->iccid, EIM_ICCID_LEN);
	if (p->isdp_aid.p)
		eim_der_put(out, 0x4f, p->isdp_aid.p, p->isdp_aid.len);
	if (p->state >= 0)
		eim_der_put_int(out, 0x9f70, p->state);
	if (p->nickname.p)
		eim_der_put(out, 0x90, p->nickname.p, p->nickname.len);
	if (p->sp_name.p)
		eim_der_put(out, 0x91, p->sp_name.p, p->sp_name.len);
	if (p->name.p)
		eim_der_put(out, 0x92, p->name.p, p->name.len);
	if (p->icon_type >= 0)
		eim_der_put_int(out, 0x93, p->icon_type);
	if (p->icon.p)
		eim_der_put(out, 0x94, p->icon.p, p->icon.len);
	if (p->profile_class >= 0)
		eim_der_put_int(out, 0x95, p->profile_class);
	if (p->ppr.p)
		eim_der_put(out, 0x99, p->ppr.p, p->ppr.len);
	if (p->ecall >= 0)
		eim_der_put_bool(out, 0x9f7b, p->ecall != 0);
	/* DER omits a value equal to its DEFAULT. */
	if (p->fallback)
		eim_der_put_bool(out, 0x9f26, true);
	if (p->fallback_allowed >= 0)
		eim_der_put_bool(out, 0x9f67, p->fallback_allowed != 0);
	eim_der_close(out, m);
	return out->err;
}

int eim_profile_info_decode(const struct eim_der_cur *c,
			    const struct eim_der_tlv *t,
			    struct eim_profile_info *ret)
{
	struct eim_profile_info p;
	struct eim_der_cur in;
	struct eim_der_tlv f;
	bool b;
	int rc = 0;

	if (!c || !t || !ret)
		return EIM_EINVAL;
	memset(&p, 0, sizeof(p));
	p.state = p.icon_type = p.profile_class = -1;
	p.ecall = p.fallback_allowed = -1;
	if (t->tag != 0xe3)
		return eim_der_fail(c, t->off, EIM_ETAG,
				    "expected ProfileInfo (E3)");
	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	while (!eim_der_at_end(&in)) {
		if ((rc = eim_der_read(&in, &f)) < 0)
			return rc;
		switch (f.tag) {
		case 0x5a:
			if (f.len != EIM_ICCID_LEN)
				return eim_der_fail(&in, f.off, EIM_EMALFORMED,
						    "ICCID must be 10 bytes");
			memcpy(p.iccid, f.val, EIM_ICCID_LEN);
			p.has_iccid = true;
			break;
		case 0x4f:
			p.isdp_aid = view(&f);
			break;
		case 0x9f70:
			rc = eim_der_get_int(&in, &f, 0, 255, &p.state);
			break;
		case 0x90:
			p.nickname = view(&f);
			break;
		case 0x91:
			p.sp_name = view(&f);
			break;
		case 0x92:
			p.name = view(&f);
			break;
		case 0x93:
			rc = eim_der_get_int(&in, &f, 0, 255, &p.icon_type);
			break;
		case 0x94:
			p.icon = view(&f);
			break;
		case 0x95:
			rc = eim_der_get_int(&in, &f, 0, 255, &p.profile_class);
			break;
		case 0x99:
			p.ppr = view(&f);
			break;
		case 0x9f7b:
			if ((rc = eim_der_get_bool(&in, &f, &b)) == 0)
				p.ecall = b;
			break;
		case 0x9f26:
			/* BER: a real eUICC sends 9F26 01 00 (its DEFAULT). */
			if ((rc = eim_der_get_bool(&in, &f, &b)) == 0)
				p.fallback = b;
			break;
		case 0x9f67:
			if ((rc = eim_der_get_bool(&in, &f, &b)) == 0)
				p.fallback_allowed = b;
			break;
		default:
			break; /* fields we only relay */
		}
		if (rc < 0)
			return rc;
	}
	*ret = p;
	return 0;
}
