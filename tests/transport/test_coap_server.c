/*
 * Unit tests for transport/eim_coap_server and eim_coap_block: messaging
 * rules of RFC 7252 (RST for malformed CON, silence for malformed NON,
 * deduplication with a bounded per-peer cache and EXCHANGE_LIFETIME),
 * option checks, routing, and block-wise transfers (RFC 7959) with
 * Request-Tag (RFC 9175). Everything runs in memory with a fake clock: the
 * peer's send callback records what the server answered.
 */
#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "transport/eim_coap_block.h"
#include "transport/eim_coap_server.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a recording peer ---- */

struct sent {
	int n;
	uint8_t last[2048];
	size_t last_len;
};

static int rec_send(void *ctx, const uint8_t *d, size_t n)
{
	struct sent *s = ctx;
	s->n++;
	ck_assert_uint_le(n, sizeof(s->last));
	memcpy(s->last, d, n);
	s->last_len = n;
	return 0;
}

static struct eim_coap_peer mkpeer(const char *key, struct sent *s)
{
	struct eim_coap_peer p = {
		.key = (const uint8_t *)key,
		.key_len = strlen(key),
		.identity = (const uint8_t *)"eid-123",
		.identity_len = 7,
		.send = rec_send,
		.send_ctx = s,
	};
	return p;
}

/* ---- handlers ---- */

static int calls;
static char seen_identity[32];

static int echo(void *ctx, const struct eim_coap_request *req,
		struct eim_coap_response *resp)
{
	calls++;
	snprintf(seen_identity, sizeof(seen_identity), "%.*s",
		 (int)req->identity_len, (const char *)req->identity);
	resp->code = EIM_COAP_CHANGED;
	resp->content_format = req->content_format;
	eim_buf_append(&resp->body, req->body, req->body_len);
	return 0;
}

/* Answers a body of `*(size_t *)ctx` bytes: 0, 1, 2, ... mod 251. */
static int big(void *ctx, const struct eim_coap_request *req,
	       struct eim_coap_response *resp)
{
	size_t n = *(size_t *)ctx;
	calls++;
	for (size_t i = 0; i < n; i++)
		eim_buf_append_byte(&resp->body, (uint8_t)(i % 251));
	return 0;
}

static int failing(void *ctx, const struct eim_coap_request *req,
		   struct eim_coap_response *resp)
{
	calls++;
	return EIM_EDB;
}

static size_t big_len = 3000;

static const struct eim_coap_route routes[] = {
	{EIM_COAP_POST, "/gsma/rsp2/asn1", echo, NULL},
	{EIM_COAP_GET, "/big", big, &big_len},
	{EIM_COAP_POST, "/big", big, &big_len},
	{EIM_COAP_GET, "/fail", failing, NULL},
};

static struct eim_coap_server *mksrv(struct eim_coap_server_config *cfg)
{
	struct eim_coap_server *s = NULL;
	ck_assert_int_eq(eim_coap_server_new(cfg, routes,
					     sizeof(routes) / sizeof(routes[0]),
					     &s),
			 0);
	calls = 0;
	return s;
}

/* ---- request builder ---- */

struct rq {
	uint8_t type, code;
	uint16_t mid;
	const char *path;
	int cf;
	bool b1, b2, size1;
	uint32_t b1v, b2v, size1v;
	const uint8_t *rtag;
	size_t rtag_len;
	const uint8_t *body;
	size_t body_len;
};

static size_t mkreq(const struct rq *r, uint8_t *buf, size_t cap)
{
	struct eim_coap_writer w;
	size_t n = 0;
	const uint8_t tok[] = {1, 2, 3, 4};

	eim_coap_writer_init(&w, buf, cap, r->type, r->code, r->mid, tok, 4);
	if (r->path)
		eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, r->path);
	if (r->cf >= 0)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_CONTENT_FORMAT,
					 (uint32_t)r->cf);
	if (r->b2)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_BLOCK2, r->b2v);
	if (r->b1)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_BLOCK1, r->b1v);
	if (r->size1)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_SIZE1, r->size1v);
	if (r->rtag)
		eim_coap_writer_opt(&w, EIM_COAP_OPT_REQUEST_TAG, r->rtag,
				    r->rtag_len);
	eim_coap_writer_payload(&w, r->body, r->body_len);
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), 0);
	return n;
}

static void input(struct eim_coap_server *s, struct eim_coap_peer *p,
		  const struct rq *r, uint64_t now)
{
	uint8_t buf[2048];
	size_t n = mkreq(r, buf, sizeof(buf));
	ck_assert_int_eq(eim_coap_server_input(s, p, buf, n, now), 0);
}

static struct eim_coap_msg last_msg(const struct sent *st)
{
	struct eim_coap_msg m;
	ck_assert_int_eq(eim_coap_msg_parse(st->last, st->last_len, &m), 0);
	return m;
}

static const uint8_t body3[] = {0xde, 0xad, 0xbf};

