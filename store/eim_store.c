/*
 * eim_store.c - opening the database, the schema and its migrations, and the
 * helpers every store/ file uses (errors, statements, transactions, clock).
 *
 * The file is a plain SQLite database in WAL mode. Its schema version lives
 * in PRAGMA user_version; `migrations` below is the ordered list of steps
 * from version N-1 to N, each run in its own IMMEDIATE transaction together
 * with the user_version bump, so a crash during a migration leaves the file
 * at the previous version. A file whose version is above what this binary
 * knows is refused (EIM_EVERSION): an older eim must not write to a schema
 * it does not understand.
 *
 * Schema (version 2):
 *
 *   eim_identity(id, eim_id UNIQUE, key_ref, public_key, settings, created)
 *   device(id, eid UNIQUE 16 bytes, identity_id -> managing eIM, created,
 *          last_seen, last_addr, eim_list, profile_list, last_seq)
 *   credential(id, device_id, kind, ident, secret)    UNIQUE(kind, ident),
 *                                                     UNIQUE(device_id, kind)
 *   credential_grant(credential_id, device_id)   extra EIDs a credential
 *                                                may act for
 *   association(device_id, identity_id, counter, token, generation,
 *               euicc_chain)
 *   package(id, device_id, identity_id, generation, counter, txid, kind,
 *           summary, bytes,
 *           state, created, sent, finished, valid_until, attempts)
 *           UNIQUE(device_id, identity_id, generation, counter); partial
 *           index on the
 *           undelivered ones (state < 2) that `next` reads
 *   result(id, device_id, package_id, bytes, summary, verified, codes,
 *          seq_number, acked, received)             UNIQUE(device_id, bytes)
 *   notification(id, device_id, seq_number, kind, bytes, summary, acked,
 *                received)                          UNIQUE(device_id, bytes)
 *   audit(id, at, actor, action, eid, package_id, detail)  append-only
 */
