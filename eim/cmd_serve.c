/*
 * cmd_serve.c - `eim serve`: the ESipa server.
 *
 * Configuration comes from the defaults, then the JSON config file, then the
 * command line. One event loop (transport/eim_loop) runs everything: the
 * CoAP engine calls eim_service_handle() for POST /gsma/rsp2/asn1, a timer
 * expires overdue packages once a minute, and SIGINT/SIGTERM stop the loop
 * between two requests, after which the database is closed cleanly.
 */
#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "eim/cli_util.h"
#include "eim/eim_config.h"
#include "eim/eim_service.h"
#include "proto/eim_cert.h"
#include "transport/eim_coap_server.h"
#include "transport/eim_coap_dtls.h"
#include "transport/eim_coap_udp.h"
#include "common/eim_bytes.h"
#include "transport/eim_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EIM__EXPIRY_PERIOD_MS 60000
/* How long last-seen records and re-delivery counts wait in memory: one
 * transaction a second at most, and `eim device show` is never more than
 * about a second behind (at 5 s an operator saw "last seen: never" for a
 * device that had just polled). */
#define EIM__FLUSH_PERIOD_MS 1000
#define EIM__MAX_CI 8

struct eim__serve {
	struct eim_loop *loop;
	struct eim_store *store;
	struct eim_service *svc;
	struct eim_coap_server *coap;
	struct eim_coap_udp_server *coap_udp;
	struct eim_coap_dtls_server *coaps;
	FILE *keylog;
	struct eim_loop_timer expiry;
	struct eim_loop_timer batch; /* fires at the loop's next turn */
	struct eim_loop_timer flush;
	struct eim_loop_timer stats;
	uint64_t stats_period_ms; /* 0 = only at stop */
	struct eim_cert_store *ci;
};

/* DTLS asks for the PSK of an identity: the store knows the devices'. */
static int eim__psk_lookup(void *ctx, const uint8_t *identity, size_t len,
			   uint8_t *key, size_t *key_len)
{
	struct eim__serve *sv = ctx;
	struct eim_store_cred_lookup l;
	int rc;

	memset(&l, 0, sizeof(l));
	rc = eim_store_credential_lookup(sv->store, EIM_STORE_CRED_PSK,
					 identity, len, &l);
	if (rc)
		return rc;
	if (!l.secret || l.secret_len > *key_len) {
		eim_store_cred_lookup_done(&l);
		return EIM_ENOTFOUND;
	}
	memcpy(key, l.secret, l.secret_len);
	*key_len = l.secret_len;
	eim_store_cred_lookup_done(&l); /* wipes its copy */
	return 0;
}

/*
 * DTLS asks whether a client certificate or raw public key (by SHA-256
 * fingerprint) belongs to a device: the store knows them (eim device add
 * --cert-fingerprint / --rpk).
 */
static int eim__cert_check(void *ctx, enum eim_dtls_identity_kind kind,
			   const uint8_t fp[32])
{
	struct eim__serve *sv = ctx;
	struct eim_store_cred_lookup l;
	enum eim_store_cred_kind k = kind == EIM_DTLS_ID_CERT
					     ? EIM_STORE_CRED_CERT
					     : EIM_STORE_CRED_RPK;
	int rc;

	if (kind != EIM_DTLS_ID_CERT && kind != EIM_DTLS_ID_RPK)
		return EIM_EPERM;
	memset(&l, 0, sizeof(l));
	rc = eim_store_credential_lookup(sv->store, k, fp, 32, &l);
	if (rc == 0)
		eim_store_cred_lookup_done(&l);
	return rc;
}

/* DEBUG ONLY: NSS key log lines for Wireshark (explicitly configured). */
static void eim__keylog(void *ctx, const char *line)
{
	struct eim__serve *sv = ctx;
	fprintf(sv->keylog, "%s\n", line);
	fflush(sv->keylog);
}

