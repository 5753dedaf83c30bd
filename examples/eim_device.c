/*
 * eim_device.c - `eim-device`: the device simulator's command line. This
 * first version drives one simulated IoT eUICC offline, one ES10b call
 * per invocation, with its state in a JSON file (eim_sim_state.h); the
 * IPA network loop and fleet mode are to come.
 *
 * Same conventions as `eim`: exit 0 success, 1 operational error, 2 usage
 * error; errors are one line on stderr naming what was wrong.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "examples/eim_device_fleet.h"
#include "examples/eim_device_scenario.h"
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_pki.h"
#include "examples/eim_sim_state.h"
#include "proto/eim_epr.h"
#include "proto/eim_ids.h"
#include "proto/eim_ipadata.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2
};

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const char *usage;
};

static const struct cmd *current;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eim-device %s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eim-device %s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'eim-device %s --help')\n", current->name);
	return EXIT_USAGE;
}

/* Reads a whole file (or stdin for "-"); binary or hex text. */
static int read_input(const char *path, uint8_t **ret, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct eim_buf b;
	uint8_t chunk[4096];
	size_t n;
	bool hex = true;

	if (!f)
		return EIM_EIO;
	eim_buf_init(&b);
	b.max = 1 << 20;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		eim_buf_append(&b, chunk, n);
	if (f != stdin)
		fclose(f);
	if (b.err) {
		int rc = b.err;
		eim_buf_done(&b);
		return rc;
	}
	for (size_t i = 0; i < b.len; i++)
		if (!isxdigit(b.p[i]) && !isspace(b.p[i]))
			hex = false;
	if (hex && b.len > 0) {
		uint8_t *bin = eim_malloc(b.len / 2 + 1);
		size_t len;

		if (!bin || eim_hex_decode((const char *)b.p, b.len, bin,
					   b.len / 2 + 1, &len) < 0) {
			eim_free(bin);
			eim_buf_done(&b);
			return bin ? EIM_EMALFORMED : EIM_ENOMEM;
		}
		eim_buf_done(&b);
		*ret = bin;
		*ret_len = len;
		return 0;
	}
	*ret_len = b.len;
	*ret = eim_buf_steal(&b, NULL);
	return 0;
}

static int write_output(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return EIM_EIO;
	if (fwrite(p, 1, n, f) != n) {
		fclose(f);
		return EIM_EIO;
	}
	return fclose(f) == 0 ? 0 : EIM_EIO;
}

static int load_state(const char *path, struct eim_sim_euicc **ret)
{
	char err[300];
	int rc = eim_sim_state_load(path, ret, err, sizeof(err));

	if (rc < 0) {
		if (rc == EIM_EIO)
			return fail("%s", err);
		return fail("%s: %s", path, err);
	}
	return EXIT_OK;
}

static int save_state(const char *path, const struct eim_sim_euicc *e)
{
	if (eim_sim_state_save(e, path) < 0)
		return fail("%s: cannot write: %s", path, strerror(errno));
	return EXIT_OK;
}

/* getopt_long with --help answered; returns -2 after printing help. */
static int next_opt(int argc, char **argv, const char *shorts,
		    const struct option *longs)
{
	int c = getopt_long(argc, argv, shorts, longs, NULL);

	if (c == 'h') {
		fputs(current->usage, stdout);
		return -2;
	}
	return c;
}

/* ----- pki ----- */

