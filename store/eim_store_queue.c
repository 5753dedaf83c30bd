/*
 * eim_store_queue.c - the per-device package queue and the counterValue.
 *
 * SGP.32 section 2.11.1 (EuiccPackageRequest): every package carries a
 * counterValue that the eUICC accepts only when it is strictly greater than
 * the last one it accepted from that eIM. The eIM is the only holder of the
 * counter (the eUICC never reveals it), so losing or repeating one strands
 * the device. Hence: the counter is advanced and the signed package written
 * in the SAME transaction, and the signer runs inside it. If the process dies
 * before COMMIT, neither exists and the counter was never seen by anyone; if
 * it dies after, both exist. UNIQUE(device, identity, counter) makes a
 * repeat impossible even if this code were wrong.
 *
 * Delivery is FIFO per device with one package in flight. Since a package
 * is only sent when it is the oldest undelivered one, the in-flight package
 * (if any) is always the smallest id with state < 2, and `next` is a single
 * indexed probe on package_pending.
 */
#include "store/eim_store_int.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <stdio.h>
#include <string.h>

void eim__store_package_row(sqlite3_stmt *st, struct eim_store_package *p)
{
	size_t n;

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	if (sqlite3_column_bytes(st, 1) == EIM_STORE_EID_LEN)
		memcpy(p->eid, sqlite3_column_blob(st, 1), EIM_STORE_EID_LEN);
	p->eim_id = eim__col_text(st, 2);
	p->counter = (uint32_t)sqlite3_column_int64(st, 3);
	n = (size_t)sqlite3_column_bytes(st, 4);
	if (n > 0 && n <= EIM_STORE_TXID_MAX) {
		memcpy(p->txid, sqlite3_column_blob(st, 4), n);
		p->txid_len = n;
	}
	p->kind = eim__col_text(st, 5);
	p->summary = eim__col_text(st, 6);
	p->bytes = sqlite3_column_blob(st, 7);
	p->bytes_len = (size_t)sqlite3_column_bytes(st, 7);
	p->state = (enum eim_store_state)sqlite3_column_int(st, 8);
	p->created_ms = sqlite3_column_int64(st, 9);
	p->sent_ms = sqlite3_column_int64(st, 10);
	p->finished_ms = sqlite3_column_int64(st, 11);
	p->valid_until_ms = sqlite3_column_int64(st, 12);
	p->attempts = (uint32_t)sqlite3_column_int64(st, 13);
}

/* ---- enqueue ----------------------------------------------------------- */

static int check_req(struct eim_store *s, const struct eim_store_enqueue_req *r)
{
	int err;

	if (!r->kind || !r->summary)
		return eim__store_fail(s, EIM_EINVAL,
				       "a package needs a kind and a summary");
	if (r->txid_len > EIM_STORE_TXID_MAX || (r->txid_len && !r->txid))
		return eim__store_fail(s, EIM_EINVAL,
				       "eimTransactionId must be 1..%d bytes",
				       EIM_STORE_TXID_MAX);
	if (r->eim_id && (strlen(r->eim_id) == 0 ||
			  strlen(r->eim_id) > EIM_STORE_EIM_ID_MAX))
		return eim__store_fail(s, EIM_EINVAL,
				       "eimId must be 1..%d bytes",
				       EIM_STORE_EIM_ID_MAX);
	err = eim__store_eid_check(s, r->eid);
	return err;
}

