/*
 * eim_store_device.c - eIM identities, devices, the DTLS credentials that may
 * act for a device, and the (eIM identity, EID) associations that carry the
 * counterValue and associationToken (SGP.32 section 2.11.1: the eUICC keeps
 * one counter per associated eIM and checks the eIM's signature over the
 * package followed by the associationToken).
 *
 * A credential (PSK identity, client-certificate fingerprint, raw-public-key
 * fingerprint) belongs to exactly one device; grants let it act for further
 * EIDs (a gateway). The DTLS layer asks eim_store_credential_lookup() on
 * every handshake: it is one indexed query on UNIQUE(kind, ident).
 */
#include "store/eim_store_int.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <stdio.h>
#include <string.h>

/* "PSK identity 'dev1'" or "certificate fingerprint 3a4f..." for messages. */
static const char *cred_desc(enum eim_store_cred_kind kind,
			     const uint8_t *ident, size_t len, char *out,
			     size_t cap)
{
	static const char *const names[] = {"?", "PSK identity",
					    "certificate fingerprint",
					    "raw public key fingerprint"};
	const char *name = names[kind >= 1 && kind <= 3 ? kind : 0];
	char text[2 * EIM_STORE_PSK_IDENTITY_MAX + 1];
	bool printable = kind == EIM_STORE_CRED_PSK;

	if (len > EIM_STORE_PSK_IDENTITY_MAX)
		len = EIM_STORE_PSK_IDENTITY_MAX;
	for (size_t i = 0; printable && i < len; i++)
		printable =
			ident[i] >= 0x20 && ident[i] < 0x7f && ident[i] != '\'';
	if (printable) {
		memcpy(text, ident, len);
		text[len] = '\0';
		snprintf(out, cap, "%s '%s'", name, text);
	} else {
		snprintf(out, cap, "%s %s", name,
			 eim_hex_encode(ident, len, text));
	}
	return out;
}

static int check_cred_shape(struct eim_store *s, enum eim_store_cred_kind kind,
			    const uint8_t *ident, size_t ident_len,
			    const uint8_t *secret, size_t secret_len)
{
	switch (kind) {
	case EIM_STORE_CRED_PSK:
		if (!ident || ident_len == 0 ||
		    ident_len > EIM_STORE_PSK_IDENTITY_MAX)
			return eim__store_fail(
				s, EIM_EINVAL,
				"PSK identity must be 1..%d bytes",
				EIM_STORE_PSK_IDENTITY_MAX);
		if (!secret || secret_len == 0 ||
		    secret_len > EIM_STORE_PSK_KEY_MAX)
			return eim__store_fail(s, EIM_EINVAL,
					       "PSK key must be 1..%d bytes",
					       EIM_STORE_PSK_KEY_MAX);
		return 0;
	case EIM_STORE_CRED_CERT:
	case EIM_STORE_CRED_RPK:
		if (!ident || ident_len != EIM_STORE_FP_LEN || secret)
			return eim__store_fail(
				s, EIM_EINVAL,
				"a fingerprint is %d bytes (SHA-256) and has "
				"no secret",
				EIM_STORE_FP_LEN);
		return 0;
	}
	return eim__store_fail(s, EIM_EINVAL, "unknown credential kind %d",
			       (int)kind);
}

/*
 * Fails with EIM_EEXIST when the credential is bound to a device other than
 * `device_id` (0: to any device). Sets *ret_cred_id when it exists.
 */
static int check_cred_free(struct eim_store *s, const uint8_t *eid,
			   int64_t device_id, enum eim_store_cred_kind kind,
			   const uint8_t *ident, size_t ident_len)
{
	char desc[300], a[33], b[33];
	int err = 0;
	sqlite3_stmt *st = eim__store_prepare(
		s,
		"SELECT d.id, d.eid FROM credential c JOIN device d"
		" ON d.id = c.device_id WHERE c.kind = ?1 AND c.ident = ?2",
		&err);
	int rc;

	if (!st)
		return err;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_blob(st, 2, ident, (int)ident_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) != device_id &&
	    sqlite3_column_bytes(st, 1) == EIM_STORE_EID_LEN) {
		err = eim__store_fail(
			s, EIM_EEXIST,
			"device %s: %s is already bound to device %s",
			eim_store_eid_format(eid, a),
			cred_desc(kind, ident, ident_len, desc, sizeof(desc)),
			eim_store_eid_format(sqlite3_column_blob(st, 1), b));
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		err = eim__store_dberr(s, rc, "checking credentials");
	}
	sqlite3_finalize(st);
	return err;
}

