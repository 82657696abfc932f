/*
 * A growable byte buffer, always NUL-terminated once it holds data. It is the
 * host side of the ABI's opaque wfe_buf, and the buffer every part of the
 * core builds text in (request bodies, JSON output, log lines). A buffer may
 * carry a limit: it then refuses to grow past it, answering WFE_E_NOMEM and
 * remembering that it was asked to, so text that outgrew its cap is told
 * apart from memory running out.
 */
#ifndef WFE_BASE_BUF_H
#define WFE_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct wfe_buf {
  char *data; /* NULL until the first append; then NUL-terminated */
  size_t len;
  size_t cap;
  size_t limit; /* the most `len` may become; 0: no limit */
  int exceeded; /* an append was refused for the limit */
};

#define WFE_BUF_INIT                                                           \
  {                                                                            \
    NULL, 0, 0, 0, 0                                                           \
  }

/* Each returns 0, or WFE_E_NOMEM leaving the buffer as it was. reserve makes
 * room for `extra` more bytes (and the NUL) without changing the text. */
int wfe_buf_reserve(struct wfe_buf *buf, size_t extra);
int wfe_buf_append(struct wfe_buf *buf, const char *data, size_t len);
int wfe_buf_puts(struct wfe_buf *buf, const char *str);
int wfe_buf_printf(struct wfe_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int wfe_buf_vprintf(struct wfe_buf *buf, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Appends `text` whole when it holds at most `max` bytes; otherwise its
 * longest start that ends on a UTF-8 character boundary and leaves room for
 * "...", then "...": at most `max` bytes (`max` >= 3) either way. *out_cut
 * (may be NULL) says whether it was cut. 0 or WFE_E_NOMEM. */
int wfe_buf_append_cut(struct wfe_buf *buf, const char *text, size_t max,
                       int *out_cut);

/* The text so far; "" for an empty buffer. Owned by the buffer. */
const char *wfe_buf_str(const struct wfe_buf *buf);

/* Empties the buffer, keeping its memory. */
void wfe_buf_clear(struct wfe_buf *buf);

/* Hands the text (or NULL when empty) to the caller, who frees it. */
char *wfe_buf_steal(struct wfe_buf *buf);

/* Frees the memory. Accepts NULL. */
void wfe_buf_free(struct wfe_buf *buf);

#endif
