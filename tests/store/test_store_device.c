/*
 * Unit tests of store/: opening and schema versions, EIDs, eIM identities,
 * devices, credentials and associations, on real SQLite files.
 */
#include "store_fixture.h"

#include "common/eim_alloc.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

static struct fx F;

static void setup(void)
{
	fx_setup(&F);
}

static void teardown(void)
{
	fx_teardown(&F);
}

/* Runs SQL on the file with a separate raw connection; returns the rc. */
static int raw_exec(const char *path, const char *sql, char *msg, size_t cap)
{
	sqlite3 *db = NULL;
	char *em = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, &em);
	if (msg)
		snprintf(msg, cap, "%s", em ? em : "");
	sqlite3_free(em);
	sqlite3_close(db);
	return rc;
}

static int raw_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static mode_t mode_of(const char *path, const char *suffix)
{
	char p[400];
	struct stat sb;

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	ck_assert_msg(stat(p, &sb) == 0, "%s missing", p);
	return sb.st_mode & 0777;
}

START_TEST(open_creates_private_file)
{
	char p[400];
	mode_t old;

	/* A fresh file under a permissive umask is still 0600. */
	eim_store_close(F.s);
	F.s = NULL;
	unlink(F.path);
	snprintf(p, sizeof(p), "%s-wal", F.path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", F.path);
	unlink(p);
	old = umask(022);
	fx_reopen(&F);
	umask(old);
	ck_assert_int_eq(mode_of(F.path, ""), 0600);
	ck_assert_int_eq(mode_of(F.path, "-wal"), 0600);
	ck_assert_int_eq(mode_of(F.path, "-shm"), 0600);
	ck_assert_uint_eq(eim_store_schema_version(F.s),
			  EIM_STORE_SCHEMA_VERSION);
	ck_assert_int_eq(eim_store_check(F.s), 0);
}
END_TEST

START_TEST(open_sets_pragmas)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	/* WAL is a property of the file: a raw connection sees it. */
	ck_assert_int_eq(sqlite3_open(F.path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
					    NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	ck_assert_int_eq(raw_count(F.path, "PRAGMA user_version"),
			 EIM_STORE_SCHEMA_VERSION);
}
END_TEST

START_TEST(open_refuses_newer_schema)
{
	struct eim_store *s = NULL;

	eim_store_close(F.s);
	F.s = NULL;
	ck_assert_int_eq(raw_exec(F.path, "PRAGMA user_version = 99", NULL, 0),
			 SQLITE_OK);
	ck_assert_int_eq(eim_store_open(F.path, &F.opt, &s), EIM_EVERSION);
	ck_assert_ptr_null(s);
	ck_assert(eim_test_contains(eim_store_open_errmsg(), "version 99"));
	ck_assert(eim_test_contains(eim_store_open_errmsg(), "newer eim"));
	/* Refusing did not touch the file. */
	ck_assert_int_eq(raw_count(F.path, "PRAGMA user_version"), 99);
}
END_TEST

START_TEST(open_bad_arguments)
{
	struct eim_store *s = NULL;
	struct eim_store_options o;
	char p[400];

	ck_assert_int_eq(eim_store_open(NULL, NULL, &s), EIM_EINVAL);
	ck_assert_int_eq(eim_store_open("", NULL, &s), EIM_EINVAL);
	snprintf(p, sizeof(p), "%s/no/such/dir/x.db", F.dir);
	ck_assert_int_eq(eim_store_open(p, NULL, &s), EIM_EIO);
	ck_assert(eim_test_contains(eim_store_open_errmsg(), "No such file"));
	eim_store_options_init(&o);
	o.schema_version = EIM_STORE_SCHEMA_VERSION + 1;
	ck_assert_int_eq(eim_store_open(F.path, &o, &s), EIM_EINVAL);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(open_not_a_database)
{
	struct eim_store *s = NULL;
	char p[400];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/garbage.db", F.dir);
	fp = fopen(p, "w");
	ck_assert_ptr_nonnull(fp);
	for (int i = 0; i < 2048; i++)
		fputc('x', fp);
	fclose(fp);
	ck_assert_int_eq(eim_store_open(p, NULL, &s), EIM_EDB);
	ck_assert(eim_test_contains(eim_store_open_errmsg(), "not a database"));
}
END_TEST

START_TEST(migrate_from_version_1)
{
	struct eim_store_enqueue_req r = fx_req(1, "v1 package");
	struct eim_store_enqueued q;
	uint64_t counts[EIM_STORE_STATE_COUNT];

	/* Build a version-1 file with data in it. */
	eim_store_close(F.s);
	F.s = NULL;
	unlink(F.path);
	F.opt.schema_version = 1;
	fx_reopen(&F);
	ck_assert_uint_eq(eim_store_schema_version(F.s), 1);
	fx_fleet(&F, 2, 10);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q), 0);
	eim_store_close(F.s);
	F.s = NULL;
	ck_assert_int_eq(raw_count(F.path,
				   "SELECT count(*) FROM sqlite_master"
				   " WHERE name = 'package_state_created'"),
			 0);

	/* The current code upgrades it in place and keeps everything. */
	F.opt.schema_version = 0;
	fx_reopen(&F);
	ck_assert_uint_eq(eim_store_schema_version(F.s), 2);
	ck_assert_int_eq(raw_count(F.path, "PRAGMA user_version"), 2);
	ck_assert_int_eq(raw_count(F.path,
				   "SELECT count(*) FROM sqlite_master"
				   " WHERE name = 'package_state_created'"),
			 1);
	ck_assert_int_eq(raw_count(F.path, "SELECT count(*) FROM audit WHERE"
					   " action = 'migrate' AND detail ="
					   " 'schema version 1 -> 2'"),
			 1);
	ck_assert_int_eq(eim_store_package_counts(F.s, NULL, counts), 0);
	ck_assert_uint_eq(counts[EIM_STORE_QUEUED], 1);
	ck_assert_int_eq(eim_store_enqueue(F.s, &r, fx_sign, NULL, &q), 0);
	ck_assert_uint_eq(q.counter, 12);
	/* Opening again is a no-op. */
	fx_reopen(&F);
	ck_assert_int_eq(raw_count(F.path, "SELECT count(*) FROM audit WHERE"
					   " action = 'migrate'"),
			 2);
}
END_TEST

START_TEST(eid_text)
{
	uint8_t eid[16];
	char out[33];

	ck_assert_int_eq(
		eim_store_eid_parse("89049032 00000000 00000000 00000042", eid),
		0);
	ck_assert_str_eq(eim_store_eid_format(eid, out),
			 "89049032000000000000000000000042");
	ck_assert_int_eq(eim_store_eid_parse("8904903200000000000000000000004",
					     eid),
			 EIM_EMALFORMED); /* 31 digits */
	ck_assert_int_eq(
		eim_store_eid_parse("890490320000000000000000000000421", eid),
		EIM_EMALFORMED); /* 33 digits */
	ck_assert_int_eq(eim_store_eid_parse("8904903200000000000000000000004A",
					     eid),
			 EIM_EMALFORMED);
	ck_assert_int_eq(eim_store_eid_parse(NULL, eid), EIM_EINVAL);
}
END_TEST

static int count_identity(void *ctx, const struct eim_store_identity *id)
{
	int *n = ctx;

	(*n)++;
	ck_assert_ptr_nonnull(id->eim_id);
	return 0;
}

START_TEST(identities)
{
	static const uint8_t pub[] = {0x30, 0x59, 0x01};
	struct eim_store_identity id = {.eim_id = "eim-a",
					.key_ref = "pkcs11:a",
					.public_key = pub,
					.public_key_len = sizeof(pub),
					.settings = "{\"warn\":1}"};
	char long_id[200];
	int n = 0;

	ck_assert_int_eq(eim_store_identity_add(F.s, &id), 0);
	ck_assert_int_eq(eim_store_identity_add(F.s, &id), EIM_EEXIST);
	ck_assert_str_eq(eim_store_errmsg(F.s),
			 "eIM identity 'eim-a' already exists");
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	id.eim_id = long_id;
	ck_assert_int_eq(eim_store_identity_add(F.s, &id), EIM_EINVAL);
	id.eim_id = "";
	ck_assert_int_eq(eim_store_identity_add(F.s, &id), EIM_EINVAL);
	id.eim_id = "eim-b";
	id.key_ref = NULL;
	ck_assert_int_eq(eim_store_identity_add(F.s, &id), EIM_EINVAL);
	id.key_ref = "file:b.pem";
	ck_assert_int_eq(eim_store_identity_add(F.s, &id), 0);

	id.eim_id = "eim-zz";
	ck_assert_int_eq(eim_store_identity_update(F.s, &id), EIM_ENOTFOUND);
	id.eim_id = "eim-a";
	id.key_ref = "pkcs11:a2";
	ck_assert_int_eq(eim_store_identity_update(F.s, &id), 0);
	ck_assert_int_eq(eim_store_identity_list(F.s, NULL, count_identity, &n),
			 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(eim_store_identity_list(F.s, "nope", count_identity,
						 &n),
			 EIM_ENOTFOUND);
}
END_TEST

struct dev_seen {
	int n;
	struct eim_store_device d;
	char eim_id[130];
	char addr[64];
	char lists[64];
	char psk[32];
};

static int grab_device(void *ctx, const struct eim_store_device *d)
{
	struct dev_seen *v = ctx;

	v->n++;
	v->d = *d;
	snprintf(v->eim_id, sizeof(v->eim_id), "%s", d->eim_id);
	snprintf(v->addr, sizeof(v->addr), "%s",
		 d->last_addr ? d->last_addr : "(none)");
	snprintf(v->lists, sizeof(v->lists), "%s",
		 d->eim_list ? d->eim_list : "(none)");
	snprintf(v->psk, sizeof(v->psk), "%.*s", (int)d->psk_identity_len,
		 d->psk_identity ? (const char *)d->psk_identity : "");
	return 0;
}

START_TEST(device_add_and_list)
{
	struct eim_store_device_new d = {0};
	struct dev_seen v = {0};
	uint8_t fp[32], eid[16];

	fx_fleet(&F, 3, 5);
	memset(fp, 0xCE, sizeof(fp));
	fx_eid(7, d.eid);
	d.eim_id = "eim-1";
	d.cert_fp = fp;
	d.has_association_token = true;
	d.association_token = 1;
	ck_assert_int_eq(eim_store_device_add(F.s, &d), 0);

	ck_assert_int_eq(eim_store_device_list(F.s, d.eid, grab_device, &v), 0);
	ck_assert_int_eq(v.n, 1);
	ck_assert_str_eq(v.eim_id, "eim-1");
	ck_assert(v.d.has_cert_fp);
	ck_assert(!v.d.has_rpk_fp);
	ck_assert_mem_eq(v.d.cert_fp, fp, 32);
	ck_assert_ptr_null(v.d.psk_identity);
	ck_assert(v.d.has_association_token);
	ck_assert_int_eq(v.d.association_token, 1);
	ck_assert_int_eq(v.d.last_seq, -1);
	ck_assert_str_eq(v.addr, "(none)");

	memset(&v, 0, sizeof(v));
	fx_eid(2, eid);
	ck_assert_int_eq(eim_store_device_list(F.s, eid, grab_device, &v), 0);
	ck_assert_str_eq(v.psk, "dev2");
	ck_assert_uint_eq(v.d.counter, 5);
	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(eim_store_device_list(F.s, NULL, grab_device, &v), 0);
	ck_assert_int_eq(v.n, 4);

	fx_eid(99, eid);
	ck_assert_int_eq(eim_store_device_list(F.s, eid, grab_device, &v),
			 EIM_ENOTFOUND);
	ck_assert_str_eq(eim_store_errmsg(F.s),
			 "device 89049032000000000000000000000099: no such "
			 "device");
}
END_TEST

START_TEST(device_add_errors)
{
	struct eim_store_device_new d = {0};
	uint8_t key[16] = {1};
	struct dev_seen v = {0};

	fx_fleet(&F, 1, 0);
	/* Duplicate EID. */
	fx_eid(1, d.eid);
	d.eim_id = "eim-1";
	ck_assert_int_eq(eim_store_device_add(F.s, &d), EIM_EEXIST);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "already exists"));
	/* Malformed EID: a nibble above 9. */
	fx_eid(2, d.eid);
	d.eid[15] = 0x4B;
	ck_assert_int_eq(eim_store_device_add(F.s, &d), EIM_EMALFORMED);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "digit"));
	/* Unknown identity. */
	fx_eid(2, d.eid);
	d.eim_id = "eim-9";
	ck_assert_int_eq(eim_store_device_add(F.s, &d), EIM_ENOTFOUND);
	ck_assert_str_eq(eim_store_errmsg(F.s),
			 "eIM identity 'eim-9' does not exist");
	d.eim_id = NULL;
	ck_assert_int_eq(eim_store_device_add(F.s, &d), EIM_EINVAL);
	d.eim_id = "eim-1";
	/* Counter out of range. */
	d.initial_counter = EIM_STORE_COUNTER_MAX + 1;
	ck_assert_int_eq(eim_store_device_add(F.s, &d), EIM_ERANGE);
	d.initial_counter = 0;
	/* PSK identity without key, and a key too long. */
	d.psk_identity = (const uint8_t *)"devX";
	d.psk_identity_len = 4;
	ck_assert_int_eq(eim_store_device_add(F.s, &d), EIM_EINVAL);
	d.psk_key = key;
	d.psk_key_len = EIM_STORE_PSK_KEY_MAX + 1;
	ck_assert_int_eq(eim_store_device_add(F.s, &d), EIM_EINVAL);
	/* PSK identity bound to device 1: refused, nothing written. */
	d.psk_identity = (const uint8_t *)"dev1";
	d.psk_key_len = sizeof(key);
	ck_assert_int_eq(eim_store_device_add(F.s, &d), EIM_EEXIST);
	ck_assert_str_eq(eim_store_errmsg(F.s),
			 "device 89049032000000000000000000000002: PSK "
			 "identity 'dev1' is already bound to device "
			 "89049032000000000000000000000001");
	ck_assert_int_eq(eim_store_device_list(F.s, d.eid, grab_device, &v),
			 EIM_ENOTFOUND);
	/* The same with a fresh identity works. */
	d.psk_identity = (const uint8_t *)"dev2";
	ck_assert_int_eq(eim_store_device_add(F.s, &d), 0);
}
END_TEST

