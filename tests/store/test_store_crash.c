/*
 * Crash test of store/ (integration suite): a child process enqueues
 * packages for a few hundred devices (single enqueues and batches, with some
 * deliveries and results in between) and the parent kills it with SIGKILL at
 * random moments, many times. After every kill and at the end:
 *   - PRAGMA integrity_check is "ok";
 *   - every package the child saw committed (it logs each one after COMMIT
 *     returned) is in the file exactly once, with the bytes it signed;
 *   - per (eIM identity, EID) (three identities share the devices; the
 *     second starts at 1000, the third at 5000 and is only used through
 *     eim_store_enqueue_bulk) the counters are unique and strictly
 *     increasing in enqueue order, and the association's counter equals the
 *     highest one used (for the bulk identity: is at least that, since a
 *     kill between its reserve and store transactions leaves a gap), so the
 *     next package can never reuse a value;
 *   - every package has its audit entry, every done package its result.
 * Packages committed in the instant between COMMIT and the log write are
 * allowed to be unlogged (at most one batch per kill).
 *
 * The child also reports results the way eim serve does (eim_store_tx_begin,
 * the result, its seqNumber marked acknowledged, commit) and logs each
 * acknowledgement only after the commit returned, i.e. when eim serve would
 * send it. Then, whatever the kill interrupted:
 *   - every logged acknowledgement names a result on file, marked
 *     acknowledged, whose package is done: never an ack for an unrecorded
 *     result;
 *   - no such result is on file without its acknowledgement, or the other
 *     way round (one commit for both).
 */
#include "store_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEVICES 300
#define ROUNDS 40
#define BATCH 25

struct logrec {
	uint32_t dev;
	uint16_t ident; /* 1: eim-1 (managing), 2: eim-2, 3: eim-3 (bulk) */
	uint16_t pad;
	uint32_t counter;
	uint32_t pad2;
	int64_t package_id;
};

/* An acknowledgement the child "sent" (logged after the commit). */
struct acklog {
	uint32_t dev;
	uint32_t pad;
	int64_t seq;
};

static char dir[256], db_path[300], log_path[300], ack_path[300];

static void log_commit(int fd, uint32_t dev, uint16_t ident,
		       const struct eim_store_enqueued *q)
{
	struct logrec r = {.dev = dev,
			   .ident = ident,
			   .counter = q->counter,
			   .package_id = q->package_id};

	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(4);
}

/*
 * A report of device dev for its package in flight p, as eim serve handles
 * one: in one transaction the result (seqNumber = the package id: unique
 * per device), then every pending seqNumber marked acknowledged; each
 * acknowledgement is logged once the commit returned.
 */
static int report(struct eim_store *s, int afd, unsigned dev,
		  const struct eim_store_package *p)
{
	struct eim_store_result_in ri = {0};
	struct acklog a = {.dev = dev};
	int64_t seqs[8];
	char bytes[64];
	size_t n = 0;
	int err;

	fx_eid(dev, ri.eid);
	snprintf(bytes, sizeof(bytes), "report|%u|%u", dev, p->counter);
	ri.eim_id = p->eim_id;
	ri.counter = p->counter;
	ri.bytes = (const uint8_t *)bytes;
	ri.len = strlen(bytes);
	ri.summary = "ok";
	ri.seq_number = p->id;
	if ((err = eim_store_tx_begin(s)))
		return err;
	err = eim_store_result_record(s, &ri, NULL);
	if (err == 0)
		err = eim_store_acks_pending(s, ri.eid, seqs, 8, &n);
	if (err == 0 && n)
		err = eim_store_acks_done(s, ri.eid, seqs, n);
	if (err == 0)
		err = eim_store_tx_commit(s);
	if (err) {
		eim_store_tx_rollback(s);
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		a.seq = seqs[i];
		if (write(afd, &a, sizeof(a)) != (ssize_t)sizeof(a))
			_exit(4);
	}
	return 0;
}

/* The bulk path's signer: fx_sign for each request of the batch. */
static int sign_many(void *ctx, const struct eim_store_sign_in *in,
		     struct eim_store_sign_out *out, int *errs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		errs[i] = fx_sign(ctx, &in[i], &out[i]);
	return 0;
}