int eim__store_identity_id(struct eim_store *s, const char *eim_id,
			   int64_t *ret_id)
{
	int err = 0;
	sqlite3_stmt *st = eim__store_prepare(
		s, "SELECT id FROM eim_identity WHERE eim_id = ?1", &err);
	int rc;

	if (!st)
		return err;
	sqlite3_bind_text(st, 1, eim_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "eIM identity '%s' does not exist",
				      eim_id);
	else
		err = eim__store_dberr(s, rc, "looking up eIM identity");
	sqlite3_finalize(st);
	return err;
}

/* Runs a prepared one-off write and finalizes it. */
int eim__store_step_done(struct eim_store *s, sqlite3_stmt *st,
			 const char *what)
{
	int rc = sqlite3_step(st);
	int err = 0;

	if (rc != SQLITE_DONE)
		err = eim__store_dberr(s, rc, what);
	sqlite3_finalize(st);
	return err;
}

/* ---- identities -------------------------------------------------------- */

static int check_identity(struct eim_store *s,
			  const struct eim_store_identity *id)
{
	size_t n;

	if (!s || !id || !id->eim_id || !id->key_ref)
		return s ? eim__store_fail(s, EIM_EINVAL,
					   "eIM identity needs eimId and key "
					   "reference")
			 : EIM_EINVAL;
	n = strlen(id->eim_id);
	if (n == 0 || n > EIM_STORE_EIM_ID_MAX)
		return eim__store_fail(s, EIM_EINVAL,
				       "eimId must be 1..%d bytes",
				       EIM_STORE_EIM_ID_MAX);
	return 0;
}

int eim_store_identity_add(struct eim_store *s,
			   const struct eim_store_identity *id)
{
	sqlite3_stmt *st;
	int err = check_identity(s, id), rc;

	if (err)
		return err;
	err = eim__store_begin(s);
	if (err)
		return err;
	st = eim__store_prepare(
		s,
		"INSERT INTO eim_identity(eim_id, key_ref, public_key,"
		" settings, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
		&err);
	if (!st)
		goto fail;
	eim__bind_text(st, 1, id->eim_id);
	eim__bind_text(st, 2, id->key_ref);
	eim__bind_blob(st, 3, id->public_key, id->public_key_len);
	eim__bind_text(st, 4, id->settings ? id->settings : "{}");
	sqlite3_bind_int64(st, 5, eim__store_now(s));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		err = eim__store_fail(s, EIM_EEXIST,
				      "eIM identity '%s' already exists",
				      id->eim_id);
		goto fail;
	}
	if (rc != SQLITE_DONE) {
		err = eim__store_dberr(s, rc, "adding eIM identity");
		goto fail;
	}
	err = eim__store_audit(s, "identity-add", NULL, 0, "eimId '%s'",
			       id->eim_id);
	if (err)
		goto fail;
	return eim__store_commit(s);
fail:
	eim__store_rollback(s);
	return err;
}

int eim_store_identity_update(struct eim_store *s,
			      const struct eim_store_identity *id)
{
	sqlite3_stmt *st;
	int err = check_identity(s, id);

	if (err)
		return err;
	err = eim__store_begin(s);
	if (err)
		return err;
	st = eim__store_prepare(s,
				"UPDATE eim_identity SET key_ref = ?2,"
				" public_key = ?3, settings = ?4"
				" WHERE eim_id = ?1",
				&err);
	if (!st)
		goto fail;
	eim__bind_text(st, 1, id->eim_id);
	eim__bind_text(st, 2, id->key_ref);
	eim__bind_blob(st, 3, id->public_key, id->public_key_len);
	eim__bind_text(st, 4, id->settings ? id->settings : "{}");
	err = eim__store_step_done(s, st, "updating eIM identity");
	if (err)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "eIM identity '%s' does not exist",
				      id->eim_id);
		goto fail;
	}
	err = eim__store_audit(s, "identity-update", NULL, 0, "eimId '%s'",
			       id->eim_id);
	if (err)
		goto fail;
	return eim__store_commit(s);