/* eIM ids become file names: keep them to a safe alphabet. */
static bool safe_name(const char *s)
{
	if (!*s || strlen(s) > 63 || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

static int cmd_pki(int argc, char **argv)
{
	static const struct option longs[] = {{"out", 1, NULL, 'o'},
					      {"eim", 1, NULL, 'e'},
					      {"help", 0, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *out = NULL, *eims[16];
	size_t n_eims = 0;
	struct eim_sim_pki pki;
	char ci[4096], name[80];
	struct stat st;
	int c, rc;

	while ((c = next_opt(argc, argv, "", longs)) != -1) {
		if (c == -2)
			return EXIT_OK;
		if (c == 'o') {
			out = optarg;
		} else if (c == 'e') {
			if (!safe_name(optarg))
				return usage_error("eIM id '%s': use 1-63 "
						   "letters, digits, '.', "
						   "'_' or '-'",
						   optarg);
			if (n_eims == 16)
				return usage_error("at most 16 --eim");
			eims[n_eims++] = optarg;
		} else {
			return usage_error("unknown option or missing value: "
					   "'%s'",
					   argv[optind - 1]);
		}
	}
	if (!out)
		return usage_error("--out DIR is required");
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return fail("%s: %s", out, strerror(errno));
	snprintf(ci, sizeof(ci), "%s/ci.pem", out);
	if (stat(ci, &st) == 0) {
		/* Keep an existing PKI: devices were issued from it. */
		if ((rc = eim_sim_pki_read(out, &pki)) < 0)
			return fail("%s: unreadable test PKI: %s", out,
				    eim_strerror(rc));
	} else {
		if ((rc = eim_sim_pki_generate(&pki)) < 0)
			return fail("cannot generate the PKI: %s",
				    eim_strerror(rc));
		if (eim_sim_pki_write(&pki, out) < 0) {
			eim_sim_pki_done(&pki);
			return fail("%s: cannot write: %s", out,
				    strerror(errno));
		}
		printf("test CI and EUM written to %s (ci.pem, eum.pem and "
		       "their keys)\n",
		       out);
	}
	for (size_t i = 0; i < n_eims; i++) {
		struct eim_sim_cred cred;

		snprintf(name, sizeof(name), "eim-%s", eims[i]);
		if ((rc = eim_sim_pki_issue_eim(&pki, eims[i], &cred)) < 0) {
			eim_sim_pki_done(&pki);
			return fail("cannot issue the eIM certificate: %s",
				    eim_strerror(rc));
		}
		rc = eim_sim_cred_write(&cred, out, name);
		eim_sim_cred_done(&cred);
		if (rc < 0) {
			eim_sim_pki_done(&pki);
			return fail("%s: cannot write: %s", out,
				    strerror(errno));
		}
		printf("eIM '%s': %s/%s.pem and %s.key.pem\n", eims[i], out,
		       name, name);
	}
	eim_sim_pki_done(&pki);
	return EXIT_OK;
}

/* ----- init ----- */

static int add_profile(struct eim_sim_euicc *e, const char *spec,
		       bool fallback_allowed)
{
	struct eim_sim_profile p;
	char iccid[32];
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	int rc;

	memset(&p, 0, sizeof(p));
	if (n >= sizeof(iccid) || (memcpy(iccid, spec, n), iccid[n] = 0,
				   eim_iccid_parse(iccid, p.iccid) < 0))
		return usage_error("'%.*s' is not an ICCID", (int)n, spec);
	snprintf(p.name, sizeof(p.name), "%s", colon ? colon + 1 : "");
	p.profile_class = EIM_SIM_CLASS_OPERATIONAL;
	p.fallback_allowed = fallback_allowed;
	rc = eim_sim_euicc_add_profile(e, &p);
	if (rc == EIM_EEXIST)
		return usage_error("profile %s given twice", iccid);
	if (rc < 0)
		return fail("profile %s: %s", iccid, eim_strerror(rc));
	return EXIT_OK;
}

static int cmd_init(int argc, char **argv)
{
	static const struct option longs[] =
		{{"state", 1, NULL, 's'},   {"eid", 1, NULL, 'e'},
		 {"pki", 1, NULL, 'p'},	    {"air", 1, NULL, 'a'},
		 {"profile", 1, NULL, 'P'}, {"fallback-profile", 1, NULL, 'F'},
		 {"force", 0, NULL, 'f'},   {"help", 0, NULL, 'h'},
		 {NULL, 0, NULL, 0}};
	const char *state = NULL, *eid_text = NULL, *dir = NULL, *air = NULL;
	const char *profiles[EIM_SIM_MAX_PROFILES];
	bool fb[EIM_SIM_MAX_PROFILES], force = false;
	size_t n_profiles = 0;
	struct eim_sim_pki pki;
	struct eim_sim_cred cred;
	struct eim_sim_euicc *e = NULL;
	uint8_t eid[EIM_EID_LEN], *req = NULL;
	size_t req_len;
	struct eim_buf out;
	struct stat st;
	int c, rc;

	while ((c = next_opt(argc, argv, "", longs)) != -1) {
		switch (c) {
		case -2:
			return EXIT_OK;
		case 's':
			state = optarg;
			break;
		case 'e':
			eid_text = optarg;
			break;
		case 'p':
			dir = optarg;
			break;
		case 'a':
			air = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'P':
		case 'F':
			if (n_profiles == EIM_SIM_MAX_PROFILES)
				return usage_error("at most %d profiles",
						   EIM_SIM_MAX_PROFILES);
			fb[n_profiles] = c == 'F';
			profiles[n_profiles++] = optarg;
			break;
		default:
			return usage_error(
				"unknown option or missing value: '%s'",
				argv[optind - 1]);
		}
	}
	if (!state || !eid_text || !dir)
		return usage_error("--state FILE, --eid EID and --pki DIR are "
				   "required");
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	rc = eim_eid_parse(eid_text, eid);
	if (rc == EIM_EVERIFY)
		return usage_error("EID '%s': check digits are wrong",
				   eid_text);
	if (rc < 0)
		return usage_error("EID '%s' is not 32 digits", eid_text);
	if (!force && stat(state, &st) == 0)
		return fail("%s exists: a device keeps its state (use --force "
			    "to start a new one)",
			    state);
	if ((rc = eim_sim_pki_read(dir, &pki)) < 0)
		return fail("%s: no test PKI there (%s; run 'eim-device pki "
			    "--out %s')",
			    dir, eim_strerror(rc), dir);
	rc = eim_sim_pki_issue_euicc(&pki, eid_text, &cred);
	if (rc == 0)
		rc = eim_sim_euicc_new(eid, cred.key, cred.key_len, cred.cert,
				       cred.cert_len, pki.eum.cert,
				       pki.eum.cert_len, &e);
	if (rc == 0)
		rc = eim_sim_cert_skid(pki.ci.cert, pki.ci.cert_len, e->ci_pkid,
				       sizeof(e->ci_pkid), &e->ci_pkid_len);
	eim_sim_cred_done(&cred);
	eim_sim_pki_done(&pki);
	if (rc < 0) {
		eim_sim_euicc_free(e);
		return fail("cannot make the eUICC: %s", eim_strerror(rc));
	}
	for (size_t i = 0; i < n_profiles; i++)
		if ((rc = add_profile(e, profiles[i], fb[i])) != EXIT_OK)
			goto out;
	eim_buf_init(&out);
	if (air) {
		struct eim_add_initial_resp r;

		if (read_input(air, &req, &req_len) < 0) {
			rc = fail("%s: cannot read: %s", air, strerror(errno));
			goto done;
		}
		if ((rc = eim_sim_euicc_add_initial_eim(e, req, req_len,
							&out)) < 0) {
			rc = fail("%s: not an AddInitialEimRequest: %s", air,
				  eim_strerror(rc));
			goto done;
		}
		if (eim_add_initial_resp_decode(out.p, out.len, NULL, &r) < 0 ||
		    r.is_error) {
			rc = fail("%s: refused: %s", air,
				  eim_add_initial_error_name(r.error_code));
			goto done;
		}
		for (size_t i = 0; i < e->n_eims; i++) {
			if (e->eims[i].has_token)
				printf("eIM '%s' associated, "
				       "associationToken %lld\n",
				       e->eims[i].eim_id,
				       (long long)e->eims[i].token);
			else
				printf("eIM '%s' associated, no token\n",
				       e->eims[i].eim_id);
		}
	}
	if ((rc = save_state(state, e)) == EXIT_OK)
		printf("device %s: state in %s (holds the simulated eUICC's "
		       "private key)\n",
		       eid_text, state);
done:
	eim_buf_done(&out);
	eim_free(req);
out:
	eim_sim_euicc_free(e);
	return rc;
}

/* ----- cert ----- */

static int cmd_cert(int argc, char **argv)
{
	static const struct option longs[] = {{"state", 1, NULL, 's'},
					      {"eum", 0, NULL, 'E'},
					      {"help", 0, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *state = NULL;
	bool eum = false;
	struct eim_sim_euicc *e = NULL;
	struct eim_buf b;
	int c, rc;

	while ((c = next_opt(argc, argv, "", longs)) != -1) {
		if (c == -2)
			return EXIT_OK;
		if (c == 's')
			state = optarg;
		else if (c == 'E')
			eum = true;
		else
			return usage_error(
				"unknown option or missing value: '%s'",
				argv[optind - 1]);
	}
	if (!state)
		return usage_error("--state FILE is required");
	if ((rc = load_state(state, &e)) != EXIT_OK)
		return rc;
	eim_buf_init(&b);
	eim_pem_encode("CERTIFICATE", eum ? e->eum_cert : e->euicc_cert,
		       eum ? e->eum_cert_len : e->euicc_cert_len, &b);
	if (!b.err)
		fwrite(b.p, 1, b.len, stdout);
	rc = b.err ? fail("out of memory") : EXIT_OK;
	eim_buf_done(&b);
	eim_sim_euicc_free(e);
	return rc;
}

/* ----- load ----- */

static void print_result(const uint8_t *p, size_t n)
{
	struct eim_epr r;

	if (eim_epr_decode(p, n, NULL, &r) < 0) {
		printf("result: undecodable\n");
		return;
	}
	printf("%s", eim_epr_kind_name(r.kind));
	if (r.kind == EIM_EPR_RESULT_SIGNED) {
		printf(" seq %lld:", (long long)r.seq);
		for (size_t i = 0; i < r.n_results; i++) {
			const char *code =
				r.results[i].code < 0
					? "data"
					: eim_epr_code_name(r.results[i].tag,
							    r.results[i].code);
			printf(" %s=%s", eim_epr_result_name(r.results[i].tag),
			       code ? code : "?");
		}
	} else if (r.kind == EIM_EPR_ERROR_SIGNED) {
		const char *name = eim_epr_error_name(r.kind, r.error_code);
		printf(" %s", name ? name : "?");
	}
	printf("\n");
	eim_epr_done(&r);
}

static int cmd_load(int argc, char **argv)
{
	static const struct option longs[] = {{"state", 1, NULL, 's'},
					      {"out", 1, NULL, 'o'},
					      {"help", 0, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *state = NULL, *outp = NULL, *in;
	struct eim_sim_euicc *e = NULL;
	struct eim_buf out;
	uint8_t *pkg = NULL;
	size_t n;
	int c, rc;

	while ((c = next_opt(argc, argv, "", longs)) != -1) {
		if (c == -2)
			return EXIT_OK;
		if (c == 's')
			state = optarg;
		else if (c == 'o')
			outp = optarg;
		else
			return usage_error(
				"unknown option or missing value: '%s'",
				argv[optind - 1]);
	}
	if (!state)
		return usage_error("--state FILE is required");
	if (optind + 1 != argc)
		return usage_error("one PACKAGE file is required");
	in = argv[optind];
	if ((rc = read_input(in, &pkg, &n)) < 0)
		return fail("%s: cannot read: %s", in,
			    rc == EIM_EIO ? strerror(errno) : eim_strerror(rc));
	if ((rc = load_state(state, &e)) != EXIT_OK) {
		eim_free(pkg);
		return rc;
	}
	eim_buf_init(&out);
	rc = eim_sim_euicc_load_package(e, pkg, n, &out, NULL);
	if (rc < 0) {
		rc = fail("%s: not an EuiccPackageRequest: %s", in,
			  eim_strerror(rc));
		goto out;
	}
	/* The card commits before it answers. */
	if ((rc = save_state(state, e)) != EXIT_OK)
		goto out;
	print_result(out.p, out.len);
	if (outp && write_output(outp, out.p, out.len) < 0)
		rc = fail("%s: cannot write: %s", outp, strerror(errno));
out:
	eim_buf_done(&out);
	eim_free(pkg);
	eim_sim_euicc_free(e);
	return rc;
}

/* ----- ack ----- */

static int cmd_ack(int argc, char **argv)
{
	static const struct option longs[] = {{"state", 1, NULL, 's'},
					      {"help", 0, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *state = NULL;
	struct eim_sim_euicc *e = NULL;
	int64_t seq[64];
	size_t n = 0, dropped;
	int c, rc;

	while ((c = next_opt(argc, argv, "", longs)) != -1) {
		if (c == -2)
			return EXIT_OK;
		if (c == 's')
			state = optarg;
		else
			return usage_error(
				"unknown option or missing value: '%s'",
				argv[optind - 1]);
	}
	if (!state)
		return usage_error("--state FILE is required");
	if (optind == argc)
		return usage_error("at least one SEQ is required");
	for (int i = optind; i < argc; i++) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(argv[i], &end, 10);
		if (errno || *end || end == argv[i] || v < 1 || n == 64)
			return usage_error("'%s' is not a seqNumber", argv[i]);
		seq[n++] = v;
	}
	if ((rc = load_state(state, &e)) != EXIT_OK)
		return rc;
	dropped = eim_sim_euicc_ack(e, seq, n);
	if ((rc = save_state(state, e)) == EXIT_OK)
		printf("%zu result(s) acknowledged, %zu kept\n", dropped,
		       e->n_results);
	eim_sim_euicc_free(e);
	return rc;
}

/* ----- rollback, fallback, return ----- */

/* The three ES10b calls the IPA makes on its own: one runner. */
static int cmd_local(int argc, char **argv)
{
	static const struct option longs[] = {{"state", 1, NULL, 's'},
					      {"out", 1, NULL, 'o'},
					      {"help", 0, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	static const char *const fb_names[] =
		{[0] = "ok",
		 [2] = "profileNotInDisabledState",
		 [6] = "fallbackNotAvailable"};
	const char *state = NULL, *outp = NULL, *name;
	struct eim_sim_euicc *e = NULL;
	struct eim_buf out;
	int c, rc, code;

	while ((c = next_opt(argc, argv, "", longs)) != -1) {
		if (c == -2)
			return EXIT_OK;
		if (c == 's')
			state = optarg;
		else if (c == 'o' && strcmp(current->name, "rollback") == 0)
			outp = optarg;
		else
			return usage_error("unknown option or missing value: "
					   "'%s'",
					   argv[optind - 1]);
	}
	if (!state)
		return usage_error("--state FILE is required");
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if ((rc = load_state(state, &e)) != EXIT_OK)
		return rc;
	eim_buf_init(&out);
	if (strcmp(current->name, "rollback") == 0)
		code = eim_sim_euicc_rollback(e, &out);
	else if (strcmp(current->name, "fallback") == 0)
		code = eim_sim_euicc_execute_fallback(e);
	else
		code = eim_sim_euicc_return_from_fallback(e);
	if (code < 0) {
		rc = fail("%s", eim_strerror(code));
		goto out;
	}
	if ((rc = save_state(state, e)) != EXIT_OK)
		goto out;
	if (strcmp(current->name, "rollback") == 0)
		name = code == 0   ? "ok"
		       : code == 1 ? "rollbackNotAllowed"
				   : "?";
	else
		name = (size_t)code < sizeof(fb_names) / sizeof(fb_names[0]) &&
				       fb_names[code]
			       ? fb_names[code]
			       : "?";
	printf("%s: %s (%d)\n", current->name, name, code);
	if (code == 0 && out.len) {
		print_result(out.p, out.len);
		if (outp && write_output(outp, out.p, out.len) < 0)
			rc = fail("%s: cannot write: %s", outp,
				  strerror(errno));
	}
	/* A refusal is the card's answer, not a failure of the program. */
out:
	eim_buf_done(&out);
	eim_sim_euicc_free(e);
	return rc;
}

/* ----- ipa-data ----- */

static int cmd_ipa_data(int argc, char **argv)
{
	static const struct option longs[] = {{"state", 1, NULL, 's'},
					      {"eim", 1, NULL, 'e'},
					      {"out", 1, NULL, 'o'},
					      {"help", 0, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *state = NULL, *outp = NULL, *eim = NULL, *in;
	struct eim_sim_euicc *e = NULL;
	struct eim_buf out;
	uint8_t *req = NULL;
	size_t n;
	int c, rc;

	while ((c = next_opt(argc, argv, "", longs)) != -1) {
		if (c == -2)
			return EXIT_OK;
		if (c == 's')
			state = optarg;
		else if (c == 'e')
			eim = optarg;
		else if (c == 'o')
			outp = optarg;
		else
			return usage_error("unknown option or missing value: "
					   "'%s'",
					   argv[optind - 1]);
	}
	if (!state)
		return usage_error("--state FILE is required");
	if (optind + 1 != argc)
		return usage_error("one REQUEST file is required");
	in = argv[optind];
	if ((rc = read_input(in, &req, &n)) < 0)
		return fail("%s: cannot read: %s", in,
			    rc == EIM_EIO ? strerror(errno) : eim_strerror(rc));
	if ((rc = load_state(state, &e)) != EXIT_OK) {
		eim_free(req);
		return rc;
	}
	eim_buf_init(&out);
	rc = eim_sim_euicc_ipa_data(e, req, n, (const uint8_t *)eim,
				    eim ? strlen(eim) : 0, &out);
	if (rc < 0) {
		rc = fail("%s: not an IpaEuiccDataRequest: %s", in,
			  eim_strerror(rc));
	} else if (outp) {
		rc = write_output(outp, out.p, out.len) < 0
			     ? fail("%s: cannot write: %s", outp,
				    strerror(errno))
			     : EXIT_OK;
	} else {
		char *hex = eim_malloc(2 * out.len + 1);
		rc = hex ? EXIT_OK : fail("out of memory");
		if (hex) {
			printf("%s\n", eim_hex_encode(out.p, out.len, hex));
			eim_free(hex);
		}
	}
	eim_buf_done(&out);
	eim_free(req);
	eim_sim_euicc_free(e);
	return rc;
}

/* ----- show ----- */

static int cmd_show(int argc, char **argv)
{
	static const struct option longs[] = {{"state", 1, NULL, 's'},
					      {"help", 0, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *state = NULL;
	struct eim_sim_euicc *e = NULL;
	char text[EIM_EID_DIGITS + 1];
	int c, rc;

	while ((c = next_opt(argc, argv, "", longs)) != -1) {
		if (c == -2)
			return EXIT_OK;
		if (c == 's')
			state = optarg;
		else
			return usage_error(
				"unknown option or missing value: '%s'",
				argv[optind - 1]);
	}
	if (!state)
		return usage_error("--state FILE is required");
	if ((rc = load_state(state, &e)) != EXIT_OK)
		return rc;
	eim_eid_format(e->eid, text);
	printf("EID %s\n", text);
	for (size_t i = 0; i < e->n_eims; i++) {
		const struct eim_sim_eim *m = &e->eims[i];
		printf("eIM %s counter %lld", m->eim_id, (long long)m->counter);
		if (m->has_token)
			printf(" token %lld", (long long)m->token);
		printf("\n");
	}
	for (size_t i = 0; i < e->n_profiles; i++) {
		char iccid[EIM_ICCID_MAX_DIGITS + 1];
		eim_iccid_format(e->profiles[i].iccid, iccid);
		printf("profile %s %s%s%s%s\n", iccid,
		       e->profiles[i].enabled ? "enabled" : "disabled",
		       e->profiles[i].fallback ? " fallback" : "",
		       e->profiles[i].name[0] ? " " : "", e->profiles[i].name);
	}
	printf("results pending: %zu, next seqNumber %lld\n", e->n_results,
	       (long long)e->next_seq);
	eim_sim_euicc_free(e);
	return EXIT_OK;
}

static const struct cmd cmds[] = {
	{"pki", cmd_pki, "make a test CI and EUM (certificates and keys)",
	 "usage: eim-device pki --out DIR [--eim ID]...\n\n"
	 "Writes a throw-away test PKI to DIR: ci.pem, eum.pem and their\n"
	 "private keys (ci.key.pem, eum.key.pem, mode 0600); an existing\n"
	 "one in DIR is kept. Give ci.pem to the eIM as the trusted CI;\n"
	 "'eim-device init --pki DIR' issues eUICC certificates from the\n"
	 "EUM.\n"
	 "  --eim ID   also issue an eIM certificate and key signed by the\n"
	 "             CI: eim-ID.pem, eim-ID.key.pem (for 'eim init --key\n"
	 "             eim-ID.key.pem --cert eim-ID.pem')\n"},
	{"init", cmd_init, "create a simulated eUICC and its state file",
	 "usage: eim-device init --state FILE --eid EID --pki DIR\n"
	 "                       [--air FILE] [--profile ICCID[:NAME]]...\n"
	 "                       [--fallback-profile ICCID[:NAME]] "
	 "[--force]\n\n"
	 "Creates an IoT eUICC with a new key and a certificate from the\n"
	 "EUM in DIR, and writes its state to FILE (JSON, mode 0600; it\n"
	 "holds the simulated eUICC's private key).\n"
	 "  --air FILE       load this AddInitialEimRequest (what 'eim\n"
	 "                   export-initial-eim --out' writes; binary or hex)\n"
	 "  --profile ICCID  install a disabled profile (repeatable)\n"
	 "  --fallback-profile ICCID  the same, fallbackAllowed set\n"
	 "  --force          replace an existing state file\n"},
	{"cert", cmd_cert, "print the eUICC (or EUM) certificate",
	 "usage: eim-device cert --state FILE [--eum]\n\n"
	 "Prints the eUICC certificate (--eum: the EUM certificate) as PEM,\n"
	 "e.g. for 'eim device add ... --euicc-cert'.\n"},
	{"load", cmd_load, "run one EuiccPackageRequest on the eUICC",
	 "usage: eim-device load --state FILE [--out FILE] PACKAGE\n\n"
	 "Runs the package (binary or hex; - = stdin) like ES10b\n"
	 "LoadEuiccPackage, saves the state and prints the result in one\n"
	 "line. --out FILE writes the EuiccPackageResult (DER).\n"},
	{"ack", cmd_ack, "drop acknowledged results",
	 "usage: eim-device ack --state FILE SEQ...\n\n"
	 "Drops the stored results with these seqNumbers, as after the\n"
	 "eIM's EimAcknowledgements.\n"},
	{"rollback", cmd_local, "ES10b ProfileRollback",
	 "usage: eim-device rollback --state FILE [--out FILE]\n\n"
	 "Undoes the last enable that carried rollbackFlag, as the IPA\n"
	 "does when it cannot reach the eIM over the new profile. Prints\n"
	 "the cmdResult and the new signed result that replaces the\n"
	 "enable's (--out FILE writes it as DER).\n"},
	{"fallback", cmd_local, "ES10b ExecuteFallbackMechanism",
	 "usage: eim-device fallback --state FILE\n\n"
	 "Enables the profile with the Fallback Attribute, as the IPA does\n"
	 "after a permanent loss of connectivity. Prints the result code.\n"},
	{"return", cmd_local, "ES10b ReturnFromFallback",
	 "usage: eim-device return --state FILE\n\n"
	 "Goes back to the profile enabled before the fallback.\n"},
	{"ipa-data", cmd_ipa_data, "answer an IpaEuiccDataRequest",
	 "usage: eim-device ipa-data --state FILE [--eim ID] [--out FILE]\n"
	 "                           REQUEST\n\n"
	 "Answers the IpaEuiccDataRequest in REQUEST (binary or hex; - =\n"
	 "stdin) with an IpaEuiccDataResponse, printed as hex or written\n"
	 "to --out FILE (DER). --eim ID: the requesting eIM (its\n"
	 "associationToken is what tag 84 returns).\n"},
	{"show", cmd_show, "print the eUICC's state",
	 "usage: eim-device show --state FILE\n\n"
	 "Prints the EID, the associated eIMs with their counters and\n"
	 "tokens, the profiles and the number of pending results.\n"},
	{"fleet", eim_device_cmd_fleet, "create a fleet of simulated devices",
	 eim_device_fleet_usage},
	{"run", eim_device_cmd_run,
	 "wake a fleet against an eIM (DTLS, NAT rebinding)",
	 eim_device_run_usage},
	{"scenario", eim_device_cmd_scenario,
	 "run a device-lab scenario file against a fresh eim serve",
	 eim_device_scenario_usage},
	{NULL, NULL, NULL, NULL},
};

static void help(FILE *f)
{
	fprintf(f, "eim-device - a simulated IoT eUICC for testing eim\n\n"
		   "usage: eim-device COMMAND [OPTIONS]\n\ncommands:\n");
	for (const struct cmd *c = cmds; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f, "\nRun 'eim-device COMMAND --help' for its options.\n"
		   "Exit codes: 0 success, 1 operational error, 2 usage "
		   "error.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		help(stdout);
		return EXIT_OK;
	}
	for (const struct cmd *c = cmds; c->name; c++) {
		if (strcmp(c->name, argv[1]) == 0) {
			current = c;
			optind = 1;
			opterr = 0;
			return c->run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr,
		"eim-device: unknown command '%s' (see 'eim-device help')\n",
		argv[1]);
	return EXIT_USAGE;
}