/* The child: works until killed. Exits nonzero only on a real error. */
static void child(unsigned seed, bool full_sync)
{
	struct eim_store_enqueue_req reqs[BATCH];
	struct eim_store_enqueued rets[BATCH];
	struct fx_signer sg = {.pad = 180};
	struct eim_store_options o;
	struct eim_store *s = NULL;
	struct eim_store_package p;
	unsigned devs[BATCH];
	size_t done;
	bool found;
	int fd, afd, err;

	srand(seed);
	fd = open(log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	afd = open(ack_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || afd < 0)
		_exit(2);
	eim_store_options_init(&o);
	o.synchronous = full_sync ? EIM_STORE_SYNC_FULL : EIM_STORE_SYNC_NORMAL;
	o.actor = "crash-child";
	if (eim_store_open(db_path, &o, &s) != 0) {
		fprintf(stderr, "child open: %s\n", eim_store_open_errmsg());
		_exit(3);
	}
	for (;;) {
		int what = rand() % 13;

		if (what < 5) {
			unsigned dev = 1 + (unsigned)rand() % DEVICES;
			struct eim_store_enqueue_req r = fx_req(dev, "crash");
			struct eim_store_enqueued q;
			uint16_t ident = rand() % 3 == 0 ? 2 : 1;

			/* A second eIM with its own counter per device. */
			if (ident == 2)
				r.eim_id = "eim-2";
			err = eim_store_enqueue(s, &r, fx_sign, &sg, &q);
			if (err)
				goto fail;
			log_commit(fd, dev, ident, &q);
		} else if (what < 8) {
			for (int i = 0; i < BATCH; i++) {
				devs[i] = 1 + (unsigned)rand() % DEVICES;
				reqs[i] = fx_req(devs[i], "crash-batch");
			}
			err = eim_store_enqueue_many(s, reqs, BATCH, 10,
						     fx_sign, &sg, NULL, NULL,
						     rets, &done);
			if (err)
				goto fail;
			for (size_t i = 0; i < done; i++)
				log_commit(fd, devs[i], 1, &rets[i]);
		} else if (what == 8) {
			for (int i = 0; i < BATCH; i++) {
				devs[i] = 1 + (unsigned)rand() % DEVICES;
				reqs[i] = fx_req(devs[i], "crash-bulk");
				reqs[i].eim_id = "eim-3";
			}
			err = eim_store_enqueue_bulk(s, reqs, BATCH, 10,
						     sign_many, fx_sign, &sg,
						     NULL, NULL, rets, &done);
			if (err)
				goto fail;
			for (size_t i = 0; i < done; i++)
				log_commit(fd, devs[i], 3, &rets[i]);
		} else if (what >= 11) {
			unsigned dev = 1 + (unsigned)rand() % DEVICES;
			uint8_t eid[16];

			fx_eid(dev, eid);
			err = eim_store_next(s, eid, &p, &found);
			if (err == 0 && found)
				err = report(s, afd, dev, &p);
			if (err)
				goto fail;
		} else {
			unsigned dev = 1 + (unsigned)rand() % DEVICES;
			struct eim_store_result_in ri = {0};
			char bytes[64];

			fx_eid(dev, ri.eid);
			err = eim_store_next(s, ri.eid, &p, &found);
			if (err)
				goto fail;
			if (!found || rand() % 2)
				continue;
			snprintf(bytes, sizeof(bytes), "result|%u|%u", dev,
				 p.counter);
			ri.eim_id = p.eim_id;
			ri.counter = p.counter;
			ri.bytes = (const uint8_t *)bytes;
			ri.len = strlen(bytes);
			ri.summary = "ok";
			ri.seq_number = -1;
			err = eim_store_result_record(s, &ri, NULL);
			if (err)
				goto fail;
		}
	}
fail:
	fprintf(stderr, "child: %s: %s\n", eim_errname(err),
		eim_store_errmsg(s));
	_exit(5);
}

static int64_t q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK,
		      "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The records of a log the child wrote (calloc'd, at least one slot). */
static void *read_log(const char *path, size_t size, size_t *ret_n)
{
	FILE *fp = fopen(path, "rb");
	void *recs;
	size_t n;

	ck_assert_ptr_nonnull(fp);
	fseek(fp, 0, SEEK_END);
	n = (size_t)ftell(fp) / size;
	rewind(fp);
	recs = calloc(n ? n : 1, size);
	ck_assert_ptr_nonnull(recs);
	ck_assert_uint_eq(fread(recs, size, n, fp), n);
	fclose(fp);
	*ret_n = n;
	return recs;
}

/* Checks the invariants on the file; returns the number of packages. */
static int64_t verify(size_t *ret_logged)
{
	struct eim_store *s = NULL;
	struct logrec *recs = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char expect[128], hex[33];
	uint8_t eid[16];
	size_t n = 0;
	int64_t total;

	/* Opening recovers the WAL; the store's own check must agree. */
	ck_assert_int_eq(eim_store_open(db_path, NULL, &s), 0);
	ck_assert_msg(eim_store_check(s) == 0, "%s", eim_store_errmsg(s));
	eim_store_close(s);

	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY,
					 NULL),
			 SQLITE_OK);
	ck_assert_str_eq(
		(const char *)(sqlite3_prepare_v2(db, "PRAGMA integrity_check",
						  -1, &st, NULL) == SQLITE_OK &&
					       sqlite3_step(st) == SQLITE_ROW
				       ? sqlite3_column_text(st, 0)
				       : (const unsigned char *)"(failed)"),
		"ok");
	sqlite3_finalize(st);

	recs = read_log(log_path, sizeof(*recs), &n);

	ck_assert_int_eq(sqlite3_prepare_v2(
				 db,
				 "SELECT count(*) FROM package p JOIN device d"
				 " ON d.id = p.device_id WHERE p.id = ?1 AND"
				 " d.eid = ?2 AND p.counter = ?3 AND"
				 " substr(p.bytes, 1, ?5) = CAST(?4 AS BLOB)",
				 -1, &st, NULL),
			 SQLITE_OK);
	for (size_t i = 0; i < n; i++) {
		int len;

		fx_eid(recs[i].dev, eid);
		len = snprintf(expect, sizeof(expect), "pkg|eim-%u|%s|%u|",
			       recs[i].ident, eim_hex_encode(eid, 16, hex),
			       recs[i].counter);
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, recs[i].package_id);
		sqlite3_bind_blob(st, 2, eid, 16, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, recs[i].counter);
		sqlite3_bind_text(st, 4, expect, len, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, len);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_msg(
			sqlite3_column_int(st, 0) == 1,
			"committed package %lld (device %u eIM %u counter "
			"%u) missing",
			(long long)recs[i].package_id, recs[i].dev,
			recs[i].ident, recs[i].counter);
	}
	sqlite3_finalize(st);
	/* Each logged package id appears once in the log and once in the DB. */
	total = q1(db, "SELECT count(*) FROM package");
	ck_assert_int_ge(total, (int64_t)n);
	ck_assert_int_eq(q1(db, "SELECT count(*) FROM (SELECT 1 FROM package"
				" GROUP BY device_id, identity_id, counter"
				" HAVING count(*) > 1)"),
			 0);
	ck_assert_int_eq(q1(db, "SELECT count(*) FROM (SELECT 1 FROM package"
				" GROUP BY bytes HAVING count(*) > 1)"),
			 0);
	/* Strictly increasing in enqueue (id) order. */
	ck_assert_int_eq(q1(db,
			    "SELECT count(*) FROM (SELECT counter, lag("
			    "counter) OVER (PARTITION BY device_id,"
			    " identity_id, generation ORDER BY id) AS prev FROM"
			    " package) WHERE prev IS NOT NULL AND"
			    " counter <= prev"),
			 0);
	/* The counter an association holds is the last one it used (the
	 * bulk identity may have skipped reserved ones: never below). */
	ck_assert_int_eq(
		q1(db, "SELECT count(*) FROM association a JOIN"
		       " (SELECT device_id, identity_id, generation,"
		       " max(counter) AS m FROM package GROUP BY 1, 2, 3) p"
		       " USING (device_id, identity_id, generation)"
		       " JOIN eim_identity i ON i.id = a.identity_id"
		       " WHERE a.counter < p.m OR (a.counter <> p.m AND"
		       " i.eim_id <> 'eim-3')"),
		0);
	/* every path may have run (all three identities by the end of the
	 * test: checked there; after one early kill some may not have) */
	ck_assert_int_le(q1(db, "SELECT count(DISTINCT identity_id) FROM"
				" package"),
			 3);
	/* IN (subquery) gets a temporary index: linear, not quadratic. */
	ck_assert_int_eq(q1(db, "SELECT count(*) FROM package WHERE id NOT IN"
				" (SELECT package_id FROM audit WHERE action ="
				" 'enqueue' AND package_id IS NOT NULL)"),
			 0);
	ck_assert_int_eq(q1(db, "SELECT count(*) FROM package p WHERE"
				" p.state = 2 AND NOT EXISTS (SELECT 1 FROM"
				" result r WHERE r.package_id = p.id)"),
			 0);
	ck_assert_int_eq(q1(db, "SELECT count(*) FROM package WHERE"
				" (state = 1) <> (sent_ms IS NOT NULL AND"
				" state <> 2)"),
			 0);
	sqlite3_close(db);
	free(recs);
	*ret_logged = n;
	return total;
}