fail:
	eim__store_rollback(s);
	return err;
}

int eim_store_identity_list(struct eim_store *s, const char *eim_id,
			    eim_store_identity_cb cb, void *ctx)
{
	struct eim_store_identity id;
	int err = 0, rc, found = 0;
	sqlite3_stmt *st;

	if (!s || !cb)
		return EIM_EINVAL;
	st = eim__store_prepare(
		s,
		"SELECT eim_id, key_ref, public_key, settings, created_ms"
		" FROM eim_identity WHERE ?1 IS NULL OR eim_id = ?1"
		" ORDER BY eim_id",
		&err);
	if (!st)
		return err;
	eim__bind_text(st, 1, eim_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = 1;
		id.eim_id = eim__col_text(st, 0);
		id.key_ref = eim__col_text(st, 1);
		id.public_key = sqlite3_column_blob(st, 2);
		id.public_key_len = (size_t)sqlite3_column_bytes(st, 2);
		id.settings = eim__col_text(st, 3);
		id.created_ms = sqlite3_column_int64(st, 4);
		err = cb(ctx, &id);
		if (err)
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = eim__store_dberr(s, rc, "listing eIM identities");
	else if (eim_id && !found)
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "eIM identity '%s' does not exist",
				      eim_id);
out:
	sqlite3_finalize(st);
	return err;
}

/* ---- devices ----------------------------------------------------------- */

static int insert_cred(struct eim_store *s, int64_t device_id,
		       enum eim_store_cred_kind kind, const uint8_t *ident,
		       size_t ident_len, const uint8_t *secret,
		       size_t secret_len)
{
	int err = 0;
	/*
	 * Upsert on the device's slot for this kind: replacing a credential
	 * keeps the grants that hang off the slot.
	 */
	sqlite3_stmt *st = eim__store_prepare(
		s,
		"INSERT INTO credential(device_id, kind, ident, secret)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (device_id, kind)"
		" DO UPDATE SET ident = excluded.ident,"
		" secret = excluded.secret",
		&err);

	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_blob(st, 3, ident, (int)ident_len, SQLITE_STATIC);
	eim__bind_blob(st, 4, secret, secret_len);
	return eim__store_step_done(s, st, "storing credential");
}

static int device_add_creds(struct eim_store *s,
			    const struct eim_store_device_new *d,
			    int64_t device_id)
{
	const struct {
		enum eim_store_cred_kind kind;
		const uint8_t *ident;
		size_t len;
		const uint8_t *secret;
		size_t secret_len;
	} creds[] = {
		{EIM_STORE_CRED_PSK, d->psk_identity, d->psk_identity_len,
		 d->psk_key, d->psk_key_len},
		{EIM_STORE_CRED_CERT, d->cert_fp,
		 d->cert_fp ? EIM_STORE_FP_LEN : 0, NULL, 0},
		{EIM_STORE_CRED_RPK, d->rpk_fp,
		 d->rpk_fp ? EIM_STORE_FP_LEN : 0, NULL, 0},
	};
	char desc[300];
	int err;

	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		if (!creds[i].ident)
			continue;
		err = check_cred_free(s, d->eid, device_id, creds[i].kind,
				      creds[i].ident, creds[i].len);
		if (err)
			return err;
		err = insert_cred(s, device_id, creds[i].kind, creds[i].ident,
				  creds[i].len, creds[i].secret,
				  creds[i].secret_len);
		if (err)
			return err;
		err = eim__store_audit(s, "credential-set", d->eid, 0, "%s",
				       cred_desc(creds[i].kind, creds[i].ident,
						 creds[i].len, desc,
						 sizeof(desc)));
		if (err)
			return err;
	}
	return 0;
}