START_TEST(piggybacked_echo)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-a", &st);
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 0x4242,
		       .path = "/gsma/rsp2/asn1",
		       .cf = 42};
	struct eim_coap_msg m;

	r.body = body3, r.body_len = 3;
	input(s, &p, &r, 1000);
	ck_assert_int_eq(st.n, 1);
	m = last_msg(&st);
	ck_assert_int_eq(m.type, EIM_COAP_ACK);
	ck_assert_int_eq(m.mid, 0x4242);
	ck_assert_int_eq(m.code, EIM_COAP_CHANGED);
	ck_assert_int_eq(m.tkl, 4);
	ck_assert_int_eq(m.token[3], 4);
	ck_assert_uint_eq(m.payload_len, 3);
	ck_assert_mem_eq(m.payload, body3, 3);
	ck_assert_ptr_nonnull(
		eim_coap_msg_opt(&m, EIM_COAP_OPT_CONTENT_FORMAT));
	ck_assert_str_eq(seen_identity, "eid-123");
	eim_coap_server_free(s);
}
END_TEST

START_TEST(non_gets_non)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-a", &st);
	struct rq r = {.type = EIM_COAP_NON,
		       .code = EIM_COAP_POST,
		       .mid = 7,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};
	struct eim_coap_msg m;

	r.body = body3, r.body_len = 3;
	input(s, &p, &r, 0);
	m = last_msg(&st);
	ck_assert_int_eq(m.type, EIM_COAP_NON);
	ck_assert_int_eq(m.code, EIM_COAP_CHANGED);
	ck_assert_int_eq(m.token[0], 1);
	/* A duplicate NON is also answered from the cache, not re-run. */
	input(s, &p, &r, 10);
	ck_assert_int_eq(calls, 1);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(retransmitted_con_runs_handler_once)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-a", &st);
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 99,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};
	uint8_t first[2048];
	size_t first_len;
	struct eim_coap_server_stats stats;

	r.body = body3, r.body_len = 3;
	input(s, &p, &r, 0);
	memcpy(first, st.last, st.last_len);
	first_len = st.last_len;
	input(s, &p, &r, 2000); /* ACK lost: retransmission at +2 s */
	input(s, &p, &r, 6000);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(st.n, 3);
	ck_assert_uint_eq(st.last_len, first_len);
	ck_assert_mem_eq(st.last, first, first_len);
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.duplicates, 2);
	ck_assert_uint_eq(stats.requests, 1);
	/* A new message ID is a new request. */
	r.mid = 100;
	input(s, &p, &r, 6001);
	ck_assert_int_eq(calls, 2);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(dedup_expires_after_exchange_lifetime)
{
	struct eim_coap_server_config cfg;
	struct eim_coap_server *s;
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-a", &st);
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 5,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};
	struct eim_coap_server_stats stats;

	eim_coap_server_config_default(&cfg);
	cfg.params.exchange_lifetime_ms = 10000;
	s = mksrv(&cfg);
	input(s, &p, &r, 0);
	input(s, &p, &r, 9999);
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(eim_coap_server_next_deadline(s), 9999 + 10000);
	input(s, &p, &r, 10000); /* slot from t=0 has expired */
	ck_assert_int_eq(calls, 2);
	/* Idle peers are freed by tick once the lifetime has passed. */
	eim_coap_server_tick(s, 19999);
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.peers, 1);
	eim_coap_server_tick(s, 20000);
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.peers, 0);
	ck_assert_uint_eq(eim_coap_server_next_deadline(s), UINT64_MAX);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(dedup_bounded_per_peer)
{
	struct eim_coap_server_config cfg;
	struct eim_coap_server *s;
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-a", &st);
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 1,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};

	eim_coap_server_config_default(&cfg);
	cfg.dedup_per_peer = 2;
	s = mksrv(&cfg);
	for (uint16_t mid = 1; mid <= 3; mid++) {
		r.mid = mid;
		input(s, &p, &r, mid);
	}
	ck_assert_int_eq(calls, 3);
	r.mid = 3;
	input(s, &p, &r, 10);
	ck_assert_int_eq(calls, 3); /* still cached */
	r.mid = 1;
	input(s, &p, &r, 11);
	ck_assert_int_eq(calls, 4); /* evicted as the oldest */
	eim_coap_server_free(s);
}
END_TEST

