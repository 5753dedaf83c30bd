/*
 * Unit tests of store/: counters and enqueueing, the delivery state machine
 * (next, expiry, cancel), results and notifications, operator queries and
 * the append-only audit trail, on real SQLite files.
 */
#include "store_fixture.h"

#include <sqlite3.h>

static struct fx F;

static void setup(void)
{
	fx_setup(&F);
}

static void teardown(void)
{
	fx_teardown(&F);
}

static uint64_t count_state(const uint8_t *eid, int state)
{
	uint64_t c[EIM_STORE_STATE_COUNT];

	ck_assert_int_eq(eim_store_package_counts(F.s, eid, c), 0);
	return c[state];
}

static int attempts_cb(void *ctx, const struct eim_store_package *p)
{
	*(uint32_t *)ctx = p->attempts;
	return 0;
}

static int count_audit(const char *action)
{
	return fx_n_audit(F.s, action);
}

START_TEST(enqueue_takes_counters)
{
	struct eim_store_enqueue_req r = fx_req(1, "{\"ops\":[\"enable\"]}");
	struct fx_signer sg = {0};
	struct eim_store_enqueued q;
	static const uint8_t txid[] = {1, 2, 3};

	fx_fleet(&F, 2, 41);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q), 0);
	ck_assert_uint_eq(q.counter, 42);
	ck_assert_int_gt(q.package_id, 0);
	ck_assert(!q.counter_warning);
	ck_assert_str_eq(sg.last_eim_id, "eim-1");
	ck_assert_uint_eq(sg.last.counter, 42);
	ck_assert(!sg.last.has_association_token);
	ck_assert_uint_eq(q.txid_len, 0);
	/* A caller-chosen transaction id is kept. */
	r.txid = txid;
	r.txid_len = sizeof(txid);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q), 0);
	ck_assert_uint_eq(q.counter, 43);
	ck_assert_uint_eq(q.txid_len, 3);
	ck_assert_mem_eq(q.txid, txid, 3);
	/* A signer-generated one too. */
	r.txid = NULL;
	r.txid_len = 0;
	sg.make_txid = true;
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q), 0);
	ck_assert_uint_eq(q.txid_len, 16);
	ck_assert_uint_eq(q.txid[15], 44);
	/* Counters are per device. */
	r = fx_req(2, "other");
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q), 0);
	ck_assert_uint_eq(q.counter, 42);
	ck_assert_int_eq(count_audit("enqueue"), 4);
}
END_TEST

START_TEST(enqueue_errors_write_nothing)
{
	struct eim_store_enqueue_req r = fx_req(1, "s");
	struct fx_signer sg = {0};
	struct eim_store_enqueued q = {.package_id = -5};

	fx_fleet(&F, 1, 0);
	/* Unknown EID. */
	r = fx_req(9, "s");
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q),
			 EIM_ENOTFOUND);
	ck_assert_int_eq(q.package_id, -5); /* untouched */
	/* Malformed EID. */
	r.eid[0] = 0xF8;
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q),
			 EIM_EMALFORMED);
	/* Unknown identity, and a known one without association. */
	r = fx_req(1, "s");
	r.eim_id = "eim-x";
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q),
			 EIM_ENOTFOUND);
	ck_assert_str_eq(eim_store_errmsg(F.s),
			 "eIM identity 'eim-x' does not exist");
	{
		struct eim_store_identity id = {.eim_id = "eim-2",
						.key_ref = "k"};
		ck_assert_int_eq(eim_store_identity_add(F.s, &id), 0);
	}
	r.eim_id = "eim-2";
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q),
			 EIM_ENOTFOUND);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s),
				    "no association with eIM 'eim-2'"));
	/* Bad request fields. */
	r.eim_id = NULL;
	r.kind = NULL;
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q),
			 EIM_EINVAL);
	r.kind = "eco";
	r.txid_len = 17;
	r.txid = (const uint8_t *)"12345678901234567";
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q),
			 EIM_EINVAL);
	r.txid = NULL;
	r.txid_len = 0;
	/* The signer fails: nothing stored, counter not consumed. */
	sg.fail = EIM_ECRYPTO;
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q),
			 EIM_ECRYPTO);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "signing"));
	sg.fail = 0;
	ck_assert_uint_eq(count_state(NULL, EIM_STORE_QUEUED), 0);
	ck_assert_int_eq(count_audit("enqueue"), 0);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q), 0);
	ck_assert_uint_eq(q.counter, 1);
}
END_TEST

