/*
 * End-to-end handshakes (in memory, dtls_world harness) for peer
 * authentication with real certificate paths (RFC 5246 7.4.2-7.4.8,
 * RFC 5280 section 6, RFC 7250): a client certificate issued by an
 * intermediate, every kind of bad client certificate refused with its
 * alert and no session left (counted in client_auth_failed), pinned
 * certificates and their validity, and our client authenticating the
 * server by CA + host name, by certificate pin and by raw public key pin.
 *
 * Fixtures: tests/dtls/fixtures/test-pki-* (make-pki.sh).
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "tests/dtls/dtls_world.h"

#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "transport/eim_dtls_hs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pin list of the server's cert_check callback: one fingerprint. */
static uint8_t pin[32];
static bool pin_set;

static int pin_check(void *ctx, enum eim_dtls_identity_kind kind,
		     const uint8_t fp[32])
{
	(void)ctx;
	(void)kind;
	return pin_set && memcmp(fp, pin, 32) == 0 ? 0 : EIM_ENOTFOUND;
}

static struct eim_dtls_session *established;

static void on_est(void *ctx, struct eim_dtls_session *s)
{
	(void)ctx;
	established = s;
}

/* SHA-256 of the DER of test-pki-NAME.cert.pem. */
static void cert_fp(const char *name, uint8_t out[32])
{
	char f[128];
	size_t n;
	char *pem;
	uint8_t der[2048];
	int dl;

	snprintf(f, sizeof(f), "test-pki-%s.cert.pem", name);
	pem = fixture(f, &n);
	dl = wc_CertPemToDer((const unsigned char *)pem, (int)n, der,
			     sizeof(der), CERT_TYPE);
	ck_assert_int_gt(dl, 0);
	ck_assert_int_eq(wc_Sha256Hash(der, (word32)dl, out), 0);
	free(pem);
}

/* The 32 bytes of a *.sha256 fixture (hex text). */
static void hex_fp(const char *file, uint8_t out[32])
{
	size_t n, got = 0;
	char *hex = fixture(file, &n);

	ck_assert_int_eq(eim_hex_decode(hex, 64, out, 32, &got), 0);
	ck_assert_uint_eq(got, 32);
	free(hex);
}

struct setup {
	bool srv_rpk_only;	 /* server: key without certificate */
	const char *srv_ca;	 /* CAs for client certificates */
	bool pins;		 /* server asks pin_check */
	bool srv_allow_expired;	 /* pinned_allow_expired */
	const char *cli;	 /* client credential test-pki-NAME */
	bool cli_chain;		 /* ... sent with its intermediate */
	bool cli_rpk;		 /* ... as a raw public key */
	const char *cli_ca;	 /* CAs the client trusts */
	const char *host;	 /* server_name */
	const uint8_t *cert_pin; /* server_cert_sha256 */
	const uint8_t *rpk_pin;	 /* server_rpk_sha256 */
};

static char *opt_fixture(const char *name, size_t *len)
{
	*len = 0;
	return name ? fixture(name, len) : NULL;
}

static void pki_world(struct world *w, const struct setup *o)
{
	struct eim_dtls_server_config sc;
	struct eim_dtls_client_config cc;
	uint16_t suite = EIM_DTLS_ECDHE_ECDSA_AES128_CCM8;
	size_t scl, skl, sal, ccl = 0, ckl = 0, cal;
	char *schain = fixture("test-pki-server.chain.pem", &scl);
	char *skey = fixture("test-pki-server.key.pem", &skl);
	char *sca = opt_fixture(o->srv_ca, &sal);
	char *cca = opt_fixture(o->cli_ca, &cal);
	char *ccert = NULL, *ckey = NULL, f[128];

	memset(w, 0, sizeof(*w));
	established = NULL;
	w->now = 1000000;
	w->cli_addr = loop_addr(40000);
	eim_dtls_server_config_init(&sc);
	sc.ctx = w;
	sc.send = srv_send;
	sc.on_app_data = srv_app;
	sc.on_closed = on_closed;
	sc.on_established = on_est;
	if (!o->srv_rpk_only) {
		sc.cert_pem = schain;
		sc.cert_pem_len = scl;
	}
	sc.key_pem = skey;
	sc.key_pem_len = skl;
	sc.ca_pem = sca;
	sc.ca_pem_len = sal;
	sc.cert_check = o->pins ? pin_check : NULL;
	sc.pinned_allow_expired = o->srv_allow_expired;
	ck_assert_int_eq(eim_dtls_server_new(&sc, w->now, &w->srv), 0);

	eim_dtls_client_config_init(&cc);
	cc.ctx = w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.ca_pem = cca;
	cc.ca_pem_len = cal;
	cc.server_name = o->host;
	cc.server_cert_sha256 = o->cert_pin;
	cc.server_rpk_sha256 = o->rpk_pin;
	cc.suites = &suite;
	cc.n_suites = 1;
	if (o->cli) {
		snprintf(f, sizeof(f), "test-pki-%s.%s.pem", o->cli,
			 o->cli_chain ? "chain" : "cert");
		ccert = fixture(f, &ccl);
		snprintf(f, sizeof(f), "test-pki-%s.key.pem", o->cli);
		ckey = fixture(f, &ckl);
		if (!o->cli_rpk) {
			cc.cert_pem = ccert;
			cc.cert_pem_len = ccl;
		}
		cc.client_rpk = o->cli_rpk;
		cc.key_pem = ckey;
		cc.key_pem_len = ckl;
	}
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w->cli), 0);
	free(schain);
	free(skey);
	free(sca);
	free(cca);
	free(ccert);
	free(ckey);
}

