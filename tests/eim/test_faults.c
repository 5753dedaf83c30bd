/*
 * Fault injection along the full request paths of the eIM: queueing a
 * signed package (eim_store_enqueue with the real signer), a device fetching
 * it (getEimPackage through eim_service_handle) and a device returning its
 * signed EuiccPackageResult (provideEimPackageResult).
 *
 * 1. Allocation failures: eim_alloc_fail_after(n) for every n from 0 until
 *    the request runs without an injected failure. Each run must end in a
 *    clean error (or a success that absorbed the failure), never a crash or
 *    a leak (run under ASan or `meson test --setup valgrind`), and the file
 *    must afterwards be consistent: PRAGMA integrity_check passes, a
 *    package is either queued or delivered (never half-done), a result is
 *    recorded together with its package's DONE state or not at all, and a
 *    failed enqueue leaves the counter where it was.
 *    Covered: every allocation made through common/eim_alloc (the store's
 *    own structures and buffers, the service, proto/ decoders and encoders,
 *    the signer's key file buffer). NOT covered: allocations that SQLite,
 *    cJSON and wolfCrypt make with their own malloc; SQLite's out-of-memory
 *    handling is exercised by SQLite's own test suite, not here.
 * 2. SQLite I/O errors: a VFS shim registered as the default VFS (here in
 *    the test: store/ does not change for it) passes everything to the
 *    "unix" VFS but fails writes, syncs and truncations after N calls with
 *    SQLITE_FULL (disk full) or SQLITE_IOERR_* (I/O error). Enqueue and
 *    result recording must fail with EIM_EIO and a message, and the file
 *    reopened through the plain unix VFS must be consistent, with the
 *    operation either wholly there (only when it reported success) or
 *    wholly absent.
 * 3. A busy database: another connection holds the write lock; enqueue
 *    gives up after the busy timeout with EIM_EBUSY and changes nothing.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "eim/eim_ops.h"
#include "eim/eim_service.h"
#include "eim/eim_signer.h"
#include "eim_test.h"
#include "proto/eim_epr.h"
#include "proto/eim_esipa.h"
#include "proto/eim_sig.h"
#include "store/eim_store.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EID1 "89049032123451234512345678901235"

static const char *dir;
static char db_path[512];
static uint8_t eid1[16];
/* Database files: before any package, after one is queued, after it was
 * delivered. Each fault run starts from a fresh copy. */
static uint8_t *tmpl_empty, *tmpl_queued, *tmpl_sent;
static size_t tmpl_empty_len, tmpl_queued_len, tmpl_sent_len;
static struct eim_buf result_msg; /* the device's signed result message */

/* ---- the SQLite VFS shim ------------------------------------------------ */

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs fault_vfs;
static int fault_countdown = -1; /* -1: pass through; 0: fail from now on */
static int fault_code;		 /* SQLITE_FULL or SQLITE_IOERR */
static int faults_injected;

struct fault_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same allocation */
};

static int inject(int ioerr_code)
{
	if (fault_countdown < 0)
		return SQLITE_OK;
	if (fault_countdown > 0) {
		fault_countdown--;
		return SQLITE_OK;
	}
	faults_injected++;
	return fault_code == SQLITE_FULL ? SQLITE_FULL : ioerr_code;
}

#define REAL(f) (((struct fault_file *)(f))->real)

static int ff_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}
static int ff_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
static int ff_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
	int rc = inject(SQLITE_IOERR_WRITE);
	return rc ? rc : REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int ff_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = inject(SQLITE_IOERR_TRUNCATE);
	return rc ? rc : REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int ff_sync(sqlite3_file *f, int flags)
{
	int rc = inject(SQLITE_IOERR_FSYNC);
	return rc ? rc : REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int ff_size(sqlite3_file *f, sqlite3_int64 *ret)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), ret);
}
static int ff_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int ff_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int ff_reserved(sqlite3_file *f, int *ret)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), ret);
}
static int ff_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int ff_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int ff_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int ff_shm_map(sqlite3_file *f, int pg, int sz, int ext,
		      void volatile **ret)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, ret);
}
static int ff_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void ff_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int ff_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

/* Version 2: WAL needs the shared-memory methods; without version 3's
 * xFetch SQLite reads through xRead instead of mmap, which is fine here. */