static int check_device_new(struct eim_store *s,
			    const struct eim_store_device_new *d)
{
	int err;

	if (!d->eim_id)
		return eim__store_fail(
			s, EIM_EINVAL,
			"a device needs a managing eIM identity");
	err = eim__store_eid_check(s, d->eid);
	if (err)
		return err;
	if (d->psk_identity || d->psk_key) {
		err = check_cred_shape(s, EIM_STORE_CRED_PSK, d->psk_identity,
				       d->psk_identity_len, d->psk_key,
				       d->psk_key_len);
		if (err)
			return err;
	}
	if (d->initial_counter > EIM_STORE_COUNTER_MAX)
		return eim__store_fail(s, EIM_ERANGE,
				       "initial counter %u is above %u",
				       d->initial_counter,
				       EIM_STORE_COUNTER_MAX);
	return 0;
}

/* Adds one device inside the caller's transaction. */
static int device_add_locked(struct eim_store *s,
			     const struct eim_store_device_new *d)
{
	char text[33];
	int64_t ident_id = 0, device_id = 0;
	sqlite3_stmt *st;
	int err;

	err = eim__store_identity_id(s, d->eim_id, &ident_id);
	if (err)
		return err;
	err = eim__store_device_id(s, d->eid, &device_id);
	if (err == 0)
		return eim__store_fail(s, EIM_EEXIST,
				       "device %s already exists",
				       eim_store_eid_format(d->eid, text));
	if (err != EIM_ENOTFOUND)
		return err;
	err = 0;
	st = eim__store_prepare(s,
				"INSERT INTO device(eid, identity_id,"
				" created_ms) VALUES (?1, ?2, ?3)",
				&err);
	if (!st)
		return err;
	sqlite3_bind_blob(st, 1, d->eid, EIM_STORE_EID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ident_id);
	sqlite3_bind_int64(st, 3, eim__store_now(s));
	err = eim__store_step_done(s, st, "adding device");
	if (err)
		return err;
	device_id = sqlite3_last_insert_rowid(s->db);
	st = eim__store_prepare(s,
				"INSERT INTO association(device_id,"
				" identity_id, counter, token, euicc_chain)"
				" VALUES (?1, ?2, ?3, ?4, ?5)",
				&err);
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, ident_id);
	sqlite3_bind_int64(st, 3, d->initial_counter);
	if (d->has_association_token)
		sqlite3_bind_int64(st, 4, d->association_token);
	if (d->euicc_chain && d->euicc_chain_len)
		sqlite3_bind_blob(st, 5, d->euicc_chain,
				  (int)d->euicc_chain_len, SQLITE_STATIC);
	err = eim__store_step_done(s, st, "adding association");
	if (err)
		return err;
	err = eim__store_audit(s, "device-add", d->eid, 0,
			       "managed by '%s', initial counter %u", d->eim_id,
			       d->initial_counter);
	if (err)
		return err;
	return device_add_creds(s, d, device_id);
}

int eim_store_device_add(struct eim_store *s,
			 const struct eim_store_device_new *d)
{
	int err;

	if (!s || !d)
		return EIM_EINVAL;
	err = check_device_new(s, d);
	if (err)
		return err;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = device_add_locked(s, d);
	if (err) {
		eim__store_rollback(s);
		return err;
	}
	return eim__store_commit(s);
}

int eim_store_device_add_many(struct eim_store *s,
			      const struct eim_store_device_new *d, size_t n,
			      size_t batch, eim_store_progress_fn progress,
			      void *progress_ctx, size_t *ret_done)
{
	char text[33], msg[sizeof(s->errmsg)];
	size_t done = 0;
	int err = 0;

	if (!s || (!d && n) || !ret_done)
		return EIM_EINVAL;
	if (batch == 0)
		batch = 1000;
	/* Every device is checked before the first is written. */
	for (size_t i = 0; i < n; i++)
		if ((err = check_device_new(s, &d[i])))
			goto out;
	while (done < n) {
		size_t end = done + batch < n ? done + batch : n;
		err = eim__store_begin(s);
		if (err)
			goto out;
		for (size_t i = done; i < end; i++) {
			err = device_add_locked(s, &d[i]);
			if (err) {
				snprintf(msg, sizeof(msg), "%s", s->errmsg);
				eim__store_rollback(s);
				eim__store_fail(s, err,
						"device %s (entry %zu): %s",
						eim_store_eid_format(d[i].eid,
								     text),
						i + 1, msg);
				goto out;
			}
		}
		err = eim__store_commit(s);
		if (err)
			goto out;
		done = end;
		if (progress)
			progress(progress_ctx, done, n);
	}
out:
	*ret_done = done;
	return err;
}

