/*
 * eim_dtls_server.c - DTLS 1.2 server, part 1: session tables (by CID
 * and by address, RFC 9146 section 6 address updates), record input and
 * dispatch by epoch and content type (RFC 6347 section 4.1), application
 * data, alerts, timers (retransmission, handshake expiry, idle eviction)
 * and the public API. The handshake itself is in eim_dtls_server_hs.c.
 * See eim_dtls_server.h.
 */
#include "transport/eim_dtls_server_int.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"

#include <assert.h>
#include <string.h>

#define LINGER_MS 30000u /* keep the final flight for retransmission */
#define ADDR_KEY_MAX EIM_DTLS_ADDR_KEY_MAX
#define TABLE_MIN 64u /* buckets of each table at creation */
#define TABLE_MAX ((size_t)1 << 24)

/* RFC 7925's mandatory suites first, then what other peers ask for.
 * Suites whose credentials are not configured are left out at creation. */
static const uint16_t default_suites[] = {
	EIM_DTLS_PSK_AES128_CCM8,	EIM_DTLS_ECDHE_ECDSA_AES128_CCM8,
	EIM_DTLS_PSK_AES128_GCM_SHA256, EIM_DTLS_ECDHE_ECDSA_AES128_GCM,
	EIM_DTLS_ECDHE_PSK_CHACHA20,	EIM_DTLS_ECDHE_ECDSA_CHACHA20,
};

void eim_dtls_server_config_init(struct eim_dtls_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cid_len = 8;
	cfg->max_sessions = 10000;
	cfg->max_handshakes = 1000;
	cfg->idle_timeout_ms = 600000;
	cfg->handshake_timeout_ms = 60000;
	cfg->handshake_evict_ms = 5000;
	cfg->cookie_period_ms = 60000;
	cfg->mtu = 1280;
}

/* ---- keys and tables -------------------------------------------------- */

/* Canonical bytes of an address: family tag, port, address. */
size_t eim_dtls_srv__addr_key(const struct sockaddr *sa, socklen_t len,
			      uint8_t out[ADDR_KEY_MAX])
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;

		out[0] = 4;
		memcpy(out + 1, &in->sin_port, 2);
		memcpy(out + 3, &in->sin_addr, 4);
		return 7;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		out[0] = 6;
		memcpy(out + 1, &in6->sin6_port, 2);
		memcpy(out + 3, &in6->sin6_addr, 16);
		return 19;
	}
	return 0;
}

int eim_dtls_srv__addr_copy(union eim_dtls_sockaddr *dst, socklen_t *dst_len,
			    const struct sockaddr *sa, socklen_t len)
{
	socklen_t n;

	if (sa->sa_family == AF_INET)
		n = sizeof(struct sockaddr_in);
	else if (sa->sa_family == AF_INET6)
		n = sizeof(struct sockaddr_in6);
	else
		return EIM_EINVAL;
	if (len < n)
		return EIM_EINVAL;
	memset(dst, 0, sizeof(*dst));
	memcpy(dst, sa, n);
	*dst_len = n;
	return 0;
}

static size_t bucket(const struct eim_dtls_server *srv, const uint8_t *k,
		     size_t n)
{
	/* FNV-1a over a per-server random seed and the key, so that peers
	 * cannot aim many sessions at one chain. */
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sizeof(srv->hash_seed); i++)
		h = (h ^ srv->hash_seed[i]) * 0x100000001b3ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29)) & (srv->nbuckets - 1);
}

static struct eim_dtls_session *
find_addr(struct eim_dtls_server *srv, const struct sockaddr *sa, socklen_t len)
{
	uint8_t k[ADDR_KEY_MAX], k2[ADDR_KEY_MAX];
	size_t n = eim_dtls_srv__addr_key(sa, len, k);

	if (!n)
		return NULL;
	for (struct eim_dtls_session *s = srv->by_addr[bucket(srv, k, n)]; s;
	     s = s->next_addr)
		if (eim_dtls_srv__addr_key(&s->c.addr.sa, s->c.addr_len, k2) ==
			    n &&
		    memcmp(k, k2, n) == 0)
			return s;
	return NULL;
}

