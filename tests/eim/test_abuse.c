/*
 * Abuse tests that need no device simulator.
 *
 * Service (eim_service_handle over a real SQLite file, the way the CoAP
 * route calls it, SGP.32 section 6.3): a device's PSK identity cannot read,
 * answer, refuse or notify for another device's packages; a replayed result
 * changes nothing; a replayed poll after completion does not resend the old
 * package; inputs found by fuzz_service stay fixed.
 * (Fetching another device's queue is also covered by test_service
 * other_device_identity_is_forbidden.)
 *
 * CoAP server engine (RFC 7252 4.5 deduplication, RFC 7959 block-wise):
 * a retransmitted CON runs the handler once (tests/transport/test_coap_server
 * retransmitted_con_runs_handler_once covers the engine alone; here it is
 * checked with the service behind it); oversized and endless Block1 bodies
 * are refused with 4.13 / 5.03 and the state stays within the configured
 * limits while thousands of peers push them; a device polling as fast as
 * it can keeps one peer's worth of state; other peers are still served.
 * The figures (allocations through eim_alloc, peak RSS) are printed; the
 * assertions are on the engine's own bounded state, which does not depend
 * on the allocator or sanitizer in use.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "eim/eim_service.h"
#include "eim_test.h"
#include "proto/eim_epr.h"
#include "proto/eim_esipa.h"
#include "proto/eim_sig.h"
#include "store/eim_store.h"
#include "transport/eim_coap_msg.h"
#include "transport/eim_coap_server.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define EID1 "89049032123451234512345678901235"
#define EID2 "89044045116727494800000004479366"

static const char *dir;
static char db_path[512];
static struct eim_store *st;
static struct eim_service *svc;
static uint8_t eid1[16], eid2[16];

/* A queued package whose bytes are a fixed element, txid 01. */
static int fake_sign(void *ctx, const struct eim_store_sign_in *in,
		     struct eim_store_sign_out *out)
{
	static const uint8_t elem[] = {0xBF, 0x52, 0x03, 0x5C, 0x01, 0xA6};
	(void)ctx;
	(void)in;
	eim_buf_append(out->bytes, elem, sizeof(elem));
	out->txid[0] = 1;
	out->txid_len = 1;
	return out->bytes->err;
}

static void add_device(const uint8_t eid[16], const char *psk_id)
{
	struct eim_store_device_new d;
	static const uint8_t key[16] = {1, 2, 3};

	memset(&d, 0, sizeof(d));
	memcpy(d.eid, eid, 16);
	d.eim_id = "eim-one";
	d.psk_identity = (const uint8_t *)psk_id;
	d.psk_identity_len = strlen(psk_id);
	d.psk_key = key;
	d.psk_key_len = sizeof(key);
	ck_assert_int_eq(eim_store_device_add(st, &d), 0);
}

static uint8_t handle(const char *psk_id, const uint8_t *body, size_t len,
		      struct eim_buf *resp)
{
	struct eim_service_peer peer = {0};
	uint8_t code = 0;

	if (psk_id) {
		peer.kind = EIM_STORE_CRED_PSK;
		peer.ident = (const uint8_t *)psk_id;
		peer.ident_len = strlen(psk_id);
	}
	peer.addr = "192.0.2.7:5684";
	eim_buf_reset(resp);
	ck_assert_int_eq(eim_service_handle(svc, &peer, body, len, resp, &code),
			 0);
	return code;
}

static void get_request(const uint8_t eid[16], struct eim_buf *out)
{
	struct eim_esipa_from_ipa m;

	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	memcpy(m.get.eid, eid, 16);
	eim_buf_reset(out);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, out), 0);
}

/* A signed result for counter 1 / txid 01 (dev-one's package), or the
 * unsigned error form (the eUICC refused it), wrapped as a
 * provideEimPackageResult (eid may be NULL: no eidValue) or, with
 * as_notification, as handleNotification. */
static const char *result_eim_id = "eim-one";

