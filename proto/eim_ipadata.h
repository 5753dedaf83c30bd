/*
 * eim_ipadata.h - the eIM packages other than EuiccPackageRequest, and the
 * data the IPA sends back: IpaEuiccDataRequest/Response,
 * ProfileDownloadTriggerRequest/Result, EimAcknowledgements,
 * AddInitialEimRequest/Response and ProfileInfo (SGP.32 v1.2 sections
 * 2.11.1.2, 2.11.1.3, 2.11.2.2-2.11.2.3, 5.9.4; SGP.22 ProfileInfo).
 *
 * Design notes
 * ------------
 *   IpaEuiccDataRequest   BF52 { 5C tagList [04 ciPKId] [A1 {80 seq|81 event}]
 *                                [A2 {80 seq}] [83 txid] }
 *   IpaEuiccDataResponse  BF52 { A0 IpaEuiccData | A1 { [80 txid] 02 code } }
 *   ProfileDownloadTrigger BF54 { [A0 { 80 AC | 81 NULL | A2 { [80 smds] } }]
 *                                [82 txid] }
 *   ...Result             BF54 { [82 txid] BF37 PIR | 30 { 80 reason [04 err] }
 * } EimAcknowledgements   BF53 { 80 seq ... } AddInitialEimRequest  BF57 { A0 {
 * 30 EimConfigurationData ... } } AddInitialEimResponse BF57 { A0 { 84 token |
 * 05 00 ... } | 81 code }
 *
 * Same conventions as eim_pkg.h: structs serve encode and decode, slices
 * with p == NULL are absent fields, decoded slices are views into the
 * caller's buffer. Lists are bounded fixed arrays so that decoding needs no
 * allocation. Structures this eIM only relays or stores (PIR, euiccInfo2,
 * notifications) are kept as raw TLVs.
 */
#ifndef EIM_IPADATA_H
#define EIM_IPADATA_H

#include "common/eim_bytes.h"
#include "proto/eim_der.h"
#include "proto/eim_pkg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EIM_ACKS_MAX 64
#define EIM_IPADATA_MAX_LIST 32

/* ----- IpaEuiccDataRequest (BF52, eIM -> IPA) ----- */

enum eim_notif_search {
	EIM_NOTIF_SEARCH_NONE = 0,
	EIM_NOTIF_SEARCH_SEQ,	/* [0] seqNumber */
	EIM_NOTIF_SEARCH_EVENT, /* [1] NotificationEvent BIT STRING */
};

struct eim_ipadata_req {
	struct eim_slice tag_list; /* required: the IpaEuiccData tags wanted */
	struct eim_slice ci_pkid;  /* euiccCiPKIdentifierToBeUsed, optional */
	enum eim_notif_search notif_search;
	int64_t notif_seq;
	struct eim_slice notif_event; /* BIT STRING content */
	bool has_epr_seq;	      /* searchCriteriaEuiccPackageResult */
	int64_t epr_seq;
	struct eim_slice txid;
};

int eim_ipadata_req_encode(const struct eim_ipadata_req *r,
			   struct eim_buf *out);
/* Decodes a BF52 element `t` read with cursor `c`. */
int eim_ipadata_req_decode(const struct eim_der_cur *c,
			   const struct eim_der_tlv *t,
			   struct eim_ipadata_req *ret);

/* ----- IpaEuiccDataResponse (BF52, IPA -> eIM) ----- */

struct eim_ipadata {
	bool is_error;
	/* error form */
	struct eim_slice err_txid;
	int64_t err_code; /* incorrectTagList 1, euiccCiPKIdNotFound 5, ... */
	/* IpaEuiccData fields (all optional) */
	struct eim_slice
		notifications; /* A0 element (PendingNotification list) */
	struct eim_slice default_smdp; /* 81 UTF-8 */
	struct eim_slice epr_list;    /* A2 element (EuiccPackageResult list) */
	struct eim_slice euicc_info1; /* BF20 element */
	struct eim_slice euicc_info2; /* BF22 element */
	struct eim_slice root_smds;   /* 83 UTF-8 */
	bool has_token;
	int64_t token;		     /* 84 */
	struct eim_slice eum_cert;   /* A5 element (re-tag to 30 for X.509) */
	struct eim_slice euicc_cert; /* A6 element */
	struct eim_slice txid;	     /* 87 */
	struct eim_slice ipa_capabilities; /* A8 element */
	struct eim_slice device_info;	   /* A9 element */
};

/* Encodes (the IPA side) / decodes a BF52 IpaEuiccDataResponse. */
int eim_ipadata_encode(const struct eim_ipadata *d, struct eim_buf *out);
int eim_ipadata_decode(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		       struct eim_ipadata *ret);
/*
 * Iterates over the EuiccPackageResult elements of d->epr_list (or any
 * constructed list element): *it starts at 0; returns 1 with the next
 * element in *ret, 0 at the end, or a negative error.
 */
