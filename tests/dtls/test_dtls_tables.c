/*
 * test_dtls_tables.c - the DTLS server's session tables grow with the
 * sessions present (they start at 64 buckets whatever max_sessions says)
 * and every session stays reachable by its Connection ID (RFC 9146) and by
 * its address across the resizes, after address changes and while idle
 * sessions are evicted; and the handshake state is released as soon as a
 * handshake completes, while a lost final flight is still resent.
 */
#include "tests/dtls/dtls_world.h"

#include "common/eim_err.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 600 /* > 64 * 2^3: at least three doublings */

static struct eim_dtls_client *new_client(struct world *w, bool cid)
{
	struct eim_dtls_client_config cc;
	struct eim_dtls_client *c = NULL;

	eim_dtls_client_config_init(&cc);
	cc.ctx = w;
	cc.send = cli_send;
	cc.on_app_data = cli_app;
	cc.psk_identity = (const uint8_t *)"sensor";
	cc.psk_identity_len = 6;
	cc.psk = psk;
	cc.psk_len = 16;
	cc.use_cid = cid;
	ck_assert_int_eq(eim_dtls_client_new(&cc, &c), 0);
	return c;
}

/* Client i lives at 127.0.0.1:(20000 + i), or at port 50000 + i once
 * moved. */
static uint16_t port_of(size_t i, bool moved)
{
	return (uint16_t)((moved ? 50000 : 20000) + i);
}

/* One application round trip of client c from its address: the server
 * must find c's session (by CID or by address) and echo. */
static void echo(struct world *w, struct eim_dtls_client *c, uint16_t port,
		 size_t i)
{
	char msg[32];
	struct eim_dtls_client *keep = w->cli;

	snprintf(msg, sizeof(msg), "hello %zu", i);
	w->cli = c;
	w->cli_addr = loop_addr(port);
	w->cli_got_len = 0;
	ck_assert_int_eq(eim_dtls_client_send(c, (const uint8_t *)msg,
					      strlen(msg)),
			 0);
	pump(w);
	ck_assert_msg(w->cli_got_len == strlen(msg) &&
			      memcmp(w->cli_got, msg, strlen(msg)) == 0,
		      "session %zu not found", i);
	w->cli = keep;
}

static void open_all(struct world *w, struct eim_dtls_client **c, size_t n,
		     size_t from)
{
	struct eim_dtls_client *keep = w->cli;

	for (size_t i = from; i < from + n; i++) {
		/* every third one without CID: found by address only */
		c[i] = new_client(w, i % 3 != 0);
		w->cli = c[i];
		w->cli_addr = loop_addr(port_of(i, false));
		handshake(w);
	}
	w->cli = keep;
}

START_TEST(sessions_findable_across_resizes)
{
	struct world w;
	struct eim_dtls_client **c = calloc(N, sizeof(*c));
	struct eim_dtls_server_stats st;

	max_sess = 1000000; /* the tables must not be sized by this */
	world_init(&w, psk, 8, true);
	max_sess = 0;
	ck_assert_ptr_nonnull(c);
	open_all(&w, c, N, 0);
	st = stats(&w);
	ck_assert_uint_eq(st.sessions, N);
	ck_assert_uint_eq(st.handshakes_completed, N);
	/* 64 -> 128 -> 256 -> 512 -> 1024 */
	ck_assert_uint_eq(st.table_resizes, 4);
	for (size_t i = 0; i < N; i++)
		echo(&w, c[i], port_of(i, false), i);
	/* the CID sessions move (RFC 9146 section 6): found at the new
	 * address too, and the others are untouched */
	for (size_t i = 0; i < N; i++)
		if (i % 3 != 0)
			echo(&w, c[i], port_of(i, true), i);
	st = stats(&w);
	ck_assert_uint_eq(st.address_changes, N - N / 3);
	ck_assert_uint_eq(st.records_no_session, 0);
	for (size_t i = 0; i < N; i++)
		echo(&w, c[i], port_of(i, i % 3 != 0), i);
	/* a record without CID from a moved session's old address finds
	 * nothing: its address entry moved with it */
	ck_assert_uint_eq(stats(&w).sessions, N);
	for (size_t i = 0; i < N; i++)
		eim_dtls_client_free(c[i]);
	free(c);
	world_done(&w);
}
END_TEST

