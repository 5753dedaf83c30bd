/*
 * eim_store.h - the eIM's persistent state in one SQLite file.
 *
 * Everything the eIM must not lose lives here: eIM identities, devices and
 * the DTLS credentials that may act for them, the per-(eIM, EID) counter and
 * associationToken, the per-device package queue, received results and
 * notifications, and an append-only audit trail. store/ is the only code that
 * speaks SQL. It never parses SGP.32: signed packages and received results
 * are opaque byte strings, and their human summaries are text (often JSON)
 * that the caller produced.
 *
 * Representation choices (SGP.32 section 2.11, see also DESIGN.md):
 *   - An EID is always 16 raw bytes (the Octet16 of the wire, 32 BCD digits).
 *     The store checks only the shape: every nibble must be a decimal digit.
 *     Check digits are the service's business. eim_store_eid_parse() turns
 *     the 32-digit text form into bytes.
 *   - counterValue is per (eIM identity, EID). The association row holds the
 *     last value used (or given to the eUICC at association time); the next
 *     package gets last + 1. The eUICC only needs strictly greater values,
 *     so gaps are harmless and reuse is impossible by construction: the
 *     counter advance and the package row are committed in one transaction.
 *   - Times are Unix milliseconds (int64_t) from the store's clock.
 *   - Certificate and raw-public-key fingerprints are SHA-256, 32 bytes.
 *
 * Queue state machine (one package in flight per device, FIFO):
 *
 *   queued --next--> sent --result--> done
 *     |  \                \__ next again: same bytes, attempts + 1
 *     |   \--validity passed--> expired
 *     \--cancel--> cancelled
 *
 * Every transition and every operator action is appended to the audit table,
 * which triggers make append-only.
 *
 * Ownership and lifetime: the handle is created by eim_store_open() and
 * freed by eim_store_close(). Views (const pointers) handed to callbacks are
 * valid only during the callback; views returned by eim_store_next() are
 * valid until the next eim_store_next() or eim_store_close() on the same
 * handle (so they may be passed straight to eim_store_result_record()).
 * A handle is not thread-safe; several processes may share one file (WAL
 * mode, and every write transaction taken with BEGIN IMMEDIATE so that
 * waits happen in the store's busy handler, which polls at sub-millisecond
 * intervals for up to busy_timeout_ms, rather than as SQLITE_BUSY at the
 * caller). Only when that timeout passes does a call return EIM_EBUSY.
 *
 * Errors: functions return 0 or a negative EIM_E* code. After an error,
 * eim_store_errmsg() gives one human line naming what was wrong.
 */
#ifndef EIM_STORE_H
#define EIM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/eim_bytes.h"

#define EIM_STORE_EID_LEN 16
/* Largest counterValue an eUICC is required to handle (0x7FFFFF). */
#define EIM_STORE_COUNTER_MAX 8388607u
#define EIM_STORE_TXID_MAX 16
#define EIM_STORE_FP_LEN 32
#define EIM_STORE_EIM_ID_MAX 128
#define EIM_STORE_PSK_IDENTITY_MAX 128
#define EIM_STORE_PSK_KEY_MAX 64
/* Schema version this code writes; older files are migrated on open. */
#define EIM_STORE_SCHEMA_VERSION 2

struct eim_store;

enum eim_store_sync {
	EIM_STORE_SYNC_FULL = 0, /* fsync at every commit (default) */
	EIM_STORE_SYNC_NORMAL,	 /* WAL: durable across crashes of eim, not
				    necessarily across power loss */
};

/* Clock returning Unix milliseconds. */
typedef int64_t (*eim_store_clock_fn)(void *ctx);

struct eim_store_options {
	enum eim_store_sync synchronous;
	/* How long a writer waits for another process's lock (ms). */
	int busy_timeout_ms;
	/* Enqueues that reach this counterValue set counter_warning. */
	uint32_t counter_warn;
	/* Recorded as the actor of audit entries ("cli", "server", ...). */
	const char *actor;
	/* NULL: the real clock. Tests set a fake one to exercise expiry. */
	eim_store_clock_fn clock;
	void *clock_ctx;
	/*
	 * 0: migrate to EIM_STORE_SCHEMA_VERSION. Other values stop the
	 * migration at that version; used by the tests to create old files.
	 */
	unsigned schema_version;
};

