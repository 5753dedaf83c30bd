/*
 * The simulated device against the real eIM: `eim serve` over DTLS 1.2 with
 * a Connection ID, on loopback, with a device whose eUICC model was
 * bootstrapped from `eim export-initial-eim` and whose certificate chains
 * to a generated test CI.
 *
 *  - every PSMO and eCO kind is delivered, executed by the model and its
 *    result verified by the eIM (`eim results --json`);
 *  - a wake from a new source port (NAT rebinding) continues the DTLS
 *    session without a handshake;
 *  - the model rejects a package whose signature was tampered with
 *    (unsigned error), one signed for another EID (invalidEid) and a
 *    replayed counter (replayError), and those codes reach the eIM.
 * The last three are produced by altering the eIM's database directly, as
 * a faulty or malicious eIM would.
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim_test.h"
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_ipa.h"
#include "examples/eim_sim_pki.h"
#include "proto/eim_ids.h"
#include "transport/eim_loop.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EID1 "89049032123451234512345678901235"
#define EID2 "89044045116727494800000004479366"
#define ICCID_A "89440012345678901234"
#define ICCID_B "8944001234567890123"
#define PSK_HEX "000102030405060708090a0b0c0d0e0f"

static const char *dir;
static char db[600], server[64];
static struct eim_test_child srv;
static struct eim_sim_euicc *euicc;
static struct eim_sim_pki pki;
static struct eim_sim_cred cred;

#define eim(...) eim_ok(eim_test_eim(db, __VA_ARGS__))
static struct eim_test_proc eim_ok(struct eim_test_proc p)
{
	ck_assert_msg(p.status == 0, "eim: exit %d: %s", p.status, p.err);
	return p;
}
static void run(struct eim_test_proc p)
{
	eim_test_proc_done(&p);
}

static void add_profile(const char *iccid, bool fallback_allowed)
{
	struct eim_sim_profile p;

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(eim_iccid_parse(iccid, p.iccid), 0);
	snprintf(p.name, sizeof(p.name), "profile %s", iccid + 14);
	p.profile_class = 2;
	p.fallback_allowed = fallback_allowed;
	ck_assert_int_eq(eim_sim_euicc_add_profile(euicc, &p), 0);
}

static void setup(void)
{
	char path[700], line[256];
	uint8_t eid[16];
	FILE *f;

	dir = eim_test_tmpdir();
	snprintf(db, sizeof(db), "%s/eim.db", dir);
	/* the test PKI and the device's eUICC credentials */
	ck_assert_int_eq(eim_sim_pki_generate(&pki), 0);
	ck_assert_int_eq(eim_sim_pki_issue_euicc(&pki, EID1, &cred), 0);
	ck_assert_int_eq(eim_sim_cred_write(&cred, dir, "euicc"), 0);
	ck_assert_int_eq(eim_sim_pki_write(&pki, dir), 0);
	ck_assert_int_eq(eim_eid_parse(EID1, eid), 0);
	ck_assert_int_eq(eim_sim_euicc_new(eid, cred.key, cred.key_len,
					   cred.cert, cred.cert_len,
					   pki.eum.cert, pki.eum.cert_len,
					   &euicc),
			 0);
	add_profile(ICCID_A, true);
	add_profile(ICCID_B, false);

	/* the eIM: identity, the factory bootstrap of the eUICC, the device */
	run(eim("init", "--eim-id", "eim-one", NULL));
	run(eim("identity", "add", "--eim-id", "eim-two", NULL));
	snprintf(path, sizeof(path), "%s/air.der", dir);
	run(eim("export-initial-eim", "--identity", "eim-one", "--out", path,
		NULL));
	f = fopen(path, "rb");
	uint8_t air[4096];
	size_t n = fread(air, 1, sizeof(air), f);
	fclose(f);
	struct eim_buf resp;
	eim_buf_init(&resp);
	ck_assert_int_eq(eim_sim_euicc_add_initial_eim(euicc, air, n, &resp),
			 0);
	ck_assert_uint_eq(euicc->n_eims, 1);
	eim_buf_done(&resp);
	char cert[700], eum[700];
	snprintf(cert, sizeof(cert), "%s/euicc.pem", dir);
	snprintf(eum, sizeof(eum), "%s/eum.pem", dir);
	run(eim("device", "add", EID1, "--psk-identity", "sensor-1", "--psk",
		PSK_HEX, "--euicc-cert", cert, "--euicc-cert", eum, "--eim",
		"eim-one", NULL));
	run(eim("device", "add", EID2, "--psk-identity", "sensor-2", "--psk",
		PSK_HEX, "--eim", "eim-one", "--counter", "100", NULL));

	char ci[700], dbenv[700];
	snprintf(ci, sizeof(ci), "%s/ci.pem", dir);
	snprintf(dbenv, sizeof(dbenv), "EIM_DB=%s", db);
	char *argv[] = {(char *)eim_test_bin(),
			(char *)"serve",
			(char *)"--listen",
			(char *)"127.0.0.1:0",
			(char *)"--ci-root",
			ci,
			NULL};
	char *env[] = {dbenv, NULL};
	ck_assert_int_eq(eim_test_spawn(argv, env, &srv), 0);
	ck_assert_int_eq(eim_test_child_line(&srv, line, sizeof(line), 10000),
			 0);
	const char *at = strstr(line, "127.0.0.1:");
	int port = 0;
	ck_assert_msg(at && sscanf(at, "127.0.0.1:%d", &port) == 1, "%s", line);
	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
}

