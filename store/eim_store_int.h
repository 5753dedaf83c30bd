/*
 * eim_store_int.h - internals shared by the store/ source files.
 *
 * The handle, the cache of prepared statements for the hot paths, the error
 * message helpers and the transaction helpers. Nothing here is part of the
 * public API (eim_store.h).
 */
#ifndef EIM_STORE_INT_H
#define EIM_STORE_INT_H

#include "store/eim_store.h"

#include "common/eim_bytes.h"

#include <sqlite3.h>
#include <stdarg.h>

/*
 * Cached statements: X(id, sql). Prepared on first use with
 * SQLITE_PREPARE_PERSISTENT and kept until close, so the hot paths (next,
 * enqueue, credential lookup) never re-parse SQL.
 */
#define EIM__STORE_STMTS(X)                                                    \
	X(ST_BEGIN, "BEGIN IMMEDIATE")                                         \
	X(ST_COMMIT, "COMMIT")                                                 \
	X(ST_ROLLBACK, "ROLLBACK")                                             \
	X(ST_DEVICE_ID, "SELECT id FROM device WHERE eid = ?1")                \
	X(ST_NEXT_PROBE,                                                       \
	  "SELECT d.id, (SELECT p.id FROM package p WHERE p.device_id = d.id"  \
	  " AND p.state < 2 ORDER BY p.id LIMIT 1) FROM device d"              \
	  " WHERE d.eid = ?1")                                                 \
	X(ST_PKG_GET,                                                          \
	  "SELECT p.id, d.eid, i.eim_id, p.counter, p.txid, p.kind,"           \
	  " p.summary, p.bytes, p.state, p.created_ms, p.sent_ms,"             \
	  " p.finished_ms, p.valid_until_ms, p.attempts FROM package p"        \
	  " JOIN device d ON d.id = p.device_id"                               \
	  " JOIN eim_identity i ON i.id = p.identity_id WHERE p.id = ?1")      \
	X(ST_PKG_SET_STATE,                                                    \
	  "UPDATE package SET state = ?2, sent_ms = coalesce(?3, sent_ms),"    \
	  " finished_ms = coalesce(?4, finished_ms), attempts = attempts + ?5" \
	  " WHERE id = ?1")                                                    \
	X(ST_ASSOC_MANAGED,                                                    \
	  "SELECT d.id, i.id, i.eim_id, a.counter, a.token, a.generation"      \
	  " FROM device d"                                                     \
	  " JOIN eim_identity i ON i.id = d.identity_id"                       \
	  " LEFT JOIN association a ON a.device_id = d.id"                     \
	  " AND a.identity_id = i.id WHERE d.eid = ?1")                        \
	X(ST_ASSOC_NAMED,                                                      \
	  "SELECT d.id, i.id, i.eim_id, a.counter, a.token, a.generation"      \
	  " FROM device d"                                                     \
	  " LEFT JOIN eim_identity i ON i.eim_id = ?2"                         \
	  " LEFT JOIN association a ON a.device_id = d.id"                     \
	  " AND a.identity_id = i.id WHERE d.eid = ?1")                        \
	X(ST_PKG_INSERT,                                                       \
	  "INSERT INTO package(device_id, identity_id, counter, txid, kind,"   \
	  " summary, bytes, state, created_ms, valid_until_ms, generation)"    \
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10)")              \
	X(ST_COUNTER_SET,                                                      \
	  "UPDATE association SET counter = ?3 WHERE device_id = ?1"           \
	  " AND identity_id = ?2")                                             \
	X(ST_AUDIT_INSERT,                                                     \
	  "INSERT INTO audit(at_ms, actor, action, eid, package_id, detail)"   \
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                  \
	X(ST_CRED_LOOKUP, "SELECT c.secret, d.eid FROM credential c"           \
			  " JOIN device d ON d.id = c.device_id"               \
			  " WHERE c.kind = ?1 AND c.ident = ?2"                \
			  " UNION ALL SELECT NULL, d.eid FROM credential c"    \
			  " JOIN credential_grant g ON g.credential_id = c.id" \
			  " JOIN device d ON d.id = g.device_id"               \
			  " WHERE c.kind = ?1 AND c.ident = ?2")               \
	X(ST_BEGIN_READ, "BEGIN")                                              \
	X(ST_DATA_VERSION, "PRAGMA data_version")                              \
	X(ST_PKG_ADD_ATTEMPTS,                                                 \
	  "UPDATE package SET attempts = attempts + ?2 WHERE id = ?1")         \
	X(ST_SAVEPOINT, "SAVEPOINT eim_part")                                  \
	X(ST_RELEASE, "RELEASE eim_part")                                      \
	X(ST_ROLLBACK_TO, "ROLLBACK TO eim_part")

enum eim__store_stmt_id {
#define EIM__STMT_ENUM(id, sql) id,
	EIM__STORE_STMTS(EIM__STMT_ENUM)
#undef EIM__STMT_ENUM
	EIM__ST_COUNT
};

/* Deliveries of an in-flight package counted in memory (eim_store_next). */
struct eim__redeliv {
	int64_t id; /* package id, 0 = free slot */
	uint32_t n; /* deliveries not yet added to package.attempts */
	uint8_t eid[EIM_STORE_EID_LEN];
};

