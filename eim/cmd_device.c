/*
 * cmd_device.c - `eim device add|list|show|remove`.
 *
 * A device is an EID plus the DTLS credentials that may act for it (a PSK,
 * a client-certificate fingerprint, or a raw-public-key fingerprint) and its
 * association with the eIM identity that manages it: the counterValue its
 * eUICC was given and, when known, the associationToken and the eUICC
 * certificate chain that results are verified with. Secrets are never
 * printed, not even in error messages.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim/cli_util.h"
#include "proto/eim_ids.h"
#include "proto/eim_sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EIM__MAX_CHAIN 4

struct eim__device_opts {
	const char *db;
	const char *eim_id;
	const char *psk_identity;
	const char *psk_hex;
	const char *cert_fp_hex;
	const char *rpk_path;
	const char *chain[EIM__MAX_CHAIN];
	size_t n_chain;
	int64_t counter;
	bool has_token;
	int64_t token;
};

static int eim__one_identity_cb(void *ctx, const struct eim_store_identity *id)
{
	char **name = ctx;

	if (*name) {
		eim_free(*name);
		*name = NULL;
		return 1; /* more than one */
	}
	*name = eim_strdup(id->eim_id);
	return 0;
}

/* SHA-256 of the SubjectPublicKeyInfo in a PEM/DER key or certificate file. */
static int eim__rpk_fingerprint(const char *cmd, const char *path,
				uint8_t fp[32])
{
	uint8_t *buf = NULL;
	size_t n = 0;
	struct eim_sig_key *k = NULL;
	struct eim_buf spki;
	int rc = eim_cli_read_file(cmd, path, &buf, &n);

	if (rc)
		return rc;
	eim_buf_init(&spki);
	if (eim_sig_key_load(buf, n, &k) != 0) {
		rc = eim_cli_fail(cmd, "--rpk %s: not an EC public key", path);
		goto out;
	}
	if (eim_sig_key_spki(k, &spki) ||
	    wc_Sha256Hash(spki.p, (word32)spki.len, fp) != 0) {
		rc = eim_cli_fail(cmd, "--rpk %s: cannot hash the key", path);
		goto out;
	}
out:
	eim_sig_key_free(k);
	eim_free_secret(buf, n);
	eim_buf_done(&spki);
	return rc;
}

/* Reads --euicc-cert files (PEM or DER) and appends each DER to chain. */
static int eim__read_chain(const char *cmd, const struct eim__device_opts *o,
			   struct eim_buf *chain)
{
	for (size_t i = 0; i < o->n_chain; i++) {
		uint8_t *buf = NULL, *der = NULL;
		size_t n = 0, dlen = 0, llen = 0;
		const char *label = NULL;
		struct eim_sig_key *k = NULL;
		int rc = eim_cli_read_file(cmd, o->chain[i], &buf, &n);

		if (rc)
			return rc;
		if (eim_sig_pem_decode((const char *)buf, n, &label, &llen,
				       &der, &dlen) == 0) {
			if (llen != 11 || memcmp(label, "CERTIFICATE", 11)) {
				eim_free(buf);
				eim_free(der);
				return eim_cli_fail(cmd,
						    "--euicc-cert %s: not a "
						    "certificate",
						    o->chain[i]);
			}
		}
		const uint8_t *d = der ? der : buf;
		size_t dl = der ? dlen : n;
		rc = eim_sig_key_load(d, dl, &k);
		eim_sig_key_free(k);
		if (rc == 0)
			eim_buf_append(chain, d, dl);
		eim_free(buf);
		eim_free(der);
		if (rc)
			return eim_cli_fail(cmd,
					    "--euicc-cert %s: not an EC "
					    "certificate (%s)",
					    o->chain[i], eim_strerror(rc));
	}
	return chain->err ? eim_cli_fail(cmd, "out of memory") : EIM_EXIT_OK;
}

