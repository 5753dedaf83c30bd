/*
 * Interop: independent DTLS/CoAP clients (libcoap's coap-client-openssl and
 * coap-client-gnutls, which nobody here wrote) fetch a device's package
 * from the real `eim serve` over coaps with a PSK from the store.
 *
 *   - the right identity and key: the package arrives (BF4F { BF51 ... })
 *   - another device's identity asking for this EID: 4.03, nothing sent
 *   - a wrong key: the handshake fails and nothing is delivered
 *
 * coap-client exits 0 even on failures, so the test checks what it wrote.
 */
#include "eim_test.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EID1 "89049032123451234512345678901235"
#define EID2 "89044045116727494800000004479366"
#define PSK_TEXT "secret-psk-12345"

static const char *dir;
static char dbenv[600], url[128], req[600], out[600];
static struct eim_test_child server;

static struct eim_test_proc run(char *const argv[])
{
	struct eim_test_proc p;
	char *env[] = {dbenv, NULL};
	ck_assert_int_eq(eim_test_run(argv, env, NULL, 0, &p), 0);
	return p;
}

static void eim(const char *a, const char *b, const char *c, const char *d,
		const char *e, const char *f, const char *g)
{
	char *argv[] = {(char *)eim_test_bin(),
			(char *)a,
			(char *)b,
			(char *)c,
			(char *)d,
			(char *)e,
			(char *)f,
			(char *)g,
			NULL};
	struct eim_test_proc p = run(argv);
	ck_assert_msg(p.status == 0, "eim %s: %s", a, p.err);
	eim_test_proc_done(&p);
}

static void setup(void)
{
	char line[256], psk_hex[64];

	dir = eim_test_tmpdir();
	snprintf(dbenv, sizeof(dbenv), "EIM_DB=%s/eim.db", dir);
	for (size_t i = 0; i < strlen(PSK_TEXT); i++)
		sprintf(psk_hex + 2 * i, "%02x", (unsigned char)PSK_TEXT[i]);
	eim("init", "--eim-id", "eim-one", NULL, NULL, NULL, NULL);
	eim("device", "add", EID1, "--psk-identity", "sensor-1", "--psk",
	    psk_hex);
	eim("device", "add", EID2, "--psk-identity", "sensor-2", "--psk",
	    psk_hex);
	eim("submit", EID1, "enable", "--iccid", "89440012345678901234", NULL,
	    NULL);

	char *argv[] = {(char *)eim_test_bin(), (char *)"serve",
			(char *)"--listen", (char *)"127.0.0.1:0", NULL};
	char *env[] = {dbenv, NULL};
	ck_assert_int_eq(eim_test_spawn(argv, env, &server), 0);
	ck_assert_int_eq(eim_test_child_line(&server, line, sizeof(line),
					     10000),
			 0);
	int port = 0;
	const char *at = strstr(line, "127.0.0.1:");
	ck_assert_msg(at && sscanf(at, "127.0.0.1:%d", &port) == 1, "%s", line);
	snprintf(url, sizeof(url), "coaps://127.0.0.1:%d/gsma/rsp2/asn1", port);
	/* GetEimPackageRequest for EID1 */
	snprintf(req, sizeof(req), "%s/req.bin", dir);
	snprintf(out, sizeof(out), "%s/out.bin", dir);
	FILE *f = fopen(req, "wb");
	static const unsigned char get[] = {0xBF, 0x4F, 0x12, 0x5A, 0x10, 0x89,
					    0x04, 0x90, 0x32, 0x12, 0x34, 0x51,
					    0x23, 0x45, 0x12, 0x34, 0x56, 0x78,
					    0x90, 0x12, 0x35};
	fwrite(get, 1, sizeof(get), f);
	fclose(f);
}

static void teardown(void)
{
	if (server.pid > 0)
		eim_test_child_stop(&server, SIGKILL);
	eim_test_rmdir(dir);
}

