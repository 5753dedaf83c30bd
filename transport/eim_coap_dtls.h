/*
 * eim_coap_dtls.h - CoAP over DTLS 1.2 ("coaps", RFC 7252 section 9): glue
 * that puts the CoAP server engine on the sessions of the DTLS server, on an
 * event-loop UDP socket. The DTLS twin of eim_coap_udp.h.
 *
 * For each decrypted application record the glue builds a struct
 * eim_coap_peer whose key names the DTLS session (not its address: a session
 * keeps its key when a Connection ID moves it), whose identity is the PSK
 * identity the handshake authenticated, and whose send encrypts one record
 * for that session. When a session ends, the CoAP engine forgets its peer
 * state at once. One loop timer is kept armed at the earlier of the two
 * engines' deadlines.
 */
#ifndef EIM_COAP_DTLS_H
#define EIM_COAP_DTLS_H

#include "transport/eim_coap_server.h"
#include "transport/eim_dtls_server.h"
#include "transport/eim_loop.h"

struct eim_coap_dtls_server;

/*
 * Serves srv over DTLS on a UDP socket bound to addr ("[::]:5684", port 0
 * picks one). `dtls` is the DTLS configuration: the glue sets its send,
 * on_app_data and on_closed callbacks (and ctx) itself and keeps the
 * caller's psk_lookup, on_established and keylog, which are called with
 * `cb_ctx`. srv and cb_ctx must outlive the returned object.
 * Returns 0, or the errors of eim_dtls_server_new() and
 * eim_loop_udp_open() (EIM_EIO: bind failed, errno tells why).
 */
int eim_coap_dtls_server_new(struct eim_loop *l, const char *addr,
			     const struct eim_dtls_server_config *dtls,
			     void *cb_ctx, struct eim_coap_server *srv,
			     struct eim_coap_dtls_server **ret);
/* Closes every session and the socket (NULL is fine). */
void eim_coap_dtls_server_free(struct eim_coap_dtls_server *ds);
/* The bound port. */
int eim_coap_dtls_server_port(const struct eim_coap_dtls_server *ds);
/* The DTLS engine, for statistics. */
struct eim_dtls_server *
eim_coap_dtls_server_engine(struct eim_coap_dtls_server *ds);

#endif
