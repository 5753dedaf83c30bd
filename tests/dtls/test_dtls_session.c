/*
 * End-to-end tests of transport/eim_dtls_server and eim_dtls_client driven
 * in memory: datagrams travel through two queues, time is a variable, so
 * every loss, replay and address change is deterministic. Real crypto runs
 * on both sides; the record format itself is checked independently by the
 * vectors of test_dtls_record and by the interop tests.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "transport/eim_dtls_client.h"
#include "transport/eim_dtls_hs.h"
#include "transport/eim_dtls_record.h"
#include "transport/eim_dtls_server.h"
#include "tests/dtls/dtls_world.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(psk_handshake_with_cid)
{
	struct world w;
	struct eim_dtls_server_stats st;
	const uint8_t *cid, *scid, *id;
	size_t cid_len = 0, scid_len = 0, id_len = 0;

	world_init(&w, psk, 8, true);
	handshake(&w);
	ck_assert_uint_eq(eim_dtls_client_suite(w.cli),
			  EIM_DTLS_PSK_AES128_CCM8);
	cid = eim_dtls_client_peer_cid(w.cli, &cid_len);
	ck_assert_ptr_nonnull(cid);
	ck_assert_uint_eq(cid_len, 8);
	roundtrip(&w, "GET /next");
	ck_assert_mem_eq(w.srv_got, "GET /next", 9);
	/* the session knows who it is and which CID it answers to */
	id = eim_dtls_session_identity(w.last_session, &id_len);
	ck_assert_uint_eq(id_len, 6);
	ck_assert_mem_eq(id, "sensor", 6);
	scid = eim_dtls_session_cid(w.last_session, &scid_len);
	ck_assert_uint_eq(scid_len, 8);
	ck_assert_mem_eq(scid, cid, 8);
	/* the client's last datagram is one tls12_cid record with that CID */
	{
		const struct dgram *g = &w.log_to_srv[w.n_log - 1];
		struct eim_dtls_record r;
		size_t used;

		ck_assert_int_eq(eim_dtls_record_parse(g->b, g->n, 8, &r,
						       &used),
				 0);
		ck_assert_uint_eq(used, g->n);
		ck_assert_uint_eq(r.type, EIM_DTLS_CT_TLS12_CID);
		ck_assert_uint_eq(r.epoch, 1);
		ck_assert_mem_eq(r.cid.p, cid, 8);
	}
	st = stats(&w);
	ck_assert_uint_eq(st.hello_verify_sent, 1);
	ck_assert_uint_eq(st.handshakes_completed, 1);
	ck_assert_uint_eq(st.sessions, 1);
	ck_assert_uint_eq(st.handshaking, 0);
	world_done(&w);
}
END_TEST

START_TEST(psk_handshake_without_cid)
{
	struct world w;

	/* client does not offer the extension: plain records both ways */
	world_init(&w, psk, 8, false);
	handshake(&w);
	ck_assert_ptr_null(eim_dtls_client_peer_cid(w.cli, &(size_t){0}));
	roundtrip(&w, "no cid");
	ck_assert_uint_eq(w.log_to_srv[w.n_log - 1].b[0], EIM_DTLS_CT_APP_DATA);
	world_done(&w);
	/* server with CIDs disabled ignores the client's offer */
	world_init(&w, psk, 0, true);
	handshake(&w);
	ck_assert_ptr_null(eim_dtls_client_peer_cid(w.cli, &(size_t){0}));
	roundtrip(&w, "cid off");
	world_done(&w);
}
END_TEST

START_TEST(client_hello_without_extensions)
{
	struct world w;
	struct dgram g;

	/* like node-dtls-client: no extensions block at all */
	offer_ems = false;
	world_init(&w, psk, 8, false);
	offer_ems = true;
	handshake(&w);
	/* the second hello ends right after the compression methods:
	 * record 13 + handshake 12 + 2 + 32 + 1 + 33 + 2 + 6 + 2 */
	g = w.log_to_srv[1];
	ck_assert_uint_eq(g.b[0], EIM_DTLS_CT_HANDSHAKE);
	ck_assert_uint_eq(g.n, 13 + 12 + 2 + 32 + 1 + 33 + 2 + 6 + 2);
	roundtrip(&w, "bare hello");
	world_done(&w);
}
END_TEST

/*
 * A NAT moves the client between its two hellos: the cookie it echoes was
 * made for its old address, the server answers with a second
 * HelloVerifyRequest, and the client follows it instead of giving up.
 */
