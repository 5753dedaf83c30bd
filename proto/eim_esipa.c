/*
 * eim_esipa.c - ESipa top-level messages, both directions (SGP.32 v1.2
 * section 6.3: EsipaMessageFromIpaToEim / EsipaMessageFromEimToIpa, and the
 * GetEimPackage, ProvideEimPackageResult, HandleNotification and
 * TransferEimPackage structures of 6.3.2.6-6.3.2.9).
 */
#include "proto/eim_esipa.h"

#include "common/eim_err.h"

#include <string.h>

static struct eim_slice whole(const struct eim_der_tlv *t)
{
	struct eim_slice s = {t->raw, t->raw_len};
	return s;
}

static struct eim_slice view(const struct eim_der_tlv *t)
{
	struct eim_slice s = {t->val, t->len};
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

static int get_eid(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		   uint8_t eid[16])
{
	if (t->len != 16 || t->constructed)
		return eim_der_fail(c, t->off, EIM_EMALFORMED,
				    "EID must be 16 bytes");
	memcpy(eid, t->val, 16);
	return 0;
}

static int want_constructed(const struct eim_der_cur *c,
			    const struct eim_der_tlv *t)
{
	if (!t->constructed)
		return eim_der_fail(
			c, t->off, EIM_EMALFORMED,
			"primitive element where constructed expected");
	return 0;
}

/* Appends a stored element after checking it is one TLV with `tag`. */
static int put_raw(struct eim_buf *out, struct eim_slice s, uint32_t tag)
{
	struct eim_der_tlv t;

	if (!s.p || eim_der_parse_one(s.p, s.len, NULL, &t) < 0 || t.tag != tag)
		return EIM_EINVAL;
	eim_buf_append(out, s.p, s.len);
	return 0;
}

/* ----- names ----- */

const char *eim_esipa_from_ipa_name(uint32_t tag)
{
	switch (tag) {
	case EIM_ESIPA_INITIATE_AUTH:
		return "initiateAuthenticationRequestEsipa";
	case EIM_ESIPA_AUTH_CLIENT:
		return "authenticateClientRequestEsipa";
	case EIM_ESIPA_GET_BPP:
		return "getBoundProfilePackageRequestEsipa";
	case EIM_ESIPA_CANCEL_SESSION:
		return "cancelSessionRequestEsipa";
	case EIM_ESIPA_HANDLE_NOTIFICATION:
		return "handleNotificationEsipa";
	case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
		return "transferEimPackageResponse";
	case EIM_ESIPA_GET_EIM_PACKAGE:
		return "getEimPackageRequest";
	case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
		return "provideEimPackageResult";
	}
	return "unknown";
}

const char *eim_esipa_from_eim_name(uint32_t tag)
{
	switch (tag) {
	case EIM_ESIPA_INITIATE_AUTH:
		return "initiateAuthenticationResponseEsipa";
	case EIM_ESIPA_AUTH_CLIENT:
		return "authenticateClientResponseEsipa";
	case EIM_ESIPA_GET_BPP:
		return "getBoundProfilePackageResponseEsipa";
	case EIM_ESIPA_CANCEL_SESSION:
		return "cancelSessionResponseEsipa";
	case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
		return "transferEimPackageRequest";
	case EIM_ESIPA_GET_EIM_PACKAGE:
		return "getEimPackageResponse";
	case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
		return "provideEimPackageResultResponse";
	}
	return "unknown";
}

const char *eim_esipa_pkg_error_name(int64_t code)
{
	switch (code) {
	case 1:
		return "noEimPackageAvailable";
	case 2:
		return "eidNotFound";
	case 3:
		return "invalidEid";
	case 4:
		return "missingEid";
	case 127:
		return "undefinedError";
	}
	return NULL;
}

const char *eim_esipa_result_error_name(int64_t code)
{
	switch (code) {
	case 1:
		return "invalidPackageFormat";
	case 2:
		return "unknownPackage";
	case 127:
		return "undefinedError";
	}
	return NULL;
}

const char *eim_esipa_state_change_name(int64_t cause)
{
	switch (cause) {
	case 0:
		return "otherEim";
	case 1:
		return "fallback";
	case 2:
		return "emergencyProfile";
	case 3:
		return "local";
	case 4:
		return "reset";
	case 5:
		return "immediateEnableProfile";
	case 6:
		return "deviceChange";
	case 127:
		return "undefined";
	}
	return NULL;
}

/* ----- IPA -> eIM: decode ----- */

static int decode_get_req(const struct eim_der_cur *c,
			  const struct eim_der_tlv *t,
			  struct eim_esipa_get_pkg_req *r)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_expect(&in, 0x5a, &f)) < 0 ||
	    (rc = get_eid(&in, &f, r->eid)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0x80, &f)) < 0)
		return rc;
	if (rc) {
		if ((rc = eim_der_get_null(&in, &f)) < 0)
			return rc;
		r->notify_state_change = true;
	}
	if ((rc = eim_der_optional(&in, 0x81, &f)) < 0)
		return rc;
	if (rc) {
		/* v1.0 had rPLMN as [1]; a cause is one byte (0..127), so a
		 * 3-byte [1] can only be an old IPA's rPLMN. */
		if (f.len == 3) {
			r->has_rplmn = true;
			memcpy(r->rplmn, f.val, 3);
		} else {
			r->has_cause = true;
			if ((rc = eim_der_get_int(&in, &f, 0, 255, &r->cause)) <
			    0)
				return rc;
		}
	}
	if (!r->has_rplmn) {
		if ((rc = eim_der_optional(&in, 0x82, &f)) < 0)
			return rc;
		if (rc) {
			if (f.len != 3)
				return eim_der_fail(&in, f.off, EIM_EMALFORMED,
						    "rPLMN must be 3 bytes");
			r->has_rplmn = true;
			memcpy(r->rplmn, f.val, 3);
		}
	}
	return eim_der_finish(&in);
}

