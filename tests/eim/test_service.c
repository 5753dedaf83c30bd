/*
 * Handler-level tests of eim_service: identity binding, malformed input and
 * the relay functions, on a real SQLite file, calling eim_service_handle()
 * the way the CoAP route does (the end-to-end identity test over DTLS comes
 * with the DTLS transport).
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim/eim_service.h"
#include "eim_test.h"
#include "proto/eim_epr.h"
#include "proto/eim_esipa.h"
#include "proto/eim_ids.h"
#include "proto/eim_sig.h"
#include "store/eim_store.h"

#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define EID1 "89049032123451234512345678901235"
#define EID2 "89044045116727494800000004479366"

static const char *dir;
static struct eim_store *st;
static struct eim_service *svc;
static int64_t now_ms = 1800000000000; /* the store's clock (tests move it) */

static int64_t test_clock(void *ctx)
{
	(void)ctx;
	return now_ms;
}

/* A queued package whose bytes are a fixed element (no signing needed). */
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

static void add_device(const char *eid_text, const char *psk_id)
{
	struct eim_store_device_new d;
	static const uint8_t key[16] = {1, 2, 3};

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(eim_store_eid_parse(eid_text, d.eid), 0);
	d.eim_id = "eim-one";
	d.psk_identity = (const uint8_t *)psk_id;
	d.psk_identity_len = strlen(psk_id);
	d.psk_key = key;
	d.psk_key_len = sizeof(key);
	ck_assert_int_eq(eim_store_device_add(st, &d), 0);
}

static void setup(void)
{
	char path[512];
	struct eim_store_identity id = {.eim_id = "eim-one",
					.key_ref = "/nonexistent"};
	struct eim_store_enqueue_req rq;
	struct eim_store_enqueued done;

	dir = eim_test_tmpdir();
	snprintf(path, sizeof(path), "%s/eim.db", dir);
	struct eim_store_options opt;
	eim_store_options_init(&opt);
	opt.synchronous = EIM_STORE_SYNC_NORMAL;
	opt.clock = test_clock;
	ck_assert_int_eq(eim_store_open(path, &opt, &st), 0);
	ck_assert_int_eq(eim_store_identity_add(st, &id), 0);
	add_device(EID1, "dev-one");
	add_device(EID2, "dev-two");
	memset(&rq, 0, sizeof(rq));
	ck_assert_int_eq(eim_store_eid_parse(EID1, rq.eid), 0);
	rq.kind = "euicc-data";
	rq.summary = "[]";
	ck_assert_int_eq(eim_store_enqueue(st, &rq, fake_sign, NULL, &done), 0);
	ck_assert_int_eq(eim_service_new(st, NULL, &svc), 0);
}

static void teardown(void)
{
	eim_service_free(svc);
	eim_store_close(st);
	eim_test_rmdir(dir);
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
		peer.addr = "192.0.2.7:5684";
	}
	eim_buf_reset(resp);
	ck_assert_int_eq(eim_service_handle(svc, &peer, body, len, resp, &code),
			 0);
	return code;
}

static void get_request(const char *eid_text, struct eim_buf *out)
{
	struct eim_esipa_from_ipa m;

	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	ck_assert_int_eq(eim_store_eid_parse(eid_text, m.get.eid), 0);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, out), 0);
}

static int count_state(int state)
{
	uint64_t c[EIM_STORE_STATE_COUNT];
	ck_assert_int_eq(eim_store_package_counts(st, NULL, c), 0);
	return (int)c[state];
}

struct audit_find {
	const char *action;
	int n;
	char detail[256];
};

static int audit_cb(void *ctx, const struct eim_store_audit *a)
{
	struct audit_find *f = ctx;
	if (strcmp(a->action, f->action) == 0) {
		f->n++;
		snprintf(f->detail, sizeof(f->detail), "%s",
			 a->detail ? a->detail : "");
	}
	return 0;
}

START_TEST(other_device_identity_is_forbidden)
{
	struct eim_buf req, resp;
	struct eim_store_filter f;
	struct audit_find af = {"denied", 0, ""};

	eim_buf_init(&req);
	eim_buf_init(&resp);
	get_request(EID1, &req);
	/* dev-two asks for dev-one's queue */
	ck_assert_uint_eq(handle("dev-two", req.p, req.len, &resp), 0x83);
	ck_assert_uint_eq(resp.len, strlen("this identity may not act for "
					   "this EID"));
	ck_assert_int_eq(count_state(EIM_STORE_QUEUED), 1);
	ck_assert_int_eq(count_state(EIM_STORE_SENT), 0);
	/* an unknown identity too */
	ck_assert_uint_eq(handle("nobody", req.p, req.len, &resp), 0x83);
	eim_store_filter_init(&f);
	ck_assert_int_eq(eim_store_audit_list(st, &f, audit_cb, &af), 0);
	ck_assert_int_eq(af.n, 2);
	ck_assert_msg(strstr(af.detail, "'nobody' from 192.0.2.7:5684"), "%s",
		      af.detail);

	/* dev-one itself gets its package */
	ck_assert_uint_eq(handle("dev-one", req.p, req.len, &resp), 0x44);
	ck_assert_uint_eq(resp.p[0], 0xBF);
	ck_assert_uint_eq(resp.p[1], 0x4F);
	ck_assert_uint_eq(resp.p[3], 0xBF); /* the BF52 element inside */
	ck_assert_uint_eq(resp.p[4], 0x52);
	ck_assert_int_eq(count_state(EIM_STORE_SENT), 1);

	/* dev-two asking for its own (empty) queue: noEimPackageAvailable */
	eim_buf_reset(&req);
	get_request(EID2, &req);
	ck_assert_uint_eq(handle("dev-two", req.p, req.len, &resp), 0x44);
	static const uint8_t none[] = {0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01};
	ck_assert_uint_eq(resp.len, sizeof(none));
	ck_assert_mem_eq(resp.p, none, sizeof(none));
	eim_buf_done(&req);
	eim_buf_done(&resp);
}
END_TEST