START_TEST(second_hello_verify_request_followed)
{
	struct world w;
	struct eim_dtls_server_stats st;

	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	/* the first hello leaves from the old address, the second from
	 * the new one */
	w.cli_addr = loop_addr(40100);
	hop(&w, w.cli);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	st = stats(&w);
	ck_assert_uint_eq(st.cookie_bad, 1);
	ck_assert_uint_eq(st.hello_verify_sent, 2);
	ck_assert_uint_eq(st.handshakes_completed, 1);
	roundtrip(&w, "after a second cookie");
	world_done(&w);

	/* a client that moves before every hello gets a new cookie each
	 * time: it follows four HelloVerifyRequests, then gives up */
	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	for (uint16_t i = 0; i < 6; i++) {
		w.cli_addr = loop_addr((uint16_t)(40200 + i));
		hop(&w, w.cli);
	}
	ck_assert_int_eq(eim_dtls_client_state(w.cli), EIM_DTLS_CLIENT_FAILED);
	ck_assert_uint_eq(stats(&w).hello_verify_sent, 5);
	ck_assert_uint_eq(stats(&w).handshakes_completed, 0);
	world_done(&w);
}
END_TEST

START_TEST(address_change_follows_cid)
{
	struct world w;
	struct eim_dtls_server_stats st;
	const struct sockaddr_in *peer;
	socklen_t plen;

	world_init(&w, psk, 8, true);
	handshake(&w);
	roundtrip(&w, "first");
	/* NAT rebinding: new source port, then another loopback address */
	w.cli_addr = loop_addr(40001);
	roundtrip(&w, "after rebinding");
	peer = (const void *)eim_dtls_session_peer(w.last_session, &plen);
	ck_assert_uint_eq(ntohs(peer->sin_port), 40001);
	w.cli_addr.sin_addr.s_addr = htonl(0x7f000002);
	roundtrip(&w, "other address");
	peer = (const void *)eim_dtls_session_peer(w.last_session, &plen);
	ck_assert_uint_eq(ntohl(peer->sin_addr.s_addr), 0x7f000002);
	st = stats(&w);
	ck_assert_uint_eq(st.address_changes, 2);
	ck_assert_uint_eq(st.handshakes_started, 1); /* no new handshake */
	ck_assert_uint_eq(st.sessions, 1);
	world_done(&w);
}
END_TEST

/* Like pump(), but the server is told sizeof(struct sockaddr_storage) as
 * the address length, as a recvfrom() caller may do. */
static void pump_storage(struct world *w)
{
	for (int round = 0; round < 20 && (w->n_to_srv || w->n_to_cli);
	     round++) {
		for (size_t i = 0; i < w->n_to_srv; i++) {
			struct sockaddr_storage ss;

			memset(&ss, 0x77, sizeof(ss));
			memcpy(&ss, &w->to_srv[i].addr,
			       sizeof(w->to_srv[i].addr));
			eim_dtls_server_input(w->srv, (struct sockaddr *)&ss,
					      sizeof(ss), w->to_srv[i].b,
					      w->to_srv[i].n, w->now);
		}
		w->n_to_srv = 0;
		for (size_t i = 0; i < w->n_to_cli; i++)
			eim_dtls_client_input(w->cli, w->to_cli[i].b,
					      w->to_cli[i].n, w->now);
		w->n_to_cli = 0;
	}
}