START_TEST(peers_kept_apart_and_bounded)
{
	struct eim_coap_server_config cfg;
	struct eim_coap_server *s;
	struct sent sa = {0}, sb = {0}, sc = {0};
	struct eim_coap_peer a = mkpeer("peer-a", &sa);
	struct eim_coap_peer b = mkpeer("peer-b", &sb);
	struct eim_coap_peer c = mkpeer("peer-c", &sc);
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 1,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};
	struct eim_coap_server_stats stats;

	eim_coap_server_config_default(&cfg);
	cfg.max_peers = 2;
	s = mksrv(&cfg);
	input(s, &a, &r, 0);
	input(s, &b, &r, 1); /* same MID, other peer: a new request */
	ck_assert_int_eq(calls, 2);
	input(s, &c, &r, 2); /* evicts a, the least recently seen */
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.peers, 2);
	input(s, &b, &r, 3);
	ck_assert_int_eq(calls, 3);
	input(s, &a, &r, 4); /* a's cache was evicted */
	ck_assert_int_eq(calls, 4);
	eim_coap_server_peer_gone(s, (const uint8_t *)"peer-a", 6);
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.peers, 1);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(peer_table_grows_and_finds_every_peer)
{
	struct eim_coap_server_config cfg;
	struct eim_coap_server *s;
	struct sent st = {0};
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 1,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};
	struct eim_coap_server_stats stats;
	char keys[1000][16];

	eim_coap_server_config_default(&cfg);
	cfg.max_peers = 700; /* the oldest 300 are evicted on the way */
	s = mksrv(&cfg);
	for (int i = 0; i < 1000; i++) {
		struct eim_coap_peer p;

		snprintf(keys[i], sizeof(keys[i]), "peer-%d", i);
		p = mkpeer(keys[i], &st);
		input(s, &p, &r, (uint64_t)i);
	}
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.peers, 700);
	/* 64 -> 128 -> 256 -> 512 -> 1024 */
	ck_assert_uint_eq(stats.table_resizes, 4);
	ck_assert_int_eq(calls, 1000);
	/* every remaining peer is found (its retransmission is answered from
	 * its cache); the evicted ones run the handler again */
	for (int i = 999; i >= 0; i--) {
		struct eim_coap_peer p = mkpeer(keys[i], &st);
		int before = calls;

		input(s, &p, &r, 2000);
		ck_assert_int_eq(calls, before + (i < 300 ? 1 : 0));
	}
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.duplicates, 700);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(dedup_ring_grows_in_order)
{
	struct eim_coap_server *s = mksrv(NULL); /* 8 per peer */
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-a", &st);
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 1,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};

	/* eight overlapping exchanges: the ring grows 1 -> 2 -> 4 -> 8 and
	 * keeps them all */
	for (uint16_t mid = 1; mid <= 8; mid++) {
		r.mid = mid;
		input(s, &p, &r, mid);
	}
	for (uint16_t mid = 1; mid <= 8; mid++) {
		r.mid = mid;
		input(s, &p, &r, 100 + mid);
	}
	ck_assert_int_eq(calls, 8);
	/* a ninth evicts the oldest (1), not any other */
	r.mid = 9;
	input(s, &p, &r, 200);
	r.mid = 2;
	input(s, &p, &r, 201);
	ck_assert_int_eq(calls, 9);
	r.mid = 1;
	input(s, &p, &r, 202);
	ck_assert_int_eq(calls, 10);
	eim_coap_server_free(s);

	/* exchanges that do not overlap reuse one slot (EXCHANGE_LIFETIME
	 * is 247 s): no allocation after the first */
	s = mksrv(NULL);
	r.mid = 100;
	input(s, &p, &r, 0);
	{
		unsigned long before = eim_alloc_count();

		for (uint16_t i = 1; i <= 20; i++) {
			r.mid = (uint16_t)(100 + i);
			input(s, &p, &r, (uint64_t)i * 250000);
		}
		ck_assert_uint_eq(eim_alloc_count(), before);
	}
	r.mid = 120; /* the last one is still deduplicated */
	input(s, &p, &r, 20 * 250000 + 1);
	ck_assert_int_eq(calls, 21);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(block2_copy_only_during_transfer)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-a", &st);
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_GET,
		       .mid = 1,
		       .path = "/big",
		       .cf = -1};
	struct eim_coap_server_stats stats;

	input(s, &p, &r, 0); /* block 0 of 3000 bytes in 1024-byte blocks */
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.block2_cached, 1);
	r.b2 = true;
	r.b2v = eim_coap_block_encode(1, false, 6);
	r.mid = 2;
	input(s, &p, &r, 1);
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.block2_cached, 1);
	r.b2v = eim_coap_block_encode(2, false, 6);
	r.mid = 3;
	input(s, &p, &r, 2);
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.block2_cached, 0);
	ck_assert_int_eq(calls, 1);
	/* the last block again (lost ACK): from the dedup cache */
	input(s, &p, &r, 3);
	ck_assert_int_eq(calls, 1);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(malformed_con_gets_rst_others_dropped)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-a", &st);
	/* CON with a reserved length nibble 15. */
	const uint8_t bad_con[] = {0x40, 0x02, 0x12, 0x34, 0xbf, 'x'};
	const uint8_t bad_non[] = {0x50, 0x02, 0x12, 0x35, 0xbf, 'x'};
	const uint8_t bad_ack[] = {0x60, 0x45, 0x12, 0x36, 0xff};
	const uint8_t short3[] = {0x40, 0x02, 0x12};
	const uint8_t v2[] = {0x80, 0x02, 0x12, 0x34};
	const uint8_t ping[] = {0x40, 0x00, 0x77, 0x77};
	const uint8_t resp_con[] = {0x40, 0x45, 0x77, 0x78};
	const uint8_t rst[] = {0x70, 0x00, 0x77, 0x79};
	struct eim_coap_msg m;
	struct eim_coap_server_stats stats;

	ck_assert_int_eq(eim_coap_server_input(s, &p, bad_con, sizeof(bad_con),
					       0),
			 0);
	ck_assert_int_eq(st.n, 1);
	m = last_msg(&st);
	ck_assert_int_eq(m.type, EIM_COAP_RST);
	ck_assert_int_eq(m.code, EIM_COAP_EMPTY);
	ck_assert_int_eq(m.mid, 0x1234);
	ck_assert_uint_eq(st.last_len, 4);

	eim_coap_server_input(s, &p, bad_non, sizeof(bad_non), 0);
	eim_coap_server_input(s, &p, bad_ack, sizeof(bad_ack), 0);
	eim_coap_server_input(s, &p, short3, sizeof(short3), 0);
	eim_coap_server_input(s, &p, v2, sizeof(v2), 0);
	eim_coap_server_input(s, &p, rst, sizeof(rst), 0);
	ck_assert_int_eq(st.n, 1);

	/* CoAP ping and an unexpected CON response: RST. */
	eim_coap_server_input(s, &p, ping, sizeof(ping), 0);
	ck_assert_int_eq(st.n, 2);
	ck_assert_int_eq(last_msg(&st).type, EIM_COAP_RST);
	ck_assert_int_eq(last_msg(&st).mid, 0x7777);
	eim_coap_server_input(s, &p, resp_con, sizeof(resp_con), 0);
	ck_assert_int_eq(st.n, 3);
	ck_assert_int_eq(last_msg(&st).mid, 0x7778);
	ck_assert_int_eq(calls, 0);
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.rst_sent, 3);
	ck_assert_uint_eq(stats.dropped, 5);
	/* Bad arguments. */
	ck_assert_int_eq(eim_coap_server_input(s, NULL, ping, 4, 0),
			 EIM_EINVAL);
	p.key_len = EIM_COAP_PEER_KEY_MAX + 1;
	ck_assert_int_eq(eim_coap_server_input(s, &p, ping, 4, 0), EIM_EINVAL);
	eim_coap_server_free(s);
}
END_TEST