/* Defaults: FULL, 10000 ms, warn at 8,000,000, actor "eim", real clock. */
void eim_store_options_init(struct eim_store_options *opt);

/*
 * Opens (creating with mode 0600 if missing) the database at `path`, sets
 * WAL, foreign keys, busy timeout and synchronous, and migrates the schema.
 * `opt` may be NULL for defaults; it is copied. On success *ret owns the
 * handle (free with eim_store_close()). On failure *ret is untouched and a
 * message is available from eim_store_open_errmsg() until the next open.
 * Errors: EIM_EINVAL, EIM_EIO (cannot create/open the file), EIM_EVERSION
 * (the file was written by a newer eim), EIM_EDB, EIM_ENOMEM, EIM_EBUSY.
 */
int eim_store_open(const char *path, const struct eim_store_options *opt,
		   struct eim_store **ret);
/* Closes and frees the handle (NULL is a no-op). */
void eim_store_close(struct eim_store *s);
/* Message of the last failed eim_store_open() in this process (static). */
const char *eim_store_open_errmsg(void);
/* Human message for the last error on `s` ("" if none); owned by `s`. */
const char *eim_store_errmsg(const struct eim_store *s);
/* Schema version of the open file. */
unsigned eim_store_schema_version(struct eim_store *s);
/* Runs PRAGMA integrity_check: 0 when "ok", EIM_EDB with the finding. */
int eim_store_check(struct eim_store *s);

/*
 * Change detection, for caches kept above the store (eim serve):
 *   eim_store_data_version() gives a number that differs from the last one
 *   it gave whenever another connection (any process) committed a change
 *   in between. It costs one short read transaction (PRAGMA data_version).
 *   eim_store_local_changes() counts the rows this handle changed (no I/O).
 * Together they see every change: a cache valid for (version, local) is
 * valid while neither moves. 0 or EIM_EDB.
 */
int eim_store_data_version(struct eim_store *s, uint64_t *ret);
uint64_t eim_store_local_changes(const struct eim_store *s);

/* ---- explicit transactions ------------------------------------------- */

/*
 * Several store calls committed together, with one sync of the file: eim
 * serve records a device's result, what it learnt from it and the
 * acknowledgements it is about to send in one transaction, so that a
 * report costs one fdatasync, not one per call, and the acknowledgement
 * leaves only once all of it is on disk.
 *
 * eim_store_tx_begin() takes the write lock (BEGIN IMMEDIATE, waiting as
 * any write does; EIM_EBUSY after busy_timeout_ms). Until the commit or
 * rollback, every store call on `s` runs inside it, each still all or
 * nothing: a call that fails undoes its own changes (a savepoint) and
 * leaves the earlier ones in the transaction; nothing is durable, or
 * visible to other connections, before eim_store_tx_commit() returns 0.
 * Inside a transaction:
 *   - batched calls (eim_store_device_add_many, eim_store_enqueue_many)
 *     commit their batches into it, not into the file;
 *   - eim_store_enqueue_bulk is refused (EIM_ESTATE): its counters must be
 *     committed before it signs;
 *   - eim_store_flush writes nothing (the counts wait for the next flush
 *     outside), and re-delivery counts a result writes are forgotten from
 *     memory only when the transaction commits.
 * Keep it short: other processes wait for the write lock meanwhile.
 *
 * eim_store_tx_begin: 0, EIM_ESTATE (one is open already: they do not
 *   nest), EIM_EBUSY, EIM_EDB.
 * eim_store_tx_commit: 0 when everything done inside it is in the file.
 *   Otherwise nothing of it is, the transaction is over (a new one may
 *   begin) and the error says why: EIM_ESTATE (none open), EIM_EIO (a
 *   full disk, an I/O error), EIM_ENOMEM, EIM_EBUSY or EIM_EDB from
 *   SQLite; EIM_EDB when SQLite itself abandoned the transaction after an
 *   error of a call inside it (the calls made after that fail too).
 * eim_store_tx_rollback: drops everything done since the begin (no-op when
 *   none is open). eim_store_close() rolls back one left open.
 */
