/*
 * eim_test.h - helpers shared by the test programs (not part of eim itself).
 *
 * Integration tests run the real `eim` binary; these helpers spawn it with
 * arguments and optional stdin, and capture exit code, stdout and stderr.
 */
#ifndef EIM_TEST_H
#define EIM_TEST_H

#include <stddef.h>

struct eim_test_proc {
	int status; /* exit code, or 128+signal if killed */
	char *out;  /* NUL-terminated stdout (owned, eim_test_proc_done) */
	size_t out_len;
	char *err; /* NUL-terminated stderr (owned) */
	size_t err_len;
};

/*
 * Runs argv (argv[0] is a path) with `in` (may be NULL) on stdin and waits.
 * Returns 0 when the process ran (whatever its exit code), -1 if it could not
 * be started. Extra environment variables may be given as "NAME=VALUE"
 * strings in `env` (NULL-terminated, may be NULL).
 */
int eim_test_run(char *const argv[], char *const env[], const void *in,
		 size_t in_len, struct eim_test_proc *ret);
void eim_test_proc_done(struct eim_test_proc *p);

/*
 * Runs the `eim` binary under test with the words a0, ... (NULL-terminated,
 * at most 30) and EIM_DB=db (db may be NULL), and waits. ret->status is -1
 * if it could not be started. Tests usually wrap it:
 *   #define eim(...) eim_test_eim(db, __VA_ARGS__)
 */
struct eim_test_proc eim_test_eim(const char *db, const char *a0, ...);

/* Path of the `eim` binary under test ($EIM_BIN, set by meson). */
const char *eim_test_bin(void);

/*
 * Makes a fresh temporary directory for one test; returns its path (static
 * storage, overwritten by the next call). Removed by eim_test_rmdir().
 */
const char *eim_test_tmpdir(void);
void eim_test_rmdir(const char *path);

/* Returns 1 if `haystack` contains `needle`. */
int eim_test_contains(const char *haystack, const char *needle);

/* A program running in the background (e.g. `eim serve`). */
struct eim_test_child {
	int pid;
	int out_fd; /* its stdout, non-blocking */
	char buf[4096];
	size_t len;
};

/*
 * Starts argv in the background with stdout on a pipe (stderr inherited,
 * so its log lands in the test log). Returns 0 or -1.
 */
int eim_test_spawn(char *const argv[], char *const env[],
		   struct eim_test_child *ret);
/*
 * Reads the child's next stdout line (without the newline) into line,
 * waiting at most timeout_ms. Returns 0, or -1 on timeout or end of output.
 */
int eim_test_child_line(struct eim_test_child *c, char *line, size_t cap,
			int timeout_ms);
/* Sends sig and waits; returns the exit code (128+signal if killed). */
int eim_test_child_stop(struct eim_test_child *c, int sig);

#endif
