/*
 * End-to-end test of `eim serve` over plain CoAP on loopback: the real eim
 * binary, a real database, and a device built here from proto/ (it encodes
 * what an IPA sends and signs results like an eUICC) talking through the
 * transport's CoAP client.
 *
 * It checks what issue 6 promises: each queued package arrives, its
 * eimSignature verifies with the identity's public key, counters go up by
 * one, a re-poll before the result gets the same bytes, results signed by
 * the eUICC key are accepted, acknowledged and shown by `eim results`,
 * a tampered result is refused, garbage gets 4.00 and changes nothing.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim_test.h"
#include "proto/eim_der.h"
#include "proto/eim_epr.h"
#include "proto/eim_esipa.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"
#include "proto/eim_sig.h"
#include "transport/eim_coap_udp.h"
#include "transport/eim_loop.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EID1 "89049032123451234512345678901235"
#define ICCID "89440012345678901234"
#define PSK "000102030405060708090a0b0c0d0e0f"

static const char *dir;
static char db[512], dbenv[600];
static struct eim_test_child server;
static char server_addr[64];

/* eim WORDS... with this test's database; it must succeed */
static struct eim_test_proc eim_ok(struct eim_test_proc p)
{
	ck_assert_msg(p.status == 0, "eim: exit %d: %s", p.status, p.err);
	return p;
}
#define eim(...) eim_ok(eim_test_eim(db, __VA_ARGS__))

/* ---- a device's side of one CoAP exchange ------------------------------ */

struct exchange {
	struct eim_loop *loop;
	int status;
	uint8_t code;
	uint8_t body[8192];
	size_t len;
};

static void on_response(void *ctx, int status,
			const struct eim_coap_client_response *r)
{
	struct exchange *x = ctx;

	x->status = status;
	if (r) {
		x->code = r->code;
		x->len = r->body_len < sizeof(x->body) ? r->body_len : 0;
		memcpy(x->body, r->body, x->len);
	}
	eim_loop_stop(x->loop);
}

/* POSTs body to /gsma/rsp2/asn1 and waits for the answer. */
static void post(const uint8_t *body, size_t len, struct exchange *x)
{
	struct eim_coap_udp_client *uc = NULL;

	memset(x, 0, sizeof(*x));
	ck_assert_int_eq(eim_loop_new(&x->loop), 0);
	ck_assert_int_eq(eim_coap_udp_client_new(x->loop, server_addr, NULL,
						 &uc),
			 0);
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/gsma/rsp2/asn1",
		.content_format = -1,
		.body = body,
		.body_len = len,
		.cb = on_response,
		.cb_ctx = x,
	};
	ck_assert_int_eq(eim_coap_udp_client_request(uc, &rq), 0);
	ck_assert_int_eq(eim_loop_run(x->loop), 0);
	ck_assert_int_eq(x->status, 0);
	eim_coap_udp_client_free(uc);
	eim_loop_free(x->loop);
}

static void eid_bytes(uint8_t eid[16])
{
	size_t n = 0;
	ck_assert_int_eq(eim_hex_decode(EID1, 32, eid, 16, &n), 0);
}

/* GetEimPackage; returns the decoded response (views into x->body). */
static void poll_once(struct exchange *x, struct eim_esipa_from_eim *m)
{
	struct eim_esipa_from_ipa req;
	struct eim_buf b;

	memset(&req, 0, sizeof(req));
	req.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	eid_bytes(req.get.eid);
	eim_buf_init(&b);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&req, &b), 0);
	post(b.p, b.len, x);
	eim_buf_done(&b);
	ck_assert_uint_eq(x->code, EIM_COAP_CHANGED);
	ck_assert_int_eq(eim_esipa_decode_from_eim(x->body, x->len, NULL, m),
			 0);
	ck_assert_uint_eq(m->tag, EIM_ESIPA_GET_EIM_PACKAGE);
}

