/*
 * eim_dtls_server.h - DTLS 1.2 server with Connection ID (RFC 6347,
 * RFC 9146, profile of RFC 7925), bytes in and bytes out.
 *
 * The server owns no socket and reads no clock. The owner feeds it each
 * received datagram with eim_dtls_server_input() and the current time; the
 * server answers through the send() callback, hands decrypted application
 * data to on_app_data(), and asks psk_lookup() for keys. Timers
 * (retransmission, handshake expiry, idle eviction) run when the owner calls
 * eim_dtls_server_tick() at or after eim_dtls_server_next_timeout().
 *
 * Sessions are found by Connection ID for tls12_cid records and by source
 * address otherwise. A session moves to a new address only on a record that
 * carries its CID, authenticates and is newer than every record seen before
 * (RFC 9146 section 6). Before a ClientHello returns a valid cookie the
 * server keeps nothing about the peer (stateless HelloVerifyRequest).
 *
 * Implemented: TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_GCM_SHA256,
 * TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256 and, with a server key
 * (X.509 chain or raw public key, RFC 7250),
 * TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, _AES_128_GCM_SHA256 and
 * _CHACHA20_POLY1305_SHA256, all on P-256; optional client authentication
 * on the ECDHE_ECDSA suites by X.509 certificate (CA check and/or
 * fingerprint pinning) or raw public key (SPKI pinning); extensions
 * extended_master_secret, renegotiation_info (initial handshake only; a
 * later ClientHello gets a no_renegotiation warning), connection_id,
 * supported_groups, ec_point_formats, signature_algorithms,
 * client_certificate_type, server_certificate_type and record_size_limit.
 *
 * Not thread-safe: one server is driven by one thread.
 */
#ifndef EIM_DTLS_SERVER_H
#define EIM_DTLS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct eim_dtls_server;
/* One DTLS association; owned by the server, valid until on_closed(). */
struct eim_dtls_session;

/* Why a session ended (argument of on_closed). */
enum eim_dtls_close_reason {
	EIM_DTLS_CLOSE_PEER_CLOSED = 1, /* close_notify or fatal alert */
	EIM_DTLS_CLOSE_HANDSHAKE_FAILED,
	EIM_DTLS_CLOSE_IDLE,
	EIM_DTLS_CLOSE_LOCAL,	 /* eim_dtls_session_close() */
	EIM_DTLS_CLOSE_REPLACED, /* the peer started a new handshake */
	EIM_DTLS_CLOSE_SHUTDOWN, /* eim_dtls_server_free() */
};

/* What authenticated the peer of a session (eim_dtls_session_identity). */
enum eim_dtls_identity_kind {
	EIM_DTLS_ID_NONE = 0, /* handshake not complete, or no client auth */
	EIM_DTLS_ID_PSK = 1,  /* identity: the PSK identity bytes */
	EIM_DTLS_ID_CERT = 2, /* identity: SHA-256 of the client cert DER */
	EIM_DTLS_ID_RPK = 3,  /* identity: SHA-256 of the client's SPKI DER */
};

struct eim_dtls_server_config {
	void *ctx; /* passed to every callback */
	/* Sends one datagram to `to`. Return value is ignored but counted. */
	int (*send)(void *ctx, const struct sockaddr *to, socklen_t to_len,
		    const uint8_t *data, size_t len);
	/* Decrypted application data of an established session. The session
	 * may be used (send, close) from inside the callback. */
	void (*on_app_data)(void *ctx, struct eim_dtls_session *s,
			    const uint8_t *data, size_t len);
	/* Writes the PSK for identity into key (capacity *key_len, at least
	 * 64) and sets *key_len; returns 0, or a negative EIM_E* when the
	 * identity is unknown. Required for PSK suites. */
	int (*psk_lookup)(void *ctx, const uint8_t *identity,
			  size_t identity_len, uint8_t *key, size_t *key_len);
	/* Optional: the handshake completed. */
	void (*on_established)(void *ctx, struct eim_dtls_session *s);
	/* Optional: the session is about to be freed. */
	void (*on_closed)(void *ctx, struct eim_dtls_session *s,
			  enum eim_dtls_close_reason why);
	/* DEBUG ONLY, NULL by default: receives one NSS key log line
	 * ("CLIENT_RANDOM <client random hex> <master secret hex>", no
	 * newline) per handshake, so that captures can be decrypted in
	 * Wireshark. Anyone holding these lines can read the traffic: the
	 * owner must enable it only on explicit request and say so loudly in
	 * its log. */
	void (*keylog)(void *ctx, const char *line);

