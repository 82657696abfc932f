/*
 * The error record every fallible core function fills: a WFE_E_* status, a
 * retryable flag, a CamelCase reason, the field it is about and a message for
 * people. It is also the host side of the ABI's opaque wfe_error. The caller
 * owns it: declare one with WFE_ERROR_INIT and wfe_error_clear it after use.
 */
#ifndef WFE_BASE_ERROR_H
#define WFE_BASE_ERROR_H

#include <stdarg.h>
#include <stdint.h>

#include "status.h"

struct wfe_error {
  int32_t code;      /* WFE_OK when nothing was set */
  int32_t retryable; /* non-zero when the same call may succeed later */
  char *reason;      /* e.g. "InvalidField"; NULL when not set */
  char *field;       /* e.g. "spec.parameters"; may be NULL */
  char *message;     /* for people; may be NULL */
  /* The HTTP status of the API server's answer the error came from, else 0. */
  int32_t http_status;
};

#define WFE_ERROR_INIT                                                         \
  {                                                                            \
    0, 0, NULL, NULL, NULL, 0                                                  \
  }

/*
 * Sets all members, replacing earlier ones; `err` may be NULL. The message is
 * formatted printf-style. Returns `code`, so a caller can write
 * `return wfe_error_set(err, WFE_E_INVALID, 0, "X", "f", "...");`.
 * When memory runs out the strings that could not be copied stay NULL and
 * code becomes WFE_E_NOMEM.
 */
int wfe_error_set(struct wfe_error *err, int32_t code, int32_t retryable,
                  const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Prefixes the message with `prefix: ` (context, as errors travel up). */
void wfe_error_prefix(struct wfe_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The message, or the reason, or "unknown error"; never NULL. */
const char *wfe_error_message(const struct wfe_error *err);

/* Frees the strings and resets the record. Accepts NULL. */
void wfe_error_clear(struct wfe_error *err);

/* A short name of a WFE_E_* status, e.g. "invalid". */
const char *wfe_status_name(int32_t code);

#endif