struct eim_dtls_session *eim_dtls_srv__find_cid(struct eim_dtls_server *srv,
						const uint8_t *cid, size_t len)
{
	for (struct eim_dtls_session *s = srv->by_cid[bucket(srv, cid, len)]; s;
	     s = s->next_cid)
		if (s->c.cid_len == len && memcmp(s->c.cid, cid, len) == 0)
			return s;
	return NULL;
}

static void unlink_chain(struct eim_dtls_session **head,
			 struct eim_dtls_session *s, bool by_cid)
{
	for (struct eim_dtls_session **pp = head; *pp;
	     pp = by_cid ? &(*pp)->next_cid : &(*pp)->next_addr)
		if (*pp == s) {
			*pp = by_cid ? s->next_cid : s->next_addr;
			return;
		}
}

/*
 * The two tables start small and double when they hold more sessions than
 * buckets, so memory follows the sessions present rather than
 * max_sessions (whose table pages would otherwise become resident as
 * entries land on them). Every session is on the LRU list, which is the
 * walk used to rehash. Without memory for a bigger table the old one
 * stays: chains get longer, nothing is lost.
 */
static void tables_grow(struct eim_dtls_server *srv)
{
	size_t nb = srv->nbuckets * 2;
	struct eim_dtls_session **na, **nc;

	if (srv->nsessions <= srv->nbuckets || nb > TABLE_MAX)
		return;
	na = eim_calloc(nb, sizeof(*na));
	nc = eim_calloc(nb, sizeof(*nc));
	if (!na || !nc) {
		eim_free(na);
		eim_free(nc);
		return;
	}
	eim_free(srv->by_addr);
	eim_free(srv->by_cid);
	srv->by_addr = na;
	srv->by_cid = nc;
	srv->nbuckets = nb;
	for (struct eim_dtls_session *s = srv->lru_head; s; s = s->lru_next) {
		uint8_t k[ADDR_KEY_MAX];
		size_t b = bucket(srv, k,
				  eim_dtls_srv__addr_key(&s->c.addr.sa,
							 s->c.addr_len, k));

		if (s->addr_linked) {
			s->next_addr = na[b];
			na[b] = s;
		}
		if (s->c.cid_len) {
			b = bucket(srv, s->c.cid, s->c.cid_len);
			s->next_cid = nc[b];
			nc[b] = s;
		}
	}
	srv->st.table_resizes++;
}

static void addr_link(struct eim_dtls_server *srv, struct eim_dtls_session *s)
{
	uint8_t k[ADDR_KEY_MAX];
	size_t b =
		bucket(srv, k,
		       eim_dtls_srv__addr_key(&s->c.addr.sa, s->c.addr_len, k));

	s->next_addr = srv->by_addr[b];
	srv->by_addr[b] = s;
	s->addr_linked = true;
}

static void addr_unlink(struct eim_dtls_server *srv, struct eim_dtls_session *s)
{
	uint8_t k[ADDR_KEY_MAX];
	size_t b;

	if (!s->addr_linked)
		return;
	b = bucket(srv, k,
		   eim_dtls_srv__addr_key(&s->c.addr.sa, s->c.addr_len, k));
	unlink_chain(&srv->by_addr[b], s, false);
	s->addr_linked = false;
}