int eim_store_tx_begin(struct eim_store *s);
int eim_store_tx_commit(struct eim_store *s);
void eim_store_tx_rollback(struct eim_store *s);
/* True between a successful eim_store_tx_begin and its commit/rollback. */
bool eim_store_tx_active(const struct eim_store *s);
/*
 * Write transactions this handle committed that changed at least one row
 * (each one a sync of the file under EIM_STORE_SYNC_FULL): for statistics
 * and for tests that count what an operation costs. No I/O.
 */
uint64_t eim_store_commits(const struct eim_store *s);

/*
 * Parses 32 decimal digits (spaces allowed between groups) into 16 bytes.
 * Returns 0, or EIM_EMALFORMED (wrong length or a non-digit).
 */
int eim_store_eid_parse(const char *text, uint8_t ret[EIM_STORE_EID_LEN]);
/* Formats an EID as 32 digits plus NUL into out (33 bytes). Returns out. */
char *eim_store_eid_format(const uint8_t eid[EIM_STORE_EID_LEN], char *out);

/* ---- eIM identities -------------------------------------------------- */

struct eim_store_identity {
	const char *eim_id;  /* 1..128 bytes of UTF-8 */
	const char *key_ref; /* reference to the signing key (path, label) */
	const uint8_t *public_key; /* SPKI or certificate DER, may be NULL */
	size_t public_key_len;
	const char *settings; /* JSON object text; NULL = "{}" */
	int64_t created_ms;   /* output only */
};

/* Adds an identity. EIM_EEXIST if eim_id is taken, EIM_EINVAL on bad shape. */
int eim_store_identity_add(struct eim_store *s,
			   const struct eim_store_identity *id);
/* Replaces key_ref, public key and settings of an existing identity. */
int eim_store_identity_update(struct eim_store *s,
			      const struct eim_store_identity *id);
typedef int (*eim_store_identity_cb)(void *ctx,
				     const struct eim_store_identity *id);
/* Calls cb for one identity (EIM_ENOTFOUND if absent) or, with eim_id
 * NULL, for all. A nonzero cb return stops and is returned. */
int eim_store_identity_list(struct eim_store *s, const char *eim_id,
			    eim_store_identity_cb cb, void *ctx);

/* ---- devices and credentials ------------------------------------------ */

enum eim_store_cred_kind {
	EIM_STORE_CRED_PSK = 1,	 /* identity = PSK identity, secret = key */
	EIM_STORE_CRED_CERT = 2, /* identity = SHA-256 of the client cert */
	EIM_STORE_CRED_RPK = 3,	 /* identity = SHA-256 of the SPKI */
};

struct eim_store_device_new {
	uint8_t eid[EIM_STORE_EID_LEN];
	const char *eim_id; /* managing eIM identity; must exist */
	/* Optional credentials (NULL/0 when absent). */
	const uint8_t *psk_identity;
	size_t psk_identity_len;
	const uint8_t *psk_key;
	size_t psk_key_len;
	const uint8_t *cert_fp; /* EIM_STORE_FP_LEN bytes */
	const uint8_t *rpk_fp;	/* EIM_STORE_FP_LEN bytes */
	/* counterValue the eUICC was given for this eIM (next package: +1). */
	uint32_t initial_counter;
	bool has_association_token;
	int64_t association_token;
	/* Optional: the eUICC certificate then the EUM certificate (DER,
	 * concatenated), stored with the association to verify results. */
	const uint8_t *euicc_chain;
	size_t euicc_chain_len;
};

/*
 * Adds a device, its credentials and its association with the managing
 * identity, all or nothing. Errors: EIM_EMALFORMED (EID nibble not a digit),
 * EIM_EEXIST (device exists, or a credential is bound to another device:
 * the message says which), EIM_ENOTFOUND (unknown eim_id), EIM_ERANGE
 * (initial counter > EIM_STORE_COUNTER_MAX), EIM_EINVAL (PSK identity without
 * key or sizes out of bounds).
 */
int eim_store_device_add(struct eim_store *s,
			 const struct eim_store_device_new *d);

/* Called after each committed batch (bulk operations). */
typedef void (*eim_store_progress_fn)(void *ctx, size_t done, size_t total);

/*
 * Adds n devices in transactions of `batch` (0 = 1000): a fleet import must
 * not take one transaction (and one fsync) per device. Every entry is
 * checked first; then each batch is atomic, and on the first error the
 * failing batch is rolled back, earlier batches stay, *ret_done says how
 * many were added and the message names the failing entry.
 */
