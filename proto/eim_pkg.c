/*
 * eim_pkg.c - EuiccPackageRequest encode, sign, decode and verify.
 *
 * SGP.32 v1.2 section 2.11.1.1 (EuiccPackageRequest, Psmo, Eco,
 * EimConfigurationData) and SGP.22 section 5.7.15 (ProfileInfoListRequest,
 * used by the listProfileInfo PSMO). Tags are those of the AUTOMATIC TAGS
 * module: a context tag on a SEQUENCE is implicit, on a CHOICE explicit.
 */
#include "proto/eim_pkg.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <string.h>

#define SLICE_SET(s) ((s).p != NULL)

static const char *const psmo_names[] = {
	[EIM_PSMO_ENABLE] = "enable",
	[EIM_PSMO_DISABLE] = "disable",
	[EIM_PSMO_DELETE] = "delete",
	[EIM_PSMO_LIST_PROFILE_INFO] = "listProfileInfo",
	[EIM_PSMO_GET_RAT] = "getRAT",
	[EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE] = "configureImmediateEnable",
	[EIM_PSMO_SET_FALLBACK] = "setFallbackAttribute",
	[EIM_PSMO_UNSET_FALLBACK] = "unsetFallbackAttribute",
	[EIM_PSMO_SET_DEFAULT_DP] = "setDefaultDpAddress",
};

static const uint32_t psmo_tags[] = {
	[EIM_PSMO_ENABLE] = 0xa3,
	[EIM_PSMO_DISABLE] = 0xa4,
	[EIM_PSMO_DELETE] = 0xa5,
	[EIM_PSMO_LIST_PROFILE_INFO] = 0xbf2d,
	[EIM_PSMO_GET_RAT] = 0xa6,
	[EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE] = 0xa7,
	[EIM_PSMO_SET_FALLBACK] = 0xa8,
	[EIM_PSMO_UNSET_FALLBACK] = 0xa9,
	[EIM_PSMO_SET_DEFAULT_DP] = 0xbf65,
};

static const char *const eco_names[] = {
	[EIM_ECO_ADD_EIM] = "addEim",
	[EIM_ECO_DELETE_EIM] = "deleteEim",
	[EIM_ECO_UPDATE_EIM] = "updateEim",
	[EIM_ECO_LIST_EIM] = "listEim",
};

const char *eim_psmo_name(enum eim_psmo_kind k)
{
	if ((unsigned)k >= sizeof(psmo_names) / sizeof(psmo_names[0]) ||
	    !psmo_names[k])
		return "unknown";
	return psmo_names[k];
}

const char *eim_eco_name(enum eim_eco_kind k)
{
	if ((unsigned)k >= sizeof(eco_names) / sizeof(eco_names[0]) ||
	    !eco_names[k])
		return "unknown";
	return eco_names[k];
}

/* ----- encoding ----- */

static bool eim_id_ok(struct eim_slice s)
{
	return s.p && s.len >= 1 && s.len <= 128;
}

static int put_keydata(struct eim_buf *out, uint32_t tag,
		       enum eim_keydata_kind kind, struct eim_slice s)
{
	size_t m;
	int rc;

	if (kind == EIM_KEYDATA_NONE)
		return 0;
	if (kind != EIM_KEYDATA_SPKI && kind != EIM_KEYDATA_CERT)
		return EIM_EINVAL;
	if (!s.p)
		return EIM_EINVAL;
	m = eim_der_open(out, tag);
	/* The SEQUENCE tag of the SPKI/Certificate becomes [0]/[1]. */
	rc = eim_der_put_retagged(out, kind == EIM_KEYDATA_SPKI ? 0xa0 : 0xa1,
				  s.p, s.len);
	if (rc < 0)
		return EIM_EINVAL;
	eim_der_close(out, m);
	return 0;
}

int eim_pkg_encode_config(const struct eim_eim_config *cfg, uint32_t tag,
			  struct eim_buf *out)
{
	size_t m;
	int rc;

