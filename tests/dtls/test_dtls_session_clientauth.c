/*
 * End-to-end tests of client authentication on the ECDHE-ECDSA suites
 * (RFC 5246 7.4.4-7.4.8, RFC 7250) between eim_dtls_server and
 * eim_dtls_client, in memory through the dtls_world harness: X.509 client
 * certificates checked against a CA or pinned by fingerprint, raw public
 * keys pinned by SPKI fingerprint, and every refusal (no certificate,
 * unknown issuer, unknown pin, a CertificateVerify by the wrong key) ending
 * the handshake with its alert and leaving no session.
 *
 * The client credential is the fixture server certificate (issued by the
 * fixture CA) and its key; "wrong" keys are generated here.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>

#include "tests/dtls/dtls_world.h"

#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "transport/eim_dtls_hs.h"
#include "transport/eim_dtls_int.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* What the pin callback accepts, and what it was asked. */
static uint8_t pin[32];
static bool pin_set;
static int pin_calls;
static enum eim_dtls_identity_kind pin_kind;

static int pin_check(void *ctx, enum eim_dtls_identity_kind kind,
		     const uint8_t fp[32])
{
	(void)ctx;
	pin_calls++;
	pin_kind = kind;
	return pin_set && memcmp(fp, pin, 32) == 0 ? 0 : EIM_ENOTFOUND;
}

static struct eim_dtls_session *established;
static uint16_t cli_mtu; /* 0: default */

static void on_est(void *ctx, struct eim_dtls_session *s)
{
	(void)ctx;
	established = s;
}

/* A fresh P-256 key as SEC1 PEM (heap; free()). */
static char *fresh_key_pem(size_t *len)
{
	WC_RNG rng;
	ecc_key k;
	uint8_t der[256];
	char *pem = calloc(1, 512);
	int n, m;

	ck_assert_int_eq(wc_InitRng(&rng), 0);
	ck_assert_int_eq(wc_ecc_init(&k), 0);
	ck_assert_int_eq(wc_ecc_make_key_ex(&rng, 32, &k, ECC_SECP256R1), 0);
	n = wc_EccKeyToDer(&k, der, sizeof(der));
	ck_assert_int_gt(n, 0);
	m = wc_DerToPem(der, (word32)n, (byte *)pem, 511, ECC_PRIVATEKEY_TYPE);
	ck_assert_int_gt(m, 0);
	*len = (size_t)m;
	wc_ecc_free(&k);
	wc_FreeRng(&rng);
	return pem;
}

enum cli_cred {
	CRED_NONE,
	CRED_CERT,
	CRED_CERT_WRONG_KEY,
	CRED_RPK,
	CRED_RPK_OTHER
};

/*
 * Server with the fixture chain, client CAs from srv_ca (NULL: none) and
 * the pin callback when use_pins; client trusting the fixture CA with the
 * given credential.
 */
static void auth_world(struct world *w, const char *srv_ca, bool use_pins,
		       enum cli_cred cred)
{
	struct eim_dtls_server_config sc;
	struct eim_dtls_client_config cc;
	size_t cl, kl, al, tl = 0, wl = 0;
	char *leaf = fixture("test-dtls-server.cert.pem", &cl);
	char *key = fixture("test-dtls-server.key.pem", &kl);
	char *ca = fixture("test-dtls-ca.cert.pem", &al);
	char *chain = calloc(1, cl + al + 1);
	char *trust = srv_ca ? fixture(srv_ca, &tl) : NULL;
	char *wrong = NULL;
	uint16_t suite = EIM_DTLS_ECDHE_ECDSA_AES128_CCM8;