/* Reads the EimPackageResult CHOICE from `in` (after the optional EID). */
static int decode_result_choice(struct eim_der_cur *in,
				struct eim_esipa_result *r)
{
	struct eim_der_cur sc;
	struct eim_der_tlv f, g;
	int rc;

	if ((rc = eim_der_read(in, &f)) < 0)
		return rc;
	switch (f.tag) {
	case 0xbf51:
		r->kind = EIM_RESULT_EPR;
		break;
	case 0xbf52:
		r->kind = EIM_RESULT_IPA_DATA;
		break;
	case 0xbf54:
		r->kind = EIM_RESULT_PDT;
		break;
	case 0x30:
		r->kind = EIM_RESULT_EPR_AND_NOTIFS;
		if ((rc = eim_der_enter(in, &f, &sc)) < 0 ||
		    (rc = eim_der_expect(&sc, 0xbf51, &g)) < 0 ||
		    (rc = want_constructed(&sc, &g)) < 0)
			return rc;
		r->body = whole(&g);
		if ((rc = eim_der_read(&sc, &g)) < 0)
			return rc;
		if (g.tag == 0xbf2b)
			r->v10 = true;
		else if (g.tag != 0xa0)
			return eim_der_fail(&sc, g.off, EIM_ETAG,
					    "expected notificationList (A0)");
		if ((rc = want_constructed(&sc, &g)) < 0)
			return rc;
		r->notifs = whole(&g);
		return eim_der_finish(&sc);
	case 0xa0:
		r->kind = EIM_RESULT_ERROR;
		if ((rc = eim_der_enter(in, &f, &sc)) < 0)
			return rc;
		if ((rc = eim_der_optional(&sc, 0x80, &g)) < 0)
			return rc;
		if (rc && (rc = get_txid(&sc, &g, &r->err_txid)) < 0)
			return rc;
		if ((rc = eim_der_expect(&sc, 0x02, &g)) < 0 ||
		    (rc = eim_der_get_int(&sc, &g, INT32_MIN, INT32_MAX,
					  &r->err_code)) < 0)
			return rc;
		return eim_der_finish(&sc);
	default:
		return eim_der_fail(in, f.off, EIM_ETAG,
				    "unknown EimPackageResult alternative");
	}
	if ((rc = want_constructed(in, &f)) < 0)
		return rc;
	r->body = whole(&f);
	return 0;
}

