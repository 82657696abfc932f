/*
 * Logging for the whole core: one line per record, either JSON (time, level,
 * logger, msg, object, plus key/value pairs) for machines, or plain text for
 * a terminal. Thread-safe: each record is written with a single write.
 * Library-style code does not log; the reconciler, the runtime loops and the
 * commands decide what is worth a line. Never pass a token or secret data.
 */
#ifndef WFE_BASE_LOG_H
#define WFE_BASE_LOG_H

#include <stdio.h>

#include "status.h"

enum wfe_log_format { WFE_LOG_FORMAT_TEXT, WFE_LOG_FORMAT_JSON };

/* Configures the process-wide logger; the default is text, info, stderr. */
void wfe_log_setup(enum wfe_log_format format, int level, FILE *out);

/* Parses "json"/"text" and "error"/"warn"/"info"/"debug" (or 0..3). Return 0
 * or WFE_E_INVALID. */
int wfe_log_parse_format(const char *name, enum wfe_log_format *out);
int wfe_log_parse_level(const char *name, int *out);

int wfe_log_enabled(int level);

/*
 * Writes one record. `logger` names the part of the program ("loader",
 * "reconciler"); `object` the Kubernetes object it is about ("ns/name"), or
 * NULL. The message is printf-formatted.
 */
void wfe_log(int level, const char *logger, const char *object, const char *fmt,
             ...) __attribute__((format(printf, 4, 5)));

#define wfe_log_error(logger, object, ...)                                     \
  wfe_log(WFE_LOG_ERROR, logger, object, __VA_ARGS__)
#define wfe_log_warn(logger, object, ...)                                      \
  wfe_log(WFE_LOG_WARN, logger, object, __VA_ARGS__)
#define wfe_log_info(logger, object, ...)                                      \
  wfe_log(WFE_LOG_INFO, logger, object, __VA_ARGS__)
#define wfe_log_debug(logger, object, ...)                                     \
  do {                                                                         \
    if (wfe_log_enabled(WFE_LOG_DEBUG))                                        \
      wfe_log(WFE_LOG_DEBUG, logger, object, __VA_ARGS__);                     \
  } while (0)

#endif