/* Reads a whole PEM file for the DTLS credentials. */
static int eim__read_pem(const char *what, const char *path, uint8_t **buf,
			 size_t *len)
{
	int rc = eim_cli_read_file("serve", path, buf, len);
	if (rc)
		return rc;
	(void)what;
	return EIM_EXIT_OK;
}

static int eim__start_dtls(struct eim__serve *sv, const struct eim_config *cfg)
{
	struct eim_dtls_server_config d;
	uint8_t *cert = NULL, *key = NULL, *ca = NULL, prefix[20];
	size_t cert_len = 0, key_len = 0, ca_len = 0, prefix_len = 0;
	int rc = EIM_EXIT_FAIL;

	eim_dtls_server_config_init(&d);
	d.psk_lookup = eim__psk_lookup;
	d.cid_len = (size_t)cfg->dtls.cid_length;
	if (cfg->dtls.cid_node_id && cfg->dtls.cid_node_id[0] &&
	    eim_hex_decode(cfg->dtls.cid_node_id, strlen(cfg->dtls.cid_node_id),
			   prefix, sizeof(prefix), &prefix_len) == 0) {
		d.cid_prefix = prefix;
		d.cid_prefix_len = prefix_len;
	}
	if (cfg->dtls.n_suites) {
		d.suites = cfg->dtls.suites;
		d.n_suites = cfg->dtls.n_suites;
	}
	d.max_sessions = (size_t)cfg->dtls.max_sessions;
	d.max_handshakes = (size_t)cfg->dtls.max_handshakes;
	d.idle_timeout_ms = (uint32_t)(cfg->dtls.idle_timeout_s * 1000);
	d.require_ems = cfg->dtls.require_ems;
	d.prefer_x25519 = cfg->dtls.prefer_x25519;
	d.pinned_allow_expired = cfg->dtls.pinned_allow_expired;
	if (cfg->dtls.certificate && !cfg->dtls.private_key)
		return eim_cli_fail("serve",
				    "dtls.certificate needs dtls.private_key");
	/* A private key alone: the server presents a raw public key. */
	if (cfg->dtls.private_key) {
		if ((rc = eim__read_pem("private key", cfg->dtls.private_key,
					&key, &key_len)))
			goto out;
		d.key_pem = (const char *)key;
		d.key_pem_len = key_len;
		/* Devices may then authenticate by certificate or raw key,
		 * checked against the store (and client_ca when given). */
		d.cert_check = eim__cert_check;
	}
	if (cfg->dtls.certificate) {
		if ((rc = eim__read_pem("certificate", cfg->dtls.certificate,
					&cert, &cert_len)))
			goto out;
		d.cert_pem = (const char *)cert;
		d.cert_pem_len = cert_len;
	}
	if (cfg->dtls.client_ca) {
		if (!d.key_pem) {
			rc = eim_cli_fail("serve",
					  "dtls.client_ca needs the server's "
					  "dtls.private_key (certificate "
					  "suites)");
			goto out;
		}
		if ((rc = eim__read_pem("client CA", cfg->dtls.client_ca, &ca,
					&ca_len)))
			goto out;
		d.ca_pem = (const char *)ca;
		d.ca_pem_len = ca_len;
	}
	if (cfg->dtls.keylog_file && cfg->dtls.keylog_file[0]) {
		/* Session keys: created 0600 like the database and the
		 * signing keys (fopen would leave it to the umask, usually
		 * world-readable), never through a symlink. */
		int kfd = open(cfg->dtls.keylog_file,
			       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
				       O_NOFOLLOW,
			       0600);
		sv->keylog = kfd >= 0 ? fdopen(kfd, "a") : NULL;
		if (!sv->keylog) {
			int e = errno;
			if (kfd >= 0)
				close(kfd);
			errno = e;
			rc = eim_cli_fail("serve", "dtls.keylog_file %s: %s",
					  cfg->dtls.keylog_file,
					  strerror(errno));
			goto out;
		}
		d.keylog = eim__keylog;
		eim_warn("DEBUG: writing DTLS session keys to %s; anyone who "
			 "reads that file can decrypt the traffic",
			 cfg->dtls.keylog_file);
	}
	int e = eim_coap_dtls_server_new(sv->loop, cfg->listen, &d, sv,
					 sv->coap, &sv->coaps);
	if (e) {
		rc = eim_cli_fail("serve", "cannot serve DTLS on %s: %s",
				  cfg->listen,
				  e == EIM_EIO ? strerror(errno)
					       : eim_strerror(e));
		goto out;
	}
	rc = EIM_EXIT_OK;
out:
	eim_free_secret(key, key_len);
	eim_free(cert);
	eim_free(ca);
	return rc;
}

