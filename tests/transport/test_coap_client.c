/*
 * Unit tests for transport/eim_coap_client: RFC 7252 retransmission timing
 * with a fake clock, matching of piggybacked, separate and RST answers, and
 * block-wise transfers in both directions against the real server engine,
 * with datagrams lost on purpose. Both engines run in memory: the "network"
 * is two queues.
 */
#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "transport/eim_coap_client.h"
#include "transport/eim_coap_server.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QMAX 64

struct dgram {
	uint8_t b[2048];
	size_t n;
};

struct queue {
	struct dgram d[QMAX];
	size_t n;
	unsigned count;	     /* datagrams offered so far */
	unsigned drop_every; /* 0 = none; k = drop every k-th */
	uint64_t sent_at[QMAX * 4];
	size_t nsent_at;
	uint64_t *now;
};

static int q_send(void *ctx, const uint8_t *b, size_t n)
{
	struct queue *q = ctx;

	q->count++;
	if (q->nsent_at < sizeof(q->sent_at) / sizeof(q->sent_at[0]))
		q->sent_at[q->nsent_at++] = *q->now;
	if (q->drop_every && q->count % q->drop_every == 0)
		return 0;
	ck_assert_uint_lt(q->n, QMAX);
	ck_assert_uint_le(n, sizeof(q->d[0].b));
	memcpy(q->d[q->n].b, b, n);
	q->d[q->n].n = n;
	q->n++;
	return 0;
}

struct result {
	int calls;
	int status;
	uint8_t code;
	uint8_t body[70000];
	size_t body_len;
};

static void on_done(void *ctx, int status,
		    const struct eim_coap_client_response *resp)
{
	struct result *r = ctx;
	r->calls++;
	r->status = status;
	if (resp) {
		r->code = resp->code;
		ck_assert_uint_le(resp->body_len, sizeof(r->body));
		if (resp->body_len)
			memcpy(r->body, resp->body, resp->body_len);
		r->body_len = resp->body_len;
	}
}

static int handler_runs;

static int echo(void *ctx, const struct eim_coap_request *req,
		struct eim_coap_response *resp)
{
	handler_runs++;
	resp->code = EIM_COAP_CHANGED;
	eim_buf_append(&resp->body, req->body, req->body_len);
	return 0;
}

static const struct eim_coap_route routes[] = {
	{EIM_COAP_POST, "/echo", echo, NULL},
};

struct world {
	uint64_t now;
	struct queue to_srv, to_cli;
	struct eim_coap_server *srv;
	struct eim_coap_client *cli;
};

static void world_init(struct world *w, const struct eim_coap_client_config *cc,
		       const struct eim_coap_server_config *sc)
{
	memset(w, 0, sizeof(*w));
	w->to_srv.now = &w->now;
	w->to_cli.now = &w->now;
	ck_assert_int_eq(eim_coap_server_new(sc, routes, 1, &w->srv), 0);
	ck_assert_int_eq(eim_coap_client_new(cc, q_send, &w->to_srv, &w->cli),
			 0);
	handler_runs = 0;
}

static void world_done(struct world *w)
{
	eim_coap_client_free(w->cli);
	eim_coap_server_free(w->srv);
}

/* Delivers queued datagrams both ways; when the network is quiet, jumps
 * the clock to the client's next deadline. Stops when res has an outcome. */
static void run(struct world *w, struct result *res)
{
	struct eim_coap_peer peer = {
		.key = (const uint8_t *)"cli",
		.key_len = 3,
		.send = q_send,
		.send_ctx = &w->to_cli,
	};

	for (int guard = 0; guard < 100000 && !res->calls; guard++) {
		if (w->to_srv.n) {
			struct dgram d = w->to_srv.d[0];
			memmove(w->to_srv.d, w->to_srv.d + 1,
				--w->to_srv.n * sizeof(d));
			eim_coap_server_input(w->srv, &peer, d.b, d.n, w->now);
			continue;
		}
		if (w->to_cli.n) {
			struct dgram d = w->to_cli.d[0];
			memmove(w->to_cli.d, w->to_cli.d + 1,
				--w->to_cli.n * sizeof(d));
			eim_coap_client_input(w->cli, d.b, d.n, w->now);
			continue;
		}
		uint64_t t = eim_coap_client_next_deadline(w->cli);
		ck_assert_uint_ne(t, UINT64_MAX);
		w->now = t;
		eim_coap_client_tick(w->cli, w->now);
	}
	ck_assert_int_eq(res->calls, 1);
}