int eim_store_credential_set(struct eim_store *s,
			     const uint8_t eid[EIM_STORE_EID_LEN],
			     enum eim_store_cred_kind kind,
			     const uint8_t *ident, size_t ident_len,
			     const uint8_t *secret, size_t secret_len)
{
	char desc[300];
	int64_t device_id = 0;
	int err;

	if (!s || !eid)
		return EIM_EINVAL;
	err = check_cred_shape(s, kind, ident, ident_len, secret, secret_len);
	if (err)
		return err;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = eim__store_device_id(s, eid, &device_id);
	if (err)
		goto fail;
	err = check_cred_free(s, eid, device_id, kind, ident, ident_len);
	if (err)
		goto fail;
	err = insert_cred(s, device_id, kind, ident, ident_len, secret,
			  secret_len);
	if (err)
		goto fail;
	err = eim__store_audit(s, "credential-set", eid, 0, "%s",
			       cred_desc(kind, ident, ident_len, desc,
					 sizeof(desc)));
	if (err)
		goto fail;
	return eim__store_commit(s);
fail:
	eim__store_rollback(s);
	return err;
}

int eim_store_credential_remove(struct eim_store *s,
				const uint8_t eid[EIM_STORE_EID_LEN],
				enum eim_store_cred_kind kind)
{
	char text[33];
	int64_t device_id = 0;
	sqlite3_stmt *st;
	int err;

	if (!s || !eid)
		return EIM_EINVAL;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = eim__store_device_id(s, eid, &device_id);
	if (err)
		goto fail;
	st = eim__store_prepare(
		s, "DELETE FROM credential WHERE device_id = ?1 AND kind = ?2",
		&err);
	if (!st)
		goto fail;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int(st, 2, kind);
	err = eim__store_step_done(s, st, "removing credential");
	if (err)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "device %s has no credential of kind %d",
				      eim_store_eid_format(eid, text),
				      (int)kind);
		goto fail;
	}
	err = eim__store_audit(s, "credential-remove", eid, 0, "kind %d",
			       (int)kind);
	if (err)
		goto fail;
	return eim__store_commit(s);
fail:
	eim__store_rollback(s);
	return err;
}

int eim_store_credential_grant(struct eim_store *s,
			       enum eim_store_cred_kind kind,
			       const uint8_t *ident, size_t ident_len,
			       const uint8_t eid[EIM_STORE_EID_LEN])
{
	char desc[300];
	int64_t device_id = 0;
	sqlite3_stmt *st;
	int err;

	if (!s || !eid || !ident || ident_len == 0)
		return s ? eim__store_fail(s, EIM_EINVAL, "no credential given")
			 : EIM_EINVAL;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = eim__store_device_id(s, eid, &device_id);
	if (err)
		goto fail;
	st = eim__store_prepare(s,
				"INSERT OR IGNORE INTO credential_grant"
				"(credential_id, device_id) SELECT id, ?3"
				" FROM credential WHERE kind = ?1"
				" AND ident = ?2 AND device_id <> ?3",
				&err);
	if (!st)
		goto fail;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_blob(st, 2, ident, (int)ident_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, device_id);
	err = eim__store_step_done(s, st, "granting credential");
	if (err)
		goto fail;
	cred_desc(kind, ident, ident_len, desc, sizeof(desc));
	if (sqlite3_changes(s->db) == 0) {
		/* Either unknown, the owner itself, or granted already. */
		st = eim__store_prepare(s,
					"SELECT 1 FROM credential WHERE"
					" kind = ?1 AND ident = ?2",
					&err);
		if (!st)
			goto fail;
		sqlite3_bind_int(st, 1, kind);
		sqlite3_bind_blob(st, 2, ident, (int)ident_len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW)
			err = eim__store_fail(s, EIM_ENOTFOUND,
					      "%s is not bound to any device",
					      desc);
		sqlite3_finalize(st);
		if (err)
			goto fail;
	}
	err = eim__store_audit(s, "credential-grant", eid, 0, "%s", desc);
	if (err)
		goto fail;
	return eim__store_commit(s);
fail:
	eim__store_rollback(s);
	return err;
}

