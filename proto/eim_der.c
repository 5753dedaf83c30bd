/*
 * eim_der.c - bounded BER/DER TLV reader and strict DER writer.
 *
 * ITU-T X.690 sections 8.1 (identifier and length octets), 8.3 (INTEGER)
 * and 10.1 (DER: definite, minimal lengths). See eim_der.h for the format
 * drawing and the rules this code enforces.
 */
#include "proto/eim_der.h"

#include "common/eim_err.h"

#include <assert.h>
#include <string.h>

void eim_der_cur_init(struct eim_der_cur *c, const uint8_t *buf, size_t n,
		      struct eim_der_diag *diag)
{
	c->base = buf;
	c->p = buf;
	c->end = buf ? buf + n : buf;
	c->diag = diag;
}

bool eim_der_at_end(const struct eim_der_cur *c)
{
	return c->p >= c->end;
}

int eim_der_fail(const struct eim_der_cur *c, size_t off, int err,
		 const char *what)
{
	/* The first error is the one worth reporting: later ones are echoes
	 * of it as the failure propagates up through the decoders. */
	if (c && c->diag && !c->diag->what) {
		c->diag->off = off;
		c->diag->what = what;
	}
	return err;
}

static size_t cur_off(const struct eim_der_cur *c, const uint8_t *p)
{
	return (size_t)(p - c->base);
}

/*
 * Decodes one TLV header at c->p without side effects. On error *why and
 * *at tell what and where (absolute pointer).
 */
static int scan(const struct eim_der_cur *c, struct eim_der_tlv *t,
		const char **why, const uint8_t **at)
{
	const uint8_t *p = c->p;
	const uint8_t *end = c->end;
	uint32_t tag;
	size_t len, left;

	*at = p;
	if (p >= end) {
		*why = "element expected but input ended";
		return EIM_ETRUNC;
	}
	tag = *p++;
	if ((tag & 0x1f) == 0x1f) {
		/* High tag number form: up to 3 more bytes so the whole tag
		 * fits a uint32; bit 8 set means another byte follows. */
		size_t n = 0;
		uint8_t b;

		do {
			if (p >= end) {
				*at = p;
				*why = "tag runs past the end";
				return EIM_ETRUNC;
			}
			b = *p++;
			if (n == 0 && b == 0x80) {
				*at = p - 1;
				*why = "non-minimal tag";
				return EIM_EMALFORMED;
			}
			if (++n > 3) {
				*at = p - 1;
				*why = "tag longer than 4 bytes";
				return EIM_EMALFORMED;
			}
			tag = (tag << 8) | b;
		} while (b & 0x80);
		if (n == 1 && (tag & 0x7f) < 31) {
			*at = p - 1;
			*why = "non-minimal tag";
			return EIM_EMALFORMED;
		}
	}
	if (p >= end) {
		*at = p;
		*why = "length runs past the end";
		return EIM_ETRUNC;
	}
	if (*p < 0x80) {
		len = *p++;
	} else if (*p == 0x80) {
		*at = p;
		*why = "indefinite length";
		return EIM_EMALFORMED;
	} else {
		size_t n = *p & 0x7f;

		if (n > 4) {
			*at = p;
			*why = "length of length over 4 bytes";
			return EIM_EMALFORMED;
		}
		p++;
		if ((size_t)(end - p) < n) {
			*at = p - 1;
			*why = "length runs past the end";
			return EIM_ETRUNC;
		}
		len = 0;
		while (n--)
			len = (len << 8) | *p++;
	}
	left = (size_t)(end - p);
	if (len > left) {
		/* Point at the length octets: that is the field that lies. */
		*at = c->p + eim_der_tag_size(tag);
		*why = "length runs past the end";
		return EIM_ETRUNC;
	}
	t->tag = tag;
	t->constructed = (c->p[0] & 0x20) != 0;
	t->raw = c->p;
	t->val = p;
	t->len = len;
	t->raw_len = (size_t)(p - c->p) + len;
	t->off = cur_off(c, c->p);
	return 0;
}

int eim_der_read(struct eim_der_cur *c, struct eim_der_tlv *ret)
{
	struct eim_der_tlv t;
	const char *why = NULL;
	const uint8_t *at = NULL;
	int rc;

	if (!c || !ret)
		return EIM_EINVAL;
	rc = scan(c, &t, &why, &at);
	if (rc < 0)
		return eim_der_fail(c, cur_off(c, at), rc, why);
	c->p = t.raw + t.raw_len;
	*ret = t;
	return 0;
}

