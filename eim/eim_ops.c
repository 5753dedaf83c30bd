/*
 * eim_ops.c - operation table, JSON validation and command-line conversion
 * for the packages operators queue (see eim_ops.h).
 */
#include "eim/eim_ops.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "eim/cli_util.h"
#include "proto/eim_der.h"
#include "proto/eim_ids.h"
#include "proto/eim_sig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table ------------------------------------------------------------
 */

enum eim__ptype {
	P_STR,
	P_BOOL,
	P_INT,
	P_LIST,
	P_FILE
};

struct eim__param {
	const char *name; /* JSON member; CLI option is --name with '-' */
	enum eim__ptype type;
	const char *help;
};

struct eim__op {
	const char *name;
	enum eim_ops_kind kind;
	const char *positional; /* parameter a bare CLI word fills, or NULL */
	const struct eim__param *params;
	const char *help;
};

static const struct eim__param eim__p_iccid[] = {
	{"iccid", P_STR, "ICCID of the profile (18-20 digits)"},
	{NULL, 0, NULL},
};
static const struct eim__param eim__p_enable[] = {
	{"iccid", P_STR, "ICCID of the profile (18-20 digits)"},
	{"rollback", P_BOOL, "allow the IPA to roll back if the eIM is lost"},
	{NULL, 0, NULL},
};
static const struct eim__param eim__p_list_profiles[] = {
	{"tags", P_LIST, "ProfileInfo tags wanted (hex, e.g. 5A 4F 9F70)"},
	{"iccid", P_STR, "only this profile"},
	{"aid", P_STR, "only the profile with this ISD-P AID (hex)"},
	{"profile_class", P_STR, "only test, provisioning or operational"},
	{NULL, 0, NULL},
};
static const struct eim__param eim__p_none[] = {
	{NULL, 0, NULL},
};
static const struct eim__param eim__p_immediate[] = {
	{"enable", P_BOOL, "set immediateEnableFlag"},
	{"smdp_oid", P_STR, "default SM-DP+ OID (dotted)"},
	{"smdp_address", P_STR, "default SM-DP+ address"},
	{NULL, 0, NULL},
};
static const struct eim__param eim__p_default_dp[] = {
	{"address", P_STR, "default SM-DP+ address (may be empty)"},
	{NULL, 0, NULL},
};
static const struct eim__param eim__p_eim_config[] = {
	{"eim_id", P_STR, "eimId of the eIM to add or update"},
	{"identity", P_STR, "a local eIM identity: its eimId and public key"},
	{"fqdn", P_STR, "eimFqdn"},
	{"id_type", P_STR, "oid, fqdn or proprietary"},
	{"counter", P_INT, "initial counterValue for that eIM"},
	{"association_token", P_STR, "an integer, or 'request' (v1.3)"},
	{"public_key", P_FILE, "PEM/DER public key for eimPublicKeyData"},
	{"certificate", P_FILE, "PEM/DER certificate for eimPublicKeyData"},
	{"tls_public_key", P_FILE, "trusted (D)TLS public key"},
	{"tls_certificate", P_FILE, "trusted (D)TLS certificate (eIM or CA)"},
	{"protocols", P_LIST,
	 "retrieve-https retrieve-coaps inject-https inject-coaps proprietary"},
	{"ci_pkid", P_STR, "euiccCiPKId: CI SubjectKeyIdentifier (hex)"},
	{"indirect_download", P_BOOL, "the eIM supports indirect download"},
	{NULL, 0, NULL},
};
static const struct eim__param eim__p_delete_eim[] = {
	{"eim_id", P_STR, "eimId of the eIM to delete"},
	{NULL, 0, NULL},
};
static const struct eim__param eim__p_download[] = {
	{"activation_code", P_STR,
	 "activation code (LPA:1$...); absent: "
	 "contact the default SM-DP+"},
	{NULL, 0, NULL},
};
static const struct eim__param eim__p_euicc_data[] = {
	{"tags", P_LIST,
	 "notifications default-smdp results euicc-info1 euicc-info2 "
	 "root-smds association-token eum-certificate euicc-certificate "
	 "ipa-capabilities device-info (or hex tags)"},
	{NULL, 0, NULL},
};

