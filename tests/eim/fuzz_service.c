/*
 * libFuzzer target for the whole ESipa service (SGP.32 v1.2 section 6.3):
 * eim_service_handle() over a real SQLite store, the way the CoAP route
 * calls it for every POST body a device sends.
 *
 * The store is built once (an eIM identity with a key file, three devices,
 * four queued packages, one already delivered so that results can match
 * it) and copied back before every input, so that each input runs against
 * the same state and a crash reproduces from the input alone.
 *
 * Input: byte 0 chooses the caller (unauthenticated plain CoAP, the PSK
 * identity of device 1, of device 2, an unknown identity); the rest is the
 * request body. After each request:
 *   - the handler returned 0 (an internal error on a sound store is a bug)
 *     and one of 2.04 / 4.00 / 4.03;
 *   - a 4.xx answer changed nothing but the audit trail and the caller's
 *     last-seen fields;
 *   - an authenticated caller changed nothing that belongs to another
 *     device (its packages, results, notifications, association, lists);
 *   - a 2.04 body, if any, decodes as an EsipaMessageFromEimToIpa;
 *   - the database passes PRAGMA integrity_check (eim_store_check);
 *   - no log line (all levels are formatted, none printed) carries a raw
 *     line break or escape character from the input: a device must not
 *     be able to forge log lines.
 * Leaks are caught by LeakSanitizer at the end of each input.
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "eim/eim_service.h"
#include "proto/eim_esipa.h"
#include "proto/eim_pkg.h"
#include "proto/eim_sig.h"
#include "store/eim_store.h"
#include "tests/proto/fuzz_key.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Hex of the EIDs the seeds use. */
static const char *const eid_text[3] = {
	"89049032123451234512345678901235",
	"89044045116727494800000004479366",
	"89049032123451234512345678900000",
};
static const char *const psk_ident[3] = {"dev-one", "dev-two", "dev-three"};

static char dir[256], db_path[300];
static uint8_t *tmpl;
static size_t tmpl_len;
static struct eim_sig_key *key;

static void die(const char *what, int rc)
{
	fprintf(stderr, "fuzz_service setup: %s: %d\n", what, rc);
	abort();
}

/* Signs a real package (getRAT) with the test key and txid 01, so that the
 * seed results for counter 1 match the delivered package. */
static int sign(void *ctx, const struct eim_store_sign_in *in,
		struct eim_store_sign_out *out)
{
	static const uint8_t txid[1] = {1};
	struct eim_psmo op = {.kind = EIM_PSMO_GET_RAT};
	struct eim_pkg p = {0};

	(void)ctx;
	p.eim_id.p = (const uint8_t *)in->eim_id;
	p.eim_id.len = strlen(in->eim_id);
	memcpy(p.eid, in->eid, sizeof(p.eid));
	p.counter = in->counter;
	p.txid.p = txid;
	p.txid.len = 1;
	p.psmo = &op;
	p.n_ops = 1;
	out->txid[0] = 1;
	out->txid_len = 1;
	return eim_pkg_build(&p,
			     in->has_association_token ? in->association_token
						       : 0,
			     key, out->bytes);
}

static void enqueue(struct eim_store *st, int dev)
{
	struct eim_store_enqueue_req rq;
	struct eim_store_enqueued done;
	int rc;

	memset(&rq, 0, sizeof(rq));
	eim_store_eid_parse(eid_text[dev], rq.eid);
	rq.kind = "psmo";
	rq.summary = "[{\"op\":\"getRAT\"}]";
	if ((rc = eim_store_enqueue(st, &rq, sign, NULL, &done)) != 0)
		die("enqueue", rc);
}

/* Every message is formatted and checked, printed only when
 * EIM_FUZZ_LOG is set (to reproduce a finding). */
static void log_sink(void *ctx, enum eim_log_level level, const char *msg)
{
	(void)ctx;
	if (getenv("EIM_FUZZ_LOG"))
		fprintf(stderr, "%s: %s\n", eim_log_level_name(level), msg);
	for (const char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == 0x1b) {
			fprintf(stderr, "log line with a control byte: %s\n",
				msg);
			__builtin_trap();
		}
}

