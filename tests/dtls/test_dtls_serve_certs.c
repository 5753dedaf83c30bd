/*
 * Integration test: our CoAP-over-DTLS client against a running
 * `eim serve` with server credentials (--dtls-cert / --dtls-key /
 * --dtls-client-ca), on TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (RFC 7925):
 *  - the device checks the server chain (intermediate sent by the server)
 *    against the test root and its name, authenticates with its own
 *    certificate chain (registered by fingerprint), and gets the answer to
 *    a real ESipa GetEimPackageRequest;
 *  - the device pins the server's raw public key (RFC 7250) and
 *    authenticates with a registered raw key;
 *  - an unregistered raw key, and a device trusting another root, get no
 *    session at all.
 *
 * Fixtures: tests/dtls/fixtures/test-pki-* (make-pki.sh).
 */
#include "tests/support/eim_test.h"

#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_esipa.h"
#include "transport/eim_coap_dtls.h"
#include "transport/eim_coap_msg.h"
#include "transport/eim_dtls_hs.h"
#include "transport/eim_loop.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EID1 "89049032123451234512345678901235"
#define EID2 "89049032123451234512345678901332"

static char dir[512], db[600], dbenv[640], server_addr[64];
static struct eim_test_child server;

static char *fixture_path(const char *name)
{
	static char p[4][1024];
	static int k;
	const char *root = getenv("EIM_SOURCE_ROOT");

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/tests/dtls/fixtures/%s",
		 root ? root : ".", name);
	return p[k];
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void eim_ok(const char *what, struct eim_test_proc p)
{
	ck_assert_msg(p.status == 0, "eim %s: exit %d: %s", what, p.status,
		      p.err);
	eim_test_proc_done(&p);
}

