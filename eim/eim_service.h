/*
 * eim_service.h - the ESipa service: what eim answers on
 * POST /gsma/rsp2/asn1 (SGP.32 section 6.3, ASN.1 binding).
 *
 * One call per request body. The service decodes the EsipaMessageFromIpaToEim,
 * checks that the caller's authenticated identity may act for the EID,
 * reads or updates the store, and writes the EsipaMessageFromEimToIpa and the
 * CoAP response code. It knows nothing of sockets: transport/ calls it with
 * the body and the peer, and `eim serve` wires the two.
 *
 *   getEimPackage            -> the in-flight or next package (same bytes on
 *                               a re-poll), or eimPackageError
 *                               noEimPackageAvailable / eidNotFound
 *   provideEimPackageResult  -> matched to the in-flight package (eimId,
 *                               counterValue, eimTransactionId), signature
 *                               verified with the eUICC certificate when
 *                               known, recorded once, acknowledged
 *   handleNotification       -> stored; 2.04 with an empty body
 *   relay functions          -> their ESipa error answer (undefinedError):
 *                               indirect download is not implemented yet
 *   anything malformed       -> 4.00 with a one-line diagnostic, store
 *                               unchanged
 *   EID not bound to caller  -> 4.03, audit entry, nothing read
 */
#ifndef EIM_SERVICE_H
#define EIM_SERVICE_H

#include "common/eim_bytes.h"
#include "store/eim_store.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* CoAP response codes the service uses (class << 5 | detail). */
#define EIM_SVC_CHANGED 0x44	  /* 2.04 */
#define EIM_SVC_BAD_REQUEST 0x80  /* 4.00 */
#define EIM_SVC_FORBIDDEN 0x83	  /* 4.03 */
#define EIM_SVC_SERVER_ERROR 0xA0 /* 5.00 */

struct eim_service_config {
	/* Refuse results whose eUICC signature cannot be checked. */
	bool require_verified_results;
	/* Queue a listProfileInfo when a device reports notifyStateChange. */
	bool refresh_on_state_change;
	/* Trusted CI roots for eUICC chains (may be NULL: then the eUICC
	 * certificate stored for the device is used without a chain check). */
	const struct eim_cert_store *ci;
	/*
	 * false: before each request the service asks the store whether
	 * another process changed the database (one short read), so its
	 * cache is never stale. true: the caller calls
	 * eim_service_batch_begin() whenever it has received new datagrams
	 * (once per receive batch), and the question is asked once per batch
	 * (and at least every EIM_SERVICE_CHECK_EVERY requests).
	 */
	bool batched;
};
#define EIM_SERVICE_CHECK_EVERY 32

/* Who is asking: the DTLS layer's authenticated identity. */
struct eim_service_peer {
	/* 0: not authenticated (plain CoAP, labs only: any EID allowed). */
	enum eim_store_cred_kind kind;
	const uint8_t *ident;
	size_t ident_len;
	const char *addr; /* "192.0.2.1:5684", for logs and last-seen */
	/* Or (addr NULL) the address itself, formatted only when needed. */
	const struct sockaddr *sa;
	socklen_t sa_len;
};

struct eim_service;

/*
 * Creates the service over an open store (which must outlive it).
 * Returns 0 or EIM_ENOMEM. Free with eim_service_free() (NULL is fine).
 */
int eim_service_new(struct eim_store *store,
		    const struct eim_service_config *cfg,
		    struct eim_service **ret);
void eim_service_free(struct eim_service *svc);

/*
 * Handles one request body. Appends the response body to `resp` and sets
 * *ret_code to the CoAP code. Returns 0 when an answer was produced (4.xx
 * included), or a negative EIM_E* code on an internal failure (the caller
 * answers 5.00). Logs one line per request at info level.
 */
int eim_service_handle(struct eim_service *svc,
		       const struct eim_service_peer *peer, const uint8_t *body,
		       size_t len, struct eim_buf *resp, uint8_t *ret_code);

/*
 * Batched mode (cfg.batched): requests handled after this call may have
 * been sent after another process changed the store, so the next request
 * checks for changes before it uses the cache.
 */
void eim_service_batch_begin(struct eim_service *svc);

/*
 * Writes what the service keeps in memory to spare the hot path a commit:
 * the devices' last-seen times and addresses, and the delivery attempts
 * of re-polled packages (eim_store_flush). A server calls it every few
 * seconds and before it exits; eim_service_free() calls it too. Both are
 * informational (see eim/README.md): a crash loses at most what was not
 * flushed. Returns 0 or the store's error (the last-seen records are
 * dropped then; the attempts stay for the next try).
 */
int eim_service_flush(struct eim_service *svc);

/* Counters for logs and tests. */
struct eim_service_stats {
	uint64_t requests, packages_sent, no_package, results, notifications,
		forbidden, malformed, unverified, refused;
	/* getEimPackage answered from the poll cache without the store;
	 * store changes seen (cache invalidations). */
	uint64_t cache_hits, invalidations;
	/* Current sizes (entries) of the poll cache and the last-seen table:
	 * both start small and double with the fleet up to a fixed cap. */
	uint32_t cache_slots, seen_slots;
};
void eim_service_stats(const struct eim_service *svc,
		       struct eim_service_stats *ret);

#endif
