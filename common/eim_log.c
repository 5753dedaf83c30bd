/* eim_log.c - levelled logger with a replaceable sink (see eim_log.h). */

#include "common/eim_log.h"

#include "common/eim_err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static enum eim_log_level eim__level = EIM_LOG_INFO;
static eim_log_sink_fn eim__sink;
static void *eim__sink_ctx;

static const char *const eim__level_names[] = {"error", "warn", "info",
					       "debug"};

void eim_log_set_level(enum eim_log_level level)
{
	eim__level = level;
}

enum eim_log_level eim_log_get_level(void)
{
	return eim__level;
}

const char *eim_log_level_name(enum eim_log_level level)
{
	if ((unsigned)level > EIM_LOG_DEBUG)
		return "?";
	return eim__level_names[level];
}

int eim_log_level_parse(const char *s, enum eim_log_level *ret_level)
{
	for (unsigned i = 0; i <= EIM_LOG_DEBUG; i++) {
		if (strcmp(s, eim__level_names[i]) == 0) {
			*ret_level = (enum eim_log_level)i;
			return 0;
		}
	}
	return EIM_EINVAL;
}

void eim_log_set_sink(eim_log_sink_fn fn, void *ctx)
{
	eim__sink = fn;
	eim__sink_ctx = ctx;
}

static void eim__stderr_sink(enum eim_log_level level, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", when, ts.tv_nsec / 1000000L,
		eim_log_level_name(level), msg);
}

void eim_logv(enum eim_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > eim__level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (eim__sink)
		eim__sink(eim__sink_ctx, level, msg);
	else
		eim__stderr_sink(level, msg);
}

void eim_log(enum eim_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	eim_logv(level, fmt, ap);
	va_end(ap);
}