static void fixed_timing(struct eim_coap_client_config *cc)
{
	eim_coap_client_config_default(cc);
	cc->params.ack_timeout_ms = 1000;
	cc->params.ack_random_factor = 1000; /* no jitter: exact times */
	cc->seed = 42;
}

START_TEST(retransmission_schedule_and_timeout)
{
	struct eim_coap_client_config cc;
	struct world w;
	struct result res = {0};
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/echo",
		.content_format = -1,
		.cb = on_done,
		.cb_ctx = &res,
	};
	struct eim_coap_client_stats st;

	fixed_timing(&cc);
	world_init(&w, &cc, NULL);
	w.to_srv.drop_every = 1; /* the server is unreachable */
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), 0);
	ck_assert_int_eq(res.calls, 0); /* never from inside request() */
	run(&w, &res);
	ck_assert_int_eq(res.status, EIM_ETIMEOUT);
	/* 1 + MAX_RETRANSMIT (4) transmissions at 0, 1, 3, 7, 15 s, given
	 * up at 31 s (timeouts 1, 2, 4, 8, 16 s). */
	ck_assert_uint_eq(w.to_srv.nsent_at, 5);
	const uint64_t want[] = {0, 1000, 3000, 7000, 15000};
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(w.to_srv.sent_at[i], want[i]);
	ck_assert_uint_eq(w.now, 31000);
	eim_coap_client_stats(w.cli, &st);
	ck_assert_uint_eq(st.retransmits, 4);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_uint_eq(eim_coap_client_inflight(w.cli), 0);
	world_done(&w);
}
END_TEST

START_TEST(jitter_within_ack_random_factor)
{
	struct eim_coap_client_config cc;
	struct world w;
	struct result res = {0};
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/echo",
		.content_format = -1,
		.cb = on_done,
		.cb_ctx = &res,
	};

	eim_coap_client_config_default(&cc);
	cc.params.max_retransmit = 0;
	for (uint64_t seed = 1; seed < 50; seed++) {
		cc.seed = seed;
		world_init(&w, &cc, NULL);
		ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), 0);
		uint64_t t = eim_coap_client_next_deadline(w.cli);
		ck_assert_uint_ge(t, 2000);
		ck_assert_uint_le(t, 3000);
		world_done(&w);
	}
}
END_TEST

START_TEST(lost_datagrams_recovered_handler_once)
{
	struct eim_coap_client_config cc;
	struct world w;
	struct result res = {0};
	const uint8_t body[] = "hello";
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/echo",
		.content_format = 42,
		.body = body,
		.body_len = 5,
		.cb = on_done,
		.cb_ctx = &res,
	};

	fixed_timing(&cc);
	world_init(&w, &cc, NULL);
	w.to_cli.drop_every = 1; /* first ACK lost ... */
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), 0);
	/* deliver the request, lose the answer, then let it through */
	struct eim_coap_peer peer = {.key = (const uint8_t *)"cli",
				     .key_len = 3,
				     .send = q_send,
				     .send_ctx = &w.to_cli};
	eim_coap_server_input(w.srv, &peer, w.to_srv.d[0].b, w.to_srv.d[0].n,
			      0);
	w.to_srv.n = 0;
	w.to_cli.drop_every = 0;
	run(&w, &res);
	ck_assert_int_eq(res.status, 0);
	ck_assert_int_eq(res.code, EIM_COAP_CHANGED);
	ck_assert_uint_eq(res.body_len, 5);
	ck_assert_mem_eq(res.body, body, 5);
	ck_assert_int_eq(handler_runs, 1); /* the retransmission was deduped */
	world_done(&w);
}
END_TEST