/* Prints "HOST:PORT" of a listener: the address with the bound port. */
static void eim__where(const char *addr, int port, char *out, size_t cap)
{
	char host[64];
	snprintf(host, sizeof(host), "%s", addr);
	char *colon = strrchr(host, ':');
	if (colon)
		*colon = '\0';
	snprintf(out, cap, "%s:%d", host, port);
}

/* The CoAP route: one ESipa request. */
static int eim__esipa_handler(void *ctx, const struct eim_coap_request *req,
			      struct eim_coap_response *resp)
{
	struct eim__serve *sv = ctx;
	struct eim_service_peer peer = {0};
	uint8_t code = 0;

	/* Plain CoAP carries no identity (peer_user is NULL); over DTLS the
	 * session knows what authenticated the device (a PSK identity, or
	 * the SHA-256 of its certificate or raw public key) and its address. */
	if (req->peer_user && !req->identity_len) {
		/* A DTLS session that authenticated no device (a certificate
		 * suite without client authentication) must never reach the
		 * service as "no identity", which means a plain-CoAP lab. */
		static const char msg[] = "no device identity authenticated";
		resp->code = EIM_SVC_FORBIDDEN;
		eim_buf_append(&resp->body, msg, sizeof(msg) - 1);
		eim_warn("refused a request over DTLS without a device "
			 "identity");
		return resp->body.err;
	}
	if (req->peer_user && req->identity_len) {
		switch (eim_dtls_session_identity_kind(req->peer_user)) {
		case EIM_DTLS_ID_PSK:
			peer.kind = EIM_STORE_CRED_PSK;
			break;
		case EIM_DTLS_ID_CERT:
			peer.kind = EIM_STORE_CRED_CERT;
			break;
		case EIM_DTLS_ID_RPK:
			peer.kind = EIM_STORE_CRED_RPK;
			break;
		default:
			return EIM_EPERM; /* never treat it as "no identity" */
		}
		peer.ident = req->identity;
		peer.ident_len = req->identity_len;
	}
	if (req->peer_user) {
		/* The service formats the address only when it logs it or
		 * records a new last-seen address, not on every poll. */
		peer.sa = eim_dtls_session_peer(req->peer_user, &peer.sa_len);
	}
	/* Requests from now to the loop's next turn came in the same
	 * wakeup: the service checks the store for changes by other
	 * processes once for them (see eim/README.md, "The poll cache"). */
	if (!eim_loop_timer_armed(&sv->batch)) {
		eim_service_batch_begin(sv->svc);
		eim_loop_timer_start(sv->loop, &sv->batch, 0);
	}
	int rc = eim_service_handle(sv->svc, &peer, req->body, req->body_len,
				    &resp->body, &code);
	if (rc)
		return rc;
	resp->code = code;
	return 0;
}

static void eim__expire(struct eim_loop *l, void *ctx)
{
	struct eim__serve *sv = ctx;
	size_t n = 0;

	if (eim_store_expire(sv->store, &n) == 0 && n)
		eim_info("%zu package(s) passed their validity and expired", n);
	eim_loop_timer_start(l, &sv->expiry,
			     eim_loop_now(l) + EIM__EXPIRY_PERIOD_MS);
}

