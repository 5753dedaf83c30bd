/*
 * eim_coap_server.c - CoAP server engine (RFC 7252 4-5, RFC 7959, RFC 9175).
 *
 * Per-peer state lives in a hash table keyed by the peer key bytes, with an
 * LRU list threaded through it so that the oldest peer can be evicted when
 * max_peers is reached and idle peers can be expired from the tail in
 * order. The table starts small and doubles when it holds more peers than
 * buckets, so its memory follows the peers present, not max_peers. Each
 * peer holds a small ring of (message ID, response bytes) for
 * deduplication, which starts with one slot and grows (up to
 * dedup_per_peer) only when the slot to reuse still holds a live
 * exchange, and, only while a multi-block response is being fetched, a
 * copy of that response: an idle peer is a few dozen bytes.
 *
 * The response to every request is first built in one scratch buffer owned
 * by the server, then copied into the peer's dedup slot (whose buffer is
 * kept and reused) and sent. A retransmitted request is answered from the
 * slot, so the handler runs once per exchange (RFC 7252 4.5).
 */
#include "transport/eim_coap_server.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "transport/eim_coap_block.h"

#include <string.h>

struct dslot {
	uint64_t t_ms;
	uint8_t *resp;
	uint16_t resp_len; /* responses fit in out_cap (< 64 KiB) */
	uint16_t resp_cap;
	uint16_t mid;
	bool used;
};

/* Cached multi-block response (RFC 7959 2.4), while it is fetched. */
struct b2cache {
	uint8_t method;
	uint8_t code;
	int cf;
	uint32_t etag;
	uint64_t ms;
	char path[EIM_COAP_BLOCK_PATH_MAX];
	struct eim_buf body;
};

struct peer {
	struct peer *hnext;
	struct peer *prev; /* LRU: head is the most recently seen */
	struct peer *next;
	uint64_t last_ms;
	struct dslot *slots; /* nslots of them, oldest at slot_next */
	struct b2cache *b2;  /* NULL unless a Block2 transfer is under way */
	uint32_t nslots;
	uint32_t slot_next; /* ring position of the next slot to overwrite */
	uint8_t key_len;
	uint8_t key[]; /* key_len bytes */
};

#define PEER_TABLE_MIN 64u
#define PEER_TABLE_MAX ((size_t)1 << 24)

struct eim_coap_server {
	struct eim_coap_server_config cfg;
	struct eim_coap_route *routes;
	size_t nroutes;
	struct peer **buckets;
	size_t nbuckets; /* power of two */
	struct peer *lru_head;
	struct peer *lru_tail;
	size_t npeers;
	struct eim_coap_block1_table *b1;
	uint16_t next_mid;
	uint32_t next_etag;
	struct eim_coap_server_stats st;
	struct eim_coap_msg msg;
	struct eim_coap_response resp;
	uint8_t *out;
	size_t out_cap;
};

/* Options of a response, added in ascending number order by build(). */
struct ropts {
	bool etag, b2, b1, size2, size1;
	int cf;
	uint32_t etag_v, b2_v, b1_v, size2_v, size1_v;
};

void eim_coap_server_config_default(struct eim_coap_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	eim_coap_params_default(&cfg->params);
	cfg->dedup_per_peer = 8;
	cfg->max_peers = 65536;
	cfg->block_szx = 6;
	cfg->max_body = 65536;
	cfg->max_reassemblies = 256;
	cfg->reassembly_lifetime_ms = 60000;
}

int eim_coap_server_new(const struct eim_coap_server_config *cfg,
			const struct eim_coap_route *routes, size_t nroutes,
			struct eim_coap_server **ret)
{
	struct eim_coap_server *s = NULL;
	int rc = EIM_ENOMEM;

