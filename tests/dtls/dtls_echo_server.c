/*
 * dtls_echo_server.c - lab program for the interop tests: a DTLS 1.2 PSK
 * server built on eim_dtls_server with its own small poll() loop (it does
 * not use the project's event loop on purpose: it tests the DTLS module
 * alone). Every application record received is echoed back.
 *
 * usage: dtls_echo_server PORT IDENTITY HEXKEY [SECONDS] [SUITE-HEX...]
 *   Binds 127.0.0.1:PORT (0 = any free port), prints "READY <port>" on
 *   stdout, runs for SECONDS (default 30) or until SIGTERM, then prints
 *   its counters on stdout ("stat NAME VALUE" lines).
 *   With EIM_DTLS_CERT and EIM_DTLS_KEY set to PEM files it also serves
 *   the ECDHE_ECDSA suites with that certificate chain and key.
 *   EIM_DTLS_KEY alone serves them with that key as a raw public key
 *   (RFC 7250) only. Client authentication (ECDHE_ECDSA suites):
 *   EIM_DTLS_CLIENT_CA names a PEM file of CAs for client certificates,
 *   EIM_DTLS_PINS a comma-separated list of SHA-256 fingerprints (hex,
 *   certificate DER or SPKI DER) the server accepts; with pins, raw
 *   public keys are accepted too.
 *   EIM_DTLS_MTU sets the largest datagram the server sends (to force
 *   handshake fragmentation). EIM_DTLS_KEYLOG names a file that receives
 *   an NSS key log (debug: lets tshark decrypt ECDHE captures).
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "transport/eim_dtls_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static int sock = -1;
static const char *identity;
static uint8_t psk[64];
static size_t psk_len;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Reads a whole (small) file into a NUL-terminated heap buffer. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < 65536 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = calloc(1, (size_t)n + 1)) &&
	    fread(b, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int do_send(void *ctx, const struct sockaddr *to, socklen_t to_len,
		   const uint8_t *d, size_t n)
{
	(void)ctx;
	return sendto(sock, d, n, 0, to, to_len) < 0 ? -1 : 0;
}

static void on_app(void *ctx, struct eim_dtls_session *s, const uint8_t *d,
		   size_t n)
{
	(void)ctx;
	eim_dtls_session_send(s, d, n);
}

/* EIM_DTLS_PINS: the fingerprints we accept, any kind. */
static const char *pins;

static int pin_check(void *ctx, enum eim_dtls_identity_kind kind,
		     const uint8_t fp[32])
{
	char hex[65];

	(void)ctx;
	eim_hex_encode(fp, 32, hex);
	printf("client %s %s\n", kind == EIM_DTLS_ID_RPK ? "rpk" : "cert", hex);
	fflush(stdout);
	return strstr(pins, hex) ? 0 : EIM_ENOTFOUND;
}

static int lookup(void *ctx, const uint8_t *id, size_t idlen, uint8_t *key,
		  size_t *key_len)
{
	(void)ctx;
	if (idlen != strlen(identity) || memcmp(id, identity, idlen) != 0)
		return EIM_ENOTFOUND;
	if (*key_len < psk_len)
		return EIM_ETOOBIG;
	memcpy(key, psk, psk_len);
	*key_len = psk_len;
	return 0;
}

static FILE *keylog_file;

static void keylog(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(keylog_file, "%s\n", line);
	fflush(keylog_file);
}

