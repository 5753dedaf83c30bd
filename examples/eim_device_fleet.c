/* eim_device_fleet.c - `eim-device fleet` and `eim-device run` (see
 * eim_device_fleet.h). */
#include "examples/eim_device_fleet.h"
#include "examples/eim_device_live.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_ipa.h"
#include "examples/eim_sim_pki.h"
#include "examples/eim_sim_state.h"
#include "proto/eim_ids.h"
#include "proto/eim_sig.h"
#include "transport/eim_loop.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EIM__MAX_PROFILES 8

const char eim_device_fleet_usage[] =
	"usage: eim-device fleet --dir DIR --count N --pki PKIDIR --air FILE\n"
	"                        [--eid-prefix DIGITS] [--psk-prefix NAME]\n"
	"                        [--profile ICCID[:NAME]]... "
	"[--fallback-profile ICCID]\n\n"
	"Creates N simulated devices in DIR: a state file per device\n"
	"(<EID>.json, mode 0600: it holds the simulated eUICC's private key),\n"
	"its eUICC certificate chain (<EID>.chain.pem), the manifest\n"
	"fleet.json and devices.csv for 'eim device import'. Each eUICC gets\n"
	"a certificate from the EUM in PKIDIR ('eim-device pki') and trusts\n"
	"the eIM whose AddInitialEimRequest is in FILE ('eim\n"
	"export-initial-eim --out FILE'). EIDs are DIGITS (default\n"
	"89049032) padded with the device number and given check digits.\n"
	"Each device gets a random 16-byte PSK and identity NAME<i>\n"
	"(default sensor-).\n";

const char eim_device_run_usage[] =
	"usage: eim-device run --fleet DIR --server ADDR:PORT [--wakes N]\n"
	"                      [--interval MS] [--no-cid] [--live]\n"
	"                      [--json] [--report FILE]\n\n"
	"Wakes every device of the fleet N times (default 1), --interval ms\n"
	"apart (default 1000, with up to 50% random jitter): each wake comes\n"
	"from a new UDP source port, as after a NAT rebinding; with a DTLS\n"
	"Connection ID the session continues without a handshake (--no-cid:\n"
	"a new handshake each time). A wake polls GetEimPackage until\n"
	"noEimPackageAvailable, runs each package on the eUICC and reports "
	"the\n"
	"result. State files are saved after every wake. Prints one line per\n"
	"wake and a summary (--json: a JSON report instead; --report FILE:\n"
	"the JSON report to FILE as well; --live: a table of the devices\n"
	"that refreshes in place while they sleep and wake, when stdout is a\n"
	"terminal, and the final table otherwise). Exit 1 if a wake failed.\n";

static const char *eim__cmd = "fleet";

static int eim__fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int eim__fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eim-device %s: ", eim__cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int eim__usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int eim__usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eim-device %s: ", eim__cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'eim-device %s --help')\n", eim__cmd);
	return 2;
}

static int eim__read(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	if (!f)
		return EIM_EIO;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > (16 << 20) ||
	    fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return EIM_EIO;
	}
	b = eim_malloc((size_t)n + 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
		eim_free(b);
		fclose(f);
		return b ? EIM_EIO : EIM_ENOMEM;
	}
	fclose(f);
	b[n] = 0;
	*buf = b;
	*len = (size_t)n;
	return 0;
}

static int eim__write(const char *path, const void *p, size_t n, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int ok = fd >= 0 && write(fd, p, n) == (ssize_t)n;

	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	return ok ? 0 : EIM_EIO;
}

/* ---- fleet ----------------------------------------------------------------
 */

static int eim__add_profile(struct eim_sim_euicc *e, const char *spec,
			    bool fallback_allowed)
{
	struct eim_sim_profile p;
	char iccid[32];
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);

	memset(&p, 0, sizeof(p));
	if (n >= sizeof(iccid))
		return EIM_EMALFORMED;
	memcpy(iccid, spec, n);
	iccid[n] = 0;
	if (eim_iccid_parse(iccid, p.iccid))
		return EIM_EMALFORMED;
	snprintf(p.name, sizeof(p.name), "%s", colon ? colon + 1 : iccid);
	p.profile_class = 2;
	p.fallback_allowed = fallback_allowed;
	return eim_sim_euicc_add_profile(e, &p);
}