	memcpy(chain, leaf, cl);
	memcpy(chain + cl, ca, al);
	memset(w, 0, sizeof(*w));
	established = NULL;
	pin_calls = 0;
	w->now = 1000000;
	w->cli_addr = loop_addr(40000);
	eim_dtls_server_config_init(&sc);
	sc.ctx = w;
	sc.send = srv_send;
	sc.on_app_data = srv_app;
	sc.on_closed = on_closed;
	sc.on_established = on_est;
	sc.cert_pem = chain;
	sc.cert_pem_len = cl + al;
	sc.key_pem = key;
	sc.key_pem_len = kl;
	sc.ca_pem = trust;
	sc.ca_pem_len = tl;
	sc.cert_check = use_pins ? pin_check : NULL;
	ck_assert_int_eq(eim_dtls_server_new(&sc, w->now, &w->srv), 0);
	eim_dtls_client_config_init(&cc);
	cc.ctx = w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.ca_pem = ca;
	cc.ca_pem_len = al;
	cc.suites = &suite;
	cc.n_suites = 1;
	if (cli_mtu)
		cc.mtu = cli_mtu;
	if (cred == CRED_CERT_WRONG_KEY || cred == CRED_RPK_OTHER)
		wrong = fresh_key_pem(&wl);
	switch (cred) {
	case CRED_NONE:
		break;
	case CRED_CERT:
	case CRED_CERT_WRONG_KEY:
		cc.cert_pem = leaf;
		cc.cert_pem_len = cl;
		cc.key_pem = wrong ? wrong : key;
		cc.key_pem_len = wrong ? wl : kl;
		break;
	case CRED_RPK:
	case CRED_RPK_OTHER:
		cc.client_rpk = true;
		cc.key_pem = wrong ? wrong : key;
		cc.key_pem_len = wrong ? wl : kl;
		break;
	}
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w->cli), 0);
	free(leaf);
	free(key);
	free(ca);
	free(chain);
	free(trust);
	free(wrong);
}

/* SHA-256 of the fixture certificate DER, or of its SPKI DER. */
static void fixture_fp(bool spki, uint8_t out[32])
{
	size_t n;
	char *pem = fixture("test-dtls-server.cert.pem", &n);
	uint8_t der[1024], pub[256];
	word32 pub_len = sizeof(pub);
	int dl = wc_CertPemToDer((const unsigned char *)pem, (int)n, der,
				 sizeof(der), CERT_TYPE);
	struct DecodedCert dc;

	ck_assert_int_gt(dl, 0);
	if (!spki) {
		ck_assert_int_eq(wc_Sha256Hash(der, (word32)dl, out), 0);
	} else {
		wc_InitDecodedCert(&dc, der, (word32)dl, NULL);
		ck_assert_int_eq(wc_ParseCert(&dc, CERT_TYPE, 0, NULL), 0);
		ck_assert_int_eq(wc_GetPubKeyDerFromCert(&dc, pub, &pub_len),
				 0);
		wc_FreeDecodedCert(&dc);
		ck_assert_int_eq(wc_Sha256Hash(pub, pub_len, out), 0);
	}
	free(pem);
}

/* The handshake fails with `alert` at the client and leaves nothing. */
static void refused(struct world *w, int alert)
{
	ck_assert_int_eq(eim_dtls_client_start(w->cli, w->now), 0);
	pump(w);
	ck_assert_int_eq(eim_dtls_client_state(w->cli), EIM_DTLS_CLIENT_FAILED);
	ck_assert_int_eq(eim_dtls_client_alert(w->cli), alert);
	ck_assert_ptr_null(established);
	ck_assert_uint_eq(stats(w).sessions, 0);
	ck_assert_uint_eq(stats(w).handshaking, 0);
}

START_TEST(certificate_from_trusted_ca)
{
	struct world w;
	uint8_t want[32];
	size_t n = 0;
	const uint8_t *id;

	auth_world(&w, "test-dtls-ca.cert.pem", false, CRED_CERT);
	handshake(&w);
	roundtrip(&w, "cert");
	fixture_fp(false, want);
	ck_assert_int_eq(eim_dtls_session_identity_kind(established),
			 EIM_DTLS_ID_CERT);
	id = eim_dtls_session_identity(established, &n);
	ck_assert_uint_eq(n, 32);
	ck_assert_mem_eq(id, want, 32);
	ck_assert_uint_eq(stats(&w).client_auth_failed, 0);
	world_done(&w);
}
END_TEST

START_TEST(certificate_pinned_without_ca)
{
	struct world w;

	fixture_fp(false, pin);
	pin_set = true;
	auth_world(&w, NULL, true, CRED_CERT);
	handshake(&w);
	roundtrip(&w, "pinned");
	ck_assert_int_eq(pin_calls, 1);
	ck_assert_int_eq(pin_kind, EIM_DTLS_ID_CERT);
	ck_assert_int_eq(eim_dtls_session_identity_kind(established),
			 EIM_DTLS_ID_CERT);
	world_done(&w);
}
END_TEST