int eim__store_resolve(struct eim_store *s,
		       const struct eim_store_enqueue_req *r,
		       sqlite3_stmt **ret_st)
{
	char text[33];
	int err = 0, rc;
	sqlite3_stmt *st =
		eim__store_stmt(s,
				r->eim_id ? ST_ASSOC_NAMED : ST_ASSOC_MANAGED,
				&err);

	if (!st)
		return err;
	sqlite3_bind_blob(st, 1, r->eid, EIM_STORE_EID_LEN, SQLITE_STATIC);
	if (r->eim_id)
		sqlite3_bind_text(st, 2, r->eim_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "device %s: no such device",
				      eim_store_eid_format(r->eid, text));
	else if (rc != SQLITE_ROW)
		err = eim__store_dberr(s, rc, "looking up the association");
	else if (sqlite3_column_type(st, 1) == SQLITE_NULL)
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "eIM identity '%s' does not exist",
				      r->eim_id);
	else if (sqlite3_column_type(st, 3) == SQLITE_NULL)
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "device %s has no association with "
				      "eIM '%s'",
				      eim_store_eid_format(r->eid, text),
				      eim__col_text(st, 2));
	if (err) {
		sqlite3_reset(st);
		return err;
	}
	*ret_st = st;
	return 0;
}

static int call_signer(struct eim_store *s,
		       const struct eim_store_enqueue_req *r,
		       const struct eim_store_sign_in *in,
		       eim_store_sign_fn sign, void *ctx,
		       struct eim_store_sign_out *out)
{
	char text[33];
	int err;

	eim_buf_reset(&s->sign_buf);
	memset(out, 0, sizeof(*out));
	out->bytes = &s->sign_buf;
	if (r->txid_len) {
		memcpy(out->txid, r->txid, r->txid_len);
		out->txid_len = r->txid_len;
	}
	err = sign(ctx, in, out);
	if (err == 0 && s->sign_buf.err)
		err = s->sign_buf.err;
	if (err)
		return eim__store_fail(
			s, err < 0 ? err : EIM_EINVAL,
			"device %s: signing the package failed: %s",
			eim_store_eid_format(r->eid, text), eim_strerror(err));
	if (s->sign_buf.len == 0 || out->txid_len > EIM_STORE_TXID_MAX)
		return eim__store_fail(s, EIM_EINVAL,
				       "device %s: the signer returned no "
				       "bytes or a bad eimTransactionId",
				       eim_store_eid_format(r->eid, text));
	return 0;
}

/* One package inside the caller's transaction. */
static int enqueue_one(struct eim_store *s,
		       const struct eim_store_enqueue_req *r,
		       eim_store_sign_fn sign, void *ctx, int64_t now,
		       struct eim_store_enqueued *ret)
{
	struct eim_store_sign_in in = {0};
	struct eim_store_sign_out out;
	sqlite3_stmt *a = NULL, *st;
	int64_t device_id, ident_id;
	char text[33];
	int err, rc;

	err = check_req(s, r);
	if (err)
		return err;
	err = eim__store_resolve(s, r, &a);
	if (err)
		return err;
	device_id = sqlite3_column_int64(a, 0);
	ident_id = sqlite3_column_int64(a, 1);
	in.eim_id = eim__col_text(a, 2);
	in.eid = r->eid;
	in.kind = r->kind;
	in.req_ctx = r->sign_ctx;
	if (sqlite3_column_int64(a, 3) >= EIM_STORE_COUNTER_MAX) {
		err = eim__store_fail(
			s, EIM_EEXHAUSTED,
			"device %s with eIM '%s': counterValue %u is used up; "
			"renew the association",
			eim_store_eid_format(r->eid, text), in.eim_id,
			EIM_STORE_COUNTER_MAX);
		goto out;
	}
	in.counter = (uint32_t)sqlite3_column_int64(a, 3) + 1;
	in.has_association_token = sqlite3_column_type(a, 4) != SQLITE_NULL;
	in.association_token = sqlite3_column_int64(a, 4);

	err = call_signer(s, r, &in, sign, ctx, &out);
	if (err)
		goto out;