static void result_msg(const uint8_t *eid, bool unsigned_error,
		       bool as_notification, struct eim_buf *out)
{
	static const uint8_t txid[1] = {1};
	struct eim_epr_result r = {.tag = EIM_RES_ENABLE, .code = 0};
	struct eim_sig_key *k = NULL;
	struct eim_esipa_from_ipa m;
	struct eim_esipa_result *res;
	struct eim_buf epr;
	struct eim_epr e;

	memset(&e, 0, sizeof(e));
	e.kind =
		unsigned_error ? EIM_EPR_ERROR_UNSIGNED : EIM_EPR_RESULT_SIGNED;
	e.eim_id.p = (const uint8_t *)result_eim_id;
	e.eim_id.len = strlen(result_eim_id);
	e.counter = 1;
	e.txid.p = txid;
	e.txid.len = 1;
	e.seq = 5;
	e.error_code = unsigned_error ? 1 : 0;
	e.results = &r;
	e.n_results = 1;
	eim_buf_init(&epr);
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	ck_assert_int_eq(eim_epr_encode(&e, 0, k, &epr), 0);
	memset(&m, 0, sizeof(m));
	if (as_notification) {
		m.tag = EIM_ESIPA_HANDLE_NOTIFICATION;
		m.notification.kind = EIM_NOTIF_PROVIDE_RESULT;
		res = &m.notification.result;
	} else {
		m.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
		res = &m.result;
	}
	res->has_eid = eid != NULL;
	if (eid)
		memcpy(res->eid, eid, 16);
	res->kind = EIM_RESULT_EPR;
	res->body.p = epr.p;
	res->body.len = epr.len;
	eim_buf_reset(out);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, out), 0);
	eim_sig_key_free(k);
	eim_buf_done(&epr);
}

