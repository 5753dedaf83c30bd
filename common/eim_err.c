/* eim_err.c - messages and names for the EIM_E* codes (see eim_err.h). */
#include "common/eim_err.h"

#include <stddef.h>

struct eim__err_entry {
	int code;
	const char *name;
	const char *msg;
};

static const struct eim__err_entry eim__errs[] = {
#define EIM__ERR_ROW(name, value, msg) {(value), #name, (msg)},
	EIM_ERRORS(EIM__ERR_ROW)
#undef EIM__ERR_ROW
};

static const struct eim__err_entry *eim__err_find(int err)
{
	for (size_t i = 0; i < sizeof(eim__errs) / sizeof(eim__errs[0]); i++)
		if (eim__errs[i].code == err)
			return &eim__errs[i];
	return NULL;
}

const char *eim_strerror(int err)
{
	const struct eim__err_entry *e = eim__err_find(err);
	return e ? e->msg : "unknown error";
}

const char *eim_errname(int err)
{
	const struct eim__err_entry *e = eim__err_find(err);
	return e ? e->name : "EIM_EUNKNOWN";
}
