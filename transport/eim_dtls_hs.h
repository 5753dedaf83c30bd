/*
 * eim_dtls_hs.h - DTLS 1.2 handshake message codec (RFC 6347 section 4.2,
 * RFC 5246 section 7.4) and fragment reassembly.
 *
 * Handshake header (12 bytes, RFC 6347 section 4.2.2):
 *
 *   | msg_type 1 | length 3 | message_seq 2 | fragment_offset 3 |
 *   | fragment_length 3 | fragment ...
 *
 * Every parser works on a cursor and a remaining length and returns views
 * into the caller's bytes. Extensions we act on (RFC 7627 extended master
 * secret, RFC 9146 connection_id, RFC 5746 renegotiation_info) are decoded;
 * all others are skipped after their framing was checked.
 */
#ifndef EIM_DTLS_HS_H
#define EIM_DTLS_HS_H

#include "common/eim_bytes.h"
#include "transport/eim_dtls_record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum eim_dtls_hs_type {
	EIM_DTLS_HS_CLIENT_HELLO = 1,
	EIM_DTLS_HS_SERVER_HELLO = 2,
	EIM_DTLS_HS_HELLO_VERIFY_REQUEST = 3,
	EIM_DTLS_HS_CERTIFICATE = 11,
	EIM_DTLS_HS_SERVER_KEY_EXCHANGE = 12,
	EIM_DTLS_HS_CERTIFICATE_REQUEST = 13,
	EIM_DTLS_HS_SERVER_HELLO_DONE = 14,
	EIM_DTLS_HS_CERTIFICATE_VERIFY = 15,
	EIM_DTLS_HS_CLIENT_KEY_EXCHANGE = 16,
	EIM_DTLS_HS_FINISHED = 20,
};

/* Cipher suites (IANA TLS registry). */
#define EIM_DTLS_PSK_AES128_CCM8 0xc0a8u
#define EIM_DTLS_PSK_AES128_GCM_SHA256 0x00a8u
#define EIM_DTLS_ECDHE_PSK_CHACHA20 0xccacu
#define EIM_DTLS_ECDHE_ECDSA_AES128_CCM8 0xc0aeu
#define EIM_DTLS_ECDHE_ECDSA_AES128_GCM 0xc02bu
#define EIM_DTLS_ECDHE_ECDSA_CHACHA20 0xcca9u
#define EIM_DTLS_EMPTY_RENEGOTIATION_SCSV 0x00ffu

/* The IANA name of one of the six suites above ("TLS_PSK_WITH_AES_128_
 * CCM_8", ...), or NULL for any other value. */
const char *eim_dtls_suite_name(uint16_t suite);
/* The suite of an IANA name (exact, case-sensitive) into *ret: 0, or
 * EIM_ENOTFOUND for a suite we do not implement. */
int eim_dtls_suite_by_name(const char *name, uint16_t *ret);

/* Extension code points. */
#define EIM_DTLS_EXT_SUPPORTED_GROUPS 10u
#define EIM_DTLS_EXT_EC_POINT_FORMATS 11u
#define EIM_DTLS_EXT_SIGNATURE_ALGORITHMS 13u
#define EIM_DTLS_EXT_CLIENT_CERT_TYPE 19u /* RFC 7250 */
#define EIM_DTLS_EXT_SERVER_CERT_TYPE 20u /* RFC 7250 */
#define EIM_DTLS_EXT_EMS 23u
#define EIM_DTLS_EXT_RECORD_SIZE_LIMIT 28u /* RFC 8449 */
#define EIM_DTLS_EXT_CONNECTION_ID 54u	   /* RFC 9146 */
#define EIM_DTLS_EXT_RENEGOTIATION 0xff01u

/* SignatureAndHashAlgorithm ecdsa_secp256r1_sha256 (sha256, ecdsa). */
#define EIM_DTLS_SIG_ECDSA_SHA256 0x0403u
/* Named groups secp256r1 and x25519 (RFC 8422 section 5.1.1). */
#define EIM_DTLS_GROUP_P256 23u
#define EIM_DTLS_GROUP_X25519 29u

#define EIM_DTLS_HS_HDR_LEN 12
#define EIM_DTLS_COOKIE_MAX 255

/* One parsed handshake header and the fragment that follows it. */
struct eim_dtls_hs_frag {
	uint8_t type;
	uint32_t length; /* of the whole message */
	uint16_t msg_seq;
	uint32_t frag_off;
	struct eim_slice frag; /* frag.len = fragment_length */
};

/*
 * Parses one handshake fragment at the start of p[0..len); *ret_used is its
 * size. Errors: EIM_ETRUNC (short header or fragment past the record),
 * EIM_EMALFORMED (fragment_offset + fragment_length > length).
 */
int eim_dtls_hs_parse_frag(const uint8_t *p, size_t len,
			   struct eim_dtls_hs_frag *ret, size_t *ret_used);

/* Appends a 12-byte handshake header. */
void eim_dtls_hs_put_header(struct eim_buf *b, uint8_t type, uint32_t length,
			    uint16_t msg_seq, uint32_t frag_off,
			    uint32_t frag_len);

