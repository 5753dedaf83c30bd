/*
 * eim_sim_state.c - JSON state file of the simulated eUICC (cJSON). See
 * eim_sim_state.h for the layout and why loading is strict.
 */
#include "examples/eim_sim_state.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_ids.h"
#include "proto/eim_pkg.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT "eim-sim-euicc/1"
#define MAX_FILE (16u << 20)
#define INT_MAX53 9007199254740991LL /* exactly representable in JSON */

/* ----- writing ----- */

static bool add_hex(cJSON *o, const char *name, const uint8_t *p, size_t n)
{
	char *hex = eim_malloc(2 * n + 1);
	bool ok;

	if (!hex)
		return false;
	eim_hex_encode(p, n, hex);
	ok = cJSON_AddStringToObject(o, name, hex) != NULL;
	eim_free(hex);
	return ok;
}

static bool add_pem(cJSON *o, const char *name, const char *label,
		    const uint8_t *der, size_t n)
{
	struct eim_buf b;
	bool ok = false;

	eim_buf_init(&b);
	if (eim_pem_encode(label, der, n, &b) == 0) {
		eim_buf_append_byte(&b, 0);
		ok = !b.err &&
		     cJSON_AddStringToObject(o, name, (char *)b.p) != NULL;
	}
	if (b.p)
		eim_wipe(b.p, b.len);
	eim_buf_done(&b);
	return ok;
}

static const char *kind_name(enum eim_keydata_kind k)
{
	return k == EIM_KEYDATA_CERT ? "certificate" : "spki";
}

static bool add_eim(cJSON *arr, const struct eim_sim_eim *m)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(arr, o))
		return false;
	if (!cJSON_AddStringToObject(o, "eim_id", m->eim_id) ||
	    !cJSON_AddStringToObject(o, "fqdn", m->fqdn) ||
	    !cJSON_AddNumberToObject(o, "id_type", (double)m->id_type) ||
	    !cJSON_AddNumberToObject(o, "counter", (double)m->counter) ||
	    !(m->has_token
		      ? cJSON_AddNumberToObject(o, "token", (double)m->token)
		      : cJSON_AddNullToObject(o, "token")) ||
	    !cJSON_AddStringToObject(o, "key_kind", kind_name(m->key_kind)) ||
	    !add_hex(o, "key", m->key_data, m->key_data_len) ||
	    !add_hex(o, "protocols", m->protocols, m->protocols_len) ||
	    !cJSON_AddBoolToObject(o, "indirect_download",
				   m->indirect_download))
		return false;
	if (m->tls_data_len &&
	    (!cJSON_AddStringToObject(o, "tls_kind", kind_name(m->tls_kind)) ||
	     !add_hex(o, "tls", m->tls_data, m->tls_data_len)))
		return false;
	return true;
}

static bool add_profile(cJSON *arr, const struct eim_sim_profile *p)
{
	cJSON *o = cJSON_CreateObject();
	char iccid[EIM_ICCID_MAX_DIGITS + 1];

	if (!o || !cJSON_AddItemToArray(arr, o))
		return false;
	eim_iccid_format(p->iccid, iccid);
	return cJSON_AddStringToObject(o, "iccid", iccid) &&
	       add_hex(o, "aid", p->aid, p->aid_len) &&
	       cJSON_AddBoolToObject(o, "enabled", p->enabled) &&
	       cJSON_AddStringToObject(o, "name", p->name) &&
	       cJSON_AddStringToObject(o, "sp_name", p->sp_name) &&
	       cJSON_AddNumberToObject(o, "class", p->profile_class) &&
	       cJSON_AddBoolToObject(o, "fallback", p->fallback) &&
	       cJSON_AddBoolToObject(o, "fallback_allowed",
				     p->fallback_allowed);
}

