/*
 * eim_esipa.h - the ESipa messages (SGP.32 v1.2 section 6.3, ASN.1 binding):
 * EsipaMessageFromIpaToEim and EsipaMessageFromEimToIpa, both directions
 * encoded and decoded.
 *
 * Design notes
 * ------------
 * A message is one TLV whose tag selects the function:
 *
 *   BF39 initiateAuthentication   BF3B authenticateClient  (relay, opaque)
 *   BF3A getBoundProfilePackage   BF41 cancelSession       (relay, opaque)
 *   BF3D handleNotification       (IPA -> eIM only)
 *   BF4E transferEimPackage       (request eIM -> IPA, response IPA -> eIM)
 *   BF4F getEimPackage            (request IPA -> eIM, response eIM -> IPA)
 *   BF50 provideEimPackageResult  (result IPA -> eIM, response eIM -> IPA)
 *
 * The eIM decodes with eim_esipa_decode_from_ipa() and answers with
 * eim_esipa_encode_from_eim(); the device simulator does the reverse. The
 * embedded EuiccPackageRequest / EuiccPackageResult / IpaEuiccDataResponse
 * are kept as raw TLVs here (views into the received buffer): a package is
 * stored signed and sent byte for byte, and a result must be verified over
 * its bytes as received, so the caller decodes them with eim_pkg / eim_epr /
 * eim_ipadata when it needs the fields.
 *
 * Accepted on input besides v1.2 (PROTOCOL section 11): v1.0 GetEimPackage
 * rPLMN as [1] of 3 bytes, v1.0 ProvideEimPackageResult as a bare CHOICE
 * with notificationList BF2B, v1.0 empty ProvideEimPackageResultResponse
 * (BF50 00), v1.0 HandleNotification A1 wrapper, a pending notification
 * directly under BF3D, and the v1.3 TransferEimPackageResponse *WithCid.
 */
#ifndef EIM_ESIPA_H
#define EIM_ESIPA_H

#include "common/eim_bytes.h"
#include "proto/eim_der.h"
#include "proto/eim_ipadata.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum eim_esipa_tag {
	EIM_ESIPA_INITIATE_AUTH = 0xbf39,
	EIM_ESIPA_AUTH_CLIENT = 0xbf3b,
	EIM_ESIPA_GET_BPP = 0xbf3a,
	EIM_ESIPA_CANCEL_SESSION = 0xbf41,
	EIM_ESIPA_HANDLE_NOTIFICATION = 0xbf3d,
	EIM_ESIPA_TRANSFER_EIM_PACKAGE = 0xbf4e,
	EIM_ESIPA_GET_EIM_PACKAGE = 0xbf4f,
	EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT = 0xbf50,
};

/* GetEimPackageResponse.eimPackageError and ProvideEimPackageResultResponse
 * error codes. */
enum {
	EIM_PKG_ERR_NO_PACKAGE = 1, /* noEimPackageAvailable */
	EIM_PKG_ERR_EID_NOT_FOUND = 2,
	EIM_PKG_ERR_INVALID_EID = 3,
	EIM_PKG_ERR_MISSING_EID = 4,
	EIM_PKG_ERR_UNDEFINED = 127,
};

/* ----- IPA -> eIM ----- */

struct eim_esipa_get_pkg_req {
	uint8_t eid[16];
	bool notify_state_change;
	bool has_cause;
	int64_t cause; /* otherEim 0 ... deviceChange 6, undefined 127 */
	bool has_rplmn;
	uint8_t rplmn[3];
};

enum eim_esipa_result_kind {
	EIM_RESULT_EPR = 1,	   /* euiccPackageResult BF51 */
	EIM_RESULT_EPR_AND_NOTIFS, /* 30 { BF51, A0 list } */
	EIM_RESULT_IPA_DATA,	   /* ipaEuiccDataResponse BF52 */
	EIM_RESULT_PDT,		   /* profileDownloadTriggerResult BF54 */
	EIM_RESULT_ERROR,	   /* eimPackageResultResponseError A0 */
};

/* ProvideEimPackageResult (BF50) - also inside HandleNotification. */
struct eim_esipa_result {
	bool has_eid;
	uint8_t eid[16];
	enum eim_esipa_result_kind kind;
	struct eim_slice body; /* the BF51 / BF52 / BF54 element */
	struct eim_slice
		notifs; /* EPR_AND_NOTIFS: the A0 (or v1.0 BF2B) list */
	struct eim_slice err_txid; /* ERROR */
	int64_t err_code; /* invalidPackageFormat 1, unknownPackage 2, 127 */
	bool v10;	  /* decoded from the v1.0 bare CHOICE form */
};

enum eim_esipa_notif_kind {
	EIM_NOTIF_PENDING = 1, /* pendingNotification */
	EIM_NOTIF_PROVIDE_RESULT,
};

struct eim_esipa_notification {
	enum eim_esipa_notif_kind kind;
	struct eim_slice pending; /* BF37 / 30 / A0 / A1 PendingNotification */
	struct eim_esipa_result result;
};

enum eim_esipa_transfer_resp_kind {
	EIM_TRESP_EPR = 1,
	EIM_TRESP_EPR_AND_NOTIFS,
	EIM_TRESP_IPA_DATA,
	EIM_TRESP_RECEIVED,	/* eimPackageReceived NULL */
	EIM_TRESP_RECEIVED_CID, /* v1.3 [96] */
	EIM_TRESP_ERROR,	/* eimPackageError INTEGER */
	EIM_TRESP_ERROR_CID,	/* v1.3 [97] */
};

