/*
 * eim_store_bulk.c - queueing a campaign: many packages, signed outside the
 * database's write lock.
 *
 * SGP.32 section 2.11.1: the eUICC accepts a package only when its
 * counterValue is above the last one it accepted from that eIM; gaps are
 * fine, repeats and going backwards are not. eim_store_enqueue keeps that
 * by signing inside the transaction that advances the counter, which
 * serialises every ECDSA signature behind the write lock. Here the counter
 * is reserved in a first transaction, the packages are signed with no lock
 * held (the caller's signer may use all cores), and a second transaction
 * stores them after checking that nothing moved (see eim_store.h for the
 * exact rule). What a crash can leave behind is a reserved counter that no
 * package carries: a gap.
 */
#include "store/eim_store_int.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <stdio.h>
#include <string.h>

/* What step 1 learnt and reserved for one request. */
struct bulk_item {
	int64_t device_id;
	int64_t ident_id;
	int64_t generation;
	bool has_token;
	int64_t token;
	uint32_t counter;
	char eim_id[EIM_STORE_EIM_ID_MAX + 1];
};

struct bulk {
	struct eim_store *s;
	size_t cap;
	struct bulk_item *items;
	struct eim_store_sign_in *ins;
	struct eim_store_sign_out *outs;
	struct eim_buf *bufs;
	int *errs;
	sqlite3_stmt *max_st; /* highest counter queued for an association */
};

static int bulk_init(struct bulk *b, struct eim_store *s, size_t cap)
{
	int err = 0;

	memset(b, 0, sizeof(*b));
	b->s = s;
	b->cap = cap;
	b->items = eim_calloc(cap, sizeof(*b->items));
	b->ins = eim_calloc(cap, sizeof(*b->ins));
	b->outs = eim_calloc(cap, sizeof(*b->outs));
	b->bufs = eim_calloc(cap, sizeof(*b->bufs));
	b->errs = eim_calloc(cap, sizeof(*b->errs));
	if (!b->items || !b->ins || !b->outs || !b->bufs || !b->errs)
		return eim__store_fail(s, EIM_ENOMEM, "out of memory");
	for (size_t i = 0; i < cap; i++)
		eim_buf_init(&b->bufs[i]);
	b->max_st = eim__store_prepare(
		s,
		"SELECT coalesce(max(counter), 0) FROM package WHERE"
		" device_id = ?1 AND identity_id = ?2 AND generation = ?3",
		&err);
	return b->max_st ? 0 : err;
}

static void bulk_done(struct bulk *b)
{
	for (size_t i = 0; b->bufs && i < b->cap; i++)
		eim_buf_done(&b->bufs[i]);
	sqlite3_finalize(b->max_st);
	eim_free(b->items);
	eim_free(b->ins);
	eim_free(b->outs);
	eim_free(b->bufs);
	eim_free(b->errs);
}

static int check_req(struct eim_store *s, const struct eim_store_enqueue_req *r)
{
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
	return eim__store_eid_check(s, r->eid);
}

/*
 * Reads the request's association into *it (counter = the one it holds
 * now). Same lookups and messages as a single enqueue.
 */
static int lookup(struct eim_store *s, const struct eim_store_enqueue_req *r,
		  struct bulk_item *it)
{
	sqlite3_stmt *st = NULL;
	int err = eim__store_resolve(s, r, &st);

	if (err)
		return err;
	int64_t c = sqlite3_column_int64(st, 3);
	it->device_id = sqlite3_column_int64(st, 0);
	it->ident_id = sqlite3_column_int64(st, 1);
	snprintf(it->eim_id, sizeof(it->eim_id), "%s", eim__col_text(st, 2));
	it->has_token = sqlite3_column_type(st, 4) != SQLITE_NULL;
	it->token = sqlite3_column_int64(st, 4);
	it->generation = sqlite3_column_int64(st, 5);
	/* Out-of-range values are refused when one is taken. */
	it->counter = c < 0			  ? 0
		      : c > EIM_STORE_COUNTER_MAX ? EIM_STORE_COUNTER_MAX
						  : (uint32_t)c;
	sqlite3_reset(st);
	return 0;
}

/* Advances the association's counter to it->counter + 1 and keeps it. */
static int take_counter(struct eim_store *s,
			const struct eim_store_enqueue_req *r,
			struct bulk_item *it)
{
	char text[33];
	int err = 0, rc;
	sqlite3_stmt *st;

	if (it->counter >= EIM_STORE_COUNTER_MAX)
		return eim__store_fail(
			s, EIM_EEXHAUSTED,
			"device %s with eIM '%s': counterValue %u is used up; "
			"renew the association",
			eim_store_eid_format(r->eid, text), it->eim_id,
			EIM_STORE_COUNTER_MAX);
	st = eim__store_stmt(s, ST_COUNTER_SET, &err);
	if (!st)
		return err;
	it->counter++;
	sqlite3_bind_int64(st, 1, it->device_id);
	sqlite3_bind_int64(st, 2, it->ident_id);
	sqlite3_bind_int64(st, 3, it->counter);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return eim__store_dberr(s, rc, "reserving the counter");
	return 0;
}