	/* Server preference order of cipher suites (IANA values); NULL uses
	 * the default order of eim_dtls_server_config_init(). */
	const uint16_t *suites;
	size_t n_suites;
	/* Length of the CIDs we issue, 0..32 (0: do not negotiate CIDs). */
	size_t cid_len;
	/* Optional fixed prefix of every CID (e.g. a node id for a load
	 * balancer); must be shorter than cid_len. */
	const uint8_t *cid_prefix;
	size_t cid_prefix_len;
	/* Server credentials for the ECDHE_ECDSA suites: PEM text of the
	 * certificate chain (leaf first) and of its P-256 private key, parsed
	 * and copied by eim_dtls_server_new() (the caller may wipe its copy).
	 * key_pem alone makes a raw-public-key-only server (RFC 7250): then
	 * only clients that accept a raw server key get ECDHE_ECDSA. With
	 * both, the raw key is sent to clients that prefer it. */
	const char *cert_pem;
	size_t cert_pem_len;
	const char *key_pem;
	size_t key_pem_len;
	/* Client authentication on the ECDHE_ECDSA suites (RFC 5246 7.4.4,
	 * RFC 7250). When ca_pem or cert_check is set, the server sends a
	 * CertificateRequest (ecdsa_sign, ecdsa_secp256r1_sha256) and the
	 * client must answer with a P-256 certificate or raw key and a valid
	 * CertificateVerify, else the handshake fails with an alert.
	 * ca_pem: PEM CA certificates (copied); an X.509 client certificate
	 * must be issued by one of them. cert_check: called with the kind
	 * (EIM_DTLS_ID_CERT or _RPK) and the 32-byte SHA-256 fingerprint
	 * (certificate DER / SPKI DER); returns 0 to accept, a negative
	 * EIM_E* to refuse. With both, a certificate must pass both. Raw
	 * public keys are offered only when cert_check is set (pinning is
	 * their only trust). PSK suites never request a certificate. */
	const char *ca_pem;
	size_t ca_pem_len;
	int (*cert_check)(void *ctx, enum eim_dtls_identity_kind kind,
			  const uint8_t fp[32]);
	/* Without ca_pem a certificate is trusted by its pin alone; its
	 * validity period is still checked (certificate_expired) unless this
	 * is set. Certificates checked against ca_pem always are. */
	bool pinned_allow_expired;
	/* PSK identity hint sent in the ServerKeyExchange of ECDHE_PSK
	 * suites (RFC 4279 section 2; plain PSK sends none), 0..128 bytes,
	 * copied. */
	const uint8_t *psk_hint;
	size_t psk_hint_len;
	/* established + handshaking; a limit only: the session tables
	 * start small and grow with the sessions present */
	size_t max_sessions;
	size_t max_handshakes; /* handshaking at the same time */
	uint32_t idle_timeout_ms;
	uint32_t handshake_timeout_ms;
	/* With max_handshakes reached, a new client (past the cookie)
	 * replaces the oldest handshake in progress once that one has run
	 * this long (0: refuse the new client instead). Default 5 s. */
	uint32_t handshake_evict_ms;
	uint32_t cookie_period_ms;
	uint16_t mtu;	  /* largest datagram we send */
	bool require_ems; /* refuse clients without RFC 7627 */
	/* ECDHE key exchange: secp256r1 when the client lists it (default);
	 * with this set, x25519 for ECDHE_ECDSA when the client lists it
	 * (about 4x cheaper on Debian's wolfCrypt, see BENCHMARKS.md) */
	bool prefer_x25519;
};

/* Fills cfg with defaults (callbacks NULL). Suites, in preference order
 * (those whose credentials are missing are left out): PSK-AES128-CCM8,
 * ECDHE-ECDSA-AES128-CCM8, PSK-AES128-GCM-SHA256,
 * ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-PSK-CHACHA20-POLY1305,
 * ECDHE-ECDSA-CHACHA20-POLY1305.
 * CID length 8, 10000 sessions, 1000 handshakes (the oldest replaced
 * after 5 s when full), 10 min idle, 60 s handshake, 60 s cookie period, MTU
 * 1280, EMS used when offered but not required. */
void eim_dtls_server_config_init(struct eim_dtls_server_config *cfg);

/*
 * Creates a server. The config is copied (the suites array and cid_prefix
 * too); callbacks and ctx must stay valid until eim_dtls_server_free().
 * now_ms is the current time on the owner's monotonic clock. Errors:
 * EIM_EINVAL (missing send, neither psk_lookup nor a key, cert_pem
 * without key_pem, cid_len > 32, prefix too long, a suite without its
 * credentials, ca_pem or cert_check without key_pem), the errors of
 * eim_dtls_cred_from_pem() for the certificate and key, EIM_ECERT (ca_pem
 * has no usable CA), EIM_ENOMEM, EIM_ECRYPTO (RNG).
 */
int eim_dtls_server_new(const struct eim_dtls_server_config *cfg,
			uint64_t now_ms, struct eim_dtls_server **ret);

/* Closes every session (on_closed with EIM_DTLS_CLOSE_SHUTDOWN, no alert
 * sent), wipes all keys and frees the server. NULL is a no-op. */