static void setup(void)
{
	char cmd[2048], fp[80], line[512];
	size_t n;
	int port = 0;
	const char *at;

	snprintf(dir, sizeof(dir), "%s", eim_test_tmpdir());
	snprintf(db, sizeof(db), "%s/eim.db", dir);
	snprintf(dbenv, sizeof(dbenv), "EIM_DB=%s", db);
	eim_ok("init", eim_test_eim(db, "init", "--eim-id", "eim-one", NULL));
	/* device 1: its certificate, by fingerprint (computed by openssl) */
	snprintf(cmd, sizeof(cmd),
		 "openssl x509 -in '%s' -outform DER | openssl dgst -sha256 "
		 "-r | cut -c1-64 > '%s/client.fp'",
		 fixture_path("test-pki-client.cert.pem"), dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/client.fp", dir);
	char *hex = slurp(cmd, &n);
	ck_assert_uint_ge(n, 64);
	memcpy(fp, hex, 64);
	fp[64] = 0;
	free(hex);
	eim_ok("device add 1", eim_test_eim(db, "device", "add", EID1,
					    "--cert-fingerprint", fp, NULL));
	/* device 2: a raw public key (the self-signed fixture's key) */
	snprintf(cmd, sizeof(cmd),
		 "openssl pkey -in '%s' -pubout -out '%s/rpk.pem'",
		 fixture_path("test-pki-self.key.pem"), dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/rpk.pem", dir);
	eim_ok("device add 2",
	       eim_test_eim(db, "device", "add", EID2, "--rpk", cmd, NULL));

	char *argv[] = {(char *)eim_test_bin(),
			(char *)"serve",
			(char *)"--listen",
			(char *)"127.0.0.1:0",
			(char *)"--dtls-cert",
			fixture_path("test-pki-server.chain.pem"),
			(char *)"--dtls-key",
			fixture_path("test-pki-server.key.pem"),
			(char *)"--dtls-client-ca",
			fixture_path("test-pki-root.cert.pem"),
			NULL};
	char *env[] = {dbenv, NULL};

	ck_assert_int_eq(eim_test_spawn(argv, env, &server), 0);
	ck_assert_int_eq(eim_test_child_line(&server, line, sizeof(line),
					     10000),
			 0);
	ck_assert_msg(eim_test_contains(line, "certificate or raw key"),
		      "first line: %s", line);
	at = strstr(line, "127.0.0.1:");
	ck_assert_msg(at != NULL, "first line of eim serve: '%s'", line);
	ck_assert_int_eq(sscanf(at, "127.0.0.1:%d", &port), 1);
	snprintf(server_addr, sizeof(server_addr), "127.0.0.1:%d", port);
}

static void teardown(void)
{
	if (server.pid > 0)
		eim_test_child_stop(&server, SIGTERM);
	server.pid = 0;
	eim_test_rmdir(dir);
}

/* One device session: handshake, then GetEimPackage. */
struct run {
	struct eim_loop *loop;
	struct eim_loop_timer deadline;
	bool failed, answered;
	uint8_t code;
	uint8_t body[4096];
	size_t body_len;
};

static void on_state(void *ctx, struct eim_coap_dtls_client *c,
		     enum eim_dtls_client_state st)
{
	struct run *r = ctx;

	(void)c;
	if (st == EIM_DTLS_CLIENT_FAILED) {
		r->failed = true;
		eim_loop_stop(r->loop);
	}
}

static void on_response(void *ctx, int status,
			const struct eim_coap_client_response *resp)
{
	struct run *r = ctx;

	if (status == 0 && resp && resp->body_len <= sizeof(r->body)) {
		r->answered = true;
		r->code = resp->code;
		memcpy(r->body, resp->body, resp->body_len);
		r->body_len = resp->body_len;
	}
	eim_loop_stop(r->loop);
}

static void on_deadline(struct eim_loop *l, void *ctx)
{
	(void)ctx;
	eim_loop_stop(l);
}

static char *dup_wipe_later(const char *p, size_t n)
{
	char *d = p ? malloc(n + 1) : NULL;

	if (d) {
		memcpy(d, p, n);
		d[n] = 0;
	}
	return d;
}

/* Runs one session with dtls (send/on_app_data set by the glue) as the
 * device with EID eid. The credentials handed to the glue are wiped and
 * freed as soon as it is created: it must keep its own copies, which a
 * second, full handshake then uses (same device, same answer). */
static void device_session(struct eim_dtls_client_config *dc, const char *eid,
			   struct run *r)
{
	struct eim_coap_dtls_client *c = NULL;
	struct eim_esipa_from_ipa req;
	struct eim_buf b;
	size_t n = 0;
	uint16_t suite = EIM_DTLS_ECDHE_ECDSA_AES128_CCM8;
	struct eim_dtls_client_config mine = *dc;
	char *cert = dup_wipe_later(dc->cert_pem, dc->cert_pem_len);
	char *key = dup_wipe_later(dc->key_pem, dc->key_pem_len);
	char *name = dc->server_name ? dup_wipe_later(dc->server_name,
						      strlen(dc->server_name))
				     : NULL;
	uint8_t pin[32];

	memset(r, 0, sizeof(*r));
	mine.suites = &suite;
	mine.n_suites = 1;
	mine.cert_pem = cert;
	mine.key_pem = key;
	mine.server_name = name;
	if (dc->server_rpk_sha256) {
		memcpy(pin, dc->server_rpk_sha256, 32);
		mine.server_rpk_sha256 = pin;
	}
	ck_assert_int_eq(eim_loop_new(&r->loop), 0);
	eim_loop_timer_init(&r->deadline, on_deadline, r);
	ck_assert_int_eq(eim_loop_timer_start(r->loop, &r->deadline,
					      eim_loop_now(r->loop) + 15000),
			 0);
	ck_assert_int_eq(eim_coap_dtls_client_new(r->loop, server_addr, &mine,
						  NULL, &c),
			 0);
	if (cert)
		memset(cert, 'x', dc->cert_pem_len);
	if (key)
		memset(key, 'x', dc->key_pem_len);
	if (name)
		memset(name, 'x', strlen(name));
	memset(pin, 0, sizeof(pin));
	free(cert);
	free(key);
	free(name);
	eim_coap_dtls_client_on_state(c, on_state, r);
	memset(&req, 0, sizeof(req));
	req.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	ck_assert_int_eq(eim_hex_decode(eid, 32, req.get.eid, 16, &n), 0);
	eim_buf_init(&b);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&req, &b), 0);
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/gsma/rsp2/asn1",
		.content_format = -1,
		.body = b.p,
		.body_len = b.len,
		.cb = on_response,
		.cb_ctx = r,
	};
	ck_assert_int_eq(eim_coap_dtls_client_request(c, &rq), 0);
	eim_loop_run(r->loop);
	if (r->answered) {
		struct eim_coap_dtls_client_stats st;

		r->answered = false;
		ck_assert_int_eq(eim_coap_dtls_client_rehandshake(c), 0);
		ck_assert_int_eq(eim_coap_dtls_client_request(c, &rq), 0);
		eim_loop_run(r->loop);
		eim_coap_dtls_client_stats(c, &st);
		ck_assert_uint_eq(st.handshakes, 2);
	}
	eim_buf_done(&b);
	eim_coap_dtls_client_free(c);
	eim_loop_timer_stop(r->loop, &r->deadline);
	eim_loop_free(r->loop);
}

