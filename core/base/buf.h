/*
 * A growable byte buffer, always NUL-terminated once it holds data. It is the
 * host side of the ABI's opaque wfe_buf, and the buffer every part of the
 * core builds text in (request bodies, JSON output, log lines).
 */
#ifndef WFE_BASE_BUF_H
#define WFE_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct wfe_buf {
  char *data; /* NULL until the first append; then NUL-terminated */
  size_t len;
  size_t cap;
};

#define WFE_BUF_INIT                                                           \
  {                                                                            \
    NULL, 0, 0                                                                 \
  }

/* Each returns 0, or WFE_E_NOMEM leaving the buffer as it was. */
int wfe_buf_append(struct wfe_buf *buf, const char *data, size_t len);
int wfe_buf_puts(struct wfe_buf *buf, const char *str);
int wfe_buf_printf(struct wfe_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int wfe_buf_vprintf(struct wfe_buf *buf, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The text so far; "" for an empty buffer. Owned by the buffer. */
const char *wfe_buf_str(const struct wfe_buf *buf);

/* Empties the buffer, keeping its memory. */
void wfe_buf_clear(struct wfe_buf *buf);

/* Hands the text (or NULL when empty) to the caller, who frees it. */
char *wfe_buf_steal(struct wfe_buf *buf);

/* Frees the memory. Accepts NULL. */
void wfe_buf_free(struct wfe_buf *buf);

#endif