int eim_device_cmd_fleet(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", 1, NULL, 'd'},
		{"count", 1, NULL, 'n'},
		{"pki", 1, NULL, 'p'},
		{"air", 1, NULL, 'a'},
		{"eid-prefix", 1, NULL, 'e'},
		{"psk-prefix", 1, NULL, 'k'},
		{"profile", 1, NULL, 'P'},
		{"fallback-profile", 1, NULL, 'F'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *pkidir = NULL, *air = NULL;
	const char *eid_prefix = "89049032", *psk_prefix = "sensor-";
	const char *profiles[EIM__MAX_PROFILES], *fallback = NULL;
	size_t n_profiles = 0;
	long count = 0;
	struct eim_sim_pki pki;
	uint8_t *air_buf = NULL;
	size_t air_len = 0;
	FILE *csv = NULL;
	cJSON *manifest = NULL;
	int c, rc = 1;

	eim__cmd = "fleet";
	memset(&pki, 0, sizeof(pki));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'p':
			pkidir = optarg;
			break;
		case 'a':
			air = optarg;
			break;
		case 'e':
			eid_prefix = optarg;
			break;
		case 'k':
			psk_prefix = optarg;
			break;
		case 'F':
			fallback = optarg;
			break;
		case 'n': {
			char *end = NULL;
			count = strtol(optarg, &end, 10);
			if (*end || count < 1 || count > 1000000)
				return eim__usage("--count '%s' must be 1 to "
						  "1000000",
						  optarg);
			break;
		}
		case 'P':
			if (n_profiles == EIM__MAX_PROFILES)
				return eim__usage("at most %d --profile",
						  EIM__MAX_PROFILES);
			profiles[n_profiles++] = optarg;
			break;
		case ':':
			return eim__usage("option '%s' needs a value",
					  argv[optind - 1]);
		default:
			return eim__usage("unknown option '%s'",
					  argv[optind - 1]);
		}
	}
	if (optind < argc)
		return eim__usage("unexpected argument '%s'", argv[optind]);
	if (!dir || !count || !pkidir || !air)
		return eim__usage(
			"--dir, --count, --pki and --air are required");
	size_t plen = strlen(eid_prefix);
	if (plen < 1 || plen > 24 || strspn(eid_prefix, "0123456789") != plen)
		return eim__usage("--eid-prefix '%s' must be 1 to 24 digits",
				  eid_prefix);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return eim__fail("%s: %s", dir, strerror(errno));
	if (eim_sim_pki_read(pkidir, &pki))
		return eim__fail("%s: no test PKI there (make one with "
				 "'eim-device pki --out %s')",
				 pkidir, pkidir);
	if (eim__read(air, &air_buf, &air_len)) {
		rc = eim__fail("%s: %s", air, strerror(errno));
		goto out;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/devices.csv", dir);
	csv = fopen(path, "w");
	if (!csv) {
		rc = eim__fail("%s: %s", path, strerror(errno));
		goto out;
	}
	fchmod(fileno(csv), 0600); /* it holds the PSKs */
	fprintf(csv, "# EID,PSK identity,PSK,counter,certificate chain "
		     "(for 'eim device import')\n");
	manifest = cJSON_CreateArray();
	for (long i = 0; i < count; i++) {
		char prefix30[31], eid_text[33], psk_id[160], psk_hex[33];
		uint8_t eid[16], psk[16];
		struct eim_sim_cred cred;
		struct eim_sim_euicc *e = NULL;
		struct eim_buf resp, chain;

		snprintf(prefix30, sizeof(prefix30), "%s%0*ld", eid_prefix,
			 (int)(30 - plen), i);
		if (eim_eid_complete(prefix30, eid_text) ||
		    eim_eid_parse(eid_text, eid)) {
			rc = eim__fail("cannot make an EID from '%s'",
				       prefix30);
			goto out;
		}
		memset(&cred, 0, sizeof(cred));
		eim_buf_init(&resp);
		eim_buf_init(&chain);
		int e1 = eim_sim_pki_issue_euicc(&pki, eid_text, &cred);
		if (!e1)
			e1 = eim_sim_euicc_new(eid, cred.key, cred.key_len,
					       cred.cert, cred.cert_len,
					       pki.eum.cert, pki.eum.cert_len,
					       &e);
		for (size_t k = 0; !e1 && k < n_profiles; k++)
			e1 = eim__add_profile(e, profiles[k], false);
		if (!e1 && fallback)
			e1 = eim__add_profile(e, fallback, true);
		if (!e1)
			e1 = eim_sim_euicc_add_initial_eim(e, air_buf, air_len,
							   &resp);
		if (!e1 && e->n_eims == 0)
			e1 = EIM_EINVAL; /* the AddInitialEim was refused */
		snprintf(path, sizeof(path), "%s/%s.json", dir, eid_text);
		if (!e1)
			e1 = eim_sim_state_save(e, path);
		eim_pem_encode("CERTIFICATE", cred.cert, cred.cert_len, &chain);
		eim_pem_encode("CERTIFICATE", pki.eum.cert, pki.eum.cert_len,
			       &chain);
		char chain_path[4096];
		snprintf(chain_path, sizeof(chain_path), "%s/%s.chain.pem", dir,
			 eid_text);
		if (!e1)
			e1 = chain.err ? chain.err
				       : eim__write(chain_path, chain.p,
						    chain.len, 0644);
		if (!e1)
			e1 = eim_sig_random(psk, sizeof(psk));
		eim_sim_euicc_free(e);
		eim_sim_cred_done(&cred);
		eim_buf_done(&resp);
		eim_buf_done(&chain);
		if (e1) {
			rc = eim__fail("device %s: %s%s", eid_text,
				       eim_strerror(e1),
				       e1 == EIM_EINVAL
					       ? " (the AddInitialEimRequest "
						 "was refused or a profile is "
						 "wrong)"
					       : "");
			goto out;
		}
		snprintf(psk_id, sizeof(psk_id), "%s%ld", psk_prefix, i);
		eim_hex_encode(psk, sizeof(psk), psk_hex);
		fprintf(csv, "%s,%s,%s,0,%s\n", eid_text, psk_id, psk_hex,
			chain_path);
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "eid", eid_text);
		cJSON_AddStringToObject(d, "state", path);
		cJSON_AddStringToObject(d, "psk_identity", psk_id);
		cJSON_AddStringToObject(d, "psk", psk_hex);
		cJSON_AddItemToArray(manifest, d);
		eim_wipe(psk, sizeof(psk));
		eim_wipe(psk_hex, sizeof(psk_hex));
	}
	if (fclose(csv) != 0) {
		csv = NULL;
		rc = eim__fail("devices.csv: %s", strerror(errno));
		goto out;
	}
	csv = NULL;
	char *text = cJSON_Print(manifest);
	snprintf(path, sizeof(path), "%s/fleet.json", dir);
	int e2 = text ? eim__write(path, text, strlen(text), 0600) : EIM_ENOMEM;
	if (text)
		eim_free_secret(text, strlen(text));
	if (e2) {
		rc = eim__fail("%s: %s", path, strerror(errno));
		goto out;
	}
	printf("%ld devices in %s: register them with 'eim device import "
	       "%s/devices.csv'\n",
	       count, dir, dir);
	rc = 0;
