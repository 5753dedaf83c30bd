/*
 * eim_ops.h - the operations an operator queues, from the command line or
 * from a JSON file, turned into the typed structures proto/ encodes.
 *
 * One package is one of:
 *   - a list of PSMOs (profile operations)      -> EuiccPackageRequest A0
 *   - a list of eCOs (eIM configuration)        -> EuiccPackageRequest A1
 *   - a profile download trigger                -> ProfileDownloadTrigger
 *   - an eUICC data request                     -> IpaEuiccDataRequest
 * SGP.32 never mixes them, so neither does eim.
 *
 * The JSON form of one operation is an object with "op" and the operation's
 * parameters; the command line `eim submit EID OP --param value ...` is
 * converted to exactly that object first (option --foo-bar is member
 * foo_bar, a flag is true), so both paths share one validator and one set
 * of error messages. The table of operations and parameters is in
 * eim_ops.c and documented in examples/ops.md.
 */
#ifndef EIM_OPS_H
#define EIM_OPS_H

#include "common/eim_bytes.h"
#include "eim/eim_json.h"
#include "proto/eim_pkg.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define EIM_OPS_MAX 16	      /* operations per package */
#define EIM_OPS_MAX_BLOCKS 96 /* owned allocations per package */

enum eim_ops_kind {
	EIM_OPS_NONE = 0,
	EIM_OPS_PSMO,
	EIM_OPS_ECO,
	EIM_OPS_DOWNLOAD,
	EIM_OPS_EUICC_DATA,
};

/*
 * Looks up the public key data of a local eIM identity (for add-eim /
 * update-eim with "identity"): appends its SPKI or certificate DER to out
 * and sets *is_cert. Returns 0 or a negative EIM_E* code.
 */
typedef int (*eim_ops_identity_fn)(void *ctx, const char *eim_id,
				   struct eim_buf *out, bool *is_cert);

/* A package's operations. Owns every byte the slices point to. */
struct eim_ops {
	enum eim_ops_kind kind;
	struct eim_psmo psmo[EIM_OPS_MAX];
	struct eim_eco eco[EIM_OPS_MAX];
	size_t n;
	/* EIM_OPS_DOWNLOAD: activation code (NUL-terminated) or NULL for
	 * contactDefaultSmdp */
	char *activation_code;
	/* EIM_OPS_EUICC_DATA: tag list content */
	struct eim_slice data_tags;
	/* Normalised JSON array of the operations (the package summary). */
	cJSON *summary;
	/* Resolver for "identity" in add-eim/update-eim (may be NULL). */
	eim_ops_identity_fn identity_fn;
	void *identity_ctx;
	void *blocks[EIM_OPS_MAX_BLOCKS];
	size_t n_blocks;
};

/* Zeroes *ops. Returns 0 or EIM_ENOMEM. */
int eim_ops_init(struct eim_ops *ops);
/* Frees everything *ops owns. */
void eim_ops_done(struct eim_ops *ops);

/*
 * Adds one operation given as a JSON object. `where` prefixes messages
 * ("operations[2]"). Errors (EIM_EINVAL, EIM_ETOOBIG, EIM_ENOMEM) set
 * err->msg, e.g. "operations[2].iccid: '8944' is not an ICCID (18 to 20
 * digits)"; *ops is then unchanged in kind and count.
 */
int eim_ops_add_json(struct eim_ops *ops, const cJSON *op, const char *where,
		     struct eim_json_err *err);

/*
 * Converts command-line words "OP [--param [value]]... [+ OP ...]" into JSON
 * operation objects appended to `arr` (a cJSON array). Errors: EIM_EINVAL
 * with err->msg naming the word ("unknown operation 'enabel'",
 * "enable: unknown option '--iccd'", "enable: --iccid needs a value").
 */
int eim_ops_args_to_json(int argc, char **argv, cJSON *arr,
			 struct eim_json_err *err);

/* "psmo", "eco", "download", "euicc-data". */
const char *eim_ops_kind_name(enum eim_ops_kind k);

/* Prints the operation table (names and parameters) for --help. */
void eim_ops_print_help(void);

#endif