static const sqlite3_io_methods fault_methods = {
	.iVersion = 2,
	.xClose = ff_close,
	.xRead = ff_read,
	.xWrite = ff_write,
	.xTruncate = ff_truncate,
	.xSync = ff_sync,
	.xFileSize = ff_size,
	.xLock = ff_lock,
	.xUnlock = ff_unlock,
	.xCheckReservedLock = ff_reserved,
	.xFileControl = ff_control,
	.xSectorSize = ff_sector,
	.xDeviceCharacteristics = ff_devchar,
	.xShmMap = ff_shm_map,
	.xShmLock = ff_shm_lock,
	.xShmBarrier = ff_shm_barrier,
	.xShmUnmap = ff_shm_unmap,
};

static int fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		      int flags, int *out_flags)
{
	struct fault_file *ff = (struct fault_file *)f;
	int rc;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	rc = unix_vfs->xOpen(unix_vfs, name, ff->real, flags, out_flags);
	ff->base.pMethods = ff->real->pMethods ? &fault_methods : NULL;
	return rc;
}

/* Makes the shim (or the plain unix VFS) the default for new connections. */
static void use_fault_vfs(bool on)
{
	if (!unix_vfs) {
		unix_vfs = sqlite3_vfs_find("unix");
		ck_assert_ptr_nonnull(unix_vfs);
		fault_vfs = *unix_vfs;
		fault_vfs.zName = "eim-test-faults";
		fault_vfs.szOsFile =
			(int)sizeof(struct fault_file) + unix_vfs->szOsFile;
		fault_vfs.xOpen = fault_open;
		fault_vfs.pNext = NULL;
	}
	ck_assert_int_eq(sqlite3_vfs_register(on ? &fault_vfs : unix_vfs, 1),
			 SQLITE_OK);
}

/* ---- fixture ------------------------------------------------------------ */