static uint8_t answer_code(struct eim_coap_server *s, struct sent *st,
			   const uint8_t *d, size_t n)
{
	struct eim_coap_peer p = mkpeer("peer-x", st);
	ck_assert_int_eq(eim_coap_server_input(s, &p, d, n, 0), 0);
	return last_msg(st).code;
}

START_TEST(option_checks_and_routing)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	uint8_t buf[512];
	struct eim_coap_writer w;
	size_t n;
	uint8_t long_seg[256];

	memset(long_seg, 'a', sizeof(long_seg));
	/* Unknown critical option 9 -> 4.02. */
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_POST,
			     1, NULL, 0);
	eim_coap_writer_opt(&w, 9, "x", 1);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "gsma/rsp2/asn1");
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n), EIM_COAP_BAD_OPTION);
	/* Unknown elective option 10 -> ignored. */
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_POST,
			     2, NULL, 0);
	eim_coap_writer_opt(&w, 10, "x", 1);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "gsma/rsp2/asn1");
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n), EIM_COAP_CHANGED);
	/* Uri-Path segment of 256 bytes (max 255) -> 4.02. */
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_POST,
			     3, NULL, 0);
	eim_coap_writer_opt(&w, EIM_COAP_OPT_URI_PATH, long_seg, 256);
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n), EIM_COAP_BAD_OPTION);
	/* Uri-Host (critical, not repeatable) twice -> 4.02. */
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_POST,
			     4, NULL, 0);
	eim_coap_writer_opt(&w, EIM_COAP_OPT_URI_HOST, "a", 1);
	eim_coap_writer_opt(&w, EIM_COAP_OPT_URI_HOST, "b", 1);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "gsma/rsp2/asn1");
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n), EIM_COAP_BAD_OPTION);
	/* Block2 (critical) of 4 bytes -> 4.02. */
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_POST,
			     5, NULL, 0);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "gsma/rsp2/asn1");
	eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_BLOCK2, 0x10000000);
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n), EIM_COAP_BAD_OPTION);
	/* Content-Format is elective: a repeat is ignored (RFC 7252 5.4.5),
	 * the first value is used; a 3-byte value is ignored as unknown. */
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_POST,
			     40, NULL, 0);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "gsma/rsp2/asn1");
	eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_CONTENT_FORMAT, 42);
	eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_CONTENT_FORMAT, 0);
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n), EIM_COAP_CHANGED);
	{
		uint32_t cf = 0;
		struct eim_coap_msg m = last_msg(&st);
		eim_coap_opt_uint(eim_coap_msg_opt(&m,
						   EIM_COAP_OPT_CONTENT_FORMAT),
				  2, &cf);
		ck_assert_uint_eq(cf, 42);
	}
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_POST,
			     41, NULL, 0);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "gsma/rsp2/asn1");
	eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_CONTENT_FORMAT, 0x10000);
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n), EIM_COAP_CHANGED);
	{
		struct eim_coap_msg m = last_msg(&st);
		ck_assert_ptr_null(
			eim_coap_msg_opt(&m, EIM_COAP_OPT_CONTENT_FORMAT));
	}
	/* Block1 with SZX 7 -> 4.00. */
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_POST,
			     6, NULL, 0);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "gsma/rsp2/asn1");
	eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_BLOCK1, 0x0f);
	eim_coap_writer_payload(&w, "x", 1);
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n), EIM_COAP_BAD_REQUEST);
	/* Routing. */
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_POST,
			     7, NULL, 0);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "nope");
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n), EIM_COAP_NOT_FOUND);
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_GET,
			     8, NULL, 0);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "gsma/rsp2/asn1");
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n),
			 EIM_COAP_METHOD_NOT_ALLOWED);
	/* A failing handler -> 5.00 with no body. */
	eim_coap_writer_init(&w, buf, sizeof(buf), EIM_COAP_CON, EIM_COAP_GET,
			     9, NULL, 0);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "fail");
	eim_coap_writer_finish(&w, &n);
	ck_assert_int_eq(answer_code(s, &st, buf, n),
			 EIM_COAP_INTERNAL_SERVER_ERROR);
	ck_assert_uint_eq(last_msg(&st).payload_len, 0);
	ck_assert_int_eq(calls, 4);
	eim_coap_server_free(s);
}
END_TEST