/* Rows of one table for one device, read through a separate connection. */
static int rows(const char *table, const uint8_t eid[16], const char *extra)
{
	char sql[256];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int n = -1;

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM %s t JOIN device d ON d.id = t.device_id"
		 " WHERE d.eid = ?1 %s",
		 table, extra ? extra : "");
	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY,
					 NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_blob(q, 1, eid, 16, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static int audit_count(const char *where)
{
	char sql[256];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE %s",
		 where);
	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY,
					 NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static void setup(void)
{
	struct eim_store_identity id = {.eim_id = "eim-one",
					.key_ref = "/nonexistent"};
	struct eim_store_enqueue_req rq;
	struct eim_store_enqueued done;
	struct eim_store_options opt;
	struct eim_buf req, resp;

	eim_log_set_level(EIM_LOG_ERROR);
	dir = eim_test_tmpdir();
	snprintf(db_path, sizeof(db_path), "%s/eim.db", dir);
	eim_store_options_init(&opt);
	opt.synchronous = EIM_STORE_SYNC_NORMAL;
	ck_assert_int_eq(eim_store_open(db_path, &opt, &st), 0);
	ck_assert_int_eq(eim_store_identity_add(st, &id), 0);
	ck_assert_int_eq(eim_store_eid_parse(EID1, eid1), 0);
	ck_assert_int_eq(eim_store_eid_parse(EID2, eid2), 0);
	add_device(eid1, "dev-one");
	add_device(eid2, "dev-two");
	memset(&rq, 0, sizeof(rq));
	memcpy(rq.eid, eid1, 16);
	rq.kind = "euicc-data";
	rq.summary = "[]";
	ck_assert_int_eq(eim_store_enqueue(st, &rq, fake_sign, NULL, &done), 0);
	ck_assert_uint_eq(done.counter, 1);
	ck_assert_int_eq(eim_service_new(st, NULL, &svc), 0);
	/* dev-one's package is in flight */
	eim_buf_init(&req);
	eim_buf_init(&resp);
	get_request(eid1, &req);
	ck_assert_uint_eq(handle("dev-one", req.p, req.len, &resp), 0x44);
	ck_assert_int_eq(rows("package", eid1, "AND state = 1"), 1);
	eim_buf_done(&req);
	eim_buf_done(&resp);
}

static void teardown(void)
{
	eim_service_free(svc);
	eim_store_close(st);
	eim_test_rmdir(dir);
}

/* dev-one's package still in flight, nothing recorded for it. */
static void dev_one_untouched(void)
{
	ck_assert_int_eq(rows("package", eid1, "AND state = 1"), 1);
	ck_assert_int_eq(rows("result", eid1, NULL), 0);
	ck_assert_int_eq(rows("notification", eid1, NULL), 0);
}

START_TEST(other_identity_cannot_answer_or_refuse)
{
	struct eim_buf msg, resp;

	eim_buf_init(&msg);
	eim_buf_init(&resp);
	/* dev-two answers dev-one's package: a signed result... */
	result_msg(eid1, false, false, &msg);
	ck_assert_uint_eq(handle("dev-two", msg.p, msg.len, &resp), 0x83);
	/* ...the unsigned error that would end it as refused... */
	result_msg(eid1, true, false, &msg);
	ck_assert_uint_eq(handle("dev-two", msg.p, msg.len, &resp), 0x83);
	/* ...and the same through handleNotification */
	result_msg(eid1, false, true, &msg);
	ck_assert_uint_eq(handle("dev-two", msg.p, msg.len, &resp), 0x83);
	/* an identity the store does not know */
	result_msg(eid1, true, false, &msg);
	ck_assert_uint_eq(handle("stranger", msg.p, msg.len, &resp), 0x83);
	dev_one_untouched();
	ck_assert_int_eq(audit_count("action = 'denied'"), 4);
	eim_buf_done(&msg);
	eim_buf_done(&resp);
}
END_TEST

START_TEST(result_without_eid_is_the_callers)
{
	struct eim_buf msg, resp;

	eim_buf_init(&msg);
	eim_buf_init(&resp);
	/* dev-two copies dev-one's counter and txid but leaves the EID out:
	 * it can only speak for its own EID, which has no such package */
	result_msg(NULL, false, false, &msg);
	handle("dev-two", msg.p, msg.len, &resp);
	result_msg(NULL, true, true, &msg);
	handle("dev-two", msg.p, msg.len, &resp);
	dev_one_untouched();
	ck_assert_int_eq(rows("package", eid2, NULL), 0);
	eim_buf_done(&msg);
	eim_buf_done(&resp);
}
END_TEST

START_TEST(other_identity_cannot_read)
{
	struct eim_buf req, resp;

	eim_buf_init(&req);
	eim_buf_init(&resp);
	get_request(eid1, &req);
	ck_assert_uint_eq(handle("dev-two", req.p, req.len, &resp), 0x83);
	/* the answer says no more than that */
	ck_assert_ptr_null(memmem(resp.p, resp.len, "\xbf\x52", 2));
	ck_assert_int_eq(rows("package", eid1, "AND attempts = 1"), 1);
	eim_buf_done(&req);
	eim_buf_done(&resp);
}
END_TEST

START_TEST(notification_lands_on_the_callers_device)
{
	/* BF3D { BF37 ProfileInstallationResult } */
	static const uint8_t msg[] = {0xBF, 0x3D, 0x06, 0xBF, 0x37,
				      0x03, 0xBF, 0x27, 0x00};
	struct eim_buf resp;

	eim_buf_init(&resp);
	ck_assert_uint_eq(handle("dev-two", msg, sizeof(msg), &resp), 0x44);
	ck_assert_int_eq(rows("notification", eid2, NULL), 1);
	ck_assert_int_eq(rows("notification", eid1, NULL), 0);
	eim_buf_done(&resp);
}
END_TEST

START_TEST(replayed_result_changes_nothing)
{
	struct eim_buf msg, resp, first, req;

	eim_buf_init(&msg);
	eim_buf_init(&resp);
	eim_buf_init(&first);
	eim_buf_init(&req);
	result_msg(eid1, false, false, &msg);
	ck_assert_uint_eq(handle("dev-one", msg.p, msg.len, &resp), 0x44);
	eim_buf_append(&first, resp.p, resp.len);
	ck_assert_int_eq(rows("package", eid1, "AND state = 2"), 1);
	/* BF50 { BF53 { 80 01 05 } } the first time */
	static const uint8_t ack5[] = {0xBF, 0x50, 0x06, 0xBF, 0x53,
				       0x03, 0x80, 0x01, 0x05};
	ck_assert_uint_eq(first.len, sizeof(ack5));
	ck_assert_mem_eq(first.p, ack5, sizeof(ack5));
	for (int i = 0; i < 5; i++) {
		/* the same bytes again, as a new request: stored once, and
		 * acknowledged again (the first acknowledgement may have been
		 * lost; without one the device would resend it forever) */
		ck_assert_uint_eq(handle("dev-one", msg.p, msg.len, &resp),
				  0x44);
		ck_assert_uint_eq(resp.len, sizeof(ack5));
		ck_assert_mem_eq(resp.p, ack5, sizeof(ack5));
	}
	ck_assert_int_eq(rows("result", eid1, NULL), 1);
	ck_assert_int_eq(rows("package", eid1, "AND state = 2"), 1);
	/* a replayed poll does not bring the finished package back */
	static const uint8_t none[] = {0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01};
	get_request(eid1, &req);
	ck_assert_uint_eq(handle("dev-one", req.p, req.len, &resp), 0x44);
	ck_assert_uint_eq(resp.len, sizeof(none));
	ck_assert_mem_eq(resp.p, none, sizeof(none));
	eim_buf_done(&msg);
	eim_buf_done(&resp);
	eim_buf_done(&first);
	eim_buf_done(&req);
}
END_TEST

/*
 * fuzz_service finding: a provideEimPackageResult for an EID the store does
 * not know, over plain CoAP (no identity check), made the handler fail with
 * EIM_ENOTFOUND (a 5.00). It is the caller's mistake: 4.00, nothing stored.
 * The bytes are the fuzzer's input without its caller byte.
 */
START_TEST(fuzz_result_for_unknown_eid_is_bad_request)
{
	static const char hex[] =
		"bf50818d5a1089049032123451234512347856901235bf5478a276303180"
		"0765696d2d6f6e65810101820101830105301d0a98103254bf2d10a00ee3"
		"0c5a0a981032547698103254f6a8038401075f37407e6e503feeda89d1ae"
		"555edc356835aee57823cd5723f73ddb37cade32e1ae3146980800bf893d"
		"41ccc7c7c767879b68236213ff4c73ccffffffffc7891d52f2";
	uint8_t b[sizeof(hex) / 2];
	size_t n = 0;
	struct eim_buf resp;

	ck_assert_int_eq(eim_hex_decode(hex, strlen(hex), b, sizeof(b), &n), 0);
	eim_buf_init(&resp);
	ck_assert_uint_eq(handle(NULL, b, n, &resp), 0x80);
	eim_buf_append_byte(&resp, 0);
	ck_assert_str_eq((const char *)resp.p, "unknown EID");
	/* the same for a well-formed result and an IpaEuiccData answer */
	uint8_t unknown[16];
	memcpy(unknown, eid1, 16);
	unknown[15] ^= 0x01;
	struct eim_buf msg;
	eim_buf_init(&msg);
	result_msg(unknown, false, false, &msg);
	ck_assert_uint_eq(handle(NULL, msg.p, msg.len, &resp), 0x80);
	dev_one_untouched();
	eim_buf_done(&msg);
	eim_buf_done(&resp);
}
END_TEST

/*
 * fuzz_service finding: an eimId with a carriage return in a device's
 * result reached a log line (and, through a refusal, could reach the audit
 * trail) verbatim. Such an eimId matches no identity: 4.00, nothing stored,
 * no audit entry quoting it.
 */
START_TEST(fuzz_eim_id_with_control_bytes_is_bad_request)
{
	static const char *const bad[] = {"e:m\rone", "eim-one\n", "\x1b[2J"};
	struct eim_buf msg, resp;

	eim_buf_init(&msg);
	eim_buf_init(&resp);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		result_eim_id = bad[i];
		result_msg(eid1, false, false, &msg);
		result_eim_id = "eim-one";
		ck_assert_uint_eq(handle("dev-one", msg.p, msg.len, &resp),
				  0x80);
		eim_buf_append_byte(&resp, 0);
		ck_assert_str_eq((const char *)resp.p,
				 "eimId contains control characters");
	}
	dev_one_untouched();
	ck_assert_int_eq(audit_count("instr(detail, char(13)) OR "
				     "instr(detail, char(10)) OR "
				     "instr(detail, char(27))"),
			 0);
	eim_buf_done(&msg);
	eim_buf_done(&resp);
}
END_TEST

