/*
 * eim_dtls_int.h - internals shared by the DTLS server and client files
 * (not a public interface; include only from transport/eim_dtls_*.c).
 *
 * struct eim_dtls_conn is one DTLS association as both roles see it: the
 * record state of each direction, the Connection IDs, and while the
 * handshake runs a separately allocated struct eim_dtls_hs_state that is
 * freed once it is over, so that an idle session stays small.
 */
#ifndef EIM_DTLS_INT_H
#define EIM_DTLS_INT_H

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "common/eim_bytes.h"
#include "transport/eim_dtls_crypto.h"
#include "transport/eim_dtls_hs.h"
#include "transport/eim_dtls_record.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Alert descriptions we send (RFC 5246 7.2, RFC 4279 section 2). */
enum eim_dtls_alert {
	EIM_DTLS_ALERT_CLOSE_NOTIFY = 0,
	EIM_DTLS_ALERT_UNEXPECTED_MESSAGE = 10,
	EIM_DTLS_ALERT_BAD_RECORD_MAC = 20,
	EIM_DTLS_ALERT_HANDSHAKE_FAILURE = 40,
	EIM_DTLS_ALERT_BAD_CERTIFICATE = 42,
	EIM_DTLS_ALERT_UNSUPPORTED_CERTIFICATE = 43,
	EIM_DTLS_ALERT_CERTIFICATE_UNKNOWN = 46,
	EIM_DTLS_ALERT_ILLEGAL_PARAMETER = 47,
	EIM_DTLS_ALERT_DECODE_ERROR = 50,
	EIM_DTLS_ALERT_DECRYPT_ERROR = 51,
	EIM_DTLS_ALERT_PROTOCOL_VERSION = 70,
	EIM_DTLS_ALERT_INTERNAL_ERROR = 80,
	EIM_DTLS_ALERT_NO_RENEGOTIATION = 100, /* a warning (RFC 5246 7.2.2) */
};

/* Handshake and connection states, both roles (one enum, one dispatcher
 * per role checks them). */
enum eim_dtls_state {
	EIM_DTLS_ST_NONE = 0,
	/* client */
	EIM_DTLS_ST_C_WAIT_SERVER_HELLO, /* CH sent, HVR or SH expected */
	EIM_DTLS_ST_C_WAIT_HELLO_DONE,	 /* SH seen, SHD expected */
	/* server */
	EIM_DTLS_ST_S_WAIT_CERT, /* SH..CR,SHD sent, client Certificate next */
	EIM_DTLS_ST_S_WAIT_CKE,	 /* SH..SHD sent, ClientKeyExchange expected */
	EIM_DTLS_ST_S_WAIT_CV,	 /* client CertificateVerify expected */
	/* both */
	EIM_DTLS_ST_WAIT_CCS,	   /* peer's ChangeCipherSpec expected */
	EIM_DTLS_ST_WAIT_FINISHED, /* peer's Finished expected (epoch 1) */
	EIM_DTLS_ST_ESTABLISHED,
	EIM_DTLS_ST_CLOSED,
};

union eim_dtls_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

#define EIM_DTLS_PSK_MAX 64
#define EIM_DTLS_IDENTITY_MAX 128
/* Largest handshake message we reassemble (PSK flights are small). */
#define EIM_DTLS_HS_MSG_MAX 4096
/* Bound on buffered out-of-order handshake bytes per handshake, and how
 * far ahead of the expected message_seq a fragment may be to be kept. */
#define EIM_DTLS_FUTURE_MAX 4096
#define EIM_DTLS_FUTURE_AHEAD 4

/* Key exchange of a suite. */
enum eim_dtls_kx {
	EIM_DTLS_KX_PSK = 1,	 /* RFC 4279 */
	EIM_DTLS_KX_ECDHE_PSK,	 /* RFC 5489 */
	EIM_DTLS_KX_ECDHE_ECDSA, /* RFC 8422, server certificate */
};

/* RFC 7250 CertificateType values. */
#define EIM_DTLS_CTYPE_X509 0u
#define EIM_DTLS_CTYPE_RPK 2u

