/*
 * eim_config.h - the configuration of `eim serve`: defaults, the JSON config
 * file, and command-line overrides, in that order of precedence (lowest
 * first).
 *
 * The file is one JSON object; every member is optional and unknown members
 * are an error (a typo must not silently fall back to a default):
 *
 *   {
 *     "db": "/var/lib/eim/eim.db",
 *     "listen": "[::]:5684",              DTLS 1.2 (coaps)
 *     "coap": "127.0.0.1:5683",           plain CoAP for labs, off unless set
 *     "log_level": "info",                error | warn | info | debug
 *     "synchronous": "full",              full | normal (SQLite durability)
 *     "require_verified_results": false,  refuse results whose signature
 *                                         cannot be checked
 *     "default_validity": 604800,         seconds a queued package stays valid
 *     "counter_warning": 8000000,         warn when a counter passes this
 *     "refresh_on_state_change": true,    queue listProfileInfo when a device
 *                                         reports notifyStateChange
 *     "stats_interval": 300,              seconds between statistics lines
 *                                         (service and DTLS counters) in
 *                                         the log; 0: only when stopping
 *     "dtls": {
 *       "cid_length": 8,                  0 disables Connection IDs
 *       "cid_node_id": "",                hex prefix for load balancers
 *       "certificate": "server.crt.pem",  server chain (PEM, leaf first)
 *       "private_key": "server.key.pem",  its P-256 key (PEM); alone: the
 *                                         server presents a raw public key
 *       "client_ca": "devices-ca.pem",    CA(s) for device certificates
 *       "pinned_allow_expired": false,    accept a device certificate
 *                                         pinned by fingerprint (no CA)
 *                                         outside its validity period
 *       "max_sessions": 1000000,
 *       "max_handshakes": 10000,
 *       "idle_timeout": 86400,            seconds before an idle session goes
 *       "require_extended_master_secret": false,
 *       "suites": ["TLS_PSK_WITH_AES_128_CCM_8", ...],
 *                                         server preference, IANA names
 *                                         (default: RFC 7925's first)
 *       "prefer_x25519": false,           ECDHE_ECDSA on x25519 when the
 *                                         device offers it (cheaper on
 *                                         Debian's wolfCrypt); secp256r1
 *                                         otherwise
 *       "keylog_file": ""                 DEBUG ONLY: NSS key log
 *     }
 *   }
 */
#ifndef EIM_CONFIG_H
#define EIM_CONFIG_H

#include "common/eim_log.h"
#include "eim/eim_json.h"

#include <stdbool.h>
#include <stdint.h>

struct eim_config_dtls {
	int cid_length;
	char *cid_node_id; /* hex text, may be empty */
	char *certificate;
	char *private_key;
	char *client_ca;
	int64_t max_sessions;
	int64_t max_handshakes;
	int64_t idle_timeout_s;
	bool require_ems;
	bool prefer_x25519;
	uint16_t suites[6]; /* server preference (IANA values) */
	size_t n_suites;    /* 0: the transport's default order */
	bool pinned_allow_expired;
	char *keylog_file;
};

/* Owns every string; release with eim_config_done(). */
struct eim_config {
	char *db_path;
	char *listen; /* DTLS address "HOST:PORT" or "[V6]:PORT"; "" = off */
	char *coap;   /* plain CoAP address, NULL = off */
	enum eim_log_level log_level;
	bool sync_full;
	bool require_verified_results;
	int64_t default_validity_s;
	int64_t counter_warning;
	bool refresh_on_state_change;
	int64_t stats_interval_s; /* 0 = only the line at stop */
	struct eim_config_dtls dtls;
};

/* Fills *cfg with the defaults (documented above). Returns 0 or EIM_ENOMEM. */
int eim_config_init(struct eim_config *cfg);
void eim_config_done(struct eim_config *cfg);

/*
 * Applies a JSON config file on top of *cfg. On error returns EIM_EIO,
 * EIM_EMALFORMED or EIM_EINVAL with err->msg naming the file and the member
 * ("eim.json: dtls.cid_length: must be an integer from 0 to 20"); *cfg may
 * then hold a mix of old and new values and should be discarded.
 */
int eim_config_load_file(struct eim_config *cfg, const char *path,
			 struct eim_json_err *err);
/* Same, from JSON text already in memory (used by the fuzz target). */
int eim_config_load_json(struct eim_config *cfg, const char *text, size_t len,
			 struct eim_json_err *err);

/* Replaces a string member (takes a copy). Returns 0 or EIM_ENOMEM. */
int eim_config_set_str(char **member, const char *value);

/*
 * Checks "HOST:PORT" / "[V6ADDR]:PORT" with a numeric address and a port
 * from 1 to 65535. Returns 0 or EIM_EINVAL.
 */
int eim_config_check_addr(const char *addr);

#endif