static bool add_rollback(cJSON *root, const struct eim_sim_rollback *g)
{
	char a[EIM_ICCID_MAX_DIGITS + 1], b[EIM_ICCID_MAX_DIGITS + 1];
	cJSON *o;

	if (!g->granted)
		return cJSON_AddNullToObject(root, "rollback") != NULL;
	o = cJSON_AddObjectToObject(root, "rollback");
	if (!o)
		return false;
	eim_iccid_format(g->previous, a);
	eim_iccid_format(g->enabled, b);
	return cJSON_AddStringToObject(o, "previous", a) &&
	       cJSON_AddStringToObject(o, "enabled", b) &&
	       cJSON_AddNumberToObject(o, "seq", (double)g->seq) &&
	       cJSON_AddStringToObject(o, "eim_id", g->eim_id) &&
	       cJSON_AddNumberToObject(o, "counter", (double)g->counter) &&
	       add_hex(o, "txid", g->txid, g->txid_len);
}

static cJSON *to_tree(const struct eim_sim_euicc *e)
{
	char eid[EIM_EID_DIGITS + 1], iccid[EIM_ICCID_MAX_DIGITS + 1];
	cJSON *root = cJSON_CreateObject(), *arr, *o;

	if (!root)
		return NULL;
	eim_eid_format(e->eid, eid);
	if (!cJSON_AddStringToObject(root, "format", FORMAT) ||
	    !cJSON_AddStringToObject(root, "eid", eid) ||
	    !add_pem(root, "key", "EC PRIVATE KEY", e->key_der,
		     e->key_der_len) ||
	    !add_pem(root, "euicc_certificate", "CERTIFICATE", e->euicc_cert,
		     e->euicc_cert_len) ||
	    !add_pem(root, "eum_certificate", "CERTIFICATE", e->eum_cert,
		     e->eum_cert_len) ||
	    !add_hex(root, "ci_pkid", e->ci_pkid, e->ci_pkid_len) ||
	    !cJSON_AddNumberToObject(root, "next_token",
				     (double)e->next_token) ||
	    !cJSON_AddNumberToObject(root, "next_seq", (double)e->next_seq) ||
	    !cJSON_AddStringToObject(root, "default_smdp", e->default_smdp) ||
	    !cJSON_AddStringToObject(root, "root_smds", e->root_smds) ||
	    !cJSON_AddNumberToObject(root, "state_change_cause",
				     e->state_change_cause))
		goto fail;
	o = cJSON_AddObjectToObject(root, "immediate_enable");
	if (!o || !cJSON_AddBoolToObject(o, "enabled", e->immediate_enable) ||
	    !add_hex(o, "smdp_oid", e->immediate_smdp_oid,
		     e->immediate_smdp_oid_len) ||
	    !cJSON_AddStringToObject(o, "smdp_address",
				     e->immediate_smdp_address))
		goto fail;
	if (!(arr = cJSON_AddArrayToObject(root, "eims")))
		goto fail;
	for (size_t i = 0; i < e->n_eims; i++)
		if (!add_eim(arr, &e->eims[i]))
			goto fail;
	if (!(arr = cJSON_AddArrayToObject(root, "profiles")))
		goto fail;
	for (size_t i = 0; i < e->n_profiles; i++)
		if (!add_profile(arr, &e->profiles[i]))
			goto fail;
	if (!add_rollback(root, &e->rollback))
		goto fail;
	if (e->fallback_active) {
		eim_iccid_format(e->fallback_return, iccid);
		if (!cJSON_AddStringToObject(root, "fallback_return", iccid))
			goto fail;
	} else if (!cJSON_AddNullToObject(root, "fallback_return")) {
		goto fail;
	}
	if (!(arr = cJSON_AddArrayToObject(root, "results")))
		goto fail;
	for (size_t i = 0; i < e->n_results; i++) {
		o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o) ||
		    !cJSON_AddNumberToObject(o, "seq",
					     (double)e->results[i].seq) ||
		    !add_hex(o, "der", e->results[i].der, e->results[i].len))
			goto fail;
	}
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

/* Wipes the private key's PEM text before cJSON frees it. */
static void delete_tree(cJSON *root)
{
	cJSON *k = cJSON_GetObjectItemCaseSensitive(root, "key");

	if (cJSON_IsString(k) && k->valuestring)
		eim_wipe(k->valuestring, strlen(k->valuestring));
	cJSON_Delete(root);
}