/* The acknowledgements the child sent against the file; returns how many. */
static size_t verify_acks(void)
{
	struct acklog *acks = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint8_t eid[16];
	size_t n;

	acks = read_log(ack_path, sizeof(*acks), &n);
	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY,
					 NULL),
			 SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_prepare_v2(db,
				   "SELECT count(*) FROM result r JOIN device d"
				   " ON d.id = r.device_id JOIN package p ON"
				   " p.id = r.package_id WHERE d.eid = ?1 AND"
				   " r.seq_number = ?2 AND r.acked = 1 AND"
				   " p.state = 2",
				   -1, &st, NULL),
		SQLITE_OK);
	for (size_t i = 0; i < n; i++) {
		fx_eid(acks[i].dev, eid);
		sqlite3_reset(st);
		sqlite3_bind_blob(st, 1, eid, 16, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, acks[i].seq);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_msg(sqlite3_column_int(st, 0) == 1,
			      "acknowledged seqNumber %lld of device %u: no "
			      "such result on file",
			      (long long)acks[i].seq, acks[i].dev);
	}
	sqlite3_finalize(st);
	/* Only reports carry a seqNumber: each is on file with its
	 * acknowledgement or not at all. */
	ck_assert_int_eq(q1(db, "SELECT count(*) FROM result WHERE"
				" seq_number IS NOT NULL AND acked = 0"),
			 0);
	ck_assert_int_eq(q1(db, "SELECT count(*) FROM result WHERE"
				" seq_number IS NULL AND acked = 1"),
			 0);
	sqlite3_close(db);
	free(acks);
	return n;
}

