/*
 * wfe-engine-host: the process an engine plugin runs in. The controller
 * starts one per plugin file (engine_host.c) with an empty environment and
 * no descriptor but the socket (fd 3) and its stderr:
 *
 *   wfe-engine-host --plugin PATH --threads N
 *
 * It prepares its sandbox (no new privileges, not root), loads the plugin
 * and describes it (READY, or LOAD_FAILED with the reason), applies the
 * limits and creates the engines the controller names (CREATE, CREATED),
 * starts its serving threads, seals itself with seccomp, and then answers
 * CALLs until the socket closes: then it destroys the engines, calls fini
 * and exits 0. The host services reach the controller over the socket: log
 * lines as LOG frames, get_object and list_objects as a GET_OBJECT answered
 * by an OBJECT.
 * Buffers, errors and SHA-256 stay in the process.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <wfe/engine.h>

#include "buf.h"
#include "error.h"
#include "host.h"
#include "ipc.h"
#include "plugin.h"
#include "sandbox.h"
#include "status.h"

#define FD WFE_SANDBOX_IPC_FD
#define EXIT_PROTOCOL 2
#define LOG_MESSAGE_MAX 4096
#define LOG_RATE_PER_S 100
#define LOG_BURST 200

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer's exit-time scan needs ptrace, which the sandbox forbids;
 * and a fault must reach our own handler, which names the call. */
__attribute__((visibility("default"))) const char *__asan_default_options(void);
__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
  return "detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:"
         "handle_sigill=0:handle_abort=0";
}
#endif

struct job {
  uint64_t id;
  uint32_t index; /* into image->engines */
  uint32_t op;
  struct wfe_buf input;
  struct job *next;
};

struct worker {
  pthread_t thread;
  uint64_t call; /* the call it runs, 0 when idle */
  int object_ready;
  struct wfe_buf object; /* the OBJECT body answering its get_object */
  pthread_cond_t cond;
};

static struct {
  struct wfe_plugin_image *image;
  struct wfe_host_services services;
  uint64_t max_output;
  pthread_mutex_t lock; /* the queue, the workers' calls and objects */
  pthread_cond_t work;
  struct job *head, *tail;
  int closing;
  struct worker *workers;
  int worker_count;
  int workers_started; /* past their start-up: sealing is safe */
  int reading;         /* a worker is reading the socket */
  int sealed;          /* workers read only once the seal is on */
  int status;          /* the exit status */
  pthread_mutex_t write_lock;
  /* log rate limit */
  double tokens;
  int64_t tokens_at_ns;
  uint64_t dropped;
} g = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work = PTHREAD_COND_INITIALIZER,
    .write_lock = PTHREAD_MUTEX_INITIALIZER,
    .tokens = LOG_BURST,
};

static _Thread_local struct worker *self;
static char stdout_buffer[4096];

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int send_frame(struct wfe_buf *frame)
{
  if (wfe_ipc_finish(frame))
    return -1;
  pthread_mutex_lock(&g.write_lock);
  int rc = wfe_ipc_send(FD, frame, 0);
  pthread_mutex_unlock(&g.write_lock);
  return rc;
}

static void read_frame(void);

/* ---- host services over the socket --------------------------------------- */

static void ipc_log(void *ctx, int level, const char *engine,
                    const char *message)
{
  (void)ctx;
  /* A token bucket: an engine that logs in a loop does not flood the
   * controller; what is dropped is counted and said. */
  pthread_mutex_lock(&g.write_lock);
  int64_t now = now_ns();
  g.tokens += (double)(now - g.tokens_at_ns) / 1e9 * LOG_RATE_PER_S;
  if (g.tokens > LOG_BURST)
    g.tokens = LOG_BURST;
  g.tokens_at_ns = now;
  int allowed = g.tokens >= 1;
  uint64_t dropped = g.dropped;
  if (allowed) {
    g.tokens -= 1;
    g.dropped = 0;
  } else {
    g.dropped++;
  }
  pthread_mutex_unlock(&g.write_lock);
  if (!allowed)
    return;
  struct wfe_buf text = WFE_BUF_INIT;
  if (dropped)
    wfe_buf_printf(&text, "(%llu earlier lines dropped: too many) ",
                   (unsigned long long)dropped);
  wfe_buf_printf(&text, "%.*s", LOG_MESSAGE_MAX, message);
  struct wfe_buf frame = WFE_BUF_INIT;
  if (!wfe_ipc_begin(&frame, WFE_IPC_LOG, self ? self->call : 0) &&
      !wfe_ipc_put_i32(&frame, level) && !wfe_ipc_put_str(&frame, engine) &&
      !wfe_ipc_put_str(&frame, wfe_buf_str(&text)))
    send_frame(&frame);
  wfe_buf_free(&frame);
  wfe_buf_free(&text);
}