START_TEST(malformed_and_unknown_change_nothing)
{
	struct eim_buf resp;
	static const struct {
		const char *hex;
		const char *msg;
	} bad[] = {
		{"", "malformed"},
		{"00", "malformed ESipa message at byte 1"},
		{"3000", "not an ESipa message"},
		{"bf4f", "malformed ESipa message at byte"},
		{"bf4f125a10", "malformed ESipa message at byte"},
		{"bf4f0530030201ff", "malformed"},
		{"bf51035a0100", "not an ESipa message"},
		{"bf4e0302017f", "not supported"},
	};

	eim_buf_init(&resp);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[64];
		size_t n = 0;
		ck_assert_int_eq(eim_hex_decode(bad[i].hex, strlen(bad[i].hex),
						b, sizeof(b), &n),
				 0);
		ck_assert_uint_eq(handle("dev-one", b, n, &resp), 0x80);
		eim_buf_append_byte(&resp, 0);
		ck_assert_msg(strstr((char *)resp.p, bad[i].msg),
			      "%s: '%s' lacks '%s'", bad[i].hex, resp.p,
			      bad[i].msg);
	}
	ck_assert_int_eq(count_state(EIM_STORE_QUEUED), 1);
	eim_buf_done(&resp);
}
END_TEST

START_TEST(relay_functions_answer_undefined_error)
{
	struct eim_buf resp;
	static const struct {
		const char *req;
		const char *resp;
	} v[] = {
		/* InitiateAuthenticationRequestEsipa (content irrelevant) */
		{"bf3903800101", "bf39038101"
				 "7f"},
		{"bf3b03800101", "bf3b038201"
				 "7f"},
		{"bf3a03800101", "bf3a038101"
				 "7f"},
		{"bf4103800101", "bf41038101"
				 "7f"},
	};

	eim_buf_init(&resp);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t b[16], want[16];
		size_t n = 0, wn = 0;
		eim_hex_decode(v[i].req, strlen(v[i].req), b, sizeof(b), &n);
		eim_hex_decode(v[i].resp, strlen(v[i].resp), want, sizeof(want),
			       &wn);
		ck_assert_uint_eq(handle("dev-one", b, n, &resp), 0x44);
		ck_assert_uint_eq(resp.len, wn);
		ck_assert_mem_eq(resp.p, want, wn);
	}
	eim_buf_done(&resp);
}
END_TEST

/* Writes a fresh P-256 key as PEM and points eim-one at it. */
static void give_identity_a_key(void)
{
	struct eim_sig_key *k = NULL;
	struct eim_buf der, pem;
	char path[600];

	snprintf(path, sizeof(path), "%s/k.pem", dir);
	eim_buf_init(&der);
	eim_buf_init(&pem);
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	ck_assert_int_eq(eim_sig_key_sec1(k, &der), 0);
	ck_assert_int_eq(eim_pem_encode("EC PRIVATE KEY", der.p, der.len, &pem),
			 0);
	FILE *f = fopen(path, "wb");
	fwrite(pem.p, 1, pem.len, f);
	fclose(f);
	struct eim_store_identity id = {.eim_id = "eim-one", .key_ref = path};
	ck_assert_int_eq(eim_store_identity_update(st, &id), 0);
	eim_sig_key_free(k);
	eim_buf_done(&der);
	eim_buf_done(&pem);
}

struct dev_lists {
	char profiles[256];
};

static int dev_cb(void *ctx, const struct eim_store_device *d)
{
	struct dev_lists *l = ctx;
	snprintf(l->profiles, sizeof(l->profiles), "%s",
		 d->profile_list ? d->profile_list : "");
	return 0;
}

START_TEST(state_change_queues_a_refresh)
{
	struct eim_buf req, resp;
	struct eim_esipa_from_ipa m;
	struct eim_service_config cfg = {.refresh_on_state_change = true};
	struct dev_lists l;
	uint8_t eid2[16];

	give_identity_a_key();
	eim_service_free(svc);
	ck_assert_int_eq(eim_service_new(st, &cfg, &svc), 0);
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	ck_assert_int_eq(eim_store_eid_parse(EID2, m.get.eid), 0);
	memcpy(eid2, m.get.eid, 16);
	m.get.notify_state_change = true;
	m.get.has_cause = true;
	m.get.cause = 1; /* fallback */
	eim_buf_init(&req);
	eim_buf_init(&resp);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, &req), 0);
	/* the refresh is queued and delivered in the same poll, and the
	 * lists, the package and its send are one commit */
	uint64_t c0 = eim_store_commits(st);
	ck_assert_uint_eq(handle("dev-two", req.p, req.len, &resp), 0x44);
	ck_assert_uint_eq(eim_store_commits(st) - c0, 1);
	ck_assert_uint_eq(resp.p[3], 0xBF);
	ck_assert_uint_eq(resp.p[4], 0x51);
	ck_assert_int_eq(eim_store_device_list(st, eid2, dev_cb, &l), 0);
	ck_assert_msg(strstr(l.profiles, "\"stale\":true"), "%s", l.profiles);
	ck_assert_msg(strstr(l.profiles, "fallback"), "%s", l.profiles);
	/* polling again with the flag does not queue a second refresh while
	 * one is in flight or waiting */
	ck_assert_uint_eq(handle("dev-two", req.p, req.len, &resp), 0x44);
	ck_assert_uint_eq(eim_store_commits(st) - c0, 2);
	uint64_t c[EIM_STORE_STATE_COUNT];
	ck_assert_int_eq(eim_store_package_counts(st, eid2, c), 0);
	ck_assert_uint_eq(c[EIM_STORE_QUEUED], 0);
	ck_assert_uint_eq(c[EIM_STORE_SENT], 1);
	eim_buf_done(&req);
	eim_buf_done(&resp);
}
END_TEST