/* ---- the CoAP engine with the service behind it -------------------------- */

static int svc_route(void *ctx, const struct eim_coap_request *req,
		     struct eim_coap_response *resp)
{
	struct eim_service_peer peer = {0};
	uint8_t code = 0;
	int rc;

	(void)ctx;
	if (req->identity_len) {
		peer.kind = EIM_STORE_CRED_PSK;
		peer.ident = req->identity;
		peer.ident_len = req->identity_len;
	}
	rc = eim_service_handle(svc, &peer, req->body, req->body_len,
				&resp->body, &code);
	resp->code = code;
	return rc;
}

static int calls;
static int counting_route(void *ctx, const struct eim_coap_request *req,
			  struct eim_coap_response *resp)
{
	calls++;
	return svc_route(ctx, req, resp);
}

static const struct eim_coap_route routes[] = {
	{EIM_COAP_POST, "/gsma/rsp2/asn1", counting_route, NULL},
};

struct sink {
	uint64_t n;
	uint8_t last_code;
	uint8_t last[2048];
	size_t last_len;
};

static int sink_send(void *ctx, const uint8_t *d, size_t n)
{
	struct sink *s = ctx;
	struct eim_coap_msg m;

	s->n++;
	if (n <= sizeof(s->last)) {
		memcpy(s->last, d, n);
		s->last_len = n;
	}
	if (eim_coap_msg_parse(d, n, &m) == 0)
		s->last_code = m.code;
	return 0;
}