char *eim_sim_state_to_json(const struct eim_sim_euicc *e)
{
	cJSON *root;
	char *text, *copy;

	if (!e || !(root = to_tree(e)))
		return NULL;
	text = cJSON_Print(root);
	delete_tree(root);
	if (!text)
		return NULL;
	copy = eim_strdup(text);
	eim_wipe(text, strlen(text));
	cJSON_free(text);
	return copy;
}

int eim_sim_state_save(const struct eim_sim_euicc *e, const char *path)
{
	char tmp[4096], *text;
	size_t len, off = 0;
	int fd, rc = EIM_EIO, saved;

	if (!e || !path)
		return EIM_EINVAL;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return EIM_EINVAL;
	if (!(text = eim_sim_state_to_json(e)))
		return EIM_ENOMEM;
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	/* A leftover temporary file keeps its old mode on O_CREAT. */
	if (fchmod(fd, 0600) < 0)
		goto close;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto close;
		off += (size_t)w;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) < 0)
		goto close;
	if (close(fd) < 0) {
		fd = -1;
		goto unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto unlink;
	rc = 0;
	goto out;
close:
	saved = errno;
	close(fd);
	errno = saved;
unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
out:
	eim_free_secret(text, len);
	return rc;
}

/* ----- reading ----- */

struct rd {
	char *err;
	size_t cap;
};

static int fail(struct rd *r, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct rd *r, const char *where, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->err && r->cap)
		snprintf(r->err, r->cap, "%s%s%s", where, *where ? ": " : "",
			 msg);
	return EIM_EMALFORMED;
}

/* Refuses members not in `allowed` (NULL-terminated). */
static int only(struct rd *r, const cJSON *o, const char *where,
		const char *const *allowed)
{
	const cJSON *c;

	if (!cJSON_IsObject(o))
		return fail(r, where, "not an object");
	cJSON_ArrayForEach(c, o)
	{
		size_t i;

		for (i = 0; allowed[i]; i++)
			if (c->string && strcmp(c->string, allowed[i]) == 0)
				break;
		if (!allowed[i])
			return fail(r, where, "unknown member '%s'",
				    c->string ? c->string : "");
	}
	return 0;
}

static void path_of(char *out, size_t cap, const char *where, const char *name)
{
	snprintf(out, cap, "%s%s%s", where, *where ? "." : "", name);
}

static int get_str(struct rd *r, const cJSON *o, const char *where,
		   const char *name, char *dst, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char p[128];
	size_t n;

	path_of(p, sizeof(p), where, name);
	if (!cJSON_IsString(v))
		return fail(r, p, "missing or not a string");
	n = strlen(v->valuestring);
	if (n >= cap)
		return fail(r, p, "longer than %zu bytes", cap - 1);
	memcpy(dst, v->valuestring, n + 1);
	return 0;
}

static int get_int(struct rd *r, const cJSON *o, const char *where,
		   const char *name, int64_t min, int64_t max, int64_t *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char p[128];
	double d;

	path_of(p, sizeof(p), where, name);
	if (!cJSON_IsNumber(v))
		return fail(r, p, "missing or not a number");
	d = v->valuedouble;
	if (d != (double)(int64_t)d || d < (double)min || d > (double)max)
		return fail(r, p, "not an integer in %lld..%lld",
			    (long long)min, (long long)max);
	*dst = (int64_t)d;
	return 0;
}

static int get_bool(struct rd *r, const cJSON *o, const char *where,
		    const char *name, bool *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char p[128];

	path_of(p, sizeof(p), where, name);
	if (!cJSON_IsBool(v))
		return fail(r, p, "missing or not true/false");
	*dst = cJSON_IsTrue(v);
	return 0;
}

static int get_hex(struct rd *r, const cJSON *o, const char *where,
		   const char *name, uint8_t *dst, size_t cap, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char p[128];
	int rc;

	path_of(p, sizeof(p), where, name);
	if (!cJSON_IsString(v))
		return fail(r, p, "missing or not a string");
	rc = eim_hex_decode(v->valuestring, strlen(v->valuestring), dst, cap,
			    len);
	if (rc == EIM_ETOOBIG)
		return fail(r, p, "longer than %zu bytes", cap);
	if (rc < 0)
		return fail(r, p, "not hex");
	return 0;
}

