/*
 * eim_store_query.c - what operators ask of the store (the CLI's listings)
 * and the audit trail.
 *
 * Listings are read-only snapshots: each is one SELECT, so it sees one
 * consistent state of the file even while the server writes. The WHERE
 * clause is assembled from fixed fragments for the filters actually set
 * (values are always bound parameters), because a catch-all form such as
 * "(?1 = 0 OR device_id = ?1)" makes SQLite's planner scan the whole table
 * instead of using package_state_created or the device-prefixed UNIQUE
 * index of package.
 */
#include "store/eim_store_int.h"

#include "common/eim_err.h"

#include <stdio.h>
#include <string.h>

void eim_store_filter_init(struct eim_store_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->state = -1;
}

/*
 * Appends "p.device_id = ?1", "p.state = ?2", "p.created_ms >= ?3" and
 * "p.created_ms < ?4" for the filters that are set, then the order and
 * "LIMIT ?5". Parameters of absent fragments are simply never bound.
 */
static void filter_sql(char *sql, size_t cap, const char *head,
		       const struct eim_store_filter *f)
{
	const char *sep = " WHERE ";
	size_t n = (size_t)snprintf(sql, cap, "%s", head);

#define ADD(cond, frag)                                                        \
	do {                                                                   \
		if ((cond) && n < cap) {                                       \
			n += (size_t)snprintf(sql + n, cap - n, "%s%s", sep,   \
					      frag);                           \
			sep = " AND ";                                         \
		}                                                              \
	} while (0)
	ADD(f->eid, "p.device_id = ?1");
	ADD(f->state >= 0, "p.state = ?2");
	ADD(f->from_ms > 0, "p.created_ms >= ?3");
	ADD(f->to_ms > 0, "p.created_ms < ?4");
#undef ADD
	if (n < cap)
		snprintf(sql + n, cap - n, " ORDER BY p.id LIMIT ?5");
}

static void bind_filter(sqlite3_stmt *st, const struct eim_store_filter *f,
			int64_t device_id)
{
	if (f->eid)
		sqlite3_bind_int64(st, 1, device_id);
	if (f->state >= 0)
		sqlite3_bind_int(st, 2, f->state);
	if (f->from_ms > 0)
		sqlite3_bind_int64(st, 3, f->from_ms);
	if (f->to_ms > 0)
		sqlite3_bind_int64(st, 4, f->to_ms);
	sqlite3_bind_int64(st, 5, f->limit ? (sqlite3_int64)f->limit : -1);
}

static int filter_device(struct eim_store *s, const struct eim_store_filter *f,
			 int64_t *ret_id)
{
	*ret_id = 0;
	if (!f->eid)
		return 0;
	return eim__store_device_id(s, f->eid, ret_id);
}

#define PKG_COLUMNS                                                            \
	"SELECT p.id, d.eid, i.eim_id, p.counter, p.txid, p.kind,"             \
	" p.summary, p.bytes, p.state, p.created_ms, p.sent_ms,"               \
	" p.finished_ms, p.valid_until_ms, p.attempts FROM package p"          \
	" JOIN device d ON d.id = p.device_id"                                 \
	" JOIN eim_identity i ON i.id = p.identity_id"

static int walk_packages(struct eim_store *s, sqlite3_stmt *st,
			 eim_store_package_cb cb, void *ctx, int *ret_rows)
{
	struct eim_store_package p;
	int err = 0, rc;

	*ret_rows = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		(*ret_rows)++;
		eim__store_package_row(st, &p);
		err = cb(ctx, &p);
		if (err)
			return err;
	}
	if (rc != SQLITE_DONE)
		return eim__store_dberr(s, rc, "listing packages");
	return 0;
}

int eim_store_package_list(struct eim_store *s,
			   const struct eim_store_filter *f,
			   eim_store_package_cb cb, void *ctx)
{
	int64_t device_id;
	sqlite3_stmt *st;
	char sql[640];
	int err = 0, rows;

	if (!s || !f || !cb)
		return EIM_EINVAL;
	err = filter_device(s, f, &device_id);
	if (err)
		return err;
	filter_sql(sql, sizeof(sql), PKG_COLUMNS, f);
	st = eim__store_prepare(s, sql, &err);
	if (!st)
		return err;
	bind_filter(st, f, device_id);
	err = walk_packages(s, st, cb, ctx, &rows);
	sqlite3_finalize(st);
	return err;
}

int eim_store_package_get(struct eim_store *s, int64_t id,
			  eim_store_package_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	int err = 0, rows = 0;

	if (!s || !cb)
		return EIM_EINVAL;
	st = eim__store_prepare(s, PKG_COLUMNS " WHERE p.id = ?1", &err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, id);
	err = walk_packages(s, st, cb, ctx, &rows);
	sqlite3_finalize(st);
	if (err == 0 && rows == 0)
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "package %lld: no such package",
				      (long long)id);
	return err;
}