/* The answer is an ESipa GetEimPackageResponse. */
static void check_answer(const struct run *r)
{
	struct eim_esipa_from_eim m;

	ck_assert_msg(r->answered, "no CoAP answer (handshake %s)",
		      r->failed ? "failed" : "timed out");
	ck_assert_uint_eq(r->code, EIM_COAP_CHANGED);
	ck_assert_int_eq(eim_esipa_decode_from_eim(r->body, r->body_len, NULL,
						   &m),
			 0);
	ck_assert_uint_eq(m.tag, EIM_ESIPA_GET_EIM_PACKAGE);
}

START_TEST(certificate_chain_both_ways)
{
	struct eim_dtls_client_config dc;
	struct run r;
	size_t al, cl, kl;
	char *ca = slurp(fixture_path("test-pki-root.cert.pem"), &al);
	char *chain = slurp(fixture_path("test-pki-client.chain.pem"), &cl);
	char *key = slurp(fixture_path("test-pki-client.key.pem"), &kl);

	eim_dtls_client_config_init(&dc);
	dc.ca_pem = ca;
	dc.ca_pem_len = al;
	dc.server_name = "eim.test";
	dc.cert_pem = chain;
	dc.cert_pem_len = cl;
	dc.key_pem = key;
	dc.key_pem_len = kl;
	device_session(&dc, EID1, &r);
	check_answer(&r);
	/* the same device trusting another root refuses the server */
	free(ca);
	ca = slurp(fixture_path("test-pki-self.cert.pem"), &al);
	dc.ca_pem = ca;
	dc.ca_pem_len = al;
	device_session(&dc, EID1, &r);
	ck_assert(r.failed && !r.answered);
	free(ca);
	free(chain);
	free(key);
}
END_TEST

START_TEST(raw_public_keys_both_ways)
{
	struct eim_dtls_client_config dc;
	struct run r;
	size_t kl, hl, n = 0;
	char *key = slurp(fixture_path("test-pki-self.key.pem"), &kl);
	char *hex = slurp(fixture_path("test-pki-server.spki.sha256"), &hl);
	char *other = NULL;
	uint8_t pin[32];

	ck_assert_int_eq(eim_hex_decode(hex, 64, pin, sizeof(pin), &n), 0);
	eim_dtls_client_config_init(&dc);
	dc.server_rpk_sha256 = pin;
	dc.client_rpk = true;
	dc.key_pem = key;
	dc.key_pem_len = kl;
	device_session(&dc, EID2, &r);
	check_answer(&r);
	/* a raw key the server has not registered: no session */
	other = slurp(fixture_path("test-pki-int.key.pem"), &kl);
	dc.key_pem = other;
	dc.key_pem_len = kl;
	device_session(&dc, EID2, &r);
	ck_assert(r.failed && !r.answered);
	free(key);
	free(hex);
	free(other);
}
END_TEST

/* Credential mistakes stop eim serve before it listens, saying why. */
START_TEST(credential_errors)
{
	struct eim_test_proc p;

	p = eim_test_eim(db, "serve", "--listen", "127.0.0.1:0", "--dtls-cert",
			 fixture_path("test-pki-server.chain.pem"), NULL);
	ck_assert_int_eq(p.status, 1);
	ck_assert_msg(eim_test_contains(p.err, "needs dtls.private_key"), "%s",
		      p.err);
	eim_test_proc_done(&p);
	/* a P-384 key: the ECDSA suites here are P-256 only */
	p = eim_test_eim(db, "serve", "--listen", "127.0.0.1:0", "--dtls-key",
			 fixture_path("test-pki-client-p384.key.pem"), NULL);
	ck_assert_int_eq(p.status, 1);
	ck_assert_msg(eim_test_contains(p.err, "cannot serve DTLS"), "%s",
		      p.err);
	eim_test_proc_done(&p);
	/* a client CA file that holds no certificate */
	p = eim_test_eim(db, "serve", "--listen", "127.0.0.1:0", "--dtls-key",
			 fixture_path("test-pki-server.key.pem"),
			 "--dtls-client-ca",
			 fixture_path("test-pki-server.key.pem"), NULL);
	ck_assert_int_eq(p.status, 1);
	ck_assert_msg(eim_test_contains(p.err, "cannot serve DTLS"), "%s",
		      p.err);
	eim_test_proc_done(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_serve_certs");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, certificate_chain_both_ways);
	tcase_add_test(tc, raw_public_keys_both_ways);
	tcase_add_test(tc, credential_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