START_TEST(counter_exhaustion_and_warning)
{
	struct eim_store_enqueue_req r = fx_req(1, "s");
	struct eim_store_enqueued q;

	F.opt.counter_warn = EIM_STORE_COUNTER_MAX - 1;
	fx_reopen(&F);
	fx_fleet(&F, 1, EIM_STORE_COUNTER_MAX - 3);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q), 0);
	ck_assert_uint_eq(q.counter, EIM_STORE_COUNTER_MAX - 2);
	ck_assert(!q.counter_warning);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q), 0);
	ck_assert(q.counter_warning);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q), 0);
	ck_assert_uint_eq(q.counter, EIM_STORE_COUNTER_MAX);
	ck_assert(q.counter_warning);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q),
			 EIM_EEXHAUSTED);
	ck_assert_str_eq(eim_store_errmsg(F.s),
			 "device 89049032000000000000000000000001 with eIM "
			 "'eim-1': counterValue 8388607 is used up; renew the "
			 "association");
	ck_assert_uint_eq(count_state(NULL, EIM_STORE_QUEUED), 3);
}
END_TEST

START_TEST(association_token_reaches_signer)
{
	struct eim_store_assoc_set a = {.eim_id = "eim-1",
					.set_token = true,
					.has_token = true,
					.token = 77};
	struct eim_store_enqueue_req r = fx_req(1, "s");
	struct fx_signer sg = {0};
	struct eim_store_enqueued q;

	fx_fleet(&F, 1, 0);
	fx_eid(1, a.eid);
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), 0);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q), 0);
	ck_assert(sg.last.has_association_token);
	ck_assert_int_eq(sg.last.association_token, 77);
}
END_TEST

static void enqueue_n(unsigned dev, int n, int64_t valid_until)
{
	struct eim_store_enqueue_req r = fx_req(dev, "s");
	struct eim_store_enqueued q;

	r.valid_until_ms = valid_until;
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q),
				 0);
}

START_TEST(next_delivers_fifo_one_in_flight)
{
	struct eim_store_package p;
	struct eim_store_result_out ro;
	struct eim_store_result_in ri;
	uint8_t eid[16], first[64];
	bool found = true;
	uint32_t n = 0;
	int audits;

	fx_fleet(&F, 1, 0);
	fx_eid(1, eid);
	/* Empty queue: nothing, and nothing written. */
	audits = count_audit(NULL);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert(!found);
	ck_assert_int_eq(count_audit(NULL), audits);

	enqueue_n(1, 2, 0);
	F.clock.now += 10;
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert(found);
	ck_assert_uint_eq(p.counter, 1);
	ck_assert_int_eq(p.state, EIM_STORE_SENT);
	ck_assert_uint_eq(p.attempts, 1);
	ck_assert_int_eq(p.sent_ms, F.clock.now);
	ck_assert_str_eq(p.kind, "psmo");
	ck_assert_str_eq(p.eim_id, "eim-1");
	ck_assert_uint_lt(p.bytes_len, sizeof(first));
	memcpy(first, p.bytes, p.bytes_len);
	ck_assert(eim_test_contains((const char *)first, "|1|tok=-1"));

	/* Re-polls before the result: same bytes, one more attempt each,
	 * counted in memory (no write, no audit entry yet). */
	audits = count_audit(NULL);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert_uint_eq(p.counter, 1);
	ck_assert_uint_eq(p.attempts, 2);
	ck_assert_mem_eq(p.bytes, first, p.bytes_len);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert_uint_eq(p.attempts, 3);
	ck_assert_mem_eq(p.bytes, first, p.bytes_len);
	ck_assert_int_eq(count_audit(NULL), audits);
	ck_assert_int_eq(eim_store_package_get(F.s, p.id, attempts_cb, &n), 0);
	ck_assert_uint_eq(n, 1); /* the file still says 1 */

	/* The result carries them to the file, in its transaction. */
	ri = fx_result(1, 1, "EPR-1");
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	ck_assert(!ro.duplicate);
	ck_assert_int_eq(ro.package_id, p.id);
	ck_assert_uint_eq(count_state(eid, EIM_STORE_DONE), 1);
	ck_assert_int_eq(count_audit("redeliver"), 1);
	ck_assert_int_eq(eim_store_package_get(F.s, p.id, attempts_cb, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(eim_store_flush(F.s), 0); /* nothing left to add */
	ck_assert_int_eq(count_audit("redeliver"), 1);

	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert(found);
	ck_assert_uint_eq(p.counter, 2);
	ri = fx_result(1, 2, "EPR-2");
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert(!found);

	fx_eid(5, eid);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), EIM_ENOTFOUND);
}
END_TEST

