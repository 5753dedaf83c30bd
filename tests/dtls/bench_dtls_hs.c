/*
 * bench_dtls_hs.c - CPU time of one DTLS 1.2 handshake per kind, server
 * and client apart, in memory on one core (no sockets): PSK (CCM-8),
 * ECDHE-PSK (ChaCha20) and ECDHE-ECDSA (CCM-8, server certificate chain
 * from tests/dtls/fixtures, client checking it against the test CA), the
 * ECDHE ones on x25519 and on secp256r1 (client offering only that).
 *
 * Times are the thread's own CPU time (CLOCK_THREAD_CPUTIME_ID) around
 * eim_dtls_server_input() and around the client calls, so other work on a
 * shared machine does not inflate them the way wall-clock time does.
 * Each handshake ends with close_notify so that the server's session
 * tables stay small: this is the cost of the handshake itself.
 *
 *   bench_dtls_hs [all|psk|ecdhe-psk|ecdsa [COUNT]]
 *
 * Prints the figures; never registered as a test.
 */
#include "common/eim_err.h"
#include "transport/eim_dtls_client.h"
#include "transport/eim_dtls_hs.h"
#include "transport/eim_dtls_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QMAX 16

struct q {
	uint8_t b[QMAX][2048];
	size_t n[QMAX];
	size_t len;
};

static struct q to_srv, to_cli;
static struct sockaddr_in cli_addr;
static const uint8_t psk[16] = "bench-psk-012345";
static double srv_cpu, cli_cpu;
static char *srv_chain, *srv_key, *ca_pem;
static size_t srv_chain_len, srv_key_len, ca_pem_len;

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static void push(struct q *q, const uint8_t *d, size_t n)
{
	if (q->len < QMAX && n <= 2048) {
		memcpy(q->b[q->len], d, n);
		q->n[q->len++] = n;
	}
}

static int srv_send(void *ctx, const struct sockaddr *to, socklen_t tl,
		    const uint8_t *d, size_t n)
{
	(void)ctx;
	(void)to;
	(void)tl;
	push(&to_cli, d, n);
	return 0;
}

static int cli_send(void *ctx, const uint8_t *d, size_t n)
{
	(void)ctx;
	push(&to_srv, d, n);
	return 0;
}

static void srv_app(void *ctx, struct eim_dtls_session *s, const uint8_t *d,
		    size_t n)
{
	(void)ctx;
	eim_dtls_session_send(s, d, n);
}

static void cli_app(void *ctx, const uint8_t *d, size_t n)
{
	(void)ctx;
	(void)d;
	(void)n;
}

static int lookup(void *ctx, const uint8_t *id, size_t idlen, uint8_t *key,
		  size_t *key_len)
{
	(void)ctx;
	(void)id;
	(void)idlen;
	memcpy(key, psk, sizeof(psk));
	*key_len = sizeof(psk);
	return 0;
}

static char *fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", EIM_DTLS_FIXTURES, name);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "bench_dtls_hs: cannot read %s\n", path);
		exit(1);
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		abort();
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void load_pki(void)
{
	size_t ll;
	char *leaf = fixture("test-dtls-server.cert.pem", &ll);

	ca_pem = fixture("test-dtls-ca.cert.pem", &ca_pem_len);
	srv_key = fixture("test-dtls-server.key.pem", &srv_key_len);
	/* the chain as the server sends it: leaf, then its CA */
	srv_chain = malloc(ll + ca_pem_len + 1);
	if (!srv_chain)
		abort();
	memcpy(srv_chain, leaf, ll);
	memcpy(srv_chain + ll, ca_pem, ca_pem_len + 1);
	srv_chain_len = ll + ca_pem_len;
	free(leaf);
}

static void pump(struct eim_dtls_server *srv, struct eim_dtls_client *cli)
{
	while (to_srv.len || to_cli.len) {
		struct q q = to_srv;
		double t0 = cpu_s();

		to_srv.len = 0;
		for (size_t i = 0; i < q.len; i++)
			eim_dtls_server_input(srv, (struct sockaddr *)&cli_addr,
					      sizeof(cli_addr), q.b[i], q.n[i],
					      0);
		srv_cpu += cpu_s() - t0;
		q = to_cli;
		to_cli.len = 0;
		t0 = cpu_s();
		for (size_t i = 0; i < q.len; i++)
			eim_dtls_client_input(cli, q.b[i], q.n[i], 0);
		cli_cpu += cpu_s() - t0;
	}
}

static bool is_ecdsa(uint16_t suite)
{
	return suite == EIM_DTLS_ECDHE_ECDSA_AES128_CCM8 ||
	       suite == EIM_DTLS_ECDHE_ECDSA_AES128_GCM ||
	       suite == EIM_DTLS_ECDHE_ECDSA_CHACHA20;
}

