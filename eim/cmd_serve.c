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
#include "transport/eim_coap_udp.h"
#include "transport/eim_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define EIM__EXPIRY_PERIOD_MS 60000
#define EIM__MAX_CI 8

struct eim__serve {
	struct eim_loop *loop;
	struct eim_store *store;
	struct eim_service *svc;
	struct eim_coap_server *coap;
	struct eim_coap_udp_server *coap_udp;
	struct eim_loop_timer expiry;
	struct eim_cert_store *ci;
};

/* The CoAP route: one ESipa request. */
static int eim__esipa_handler(void *ctx, const struct eim_coap_request *req,
			      struct eim_coap_response *resp)
{
	struct eim__serve *sv = ctx;
	struct eim_service_peer peer = {0};
	uint8_t code = 0;

	/* Plain CoAP carries no identity; the DTLS transport will fill
	 * kind/ident from the session. */
	if (req->identity_len) {
		peer.kind = EIM_STORE_CRED_PSK;
		peer.ident = req->identity;
		peer.ident_len = req->identity_len;
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
		{NULL, 0, NULL, 0},
	};
	struct eim_config cfg;
	struct eim__serve sv;
	struct eim_json_err err = {{0}};
	const char *config = NULL, *db = NULL, *listen = NULL, *coap = NULL,
		   *level = NULL;
	const char *ci_paths[EIM__MAX_CI];
	size_t n_ci = 0;
	bool require_verified = false;
	int c, rc;

	memset(&sv, 0, sizeof(sv));
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
	if (config && eim_config_load_file(&cfg, config, &err)) {
		rc = eim_cli_fail("serve", "%s", err.msg);
		goto out;
	}
	if ((db && eim_config_set_str(&cfg.db_path, db)) ||
	    (listen && eim_config_set_str(&cfg.listen, listen)) ||
	    (coap && eim_config_set_str(&cfg.coap, coap))) {
		rc = eim_cli_fail("serve", "out of memory");
		goto out;
	}
	if (!db && !config)
		eim_config_set_str(&cfg.db_path, eim_cli_db_path(NULL));
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
	if (!cfg.coap) {
		/* DTLS (transport/eim_dtls_*) is not wired into the server
		 * yet: say so instead of listening on nothing. */
		rc = eim_cli_fail("serve",
				  "DTLS on %s is not available in this build "
				  "yet; serve plain CoAP for a lab with --coap "
				  "ADDRESS:PORT",
				  cfg.listen);
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
	int e = eim_coap_udp_server_new(sv.loop, cfg.coap, sv.coap,
					&sv.coap_udp);
	if (e) {
		eim_cli_fail("serve", "cannot listen on %s: %s", cfg.coap,
			     e == EIM_EIO ? strerror(errno) : eim_strerror(e));
		goto out;
	}
	if (eim_loop_catch_signals(sv.loop)) {
		eim_cli_fail("serve", "cannot catch SIGINT/SIGTERM");
		goto out;
	}
	eim_loop_timer_init(&sv.expiry, eim__expire, &sv);
	eim__expire(sv.loop, &sv);

	/* The first line of stdout says where we listen (scripts read it). */
	char host[64];
	snprintf(host, sizeof(host), "%s", cfg.coap);
	char *colon = strrchr(host, ':');
	if (colon)
		*colon = '\0';
	printf("eim serve: plain CoAP on %s:%d (no authentication: lab use "
	       "only), database %s\n",
	       host, eim_coap_udp_server_port(sv.coap_udp), cfg.db_path);
	fflush(stdout);
	eim_info("serving coap://%s:%d/gsma/rsp2/asn1", host,
		 eim_coap_udp_server_port(sv.coap_udp));

	e = eim_loop_run(sv.loop);
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
	if (sv.loop)
		eim_loop_timer_stop(sv.loop, &sv.expiry);
	eim_coap_udp_server_free(sv.coap_udp);
	eim_coap_server_free(sv.coap);
	eim_loop_free(sv.loop);
	eim_service_free(sv.svc);
	eim_store_close(sv.store);
	eim_cert_store_free(sv.ci);
	eim_config_done(&cfg);
	return rc;
}
