/*
 * cmd_decode.c - `eim decode`: print one SGP.32 message as a readable tree
 * (or JSON) and check its signatures.
 *
 * The input (binary, hex or base64, detected) is first validated with the
 * typed decoders of proto/ - the same code the service runs - so a malformed
 * message is reported exactly as the service would see it, with the byte
 * offset. Only then is it printed, by walking the TLVs against a table of
 * field names per context (the SGP.32 v1.2 ASN.1 names, as in the protocol
 * notes). Signatures are verified over the bytes as received: eimSignature
 * of every EuiccPackageRequest with --eim-key, euiccSignEPR/EPE of every
 * EuiccPackageResult with --euicc-cert.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim/cli.h"
#include "proto/eim_der.h"
#include "proto/eim_epr.h"
#include "proto/eim_esipa.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"
#include "proto/eim_sig.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "decode"
#define MAX_INPUT (1u << 20)
#define MAX_KEYS 16

/* ----- the field-name schema ----- */

enum fk {
	F_SEQ,	/* constructed, children named by `sub` */
	F_LIST, /* SEQUENCE OF: children named by `sub`, JSON array */
	F_UTF8,
	F_HEX,
	F_INT,
	F_CODE, /* INTEGER with a name table */
	F_EID,
	F_ICCID,
	F_NULL,
	F_BOOL,
	F_RAW, /* opaque element: hex of the whole TLV */
};

struct fdef {
	uint32_t tag;
	const char *name;
	enum fk kind;
	const struct fdef *sub;
	const char *(*code)(int64_t);
};

#define END                                                                    \
	{                                                                      \
		0, NULL, F_RAW, NULL, NULL                                     \
	}

static const char *c_id_type(int64_t c)
{
	static const char *const n[] = {NULL, "eimIdTypeOid", "eimIdTypeFqdn",
					"eimIdTypeProprietary"};
	return c >= 1 && c <= 3 ? n[c] : NULL;
}
static const char *c_class(int64_t c)
{
	static const char *const n[] = {"test", "provisioning", "operational"};
	return c >= 0 && c <= 2 ? n[c] : NULL;
}
static const char *c_state(int64_t c)
{
	return c == 0 ? "disabled" : c == 1 ? "enabled" : NULL;
}
static const char *c_pdt_error(int64_t c)
{
	return c == 104 ? "ecallActive" : c == 127 ? "undefinedError" : NULL;
}
static const char *c_epe(int64_t c)
{
	return eim_epr_error_name(EIM_EPR_ERROR_SIGNED, c);
}
static const char *c_epu(int64_t c)
{
	return eim_epr_error_name(EIM_EPR_ERROR_UNSIGNED, c);
}
#define RESULT_CODE(fn, tag)                                                   \
	static const char *fn(int64_t c)                                       \
	{                                                                      \
		return eim_epr_code_name(tag, c);                              \
	}
RESULT_CODE(c_enable, EIM_RES_ENABLE)
RESULT_CODE(c_disable, EIM_RES_DISABLE)
RESULT_CODE(c_delete, EIM_RES_DELETE)
RESULT_CODE(c_list_info, EIM_RES_LIST_PROFILE_INFO)
RESULT_CODE(c_cie, EIM_RES_CONFIGURE_IMMEDIATE_ENABLE)
RESULT_CODE(c_add_eim, EIM_RES_ADD_EIM)
RESULT_CODE(c_delete_eim, EIM_RES_DELETE_EIM)
RESULT_CODE(c_update_eim, EIM_RES_UPDATE_EIM)
RESULT_CODE(c_list_eim, EIM_RES_LIST_EIM)
RESULT_CODE(c_rollback, EIM_RES_ROLLBACK)
RESULT_CODE(c_set_fb, EIM_RES_SET_FALLBACK)
RESULT_CODE(c_unset_fb, EIM_RES_UNSET_FALLBACK)
RESULT_CODE(c_terminated, EIM_RES_PROCESSING_TERMINATED)
RESULT_CODE(c_set_dp, EIM_RES_SET_DEFAULT_DP)

static const struct fdef iccid_only[] = {{0x5a, "iccid", F_ICCID, NULL, NULL},
					 END};
static const struct fdef empty_seq[] = {END};
static const struct fdef search_criteria[] =
	{{0x4f, "isdpAid", F_HEX, NULL, NULL},
	 {0x5a, "iccid", F_ICCID, NULL, NULL},
	 {0x95, "profileClass", F_CODE, NULL, c_class},
	 END};
static const struct fdef list_info_req[] = {{0xa0, "searchCriteria", F_SEQ,
					     search_criteria, NULL},
					    {0x5c, "tagList", F_HEX, NULL,
					     NULL},
					    END};
static const struct fdef enable_fields[] = {{0x5a, "iccid", F_ICCID, NULL,
					     NULL},
					    {0x05, "rollbackFlag", F_NULL, NULL,
					     NULL},
					    END};
static const struct fdef cie_fields[] =
	{{0x80, "immediateEnableFlag", F_NULL, NULL, NULL},
	 {0x81, "defaultSmdpOid", F_HEX, NULL, NULL},
	 {0x82, "defaultSmdpAddress", F_UTF8, NULL, NULL},
	 END};
static const struct fdef dp_fields[] = {{0x80, "defaultDpAddress", F_UTF8, NULL,
					 NULL},
					END};
static const struct fdef psmo[] =
	{{0xa3, "enable", F_SEQ, enable_fields, NULL},
	 {0xa4, "disable", F_SEQ, iccid_only, NULL},
	 {0xa5, "delete", F_SEQ, iccid_only, NULL},
	 {0xbf2d, "listProfileInfo", F_SEQ, list_info_req, NULL},
	 {0xa6, "getRAT", F_SEQ, empty_seq, NULL},
	 {0xa7, "configureImmediateEnable", F_SEQ, cie_fields, NULL},
	 {0xa8, "setFallbackAttribute", F_SEQ, iccid_only, NULL},
	 {0xa9, "unsetFallbackAttribute", F_SEQ, empty_seq, NULL},
	 {0xbf65, "setDefaultDpAddress", F_SEQ, dp_fields, NULL},
	 END};
