/*
 * eim_err.h - the project's error codes.
 *
 * Every function in eim that can fail returns an int: 0 on success or one of
 * the negative EIM_E* codes below. The set is small and closed (like SQLite's
 * result codes); protocol-specific meanings (a DTLS alert, a CoAP response
 * code, an SGP.32 result code) are mapped from these in the layer that owns
 * the protocol, never invented ad hoc.
 *
 * The list is an X-macro so that the enum and the message table cannot drift.
 */
#ifndef EIM_ERR_H
#define EIM_ERR_H

/* X(name, value, message) */
#define EIM_ERRORS(X)                                                          \
	X(EIM_OK, 0, "success")                                                \
	X(EIM_ENOMEM, -1, "out of memory")                                     \
	X(EIM_EINVAL, -2, "invalid argument")                                  \
	X(EIM_EMALFORMED, -3, "malformed input")                               \
	X(EIM_ETRUNC, -4, "input truncated")                                   \
	X(EIM_ETAG, -5, "unexpected tag")                                      \
	X(EIM_ERANGE, -6, "value out of range")                                \
	X(EIM_ETOOBIG, -7, "too large")                                        \
	X(EIM_ECRYPTO, -8, "cryptographic operation failed")                   \
	X(EIM_EVERIFY, -9, "signature verification failed")                    \
	X(EIM_ECERT, -10, "certificate invalid or untrusted")                  \
	X(EIM_EREVOKED, -11, "certificate revoked")                            \
	X(EIM_EEXPIRED, -12, "certificate expired or not yet valid")           \
	X(EIM_ENOTFOUND, -13, "not found")                                     \
	X(EIM_EEXIST, -14, "already exists")                                   \
	X(EIM_ESTATE, -15, "operation not allowed in the current state")       \
	X(EIM_EPERM, -16, "permission denied")                                 \
	X(EIM_EEXHAUSTED, -17, "counter exhausted")                            \
	X(EIM_EIO, -18, "input/output error")                                  \
	X(EIM_EDB, -19, "database error")                                      \
	X(EIM_EBUSY, -20, "resource busy")                                     \
	X(EIM_EAGAIN, -21, "try again")                                        \
	X(EIM_ETIMEOUT, -22, "timed out")                                      \
	X(EIM_EUNSUPPORTED, -23, "not supported")                              \
	X(EIM_EVERSION, -24, "unsupported version")                            \
	X(EIM_ECLOSED, -25, "connection closed")

enum eim_err {
#define EIM__ERR_ENUM(name, value, msg) name = (value),
	EIM_ERRORS(EIM__ERR_ENUM)
#undef EIM__ERR_ENUM
};

/*
 * Returns a static, human-readable message for an EIM_E* code (or for 0).
 * Unknown codes give "unknown error". Never returns NULL.
 */
const char *eim_strerror(int err);

/*
 * Returns the symbolic name of a code ("EIM_EMALFORMED"), for logs and JSON.
 * Unknown codes give "EIM_EUNKNOWN". Never returns NULL.
 */
const char *eim_errname(int err);

#endif