static struct eim_sig_key *load_key_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t buf[8192];
	struct eim_sig_key *k = NULL;

	ck_assert_msg(f != NULL, "%s", path);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_int_eq(eim_sig_key_load(buf, n, &k), 0);
	return k;
}

/* Sends ProvideEimPackageResult with a BF51/BF52 body; returns the answer. */
static void provide(const uint8_t *body, size_t len,
		    enum eim_esipa_result_kind kind, struct exchange *x,
		    struct eim_esipa_from_eim *m)
{
	struct eim_esipa_from_ipa req;
	struct eim_buf b;

	memset(&req, 0, sizeof(req));
	req.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
	req.result.has_eid = true;
	eid_bytes(req.result.eid);
	req.result.kind = kind;
	req.result.body.p = body;
	req.result.body.len = len;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&req, &b), 0);
	post(b.p, b.len, x);
	eim_buf_done(&b);
	ck_assert_uint_eq(x->code, EIM_COAP_CHANGED);
	ck_assert_int_eq(eim_esipa_decode_from_eim(x->body, x->len, NULL, m),
			 0);
	ck_assert_uint_eq(m->tag, EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT);
}

/* The eUICC's answer to a package, signed with the eUICC key over the
 * result and the associationToken of the eIM that sent the package. */
static void make_epr_token(const struct eim_pkg_view *v, int64_t seq,
			   const struct eim_epr_result *res, size_t nres,
			   int64_t token, struct eim_sig_key *euicc,
			   struct eim_buf *out)
{
	struct eim_epr e;

	memset(&e, 0, sizeof(e));
	e.kind = EIM_EPR_RESULT_SIGNED;
	e.eim_id = v->pkg.eim_id;
	e.counter = v->pkg.counter;
	e.txid = v->pkg.txid;
	e.seq = seq;
	e.results = res;
	e.n_results = nres;
	ck_assert_int_eq(eim_epr_encode(&e, token, euicc, out), 0);
}

static void make_epr(const struct eim_pkg_view *v, int64_t seq,
		     const struct eim_epr_result *res, size_t nres,
		     struct eim_sig_key *euicc, struct eim_buf *out)
{
	struct eim_epr e;

	memset(&e, 0, sizeof(e));
	e.kind = EIM_EPR_RESULT_SIGNED;
	e.eim_id = v->pkg.eim_id;
	e.counter = v->pkg.counter;
	e.txid = v->pkg.txid;
	e.seq = seq;
	e.results = res;
	e.n_results = nres;
	ck_assert_int_eq(eim_epr_encode(&e, 0, euicc, out), 0);
}

static void setup(void)
{
	char cmd[2048], line[256];

	dir = eim_test_tmpdir();
	ck_assert_ptr_nonnull(dir);
	snprintf(db, sizeof(db), "%s/eim.db", dir);
	snprintf(dbenv, sizeof(dbenv), "EIM_DB=%s", db);
	/* A test eUICC: key and self-signed certificate (openssl). */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && openssl ecparam -name prime256v1 -genkey -noout "
		 "-out euicc.key.pem && openssl req -new -x509 -key "
		 "euicc.key.pem -subj /CN=test-euicc -days 2 -out euicc.crt "
		 "2>/dev/null",
		 dir);
	ck_assert_int_eq(system(cmd), 0);
	char cert[600];
	snprintf(cert, sizeof(cert), "%s/euicc.crt", dir);
	struct eim_test_proc p = eim("init", "--eim-id", "eim-one", NULL);
	eim_test_proc_done(&p);
	p = eim("device", "add", EID1, "--psk-identity", "d1", "--psk", PSK,
		"--euicc-cert", cert, NULL);
	eim_test_proc_done(&p);

	char *argv[] =
		{(char *)eim_test_bin(), (char *)"serve",    (char *)"--coap",
		 (char *)"127.0.0.1:0",	 (char *)"--listen", (char *)"",
		 (char *)"--log-level",	 (char *)"debug",    NULL};
	char *env[] = {dbenv, NULL};
	ck_assert_int_eq(eim_test_spawn(argv, env, &server), 0);
	ck_assert_int_eq(eim_test_child_line(&server, line, sizeof(line),
					     10000),
			 0);
	int port = 0;
	const char *at = strstr(line, "127.0.0.1:");
	ck_assert_msg(at != NULL, "first line of eim serve: '%s'", line);
	ck_assert_int_eq(sscanf(at, "127.0.0.1:%d", &port), 1);
	snprintf(server_addr, sizeof(server_addr), "127.0.0.1:%d", port);
}

