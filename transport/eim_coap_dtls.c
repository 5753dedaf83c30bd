/*
 * eim_coap_dtls.c - the CoAP server engine on DTLS sessions (see
 * eim_coap_dtls.h).
 */
#include "transport/eim_coap_dtls.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <netinet/in.h>
#include <string.h>

struct eim_coap_dtls_server {
	struct eim_loop *loop;
	struct eim_loop_udp *udp;
	struct eim_dtls_server *dtls;
	struct eim_coap_server *coap;
	struct eim_loop_timer timer;
	/* the caller's callbacks, called with cb_ctx */
	void *cb_ctx;
	int (*psk_lookup)(void *ctx, const uint8_t *identity, size_t len,
			  uint8_t *key, size_t *key_len);
	void (*on_established)(void *ctx, struct eim_dtls_session *s);
	void (*keylog)(void *ctx, const char *line);
};

static void rearm(struct eim_coap_dtls_server *ds)
{
	uint64_t a = eim_dtls_server_next_timeout(ds->dtls);
	uint64_t b = eim_coap_server_next_deadline(ds->coap);
	uint64_t t = a < b ? a : b;

	if (t == UINT64_MAX) {
		eim_loop_timer_stop(ds->loop, &ds->timer);
		return;
	}
	if (eim_loop_timer_armed(&ds->timer) && ds->timer.when_ms == t)
		return;
	eim_loop_timer_start(ds->loop, &ds->timer, t);
}

static void on_timer(struct eim_loop *l, void *ctx)
{
	struct eim_coap_dtls_server *ds = ctx;
	uint64_t now = eim_loop_now(l);

	eim_dtls_server_tick(ds->dtls, now);
	eim_coap_server_tick(ds->coap, now);
	rearm(ds);
}

/* DTLS wants a datagram sent. */
static int dtls_send(void *ctx, const struct sockaddr *to, socklen_t to_len,
		     const uint8_t *data, size_t len)
{
	struct eim_coap_dtls_server *ds = ctx;
	return eim_loop_udp_send(ds->udp, to, to_len, data, len);
}

/* CoAP wants a message sent to a session: one application record. */
static int coap_send(void *ctx, const uint8_t *d, size_t n)
{
	return eim_dtls_session_send(ctx, d, n);
}

static void on_app_data(void *ctx, struct eim_dtls_session *s,
			const uint8_t *data, size_t len)
{
	struct eim_coap_dtls_server *ds = ctx;
	size_t id_len = 0;
	const uint8_t *id = eim_dtls_session_identity(s, &id_len);
	struct eim_coap_peer peer = {
		.key = (const uint8_t *)&s, /* the session, not its address */
		.key_len = sizeof(s),
		.identity = id,
		.identity_len = id_len,
		.send = coap_send,
		.send_ctx = s,
		.user = s,
	};
	eim_coap_server_input(ds->coap, &peer, data, len,
			      eim_loop_now(ds->loop));
}

static void on_closed(void *ctx, struct eim_dtls_session *s,
		      enum eim_dtls_close_reason why)
{
	struct eim_coap_dtls_server *ds = ctx;
	(void)why;
	/* The session's address in memory may be reused by the next session:
	 * drop its CoAP state (dedup cache, half bodies) now. */
	eim_coap_server_peer_gone(ds->coap, (const uint8_t *)&s, sizeof(s));
}

static int psk_lookup(void *ctx, const uint8_t *identity, size_t len,
		      uint8_t *key, size_t *key_len)
{
	struct eim_coap_dtls_server *ds = ctx;
	return ds->psk_lookup(ds->cb_ctx, identity, len, key, key_len);
}

static void on_established(void *ctx, struct eim_dtls_session *s)
{
	struct eim_coap_dtls_server *ds = ctx;
	if (ds->on_established)
		ds->on_established(ds->cb_ctx, s);
}

static void keylog(void *ctx, const char *line)
{
	struct eim_coap_dtls_server *ds = ctx;
	ds->keylog(ds->cb_ctx, line);
}

static void on_rx(struct eim_loop_udp *u, const struct eim_loop_dgram *d,
		  size_t n, void *ctx)
{
	struct eim_coap_dtls_server *ds = ctx;
	uint64_t now = eim_loop_now(ds->loop);

	(void)u;
	for (size_t i = 0; i < n; i++)
		eim_dtls_server_input(ds->dtls, d[i].addr, d[i].addrlen,
				      d[i].data, d[i].len, now);
	rearm(ds);
}

int eim_coap_dtls_server_new(struct eim_loop *l, const char *addr,
			     const struct eim_dtls_server_config *dtls,
			     void *cb_ctx, struct eim_coap_server *srv,
			     struct eim_coap_dtls_server **ret)
{
	struct eim_coap_dtls_server *ds;
	struct eim_dtls_server_config cfg;
	struct sockaddr_storage ss;
	socklen_t len;
	int rc;

	if (!l || !addr || !dtls || !srv || !ret)
		return EIM_EINVAL;
	rc = eim_loop_parse_addr(addr, &ss, &len);
	if (rc)
		return rc;
	ds = eim_calloc(1, sizeof(*ds));
	if (!ds)
		return EIM_ENOMEM;
	ds->loop = l;
	ds->coap = srv;
	ds->cb_ctx = cb_ctx;
	ds->psk_lookup = dtls->psk_lookup;
	ds->on_established = dtls->on_established;
	ds->keylog = dtls->keylog;
	cfg = *dtls;
	cfg.ctx = ds;
	cfg.send = dtls_send;
	cfg.on_app_data = on_app_data;
	cfg.on_closed = on_closed;
	cfg.psk_lookup = dtls->psk_lookup ? psk_lookup : NULL;
	cfg.on_established = on_established;
	cfg.keylog = dtls->keylog ? keylog : NULL;
	eim_loop_timer_init(&ds->timer, on_timer, ds);
	rc = eim_dtls_server_new(&cfg, eim_loop_now(l), &ds->dtls);
	if (rc == 0)
		rc = eim_loop_udp_open(l, (struct sockaddr *)&ss, len, on_rx,
				       ds, &ds->udp);
	if (rc) {
		eim_dtls_server_free(ds->dtls);
		eim_free(ds);
		return rc;
	}
	*ret = ds;
	return 0;
}

void eim_coap_dtls_server_free(struct eim_coap_dtls_server *ds)
{
	if (!ds)
		return;
	eim_loop_timer_stop(ds->loop, &ds->timer);
	eim_dtls_server_free(ds->dtls); /* on_closed for every session */
	eim_loop_udp_close(ds->udp);
	eim_free(ds);
}

int eim_coap_dtls_server_port(const struct eim_coap_dtls_server *ds)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!ds || eim_loop_udp_local(ds->udp, &ss, &len))
		return EIM_EINVAL;
	if (ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
}

struct eim_dtls_server *
eim_coap_dtls_server_engine(struct eim_coap_dtls_server *ds)
{
	return ds ? ds->dtls : NULL;
}