/* A read the engine asks for during an operation (get_object, or
 * list_objects when `name` is NULL), sent to the controller as a
 * GET_OBJECT frame and answered by an OBJECT. */
static int ipc_read(const char *api_version, const char *resource,
                    const char *namespace_name, const char *name,
                    const char *label_selector, const char *field_selector,
                    struct wfe_buf *out, struct wfe_error *err)
{
  struct worker *w = self;
  if (!w || !w->call)
    return wfe_error_set(err, WFE_E_UNSUPPORTED, 0, "NotDuringAnOperation",
                         NULL, "the host reads objects during operations only");
  struct wfe_buf frame = WFE_BUF_INIT;
  int rc = wfe_ipc_begin(&frame, WFE_IPC_GET_OBJECT, w->call);
  if (!rc)
    rc = wfe_ipc_put_str(&frame, api_version);
  if (!rc)
    rc = wfe_ipc_put_str(&frame, resource);
  if (!rc)
    rc = wfe_ipc_put_str(&frame, namespace_name);
  if (!rc)
    rc = wfe_ipc_put_str(&frame, name);
  if (!rc)
    rc = wfe_ipc_put_str(&frame, label_selector);
  if (!rc)
    rc = wfe_ipc_put_str(&frame, field_selector);
  if (!rc)
    rc = send_frame(&frame);
  wfe_buf_free(&frame);
  if (rc)
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "HostUnavailable", NULL,
                         "the controller did not take the request");
  pthread_mutex_lock(&g.lock);
  while (!w->object_ready && !g.closing) {
    if (!g.reading)
      read_frame(); /* every worker may be waiting: someone must read */
    else
      pthread_cond_wait(&w->cond, &g.lock);
  }
  struct wfe_buf body = w->object;
  w->object = (struct wfe_buf)WFE_BUF_INIT;
  int ready = w->object_ready;
  w->object_ready = 0;
  pthread_mutex_unlock(&g.lock);
  if (!ready) {
    wfe_buf_free(&body);
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "HostUnavailable", NULL,
                         "the controller went away");
  }
  struct wfe_ipc_reader r;
  wfe_ipc_reader_init(&r, body.data, body.len);
  int32_t status = wfe_ipc_get_i32(&r);
  const char *object;
  size_t object_len;
  wfe_ipc_get_bytes(&r, &object, &object_len);
  struct wfe_error answer = WFE_ERROR_INIT;
  wfe_ipc_get_error(&r, &answer);
  if (wfe_ipc_end(&r)) {
    status = wfe_error_set(err, WFE_E_INTERNAL, 0, "HostProtocol", NULL,
                           "malformed answer to a read");
  } else if (status == WFE_OK) {
    if (object && wfe_buf_append(out, object, object_len))
      status = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  } else {
    wfe_error_set(err, status, answer.retryable,
                  answer.reason ? answer.reason : "GetObjectFailed",
                  answer.field, "%s", wfe_error_message(&answer));
  }
  wfe_error_clear(&answer);
  wfe_buf_free(&body);
  return status;
}

static int ipc_get_object(void *ctx, const char *api_version,
                          const char *resource, const char *namespace_name,
                          const char *name, struct wfe_buf *out,
                          struct wfe_error *err)
{
  (void)ctx;
  return ipc_read(api_version, resource, namespace_name, name, NULL, NULL, out,
                  err);
}

static int ipc_list_objects(void *ctx, const char *api_version,
                            const char *resource, const char *namespace_name,
                            const char *label_selector,
                            const char *field_selector, struct wfe_buf *out,
                            struct wfe_error *err)
{
  (void)ctx;
  return ipc_read(api_version, resource, namespace_name, NULL, label_selector,
                  field_selector, out, err);
}