int eim_store_device_add_many(struct eim_store *s,
			      const struct eim_store_device_new *d, size_t n,
			      size_t batch, eim_store_progress_fn progress,
			      void *progress_ctx, size_t *ret_done);

/*
 * Binds (or replaces) the device's credential of `kind`. `secret` is the PSK
 * key for EIM_STORE_CRED_PSK and must be NULL otherwise. EIM_EEXIST if the
 * identity is bound to another device.
 */
int eim_store_credential_set(struct eim_store *s,
			     const uint8_t eid[EIM_STORE_EID_LEN],
			     enum eim_store_cred_kind kind,
			     const uint8_t *ident, size_t ident_len,
			     const uint8_t *secret, size_t secret_len);
/* Removes the device's credential of `kind` (EIM_ENOTFOUND if none). */
int eim_store_credential_remove(struct eim_store *s,
				const uint8_t eid[EIM_STORE_EID_LEN],
				enum eim_store_cred_kind kind);
/*
 * Lets an existing credential also act for `eid` (a gateway acting for
 * several eUICCs). EIM_ENOTFOUND if the credential or device is unknown.
 */
int eim_store_credential_grant(struct eim_store *s,
			       enum eim_store_cred_kind kind,
			       const uint8_t *ident, size_t ident_len,
			       const uint8_t eid[EIM_STORE_EID_LEN]);

/* What a credential may do: the answer the DTLS layer needs. */
struct eim_store_cred_lookup {
	uint8_t *secret; /* PSK key (eim_malloc'd) or NULL */
	size_t secret_len;
	uint8_t (*eids)[EIM_STORE_EID_LEN]; /* eim_malloc'd array */
	size_t n_eids;			    /* >= 1 */
};
/*
 * The one query that returns a secret. Fills *ret (owned by the caller, free
 * with eim_store_cred_lookup_done(), which wipes the secret).
 * EIM_ENOTFOUND if no such credential.
 */
int eim_store_credential_lookup(struct eim_store *s,
				enum eim_store_cred_kind kind,
				const uint8_t *ident, size_t ident_len,
				struct eim_store_cred_lookup *ret);
void eim_store_cred_lookup_done(struct eim_store_cred_lookup *l);

/* A device as listed to operators: no secrets. */
struct eim_store_device {
	uint8_t eid[EIM_STORE_EID_LEN];
	const char *eim_id; /* managing identity */
	int64_t created_ms;
	int64_t last_seen_ms;	  /* 0 = never */
	const char *last_addr;	  /* NULL = never */
	const char *eim_list;	  /* as reported in results, NULL if unknown */
	const char *profile_list; /* idem */
	int64_t last_seq;	  /* highest seqNumber seen, -1 = none */
	const uint8_t *psk_identity; /* NULL = no PSK */
	size_t psk_identity_len;
	bool has_cert_fp, has_rpk_fp;
	uint8_t cert_fp[EIM_STORE_FP_LEN];
	uint8_t rpk_fp[EIM_STORE_FP_LEN];
	uint32_t counter; /* last counterValue used with the managing eIM */
	bool has_association_token;
	int64_t association_token;
	uint64_t pending; /* queued + sent packages */
};
typedef int (*eim_store_device_cb)(void *ctx, const struct eim_store_device *d);
/* One device (eid non-NULL, EIM_ENOTFOUND if absent) or all, by EID. */
int eim_store_device_list(struct eim_store *s, const uint8_t *eid,
			  eim_store_device_cb cb, void *ctx);
/*
 * Removes a device with its credentials, associations, packages, results
 * and notifications, in one transaction; the audit trail keeps its history
 * (and the last counterValue of each association, which the eUICC still
 * holds: a device added again must start above them). Refused with
 * EIM_ESTATE while a package is delivered and awaiting its result, unless
 * `force`. When ret_counters is given it receives "'eimId' counter N, ...".
 * EIM_ENOTFOUND for an unknown EID.
 */
int eim_store_device_remove(struct eim_store *s,
			    const uint8_t eid[EIM_STORE_EID_LEN], bool force,
			    char *ret_counters, size_t cap);
/* Records when and from where the device was last heard (no audit). */
int eim_store_device_seen(struct eim_store *s,
			  const uint8_t eid[EIM_STORE_EID_LEN],
			  const char *addr);