START_TEST(credentials)
{
	struct eim_store_cred_lookup l;
	uint8_t fp[32], fp2[32], e1[16], e2[16], e3[16], key[4] = {9, 9, 9, 9};

	fx_fleet(&F, 3, 0);
	fx_eid(1, e1);
	fx_eid(2, e2);
	fx_eid(3, e3);
	memset(fp, 0x11, sizeof(fp));
	memset(fp2, 0x22, sizeof(fp2));

	/* The lookup the DTLS layer does: key and EIDs. */
	ck_assert_int_eq(eim_store_credential_lookup(F.s, EIM_STORE_CRED_PSK,
						     (const uint8_t *)"dev2", 4,
						     &l),
			 0);
	ck_assert_uint_eq(l.secret_len, 16);
	ck_assert_uint_eq(l.secret[0], 2);
	ck_assert_uint_eq(l.n_eids, 1);
	ck_assert_mem_eq(l.eids[0], e2, 16);
	eim_store_cred_lookup_done(&l);
	ck_assert_ptr_null(l.secret);
	ck_assert_int_eq(eim_store_credential_lookup(F.s, EIM_STORE_CRED_PSK,
						     (const uint8_t *)"devX", 4,
						     &l),
			 EIM_ENOTFOUND);
	ck_assert_str_eq(eim_store_errmsg(F.s),
			 "PSK identity 'devX' is not bound to any device");

	/* Certificate fingerprint, then a gateway grant. */
	ck_assert_int_eq(eim_store_credential_set(F.s, e1, EIM_STORE_CRED_CERT,
						  fp, 32, NULL, 0),
			 0);
	ck_assert_int_eq(eim_store_credential_set(F.s, e2, EIM_STORE_CRED_CERT,
						  fp, 32, NULL, 0),
			 EIM_EEXIST);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s),
				    "certificate fingerprint 1111"));
	ck_assert_int_eq(eim_store_credential_set(F.s, e1, EIM_STORE_CRED_CERT,
						  fp, 31, NULL, 0),
			 EIM_EINVAL);
	ck_assert_int_eq(eim_store_credential_set(F.s, e1, EIM_STORE_CRED_RPK,
						  fp2, 32, key, 4),
			 EIM_EINVAL); /* fingerprints carry no secret */
	ck_assert_int_eq(eim_store_credential_grant(F.s, EIM_STORE_CRED_CERT,
						    fp, 32, e3),
			 0);
	ck_assert_int_eq(eim_store_credential_grant(F.s, EIM_STORE_CRED_CERT,
						    fp, 32, e3),
			 0); /* idempotent */
	ck_assert_int_eq(eim_store_credential_grant(F.s, EIM_STORE_CRED_CERT,
						    fp2, 32, e3),
			 EIM_ENOTFOUND);
	ck_assert_int_eq(eim_store_credential_lookup(F.s, EIM_STORE_CRED_CERT,
						     fp, 32, &l),
			 0);
	ck_assert_ptr_null(l.secret);
	ck_assert_uint_eq(l.n_eids, 2);
	ck_assert_mem_eq(l.eids[0], e1, 16);
	ck_assert_mem_eq(l.eids[1], e3, 16);
	eim_store_cred_lookup_done(&l);

	/* Replacing the PSK of device 2 keeps it unique; the old one is gone.
	 */
	ck_assert_int_eq(eim_store_credential_set(F.s, e2, EIM_STORE_CRED_PSK,
						  (const uint8_t *)"dev2b", 5,
						  key, 4),
			 0);
	ck_assert_int_eq(eim_store_credential_lookup(F.s, EIM_STORE_CRED_PSK,
						     (const uint8_t *)"dev2", 4,
						     &l),
			 EIM_ENOTFOUND);
	ck_assert_int_eq(eim_store_credential_lookup(F.s, EIM_STORE_CRED_PSK,
						     (const uint8_t *)"dev2b",
						     5, &l),
			 0);
	ck_assert_uint_eq(l.secret_len, 4);
	eim_store_cred_lookup_done(&l);
	ck_assert_int_eq(eim_store_credential_set(F.s, e3, EIM_STORE_CRED_PSK,
						  (const uint8_t *)"dev2b", 5,
						  key, 4),
			 EIM_EEXIST);
	ck_assert_int_eq(eim_store_credential_remove(F.s, e2,
						     EIM_STORE_CRED_PSK),
			 0);
	ck_assert_int_eq(eim_store_credential_remove(F.s, e2,
						     EIM_STORE_CRED_PSK),
			 EIM_ENOTFOUND);
	ck_assert_int_eq(eim_store_credential_set(F.s, e3, EIM_STORE_CRED_PSK,
						  (const uint8_t *)"dev2b", 5,
						  key, 4),
			 0);
	ck_assert_int_eq(eim_store_credential_set(F.s, e3, 7,
						  (const uint8_t *)"x", 1, NULL,
						  0),
			 EIM_EINVAL);
}
END_TEST