START_TEST(redeliveries_are_written_by_flush)
{
	struct eim_store_package p;
	uint8_t eid[16];
	bool found;
	uint32_t n = 0;

	fx_fleet(&F, 2, 0);
	fx_eid(1, eid);
	enqueue_n(1, 1, 0);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert_uint_eq(p.attempts, 4);
	ck_assert_int_eq(count_audit("redeliver"), 0);
	ck_assert_int_eq(eim_store_flush(F.s), 0);
	ck_assert_int_eq(eim_store_package_get(F.s, p.id, attempts_cb, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(count_audit("redeliver"), 1);
	/* counting goes on from the written value, and a second flush
	 * with nothing new writes nothing */
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert_uint_eq(p.attempts, 5);
	ck_assert_int_eq(eim_store_flush(F.s), 0);
	ck_assert_int_eq(eim_store_flush(F.s), 0);
	ck_assert_int_eq(count_audit("redeliver"), 2);
	ck_assert_int_eq(eim_store_package_get(F.s, p.id, attempts_cb, &n), 0);
	ck_assert_uint_eq(n, 5);
}
END_TEST

START_TEST(expired_packages_are_not_delivered)
{
	struct eim_store_package p;
	uint8_t eid[16];
	bool found;
	size_t n = 9;

	fx_fleet(&F, 2, 0);
	fx_eid(1, eid);
	enqueue_n(1, 2, F.clock.now + 1000); /* counters 1, 2 */
	enqueue_n(1, 1, 0);		     /* counter 3, no deadline */
	F.clock.now += 1000;
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert(found);
	ck_assert_uint_eq(p.counter, 3);
	ck_assert_uint_eq(count_state(eid, EIM_STORE_EXPIRED), 2);
	ck_assert_int_eq(count_audit("expire"), 2);

	/* The sweep finds the same for devices that never poll. */
	enqueue_n(2, 3, F.clock.now + 50);
	ck_assert_int_eq(eim_store_expire(F.s, &n), 0);
	ck_assert_uint_eq(n, 0);
	F.clock.now += 60;
	ck_assert_int_eq(eim_store_expire(F.s, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(count_state(NULL, EIM_STORE_EXPIRED), 5);
	/* A sent package never expires. */
	ck_assert_uint_eq(count_state(NULL, EIM_STORE_SENT), 1);
}
END_TEST

START_TEST(cancel_only_queued)
{
	struct eim_store_package p;
	uint8_t eid[16];
	bool found;

	fx_fleet(&F, 1, 0);
	fx_eid(1, eid);
	enqueue_n(1, 3, 0);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert_int_eq(eim_store_cancel(F.s, p.id), EIM_ESTATE);
	ck_assert_str_eq(eim_store_errmsg(F.s),
			 "package 1 is sent; only queued packages can be "
			 "cancelled");
	ck_assert_int_eq(eim_store_cancel(F.s, 2), 0);
	ck_assert_int_eq(eim_store_cancel(F.s, 2), EIM_ESTATE);
	ck_assert_int_eq(eim_store_cancel(F.s, 99), EIM_ENOTFOUND);
	ck_assert_int_eq(count_audit("cancel"), 1);
	/* After the in-flight one, the cancelled one is skipped. */
	{
		struct eim_store_result_in ri = fx_result(1, 1, "r1");
		ck_assert_int_eq(eim_store_result_record(F.s, &ri, NULL), 0);
	}
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert_int_eq(p.id, 3);
}
END_TEST

START_TEST(results_idempotent_and_checked)
{
	struct eim_store_result_out ro, ro2;
	struct eim_store_result_in ri;
	struct eim_store_package p;
	uint8_t eid[16];
	bool found;
	int audits;

	fx_fleet(&F, 1, 0);
	fx_eid(1, eid);
	enqueue_n(1, 2, 0);
	/* A result for a package never sent is refused. */
	ri = fx_result(1, 2, "early");
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), EIM_ESTATE);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "never sent"));

	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ri = fx_result(1, 1, "EPR-A");
	ri.seq_number = 4;
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	audits = count_audit(NULL);
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro2), 0);
	ck_assert(ro2.duplicate);
	ck_assert_int_eq(ro2.result_id, ro.result_id);
	ck_assert_int_eq(ro2.package_id, ro.package_id);
	ck_assert_int_eq(count_audit(NULL), audits);
	/* A different result for the done package is kept as well. */
	ri = fx_result(1, 1, "EPR-A-rollback");
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro2), 0);
	ck_assert(!ro2.duplicate);
	ck_assert_int_eq(ro2.package_id, ro.package_id);
	/* A result that names no package is stored unmatched. */
	ri = fx_result(1, 0, "unsigned-error");
	ri.eim_id = NULL;
	ri.counter = -1;
	ri.verified = false;
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro2), 0);
	ck_assert_int_eq(ro2.package_id, 0);
	ck_assert_int_eq(count_audit("result-unmatched"), 1);
	/* Unknown device; empty bytes. */
	ri = fx_result(8, 1, "x");
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro2),
			 EIM_ENOTFOUND);
	ri.len = 0;
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro2), EIM_EINVAL);
}
END_TEST