START_TEST(notification_stored_and_answered_empty)
{
	struct eim_buf req, resp;
	/* BF3D { BF37 ProfileInstallationResult (content not inspected) } */
	static const uint8_t msg[] = {0xBF, 0x3D, 0x06, 0xBF, 0x37,
				      0x03, 0xBF, 0x27, 0x00};
	struct eim_store_filter f;
	struct audit_find af = {"notification", 0, ""};

	eim_buf_init(&req);
	eim_buf_init(&resp);
	ck_assert_uint_eq(handle("dev-one", msg, sizeof(msg), &resp), 0x44);
	ck_assert_uint_eq(resp.len, 0); /* 2.04 with an empty payload */
	/* the same notification again: stored once */
	ck_assert_uint_eq(handle("dev-one", msg, sizeof(msg), &resp), 0x44);
	eim_store_filter_init(&f);
	ck_assert_int_eq(eim_store_audit_list(st, &f, audit_cb, &af), 0);
	ck_assert_int_eq(af.n, 1);
	/* without an authenticated caller it cannot be attributed: 4.00 */
	ck_assert_uint_eq(handle(NULL, msg, sizeof(msg), &resp), 0x80);
	eim_buf_done(&req);
	eim_buf_done(&resp);
}
END_TEST

START_TEST(expired_packages_are_not_delivered)
{
	struct eim_store_enqueue_req rq;
	struct eim_store_enqueued done;
	struct eim_buf req, resp;
	static const uint8_t none[] = {0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01};

	/* a package for dev-two valid for one minute */
	memset(&rq, 0, sizeof(rq));
	ck_assert_int_eq(eim_store_eid_parse(EID2, rq.eid), 0);
	rq.kind = "euicc-data";
	rq.summary = "[]";
	rq.valid_until_ms = now_ms + 60000;
	ck_assert_int_eq(eim_store_enqueue(st, &rq, fake_sign, NULL, &done), 0);
	now_ms += 61000; /* the device slept too long */
	eim_buf_init(&req);
	eim_buf_init(&resp);
	get_request(EID2, &req);
	ck_assert_uint_eq(handle("dev-two", req.p, req.len, &resp), 0x44);
	ck_assert_uint_eq(resp.len, sizeof(none));
	ck_assert_mem_eq(resp.p, none, sizeof(none));
	uint64_t c[EIM_STORE_STATE_COUNT];
	uint8_t eid2[16];
	ck_assert_int_eq(eim_store_eid_parse(EID2, eid2), 0);
	ck_assert_int_eq(eim_store_package_counts(st, eid2, c), 0);
	ck_assert_uint_eq(c[EIM_STORE_EXPIRED], 1);
	ck_assert_uint_eq(c[EIM_STORE_SENT], 0);
	eim_buf_done(&req);
	eim_buf_done(&resp);
}
END_TEST

/* Delivers dev-one's package and answers it with a result signed by a key
 * the eIM does not know (no eUICC certificate on file). */
/*
 * provideEimPackageResult for EID1's package (counter 1, txid 1, seqNumber
 * 5), signed with k: a key the eIM has no certificate for, so the result is
 * recorded as NOT verified.
 */
static void result_request(struct eim_sig_key *k, struct eim_buf *msg)
{
	struct eim_buf epr;
	struct eim_epr e;
	struct eim_epr_result r = {.tag = EIM_RES_ENABLE, .code = 0};
	static const uint8_t txid[1] = {1};
	struct eim_esipa_from_ipa m;

	eim_buf_init(&epr);
	memset(&e, 0, sizeof(e));
	e.kind = EIM_EPR_RESULT_SIGNED;
	e.eim_id.p = (const uint8_t *)"eim-one";
	e.eim_id.len = 7;
	e.counter = 1;
	e.txid.p = txid;
	e.txid.len = 1;
	e.seq = 5;
	e.results = &r;
	e.n_results = 1;
	ck_assert_int_eq(eim_epr_encode(&e, 0, k, &epr), 0);
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
	m.result.has_eid = true;
	ck_assert_int_eq(eim_store_eid_parse(EID1, m.result.eid), 0);
	m.result.kind = EIM_RESULT_EPR;
	m.result.body.p = epr.p;
	m.result.body.len = epr.len;
	eim_buf_reset(msg);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, msg), 0);
	eim_buf_done(&epr);
}

static uint8_t unverifiable_result(struct eim_buf *resp)
{
	struct eim_buf req, msg;
	struct eim_sig_key *k = NULL;
	uint8_t code;

	eim_buf_init(&req);
	eim_buf_init(&msg);
	get_request(EID1, &req);
	ck_assert_uint_eq(handle("dev-one", req.p, req.len, resp), 0x44);
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	result_request(k, &msg);
	code = handle("dev-one", msg.p, msg.len, resp);
	eim_sig_key_free(k);
	eim_buf_done(&req);
	eim_buf_done(&msg);
	return code;
}

START_TEST(unverified_results_flagged_or_refused)
{
	struct eim_buf resp;
	static const uint8_t refused[] = {0xBF, 0x50, 0x03, 0x02, 0x01, 0x7F};
	/* BF50 06 BF53 03 80 01 05: eimAcknowledgements { seqNumber 5 } */
	static const uint8_t ack5[] = {0xBF, 0x50, 0x06, 0xBF, 0x53,
				       0x03, 0x80, 0x01, 0x05};
	struct eim_service_config cfg = {.require_verified_results = true};
	uint64_t c[EIM_STORE_STATE_COUNT];

	/* with the policy: refused, the package stays in flight */
	eim_service_free(svc);
	ck_assert_int_eq(eim_service_new(st, &cfg, &svc), 0);
	eim_buf_init(&resp);
	ck_assert_uint_eq(unverifiable_result(&resp), 0x44);
	ck_assert_uint_eq(resp.len, sizeof(refused));
	ck_assert_mem_eq(resp.p, refused, sizeof(refused));
	ck_assert_int_eq(eim_store_package_counts(st, NULL, c), 0);
	ck_assert_uint_eq(c[EIM_STORE_SENT], 1);
	ck_assert_uint_eq(c[EIM_STORE_DONE], 0);

	/* without it: recorded as NOT verified, acknowledged */
	eim_service_free(svc);
	ck_assert_int_eq(eim_service_new(st, NULL, &svc), 0);
	ck_assert_uint_eq(unverifiable_result(&resp), 0x44);
	ck_assert_uint_eq(resp.len, sizeof(ack5));
	ck_assert_mem_eq(resp.p, ack5, sizeof(ack5));
	ck_assert_int_eq(eim_store_package_counts(st, NULL, c), 0);
	ck_assert_uint_eq(c[EIM_STORE_DONE], 1);
	struct eim_service_stats ss;
	eim_service_stats(svc, &ss);
	ck_assert_uint_eq(ss.unverified, 1);
	eim_buf_done(&resp);
}
END_TEST