/* The loop turned: the next request starts a new batch (nothing to do
 * until then; the handler re-arms this timer). */
static void eim__batch_end(struct eim_loop *l, void *ctx)
{
	(void)l;
	(void)ctx;
}

/* Writes the last-seen records and delivery attempts kept in memory. */
static void eim__flush(struct eim_loop *l, void *ctx)
{
	struct eim__serve *sv = ctx;

	if (eim_service_flush(sv->svc))
		eim_debug("flush: %s", eim_store_errmsg(sv->store));
	eim_loop_timer_start(l, &sv->flush,
			     eim_loop_now(l) + EIM__FLUSH_PERIOD_MS);
}

/*
 * One log line of counters, for operators and for tests that must see
 * what the transport dropped: the service's, then every DTLS counter that
 * is not zero (drop reasons included), as name=value pairs.
 */
static void eim__log_stats(struct eim__serve *sv, const char *why)
{
	struct eim_service_stats st;
	char dtls[1024] = "";

	eim_service_stats(sv->svc, &st);
	if (sv->coaps) {
		struct eim_dtls_server_stats d;
		struct eim_dtls_server *srv =
			eim_coap_dtls_server_engine(sv->coaps);
		eim_dtls_server_stats(srv, &d);
		const struct {
			const char *name;
			uint64_t v;
		} f[] = {
			{"sessions", d.sessions},
			{"handshaking", d.handshaking},
			{"datagrams", d.datagrams},
			{"hello_verify_sent", d.hello_verify_sent},
			{"handshakes_completed", d.handshakes_completed},
			{"handshakes_failed", d.handshakes_failed},
			{"handshakes_refused", d.handshakes_refused},
			{"handshakes_evicted", d.handshakes_evicted},
			{"client_auth_failed", d.client_auth_failed},
			{"cookie_bad", d.cookie_bad},
			{"hello_malformed", d.hello_malformed},
			{"records_malformed", d.records_malformed},
			{"records_no_session", d.records_no_session},
			{"records_bad_epoch", d.records_bad_epoch},
			{"records_replayed", d.records_replayed},
			{"records_auth_failed", d.records_auth_failed},
			{"records_unexpected", d.records_unexpected},
			{"renegotiation_refused", d.renegotiation_refused},
			{"retransmissions", d.retransmissions},
			{"sessions_idle_evicted", d.sessions_idle_evicted},
			{"address_changes", d.address_changes},
			{"addresses_displaced", d.addresses_displaced},
			{"send_errors", d.send_errors},
		};
		size_t off = (size_t)snprintf(dtls, sizeof(dtls), "; dtls");
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			/* the current-state gauges always, counters if set */
			if (f[i].v == 0 && i >= 2)
				continue;
			int n = snprintf(dtls + off, sizeof(dtls) - off,
					 " %s=%llu", f[i].name,
					 (unsigned long long)f[i].v);
			if (n < 0 || (size_t)n >= sizeof(dtls) - off)
				break;
			off += (size_t)n;
		}
	}
	eim_info("stats (%s): requests=%llu packages_sent=%llu no_package=%llu "
		 "results=%llu notifications=%llu forbidden=%llu "
		 "malformed=%llu cache_hits=%llu cache_slots=%llu "
		 "seen_slots=%llu%s",
		 why, (unsigned long long)st.requests,
		 (unsigned long long)st.packages_sent,
		 (unsigned long long)st.no_package,
		 (unsigned long long)st.results,
		 (unsigned long long)st.notifications,
		 (unsigned long long)st.forbidden,
		 (unsigned long long)st.malformed,
		 (unsigned long long)st.cache_hits,
		 (unsigned long long)st.cache_slots,
		 (unsigned long long)st.seen_slots, dtls);
}

