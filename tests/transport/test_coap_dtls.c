/*
 * Tests of the CoAP-over-DTLS client glue (transport/eim_coap_dtls.h)
 * against the server glue, in one process over real loopback sockets: a
 * PSK session with a Connection ID answers requests, a request made before
 * the handshake waits for it, a rebind to a new source port is followed by
 * the server without a handshake when a CID is in use (RFC 9146 section 6)
 * and needs a new handshake without one, a forced rehandshake works, and a
 * wrong PSK reports FAILED.
 */
#include "common/eim_err.h"
#include "transport/eim_coap_dtls.h"
#include "transport/eim_loop.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t test_psk[16] = {0, 1, 2,  3,  4,  5,  6,  7,
				     8, 9, 10, 11, 12, 13, 14, 15};
static const char test_identity[] = "device-1";

/* The server answers with the identity the handshake authenticated and
 * the request body, so the test sees both came through the session. */
static int echo(void *ctx, const struct eim_coap_request *req,
		struct eim_coap_response *resp)
{
	(void)ctx;
	resp->code = EIM_COAP_CONTENT;
	eim_buf_append(&resp->body, req->identity, req->identity_len);
	eim_buf_append(&resp->body, (const uint8_t *)":", 1);
	eim_buf_append(&resp->body, req->body, req->body_len);
	return 0;
}

static const struct eim_coap_route routes[] = {
	{EIM_COAP_POST, "/echo", echo, NULL},
};

static int lookup(void *ctx, const uint8_t *id, size_t len, uint8_t *key,
		  size_t *key_len)
{
	(void)ctx;
	if (len != strlen(test_identity) || memcmp(id, test_identity, len))
		return EIM_ENOTFOUND;
	memcpy(key, test_psk, sizeof(test_psk));
	*key_len = sizeof(test_psk);
	return 0;
}

struct world {
	struct eim_loop *loop;
	struct eim_coap_server *coap;
	struct eim_coap_dtls_server *srv;
	struct eim_coap_dtls_client *cli;
	char addr[64];
	/* last outcome */
	int done, status;
	uint8_t code;
	char body[256];
	int states[8];
	int n_states;
	struct eim_loop_timer guard;
};

static void guard_fired(struct eim_loop *l, void *ctx)
{
	(void)ctx;
	eim_loop_stop(l);
}

static void on_state(void *ctx, struct eim_coap_dtls_client *c,
		     enum eim_dtls_client_state s)
{
	struct world *w = ctx;
	(void)c;
	if (w->n_states < 8)
		w->states[w->n_states++] = (int)s;
	if (s == EIM_DTLS_CLIENT_FAILED)
		eim_loop_stop(w->loop);
}

static void on_resp(void *ctx, int status,
		    const struct eim_coap_client_response *r)
{
	struct world *w = ctx;

	w->done++;
	w->status = status;
	if (status == 0) {
		size_t n = r->body_len < sizeof(w->body) - 1
				   ? r->body_len
				   : sizeof(w->body) - 1;
		w->code = r->code;
		memcpy(w->body, r->body, n);
		w->body[n] = 0;
	}
	eim_loop_stop(w->loop);
}

static void world_up(struct world *w, bool server_cid, bool client_cid,
		     const uint8_t *psk)
{
	struct eim_dtls_server_config sc;
	struct eim_dtls_client_config cc;

	memset(w, 0, sizeof(*w));
	ck_assert_int_eq(eim_loop_new(&w->loop), 0);
	ck_assert_int_eq(eim_coap_server_new(NULL, routes, 1, &w->coap), 0);
	eim_dtls_server_config_init(&sc);
	sc.psk_lookup = lookup;
	sc.cid_len = server_cid ? 8 : 0;
	ck_assert_int_eq(eim_coap_dtls_server_new(w->loop, "127.0.0.1:0", &sc,
						  w, w->coap, &w->srv),
			 0);
	snprintf(w->addr, sizeof(w->addr), "127.0.0.1:%d",
		 eim_coap_dtls_server_port(w->srv));
	eim_dtls_client_config_init(&cc);
	cc.psk_identity = (const uint8_t *)test_identity;
	cc.psk_identity_len = strlen(test_identity);
	cc.psk = psk;
	cc.psk_len = sizeof(test_psk);
	cc.use_cid = client_cid;
	ck_assert_int_eq(eim_coap_dtls_client_new(w->loop, w->addr, &cc, NULL,
						  &w->cli),
			 0);
	eim_coap_dtls_client_on_state(w->cli, on_state, w);
	eim_loop_timer_init(&w->guard, guard_fired, w);
}

static void world_down(struct world *w)
{
	eim_loop_timer_stop(w->loop, &w->guard);
	eim_coap_dtls_client_free(w->cli);
	eim_coap_dtls_server_free(w->srv);
	eim_coap_server_free(w->coap);
	eim_loop_free(w->loop);
}