static void teardown(void)
{
	if (server.pid > 0)
		eim_test_child_stop(&server, SIGKILL);
	eim_test_rmdir(dir);
}

static cJSON *json_of(const char *a0, const char *a1, const char *a2)
{
	struct eim_test_proc p = eim(a0, a1, a2, NULL);
	cJSON *j = cJSON_Parse(p.out);
	ck_assert_msg(j != NULL, "%s", p.out);
	eim_test_proc_done(&p);
	return j;
}

START_TEST(device_session)
{
	struct exchange x, y;
	struct eim_esipa_from_eim m, m2;
	struct eim_pkg_view v;
	struct eim_buf epr;
	char path[600];

	struct eim_test_proc p =
		eim("submit", EID1, "enable", "--iccid", ICCID, NULL);
	eim_test_proc_done(&p);
	p = eim("submit", EID1, "list-eim", NULL);
	eim_test_proc_done(&p);
	p = eim("submit", EID1, "get-euicc-data", "--tags", "euicc-certificate",
		NULL);
	eim_test_proc_done(&p);

	snprintf(path, sizeof(path), "%s/eim-one.key.pem", dir);
	struct eim_sig_key *eim_key = load_key_file(path);
	snprintf(path, sizeof(path), "%s/euicc.key.pem", dir);
	struct eim_sig_key *euicc_key = load_key_file(path);

	/* 1. the enable package: signed by eim-one, counter 1 */
	poll_once(&x, &m);
	ck_assert_int_eq(m.package.kind, EIM_EPKG_EUICC_PACKAGE);
	ck_assert_int_eq(eim_pkg_decode(m.package.euicc_package.p,
					m.package.euicc_package.len, NULL, &v),
			 0);
	ck_assert_int_eq(v.pkg.counter, 1);
	ck_assert_int_eq(eim_pkg_verify(&v, 0, eim_key), 0);
	ck_assert_int_eq(v.pkg.psmo[0].kind, EIM_PSMO_ENABLE);

	/* a delivered package can no longer be cancelled */
	struct eim_test_proc c = eim_test_eim(db, "cancel", "1", NULL);
	ck_assert_int_eq(c.status, 1);
	ck_assert(eim_test_contains(c.err, "already sent"));
	eim_test_proc_done(&c);

	/* a re-poll before the result: the same bytes */
	poll_once(&y, &m2);
	ck_assert_uint_eq(x.len, y.len);
	ck_assert_mem_eq(x.body, y.body, x.len);

	/* a tampered result is refused and changes nothing */
	struct eim_epr_result ok_res = {.tag = EIM_RES_ENABLE, .code = 0};
	eim_buf_init(&epr);
	make_epr(&v, 1, &ok_res, 1, euicc_key, &epr);
	epr.p[epr.len - 1] ^= 0x01; /* last byte of the signature */
	provide(epr.p, epr.len, EIM_RESULT_EPR, &y, &m2);
	ck_assert_int_eq(m2.provide.kind, EIM_PRESP_ERROR);
	epr.p[epr.len - 1] ^= 0x01;

	/* the genuine result: verified, recorded, seqNumber 1 acknowledged */
	provide(epr.p, epr.len, EIM_RESULT_EPR, &y, &m2);
	ck_assert_int_eq(m2.provide.kind, EIM_PRESP_ACKS);
	ck_assert_uint_eq(m2.provide.acks.n, 1);
	ck_assert_int_eq(m2.provide.acks.seq[0], 1);
	/* the same result again (lost ack): recorded once, acked again, or
	 * the device would keep it and resend it at every wake */
	provide(epr.p, epr.len, EIM_RESULT_EPR, &y, &m2);
	ck_assert_int_eq(m2.provide.kind, EIM_PRESP_ACKS);
	ck_assert_uint_eq(m2.provide.acks.n, 1);
	ck_assert_int_eq(m2.provide.acks.seq[0], 1);
	eim_buf_done(&epr);
	eim_pkg_view_done(&v);

	/* 2. listEim: counter 2; answered with the eIM list */
	poll_once(&x, &m);
	ck_assert_int_eq(eim_pkg_decode(m.package.euicc_package.p,
					m.package.euicc_package.len, NULL, &v),
			 0);
	ck_assert_int_eq(v.pkg.counter, 2);
	ck_assert_int_eq(eim_pkg_verify(&v, 0, eim_key), 0);
	static const uint8_t list[] = {0xAB, 0x0D, 0xA0, 0x0B, 0x30,
				       0x09, 0x80, 0x07, 'e',  'i',
				       'm',  '-',  'o',	 'n',  'e'};
	struct eim_epr_result lres = {.tag = EIM_RES_LIST_EIM,
				      .code = -1,
				      .data = {list, sizeof(list)}};
	eim_buf_init(&epr);
	make_epr(&v, 2, &lres, 1, euicc_key, &epr);
	provide(epr.p, epr.len, EIM_RESULT_EPR, &y, &m2);
	ck_assert_int_eq(m2.provide.kind, EIM_PRESP_ACKS);
	ck_assert_int_eq(m2.provide.acks.seq[0], 2);
	eim_buf_done(&epr);
	eim_pkg_view_done(&v);

	/* 3. eUICC data request: answered with the certificate */
	poll_once(&x, &m);
	ck_assert_int_eq(m.package.kind, EIM_EPKG_IPA_DATA);
	{
		char crt[600];
		snprintf(crt, sizeof(crt), "%s/euicc.crt", dir);
		FILE *f = fopen(crt, "rb");
		char pem[4096];
		size_t n = fread(pem, 1, sizeof(pem), f);
		fclose(f);
		const char *label;
		size_t ll, dl;
		uint8_t *der;
		ck_assert_int_eq(eim_sig_pem_decode(pem, n, &label, &ll, &der,
						    &dl),
				 0);
		struct eim_buf a6, body;
		eim_buf_init(&a6);
		eim_buf_init(&body);
		ck_assert_int_eq(eim_der_put_retagged(&a6, 0xA6, der, dl), 0);
		struct eim_ipadata d;
		memset(&d, 0, sizeof(d));
		d.euicc_cert.p = a6.p;
		d.euicc_cert.len = a6.len;
		ck_assert_int_eq(eim_ipadata_encode(&d, &body), 0);
		provide(body.p, body.len, EIM_RESULT_IPA_DATA, &y, &m2);
		ck_assert_int_ne(m2.provide.kind, EIM_PRESP_ERROR);
		eim_buf_done(&a6);
		eim_buf_done(&body);
		eim_free(der);
	}

	/* 4. nothing left */
	poll_once(&x, &m);
	ck_assert_int_eq(m.package.kind, EIM_EPKG_ERROR);
	ck_assert_int_eq(m.package.err_code, EIM_PKG_ERR_NO_PACKAGE);

	/* what operators see */
	p = eim("results", "--since", "2999-01-01", "--json", NULL);
	ck_assert_str_eq(p.out, "[]\n");
	eim_test_proc_done(&p);
	cJSON *all = json_of("results", "--json", NULL);
	ck_assert_int_eq(cJSON_GetArraySize(all), 3);
	cJSON_Delete(all);
	cJSON *res = json_of("results", EID1, "--json");
	ck_assert_int_eq(cJSON_GetArraySize(res), 3);
	cJSON *r0 = cJSON_GetArrayItem(res, 0);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r0, "verified")));
	ck_assert_int_eq(cJSON_GetObjectItem(r0, "seq_number")->valueint, 1);
	cJSON *codes = cJSON_GetObjectItem(r0, "codes");
	ck_assert_str_eq(cJSON_GetArrayItem(codes, 0)->valuestring, "ok");
	ck_assert(cJSON_IsTrue(
		cJSON_GetObjectItem(cJSON_GetArrayItem(res, 1), "verified")));
	cJSON_Delete(res);

	cJSON *q = json_of("queue", "--json", NULL);
	ck_assert_int_eq(cJSON_GetArraySize(q), 3);
	for (int i = 0; i < 3; i++) {
		cJSON *pk = cJSON_GetArrayItem(q, i);
		ck_assert_str_eq(cJSON_GetObjectItem(pk, "state")->valuestring,
				 "done");
		ck_assert_int_eq(cJSON_GetObjectItem(pk, "counter")->valueint,
				 i + 1);
	}
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(q, 0),
					     "attempts")
				 ->valueint,
			 2);
	cJSON_Delete(q);

	p = eim("device", "show", EID1, "--json", NULL);
	ck_assert_msg(eim_test_contains(p.out, "\"eim_list\":[{\"eim_id\":"
					       "\"eim-one\"}]"),
		      "%s", p.out);
	eim_test_proc_done(&p);

	eim_sig_key_free(eim_key);
	eim_sig_key_free(euicc_key);
	/* SIGTERM: a clean exit */
	ck_assert_int_eq(eim_test_child_stop(&server, SIGTERM), 0);
}
END_TEST

