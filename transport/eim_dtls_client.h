/*
 * eim_dtls_client.h - DTLS 1.2 client with Connection ID (RFC 6347,
 * RFC 9146), bytes in and bytes out, for the device simulator and the load
 * generator.
 *
 * One client object is one association with one server. The owner sends
 * whatever the send() callback produces to the server (from any local
 * address: with a CID the server follows the client when its address
 * changes), feeds every datagram from the server to eim_dtls_client_input()
 * and calls eim_dtls_client_tick() at eim_dtls_client_next_timeout().
 *
 * Implemented so far: TLS_PSK_WITH_AES_128_CCM_8,
 * TLS_PSK_WITH_AES_128_GCM_SHA256,
 * TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256 and the three
 * TLS_ECDHE_ECDSA suites (the server authenticated by a certificate chain
 * checked against configured CAs, optionally for a host name, and/or
 * pinned by SHA-256, or by a raw public key pinned by SPKI SHA-256; a
 * client certificate or raw public key when the server asks), all on
 * P-256; extended_master_secret, renegotiation_info (SCSV),
 * connection_id, record_size_limit, client_certificate_type,
 * server_certificate_type. An untrusted server ends the handshake with the
 * alert of eim_dtls_trust_alert() (unknown_ca, bad_certificate,
 * certificate_expired, unsupported_certificate).
 */
#ifndef EIM_DTLS_CLIENT_H
#define EIM_DTLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eim_dtls_client;

enum eim_dtls_client_state {
	EIM_DTLS_CLIENT_IDLE = 0, /* created, not started */
	EIM_DTLS_CLIENT_HANDSHAKING,
	EIM_DTLS_CLIENT_ESTABLISHED,
	EIM_DTLS_CLIENT_FAILED, /* alert, timeout or bad peer */
	EIM_DTLS_CLIENT_CLOSED, /* close_notify either way */
};

struct eim_dtls_client_config {
	void *ctx; /* passed to every callback */
	/* Sends one datagram to the server; the return value is ignored. */
	int (*send)(void *ctx, const uint8_t *data, size_t len);
	/* Decrypted application data from the server. */
	void (*on_app_data)(void *ctx, const uint8_t *data, size_t len);
	/* Optional: the handshake completed. */
	void (*on_established)(void *ctx);
	/* DEBUG ONLY, NULL by default: NSS key log line per handshake (see
	 * eim_dtls_server_config.keylog). */
	void (*keylog)(void *ctx, const char *line);
	const uint8_t *psk_identity; /* copied; NULL without PSK suites */
	size_t psk_identity_len;     /* 1..128 */
	const uint8_t *psk;	     /* copied, wiped on free */
	size_t psk_len;		     /* 1..64 */
	/* How the server is authenticated on the ECDHE_ECDSA suites (at
	 * least one of ca_pem, server_cert_sha256, server_rpk_sha256):
	 * ca_pem: CAs (PEM, copied) the server's chain must lead to (leaf,
	 * intermediates sent by the server; see eim_dtls_trust.h).
	 * server_name: optional (copied, < 256 bytes), a DNS name or IP
	 * address the server certificate must carry (subjectAltName).
	 * server_cert_sha256: optional, 32 bytes (copied): SHA-256 of the
	 * server certificate's DER; alone it is the only trust (validity still
	 * checked unless pinned_allow_expired), with ca_pem both must hold.
	 * server_rpk_sha256: 32 bytes (copied): SHA-256 of the SPKI DER of a
	 * raw public key (RFC 7250); the client then offers
	 * server_certificate_type RawPublicKey only and takes no X.509 chain
	 * (a server that ignores the extension gets unsupported_certificate).
	 */
	const char *ca_pem;
	size_t ca_pem_len;
	const char *server_name;
	const uint8_t *server_cert_sha256;
	const uint8_t *server_rpk_sha256;
	bool pinned_allow_expired;
	/* Optional client credential for a CertificateRequest on the
	 * ECDHE_ECDSA suites: PEM chain (leaf first; NULL with client_rpk)
	 * and P-256 key, copied. client_rpk offers client_certificate_type
	 * RawPublicKey only (RFC 7250) and sends the key's SPKI. Without a
	 * credential a CertificateRequest is answered with no certificate. */
	const char *cert_pem;
	size_t cert_pem_len;
	const char *key_pem;
	size_t key_pem_len;
	bool client_rpk;
	/* offer order; NULL = PSK CCM-8 and GCM when a PSK is set, then
	 * ECDHE-ECDSA CCM-8 and GCM when a server authentication is set */
	const uint16_t *suites;
	size_t n_suites;
	bool use_cid;	/* offer the connection_id extension */
	size_t cid_len; /* CID we ask the server to send to us (0..32; 0 =
			   a zero-length CID: we use the server's only) */
	bool offer_ems; /* offer extended_master_secret */
	/* RFC 8449 record_size_limit to announce (64..16384), 0 = none */
	uint16_t record_size_limit;
	bool require_ems;
	/* ECDHE groups offered: 0 = x25519 then secp256r1; a NamedCurve
	 * value (EIM_DTLS_GROUP_P256 or _X25519) offers that one alone */
	uint16_t ecdhe_group;
	uint16_t mtu;
	uint32_t handshake_timeout_ms;
};

