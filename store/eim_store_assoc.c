/*
 * eim_store_assoc.c - the (eIM identity, EID) association: the counterValue
 * the eIM last used with that eUICC, the associationToken the eUICC gave it,
 * and the eUICC's certificate chain once known (SGP.32 section 2.11.1: the
 * eUICC accepts a package only with a counter above the last one it
 * accepted from that eIM and a signature over the package followed by the
 * token).
 *
 * A counter never goes down, with one exception: renewal. When the eIM is
 * added to the eUICC again (deleteEim + addEim) it gets a NEW token and the
 * counter given in addEim. Every package signed before covered the old
 * token, so none of them can verify any more and none can be replayed, and
 * counting may start again. The store records this as a new generation of
 * the association (the UNIQUE counter constraint on packages includes the
 * generation) and cancels the old generation's queued packages, which
 * could never be accepted.
 */
#include "store/eim_store_int.h"

#include "common/eim_err.h"

#include <stdio.h>
#include <string.h>

struct assoc_row {
	bool exists;
	int64_t counter;
	bool has_token;
	int64_t token;
};

static int assoc_read(struct eim_store *s, int64_t device_id, int64_t ident_id,
		      struct assoc_row *r)
{
	sqlite3_stmt *st;
	int err = 0, rc;

	memset(r, 0, sizeof(*r));
	st = eim__store_prepare(s,
				"SELECT counter, token FROM association WHERE"
				" device_id = ?1 AND identity_id = ?2",
				&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, ident_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r->exists = true;
		r->counter = sqlite3_column_int64(st, 0);
		r->has_token = sqlite3_column_type(st, 1) != SQLITE_NULL;
		r->token = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return eim__store_dberr(s, rc, "reading association");
	return 0;
}

/* Cancels the queued packages of the association's old generation. */
static int cancel_old_generation(struct eim_store *s, int64_t device_id,
				 int64_t ident_id)
{
	static const char *const sql[] = {
		"INSERT INTO audit(at_ms, actor, action, eid, package_id,"
		" detail) SELECT ?3, ?4, 'cancel', d.eid, p.id,"
		" 'association renewed: counter ' || p.counter ||"
		" ' was signed for the old token' FROM package p"
		" JOIN device d ON d.id = p.device_id WHERE p.device_id = ?1"
		" AND p.identity_id = ?2 AND p.state = 0",
		"UPDATE package SET state = 4, finished_ms = ?3"
		" WHERE device_id = ?1 AND identity_id = ?2 AND state = 0",
	};
	sqlite3_stmt *st;
	int64_t now = eim__store_now(s);
	int err = 0;

	for (size_t i = 0; i < 2 && err == 0; i++) {
		st = eim__store_prepare(s, sql[i], &err);
		if (!st)
			break;
		sqlite3_bind_int64(st, 1, device_id);
		sqlite3_bind_int64(st, 2, ident_id);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_text(st, 4, s->actor, -1, SQLITE_STATIC);
		err = eim__store_step_done(s, st, "cancelling old packages");
	}
	return err;
}

static int assoc_apply(struct eim_store *s, const struct eim_store_assoc_set *a,
		       int64_t device_id, int64_t ident_id)
{
	struct assoc_row cur;
	bool renew = false;
	char text[33];
	sqlite3_stmt *st;
	int err;

	err = assoc_read(s, device_id, ident_id, &cur);
	if (err)
		return err;
	if (a->set_counter && cur.exists && cur.counter > (int64_t)a->counter) {
		/* Going down is a renewal only with a new token. */
		renew = a->set_token && a->has_token &&
			(!cur.has_token || cur.token != a->token);
		if (!renew)
			return eim__store_fail(
				s, EIM_ERANGE,
				"device %s with eIM '%s': counter is at %lld "
				"and can only go up (%u would reuse values) "
				"unless a new associationToken is set with it",
				eim_store_eid_format(a->eid, text), a->eim_id,
				(long long)cur.counter, a->counter);
	}
	if (!cur.exists) {
		st = eim__store_prepare(s,
					"INSERT INTO association(device_id,"
					" identity_id, counter)"
					" VALUES (?1, ?2, 0)",
					&err);
		if (!st)
			return err;
		sqlite3_bind_int64(st, 1, device_id);
		sqlite3_bind_int64(st, 2, ident_id);
		err = eim__store_step_done(s, st, "adding association");
		if (err)
			return err;
	}
	if (renew) {
		err = cancel_old_generation(s, device_id, ident_id);
		if (err)
			return err;
	}
	st = eim__store_prepare(
		s,
		"UPDATE association SET"
		" counter = CASE WHEN ?3 THEN ?4 ELSE counter END,"
		" token = CASE WHEN ?5 THEN ?6 ELSE token END,"
		" euicc_chain = CASE WHEN ?7 THEN ?8 ELSE euicc_chain END,"
		" generation = generation + ?9"
		" WHERE device_id = ?1 AND identity_id = ?2",
		&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, ident_id);
	sqlite3_bind_int(st, 3, a->set_counter);
	sqlite3_bind_int64(st, 4, a->counter);
	sqlite3_bind_int(st, 5, a->set_token);
	if (a->has_token)
		sqlite3_bind_int64(st, 6, a->token);
	sqlite3_bind_int(st, 7, a->set_chain);
	eim__bind_blob(st, 8, a->euicc_chain, a->euicc_chain_len);
	sqlite3_bind_int(st, 9, renew ? 1 : 0);
	err = eim__store_step_done(s, st, "updating association");
	if (err)
		return err;
	if (renew)
		return eim__store_audit(
			s, "assoc-renew", a->eid, 0,
			"eIM '%s': new associationToken, counter %lld -> %u",
			a->eim_id, (long long)cur.counter, a->counter);
	return eim__store_audit(s, cur.exists ? "assoc-update" : "assoc-add",
				a->eid, 0, "eIM '%s'%s%s%s", a->eim_id,
				a->set_counter ? ", counter set" : "",
				a->set_token ? ", token set" : "",
				a->set_chain ? ", eUICC chain set" : "");
}

int eim_store_assoc_set(struct eim_store *s,
			const struct eim_store_assoc_set *a)
{
	int64_t device_id = 0, ident_id = 0;
	int err;

	if (!s || !a || !a->eim_id)
		return s ? eim__store_fail(s, EIM_EINVAL,
					   "no eIM identity given")
			 : EIM_EINVAL;
	if (a->set_counter && a->counter > EIM_STORE_COUNTER_MAX)
		return eim__store_fail(s, EIM_ERANGE, "counter %u is above %u",
				       a->counter, EIM_STORE_COUNTER_MAX);
	err = eim__store_begin(s);
	if (err)
		return err;
	err = eim__store_device_id(s, a->eid, &device_id);
	if (err)
		goto fail;
	err = eim__store_identity_id(s, a->eim_id, &ident_id);
	if (err)
		goto fail;
	err = assoc_apply(s, a, device_id, ident_id);
	if (err)
		goto fail;
	return eim__store_commit(s);
fail:
	eim__store_rollback(s);
	return err;
}

int eim_store_assoc_get(struct eim_store *s, const char *eim_id,
			const uint8_t eid[EIM_STORE_EID_LEN],
			eim_store_assoc_cb cb, void *ctx)
{
	struct eim_store_assoc a;
	char text[33];
	int64_t device_id = 0;
	sqlite3_stmt *st;
	int err, rc;

	if (!s || !eim_id || !eid || !cb)
		return EIM_EINVAL;
	err = eim__store_device_id(s, eid, &device_id);
	if (err)
		return err;
	st = eim__store_prepare(s,
				"SELECT a.counter, a.token, a.euicc_chain"
				" FROM association a JOIN eim_identity i"
				" ON i.id = a.identity_id"
				" WHERE a.device_id = ?1 AND i.eim_id = ?2",
				&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_text(st, 2, eim_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a.counter = (uint32_t)sqlite3_column_int64(st, 0);
		a.has_token = sqlite3_column_type(st, 1) != SQLITE_NULL;
		a.token = sqlite3_column_int64(st, 1);
		a.euicc_chain = sqlite3_column_blob(st, 2);
		a.euicc_chain_len = (size_t)sqlite3_column_bytes(st, 2);
		err = cb(ctx, &a);
	} else if (rc == SQLITE_DONE) {
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "device %s has no association with "
				      "eIM '%s'",
				      eim_store_eid_format(eid, text), eim_id);
	} else {
		err = eim__store_dberr(s, rc, "reading association");
	}
	sqlite3_finalize(st);
	return err;
}