static const struct eim__op eim__ops[] = {
	{"enable", EIM_OPS_PSMO, NULL, eim__p_enable, "enable a profile"},
	{"disable", EIM_OPS_PSMO, NULL, eim__p_iccid, "disable a profile"},
	{"delete", EIM_OPS_PSMO, NULL, eim__p_iccid, "delete a profile"},
	{"list-profiles", EIM_OPS_PSMO, NULL, eim__p_list_profiles,
	 "list profiles (listProfileInfo)"},
	{"get-rat", EIM_OPS_PSMO, NULL, eim__p_none,
	 "read the Rules Authorisation Table"},
	{"configure-immediate-enable", EIM_OPS_PSMO, NULL, eim__p_immediate,
	 "configure immediate profile enabling"},
	{"set-fallback", EIM_OPS_PSMO, NULL, eim__p_iccid,
	 "give a profile the fallback attribute"},
	{"unset-fallback", EIM_OPS_PSMO, NULL, eim__p_none,
	 "remove the fallback attribute"},
	{"set-default-dp", EIM_OPS_PSMO, "address", eim__p_default_dp,
	 "set the default SM-DP+ address"},
	{"add-eim", EIM_OPS_ECO, NULL, eim__p_eim_config,
	 "associate another eIM with the eUICC"},
	{"update-eim", EIM_OPS_ECO, NULL, eim__p_eim_config,
	 "change an associated eIM's configuration"},
	{"delete-eim", EIM_OPS_ECO, NULL, eim__p_delete_eim,
	 "remove an associated eIM"},
	{"list-eim", EIM_OPS_ECO, NULL, eim__p_none,
	 "list the associated eIMs"},
	{"download", EIM_OPS_DOWNLOAD, NULL, eim__p_download,
	 "trigger a profile download (alone in its package)"},
	{"get-euicc-data", EIM_OPS_EUICC_DATA, NULL, eim__p_euicc_data,
	 "request eUICC data (alone in its package)"},
	{NULL, 0, NULL, NULL, NULL},
};

/* IpaEuiccData tags by name (SGP.32 v1.2 IpaEuiccDataRequest tagList). */
static const struct {
	const char *name;
	uint16_t tag;
} eim__data_tags[] = {
	{"notifications", 0xA0},
	{"default-smdp", 0x81},
	{"results", 0xA2},
	{"euicc-info1", 0xBF20},
	{"euicc-info2", 0xBF22},
	{"root-smds", 0x83},
	{"association-token", 0x84},
	{"eum-certificate", 0xA5},
	{"euicc-certificate", 0xA6},
	{"eim-transaction-id", 0x87},
	{"ipa-capabilities", 0xA8},
	{"device-info", 0xA9},
	{NULL, 0},
};

static const char *const eim__protocols[] = {
	"retrieve-https", "retrieve-coaps", "inject-https",
	"inject-coaps",	  "proprietary",    NULL,
};

const char *eim_ops_kind_name(enum eim_ops_kind k)
{
	switch (k) {
	case EIM_OPS_PSMO:
		return "psmo";
	case EIM_OPS_ECO:
		return "eco";
	case EIM_OPS_DOWNLOAD:
		return "download";
	case EIM_OPS_EUICC_DATA:
		return "euicc-data";
	default:
		return "none";
	}
}