/* PRAGMA data_version seen from a second connection: it changes each time
 * another connection commits a write to the file. */
static sqlite3 *watcher;
static int64_t data_version(void)
{
	sqlite3_stmt *q = NULL;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(watcher, "PRAGMA data_version", -1,
					    &q, NULL),
			 SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

static int n_seen;
static int seen_cb(void *ctx, const struct eim_store_device *d)
{
	(void)ctx;
	if (d->last_addr) {
		ck_assert_str_eq(d->last_addr, "192.0.2.7:5684");
		n_seen++;
	}
	return 0;
}

START_TEST(empty_queue_polls_do_not_write)
{
	struct eim_buf req, resp;
	char path[600];

	snprintf(path, sizeof(path), "%s/eim.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &watcher), SQLITE_OK);
	n_seen = 0;
	eim_buf_init(&req);
	eim_buf_init(&resp);
	get_request(EID2, &req); /* dev-two has nothing queued */
	int64_t v0 = data_version();
	for (int i = 0; i < 50; i++) {
		now_ms += 1000; /* a write now would change the row */
		ck_assert_uint_eq(handle("dev-two", req.p, req.len, &resp),
				  0x44);
	}
	ck_assert_int_eq(data_version(), v0);
	/* last-seen waits in memory for the flush (one transaction) */
	ck_assert_int_eq(eim_service_flush(svc), 0);
	ck_assert_int_ne(data_version(), v0);
	ck_assert_int_eq(eim_store_device_list(st, NULL, seen_cb, NULL), 0);
	ck_assert_int_eq(n_seen, 1);
	sqlite3_close(watcher);
	eim_buf_done(&req);
	eim_buf_done(&resp);
}
END_TEST

/* ---- the poll cache: never stale across processes ----------------------- */

/* A second connection to the same file: what another process (eim submit,
 * eim device remove, eim cancel) does, as far as SQLite can tell. */
static struct eim_store *open_other(void)
{
	char path[600];
	struct eim_store *o = NULL;
	struct eim_store_options opt;

	snprintf(path, sizeof(path), "%s/eim.db", dir);
	eim_store_options_init(&opt);
	opt.synchronous = EIM_STORE_SYNC_NORMAL;
	opt.clock = test_clock;
	ck_assert_int_eq(eim_store_open(path, &opt, &o), 0);
	return o;
}

static int64_t enqueue_on(struct eim_store *s, const char *eid_text)
{
	struct eim_store_enqueue_req rq;
	struct eim_store_enqueued done;

	memset(&rq, 0, sizeof(rq));
	ck_assert_int_eq(eim_store_eid_parse(eid_text, rq.eid), 0);
	rq.kind = "euicc-data";
	rq.summary = "[]";
	ck_assert_int_eq(eim_store_enqueue(s, &rq, fake_sign, NULL, &done), 0);
	return done.package_id;
}

static void use_batched_service(void)
{
	struct eim_service_config cfg = {.batched = true};

	eim_service_free(svc);
	ck_assert_int_eq(eim_service_new(st, &cfg, &svc), 0);
}

static uint64_t cache_hits(void)
{
	struct eim_service_stats ss;
	eim_service_stats(svc, &ss);
	return ss.cache_hits;
}

/* 1 when the answer carries a package, 0 for noEimPackageAvailable. */
static int poll_eid(const char *psk_id, const char *eid_text)
{
	static const uint8_t none[] = {0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01};
	struct eim_buf req, resp;
	int got;

	eim_buf_init(&req);
	eim_buf_init(&resp);
	get_request(eid_text, &req);
	ck_assert_uint_eq(handle(psk_id, req.p, req.len, &resp), 0x44);
	if (resp.len == sizeof(none) && memcmp(resp.p, none, resp.len) == 0)
		got = 0;
	else if (resp.len > 4 && resp.p[3] == 0xBF && resp.p[4] == 0x52)
		got = 1;
	else
		got = -1;
	eim_buf_done(&req);
	eim_buf_done(&resp);
	return got;
}

static uint8_t poll_code(const char *psk_id, const char *eid_text)
{
	struct eim_buf req, resp;
	uint8_t code;

	eim_buf_init(&req);
	eim_buf_init(&resp);
	get_request(eid_text, &req);
	code = handle(psk_id, req.p, req.len, &resp);
	eim_buf_done(&req);
	eim_buf_done(&resp);
	return code;
}

START_TEST(cache_answers_repeated_empty_polls)
{
	use_batched_service();
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 0);
	ck_assert_uint_eq(cache_hits(), 0);
	for (int i = 0; i < 10; i++) {
		if (i == 5)
			eim_service_batch_begin(svc); /* nothing changed */
		ck_assert_int_eq(poll_eid("dev-two", EID2), 0);
	}
	ck_assert_uint_eq(cache_hits(), 10);
}
END_TEST

START_TEST(package_from_another_process_is_delivered_next_poll)
{
	struct eim_store *other = open_other();

	use_batched_service();
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 0);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 0); /* cached */
	enqueue_on(other, EID2);
	/* the next datagrams: the first poll sees the new package */
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 1);
	ck_assert_int_eq(count_state(EIM_STORE_SENT), 1);

	/* Unbatched (the default): every request looks, no batch call. */
	eim_service_free(svc);
	ck_assert_int_eq(eim_service_new(st, NULL, &svc), 0);
	ck_assert_int_eq(poll_eid("dev-one", EID1), 1); /* from setup */
	eim_store_close(other);
	other = open_other();
	ck_assert_int_eq(poll_eid("dev-two", EID2), 1); /* in flight */
	eim_store_close(other);
}
END_TEST