START_TEST(storage_sized_addresses_are_normalized)
{
	struct world w;
	socklen_t plen = 0;
	const struct sockaddr_in *peer;

	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	pump_storage(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	w.cli_addr = loop_addr(40005);
	ck_assert_int_eq(eim_dtls_client_send(w.cli, (const uint8_t *)"m", 1),
			 0);
	pump_storage(&w);
	ck_assert_uint_eq(w.srv_got_len, 1);
	peer = (const void *)eim_dtls_session_peer(w.last_session, &plen);
	ck_assert_uint_eq(plen, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(ntohs(peer->sin_port), 40005);
	ck_assert_uint_eq(stats(&w).address_changes, 1);
	world_done(&w);
}
END_TEST

START_TEST(replay_from_new_address_does_not_move)
{
	struct world w;
	struct eim_dtls_server_stats st;
	struct dgram old;
	const struct sockaddr_in *peer;
	socklen_t plen;

	world_init(&w, psk, 8, true);
	handshake(&w);
	roundtrip(&w, "original");
	old = w.log_to_srv[w.n_log - 1];
	roundtrip(&w, "later");
	/* an attacker replays the captured record from its own address */
	old.addr = loop_addr(6666);
	w.srv_got_len = 0;
	eim_dtls_server_input(w.srv, (struct sockaddr *)&old.addr,
			      sizeof(old.addr), old.b, old.n, w.now);
	ck_assert_uint_eq(w.srv_got_len, 0);
	ck_assert_uint_eq(w.n_to_cli, 0);
	st = stats(&w);
	ck_assert_uint_eq(st.records_replayed, 1);
	ck_assert_uint_eq(st.address_changes, 0);
	peer = (const void *)eim_dtls_session_peer(w.last_session, &plen);
	ck_assert_uint_eq(ntohs(peer->sin_port), 40000);
	/* the real client goes on from its address */
	roundtrip(&w, "still here");
	world_done(&w);
}
END_TEST

START_TEST(delayed_record_from_new_address_is_accepted_not_moved)
{
	struct world w;
	struct eim_dtls_server_stats st;
	struct dgram a, b;
	const struct sockaddr_in *peer;
	socklen_t plen;

	world_init(&w, psk, 8, true);
	handshake(&w);
	/* two records; the second arrives first, the first arrives late via
	 * another path: it is fresh (not replayed) but not the newest, so
	 * it is delivered without moving the session (RFC 9146 section 6) */
	ck_assert_int_eq(eim_dtls_client_send(w.cli, (const uint8_t *)"A", 1),
			 0);
	ck_assert_int_eq(eim_dtls_client_send(w.cli, (const uint8_t *)"B", 1),
			 0);
	a = w.to_srv[0];
	b = w.to_srv[1];
	w.n_to_srv = 0;
	eim_dtls_server_input(w.srv, (struct sockaddr *)&b.addr, sizeof(b.addr),
			      b.b, b.n, w.now);
	ck_assert_mem_eq(w.srv_got, "B", 1);
	a.addr = loop_addr(50000);
	eim_dtls_server_input(w.srv, (struct sockaddr *)&a.addr, sizeof(a.addr),
			      a.b, a.n, w.now);
	ck_assert_mem_eq(w.srv_got, "A", 1);
	st = stats(&w);
	ck_assert_uint_eq(st.address_changes, 0);
	peer = (const void *)eim_dtls_session_peer(w.last_session, &plen);
	ck_assert_uint_eq(ntohs(peer->sin_port), 40000);
	w.n_to_cli = 0;
	world_done(&w);
}
END_TEST

START_TEST(tampered_and_unknown_cid_records_dropped)
{
	struct world w;
	struct eim_dtls_server_stats st;
	struct dgram g;

	world_init(&w, psk, 8, true);
	handshake(&w);
	roundtrip(&w, "x");
	g = w.log_to_srv[w.n_log - 1];
	/* flip a ciphertext bit and bump the sequence so it is not a replay */
	g.b[g.n - 1] ^= 0x80;
	g.b[10] ^= 0x40;
	eim_dtls_server_input(w.srv, (struct sockaddr *)&g.addr, sizeof(g.addr),
			      g.b, g.n, w.now);
	/* unknown CID */
	g = w.log_to_srv[w.n_log - 1];
	g.b[11] ^= 0xff;
	eim_dtls_server_input(w.srv, (struct sockaddr *)&g.addr, sizeof(g.addr),
			      g.b, g.n, w.now);
	/* record cut short */
	g = w.log_to_srv[w.n_log - 1];
	eim_dtls_server_input(w.srv, (struct sockaddr *)&g.addr, sizeof(g.addr),
			      g.b, g.n - 1, w.now);
	st = stats(&w);
	ck_assert_uint_eq(st.records_auth_failed, 1);
	ck_assert_uint_eq(st.records_no_session, 1);
	ck_assert_uint_eq(st.records_malformed, 1);
	ck_assert_uint_eq(st.sessions, 1);
	ck_assert_uint_eq(w.n_to_cli, 0);
	roundtrip(&w, "session intact");
	world_done(&w);
}
END_TEST

START_TEST(wrong_psk_fails_with_alert_and_no_session)
{
	struct world w;
	struct eim_dtls_server_stats st;
	uint8_t bad[16];

	memcpy(bad, psk, 16);
	bad[0] ^= 1;
	world_init(&w, bad, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli), EIM_DTLS_CLIENT_FAILED);
	ck_assert_int_eq(eim_dtls_client_alert(w.cli), 20); /* bad_record_mac */
	st = stats(&w);
	ck_assert_uint_eq(st.sessions, 0);
	ck_assert_uint_eq(st.handshaking, 0);
	ck_assert_uint_eq(st.handshakes_failed, 1);
	ck_assert_int_eq(w.closed, 1);
	ck_assert_int_eq(w.closed_reason, EIM_DTLS_CLOSE_HANDSHAKE_FAILED);
	world_done(&w);
}
END_TEST

START_TEST(transcript_mismatch_fails_finished)
{
	struct world w;

	/* Without EMS: with it the altered transcript would already change
	 * the keys (and the client's Finished would fail to decrypt). */
	offer_ems = false;
	world_init(&w, psk, 8, true);
	offer_ems = true;
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	eim_dtls_server_input(w.srv, (struct sockaddr *)&w.to_srv[0].addr,
			      sizeof(w.to_srv[0].addr), w.to_srv[0].b,
			      w.to_srv[0].n, w.now);
	w.n_to_srv = 0;
	eim_dtls_client_input(w.cli, w.to_cli[0].b, w.to_cli[0].n, w.now);
	w.n_to_cli = 0;
	/* A man in the middle rewrites the renegotiation SCSV (00ff) of the
	 * second hello into an unknown suite (00fe): the cookie still holds,
	 * keys still match, only the transcripts differ, so the Finished
	 * check is what must catch it. Offset: record 13 + handshake 12 +
	 * version 2 + random 32 + session id 1 + cookie 33 + length 2 + two
	 * suites 4, then 00 ff. */
	ck_assert_uint_eq(w.n_to_srv, 1);
	ck_assert_uint_eq(w.to_srv[0].b[99], 0x00);
	ck_assert_uint_eq(w.to_srv[0].b[100], 0xff);
	w.to_srv[0].b[100] = 0xfe;
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli), EIM_DTLS_CLIENT_FAILED);
	ck_assert_int_eq(eim_dtls_client_alert(w.cli), 51); /* decrypt_error */
	ck_assert_uint_eq(stats(&w).handshakes_failed, 1);
	ck_assert_uint_eq(stats(&w).sessions, 0);
	world_done(&w);
}
END_TEST