START_TEST(credential_lookup_out_of_memory)
{
	struct eim_store_cred_lookup l = {0};
	unsigned long failed;
	int err;

	fx_fleet(&F, 1, 0);
	/* Warm the statement cache so the injected failure hits our copy. */
	ck_assert_int_eq(eim_store_credential_lookup(F.s, EIM_STORE_CRED_PSK,
						     (const uint8_t *)"dev1", 4,
						     &l),
			 0);
	eim_store_cred_lookup_done(&l);
	eim_alloc_fail_after(0);
	err = eim_store_credential_lookup(F.s, EIM_STORE_CRED_PSK,
					  (const uint8_t *)"dev1", 4, &l);
	failed = eim_alloc_failed_count();
	eim_alloc_fail_reset();
	ck_assert_int_eq(err, EIM_ENOMEM);
	ck_assert_uint_ge(failed, 1);
	ck_assert_ptr_null(l.secret);
}
END_TEST

static int grab_assoc(void *ctx, const struct eim_store_assoc *a)
{
	struct eim_store_assoc *out = ctx;

	*out = *a;
	out->euicc_chain = NULL; /* view dies with the callback */
	return 0;
}

START_TEST(associations)
{
	struct eim_store_identity id2 = {.eim_id = "eim-2", .key_ref = "k2"};
	struct eim_store_assoc_set a = {.eim_id = "eim-2"};
	struct eim_store_assoc got = {0};
	static const uint8_t chain[] = {0x30, 0x82, 0x01};

	fx_fleet(&F, 1, 100);
	fx_eid(1, a.eid);
	ck_assert_int_eq(eim_store_assoc_get(F.s, "eim-1", a.eid, grab_assoc,
					     &got),
			 0);
	ck_assert_uint_eq(got.counter, 100);
	ck_assert(!got.has_token);
	ck_assert_int_eq(eim_store_assoc_get(F.s, "eim-2", a.eid, grab_assoc,
					     &got),
			 EIM_ENOTFOUND);
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), EIM_ENOTFOUND);
	ck_assert_int_eq(eim_store_identity_add(F.s, &id2), 0);
	a.set_counter = true;
	a.counter = 7;
	a.set_token = true;
	a.has_token = true;
	a.token = 3;
	a.set_chain = true;
	a.euicc_chain = chain;
	a.euicc_chain_len = sizeof(chain);
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), 0);
	ck_assert_int_eq(eim_store_assoc_get(F.s, "eim-2", a.eid, grab_assoc,
					     &got),
			 0);
	ck_assert_uint_eq(got.counter, 7);
	ck_assert(got.has_token);
	ck_assert_int_eq(got.token, 3);
	ck_assert_uint_eq(got.euicc_chain_len, sizeof(chain));
	/* Counters only go up; above the maximum is refused. */
	a.set_token = a.set_chain = false;
	a.counter = 6;
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), EIM_ERANGE);
	ck_assert(eim_test_contains(eim_store_errmsg(F.s), "only go up"));
	a.counter = EIM_STORE_COUNTER_MAX + 1;
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), EIM_ERANGE);
	a.counter = 50;
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), 0);
	ck_assert_int_eq(eim_store_assoc_get(F.s, "eim-2", a.eid, grab_assoc,
					     &got),
			 0);
	ck_assert_uint_eq(got.counter, 50);
	ck_assert_int_eq(got.token, 3); /* untouched */
	/* Clearing the token. */
	a.set_counter = false;
	a.set_token = true;
	a.has_token = false;
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), 0);
	ck_assert_int_eq(eim_store_assoc_get(F.s, "eim-2", a.eid, grab_assoc,
					     &got),
			 0);
	ck_assert(!got.has_token);
	fx_eid(5, a.eid);
	ck_assert_int_eq(eim_store_assoc_set(F.s, &a), EIM_ENOTFOUND);
}
END_TEST