/* Hex into a new heap buffer (results). */
static int get_hex_alloc(struct rd *r, const cJSON *o, const char *where,
			 const char *name, uint8_t **dst, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	size_t n;
	uint8_t *b;
	char p[128];

	path_of(p, sizeof(p), where, name);
	if (!cJSON_IsString(v))
		return fail(r, p, "missing or not a string");
	n = strlen(v->valuestring) / 2 + 1;
	if (!(b = eim_malloc(n)))
		return EIM_ENOMEM;
	if (eim_hex_decode(v->valuestring, strlen(v->valuestring), b, n, len) <
		    0 ||
	    *len == 0) {
		eim_free(b);
		return fail(r, p, "not hex");
	}
	*dst = b;
	return 0;
}

static int get_iccid(struct rd *r, const cJSON *o, const char *where,
		     const char *name, uint8_t dst[EIM_ICCID_LEN])
{
	char text[32], p[128];
	int rc;

	if ((rc = get_str(r, o, where, name, text, sizeof(text))) < 0)
		return rc;
	path_of(p, sizeof(p), where, name);
	if (eim_iccid_parse(text, dst) < 0)
		return fail(r, p, "'%s' is not an ICCID", text);
	return 0;
}

static int get_kind(struct rd *r, const cJSON *o, const char *where,
		    const char *name, enum eim_keydata_kind *dst)
{
	char text[16], p[128];
	int rc;

	if ((rc = get_str(r, o, where, name, text, sizeof(text))) < 0)
		return rc;
	path_of(p, sizeof(p), where, name);
	if (strcmp(text, "spki") == 0)
		*dst = EIM_KEYDATA_SPKI;
	else if (strcmp(text, "certificate") == 0)
		*dst = EIM_KEYDATA_CERT;
	else
		return fail(r, p, "'%s' is not spki or certificate", text);
	return 0;
}

static int read_eim(struct rd *r, const cJSON *o, const char *w,
		    struct eim_sim_eim *m)
{
	static const char *const allowed[] = {"eim_id",
					      "fqdn",
					      "id_type",
					      "counter",
					      "token",
					      "key_kind",
					      "key",
					      "protocols",
					      "tls_kind",
					      "tls",
					      "indirect_download",
					      NULL};
	const cJSON *tok;
	int64_t v;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = only(r, o, w, allowed)) < 0 ||
	    (rc = get_str(r, o, w, "eim_id", m->eim_id, sizeof(m->eim_id))) <
		    0 ||
	    (rc = get_str(r, o, w, "fqdn", m->fqdn, sizeof(m->fqdn))) < 0 ||
	    (rc = get_int(r, o, w, "id_type", 0, 3, &m->id_type)) < 0 ||
	    (rc = get_int(r, o, w, "counter", 0, EIM_PKG_COUNTER_MAX,
			  &m->counter)) < 0 ||
	    (rc = get_kind(r, o, w, "key_kind", &m->key_kind)) < 0 ||
	    (rc = get_hex(r, o, w, "key", m->key_data, sizeof(m->key_data),
			  &m->key_data_len)) < 0 ||
	    (rc = get_hex(r, o, w, "protocols", m->protocols,
			  sizeof(m->protocols), &m->protocols_len)) < 0 ||
	    (rc = get_bool(r, o, w, "indirect_download",
			   &m->indirect_download)) < 0)
		return rc;
	m->eim_id_len = strlen(m->eim_id);
	if (m->eim_id_len == 0)
		return fail(r, w, "eim_id is empty");
	tok = cJSON_GetObjectItemCaseSensitive(o, "token");
	if (!cJSON_IsNull(tok)) {
		if ((rc = get_int(r, o, w, "token", 0, INT_MAX53, &v)) < 0)
			return rc;
		m->has_token = true;
		m->token = v;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "tls")) {
		if ((rc = get_kind(r, o, w, "tls_kind", &m->tls_kind)) < 0 ||
		    (rc = get_hex(r, o, w, "tls", m->tls_data,
				  sizeof(m->tls_data), &m->tls_data_len)) < 0)
			return rc;
	}
	if (eim_sig_key_load(m->key_data, m->key_data_len, &m->key) < 0) {
		char p[128];
		path_of(p, sizeof(p), w, "key");
		return fail(r, p, "not a public key or certificate");
	}
	return 0;
}

