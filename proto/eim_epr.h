/*
 * eim_epr.h - EuiccPackageResult: decode, verify, encode (SGP.32 v1.2
 * section 2.11.2.1), with the names of every result code.
 *
 * Design notes
 * ------------
 *   BF51 L  EuiccPackageResult [81] CHOICE
 *     A0 { 30 { 80 eimId 81 counter [82 txid] 83 seqNumber
 *               30 { EuiccResultData... } }          <- signed as received
 *          5F37 40 euiccSignEPR }                      euiccPackageResultSigned
 *   | A1 { 30 { 80 eimId 81 counter [82 txid] 02 code }
 *          5F37 40 euiccSignEPE }                      euiccPackageErrorSigned
 *   | A2 { 80 eimId [82 txid] [84 token] [8F code] } euiccPackageErrorUnsigned
 *
 * euiccSignEPR / EPE = ECDSA-SHA256 by the eUICC over the 30 element AS
 * RECEIVED followed by the associationToken DO (84 01 00 without token).
 * Real eUICCs are not strictly DER, so the decoder keeps the raw bytes and
 * the verifier never re-encodes. An unsigned error is by definition not
 * authenticated: nothing in it may be trusted beyond "the eUICC refused".
 *
 * EuiccResultData alternatives are identified by their tag (0x83 enable,
 * 0x84 disable, ..., 0x02 processingTerminated, 0xBF65 setDefaultDpAddress);
 * eim_epr_result_name() / eim_epr_code_name() give the ASN.1 names.
 * The encoder exists for the device simulator and tests (it plays the
 * eUICC); the service only decodes and verifies.
 */
#ifndef EIM_EPR_H
#define EIM_EPR_H

#include "common/eim_bytes.h"
#include "proto/eim_der.h"
#include "proto/eim_sig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EIM_EPR_MAX_RESULTS 64

/* EuiccResultData tags. */
enum {
	EIM_RES_ENABLE = 0x83,
	EIM_RES_DISABLE = 0x84,
	EIM_RES_DELETE = 0x85,
	EIM_RES_LIST_PROFILE_INFO = 0xbf2d,
	EIM_RES_GET_RAT = 0xa6,
	EIM_RES_CONFIGURE_IMMEDIATE_ENABLE = 0x87,
	EIM_RES_ADD_EIM = 0xa8,
	EIM_RES_DELETE_EIM = 0x89,
	EIM_RES_UPDATE_EIM = 0x8a,
	EIM_RES_LIST_EIM = 0xab,
	EIM_RES_ROLLBACK = 0x8c,
	EIM_RES_SET_FALLBACK = 0x8d,
	EIM_RES_UNSET_FALLBACK = 0x8e,
	EIM_RES_PROCESSING_TERMINATED = 0x02,
	EIM_RES_SET_DEFAULT_DP = 0xbf65,
};

/* One EuiccResultData. */
struct eim_epr_result {
	uint32_t tag;	/* EIM_RES_* */
	int64_t code;	/* result code; -1 when the alternative carries data */
	bool has_token; /* addEimResult carried an associationToken */
	int64_t token;
	/*
	 * listProfileInfoResult, getRATResult, listEimResult: the whole
	 * alternative TLV (BF2D..., A6..., AB...) as received. On encode, when
	 * set it is copied as is; when NULL the error `code` form is written.
	 */
	struct eim_slice data;
};

enum eim_epr_kind {
	EIM_EPR_RESULT_SIGNED = 0,  /* A0 */
	EIM_EPR_ERROR_SIGNED = 1,   /* A1 */
	EIM_EPR_ERROR_UNSIGNED = 2, /* A2 */
};

struct eim_epr {
	enum eim_epr_kind kind;
	struct eim_slice eim_id;
	int64_t counter;		      /* signed forms */
	struct eim_slice txid;		      /* NULL = absent */
	int64_t seq;			      /* RESULT_SIGNED: seqNumber */
	const struct eim_epr_result *results; /* RESULT_SIGNED */
	size_t n_results;
	int64_t error_code; /* ERROR_SIGNED; ERROR_UNSIGNED (-1 = absent) */
	bool has_token;	    /* ERROR_UNSIGNED */
	int64_t token;
	/* Filled by the decoder: */
	struct eim_slice raw;	      /* the BF51 element */
	struct eim_slice signed_raw;  /* the 30 element (signed forms) */
	struct eim_slice signature;   /* 5F37 value (signed forms) */
	struct eim_epr_result *store; /* owned; eim_epr_done() */
};

/*
 * Decodes an EuiccPackageResult element `t` (BF51) read with cursor `c`.
 * Views point into the caller's buffer; results are allocated (call
 * eim_epr_done()). Errors: EIM_ETAG (not BF51, unknown form or result
 * alternative), EIM_ETRUNC, EIM_EMALFORMED, EIM_ERANGE, EIM_ETOOBIG,
 * EIM_ENOMEM. The diagnostic in c->diag says where.
 */
int eim_epr_decode_tlv(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		       struct eim_epr *ret);
/* Same over a buffer holding exactly one BF51 element. */
int eim_epr_decode(const uint8_t *buf, size_t n, struct eim_der_diag *diag,
		   struct eim_epr *ret);
void eim_epr_done(struct eim_epr *e);

/*
 * Verifies euiccSignEPR / euiccSignEPE of a decoded signed result with the
 * eUICC's public key (from CERT.EUICC) and the associationToken (0 = none).
 * Returns 0, EIM_EVERIFY, or EIM_ESTATE for an unsigned error.
 */
int eim_epr_verify(const struct eim_epr *e, int64_t token,
		   const struct eim_sig_key *euicc_pub);

/*
 * Encodes `e` as a BF51 element appended to out; the signed forms are
 * signed with `euicc_key` over the encoded 30 element || token DO.
 * Errors: EIM_EINVAL, EIM_ESTATE (public key), EIM_ECRYPTO, out->err.
 */
int eim_epr_encode(const struct eim_epr *e, int64_t token,
		   struct eim_sig_key *euicc_key, struct eim_buf *out);

/* "enableResult", "processingTerminated", ...; "unknown" otherwise. */
const char *eim_epr_result_name(uint32_t tag);
/*
 * Name of `code` for result alternative `tag` ("ok", "iccidOrAidNotFound",
 * ...), or NULL when the code is not defined for it.
 */
const char *eim_epr_code_name(uint32_t tag, int64_t code);
/* EuiccPackageErrorCode / unsigned error code names, NULL if unknown. */
const char *eim_epr_error_name(enum eim_epr_kind kind, int64_t code);
/* "euiccPackageResultSigned", ... */
const char *eim_epr_kind_name(enum eim_epr_kind kind);

/*
 * True when the result counts as success: code ok(0) (and lastEimDeleted
 * for deleteEim), an associationToken for addEim, or the data form of the
 * list/getRAT results.
 */
bool eim_epr_result_ok(const struct eim_epr_result *r);

#endif
