/*
 * eim_store_result.c - what devices send back: eUICC package results,
 * notifications, and which of their seqNumbers have been acknowledged.
 *
 * SGP.32 section 2.11.2 (EuiccPackageResult) returns the eimId, counterValue
 * and eimTransactionId of the package it answers, so the service can name
 * the package by (eIM, EID, counter). The IPA may send the same result again
 * (a lost CoAP response, a retry after a reboot), so recording is idempotent:
 * identical bytes from the same device are recognised by UNIQUE(device_id,
 * bytes) and change nothing. seqNumbers of results and notifications go back
 * to the IPA in eimAcknowledgements so that it can delete them from the
 * eUICC; `acked` remembers which were sent.
 */
#include "store/eim_store_int.h"

#include "common/eim_err.h"

#include <stdio.h>
#include <string.h>

static int step_finalize(struct eim_store *s, sqlite3_stmt *st,
			 const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return eim__store_dberr(s, rc, what);
	return 0;
}

/* Finds an earlier identical record in `table`; *ret_id = 0 if none. */
static int find_same(struct eim_store *s, const char *table, int64_t device_id,
		     const uint8_t *bytes, size_t len, int64_t *ret_id,
		     int64_t *ret_pkg)
{
	char sql[160];
	sqlite3_stmt *st;
	int err = 0, rc;

	snprintf(sql, sizeof(sql),
		 "SELECT id, %s FROM %s WHERE device_id = ?1 AND bytes = ?2",
		 strcmp(table, "result") == 0 ? "package_id" : "NULL", table);
	st = eim__store_prepare(s, sql, &err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_blob(st, 2, bytes, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*ret_id = 0;
	if (rc == SQLITE_ROW) {
		*ret_id = sqlite3_column_int64(st, 0);
		if (ret_pkg)
			*ret_pkg = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE) {
		err = eim__store_dberr(s, rc, "looking for a duplicate");
	}
	sqlite3_finalize(st);
	return err;
}

/*
 * The package a result answers: *ret_id = 0 when none matches. A renewed
 * association may hold the same counter twice (one per generation): the
 * newest wins, and a transaction id in the result must agree.
 */
static int match_package(struct eim_store *s, int64_t device_id,
			 const struct eim_store_result_in *in, int64_t *ret_id,
			 int *ret_state)
{
	sqlite3_stmt *st;
	int err = 0, rc;

	*ret_id = 0;
	if (!in->eim_id || in->counter < 0)
		return 0;
	st = eim__store_prepare(s,
				"SELECT p.id, p.state FROM package p"
				" JOIN eim_identity i ON i.id = p.identity_id"
				" WHERE p.device_id = ?1 AND i.eim_id = ?2"
				" AND p.counter = ?3 AND (?4 IS NULL OR"
				" p.txid IS NULL OR p.txid = ?4)"
				" ORDER BY p.generation DESC LIMIT 1",
				&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_text(st, 2, in->eim_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, in->counter);
	eim__bind_blob(st, 4, in->txid, in->txid_len);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_id = sqlite3_column_int64(st, 0);
		*ret_state = sqlite3_column_int(st, 1);
	} else if (rc != SQLITE_DONE) {
		err = eim__store_dberr(s, rc, "matching the result");
	}
	sqlite3_finalize(st);
	return err;
}

static int note_seq(struct eim_store *s, int64_t device_id, int64_t seq)
{
	sqlite3_stmt *st;
	int err = 0;

	if (seq < 0)
		return 0;
	st = eim__store_prepare(s,
				"UPDATE device SET last_seq = ?2 WHERE id = ?1"
				" AND (last_seq IS NULL OR last_seq < ?2)",
				&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, seq);
	return step_finalize(s, st, "recording seqNumber");
}

static int insert_result(struct eim_store *s, int64_t device_id,
			 int64_t package_id,
			 const struct eim_store_result_in *in, int64_t now)
{
	sqlite3_stmt *st;
	int err = 0;

	st = eim__store_prepare(s,
				"INSERT INTO result(device_id, package_id,"
				" bytes, summary, verified, codes, seq_number,"
				" received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
				" ?7, ?8)",
				&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	if (package_id > 0)
		sqlite3_bind_int64(st, 2, package_id);
	sqlite3_bind_blob(st, 3, in->bytes, (int)in->len, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, in->summary, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, in->verified ? 1 : 0);
	eim__bind_text(st, 6, in->codes);
	if (in->seq_number >= 0)
		sqlite3_bind_int64(st, 7, in->seq_number);
	sqlite3_bind_int64(st, 8, now);
	return step_finalize(s, st, "storing the result");
}

static int mark_done(struct eim_store *s, int64_t package_id, int64_t now)
{
	sqlite3_stmt *st;
	int err = 0;

	st = eim__store_prepare(s,
				"UPDATE package SET state = 2, finished_ms = ?2"
				" WHERE id = ?1 AND state = 1",
				&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, package_id);
	sqlite3_bind_int64(st, 2, now);
	return step_finalize(s, st, "finishing the package");
}

static int record_locked(struct eim_store *s,
			 const struct eim_store_result_in *in,
			 struct eim_store_result_out *out)
{
	int64_t device_id = 0, pkg = 0, now = eim__store_now(s);
	int state = -1, err;

	err = eim__store_device_id(s, in->eid, &device_id);
	if (err)
		return err;
	err = find_same(s, "result", device_id, in->bytes, in->len,
			&out->result_id, &out->package_id);
	if (err || out->result_id) {
		out->duplicate = out->result_id != 0;
		return err;
	}
	err = match_package(s, device_id, in, &pkg, &state);
	if (err)
		return err;
	if (pkg && state != EIM_STORE_SENT && state != EIM_STORE_DONE)
		return eim__store_fail(s, EIM_ESTATE,
				       "package %lld is %s and was never sent; "
				       "a result for it is refused",
				       (long long)pkg,
				       eim_store_state_name(state));
	err = insert_result(s, device_id, pkg, in, now);
	if (err)
		return err;
	out->result_id = sqlite3_last_insert_rowid(s->db);
	out->package_id = pkg;
	if (pkg && state == EIM_STORE_SENT)
		err = mark_done(s, pkg, now);
	/* The attempts counted in memory (eim_store_next) are final now:
	 * they go with the result, in its transaction. */
	if (pkg && err == 0)
		err = eim__store_redeliv_write(s, pkg);
	if (err == 0)
		err = note_seq(s, device_id, in->seq_number);
	if (err)
		return err;
	if (!pkg)
		return eim__store_audit(s, "result-unmatched", in->eid, 0,
					"result %lld (eIM '%s', counter %lld)",
					(long long)out->result_id,
					in->eim_id ? in->eim_id : "-",
					(long long)in->counter);
	return eim__store_audit(s, state == EIM_STORE_SENT ? "done" : "result",
				in->eid, pkg, "result %lld, signature %s",
				(long long)out->result_id,
				in->verified ? "verified" : "NOT verified");
}

int eim_store_result_record(struct eim_store *s,
			    const struct eim_store_result_in *in,
			    struct eim_store_result_out *ret)
{
	struct eim_store_result_out out = {0};
	int err;

	if (!s || !in || !in->bytes || in->len == 0 || !in->summary)
		return s ? eim__store_fail(s, EIM_EINVAL,
					   "a result needs bytes and a summary")
			 : EIM_EINVAL;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = record_locked(s, in, &out);
	if (err) {
		eim__store_rollback(s);
		return err;
	}
	if (out.duplicate) {
		/* Nothing was written; end the transaction quietly. */
		eim__store_rollback(s);
	} else {
		err = eim__store_commit(s);
		if (err)
			return err;
		if (out.package_id)
			eim__store_redeliv_committed(s, out.package_id);
	}
	if (ret)
		*ret = out;
	return 0;
}

int eim_store_notification_record(struct eim_store *s,
				  const struct eim_store_notification_in *in,
				  bool *ret_duplicate)
{
	int64_t device_id = 0, same = 0;
	sqlite3_stmt *st;
	int err;

	if (!s || !in || !in->bytes || in->len == 0 || !in->kind ||
	    !in->summary)
		return s ? eim__store_fail(s, EIM_EINVAL,
					   "a notification needs a kind, bytes "
					   "and a summary")
			 : EIM_EINVAL;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = eim__store_device_id(s, in->eid, &device_id);
	if (err)
		goto fail;
	err = find_same(s, "notification", device_id, in->bytes, in->len, &same,
			NULL);
	if (err)
		goto fail;
	if (same) {
		eim__store_rollback(s);
		if (ret_duplicate)
			*ret_duplicate = true;
		return 0;
	}
	st = eim__store_prepare(s,
				"INSERT INTO notification(device_id,"
				" seq_number, kind, bytes, summary,"
				" received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				&err);
	if (!st)
		goto fail;
	sqlite3_bind_int64(st, 1, device_id);
	if (in->seq_number >= 0)
		sqlite3_bind_int64(st, 2, in->seq_number);
	sqlite3_bind_text(st, 3, in->kind, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, in->bytes, (int)in->len, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, in->summary, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, eim__store_now(s));
	err = step_finalize(s, st, "storing the notification");
	if (err == 0)
		err = note_seq(s, device_id, in->seq_number);
	if (err == 0)
		err = eim__store_audit(s, "notification", in->eid, 0,
				       "%s, seqNumber %lld", in->kind,
				       (long long)in->seq_number);
	if (err)
		goto fail;
	err = eim__store_commit(s);
	if (err == 0 && ret_duplicate)
		*ret_duplicate = false;
	return err;
fail:
	eim__store_rollback(s);
	return err;
}

int eim_store_acks_pending(struct eim_store *s,
			   const uint8_t eid[EIM_STORE_EID_LEN], int64_t *seqs,
			   size_t cap, size_t *ret_n)
{
	int64_t device_id = 0;
	sqlite3_stmt *st;
	size_t n = 0;
	int err, rc;

	if (!s || !eid || (!seqs && cap) || !ret_n)
		return EIM_EINVAL;
	err = eim__store_device_id(s, eid, &device_id);
	if (err)
		return err;
	st = eim__store_prepare(s,
				"SELECT seq_number FROM result WHERE"
				" device_id = ?1 AND acked = 0 AND seq_number"
				" IS NOT NULL UNION SELECT seq_number FROM"
				" notification WHERE device_id = ?1 AND"
				" acked = 0 AND seq_number IS NOT NULL"
				" ORDER BY 1 LIMIT ?2",
				&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < cap)
		seqs[n++] = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = eim__store_dberr(s, rc, "listing acknowledgements");
	sqlite3_finalize(st);
	if (err == 0)
		*ret_n = n;
	return err;
}

int eim_store_acks_done(struct eim_store *s,
			const uint8_t eid[EIM_STORE_EID_LEN],
			const int64_t *seqs, size_t n)
{
	static const char *const tables[] = {"result", "notification"};
	int64_t device_id = 0;
	sqlite3_stmt *st;
	char sql[128];
	int err;

	if (!s || !eid || (!seqs && n))
		return EIM_EINVAL;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = eim__store_device_id(s, eid, &device_id);
	for (size_t t = 0; err == 0 && t < 2; t++) {
		snprintf(sql, sizeof(sql),
			 "UPDATE %s SET acked = 1 WHERE device_id = ?1"
			 " AND seq_number = ?2",
			 tables[t]);
		st = eim__store_prepare(s, sql, &err);
		for (size_t i = 0; st && err == 0 && i < n; i++) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, device_id);
			sqlite3_bind_int64(st, 2, seqs[i]);
			if (sqlite3_step(st) != SQLITE_DONE)
				err = eim__store_dberr(
					s, sqlite3_errcode(s->db),
					"recording acknowledgements");
		}
		sqlite3_finalize(st);
	}
	if (err == 0)
		err = eim__store_audit(s, "ack", eid, 0,
				       "%zu seqNumber(s) acknowledged", n);
	if (err) {
		eim__store_rollback(s);
		return err;
	}
	return eim__store_commit(s);
}

/* Hands each row of a result SELECT (9 columns, see below) to cb. */
static int result_rows(struct eim_store *s, sqlite3_stmt *st,
		       eim_store_result_cb cb, void *ctx)
{
	struct eim_store_result r;
	int err = 0, rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(st, 0);
		r.package_id = sqlite3_column_int64(st, 1);
		if (sqlite3_column_bytes(st, 2) == EIM_STORE_EID_LEN)
			memcpy(r.eid, sqlite3_column_blob(st, 2),
			       EIM_STORE_EID_LEN);
		r.bytes = sqlite3_column_blob(st, 3);
		r.len = (size_t)sqlite3_column_bytes(st, 3);
		r.summary = eim__col_text(st, 4);
		r.codes = eim__col_text(st, 5);
		r.verified = sqlite3_column_int(st, 6) != 0;
		r.seq_number = sqlite3_column_type(st, 7) == SQLITE_NULL
				       ? -1
				       : sqlite3_column_int64(st, 7);
		r.received_ms = sqlite3_column_int64(st, 8);
		err = cb(ctx, &r);
		if (err)
			break;
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = eim__store_dberr(s, rc, "listing results");
	return err;
}

int eim_store_result_list(struct eim_store *s, const uint8_t *eid,
			  int64_t package_id, eim_store_result_cb cb, void *ctx)
{
	int64_t device_id = 0;
	sqlite3_stmt *st;
	int err = 0;

	if (!s || !cb || (!eid && package_id <= 0))
		return EIM_EINVAL;
	if (eid) {
		err = eim__store_device_id(s, eid, &device_id);
		if (err)
			return err;
	}
	/* Two texts so that each uses its index (device prefix of the
	 * UNIQUE, or result_package). */
	st = eim__store_prepare(
		s,
		eid ? "SELECT r.id, r.package_id, d.eid, r.bytes, r.summary,"
		      " r.codes, r.verified, r.seq_number, r.received_ms"
		      " FROM result r JOIN device d ON d.id = r.device_id"
		      " WHERE r.device_id = ?1 AND (?2 = 0 OR r.package_id = "
		      "?2)"
		      " ORDER BY r.id"
		    : "SELECT r.id, r.package_id, d.eid, r.bytes, r.summary,"
		      " r.codes, r.verified, r.seq_number, r.received_ms"
		      " FROM result r JOIN device d ON d.id = r.device_id"
		      " WHERE r.package_id = ?2 ORDER BY r.id",
		&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, package_id > 0 ? package_id : 0);
	err = result_rows(s, st, cb, ctx);
	sqlite3_finalize(st);
	return err;
}

int eim_store_result_query(struct eim_store *s,
			   const struct eim_store_filter *f,
			   eim_store_result_cb cb, void *ctx)
{
	int64_t device_id = 0;
	sqlite3_stmt *st;
	int err = 0;

	if (!s || !f || !cb)
		return EIM_EINVAL;
	if (f->eid) {
		err = eim__store_device_id(s, f->eid, &device_id);
		if (err)
			return err;
	}
	st = eim__store_prepare(
		s,
		"SELECT r.id, r.package_id, d.eid, r.bytes, r.summary,"
		" r.codes, r.verified, r.seq_number, r.received_ms"
		" FROM result r JOIN device d ON d.id = r.device_id"
		" WHERE (?1 = 0 OR r.device_id = ?1)"
		" AND (?2 = 0 OR r.received_ms >= ?2)"
		" AND (?3 = 0 OR r.received_ms < ?3)"
		" ORDER BY r.id LIMIT ?4",
		&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, f->from_ms);
	sqlite3_bind_int64(st, 3, f->to_ms);
	sqlite3_bind_int64(st, 4, f->limit ? (int64_t)f->limit : -1);
	err = result_rows(s, st, cb, ctx);
	sqlite3_finalize(st);
	return err;
}