	st = eim__store_stmt(s, ST_PKG_INSERT, &err);
	if (!st)
		goto out;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, ident_id);
	sqlite3_bind_int64(st, 3, in.counter);
	eim__bind_blob(st, 4, out.txid, out.txid_len);
	sqlite3_bind_text(st, 5, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->summary, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, s->sign_buf.p, (int)s->sign_buf.len,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	if (r->valid_until_ms > 0)
		sqlite3_bind_int64(st, 9, r->valid_until_ms);
	sqlite3_bind_int64(st, 10, sqlite3_column_int64(a, 5));
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		err = eim__store_dberr(s, rc, "storing the package");
		goto out;
	}
	ret->package_id = sqlite3_last_insert_rowid(s->db);

	st = eim__store_stmt(s, ST_COUNTER_SET, &err);
	if (!st)
		goto out;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, ident_id);
	sqlite3_bind_int64(st, 3, in.counter);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		err = eim__store_dberr(s, rc, "advancing the counter");
		goto out;
	}
	err = eim__store_audit(s, "enqueue", r->eid, ret->package_id,
			       "eIM '%s' counter %u kind %s", in.eim_id,
			       in.counter, r->kind);
	if (err)
		goto out;
	ret->counter = in.counter;
	ret->counter_warning = in.counter >= s->opt.counter_warn;
	memcpy(ret->txid, out.txid, sizeof(ret->txid));
	ret->txid_len = out.txid_len;
out:
	sqlite3_reset(a);
	return err;
}

int eim_store_enqueue(struct eim_store *s,
		      const struct eim_store_enqueue_req *req,
		      eim_store_sign_fn sign, void *ctx,
		      struct eim_store_enqueued *ret)
{
	struct eim_store_enqueued r = {0};
	int err;

	if (!s || !req || !sign)
		return EIM_EINVAL;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = enqueue_one(s, req, sign, ctx, eim__store_now(s), &r);
	if (err) {
		eim__store_rollback(s);
		return err;
	}
	err = eim__store_commit(s);
	if (err == 0 && ret)
		*ret = r;
	return err;
}

int eim_store_enqueue_many(struct eim_store *s,
			   const struct eim_store_enqueue_req *reqs, size_t n,
			   size_t batch, eim_store_sign_fn sign, void *ctx,
			   eim_store_progress_fn progress, void *progress_ctx,
			   struct eim_store_enqueued *rets, size_t *ret_done)
{
	struct eim_store_enqueued r;
	char msg[sizeof(s->errmsg)];
	size_t done = 0, i, end;
	int64_t now;
	int err = 0;

	if (!s || (!reqs && n) || !sign)
		return EIM_EINVAL;
	if (batch == 0)
		batch = 1000;
	while (done < n) {
		end = n - done > batch ? done + batch : n;
		err = eim__store_begin(s);
		if (err)
			break;
		now = eim__store_now(s);
		for (i = done; i < end; i++) {
			memset(&r, 0, sizeof(r));
			err = enqueue_one(s, &reqs[i], sign, ctx, now, &r);
			if (err)
				break;
			if (rets)
				rets[i] = r;
		}
		if (err) {
			memcpy(msg, s->errmsg, sizeof(msg));
			eim__store_fail(s, err,
					"request %zu: %s (requests %zu..%zu "
					"not written)",
					i, msg, done, end - 1);
			eim__store_rollback(s);
			break;
		}
		err = eim__store_commit(s);
		if (err)
			break;
		done = end;
		if (progress)
			progress(progress_ctx, done, n);
	}
	if (ret_done)
		*ret_done = done;
	return err;
}

/* ---- delivery ---------------------------------------------------------- */

/*
 * Probes the device's undelivered head. *ret_pkg = 0 when the queue is empty.
 * Pure read: one row of the device index plus one of package_pending.
 */
static int probe(struct eim_store *s, const uint8_t *eid, int64_t *ret_pkg)
{
	char text[33];
	int err = 0, rc;
	sqlite3_stmt *st = eim__store_stmt(s, ST_NEXT_PROBE, &err);

	if (!st)
		return err;
	sqlite3_bind_blob(st, 1, eid, EIM_STORE_EID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_pkg = sqlite3_column_int64(st, 1); /* NULL -> 0 */
	else if (rc == SQLITE_DONE)
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "device %s: no such device",
				      eim_store_eid_format(eid, text));
	else
		err = eim__store_dberr(s, rc, "probing the queue");
	sqlite3_reset(st);
	return err;
}