/* The handshake fails with `alert` at the client; nothing is left on
 * the server and the refusal is counted where the server made it. */
static void refused(struct world *w, int alert, bool by_server)
{
	struct eim_dtls_server_stats st;

	ck_assert_int_eq(eim_dtls_client_start(w->cli, w->now), 0);
	pump(w);
	ck_assert_int_eq(eim_dtls_client_state(w->cli), EIM_DTLS_CLIENT_FAILED);
	ck_assert_int_eq(eim_dtls_client_alert(w->cli), alert);
	ck_assert_ptr_null(established);
	st = stats(w);
	ck_assert_uint_eq(st.sessions, 0);
	ck_assert_uint_eq(st.handshaking, 0);
	ck_assert_uint_eq(st.handshakes_completed, 0);
	ck_assert_uint_eq(st.client_auth_failed, by_server ? 1 : 0);
}

START_TEST(client_chain_with_intermediate)
{
	struct world w;
	struct setup o = {.srv_ca = "test-pki-root.cert.pem",
			  .cli = "client",
			  .cli_chain = true,
			  .cli_ca = "test-pki-root.cert.pem",
			  .host = "eim.test"};
	uint8_t want[32];
	const uint8_t *id;
	size_t n = 0;

	pki_world(&w, &o);
	handshake(&w);
	ck_assert_ptr_nonnull(established);
	ck_assert_int_eq(eim_dtls_session_identity_kind(established),
			 EIM_DTLS_ID_CERT);
	id = eim_dtls_session_identity(established, &n);
	cert_fp("client", want);
	ck_assert_uint_eq(n, 32);
	ck_assert_mem_eq(id, want, 32);
	roundtrip(&w, "hello through a chain");
	ck_assert_uint_eq(stats(&w).client_auth_failed, 0);
	world_done(&w);
}
END_TEST

/* Each bad client certificate against a server trusting the root. */
static const struct {
	const char *name;
	bool chain;
	int alert;
} bad_clients[] = {
	{"client", false, 48},	      /* intermediate missing: unknown_ca */
	{"self", false, 48},	      /* self-signed stranger: unknown_ca */
	{"client-expired", true, 45}, /* certificate_expired */
	{"client-future", true, 45},  /* not yet valid: certificate_expired */
	{"forged", true, 42},	      /* issuer signature wrong */
	{"client-nods", true, 42},    /* no digitalSignature */
	{"client-srveku", true, 42},  /* EKU serverAuth only */
	{"client-deep", true, 42},    /* int's pathlen:0 exceeded */
	{"notca-child", true, 42},    /* issuer is not a CA */
};

START_TEST(bad_client_certificates_refused)
{
	struct world w;
	struct setup o = {.srv_ca = "test-pki-root.cert.pem",
			  .cli = bad_clients[_i].name,
			  .cli_chain = bad_clients[_i].chain,
			  .cli_ca = "test-pki-root.cert.pem"};

	pki_world(&w, &o);
	refused(&w, bad_clients[_i].alert, true);
	world_done(&w);
}
END_TEST

START_TEST(pinned_certificate_validity)
{
	struct world w;
	struct setup o = {.pins = true,
			  .cli = "self-expired",
			  .cli_ca = "test-pki-root.cert.pem"};

	/* known pin, but expired: refused unless the server allows it */
	cert_fp("self-expired", pin);
	pin_set = true;
	pki_world(&w, &o);
	refused(&w, 45, true);
	world_done(&w);
	o.srv_allow_expired = true;
	pki_world(&w, &o);
	handshake(&w);
	ck_assert_int_eq(eim_dtls_session_identity_kind(established),
			 EIM_DTLS_ID_CERT);
	world_done(&w);
	/* a valid self-signed certificate with a known pin */
	o.srv_allow_expired = false;
	o.cli = "self";
	cert_fp("self", pin);
	pki_world(&w, &o);
	handshake(&w);
	world_done(&w);
	/* unknown pin: certificate_unknown */
	pin[0] ^= 1;
	pki_world(&w, &o);
	refused(&w, 46, true);
	world_done(&w);
	pin_set = false;
}
END_TEST

