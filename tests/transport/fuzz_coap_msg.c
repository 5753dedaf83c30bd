/*
 * libFuzzer target for the CoAP message parser (RFC 7252 3) and the server
 * engine behind it.
 *
 * 1. eim_coap_msg_parse() on arbitrary bytes; when it accepts them, the
 *    message is written back with the writer and parsed again, and both
 *    parses must agree (header, token, every option, payload), and the
 *    bytes written must be the input: the codec round-trips exactly.
 * 2. The input split into records (see below) is fed to a fresh server
 *    engine (echo route, catch-all route, small limits so that eviction
 *    and block-wise paths are reached); every answer the engine sends
 *    must itself parse.
 */
#include "transport/eim_coap_msg.h"
#include "transport/eim_coap_server.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t wbuf[70000];

static void roundtrip(const uint8_t *data, size_t size)
{
	static struct eim_coap_msg a, b;
	struct eim_coap_writer w;
	size_t n;

	if (eim_coap_msg_parse(data, size, &a) != 0)
		return;
	eim_coap_writer_init(&w, wbuf, sizeof(wbuf), a.type, a.code, a.mid,
			     a.token, a.tkl);
	for (size_t i = 0; i < a.nopts; i++)
		eim_coap_writer_opt(&w, a.opts[i].num, a.opts[i].val,
				    a.opts[i].len);
	eim_coap_writer_payload(&w, a.payload, a.payload_len);
	if (eim_coap_writer_finish(&w, &n) != 0)
		abort();
	/* The writer picks the shortest encodings, so a parse of the input
	 * and of the re-encoding must describe the same message. */
	if (eim_coap_msg_parse(wbuf, n, &b) != 0)
		abort();
	if (a.type != b.type || a.code != b.code || a.mid != b.mid ||
	    a.tkl != b.tkl || memcmp(a.token, b.token, a.tkl) != 0 ||
	    a.nopts != b.nopts || a.payload_len != b.payload_len ||
	    (a.payload_len && memcmp(a.payload, b.payload, a.payload_len)))
		abort();
	for (size_t i = 0; i < a.nopts; i++)
		if (a.opts[i].num != b.opts[i].num ||
		    a.opts[i].len != b.opts[i].len ||
		    (a.opts[i].len &&
		     memcmp(a.opts[i].val, b.opts[i].val, a.opts[i].len)))
			abort();
	/* Every field has one encoding (a nibble of 13 means 13 or more,
	 * 14 means 269 or more), so writing back what was parsed gives the
	 * input byte for byte. */
	if (n != size || memcmp(wbuf, data, n) != 0)
		abort();
}

static int check_answer(void *ctx, const uint8_t *d, size_t n)
{
	struct eim_coap_msg m;
	if (eim_coap_msg_parse(d, n, &m) != 0)
		abort();
	return 0;
}

static int echo(void *ctx, const struct eim_coap_request *req,
		struct eim_coap_response *resp)
{
	/* A body longer than one block half of the time exercises Block2. */
	eim_buf_append(&resp->body, req->body, req->body_len);
	if (req->body_len & 1)
		eim_buf_append(&resp->body, wbuf, 300);
	return 0;
}

static const struct eim_coap_route routes[] = {
	{EIM_COAP_POST, "/gsma/rsp2/asn1", echo, NULL},
	{0, NULL, echo, NULL},
};

/*
 * The input, read a second way: records of [len_hi len_lo peer] + bytes,
 * each one datagram to a fresh server with tiny limits, from one of four
 * peers, the clock moving by the peer byte's high nibble * 10 ms. A
 * sequence of records can walk Block1/Block2 transfers, dedup hits,
 * evictions and expiries, and a crash reproduces from the file alone.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_coap_server_config cfg;
	struct eim_coap_server *srv = NULL;
	uint64_t now = 1000;

	roundtrip(data, size);

	eim_coap_server_config_default(&cfg);
	cfg.block_szx = 2;
	cfg.max_body = 2048;
	cfg.max_peers = 3;
	cfg.dedup_per_peer = 2;
	cfg.max_reassemblies = 2;
	cfg.reassembly_lifetime_ms = 50;
	cfg.params.exchange_lifetime_ms = 200;
	if (eim_coap_server_new(&cfg, routes, 2, &srv) != 0)
		abort();
	while (size >= 3) {
		size_t len = ((size_t)data[0] << 8 | data[1]) % 1500;
		uint8_t pb = data[2];
		char key[2] = {'p', (char)('0' + (pb & 3))};
		struct eim_coap_peer peer = {
			.key = (const uint8_t *)key,
			.key_len = 2,
			.send = check_answer,
		};

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		roundtrip(data, len);
		eim_coap_server_input(srv, &peer, data, len, now);
		if (pb & 4)
			eim_coap_server_tick(srv, now);
		now += (uint64_t)(pb >> 4) * 10;
		data += len;
		size -= len;
	}
	eim_coap_server_free(srv);
	return 0;
}
