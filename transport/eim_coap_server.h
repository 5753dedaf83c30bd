/*
 * eim_coap_server.h - CoAP server engine: messaging (RFC 7252 4), a route
 * table, deduplication, piggybacked responses and block-wise transfers in
 * both directions (RFC 7959, with RFC 9175 Request-Tag).
 *
 * The engine is free of sockets and clocks. Feed it each datagram that
 * arrived from a peer with eim_coap_server_input(); it answers through the
 * peer's send callback before returning. Call eim_coap_server_tick() from
 * time to time (eim_coap_server_next_deadline() says when) to expire state.
 * See eim_coap.h for the peer interface (plain UDP or a DTLS session).
 *
 * What it does with each datagram:
 *   - unparsable CON             -> RST (RFC 7252 4.2); other types dropped
 *   - Empty CON ("CoAP ping")    -> RST; ACK/RST and responses are ignored
 *     (this server never sends CON, so it has nothing to acknowledge)
 *   - CON/NON request whose message ID was seen from the same peer within
 *     EXCHANGE_LIFETIME -> the cached response is sent again, byte for
 *     byte, and the handler does NOT run again
 *   - a critical option (odd number) that is unknown, has a length out of
 *     its range or is repeated when it may not be -> 4.02 Bad Option (RFC
 *     7252 5.4.1, 5.4.3, 5.4.5); the same faults in an elective option
 *     only make the engine ignore that option; a Block value with SZX 7
 *     -> 4.00 Bad Request
 *   - no route for the path -> 4.04; path known, method not -> 4.05
 *   - Block1 requests are reassembled (eim_coap_block.h): 2.31 Continue,
 *     4.08, 4.13 with Size1, 5.03 when too many are in progress
 *   - a response body larger than the block size (the server's, or the
 *     smaller one the client asked for with an early Block2) is sent in
 *     blocks with Block2, Size2 and an ETag; the following Block2 requests
 *     are served from a per-peer copy of the body without running the
 *     handler again
 *   - a CON request gets a piggybacked ACK; a NON request gets a NON.
 *
 * Deduplication state is per peer: at most dedup_per_peer recent message IDs
 * (the oldest is evicted), each with its response, for EXCHANGE_LIFETIME;
 * a peer starts with room for one and gets more only while its exchanges
 * overlap. The Block2 copy exists only while a multi-block response is
 * being fetched. At most max_peers peers are tracked (a limit: the table
 * grows with the peers present); the least recently seen is evicted.
 * Buffers are reused, so the steady path does not allocate per message.
 */
#ifndef EIM_COAP_SERVER_H
#define EIM_COAP_SERVER_H

#include "common/eim_bytes.h"
#include "transport/eim_coap.h"
#include "transport/eim_coap_msg.h"

#include <stddef.h>
#include <stdint.h>

struct eim_coap_server;

/* What a handler sees. Everything is a view valid only during the call. */
struct eim_coap_request {
	uint8_t method;	     /* EIM_COAP_GET, POST, ... */
	const char *path;    /* "/gsma/rsp2/asn1" (joined Uri-Path) */
	const uint8_t *body; /* whole body, reassembled if block-wise */
	size_t body_len;
	int content_format; /* -1 when absent */
	const uint8_t
		*identity; /* peer's authenticated identity, may be empty */
	size_t identity_len;
	void *peer_user;		/* eim_coap_peer.user */
	const struct eim_coap_msg *msg; /* the (last) request message */
};

/*
 * What a handler fills. The engine sets code = 2.05 Content,
 * content_format = -1 and an empty body before the call; the handler
 * appends its body to `body` (a buffer owned and reused by the engine, with
 * body.max set to the configured max_body) and may change the code. Bodies
 * larger than one block are sent block-wise automatically.
 */
struct eim_coap_response {
	uint8_t code;
	int content_format; /* -1: no Content-Format option */
	struct eim_buf body;
};

/*
 * A request handler. ctx is the route's ctx. Returns 0, or a negative
 * EIM_E* code: the engine then answers 5.00 Internal Server Error with an
 * empty body (4.13 if the body buffer overflowed its max).
 */
typedef int (*eim_coap_handler_fn)(void *ctx,
				   const struct eim_coap_request *req,
				   struct eim_coap_response *resp);

/*
 * One route. method 0 matches any method; path NULL matches any path (a
 * catch-all, for lab servers). The first matching row wins.
 */
struct eim_coap_route {
	uint8_t method;
	const char *path; /* "/gsma/rsp2/asn1", compared exactly */
	eim_coap_handler_fn handler;
	void *ctx;
};

struct eim_coap_server_config {
	struct eim_coap_params params; /* exchange_lifetime_ms is used */
	uint32_t dedup_per_peer;       /* default 8 message IDs per peer */
	uint32_t max_peers;	       /* default 65536 */
	uint8_t block_szx;	       /* largest block the server sends/asks
					  for: default 6 (1024 bytes) */
	size_t max_body;	       /* request and response bodies, default
					  65536 */
	uint32_t max_reassemblies; /* Block1 bodies in progress, default 256 */
	uint32_t reassembly_lifetime_ms; /* default 60000 */
};

/* Fills the defaults listed above. */
void eim_coap_server_config_default(struct eim_coap_server_config *cfg);

/*
 * Creates a server. cfg may be NULL (defaults). routes/nroutes are copied
 * (the path strings are not: they must outlive the server, string literals
 * are typical). Returns 0, EIM_EINVAL or EIM_ENOMEM. Free with
 * eim_coap_server_free() (NULL is fine).
 */
int eim_coap_server_new(const struct eim_coap_server_config *cfg,
			const struct eim_coap_route *routes, size_t nroutes,
			struct eim_coap_server **ret);
void eim_coap_server_free(struct eim_coap_server *srv);

/*
 * Processes one datagram from peer, at time now_ms (monotonic, any epoch),
 * and sends what it calls for through peer->send before returning.
 * Returns 0 when the datagram was handled (answered, or dropped as RFC 7252
 * says: the drop is not an error), EIM_EINVAL for bad arguments, or
 * EIM_ENOMEM when state for the peer could not be allocated (nothing sent).
 */
int eim_coap_server_input(struct eim_coap_server *srv,
			  const struct eim_coap_peer *peer,
			  const uint8_t *dgram, size_t len, uint64_t now_ms);

/* Expires deduplication entries, idle peers and reassemblies. */
void eim_coap_server_tick(struct eim_coap_server *srv, uint64_t now_ms);

/* When tick() next has something to do (UINT64_MAX: nothing pending). */
uint64_t eim_coap_server_next_deadline(const struct eim_coap_server *srv);

/* Forgets everything about one peer (its DTLS session ended). */
void eim_coap_server_peer_gone(struct eim_coap_server *srv, const uint8_t *key,
			       size_t key_len);

/* Counters for tests, logs and metrics. */
struct eim_coap_server_stats {
	uint64_t requests;   /* handler invocations */
	uint64_t duplicates; /* answered from the dedup cache */
	uint64_t rst_sent;
	uint64_t dropped;	/* malformed NON/ACK/RST, stray responses */
	uint64_t peers;		/* peers currently tracked */
	uint64_t reassemblies;	/* Block1 bodies in progress */
	uint64_t table_resizes; /* peer table doubled (it grows with use) */
	uint64_t block2_cached; /* peers holding a Block2 response copy */
};
void eim_coap_server_stats(const struct eim_coap_server *srv,
			   struct eim_coap_server_stats *ret);

#endif
