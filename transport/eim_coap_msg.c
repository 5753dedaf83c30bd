/*
 * eim_coap_msg.c - CoAP message codec (RFC 7252 section 3, RFC 7959 2.2).
 *
 * Parsing walks a cursor with a remaining length and checks every length
 * before it reads: option deltas and lengths come from the wire and are
 * never trusted. See the header for the wire picture and the error mapping.
 */
#include "transport/eim_coap_msg.h"

#include "common/eim_bytes.h"
#include "common/eim_err.h"

#include <string.h>

#define PAYLOAD_MARKER 0xff

int eim_coap_msg_peek(const uint8_t *buf, size_t len, uint8_t *ret_type,
		      uint8_t *ret_code, uint16_t *ret_mid)
{
	if (!buf || len < EIM_COAP_HEADER_LEN)
		return EIM_ETRUNC;
	if ((buf[0] >> 6) != 1)
		return EIM_EVERSION;
	if (ret_type)
		*ret_type = (buf[0] >> 4) & 3;
	if (ret_code)
		*ret_code = buf[1];
	if (ret_mid)
		*ret_mid = eim_get_be16(buf + 2);
	return 0;
}

/*
 * Reads the extended form of a 4-bit delta or length nibble. 13: one more
 * byte (+13), 14: two more bytes (+269), 15: reserved.
 */
static int read_ext(uint8_t nib, const uint8_t **p, size_t *left, uint32_t *ret)
{
	if (nib < 13) {
		*ret = nib;
		return 0;
	}
	if (nib == 13) {
		if (*left < 1)
			return EIM_ETRUNC;
		*ret = (uint32_t)(*p)[0] + 13;
		*p += 1;
		*left -= 1;
		return 0;
	}
	if (nib == 14) {
		if (*left < 2)
			return EIM_ETRUNC;
		*ret = (uint32_t)eim_get_be16(*p) + 269;
		*p += 2;
		*left -= 2;
		return 0;
	}
	return EIM_EMALFORMED;
}

int eim_coap_msg_parse(const uint8_t *buf, size_t len, struct eim_coap_msg *ret)
{
	const uint8_t *p;
	size_t left;
	uint32_t num = 0;
	uint8_t tkl;
	int rc;

	if (!ret)
		return EIM_EINVAL;
	rc = eim_coap_msg_peek(buf, len, NULL, NULL, NULL);
	if (rc)
		return rc;
	tkl = buf[0] & 0x0f;
	if (tkl > EIM_COAP_TOKEN_MAX)
		return EIM_EMALFORMED;
	if (len < EIM_COAP_HEADER_LEN + (size_t)tkl)
		return EIM_ETRUNC;
	/* An Empty message is exactly the 4-byte header (RFC 7252 4.1). */
	if (buf[1] == EIM_COAP_EMPTY && len != EIM_COAP_HEADER_LEN)
		return EIM_EMALFORMED;

	/* Fill a local copy field by field; *ret only on success. The option
	 * array is written in place, so parse into ret only after the header
	 * checks, with a scratch count. */
	p = buf + EIM_COAP_HEADER_LEN + tkl;
	left = len - EIM_COAP_HEADER_LEN - tkl;
	uint16_t nopts = 0;
	const uint8_t *payload = NULL;
	size_t payload_len = 0;
	struct eim_coap_opt opts[EIM_COAP_MAX_OPTIONS];

	while (left > 0) {
		uint32_t delta, olen;

		if (p[0] == PAYLOAD_MARKER) {
			if (left == 1)
				return EIM_EMALFORMED;
			payload = p + 1;
			payload_len = left - 1;
			break;
		}
		uint8_t b = p[0];
		p++;
		left--;
		rc = read_ext(b >> 4, &p, &left, &delta);
		if (rc)
			return rc;
		rc = read_ext(b & 0x0f, &p, &left, &olen);
		if (rc)
			return rc;
		num += delta;
		if (num > 0xffff)
			return EIM_EMALFORMED;
		if (olen > left)
			return EIM_ETRUNC;
		if (nopts == EIM_COAP_MAX_OPTIONS)
			return EIM_ETOOBIG;
		opts[nopts].num = (uint16_t)num;
		opts[nopts].len = (uint16_t)olen;
		opts[nopts].val = p;
		nopts++;
		p += olen;
		left -= olen;
	}

	ret->type = (buf[0] >> 4) & 3;
	ret->code = buf[1];
	ret->mid = eim_get_be16(buf + 2);
	ret->tkl = tkl;
	memset(ret->token, 0, sizeof(ret->token));
	if (tkl)
		memcpy(ret->token, buf + EIM_COAP_HEADER_LEN, tkl);
	ret->nopts = nopts;
	if (nopts)
		memcpy(ret->opts, opts, nopts * sizeof(opts[0]));
	ret->payload = payload;
	ret->payload_len = payload_len;
	return 0;
}