int eim_ipadata_list_next(struct eim_slice list, size_t *it,
			  struct eim_der_tlv *ret);
const char *eim_ipadata_error_name(int64_t code);

/* ----- ProfileDownloadTriggerRequest / Result (BF54) ----- */

enum eim_pdt_kind {
	EIM_PDT_NONE = 0,	 /* no profileDownloadData: eIM keeps the AC */
	EIM_PDT_ACTIVATION_CODE, /* [0] UTF-8, <= 255 */
	EIM_PDT_DEFAULT_SMDP,	 /* [1] NULL */
	EIM_PDT_SMDS,		 /* [2] { [0] smdsAddress } */
};

struct eim_pdt_req {
	enum eim_pdt_kind kind;
	struct eim_slice activation_code;
	struct eim_slice smds_address; /* optional within EIM_PDT_SMDS */
	struct eim_slice txid;
};

int eim_pdt_req_encode(const struct eim_pdt_req *r, struct eim_buf *out);
int eim_pdt_req_decode(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		       struct eim_pdt_req *ret);

struct eim_pdt_result {
	struct eim_slice txid;
	bool is_error;
	struct eim_slice pir; /* BF37 element (ProfileInstallationResult) */
	int64_t error_reason; /* ecallActive 104, undefinedError 127 */
	struct eim_slice error_response; /* optional 04 content */
};

int eim_pdt_result_encode(const struct eim_pdt_result *r, struct eim_buf *out);
int eim_pdt_result_decode(const struct eim_der_cur *c,
			  const struct eim_der_tlv *t,
			  struct eim_pdt_result *ret);

/* ----- EimAcknowledgements (BF53) ----- */

struct eim_acks {
	size_t n;
	int64_t seq[EIM_ACKS_MAX];
};

int eim_acks_encode(const struct eim_acks *a, struct eim_buf *out);
int eim_acks_decode(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		    struct eim_acks *ret);

/* ----- AddInitialEim (BF57, ES10b, factory bootstrap) ----- */

struct eim_add_initial_req {
	size_t n;
	struct eim_eim_config cfg[EIM_IPADATA_MAX_LIST];
};

int eim_add_initial_req_encode(const struct eim_add_initial_req *r,
			       struct eim_buf *out);
int eim_add_initial_req_decode(const uint8_t *buf, size_t n,
			       struct eim_der_diag *diag,
			       struct eim_add_initial_req *ret);

struct eim_add_initial_resp {
	bool is_error;
	int64_t error_code; /* insufficientMemory 1, associatedEimAlreadyExists
			       2, ... */
	size_t n;
	struct {
		bool has_token; /* false: addOk */
		int64_t token;
	} entry[EIM_IPADATA_MAX_LIST];
};

int eim_add_initial_resp_encode(const struct eim_add_initial_resp *r,
				struct eim_buf *out);
int eim_add_initial_resp_decode(const uint8_t *buf, size_t n,
				struct eim_der_diag *diag,
				struct eim_add_initial_resp *ret);
const char *eim_add_initial_error_name(int64_t code);

/* ----- ProfileInfo (E3), as listProfileInfo returns it ----- */

struct eim_profile_info {
	bool has_iccid;
	uint8_t iccid[EIM_ICCID_LEN];
	struct eim_slice isdp_aid; /* 4F */
	int64_t state;		   /* 9F70: disabled 0, enabled 1; -1 absent */
	struct eim_slice nickname; /* 90 */
	struct eim_slice sp_name;  /* 91 */
	struct eim_slice name;	   /* 92 */
	int64_t icon_type;	   /* 93, -1 absent */
	struct eim_slice icon;	   /* 94 */
	int64_t profile_class; /* 95: test 0, provisioning 1, operational 2; -1
				*/
	struct eim_slice ppr;  /* 99 BIT STRING content */
	int ecall;	       /* 9F7B: -1 absent, 0/1 */
	bool fallback;	       /* 9F26 (DEFAULT FALSE) */
	int fallback_allowed;  /* 9F67: -1 absent, 0/1 */
};

int eim_profile_info_encode(const struct eim_profile_info *p,
			    struct eim_buf *out);
/*
 * Decodes one E3 element. Unknown tags (notificationConfigurationInfo,
 * profileOwner, dpProprietaryData, v1.3 additions) are skipped.
 */
int eim_profile_info_decode(const struct eim_der_cur *c,
			    const struct eim_der_tlv *t,
			    struct eim_profile_info *ret);

/* ICCID text <-> EF.ICCID form: eim_iccid_parse / eim_iccid_format
 * (proto/eim_ids.h). */

#endif
