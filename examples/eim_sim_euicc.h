/*
 * eim_sim_euicc.h - a model of an IoT eUICC (SGP.32 v1.2) for the device
 * simulator: the eIM associations, LoadEuiccPackage with its checks and
 * every PSMO and eCO, the stored results, IpaEuiccData, AddInitialEim,
 * ProfileRollback and the fallback mechanism.
 *
 * Design notes
 * ------------
 * It is strict where a real eUICC is strict, in the order a real eUICC
 * checks (SGP.32 5.9.1 as read by public eUICC emulations):
 *
 *   1. parse the EuiccPackageRequest (failure: no result, EIM_E* code);
 *   2. unknown eimId, or eimSignature not valid over the signed TLV as
 *      received || that association's token DO -> euiccPackageErrorUnsigned;
 *   3. EID not ours                           -> signed error invalidEid(3);
 *   4. counterValue <= last accepted           -> signed error replayError(4);
 *   5. counterValue > 8,388,607                -> counterValueOutOfRange(6);
 *   6. store the counter, execute the operations (stop at the first
 *      failure, its result ends the list), sign the result with the eUICC
 *      key over the signed TLV || the token DO of that eIM's association.
 *
 * Every EuiccPackageResultSigned gets the next seqNumber and stays in the
 * "unacknowledged" list until the eIM acknowledges that seqNumber
 * (eim_sim_euicc_ack). Signed errors carry no seqNumber in SGP.32 and are
 * returned but not stored; unsigned errors are not stored either: nothing
 * about an unauthenticated sender is kept.
 *
 * The state is a plain struct so that the state file (eim_sim_state.h) and
 * tests can read it; change it only through the functions below. Limits
 * are fixed arrays: a real eUICC has a fixed amount of memory too, and a
 * full table gives insufficientMemory(1).
 *
 * Thread safety: none; one device is driven by one thread.
 */
#ifndef EIM_SIM_EUICC_H
#define EIM_SIM_EUICC_H

#include "proto/eim_ids.h"
#include "proto/eim_pkg.h"
#include "proto/eim_sig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EIM_SIM_MAX_EIMS 8
#define EIM_SIM_MAX_PROFILES 16
#define EIM_SIM_MAX_RESULTS 32 /* stored EPRs; the oldest is dropped */
#define EIM_SIM_EIM_ID_MAX 128
#define EIM_SIM_FQDN_MAX 255
#define EIM_SIM_KEYDATA_MAX 2048
#define EIM_SIM_NAME_MAX 64
#define EIM_SIM_ADDR_MAX 255

/* One associated eIM (EimConfigurationData as the eUICC keeps it). */
struct eim_sim_eim {
	char eim_id[EIM_SIM_EIM_ID_MAX + 1]; /* UTF-8, NUL-terminated */
	size_t eim_id_len;
	char fqdn[EIM_SIM_FQDN_MAX + 1]; /* "" = absent */
	int64_t id_type;		 /* 0 = absent */
	int64_t counter;		 /* last accepted counterValue */
	bool has_token;
	int64_t token;
	/* eimPublicKeyData: a standalone SPKI or Certificate (30 ...). */
	enum eim_keydata_kind key_kind;
	uint8_t key_data[EIM_SIM_KEYDATA_MAX];
	size_t key_data_len;
	/* trustedPublicKeyDataTls, kept for listEim/updateEim only. */
	enum eim_keydata_kind tls_kind;
	uint8_t tls_data[EIM_SIM_KEYDATA_MAX];
	size_t tls_data_len;
	uint8_t protocols[8]; /* BIT STRING content */
	size_t protocols_len;
	bool indirect_download;
	struct eim_sig_key *key; /* loaded from key_data; owned */
};

/* Profile classes (SGP.22 ProfileClass). */
enum {
	EIM_SIM_CLASS_TEST = 0,
	EIM_SIM_CLASS_PROVISIONING = 1,
	EIM_SIM_CLASS_OPERATIONAL = 2
};

struct eim_sim_profile {
	uint8_t iccid[EIM_ICCID_LEN];
	uint8_t aid[16]; /* ISD-P AID */
	size_t aid_len;
	bool enabled;
	char name[EIM_SIM_NAME_MAX + 1];    /* profileName (92) */
	char sp_name[EIM_SIM_NAME_MAX + 1]; /* serviceProviderName (91) */
	int profile_class;
	bool fallback;	       /* Fallback Attribute set */
	bool fallback_allowed; /* metadata fallbackAllowed (9F67) */
};

/* A signed result kept until the eIM acknowledges its seqNumber. */
struct eim_sim_result {
	int64_t seq;
	uint8_t *der; /* the BF51 element; owned */
	size_t len;
};