static int set_state(struct eim_store *s, int64_t id, int state,
		     int64_t sent_ms, int64_t finished_ms, int attempts_inc)
{
	int err = 0, rc;
	sqlite3_stmt *st = eim__store_stmt(s, ST_PKG_SET_STATE, &err);

	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, state);
	if (sent_ms)
		sqlite3_bind_int64(st, 3, sent_ms);
	if (finished_ms)
		sqlite3_bind_int64(st, 4, finished_ms);
	sqlite3_bind_int(st, 5, attempts_inc);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return eim__store_dberr(s, rc, "updating package state");
	return 0;
}

/* Reads a package row into ST_PKG_GET, left positioned on it. */
static int get_row(struct eim_store *s, int64_t id, sqlite3_stmt **ret_st)
{
	int err = 0, rc;
	sqlite3_stmt *st = eim__store_stmt(s, ST_PKG_GET, &err);

	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_st = st;
		return 0;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return eim__store_fail(s, EIM_ENOTFOUND,
				       "package %lld: no "
				       "such package",
				       (long long)id);
	return eim__store_dberr(s, rc, "reading package");
}

/* Copies the row's strings and bytes into s->view; *p points into it. */
static int keep_view(struct eim_store *s, sqlite3_stmt *st,
		     struct eim_store_package *p)
{
	size_t o_eim, o_kind, o_sum, o_bytes;
	const char *t;

	eim__store_package_row(st, p);
	eim_buf_reset(&s->view);
#define KEEP(off, str)                                                         \
	do {                                                                   \
		t = (str) ? (str) : "";                                        \
		off = s->view.len;                                             \
		eim_buf_append(&s->view, t, strlen(t) + 1);                    \
	} while (0)
	KEEP(o_eim, p->eim_id);
	KEEP(o_kind, p->kind);
	KEEP(o_sum, p->summary);
#undef KEEP
	o_bytes = s->view.len;
	eim_buf_append(&s->view, p->bytes, p->bytes_len);
	if (s->view.err)
		return eim__store_fail(s, s->view.err, "out of memory");
	p->eim_id = (const char *)s->view.p + o_eim;
	p->kind = (const char *)s->view.p + o_kind;
	p->summary = (const char *)s->view.p + o_sum;
	p->bytes = s->view.p + o_bytes;
	return 0;
}

/* Inside a transaction: moves the head to sent (or re-sends), expiring. */
static int next_locked(struct eim_store *s, const uint8_t *eid,
		       struct eim_store_package *ret, bool *ret_found)
{
	int64_t id = 0, now = eim__store_now(s);
	struct eim_store_package p;
	sqlite3_stmt *st = NULL;
	int err;

	for (;;) {
		err = probe(s, eid, &id);
		if (err)
			return err;
		if (id == 0) {
			*ret_found = false;
			return 0;
		}
		err = get_row(s, id, &st);
		if (err)
			return err;
		eim__store_package_row(st, &p);
		sqlite3_reset(st);
		if (p.state == EIM_STORE_SENT) {
			err = set_state(s, id, EIM_STORE_SENT, 0, 0, 1);
			if (err == 0)
				err = eim__store_audit(s, "redeliver", eid, id,
						       "attempt %u, counter %u",
						       p.attempts + 1,
						       p.counter);
			break;
		}
		if (p.valid_until_ms > 0 && now >= p.valid_until_ms) {
			/* Validity passed before delivery: never send. */
			err = set_state(s, id, EIM_STORE_EXPIRED, 0, now, 0);
			if (err == 0)
				err = eim__store_audit(
					s, "expire", eid, id,
					"counter %u, valid until %lld",
					p.counter, (long long)p.valid_until_ms);
			if (err)
				return err;
			continue;
		}
		err = set_state(s, id, EIM_STORE_SENT, now, 0, 1);
		if (err == 0)
			err = eim__store_audit(s, "send", eid, id, "counter %u",
					       p.counter);
		break;
	}
	if (err)
		return err;
	err = get_row(s, id, &st);
	if (err)
		return err;
	err = keep_view(s, st, ret);
	sqlite3_reset(st);
	if (err == 0)
		*ret_found = true;
	return err;
}

