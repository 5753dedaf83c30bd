/*
 * eim_alloc.h - the one allocation path of the project.
 *
 * All heap memory in eim goes through these wrappers so that tests can make
 * the Nth allocation fail (fault injection) and count what is outstanding.
 * The wrappers behave exactly like their libc namesakes otherwise:
 * eim_free(NULL) is a no-op, eim_malloc(0) returns a unique pointer or NULL.
 *
 * The failure injector is process-global and not thread-safe; it is a test
 * facility. Production code never calls eim_alloc_fail_after().
 */
#ifndef EIM_ALLOC_H
#define EIM_ALLOC_H

#include <stddef.h>

void *eim_malloc(size_t n);
void *eim_calloc(size_t count, size_t size);
void *eim_realloc(void *p, size_t n);
void eim_free(void *p);
/* Duplicates a NUL-terminated string; NULL on allocation failure. */
char *eim_strdup(const char *s);
/* Duplicates n bytes (n may be 0); NULL on allocation failure. */
void *eim_memdup(const void *p, size_t n);

/* Overwrites n bytes at p with zeros in a way the compiler cannot elide. */
void eim_wipe(void *p, size_t n);
/* Wipes n bytes then frees p (for buffers that held secrets). */
void eim_free_secret(void *p, size_t n);

/*
 * Fault injection (tests only): after `n` more successful allocations, every
 * allocation fails until eim_alloc_fail_reset(). n = 0 fails the next one.
 */
void eim_alloc_fail_after(unsigned long n);
void eim_alloc_fail_reset(void);
/* Number of allocations that were refused by the injector since the reset. */
unsigned long eim_alloc_failed_count(void);
/* Number of allocations made through the wrappers since start (tests). */
unsigned long eim_alloc_count(void);

#endif
