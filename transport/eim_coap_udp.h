/*
 * eim_coap_udp.h - plain CoAP over UDP (RFC 7252, "coap://"): glue that
 * binds the CoAP engines to the event loop's UDP sockets.
 *
 * This is the only place where a CoAP peer is a socket address. The server
 * side turns each received datagram into a struct eim_coap_peer whose key is
 * the sender's address bytes, whose identity is empty (nothing is
 * authenticated on plain UDP) and whose send queues a datagram back to that
 * address; it keeps one loop timer armed at the engine's next deadline. The
 * DTLS transport does the same with sessions instead of addresses.
 *
 * Plain CoAP is for labs and tests; production traffic uses coaps://.
 */
#ifndef EIM_COAP_UDP_H
#define EIM_COAP_UDP_H

#include "transport/eim_coap_client.h"
#include "transport/eim_coap_server.h"
#include "transport/eim_loop.h"

struct eim_coap_udp_server;
struct eim_coap_udp_client;

/*
 * Serves srv on a UDP socket bound to addr ("127.0.0.1:5683", "[::]:0",
 * see eim_loop_parse_addr()). srv stays the caller's and must outlive the
 * returned object. Returns 0, EIM_EINVAL, EIM_EIO or EIM_ENOMEM.
 */
int eim_coap_udp_server_new(struct eim_loop *l, const char *addr,
			    struct eim_coap_server *srv,
			    struct eim_coap_udp_server **ret);
/* Closes the socket and stops the timer (NULL is fine). */
void eim_coap_udp_server_free(struct eim_coap_udp_server *us);
/* The bound port (useful after binding port 0). */
int eim_coap_udp_server_port(const struct eim_coap_udp_server *us);
/* The socket, for statistics. */
struct eim_loop_udp *eim_coap_udp_server_socket(struct eim_coap_udp_server *us);

/*
 * A client engine on a UDP socket connected to server_addr. cfg may be NULL.
 * Returns 0, EIM_EINVAL, EIM_EIO or EIM_ENOMEM.
 */
int eim_coap_udp_client_new(struct eim_loop *l, const char *server_addr,
			    const struct eim_coap_client_config *cfg,
			    struct eim_coap_udp_client **ret);
void eim_coap_udp_client_free(struct eim_coap_udp_client *uc);
/* Starts a request now (see eim_coap_client_request()); the callback runs
 * from the loop. */
int eim_coap_udp_client_request(struct eim_coap_udp_client *uc,
				const struct eim_coap_client_request *rq);
/* The engine, for statistics. */
struct eim_coap_client *
eim_coap_udp_client_engine(struct eim_coap_udp_client *uc);

#endif