static int count_results(void *ctx, const struct eim_store_result *r)
{
	(*(int *)ctx)++;
	ck_assert_ptr_nonnull(r->summary);
	return 0;
}

START_TEST(notifications_and_acks)
{
	struct eim_store_notification_in ni = {0};
	struct eim_store_result_in ri;
	struct eim_store_package p;
	int64_t seqs[8];
	uint8_t eid[16];
	bool dup = true, found;
	size_t n = 99;
	int nres = 0;

	fx_fleet(&F, 1, 0);
	fx_eid(1, eid);
	memcpy(ni.eid, eid, 16);
	ni.seq_number = 7;
	ni.kind = "install";
	ni.bytes = (const uint8_t *)"BF2F...";
	ni.len = 7;
	ni.summary = "installed profile";
	ck_assert_int_eq(eim_store_notification_record(F.s, &ni, &dup), 0);
	ck_assert(!dup);
	ck_assert_int_eq(eim_store_notification_record(F.s, &ni, &dup), 0);
	ck_assert(dup);
	ni.kind = NULL;
	ck_assert_int_eq(eim_store_notification_record(F.s, &ni, &dup),
			 EIM_EINVAL);

	enqueue_n(1, 1, 0);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ri = fx_result(1, 1, "EPR");
	ri.seq_number = 3;
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, NULL), 0);

	ck_assert_int_eq(eim_store_acks_pending(F.s, eid, seqs, 8, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(seqs[0], 3);
	ck_assert_int_eq(seqs[1], 7);
	ck_assert_int_eq(eim_store_acks_pending(F.s, eid, seqs, 1, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(eim_store_acks_done(F.s, eid, seqs, 1), 0);
	ck_assert_int_eq(eim_store_acks_pending(F.s, eid, seqs, 8, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(seqs[0], 7);

	ck_assert_int_eq(eim_store_result_list(F.s, eid, 0, count_results,
					       &nres),
			 0);
	ck_assert_int_eq(nres, 1);
	nres = 0;
	ck_assert_int_eq(eim_store_result_list(F.s, NULL, p.id, count_results,
					       &nres),
			 0);
	ck_assert_int_eq(nres, 1);
	fx_eid(3, eid);
	ck_assert_int_eq(eim_store_acks_pending(F.s, eid, seqs, 8, &n),
			 EIM_ENOTFOUND);
}
END_TEST

struct pkg_list {
	int n;
	int64_t ids[16];
};

static int collect_pkg(void *ctx, const struct eim_store_package *p)
{
	struct pkg_list *l = ctx;

	if (l->n < 16)
		l->ids[l->n] = p->id;
	l->n++;
	return 0;
}

static int stop_at_first(void *ctx, const struct eim_store_package *p)
{
	(void)p;
	(*(int *)ctx)++;
	return 42;
}

START_TEST(queries)
{
	struct eim_store_filter f;
	struct pkg_list l = {0};
	struct eim_store_package p;
	uint8_t e1[16], e2[16];
	uint64_t c[EIM_STORE_STATE_COUNT];
	bool found;
	int n = 0;

	fx_fleet(&F, 3, 0);
	fx_eid(1, e1);
	fx_eid(2, e2);
	enqueue_n(1, 2, 0); /* ids 1, 2 at t0 */
	F.clock.now += 1000;
	enqueue_n(2, 3, 0); /* ids 3..5 at t0+1000 */
	F.clock.now += 1000;
	enqueue_n(1, 1, 0); /* id 6 at t0+2000 */
	ck_assert_int_eq(eim_store_next(F.s, e2, &p, &found), 0);

	eim_store_filter_init(&f);
	f.eid = e1;
	ck_assert_int_eq(eim_store_package_list(F.s, &f, collect_pkg, &l), 0);
	ck_assert_int_eq(l.n, 3);
	ck_assert_int_eq(l.ids[2], 6);
	eim_store_filter_init(&f);
	f.state = EIM_STORE_SENT;
	l.n = 0;
	ck_assert_int_eq(eim_store_package_list(F.s, &f, collect_pkg, &l), 0);
	ck_assert_int_eq(l.n, 1);
	ck_assert_int_eq(l.ids[0], 3);
	eim_store_filter_init(&f);
	f.from_ms = F.clock.now - 1500;
	f.to_ms = F.clock.now;
	l.n = 0;
	ck_assert_int_eq(eim_store_package_list(F.s, &f, collect_pkg, &l), 0);
	ck_assert_int_eq(l.n, 3);
	ck_assert_int_eq(l.ids[0], 3);
	f.limit = 2;
	l.n = 0;
	ck_assert_int_eq(eim_store_package_list(F.s, &f, collect_pkg, &l), 0);
	ck_assert_int_eq(l.n, 2);
	ck_assert_int_eq(eim_store_package_list(F.s, &f, stop_at_first, &n),
			 42);
	ck_assert_int_eq(n, 1);
	fx_eid(9, e2);
	f.eid = e2;
	ck_assert_int_eq(eim_store_package_list(F.s, &f, collect_pkg, &l),
			 EIM_ENOTFOUND);
	ck_assert_int_eq(eim_store_package_get(F.s, 4, collect_pkg, &l), 0);
	ck_assert_int_eq(eim_store_package_get(F.s, 40, collect_pkg, &l),
			 EIM_ENOTFOUND);

	ck_assert_int_eq(eim_store_package_counts(F.s, NULL, c), 0);
	ck_assert_uint_eq(c[EIM_STORE_QUEUED], 5);
	ck_assert_uint_eq(c[EIM_STORE_SENT], 1);
	ck_assert_uint_eq(c[EIM_STORE_DONE], 0);
	ck_assert_int_eq(eim_store_package_counts(F.s, e1, c), 0);
	ck_assert_uint_eq(c[EIM_STORE_QUEUED], 3);
	ck_assert_int_eq(eim_store_package_counts(F.s, e2, c), EIM_ENOTFOUND);

	ck_assert_str_eq(eim_store_state_name(EIM_STORE_CANCELLED),
			 "cancelled");
	ck_assert_str_eq(eim_store_state_name(9), "?");
	{
		enum eim_store_state st;
		ck_assert_int_eq(eim_store_state_parse("expired", &st), 0);
		ck_assert_int_eq(st, EIM_STORE_EXPIRED);
		ck_assert_int_eq(eim_store_state_parse("bogus", &st),
				 EIM_EINVAL);
	}
}
END_TEST

struct backlog_seen {
	int n;
	struct eim_store_backlog b[4];
};

static int collect_backlog(void *ctx, const struct eim_store_backlog *b)
{
	struct backlog_seen *v = ctx;

	if (v->n < 4)
		v->b[v->n] = *b;
	v->n++;
	return 0;
}

START_TEST(backlog_oldest_first)
{
	struct backlog_seen v = {0};
	struct eim_store_result_in ri;
	struct eim_store_package p;
	uint8_t e[16];
	bool found;
	int64_t t0 = F.clock.now;

	fx_fleet(&F, 4, 0);
	enqueue_n(3, 1, 0);
	F.clock.now += 10;
	enqueue_n(1, 2, 0);
	F.clock.now += 10;
	enqueue_n(2, 1, 0);
	/* Device 3's only package is done: it has no backlog any more. */
	fx_eid(3, e);
	ck_assert_int_eq(eim_store_next(F.s, e, &p, &found), 0);
	ri = fx_result(3, 1, "r");
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, NULL), 0);

	ck_assert_int_eq(eim_store_backlog(F.s, 10, collect_backlog, &v), 0);
	ck_assert_int_eq(v.n, 2);
	fx_eid(1, e);
	ck_assert_mem_eq(v.b[0].eid, e, 16);
	ck_assert_int_eq(v.b[0].oldest_ms, t0 + 10);
	ck_assert_uint_eq(v.b[0].pending, 2);
	fx_eid(2, e);
	ck_assert_mem_eq(v.b[1].eid, e, 16);
	v.n = 0;
	ck_assert_int_eq(eim_store_backlog(F.s, 1, collect_backlog, &v), 0);
	ck_assert_int_eq(v.n, 1);
}
END_TEST

START_TEST(audit_is_append_only)
{
	struct eim_store_filter f;
	sqlite3 *db;
	char *em = NULL;
	uint8_t e[16];
	struct fx_audit_count n = {"operator-note", 0};

	fx_fleet(&F, 2, 0);
	fx_eid(1, e);
	ck_assert_int_eq(eim_store_audit_add(F.s, "operator-note", e,
					     "called the customer"),
			 0);
	ck_assert_int_eq(eim_store_audit_add(F.s, "", e, NULL), EIM_EINVAL);
	eim_store_filter_init(&f);
	f.eid = e;
	ck_assert_int_eq(eim_store_audit_list(F.s, &f, fx_audit_cb, &n), 0);
	ck_assert_int_eq(n.n, 1);

	/* A device's trail: device-level entries and its packages' ones,
	 * in order, bounded by time. */
	{
		struct eim_store_package p;
		uint8_t e2[16];
		bool found;
		struct fx_audit_count any = {NULL, 0};

		enqueue_n(1, 2, 0);
		enqueue_n(2, 1, 0);
		F.clock.now += 100;
		ck_assert_int_eq(eim_store_next(F.s, e, &p, &found), 0);
		ck_assert_int_eq(eim_store_audit_list(F.s, &f, fx_audit_cb,
						      &any),
				 0);
		/* device-add, credential-set, note, 2 enqueue, send */
		ck_assert_int_eq(any.n, 6);
		any.n = 0;
		f.from_ms = F.clock.now;
		ck_assert_int_eq(eim_store_audit_list(F.s, &f, fx_audit_cb,
						      &any),
				 0);
		ck_assert_int_eq(any.n, 1); /* the send */
		f.from_ms = 0;
		fx_eid(9, e2);
		f.eid = e2;
		ck_assert_int_eq(eim_store_audit_list(F.s, &f, fx_audit_cb,
						      &any),
				 EIM_ENOTFOUND);
	}

	/* Even with raw SQL the trail cannot be rewritten. */
	ck_assert_int_eq(sqlite3_open(F.path, &db), SQLITE_OK);
	ck_assert_int_ne(sqlite3_exec(db, "UPDATE audit SET detail = 'x'", NULL,
				      NULL, &em),
			 SQLITE_OK);
	ck_assert(eim_test_contains(em, "append-only"));
	sqlite3_free(em);
	em = NULL;
	ck_assert_int_ne(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, &em),
			 SQLITE_OK);
	ck_assert(eim_test_contains(em, "append-only"));
	sqlite3_free(em);
	sqlite3_close(db);
}
END_TEST

struct progress {
	int calls;
	size_t last;
};

static void on_progress(void *ctx, size_t done, size_t total)
{
	struct progress *p = ctx;

	p->calls++;
	p->last = done;
	ck_assert_uint_eq(total, 2500);
}

START_TEST(enqueue_many_batches)
{
	static struct eim_store_enqueue_req reqs[2500];
	static struct eim_store_enqueued rets[2500];
	struct progress pr = {0};
	size_t done = 0;

	fx_fleet(&F, 50, 0);
	for (size_t i = 0; i < 2500; i++)
		reqs[i] = fx_req(1 + (unsigned)(i % 50), "campaign");
	ck_assert_int_eq(eim_store_enqueue_many(F.s, reqs, 2500, 1000, fx_sign,
						NULL, on_progress, &pr, rets,
						&done),
			 0);
	ck_assert_uint_eq(done, 2500);
	ck_assert_int_eq(pr.calls, 3);
	ck_assert_uint_eq(pr.last, 2500);
	ck_assert_uint_eq(rets[0].counter, 1);
	ck_assert_uint_eq(rets[2499].counter, 50);
	ck_assert_uint_eq(count_state(NULL, EIM_STORE_QUEUED), 2500);

	/* A bad request in the second batch: the first stays, the rest not. */
	reqs[1500] = fx_req(77, "bad");
	pr.calls = 0;
	ck_assert_int_eq(eim_store_enqueue_many(F.s, reqs, 2500, 1000, fx_sign,
						NULL, on_progress, &pr, NULL,
						&done),
			 EIM_ENOTFOUND);
	ck_assert_uint_eq(done, 1000);
	ck_assert_int_eq(pr.calls, 1);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "request 1500"));
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "no such device"));
	ck_assert_uint_eq(count_state(NULL, EIM_STORE_QUEUED), 3500);
}
END_TEST