static void one_handshake(struct eim_dtls_server *srv, uint16_t suite,
			  bool p256, uint16_t port)
{
	struct eim_dtls_client_config cc;
	struct eim_dtls_client *cli = NULL;
	double t0 = cpu_s();

	eim_dtls_client_config_init(&cc);
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	if (is_ecdsa(suite)) {
		cc.ca_pem = ca_pem;
		cc.ca_pem_len = ca_pem_len;
	} else {
		cc.psk_identity = (const uint8_t *)"bench";
		cc.psk_identity_len = 5;
		cc.psk = psk;
		cc.psk_len = sizeof(psk);
	}
	cc.suites = &suite;
	cc.n_suites = 1;
	/* ECDHE_PSK: one group offered, so that the server has no choice.
	 * ECDHE_ECDSA needs secp256r1 listed (the server's key is on it):
	 * both offered, and the server below prefers x25519 */
	cc.ecdhe_group = p256		   ? EIM_DTLS_GROUP_P256
			 : is_ecdsa(suite) ? 0
					   : EIM_DTLS_GROUP_X25519;
	if (eim_dtls_client_new(&cc, &cli))
		abort();
	cli_addr.sin_port = htons(port);
	eim_dtls_client_start(cli, 0);
	cli_cpu += cpu_s() - t0;
	pump(srv, cli);
	if (eim_dtls_client_state(cli) != EIM_DTLS_CLIENT_ESTABLISHED) {
		fprintf(stderr, "bench_dtls_hs: handshake failed\n");
		exit(1);
	}
	t0 = cpu_s();
	eim_dtls_client_close(cli);
	cli_cpu += cpu_s() - t0;
	pump(srv, cli);
	t0 = cpu_s();
	eim_dtls_client_free(cli);
	cli_cpu += cpu_s() - t0;
}

static void handshakes(const char *name, uint16_t suite, bool p256, int n)
{
	struct eim_dtls_server_config sc;
	struct eim_dtls_server *srv = NULL;
	double t0;

	eim_dtls_server_config_init(&sc);
	sc.send = srv_send;
	sc.on_app_data = srv_app;
	sc.psk_lookup = lookup;
	sc.cert_pem = srv_chain;
	sc.cert_pem_len = srv_chain_len;
	sc.key_pem = srv_key;
	sc.key_pem_len = srv_key_len;
	sc.max_sessions = 1000;
	sc.max_handshakes = 1000;
	sc.prefer_x25519 = true; /* the x25519 rows; P-256 ones offer only it */
	if (eim_dtls_server_new(&sc, 0, &srv))
		abort();
	/* a few untimed ones first: wolfCrypt builds its fixed-base tables
	 * on first use */
	for (int i = 0; i < 4; i++)
		one_handshake(srv, suite, p256, (uint16_t)(1024 + i));
	srv_cpu = 0;
	cli_cpu = 0;
	t0 = clock_s(CLOCK_MONOTONIC);
	for (int i = 0; i < n; i++)
		one_handshake(srv, suite, p256, (uint16_t)(2048 + i % 60000));
	printf("%-32s server %7.1f us  client %7.1f us CPU per handshake "
	       "(%d, %.0f/s wall)\n",
	       name, 1e6 * srv_cpu / n, 1e6 * cli_cpu / n, n,
	       n / (clock_s(CLOCK_MONOTONIC) - t0));
	eim_dtls_server_free(srv);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int count = argc > 2 ? atoi(argv[2]) : 0;
	bool all = !strcmp(what, "all");

	memset(&cli_addr, 0, sizeof(cli_addr));
	cli_addr.sin_family = AF_INET;
	cli_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	load_pki();
	if (all || !strcmp(what, "psk"))
		handshakes("PSK-AES128-CCM8", EIM_DTLS_PSK_AES128_CCM8, false,
			   count > 0 ? count : 5000);
	if (all || !strcmp(what, "ecdhe-psk")) {
		handshakes("ECDHE-PSK-CHACHA20 x25519",
			   EIM_DTLS_ECDHE_PSK_CHACHA20, false,
			   count > 0 ? count : 1000);
		handshakes("ECDHE-PSK-CHACHA20 secp256r1",
			   EIM_DTLS_ECDHE_PSK_CHACHA20, true,
			   count > 0 ? count : 300);
	}
	if (all || !strcmp(what, "ecdsa")) {
		handshakes("ECDHE-ECDSA-AES128-CCM8 x25519",
			   EIM_DTLS_ECDHE_ECDSA_AES128_CCM8, false,
			   count > 0 ? count : 1000);
		handshakes("ECDHE-ECDSA-AES128-CCM8 secp256r1",
			   EIM_DTLS_ECDHE_ECDSA_AES128_CCM8, true,
			   count > 0 ? count : 300);
	}
	free(srv_chain);
	free(srv_key);
	free(ca_pem);
	return 0;
}