START_TEST(unbatched_service_sees_other_process_at_once)
{
	struct eim_store *other = open_other();

	ck_assert_int_eq(poll_eid("dev-two", EID2), 0);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 0);
	ck_assert_uint_eq(cache_hits(), 1);
	enqueue_on(other, EID2);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 1);
	eim_store_close(other);
}
END_TEST

START_TEST(package_queued_through_our_own_handle_is_delivered)
{
	/* The expiry timer, a state change's refresh: writes through the
	 * service's own store handle, which data_version does not show. */
	use_batched_service();
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 0);
	enqueue_on(st, EID2);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 1); /* same batch */
}
END_TEST

START_TEST(credential_removed_elsewhere_is_refused_next_poll)
{
	struct eim_store *other = open_other();
	uint8_t eid2[16];
	static const uint8_t key[16] = {9};

	ck_assert_int_eq(eim_store_eid_parse(EID2, eid2), 0);
	use_batched_service();
	eim_service_batch_begin(svc);
	ck_assert_uint_eq(poll_code("dev-two", EID2), 0x44);
	ck_assert_uint_eq(poll_code("dev-two", EID2), 0x44); /* cached */
	/* The identity is given to another credential value... */
	ck_assert_int_eq(eim_store_credential_set(other, eid2,
						  EIM_STORE_CRED_PSK,
						  (const uint8_t *)"dev-2b", 6,
						  key, sizeof(key)),
			 0);
	eim_service_batch_begin(svc);
	ck_assert_uint_eq(poll_code("dev-two", EID2), 0x83);
	ck_assert_uint_eq(poll_code("dev-2b", EID2), 0x44);
	/* ...then removed: refused within the same session, next batch */
	ck_assert_int_eq(eim_store_credential_remove(other, eid2,
						     EIM_STORE_CRED_PSK),
			 0);
	eim_service_batch_begin(svc);
	ck_assert_uint_eq(poll_code("dev-2b", EID2), 0x83);
	eim_store_close(other);
}
END_TEST

START_TEST(device_removed_elsewhere_is_refused_next_poll)
{
	struct eim_store *other = open_other();
	uint8_t eid2[16];

	ck_assert_int_eq(eim_store_eid_parse(EID2, eid2), 0);
	use_batched_service();
	eim_service_batch_begin(svc);
	ck_assert_uint_eq(poll_code("dev-two", EID2), 0x44);
	ck_assert_uint_eq(poll_code("dev-two", EID2), 0x44);
	ck_assert_int_eq(eim_store_device_remove(other, eid2, false, NULL, 0),
			 0);
	eim_service_batch_begin(svc);
	ck_assert_uint_eq(poll_code("dev-two", EID2), 0x83);
	eim_store_close(other);
}
END_TEST

START_TEST(package_cancelled_elsewhere_is_not_delivered)
{
	struct eim_store *other = open_other();
	int64_t id;

	use_batched_service();
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 0);
	id = enqueue_on(other, EID2);
	ck_assert_int_eq(eim_store_cancel(other, id), 0);
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 0);
	ck_assert_int_eq(count_state(EIM_STORE_CANCELLED), 1);
	ck_assert_int_eq(count_state(EIM_STORE_SENT), 0);
	/* and one queued behind it is */
	enqueue_on(other, EID2);
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-two", EID2), 1);
	eim_store_close(other);
}
END_TEST

