/*
 * eim_pkg.h - EuiccPackageRequest: typed PSMOs and eCOs, strict DER
 * encoding, eimSignature, and decoding (SGP.32 v1.2 section 2.11.1).
 *
 * Design notes
 * ------------
 *   BF51 L                          EuiccPackageRequest [81]
 *     30 L                          euiccPackageSigned   <- signed as is
 *       80 eimId  5A EID(16)  81 counterValue  [82 eimTransactionId]
 *       A0 { Psmo... }  |  A1 { Eco... }
 *     5F37 40 r||s                  eimSignature
 *
 * eimSignature = ECDSA-SHA256 over DER(euiccPackageSigned) followed by the
 * associationToken data object "84 L INTEGER" (84 01 00 when the eUICC gave
 * no token: token 0 and "no token" are the same bytes).
 *
 * One package carries PSMOs or eCOs, never both. The structs below are
 * used both ways: the service fills them to encode (slices point at its own
 * strings), and the decoder fills them with views into the received buffer.
 * A slice with p == NULL means "field absent".
 *
 * counterValue is bounded to 1..8,388,607 (the 23-bit range every eUICC
 * must handle) when encoding; the decoder accepts 0..2^32-1 so that a lab
 * can inspect whatever a peer sent.
 */
#ifndef EIM_PKG_H
#define EIM_PKG_H

#include "common/eim_bytes.h"
#include "proto/eim_der.h"
#include "proto/eim_ids.h"
#include "proto/eim_sig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EIM_PKG_COUNTER_MAX 8388607
#define EIM_PKG_MAX_OPS 64 /* decoder limit per package */

enum eim_psmo_kind {
	EIM_PSMO_ENABLE = 1,		     /* A3 */
	EIM_PSMO_DISABLE,		     /* A4 */
	EIM_PSMO_DELETE,		     /* A5 */
	EIM_PSMO_LIST_PROFILE_INFO,	     /* BF2D */
	EIM_PSMO_GET_RAT,		     /* A6 */
	EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE, /* A7 */
	EIM_PSMO_SET_FALLBACK,		     /* A8 */
	EIM_PSMO_UNSET_FALLBACK,	     /* A9 */
	EIM_PSMO_SET_DEFAULT_DP,	     /* BF65 */
};

/* listProfileInfo searchCriteria (SGP.22 ProfileInfoListRequest). */
enum eim_search_kind {
	EIM_SEARCH_NONE = 0,
	EIM_SEARCH_ISDP_AID,	  /* 4F, 5..16 bytes */
	EIM_SEARCH_ICCID,	  /* 5A */
	EIM_SEARCH_PROFILE_CLASS, /* 95: test(0), provisioning(1),
				     operational(2) */
};

struct eim_psmo {
	enum eim_psmo_kind kind;
	/* enable, disable, delete, setFallbackAttribute: EF.ICCID bytes */
	uint8_t iccid[EIM_ICCID_LEN];
	bool rollback; /* enable: rollbackFlag */
	/* listProfileInfo */
	enum eim_search_kind search;
	struct eim_slice search_aid;
	uint8_t search_iccid[EIM_ICCID_LEN];
	int64_t search_class;
	struct eim_slice tag_list; /* 5C content; p NULL = absent */
	/* configureImmediateEnable */
	bool immediate_enable;
	struct eim_slice smdp_oid;     /* OID content bytes; NULL = absent */
	struct eim_slice smdp_address; /* UTF-8; NULL = absent */
	/* setDefaultDpAddress (required, may be empty) */
	struct eim_slice dp_address;
};

enum eim_keydata_kind {
	EIM_KEYDATA_NONE = 0,
	EIM_KEYDATA_SPKI, /* [0] SubjectPublicKeyInfo */
	EIM_KEYDATA_CERT, /* [1] Certificate */
};

/*
 * EimConfigurationData (2.11.1.1.1). On encode, pk / tls hold one DER
 * element (SubjectPublicKeyInfo or Certificate, whatever its outer tag: it
 * is re-tagged to [0]/[1]). On decode they are the received [0]/[1] TLV;
 * eim_pkg_keydata_der() turns one back into a standalone DER element.
 */
struct eim_eim_config {
	struct eim_slice eim_id; /* 1..128 bytes UTF-8, required */
	struct eim_slice fqdn;	 /* optional */
	int64_t id_type;	 /* 0 = absent; oid(1) fqdn(2) proprietary(3) */
	bool has_counter;
	int64_t counter;
	bool has_token;
	int64_t token; /* -1 asks the eUICC to generate one (v1.3) */
	enum eim_keydata_kind pk_kind;
	struct eim_slice pk;
	enum eim_keydata_kind tls_kind;
	struct eim_slice tls;
	struct eim_slice
		protocols; /* BIT STRING content (unused-bits byte first) */
	struct eim_slice ci_pkid; /* SubjectKeyIdentifier; optional */
	bool indirect_download;
	struct eim_slice proprietary; /* v1.3 [10] content, decode only */
};