static void slurp(uint8_t **ret, size_t *ret_len)
{
	FILE *f = fopen(db_path, "rb");
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*ret = malloc((size_t)n);
	ck_assert_ptr_nonnull(*ret);
	ck_assert_uint_eq(fread(*ret, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*ret_len = (size_t)n;
}

static void restore(const uint8_t *t, size_t n)
{
	char p[600];
	FILE *f;

	snprintf(p, sizeof(p), "%s-wal", db_path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db_path);
	unlink(p);
	f = fopen(db_path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(t, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

static int open_store(struct eim_store **ret)
{
	struct eim_store_options opt;

	eim_store_options_init(&opt);
	opt.synchronous = EIM_STORE_SYNC_NORMAL;
	opt.busy_timeout_ms = 50;
	return eim_store_open(db_path, &opt, ret);
}

/* getRAT for EID1, built by the real ops validator and signed by the real
 * signer inside eim_store_enqueue. */
static int enqueue(struct eim_store *st, struct eim_signer *g)
{
	struct eim_json_err err;
	struct eim_ops ops;
	struct eim_store_enqueue_req rq;
	struct eim_store_enqueued done;
	cJSON *op = cJSON_Parse("{\"op\":\"get-rat\"}");
	int rc;

	ck_assert_ptr_nonnull(op);
	rc = eim_ops_init(&ops);
	if (rc == 0)
		rc = eim_ops_add_json(&ops, op, "operations[0]", &err);
	if (rc == 0) {
		memset(&rq, 0, sizeof(rq));
		memcpy(rq.eid, eid1, 16);
		rq.kind = "psmo";
		rq.summary = "[{\"op\":\"get-rat\"}]";
		rq.sign_ctx = &ops;
		rc = eim_store_enqueue(st, &rq, eim_signer_sign, g, &done);
	}
	eim_ops_done(&ops);
	cJSON_Delete(op);
	return rc;
}

static uint8_t poll_or_result(struct eim_service *svc, const uint8_t *body,
			      size_t len, struct eim_buf *resp, int *ret_rc)
{
	struct eim_service_peer peer = {.kind = EIM_STORE_CRED_PSK,
					.ident = (const uint8_t *)"dev-one",
					.ident_len = 7,
					.addr = "192.0.2.7:5684"};
	uint8_t code = 0;

	eim_buf_reset(resp);
	*ret_rc = eim_service_handle(svc, &peer, body, len, resp, &code);
	return code;
}

static void get_request(struct eim_buf *out)
{
	struct eim_esipa_from_ipa m;

	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	memcpy(m.get.eid, eid1, 16);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, out), 0);
}

/* What the file says, read through a separate plain connection. */
struct facts {
	int64_t counter; /* association counter of EID1 */
	int packages;	 /* rows in package */
	int queued, sent, done;
	int results;	    /* rows in result */
	int acked;	    /* of those, marked acknowledged */
	struct eim_buf pkg; /* bytes of the first package */
};

static int64_t one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

static void read_facts(struct facts *f)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE,
					 "unix"),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1,
					    &q, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "ok");
	sqlite3_finalize(q);
	f->counter = one_int(db, "SELECT counter FROM association");
	f->packages = (int)one_int(db, "SELECT count(*) FROM package");
	f->queued = (int)one_int(db, "SELECT count(*) FROM package"
				     " WHERE state = 0");
	f->sent = (int)one_int(db, "SELECT count(*) FROM package"
				   " WHERE state = 1");
	f->done = (int)one_int(db, "SELECT count(*) FROM package"
				   " WHERE state = 2");
	f->results = (int)one_int(db, "SELECT count(*) FROM result");
	f->acked = (int)one_int(db, "SELECT count(*) FROM result"
				    " WHERE acked = 1");
	eim_buf_init(&f->pkg);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT bytes FROM package"
					    " ORDER BY id LIMIT 1",
					    -1, &q, NULL),
			 SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		eim_buf_append(&f->pkg, sqlite3_column_blob(q, 0),
			       (size_t)sqlite3_column_bytes(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* Writes a P-256 key file for the identity, returns its path (static). */
static const char *write_key(void)
{
	static char path[600];
	struct eim_sig_key *k = NULL;
	struct eim_buf der, pem;
	FILE *f;

	snprintf(path, sizeof(path), "%s/eim-one.key.pem", dir);
	eim_buf_init(&der);
	eim_buf_init(&pem);
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	ck_assert_int_eq(eim_sig_key_sec1(k, &der), 0);
	ck_assert_int_eq(eim_pem_encode("EC PRIVATE KEY", der.p, der.len, &pem),
			 0);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fwrite(pem.p, 1, pem.len, f);
	fclose(f);
	eim_sig_key_free(k);
	eim_buf_done(&der);
	eim_buf_done(&pem);
	return path;
}

/* The device's answer: a result signed by its eUICC key (not on file, so
 * recorded as unverified: the path records it all the same). */
static void build_result(void)
{
	struct eim_epr_result r = {.tag = EIM_RES_GET_RAT, .code = 0};
	struct eim_sig_key *k = NULL;
	struct eim_esipa_from_ipa m;
	struct eim_pkg_view v;
	struct eim_buf epr;
	struct eim_epr e;
	struct facts f;

	read_facts(&f);
	ck_assert_int_eq(eim_pkg_decode(f.pkg.p, f.pkg.len, NULL, &v), 0);
	memset(&e, 0, sizeof(e));
	e.kind = EIM_EPR_RESULT_SIGNED;
	e.eim_id = v.pkg.eim_id;
	e.counter = v.pkg.counter;
	e.txid = v.pkg.txid;
	e.seq = 1;
	r.data.p = (const uint8_t *)"\xa6\x00";
	r.data.len = 2;
	e.results = &r;
	e.n_results = 1;
	eim_buf_init(&epr);
	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	ck_assert_int_eq(eim_epr_encode(&e, 0, k, &epr), 0);
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
	m.result.has_eid = true;
	memcpy(m.result.eid, eid1, 16);
	m.result.kind = EIM_RESULT_EPR;
	m.result.body.p = epr.p;
	m.result.body.len = epr.len;
	eim_buf_init(&result_msg);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, &result_msg), 0);
	eim_pkg_view_done(&v);
	eim_sig_key_free(k);
	eim_buf_done(&epr);
	eim_buf_done(&f.pkg);
}

