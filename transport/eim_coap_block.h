/*
 * eim_coap_block.h - server-side Block1 reassembly (RFC 7959 2.3, 2.5) with
 * bodies kept apart by Request-Tag (RFC 9175 3).
 *
 * A request body that arrives in blocks is collected in a bounded table of
 * reassemblies. Each one is keyed by (peer key, method, Uri-Path, Request-Tag
 * or its absence): two bodies from the same peer to the same resource with
 * different Request-Tags are reassembled independently, and a new block 0
 * with the same key restarts the body (RFC 7959 says a client may abandon
 * a transfer that way). Tokens are not part of the key, because RFC 7959
 * lets a client use a fresh token for every block.
 *
 * Limits, with the answer the server sends when they are hit:
 *   max_body          body (or announced Size1) too big -> 4.13 + Size1
 *   max_entries       too many bodies in progress       -> 5.03
 *   lifetime_ms       an idle reassembly is dropped; its next block then
 *                     finds nothing and gets 4.08 Request Entity Incomplete,
 *                     as does any block that is not the next one expected.
 *
 * No clock and no I/O: the caller passes now_ms.
 */
#ifndef EIM_COAP_BLOCK_H
#define EIM_COAP_BLOCK_H

#include "transport/eim_coap.h"
#include "transport/eim_coap_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest Uri-Path a reassembly key may hold. */
#define EIM_COAP_BLOCK_PATH_MAX 128
/* Request-Tag values are 0..8 bytes (RFC 9175 3.2). */
#define EIM_COAP_RTAG_MAX 8

struct eim_coap_block1_table;

struct eim_coap_block1_key {
	const uint8_t *peer;
	size_t peer_len; /* <= EIM_COAP_PEER_KEY_MAX */
	uint8_t method;
	const char *path; /* NUL-terminated, < EIM_COAP_BLOCK_PATH_MAX */
	bool has_rtag;
	const uint8_t *rtag;
	size_t rtag_len; /* <= EIM_COAP_RTAG_MAX */
};

/* Outcomes of eim_coap_block1_feed() (non-negative). */
enum eim_coap_block1_result {
	EIM_COAP_BLOCK1_CONTINUE = 0, /* answer 2.31 Continue */
	EIM_COAP_BLOCK1_COMPLETE = 1, /* body ready: run the handler */
};

/*
 * Creates a table. Returns 0 and *ret, EIM_EINVAL (a zero limit) or
 * EIM_ENOMEM. Free with eim_coap_block1_table_free() (NULL is fine).
 */
int eim_coap_block1_table_new(size_t max_entries, size_t max_body,
			      uint32_t lifetime_ms,
			      struct eim_coap_block1_table **ret);
void eim_coap_block1_table_free(struct eim_coap_block1_table *t);

/*
 * Adds one block of a request body. blk is the request's Block1 option,
 * data/n its payload, size1 the Size1 option (0 when absent).
 * Returns:
 *   EIM_COAP_BLOCK1_CONTINUE   stored; more blocks expected
 *   EIM_COAP_BLOCK1_COMPLETE   *ret_body and *ret_len hold the whole body,
 * valid until eim_coap_block1_done() with the same key (or the next feed/expire
 * call) EIM_ETOOBIG    body or Size1 above max_body (reassembly dropped)
 *   EIM_ESTATE     not the next block expected, or no reassembly for a block
 *                  other than 0 (reassembly, if any, dropped)
 *   EIM_EMALFORMED a non-final block whose payload is not exactly the block
 *                  size (RFC 7959 2.2)
 *   EIM_EBUSY      max_entries bodies already in progress
 *   EIM_ENOMEM
 */
int eim_coap_block1_feed(struct eim_coap_block1_table *t,
			 const struct eim_coap_block1_key *key,
			 const struct eim_coap_block *blk, const uint8_t *data,
			 size_t n, uint32_t size1, uint64_t now_ms,
			 const uint8_t **ret_body, size_t *ret_len);

/* Frees the completed reassembly for key (after the handler ran). */
void eim_coap_block1_done(struct eim_coap_block1_table *t,
			  const struct eim_coap_block1_key *key);

/* Drops every reassembly of one peer (its session ended). */
void eim_coap_block1_drop_peer(struct eim_coap_block1_table *t,
			       const uint8_t *peer, size_t peer_len);

/* Drops reassemblies idle for lifetime_ms or more. Returns how many. */
size_t eim_coap_block1_expire(struct eim_coap_block1_table *t, uint64_t now_ms);

/* Earliest time a reassembly expires, or UINT64_MAX if none. */
uint64_t eim_coap_block1_next_expiry(const struct eim_coap_block1_table *t);

/* Reassemblies in progress (tests and metrics). */
size_t eim_coap_block1_count(const struct eim_coap_block1_table *t);

size_t eim_coap_block1_max_body(const struct eim_coap_block1_table *t);

#endif
