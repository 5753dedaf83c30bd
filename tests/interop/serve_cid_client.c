/*
 * serve_cid_client.c - lab client for the CID interop test against
 * `eim serve`: our DTLS client (transport/eim_dtls_client) over real UDP
 * sockets, asking for a Connection ID (RFC 9146), sending ESipa
 * GetEimPackageRequests in hand-made CoAP POSTs (RFC 7252) while its
 * address changes as a sleeping device's does behind a NAT:
 *
 *   1. 127.0.0.1, port A: handshake, request 1 (its datagram is kept)
 *   2. 127.0.0.1, port B (A closed): request 2, no handshake
 *   3. 127.0.0.2, port C (B closed): request 3, no handshake
 *   4. requests 4 and 5 are encrypted (sequence numbers n, n+1) but held;
 *      5 goes out from C and is answered at C
 *   5. 127.0.0.3, port D: request 1's old datagram again (a replay):
 *      nothing may come back, to D or C
 *   6. from D, request 4: it authenticates and is inside the replay
 *      window but older than request 5, so the server must answer it
 *      and keep the session at C (RFC 9146 section 6): the answer must
 *      arrive at C and nothing at D. Had the replay of step 5 moved the
 *      session, it would arrive at D.
 *
 * usage: serve_cid_client PORT IDENTITY HEXKEY EID OUTDIR
 * Prints "peer-cid HEX" (the CID it sends), "local N ADDR:PORT" per socket
 * and "answer N 2.04 at ADDR:PORT" per answer; writes the payload of
 * answer N to OUTDIR/answer-N.bin. Exit 0 when every step behaved.
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

#define NSOCK 4

static int socks[NSOCK] = {-1, -1, -1, -1};
static int cur = -1; /* the socket the client sends from */
static struct sockaddr_in server;
static const char *outdir;
static uint8_t held[2][512];
static size_t held_len[2];
static int holding = -1;   /* >= 0: the next send goes to held[holding] */
static uint8_t first[512]; /* request 1's datagram, for the replay */
static size_t first_len;
static int keep_first;
static int answered[8]; /* answer n arrived at socket answered[n]-1 */
static int last_sock;	/* socket of the datagram being processed */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int tx(int s, const uint8_t *d, size_t n)
{
	return sendto(socks[s], d, n, 0, (struct sockaddr *)&server,
		      sizeof(server)) < 0
		       ? -1
		       : 0;
}

static int do_send(void *ctx, const uint8_t *d, size_t n)
{
	(void)ctx;
	if (holding >= 0 && n <= sizeof(held[0])) {
		memcpy(held[holding], d, n);
		held_len[holding] = n;
		return 0;
	}
	if (keep_first && n <= sizeof(first)) {
		memcpy(first, d, n);
		first_len = n;
		keep_first = 0;
	}
	return tx(cur, d, n);
}

static void where(int s, char *out, size_t cap)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	char ip[INET_ADDRSTRLEN] = "?";

	getsockname(socks[s], (struct sockaddr *)&a, &l);
	inet_ntop(AF_INET, &a.sin_addr, ip, sizeof(ip));
	snprintf(out, cap, "%s:%u", ip, ntohs(a.sin_port));
}

/* An answer: ACK, MID = token = request number, then the payload. */
static void on_app(void *ctx, const uint8_t *d, size_t n)
{
	char at[64], path[600];
	size_t i;

	(void)ctx;
	if (n < 6 || d[0] != 0x61 || d[2] != 0 || d[3] == 0 || d[3] >= 8 ||
	    d[4] != d[3]) {
		printf("unexpected datagram of %zu bytes\n", n);
		return;
	}
	for (i = 5; i < n && d[i] != 0xff;)
		i++; /* eim serve's answers carry no options before 0xff */
	where(last_sock, at, sizeof(at));
	printf("answer %u %u.%02u at %s\n", d[3], d[1] >> 5, d[1] & 31, at);
	answered[d[3]] = last_sock + 1;
	snprintf(path, sizeof(path), "%s/answer-%u.bin", outdir, d[3]);
	FILE *f = fopen(path, "wb");
	if (f && i + 1 < n)
		fwrite(d + i + 1, 1, n - i - 1, f);
	if (f)
		fclose(f);
	fflush(stdout);
}

static int open_socket(int s, const char *local_ip)
{
	struct sockaddr_in a;
	char at[64];

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	inet_pton(AF_INET, local_ip, &a.sin_addr);
	socks[s] = socket(AF_INET, SOCK_DGRAM, 0);
	if (socks[s] < 0 || bind(socks[s], (struct sockaddr *)&a, sizeof(a))) {
		perror("bind");
		exit(1);
	}
	where(s, at, sizeof(at));
	printf("local %d %s\n", s, at);
	return s;
}

/* Runs the client for up to ms, or until cond() holds. */
static int run(struct eim_dtls_client *c, int (*cond)(void *), void *arg,
	       uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		struct pollfd p[NSOCK];
		uint8_t buf[2048];

		if (cond && cond(arg))
			return 0;
		for (int i = 0; i < NSOCK; i++)
			p[i] = (struct pollfd){.fd = socks[i],
					       .events = POLLIN};
		if (poll(p, NSOCK, 20) > 0) {
			for (int i = 0; i < NSOCK; i++) {
				if (!(p[i].revents & POLLIN))
					continue;
				ssize_t r = recv(socks[i], buf, sizeof(buf), 0);
				last_sock = i;
				if (r > 0)
					eim_dtls_client_input(c, buf, (size_t)r,
							      now_ms());
			}
		}
		eim_dtls_client_tick(c, now_ms());
		if (eim_dtls_client_state(c) == EIM_DTLS_CLIENT_FAILED)
			return -1;
	}
	return cond && cond(arg) ? 0 : -1;
}

