/*
 * eim_ids.h - the identifiers operators type: EID and ICCID.
 *
 * EID (eUICC identifier, 32 decimal digits). On the wire it is the 16-byte
 * Octet16 `eidValue` (tag 5A): two digits per byte, first digit in the high
 * nibble, so "8904..." is 89 04 ... The last two digits are check digits
 * (ISO/IEC 7064 MOD 97-10, as in IBAN): the 32-digit number taken as an
 * integer is congruent to 1 modulo 97.
 *
 * ICCID (profile identifier, 18 to 20 decimal digits, ITU-T E.118). On the
 * wire it is `Iccid` (tag 5A, 10 bytes) in the EF.ICCID encoding: BCD with the
 * nibbles of each byte swapped and an F filler for odd lengths, so
 * "8944..." is 98 44 ... The Luhn check digit is not verified: test profiles
 * commonly lack a valid one, and the eUICC does not check it either.
 */
#ifndef EIM_IDS_H
#define EIM_IDS_H

#include <stddef.h>
#include <stdint.h>

#define EIM_EID_LEN 16	  /* bytes on the wire */
#define EIM_EID_DIGITS 32 /* digits as text */
#define EIM_ICCID_LEN 10  /* bytes on the wire */
#define EIM_ICCID_MAX_DIGITS 20

/*
 * Parses a 32-digit EID and checks its check digits. Writes 16 bytes to
 * `out` on success. Errors: EIM_EMALFORMED (not exactly 32 decimal digits),
 * EIM_EVERIFY (check digits wrong).
 */
int eim_eid_parse(const char *text, uint8_t out[EIM_EID_LEN]);

/*
 * Writes the 32 digits of a 16-byte EID and a NUL to `out` (33 bytes).
 * Returns EIM_EMALFORMED if a nibble is not a decimal digit (then `out`
 * holds "?" for that digit, so it can still be shown).
 */
int eim_eid_format(const uint8_t eid[EIM_EID_LEN],
		   char out[EIM_EID_DIGITS + 1]);

/* Returns 0 when the 16 bytes are 32 decimal digits with valid check digits. */
int eim_eid_check(const uint8_t eid[EIM_EID_LEN]);

/*
 * Completes the check digits of a 30-digit EID prefix: writes the full
 * 32-digit EID text (33 bytes with NUL). Used to make valid test EIDs.
 * Errors: EIM_EMALFORMED (prefix not 30 digits).
 */
int eim_eid_complete(const char *prefix30, char out[EIM_EID_DIGITS + 1]);

/*
 * Parses an ICCID of 18 to 20 digits (a trailing 'F'/'f' filler is allowed
 * and ignored) into its 10-byte wire form. Errors: EIM_EMALFORMED.
 */
int eim_iccid_parse(const char *text, uint8_t out[EIM_ICCID_LEN]);

/*
 * Writes the digits of a 10-byte wire ICCID (filler dropped) and a NUL to
 * `out` (21 bytes). Errors: EIM_EMALFORMED (a non-digit nibble other than
 * the trailing filler; `out` then shows it as '?').
 */
int eim_iccid_format(const uint8_t iccid[EIM_ICCID_LEN],
		     char out[EIM_ICCID_MAX_DIGITS + 1]);

/*
 * Encodes a dotted OID ("1.3.6.1.4.1.31746") as DER content bytes (no tag
 * or length), e.g. for defaultSmdpOid. Writes at most `cap` bytes and the
 * count to *ret_len. Errors: EIM_EMALFORMED (not an OID: fewer than two
 * arcs, first arc > 2, second arc > 39 under 0 or 1, empty or non-digit arc,
 * an arc above 2^32-1), EIM_ETOOBIG.
 */
int eim_oid_encode(const char *text, uint8_t *out, size_t cap, size_t *ret_len);

/*
 * Writes the dotted form of OID content bytes to out (cap bytes, NUL
 * terminated). Errors: EIM_EMALFORMED (truncated arc or an arc too large),
 * EIM_ETOOBIG.
 */
int eim_oid_format(const uint8_t *der, size_t n, char *out, size_t cap);

#endif
