/*
 * bench_dtls.c - figures for the DTLS module, in memory on one core (no
 * sockets: this measures our record layer and handshake, not the kernel).
 *
 *   - PSK (CCM-8) and ECDHE-PSK (ChaCha20) handshakes per second, client
 *     and server both in this process (so the server's share is lower);
 *   - request/response round trips per second over one established CID
 *     session (64-byte payloads), and the server's CPU time per request;
 *   - heap bytes per idle established session (glibc mallinfo2) after
 *     opening SESSIONS sessions (argv[1], default 20000);
 *   - allocations (eim_alloc_count) per request on the steady path, and
 *     every malloc/calloc/realloc of the process (wolfCrypt's too) when
 *     run with a preloaded counter that exports
 *     `unsigned long malloc_count_calls(void)` (see the README of
 *     transport/ for the ten-line library);
 *   - the server's CPU per PSK handshake while SESSIONS sessions are
 *     open, both confirmed (the client sent a record after the handshake)
 *     and fresh (handshake just completed, final flight still kept):
 *     it must not grow with the number of sessions.
 * The server side's time includes eim_dtls_server_next_timeout() after
 * every datagram, as eim_coap_dtls calls it after every receive batch.
 *
 * Prints the figures; never registered as a test.
 */
#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "transport/eim_dtls_client.h"
#include "transport/eim_dtls_hs.h"
#include "transport/eim_dtls_server.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <malloc.h>
#include <netinet/in.h>
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
static double srv_seconds;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static size_t got;
static void cli_app(void *ctx, const uint8_t *d, size_t n)
{
	(void)ctx;
	(void)d;
	got += n;
}

static int lookup(void *ctx, const uint8_t *id, size_t idlen, uint8_t *key,
		  size_t *key_len)
{
	(void)ctx;
	(void)id;
	(void)idlen;
	memcpy(key, psk, 16);
	*key_len = 16;
	return 0;
}

static void pump(struct eim_dtls_server *srv, struct eim_dtls_client *cli)
{
	while (to_srv.len || to_cli.len) {
		struct q q = to_srv;
		double t0 = now_s();

		to_srv.len = 0;
		for (size_t i = 0; i < q.len; i++)
			eim_dtls_server_input(srv, (struct sockaddr *)&cli_addr,
					      sizeof(cli_addr), q.b[i], q.n[i],
					      0);
		(void)eim_dtls_server_next_timeout(srv);
		srv_seconds += now_s() - t0;
		q = to_cli;
		to_cli.len = 0;
		for (size_t i = 0; i < q.len; i++)
			eim_dtls_client_input(cli, q.b[i], q.n[i], 0);
	}
}

static struct eim_dtls_client *connect_one(struct eim_dtls_server *srv,
					   uint16_t suite, uint16_t port)
{
	struct eim_dtls_client_config cc;
	struct eim_dtls_client *cli = NULL;

	eim_dtls_client_config_init(&cc);
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"bench";
	cc.psk_identity_len = 5;
	cc.psk = psk;
	cc.psk_len = 16;
	cc.suites = &suite;
	cc.n_suites = 1;
	if (eim_dtls_client_new(&cc, &cli))
		abort();
	cli_addr.sin_port = htons(port);
	eim_dtls_client_start(cli, 0);
	pump(srv, cli);
	if (eim_dtls_client_state(cli) != EIM_DTLS_CLIENT_ESTABLISHED)
		abort();
	return cli;
}

static struct eim_dtls_server *server(size_t max)
{
	struct eim_dtls_server_config sc;
	struct eim_dtls_server *srv = NULL;

	eim_dtls_server_config_init(&sc);
	sc.send = srv_send;
	sc.on_app_data = srv_app;
	sc.psk_lookup = lookup;
	sc.max_sessions = max;
	sc.max_handshakes = max;
	if (eim_dtls_server_new(&sc, 0, &srv))
		abort();
	return srv;
}

static void handshakes(const char *name, uint16_t suite, int n)
{
	struct eim_dtls_server *srv = server(1000);
	double t0 = now_s();

	srv_seconds = 0;
	for (int i = 0; i < n; i++) {
		struct eim_dtls_client *cli =
			connect_one(srv, suite, (uint16_t)(1024 + i % 60000));

		eim_dtls_client_close(cli);
		pump(srv, cli);
		eim_dtls_client_free(cli);
	}
	printf("%-34s %8.0f /s (client+server), server %6.1f us each\n", name,
	       n / (now_s() - t0), 1e6 * srv_seconds / n);
	eim_dtls_server_free(srv);
}

/* Server CPU per PSK handshake with `open` sessions already open, which
 * sent a record after their handshake (confirmed) or not (fresh). */
