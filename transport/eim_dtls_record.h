/*
 * eim_dtls_record.h - DTLS 1.2 record layer (RFC 6347 section 4.1) with the
 * Connection ID record format of RFC 9146.
 *
 * Plain record (DTLSPlaintext / DTLSCiphertext), 13-byte header:
 *
 *   +------+---------+-------+------------------+--------+----------//
 *   | type | version | epoch | sequence_number  | length | fragment
 *   |  1   |    2    |   2   |        6         |   2    |  length
 *   +------+---------+-------+------------------+--------+----------//
 *
 * Connection ID record (outer type tls12_cid = 25), RFC 9146 section 4:
 *
 *   | 25 | version | epoch | sequence_number | cid (negotiated length,
 *   not on the wire) | length | encrypted_record //
 *
 * The CID length is not encoded, so the receiver must know it: a server
 * parses with the length of the CIDs it issues.
 *
 * Protection (AEAD only, RFC 5246 section 6.2.3.3):
 *   fragment = explicit_nonce (epoch||seq, 8 bytes, CCM/GCM only)
 *              || ciphertext || tag
 *   CCM/GCM nonce = fixed_iv (4) || explicit_nonce (8)      (RFC 6655, 5288)
 *   ChaCha20 nonce = fixed_iv (12) XOR (0^4 || epoch || seq)     (RFC 7905)
 *   plain AAD = epoch || seq || type || version || plaintext length (13)
 *   CID AAD   = 8 x 0xff || 25 || cid_length || 25 || version || epoch ||
 *               seq || cid || length_of_DTLSInnerPlaintext
 *               (RFC 9146 section 5)
 *   CID plaintext = content || real content type || zero padding
 *
 * Also here: the 64-record anti-replay window (RFC 6347 section 4.1.2.6).
 */
#ifndef EIM_DTLS_RECORD_H
#define EIM_DTLS_RECORD_H

#include "common/eim_bytes.h"
#include "transport/eim_dtls_crypto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum eim_dtls_content_type {
	EIM_DTLS_CT_CCS = 20,
	EIM_DTLS_CT_ALERT = 21,
	EIM_DTLS_CT_HANDSHAKE = 22,
	EIM_DTLS_CT_APP_DATA = 23,
	EIM_DTLS_CT_TLS12_CID = 25,
};

#define EIM_DTLS_VERSION_1_0 0xfeffu
#define EIM_DTLS_VERSION_1_2 0xfefdu
#define EIM_DTLS_HDR_LEN 13
/* Our cap on CID length (RFC 9146 allows 255; longer ones are refused). */
#define EIM_DTLS_MAX_CID 32
/* RFC 6347: plaintext <= 2^14; ciphertext may add up to 2048 bytes. */
#define EIM_DTLS_MAX_PLAINTEXT 16384
#define EIM_DTLS_MAX_CIPHERTEXT (16384 + 2048)
#define EIM_DTLS_SEQ_MAX 0xffffffffffffull /* 2^48 - 1 */
/* Bytes an AEAD record adds around its content at most (CID header, explicit
 * nonce, tag, inner type); callers size output buffers with it. */
#define EIM_DTLS_RECORD_OVERHEAD                                               \
	(EIM_DTLS_HDR_LEN + EIM_DTLS_MAX_CID + 8 + 16 + 1)

/*
 * One parsed record. All pointers are views into the caller's datagram and
 * live as long as it does.
 */
struct eim_dtls_record {
	uint8_t type; /* outer content type, 25 for CID records */
	uint16_t version;
	uint16_t epoch;
	uint64_t seq;		   /* 48 bits */
	struct eim_slice cid;	   /* empty unless type == 25 */
	struct eim_slice fragment; /* `length` bytes after the header */
};