out:
	if (csv)
		fclose(csv);
	cJSON_Delete(manifest);
	eim_free(air_buf);
	eim_sim_pki_done(&pki);
	return rc;
}

/* ---- run -------------------------------------------------------------------
 */

struct eim__dev {
	struct eim__run *run;
	char eid[33];
	char state[4096];
	struct eim_sim_euicc *euicc;
	struct eim_sim_ipa *ipa;
	struct eim_loop_timer timer;
	int wakes_left;
	bool first;
	uint64_t handshakes_seen;
	struct eim_sim_ipa_stats last;
	struct eim_device_live_row *row; /* in run->rows */
};

struct eim__run {
	struct eim_loop *loop;
	struct eim__dev *devs;
	struct eim_device_live_row *rows; /* one per device, for --live */
	size_t n, running;
	int interval_ms;
	bool json;
	bool live, tty; /* --live; redraw in place (stdout is a terminal) */
	int lines;	/* lines of the last drawing */
	struct eim_loop_timer redraw;
	int failures;
	uint64_t new_handshakes, resumed;
};

#define EIM__LIVE_ROWS 20
#define EIM__LIVE_REFRESH_MS 200

static void eim__draw(struct eim__run *r)
{
	eim_device_live_draw(stdout, r->rows, r->n, EIM__LIVE_ROWS,
			     eim_loop_now(r->loop), &r->lines);
}

