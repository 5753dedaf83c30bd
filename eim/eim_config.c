/* eim_config.c - defaults and JSON config file of `eim serve`. */
#include "eim/eim_config.h"

#include "transport/eim_dtls_hs.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int eim_config_set_str(char **member, const char *value)
{
	char *copy = NULL;

	if (value) {
		copy = eim_strdup(value);
		if (!copy)
			return EIM_ENOMEM;
	}
	eim_free(*member);
	*member = copy;
	return 0;
}

int eim_config_init(struct eim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = EIM_LOG_INFO;
	cfg->sync_full = true;
	cfg->default_validity_s = 7 * 24 * 3600;
	cfg->counter_warning = 8000000;
	cfg->refresh_on_state_change = true;
	cfg->stats_interval_s = 300;
	cfg->dtls.cid_length = 8;
	cfg->dtls.max_sessions = 1000000;
	cfg->dtls.max_handshakes = 10000;
	cfg->dtls.idle_timeout_s = 24 * 3600;
	if (eim_config_set_str(&cfg->db_path, "./eim.db") ||
	    eim_config_set_str(&cfg->listen, "[::]:5684") ||
	    eim_config_set_str(&cfg->dtls.cid_node_id, "")) {
		eim_config_done(cfg);
		return EIM_ENOMEM;
	}
	return 0;
}

void eim_config_done(struct eim_config *cfg)
{
	eim_free(cfg->db_path);
	eim_free(cfg->listen);
	eim_free(cfg->coap);
	eim_free(cfg->dtls.cid_node_id);
	eim_free(cfg->dtls.certificate);
	eim_free(cfg->dtls.private_key);
	eim_free(cfg->dtls.client_ca);
	eim_free(cfg->dtls.keylog_file);
	memset(cfg, 0, sizeof(*cfg));
}

int eim_config_check_addr(const char *addr)
{
	char host[64];
	const char *colon;
	size_t hlen;
	unsigned char tmp[16];

	if (!addr)
		return EIM_EINVAL;
	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');
		if (!rb || rb[1] != ':')
			return EIM_EINVAL;
		hlen = (size_t)(rb - addr - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return EIM_EINVAL;
		memcpy(host, addr + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, tmp) != 1)
			return EIM_EINVAL;
		colon = rb + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return EIM_EINVAL;
		hlen = (size_t)(colon - addr);
		if (hlen == 0 || hlen >= sizeof(host))
			return EIM_EINVAL;
		memcpy(host, addr, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, tmp) != 1)
			return EIM_EINVAL;
	}
	char *end = NULL;
	long port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535)
		return EIM_EINVAL;
	return 0;
}

/* Reads an optional string member into *member (copied). */
static int eim__cfg_str(const cJSON *obj, const char *path, const char *name,
			char **member, struct eim_json_err *err)
{
	const char *s = NULL;
	int rc = eim_json_get_string(obj, path, name, &s, err);

	if (rc || !s)
		return rc;
	if (eim_config_set_str(member, s))
		return eim_json_fail(err, EIM_ENOMEM, "out of memory");
	return 0;
}

static int eim__cfg_addr(const cJSON *obj, const char *name, char **member,
			 bool empty_ok, struct eim_json_err *err)
{
	int rc = eim__cfg_str(obj, "", name, member, err);

	if (rc || !cJSON_GetObjectItemCaseSensitive(obj, name))
		return rc;
	if (empty_ok && (*member)[0] == '\0')
		return 0;
	if (eim_config_check_addr(*member))
		return eim_json_fail(err, EIM_EINVAL,
				     "%s: '%s' is not ADDRESS:PORT with a "
				     "numeric address (e.g. 127.0.0.1:5683 "
				     "or [::1]:5684)",
				     name, *member);
	return 0;
}

/* dtls.suites: 1 to 6 distinct IANA names of suites we implement, in the
 * server's order of preference. */
static int eim__cfg_suites(const cJSON *d, struct eim_config_dtls *c,
			   struct eim_json_err *err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "suites"), *x;
	size_t n = 0;

	if (!a)
		return 0;
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 ||
	    cJSON_GetArraySize(a) > 6)
		return eim_json_fail(err, EIM_EINVAL,
				     "dtls.suites: must be a list of 1 to 6 "
				     "cipher suite names");
	cJSON_ArrayForEach(x, a)
	{
		uint16_t s;
		if (!cJSON_IsString(x) ||
		    eim_dtls_suite_by_name(x->valuestring, &s))
			return eim_json_fail(
				err, EIM_EINVAL,
				"dtls.suites[%zu]: not one of "
				"TLS_PSK_WITH_AES_128_CCM_8, "
				"TLS_PSK_WITH_AES_128_GCM_SHA256, "
				"TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256, "
				"TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, "
				"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "
				"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
				n);
		for (size_t i = 0; i < n; i++)
			if (c->suites[i] == s)
				return eim_json_fail(err, EIM_EINVAL,
						     "dtls.suites[%zu]: %s "
						     "twice",
						     n, x->valuestring);
		c->suites[n++] = s;
	}
	c->n_suites = n;
	return 0;
}

static int eim__cfg_dtls(const cJSON *d, struct eim_config_dtls *c,
			 struct eim_json_err *err)
{
	static const char *const known[] = {"cid_length",
					    "cid_node_id",
					    "certificate",
					    "private_key",
					    "client_ca",
					    "max_sessions",
					    "max_handshakes",
					    "idle_timeout",
					    "require_extended_master_secret",
					    "keylog_file",
					    "pinned_allow_expired",
					    "prefer_x25519",
					    "suites",
					    NULL};
	int64_t v;
	int rc;