static void check_block2_body(struct eim_coap_server *s, uint8_t method,
			      uint32_t szx, bool early)
{
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-b2", &st);
	struct rq r = {.type = EIM_COAP_CON,
		       .code = method,
		       .mid = 100,
		       .path = "/big",
		       .cf = -1};
	uint8_t got[4096];
	size_t got_len = 0;
	uint32_t etag0 = 0, v;
	size_t bs = eim_coap_szx_size((uint8_t)szx);

	if (early) {
		r.b2 = true;
		r.b2v = eim_coap_block_encode(0, false, (uint8_t)szx);
	}
	for (uint32_t num = 0;; num++) {
		struct eim_coap_msg m;
		struct eim_coap_block b;
		const struct eim_coap_opt *o;

		if (num) {
			r.b2 = true;
			r.b2v = eim_coap_block_encode(num, false, (uint8_t)szx);
		}
		r.mid++;
		input(s, &p, &r, num);
		m = last_msg(&st);
		ck_assert_int_eq(m.code, EIM_COAP_CONTENT);
		o = eim_coap_msg_opt(&m, EIM_COAP_OPT_BLOCK2);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(eim_coap_block_decode(o, &b), 0);
		ck_assert_uint_eq(b.num, num);
		ck_assert_uint_eq(b.szx, szx);
		o = eim_coap_msg_opt(&m, EIM_COAP_OPT_SIZE2);
		ck_assert_ptr_nonnull(o);
		eim_coap_opt_uint(o, 4, &v);
		ck_assert_uint_eq(v, big_len);
		o = eim_coap_msg_opt(&m, EIM_COAP_OPT_ETAG);
		ck_assert_ptr_nonnull(o);
		eim_coap_opt_uint(o, 4, &v);
		if (num == 0)
			etag0 = v;
		ck_assert_uint_eq(v, etag0);
		if (b.more)
			ck_assert_uint_eq(m.payload_len, bs);
		memcpy(got + got_len, m.payload, m.payload_len);
		got_len += m.payload_len;
		if (!b.more)
			break;
	}
	ck_assert_uint_eq(got_len, big_len);
	for (size_t i = 0; i < got_len; i++)
		ck_assert_int_eq(got[i], (uint8_t)(i % 251));
	/* The body was produced once and served from the copy. */
	ck_assert_int_eq(calls, 1);
}

START_TEST(block2_default_size)
{
	struct eim_coap_server *s = mksrv(NULL);
	check_block2_body(s, EIM_COAP_GET, 6, false);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(block2_early_negotiation_post)
{
	struct eim_coap_server *s = mksrv(NULL);
	check_block2_body(s, EIM_COAP_POST, 2, true);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(block2_later_block_without_copy)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-q", &st);
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 1,
		       .path = "/big",
		       .cf = -1};
	struct eim_coap_msg m;

	/* POST asking for block 1 of a body never produced: 4.08. */
	r.b2 = true;
	r.b2v = eim_coap_block_encode(1, false, 6);
	input(s, &p, &r, 0);
	ck_assert_int_eq(last_msg(&st).code,
			 EIM_COAP_REQUEST_ENTITY_INCOMPLETE);
	ck_assert_int_eq(calls, 0);
	/* GET is safe: it runs again and serves block 1. */
	r.code = EIM_COAP_GET;
	r.mid = 2;
	input(s, &p, &r, 0);
	m = last_msg(&st);
	ck_assert_int_eq(m.code, EIM_COAP_CONTENT);
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(m.payload_len, 1024);
	ck_assert_int_eq(m.payload[0], 1024 % 251);
	/* Beyond the end of the body: 4.00. */
	r.b2v = eim_coap_block_encode(9, false, 6);
	r.mid = 3;
	input(s, &p, &r, 0);
	ck_assert_int_eq(last_msg(&st).code, EIM_COAP_BAD_REQUEST);
	eim_coap_server_free(s);
}
END_TEST