enum eim_esipa_cid_kind {
	EIM_CID_NONE = 0,
	EIM_CID_TXID, /* [0] eimTransactionId */
	EIM_CID_EID,  /* 5A eidValue */
};

struct eim_esipa_transfer_resp {
	enum eim_esipa_transfer_resp_kind kind;
	struct eim_slice body;	 /* BF51 / BF52 element */
	struct eim_slice notifs; /* EPR_AND_NOTIFS: A0 list */
	int64_t err_code;
	enum eim_esipa_cid_kind cid_kind;
	struct eim_slice cid;
};

struct eim_esipa_from_ipa {
	uint32_t tag;				    /* enum eim_esipa_tag */
	struct eim_slice raw;			    /* the whole message */
	struct eim_esipa_get_pkg_req get;	    /* GET_EIM_PACKAGE */
	struct eim_esipa_result result;		    /* PROVIDE_... */
	struct eim_esipa_notification notification; /* HANDLE_NOTIFICATION */
	struct eim_esipa_transfer_resp transfer;    /* TRANSFER_EIM_PACKAGE */
	/* relay functions: only tag and raw */
};

/*
 * Decodes one EsipaMessageFromIpaToEim occupying buf[0..n). On error the
 * diagnostic (if given) holds the byte offset and reason. Errors:
 * EIM_ETAG (unknown function or alternative), EIM_ETRUNC, EIM_EMALFORMED,
 * EIM_ERANGE, EIM_ETOOBIG.
 */
int eim_esipa_decode_from_ipa(const uint8_t *buf, size_t n,
			      struct eim_der_diag *diag,
			      struct eim_esipa_from_ipa *ret);
/*
 * Encodes a message from the IPA side (simulator, tests). For relay
 * functions `raw` is copied as is (it must be one element with `tag`).
 */
int eim_esipa_encode_from_ipa(const struct eim_esipa_from_ipa *m,
			      struct eim_buf *out);

/* ----- eIM -> IPA ----- */

enum eim_esipa_pkg_kind {
	EIM_EPKG_EUICC_PACKAGE = 1, /* BF51, signed bytes from the queue */
	EIM_EPKG_IPA_DATA,	    /* BF52 IpaEuiccDataRequest */
	EIM_EPKG_PDT,		    /* BF54 ProfileDownloadTriggerRequest */
	EIM_EPKG_ACKS,		    /* BF53, TransferEimPackageRequest only */
	EIM_EPKG_ERROR, /* eimPackageError, GetEimPackageResponse only */
};

/* GetEimPackageResponse (BF4F) and TransferEimPackageRequest (BF4E). */
struct eim_esipa_package {
	enum eim_esipa_pkg_kind kind;
	struct eim_slice euicc_package; /* the BF51 element */
	struct eim_ipadata_req ipa_data;
	struct eim_pdt_req pdt;
	struct eim_acks acks;
	int64_t err_code; /* EIM_PKG_ERR_* */
};

enum eim_esipa_provide_resp_kind {
	EIM_PRESP_ACKS = 1, /* BF53 */
	EIM_PRESP_EMPTY,    /* emptyResponse 30 00 (v1.0: no content) */
	EIM_PRESP_ERROR,    /* provideEimPackageResultError INTEGER */
};

struct eim_esipa_provide_resp {
	enum eim_esipa_provide_resp_kind kind;
	struct eim_acks acks;
	int64_t err_code;
};

struct eim_esipa_from_eim {
	uint32_t tag;
	struct eim_slice raw;
	struct eim_esipa_package package; /* GET_EIM_PACKAGE, TRANSFER_... */
	struct eim_esipa_provide_resp provide; /* PROVIDE_... */
};

int eim_esipa_decode_from_eim(const uint8_t *buf, size_t n,
			      struct eim_der_diag *diag,
			      struct eim_esipa_from_eim *ret);
int eim_esipa_encode_from_eim(const struct eim_esipa_from_eim *m,
			      struct eim_buf *out);

/* Shorthands for the service's common answers (append to out). */
/* BF4F { <signed BF51 package as queued> } */
int eim_esipa_get_pkg_response_package(const uint8_t *pkg, size_t n,
				       struct eim_buf *out);
/* BF4F 03 02 01 code (noEimPackageAvailable = 1, ...) */
int eim_esipa_get_pkg_response_error(int64_t code, struct eim_buf *out);
/* BF50 { BF53 { 80 seq ... } }, or BF50 02 30 00 when n == 0 */
int eim_esipa_provide_response_acks(const int64_t *seq, size_t n,
				    struct eim_buf *out);
/* BF50 03 02 01 code */
int eim_esipa_provide_response_error(int64_t code, struct eim_buf *out);

/* Names: "getEimPackageRequest", "noEimPackageAvailable", ... */
const char *eim_esipa_from_ipa_name(uint32_t tag);
const char *eim_esipa_from_eim_name(uint32_t tag);
const char *eim_esipa_pkg_error_name(int64_t code);
const char *eim_esipa_result_error_name(int64_t code);
const char *eim_esipa_state_change_name(int64_t cause);

#endif
