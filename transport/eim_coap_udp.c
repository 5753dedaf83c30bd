/*
 * eim_coap_udp.c - CoAP engines on event-loop UDP sockets (RFC 7252 "coap").
 *
 * The peer struct handed to the server engine lives on the stack for one
 * datagram; its send context points at a small stack record holding the
 * socket and the sender's address, which is all a reply needs.
 */
#include "transport/eim_coap_udp.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <netinet/in.h>
#include <string.h>

struct eim_coap_udp_server {
	struct eim_loop *loop;
	struct eim_loop_udp *udp;
	struct eim_coap_server *srv;
	struct eim_loop_timer timer;
};

struct reply_to {
	struct eim_loop_udp *udp;
	const struct sockaddr *addr;
	socklen_t addrlen;
};

static int reply_send(void *ctx, const uint8_t *d, size_t n)
{
	struct reply_to *r = ctx;
	return eim_loop_udp_send(r->udp, r->addr, r->addrlen, d, n);
}

static void server_rearm(struct eim_coap_udp_server *us)
{
	uint64_t t = eim_coap_server_next_deadline(us->srv);

	if (t == UINT64_MAX) {
		eim_loop_timer_stop(us->loop, &us->timer);
		return;
	}
	if (eim_loop_timer_armed(&us->timer) && us->timer.when_ms == t)
		return;
	eim_loop_timer_start(us->loop, &us->timer, t);
}

static void server_timer(struct eim_loop *l, void *ctx)
{
	struct eim_coap_udp_server *us = ctx;

	eim_coap_server_tick(us->srv, eim_loop_now(l));
	server_rearm(us);
}

static void server_rx(struct eim_loop_udp *u, const struct eim_loop_dgram *d,
		      size_t n, void *ctx)
{
	struct eim_coap_udp_server *us = ctx;
	uint64_t now = eim_loop_now(us->loop);

	for (size_t i = 0; i < n; i++) {
		struct reply_to rt = {u, d[i].addr, d[i].addrlen};
		struct eim_coap_peer peer = {
			.key = (const uint8_t *)d[i].addr,
			.key_len = d[i].addrlen,
			.send = reply_send,
			.send_ctx = &rt,
		};
		/* Only family, port and address identify a UDP peer: the
		 * kernel fills the rest of sockaddr_in with zeros, and for
		 * IPv6 flow info is zero on receive; the scope id matters. */
		if (peer.key_len > EIM_COAP_PEER_KEY_MAX)
			continue;
		eim_coap_server_input(us->srv, &peer, d[i].data, d[i].len, now);
	}
	server_rearm(us);
}

int eim_coap_udp_server_new(struct eim_loop *l, const char *addr,
			    struct eim_coap_server *srv,
			    struct eim_coap_udp_server **ret)
{
	struct eim_coap_udp_server *us;
	struct sockaddr_storage ss;
	socklen_t len;
	int rc;

	if (!l || !addr || !srv || !ret)
		return EIM_EINVAL;
	rc = eim_loop_parse_addr(addr, &ss, &len);
	if (rc)
		return rc;
	us = eim_calloc(1, sizeof(*us));
	if (!us)
		return EIM_ENOMEM;
	us->loop = l;
	us->srv = srv;
	eim_loop_timer_init(&us->timer, server_timer, us);
	rc = eim_loop_udp_open(l, (struct sockaddr *)&ss, len, server_rx, us,
			       &us->udp);
	if (rc) {
		eim_free(us);
		return rc;
	}
	*ret = us;
	return 0;
}

void eim_coap_udp_server_free(struct eim_coap_udp_server *us)
{
	if (!us)
		return;
	eim_loop_timer_stop(us->loop, &us->timer);
	eim_loop_udp_close(us->udp);
	eim_free(us);
}

static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

int eim_coap_udp_server_port(const struct eim_coap_udp_server *us)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!us || eim_loop_udp_local(us->udp, &ss, &len))
		return EIM_EINVAL;
	return port_of(&ss);
}

struct eim_loop_udp *eim_coap_udp_server_socket(struct eim_coap_udp_server *us)
{
	return us ? us->udp : NULL;
}

/* ---- client ---- */

struct eim_coap_udp_client {
	struct eim_loop *loop;
	struct eim_loop_udp *udp;
	struct eim_coap_client *cli;
	struct eim_loop_timer timer;
};

static int client_send(void *ctx, const uint8_t *d, size_t n)
{
	struct eim_coap_udp_client *uc = ctx;
	return eim_loop_udp_send(uc->udp, NULL, 0, d, n);
}

static void client_rearm(struct eim_coap_udp_client *uc)
{
	uint64_t t = eim_coap_client_next_deadline(uc->cli);

	if (t == UINT64_MAX) {
		eim_loop_timer_stop(uc->loop, &uc->timer);
		return;
	}
	if (eim_loop_timer_armed(&uc->timer) && uc->timer.when_ms == t)
		return;
	eim_loop_timer_start(uc->loop, &uc->timer, t);
}

static void client_timer(struct eim_loop *l, void *ctx)
{
	struct eim_coap_udp_client *uc = ctx;

	eim_coap_client_tick(uc->cli, eim_loop_now(l));
	client_rearm(uc);
}

static void client_rx(struct eim_loop_udp *u, const struct eim_loop_dgram *d,
		      size_t n, void *ctx)
{
	struct eim_coap_udp_client *uc = ctx;
	uint64_t now = eim_loop_now(uc->loop);

	for (size_t i = 0; i < n; i++)
		eim_coap_client_input(uc->cli, d[i].data, d[i].len, now);
	client_rearm(uc);
}

int eim_coap_udp_client_new(struct eim_loop *l, const char *server_addr,
			    const struct eim_coap_client_config *cfg,
			    struct eim_coap_udp_client **ret)
{
	struct eim_coap_udp_client *uc;
	struct sockaddr_storage ss;
	socklen_t len;
	int rc;

	if (!l || !server_addr || !ret)
		return EIM_EINVAL;
	rc = eim_loop_parse_addr(server_addr, &ss, &len);
	if (rc)
		return rc;
	uc = eim_calloc(1, sizeof(*uc));
	if (!uc)
		return EIM_ENOMEM;
	uc->loop = l;
	eim_loop_timer_init(&uc->timer, client_timer, uc);
	rc = eim_coap_client_new(cfg, client_send, uc, &uc->cli);
	if (rc)
		goto fail;
	rc = eim_loop_udp_connect(l, (struct sockaddr *)&ss, len, client_rx, uc,
				  &uc->udp);
	if (rc)
		goto fail;
	*ret = uc;
	return 0;
fail:
	eim_coap_client_free(uc->cli);
	eim_free(uc);
	return rc;
}

void eim_coap_udp_client_free(struct eim_coap_udp_client *uc)
{
	if (!uc)
		return;
	eim_loop_timer_stop(uc->loop, &uc->timer);
	eim_loop_udp_close(uc->udp);
	eim_coap_client_free(uc->cli);
	eim_free(uc);
}

int eim_coap_udp_client_request(struct eim_coap_udp_client *uc,
				const struct eim_coap_client_request *rq)
{
	int rc;

	if (!uc)
		return EIM_EINVAL;
	rc = eim_coap_client_request(uc->cli, rq, eim_loop_now(uc->loop));
	if (rc == 0)
		client_rearm(uc);
	return rc;
}

struct eim_coap_client *
eim_coap_udp_client_engine(struct eim_coap_udp_client *uc)
{
	return uc ? uc->cli : NULL;
}
