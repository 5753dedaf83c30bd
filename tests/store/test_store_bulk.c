/*
 * Unit tests of eim_store_enqueue_bulk (store/eim_store_bulk.c): counters
 * reserved in one transaction, signed outside, stored in another. Covers
 * the plain case (several packages per device in one batch), another
 * enqueue or a renewal slipping in while the batch is being signed (the
 * package must then take a fresh counter and be signed again), a signer
 * that fails for one request (nothing stored, the reserved counters are a
 * gap, never reused), unknown devices, counter exhaustion and bad
 * arguments. After each, the queue's counters are checked to be unique and
 * strictly increasing in queue order per association.
 */
#include "store_fixture.h"

#include <sqlite3.h>

/* The batch signer: fx_sign for every request, and a hook run first (to
 * act as another process would while the signatures are made). */
struct many {
	struct fx_signer sg;
	int batches;
	size_t signed_n;
	size_t fail_at; /* request index (in the batch) to fail, or SIZE_MAX */
	int fail_err;
	int whole_err; /* fail the whole batch with this */
	void (*hook)(struct many *m, const struct eim_store_sign_in *in,
		     size_t n);
	struct fx *f;
};

static int sign_many(void *ctx, const struct eim_store_sign_in *in,
		     struct eim_store_sign_out *out, int *errs, size_t n)
{
	struct many *m = ctx;

	m->batches++;
	if (m->hook)
		m->hook(m, in, n);
	if (m->whole_err)
		return m->whole_err;
	for (size_t i = 0; i < n; i++) {
		errs[i] = i == m->fail_at ? m->fail_err
					  : fx_sign(NULL, &in[i], &out[i]);
		m->signed_n++;
	}
	return 0;
}

/* Single signer used for re-signing inside the second transaction. */
static int sign_one(void *ctx, const struct eim_store_sign_in *in,
		    struct eim_store_sign_out *out)
{
	struct many *m = ctx;
	return fx_sign(&m->sg, in, out);
}

static int64_t q1(struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY,
					 NULL),
			 SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK,
		      "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The invariants every test ends with. */
static void check_queue(struct fx *f)
{
	/* unique per association generation */
	ck_assert_int_eq(q1(f, "SELECT count(*) FROM (SELECT 1 FROM package"
			       " GROUP BY device_id, identity_id, generation,"
			       " counter HAVING count(*) > 1)"),
			 0);
	/* strictly increasing in queue order */
	ck_assert_int_eq(q1(f, "SELECT count(*) FROM (SELECT counter, lag("
			       "counter) OVER (PARTITION BY device_id,"
			       " identity_id, generation ORDER BY id) AS prev"
			       " FROM package) WHERE prev IS NOT NULL AND"
			       " counter <= prev"),
			 0);
	/* the association never stands below a counter it handed out */
	ck_assert_int_eq(q1(f, "SELECT count(*) FROM association a JOIN"
			       " package p USING (device_id, identity_id,"
			       " generation) WHERE p.counter > a.counter"),
			 0);
	/* the bytes carry the counter they were stored with */
	ck_assert_int_eq(q1(f, "SELECT count(*) FROM package WHERE"
			       " instr(CAST(bytes AS TEXT), '|' || counter ||"
			       " '|tok=') = 0"),
			 0);
	/* one audit entry per package */
	ck_assert_int_eq(q1(f, "SELECT count(*) FROM package WHERE id NOT IN"
			       " (SELECT package_id FROM audit WHERE action ="
			       " 'enqueue' AND package_id IS NOT NULL)"),
			 0);
}

static struct many many_init(struct fx *f)
{
	struct many m = {0};
	m.fail_at = SIZE_MAX;
	m.f = f;
	return m;
}

