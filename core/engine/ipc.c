/* Frames between the controller and engine hosts; see ipc.h. */
#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "status.h"

static void store_le(unsigned char *p, uint64_t value, int bytes)
{
  for (int i = 0; i < bytes; i++)
    p[i] = (unsigned char)(value >> (8 * i));
}

static uint64_t load_le(const unsigned char *p, int bytes)
{
  uint64_t value = 0;
  for (int i = 0; i < bytes; i++)
    value |= (uint64_t)p[i] << (8 * i);
  return value;
}

static int put_le(struct wfe_buf *frame, uint64_t value, int bytes)
{
  unsigned char raw[8];
  store_le(raw, value, bytes);
  return wfe_buf_append(frame, (const char *)raw, (size_t)bytes);
}

int wfe_ipc_begin(struct wfe_buf *frame, uint16_t type, uint64_t id)
{
  wfe_buf_clear(frame);
  unsigned char header[WFE_IPC_HEADER_SIZE] = {0};
  store_le(header + 4, type, 2);
  store_le(header + 8, id, 8);
  return wfe_buf_append(frame, (const char *)header, sizeof(header));
}

int wfe_ipc_put_u32(struct wfe_buf *frame, uint32_t value)
{
  return put_le(frame, value, 4);
}

int wfe_ipc_put_i32(struct wfe_buf *frame, int32_t value)
{
  return put_le(frame, (uint32_t)value, 4);
}

int wfe_ipc_put_u64(struct wfe_buf *frame, uint64_t value)
{
  return put_le(frame, value, 8);
}

int wfe_ipc_put_bytes(struct wfe_buf *frame, const char *data, size_t len)
{
  if (!data)
    return put_le(frame, WFE_IPC_ABSENT, 4);
  if (len >= WFE_IPC_ABSENT)
    return WFE_E_INVALID;
  int rc = put_le(frame, len, 4);
  return rc ? rc : wfe_buf_append(frame, data, len);
}

int wfe_ipc_put_str(struct wfe_buf *frame, const char *s)
{
  return wfe_ipc_put_bytes(frame, s, s ? strlen(s) : 0);
}

int wfe_ipc_put_error(struct wfe_buf *frame, const struct wfe_error *err)
{
  int rc = wfe_ipc_put_i32(frame, err->code);
  if (!rc)
    rc = wfe_ipc_put_i32(frame, err->retryable);
  if (!rc)
    rc = wfe_ipc_put_str(frame, err->reason);
  if (!rc)
    rc = wfe_ipc_put_str(frame, err->field);
  if (!rc)
    rc = wfe_ipc_put_str(frame, err->message);
  return rc;
}

int wfe_ipc_finish(struct wfe_buf *frame)
{
  if (frame->len < WFE_IPC_HEADER_SIZE)
    return WFE_E_INVALID;
  size_t body = frame->len - WFE_IPC_HEADER_SIZE;
  if (body > WFE_IPC_MAX_BODY)
    return WFE_E_INVALID;
  store_le((unsigned char *)frame->data, body, 4);
  return 0;
}

/* ---- reading ------------------------------------------------------------ */

void wfe_ipc_reader_init(struct wfe_ipc_reader *r, const char *data, size_t len)
{
  r->data = data;
  r->len = data ? len : 0;
  r->pos = 0;
  r->failed = 0;
}

static const unsigned char *take(struct wfe_ipc_reader *r, size_t n)
{
  if (r->failed || r->len - r->pos < n) {
    r->failed = 1;
    return NULL;
  }
  const unsigned char *p = (const unsigned char *)r->data + r->pos;
  r->pos += n;
  return p;
}

uint32_t wfe_ipc_get_u32(struct wfe_ipc_reader *r)
{
  const unsigned char *p = take(r, 4);
  return p ? (uint32_t)load_le(p, 4) : 0;
}

int32_t wfe_ipc_get_i32(struct wfe_ipc_reader *r)
{
  return (int32_t)wfe_ipc_get_u32(r);
}

uint64_t wfe_ipc_get_u64(struct wfe_ipc_reader *r)
{
  const unsigned char *p = take(r, 8);
  return p ? load_le(p, 8) : 0;
}