static int established(void *arg)
{
	return eim_dtls_client_state(arg) == EIM_DTLS_CLIENT_ESTABLISHED;
}

static int got(void *arg)
{
	return answered[*(int *)arg] != 0;
}

static size_t request(int n, const char *eid, uint8_t *out)
{
	static const char p[] = "\xb4"
				"gsma\x04"
				"rsp2\x04"
				"asn1";
	size_t at = 0;

	out[at++] = 0x41; /* version 1, CON, 1-byte token */
	out[at++] = 0x02; /* POST */
	out[at++] = 0;
	out[at++] = (uint8_t)n; /* message ID */
	out[at++] = (uint8_t)n; /* token */
	memcpy(out + at, p, sizeof(p) - 1);
	at += sizeof(p) - 1;
	out[at++] = 0xff;
	memcpy(out + at, "\xbf\x4f\x12\x5a\x10", 5);
	at += 5;
	for (int i = 0; i < 16; i++) {
		unsigned v = 0;

		sscanf(eid + 2 * i, "%2x", &v);
		out[at++] = (uint8_t)v;
	}
	return at;
}

static int ask(struct eim_dtls_client *c, int n, const char *eid, int from)
{
	uint8_t m[64];

	if (eim_dtls_client_send(c, m, request(n, eid, m)) ||
	    run(c, got, &n, 5000)) {
		printf("FAIL no answer to request %d\n", n);
		return -1;
	}
	if (answered[n] != from + 1) {
		printf("FAIL answer %d arrived at socket %d, not %d\n", n,
		       answered[n] - 1, from);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct eim_dtls_client_config cfg;
	struct eim_dtls_client *c = NULL;
	uint8_t key[64], m[64];
	size_t key_len, cid_len = 0;
	const uint8_t *cid;
	char hex[2 * 32 + 1];
	int n;

	if (argc != 6 || strlen(argv[4]) != 32) {
		fprintf(stderr, "usage: see the file's banner\n");
		return 2;
	}
	if (eim_hex_decode(argv[3], strlen(argv[3]), key, sizeof(key),
			   &key_len))
		return 2;
	outdir = argv[5];
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
	cfg.use_cid = true;
	cfg.cid_len = 4;
	if (eim_dtls_client_new(&cfg, &c))
		return 1;
	cur = open_socket(0, "127.0.0.1");
	if (eim_dtls_client_start(c, now_ms()) ||
	    run(c, established, c, 5000)) {
		printf("FAIL handshake (alert %d)\n", eim_dtls_client_alert(c));
		return 1;
	}
	cid = eim_dtls_client_peer_cid(c, &cid_len);
	if (!cid || cid_len == 0) {
		printf("FAIL no CID negotiated\n");
		return 1;
	}
	printf("peer-cid %s\n", eim_hex_encode(cid, cid_len, hex));
	fflush(stdout);

	keep_first = 1;
	if (ask(c, 1, argv[4], 0))
		return 1;
	close(socks[0]); /* the NAT binding is gone */
	socks[0] = -1;
	cur = open_socket(1, "127.0.0.1");
	if (ask(c, 2, argv[4], 1))
		return 1;
	close(socks[1]);
	socks[1] = -1;
	cur = open_socket(2, "127.0.0.2");
	if (ask(c, 3, argv[4], 2))
		return 1;

	/* requests 4 and 5 encrypted now, sent later in the other order */
	holding = 0;
	eim_dtls_client_send(c, m, request(4, argv[4], m));
	holding = 1;
	eim_dtls_client_send(c, m, request(5, argv[4], m));
	holding = -1;
	if (!held_len[0] || !held_len[1])
		return 1;
	n = 5;
	if (tx(2, held[1], held_len[1]) || run(c, got, &n, 5000) ||
	    answered[5] != 3) {
		printf("FAIL request 5 not answered at socket 2\n");
		return 1;
	}
	open_socket(3, "127.0.0.3");
	tx(3, first, first_len); /* the replay */
	run(c, NULL, NULL, 800);
	printf("replay: %s\n", answered[1] != 1 ? "answered" : "no answer");
	if (answered[1] != 1) {
		printf("FAIL the replayed request was answered\n");
		return 1;
	}
	n = 4;
	if (tx(3, held[0], held_len[0]) || run(c, got, &n, 5000)) {
		printf("FAIL request 4 (older, from 127.0.0.3) not answered\n");
		return 1;
	}
	if (answered[4] != 3) {
		printf("FAIL the session moved to 127.0.0.3 (answer 4 at "
		       "socket %d)\n",
		       answered[4] - 1);
		return 1;
	}
	run(c, NULL, NULL, 300); /* nothing more may come */
	eim_dtls_client_close(c);
	eim_dtls_client_free(c);
	printf("ok\n");
	return 0;
}