int eim_store_credential_lookup(struct eim_store *s,
				enum eim_store_cred_kind kind,
				const uint8_t *ident, size_t ident_len,
				struct eim_store_cred_lookup *ret)
{
	struct eim_store_cred_lookup l = {0};
	size_t cap = 0;
	char desc[300];
	int err = 0, rc;
	sqlite3_stmt *st;

	if (!s || !ident || !ret || ident_len == 0)
		return EIM_EINVAL;
	st = eim__store_stmt(s, ST_CRED_LOOKUP, &err);
	if (!st)
		return err;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_blob(st, 2, ident, (int)ident_len, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != EIM_STORE_EID_LEN)
			continue;
		if (sqlite3_column_type(st, 0) == SQLITE_BLOB && !l.secret) {
			l.secret_len = (size_t)sqlite3_column_bytes(st, 0);
			l.secret = eim_memdup(sqlite3_column_blob(st, 0),
					      l.secret_len);
			if (!l.secret) {
				err = eim__store_fail(s, EIM_ENOMEM,
						      "out of memory");
				goto fail;
			}
		}
		if (l.n_eids == cap) {
			size_t ncap = cap ? 2 * cap : 4;
			void *p = eim_realloc(l.eids, ncap * EIM_STORE_EID_LEN);
			if (!p) {
				err = eim__store_fail(s, EIM_ENOMEM,
						      "out of memory");
				goto fail;
			}
			l.eids = p;
			cap = ncap;
		}
		memcpy(l.eids[l.n_eids++], sqlite3_column_blob(st, 1),
		       EIM_STORE_EID_LEN);
	}
	if (rc != SQLITE_DONE) {
		err = eim__store_dberr(s, rc, "looking up credential");
		goto fail;
	}
	if (l.n_eids == 0) {
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "%s is not bound to any device",
				      cred_desc(kind, ident, ident_len, desc,
						sizeof(desc)));
		goto fail;
	}
	sqlite3_reset(st);
	*ret = l;
	return 0;
fail:
	sqlite3_reset(st);
	eim_store_cred_lookup_done(&l);
	return err;
}

void eim_store_cred_lookup_done(struct eim_store_cred_lookup *l)
{
	if (!l)
		return;
	eim_free_secret(l->secret, l->secret_len);
	eim_free(l->eids);
	memset(l, 0, sizeof(*l));
}

/* ---- listing and per-device facts ------------------------------------- */

int eim_store_device_list(struct eim_store *s, const uint8_t *eid,
			  eim_store_device_cb cb, void *ctx)
{
	struct eim_store_device d;
	char text[33];
	int err = 0, rc, found = 0;
	sqlite3_stmt *st;

	if (!s || !cb)
		return EIM_EINVAL;
	/* Secrets are not even selected: this is what operators see. */
	st = eim__store_prepare(
		s,
		"SELECT d.eid, i.eim_id, d.created_ms, d.last_seen_ms,"
		" d.last_addr, d.eim_list, d.profile_list, d.last_seq,"
		" (SELECT ident FROM credential WHERE device_id = d.id"
		"  AND kind = 1),"
		" (SELECT ident FROM credential WHERE device_id = d.id"
		"  AND kind = 2),"
		" (SELECT ident FROM credential WHERE device_id = d.id"
		"  AND kind = 3),"
		" a.counter, a.token,"
		" (SELECT count(*) FROM package p WHERE p.device_id = d.id"
		"  AND p.state < 2)"
		" FROM device d JOIN eim_identity i ON i.id = d.identity_id"
		" LEFT JOIN association a ON a.device_id = d.id"
		"  AND a.identity_id = d.identity_id"
		" WHERE ?1 IS NULL OR d.eid = ?1 ORDER BY d.eid",
		&err);
	if (!st)
		return err;
	eim__bind_blob(st, 1, eid, eid ? EIM_STORE_EID_LEN : 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&d, 0, sizeof(d));
		found = 1;
		if (sqlite3_column_bytes(st, 0) == EIM_STORE_EID_LEN)
			memcpy(d.eid, sqlite3_column_blob(st, 0),
			       EIM_STORE_EID_LEN);
		d.eim_id = eim__col_text(st, 1);
		d.created_ms = sqlite3_column_int64(st, 2);
		d.last_seen_ms = sqlite3_column_int64(st, 3);
		d.last_addr = eim__col_text(st, 4);
		d.eim_list = eim__col_text(st, 5);
		d.profile_list = eim__col_text(st, 6);
		d.last_seq = sqlite3_column_type(st, 7) == SQLITE_NULL
				     ? -1
				     : sqlite3_column_int64(st, 7);
		d.psk_identity = sqlite3_column_blob(st, 8);
		d.psk_identity_len = (size_t)sqlite3_column_bytes(st, 8);
		if (sqlite3_column_bytes(st, 9) == EIM_STORE_FP_LEN) {
			d.has_cert_fp = true;
			memcpy(d.cert_fp, sqlite3_column_blob(st, 9),
			       EIM_STORE_FP_LEN);
		}
		if (sqlite3_column_bytes(st, 10) == EIM_STORE_FP_LEN) {
			d.has_rpk_fp = true;
			memcpy(d.rpk_fp, sqlite3_column_blob(st, 10),
			       EIM_STORE_FP_LEN);
		}
		d.counter = (uint32_t)sqlite3_column_int64(st, 11);
		d.has_association_token =
			sqlite3_column_type(st, 12) != SQLITE_NULL;
		d.association_token = sqlite3_column_int64(st, 12);
		d.pending = (uint64_t)sqlite3_column_int64(st, 13);
		err = cb(ctx, &d);
		if (err)
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = eim__store_dberr(s, rc, "listing devices");
	else if (eid && !found)
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "device %s: no such device",
				      eim_store_eid_format(eid, text));