START_TEST(repolls_write_nothing_and_attempts_are_kept)
{
	char path[600];
	int64_t v0;

	snprintf(path, sizeof(path), "%s/eim.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &watcher), SQLITE_OK);
	ck_assert_int_eq(poll_eid("dev-one", EID1), 1); /* sent: a write */
	v0 = data_version();
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(poll_eid("dev-one", EID1), 1);
	ck_assert_int_eq(data_version(), v0); /* no commit, no fsync */
	/* the first re-poll read the store, the next four its copy */
	ck_assert_uint_eq(cache_hits(), 4);
	/* the service writes the count when it flushes (and at exit) */
	eim_service_free(svc);
	svc = NULL;
	ck_assert_int_ne(data_version(), v0);
	sqlite3_stmt *q = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(watcher,
					    "SELECT attempts FROM package"
					    " WHERE state = 1",
					    -1, &q, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(q, 0), 6);
	sqlite3_finalize(q);
	sqlite3_close(watcher);
	ck_assert_int_eq(eim_service_new(st, NULL, &svc), 0);
}
END_TEST

START_TEST(package_finished_elsewhere_is_not_delivered_again)
{
	struct eim_store *other = open_other();
	struct eim_store_result_in in;
	struct eim_store_result_out out;
	static const uint8_t epr[] = {0xBF, 0x51, 0x00};
	uint8_t eid1[16];

	ck_assert_int_eq(eim_store_eid_parse(EID1, eid1), 0);
	use_batched_service();
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-one", EID1), 1); /* sent */
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-one", EID1), 1); /* read again */
	ck_assert_int_eq(poll_eid("dev-one", EID1), 1); /* its copy */
	ck_assert_uint_eq(cache_hits(), 1);
	/* the result reaches the store through another process */
	memset(&in, 0, sizeof(in));
	memcpy(in.eid, eid1, 16);
	in.eim_id = "eim-one";
	in.counter = 1;
	in.bytes = epr;
	in.len = sizeof(epr);
	in.summary = "{}";
	in.seq_number = -1;
	ck_assert_int_eq(eim_store_result_record(other, &in, &out), 0);
	ck_assert_int_gt(out.package_id, 0);
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-one", EID1), 0);
	ck_assert_int_eq(count_state(EIM_STORE_DONE), 1);
	eim_store_close(other);
}
END_TEST

START_TEST(device_removed_with_package_in_flight_is_refused)
{
	struct eim_store *other = open_other();
	uint8_t eid1[16];

	ck_assert_int_eq(eim_store_eid_parse(EID1, eid1), 0);
	use_batched_service();
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-one", EID1), 1);
	eim_service_batch_begin(svc);
	ck_assert_int_eq(poll_eid("dev-one", EID1), 1);
	ck_assert_int_eq(poll_eid("dev-one", EID1), 1); /* from the copy */
	ck_assert_int_eq(eim_store_device_remove(other, eid1, true, NULL, 0),
			 0);
	eim_service_batch_begin(svc);
	ck_assert_uint_eq(poll_code("dev-one", EID1), 0x83);
	eim_store_close(other);
}
END_TEST

/* ---- the tables grow with the fleet ------------------------------------- */

#define FLEET_N 5000

static char fleet_eid[FLEET_N][EIM_EID_DIGITS + 1];
static char fleet_psk[FLEET_N][16];

/* FLEET_N more devices, in one bulk add (as `eim device import` does). */
static void add_fleet(void)
{
	static struct eim_store_device_new d[FLEET_N];
	static const uint8_t key[16] = {4, 5, 6};
	char prefix[31];
	size_t done = 0;

	memset(d, 0, sizeof(d));
	for (int i = 0; i < FLEET_N; i++) {
		snprintf(prefix, sizeof(prefix), "890490320000000000%012d", i);
		ck_assert_int_eq(eim_eid_complete(prefix, fleet_eid[i]), 0);
		snprintf(fleet_psk[i], sizeof(fleet_psk[i]), "fleet-%05d", i);
		ck_assert_int_eq(eim_store_eid_parse(fleet_eid[i], d[i].eid),
				 0);
		d[i].eim_id = "eim-one";
		d[i].psk_identity = (const uint8_t *)fleet_psk[i];
		d[i].psk_identity_len = strlen(fleet_psk[i]);
		d[i].psk_key = key;
		d[i].psk_key_len = sizeof(key);
	}
	ck_assert_int_eq(eim_store_device_add_many(st, d, FLEET_N, 0, NULL,
						   NULL, &done),
			 0);
	ck_assert_uint_eq(done, FLEET_N);
}

/* The address device i polls from in round r (r = 0, 1; -1 = none). */
static void fleet_addr(int i, int r, char *buf, size_t cap)
{
	snprintf(buf, cap, "198.51.%d.%d:%d", r, i % 250, 1024 + i);
}

/* A poll of fleet device i (PSK, or plain CoAP when psk is false) from the
 * address of round r, with its request already encoded: the CoAP code, or
 * -1 when the service failed. */
static int fleet_poll_req(int i, int r, bool psk, const struct eim_buf *req,
			  struct eim_buf *resp)
{
	struct eim_service_peer peer = {0};
	char addr[40];
	uint8_t code = 0;

	fleet_addr(i, r, addr, sizeof(addr));
	if (psk) {
		peer.kind = EIM_STORE_CRED_PSK;
		peer.ident = (const uint8_t *)fleet_psk[i];
		peer.ident_len = strlen(fleet_psk[i]);
	}
	peer.addr = r < 0 ? NULL : addr; /* no address: no last-seen record */
	eim_buf_reset(resp);
	if (eim_service_handle(svc, &peer, req->p, req->len, resp, &code))
		return -1;
	return code;
}

static int fleet_poll(int i, int r, bool psk, struct eim_buf *resp)
{
	struct eim_buf req;
	int code;

	eim_buf_init(&req);
	get_request(fleet_eid[i], &req);
	code = fleet_poll_req(i, r, psk, &req, resp);
	eim_buf_done(&req);
	return code;
}

static struct eim_service_stats svc_stats(void)
{
	struct eim_service_stats ss;
	eim_service_stats(svc, &ss);
	return ss;
}

/* Every fleet device's last-seen address in the store is that of round r. */
struct fleet_check {
	int r, n;
};
static int fleet_seen_cb(void *ctx, const struct eim_store_device *d)
{
	struct fleet_check *c = ctx;
	char text[EIM_EID_DIGITS + 1], want[40];

	ck_assert_int_eq(eim_eid_format(d->eid, text), 0);
	/* Fleet EIDs carry their index in digits 18 to 29. */
	long long i = strtoll(text + 18, NULL, 10) / 100;
	if (i >= 0 && i < FLEET_N && strcmp(text, fleet_eid[i]) == 0) {
		fleet_addr(i, c->r, want, sizeof(want));
		ck_assert_msg(d->last_addr && strcmp(d->last_addr, want) == 0,
			      "device %lld: last seen at %s, not %s", i,
			      d->last_addr ? d->last_addr : "(never)", want);
		ck_assert_int_gt(d->last_seen_ms, 0);
		c->n++;
	}
	return 0;
}

static void check_fleet_seen(int r)
{
	struct fleet_check c = {.r = r};

	ck_assert_int_eq(eim_service_flush(svc), 0);
	ck_assert_int_eq(eim_store_device_list(st, NULL, fleet_seen_cb, &c), 0);
	ck_assert_int_eq(c.n, FLEET_N);
}

START_TEST(tables_grow_and_keep_every_last_seen_record)
{
	struct eim_buf resp;
	struct eim_service_stats s0, s1;

	add_fleet();
	use_batched_service();
	eim_buf_init(&resp);
	s0 = svc_stats();
	ck_assert_uint_le(s0.cache_slots, 1024);
	ck_assert_uint_le(s0.seen_slots, 1024);
	/* Each device polls from one address, then (after the next device's
	 * poll, which may have grown the tables) from another: its unwritten
	 * record must follow it through every resize. */
	for (int i = 0; i <= FLEET_N; i++) {
		eim_service_batch_begin(svc);
		if (i < FLEET_N)
			ck_assert_int_eq(fleet_poll(i, 0, true, &resp), 0x44);
		if (i > 0)
			ck_assert_int_eq(fleet_poll(i - 1, 1, true, &resp),
					 0x44);
	}
	s1 = svc_stats();
	/* At least three doublings each, never past the caps. */
	ck_assert_uint_ge(s1.cache_slots, 8 * s0.cache_slots);
	ck_assert_uint_ge(s1.seen_slots, 8 * s0.seen_slots);
	ck_assert_uint_le(s1.cache_slots, 16384);
	ck_assert_uint_le(s1.seen_slots, 65536);
	check_fleet_seen(1);

	/* Everything polls again from the first address: all recorded. */
	for (int i = 0; i < FLEET_N; i++) {
		eim_service_batch_begin(svc);
		ck_assert_int_eq(fleet_poll(i, 0, true, &resp), 0x44);
	}
	check_fleet_seen(0);
	eim_buf_done(&resp);
}
END_TEST

START_TEST(grown_cache_hits_and_is_still_invalidated)
{
	struct store_pair {
		struct eim_store *other;
	} p;
	struct eim_buf resp;
	uint64_t hits, inval;
	uint8_t eid[16];

	add_fleet();
	use_batched_service();
	eim_buf_init(&resp);
	/* Without a peer address (no last-seen record, so no store write
	 * moves the epoch): the entries made before each resize must still
	 * answer after it. */
	eim_service_batch_begin(svc);
	ck_assert_int_eq(fleet_poll(0, -1, true, &resp), 0x44);
	inval = svc_stats().invalidations; /* the first look at the store */
	for (int i = 1; i < FLEET_N; i++)
		ck_assert_int_eq(fleet_poll(i, -1, true, &resp), 0x44);
	ck_assert_uint_ge(svc_stats().cache_slots, 8192);
	ck_assert_uint_eq(svc_stats().invalidations, inval);
	hits = cache_hits();
	for (int i = 0; i < FLEET_N; i++)
		ck_assert_int_eq(fleet_poll(i, -1, true, &resp), 0x44);
	/* All but the keys evicted before the last resize (their bucket of
	 * four was full) hit: about 4,700 of 5,000 with this fleet's keys; a
	 * resize that lost or misplaced entries leaves far fewer. */
	ck_assert_uint_gt(cache_hits() - hits, FLEET_N * 4 / 5);
	/* Polls from an address write last-seen records (flushes move the
	 * epoch): the cache refills and answers again. */
	for (int i = 0; i < FLEET_N; i++) {
		eim_service_batch_begin(svc);
		ck_assert_int_eq(fleet_poll(i, 0, true, &resp), 0x44);
	}
	(void)eim_service_flush(svc); /* moves the epoch: refill */
	eim_service_batch_begin(svc);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(fleet_poll(i, 0, true, &resp), 0x44);
	hits = cache_hits();
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(fleet_poll(i, 0, true, &resp), 0x44);
	ck_assert_uint_eq(cache_hits(), hits + 64);

	/* Still invalidated: a package queued by another process is
	 * delivered on the next batch, a removed device is refused. */
	p.other = open_other();
	enqueue_on(p.other, fleet_eid[7]);
	ck_assert_int_eq(eim_store_eid_parse(fleet_eid[9], eid), 0);
	ck_assert_int_eq(eim_store_device_remove(p.other, eid, true, NULL, 0),
			 0);
	eim_service_batch_begin(svc);
	ck_assert_int_eq(fleet_poll(7, 0, true, &resp), 0x44);
	ck_assert(resp.len > 4 && resp.p[3] == 0xBF && resp.p[4] == 0x52);
	ck_assert_int_eq(fleet_poll(9, 0, true, &resp), 0x83);
	ck_assert_int_eq(fleet_poll(8, 0, true, &resp), 0x44);
	eim_store_close(p.other);
	eim_buf_done(&resp);
}
END_TEST

/* 200 devices in the first 1,024 slots: no two evict each other (directly
 * mapped, a few pairs would, and poll through the store every time). */
START_TEST(small_fleet_polls_all_hit)
{
	struct eim_buf resp;
	uint64_t hits;

	add_fleet();
	use_batched_service();
	eim_buf_init(&resp);
	eim_service_batch_begin(svc);
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(fleet_poll(i, -1, true, &resp), 0x44);
	ck_assert_uint_le(svc_stats().cache_slots, 1024);
	hits = cache_hits();
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 200; i++)
			ck_assert_int_eq(fleet_poll(i, -1, true, &resp), 0x44);
	ck_assert_uint_eq(cache_hits(), hits + 600);
	eim_buf_done(&resp);
}
END_TEST