int wfe_ipc_get_bytes(struct wfe_ipc_reader *r, const char **out, size_t *len)
{
  *out = NULL;
  *len = 0;
  uint32_t n = wfe_ipc_get_u32(r);
  if (r->failed)
    return -1;
  if (n == WFE_IPC_ABSENT)
    return 0;
  const unsigned char *p = take(r, n);
  if (!p)
    return -1;
  *out = (const char *)p;
  *len = n;
  return 0;
}

char *wfe_ipc_get_str(struct wfe_ipc_reader *r, size_t max_len)
{
  const char *data;
  size_t len;
  if (wfe_ipc_get_bytes(r, &data, &len) || !data)
    return NULL;
  if (len > max_len || memchr(data, '\0', len)) {
    r->failed = 1;
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) {
    r->failed = 1;
    return NULL;
  }
  memcpy(s, data, len);
  s[len] = '\0';
  return s;
}

void wfe_ipc_get_error(struct wfe_ipc_reader *r, struct wfe_error *err)
{
  wfe_error_clear(err);
  err->code = wfe_ipc_get_i32(r);
  err->retryable = wfe_ipc_get_i32(r) != 0;
  err->reason = wfe_ipc_get_str(r, 128);
  err->field = wfe_ipc_get_str(r, 512);
  err->message = wfe_ipc_get_str(r, 8192);
}

int wfe_ipc_end(const struct wfe_ipc_reader *r)
{
  return !r->failed && r->pos == r->len ? 0 : -1;
}

/* ---- I/O ---------------------------------------------------------------- */

int wfe_ipc_send(int fd, const struct wfe_buf *frame, int64_t deadline_ns)
{
  size_t done = 0;
  while (done < frame->len) {
    /* Without a deadline plain write(2): the engine host's sandbox allows
     * no other way out (and it ignores SIGPIPE). */
    ssize_t n = deadline_ns ? send(fd, frame->data + done, frame->len - done,
                                   MSG_NOSIGNAL | MSG_DONTWAIT)
                            : write(fd, frame->data + done, frame->len - done);
    if (n > 0) {
      done += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && deadline_ns) {
      int64_t left_ms = (deadline_ns - wfe_monotonic_ns()) / 1000000;
      if (left_ms <= 0)
        return WFE_E_UNAVAILABLE;
      struct pollfd p = {fd, POLLOUT, 0};
      if (poll(&p, 1, left_ms > 1000 ? 1000 : (int)left_ms) < 0 &&
          errno != EINTR)
        return WFE_E_UNAVAILABLE;
      continue;
    }
    return WFE_E_UNAVAILABLE;
  }
  return 0;
}

/* Reads exactly `len` bytes. Returns 0, 1 at end of stream before any byte,
 * WFE_E_INVALID at end of stream after some, WFE_E_UNAVAILABLE on error. */
static int read_full(int fd, char *into, size_t len)
{
  size_t done = 0;
  while (done < len) {
    ssize_t n = read(fd, into + done, len - done);
    if (n > 0) {
      done += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0)
      return done == 0 ? 1 : WFE_E_INVALID;
    return WFE_E_UNAVAILABLE;
  }
  return 0;
}

int wfe_ipc_recv(int fd, struct wfe_ipc_header *header, struct wfe_buf *body,
                 uint32_t max_body)
{
  unsigned char raw[WFE_IPC_HEADER_SIZE];
  int rc = read_full(fd, (char *)raw, sizeof(raw));
  if (rc)
    return rc;
  header->size = (uint32_t)load_le(raw, 4);
  header->type = (uint16_t)load_le(raw + 4, 2);
  header->flags = (uint16_t)load_le(raw + 6, 2);
  header->id = load_le(raw + 8, 8);
  if (header->size > max_body || header->size > WFE_IPC_MAX_BODY)
    return WFE_E_INVALID;
  wfe_buf_clear(body);
  if (wfe_buf_reserve(body, header->size))
    return WFE_E_NOMEM;
  if (header->size == 0)
    return 0;
  rc = read_full(fd, body->data, header->size);
  if (rc)
    return rc == 1 ? WFE_E_INVALID : rc;
  body->len = header->size;
  body->data[body->len] = '\0';
  return 0;
}
