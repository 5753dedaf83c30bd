/*
 * dtls_cid_client.c - lab program for the CID interop test: our DTLS client
 * (eim_dtls_client) over real UDP sockets. It completes a PSK handshake
 * offering a Connection ID, has one message echoed, then moves to a new
 * source port and then to 127.0.0.2 (a NAT rebinding as a sleeping sensor
 * sees it) and has a message echoed from each without a new handshake.
 *
 * usage: dtls_cid_client PORT IDENTITY HEXKEY OWN_CID_LEN
 * Prints "peer-cid <hex>" and "echo <n> ok" lines; exits 0 when all three
 * echoes came back over the one session, 1 otherwise.
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "transport/eim_dtls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int sock = -1;
static struct sockaddr_in server;
static uint8_t got[512];
static size_t got_len;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int do_send(void *ctx, const uint8_t *d, size_t n)
{
	(void)ctx;
	return sendto(sock, d, n, 0, (struct sockaddr *)&server,
		      sizeof(server)) < 0
		       ? -1
		       : 0;
}

static void on_app(void *ctx, const uint8_t *d, size_t n)
{
	(void)ctx;
	if (n <= sizeof(got)) {
		memcpy(got, d, n);
		got_len = n;
	}
}

static int open_socket(const char *local_ip)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	inet_pton(AF_INET, local_ip, &a.sin_addr);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("bind");
		exit(1);
	}
	return s;
}

/* Runs the client until cond() holds or 5 s pass. */
static int run_until(struct eim_dtls_client *c, int (*cond)(void *), void *arg)
{
	uint64_t end = now_ms() + 5000;

	while (now_ms() < end) {
		struct pollfd p = {.fd = sock, .events = POLLIN};
		uint8_t buf[2048];

		if (cond(arg))
			return 0;
		if (poll(&p, 1, 50) > 0) {
			ssize_t r = recv(sock, buf, sizeof(buf), 0);

			if (r > 0)
				eim_dtls_client_input(c, buf, (size_t)r,
						      now_ms());
		}
		eim_dtls_client_tick(c, now_ms());
		if (eim_dtls_client_state(c) == EIM_DTLS_CLIENT_FAILED)
			return -1;
	}
	return cond(arg) ? 0 : -1;
}

static int established(void *arg)
{
	return eim_dtls_client_state(arg) == EIM_DTLS_CLIENT_ESTABLISHED;
}

static int echoed(void *arg)
{
	const char *msg = arg;

	return got_len == strlen(msg) && memcmp(got, msg, got_len) == 0;
}

int main(int argc, char **argv)
{
	static const char *const from[3] = {"127.0.0.1", "127.0.0.1",
					    "127.0.0.2"};
	struct eim_dtls_client_config cfg;
	struct eim_dtls_client *c = NULL;
	uint8_t key[64];
	size_t key_len, cid_len = 0;
	const uint8_t *cid;
	char hex[2 * 32 + 1];

	if (argc != 5) {
		fprintf(stderr, "usage: %s PORT IDENTITY HEXKEY OWN_CID_LEN\n",
			argv[0]);
		return 2;
	}
	if (eim_hex_decode(argv[3], strlen(argv[3]), key, sizeof(key),
			   &key_len))
		return 2;
	memset(&server, 0, sizeof(server));
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(argv[1]));
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	eim_dtls_client_config_init(&cfg);
	cfg.send = do_send;
	cfg.on_app_data = on_app;
	cfg.psk_identity = (const uint8_t *)argv[2];
	cfg.psk_identity_len = strlen(argv[2]);
	cfg.psk = key;
	cfg.psk_len = key_len;
	cfg.cid_len = (size_t)atoi(argv[4]);
	if (eim_dtls_client_new(&cfg, &c))
		return 1;
	sock = open_socket(from[0]);
	if (eim_dtls_client_start(c, now_ms()) ||
	    run_until(c, established, c)) {
		fprintf(stderr, "handshake failed (alert %d)\n",
			eim_dtls_client_alert(c));
		return 1;
	}
	cid = eim_dtls_client_peer_cid(c, &cid_len);
	if (!cid || cid_len == 0) {
		fprintf(stderr, "no CID negotiated\n");
		return 1;
	}
	printf("peer-cid %s\n", eim_hex_encode(cid, cid_len, hex));
	for (int i = 0; i < 3; i++) {
		char msg[64];

		if (i > 0) {
			/* rebinding: the old socket (port) is gone */
			close(sock);
			sock = open_socket(from[i]);
		}
		snprintf(msg, sizeof(msg), "cid-echo-%d-from-%s", i + 1,
			 from[i]);
		got_len = 0;
		if (eim_dtls_client_send(c, (const uint8_t *)msg,
					 strlen(msg)) ||
		    run_until(c, echoed, msg)) {
			fprintf(stderr, "no echo for %s\n", msg);
			return 1;
		}
		printf("echo %d ok\n", i + 1);
		fflush(stdout);
	}
	eim_dtls_client_close(c);
	eim_dtls_client_free(c);
	close(sock);
	return 0;
}