/* Hello extensions we understand (views into the message). */
struct eim_dtls_hello_ext {
	bool ems;		    /* extended_master_secret present */
	bool reneg_info;	    /* renegotiation_info present (and empty) */
	bool cid;		    /* connection_id present */
	struct eim_slice cid_value; /* the CID the sender wants to receive */
	bool groups;		    /* supported_groups present */
	bool group_p256;	    /* ... and lists secp256r1 */
	bool group_x25519;	    /* ... and lists x25519 */
	bool formats;		    /* ec_point_formats present */
	bool uncompressed;	    /* ... and lists uncompressed (0) */
	bool sigalgs;		    /* signature_algorithms present */
	bool sig_ecdsa_sha256;	    /* ... and lists ecdsa + sha256 */
	uint16_t record_size_limit; /* 0 when absent; else >= 64 */
	/* RFC 7250 client_certificate_type / server_certificate_type: in a
	 * ClientHello the list of CertificateType bytes (length byte
	 * checked and removed), in a ServerHello the one chosen type */
	bool client_ctype, server_ctype;
	struct eim_slice client_ctypes, server_ctypes;
};

struct eim_dtls_client_hello {
	uint16_t version;
	const uint8_t *random; /* 32 bytes */
	struct eim_slice session_id;
	struct eim_slice cookie;
	struct eim_slice suites; /* pairs of bytes */
	bool null_compression;
	bool scsv; /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV offered */
	struct eim_dtls_hello_ext ext;
};

/*
 * Parses a complete ClientHello body. Errors: EIM_ETRUNC (a length runs past
 * the body), EIM_EMALFORMED (odd or empty suite list, empty compression list,
 * duplicate extension, non-empty renegotiation_info or EMS, CID length
 * mismatch, an empty or mis-framed certificate type list, trailing bytes),
 * EIM_ETOOBIG (CID longer than EIM_DTLS_MAX_CID).
 */
int eim_dtls_hs_parse_client_hello(const uint8_t *p, size_t len,
				   struct eim_dtls_client_hello *ret);

/* True when the ClientHello offers `suite`. */
bool eim_dtls_hs_offers(const struct eim_dtls_client_hello *ch, uint16_t suite);

struct eim_dtls_server_hello {
	uint16_t version;
	const uint8_t *random;
	struct eim_slice session_id;
	uint16_t suite;
	uint8_t compression;
	struct eim_dtls_hello_ext ext;
};

/* Parses a ServerHello body (same error convention; a certificate type
 * extension must hold exactly one byte). */
int eim_dtls_hs_parse_server_hello(const uint8_t *p, size_t len,
				   struct eim_dtls_server_hello *ret);

/*
 * Parses a HelloVerifyRequest body: server_version and cookie (a view).
 * Errors: EIM_ETRUNC, EIM_EMALFORMED (trailing bytes).
 */
int eim_dtls_hs_parse_hvr(const uint8_t *p, size_t len,
			  struct eim_slice *ret_cookie);

/* Which extensions eim_dtls_hs_put_hello_ext() writes. */
struct eim_dtls_ext_out {
	bool reneg;  /* renegotiation_info, empty (initial handshake) */
	bool ems;    /* extended_master_secret */
	bool groups; /* supported_groups: x25519, secp256r1 (client only) */
	uint16_t groups_only; /* ... 0, or this one group alone */
	bool formats;	      /* ec_point_formats: uncompressed */
	bool sigalgs;	      /* signature_algorithms: ecdsa_secp256r1_sha256 */
	uint16_t record_size_limit; /* RFC 8449 value, 0 = do not send */
	bool cid;		    /* connection_id carrying cid[0..cid_len) */
	const uint8_t *cid_value;
	size_t cid_len;
	/* RFC 7250: the chosen type, one byte each (ServerHello), or with
	 * ctype_lists a one-element list (ClientHello) */
	bool client_ctype, server_ctype;
	uint8_t client_ctype_value, server_ctype_value;
	bool ctype_lists;
};

/* Appends the extensions block (nothing at all when none is selected). */
void eim_dtls_hs_put_hello_ext(struct eim_buf *b,
			       const struct eim_dtls_ext_out *o);

/*
 * Reassembly of one handshake message from fragments (RFC 6347 section
 * 4.2.3). Only the message with the expected message_seq is collected
 * here, bounded by max_len; fragments of later messages are the caller's
 * (the server keeps a bounded few, the client drops them and the peer
 * retransmits). A zeroed struct is ready; eim_dtls_reasm_done() frees.
 */
struct eim_dtls_reasm {
	uint8_t type;
	uint16_t msg_seq;
	uint32_t length;
	uint32_t have; /* bytes covered so far */
	uint8_t *buf;  /* length bytes (owned) */
	uint8_t *map;  /* one bit per byte received (owned) */
};

/*
 * Adds fragment f (whose msg_seq the caller checked is the expected one).
 * Returns 1 and sets *ret_msg (a view valid until the next call or done)
 * when the message is complete, 0 when more fragments are needed. Errors:
 * EIM_ETOOBIG (length > max_len), EIM_EMALFORMED (type or length differ
 * from earlier fragments of the same message), EIM_ENOMEM.
 */
int eim_dtls_reasm_add(struct eim_dtls_reasm *r,
		       const struct eim_dtls_hs_frag *f, size_t max_len,
		       struct eim_slice *ret_msg);
void eim_dtls_reasm_done(struct eim_dtls_reasm *r);

#endif
