/*
 * eim_dtls_hs.c - DTLS 1.2 handshake message codec and reassembly
 * (RFC 6347 section 4.2, RFC 5246 section 7.4, RFC 7627, RFC 9146 section 3,
 * RFC 5746). See eim_dtls_hs.h.
 */
#include "transport/eim_dtls_hs.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <string.h>

/* A bounded reader: every take checks the remaining length first. */
struct cur {
	const uint8_t *p;
	size_t n;
};

static int take(struct cur *c, size_t k, const uint8_t **out)
{
	if (c->n < k)
		return EIM_ETRUNC;
	*out = c->p;
	c->p += k;
	c->n -= k;
	return 0;
}

static int take_u8(struct cur *c, unsigned *v)
{
	const uint8_t *p;
	int rc = take(c, 1, &p);

	if (!rc)
		*v = p[0];
	return rc;
}

static int take_u16(struct cur *c, unsigned *v)
{
	const uint8_t *p;
	int rc = take(c, 2, &p);

	if (!rc)
		*v = eim_get_be16(p);
	return rc;
}

/* A vector with a 1- or 2-byte length prefix. */
static int take_vec(struct cur *c, int prefix, struct eim_slice *out)
{
	unsigned n;
	int rc = prefix == 1 ? take_u8(c, &n) : take_u16(c, &n);

	if (rc)
		return rc;
	out->len = n;
	return take(c, n, &out->p);
}

int eim_dtls_hs_parse_frag(const uint8_t *p, size_t len,
			   struct eim_dtls_hs_frag *ret, size_t *ret_used)
{
	struct eim_dtls_hs_frag f;
	uint32_t flen;

	if ((!p && len) || !ret || !ret_used)
		return EIM_EINVAL;
	if (len < EIM_DTLS_HS_HDR_LEN)
		return EIM_ETRUNC;
	f.type = p[0];
	f.length = eim_get_be24(p + 1);
	f.msg_seq = eim_get_be16(p + 4);
	f.frag_off = eim_get_be24(p + 6);
	flen = eim_get_be24(p + 9);
	if ((uint64_t)f.frag_off + flen > f.length)
		return EIM_EMALFORMED;
	if (flen > len - EIM_DTLS_HS_HDR_LEN)
		return EIM_ETRUNC;
	f.frag.p = p + EIM_DTLS_HS_HDR_LEN;
	f.frag.len = flen;
	*ret = f;
	*ret_used = EIM_DTLS_HS_HDR_LEN + flen;
	return 0;
}

void eim_dtls_hs_put_header(struct eim_buf *b, uint8_t type, uint32_t length,
			    uint16_t msg_seq, uint32_t frag_off,
			    uint32_t frag_len)
{
	uint8_t h[EIM_DTLS_HS_HDR_LEN];

	h[0] = type;
	eim_put_be24(h + 1, length);
	eim_put_be16(h + 4, msg_seq);
	eim_put_be24(h + 6, frag_off);
	eim_put_be24(h + 9, frag_len);
	eim_buf_append(b, h, sizeof(h));
}

/* RFC 7250 certificate type extension: a list with a length byte in a
 * ClientHello, a single byte in a ServerHello. */
static int cert_types(const struct eim_slice *d, bool hello_from_client,
		      struct eim_slice *out)
{
	if (hello_from_client) {
		if (d->len < 2 || d->p[0] != d->len - 1)
			return EIM_EMALFORMED;
		out->p = d->p + 1;
		out->len = d->len - 1;
		return 0;
	}
	if (d->len != 1)
		return EIM_EMALFORMED;
	*out = *d;
	return 0;
}