static void eim__redraw_timer(struct eim_loop *l, void *ctx)
{
	struct eim__run *r = ctx;
	eim__draw(r);
	eim_loop_timer_start(l, &r->redraw,
			     eim_loop_now(l) + EIM__LIVE_REFRESH_MS);
}

static void eim__schedule(struct eim__dev *d);

/* The report is written to a file opened before the run, so that a bad
 * path fails at once instead of after the fleet has run. */
static int eim__write_report(FILE *f, const char *text)
{
	int rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* The eUICC's state reaches its file before any result leaves. */
static int eim__save(void *ctx, struct eim_sim_euicc *e)
{
	struct eim__dev *d = ctx;
	return eim_sim_state_save(e, d->state);
}

static void eim__woke(void *ctx, struct eim_sim_ipa *ipa, int status)
{
	struct eim__dev *d = ctx;
	struct eim__run *r = d->run;
	struct eim_sim_ipa_stats st;
	struct eim_coap_dtls_client_stats cs;
	char err[200] = "";

	eim_sim_ipa_stats(ipa, &st);
	eim_coap_dtls_client_stats(eim_sim_ipa_transport(ipa), &cs);
	bool handshake = cs.handshakes > d->handshakes_seen;
	d->handshakes_seen = cs.handshakes;
	if (handshake)
		r->new_handshakes++;
	else
		r->resumed++;
	if (status)
		r->failures++;
	if (eim_sim_state_save(d->euicc, d->state) != 0) {
		snprintf(err, sizeof(err), "; state not saved: %s",
			 strerror(errno));
		r->failures++;
	}
	d->row->wakes++;
	d->row->port =
		eim_coap_dtls_client_local_port(eim_sim_ipa_transport(ipa));
	d->row->last_handshake = handshake;
	d->row->handshakes += handshake;
	d->row->resumed += !handshake;
	d->row->packages = st.packages + st.data_requests;
	d->row->results = st.acked;
	d->row->state = status || err[0]    ? EIM_DEVICE_LIVE_FAILED
			: d->wakes_left > 1 ? EIM_DEVICE_LIVE_ASLEEP
					    : EIM_DEVICE_LIVE_DONE;
	/* --live: the table is redrawn by its timer, not per event, so that
	 * a large fleet does not flood the terminal */
	if (!r->live && !r->json) {
		printf("%s  port %-5d %-18s %llu package(s), %llu result(s) "
		       "acknowledged%s%s%s\n",
		       d->eid,
		       eim_coap_dtls_client_local_port(
			       eim_sim_ipa_transport(ipa)),
		       handshake ? "new DTLS handshake" : "session resumed",
		       (unsigned long long)(st.packages + st.data_requests -
					    d->last.packages -
					    d->last.data_requests),
		       (unsigned long long)(st.acked - d->last.acked),
		       status ? ", FAILED: " : "",
		       status ? eim_sim_ipa_errmsg(ipa) : "", err);
		fflush(stdout);
	}
	d->last = st;
	if (--d->wakes_left > 0) {
		eim__schedule(d);
		return;
	}
	if (--r->running == 0)
		eim_loop_stop(r->loop);
}

static void eim__wake_timer(struct eim_loop *l, void *ctx)
{
	struct eim__dev *d = ctx;
	int rc = eim_sim_ipa_wake(d->ipa, !d->first, eim__woke, d);

	(void)l;
	d->first = false;
	d->row->state = EIM_DEVICE_LIVE_AWAKE;
	if (rc) {
		fprintf(stderr, "eim-device run: %s: cannot wake: %s\n", d->eid,
			eim_strerror(rc));
		d->run->failures++;
		d->wakes_left = 1;
		eim__woke(d, d->ipa, rc);
	}
}

static void eim__schedule(struct eim__dev *d)
{
	int iv = d->run->interval_ms;
	uint64_t delay =
		(uint64_t)iv / 2 + (iv ? (uint64_t)rand() % (uint64_t)iv : 0);
	d->row->next_wake_ms = eim_loop_now(d->run->loop) + delay;
	eim_loop_timer_start(d->run->loop, &d->timer, d->row->next_wake_ms);
}

int eim_device_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"fleet", 1, NULL, 'f'},  {"server", 1, NULL, 's'},
		{"wakes", 1, NULL, 'w'},  {"interval", 1, NULL, 'i'},
		{"no-cid", 0, NULL, 'N'}, {"json", 0, NULL, 'j'},
		{"live", 0, NULL, 'L'},	  {"report", 1, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	const char *fleet = NULL, *server = NULL, *report = NULL;
	FILE *report_f = NULL;
	long wakes = 1, interval = 1000;
	bool cid = true;
	struct eim__run r;
	uint8_t *mbuf = NULL;
	size_t mlen = 0;
	cJSON *m = NULL;
	int c, rc = 1;

	eim__cmd = "run";
	memset(&r, 0, sizeof(r));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'f':
			fleet = optarg;
			break;
		case 's':
			server = optarg;
			break;
		case 'N':
			cid = false;
			break;
		case 'j':
			r.json = true;
			break;
		case 'L':
			r.live = true;
			break;
		case 'R':
			report = optarg;
			break;
		case 'w':
			wakes = strtol(optarg, &end, 10);
			if (*end || wakes < 1 || wakes > 1000000)
				return eim__usage("--wakes '%s' must be 1 to "
						  "1000000",
						  optarg);
			break;
		case 'i':
			interval = strtol(optarg, &end, 10);
			if (*end || interval < 0 || interval > 86400000)
				return eim__usage("--interval '%s' must be 0 "
						  "to 86400000 (ms)",
						  optarg);
			break;
		case ':':
			return eim__usage("option '%s' needs a value",
					  argv[optind - 1]);
		default:
			return eim__usage("unknown option '%s'",
					  argv[optind - 1]);
		}
	}
	if (optind < argc)
		return eim__usage("unexpected argument '%s'", argv[optind]);
	if (!fleet || !server)
		return eim__usage("--fleet and --server are required");
	if (r.live && r.json)
		return eim__usage("--live and --json exclude each other (use "
				  "--report FILE for a JSON report)");
	r.tty = r.live && isatty(STDOUT_FILENO);
	if (report && !(report_f = fopen(report, "w")))
		return eim__fail("%s: %s", report, strerror(errno));
	char path[4096];
	snprintf(path, sizeof(path), "%s/fleet.json", fleet);
	if (eim__read(path, &mbuf, &mlen))
		return eim__fail("%s: %s (create a fleet with 'eim-device "
				 "fleet')",
				 path, strerror(errno));
	m = cJSON_ParseWithLength((const char *)mbuf, mlen);
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) < 1) {
		rc = eim__fail("%s: not a fleet manifest", path);
		goto out;
	}
	r.n = (size_t)cJSON_GetArraySize(m);
	r.interval_ms = (int)interval;
	r.devs = eim_calloc(r.n, sizeof(*r.devs));
	r.rows = eim_calloc(r.n, sizeof(*r.rows));
	if (!r.devs || !r.rows || eim_loop_new(&r.loop)) {
		rc = eim__fail("out of memory");
		goto out;
	}
	srand((unsigned)getpid());
	for (size_t i = 0; i < r.n; i++) {
		cJSON *x = cJSON_GetArrayItem(m, (int)i);
		struct eim__dev *d = &r.devs[i];
		const char *eid =
			cJSON_GetStringValue(cJSON_GetObjectItem(x, "eid"));
		const char *st =
			cJSON_GetStringValue(cJSON_GetObjectItem(x, "state"));
		const char *pid = cJSON_GetStringValue(
			cJSON_GetObjectItem(x, "psk_identity"));
		const char *pk =
			cJSON_GetStringValue(cJSON_GetObjectItem(x, "psk"));
		uint8_t psk[64];
		size_t psk_len = 0;
		char err[200] = "";
		if (!eid || !st || !pid || !pk ||
		    eim_hex_decode(pk, strlen(pk), psk, sizeof(psk),
				   &psk_len)) {
			rc = eim__fail("%s: entry %zu is incomplete", path, i);
			goto out;
		}
		d->run = &r;
		d->row = &r.rows[i];
		snprintf(d->eid, sizeof(d->eid), "%s", eid);
		snprintf(d->state, sizeof(d->state), "%s", st);
		if (eim_sim_state_load(st, &d->euicc, err, sizeof(err))) {
			rc = eim__fail("%s: %s", st,
				       err[0] ? err : strerror(errno));
			goto out;
		}
		struct eim_dtls_client_config dc;
		eim_dtls_client_config_init(&dc);
		dc.psk_identity = (const uint8_t *)pid;
		dc.psk_identity_len = strlen(pid);
		dc.psk = psk;
		dc.psk_len = psk_len;
		dc.use_cid = cid;
		int e = eim_sim_ipa_new(r.loop, server, &dc, d->euicc, &d->ipa);
		eim_wipe(psk, sizeof(psk));
		if (e) {
			rc = eim__fail("%s: %s", eid, eim_strerror(e));
			goto out;
		}
		eim_sim_ipa_on_persist(d->ipa, eim__save, d);
		d->wakes_left = (int)wakes;
		d->first = true;
		d->row->eid = d->eid;
		d->row->wakes_total = (unsigned)wakes;
		d->row->state = EIM_DEVICE_LIVE_WAITING;
		eim_loop_timer_init(&d->timer, eim__wake_timer, d);
		/* the first wakes spread over the interval */
		d->row->next_wake_ms =
			eim_loop_now(r.loop) +
			(interval ? (uint64_t)rand() % (uint64_t)interval : 0);
		eim_loop_timer_start(r.loop, &d->timer, d->row->next_wake_ms);
		r.running++;
	}
	eim_loop_timer_init(&r.redraw, eim__redraw_timer, &r);
	if (r.tty)
		eim__redraw_timer(r.loop, &r);
	if (eim_loop_catch_signals(r.loop) == 0)
		eim_loop_run(r.loop);
	eim_loop_timer_stop(r.loop, &r.redraw);
	if (r.live) {
		eim__draw(&r);
		for (size_t i = 0; i < r.n; i++)
			if (r.rows[i].state == EIM_DEVICE_LIVE_FAILED)
				printf("%s: last wake failed: %s\n",
				       r.devs[i].eid,
				       eim_sim_ipa_errmsg(r.devs[i].ipa));
	}
	uint64_t packages = 0, acked = 0, rebinds = 0;
	for (size_t i = 0; i < r.n; i++) {
		struct eim_sim_ipa_stats st;
		eim_sim_ipa_stats(r.devs[i].ipa, &st);
		packages += st.packages + st.data_requests;
		acked += st.acked;
		if (eim_sim_ipa_transport(r.devs[i].ipa)) {
			struct eim_coap_dtls_client_stats cs;
			eim_coap_dtls_client_stats(eim_sim_ipa_transport(
							   r.devs[i].ipa),
						   &cs);
			rebinds += cs.rebinds;
		}
	}
	char js[512];
	snprintf(js, sizeof(js),
		 "{\"devices\":%zu,\"wakes\":%llu,\"packages\":%llu,"
		 "\"acknowledged\":%llu,\"rebinds\":%llu,"
		 "\"handshakes\":%llu,\"resumed_by_cid\":%llu,"
		 "\"failures\":%d}\n",
		 r.n, (unsigned long long)(r.new_handshakes + r.resumed),
		 (unsigned long long)packages, (unsigned long long)acked,
		 (unsigned long long)rebinds,
		 (unsigned long long)r.new_handshakes,
		 (unsigned long long)r.resumed, r.failures);
	int werr = report_f ? eim__write_report(report_f, js) : 0;
	report_f = NULL;
	if (werr) {
		rc = eim__fail("%s: %s", report, strerror(errno));
		goto out;
	}
	if (r.json) {
		fputs(js, stdout);
	} else {
		printf("\n%zu device(s), %llu wake(s): %llu package(s) run, "
		       "%llu result(s) acknowledged; %llu DTLS handshake(s), "
		       "%llu wake(s) resumed by Connection ID after a new "
		       "source port%s\n",
		       r.n, (unsigned long long)(r.new_handshakes + r.resumed),
		       (unsigned long long)packages, (unsigned long long)acked,
		       (unsigned long long)r.new_handshakes,
		       (unsigned long long)r.resumed,
		       r.failures ? "; SOME WAKES FAILED" : "");
	}
	rc = r.failures ? 1 : 0;
out:
	if (report_f)
		fclose(report_f);
	for (size_t i = 0; r.devs && i < r.n; i++) {
		if (r.loop)
			eim_loop_timer_stop(r.loop, &r.devs[i].timer);
		eim_sim_ipa_free(r.devs[i].ipa);
		eim_sim_euicc_free(r.devs[i].euicc);
	}
	eim_free(r.devs);
	eim_free(r.rows);
	eim_loop_free(r.loop);
	cJSON_Delete(m);
	if (mbuf)
		eim_free_secret(mbuf, mlen);
	return rc;
}
