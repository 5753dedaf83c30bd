/*
 * eim_dtls_server.c - DTLS 1.2 server: session tables (by CID and by
 * address), stateless cookie exchange, the server handshake state machine
 * for PSK suites (RFC 6347 section 4.2, RFC 4279, RFC 7627, RFC 9146),
 * application data, alerts and timers. See eim_dtls_server.h.
 *
 * Server flights (after the cookie exchange):
 *   ClientHello(cookie)  -> ServerHello, ServerHelloDone        [S_WAIT_CKE]
 *   ClientKeyExchange    -> (derive keys)                       [WAIT_CCS]
 *   ChangeCipherSpec     -> (read epoch 1)                      [WAIT_FINISHED]
 *   Finished             -> ChangeCipherSpec, Finished          [ESTABLISHED]
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include "transport/eim_dtls_server.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "transport/eim_dtls_cookie.h"
#include "transport/eim_dtls_cred.h"
#include "transport/eim_dtls_int.h"

#include <assert.h>
#include <string.h>

#define LINGER_MS 30000u /* keep the final flight for retransmission */
#define ADDR_KEY_MAX 19

struct eim_dtls_session {
	struct eim_dtls_conn c; /* first: conn callbacks cast back */
	struct eim_dtls_server *srv;
	uint16_t suite;
	bool dead;
	struct eim_dtls_session *next_addr, *next_cid;
	struct eim_dtls_session *lru_prev, *lru_next; /* all, newest first */
	struct eim_dtls_session *hs_prev, *hs_next;   /* with c.hs != NULL */
	struct eim_dtls_session *dead_next;
};

struct eim_dtls_server {
	struct eim_dtls_server_config cfg;
	uint16_t suites[16];
	uint8_t prefix[EIM_DTLS_MAX_CID];
	uint8_t hint[EIM_DTLS_IDENTITY_MAX];
	struct eim_dtls_cred *cred; /* NULL without a certificate */
	WC_RNG rng;
	uint8_t hash_seed[16];
	struct eim_dtls_cookie_ctx cookie;
	struct eim_dtls_session **by_addr, **by_cid;
	size_t nbuckets; /* power of two */
	struct eim_dtls_session *lru_head, *lru_tail, *hs_head, *dead;
	size_t nsessions, nhandshakes;
	struct eim_dtls_server_stats st;
	uint8_t pt[EIM_DTLS_MAX_CIPHERTEXT]; /* decrypted record */
};

/* RFC 7925's mandatory suites first, then what other peers ask for.
 * Suites whose credentials are not configured are left out at creation. */
static const uint16_t default_suites[] = {
	EIM_DTLS_PSK_AES128_CCM8,         EIM_DTLS_ECDHE_ECDSA_AES128_CCM8,
	EIM_DTLS_PSK_AES128_GCM_SHA256,   EIM_DTLS_ECDHE_ECDSA_AES128_GCM,
	EIM_DTLS_ECDHE_PSK_CHACHA20,      EIM_DTLS_ECDHE_ECDSA_CHACHA20,
};

void eim_dtls_server_config_init(struct eim_dtls_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cid_len = 8;
	cfg->max_sessions = 10000;
	cfg->max_handshakes = 1000;
	cfg->idle_timeout_ms = 600000;
	cfg->handshake_timeout_ms = 60000;
	cfg->cookie_period_ms = 60000;
	cfg->mtu = 1280;
}

/* ---- keys and tables -------------------------------------------------- */