static void handshakes_with_open(size_t open, bool confirmed)
{
	struct eim_dtls_server *srv = server(open + 1000);
	uint8_t one = 0;
	int n = 3000;
	char name[64];

	for (size_t i = 0; i < open; i++) {
		struct eim_dtls_client *c;

		cli_addr.sin_addr.s_addr =
			htonl(0x7f000000u + 1 + (uint32_t)(i >> 16));
		c = connect_one(srv, EIM_DTLS_PSK_AES128_CCM8,
				(uint16_t)(i & 0xffff));
		if (confirmed) {
			eim_dtls_client_send(c, &one, 1);
			pump(srv, c);
		}
		eim_dtls_client_free(c);
	}
	cli_addr.sin_addr.s_addr = htonl(0x7f7f0001u);
	srv_seconds = 0;
	for (int i = 0; i < n; i++) {
		struct eim_dtls_client *c =
			connect_one(srv, EIM_DTLS_PSK_AES128_CCM8,
				    (uint16_t)(1024 + i));

		eim_dtls_client_close(c);
		pump(srv, c);
		eim_dtls_client_free(c);
	}
	snprintf(name, sizeof(name), "handshake PSK, %zu %s open", open,
		 confirmed ? "confirmed" : "fresh");
	printf("%-34s server %6.1f us each\n", name, 1e6 * srv_seconds / n);
	eim_dtls_server_free(srv);
}

int main(int argc, char **argv)
{
	size_t sessions = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	struct eim_dtls_server *srv;
	struct eim_dtls_client *cli, **many;
	uint8_t payload[64] = {0x40, 0x02};
	struct mallinfo2 m0, m1;
	int reqs = 200000;
	unsigned long allocs, libc_allocs = 0;
	unsigned long (*mcount)(void) = NULL;
	double t0;

	memset(&cli_addr, 0, sizeof(cli_addr));
	cli_addr.sin_family = AF_INET;
	cli_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	handshakes("handshake PSK-AES128-CCM8", EIM_DTLS_PSK_AES128_CCM8, 5000);
	handshakes("handshake ECDHE-PSK-CHACHA20", EIM_DTLS_ECDHE_PSK_CHACHA20,
		   500);

	srv = server(10);
	cli = connect_one(srv, EIM_DTLS_PSK_AES128_CCM8, 5000);
	srv_seconds = 0;
	got = 0;
	eim_dtls_client_send(cli, payload, sizeof(payload)); /* warm-up */
	pump(srv, cli);
	allocs = eim_alloc_count();
	{
		/* POSIX: a function pointer from dlsym() via its bytes */
		void *sym = dlsym(RTLD_DEFAULT, "malloc_count_calls");

		memcpy(&mcount, &sym, sizeof(mcount));
	}
	if (mcount)
		libc_allocs = mcount();
	t0 = now_s();
	for (int i = 0; i < reqs; i++) {
		eim_dtls_client_send(cli, payload, sizeof(payload));
		pump(srv, cli);
	}
	printf("%-34s %8.0f /s (client+server), server %6.2f us each\n",
	       "request/response over CID, CCM-8", reqs / (now_s() - t0),
	       1e6 * srv_seconds / reqs);
	printf("%-34s %8.3f per request (client+server)\n",
	       "allocations on the steady path",
	       (double)(eim_alloc_count() - allocs) / reqs);
	if (mcount)
		printf("%-34s %8.3f per request (client+server)\n",
		       "libc malloc calls, all libraries",
		       (double)(mcount() - libc_allocs) / reqs);
	got -= sizeof(payload);
	if (got != (size_t)reqs * sizeof(payload))
		printf("  (lost replies: %zu bytes)\n", got);
	eim_dtls_client_free(cli);
	eim_dtls_server_free(srv);

	srv = server(sessions + 10);
	many = calloc(sessions, sizeof(*many));
	m0 = mallinfo2();
	for (size_t i = 0; i < sessions; i++) {
		cli_addr.sin_addr.s_addr =
			htonl(0x7f000000u + 1 + (uint32_t)(i >> 16));
		many[i] = connect_one(srv, EIM_DTLS_PSK_AES128_CCM8,
				      (uint16_t)(i & 0xffff));
		eim_dtls_client_send(many[i], payload, 1); /* frees hs state */
		pump(srv, many[i]);
		eim_dtls_client_free(many[i]);
	}
	m1 = mallinfo2();
	{
		struct eim_dtls_server_stats st;

		eim_dtls_server_stats(srv, &st);
		printf("%-34s %8.0f bytes/session (%llu sessions, heap in "
		       "use)\n",
		       "idle established session",
		       (double)(m1.uordblks - m0.uordblks) /
			       (double)st.sessions,
		       (unsigned long long)st.sessions);
	}
	free(many);
	eim_dtls_server_free(srv);

	handshakes_with_open(0, true);
	handshakes_with_open(sessions, true);
	handshakes_with_open(sessions, false);
	return 0;
}
