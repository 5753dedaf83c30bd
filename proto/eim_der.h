/*
 * eim_der.h - bounded BER/DER TLV reader and strict DER writer (ITU-T X.690).
 *
 * Design notes
 * ------------
 * Everything SGP.32 exchanges is a tree of tag-length-value elements:
 *
 *     +-----------------+------------------+-----------------------+
 *     | tag 1..4 bytes  | length 1..5 bytes| value (length bytes)  |
 *     +-----------------+------------------+-----------------------+
 *     tag:    class(2) constructed(1) number(5); number 31 = more tag
 *             bytes follow, 7 bits each, high bit set on all but the last
 *             (BF51, 5F37, 9F70 are such two-byte tags).
 *     length: < 0x80 is the length itself; 0x81..0x84 say how many
 *             big-endian length bytes follow; 0x80 (indefinite) is refused.
 *
 * Tags are handled as the number formed by their raw bytes (0xBF51 for
 * "BF 51"), which is how SGP.32 and PROTOCOL notes write them.
 *
 * The reader is liberal in the BER sense (a non-minimal length such as
 * "81 05" is accepted, because real eUICCs emit BER) but bounded: it never
 * reads past the buffer, caps length-of-length at 4 bytes, refuses
 * indefinite lengths, caps nesting (EIM_DER_MAX_DEPTH) for the generic tree
 * walkers, and INTEGERs are read only into 64-bit values with an explicit
 * range. Every element keeps a view of its raw bytes (tag to end of value),
 * because signatures are verified over the bytes as received, never over a
 * re-encoding.
 *
 * Errors found by the reader are recorded in an optional struct
 * eim_der_diag: the absolute byte offset in the outermost buffer and a
 * short static reason. That is what `eim decode` prints.
 *
 * The writer produces strict DER only: minimal tags, minimal lengths and
 * minimal two's-complement INTEGERs (128 -> 02 02 00 80). Constructed
 * elements are written with eim_der_open()/eim_der_close(); the length is
 * patched in when the element is closed. All writes go to a struct eim_buf
 * whose sticky error is checked once at the end.
 */
#ifndef EIM_DER_H
#define EIM_DER_H

#include "common/eim_bytes.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting the generic walkers (tree dump, fuzzers) descend. */
#define EIM_DER_MAX_DEPTH 32

/* Where and why decoding stopped. */
struct eim_der_diag {
	size_t off;	  /* absolute offset in the outermost buffer */
	const char *what; /* static text, e.g. "length runs past the end" */
};

/* A cursor over a sequence of TLVs inside one buffer. */
struct eim_der_cur {
	const uint8_t *base; /* start of the outermost buffer (for offsets) */
	const uint8_t *p;    /* next byte to read */
	const uint8_t *end;  /* one past the last readable byte */
	struct eim_der_diag *diag; /* may be NULL */
};

/* One decoded element: views into the caller's buffer. */
struct eim_der_tlv {
	uint32_t tag;	    /* raw tag bytes as a number: 0x30, 0xBF51, ... */
	bool constructed;   /* bit 6 of the first tag byte */
	const uint8_t *raw; /* first tag byte */
	size_t raw_len;	    /* tag + length + value */
	const uint8_t *val; /* first value byte */
	size_t len;	    /* value length */
	size_t off;	    /* absolute offset of the tag in the outer buffer */
};

/* Starts a cursor over buf[0..n). diag may be NULL. */
void eim_der_cur_init(struct eim_der_cur *c, const uint8_t *buf, size_t n,
		      struct eim_der_diag *diag);

/* True when the cursor has no bytes left. */
bool eim_der_at_end(const struct eim_der_cur *c);

/*
 * Reads the next TLV and advances. Errors: EIM_ETRUNC (tag, length or value
 * runs past the end), EIM_EMALFORMED (indefinite length, length of length
 * over 4 bytes, tag over 4 bytes or non-minimal tag), and EIM_EINVAL for
 * NULL arguments. *ret is written only on success.
 */
int eim_der_read(struct eim_der_cur *c, struct eim_der_tlv *ret);

/*
 * Reads the tag of the next element without advancing. Returns 0 and the tag,
 * or the error eim_der_read() would give (without recording it).
 */
int eim_der_peek(const struct eim_der_cur *c, uint32_t *ret_tag);

