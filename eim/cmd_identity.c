/*
 * cmd_identity.c - `eim init` and `eim identity add|list|show`.
 *
 * An eIM identity is an eimId plus the P-256 key that signs its packages
 * (eimSignature) and the public key or certificate a eUICC is given to check
 * them. One database may hold several identities, so that two managers can
 * share a device (and an exhausted counter can be renewed by the other one).
 *
 * Private keys are never stored in the database: the store keeps a reference
 * (the absolute path of a PEM file, mode 0600). Without --key a fresh key is
 * generated next to the database.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim/cli_util.h"
#include "proto/eim_sig.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What `identity add` and `init` gather before writing anything. */
struct eim__ident_new {
	char key_path[PATH_MAX];
	struct eim_buf pub; /* SPKI or certificate DER */
};

/* An eimId is a UTF8String of 1..128 bytes (SGP.32 EimConfigurationData);
 * the service refuses results whose eimId has control bytes, so no
 * identity may have one. */
static bool eim__eim_id_ok(const char *id)
{
	return eim_cli_text_ok(id, 128);
}

/* Loads a PEM/DER file as a key; prints the error. */
static int eim__load_key(const char *cmd, const char *path,
			 struct eim_sig_key **ret)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc = eim_cli_read_file(cmd, path, &buf, &n);

	if (rc)
		return rc;
	int e = eim_sig_key_load(buf, n, ret);
	eim_free_secret(buf, n);
	if (e == EIM_EUNSUPPORTED)
		return eim_cli_fail(cmd,
				    "%s: unsupported key (need an unencrypted "
				    "EC key on P-256 or brainpoolP256r1)",
				    path);
	if (e)
		return eim_cli_fail(cmd, "%s: not a key or certificate (%s)",
				    path, eim_strerror(e));
	return EIM_EXIT_OK;
}

/* Writes a new P-256 private key as PEM with mode 0600 (never overwrites). */
static int eim__write_new_key(const char *cmd, const char *path,
			      struct eim_sig_key **ret)
{
	struct eim_sig_key *k = NULL;
	struct eim_buf der, pem;
	int fd = -1, rc = EIM_EXIT_FAIL;

