/*
 * eim_sim_euicc_int.h - what eim_sim_euicc.c (package checks, eCOs,
 * IpaEuiccData) and eim_sim_psmo.c (PSMOs, rollback, fallback) share.
 * Not for use outside examples/eim_sim_*.c.
 */
#ifndef EIM_SIM_EUICC_INT_H
#define EIM_SIM_EUICC_INT_H

#include "examples/eim_sim_euicc.h"
#include "proto/eim_epr.h"

/* The results of one package being executed. */
struct eim_sim_exec {
	struct eim_epr_result res[EIM_PKG_MAX_OPS];
	struct eim_buf data[EIM_PKG_MAX_OPS]; /* backing of res[i].data */
	size_t n;
	/* An enable with rollbackFlag succeeded: grant after signing. */
	bool grant;
	bool grant_has_previous;
	uint8_t grant_previous[EIM_ICCID_LEN];
	uint8_t grant_enabled[EIM_ICCID_LEN];
	/* The requesting eIM deleted itself: apply after signing. */
	bool delete_self;
};

/*
 * Runs the PSMOs of `pkg` in order, stopping after the first failure,
 * appending one result per executed PSMO to x. Returns 0 or EIM_ENOMEM.
 */
int eim_sim__run_psmos(struct eim_sim_euicc *e, const struct eim_pkg *pkg,
		       struct eim_sim_exec *x);

/* Appends one result to x and returns it (zeroed, code 0). */
struct eim_epr_result *eim_sim__result(struct eim_sim_exec *x, uint32_t tag);

/*
 * Keeps a copy of a signed result under `seq` until acknowledged (the
 * oldest is dropped when the list is full). 0 or EIM_ENOMEM.
 */
int eim_sim__store_result(struct eim_sim_euicc *e, int64_t seq,
			  const uint8_t *der, size_t len);

/*
 * True when s is text the card keeps as a string: valid UTF-8 (shortest
 * forms, no surrogates) without NUL. UTF8String fields that fail this are
 * refused rather than stored truncated.
 */
bool eim_sim__text_ok(struct eim_slice s);

/* Index of the enabled profile, or -1. */
int eim_sim__enabled(const struct eim_sim_euicc *e);

#endif