out:
	sqlite3_finalize(st);
	return err;
}

/* A single-statement UPDATE of one device; ENOTFOUND when no row. */
static int device_update(struct eim_store *s, const uint8_t *eid,
			 sqlite3_stmt *st, const char *what)
{
	char text[33];
	int err = eim__store_step_done(s, st, what);

	if (err == 0 && sqlite3_changes(s->db) == 0)
		err = eim__store_fail(s, EIM_ENOTFOUND,
				      "device %s: no such device",
				      eim_store_eid_format(eid, text));
	return err;
}

int eim_store_device_seen(struct eim_store *s,
			  const uint8_t eid[EIM_STORE_EID_LEN],
			  const char *addr)
{
	sqlite3_stmt *st;
	int err = 0;

	if (!s || !eid)
		return EIM_EINVAL;
	/* An autocommit UPDATE takes the write lock before it reads, so
	 * the busy handler covers it like BEGIN IMMEDIATE. */
	st = eim__store_prepare(s,
				"UPDATE device SET last_seen_ms = ?2,"
				" last_addr = coalesce(?3, last_addr)"
				" WHERE eid = ?1",
				&err);
	if (!st)
		return err;
	sqlite3_bind_blob(st, 1, eid, EIM_STORE_EID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, eim__store_now(s));
	eim__bind_text(st, 3, addr);
	return device_update(s, eid, st, "recording device contact");
}

int eim_store_device_seen_many(struct eim_store *s,
			       const struct eim_store_seen *v, size_t n)
{
	sqlite3_stmt *st;
	int err = 0, rc = SQLITE_DONE;

	if (!s || (n && !v))
		return EIM_EINVAL;
	if (n == 0)
		return 0;
	st = eim__store_prepare(s,
				"UPDATE device SET last_seen_ms = ?2,"
				" last_addr = coalesce(?3, last_addr)"
				" WHERE eid = ?1 AND (last_seen_ms IS NULL"
				" OR last_seen_ms <= ?2)",
				&err);
	if (!st)
		return err;
	err = eim__store_begin(s);
	for (size_t i = 0; err == 0 && i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_blob(st, 1, v[i].eid, EIM_STORE_EID_LEN,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, v[i].at_ms);
		eim__bind_text(st, 3, v[i].addr);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			err = eim__store_dberr(s, rc, "recording contacts");
	}
	sqlite3_finalize(st);
	if (err) {
		eim__store_rollback(s);
		return err;
	}
	return eim__store_commit(s);
}