struct eim_store {
	sqlite3 *db;
	struct eim_store_options opt; /* opt.actor points at actor below */
	char *actor;
	unsigned version;
	/* Transactions opened by eim__store_begin and not yet ended: 0 or 1
	 * outside an explicit transaction, any depth inside one (each is a
	 * savepoint then). */
	int in_txn;
	/*
	 * The caller's explicit transaction (eim_store_tx_begin): open, and
	 * lost (SQLite rolled it back after an error; holds that error), so
	 * that nothing more is written in it and its commit fails.
	 */
	bool tx_open;
	int tx_lost;
	/* Commits that changed rows (eim_store_commits), and the row count
	 * when the current transaction began. */
	uint64_t n_commits;
	int64_t changes_at_begin;
	/* Re-delivery counts written inside the explicit transaction: their
	 * memory counts are dropped only once it commits. */
	int64_t *tx_forget;
	size_t tx_forget_len, tx_forget_cap;
	int64_t busy_since_us; /* start of the current wait for a lock */
	sqlite3_stmt *stmt[EIM__ST_COUNT];
	struct eim_buf sign_buf; /* signer output, reused */
	struct eim_buf view;	 /* backing store of eim_store_next() views */
	/* Re-deliveries not yet written (eim_store_flush): an open-addressing
	 * table keyed by package id, rd_cap a power of two (0 = none yet). */
	struct eim__redeliv *rd;
	size_t rd_cap, rd_len;
	char errmsg[512];
};

/* Sets the error message and returns err. */
int eim__store_fail(struct eim_store *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Maps an SQLite result code to an EIM_E* code (BUSY -> EIM_EBUSY, NOMEM ->
 * EIM_ENOMEM, others -> EIM_EDB), records "what: sqlite message", returns it.
 */
int eim__store_dberr(struct eim_store *s, int rc, const char *what);
/* Returns the cached statement (reset, bindings cleared) or NULL on error
 * (message set; *ret_err holds the code). */
sqlite3_stmt *eim__store_stmt(struct eim_store *s, enum eim__store_stmt_id id,
			      int *ret_err);
/*
 * Looks up the request's association (device, eIM identity, counter,
 * token, generation: columns 0-5 of ST_ASSOC_NAMED/ST_ASSOC_MANAGED) and
 * leaves *ret_st on its row, so that the text columns stay valid; the
 * caller resets it. Errors (message set): EIM_ENOTFOUND for an unknown
 * device, identity or association, EIM_EDB/EIM_EBUSY/EIM_ENOMEM.
 * (eim_store_queue.c; the single and the bulk enqueue share it.)
 */
int eim__store_resolve(struct eim_store *s,
		       const struct eim_store_enqueue_req *r,
		       sqlite3_stmt **ret_st);
/* Prepares a one-off statement; NULL on error with *ret_err set. */
sqlite3_stmt *eim__store_prepare(struct eim_store *s, const char *sql,
				 int *ret_err);

/*
 * BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback never fails loudly). Inside
 * the caller's explicit transaction (s->tx_open) they are SAVEPOINT /
 * RELEASE / ROLLBACK TO instead: each store call stays all or nothing, and
 * its changes reach the file with the caller's eim_store_tx_commit().
 */
int eim__store_begin(struct eim_store *s);
int eim__store_commit(struct eim_store *s);
void eim__store_rollback(struct eim_store *s);

int64_t eim__store_now(struct eim_store *s);

/* Checks the EID shape (all nibbles decimal): 0 or EIM_EMALFORMED. */
int eim__store_eid_check(struct eim_store *s, const uint8_t *eid);
/* Device row id for an EID: 0, EIM_ENOTFOUND (message names the EID). */
int eim__store_device_id(struct eim_store *s, const uint8_t *eid,
			 int64_t *ret_id);

/* Identity row id for an eimId: 0, EIM_ENOTFOUND (message names it). */
int eim__store_identity_id(struct eim_store *s, const char *eim_id,
			   int64_t *ret_id);
/* Steps a one-off write statement to completion and finalizes it. */
int eim__store_step_done(struct eim_store *s, sqlite3_stmt *st,
			 const char *what);

/* Appends one audit row inside the caller's transaction. */
int eim__store_audit(struct eim_store *s, const char *action,
		     const uint8_t *eid, int64_t package_id, const char *fmt,
		     ...) __attribute__((format(printf, 5, 6)));

/* Text column or NULL. */
static inline const char *eim__col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Binds a blob (NULL pointer or zero length binds SQL NULL). */
static inline int eim__bind_blob(sqlite3_stmt *st, int i, const void *p,
				 size_t n)
{
	if (!p || n == 0)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
}

static inline int eim__bind_text(sqlite3_stmt *st, int i, const char *t)
{
	if (!t)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC);
}

/*
 * Inside the caller's write transaction: adds the re-deliveries counted in
 * memory for package `id` to its attempts (nothing if none). The memory
 * count stays until eim__store_redeliv_forget(), called after the COMMIT,
 * so that a rollback loses nothing.
 */
int eim__store_redeliv_write(struct eim_store *s, int64_t id);
void eim__store_redeliv_forget(struct eim_store *s, int64_t id);
/*
 * After eim__store_commit() of a part that wrote the count of package id:
 * forgets it now, or, inside an explicit transaction, when that commits
 * (a rollback keeps it).
 */
void eim__store_redeliv_committed(struct eim_store *s, int64_t id);
/* Frees the table (close); eim_store_flush() first to keep the counts. */
void eim__store_redeliv_free(struct eim_store *s);

/* Fills a package view from a row shaped like ST_PKG_GET. */
void eim__store_package_row(sqlite3_stmt *st, struct eim_store_package *p);

#endif