START_TEST(device_seen_and_lists)
{
	struct dev_seen v = {0};
	uint8_t eid[16];

	fx_fleet(&F, 1, 0);
	fx_eid(1, eid);
	F.clock.now += 5000;
	ck_assert_int_eq(eim_store_device_seen(F.s, eid, "192.0.2.1:5684"), 0);
	ck_assert_int_eq(eim_store_device_set_lists(F.s, eid, "[\"eim-1\"]",
						    NULL),
			 0);
	ck_assert_int_eq(eim_store_device_list(F.s, eid, grab_device, &v), 0);
	ck_assert_int_eq(v.d.last_seen_ms, F.clock.now);
	ck_assert_str_eq(v.addr, "192.0.2.1:5684");
	ck_assert_str_eq(v.lists, "[\"eim-1\"]");
	ck_assert_ptr_null(v.d.profile_list);
	fx_eid(2, eid);
	ck_assert_int_eq(eim_store_device_seen(F.s, eid, NULL), EIM_ENOTFOUND);
	ck_assert_int_eq(eim_store_device_set_lists(F.s, eid, "[]", "[]"),
			 EIM_ENOTFOUND);
}
END_TEST

START_TEST(device_seen_many_in_one_transaction)
{
	struct dev_seen v = {0};
	struct eim_store_seen c[4];

	fx_fleet(&F, 2, 0);
	memset(c, 0, sizeof(c));
	fx_eid(1, c[0].eid);
	c[0].at_ms = 2000;
	c[0].addr = "192.0.2.1:1000";
	fx_eid(3, c[1].eid); /* unknown: skipped, not an error */
	c[1].at_ms = 2000;
	fx_eid(2, c[2].eid);
	c[2].at_ms = 3000;
	c[2].addr = "[2001:db8::2]:5684";
	fx_eid(1, c[3].eid); /* older than c[0]: never moves time back */
	c[3].at_ms = 1000;
	c[3].addr = "192.0.2.9:9";
	ck_assert_int_eq(eim_store_device_seen_many(F.s, c, 4), 0);
	ck_assert_int_eq(eim_store_device_list(F.s, c[0].eid, grab_device, &v),
			 0);
	ck_assert_int_eq(v.d.last_seen_ms, 2000);
	ck_assert_str_eq(v.addr, "192.0.2.1:1000");
	ck_assert_int_eq(eim_store_device_list(F.s, c[2].eid, grab_device, &v),
			 0);
	ck_assert_int_eq(v.d.last_seen_ms, 3000);
	ck_assert_str_eq(v.addr, "[2001:db8::2]:5684");
	/* NULL address keeps the last one */
	c[0].at_ms = 4000;
	c[0].addr = NULL;
	ck_assert_int_eq(eim_store_device_seen_many(F.s, c, 1), 0);
	ck_assert_int_eq(eim_store_device_list(F.s, c[0].eid, grab_device, &v),
			 0);
	ck_assert_int_eq(v.d.last_seen_ms, 4000);
	ck_assert_str_eq(v.addr, "192.0.2.1:1000");
	ck_assert_int_eq(eim_store_device_seen_many(F.s, NULL, 0), 0);
	ck_assert_int_eq(eim_store_device_seen_many(F.s, NULL, 1), EIM_EINVAL);
}
END_TEST