	if (!cfg || !out || !eim_id_ok(cfg->eim_id))
		return EIM_EINVAL;
	if (cfg->id_type < 0 || cfg->id_type > 127)
		return EIM_EINVAL;
	if (cfg->has_counter &&
	    (cfg->counter < 0 || cfg->counter > EIM_PKG_COUNTER_MAX))
		return EIM_ERANGE;
	m = eim_der_open(out, tag);
	eim_der_put(out, 0x80, cfg->eim_id.p, cfg->eim_id.len);
	if (SLICE_SET(cfg->fqdn))
		eim_der_put(out, 0x81, cfg->fqdn.p, cfg->fqdn.len);
	if (cfg->id_type)
		eim_der_put_int(out, 0x82, cfg->id_type);
	if (cfg->has_counter)
		eim_der_put_int(out, 0x83, cfg->counter);
	if (cfg->has_token)
		eim_der_put_int(out, 0x84, cfg->token);
	if ((rc = put_keydata(out, 0xa5, cfg->pk_kind, cfg->pk)) < 0)
		return rc;
	if ((rc = put_keydata(out, 0xa6, cfg->tls_kind, cfg->tls)) < 0)
		return rc;
	if (SLICE_SET(cfg->protocols)) {
		if (cfg->protocols.len < 1 || cfg->protocols.p[0] > 7)
			return EIM_EINVAL;
		eim_der_put(out, 0x87, cfg->protocols.p, cfg->protocols.len);
	}
	if (SLICE_SET(cfg->ci_pkid))
		eim_der_put(out, 0x88, cfg->ci_pkid.p, cfg->ci_pkid.len);
	if (cfg->indirect_download)
		eim_der_put_empty(out, 0x89);
	if (SLICE_SET(cfg->proprietary))
		eim_der_put(out, 0xaa, cfg->proprietary.p,
			    cfg->proprietary.len);
	eim_der_close(out, m);
	return out->err;
}

static int encode_psmo(const struct eim_psmo *op, struct eim_buf *out)
{
	size_t m, s;

	if ((unsigned)op->kind >= sizeof(psmo_tags) / sizeof(psmo_tags[0]) ||
	    !psmo_tags[op->kind])
		return EIM_EINVAL;
	m = eim_der_open(out, psmo_tags[op->kind]);
	switch (op->kind) {
	case EIM_PSMO_ENABLE:
		eim_der_put(out, 0x5a, op->iccid, EIM_ICCID_LEN);
		if (op->rollback)
			eim_der_put_empty(out, 0x05);
		break;
	case EIM_PSMO_DISABLE:
	case EIM_PSMO_DELETE:
	case EIM_PSMO_SET_FALLBACK:
		eim_der_put(out, 0x5a, op->iccid, EIM_ICCID_LEN);
		break;
	case EIM_PSMO_LIST_PROFILE_INFO:
		if (op->search != EIM_SEARCH_NONE) {
			s = eim_der_open(out, 0xa0);
			if (op->search == EIM_SEARCH_ISDP_AID) {
				if (!op->search_aid.p ||
				    op->search_aid.len < 5 ||
				    op->search_aid.len > 16)
					return EIM_EINVAL;
				eim_der_put(out, 0x4f, op->search_aid.p,
					    op->search_aid.len);
			} else if (op->search == EIM_SEARCH_ICCID) {
				eim_der_put(out, 0x5a, op->search_iccid,
					    EIM_ICCID_LEN);
			} else if (op->search == EIM_SEARCH_PROFILE_CLASS) {
				if (op->search_class < 0 ||
				    op->search_class > 2)
					return EIM_EINVAL;
				eim_der_put_int(out, 0x95, op->search_class);
			} else {
				return EIM_EINVAL;
			}
			eim_der_close(out, s);
		}
		if (SLICE_SET(op->tag_list))
			eim_der_put(out, 0x5c, op->tag_list.p,
				    op->tag_list.len);
		break;
	case EIM_PSMO_GET_RAT:
	case EIM_PSMO_UNSET_FALLBACK:
		break;
	case EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE:
		if (op->immediate_enable)
			eim_der_put_empty(out, 0x80);
		if (SLICE_SET(op->smdp_oid)) {
			if (op->smdp_oid.len == 0)
				return EIM_EINVAL;
			eim_der_put(out, 0x81, op->smdp_oid.p,
				    op->smdp_oid.len);
		}
		if (SLICE_SET(op->smdp_address))
			eim_der_put(out, 0x82, op->smdp_address.p,
				    op->smdp_address.len);
		break;
	case EIM_PSMO_SET_DEFAULT_DP:
		if (!op->dp_address.p)
			return EIM_EINVAL;
		eim_der_put(out, 0x80, op->dp_address.p, op->dp_address.len);
		break;
	}
	eim_der_close(out, m);
	return 0;
}