static const struct eim__op *eim__op_find(const char *name)
{
	for (const struct eim__op *o = eim__ops; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static const struct eim__param *eim__param_find(const struct eim__op *op,
						const char *name)
{
	for (const struct eim__param *p = op->params; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

void eim_ops_print_help(void)
{
	printf("operations (parameters as --name VALUE on the command line, "
	       "\"name\": value in JSON):\n");
	for (const struct eim__op *o = eim__ops; o->name; o++) {
		printf("  %-27s %s\n", o->name, o->help);
		for (const struct eim__param *p = o->params; p->name; p++) {
			char opt[40];
			snprintf(opt, sizeof(opt), "--%s", p->name);
			for (char *c = opt; *c; c++)
				if (*c == '_')
					*c = '-';
			printf("      %-23s %s\n", opt, p->help);
		}
	}
}

/* ---- ownership ------------------------------------------------------------
 */

int eim_ops_init(struct eim_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->summary = cJSON_CreateArray();
	return ops->summary ? 0 : EIM_ENOMEM;
}

void eim_ops_done(struct eim_ops *ops)
{
	for (size_t i = 0; i < ops->n_blocks; i++)
		eim_free(ops->blocks[i]);
	cJSON_Delete(ops->summary);
	memset(ops, 0, sizeof(*ops));
}

/* Copies n bytes into memory owned by ops; returns a slice or p == NULL. */
static struct eim_slice eim__own(struct eim_ops *ops, const void *p, size_t n)
{
	struct eim_slice s = {NULL, 0};
	void *copy;

	if (ops->n_blocks == EIM_OPS_MAX_BLOCKS)
		return s;
	copy = eim_malloc(n + 1);
	if (!copy)
		return s;
	if (n)
		memcpy(copy, p, n);
	((uint8_t *)copy)[n] = 0;
	ops->blocks[ops->n_blocks++] = copy;
	s.p = copy;
	s.len = n;
	return s;
}

/* ---- JSON -> structures -----------------------------------------------------
 */

struct eim__ctx {
	struct eim_ops *ops;
	const cJSON *op;
	const char *where;
	struct eim_json_err *err;
};

static int eim__bad(struct eim__ctx *c, const char *member, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
static int eim__bad(struct eim__ctx *c, const char *member, const char *fmt,
		    ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return eim_json_fail(c->err, EIM_EINVAL, "%s%s%s: %s", c->where,
			     member ? "." : "", member ? member : "", what);
}

static const char *eim__str(struct eim__ctx *c, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->op, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool eim__bool(struct eim__ctx *c, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->op, name));
}

/* Checks member types against the table; unknown members are errors. */
static int eim__check_members(struct eim__ctx *c, const struct eim__op *op)
{
	for (const cJSON *m = c->op->child; m; m = m->next) {
		if (strcmp(m->string, "op") == 0)
			continue;
		const struct eim__param *p = eim__param_find(op, m->string);
		if (!p)
			return eim__bad(c, m->string, "not a parameter of '%s'",
					op->name);
		bool ok = false;
		switch (p->type) {
		case P_STR:
		case P_FILE:
			ok = cJSON_IsString(m);
			break;
		case P_BOOL:
			ok = cJSON_IsBool(m);
			break;
		case P_INT:
			ok = cJSON_IsNumber(m);
			break;
		case P_LIST:
			ok = cJSON_IsArray(m) || cJSON_IsString(m);
			break;
		}
		/* Text goes into signed packages (SM-DP+ addresses, eimIds and
		 * FQDNs are UTF8Strings to the eUICC) and into summaries and
		 * error lines: no control characters, only UTF-8. */
		if (ok && p->type == P_STR && m->valuestring[0] &&
		    !eim_cli_text_ok(m->valuestring, SIZE_MAX))
			return eim__bad(c, m->string,
					"must be UTF-8 without control "
					"characters");
		if (!ok)
			return eim__bad(c, m->string, "must be %s",
					p->type == P_BOOL  ? "true or false"
					: p->type == P_INT ? "an integer"
					: p->type == P_LIST
						? "a list (or a string)"
						: "a string");
	}
	return 0;
}

static int eim__iccid(struct eim__ctx *c, const char *name, bool required,
		      uint8_t out[EIM_ICCID_LEN], bool *present)
{
	const char *s = eim__str(c, name);

	if (present)
		*present = s != NULL;
	if (!s)
		return required ? eim__bad(c, name, "is required") : 0;
	if (eim_iccid_parse(s, out))
		return eim__bad(c, name,
				"'%s' is not an ICCID (18 to 20 digits)", s);
	return 0;
}

/* A list member as one string of words ("5A 4F" or ["5A","4F"]). */
static int eim__list_words(struct eim__ctx *c, const char *name,
			   const char *words[], size_t cap, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->op, name);
	static char buf[512];
	size_t k = 0;

	*n = 0;
	if (!v)
		return 0;
	if (cJSON_IsString(v)) {
		snprintf(buf, sizeof(buf), "%s", v->valuestring);
		for (char *t = strtok(buf, " ,"); t; t = strtok(NULL, " ,")) {
			if (k == cap)
				return eim__bad(c, name, "too many entries");
			words[k++] = t;
		}
	} else {
		for (const cJSON *e = v->child; e; e = e->next) {
			if (!cJSON_IsString(e))
				return eim__bad(c, name,
						"entries must be strings");
			if (k == cap)
				return eim__bad(c, name, "too many entries");
			words[k++] = e->valuestring;
		}
	}
	*n = k;
	return 0;
}

/* Appends a tag given as hex ("9F70") to b; returns false if not a tag. */
static bool eim__put_hex_tag(const char *w, struct eim_buf *b)
{
	uint8_t t[3];
	size_t n = 0;

	if (eim_hex_decode(w, strlen(w), t, sizeof(t), &n) || n == 0 || n > 2)
		return false;
	if (n == 1 && (t[0] & 0x1f) == 0x1f)
		return false; /* first byte of a two-byte tag alone */
	if (n == 2 && ((t[0] & 0x1f) != 0x1f || (t[1] & 0x80)))
		return false;
	eim_buf_append(b, t, n);
	return true;
}

static int eim__tags(struct eim__ctx *c, const char *name, bool named,
		     struct eim_slice *out)
{
	const char *w[32];
	size_t n = 0;
	struct eim_buf b;
	int rc = eim__list_words(c, name, w, 32, &n);

	if (rc || !cJSON_GetObjectItemCaseSensitive(c->op, name))
		return rc;
	eim_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		bool ok = false;
		for (size_t k = 0; named && eim__data_tags[k].name; k++) {
			if (strcmp(w[i], eim__data_tags[k].name) == 0) {
				uint16_t t = eim__data_tags[k].tag;
				if (t > 0xff)
					eim_buf_append_byte(&b,
							    (uint8_t)(t >> 8));
				eim_buf_append_byte(&b, (uint8_t)t);
				ok = true;
			}
		}
		if (!ok && !eim__put_hex_tag(w[i], &b)) {
			eim_buf_done(&b);
			return eim__bad(c, name, "'%s' is not a %stag", w[i],
					named ? "tag name or hex " : "hex ");
		}
	}
	*out = eim__own(c->ops, b.p, b.len);
	eim_buf_done(&b);
	return out->p ? 0 : eim_json_fail(c->err, EIM_ENOMEM, "out of memory");
}

static int eim__psmo(struct eim__ctx *c, const struct eim__op *op,
		     struct eim_psmo *p)
{
	const char *s;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	if (strcmp(op->name, "enable") == 0) {
		p->kind = EIM_PSMO_ENABLE;
		p->rollback = eim__bool(c, "rollback");
		return eim__iccid(c, "iccid", true, p->iccid, NULL);
	}
	if (strcmp(op->name, "disable") == 0) {
		p->kind = EIM_PSMO_DISABLE;
		return eim__iccid(c, "iccid", true, p->iccid, NULL);
	}
	if (strcmp(op->name, "delete") == 0) {
		p->kind = EIM_PSMO_DELETE;
		return eim__iccid(c, "iccid", true, p->iccid, NULL);
	}
	if (strcmp(op->name, "set-fallback") == 0) {
		p->kind = EIM_PSMO_SET_FALLBACK;
		return eim__iccid(c, "iccid", true, p->iccid, NULL);
	}
	if (strcmp(op->name, "unset-fallback") == 0) {
		p->kind = EIM_PSMO_UNSET_FALLBACK;
		return 0;
	}
	if (strcmp(op->name, "get-rat") == 0) {
		p->kind = EIM_PSMO_GET_RAT;
		return 0;
	}
	if (strcmp(op->name, "list-profiles") == 0) {
		bool has = false;
		int nsearch = 0;
		p->kind = EIM_PSMO_LIST_PROFILE_INFO;
		if ((rc = eim__tags(c, "tags", false, &p->tag_list)))
			return rc;
		if ((rc = eim__iccid(c, "iccid", false, p->search_iccid, &has)))
			return rc;
		if (has) {
			p->search = EIM_SEARCH_ICCID;
			nsearch++;
		}
		if ((s = eim__str(c, "aid"))) {
			uint8_t aid[16];
			size_t n = 0;
			if (eim_hex_decode(s, strlen(s), aid, sizeof(aid),
					   &n) ||
			    n < 5)
				return eim__bad(c, "aid",
						"'%s' is not an AID (5 to 16 "
						"bytes in hex)",
						s);
			p->search = EIM_SEARCH_ISDP_AID;
			p->search_aid = eim__own(c->ops, aid, n);
			nsearch++;
		}
		if ((s = eim__str(c, "profile_class"))) {
			static const char *const cls[] = {"test",
							  "provisioning",
							  "operational"};
			p->search = EIM_SEARCH_PROFILE_CLASS;
			p->search_class = -1;
			for (int i = 0; i < 3; i++)
				if (strcmp(s, cls[i]) == 0)
					p->search_class = i;
			if (p->search_class < 0)
				return eim__bad(c, "profile_class",
						"'%s' is not test, "
						"provisioning or operational",
						s);
			nsearch++;
		}
		if (nsearch > 1)
			return eim__bad(c, NULL,
					"give at most one of iccid, aid, "
					"profile_class");
		return 0;
	}
	if (strcmp(op->name, "configure-immediate-enable") == 0) {
		p->kind = EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE;
		p->immediate_enable = eim__bool(c, "enable");
		if ((s = eim__str(c, "smdp_oid"))) {
			uint8_t oid[64];
			size_t n = 0;
			if (eim_oid_encode(s, oid, sizeof(oid), &n))
				return eim__bad(c, "smdp_oid",
						"'%s' is not a dotted OID", s);
			p->smdp_oid = eim__own(c->ops, oid, n);
		}
		if ((s = eim__str(c, "smdp_address")))
			p->smdp_address = eim__own(c->ops, s, strlen(s));
		return 0;
	}
	if (strcmp(op->name, "set-default-dp") == 0) {
		p->kind = EIM_PSMO_SET_DEFAULT_DP;
		if (!(s = eim__str(c, "address")))
			return eim__bad(c, "address", "is required");
		p->dp_address = eim__own(c->ops, s, strlen(s));
		return 0;
	}
	return eim__bad(c, NULL, "internal: no PSMO for '%s'", op->name);
}

/* Number of elements inside the outer SEQUENCE of a DER buffer (-1 if bad). */
static int eim__der_children(const uint8_t *der, size_t n)
{
	struct eim_der_tlv t, child;
	struct eim_der_cur c, in;
	int k = 0;

	eim_der_cur_init(&c, der, n, NULL);
	if (eim_der_expect(&c, 0x30, &t) || eim_der_enter(&c, &t, &in))
		return -1;
	while (!eim_der_at_end(&in)) {
		if (eim_der_read(&in, &child))
			return -1;
		k++;
	}
	return k;
}

/* Loads a PEM/DER key or certificate file as DER for eimPublicKeyData. */
static int eim__key_file(struct eim__ctx *c, const char *member, bool cert,
			 struct eim_slice *out)
{
	const char *path = eim__str(c, member);
	FILE *f;
	uint8_t buf[8192];
	size_t n;
	struct eim_sig_key *k = NULL;
	const char *label = NULL;
	size_t label_len = 0, der_len = 0;
	uint8_t *der = NULL;

	if (!path)
		return 0;
	f = fopen(path, "rb");
	if (!f)
		return eim__bad(c, member, "cannot read '%s'", path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (eim_sig_pem_decode((const char *)buf, n, &label, &label_len, &der,
			       &der_len) == 0) {
		*out = eim__own(c->ops, der, der_len);
		eim_free(der);
	} else {
		*out = eim__own(c->ops, buf, n);
	}
	if (!out->p)
		return eim_json_fail(c->err, EIM_ENOMEM, "out of memory");
	if (eim_sig_key_load(out->p, out->len, &k) != 0)
		return eim__bad(c, member, "'%s' holds no EC %s", path,
				cert ? "certificate" : "public key");
	bool has_priv = eim_sig_key_has_private(k);
	eim_sig_key_free(k);
	if (has_priv)
		return eim__bad(c, member,
				"'%s' is a private key: give the public key",
				path);
	/* A certificate is SEQUENCE { tbs, algorithm, signature }: three
	 * elements; a SubjectPublicKeyInfo has two. */
	bool is_cert = eim__der_children(out->p, out->len) == 3;
	if (is_cert != cert)
		return eim__bad(c, member, "'%s' is not a %s", path,
				cert ? "certificate" : "public key");
	return 0;
}

static int eim__eco(struct eim__ctx *c, const struct eim__op *op,
		    struct eim_eco *e)
{
	struct eim_eim_config *cfg = &e->cfg;
	const char *s;
	int rc;

	memset(e, 0, sizeof(*e));
	if (strcmp(op->name, "list-eim") == 0) {
		e->kind = EIM_ECO_LIST_EIM;
		return 0;
	}
	if (strcmp(op->name, "delete-eim") == 0) {
		e->kind = EIM_ECO_DELETE_EIM;
		if (!(s = eim__str(c, "eim_id")) || !*s || strlen(s) > 128)
			return eim__bad(c, "eim_id",
					"is required (1 to 128 characters)");
		e->eim_id = eim__own(c->ops, s, strlen(s));
		return 0;
	}
	e->kind = strcmp(op->name, "add-eim") == 0 ? EIM_ECO_ADD_EIM
						   : EIM_ECO_UPDATE_EIM;
	const char *ident = eim__str(c, "identity");
	s = eim__str(c, "eim_id");
	if (ident && s && strcmp(ident, s) != 0)
		return eim__bad(c, "eim_id", "differs from identity '%s'",
				ident);
	if (!s)
		s = ident;
	if (!s || !*s || strlen(s) > 128)
		return eim__bad(c, "eim_id", "is required (or give identity)");
	cfg->eim_id = eim__own(c->ops, s, strlen(s));
	if ((s = eim__str(c, "fqdn")))
		cfg->fqdn = eim__own(c->ops, s, strlen(s));
	if ((s = eim__str(c, "id_type"))) {
		static const char *const types[] = {"oid", "fqdn",
						    "proprietary"};
		for (int i = 0; i < 3; i++)
			if (strcmp(s, types[i]) == 0)
				cfg->id_type = i + 1;
		if (!cfg->id_type)
			return eim__bad(c, "id_type",
					"'%s' is not oid, fqdn or proprietary",
					s);
	}
	const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(c->op, "counter");
	if (cnt) {
		double d = cnt->valuedouble;
		if (d < 0 || d > EIM_PKG_COUNTER_MAX || d != (int64_t)d)
			return eim__bad(c, "counter",
					"must be an integer from 0 to %d",
					EIM_PKG_COUNTER_MAX);
		cfg->has_counter = true;
		cfg->counter = (int64_t)d;
	}
	if ((s = eim__str(c, "association_token"))) {
		char *end = NULL;
		cfg->has_token = true;
		if (strcmp(s, "request") == 0) {
			cfg->token = -1;
		} else {
			cfg->token = strtoll(s, &end, 10);
			if (!*s || *end)
				return eim__bad(c, "association_token",
						"'%s' is not an integer or "
						"'request'",
						s);
		}
	}
	if (ident && !eim__str(c, "public_key") &&
	    !eim__str(c, "certificate")) {
		struct eim_buf b;
		bool is_cert = false;
		if (!c->ops->identity_fn)
			return eim__bad(c, "identity",
					"local identities are not available "
					"here");
		eim_buf_init(&b);
		rc = c->ops->identity_fn(c->ops->identity_ctx, ident, &b,
					 &is_cert);
		if (rc || b.err) {
			eim_buf_done(&b);
			return eim__bad(c, "identity",
					"no local eIM identity '%s'", ident);
		}
		cfg->pk = eim__own(c->ops, b.p, b.len);
		cfg->pk_kind = is_cert ? EIM_KEYDATA_CERT : EIM_KEYDATA_SPKI;
		eim_buf_done(&b);
	}
	if (eim__str(c, "public_key") && eim__str(c, "certificate"))
		return eim__bad(c, NULL,
				"give public_key or certificate, not both");
	if ((rc = eim__key_file(c, "public_key", false, &cfg->pk)))
		return rc;
	if (eim__str(c, "public_key"))
		cfg->pk_kind = EIM_KEYDATA_SPKI;
	if ((rc = eim__key_file(c, "certificate", true, &cfg->pk)))
		return rc;
	if (eim__str(c, "certificate"))
		cfg->pk_kind = EIM_KEYDATA_CERT;
	if (eim__str(c, "tls_public_key") && eim__str(c, "tls_certificate"))
		return eim__bad(c, NULL,
				"give tls_public_key or tls_certificate, not "
				"both");
	if ((rc = eim__key_file(c, "tls_public_key", false, &cfg->tls)))
		return rc;
	if (eim__str(c, "tls_public_key"))
		cfg->tls_kind = EIM_KEYDATA_SPKI;
	if ((rc = eim__key_file(c, "tls_certificate", true, &cfg->tls)))
		return rc;
	if (eim__str(c, "tls_certificate"))
		cfg->tls_kind = EIM_KEYDATA_CERT;
	if (e->kind == EIM_ECO_ADD_EIM && cfg->pk_kind == EIM_KEYDATA_NONE)
		return eim__bad(c, NULL,
				"add-eim needs the new eIM's key: identity, "
				"public_key or certificate");
	const char *w[8];
	size_t n = 0;
	if ((rc = eim__list_words(c, "protocols", w, 8, &n)))
		return rc;
	if (n) {
		unsigned bits = 0;
		for (size_t i = 0; i < n; i++) {
			int b = -1;
			for (int k = 0; eim__protocols[k]; k++)
				if (strcmp(w[i], eim__protocols[k]) == 0)
					b = k;
			if (b < 0)
				return eim__bad(c, "protocols",
						"'%s' is not one of "
						"retrieve-https, "
						"retrieve-coaps, inject-https, "
						"inject-coaps, proprietary",
						w[i]);
			bits |= 1u << b;
		}
		/* BIT STRING, named bits: trailing zero bits removed. */
		int high = 0;
		for (int b = 0; b < 8; b++)
			if (bits & (1u << b))
				high = b;
		uint8_t v[2] = {(uint8_t)(7 - high), 0};
		for (int b = 0; b <= high; b++)
			if (bits & (1u << b))
				v[1] |= (uint8_t)(0x80 >> b);
		cfg->protocols = eim__own(c->ops, v, 2);
	}
	if ((s = eim__str(c, "ci_pkid"))) {
		uint8_t ski[32];
		size_t k = 0;
		if (eim_hex_decode(s, strlen(s), ski, sizeof(ski), &k) || !k)
			return eim__bad(c, "ci_pkid",
					"'%s' is not a key identifier in hex",
					s);
		cfg->ci_pkid = eim__own(c->ops, ski, k);
	}
	cfg->indirect_download = eim__bool(c, "indirect_download");
	if (e->kind == EIM_ECO_UPDATE_EIM && !cfg->fqdn.p && !cfg->id_type &&
	    !cfg->has_counter && !cfg->pk.p && !cfg->tls.p &&
	    !cfg->protocols.p && !cfg->ci_pkid.p && !cfg->indirect_download &&
	    !cfg->has_token)
		return eim__bad(c, NULL, "update-eim changes nothing");
	return 0;
}

int eim_ops_add_json(struct eim_ops *ops, const cJSON *opj, const char *where,
		     struct eim_json_err *err)
{
	struct eim__ctx c = {ops, opj, where, err};
	const cJSON *name;
	const struct eim__op *op;
	int rc;

	if (!cJSON_IsObject(opj))
		return eim_json_fail(err, EIM_EINVAL,
				     "%s: an operation must be an object with "
				     "\"op\"",
				     where);
	name = cJSON_GetObjectItemCaseSensitive(opj, "op");
	if (!cJSON_IsString(name))
		return eim__bad(&c, "op", "is required (a string)");
	if (!(op = eim__op_find(name->valuestring)))
		return eim__bad(&c, "op", "unknown operation '%s'",
				name->valuestring);
	if ((rc = eim__check_members(&c, op)))
		return rc;
	if (ops->kind != EIM_OPS_NONE && ops->kind != op->kind)
		return eim__bad(&c, NULL,
				"'%s' cannot share a package with the "
				"operations before it (a package holds "
				"profile operations, eIM configuration "
				"operations, one download or one data "
				"request)",
				op->name);
	if ((op->kind == EIM_OPS_DOWNLOAD || op->kind == EIM_OPS_EUICC_DATA) &&
	    ops->n > 0)
		return eim__bad(&c, NULL, "'%s' must be alone in its package",
				op->name);
	if (ops->n == EIM_OPS_MAX)
		return eim_json_fail(err, EIM_ETOOBIG,
				     "%s: more than %d operations in one "
				     "package",
				     where, EIM_OPS_MAX);
	switch (op->kind) {
	case EIM_OPS_PSMO:
		rc = eim__psmo(&c, op, &ops->psmo[ops->n]);
		break;
	case EIM_OPS_ECO:
		rc = eim__eco(&c, op, &ops->eco[ops->n]);
		break;
	case EIM_OPS_DOWNLOAD: {
		const char *ac = eim__str(&c, "activation_code");
		if (ac && (!*ac || strlen(ac) > 255))
			return eim__bad(&c, "activation_code",
					"must be 1 to 255 characters");
		if (ac) {
			struct eim_slice s = eim__own(ops, ac, strlen(ac));
			ops->activation_code = (char *)s.p;
			if (!s.p)
				return eim_json_fail(err, EIM_ENOMEM,
						     "out of memory");
		}
		break;
	}
	case EIM_OPS_EUICC_DATA:
		if (!cJSON_GetObjectItemCaseSensitive(opj, "tags"))
			return eim__bad(&c, "tags", "is required");
		rc = eim__tags(&c, "tags", true, &ops->data_tags);
		break;
	default:
		rc = EIM_EINVAL;
	}
	if (rc)
		return rc;
	if (ops->n_blocks == EIM_OPS_MAX_BLOCKS)
		return eim_json_fail(err, EIM_ETOOBIG,
				     "%s: too many parameters", where);
	cJSON *copy = cJSON_Duplicate(opj, true);
	if (!copy)
		return eim_json_fail(err, EIM_ENOMEM, "out of memory");
	cJSON_AddItemToArray(ops->summary, copy);
	ops->kind = op->kind;
	ops->n++;
	return 0;
}

/* ---- command line -> JSON ---------------------------------------------------
 */

int eim_ops_args_to_json(int argc, char **argv, cJSON *arr,
			 struct eim_json_err *err)
{
	int i = 0;

	if (argc == 0)
		return eim_json_fail(err, EIM_EINVAL, "missing operation");
	while (i < argc) {
		const struct eim__op *op = eim__op_find(argv[i]);
		if (!op)
			return eim_json_fail(err, EIM_EINVAL,
					     "unknown operation '%s'", argv[i]);
		cJSON *o = cJSON_CreateObject();
		if (!o)
			return eim_json_fail(err, EIM_ENOMEM, "out of memory");
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "op", op->name);
		for (i++; i < argc && strcmp(argv[i], "+") != 0; i++) {
			const char *w = argv[i];
			char name[40];
			if (strncmp(w, "--", 2) != 0) {
				if (op->positional &&
				    !cJSON_GetObjectItemCaseSensitive(
					    o, op->positional)) {
					cJSON_AddStringToObject(o,
								op->positional,
								w);
					continue;
				}
				return eim_json_fail(err, EIM_EINVAL,
						     "%s: unexpected argument "
						     "'%s'",
						     op->name, w);
			}
			snprintf(name, sizeof(name), "%s", w + 2);
			char *eq = strchr(name, '=');
			const char *val = NULL;
			if (eq) {
				*eq = 0;
				val = strchr(w, '=') + 1;
			}
			for (char *c = name; *c; c++)
				if (*c == '-')
					*c = '_';
			const struct eim__param *p = eim__param_find(op, name);
			if (!p)
				return eim_json_fail(err, EIM_EINVAL,
						     "%s: unknown option '%s'",
						     op->name, w);
			if (cJSON_GetObjectItemCaseSensitive(o, name))
				return eim_json_fail(err, EIM_EINVAL,
						     "%s: option '--%s' given "
						     "twice",
						     op->name, w + 2);
			if (p->type == P_BOOL) {
				if (val)
					return eim_json_fail(
						err, EIM_EINVAL,
						"%s: option '%.*s' takes no "
						"value",
						op->name,
						(int)(strchr(w, '=') - w), w);
				cJSON_AddTrueToObject(o, name);
				continue;
			}
			if (!val) {
				if (i + 1 >= argc ||
				    strcmp(argv[i + 1], "+") == 0)
					return eim_json_fail(
						err, EIM_EINVAL,
						"%s: option '%s' needs a value",
						op->name, w);
				val = argv[++i];
			}
			if (p->type == P_INT) {
				char *end = NULL;
				double d = strtod(val, &end);
				if (!*val || *end)
					return eim_json_fail(
						err, EIM_EINVAL,
						"%s: option '--%s' must be an "
						"integer, not '%s'",
						op->name, w + 2, val);
				cJSON_AddNumberToObject(o, name, d);
			} else {
				cJSON_AddStringToObject(o, name, val);
			}
		}
		if (i < argc)
			i++; /* skip "+" */
	}
	return 0;
}