START_TEST(garbage_gets_400_and_changes_nothing)
{
	struct exchange x;
	static const uint8_t junk[] = {0xBF, 0x4F, 0x20, 0x5A, 0x10, 0x89};
	static const uint8_t notesipa[] = "hello";

	struct eim_test_proc p = eim("submit", EID1, "get-rat", NULL);
	eim_test_proc_done(&p);
	post(junk, sizeof(junk), &x);
	ck_assert_uint_eq(x.code, EIM_COAP_CODE(4, 0));
	x.body[x.len < sizeof(x.body) ? x.len : 0] = 0;
	ck_assert_msg(strstr((char *)x.body, "malformed ESipa message at byte"),
		      "%s", x.body);
	post(notesipa, 5, &x);
	ck_assert_uint_eq(x.code, EIM_COAP_CODE(4, 0));

	cJSON *q = json_of("queue", "--json", NULL);
	cJSON *pk = cJSON_GetArrayItem(q, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(pk, "state")->valuestring,
			 "queued");
	ck_assert_int_eq(cJSON_GetObjectItem(pk, "attempts")->valueint, 0);
	cJSON_Delete(q);
	ck_assert_int_eq(eim_test_child_stop(&server, SIGINT), 0);
}
END_TEST

/* Polls once and decodes the EuiccPackageRequest it must carry. */
static void poll_package(struct exchange *x, struct eim_pkg_view *v)
{
	struct eim_esipa_from_eim m;

	poll_once(x, &m);
	ck_assert_int_eq(m.package.kind, EIM_EPKG_EUICC_PACKAGE);
	ck_assert_int_eq(eim_pkg_decode(m.package.euicc_package.p,
					m.package.euicc_package.len, NULL, v),
			 0);
}