/* One contact, for eim_store_device_seen_many(). */
struct eim_store_seen {
	uint8_t eid[EIM_STORE_EID_LEN];
	int64_t at_ms;	  /* when (Unix ms) */
	const char *addr; /* NULL keeps the last one */
};
/*
 * Records n contacts in one transaction (a server batches them: each
 * separate write would cost a commit). Unknown EIDs are skipped; a contact
 * never moves last_seen backwards.
 */
int eim_store_device_seen_many(struct eim_store *s,
			       const struct eim_store_seen *v, size_t n);
/* Stores the eIM list / profile list (text, e.g. JSON); NULL keeps one. */
int eim_store_device_set_lists(struct eim_store *s,
			       const uint8_t eid[EIM_STORE_EID_LEN],
			       const char *eim_list, const char *profile_list);

/* ---- associations (eIM identity, EID): counter, token, eUICC chain ----- */

struct eim_store_assoc {
	uint32_t counter; /* last counterValue used/given */
	bool has_token;
	int64_t token;
	const uint8_t *euicc_chain; /* NULL if unknown; view */
	size_t euicc_chain_len;
};
/*
 * Creates the association or updates fields selected by set_*. A counter
 * may only go up (EIM_ERANGE otherwise: going down would reuse values),
 * except in a renewal: a lower counter together with a new, different
 * associationToken (set_token, has_token) starts a new generation of the
 * association. Packages signed before can no longer verify, so the old
 * generation's queued packages are cancelled (audited); sent ones stay
 * until their result or an operator says otherwise.
 */
struct eim_store_assoc_set {
	const char *eim_id;
	uint8_t eid[EIM_STORE_EID_LEN];
	bool set_counter;
	uint32_t counter;
	bool set_token;
	bool has_token; /* false clears the token */
	int64_t token;
	bool set_chain;
	const uint8_t *euicc_chain;
	size_t euicc_chain_len;
};
int eim_store_assoc_set(struct eim_store *s,
			const struct eim_store_assoc_set *a);
typedef int (*eim_store_assoc_cb)(void *ctx, const struct eim_store_assoc *a);
/* Calls cb once with the association; EIM_ENOTFOUND if none. */
int eim_store_assoc_get(struct eim_store *s, const char *eim_id,
			const uint8_t eid[EIM_STORE_EID_LEN],
			eim_store_assoc_cb cb, void *ctx);

/* ---- queue ------------------------------------------------------------- */

enum eim_store_state {
	EIM_STORE_QUEUED = 0,
	EIM_STORE_SENT = 1,
	EIM_STORE_DONE = 2,
	EIM_STORE_EXPIRED = 3,
	EIM_STORE_CANCELLED = 4,
};
#define EIM_STORE_STATE_COUNT 5
/* "queued", "sent", "done", "expired", "cancelled" (or "?"). */
const char *eim_store_state_name(int state);
/* Inverse of eim_store_state_name; EIM_EINVAL if unknown. */
int eim_store_state_parse(const char *name, enum eim_store_state *ret);

/* What the signer gets: sign exactly these values. */
struct eim_store_sign_in {
	const char *eim_id;
	const uint8_t *eid; /* 16 bytes */
	uint32_t counter;   /* the counterValue to put in the package */
	bool has_association_token;
	int64_t association_token;
	const char *kind;
	void *req_ctx; /* eim_store_enqueue_req.sign_ctx */
};
/*
 * What the signer returns: the exact bytes to deliver, appended to `bytes`
 * (owned by the store). txid is prefilled from the request; the signer may
 * set one (1..16 bytes) when the request had none.
 */
struct eim_store_sign_out {
	struct eim_buf *bytes;
	uint8_t txid[EIM_STORE_TXID_MAX];
	size_t txid_len;
};
/*
 * Called inside the enqueue transaction, which holds the database's write
 * lock: sign and return, do not call back into the store and do not block
 * on the network. The views in `in` are valid during the call. Returns 0, or
 * a negative EIM_E* code, which rolls the transaction back (the counter is
 * not consumed) and is returned to the caller.
 */
typedef int (*eim_store_sign_fn)(void *ctx, const struct eim_store_sign_in *in,
				 struct eim_store_sign_out *out);