/* The temporary directory goes when the fuzzer exits normally. */
static void cleanup(void)
{
	static const char *const files[] = {"eim.db", "eim.db-wal",
					    "eim.db-shm", "eim-one.key.pem"};
	char p[400];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void build_template(void)
{
	struct eim_store_options opt;
	struct eim_store *st = NULL;
	struct eim_service *svc = NULL;
	struct eim_buf pem, req, resp;
	char key_path[320];
	uint8_t code;
	int rc;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/eim-fuzz-service-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		die("mkdtemp", -1);
	atexit(cleanup);
	snprintf(db_path, sizeof(db_path), "%s/eim.db", dir);
	snprintf(key_path, sizeof(key_path), "%s/eim-one.key.pem", dir);
	if ((rc = eim_sig_key_load(eim_fuzz_test_key, sizeof(eim_fuzz_test_key),
				   &key)) != 0)
		die("key", rc);
	eim_buf_init(&pem);
	eim_pem_encode("EC PRIVATE KEY", eim_fuzz_test_key,
		       sizeof(eim_fuzz_test_key), &pem);
	if (!(f = fopen(key_path, "wb")) ||
	    fwrite(pem.p, 1, pem.len, f) != pem.len || fclose(f) != 0)
		die("key file", -1);
	eim_buf_done(&pem);

	eim_store_options_init(&opt);
	opt.synchronous = EIM_STORE_SYNC_NORMAL;
	if ((rc = eim_store_open(db_path, &opt, &st)) != 0)
		die("open", rc);
	struct eim_store_identity id = {.eim_id = "eim-one",
					.key_ref = key_path};
	if ((rc = eim_store_identity_add(st, &id)) != 0)
		die("identity", rc);
	for (int i = 0; i < 3; i++) {
		static const uint8_t psk[16] = {1, 2, 3};
		struct eim_store_device_new d;

		memset(&d, 0, sizeof(d));
		eim_store_eid_parse(eid_text[i], d.eid);
		d.eim_id = "eim-one";
		d.psk_identity = (const uint8_t *)psk_ident[i];
		d.psk_identity_len = strlen(psk_ident[i]);
		d.psk_key = psk;
		d.psk_key_len = sizeof(psk);
		if ((rc = eim_store_device_add(st, &d)) != 0)
			die("device", rc);
	}
	enqueue(st, 0); /* counter 1: delivered below, awaits its result */
	enqueue(st, 0); /* counter 2: queued behind it */
	enqueue(st, 1); /* device 2, counter 1: queued */
	/* device 1's first package goes out */
	struct eim_service_config cfg = {.refresh_on_state_change = true};
	struct eim_esipa_from_ipa m;
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	eim_store_eid_parse(eid_text[0], m.get.eid);
	eim_buf_init(&req);
	eim_buf_init(&resp);
	eim_esipa_encode_from_ipa(&m, &req);
	struct eim_service_peer peer = {.kind = EIM_STORE_CRED_PSK,
					.ident = (const uint8_t *)"dev-one",
					.ident_len = 7,
					.addr = "192.0.2.1:5684"};
	if ((rc = eim_service_new(st, &cfg, &svc)) != 0 ||
	    (rc = eim_service_handle(svc, &peer, req.p, req.len, &resp,
				     &code)) != 0 ||
	    code != EIM_SVC_CHANGED)
		die("first delivery", rc ? rc : code);
	eim_buf_done(&req);
	eim_buf_done(&resp);
	eim_service_free(svc);
	eim_store_close(st);

	/* The closed file is the template (the last close folds the WAL). */
	if (!(f = fopen(db_path, "rb")))
		die("template", -1);
	fseek(f, 0, SEEK_END);
	tmpl_len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	tmpl = malloc(tmpl_len);
	if (!tmpl || fread(tmpl, 1, tmpl_len, f) != tmpl_len)
		die("template read", -1);
	fclose(f);
}

static void restore(void)
{
	char p[340];
	FILE *f;

	snprintf(p, sizeof(p), "%s-wal", db_path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db_path);
	unlink(p);
	if (!(f = fopen(db_path, "wb")) ||
	    fwrite(tmpl, 1, tmpl_len, f) != tmpl_len || fclose(f) != 0)
		die("restore", -1);
}

/* FNV-1a over the rows a query returns. */
static uint64_t digest(sqlite3 *db, const char *sql, int dev)
{
	uint64_t h = 1469598103934665603ull;
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(db), -1);
	if (dev > 0)
		sqlite3_bind_int(q, 1, dev);
	while (sqlite3_step(q) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(q); i++) {
			const uint8_t *b = sqlite3_column_blob(q, i);
			int n = sqlite3_column_bytes(q, i);
			h = (h ^ (uint64_t)sqlite3_column_type(q, i)) *
			    1099511628211ull;
			for (int j = 0; j < n; j++)
				h = (h ^ b[j]) * 1099511628211ull;
		}
		h = (h ^ 0xff) * 1099511628211ull;
	}
	sqlite3_finalize(q);
	return h;
}