START_TEST(raw_public_key_pinned)
{
	struct world w;
	size_t n = 0;

	fixture_fp(true, pin);
	pin_set = true;
	auth_world(&w, NULL, true, CRED_RPK);
	handshake(&w);
	roundtrip(&w, "rpk");
	ck_assert_int_eq(pin_kind, EIM_DTLS_ID_RPK);
	ck_assert_int_eq(eim_dtls_session_identity_kind(established),
			 EIM_DTLS_ID_RPK);
	ck_assert_mem_eq(eim_dtls_session_identity(established, &n), pin, 32);
	ck_assert_uint_eq(n, 32);
	world_done(&w);
}
END_TEST

START_TEST(no_client_certificate_refused)
{
	struct world w;

	auth_world(&w, "test-dtls-ca.cert.pem", false, CRED_NONE);
	refused(&w, 40 /* handshake_failure */);
	ck_assert_uint_eq(stats(&w).client_auth_failed, 1);
	world_done(&w);
}
END_TEST

START_TEST(certificate_from_unknown_ca_refused)
{
	struct world w;

	/* the server's "CA" is the leaf itself: the issuer is unknown */
	auth_world(&w, "test-dtls-server.cert.pem", false, CRED_CERT);
	refused(&w, 48); /* unknown_ca */
	world_done(&w);
}
END_TEST

START_TEST(certificate_unknown_pin_refused)
{
	struct world w;

	/* CA-valid but not pinned: both checks must pass */
	memset(pin, 0x11, sizeof(pin));
	pin_set = true;
	auth_world(&w, "test-dtls-ca.cert.pem", true, CRED_CERT);
	refused(&w, 46); /* certificate_unknown */
	ck_assert_int_eq(pin_calls, 1);
	world_done(&w);
}
END_TEST

START_TEST(untrusted_raw_key_refused)
{
	struct world w;

	fixture_fp(true, pin);
	pin_set = true;
	auth_world(&w, NULL, true, CRED_RPK_OTHER);
	refused(&w, 46);
	world_done(&w);
}
END_TEST

START_TEST(certificate_verify_by_wrong_key_refused)
{
	struct world w;

	/* the certificate is trusted, but the key that signs the
	 * CertificateVerify is not its own */
	auth_world(&w, "test-dtls-ca.cert.pem", false, CRED_CERT_WRONG_KEY);
	refused(&w, 51); /* decrypt_error */
	ck_assert_uint_eq(stats(&w).client_auth_failed, 1);
	world_done(&w);
}
END_TEST

START_TEST(raw_key_not_offered_without_pins)
{
	struct world w;

	/* only CAs configured: a client that can only send a raw key gets
	 * no ECDHE_ECDSA suite */
	auth_world(&w, "test-dtls-ca.cert.pem", false, CRED_RPK);
	refused(&w, 40 /* handshake_failure */);
	world_done(&w);
}
END_TEST

START_TEST(reordered_flight_is_buffered)
{
	struct world w;
	struct dgram d[QMAX];
	size_t n, k = 0;

	/* 256-byte datagrams: the client's Certificate, ClientKeyExchange and
	 * CertificateVerify come in several datagrams; the server gets them
	 * last first (CCS and Finished stay at the end) and must keep the
	 * early arrivals instead of waiting for a retransmission */
	cli_mtu = 256;
	auth_world(&w, "test-dtls-ca.cert.pem", false, CRED_CERT);
	cli_mtu = 0;
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	hop(&w, w.cli); /* CH -> HVR, CH(cookie) queued */
	hop(&w, w.cli); /* CH(cookie) -> flight 2 -> flight 3 queued */
	n = w.n_to_srv;
	ck_assert_uint_ge(n, 3);
	memcpy(d, w.to_srv, n * sizeof(d[0]));
	/* all datagrams but the last (CCS + Finished), reversed */
	for (size_t i = n - 1; i-- > 0;)
		w.to_srv[k++] = d[i];
	w.to_srv[k++] = d[n - 1];
	pump(&w); /* no clock advance: no retransmission can help */
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	ck_assert_uint_gt(stats(&w).hs_buffered, 0);
	ck_assert_uint_eq(stats(&w).retransmissions, 0);
	ck_assert_int_eq(eim_dtls_session_identity_kind(established),
			 EIM_DTLS_ID_CERT);
	roundtrip(&w, "reordered");
	world_done(&w);
}
END_TEST