	if ((rc = eim_json_check_keys(d, "dtls", known, err)))
		return rc;
	v = c->cid_length;
	if ((rc = eim_json_get_int(d, "dtls", "cid_length", 0, 20, &v, err)))
		return rc;
	c->cid_length = (int)v;
	if ((rc = eim__cfg_str(d, "dtls", "cid_node_id", &c->cid_node_id, err)))
		return rc;
	uint8_t node[20];
	size_t nlen = 0;
	if (eim_hex_decode(c->cid_node_id, strlen(c->cid_node_id), node,
			   sizeof(node), &nlen) ||
	    (int)nlen >= (c->cid_length ? c->cid_length : 1))
		if (c->cid_node_id[0])
			return eim_json_fail(err, EIM_EINVAL,
					     "dtls.cid_node_id: must be hex "
					     "shorter than dtls.cid_length "
					     "bytes");
	if ((rc = eim__cfg_str(d, "dtls", "certificate", &c->certificate,
			       err)) ||
	    (rc = eim__cfg_str(d, "dtls", "private_key", &c->private_key,
			       err)) ||
	    (rc = eim__cfg_str(d, "dtls", "client_ca", &c->client_ca, err)) ||
	    (rc = eim__cfg_str(d, "dtls", "keylog_file", &c->keylog_file, err)))
		return rc;
	if ((rc = eim_json_get_int(d, "dtls", "max_sessions", 1, 100000000,
				   &c->max_sessions, err)) ||
	    (rc = eim_json_get_int(d, "dtls", "max_handshakes", 1, 10000000,
				   &c->max_handshakes, err)) ||
	    (rc = eim_json_get_int(d, "dtls", "idle_timeout", 1, 365 * 86400,
				   &c->idle_timeout_s, err)) ||
	    (rc = eim_json_get_bool(d, "dtls", "require_extended_master_secret",
				    &c->require_ems, err)) ||
	    (rc = eim_json_get_bool(d, "dtls", "pinned_allow_expired",
				    &c->pinned_allow_expired, err)) ||
	    (rc = eim_json_get_bool(d, "dtls", "prefer_x25519",
				    &c->prefer_x25519, err)))
		return rc;
	return eim__cfg_suites(d, c, err);
}

static int eim__cfg_apply(struct eim_config *cfg, const cJSON *root,
			  struct eim_json_err *err)
{
	static const char *const known[] = {"db",
					    "listen",
					    "coap",
					    "log_level",
					    "synchronous",
					    "require_verified_results",
					    "default_validity",
					    "counter_warning",
					    "refresh_on_state_change",
					    "stats_interval",
					    "dtls",
					    NULL};
	const char *s = NULL;
	int rc;

	if ((rc = eim_json_check_keys(root, "", known, err)))
		return rc;
	if ((rc = eim__cfg_str(root, "", "db", &cfg->db_path, err)))
		return rc;
	if (cfg->db_path[0] == '\0')
		return eim_json_fail(err, EIM_EINVAL, "db: must not be empty");
	if ((rc = eim__cfg_addr(root, "listen", &cfg->listen, true, err)) ||
	    (rc = eim__cfg_addr(root, "coap", &cfg->coap, false, err)))
		return rc;
	s = NULL;
	if ((rc = eim_json_get_string(root, "", "log_level", &s, err)))
		return rc;
	if (s && eim_log_level_parse(s, &cfg->log_level))
		return eim_json_fail(err, EIM_EINVAL,
				     "log_level: '%s' is not one of error, "
				     "warn, info, debug",
				     s);
	s = NULL;
	if ((rc = eim_json_get_string(root, "", "synchronous", &s, err)))
		return rc;
	if (s) {
		if (strcmp(s, "full") == 0)
			cfg->sync_full = true;
		else if (strcmp(s, "normal") == 0)
			cfg->sync_full = false;
		else
			return eim_json_fail(err, EIM_EINVAL,
					     "synchronous: '%s' is not full "
					     "or normal",
					     s);
	}
	if ((rc = eim_json_get_bool(root, "", "require_verified_results",
				    &cfg->require_verified_results, err)) ||
	    (rc = eim_json_get_int(root, "", "default_validity", 60,
				   10LL * 365 * 86400, &cfg->default_validity_s,
				   err)) ||
	    (rc = eim_json_get_int(root, "", "counter_warning", 1, 8388607,
				   &cfg->counter_warning, err)) ||
	    (rc = eim_json_get_bool(root, "", "refresh_on_state_change",
				    &cfg->refresh_on_state_change, err)) ||
	    (rc = eim_json_get_int(root, "", "stats_interval", 0, 86400,
				   &cfg->stats_interval_s, err)))
		return rc;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "dtls");
	if (d)
		return eim__cfg_dtls(d, &cfg->dtls, err);
	return 0;
}

int eim_config_load_json(struct eim_config *cfg, const char *text, size_t len,
			 struct eim_json_err *err)
{
	cJSON *root = NULL;
	int rc = eim_json_parse(text, len, &root, err);

	if (rc)
		return rc;
	rc = eim__cfg_apply(cfg, root, err);
	cJSON_Delete(root);
	return rc;
}

int eim_config_load_file(struct eim_config *cfg, const char *path,
			 struct eim_json_err *err)
{
	cJSON *root = NULL;
	int rc = eim_json_parse_file(path, &root, err);

	if (rc)
		return rc;
	rc = eim__cfg_apply(cfg, root, err);
	cJSON_Delete(root);
	if (rc) {
		char m[sizeof(err->msg)];
		snprintf(m, sizeof(m), "%s", err->msg);
		eim_json_fail(err, rc, "%s: %s", path, m);
	}
	return rc;
}