/* A failed allocation when a table should grow leaves it as it was, still
 * answering; growth resumes once memory is back. Plain CoAP (no credential
 * lookup), so the only allocations a poll makes are the tables'. */
START_TEST(failed_growth_keeps_the_old_tables)
{
	static struct eim_buf req[2000];
	struct eim_buf resp;
	struct eim_service_stats s0, s1;
	uint64_t hits;

	add_fleet();
	use_batched_service();
	for (int i = 0; i < 2000; i++) {
		eim_buf_init(&req[i]);
		get_request(fleet_eid[i], &req[i]);
	}
	eim_buf_init(&resp);
	eim_buf_append(&resp, fleet_eid, 512); /* room for any answer */
	s0 = svc_stats();
	eim_service_batch_begin(svc);
	eim_alloc_fail_after(0);
	for (int i = 0; i < 2000; i++)
		ck_assert_int_eq(fleet_poll_req(i, 0, false, &req[i], &resp),
				 0x44);
	s1 = svc_stats();
	ck_assert_uint_gt(eim_alloc_failed_count(), 0);
	eim_alloc_fail_reset();
	ck_assert_uint_eq(s1.cache_slots, s0.cache_slots);
	ck_assert_uint_eq(s1.seen_slots, s0.seen_slots);
	/* The full old table still answers (the last devices polled). */
	hits = cache_hits();
	for (int i = 1990; i < 2000; i++)
		ck_assert_int_eq(fleet_poll(i, 0, false, &resp), 0x44);
	ck_assert_uint_gt(cache_hits(), hits);
	for (int i = 0; i < FLEET_N; i++) {
		eim_service_batch_begin(svc);
		ck_assert_int_eq(fleet_poll(i, 1, false, &resp), 0x44);
	}
	ck_assert_uint_gt(svc_stats().cache_slots, s0.cache_slots);
	ck_assert_uint_gt(svc_stats().seen_slots, s0.seen_slots);
	check_fleet_seen(1);
	for (int i = 0; i < 2000; i++)
		eim_buf_done(&req[i]);
	eim_buf_done(&resp);
}
END_TEST