#include "store/eim_store_int.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Version 1: the records. */
static const char schema_v1[] =
	"CREATE TABLE eim_identity("
	" id INTEGER PRIMARY KEY,"
	" eim_id TEXT NOT NULL UNIQUE"
	"  CHECK (length(CAST(eim_id AS BLOB)) BETWEEN 1 AND 128),"
	" key_ref TEXT NOT NULL,"
	" public_key BLOB,"
	" settings TEXT NOT NULL DEFAULT '{}',"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE device("
	" id INTEGER PRIMARY KEY,"
	" eid BLOB NOT NULL UNIQUE CHECK (length(eid) = 16),"
	" identity_id INTEGER NOT NULL REFERENCES eim_identity(id),"
	" created_ms INTEGER NOT NULL,"
	" last_seen_ms INTEGER,"
	" last_addr TEXT,"
	" eim_list TEXT,"
	" profile_list TEXT,"
	" last_seq INTEGER);"
	"CREATE TABLE credential("
	" id INTEGER PRIMARY KEY,"
	" device_id INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,"
	" kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),"
	" ident BLOB NOT NULL,"
	" secret BLOB,"
	" UNIQUE (kind, ident),"
	" UNIQUE (device_id, kind));"
	"CREATE TABLE credential_grant("
	" credential_id INTEGER NOT NULL"
	"  REFERENCES credential(id) ON DELETE CASCADE,"
	" device_id INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,"
	" PRIMARY KEY (credential_id, device_id)) WITHOUT ROWID;"
	"CREATE TABLE association("
	" device_id INTEGER NOT NULL REFERENCES device(id),"
	" identity_id INTEGER NOT NULL REFERENCES eim_identity(id),"
	" counter INTEGER NOT NULL CHECK (counter BETWEEN 0 AND 8388607),"
	" token INTEGER,"
	/* Bumped when the association is renewed with a new token and the
	 * counter starts again: the counters of each generation are unique. */
	" generation INTEGER NOT NULL DEFAULT 0,"
	" euicc_chain BLOB,"
	" PRIMARY KEY (device_id, identity_id)) WITHOUT ROWID;"
	"CREATE TABLE package("
	" id INTEGER PRIMARY KEY,"
	" device_id INTEGER NOT NULL REFERENCES device(id),"
	" identity_id INTEGER NOT NULL REFERENCES eim_identity(id),"
	" generation INTEGER NOT NULL DEFAULT 0,"
	" counter INTEGER NOT NULL CHECK (counter BETWEEN 1 AND 8388607),"
	" txid BLOB CHECK (txid IS NULL OR length(txid) BETWEEN 1 AND 16),"
	" kind TEXT NOT NULL,"
	" summary TEXT NOT NULL,"
	" bytes BLOB NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 4),"
	" created_ms INTEGER NOT NULL,"
	" sent_ms INTEGER,"
	" finished_ms INTEGER,"
	" valid_until_ms INTEGER,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (device_id, identity_id, generation, counter));"
	"CREATE INDEX package_pending ON package(device_id, id)"
	" WHERE state < 2;"
	"CREATE TABLE result("
	" id INTEGER PRIMARY KEY,"
	" device_id INTEGER NOT NULL REFERENCES device(id),"
	" package_id INTEGER REFERENCES package(id),"
	" bytes BLOB NOT NULL,"
	" summary TEXT NOT NULL,"
	" verified INTEGER NOT NULL,"
	" codes TEXT,"
	" seq_number INTEGER,"
	" acked INTEGER NOT NULL DEFAULT 0,"
	" received_ms INTEGER NOT NULL,"
	" UNIQUE (device_id, bytes));"
	"CREATE INDEX result_package ON result(package_id);"
	"CREATE TABLE notification("
	" id INTEGER PRIMARY KEY,"
	" device_id INTEGER NOT NULL REFERENCES device(id),"
	" seq_number INTEGER,"
	" kind TEXT NOT NULL,"
	" bytes BLOB NOT NULL,"
	" summary TEXT NOT NULL,"
	" acked INTEGER NOT NULL DEFAULT 0,"
	" received_ms INTEGER NOT NULL,"
	" UNIQUE (device_id, bytes));"
	"CREATE TABLE audit("
	" id INTEGER PRIMARY KEY,"
	" at_ms INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" eid BLOB,"
	" package_id INTEGER,"
	" detail TEXT NOT NULL DEFAULT '');"
	/* The audit trail is evidence: no row may change or disappear. */
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;";

/*
 * Version 2: indexes for the operator queries (packages by state and time,
 * the audit trail by device) once the CLI needed them. Kept as a separate
 * step so that files created by version 1 gain them in place.
 *
 * The audit trail of a device is found in two parts: entries about one of
 * its packages through audit_package (package ids grow with audit ids, so
 * the entries a bulk enqueue writes are appended at the end of this index),
 * and device-level entries through the small audit_device. An index on the
 * EID of every entry would take one random-position insert per enqueued
 * package and cost a third of the bulk enqueue rate.
 */
static const char schema_v2[] =
	"CREATE INDEX package_state_created ON package(state, created_ms);"
	"CREATE INDEX audit_package ON audit(package_id)"
	" WHERE package_id IS NOT NULL;"
	"CREATE INDEX audit_device ON audit(eid)"
	" WHERE package_id IS NULL AND eid IS NOT NULL;";

static const char *const migrations[] = {schema_v1, schema_v2};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
		       EIM_STORE_SCHEMA_VERSION,
	       "one migration per schema version");

static const char *const stmt_sql[EIM__ST_COUNT] = {
#define EIM__STMT_SQL(id, sql) [id] = sql,
	EIM__STORE_STMTS(EIM__STMT_SQL)
#undef EIM__STMT_SQL
};

static char open_errmsg[512];

void eim_store_options_init(struct eim_store_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->synchronous = EIM_STORE_SYNC_FULL;
	opt->busy_timeout_ms = 10000;
	opt->counter_warn = 8000000;
	opt->actor = "eim";
}

int eim__store_fail(struct eim_store *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	eim_debug("store: %s", s->errmsg);
	return err;
}