static size_t post(uint8_t *buf, size_t cap, uint16_t mid, bool block1,
		   uint32_t num, bool more, bool size1, uint32_t size1v,
		   const uint8_t *body, size_t len)
{
	static const uint8_t tok[] = {9, 9};
	struct eim_coap_writer w;
	size_t n = 0;

	eim_coap_writer_init(&w, buf, cap, EIM_COAP_CON, EIM_COAP_POST, mid,
			     tok, sizeof(tok));
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "/gsma/rsp2/asn1");
	if (block1)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_BLOCK1,
					 eim_coap_block_encode(num, more, 6));
	if (size1)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_SIZE1, size1v);
	eim_coap_writer_payload(&w, body, len);
	ck_assert_int_eq(eim_coap_writer_finish(&w, &n), 0);
	return n;
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

START_TEST(retransmitted_result_runs_the_service_once)
{
	struct eim_coap_server *srv = NULL;
	struct eim_buf msg;
	struct sink s = {0};
	uint8_t dg[1500], first[2048];
	size_t n, first_len;
	struct eim_coap_peer p = {.key = (const uint8_t *)"p1",
				  .key_len = 2,
				  .identity = (const uint8_t *)"dev-one",
				  .identity_len = 7,
				  .send = sink_send,
				  .send_ctx = &s};

	ck_assert_int_eq(eim_coap_server_new(NULL, routes, 1, &srv), 0);
	eim_buf_init(&msg);
	result_msg(eid1, false, false, &msg);
	n = post(dg, sizeof(dg), 77, false, 0, false, false, 0, msg.p, msg.len);
	calls = 0;
	ck_assert_int_eq(eim_coap_server_input(srv, &p, dg, n, 1000), 0);
	ck_assert_uint_eq(s.last_code, EIM_COAP_CHANGED);
	memcpy(first, s.last, s.last_len);
	first_len = s.last_len;
	for (int i = 1; i <= 4; i++) {
		ck_assert_int_eq(eim_coap_server_input(srv, &p, dg, n,
						       1000 + 2000u * i),
				 0);
		ck_assert_uint_eq(s.last_len, first_len);
		ck_assert_mem_eq(s.last, first, first_len);
	}
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(rows("result", eid1, NULL), 1);
	eim_coap_server_free(srv);
	eim_buf_done(&msg);
}
END_TEST