START_TEST(lost_server_flight_is_retransmitted)
{
	struct world w;
	struct eim_dtls_server_stats st;

	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	/* deliver CH, get HVR back, deliver it, then lose flight 2 */
	eim_dtls_server_input(w.srv, (struct sockaddr *)&w.to_srv[0].addr,
			      sizeof(w.to_srv[0].addr), w.to_srv[0].b,
			      w.to_srv[0].n, w.now);
	w.n_to_srv = 0;
	eim_dtls_client_input(w.cli, w.to_cli[0].b, w.to_cli[0].n, w.now);
	w.n_to_cli = 0;
	w.drop_next_to_cli = true;
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_HANDSHAKING);
	/* the server's timer fires first and resends ServerHello..Done */
	ck_assert_uint_eq(eim_dtls_server_next_timeout(w.srv), w.now + 1000);
	w.now += 1000;
	eim_dtls_server_tick(w.srv, w.now);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	st = stats(&w);
	ck_assert_uint_eq(st.retransmissions, 1);
	roundtrip(&w, "after loss");
	world_done(&w);
}
END_TEST

START_TEST(lost_client_hello_retransmitted_by_client)
{
	struct world w;

	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	w.n_to_srv = 0; /* the first hello is lost */
	ck_assert_uint_eq(eim_dtls_client_next_timeout(w.cli), w.now + 1000);
	w.now += 1000;
	eim_dtls_client_tick(w.cli, w.now);
	ck_assert_uint_eq(w.n_to_srv, 1);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	world_done(&w);
}
END_TEST

START_TEST(cookieless_flood_keeps_no_state)
{
	struct world w;
	struct eim_dtls_server_stats st;
	struct dgram hello;
	unsigned long allocs;

	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	hello = w.to_srv[0];
	w.n_to_srv = 0;
	allocs = eim_alloc_count();
	for (unsigned i = 0; i < 3000; i++) {
		struct sockaddr_in a = loop_addr((uint16_t)(1024 + i));

		eim_dtls_server_input(w.srv, (struct sockaddr *)&a, sizeof(a),
				      hello.b, hello.n, w.now);
		w.n_to_cli = 0;
	}
	/* no allocation at all, only HelloVerifyRequests */
	ck_assert_uint_eq(eim_alloc_count(), allocs);
	st = stats(&w);
	ck_assert_uint_eq(st.hello_verify_sent, 3000);
	ck_assert_uint_eq(st.sessions, 0);
	ck_assert_uint_eq(st.handshakes_started, 0);
	world_done(&w);
}
END_TEST

START_TEST(forged_cookie_refused)
{
	struct world w;
	struct eim_dtls_server_stats st;
	struct dgram g;

	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	pump(&w);
	/* replay the client's second hello (with the cookie) from another
	 * port: the cookie is bound to the address */
	g = w.log_to_srv[1];
	g.addr = loop_addr(41000);
	w.n_to_cli = 0;
	eim_dtls_server_input(w.srv, (struct sockaddr *)&g.addr, sizeof(g.addr),
			      g.b, g.n, w.now);
	st = stats(&w);
	ck_assert_uint_eq(st.cookie_bad, 1);
	ck_assert_uint_eq(st.sessions, 1);
	ck_assert_uint_eq(w.n_to_cli, 1); /* a fresh HelloVerifyRequest */
	ck_assert_uint_eq(w.to_cli[0].b[13], EIM_DTLS_HS_HELLO_VERIFY_REQUEST);
	w.n_to_cli = 0;
	world_done(&w);
}
END_TEST

static char keylog_lines[2][256];
static int keylog_n;

static void keylog(void *ctx, const char *line)
{
	(void)ctx;
	if (keylog_n < 2)
		snprintf(keylog_lines[keylog_n++], sizeof(keylog_lines[0]),
			 "%s", line);
}