struct eim_dtls_hs_state {
	uint16_t suite;
	uint8_t kx;		      /* enum eim_dtls_kx */
	struct eim_dtls_ecdhe *ecdhe; /* our ephemeral key (ECDHE suites) */
	uint8_t ecdh_z[EIM_DTLS_P256_SECRET_LEN];  /* client: from the SKE */
	uint8_t ecdh_pub[EIM_DTLS_P256_POINT_LEN]; /* client: our point */
	bool have_ske;
	bool have_cert; /* client: server certificate checked */
	/* the peer's certified key: the server's (client role) or the
	 * client's, for its CertificateVerify (server role) */
	uint8_t peer_pub[EIM_DTLS_P256_POINT_LEN];
	/* server: a CertificateRequest went out; the certificate types
	 * agreed for each side (RFC 7250: 0 X.509, 2 raw public key) */
	bool cert_req;
	uint8_t client_ctype, server_ctype;
	/* client: the CertificateRequest allows ecdsa_secp256r1_sha256 */
	bool have_cert_usable;
	const struct eim_dtls_aead_info *aead;
	uint8_t crandom[EIM_DTLS_RANDOM_LEN];
	uint8_t srandom[EIM_DTLS_RANDOM_LEN];
	uint8_t master[EIM_DTLS_MASTER_LEN];
	bool ems;
	wc_Sha256 transcript;
	uint16_t rx_seq; /* next message_seq expected from the peer */
	uint16_t tx_seq; /* message_seq of our next message */
	struct eim_dtls_reasm reasm;
	/* Handshake fragments that arrived ahead of rx_seq (server), kept
	 * for later: entries of [epoch 2][len 2][fragment with its header],
	 * at most EIM_DTLS_FUTURE_MAX bytes. */
	struct eim_buf future;
	/* Our last flight, to retransmit: entries of
	 * [epoch 2][kind 1: 0 = handshake message, 1 = CCS][len 3][bytes]
	 * where handshake bytes include their 12-byte unfragmented header. */
	struct eim_buf flight;
	uint64_t started_ms;
	uint64_t rtx_at_ms; /* 0 = no timer armed */
	uint32_t rtx_ms;    /* current timeout, doubles up to 60 s */
	unsigned rtx_count;
	uint64_t last_flight_ms;
	/* client only */
	uint8_t cookie[EIM_DTLS_COOKIE_MAX];
	uint8_t cookie_len;
	uint8_t hvr_count; /* HelloVerifyRequests followed so far */
};

struct eim_dtls_conn;
/* Hands one datagram to the owner (who knows the peer address). */
typedef int (*eim_dtls_conn_out_fn)(struct eim_dtls_conn *c, const uint8_t *d,
				    size_t n);

struct eim_dtls_conn {
	bool is_server;
	enum eim_dtls_state state;
	union eim_dtls_sockaddr addr;
	socklen_t addr_len;
	uint8_t cid[EIM_DTLS_MAX_CID]; /* we receive records with this CID */
	uint8_t cid_len;
	uint8_t peer_cid[EIM_DTLS_MAX_CID]; /* we send records with this one */
	uint8_t peer_cid_len;
	bool cid_on;	   /* connection_id negotiated */
	uint16_t r_epoch;  /* epoch of records we accept (0 or 1) */
	uint64_t w_seq[2]; /* next sequence number, epochs 0 and 1 */
	struct eim_dtls_replay replay;
	struct eim_dtls_aead_key rkey, wkey;
	uint64_t last_ms; /* last authenticated activity */
	uint16_t mtu;
	/* RFC 8449: largest protected plaintext the peer accepts (16384
	 * unless it sent record_size_limit) */
	uint16_t peer_rsl;
	struct eim_dtls_hs_state *hs;
	/* Authenticated peer identity (owned, NUL-terminated copy): the PSK
	 * identity, or the SHA-256 of the client's certificate / SPKI;
	 * identity_kind says which (enum eim_dtls_identity_kind). */
	uint8_t *identity;
	uint16_t identity_len;
	uint8_t identity_kind;
	eim_dtls_conn_out_fn out;
	/* Debug only: receives "CLIENT_RANDOM <hex> <hex>" (NSS key log). */
	void (*keylog)(void *ctx, const char *line);
	void *keylog_ctx;
	void *user;
};

/* ---- eim_dtls_conn.c ---- */

/* Allocates the handshake state; 0 or EIM_ENOMEM. */
int eim_dtls_conn_hs_new(struct eim_dtls_conn *c, uint64_t now_ms);
/* Frees handshake state and wipes its secrets (NULL-safe). */
void eim_dtls_conn_hs_free(struct eim_dtls_conn *c);
/* Wipes keys and frees everything the conn owns (not the conn itself). */
void eim_dtls_conn_done(struct eim_dtls_conn *c);

/*
 * RFC 6347 4.2.2: keeps a handshake fragment of a later message than the
 * next expected one (raw[0..used) with its header, received at `epoch`)
 * until its turn, at most EIM_DTLS_FUTURE_AHEAD messages ahead and
 * EIM_DTLS_FUTURE_MAX bytes in all. Returns 0, or EIM_ETOOBIG (not kept:
 * the peer will retransmit it), EIM_ENOMEM.
 */
