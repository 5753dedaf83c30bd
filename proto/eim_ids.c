/* eim_ids.c - EID and ICCID text <-> wire forms (see eim_ids.h). */
#include "proto/eim_ids.h"

#include "common/eim_err.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Appends one base-128 arc; EIM_ETOOBIG when out of room. */
static int eim__oid_put_arc(uint64_t v, uint8_t *out, size_t cap, size_t *n)
{
	uint8_t tmp[10];
	size_t k = 0;

	do {
		tmp[k++] = (uint8_t)(v & 0x7f);
		v >>= 7;
	} while (v);
	if (*n + k > cap)
		return EIM_ETOOBIG;
	while (k > 0) {
		k--;
		out[(*n)++] = (uint8_t)(tmp[k] | (k ? 0x80 : 0));
	}
	return 0;
}

int eim_oid_encode(const char *text, uint8_t *out, size_t cap, size_t *ret_len)
{
	uint64_t arcs[64];
	size_t narcs = 0, n = 0;
	const char *p = text;

	if (!text || !*text)
		return EIM_EMALFORMED;
	for (;;) {
		if (*p < '0' || *p > '9' || narcs == 64)
			return EIM_EMALFORMED;
		char *end = NULL;
		unsigned long long v = strtoull(p, &end, 10);
		if (v > 0xffffffffULL || (end - p > 1 && *p == '0'))
			return EIM_EMALFORMED;
		arcs[narcs++] = v;
		if (*end == '\0')
			break;
		if (*end != '.')
			return EIM_EMALFORMED;
		p = end + 1;
	}
	if (narcs < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39))
		return EIM_EMALFORMED;
	int rc = eim__oid_put_arc(arcs[0] * 40 + arcs[1], out, cap, &n);
	for (size_t i = 2; rc == 0 && i < narcs; i++)
		rc = eim__oid_put_arc(arcs[i], out, cap, &n);
	if (rc)
		return rc;
	*ret_len = n;
	return 0;
}

int eim_oid_format(const uint8_t *der, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	uint64_t v = 0;
	bool first = true;

	if (n == 0 || (der[n - 1] & 0x80))
		return EIM_EMALFORMED;
	for (size_t i = 0; i < n; i++) {
		if (v == 0 && der[i] == 0x80)
			return EIM_EMALFORMED; /* non-minimal arc */
		if (v > (0xffffffffULL >> 7) + 0x4f)
			return EIM_EMALFORMED;
		v = (v << 7) | (der[i] & 0x7f);
		if (der[i] & 0x80)
			continue;
		int w;
		if (first) {
			uint64_t a = v < 80 ? v / 40 : 2;
			w = snprintf(out + o, cap - o, "%llu.%llu",
				     (unsigned long long)a,
				     (unsigned long long)(v - a * 40));
			first = false;
		} else {
			w = snprintf(out + o, cap - o, ".%llu",
				     (unsigned long long)v);
		}
		if (w < 0 || (size_t)w >= cap - o)
			return EIM_ETOOBIG;
		o += (size_t)w;
		v = 0;
	}
	return 0;
}