/* Sends body in Block1 blocks of 2^(szx+4), returns the last answer. */
static struct eim_coap_msg upload(struct eim_coap_server *s,
				  struct eim_coap_peer *p, struct sent *st,
				  const uint8_t *body, size_t len, uint8_t szx,
				  const uint8_t *rtag, uint16_t *mid)
{
	size_t bs = eim_coap_szx_size(szx);
	struct eim_coap_msg m;

	for (size_t off = 0;; off += bs) {
		size_t n = len - off < bs ? len - off : bs;
		bool more = off + n < len;
		struct rq r = {.type = EIM_COAP_CON,
			       .code = EIM_COAP_POST,
			       .mid = (*mid)++,
			       .path = "/gsma/rsp2/asn1",
			       .cf = 42};
		r.b1 = true;
		r.b1v = eim_coap_block_encode((uint32_t)(off / bs), more, szx);
		r.size1 = off == 0;
		r.size1v = (uint32_t)len;
		r.rtag = rtag;
		r.rtag_len = rtag ? 2 : 0;
		r.body = body + off;
		r.body_len = n;
		input(s, p, &r, off);
		m = last_msg(st);
		if (!more || m.code != EIM_COAP_CONTINUE)
			return m;
	}
}

START_TEST(block1_reassembly)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-b1", &st);
	uint8_t body[1000];
	uint16_t mid = 1;
	struct eim_coap_msg m;
	struct eim_coap_block b;

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 13);
	m = upload(s, &p, &st, body, sizeof(body), 2, (const uint8_t *)"t1",
		   &mid);
	ck_assert_int_eq(m.code, EIM_COAP_CHANGED);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(eim_coap_block_decode(
				 eim_coap_msg_opt(&m, EIM_COAP_OPT_BLOCK1), &b),
			 0);
	ck_assert(!b.more);
	ck_assert_uint_eq(b.num, 1000 / 64);
	/* The echo fits one 1024-byte server block: no Block2. */
	ck_assert_ptr_null(eim_coap_msg_opt(&m, EIM_COAP_OPT_BLOCK2));
	ck_assert_uint_eq(m.payload_len, 1000);
	ck_assert_mem_eq(m.payload, body, 1000);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(block1_request_tags_kept_apart)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-b1", &st);
	uint8_t a[40], b[40];
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 1,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};
	struct eim_coap_msg m;

	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	/* Interleave two 40-byte bodies in 16-byte blocks, tags "ta"/"tb". */
	for (int blk = 0; blk < 3; blk++) {
		for (int which = 0; which < 2; which++) {
			size_t off = (size_t)blk * 16;
			size_t n = 40 - off < 16 ? 40 - off : 16;
			r.mid++;
			r.b1 = true;
			r.b1v = eim_coap_block_encode((uint32_t)blk,
						      off + n < 40, 0);
			r.rtag = (const uint8_t *)(which ? "tb" : "ta");
			r.rtag_len = 2;
			r.body = (which ? b : a) + off;
			r.body_len = n;
			input(s, &p, &r, 0);
			m = last_msg(&st);
			if (blk < 2) {
				ck_assert_int_eq(m.code, EIM_COAP_CONTINUE);
			} else {
				ck_assert_int_eq(m.code, EIM_COAP_CHANGED);
				ck_assert_uint_eq(m.payload_len, 40);
				ck_assert_mem_eq(m.payload, which ? b : a, 40);
			}
		}
	}
	ck_assert_int_eq(calls, 2);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(block1_errors)
{
	struct eim_coap_server_config cfg;
	struct eim_coap_server *s;
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-b1", &st);
	uint8_t blk[64] = {0};
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 1,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};
	struct eim_coap_msg m;
	struct eim_coap_server_stats stats;
	uint32_t v;

	eim_coap_server_config_default(&cfg);
	cfg.max_body = 100;
	cfg.max_reassemblies = 1;
	cfg.reassembly_lifetime_ms = 5000;
	s = mksrv(&cfg);
	r.b1 = true;
	r.body = blk;
	r.body_len = 64;

	/* Announced Size1 above max_body: 4.13 with Size1 = max. */
	r.b1v = eim_coap_block_encode(0, true, 2);
	r.size1 = true;
	r.size1v = 1000;
	input(s, &p, &r, 0);
	m = last_msg(&st);
	ck_assert_int_eq(m.code, EIM_COAP_REQUEST_ENTITY_TOO_LARGE);
	ck_assert_int_eq(eim_coap_opt_uint(eim_coap_msg_opt(&m,
							    EIM_COAP_OPT_SIZE1),
					   4, &v),
			 0);
	ck_assert_uint_eq(v, 100);
	r.size1 = false;

	/* Body growing past max_body without Size1: 4.13 on block 1. */
	r.mid++;
	input(s, &p, &r, 0);
	ck_assert_int_eq(last_msg(&st).code, EIM_COAP_CONTINUE);
	r.mid++;
	r.b1v = eim_coap_block_encode(1, true, 2);
	input(s, &p, &r, 0);
	ck_assert_int_eq(last_msg(&st).code, EIM_COAP_REQUEST_ENTITY_TOO_LARGE);

	/* A block that is not the next one: 4.08. */
	r.mid++;
	r.b1v = eim_coap_block_encode(0, true, 2);
	input(s, &p, &r, 0);
	r.mid++;
	r.b1v = eim_coap_block_encode(2, true, 2);
	input(s, &p, &r, 0);
	ck_assert_int_eq(last_msg(&st).code,
			 EIM_COAP_REQUEST_ENTITY_INCOMPLETE);

	/* A block for which no reassembly exists: 4.08. */
	r.mid++;
	r.b1v = eim_coap_block_encode(1, false, 2);
	r.body_len = 10;
	input(s, &p, &r, 0);
	ck_assert_int_eq(last_msg(&st).code,
			 EIM_COAP_REQUEST_ENTITY_INCOMPLETE);

	/* A non-final block shorter than the block size: 4.00. */
	r.mid++;
	r.b1v = eim_coap_block_encode(0, true, 2);
	r.body_len = 10;
	input(s, &p, &r, 0);
	ck_assert_int_eq(last_msg(&st).code, EIM_COAP_BAD_REQUEST);
	r.body_len = 64;

	/* Too many reassemblies at once (max 1): 5.03. */
	r.mid++;
	r.b1v = eim_coap_block_encode(0, true, 2);
	input(s, &p, &r, 100);
	ck_assert_int_eq(last_msg(&st).code, EIM_COAP_CONTINUE);
	r.mid++;
	r.rtag = (const uint8_t *)"x";
	r.rtag_len = 1;
	input(s, &p, &r, 100);
	ck_assert_int_eq(last_msg(&st).code, EIM_COAP_SERVICE_UNAVAILABLE);
	r.rtag = NULL;
	r.rtag_len = 0;

	/* Lifetime: the pending body expires; its next block gets 4.08. */
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.reassemblies, 1);
	ck_assert_uint_eq(eim_coap_server_next_deadline(s), 5100);
	eim_coap_server_tick(s, 5100);
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.reassemblies, 0);
	r.mid++;
	r.b1v = eim_coap_block_encode(1, false, 2);
	r.body_len = 5;
	input(s, &p, &r, 5100);
	ck_assert_int_eq(last_msg(&st).code,
			 EIM_COAP_REQUEST_ENTITY_INCOMPLETE);
	ck_assert_int_eq(calls, 0);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(block1_server_prefers_smaller_blocks)
{
	struct eim_coap_server_config cfg;
	struct eim_coap_server *s;
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-b1", &st);
	uint8_t body[1500];
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 1,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};
	struct eim_coap_msg m;
	struct eim_coap_block b;

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)i;
	eim_coap_server_config_default(&cfg);
	cfg.block_szx = 4; /* 256 */
	s = mksrv(&cfg);
	/* Client sends a 1024-byte block 0; the server keeps it all and asks
	 * for 256-byte blocks (RFC 7959 2.3): the next is num 4, szx 4. */
	r.b1 = true;
	r.b1v = eim_coap_block_encode(0, true, 6);
	r.body = body;
	r.body_len = 1024;
	input(s, &p, &r, 0);
	m = last_msg(&st);
	ck_assert_int_eq(m.code, EIM_COAP_CONTINUE);
	eim_coap_block_decode(eim_coap_msg_opt(&m, EIM_COAP_OPT_BLOCK1), &b);
	ck_assert_uint_eq(b.szx, 4);
	ck_assert_uint_eq(b.num, 0);
	r.mid++;
	r.b1v = eim_coap_block_encode(4, true, 4);
	r.body = body + 1024;
	r.body_len = 256;
	input(s, &p, &r, 0);
	ck_assert_int_eq(last_msg(&st).code, EIM_COAP_CONTINUE);
	r.mid++;
	r.b1v = eim_coap_block_encode(5, false, 4);
	r.body = body + 1280;
	r.body_len = 220;
	input(s, &p, &r, 0);
	m = last_msg(&st);
	ck_assert_int_eq(m.code, EIM_COAP_CHANGED);
	ck_assert_int_eq(calls, 1);
	/* Echo of 1500 bytes in 256-byte blocks: block 0 here. */
	ck_assert_uint_eq(m.payload_len, 256);
	ck_assert_mem_eq(m.payload, body, 256);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(peer_gone_drops_reassembly)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("dtls-session-7", &st);
	uint8_t blk[16] = {0};
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .mid = 1,
		       .path = "/gsma/rsp2/asn1",
		       .cf = -1};
	struct eim_coap_server_stats stats;

	r.b1 = true;
	r.b1v = eim_coap_block_encode(0, true, 0);
	r.body = blk;
	r.body_len = 16;
	input(s, &p, &r, 0);
	ck_assert_int_eq(last_msg(&st).code, EIM_COAP_CONTINUE);
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.reassemblies, 1);
	ck_assert_uint_eq(stats.peers, 1);
	/* The session ends: its dedup cache and its half body go with it. */
	eim_coap_server_peer_gone(s, p.key, p.key_len);
	eim_coap_server_stats(s, &stats);
	ck_assert_uint_eq(stats.reassemblies, 0);
	ck_assert_uint_eq(stats.peers, 0);
	/* A later session with the same key starts clean: block 1 -> 4.08,
	 * and MID 1 is a new request, not a duplicate. */
	r.mid = 2;
	r.b1v = eim_coap_block_encode(1, false, 0);
	r.body_len = 3;
	input(s, &p, &r, 1);
	ck_assert_int_eq(last_msg(&st).code,
			 EIM_COAP_REQUEST_ENTITY_INCOMPLETE);
	r.mid = 1;
	r.b1 = false;
	input(s, &p, &r, 2);
	ck_assert_int_eq(last_msg(&st).code, EIM_COAP_CHANGED);
	ck_assert_int_eq(calls, 1);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(block1_table_direct)
{
	struct eim_coap_block1_table *t = NULL;
	struct eim_coap_block1_key k = {
		.peer = (const uint8_t *)"p",
		.peer_len = 1,
		.method = EIM_COAP_POST,
		.path = "/x",
	};
	struct eim_coap_block b = {0, true, 0};
	uint8_t d[16] = {0};
	const uint8_t *body;
	size_t len;

	ck_assert_int_eq(eim_coap_block1_table_new(0, 10, 10, &t), EIM_EINVAL);
	ck_assert_int_eq(eim_coap_block1_table_new(2, 64, 10, &t), 0);
	ck_assert_int_eq(eim_coap_block1_feed(t, &k, &b, d, 16, 0, 0, &body,
					      &len),
			 EIM_COAP_BLOCK1_CONTINUE);
	/* Block 0 again restarts the body. */
	ck_assert_int_eq(eim_coap_block1_feed(t, &k, &b, d, 16, 0, 1, &body,
					      &len),
			 EIM_COAP_BLOCK1_CONTINUE);
	b.num = 1, b.more = false;
	ck_assert_int_eq(eim_coap_block1_feed(t, &k, &b, d, 3, 0, 2, &body,
					      &len),
			 EIM_COAP_BLOCK1_COMPLETE);
	ck_assert_uint_eq(len, 19);
	eim_coap_block1_done(t, &k);
	ck_assert_uint_eq(eim_coap_block1_count(t), 0);
	/* Bad arguments. */
	b.szx = 7;
	ck_assert_int_eq(eim_coap_block1_feed(t, &k, &b, d, 3, 0, 2, &body,
					      &len),
			 EIM_EINVAL);
	eim_coap_block1_table_free(t);
}
END_TEST