/* The poll cache of eim serve follows what other processes do to the
 * store: each step is a separate `eim` process between two polls. */
START_TEST(polls_follow_other_processes)
{
	struct exchange x, y;
	struct eim_esipa_from_eim m;
	struct eim_test_proc p;

	/* empty, twice (the second answer comes from the cache) */
	for (int i = 0; i < 2; i++) {
		poll_once(&x, &m);
		ck_assert_int_eq(m.package.kind, EIM_EPKG_ERROR);
		ck_assert_int_eq(m.package.err_code, EIM_PKG_ERR_NO_PACKAGE);
	}
	/* queued then cancelled by the operator: never delivered */
	p = eim("submit", EID1, "get-rat", NULL);
	eim_test_proc_done(&p);
	p = eim("cancel", "1", NULL);
	ck_assert_int_eq(p.status, 0);
	eim_test_proc_done(&p);
	poll_once(&x, &m);
	ck_assert_int_eq(m.package.kind, EIM_EPKG_ERROR);
	/* queued: delivered on the very next poll, then the same bytes */
	p = eim("submit", EID1, "list-eim", NULL);
	eim_test_proc_done(&p);
	poll_once(&x, &m);
	ck_assert_int_eq(m.package.kind, EIM_EPKG_EUICC_PACKAGE);
	for (int i = 0; i < 3; i++) {
		poll_once(&y, &m);
		ck_assert_uint_eq(x.len, y.len);
		ck_assert_mem_eq(x.body, y.body, x.len);
	}
	/* the device removed by the operator: eidNotFound at once */
	p = eim("device", "remove", EID1, "--force", NULL);
	ck_assert_int_eq(p.status, 0);
	eim_test_proc_done(&p);
	poll_once(&x, &m);
	ck_assert_int_eq(m.package.kind, EIM_EPKG_ERROR);
	ck_assert_int_eq(m.package.err_code, EIM_PKG_ERR_EID_NOT_FOUND);
	ck_assert_int_eq(eim_test_child_stop(&server, SIGTERM), 0);
}
END_TEST