struct eim_store_enqueue_req {
	uint8_t eid[EIM_STORE_EID_LEN];
	const char *eim_id;  /* NULL: the device's managing identity */
	const char *kind;    /* e.g. "psmo", "eco" */
	const char *summary; /* human text / JSON of the operations */
	const uint8_t *txid; /* optional eimTransactionId, 1..16 bytes */
	size_t txid_len;
	int64_t valid_until_ms; /* 0 = no deadline */
	void *sign_ctx;		/* passed to the signer as in->req_ctx */
};
struct eim_store_enqueued {
	int64_t package_id;
	uint32_t counter;
	bool counter_warning; /* counter >= options.counter_warn */
	uint8_t txid[EIM_STORE_TXID_MAX];
	size_t txid_len;
};

/*
 * Takes the next counterValue for (eIM, EID), calls `sign` with it, and
 * stores the package and the new counter in one transaction. Errors:
 * EIM_ENOTFOUND (unknown EID or no association with that eIM),
 * EIM_EEXHAUSTED (counter would pass EIM_STORE_COUNTER_MAX; nothing written),
 * EIM_EINVAL, or the signer's error. *ret is written on success.
 */
int eim_store_enqueue(struct eim_store *s,
		      const struct eim_store_enqueue_req *req,
		      eim_store_sign_fn sign, void *ctx,
		      struct eim_store_enqueued *ret);

/*
 * Enqueues n requests in transactions of `batch` packages (0 = 1000). Each
 * batch is atomic; on the first error the failing batch is rolled back,
 * earlier batches stay committed, *ret_done says how many requests were
 * committed, and the error message names the failing request. `rets` may
 * be NULL or hold n entries (filled for committed requests).
 */
int eim_store_enqueue_many(struct eim_store *s,
			   const struct eim_store_enqueue_req *reqs, size_t n,
			   size_t batch, eim_store_sign_fn sign, void *ctx,
			   eim_store_progress_fn progress, void *progress_ctx,
			   struct eim_store_enqueued *rets, size_t *ret_done);

/*
 * Signs n packages at once, outside any transaction (so it may take its
 * time and use threads): for every i, do what an eim_store_sign_fn does
 * with in[i] and out[i] and put its result (0 or a negative EIM_E*) in
 * errs[i]. The views in `in` are valid during the call; out[i].bytes are
 * distinct buffers, each to be written by one thread only. Returns 0, or an
 * error that fails the whole batch.
 */
typedef int (*eim_store_sign_many_fn)(void *ctx,
				      const struct eim_store_sign_in *in,
				      struct eim_store_sign_out *out, int *errs,
				      size_t n);

/*
 * Like eim_store_enqueue_many, but the signatures are made between two
 * transactions per batch, so that a slow signer (ECDSA, on several
 * threads) does not hold the database's write lock:
 *   1. one transaction reserves the next counterValue of every request of
 *      the batch (the association's counter is advanced and committed);
 *   2. sign_many signs them, outside any transaction;
 *   3. one transaction stores the packages. A package is stored with its
 *      reserved counter only while that is still safe: same association
 *      generation and token, the association's counter not below it, and
 *      no package with that counter or a higher one queued meanwhile
 *      (another process enqueued in between). Otherwise it takes a fresh
 *      counter there and is signed again with `sign` inside the
 *      transaction, as eim_store_enqueue does.
 * A counter value is therefore signed at most once per association
 * generation, packages of a device keep increasing counters in queue
 * order, and a crash between steps 1 and 3 leaves only unused counter
 * values (a gap, which the eUICC accepts; a repeat it would refuse).
 * Errors, *ret_done, rets and progress as for eim_store_enqueue_many; a
 * batch that fails in step 2 or 3 stores nothing, its reserved counters
 * stay unused.
 */
int eim_store_enqueue_bulk(struct eim_store *s,
			   const struct eim_store_enqueue_req *reqs, size_t n,
			   size_t batch, eim_store_sign_many_fn sign_many,
			   eim_store_sign_fn sign, void *ctx,
			   eim_store_progress_fn progress, void *progress_ctx,
			   struct eim_store_enqueued *rets, size_t *ret_done);