static int bad_txid_sign(void *ctx, const struct eim_store_sign_in *in,
			 struct eim_store_sign_out *out)
{
	(void)ctx;
	(void)in;
	eim_buf_append(out->bytes, "x", 1);
	out->txid_len = EIM_STORE_TXID_MAX + 1;
	return 0;
}

static int empty_sign(void *ctx, const struct eim_store_sign_in *in,
		      struct eim_store_sign_out *out)
{
	(void)ctx;
	(void)in;
	(void)out;
	return 0;
}

START_TEST(signer_output_checked)
{
	struct eim_store_enqueue_req r = fx_req(1, "s");
	struct eim_store_enqueued q;

	fx_fleet(&F, 1, 0);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, bad_txid_sign, NULL, &q),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, empty_sign, NULL, &q),
			 EIM_EINVAL);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "no bytes"));
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, NULL, NULL, &q),
			 EIM_EINVAL);
	ck_assert_uint_eq(count_state(NULL, EIM_STORE_QUEUED), 0);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q), 0);
	ck_assert_uint_eq(q.counter, 1);
}
END_TEST

START_TEST(busy_after_timeout)
{
	struct eim_store_enqueue_req r = fx_req(1, "s");
	struct eim_store_enqueued q;
	struct eim_store_package p;
	uint8_t eid[16];
	bool found;
	sqlite3 *db;

	fx_fleet(&F, 1, 0);
	F.opt.busy_timeout_ms = 200;
	fx_reopen(&F);
	/* Another connection holds the write lock and does not let go. */
	ck_assert_int_eq(sqlite3_open(F.path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q),
			 EIM_EBUSY);
	ck_assert(
		eim_test_contains(eim_store_errmsg(F.s), "database is locked"));
	/* Readers are not blocked by a writer in WAL mode. */
	fx_eid(1, eid);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert(!found);
	ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q), 0);
	ck_assert_uint_eq(q.counter, 1);
}
END_TEST