	eim_buf_init(&der);
	eim_buf_init(&pem);
	if (eim_sig_key_generate(EIM_SIG_P256, &k) ||
	    eim_sig_key_sec1(k, &der) ||
	    eim_pem_encode("EC PRIVATE KEY", der.p, der.len, &pem)) {
		eim_cli_fail(cmd, "could not generate a key");
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			eim_cli_fail(cmd,
				     "%s already exists: pass it with --key "
				     "to use it, or remove it",
				     path);
		else
			eim_cli_fail(cmd, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (write(fd, pem.p, pem.len) != (ssize_t)pem.len || fsync(fd) != 0) {
		eim_cli_fail(cmd, "%s: %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	*ret = k;
	k = NULL;
	rc = EIM_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	eim_sig_key_free(k);
	eim_wipe(der.p, der.len);
	eim_wipe(pem.p, pem.len);
	eim_buf_done(&der);
	eim_buf_done(&pem);
	return rc;
}

/* The key file name for a generated key: <db dir>/<safe eimId>.key.pem. */
static void eim__default_key_path(const char *db, const char *eim_id,
				  char out[PATH_MAX])
{
	char dbcopy[PATH_MAX], safe[129];
	size_t i;

	snprintf(dbcopy, sizeof(dbcopy), "%s", db);
	for (i = 0; eim_id[i] && i < 128; i++) {
		char c = eim_id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '-' ||
			  c == '_';
		safe[i] = ok ? c : '_';
	}
	safe[i] = '\0';
	snprintf(out, PATH_MAX, "%s/%s.key.pem", dirname(dbcopy), safe);
}

/*
 * Resolves the key (loading --key or generating one) and the public part
 * (--cert, which must match the key, or the key's SPKI) into *n.
 */
static int eim__prepare(const char *cmd, const char *db, const char *eim_id,
			const char *key_opt, const char *cert_opt,
			struct eim__ident_new *n)
{
	struct eim_sig_key *key = NULL, *certkey = NULL;
	struct eim_buf a, b;
	uint8_t *certbuf = NULL, *certder = NULL;
	size_t certlen = 0, derlen = 0;
	int rc;

	eim_buf_init(&a);
	eim_buf_init(&b);
	eim_buf_init(&n->pub);
	if (key_opt) {
		if ((rc = eim__load_key(cmd, key_opt, &key)))
			goto out;
		if (!eim_sig_key_has_private(key)) {
			rc = eim_cli_fail(cmd,
					  "%s: holds no private key (the eIM "
					  "signs packages with it)",
					  key_opt);
			goto out;
		}
		if (!realpath(key_opt, n->key_path)) {
			rc = eim_cli_fail(cmd, "%s: %s", key_opt,
					  strerror(errno));
			goto out;
		}
	} else {
		char path[PATH_MAX];
		eim__default_key_path(db, eim_id, path);
		if ((rc = eim__write_new_key(cmd, path, &key)))
			goto out;
		if (!realpath(path, n->key_path))
			snprintf(n->key_path, sizeof(n->key_path), "%s", path);
	}
	if (cert_opt) {
		const char *label;
		size_t label_len;
		if ((rc = eim__load_key(cmd, cert_opt, &certkey)))
			goto out;
		eim_sig_key_spki(key, &a);
		eim_sig_key_spki(certkey, &b);
		if (a.err || b.err || a.len != b.len ||
		    memcmp(a.p, b.p, a.len) != 0) {
			rc = eim_cli_fail(cmd,
					  "%s: the certificate's public key "
					  "does not match the signing key",
					  cert_opt);
			goto out;
		}
		if ((rc = eim_cli_read_file(cmd, cert_opt, &certbuf, &certlen)))
			goto out;
		if (eim_sig_pem_decode((const char *)certbuf, certlen, &label,
				       &label_len, &certder, &derlen) == 0)
			eim_buf_append(&n->pub, certder, derlen);
		else
			eim_buf_append(&n->pub, certbuf, certlen);
	} else {
		eim_sig_key_spki(key, &n->pub);
	}
	rc = n->pub.err ? eim_cli_fail(cmd, "out of memory") : EIM_EXIT_OK;
out:
	eim_sig_key_free(key);
	eim_sig_key_free(certkey);
	eim_free(certbuf);
	eim_free(certder);
	eim_buf_done(&a);
	eim_buf_done(&b);
	return rc;
}

static int eim__add_identity(const char *cmd, const char *db, bool create,
			     const char *eim_id, const char *key_opt,
			     const char *cert_opt)
{
	struct eim_store *s = NULL;
	struct eim__ident_new n;
	int rc;

	memset(&n, 0, sizeof(n));
	if (!eim__eim_id_ok(eim_id))
		return eim_cli_usage_error(
			cmd,
			"eimId '%s' must be 1 to 128 printable characters "
			"(UTF-8, no control characters)",
			eim_id);
	if ((rc = eim_cli_open_store(cmd, db, create, &s)))
		return rc;
	if ((rc = eim__prepare(cmd, db, eim_id, key_opt, cert_opt, &n)))
		goto out;
	struct eim_store_identity id = {
		.eim_id = eim_id,
		.key_ref = n.key_path,
		.public_key = n.pub.p,
		.public_key_len = n.pub.len,
		.settings = NULL,
	};
	int e = eim_store_identity_add(s, &id);
	if (e) {
		rc = eim_cli_fail(cmd, "%s", eim_store_errmsg(s));
		if (!key_opt)
			unlink(n.key_path); /* nothing references it */
		goto out;
	}
	printf("eIM identity '%s' added; signing key %s\n", eim_id, n.key_path);
	rc = EIM_EXIT_OK;
out:
	eim_buf_done(&n.pub);
	eim_store_close(s);
	return rc;
}

static int eim__count_cb(void *ctx, const struct eim_store_identity *id)
{
	(void)id;
	(*(int *)ctx)++;
	return 0;
}

int eim_cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"eim-id", required_argument, NULL, 'i'},
		{"key", required_argument, NULL, 'k'},
		{"cert", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *eim_id = NULL, *key = NULL, *cert = NULL;
	int c;

	while ((c = eim_cli_getopt("init", argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'i':
			eim_id = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		default:
			return EIM_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return eim_cli_usage_error("init", "unexpected argument '%s'",
					   argv[optind]);
	if (!eim_id)
		return eim_cli_usage_error("init", "--eim-id is required");
	if (!eim__eim_id_ok(eim_id))
		return eim_cli_usage_error(
			"init",
			"eimId '%s' must be 1 to 128 printable characters "
			"(UTF-8, no control characters)",
			eim_id);
	db = eim_cli_db_path(db);

	struct stat st;
	bool existed = stat(db, &st) == 0;
	struct eim_store *s = NULL;
	int rc = eim_cli_open_store("init", db, true, &s);
	if (rc)
		return rc;
	int n = 0;
	eim_store_identity_list(s, NULL, eim__count_cb, &n);
	eim_store_close(s);
	if (n > 0)
		return eim_cli_fail("init",
				    "%s is already initialised (%d identit%s); "
				    "use 'eim identity add' for another",
				    db, n, n == 1 ? "y" : "ies");
	rc = eim__add_identity("init", db, true, eim_id, key, cert);
	if (rc == EIM_EXIT_OK) {
		printf("database %s ready\n", db);
	} else if (!existed) {
		/* A failed init leaves nothing behind. */
		char side[PATH_MAX + 8];
		unlink(db);
		snprintf(side, sizeof(side), "%s-wal", db);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", db);
		unlink(side);
	}
	return rc;
}

/* ---- identity list / show ---------------------------------------------- */

struct eim__ident_print {
	bool json;
	cJSON *arr;
};

static int eim__ident_cb(void *ctx, const struct eim_store_identity *id)
{
	struct eim__ident_print *p = ctx;
	char t[32];

	if (p->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "eim_id", id->eim_id);
		cJSON_AddStringToObject(o, "key",
					id->key_ref ? id->key_ref : "");
		eim_cli_json_hex(o, "public_key", id->public_key,
				 id->public_key_len);
		eim_cli_json_time(o, "created", id->created_ms);
		cJSON_AddItemToArray(p->arr, o);
		return 0;
	}
	printf("%-32s %s  key %s\n", id->eim_id,
	       eim_cli_time(id->created_ms, t),
	       id->key_ref ? id->key_ref : "-");
	return 0;
}

static int eim__identity_list(const char *cmd, int argc, char **argv, bool one)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct eim__ident_print p = {false, NULL};
	const char *db = NULL;
	struct eim_store *s = NULL;
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
	if (one && optind != argc - 1)
		return eim_cli_usage_error(cmd, "give exactly one eimId");
	if (!one && optind < argc)
		return eim_cli_usage_error(cmd, "unexpected argument '%s'",
					   argv[optind]);
	if ((rc = eim_cli_open_store(cmd, eim_cli_db_path(db), false, &s)))
		return rc;
	p.arr = p.json ? cJSON_CreateArray() : NULL;
	int e = eim_store_identity_list(s, one ? argv[optind] : NULL,
					eim__ident_cb, &p);
	if (e == EIM_ENOTFOUND)
		rc = eim_cli_fail(cmd, "no eIM identity '%s'", argv[optind]);
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

static int eim__identity_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"eim-id", required_argument, NULL, 'i'},
		{"key", required_argument, NULL, 'k'},
		{"cert", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *eim_id = NULL, *key = NULL, *cert = NULL;
	int c;

	while ((c = eim_cli_getopt("identity add", argc, argv, "", opts)) !=
	       -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'i':
			eim_id = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		default:
			return EIM_EXIT_USAGE;
		}
	}
	if (optind < argc && !eim_id)
		eim_id = argv[optind++];
	if (optind < argc)
		return eim_cli_usage_error("identity add",
					   "unexpected argument '%s'",
					   argv[optind]);
	if (!eim_id)
		return eim_cli_usage_error("identity add",
					   "--eim-id is required");
	return eim__add_identity("identity add", eim_cli_db_path(db), false,
				 eim_id, key, cert);
}

int eim_cmd_identity(int argc, char **argv)
{
	if (argc < 2)
		return eim_cli_usage_error("identity",
					   "missing action: add, list or show");
	if (strcmp(argv[1], "add") == 0)
		return eim__identity_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return eim__identity_list("identity list", argc - 1, argv + 1,
					  false);
	if (strcmp(argv[1], "show") == 0)
		return eim__identity_list("identity show", argc - 1, argv + 1,
					  true);
	return eim_cli_usage_error("identity",
				   "unknown action '%s' (add, list or show)",
				   argv[1]);
}