/* Step 1: one transaction that reserves a counter for reqs[0..m). */
static int reserve(struct bulk *b, const struct eim_store_enqueue_req *reqs,
		   size_t m, size_t *ret_failed)
{
	struct eim_store *s = b->s;
	size_t i;
	int err = eim__store_begin(s);

	if (err)
		return err;
	for (i = 0; i < m; i++) {
		if ((err = check_req(s, &reqs[i])) ||
		    (err = lookup(s, &reqs[i], &b->items[i])) ||
		    (err = take_counter(s, &reqs[i], &b->items[i])))
			break;
	}
	if (err) {
		*ret_failed = i;
		eim__store_rollback(s);
		return err;
	}
	return eim__store_commit(s);
}

static void sign_in_of(const struct bulk_item *it,
		       const struct eim_store_enqueue_req *r,
		       struct eim_store_sign_in *in)
{
	memset(in, 0, sizeof(*in));
	in->eim_id = it->eim_id;
	in->eid = r->eid;
	in->counter = it->counter;
	in->has_association_token = it->has_token;
	in->association_token = it->token;
	in->kind = r->kind;
	in->req_ctx = r->sign_ctx;
}

static void sign_out_of(struct eim_buf *buf,
			const struct eim_store_enqueue_req *r,
			struct eim_store_sign_out *out)
{
	eim_buf_reset(buf);
	memset(out, 0, sizeof(*out));
	out->bytes = buf;
	if (r->txid_len) {
		memcpy(out->txid, r->txid, r->txid_len);
		out->txid_len = r->txid_len;
	}
}

/* The same checks of a signer's output as a single enqueue makes. */
static int check_signed(struct eim_store *s,
			const struct eim_store_enqueue_req *r, int err,
			const struct eim_store_sign_out *out)
{
	char text[33];

	if (err == 0 && out->bytes->err)
		err = out->bytes->err;
	if (err)
		return eim__store_fail(
			s, err < 0 ? err : EIM_EINVAL,
			"device %s: signing the package failed: %s",
			eim_store_eid_format(r->eid, text), eim_strerror(err));
	if (out->bytes->len == 0 || out->txid_len > EIM_STORE_TXID_MAX)
		return eim__store_fail(s, EIM_EINVAL,
				       "device %s: the signer returned no "
				       "bytes or a bad eimTransactionId",
				       eim_store_eid_format(r->eid, text));
	return 0;
}

/* Step 2: every signature of the batch, no transaction open. */
static int sign_all(struct bulk *b, const struct eim_store_enqueue_req *reqs,
		    size_t m, eim_store_sign_many_fn sign_many, void *ctx,
		    size_t *ret_failed)
{
	int err;

	for (size_t i = 0; i < m; i++) {
		sign_in_of(&b->items[i], &reqs[i], &b->ins[i]);
		sign_out_of(&b->bufs[i], &reqs[i], &b->outs[i]);
		/* Room for a typical package, so that signer threads rarely
		 * need to grow a buffer. */
		eim_buf_reserve(&b->bufs[i], 512);
		b->errs[i] = 0;
	}
	err = sign_many(ctx, b->ins, b->outs, b->errs, m);
	if (err) {
		*ret_failed = 0;
		return eim__store_fail(b->s, err < 0 ? err : EIM_EINVAL,
				       "signing the packages failed: %s",
				       eim_strerror(err));
	}
	for (size_t i = 0; i < m; i++) {
		err = check_signed(b->s, &reqs[i], b->errs[i], &b->outs[i]);
		if (err) {
			*ret_failed = i;
			return err;
		}
	}
	return 0;
}

/* Highest counter queued so far for the item's association generation. */
static int max_queued(struct bulk *b, const struct bulk_item *it, int64_t *ret)
{
	int rc;

	sqlite3_reset(b->max_st);
	sqlite3_bind_int64(b->max_st, 1, it->device_id);
	sqlite3_bind_int64(b->max_st, 2, it->ident_id);
	sqlite3_bind_int64(b->max_st, 3, it->generation);
	rc = sqlite3_step(b->max_st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(b->max_st);
		return eim__store_dberr(b->s, rc, "reading the queue");
	}
	*ret = sqlite3_column_int64(b->max_st, 0);
	sqlite3_reset(b->max_st);
	return 0;
}

/*
 * Inside step 3: keeps the reserved counter when still safe (see
 * eim_store.h), otherwise takes a fresh one and signs again with `sign`.
 * *ret_resigned says which.
 */
static int confirm(struct bulk *b, const struct eim_store_enqueue_req *r,
		   size_t i, eim_store_sign_fn sign, void *ctx,
		   bool *ret_resigned)
{
	struct bulk_item *it = &b->items[i], now;
	int64_t top = 0;
	int err;

	if ((err = lookup(b->s, r, &now)))
		return err;
	if (now.device_id == it->device_id && now.ident_id == it->ident_id &&
	    now.generation == it->generation &&
	    now.has_token == it->has_token &&
	    (!now.has_token || now.token == it->token) &&
	    now.counter >= it->counter) {
		if ((err = max_queued(b, it, &top)))
			return err;
		if (top < it->counter) {
			*ret_resigned = false;
			return 0;
		}
	}
	/* Moved: the reserved value is abandoned (a gap). */
	*it = now;
	if ((err = take_counter(b->s, r, it)))
		return err;
	sign_in_of(it, r, &b->ins[i]);
	sign_out_of(&b->bufs[i], r, &b->outs[i]);
	err = sign(ctx, &b->ins[i], &b->outs[i]);
	if ((err = check_signed(b->s, r, err, &b->outs[i])))
		return err;
	*ret_resigned = true;
	return 0;
}