static const struct fdef keydata[] = {{0xa0, "eimPublicKey", F_RAW, NULL, NULL},
				      {0xa1, "eimCertificate", F_RAW, NULL,
				       NULL},
				      END};
static const struct fdef tlsdata[] = {{0xa0, "trustedEimPkTls", F_RAW, NULL,
				       NULL},
				      {0xa1, "trustedCertificateTls", F_RAW,
				       NULL, NULL},
				      END};
static const struct fdef config[] =
	{{0x80, "eimId", F_UTF8, NULL, NULL},
	 {0x81, "eimFqdn", F_UTF8, NULL, NULL},
	 {0x82, "eimIdType", F_CODE, NULL, c_id_type},
	 {0x83, "counterValue", F_INT, NULL, NULL},
	 {0x84, "associationToken", F_INT, NULL, NULL},
	 {0xa5, "eimPublicKeyData", F_SEQ, keydata, NULL},
	 {0xa6, "trustedPublicKeyDataTls", F_SEQ, tlsdata, NULL},
	 {0x87, "eimSupportedProtocol", F_HEX, NULL, NULL},
	 {0x88, "euiccCiPKId", F_HEX, NULL, NULL},
	 {0x89, "indirectProfileDownload", F_NULL, NULL, NULL},
	 {0xaa, "eSipaProprietaryProtocolInformation", F_RAW, NULL, NULL},
	 END};
static const struct fdef eim_id_only[] = {{0x80, "eimId", F_UTF8, NULL, NULL},
					  END};
static const struct fdef eco[] = {{0xa8, "addEim", F_SEQ, config, NULL},
				  {0xa9, "deleteEim", F_SEQ, eim_id_only, NULL},
				  {0xaa, "updateEim", F_SEQ, config, NULL},
				  {0xab, "listEim", F_SEQ, empty_seq, NULL},
				  END};
static const struct fdef pkg_signed[] = {{0x80, "eimId", F_UTF8, NULL, NULL},
					 {0x5a, "eidValue", F_EID, NULL, NULL},
					 {0x81, "counterValue", F_INT, NULL,
					  NULL},
					 {0x82, "eimTransactionId", F_HEX, NULL,
					  NULL},
					 {0xa0, "psmoList", F_LIST, psmo, NULL},
					 {0xa1, "ecoList", F_LIST, eco, NULL},
					 END};
static const struct fdef pkg_req[] = {{0x30, "euiccPackageSigned", F_SEQ,
				       pkg_signed, NULL},
				      {0x5f37, "eimSignature", F_HEX, NULL,
				       NULL},
				      END};

static const struct fdef profile_info[] =
	{{0x5a, "iccid", F_ICCID, NULL, NULL},
	 {0x4f, "isdpAid", F_HEX, NULL, NULL},
	 {0x9f70, "profileState", F_CODE, NULL, c_state},
	 {0x90, "profileNickname", F_UTF8, NULL, NULL},
	 {0x91, "serviceProviderName", F_UTF8, NULL, NULL},
	 {0x92, "profileName", F_UTF8, NULL, NULL},
	 {0x93, "iconType", F_INT, NULL, NULL},
	 {0x94, "icon", F_HEX, NULL, NULL},
	 {0x95, "profileClass", F_CODE, NULL, c_class},
	 {0xb6, "notificationConfigurationInfo", F_RAW, NULL, NULL},
	 {0xb7, "profileOwner", F_RAW, NULL, NULL},
	 {0xb8, "dpProprietaryData", F_RAW, NULL, NULL},
	 {0x99, "profilePolicyRules", F_HEX, NULL, NULL},
	 {0xbf22, "serviceSpecificDataStoredInEuicc", F_RAW, NULL, NULL},
	 {0x9f7b, "ecallIndication", F_BOOL, NULL, NULL},
	 {0x9f26, "fallbackAttribute", F_BOOL, NULL, NULL},
	 {0x9f67, "fallbackAllowed", F_BOOL, NULL, NULL},
	 {0xbf64, "iotSpecificProfileInfo", F_RAW, NULL, NULL},
	 END};
static const struct fdef profile_list[] = {{0xe3, "profileInfo", F_SEQ,
					    profile_info, NULL},
					   END};
static const struct fdef list_info_res[] = {{0xa0, "profileInfoListOk", F_LIST,
					     profile_list, NULL},
					    {0x81, "profileInfoListError",
					     F_CODE, NULL, c_list_info},
					    END};
static const struct fdef add_eim_res[] = {{0x84, "associationToken", F_INT,
					   NULL, NULL},
					  {0x02, "addEimResultCode", F_CODE,
					   NULL, c_add_eim},
					  END};
static const struct fdef eim_id_info[] = {{0x80, "eimId", F_UTF8, NULL, NULL},
					  {0x82, "eimIdType", F_CODE, NULL,
					   c_id_type},
					  END};
static const struct fdef eim_id_list[] = {{0x30, "eimIdInfo", F_SEQ,
					   eim_id_info, NULL},
					  END};
static const struct fdef list_eim_res[] = {{0xa0, "eimIdList", F_LIST,
					    eim_id_list, NULL},
					   {0x81, "listEimError", F_CODE, NULL,
					    c_list_eim},
					   END};
static const struct fdef set_dp_res[] = {{0x80, "setDefaultDpAddressResult",
					  F_CODE, NULL, c_set_dp},
					 END};
