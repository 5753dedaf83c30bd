/*
 * eim_coap_msg.h - CoAP message codec (RFC 7252 section 3), no I/O, no state.
 *
 * Wire format of one message (all fields big-endian):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Ver| T |  TKL  |      Code     |          Message ID           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |   Token (TKL bytes, 0..8) ...
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |   Options (delta-encoded, ascending option numbers) ...
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |1 1 1 1 1 1 1 1|    Payload (only if non-empty) ...
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Each option starts with one byte: 4 bits delta, 4 bits length. A nibble of
 * 13 means one extension byte (value - 13), 14 means two extension bytes
 * (value - 269), 15 is reserved (and 0xFF as a whole byte is the payload
 * marker). The parser is strict: any reserved nibble, a truncated extension
 * or value, a payload marker followed by nothing, a token longer than 8,
 * version != 1 or a non-empty "Empty" message (code 0.00) is a message format
 * error (RFC 7252 3, 4.1, 5.4.1).
 *
 * The parsed message is a view: option values, token and payload point into
 * the caller's buffer, which must outlive the struct.
 */
#ifndef EIM_COAP_MSG_H
#define EIM_COAP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Message types (RFC 7252 3). */
enum eim_coap_type {
	EIM_COAP_CON = 0,
	EIM_COAP_NON = 1,
	EIM_COAP_ACK = 2,
	EIM_COAP_RST = 3,
};

/* A code is class (3 bits) . detail (5 bits): 2.05 = EIM_COAP_CODE(2, 5). */
#define EIM_COAP_CODE(cls, dt) ((uint8_t)(((cls) << 5) | (dt)))
#define EIM_COAP_CODE_CLASS(c) ((c) >> 5)
#define EIM_COAP_CODE_DETAIL(c) ((c)&0x1f)

enum eim_coap_code {
	EIM_COAP_EMPTY = 0,
	EIM_COAP_GET = 1,
	EIM_COAP_POST = 2,
	EIM_COAP_PUT = 3,
	EIM_COAP_DELETE = 4,
	EIM_COAP_FETCH = 5,
	EIM_COAP_PATCH = 6,
	EIM_COAP_IPATCH = 7,
	EIM_COAP_CREATED = EIM_COAP_CODE(2, 1),
	EIM_COAP_DELETED = EIM_COAP_CODE(2, 2),
	EIM_COAP_VALID = EIM_COAP_CODE(2, 3),
	EIM_COAP_CHANGED = EIM_COAP_CODE(2, 4),
	EIM_COAP_CONTENT = EIM_COAP_CODE(2, 5),
	EIM_COAP_CONTINUE = EIM_COAP_CODE(2, 31),
	EIM_COAP_BAD_REQUEST = EIM_COAP_CODE(4, 0),
	EIM_COAP_UNAUTHORIZED = EIM_COAP_CODE(4, 1),
	EIM_COAP_BAD_OPTION = EIM_COAP_CODE(4, 2),
	EIM_COAP_FORBIDDEN = EIM_COAP_CODE(4, 3),
	EIM_COAP_NOT_FOUND = EIM_COAP_CODE(4, 4),
	EIM_COAP_METHOD_NOT_ALLOWED = EIM_COAP_CODE(4, 5),
	EIM_COAP_REQUEST_ENTITY_INCOMPLETE = EIM_COAP_CODE(4, 8),
	EIM_COAP_REQUEST_ENTITY_TOO_LARGE = EIM_COAP_CODE(4, 13),
	EIM_COAP_UNSUPPORTED_CONTENT_FORMAT = EIM_COAP_CODE(4, 15),
	EIM_COAP_INTERNAL_SERVER_ERROR = EIM_COAP_CODE(5, 0),
	EIM_COAP_SERVICE_UNAVAILABLE = EIM_COAP_CODE(5, 3),
};

/* Option numbers we know (RFC 7252 5.10, 7959 2.1, 7641, 9175 3). */
enum eim_coap_option {
	EIM_COAP_OPT_IF_MATCH = 1,
	EIM_COAP_OPT_URI_HOST = 3,
	EIM_COAP_OPT_ETAG = 4,
	EIM_COAP_OPT_IF_NONE_MATCH = 5,
	EIM_COAP_OPT_OBSERVE = 6,
	EIM_COAP_OPT_URI_PORT = 7,
	EIM_COAP_OPT_LOCATION_PATH = 8,
	EIM_COAP_OPT_URI_PATH = 11,
	EIM_COAP_OPT_CONTENT_FORMAT = 12,
	EIM_COAP_OPT_MAX_AGE = 14,
	EIM_COAP_OPT_URI_QUERY = 15,
	EIM_COAP_OPT_ACCEPT = 17,
	EIM_COAP_OPT_LOCATION_QUERY = 20,
	EIM_COAP_OPT_BLOCK2 = 23,
	EIM_COAP_OPT_BLOCK1 = 27,
	EIM_COAP_OPT_SIZE2 = 28,
	EIM_COAP_OPT_PROXY_URI = 35,
	EIM_COAP_OPT_PROXY_SCHEME = 39,
	EIM_COAP_OPT_SIZE1 = 60,
	EIM_COAP_OPT_ECHO = 252,
	EIM_COAP_OPT_NO_RESPONSE = 258,
	EIM_COAP_OPT_REQUEST_TAG = 292,
};

/* Content-Format registry value for application/octet-stream. */
#define EIM_COAP_CF_OCTET_STREAM 42