static int encode_eco(const struct eim_eco *op, struct eim_buf *out)
{
	size_t m;

	switch (op->kind) {
	case EIM_ECO_ADD_EIM:
		return eim_pkg_encode_config(&op->cfg, 0xa8, out);
	case EIM_ECO_UPDATE_EIM:
		return eim_pkg_encode_config(&op->cfg, 0xaa, out);
	case EIM_ECO_DELETE_EIM:
		if (!eim_id_ok(op->eim_id))
			return EIM_EINVAL;
		m = eim_der_open(out, 0xa9);
		eim_der_put(out, 0x80, op->eim_id.p, op->eim_id.len);
		eim_der_close(out, m);
		return 0;
	case EIM_ECO_LIST_EIM:
		eim_der_put_empty(out, 0xab);
		return 0;
	}
	return EIM_EINVAL;
}

int eim_pkg_encode_signed(const struct eim_pkg *pkg, struct eim_buf *out)
{
	size_t top, list;
	int rc = 0;

	if (!pkg || !out || !eim_id_ok(pkg->eim_id) || pkg->n_ops == 0)
		return EIM_EINVAL;
	if (pkg->is_eco ? !pkg->eco : !pkg->psmo)
		return EIM_EINVAL;
	if (pkg->txid.p && (pkg->txid.len < 1 || pkg->txid.len > 16))
		return EIM_EINVAL;
	if (pkg->counter < 1 || pkg->counter > EIM_PKG_COUNTER_MAX)
		return EIM_ERANGE;
	top = eim_der_open(out, 0x30);
	eim_der_put(out, 0x80, pkg->eim_id.p, pkg->eim_id.len);
	eim_der_put(out, 0x5a, pkg->eid, EIM_EID_LEN);
	eim_der_put_int(out, 0x81, pkg->counter);
	if (pkg->txid.p)
		eim_der_put(out, 0x82, pkg->txid.p, pkg->txid.len);
	list = eim_der_open(out, pkg->is_eco ? 0xa1 : 0xa0);
	for (size_t i = 0; i < pkg->n_ops && rc == 0; i++)
		rc = pkg->is_eco ? encode_eco(&pkg->eco[i], out)
				 : encode_psmo(&pkg->psmo[i], out);
	if (rc < 0)
		return rc;
	eim_der_close(out, list);
	eim_der_close(out, top);
	return out->err;
}

void eim_pkg_token_do(int64_t token, struct eim_buf *out)
{
	eim_der_put_int(out, 0x84, token);
}

int eim_pkg_build(const struct eim_pkg *pkg, int64_t token,
		  struct eim_sig_key *key, struct eim_buf *out)
{
	uint8_t tok[12], rs[EIM_SIG_RAW_LEN];
	struct eim_buf tb = {.p = tok, .cap = sizeof(tok), .max = sizeof(tok)};
	struct eim_slice parts[2];
	size_t start, top, sig_start;
	int rc;

	if (!pkg || !key || !out)
		return EIM_EINVAL;
	if (out->err)
		return out->err;
	start = out->len;
	top = eim_der_open(out, 0xbf51);
	sig_start = out->len;
	if ((rc = eim_pkg_encode_signed(pkg, out)) < 0)
		goto fail;
	/* The token DO is at most 10 bytes; a fixed buffer avoids a heap
	 * allocation per package on the bulk-signing path. */
	eim_pkg_token_do(token, &tb);
	parts[0].p = out->p + sig_start;
	parts[0].len = out->len - sig_start;
	parts[1].p = tok;
	parts[1].len = tb.len;
	if ((rc = eim_sig_sign(key, parts, 2, rs)) < 0)
		goto fail;
	eim_der_put(out, 0x5f37, rs, sizeof(rs));
	eim_der_close(out, top);
	if ((rc = out->err) < 0)
		goto fail;
	return 0;
fail:
	/* Leave the caller's buffer as it was (unless it ran out of memory). */
	if (!out->err)
		out->len = start;
	return rc;
}

