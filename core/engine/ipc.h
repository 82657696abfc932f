/*
 * The framing between the controller and its engine hosts (one process per
 * plugin file, see engine_host.h), over one SOCK_STREAM socketpair. Both
 * ends are this project's code; the controller still treats every frame
 * from a host as untrusted input: sizes are bounded, every field is checked
 * against the body's length, and a malformed frame ends the host.
 *
 * A frame is a 16-byte header and a body:
 *
 *   u32 size    bytes of body that follow (at most WFE_IPC_MAX_BODY)
 *   u16 type    enum wfe_ipc_type
 *   u16 flags   0
 *   u64 id      the call (or 0) the frame belongs to
 *
 * Integers are little-endian. A body is a sequence of fields: u32, i32, u64,
 * and byte strings as a u32 length and the bytes (length 0xffffffff: absent,
 * for NULL). docs/plugin-abi.md lists the fields of each type.
 */
#ifndef WFE_ENGINE_IPC_H
#define WFE_ENGINE_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define WFE_IPC_HEADER_SIZE 16
/* The largest body either side sends or accepts: inputs are objects the API
 * server stored (at most ~3 MiB), outputs are capped far lower. */
#define WFE_IPC_MAX_BODY (64u << 20)
#define WFE_IPC_ABSENT 0xffffffffu

enum wfe_ipc_type {
  /* host -> controller */
  WFE_IPC_READY = 1,       /* the plugin loaded: its descriptor */
  WFE_IPC_LOAD_FAILED = 2, /* it did not, and why */
  WFE_IPC_CREATED = 3,     /* create's result per engine; then it serves */
  WFE_IPC_RESULT = 4,      /* the answer to call `id` */
  WFE_IPC_LOG = 5,         /* a log line of the engine (id: its call or 0) */
  WFE_IPC_GET_OBJECT = 6, /* a read (get or list) the engine asks for in `id` */
  /* controller -> host */
  WFE_IPC_CREATE = 16, /* limits, and the engines to create with configs */
  WFE_IPC_CALL = 17,   /* one operation on one engine */
  WFE_IPC_OBJECT = 18, /* the answer to the GET_OBJECT of call `id` */
};

/* The operations of a CALL. */
enum wfe_ipc_op {
  WFE_IPC_OP_VALIDATE = 1,
  WFE_IPC_OP_RENDER = 2,
  WFE_IPC_OP_INTERPRET = 3,
  WFE_IPC_OP_CANCEL = 4,
  WFE_IPC_OP_DESCRIBE = 5,
  /* validate, then render when it passed: the core's render in one round
   * trip */
  WFE_IPC_OP_VALIDATE_RENDER = 6,
};

/* RESULT flags. */
#define WFE_IPC_RESULT_TOO_LARGE 1u /* the output outgrew its limit */

struct wfe_ipc_header {
  uint32_t size;
  uint16_t type;
  uint16_t flags;
  uint64_t id;
};

/* ---- building a frame in a buffer ---------------------------------------
 * Each returns 0 or WFE_E_NOMEM. begin empties `frame` and writes a header
 * whose size finish fills in. */
int wfe_ipc_begin(struct wfe_buf *frame, uint16_t type, uint64_t id);
int wfe_ipc_put_u32(struct wfe_buf *frame, uint32_t value);
int wfe_ipc_put_i32(struct wfe_buf *frame, int32_t value);
int wfe_ipc_put_u64(struct wfe_buf *frame, uint64_t value);
/* `data` NULL: absent. */
int wfe_ipc_put_bytes(struct wfe_buf *frame, const char *data, size_t len);
int wfe_ipc_put_str(struct wfe_buf *frame, const char *s);
/* code, retryable, reason, field, message. */
int wfe_ipc_put_error(struct wfe_buf *frame, const struct wfe_error *err);
/* Fills the header's size. Returns 0, or WFE_E_INVALID when the body is
 * larger than WFE_IPC_MAX_BODY. */
int wfe_ipc_finish(struct wfe_buf *frame);

/* ---- reading a body -------------------------------------------------------
 * A cursor over a received body. A read past the end or a malformed field
 * sets `failed` and yields zeros/NULL from then on, so a decoder reads every
 * field and checks once, with wfe_ipc_end. */
struct wfe_ipc_reader {
  const char *data;
  size_t len;
  size_t pos;
  int failed;
};

void wfe_ipc_reader_init(struct wfe_ipc_reader *r, const char *data,
                         size_t len);
uint32_t wfe_ipc_get_u32(struct wfe_ipc_reader *r);
int32_t wfe_ipc_get_i32(struct wfe_ipc_reader *r);
uint64_t wfe_ipc_get_u64(struct wfe_ipc_reader *r);
/* A byte string: *out points into the body (not NUL-terminated), NULL when
 * absent. Returns 0, or -1 when the reader has failed. */
int wfe_ipc_get_bytes(struct wfe_ipc_reader *r, const char **out, size_t *len);
/* A text string, copied with a NUL; NULL when absent (or on failure: then
 * `failed` is set). A string holding a NUL byte or longer than `max_len`
 * fails the reader. The caller frees. */
char *wfe_ipc_get_str(struct wfe_ipc_reader *r, size_t max_len);
/* An error record into `err` (cleared first). Strings are bounded: reason
 * 128, field 512, message 8192 bytes. */
void wfe_ipc_get_error(struct wfe_ipc_reader *r, struct wfe_error *err);
/* 0 when every field was read and nothing is left over, else -1. */
int wfe_ipc_end(const struct wfe_ipc_reader *r);

/* ---- I/O on a stream socket ---------------------------------------------- */

/* Writes a finished frame whole. `deadline_ns` (CLOCK_MONOTONIC) bounds the
 * wait on a peer that does not read (and SIGPIPE is never raised); 0: no
 * bound, plain write(2), for a caller that ignores SIGPIPE. Returns 0, or
 * WFE_E_UNAVAILABLE (peer gone, or the deadline passed: then the frame may
 * be cut and the connection is unusable). */
int wfe_ipc_send(int fd, const struct wfe_buf *frame, int64_t deadline_ns);

/* Reads one frame: the header into *header and the body into `body`
 * (emptied first). Returns 0; 1 at a clean end of stream before a header;
 * WFE_E_INVALID for a header whose size exceeds `max_body` or a stream that
 * ends inside a frame; WFE_E_UNAVAILABLE on a read error. Blocks. */
int wfe_ipc_recv(int fd, struct wfe_ipc_header *header, struct wfe_buf *body,
                 uint32_t max_body);

#endif
