/*
 * eim_coap_block.c - Block1 reassembly table (RFC 7959 2.3, RFC 9175 3).
 *
 * The table is a small array searched linearly: it is bounded by
 * max_entries (hundreds at most), only block-wise requests touch it, and a
 * linear scan over a few cache lines beats a hash for that size. Body
 * buffers are kept on free entries so that a steady stream of block-wise
 * uploads does not allocate per block once the buffers have grown.
 */
#include "transport/eim_coap_block.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"

#include <stdio.h>
#include <string.h>

struct entry {
	bool used;
	bool has_rtag;
	uint8_t method;
	uint8_t peer_len;
	uint8_t rtag_len;
	uint8_t peer[EIM_COAP_PEER_KEY_MAX];
	uint8_t rtag[EIM_COAP_RTAG_MAX];
	char path[EIM_COAP_BLOCK_PATH_MAX];
	uint64_t last_ms;
	struct eim_buf body;
};

struct eim_coap_block1_table {
	size_t max_entries;
	size_t max_body;
	uint32_t lifetime_ms;
	size_t used;
	struct entry *e;
};

int eim_coap_block1_table_new(size_t max_entries, size_t max_body,
			      uint32_t lifetime_ms,
			      struct eim_coap_block1_table **ret)
{
	struct eim_coap_block1_table *t = NULL;

	if (!ret || !max_entries || !max_body || !lifetime_ms)
		return EIM_EINVAL;
	t = eim_calloc(1, sizeof(*t));
	if (!t)
		return EIM_ENOMEM;
	t->e = eim_calloc(max_entries, sizeof(*t->e));
	if (!t->e) {
		eim_free(t);
		return EIM_ENOMEM;
	}
	t->max_entries = max_entries;
	t->max_body = max_body;
	t->lifetime_ms = lifetime_ms;
	for (size_t i = 0; i < max_entries; i++) {
		eim_buf_init(&t->e[i].body);
		t->e[i].body.max = max_body;
	}
	*ret = t;
	return 0;
}

void eim_coap_block1_table_free(struct eim_coap_block1_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->max_entries; i++)
		eim_buf_done(&t->e[i].body);
	eim_free(t->e);
	eim_free(t);
}

static bool key_match(const struct entry *e,
		      const struct eim_coap_block1_key *k)
{
	return e->used && e->method == k->method &&
	       e->peer_len == k->peer_len &&
	       memcmp(e->peer, k->peer, k->peer_len) == 0 &&
	       e->has_rtag == k->has_rtag &&
	       (!k->has_rtag || (e->rtag_len == k->rtag_len &&
				 memcmp(e->rtag, k->rtag, k->rtag_len) == 0)) &&
	       strcmp(e->path, k->path) == 0;
}

static struct entry *find(struct eim_coap_block1_table *t,
			  const struct eim_coap_block1_key *k)
{
	for (size_t i = 0; i < t->max_entries; i++)
		if (key_match(&t->e[i], k))
			return &t->e[i];
	return NULL;
}

static void drop(struct eim_coap_block1_table *t, struct entry *e)
{
	/* Keep the allocation for the next body unless it grew large. */
	if (e->body.cap > 4096)
		eim_buf_done(&e->body);
	eim_buf_reset(&e->body);
	e->body.max = t->max_body;
	e->used = false;
	t->used--;
}

static int start(struct eim_coap_block1_table *t,
		 const struct eim_coap_block1_key *k, uint64_t now_ms,
		 struct entry **ret)
{
	struct entry *e = NULL;

	if (t->used == t->max_entries)
		return EIM_EBUSY;
	for (size_t i = 0; i < t->max_entries; i++) {
		if (!t->e[i].used) {
			e = &t->e[i];
			break;
		}
	}
	if (!e)
		return EIM_EBUSY;
	e->used = true;
	e->method = k->method;
	e->peer_len = (uint8_t)k->peer_len;
	memcpy(e->peer, k->peer, k->peer_len);
	e->has_rtag = k->has_rtag;
	e->rtag_len = (uint8_t)(k->has_rtag ? k->rtag_len : 0);
	if (e->rtag_len)
		memcpy(e->rtag, k->rtag, e->rtag_len);
	snprintf(e->path, sizeof(e->path), "%s", k->path);
	e->last_ms = now_ms;
	eim_buf_reset(&e->body);
	t->used++;
	*ret = e;
	return 0;
}