int eim_der_peek(const struct eim_der_cur *c, uint32_t *ret_tag)
{
	struct eim_der_tlv t;
	const char *why;
	const uint8_t *at;
	int rc;

	if (!c || !ret_tag)
		return EIM_EINVAL;
	rc = scan(c, &t, &why, &at);
	if (rc < 0)
		return rc;
	*ret_tag = t.tag;
	return 0;
}

int eim_der_expect(struct eim_der_cur *c, uint32_t tag, struct eim_der_tlv *ret)
{
	struct eim_der_tlv t;
	int rc;

	if (!c || !ret)
		return EIM_EINVAL;
	rc = eim_der_read(c, &t);
	if (rc < 0)
		return rc;
	if (t.tag != tag) {
		c->p = t.raw; /* leave the cursor on the offending element */
		return eim_der_fail(c, t.off, EIM_ETAG, "unexpected tag");
	}
	*ret = t;
	return 0;
}

int eim_der_optional(struct eim_der_cur *c, uint32_t tag,
		     struct eim_der_tlv *ret)
{
	uint32_t next;
	int rc;

	if (!c || !ret)
		return EIM_EINVAL;
	if (eim_der_at_end(c))
		return 0;
	rc = eim_der_peek(c, &next);
	if (rc < 0) {
		/* Re-read to record where and why. */
		struct eim_der_tlv t;

		return eim_der_read(c, &t);
	}
	if (next != tag)
		return 0;
	rc = eim_der_read(c, ret);
	return rc < 0 ? rc : 1;
}

int eim_der_enter(const struct eim_der_cur *parent, const struct eim_der_tlv *t,
		  struct eim_der_cur *ret)
{
	if (!parent || !t || !ret)
		return EIM_EINVAL;
	if (!t->constructed)
		return eim_der_fail(
			parent, t->off, EIM_EMALFORMED,
			"primitive element where constructed expected");
	ret->base = parent->base;
	ret->p = t->val;
	ret->end = t->val + t->len;
	ret->diag = parent->diag;
	return 0;
}

int eim_der_finish(struct eim_der_cur *c)
{
	if (!c)
		return EIM_EINVAL;
	if (c->p < c->end)
		return eim_der_fail(c, cur_off(c, c->p), EIM_EMALFORMED,
				    "trailing bytes");
	return 0;
}

int eim_der_parse_one(const uint8_t *buf, size_t n, struct eim_der_diag *diag,
		      struct eim_der_tlv *ret)
{
	struct eim_der_cur c;
	struct eim_der_tlv t;
	int rc;

	if (!buf || !ret)
		return EIM_EINVAL;
	eim_der_cur_init(&c, buf, n, diag);
	rc = eim_der_read(&c, &t);
	if (rc < 0)
		return rc;
	rc = eim_der_finish(&c);
	if (rc < 0)
		return rc;
	*ret = t;
	return 0;
}

int eim_der_get_int(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		    int64_t min, int64_t max, int64_t *ret)
{
	uint64_t u;
	size_t i;

	if (!t || !ret)
		return EIM_EINVAL;
	if (t->constructed)
		return eim_der_fail(c, t->off, EIM_EMALFORMED,
				    "constructed INTEGER");
	if (t->len == 0)
		return eim_der_fail(c, t->off, EIM_EMALFORMED, "empty INTEGER");
	if (t->len > 8)
		return eim_der_fail(c, t->off, EIM_ERANGE,
				    "INTEGER longer than 8 bytes");
	/* Sign-extend from the first byte, then shift the rest in. */
	u = (t->val[0] & 0x80) ? UINT64_MAX : 0;
	for (i = 0; i < t->len; i++)
		u = (u << 8) | t->val[i];
	if ((int64_t)u < min || (int64_t)u > max)
		return eim_der_fail(c, t->off, EIM_ERANGE,
				    "INTEGER out of range");
	*ret = (int64_t)u;
	return 0;
}

int eim_der_get_null(const struct eim_der_cur *c, const struct eim_der_tlv *t)
{
	if (!t)
		return EIM_EINVAL;
	if (t->len != 0 || t->constructed)
		return eim_der_fail(c, t->off, EIM_EMALFORMED,
				    "NULL with content");
	return 0;
}

