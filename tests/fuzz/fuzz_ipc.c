/* Fuzz target: what an engine host sends the controller. Every frame body
 * of every type the controller reads, decoded field by field as it does,
 * then a stream of frames through wfe_ipc_recv over a socketpair, cut into
 * whatever sizes the input says. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_fields(const uint8_t *data, size_t size)
{
  struct wfe_ipc_reader r;
  wfe_ipc_reader_init(&r, (const char *)data, size);
  struct wfe_error err = WFE_ERROR_INIT;
  /* The shapes of READY, RESULT, LOG, GET_OBJECT and CREATED. */
  while (!r.failed && r.pos < r.len) {
    switch (wfe_ipc_get_u32(&r) % 5) {
    case 0: {
      char *s = wfe_ipc_get_str(&r, 256);
      free(s);
      break;
    }
    case 1: {
      const char *bytes;
      size_t len;
      wfe_ipc_get_bytes(&r, &bytes, &len);
      break;
    }
    case 2:
      wfe_ipc_get_error(&r, &err);
      break;
    case 3:
      wfe_ipc_get_u64(&r);
      break;
    default:
      wfe_ipc_get_i32(&r);
    }
  }
  wfe_ipc_end(&r);
  wfe_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  decode_fields(data, size);
  /* The same bytes as a stream of frames. */
  int sv[2];
  if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
    return 0;
  ssize_t written = write(sv[0], data, size);
  (void)written;
  close(sv[0]);
  struct wfe_ipc_header header;
  struct wfe_buf body = WFE_BUF_INIT;
  while (wfe_ipc_recv(sv[1], &header, &body, 1 << 20) == 0)
    decode_fields((const uint8_t *)body.data, body.len);
  wfe_buf_free(&body);
  close(sv[1]);
  return 0;
}