int eim_coap_block1_feed(struct eim_coap_block1_table *t,
			 const struct eim_coap_block1_key *key,
			 const struct eim_coap_block *blk, const uint8_t *data,
			 size_t n, uint32_t size1, uint64_t now_ms,
			 const uint8_t **ret_body, size_t *ret_len)
{
	struct entry *e;
	size_t bsize, offset;
	int rc;

	if (!t || !key || !blk || (n && !data) || !key->path ||
	    !key->peer_len || key->peer_len > EIM_COAP_PEER_KEY_MAX ||
	    strlen(key->path) >= EIM_COAP_BLOCK_PATH_MAX ||
	    (key->has_rtag && key->rtag_len > EIM_COAP_RTAG_MAX) ||
	    blk->szx > 6)
		return EIM_EINVAL;

	bsize = eim_coap_szx_size(blk->szx);
	/* A non-final block carries exactly one block of payload. */
	if (blk->more && n != bsize)
		return EIM_EMALFORMED;
	offset = (size_t)blk->num * bsize;

	e = find(t, key);
	if (blk->num == 0) {
		if (e)
			drop(t, e); /* the client restarted this body */
		if (size1 > t->max_body)
			return EIM_ETOOBIG;
		rc = start(t, key, now_ms, &e);
		if (rc)
			return rc;
	} else if (!e) {
		return EIM_ESTATE;
	} else if (offset != e->body.len) {
		/* A block out of order or a gap: RFC 7959 2.3 says 4.08. A
		 * retransmitted block never gets here: CoAP deduplication
		 * answers it from the response cache first. */
		drop(t, e);
		return EIM_ESTATE;
	}
	if (offset + n > t->max_body || size1 > t->max_body) {
		drop(t, e);
		return EIM_ETOOBIG;
	}
	eim_buf_append(&e->body, data, n);
	if (e->body.err) {
		rc = e->body.err;
		drop(t, e);
		return rc == EIM_ETOOBIG ? EIM_ETOOBIG : EIM_ENOMEM;
	}
	e->last_ms = now_ms;
	if (blk->more)
		return EIM_COAP_BLOCK1_CONTINUE;
	if (ret_body)
		*ret_body = e->body.p;
	if (ret_len)
		*ret_len = e->body.len;
	return EIM_COAP_BLOCK1_COMPLETE;
}

void eim_coap_block1_done(struct eim_coap_block1_table *t,
			  const struct eim_coap_block1_key *key)
{
	struct entry *e;

	if (!t || !key)
		return;
	e = find(t, key);
	if (e)
		drop(t, e);
}

void eim_coap_block1_drop_peer(struct eim_coap_block1_table *t,
			       const uint8_t *peer, size_t peer_len)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->max_entries; i++) {
		struct entry *e = &t->e[i];
		if (e->used && e->peer_len == peer_len &&
		    memcmp(e->peer, peer, peer_len) == 0)
			drop(t, e);
	}
}

size_t eim_coap_block1_expire(struct eim_coap_block1_table *t, uint64_t now_ms)
{
	size_t n = 0;

	if (!t)
		return 0;
	for (size_t i = 0; i < t->max_entries && t->used; i++) {
		struct entry *e = &t->e[i];
		if (e->used && now_ms - e->last_ms >= t->lifetime_ms) {
			drop(t, e);
			n++;
		}
	}
	return n;
}

uint64_t eim_coap_block1_next_expiry(const struct eim_coap_block1_table *t)
{
	uint64_t best = UINT64_MAX;

	if (!t)
		return best;
	for (size_t i = 0; i < t->max_entries && t->used; i++)
		if (t->e[i].used && t->e[i].last_ms + t->lifetime_ms < best)
			best = t->e[i].last_ms + t->lifetime_ms;
	return best;
}

size_t eim_coap_block1_count(const struct eim_coap_block1_table *t)
{
	return t ? t->used : 0;
}

size_t eim_coap_block1_max_body(const struct eim_coap_block1_table *t)
{
	return t ? t->max_body : 0;
}