/*
 * What ProfileRollback needs: the profile to return to, and the identity
 * of the package that granted it (the rollback result replaces its EPR).
 */
struct eim_sim_rollback {
	bool granted;
	bool has_previous;
	uint8_t previous[EIM_ICCID_LEN]; /* enabled before the package */
	uint8_t enabled[EIM_ICCID_LEN];	 /* enabled by the package */
	int64_t seq;			 /* the EPR it replaces */
	size_t eim;			 /* index into eims */
	char eim_id[EIM_SIM_EIM_ID_MAX + 1];
	int64_t counter;
	uint8_t txid[16];
	size_t txid_len;
};

struct eim_sim_euicc {
	uint8_t eid[EIM_EID_LEN];
	struct eim_sim_eim eims[EIM_SIM_MAX_EIMS];
	size_t n_eims;
	struct eim_sim_profile profiles[EIM_SIM_MAX_PROFILES];
	size_t n_profiles;
	struct eim_sim_rollback rollback;
	/* Fallback active: the profile ReturnFromFallback goes back to. */
	bool fallback_active;
	uint8_t fallback_return[EIM_ICCID_LEN];
	/* Set by ExecuteFallback/ReturnFromFallback/ProfileRollback for the
	 * IPA's next GetEimPackage notifyStateChange (0 = none). */
	int state_change_cause;
	/* configureImmediateEnable */
	bool immediate_enable;
	uint8_t immediate_smdp_oid[32];
	size_t immediate_smdp_oid_len;
	char immediate_smdp_address[EIM_SIM_ADDR_MAX + 1];
	char default_smdp[EIM_SIM_ADDR_MAX + 1]; /* "" = none */
	char root_smds[EIM_SIM_ADDR_MAX + 1];
	int64_t next_token;
	int64_t next_seq;
	struct eim_sim_result results[EIM_SIM_MAX_RESULTS];
	size_t n_results;
	/* The eUICC's credentials (CERT.EUICC.ECDSA and CERT.EUM.ECDSA). */
	struct eim_sig_key *key; /* private; owned */
	uint8_t *key_der;	 /* SEC1 DER of key; owned, wiped */
	size_t key_der_len;
	uint8_t *euicc_cert; /* DER; owned */
	size_t euicc_cert_len;
	uint8_t *eum_cert; /* DER; owned */
	size_t eum_cert_len;
	uint8_t ci_pkid[32]; /* SKID of the CI (euiccCiPKId); len 0 = unknown */
	size_t ci_pkid_len;
};

/*
 * Creates an eUICC with the given EID and credentials: `key` (PEM or DER
 * private key), the eUICC and EUM certificates (PEM or DER). No eIM is
 * associated, no profile installed; tokens and seqNumbers start at 1.
 * Returns 0 and *ret (free with eim_sim_euicc_free), or EIM_EMALFORMED /
 * EIM_EVERIFY (EID), EIM_EMALFORMED (key or certificate), EIM_ESTATE (key
 * without private part), EIM_ENOMEM, EIM_EINVAL.
 */
int eim_sim_euicc_new(const uint8_t eid[EIM_EID_LEN], const uint8_t *key,
		      size_t key_len, const uint8_t *euicc_cert,
		      size_t euicc_cert_len, const uint8_t *eum_cert,
		      size_t eum_cert_len, struct eim_sim_euicc **ret);
/* Frees everything (wiping the private key). NULL is a no-op. */
void eim_sim_euicc_free(struct eim_sim_euicc *e);

/*
 * Installs a profile as if it had been downloaded (factory or test
 * fixture), disabled. Errors: EIM_EEXIST (ICCID present), EIM_ETOOBIG
 * (table full), EIM_EINVAL.
 */
int eim_sim_euicc_add_profile(struct eim_sim_euicc *e,
			      const struct eim_sim_profile *p);
/* Index of the profile with this ICCID, or -1. */
int eim_sim_euicc_find_profile(const struct eim_sim_euicc *e,
			       const uint8_t iccid[EIM_ICCID_LEN]);
/* Index of the eIM with this eimId, or -1. */
int eim_sim_euicc_find_eim(const struct eim_sim_euicc *e, const uint8_t *id,
			   size_t len);

/*
 * Adds one eIM from a decoded EimConfigurationData: the rules of
 * AddInitialEim and addEim. Returns the AddEimResultCode (0 ok, 1
 * insufficientMemory, 2 associatedEimAlreadyExists, 5
 * invalidAssociationToken, 6 counterValueOutOfRange, 7 commandError) and,
 * with code 0, whether a token was generated (*ret_has_token, *ret_token).
 * For the state file and tests; packages use the functions below.
 */
int eim_sim_euicc_add_eim(struct eim_sim_euicc *e,
			  const struct eim_eim_config *cfg, bool *ret_has_token,
			  int64_t *ret_token);

