/*
 * cmd_export.c - `eim export-initial-eim`: what a factory or an IPA loads
 * onto a fresh eUICC so that it trusts this eIM (ES10b AddInitialEim, not
 * sent over ESipa), and the EimConfigurationData another eIM puts in an
 * addEim to associate this one.
 *
 * The EimConfigurationData is built by the same code as the add-eim
 * operation of `eim submit` (eim_ops), from the identity's public key or
 * certificate and the options given here.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim/cli_util.h"
#include "eim/eim_ops.h"
#include "eim/eim_signer.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int eim__write_file(const char *path, const struct eim_buf *b)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return eim_cli_fail("export-initial-eim", "%s: %s", path,
				    strerror(errno));
	if (write(fd, b->p, b->len) != (ssize_t)b->len || close(fd) != 0)
		return eim_cli_fail("export-initial-eim", "%s: %s", path,
				    strerror(errno));
	return EIM_EXIT_OK;
}

int eim_cmd_export(int argc, char **argv)
{
	static const char *cmd = "export-initial-eim";
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"identity", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"config-out", required_argument, NULL, 'O'},
		{"fqdn", required_argument, NULL, 'f'},
		{"id-type", required_argument, NULL, 't'},
		{"counter", required_argument, NULL, 'c'},
		{"association-token", required_argument, NULL, 'a'},
		{"protocols", required_argument, NULL, 'p'},
		{"tls-certificate", required_argument, NULL, 'T'},
		{"tls-public-key", required_argument, NULL, 'K'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *ident = NULL, *out = NULL, *cfg_out = NULL;
	struct eim_store *s = NULL;
	struct eim_ops ops;
	struct eim_json_err err = {{0}};
	struct eim_buf req, cfg;
	bool json = false, ops_init = false;
	int c, rc;
	cJSON *op = cJSON_CreateObject();

	eim_buf_init(&req);
	eim_buf_init(&cfg);
	if (!op)
		return eim_cli_fail(cmd, "out of memory");
	cJSON_AddStringToObject(op, "op", "add-eim");
	while ((c = eim_cli_getopt(cmd, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'i':
			ident = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'O':
			cfg_out = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'f':
			cJSON_AddStringToObject(op, "fqdn", optarg);
			break;
		case 't':
			cJSON_AddStringToObject(op, "id_type", optarg);
			break;
		case 'a':
			cJSON_AddStringToObject(op, "association_token",
						optarg);
			break;
		case 'p':
			cJSON_AddStringToObject(op, "protocols", optarg);
			break;
		case 'T':
			cJSON_AddStringToObject(op, "tls_certificate", optarg);
			break;
		case 'K':
			cJSON_AddStringToObject(op, "tls_public_key", optarg);
			break;
		case 'c': {
			int64_t v;
			if ((rc = eim_cli_parse_int(cmd, "--counter", optarg, 0,
						    8388606, &v)))
				goto out;
			cJSON_AddNumberToObject(op, "counter", (double)v);
			break;
		}
		default:
			rc = EIM_EXIT_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		rc = eim_cli_usage_error(cmd, "unexpected argument '%s'",
					 argv[optind]);
		goto out;
	}
	if (!ident) {
		rc = eim_cli_usage_error(cmd, "--identity is required");
		goto out;
	}
	cJSON_AddStringToObject(op, "identity", ident);
	if (!cJSON_GetObjectItem(op, "counter"))
		cJSON_AddNumberToObject(op, "counter", 0);
	if ((rc = eim_cli_open_store(cmd, eim_cli_db_path(db), false, &s)))
		goto out;
	if (eim_ops_init(&ops)) {
		rc = eim_cli_fail(cmd, "out of memory");
		goto out;
	}
	ops_init = true;
	ops.identity_fn = eim_signer_identity_pub;
	ops.identity_ctx = s;
	if (eim_ops_add_json(&ops, op, "export", &err)) {
		/* "export.identity: ..." -> "--identity: ..." */
		const char *m = strncmp(err.msg, "export.", 7) == 0
					? err.msg + 7
					: err.msg;
		rc = eim_cli_fail(cmd, "--%s", m);
		goto out;
	}
	struct eim_add_initial_req air;
	memset(&air, 0, sizeof(air));
	air.n = 1;
	air.cfg[0] = ops.eco[0].cfg;
	if (eim_add_initial_req_encode(&air, &req) ||
	    eim_pkg_encode_config(&ops.eco[0].cfg, 0x30, &cfg)) {
		rc = eim_cli_fail(cmd, "cannot encode the configuration");
		goto out;
	}
	if (out && (rc = eim__write_file(out, &req)))
		goto out;
	if (cfg_out && (rc = eim__write_file(cfg_out, &cfg)))
		goto out;
	char *h1 = eim_malloc(2 * req.len + 1),
	     *h2 = eim_malloc(2 * cfg.len + 1);
	if (!h1 || !h2) {
		eim_free(h1);
		eim_free(h2);
		rc = eim_cli_fail(cmd, "out of memory");
		goto out;
	}
	eim_hex_encode(req.p, req.len, h1);
	eim_hex_encode(cfg.p, cfg.len, h2);
	if (json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "eim_id", ident);
		cJSON_AddNumberToObject(o, "counter",
					cJSON_GetObjectItem(op, "counter")
						->valuedouble);
		cJSON_AddStringToObject(o, "add_initial_eim_request", h1);
		cJSON_AddStringToObject(o, "eim_configuration_data", h2);
		rc = eim_cli_print_json(cmd, o);
	} else {
		printf("AddInitialEimRequest (ES10b, for the factory or the "
		       "IPA)%s%s:\n%s\n",
		       out ? ", written to " : "", out ? out : "", h1);
		printf("EimConfigurationData (for an addEim by another "
		       "eIM)%s%s:\n%s\n",
		       cfg_out ? ", written to " : "", cfg_out ? cfg_out : "",
		       h2);
		rc = EIM_EXIT_OK;
	}
	eim_free(h1);
	eim_free(h2);
out:
	if (ops_init)
		eim_ops_done(&ops);
	cJSON_Delete(op);
	eim_buf_done(&req);
	eim_buf_done(&cfg);
	eim_store_close(s);
	return rc;
}