/* Parses an extensions block that must fill c exactly. */
static int parse_ext(struct cur *c, struct eim_dtls_hello_ext *e,
		     bool hello_from_client)
{
	struct eim_slice all;
	struct cur x;
	bool seen_ems = false, seen_cid = false, seen_ri = false;
	bool seen_groups = false, seen_formats = false, seen_sig = false;
	bool seen_rsl = false;
	int rc;

	memset(e, 0, sizeof(*e));
	if (c->n == 0)
		return 0; /* no extensions at all (RFC 5246 7.4.1.2) */
	rc = take_vec(c, 2, &all);
	if (rc)
		return rc;
	if (c->n != 0)
		return EIM_EMALFORMED;
	x.p = all.p;
	x.n = all.len;
	while (x.n > 0) {
		unsigned type;
		struct eim_slice d;

		rc = take_u16(&x, &type);
		if (!rc)
			rc = take_vec(&x, 2, &d);
		if (rc)
			return rc;
		switch (type) {
		case EIM_DTLS_EXT_EMS:
			if (seen_ems || d.len != 0)
				return EIM_EMALFORMED;
			seen_ems = e->ems = true;
			break;
		case EIM_DTLS_EXT_RENEGOTIATION:
			/* initial handshake: renegotiated_connection empty */
			if (seen_ri || d.len != 1 || d.p[0] != 0)
				return EIM_EMALFORMED;
			seen_ri = e->reneg_info = true;
			break;
		case EIM_DTLS_EXT_CONNECTION_ID:
			if (seen_cid || d.len < 1 || d.p[0] != d.len - 1)
				return EIM_EMALFORMED;
			if (d.len - 1 > EIM_DTLS_MAX_CID)
				return EIM_ETOOBIG;
			seen_cid = e->cid = true;
			e->cid_value.p = d.p + 1;
			e->cid_value.len = d.len - 1;
			break;
		case EIM_DTLS_EXT_SUPPORTED_GROUPS:
			/* NamedGroup named_group_list<2..2^16-1> */
			if (seen_groups || d.len < 2 ||
			    eim_get_be16(d.p) != d.len - 2 || d.len % 2)
				return EIM_EMALFORMED;
			seen_groups = e->groups = true;
			for (size_t i = 2; i < d.len; i += 2) {
				uint16_t g = eim_get_be16(d.p + i);

				if (g == EIM_DTLS_GROUP_P256)
					e->group_p256 = true;
				else if (g == EIM_DTLS_GROUP_X25519)
					e->group_x25519 = true;
			}
			break;
		case EIM_DTLS_EXT_EC_POINT_FORMATS:
			/* ECPointFormat ec_point_format_list<1..2^8-1> */
			if (seen_formats || d.len < 2 || d.p[0] != d.len - 1)
				return EIM_EMALFORMED;
			seen_formats = e->formats = true;
			for (size_t i = 1; i < d.len; i++)
				if (d.p[i] == 0)
					e->uncompressed = true;
			break;
		case EIM_DTLS_EXT_RECORD_SIZE_LIMIT:
			/* uint16 RecordSizeLimit, at least 64 (RFC 8449 4) */
			if (seen_rsl || d.len != 2 || eim_get_be16(d.p) < 64)
				return EIM_EMALFORMED;
			seen_rsl = true;
			e->record_size_limit = eim_get_be16(d.p);
			break;
		case EIM_DTLS_EXT_SIGNATURE_ALGORITHMS:
			/* supported_signature_algorithms<2..2^16-2> */
			if (seen_sig || d.len < 4 ||
			    eim_get_be16(d.p) != d.len - 2 || d.len % 2)
				return EIM_EMALFORMED;
			seen_sig = e->sigalgs = true;
			for (size_t i = 2; i < d.len; i += 2)
				if (eim_get_be16(d.p + i) ==
				    EIM_DTLS_SIG_ECDSA_SHA256)
					e->sig_ecdsa_sha256 = true;
			break;
		case EIM_DTLS_EXT_CLIENT_CERT_TYPE:
			if (e->client_ctype)
				return EIM_EMALFORMED;
			rc = cert_types(&d, hello_from_client,
					&e->client_ctypes);
			if (rc)
				return rc;
			e->client_ctype = true;
			break;
		case EIM_DTLS_EXT_SERVER_CERT_TYPE:
			if (e->server_ctype)
				return EIM_EMALFORMED;
			rc = cert_types(&d, hello_from_client,
					&e->server_ctypes);
			if (rc)
				return rc;
			e->server_ctype = true;
			break;
		default:
			break; /* unknown extensions are ignored */
		}
	}
	return 0;
}

int eim_dtls_hs_parse_client_hello(const uint8_t *p, size_t len,
				   struct eim_dtls_client_hello *ret)
{
	struct eim_dtls_client_hello ch;
	struct eim_slice comp;
	struct cur c = {p, len};
	unsigned v;
	int rc;