/*
 * Parses the record at the start of p[0..len). cid_len is the length of CIDs
 * this endpoint receives (0 when it takes none: type 25 is then unknown).
 * On success fills *rec and sets *ret_used to the record's total size; the
 * next record of the datagram starts there. Errors:
 *   EIM_ETRUNC     fewer bytes than the header needs
 *   EIM_ETAG       content type unknown (or 25 without a CID length)
 *   EIM_EVERSION   version is neither DTLS 1.0 nor 1.2
 *   EIM_ETOOBIG    length field above the ciphertext maximum
 *   EIM_EMALFORMED length field runs past the end of the datagram
 * A caller drops the rest of the datagram on any error (the record boundary
 * is unknown).
 */
int eim_dtls_record_parse(const uint8_t *p, size_t len, size_t cid_len,
			  struct eim_dtls_record *rec, size_t *ret_used);

/*
 * Writes a 13-byte plain header (for epoch-0 records) into out; returns
 * EIM_DTLS_HDR_LEN.
 */
size_t eim_dtls_record_put_header(uint8_t *out, uint8_t type, uint16_t version,
				  uint16_t epoch, uint64_t seq, uint16_t len);

/* Builds the 13-byte additional data of a plain AEAD record. */
void eim_dtls_aad_plain(uint8_t out[13], uint8_t type, uint16_t version,
			uint16_t epoch, uint64_t seq, uint16_t plain_len);

/*
 * Builds the RFC 9146 section 5 additional data into out (capacity at least
 * 23 + cid_len) and returns its length, 23 + cid_len.
 */
size_t eim_dtls_aad_cid(uint8_t *out, uint16_t version, uint16_t epoch,
			uint64_t seq, const uint8_t *cid, size_t cid_len,
			uint16_t inner_len);

/* Builds the 12-byte per-record nonce for key k (see the banner). */
void eim_dtls_nonce(const struct eim_dtls_aead_key *k, uint16_t epoch,
		    uint64_t seq, uint8_t out[EIM_DTLS_NONCE_LEN]);

/*
 * Protects `content` as one record of type `type` under key k and writes the
 * whole record (header included) to out. When cid_len > 0 the RFC 9146
 * format is used with cid (the CID the peer asked us to send) and `pad`
 * zero bytes of padding; otherwise the plain AEAD format. Returns 0 and sets
 * *ret_len, or EIM_ETOOBIG (content over 2^14 or out_cap too small),
 * EIM_EINVAL, EIM_ECRYPTO.
 */
int eim_dtls_record_seal(const struct eim_dtls_aead_key *k, uint8_t type,
			 uint16_t epoch, uint64_t seq, const uint8_t *cid,
			 size_t cid_len, size_t pad, const uint8_t *content,
			 size_t content_len, uint8_t *out, size_t out_cap,
			 size_t *ret_len);

/*
 * Authenticates and decrypts a parsed record under key k into out (capacity
 * out_cap, at least the fragment length). For CID records the inner content
 * type is recovered and the padding stripped. On success sets *ret_type and
 * *ret_len. Errors: EIM_EMALFORMED (fragment shorter than nonce + tag, or a
 * CID record whose inner plaintext is all zeros), EIM_ETAG (inner type 25 or
 * unknown), EIM_EVERIFY (authentication failed: drop silently),
 * EIM_ETOOBIG (plaintext over 2^14 or out_cap too small), EIM_EINVAL.
 */
int eim_dtls_record_open(const struct eim_dtls_aead_key *k,
			 const struct eim_dtls_record *rec, uint8_t *out,
			 size_t out_cap, uint8_t *ret_type, size_t *ret_len);

/*
 * Anti-replay window of the last 64 sequence numbers of one epoch. Bit i of
 * `bits` is set when sequence number top - i was accepted. A zeroed struct
 * is an empty window.
 */
struct eim_dtls_replay {
	uint64_t top;
	uint64_t bits;
};

/*
 * Returns 0 when seq may be accepted, EIM_EEXIST when it was seen, EIM_ERANGE
 * when it is older than the window (or above 2^48 - 1). Check before
 * decrypting, mark only after the record authenticated.
 */
int eim_dtls_replay_check(const struct eim_dtls_replay *w, uint64_t seq);
/* Marks seq as seen, sliding the window forward when seq is the newest. */
void eim_dtls_replay_mark(struct eim_dtls_replay *w, uint64_t seq);

#endif