/* ProvideEimPackageResult contents inside `t` (BF50, or v1.0's A1). */
static int decode_result(const struct eim_der_cur *c,
			 const struct eim_der_tlv *t,
			 struct eim_esipa_result *r)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0x5a, &f)) < 0)
		return rc;
	if (rc) {
		r->has_eid = true;
		if ((rc = get_eid(&in, &f, r->eid)) < 0)
			return rc;
	}
	if ((rc = decode_result_choice(&in, r)) < 0)
		return rc;
	return eim_der_finish(&in);
}

static int decode_notification(const struct eim_der_cur *c,
			       const struct eim_der_tlv *t,
			       struct eim_esipa_notification *n)
{
	struct eim_der_cur in, pc;
	struct eim_der_tlv f, p;
	int rc;

	memset(n, 0, sizeof(*n));
	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_read(&in, &f)) < 0)
		return rc;
	switch (f.tag) {
	case 0xa0: /* pendingNotification [0], explicit around the CHOICE */
		n->kind = EIM_NOTIF_PENDING;
		if ((rc = eim_der_enter(&in, &f, &pc)) < 0 ||
		    (rc = eim_der_read(&pc, &p)) < 0)
			return rc;
		if (p.tag != 0xbf37 && p.tag != 0x30 && p.tag != 0xa0 &&
		    p.tag != 0xa1)
			return eim_der_fail(&pc, p.off, EIM_ETAG,
					    "unknown PendingNotification");
		if ((rc = want_constructed(&pc, &p)) < 0 ||
		    (rc = eim_der_finish(&pc)) < 0)
			return rc;
		n->pending = whole(&p);
		break;
	case 0xbf37:
	case 0x30:
		/* Lenient: a notification without the [0] wrapper. */
		n->kind = EIM_NOTIF_PENDING;
		if ((rc = want_constructed(&in, &f)) < 0)
			return rc;
		n->pending = whole(&f);
		break;
	case 0xbf50:
	case 0xa1: /* v1.0: auto-tagged [1] around the bare CHOICE */
		n->kind = EIM_NOTIF_PROVIDE_RESULT;
		if ((rc = decode_result(&in, &f, &n->result)) < 0)
			return rc;
		n->result.v10 = n->result.v10 || f.tag == 0xa1;
		break;
	default:
		return eim_der_fail(&in, f.off, EIM_ETAG,
				    "unknown HandleNotification alternative");
	}
	return eim_der_finish(&in);
}

static int decode_cid(struct eim_der_cur *in, struct eim_esipa_transfer_resp *r)
{
	struct eim_der_tlv g;
	uint32_t tag;
	int rc;

	if (eim_der_at_end(in) || eim_der_peek(in, &tag) < 0 ||
	    (tag != 0x80 && tag != 0x5a))
		return 0;
	if ((rc = eim_der_read(in, &g)) < 0)
		return rc;
	if (tag == 0x80) {
		r->cid_kind = EIM_CID_TXID;
		return get_txid(in, &g, &r->cid);
	}
	if (g.len != 16)
		return eim_der_fail(in, g.off, EIM_EMALFORMED,
				    "EID must be 16 bytes");
	r->cid_kind = EIM_CID_EID;
	r->cid = view(&g);
	return 0;
}