/* ---- answering calls ------------------------------------------------------
 */

static int32_t run_call(const struct job *job, struct wfe_buf *out,
                        struct wfe_error *err)
{
  const wfe_engine *e = g.image->engines[job->index];
  void *instance = g.image->instances[job->index];
  const char *in = wfe_buf_str(&job->input);
  size_t len = job->input.len;
  switch (job->op) {
  case WFE_IPC_OP_VALIDATE:
    return e->validate(instance, in, len, (wfe_error *)err);
  case WFE_IPC_OP_RENDER:
    return e->render(instance, in, len, (wfe_buf *)out, (wfe_error *)err);
  case WFE_IPC_OP_VALIDATE_RENDER: {
    int32_t rc = e->validate(instance, in, len, (wfe_error *)err);
    return rc ? rc
              : e->render(instance, in, len, (wfe_buf *)out, (wfe_error *)err);
  }
  case WFE_IPC_OP_INTERPRET:
    return e->interpret(instance, in, len, (wfe_buf *)out, (wfe_error *)err);
  case WFE_IPC_OP_CANCEL:
    return e->cancel(instance, in, len, (wfe_buf *)out, (wfe_error *)err);
  case WFE_IPC_OP_DESCRIBE:
    if (e->describe)
      return e->describe(instance, (wfe_buf *)out, (wfe_error *)err);
    return wfe_error_set(err, WFE_E_UNSUPPORTED, 0, "NotImplemented", NULL,
                         "the engine does not describe itself");
  default:
    return wfe_error_set(err, WFE_E_INVALID, 0, "UnknownOperation", NULL,
                         "unknown operation %u", job->op);
  }
}

static void answer(const struct job *job)
{
  struct wfe_buf out = WFE_BUF_INIT;
  out.limit = g.max_output;
  struct wfe_error err = WFE_ERROR_INIT;
  wfe_sandbox_set_call(job->id);
  int32_t status = run_call(job, &out, &err);
  wfe_sandbox_set_call(0);
  uint32_t flags = out.exceeded ? WFE_IPC_RESULT_TOO_LARGE : 0;
  struct wfe_buf frame = WFE_BUF_INIT;
  int rc = wfe_ipc_begin(&frame, WFE_IPC_RESULT, job->id);
  if (!rc)
    rc = wfe_ipc_put_i32(&frame, status);
  if (!rc)
    rc = wfe_ipc_put_u32(&frame, flags);
  if (!rc)
    rc = wfe_ipc_put_bytes(&frame, flags ? NULL : wfe_buf_str(&out),
                           flags ? 0 : out.len);
  if (!rc)
    rc = wfe_ipc_put_error(&frame, &err);
  if (!rc)
    send_frame(&frame);
  wfe_buf_free(&frame);
  wfe_buf_free(&out);
  wfe_error_clear(&err);
}

/* Parses a CALL into a job. Returns it, or NULL for a malformed one. */
static struct job *parse_call(uint64_t id, const struct wfe_buf *body)
{
  struct wfe_ipc_reader r;
  wfe_ipc_reader_init(&r, body->data, body->len);
  uint32_t index = wfe_ipc_get_u32(&r);
  uint32_t op = wfe_ipc_get_u32(&r);
  const char *input;
  size_t len;
  wfe_ipc_get_bytes(&r, &input, &len);
  if (wfe_ipc_end(&r) || index >= g.image->engine_count ||
      !g.image->created[index])
    return NULL;
  struct job *job = calloc(1, sizeof(*job));
  if (!job)
    return NULL;
  job->id = id;
  job->index = index;
  job->op = op;
  if (input && wfe_buf_append(&job->input, input, len)) {
    free(job);
    return NULL;
  }
  return job;
}

/* Hands an OBJECT to the worker running call `id` (called locked); one for
 * no call waiting (a late answer) is dropped. */