static void big_echo(unsigned drop_srv, unsigned drop_cli, uint8_t cli_szx,
		     uint8_t srv_szx, size_t len)
{
	struct eim_coap_client_config cc;
	struct eim_coap_server_config sc;
	struct world w;
	static struct result res;
	uint8_t *body = malloc(len);
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/echo",
		.content_format = -1,
		.body = body,
		.body_len = len,
		.cb = on_done,
		.cb_ctx = &res,
	};

	memset(&res, 0, sizeof(res));
	for (size_t i = 0; i < len; i++)
		body[i] = (uint8_t)(i * 31 + 7);
	fixed_timing(&cc);
	cc.block_szx = cli_szx;
	eim_coap_server_config_default(&sc);
	sc.block_szx = srv_szx;
	world_init(&w, &cc, &sc);
	w.to_srv.drop_every = drop_srv;
	w.to_cli.drop_every = drop_cli;
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), 0);
	run(&w, &res);
	ck_assert_int_eq(res.status, 0);
	ck_assert_int_eq(res.code, EIM_COAP_CHANGED);
	ck_assert_uint_eq(res.body_len, len);
	ck_assert_mem_eq(res.body, body, len);
	ck_assert_int_eq(handler_runs, 1);
	world_done(&w);
	free(body);
}

START_TEST(block1_and_block2_echo)
{
	big_echo(0, 0, 6, 6, 5000);
}
END_TEST

START_TEST(block_echo_small_blocks_with_loss)
{
	/* 16-byte blocks, every 3rd datagram to the server and every 4th to
	 * the client lost: retransmission and dedup keep the body intact. */
	big_echo(3, 4, 0, 6, 700);
}
END_TEST

START_TEST(block_echo_server_smaller_blocks)
{
	/* Client starts with 1024-byte blocks, the server wants 64. */
	big_echo(0, 0, 6, 2, 3000);
}
END_TEST

/* Hand-made server answers for the matching rules. */
static struct eim_coap_msg sent_msg(struct world *w, size_t i)
{
	struct eim_coap_msg m;
	ck_assert_int_eq(eim_coap_msg_parse(w->to_srv.d[i].b, w->to_srv.d[i].n,
					    &m),
			 0);
	return m;
}

static size_t answer(const struct eim_coap_msg *req, uint8_t type, uint8_t code,
		     uint16_t mid, bool with_token, uint8_t *buf)
{
	struct eim_coap_writer w;
	size_t n;
	eim_coap_writer_init(&w, buf, 64, type, code, mid,
			     with_token ? req->token : NULL,
			     with_token ? req->tkl : 0);
	eim_coap_writer_payload(&w, "ok", code ? 2 : 0);
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), 0);
	return n;
}

START_TEST(rst_empty_ack_and_separate_response)
{
	struct eim_coap_client_config cc;
	struct world w;
	struct result res = {0};
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_GET,
		.path = "/x",
		.content_format = -1,
		.cb = on_done,
		.cb_ctx = &res,
	};
	struct eim_coap_msg m;
	uint8_t b[64];
	size_t n;

	fixed_timing(&cc);
	world_init(&w, &cc, NULL);
	/* RST for our CON: EIM_ECLOSED. */
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), 0);
	m = sent_msg(&w, 0);
	n = answer(&m, EIM_COAP_RST, 0, m.mid, false, b);
	eim_coap_client_input(w.cli, b, n, 10);
	ck_assert_int_eq(res.calls, 1);
	ck_assert_int_eq(res.status, EIM_ECLOSED);

	/* Empty ACK, then a separate CON response: we ACK it, done. */
	memset(&res, 0, sizeof(res));
	w.to_srv.n = 0;
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 100), 0);
	m = sent_msg(&w, 0);
	n = answer(&m, EIM_COAP_ACK, 0, m.mid, false, b);
	eim_coap_client_input(w.cli, b, n, 110);
	/* No retransmission after the ACK: deadline is MAX_TRANSMIT_WAIT. */
	ck_assert_uint_eq(eim_coap_client_next_deadline(w.cli), 110 + 31000);
	/* A response with a wrong token is rejected with RST. */
	struct eim_coap_msg other = m;
	other.token[7] ^= 1;
	n = answer(&other, EIM_COAP_CON, EIM_COAP_CONTENT, 0x9999, true, b);
	eim_coap_client_input(w.cli, b, n, 120);
	ck_assert_int_eq(res.calls, 0);
	m = sent_msg(&w, 1);
	ck_assert_int_eq(m.type, EIM_COAP_RST);
	ck_assert_int_eq(m.mid, 0x9999);
	/* The right one: ACKed, delivered. */
	m = sent_msg(&w, 0);
	n = answer(&m, EIM_COAP_CON, EIM_COAP_CONTENT, 0x7777, true, b);
	eim_coap_client_input(w.cli, b, n, 130);
	ck_assert_int_eq(res.calls, 1);
	ck_assert_int_eq(res.status, 0);
	ck_assert_int_eq(res.code, EIM_COAP_CONTENT);
	ck_assert_uint_eq(res.body_len, 2);
	m = sent_msg(&w, 2);
	ck_assert_int_eq(m.type, EIM_COAP_ACK);
	ck_assert_int_eq(m.code, 0);
	ck_assert_int_eq(m.mid, 0x7777);
	world_done(&w);
}
END_TEST