static void teardown(void)
{
	if (srv.pid > 0)
		eim_test_child_stop(&srv, SIGKILL);
	eim_sim_euicc_free(euicc);
	eim_sim_cred_done(&cred);
	eim_sim_pki_done(&pki);
	eim_test_rmdir(dir);
}

/* ---- one device, driven to the end of a wake ----------------------------- */

struct wake {
	struct eim_loop *loop;
	int status;
};

static void on_done(void *ctx, struct eim_sim_ipa *ipa, int status)
{
	struct wake *w = ctx;
	(void)ipa;
	w->status = status;
	eim_loop_stop(w->loop);
}

static int wake(struct eim_loop *l, struct eim_sim_ipa *ipa, bool rebind)
{
	struct wake w = {l, 1};

	ck_assert_int_eq(eim_sim_ipa_wake(ipa, rebind, on_done, &w), 0);
	ck_assert_int_eq(eim_loop_run(l), 0);
	ck_assert_msg(w.status == 0, "wake: %s", eim_sim_ipa_errmsg(ipa));
	return w.status;
}

static struct eim_sim_ipa *make_ipa(struct eim_loop *l)
{
	struct eim_dtls_client_config d;
	struct eim_sim_ipa *ipa = NULL;
	uint8_t psk[16];
	size_t n = 0;

	eim_dtls_client_config_init(&d);
	ck_assert_int_eq(eim_hex_decode(PSK_HEX, 32, psk, sizeof(psk), &n), 0);
	d.psk_identity = (const uint8_t *)"sensor-1";
	d.psk_identity_len = 8;
	d.psk = psk;
	d.psk_len = n;
	d.use_cid = true;
	ck_assert_int_eq(eim_sim_ipa_new(l, server, &d, euicc, &ipa), 0);
	return ipa;
}

static cJSON *results(void)
{
	struct eim_test_proc p = eim("results", EID1, "--json", NULL);
	cJSON *j = cJSON_Parse(p.out);
	ck_assert_ptr_nonnull(j);
	eim_test_proc_done(&p);
	return j;
}

static void sql(const char *stmt)
{
	sqlite3 *h = NULL;
	char *err = NULL;

	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	ck_assert_msg(sqlite3_exec(h, stmt, NULL, NULL, &err) == SQLITE_OK,
		      "%s: %s", stmt, err ? err : "?");
	sqlite3_close(h);
}