#define EIM_COAP_HEADER_LEN 4
#define EIM_COAP_TOKEN_MAX 8
/* Options kept per parsed message; more is EIM_ETOOBIG (a hostile count). */
#define EIM_COAP_MAX_OPTIONS 40

struct eim_coap_opt {
	uint16_t num;
	uint16_t len;
	const uint8_t *val; /* view into the parsed buffer */
};

struct eim_coap_msg {
	uint8_t type; /* enum eim_coap_type */
	uint8_t code;
	uint16_t mid;
	uint8_t tkl;
	uint8_t token[EIM_COAP_TOKEN_MAX];
	uint16_t nopts;
	struct eim_coap_opt opts[EIM_COAP_MAX_OPTIONS]; /* ascending num */
	const uint8_t *payload; /* NULL when payload_len == 0 */
	size_t payload_len;
};

/*
 * Reads only the fixed 4-byte header, so that a receiver can answer a
 * malformed CON (RST needs the message ID) even when eim_coap_msg_parse()
 * rejects the rest. Returns 0, EIM_ETRUNC (< 4 bytes) or EIM_EVERSION.
 * Outputs are written only on success; any may be NULL.
 */
int eim_coap_msg_peek(const uint8_t *buf, size_t len, uint8_t *ret_type,
		      uint8_t *ret_code, uint16_t *ret_mid);

/*
 * Parses one datagram into *ret (a view into buf). Returns 0 or:
 *   EIM_ETRUNC      shorter than the header, token, an option or its value
 *   EIM_EVERSION    version field is not 1
 *   EIM_EMALFORMED  TKL > 8, reserved nibble 15, option number overflow,
 *                   payload marker with empty payload, non-empty Empty msg
 *   EIM_ETOOBIG     more than EIM_COAP_MAX_OPTIONS options
 * *ret is written only on success.
 */
int eim_coap_msg_parse(const uint8_t *buf, size_t len,
		       struct eim_coap_msg *ret);

/* First option numbered num at index >= *iter (start with *iter = 0); NULL
 * when none. *iter is advanced past the returned option. */
const struct eim_coap_opt *eim_coap_msg_opt_next(const struct eim_coap_msg *m,
						 uint16_t num, size_t *iter);
/* First option numbered num, or NULL. */
const struct eim_coap_opt *eim_coap_msg_opt(const struct eim_coap_msg *m,
					    uint16_t num);

/*
 * Decodes an unsigned-integer option value (0..4 bytes, RFC 7252 3.2).
 * Returns 0 or EIM_ERANGE if longer than max_len (<= 4) bytes.
 */
int eim_coap_opt_uint(const struct eim_coap_opt *o, size_t max_len,
		      uint32_t *ret_val);

/* True for critical option numbers (odd, RFC 7252 5.4.1). */
static inline bool eim_coap_opt_is_critical(uint16_t num)
{
	return (num & 1) != 0;
}

/* Name of an option number for logs ("Uri-Path"), "Unknown" otherwise. */
const char *eim_coap_opt_name(uint16_t num);
/* Name of a code for logs ("POST", "2.05 Content"); static, never NULL. */
const char *eim_coap_code_name(uint8_t code);

/*
 * Block option value (RFC 7959 2.2): NUM (up to 20 bits), M, SZX (0..6,
 * size = 2^(SZX+4)). Decode returns EIM_ERANGE for > 3 bytes and
 * EIM_EMALFORMED for SZX 7 (reserved); encode packs the uint.
 */
struct eim_coap_block {
	uint32_t num;
	bool more;
	uint8_t szx;
};
int eim_coap_block_decode(const struct eim_coap_opt *o,
			  struct eim_coap_block *ret);
uint32_t eim_coap_block_encode(uint32_t num, bool more, uint8_t szx);
static inline size_t eim_coap_szx_size(uint8_t szx)
{
	return (size_t)1 << (szx + 4);
}

/*
 * Message writer over a caller-owned buffer. Options must be added in
 * non-decreasing number order (out-of-order is EIM_EINVAL). The first error
 * is sticky: later calls are no-ops and finish() returns it (EIM_ETOOBIG when
 * the buffer is too small). Nothing is allocated.
 */
struct eim_coap_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint16_t last_opt;
	int err;
};
void eim_coap_writer_init(struct eim_coap_writer *w, uint8_t *buf, size_t cap,
			  uint8_t type, uint8_t code, uint16_t mid,
			  const uint8_t *token, size_t tkl);
void eim_coap_writer_opt(struct eim_coap_writer *w, uint16_t num,
			 const void *val, size_t len);
/* Minimal-length unsigned integer (0 encodes as an empty value). */
void eim_coap_writer_opt_uint(struct eim_coap_writer *w, uint16_t num,
			      uint32_t val);
/* Adds each '/'-separated segment of path as one option (e.g. Uri-Path);
 * a leading '/' is skipped. */
void eim_coap_writer_opt_path(struct eim_coap_writer *w, uint16_t num,
			      const char *path);
/* Adds the payload marker and bytes (nothing when n == 0). Must be last. */
void eim_coap_writer_payload(struct eim_coap_writer *w, const void *p,
			     size_t n);
/* Returns 0 and the datagram length, or the sticky error. */
int eim_coap_writer_finish(struct eim_coap_writer *w, size_t *ret_len);

/*
 * Joins the message's Uri-Path options into "/a/b" (always starts with '/';
 * "/" when there is none). Returns 0, EIM_ETOOBIG if it does not fit cap
 * (including the NUL) or EIM_EMALFORMED if a segment holds '/' or NUL.
 */
int eim_coap_msg_path(const struct eim_coap_msg *m, char *out, size_t cap);

#endif
