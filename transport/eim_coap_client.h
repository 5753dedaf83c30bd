/*
 * eim_coap_client.h - CoAP client engine (RFC 7252 4-5, RFC 7959, RFC 9175)
 * for the device simulator and the load generator.
 *
 * One client talks to one server through one send callback (plain UDP or a
 * DTLS session, see eim_coap.h). Like the server engine it has no socket and
 * no clock: the caller feeds every datagram from the server to
 * eim_coap_client_input(), calls eim_coap_client_tick() when
 * eim_coap_client_next_deadline() is reached, and passes the current time
 * in milliseconds everywhere.
 *
 * Each request is one exchange from the caller's point of view, however many
 * CoAP messages it takes:
 *   - CON requests are retransmitted after ACK_TIMEOUT * rand[1,
 *     ACK_RANDOM_FACTOR], doubling each time, at most MAX_RETRANSMIT times
 *     (RFC 7252 4.2); an empty ACK means a separate response follows.
 *   - a body larger than the block size goes out with Block1 + Size1 and a
 *     Request-Tag (RFC 9175), following 2.31 Continue, and adapting to a
 *     smaller block size the server asks for (RFC 7959 2.3).
 *   - a Block2 response is fetched block by block and reassembled; the ETag
 *     must not change during the transfer.
 *   - the token (8 bytes, random part from the seed) stays the same for all
 *     messages of the request.
 * When it ends the callback runs exactly once with the outcome.
 *
 * Request slots and their buffers are kept and reused, so a steady stream
 * of small requests does not allocate.
 */
#ifndef EIM_COAP_CLIENT_H
#define EIM_COAP_CLIENT_H

#include "transport/eim_coap.h"
#include "transport/eim_coap_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eim_coap_client;

struct eim_coap_client_config {
	struct eim_coap_params params;
	uint8_t block_szx; /* block size for Block1/Block2, default 6 */
	size_t max_body;   /* largest response body accepted, default 1 MiB */
	uint32_t max_inflight; /* requests in progress at once, default 64 */
	uint64_t seed; /* tokens, message IDs, jitter; 0 = getrandom() */
};

void eim_coap_client_config_default(struct eim_coap_client_config *cfg);

/* The outcome handed to the callback; views valid only during the call. */
struct eim_coap_client_response {
	uint8_t code;	     /* e.g. EIM_COAP_CONTENT, 4.04, ... */
	int content_format;  /* -1 when absent */
	const uint8_t *body; /* whole body, reassembled if block-wise */
	size_t body_len;
	const struct eim_coap_msg *msg; /* last response message */
};

/*
 * status is 0 with resp set when a response arrived (whatever its code), or
 * one of (resp NULL):
 *   EIM_ETIMEOUT    no ACK after MAX_RETRANSMIT retransmissions, or no
 *                   response within MAX_TRANSMIT_WAIT
 *   EIM_ECLOSED     the server answered with RST
 *   EIM_EMALFORMED  inconsistent block-wise response (wrong block number,
 *                   changed ETag)
 *   EIM_ETOOBIG     response body above max_body
 *   EIM_ENOMEM
 */
typedef void (*eim_coap_client_cb)(void *ctx, int status,
				   const struct eim_coap_client_response *resp);

struct eim_coap_client_request {
	uint8_t method;	     /* EIM_COAP_GET, POST, ... */
	const char *path;    /* "/gsma/rsp2/asn1"; < 128 bytes */
	int content_format;  /* -1: none */
	const uint8_t *body; /* copied: may be freed after the call */
	size_t body_len;
	bool non; /* send as NON (no retransmission) */
	eim_coap_client_cb cb;
	void *cb_ctx;
};

/*
 * Creates a client that sends through send(send_ctx, ...). cfg may be NULL
 * (defaults). Returns 0, EIM_EINVAL or EIM_ENOMEM. eim_coap_client_free()
 * drops pending requests without calling their callbacks (NULL is fine).
 */
int eim_coap_client_new(const struct eim_coap_client_config *cfg,
			eim_coap_send_fn send, void *send_ctx,
			struct eim_coap_client **ret);
void eim_coap_client_free(struct eim_coap_client *c);

/*
 * Starts a request and sends its first message. Returns 0 (the callback
 * will run later, never from inside this call), EIM_EINVAL, EIM_EBUSY
 * (max_inflight reached), EIM_ETOOBIG (body larger than the block scheme
 * can carry) or EIM_ENOMEM.
 */
int eim_coap_client_request(struct eim_coap_client *c,
			    const struct eim_coap_client_request *rq,
			    uint64_t now_ms);

/*
 * Processes one datagram from the server. Callbacks of finished requests
 * run from here. Returns 0 (also when the datagram was ignored or answered
 * with RST as RFC 7252 says) or EIM_EINVAL.
 */
int eim_coap_client_input(struct eim_coap_client *c, const uint8_t *dgram,
			  size_t len, uint64_t now_ms);

/* Retransmits and times out requests whose deadline passed. */
void eim_coap_client_tick(struct eim_coap_client *c, uint64_t now_ms);

/* Earliest deadline of any request (UINT64_MAX: none). */
uint64_t eim_coap_client_next_deadline(const struct eim_coap_client *c);

/* Requests in progress. */
size_t eim_coap_client_inflight(const struct eim_coap_client *c);

struct eim_coap_client_stats {
	uint64_t sent; /* datagrams, retransmissions included */
	uint64_t retransmits;
	uint64_t completed; /* callbacks with status 0 */
	uint64_t failed;    /* callbacks with status < 0 */
};
void eim_coap_client_stats(const struct eim_coap_client *c,
			   struct eim_coap_client_stats *ret);

#endif