/* A package as stored. Pointers are views (see the file comment). */
struct eim_store_package {
	int64_t id;
	uint8_t eid[EIM_STORE_EID_LEN];
	const char *eim_id;
	uint32_t counter;
	uint8_t txid[EIM_STORE_TXID_MAX];
	size_t txid_len;
	const char *kind;
	const char *summary;
	const uint8_t *bytes;
	size_t bytes_len;
	enum eim_store_state state;
	int64_t created_ms, sent_ms, finished_ms; /* 0 = not yet */
	int64_t valid_until_ms;			  /* 0 = none */
	uint32_t attempts;
};

/*
 * The package to deliver to `eid` now: the one in flight (same bytes,
 * attempts + 1) or else the oldest queued one, which becomes sent. Queued
 * packages past their validity are marked expired on the way. *ret_found
 * is false when nothing is to be delivered; an empty queue costs one
 * indexed SELECT and no write. Views in *ret stay valid until the next
 * eim_store_next() on `s`. EIM_ENOTFOUND for an unknown EID.
 *
 * A re-delivery of the package in flight writes nothing either: it is one
 * read transaction, and the extra attempt is counted in this handle's
 * memory (ret->attempts includes it). The counts reach the file with the
 * package's result (same transaction), at eim_store_flush(), at
 * eim_store_close(), or when a few thousand packages have uncounted
 * attempts. A crash loses the counts not yet written (and their
 * "redeliver" audit entries): attempts are informational, nothing decides
 * on them, and the send, the counter and the result are written at once.
 */
int eim_store_next(struct eim_store *s, const uint8_t eid[EIM_STORE_EID_LEN],
		   struct eim_store_package *ret, bool *ret_found);
/*
 * Counts one more delivery of package `id`, in flight to `eid`, in memory,
 * as eim_store_next does for a re-poll: for a caller that answered the
 * re-poll from its own copy of the package, which it may keep only while
 * the store is unchanged (eim_store_data_version, eim_store_local_changes).
 * Writes (eim_store_flush) when many counts wait. 0, EIM_ENOMEM, or the
 * flush's error.
 */
int eim_store_note_redelivery(struct eim_store *s, int64_t id,
			      const uint8_t eid[EIM_STORE_EID_LEN]);
/*
 * Writes the re-delivery counts held in memory (see eim_store_next) in one
 * transaction, with one "redeliver" audit entry per package ("N more
 * deliveries"). No-op when there are none.
 */
int eim_store_flush(struct eim_store *s);
/* Cancels a queued package. EIM_ESTATE if already sent or finished. */
int eim_store_cancel(struct eim_store *s, int64_t package_id);
/* Expires every queued package past its validity; *ret_n may be NULL. */
int eim_store_expire(struct eim_store *s, size_t *ret_n);

/* ---- results, notifications, acknowledgements ------------------------- */

struct eim_store_result_in {
	uint8_t eid[EIM_STORE_EID_LEN];
	const char *eim_id;  /* from the result; NULL if it names none */
	int64_t counter;     /* counterValue in the result, -1 if none */
	const uint8_t *txid; /* eimTransactionId in the result, may be NULL */
	size_t txid_len;
	const uint8_t *bytes; /* the exact bytes received */
	size_t len;
	const char *summary; /* decoded summary text/JSON */
	bool verified;	     /* eUICC signature verified */
	const char *codes;   /* result codes text/JSON, may be NULL */
	int64_t seq_number;  /* -1 if none */
};
struct eim_store_result_out {
	int64_t result_id;
	int64_t package_id; /* 0 if it matched no package */
	bool duplicate;	    /* the same bytes were already recorded */
};
/*
 * Records a result. When (eim_id, counter) names a sent package it becomes
 * done; a result for a done package is recorded as an additional result; a
 * result for a queued/expired/cancelled package is refused (EIM_ESTATE,
 * nothing written). The same bytes twice: *ret says duplicate, nothing
 * changes. EIM_ENOTFOUND for an unknown EID.
 */
int eim_store_result_record(struct eim_store *s,
			    const struct eim_store_result_in *in,
			    struct eim_store_result_out *ret);

struct eim_store_notification_in {
	uint8_t eid[EIM_STORE_EID_LEN];
	int64_t seq_number; /* -1 if none */
	const char *kind;   /* e.g. "install", "enable" */
	const uint8_t *bytes;
	size_t len;
	const char *summary;
};
/* Records a notification; *ret_duplicate (may be NULL) as for results. */
int eim_store_notification_record(struct eim_store *s,
				  const struct eim_store_notification_in *in,
				  bool *ret_duplicate);