START_TEST(request_limits)
{
	struct eim_coap_client_config cc;
	struct world w;
	struct result res = {0};
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_GET,
		.path = "/x",
		.content_format = -1,
		.cb = on_done,
		.cb_ctx = &res,
	};
	char longpath[200];

	fixed_timing(&cc);
	cc.max_inflight = 2;
	world_init(&w, &cc, NULL);
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), 0);
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), 0);
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), EIM_EBUSY);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = 0;
	rq.path = longpath;
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), EIM_EINVAL);
	rq.path = "/x";
	rq.cb = NULL;
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), EIM_EINVAL);
	ck_assert_int_eq(eim_coap_client_new(NULL, NULL, NULL, &w.cli),
			 EIM_EINVAL);
	world_done(&w);
}
END_TEST

/* A piggybacked answer to the last message the client sent, with Block2
 * (num, more, szx 0 = 16 bytes), an optional ETag and payload length n. */
static size_t block2_answer(struct world *w, uint32_t num, bool more, int etag,
			    size_t n, uint8_t code, uint8_t *buf)
{
	struct eim_coap_msg m = sent_msg(w, w->to_srv.n - 1);
	struct eim_coap_writer wr;
	uint8_t pl[64];
	size_t len;

	memset(pl, 'z', sizeof(pl));
	eim_coap_writer_init(&wr, buf, 256, EIM_COAP_ACK, code, m.mid, m.token,
			     m.tkl);
	if (etag >= 0)
		eim_coap_writer_opt_uint(&wr, EIM_COAP_OPT_ETAG,
					 (uint32_t)etag);
	if (code == EIM_COAP_CONTINUE)
		eim_coap_writer_opt_uint(&wr, EIM_COAP_OPT_SIZE2, 0);
	else
		eim_coap_writer_opt_uint(&wr, EIM_COAP_OPT_BLOCK2,
					 eim_coap_block_encode(num, more, 0));
	eim_coap_writer_payload(&wr, pl, n);
	ck_assert_int_eq(eim_coap_writer_finish(&wr, &len), 0);
	return len;
}