/* ---- re-deliveries counted in memory ------------------------------------ */

/* Packages with uncounted attempts before eim_store_next writes them all. */
#define EIM__REDELIV_MAX 4096

static size_t redeliv_slot(const struct eim_store *s, int64_t id)
{
	size_t mask = s->rd_cap - 1;
	size_t i = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull >> 32) & mask;

	while (s->rd[i].id != 0 && s->rd[i].id != id)
		i = (i + 1) & mask;
	return i;
}

static struct eim__redeliv *redeliv_find(const struct eim_store *s, int64_t id)
{
	if (s->rd_cap == 0)
		return NULL;
	struct eim__redeliv *e = &s->rd[redeliv_slot(s, id)];
	return e->id == id ? e : NULL;
}

/* Counts one more delivery of package id; EIM_ENOMEM leaves it uncounted. */
static int redeliv_add(struct eim_store *s, int64_t id, const uint8_t *eid)
{
	struct eim__redeliv *e = redeliv_find(s, id);

	if (!e && 2 * (s->rd_len + 1) > s->rd_cap) {
		size_t cap = s->rd_cap ? 2 * s->rd_cap : 64;
		struct eim__redeliv *old = s->rd, *t;
		size_t old_cap = s->rd_cap;

		t = eim_calloc(cap, sizeof(*t));
		if (!t)
			return EIM_ENOMEM;
		s->rd = t;
		s->rd_cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].id)
				s->rd[redeliv_slot(s, old[i].id)] = old[i];
		eim_free(old);
	}
	if (!e) {
		e = &s->rd[redeliv_slot(s, id)];
		e->id = id;
		e->n = 0;
		memcpy(e->eid, eid, EIM_STORE_EID_LEN);
		s->rd_len++;
	}
	e->n++;
	return 0;
}

int eim__store_redeliv_write(struct eim_store *s, int64_t id)
{
	struct eim__redeliv *e = redeliv_find(s, id);
	int err = 0, rc;
	sqlite3_stmt *st;

	if (!e || e->n == 0)
		return 0;
	st = eim__store_stmt(s, ST_PKG_ADD_ATTEMPTS, &err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, e->n);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return eim__store_dberr(s, rc, "counting deliveries");
	if (sqlite3_changes(s->db) == 0)
		return 0; /* the package is gone (device removed) */
	return eim__store_audit(s, "redeliver", e->eid, id, "%u more deliver%s",
				e->n, e->n == 1 ? "y" : "ies");
}

void eim__store_redeliv_forget(struct eim_store *s, int64_t id)
{
	struct eim__redeliv *e = redeliv_find(s, id);

	/* The slot keeps its id (no tombstones needed): n = 0 means none. */
	if (e)
		e->n = 0;
}

void eim__store_redeliv_committed(struct eim_store *s, int64_t id)
{
	if (s->tx_open && s->tx_forget_len == s->tx_forget_cap) {
		size_t cap = s->tx_forget_cap ? 2 * s->tx_forget_cap : 8;
		int64_t *t = eim_realloc(s->tx_forget, cap * sizeof(*t));

		if (t) {
			s->tx_forget = t;
			s->tx_forget_cap = cap;
		}
	}
	/* Out of memory: forget now. Should the transaction then roll back,
	 * these informational counts are lost, never counted twice. */
	if (s->tx_open && s->tx_forget_len < s->tx_forget_cap)
		s->tx_forget[s->tx_forget_len++] = id;
	else
		eim__store_redeliv_forget(s, id);
}

void eim__store_redeliv_free(struct eim_store *s)
{
	eim_free(s->rd);
	s->rd = NULL;
	s->rd_cap = s->rd_len = 0;
}