	if (!ret || (nroutes && !routes))
		return EIM_EINVAL;
	for (size_t i = 0; i < nroutes; i++)
		if (!routes[i].handler)
			return EIM_EINVAL;
	s = eim_calloc(1, sizeof(*s));
	if (!s)
		return EIM_ENOMEM;
	if (cfg)
		s->cfg = *cfg;
	else
		eim_coap_server_config_default(&s->cfg);
	if (s->cfg.block_szx > 6 || !s->cfg.dedup_per_peer ||
	    !s->cfg.max_peers || !s->cfg.max_body || !s->cfg.max_reassemblies ||
	    !s->cfg.reassembly_lifetime_ms ||
	    !s->cfg.params.exchange_lifetime_ms) {
		rc = EIM_EINVAL;
		goto fail;
	}
	if (nroutes) {
		s->routes = eim_memdup(routes, nroutes * sizeof(*routes));
		if (!s->routes)
			goto fail;
	}
	s->nroutes = nroutes;
	s->nbuckets = PEER_TABLE_MIN;
	s->buckets = eim_calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets)
		goto fail;
	rc = eim_coap_block1_table_new(s->cfg.max_reassemblies, s->cfg.max_body,
				       s->cfg.reassembly_lifetime_ms, &s->b1);
	if (rc)
		goto fail;
	rc = EIM_ENOMEM;
	/* Header, token and the few options a response carries, plus one
	 * block (or a whole body that fits in one block): at most 1120
	 * bytes, which the dedup slots' 16-bit lengths rely on. */
	s->out_cap = 96 + eim_coap_szx_size(s->cfg.block_szx);
	s->out = eim_malloc(s->out_cap);
	if (!s->out)
		goto fail;
	eim_buf_init(&s->resp.body);
	s->next_mid = 0x1000;
	*ret = s;
	return 0;
fail:
	eim_coap_server_free(s);
	return rc;
}

static void b2_drop(struct peer *p)
{
	if (!p->b2)
		return;
	eim_buf_done(&p->b2->body);
	eim_free(p->b2);
	p->b2 = NULL;
}

static void peer_free(struct peer *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nslots; i++)
		eim_free(p->slots[i].resp);
	eim_free(p->slots);
	b2_drop(p);
	eim_free(p);
}

void eim_coap_server_free(struct eim_coap_server *s)
{
	if (!s)
		return;
	for (struct peer *p = s->lru_head, *n; p; p = n) {
		n = p->next;
		peer_free(p);
	}
	eim_free(s->buckets);
	eim_free(s->routes);
	eim_coap_block1_table_free(s->b1);
	eim_buf_done(&s->resp.body);
	eim_free(s->out);
	eim_free(s);
}

/* FNV-1a: keys are short, and peers do not choose their DTLS session key;
 * UDP addresses are bounded by max_peers whatever the spread. */