int eim_store_device_set_lists(struct eim_store *s,
			       const uint8_t eid[EIM_STORE_EID_LEN],
			       const char *eim_list, const char *profile_list)
{
	sqlite3_stmt *st;
	int err = 0;

	if (!s || !eid)
		return EIM_EINVAL;
	st = eim__store_prepare(s,
				"UPDATE device SET"
				" eim_list = coalesce(?2, eim_list),"
				" profile_list = coalesce(?3, profile_list)"
				" WHERE eid = ?1",
				&err);
	if (!st)
		return err;
	sqlite3_bind_blob(st, 1, eid, EIM_STORE_EID_LEN, SQLITE_STATIC);
	eim__bind_text(st, 2, eim_list);
	eim__bind_text(st, 3, profile_list);
	return device_update(s, eid, st, "recording device lists");
}

/* Runs one statement binding ?1 to device_id; "what" names it for errors. */
static int exec_for_device(struct eim_store *s, const char *sql,
			   int64_t device_id, const char *what)
{
	int err = 0;
	sqlite3_stmt *st = eim__store_prepare(s, sql, &err);

	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	return eim__store_step_done(s, st, what);
}

/* Appends "eimId counter N" of each association to buf (for the audit). */
static int describe_counters(struct eim_store *s, int64_t device_id, char *buf,
			     size_t cap)
{
	int err = 0, rc;
	size_t n = 0;
	sqlite3_stmt *st = eim__store_prepare(
		s,
		"SELECT i.eim_id, a.counter FROM association a"
		" JOIN eim_identity i ON i.id = a.identity_id"
		" WHERE a.device_id = ?1 ORDER BY i.eim_id",
		&err);

	buf[0] = '\0';
	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, device_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < cap) {
		int w = snprintf(buf + n, cap - n, "%s'%s' counter %lld",
				 n ? ", " : "",
				 (const char *)sqlite3_column_text(st, 0),
				 (long long)sqlite3_column_int64(st, 1));
		if (w > 0)
			n += (size_t)w;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = eim__store_dberr(s, rc, "reading the counters");
	sqlite3_finalize(st);
	return err;
}

int eim_store_device_remove(struct eim_store *s,
			    const uint8_t eid[EIM_STORE_EID_LEN], bool force,
			    char *ret_counters, size_t cap)
{
	static const char *const steps[][2] = {
		{"DELETE FROM result WHERE device_id = ?1", "removing results"},
		{"DELETE FROM notification WHERE device_id = ?1",
		 "removing notifications"},
		{"DELETE FROM package WHERE device_id = ?1",
		 "removing packages"},
		{"DELETE FROM association WHERE device_id = ?1",
		 "removing associations"},
		{"DELETE FROM device WHERE id = ?1", "removing the device"},
	};
	char text[33], counters[512];
	int64_t device_id = 0, in_flight = 0;
	int err;

	if (!s || !eid)
		return EIM_EINVAL;
	err = eim__store_begin(s);
	if (err)
		return err;
	err = eim__store_device_id(s, eid, &device_id);
	if (err)
		goto fail;
	sqlite3_stmt *st =
		eim__store_prepare(s,
				   "SELECT count(*) FROM package WHERE "
				   "device_id = ?1 AND state = 1",
				   &err);
	if (!st)
		goto fail;
	sqlite3_bind_int64(st, 1, device_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		in_flight = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (in_flight && !force) {
		err = eim__store_fail(
			s, EIM_ESTATE,
			"device %s has %lld package(s) delivered "
			"and awaiting a result; removing it "
			"would lose them (force to remove anyway)",
			eim_store_eid_format(eid, text), (long long)in_flight);
		goto fail;
	}
	err = describe_counters(s, device_id, counters, sizeof(counters));
	for (size_t i = 0; err == 0 && i < sizeof(steps) / sizeof(steps[0]);
	     i++)
		err = exec_for_device(s, steps[i][0], device_id, steps[i][1]);
	if (err == 0)
		err = eim__store_audit(s, "device-remove", eid, 0,
				       "%s%s (last counters: %s)",
				       force ? "forced" : "removed",
				       in_flight ? ", with packages in flight"
						 : "",
				       counters[0] ? counters : "none");
	if (err)
		goto fail;
	err = eim__store_commit(s);
	if (err == 0 && ret_counters && cap)
		snprintf(ret_counters, cap, "%s", counters);
	return err;
fail:
	eim__store_rollback(s);
	return err;
}