static const struct fdef result_data[] =
	{{0x83, "enableResult", F_CODE, NULL, c_enable},
	 {0x84, "disableResult", F_CODE, NULL, c_disable},
	 {0x85, "deleteResult", F_CODE, NULL, c_delete},
	 {0xbf2d, "listProfileInfoResult", F_SEQ, list_info_res, NULL},
	 {0xa6, "getRATResult", F_RAW, NULL, NULL},
	 {0x87, "configureImmediateEnableResult", F_CODE, NULL, c_cie},
	 {0xa8, "addEimResult", F_SEQ, add_eim_res, NULL},
	 {0x89, "deleteEimResult", F_CODE, NULL, c_delete_eim},
	 {0x8a, "updateEimResult", F_CODE, NULL, c_update_eim},
	 {0xab, "listEimResult", F_SEQ, list_eim_res, NULL},
	 {0x8c, "rollbackResult", F_CODE, NULL, c_rollback},
	 {0x8d, "setFallbackAttributeResult", F_CODE, NULL, c_set_fb},
	 {0x8e, "unsetFallbackAttributeResult", F_CODE, NULL, c_unset_fb},
	 {0x02, "processingTerminated", F_CODE, NULL, c_terminated},
	 {0xbf65, "setDefaultDpAddressResult", F_SEQ, set_dp_res, NULL},
	 END};
static const struct fdef epr_data[] =
	{{0x80, "eimId", F_UTF8, NULL, NULL},
	 {0x81, "counterValue", F_INT, NULL, NULL},
	 {0x82, "eimTransactionId", F_HEX, NULL, NULL},
	 {0x83, "seqNumber", F_INT, NULL, NULL},
	 {0x30, "euiccResult", F_LIST, result_data, NULL},
	 END};
static const struct fdef epr_signed[] = {{0x30, "euiccPackageResultDataSigned",
					  F_SEQ, epr_data, NULL},
					 {0x5f37, "euiccSignEPR", F_HEX, NULL,
					  NULL},
					 END};
static const struct fdef epe_data[] =
	{{0x80, "eimId", F_UTF8, NULL, NULL},
	 {0x81, "counterValue", F_INT, NULL, NULL},
	 {0x82, "eimTransactionId", F_HEX, NULL, NULL},
	 {0x02, "euiccPackageErrorCode", F_CODE, NULL, c_epe},
	 END};
static const struct fdef epe_signed[] = {{0x30, "euiccPackageErrorDataSigned",
					  F_SEQ, epe_data, NULL},
					 {0x5f37, "euiccSignEPE", F_HEX, NULL,
					  NULL},
					 END};
static const struct fdef epe_unsigned[] =
	{{0x80, "eimId", F_UTF8, NULL, NULL},
	 {0x82, "eimTransactionId", F_HEX, NULL, NULL},
	 {0x84, "associationToken", F_INT, NULL, NULL},
	 {0x8f, "euiccPackageUnsignedErrorCode", F_CODE, NULL, c_epu},
	 END};
static const struct fdef epr[] =
	{{0xa0, "euiccPackageResultSigned", F_SEQ, epr_signed, NULL},
	 {0xa1, "euiccPackageErrorSigned", F_SEQ, epe_signed, NULL},
	 {0xa2, "euiccPackageErrorUnsigned", F_SEQ, epe_unsigned, NULL},
	 END};
static const struct fdef epr_list[] = {{0xbf51, "euiccPackageResult", F_SEQ,
					epr, NULL},
				       END};

static const struct fdef notif_search[] = {{0x80, "seqNumber", F_INT, NULL,
					    NULL},
					   {0x81, "profileManagementOperation",
					    F_HEX, NULL, NULL},
					   END};
static const struct fdef epr_search[] = {{0x80, "seqNumber", F_INT, NULL, NULL},
					 END};
static const struct fdef ipadata_req[] =
	{{0x5c, "tagList", F_HEX, NULL, NULL},
	 {0x04, "euiccCiPKIdentifierToBeUsed", F_HEX, NULL, NULL},
	 {0xa1, "searchCriteriaNotification", F_SEQ, notif_search, NULL},
	 {0xa2, "searchCriteriaEuiccPackageResult", F_SEQ, epr_search, NULL},
	 {0x83, "eimTransactionId", F_HEX, NULL, NULL},
	 END};
static const struct fdef ipa_caps[] =
	{{0x80, "ipaFeatures", F_HEX, NULL, NULL},
	 {0x81, "ipaSupportedProtocols", F_HEX, NULL, NULL},
	 {0xa2, "eSipaProprietaryProtocolInformation", F_RAW, NULL, NULL},
	 END};
static const struct fdef pending[] =
	{{0xbf37, "profileInstallationResult", F_RAW, NULL, NULL},
	 {0x30, "otherSignedNotification", F_RAW, NULL, NULL},
	 {0xa0, "compactProfileInstallationResult", F_RAW, NULL, NULL},
	 {0xa1, "compactOtherSignedNotification", F_RAW, NULL, NULL},
	 END};
static const struct fdef ipadata_fields[] =
	{{0xa0, "notificationsList", F_LIST, pending, NULL},
	 {0x81, "defaultSmdpAddress", F_UTF8, NULL, NULL},
	 {0xa2, "euiccPackageResultList", F_LIST, epr_list, NULL},
	 {0xbf20, "euiccInfo1", F_RAW, NULL, NULL},
	 {0xbf22, "euiccInfo2", F_RAW, NULL, NULL},
	 {0x83, "rootSmdsAddress", F_UTF8, NULL, NULL},
	 {0x84, "associationToken", F_INT, NULL, NULL},
	 {0xa5, "eumCertificate", F_RAW, NULL, NULL},
	 {0xa6, "euiccCertificate", F_RAW, NULL, NULL},
	 {0x87, "eimTransactionId", F_HEX, NULL, NULL},
	 {0xa8, "ipaCapabilities", F_SEQ, ipa_caps, NULL},
	 {0xa9, "deviceInfo", F_RAW, NULL, NULL},
	 END};
