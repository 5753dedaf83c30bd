/*
 * dtls_world.c - in-memory harness for the DTLS session tests (see
 * dtls_world.h).
 */
#include "tests/dtls/dtls_world.h"

#include "common/eim_err.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t psk[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
			 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

struct sockaddr_in loop_addr(uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

int srv_send(void *ctx, const struct sockaddr *to, socklen_t to_len,
	     const uint8_t *d, size_t n)
{
	struct world *w = ctx;
	struct dgram *g;

	ck_assert_uint_le(n, sizeof(g->b));
	if (n > w->max_to_cli)
		w->max_to_cli = n;
	if (w->drop_next_to_cli) {
		w->drop_next_to_cli = false;
		return 0;
	}
	if (w->n_to_cli == QMAX)
		return -1;
	g = &w->to_cli[w->n_to_cli++];
	memcpy(g->b, d, n);
	g->n = n;
	ck_assert_uint_eq(to_len, sizeof(struct sockaddr_in));
	memcpy(&g->addr, to, sizeof(g->addr));
	return 0;
}

int cli_send(void *ctx, const uint8_t *d, size_t n)
{
	struct world *w = ctx;
	struct dgram *g;

	if (w->n_to_srv == QMAX)
		return -1;
	g = &w->to_srv[w->n_to_srv++];
	memcpy(g->b, d, n);
	g->n = n;
	g->addr = w->cli_addr;
	if (w->n_log < QMAX)
		w->log_to_srv[w->n_log++] = *g;
	return 0;
}

void srv_app(void *ctx, struct eim_dtls_session *s, const uint8_t *d, size_t n)
{
	struct world *w = ctx;

	ck_assert_uint_le(n, sizeof(w->srv_got));
	memcpy(w->srv_got, d, n);
	w->srv_got_len = n;
	w->last_session = s;
	/* echo, as the CoAP layer would answer */
	ck_assert_int_eq(eim_dtls_session_send(s, d, n), 0);
}

void cli_app(void *ctx, const uint8_t *d, size_t n)
{
	struct world *w = ctx;

	memcpy(w->cli_got, d, n);
	w->cli_got_len = n;
}

int lookup(void *ctx, const uint8_t *id, size_t idlen, uint8_t *key,
	   size_t *key_len)
{
	(void)ctx;
	if (idlen != 6 || memcmp(id, "sensor", 6) != 0)
		return EIM_ENOTFOUND;
	memcpy(key, psk, sizeof(psk));
	*key_len = sizeof(psk);
	return 0;
}

void on_closed(void *ctx, struct eim_dtls_session *s,
	       enum eim_dtls_close_reason why)
{
	struct world *w = ctx;

	(void)s;
	w->closed++;
	w->closed_reason = (int)why;
}

/* Whether world_init()'s client offers extended_master_secret. */
bool offer_ems = true;
/* Server limits for world_init() (0 = defaults). */
size_t max_hs, max_sess;
bool prefer_x25519;

void world_init(struct world *w, const uint8_t *key, size_t cid_len,
		bool cli_cid)
{
	struct eim_dtls_server_config sc;
	struct eim_dtls_client_config cc;

	memset(w, 0, sizeof(*w));
	w->now = 1000000;
	w->cli_addr = loop_addr(40000);
	eim_dtls_server_config_init(&sc);
	sc.ctx = w;
	sc.send = srv_send;
	sc.on_app_data = srv_app;
	sc.psk_lookup = lookup;
	sc.on_closed = on_closed;
	sc.cid_len = cid_len;
	if (max_hs)
		sc.max_handshakes = max_hs;
	if (max_sess)
		sc.max_sessions = max_sess;
	ck_assert_int_eq(eim_dtls_server_new(&sc, w->now, &w->srv), 0);
	eim_dtls_client_config_init(&cc);
	cc.ctx = w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"sensor";
	cc.psk_identity_len = 6;
	cc.psk = key;
	cc.psk_len = 16;
	cc.use_cid = cli_cid;
	cc.offer_ems = offer_ems;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w->cli), 0);
}

void world_done(struct world *w)
{
	eim_dtls_client_free(w->cli);
	eim_dtls_server_free(w->srv);
}