	if ((!p && len) || !ret)
		return EIM_EINVAL;
	memset(&ch, 0, sizeof(ch));
	if ((rc = take_u16(&c, &v)))
		return rc;
	ch.version = (uint16_t)v;
	if ((rc = take(&c, 32, &ch.random)) ||
	    (rc = take_vec(&c, 1, &ch.session_id)) ||
	    (rc = take_vec(&c, 1, &ch.cookie)) ||
	    (rc = take_vec(&c, 2, &ch.suites)) || (rc = take_vec(&c, 1, &comp)))
		return rc;
	if (ch.session_id.len > 32 || ch.suites.len < 2 || ch.suites.len % 2 ||
	    comp.len < 1)
		return EIM_EMALFORMED;
	for (size_t i = 0; i < comp.len; i++)
		if (comp.p[i] == 0)
			ch.null_compression = true;
	if ((rc = parse_ext(&c, &ch.ext, true)))
		return rc;
	*ret = ch;
	ret->scsv = eim_dtls_hs_offers(ret, EIM_DTLS_EMPTY_RENEGOTIATION_SCSV);
	return 0;
}

bool eim_dtls_hs_offers(const struct eim_dtls_client_hello *ch, uint16_t suite)
{
	for (size_t i = 0; i + 1 < ch->suites.len; i += 2)
		if (eim_get_be16(ch->suites.p + i) == suite)
			return true;
	return false;
}

int eim_dtls_hs_parse_server_hello(const uint8_t *p, size_t len,
				   struct eim_dtls_server_hello *ret)
{
	struct eim_dtls_server_hello sh;
	struct cur c = {p, len};
	unsigned v;
	int rc;

	if ((!p && len) || !ret)
		return EIM_EINVAL;
	memset(&sh, 0, sizeof(sh));
	if ((rc = take_u16(&c, &v)))
		return rc;
	sh.version = (uint16_t)v;
	if ((rc = take(&c, 32, &sh.random)) ||
	    (rc = take_vec(&c, 1, &sh.session_id)) || (rc = take_u16(&c, &v)))
		return rc;
	sh.suite = (uint16_t)v;
	if ((rc = take_u8(&c, &v)))
		return rc;
	sh.compression = (uint8_t)v;
	if (sh.session_id.len > 32)
		return EIM_EMALFORMED;
	if ((rc = parse_ext(&c, &sh.ext, false)))
		return rc;
	*ret = sh;
	return 0;
}

int eim_dtls_hs_parse_hvr(const uint8_t *p, size_t len,
			  struct eim_slice *ret_cookie)
{
	struct cur c = {p, len};
	struct eim_slice cookie;
	unsigned v;
	int rc;

	if ((!p && len) || !ret_cookie)
		return EIM_EINVAL;
	if ((rc = take_u16(&c, &v)) || (rc = take_vec(&c, 1, &cookie)))
		return rc;
	if (c.n != 0)
		return EIM_EMALFORMED;
	*ret_cookie = cookie;
	return 0;
}