START_TEST(keylog_lines_match_on_both_sides)
{
	struct world w;
	struct eim_dtls_server_config sc;
	struct eim_dtls_client_config cc;
	char rnd[65];

	keylog_n = 0;
	world_init(&w, psk, 8, true);
	eim_dtls_server_free(w.srv);
	eim_dtls_client_free(w.cli);
	eim_dtls_server_config_init(&sc);
	sc.ctx = &w;
	sc.send = srv_send;
	sc.on_app_data = srv_app;
	sc.psk_lookup = lookup;
	sc.keylog = keylog;
	ck_assert_int_eq(eim_dtls_server_new(&sc, w.now, &w.srv), 0);
	eim_dtls_client_config_init(&cc);
	cc.ctx = &w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"sensor";
	cc.psk_identity_len = 6;
	cc.psk = psk;
	cc.psk_len = 16;
	cc.keylog = keylog;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w.cli), 0);
	handshake(&w);
	ck_assert_int_eq(keylog_n, 2);
	ck_assert_str_eq(keylog_lines[0], keylog_lines[1]);
	ck_assert_uint_eq(strlen(keylog_lines[0]), 14 + 64 + 1 + 96);
	ck_assert(strncmp(keylog_lines[0], "CLIENT_RANDOM ", 14) == 0);
	/* the client random of the (second) ClientHello: record 13 +
	 * handshake header 12 + version 2 */
	eim_hex_encode(w.log_to_srv[1].b + 27, 32, rnd);
	ck_assert(strncmp(keylog_lines[0] + 14, rnd, 64) == 0);
	world_done(&w);
}
END_TEST

START_TEST(handshake_and_session_caps)
{
	struct world w;
	struct eim_dtls_client *b = NULL;
	struct eim_dtls_client_config cc;
	struct eim_dtls_server_stats st;

	max_hs = 1;
	max_sess = 2;
	world_init(&w, psk, 8, true);
	max_hs = max_sess = 0;
	eim_dtls_client_config_init(&cc);
	cc.ctx = &w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"sensor";
	cc.psk_identity_len = 6;
	cc.psk = psk;
	cc.psk_len = 16;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &b), 0);

	/* A gets its session and stays mid-handshake (flight 2 lost) */
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	hop(&w, w.cli); /* CH -> HVR */
	w.drop_next_to_cli = true;
	hop(&w, w.cli); /* CH(cookie) -> session, flight 2 lost */
	ck_assert_uint_eq(stats(&w).handshaking, 1);
	/* B passes the cookie check but finds the handshake slots full */
	w.cli_addr = loop_addr(40100);
	ck_assert_int_eq(eim_dtls_client_start(b, w.now), 0);
	hop(&w, b);
	hop(&w, b);
	st = stats(&w);
	ck_assert_uint_eq(st.handshakes_refused, 1);
	ck_assert_uint_eq(st.sessions, 1);
	ck_assert_uint_eq(w.n_to_cli, 0); /* refused silently */
	/* A completes after the server's retransmission */
	w.cli_addr = loop_addr(40000);
	w.now += 1000;
	eim_dtls_server_tick(w.srv, w.now);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	/* B's retransmitted hello now gets a session */
	w.cli_addr = loop_addr(40100);
	eim_dtls_client_tick(b, w.now);
	for (int i = 0; i < 6; i++)
		hop(&w, b);
	ck_assert_int_eq(eim_dtls_client_state(b), EIM_DTLS_CLIENT_ESTABLISHED);
	/* a third peer hits max_sessions */
	eim_dtls_client_free(b);
	ck_assert_int_eq(eim_dtls_client_new(&cc, &b), 0);
	w.cli_addr = loop_addr(40200);
	ck_assert_int_eq(eim_dtls_client_start(b, w.now), 0);
	hop(&w, b);
	hop(&w, b);
	st = stats(&w);
	ck_assert_uint_eq(st.handshakes_refused, 2);
	ck_assert_uint_eq(st.sessions, 2);
	eim_dtls_client_free(b);
	world_done(&w);
}
END_TEST

/* Clients that pass the cookie check and fall silent must not lock new
 * devices out until their handshakes time out: once the table is full,
 * the oldest handshake gives way after handshake_evict_ms (5 s). */
