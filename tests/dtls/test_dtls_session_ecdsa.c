/*
 * End-to-end tests of the ECDHE-ECDSA suites between eim_dtls_server (with
 * the fixture certificate chain) and eim_dtls_client (checking it against
 * the fixture CA), in memory through the dtls_world harness.
 */
#include "tests/dtls/dtls_world.h"

#include "common/eim_err.h"
#include "transport/eim_dtls_hs.h"

#include <check.h>
#include <string.h>

START_TEST(ecdhe_ecdsa_suites_with_cid)
{
	static const uint16_t suites[] = {EIM_DTLS_ECDHE_ECDSA_AES128_CCM8,
					  EIM_DTLS_ECDHE_ECDSA_AES128_GCM,
					  EIM_DTLS_ECDHE_ECDSA_CHACHA20};
	struct world w;

	ecdsa_world(&w, suites[_i], 1280, "test-dtls-ca.cert.pem");
	handshake(&w);
	ck_assert_uint_eq(eim_dtls_client_suite(w.cli), suites[_i]);
	roundtrip(&w, "ecdsa");
	/* no PSK and no client certificate: no identity */
	ck_assert_ptr_null(
		eim_dtls_session_identity(w.last_session, &(size_t){0}));
	w.cli_addr = loop_addr(40003);
	roundtrip(&w, "ecdsa moved");
	ck_assert_uint_eq(stats(&w).address_changes, 1);
	world_done(&w);
}
END_TEST

START_TEST(ecdsa_certificate_flight_fragmented)
{
	struct world w;

	/* 300-byte datagrams: the ~860-byte Certificate message arrives in
	 * several fragments that our client reassembles */
	ecdsa_world(&w, EIM_DTLS_ECDHE_ECDSA_AES128_CCM8, 300,
		    "test-dtls-ca.cert.pem");
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	ck_assert_uint_le(w.max_to_cli, 300);
	ck_assert_uint_gt(w.max_to_cli, 200);
	roundtrip(&w, "fragmented");
	world_done(&w);
}
END_TEST

START_TEST(ecdsa_untrusted_server_refused)
{
	struct world w;

	/* the client trusts only the leaf itself as a "CA": not the issuer */
	ecdsa_world(&w, EIM_DTLS_ECDHE_ECDSA_AES128_CCM8, 1280,
		    "test-dtls-server.cert.pem");
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli), EIM_DTLS_CLIENT_FAILED);
	ck_assert_int_eq(eim_dtls_client_alert(w.cli), 48); /* unknown_ca */
	ck_assert_uint_eq(stats(&w).sessions, 0);
	world_done(&w);
}
END_TEST

START_TEST(ecdsa_bad_signature_refused)
{
	struct world w;

	ecdsa_world(&w, EIM_DTLS_ECDHE_ECDSA_AES128_CCM8, 1280,
		    "test-dtls-ca.cert.pem");
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	hop(&w, w.cli); /* CH -> HVR -> CH(cookie) queued */
	/* deliver CH(cookie); flight 2 is one datagram ending with the
	 * ServerKeyExchange record and the 25-byte ServerHelloDone record */
	{
		struct dgram g = w.to_srv[0];

		w.n_to_srv = 0;
		eim_dtls_server_input(w.srv, (struct sockaddr *)&g.addr,
				      sizeof(g.addr), g.b, g.n, w.now);
	}
	ck_assert_uint_eq(w.n_to_cli, 1);
	ck_assert_uint_eq(w.to_cli[0].b[w.to_cli[0].n - 25 + 13],
			  EIM_DTLS_HS_SERVER_HELLO_DONE);
	w.to_cli[0].b[w.to_cli[0].n - 26] ^= 0x01; /* last signature byte */
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli), EIM_DTLS_CLIENT_FAILED);
	ck_assert_int_eq(eim_dtls_client_alert(w.cli), 51); /* decrypt_error */
	ck_assert_uint_eq(stats(&w).sessions, 0);
	world_done(&w);
}
END_TEST

START_TEST(ecdsa_reordered_server_flight_is_buffered)
{
	struct world w;
	struct dgram d[QMAX];
	size_t n;

	/* 300-byte datagrams: the certificate flight spans several; the
	 * client gets the first (ServerHello) and then the rest last first,
	 * so the ServerKeyExchange and ServerHelloDone overtake the
	 * Certificate fragments and must be kept, not dropped */
	ecdsa_world(&w, EIM_DTLS_ECDHE_ECDSA_AES128_CCM8, 300,
		    "test-dtls-ca.cert.pem");
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	hop(&w, w.cli); /* CH -> HVR -> CH(cookie) queued */
	{
		struct dgram g = w.to_srv[0];

		w.n_to_srv = 0;
		eim_dtls_server_input(w.srv, (struct sockaddr *)&g.addr,
				      sizeof(g.addr), g.b, g.n, w.now);
	}
	n = w.n_to_cli;
	ck_assert_uint_ge(n, 3);
	memcpy(d, w.to_cli, n * sizeof(d[0]));
	w.n_to_cli = 0;
	eim_dtls_client_input(w.cli, d[0].b, d[0].n, w.now);
	for (size_t i = n; i-- > 1;)
		eim_dtls_client_input(w.cli, d[i].b, d[i].n, w.now);
	pump(&w); /* the clock stands still: no retransmission */
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	ck_assert_uint_eq(stats(&w).retransmissions, 0);
	roundtrip(&w, "reordered flight 2");
	world_done(&w);
}
END_TEST
/* The ECDHE group: secp256r1 whenever our client offers it (it offers
 * x25519 first), x25519 only with the server's prefer_x25519. The
 * ClientKeyExchange shows which: a 65-byte P-256 point or 32 bytes. */
START_TEST(ecdhe_group_choice)
{
	struct world w;
	int value_len = -1;

	prefer_x25519 = _i == 1;
	ecdsa_world(&w, EIM_DTLS_ECDHE_ECDSA_AES128_CCM8, 1280,
		    "test-dtls-ca.cert.pem");
	prefer_x25519 = false;
	handshake(&w);
	for (size_t i = 0; i < w.n_log; i++)
		if (w.log_to_srv[i].n > 26 && w.log_to_srv[i].b[0] == 22 &&
		    w.log_to_srv[i].b[13] == EIM_DTLS_HS_CLIENT_KEY_EXCHANGE)
			value_len = w.log_to_srv[i].b[25];
	ck_assert_int_eq(value_len, _i == 1 ? 32 : 65);
	roundtrip(&w, "group");
	world_done(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_session_ecdsa");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, ecdhe_ecdsa_suites_with_cid, 0, 3);
	tcase_add_test(tc, ecdsa_certificate_flight_fragmented);
	tcase_add_test(tc, ecdsa_untrusted_server_refused);
	tcase_add_test(tc, ecdsa_bad_signature_refused);
	tcase_add_test(tc, ecdsa_reordered_server_flight_is_buffered);
	tcase_add_loop_test(tc, ecdhe_group_choice, 0, 2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