enum eim_eco_kind {
	EIM_ECO_ADD_EIM = 1, /* A8 */
	EIM_ECO_DELETE_EIM,  /* A9 */
	EIM_ECO_UPDATE_EIM,  /* AA */
	EIM_ECO_LIST_EIM,    /* AB */
};

struct eim_eco {
	enum eim_eco_kind kind;
	struct eim_eim_config cfg; /* add, update */
	struct eim_slice eim_id;   /* delete */
};

/* One eUICC package, as the service describes it or the decoder finds it. */
struct eim_pkg {
	struct eim_slice eim_id; /* 1..128 bytes */
	uint8_t eid[EIM_EID_LEN];
	int64_t counter;       /* 1..EIM_PKG_COUNTER_MAX on encode */
	struct eim_slice txid; /* 1..16 bytes, NULL = absent */
	bool is_eco;
	const struct eim_psmo *psmo; /* n_ops entries when !is_eco */
	const struct eim_eco *eco;   /* n_ops entries when is_eco */
	size_t n_ops;
};

/*
 * Appends DER(euiccPackageSigned) (the 30 ... element) to out.
 * Errors: EIM_EINVAL (missing/oversized field, no operations, unknown kind),
 * EIM_ERANGE (counter outside 1..8,388,607), or out->err.
 */
int eim_pkg_encode_signed(const struct eim_pkg *pkg, struct eim_buf *out);

/*
 * Builds the whole EuiccPackageRequest (BF51 ...) signed with `key` and
 * appends it to out. `token` is the associationToken for (eIM, EID); 0 when
 * none. This is the call the service makes when it queues a package.
 * Errors: those of eim_pkg_encode_signed, EIM_ESTATE (public key), EIM_ECRYPTO.
 */
int eim_pkg_build(const struct eim_pkg *pkg, int64_t token,
		  struct eim_sig_key *key, struct eim_buf *out);

/* Appends the associationToken DO (84 L INTEGER) to out. */
void eim_pkg_token_do(int64_t token, struct eim_buf *out);

/*
 * The one signing rule of SGP.32 packages and results: checks `sig` (raw
 * r||s) over `signed_raw` exactly as received followed by the
 * associationToken DO of `token`. 0 or EIM_EVERIFY (see eim_sig_verify).
 */
int eim_pkg_verify_signed(struct eim_slice signed_raw, struct eim_slice sig,
			  int64_t token, const struct eim_sig_key *key);

/* A decoded EuiccPackageRequest. Owns `psmo`/`eco` arrays only. */
struct eim_pkg_view {
	struct eim_pkg pkg;
	struct eim_slice raw;	     /* the whole BF51 element */
	struct eim_slice signed_raw; /* the 30 element, as received */
	struct eim_slice signature;  /* 5F37 value */
	struct eim_psmo *psmo_store;
	struct eim_eco *eco_store;
};

/*
 * Decodes one EuiccPackageRequest from `t` (a BF51 element read with the
 * cursor `c`, which supplies offsets and the diagnostic sink). On success
 * *ret holds views into the caller's buffer plus allocated op arrays: call
 * eim_pkg_view_done(). Errors: EIM_ETAG, EIM_ETRUNC, EIM_EMALFORMED,
 * EIM_ERANGE, EIM_ETOOBIG (more than EIM_PKG_MAX_OPS), EIM_ENOMEM.
 */
int eim_pkg_decode_tlv(const struct eim_der_cur *c, const struct eim_der_tlv *t,
		       struct eim_pkg_view *ret);
/* Same over a buffer holding exactly one BF51 element. */
int eim_pkg_decode(const uint8_t *buf, size_t n, struct eim_der_diag *diag,
		   struct eim_pkg_view *ret);
void eim_pkg_view_done(struct eim_pkg_view *v);

/*
 * Checks the eimSignature of a decoded package over the bytes received and
 * the token DO, with the eIM's public key. 0 or EIM_EVERIFY.
 */
int eim_pkg_verify(const struct eim_pkg_view *v, int64_t token,
		   const struct eim_sig_key *eim_pub);

/*
 * Writes an EimConfigurationData SEQUENCE body with tag `tag` (0x30 as a
 * list entry, 0xA8/0xAA inside addEim/updateEim) to out. EIM_EINVAL when
 * eim_id is missing or too long.
 */
int eim_pkg_encode_config(const struct eim_eim_config *cfg, uint32_t tag,
			  struct eim_buf *out);
/* Decodes the contents of an EimConfigurationData element `t`. */
int eim_pkg_decode_config(const struct eim_der_cur *c,
			  const struct eim_der_tlv *t,
			  struct eim_eim_config *ret);

/* Re-tags a decoded [0]/[1] key element to a standalone 30 DER element. */
int eim_pkg_keydata_der(struct eim_slice keydata, struct eim_buf *out);

/* Names for logs and `eim decode`: "enable", "addEim", ... */
const char *eim_psmo_name(enum eim_psmo_kind k);
const char *eim_eco_name(enum eim_eco_kind k);

#endif
