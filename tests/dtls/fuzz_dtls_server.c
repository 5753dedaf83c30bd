/*
 * fuzz_dtls_server.c - libFuzzer target for eim_dtls_server fed arbitrary
 * datagrams. Each run first establishes a real PSK session with our client
 * (in memory), then feeds the fuzz input as a sequence of datagrams:
 *   [flags 1][len 2][bytes len] ...
 * flags bit 0: send from the session's address (else from a fresh one);
 * bit 1: if the datagram starts like a tls12_cid record, patch in the real
 * CID so the session lookup succeeds and decryption is reached;
 * bit 2: advance the clock by 1 s and run the timers.
 */
#include "common/eim_err.h"
#include "transport/eim_dtls_client.h"
#include "transport/eim_dtls_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t psk[16] = "fuzz-psk-0123456";
static uint8_t q_cli[8][2048];
static size_t q_cli_n[8], n_cli;
static uint8_t q_srv[8][2048];
static size_t q_srv_n[8], n_srv;

static int srv_send(void *ctx, const struct sockaddr *to, socklen_t tl,
		    const uint8_t *d, size_t n)
{
	(void)ctx;
	(void)to;
	(void)tl;
	if (n_cli < 8 && n <= 2048) {
		memcpy(q_cli[n_cli], d, n);
		q_cli_n[n_cli++] = n;
	}
	return 0;
}

static int cli_send(void *ctx, const uint8_t *d, size_t n)
{
	(void)ctx;
	if (n_srv < 8 && n <= 2048) {
		memcpy(q_srv[n_srv], d, n);
		q_srv_n[n_srv++] = n;
	}
	return 0;
}

static void srv_app(void *ctx, struct eim_dtls_session *s, const uint8_t *d,
		    size_t n)
{
	(void)ctx;
	eim_dtls_session_send(s, d, n);
	if (n == 1 && d[0] == 'x')
		eim_dtls_session_close(s);
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

static struct sockaddr_in addr(uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_dtls_server_config sc;
	struct eim_dtls_client_config cc;
	struct eim_dtls_server *srv = NULL;
	struct eim_dtls_client *cli = NULL;
	struct sockaddr_in ca = addr(40000);
	uint64_t now = 1000;
	const uint8_t *cid = NULL;
	size_t cid_len = 0, off = 0;
	uint16_t port = 1024;
	static const uint16_t suites[3] = {0xc0a8, 0x00a8, 0xccac};
	uint16_t suite;

	if (size < 1)
		return 0;
	suite = suites[data[0] % 3];

	eim_dtls_server_config_init(&sc);
	sc.send = srv_send;
	sc.on_app_data = srv_app;
	sc.psk_lookup = lookup;
	sc.max_sessions = 16;
	eim_dtls_client_config_init(&cc);
	cc.send = cli_send;
	cc.psk_identity = (const uint8_t *)"fuzz";
	cc.psk_identity_len = 4;
	cc.psk = psk;
	cc.psk_len = 16;
	cc.suites = &suite;
	cc.n_suites = 1;
	cc.cid_len = (data[0] & 4) ? 4 : 0;
	data++;
	size--;
	if (eim_dtls_server_new(&sc, now, &srv) ||
	    eim_dtls_client_new(&cc, &cli))
		abort();
	n_cli = n_srv = 0;
	eim_dtls_client_start(cli, now);
	for (int round = 0; round < 8 && (n_cli || n_srv); round++) {
		for (size_t i = 0; i < n_srv; i++)
			eim_dtls_server_input(srv, (struct sockaddr *)&ca,
					      sizeof(ca), q_srv[i], q_srv_n[i],
					      now);
		n_srv = 0;
		for (size_t i = 0; i < n_cli; i++)
			eim_dtls_client_input(cli, q_cli[i], q_cli_n[i], now);
		n_cli = 0;
	}
	if (eim_dtls_client_state(cli) != EIM_DTLS_CLIENT_ESTABLISHED)
		abort();
	cid = eim_dtls_client_peer_cid(cli, &cid_len);

	while (off + 3 <= size) {
		uint8_t flags = data[off];
		size_t len = (size_t)((data[off + 1] << 8) | data[off + 2]);
		uint8_t buf[4096];
		struct sockaddr_in from;

		off += 3;
		if (len > size - off)
			len = size - off;
		if (len > sizeof(buf))
			len = sizeof(buf);
		memcpy(buf, data + off, len);
		off += len;
		if ((flags & 2) && cid && len >= 11 + cid_len && buf[0] == 25)
			memcpy(buf + 11, cid, cid_len);
		from = (flags & 1) ? ca : addr(port++);
		eim_dtls_server_input(srv, (struct sockaddr *)&from,
				      sizeof(from), buf, len, now);
		n_cli = 0;
		if (flags & 4) {
			now += 1000;
			eim_dtls_server_tick(srv, now);
		}
	}
	eim_dtls_client_free(cli);
	eim_dtls_server_free(srv);
	return 0;
}