static void lru_unlink(struct eim_dtls_server *srv, struct eim_dtls_session *s)
{
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		srv->lru_head = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		srv->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void lru_push(struct eim_dtls_server *srv, struct eim_dtls_session *s)
{
	s->lru_prev = NULL;
	s->lru_next = srv->lru_head;
	if (srv->lru_head)
		srv->lru_head->lru_prev = s;
	srv->lru_head = s;
	if (!srv->lru_tail)
		srv->lru_tail = s;
}

static void touch(struct eim_dtls_session *s, uint64_t now)
{
	s->c.last_ms = now;
	if (s->srv->lru_head != s) {
		lru_unlink(s->srv, s);
		lru_push(s->srv, s);
	}
}

static void hs_unlink(struct eim_dtls_server *srv, struct eim_dtls_session *s)
{
	if (srv->hs_tail == s)
		srv->hs_tail = s->hs_prev;
	if (s->hs_prev)
		s->hs_prev->hs_next = s->hs_next;
	else if (srv->hs_head == s)
		srv->hs_head = s->hs_next;
	if (s->hs_next)
		s->hs_next->hs_prev = s->hs_prev;
	s->hs_prev = s->hs_next = NULL;
}

static void linger_drop(struct eim_dtls_session *s)
{
	struct eim_dtls_server *srv = s->srv;
	struct eim_dtls_linger *l = s->linger;

	if (!l)
		return;
	if (l->prev)
		l->prev->next = l->next;
	else
		srv->linger_head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	else
		srv->linger_tail = l->prev;
	s->linger = NULL;
	eim_free_secret(l, sizeof(*l) + l->len);
}

/* Counts a handshake state as gone; the memory itself is freed here or,
 * for a killed session, when it is reaped (callers up the stack may
 * still look at it). */
static void hs_count_freed(struct eim_dtls_server *srv)
{
	srv->nhs_states--;
	srv->st.hs_freed++;
}

void eim_dtls_srv__established(struct eim_dtls_session *s, uint64_t now)
{
	struct eim_dtls_server *srv = s->srv;
	struct eim_dtls_hs_state *hs = s->c.hs;
	struct eim_dtls_linger *l = NULL;

	if (!hs)
		return;
	/* Without memory for the copy the last flight is not resent: a
	 * client that lost it times out and handshakes again. */
	if (!hs->flight.err && hs->flight.len <= UINT16_MAX)
		l = eim_malloc(sizeof(*l) + hs->flight.len);
	if (l) {
		l->s = s;
		l->until_ms = now + LINGER_MS;
		l->sent_ms = hs->last_flight_ms;
		l->rx_seq = hs->rx_seq;
		l->len = (uint16_t)hs->flight.len;
		memcpy(l->flight, hs->flight.p, hs->flight.len);
		/* expiry times only increase: the list stays in order */
		l->next = NULL;
		l->prev = srv->linger_tail;
		if (srv->linger_tail)
			srv->linger_tail->next = l;
		else
			srv->linger_head = l;
		srv->linger_tail = l;
		s->linger = l;
	}
	hs_unlink(srv, s);
	eim_dtls_conn_hs_free(&s->c);
	hs_count_freed(srv);
}

bool eim_dtls_srv__linger_resend(struct eim_dtls_session *s, uint16_t msg_seq,
				 uint64_t now, bool *resent)
{
	struct eim_dtls_linger *l = s->linger;

	if (!l || msg_seq >= l->rx_seq)
		return false;
	if (!*resent && now >= l->sent_ms + 100) {
		*resent = true;
		s->srv->st.retransmissions++;
		l->sent_ms = now;
		(void)eim_dtls_conn_entries_send(&s->c, l->flight, l->len);
	}
	return true;
}

void eim_dtls_srv__register(struct eim_dtls_session *s)
{
	struct eim_dtls_server *srv = s->srv;

	addr_link(srv, s);
	if (s->c.cid_len) {
		size_t b = bucket(srv, s->c.cid, s->c.cid_len);

		s->next_cid = srv->by_cid[b];
		srv->by_cid[b] = s;
	}
	lru_push(srv, s);
	s->hs_next = srv->hs_head;
	if (srv->hs_head)
		srv->hs_head->hs_prev = s;
	else
		srv->hs_tail = s;
	srv->hs_head = s;
	srv->nsessions++;
	srv->nhandshakes++;
	srv->nhs_states++;
	srv->st.handshakes_started++;
	tables_grow(srv);
}

bool eim_dtls_srv__hs_room(struct eim_dtls_server *srv, uint64_t now)
{
	struct eim_dtls_session *old = srv->hs_tail;

	if (srv->nhandshakes < srv->cfg.max_handshakes)
		return true;
	/* Full. Peers that passed the cookie exchange and then fell silent
	 * would otherwise lock new devices out until their handshakes time
	 * out; the oldest one goes once it has had handshake_evict_ms, a
	 * lifetime a real handshake does not need. */
	if (!srv->cfg.handshake_evict_ms || !old || !old->c.hs ||
	    now < old->c.hs->started_ms + srv->cfg.handshake_evict_ms)
		return false;
	srv->st.handshakes_evicted++;
	eim_dtls_srv__kill(old, EIM_DTLS_CLOSE_HANDSHAKE_FAILED);
	return srv->nhandshakes < srv->cfg.max_handshakes;
}

/* Ends a session: unlinked at once so nothing finds it again, freed when
 * the current input or tick call unwinds (callbacks may hold it). */
/*
 * Many devices behind one NAT: the address a device left (it rebound, and
 * its session followed its Connection ID elsewhere) is handed to another
 * device. Killing the first device's session then, as RFC 6347 4.2.8 does
 * for sessions known only by their address, would silence it at its next
 * wake for nothing: its CID still finds it.
 */
void eim_dtls_srv__displace(struct eim_dtls_session *s)
{
	if (s->c.cid_len && s->c.state == EIM_DTLS_ST_ESTABLISHED) {
		addr_unlink(s->srv, s);
		s->srv->st.addresses_displaced++;
		return;
	}
	eim_dtls_srv__kill(s, EIM_DTLS_CLOSE_REPLACED);
}

void eim_dtls_srv__kill(struct eim_dtls_session *s,
			enum eim_dtls_close_reason why)
{
	struct eim_dtls_server *srv = s->srv;

	if (s->dead)
		return;
	s->dead = true;
	if (s->c.state != EIM_DTLS_ST_ESTABLISHED) {
		srv->nhandshakes--;
		if (why != EIM_DTLS_CLOSE_SHUTDOWN &&
		    why != EIM_DTLS_CLOSE_REPLACED)
			srv->st.handshakes_failed++;
	}
	s->c.state = EIM_DTLS_ST_CLOSED;
	addr_unlink(srv, s);
	if (s->c.cid_len)
		unlink_chain(&srv->by_cid[bucket(srv, s->c.cid, s->c.cid_len)],
			     s, true);
	lru_unlink(srv, s);
	hs_unlink(srv, s);
	linger_drop(s);
	if (s->c.hs)
		hs_count_freed(srv);
	srv->nsessions--;
	if (srv->cfg.on_closed)
		srv->cfg.on_closed(srv->cfg.ctx, s, why);
	s->dead_next = srv->dead;
	srv->dead = s;
}

static void reap(struct eim_dtls_server *srv)
{
	while (srv->dead) {
		struct eim_dtls_session *s = srv->dead;

		srv->dead = s->dead_next;
		eim_dtls_conn_done(&s->c);
		eim_free_secret(s, sizeof(*s));
	}
}

/* Fails the handshake with a fatal alert sent at our write epoch (0). */
void eim_dtls_srv__fail(struct eim_dtls_session *s, uint8_t alert)
{
	eim_debug("dtls: handshake failed, alert %u", alert);
	eim_dtls_conn_send_alert(&s->c, 0, alert);
	eim_dtls_srv__kill(s, EIM_DTLS_CLOSE_HANDSHAKE_FAILED);
}

int eim_dtls_srv__conn_out(struct eim_dtls_conn *c, const uint8_t *d, size_t n)
{
	struct eim_dtls_session *s = (struct eim_dtls_session *)c;
	struct eim_dtls_server *srv = s->srv;
	int rc = srv->cfg.send(srv->cfg.ctx, &c->addr.sa, c->addr_len, d, n);

	if (rc < 0)
		srv->st.send_errors++;
	return 0;
}

int eim_dtls_srv__rand(struct eim_dtls_server *srv, uint8_t *p, size_t n)
{
	return wc_RNG_GenerateBlock(&srv->rng, p, (word32)n) == 0 ? 0
								  : EIM_ECRYPTO;
}

static bool same_addr(const struct eim_dtls_session *s,
		      const struct sockaddr *sa, socklen_t len)
{
	uint8_t a[ADDR_KEY_MAX], b[ADDR_KEY_MAX];
	size_t na = eim_dtls_srv__addr_key(sa, len, a);

	return na &&
	       na == eim_dtls_srv__addr_key(&s->c.addr.sa, s->c.addr_len, b) &&
	       memcmp(a, b, na) == 0;
}

/* RFC 9146 section 6: only an authenticated, newest CID record moves a
 * session. */
static void maybe_move(struct eim_dtls_session *s, const struct sockaddr *sa,
		       socklen_t len)
{
	struct eim_dtls_server *srv = s->srv;
	struct eim_dtls_session *other;
	uint8_t key[ADDR_KEY_MAX];

	union eim_dtls_sockaddr na;
	socklen_t nlen;

	/* same place, or an address family we cannot key: stay */
	if (same_addr(s, sa, len) || !eim_dtls_srv__addr_key(sa, len, key) ||
	    eim_dtls_srv__addr_copy(&na, &nlen, sa, len))
		return;
	other = find_addr(srv, sa, len);
	if (other)
		eim_dtls_srv__displace(other); /* the NAT reused the binding */
	addr_unlink(srv, s);
	s->c.addr = na;
	s->c.addr_len = nlen;
	addr_link(srv, s);
	srv->st.address_changes++;
}

static void session_record(struct eim_dtls_session *s,
			   const struct eim_dtls_record *rec,
			   const struct sockaddr *from, socklen_t from_len,
			   uint64_t now)
{
	struct eim_dtls_server *srv = s->srv;
	uint8_t type;
	size_t len;
	bool newest = false;
	int rc;

	if (rec->epoch == 0) {
		switch (rec->type) {
		case EIM_DTLS_CT_HANDSHAKE:
			eim_dtls_srv__hs_records(s, 0, rec->fragment.p,
						 rec->fragment.len, now);
			return;
		case EIM_DTLS_CT_CCS:
			if (s->c.state == EIM_DTLS_ST_WAIT_CCS &&
			    rec->fragment.len == 1 && rec->fragment.p[0] == 1) {
				s->c.r_epoch = 1;
				memset(&s->c.replay, 0, sizeof(s->c.replay));
				s->c.state = EIM_DTLS_ST_WAIT_FINISHED;
			}
			return; /* repeated CCS: harmless */
		case EIM_DTLS_CT_ALERT:
			/* plaintext alerts only count before keys exist */
			if (s->c.state != EIM_DTLS_ST_ESTABLISHED &&
			    s->c.state != EIM_DTLS_ST_WAIT_FINISHED)
				eim_dtls_srv__kill(s,
						   EIM_DTLS_CLOSE_PEER_CLOSED);
			else
				srv->st.records_unexpected++;
			return;
		default:
			srv->st.records_unexpected++;
			return;
		}
	}
	if (s->c.cid_on && rec->type != EIM_DTLS_CT_TLS12_CID) {
		srv->st.records_unexpected++; /* CID negotiated: must carry it
					       */
		return;
	}
	rc = eim_dtls_conn_open(&s->c, rec, srv->pt, sizeof(srv->pt), &type,
				&len, &newest);
	if (rc == EIM_EVERIFY) {
		srv->st.records_auth_failed++;
		/* A Finished that does not decrypt means the keys differ
		 * (wrong PSK): RFC 5246 says bad_record_mac. */
		if (s->c.state == EIM_DTLS_ST_WAIT_FINISHED)
			eim_dtls_srv__fail(s, EIM_DTLS_ALERT_BAD_RECORD_MAC);
		return;
	}
	if (rc) {
		if (rc == EIM_EEXIST ||
		    (rc == EIM_ERANGE && rec->epoch == s->c.r_epoch))
			srv->st.records_replayed++;
		else if (rc == EIM_ERANGE)
			srv->st.records_bad_epoch++;
		else
			srv->st.records_malformed++;
		return;
	}
	touch(s, now);
	if (rec->type == EIM_DTLS_CT_TLS12_CID && newest)
		maybe_move(s, from, from_len);
	switch (type) {
	case EIM_DTLS_CT_HANDSHAKE:
		eim_dtls_srv__hs_records(s, 1, srv->pt, len, now);
		return;
	case EIM_DTLS_CT_APP_DATA:
		if (s->c.state != EIM_DTLS_ST_ESTABLISHED) {
			srv->st.records_unexpected++;
			return;
		}
		linger_drop(s); /* the client has our Finished */
		if (srv->cfg.on_app_data)
			srv->cfg.on_app_data(srv->cfg.ctx, s, srv->pt, len);
		return;
	case EIM_DTLS_CT_ALERT:
		if (len == 2 && (srv->pt[0] == 2 || srv->pt[1] == 0))
			eim_dtls_srv__kill(s, EIM_DTLS_CLOSE_PEER_CLOSED);
		return;
	default:
		srv->st.records_unexpected++;
		return;
	}
}

/* ---- public API ------------------------------------------------------- */

int eim_dtls_server_new(const struct eim_dtls_server_config *cfg,
			uint64_t now_ms, struct eim_dtls_server **ret)
{
	struct eim_dtls_server *srv = NULL;
	uint8_t secret[32];
	size_t nb = TABLE_MIN,
	       ndef = sizeof(default_suites) / sizeof(default_suites[0]);
	int rc = EIM_EINVAL;

	if (!cfg || !ret || !cfg->send || (!cfg->psk_lookup && !cfg->key_pem) ||
	    (cfg->cert_pem && !cfg->key_pem) ||
	    ((cfg->ca_pem || cfg->cert_check) && !cfg->key_pem) ||
	    cfg->cid_len > EIM_DTLS_MAX_CID ||
	    (cfg->cid_prefix_len &&
	     (!cfg->cid_prefix || cfg->cid_prefix_len >= cfg->cid_len)) ||
	    cfg->n_suites > 16 || (cfg->n_suites && !cfg->suites) ||
	    cfg->max_sessions == 0 ||
	    cfg->psk_hint_len > EIM_DTLS_IDENTITY_MAX ||
	    (cfg->psk_hint_len && !cfg->psk_hint))
		return EIM_EINVAL;
	for (size_t i = 0; i < cfg->n_suites; i++) {
		int kx = eim_dtls_suite_kx(cfg->suites[i]);

		/* an explicit list may only name suites we can serve */
		if (!kx || (kx == EIM_DTLS_KX_ECDHE_ECDSA && !cfg->key_pem) ||
		    (kx != EIM_DTLS_KX_ECDHE_ECDSA && !cfg->psk_lookup))
			return EIM_EINVAL;
	}
	srv = eim_calloc(1, sizeof(*srv));
	if (!srv)
		return EIM_ENOMEM;
	srv->cfg = *cfg;
	if (cfg->key_pem) {
		rc = eim_dtls_cred_from_pem(cfg->cert_pem, cfg->cert_pem_len,
					    cfg->key_pem, cfg->key_pem_len,
					    &srv->cred);
		if (rc) {
			eim_free(srv);
			return rc;
		}
	}
	if (cfg->ca_pem) {
		rc = eim_dtls_trust_from_pem(cfg->ca_pem, cfg->ca_pem_len,
					     &srv->trust);
		if (rc) {
			eim_dtls_cred_free(srv->cred);
			eim_free(srv);
			return rc;
		}
	}
	/* not kept: parsed above */
	srv->cfg.cert_pem = srv->cfg.key_pem = srv->cfg.ca_pem = NULL;
	if (cfg->n_suites) {
		memcpy(srv->suites, cfg->suites, cfg->n_suites * 2);
	} else {
		size_t n = 0;

		for (size_t i = 0; i < ndef; i++) {
			int kx = eim_dtls_suite_kx(default_suites[i]);

			if (kx == EIM_DTLS_KX_ECDHE_ECDSA
				    ? srv->cred != NULL
				    : cfg->psk_lookup != NULL)
				srv->suites[n++] = default_suites[i];
		}
		srv->cfg.n_suites = n;
	}
	srv->cfg.suites = srv->suites;
	/* the sources may be NULL when their lengths are 0 */
	if (cfg->cid_prefix_len)
		memcpy(srv->prefix, cfg->cid_prefix, cfg->cid_prefix_len);
	srv->cfg.cid_prefix = srv->prefix;
	if (cfg->psk_hint_len)
		memcpy(srv->hint, cfg->psk_hint, cfg->psk_hint_len);
	srv->cfg.psk_hint = srv->hint;
	if (srv->cfg.mtu == 0)
		srv->cfg.mtu = 1280;
	if (srv->cfg.max_handshakes == 0)
		srv->cfg.max_handshakes = srv->cfg.max_sessions;
	if (wc_InitRng(&srv->rng) != 0) {
		eim_dtls_cred_free(srv->cred);
		eim_dtls_trust_free(srv->trust);
		eim_free(srv);
		return EIM_ECRYPTO;
	}
	rc = EIM_ECRYPTO;
	if (eim_dtls_srv__rand(srv, secret, 32) ||
	    eim_dtls_srv__rand(srv, srv->hash_seed, sizeof(srv->hash_seed)))
		goto fail;
	eim_dtls_cookie_init(&srv->cookie, secret, srv->cfg.cookie_period_ms,
			     now_ms);
	eim_wipe(secret, sizeof(secret));
	srv->nbuckets = nb;
	rc = EIM_ENOMEM;
	srv->by_addr = eim_calloc(nb, sizeof(*srv->by_addr));
	srv->by_cid = eim_calloc(nb, sizeof(*srv->by_cid));
	if (!srv->by_addr || !srv->by_cid)
		goto fail;
	rc = eim_dtls_aead_cache_new(&srv->aead_cache);
	if (rc)
		goto fail;
	*ret = srv;
	return 0;
fail:
	eim_free(srv->by_addr);
	eim_free(srv->by_cid);
	eim_dtls_cred_free(srv->cred);
	eim_dtls_trust_free(srv->trust);
	wc_FreeRng(&srv->rng);
	eim_free_secret(srv, sizeof(*srv));
	return rc;
}

void eim_dtls_server_free(struct eim_dtls_server *srv)
{
	if (!srv)
		return;
	while (srv->lru_head)
		eim_dtls_srv__kill(srv->lru_head, EIM_DTLS_CLOSE_SHUTDOWN);
	reap(srv);
	eim_free(srv->by_addr);
	eim_free(srv->by_cid);
	eim_dtls_aead_cache_free(srv->aead_cache);
	eim_dtls_cookie_done(&srv->cookie);
	eim_dtls_cred_free(srv->cred);
	eim_dtls_trust_free(srv->trust);
	wc_FreeRng(&srv->rng);
	eim_free_secret(srv, sizeof(*srv));
}

int eim_dtls_server_input(struct eim_dtls_server *srv,
			  const struct sockaddr *from, socklen_t from_len,
			  const uint8_t *dgram, size_t len, uint64_t now_ms)
{
	union eim_dtls_sockaddr fa;
	socklen_t fl;
	size_t off = 0;

	if (!srv || !from || (!dgram && len))
		return EIM_EINVAL;
	/* exact IPv4/IPv6 length from here on, whatever the caller passed */
	if (eim_dtls_srv__addr_copy(&fa, &fl, from, from_len))
		return EIM_EINVAL;
	from = &fa.sa;
	from_len = fl;
	srv->st.datagrams++;
	while (off < len) {
		struct eim_dtls_record rec;
		struct eim_dtls_session *s;
		size_t used;

		if (eim_dtls_record_parse(dgram + off, len - off,
					  srv->cfg.cid_len, &rec, &used)) {
			srv->st.records_malformed++;
			break;
		}
		off += used;
		if (rec.type == EIM_DTLS_CT_TLS12_CID) {
			s = eim_dtls_srv__find_cid(srv, rec.cid.p, rec.cid.len);
			if (!s)
				srv->st.records_no_session++;
			else
				session_record(s, &rec, from, from_len, now_ms);
			continue;
		}
		s = find_addr(srv, from, from_len);
		if (rec.epoch == 0 && rec.type == EIM_DTLS_CT_HANDSHAKE &&
		    eim_dtls_srv__client_hello(srv, s, from, from_len, &rec,
					       now_ms))
			continue;
		if (s)
			session_record(s, &rec, from, from_len, now_ms);
		else
			srv->st.records_no_session++;
	}
	reap(srv);
	return 0;
}

uint64_t eim_dtls_server_next_timeout(const struct eim_dtls_server *srv)
{
	uint64_t t = UINT64_MAX;

	if (!srv)
		return t;
	for (const struct eim_dtls_session *s = srv->hs_head; s;
	     s = s->hs_next) {
		const struct eim_dtls_hs_state *hs = s->c.hs;
		uint64_t d;

		d = hs->started_ms + srv->cfg.handshake_timeout_ms;
		if (hs->rtx_at_ms && hs->rtx_at_ms < d)
			d = hs->rtx_at_ms;
		if (d < t)
			t = d;
	}
	if (srv->linger_head && srv->linger_head->until_ms < t)
		t = srv->linger_head->until_ms;
	if (srv->lru_tail && srv->cfg.idle_timeout_ms) {
		uint64_t d =
			srv->lru_tail->c.last_ms + srv->cfg.idle_timeout_ms;

		if (d < t)
			t = d;
	}
	return t;
}

void eim_dtls_server_tick(struct eim_dtls_server *srv, uint64_t now_ms)
{
	struct eim_dtls_session *s, *next;

	if (!srv)
		return;
	for (s = srv->hs_head; s; s = next) {
		struct eim_dtls_hs_state *hs = s->c.hs;

		next = s->hs_next;
		if (now_ms >= hs->started_ms + srv->cfg.handshake_timeout_ms) {
			eim_dtls_srv__kill(s, EIM_DTLS_CLOSE_HANDSHAKE_FAILED);
			continue;
		}
		if (hs->rtx_at_ms && now_ms >= hs->rtx_at_ms) {
			if (++hs->rtx_count > EIM_DTLS_RTX_MAX_COUNT) {
				eim_dtls_srv__kill(
					s, EIM_DTLS_CLOSE_HANDSHAKE_FAILED);
				continue;
			}
			hs->rtx_ms = hs->rtx_ms * 2 > EIM_DTLS_RTX_MAX_MS
					     ? EIM_DTLS_RTX_MAX_MS
					     : hs->rtx_ms * 2;
			srv->st.retransmissions++;
			eim_dtls_conn_flight_send(&s->c, now_ms, true);
		}
	}
	while (srv->linger_head && now_ms >= srv->linger_head->until_ms)
		linger_drop(srv->linger_head->s);
	while (srv->cfg.idle_timeout_ms && srv->lru_tail &&
	       now_ms >= srv->lru_tail->c.last_ms + srv->cfg.idle_timeout_ms) {
		srv->st.sessions_idle_evicted++;
		eim_dtls_srv__kill(srv->lru_tail, EIM_DTLS_CLOSE_IDLE);
	}
	reap(srv);
}

void eim_dtls_server_stats(const struct eim_dtls_server *srv,
			   struct eim_dtls_server_stats *ret)
{
	if (!srv || !ret)
		return;
	*ret = srv->st;
	ret->sessions = srv->nsessions;
	ret->handshaking = srv->nhandshakes;
	ret->hs_states = srv->nhs_states;
}

int eim_dtls_session_send(struct eim_dtls_session *s, const uint8_t *data,
			  size_t len)
{
	if (!s || (!data && len))
		return EIM_EINVAL;
	if (s->dead || s->c.state != EIM_DTLS_ST_ESTABLISHED)
		return EIM_ESTATE;
	if (len > s->c.peer_rsl)
		return EIM_ETOOBIG;
	return eim_dtls_conn_send_record(&s->c, 1, EIM_DTLS_CT_APP_DATA, data,
					 len);
}

void eim_dtls_session_close(struct eim_dtls_session *s)
{
	if (!s || s->dead)
		return;
	if (s->c.state == EIM_DTLS_ST_ESTABLISHED)
		eim_dtls_conn_send_alert(&s->c, 1, EIM_DTLS_ALERT_CLOSE_NOTIFY);
	eim_dtls_srv__kill(s, EIM_DTLS_CLOSE_LOCAL);
}

const uint8_t *eim_dtls_session_identity(const struct eim_dtls_session *s,
					 size_t *len)
{
	if (!s || !len || s->c.state != EIM_DTLS_ST_ESTABLISHED ||
	    !s->c.identity)
		return NULL;
	*len = s->c.identity_len;
	return s->c.identity;
}

enum eim_dtls_identity_kind
eim_dtls_session_identity_kind(const struct eim_dtls_session *s)
{
	if (!s || s->c.state != EIM_DTLS_ST_ESTABLISHED || !s->c.identity)
		return EIM_DTLS_ID_NONE;
	return (enum eim_dtls_identity_kind)s->c.identity_kind;
}

const struct sockaddr *eim_dtls_session_peer(const struct eim_dtls_session *s,
					     socklen_t *len)
{
	if (!s || !len)
		return NULL;
	*len = s->c.addr_len;
	return &s->c.addr.sa;
}

const uint8_t *eim_dtls_session_cid(const struct eim_dtls_session *s,
				    size_t *len)
{
	if (!s || !len)
		return NULL;
	*len = s->c.cid_len;
	return s->c.cid;
}

uint16_t eim_dtls_session_suite(const struct eim_dtls_session *s)
{
	return s && s->c.state == EIM_DTLS_ST_ESTABLISHED ? s->suite : 0;
}

void eim_dtls_session_set_user(struct eim_dtls_session *s, void *user)
{
	if (s)
		s->c.user = user;
}

void *eim_dtls_session_user(const struct eim_dtls_session *s)
{
	return s ? s->c.user : NULL;
}