int eim__store_dberr(struct eim_store *s, int rc, const char *what)
{
	int err;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		err = EIM_EBUSY;
		break;
	case SQLITE_NOMEM:
		err = EIM_ENOMEM;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
		err = EIM_EIO;
		break;
	default:
		err = EIM_EDB;
		break;
	}
	return eim__store_fail(s, err, "%s: %s (SQLite code %d)", what,
			       sqlite3_errmsg(s->db), rc);
}

sqlite3_stmt *eim__store_stmt(struct eim_store *s, enum eim__store_stmt_id id,
			      int *ret_err)
{
	sqlite3_stmt *st = s->stmt[id];
	int rc;

	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
				SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		*ret_err = eim__store_dberr(s, rc, "preparing statement");
		return NULL;
	}
	s->stmt[id] = st;
	return st;
}

sqlite3_stmt *eim__store_prepare(struct eim_store *s, const char *sql,
				 int *ret_err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		*ret_err = eim__store_dberr(s, rc, "preparing query");
		return NULL;
	}
	return st;
}

static int run_cached(struct eim_store *s, enum eim__store_stmt_id id,
		      const char *what)
{
	int err = 0;
	sqlite3_stmt *st = eim__store_stmt(s, id, &err);
	int rc;

	if (!st)
		return err;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return eim__store_dberr(s, rc, what);
	return 0;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Busy handler: called by SQLite while another connection holds the lock we
 * need. SQLite's own handler backs off to 100 ms sleeps; the lock holder
 * (another process committing back to back) frees the lock for only a few
 * microseconds between its transactions, so a waiter that sleeps 100 ms at a
 * time can starve for the whole timeout. Short sleeps of varying length
 * (0.1 to 0.6 ms) give the waiter many chances to land in that gap.
 */
static int busy_wait(void *ctx, int n)
{
	struct eim_store *s = ctx;
	int64_t now = mono_us();
	struct timespec ts = {0, 0};

	if (n == 0)
		s->busy_since_us = now;
	if (now - s->busy_since_us >= (int64_t)s->opt.busy_timeout_ms * 1000)
		return 0;
	ts.tv_nsec =
		(long)(100 + (unsigned)(n * 7919 + (int)(now & 0xff)) % 500) *
		1000;
	nanosleep(&ts, NULL);
	return 1;
}

/*
 * Has SQLite abandoned the caller's explicit transaction? After some errors
 * (a full disk, an I/O error, out of memory) it rolls the whole transaction
 * back by itself; a SAVEPOINT run then would open a new transaction that
 * its RELEASE commits on its own, outside the caller's. Notes the loss so
 * that the rest of the transaction is refused and its commit fails.
 */
static bool tx_check_lost(struct eim_store *s)
{
	if (!s->tx_lost && sqlite3_get_autocommit(s->db))
		s->tx_lost = EIM_EDB;
	return s->tx_lost != 0;
}

int eim__store_begin(struct eim_store *s)
{
	int err;

	if (s->tx_open) {
		/* A part of the caller's transaction: a savepoint, so that a
		 * failing call undoes its own changes and nothing else. */
		if (tx_check_lost(s))
			return eim__store_fail(s, s->tx_lost,
					       "the transaction was rolled "
					       "back after an earlier error; "
					       "nothing more is written in it");
		err = run_cached(s, ST_SAVEPOINT,
				 "starting a part of the transaction");
		if (err == 0)
			s->in_txn++;
		return err;
	}
	assert(!s->in_txn);
	/*
	 * IMMEDIATE takes the write lock now, inside SQLite's busy handler.
	 * A deferred transaction that later upgrades from reading to writing
	 * gets SQLITE_BUSY at once when another process wrote meanwhile (the
	 * handler is not called, to avoid deadlock): that error would then
	 * reach the caller.
	 */
	err = run_cached(s, ST_BEGIN, "starting a transaction");
	if (err == 0) {
		s->in_txn = 1;
		s->changes_at_begin = sqlite3_total_changes64(s->db);
	}
	return err;
}

/* After a COMMIT: one more sync of the file, if it wrote anything. */
static void count_commit(struct eim_store *s)
{
	if (sqlite3_total_changes64(s->db) != s->changes_at_begin)
		s->n_commits++;
}

uint64_t eim_store_commits(const struct eim_store *s)
{
	return s ? s->n_commits : 0;
}

int eim__store_commit(struct eim_store *s)
{
	int err;

	if (s->tx_open) {
		err = run_cached(s, ST_RELEASE,
				 "ending a part of the transaction");
		if (err == 0) {
			s->in_txn--;
			return 0;
		}
		eim__store_rollback(s);
		return err;
	}
	err = run_cached(s, ST_COMMIT, "committing");
	if (err == 0) {
		s->in_txn = 0;
		count_commit(s);
	} else {
		eim__store_rollback(s);
	}
	return err;
}

void eim__store_rollback(struct eim_store *s)
{
	char keep[sizeof(s->errmsg)];

	if (!s->in_txn)
		return;
	/* Keep the message of the error that made us roll back. */
	memcpy(keep, s->errmsg, sizeof(keep));
	if (s->tx_open) {
		/* Undo this part only; RELEASE then drops the savepoint. */
		if (!tx_check_lost(s)) {
			(void)run_cached(s, ST_ROLLBACK_TO, "rolling back");
			(void)run_cached(s, ST_RELEASE, "rolling back");
		}
		s->in_txn--;
	} else {
		if (sqlite3_get_autocommit(s->db) == 0)
			(void)run_cached(s, ST_ROLLBACK, "rolling back");
		s->in_txn = 0;
	}
	memcpy(s->errmsg, keep, sizeof(keep));
}

/* ---- explicit transactions ---------------------------------------------- */

/* Leaves explicit mode; `committed` says whether its changes are durable. */
static void tx_end(struct eim_store *s, bool committed)
{
	for (size_t i = 0; committed && i < s->tx_forget_len; i++)
		eim__store_redeliv_forget(s, s->tx_forget[i]);
	s->tx_forget_len = 0;
	s->tx_open = false;
	s->tx_lost = 0;
	s->in_txn = 0;
}

int eim_store_tx_begin(struct eim_store *s)
{
	int err;

	if (!s)
		return EIM_EINVAL;
	if (s->tx_open || s->in_txn)
		return eim__store_fail(s, EIM_ESTATE,
				       "a transaction is already open");
	err = eim__store_begin(s);
	if (err)
		return err;
	s->in_txn = 0;
	s->tx_open = true;
	s->tx_lost = 0;
	s->tx_forget_len = 0;
	return 0;
}

int eim_store_tx_commit(struct eim_store *s)
{
	int err;

	if (!s)
		return EIM_EINVAL;
	if (!s->tx_open)
		return eim__store_fail(s, EIM_ESTATE, "no transaction is open");
	/* Every store call ends its own part before it returns. */
	assert(s->in_txn == 0);
	if (tx_check_lost(s)) {
		err = eim__store_fail(s, s->tx_lost,
				      "the transaction was rolled back after "
				      "an earlier error: nothing of it was "
				      "written");
		tx_end(s, false);
		return err;
	}
	err = run_cached(s, ST_COMMIT, "committing");
	if (err) {
		/* The file has none of it: do not leave it half open. */
		char keep[sizeof(s->errmsg)];

		memcpy(keep, s->errmsg, sizeof(keep));
		if (sqlite3_get_autocommit(s->db) == 0)
			(void)run_cached(s, ST_ROLLBACK, "rolling back");
		memcpy(s->errmsg, keep, sizeof(keep));
		tx_end(s, false);
		return err;
	}
	count_commit(s);
	tx_end(s, true);
	return 0;
}

void eim_store_tx_rollback(struct eim_store *s)
{
	char keep[sizeof(s->errmsg)];

	if (!s || !s->tx_open)
		return;
	memcpy(keep, s->errmsg, sizeof(keep));
	if (sqlite3_get_autocommit(s->db) == 0)
		(void)run_cached(s, ST_ROLLBACK, "rolling back");
	memcpy(s->errmsg, keep, sizeof(keep));
	tx_end(s, false);
}

bool eim_store_tx_active(const struct eim_store *s)
{
	return s && s->tx_open;
}

int64_t eim__store_now(struct eim_store *s)
{
	struct timespec ts;

	if (s->opt.clock)
		return s->opt.clock(s->opt.clock_ctx);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int eim__store_eid_check(struct eim_store *s, const uint8_t *eid)
{
	char text[2 * EIM_STORE_EID_LEN + 1];

	for (size_t i = 0; i < EIM_STORE_EID_LEN; i++) {
		if ((eid[i] >> 4) > 9 || (eid[i] & 0xf) > 9)
			return eim__store_fail(
				s, EIM_EMALFORMED,
				"EID %s: every digit must be 0-9",
				eim_hex_encode(eid, EIM_STORE_EID_LEN, text));
	}
	return 0;
}

int eim__store_device_id(struct eim_store *s, const uint8_t *eid,
			 int64_t *ret_id)
{
	char text[2 * EIM_STORE_EID_LEN + 1];
	int err = 0;
	sqlite3_stmt *st = eim__store_stmt(s, ST_DEVICE_ID, &err);
	int rc;

	if (!st)
		return err;
	sqlite3_bind_blob(st, 1, eid, EIM_STORE_EID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return eim__store_dberr(s, rc, "looking up device");
	return eim__store_fail(s, EIM_ENOTFOUND, "device %s: no such device",
			       eim_store_eid_format(eid, text));
}

int eim__store_audit(struct eim_store *s, const char *action,
		     const uint8_t *eid, int64_t package_id, const char *fmt,
		     ...)
{
	char detail[512];
	va_list ap;
	int err = 0;
	sqlite3_stmt *st;
	int rc;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	st = eim__store_stmt(s, ST_AUDIT_INSERT, &err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, eim__store_now(s));
	sqlite3_bind_text(st, 2, s->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	eim__bind_blob(st, 4, eid, eid ? EIM_STORE_EID_LEN : 0);
	if (package_id > 0)
		sqlite3_bind_int64(st, 5, package_id);
	sqlite3_bind_text(st, 6, detail, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return eim__store_dberr(s, rc, "writing the audit log");
	return 0;
}

/* ---- EIDs and state names ---------------------------------------------- */

int eim_store_eid_parse(const char *text, uint8_t ret[EIM_STORE_EID_LEN])
{
	uint8_t out[EIM_STORE_EID_LEN];
	size_t nd = 0;

	if (!text || !ret)
		return EIM_EINVAL;
	for (const char *p = text; *p; p++) {
		if (*p == ' ')
			continue;
		if (*p < '0' || *p > '9' || nd >= 2 * EIM_STORE_EID_LEN)
			return EIM_EMALFORMED;
		if (nd % 2 == 0)
			out[nd / 2] = (uint8_t)((*p - '0') << 4);
		else
			out[nd / 2] |= (uint8_t)(*p - '0');
		nd++;
	}
	if (nd != 2 * EIM_STORE_EID_LEN)
		return EIM_EMALFORMED;
	memcpy(ret, out, sizeof(out));
	return 0;
}

char *eim_store_eid_format(const uint8_t eid[EIM_STORE_EID_LEN], char *out)
{
	/* A valid EID is all decimal nibbles, so hex text is its digits. */
	return eim_hex_encode(eid, EIM_STORE_EID_LEN, out);
}

static const char *const state_names[EIM_STORE_STATE_COUNT] = {"queued", "sent",
							       "done",
							       "expired",
							       "cancelled"};

const char *eim_store_state_name(int state)
{
	if (state < 0 || state >= EIM_STORE_STATE_COUNT)
		return "?";
	return state_names[state];
}

int eim_store_state_parse(const char *name, enum eim_store_state *ret)
{
	for (int i = 0; name && i < EIM_STORE_STATE_COUNT; i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*ret = (enum eim_store_state)i;
			return 0;
		}
	}
	return EIM_EINVAL;
}

/* ---- open, migrate, close ---------------------------------------------- */

static int exec(struct eim_store *s, const char *sql, const char *what)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return eim__store_dberr(s, rc, what);
	return 0;
}

static int read_version(struct eim_store *s, unsigned *ret)
{
	int err = 0;
	sqlite3_stmt *st = eim__store_prepare(s, "PRAGMA user_version", &err);
	int rc;

	if (!st)
		return err;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = eim__store_dberr(s, rc, "reading the schema version");
	} else {
		sqlite3_int64 v = sqlite3_column_int64(st, 0);
		*ret = v < 0 ? 0xffffffffu : (unsigned)v;
	}
	sqlite3_finalize(st);
	return err;
}

static int check_version(struct eim_store *s, const char *path, unsigned v)
{
	if (v > EIM_STORE_SCHEMA_VERSION)
		return eim__store_fail(
			s, EIM_EVERSION,
			"%s: schema version %u was written by a newer eim "
			"(this "
			"one knows up to %u); upgrade eim to use this file",
			path, v, EIM_STORE_SCHEMA_VERSION);
	return 0;
}

/*
 * One migration step in its own transaction. The version is read again once
 * the write lock is held: another process may have migrated the file while
 * we waited for it.
 */
static int migrate_step(struct eim_store *s, const char *path, unsigned target)
{
	unsigned v = 0;
	char sql[64];
	int err;

	err = eim__store_begin(s);
	if (err)
		return err;
	err = read_version(s, &v);
	if (err || (err = check_version(s, path, v)) != 0 || v >= target)
		goto out;
	err = exec(s, migrations[v], "migrating the schema");
	if (err)
		goto out;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", v + 1);
	err = exec(s, sql, "setting the schema version");
	if (err)
		goto out;
	err = eim__store_audit(s, "migrate", NULL, 0, "schema version %u -> %u",
			       v, v + 1);
	if (err)
		goto out;
	eim_debug("store: %s migrating to schema version %u", path, v + 1);
	return eim__store_commit(s);
out:
	eim__store_rollback(s);
	return err;
}

/* Brings the file to `target` (a no-op when it is there or beyond). */
static int migrate(struct eim_store *s, const char *path, unsigned target)
{
	unsigned v = 0;
	int err;

	for (;;) {
		err = read_version(s, &v);
		if (err || (err = check_version(s, path, v)) != 0)
			return err;
		if (v >= target)
			break;
		err = migrate_step(s, path, target);
		if (err)
			return err;
	}
	s->version = v;
	return 0;
}

/*
 * SQLite creates the -wal and -shm files itself, copying the main file's
 * permissions, and we open under umask 077 as well. The explicit chmod makes
 * the rule independent of both: the companions hold the same secrets.
 */
static void tighten(const char *path, const char *suffix)
{
	char p[4096];

	if (snprintf(p, sizeof(p), "%s%s", path, suffix) >= (int)sizeof(p))
		return;
	if (chmod(p, 0600) != 0 && errno != ENOENT)
		eim_debug("store: chmod %s: %s", p, strerror(errno));
}

static int create_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		snprintf(open_errmsg, sizeof(open_errmsg), "%s: %s", path,
			 strerror(errno));
		return EIM_EIO;
	}
	close(fd);
	return 0;
}