static int decode_transfer_resp(const struct eim_der_cur *c,
				const struct eim_der_tlv *t,
				struct eim_esipa_transfer_resp *r)
{
	struct eim_der_cur in, sc;
	struct eim_der_tlv f, g;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_read(&in, &f)) < 0)
		return rc;
	switch (f.tag) {
	case 0xbf51:
	case 0xbf52:
		r->kind = f.tag == 0xbf51 ? EIM_TRESP_EPR : EIM_TRESP_IPA_DATA;
		if ((rc = want_constructed(&in, &f)) < 0)
			return rc;
		r->body = whole(&f);
		break;
	case 0x30:
		r->kind = EIM_TRESP_EPR_AND_NOTIFS;
		if ((rc = eim_der_enter(&in, &f, &sc)) < 0 ||
		    (rc = eim_der_expect(&sc, 0xbf51, &g)) < 0 ||
		    (rc = want_constructed(&sc, &g)) < 0)
			return rc;
		r->body = whole(&g);
		if ((rc = eim_der_expect(&sc, 0xa0, &g)) < 0)
			return rc;
		r->notifs = whole(&g);
		if ((rc = eim_der_finish(&sc)) < 0)
			return rc;
		break;
	case 0x05:
		r->kind = EIM_TRESP_RECEIVED;
		if ((rc = eim_der_get_null(&in, &f)) < 0)
			return rc;
		break;
	case 0x02:
		r->kind = EIM_TRESP_ERROR;
		if ((rc = eim_der_get_int(&in, &f, INT32_MIN, INT32_MAX,
					  &r->err_code)) < 0)
			return rc;
		break;
	case 0xbf60: /* v1.3 eimPackageReceivedWithCid [96] */
	case 0xbf61: /* v1.3 eimPackageErrorWithCid [97] */
		r->kind = f.tag == 0xbf60 ? EIM_TRESP_RECEIVED_CID
					  : EIM_TRESP_ERROR_CID;
		if ((rc = eim_der_enter(&in, &f, &sc)) < 0 ||
		    (rc = decode_cid(&sc, r)) < 0)
			return rc;
		if (f.tag == 0xbf61 &&
		    ((rc = eim_der_expect(&sc, 0x02, &g)) < 0 ||
		     (rc = eim_der_get_int(&sc, &g, INT32_MIN, INT32_MAX,
					   &r->err_code)) < 0))
			return rc;
		if ((rc = eim_der_finish(&sc)) < 0)
			return rc;
		break;
	default:
		return eim_der_fail(
			&in, f.off, EIM_ETAG,
			"unknown TransferEimPackageResponse alternative");
	}
	return eim_der_finish(&in);
}

static int read_top(const uint8_t *buf, size_t n, struct eim_der_diag *diag,
		    struct eim_der_cur *c, struct eim_der_tlv *t)
{
	int rc;

	eim_der_cur_init(c, buf, n, diag);
	if ((rc = eim_der_read(c, t)) < 0 || (rc = eim_der_finish(c)) < 0)
		return rc;
	return want_constructed(c, t);
}

int eim_esipa_decode_from_ipa(const uint8_t *buf, size_t n,
			      struct eim_der_diag *diag,
			      struct eim_esipa_from_ipa *ret)
{
	struct eim_esipa_from_ipa m;
	struct eim_der_cur c;
	struct eim_der_tlv t;
	int rc;

	if (!buf || !ret)
		return EIM_EINVAL;
	memset(&m, 0, sizeof(m));
	if ((rc = read_top(buf, n, diag, &c, &t)) < 0)
		return rc;
	m.tag = t.tag;
	m.raw = whole(&t);
	switch (t.tag) {
	case EIM_ESIPA_GET_EIM_PACKAGE:
		rc = decode_get_req(&c, &t, &m.get);
		break;
	case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
		rc = decode_result(&c, &t, &m.result);
		break;
	case EIM_ESIPA_HANDLE_NOTIFICATION:
		rc = decode_notification(&c, &t, &m.notification);
		break;
	case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
		rc = decode_transfer_resp(&c, &t, &m.transfer);
		break;
	case EIM_ESIPA_INITIATE_AUTH:
	case EIM_ESIPA_AUTH_CLIENT:
	case EIM_ESIPA_GET_BPP:
	case EIM_ESIPA_CANCEL_SESSION:
		rc = 0; /* relayed as opaque bytes */
		break;
	default:
		rc = eim_der_fail(&c, t.off, EIM_ETAG,
				  "unknown ESipa message from the IPA");
	}
	if (rc < 0)
		return rc;
	*ret = m;
	return 0;
}

/* ----- IPA -> eIM: encode ----- */

static int encode_result_body(const struct eim_esipa_result *r,
			      struct eim_buf *out)
{
	size_t m;
	int rc;

	if (r->has_eid)
		eim_der_put(out, 0x5a, r->eid, 16);
	switch (r->kind) {
	case EIM_RESULT_EPR:
		return put_raw(out, r->body, 0xbf51);
	case EIM_RESULT_IPA_DATA:
		return put_raw(out, r->body, 0xbf52);
	case EIM_RESULT_PDT:
		return put_raw(out, r->body, 0xbf54);
	case EIM_RESULT_EPR_AND_NOTIFS:
		m = eim_der_open(out, 0x30);
		if ((rc = put_raw(out, r->body, 0xbf51)) < 0 ||
		    (rc = put_raw(out, r->notifs, 0xa0)) < 0)
			return rc;
		eim_der_close(out, m);
		return 0;
	case EIM_RESULT_ERROR:
		if (r->err_txid.p &&
		    (r->err_txid.len < 1 || r->err_txid.len > 16))
			return EIM_EINVAL;
		m = eim_der_open(out, 0xa0);
		if (r->err_txid.p)
			eim_der_put(out, 0x80, r->err_txid.p, r->err_txid.len);
		eim_der_put_int(out, 0x02, r->err_code);
		eim_der_close(out, m);
		return 0;
	}
	return EIM_EINVAL;
}