static int read_profile(struct rd *r, const cJSON *o, const char *w,
			struct eim_sim_profile *p)
{
	static const char *const allowed[] = {"iccid",	  "aid",
					      "enabled",  "name",
					      "sp_name",  "class",
					      "fallback", "fallback_allowed",
					      NULL};
	int64_t cls;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = only(r, o, w, allowed)) < 0 ||
	    (rc = get_iccid(r, o, w, "iccid", p->iccid)) < 0 ||
	    (rc = get_hex(r, o, w, "aid", p->aid, sizeof(p->aid),
			  &p->aid_len)) < 0 ||
	    (rc = get_bool(r, o, w, "enabled", &p->enabled)) < 0 ||
	    (rc = get_str(r, o, w, "name", p->name, sizeof(p->name))) < 0 ||
	    (rc = get_str(r, o, w, "sp_name", p->sp_name, sizeof(p->sp_name))) <
		    0 ||
	    (rc = get_int(r, o, w, "class", 0, 2, &cls)) < 0 ||
	    (rc = get_bool(r, o, w, "fallback", &p->fallback)) < 0 ||
	    (rc = get_bool(r, o, w, "fallback_allowed", &p->fallback_allowed)) <
		    0)
		return rc;
	p->profile_class = (int)cls;
	return 0;
}

static int read_rollback(struct rd *r, const cJSON *o,
			 struct eim_sim_rollback *g)
{
	static const char *const allowed[] = {"previous", "enabled", "seq",
					      "eim_id",	  "counter", "txid",
					      NULL};
	const char *w = "rollback";
	int rc;

	memset(g, 0, sizeof(*g));
	if (cJSON_IsNull(o))
		return 0;
	if ((rc = only(r, o, w, allowed)) < 0 ||
	    (rc = get_iccid(r, o, w, "previous", g->previous)) < 0 ||
	    (rc = get_iccid(r, o, w, "enabled", g->enabled)) < 0 ||
	    (rc = get_int(r, o, w, "seq", 1, INT_MAX53, &g->seq)) < 0 ||
	    (rc = get_str(r, o, w, "eim_id", g->eim_id, sizeof(g->eim_id))) <
		    0 ||
	    (rc = get_int(r, o, w, "counter", 1, EIM_PKG_COUNTER_MAX,
			  &g->counter)) < 0 ||
	    (rc = get_hex(r, o, w, "txid", g->txid, sizeof(g->txid),
			  &g->txid_len)) < 0)
		return rc;
	g->granted = g->has_previous = true;
	return 0;
}

/* Reads a PEM member into a new DER buffer. */
static int get_pem(struct rd *r, const cJSON *o, const char *name,
		   uint8_t **der, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	const char *lab;
	size_t lab_len;

	if (!cJSON_IsString(v))
		return fail(r, name, "missing or not a string");
	if (eim_sig_pem_decode(v->valuestring, strlen(v->valuestring), &lab,
			       &lab_len, der, len) < 0)
		return fail(r, name, "not PEM");
	return 0;
}

static int from_tree(struct rd *r, const cJSON *root,
		     struct eim_sim_euicc **ret)
{
	static const char *const allowed[] = {"format",
					      "eid",
					      "key",
					      "euicc_certificate",
					      "eum_certificate",
					      "ci_pkid",
					      "next_token",
					      "next_seq",
					      "default_smdp",
					      "root_smds",
					      "state_change_cause",
					      "immediate_enable",
					      "eims",
					      "profiles",
					      "rollback",
					      "fallback_return",
					      "results",
					      NULL};
	static const char *const ie_allowed[] = {"enabled", "smdp_oid",
						 "smdp_address", NULL};
	struct eim_sim_euicc *e = NULL;
	uint8_t *key = NULL, *cert = NULL, *eum = NULL, eid[EIM_EID_LEN];
	size_t key_len = 0, cert_len = 0, eum_len = 0;
	char text[64], where[32];
	const cJSON *arr, *it, *o;
	int64_t v;
	size_t i;
	int rc;