static void take_object(uint64_t id, struct wfe_buf *body)
{
  for (int i = 0; i < g.worker_count; i++) {
    struct worker *w = &g.workers[i];
    if (w->call != id || w->object_ready)
      continue;
    w->object = *body;
    *body = (struct wfe_buf)WFE_BUF_INIT;
    w->object_ready = 1;
    pthread_cond_signal(&w->cond);
    return;
  }
}

/*
 * Reads one frame as the reader (called locked, returns locked). Workers
 * take turns reading the socket themselves, leader/follower: whoever is
 * free reads, so a call goes from the socket to the engine without a
 * thread hand-off. A CALL is queued for the next free worker -- which is
 * usually the reader itself; an OBJECT goes to the worker that asked.
 */
static void read_frame(void)
{
  g.reading = 1;
  pthread_mutex_unlock(&g.lock);
  struct wfe_ipc_header header;
  struct wfe_buf body = WFE_BUF_INIT;
  int rc = wfe_ipc_recv(FD, &header, &body, WFE_IPC_MAX_BODY);
  struct job *job = NULL;
  if (rc == 0 && header.type == WFE_IPC_CALL &&
      !(job = parse_call(header.id, &body)))
    rc = -1;
  pthread_mutex_lock(&g.lock);
  g.reading = 0;
  if (rc == 1) {
    g.closing = 1; /* the controller closed: stop */
  } else if (rc ||
             (header.type != WFE_IPC_CALL && header.type != WFE_IPC_OBJECT)) {
    g.closing = 1;
    g.status = EXIT_PROTOCOL;
  } else if (header.type == WFE_IPC_OBJECT) {
    take_object(header.id, &body);
  } else {
    if (g.tail)
      g.tail->next = job;
    else
      g.head = job;
    g.tail = job;
  }
  wfe_buf_free(&body);
  /* Someone else may read next, or take the job when we cannot. */
  if (g.closing) {
    pthread_cond_broadcast(&g.work);
    for (int i = 0; i < g.worker_count; i++)
      pthread_cond_signal(&g.workers[i].cond);
  } else {
    pthread_cond_signal(&g.work);
  }
}

static void *serve_calls(void *arg)
{
  self = arg;
  wfe_sandbox_thread_init();
  pthread_mutex_lock(&g.lock);
  g.workers_started++;
  pthread_cond_broadcast(&g.work);
  while (!g.sealed && !g.closing)
    pthread_cond_wait(&g.work, &g.lock);
  for (;;) {
    if (g.head) {
      struct job *job = g.head;
      g.head = job->next;
      if (!g.head)
        g.tail = NULL;
      self->call = job->id;
      pthread_mutex_unlock(&g.lock);
      answer(job);
      wfe_buf_free(&job->input);
      free(job);
      pthread_mutex_lock(&g.lock);
      self->call = 0;
      continue;
    }
    if (g.closing)
      break;
    if (!g.reading)
      read_frame();
    else
      pthread_cond_wait(&g.work, &g.lock);
  }
  pthread_mutex_unlock(&g.lock);
  return NULL;
}

/* ---- loading ----------------------------------------------------------------
 */

static int send_load_failed(const char *reason)
{
  struct wfe_buf frame = WFE_BUF_INIT;
  int rc = wfe_ipc_begin(&frame, WFE_IPC_LOAD_FAILED, 0);
  if (!rc)
    rc = wfe_ipc_put_str(&frame, reason);
  if (!rc)
    rc = send_frame(&frame);
  wfe_buf_free(&frame);
  return rc;
}

