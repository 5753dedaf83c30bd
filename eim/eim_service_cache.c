/*
 * eim_service_cache.c - what the ESipa service keeps in memory so that a
 * poll (getEimPackage) over an established session touches neither SQLite
 * nor the disk when nothing changed: the poll cache (identity -> EID
 * authorization, "queue empty") and the batched last-seen records. The
 * design and why it is safe: eim/README.md, "The poll cache".
 */
#include "eim/eim_service_int.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/*
 * A hash of n bytes, eight at a time (a poll hashes about 60 bytes for the
 * two table lookups; byte-wise FNV-1a took ~4 instructions a byte): each
 * word is mixed in with a multiply and the result finished with
 * MurmurHash3's fmix64, so the low bits that pick a bucket depend on every
 * input bit. Chain calls by passing the previous result as h. Not keyed:
 * only authenticated identities with their bound EIDs are ever inserted.
 */
static uint32_t eim__hash(const void *p, size_t n, uint32_t h)
{
	const uint8_t *b = p;
	uint64_t x = h ^ ((uint64_t)n * 0x9e3779b97f4a7c15u), w;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		x = (x ^ w) * 0xff51afd7ed558ccdu;
		x ^= x >> 32;
	}
	if (n) {
		w = 0;
		memcpy(&w, b, n);
		x = (x ^ w) * 0xff51afd7ed558ccdu;
	}
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53u;
	x ^= x >> 33;
	return (uint32_t)x;
}

#define EIM__FNV_SEED 2166136261u /* any start value */

/* ---- change detection ---------------------------------------------------- */

static void eim__invalidate(struct eim_service *svc)
{
	svc->stats.invalidations++;
	/* 0 marks entries never filled; skip it when the epoch wraps. */
	if (++svc->epoch == 0)
		svc->epoch = 1;
}

void eim_service_batch_begin(struct eim_service *svc)
{
	svc->check_due = true;
}

/*
 * Before a request: moves the epoch when the store changed since the cache
 * was filled. Returns false when the store could not be asked (the cache
 * is then not used for this request).
 */
bool eim__cache_sync(struct eim_service *svc)
{
	uint64_t local = eim_store_local_changes(svc->store), dv;

	if (local != svc->local_changes) {
		svc->local_changes = local;
		eim__invalidate(svc);
	}
	if (svc->cfg.batched && !svc->check_due &&
	    svc->since_check < EIM_SERVICE_CHECK_EVERY) {
		svc->since_check++;
		return true;
	}
	if (eim_store_data_version(svc->store, &dv) != 0) {
		eim__invalidate(svc);
		svc->check_due = true;
		return false;
	}
	svc->check_due = false;
	svc->since_check = 0;
	if (dv != svc->data_version) {
		svc->data_version = dv;
		eim__invalidate(svc);
	}
	return true;
}

/* ---- the cache ----------------------------------------------------------- */

/*
 * Both tables are set-associative: a key's hash picks a bucket of
 * EIM__WAYS adjacent slots and the key may sit in any of them. Directly
 * mapped, a table that is half full has about 40 % of its keys sharing a
 * slot with another, and two devices that share one evict each other at
 * every poll (a store lookup, a last-seen record each time); in buckets of
 * four the same load leaves almost none. A hit is found in the first slot
 * compared in the common case.
 */
#define EIM__WAYS 4u

/* First slot of a key's bucket in a table of `slots` (a power of two). */
static uint32_t eim__cache_bucket(uint8_t kind, const uint8_t *ident,
				  size_t ident_len, const uint8_t eid[16],
				  uint32_t slots)
{
	uint32_t h = eim__hash(eid, 16, EIM__FNV_SEED);

	h = eim__hash(&kind, 1, h);
	h = eim__hash(ident, ident_len, h);
	return h & (slots - 1) & ~(EIM__WAYS - 1);
}

static bool eim__cache_same(const struct eim__cache_ent *e, uint8_t kind,
			    const uint8_t *ident, size_t ident_len,
			    const uint8_t eid[16])
{
	/* The identity is compared in full: never a hash alone. */
	return e->kind == kind && e->ident_len == ident_len &&
	       memcmp(e->eid, eid, 16) == 0 &&
	       (ident_len == 0 || memcmp(e->ident, ident, ident_len) == 0);
}

/*
 * Where a key goes in table t: its own slot if there (any epoch), else a
 * slot never filled, else one filled at an older epoch, else the slot the
 * hash names (evicted). *fresh says the slot was never filled.
 */