/* BF50 06 BF53 03 80 01 05: eimAcknowledgements { seqNumber 5 } */
static const uint8_t ack_seq5[] = {0xBF, 0x50, 0x06, 0xBF, 0x53,
				   0x03, 0x80, 0x01, 0x05};

/*
 * A device's report (its result, and the acknowledgement it gets back) is
 * one commit, one sync of the file: the result, the package's DONE state
 * and the seqNumber marked acknowledged go together (eim/README.md).
 */
START_TEST(a_report_is_one_commit)
{
	struct eim_buf req, msg, resp;
	struct eim_sig_key *k = NULL;
	uint64_t c0;
	uint8_t eid[16];
	int64_t seqs[4];
	size_t n = 9;

	eim_buf_init(&req);
	eim_buf_init(&msg);
	eim_buf_init(&resp);
	ck_assert_int_eq(eim_store_eid_parse(EID1, eid), 0);
	get_request(EID1, &req);
	c0 = eim_store_commits(st);
	ck_assert_uint_eq(handle("dev-one", req.p, req.len, &resp), 0x44);
	ck_assert_uint_eq(eim_store_commits(st) - c0, 1); /* the send */
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	result_request(k, &msg);
	ck_assert_uint_eq(handle("dev-one", msg.p, msg.len, &resp), 0x44);
	ck_assert_uint_eq(resp.len, sizeof(ack_seq5));
	ck_assert_mem_eq(resp.p, ack_seq5, sizeof(ack_seq5));
	ck_assert_uint_eq(eim_store_commits(st) - c0, 2);
	ck_assert_int_eq(count_state(EIM_STORE_DONE), 1);
	ck_assert_int_eq(eim_store_acks_pending(st, eid, seqs, 4, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* The same report again (the acknowledgement was lost): answered
	 * again, and nothing to write. */
	ck_assert_uint_eq(handle("dev-one", msg.p, msg.len, &resp), 0x44);
	ck_assert_uint_eq(resp.len, sizeof(ack_seq5));
	ck_assert_mem_eq(resp.p, ack_seq5, sizeof(ack_seq5));
	ck_assert_uint_eq(eim_store_commits(st) - c0, 2);
	eim_sig_key_free(k);
	eim_buf_done(&req);
	eim_buf_done(&msg);
	eim_buf_done(&resp);
}
END_TEST

/*
 * The commit of a report fails (the file may not grow: what a full disk
 * does): no acknowledgement leaves, nothing of the report is on file, and
 * the device's next try is recorded and acknowledged.
 */
START_TEST(no_acknowledgement_without_the_commit)
{
	struct eim_service_peer peer = {.kind = EIM_STORE_CRED_PSK,
					.ident = (const uint8_t *)"dev-one",
					.ident_len = 7,
					.addr = "192.0.2.7:5684"};
	struct eim_buf req, msg, resp;
	struct eim_sig_key *k = NULL;
	struct rlimit old, lim;
	uint8_t code = 0;
	int rc;

	eim_buf_init(&req);
	eim_buf_init(&msg);
	eim_buf_init(&resp);
	get_request(EID1, &req);
	ck_assert_uint_eq(handle("dev-one", req.p, req.len, &resp), 0x44);
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	result_request(k, &msg);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 1;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	eim_buf_reset(&resp);
	rc = eim_service_handle(svc, &peer, msg.p, msg.len, &resp, &code);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(rc, EIM_EIO);
	ck_assert_uint_eq(code, EIM_SVC_SERVER_ERROR);
	ck_assert_uint_eq(resp.len, 0);
	ck_assert_int_eq(count_state(EIM_STORE_SENT), 1);
	ck_assert_int_eq(count_state(EIM_STORE_DONE), 0);
	ck_assert_uint_eq(handle("dev-one", msg.p, msg.len, &resp), 0x44);
	ck_assert_uint_eq(resp.len, sizeof(ack_seq5));
	ck_assert_mem_eq(resp.p, ack_seq5, sizeof(ack_seq5));
	ck_assert_int_eq(count_state(EIM_STORE_DONE), 1);
	eim_sig_key_free(k);
	eim_buf_done(&req);
	eim_buf_done(&msg);
	eim_buf_done(&resp);
}
END_TEST

static Suite *service_suite(void)
{
	Suite *s = suite_create("eim_service");
	TCase *tc = tcase_create("handler");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, other_device_identity_is_forbidden);
	tcase_add_test(tc, malformed_and_unknown_change_nothing);
	tcase_add_test(tc, relay_functions_answer_undefined_error);
	tcase_add_test(tc, state_change_queues_a_refresh);
	tcase_add_test(tc, notification_stored_and_answered_empty);
	tcase_add_test(tc, expired_packages_are_not_delivered);
	tcase_add_test(tc, unverified_results_flagged_or_refused);
	tcase_add_test(tc, empty_queue_polls_do_not_write);
	tcase_add_test(tc, cache_answers_repeated_empty_polls);
	tcase_add_test(tc, package_from_another_process_is_delivered_next_poll);
	tcase_add_test(tc, unbatched_service_sees_other_process_at_once);
	tcase_add_test(tc, package_queued_through_our_own_handle_is_delivered);
	tcase_add_test(tc, credential_removed_elsewhere_is_refused_next_poll);
	tcase_add_test(tc, device_removed_elsewhere_is_refused_next_poll);
	tcase_add_test(tc, package_cancelled_elsewhere_is_not_delivered);
	tcase_add_test(tc, repolls_write_nothing_and_attempts_are_kept);
	tcase_add_test(tc, package_finished_elsewhere_is_not_delivered_again);
	tcase_add_test(tc, device_removed_with_package_in_flight_is_refused);
	tcase_add_test(tc, a_report_is_one_commit);
	tcase_add_test(tc, no_acknowledgement_without_the_commit);
	suite_add_tcase(s, tc);
	/* Thousands of requests each: more time under the sanitizers. */
	tc = tcase_create("growth");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, tables_grow_and_keep_every_last_seen_record);
	tcase_add_test(tc, grown_cache_hits_and_is_still_invalidated);
	tcase_add_test(tc, failed_growth_keeps_the_old_tables);
	tcase_add_test(tc, small_fleet_polls_all_hit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(service_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