static const struct fdef ipadata_err[] =
	{{0x80, "eimTransactionId", F_HEX, NULL, NULL},
	 {0x02, "ipaEuiccDataErrorCode", F_CODE, NULL, eim_ipadata_error_name},
	 END};
static const struct fdef ipadata_resp[] = {{0xa0, "ipaEuiccData", F_SEQ,
					    ipadata_fields, NULL},
					   {0xa1, "ipaEuiccDataResponseError",
					    F_SEQ, ipadata_err, NULL},
					   END};
static const struct fdef smds[] = {{0x80, "smdsAddress", F_UTF8, NULL, NULL},
				   END};
static const struct fdef pdd[] = {{0x80, "activationCode", F_UTF8, NULL, NULL},
				  {0x81, "contactDefaultSmdp", F_NULL, NULL,
				   NULL},
				  {0xa2, "contactSmds", F_SEQ, smds, NULL},
				  END};
static const struct fdef pdt_req[] = {{0xa0, "profileDownloadData", F_SEQ, pdd,
				       NULL},
				      {0x82, "eimTransactionId", F_HEX, NULL,
				       NULL},
				      END};
static const struct fdef pdt_err[] = {{0x80, "profileDownloadErrorReason",
				       F_CODE, NULL, c_pdt_error},
				      {0x04, "errorResponse", F_HEX, NULL,
				       NULL},
				      END};
static const struct fdef pdt_res[] =
	{{0x82, "eimTransactionId", F_HEX, NULL, NULL},
	 {0xbf37, "profileInstallationResult", F_RAW, NULL, NULL},
	 {0x30, "profileDownloadError", F_SEQ, pdt_err, NULL},
	 END};
static const struct fdef acks[] = {{0x80, "sequenceNumber", F_INT, NULL, NULL},
				   END};

static const struct fdef get_req[] = {{0x5a, "eidValue", F_EID, NULL, NULL},
				      {0x80, "notifyStateChange", F_NULL, NULL,
				       NULL},
				      {0x81, "stateChangeCause", F_CODE, NULL,
				       eim_esipa_state_change_name},
				      {0x82, "rPLMN", F_HEX, NULL, NULL},
				      END};
static const struct fdef get_resp[] =
	{{0xbf51, "euiccPackageRequest", F_SEQ, pkg_req, NULL},
	 {0xbf52, "ipaEuiccDataRequest", F_SEQ, ipadata_req, NULL},
	 {0xbf54, "profileDownloadTriggerRequest", F_SEQ, pdt_req, NULL},
	 {0x02, "eimPackageError", F_CODE, NULL, eim_esipa_pkg_error_name},
	 END};
static const struct fdef epr_and_notifs[] =
	{{0xbf51, "euiccPackageResult", F_SEQ, epr, NULL},
	 {0xa0, "notificationList", F_LIST, pending, NULL},
	 {0xbf2b, "notificationList", F_LIST, pending, NULL},
	 END};
static const struct fdef result_err[] = {{0x80, "eimTransactionId", F_HEX, NULL,
					  NULL},
					 {0x02, "eimPackageResultErrorCode",
					  F_CODE, NULL,
					  eim_esipa_result_error_name},
					 END};
static const struct fdef provide[] =
	{{0x5a, "eidValue", F_EID, NULL, NULL},
	 {0xbf51, "euiccPackageResult", F_SEQ, epr, NULL},
	 {0x30, "ePRAndNotifications", F_SEQ, epr_and_notifs, NULL},
	 {0xbf52, "ipaEuiccDataResponse", F_SEQ, ipadata_resp, NULL},
	 {0xbf54, "profileDownloadTriggerResult", F_SEQ, pdt_res, NULL},
	 {0xa0, "eimPackageResultResponseError", F_SEQ, result_err, NULL},
	 END};
static const struct fdef provide_resp[] =
	{{0xbf53, "eimAcknowledgements", F_LIST, acks, NULL},
	 {0x30, "emptyResponse", F_SEQ, empty_seq, NULL},
	 {0x02, "provideEimPackageResultError", F_CODE, NULL,
	  eim_esipa_pkg_error_name},
	 END};
static const struct fdef handle_notif[] =
	{{0xa0, "pendingNotification", F_SEQ, pending, NULL},
	 {0xbf37, "profileInstallationResult", F_RAW, NULL, NULL},
	 {0x30, "otherSignedNotification", F_RAW, NULL, NULL},
	 {0xbf50, "provideEimPackageResult", F_SEQ, provide, NULL},
	 {0xa1, "provideEimPackageResult", F_SEQ, provide, NULL},
	 END};
static const struct fdef cid[] = {{0x80, "eimTransactionId", F_HEX, NULL, NULL},
				  {0x5a, "eidValue", F_EID, NULL, NULL},
				  {0x02, "eimPackageError", F_CODE, NULL,
				   eim_esipa_result_error_name},
				  END};
static const struct fdef transfer_req[] =
	{{0xbf51, "euiccPackageRequest", F_SEQ, pkg_req, NULL},
	 {0xbf52, "ipaEuiccDataRequest", F_SEQ, ipadata_req, NULL},
	 {0xbf53, "eimAcknowledgements", F_LIST, acks, NULL},
	 {0xbf54, "profileDownloadTriggerRequest", F_SEQ, pdt_req, NULL},
	 END};
static const struct fdef transfer_resp[] =
	{{0xbf51, "euiccPackageResult", F_SEQ, epr, NULL},
	 {0x30, "ePRAndNotifications", F_SEQ, epr_and_notifs, NULL},
	 {0xbf52, "ipaEuiccDataResponse", F_SEQ, ipadata_resp, NULL},
	 {0x05, "eimPackageReceived", F_NULL, NULL, NULL},
	 {0xbf60, "eimPackageReceivedWithCid", F_SEQ, cid, NULL},
	 {0x02, "eimPackageError", F_CODE, NULL, eim_esipa_result_error_name},
	 {0xbf61, "eimPackageErrorWithCid", F_SEQ, cid, NULL},
	 END};