static size_t key_hash(const uint8_t *k, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

static void lru_unlink(struct eim_coap_server *s, struct peer *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		s->lru_head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		s->lru_tail = p->prev;
	p->prev = p->next = NULL;
}

static void lru_push_head(struct eim_coap_server *s, struct peer *p)
{
	p->prev = NULL;
	p->next = s->lru_head;
	if (s->lru_head)
		s->lru_head->prev = p;
	s->lru_head = p;
	if (!s->lru_tail)
		s->lru_tail = p;
}

static struct peer **bucket_of(struct eim_coap_server *s, const uint8_t *key,
			       size_t len)
{
	return &s->buckets[key_hash(key, len) & (s->nbuckets - 1)];
}

static struct peer *peer_find(struct eim_coap_server *s, const uint8_t *key,
			      size_t len)
{
	for (struct peer *p = *bucket_of(s, key, len); p; p = p->hnext)
		if (p->key_len == len && memcmp(p->key, key, len) == 0)
			return p;
	return NULL;
}

static void peer_remove(struct eim_coap_server *s, struct peer *p)
{
	struct peer **pp = bucket_of(s, p->key, p->key_len);

	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	lru_unlink(s, p);
	eim_coap_block1_drop_peer(s->b1, p->key, p->key_len);
	peer_free(p);
	s->npeers--;
}

/* Doubles the bucket array once there are more peers than buckets (the
 * old one stays when there is no memory: longer chains, nothing lost). */
static void table_grow(struct eim_coap_server *s)
{
	size_t nb = s->nbuckets * 2;
	struct peer **b;

	if (s->npeers <= s->nbuckets || nb > PEER_TABLE_MAX)
		return;
	b = eim_calloc(nb, sizeof(*b));
	if (!b)
		return;
	eim_free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
	for (struct peer *p = s->lru_head; p; p = p->next) {
		struct peer **h = bucket_of(s, p->key, p->key_len);

		p->hnext = *h;
		*h = p;
	}
	s->st.table_resizes++;
}

static struct peer *peer_get(struct eim_coap_server *s,
			     const struct eim_coap_peer *ep, uint64_t now)
{
	struct peer *p = peer_find(s, ep->key, ep->key_len);

	if (p) {
		if (s->lru_head != p) {
			lru_unlink(s, p);
			lru_push_head(s, p);
		}
		p->last_ms = now;
		return p;
	}
	if (s->npeers >= s->cfg.max_peers && s->lru_tail)
		peer_remove(s, s->lru_tail);
	p = eim_calloc(1, sizeof(*p) + ep->key_len);
	if (!p)
		return NULL;
	p->slots = eim_calloc(1, sizeof(*p->slots));
	if (!p->slots) {
		eim_free(p);
		return NULL;
	}
	p->nslots = 1;
	p->key_len = (uint8_t)ep->key_len;
	memcpy(p->key, ep->key, ep->key_len);
	p->last_ms = now;
	struct peer **b = bucket_of(s, p->key, p->key_len);
	p->hnext = *b;
	*b = p;
	lru_push_head(s, p);
	s->npeers++;
	table_grow(s);
	return p;
}

static struct dslot *dedup_find(struct eim_coap_server *s, struct peer *p,
				uint16_t mid, uint64_t now)
{
	for (uint32_t i = 0; i < p->nslots; i++) {
		struct dslot *d = &p->slots[i];
		if (d->used && d->mid == mid &&
		    now - d->t_ms < s->cfg.params.exchange_lifetime_ms)
			return d;
	}
	return NULL;
}

/*
 * The slot to reuse still holds a live exchange: more slots, up to
 * dedup_per_peer. The ring is rotated so that the oldest entry is first
 * and the new slots follow the newest. Returns the slot to write (the
 * oldest one again when there is no memory).
 */
static struct dslot *dedup_grow(struct eim_coap_server *s, struct peer *p)
{
	uint32_t n = p->nslots, k = p->slot_next;
	uint32_t nn =
		n * 2 < s->cfg.dedup_per_peer ? n * 2 : s->cfg.dedup_per_peer;
	struct dslot *ns = eim_calloc(nn, sizeof(*ns));

	if (!ns)
		return &p->slots[k];
	memcpy(ns, p->slots + k, (n - k) * sizeof(*ns));
	memcpy(ns + (n - k), p->slots, k * sizeof(*ns));
	eim_free(p->slots);
	p->slots = ns;
	p->nslots = nn;
	p->slot_next = n;
	return &ns[n];
}

/* Keeps the response for a later duplicate in the oldest slot. */
static void dedup_store(struct eim_coap_server *s, struct peer *p, uint16_t mid,
			uint64_t now, const uint8_t *r, size_t n)
{
	struct dslot *d = &p->slots[p->slot_next];

	if (d->used && now - d->t_ms < s->cfg.params.exchange_lifetime_ms &&
	    p->nslots < s->cfg.dedup_per_peer)
		d = dedup_grow(s, p);
	p->slot_next = (p->slot_next + 1) % p->nslots;
	if (n > UINT16_MAX) {
		d->used = false;
		return;
	}
	if (d->resp_cap < n) {
		uint8_t *nb = eim_realloc(d->resp, n);
		if (!nb) {
			/* Without a copy a duplicate would re-run the
			 * handler: better to remember nothing and answer the
			 * duplicate from scratch than to keep a stale one. */
			d->used = false;
			return;
		}
		d->resp = nb;
		d->resp_cap = (uint16_t)n;
	}
	memcpy(d->resp, r, n);
	d->resp_len = (uint16_t)n;
	d->mid = mid;
	d->t_ms = now;
	d->used = true;
}

static void send_rst(struct eim_coap_server *s,
		     const struct eim_coap_peer *peer, uint16_t mid)
{
	uint8_t b[4];
	struct eim_coap_writer w;
	size_t n;

	eim_coap_writer_init(&w, b, sizeof(b), EIM_COAP_RST, EIM_COAP_EMPTY,
			     mid, NULL, 0);
	if (eim_coap_writer_finish(&w, &n) == 0)
		peer->send(peer->send_ctx, b, n);
	s->st.rst_sent++;
}

/* Builds a response to s->msg in s->out; returns its length or 0. */
static size_t build(struct eim_coap_server *s, uint8_t code,
		    const struct ropts *o, const uint8_t *body, size_t n)
{
	const struct eim_coap_msg *m = &s->msg;
	struct eim_coap_writer w;
	uint8_t type = m->type == EIM_COAP_CON ? EIM_COAP_ACK : EIM_COAP_NON;
	uint16_t mid = m->type == EIM_COAP_CON ? m->mid : s->next_mid++;
	size_t len = 0;

	eim_coap_writer_init(&w, s->out, s->out_cap, type, code, mid, m->token,
			     m->tkl);
	if (o && o->etag)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_ETAG, o->etag_v);
	if (o && o->cf >= 0)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_CONTENT_FORMAT,
					 (uint32_t)o->cf);
	if (o && o->b2)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_BLOCK2, o->b2_v);
	if (o && o->b1)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_BLOCK1, o->b1_v);
	if (o && o->size2)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_SIZE2, o->size2_v);
	if (o && o->size1)
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_SIZE1, o->size1_v);
	eim_coap_writer_payload(&w, body, n);
	if (eim_coap_writer_finish(&w, &len))
		return 0;
	return len;
}