/* ----- decoding ----- */

static int get_fixed(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		     uint8_t *dst, size_t n, const char *what)
{
	if (t->len != n || t->constructed)
		return eim_der_fail(c, t->off, EIM_EMALFORMED, what);
	memcpy(dst, t->val, n);
	return 0;
}

static struct eim_slice view(const struct eim_der_tlv *t)
{
	struct eim_slice s = {t->val, t->len};

	/* A present but empty field still has a non-NULL pointer. */
	return s;
}

static int get_eim_id(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		      struct eim_slice *ret)
{
	if (t->len < 1 || t->len > 128 || t->constructed)
		return eim_der_fail(c, t->off, EIM_EMALFORMED,
				    "eimId must be 1..128 bytes");
	*ret = view(t);
	return 0;
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

static int decode_keydata(const struct eim_der_cur *c,
			  const struct eim_der_tlv *t,
			  enum eim_keydata_kind *kind, struct eim_slice *ret)
{
	struct eim_der_cur in;
	struct eim_der_tlv k;
	int rc;

	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_read(&in, &k)) < 0)
		return rc;
	if (k.tag != 0xa0 && k.tag != 0xa1)
		return eim_der_fail(
			c, k.off, EIM_ETAG,
			"key data must be [0] key or [1] certificate");
	if ((rc = eim_der_finish(&in)) < 0)
		return rc;
	*kind = k.tag == 0xa0 ? EIM_KEYDATA_SPKI : EIM_KEYDATA_CERT;
	ret->p = k.raw;
	ret->len = k.raw_len;
	return 0;
}

int eim_pkg_decode_config(const struct eim_der_cur *c,
			  const struct eim_der_tlv *t,
			  struct eim_eim_config *ret)
{
	struct eim_eim_config cfg;
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	if (!c || !t || !ret)
		return EIM_EINVAL;
	memset(&cfg, 0, sizeof(cfg));
	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	if ((rc = eim_der_expect(&in, 0x80, &f)) < 0 ||
	    (rc = get_eim_id(&in, &f, &cfg.eim_id)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0x81, &f)) < 0)
		return rc;
	if (rc)
		cfg.fqdn = view(&f);
	if ((rc = eim_der_optional(&in, 0x82, &f)) < 0)
		return rc;
	if (rc && (rc = eim_der_get_int(&in, &f, 0, 127, &cfg.id_type)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0x83, &f)) < 0)
		return rc;
	if (rc) {
		cfg.has_counter = true;
		if ((rc = eim_der_get_int(&in, &f, 0, UINT32_MAX,
					  &cfg.counter)) < 0)
			return rc;
	}
	if ((rc = eim_der_optional(&in, 0x84, &f)) < 0)
		return rc;
	if (rc) {
		cfg.has_token = true;
		if ((rc = eim_der_get_int(&in, &f, INT64_MIN, INT64_MAX,
					  &cfg.token)) < 0)
			return rc;
	}
	if ((rc = eim_der_optional(&in, 0xa5, &f)) < 0)
		return rc;
	if (rc && (rc = decode_keydata(&in, &f, &cfg.pk_kind, &cfg.pk)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0xa6, &f)) < 0)
		return rc;
	if (rc && (rc = decode_keydata(&in, &f, &cfg.tls_kind, &cfg.tls)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0x87, &f)) < 0)
		return rc;
	if (rc) {
		if (f.len < 1 || f.val[0] > 7)
			return eim_der_fail(&in, f.off, EIM_EMALFORMED,
					    "bad BIT STRING");
		cfg.protocols = view(&f);
	}
	if ((rc = eim_der_optional(&in, 0x88, &f)) < 0)
		return rc;
	if (rc)
		cfg.ci_pkid = view(&f);
	if ((rc = eim_der_optional(&in, 0x89, &f)) < 0)
		return rc;
	if (rc) {
		if ((rc = eim_der_get_null(&in, &f)) < 0)
			return rc;
		cfg.indirect_download = true;
	}
	if ((rc = eim_der_optional(&in, 0xaa, &f)) < 0)
		return rc;
	if (rc)
		cfg.proprietary = view(&f);
	if ((rc = eim_der_finish(&in)) < 0)
		return rc;
	*ret = cfg;
	return 0;
}