static const struct fdef from_ipa[] =
	{{0xbf39, "initiateAuthenticationRequestEsipa", F_RAW, NULL, NULL},
	 {0xbf3b, "authenticateClientRequestEsipa", F_RAW, NULL, NULL},
	 {0xbf3a, "getBoundProfilePackageRequestEsipa", F_RAW, NULL, NULL},
	 {0xbf41, "cancelSessionRequestEsipa", F_RAW, NULL, NULL},
	 {0xbf3d, "handleNotificationEsipa", F_SEQ, handle_notif, NULL},
	 {0xbf4e, "transferEimPackageResponse", F_SEQ, transfer_resp, NULL},
	 {0xbf4f, "getEimPackageRequest", F_SEQ, get_req, NULL},
	 {0xbf50, "provideEimPackageResult", F_SEQ, provide, NULL},
	 END};
static const struct fdef from_eim[] =
	{{0xbf39, "initiateAuthenticationResponseEsipa", F_RAW, NULL, NULL},
	 {0xbf3b, "authenticateClientResponseEsipa", F_RAW, NULL, NULL},
	 {0xbf3a, "getBoundProfilePackageResponseEsipa", F_RAW, NULL, NULL},
	 {0xbf41, "cancelSessionResponseEsipa", F_RAW, NULL, NULL},
	 {0xbf4e, "transferEimPackageRequest", F_SEQ, transfer_req, NULL},
	 {0xbf4f, "getEimPackageResponse", F_SEQ, get_resp, NULL},
	 {0xbf50, "provideEimPackageResultResponse", F_SEQ, provide_resp, NULL},
	 END};
static const struct fdef bare_pkg[] = {{0xbf51, "euiccPackageRequest", F_SEQ,
					pkg_req, NULL},
				       END};
static const struct fdef bare_epr[] = {{0xbf51, "euiccPackageResult", F_SEQ,
					epr, NULL},
				       END};
static const struct fdef config_list[] = {{0x30, "eimConfigurationData", F_SEQ,
					   config, NULL},
					  END};
static const struct fdef add_init_req_f[] = {{0xa0, "eimConfigurationDataList",
					      F_LIST, config_list, NULL},
					     END};
static const struct fdef add_init_ok[] = {{0x84, "associationToken", F_INT,
					   NULL, NULL},
					  {0x05, "addOk", F_NULL, NULL, NULL},
					  END};
static const struct fdef add_init_resp_f[] =
	{{0xa0, "addInitialEimOk", F_LIST, add_init_ok, NULL},
	 {0x81, "addInitialEimError", F_CODE, NULL, eim_add_initial_error_name},
	 END};
static const struct fdef add_init_req[] = {{0xbf57, "addInitialEimRequest",
					    F_SEQ, add_init_req_f, NULL},
					   END};
static const struct fdef add_init_resp[] = {{0xbf57, "addInitialEimResponse",
					     F_SEQ, add_init_resp_f, NULL},
					    END};

/* ----- printing ----- */

struct printer {
	bool json;
	cJSON *root;
};

static const struct fdef *find(const struct fdef *tab, uint32_t tag)
{
	for (; tab && tab->name; tab++)
		if (tab->tag == tag)
			return tab;
	return NULL;
}

static void print_tag(uint32_t tag)
{
	printf(" (%0*X)", (int)eim_der_tag_size(tag) * 2, (unsigned)tag);
}

static char *hex_dup(const uint8_t *p, size_t n)
{
	char *s = eim_malloc(2 * n + 1);

	if (s)
		eim_hex_encode(p, n, s);
	return s;
}

/* Prints a UTF-8 field as a C-like quoted string (escapes controls). */
static void print_quoted(const uint8_t *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	}
	putchar('"');
}

static cJSON *leaf_json(const struct fdef *f, const struct eim_der_tlv *t)
{
	struct eim_der_cur c;
	int64_t v;
	bool b;
	char *s;
	cJSON *j = NULL;

	eim_der_cur_init(&c, t->raw, t->raw_len, NULL);
	switch (f->kind) {
	case F_UTF8: {
		char *z = eim_malloc(t->len + 1);
		if (!z)
			return NULL;
		memcpy(z, t->val, t->len);
		z[t->len] = '\0';
		j = cJSON_CreateString(z);
		eim_free(z);
		return j;
	}
	case F_INT:
		if (eim_der_get_int(&c, t, INT64_MIN, INT64_MAX, &v) == 0)
			return cJSON_CreateNumber((double)v);
		break;
	case F_CODE:
		if (eim_der_get_int(&c, t, INT64_MIN, INT64_MAX, &v) == 0) {
			const char *n = f->code ? f->code(v) : NULL;
			return n ? cJSON_CreateString(n)
				 : cJSON_CreateNumber((double)v);
		}
		break;
	case F_NULL:
		return cJSON_CreateNull();
	case F_BOOL:
		if (eim_der_get_bool(&c, t, &b) == 0)
			return cJSON_CreateBool(b);
		break;
	case F_ICCID:
		if (t->len == EIM_ICCID_LEN) {
			char d[21];
			eim_iccid_format(t->val, d);
			return cJSON_CreateString(d);
		}
		break;
	case F_RAW:
		s = hex_dup(t->raw, t->raw_len);
		j = s ? cJSON_CreateString(s) : NULL;
		eim_free(s);
		return j;
	default:
		break;
	}
	/* EID (its hex is its digits), hex fields, and anything odd. */
	s = hex_dup(t->val, t->len);
	j = s ? cJSON_CreateString(s) : NULL;
	eim_free(s);
	return j;
}