int eim_der_get_bool(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		     bool *ret)
{
	if (!t || !ret)
		return EIM_EINVAL;
	if (t->len != 1 || t->constructed)
		return eim_der_fail(c, t->off, EIM_EMALFORMED,
				    "BOOLEAN not one byte");
	*ret = t->val[0] != 0;
	return 0;
}

int eim_der_check_len(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		      size_t min, size_t max)
{
	if (!t)
		return EIM_EINVAL;
	if (t->len < min || t->len > max)
		return eim_der_fail(c, t->off, EIM_ERANGE,
				    "value length out of range");
	return 0;
}

/* ----- writer ----- */

size_t eim_der_tag_size(uint32_t tag)
{
	if (tag > 0xffffff)
		return 4;
	if (tag > 0xffff)
		return 3;
	if (tag > 0xff)
		return 2;
	return 1;
}

size_t eim_der_len_size(size_t len)
{
	if (len < 0x80)
		return 1;
	if (len <= 0xff)
		return 2;
	if (len <= 0xffff)
		return 3;
	if (len <= 0xffffff)
		return 4;
	return 5;
}

void eim_der_put_tag(struct eim_buf *b, uint32_t tag)
{
	size_t n = eim_der_tag_size(tag);

	while (n--)
		eim_buf_append_byte(b, (uint8_t)(tag >> (8 * n)));
}

static void write_len(uint8_t *p, size_t len)
{
	size_t n = eim_der_len_size(len);

	if (n == 1) {
		p[0] = (uint8_t)len;
		return;
	}
	p[0] = (uint8_t)(0x80 | (n - 1));
	for (size_t i = 1; i < n; i++)
		p[i] = (uint8_t)(len >> (8 * (n - 1 - i)));
}

void eim_der_put_len(struct eim_buf *b, size_t len)
{
	uint8_t tmp[5];

	if (len > 0xffffffffu) {
		if (!b->err)
			b->err = EIM_ETOOBIG;
		return;
	}
	write_len(tmp, len);
	eim_buf_append(b, tmp, eim_der_len_size(len));
}

void eim_der_put(struct eim_buf *b, uint32_t tag, const void *val, size_t len)
{
	eim_der_put_tag(b, tag);
	eim_der_put_len(b, len);
	if (len)
		eim_buf_append(b, val, len);
}

void eim_der_put_int(struct eim_buf *b, uint32_t tag, int64_t v)
{
	uint8_t tmp[8];
	size_t i = 0;

	for (int k = 7; k >= 0; k--)
		tmp[7 - k] = (uint8_t)((uint64_t)v >> (8 * k));
	/* Drop leading bytes that only repeat the sign of the next one. */
	while (i < 7 && ((tmp[i] == 0x00 && !(tmp[i + 1] & 0x80)) ||
			 (tmp[i] == 0xff && (tmp[i + 1] & 0x80))))
		i++;
	eim_der_put(b, tag, tmp + i, 8 - i);
}

void eim_der_put_empty(struct eim_buf *b, uint32_t tag)
{
	eim_der_put(b, tag, NULL, 0);
}

void eim_der_put_bool(struct eim_buf *b, uint32_t tag, bool v)
{
	uint8_t x = v ? 0xff : 0x00;

	eim_der_put(b, tag, &x, 1);
}

int eim_der_put_retagged(struct eim_buf *b, uint32_t tag, const uint8_t *der,
			 size_t n)
{
	struct eim_der_tlv t;
	int rc;

	if (!b || !der)
		return EIM_EINVAL;
	rc = eim_der_parse_one(der, n, NULL, &t);
	if (rc < 0)
		return EIM_EMALFORMED;
	eim_der_put(b, tag, t.val, t.len);
	return 0;
}

size_t eim_der_open(struct eim_buf *b, uint32_t tag)
{
	eim_der_put_tag(b, tag);
	eim_buf_append_byte(b, 0);
	return b->len - 1;
}

void eim_der_close(struct eim_buf *b, size_t mark)
{
	size_t content, n;

	if (b->err)
		return;
	assert(mark < b->len);
	content = b->len - mark - 1;
	n = eim_der_len_size(content);
	if (n > 1) {
		if (eim_buf_reserve(b, n - 1) < 0)
			return;
		memmove(b->p + mark + n, b->p + mark + 1, content);
		b->len += n - 1;
	}
	write_len(b->p + mark, content);
}