int eim_store_flush(struct eim_store *s)
{
	int err;

	if (!s)
		return EIM_EINVAL;
	/* Inside the caller's transaction the counts would be forgotten
	 * before it commits, and lost if it rolled back: they wait for a
	 * flush outside it. */
	if (s->rd_len == 0 || s->tx_open)
		return 0;
	err = eim__store_begin(s);
	if (err)
		return err;
	for (size_t i = 0; i < s->rd_cap && err == 0; i++)
		if (s->rd[i].id)
			err = eim__store_redeliv_write(s, s->rd[i].id);
	if (err) {
		eim__store_rollback(s);
		return err;
	}
	err = eim__store_commit(s);
	if (err)
		return err;
	eim__store_redeliv_free(s);
	return 0;
}

int eim_store_note_redelivery(struct eim_store *s, int64_t id,
			      const uint8_t eid[EIM_STORE_EID_LEN])
{
	int err;

	if (!s || id <= 0 || !eid)
		return EIM_EINVAL;
	if (s->rd_len >= EIM__REDELIV_MAX && (err = eim_store_flush(s)))
		return err;
	if ((err = redeliv_add(s, id, eid)))
		return eim__store_fail(s, err, "out of memory");
	return 0;
}

/* Ends a read transaction (COMMIT of a read writes nothing). */
static void end_read(struct eim_store *s)
{
	int err = 0;
	sqlite3_stmt *st = eim__store_stmt(s, ST_COMMIT, &err);

	if (st) {
		(void)sqlite3_step(st);
		sqlite3_reset(st);
	}
	if (sqlite3_get_autocommit(s->db) == 0) {
		st = eim__store_stmt(s, ST_ROLLBACK, &err);
		if (st) {
			(void)sqlite3_step(st);
			sqlite3_reset(st);
		}
	}
}

/*
 * In one read transaction: the head of the device's queue. When it is the
 * package in flight, *ret is filled (a re-delivery: no write needed) and
 * *ret_id is its id; when it is a queued package, *ret_id is its id and
 * *ret_found false (the caller moves it in a write transaction); 0 when
 * the queue is empty.
 */
static int read_head(struct eim_store *s, const uint8_t *eid,
		     struct eim_store_package *ret, bool *ret_found,
		     int64_t *ret_id)
{
	sqlite3_stmt *st = NULL;
	int64_t id = 0;
	int err = 0, rc;

	*ret_found = false;
	/* Inside the caller's transaction its snapshot is the one to read
	 * (and a BEGIN would fail there). */
	if (!s->tx_open) {
		st = eim__store_stmt(s, ST_BEGIN_READ, &err);
		if (!st)
			return err;
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return eim__store_dberr(s, rc,
						"starting a read transaction");
	}
	err = probe(s, eid, &id);
	if (err || id == 0)
		goto out;
	err = get_row(s, id, &st);
	if (err)
		goto out;
	if (sqlite3_column_int(st, 8) == EIM_STORE_SENT) {
		err = keep_view(s, st, ret);
		*ret_found = err == 0;
	}
	sqlite3_reset(st);
out:
	if (!s->tx_open)
		end_read(s);
	if (err == 0)
		*ret_id = id;
	return err;
}

int eim_store_next(struct eim_store *s, const uint8_t eid[EIM_STORE_EID_LEN],
		   struct eim_store_package *ret, bool *ret_found)
{
	struct eim_store_package p;
	bool found = false;
	int64_t id = 0;
	int err;