static void leaf_text(const struct fdef *f, const struct eim_der_tlv *t)
{
	struct eim_der_cur c;
	int64_t v;
	bool b;
	char *s;

	eim_der_cur_init(&c, t->raw, t->raw_len, NULL);
	switch (f->kind) {
	case F_UTF8:
		print_quoted(t->val, t->len);
		return;
	case F_INT:
		if (eim_der_get_int(&c, t, INT64_MIN, INT64_MAX, &v) == 0) {
			printf("%lld", (long long)v);
			return;
		}
		break;
	case F_CODE:
		if (eim_der_get_int(&c, t, INT64_MIN, INT64_MAX, &v) == 0) {
			const char *n = f->code ? f->code(v) : NULL;
			printf("%lld (%s)", (long long)v,
			       n ? n : "unknown code");
			return;
		}
		break;
	case F_NULL:
		printf("present");
		return;
	case F_BOOL:
		if (eim_der_get_bool(&c, t, &b) == 0) {
			printf("%s", b ? "true" : "false");
			return;
		}
		break;
	case F_ICCID:
		if (t->len == EIM_ICCID_LEN) {
			char d[21];
			eim_iccid_format(t->val, d);
			printf("%s", d);
			return;
		}
		break;
	case F_RAW:
		s = hex_dup(t->raw, t->raw_len);
		printf("%zu bytes %s", t->raw_len, s ? s : "");
		eim_free(s);
		return;
	default:
		break;
	}
	s = hex_dup(t->val, t->len);
	printf("%s", s ? s : "");
	eim_free(s);
}

/*
 * Walks the children of `t` against `tab`; `parent` receives JSON members
 * (object) or items (array, for F_LIST). Depth is bounded by the schema.
 */
static void walk(struct printer *pr, const struct eim_der_tlv *t,
		 const struct fdef *tab, bool list, cJSON *parent, int depth)
{
	struct eim_der_cur c;
	struct eim_der_tlv ch;

	eim_der_cur_init(&c, t->val, t->len, NULL);
	while (!eim_der_at_end(&c) && eim_der_read(&c, &ch) == 0) {
		const struct fdef *f = find(tab, ch.tag);
		struct fdef unknown = {ch.tag, "unknown", F_RAW, NULL, NULL};
		cJSON *node = NULL;

		if (!f)
			f = &unknown;
		if (!pr->json) {
			printf("%*s%s", depth * 2, "", f->name);
			print_tag(ch.tag);
		}
		if ((f->kind == F_SEQ || f->kind == F_LIST) && ch.constructed) {
			if (!pr->json)
				printf("\n");
			node = f->kind == F_LIST ? cJSON_CreateArray()
						 : cJSON_CreateObject();
			walk(pr, &ch, f->sub, f->kind == F_LIST, node,
			     depth + 1);
		} else if (pr->json) {
			node = leaf_json(f, &ch);
		} else {
			printf(": ");
			leaf_text(f, &ch);
			printf("\n");
		}
		if (!pr->json) {
			cJSON_Delete(node);
			continue;
		}
		if (list) {
			cJSON *item = cJSON_CreateObject();
			cJSON_AddItemToObject(item, f->name, node);
			cJSON_AddItemToArray(parent, item);
		} else {
			cJSON_AddItemToObject(parent, f->name, node);
		}
	}
}

/* ----- input ----- */

static int read_all(FILE *f, uint8_t **ret, size_t *ret_len)
{
	size_t cap = 4096, n = 0;
	uint8_t *p = eim_malloc(cap), *q;
	size_t got;

	if (!p)
		return EIM_ENOMEM;
	while ((got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			if (cap >= MAX_INPUT) {
				eim_free(p);
				return EIM_ETOOBIG;
			}
			q = eim_realloc(p, cap * 2);
			if (!q) {
				eim_free(p);
				return EIM_ENOMEM;
			}
			p = q;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		eim_free(p);
		return EIM_EIO;
	}
	*ret = p;
	*ret_len = n;
	return 0;
}

/* Binary unless every byte is text; text is hex if it can be, else base64. */
static int to_binary(uint8_t *in, size_t n, size_t *ret_len, const char **how)
{
	bool text = n > 0, hex = true;
	size_t out = 0;
	int rc;

	for (size_t i = 0; i < n && text; i++) {
		uint8_t ch = in[i];
		if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ')
			continue;
		if (ch < 0x21 || ch > 0x7e)
			text = false;
		else if (!strchr("0123456789abcdefABCDEF:", ch))
			hex = false;
	}
	if (!text) {
		*how = "binary";
		*ret_len = n;
		return 0;
	}
	if (hex) {
		*how = "hex";
		rc = eim_hex_decode((const char *)in, n, in, n, &out);
	} else {
		*how = "base64";
		rc = eim_base64_decode((const char *)in, n, in, n, &out);
	}
	if (rc < 0)
		return rc;
	*ret_len = out;
	return 0;
}

/* ----- keys and signatures ----- */

struct keyset {
	size_t n;
	const char *path[MAX_KEYS];
	struct eim_sig_key *key[MAX_KEYS];
};

static int load_key(const char *path, struct eim_sig_key **ret)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc;

	if (!f)
		return EIM_EIO;
	rc = read_all(f, &buf, &n);
	fclose(f);
	if (rc < 0)
		return rc;
	rc = eim_sig_key_load(buf, n, ret);
	eim_free(buf);
	return rc;
}

struct sigreport {
	cJSON *arr;
	bool json;
	int failures;
};