static int send_ready(void)
{
  const struct wfe_plugin_image *img = g.image;
  struct wfe_buf frame = WFE_BUF_INIT;
  int rc = wfe_ipc_begin(&frame, WFE_IPC_READY, 0);
  if (!rc)
    rc = wfe_ipc_put_u32(&frame, img->desc->abi_major);
  if (!rc)
    rc = wfe_ipc_put_u32(&frame, img->desc->abi_minor);
  if (!rc)
    rc = wfe_ipc_put_str(&frame, img->desc->name);
  if (!rc)
    rc = wfe_ipc_put_str(&frame, img->desc->version);
  if (!rc)
    rc = wfe_ipc_put_u32(&frame, (uint32_t)img->engine_count);
  for (size_t i = 0; i < img->engine_count && !rc; i++) {
    const wfe_engine *e = img->engines[i];
    /* The position in our list is what CALLs name. */
    rc = wfe_ipc_put_u32(&frame, (uint32_t)i);
    if (!rc)
      rc = wfe_ipc_put_str(&frame, e->name);
    if (!rc)
      rc = wfe_ipc_put_str(&frame, e->version);
    if (!rc)
      rc = wfe_ipc_put_str(&frame, e->description);
    if (!rc)
      rc = wfe_ipc_put_str(&frame, e->run_type->api_version);
    if (!rc)
      rc = wfe_ipc_put_str(&frame, e->run_type->kind);
    if (!rc)
      rc = wfe_ipc_put_str(&frame, e->run_type->resource);
    if (!rc)
      rc = wfe_ipc_put_i32(&frame, e->run_type->has_status_subresource);
    if (!rc)
      rc = wfe_ipc_put_u32(&frame, e->describe ? 1u : 0u);
  }
  if (!rc)
    rc = wfe_ipc_put_u32(&frame, (uint32_t)img->refusal_count);
  for (size_t i = 0; i < img->refusal_count && !rc; i++) {
    rc = wfe_ipc_put_str(&frame, img->refusals[i].engine);
    if (!rc)
      rc = wfe_ipc_put_str(&frame, img->refusals[i].reason);
  }
  if (!rc)
    rc = send_frame(&frame);
  wfe_buf_free(&frame);
  return rc;
}

/* Reads CREATE, applies the limits and creates the engines, building the
 * CREATED answer in `created` (sent once the host is sealed, so that the
 * controller's first call meets a sealed host). */
static int create_engines(struct wfe_buf *frame)
{
  struct wfe_ipc_header header;
  struct wfe_buf body = WFE_BUF_INIT;
  if (wfe_ipc_recv(FD, &header, &body, WFE_IPC_MAX_BODY) ||
      header.type != WFE_IPC_CREATE) {
    wfe_buf_free(&body);
    return -1;
  }
  struct wfe_ipc_reader r;
  wfe_ipc_reader_init(&r, body.data, body.len);
  uint64_t memory = wfe_ipc_get_u64(&r);
  uint64_t cpu = wfe_ipc_get_u64(&r);
  g.max_output = wfe_ipc_get_u64(&r);
  uint32_t count = wfe_ipc_get_u32(&r);
  char why[256];
  if (r.failed || wfe_sandbox_limit(memory, cpu, why, sizeof(why))) {
    if (!r.failed)
      fprintf(stderr, "wfe-engine-host: %s\n", why);
    wfe_buf_free(&body);
    return -1;
  }
  int rc = wfe_ipc_begin(frame, WFE_IPC_CREATED, 0);
  if (!rc)
    rc = wfe_ipc_put_u32(frame, count);
  for (uint32_t i = 0; i < count && !rc; i++) {
    uint32_t index = wfe_ipc_get_u32(&r);
    const char *config;
    size_t config_len;
    wfe_ipc_get_bytes(&r, &config, &config_len);
    if (r.failed || index >= g.image->engine_count || g.image->created[index]) {
      rc = -1;
      break;
    }
    struct wfe_buf reason = WFE_BUF_INIT;
    int created = wfe_plugin_image_create(g.image, index, &g.services.table,
                                          config ? config : "{}",
                                          config ? config_len : 2, &reason);
    rc = wfe_ipc_put_i32(frame, created == 0 ? WFE_OK : WFE_E_INVALID);
    if (!rc)
      rc = wfe_ipc_put_str(frame, created ? wfe_buf_str(&reason) : NULL);
    wfe_buf_free(&reason);
  }
  if (!rc && wfe_ipc_end(&r))
    rc = -1;
  wfe_buf_free(&body);
  return rc ? -1 : 0;
}

/* Whatever initialises itself on first use does it now, while files may
 * still be opened: json-c's hash seed, stdio, the time zone. */
static void warm_up(void)
{
  json_object *probe = json_tokener_parse("{\"warm\":[1,\"up\"]}");
  json_object_put(probe);
  setvbuf(stdout, stdout_buffer, _IOLBF, sizeof(stdout_buffer));
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
}