/*
 * seqNumbers of results and notifications of `eid` not yet acknowledged,
 * ascending, at most cap. *ret_n is the number written.
 */
int eim_store_acks_pending(struct eim_store *s,
			   const uint8_t eid[EIM_STORE_EID_LEN], int64_t *seqs,
			   size_t cap, size_t *ret_n);
/* Marks those seqNumbers acknowledged (sent to the IPA). */
int eim_store_acks_done(struct eim_store *s,
			const uint8_t eid[EIM_STORE_EID_LEN],
			const int64_t *seqs, size_t n);

struct eim_store_result {
	int64_t id;
	int64_t package_id; /* 0 = unmatched */
	uint8_t eid[EIM_STORE_EID_LEN];
	const uint8_t *bytes;
	size_t len;
	const char *summary;
	const char *codes; /* may be NULL */
	bool verified;
	int64_t seq_number; /* -1 = none */
	int64_t received_ms;
};
typedef int (*eim_store_result_cb)(void *ctx, const struct eim_store_result *r);
/* Results of one device (eid non-NULL) or one package (package_id > 0),
 * oldest first. */
int eim_store_result_list(struct eim_store *s, const uint8_t *eid,
			  int64_t package_id, eim_store_result_cb cb,
			  void *ctx);

/* ---- queries for operators --------------------------------------------- */

struct eim_store_filter;

struct eim_store_filter {
	const uint8_t *eid; /* NULL = all devices */
	int state;	    /* -1 = any state */
	int64_t from_ms;    /* created >= from (0 = no bound) */
	int64_t to_ms;	    /* created < to (0 = no bound) */
	size_t limit;	    /* 0 = no limit */
};
/* Sets all fields to "no restriction". */
void eim_store_filter_init(struct eim_store_filter *f);
typedef int (*eim_store_package_cb)(void *ctx,
				    const struct eim_store_package *p);
/* Packages matching f, oldest first. EIM_ENOTFOUND if f->eid is unknown. */
int eim_store_package_list(struct eim_store *s,
			   const struct eim_store_filter *f,
			   eim_store_package_cb cb, void *ctx);
/*
 * Results matching f (eid, and from/to on the time received; state
 * ignored), oldest first. EIM_ENOTFOUND if f->eid is unknown.
 */
int eim_store_result_query(struct eim_store *s,
			   const struct eim_store_filter *f,
			   eim_store_result_cb cb, void *ctx);
/* One package by id (EIM_ENOTFOUND). */
int eim_store_package_get(struct eim_store *s, int64_t id,
			  eim_store_package_cb cb, void *ctx);
/* Package counts per state (indexed by enum eim_store_state) for one
 * device or all (eid NULL). */
int eim_store_package_counts(struct eim_store *s, const uint8_t *eid,
			     uint64_t ret[EIM_STORE_STATE_COUNT]);

struct eim_store_backlog {
	uint8_t eid[EIM_STORE_EID_LEN];
	int64_t oldest_ms; /* creation time of the oldest queued/sent package */
	uint64_t pending;
};
typedef int (*eim_store_backlog_cb)(void *ctx,
				    const struct eim_store_backlog *b);
/* The n devices whose oldest undelivered package is oldest. */
int eim_store_backlog(struct eim_store *s, size_t n, eim_store_backlog_cb cb,
		      void *ctx);

/* ---- audit ------------------------------------------------------------- */

struct eim_store_audit {
	int64_t id;
	int64_t at_ms;
	const char *actor;
	const char *action; /* e.g. "enqueue", "sent", "cancel" */
	bool has_eid;
	uint8_t eid[EIM_STORE_EID_LEN];
	int64_t package_id; /* 0 = none */
	const char *detail;
};
/* Appends an operator action (eid and detail may be NULL). */
int eim_store_audit_add(struct eim_store *s, const char *action,
			const uint8_t *eid, const char *detail);
typedef int (*eim_store_audit_cb)(void *ctx, const struct eim_store_audit *a);
/* Audit entries matching f (state ignored), oldest first; with f->eid,
 * the device-level entries and those about its packages (EIM_ENOTFOUND if
 * the device is unknown). */
int eim_store_audit_list(struct eim_store *s, const struct eim_store_filter *f,
			 eim_store_audit_cb cb, void *ctx);

#endif