static void setup(void)
{
	struct eim_store *st = NULL;
	struct eim_signer g;
	struct eim_service *svc = NULL;
	struct eim_buf req, resp;
	static const uint8_t psk[16] = {1, 2, 3};
	struct eim_store_device_new d;
	int rc;

	eim_log_set_level(EIM_LOG_ERROR);
	dir = eim_test_tmpdir();
	snprintf(db_path, sizeof(db_path), "%s/eim.db", dir);
	ck_assert_int_eq(eim_store_eid_parse(EID1, eid1), 0);
	ck_assert_int_eq(open_store(&st), 0);
	struct eim_store_identity id = {.eim_id = "eim-one",
					.key_ref = write_key()};
	ck_assert_int_eq(eim_store_identity_add(st, &id), 0);
	memset(&d, 0, sizeof(d));
	memcpy(d.eid, eid1, 16);
	d.eim_id = "eim-one";
	d.psk_identity = (const uint8_t *)"dev-one";
	d.psk_identity_len = 7;
	d.psk_key = psk;
	d.psk_key_len = sizeof(psk);
	ck_assert_int_eq(eim_store_device_add(st, &d), 0);
	eim_store_close(st);
	slurp(&tmpl_empty, &tmpl_empty_len);

	ck_assert_int_eq(open_store(&st), 0);
	eim_signer_init(&g, st);
	ck_assert_int_eq(enqueue(st, &g), 0);
	eim_signer_done(&g);
	eim_store_close(st);
	slurp(&tmpl_queued, &tmpl_queued_len);

	ck_assert_int_eq(open_store(&st), 0);
	ck_assert_int_eq(eim_service_new(st, NULL, &svc), 0);
	eim_buf_init(&req);
	eim_buf_init(&resp);
	get_request(&req);
	ck_assert_uint_eq(poll_or_result(svc, req.p, req.len, &resp, &rc),
			  EIM_SVC_CHANGED);
	ck_assert_int_eq(rc, 0);
	eim_service_free(svc);
	eim_store_close(st);
	slurp(&tmpl_sent, &tmpl_sent_len);
	build_result();
	eim_buf_done(&req);
	eim_buf_done(&resp);
}

static void teardown(void)
{
	eim_alloc_fail_reset();
	use_fault_vfs(false);
	fault_countdown = -1;
	free(tmpl_empty);
	free(tmpl_queued);
	free(tmpl_sent);
	tmpl_empty = tmpl_queued = tmpl_sent = NULL;
	eim_buf_done(&result_msg);
	eim_test_rmdir(dir);
}

/* A fault-free retry must work and leave exactly one result, the package
 * done: what a device does after a 5.00. */
static void result_retry_ok(void)
{
	struct eim_store *st = NULL;
	struct eim_service *svc = NULL;
	struct eim_buf resp;
	struct facts f;
	int rc;

	eim_buf_init(&resp);
	ck_assert_int_eq(open_store(&st), 0);
	ck_assert_int_eq(eim_service_new(st, NULL, &svc), 0);
	ck_assert_uint_eq(poll_or_result(svc, result_msg.p, result_msg.len,
					 &resp, &rc),
			  EIM_SVC_CHANGED);
	ck_assert_int_eq(rc, 0);
	/* BF50 { BF53 { 80 01 01 } }: the result's seqNumber acknowledged */
	static const uint8_t ack1[] = {0xBF, 0x50, 0x06, 0xBF, 0x53,
				       0x03, 0x80, 0x01, 0x01};
	ck_assert_uint_eq(resp.len, sizeof(ack1));
	ck_assert_mem_eq(resp.p, ack1, sizeof(ack1));
	eim_service_free(svc);
	eim_store_close(st);
	read_facts(&f);
	ck_assert_int_eq(f.results, 1);
	ck_assert_int_eq(f.done, 1);
	ck_assert_int_eq(f.sent, 0);
	eim_buf_done(&f.pkg);
	eim_buf_done(&resp);
}

/* ---- 1. allocation failures --------------------------------------------- */