START_TEST(batches_and_repeated_devices)
{
	struct fx f;
	struct eim_store_enqueue_req reqs[500];
	struct eim_store_enqueued rets[500];
	struct many m;
	size_t done = 99;

	fx_setup(&f);
	fx_fleet(&f, 100, 10);
	m = many_init(&f);
	/* each device five times, spread over batches of 64 */
	for (unsigned i = 0; i < 500; i++)
		reqs[i] = fx_req(1 + i % 100, "bulk");
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 500, 64, sign_many,
						sign_one, &m, NULL, NULL, rets,
						&done),
			 0);
	ck_assert_uint_eq(done, 500);
	ck_assert_int_eq(m.batches, 8);
	ck_assert_uint_eq(m.signed_n, 500);
	ck_assert_int_eq(m.sg.calls, 0); /* nothing had to be signed again */
	for (unsigned i = 0; i < 500; i++) {
		ck_assert_uint_eq(rets[i].counter, 11 + i / 100);
		ck_assert_int_eq(rets[i].package_id, (int64_t)i + 1);
	}
	ck_assert_int_eq(q1(&f, "SELECT count(*) FROM association WHERE"
				" counter <> 15"),
			 0);
	check_queue(&f);
	fx_teardown(&f);
}
END_TEST

static void progress(void *ctx, size_t done, size_t total)
{
	size_t *calls = ctx;
	ck_assert_uint_le(done, total);
	ck_assert_uint_eq(total, 10);
	(*calls)++;
}

START_TEST(progress_and_argument_errors)
{
	struct fx f;
	struct eim_store_enqueue_req reqs[10];
	struct many m;
	size_t done = 99, calls = 0;

	fx_setup(&f);
	fx_fleet(&f, 10, 0);
	m = many_init(&f);
	for (unsigned i = 0; i < 10; i++)
		reqs[i] = fx_req(1 + i, "bulk");
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 10, 4, sign_many,
						sign_one, &m, progress, &calls,
						NULL, &done),
			 0);
	ck_assert_uint_eq(calls, 3);
	ck_assert_uint_eq(done, 10);
	ck_assert_int_eq(eim_store_enqueue_bulk(NULL, reqs, 1, 0, sign_many,
						sign_one, &m, NULL, NULL, NULL,
						&done),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 1, 0, NULL, sign_one,
						&m, NULL, NULL, NULL, &done),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 1, 0, sign_many,
						NULL, &m, NULL, NULL, NULL,
						&done),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, NULL, 1, 0, sign_many,
						sign_one, &m, NULL, NULL, NULL,
						&done),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, NULL, 0, 0, sign_many,
						sign_one, &m, NULL, NULL, NULL,
						&done),
			 0);
	ck_assert_uint_eq(done, 0);
	reqs[0].kind = NULL;
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 1, 0, sign_many,
						sign_one, &m, NULL, NULL, NULL,
						&done),
			 EIM_EINVAL);
	ck_assert(strstr(eim_store_errmsg(f.s), "needs a kind"));
	check_queue(&f);
	fx_teardown(&f);
}
END_TEST

/* Another process (a second handle) queues for device 3 mid-batch. */
static void hook_other_enqueue(struct many *m,
			       const struct eim_store_sign_in *in, size_t n)
{
	struct eim_store *other = NULL;
	struct eim_store_enqueue_req r = fx_req(3, "other");
	struct eim_store_enqueued q;

	(void)in;
	(void)n;
	if (m->batches != 1)
		return;
	ck_assert_int_eq(eim_store_open(m->f->path, &m->f->opt, &other), 0);
	ck_assert_int_eq(eim_store_enqueue(other, &r, fx_sign, NULL, &q), 0);
	/* the bulk reserved 1 for device 3: the other one gets 2 */
	ck_assert_uint_eq(q.counter, 2);
	eim_store_close(other);
}