/* One POST /echo; runs the loop until its callback (or 5 s). */
static void post(struct world *w, const char *text)
{
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/echo",
		.content_format = -1,
		.body = (const uint8_t *)text,
		.body_len = strlen(text),
		.cb = on_resp,
		.cb_ctx = w,
	};
	int before = w->done;

	ck_assert_int_eq(eim_coap_dtls_client_request(w->cli, &rq), 0);
	eim_loop_timer_start(w->loop, &w->guard, eim_loop_clock_ms() + 5000);
	ck_assert_int_eq(eim_loop_run(w->loop), 0);
	eim_loop_timer_stop(w->loop, &w->guard);
	ck_assert_int_eq(w->done, before + 1);
}

static struct eim_dtls_server_stats server_stats(struct world *w)
{
	struct eim_dtls_server_stats s;
	eim_dtls_server_stats(eim_coap_dtls_server_engine(w->srv), &s);
	return s;
}

START_TEST(request_waits_for_handshake_then_answered)
{
	struct world w;
	struct eim_coap_dtls_client_stats cs;

	world_up(&w, true, true, test_psk);
	/* made at once, while the handshake has only just started */
	ck_assert_int_eq(eim_coap_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_HANDSHAKING);
	post(&w, "hello");
	ck_assert_int_eq(w.status, 0);
	ck_assert_int_eq(w.code, EIM_COAP_CONTENT);
	ck_assert_str_eq(w.body, "device-1:hello");
	ck_assert(eim_coap_dtls_client_has_cid(w.cli));
	ck_assert_int_eq(w.n_states, 1);
	ck_assert_int_eq(w.states[0], EIM_DTLS_CLIENT_ESTABLISHED);
	post(&w, "again");
	ck_assert_str_eq(w.body, "device-1:again");
	eim_coap_dtls_client_stats(w.cli, &cs);
	ck_assert_uint_eq(cs.handshakes, 1);
	ck_assert_uint_eq(cs.requests, 2);
	ck_assert_uint_eq(cs.completed, 2);
	ck_assert_uint_eq(cs.failed, 0);
	ck_assert_uint_eq(cs.retransmissions, 0);
	ck_assert_uint_eq(server_stats(&w).handshakes_completed, 1);
	world_down(&w);
}
END_TEST

START_TEST(rebind_with_cid_keeps_session)
{
	struct world w;
	struct eim_coap_dtls_client_stats cs;
	int port0, port1;

	world_up(&w, true, true, test_psk);
	post(&w, "one");
	ck_assert_str_eq(w.body, "device-1:one");
	port0 = eim_coap_dtls_client_local_port(w.cli);
	ck_assert_int_gt(port0, 0);
	ck_assert_int_eq(eim_coap_dtls_client_rebind(w.cli), 0);
	port1 = eim_coap_dtls_client_local_port(w.cli);
	ck_assert_int_gt(port1, 0);
	ck_assert_int_ne(port0, port1);
	/* no handshake: the request goes out at once on the kept session */
	ck_assert_int_eq(eim_coap_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	post(&w, "two");
	ck_assert_int_eq(w.status, 0);
	ck_assert_str_eq(w.body, "device-1:two");
	ck_assert_uint_eq(server_stats(&w).handshakes_completed, 1);
	ck_assert_uint_eq(server_stats(&w).address_changes, 1);
	ck_assert_uint_eq(server_stats(&w).sessions, 1);
	/* and again from a third port */
	ck_assert_int_eq(eim_coap_dtls_client_rebind(w.cli), 0);
	post(&w, "three");
	ck_assert_str_eq(w.body, "device-1:three");
	ck_assert_uint_eq(server_stats(&w).handshakes_completed, 1);
	ck_assert_uint_eq(server_stats(&w).address_changes, 2);
	eim_coap_dtls_client_stats(w.cli, &cs);
	ck_assert_uint_eq(cs.handshakes, 1);
	ck_assert_uint_eq(cs.rebinds, 2);
	ck_assert_uint_eq(cs.retransmissions, 0);
	world_down(&w);
}
END_TEST

static void check_rebind_needs_handshake(bool server_cid, bool client_cid)
{
	struct world w;
	struct eim_coap_dtls_client_stats cs;

	world_up(&w, server_cid, client_cid, test_psk);
	post(&w, "one");
	ck_assert_str_eq(w.body, "device-1:one");
	ck_assert(!eim_coap_dtls_client_has_cid(w.cli));
	ck_assert_int_eq(eim_coap_dtls_client_rebind(w.cli), 0);
	ck_assert_int_eq(eim_coap_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_HANDSHAKING);
	post(&w, "two");
	ck_assert_int_eq(w.status, 0);
	ck_assert_str_eq(w.body, "device-1:two");
	ck_assert_uint_eq(server_stats(&w).handshakes_completed, 2);
	ck_assert_uint_eq(server_stats(&w).address_changes, 0);
	eim_coap_dtls_client_stats(w.cli, &cs);
	ck_assert_uint_eq(cs.handshakes, 2);
	ck_assert_int_eq(w.n_states, 2);
	ck_assert_int_eq(w.states[1], EIM_DTLS_CLIENT_ESTABLISHED);
	world_down(&w);
}

START_TEST(rebind_without_cid_handshakes_again)
{
	/* the server does not issue CIDs */
	check_rebind_needs_handshake(false, true);
	/* the client does not offer the extension */
	check_rebind_needs_handshake(true, false);
}
END_TEST

/* The generator rebinds from inside a response callback, while the old
 * socket is still delivering its batch: it must be closed only later. */
static void rebind_in_cb(void *ctx, int status,
			 const struct eim_coap_client_response *r)
{
	struct world *w = ctx;

	on_resp(ctx, status, r);
	ck_assert_int_eq(eim_coap_dtls_client_rebind(w->cli), 0);
	/* twice: the first new socket is not delivering and closes at once */
	ck_assert_int_eq(eim_coap_dtls_client_rebind(w->cli), 0);
}

START_TEST(rebind_from_callback)
{
	struct world w;
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/echo",
		.content_format = -1,
		.body = (const uint8_t *)"x",
		.body_len = 1,
		.cb = rebind_in_cb,
	};
	struct eim_coap_dtls_client_stats cs;

	world_up(&w, true, true, test_psk);
	rq.cb_ctx = &w;
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(eim_coap_dtls_client_request(w.cli, &rq), 0);
		eim_loop_timer_start(w.loop, &w.guard,
				     eim_loop_clock_ms() + 5000);
		ck_assert_int_eq(eim_loop_run(w.loop), 0);
		ck_assert_int_eq(w.done, i + 1);
		ck_assert_int_eq(w.status, 0);
		ck_assert_str_eq(w.body, "device-1:x");
	}
	post(&w, "after");
	ck_assert_str_eq(w.body, "device-1:after");
	eim_coap_dtls_client_stats(w.cli, &cs);
	ck_assert_uint_eq(cs.rebinds, 6);
	ck_assert_uint_eq(cs.handshakes, 1);
	ck_assert_uint_eq(server_stats(&w).handshakes_completed, 1);
	ck_assert_uint_eq(server_stats(&w).address_changes, 3);
	world_down(&w);
}
END_TEST