static size_t build_code(struct eim_coap_server *s, uint8_t code)
{
	struct ropts o = {.cf = -1};
	return build(s, code, &o, NULL, 0);
}

/*
 * Checks the request's options against what this server understands
 * (RFC 7252 5.4.1, 5.4.3, 5.4.5). Returns 0 or the error code to answer.
 */
static uint8_t check_options(const struct eim_coap_msg *m)
{
	uint16_t prev = 0;

	for (size_t i = 0; i < m->nopts; i++) {
		const struct eim_coap_opt *o = &m->opts[i];
		bool repeat = i > 0 && prev == o->num;
		size_t lo = 0, hi = 0;
		bool repeatable = false, known = true;

		prev = o->num;
		switch (o->num) {
		case EIM_COAP_OPT_URI_HOST:
			lo = 1, hi = 255;
			break;
		case EIM_COAP_OPT_URI_PORT:
		case EIM_COAP_OPT_CONTENT_FORMAT:
		case EIM_COAP_OPT_ACCEPT:
			hi = 2;
			break;
		case EIM_COAP_OPT_URI_PATH:
		case EIM_COAP_OPT_URI_QUERY:
			hi = 255, repeatable = true;
			break;
		case EIM_COAP_OPT_BLOCK1:
		case EIM_COAP_OPT_BLOCK2:
			hi = 3;
			break;
		case EIM_COAP_OPT_SIZE1:
		case EIM_COAP_OPT_SIZE2:
			hi = 4;
			break;
		case EIM_COAP_OPT_REQUEST_TAG:
			hi = EIM_COAP_RTAG_MAX, repeatable = true;
			break;
		default:
			known = false;
			break;
		}
		bool bad = !known || o->len < lo || o->len > hi ||
			   (repeat && !repeatable);
		/* Elective options we do not understand are ignored; a
		 * critical one we cannot honour fails the request. */
		if (bad && eim_coap_opt_is_critical(o->num)) {
			eim_debug("coap: critical option %u (%s), %u bytes%s: "
				  "4.02",
				  o->num, eim_coap_opt_name(o->num), o->len,
				  repeat ? ", repeated" : "");
			return EIM_COAP_BAD_OPTION;
		}
	}
	return 0;
}

static const struct eim_coap_route *route_find(struct eim_coap_server *s,
					       uint8_t method, const char *path,
					       bool *ret_path_known)
{
	*ret_path_known = false;
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct eim_coap_route *r = &s->routes[i];
		if (r->path && strcmp(r->path, path) != 0)
			continue;
		*ret_path_known = true;
		if (r->method == 0 || r->method == method)
			return r;
	}
	return NULL;
}

