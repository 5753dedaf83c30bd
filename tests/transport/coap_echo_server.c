/*
 * coap_echo_server - a lab CoAP server over plain UDP for the interop tests
 * and the benchmark (RFC 7252 "coap://"). It answers POST /gsma/rsp2/asn1,
 * and any other method and path, with the request body echoed back
 * unchanged (2.04 Changed for POST/PUT, 2.05 Content otherwise). It is not
 * an eIM: it never produces ESipa content.
 *
 * Usage: coap_echo_server [-b SZX] [-s] ADDR:PORT
 *   -b SZX  largest block size exponent (0..6, default 6 = 1024 bytes)
 *   -s      print the engine's counters on exit
 * Prints "port N" on stdout once listening (port 0 picks a free one) and
 * runs until SIGINT or SIGTERM, then exits 0.
 */
#include "common/eim_err.h"
#include "transport/eim_coap_udp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int echo(void *ctx, const struct eim_coap_request *req,
		struct eim_coap_response *resp)
{
	resp->code =
		(req->method == EIM_COAP_POST || req->method == EIM_COAP_PUT)
			? EIM_COAP_CHANGED
			: EIM_COAP_CONTENT;
	resp->content_format = req->content_format;
	eim_buf_append(&resp->body, req->body, req->body_len);
	return 0;
}

static const struct eim_coap_route routes[] = {
	{EIM_COAP_POST, "/gsma/rsp2/asn1", echo, NULL},
	{0, NULL, echo, NULL},
};

int main(int argc, char **argv)
{
	struct eim_coap_server_config cfg;
	struct eim_coap_server *srv = NULL;
	struct eim_loop *loop = NULL;
	struct eim_coap_udp_server *us = NULL;
	bool stats = false;
	int opt, rc, ret = 1;

	eim_coap_server_config_default(&cfg);
	cfg.max_body = 1u << 20;
	while ((opt = getopt(argc, argv, "b:s")) != -1) {
		switch (opt) {
		case 'b':
			cfg.block_szx = (uint8_t)atoi(optarg);
			break;
		case 's':
			stats = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	rc = eim_coap_server_new(&cfg, routes, 2, &srv);
	if (!rc)
		rc = eim_loop_new(&loop);
	if (!rc)
		rc = eim_loop_catch_signals(loop);
	if (!rc)
		rc = eim_coap_udp_server_new(loop, argv[optind], srv, &us);
	if (rc) {
		fprintf(stderr, "coap_echo_server: %s\n", eim_strerror(rc));
		goto out;
	}
	printf("port %d\n", eim_coap_udp_server_port(us));
	fflush(stdout);
	rc = eim_loop_run(loop);
	if (stats) {
		struct eim_coap_server_stats st;
		struct eim_loop_udp_stats us_st;
		eim_coap_server_stats(srv, &st);
		eim_loop_udp_stats(eim_coap_udp_server_socket(us), &us_st);
		printf("requests %llu duplicates %llu rst %llu dropped %llu "
		       "rx %llu tx %llu rx_calls %llu tx_calls %llu\n",
		       (unsigned long long)st.requests,
		       (unsigned long long)st.duplicates,
		       (unsigned long long)st.rst_sent,
		       (unsigned long long)st.dropped,
		       (unsigned long long)us_st.rx,
		       (unsigned long long)us_st.tx,
		       (unsigned long long)us_st.rx_calls,
		       (unsigned long long)us_st.tx_calls);
	}
	ret = rc ? 1 : 0;
out:
	eim_coap_udp_server_free(us);
	eim_loop_free(loop);
	eim_coap_server_free(srv);
	return ret;
usage:
	fprintf(stderr, "usage: coap_echo_server [-b SZX] [-s] ADDR:PORT\n");
	return 2;
}