/* Delivers queued datagrams both ways until both queues are empty. */
void pump(struct world *w)
{
	for (int round = 0; round < 20 && (w->n_to_srv || w->n_to_cli);
	     round++) {
		struct dgram q[QMAX];
		size_t n = w->n_to_srv;

		memcpy(q, w->to_srv, n * sizeof(q[0]));
		w->n_to_srv = 0;
		for (size_t i = 0; i < n; i++)
			eim_dtls_server_input(w->srv,
					      (struct sockaddr *)&q[i].addr,
					      sizeof(q[i].addr), q[i].b, q[i].n,
					      w->now);
		n = w->n_to_cli;
		memcpy(q, w->to_cli, n * sizeof(q[0]));
		w->n_to_cli = 0;
		for (size_t i = 0; i < n; i++) {
			ck_assert_uint_eq(q[i].addr.sin_port,
					  w->cli_addr.sin_port);
			eim_dtls_client_input(w->cli, q[i].b, q[i].n, w->now);
		}
	}
}

struct eim_dtls_server_stats stats(struct world *w)
{
	struct eim_dtls_server_stats st;

	eim_dtls_server_stats(w->srv, &st);
	return st;
}

void handshake(struct world *w)
{
	ck_assert_int_eq(eim_dtls_client_start(w->cli, w->now), 0);
	pump(w);
	ck_assert_int_eq(eim_dtls_client_state(w->cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
}

void roundtrip(struct world *w, const char *msg)
{
	w->cli_got_len = 0;
	ck_assert_int_eq(eim_dtls_client_send(w->cli, (const uint8_t *)msg,
					      strlen(msg)),
			 0);
	pump(w);
	ck_assert_uint_eq(w->cli_got_len, strlen(msg));
	ck_assert_mem_eq(w->cli_got, msg, strlen(msg));
}

/* Delivers one client->server hop and one server->client hop. */
void hop(struct world *w, struct eim_dtls_client *c)
{
	struct dgram q[QMAX];
	size_t n = w->n_to_srv;

	memcpy(q, w->to_srv, n * sizeof(q[0]));
	w->n_to_srv = 0;
	for (size_t i = 0; i < n; i++)
		eim_dtls_server_input(w->srv, (struct sockaddr *)&q[i].addr,
				      sizeof(q[i].addr), q[i].b, q[i].n,
				      w->now);
	n = w->n_to_cli;
	memcpy(q, w->to_cli, n * sizeof(q[0]));
	w->n_to_cli = 0;
	for (size_t i = 0; i < n; i++)
		eim_dtls_client_input(c, q[i].b, q[i].n, w->now);
}

/* ---- ECDHE-ECDSA with the fixture certificate ------------------------ */

char *fixture(const char *name, size_t *len)
{
	char path[1024];
	const char *root = getenv("EIM_SOURCE_ROOT");
	FILE *f;
	char *b;
	long n;

	snprintf(path, sizeof(path), "%s/tests/dtls/fixtures/%s",
		 root ? root : ".", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* Server with the fixture certificate (chain: leaf + CA), client trusting
 * ca_file, both offering only `suite`. */
void ecdsa_world(struct world *w, uint16_t suite, uint16_t mtu,
		 const char *ca_file)
{
	struct eim_dtls_server_config sc;
	struct eim_dtls_client_config cc;
	size_t cl, kl, al;
	char *leaf = fixture("test-dtls-server.cert.pem", &cl);
	char *key = fixture("test-dtls-server.key.pem", &kl);
	char *ca = fixture("test-dtls-ca.cert.pem", &al);
	char *chain = calloc(1, cl + al + 1), *trust;
	size_t tl;

	memcpy(chain, leaf, cl);
	memcpy(chain + cl, ca, al);
	trust = fixture(ca_file, &tl);
	memset(w, 0, sizeof(*w));
	w->now = 1000000;
	w->cli_addr = loop_addr(40000);
	eim_dtls_server_config_init(&sc);
	sc.ctx = w;
	sc.send = srv_send;
	sc.on_app_data = srv_app;
	sc.on_closed = on_closed;
	sc.cert_pem = chain;
	sc.cert_pem_len = cl + al;
	sc.key_pem = key;
	sc.key_pem_len = kl;
	sc.mtu = mtu;
	sc.prefer_x25519 = prefer_x25519;
	ck_assert_int_eq(eim_dtls_server_new(&sc, w->now, &w->srv), 0);
	eim_dtls_client_config_init(&cc);
	cc.ctx = w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.ca_pem = trust;
	cc.ca_pem_len = tl;
	cc.suites = &suite;
	cc.n_suites = 1;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w->cli), 0);
	free(leaf);
	free(key);
	free(ca);
	free(chain);
	free(trust);
}