/* Serves block num of the peer's cached body (RFC 7959 2.4). */
static size_t serve_block(struct eim_coap_server *s, struct peer *p,
			  uint32_t num, uint8_t szx, const struct ropts *extra)
{
	struct b2cache *c = p->b2;
	size_t bs = eim_coap_szx_size(szx);
	size_t total = c->body.len;
	size_t off = (size_t)num * bs;
	struct ropts o = {.cf = c->cf};
	size_t ret;

	if (num && off >= total)
		return build_code(s, EIM_COAP_BAD_REQUEST);
	size_t n = total - off < bs ? total - off : bs;
	bool more = off + n < total;
	if (extra)
		o = *extra;
	o.cf = c->cf;
	o.etag = true;
	o.etag_v = c->etag;
	o.b2 = true;
	o.b2_v = eim_coap_block_encode(num, more, szx);
	o.size2 = true;
	o.size2_v = (uint32_t)total;
	ret = build(s, c->code, &o, c->body.p + off, n);
	/* The last block went out (and is in the dedup cache for a
	 * repeat): the transfer is over, the copy goes. */
	if (!more)
		b2_drop(p);
	return ret;
}

static size_t handle_request(struct eim_coap_server *s, struct peer *p,
			     const struct eim_coap_peer *peer, uint64_t now)
{
	const struct eim_coap_msg *m = &s->msg;
	char path[EIM_COAP_BLOCK_PATH_MAX];
	const struct eim_coap_opt *o;
	const struct eim_coap_route *r;
	struct eim_coap_block b1 = {0}, b2 = {0};
	struct eim_coap_block1_key key;
	struct ropts ro = {.cf = -1};
	bool has_b1 = false, has_b2 = false, path_known;
	uint32_t size1 = 0, cf = 0;
	uint8_t code, szx = s->cfg.block_szx;
	const uint8_t *body = m->payload;
	size_t body_len = m->payload_len;
	int rc;

	code = check_options(m);
	if (code)
		return build_code(s, code);
	if (eim_coap_msg_path(m, path, sizeof(path)))
		return build_code(s, EIM_COAP_NOT_FOUND);
	r = route_find(s, m->code, path, &path_known);
	if (!r)
		return build_code(s, path_known ? EIM_COAP_METHOD_NOT_ALLOWED
						: EIM_COAP_NOT_FOUND);
	if ((o = eim_coap_msg_opt(m, EIM_COAP_OPT_BLOCK2))) {
		if (eim_coap_block_decode(o, &b2))
			return build_code(s, EIM_COAP_BAD_REQUEST);
		has_b2 = true;
		if (b2.szx < szx)
			szx = b2.szx; /* early negotiation (RFC 7959 2.4) */
	}
	if ((o = eim_coap_msg_opt(m, EIM_COAP_OPT_SIZE1)))
		eim_coap_opt_uint(o, 4, &size1);
	if ((o = eim_coap_msg_opt(m, EIM_COAP_OPT_BLOCK1))) {
		if (eim_coap_block_decode(o, &b1))
			return build_code(s, EIM_COAP_BAD_REQUEST);
		has_b1 = true;
	}

	if (has_b1) {
		const struct eim_coap_opt *rt =
			eim_coap_msg_opt(m, EIM_COAP_OPT_REQUEST_TAG);
		uint8_t rszx =
			b1.szx < s->cfg.block_szx ? b1.szx : s->cfg.block_szx;
		key = (struct eim_coap_block1_key){
			.peer = p->key,
			.peer_len = p->key_len,
			.method = m->code,
			.path = path,
			.has_rtag = rt != NULL,
			.rtag = rt ? rt->val : NULL,
			.rtag_len = rt ? rt->len : 0,
		};
		rc = eim_coap_block1_feed(s->b1, &key, &b1, m->payload,
					  m->payload_len, size1, now, &body,
					  &body_len);
		switch (rc) {
		case EIM_COAP_BLOCK1_CONTINUE:
			ro.b1 = true;
			ro.b1_v = eim_coap_block_encode(b1.num, true, rszx);
			return build(s, EIM_COAP_CONTINUE, &ro, NULL, 0);
		case EIM_COAP_BLOCK1_COMPLETE:
			ro.b1 = true;
			ro.b1_v = eim_coap_block_encode(b1.num, false, rszx);
			break;
		case EIM_ETOOBIG:
			ro.size1 = true;
			ro.size1_v = (uint32_t)s->cfg.max_body;
			return build(s, EIM_COAP_REQUEST_ENTITY_TOO_LARGE, &ro,
				     NULL, 0);
		case EIM_ESTATE:
			return build_code(s,
					  EIM_COAP_REQUEST_ENTITY_INCOMPLETE);
		case EIM_EMALFORMED:
			return build_code(s, EIM_COAP_BAD_REQUEST);
		case EIM_EBUSY:
			return build_code(s, EIM_COAP_SERVICE_UNAVAILABLE);
		default:
			return build_code(s, EIM_COAP_INTERNAL_SERVER_ERROR);
		}
	} else if (body_len > s->cfg.max_body) {
		ro.size1 = true;
		ro.size1_v = (uint32_t)s->cfg.max_body;
		return build(s, EIM_COAP_REQUEST_ENTITY_TOO_LARGE, &ro, NULL,
			     0);
	}

	/* A later block of a response we already produced: serve the copy.
	 * Only a request without Block1 can ask for it (RFC 7959 2.5). */
	if (has_b2 && b2.num > 0 && !has_b1) {
		if (p->b2 && p->b2->method == m->code &&
		    strcmp(p->b2->path, path) == 0 &&
		    now - p->b2->ms < s->cfg.params.exchange_lifetime_ms)
			return serve_block(s, p, b2.num, szx, NULL);
		/* Safe methods may simply run again; for the others the body
		 * the client wants no longer exists. */
		if (m->code != EIM_COAP_GET && m->code != EIM_COAP_FETCH)
			return build_code(s,
					  EIM_COAP_REQUEST_ENTITY_INCOMPLETE);
	}

	o = eim_coap_msg_opt(m, EIM_COAP_OPT_CONTENT_FORMAT);
	struct eim_coap_request req = {
		.method = m->code,
		.path = path,
		.body = body,
		.body_len = body_len,
		.content_format =
			(o && eim_coap_opt_uint(o, 2, &cf) == 0) ? (int)cf : -1,
		.identity = peer->identity_len ? peer->identity : NULL,
		.identity_len = peer->identity ? peer->identity_len : 0,
		.peer_user = peer->user,
		.msg = m,
	};
	struct eim_coap_response *resp = &s->resp;
	eim_buf_reset(&resp->body);
	resp->body.max = s->cfg.max_body;
	resp->code = EIM_COAP_CONTENT;
	resp->content_format = -1;
	rc = r->handler(r->ctx, &req, resp);
	s->st.requests++;
	if (has_b1)
		eim_coap_block1_done(s->b1, &key);
	if (rc < 0 || resp->body.err) {
		eim_debug("coap: handler for %s failed: %s", path,
			  eim_strerror(rc < 0 ? rc : resp->body.err));
		code = (rc == EIM_ETOOBIG || resp->body.err == EIM_ETOOBIG)
			       ? EIM_COAP_REQUEST_ENTITY_TOO_LARGE
			       : EIM_COAP_INTERNAL_SERVER_ERROR;
		return build(s, code, &ro, NULL, 0);
	}
	ro.cf = resp->content_format;
	if (resp->body.len <= eim_coap_szx_size(szx) && !(has_b2 && b2.num))
		return build(s, resp->code, &ro, resp->body.p, resp->body.len);

	/* Too big for one block: keep a copy for the following requests. */
	if (!p->b2) {
		p->b2 = eim_calloc(1, sizeof(*p->b2));
		if (!p->b2)
			return build_code(s, EIM_COAP_SERVICE_UNAVAILABLE);
		eim_buf_init(&p->b2->body);
	}
	eim_buf_reset(&p->b2->body);
	eim_buf_append(&p->b2->body, resp->body.p, resp->body.len);
	if (p->b2->body.err) {
		b2_drop(p);
		return build_code(s, EIM_COAP_SERVICE_UNAVAILABLE);
	}
	p->b2->method = m->code;
	p->b2->code = resp->code;
	p->b2->cf = resp->content_format;
	p->b2->etag = ++s->next_etag;
	p->b2->ms = now;
	memcpy(p->b2->path, path, sizeof(path));
	return serve_block(s, p, has_b2 ? b2.num : 0, szx, &ro);
}