static struct eim__cache_ent *
eim__cache_place(struct eim__cache_ent *t, uint32_t slots, uint32_t epoch,
		 uint8_t kind, const uint8_t *ident, size_t ident_len,
		 const uint8_t eid[16], bool *fresh)
{
	uint32_t b = eim__cache_bucket(kind, ident, ident_len, eid, slots);
	struct eim__cache_ent *empty = NULL, *stale = NULL;

	*fresh = false;
	for (uint32_t w = 0; w < EIM__WAYS; w++) {
		struct eim__cache_ent *e = &t[b + w];
		if (e->epoch == 0) {
			if (!empty)
				empty = e;
		} else if (eim__cache_same(e, kind, ident, ident_len, eid)) {
			return e;
		} else if (e->epoch != epoch && !stale) {
			stale = e;
		}
	}
	if (empty) {
		*fresh = true;
		return empty;
	}
	if (stale)
		return stale;
	return &t[b + (eid[15] & (EIM__WAYS - 1))];
}

/*
 * Doubles the table, moving the entries valid at this epoch (stale ones
 * are dropped: they would never be used again). Entries are keyed by what
 * they hold, so the move is a rehash; a key finding its new bucket full is
 * dropped, as any eviction would. On allocation failure the old table
 * stays as it is: the cache only costs more misses.
 */
static void eim__cache_grow(struct eim_service *svc)
{
	uint32_t n = svc->cache_slots * 2, used = 0;
	struct eim__cache_ent *t = eim_calloc(n, sizeof(*t));
	bool fresh;

	if (!t)
		return;
	for (uint32_t i = 0; i < svc->cache_slots; i++) {
		struct eim__cache_ent *o = &svc->cache[i], *e;
		if (o->epoch != svc->epoch) {
			eim_free(o->pkg);
			continue;
		}
		e = eim__cache_place(t, n, svc->epoch, o->kind, o->ident,
				     o->ident_len, o->eid, &fresh);
		if (!fresh) {
			eim_free(o->pkg);
			continue;
		}
		*e = *o;
		used++;
	}
	eim_free(svc->cache);
	svc->cache = t;
	svc->cache_slots = n;
	svc->cache_used = used;
	svc->stats.cache_slots = n;
}

static bool eim__cache_cacheable(const struct eim_service *svc,
				 const struct eim_service_peer *peer)
{
	return svc->cache && svc->epoch != 0 &&
	       peer->ident_len <= EIM__CACHE_IDENT_MAX &&
	       (peer->kind == 0 || peer->ident);
}

struct eim__cache_ent *eim__cache_find(struct eim_service *svc,
				       const struct eim_service_peer *peer,
				       const uint8_t eid[16])
{
	uint8_t kind = (uint8_t)peer->kind;
	uint32_t b;

	if (!eim__cache_cacheable(svc, peer))
		return NULL;
	b = eim__cache_bucket(kind, peer->ident, peer->ident_len, eid,
			      svc->cache_slots);
	for (uint32_t w = 0; w < EIM__WAYS; w++) {
		struct eim__cache_ent *e = &svc->cache[b + w];
		if (e->epoch == svc->epoch &&
		    eim__cache_same(e, kind, peer->ident, peer->ident_len, eid))
			return e;
	}
	return NULL;
}

struct eim__cache_ent *eim__cache_put(struct eim_service *svc,
				      const struct eim_service_peer *peer,
				      const uint8_t eid[16])
{
	uint8_t kind = (uint8_t)peer->kind;
	struct eim__cache_ent *e;
	bool fresh;

	if (!eim__cache_cacheable(svc, peer))
		return NULL;
	e = eim__cache_place(svc->cache, svc->cache_slots, svc->epoch, kind,
			     peer->ident, peer->ident_len, eid, &fresh);
	/* A slot filled for the first time: past half full, double. */
	if (fresh && svc->cache_used >= svc->cache_slots / 2 &&
	    svc->cache_slots < EIM__CACHE_SLOTS) {
		eim__cache_grow(svc);
		e = eim__cache_place(svc->cache, svc->cache_slots, svc->epoch,
				     kind, peer->ident, peer->ident_len, eid,
				     &fresh);
	}
	if (fresh)
		svc->cache_used++;
	e->epoch = svc->epoch;
	e->kind = kind;
	e->ident_len = (uint8_t)peer->ident_len;
	e->empty = false;
	e->eid_checked = false;
	eim_free(e->pkg);
	e->pkg = NULL;
	memcpy(e->eid, eid, 16);
	if (peer->ident_len)
		memcpy(e->ident, peer->ident, peer->ident_len);
	return e;
}

