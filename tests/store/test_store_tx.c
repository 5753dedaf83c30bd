/*
 * Unit tests of the store's explicit transactions (eim_store_tx_begin /
 * commit / rollback, store/eim_store.c): what eim serve does with a device's
 * report (result, notification, acknowledgements) reaches the file in one
 * commit or not at all; a call that fails inside undoes only itself; the
 * commit's own failure (a file size limit makes SQLite's write fail) and a
 * transaction SQLite abandoned leave nothing written; re-delivery counts are
 * neither lost nor counted twice; misuse is refused. Real SQLite files; a
 * second handle plays the other process that must not see uncommitted work.
 */
#include "store_fixture.h"

/* White box, for one test only: the handle's SQLite connection, to abandon
 * a transaction the way SQLite does after a full disk or an I/O error. */
#include "store/eim_store_int.h"

#include "common/eim_alloc.h"

#include <signal.h>
#include <sys/resource.h>

static struct fx F;

static void setup(void)
{
	fx_setup(&F);
}

static void teardown(void)
{
	fx_teardown(&F);
}

static void enqueue_n(unsigned dev, int n)
{
	struct eim_store_enqueue_req r = fx_req(dev, "s");
	struct eim_store_enqueued q;

	for (int i = 0; i < n; i++)
		ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q),
				 0);
}

static struct eim_store_result_in result_for(unsigned dev, uint32_t counter,
					     const char *bytes, int64_t seq)
{
	struct eim_store_result_in in = fx_result(dev, counter, bytes);

	in.seq_number = seq;
	return in;
}

/* The package in flight or queued for device `dev`, after eim_store_next. */
static struct eim_store_package send_next(unsigned dev)
{
	struct eim_store_package p;
	uint8_t eid[16];
	bool found = false;

	fx_eid(dev, eid);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert(found);
	return p;
}

struct pkg_seen {
	int state;
	uint32_t attempts;
};

static int pkg_cb(void *ctx, const struct eim_store_package *p)
{
	struct pkg_seen *x = ctx;

	x->state = (int)p->state;
	x->attempts = p->attempts;
	return 0;
}

static struct pkg_seen pkg(struct eim_store *s, int64_t id)
{
	struct pkg_seen x = {-1, 0};

	ck_assert_int_eq(eim_store_package_get(s, id, pkg_cb, &x), 0);
	return x;
}