static void report(struct sigreport *r, const char *what, int64_t counter,
		   const struct keyset *ks,
		   int (*check)(const void *, int64_t,
				const struct eim_sig_key *),
		   const void *obj, int64_t token)
{
	const char *by = NULL;

	for (size_t i = 0; i < ks->n && !by; i++)
		if (check(obj, token, ks->key[i]) == 0)
			by = ks->path[i];
	if (!by)
		r->failures++;
	if (r->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "signature", what);
		cJSON_AddNumberToObject(o, "counterValue", (double)counter);
		cJSON_AddBoolToObject(o, "verified", by != NULL);
		if (by)
			cJSON_AddStringToObject(o, "key", by);
		cJSON_AddItemToArray(r->arr, o);
	} else {
		printf("%s (counterValue %lld): %s%s\n", what,
		       (long long)counter,
		       by ? "verified with "
			  : "DOES NOT VERIFY with the keys given",
		       by ? by : "");
	}
}

static int check_pkg(const void *o, int64_t token, const struct eim_sig_key *k)
{
	return eim_pkg_verify(o, token, k);
}

static int check_epr(const void *o, int64_t token, const struct eim_sig_key *k)
{
	return eim_epr_verify(o, token, k);
}

static void verify_pkg(struct sigreport *r, const struct keyset *ks,
		       struct eim_slice s, int64_t token)
{
	struct eim_pkg_view v;

	if (!ks->n || eim_pkg_decode(s.p, s.len, NULL, &v) < 0)
		return;
	report(r, "eimSignature", v.pkg.counter, ks, check_pkg, &v, token);
	eim_pkg_view_done(&v);
}

static void verify_epr(struct sigreport *r, const struct keyset *ks,
		       struct eim_slice s, int64_t token)
{
	struct eim_epr e;

	if (!ks->n || eim_epr_decode(s.p, s.len, NULL, &e) < 0)
		return;
	if (e.kind != EIM_EPR_ERROR_UNSIGNED)
		report(r,
		       e.kind == EIM_EPR_RESULT_SIGNED ? "euiccSignEPR"
						       : "euiccSignEPE",
		       e.counter, ks, check_epr, &e, token);
	eim_epr_done(&e);
}

/* Stored results recovered through IpaEuiccData (tag A2) are signed too. */
static void verify_ipadata(struct sigreport *r, const struct keyset *ks,
			   struct eim_slice body, int64_t token)
{
	struct eim_der_cur c;
	struct eim_der_tlv t, e;
	struct eim_ipadata d;
	size_t it = 0;

	eim_der_cur_init(&c, body.p, body.len, NULL);
	if (eim_der_read(&c, &t) < 0 || eim_ipadata_decode(&c, &t, &d) < 0 ||
	    !d.epr_list.p)
		return;
	while (eim_ipadata_list_next(d.epr_list, &it, &e) == 1)
		if (e.tag == 0xbf51)
			verify_epr(r, ks, (struct eim_slice){e.raw, e.raw_len},
				   token);
}

static void verify_result(struct sigreport *r, const struct keyset *ks,
			  const struct eim_esipa_result *res, int64_t token)
{
	if (res->kind == EIM_RESULT_EPR ||
	    res->kind == EIM_RESULT_EPR_AND_NOTIFS)
		verify_epr(r, ks, res->body, token);
	if (res->kind == EIM_RESULT_IPA_DATA)
		verify_ipadata(r, ks, res->body, token);
}

/* ----- the command ----- */

enum shape {
	SHAPE_FROM_IPA,
	SHAPE_FROM_EIM,
	SHAPE_PKG,
	SHAPE_EPR,
	SHAPE_ADD_INIT_REQ,
	SHAPE_ADD_INIT_RESP,
	SHAPE_COUNT
};