/* Re-poll attempts are counted in memory and written at exit. */
START_TEST(repoll_attempts_written_at_exit)
{
	struct exchange x;
	struct eim_esipa_from_eim m;
	struct eim_test_proc p = eim("submit", EID1, "list-eim", NULL);

	eim_test_proc_done(&p);
	for (int i = 0; i < 4; i++) {
		poll_once(&x, &m);
		ck_assert_int_eq(m.package.kind, EIM_EPKG_EUICC_PACKAGE);
	}
	ck_assert_int_eq(eim_test_child_stop(&server, SIGTERM), 0);
	cJSON *q = json_of("queue", "--json", NULL);
	cJSON *pk = cJSON_GetArrayItem(q, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(pk, "state")->valuestring, "sent");
	ck_assert_int_eq(cJSON_GetObjectItem(pk, "attempts")->valueint, 4);
	cJSON_Delete(q);
}
END_TEST

START_TEST(counter_renewal)
{
	struct exchange x, y;
	struct eim_esipa_from_eim m2;
	struct eim_pkg_view v;
	struct eim_buf epr;
	char path[600];

	struct eim_test_proc p =
		eim("identity", "add", "--eim-id", "eim-two", NULL);
	eim_test_proc_done(&p);
	snprintf(path, sizeof(path), "%s/eim-one.key.pem", dir);
	struct eim_sig_key *k1 = load_key_file(path);
	snprintf(path, sizeof(path), "%s/eim-two.key.pem", dir);
	struct eim_sig_key *k2 = load_key_file(path);
	snprintf(path, sizeof(path), "%s/euicc.key.pem", dir);
	struct eim_sig_key *euicc = load_key_file(path);

	/* 1. eim-one associates eim-two; the eUICC gives it token 7 */
	p = eim("submit", EID1, "add-eim", "--identity", "eim-two", "--counter",
		"0", NULL);
	eim_test_proc_done(&p);
	poll_package(&x, &v);
	ck_assert_int_eq(eim_pkg_verify(&v, 0, k1), 0);
	struct eim_epr_result add7 = {.tag = EIM_RES_ADD_EIM,
				      .code = -1,
				      .has_token = true,
				      .token = 7};
	eim_buf_init(&epr);
	make_epr_token(&v, 1, &add7, 1, 0, euicc, &epr);
	provide(epr.p, epr.len, EIM_RESULT_EPR, &y, &m2);
	ck_assert_int_eq(m2.provide.kind, EIM_PRESP_ACKS);
	eim_buf_done(&epr);
	eim_pkg_view_done(&v);
	p = eim("device", "show", EID1, "--json", NULL);
	eim_test_proc_done(&p);

	/* 2. eim renew: eim-two deletes and re-adds eim-one */
	p = eim("renew", EID1, "--eim", "eim-one", "--via", "eim-two", NULL);
	ck_assert(eim_test_contains(p.out, "queued"));
	eim_test_proc_done(&p);
	poll_package(&x, &v);
	ck_assert(v.pkg.is_eco);
	ck_assert_uint_eq(v.pkg.n_ops, 2);
	ck_assert_int_eq(v.pkg.eco[0].kind, EIM_ECO_DELETE_EIM);
	ck_assert_int_eq(v.pkg.eco[1].kind, EIM_ECO_ADD_EIM);
	ck_assert(v.pkg.eco[1].cfg.has_token);
	ck_assert_int_eq(v.pkg.eco[1].cfg.token, -1); /* request a token */
	ck_assert_int_eq(v.pkg.eco[1].cfg.counter, 0);
	/* signed by eim-two under ITS token, 7 */
	ck_assert_int_eq(eim_pkg_verify(&v, 7, k2), 0);
	ck_assert_int_ne(eim_pkg_verify(&v, 0, k2), 0);
	struct eim_epr_result ren[2] = {
		{.tag = EIM_RES_DELETE_EIM, .code = 0},
		{.tag = EIM_RES_ADD_EIM,
		 .code = -1,
		 .has_token = true,
		 .token = 99},
	};
	eim_buf_init(&epr);
	make_epr_token(&v, 2, ren, 2, 7, euicc, &epr);
	provide(epr.p, epr.len, EIM_RESULT_EPR, &y, &m2);
	ck_assert_int_eq(m2.provide.kind, EIM_PRESP_ACKS);
	eim_buf_done(&epr);
	eim_pkg_view_done(&v);

	/* 3. eim-one starts again at counter 1, signing under token 99 */
	p = eim("submit", EID1, "get-rat", "--json", NULL);
	ck_assert_msg(eim_test_contains(p.out, "\"counter\":1,"), "%s", p.out);
	eim_test_proc_done(&p);
	poll_package(&x, &v);
	ck_assert_int_eq(v.pkg.counter, 1);
	ck_assert_int_eq(eim_pkg_verify(&v, 99, k1), 0);
	ck_assert_int_ne(eim_pkg_verify(&v, 0, k1), 0);
	eim_pkg_view_done(&v);

	eim_sig_key_free(k1);
	eim_sig_key_free(k2);
	eim_sig_key_free(euicc);
}
END_TEST

START_TEST(renew_refusals)
{
	struct eim_test_proc p;
	char *argv[] = {(char *)eim_test_bin(), (char *)"renew",
			(char *)EID1,		(char *)"--eim",
			(char *)"eim-one",	(char *)"--via",
			(char *)"eim-two",	NULL};
	char *env[] = {dbenv, NULL};

	p = eim("identity", "add", "--eim-id", "eim-two", NULL);
	eim_test_proc_done(&p);
	/* eim-two is not associated with the device yet */
	ck_assert_int_eq(eim_test_run(argv, env, NULL, 0, &p), 0);
	ck_assert_int_eq(p.status, 1);
	ck_assert(eim_test_contains(p.err, "'eim-two' is not associated"));
	eim_test_proc_done(&p);
}
END_TEST

static Suite *serve_suite(void)
{
	Suite *s = suite_create("serve");
	TCase *tc = tcase_create("coap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, device_session);
	tcase_add_test(tc, garbage_gets_400_and_changes_nothing);
	tcase_add_test(tc, polls_follow_other_processes);
	tcase_add_test(tc, repoll_attempts_written_at_exit);
	tcase_add_test(tc, counter_renewal);
	tcase_add_test(tc, renew_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(serve_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