START_TEST(stalled_handshake_gives_way)
{
	struct world w;
	struct eim_dtls_client *b = NULL;
	struct eim_dtls_client_config cc;
	struct eim_dtls_server_stats st;

	max_hs = 1;
	max_sess = 4;
	world_init(&w, psk, 8, true);
	max_hs = max_sess = 0;
	eim_dtls_client_config_init(&cc);
	cc.ctx = &w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"sensor";
	cc.psk_identity_len = 6;
	cc.psk = psk;
	cc.psk_len = 16;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &b), 0);

	/* A passes the cookie check, then never answers */
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	hop(&w, w.cli);
	w.drop_next_to_cli = true;
	hop(&w, w.cli);
	ck_assert_uint_eq(stats(&w).handshaking, 1);
	/* B, 4.9 s later: A has not had its 5 s yet, B is refused */
	w.now += 4900;
	w.cli_addr = loop_addr(40100);
	ck_assert_int_eq(eim_dtls_client_start(b, w.now), 0);
	hop(&w, b);
	hop(&w, b);
	st = stats(&w);
	ck_assert_uint_eq(st.handshakes_refused, 1);
	ck_assert_uint_eq(st.handshakes_evicted, 0);
	ck_assert_uint_eq(st.handshaking, 1);
	/* B retransmits after A's 5 s: A gives way, B gets its session */
	w.now += 1100;
	eim_dtls_client_tick(b, w.now);
	for (int i = 0; i < 6; i++)
		hop(&w, b);
	ck_assert_int_eq(eim_dtls_client_state(b), EIM_DTLS_CLIENT_ESTABLISHED);
	st = stats(&w);
	ck_assert_uint_eq(st.handshakes_evicted, 1);
	ck_assert_uint_eq(st.handshakes_refused, 1);
	ck_assert_uint_eq(st.handshaking, 0);
	ck_assert_uint_eq(st.sessions, 1);
	eim_dtls_client_free(b);
	world_done(&w);
}
END_TEST

START_TEST(idle_eviction_and_close)
{
	struct world w;
	struct eim_dtls_server_stats st;
	uint64_t t;

	world_init(&w, psk, 8, true);
	handshake(&w);
	roundtrip(&w, "x");
	t = eim_dtls_server_next_timeout(w.srv);
	ck_assert_uint_eq(t, w.now + 600000);
	eim_dtls_server_tick(w.srv, t - 1);
	ck_assert_uint_eq(stats(&w).sessions, 1);
	eim_dtls_server_tick(w.srv, t);
	st = stats(&w);
	ck_assert_uint_eq(st.sessions, 0);
	ck_assert_uint_eq(st.sessions_idle_evicted, 1);
	ck_assert_int_eq(w.closed_reason, EIM_DTLS_CLOSE_IDLE);
	ck_assert_uint_eq(eim_dtls_server_next_timeout(w.srv), UINT64_MAX);
	/* the evicted session's records now find nothing */
	ck_assert_int_eq(eim_dtls_client_send(w.cli, (const uint8_t *)"y", 1),
			 0);
	pump(&w);
	ck_assert_uint_eq(stats(&w).records_no_session, 1);
	world_done(&w);

	/* close_notify from the client ends the server session */
	world_init(&w, psk, 8, true);
	handshake(&w);
	eim_dtls_client_close(w.cli);
	pump(&w);
	ck_assert_uint_eq(stats(&w).sessions, 0);
	ck_assert_int_eq(w.closed_reason, EIM_DTLS_CLOSE_PEER_CLOSED);
	ck_assert_int_eq(eim_dtls_client_state(w.cli), EIM_DTLS_CLIENT_CLOSED);
	world_done(&w);
}
END_TEST

START_TEST(ecdhe_psk_chacha20_with_cid)
{
	struct world w;
	struct eim_dtls_client_config cc;
	static const uint16_t chacha[] = {EIM_DTLS_ECDHE_PSK_CHACHA20};

	world_init(&w, psk, 8, true);
	eim_dtls_client_free(w.cli);
	eim_dtls_client_config_init(&cc);
	cc.ctx = &w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"sensor";
	cc.psk_identity_len = 6;
	cc.psk = psk;
	cc.psk_len = 16;
	cc.suites = chacha;
	cc.n_suites = 1;
	cc.cid_len = 5; /* CID records in both directions */
	/* both offered (secp256r1 chosen), x25519 alone */
	cc.ecdhe_group = _i == 1 ? EIM_DTLS_GROUP_X25519 : 0;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w.cli), 0);
	handshake(&w);
	ck_assert_uint_eq(eim_dtls_client_suite(w.cli),
			  EIM_DTLS_ECDHE_PSK_CHACHA20);
	roundtrip(&w, "chacha");
	ck_assert_uint_eq(eim_dtls_session_suite(w.last_session),
			  EIM_DTLS_ECDHE_PSK_CHACHA20);
	w.cli_addr = loop_addr(40002);
	roundtrip(&w, "chacha moved");
	ck_assert_uint_eq(stats(&w).address_changes, 1);
	world_done(&w);
}
END_TEST