START_TEST(allocation_failures)
{
	/* Each allocation of server_new in turn fails: clean error, no leak
	 * (valgrind setup checks the latter). */
	for (unsigned long n = 0; n < 8; n++) {
		struct eim_coap_server *s = NULL;
		eim_alloc_fail_after(n);
		int rc = eim_coap_server_new(NULL, routes, 1, &s);
		eim_alloc_fail_reset();
		if (rc == 0) {
			eim_coap_server_free(s);
			break;
		}
		ck_assert_int_eq(rc, EIM_ENOMEM);
		ck_assert_ptr_null(s);
	}
	/* Peer state allocation failing: EIM_ENOMEM, nothing sent. */
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-a", &st);
	const uint8_t get[] = {0x40, 0x01, 0, 1};
	eim_alloc_fail_after(0);
	ck_assert_int_eq(eim_coap_server_input(s, &p, get, 4, 0), EIM_ENOMEM);
	eim_alloc_fail_reset();
	ck_assert_int_eq(st.n, 0);
	eim_coap_server_free(s);
}
END_TEST

START_TEST(steady_path_does_not_allocate)
{
	struct eim_coap_server *s = mksrv(NULL);
	struct sent st = {0};
	struct eim_coap_peer p = mkpeer("peer-a", &st);
	struct rq r = {.type = EIM_COAP_CON,
		       .code = EIM_COAP_POST,
		       .path = "/gsma/rsp2/asn1",
		       .cf = 42};
	unsigned long before;

	r.body = body3, r.body_len = 3;
	/* Warm-up: the peer, its dedup slots and the response buffers. */
	for (uint16_t mid = 0; mid < 16; mid++) {
		r.mid = mid;
		input(s, &p, &r, mid);
	}
	before = eim_alloc_count();
	for (uint16_t mid = 16; mid < 1016; mid++) {
		r.mid = mid;
		input(s, &p, &r, mid);
	}
	ck_assert_uint_eq(eim_alloc_count(), before);
	ck_assert_int_eq(calls, 1016);
	eim_coap_server_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coap_server");
	TCase *tc = tcase_create("server");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, piggybacked_echo);
	tcase_add_test(tc, non_gets_non);
	tcase_add_test(tc, retransmitted_con_runs_handler_once);
	tcase_add_test(tc, dedup_expires_after_exchange_lifetime);
	tcase_add_test(tc, dedup_bounded_per_peer);
	tcase_add_test(tc, peers_kept_apart_and_bounded);
	tcase_add_test(tc, peer_table_grows_and_finds_every_peer);
	tcase_add_test(tc, dedup_ring_grows_in_order);
	tcase_add_test(tc, block2_copy_only_during_transfer);
	tcase_add_test(tc, malformed_con_gets_rst_others_dropped);
	tcase_add_test(tc, option_checks_and_routing);
	tcase_add_test(tc, block2_default_size);
	tcase_add_test(tc, block2_early_negotiation_post);
	tcase_add_test(tc, block2_later_block_without_copy);
	tcase_add_test(tc, block1_reassembly);
	tcase_add_test(tc, block1_request_tags_kept_apart);
	tcase_add_test(tc, block1_errors);
	tcase_add_test(tc, block1_server_prefers_smaller_blocks);
	tcase_add_test(tc, peer_gone_drops_reassembly);
	tcase_add_test(tc, block1_table_direct);
	tcase_add_test(tc, allocation_failures);
	tcase_add_test(tc, steady_path_does_not_allocate);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