START_TEST(renegotiation_refused_with_warning)
{
	struct world w;
	/* a ClientHello (header only matters here) at epoch 1 */
	uint8_t ch[EIM_DTLS_HS_HDR_LEN + 2] = {EIM_DTLS_HS_CLIENT_HELLO,
					       0,
					       0,
					       2,
					       0,
					       0,
					       0,
					       0,
					       0,
					       0,
					       0,
					       2,
					       0xfe,
					       0xfd};
	struct eim_dtls_conn *conn;

	auth_world(&w, "test-dtls-ca.cert.pem", false, CRED_CERT);
	handshake(&w);
	roundtrip(&w, "before");
	/* the client object starts with its struct eim_dtls_conn */
	conn = (struct eim_dtls_conn *)w.cli;

	ck_assert_int_eq(eim_dtls_conn_send_record(conn, 1,
						   EIM_DTLS_CT_HANDSHAKE, ch,
						   sizeof(ch)),
			 0);
	ck_assert_uint_eq(w.n_to_srv, 1);
	{
		struct dgram g = w.to_srv[0];

		w.n_to_srv = 0;
		eim_dtls_server_input(w.srv, (struct sockaddr *)&g.addr,
				      sizeof(g.addr), g.b, g.n, w.now);
	}
	ck_assert_uint_eq(stats(&w).renegotiation_refused, 1);
	/* one protected record back: the alert; level and description are
	 * checked by the client ignoring it (a fatal one would end it) */
	ck_assert_uint_eq(w.n_to_cli, 1);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	roundtrip(&w, "after");
	ck_assert_uint_eq(stats(&w).sessions, 1);
	world_done(&w);
}
END_TEST

/*
 * Sends a hand-made ClientHello offering only ECDHE-ECDSA-AES128-CCM8 with
 * the extensions block ext[0..n) (n == 0: none), through the cookie
 * exchange; leaves the server's answer to the second hello in w->to_cli.
 */
static void raw_hello(struct world *w, const uint8_t *ext, size_t n)
{
	uint8_t cookie[64] = {0}, d[256];
	size_t clen = 0;

	for (int round = 0; round < 2; round++) {
		size_t body =
			2 + 32 + 1 + 1 + clen + 2 + 2 + 2 + (n ? 2 + n : 0);
		size_t o = 0;

		d[o++] = EIM_DTLS_CT_HANDSHAKE;
		d[o++] = 0xfe;
		d[o++] = 0xfd;
		memset(d + o, 0, 8); /* epoch 0, sequence = round */
		d[o + 7] = (uint8_t)round;
		o += 8;
		eim_put_be16(d + o, (uint16_t)(12 + body));
		o += 2;
		d[o++] = EIM_DTLS_HS_CLIENT_HELLO;
		eim_put_be24(d + o, (uint32_t)body);
		eim_put_be16(d + o + 3, (uint16_t)round);
		eim_put_be24(d + o + 5, 0);
		eim_put_be24(d + o + 8, (uint32_t)body);
		o += 11;
		d[o++] = 0xfe;
		d[o++] = 0xfd;
		memset(d + o, 0x42, 32);
		o += 32;
		d[o++] = 0; /* session id */
		d[o++] = (uint8_t)clen;
		memcpy(d + o, cookie, clen);
		o += clen;
		eim_put_be16(d + o, 2);
		eim_put_be16(d + o + 2, EIM_DTLS_ECDHE_ECDSA_AES128_CCM8);
		o += 4;
		d[o++] = 1;
		d[o++] = 0;
		if (n) {
			eim_put_be16(d + o, (uint16_t)n);
			memcpy(d + o + 2, ext, n);
			o += 2 + n;
		}
		w->n_to_cli = 0;
		eim_dtls_server_input(w->srv, (struct sockaddr *)&w->cli_addr,
				      sizeof(w->cli_addr), d, o, w->now);
		ck_assert_uint_eq(w->n_to_cli, 1);
		if (round == 0) {
			/* HelloVerifyRequest: 13 + 12 + version 2, cookie */
			const uint8_t *h = w->to_cli[0].b + 13 + 12 + 2;

			ck_assert_uint_eq(w->to_cli[0].b[13],
					  EIM_DTLS_HS_HELLO_VERIFY_REQUEST);
			clen = h[0];
			ck_assert_uint_le(clen, sizeof(cookie));
			memcpy(cookie, h + 1, clen);
		}
	}
}

/* A server with the fixture key only, as a raw public key (RFC 7250). */
static void rpk_only_world(struct world *w)
{
	struct eim_dtls_server_config sc;
	size_t kl;
	char *key = fixture("test-dtls-server.key.pem", &kl);

	memset(w, 0, sizeof(*w));
	w->now = 1000000;
	w->cli_addr = loop_addr(40000);
	eim_dtls_server_config_init(&sc);
	sc.ctx = w;
	sc.send = srv_send;
	sc.on_app_data = srv_app;
	sc.on_closed = on_closed;
	sc.key_pem = key;
	sc.key_pem_len = kl;
	ck_assert_int_eq(eim_dtls_server_new(&sc, w->now, &w->srv), 0);
	free(key);
}