START_TEST(every_operation_end_to_end)
{
	struct eim_loop *l = NULL;

	run(eim("submit", EID1, "enable", "--iccid", ICCID_A, NULL));
	run(eim("submit", EID1, "list-profiles", NULL));
	run(eim("submit", EID1, "disable", "--iccid", ICCID_A, "+", "enable",
		"--iccid", ICCID_B, "--rollback", NULL));
	run(eim("submit", EID1, "set-fallback", "--iccid", ICCID_A, "+",
		"unset-fallback", NULL));
	run(eim("submit", EID1, "configure-immediate-enable", "--enable", "+",
		"set-default-dp", "smdp.example.com", "+", "get-rat", NULL));
	run(eim("submit", EID1, "add-eim", "--identity", "eim-two", "--counter",
		"0", NULL));
	run(eim("submit", EID1, "list-eim", "+", "update-eim", "--eim-id",
		"eim-two", "--fqdn", "two.example.com", NULL));
	run(eim("submit", EID1, "delete-eim", "--eim-id", "eim-two", NULL));
	run(eim("submit", EID1, "get-euicc-data", "--tags",
		"euicc-certificate,eum-certificate", NULL));
	run(eim("submit", EID1, "disable", "--iccid", ICCID_B, "+", "delete",
		"--iccid", ICCID_A, NULL));

	ck_assert_int_eq(eim_loop_new(&l), 0);
	struct eim_sim_ipa *ipa = make_ipa(l);
	wake(l, ipa, false);
	struct eim_sim_ipa_stats st;
	eim_sim_ipa_stats(ipa, &st);
	ck_assert_uint_eq(st.packages, 9);
	ck_assert_uint_eq(st.data_requests, 1);
	ck_assert_uint_eq(euicc->n_results, 0); /* every result acknowledged */

	/* what the operator sees: every signed result verified, all ok */
	cJSON *r = results();
	ck_assert_int_eq(cJSON_GetArraySize(r), 10);
	int verified = 0;
	for (int i = 0; i < 10; i++) {
		cJSON *x = cJSON_GetArrayItem(r, i);
		cJSON *codes = cJSON_GetObjectItem(x, "codes");
		if (cJSON_IsTrue(cJSON_GetObjectItem(x, "verified")))
			verified++;
		for (int k = 0;
		     cJSON_IsArray(codes) && k < cJSON_GetArraySize(codes);
		     k++) {
			const char *c =
				cJSON_GetArrayItem(codes, k)->valuestring;
			ck_assert_msg(strcmp(c, "ok") == 0 ||
					      strcmp(c, "data") == 0,
				      "result %d code %s", i, c);
		}
	}
	ck_assert_int_eq(verified, 9); /* all but the eUICC data answer */
	cJSON_Delete(r);
	/* the model's state agrees: B enabled... then disabled, A deleted */
	ck_assert_int_eq(eim_sim_euicc_find_profile(
				 euicc,
				 (const uint8_t *)"\x98\x44"
						  "\x00\x21\x43\x65\x87\x09"
						  "\x21\x43"),
			 -1);
	ck_assert_uint_eq(euicc->n_eims, 1);

	/* the device sleeps, wakes from a new port: no new handshake */
	struct eim_coap_dtls_client_stats cs;
	int port0 = eim_coap_dtls_client_local_port(eim_sim_ipa_transport(ipa));
	wake(l, ipa, true);
	eim_coap_dtls_client_stats(eim_sim_ipa_transport(ipa), &cs);
	ck_assert_int_ne(eim_coap_dtls_client_local_port(
				 eim_sim_ipa_transport(ipa)),
			 port0);
	ck_assert(eim_coap_dtls_client_has_cid(eim_sim_ipa_transport(ipa)));
	ck_assert_uint_eq(cs.handshakes, 1);
	ck_assert_uint_eq(cs.rebinds, 1);

	eim_sim_ipa_free(ipa);
	eim_loop_free(l);
}
END_TEST

START_TEST(tampered_foreign_and_replayed_packages_are_refused)
{
	struct eim_loop *l = NULL;

	/* 1: a genuine package, executed (counter 1) */
	run(eim("submit", EID1, "get-rat", NULL));
	ck_assert_int_eq(eim_loop_new(&l), 0);
	struct eim_sim_ipa *ipa = make_ipa(l);
	wake(l, ipa, false);

	/* 2: its signature altered in the eIM's database */
	run(eim("submit", EID1, "get-rat", NULL));
	sql("UPDATE package SET bytes = substr(bytes, 1, length(bytes) - 1)"
	    " || x'00' WHERE id = 2");
	/* 3: a package signed for EID2, handed to EID1 */
	run(eim("submit", EID2, "get-rat", NULL));
	sql("UPDATE package SET device_id = (SELECT device_id FROM package"
	    " WHERE id = 1) WHERE id = 3");
	/* 4: package 1 delivered again (its counter was already used) */
	sql("UPDATE package SET id = 4, state = 0 WHERE id = 1");
	wake(l, ipa, true);

	cJSON *r = results();
	ck_assert_int_eq(cJSON_GetArraySize(r), 4);
	const char *want[] = {"ok", NULL, "invalidEid", "replayError"};
	for (int i = 1; i < 4; i++) {
		cJSON *x = cJSON_GetArrayItem(r, i);
		cJSON *sum = cJSON_GetObjectItem(x, "summary");
		const char *type =
			cJSON_GetObjectItem(sum, "type")->valuestring;
		if (i == 1) {
			/* bad eimSignature: the eUICC signs nothing */
			ck_assert_str_eq(type, "euiccPackageErrorUnsigned");
			ck_assert(!cJSON_IsTrue(
				cJSON_GetObjectItem(x, "verified")));
			continue;
		}
		ck_assert_str_eq(type, "euiccPackageErrorSigned");
		ck_assert_str_eq(cJSON_GetObjectItem(sum, "error")->valuestring,
				 want[i]);
		ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(x, "verified")));
	}
	cJSON_Delete(r);
	eim_sim_ipa_free(ipa);
	eim_loop_free(l);
}
END_TEST