static int decode_iccid_seq(const struct eim_der_cur *c,
			    const struct eim_der_tlv *t, uint8_t *iccid,
			    bool *rollback)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_expect(&in, 0x5a, &f)) < 0 ||
	    (rc = get_fixed(&in, &f, iccid, EIM_ICCID_LEN,
			    "ICCID must be 10 bytes")) < 0)
		return rc;
	if (rollback) {
		if ((rc = eim_der_optional(&in, 0x05, &f)) < 0)
			return rc;
		if (rc) {
			if ((rc = eim_der_get_null(&in, &f)) < 0)
				return rc;
			*rollback = true;
		}
	}
	return eim_der_finish(&in);
}

static int decode_empty_seq(const struct eim_der_cur *c,
			    const struct eim_der_tlv *t)
{
	struct eim_der_cur in;
	int rc;

	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	return eim_der_finish(&in);
}

static int decode_list_info(const struct eim_der_cur *c,
			    const struct eim_der_tlv *t, struct eim_psmo *op)
{
	struct eim_der_cur in, sc;
	struct eim_der_tlv f, s;
	int rc;

	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0xa0, &f)) < 0)
		return rc;
	if (rc) {
		if ((rc = eim_der_enter(&in, &f, &sc)) < 0 ||
		    (rc = eim_der_read(&sc, &s)) < 0)
			return rc;
		if (s.tag == 0x4f) {
			if (s.len < 5 || s.len > 16)
				return eim_der_fail(&sc, s.off, EIM_EMALFORMED,
						    "AID must be 5..16 bytes");
			op->search = EIM_SEARCH_ISDP_AID;
			op->search_aid = view(&s);
		} else if (s.tag == 0x5a) {
			op->search = EIM_SEARCH_ICCID;
			if ((rc = get_fixed(&sc, &s, op->search_iccid,
					    EIM_ICCID_LEN,
					    "ICCID must be 10 bytes")) < 0)
				return rc;
		} else if (s.tag == 0x95) {
			op->search = EIM_SEARCH_PROFILE_CLASS;
			if ((rc = eim_der_get_int(&sc, &s, 0, 2,
						  &op->search_class)) < 0)
				return rc;
		} else {
			return eim_der_fail(&sc, s.off, EIM_ETAG,
					    "unknown searchCriteria");
		}
		if ((rc = eim_der_finish(&sc)) < 0)
			return rc;
	}
	if ((rc = eim_der_optional(&in, 0x5c, &f)) < 0)
		return rc;
	if (rc)
		op->tag_list = view(&f);
	return eim_der_finish(&in);
}

static int decode_psmo(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		       struct eim_psmo *op)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	memset(op, 0, sizeof(*op));
	switch (t->tag) {
	case 0xa3:
		op->kind = EIM_PSMO_ENABLE;
		return decode_iccid_seq(c, t, op->iccid, &op->rollback);
	case 0xa4:
		op->kind = EIM_PSMO_DISABLE;
		return decode_iccid_seq(c, t, op->iccid, NULL);
	case 0xa5:
		op->kind = EIM_PSMO_DELETE;
		return decode_iccid_seq(c, t, op->iccid, NULL);
	case 0xa8:
		op->kind = EIM_PSMO_SET_FALLBACK;
		return decode_iccid_seq(c, t, op->iccid, NULL);
	case 0xbf2d:
		op->kind = EIM_PSMO_LIST_PROFILE_INFO;
		return decode_list_info(c, t, op);
	case 0xa6:
		op->kind = EIM_PSMO_GET_RAT;
		return decode_empty_seq(c, t);
	case 0xa9:
		op->kind = EIM_PSMO_UNSET_FALLBACK;
		return decode_empty_seq(c, t);
	case 0xa7:
		op->kind = EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE;
		if ((rc = eim_der_enter(c, t, &in)) < 0)
			return rc;
		if ((rc = eim_der_optional(&in, 0x80, &f)) < 0)
			return rc;
		if (rc) {
			if ((rc = eim_der_get_null(&in, &f)) < 0)
				return rc;
			op->immediate_enable = true;
		}
		if ((rc = eim_der_optional(&in, 0x81, &f)) < 0)
			return rc;
		if (rc) {
			if (f.len == 0)
				return eim_der_fail(&in, f.off, EIM_EMALFORMED,
						    "empty OBJECT IDENTIFIER");
			op->smdp_oid = view(&f);
		}
		if ((rc = eim_der_optional(&in, 0x82, &f)) < 0)
			return rc;
		if (rc)
			op->smdp_address = view(&f);
		return eim_der_finish(&in);
	case 0xbf65:
		op->kind = EIM_PSMO_SET_DEFAULT_DP;
		if ((rc = eim_der_enter(c, t, &in)) < 0 ||
		    (rc = eim_der_expect(&in, 0x80, &f)) < 0)
			return rc;
		op->dp_address = view(&f);
		return eim_der_finish(&in);
	}
	return eim_der_fail(c, t->off, EIM_ETAG, "unknown PSMO");
}

