/*
 * fuzz_dtls_server.c - libFuzzer target for eim_dtls_server fed arbitrary
 * datagrams. Each run first establishes a real PSK session with our client
 * (in memory), then feeds the fuzz input as a sequence of datagrams:
 *   [flags 1][len 2][bytes len] ...
 * flags bit 0: send from the session's address (else from a fresh one);
 * bit 1: if the datagram starts like a tls12_cid record, patch in the real
 * CID so the session lookup succeeds and decryption is reached;
 * bit 2: advance the clock by 1 s and run the timers.
 *
 * With bit 3 of the first byte set, the run instead uses the ECDHE-ECDSA
 * suite with client authentication (fixture certificate, CA and key;
 * bit 4: the client sends a raw public key instead of its certificate):
 * our client's hello exchange runs and its third flight (Certificate,
 * ClientKeyExchange, CertificateVerify, CCS, Finished) is held back, so
 * the fuzz datagrams meet the server waiting for the client Certificate.
 * A datagram with flags bit 3 is then a held-back datagram (index: its
 * first byte) with the rest XORed in from offset <second byte>: valid
 * structure with fuzzed contents reaches the certificate checks,
 * CertificateVerify and beyond.
 */
#include "common/eim_err.h"
#include "transport/eim_dtls_client.h"
#include "transport/eim_dtls_server.h"

#include <stdbool.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FIXTURES
#error "FIXTURES must name tests/dtls/fixtures"
#endif

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

/* Fixture PEM texts, read once. */
static char *chain, *key, *cas;
static size_t chain_len, key_len, cas_len;

static char *slurp(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *b = calloc(1, 65536);
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
	f = fopen(path, "rb");
	if (!f || !b)
		abort();
	n = fread(b, 1, 65535, f);
	fclose(f);
	*len = n;
	return b;
}

static void load_fixtures(void)
{
	size_t n;
	char *c;

	if (chain)
		return;
	chain = slurp("test-dtls-server.cert.pem", &chain_len);
	c = slurp("test-dtls-ca.cert.pem", &n);
	memcpy(chain + chain_len, c, n);
	chain_len += n;
	free(c);
	key = slurp("test-dtls-server.key.pem", &key_len);
	cas = slurp("test-dtls-ca.cert.pem", &cas_len);
}

/* Pins every key whose fingerprint starts with an even byte: both the
 * accept and the refuse paths stay reachable. */
static int pin_check(void *ctx, enum eim_dtls_identity_kind kind,
		     const uint8_t fp[32])
{
	(void)ctx;
	(void)kind;
	return fp[0] & 1 ? EIM_ENOTFOUND : 0;
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
	bool auth;
	uint8_t held[8][2048];
	size_t held_n[8], n_held = 0;

	if (size < 1)
		return 0;
	suite = suites[data[0] % 3];
	auth = data[0] & 8;

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
	if (auth) {
		load_fixtures();
		suite = 0xc0ae; /* ECDHE-ECDSA-AES128-CCM8 */
		sc.cert_pem = chain;
		sc.cert_pem_len = chain_len;
		sc.key_pem = key;
		sc.key_pem_len = key_len;
		sc.ca_pem = cas;
		sc.ca_pem_len = cas_len;
		sc.cert_check = (data[0] & 16) ? pin_check : NULL;
		cc.psk_identity = NULL;
		cc.ca_pem = cas;
		cc.ca_pem_len = cas_len;
		cc.key_pem = key;
		cc.key_pem_len = key_len;
		if (data[0] & 16) {
			cc.client_rpk = true;
		} else {
			cc.cert_pem = chain;
			cc.cert_pem_len = chain_len;
		}
	}
	data++;
	size--;
	if (eim_dtls_server_new(&sc, now, &srv) ||
	    eim_dtls_client_new(&cc, &cli))
		abort();
	n_cli = n_srv = 0;
	eim_dtls_client_start(cli, now);
	if (auth) {
		/* CH -> HVR -> CH(cookie) -> flight 2 -> flight 3 (held) */
		for (int round = 0; round < 2; round++) {
			for (size_t i = 0; i < n_srv; i++)
				eim_dtls_server_input(srv,
						      (struct sockaddr *)&ca,
						      sizeof(ca), q_srv[i],
						      q_srv_n[i], now);
			n_srv = 0;
			for (size_t i = 0; i < n_cli; i++)
				eim_dtls_client_input(cli, q_cli[i], q_cli_n[i],
						      now);
			n_cli = 0;
		}
		if (n_srv == 0)
			abort();
		for (size_t i = 0; i < n_srv; i++) {
			memcpy(held[i], q_srv[i], q_srv_n[i]);
			held_n[i] = q_srv_n[i];
		}
		n_held = n_srv;
		n_srv = 0;
	}
	for (int round = 0; !auth && round < 8 && (n_cli || n_srv); round++) {
		for (size_t i = 0; i < n_srv; i++)
			eim_dtls_server_input(srv, (struct sockaddr *)&ca,
					      sizeof(ca), q_srv[i], q_srv_n[i],
					      now);
		n_srv = 0;
		for (size_t i = 0; i < n_cli; i++)
			eim_dtls_client_input(cli, q_cli[i], q_cli_n[i], now);
		n_cli = 0;
	}
	if (!auth && eim_dtls_client_state(cli) != EIM_DTLS_CLIENT_ESTABLISHED)
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
		if ((flags & 8) && n_held && len >= 1) {
			/* a held-back datagram with the rest XORed in */
			size_t k = buf[0] % n_held, at = len >= 2 ? buf[1] : 0;
			uint8_t x[2048];

			memcpy(x, held[k], held_n[k]);
			for (size_t i = 2; i < len; i++)
				x[(at + i - 2) % held_n[k]] ^= buf[i];
			memcpy(buf, x, held_n[k]);
			len = held_n[k];
			flags |= 1; /* from the client's address */
		}
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
	if (getenv("FUZZ_DTLS_VERBOSE")) {
		struct eim_dtls_server_stats st;

		eim_dtls_server_stats(srv, &st);
		fprintf(stderr,
			"fuzz_dtls_server: completed %llu failed %llu "
			"client_auth_failed %llu sessions %llu\n",
			(unsigned long long)st.handshakes_completed,
			(unsigned long long)st.handshakes_failed,
			(unsigned long long)st.client_auth_failed,
			(unsigned long long)st.sessions);
	}
	eim_dtls_client_free(cli);
	eim_dtls_server_free(srv);
	return 0;
}