/* Reads the next TLV and requires `tag` (EIM_ETAG otherwise). */
int eim_der_expect(struct eim_der_cur *c, uint32_t tag,
		   struct eim_der_tlv *ret);

/*
 * If the next element has tag `tag`, reads it into *ret and returns 1;
 * returns 0 (and leaves the cursor) if the cursor is at its end or the next
 * tag differs; a negative code if the next element is malformed.
 */
int eim_der_optional(struct eim_der_cur *c, uint32_t tag,
		     struct eim_der_tlv *ret);

/*
 * Opens a cursor over the value of `t` (which must be constructed:
 * EIM_EMALFORMED otherwise), sharing the parent's base and diag.
 */
int eim_der_enter(const struct eim_der_cur *parent, const struct eim_der_tlv *t,
		  struct eim_der_cur *ret);

/* Returns 0 if nothing is left, EIM_EMALFORMED ("trailing bytes") if not. */
int eim_der_finish(struct eim_der_cur *c);

/*
 * Records an error at `off` (absolute) with a static reason and returns err,
 * so that decoders can write `return eim_der_fail(c, t->off, EIM_ERANGE,
 * "...")`. The first recorded error wins.
 */
int eim_der_fail(const struct eim_der_cur *c, size_t off, int err,
		 const char *what);

/*
 * Parses exactly one TLV that fills buf[0..n) (no trailing bytes).
 */
int eim_der_parse_one(const uint8_t *buf, size_t n, struct eim_der_diag *diag,
		      struct eim_der_tlv *ret);

/*
 * Value accessors. They check the content and record errors at the
 * element's offset through c (which may be NULL).
 *
 * eim_der_get_int: a two's-complement INTEGER of 1..8 bytes into *ret, then
 * checks min <= v <= max (EIM_ERANGE). A zero-length INTEGER, or one longer
 * than 8 bytes, is EIM_EMALFORMED / EIM_ERANGE. Non-minimal encodings are
 * accepted (BER in) but still bounded to 8 bytes.
 */
int eim_der_get_int(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		    int64_t min, int64_t max, int64_t *ret);
/* NULL: length must be 0. */
int eim_der_get_null(const struct eim_der_cur *c, const struct eim_der_tlv *t);
/* BOOLEAN: one byte; any non-zero is TRUE (BER). */
int eim_der_get_bool(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		     bool *ret);
/* Requires the value length to be in [min, max]. */
int eim_der_check_len(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		      size_t min, size_t max);

/* ----- writer: strict DER into an eim_buf ----- */

/* Appends a tag given as its raw bytes number (0x30, 0xBF51). */
void eim_der_put_tag(struct eim_buf *b, uint32_t tag);
/* Appends a minimal definite length. */
void eim_der_put_len(struct eim_buf *b, size_t len);
/* Appends tag, length and `len` value bytes (val may be NULL when len 0). */
void eim_der_put(struct eim_buf *b, uint32_t tag, const void *val, size_t len);
/* Appends a minimal two's-complement INTEGER with the given tag. */
void eim_der_put_int(struct eim_buf *b, uint32_t tag, int64_t v);
/* Appends an element with an empty value (NULL, empty SEQUENCE). */
void eim_der_put_empty(struct eim_buf *b, uint32_t tag);
/* Appends a DER BOOLEAN (FF for true). */
void eim_der_put_bool(struct eim_buf *b, uint32_t tag, bool v);
/*
 * Appends already encoded bytes, replacing the first element's tag by `tag`
 * (used for implicit tags on embedded certificates and SPKIs: 30 -> A1).
 * Returns EIM_EMALFORMED if `der` is not exactly one TLV (the buffer's error
 * is left untouched then).
 */
int eim_der_put_retagged(struct eim_buf *b, uint32_t tag, const uint8_t *der,
			 size_t n);

/*
 * Opens a constructed element: writes the tag and a one-byte placeholder
 * length, returns a mark for eim_der_close().
 */
size_t eim_der_open(struct eim_buf *b, uint32_t tag);
/*
 * Closes the element opened at `mark`: writes its final minimal length,
 * moving the content if the length needs more than one byte.
 */
void eim_der_close(struct eim_buf *b, size_t mark);

/* Number of bytes of a tag / of a minimal length encoding. */
size_t eim_der_tag_size(uint32_t tag);
size_t eim_der_len_size(size_t len);

#endif