START_TEST(enqueue_survives_every_allocation_failure)
{
	unsigned long n, failed = 0;
	int errors = 0;
	struct facts f;

	for (n = 0;; n++) {
		struct eim_store *st = NULL;
		struct eim_signer g;
		int rc;

		restore(tmpl_empty, tmpl_empty_len);
		eim_alloc_fail_after(n);
		rc = open_store(&st);
		if (rc == 0) {
			eim_signer_init(&g,
					st); /* loads the key on first use */
			rc = enqueue(st, &g);
			eim_signer_done(&g);
			eim_store_close(st);
		}
		failed = eim_alloc_failed_count();
		eim_alloc_fail_reset();
		read_facts(&f);
		if (rc != 0) {
			ck_assert_int_lt(rc, 0);
			ck_assert_msg(failed > 0, "n=%lu: %s without a fault",
				      n, eim_errname(rc));
			/* nothing taken: no package, counter unchanged */
			ck_assert_int_eq(f.packages, 0);
			ck_assert_int_eq(f.counter, 0);
			errors++;
		} else {
			ck_assert_int_eq(f.packages, 1);
			ck_assert_int_eq(f.queued, 1);
			ck_assert_int_eq(f.counter, 1);
		}
		eim_buf_done(&f.pkg);
		if (failed == 0)
			break;
		ck_assert_msg(n < 100000, "no end to the allocations");
	}
	ck_assert_int_gt(errors, 0);
	fprintf(stderr, "enqueue: %lu allocation points, %d clean errors\n", n,
		errors);
}
END_TEST

START_TEST(delivery_survives_every_allocation_failure)
{
	struct eim_buf req, resp, first;
	unsigned long n, failed = 0;
	int errors = 0;
	struct facts f;

	eim_buf_init(&req);
	eim_buf_init(&resp);
	eim_buf_init(&first);
	get_request(&req);
	for (n = 0;; n++) {
		struct eim_store *st = NULL;
		struct eim_service *svc = NULL;
		uint8_t code = 0;
		int rc;

		restore(tmpl_queued, tmpl_queued_len);
		eim_alloc_fail_after(n);
		rc = open_store(&st);
		if (rc == 0)
			rc = eim_service_new(st, NULL, &svc);
		if (rc == 0)
			code = poll_or_result(svc, req.p, req.len, &resp, &rc);
		failed = eim_alloc_failed_count();
		eim_alloc_fail_reset();
		eim_service_free(svc);
		eim_store_close(st);
		if (rc == 0 && code != EIM_SVC_CHANGED) {
			/* an answer other than the package: only with a fault
			 * and only a server error */
			ck_assert_uint_gt(failed, 0);
			ck_assert_uint_eq(code, EIM_SVC_SERVER_ERROR);
		}
		if (rc != 0 || code != EIM_SVC_CHANGED)
			errors++;
		read_facts(&f);
		ck_assert_int_eq(f.packages, 1);
		ck_assert_int_eq(f.queued + f.sent, 1); /* never half-done */
		if (rc == 0 && code == EIM_SVC_CHANGED) {
			/* the package went out: it is marked sent and the
			 * answer carries its stored bytes */
			ck_assert_int_eq(f.sent, 1);
			ck_assert_ptr_nonnull(
				memmem(resp.p, resp.len, f.pkg.p, f.pkg.len));
		}
		/* whatever happened, the next fault-free poll delivers the
		 * same bytes */
		ck_assert_int_eq(open_store(&st), 0);
		ck_assert_int_eq(eim_service_new(st, NULL, &svc), 0);
		ck_assert_uint_eq(poll_or_result(svc, req.p, req.len, &resp,
						 &rc),
				  EIM_SVC_CHANGED);
		ck_assert_int_eq(rc, 0);
		ck_assert_ptr_nonnull(
			memmem(resp.p, resp.len, f.pkg.p, f.pkg.len));
		eim_service_free(svc);
		eim_store_close(st);
		eim_buf_done(&f.pkg);
		if (failed == 0)
			break;
		ck_assert_msg(n < 100000, "no end to the allocations");
	}
	ck_assert_int_gt(errors, 0);
	fprintf(stderr,
		"getEimPackage: %lu allocation points, %d clean errors\n", n,
		errors);
	eim_buf_done(&req);
	eim_buf_done(&resp);
	eim_buf_done(&first);
}
END_TEST