/* Canonical bytes of an address: family tag, port, address. */
static size_t addr_key(const struct sockaddr *sa, socklen_t len,
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

static struct eim_dtls_session *find_addr(struct eim_dtls_server *srv,
					  const struct sockaddr *sa,
					  socklen_t len)
{
	uint8_t k[ADDR_KEY_MAX], k2[ADDR_KEY_MAX];
	size_t n = addr_key(sa, len, k);

	if (!n)
		return NULL;
	for (struct eim_dtls_session *s = srv->by_addr[bucket(srv, k, n)]; s;
	     s = s->next_addr)
		if (addr_key(&s->c.addr.sa, s->c.addr_len, k2) == n &&
		    memcmp(k, k2, n) == 0)
			return s;
	return NULL;
}

static struct eim_dtls_session *find_cid(struct eim_dtls_server *srv,
					 const uint8_t *cid, size_t len)
{
	for (struct eim_dtls_session *s = srv->by_cid[bucket(srv, cid, len)];
	     s; s = s->next_cid)
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

static void addr_link(struct eim_dtls_server *srv, struct eim_dtls_session *s)
{
	uint8_t k[ADDR_KEY_MAX];
	size_t b = bucket(srv, k, addr_key(&s->c.addr.sa, s->c.addr_len, k));

	s->next_addr = srv->by_addr[b];
	srv->by_addr[b] = s;
}

static void addr_unlink(struct eim_dtls_server *srv,
			struct eim_dtls_session *s)
{
	uint8_t k[ADDR_KEY_MAX];
	size_t b = bucket(srv, k, addr_key(&s->c.addr.sa, s->c.addr_len, k));

	unlink_chain(&srv->by_addr[b], s, false);
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
	if (s->hs_prev)
		s->hs_prev->hs_next = s->hs_next;
	else if (srv->hs_head == s)
		srv->hs_head = s->hs_next;
	if (s->hs_next)
		s->hs_next->hs_prev = s->hs_prev;
	s->hs_prev = s->hs_next = NULL;
}

/* Frees the handshake state once the peer proved it has our final flight
 * (or the linger time passed). */
static void hs_release(struct eim_dtls_session *s)
{
	if (!s->c.hs)
		return;
	hs_unlink(s->srv, s);
	eim_dtls_conn_hs_free(&s->c);
}

/* Ends a session: unlinked at once so nothing finds it again, freed when
 * the current input or tick call unwinds (callbacks may hold it). */
static void session_kill(struct eim_dtls_session *s, enum eim_dtls_close_reason why)
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
static void fail(struct eim_dtls_session *s, uint8_t alert)
{
	eim_debug("dtls: handshake failed, alert %u", alert);
	eim_dtls_conn_send_alert(&s->c, 0, alert);
	session_kill(s, EIM_DTLS_CLOSE_HANDSHAKE_FAILED);
}

static int conn_out(struct eim_dtls_conn *c, const uint8_t *d, size_t n)
{
	struct eim_dtls_session *s = (struct eim_dtls_session *)c;
	struct eim_dtls_server *srv = s->srv;
	int rc = srv->cfg.send(srv->cfg.ctx, &c->addr.sa, c->addr_len, d, n);

	if (rc < 0)
		srv->st.send_errors++;
	return 0;
}

static int rand_bytes(struct eim_dtls_server *srv, uint8_t *p, size_t n)
{
	return wc_RNG_GenerateBlock(&srv->rng, p, (word32)n) == 0
		       ? 0
		       : EIM_ECRYPTO;
}

/* ---- stateless replies ------------------------------------------------ */

static void send_plain(struct eim_dtls_server *srv, const struct sockaddr *to,
		       socklen_t to_len, uint16_t version, uint64_t seq,
		       uint8_t type, const uint8_t *body, size_t len)
{
	uint8_t d[EIM_DTLS_HDR_LEN + EIM_DTLS_HS_HDR_LEN + 3 +
		  EIM_DTLS_COOKIE_LEN];

	assert(len <= sizeof(d) - EIM_DTLS_HDR_LEN);
	eim_dtls_record_put_header(d, type, version, 0, seq, (uint16_t)len);
	memcpy(d + EIM_DTLS_HDR_LEN, body, len);
	if (srv->cfg.send(srv->cfg.ctx, to, to_len, d, EIM_DTLS_HDR_LEN + len) <
	    0)
		srv->st.send_errors++;
}

static void send_hvr(struct eim_dtls_server *srv, const struct sockaddr *from,
		     socklen_t from_len, const uint8_t *key, size_t key_len,
		     const struct eim_dtls_client_hello *ch, uint16_t msg_seq,
		     uint64_t rec_seq)
{
	uint8_t m[EIM_DTLS_HS_HDR_LEN + 3 + EIM_DTLS_COOKIE_LEN];
	size_t blen = 3 + EIM_DTLS_COOKIE_LEN;

	m[0] = EIM_DTLS_HS_HELLO_VERIFY_REQUEST;
	eim_put_be24(m + 1, (uint32_t)blen);
	eim_put_be16(m + 4, msg_seq);
	eim_put_be24(m + 6, 0);
	eim_put_be24(m + 9, (uint32_t)blen);
	/* RFC 6347 4.2.1: DTLS 1.0 in the HelloVerifyRequest */
	eim_put_be16(m + 12, EIM_DTLS_VERSION_1_0);
	m[14] = EIM_DTLS_COOKIE_LEN;
	if (eim_dtls_cookie_make(&srv->cookie, key, key_len, ch->random,
				 m + 15))
		return;
	/* same record sequence number as the ClientHello (4.2.1) */
	send_plain(srv, from, from_len, EIM_DTLS_VERSION_1_0, rec_seq,
		   EIM_DTLS_CT_HANDSHAKE, m, sizeof(m));
	srv->st.hello_verify_sent++;
}

static void send_alert_to(struct eim_dtls_server *srv,
			  const struct sockaddr *to, socklen_t to_len,
			  uint64_t seq, uint8_t desc)
{
	uint8_t a[2] = {2, desc};

	send_plain(srv, to, to_len, EIM_DTLS_VERSION_1_2, seq,
		   EIM_DTLS_CT_ALERT, a, 2);
}

/* ---- the handshake ---------------------------------------------------- */

static uint16_t pick_suite(const struct eim_dtls_server *srv,
			   const struct eim_dtls_client_hello *ch)
{
	/* ECDHE needs P-256 and uncompressed points when the client lists
	 * groups or formats at all (RFC 8422 section 5.1) */
	bool ecc_ok = (!ch->ext.groups || ch->ext.group_p256) &&
		      (!ch->ext.formats || ch->ext.uncompressed);

	for (size_t i = 0; i < srv->cfg.n_suites; i++) {
		uint16_t suite = srv->suites[i];

		int kx = eim_dtls_suite_kx(suite);

		if (kx != EIM_DTLS_KX_PSK && !ecc_ok)
			continue;
		/* RFC 5246 7.4.1.4.1: the signature must be one it lists */
		if (kx == EIM_DTLS_KX_ECDHE_ECDSA && ch->ext.sigalgs &&
		    !ch->ext.sig_ecdsa_sha256)
			continue;
		if (eim_dtls_hs_offers(ch, suite))
			return suite;
	}
	return 0;
}

static int new_cid(struct eim_dtls_server *srv, uint8_t *cid)
{
	size_t n = srv->cfg.cid_len, p = srv->cfg.cid_prefix_len;

	for (int tries = 0; tries < 8; tries++) {
		memcpy(cid, srv->prefix, p);
		if (rand_bytes(srv, cid + p, n - p))
			return EIM_ECRYPTO;
		if (!find_cid(srv, cid, n))
			return 0;
	}
	return EIM_EEXIST;
}

/*
 * Appends the ServerKeyExchange signature (RFC 8422 section 5.4):
 * SignatureAndHashAlgorithm ecdsa/sha256, then signature<0..2^16-1> over
 * SHA-256(client_random || server_random || params[0..len)).
 */
static int sign_params(struct eim_dtls_session *s, const uint8_t *params,
		       size_t len, uint8_t *out, size_t *total)
{
	struct eim_dtls_hs_state *hs = s->c.hs;
	uint8_t h[32];
	size_t sig_len;
	wc_Sha256 sha;
	int rc = EIM_ECRYPTO;

	if (wc_InitSha256(&sha) != 0)
		return EIM_ECRYPTO;
	if (wc_Sha256Update(&sha, hs->crandom, 32) == 0 &&
	    wc_Sha256Update(&sha, hs->srandom, 32) == 0 &&
	    wc_Sha256Update(&sha, params, (word32)len) == 0 &&
	    wc_Sha256Final(&sha, h) == 0)
		rc = eim_dtls_cred_sign(s->srv->cred, &s->srv->rng, h, out + 4,
					&sig_len);
	wc_Sha256Free(&sha);
	if (rc)
		return rc;
	eim_put_be16(out, EIM_DTLS_SIG_ECDSA_SHA256);
	eim_put_be16(out + 2, (uint16_t)sig_len);
	*total += 4 + sig_len;
	return 0;
}

/* Flight 2: ServerHello, [Certificate], [ServerKeyExchange],
 * ServerHelloDone. */
static int server_hello_flight(struct eim_dtls_session *s,
			       const struct eim_dtls_client_hello *ch,
			       uint64_t now)
{
	struct eim_dtls_hs_state *hs = s->c.hs;
	bool ecc = hs->kx != EIM_DTLS_KX_PSK;
	uint8_t ske[2 + EIM_DTLS_IDENTITY_MAX + 4 + EIM_DTLS_P256_POINT_LEN +
		    4 + EIM_DTLS_ECDSA_SIG_MAX];
	size_t hint = s->srv->cfg.psk_hint_len, ske_len = 0;
	struct eim_buf b;
	uint8_t v[2];
	int rc;

	if (hs->kx == EIM_DTLS_KX_ECDHE_PSK || hs->kx == EIM_DTLS_KX_ECDHE_ECDSA) {
		/* RFC 5489: psk_identity_hint first (ECDHE_PSK only), then
		 * ServerECDHParams: named_curve (3), secp256r1,
		 * point<1..255> */
		if (hs->kx == EIM_DTLS_KX_ECDHE_PSK) {
			eim_put_be16(ske, (uint16_t)hint);
			memcpy(ske + 2, s->srv->hint, hint);
			ske_len = 2 + hint;
		}
		ske[ske_len++] = 3;
		eim_put_be16(ske + ske_len, EIM_DTLS_GROUP_P256);
		ske_len += 2;
		ske[ske_len++] = EIM_DTLS_P256_POINT_LEN;
		rc = eim_dtls_ecdhe_new(&s->srv->rng, &hs->ecdhe,
					ske + ske_len);
		if (rc)
			return rc;
		ske_len += EIM_DTLS_P256_POINT_LEN;
	}
	if (hs->kx == EIM_DTLS_KX_ECDHE_ECDSA) {
		rc = sign_params(s, ske, ske_len, ske + ske_len, &ske_len);
		if (rc)
			return rc;
	}

	eim_buf_init(&b);
	eim_put_be16(v, EIM_DTLS_VERSION_1_2);
	eim_buf_append(&b, v, 2);
	eim_buf_append(&b, hs->srandom, 32);
	eim_buf_append_byte(&b, 0); /* no session id: no resumption */
	eim_put_be16(v, s->suite);
	eim_buf_append(&b, v, 2);
	eim_buf_append_byte(&b, 0); /* null compression */
	eim_dtls_hs_put_hello_ext(
		&b, &(struct eim_dtls_ext_out){
			    .reneg = ch->ext.reneg_info || ch->scsv,
			    .ems = hs->ems,
			    .formats = ecc && ch->ext.formats,
			    /* answer with the most we take (RFC 8449 4) */
			    .record_size_limit = ch->ext.record_size_limit
							 ? EIM_DTLS_MAX_PLAINTEXT
							 : 0,
			    .cid = s->c.cid_on,
			    .cid_value = s->c.cid,
			    .cid_len = s->c.cid_len,
		    });
	if (b.err) {
		rc = b.err;
		goto out;
	}
	eim_dtls_conn_flight_reset(&s->c);
	eim_dtls_conn_flight_hs(&s->c, 0, EIM_DTLS_HS_SERVER_HELLO, b.p, b.len);
	if (hs->kx == EIM_DTLS_KX_ECDHE_ECDSA) {
		size_t chain_len;
		const uint8_t *chain = eim_dtls_cred_chain(s->srv->cred,
							   &chain_len);

		eim_dtls_conn_flight_hs(&s->c, 0, EIM_DTLS_HS_CERTIFICATE,
					chain, chain_len);
	}
	if (hs->kx != EIM_DTLS_KX_PSK)
		eim_dtls_conn_flight_hs(&s->c, 0,
					EIM_DTLS_HS_SERVER_KEY_EXCHANGE, ske,
					ske_len);
	eim_dtls_conn_flight_hs(&s->c, 0, EIM_DTLS_HS_SERVER_HELLO_DONE, NULL,
				0);
	rc = eim_dtls_conn_flight_send(&s->c, now, true);
out:
	eim_buf_done(&b);
	return rc;
}

/* A ClientHello with a valid cookie: a new session. */
static void start_session(struct eim_dtls_server *srv,
			  const struct sockaddr *from, socklen_t from_len,
			  const struct eim_dtls_record *rec,
			  const struct eim_dtls_hs_frag *f,
			  const struct eim_dtls_client_hello *ch, uint64_t now)
{
	struct eim_dtls_session *s = NULL;
	uint16_t suite;

	if (ch->version > EIM_DTLS_VERSION_1_2) {
		/* versions count down: 0xfeff is DTLS 1.0 */
		send_alert_to(srv, from, from_len, rec->seq,
			      EIM_DTLS_ALERT_PROTOCOL_VERSION);
		return;
	}
	suite = pick_suite(srv, ch);
	if (!suite || !ch->null_compression ||
	    (srv->cfg.require_ems && !ch->ext.ems)) {
		send_alert_to(srv, from, from_len, rec->seq,
			      EIM_DTLS_ALERT_HANDSHAKE_FAILURE);
		srv->st.handshakes_failed++;
		return;
	}
	if (srv->nsessions >= srv->cfg.max_sessions ||
	    srv->nhandshakes >= srv->cfg.max_handshakes) {
		srv->st.handshakes_refused++;
		return;
	}
	s = eim_calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	s->srv = srv;
	s->suite = suite;
	s->c.is_server = true;
	s->c.out = conn_out;
	s->c.keylog = srv->cfg.keylog;
	s->c.keylog_ctx = srv->cfg.ctx;
	s->c.mtu = srv->cfg.mtu;
	memcpy(&s->c.addr, from, from_len);
	s->c.addr_len = from_len;
	s->c.last_ms = now;
	s->c.peer_rsl = ch->ext.record_size_limit ? ch->ext.record_size_limit
						  : EIM_DTLS_MAX_PLAINTEXT;
	if (eim_dtls_conn_hs_new(&s->c, now))
		goto oom;
	s->c.hs->suite = suite;
	s->c.hs->kx = (uint8_t)eim_dtls_suite_kx(suite);
	s->c.hs->aead = eim_dtls_suite_aead(suite);
	memcpy(s->c.hs->crandom, ch->random, 32);
	if (rand_bytes(srv, s->c.hs->srandom, 32))
		goto oom;
	s->c.hs->ems = ch->ext.ems;
	if (ch->ext.cid && srv->cfg.cid_len) {
		if (new_cid(srv, s->c.cid))
			goto oom;
		s->c.cid_len = (uint8_t)srv->cfg.cid_len;
		memcpy(s->c.peer_cid, ch->ext.cid_value.p,
		       ch->ext.cid_value.len);
		s->c.peer_cid_len = (uint8_t)ch->ext.cid_value.len;
		s->c.cid_on = true;
	}
	s->c.hs->rx_seq = (uint16_t)(f->msg_seq + 1);
	s->c.hs->tx_seq = f->msg_seq;
	s->c.w_seq[0] = rec->seq;
	eim_dtls_conn_transcript_msg(&s->c, EIM_DTLS_HS_CLIENT_HELLO,
				     f->msg_seq, f->frag.p, f->frag.len);
	s->c.state = EIM_DTLS_ST_S_WAIT_CKE;

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
	srv->hs_head = s;
	srv->nsessions++;
	srv->nhandshakes++;
	srv->st.handshakes_started++;
	if (server_hello_flight(s, ch, now))
		session_kill(s, EIM_DTLS_CLOSE_HANDSHAKE_FAILED);
	return;
oom:
	if (s) {
		eim_dtls_conn_done(&s->c);
		eim_free_secret(s, sizeof(*s));
	}
	srv->st.handshakes_refused++;
}

/* An epoch-0 handshake record that may hold a ClientHello. Returns true
 * when it was one (handled here), false to process it as a session record. */
static bool client_hello(struct eim_dtls_server *srv,
			 struct eim_dtls_session *s,
			 const struct sockaddr *from, socklen_t from_len,
			 const struct eim_dtls_record *rec, uint64_t now)
{
	struct eim_dtls_hs_frag f;
	struct eim_dtls_client_hello ch;
	uint8_t key[ADDR_KEY_MAX];
	size_t used, klen;

	if (eim_dtls_hs_parse_frag(rec->fragment.p, rec->fragment.len, &f,
				   &used) ||
	    f.type != EIM_DTLS_HS_CLIENT_HELLO)
		return false;
	/* Stateless: a fragmented ClientHello cannot be reassembled here. */
	if (f.frag_off != 0 || f.frag.len != f.length ||
	    eim_dtls_hs_parse_client_hello(f.frag.p, f.frag.len, &ch)) {
		srv->st.hello_malformed++;
		return true;
	}
	if (s && s->c.hs && s->c.state != EIM_DTLS_ST_ESTABLISHED &&
	    memcmp(s->c.hs->crandom, ch.random, 32) == 0) {
		/* our flight 2 was lost: the client repeats its hello */
		if (f.msg_seq < s->c.hs->rx_seq &&
		    now >= s->c.hs->last_flight_ms + 100) {
			srv->st.retransmissions++;
			eim_dtls_conn_flight_send(&s->c, now, true);
		}
		return true;
	}
	klen = addr_key(from, from_len, key);
	if (!klen)
		return true;
	if (eim_dtls_cookie_due(&srv->cookie, now)) {
		uint8_t fresh[32];

		if (rand_bytes(srv, fresh, 32) == 0)
			eim_dtls_cookie_rotate(&srv->cookie, fresh, now);
		eim_wipe(fresh, sizeof(fresh));
	}
	if (ch.cookie.len == 0 ||
	    eim_dtls_cookie_check(&srv->cookie, key, klen, ch.random,
				  ch.cookie.p, ch.cookie.len) != 0) {
		if (ch.cookie.len)
			srv->st.cookie_bad++;
		send_hvr(srv, from, from_len, key, klen, &ch, f.msg_seq,
			 rec->seq);
		return true;
	}
	/* RFC 6347 4.2.8: a verified new hello from a known address means
	 * the peer lost its state; the old session goes. */
	if (s)
		session_kill(s, EIM_DTLS_CLOSE_REPLACED);
	start_session(srv, from, from_len, rec, &f, &ch, now);
	return true;
}

/* ClientECDiffieHellmanPublic: point<1..255>; the pre-master secret is
 * the ECDH secret itself (RFC 8422 section 5.10). */
static int ecdsa_key_exchange(struct eim_dtls_session *s, const uint8_t *body,
			      size_t len)
{
	struct eim_dtls_hs_state *hs = s->c.hs;
	uint8_t z[EIM_DTLS_P256_SECRET_LEN];
	int rc;

	if (len < 1 || body[0] != len - 1)
		return EIM_DTLS_ALERT_DECODE_ERROR;
	rc = eim_dtls_ecdhe_shared(hs->ecdhe, body + 1, len - 1, z);
	eim_dtls_ecdhe_free(hs->ecdhe);
	hs->ecdhe = NULL;
	if (rc)
		return rc == EIM_EMALFORMED ? EIM_DTLS_ALERT_ILLEGAL_PARAMETER
					    : EIM_DTLS_ALERT_INTERNAL_ERROR;
	rc = eim_dtls_conn_derive(&s->c, z, sizeof(z));
	eim_wipe(z, sizeof(z));
	return rc ? EIM_DTLS_ALERT_INTERNAL_ERROR : 0;
}

static int on_client_key_exchange(struct eim_dtls_session *s,
				  const uint8_t *body, size_t len)
{
	struct eim_dtls_server *srv = s->srv;
	struct eim_dtls_hs_state *hs = s->c.hs;
	uint8_t psk[EIM_DTLS_PSK_MAX], pms[4 + 2 * EIM_DTLS_PSK_MAX];
	uint8_t z[EIM_DTLS_P256_SECRET_LEN];
	size_t psk_len = sizeof(psk), pms_len, idlen, rest;
	const uint8_t *point = NULL;
	int rc, alert = 0;

	if (hs->kx == EIM_DTLS_KX_ECDHE_ECDSA)
		return ecdsa_key_exchange(s, body, len);
	/* opaque psk_identity<0..2^16-1> (RFC 4279), then for ECDHE_PSK
	 * the client's point<1..255> (RFC 5489); nothing after */
	if (len < 2 || eim_get_be16(body) > len - 2)
		return EIM_DTLS_ALERT_DECODE_ERROR;
	idlen = eim_get_be16(body);
	rest = len - 2 - idlen;
	if (hs->kx == EIM_DTLS_KX_ECDHE_PSK) {
		if (rest < 1 || body[2 + idlen] != rest - 1)
			return EIM_DTLS_ALERT_DECODE_ERROR;
		point = body + 2 + idlen + 1;
		rest--;
	} else if (rest != 0) {
		return EIM_DTLS_ALERT_DECODE_ERROR;
	}
	if (idlen == 0 || idlen > EIM_DTLS_IDENTITY_MAX)
		return EIM_DTLS_ALERT_ILLEGAL_PARAMETER;
	if (point) {
		rc = eim_dtls_ecdhe_shared(hs->ecdhe, point, rest, z);
		if (rc)
			return rc == EIM_EMALFORMED
				       ? EIM_DTLS_ALERT_ILLEGAL_PARAMETER
				       : EIM_DTLS_ALERT_INTERNAL_ERROR;
		eim_dtls_ecdhe_free(hs->ecdhe);
		hs->ecdhe = NULL;
	}
	s->c.identity = eim_malloc(idlen + 1);
	if (!s->c.identity)
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	memcpy(s->c.identity, body + 2, idlen);
	s->c.identity[idlen] = 0;
	s->c.identity_len = (uint16_t)idlen;
	rc = srv->cfg.psk_lookup(srv->cfg.ctx, body + 2, idlen, psk, &psk_len);
	if (rc || psk_len == 0 || psk_len > EIM_DTLS_PSK_MAX) {
		/* RFC 4279 section 2: hide unknown identities by going on
		 * with a random key; the client's Finished then fails. */
		psk_len = 32;
		if (rand_bytes(srv, psk, psk_len))
			alert = EIM_DTLS_ALERT_INTERNAL_ERROR;
	}
	if (!alert) {
		pms_len = eim_dtls_psk_pms(point ? z : NULL, sizeof(z), psk,
					   psk_len, pms);
		if (eim_dtls_conn_derive(&s->c, pms, pms_len))
			alert = EIM_DTLS_ALERT_INTERNAL_ERROR;
	}
	eim_wipe(psk, sizeof(psk));
	eim_wipe(pms, sizeof(pms));
	eim_wipe(z, sizeof(z));
	return alert;
}

static int on_finished(struct eim_dtls_session *s, const uint8_t *body,
		       size_t len, uint16_t msg_seq, uint64_t now)
{
	struct eim_dtls_hs_state *hs = s->c.hs;
	uint8_t h[32], vd[EIM_DTLS_VERIFY_LEN];
	int ok;

	if (len != EIM_DTLS_VERIFY_LEN)
		return EIM_DTLS_ALERT_DECODE_ERROR;
	if (eim_dtls_conn_transcript_hash(&s->c, h) ||
	    eim_dtls_verify_data(hs->master, 1, h, vd))
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	ok = eim_ct_equal(vd, body, EIM_DTLS_VERIFY_LEN);
	if (!ok)
		return EIM_DTLS_ALERT_DECRYPT_ERROR;
	eim_dtls_conn_transcript_msg(&s->c, EIM_DTLS_HS_FINISHED, msg_seq,
				     body, len);
	if (eim_dtls_conn_transcript_hash(&s->c, h) ||
	    eim_dtls_verify_data(hs->master, 0, h, vd))
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	eim_wipe(hs->master, sizeof(hs->master)); /* no resumption */
	eim_dtls_conn_flight_reset(&s->c);
	eim_dtls_conn_flight_ccs(&s->c);
	eim_dtls_conn_flight_hs(&s->c, 1, EIM_DTLS_HS_FINISHED, vd, sizeof(vd));
	/* the last flight is resent only when the peer repeats its own */
	if (eim_dtls_conn_flight_send(&s->c, now, false))
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	return 0;
}

/* The server dispatcher: one complete handshake message in order. Returns
 * 0 or the alert to fail with. */
static int hs_dispatch(struct eim_dtls_session *s, uint16_t epoch,
		       uint8_t type, const uint8_t *body, size_t len,
		       uint16_t msg_seq, uint64_t now)
{
	int alert;

	switch (s->c.state) {
	case EIM_DTLS_ST_S_WAIT_CKE:
		if (type != EIM_DTLS_HS_CLIENT_KEY_EXCHANGE || epoch != 0)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		eim_dtls_conn_transcript_msg(&s->c, type, msg_seq, body, len);
		alert = on_client_key_exchange(s, body, len);
		if (alert)
			return alert;
		s->c.hs->rtx_at_ms = 0; /* the client has our flight */
		s->c.state = EIM_DTLS_ST_WAIT_CCS;
		return 0;
	case EIM_DTLS_ST_WAIT_FINISHED:
		if (type != EIM_DTLS_HS_FINISHED || epoch != 1)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		alert = on_finished(s, body, len, msg_seq, now);
		if (alert)
			return alert;
		s->c.state = EIM_DTLS_ST_ESTABLISHED;
		s->srv->nhandshakes--;
		s->srv->st.handshakes_completed++;
		if (s->srv->cfg.on_established)
			s->srv->cfg.on_established(s->srv->cfg.ctx, s);
		return 0;
	default:
		return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
	}
}

/* Handshake fragments of one record (plaintext at `epoch`). */
static void hs_records(struct eim_dtls_session *s, uint16_t epoch,
		       const uint8_t *p, size_t n, uint64_t now)
{
	bool resent = false;

	while (n > 0 && !s->dead) {
		struct eim_dtls_hs_frag f;
		struct eim_slice msg;
		size_t used;
		int rc, alert;

		if (eim_dtls_hs_parse_frag(p, n, &f, &used)) {
			s->srv->st.records_malformed++;
			return;
		}
		p += used;
		n -= used;
		if (!s->c.hs) {
			s->srv->st.records_unexpected++;
			continue;
		}
		if (f.msg_seq < s->c.hs->rx_seq) {
			/* the peer repeats a flight: ours was lost */
			if (!resent && now >= s->c.hs->last_flight_ms + 100) {
				resent = true;
				s->srv->st.retransmissions++;
				eim_dtls_conn_flight_send(
					&s->c, now,
					s->c.state != EIM_DTLS_ST_ESTABLISHED);
			}
			continue;
		}
		if (f.msg_seq > s->c.hs->rx_seq) {
			s->srv->st.records_unexpected++; /* not buffered */
			continue;
		}
		rc = eim_dtls_reasm_add(&s->c.hs->reasm, &f,
					EIM_DTLS_HS_MSG_MAX, &msg);
		if (rc < 0) {
			fail(s, rc == EIM_ENOMEM ? EIM_DTLS_ALERT_INTERNAL_ERROR
						 : EIM_DTLS_ALERT_DECODE_ERROR);
			return;
		}
		if (rc == 0)
			continue;
		alert = hs_dispatch(s, epoch, f.type, msg.p, msg.len,
				    f.msg_seq, now);
		if (s->c.hs)
			eim_dtls_reasm_done(&s->c.hs->reasm);
		if (alert) {
			fail(s, (uint8_t)alert);
			return;
		}
		s->c.hs->rx_seq++;
	}
}

static bool same_addr(const struct eim_dtls_session *s,
		      const struct sockaddr *sa, socklen_t len)
{
	uint8_t a[ADDR_KEY_MAX], b[ADDR_KEY_MAX];
	size_t na = addr_key(sa, len, a);

	return na && na == addr_key(&s->c.addr.sa, s->c.addr_len, b) &&
	       memcmp(a, b, na) == 0;
}

/* RFC 9146 section 6: only an authenticated, newest CID record moves a
 * session. */
static void maybe_move(struct eim_dtls_session *s, const struct sockaddr *sa,
		       socklen_t len)
{
	struct eim_dtls_server *srv = s->srv;
	struct eim_dtls_session *other;

	if (same_addr(s, sa, len) || len > sizeof(s->c.addr) ||
	    !addr_key(sa, len, (uint8_t[ADDR_KEY_MAX]){0}))
		return;
	other = find_addr(srv, sa, len);
	if (other)
		session_kill(other, EIM_DTLS_CLOSE_REPLACED); /* stale NAT binding */
	addr_unlink(srv, s);
	memset(&s->c.addr, 0, sizeof(s->c.addr));
	memcpy(&s->c.addr, sa, len);
	s->c.addr_len = len;
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
			hs_records(s, 0, rec->fragment.p, rec->fragment.len,
				   now);
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
				session_kill(s, EIM_DTLS_CLOSE_PEER_CLOSED);
			else
				srv->st.records_unexpected++;
			return;
		default:
			srv->st.records_unexpected++;
			return;
		}
	}
	if (s->c.cid_on && rec->type != EIM_DTLS_CT_TLS12_CID) {
		srv->st.records_unexpected++; /* CID negotiated: must carry it */
		return;
	}
	rc = eim_dtls_conn_open(&s->c, rec, srv->pt, sizeof(srv->pt), &type,
				&len, &newest);
	if (rc == EIM_EVERIFY) {
		srv->st.records_auth_failed++;
		/* A Finished that does not decrypt means the keys differ
		 * (wrong PSK): RFC 5246 says bad_record_mac. */
		if (s->c.state == EIM_DTLS_ST_WAIT_FINISHED)
			fail(s, EIM_DTLS_ALERT_BAD_RECORD_MAC);
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
		hs_records(s, 1, srv->pt, len, now);
		return;
	case EIM_DTLS_CT_APP_DATA:
		if (s->c.state != EIM_DTLS_ST_ESTABLISHED) {
			srv->st.records_unexpected++;
			return;
		}
		hs_release(s); /* the client has our Finished */
		if (srv->cfg.on_app_data)
			srv->cfg.on_app_data(srv->cfg.ctx, s, srv->pt, len);
		return;
	case EIM_DTLS_CT_ALERT:
		if (len == 2 && (srv->pt[0] == 2 || srv->pt[1] == 0))
			session_kill(s, EIM_DTLS_CLOSE_PEER_CLOSED);
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
	size_t nb = 64, ndef = sizeof(default_suites) / sizeof(default_suites[0]);
	int rc = EIM_EINVAL;

	if (!cfg || !ret || !cfg->send ||
	    (!cfg->psk_lookup && !cfg->cert_pem) ||
	    (!cfg->cert_pem != !cfg->key_pem) ||
	    cfg->cid_len > EIM_DTLS_MAX_CID ||
	    (cfg->cid_prefix_len && (!cfg->cid_prefix ||
				     cfg->cid_prefix_len >= cfg->cid_len)) ||
	    cfg->n_suites > 16 || (cfg->n_suites && !cfg->suites) ||
	    cfg->max_sessions == 0 ||
	    cfg->psk_hint_len > EIM_DTLS_IDENTITY_MAX ||
	    (cfg->psk_hint_len && !cfg->psk_hint))
		return EIM_EINVAL;
	for (size_t i = 0; i < cfg->n_suites; i++) {
		int kx = eim_dtls_suite_kx(cfg->suites[i]);

		/* an explicit list may only name suites we can serve */
		if (!kx || (kx == EIM_DTLS_KX_ECDHE_ECDSA && !cfg->cert_pem) ||
		    (kx != EIM_DTLS_KX_ECDHE_ECDSA && !cfg->psk_lookup))
			return EIM_EINVAL;
	}
	srv = eim_calloc(1, sizeof(*srv));
	if (!srv)
		return EIM_ENOMEM;
	srv->cfg = *cfg;
	if (cfg->cert_pem) {
		rc = eim_dtls_cred_from_pem(cfg->cert_pem, cfg->cert_pem_len,
					    cfg->key_pem, cfg->key_pem_len,
					    &srv->cred);
		if (rc) {
			eim_free(srv);
			return rc;
		}
	}
	srv->cfg.cert_pem = srv->cfg.key_pem = NULL; /* not kept */
	if (cfg->n_suites) {
		memcpy(srv->suites, cfg->suites, cfg->n_suites * 2);
	} else {
		size_t n = 0;

		for (size_t i = 0; i < ndef; i++) {
			int kx = eim_dtls_suite_kx(default_suites[i]);

			if (kx == EIM_DTLS_KX_ECDHE_ECDSA ? srv->cred != NULL
							  : cfg->psk_lookup != NULL)
				srv->suites[n++] = default_suites[i];
		}
		srv->cfg.n_suites = n;
	}
	srv->cfg.suites = srv->suites;
	memcpy(srv->prefix, cfg->cid_prefix, cfg->cid_prefix_len);
	srv->cfg.cid_prefix = srv->prefix;
	memcpy(srv->hint, cfg->psk_hint, cfg->psk_hint_len);
	srv->cfg.psk_hint = srv->hint;
	if (srv->cfg.mtu == 0)
		srv->cfg.mtu = 1280;
	if (srv->cfg.max_handshakes == 0)
		srv->cfg.max_handshakes = srv->cfg.max_sessions;
	if (wc_InitRng(&srv->rng) != 0) {
		eim_dtls_cred_free(srv->cred);
		eim_free(srv);
		return EIM_ECRYPTO;
	}
	rc = EIM_ECRYPTO;
	if (rand_bytes(srv, secret, 32) ||
	    rand_bytes(srv, srv->hash_seed, sizeof(srv->hash_seed)))
		goto fail;
	eim_dtls_cookie_init(&srv->cookie, secret, srv->cfg.cookie_period_ms,
			     now_ms);
	eim_wipe(secret, sizeof(secret));
	while (nb < cfg->max_sessions && nb < ((size_t)1 << 22))
		nb <<= 1;
	srv->nbuckets = nb;
	rc = EIM_ENOMEM;
	srv->by_addr = eim_calloc(nb, sizeof(*srv->by_addr));
	srv->by_cid = eim_calloc(nb, sizeof(*srv->by_cid));
	if (!srv->by_addr || !srv->by_cid)
		goto fail;
	*ret = srv;
	return 0;
fail:
	eim_free(srv->by_addr);
	eim_free(srv->by_cid);
	eim_dtls_cred_free(srv->cred);
	wc_FreeRng(&srv->rng);
	eim_free_secret(srv, sizeof(*srv));
	return rc;
}

void eim_dtls_server_free(struct eim_dtls_server *srv)
{
	if (!srv)
		return;
	while (srv->lru_head)
		session_kill(srv->lru_head, EIM_DTLS_CLOSE_SHUTDOWN);
	reap(srv);
	eim_free(srv->by_addr);
	eim_free(srv->by_cid);
	eim_dtls_cookie_done(&srv->cookie);
	eim_dtls_cred_free(srv->cred);
	wc_FreeRng(&srv->rng);
	eim_free_secret(srv, sizeof(*srv));
}

int eim_dtls_server_input(struct eim_dtls_server *srv,
			  const struct sockaddr *from, socklen_t from_len,
			  const uint8_t *dgram, size_t len, uint64_t now_ms)
{
	size_t off = 0;

	if (!srv || !from || (!dgram && len))
		return EIM_EINVAL;
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
			s = find_cid(srv, rec.cid.p, rec.cid.len);
			if (!s)
				srv->st.records_no_session++;
			else
				session_record(s, &rec, from, from_len, now_ms);
			continue;
		}
		s = find_addr(srv, from, from_len);
		if (rec.epoch == 0 && rec.type == EIM_DTLS_CT_HANDSHAKE &&
		    client_hello(srv, s, from, from_len, &rec, now_ms))
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

		if (s->c.state == EIM_DTLS_ST_ESTABLISHED) {
			d = hs->last_flight_ms + LINGER_MS;
		} else {
			d = hs->started_ms + srv->cfg.handshake_timeout_ms;
			if (hs->rtx_at_ms && hs->rtx_at_ms < d)
				d = hs->rtx_at_ms;
		}
		if (d < t)
			t = d;
	}
	if (srv->lru_tail && srv->cfg.idle_timeout_ms) {
		uint64_t d = srv->lru_tail->c.last_ms + srv->cfg.idle_timeout_ms;

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
		if (s->c.state == EIM_DTLS_ST_ESTABLISHED) {
			if (now_ms >= hs->last_flight_ms + LINGER_MS)
				hs_release(s);
			continue;
		}
		if (now_ms >= hs->started_ms + srv->cfg.handshake_timeout_ms) {
			session_kill(s, EIM_DTLS_CLOSE_HANDSHAKE_FAILED);
			continue;
		}
		if (hs->rtx_at_ms && now_ms >= hs->rtx_at_ms) {
			if (++hs->rtx_count > EIM_DTLS_RTX_MAX_COUNT) {
				session_kill(s, EIM_DTLS_CLOSE_HANDSHAKE_FAILED);
				continue;
			}
			hs->rtx_ms = hs->rtx_ms * 2 > EIM_DTLS_RTX_MAX_MS
					     ? EIM_DTLS_RTX_MAX_MS
					     : hs->rtx_ms * 2;
			srv->st.retransmissions++;
			eim_dtls_conn_flight_send(&s->c, now_ms, true);
		}
	}
	while (srv->cfg.idle_timeout_ms && srv->lru_tail &&
	       now_ms >= srv->lru_tail->c.last_ms + srv->cfg.idle_timeout_ms) {
		srv->st.sessions_idle_evicted++;
		session_kill(srv->lru_tail, EIM_DTLS_CLOSE_IDLE);
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
	session_kill(s, EIM_DTLS_CLOSE_LOCAL);
}

const uint8_t *eim_dtls_session_identity(const struct eim_dtls_session *s,
					 size_t *len)
{
	if (!s || !len || s->c.state != EIM_DTLS_ST_ESTABLISHED)
		return NULL;
	*len = s->c.identity_len;
	return s->c.identity;
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