int eim_coap_server_input(struct eim_coap_server *s,
			  const struct eim_coap_peer *peer,
			  const uint8_t *dgram, size_t len, uint64_t now)
{
	uint8_t type, code;
	uint16_t mid;
	struct peer *p;
	struct dslot *d;
	size_t n;
	int rc;

	if (!s || !peer || !peer->send || !peer->key || !peer->key_len ||
	    peer->key_len > EIM_COAP_PEER_KEY_MAX || (len && !dgram))
		return EIM_EINVAL;
	if (eim_coap_msg_peek(dgram, len, &type, &code, &mid)) {
		s->st.dropped++;
		return 0;
	}
	rc = eim_coap_msg_parse(dgram, len, &s->msg);
	if (rc) {
		/* Message format error: reject a CON, ignore the rest. */
		eim_debug("coap: %zu-byte message (type %u, MID 0x%04x) "
			  "malformed: %s",
			  len, type, mid, eim_errname(rc));
		if (type == EIM_COAP_CON)
			send_rst(s, peer, mid);
		else
			s->st.dropped++;
		return 0;
	}
	if (code == EIM_COAP_EMPTY || EIM_COAP_CODE_CLASS(code) != 0 ||
	    type == EIM_COAP_ACK || type == EIM_COAP_RST) {
		/* A ping, a response we never asked for, or an ACK/RST: this
		 * server has no exchange they could belong to. */
		if (type == EIM_COAP_CON)
			send_rst(s, peer, mid);
		else
			s->st.dropped++;
		return 0;
	}
	p = peer_get(s, peer, now);
	if (!p)
		return EIM_ENOMEM;
	d = dedup_find(s, p, mid, now);
	if (d) {
		s->st.duplicates++;
		peer->send(peer->send_ctx, d->resp, d->resp_len);
		return 0;
	}
	n = handle_request(s, p, peer, now);
	if (!n)
		n = build_code(s, EIM_COAP_INTERNAL_SERVER_ERROR);
	if (!n)
		return 0;
	dedup_store(s, p, mid, now, s->out, n);
	peer->send(peer->send_ctx, s->out, n);
	return 0;
}