static int encode_transfer_resp(const struct eim_esipa_transfer_resp *r,
				struct eim_buf *out)
{
	size_t m;
	int rc;

	switch (r->kind) {
	case EIM_TRESP_EPR:
		return put_raw(out, r->body, 0xbf51);
	case EIM_TRESP_IPA_DATA:
		return put_raw(out, r->body, 0xbf52);
	case EIM_TRESP_EPR_AND_NOTIFS:
		m = eim_der_open(out, 0x30);
		if ((rc = put_raw(out, r->body, 0xbf51)) < 0 ||
		    (rc = put_raw(out, r->notifs, 0xa0)) < 0)
			return rc;
		eim_der_close(out, m);
		return 0;
	case EIM_TRESP_RECEIVED:
		eim_der_put_empty(out, 0x05);
		return 0;
	case EIM_TRESP_ERROR:
		eim_der_put_int(out, 0x02, r->err_code);
		return 0;
	case EIM_TRESP_RECEIVED_CID:
	case EIM_TRESP_ERROR_CID:
		m = eim_der_open(out, r->kind == EIM_TRESP_RECEIVED_CID
					      ? 0xbf60
					      : 0xbf61);
		if (r->cid_kind == EIM_CID_TXID)
			eim_der_put(out, 0x80, r->cid.p, r->cid.len);
		else if (r->cid_kind == EIM_CID_EID)
			eim_der_put(out, 0x5a, r->cid.p, r->cid.len);
		if (r->kind == EIM_TRESP_ERROR_CID)
			eim_der_put_int(out, 0x02, r->err_code);
		eim_der_close(out, m);
		return 0;
	}
	return EIM_EINVAL;
}

int eim_esipa_encode_from_ipa(const struct eim_esipa_from_ipa *m,
			      struct eim_buf *out)
{
	size_t start, top, w;
	int rc = 0;

	if (!m || !out)
		return EIM_EINVAL;
	if (out->err)
		return out->err;
	start = out->len;
	switch (m->tag) {
	case EIM_ESIPA_INITIATE_AUTH:
	case EIM_ESIPA_AUTH_CLIENT:
	case EIM_ESIPA_GET_BPP:
	case EIM_ESIPA_CANCEL_SESSION:
		if ((rc = put_raw(out, m->raw, m->tag)) < 0)
			return rc;
		return out->err;
	case EIM_ESIPA_GET_EIM_PACKAGE:
	case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
	case EIM_ESIPA_HANDLE_NOTIFICATION:
	case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
		break;
	default:
		return EIM_EINVAL;
	}
	top = eim_der_open(out, m->tag);
	switch (m->tag) {
	case EIM_ESIPA_GET_EIM_PACKAGE:
		eim_der_put(out, 0x5a, m->get.eid, 16);
		if (m->get.notify_state_change)
			eim_der_put_empty(out, 0x80);
		if (m->get.has_cause)
			eim_der_put_int(out, 0x81, m->get.cause);
		if (m->get.has_rplmn)
			eim_der_put(out, 0x82, m->get.rplmn, 3);
		break;
	case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
		rc = encode_result_body(&m->result, out);
		break;
	case EIM_ESIPA_HANDLE_NOTIFICATION:
		if (m->notification.kind == EIM_NOTIF_PENDING) {
			w = eim_der_open(out, 0xa0);
			eim_buf_append(out, m->notification.pending.p,
				       m->notification.pending.len);
			if (!m->notification.pending.p)
				rc = EIM_EINVAL;
			eim_der_close(out, w);
		} else if (m->notification.kind == EIM_NOTIF_PROVIDE_RESULT) {
			w = eim_der_open(out, 0xbf50);
			rc = encode_result_body(&m->notification.result, out);
			eim_der_close(out, w);
		} else {
			rc = EIM_EINVAL;
		}
		break;
	case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
		rc = encode_transfer_resp(&m->transfer, out);
		break;
	}
	if (rc < 0) {
		if (!out->err)
			out->len = start;
		return rc;
	}
	eim_der_close(out, top);
	return out->err;
}