const struct eim_coap_opt *eim_coap_msg_opt_next(const struct eim_coap_msg *m,
						 uint16_t num, size_t *iter)
{
	for (size_t i = *iter; i < m->nopts; i++) {
		if (m->opts[i].num == num) {
			*iter = i + 1;
			return &m->opts[i];
		}
		if (m->opts[i].num > num)
			break;
	}
	*iter = m->nopts;
	return NULL;
}

const struct eim_coap_opt *eim_coap_msg_opt(const struct eim_coap_msg *m,
					    uint16_t num)
{
	size_t it = 0;
	return eim_coap_msg_opt_next(m, num, &it);
}

int eim_coap_opt_uint(const struct eim_coap_opt *o, size_t max_len,
		      uint32_t *ret_val)
{
	uint32_t v = 0;

	if (max_len > 4)
		max_len = 4;
	if (o->len > max_len)
		return EIM_ERANGE;
	for (size_t i = 0; i < o->len; i++)
		v = (v << 8) | o->val[i];
	*ret_val = v;
	return 0;
}

int eim_coap_block_decode(const struct eim_coap_opt *o,
			  struct eim_coap_block *ret)
{
	uint32_t v;
	int rc = eim_coap_opt_uint(o, 3, &v);

	if (rc)
		return rc;
	if ((v & 7) == 7)
		return EIM_EMALFORMED;
	ret->num = v >> 4;
	ret->more = (v & 8) != 0;
	ret->szx = (uint8_t)(v & 7);
	return 0;
}

uint32_t eim_coap_block_encode(uint32_t num, bool more, uint8_t szx)
{
	return (num << 4) | (more ? 8u : 0u) | (szx & 7u);
}

static const struct {
	uint16_t num;
	const char *name;
} opt_names[] = {
	{EIM_COAP_OPT_IF_MATCH, "If-Match"},
	{EIM_COAP_OPT_URI_HOST, "Uri-Host"},
	{EIM_COAP_OPT_ETAG, "ETag"},
	{EIM_COAP_OPT_IF_NONE_MATCH, "If-None-Match"},
	{EIM_COAP_OPT_OBSERVE, "Observe"},
	{EIM_COAP_OPT_URI_PORT, "Uri-Port"},
	{EIM_COAP_OPT_LOCATION_PATH, "Location-Path"},
	{EIM_COAP_OPT_URI_PATH, "Uri-Path"},
	{EIM_COAP_OPT_CONTENT_FORMAT, "Content-Format"},
	{EIM_COAP_OPT_MAX_AGE, "Max-Age"},
	{EIM_COAP_OPT_URI_QUERY, "Uri-Query"},
	{EIM_COAP_OPT_ACCEPT, "Accept"},
	{EIM_COAP_OPT_LOCATION_QUERY, "Location-Query"},
	{EIM_COAP_OPT_BLOCK2, "Block2"},
	{EIM_COAP_OPT_BLOCK1, "Block1"},
	{EIM_COAP_OPT_SIZE2, "Size2"},
	{EIM_COAP_OPT_PROXY_URI, "Proxy-Uri"},
	{EIM_COAP_OPT_PROXY_SCHEME, "Proxy-Scheme"},
	{EIM_COAP_OPT_SIZE1, "Size1"},
	{EIM_COAP_OPT_ECHO, "Echo"},
	{EIM_COAP_OPT_NO_RESPONSE, "No-Response"},
	{EIM_COAP_OPT_REQUEST_TAG, "Request-Tag"},
};