START_TEST(forced_rehandshake)
{
	struct world w;

	world_up(&w, true, true, test_psk);
	post(&w, "one");
	ck_assert_int_eq(eim_coap_dtls_client_rehandshake(w.cli), 0);
	ck_assert_int_eq(eim_coap_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_HANDSHAKING);
	post(&w, "two");
	ck_assert_str_eq(w.body, "device-1:two");
	ck_assert_uint_eq(server_stats(&w).handshakes_completed, 2);
	world_down(&w);
}
END_TEST

START_TEST(wrong_psk_fails)
{
	static const uint8_t bad[16] = {0xff};
	struct world w;
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/echo",
		.content_format = -1,
		.cb = on_resp,
	};
	struct eim_coap_dtls_client_stats cs;

	world_up(&w, true, true, bad);
	rq.cb_ctx = &w;
	ck_assert_int_eq(eim_coap_dtls_client_request(w.cli, &rq), 0);
	eim_loop_timer_start(w.loop, &w.guard, eim_loop_clock_ms() + 5000);
	ck_assert_int_eq(eim_loop_run(w.loop), 0);
	ck_assert_int_eq(w.n_states, 1);
	ck_assert_int_eq(w.states[0], EIM_DTLS_CLIENT_FAILED);
	ck_assert_int_eq(w.done, 0); /* the request still waits */
	eim_coap_dtls_client_stats(w.cli, &cs);
	ck_assert_uint_eq(cs.handshakes, 0);
	ck_assert_uint_eq(cs.handshakes_failed, 1);
	ck_assert_uint_eq(server_stats(&w).handshakes_completed, 0);
	world_down(&w);
}
END_TEST

START_TEST(bad_arguments)
{
	struct eim_loop *l;
	struct eim_coap_dtls_client *c = NULL;
	struct eim_dtls_client_config cc;

	ck_assert_int_eq(eim_loop_new(&l), 0);
	eim_dtls_client_config_init(&cc);
	ck_assert_int_eq(eim_coap_dtls_client_new(NULL, "127.0.0.1:1", &cc,
						  NULL, &c),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_coap_dtls_client_new(l, "not an address", &cc,
						  NULL, &c),
			 EIM_EINVAL);
	/* neither a PSK nor CAs */
	ck_assert_int_eq(eim_coap_dtls_client_new(l, "127.0.0.1:1", &cc, NULL,
						  &c),
			 EIM_EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(eim_coap_dtls_client_rebind(NULL), EIM_EINVAL);
	ck_assert_int_eq(eim_coap_dtls_client_request(NULL, NULL), EIM_EINVAL);
	eim_loop_free(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coap_dtls");
	TCase *tc = tcase_create("client");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, request_waits_for_handshake_then_answered);
	tcase_add_test(tc, rebind_with_cid_keeps_session);
	tcase_add_test(tc, rebind_without_cid_handshakes_again);
	tcase_add_test(tc, rebind_from_callback);
	tcase_add_test(tc, forced_rehandshake);
	tcase_add_test(tc, wrong_psk_fails);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
