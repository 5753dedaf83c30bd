/*
 * wolfssl_client.c - lab program for the interop tests against `eim serve`:
 * a DTLS 1.2 client on wolfSSL's own TLS state machine (the project uses
 * only wolfCrypt, never wolfSSL's protocol code) that completes a handshake
 * with one forced suite, sends one datagram and prints the answer.
 *
 * wolfSSL's example client (tests/dtls, interop_serve.sh wolfssl-*) can only
 * send its fixed "hello wolfssl!" and only knows a 4-byte PSK that eim serve
 * refuses to store; this client sends a real CoAP request with any key.
 *
 * usage: wolfssl_client PORT SUITE hex:HEX psk IDENTITY HEXKEY
 *        wolfssl_client PORT SUITE hex:HEX cert CAFILE CERTFILE KEYFILE
 *   SUITE is a wolfSSL (OpenSSL-style) name, e.g. ECDHE-ECDSA-AES128-CCM-8
 *   or ECDHE-PSK-CHACHA20-POLY1305. The server at 127.0.0.1:PORT is
 *   verified against CAFILE (cert mode). Prints "suite NAME" and
 *   "reply HEX"; exit 0 on an answer, 1 on any failure (with wolfSSL's
 *   error), 2 on bad usage.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char *psk_identity;
static unsigned char psk[64];
static size_t psk_len;

static int unhex(const char *s, unsigned char *out, size_t cap, size_t *n)
{
	size_t l = strlen(s);

	if (l % 2 || l / 2 > cap)
		return -1;
	for (size_t i = 0; i < l / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	*n = l / 2;
	return 0;
}

static unsigned int psk_cb(WOLFSSL *ssl, const char *hint, char *identity,
			   unsigned int id_max, unsigned char *key,
			   unsigned int key_max)
{
	(void)ssl;
	(void)hint;
	if (strlen(psk_identity) >= id_max || psk_len > key_max)
		return 0;
	strcpy(identity, psk_identity);
	memcpy(key, psk, psk_len);
	return (unsigned int)psk_len;
}

static int fail(WOLFSSL *ssl, const char *what, int rc)
{
	char msg[WOLFSSL_MAX_ERROR_SZ];
	int e = ssl ? wolfSSL_get_error(ssl, rc) : rc;

	wolfSSL_ERR_error_string((unsigned long)e, msg);
	printf("error %s: %d %s\n", what, e, msg);
	return 1;
}

int main(int argc, char **argv)
{
	WOLFSSL_CTX *ctx = NULL;
	WOLFSSL *ssl = NULL;
	struct sockaddr_in sa;
	struct timeval tv = {.tv_sec = 5};
	unsigned char msg[512], buf[2048];
	size_t msg_len;
	int fd = -1, rc, ret = 1;

	if (argc < 7 || strncmp(argv[3], "hex:", 4) ||
	    (strcmp(argv[4], "psk") == 0 && argc != 7) ||
	    (strcmp(argv[4], "cert") == 0 && argc != 8) ||
	    unhex(argv[3] + 4, msg, sizeof(msg), &msg_len)) {
		fprintf(stderr, "usage: see the file's banner\n");
		return 2;
	}
	wolfSSL_Init();
	ctx = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
	if (!ctx ||
	    wolfSSL_CTX_set_cipher_list(ctx, argv[2]) != WOLFSSL_SUCCESS) {
		printf("error suite %s not available\n", argv[2]);
		goto out;
	}
	if (strcmp(argv[4], "psk") == 0) {
		psk_identity = argv[5];
		if (unhex(argv[6], psk, sizeof(psk), &psk_len)) {
			printf("error bad key\n");
			goto out;
		}
		wolfSSL_CTX_set_psk_client_callback(ctx, psk_cb);
		wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	} else if ((rc = wolfSSL_CTX_load_verify_locations(ctx, argv[5],
							   NULL)) !=
			   WOLFSSL_SUCCESS ||
		   (rc = wolfSSL_CTX_use_certificate_file(
			    ctx, argv[6], WOLFSSL_FILETYPE_PEM)) !=
			   WOLFSSL_SUCCESS ||
		   (rc = wolfSSL_CTX_use_PrivateKey_file(
			    ctx, argv[7], WOLFSSL_FILETYPE_PEM)) !=
			   WOLFSSL_SUCCESS) {
		ret = fail(NULL, "credentials", rc);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ssl = wolfSSL_new(ctx);
	if (fd < 0 || !ssl || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    wolfSSL_dtls_set_peer(ssl, &sa, sizeof(sa)) != WOLFSSL_SUCCESS ||
	    wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS) {
		printf("error setup\n");
		goto out;
	}
	if ((rc = wolfSSL_connect(ssl)) != WOLFSSL_SUCCESS) {
		ret = fail(ssl, "handshake", rc);
		goto out;
	}
	printf("suite %s\n", wolfSSL_get_cipher_name(ssl));
	if ((rc = wolfSSL_write(ssl, msg, (int)msg_len)) != (int)msg_len) {
		ret = fail(ssl, "write", rc);
		goto out;
	}
	/* the answer must come within 5 s, not wolfSSL's default of never */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((rc = wolfSSL_read(ssl, buf, sizeof(buf))) <= 0) {
		ret = fail(ssl, "read", rc);
		goto out;
	}
	printf("reply ");
	for (int i = 0; i < rc; i++)
		printf("%02x", buf[i]);
	printf("\n");
	ret = 0;
	wolfSSL_shutdown(ssl);
out:
	fflush(stdout);
	wolfSSL_free(ssl);
	wolfSSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	wolfSSL_Cleanup();
	return ret;
}