START_TEST(ecdhe_psk_point_off_curve_refused)
{
	struct world w;
	struct eim_dtls_client_config cc;
	static const uint16_t chacha[] = {EIM_DTLS_ECDHE_PSK_CHACHA20};

	world_init(&w, psk, 8, true);
	eim_dtls_client_free(w.cli);
	eim_dtls_client_config_init(&cc);
	cc.ctx = &w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"sensor";
	cc.psk_identity_len = 6;
	cc.psk = psk;
	cc.psk_len = 16;
	cc.suites = chacha;
	cc.n_suites = 1;
	cc.ecdhe_group = EIM_DTLS_GROUP_P256; /* a point can be off it */
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w.cli), 0);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	/* run the exchange by hand up to the client's third flight */
	for (int i = 0; i < 2; i++) {
		struct dgram g = w.to_srv[0];

		w.n_to_srv = 0;
		eim_dtls_server_input(w.srv, (struct sockaddr *)&g.addr,
				      sizeof(g.addr), g.b, g.n, w.now);
		for (size_t k = 0, n = w.n_to_cli; k < n; k++)
			eim_dtls_client_input(w.cli, w.to_cli[k].b,
					      w.to_cli[k].n, w.now);
		w.n_to_cli = 0;
	}
	/* flight 3 starts with the ClientKeyExchange record: header 13,
	 * handshake header 12, identity 2 + 6, point length 1, point 65 */
	ck_assert_uint_eq(w.n_to_srv, 1);
	ck_assert_uint_eq(w.to_srv[0].b[13], EIM_DTLS_HS_CLIENT_KEY_EXCHANGE);
	ck_assert_uint_eq(w.to_srv[0].b[13 + 12 + 8], 65);
	ck_assert_uint_eq(w.to_srv[0].b[13 + 12 + 9], 0x04);
	w.to_srv[0].b[13 + 12 + 9 + 40] ^= 0x01; /* Y no longer matches X */
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli), EIM_DTLS_CLIENT_FAILED);
	ck_assert_int_eq(eim_dtls_client_alert(w.cli), 47); /* illegal_param */
	ck_assert_uint_eq(stats(&w).sessions, 0);
	world_done(&w);
}
END_TEST

/* An x25519 value of small order (u = 0 gives an all-zero secret, RFC
 * 8422 section 5.11) in the ClientKeyExchange ends the handshake with
 * illegal_parameter and no session. */
START_TEST(ecdhe_psk_x25519_small_order_refused)
{
	struct world w;
	struct eim_dtls_client_config cc;
	static const uint16_t chacha[] = {EIM_DTLS_ECDHE_PSK_CHACHA20};

	world_init(&w, psk, 8, true);
	eim_dtls_client_free(w.cli);
	eim_dtls_client_config_init(&cc);
	cc.ctx = &w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"sensor";
	cc.psk_identity_len = 6;
	cc.psk = psk;
	cc.psk_len = 16;
	cc.suites = chacha;
	cc.n_suites = 1;
	cc.ecdhe_group = EIM_DTLS_GROUP_X25519;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w.cli), 0);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	for (int i = 0; i < 2; i++) {
		struct dgram g = w.to_srv[0];

		w.n_to_srv = 0;
		eim_dtls_server_input(w.srv, (struct sockaddr *)&g.addr,
				      sizeof(g.addr), g.b, g.n, w.now);
		for (size_t k = 0, n = w.n_to_cli; k < n; k++)
			eim_dtls_client_input(w.cli, w.to_cli[k].b,
					      w.to_cli[k].n, w.now);
		w.n_to_cli = 0;
	}
	/* ClientKeyExchange: header 13, handshake header 12, identity
	 * 2 + 6, value length 1: the server chose x25519 (32 bytes) */
	ck_assert_uint_eq(w.n_to_srv, 1);
	ck_assert_uint_eq(w.to_srv[0].b[13], EIM_DTLS_HS_CLIENT_KEY_EXCHANGE);
	ck_assert_uint_eq(w.to_srv[0].b[13 + 12 + 8], 32);
	memset(w.to_srv[0].b + 13 + 12 + 9, 0, 32);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli), EIM_DTLS_CLIENT_FAILED);
	ck_assert_int_eq(eim_dtls_client_alert(w.cli), 47); /* illegal_param */
	ck_assert_uint_eq(stats(&w).sessions, 0);
	world_done(&w);
}
END_TEST

START_TEST(gcm_suite_and_server_preference)
{
	struct world w;
	struct eim_dtls_client_config cc;
	static const uint16_t gcm[] = {EIM_DTLS_PSK_AES128_GCM_SHA256};

	world_init(&w, psk, 8, true);
	eim_dtls_client_free(w.cli);
	eim_dtls_client_config_init(&cc);
	cc.ctx = &w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"sensor";
	cc.psk_identity_len = 6;
	cc.psk = psk;
	cc.psk_len = 16;
	cc.suites = gcm;
	cc.n_suites = 1;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w.cli), 0);
	handshake(&w);
	ck_assert_uint_eq(eim_dtls_client_suite(w.cli),
			  EIM_DTLS_PSK_AES128_GCM_SHA256);
	roundtrip(&w, "gcm");
	world_done(&w);
}
END_TEST

