/* eim_ids.c - EID and ICCID text <-> wire forms (see eim_ids.h). */
#include "proto/eim_ids.h"

#include "common/eim_err.h"

#include <string.h>

static int eim__all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* The decimal number in `digits` modulo 97, a digit at a time. */
static unsigned eim__mod97(const char *digits, size_t n)
{
	unsigned r = 0;

	for (size_t i = 0; i < n; i++)
		r = (r * 10 + (unsigned)(digits[i] - '0')) % 97;
	return r;
}

int eim_eid_parse(const char *text, uint8_t out[EIM_EID_LEN])
{
	if (!text || strlen(text) != EIM_EID_DIGITS ||
	    !eim__all_digits(text, EIM_EID_DIGITS))
		return EIM_EMALFORMED;
	if (eim__mod97(text, EIM_EID_DIGITS) != 1)
		return EIM_EVERIFY;
	for (size_t i = 0; i < EIM_EID_LEN; i++)
		out[i] = (uint8_t)((text[2 * i] - '0') << 4 |
				   (text[2 * i + 1] - '0'));
	return 0;
}

int eim_eid_format(const uint8_t eid[EIM_EID_LEN], char out[EIM_EID_DIGITS + 1])
{
	int rc = 0;

	for (size_t i = 0; i < EIM_EID_LEN; i++) {
		uint8_t hi = eid[i] >> 4, lo = eid[i] & 15;
		out[2 * i] = hi < 10 ? (char)('0' + hi) : '?';
		out[2 * i + 1] = lo < 10 ? (char)('0' + lo) : '?';
		if (hi > 9 || lo > 9)
			rc = EIM_EMALFORMED;
	}
	out[EIM_EID_DIGITS] = '\0';
	return rc;
}

int eim_eid_check(const uint8_t eid[EIM_EID_LEN])
{
	char text[EIM_EID_DIGITS + 1];
	int rc = eim_eid_format(eid, text);

	if (rc)
		return rc;
	return eim__mod97(text, EIM_EID_DIGITS) == 1 ? 0 : EIM_EVERIFY;
}

int eim_eid_complete(const char *prefix30, char out[EIM_EID_DIGITS + 1])
{
	if (!prefix30 || strlen(prefix30) != 30 ||
	    !eim__all_digits(prefix30, 30))
		return EIM_EMALFORMED;
	memcpy(out, prefix30, 30);
	out[30] = out[31] = '0';
	unsigned check = 98 - eim__mod97(out, EIM_EID_DIGITS);
	out[30] = (char)('0' + check / 10);
	out[31] = (char)('0' + check % 10);
	out[EIM_EID_DIGITS] = '\0';
	return 0;
}

int eim_iccid_parse(const char *text, uint8_t out[EIM_ICCID_LEN])
{
	size_t n = text ? strlen(text) : 0;
	uint8_t nib[EIM_ICCID_MAX_DIGITS];

	if (n > 0 && (text[n - 1] == 'F' || text[n - 1] == 'f'))
		n--;
	if (n < 18 || n > EIM_ICCID_MAX_DIGITS || !eim__all_digits(text, n))
		return EIM_EMALFORMED;
	for (size_t i = 0; i < EIM_ICCID_MAX_DIGITS; i++)
		nib[i] = i < n ? (uint8_t)(text[i] - '0') : 0xF;
	for (size_t i = 0; i < EIM_ICCID_LEN; i++)
		out[i] = (uint8_t)(nib[2 * i + 1] << 4 | nib[2 * i]);
	return 0;
}

int eim_iccid_format(const uint8_t iccid[EIM_ICCID_LEN],
		     char out[EIM_ICCID_MAX_DIGITS + 1])
{
	uint8_t nib[EIM_ICCID_MAX_DIGITS];
	size_t n = EIM_ICCID_MAX_DIGITS;
	int rc = 0;

	for (size_t i = 0; i < EIM_ICCID_LEN; i++) {
		nib[2 * i] = iccid[i] & 15;
		nib[2 * i + 1] = iccid[i] >> 4;
	}
	while (n > 18 && nib[n - 1] == 0xF)
		n--; /* trailing fillers of a short ICCID */
	for (size_t i = 0; i < n; i++) {
		if (nib[i] > 9) {
			out[i] = '?';
			rc = EIM_EMALFORMED;
		} else {
			out[i] = (char)('0' + nib[i]);
		}
	}
	out[n] = '\0';
	return rc;
}