static int decode_eco(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		      struct eim_eco *op)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	memset(op, 0, sizeof(*op));
	switch (t->tag) {
	case 0xa8:
		op->kind = EIM_ECO_ADD_EIM;
		return eim_pkg_decode_config(c, t, &op->cfg);
	case 0xaa:
		op->kind = EIM_ECO_UPDATE_EIM;
		return eim_pkg_decode_config(c, t, &op->cfg);
	case 0xa9:
		op->kind = EIM_ECO_DELETE_EIM;
		if ((rc = eim_der_enter(c, t, &in)) < 0 ||
		    (rc = eim_der_expect(&in, 0x80, &f)) < 0 ||
		    (rc = get_eim_id(&in, &f, &op->eim_id)) < 0)
			return rc;
		return eim_der_finish(&in);
	case 0xab:
		op->kind = EIM_ECO_LIST_EIM;
		return decode_empty_seq(c, t);
	}
	return eim_der_fail(c, t->off, EIM_ETAG, "unknown eCO");
}

static int decode_ops(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		      struct eim_pkg_view *v)
{
	struct eim_der_cur in;
	struct eim_der_tlv op;
	size_t n = 0;
	int rc;

	v->pkg.is_eco = t->tag == 0xa1;
	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	/* Count first so that one allocation of the right size suffices. */
	{
		struct eim_der_cur cnt = in;

		while (!eim_der_at_end(&cnt)) {
			if ((rc = eim_der_read(&cnt, &op)) < 0)
				return rc;
			if (++n > EIM_PKG_MAX_OPS)
				return eim_der_fail(c, op.off, EIM_ETOOBIG,
						    "too many operations");
		}
	}
	if (n == 0)
		return eim_der_fail(c, t->off, EIM_EMALFORMED,
				    "empty operation list");
	if (v->pkg.is_eco) {
		v->eco_store = eim_calloc(n, sizeof(*v->eco_store));
		if (!v->eco_store)
			return EIM_ENOMEM;
	} else {
		v->psmo_store = eim_calloc(n, sizeof(*v->psmo_store));
		if (!v->psmo_store)
			return EIM_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = eim_der_read(&in, &op)) < 0)
			return rc;
		rc = v->pkg.is_eco ? decode_eco(&in, &op, &v->eco_store[i])
				   : decode_psmo(&in, &op, &v->psmo_store[i]);
		if (rc < 0)
			return rc;
	}
	v->pkg.psmo = v->psmo_store;
	v->pkg.eco = v->eco_store;
	v->pkg.n_ops = n;
	return 0;
}