static int count_cb(void *ctx, const struct eim_store_result *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static int n_results(struct eim_store *s, unsigned dev)
{
	uint8_t eid[16];
	int n = 0;

	fx_eid(dev, eid);
	ck_assert_int_eq(eim_store_result_list(s, eid, 0, count_cb, &n), 0);
	return n;
}

static size_t n_pending(struct eim_store *s, unsigned dev)
{
	int64_t seqs[16];
	uint8_t eid[16];
	size_t n = 99;

	fx_eid(dev, eid);
	ck_assert_int_eq(eim_store_acks_pending(s, eid, seqs, 16, &n), 0);
	return n;
}

static int n_audit(struct eim_store *s, const char *action)
{
	return fx_n_audit(s, action);
}

/* A second handle on the same file: another process's view. */
static struct eim_store *other_handle(void)
{
	struct eim_store *o = NULL;

	ck_assert_int_eq(eim_store_open(F.path, &F.opt, &o), 0);
	return o;
}

/* What eim serve does with a report: result, notification, acks. */
static void report(unsigned dev, uint32_t counter, const char *bytes,
		   int64_t seq)
{
	struct eim_store_notification_in ni = {0};
	struct eim_store_result_in ri = result_for(dev, counter, bytes, seq);
	struct eim_store_result_out ro;
	int64_t seqs[8];
	size_t n = 0;

	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	ck_assert(!ro.duplicate);
	memcpy(ni.eid, ri.eid, 16);
	ni.seq_number = seq + 1;
	ni.kind = "install";
	ni.bytes = (const uint8_t *)bytes;
	ni.len = strlen(bytes);
	ni.summary = "n";
	ck_assert_int_eq(eim_store_notification_record(F.s, &ni, NULL), 0);
	ck_assert_int_eq(eim_store_acks_pending(F.s, ri.eid, seqs, 8, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(eim_store_acks_done(F.s, ri.eid, seqs, n), 0);
}

/* Device 1's package sent, and its report made inside an open
 * transaction: what the failure tests start from. */
static struct eim_store_package reported_in_tx(void)
{
	struct eim_store_package p;

	fx_fleet(&F, 1, 0);
	enqueue_n(1, 1);
	p = send_next(1);
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	report(1, p.counter, "EPR-1", 5);
	return p;
}

START_TEST(report_commits_as_one)
{
	struct eim_store *o;
	struct eim_store_package p, p2;
	uint64_t c0;

	fx_fleet(&F, 2, 0);
	enqueue_n(1, 1);
	enqueue_n(2, 1);
	p = send_next(1);
	p2 = send_next(2);
	/* Without a transaction the report costs a commit per call. */
	c0 = eim_store_commits(F.s);
	report(2, p2.counter, "EPR-2", 5);
	ck_assert_uint_eq(eim_store_commits(F.s) - c0, 3);
	o = other_handle();
	c0 = eim_store_commits(F.s);
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	ck_assert(eim_store_tx_active(F.s));
	report(1, p.counter, "EPR-1", 5);
	ck_assert_uint_eq(eim_store_commits(F.s), c0);
	/* This handle reads its own transaction ... */
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_DONE);
	ck_assert_int_eq(n_results(F.s, 1), 1);
	ck_assert_uint_eq(n_pending(F.s, 1), 0);
	/* ... which nobody else sees before the commit. */
	ck_assert_int_eq(pkg(o, p.id).state, EIM_STORE_SENT);
	ck_assert_int_eq(n_results(o, 1), 0);
	ck_assert_int_eq(n_audit(o, "ack"), 1); /* device 2's */
	ck_assert_int_eq(eim_store_tx_commit(F.s), 0);
	ck_assert_uint_eq(eim_store_commits(F.s) - c0, 1);
	ck_assert(!eim_store_tx_active(F.s));
	ck_assert_int_eq(pkg(o, p.id).state, EIM_STORE_DONE);
	ck_assert_int_eq(n_results(o, 1), 1);
	ck_assert_uint_eq(n_pending(o, 1), 0);
	ck_assert_int_eq(n_audit(o, "done"), 2);
	ck_assert_int_eq(n_audit(o, "notification"), 2);
	ck_assert_int_eq(n_audit(o, "ack"), 2);
	/* A transaction that changed nothing is not a sync. */
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	ck_assert_int_eq(n_results(F.s, 1), 1);
	ck_assert_int_eq(eim_store_tx_commit(F.s), 0);
	ck_assert_uint_eq(eim_store_commits(F.s) - c0, 1);
	eim_store_close(o);
	/* And it is in the file, not just in a connection's cache. */
	fx_reopen(&F);
	ck_assert_int_eq(n_results(F.s, 1), 1);
	ck_assert_int_eq(n_audit(F.s, "ack"), 2);
}
END_TEST

START_TEST(rollback_drops_everything)
{
	uint64_t c0;
	struct eim_store_result_in ri;
	struct eim_store_result_out ro;
	struct eim_store_package p;

	p = reported_in_tx();
	c0 = eim_store_commits(F.s);
	eim_store_tx_rollback(F.s);
	ck_assert_uint_eq(eim_store_commits(F.s), c0);
	ck_assert(!eim_store_tx_active(F.s));
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_SENT);
	ck_assert_int_eq(n_results(F.s, 1), 0);
	ck_assert_int_eq(n_audit(F.s, "done"), 0);
	ck_assert_int_eq(n_audit(F.s, "ack"), 0);
	/* The same report later is new, not a duplicate. */
	ri = result_for(1, p.counter, "EPR-1", 5);
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	ck_assert(!ro.duplicate);
	ck_assert_uint_eq(n_pending(F.s, 1), 1);
	/* A rollback with nothing open does nothing. */
	eim_store_tx_rollback(F.s);
	eim_store_tx_rollback(NULL);
	ck_assert_int_eq(n_results(F.s, 1), 1);
}
END_TEST

START_TEST(failed_call_undoes_only_itself)
{
	struct eim_store_notification_in ni = {0};
	struct eim_store_result_in ri;
	struct eim_store_result_out ro;
	struct eim_store_package p;
	int64_t seq = 9;
	uint8_t eid9[16];

	fx_fleet(&F, 2, 0);
	enqueue_n(1, 1);
	enqueue_n(2, 1); /* queued, never sent */
	p = send_next(1);
	fx_eid(9, eid9);
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	ri = result_for(1, p.counter, "EPR-1", 4);
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	/* A result for a package never sent: refused, nothing of it kept. */
	ri = result_for(2, 1, "EPR-2", 6);
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), EIM_ESTATE);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "never sent"));
	ck_assert(eim_store_tx_active(F.s));
	/* Unknown device, bad notification: refused as outside. */
	ck_assert_int_eq(eim_store_acks_done(F.s, eid9, &seq, 1),
			 EIM_ENOTFOUND);
	memcpy(ni.eid, eid9, 16);
	ni.kind = "install";
	ni.bytes = (const uint8_t *)"x";
	ni.len = 1;
	ni.summary = "n";
	ck_assert_int_eq(eim_store_notification_record(F.s, &ni, NULL),
			 EIM_ENOTFOUND);
	/* The same bytes again inside: a duplicate, nothing changes. */
	ri = result_for(1, p.counter, "EPR-1", 4);
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, &ro), 0);
	ck_assert(ro.duplicate);
	ck_assert_int_eq(eim_store_tx_commit(F.s), 0);
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_DONE);
	ck_assert_int_eq(n_results(F.s, 1), 1);
	ck_assert_int_eq(n_results(F.s, 2), 0);
	ck_assert_int_eq(n_audit(F.s, "done"), 1);
	ck_assert_int_eq(n_audit(F.s, "notification"), 0);
	ck_assert_uint_eq(n_pending(F.s, 1), 1);
	ck_assert_uint_eq(n_pending(F.s, 2), 0);
}
END_TEST