/* Starts `count` workers; 0, or -1 with why in `why`. */
static int start_workers(int count, char *why, size_t size)
{
  g.workers = calloc((size_t)count, sizeof(*g.workers));
  if (!g.workers) {
    snprintf(why, size, "cannot start threads: out of memory");
    return -1;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, WFE_ENGINE_HOST_STACK_SIZE);
  for (int i = 0; i < count; i++) {
    struct worker *w = &g.workers[i];
    w->object = (struct wfe_buf)WFE_BUF_INIT;
    pthread_cond_init(&w->cond, NULL);
    int rc = pthread_create(&w->thread, &attr, serve_calls, w);
    if (rc) {
      pthread_attr_destroy(&attr);
      /* EAGAIN under RLIMIT_AS: a runtime in the plugin (Go's) reserved
       * the address space the stacks need. */
      snprintf(why, size,
               "cannot start threads: %s (the address space may be "
               "exhausted: raise engineHost memoryLimit for this engine)",
               strerror(rc));
      return -1;
    }
    g.worker_count = i + 1;
  }
  pthread_attr_destroy(&attr);
  /* A thread starting registers itself with the kernel (robust futex list,
   * rseq): done before the seal, which would refuse it. */
  pthread_mutex_lock(&g.lock);
  while (g.workers_started < g.worker_count)
    pthread_cond_wait(&g.work, &g.lock);
  pthread_mutex_unlock(&g.lock);
  return 0;
}

/* Waits for the workers: they end once a reader saw the socket close. */
static void stop_workers(void)
{
  for (int i = 0; i < g.worker_count; i++)
    pthread_join(g.workers[i].thread, NULL);
}

int main(int argc, char **argv)
{
  const char *plugin = NULL;
  int threads = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--plugin"))
      plugin = argv[i + 1];
    else if (!strcmp(argv[i], "--threads"))
      threads = atoi(argv[i + 1]);
  }
  if (!plugin || threads < 1 || threads > 256) {
    fprintf(stderr, "usage: wfe-engine-host --plugin PATH --threads N "
                    "(started by wfe-controller)\n");
    return EXIT_PROTOCOL;
  }
  signal(SIGPIPE, SIG_IGN);
  /* One malloc arena for all threads. A second arena would read
   * /proc/sys/vm/overcommit_memory the first time it gives memory back
   * (a large input freed by a serving thread), an open the seal refuses;
   * it would also look up the CPU count (a file) to size the arenas. The
   * main arena returns memory with brk alone. */
  mallopt(M_ARENA_MAX, 1);
  char why[256];
  if (wfe_sandbox_install_fault_handlers() ||
      wfe_sandbox_prepare(why, sizeof(why))) {
    send_load_failed(why);
    return EXIT_PROTOCOL;
  }
  wfe_host_services_init(&g.services, ipc_get_object, NULL);
  wfe_host_services_set_lister(&g.services, ipc_list_objects, NULL);
  g.services.log = ipc_log;
  g.tokens_at_ns = now_ns();

  struct wfe_buf reason = WFE_BUF_INIT;
  int rc = wfe_plugin_image_open(plugin, &g.services.table, &g.image, &reason);
  if (rc) {
    const char *text = wfe_buf_str(&reason);
    send_load_failed(rc < 0 ? "out of memory while loading" : text);
    wfe_buf_free(&reason);
    return 0;
  }
  wfe_buf_free(&reason);
  struct wfe_buf created = WFE_BUF_INIT;
  if (send_ready() || create_engines(&created))
    return EXIT_PROTOCOL;
  warm_up();
  if (start_workers(threads, why, sizeof(why)) ||
      wfe_sandbox_seal(why, sizeof(why))) {
    fprintf(stderr, "wfe-engine-host: %s\n", why);
    return EXIT_PROTOCOL;
  }
  if (send_frame(&created))
    return EXIT_PROTOCOL;
  wfe_buf_free(&created);

  pthread_mutex_lock(&g.lock);
  g.sealed = 1;
  pthread_cond_broadcast(&g.work);
  pthread_mutex_unlock(&g.lock);
  stop_workers(); /* they end when the controller closes the socket */
  wfe_plugin_image_close(g.image);
  return g.status;
}
