/*
 * eim_dtls_server_hs.c - DTLS 1.2 server, part 2: the stateless cookie
 * exchange (RFC 6347 section 4.2.1) and the server handshake state machine
 * (RFC 6347 section 4.2, RFC 5246 section 7.4) for PSK (RFC 4279),
 * ECDHE_PSK (RFC 5489) and ECDHE_ECDSA (RFC 8422) suites with extended
 * master secret (RFC 7627), connection_id (RFC 9146) and record_size_limit
 * (RFC 8449).
 *
 * Server flights (after the cookie exchange):
 *   ClientHello(cookie) -> ServerHello, [Certificate], [ServerKeyExchange],
 *                          ServerHelloDone                     [S_WAIT_CKE]
 *   ClientKeyExchange   -> (derive keys)                       [WAIT_CCS]
 *   ChangeCipherSpec    -> (read epoch 1)                      [WAIT_FINISHED]
 *   Finished            -> ChangeCipherSpec, Finished          [ESTABLISHED]
 */
#include "transport/eim_dtls_server_int.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"

#include <assert.h>
#include <string.h>

#define ADDR_KEY_MAX EIM_DTLS_ADDR_KEY_MAX

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

/* Client authentication is configured (ECDHE_ECDSA suites only). */
static bool wants_client_auth(const struct eim_dtls_server *srv)
{
	return srv->trust || srv->cfg.cert_check;
}

/* Whether we can accept a client credential of this RFC 7250 type. */
static bool client_ctype_ok(const struct eim_dtls_server *srv, uint8_t t)
{
	if (t == EIM_DTLS_CTYPE_X509)
		return true; /* CA, pinning or both */
	return t == EIM_DTLS_CTYPE_RPK && srv->cfg.cert_check;
}

/* Whether we can present our own key as this RFC 7250 type. */
static bool server_ctype_ok(const struct eim_dtls_server *srv, uint8_t t)
{
	size_t n;

	if (t == EIM_DTLS_CTYPE_X509)
		return eim_dtls_cred_chain(srv->cred, &n) != NULL;
	return t == EIM_DTLS_CTYPE_RPK && srv->cred;
}

/* Whether a RFC 7250 list holds type t. */
static bool lists(const struct eim_slice *l, uint8_t t)
{
	return l->p && memchr(l->p, t, l->len) != NULL;
}

/*
 * RFC 7250 section 4.2: pick a type from each list the client sent, X.509
 * when it sent none. We take a raw public key whenever the client lists
 * one we can use, whatever its order: clients send these extensions only
 * when set up for raw keys, and GnuTLS (hence libcoap -M) still lists
 * X.509 first. Returns false when nothing fits (the ECDHE_ECDSA suites
 * are then not selectable).
 */
static bool pick_ctypes(const struct eim_dtls_server *srv,
			const struct eim_dtls_client_hello *ch,
			uint8_t *server_t, uint8_t *client_t)
{
	const struct eim_slice *sl = &ch->ext.server_ctypes;
	const struct eim_slice *cl = &ch->ext.client_ctypes;

	if (!ch->ext.server_ctype)
		*server_t = EIM_DTLS_CTYPE_X509;
	else if (lists(sl, EIM_DTLS_CTYPE_RPK))
		*server_t = EIM_DTLS_CTYPE_RPK;
	else if (lists(sl, EIM_DTLS_CTYPE_X509))
		*server_t = EIM_DTLS_CTYPE_X509;
	else
		return false;
	if (!server_ctype_ok(srv, *server_t))
		return false;
	*client_t = EIM_DTLS_CTYPE_X509;
	if (!wants_client_auth(srv) || !ch->ext.client_ctype)
		return true;
	if (lists(cl, EIM_DTLS_CTYPE_RPK) &&
	    client_ctype_ok(srv, EIM_DTLS_CTYPE_RPK)) {
		*client_t = EIM_DTLS_CTYPE_RPK;
		return true;
	}
	/* it could not authenticate as we require without X.509 */
	return lists(cl, EIM_DTLS_CTYPE_X509);
}