void eim__cache_keep_pkg(struct eim__cache_ent *e,
			 const struct eim_store_package *p,
			 const struct eim_buf *resp)
{
	struct eim__cache_pkg *k;

	eim_free(e->pkg);
	e->pkg = NULL;
	if (resp->err || resp->len > EIM__CACHE_PKG_MAX)
		return;
	k = eim_malloc(sizeof(*k) + resp->len);
	if (!k)
		return; /* only a cache */
	k->id = p->id;
	k->counter = p->counter;
	k->attempts = p->attempts;
	snprintf(k->kind, sizeof(k->kind), "%s", p->kind ? p->kind : "?");
	k->len = resp->len;
	memcpy(k->resp, resp->p, resp->len);
	e->pkg = k;
}

void eim__cache_free(struct eim_service *svc)
{
	if (!svc->cache)
		return;
	for (size_t i = 0; i < svc->cache_slots; i++)
		eim_free(svc->cache[i].pkg);
	eim_free(svc->cache);
	svc->cache = NULL;
}

/* ---- logging and addresses ----------------------------------------------- */

void eim__svc_outcome(struct eim__svc_log *log, const char *fmt, ...)
{
	va_list ap;

	if (!log->on)
		return;
	va_start(ap, fmt);
	vsnprintf(log->outcome, sizeof(log->outcome), fmt, ap);
	va_end(ap);
}

const char *eim__svc_addr(const struct eim_service_peer *peer, char *buf,
			  size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (peer->addr)
		return peer->addr;
	if (!peer->sa)
		return NULL;
	if (peer->sa->sa_family == AF_INET &&
	    peer->sa_len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in4 = (const void *)peer->sa;
		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		snprintf(buf, cap, "%s:%d", host, ntohs(in4->sin_port));
	} else if (peer->sa->sa_family == AF_INET6 &&
		   peer->sa_len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)peer->sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, cap, "[%s]:%d", host, ntohs(in6->sin6_port));
	} else {
		return NULL;
	}
	return buf;
}

/* A hash of the peer's address without formatting it. */
static uint32_t eim__addr_hash(const struct eim_service_peer *peer)
{
	if (peer->addr)
		return eim__hash(peer->addr, strlen(peer->addr), EIM__FNV_SEED);
	if (peer->sa->sa_family == AF_INET &&
	    peer->sa_len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in4 = (const void *)peer->sa;
		uint32_t h = eim__hash(&in4->sin_addr, 4, EIM__FNV_SEED);
		return eim__hash(&in4->sin_port, 2, h);
	}
	if (peer->sa->sa_family == AF_INET6 &&
	    peer->sa_len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)peer->sa;
		uint32_t h = eim__hash(&in6->sin6_addr, 16, EIM__FNV_SEED);
		return eim__hash(&in6->sin6_port, 2, h);
	}
	return 0;
}

/* ---- last seen ----------------------------------------------------------- */

static int64_t eim__wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int eim__seen_flush(struct eim_service *svc)
{
	struct eim_store_seen v[64];
	size_t n = svc->n_seen_recs;
	int rc = 0;

	if (n == 0)
		return 0;
	/* In chunks, each its own transaction is fine: these are only
	 * a few per second; the whole batch is rarely above 64. */
	for (size_t i = 0; i < n && rc == 0;) {
		size_t k = 0;
		for (; k < 64 && i < n; k++, i++) {
			const struct eim__seen_rec *r = &svc->seen_recs[i];
			memcpy(v[k].eid, r->eid, 16);
			v[k].at_ms = r->at_ms;
			v[k].addr = r->addr[0] ? r->addr : NULL;
		}
		rc = eim_store_device_seen_many(svc->store, v, k);
	}
	if (rc)
		eim_debug("last-seen records dropped: %s",
			  eim_store_errmsg(svc->store));
	for (size_t i = 0; i < n; i++) {
		struct eim__seen *e = &svc->seen[svc->seen_recs[i].slot];
		if (e->rec == i + 1)
			e->rec = 0;
	}
	svc->n_seen_recs = 0;
	return rc;
}

static uint32_t eim__seen_bucket(const uint8_t eid[16], uint32_t slots)
{
	return eim__hash(eid, 16, EIM__FNV_SEED) & (slots - 1) &
	       ~(EIM__WAYS - 1);
}

/*
 * Where eid goes in table t: its own slot, else a slot never filled
 * (*fresh), else the one written longest ago (evicted: that device only
 * gets one extra record later, its unwritten record stays in seen_recs).
 */
