/*
 * eim_alloc.c - allocation wrappers with a failure injector (see eim_alloc.h).
 */

#include "common/eim_alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool eim__fail_armed;
static unsigned long eim__fail_budget;
static unsigned long eim__fail_count;
static unsigned long eim__alloc_total;

/* Returns true when this allocation must fail. */
static bool eim__should_fail(void)
{
	if (!eim__fail_armed)
		return false;
	if (eim__fail_budget == 0) {
		eim__fail_count++;
		return true;
	}
	eim__fail_budget--;
	return false;
}

void *eim_malloc(size_t n)
{
	if (eim__should_fail())
		return NULL;
	eim__alloc_total++;
	return malloc(n ? n : 1);
}

void *eim_calloc(size_t count, size_t size)
{
	if (eim__should_fail())
		return NULL;
	eim__alloc_total++;
	if (count == 0 || size == 0)
		count = size = 1;
	return calloc(count, size);
}

void *eim_realloc(void *p, size_t n)
{
	if (eim__should_fail())
		return NULL;
	eim__alloc_total++;
	return realloc(p, n ? n : 1);
}

void eim_free(void *p)
{
	free(p);
}

char *eim_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = eim_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

void *eim_memdup(const void *p, size_t n)
{
	void *d = eim_malloc(n);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

void eim_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

void eim_free_secret(void *p, size_t n)
{
	eim_wipe(p, n);
	free(p);
}

void eim_alloc_fail_after(unsigned long n)
{
	eim__fail_armed = true;
	eim__fail_budget = n;
	eim__fail_count = 0;
}

void eim_alloc_fail_reset(void)
{
	eim__fail_armed = false;
	eim__fail_budget = 0;
}

unsigned long eim_alloc_failed_count(void)
{
	return eim__fail_count;
}

unsigned long eim_alloc_count(void)
{
	return eim__alloc_total;
}