int eim_store_package_counts(struct eim_store *s, const uint8_t *eid,
			     uint64_t ret[EIM_STORE_STATE_COUNT])
{
	uint64_t counts[EIM_STORE_STATE_COUNT] = {0};
	int64_t device_id = 0;
	sqlite3_stmt *st;
	int err = 0, rc, state;

	if (!s || !ret)
		return EIM_EINVAL;
	if (eid) {
		err = eim__store_device_id(s, eid, &device_id);
		if (err)
			return err;
	}
	st = eim__store_prepare(s,
				eid ? "SELECT state, count(*) FROM package"
				      " WHERE device_id = ?1 GROUP BY state"
				    : "SELECT state, count(*) FROM package"
				      " GROUP BY state",
				&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		state = sqlite3_column_int(st, 0);
		if (state >= 0 && state < EIM_STORE_STATE_COUNT)
			counts[state] = (uint64_t)sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE)
		err = eim__store_dberr(s, rc, "counting packages");
	sqlite3_finalize(st);
	if (err == 0)
		memcpy(ret, counts, sizeof(counts));
	return err;
}

int eim_store_backlog(struct eim_store *s, size_t n, eim_store_backlog_cb cb,
		      void *ctx)
{
	struct eim_store_backlog b;
	sqlite3_stmt *st;
	int err = 0, rc;

	if (!s || !cb)
		return EIM_EINVAL;
	/*
	 * package_pending holds only undelivered rows, so the grouping reads
	 * the backlog and nothing else, however many packages are done.
	 */
	st = eim__store_prepare(s,
				"SELECT d.eid, min(p.created_ms), count(*)"
				" FROM package p INDEXED BY package_pending"
				" JOIN device d ON d.id = p.device_id"
				" WHERE p.state < 2 GROUP BY p.device_id"
				" ORDER BY 2, 1 LIMIT ?1",
				&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, n ? (sqlite3_int64)n : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&b, 0, sizeof(b));
		if (sqlite3_column_bytes(st, 0) == EIM_STORE_EID_LEN)
			memcpy(b.eid, sqlite3_column_blob(st, 0),
			       EIM_STORE_EID_LEN);
		b.oldest_ms = sqlite3_column_int64(st, 1);
		b.pending = (uint64_t)sqlite3_column_int64(st, 2);
		err = cb(ctx, &b);
		if (err)
			break;
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = eim__store_dberr(s, rc, "listing the backlog");
	sqlite3_finalize(st);
	return err;
}

/* ---- audit ------------------------------------------------------------- */

int eim_store_audit_add(struct eim_store *s, const char *action,
			const uint8_t *eid, const char *detail)
{
	int err;

	if (!s || !action || !*action)
		return s ? eim__store_fail(s, EIM_EINVAL,
					   "an audit entry needs an action")
			 : EIM_EINVAL;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = eim__store_audit(s, action, eid, 0, "%s", detail ? detail : "");
	if (err) {
		eim__store_rollback(s);
		return err;
	}
	return eim__store_commit(s);
}

/* The columns of an audit listing, then the row filter for ?2..?4. */
#define AUDIT_COLUMNS                                                          \
	"SELECT id, at_ms, actor, action, eid, package_id, detail FROM audit"
#define AUDIT_RANGE " AND at_ms >= ?2 AND at_ms < ?3"

int eim_store_audit_list(struct eim_store *s, const struct eim_store_filter *f,
			 eim_store_audit_cb cb, void *ctx)
{
	struct eim_store_audit a;
	int64_t device_id = 0;
	sqlite3_stmt *st;
	int err = 0, rc;

	if (!s || !f || !cb)
		return EIM_EINVAL;
	err = filter_device(s, f, &device_id);
	if (err)
		return err;
	if (f->eid)
		/* Device-level entries, then those about its packages (see
		 * the indexes of schema version 2). */
		st = eim__store_prepare(
			s,
			AUDIT_COLUMNS
			" WHERE package_id IS NULL AND eid = ?1" AUDIT_RANGE
			" UNION ALL " AUDIT_COLUMNS
			" WHERE package_id IN (SELECT id FROM package WHERE"
			" device_id = ?5)" AUDIT_RANGE " ORDER BY 1 LIMIT ?4",
			&err);
	else
		st = eim__store_prepare(s,
					AUDIT_COLUMNS
					" WHERE ?1 IS NULL" AUDIT_RANGE
					" ORDER BY id LIMIT ?4",
					&err);
	if (!st)
		return err;
	eim__bind_blob(st, 1, f->eid, f->eid ? EIM_STORE_EID_LEN : 0);
	sqlite3_bind_int64(st, 2, f->from_ms);
	sqlite3_bind_int64(st, 3, f->to_ms > 0 ? f->to_ms : INT64_MAX);
	sqlite3_bind_int64(st, 4, f->limit ? (sqlite3_int64)f->limit : -1);
	if (f->eid)
		sqlite3_bind_int64(st, 5, device_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		a.id = sqlite3_column_int64(st, 0);
		a.at_ms = sqlite3_column_int64(st, 1);
		a.actor = eim__col_text(st, 2);
		a.action = eim__col_text(st, 3);
		if (sqlite3_column_bytes(st, 4) == EIM_STORE_EID_LEN) {
			a.has_eid = true;
			memcpy(a.eid, sqlite3_column_blob(st, 4),
			       EIM_STORE_EID_LEN);
		}
		a.package_id = sqlite3_column_int64(st, 5);
		a.detail = eim__col_text(st, 6);
		err = cb(ctx, &a);
		if (err)
			break;
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = eim__store_dberr(s, rc, "listing the audit log");
	sqlite3_finalize(st);
	return err;
}
