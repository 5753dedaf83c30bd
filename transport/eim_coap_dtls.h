/*
 * eim_coap_dtls.h - CoAP over DTLS 1.2 ("coaps", RFC 7252 section 9): glue
 * that puts the CoAP server engine on the sessions of the DTLS server, on an
 * event-loop UDP socket. The DTLS twin of eim_coap_udp.h.
 *
 * For each decrypted application record the glue builds a struct
 * eim_coap_peer whose key names the DTLS session (not its address: a session
 * keeps its key when a Connection ID moves it), whose identity is what the
 * handshake authenticated (the PSK identity, or the SHA-256 fingerprint of
 * a client certificate or raw key: eim_dtls_session_identity_kind() on
 * peer.user, the session, tells which), and whose send encrypts one record
 * for that session. When a session ends, the CoAP engine forgets its peer
 * state at once. One loop timer is kept armed at the earlier of the two
 * engines' deadlines.
 *
 * The client side does the reverse for one device: a CoAP client engine
 * whose messages are application records of one DTLS client session, on a
 * connected event-loop UDP socket. It can move to a new source port while
 * keeping its session, as a sleeping device behind a NAT does (RFC 9146
 * section 6: with a Connection ID the server follows the new address).
 */
#ifndef EIM_COAP_DTLS_H
#define EIM_COAP_DTLS_H

#include "transport/eim_coap_client.h"
#include "transport/eim_coap_server.h"
#include "transport/eim_dtls_client.h"
#include "transport/eim_dtls_server.h"
#include "transport/eim_loop.h"

struct eim_coap_dtls_server;

/*
 * Serves srv over DTLS on a UDP socket bound to addr ("[::]:5684", port 0
 * picks one). `dtls` is the DTLS configuration: the glue sets its send,
 * on_app_data and on_closed callbacks (and ctx) itself and keeps the
 * caller's psk_lookup, cert_check, on_established and keylog, which are
 * called with `cb_ctx`. srv and cb_ctx must outlive the returned object.
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

/* ---- client ---- */

struct eim_coap_dtls_client;

/*
 * A CoAP client on a new DTLS client session with the server at
 * server_addr ("127.0.0.1:5684", "[::1]:5684"), from a UDP socket on a
 * port the kernel picks. The handshake starts at once; requests made
 * before it completes wait (their datagrams are queued and sent, in order,
 * when the session is established).
 *
 * dtls: the session's configuration. The glue sets send, on_app_data and
 * ctx itself; a caller's on_established is still called with dtls->ctx.
 * Identity, PSK, CA PEM, the device's certificate and key PEM, the server
 * name and pins, and the suites are copied (PSK and key wiped on free), so
 * a new handshake can be made later with the same credentials.
 * coap: the CoAP engine's configuration, NULL for defaults.
 * Returns 0, EIM_EINVAL, the errors of eim_dtls_client_new() and
 * eim_coap_client_new(), EIM_EIO (socket) or EIM_ENOMEM.
 */
int eim_coap_dtls_client_new(struct eim_loop *l, const char *server_addr,
			     const struct eim_dtls_client_config *dtls,
			     const struct eim_coap_client_config *coap,
			     struct eim_coap_dtls_client **ret);
/* The same, with the first socket bound to `local` (port 0: the kernel
 * picks one) so that one process can be many devices at many source
 * addresses; later rebinds let the kernel choose as above. Errors as
 * eim_coap_dtls_client_new(); EIM_EIO also when the bind fails. */
int eim_coap_dtls_client_new_from(struct eim_loop *l, const char *server_addr,
				  const struct sockaddr *local,
				  socklen_t local_len,
				  const struct eim_dtls_client_config *dtls,
				  const struct eim_coap_client_config *coap,
				  struct eim_coap_dtls_client **ret);
/* Closes the socket and frees everything without sending close_notify
 * (a device that just goes away). Pending requests are dropped without
 * their callbacks. NULL is fine. Must not be called from one of this
 * client's own callbacks. */
void eim_coap_dtls_client_free(struct eim_coap_dtls_client *c);

/*
 * Called when the session's state changes: ESTABLISHED after each
 * completed handshake, FAILED when a handshake fails (alert or timeout).
 * After FAILED, requests keep waiting until eim_coap_dtls_client_rehandshake()
 * or until the CoAP engine times them out.
 */
typedef void (*eim_coap_dtls_client_state_fn)(void *ctx,
					      struct eim_coap_dtls_client *c,
					      enum eim_dtls_client_state state);
void eim_coap_dtls_client_on_state(struct eim_coap_dtls_client *c,
				   eim_coap_dtls_client_state_fn fn, void *ctx);

/* Starts a request now (see eim_coap_client_request()); the callback runs
 * from the loop. */
int eim_coap_dtls_client_request(struct eim_coap_dtls_client *c,
				 const struct eim_coap_client_request *rq);

/*
 * Moves to a new UDP socket on a new source port (the old one is closed;
 * datagrams still addressed to it are lost, as behind a NAT whose binding
 * expired). When the session negotiated a Connection ID it is kept and the
 * next record goes out from the new port without a handshake; otherwise a
 * new handshake starts, since the server cannot recognise the old session
 * from a new address. Safe from inside this client's callbacks. Returns 0,
 * EIM_EIO or EIM_ENOMEM (the client then keeps its old socket).
 */
int eim_coap_dtls_client_rebind(struct eim_coap_dtls_client *c);

/*
 * Drops the session and starts a new full handshake on the same socket
 * (a device that lost its session state). Requests in progress continue on
 * the new session. Returns 0 or the errors of eim_dtls_client_new().
 * Safe from inside this client's callbacks: the old session is freed only
 * after the datagram being processed is done with.
 */
int eim_coap_dtls_client_rehandshake(struct eim_coap_dtls_client *c);

/* The current session's state. */
enum eim_dtls_client_state
eim_coap_dtls_client_state(const struct eim_coap_dtls_client *c);
/* True when the current session uses a Connection ID. */
bool eim_coap_dtls_client_has_cid(const struct eim_coap_dtls_client *c);
/* The local UDP port of the current socket, or a negative EIM_E*. */
int eim_coap_dtls_client_local_port(const struct eim_coap_dtls_client *c);

struct eim_coap_dtls_client_stats {
	uint64_t handshakes; /* completed */
	uint64_t handshakes_failed;
	uint64_t rebinds;
	uint64_t requests;	  /* started */
	uint64_t completed;	  /* responses delivered (any code) */
	uint64_t failed;	  /* callbacks with status < 0 */
	uint64_t retransmissions; /* CoAP retransmissions */
	uint64_t queued_dropped;  /* datagrams dropped while waiting for
				     a handshake (queue full) */
};
void eim_coap_dtls_client_stats(const struct eim_coap_dtls_client *c,
				struct eim_coap_dtls_client_stats *ret);

/* The engines, for their own statistics. */
struct eim_coap_client *
eim_coap_dtls_client_coap(struct eim_coap_dtls_client *c);
struct eim_dtls_client *
eim_coap_dtls_client_dtls(struct eim_coap_dtls_client *c);

#endif