START_TEST(raw_key_server_sends_spki)
{
	/* server_certificate_type {X.509, RawPublicKey} */
	static const uint8_t ext[] = {0, 20, 0, 3, 2, 0, 2};
	struct world w;
	struct eim_dtls_server_hello sh;
	struct eim_dtls_hs_frag f;
	const uint8_t *p;
	size_t used, rest, l1, l2;
	uint8_t want[32], got[32];

	rpk_only_world(&w);
	raw_hello(&w, ext, sizeof(ext));
	/* record 1: ServerHello, choosing the raw key */
	p = w.to_cli[0].b;
	ck_assert_uint_eq(p[0], EIM_DTLS_CT_HANDSHAKE);
	l1 = eim_get_be16(p + 11);
	ck_assert_int_eq(eim_dtls_hs_parse_frag(p + 13, l1, &f, &used), 0);
	ck_assert_uint_eq(f.type, EIM_DTLS_HS_SERVER_HELLO);
	ck_assert_int_eq(eim_dtls_hs_parse_server_hello(f.frag.p, f.frag.len,
							&sh),
			 0);
	ck_assert_uint_eq(sh.suite, EIM_DTLS_ECDHE_ECDSA_AES128_CCM8);
	ck_assert(sh.ext.server_ctype && !sh.ext.client_ctype);
	ck_assert_uint_eq(sh.ext.server_ctypes.p[0], 2);
	/* record 2: Certificate = uint24 length + the SPKI of the key,
	 * whose SHA-256 is the one of the fixture certificate's SPKI */
	p += 13 + l1;
	rest = w.to_cli[0].n - 13 - l1;
	ck_assert_uint_gt(rest, 13);
	l2 = eim_get_be16(p + 11);
	ck_assert_int_eq(eim_dtls_hs_parse_frag(p + 13, l2, &f, &used), 0);
	ck_assert_uint_eq(f.type, EIM_DTLS_HS_CERTIFICATE);
	ck_assert_uint_eq(eim_get_be24(f.frag.p), f.frag.len - 3);
	ck_assert_int_eq(wc_Sha256Hash(f.frag.p + 3, (word32)(f.frag.len - 3),
				       got),
			 0);
	fixture_fp(true, want);
	ck_assert_mem_eq(got, want, 32);
	ck_assert_uint_eq(stats(&w).handshaking, 1);
	world_done(&w);
}
END_TEST

START_TEST(raw_key_server_refuses_x509_only_client)
{
	/* no extension (X.509 implied), then a list without RawPublicKey */
	static const uint8_t x509[] = {0, 20, 0, 2, 1, 0};
	struct world w;

	for (int i = 0; i < 2; i++) {
		rpk_only_world(&w);
		raw_hello(&w, x509, i ? sizeof(x509) : 0);
		/* a plaintext fatal handshake_failure alert, nothing kept */
		ck_assert_uint_eq(w.to_cli[0].n, 13 + 2);
		ck_assert_uint_eq(w.to_cli[0].b[0], EIM_DTLS_CT_ALERT);
		ck_assert_uint_eq(w.to_cli[0].b[13], 2);
		ck_assert_uint_eq(w.to_cli[0].b[14], 40);
		ck_assert_uint_eq(stats(&w).sessions, 0);
		world_done(&w);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_session_clientauth");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, certificate_from_trusted_ca);
	tcase_add_test(tc, certificate_pinned_without_ca);
	tcase_add_test(tc, raw_public_key_pinned);
	tcase_add_test(tc, no_client_certificate_refused);
	tcase_add_test(tc, certificate_from_unknown_ca_refused);
	tcase_add_test(tc, certificate_unknown_pin_refused);
	tcase_add_test(tc, untrusted_raw_key_refused);
	tcase_add_test(tc, certificate_verify_by_wrong_key_refused);
	tcase_add_test(tc, raw_key_not_offered_without_pins);
	tcase_add_test(tc, reordered_flight_is_buffered);
	tcase_add_test(tc, renegotiation_refused_with_warning);
	tcase_add_test(tc, raw_key_server_sends_spki);
	tcase_add_test(tc, raw_key_server_refuses_x509_only_client);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