int eim_store_open(const char *path, const struct eim_store_options *opt,
		   struct eim_store **ret)
{
	struct eim_store *s = NULL;
	struct eim_store_options o;
	char sql[192];
	mode_t old_mask;
	int rc, err;

	open_errmsg[0] = '\0';
	if (!path || !*path || !ret) {
		snprintf(open_errmsg, sizeof(open_errmsg),
			 "no database path given");
		return EIM_EINVAL;
	}
	if (opt)
		o = *opt;
	else
		eim_store_options_init(&o);
	if (o.busy_timeout_ms < 0 ||
	    o.schema_version > EIM_STORE_SCHEMA_VERSION ||
	    (o.synchronous != EIM_STORE_SYNC_FULL &&
	     o.synchronous != EIM_STORE_SYNC_NORMAL)) {
		snprintf(open_errmsg, sizeof(open_errmsg),
			 "invalid store options");
		return EIM_EINVAL;
	}
	err = create_file(path);
	if (err)
		return err;

	s = eim_calloc(1, sizeof(*s));
	if (!s) {
		snprintf(open_errmsg, sizeof(open_errmsg), "out of memory");
		return EIM_ENOMEM;
	}
	s->actor = eim_strdup(o.actor ? o.actor : "eim");
	if (!s->actor) {
		err = eim__store_fail(s, EIM_ENOMEM, "out of memory");
		goto fail;
	}
	s->opt = o;
	s->opt.actor = s->actor;
	if (s->opt.counter_warn == 0)
		s->opt.counter_warn = 8000000;
	eim_buf_init(&s->sign_buf);
	eim_buf_init(&s->view);