/* What a request may not touch: h[0] everything but the audit trail and
 * the last-seen columns, h[1..3] each device's own records. */
static void fingerprint(uint64_t h[4])
{
	static const char *const all[] = {
		"SELECT * FROM eim_identity ORDER BY id",
		("SELECT id, eid, identity_id, created_ms, eim_list,"
		 " profile_list, last_seq FROM device ORDER BY id"),
		"SELECT * FROM credential ORDER BY id",
		"SELECT * FROM credential_grant ORDER BY 1, 2",
		"SELECT * FROM association ORDER BY 1, 2",
		"SELECT * FROM package ORDER BY id",
		"SELECT * FROM result ORDER BY id",
		"SELECT * FROM notification ORDER BY id",
	};
	static const char *const one[] = {
		("SELECT eid, eim_list, profile_list, last_seq FROM device"
		 " WHERE id = ?1"),
		"SELECT * FROM association WHERE device_id = ?1",
		"SELECT * FROM package WHERE device_id = ?1 ORDER BY id",
		"SELECT * FROM result WHERE device_id = ?1 ORDER BY id",
		"SELECT * FROM notification WHERE device_id = ?1 ORDER BY id",
	};
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		die("fingerprint open", -1);
	memset(h, 0, 4 * sizeof(h[0]));
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		h[0] = h[0] * 31 + digest(db, all[i], 0);
	for (int dev = 1; dev <= 3; dev++)
		for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
			h[dev] = h[dev] * 31 + digest(db, one[i], dev);
	sqlite3_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const who[4] = {NULL, "dev-one", "dev-two",
					   "intruder"};
	struct eim_service_config cfg = {.refresh_on_state_change = true};
	struct eim_store_options opt;
	struct eim_store *st = NULL;
	struct eim_service *svc = NULL;
	struct eim_service_peer peer = {0};
	struct eim_buf resp;
	static uint64_t before[4];
	uint64_t after[4];
	uint8_t code = 0;
	int caller, rc;

	if (size < 1)
		return 0;
	if (!tmpl) {
		eim_log_set_level(EIM_LOG_DEBUG);
		eim_log_set_sink(log_sink, NULL);
		build_template();
		restore();
		fingerprint(before); /* the same for every input */
	}
	caller = data[0] % 4;
	restore();

	eim_store_options_init(&opt);
	opt.synchronous = EIM_STORE_SYNC_NORMAL;
	if ((rc = eim_store_open(db_path, &opt, &st)) != 0)
		die("open", rc);
	if ((rc = eim_service_new(st, &cfg, &svc)) != 0)
		die("service", rc);
	if (who[caller]) {
		peer.kind = EIM_STORE_CRED_PSK;
		peer.ident = (const uint8_t *)who[caller];
		peer.ident_len = strlen(who[caller]);
	}
	peer.addr = "198.51.100.9:40000";
	eim_buf_init(&resp);
	rc = eim_service_handle(svc, &peer, data + 1, size - 1, &resp, &code);
	if (rc != 0) {
		fprintf(stderr, "handler failed: %s\n", eim_errname(rc));
		__builtin_trap();
	}
	if (code != EIM_SVC_CHANGED && code != EIM_SVC_BAD_REQUEST &&
	    code != EIM_SVC_FORBIDDEN)
		__builtin_trap();
	if (code == EIM_SVC_CHANGED && resp.len > 0) {
		struct eim_esipa_from_eim m;
		if (eim_esipa_decode_from_eim(resp.p, resp.len, NULL, &m) != 0)
			__builtin_trap();
	}
	if (eim_store_check(st) != 0)
		__builtin_trap();
	eim_buf_done(&resp);
	eim_service_free(svc);
	eim_store_close(st);

	fingerprint(after);
	if (code != EIM_SVC_CHANGED && after[0] != before[0]) {
		fprintf(stderr, "a %02x answer changed the store\n", code);
		__builtin_trap();
	}
	for (int d = 1; d <= 3; d++) {
		if (!who[caller] || (d == caller && caller < 3))
			continue;
		if (after[d] != before[d]) {
			fprintf(stderr, "caller %s changed device %d\n",
				who[caller], d);
			__builtin_trap();
		}
	}
	return 0;
}