START_TEST(malformed_blockwise_answers)
{
	struct eim_coap_client_config cc;
	struct world w;
	struct result res = {0};
	static uint8_t big[100];
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_GET,
		.path = "/x",
		.content_format = -1,
		.cb = on_done,
		.cb_ctx = &res,
	};
	uint8_t b[256];
	size_t n;

	fixed_timing(&cc);
	cc.max_body = 40;
	cc.block_szx = 0; /* 16-byte blocks both ways */
	world_init(&w, &cc, NULL);

	/* Block 0 then block 2 instead of 1. */
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 0), 0);
	n = block2_answer(&w, 0, true, 7, 16, EIM_COAP_CONTENT, b);
	eim_coap_client_input(w.cli, b, n, 1);
	ck_assert_int_eq(res.calls, 0);
	n = block2_answer(&w, 2, false, 7, 5, EIM_COAP_CONTENT, b);
	eim_coap_client_input(w.cli, b, n, 2);
	ck_assert_int_eq(res.calls, 1);
	ck_assert_int_eq(res.status, EIM_EMALFORMED);

	/* ETag changes between blocks. */
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 10), 0);
	n = block2_answer(&w, 0, true, 7, 16, EIM_COAP_CONTENT, b);
	eim_coap_client_input(w.cli, b, n, 11);
	n = block2_answer(&w, 1, false, 8, 5, EIM_COAP_CONTENT, b);
	eim_coap_client_input(w.cli, b, n, 12);
	ck_assert_int_eq(res.status, EIM_EMALFORMED);

	/* ETag appears only on a later block. */
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 20), 0);
	n = block2_answer(&w, 0, true, -1, 16, EIM_COAP_CONTENT, b);
	eim_coap_client_input(w.cli, b, n, 21);
	n = block2_answer(&w, 1, false, 8, 5, EIM_COAP_CONTENT, b);
	eim_coap_client_input(w.cli, b, n, 22);
	ck_assert_int_eq(res.status, EIM_EMALFORMED);

	/* A non-final block shorter than the block size. */
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 30), 0);
	n = block2_answer(&w, 0, true, 7, 15, EIM_COAP_CONTENT, b);
	eim_coap_client_input(w.cli, b, n, 31);
	ck_assert_int_eq(res.status, EIM_EMALFORMED);

	/* Body beyond max_body (40): 16 + 16 + 16. */
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 40), 0);
	for (uint32_t i = 0; i < 3 && !res.calls; i++) {
		n = block2_answer(&w, i, true, 7, 16, EIM_COAP_CONTENT, b);
		eim_coap_client_input(w.cli, b, n, 41 + i);
	}
	ck_assert_int_eq(res.status, EIM_ETOOBIG);

	/* 2.31 Continue without a Block1 option for a block-wise upload. */
	memset(&res, 0, sizeof(res));
	rq.method = EIM_COAP_PUT;
	rq.body = big;
	rq.body_len = sizeof(big);
	ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, 50), 0);
	n = block2_answer(&w, 0, false, -1, 0, EIM_COAP_CONTINUE, b);
	eim_coap_client_input(w.cli, b, n, 51);
	ck_assert_int_eq(res.status, EIM_EMALFORMED);
	ck_assert_uint_eq(eim_coap_client_inflight(w.cli), 0);
	world_done(&w);
}
END_TEST

START_TEST(steady_path_does_not_allocate)
{
	struct eim_coap_client_config cc;
	struct world w;
	static struct result res;
	const uint8_t body[16] = "0123456789abcdef";
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/echo",
		.content_format = 42,
		.body = body,
		.body_len = 16,
		.cb = on_done,
		.cb_ctx = &res,
	};
	unsigned long before = 0;

	fixed_timing(&cc);
	world_init(&w, &cc, NULL);
	for (int i = 0; i < 1016; i++) {
		if (i == 16)
			before = eim_alloc_count();
		memset(&res, 0, sizeof(res));
		ck_assert_int_eq(eim_coap_client_request(w.cli, &rq, w.now), 0);
		run(&w, &res);
		ck_assert_int_eq(res.status, 0);
	}
	/* Client and server engines both: no allocation per request. */
	ck_assert_uint_eq(eim_alloc_count(), before);
	world_done(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coap_client");
	TCase *tc = tcase_create("client");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, retransmission_schedule_and_timeout);
	tcase_add_test(tc, jitter_within_ack_random_factor);
	tcase_add_test(tc, lost_datagrams_recovered_handler_once);
	tcase_add_test(tc, block1_and_block2_echo);
	tcase_add_test(tc, block_echo_small_blocks_with_loss);
	tcase_add_test(tc, block_echo_server_smaller_blocks);
	tcase_add_test(tc, rst_empty_ack_and_separate_response);
	tcase_add_test(tc, request_limits);
	tcase_add_test(tc, malformed_blockwise_answers);
	tcase_add_test(tc, steady_path_does_not_allocate);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