static int count_devices(void *ctx, const struct eim_store_device *d)
{
	(void)d;
	(*(int *)ctx)++;
	return 0;
}

static int count_audit(void *ctx, const struct eim_store_audit *a)
{
	if (strcmp(a->action, "device-remove") == 0)
		(*(int *)ctx)++;
	return 0;
}

START_TEST(device_remove)
{
	struct fx_signer sg = {0};
	struct eim_store_enqueue_req rq = {0};
	struct eim_store_enqueued done;
	struct eim_store_package p;
	struct eim_store_cred_lookup l;
	struct eim_store_filter f;
	char counters[128];
	bool found = false;
	uint8_t eid[16];
	int removed = 0;

	fx_fleet(&F, 2, 40);
	fx_eid(1, eid);
	memcpy(rq.eid, eid, 16);
	rq.kind = "psmo";
	rq.summary = "[]";
	ck_assert_int_eq(eim_store_enqueue(F.s, &rq, fx_sign, &sg, &done), 0);
	ck_assert_int_eq(eim_store_enqueue(F.s, &rq, fx_sign, &sg, &done), 0);
	ck_assert_int_eq(eim_store_next(F.s, eid, &p, &found), 0);
	ck_assert(found);
	/* a package is in flight: refused, nothing changes */
	ck_assert_int_eq(eim_store_device_remove(F.s, eid, false, NULL, 0),
			 EIM_ESTATE);
	ck_assert(strstr(eim_store_errmsg(F.s), "awaiting a result"));
	int devices = 0;
	ck_assert_int_eq(eim_store_device_list(F.s, eid, count_devices,
					       &devices),
			 0);
	ck_assert_int_eq(devices, 1);
	/* forced: everything of device 1 goes, device 2 stays */
	ck_assert_int_eq(eim_store_device_remove(F.s, eid, true, counters,
						 sizeof(counters)),
			 0);
	ck_assert_str_eq(counters, "'eim-1' counter 42");
	ck_assert_int_eq(eim_store_device_list(F.s, eid, count_devices,
					       &devices),
			 EIM_ENOTFOUND);
	ck_assert_int_eq(eim_store_credential_lookup(F.s, EIM_STORE_CRED_PSK,
						     (const uint8_t *)"dev1", 4,
						     &l),
			 EIM_ENOTFOUND);
	eim_store_filter_init(&f);
	ck_assert_int_eq(eim_store_audit_list(F.s, &f, count_audit, &removed),
			 0);
	ck_assert_int_eq(removed, 1); /* the audit trail keeps the history */
	ck_assert_int_eq(eim_store_device_remove(F.s, eid, false, NULL, 0),
			 EIM_ENOTFOUND);
	fx_eid(2, eid);
	ck_assert_int_eq(eim_store_credential_lookup(F.s, EIM_STORE_CRED_PSK,
						     (const uint8_t *)"dev2", 4,
						     &l),
			 0);
	eim_store_cred_lookup_done(&l);
	/* the PSK identity is free again: a new device may take it */
	ck_assert_int_eq(eim_store_check(F.s), 0);
}
END_TEST