/* ----- eIM -> IPA: decode ----- */

static int decode_package(const struct eim_der_cur *c,
			  const struct eim_der_tlv *t, bool transfer,
			  struct eim_esipa_package *p)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_read(&in, &f)) < 0)
		return rc;
	switch (f.tag) {
	case 0xbf51:
		p->kind = EIM_EPKG_EUICC_PACKAGE;
		if ((rc = want_constructed(&in, &f)) < 0)
			return rc;
		p->euicc_package = whole(&f);
		break;
	case 0xbf52:
		p->kind = EIM_EPKG_IPA_DATA;
		rc = eim_ipadata_req_decode(&in, &f, &p->ipa_data);
		break;
	case 0xbf54:
		p->kind = EIM_EPKG_PDT;
		rc = eim_pdt_req_decode(&in, &f, &p->pdt);
		break;
	case 0xbf53:
		if (!transfer)
			goto bad;
		p->kind = EIM_EPKG_ACKS;
		rc = eim_acks_decode(&in, &f, &p->acks);
		break;
	case 0x02:
		if (transfer)
			goto bad;
		p->kind = EIM_EPKG_ERROR;
		rc = eim_der_get_int(&in, &f, INT32_MIN, INT32_MAX,
				     &p->err_code);
		break;
	default:
		goto bad;
	}
	if (rc < 0)
		return rc;
	return eim_der_finish(&in);
bad:
	return eim_der_fail(
		&in, f.off, EIM_ETAG,
		transfer ? "unknown TransferEimPackageRequest alternative"
			 : "unknown GetEimPackageResponse alternative");
}

static int decode_provide_resp(const struct eim_der_cur *c,
			       const struct eim_der_tlv *t,
			       struct eim_esipa_provide_resp *r)
{
	struct eim_der_cur in, ec;
	struct eim_der_tlv f;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	if (eim_der_at_end(&in)) {
		r->kind = EIM_PRESP_EMPTY; /* v1.0 SEQUENCE without acks */
		return 0;
	}
	if ((rc = eim_der_read(&in, &f)) < 0)
		return rc;
	switch (f.tag) {
	case 0xbf53:
		r->kind = EIM_PRESP_ACKS;
		rc = eim_acks_decode(&in, &f, &r->acks);
		break;
	case 0x30:
		r->kind = EIM_PRESP_EMPTY;
		if ((rc = eim_der_enter(&in, &f, &ec)) == 0)
			rc = eim_der_finish(&ec);
		break;
	case 0x02:
		r->kind = EIM_PRESP_ERROR;
		rc = eim_der_get_int(&in, &f, INT32_MIN, INT32_MAX,
				     &r->err_code);
		break;
	default:
		return eim_der_fail(
			&in, f.off, EIM_ETAG,
			"unknown ProvideEimPackageResultResponse alternative");
	}
	if (rc < 0)
		return rc;
	return eim_der_finish(&in);
}

int eim_esipa_decode_from_eim(const uint8_t *buf, size_t n,
			      struct eim_der_diag *diag,
			      struct eim_esipa_from_eim *ret)
{
	struct eim_esipa_from_eim m;
	struct eim_der_cur c;
	struct eim_der_tlv t;
	int rc;

	if (!buf || !ret)
		return EIM_EINVAL;
	memset(&m, 0, sizeof(m));
	if ((rc = read_top(buf, n, diag, &c, &t)) < 0)
		return rc;
	m.tag = t.tag;
	m.raw = whole(&t);
	switch (t.tag) {
	case EIM_ESIPA_GET_EIM_PACKAGE:
		rc = decode_package(&c, &t, false, &m.package);
		break;
	case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
		rc = decode_package(&c, &t, true, &m.package);
		break;
	case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
		rc = decode_provide_resp(&c, &t, &m.provide);
		break;
	case EIM_ESIPA_INITIATE_AUTH:
	case EIM_ESIPA_AUTH_CLIENT:
	case EIM_ESIPA_GET_BPP:
	case EIM_ESIPA_CANCEL_SESSION:
		rc = 0;
		break;
	default:
		rc = eim_der_fail(&c, t.off, EIM_ETAG,
				  "unknown ESipa message from the eIM");
	}
	if (rc < 0)
		return rc;
	*ret = m;
	return 0;
}