static void eim__stats(struct eim_loop *l, void *ctx)
{
	struct eim__serve *sv = ctx;

	eim__log_stats(sv, "periodic");
	eim_loop_timer_start(l, &sv->stats,
			     eim_loop_now(l) + sv->stats_period_ms);
}

static int eim__load_ci(const char *const *paths, size_t n,
			struct eim_cert_store **ret)
{
	struct eim_cert_store *cs = NULL;
	int rc;

	if (n == 0)
		return EIM_EXIT_OK;
	if (eim_cert_store_new(&cs))
		return eim_cli_fail("serve", "out of memory");
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		if ((rc = eim_cli_read_file("serve", paths[i], &buf, &len))) {
			eim_cert_store_free(cs);
			return rc;
		}
		int e = eim_cert_store_add_ci(cs, buf, len);
		eim_free(buf);
		if (e) {
			eim_cert_store_free(cs);
			return eim_cli_fail("serve",
					    "--ci-root %s: not a usable CA "
					    "certificate (%s)",
					    paths[i], eim_strerror(e));
		}
	}
	*ret = cs;
	return EIM_EXIT_OK;
}

int eim_cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"coap", required_argument, NULL, 'p'},
		{"log-level", required_argument, NULL, 'L'},
		{"require-verified-results", no_argument, NULL, 'r'},
		{"ci-root", required_argument, NULL, 'C'},
		{"dtls-cert", required_argument, NULL, 'T'},
		{"dtls-key", required_argument, NULL, 'K'},
		{"dtls-client-ca", required_argument, NULL, 'A'},
		{"dtls-allow-expired-pins", no_argument, NULL, 'E'},
		{"stats-interval", required_argument, NULL, 'S'},
		{NULL, 0, NULL, 0},
	};
	struct eim_config cfg;
	struct eim__serve sv;
	struct eim_json_err err = {{0}};
	const char *config = NULL, *db = NULL, *listen = NULL, *coap = NULL,
		   *level = NULL;
	/* DTLS credentials from the command line (override the file) */
	const char *dtls_cert = NULL, *dtls_key = NULL, *dtls_ca = NULL;
	bool allow_expired_pins = false;
	const char *stats_interval = NULL;
	const char *ci_paths[EIM__MAX_CI];
	size_t n_ci = 0;
	bool require_verified = false;
	int c, rc;

	memset(&sv, 0, sizeof(sv));
	eim_loop_timer_init(&sv.expiry, eim__expire, &sv);
	eim_loop_timer_init(&sv.batch, eim__batch_end, &sv);
	eim_loop_timer_init(&sv.flush, eim__flush, &sv);
	eim_loop_timer_init(&sv.stats, eim__stats, &sv);
	while ((c = eim_cli_getopt("serve", argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'p':
			coap = optarg;
			break;
		case 'L':
			level = optarg;
			break;
		case 'r':
			require_verified = true;
			break;
		case 'T':
			dtls_cert = optarg;
			break;
		case 'K':
			dtls_key = optarg;
			break;
		case 'A':
			dtls_ca = optarg;
			break;
		case 'E':
			allow_expired_pins = true;
			break;
		case 'S':
			stats_interval = optarg;
			break;
		case 'C':
			if (n_ci == EIM__MAX_CI)
				return eim_cli_usage_error(
					"serve", "at most %d --ci-root files",
					EIM__MAX_CI);
			ci_paths[n_ci++] = optarg;
			break;
		default:
			return EIM_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return eim_cli_usage_error("serve", "unexpected argument '%s'",
					   argv[optind]);
	if (eim_config_init(&cfg))
		return eim_cli_fail("serve", "out of memory");
	rc = EIM_EXIT_USAGE;
	/* Precedence: defaults < $EIM_DB < config file < command line. */
	if (getenv("EIM_DB") && *getenv("EIM_DB") &&
	    eim_config_set_str(&cfg.db_path, getenv("EIM_DB"))) {
		rc = eim_cli_fail("serve", "out of memory");
		goto out;
	}
	if (config && eim_config_load_file(&cfg, config, &err)) {
		rc = eim_cli_fail("serve", "%s", err.msg);
		goto out;
	}
	if ((db && eim_config_set_str(&cfg.db_path, db)) ||
	    (listen && eim_config_set_str(&cfg.listen, listen)) ||
	    (coap && eim_config_set_str(&cfg.coap, coap)) ||
	    (dtls_cert &&
	     eim_config_set_str(&cfg.dtls.certificate, dtls_cert)) ||
	    (dtls_key && eim_config_set_str(&cfg.dtls.private_key, dtls_key)) ||
	    (dtls_ca && eim_config_set_str(&cfg.dtls.client_ca, dtls_ca))) {
		rc = eim_cli_fail("serve", "out of memory");
		goto out;
	}
	if (level && eim_log_level_parse(level, &cfg.log_level)) {
		rc = eim_cli_usage_error(
			"serve",
			"--log-level '%s' is not one of error, "
			"warn, info, debug",
			level);
		goto out;
	}
	if (require_verified)
		cfg.require_verified_results = true;
	if (allow_expired_pins)
		cfg.dtls.pinned_allow_expired = true;
	if (stats_interval) {
		char *end = NULL;
		long v = strtol(stats_interval, &end, 10);
		if (!*stats_interval || *end || v < 0 || v > 86400) {
			rc = eim_cli_usage_error(
				"serve",
				"--stats-interval '%s' must be "
				"0 to 86400 (seconds)",
				stats_interval);
			goto out;
		}
		cfg.stats_interval_s = v;
	}
	if (listen && *listen && eim_config_check_addr(listen)) {
		rc = eim_cli_usage_error("serve",
					 "--listen '%s' is not ADDRESS:PORT "
					 "with a numeric address",
					 listen);
		goto out;
	}
	if (coap && eim_config_check_addr(coap)) {
		rc = eim_cli_usage_error("serve",
					 "--coap '%s' is not ADDRESS:PORT with "
					 "a numeric address (e.g. "
					 "127.0.0.1:5683)",
					 coap);
		goto out;
	}
	eim_log_set_level(cfg.log_level);
	if (!cfg.coap && !cfg.listen[0]) {
		rc = eim_cli_usage_error("serve",
					 "nothing to listen on: --listen is "
					 "empty and --coap is not given");
		goto out;
	}
	if ((rc = eim__load_ci(ci_paths, n_ci, &sv.ci)))
		goto out;

	struct eim_store_options so;
	eim_store_options_init(&so);
	so.synchronous =
		cfg.sync_full ? EIM_STORE_SYNC_FULL : EIM_STORE_SYNC_NORMAL;
	so.counter_warn = (uint32_t)cfg.counter_warning;
	so.actor = "server";
	if ((rc = eim_cli_open_store("serve", cfg.db_path, false, &sv.store)))
		goto out;
	/* (eim_cli_open_store used the defaults: reopen with ours.) */
	eim_store_close(sv.store);
	sv.store = NULL;
	if (eim_store_open(cfg.db_path, &so, &sv.store)) {
		rc = eim_cli_fail("serve", "%s", eim_store_open_errmsg());
		goto out;
	}
	struct eim_service_config scfg = {
		.require_verified_results = cfg.require_verified_results,
		.refresh_on_state_change = cfg.refresh_on_state_change,
		.ci = sv.ci,
		.batched = true,
	};
	rc = EIM_EXIT_FAIL;
	if (eim_service_new(sv.store, &scfg, &sv.svc) ||
	    eim_loop_new(&sv.loop)) {
		eim_cli_fail("serve", "out of memory");
		goto out;
	}
	const struct eim_coap_route routes[] = {
		{EIM_COAP_POST, "/gsma/rsp2/asn1", eim__esipa_handler, &sv},
	};
	if (eim_coap_server_new(NULL, routes, 1, &sv.coap)) {
		eim_cli_fail("serve", "cannot start the CoAP engine");
		goto out;
	}
	int e;
	char where[96];
	/* Signals are caught before anyone is told we listen: a SIGTERM sent
	 * right after the first line must stop us cleanly, not kill us. */
	if (eim_loop_catch_signals(sv.loop)) {
		eim_cli_fail("serve", "cannot catch SIGINT/SIGTERM");
		goto out;
	}
	if (cfg.listen[0]) {
		if ((rc = eim__start_dtls(&sv, &cfg)))
			goto out;
		rc = EIM_EXIT_FAIL;
		eim__where(cfg.listen, eim_coap_dtls_server_port(sv.coaps),
			   where, sizeof(where));
		/* The first lines of stdout say where we listen (scripts and
		 * tests read them). */
		printf("eim serve: coaps (DTLS 1.2, devices by PSK%s) on %s, "
		       "database %s\n",
		       cfg.dtls.private_key ? ", certificate or raw key" : "",
		       where, cfg.db_path);
		eim_info("serving coaps://%s/gsma/rsp2/asn1", where);
	}
	if (cfg.coap) {
		e = eim_coap_udp_server_new(sv.loop, cfg.coap, sv.coap,
					    &sv.coap_udp);
		if (e) {
			eim_cli_fail("serve", "cannot listen on %s: %s",
				     cfg.coap,
				     e == EIM_EIO ? strerror(errno)
						  : eim_strerror(e));
			goto out;
		}
		eim__where(cfg.coap, eim_coap_udp_server_port(sv.coap_udp),
			   where, sizeof(where));
		printf("eim serve: plain CoAP on %s (no authentication: lab "
		       "use only), database %s\n",
		       where, cfg.db_path);
		eim_info("serving coap://%s/gsma/rsp2/asn1", where);
	}
	fflush(stdout);
	eim__expire(sv.loop, &sv);
	eim_loop_timer_start(sv.loop, &sv.flush,
			     eim_loop_now(sv.loop) + EIM__FLUSH_PERIOD_MS);
	sv.stats_period_ms = (uint64_t)cfg.stats_interval_s * 1000;
	if (sv.stats_period_ms)
		eim_loop_timer_start(sv.loop, &sv.stats,
				     eim_loop_now(sv.loop) +
					     sv.stats_period_ms);

	e = eim_loop_run(sv.loop);
	if (eim_service_flush(sv.svc))
		eim_warn("could not write last-seen times and delivery "
			 "attempts: %s",
			 eim_store_errmsg(sv.store));
	eim__log_stats(&sv, "at stop");
	struct eim_service_stats st;
	eim_service_stats(sv.svc, &st);
	eim_info("stopping (signal %d): %llu requests, %llu packages sent, "
		 "%llu results, %llu forbidden, %llu malformed",
		 eim_loop_stop_signal(sv.loop), (unsigned long long)st.requests,
		 (unsigned long long)st.packages_sent,
		 (unsigned long long)st.results,
		 (unsigned long long)st.forbidden,
		 (unsigned long long)st.malformed);
	rc = e ? eim_cli_fail("serve", "event loop failed: %s", eim_strerror(e))
	       : EIM_EXIT_OK;
out:
	if (sv.loop) {
		eim_loop_timer_stop(sv.loop, &sv.expiry);
		eim_loop_timer_stop(sv.loop, &sv.batch);
		eim_loop_timer_stop(sv.loop, &sv.flush);
		eim_loop_timer_stop(sv.loop, &sv.stats);
	}
	eim_coap_dtls_server_free(sv.coaps);
	eim_coap_udp_server_free(sv.coap_udp);
	if (sv.keylog)
		fclose(sv.keylog);
	eim_coap_server_free(sv.coap);
	eim_loop_free(sv.loop);
	eim_service_free(sv.svc);
	eim_store_close(sv.store);
	eim_cert_store_free(sv.ci);
	eim_config_done(&cfg);
	return rc;
}