START_TEST(endless_and_oversized_bodies_stay_bounded)
{
	struct eim_coap_server_config cfg;
	struct eim_coap_server *srv = NULL;
	struct eim_coap_server_stats ss;
	struct sink s = {0};
	uint8_t blk[1024], dg[1500];
	char key[32];
	size_t n;
	const int peers = 5000;
	unsigned long allocs0, allocs_warm, allocs_end;
	long rss0, rss_warm, rss_end;
	uint64_t refused = 0, too_large = 0;

	memset(blk, 0xA5, sizeof(blk));
	eim_coap_server_config_default(&cfg);
	cfg.max_peers = 1024;
	ck_assert_int_eq(eim_coap_server_new(&cfg, routes, 1, &srv), 0);
	rss0 = peak_rss_kb();
	allocs0 = eim_alloc_count();

	/* 1. one peer announces a 10 MB body: refused at once, 4.13 */
	struct eim_coap_peer p = {.key = (const uint8_t *)"big",
				  .key_len = 3,
				  .send = sink_send,
				  .send_ctx = &s};
	n = post(dg, sizeof(dg), 1, true, 0, true, true, 10u << 20, blk,
		 sizeof(blk));
	ck_assert_int_eq(eim_coap_server_input(srv, &p, dg, n, 10), 0);
	ck_assert_uint_eq(s.last_code, EIM_COAP_REQUEST_ENTITY_TOO_LARGE);

	/* 2. one peer sends blocks forever: 4.13 once max_body is passed,
	 * and its reassembly is gone */
	uint32_t num;
	for (num = 0; num < 1000; num++) {
		n = post(dg, sizeof(dg), (uint16_t)(100 + num), true, num, true,
			 false, 0, blk, sizeof(blk));
		ck_assert_int_eq(eim_coap_server_input(srv, &p, dg, n, 20), 0);
		if (s.last_code != EIM_COAP_CONTINUE)
			break;
	}
	ck_assert_uint_eq(s.last_code, EIM_COAP_REQUEST_ENTITY_TOO_LARGE);
	ck_assert_uint_le((size_t)num * sizeof(blk), cfg.max_body);
	eim_coap_server_stats(srv, &ss);
	ck_assert_uint_eq(ss.reassemblies, 0);

	/* 3. a block out of order: 4.08 */
	n = post(dg, sizeof(dg), 5000, true, 3, true, false, 0, blk,
		 sizeof(blk));
	ck_assert_int_eq(eim_coap_server_input(srv, &p, dg, n, 30), 0);
	ck_assert_uint_eq(s.last_code, EIM_COAP_REQUEST_ENTITY_INCOMPLETE);

	/* 4. thousands of peers each start a body and never finish it */
	allocs_warm = eim_alloc_count();
	rss_warm = peak_rss_kb();
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < peers; i++) {
			struct eim_coap_peer q = p;
			snprintf(key, sizeof(key), "peer-%d", i);
			q.key = (const uint8_t *)key;
			q.key_len = strlen(key);
			for (uint32_t b = 0; b < 2; b++) {
				n = post(dg, sizeof(dg),
					 (uint16_t)(round * 4 + b), true, b,
					 true, false, 0, blk, sizeof(blk));
				ck_assert_int_eq(
					eim_coap_server_input(srv, &q, dg, n,
							      1000 + round),
					0);
				if (s.last_code == EIM_COAP_SERVICE_UNAVAILABLE)
					refused++;
				if (s.last_code ==
				    EIM_COAP_REQUEST_ENTITY_TOO_LARGE)
					too_large++;
			}
			eim_coap_server_stats(srv, &ss);
			ck_assert_uint_le(ss.reassemblies,
					  cfg.max_reassemblies);
			ck_assert_uint_le(ss.peers, cfg.max_peers);
		}
	}
	ck_assert_uint_gt(refused, 0); /* the excess was turned away */
	allocs_end = eim_alloc_count();
	rss_end = peak_rss_kb();

	/* 5. a real device is still served, and once the reassembly
	 * lifetime passes the abandoned bodies are gone */
	struct eim_buf req;
	struct eim_coap_peer good = {.key = (const uint8_t *)"good",
				     .key_len = 4,
				     .identity = (const uint8_t *)"dev-two",
				     .identity_len = 7,
				     .send = sink_send,
				     .send_ctx = &s};
	eim_buf_init(&req);
	get_request(eid2, &req);
	n = post(dg, sizeof(dg), 1, false, 0, false, false, 0, req.p, req.len);
	ck_assert_int_eq(eim_coap_server_input(srv, &good, dg, n, 2000), 0);
	ck_assert_uint_eq(s.last_code, EIM_COAP_CHANGED);
	eim_coap_server_tick(srv, 2000 + cfg.reassembly_lifetime_ms + 1);
	eim_coap_server_stats(srv, &ss);
	ck_assert_uint_eq(ss.reassemblies, 0);

	fprintf(stderr,
		"block-wise abuse: %d peers x 4 rounds x 2 blocks of %zu "
		"bytes; %llu answers 5.03, %llu answers 4.13; eim_alloc "
		"allocations: %lu to warm up, %lu during the flood "
		"(%.2f per request); peak RSS %ld kB at start, %ld kB warm, "
		"%ld kB after the flood\n",
		peers, sizeof(blk), (unsigned long long)refused,
		(unsigned long long)too_large, allocs_warm - allocs0,
		allocs_end - allocs_warm,
		(double)(allocs_end - allocs_warm) / (peers * 8.0), rss0,
		rss_warm, rss_end);
	eim_buf_done(&req);
	eim_coap_server_free(srv);
}
END_TEST