START_TEST(check_finds_corruption)
{
	struct eim_store *s = NULL;
	char buf[4096];
	FILE *fp;
	long size;

	fx_fleet(&F, 200, 0);
	eim_store_close(F.s);
	F.s = NULL;
	/* Smash the b-tree page headers of the last pages (device and
	 * audit rows); the schema pages at the start stay intact, so the
	 * file opens and only the check can tell. */
	fp = fopen(F.path, "r+b");
	ck_assert_ptr_nonnull(fp);
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	ck_assert_int_gt(size, 4 * 4096);
	memset(buf, 0x5A, sizeof(buf));
	for (long pg = size / 4096 - 3; pg < size / 4096; pg++) {
		fseek(fp, pg * 4096, SEEK_SET);
		ck_assert_uint_eq(fwrite(buf, 1, 12, fp), 12);
	}
	fclose(fp);
	ck_assert_msg(eim_store_open(F.path, &F.opt, &s) == 0, "%s",
		      eim_store_open_errmsg());
	ck_assert_int_eq(eim_store_check(s), EIM_EDB);
	ck_assert(eim_test_contains(eim_store_errmsg(s), "integrity check: "));
	eim_store_close(s);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store_device");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, open_creates_private_file);
	tcase_add_test(tc, open_sets_pragmas);
	tcase_add_test(tc, open_refuses_newer_schema);
	tcase_add_test(tc, open_bad_arguments);
	tcase_add_test(tc, open_not_a_database);
	tcase_add_test(tc, migrate_from_version_1);
	tcase_add_test(tc, eid_text);
	tcase_add_test(tc, identities);
	tcase_add_test(tc, device_add_and_list);
	tcase_add_test(tc, device_add_errors);
	tcase_add_test(tc, credentials);
	tcase_add_test(tc, credential_lookup_out_of_memory);
	tcase_add_test(tc, associations);
	tcase_add_test(tc, device_seen_and_lists);
	tcase_add_test(tc, device_seen_many_in_one_transaction);
	tcase_add_test(tc, device_remove);
	tcase_add_test(tc, check_finds_corruption);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(srunner_create(store_suite()));
}