int eim_dtls_conn_keep_future(struct eim_dtls_conn *c, uint16_t epoch,
			      const struct eim_dtls_hs_frag *f,
			      const uint8_t *raw, size_t used);
/*
 * Moves every kept fragment of the message now expected (hs->rx_seq), of
 * one epoch, into out, concatenated as in a record, and drops stale ones.
 * Returns the bytes written (0: none) and sets *epoch.
 */
size_t eim_dtls_conn_take_future(struct eim_dtls_conn *c, uint16_t *epoch,
				 uint8_t out[EIM_DTLS_FUTURE_MAX]);

/* Adds a full handshake message (header built here with tx_seq++) to the
 * transcript and to the flight. epoch: 0 plain, 1 protected. */
void eim_dtls_conn_flight_hs(struct eim_dtls_conn *c, uint16_t epoch,
			     uint8_t type, const uint8_t *body, size_t len);
/* Adds a ChangeCipherSpec to the flight. */
void eim_dtls_conn_flight_ccs(struct eim_dtls_conn *c);
/* Empties the flight (start of a new one). */
void eim_dtls_conn_flight_reset(struct eim_dtls_conn *c);
/* Sends (or resends) the whole flight as records packed into datagrams of
 * at most mtu bytes, fragmenting handshake messages when needed; arms the
 * retransmission timer when `arm`. */
int eim_dtls_conn_flight_send(struct eim_dtls_conn *c, uint64_t now_ms,
			      bool arm);
/* Sends flight entries fl[0..fl_len) (the format of hs->flight, e.g. a
 * copy kept after the handshake state is gone) as flight_send does,
 * without touching timers. */
int eim_dtls_conn_entries_send(struct eim_dtls_conn *c, const uint8_t *fl,
			       size_t fl_len);
/* Feeds a received complete handshake message into the transcript. */
void eim_dtls_conn_transcript_msg(struct eim_dtls_conn *c, uint8_t type,
				  uint16_t msg_seq, const uint8_t *body,
				  size_t len);
/* SHA-256 of the transcript so far (the running hash is not disturbed). */
int eim_dtls_conn_transcript_hash(struct eim_dtls_conn *c, uint8_t out[32]);

/* Sends one record of `type` now at the current write epoch (1 once our
 * CCS went out, else 0). */
int eim_dtls_conn_send_record(struct eim_dtls_conn *c, uint16_t epoch,
			      uint8_t type, const uint8_t *data, size_t len);
/* Sends a fatal alert (close_notify and no_renegotiation: level 1,
 * warning) at epoch `epoch`. */
void eim_dtls_conn_send_alert(struct eim_dtls_conn *c, uint16_t epoch,
			      uint8_t desc);

/*
 * Authenticates and decrypts a record of epoch >= 1 into out. Checks the
 * epoch and the replay window first. Sets *ret_newest when the sequence
 * number is above every one accepted before (RFC 9146 section 6 uses it for
 * address updates). Errors: EIM_ERANGE (wrong epoch), EIM_EEXIST/EIM_ERANGE
 * from the replay window, and eim_dtls_record_open()'s.
 */
int eim_dtls_conn_open(struct eim_dtls_conn *c, const struct eim_dtls_record *r,
		       uint8_t *out, size_t out_cap, uint8_t *ret_type,
		       size_t *ret_len, bool *ret_newest);

/* Derives master secret and keys from a pre-master secret and the
 * transcript (EMS) or randoms; installs them in c->rkey/wkey by role. */
int eim_dtls_conn_derive(struct eim_dtls_conn *c, const uint8_t *pms,
			 size_t pms_len);

/*
 * Builds a PSK pre-master secret into out (capacity 4 + 2 * 64):
 * uint16 len || other || uint16 psk_len || psk, where `other` is psk_len
 * zero bytes for plain PSK (RFC 4279 section 2, z == NULL) or the ECDH
 * shared secret for ECDHE_PSK (RFC 5489 section 2). Returns the length.
 */
size_t eim_dtls_psk_pms(const uint8_t *z, size_t z_len, const uint8_t *psk,
			size_t psk_len, uint8_t *out);

/* The AEAD family of a suite we implement, or NULL. */
const struct eim_dtls_aead_info *eim_dtls_suite_aead(uint16_t suite);
/* The key exchange of a suite we implement, or 0. */
int eim_dtls_suite_kx(uint16_t suite);

/* Retransmission timer bounds (RFC 6347 section 4.2.4.1). */
#define EIM_DTLS_RTX_INITIAL_MS 1000u
#define EIM_DTLS_RTX_MAX_MS 60000u
#define EIM_DTLS_RTX_MAX_COUNT 7u

#endif