void eim_coap_server_tick(struct eim_coap_server *s, uint64_t now)
{
	if (!s)
		return;
	/* Every slot of a peer is at least as old as its last_ms, so a peer
	 * idle for EXCHANGE_LIFETIME has nothing worth keeping. */
	while (s->lru_tail &&
	       now - s->lru_tail->last_ms >= s->cfg.params.exchange_lifetime_ms)
		peer_remove(s, s->lru_tail);
	eim_coap_block1_expire(s->b1, now);
}

uint64_t eim_coap_server_next_deadline(const struct eim_coap_server *s)
{
	uint64_t t = UINT64_MAX, b;

	if (!s)
		return t;
	if (s->lru_tail)
		t = s->lru_tail->last_ms + s->cfg.params.exchange_lifetime_ms;
	b = eim_coap_block1_next_expiry(s->b1);
	return b < t ? b : t;
}

void eim_coap_server_peer_gone(struct eim_coap_server *s, const uint8_t *key,
			       size_t key_len)
{
	struct peer *p;

	if (!s || !key || !key_len || key_len > EIM_COAP_PEER_KEY_MAX)
		return;
	p = peer_find(s, key, key_len);
	if (p)
		peer_remove(s, p);
	else
		eim_coap_block1_drop_peer(s->b1, key, key_len);
}

void eim_coap_server_stats(const struct eim_coap_server *s,
			   struct eim_coap_server_stats *ret)
{
	if (!s || !ret)
		return;
	*ret = s->st;
	ret->peers = s->npeers;
	ret->reassemblies = eim_coap_block1_count(s->b1);
	ret->block2_cached = 0;
	for (const struct peer *p = s->lru_head; p; p = p->next)
		ret->block2_cached += p->b2 != NULL;
}