START_TEST(enqueue_in_between_is_resigned_after_it)
{
	struct fx f;
	struct eim_store_enqueue_req reqs[5];
	struct eim_store_enqueued rets[5];
	struct many m;
	size_t done = 0;

	fx_setup(&f);
	fx_fleet(&f, 5, 0);
	m = many_init(&f);
	m.hook = hook_other_enqueue;
	for (unsigned i = 0; i < 5; i++)
		reqs[i] = fx_req(1 + i, "bulk");
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 5, 0, sign_many,
						sign_one, &m, NULL, NULL, rets,
						&done),
			 0);
	ck_assert_uint_eq(done, 5);
	/* device 3's package was signed again, with a counter after the
	 * other process's 2; its reserved 1 is a gap, never used */
	ck_assert_int_eq(m.sg.calls, 1);
	ck_assert_uint_eq(m.sg.last.counter, 3);
	ck_assert_uint_eq(rets[2].counter, 3);
	for (unsigned i = 0; i < 5; i++)
		if (i != 2)
			ck_assert_uint_eq(rets[i].counter, 1);
	ck_assert_int_eq(q1(&f, "SELECT count(*) FROM package p JOIN device d"
				" ON d.id = p.device_id WHERE p.counter = 1 AND"
				" d.id = 3"),
			 0);
	check_queue(&f);
	fx_teardown(&f);
}
END_TEST

/* The association gets a new token while the batch is signed. */
static void hook_new_token(struct many *m, const struct eim_store_sign_in *in,
			   size_t n)
{
	struct eim_store_assoc_set a = {.eim_id = "eim-1",
					.set_token = true,
					.has_token = true,
					.token = 77};
	struct eim_store *other = NULL;

	(void)n;
	ck_assert(!in[0].has_association_token);
	fx_eid(2, a.eid);
	ck_assert_int_eq(eim_store_open(m->f->path, &m->f->opt, &other), 0);
	ck_assert_int_eq(eim_store_assoc_set(other, &a), 0);
	eim_store_close(other);
}

START_TEST(token_change_in_between_is_resigned)
{
	struct fx f;
	struct eim_store_enqueue_req reqs[3];
	struct eim_store_enqueued rets[3];
	struct many m;
	size_t done = 0;

	fx_setup(&f);
	fx_fleet(&f, 3, 0);
	m = many_init(&f);
	m.hook = hook_new_token;
	for (unsigned i = 0; i < 3; i++)
		reqs[i] = fx_req(1 + i, "bulk");
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 3, 0, sign_many,
						sign_one, &m, NULL, NULL, rets,
						&done),
			 0);
	ck_assert_int_eq(m.sg.calls, 1);
	ck_assert(m.sg.last.has_association_token);
	ck_assert_int_eq(m.sg.last.association_token, 77);
	ck_assert_int_eq(q1(&f, "SELECT count(*) FROM package WHERE device_id"
				" = 2 AND instr(CAST(bytes AS TEXT), 'tok=77')"
				" > 0"),
			 1);
	check_queue(&f);
	fx_teardown(&f);
}
END_TEST

START_TEST(failed_signature_leaves_a_gap_never_a_repeat)
{
	struct fx f;
	struct eim_store_enqueue_req reqs[6];
	struct eim_store_enqueued rets[6];
	struct many m;
	size_t done = 99;

	fx_setup(&f);
	fx_fleet(&f, 6, 0);
	m = many_init(&f);
	for (unsigned i = 0; i < 6; i++)
		reqs[i] = fx_req(1 + i, "bulk");
	/* one batch of 3, whose second signature fails */
	m.fail_at = 1;
	m.fail_err = EIM_ECRYPTO;
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 3, 3, sign_many,
						sign_one, &m, NULL, NULL, rets,
						&done),
			 EIM_ECRYPTO);
	ck_assert_uint_eq(done, 0);
	ck_assert(strstr(eim_store_errmsg(f.s), "request 1: device "));
	ck_assert(strstr(eim_store_errmsg(f.s), "signing the package failed"));
	ck_assert(strstr(eim_store_errmsg(f.s), "requests 0..2 not written"));
	ck_assert_int_eq(q1(&f, "SELECT count(*) FROM package"), 0);
	/* the counters 1 were reserved and stay spent */
	ck_assert_int_eq(q1(&f, "SELECT count(*) FROM association WHERE"
				" counter = 1 AND device_id <= 3"),
			 3);
	m.fail_at = SIZE_MAX;
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 6, 3, sign_many,
						sign_one, &m, NULL, NULL, rets,
						&done),
			 0);
	ck_assert_uint_eq(done, 6);
	ck_assert_uint_eq(rets[0].counter, 2);
	ck_assert_uint_eq(rets[5].counter, 1);

	/* the whole batch refused by the signer */
	m.whole_err = EIM_ENOMEM;
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 6, 4, sign_many,
						sign_one, &m, NULL, NULL, rets,
						&done),
			 EIM_ENOMEM);
	ck_assert_uint_eq(done, 0);
	ck_assert(strstr(eim_store_errmsg(f.s), "signing the packages failed"));
	ck_assert_int_eq(q1(&f, "SELECT count(*) FROM package"), 6);
	check_queue(&f);
	fx_teardown(&f);
}
END_TEST