const char *eim_coap_opt_name(uint16_t num)
{
	for (size_t i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++)
		if (opt_names[i].num == num)
			return opt_names[i].name;
	return "Unknown";
}

static const struct {
	uint8_t code;
	const char *name;
} code_names[] = {
	{EIM_COAP_EMPTY, "Empty"},
	{EIM_COAP_GET, "GET"},
	{EIM_COAP_POST, "POST"},
	{EIM_COAP_PUT, "PUT"},
	{EIM_COAP_DELETE, "DELETE"},
	{EIM_COAP_FETCH, "FETCH"},
	{EIM_COAP_PATCH, "PATCH"},
	{EIM_COAP_IPATCH, "iPATCH"},
	{EIM_COAP_CREATED, "2.01 Created"},
	{EIM_COAP_DELETED, "2.02 Deleted"},
	{EIM_COAP_VALID, "2.03 Valid"},
	{EIM_COAP_CHANGED, "2.04 Changed"},
	{EIM_COAP_CONTENT, "2.05 Content"},
	{EIM_COAP_CONTINUE, "2.31 Continue"},
	{EIM_COAP_BAD_REQUEST, "4.00 Bad Request"},
	{EIM_COAP_UNAUTHORIZED, "4.01 Unauthorized"},
	{EIM_COAP_BAD_OPTION, "4.02 Bad Option"},
	{EIM_COAP_FORBIDDEN, "4.03 Forbidden"},
	{EIM_COAP_NOT_FOUND, "4.04 Not Found"},
	{EIM_COAP_METHOD_NOT_ALLOWED, "4.05 Method Not Allowed"},
	{EIM_COAP_REQUEST_ENTITY_INCOMPLETE, "4.08 Request Entity Incomplete"},
	{EIM_COAP_REQUEST_ENTITY_TOO_LARGE, "4.13 Request Entity Too Large"},
	{EIM_COAP_UNSUPPORTED_CONTENT_FORMAT,
	 "4.15 Unsupported Content-Format"},
	{EIM_COAP_INTERNAL_SERVER_ERROR, "5.00 Internal Server Error"},
	{EIM_COAP_SERVICE_UNAVAILABLE, "5.03 Service Unavailable"},
};

const char *eim_coap_code_name(uint8_t code)
{
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
		if (code_names[i].code == code)
			return code_names[i].name;
	return "Unknown";
}

void eim_coap_writer_init(struct eim_coap_writer *w, uint8_t *buf, size_t cap,
			  uint8_t type, uint8_t code, uint16_t mid,
			  const uint8_t *token, size_t tkl)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->last_opt = 0;
	w->err = 0;
	if (!buf || tkl > EIM_COAP_TOKEN_MAX || type > 3 || (tkl && !token)) {
		w->err = EIM_EINVAL;
		return;
	}
	if (cap < EIM_COAP_HEADER_LEN + tkl) {
		w->err = EIM_ETOOBIG;
		return;
	}
	buf[0] = (uint8_t)(0x40 | (type << 4) | tkl);
	buf[1] = code;
	eim_put_be16(buf + 2, mid);
	if (tkl)
		memcpy(buf + 4, token, tkl);
	w->len = EIM_COAP_HEADER_LEN + tkl;
}

