/*
 * libFuzzer target for the `eim serve` configuration file
 * (eim_config_load_json, the parser behind --config): arbitrary JSON text
 * applied on top of the defaults. A refusal must name the problem; an
 * accepted file must leave values inside the ranges the server relies on
 * (addresses that eim_config_check_addr accepts, a valid log level, a
 * positive validity). Loading twice over the same config must not leak
 * the strings the first load set.
 */
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "eim/eim_config.h"
#include "eim/eim_json.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eim_json_err err;
	struct eim_config cfg;
	int rc;

	if (eim_config_init(&cfg) != 0)
		__builtin_trap();
	memset(&err, 0, sizeof(err));
	rc = eim_config_load_json(&cfg, (const char *)data, size, &err);
	if (rc != 0) {
		if ((rc != EIM_EMALFORMED && rc != EIM_EINVAL &&
		     rc != EIM_ETOOBIG) ||
		    !err.msg[0])
			__builtin_trap();
	} else {
		if (cfg.listen && cfg.listen[0] &&
		    eim_config_check_addr(cfg.listen) != 0)
			__builtin_trap();
		if (cfg.coap && cfg.coap[0] &&
		    eim_config_check_addr(cfg.coap) != 0)
			__builtin_trap();
		if (cfg.dtls.cid_length < 0 || cfg.dtls.cid_length > 20)
			__builtin_trap();
		/* the same file again over the loaded values */
		memset(&err, 0, sizeof(err));
		if (eim_config_load_json(&cfg, (const char *)data, size,
					 &err) != 0)
			__builtin_trap();
	}
	eim_config_done(&cfg);
	return 0;
}