/* Defaults: CCM-8 then GCM, CID offered with a zero-length own CID, EMS
 * offered, MTU 1280, 60 s handshake timeout. */
void eim_dtls_client_config_init(struct eim_dtls_client_config *cfg);

/* Creates a client (config and key material copied). Errors: EIM_EINVAL
 * (neither a PSK nor a server authentication, a suite without its
 * credentials, bad lengths, an empty or too long server_name,
 * cert_pem without key_pem, client_rpk without key_pem), EIM_ECERT (CA PEM
 * unusable), the errors of eim_dtls_cred_from_pem(), EIM_ENOMEM,
 * EIM_ECRYPTO (RNG). */
int eim_dtls_client_new(const struct eim_dtls_client_config *cfg,
			struct eim_dtls_client **ret);
/* Wipes keys and frees. NULL is a no-op. */
void eim_dtls_client_free(struct eim_dtls_client *c);

/* Sends the first ClientHello. EIM_ESTATE if already started. */
int eim_dtls_client_start(struct eim_dtls_client *c, uint64_t now_ms);

/* Processes one datagram from the server. Bad records are dropped
 * silently (counted); returns 0, or EIM_EINVAL. */
int eim_dtls_client_input(struct eim_dtls_client *c, const uint8_t *dgram,
			  size_t len, uint64_t now_ms);

/* Encrypts and sends application data. EIM_ESTATE unless established,
 * EIM_ETOOBIG over 16384 bytes or over the server's record_size_limit. */
int eim_dtls_client_send(struct eim_dtls_client *c, const uint8_t *data,
			 size_t len);

/* Sends close_notify; the client is then CLOSED. */
void eim_dtls_client_close(struct eim_dtls_client *c);

uint64_t eim_dtls_client_next_timeout(const struct eim_dtls_client *c);
void eim_dtls_client_tick(struct eim_dtls_client *c, uint64_t now_ms);

enum eim_dtls_client_state
eim_dtls_client_state(const struct eim_dtls_client *c);
/* The alert that ended the handshake (sent or received), 0 if none. */
int eim_dtls_client_alert(const struct eim_dtls_client *c);
/* Negotiated suite, 0 before. */
uint16_t eim_dtls_client_suite(const struct eim_dtls_client *c);
/* The CID we put in our records (the server's), NULL if CID is not in
 * use; *len set. */
const uint8_t *eim_dtls_client_peer_cid(const struct eim_dtls_client *c,
					size_t *len);
/* Records dropped because they did not authenticate. */
uint64_t eim_dtls_client_auth_failures(const struct eim_dtls_client *c);

#endif