START_TEST(unknown_device_stops_at_its_batch)
{
	struct fx f;
	struct eim_store_enqueue_req reqs[8];
	struct many m;
	size_t done = 99;

	fx_setup(&f);
	fx_fleet(&f, 6, 0);
	m = many_init(&f);
	for (unsigned i = 0; i < 8; i++)
		reqs[i] = fx_req(1 + i, "bulk"); /* 7 and 8 do not exist */
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 8, 4, sign_many,
						sign_one, &m, NULL, NULL, NULL,
						&done),
			 EIM_ENOTFOUND);
	ck_assert_uint_eq(done, 4);
	ck_assert(strstr(eim_store_errmsg(f.s), "request 6: device "));
	ck_assert(strstr(eim_store_errmsg(f.s), "no such device"));
	ck_assert(strstr(eim_store_errmsg(f.s), "requests 4..7 not written"));
	/* nothing of the failing batch was reserved */
	ck_assert_int_eq(q1(&f, "SELECT count(*) FROM association WHERE"
				" counter > 0"),
			 4);
	ck_assert_int_eq(m.batches, 1);
	reqs[0].eim_id = "eim-nobody";
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 1, 0, sign_many,
						sign_one, &m, NULL, NULL, NULL,
						&done),
			 EIM_ENOTFOUND);
	ck_assert(strstr(eim_store_errmsg(f.s),
			 "eIM identity 'eim-nobody' does not exist"));
	check_queue(&f);
	fx_teardown(&f);
}
END_TEST

START_TEST(counter_exhaustion)
{
	struct fx f;
	struct eim_store_enqueue_req reqs[2];
	struct eim_store_enqueued rets[2];
	struct many m;
	size_t done = 99;

	fx_setup(&f);
	fx_fleet(&f, 1, EIM_STORE_COUNTER_MAX - 1);
	m = many_init(&f);
	reqs[0] = fx_req(1, "bulk");
	reqs[1] = fx_req(1, "bulk");
	ck_assert_int_eq(eim_store_enqueue_bulk(f.s, reqs, 2, 1, sign_many,
						sign_one, &m, NULL, NULL, rets,
						&done),
			 EIM_EEXHAUSTED);
	ck_assert_uint_eq(done, 1);
	ck_assert_uint_eq(rets[0].counter, EIM_STORE_COUNTER_MAX);
	ck_assert(rets[0].counter_warning);
	ck_assert(strstr(eim_store_errmsg(f.s), "renew the association"));
	ck_assert_int_eq(q1(&f, "SELECT count(*) FROM package"), 1);
	check_queue(&f);
	fx_teardown(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store_bulk");
	TCase *tc = tcase_create("bulk");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, batches_and_repeated_devices);
	tcase_add_test(tc, progress_and_argument_errors);
	tcase_add_test(tc, enqueue_in_between_is_resigned_after_it);
	tcase_add_test(tc, token_change_in_between_is_resigned);
	tcase_add_test(tc, failed_signature_leaves_a_gap_never_a_repeat);
	tcase_add_test(tc, unknown_device_stops_at_its_batch);
	tcase_add_test(tc, counter_exhaustion);
	suite_add_tcase(s, tc);
	return fx_run(srunner_create(s));
}