	/* The -wal/-shm files come into being here: no group/other bits. */
	old_mask = umask(077);
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(s->db, 1);
		rc = sqlite3_busy_handler(s->db, busy_wait, s);
	}
	if (rc != SQLITE_OK) {
		umask(old_mask);
		err = s->db ? eim__store_dberr(s, rc, path)
			    : eim__store_fail(s, EIM_ENOMEM, "out of memory");
		goto fail;
	}
	/*
	 * A 64 MiB page cache and memory-mapped reads keep the random index
	 * inserts of a bulk campaign (package and audit indexes spread over
	 * all devices) and the per-poll probes out of read() syscalls.
	 */
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"
		 " PRAGMA synchronous = %s; PRAGMA cache_size = -65536;"
		 " PRAGMA mmap_size = 268435456;",
		 o.synchronous == EIM_STORE_SYNC_FULL ? "FULL" : "NORMAL");
	err = exec(s, sql, path);
	if (err == 0)
		err = migrate(s, path,
			      o.schema_version ? o.schema_version
					       : EIM_STORE_SCHEMA_VERSION);
	umask(old_mask);
	if (err)
		goto fail;
	tighten(path, "-wal");
	tighten(path, "-shm");
	*ret = s;
	return 0;

fail:
	snprintf(open_errmsg, sizeof(open_errmsg), "%s", s->errmsg);
	eim_store_close(s);
	return err;
}

