/* log.h: one-line logfmt logging to stderr.
 *
 *   log_msg(LOG_WARN, "msg=\"scrape failed\" cluster=%s node=%s", c, n);
 *
 * Each call writes "ts=<RFC 3339> level=<level> " followed by the
 * formatted text and a newline, in one write(2), so lines from several
 * threads never interleave. */
#ifndef REPLGUARD_LOG_H
#define REPLGUARD_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* log_set_level: messages below level are dropped (default LOG_INFO). */
void log_set_level(enum log_level level);
/* log_parse_level: "debug", "info", "warn" or "error"; returns 0 or -1. */
int log_parse_level(const char *s, enum log_level *out);
/* log_enabled: true when a message at level would be written; check it
 * before building an expensive message. */
bool log_enabled(enum log_level level);
/* log_msg: formats and writes one line when level is enabled. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* log_quote: writes s into out (size n) as a logfmt value: bare when it is
 * plain, otherwise quoted with ", \ and control characters escaped,
 * truncated to fit. Returns out. */
const char *log_quote(char *out, size_t n, const char *s);

#endif
