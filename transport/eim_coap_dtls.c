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
	int (*cert_check)(void *ctx, enum eim_dtls_identity_kind kind,
			  const uint8_t fp[32]);
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

static int cert_check(void *ctx, enum eim_dtls_identity_kind kind,
		      const uint8_t fp[32])
{
	struct eim_coap_dtls_server *ds = ctx;
	return ds->cert_check(ds->cb_ctx, kind, fp);
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
	ds->cert_check = dtls->cert_check;
	cfg = *dtls;
	cfg.ctx = ds;
	cfg.send = dtls_send;
	cfg.on_app_data = on_app_data;
	cfg.on_closed = on_closed;
	cfg.psk_lookup = dtls->psk_lookup ? psk_lookup : NULL;
	cfg.on_established = on_established;
	cfg.keylog = dtls->keylog ? keylog : NULL;
	cfg.cert_check = dtls->cert_check ? cert_check : NULL;
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

/* ---- client ---- */

/* Datagrams the CoAP engine sends before the session is established wait
 * here (a handful: one per request in flight, plus retransmissions). */
#define PENDING_MAX 64

struct pending {
	uint8_t *data;
	size_t len;
};

struct eim_coap_dtls_client {
	struct eim_loop *loop;
	struct sockaddr_storage server;
	socklen_t server_len;
	struct eim_loop_udp *udp;
	/* a socket replaced while it was delivering a batch: the loop still
	 * uses it after our receive callback returns, so it is closed from
	 * the reap timer */
	struct eim_loop_udp *retired_udp;
	struct eim_loop_udp *rx_udp; /* the socket delivering a batch now */
	struct eim_dtls_client *dtls;
	/* a session replaced while its input was running; freed when that
	 * input returns */
	struct eim_dtls_client *retired_dtls;
	bool in_input;
	struct eim_coap_client *coap;
	struct eim_loop_timer timer, reap;
	enum eim_dtls_client_state last_state;
	eim_coap_dtls_client_state_fn state_fn;
	void *state_ctx;
	/* our copy of the session configuration, for new handshakes */
	struct eim_dtls_client_config cfg;
	void *user_ctx;
	void (*user_established)(void *ctx);
	uint8_t *identity, *psk;
	char *ca_pem;
	/* the device credential and server pins, for new handshakes too */
	char *cert_pem, *key_pem, *server_name;
	uint8_t server_cert_sha256[32], server_rpk_sha256[32];
	uint16_t *suites;
	struct pending q[PENDING_MAX];
	size_t q_n;
	struct eim_coap_dtls_client_stats st;
};

static void client_rearm(struct eim_coap_dtls_client *c)
{
	uint64_t a = eim_dtls_client_next_timeout(c->dtls);
	uint64_t b = eim_coap_client_next_deadline(c->coap);
	uint64_t t = a < b ? a : b;

	if (t == UINT64_MAX) {
		eim_loop_timer_stop(c->loop, &c->timer);
		return;
	}
	if (eim_loop_timer_armed(&c->timer) && c->timer.when_ms == t)
		return;
	eim_loop_timer_start(c->loop, &c->timer, t);
}

static void pending_clear(struct eim_coap_dtls_client *c)
{
	for (size_t i = 0; i < c->q_n; i++)
		eim_free(c->q[i].data);
	c->q_n = 0;
}

/* Reports a state change once, and sends what waited for the session. */
static void client_check_state(struct eim_coap_dtls_client *c)
{
	enum eim_dtls_client_state s = eim_dtls_client_state(c->dtls);

	if (s == c->last_state)
		return;
	c->last_state = s;
	if (s == EIM_DTLS_CLIENT_ESTABLISHED) {
		c->st.handshakes++;
		for (size_t i = 0; i < c->q_n; i++)
			eim_dtls_client_send(c->dtls, c->q[i].data,
					     c->q[i].len);
		pending_clear(c);
	} else if (s == EIM_DTLS_CLIENT_FAILED) {
		c->st.handshakes_failed++;
	} else {
		return;
	}
	if (c->state_fn)
		c->state_fn(c->state_ctx, c, s);
}

static void client_timer(struct eim_loop *l, void *ctx)
{
	struct eim_coap_dtls_client *c = ctx;
	uint64_t now = eim_loop_now(l);

	eim_dtls_client_tick(c->dtls, now);
	client_check_state(c);
	eim_coap_client_tick(c->coap, now);
	client_rearm(c);
}

static void client_reap(struct eim_loop *l, void *ctx)
{
	struct eim_coap_dtls_client *c = ctx;

	(void)l;
	eim_loop_udp_close(c->retired_udp);
	c->retired_udp = NULL;
}

/* DTLS wants a datagram sent to the server. */
static int client_dtls_send(void *ctx, const uint8_t *d, size_t n)
{
	struct eim_coap_dtls_client *c = ctx;
	return eim_loop_udp_send(c->udp, NULL, 0, d, n);
}

/* CoAP wants a message sent: one record, or a wait for the handshake. */
static int client_coap_send(void *ctx, const uint8_t *d, size_t n)
{
	struct eim_coap_dtls_client *c = ctx;
	uint8_t *copy;

	if (eim_dtls_client_state(c->dtls) == EIM_DTLS_CLIENT_ESTABLISHED)
		return eim_dtls_client_send(c->dtls, d, n);
	if (c->q_n == PENDING_MAX) {
		c->st.queued_dropped++;
		return EIM_EBUSY;
	}
	copy = eim_memdup(d, n);
	if (!copy)
		return EIM_ENOMEM;
	c->q[c->q_n].data = copy;
	c->q[c->q_n].len = n;
	c->q_n++;
	return 0;
}

static void client_app_data(void *ctx, const uint8_t *d, size_t n)
{
	struct eim_coap_dtls_client *c = ctx;
	eim_coap_client_input(c->coap, d, n, eim_loop_now(c->loop));
}

static void client_established(void *ctx)
{
	struct eim_coap_dtls_client *c = ctx;
	if (c->user_established)
		c->user_established(c->user_ctx);
}

static void client_rx(struct eim_loop_udp *u, const struct eim_loop_dgram *d,
		      size_t n, void *ctx)
{
	struct eim_coap_dtls_client *c = ctx;
	uint64_t now = eim_loop_now(c->loop);

	c->rx_udp = u;
	for (size_t i = 0; i < n; i++) {
		c->in_input = true;
		eim_dtls_client_input(c->dtls, d[i].data, d[i].len, now);
		c->in_input = false;
		eim_dtls_client_free(c->retired_dtls);
		c->retired_dtls = NULL;
		client_check_state(c);
	}
	c->rx_udp = NULL;
	client_rearm(c);
}

static int client_session_new(struct eim_coap_dtls_client *c)
{
	struct eim_dtls_client *d;
	int rc = eim_dtls_client_new(&c->cfg, &d);

	if (rc)
		return rc;
	rc = eim_dtls_client_start(d, eim_loop_now(c->loop));
	if (rc) {
		eim_dtls_client_free(d);
		return rc;
	}
	if (c->in_input)
		c->retired_dtls = c->dtls;
	else
		eim_dtls_client_free(c->dtls);
	c->dtls = d;
	c->last_state = EIM_DTLS_CLIENT_HANDSHAKING;
	client_rearm(c);
	return 0;
}

static void client_release(struct eim_coap_dtls_client *c)
{
	eim_loop_timer_stop(c->loop, &c->timer);
	eim_loop_timer_stop(c->loop, &c->reap);
	eim_loop_udp_close(c->retired_udp);
	eim_loop_udp_close(c->udp);
	eim_dtls_client_free(c->retired_dtls);
	eim_dtls_client_free(c->dtls);
	eim_coap_client_free(c->coap);
	pending_clear(c);
	eim_free(c->identity);
	eim_free_secret(c->psk, c->cfg.psk_len);
	eim_free(c->ca_pem);
	eim_free(c->cert_pem);
	eim_free_secret(c->key_pem, c->cfg.key_pem_len);
	eim_free(c->server_name);
	eim_free(c->suites);
	eim_free(c);
}

int eim_coap_dtls_client_new(struct eim_loop *l, const char *server_addr,
			     const struct eim_dtls_client_config *dtls,
			     const struct eim_coap_client_config *coap,
			     struct eim_coap_dtls_client **ret)
{
	return eim_coap_dtls_client_new_from(l, server_addr, NULL, 0, dtls,
					     coap, ret);
}

int eim_coap_dtls_client_new_from(struct eim_loop *l, const char *server_addr,
				  const struct sockaddr *local,
				  socklen_t local_len,
				  const struct eim_dtls_client_config *dtls,
				  const struct eim_coap_client_config *coap,
				  struct eim_coap_dtls_client **ret)
{
	struct eim_coap_dtls_client *c;
	int rc;

	if (!l || !server_addr || !dtls || !ret)
		return EIM_EINVAL;
	c = eim_calloc(1, sizeof(*c));
	if (!c)
		return EIM_ENOMEM;
	c->loop = l;
	eim_loop_timer_init(&c->timer, client_timer, c);
	eim_loop_timer_init(&c->reap, client_reap, c);
	rc = eim_loop_parse_addr(server_addr, &c->server, &c->server_len);
	if (rc)
		goto fail;
	c->cfg = *dtls;
	c->user_ctx = dtls->ctx;
	c->user_established = dtls->on_established;
	c->cfg.ctx = c;
	c->cfg.send = client_dtls_send;
	c->cfg.on_app_data = client_app_data;
	c->cfg.on_established = client_established;
	c->cfg.psk_identity = NULL;
	c->cfg.psk = NULL;
	c->cfg.ca_pem = NULL;
	c->cfg.suites = NULL;
	c->cfg.cert_pem = c->cfg.key_pem = c->cfg.server_name = NULL;
	c->cfg.server_cert_sha256 = c->cfg.server_rpk_sha256 = NULL;
	rc = EIM_ENOMEM;
	if (dtls->cert_pem && dtls->cert_pem_len) {
		c->cert_pem = eim_memdup(dtls->cert_pem, dtls->cert_pem_len);
		if (!c->cert_pem)
			goto fail;
		c->cfg.cert_pem = c->cert_pem;
	}
	if (dtls->key_pem && dtls->key_pem_len) {
		c->key_pem = eim_memdup(dtls->key_pem, dtls->key_pem_len);
		if (!c->key_pem)
			goto fail;
		c->cfg.key_pem = c->key_pem;
	}
	if (dtls->server_name) {
		c->server_name = eim_strdup(dtls->server_name);
		if (!c->server_name)
			goto fail;
		c->cfg.server_name = c->server_name;
	}
	if (dtls->server_cert_sha256) {
		memcpy(c->server_cert_sha256, dtls->server_cert_sha256, 32);
		c->cfg.server_cert_sha256 = c->server_cert_sha256;
	}
	if (dtls->server_rpk_sha256) {
		memcpy(c->server_rpk_sha256, dtls->server_rpk_sha256, 32);
		c->cfg.server_rpk_sha256 = c->server_rpk_sha256;
	}
	if (dtls->psk_identity && dtls->psk_identity_len) {
		c->identity =
			eim_memdup(dtls->psk_identity, dtls->psk_identity_len);
		if (!c->identity)
			goto fail;
		c->cfg.psk_identity = c->identity;
	}
	if (dtls->psk && dtls->psk_len) {
		c->psk = eim_memdup(dtls->psk, dtls->psk_len);
		if (!c->psk)
			goto fail;
		c->cfg.psk = c->psk;
	}
	if (dtls->ca_pem && dtls->ca_pem_len) {
		c->ca_pem = eim_memdup(dtls->ca_pem, dtls->ca_pem_len);
		if (!c->ca_pem)
			goto fail;
		c->cfg.ca_pem = c->ca_pem;
	}
	if (dtls->suites && dtls->n_suites) {
		c->suites = eim_memdup(dtls->suites,
				       dtls->n_suites * sizeof(uint16_t));
		if (!c->suites)
			goto fail;
		c->cfg.suites = c->suites;
	}
	rc = eim_coap_client_new(coap, client_coap_send, c, &c->coap);
	if (rc)
		goto fail;
	if (local)
		rc = eim_loop_udp_connect_from(l, local, local_len,
					       (struct sockaddr *)&c->server,
					       c->server_len, client_rx, c,
					       &c->udp);
	else
		rc = eim_loop_udp_connect(l, (struct sockaddr *)&c->server,
					  c->server_len, client_rx, c, &c->udp);
	if (rc)
		goto fail;
	rc = client_session_new(c);
	if (rc)
		goto fail;
	*ret = c;
	return 0;
fail:
	client_release(c);
	return rc;
}

void eim_coap_dtls_client_free(struct eim_coap_dtls_client *c)
{
	if (c)
		client_release(c);
}

void eim_coap_dtls_client_on_state(struct eim_coap_dtls_client *c,
				   eim_coap_dtls_client_state_fn fn, void *ctx)
{
	if (!c)
		return;
	c->state_fn = fn;
	c->state_ctx = ctx;
}

int eim_coap_dtls_client_request(struct eim_coap_dtls_client *c,
				 const struct eim_coap_client_request *rq)
{
	int rc;

	if (!c)
		return EIM_EINVAL;
	rc = eim_coap_client_request(c->coap, rq, eim_loop_now(c->loop));
	if (rc == 0) {
		c->st.requests++;
		client_rearm(c);
	}
	return rc;
}

int eim_coap_dtls_client_rebind(struct eim_coap_dtls_client *c)
{
	struct eim_loop_udp *u;
	int rc;

	if (!c)
		return EIM_EINVAL;
	/* The new socket is opened before the old one is closed, so the
	 * kernel cannot hand out the same port again. */
	rc = eim_loop_udp_connect(c->loop, (struct sockaddr *)&c->server,
				  c->server_len, client_rx, c, &u);
	if (rc)
		return rc;
	if (c->udp == c->rx_udp) {
		/* the loop uses it again after our callback: close it from
		 * the reap timer (an older one waiting there is idle now) */
		eim_loop_udp_close(c->retired_udp);
		c->retired_udp = c->udp;
		eim_loop_timer_start(c->loop, &c->reap, eim_loop_now(c->loop));
	} else {
		eim_loop_udp_close(c->udp);
	}
	c->udp = u;
	c->st.rebinds++;
	if (!eim_coap_dtls_client_has_cid(c) &&
	    eim_dtls_client_state(c->dtls) != EIM_DTLS_CLIENT_IDLE)
		return client_session_new(c);
	return 0;
}

int eim_coap_dtls_client_rehandshake(struct eim_coap_dtls_client *c)
{
	if (!c)
		return EIM_EINVAL;
	return client_session_new(c);
}

enum eim_dtls_client_state
eim_coap_dtls_client_state(const struct eim_coap_dtls_client *c)
{
	return c ? eim_dtls_client_state(c->dtls) : EIM_DTLS_CLIENT_IDLE;
}

bool eim_coap_dtls_client_has_cid(const struct eim_coap_dtls_client *c)
{
	size_t len = 0;

	if (!c || eim_dtls_client_state(c->dtls) != EIM_DTLS_CLIENT_ESTABLISHED)
		return false;
	return eim_dtls_client_peer_cid(c->dtls, &len) != NULL;
}

int eim_coap_dtls_client_local_port(const struct eim_coap_dtls_client *c)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!c || eim_loop_udp_local(c->udp, &ss, &len))
		return EIM_EINVAL;
	if (ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
}

void eim_coap_dtls_client_stats(const struct eim_coap_dtls_client *c,
				struct eim_coap_dtls_client_stats *ret)
{
	struct eim_coap_client_stats cs;

	if (!c || !ret)
		return;
	eim_coap_client_stats(c->coap, &cs);
	*ret = c->st;
	ret->completed = cs.completed;
	ret->failed = cs.failed;
	ret->retransmissions = cs.retransmits;
}

struct eim_coap_client *
eim_coap_dtls_client_coap(struct eim_coap_dtls_client *c)
{
	return c ? c->coap : NULL;
}

struct eim_dtls_client *
eim_coap_dtls_client_dtls(struct eim_coap_dtls_client *c)
{
	return c ? c->dtls : NULL;
}