START_TEST(result_survives_every_allocation_failure)
{
	struct eim_buf resp;
	unsigned long n, failed = 0;
	int errors = 0;
	struct facts f;

	eim_buf_init(&resp);
	for (n = 0;; n++) {
		struct eim_store *st = NULL;
		struct eim_service *svc = NULL;
		uint8_t code = 0;
		int rc;

		restore(tmpl_sent, tmpl_sent_len);
		eim_alloc_fail_after(n);
		rc = open_store(&st);
		if (rc == 0)
			rc = eim_service_new(st, NULL, &svc);
		if (rc == 0)
			code = poll_or_result(svc, result_msg.p, result_msg.len,
					      &resp, &rc);
		failed = eim_alloc_failed_count();
		eim_alloc_fail_reset();
		eim_service_free(svc);
		eim_store_close(st);
		read_facts(&f);
		/* the result and its package's DONE state come together */
		ck_assert_int_eq(f.packages, 1);
		ck_assert_msg((f.results == 0 && f.sent == 1) ||
				      (f.results == 1 && f.done == 1),
			      "n=%lu: %d results, %d sent, %d done", n,
			      f.results, f.sent, f.done);
		if (rc == 0 && code == EIM_SVC_CHANGED) {
			/* acknowledged: then it is recorded, and so is
			 * the acknowledgement */
			ck_assert_int_eq(f.results, 1);
			ck_assert_int_eq(f.acked, 1);
		} else {
			ck_assert_uint_gt(failed, 0);
			if (rc == 0)
				ck_assert_uint_eq(code, EIM_SVC_SERVER_ERROR);
			errors++;
		}
		eim_buf_done(&f.pkg);
		if (f.results == 0)
			result_retry_ok();
		if (failed == 0)
			break;
		ck_assert_msg(n < 100000, "no end to the allocations");
	}
	ck_assert_int_gt(errors, 0);
	fprintf(stderr,
		"provideEimPackageResult: %lu allocation points, %d clean "
		"errors\n",
		n, errors);
	eim_buf_done(&resp);
}
END_TEST

/* ---- 2. SQLite write errors ---------------------------------------------- */

static void enqueue_under_write_faults(int code)
{
	int k, errors = 0;
	struct facts f;

	for (k = 0;; k++) {
		struct eim_store *st = NULL;
		struct eim_signer g;
		int rc;

		restore(tmpl_empty, tmpl_empty_len);
		use_fault_vfs(true);
		ck_assert_int_eq(open_store(&st), 0);
		faults_injected = 0;
		fault_code = code;
		fault_countdown = k;
		eim_signer_init(&g, st);
		rc = enqueue(st, &g);
		if (rc != 0) {
			ck_assert_int_eq(rc, EIM_EIO);
			ck_assert_msg(strstr(eim_store_errmsg(st),
					     "SQLite code"),
				      "%s", eim_store_errmsg(st));
		}
		eim_signer_done(&g);
		eim_store_close(st); /* may meet the fault too: no matter */
		fault_countdown = -1;
		use_fault_vfs(false);
		read_facts(&f);
		if (rc != 0) {
			ck_assert_int_gt(faults_injected, 0);
			ck_assert_int_eq(f.packages, 0);
			ck_assert_int_eq(f.counter, 0);
			errors++;
		} else {
			/* reported queued: it must have survived the close */
			ck_assert_int_eq(f.packages, 1);
			ck_assert_int_eq(f.counter, 1);
		}
		eim_buf_done(&f.pkg);
		if (faults_injected == 0)
			break;
		ck_assert_msg(k < 1000, "no end to the writes");
	}
	ck_assert_int_gt(errors, 0);
	fprintf(stderr, "enqueue, %s: %d write points, %d clean errors\n",
		code == SQLITE_FULL ? "disk full" : "I/O error", k, errors);
}

START_TEST(enqueue_on_a_full_disk)
{
	enqueue_under_write_faults(SQLITE_FULL);
}
END_TEST

START_TEST(enqueue_on_io_errors)
{
	enqueue_under_write_faults(SQLITE_IOERR);
}
END_TEST