static uint16_t pick_suite(const struct eim_dtls_server *srv,
			   const struct eim_dtls_client_hello *ch)
{
	uint8_t st, ct;
	/* When the client lists groups or point formats at all (RFC 8422
	 * section 5.1), ECDHE needs one of our groups and uncompressed
	 * points; our ECDSA key is on secp256r1, so ECDHE_ECDSA needs that
	 * curve listed whatever group the key exchange uses */
	bool fmt_ok = !ch->ext.formats || ch->ext.uncompressed;
	bool ecdhe_ok = fmt_ok && (!ch->ext.groups || ch->ext.group_p256 ||
				   ch->ext.group_x25519);
	bool ecdsa_ok = fmt_ok && (!ch->ext.groups || ch->ext.group_p256);

	for (size_t i = 0; i < srv->cfg.n_suites; i++) {
		uint16_t suite = srv->suites[i];

		int kx = eim_dtls_suite_kx(suite);

		if (kx == EIM_DTLS_KX_ECDHE_PSK && !ecdhe_ok)
			continue;
		if (kx == EIM_DTLS_KX_ECDHE_ECDSA && !ecdsa_ok)
			continue;
		/* RFC 5246 7.4.1.4.1: the signature must be one it lists */
		if (kx == EIM_DTLS_KX_ECDHE_ECDSA && ch->ext.sigalgs &&
		    !ch->ext.sig_ecdsa_sha256)
			continue;
		if (kx == EIM_DTLS_KX_ECDHE_ECDSA &&
		    !pick_ctypes(srv, ch, &st, &ct))
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
		if (eim_dtls_srv__rand(srv, cid + p, n - p))
			return EIM_ECRYPTO;
		if (!eim_dtls_srv__find_cid(srv, cid, n))
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
	bool ecdsa = hs->kx == EIM_DTLS_KX_ECDHE_ECDSA;
	/* CertificateRequest (RFC 5246 7.4.4): certificate_types {ecdsa_sign},
	 * supported_signature_algorithms {ecdsa_secp256r1_sha256}, no
	 * certificate_authorities (any issuer; we check it) */
	static const uint8_t cert_req[] = {1, 64, 0, 2, 0x04, 0x03, 0, 0};
	uint8_t ske[2 + EIM_DTLS_IDENTITY_MAX + 4 + EIM_DTLS_P256_POINT_LEN +
		    4 + EIM_DTLS_ECDSA_SIG_MAX];
	size_t hint = s->srv->cfg.psk_hint_len, ske_len = 0;
	struct eim_buf b;
	uint8_t v[2];
	int rc;

	if (hs->kx == EIM_DTLS_KX_ECDHE_PSK ||
	    hs->kx == EIM_DTLS_KX_ECDHE_ECDSA) {
		/* secp256r1 (RFC 7925's curve, issue 7's choice) whenever the
		 * client lists it; x25519 when it lists only that, or for
		 * ECDHE_ECDSA when the operator prefers it (prefer_x25519):
		 * its key generation and shared secret cost wolfCrypt about
		 * 50 us each, where a secp256r1 shared secret with a fresh
		 * point costs 500. Never for ECDHE_PSK with a client that
		 * also lists secp256r1: wolfSSL 5.5's client offers x25519
		 * but fails ECDHE_PSK on it ("Bad ECC Peer Key",
		 * tests/dtls/interop_dtls_wolfssl.sh), and devices run
		 * wolfSSL */
		bool x = ch->ext.group_x25519 &&
			 (!ch->ext.group_p256 ||
			  (hs->kx == EIM_DTLS_KX_ECDHE_ECDSA &&
			   s->srv->cfg.prefer_x25519));
		uint16_t group =
			x ? EIM_DTLS_GROUP_X25519 : EIM_DTLS_GROUP_P256;
		size_t plen;

		/* RFC 5489: psk_identity_hint first (ECDHE_PSK only), then
		 * ServerECDHParams: named_curve (3), the group,
		 * point<1..255> */
		if (hs->kx == EIM_DTLS_KX_ECDHE_PSK) {
			eim_put_be16(ske, (uint16_t)hint);
			memcpy(ske + 2, s->srv->hint, hint);
			ske_len = 2 + hint;
		}
		ske[ske_len++] = 3;
		eim_put_be16(ske + ske_len, group);
		ske_len += 2;
		rc = eim_dtls_ecdhe_new_group(&s->srv->rng, group, &hs->ecdhe,
					      ske + ske_len + 1, &plen);
		if (rc)
			return rc;
		ske[ske_len++] = (uint8_t)plen;
		ske_len += plen;
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
		&b,
		&(struct eim_dtls_ext_out){
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
			/* RFC 7250 4.2: answer only what was asked */
			.server_ctype = ecdsa && ch->ext.server_ctype,
			.server_ctype_value = hs->server_ctype,
			.client_ctype = hs->cert_req && ch->ext.client_ctype,
			.client_ctype_value = hs->client_ctype,
		});
	if (b.err) {
		rc = b.err;
		goto out;
	}
	eim_dtls_conn_flight_reset(&s->c);
	eim_dtls_conn_flight_hs(&s->c, 0, EIM_DTLS_HS_SERVER_HELLO, b.p, b.len);
	if (ecdsa) {
		size_t chain_len = 0;
		const uint8_t *chain =
			hs->server_ctype == EIM_DTLS_CTYPE_RPK
				? eim_dtls_cred_rpk(s->srv->cred, &chain_len)
				: eim_dtls_cred_chain(s->srv->cred, &chain_len);

		eim_dtls_conn_flight_hs(&s->c, 0, EIM_DTLS_HS_CERTIFICATE,
					chain, chain_len);
	}
	if (hs->kx != EIM_DTLS_KX_PSK)
		eim_dtls_conn_flight_hs(&s->c, 0,
					EIM_DTLS_HS_SERVER_KEY_EXCHANGE, ske,
					ske_len);
	if (hs->cert_req)
		eim_dtls_conn_flight_hs(&s->c, 0,
					EIM_DTLS_HS_CERTIFICATE_REQUEST,
					cert_req, sizeof(cert_req));
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
	    !eim_dtls_srv__hs_room(srv, now)) {
		srv->st.handshakes_refused++;
		return;
	}
	s = eim_calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	s->srv = srv;
	s->suite = suite;
	s->c.is_server = true;
	s->c.out = eim_dtls_srv__conn_out;
	s->c.keylog = srv->cfg.keylog;
	s->c.keylog_ctx = srv->cfg.ctx;
	s->c.mtu = srv->cfg.mtu;
	if (eim_dtls_srv__addr_copy(&s->c.addr, &s->c.addr_len, from, from_len))
		goto oom; /* cannot happen: the cookie was keyed on it */
	s->c.last_ms = now;
	s->c.peer_rsl = ch->ext.record_size_limit ? ch->ext.record_size_limit
						  : EIM_DTLS_MAX_PLAINTEXT;
	if (eim_dtls_conn_hs_new(&s->c, now))
		goto oom;
	s->c.hs->suite = suite;
	s->c.hs->kx = (uint8_t)eim_dtls_suite_kx(suite);
	s->c.hs->aead = eim_dtls_suite_aead(suite);
	memcpy(s->c.hs->crandom, ch->random, 32);
	if (eim_dtls_srv__rand(srv, s->c.hs->srandom, 32))
		goto oom;
	s->c.hs->ems = ch->ext.ems;
	if (s->c.hs->kx == EIM_DTLS_KX_ECDHE_ECDSA) {
		/* pick_suite() checked that a choice exists */
		(void)pick_ctypes(srv, ch, &s->c.hs->server_ctype,
				  &s->c.hs->client_ctype);
		s->c.hs->cert_req = wants_client_auth(srv);
	}
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
	s->c.state = s->c.hs->cert_req ? EIM_DTLS_ST_S_WAIT_CERT
				       : EIM_DTLS_ST_S_WAIT_CKE;

	eim_dtls_srv__register(s);
	if (server_hello_flight(s, ch, now))
		eim_dtls_srv__kill(s, EIM_DTLS_CLOSE_HANDSHAKE_FAILED);
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
bool eim_dtls_srv__client_hello(struct eim_dtls_server *srv,
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
	klen = eim_dtls_srv__addr_key(from, from_len, key);
	if (!klen)
		return true;
	if (eim_dtls_cookie_due(&srv->cookie, now)) {
		uint8_t fresh[32];

		if (eim_dtls_srv__rand(srv, fresh, 32) == 0)
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
	 * the peer lost its state; the old session goes, unless its
	 * Connection ID still reaches it (another device may have that
	 * address now). */
	if (s)
		eim_dtls_srv__displace(s);
	start_session(srv, from, from_len, rec, &f, &ch, now);
	return true;
}

/* Records what authenticated the client (a NUL-terminated copy). */
static int set_identity(struct eim_dtls_session *s, uint8_t kind,
			const uint8_t *id, size_t len)
{
	uint8_t *p = eim_malloc(len + 1);

	if (!p)
		return EIM_ENOMEM;
	memcpy(p, id, len);
	p[len] = 0;
	eim_free(s->c.identity);
	s->c.identity = p;
	s->c.identity_len = (uint16_t)len;
	s->c.identity_kind = kind;
	return 0;
}

/*
 * The client's Certificate (RFC 5246 7.4.6; RFC 7250 for a raw key):
 * checked against the CAs and/or the owner's pin list before anything
 * else happens, so that an unknown client gets its alert at once. The
 * alert says why (eim_dtls_trust_alert); a well-formed certificate or key
 * that the pin list does not know gets certificate_unknown.
 */
static int on_client_certificate(struct eim_dtls_session *s,
				 const uint8_t *body, size_t len)
{
	struct eim_dtls_server *srv = s->srv;
	struct eim_dtls_hs_state *hs = s->c.hs;
	bool rpk = hs->client_ctype == EIM_DTLS_CTYPE_RPK;
	uint8_t kind = rpk ? EIM_DTLS_ID_RPK : EIM_DTLS_ID_CERT;
	unsigned flags = srv->cfg.pinned_allow_expired
				 ? EIM_DTLS_TRUST_ALLOW_EXPIRED
				 : 0;
	uint8_t fp[32];
	int rc;

	rc = eim_dtls_trust_client(rpk ? NULL : srv->trust, rpk, flags, body,
				   len, fp, hs->peer_pub);
	if (rc) {
		srv->st.client_auth_failed++;
		return eim_dtls_trust_alert(rc);
	}
	if (srv->cfg.cert_check &&
	    srv->cfg.cert_check(srv->cfg.ctx, (enum eim_dtls_identity_kind)kind,
				fp) != 0) {
		srv->st.client_auth_failed++;
		return EIM_DTLS_ALERT_CERTIFICATE_UNKNOWN;
	}
	if (set_identity(s, kind, fp, sizeof(fp)))
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	return 0;
}

/*
 * CertificateVerify (RFC 5246 7.4.8): SignatureAndHashAlgorithm, then
 * signature<0..2^16-1> over every handshake message before this one; we
 * asked for ecdsa_secp256r1_sha256 only. The caller has not yet added this
 * message to the transcript.
 */
static int on_certificate_verify(struct eim_dtls_session *s,
				 const uint8_t *body, size_t len)
{
	uint8_t h[32];

	if (len < 4 || eim_get_be16(body + 2) != len - 4)
		return EIM_DTLS_ALERT_DECODE_ERROR;
	if (eim_get_be16(body) != EIM_DTLS_SIG_ECDSA_SHA256)
		return EIM_DTLS_ALERT_ILLEGAL_PARAMETER;
	if (eim_dtls_conn_transcript_hash(&s->c, h))
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	if (eim_dtls_ecdsa_verify(s->c.hs->peer_pub, h, body + 4, len - 4)) {
		s->srv->st.client_auth_failed++;
		return EIM_DTLS_ALERT_DECRYPT_ERROR;
	}
	return 0;
}

/* ClientECDiffieHellmanPublic: point<1..255>; the pre-master secret is
 * the ECDH secret itself (RFC 8422 section 5.10). */
/* The session's record keys were just derived: give them slots in the
 * server's AES key schedule cache (see eim_dtls_crypto.h). */
static void keys_attach(struct eim_dtls_session *s)
{
	eim_dtls_aead_cache_attach(s->srv->aead_cache, &s->c.rkey);
	eim_dtls_aead_cache_attach(s->srv->aead_cache, &s->c.wkey);
}

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
	if (rc)
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	keys_attach(s);
	return 0;
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
	if (set_identity(s, EIM_DTLS_ID_PSK, body + 2, idlen))
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	rc = srv->cfg.psk_lookup(srv->cfg.ctx, body + 2, idlen, psk, &psk_len);
	if (rc || psk_len == 0 || psk_len > EIM_DTLS_PSK_MAX) {
		/* RFC 4279 section 2: hide unknown identities by going on
		 * with a random key; the client's Finished then fails. */
		psk_len = 32;
		if (eim_dtls_srv__rand(srv, psk, psk_len))
			alert = EIM_DTLS_ALERT_INTERNAL_ERROR;
	}
	if (!alert) {
		pms_len = eim_dtls_psk_pms(point ? z : NULL, sizeof(z), psk,
					   psk_len, pms);
		if (eim_dtls_conn_derive(&s->c, pms, pms_len))
			alert = EIM_DTLS_ALERT_INTERNAL_ERROR;
		else
			keys_attach(s);
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
	eim_dtls_conn_transcript_msg(&s->c, EIM_DTLS_HS_FINISHED, msg_seq, body,
				     len);
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
static int hs_dispatch(struct eim_dtls_session *s, uint16_t epoch, uint8_t type,
		       const uint8_t *body, size_t len, uint16_t msg_seq,
		       uint64_t now)
{
	int alert;

	switch (s->c.state) {
	case EIM_DTLS_ST_S_WAIT_CERT:
		if (type != EIM_DTLS_HS_CERTIFICATE || epoch != 0)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		eim_dtls_conn_transcript_msg(&s->c, type, msg_seq, body, len);
		alert = on_client_certificate(s, body, len);
		if (alert)
			return alert;
		s->c.hs->rtx_at_ms = 0; /* the client has our flight */
		s->c.state = EIM_DTLS_ST_S_WAIT_CKE;
		return 0;
	case EIM_DTLS_ST_S_WAIT_CKE:
		if (type != EIM_DTLS_HS_CLIENT_KEY_EXCHANGE || epoch != 0)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		eim_dtls_conn_transcript_msg(&s->c, type, msg_seq, body, len);
		alert = on_client_key_exchange(s, body, len);
		if (alert)
			return alert;
		s->c.hs->rtx_at_ms = 0; /* the client has our flight */
		s->c.state = s->c.hs->cert_req ? EIM_DTLS_ST_S_WAIT_CV
					       : EIM_DTLS_ST_WAIT_CCS;
		return 0;
	case EIM_DTLS_ST_S_WAIT_CV:
		if (type != EIM_DTLS_HS_CERTIFICATE_VERIFY || epoch != 0)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		alert = on_certificate_verify(s, body, len);
		if (alert)
			return alert;
		eim_dtls_conn_transcript_msg(&s->c, type, msg_seq, body, len);
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
void eim_dtls_srv__hs_records(struct eim_dtls_session *s, uint16_t epoch,
			      const uint8_t *p, size_t n, uint64_t now)
{
	bool resent = false;

	while (n > 0 && !s->dead) {
		struct eim_dtls_hs_frag f;
		struct eim_slice msg;
		const uint8_t *raw = p;
		size_t used;
		int rc, alert;

		if (eim_dtls_hs_parse_frag(p, n, &f, &used)) {
			s->srv->st.records_malformed++;
			return;
		}
		p += used;
		n -= used;
		if (epoch == 1 && f.type == EIM_DTLS_HS_CLIENT_HELLO &&
		    s->c.state == EIM_DTLS_ST_ESTABLISHED) {
			/* RFC 5746 4.4 / RFC 5246 7.2.2: we do not
			 * renegotiate; a warning lets the session go on */
			s->srv->st.renegotiation_refused++;
			eim_dtls_conn_send_alert(
				&s->c, 1, EIM_DTLS_ALERT_NO_RENEGOTIATION);
			continue;
		}
		if (!s->c.hs) {
			if (!eim_dtls_srv__linger_resend(s, f.msg_seq, now,
							 &resent))
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
			/* kept for its turn, else the peer resends it */
			if (eim_dtls_conn_keep_future(&s->c, epoch, &f, raw,
						      used))
				s->srv->st.records_unexpected++;
			else
				s->srv->st.hs_buffered++;
			continue;
		}
		rc = eim_dtls_reasm_add(&s->c.hs->reasm, &f,
					EIM_DTLS_HS_MSG_MAX, &msg);
		if (rc < 0) {
			eim_dtls_srv__fail(
				s, rc == EIM_ENOMEM
					   ? EIM_DTLS_ALERT_INTERNAL_ERROR
					   : EIM_DTLS_ALERT_DECODE_ERROR);
			return;
		}
		if (rc == 0)
			continue;
		alert = hs_dispatch(s, epoch, f.type, msg.p, msg.len, f.msg_seq,
				    now);
		if (s->c.hs)
			eim_dtls_reasm_done(&s->c.hs->reasm);
		if (alert) {
			eim_dtls_srv__fail(s, (uint8_t)alert);
			return;
		}
		s->c.hs->rx_seq++;
		if (s->c.state == EIM_DTLS_ST_ESTABLISHED)
			eim_dtls_srv__established(s, now);
	}
	/* kept fragments that are now next: processed as if just received
	 * (recursion depth is bounded by EIM_DTLS_FUTURE_AHEAD) */
	if (!s->dead && s->c.hs && s->c.hs->future.len) {
		uint8_t more[EIM_DTLS_FUTURE_MAX];
		uint16_t ep = 0;
		size_t k = eim_dtls_conn_take_future(&s->c, &ep, more);

		if (k)
			eim_dtls_srv__hs_records(s, ep, more, k, now);
	}
}