	if (!s || !eid || !ret || !ret_found)
		return EIM_EINVAL;
	/* The common polls: nothing queued, or the package in flight asked
	 * for again. Both are answered from one read transaction. */
	err = read_head(s, eid, &p, &found, &id);
	if (err)
		return err;
	if (id == 0) {
		*ret_found = false;
		return 0;
	}
	if (found) {
		struct eim__redeliv *e;

		if ((err = eim_store_note_redelivery(s, id, eid)))
			return err;
		e = redeliv_find(s, id);
		p.attempts += e ? e->n : 0;
		*ret = p;
		*ret_found = true;
		return 0;
	}
	err = eim__store_begin(s);
	if (err)
		return err;
	err = next_locked(s, eid, &p, &found);
	if (err) {
		eim__store_rollback(s);
		return err;
	}
	err = eim__store_commit(s);
	if (err)
		return err;
	if (found)
		*ret = p;
	*ret_found = found;
	return 0;
}

int eim_store_cancel(struct eim_store *s, int64_t package_id)
{
	struct eim_store_package p;
	sqlite3_stmt *st = NULL;
	uint8_t eid[EIM_STORE_EID_LEN];
	int err;

	if (!s)
		return EIM_EINVAL;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = get_row(s, package_id, &st);
	if (err)
		goto fail;
	eim__store_package_row(st, &p);
	memcpy(eid, p.eid, sizeof(eid));
	sqlite3_reset(st);
	if (p.state != EIM_STORE_QUEUED) {
		err = eim__store_fail(s, EIM_ESTATE,
				      "package %lld is %s; only queued "
				      "packages can be cancelled",
				      (long long)package_id,
				      eim_store_state_name(p.state));
		goto fail;
	}
	err = set_state(s, package_id, EIM_STORE_CANCELLED, 0,
			eim__store_now(s), 0);
	if (err)
		goto fail;
	err = eim__store_audit(s, "cancel", eid, package_id, "counter %u",
			       p.counter);
	if (err)
		goto fail;
	return eim__store_commit(s);
fail:
	eim__store_rollback(s);
	return err;
}

struct expiring {
	int64_t id;
	uint8_t eid[EIM_STORE_EID_LEN];
};

/* Collects the queued packages whose validity has passed. */
static int collect_expired(struct eim_store *s, int64_t now,
			   struct eim_buf *out)
{
	struct expiring e;
	sqlite3_stmt *st;
	int err = 0, rc;

	st = eim__store_prepare(
		s,
		"SELECT p.id, d.eid FROM package p JOIN device d"
		" ON d.id = p.device_id WHERE p.state = 0"
		" AND p.valid_until_ms IS NOT NULL"
		" AND p.valid_until_ms <= ?1 ORDER BY p.id",
		&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != EIM_STORE_EID_LEN)
			continue;
		e.id = sqlite3_column_int64(st, 0);
		memcpy(e.eid, sqlite3_column_blob(st, 1), sizeof(e.eid));
		eim_buf_append(out, &e, sizeof(e));
	}
	if (rc != SQLITE_DONE)
		err = eim__store_dberr(s, rc, "finding expired packages");
	else if (out->err)
		err = eim__store_fail(s, out->err, "out of memory");
	sqlite3_finalize(st);
	return err;
}

int eim_store_expire(struct eim_store *s, size_t *ret_n)
{
	struct eim_buf list;
	struct expiring e;
	size_t n = 0;
	int64_t now;
	int err;

	if (!s)
		return EIM_EINVAL;
	eim_buf_init(&list);
	err = eim__store_begin(s);
	if (err)
		return err;
	now = eim__store_now(s);
	/* Collect first: SQLite leaves a SELECT undefined when the same
	 * connection changes the rows it walks. */
	err = collect_expired(s, now, &list);
	for (size_t off = 0; err == 0 && off < list.len; off += sizeof(e)) {
		memcpy(&e, list.p + off, sizeof(e));
		err = set_state(s, e.id, EIM_STORE_EXPIRED, 0, now, 0);
		if (err == 0)
			err = eim__store_audit(s, "expire", e.eid, e.id,
					       "validity passed");
		n++;
	}
	eim_buf_done(&list);
	if (err) {
		eim__store_rollback(s);
		return err;
	}
	err = eim__store_commit(s);
	if (err == 0 && ret_n)
		*ret_n = n;
	return err;
}