int eim_cmd_decode(int argc, char **argv)
{
	static const struct option opts[] =
		{{"json", no_argument, NULL, 'j'},
		 {"eim-key", required_argument, NULL, 'k'},
		 {"euicc-cert", required_argument, NULL, 'c'},
		 {"token", required_argument, NULL, 't'},
		 {"help", no_argument, NULL, 'h'},
		 {NULL, 0, NULL, 0}};
	struct keyset eim_keys = {0}, euicc_keys = {0};
	struct printer pr = {0};
	struct sigreport sr = {0};
	const char *path = "-", *how = "";
	uint8_t *buf = NULL;
	size_t n = 0;
	int64_t token = 0;
	int ret = EIM_EXIT_FAIL, opt, rc;
	FILE *in = NULL;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			pr.json = true;
			break;
		case 'k':
		case 'c': {
			struct keyset *ks =
				opt == 'k' ? &eim_keys : &euicc_keys;
			if (ks->n == MAX_KEYS) {
				ret = eim_cli_usage_error(CMD, "too many keys");
				goto out;
			}
			rc = load_key(optarg, &ks->key[ks->n]);
			if (rc < 0) {
				ret = eim_cli_fail(CMD, "%s: %s", optarg,
						   rc == EIM_EIO
							   ? strerror(errno)
							   : eim_strerror(rc));
				goto out;
			}
			ks->path[ks->n++] = optarg;
			break;
		}
		case 't': {
			char *end;
			errno = 0;
			long long v = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg) {
				ret = eim_cli_usage_error(CMD,
							  "bad --token '%s'",
							  optarg);
				goto out;
			}
			token = v;
			break;
		}
		default:
			ret = eim_cli_usage_error(CMD, "unknown option '%s'",
						  argv[optind - 1]);
			goto out;
		}
	}
	if (argc - optind > 1) {
		ret = eim_cli_usage_error(CMD, "one input at most");
		goto out;
	}
	if (optind < argc)
		path = argv[optind];
	in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!in) {
		ret = eim_cli_fail(CMD, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = read_all(in, &buf, &n);
	if (rc < 0) {
		ret = eim_cli_fail(CMD, "%s: %s", path, eim_strerror(rc));
		goto out;
	}
	rc = to_binary(buf, n, &n, &how);
	if (rc < 0) {
		ret = eim_cli_fail(CMD, "%s: not binary, hex or base64 input",
				   path);
		goto out;
	}
	if (n == 0) {
		ret = eim_cli_fail(CMD, "%s: empty input", path);
		goto out;
	}

	/* Try every shape with the typed decoders; keep the one that decodes,
	 * or report the error of the one that got furthest. */
	struct eim_der_diag dg[SHAPE_COUNT];
	struct eim_esipa_from_ipa mi;
	struct eim_esipa_from_eim me;
	struct eim_pkg_view pv;
	struct eim_epr ev;
	struct eim_add_initial_req *aq = eim_calloc(1, sizeof(*aq));
	struct eim_add_initial_resp *ar = eim_calloc(1, sizeof(*ar));
	int shape = -1, best = 0;

	if (!aq || !ar) {
		eim_free(aq);
		eim_free(ar);
		ret = eim_cli_fail(CMD, "out of memory");
		goto out;
	}
	memset(dg, 0, sizeof(dg));
	if (eim_esipa_decode_from_ipa(buf, n, &dg[SHAPE_FROM_IPA], &mi) == 0)
		shape = SHAPE_FROM_IPA;
	else if (eim_esipa_decode_from_eim(buf, n, &dg[SHAPE_FROM_EIM], &me) ==
		 0)
		shape = SHAPE_FROM_EIM;
	else if (eim_pkg_decode(buf, n, &dg[SHAPE_PKG], &pv) == 0) {
		shape = SHAPE_PKG;
		eim_pkg_view_done(&pv);
	} else if (eim_epr_decode(buf, n, &dg[SHAPE_EPR], &ev) == 0) {
		shape = SHAPE_EPR;
		eim_epr_done(&ev);
	} else if (eim_add_initial_req_decode(buf, n, &dg[SHAPE_ADD_INIT_REQ],
					      aq) == 0)
		shape = SHAPE_ADD_INIT_REQ;
	else if (eim_add_initial_resp_decode(buf, n, &dg[SHAPE_ADD_INIT_RESP],
					     ar) == 0)
		shape = SHAPE_ADD_INIT_RESP;
	eim_free(aq);
	eim_free(ar);
	if (shape < 0) {
		/* A wrong top-level tag says nothing; deeper errors do. */
		/* On a tie, a named alternative beats a bare tag mismatch
		 * (BF4F and BF50 exist in both directions). */
		for (int i = 1; i < SHAPE_COUNT; i++)
			if (dg[i].off > dg[best].off ||
			    (dg[i].off == dg[best].off && dg[i].what &&
			     dg[best].what &&
			     strcmp(dg[best].what, "unexpected tag") == 0 &&
			     strcmp(dg[i].what, "unexpected tag") != 0))
				best = i;
		ret = eim_cli_fail(CMD, "%s: malformed input at byte %zu: %s",
				   path, dg[best].off,
				   dg[best].what ? dg[best].what
						 : "not an SGP.32 message");
		goto out;
	}

	static const struct fdef *const schema[SHAPE_COUNT] = {from_ipa,
							       from_eim,
							       bare_pkg,
							       bare_epr,
							       add_init_req,
							       add_init_resp};
	struct eim_der_tlv whole = {.val = buf, .len = n};
	pr.root = pr.json ? cJSON_CreateObject() : NULL;
	if (pr.json) {
		cJSON *msg = cJSON_CreateObject();
		walk(&pr, &whole, schema[shape], false, msg, 0);
		cJSON_AddItemToObject(pr.root, "message", msg);
		cJSON_AddStringToObject(pr.root, "direction",
					shape == SHAPE_FROM_IPA	  ? "ipaToEim"
					: shape == SHAPE_FROM_EIM ? "eimToIpa"
								  : "euicc");
		cJSON_AddStringToObject(pr.root, "input", how);
	} else {
		walk(&pr, &whole, schema[shape], false, NULL, 0);
	}

	/* Signatures. */
	sr.json = pr.json;
	sr.arr = pr.json ? cJSON_CreateArray() : NULL;
	if (shape == SHAPE_FROM_EIM &&
	    me.package.kind == EIM_EPKG_EUICC_PACKAGE)
		verify_pkg(&sr, &eim_keys, me.package.euicc_package, token);
	if (shape == SHAPE_PKG)
		verify_pkg(&sr, &eim_keys, (struct eim_slice){buf, n}, token);
	if (shape == SHAPE_EPR)
		verify_epr(&sr, &euicc_keys, (struct eim_slice){buf, n}, token);
	if (shape == SHAPE_FROM_IPA) {
		if (mi.tag == EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT)
			verify_result(&sr, &euicc_keys, &mi.result, token);
		if (mi.tag == EIM_ESIPA_HANDLE_NOTIFICATION &&
		    mi.notification.kind == EIM_NOTIF_PROVIDE_RESULT)
			verify_result(&sr, &euicc_keys, &mi.notification.result,
				      token);
		if (mi.tag == EIM_ESIPA_TRANSFER_EIM_PACKAGE &&
		    (mi.transfer.kind == EIM_TRESP_EPR ||
		     mi.transfer.kind == EIM_TRESP_EPR_AND_NOTIFS))
			verify_epr(&sr, &euicc_keys, mi.transfer.body, token);
	}
	if (pr.json) {
		char *s;
		cJSON_AddItemToObject(pr.root, "signatures", sr.arr);
		s = cJSON_Print(pr.root);
		if (s) {
			printf("%s\n", s);
			free(s);
		}
	}
	ret = sr.failures ? EIM_EXIT_FAIL : EIM_EXIT_OK;
out:
	if (in && in != stdin)
		fclose(in);
	cJSON_Delete(pr.root);
	eim_free(buf);
	for (size_t i = 0; i < eim_keys.n; i++)
		eim_sig_key_free(eim_keys.key[i]);
	for (size_t i = 0; i < euicc_keys.n; i++)
		eim_sig_key_free(euicc_keys.key[i]);
	return ret;
}