const char *eim_store_open_errmsg(void)
{
	return open_errmsg;
}

int eim_store_data_version(struct eim_store *s, uint64_t *ret)
{
	int err = 0, rc;
	sqlite3_stmt *st;

	if (!s || !ret)
		return EIM_EINVAL;
	st = eim__store_stmt(s, ST_DATA_VERSION, &err);
	if (!st)
		return err;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return eim__store_dberr(s, rc, "reading the data version");
	}
	*ret = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

uint64_t eim_store_local_changes(const struct eim_store *s)
{
	/* Rows changed by INSERT/UPDATE/DELETE on this connection, which
	 * PRAGMA data_version does not see. */
	return (uint64_t)sqlite3_total_changes64(s->db);
}

void eim_store_close(struct eim_store *s)
{
	if (!s)
		return;
	/* A transaction the caller left open was never committed. */
	eim_store_tx_rollback(s);
	/* Attempts counted in memory are informational; write them if the
	 * file lets us, lose them quietly if not. */
	if (s->db && s->rd_len)
		(void)eim_store_flush(s);
	eim__store_redeliv_free(s);
	eim_free(s->tx_forget);
	for (int i = 0; i < EIM__ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	if (s->db)
		sqlite3_close_v2(s->db);
	eim_buf_done(&s->sign_buf);
	eim_buf_done(&s->view);
	eim_free(s->actor);
	eim_free(s);
}

const char *eim_store_errmsg(const struct eim_store *s)
{
	return s ? s->errmsg : "";
}

unsigned eim_store_schema_version(struct eim_store *s)
{
	return s->version;
}

int eim_store_check(struct eim_store *s)
{
	int err = 0;
	sqlite3_stmt *st;
	const char *r;
	int rc;

	if (!s)
		return EIM_EINVAL;
	st = eim__store_prepare(s, "PRAGMA integrity_check(1)", &err);
	if (!st)
		return err;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = eim__store_dberr(s, rc, "integrity check");
		goto done;
	}
	r = eim__col_text(st, 0);
	if (!r || strcmp(r, "ok") != 0)
		err = eim__store_fail(s, EIM_EDB, "integrity check: %s",
				      r ? r : "(no answer)");
done:
	sqlite3_finalize(st);
	return err;
}