static int sign_many_count(void *ctx, const struct eim_store_sign_in *in,
			   struct eim_store_sign_out *out, int *errs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		errs[i] = fx_sign(ctx, &in[i], &out[i]);
	return 0;
}

static int counter_cb(void *ctx, const struct eim_store_assoc *a)
{
	*(uint32_t *)ctx = a->counter;
	return 0;
}

START_TEST(misuse_is_refused)
{
	struct eim_store_enqueue_req r = fx_req(1, "bulk");
	struct eim_store_enqueued q;
	struct fx_signer sg = {0};
	uint32_t counter = 99;
	uint8_t eid[16];
	size_t done = 7;

	fx_fleet(&F, 1, 0);
	fx_eid(1, eid);
	ck_assert_int_eq(eim_store_tx_begin(NULL), EIM_EINVAL);
	ck_assert_int_eq(eim_store_tx_commit(NULL), EIM_EINVAL);
	ck_assert(!eim_store_tx_active(NULL));
	ck_assert_int_eq(eim_store_tx_commit(F.s), EIM_ESTATE);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "no transaction"));
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	ck_assert_int_eq(eim_store_tx_begin(F.s), EIM_ESTATE);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "already open"));
	ck_assert(eim_store_tx_active(F.s));
	/* The bulk enqueue must commit its counters before it signs. */
	ck_assert_int_eq(eim_store_enqueue_bulk(F.s, &r, 1, 0, sign_many_count,
						fx_sign, &sg, NULL, NULL, NULL,
						&done),
			 EIM_ESTATE);
	ck_assert_uint_eq(done, 0);
	ck_assert_int_eq(sg.calls, 0);
	/* The ordinary enqueue works inside, and commits with it. */
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &sg, &q), 0);
	ck_assert_int_eq(eim_store_tx_commit(F.s), 0);
	ck_assert_int_eq(eim_store_assoc_get(F.s, "eim-1", eid, counter_cb,
					     &counter),
			 0);
	ck_assert_uint_eq(counter, 1);
	ck_assert_int_eq(q.counter, 1);
	/* Outside a transaction the bulk path works again. */
	ck_assert_int_eq(eim_store_enqueue_bulk(F.s, &r, 1, 0, sign_many_count,
						fx_sign, &sg, NULL, NULL, NULL,
						&done),
			 0);
	ck_assert_uint_eq(done, 1);
}
END_TEST