/*
 * Runs a libcoap client; returns the size of the body it wrote to `out`
 * (-1: none). libcoap prints error responses ("4.03 <body>") on stderr
 * instead of writing them: that text goes to `said`.
 */
static char said[512];
static long client(const char *prog, const char *identity, const char *key)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/usr/bin/%s", prog);
	unlink(out);
	char *argv[] = {path,		(char *)"-u", (char *)identity,
			(char *)"-k",	(char *)key,  (char *)"-m",
			(char *)"post", (char *)"-f", req,
			(char *)"-o",	out,	      (char *)"-B",
			(char *)"10",	url,	      NULL};
	struct eim_test_proc p = run(argv);
	snprintf(said, sizeof(said), "%s%s", p.out, p.err);
	eim_test_proc_done(&p);
	if (stat(out, &st) != 0)
		return -1;
	return (long)st.st_size;
}

static void check_package(void)
{
	unsigned char b[8];
	FILE *f = fopen(out, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(b, 1, 8, f), 8);
	fclose(f);
	/* BF4F 81 89 BF51 81 85 30 ...: the signed EuiccPackageRequest */
	ck_assert_uint_eq(b[0], 0xBF);
	ck_assert_uint_eq(b[1], 0x4F);
	size_t at = b[2] == 0x81 ? 4 : 3; /* long or short length form */
	ck_assert_uint_eq(b[at], 0xBF);
	ck_assert_uint_eq(b[at + 1], 0x51);
}

static void run_matrix(const char *prog)
{
	/* a wrong key: no handshake, nothing delivered */
	ck_assert_int_le(client(prog, "sensor-1", "wrong-psk-000000"), 0);
	/* another device's identity: 4.03 with the reason */
	ck_assert_int_le(client(prog, "sensor-2", PSK_TEXT), 0);
	ck_assert_msg(strstr(said, "4.03") &&
			      strstr(said, "may not act for this EID"),
		      "%s said '%s'", prog, said);
	/* the device itself: its package, twice the same bytes */
	ck_assert_int_gt(client(prog, "sensor-1", PSK_TEXT), 100);
	check_package();
}

START_TEST(coap_client_openssl)
{
	run_matrix("coap-client-openssl");
}
END_TEST

START_TEST(coap_client_gnutls)
{
	run_matrix("coap-client-gnutls");
}
END_TEST

/*
 * Devices authenticated by a raw public key (RFC 7250, coap-client-gnutls
 * -M) and by a client certificate (coap-client-openssl -c -j), bound to
 * their EIDs by the SHA-256 fingerprints `eim device add` stores. The
 * server presents a certificate (dtls.certificate / dtls.private_key).
 */