START_TEST(untrusted_raw_key_refused)
{
	struct world w;
	struct setup o = {.pins = true,
			  .cli = "client",
			  .cli_rpk = true,
			  .cli_ca = "test-pki-root.cert.pem"};

	pin_set = false;
	pki_world(&w, &o);
	refused(&w, 46, true);
	world_done(&w);
}
END_TEST

START_TEST(client_checks_server_name)
{
	struct world w;
	struct setup o = {.cli_ca = "test-pki-root.cert.pem",
			  .host = "127.0.0.1"};

	pki_world(&w, &o);
	handshake(&w);
	roundtrip(&w, "right name");
	world_done(&w);
	/* the certificate does not name other.test: bad_certificate,
	 * sent by our client; the server drops the half-open session */
	o.host = "other.test";
	pki_world(&w, &o);
	refused(&w, 42, false);
	world_done(&w);
	/* trusting another root: unknown_ca */
	o.host = NULL;
	o.cli_ca = "test-pki-self.cert.pem";
	pki_world(&w, &o);
	refused(&w, 48, false);
	world_done(&w);
}
END_TEST

START_TEST(client_pins_server_certificate)
{
	struct world w;
	uint8_t fp[32];
	struct setup o = {.cert_pin = fp};

	/* make-pki.sh computed this with openssl: an independent value */
	hex_fp("test-pki-server.cert.sha256", fp);
	pki_world(&w, &o);
	handshake(&w);
	roundtrip(&w, "pinned server");
	world_done(&w);
	/* pin and CA together: both must hold */
	o.cli_ca = "test-pki-root.cert.pem";
	pki_world(&w, &o);
	handshake(&w);
	world_done(&w);
	fp[31] ^= 0x80;
	pki_world(&w, &o);
	refused(&w, 48, false);
	world_done(&w);
}
END_TEST

START_TEST(client_pins_server_raw_key)
{
	struct world w;
	uint8_t fp[32];
	struct setup o = {.srv_rpk_only = true, .rpk_pin = fp};

	hex_fp("test-pki-server.spki.sha256", fp);
	pki_world(&w, &o);
	handshake(&w);
	ck_assert_uint_eq(eim_dtls_client_suite(w.cli),
			  EIM_DTLS_ECDHE_ECDSA_AES128_CCM8);
	roundtrip(&w, "raw key server");
	world_done(&w);
	/* a server with a certificate too sends the raw key when asked */
	o.srv_rpk_only = false;
	pki_world(&w, &o);
	handshake(&w);
	world_done(&w);
	/* a raw key we do not know: refused, no session */
	fp[0] ^= 1;
	pki_world(&w, &o);
	refused(&w, 48, false);
	world_done(&w);
}
END_TEST

START_TEST(client_config_checks)
{
	struct eim_dtls_client_config cc;
	struct eim_dtls_client *c = NULL;
	uint16_t suite = EIM_DTLS_ECDHE_ECDSA_AES128_CCM8;
	char longname[300];
	uint8_t fp[32] = {0};

	eim_dtls_client_config_init(&cc);
	cc.send = cli_send;
	cc.suites = &suite;
	cc.n_suites = 1;
	/* an ECDSA suite without any way to authenticate the server */
	ck_assert_int_eq(eim_dtls_client_new(&cc, &c), EIM_EINVAL);
	cc.server_rpk_sha256 = fp;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &c), 0);
	eim_dtls_client_free(c);
	/* default suites with only a pin: the ECDSA ones */
	cc.suites = NULL;
	cc.n_suites = 0;
	cc.server_rpk_sha256 = NULL;
	cc.server_cert_sha256 = fp;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &c), 0);
	eim_dtls_client_free(c);
	cc.server_name = "";
	ck_assert_int_eq(eim_dtls_client_new(&cc, &c), EIM_EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	cc.server_name = longname;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &c), EIM_EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_session_pki");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, client_chain_with_intermediate);
	tcase_add_loop_test(tc, bad_client_certificates_refused, 0,
			    (int)(sizeof(bad_clients) /
				  sizeof(bad_clients[0])));
	tcase_add_test(tc, pinned_certificate_validity);
	tcase_add_test(tc, untrusted_raw_key_refused);
	tcase_add_test(tc, client_checks_server_name);
	tcase_add_test(tc, client_pins_server_certificate);
	tcase_add_test(tc, client_pins_server_raw_key);
	tcase_add_test(tc, client_config_checks);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
