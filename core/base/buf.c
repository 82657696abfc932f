/* Growable buffer; see buf.h. */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

int wfe_buf_reserve(struct wfe_buf *buf, size_t extra)
{
  if (extra > SIZE_MAX - buf->len - 1)
    return WFE_E_NOMEM;
  if (buf->limit && extra > buf->limit - buf->len) {
    buf->exceeded = 1;
    return WFE_E_NOMEM;
  }
  size_t need = buf->len + extra + 1;
  if (need <= buf->cap)
    return 0;
  size_t cap = buf->cap ? buf->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *data = realloc(buf->data, cap);
  if (!data)
    return WFE_E_NOMEM;
  buf->data = data;
  buf->cap = cap;
  return 0;
}

int wfe_buf_append(struct wfe_buf *buf, const char *data, size_t len)
{
  int rc = wfe_buf_reserve(buf, len);
  if (rc)
    return rc;
  if (len)
    memcpy(buf->data + buf->len, data, len);
  buf->len += len;
  buf->data[buf->len] = '\0';
  return 0;
}

int wfe_buf_puts(struct wfe_buf *buf, const char *str)
{
  return wfe_buf_append(buf, str, strlen(str));
}

int wfe_buf_vprintf(struct wfe_buf *buf, const char *fmt, va_list ap)
{
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0)
    return WFE_E_INTERNAL;
  int rc = wfe_buf_reserve(buf, (size_t)n);
  if (rc)
    return rc;
  vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
  buf->len += (size_t)n;
  return 0;
}

int wfe_buf_printf(struct wfe_buf *buf, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = wfe_buf_vprintf(buf, fmt, ap);
  va_end(ap);
  return rc;
}

int wfe_buf_append_cut(struct wfe_buf *buf, const char *text, size_t max,
                       int *out_cut)
{
  static const char ellipsis[] = "...";
  size_t len = strlen(text);
  if (out_cut)
    *out_cut = len > max;
  if (len <= max)
    return wfe_buf_append(buf, text, len);
  size_t cut = max > sizeof(ellipsis) - 1 ? max - (sizeof(ellipsis) - 1) : 0;
  /* Never split a UTF-8 sequence: back up over continuation bytes. */
  while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
    cut--;
  int rc = wfe_buf_reserve(buf, cut + sizeof(ellipsis) - 1);
  if (!rc)
    rc = wfe_buf_append(buf, text, cut);
  return rc ? rc : wfe_buf_puts(buf, ellipsis);
}

const char *wfe_buf_str(const struct wfe_buf *buf)
{
  return buf->data ? buf->data : "";
}

void wfe_buf_clear(struct wfe_buf *buf)
{
  buf->len = 0;
  if (buf->data)
    buf->data[0] = '\0';
}

char *wfe_buf_steal(struct wfe_buf *buf)
{
  char *data = buf->data;
  buf->data = NULL;
  buf->len = buf->cap = 0;
  return data;
}

void wfe_buf_free(struct wfe_buf *buf)
{
  if (!buf)
    return;
  free(buf->data);
  buf->data = NULL;
  buf->len = buf->cap = 0;
}
