/*
 * fuzz_sim_euicc.c - libFuzzer target for the eUICC model's inputs from
 * the network side: the first byte picks the entry point.
 *   0  LoadEuiccPackage with the bytes as they are (parse, unsigned path)
 *   1  the bytes are a euiccPackageSigned; the harness signs them as the
 *      associated eIM would, so the check order and every PSMO/eCO run
 *   2  IpaEuiccDataRequest    3  AddInitialEimRequest    4  state JSON
 * Every input gets a fresh card (same PKI, one eIM, three profiles).
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_pki.h"
#include "examples/eim_sim_state.h"
#include "proto/eim_der.h"
#include "proto/eim_pkg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct eim_sim_pki pki;
static struct eim_sim_cred cred;
static struct eim_sig_key *eim_key;
static struct eim_buf spki;
static uint8_t eid[EIM_EID_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[EIM_EID_DIGITS + 1];

	(void)argc;
	(void)argv;
	if (eim_sim_pki_generate(&pki) < 0 ||
	    eim_eid_complete("890490321234512345123456789012", text) < 0 ||
	    eim_eid_parse(text, eid) < 0 ||
	    eim_sim_pki_issue_euicc(&pki, text, &cred) < 0 ||
	    eim_sig_key_generate(EIM_SIG_P256, &eim_key) < 0)
		abort();
	eim_buf_init(&spki);
	if (eim_sig_key_spki(eim_key, &spki) < 0)
		abort();
	return 0;
}

static struct eim_sim_euicc *fresh(void)
{
	static const char *const iccids[] = {"89440000000000000011",
					     "89440000000000000029",
					     "8944000000000000003"};
	struct eim_sim_euicc *e;
	struct eim_eim_config cfg;
	struct eim_sim_profile p;
	bool has;
	int64_t tok;

	if (eim_sim_euicc_new(eid, cred.key, cred.key_len, cred.cert,
			      cred.cert_len, pki.eum.cert, pki.eum.cert_len,
			      &e) < 0)
		abort();
	for (size_t i = 0; i < 3; i++) {
		memset(&p, 0, sizeof(p));
		eim_iccid_parse(iccids[i], p.iccid);
		p.fallback_allowed = i == 2;
		p.profile_class = (int)i;
		eim_sim_euicc_add_profile(e, &p);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.eim_id = (struct eim_slice){(const uint8_t *)"eim", 3};
	cfg.pk_kind = EIM_KEYDATA_SPKI;
	cfg.pk = (struct eim_slice){spki.p, spki.len};
	cfg.has_token = true;
	cfg.token = -1;
	if (eim_sim_euicc_add_eim(e, &cfg, &has, &tok) != 0)
		abort();
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_sim_euicc *e, *back = NULL;
	struct eim_buf out, pkg, tok;
	struct eim_slice parts[2];
	uint8_t rs[EIM_SIG_RAW_LEN];
	size_t m;

	if (size < 1 || size > 8192)
		return 0;
	e = fresh();
	eim_buf_init(&out);
	eim_buf_init(&pkg);
	eim_buf_init(&tok);
	switch (data[0] % 5) {
	case 0:
		eim_sim_euicc_load_package(e, data + 1, size - 1, &out, NULL);
		break;
	case 1:
		eim_pkg_token_do(1, &tok);
		parts[0] = (struct eim_slice){data + 1, size - 1};
		parts[1] = (struct eim_slice){tok.p, tok.len};
		if (eim_sig_sign(eim_key, parts, 2, rs) < 0)
			abort();
		m = eim_der_open(&pkg, 0xbf51);
		eim_buf_append(&pkg, data + 1, size - 1);
		eim_der_put(&pkg, 0x5f37, rs, sizeof(rs));
		eim_der_close(&pkg, m);
		if (!pkg.err && eim_sim_euicc_load_package(e, pkg.p, pkg.len,
							   &out, NULL) == 0) {
			/* Whatever ran, the card must still save and load. */
			char *text = eim_sim_state_to_json(e);
			if (text) {
				if (eim_sim_state_from_json(text, strlen(text),
							    &back, NULL,
							    0) != 0)
					abort();
				eim_sim_euicc_free(back);
				eim_free_secret(text, strlen(text));
			}
			eim_buf_reset(&out);
			eim_sim_euicc_rollback(e, &out);
			eim_sim_euicc_execute_fallback(e);
			eim_sim_euicc_return_from_fallback(e);
		}
		break;
	case 2:
		eim_sim_euicc_ipa_data(e, data + 1, size - 1,
				       (const uint8_t *)"eim", 3, &out);
		break;
	case 3:
		eim_sim_euicc_free(e);
		e = NULL;
		if (eim_sim_euicc_new(eid, cred.key, cred.key_len, cred.cert,
				      cred.cert_len, pki.eum.cert,
				      pki.eum.cert_len, &e) < 0)
			abort();
		eim_sim_euicc_add_initial_eim(e, data + 1, size - 1, &out);
		break;
	default:
		if (eim_sim_state_from_json((const char *)data + 1, size - 1,
					    &back, NULL, 0) == 0)
			eim_sim_euicc_free(back);
		break;
	}
	eim_buf_done(&out);
	eim_buf_done(&pkg);
	eim_buf_done(&tok);
	eim_sim_euicc_free(e);
	return 0;
}