static void result_under_write_faults(int code)
{
	struct eim_buf resp;
	int k, errors = 0;
	struct facts f;

	eim_buf_init(&resp);
	for (k = 0;; k++) {
		struct eim_store *st = NULL;
		struct eim_service *svc = NULL;
		uint8_t ans;
		int rc;

		restore(tmpl_sent, tmpl_sent_len);
		use_fault_vfs(true);
		ck_assert_int_eq(open_store(&st), 0);
		ck_assert_int_eq(eim_service_new(st, NULL, &svc), 0);
		faults_injected = 0;
		fault_code = code;
		fault_countdown = k;
		ans = poll_or_result(svc, result_msg.p, result_msg.len, &resp,
				     &rc);
		eim_service_free(svc);
		eim_store_close(st);
		fault_countdown = -1;
		use_fault_vfs(false);
		read_facts(&f);
		ck_assert_msg((f.results == 0 && f.sent == 1) ||
				      (f.results == 1 && f.done == 1),
			      "k=%d: %d results, %d sent, %d done", k,
			      f.results, f.sent, f.done);
		/* the result and its acknowledgement are one commit:
		 * both on file or neither */
		ck_assert_msg(f.acked == f.results,
			      "k=%d: %d results, %d acknowledged", k, f.results,
			      f.acked);
		if (rc == 0 && ans == EIM_SVC_CHANGED) {
			ck_assert_int_eq(f.results, 1);
		} else {
			/* a clean error the transport answers with 5.00 */
			ck_assert_int_gt(faults_injected, 0);
			ck_assert_msg(rc == EIM_EIO ||
					      (rc == 0 &&
					       ans == EIM_SVC_SERVER_ERROR),
				      "k=%d: rc %s, code %02x", k,
				      eim_errname(rc), ans);
			errors++;
		}
		eim_buf_done(&f.pkg);
		if (f.results == 0)
			result_retry_ok();
		if (faults_injected == 0)
			break;
		ck_assert_msg(k < 1000, "no end to the writes");
	}
	ck_assert_int_gt(errors, 0);
	fprintf(stderr,
		"provideEimPackageResult, %s: %d write points, %d clean "
		"errors\n",
		code == SQLITE_FULL ? "disk full" : "I/O error", k, errors);
	eim_buf_done(&resp);
}

START_TEST(result_on_a_full_disk)
{
	result_under_write_faults(SQLITE_FULL);
}
END_TEST

START_TEST(result_on_io_errors)
{
	result_under_write_faults(SQLITE_IOERR);
}
END_TEST

/* ---- 3. a busy database ---------------------------------------------------
 */

START_TEST(enqueue_while_another_writer_holds_the_lock)
{
	struct eim_store *st = NULL;
	struct eim_signer g;
	sqlite3 *other = NULL;
	struct facts f;

	restore(tmpl_empty, tmpl_empty_len);
	ck_assert_int_eq(open_store(&st), 0);
	ck_assert_int_eq(sqlite3_open(db_path, &other), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	eim_signer_init(&g, st);
	ck_assert_int_eq(enqueue(st, &g), EIM_EBUSY);
	ck_assert_msg(strstr(eim_store_errmsg(st), "lock"), "%s",
		      eim_store_errmsg(st));
	ck_assert_int_eq(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	read_facts(&f);
	ck_assert_int_eq(f.packages, 0);
	ck_assert_int_eq(f.counter, 0);
	eim_buf_done(&f.pkg);
	/* the lock gone, the same call works and takes counter 1 */
	ck_assert_int_eq(enqueue(st, &g), 0);
	read_facts(&f);
	ck_assert_int_eq(f.counter, 1);
	eim_buf_done(&f.pkg);
	eim_signer_done(&g);
	sqlite3_close(other);
	eim_store_close(st);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *a = tcase_create("allocation");
	TCase *io = tcase_create("sqlite");

	tcase_add_checked_fixture(a, setup, teardown);
	tcase_set_timeout(a, 600);
	tcase_add_test(a, enqueue_survives_every_allocation_failure);
	tcase_add_test(a, delivery_survives_every_allocation_failure);
	tcase_add_test(a, result_survives_every_allocation_failure);
	suite_add_tcase(s, a);
	tcase_add_checked_fixture(io, setup, teardown);
	tcase_set_timeout(io, 600);
	tcase_add_test(io, enqueue_on_a_full_disk);
	tcase_add_test(io, enqueue_on_io_errors);
	tcase_add_test(io, result_on_a_full_disk);
	tcase_add_test(io, result_on_io_errors);
	tcase_add_test(io, enqueue_while_another_writer_holds_the_lock);
	suite_add_tcase(s, io);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(faults_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
