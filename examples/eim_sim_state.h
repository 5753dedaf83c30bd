/*
 * eim_sim_state.h - the simulated eUICC's state as a JSON file, so that a
 * lab scenario can span several runs and a "reboot" keeps what a card
 * keeps in non-volatile memory: the eIM associations with their keys,
 * counters and tokens, the profiles, the rollback grant, the fallback
 * episode, the unacknowledged results and the next seqNumber and token.
 *
 * Design notes
 * ------------
 *   { "format": "eim-sim-euicc/1", "eid": "8904...",
 *     "key": PEM, "euicc_certificate": PEM, "eum_certificate": PEM,
 *     "ci_pkid": hex, "next_token": 3, "next_seq": 7, ...,
 *     "eims": [ { "eim_id", "counter", "token" (null = none),
 *                 "key_kind": "spki"|"certificate", "key": hex DER, ... } ],
 *     "profiles": [ { "iccid", "enabled", "class", "fallback", ... } ],
 *     "results": [ { "seq", "der": hex } ] }
 *
 * THE FILE HOLDS THE SIMULATED eUICC's PRIVATE KEY (PEM, in the clear): it
 * is a test fixture, written with mode 0600 through a temporary file and
 * rename(), so that a crash never leaves half a state behind.
 * Loading is strict: every member is type- and range-checked, unknown
 * members are refused (a typo must not silently reset a counter), and the
 * error names the member.
 */
#ifndef EIM_SIM_STATE_H
#define EIM_SIM_STATE_H

#include "examples/eim_sim_euicc.h"

#include <stddef.h>

/*
 * Returns the state as JSON text (NUL-terminated, owned by the caller:
 * free with eim_free_secret(text, strlen(text)), it holds the key), or
 * NULL when out of memory.
 */
char *eim_sim_state_to_json(const struct eim_sim_euicc *e);

/*
 * Rebuilds an eUICC from JSON text. On success *ret is a new eUICC (free
 * with eim_sim_euicc_free). On failure returns EIM_EMALFORMED (with a
 * one-line reason such as "eims[0].counter: not an integer in
 * 0..8388607" in err, cap bytes), EIM_EVERSION (another format), or
 * EIM_ENOMEM.
 */
int eim_sim_state_from_json(const char *text, size_t n,
			    struct eim_sim_euicc **ret, char *err, size_t cap);

/*
 * Writes the state to `path` (mode 0600, replaced atomically). Errors:
 * EIM_EIO (errno says why), EIM_ENOMEM, EIM_EINVAL.
 */
int eim_sim_state_save(const struct eim_sim_euicc *e, const char *path);

/*
 * Reads a state file. Errors: EIM_EIO (cannot read; errno), EIM_ETOOBIG
 * (over 16 MiB), and those of eim_sim_state_from_json, with the reason in
 * err.
 */
int eim_sim_state_load(const char *path, struct eim_sim_euicc **ret, char *err,
		       size_t cap);

#endif