START_TEST(request_flood_from_one_device_stays_bounded)
{
	struct eim_coap_server *srv = NULL;
	struct eim_coap_server_stats ss;
	struct sink s = {0};
	struct eim_buf req;
	uint8_t dg[1500];
	size_t n;
	const int flood = 5000;
	unsigned long allocs0;
	long rss0;
	struct eim_coap_peer p = {.key = (const uint8_t *)"dev-one-session",
				  .key_len = 15,
				  .identity = (const uint8_t *)"dev-one",
				  .identity_len = 7,
				  .send = sink_send,
				  .send_ctx = &s};
	struct eim_coap_peer other = p;

	other.key = (const uint8_t *)"dev-two-session";
	other.identity = (const uint8_t *)"dev-two";
	ck_assert_int_eq(eim_coap_server_new(NULL, routes, 1, &srv), 0);
	eim_buf_init(&req);
	get_request(eid1, &req);
	rss0 = peak_rss_kb();
	allocs0 = eim_alloc_count();
	calls = 0;
	/* an authenticated device polls as fast as it can, every message
	 * new (a retransmission would be answered from the cache) */
	for (int i = 0; i < flood; i++) {
		n = post(dg, sizeof(dg), (uint16_t)i, false, 0, false, false, 0,
			 req.p, req.len);
		ck_assert_int_eq(eim_coap_server_input(srv, &p, dg, n,
						       (uint64_t)i),
				 0);
		ck_assert_uint_eq(s.last_code, EIM_COAP_CHANGED);
	}
	ck_assert_int_eq(calls, flood);
	eim_coap_server_stats(srv, &ss);
	ck_assert_uint_eq(ss.peers, 1);
	/* it got the same package every time, and nothing moved */
	ck_assert_int_eq(rows("package", eid1, "AND state = 1"), 1);
	/* the other device is served as usual */
	get_request(eid2, &req);
	n = post(dg, sizeof(dg), 1, false, 0, false, false, 0, req.p, req.len);
	ck_assert_int_eq(eim_coap_server_input(srv, &other, dg, n, flood), 0);
	ck_assert_uint_eq(s.last_code, EIM_COAP_CHANGED);
	fprintf(stderr,
		"request flood: %d polls from one device; eim_alloc "
		"allocations %.2f per request; peak RSS %ld kB before, %ld kB "
		"after\n",
		flood, (double)(eim_alloc_count() - allocs0) / flood, rss0,
		peak_rss_kb());
	eim_buf_done(&req);
	eim_coap_server_free(srv);
}
END_TEST

static Suite *abuse_suite(void)
{
	Suite *s = suite_create("abuse");
	TCase *a = tcase_create("service");
	TCase *c = tcase_create("coap");

	tcase_add_checked_fixture(a, setup, teardown);
	tcase_add_test(a, other_identity_cannot_answer_or_refuse);
	tcase_add_test(a, result_without_eid_is_the_callers);
	tcase_add_test(a, other_identity_cannot_read);
	tcase_add_test(a, notification_lands_on_the_callers_device);
	tcase_add_test(a, replayed_result_changes_nothing);
	tcase_add_test(a, fuzz_result_for_unknown_eid_is_bad_request);
	tcase_add_test(a, fuzz_eim_id_with_control_bytes_is_bad_request);
	suite_add_tcase(s, a);
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_set_timeout(c, 300);
	tcase_add_test(c, retransmitted_result_runs_the_service_once);
	tcase_add_test(c, endless_and_oversized_bodies_stay_bounded);
	tcase_add_test(c, request_flood_from_one_device_stays_bounded);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(abuse_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