static int decode_signed(const struct eim_der_cur *c,
			 const struct eim_der_tlv *t, struct eim_pkg_view *v)
{
	struct eim_der_cur in;
	struct eim_der_tlv f;
	int rc;

	if ((rc = eim_der_enter(c, t, &in)) < 0)
		return rc;
	if ((rc = eim_der_expect(&in, 0x80, &f)) < 0 ||
	    (rc = get_eim_id(&in, &f, &v->pkg.eim_id)) < 0)
		return rc;
	if ((rc = eim_der_expect(&in, 0x5a, &f)) < 0 ||
	    (rc = get_fixed(&in, &f, v->pkg.eid, EIM_EID_LEN,
			    "EID must be 16 bytes")) < 0)
		return rc;
	if ((rc = eim_der_expect(&in, 0x81, &f)) < 0 ||
	    (rc = eim_der_get_int(&in, &f, 0, UINT32_MAX, &v->pkg.counter)) < 0)
		return rc;
	if ((rc = eim_der_optional(&in, 0x82, &f)) < 0)
		return rc;
	if (rc && (rc = get_txid(&in, &f, &v->pkg.txid)) < 0)
		return rc;
	if ((rc = eim_der_read(&in, &f)) < 0)
		return rc;
	if (f.tag != 0xa0 && f.tag != 0xa1)
		return eim_der_fail(&in, f.off, EIM_ETAG,
				    "expected psmoList [0] or ecoList [1]");
	if ((rc = decode_ops(&in, &f, v)) < 0)
		return rc;
	return eim_der_finish(&in);
}

void eim_pkg_view_done(struct eim_pkg_view *v)
{
	if (!v)
		return;
	eim_free(v->psmo_store);
	eim_free(v->eco_store);
	v->psmo_store = NULL;
	v->eco_store = NULL;
}

int eim_pkg_decode_tlv(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		       struct eim_pkg_view *ret)
{
	struct eim_pkg_view v;
	struct eim_der_cur in;
	struct eim_der_tlv s, sig;
	int rc;

	if (!c || !t || !ret)
		return EIM_EINVAL;
	memset(&v, 0, sizeof(v));
	if (t->tag != 0xbf51)
		return eim_der_fail(c, t->off, EIM_ETAG,
				    "expected EuiccPackageRequest (BF51)");
	if ((rc = eim_der_enter(c, t, &in)) < 0 ||
	    (rc = eim_der_expect(&in, 0x30, &s)) < 0 ||
	    (rc = decode_signed(&in, &s, &v)) < 0 ||
	    (rc = eim_der_expect(&in, 0x5f37, &sig)) < 0 ||
	    (rc = eim_der_finish(&in)) < 0)
		goto fail;
	v.raw.p = t->raw;
	v.raw.len = t->raw_len;
	v.signed_raw.p = s.raw;
	v.signed_raw.len = s.raw_len;
	v.signature = view(&sig);
	*ret = v;
	return 0;
fail:
	eim_pkg_view_done(&v);
	return rc;
}

int eim_pkg_decode(const uint8_t *buf, size_t n, struct eim_der_diag *diag,
		   struct eim_pkg_view *ret)
{
	struct eim_der_cur c;
	struct eim_der_tlv t;
	int rc;

	if (!buf || !ret)
		return EIM_EINVAL;
	eim_der_cur_init(&c, buf, n, diag);
	if ((rc = eim_der_read(&c, &t)) < 0 || (rc = eim_der_finish(&c)) < 0)
		return rc;
	return eim_pkg_decode_tlv(&c, &t, ret);
}

int eim_pkg_verify_signed(struct eim_slice signed_raw, struct eim_slice sig,
			  int64_t token, const struct eim_sig_key *key)
{
	uint8_t tok[12];
	struct eim_buf tb = {.p = tok, .cap = sizeof(tok), .max = sizeof(tok)};
	struct eim_slice parts[2];

	eim_pkg_token_do(token, &tb);
	parts[0] = signed_raw;
	parts[1].p = tok;
	parts[1].len = tb.len;
	return eim_sig_verify(key, parts, 2, sig.p, sig.len);
}

int eim_pkg_verify(const struct eim_pkg_view *v, int64_t token,
		   const struct eim_sig_key *eim_pub)
{
	if (!v || !eim_pub)
		return EIM_EINVAL;
	return eim_pkg_verify_signed(v->signed_raw, v->signature, token,
				     eim_pub);
}

int eim_pkg_keydata_der(struct eim_slice keydata, struct eim_buf *out)
{
	if (!keydata.p || !out)
		return EIM_EINVAL;
	if (eim_der_put_retagged(out, 0x30, keydata.p, keydata.len) < 0)
		return EIM_EMALFORMED;
	return out->err;
}