/* Splits v into its nibble and the extension bytes it needs. */
static uint8_t ext_nibble(uint32_t v, size_t *ret_ext)
{
	if (v < 13) {
		*ret_ext = 0;
		return (uint8_t)v;
	}
	if (v < 269) {
		*ret_ext = 1;
		return 13;
	}
	*ret_ext = 2;
	return 14;
}

static void put_ext(uint8_t *p, uint32_t v, size_t ext)
{
	if (ext == 1)
		p[0] = (uint8_t)(v - 13);
	else if (ext == 2)
		eim_put_be16(p, (uint16_t)(v - 269));
}

void eim_coap_writer_opt(struct eim_coap_writer *w, uint16_t num,
			 const void *val, size_t len)
{
	size_t dext, lext;
	uint32_t delta;
	uint8_t dn, ln;

	if (w->err)
		return;
	if (num < w->last_opt || len > 65535 + 269 || (len && !val)) {
		w->err = EIM_EINVAL;
		return;
	}
	delta = num - w->last_opt;
	dn = ext_nibble(delta, &dext);
	ln = ext_nibble((uint32_t)len, &lext);
	if (w->cap - w->len < 1 + dext + lext + len) {
		w->err = EIM_ETOOBIG;
		return;
	}
	uint8_t *p = w->buf + w->len;
	p[0] = (uint8_t)((dn << 4) | ln);
	put_ext(p + 1, delta, dext);
	put_ext(p + 1 + dext, (uint32_t)len, lext);
	if (len)
		memcpy(p + 1 + dext + lext, val, len);
	w->len += 1 + dext + lext + len;
	w->last_opt = num;
}

void eim_coap_writer_opt_uint(struct eim_coap_writer *w, uint16_t num,
			      uint32_t val)
{
	uint8_t b[4];
	size_t n = 0;

	for (int shift = 24; shift >= 0; shift -= 8) {
		uint8_t byte = (uint8_t)(val >> shift);
		if (n || byte)
			b[n++] = byte;
	}
	eim_coap_writer_opt(w, num, b, n);
}

void eim_coap_writer_opt_path(struct eim_coap_writer *w, uint16_t num,
			      const char *path)
{
	const char *s = path;

	if (!path) {
		if (!w->err)
			w->err = EIM_EINVAL;
		return;
	}
	if (*s == '/')
		s++;
	while (*s) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		eim_coap_writer_opt(w, num, s, n);
		s += n;
		if (*s == '/')
			s++;
	}
}

void eim_coap_writer_payload(struct eim_coap_writer *w, const void *p, size_t n)
{
	if (w->err || n == 0)
		return;
	if (!p) {
		w->err = EIM_EINVAL;
		return;
	}
	if (w->cap - w->len < 1 + n) {
		w->err = EIM_ETOOBIG;
		return;
	}
	w->buf[w->len] = PAYLOAD_MARKER;
	memcpy(w->buf + w->len + 1, p, n);
	w->len += 1 + n;
	/* Nothing may follow the payload. */
	w->last_opt = 0xffff;
}

int eim_coap_writer_finish(struct eim_coap_writer *w, size_t *ret_len)
{
	if (w->err)
		return w->err;
	if (ret_len)
		*ret_len = w->len;
	return 0;
}

int eim_coap_msg_path(const struct eim_coap_msg *m, char *out, size_t cap)
{
	size_t n = 0, it = 0;
	const struct eim_coap_opt *o;
	bool any = false;

	if (!out || cap < 2)
		return EIM_ETOOBIG;
	while ((o = eim_coap_msg_opt_next(m, EIM_COAP_OPT_URI_PATH, &it))) {
		if (memchr(o->val, '/', o->len) || memchr(o->val, 0, o->len))
			return EIM_EMALFORMED;
		if (n + 1 + o->len + 1 > cap)
			return EIM_ETOOBIG;
		out[n++] = '/';
		if (o->len)
			memcpy(out + n, o->val, o->len);
		n += o->len;
		any = true;
	}
	if (!any)
		out[n++] = '/';
	out[n] = 0;
	return 0;
}