void eim_dtls_hs_put_hello_ext(struct eim_buf *b,
			       const struct eim_dtls_ext_out *o)
{
	static const uint8_t ri[5] = {0xff, 0x01, 0x00, 0x01, 0x00};
	static const uint8_t ems[4] = {0x00, 0x17, 0x00, 0x00};
	/* x25519 first: about ten times cheaper than secp256r1 here */
	static const uint8_t groups[10] = {0x00, 0x0a, 0x00, 0x06, 0x00,
					   0x04, 0x00, 0x1d, 0x00, 0x17};
	uint8_t one[8] = {0x00, 0x0a, 0x00, 0x04, 0x00, 0x02};
	size_t groups_len = !o->groups	     ? 0
			    : o->groups_only ? sizeof(one)
					     : sizeof(groups);
	static const uint8_t formats[6] = {0x00, 0x0b, 0x00, 0x02, 0x01, 0x00};
	static const uint8_t sigalgs[8] = {0x00, 0x0d, 0x00, 0x04,
					   0x00, 0x02, 0x04, 0x03};
	size_t total =
		(o->reneg ? sizeof(ri) : 0) + (o->ems ? sizeof(ems) : 0) +
		groups_len + (o->formats ? sizeof(formats) : 0) +
		(o->sigalgs ? sizeof(sigalgs) : 0) +
		(o->record_size_limit ? 6 : 0) + (o->cid ? 5 + o->cid_len : 0) +
		(o->client_ctype ? 5 + o->ctype_lists : 0) +
		(o->server_ctype ? 5 + o->ctype_lists : 0);
	uint8_t t[6];

	if (total == 0)
		return;
	eim_put_be16(t, (uint16_t)total);
	eim_buf_append(b, t, 2);
	if (o->reneg)
		eim_buf_append(b, ri, sizeof(ri));
	if (o->ems)
		eim_buf_append(b, ems, sizeof(ems));
	if (o->groups) {
		eim_put_be16(one + 6, o->groups_only);
		eim_buf_append(b, o->groups_only ? one : groups, groups_len);
	}
	if (o->formats)
		eim_buf_append(b, formats, sizeof(formats));
	if (o->sigalgs)
		eim_buf_append(b, sigalgs, sizeof(sigalgs));
	if (o->record_size_limit) {
		uint8_t r[6];

		eim_put_be16(r, EIM_DTLS_EXT_RECORD_SIZE_LIMIT);
		eim_put_be16(r + 2, 2);
		eim_put_be16(r + 4, o->record_size_limit);
		eim_buf_append(b, r, sizeof(r));
	}
	if (o->cid) {
		eim_put_be16(t, EIM_DTLS_EXT_CONNECTION_ID);
		eim_put_be16(t + 2, (uint16_t)(o->cid_len + 1));
		eim_buf_append(b, t, 4);
		eim_buf_append_byte(b, (uint8_t)o->cid_len);
		if (o->cid_len)
			eim_buf_append(b, o->cid_value, o->cid_len);
	}
	for (int i = 0; i < 2; i++) {
		bool on = i == 0 ? o->client_ctype : o->server_ctype;
		size_t k = 4;

		if (!on)
			continue;
		eim_put_be16(t, i == 0 ? EIM_DTLS_EXT_CLIENT_CERT_TYPE
				       : EIM_DTLS_EXT_SERVER_CERT_TYPE);
		eim_put_be16(t + 2, (uint16_t)(1 + o->ctype_lists));
		if (o->ctype_lists)
			t[k++] = 1; /* list length */
		t[k++] = i == 0 ? o->client_ctype_value : o->server_ctype_value;
		eim_buf_append(b, t, k);
	}
}

void eim_dtls_reasm_done(struct eim_dtls_reasm *r)
{
	if (!r)
		return;
	eim_free(r->buf);
	eim_free(r->map);
	memset(r, 0, sizeof(*r));
}

int eim_dtls_reasm_add(struct eim_dtls_reasm *r,
		       const struct eim_dtls_hs_frag *f, size_t max_len,
		       struct eim_slice *ret_msg)
{
	if (!r || !f || !ret_msg)
		return EIM_EINVAL;
	if (f->length > max_len)
		return EIM_ETOOBIG;
	if (r->buf && (r->type != f->type || r->length != f->length ||
		       r->msg_seq != f->msg_seq))
		return EIM_EMALFORMED;
	if (f->frag_off == 0 && f->frag.len == f->length) {
		/* unfragmented: no copy; drop any partial state */
		eim_dtls_reasm_done(r);
		ret_msg->p = f->frag.p;
		ret_msg->len = f->length;
		return 1;
	}
	if (!r->buf) {
		r->buf = eim_malloc(f->length ? f->length : 1);
		r->map = eim_calloc(1, f->length / 8 + 1);
		if (!r->buf || !r->map) {
			eim_dtls_reasm_done(r);
			return EIM_ENOMEM;
		}
		r->type = f->type;
		r->length = f->length;
		r->msg_seq = f->msg_seq;
		r->have = 0;
	}
	memcpy(r->buf + f->frag_off, f->frag.p, f->frag.len);
	for (uint32_t i = f->frag_off; i < f->frag_off + f->frag.len; i++) {
		uint8_t bit = (uint8_t)(1u << (i & 7));

		if (!(r->map[i >> 3] & bit)) {
			r->map[i >> 3] |= bit;
			r->have++;
		}
	}
	if (r->have < r->length)
		return 0;
	ret_msg->p = r->buf;
	ret_msg->len = r->length;
	return 1;
}
