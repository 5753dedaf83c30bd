/*
 * eim_coap.h - the peer (session) interface under the CoAP engines, and the
 * RFC 7252 section 4.8 transmission parameters.
 *
 * The CoAP engines (eim_coap_server.h, eim_coap_client.h) never touch a
 * socket or a clock. They are fed whole datagrams together with a
 * `struct eim_coap_peer` that says who sent them and how to answer, and the
 * current time in milliseconds from any monotonic source. Whatever carries
 * the datagrams fills in the peer:
 *
 *   plain UDP (eim_coap_udp.h)
 *       key       = the sender's socket address bytes (sockaddr_in/in6)
 *       identity  = empty (nothing is authenticated)
 *       send      = sendto() that address through the event loop
 *
 *   DTLS 1.2 session (the DTLS engine, bytes in / bytes out)
 *       key       = bytes naming the session for as long as it lives, NOT
 *                   its address (a CID session may move): e.g. the server's
 *                   session number or the CID itself, at most
 *                   EIM_COAP_PEER_KEY_MAX bytes
 *       identity  = the authenticated identity (PSK identity, certificate
 *                   subject or EID...), as the DTLS layer decided
 *       send      = encrypt one record with the session's keys and hand it
 *                   to the loop
 *       user      = the session object, passed through to handlers
 *
 * The engine copies `key` into its per-peer state (deduplication cache,
 * Block1 reassemblies, Block2 response cache) and uses `send` only during
 * the call that received the peer: it keeps no pointer to the peer struct,
 * the identity or send_ctx after that call returns, so all of them may live
 * on the caller's stack. When a session ends, the session layer should call
 * eim_coap_server_peer_gone() so that its state is freed at once rather than
 * at expiry.
 */
#ifndef EIM_COAP_H
#define EIM_COAP_H

#include <stddef.h>
#include <stdint.h>

/* Longest peer key (a sockaddr_in6 is 28 bytes). */
#define EIM_COAP_PEER_KEY_MAX 32

/*
 * Sends one CoAP datagram to the peer (plain UDP: one datagram; DTLS: one
 * record's plaintext). The bytes are only valid during the call: copy them if
 * they are queued. Returns 0 or a negative EIM_E* code; the engines treat a
 * send failure like a lost datagram (CoAP recovers by retransmission).
 */
typedef int (*eim_coap_send_fn)(void *send_ctx, const uint8_t *dgram,
				size_t len);

struct eim_coap_peer {
	const uint8_t *key; /* 1..EIM_COAP_PEER_KEY_MAX bytes, required */
	size_t key_len;
	const uint8_t *identity; /* authenticated identity; NULL/0 = none */
	size_t identity_len;
	eim_coap_send_fn send; /* required */
	void *send_ctx;
	void *user; /* opaque, handed to request handlers unchanged */
};

/*
 * RFC 7252 4.8 transmission parameters, in milliseconds where they are
 * times. ack_random_factor is in thousandths (1500 = 1.5).
 */
struct eim_coap_params {
	uint32_t ack_timeout_ms;       /* default 2000 */
	uint32_t ack_random_factor;    /* default 1500 */
	uint32_t max_retransmit;       /* default 4 */
	uint32_t exchange_lifetime_ms; /* default 247000 */
};

/* Fills the RFC 7252 defaults (ACK_TIMEOUT 2 s, ACK_RANDOM_FACTOR 1.5,
 * MAX_RETRANSMIT 4, EXCHANGE_LIFETIME 247 s). */
static inline void eim_coap_params_default(struct eim_coap_params *p)
{
	p->ack_timeout_ms = 2000;
	p->ack_random_factor = 1500;
	p->max_retransmit = 4;
	p->exchange_lifetime_ms = 247000;
}

#endif