	if ((rc = only(r, root, "", allowed)) < 0 ||
	    (rc = get_str(r, root, "", "format", text, sizeof(text))) < 0)
		return rc;
	if (strcmp(text, FORMAT) != 0) {
		fail(r, "format", "'%s' is not %s", text, FORMAT);
		return EIM_EVERSION;
	}
	if ((rc = get_str(r, root, "", "eid", text, sizeof(text))) < 0)
		return rc;
	if (eim_eid_parse(text, eid) < 0)
		return fail(r, "eid", "'%s' is not a valid EID", text);
	if ((rc = get_pem(r, root, "key", &key, &key_len)) < 0 ||
	    (rc = get_pem(r, root, "euicc_certificate", &cert, &cert_len)) <
		    0 ||
	    (rc = get_pem(r, root, "eum_certificate", &eum, &eum_len)) < 0)
		goto out;
	rc = eim_sim_euicc_new(eid, key, key_len, cert, cert_len, eum, eum_len,
			       &e);
	if (rc == EIM_ENOMEM)
		goto out;
	if (rc < 0) {
		rc = fail(r, "key",
			  "not the eUICC's private key and "
			  "certificates (%s)",
			  eim_strerror(rc));
		goto out;
	}
	if ((rc = get_hex(r, root, "", "ci_pkid", e->ci_pkid,
			  sizeof(e->ci_pkid), &e->ci_pkid_len)) < 0 ||
	    (rc = get_int(r, root, "", "next_token", 1, INT_MAX53,
			  &e->next_token)) < 0 ||
	    (rc = get_int(r, root, "", "next_seq", 1, INT_MAX53,
			  &e->next_seq)) < 0 ||
	    (rc = get_str(r, root, "", "default_smdp", e->default_smdp,
			  sizeof(e->default_smdp))) < 0 ||
	    (rc = get_str(r, root, "", "root_smds", e->root_smds,
			  sizeof(e->root_smds))) < 0 ||
	    (rc = get_int(r, root, "", "state_change_cause", 0, 255, &v)) < 0)
		goto out;
	e->state_change_cause = (int)v;
	o = cJSON_GetObjectItemCaseSensitive(root, "immediate_enable");
	if ((rc = only(r, o, "immediate_enable", ie_allowed)) < 0 ||
	    (rc = get_bool(r, o, "immediate_enable", "enabled",
			   &e->immediate_enable)) < 0 ||
	    (rc = get_hex(r, o, "immediate_enable", "smdp_oid",
			  e->immediate_smdp_oid, sizeof(e->immediate_smdp_oid),
			  &e->immediate_smdp_oid_len)) < 0 ||
	    (rc = get_str(r, o, "immediate_enable", "smdp_address",
			  e->immediate_smdp_address,
			  sizeof(e->immediate_smdp_address))) < 0)
		goto out;
	arr = cJSON_GetObjectItemCaseSensitive(root, "eims");
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > EIM_SIM_MAX_EIMS) {
		rc = fail(r, "eims", "not an array of at most %d eIMs",
			  EIM_SIM_MAX_EIMS);
		goto out;
	}
	i = 0;
	cJSON_ArrayForEach(it, arr)
	{
		snprintf(where, sizeof(where), "eims[%zu]", i);
		rc = read_eim(r, it, where, &e->eims[i]);
		e->n_eims = i + (e->eims[i].key != NULL);
		if (rc < 0)
			goto out;
		if (eim_sim_euicc_find_eim(e,
					   (const uint8_t *)e->eims[i].eim_id,
					   e->eims[i].eim_id_len) != (int)i) {
			rc = fail(r, where, "eim_id '%s' appears twice",
				  e->eims[i].eim_id);
			goto out;
		}
		i++;
	}
	arr = cJSON_GetObjectItemCaseSensitive(root, "profiles");
	if (!cJSON_IsArray(arr) ||
	    cJSON_GetArraySize(arr) > EIM_SIM_MAX_PROFILES) {
		rc = fail(r, "profiles", "not an array of at most %d profiles",
			  EIM_SIM_MAX_PROFILES);
		goto out;
	}
	i = 0;
	cJSON_ArrayForEach(it, arr)
	{
		struct eim_sim_profile p;

		snprintf(where, sizeof(where), "profiles[%zu]", i++);
		if ((rc = read_profile(r, it, where, &p)) < 0)
			goto out;
		if (eim_sim_euicc_find_profile(e, p.iccid) >= 0) {
			rc = fail(r, where, "ICCID appears twice");
			goto out;
		}
		e->profiles[e->n_profiles++] = p;
	}
	{
		int enabled = 0, fb = 0;
		for (i = 0; i < e->n_profiles; i++) {
			enabled += e->profiles[i].enabled;
			fb += e->profiles[i].fallback;
		}
		if (enabled > 1 || fb > 1) {
			rc = fail(r, "profiles",
				  "more than one enabled or fallback profile");
			goto out;
		}
	}
	if ((rc = read_rollback(r,
				cJSON_GetObjectItemCaseSensitive(root,
								 "rollback"),
				&e->rollback)) < 0)
		goto out;
	o = cJSON_GetObjectItemCaseSensitive(root, "fallback_return");
	if (!cJSON_IsNull(o)) {
		if ((rc = get_iccid(r, root, "", "fallback_return",
				    e->fallback_return)) < 0)
			goto out;
		e->fallback_active = true;
	}
	arr = cJSON_GetObjectItemCaseSensitive(root, "results");
	if (!cJSON_IsArray(arr) ||
	    cJSON_GetArraySize(arr) > EIM_SIM_MAX_RESULTS) {
		rc = fail(r, "results", "not an array of at most %d results",
			  EIM_SIM_MAX_RESULTS);
		goto out;
	}
	i = 0;
	cJSON_ArrayForEach(it, arr)
	{
		static const char *const res_allowed[] = {"seq", "der", NULL};
		struct eim_sim_result *s = &e->results[e->n_results];

		snprintf(where, sizeof(where), "results[%zu]", i++);
		if ((rc = only(r, it, where, res_allowed)) < 0 ||
		    (rc = get_int(r, it, where, "seq", 1, e->next_seq - 1,
				  &s->seq)) < 0 ||
		    (rc = get_hex_alloc(r, it, where, "der", &s->der,
					&s->len)) < 0)
			goto out;
		e->n_results++;
	}
	*ret = e;
	e = NULL;
	rc = 0;
