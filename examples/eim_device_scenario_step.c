/*
 * eim_device_scenario_step.c - the steps of `eim-device scenario` (see
 * eim_device_scenario.h; format in examples/scenarios/README.md): eim
 * commands with their expected exit code and output, wakes of simulated
 * devices, local device actions, and expectations on what the eIM
 * recorded (`eim results --json`) and on the simulated eUICC's state.
 */
#include "examples/eim_device_scenario_int.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_ipa.h"
#include "examples/eim_sim_state.h"
#include "proto/eim_epr.h"
#include "proto/eim_esipa.h"
#include "proto/eim_ids.h"
#include "proto/eim_ipadata.h"
#include "transport/eim_loop.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends to a step's detail text. */
static void eim__add(char *detail, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void eim__add(char *detail, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(detail);
	va_list ap;

	if (n >= cap - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(detail + n, cap - n, fmt, ap);
	va_end(ap);
}

/* The first line of `text`, shortened, for a detail. */
static int eim__line(const char *text)
{
	size_t n = strcspn(text, "\n");
	return (int)(n > 160 ? 160 : n);
}

bool eim_scn_step_eim(struct eim_scn *s, const cJSON *st, char *detail,
		      size_t cap)
{
	const cJSON *w = cJSON_GetObjectItem(st, "eim");
	const cJSON *x;
	char *argv[64], words[62][EIM_SCN_PATH];
	int n = 0, want = 0;
	struct eim_scn_proc p;
	bool ok = true;

	argv[n++] = s->eim_bin;
	cJSON_ArrayForEach(x, w)
	{
		if (eim_scn_subst(s, x->valuestring, words[n - 1],
				  sizeof(words[0]))) {
			eim__add(detail, cap, "word %d too long", n - 1);
			return false;
		}
		argv[n] = words[n - 1];
		n++;
	}
	argv[n] = NULL;
	if ((x = cJSON_GetObjectItem(st, "expect_exit")))
		want = x->valueint;
	if (eim_scn_run(s, argv, EIM_SCN_CMD_TIMEOUT_MS, &p)) {
		eim__add(detail, cap, "cannot run %s", s->eim_bin);
		return false;
	}
	const char *out = eim_scn_text(&p.out), *err = eim_scn_text(&p.err);
	eim__add(detail, cap, "eim %s: exit %d", words[0], p.status);
	if (p.status != want) {
		eim__add(detail, cap, ", expected %d: %.*s", want,
			 eim__line(*err ? err : out), *err ? err : out);
		ok = false;
	}
	static const struct {
		const char *member;
		bool in_err, present;
	} checks[] = {{"expect_stdout_contains", false, true},
		      {"expect_stdout_lacks", false, false},
		      {"expect_stderr_contains", true, true}};
	for (size_t c = 0; ok && c < 3; c++) {
		const cJSON *m = cJSON_GetObjectItem(st, checks[c].member);
		const char *t;
		char want_s[EIM_SCN_PATH];
		for (int i = 0; m && (t = eim_scn_str_at(m, i)); i++) {
			if (eim_scn_subst(s, t, want_s, sizeof(want_s)))
				continue;
			bool has = strstr(checks[c].in_err ? err : out,
					  want_s) != NULL;
			if (has != checks[c].present) {
				eim__add(detail, cap, "; %s \"%s\"%s",
					 checks[c].in_err ? "stderr" : "stdout",
					 want_s,
					 checks[c].present ? " missing"
							   : " present");
				ok = false;
				break;
			}
		}
	}
	eim_scn_proc_done(&p);
	return ok;
}

bool eim_scn_step_wake(struct eim_scn *s, const cJSON *st, char *detail,
		       size_t cap)
{
	const cJSON *w = cJSON_GetObjectItem(st, "wake");
	const cJSON *rb = cJSON_GetObjectItem(st, "rebind");
	const cJSON *ep = cJSON_GetObjectItem(st, "expect_packages");
	const cJSON *es = cJSON_GetObjectItem(st, "expect_session");
	bool rebind = !cJSON_IsFalse(rb), ok = true, sel[EIM_SCN_MAX_DEVICES];
	uint64_t packages = 0;

	memset(sel, 0, sizeof(sel));
	if (cJSON_IsString(w)) {
		for (int i = 0; i < s->n; i++)
			sel[i] = true;
	} else {
		const cJSON *x;
		cJSON_ArrayForEach(x, w) sel[x->valueint] = true;
	}
	s->waiting = 0;
	for (int i = 0; i < s->n; i++) {
		struct eim_scn_dev *d = &s->devs[i];
		int rc;
		if (!sel[i])
			continue;
		rc = eim_sim_ipa_wake(d->ipa, rebind && !d->first, eim_scn_woke,
				      d);
		if (rc) {
			eim__add(detail, cap, "device %d: cannot wake: %s; ", i,
				 eim_strerror(rc));
			ok = false;
			continue;
		}
		d->first = false;
		d->waking = true;
		s->waiting++;
	}
	if (s->waiting)
		eim_scn_run_loop(s, EIM_SCN_WAKE_TIMEOUT_MS);
	for (int i = 0; i < s->n; i++) {
		struct eim_scn_dev *d = &s->devs[i];
		struct eim_sim_ipa_stats sst;
		struct eim_coap_dtls_client_stats cs;
		if (!sel[i] || !eim_sim_ipa_transport(d->ipa))
			continue;
		if (d->waking) {
			eim__add(detail, cap,
				 "device %d: no end of wake in "
				 "%d s; ",
				 i, EIM_SCN_WAKE_TIMEOUT_MS / 1000);
			ok = false;
			continue;
		}
		eim_sim_ipa_stats(d->ipa, &sst);
		eim_coap_dtls_client_stats(eim_sim_ipa_transport(d->ipa), &cs);
		uint64_t run = sst.packages + sst.data_requests -
			       d->last.packages - d->last.data_requests;
		packages += run;
		eim__add(detail, cap,
			 "device %d: %llu package(s), %llu result(s) "
			 "acknowledged, %s%s%s; ",
			 i, (unsigned long long)run,
			 (unsigned long long)(sst.acked - d->last.acked),
			 cs.handshakes > d->handshakes_seen
				 ? "new DTLS handshake"
				 : "session resumed by CID",
			 d->status ? ", FAILED: " : "",
			 d->status ? eim_sim_ipa_errmsg(d->ipa) : "");
		if (d->status)
			ok = false;
		/* a session continued by CID made no handshake this wake */
		bool hs = cs.handshakes > d->handshakes_seen;
		if (es && hs != !strcmp(es->valuestring, "handshake")) {
			eim__add(detail, cap, "device %d: expected %s; ", i,
				 hs ? "no handshake (CID)" : "a new handshake");
			ok = false;
		}
		d->handshakes_seen = cs.handshakes;
		d->last = sst;
	}
	if (ep && (uint64_t)ep->valueint != packages) {
		eim__add(detail, cap, "expected %d package(s), ran %llu",
			 ep->valueint, (unsigned long long)packages);
		ok = false;
	}
	size_t len = strlen(detail);
	if (len >= 2 && detail[len - 2] == ';')
		detail[len - 2] = 0;
	return ok;
}

static void eim__answered(void *ctx, int status,
			  const struct eim_coap_client_response *r)
{
	struct eim_scn *s = ctx;

	s->answered = true;
	s->answer_status = status;
	if (status == 0) {
		s->answer_code = r->code;
		eim_buf_reset(&s->answer);
		eim_buf_append(&s->answer, r->body, r->body_len);
	}
	s->waiting = 0;
	eim_loop_stop(s->loop);
}

/*
 * A package the device already ran arrives again (a replay by someone on
 * the path): the IPA hands it to the eUICC, which must refuse it, and
 * reports the eUICC's answer to the eIM like any result. The bytes are
 * the eIM's own record of the device's newest finished package.
 */
static bool eim__replay_last(struct eim_scn *s, struct eim_scn_dev *d,
			     char *detail, size_t cap)
{
	struct eim_scn_proc p;
	cJSON *q = NULL, *last = NULL, *x;
	char id[32];
	uint8_t *pkg = NULL;
	size_t pkg_len = 0;
	struct eim_buf res, req;
	struct eim_esipa_from_ipa m;
	struct eim_epr r;
	bool ok = false;

	if (!eim_sim_ipa_transport(d->ipa)) {
		eim__add(detail, cap, "device %d has not woken yet", d->index);
		return false;
	}
	eim_buf_init(&res);
	eim_buf_init(&req);
	if (eim_scn_eim(s, &p, "queue", d->eid, "--state", "done", "--json",
			NULL) == 0 &&
	    p.status == 0)
		q = cJSON_Parse(eim_scn_text(&p.out));
	eim_scn_proc_done(&p);
	cJSON_ArrayForEach(x, q) last = x;
	x = cJSON_GetObjectItem(last, "id");
	if (!cJSON_IsNumber(x)) {
		eim__add(detail, cap,
			 "the eIM lists no finished package for "
			 "device %d",
			 d->index);
		goto out;
	}
	snprintf(id, sizeof(id), "%d", x->valueint);
	cJSON_Delete(q);
	q = NULL;
	if (eim_scn_eim(s, &p, "show", id, "--json", NULL) == 0 &&
	    p.status == 0)
		q = cJSON_Parse(eim_scn_text(&p.out));
	eim_scn_proc_done(&p);
	const char *hex = cJSON_GetStringValue(cJSON_GetObjectItem(q, "bytes"));
	if (!hex || !(pkg = eim_malloc(strlen(hex) / 2 + 1)) ||
	    eim_hex_decode(hex, strlen(hex), pkg, strlen(hex) / 2 + 1,
			   &pkg_len)) {
		eim__add(detail, cap, "eim show %s: no package bytes", id);
		goto out;
	}
	int rc = eim_sim_euicc_load_package(d->euicc, pkg, pkg_len, &res, NULL);
	if (rc == 0)
		rc = eim_scn_persist(d, d->euicc);
	if (rc) {
		eim__add(detail, cap, "the eUICC could not run package %s: %s",
			 id, eim_strerror(rc));
		goto out;
	}
	if (eim_epr_decode(res.p, res.len, NULL, &r) == 0) {
		const char *e = eim_epr_error_name(r.kind, r.error_code);
		eim__add(detail, cap,
			 "package %s again: the eUICC answered %s%s%s", id,
			 eim_epr_kind_name(r.kind),
			 r.kind == EIM_EPR_RESULT_SIGNED ? "" : " ",
			 r.kind == EIM_EPR_RESULT_SIGNED ? "" : (e ? e : "?"));
		eim_epr_done(&r);
	}
	/* ProvideEimPackageResult over the device's own DTLS session */
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
	m.result.has_eid = true;
	memcpy(m.result.eid, d->euicc->eid, 16);
	m.result.kind = EIM_RESULT_EPR;
	m.result.body.p = res.p;
	m.result.body.len = res.len;
	if ((rc = eim_esipa_encode_from_ipa(&m, &req))) {
		eim__add(detail, cap, "; cannot encode the result: %s",
			 eim_strerror(rc));
		goto out;
	}
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/gsma/rsp2/asn1",
		.content_format = -1,
		.body = req.p,
		.body_len = req.len,
		.cb = eim__answered,
		.cb_ctx = s,
	};
	s->answered = false;
	eim_coap_dtls_client_rebind(eim_sim_ipa_transport(d->ipa));
	if ((rc = eim_coap_dtls_client_request(eim_sim_ipa_transport(d->ipa),
					       &rq))) {
		eim__add(detail, cap, "; cannot send the result: %s",
			 eim_strerror(rc));
		goto out;
	}
	s->waiting = 1;
	eim_scn_run_loop(s, EIM_SCN_WAKE_TIMEOUT_MS);
	if (!s->answered || s->answer_status) {
		eim__add(detail, cap, "; no answer from the eIM");
		goto out;
	}
	eim__add(detail, cap, "; the eIM answered %d.%02d", s->answer_code >> 5,
		 s->answer_code & 31);
	ok = (s->answer_code >> 5) == 2;
out:
	cJSON_Delete(q);
	eim_free(pkg);
	eim_buf_done(&res);
	eim_buf_done(&req);
	return ok;
}

bool eim_scn_step_do(struct eim_scn *s, const cJSON *st, char *detail,
		     size_t cap)
{
	struct eim_scn_dev *d =
		&s->devs[cJSON_GetObjectItem(st, "device")->valueint];
	const char *what = cJSON_GetObjectItem(st, "do")->valuestring;
	const cJSON *ec = cJSON_GetObjectItem(st, "expect_code");
	int want = ec ? ec->valueint : 0, code;
	struct eim_buf out;
	char why[400];

	if (!strcmp(what, "replay_last"))
		return eim__replay_last(s, d, detail, cap);
	if (!strcmp(what, "reboot")) {
		if (eim_sim_state_save(d->euicc, d->state)) {
			eim__add(detail, cap, "cannot save %s", d->state);
			return false;
		}
		eim_scn_dev_off(d);
		if (eim_scn_dev_boot(d, why, sizeof(why))) {
			eim__add(detail, cap, "%s", why);
			return false;
		}
		eim__add(detail, cap,
			 "device %d rebooted from its state file: %zu eIM(s), "
			 "%zu result(s) pending",
			 d->index, d->euicc->n_eims, d->euicc->n_results);
		return true;
	}
	eim_buf_init(&out);
	if (!strcmp(what, "rollback")) {
		code = eim_sim_euicc_rollback(d->euicc, &out);
	} else if (!strcmp(what, "fallback")) {
		code = eim_sim_euicc_execute_fallback(d->euicc);
	} else if (!strcmp(what, "return")) {
		code = eim_sim_euicc_return_from_fallback(d->euicc);
	} else {
		/* bootstrap: ES10b AddInitialEim, as a factory or a lab
		 * re-provisioning the eUICC */
		const cJSON *a = cJSON_GetObjectItem(st, "air");
		char path[EIM_SCN_PATH];
		uint8_t *air = NULL;
		size_t n;
		struct eim_add_initial_resp resp;

		if (eim_scn_subst(s, a ? a->valuestring : "{air}", path,
				  sizeof(path)) ||
		    eim_scn_read_file(path, &air, &n)) {
			eim__add(detail, cap, "cannot read %s", path);
			eim_buf_done(&out);
			return false;
		}
		code = eim_sim_euicc_add_initial_eim(d->euicc, air, n, &out);
		eim_free(air);
		if (code == 0 && eim_add_initial_resp_decode(out.p, out.len,
							     NULL, &resp) == 0)
			code = resp.is_error ? (int)resp.error_code : 0;
		else if (code == 0)
			code = EIM_EMALFORMED;
	}
	eim_buf_done(&out);
	if (code < 0) {
		eim__add(detail, cap, "%s: %s", what, eim_strerror(code));
		return false;
	}
	if (eim_sim_state_save(d->euicc, d->state)) {
		eim__add(detail, cap, "cannot save %s", d->state);
		return false;
	}
	eim__add(detail, cap, "device %d %s: code %d", d->index, what, code);
	if (code != want) {
		eim__add(detail, cap, ", expected %d", want);
		return false;
	}
	return true;
}

bool eim_scn_step_expect_result(struct eim_scn *s, const cJSON *st,
				char *detail, size_t cap)
{
	const cJSON *x = cJSON_GetObjectItem(st, "expect_result");
	const cJSON *dn = cJSON_GetObjectItem(x, "device");
	const cJSON *c = cJSON_GetObjectItem(x, "contains");
	const cJSON *l = cJSON_GetObjectItem(x, "lacks");
	const cJSON *v = cJSON_GetObjectItem(x, "verified");
	const cJSON *cnt = cJSON_GetObjectItem(x, "count");
	const cJSON *w = cJSON_GetObjectItem(x, "which");
	struct eim_scn_dev *d = &s->devs[dn->valueint];
	bool any = cJSON_IsString(w) && !strcmp(w->valuestring, "any");
	bool ok = false;
	struct eim_scn_proc p;
	cJSON *arr = NULL, *r;
	int n;

	if (eim_scn_eim(s, &p, "results", d->eid, "--json", NULL) || p.status ||
	    !cJSON_IsArray(arr = cJSON_Parse(eim_scn_text(&p.out)))) {
		eim__add(detail, cap, "eim results: exit %d: %.*s", p.status,
			 eim__line(eim_scn_text(&p.err)), eim_scn_text(&p.err));
		goto out;
	}
	n = cJSON_GetArraySize(arr);
	eim__add(detail, cap, "device %d: %d result(s)", d->index, n);
	if (cnt && cnt->valueint != n) {
		eim__add(detail, cap, ", expected %d", cnt->valueint);
		goto out;
	}
	if (!c && !l && !v) {
		ok = true;
		goto out;
	}
	/* the newest first: "last" looks at one, "any" at each */
	for (int i = n - 1; i >= 0 && !ok; i--) {
		char *text;
		bool match = true;
		r = cJSON_GetArrayItem(arr, i);
		text = cJSON_PrintUnformatted(r);
		if (!text)
			break;
		for (int k = 0; c && eim_scn_str_at(c, k); k++)
			if (!strstr(text, eim_scn_str_at(c, k)))
				match = false;
		for (int k = 0; l && eim_scn_str_at(l, k); k++)
			if (strstr(text, eim_scn_str_at(l, k)))
				match = false;
		if (v &&
		    cJSON_IsTrue(v) !=
			    cJSON_IsTrue(cJSON_GetObjectItem(r, "verified")))
			match = false;
		if (match) {
			ok = true;
			eim__add(detail, cap, "; result %d matches", i + 1);
		} else if (!any) {
			eim__add(detail, cap,
				 "; the newest does not match: %.300s", text);
			cJSON_free(text);
			break;
		}
		cJSON_free(text);
	}
	if (!ok && n == 0)
		eim__add(detail, cap, "; none to match");
	else if (!ok && any)
		eim__add(detail, cap, "; none matches");
out:
	eim_scn_proc_done(&p);
	cJSON_Delete(arr);
	return ok;
}

bool eim_scn_step_expect_device(struct eim_scn *s, const cJSON *st,
				char *detail, size_t cap)
{
	const cJSON *x = cJSON_GetObjectItem(st, "expect_device");
	struct eim_scn_dev *d =
		&s->devs[cJSON_GetObjectItem(x, "device")->valueint];
	const struct eim_sim_euicc *e = d->euicc;
	const cJSON *y;
	bool ok = true;
	int k = 0;

	eim__add(detail, cap, "device %d:", d->index);
	if ((y = cJSON_GetObjectItem(x, "eims"))) {
		eim__add(detail, cap, " %zu eIM(s)", e->n_eims);
		if ((size_t)y->valueint != e->n_eims) {
			eim__add(detail, cap, " (expected %d)", y->valueint);
			ok = false;
		}
	}
	if ((y = cJSON_GetObjectItem(x, "eim_ids"))) {
		const cJSON *id;
		bool same = (size_t)cJSON_GetArraySize(y) == e->n_eims;
		eim__add(detail, cap, " eIMs [");
		for (size_t i = 0; i < e->n_eims; i++)
			eim__add(detail, cap, "%s%s", i ? " " : "",
				 e->eims[i].eim_id);
		eim__add(detail, cap, "]");
		cJSON_ArrayForEach(id,
				   y) if (same && strcmp(id->valuestring,
							 e->eims[k++].eim_id))
			same = false;
		if (!same) {
			eim__add(detail, cap, " (expected other)");
			ok = false;
		}
	}
	if ((y = cJSON_GetObjectItem(x, "counter"))) {
		const cJSON *who = cJSON_GetObjectItem(x, "eim");
		int i = who ? eim_sim_euicc_find_eim(e,
						     (const uint8_t *)
							     who->valuestring,
						     strlen(who->valuestring))
			    : (e->n_eims ? 0 : -1);
		if (i < 0) {
			eim__add(detail, cap, " no eIM '%s'",
				 who ? who->valuestring : "(any)");
			ok = false;
		} else {
			eim__add(detail, cap, " counter of %s %lld",
				 e->eims[i].eim_id,
				 (long long)e->eims[i].counter);
			if (e->eims[i].counter != (int64_t)y->valuedouble) {
				eim__add(detail, cap, " (expected %.0f)",
					 y->valuedouble);
				ok = false;
			}
		}
	}
	if ((y = cJSON_GetObjectItem(x, "enabled"))) {
		char iccid[EIM_ICCID_MAX_DIGITS + 1] = "none";
		for (size_t i = 0; i < e->n_profiles; i++)
			if (e->profiles[i].enabled)
				eim_iccid_format(e->profiles[i].iccid, iccid);
		eim__add(detail, cap, " enabled %s", iccid);
		if (strcmp(cJSON_IsNull(y) ? "none" : y->valuestring, iccid)) {
			eim__add(detail, cap, " (expected %s)",
				 cJSON_IsNull(y) ? "none" : y->valuestring);
			ok = false;
		}
	}
	if ((y = cJSON_GetObjectItem(x, "pending_results"))) {
		eim__add(detail, cap, " %zu result(s) pending", e->n_results);
		if ((size_t)y->valueint != e->n_results) {
			eim__add(detail, cap, " (expected %d)", y->valueint);
			ok = false;
		}
	}
	if ((y = cJSON_GetObjectItem(x, "fallback_active"))) {
		eim__add(detail, cap, " fallback %s",
			 e->fallback_active ? "active" : "inactive");
		if (cJSON_IsTrue(y) != e->fallback_active) {
			eim__add(detail, cap, " (expected the other)");
			ok = false;
		}
	}
	return ok;
}