START_TEST(sigkill_at_random_moments)
{
	struct fx f;
	size_t logged = 0, prev_logged = 0, acked = 0, prev_acked = 0;
	int64_t total = 0;
	int fd, status;
	pid_t pid;

	fx_setup(&f);
	fx_fleet(&f, DEVICES, 0);
	{
		struct eim_store_identity id2 = {.eim_id = "eim-2",
						 .key_ref = "k2"};
		struct eim_store_identity id3 = {.eim_id = "eim-3",
						 .key_ref = "k3"};

		ck_assert_int_eq(eim_store_identity_add(f.s, &id2), 0);
		ck_assert_int_eq(eim_store_identity_add(f.s, &id3), 0);
		for (unsigned i = 1; i <= DEVICES; i++) {
			struct eim_store_assoc_set a = {.eim_id = "eim-2",
							.set_counter = true,
							.counter = 1000};

			fx_eid(i, a.eid);
			ck_assert_int_eq(eim_store_assoc_set(f.s, &a), 0);
			a.eim_id = "eim-3";
			a.counter = 5000;
			ck_assert_int_eq(eim_store_assoc_set(f.s, &a), 0);
		}
	}
	snprintf(dir, sizeof(dir), "%s", f.dir);
	snprintf(db_path, sizeof(db_path), "%s", f.path);
	snprintf(log_path, sizeof(log_path), "%s/committed.log", f.dir);
	snprintf(ack_path, sizeof(ack_path), "%s/acked.log", f.dir);
	eim_store_close(f.s);
	f.s = NULL;
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = open(ack_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);

	srand((unsigned)time(NULL));
	for (int round = 0; round < ROUNDS; round++) {
		/* Let it run 30..230 ms, then kill it wherever it is. */
		useconds_t delay = 30000 + (useconds_t)(rand() % 200000);
		unsigned seed = (unsigned)rand();

		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			child(seed, round % 2 == 0);
		usleep(delay);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status) &&
				      WTERMSIG(status) == SIGKILL,
			      "round %d: child ended on its own (status %d)",
			      round, status);
		total = verify(&logged);
		ck_assert_int_ge(logged, prev_logged);
		acked = verify_acks();
		ck_assert_uint_ge(acked, prev_acked);
		prev_acked = acked;
		/* At most one batch committed but not yet logged per kill. */
		ck_assert_int_le(total - (int64_t)logged,
				 (int64_t)(round + 1) * BATCH);
		prev_logged = logged;
	}
	printf("crash test: %d kills, %zu packages logged as committed, "
	       "%lld in the file, %zu reports acknowledged\n",
	       ROUNDS, logged, (long long)total, acked);
	ck_assert_uint_ge(logged, 2000);
	/* the report path ran (about one step in six) */
	ck_assert_uint_ge(acked, 100);
	{
		/* all three enqueue paths (single, batched, bulk) committed
		 * packages at some point of the 40 rounds */
		sqlite3 *db = NULL;
		ck_assert_int_eq(sqlite3_open_v2(db_path, &db,
						 SQLITE_OPEN_READONLY, NULL),
				 SQLITE_OK);
		ck_assert_int_eq(q1(db, "SELECT count(DISTINCT identity_id)"
					" FROM package"),
				 3);
		sqlite3_close(db);
	}
	fx_teardown(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store_crash");
	TCase *tc = tcase_create("crash");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, sigkill_at_random_moments);
	suite_add_tcase(s, tc);
	return fx_run(srunner_create(s));
}