/*
 * ES10b AddInitialEim: decodes `req` (BF57 { A0 { EimConfigurationData
 * ... } }, what `eim export-initial-eim` writes) and appends the
 * AddInitialEimResponse to `out`. Refused with associatedEimAlreadyExists
 * while any eIM is associated. All-or-nothing: on an error code no eIM is
 * added. Returns 0 when a response was written (check its code), the
 * decoder's error for a malformed request, or out->err.
 */
int eim_sim_euicc_add_initial_eim(struct eim_sim_euicc *e, const uint8_t *req,
				  size_t len, struct eim_buf *out);

/*
 * ES10b LoadEuiccPackage: runs the checks and operations described above
 * and appends the EuiccPackageResult (BF51) to `out`. Returns 0 when a
 * result was produced (signed or unsigned: decode it to see which), the
 * decoder's error (EIM_ETAG, EIM_ETRUNC, EIM_EMALFORMED, EIM_ERANGE,
 * EIM_ETOOBIG) when the request cannot be parsed, EIM_ECRYPTO, or
 * out->err. When `ret_seq` is not NULL it receives the seqNumber of the
 * stored result (-1 for an error form).
 * EIM_ENOMEM after the checks passed may leave the counter spent and some
 * operations applied (a real card would revert): treat it as fatal.
 */
int eim_sim_euicc_load_package(struct eim_sim_euicc *e, const uint8_t *pkg,
			       size_t len, struct eim_buf *out,
			       int64_t *ret_seq);

/*
 * IpaEuiccDataRequest (BF52 element) -> IpaEuiccDataResponse appended to
 * `out`: the fields whose tags were asked (A0 notifications [always empty:
 * the model keeps no other notifications], 81, A2 stored results, BF20,
 * BF22, 83, 84 [the token of `eim_id`'s association], A5, A6; A8/A9 belong
 * to the IPA and are left out) with the eimTransactionId echoed, or the
 * error form incorrectTagList(1) when a tag is unknown. `eim_id` names the
 * requesting eIM (NULL: no token). Returns 0, a decode error, or out->err.
 */
int eim_sim_euicc_ipa_data(struct eim_sim_euicc *e, const uint8_t *req,
			   size_t len, const uint8_t *eim_id, size_t eim_id_len,
			   struct eim_buf *out);

/*
 * Drops the stored results with these seqNumbers (EimAcknowledgements).
 * Unknown numbers are ignored. Returns how many were dropped.
 */
size_t eim_sim_euicc_ack(struct eim_sim_euicc *e, const int64_t *seq, size_t n);

/*
 * Appends the stored results (BF51 elements, oldest first) to `out`, e.g.
 * for ProvideEimPackageResult retries. Returns 0 or out->err.
 */
int eim_sim_euicc_results(const struct eim_sim_euicc *e, struct eim_buf *out);

/* ProfileRollback cmdResult codes (SGP.32 5.9.16). */
enum {
	EIM_SIM_ROLLBACK_OK = 0,
	EIM_SIM_ROLLBACK_NOT_ALLOWED = 1,
	EIM_SIM_ROLLBACK_UNDEFINED = 127
};
/*
 * ES10b ProfileRollback: undoes the enable that granted the rollback
 * (re-enables the previous profile) and replaces that package's stored
 * result by a new signed one (same eimId, counter and txid, a new
 * seqNumber, the single result rollbackResult ok). Returns the cmdResult
 * (>= 0), with the new result appended to `out` when it is ok; or a
 * negative EIM_E* on an internal failure.
 */
int eim_sim_euicc_rollback(struct eim_sim_euicc *e, struct eim_buf *out);

/* ExecuteFallbackMechanism / ReturnFromFallback result codes (5.9.20-21). */
enum {
	EIM_SIM_FALLBACK_OK = 0,
	EIM_SIM_FALLBACK_NOT_DISABLED = 2,
	EIM_SIM_FALLBACK_NOT_AVAILABLE = 6
};
/*
 * ES10b ExecuteFallbackMechanism: enables the profile with the Fallback
 * Attribute (remembering the enabled one to return to). Returns 0,
 * profileNotInDisabledState(2) when the fallback profile is already the
 * enabled one, fallbackNotAvailable(6) when no profile has the attribute.
 * Clears the rollback grant; sets state_change_cause to fallback(1).
 */
int eim_sim_euicc_execute_fallback(struct eim_sim_euicc *e);
/*
 * ES10b ReturnFromFallback: back to the profile enabled before the
 * fallback. 0, or fallbackNotAvailable(6) when no fallback is active.
 */
int eim_sim_euicc_return_from_fallback(struct eim_sim_euicc *e);

#endif