/* A wake that may fail: its status. */
static int wake_status(struct eim_loop *l, struct eim_sim_ipa *ipa, bool rebind)
{
	struct wake w = {l, 1};

	ck_assert_int_eq(eim_sim_ipa_wake(ipa, rebind, on_done, &w), 0);
	ck_assert_int_eq(eim_loop_run(l), 0);
	return w.status;
}

/* eim serve restarted on the same port has lost every DTLS session: the
 * device's next wake, resumed by CID, gets no answer (the server drops
 * records of unknown CIDs silently, RFC 9146 has no alert for it), and
 * the wake after that must start a new handshake instead of resuming
 * the dead session again. */
START_TEST(no_answer_then_a_fresh_handshake)
{
	struct eim_loop *l = NULL;
	struct eim_coap_params cp;
	struct eim_sim_ipa_stats st;
	struct eim_coap_dtls_client_stats cs;
	char line[256], ci[700], dbenv[700];

	ck_assert_int_eq(eim_loop_new(&l), 0);
	struct eim_sim_ipa *ipa = make_ipa(l);
	eim_coap_params_default(&cp);
	cp.ack_timeout_ms = 300;
	cp.ack_random_factor = 1000;
	cp.max_retransmit = 1;
	eim_sim_ipa_set_coap_params(ipa, &cp);
	run(eim("submit", EID1, "get-rat", NULL));
	wake(l, ipa, false);

	ck_assert_int_eq(eim_test_child_stop(&srv, SIGTERM), 0);
	snprintf(ci, sizeof(ci), "%s/ci.pem", dir);
	snprintf(dbenv, sizeof(dbenv), "EIM_DB=%s", db);
	char *argv[] = {(char *)eim_test_bin(),
			(char *)"serve",
			(char *)"--listen",
			server,
			(char *)"--ci-root",
			ci,
			NULL};
	char *env[] = {dbenv, NULL};
	ck_assert_int_eq(eim_test_spawn(argv, env, &srv), 0);
	ck_assert_int_eq(eim_test_child_line(&srv, line, sizeof(line), 10000),
			 0);
	run(eim("submit", EID1, "get-rat", NULL));

	ck_assert_int_ne(wake_status(l, ipa, true), 0);
	ck_assert_str_eq(eim_sim_ipa_errmsg(ipa), "no answer from the eIM");
	wake(l, ipa, true);
	eim_sim_ipa_stats(ipa, &st);
	ck_assert_uint_eq(st.fresh_handshakes, 1);
	ck_assert_uint_eq(st.packages, 2);
	eim_coap_dtls_client_stats(eim_sim_ipa_transport(ipa), &cs);
	ck_assert_uint_eq(cs.handshakes, 2);
	cJSON *r = results();
	ck_assert_int_eq(cJSON_GetArraySize(r), 2);
	cJSON_Delete(r);
	eim_sim_ipa_free(ipa);
	eim_loop_free(l);
}
END_TEST

static Suite *ipa_suite(void)
{
	Suite *s = suite_create("sim_ipa");
	TCase *tc = tcase_create("device");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_operation_end_to_end);
	tcase_add_test(tc, tampered_foreign_and_replayed_packages_are_refused);
	tcase_add_test(tc, no_answer_then_a_fresh_handshake);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ipa_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
