/*
 * dtls_world.h - in-memory harness for the DTLS session tests: one server
 * and one client connected through two datagram queues, a fake clock and
 * fixed addresses, so that loss, replay and rebinding are deterministic.
 * Used by test_dtls_session.c and test_dtls_session_ecdsa.c.
 */
#ifndef DTLS_WORLD_H
#define DTLS_WORLD_H

#include "transport/eim_dtls_client.h"
#include "transport/eim_dtls_server.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QMAX 64

struct dgram {
	uint8_t b[2048];
	size_t n;
	struct sockaddr_in addr; /* source (to server) or destination */
};

struct world {
	struct eim_dtls_server *srv;
	struct eim_dtls_client *cli;
	struct dgram to_srv[QMAX], to_cli[QMAX];
	size_t n_to_srv, n_to_cli;
	struct dgram log_to_srv[QMAX]; /* everything the client sent */
	size_t n_log;
	struct sockaddr_in cli_addr; /* the client's current address */
	uint64_t now;
	uint8_t srv_got[256];
	size_t srv_got_len;
	uint8_t cli_got[256];
	size_t cli_got_len;
	struct eim_dtls_session *last_session;
	int closed, closed_reason;
	bool drop_next_to_cli;
	size_t max_to_cli; /* largest datagram the server sent */
};

/* The PSK of identity "sensor" that lookup() knows. */
extern const uint8_t psk[16];
/* Knobs read by world_init(): EMS offered, server caps (0 = default). */
extern bool offer_ems;
extern size_t max_hs, max_sess;
/* ecdsa_world(): the server's prefer_x25519 (default false). */
extern bool prefer_x25519;

struct sockaddr_in loop_addr(uint16_t port);
/* Callbacks wired by world_init() (ctx = the world). */
int srv_send(void *ctx, const struct sockaddr *to, socklen_t to_len,
	     const uint8_t *d, size_t n);
int cli_send(void *ctx, const uint8_t *d, size_t n);
void srv_app(void *ctx, struct eim_dtls_session *s, const uint8_t *d, size_t n);
void cli_app(void *ctx, const uint8_t *d, size_t n);
int lookup(void *ctx, const uint8_t *id, size_t idlen, uint8_t *key,
	   size_t *key_len);
void on_closed(void *ctx, struct eim_dtls_session *s,
	       enum eim_dtls_close_reason why);
/* PSK server (CID length cid_len) and PSK client (key, CID offered). */
void world_init(struct world *w, const uint8_t *key, size_t cid_len,
		bool cli_cid);
/* Server with the fixture certificate chain, client trusting ca_file. */
void ecdsa_world(struct world *w, uint16_t suite, uint16_t mtu,
		 const char *ca_file);
void world_done(struct world *w);
/* Delivers queued datagrams both ways until both queues are empty. */
void pump(struct world *w);
/* One client->server hop and one server->client hop for client c. */
void hop(struct world *w, struct eim_dtls_client *c);
struct eim_dtls_server_stats stats(struct world *w);
void handshake(struct world *w);
void roundtrip(struct world *w, const char *msg);
/* Reads tests/dtls/fixtures/NAME (heap, NUL-terminated; free()). */
char *fixture(const char *name, size_t *len);

#endif