out:
	eim_free_secret(key, key_len);
	eim_free(cert);
	eim_free(eum);
	eim_sim_euicc_free(e);
	return rc;
}

int eim_sim_state_from_json(const char *text, size_t n,
			    struct eim_sim_euicc **ret, char *err, size_t cap)
{
	struct rd r = {err, cap};
	cJSON *root;
	int rc;

	if (err && cap)
		err[0] = 0;
	if (!text || !ret)
		return EIM_EINVAL;
	root = cJSON_ParseWithLength(text, n);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		return fail(&r, "", "not JSON (near byte %zu)",
			    at && at >= text && at <= text + n
				    ? (size_t)(at - text)
				    : (size_t)0);
	}
	rc = from_tree(&r, root, ret);
	delete_tree(root);
	return rc;
}

int eim_sim_state_load(const char *path, struct eim_sim_euicc **ret, char *err,
		       size_t cap)
{
	struct eim_buf b;
	char chunk[4096];
	ssize_t got;
	int fd, rc;

	if (err && cap)
		err[0] = 0;
	if (!path || !ret)
		return EIM_EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (err && cap)
			snprintf(err, cap, "%s: %s", path, strerror(errno));
		return EIM_EIO;
	}
	eim_buf_init(&b);
	b.max = MAX_FILE;
	for (;;) {
		got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		eim_buf_append(&b, chunk, (size_t)got);
	}
	close(fd);
	eim_wipe(chunk, sizeof(chunk));
	if (got < 0 || b.err) {
		rc = got < 0 ? EIM_EIO : b.err;
		if (err && cap)
			snprintf(err, cap, "%s: %s", path,
				 got < 0 ? strerror(errno) : eim_strerror(rc));
	} else {
		rc = eim_sim_state_from_json((const char *)b.p, b.len, ret, err,
					     cap);
	}
	if (b.p)
		eim_wipe(b.p, b.len);
	eim_buf_done(&b);
	return rc;
}