START_TEST(next_inside_a_transaction)
{
	struct eim_store *o;
	struct eim_store_package p;
	uint8_t eid[16];
	bool found = false;

	fx_fleet(&F, 1, 0);
	fx_eid(1, eid);
	enqueue_n(1, 1);
	o = other_handle();
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	p = send_next(1);
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_SENT);
	ck_assert_int_eq(pkg(o, p.id).state, EIM_STORE_QUEUED);
	/* A re-poll inside reads the transaction's own state. */
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert(found);
	ck_assert_uint_eq(p.attempts, 2);
	eim_store_tx_rollback(F.s);
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_QUEUED);
	ck_assert_int_eq(n_audit(F.s, "send"), 0);
	eim_store_close(o);
	/* Sent for real now: one more send. */
	p = send_next(1);
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_SENT);
	ck_assert_int_eq(n_audit(F.s, "send"), 1);
}
END_TEST

/* Sends device dev's package and asks again twice: 3 deliveries, 1 in the
 * file, 2 counted in memory. */
static struct eim_store_package sent_three_times(unsigned dev)
{
	struct eim_store_package p;

	enqueue_n(dev, 1);
	send_next(dev);
	send_next(dev);
	p = send_next(dev);
	ck_assert_uint_eq(p.attempts, 3);
	ck_assert_uint_eq(pkg(F.s, p.id).attempts, 1);
	return p;
}

START_TEST(redelivery_counts_follow_the_commit)
{
	struct eim_store_result_in ri;
	struct eim_store_package p1, p2;
	int redeliv;

	fx_fleet(&F, 2, 0);
	p1 = sent_three_times(1);
	p2 = sent_three_times(2);
	/* Rolled back: the counts are not in the file, and not forgotten. */
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	ri = result_for(1, p1.counter, "EPR-1", -1);
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, NULL), 0);
	ck_assert_uint_eq(pkg(F.s, p1.id).attempts, 3);
	/* A flush inside writes nothing (it waits for the next one). */
	ck_assert_int_eq(eim_store_flush(F.s), 0);
	ck_assert_uint_eq(pkg(F.s, p2.id).attempts, 1);
	eim_store_tx_rollback(F.s);
	ck_assert_uint_eq(pkg(F.s, p1.id).attempts, 1);
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, NULL), 0);
	ck_assert_uint_eq(pkg(F.s, p1.id).attempts, 3);
	/* Committed: written once, and a flush does not add them again. */
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	ri = result_for(2, p2.counter, "EPR-2", -1);
	ck_assert_int_eq(eim_store_result_record(F.s, &ri, NULL), 0);
	ck_assert_int_eq(eim_store_tx_commit(F.s), 0);
	redeliv = n_audit(F.s, "redeliver");
	ck_assert_int_eq(eim_store_flush(F.s), 0);
	ck_assert_uint_eq(pkg(F.s, p1.id).attempts, 3);
	ck_assert_uint_eq(pkg(F.s, p2.id).attempts, 3);
	ck_assert_int_eq(n_audit(F.s, "redeliver"), redeliv);
}
END_TEST