START_TEST(record_size_limit_is_honoured)
{
	struct world w;
	struct eim_dtls_client_config cc;
	uint8_t big[200];

	memset(big, 'b', sizeof(big));
	world_init(&w, psk, 8, true);
	eim_dtls_client_free(w.cli);
	eim_dtls_client_config_init(&cc);
	cc.ctx = &w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"sensor";
	cc.psk_identity_len = 6;
	cc.psk = psk;
	cc.psk_len = 16;
	cc.record_size_limit = 100;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w.cli), 0);
	handshake(&w);
	roundtrip(&w, "x");
	/* the server may not send the client more than 100 bytes a record */
	ck_assert_int_eq(eim_dtls_session_send(w.last_session, big, 101),
			 EIM_ETOOBIG);
	ck_assert_int_eq(eim_dtls_session_send(w.last_session, big, 100), 0);
	pump(&w);
	ck_assert_uint_eq(w.cli_got_len, 100);
	/* the server announced 16384: the client may send 200 */
	ck_assert_int_eq(eim_dtls_client_send(w.cli, big, 150), 0);
	w.n_to_srv = 0;
	world_done(&w);
	/* a limit below 64 is refused at creation */
	cc.record_size_limit = 63;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &w.cli), EIM_EINVAL);
}
END_TEST

START_TEST(server_config_validation)
{
	struct eim_dtls_server_config sc;
	struct eim_dtls_server *srv = NULL;
	static const uint16_t bad[] = {0x1301};

	eim_dtls_server_config_init(&sc);
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &srv), EIM_EINVAL);
	sc.send = srv_send;
	sc.psk_lookup = lookup;
	sc.cid_len = 33;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &srv), EIM_EINVAL);
	sc.cid_len = 4;
	sc.cid_prefix = (const uint8_t *)"abcd";
	sc.cid_prefix_len = 4;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &srv), EIM_EINVAL);
	sc.cid_prefix_len = 0;
	sc.suites = bad;
	sc.n_suites = 1;
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &srv), EIM_EINVAL);
	ck_assert_ptr_null(srv);
	sc.n_suites = 0;
	eim_alloc_fail_after(0);
	ck_assert_int_eq(eim_dtls_server_new(&sc, 0, &srv), EIM_ENOMEM);
	eim_alloc_fail_reset();
	ck_assert_ptr_null(srv);
}
END_TEST

START_TEST(cid_prefix_is_used)
{
	struct world w;
	struct eim_dtls_server_config sc;
	const uint8_t *cid;
	size_t n = 0;

	world_init(&w, psk, 8, true);
	eim_dtls_server_free(w.srv);
	eim_dtls_server_config_init(&sc);
	sc.ctx = &w;
	sc.send = srv_send;
	sc.on_app_data = srv_app;
	sc.psk_lookup = lookup;
	sc.cid_len = 6;
	sc.cid_prefix = (const uint8_t *)"\x4e\x31";
	sc.cid_prefix_len = 2;
	ck_assert_int_eq(eim_dtls_server_new(&sc, w.now, &w.srv), 0);
	handshake(&w);
	cid = eim_dtls_client_peer_cid(w.cli, &n);
	ck_assert_uint_eq(n, 6);
	ck_assert_mem_eq(cid, "\x4e\x31", 2);
	roundtrip(&w, "routed");
	world_done(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_session");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, psk_handshake_with_cid);
	tcase_add_test(tc, psk_handshake_without_cid);
	tcase_add_test(tc, client_hello_without_extensions);
	tcase_add_test(tc, address_change_follows_cid);
	tcase_add_test(tc, second_hello_verify_request_followed);
	tcase_add_test(tc, storage_sized_addresses_are_normalized);
	tcase_add_test(tc, replay_from_new_address_does_not_move);
	tcase_add_test(tc,
		       delayed_record_from_new_address_is_accepted_not_moved);
	tcase_add_test(tc, tampered_and_unknown_cid_records_dropped);
	tcase_add_test(tc, wrong_psk_fails_with_alert_and_no_session);
	tcase_add_test(tc, transcript_mismatch_fails_finished);
	tcase_add_test(tc, lost_server_flight_is_retransmitted);
	tcase_add_test(tc, lost_client_hello_retransmitted_by_client);
	tcase_add_test(tc, cookieless_flood_keeps_no_state);
	tcase_add_test(tc, forged_cookie_refused);
	tcase_add_test(tc, keylog_lines_match_on_both_sides);
	tcase_add_test(tc, handshake_and_session_caps);
	tcase_add_test(tc, stalled_handshake_gives_way);
	tcase_add_test(tc, idle_eviction_and_close);
	tcase_add_test(tc, gcm_suite_and_server_preference);
	tcase_add_loop_test(tc, ecdhe_psk_chacha20_with_cid, 0, 2);
	tcase_add_test(tc, ecdhe_psk_x25519_small_order_refused);
	tcase_add_test(tc, ecdhe_psk_point_off_curve_refused);
	tcase_add_test(tc, record_size_limit_is_honoured);
	tcase_add_test(tc, server_config_validation);
	tcase_add_test(tc, cid_prefix_is_used);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
