/* eim_bytes.c - hex, base64, constant-time compare, growable buffer. */
#include "common/eim_bytes.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <string.h>

static const char eim__hexdig[] = "0123456789abcdef";

char *eim_hex_encode(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = eim__hexdig[in[i] >> 4];
		out[2 * i + 1] = eim__hexdig[in[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

static int eim__hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool eim__is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':';
}

int eim_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
		   size_t *ret_len)
{
	size_t n = 0;
	int hi = -1;
	size_t hi_pos = 0;

	for (size_t i = 0; i < in_len; i++) {
		if (eim__is_sep(in[i]) && hi < 0)
			continue;
		int v = eim__hexval(in[i]);
		if (v < 0) {
			*ret_len = i;
			return EIM_EMALFORMED;
		}
		if (hi < 0) {
			hi = v;
			hi_pos = i;
			continue;
		}
		if (n >= out_cap)
			return EIM_ETOOBIG;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0) {
		*ret_len = hi_pos;
		return EIM_EMALFORMED;
	}
	*ret_len = n;
	return 0;
}

static const char eim__b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t eim_base64_encoded_size(size_t n)
{
	return (n + 2) / 3 * 4 + 1;
}

char *eim_base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	size_t i = 0;

	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];
		out[o++] = eim__b64[v >> 18];
		out[o++] = eim__b64[(v >> 12) & 63];
		out[o++] = eim__b64[(v >> 6) & 63];
		out[o++] = eim__b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = eim__b64[v >> 18];
		out[o++] = eim__b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? eim__b64[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

int eim_pem_encode(const char *label, const uint8_t *der, size_t n,
		   struct eim_buf *out)
{
	char line[65];
	const char *dashes = "-----";

	eim_buf_append(out, dashes, 5);
	eim_buf_append(out, "BEGIN ", 6);
	eim_buf_append(out, label, strlen(label));
	eim_buf_append(out, dashes, 5);
	eim_buf_append_byte(out, '\n');
	for (size_t off = 0; off < n; off += 48) {
		size_t k = n - off < 48 ? n - off : 48;
		eim_base64_encode(der + off, k, line);
		eim_buf_append(out, line, strlen(line));
		eim_buf_append_byte(out, '\n');
	}
	eim_buf_append(out, dashes, 5);
	eim_buf_append(out, "END ", 4);
	eim_buf_append(out, label, strlen(label));
	eim_buf_append(out, dashes, 5);
	eim_buf_append_byte(out, '\n');
	return out->err;
}

static int eim__b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int eim_base64_decode(const char *in, size_t in_len, uint8_t *out,
		      size_t out_cap, size_t *ret_len)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;
	size_t digits = 0;
	bool pad = false;

	for (size_t i = 0; i < in_len; i++) {
		char c = in[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == '=') {
			pad = true;
			continue;
		}
		int v = eim__b64val(c);
		if (v < 0 || pad)
			return EIM_EMALFORMED;
		digits++;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= out_cap)
				return EIM_ETOOBIG;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (digits % 4 == 1)
		return EIM_EMALFORMED;
	*ret_len = n;
	return 0;
}

bool eim_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a;
	const volatile uint8_t *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void eim_buf_init(struct eim_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void eim_buf_done(struct eim_buf *b)
{
	eim_free(b->p);
	memset(b, 0, sizeof(*b));
}

int eim_buf_reserve(struct eim_buf *b, size_t extra)
{
	if (b->err)
		return b->err;
	if (extra > SIZE_MAX - b->len) {
		b->err = EIM_ETOOBIG;
		return b->err;
	}
	size_t need = b->len + extra;
	if (b->max && need > b->max) {
		b->err = EIM_ETOOBIG;
		return b->err;
	}
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	uint8_t *p = eim_realloc(b->p, cap);
	if (!p) {
		b->err = EIM_ENOMEM;
		return b->err;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void eim_buf_append(struct eim_buf *b, const void *p, size_t n)
{
	if (n == 0 || eim_buf_reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void eim_buf_append_byte(struct eim_buf *b, uint8_t v)
{
	eim_buf_append(b, &v, 1);
}

void eim_buf_reset(struct eim_buf *b)
{
	b->len = 0;
	b->err = 0;
}

uint8_t *eim_buf_steal(struct eim_buf *b, size_t *ret_len)
{
	uint8_t *p = b->p;
	if (ret_len)
		*ret_len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
	return p;
}
