/*
 * eim_dtls_server_int.h - internals shared by the two files of the DTLS
 * server: eim_dtls_server.c (session tables, record dispatch, timers,
 * public API) and eim_dtls_server_hs.c (cookie exchange and the server
 * handshake flights). Not a public interface.
 */
#ifndef EIM_DTLS_SERVER_INT_H
#define EIM_DTLS_SERVER_INT_H

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include "transport/eim_dtls_cookie.h"
#include "transport/eim_dtls_cred.h"
#include "transport/eim_dtls_int.h"
#include "transport/eim_dtls_server.h"
#include "transport/eim_dtls_trust.h"

/* Canonical address key: family tag, port, IPv4 or IPv6 address. */
#define EIM_DTLS_ADDR_KEY_MAX 19

/*
 * What an established session keeps of its handshake: our last flight
 * (ChangeCipherSpec and Finished, in the entry format of hs->flight), to
 * resend when the client repeats its own final flight because ours was
 * lost (RFC 6347 4.2.4). The full handshake state is freed as soon as the
 * handshake completes; this goes when the client's first non-handshake
 * epoch-1 record shows it has our Finished, or LINGER_MS after the
 * handshake. Linger records are on one FIFO list in expiry order.
 */
struct eim_dtls_linger {
	struct eim_dtls_session *s;
	struct eim_dtls_linger *prev, *next;
	uint64_t until_ms;
	uint64_t sent_ms;
	uint16_t rx_seq; /* peer messages below this are repeats */
	uint16_t len;
	uint8_t flight[];
};

struct eim_dtls_session {
	struct eim_dtls_conn c; /* first: conn callbacks cast back */
	struct eim_dtls_server *srv;
	uint16_t suite;
	bool dead;
	bool addr_linked; /* on the by_addr table (see eim_dtls_srv__displace)
			   */
	struct eim_dtls_session *next_addr, *next_cid;
	struct eim_dtls_session *lru_prev, *lru_next; /* all, newest first */
	struct eim_dtls_session *hs_prev, *hs_next;   /* with c.hs != NULL */
	struct eim_dtls_session *dead_next;
	struct eim_dtls_linger *linger; /* established, final flight kept */
};

struct eim_dtls_server {
	struct eim_dtls_server_config cfg;
	uint16_t suites[16];
	uint8_t prefix[EIM_DTLS_MAX_CID];
	uint8_t hint[EIM_DTLS_IDENTITY_MAX];
	struct eim_dtls_cred *cred;   /* NULL without a server key */
	struct eim_dtls_trust *trust; /* client CAs, NULL without ca_pem */
	WC_RNG rng;
	uint8_t hash_seed[16];
	struct eim_dtls_cookie_ctx cookie;
	/* expanded AES keys of the sessions heard most recently */
	struct eim_dtls_aead_cache *aead_cache;
	struct eim_dtls_session **by_addr, **by_cid;
	size_t nbuckets; /* power of two */
	struct eim_dtls_session *lru_head, *lru_tail, *dead;
	struct eim_dtls_session *hs_head, *hs_tail; /* newest first */
	struct eim_dtls_linger *linger_head, *linger_tail;
	size_t nsessions, nhandshakes, nhs_states;
	struct eim_dtls_server_stats st;
	uint8_t pt[EIM_DTLS_MAX_CIPHERTEXT]; /* decrypted record */
};

/* ---- eim_dtls_server.c ---- */

/* Canonical key of an address into out; 0 for unsupported families. */
size_t eim_dtls_srv__addr_key(const struct sockaddr *sa, socklen_t len,
			      uint8_t out[EIM_DTLS_ADDR_KEY_MAX]);
/*
 * Copies an IPv4 or IPv6 address into dst with its exact length (callers
 * may pass a larger len, e.g. sizeof(struct sockaddr_storage)). Returns 0,
 * or EIM_EINVAL for other families or a len too short for the family.
 */
int eim_dtls_srv__addr_copy(union eim_dtls_sockaddr *dst, socklen_t *dst_len,
			    const struct sockaddr *sa, socklen_t len);
/* The session holding our CID cid[0..len), or NULL. */
struct eim_dtls_session *eim_dtls_srv__find_cid(struct eim_dtls_server *srv,
						const uint8_t *cid, size_t len);
/* Whether a new handshake may start: below max_handshakes, or after the
 * oldest handshake in progress, running for handshake_evict_ms or more,
 * was ended to make room (counted in handshakes_evicted). */
bool eim_dtls_srv__hs_room(struct eim_dtls_server *srv, uint64_t now);
/* Enters a new handshaking session in the tables, lists and counters. */
void eim_dtls_srv__register(struct eim_dtls_session *s);
/* Ends a session (unlinked now, freed when the current call unwinds). */
void eim_dtls_srv__kill(struct eim_dtls_session *s,
			enum eim_dtls_close_reason why);
/*
 * Another session takes s's address (a verified new hello from it, or a
 * Connection ID record moving there). Without a CID s is only reachable by
 * that address and is replaced (killed); an established session with a CID
 * stays, reachable by its CID, and only leaves the address table.
 */
void eim_dtls_srv__displace(struct eim_dtls_session *s);
/* The handshake of s just completed (hs->rx_seq counts the client's
 * Finished): frees the handshake state, keeping only the last flight. */
void eim_dtls_srv__established(struct eim_dtls_session *s, uint64_t now);
/* s has no handshake state: a repeated client flight (message_seq
 * below the kept flight's) gets the last flight again, at most every
 * 100 ms. Returns false when the fragment was not such a repeat. */
bool eim_dtls_srv__linger_resend(struct eim_dtls_session *s, uint16_t msg_seq,
				 uint64_t now, bool *resent);
/* Fails the handshake with a fatal alert at epoch 0, then kills. */
void eim_dtls_srv__fail(struct eim_dtls_session *s, uint8_t alert);
/* conn output: sends to the session's current address. */
int eim_dtls_srv__conn_out(struct eim_dtls_conn *c, const uint8_t *d, size_t n);
/* n random bytes from the server's RNG; 0 or EIM_ECRYPTO. */
int eim_dtls_srv__rand(struct eim_dtls_server *srv, uint8_t *p, size_t n);

/* ---- eim_dtls_server_hs.c ---- */

/*
 * An epoch-0 handshake record from `from`, found session s (or NULL).
 * Returns true when it held a ClientHello (answered statelessly, or a new
 * session started), false to treat it as a record of s.
 */
bool eim_dtls_srv__client_hello(struct eim_dtls_server *srv,
				struct eim_dtls_session *s,
				const struct sockaddr *from, socklen_t from_len,
				const struct eim_dtls_record *rec,
				uint64_t now);
/* Handshake fragments of one record (plaintext at `epoch`) of s. */
void eim_dtls_srv__hs_records(struct eim_dtls_session *s, uint16_t epoch,
			      const uint8_t *p, size_t n, uint64_t now);

#endif
