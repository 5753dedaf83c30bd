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
 * When each device's "last seen" was last written, so that a device polling
 * every few seconds costs one write a minute, not one per poll: an
 * empty-queue poll must not write to SQLite (DESIGN: polls are the hot
 * path). Fixed size, indexed by a hash of the EID; a collision only costs
 * an extra write.
 */
#define EIM__SEEN_SLOTS 65536
#define EIM__SEEN_PERIOD_MS 60000
struct eim__seen {
	uint8_t eid[16];
	uint32_t addr_hash;
	int64_t written_ms;
};

struct eim_service {
	struct eim_store *store;
	struct eim_service_config cfg;
	struct eim_signer signer;
	struct eim_service_stats stats;
	struct eim__seen *seen; /* EIM__SEEN_SLOTS entries */
};

/* What one request did, for the log line. */
struct eim__svc_log {
	const char *fn;
	bool has_eid;
	uint8_t eid[16];
	char outcome[160];
};

/* 0 when the peer may act for eid, EIM_EPERM when not (audited). */
int eim__svc_authorize(struct eim_service *svc,
		       const struct eim_service_peer *peer,
		       const uint8_t eid[16], const char *fn);

/* Writes a 4.00 answer with a one-line diagnostic body. */
int eim__svc_bad_request(struct eim_buf *resp, uint8_t *code,
			 struct eim__svc_log *log, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

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