static int eim__device_add(int argc, char **argv)
{
	static const char *cmd = "device add";
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"eim", required_argument, NULL, 'e'},
		{"psk-identity", required_argument, NULL, 'I'},
		{"psk", required_argument, NULL, 'K'},
		{"cert-fingerprint", required_argument, NULL, 'F'},
		{"rpk", required_argument, NULL, 'R'},
		{"counter", required_argument, NULL, 'c'},
		{"association-token", required_argument, NULL, 't'},
		{"euicc-cert", required_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	struct eim__device_opts o;
	struct eim_store_device_new d;
	struct eim_store *s = NULL;
	struct eim_buf chain;
	uint8_t psk[64], cert_fp[32], rpk_fp[32];
	size_t psk_len = 0, fp_len = 0;
	char *default_eim = NULL;
	int c, rc;

	memset(&o, 0, sizeof(o));
	memset(&d, 0, sizeof(d));
	eim_buf_init(&chain);
	while ((c = eim_cli_getopt(cmd, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'd':
			o.db = optarg;
			break;
		case 'e':
			o.eim_id = optarg;
			break;
		case 'I':
			o.psk_identity = optarg;
			break;
		case 'K':
			o.psk_hex = optarg;
			break;
		case 'F':
			o.cert_fp_hex = optarg;
			break;
		case 'R':
			o.rpk_path = optarg;
			break;
		case 'c':
			if ((rc = eim_cli_parse_int(cmd, "--counter", optarg, 0,
						    8388606, &o.counter)))
				return rc;
			break;
		case 't':
			if ((rc = eim_cli_parse_int(cmd, "--association-token",
						    optarg, INT64_MIN + 1,
						    INT64_MAX, &o.token)))
				return rc;
			o.has_token = true;
			break;
		case 'C':
			if (o.n_chain == EIM__MAX_CHAIN)
				return eim_cli_usage_error(
					cmd, "at most %d --euicc-cert files",
					EIM__MAX_CHAIN);
			o.chain[o.n_chain++] = optarg;
			break;
		default:
			return EIM_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return eim_cli_usage_error(cmd, "give exactly one EID");
	if ((rc = eim_cli_parse_eid(cmd, argv[optind], d.eid)))
		return rc;
	if (!o.psk_identity && !o.cert_fp_hex && !o.rpk_path)
		return eim_cli_usage_error(
			cmd,
			"give the device's DTLS credential: --psk-identity "
			"ID --psk HEX, --cert-fingerprint SHA256 or --rpk "
			"PEMFILE");
	if (!o.psk_identity != !o.psk_hex)
		return eim_cli_usage_error(
			cmd, "--psk-identity and --psk go together");
	if (o.psk_identity) {
		size_t n = strlen(o.psk_identity);
		if (!eim_cli_text_ok(o.psk_identity, 128))
			return eim_cli_usage_error(
				cmd, "--psk-identity must be 1 to 128 bytes "
				     "(UTF-8, no control characters)");
		/* The PSK itself is never echoed, even when malformed. */
		if (eim_hex_decode(o.psk_hex, strlen(o.psk_hex), psk,
				   sizeof(psk), &psk_len) ||
		    psk_len < 16)
			return eim_cli_usage_error(
				cmd, "--psk must be 16 to 64 bytes in hex");
		d.psk_identity = (const uint8_t *)o.psk_identity;
		d.psk_identity_len = n;
		d.psk_key = psk;
		d.psk_key_len = psk_len;
	}
	if (o.cert_fp_hex) {
		if (eim_hex_decode(o.cert_fp_hex, strlen(o.cert_fp_hex),
				   cert_fp, sizeof(cert_fp), &fp_len) ||
		    fp_len != 32) {
			rc = eim_cli_usage_error(
				cmd,
				"--cert-fingerprint '%s' must be a SHA-256 "
				"(64 hex digits, ':' allowed)",
				o.cert_fp_hex);
			goto out;
		}
		d.cert_fp = cert_fp;
	}
	if (o.rpk_path) {
		if ((rc = eim__rpk_fingerprint(cmd, o.rpk_path, rpk_fp)))
			goto out;
		d.rpk_fp = rpk_fp;
	}
	if ((rc = eim__read_chain(cmd, &o, &chain)))
		goto out;
	if ((rc = eim_cli_open_store(cmd, eim_cli_db_path(o.db), false, &s)))
		goto out;
	if (!o.eim_id) {
		int e = eim_store_identity_list(s, NULL, eim__one_identity_cb,
						&default_eim);
		if (e == 1 || !default_eim) {
			rc = eim_cli_usage_error(
				cmd,
				e == 1 ? "several eIM identities: choose "
					 "one with --eim"
				       : "no eIM identity: run 'eim init'");
			goto out;
		}
		o.eim_id = default_eim;
	}
	d.eim_id = o.eim_id;
	d.initial_counter = (uint32_t)o.counter;
	d.has_association_token = o.has_token;
	d.association_token = o.token;
	d.euicc_chain = chain.len ? chain.p : NULL;
	d.euicc_chain_len = chain.len;
	if (eim_store_device_add(s, &d) != 0) {
		rc = eim_cli_fail(cmd, "%s", eim_store_errmsg(s));
		goto out;
	}
	printf("device %s added (eIM '%s', counter %lld)\n", argv[optind],
	       o.eim_id, (long long)o.counter);
	rc = EIM_EXIT_OK;
out:
	eim_wipe(psk, sizeof(psk));
	eim_free(default_eim);
	eim_buf_done(&chain);
	eim_store_close(s);
	return rc;
}

/* ---- list / show --------------------------------------------------------- */

struct eim__dev_print {
	bool json, detail;
	cJSON *arr;
};

static const char *eim__cred_kind(const struct eim_store_device *d)
{
	if (d->psk_identity)
		return "psk";
	if (d->has_cert_fp)
		return "certificate";
	if (d->has_rpk_fp)
		return "raw-public-key";
	return "none";
}

static cJSON *eim__device_json(const struct eim_store_device *d)
{
	cJSON *o = cJSON_CreateObject();

	eim_cli_json_eid(o, "eid", d->eid);
	cJSON_AddStringToObject(o, "eim_id", d->eim_id);
	cJSON_AddNumberToObject(o, "counter", d->counter);
	if (d->has_association_token)
		cJSON_AddNumberToObject(o, "association_token",
					(double)d->association_token);
	else
		cJSON_AddNullToObject(o, "association_token");
	cJSON *cred = cJSON_AddObjectToObject(o, "credentials");
	if (d->psk_identity) {
		char *id = eim_malloc(d->psk_identity_len + 1);
		if (id) {
			memcpy(id, d->psk_identity, d->psk_identity_len);
			id[d->psk_identity_len] = 0;
			cJSON_AddStringToObject(cred, "psk_identity", id);
			eim_free(id);
		}
	}
	if (d->has_cert_fp)
		eim_cli_json_hex(cred, "cert_fingerprint", d->cert_fp, 32);
	if (d->has_rpk_fp)
		eim_cli_json_hex(cred, "rpk_fingerprint", d->rpk_fp, 32);
	cJSON_AddNumberToObject(o, "pending", (double)d->pending);
	eim_cli_json_time(o, "created", d->created_ms);
	eim_cli_json_time(o, "last_seen", d->last_seen_ms);
	if (d->last_addr)
		cJSON_AddStringToObject(o, "last_address", d->last_addr);
	else
		cJSON_AddNullToObject(o, "last_address");
	if (d->last_seq >= 0)
		cJSON_AddNumberToObject(o, "last_seq_number",
					(double)d->last_seq);
	else
		cJSON_AddNullToObject(o, "last_seq_number");
	cJSON *el = d->eim_list ? cJSON_Parse(d->eim_list) : NULL;
	cJSON *pl = d->profile_list ? cJSON_Parse(d->profile_list) : NULL;
	cJSON_AddItemToObject(o, "eim_list", el ? el : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "profiles", pl ? pl : cJSON_CreateNull());
	return o;
}

static int eim__device_cb(void *ctx, const struct eim_store_device *d)
{
	struct eim__dev_print *p = ctx;
	char eid[33], seen[32];

	if (p->json) {
		cJSON_AddItemToArray(p->arr, eim__device_json(d));
		return 0;
	}
	eim_store_eid_format(d->eid, eid);
	if (!p->detail) {
		printf("%s  %-20s %-14s counter %-7u pending %-4llu seen %s\n",
		       eid, d->eim_id, eim__cred_kind(d), d->counter,
		       (unsigned long long)d->pending,
		       d->last_seen_ms ? eim_cli_time(d->last_seen_ms, seen)
				       : "never");
		return 0;
	}
	printf("EID:          %s\n", eid);
	printf("eIM:          %s\n", d->eim_id);
	printf("credential:   %s\n", eim__cred_kind(d));
	if (d->psk_identity)
		printf("PSK identity: %.*s\n", (int)d->psk_identity_len,
		       (const char *)d->psk_identity);
	printf("counter:      %u (next package: %u)\n", d->counter,
	       d->counter + 1);
	if (d->has_association_token)
		printf("assoc. token: %lld\n", (long long)d->association_token);
	printf("pending:      %llu\n", (unsigned long long)d->pending);
	printf("last seen:    %s%s%s\n",
	       d->last_seen_ms ? eim_cli_time(d->last_seen_ms, seen) : "never",
	       d->last_addr ? " from " : "", d->last_addr ? d->last_addr : "");
	printf("eIM list:     %s\n", d->eim_list ? d->eim_list : "unknown");
	printf("profiles:     %s\n",
	       d->profile_list ? d->profile_list : "unknown");
	return 0;
}

static int eim__device_list(const char *cmd, int argc, char **argv, bool one)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct eim__dev_print p = {false, one, NULL};
	const char *db = NULL;
	struct eim_store *s = NULL;
	uint8_t eid[16];
	int c, rc;

	while ((c = eim_cli_getopt(cmd, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'j':
			p.json = true;
			break;
		default:
			return EIM_EXIT_USAGE;
		}
	}
	if (one) {
		if (optind != argc - 1)
			return eim_cli_usage_error(cmd, "give exactly one EID");
		if ((rc = eim_cli_parse_eid(cmd, argv[optind], eid)))
			return rc;
	} else if (optind < argc) {
		return eim_cli_usage_error(cmd, "unexpected argument '%s'",
					   argv[optind]);
	}
	if ((rc = eim_cli_open_store(cmd, eim_cli_db_path(db), false, &s)))
		return rc;
	p.arr = p.json ? cJSON_CreateArray() : NULL;
	int e = eim_store_device_list(s, one ? eid : NULL, eim__device_cb, &p);
	if (e == EIM_ENOTFOUND)
		rc = eim_cli_fail(cmd, "no device %s", argv[optind]);
	else if (e)
		rc = eim_cli_fail(cmd, "%s", eim_store_errmsg(s));
	else if (p.json)
		rc = eim_cli_print_json(cmd,
					one ? cJSON_DetachItemFromArray(p.arr,
									0)
					    : p.arr);
	if (p.json && (rc || one))
		cJSON_Delete(p.arr);
	eim_store_close(s);
	return rc;
}

static int eim__device_remove(int argc, char **argv)
{
	static const char *cmd = "device remove";
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	bool force = false;
	struct eim_store *s = NULL;
	uint8_t eid[16];
	char counters[512];
	int c, rc;

	while ((c = eim_cli_getopt(cmd, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'f':
			force = true;
			break;
		default:
			return EIM_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return eim_cli_usage_error(cmd, "give exactly one EID");
	if ((rc = eim_cli_parse_eid(cmd, argv[optind], eid)))
		return rc;
	if ((rc = eim_cli_open_store(cmd, eim_cli_db_path(db), false, &s)))
		return rc;
	int e = eim_store_device_remove(s, eid, force, counters,
					sizeof(counters));
	if (e == EIM_ENOTFOUND)
		rc = eim_cli_fail(cmd, "no device %s", argv[optind]);
	else if (e == EIM_ESTATE)
		rc = eim_cli_fail(cmd, "%s",
				  "a package was delivered to this device and "
				  "awaits its result; removing it would lose "
				  "that result (use --force to remove anyway)");
	else if (e)
		rc = eim_cli_fail(cmd, "%s", eim_store_errmsg(s));
	else
		printf("device %s removed; its eUICC still holds %s: add it "
		       "again with a --counter at least that high\n",
		       argv[optind], counters[0] ? counters : "no counter");
	eim_store_close(s);
	return rc;
}

/* One parsed line of an import file; the PSK bytes live here. */
struct eim__import_row {
	uint8_t psk[64];
	size_t psk_len;
	char psk_id[129];
	uint8_t *chain; /* DER certificates from the optional 5th column */
	size_t chain_len;
};

/* Appends the DER of every CERTIFICATE block of a PEM text to out. */
static int eim__pem_chain(const char *text, size_t n, struct eim_buf *out)
{
	static const char end_marker[] = "-----END CERTIFICATE-----";
	const char *p = text, *stop = text + n;
	int found = 0;

	while (p < stop) {
		const char *label;
		size_t ll, dl;
		uint8_t *der = NULL;
		if (eim_sig_pem_decode(p, (size_t)(stop - p), &label, &ll, &der,
				       &dl) != 0)
			break;
		if (ll == 11 && memcmp(label, "CERTIFICATE", 11) == 0) {
			eim_buf_append(out, der, dl);
			found++;
		}
		eim_free(der);
		const char *e = strstr(label, "-----END ");
		if (!e)
			break;
		p = e + sizeof(end_marker) - 1;
	}
	return found ? out->err : EIM_ENOTFOUND;
}

static void eim__import_progress(void *ctx, size_t done, size_t total)
{
	(void)ctx;
	fprintf(stderr, "\rimported %zu/%zu", done, total);
	if (done == total)
		fputc('\n', stderr);
}

/*
 * `eim device import FILE`: one device per line, "EID,PSK_IDENTITY,PSK_HEX"
 * with an optional ",COUNTER"; blank lines and '#' comments are skipped.
 * Every line is checked before anything is written; then the devices are
 * added in transactions of 1,000.
 */
static int eim__device_import(int argc, char **argv)
{
	static const char *cmd = "device import";
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"eim", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *eim_id = NULL;
	struct eim_store *s = NULL;
	struct eim_store_device_new *devs = NULL;
	struct eim__import_row *rows = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, n = 0, cap = 0, line = 0, done = 0;
	char *default_eim = NULL;
	int c, rc;

	while ((c = eim_cli_getopt(cmd, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'e':
			eim_id = optarg;
			break;
		default:
			return EIM_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return eim_cli_usage_error(cmd, "give one FILE (- for stdin)");
	const char *path = argv[optind];
	if ((rc = eim_cli_read_file(cmd, path, &buf, &len)))
		return rc;
	for (char *p = (char *)buf, *nl; p && *p; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		line++;
		char *h = strchr(p, '#');
		if (h)
			*h = '\0';
		char *f[5] = {NULL};
		int nf = 0;
		for (char *t = strtok(p, ", \t\r"); t && nf < 5;
		     t = strtok(NULL, ", \t\r"))
			f[nf++] = t;
		if (nf == 0)
			continue;
		if (nf < 3) {
			rc = eim_cli_fail(cmd,
					  "%s: line %zu: expected EID,"
					  "PSK_IDENTITY,PSK_HEX[,COUNTER[,"
					  "CERTFILE]]",
					  path, line);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			void *a = eim_realloc(devs, cap * sizeof(*devs));
			void *b = a ? eim_realloc(rows, cap * sizeof(*rows))
				    : NULL;
			if (a)
				devs = a;
			if (b)
				rows = b;
			if (!a || !b) {
				rc = eim_cli_fail(cmd, "out of memory");
				goto out;
			}
		}
		struct eim_store_device_new *d = &devs[n];
		struct eim__import_row *r = &rows[n];
		memset(d, 0, sizeof(*d));
		memset(r, 0, sizeof(*r));
		int e = eim_eid_parse(f[0], d->eid);
		if (e) {
			rc = eim_cli_fail(cmd,
					  "%s: line %zu: '%s' is not an "
					  "EID (%s)",
					  path, line, f[0],
					  e == EIM_EVERIFY
						  ? "check digits do not match"
						  : "32 decimal digits");
			goto out;
		}
		if (!eim_cli_text_ok(f[1], 128)) {
			rc = eim_cli_fail(cmd,
					  "%s: line %zu: bad PSK identity (1 "
					  "to 128 bytes of UTF-8, no control "
					  "characters)",
					  path, line);
			goto out;
		}
		snprintf(r->psk_id, sizeof(r->psk_id), "%s", f[1]);
		if (eim_hex_decode(f[2], strlen(f[2]), r->psk, sizeof(r->psk),
				   &r->psk_len) ||
		    r->psk_len < 16) {
			/* never echo the secret */
			rc = eim_cli_fail(cmd,
					  "%s: line %zu: the PSK must be 16 to "
					  "64 bytes in hex",
					  path, line);
			goto out;
		}
		if (f[3]) {
			char *end = NULL;
			long v = strtol(f[3], &end, 10);
			if (*end || v < 0 || v > 8388606) {
				rc = eim_cli_fail(cmd,
						  "%s: line %zu: counter '%s' "
						  "must be 0 to 8388606",
						  path, line, f[3]);
				goto out;
			}
			d->initial_counter = (uint32_t)v;
		}
		if (f[4]) {
			uint8_t *pem = NULL;
			size_t pl = 0;
			struct eim_buf chain;
			if ((rc = eim_cli_read_file(cmd, f[4], &pem, &pl)))
				goto out;
			eim_buf_init(&chain);
			int e2 = eim__pem_chain((const char *)pem, pl, &chain);
			eim_free(pem);
			if (e2) {
				eim_buf_done(&chain);
				rc = eim_cli_fail(cmd,
						  "%s: line %zu: %s holds no "
						  "certificate",
						  path, line, f[4]);
				goto out;
			}
			r->chain = eim_buf_steal(&chain, &r->chain_len);
		}
		n++;
	}
	if (n == 0) {
		rc = eim_cli_fail(cmd, "%s: no devices in the file", path);
		goto out;
	}
	if ((rc = eim_cli_open_store(cmd, eim_cli_db_path(db), false, &s)))
		goto out;
	if (!eim_id) {
		int e = eim_store_identity_list(s, NULL, eim__one_identity_cb,
						&default_eim);
		if (e == 1 || !default_eim) {
			rc = eim_cli_usage_error(
				cmd,
				e == 1 ? "several eIM identities: choose "
					 "one with --eim"
				       : "no eIM identity: run 'eim init'");
			goto out;
		}
		eim_id = default_eim;
	}
	for (size_t i = 0; i < n; i++) {
		devs[i].eim_id = eim_id;
		devs[i].psk_identity = (const uint8_t *)rows[i].psk_id;
		devs[i].psk_identity_len = strlen(rows[i].psk_id);
		devs[i].psk_key = rows[i].psk;
		devs[i].psk_key_len = rows[i].psk_len;
		devs[i].euicc_chain = rows[i].chain;
		devs[i].euicc_chain_len = rows[i].chain_len;
	}
	int e = eim_store_device_add_many(s, devs, n, 1000,
					  isatty(2) ? eim__import_progress
						    : NULL,
					  NULL, &done);
	if (e) {
		rc = eim_cli_fail(cmd,
				  "%s (%zu of %zu devices were added "
				  "before it)",
				  eim_store_errmsg(s), done, n);
		goto out;
	}
	printf("imported %zu devices (eIM '%s')\n", done, eim_id);
	rc = EIM_EXIT_OK;
out:
	for (size_t i = 0; rows && i < n; i++)
		eim_free(rows[i].chain);
	if (rows)
		eim_wipe(rows, cap * sizeof(*rows));
	eim_free(rows);
	eim_free(devs);
	eim_free_secret(buf, len);
	eim_free(default_eim);
	eim_store_close(s);
	return rc;
}

int eim_cmd_device(int argc, char **argv)
{
	if (argc < 2)
		return eim_cli_usage_error(
			"device",
			"missing action: add, import, list, show or remove");
	if (strcmp(argv[1], "add") == 0)
		return eim__device_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return eim__device_list("device list", argc - 1, argv + 1,
					false);
	if (strcmp(argv[1], "show") == 0)
		return eim__device_list("device show", argc - 1, argv + 1,
					true);
	if (strcmp(argv[1], "remove") == 0)
		return eim__device_remove(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return eim__device_import(argc - 1, argv + 1);
	return eim_cli_usage_error("device",
				   "unknown action '%s' (add, import, list, "
				   "show or remove)",
				   argv[1]);
}