START_TEST(certificate_and_raw_key_devices)
{
	char cmd[4096], cfg[700], line[256], fp[65] = {0};
	struct eim_test_child s2;
	FILE *f;

	eim_test_child_stop(&server, SIGTERM); /* the PSK-only server */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && openssl ecparam -name prime256v1 -genkey -noout "
		 "-out srv.key.pem && openssl req -new -x509 -key srv.key.pem "
		 "-subj /CN=127.0.0.1 -days 2 -out srv.crt && openssl ecparam "
		 "-name prime256v1 -genkey -noout -out rpk.key.pem && openssl "
		 "ecparam -name prime256v1 -genkey -noout -out dev.key.pem && "
		 "openssl req -new -x509 -key dev.key.pem -subj /CN=dev -days "
		 "2 -out dev.crt && openssl x509 -in dev.crt -outform DER | "
		 "sha256sum | cut -c1-64 > dev.fp",
		 dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/dev.fp", dir);
	f = fopen(cmd, "r");
	ck_assert_int_eq(fscanf(f, "%64s", fp), 1);
	fclose(f);
	char rpk[700], eid3[] = "89044045116727494800000000000003";
	snprintf(rpk, sizeof(rpk), "%s/rpk.key.pem", dir);
	/* EID1 (sensor-1, PSK) stays; EID3 by raw key, EID4 by certificate */
	eim("device", "add", eid3, "--rpk", rpk, NULL, NULL);
	eim("device", "add", "89033023426200000000000000000028",
	    "--cert-fingerprint", fp, NULL, NULL);
	eim("submit", eid3, "get-rat", NULL, NULL, NULL, NULL);
	snprintf(cfg, sizeof(cfg), "%s/eim.json", dir);
	f = fopen(cfg, "w");
	fprintf(f,
		"{\"dtls\": {\"certificate\": \"%s/srv.crt\", "
		"\"private_key\": \"%s/srv.key.pem\"}}",
		dir, dir);
	fclose(f);
	char *argv[] = {(char *)eim_test_bin(),
			(char *)"serve",
			(char *)"--config",
			cfg,
			(char *)"--listen",
			(char *)"127.0.0.1:0",
			NULL};
	char *env[] = {dbenv, NULL};
	ck_assert_int_eq(eim_test_spawn(argv, env, &s2), 0);
	ck_assert_int_eq(eim_test_child_line(&s2, line, sizeof(line), 10000),
			 0);
	ck_assert(strstr(line, "certificate or raw key"));
	int port = 0;
	ck_assert(sscanf(strstr(line, "127.0.0.1:"), "127.0.0.1:%d", &port) ==
		  1);
	snprintf(url, sizeof(url), "coaps://127.0.0.1:%d/gsma/rsp2/asn1", port);

	/* GetEimPackage for EID3 */
	static const unsigned char get3[] = {0xBF, 0x4F, 0x12, 0x5A, 0x10, 0x89,
					     0x04, 0x40, 0x45, 0x11, 0x67, 0x27,
					     0x49, 0x48, 0x00, 0x00, 0x00, 0x00,
					     0x00, 0x00, 0x03};
	f = fopen(req, "wb");
	fwrite(get3, 1, sizeof(get3), f);
	fclose(f);
	char *rpk_argv[] = {(char *)"/usr/bin/coap-client-gnutls",
			    (char *)"-M",
			    rpk,
			    (char *)"-m",
			    (char *)"post",
			    (char *)"-f",
			    req,
			    (char *)"-o",
			    out,
			    (char *)"-B",
			    (char *)"10",
			    url,
			    NULL};
	struct eim_test_proc p = run(rpk_argv);
	struct stat sb;
	ck_assert_msg(stat(out, &sb) == 0, "raw-key device got nothing: '%s'",
		      p.err);
	eim_test_proc_done(&p);
	check_package(); /* the raw-key device gets EID3's package */

	/* the certificate device asking for EID3: not its EID */
	char crt[700], key[700], srv_crt[700];
	snprintf(crt, sizeof(crt), "%s/dev.crt", dir);
	snprintf(key, sizeof(key), "%s/dev.key.pem", dir);
	snprintf(srv_crt, sizeof(srv_crt), "%s/srv.crt", dir);
	unlink(out);
	char *crt_argv[] = {(char *)"/usr/bin/coap-client-openssl",
			    (char *)"-c",
			    crt,
			    (char *)"-j",
			    key,
			    (char *)"-C",
			    srv_crt,
			    (char *)"-m",
			    (char *)"post",
			    (char *)"-f",
			    req,
			    (char *)"-o",
			    out,
			    (char *)"-B",
			    (char *)"10",
			    url,
			    NULL};
	p = run(crt_argv);
	ck_assert_msg(strstr(p.err, "4.03"), "certificate device: '%s' '%s'",
		      p.out, p.err);
	eim_test_proc_done(&p);
	ck_assert_int_eq(eim_test_child_stop(&s2, SIGTERM), 0);
}
END_TEST

static Suite *interop_suite(void)
{
	Suite *s = suite_create("serve_dtls");
	TCase *tc = tcase_create("libcoap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, coap_client_openssl);
	tcase_add_test(tc, coap_client_gnutls);
	tcase_add_test(tc, certificate_and_raw_key_devices);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(interop_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