START_TEST(renewal_starts_a_new_generation)
{
	struct eim_store_assoc_set a = {.eim_id = "eim-1",
					.set_token = true,
					.has_token = true,
					.token = 5};
	struct eim_store_enqueue_req r = fx_req(1, "s");
	struct eim_store_result_out ro;
	struct eim_store_result_in ri;
	struct eim_store_enqueued q;
	struct eim_store_package p;
	struct fx_signer sg = {0};
	static const uint8_t aa[] = {0xAA}, bb[] = {0xBB};
	uint8_t eid[16];
	bool found;

	fx_fleet(&F, 2, 0);
	fx_eid(1, eid);
	memcpy(a.eid, eid, 16);
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), 0);
	enqueue_n(1, 3, 0); /* ids 1..3, counters 1..3 */
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ri = fx_result(1, 1, "old-1");
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	ck_assert_int_eq(ro.package_id, 1);

	/* Lower without a new token: refused, nothing changes. */
	a.set_counter = true;
	a.counter = 0;
	a.set_token = false;
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), EIM_ERANGE);
	a.set_token = true; /* the same token is no renewal either */
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), EIM_ERANGE);
	ck_assert_uint_eq(count_state(eid, EIM_STORE_QUEUED), 2);

	/* Renewal: new token, counter from 0, old queued ones cancelled. */
	a.token = 6;
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), 0);
	ck_assert_uint_eq(count_state(eid, EIM_STORE_QUEUED), 0);
	ck_assert_uint_eq(count_state(eid, EIM_STORE_CANCELLED), 2);
	ck_assert_int_eq(count_audit("assoc-renew"), 1);
	ck_assert_int_eq(count_audit("cancel"), 2);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q), 0);
	ck_assert_uint_eq(q.counter, 1);
	ck_assert_int_eq(sg.last.association_token, 6);

	/* A result for counter 1 now means the new package. */
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert_int_eq(p.id, q.package_id);
	ri = fx_result(1, 1, "new-1");
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	ck_assert_int_eq(ro.package_id, q.package_id);

	/* A transaction id in the result must agree with the package's
	 * (device 2, never renewed). */
	r = fx_req(2, "s");
	fx_eid(2, eid);
	r.txid = aa;
	r.txid_len = 1;
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q), 0);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ri = fx_result(2, q.counter, "wrong-txid");
	ri.txid = bb;
	ri.txid_len = 1;
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	ck_assert_int_eq(ro.package_id, 0);
	ri = fx_result(2, q.counter, "right-txid");
	ri.txid = aa;
	ri.txid_len = 1;
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	ck_assert_int_eq(ro.package_id, q.package_id);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store_queue");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, enqueue_takes_counters);
	tcase_add_test(tc, enqueue_errors_write_nothing);
	tcase_add_test(tc, counter_exhaustion_and_warning);
	tcase_add_test(tc, association_token_reaches_signer);
	tcase_add_test(tc, next_delivers_fifo_one_in_flight);
	tcase_add_test(tc, redeliveries_are_written_by_flush);
	tcase_add_test(tc, expired_packages_are_not_delivered);
	tcase_add_test(tc, cancel_only_queued);
	tcase_add_test(tc, results_idempotent_and_checked);
	tcase_add_test(tc, notifications_and_acks);
	tcase_add_test(tc, queries);
	tcase_add_test(tc, backlog_oldest_first);
	tcase_add_test(tc, audit_is_append_only);
	tcase_add_test(tc, enqueue_many_batches);
	tcase_add_test(tc, signer_output_checked);
	tcase_add_test(tc, busy_after_timeout);
	tcase_add_test(tc, renewal_starts_a_new_generation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(srunner_create(store_suite()));
}
