/*
 * eim_log.h - levelled logging with one replaceable sink.
 *
 * Library code (proto/, store/, transport/) logs at DEBUG, and only the caller
 * that decides what to do about an event logs it at a higher level (STYLE.md
 * habit 13). The default sink writes one line per message to stderr:
 *   2026-11-22T20:57:16.123Z INFO  message
 * A program or test may install its own sink (e.g. to capture messages).
 * The logger is process-global and not thread-safe: eim is single-threaded.
 */
#ifndef EIM_LOG_H
#define EIM_LOG_H

#include <stdarg.h>

enum eim_log_level {
	EIM_LOG_ERROR = 0,
	EIM_LOG_WARN = 1,
	EIM_LOG_INFO = 2,
	EIM_LOG_DEBUG = 3,
};

/* A sink receives the level and the fully formatted message (no newline). */
typedef void (*eim_log_sink_fn)(void *ctx, enum eim_log_level level,
				const char *msg);

/* Messages above `level` are discarded before formatting. Default: INFO. */
void eim_log_set_level(enum eim_log_level level);
enum eim_log_level eim_log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns 0 or EIM_EINVAL. */
int eim_log_level_parse(const char *s, enum eim_log_level *ret_level);
const char *eim_log_level_name(enum eim_log_level level);

/* Replaces the sink; NULL restores the default stderr sink. */
void eim_log_set_sink(eim_log_sink_fn fn, void *ctx);

void eim_log(enum eim_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void eim_logv(enum eim_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define EIM_LOG_ENABLED(lvl) ((lvl) <= eim_log_get_level())
#define eim_error(...) eim_log(EIM_LOG_ERROR, __VA_ARGS__)
#define eim_warn(...) eim_log(EIM_LOG_WARN, __VA_ARGS__)
#define eim_info(...) eim_log(EIM_LOG_INFO, __VA_ARGS__)
#define eim_debug(...)                                                         \
	do {                                                                   \
		if (EIM_LOG_ENABLED(EIM_LOG_DEBUG))                            \
			eim_log(EIM_LOG_DEBUG, __VA_ARGS__);                   \
	} while (0)

#endif
