/*
 * eim_service_int.h - what eim_service.c (dispatch, getEimPackage) and
 * eim_service_result.c (results, notifications) share. Not a public API.
 */
#ifndef EIM_SERVICE_INT_H
#define EIM_SERVICE_INT_H

#include "eim/eim_service.h"
#include "eim/eim_signer.h"
#include "proto/eim_esipa.h"

/*
 * When each device's "last seen" was last recorded, so that a device polling
 * every few seconds costs one record a minute, not one per poll, and a new
 * address (NAT rebinding) one record. Records are kept in `seen_recs` and
 * written in one transaction by eim_service_flush() (every few seconds from
 * `eim serve`, and at exit), or when EIM__SEEN_BATCH of them wait: an
 * empty-queue poll must not write to SQLite (DESIGN: polls are the hot
 * path). Indexed by a hash of the EID, in buckets of four slots (see
 * eim_service_cache.c); an eviction only costs an extra record. The table
 * starts at EIM__SEEN_SLOTS_MIN entries and doubles (rehashing, records kept)
 * when more than half of its slots have been filled, up to EIM__SEEN_SLOTS: a
 * small fleet pays for a small table (eim/README.md, "The poll cache").
 */
#define EIM__SEEN_SLOTS 65536
#define EIM__SEEN_SLOTS_MIN 1024
#define EIM__SEEN_PERIOD_MS 60000
#define EIM__SEEN_BATCH 1024
struct eim__seen {
	uint8_t eid[16];
	uint32_t addr_hash;
	uint32_t rec; /* 1 + index in seen_recs of its unwritten record */
	int64_t written_ms;
};
struct eim__seen_rec {
	uint8_t eid[16];
	int64_t at_ms;
	uint32_t slot;
	char addr[56];
};

/*
 * The poll cache (see eim/README.md, "The poll cache"): per (identity kind,
 * identity, EID), that the identity may act for the EID and whether the
 * EID's queue was empty. An entry is valid only while its epoch equals
 * svc->epoch; the epoch moves whenever the store may have changed (a commit
 * by another process, seen through eim_store_data_version(), or any row
 * changed through our own handle, eim_store_local_changes()). In buckets
 * of four slots: a fifth key evicts. Identities longer than
 * EIM__CACHE_IDENT_MAX are never cached (they take the store path every time).
 * Starts at EIM__CACHE_SLOTS_MIN entries and doubles, like the last-seen table,
 * up to EIM__CACHE_SLOTS.
 */
#define EIM__CACHE_SLOTS 16384
#define EIM__CACHE_SLOTS_MIN 1024
#define EIM__CACHE_IDENT_MAX 48
/* Largest GetEimPackageResponse kept for re-polls. */
#define EIM__CACHE_PKG_MAX 2048
/* The package in flight, as last answered (a re-poll gets the same bytes). */
struct eim__cache_pkg {
	int64_t id;
	uint32_t counter, attempts; /* for the log line */
	char kind[24];
	size_t len;
	uint8_t resp[]; /* the whole GetEimPackageResponse */
};
struct eim__cache_ent {
	uint32_t epoch; /* 0 = never valid */
	uint8_t kind;
	uint8_t ident_len;
	bool empty;	  /* eim_store_next found nothing at this epoch */
	bool eid_checked; /* the EID's check digits passed (getEimPackage) */
	uint8_t eid[16];
	uint8_t ident[EIM__CACHE_IDENT_MAX];
	struct eim__cache_pkg *pkg; /* eim_malloc'd; freed when the slot is
				       filled again or the service freed */
};

struct eim_service {
	struct eim_store *store;
	struct eim_service_config cfg;
	struct eim_signer signer;
	struct eim_service_stats stats;
	struct eim__seen *seen;		 /* seen_slots entries */
	uint32_t seen_slots;		 /* a power of two */
	uint32_t seen_used;		 /* slots with written_ms != 0 */
	struct eim__seen_rec *seen_recs; /* EIM__SEEN_BATCH entries */
	size_t n_seen_recs;
	struct eim__cache_ent *cache; /* cache_slots entries */
	uint32_t cache_slots;	      /* a power of two */
	uint32_t cache_used;	      /* slots with epoch != 0 */
	uint32_t epoch;
	uint64_t data_version, local_changes;
	bool check_due;	      /* batched: look at data_version first */
	unsigned since_check; /* requests since the last look */
};

/* The cache entry valid now for (peer, eid), or NULL. */
struct eim__cache_ent *eim__cache_find(struct eim_service *svc,
				       const struct eim_service_peer *peer,
				       const uint8_t eid[16]);
/* Fills the entry for (peer, eid) at the current epoch (authorized, queue
 * not known empty); NULL when the identity is not cacheable. */
struct eim__cache_ent *eim__cache_put(struct eim_service *svc,
				      const struct eim_service_peer *peer,
				      const uint8_t eid[16]);
/* Keeps the answer (resp, a GetEimPackageResponse carrying package p) for
 * re-polls at this epoch; on any failure the entry simply has none. */
void eim__cache_keep_pkg(struct eim__cache_ent *e,
			 const struct eim_store_package *p,
			 const struct eim_buf *resp);
/* Frees the table and the packages it holds. */
void eim__cache_free(struct eim_service *svc);
/* Before each request: moves the epoch if the store changed (see above).
 * false when the store could not be asked: do not use the cache then. */
bool eim__cache_sync(struct eim_service *svc);
/* Notes a contact for the last-seen records (no store call). */
void eim__seen(struct eim_service *svc, const uint8_t eid[16],
	       const struct eim_service_peer *peer);

/* What one request did, for the log line. */
struct eim__svc_log {
	const char *fn;
	bool has_eid;
	uint8_t eid[16];
	char outcome[160];
	bool on; /* the line will be printed: format the outcome */
};

/* Formats the outcome for the log line, only when it will be printed. */
void eim__svc_outcome(struct eim__svc_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* peer->addr, or the socket address formatted into buf (cap >= 56). */
const char *eim__svc_addr(const struct eim_service_peer *peer, char *buf,
			  size_t cap);

/* 0 when the peer may act for eid, EIM_EPERM when not (audited). */
int eim__svc_authorize(struct eim_service *svc,
		       const struct eim_service_peer *peer,
		       const uint8_t eid[16], const char *fn);

/* Writes a 4.00 answer with a one-line diagnostic body. */
int eim__svc_bad_request(struct eim_buf *resp, uint8_t *code,
			 struct eim__svc_log *log, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Ends the transaction a request's writes were grouped in (`open`: it was
 * begun) and returns the request's result. When the commit fails, nothing
 * of the request is on disk, so nothing it answered may leave: resp is
 * emptied and the error returned (the caller answers 5.00).
 */
int eim__svc_tx_end(struct eim_service *svc, bool open, int rc,
		    struct eim_buf *resp);

/* ProvideEimPackageResult (also when wrapped in HandleNotification). */
int eim__svc_result(struct eim_service *svc,
		    const struct eim_service_peer *peer,
		    const struct eim_esipa_result *r, bool respond,
		    struct eim_buf *resp, uint8_t *code,
		    struct eim__svc_log *log);

/* HandleNotification with a pending notification. */
int eim__svc_notification(struct eim_service *svc,
			  const struct eim_service_peer *peer,
			  const struct eim_esipa_notification *n,
			  struct eim_buf *resp, uint8_t *code,
			  struct eim__svc_log *log);

#endif
