/* Error records; see error.h. */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "status.h"

static char *dup_or_null(const char *s, int *failed)
{
  if (!s)
    return NULL;
  char *copy = strdup(s);
  if (!copy)
    *failed = 1;
  return copy;
}

int wfe_error_set(struct wfe_error *err, int32_t code, int32_t retryable,
                  const char *reason, const char *field, const char *fmt, ...)
{
  if (!err)
    return code;
  wfe_error_clear(err);
  int failed = 0;
  err->code = code;
  err->retryable = retryable;
  err->reason = dup_or_null(reason, &failed);
  err->field = dup_or_null(field, &failed);
  if (fmt) {
    struct wfe_buf msg = WFE_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    if (wfe_buf_vprintf(&msg, fmt, ap))
      failed = 1;
    va_end(ap);
    err->message = wfe_buf_steal(&msg);
  }
  if (failed)
    err->code = WFE_E_NOMEM;
  return code;
}

void wfe_error_prefix(struct wfe_error *err, const char *fmt, ...)
{
  if (!err)
    return;
  struct wfe_buf msg = WFE_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  int rc = wfe_buf_vprintf(&msg, fmt, ap);
  va_end(ap);
  if (!rc && err->message)
    rc = wfe_buf_printf(&msg, ": %s", err->message);
  if (rc) {
    wfe_buf_free(&msg);
    return; /* keep the unprefixed message rather than lose it */
  }
  free(err->message);
  err->message = wfe_buf_steal(&msg);
}

const char *wfe_error_message(const struct wfe_error *err)
{
  if (err && err->message)
    return err->message;
  if (err && err->reason)
    return err->reason;
  return "unknown error";
}

void wfe_error_clear(struct wfe_error *err)
{
  if (!err)
    return;
  free(err->reason);
  free(err->field);
  free(err->message);
  err->code = 0;
  err->retryable = 0;
  err->http_status = 0;
  err->reason = err->field = err->message = NULL;
}

const char *wfe_status_name(int32_t code)
{
  switch (code) {
  case WFE_OK:
    return "ok";
  case WFE_E_INVALID:
    return "invalid";
  case WFE_E_UNSUPPORTED:
    return "unsupported";
  case WFE_E_NOMEM:
    return "out of memory";
  case WFE_E_UNAVAILABLE:
    return "unavailable";
  case WFE_E_NOT_FOUND:
    return "not found";
  case WFE_E_INTERNAL:
    return "internal error";
  default:
    return "unknown status";
  }
}