START_TEST(out_of_memory_inside)
{
	struct eim_store_enqueue_req r = fx_req(3, "big");
	struct fx_signer big = {.pad = 200000};
	struct eim_store_result_in ri;
	struct eim_store_enqueued q;
	struct eim_store_package p1, p3;
	uint64_t c[EIM_STORE_STATE_COUNT];
	unsigned long failed;
	uint8_t eid3[16];
	bool found = false;
	int err;

	fx_fleet(&F, 3, 0);
	p1 = sent_three_times(1);
	/* Larger than any view so far: delivering it must allocate. */
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, &big, &q), 0);
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	/* Remembering what to forget at the commit cannot allocate: the
	 * count is forgotten at once instead (never counted twice). */
	ri = result_for(1, p1.counter, "EPR-1", -1);
	eim_alloc_fail_after(0);
	err = eim_store_result_record(F.s, &ri, NULL);
	failed = eim_alloc_failed_count();
	eim_alloc_fail_reset();
	ck_assert_int_eq(err, 0);
	ck_assert_uint_eq(failed, 1);
	/* A call that runs out of memory undoes its own part only. */
	fx_eid(3, eid3);
	eim_alloc_fail_after(0);
	err = eim_store_next(F.s, eid3, &p3, &found);
	failed = eim_alloc_failed_count();
	eim_alloc_fail_reset();
	ck_assert_int_eq(err, EIM_ENOMEM);
	ck_assert_uint_ge(failed, 1);
	ck_assert(eim_store_tx_active(F.s));
	ck_assert_int_eq(eim_store_tx_commit(F.s), 0);
	ck_assert_int_eq(pkg(F.s, p1.id).state, EIM_STORE_DONE);
	ck_assert_int_eq(n_results(F.s, 1), 1);
	ck_assert_int_eq(eim_store_package_counts(F.s, eid3, c), 0);
	ck_assert_uint_eq(c[EIM_STORE_QUEUED], 1);
	ck_assert_uint_eq(c[EIM_STORE_SENT], 0);
	ck_assert_int_eq(n_audit(F.s, "send"), 1); /* device 1's only */
	ck_assert_uint_eq(pkg(F.s, p1.id).attempts, 3);
	ck_assert_int_eq(eim_store_flush(F.s), 0);
	ck_assert_uint_eq(pkg(F.s, p1.id).attempts, 3);
	/* With memory, the same delivery works. */
	ck_assert_int_eq(eim_store_next(F.s, eid3, &p3, &found), 0);
	ck_assert(found);
	ck_assert_int_eq(p3.id, q.package_id);
	ck_assert_uint_gt(p3.bytes_len, 200000);
}
END_TEST

START_TEST(commit_failure_writes_nothing)
{
	struct eim_store_package p;
	struct rlimit old, lim;
	uint64_t c0;
	int err;

	p = reported_in_tx();
	/* The commit must write the WAL: a file size limit makes that write
	 * fail the way a full disk does (EFBIG; SIGXFSZ ignored). */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 1;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	c0 = eim_store_commits(F.s);
	err = eim_store_tx_commit(F.s);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_uint_eq(eim_store_commits(F.s), c0);
	ck_assert_msg(err == EIM_EIO, "commit: %s (%s)", eim_errname(err),
		      eim_store_errmsg(F.s));
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "committing"));
	ck_assert(!eim_store_tx_active(F.s));
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_SENT);
	ck_assert_int_eq(n_results(F.s, 1), 0);
	fx_reopen(&F);
	ck_assert_int_eq(eim_store_check(F.s), 0);
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_SENT);
	ck_assert_int_eq(n_results(F.s, 1), 0);
	ck_assert_int_eq(n_audit(F.s, "ack"), 0);
	/* The same report commits once the file can grow. */
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	report(1, p.counter, "EPR-1", 5);
	ck_assert_int_eq(eim_store_tx_commit(F.s), 0);
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_DONE);
	ck_assert_int_eq(n_results(F.s, 1), 1);
}
END_TEST