/* ----- eIM -> IPA: encode ----- */

static int encode_package(const struct eim_esipa_package *p, bool transfer,
			  struct eim_buf *out)
{
	switch (p->kind) {
	case EIM_EPKG_EUICC_PACKAGE:
		return put_raw(out, p->euicc_package, 0xbf51);
	case EIM_EPKG_IPA_DATA:
		return eim_ipadata_req_encode(&p->ipa_data, out);
	case EIM_EPKG_PDT:
		return eim_pdt_req_encode(&p->pdt, out);
	case EIM_EPKG_ACKS:
		if (!transfer)
			return EIM_EINVAL;
		return eim_acks_encode(&p->acks, out);
	case EIM_EPKG_ERROR:
		if (transfer)
			return EIM_EINVAL;
		eim_der_put_int(out, 0x02, p->err_code);
		return 0;
	}
	return EIM_EINVAL;
}

int eim_esipa_encode_from_eim(const struct eim_esipa_from_eim *m,
			      struct eim_buf *out)
{
	size_t start, top;
	int rc;

	if (!m || !out)
		return EIM_EINVAL;
	if (out->err)
		return out->err;
	start = out->len;
	switch (m->tag) {
	case EIM_ESIPA_INITIATE_AUTH:
	case EIM_ESIPA_AUTH_CLIENT:
	case EIM_ESIPA_GET_BPP:
	case EIM_ESIPA_CANCEL_SESSION:
		if ((rc = put_raw(out, m->raw, m->tag)) < 0)
			return rc;
		return out->err;
	case EIM_ESIPA_GET_EIM_PACKAGE:
	case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
		top = eim_der_open(out, m->tag);
		rc = encode_package(&m->package,
				    m->tag == EIM_ESIPA_TRANSFER_EIM_PACKAGE,
				    out);
		break;
	case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
		top = eim_der_open(out, m->tag);
		switch (m->provide.kind) {
		case EIM_PRESP_ACKS:
			rc = eim_acks_encode(&m->provide.acks, out);
			break;
		case EIM_PRESP_EMPTY:
			eim_der_put_empty(out, 0x30);
			rc = 0;
			break;
		case EIM_PRESP_ERROR:
			eim_der_put_int(out, 0x02, m->provide.err_code);
			rc = 0;
			break;
		default:
			rc = EIM_EINVAL;
		}
		break;
	default:
		return EIM_EINVAL;
	}
	if (rc < 0) {
		if (!out->err)
			out->len = start;
		return rc;
	}
	eim_der_close(out, top);
	return out->err;
}

int eim_esipa_get_pkg_response_package(const uint8_t *pkg, size_t n,
				       struct eim_buf *out)
{
	struct eim_esipa_from_eim m;

	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	m.package.kind = EIM_EPKG_EUICC_PACKAGE;
	m.package.euicc_package.p = pkg;
	m.package.euicc_package.len = n;
	return eim_esipa_encode_from_eim(&m, out);
}

int eim_esipa_get_pkg_response_error(int64_t code, struct eim_buf *out)
{
	struct eim_esipa_from_eim m;

	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	m.package.kind = EIM_EPKG_ERROR;
	m.package.err_code = code;
	return eim_esipa_encode_from_eim(&m, out);
}

int eim_esipa_provide_response_acks(const int64_t *seq, size_t n,
				    struct eim_buf *out)
{
	struct eim_esipa_from_eim m;

	if ((!seq && n) || n > EIM_ACKS_MAX)
		return EIM_EINVAL;
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
	m.provide.kind = n ? EIM_PRESP_ACKS : EIM_PRESP_EMPTY;
	m.provide.acks.n = n;
	if (n)
		memcpy(m.provide.acks.seq, seq, n * sizeof(*seq));
	return eim_esipa_encode_from_eim(&m, out);
}

int eim_esipa_provide_response_error(int64_t code, struct eim_buf *out)
{
	struct eim_esipa_from_eim m;

	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
	m.provide.kind = EIM_PRESP_ERROR;
	m.provide.err_code = code;
	return eim_esipa_encode_from_eim(&m, out);
}