void eim_dtls_server_free(struct eim_dtls_server *srv);

/*
 * Processes one received datagram from `from` (IPv4 or IPv6; from_len may
 * be larger than the address, e.g. sizeof(struct sockaddr_storage)).
 * Returns 0 when the datagram was handled or dropped as DTLS says (bad
 * records are dropped silently and counted in the stats), EIM_EINVAL on
 * bad arguments or another address family.
 */
int eim_dtls_server_input(struct eim_dtls_server *srv,
			  const struct sockaddr *from, socklen_t from_len,
			  const uint8_t *dgram, size_t len, uint64_t now_ms);

/* Absolute time (ms) at which eim_dtls_server_tick() has work, or
 * UINT64_MAX when nothing is pending. */
uint64_t eim_dtls_server_next_timeout(const struct eim_dtls_server *srv);

/* Runs retransmissions, handshake expiry and idle eviction due at now_ms. */
void eim_dtls_server_tick(struct eim_dtls_server *srv, uint64_t now_ms);

/* Counters of everything that happened, drops by reason. */
struct eim_dtls_server_stats {
	uint64_t datagrams;
	uint64_t records_malformed;  /* record framing wrong: rest dropped */
	uint64_t records_no_session; /* unknown CID / address, not a hello */
	uint64_t records_bad_epoch;
	uint64_t records_replayed;
	uint64_t records_auth_failed; /* dropped silently */
	uint64_t records_unexpected;  /* wrong content type for the state */
	uint64_t hello_malformed;
	uint64_t hello_verify_sent;
	uint64_t cookie_bad;
	uint64_t handshakes_started;
	uint64_t handshakes_completed;
	uint64_t handshakes_failed;
	uint64_t handshakes_refused; /* limits reached */
	uint64_t handshakes_evicted; /* oldest made room, see config */
	uint64_t client_auth_failed; /* certificate/key refused or bad CV */
	uint64_t hs_buffered; /* future handshake messages kept for later */
	uint64_t renegotiation_refused;
	uint64_t retransmissions;
	uint64_t sessions_idle_evicted;
	uint64_t address_changes;
	/* a CID session's address taken by another session: kept, by CID */
	uint64_t addresses_displaced;
	uint64_t send_errors;
	uint64_t
		table_resizes; /* session tables doubled (they grow with use) */
	uint64_t hs_freed;     /* handshake states released */
	uint64_t hs_states;    /* current: sessions still holding one */
	uint64_t sessions;     /* current */
	uint64_t handshaking;  /* current */
};
void eim_dtls_server_stats(const struct eim_dtls_server *srv,
			   struct eim_dtls_server_stats *ret);

/*
 * Encrypts data as one application_data record of an established session
 * and sends it to the session's current address. Errors: EIM_ESTATE (not
 * established or closing), EIM_ETOOBIG (over 16384 bytes, or over the
 * record_size_limit the client announced, RFC 8449),
 * EIM_EEXHAUSTED (sequence numbers used up), EIM_EINVAL.
 */
int eim_dtls_session_send(struct eim_dtls_session *s, const uint8_t *data,
			  size_t len);

/* Sends close_notify and closes the session; on_closed runs before it is
 * freed (after the current callback returns, if called from one). */
void eim_dtls_session_close(struct eim_dtls_session *s);

/* The authenticated identity, or NULL (and *len untouched) before the
 * handshake completed or when the client did not authenticate (ECDHE_ECDSA
 * without client auth). By eim_dtls_session_identity_kind(): the PSK
 * identity bytes (not NUL-terminated), or the 32-byte SHA-256 fingerprint
 * of the client certificate DER (CERT) or of its SPKI DER (RPK). Valid as
 * long as the session. */
const uint8_t *eim_dtls_session_identity(const struct eim_dtls_session *s,
					 size_t *len);
/* What eim_dtls_session_identity() holds; EIM_DTLS_ID_NONE before the
 * handshake completed or without client authentication. */
enum eim_dtls_identity_kind
eim_dtls_session_identity_kind(const struct eim_dtls_session *s);
/* The peer's current address (changes on a CID address update). */
const struct sockaddr *eim_dtls_session_peer(const struct eim_dtls_session *s,
					     socklen_t *len);
/* The CID the peer sends to us (our CID), *len = 0 when none. */
const uint8_t *eim_dtls_session_cid(const struct eim_dtls_session *s,
				    size_t *len);
/* The negotiated cipher suite (IANA value), 0 during the handshake. */
uint16_t eim_dtls_session_suite(const struct eim_dtls_session *s);
/* An owner pointer for the layer above (CoAP), NULL initially. */
void eim_dtls_session_set_user(struct eim_dtls_session *s, void *user);
void *eim_dtls_session_user(const struct eim_dtls_session *s);

#endif