static int insert(struct bulk *b, const struct eim_store_enqueue_req *r,
		  size_t i, int64_t now, struct eim_store_enqueued *ret)
{
	struct eim_store *s = b->s;
	const struct bulk_item *it = &b->items[i];
	const struct eim_store_sign_out *out = &b->outs[i];
	int err = 0, rc;
	sqlite3_stmt *st = eim__store_stmt(s, ST_PKG_INSERT, &err);

	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, it->device_id);
	sqlite3_bind_int64(st, 2, it->ident_id);
	sqlite3_bind_int64(st, 3, it->counter);
	eim__bind_blob(st, 4, out->txid, out->txid_len);
	sqlite3_bind_text(st, 5, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->summary, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, out->bytes->p, (int)out->bytes->len,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	if (r->valid_until_ms > 0)
		sqlite3_bind_int64(st, 9, r->valid_until_ms);
	sqlite3_bind_int64(st, 10, it->generation);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return eim__store_dberr(s, rc, "storing the package");
	memset(ret, 0, sizeof(*ret));
	ret->package_id = sqlite3_last_insert_rowid(s->db);
	err = eim__store_audit(s, "enqueue", r->eid, ret->package_id,
			       "eIM '%s' counter %u kind %s", it->eim_id,
			       it->counter, r->kind);
	if (err)
		return err;
	ret->counter = it->counter;
	ret->counter_warning = it->counter >= s->opt.counter_warn;
	memcpy(ret->txid, out->txid, sizeof(ret->txid));
	ret->txid_len = out->txid_len;
	return 0;
}

/* Step 3: one transaction that stores the signed batch. */
static int store_all(struct bulk *b, const struct eim_store_enqueue_req *reqs,
		     size_t m, eim_store_sign_fn sign, void *ctx,
		     struct eim_store_enqueued *rets, size_t *ret_failed)
{
	struct eim_store *s = b->s;
	struct eim_store_enqueued r;
	bool resigned;
	size_t i;
	int64_t now;
	int err = eim__store_begin(s);

	if (err)
		return err;
	now = eim__store_now(s);
	for (i = 0; i < m; i++) {
		if ((err = confirm(b, &reqs[i], i, sign, ctx, &resigned)) ||
		    (err = insert(b, &reqs[i], i, now, &r)))
			break;
		if (rets)
			rets[i] = r;
	}
	if (err) {
		*ret_failed = i;
		eim__store_rollback(s);
		return err;
	}
	return eim__store_commit(s);
}

int eim_store_enqueue_bulk(struct eim_store *s,
			   const struct eim_store_enqueue_req *reqs, size_t n,
			   size_t batch, eim_store_sign_many_fn sign_many,
			   eim_store_sign_fn sign, void *ctx,
			   eim_store_progress_fn progress, void *progress_ctx,
			   struct eim_store_enqueued *rets, size_t *ret_done)
{
	char msg[sizeof(s->errmsg)];
	struct bulk b;
	size_t done = 0, failed = 0;
	int err = 0;

	if (ret_done)
		*ret_done = 0;
	if (!s || (!reqs && n) || !sign_many || !sign)
		return EIM_EINVAL;
	/* Its reservations must be committed before anything is signed (a
	 * counter is signed once): inside a caller's transaction, which may
	 * still roll back, they would not be. */
	if (s->tx_open)
		return eim__store_fail(s, EIM_ESTATE,
				       "a bulk enqueue cannot run inside a "
				       "transaction");
	if (n == 0)
		return 0;
	if (batch == 0)
		batch = 1000;
	if (batch > n)
		batch = n;
	if ((err = bulk_init(&b, s, batch)))
		goto out;
	while (done < n) {
		size_t m = n - done > batch ? batch : n - done;
		failed = SIZE_MAX;
		err = reserve(&b, reqs + done, m, &failed);
		if (!err)
			err = sign_all(&b, reqs + done, m, sign_many, ctx,
				       &failed);
		if (!err)
			err = store_all(&b, reqs + done, m, sign, ctx,
					rets ? rets + done : NULL, &failed);
		if (err) {
			if (failed != SIZE_MAX) {
				memcpy(msg, s->errmsg, sizeof(msg));
				eim__store_fail(s, err,
						"request %zu: %s (requests "
						"%zu..%zu not written)",
						done + failed, msg, done,
						done + m - 1);
			}
			break;
		}
		done += m;
		if (progress)
			progress(progress_ctx, done, n);
	}
out:
	bulk_done(&b);
	if (ret_done)
		*ret_done = done;
	return err;
}