START_TEST(eviction_keeps_the_rest_findable)
{
	struct world w;
	struct eim_dtls_client **c = calloc(N, sizeof(*c));
	struct eim_dtls_server_stats st;

	struct eim_dtls_client *own;

	world_init(&w, psk, 8, true);
	own = w.cli; /* world_done() frees it */
	ck_assert_ptr_nonnull(c);
	open_all(&w, c, N / 2, 0);
	w.now += 300000; /* half the idle timeout */
	open_all(&w, c, N / 2, N / 2);
	/* the first half idles out, the second half stays */
	w.now += 300001;
	eim_dtls_server_tick(w.srv, w.now);
	st = stats(&w);
	ck_assert_uint_eq(st.sessions_idle_evicted, N / 2);
	ck_assert_uint_eq(st.sessions, N / 2);
	for (size_t i = N / 2; i < N; i++)
		echo(&w, c[i], port_of(i, false), i);
	/* the evicted ones are gone from both tables */
	for (size_t i = 0; i < N / 2; i++) {
		w.cli = c[i];
		w.cli_addr = loop_addr(port_of(i, false));
		ck_assert_int_eq(eim_dtls_client_send(c[i],
						      (const uint8_t *)"x", 1),
				 0);
		w.cli_got_len = 0;
		pump(&w);
		ck_assert_uint_eq(w.cli_got_len, 0);
	}
	ck_assert_uint_eq(stats(&w).records_no_session, N / 2);
	/* new sessions at the evicted addresses work again */
	for (size_t i = 0; i < N / 2; i++)
		eim_dtls_client_free(c[i]);
	w.cli = own;
	open_all(&w, c, N / 2, 0);
	for (size_t i = 0; i < N; i++)
		echo(&w, c[i], port_of(i, false), i);
	ck_assert_uint_eq(stats(&w).sessions, N);
	for (size_t i = 0; i < N; i++)
		eim_dtls_client_free(c[i]);
	free(c);
	world_done(&w);
}
END_TEST

/*
 * Many devices behind one NAT: an address one device left is handed to
 * another. A session with a Connection ID must survive losing its address,
 * to a new device's handshake from it or to another session moving there;
 * a session without one is only reachable by its address and is replaced.
 */
START_TEST(address_reuse_spares_cid_sessions)
{
	struct world w;
	struct eim_dtls_client *a, *b, *c, *d, *e, *keep;
	struct eim_dtls_server_stats st;

	world_init(&w, psk, 8, true);
	keep = w.cli;
	a = new_client(&w, true);
	w.cli = a;
	w.cli_addr = loop_addr(30000);
	handshake(&w);
	echo(&w, a, 30001, 0); /* a rebinds: 30000 -> 30001 */
	/* b handshakes from the address a now has */
	b = new_client(&w, true);
	w.cli = b;
	w.cli_addr = loop_addr(30001);
	handshake(&w);
	echo(&w, b, 30001, 1);
	echo(&w, a, 30002, 0); /* a's CID still finds it, from anywhere */
	/* c (CID) sits at 30003; a moves there: c keeps its session */
	c = new_client(&w, true);
	w.cli = c;
	w.cli_addr = loop_addr(30003);
	handshake(&w);
	echo(&w, a, 30003, 0);
	echo(&w, c, 30004, 2);
	echo(&w, a, 30003, 0);
	st = stats(&w);
	ck_assert_uint_eq(st.sessions, 3);
	ck_assert_uint_eq(st.addresses_displaced, 2);
	ck_assert_uint_eq(st.records_no_session, 0);
	/* without a CID the address is the session: e replaces d */
	d = new_client(&w, false);
	w.cli = d;
	w.cli_addr = loop_addr(30005);
	handshake(&w);
	e = new_client(&w, false);
	w.cli = e;
	w.cli_addr = loop_addr(30005);
	handshake(&w);
	echo(&w, e, 30005, 4);
	st = stats(&w);
	ck_assert_uint_eq(st.sessions, 4);
	ck_assert_uint_eq(st.addresses_displaced, 2);
	w.cli = keep;
	eim_dtls_client_free(a);
	eim_dtls_client_free(b);
	eim_dtls_client_free(c);
	eim_dtls_client_free(d);
	eim_dtls_client_free(e);
	world_done(&w);
}
END_TEST

