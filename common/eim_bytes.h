/*
 * eim_bytes.h - byte helpers every module uses: hex and base64 text,
 * big-endian field access, constant-time comparison, and a growable buffer.
 *
 * Parsers read fields with the eim_get_be* helpers instead of casting packed
 * structs onto packets (STYLE.md habit 8).
 */
#ifndef EIM_BYTES_H
#define EIM_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A read-only view into someone else's bytes (never owns them). */
struct eim_slice {
	const uint8_t *p;
	size_t len;
};

/*
 * Writes 2*n lowercase hex digits and a NUL to out, which must hold
 * 2*n + 1 bytes. Returns out.
 */
char *eim_hex_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decodes hex text into out (capacity out_cap). Whitespace and ':' between
 * byte pairs are ignored; case-insensitive. On success writes the byte count
 * to *ret_len and returns 0. Errors: EIM_EMALFORMED (non-hex character or odd
 * number of digits; *ret_len then holds the offset of the bad character),
 * EIM_ETOOBIG (out_cap too small).
 */
int eim_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
		   size_t *ret_len);

/* Base64 (RFC 4648, standard alphabet, '=' padding). */
/* Size of the NUL-terminated encoding of n bytes. */
size_t eim_base64_encoded_size(size_t n);
char *eim_base64_encode(const uint8_t *in, size_t n, char *out);
/*
 * Decodes base64; whitespace is ignored, padding is optional. Returns 0,
 * EIM_EMALFORMED (bad character or impossible length) or EIM_ETOOBIG.
 */
int eim_base64_decode(const char *in, size_t in_len, uint8_t *out,
		      size_t out_cap, size_t *ret_len);

/*
 * Appends a PEM block ("-----BEGIN <label>-----", base64 in 64-column lines,
 * "-----END <label>-----", each line ending in a newline) to out.
 * Returns 0 or out->err.
 */
struct eim_buf;
int eim_pem_encode(const char *label, const uint8_t *der, size_t n,
		   struct eim_buf *out);

/* Big-endian accessors; the caller guarantees the bytes exist. */
static inline uint16_t eim_get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t eim_get_be24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}
static inline uint32_t eim_get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t eim_get_be48(const uint8_t *p)
{
	return ((uint64_t)eim_get_be16(p) << 32) | eim_get_be32(p + 2);
}
static inline void eim_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void eim_put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}
static inline void eim_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void eim_put_be48(uint8_t *p, uint64_t v)
{
	eim_put_be16(p, (uint16_t)(v >> 32));
	eim_put_be32(p + 2, (uint32_t)v);
}

/*
 * Compares n bytes in time independent of their contents. Returns true when
 * equal. Use for MACs, cookies, PSKs and anything else secret.
 */
bool eim_ct_equal(const void *a, const void *b, size_t n);

/*
 * A growable byte buffer. Writers append; the first allocation failure sets
 * `err` and later appends are no-ops, so a sequence of appends can be checked
 * once at the end (the pattern of SQLite's StrAccum).
 *
 * Ownership: the buffer owns `p`; eim_buf_done() frees it (and may be called on
 * a zeroed or already-done buffer). eim_buf_steal() hands `p` to the caller,
 * who frees it with eim_free().
 */
struct eim_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max; /* 0 = unlimited; growing past it sets EIM_ETOOBIG */
	int err;    /* 0 or the first EIM_E* that occurred */
};

void eim_buf_init(struct eim_buf *b);
void eim_buf_done(struct eim_buf *b);
/* Ensures room for `extra` more bytes; returns 0 or b->err. */
int eim_buf_reserve(struct eim_buf *b, size_t extra);
void eim_buf_append(struct eim_buf *b, const void *p, size_t n);
void eim_buf_append_byte(struct eim_buf *b, uint8_t v);
/* Empties the buffer (keeps the allocation, clears err). */
void eim_buf_reset(struct eim_buf *b);
/* Transfers ownership of the bytes to the caller; the buffer is reset. */
uint8_t *eim_buf_steal(struct eim_buf *b, size_t *ret_len);

#endif
