/*
 * eim_device_scenario_int.h - what the scenario runner's three files
 * share: the checker of scenario files (eim_device_scenario_check.c), the
 * lab (eim_device_scenario.c: processes, set-up, devices, the command)
 * and the steps (eim_device_scenario_step.c). Not an interface for
 * anything else.
 */
#ifndef EIM_DEVICE_SCENARIO_INT_H
#define EIM_DEVICE_SCENARIO_INT_H

#include "common/eim_bytes.h"
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_ipa.h"
#include "transport/eim_loop.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EIM_SCN_MAX_DEVICES 64
#define EIM_SCN_MAX_PROFILES 8
#define EIM_SCN_PATH 1024
#define EIM_SCN_CMD_TIMEOUT_MS 120000 /* one eim command */
#define EIM_SCN_WAKE_TIMEOUT_MS 60000 /* one wake of the selected devices */

/* The kinds of step, by the member that names them. */
enum eim_scn_kind {
	EIM_SCN_EIM,	       /* "eim": [words] */
	EIM_SCN_WAKE,	       /* "wake": "all" | [devices] */
	EIM_SCN_DO,	       /* "device": N, "do": ACTION */
	EIM_SCN_EXPECT_RESULT, /* "expect_result": {...} */
	EIM_SCN_EXPECT_DEVICE  /* "expect_device": {...} */
};

/*
 * Checks a parsed scenario document completely before anything runs:
 * types, ranges, unknown members (refused, so a typo cannot silently
 * weaken an assertion) and {placeholders}. On an error writes one line
 * "step N: 'member': reason" (or "'member': reason" for the top level)
 * to `err` and returns -1; 0 when the document is good.
 */
int eim_scn_check(const cJSON *doc, char *err, size_t cap);

/* The kind of an already checked step. */
enum eim_scn_kind eim_scn_kind_of(const cJSON *step);
const char *eim_scn_kind_name(enum eim_scn_kind k);

/* A member that may be one string or an array of strings: its i-th
 * string, or NULL past the end. */
const char *eim_scn_str_at(const cJSON *x, int i);

/* One simulated device of the lab: its eUICC model and IPA in this
 * process, its state file and DTLS credentials from the fleet. */
struct eim_scn_dev {
	struct eim_scn *s;
	int index;
	char eid[EIM_EID_DIGITS + 1];
	char state[EIM_SCN_PATH];
	char psk_id[130];
	uint8_t psk[64];
	size_t psk_len;
	struct eim_sim_euicc *euicc;
	struct eim_sim_ipa *ipa;
	bool first; /* no wake since (re)boot */
	uint64_t handshakes_seen;
	struct eim_sim_ipa_stats last;
	int status; /* of the last wake */
	bool waking;
};

/* The lab: paths, the eim binary, the server, the devices. */
struct eim_scn {
	const char *file;
	cJSON *doc;
	char dir[EIM_SCN_PATH], db[EIM_SCN_PATH + 16], pki[EIM_SCN_PATH + 16];
	char fleet[EIM_SCN_PATH + 16], air[EIM_SCN_PATH + 16],
		eids[EIM_SCN_PATH + 16];
	char eim_bin[EIM_SCN_PATH + 16], self[EIM_SCN_PATH];
	pid_t srv;
	char server[64];
	struct eim_loop *loop;
	struct eim_loop_timer deadline;
	bool timed_out;
	size_t waiting;
	struct eim_scn_dev *devs;
	int n;
	/* the answer to the runner's own ESipa request (replay_last) */
	bool answered;
	int answer_status;
	uint8_t answer_code;
	struct eim_buf answer;
};

/* A finished child: exit code (128+signal when killed) and its output. */
struct eim_scn_proc {
	int status;
	struct eim_buf out, err;
};

void eim_scn_proc_done(struct eim_scn_proc *p);
/* The output as a NUL-terminated string ("" when empty). */
const char *eim_scn_text(struct eim_buf *b);
/*
 * Runs argv (argv[0] a path, or a name looked up in PATH) with EIM_DB set
 * to the lab's database and stdin from /dev/null, capturing stdout and
 * stderr (p is initialised in every case; free with eim_scn_proc_done);
 * killed after `ms`. Returns 0 when it ran (whatever its exit code),
 * EIM_EIO otherwise.
 */
int eim_scn_run(const struct eim_scn *s, char *const argv[], int ms,
		struct eim_scn_proc *p);
/* `eim WORDS...` (NULL-terminated) on the lab's database. */
int eim_scn_eim(const struct eim_scn *s, struct eim_scn_proc *p, ...);
/* A whole file, NUL-terminated (not counted in *ret_len); eim_free. */
int eim_scn_read_file(const char *path, uint8_t **ret, size_t *ret_len);
/* Replaces the {placeholders} of `in` (the checker refused unknown
 * ones). Returns 0 or EIM_ETOOBIG. */
int eim_scn_subst(const struct eim_scn *s, const char *in, char *out,
		  size_t cap);
/* Saves a device's state file (the IPA's persist callback). */
int eim_scn_persist(void *ctx, struct eim_sim_euicc *e);
/* Power-on: the eUICC from its state file, a new IPA (no session yet). */
int eim_scn_dev_boot(struct eim_scn_dev *d, char *why, size_t cap);
/* Power-off: frees the IPA and the eUICC (the state file stays). */
void eim_scn_dev_off(struct eim_scn_dev *d);
/* Runs the loop until s->waiting reaches 0 or `ms` pass (s->timed_out). */
void eim_scn_run_loop(struct eim_scn *s, int ms);
/* The wake-done callback of the IPAs. */
void eim_scn_woke(void *ctx, struct eim_sim_ipa *ipa, int status);

/*
 * The steps: each runs one checked step, appends what it saw to `detail`
 * (one line) and returns whether the step passed.
 */
bool eim_scn_step_eim(struct eim_scn *s, const cJSON *st, char *detail,
		      size_t cap);
bool eim_scn_step_wake(struct eim_scn *s, const cJSON *st, char *detail,
		       size_t cap);
bool eim_scn_step_do(struct eim_scn *s, const cJSON *st, char *detail,
		     size_t cap);
bool eim_scn_step_expect_result(struct eim_scn *s, const cJSON *st,
				char *detail, size_t cap);
bool eim_scn_step_expect_device(struct eim_scn *s, const cJSON *st,
				char *detail, size_t cap);

#endif