START_TEST(abandoned_transaction_writes_nothing)
{
	struct eim_store_package p;
	uint8_t eid[16];
	int64_t seq = 5;

	fx_fleet(&F, 1, 0);
	fx_eid(1, eid);
	enqueue_n(1, 1);
	p = send_next(1);
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	{
		struct eim_store_result_in ri =
			result_for(1, p.counter, "EPR-1", 5);
		ck_assert_int_eq(eim_store_result_record(F.s, &ri, NULL), 0);
	}
	/* What SQLite does on its own after SQLITE_FULL or SQLITE_IOERR in
	 * a statement: the whole transaction is rolled back. */
	ck_assert_int_eq(sqlite3_exec(F.s->db, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	/* The next write must not start a transaction of its own. */
	ck_assert_int_eq(eim_store_acks_done(F.s, eid, &seq, 1), EIM_EDB);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "rolled back"));
	ck_assert_int_eq(n_audit(F.s, "ack"), 0);
	ck_assert_int_eq(eim_store_tx_commit(F.s), EIM_EDB);
	ck_assert(!eim_store_tx_active(F.s));
	ck_assert_int_eq(n_results(F.s, 1), 0);
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_SENT);
	/* The handle goes on. */
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	report(1, p.counter, "EPR-1", 5);
	ck_assert_int_eq(eim_store_tx_commit(F.s), 0);
	ck_assert_int_eq(n_results(F.s, 1), 1);
}
END_TEST

START_TEST(close_rolls_back)
{
	struct eim_store_package p;

	p = reported_in_tx();
	fx_reopen(&F);
	ck_assert_int_eq(pkg(F.s, p.id).state, EIM_STORE_SENT);
	ck_assert_int_eq(n_results(F.s, 1), 0);
}
END_TEST

/* Another process holds the write lock: the begin waits, then gives up
 * with EIM_EBUSY and leaves no transaction open; once the lock is free it
 * works. */
START_TEST(begin_waits_for_another_writer)
{
	struct eim_store_options o = F.opt;
	struct eim_store *other = NULL;
	struct eim_store_package p;

	fx_fleet(&F, 1, 0);
	enqueue_n(1, 1);
	o.busy_timeout_ms = 50;
	ck_assert_int_eq(eim_store_open(F.path, &o, &other), 0);
	ck_assert_int_eq(eim_store_tx_begin(F.s), 0);
	ck_assert_int_eq(eim_store_tx_begin(other), EIM_EBUSY);
	ck_assert(!eim_store_tx_active(other));
	/* Its plain writes wait the same way. */
	ck_assert_int_eq(eim_store_audit_add(other, "note", NULL, NULL),
			 EIM_EBUSY);
	p = send_next(1);
	ck_assert_int_eq(eim_store_tx_commit(F.s), 0);
	ck_assert_int_eq(eim_store_tx_begin(other), 0);
	ck_assert_int_eq(pkg(other, p.id).state, EIM_STORE_SENT);
	ck_assert_int_eq(eim_store_tx_commit(other), 0);
	eim_store_close(other);
}
END_TEST

static Suite *tx_suite(void)
{
	Suite *s = suite_create("store_tx");
	TCase *tc = tcase_create("tx");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, report_commits_as_one);
	tcase_add_test(tc, rollback_drops_everything);
	tcase_add_test(tc, failed_call_undoes_only_itself);
	tcase_add_test(tc, misuse_is_refused);
	tcase_add_test(tc, next_inside_a_transaction);
	tcase_add_test(tc, redelivery_counts_follow_the_commit);
	tcase_add_test(tc, out_of_memory_inside);
	tcase_add_test(tc, commit_failure_writes_nothing);
	tcase_add_test(tc, abandoned_transaction_writes_nothing);
	tcase_add_test(tc, close_rolls_back);
	tcase_add_test(tc, begin_waits_for_another_writer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(srunner_create(tx_suite()));
}