static void on_est(void *ctx, struct eim_dtls_session *s)
{
	size_t n = 0;
	const uint8_t *id = eim_dtls_session_identity(s, &n);

	enum eim_dtls_identity_kind kind = eim_dtls_session_identity_kind(s);
	char hex[65] = "";

	(void)ctx;
	if (kind == EIM_DTLS_ID_CERT || kind == EIM_DTLS_ID_RPK) {
		eim_hex_encode(id, 32, hex);
		printf("established %s=%s suite=%04x\n",
		       kind == EIM_DTLS_ID_CERT ? "cert" : "rpk", hex,
		       eim_dtls_session_suite(s));
	} else {
		printf("established identity=%.*s suite=%04x\n", (int)n,
		       id ? (const char *)id : "", eim_dtls_session_suite(s));
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct eim_dtls_server_config cfg;
	struct eim_dtls_server *srv = NULL;
	struct eim_dtls_server_stats st;
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	uint16_t suites[8];
	size_t ns = 0;
	uint64_t end;
	char *cert = NULL, *key = NULL, *ca = NULL;
	int rc;

	if (argc < 4) {
		fprintf(stderr,
			"usage: %s PORT IDENTITY HEXKEY [SECONDS] "
			"[SUITE-HEX...]\n",
			argv[0]);
		return 2;
	}
	identity = argv[2];
	if (eim_hex_decode(argv[3], strlen(argv[3]), psk, sizeof(psk),
			   &psk_len)) {
		fprintf(stderr, "bad key\n");
		return 2;
	}
	end = now_ms() + 1000u * (argc > 4 ? strtoul(argv[4], NULL, 10) : 30);
	for (int i = 5; i < argc && ns < 8; i++)
		suites[ns++] = (uint16_t)strtoul(argv[i], NULL, 16);

	sock = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (sock < 0 || bind(sock, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(sock, (struct sockaddr *)&a, &alen)) {
		perror("socket");
		return 1;
	}
	eim_dtls_server_config_init(&cfg);
	cfg.send = do_send;
	cfg.on_app_data = on_app;
	cfg.psk_lookup = lookup;
	cfg.on_established = on_est;
	cfg.suites = ns ? suites : NULL;
	if (getenv("EIM_DTLS_KEYLOG") && *getenv("EIM_DTLS_KEYLOG")) {
		keylog_file = fopen(getenv("EIM_DTLS_KEYLOG"), "a");
		if (!keylog_file) {
			perror("EIM_DTLS_KEYLOG");
			return 1;
		}
		fprintf(stderr, "WARNING: writing TLS secrets to %s\n",
			getenv("EIM_DTLS_KEYLOG"));
		cfg.keylog = keylog;
	}
	if (getenv("EIM_DTLS_MTU"))
		cfg.mtu = (uint16_t)atoi(getenv("EIM_DTLS_MTU"));
	if (getenv("EIM_DTLS_KEY") && *getenv("EIM_DTLS_KEY")) {
		if (getenv("EIM_DTLS_CERT") && *getenv("EIM_DTLS_CERT"))
			cfg.cert_pem = cert = slurp(getenv("EIM_DTLS_CERT"),
						    &cfg.cert_pem_len);
		cfg.key_pem = key =
			slurp(getenv("EIM_DTLS_KEY"), &cfg.key_pem_len);
		if ((!cert && cfg.cert_pem_len) || !key) {
			perror("EIM_DTLS_CERT/EIM_DTLS_KEY");
			return 1;
		}
		if (!cert && getenv("EIM_DTLS_CERT") &&
		    *getenv("EIM_DTLS_CERT")) {
			perror("EIM_DTLS_CERT");
			return 1;
		}
	}
	if (getenv("EIM_DTLS_CLIENT_CA") && *getenv("EIM_DTLS_CLIENT_CA")) {
		cfg.ca_pem = ca =
			slurp(getenv("EIM_DTLS_CLIENT_CA"), &cfg.ca_pem_len);
		if (!ca) {
			perror("EIM_DTLS_CLIENT_CA");
			return 1;
		}
	}
	pins = getenv("EIM_DTLS_PINS");
	if (pins && *pins)
		cfg.cert_check = pin_check;
	/* a hint: gnutls-cli 3.7.9 crashes printing an ECDHE-PSK session
	 * info when the server sent none */
	cfg.psk_hint = (const uint8_t *)"eim-lab";
	cfg.psk_hint_len = 7;
	cfg.n_suites = ns;
	rc = eim_dtls_server_new(&cfg, now_ms(), &srv);
	free(cert);
	free(key);
	free(ca);
	if (rc) {
		fprintf(stderr, "server: %s\n", eim_strerror(rc));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("READY %u\n", ntohs(a.sin_port));
	fflush(stdout);
	while (!stop && now_ms() < end) {
		struct pollfd p = {.fd = sock, .events = POLLIN};
		uint64_t t = eim_dtls_server_next_timeout(srv), n = now_ms();
		int wait = 200;

		if (t != UINT64_MAX && t > n && t - n < 200)
			wait = (int)(t - n);
		else if (t != UINT64_MAX && t <= n)
			wait = 0;
		if (poll(&p, 1, wait) > 0) {
			uint8_t buf[2048];
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);
			ssize_t r = recvfrom(sock, buf, sizeof(buf), 0,
					     (struct sockaddr *)&from, &flen);

			if (r >= 0)
				eim_dtls_server_input(srv,
						      (struct sockaddr *)&from,
						      flen, buf, (size_t)r,
						      now_ms());
		}
		eim_dtls_server_tick(srv, now_ms());
	}
	eim_dtls_server_stats(srv, &st);
	printf("stat handshakes_completed %llu\n"
	       "stat handshakes_failed %llu\n"
	       "stat hello_verify_sent %llu\n"
	       "stat records_auth_failed %llu\n"
	       "stat client_auth_failed %llu\n"
	       "stat sessions %llu\n",
	       (unsigned long long)st.handshakes_completed,
	       (unsigned long long)st.handshakes_failed,
	       (unsigned long long)st.hello_verify_sent,
	       (unsigned long long)st.records_auth_failed,
	       (unsigned long long)st.client_auth_failed,
	       (unsigned long long)st.sessions);
	eim_dtls_server_free(srv);
	close(sock);
	return 0;
}