START_TEST(handshake_state_freed_at_completion)
{
	struct world w;
	struct eim_dtls_server_stats st;

	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	hop(&w, w.cli); /* CH -> HVR */
	hop(&w, w.cli); /* CH -> flight 2 */
	st = stats(&w);
	ck_assert_uint_eq(st.hs_states, 1);
	ck_assert_uint_eq(st.hs_freed, 0);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	st = stats(&w);
	ck_assert_uint_eq(st.hs_states, 0);
	ck_assert_uint_eq(st.hs_freed, 1);
	/* only the final flight's linger timer (30 s) is left before the
	 * idle timeout */
	ck_assert_uint_eq(eim_dtls_server_next_timeout(w.srv), w.now + 30000);
	roundtrip(&w, "first");
	/* the client's record confirmed our Finished: nothing kept */
	ck_assert_uint_eq(eim_dtls_server_next_timeout(w.srv), w.now + 600000);
	world_done(&w);

	/* a session that fails mid-handshake counts its state freed too */
	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	hop(&w, w.cli);
	hop(&w, w.cli);
	w.now += 60000; /* handshake timeout */
	eim_dtls_server_tick(w.srv, w.now);
	st = stats(&w);
	ck_assert_uint_eq(st.sessions, 0);
	ck_assert_uint_eq(st.hs_states, 0);
	ck_assert_uint_eq(st.hs_freed, 1);
	world_done(&w);
}
END_TEST

START_TEST(lost_final_flight_resent_after_hs_freed)
{
	struct world w;
	struct eim_dtls_server_stats st;

	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	hop(&w, w.cli); /* CH -> HVR */
	hop(&w, w.cli); /* CH -> SH..SHD */
	w.drop_next_to_cli = true;
	hop(&w, w.cli); /* CKE, CCS, Finished -> our CCS+Finished, lost */
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_HANDSHAKING);
	st = stats(&w);
	ck_assert_uint_eq(st.handshakes_completed, 1);
	ck_assert_uint_eq(st.hs_states, 0);
	/* the client repeats its flight; the server answers from what it
	 * kept of the handshake */
	w.now += 1000;
	eim_dtls_client_tick(w.cli, w.now);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_ESTABLISHED);
	ck_assert_uint_eq(stats(&w).retransmissions, 1);
	roundtrip(&w, "after a lost Finished");
	/* after the linger time nothing is resent any more */
	world_done(&w);

	world_init(&w, psk, 8, true);
	ck_assert_int_eq(eim_dtls_client_start(w.cli, w.now), 0);
	hop(&w, w.cli);
	hop(&w, w.cli);
	w.drop_next_to_cli = true;
	hop(&w, w.cli);
	w.now += 30000;
	eim_dtls_server_tick(w.srv, w.now); /* linger over */
	eim_dtls_client_tick(w.cli, w.now);
	pump(&w);
	ck_assert_int_eq(eim_dtls_client_state(w.cli),
			 EIM_DTLS_CLIENT_HANDSHAKING);
	ck_assert_uint_eq(stats(&w).retransmissions, 0);
	ck_assert_uint_ge(stats(&w).records_unexpected, 1);
	world_done(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_tables");
	TCase *tc = tcase_create("tables");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sessions_findable_across_resizes);
	tcase_add_test(tc, eviction_keeps_the_rest_findable);
	tcase_add_test(tc, address_reuse_spares_cid_sessions);
	tcase_add_test(tc, handshake_state_freed_at_completion);
	tcase_add_test(tc, lost_final_flight_resent_after_hs_freed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