static struct eim__seen *eim__seen_place(struct eim__seen *t, uint32_t slots,
					 const uint8_t eid[16], bool *fresh)
{
	uint32_t b = eim__seen_bucket(eid, slots);
	struct eim__seen *empty = NULL, *old = &t[b];

	*fresh = false;
	for (uint32_t w = 0; w < EIM__WAYS; w++) {
		struct eim__seen *e = &t[b + w];
		if (e->written_ms == 0) {
			if (!empty)
				empty = e;
		} else if (memcmp(e->eid, eid, 16) == 0) {
			return e;
		} else if (e->written_ms < old->written_ms) {
			old = e;
		}
	}
	if (empty) {
		*fresh = true;
		return empty;
	}
	return old;
}

/*
 * Doubles the last-seen table. The unwritten records stay where they are in
 * seen_recs (none is lost: eim__seen_flush() writes every one of them); an
 * entry moved keeps its link (rec) to its record, and the record learns its
 * entry's new slot. An entry finding its new bucket full is dropped: that
 * device loses only its "recently written" memo (one extra record later),
 * never a record. On allocation failure nothing moves.
 */
static void eim__seen_grow(struct eim_service *svc)
{
	uint32_t n = svc->seen_slots * 2, used = 0;
	struct eim__seen *t = eim_calloc(n, sizeof(*t));
	bool fresh;

	if (!t)
		return;
	/* Records whose entry is not moved point nowhere in particular: the
	 * flush only clears a link that names the record itself. */
	for (size_t i = 0; i < svc->n_seen_recs; i++)
		svc->seen_recs[i].slot = 0;
	for (uint32_t i = 0; i < svc->seen_slots; i++) {
		const struct eim__seen *o = &svc->seen[i];
		struct eim__seen *e;
		if (o->written_ms == 0)
			continue;
		e = eim__seen_place(t, n, o->eid, &fresh);
		if (!fresh)
			continue;
		*e = *o;
		used++;
		if (!e->rec)
			continue;
		/* A link to a record of another EID (the slot was taken
		 * over) means nothing: drop it. */
		if (e->rec > svc->n_seen_recs ||
		    memcmp(svc->seen_recs[e->rec - 1].eid, e->eid, 16) != 0)
			e->rec = 0;
		else
			svc->seen_recs[e->rec - 1].slot = (uint32_t)(e - t);
	}
	eim_free(svc->seen);
	svc->seen = t;
	svc->seen_slots = n;
	svc->seen_used = used;
	svc->stats.seen_slots = n;
}

/* Notes that eid was heard from peer's address (written later, batched). */
void eim__seen(struct eim_service *svc, const uint8_t eid[16],
	       const struct eim_service_peer *peer)
{
	uint32_t ah, slot;
	struct eim__seen *e;
	struct eim__seen_rec *r;
	int64_t now;
	char buf[56];
	const char *addr;
	bool fresh;

	if (!svc->seen || (!peer->addr && !peer->sa))
		return;
	ah = eim__addr_hash(peer);
	e = eim__seen_place(svc->seen, svc->seen_slots, eid, &fresh);
	now = eim__wall_ms();
	if (!fresh && memcmp(e->eid, eid, 16) == 0 && e->addr_hash == ah &&
	    now - e->written_ms < EIM__SEEN_PERIOD_MS)
		return;
	/* A slot filled for the first time: past half full, double. */
	if (fresh && svc->seen_used >= svc->seen_slots / 2 &&
	    svc->seen_slots < EIM__SEEN_SLOTS) {
		eim__seen_grow(svc);
		e = eim__seen_place(svc->seen, svc->seen_slots, eid, &fresh);
	}
	if (fresh)
		svc->seen_used++;
	slot = (uint32_t)(e - svc->seen);
	addr = eim__svc_addr(peer, buf, sizeof(buf));
	if (e->rec && memcmp(svc->seen_recs[e->rec - 1].eid, eid, 16) == 0) {
		r = &svc->seen_recs[e->rec - 1]; /* not written yet: update */
	} else {
		if (svc->n_seen_recs == EIM__SEEN_BATCH)
			(void)eim__seen_flush(svc);
		r = &svc->seen_recs[svc->n_seen_recs++];
		e->rec = (uint32_t)svc->n_seen_recs;
		r->slot = slot;
		memcpy(r->eid, eid, 16);
	}
	r->at_ms = now;
	snprintf(r->addr, sizeof(r->addr), "%s", addr ? addr : "");
	memcpy(e->eid, eid, 16);
	e->addr_hash = ah;
	e->written_ms = now;
}

int eim_service_flush(struct eim_service *svc)
{
	int rc, rc2;

	if (!svc)
		return EIM_EINVAL;
	rc = eim__seen_flush(svc);
	rc2 = eim_store_flush(svc->store);
	return rc ? rc : rc2;
}
