/*
 * mbedtls_client.c - lab program for the interop tests: a DTLS 1.2 client
 * built on Mbed TLS 2.28 (an implementation nobody on this project wrote)
 * that completes a handshake with one forced cipher suite, sends one
 * message and prints what comes back.
 *
 * usage: mbedtls_client PORT SUITE MESSAGE psk IDENTITY HEXKEY
 *        mbedtls_client PORT SUITE MESSAGE cert CAFILE [CERTFILE KEYFILE]
 *   SUITE is an Mbed TLS (IANA-style) name, e.g.
 *   TLS-PSK-WITH-AES-128-CCM-8 or TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8.
 *   The server at 127.0.0.1:PORT must verify against CAFILE (no name
 *   check); CERTFILE/KEYFILE are sent when the server asks for a client
 *   certificate. Prints "suite NAME" and "echo TEXT"; exit 0 on an echo,
 *   1 on any failure (with the Mbed TLS error).
 *   A MESSAGE "hex:HEX" sends those bytes instead (a CoAP request for
 *   `eim serve`), prints the answer as "reply HEX" and exits 0 on any
 *   answer: tests/interop checks what it says.
 */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/timing.h>
#include <mbedtls/x509_crt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, int rc)
{
	char msg[160];

	mbedtls_strerror(rc, msg, sizeof(msg));
	printf("error %s: -0x%04x %s\n", what, (unsigned)-rc, msg);
	return 1;
}

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

int main(int argc, char **argv)
{
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_timing_delay_context timer;
	mbedtls_x509_crt ca, own;
	mbedtls_pk_context key;
	unsigned char psk[64], buf[2048], msg[512];
	size_t psk_len = 0, msg_len;
	int binary;
	int suites[2], rc, ret = 1;

	if (argc < 6 || (strcmp(argv[4], "psk") == 0 && argc != 7) ||
	    (strcmp(argv[4], "cert") == 0 && argc != 6 && argc != 8)) {
		fprintf(stderr, "usage: see the file's banner\n");
		return 2;
	}
	binary = strncmp(argv[3], "hex:", 4) == 0;
	if (binary) {
		if (unhex(argv[3] + 4, msg, sizeof(msg), &msg_len)) {
			printf("error bad hex message\n");
			return 2;
		}
	} else {
		msg_len = strlen(argv[3]);
		if (msg_len > sizeof(msg))
			return 2;
		memcpy(msg, argv[3], msg_len);
	}
	suites[0] = mbedtls_ssl_get_ciphersuite_id(argv[2]);
	suites[1] = 0;
	if (suites[0] == 0) {
		printf("error unknown suite %s\n", argv[2]);
		return 2;
	}
	mbedtls_net_init(&net);
	mbedtls_ssl_init(&ssl);
	mbedtls_ssl_config_init(&conf);
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&own);
	mbedtls_pk_init(&key);

	if ((rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
					NULL, 0))) {
		ret = fail("drbg", rc);
		goto out;
	}
	if ((rc = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
					      MBEDTLS_SSL_TRANSPORT_DATAGRAM,
					      MBEDTLS_SSL_PRESET_DEFAULT))) {
		ret = fail("config", rc);
		goto out;
	}
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_ciphersuites(&conf, suites);
	mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	if (strcmp(argv[4], "psk") == 0) {
		if (unhex(argv[6], psk, sizeof(psk), &psk_len)) {
			printf("error bad key\n");
			goto out;
		}
		if ((rc = mbedtls_ssl_conf_psk(&conf, psk, psk_len,
					       (const unsigned char *)argv[5],
					       strlen(argv[5])))) {
			ret = fail("psk", rc);
			goto out;
		}
		mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
	} else {
		if ((rc = mbedtls_x509_crt_parse_file(&ca, argv[5]))) {
			ret = fail("ca", rc);
			goto out;
		}
		mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
		mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		if (argc == 8) {
			if ((rc = mbedtls_x509_crt_parse_file(&own, argv[6])) ||
			    (rc = mbedtls_pk_parse_keyfile(&key, argv[7],
							   NULL)) ||
			    (rc = mbedtls_ssl_conf_own_cert(&conf, &own,
							    &key))) {
				ret = fail("client certificate", rc);
				goto out;
			}
		}
	}
	if ((rc = mbedtls_ssl_setup(&ssl, &conf))) {
		ret = fail("setup", rc);
		goto out;
	}
	mbedtls_ssl_set_timer_cb(&ssl, &timer, mbedtls_timing_set_delay,
				 mbedtls_timing_get_delay);
	if ((rc = mbedtls_net_connect(&net, "127.0.0.1", argv[1],
				      MBEDTLS_NET_PROTO_UDP))) {
		ret = fail("connect", rc);
		goto out;
	}
	mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv,
			    mbedtls_net_recv_timeout);
	mbedtls_ssl_conf_read_timeout(&conf, 5000);
	do
		rc = mbedtls_ssl_handshake(&ssl);
	while (rc == MBEDTLS_ERR_SSL_WANT_READ ||
	       rc == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (rc) {
		ret = fail("handshake", rc);
		goto out;
	}
	printf("suite %s\n", mbedtls_ssl_get_ciphersuite(&ssl));
	do
		rc = mbedtls_ssl_write(&ssl, msg, msg_len);
	while (rc == MBEDTLS_ERR_SSL_WANT_READ ||
	       rc == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (rc < 0) {
		ret = fail("write", rc);
		goto out;
	}
	do
		rc = mbedtls_ssl_read(&ssl, buf, sizeof(buf) - 1);
	while (rc == MBEDTLS_ERR_SSL_WANT_READ ||
	       rc == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (rc <= 0) {
		ret = fail("read", rc);
		goto out;
	}
	if (binary) {
		printf("reply ");
		for (int i = 0; i < rc; i++)
			printf("%02x", buf[i]);
		printf("\n");
		ret = 0;
	} else {
		buf[rc] = 0;
		printf("echo %s\n", (const char *)buf);
		ret = strcmp((const char *)buf, argv[3]) == 0 ? 0 : 1;
	}
	mbedtls_ssl_close_notify(&ssl);
out:
	fflush(stdout);
	mbedtls_net_free(&net);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&own);
	mbedtls_pk_free(&key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return ret;
}
