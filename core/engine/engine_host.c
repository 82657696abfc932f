/*
 * The controller's side of an engine host; see engine_host.h. One mutex
 * guards the state, the incarnation and the calls in flight; another
 * serialises frames onto the socket. A supervisor thread per host reads
 * the socket and the host's stderr, hands answers to the waiting callers,
 * logs what the engine logs, and when the process dies decides the fate of
 * every call in flight, then restarts it with backoff. Callers wait on their
 * own call with a deadline and answer the engine's get_object themselves.
 */
#include "engine_host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "host.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "status.h"

#define LOGGER "engine-host"
#define DEFAULT_CALL_TIMEOUT_MS 5000
#define DEFAULT_LOAD_TIMEOUT_MS 10000
#define DEFAULT_MEMORY (512ull << 20)
#define DEFAULT_CPU_SECONDS 600
#define DEFAULT_MAX_OUTPUT (1ull << 20)
#define DEFAULT_THREADS 4
/* What a host may send: the output cap plus room for the error record. */
#define RECV_SLACK (64u << 10)
#define RESTART_BACKOFF_FIRST_MS 100
#define RESTART_BACKOFF_MAX_MS 10000
#define DEATH_BACKOFF_MAX_MS 500
#define HEALTHY_AFTER_MS 30000
#define STDERR_LINE_MAX 2048

enum host_state { H_STARTING, H_READY, H_DOWN, H_STOPPING, H_STOPPED };

/* What became of a call. */
enum fate {
  F_PENDING,
  F_ANSWERED,  /* a RESULT arrived */
  F_CRASHED,   /* the host died during it, and it was or may be the cause */
  F_TIMEOUT,   /* it missed its deadline; the host was killed for it */
  F_RESTARTED, /* the host died of another call */
  F_SEND,      /* its frame could not be sent */
};

struct call {
  uint64_t id;
  uint64_t incarnation;
  struct call *next;
  enum fate fate;
  pthread_cond_t cond;
  /* the answer */
  int32_t status;
  uint32_t flags;
  struct wfe_buf output;
  struct wfe_error error;
  /* a get_object the engine asked for, to be answered by the caller */
  int object_wanted;
  struct wfe_buf object_request; /* the GET_OBJECT body */
};

struct proxy {
  wfe_engine desc;
  wfe_run_type run_type;
  struct wfe_engine_host *host;
  uint32_t index;
  char *name, *version, *description, *api_version, *kind, *resource;
};

struct wfe_engine_host {
  char *executable, *plugin_path, *real_path;
  const wfe_host *services;
  struct wfe_engine_host_limits limits;
  int threads;
  struct wfe_metric *restarts_metric, *calls_metric, *duration_metric;

  pthread_mutex_t lock;
  pthread_cond_t changed;
  pthread_mutex_t write_lock;
  int refs;
  enum host_state state;
  pid_t pid;
  int sock, err_fd;
  uint64_t incarnation;
  uint64_t next_call_id;
  struct call *calls;
  int killed_for_deadline; /* this incarnation: a caller killed it */
  /* Who reads the socket: the caller of a call in flight, itself (one
   * thread hand-off less per call). `reading`: someone is; `eof`: the stream
   * ended; `dying`: the supervisor is burying this incarnation. */
  int reading, eof, dying;
  int pidfd;         /* this incarnation's process, to learn of its death */
  const char *broke; /* a protocol violation seen by a reader, or NULL */
  char fate[512];    /* how the last incarnation ended */
  uint64_t restarts;

  /* The plugin as described, and what was created (for restarts). */
  struct wfe_engine_host_plugin plugin;
  struct wfe_engine_host_engine *engines;
  struct proxy *proxies;
  char **refused, **refusal_reasons;
  char *plugin_name, *plugin_version;
  size_t created_count;
  size_t *created_positions;
  char **created_configs;

  pthread_t supervisor;
  int supervisor_started;
  /* the host's stderr, split into lines */
  char line[STDERR_LINE_MAX];
  size_t line_len;
  /* what its crash handler reported, this incarnation */
  uint64_t culprit;
  char culprit_what[192];
  /* its last other line, for a start that fails ("cannot start threads") */
  struct wfe_buf last_words;
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t now_ns(void)
{
  return wfe_monotonic_ns();
}

static void deadline_timespec(int64_t deadline_ns, struct timespec *ts)
{
  /* Condition variables here use CLOCK_MONOTONIC. */
  ts->tv_sec = (time_t)(deadline_ns / 1000000000);
  ts->tv_nsec = (long)(deadline_ns % 1000000000);
}

static void cond_init_monotonic(pthread_cond_t *cond)
{
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(cond, &attr);
  pthread_condattr_destroy(&attr);
}

/* "signal 11 (SIGSEGV)" */
static void describe_signal(int sig, char *out, size_t size)
{
  const char *abbrev = sigabbrev_np(sig);
  snprintf(out, size, "signal %d (SIG%s)", sig, abbrev ? abbrev : "?");
}

/* How a process ended, from waitpid's status. */
static void describe_status(int status, char *out, size_t size)
{
  char sig[64];
  if (WIFEXITED(status)) {
    snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    describe_signal(WTERMSIG(status), sig, sizeof(sig));
    snprintf(out, size, "was killed by %s", sig);
  } else {
    snprintf(out, size, "ended (wait status %d)", status);
  }
}

static const char *op_name(uint32_t op)
{
  switch (op) {
  case WFE_IPC_OP_VALIDATE:
    return "validate";
  case WFE_IPC_OP_RENDER:
    return "render";
  case WFE_IPC_OP_INTERPRET:
    return "interpret";
  case WFE_IPC_OP_CANCEL:
    return "cancel";
  case WFE_IPC_OP_DESCRIBE:
    return "describe";
  case WFE_IPC_OP_VALIDATE_RENDER:
    return "render";
  default:
    return "call";
  }
}

/* Waits for `pid` up to `wait_ms`, then kills it and waits. */
static int reap(pid_t pid, long wait_ms)
{
  int status = 0;
  int64_t deadline = now_ns() + (int64_t)wait_ms * 1000000;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r < 0 && errno != EINTR)
      return 0;
    if (now_ns() >= deadline)
      break;
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return status;
}

/* The limits with defaults for what is unset. */
static void default_limits(struct wfe_engine_host_limits *l)
{
  if (l->call_timeout_ms <= 0)
    l->call_timeout_ms = DEFAULT_CALL_TIMEOUT_MS;
  if (l->load_timeout_ms <= 0)
    l->load_timeout_ms = DEFAULT_LOAD_TIMEOUT_MS;
  if (!l->memory_bytes)
    l->memory_bytes = DEFAULT_MEMORY;
  if (!l->cpu_seconds)
    l->cpu_seconds = DEFAULT_CPU_SECONDS;
  if (!l->max_output)
    l->max_output = DEFAULT_MAX_OUTPUT;
}

/* ---- the process -------------------------------------------------------- */

/* Starts the program with the socket as fd 3 and a pipe as stdout/stderr. */
static int spawn(struct wfe_engine_host *h, pid_t *pid, int *sock, int *err_fd,
                 struct wfe_error *err)
{
  int sv[2], pipe_fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "EngineHostSpawnFailed",
                         NULL, "cannot make a socket pair: %s",
                         strerror(errno));
  if (pipe2(pipe_fds, O_CLOEXEC)) {
    int saved = errno;
    close(sv[0]);
    close(sv[1]);
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "EngineHostSpawnFailed",
                         NULL, "cannot make a pipe: %s", strerror(saved));
  }
  char threads[16];
  snprintf(threads, sizeof(threads), "%d", h->threads);
  char *const argv[] = {h->executable, "--plugin", h->real_path,
                        "--threads",   threads,    NULL};
  char *const envp[] = {NULL};
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
  int rc =
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (!rc)
    rc = posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  if (!rc)
    rc = posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  if (!rc)
    rc = posix_spawn_file_actions_adddup2(&actions, sv[1], 3);
  if (!rc)
    rc = posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  if (!rc)
    rc = posix_spawn(pid, h->executable, &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(sv[1]);
  close(pipe_fds[1]);
  if (rc) {
    close(sv[0]);
    close(pipe_fds[0]);
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "EngineHostSpawnFailed",
                         NULL, "cannot start the engine host %s: %s",
                         h->executable, strerror(rc));
  }
  /* A host that stalls inside a frame must not hold the reader forever. */
  long ms = h->limits.call_timeout_ms > h->limits.load_timeout_ms
                ? h->limits.call_timeout_ms
                : h->limits.load_timeout_ms;
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  fcntl(pipe_fds[0], F_SETFL, fcntl(pipe_fds[0], F_GETFL) | O_NONBLOCK);
  *sock = sv[0];
  *err_fd = pipe_fds[0];
  return 0;
}

/* ---- the host's stderr ---------------------------------------------------
 * Lines are logged; the crash handler's own line names the call it was
 * running and what killed it:
 *   wfe-engine-host: fault call=17 signal=11
 *   wfe-engine-host: fault call=17 signal=31 syscall=openat
 */

static void stderr_line(struct wfe_engine_host *h, char *line)
{
  unsigned long long call = 0;
  int sig = 0, consumed = 0;
  if (sscanf(line, "wfe-engine-host: fault call=%llu signal=%d%n", &call, &sig,
             &consumed) == 2) {
    char what[64];
    describe_signal(sig, what, sizeof(what));
    const char *syscall = strstr(line + consumed, "syscall=");
    pthread_mutex_lock(&h->lock);
    h->culprit = call;
    if (syscall)
      snprintf(h->culprit_what, sizeof(h->culprit_what),
               "%s: it attempted the forbidden system call %.40s", what,
               syscall + 8);
    else
      snprintf(h->culprit_what, sizeof(h->culprit_what), "%s", what);
    pthread_mutex_unlock(&h->lock);
    return;
  }
  wfe_log_warn(LOGGER, NULL, "engine host of %s says: %s", h->plugin_path,
               line);
  pthread_mutex_lock(&h->lock);
  wfe_buf_clear(&h->last_words);
  if (wfe_buf_puts(&h->last_words, line))
    wfe_buf_clear(&h->last_words); /* out of memory: the log has it */
  pthread_mutex_unlock(&h->lock);
}

/* Reads what is there; returns 0, or 1 at end of stream. */
static int drain_stderr(struct wfe_engine_host *h, int fd)
{
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
    if (n == 0) {
      if (h->line_len) {
        h->line[h->line_len] = '\0';
        stderr_line(h, h->line);
        h->line_len = 0;
      }
      return 1;
    }
    for (ssize_t i = 0; i < n; i++) {
      char c = chunk[i];
      if (c == '\n' || h->line_len == sizeof(h->line) - 1) {
        h->line[h->line_len] = '\0';
        if (h->line_len)
          stderr_line(h, h->line);
        h->line_len = 0;
        if (c == '\n')
          continue;
      }
      h->line[h->line_len++] = (c >= ' ' || c == '\t') ? c : '?';
    }
  }
}

/* ---- frames from the host ------------------------------------------------ */

static void log_frame(struct wfe_engine_host *h, const struct wfe_buf *body)
{
  struct wfe_ipc_reader r;
  wfe_ipc_reader_init(&r, body->data, body->len);
  int32_t level = wfe_ipc_get_i32(&r);
  char *engine = wfe_ipc_get_str(&r, 63);
  char *message = wfe_ipc_get_str(&r, 8192);
  if (!wfe_ipc_end(&r))
    h->services->log(h->services, level,
                     engine && wfe_is_dns_label(engine) ? engine : NULL,
                     message ? message : "");
  free(engine);
  free(message);
}

static struct call *find_call(struct wfe_engine_host *h, uint64_t id)
{
  for (struct call *c = h->calls; c; c = c->next)
    if (c->id == id && c->incarnation == h->incarnation)
      return c;
  return NULL;
}

/* Handles one frame while serving; called locked. Returns 0, or -1 for a
 * protocol error. */
static int dispatch_locked(struct wfe_engine_host *h,
                           const struct wfe_ipc_header *header,
                           struct wfe_buf *body)
{
  if (header->type == WFE_IPC_LOG) {
    log_frame(h, body);
    return 0;
  }
  if (header->type != WFE_IPC_RESULT && header->type != WFE_IPC_GET_OBJECT)
    return -1;
  struct call *c = find_call(h, header->id);
  if (!c || c->fate != F_PENDING)
    return 0; /* a call that timed out already: its late answer is dropped */
  if (header->type == WFE_IPC_GET_OBJECT) {
    if (c->object_wanted)
      return -1; /* one read at a time per call */
    wfe_buf_free(&c->object_request);
    c->object_request = *body;
    *body = (struct wfe_buf)WFE_BUF_INIT;
    c->object_wanted = 1;
    pthread_cond_signal(&c->cond);
    return 0;
  }
  struct wfe_ipc_reader r;
  wfe_ipc_reader_init(&r, body->data, body->len);
  c->status = wfe_ipc_get_i32(&r);
  c->flags = wfe_ipc_get_u32(&r);
  const char *out;
  size_t out_len;
  wfe_ipc_get_bytes(&r, &out, &out_len);
  wfe_ipc_get_error(&r, &c->error);
  if (wfe_ipc_end(&r) || out_len > h->limits.max_output ||
      (out && wfe_buf_append(&c->output, out, out_len)))
    return -1;
  c->fate = F_ANSWERED;
  pthread_cond_signal(&c->cond);
  return 0;
}

/* Lets the thread of another call in flight take over reading. */
static void pass_reading_on(struct wfe_engine_host *h, const struct call *self)
{
  for (struct call *c = h->calls; c; c = c->next)
    if (c != self && c->fate == F_PENDING) {
      pthread_cond_signal(&c->cond);
      break;
    }
  pthread_cond_broadcast(&h->changed); /* the supervisor may wait for it */
}

/* Reads one frame as the host's reader, waiting up to `deadline`; called
 * locked, returns locked. A malformed frame kills the host (the supervisor
 * then buries it); the end of the stream is left to the supervisor too. */
static void read_one_frame(struct wfe_engine_host *h, const struct call *self,
                           int64_t deadline)
{
  h->reading = 1;
  int sock = h->sock;
  uint64_t incarnation = h->incarnation;
  pthread_mutex_unlock(&h->lock);
  int64_t left = (deadline - now_ns()) / 1000000;
  struct pollfd p = {sock, POLLIN, 0};
  int ready = left > 0 && poll(&p, 1, left > 1000 ? 1000 : (int)left) > 0;
  struct wfe_ipc_header header;
  struct wfe_buf body = WFE_BUF_INIT;
  int rc = ready ? wfe_ipc_recv(sock, &header, &body,
                                (uint32_t)(h->limits.max_output + RECV_SLACK))
                 : 0;
  pthread_mutex_lock(&h->lock);
  if (ready && h->incarnation == incarnation && !h->dying) {
    if (rc == 1 || rc == WFE_E_UNAVAILABLE) {
      h->eof = 1;
    } else if (rc || dispatch_locked(h, &header, &body)) {
      h->broke = rc == WFE_E_INVALID ? "sent a malformed or oversized frame"
                                     : "sent a frame out of turn";
      h->eof = 1;
      if (h->pid > 0)
        kill(h->pid, SIGKILL);
    }
  }
  wfe_buf_free(&body);
  h->reading = 0;
  pass_reading_on(h, self);
}

/* ---- the proxy operations ------------------------------------------------ */

static void count_call(struct wfe_engine_host *h, const struct proxy *p,
                       uint32_t op, const char *result, double seconds)
{
  const char *labels[] = {p->name, op_name(op), result};
  wfe_metric_add(h->calls_metric, labels, 1);
  const char *duration_labels[] = {p->name, op_name(op)};
  wfe_metric_observe(h->duration_metric, duration_labels, seconds);
}

/* Takes the write lock by `deadline`; then, when the incarnation is still
 * `incarnation`, returns its socket (else -1, unlocking). */
static int lock_writer(struct wfe_engine_host *h, uint64_t incarnation,
                       int64_t deadline)
{
  struct timespec real;
  clock_gettime(CLOCK_REALTIME, &real);
  int64_t left = deadline - now_ns();
  if (left < 0)
    left = 0;
  int64_t ns = (int64_t)real.tv_nsec + left % 1000000000;
  real.tv_sec += (time_t)(left / 1000000000 + ns / 1000000000);
  real.tv_nsec = (long)(ns % 1000000000);
  if (pthread_mutex_timedlock(&h->write_lock, &real))
    return -1;
  pthread_mutex_lock(&h->lock);
  int sock = h->incarnation == incarnation ? h->sock : -1;
  pthread_mutex_unlock(&h->lock);
  if (sock < 0)
    pthread_mutex_unlock(&h->write_lock);
  return sock;
}

/* Answers the engine's get_object (a name) or list_objects (no name, the
 * selectors) through the controller's services. */
static void answer_object(struct wfe_engine_host *h, uint64_t id,
                          uint64_t incarnation, struct wfe_buf *request,
                          int64_t deadline)
{
  struct wfe_ipc_reader r;
  wfe_ipc_reader_init(&r, request->data, request->len);
  char *api_version = wfe_ipc_get_str(&r, 253);
  char *resource = wfe_ipc_get_str(&r, 253);
  char *ns = wfe_ipc_get_str(&r, 253);
  char *name = wfe_ipc_get_str(&r, 253);
  char *labels = wfe_ipc_get_str(&r, WFE_SELECTOR_MAX);
  char *fields = wfe_ipc_get_str(&r, WFE_SELECTOR_MAX);
  struct wfe_buf object = WFE_BUF_INIT;
  struct wfe_error oerr = WFE_ERROR_INIT;
  int32_t status;
  if (wfe_ipc_end(&r) || !api_version || !resource)
    status = wfe_error_set(&oerr, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                           "a read of the engine: malformed request");
  else if (name)
    status =
        h->services->get_object(h->services, api_version, resource, ns, name,
                                (wfe_buf *)&object, (wfe_error *)&oerr);
  else
    status = h->services->list_objects(h->services, api_version, resource, ns,
                                       labels, fields, (wfe_buf *)&object,
                                       (wfe_error *)&oerr);
  struct wfe_buf frame = WFE_BUF_INIT;
  if (!wfe_ipc_begin(&frame, WFE_IPC_OBJECT, id) &&
      !wfe_ipc_put_i32(&frame, status) &&
      !wfe_ipc_put_bytes(&frame, status ? NULL : object.data,
                         status ? 0 : object.len) &&
      !wfe_ipc_put_error(&frame, &oerr) && !wfe_ipc_finish(&frame)) {
    int sock = lock_writer(h, incarnation, deadline);
    if (sock >= 0) {
      wfe_ipc_send(sock, &frame, deadline);
      pthread_mutex_unlock(&h->write_lock);
    }
  }
  wfe_buf_free(&frame);
  wfe_buf_free(&object);
  wfe_error_clear(&oerr);
  free(api_version);
  free(resource);
  free(ns);
  free(name);
  free(labels);
  free(fields);
}

static void unlink_call(struct wfe_engine_host *h, struct call *c)
{
  for (struct call **p = &h->calls; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      return;
    }
}

/* Sends the CALL frame. Returns 0, or -1. */
static int send_call(struct wfe_engine_host *h, struct call *c,
                     const struct proxy *p, uint32_t op, const char *input,
                     size_t input_len, int64_t deadline)
{
  struct wfe_buf frame = WFE_BUF_INIT;
  int rc = wfe_ipc_begin(&frame, WFE_IPC_CALL, c->id);
  if (!rc)
    rc = wfe_ipc_put_u32(&frame, p->index);
  if (!rc)
    rc = wfe_ipc_put_u32(&frame, op);
  if (!rc)
    rc = wfe_ipc_put_bytes(&frame, input ? input : "", input_len);
  if (!rc)
    rc = wfe_ipc_finish(&frame);
  if (!rc) {
    int sock = lock_writer(h, c->incarnation, deadline);
    rc = sock < 0 ? WFE_E_UNAVAILABLE : wfe_ipc_send(sock, &frame, deadline);
    if (sock >= 0)
      pthread_mutex_unlock(&h->write_lock);
  }
  wfe_buf_free(&frame);
  return rc ? -1 : 0;
}

/* Fills `err` for a call that got no answer. */
static int32_t call_failed(struct wfe_engine_host *h, const struct proxy *p,
                           uint32_t op, enum fate fate, const char *why,
                           wfe_error *err)
{
  struct wfe_error *e = (struct wfe_error *)err;
  const char *engine = p->name;
  switch (fate) {
  case F_TIMEOUT:
    return wfe_error_set(e, WFE_E_UNAVAILABLE, 1, "EngineTimeout", NULL,
                         "engine %s (plugin %s) did not answer %s within "
                         "%ld ms: its engine host was killed and restarted",
                         engine, h->plugin_path, op_name(op),
                         h->limits.call_timeout_ms);
  case F_CRASHED:
    return wfe_error_set(e, WFE_E_UNAVAILABLE, 1, "EngineCrashed", NULL,
                         "engine %s (plugin %s) %s during %s; its engine "
                         "host was restarted",
                         engine, h->plugin_path, why, op_name(op));
  case F_RESTARTED:
    return wfe_error_set(e, WFE_E_UNAVAILABLE, 1, "EngineRestarted", NULL,
                         "the engine host of %s (plugin %s) %s because of "
                         "another call, during %s; retried",
                         engine, h->plugin_path, why, op_name(op));
  default:
    return wfe_error_set(e, WFE_E_UNAVAILABLE, 1, "EngineHostDown", NULL,
                         "the engine host of %s (plugin %s) is not running "
                         "(%s); retried",
                         engine, h->plugin_path, why);
  }
}

/* Waits for the host to serve, up to `deadline`. Called locked. Returns 0,
 * or -1 when it does not (or is stopping). */
static int wait_ready(struct wfe_engine_host *h, int64_t deadline)
{
  struct timespec until;
  deadline_timespec(deadline, &until);
  /* A host being buried is not ready: a call sent now would die with it
   * and be blamed for a death it did not cause. */
  while (h->state != H_READY || h->dying) {
    if (h->state == H_STOPPING || h->state == H_STOPPED)
      return -1;
    if (pthread_cond_timedwait(&h->changed, &h->lock, &until) == ETIMEDOUT &&
        (h->state != H_READY || h->dying))
      return -1;
  }
  return 0;
}

static int32_t call_op(struct proxy *p, uint32_t op, const char *input,
                       size_t input_len, wfe_buf *out, wfe_error *err)
{
  struct wfe_engine_host *h = p->host;
  int64_t started = now_ns();
  int64_t deadline = started + (int64_t)h->limits.call_timeout_ms * 1000000;
  char why[512];
  pthread_mutex_lock(&h->lock);
  if (wait_ready(h, deadline)) {
    snprintf(why, sizeof(why), "%s", h->fate[0] ? h->fate : "starting");
    pthread_mutex_unlock(&h->lock);
    count_call(h, p, op, "down", (double)(now_ns() - started) / 1e9);
    return call_failed(h, p, op, F_SEND, why, err);
  }
  struct call c;
  memset(&c, 0, sizeof(c));
  c.id = ++h->next_call_id;
  c.incarnation = h->incarnation;
  c.fate = F_PENDING;
  c.output = (struct wfe_buf)WFE_BUF_INIT;
  c.object_request = (struct wfe_buf)WFE_BUF_INIT;
  c.error = (struct wfe_error)WFE_ERROR_INIT;
  cond_init_monotonic(&c.cond);
  c.next = h->calls;
  h->calls = &c;
  pthread_mutex_unlock(&h->lock);

  /* When the frame cannot be sent the host is dead or stalled: the
   * supervisor settles this call, or the deadline below does. */
  send_call(h, &c, p, op, input, input_len, deadline);

  pthread_mutex_lock(&h->lock);
  while (c.fate == F_PENDING) {
    if (c.object_wanted) {
      struct wfe_buf request = c.object_request;
      c.object_request = (struct wfe_buf)WFE_BUF_INIT;
      c.object_wanted = 0;
      pthread_mutex_unlock(&h->lock);
      int64_t asked = now_ns();
      answer_object(h, c.id, c.incarnation, &request,
                    asked + (int64_t)h->limits.call_timeout_ms * 1000000);
      wfe_buf_free(&request);
      deadline += now_ns() - asked; /* our time, not the engine's */
      pthread_mutex_lock(&h->lock);
      continue;
    }
    if (!h->reading && !h->eof && !h->dying &&
        h->incarnation == c.incarnation) {
      read_one_frame(h, &c, deadline);
    } else {
      struct timespec until;
      deadline_timespec(deadline, &until);
      pthread_cond_timedwait(&c.cond, &h->lock, &until);
    }
    if (c.fate == F_PENDING && now_ns() >= deadline) {
      if (h->incarnation == c.incarnation && h->pid > 0 && !h->dying) {
        kill(h->pid, SIGKILL);
        h->killed_for_deadline = 1;
      }
      c.fate = F_TIMEOUT;
    }
  }
  unlink_call(h, &c);
  if (!h->reading)
    pass_reading_on(h, &c);
  snprintf(why, sizeof(why), "%s", h->fate);
  pthread_mutex_unlock(&h->lock);

  double seconds = (double)(now_ns() - started) / 1e9;
  int32_t rc;
  if (c.fate == F_ANSWERED) {
    struct wfe_buf *dest = (struct wfe_buf *)out;
    if (c.flags & WFE_IPC_RESULT_TOO_LARGE) {
      if (dest)
        dest->exceeded = 1;
      rc = WFE_E_NOMEM;
    } else if (dest && c.output.len &&
               wfe_buf_append(dest, c.output.data, c.output.len)) {
      rc = WFE_E_NOMEM; /* the caller's own limit, or memory */
    } else {
      rc = c.status;
    }
    if (c.status != WFE_OK && c.error.reason) {
      struct wfe_error *e = (struct wfe_error *)err;
      if (e)
        wfe_error_set(e, c.error.code ? c.error.code : c.status,
                      c.error.retryable, c.error.reason, c.error.field, "%s",
                      c.error.message ? c.error.message : c.error.reason);
    }
    count_call(h, p, op, rc == WFE_OK ? "ok" : "error", seconds);
  } else {
    rc = call_failed(h, p, op, c.fate, why, err);
    count_call(h, p, op,
               c.fate == F_TIMEOUT   ? "timeout"
               : c.fate == F_CRASHED ? "crashed"
                                     : "restarted",
               seconds);
  }
  wfe_buf_free(&c.output);
  wfe_buf_free(&c.object_request);
  wfe_error_clear(&c.error);
  pthread_cond_destroy(&c.cond);
  return rc;
}

static int32_t proxy_validate(void *instance, const char *json, size_t len,
                              wfe_error *err)
{
  return call_op(instance, WFE_IPC_OP_VALIDATE, json, len, NULL, err);
}

static int32_t proxy_render(void *instance, const char *json, size_t len,
                            wfe_buf *out, wfe_error *err)
{
  return call_op(instance, WFE_IPC_OP_RENDER, json, len, out, err);
}

static int32_t proxy_interpret(void *instance, const char *json, size_t len,
                               wfe_buf *out, wfe_error *err)
{
  return call_op(instance, WFE_IPC_OP_INTERPRET, json, len, out, err);
}

static int32_t proxy_cancel(void *instance, const char *json, size_t len,
                            wfe_buf *out, wfe_error *err)
{
  return call_op(instance, WFE_IPC_OP_CANCEL, json, len, out, err);
}

int32_t wfe_engine_host_validate_render(void *instance, const char *json,
                                        size_t len, wfe_buf *out,
                                        wfe_error *err)
{
  return call_op(instance, WFE_IPC_OP_VALIDATE_RENDER, json, len, out, err);
}

static int32_t proxy_describe(void *instance, wfe_buf *out, wfe_error *err)
{
  return call_op(instance, WFE_IPC_OP_DESCRIBE, NULL, 0, out, err);
}

/* Engines are created through wfe_engine_host_create, never through these. */
static int32_t proxy_create(const wfe_host *host, const char *config,
                            size_t config_len, void **out, wfe_error *err)
{
  (void)host;
  (void)config;
  (void)config_len;
  (void)err;
  *out = NULL;
  return WFE_E_UNSUPPORTED;
}

static void proxy_destroy(void *instance)
{
  (void)instance;
}

/* ---- loading: the handshake ---------------------------------------------- */

/* Reads one frame within `deadline`, logging LOG frames and the host's
 * stderr meanwhile. Returns 0 with a frame; 1 when the host's stream ended;
 * 2 at the deadline; -1 on a malformed frame. */
static int recv_until(struct wfe_engine_host *h, int sock, int err_fd,
                      int64_t deadline, struct wfe_ipc_header *header,
                      struct wfe_buf *body)
{
  for (;;) {
    int64_t left = (deadline - now_ns()) / 1000000;
    if (left <= 0)
      return 2;
    struct pollfd fds[2] = {{sock, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int n = poll(fds, err_fd >= 0 ? 2 : 1, left > 1000 ? 1000 : (int)left);
    if (n < 0 && errno != EINTR)
      return -1;
    if (n <= 0)
      continue;
    if (err_fd >= 0 && fds[1].revents && drain_stderr(h, err_fd))
      err_fd = -1;
    if (!fds[0].revents)
      continue;
    int rc =
        wfe_ipc_recv(sock, header, body, h->limits.max_output + RECV_SLACK);
    if (rc == 1 || rc == WFE_E_UNAVAILABLE)
      return 1;
    if (rc)
      return -1;
    if (header->type == WFE_IPC_LOG) {
      log_frame(h, body);
      continue;
    }
    return 0;
  }
}

/* Ends a process that failed its handshake, and says how. */
static void fail_start(struct wfe_engine_host *h, pid_t pid, int sock,
                       int err_fd, int outcome, const char *stage,
                       struct wfe_buf *why)
{
  if (outcome == 2)
    kill(pid, SIGKILL);
  close(sock);
  int status = reap(pid, 1000);
  /* What it wrote on its way out explains the most. */
  int64_t until = now_ns() + 200000000;
  while (err_fd >= 0 && now_ns() < until) {
    struct pollfd p = {err_fd, POLLIN, 0};
    if (poll(&p, 1, 50) > 0 && drain_stderr(h, err_fd))
      break;
  }
  if (err_fd >= 0)
    close(err_fd);
  char how[160];
  describe_status(status, how, sizeof(how));
  if (outcome == 2)
    wfe_buf_printf(why, "did not finish %s within %ld ms", stage,
                   h->limits.load_timeout_ms);
  else if (outcome < 0)
    wfe_buf_printf(why, "broke the engine host protocol while %s (%s)", stage,
                   how);
  else if (h->culprit_what[0])
    wfe_buf_printf(why, "%s while %s", h->culprit_what, stage);
  else
    wfe_buf_printf(why, "%s while %s", how, stage);
  pthread_mutex_lock(&h->lock);
  if (outcome >= 0 && outcome != 2 && !h->culprit_what[0] && h->last_words.len)
    wfe_buf_printf(why, "; it said: %s", wfe_buf_str(&h->last_words));
  wfe_buf_clear(&h->last_words);
  pthread_mutex_unlock(&h->lock);
  h->culprit_what[0] = '\0';
}

static void free_description(struct wfe_engine_host *h)
{
  for (size_t i = 0; i < h->plugin.engine_count; i++) {
    struct proxy *p = &h->proxies[i];
    free(p->name);
    free(p->version);
    free(p->description);
    free(p->api_version);
    free(p->kind);
    free(p->resource);
  }
  for (size_t i = 0; i < h->plugin.refusal_count; i++) {
    free(h->refused[i]);
    free(h->refusal_reasons[i]);
  }
  free(h->proxies);
  free(h->engines);
  free(h->refused);
  free(h->refusal_reasons);
  free(h->plugin_name);
  free(h->plugin_version);
  h->proxies = NULL;
  h->engines = NULL;
  h->refused = h->refusal_reasons = NULL;
  h->plugin_name = h->plugin_version = NULL;
  memset(&h->plugin, 0, sizeof(h->plugin));
}

/* Decodes READY into the description. Returns 0 or -1. */
static int read_description(struct wfe_engine_host *h,
                            const struct wfe_buf *body)
{
  struct wfe_ipc_reader r;
  wfe_ipc_reader_init(&r, body->data, body->len);
  h->plugin.abi_major = wfe_ipc_get_u32(&r);
  h->plugin.abi_minor = wfe_ipc_get_u32(&r);
  h->plugin_name = wfe_ipc_get_str(&r, 256);
  h->plugin_version = wfe_ipc_get_str(&r, 256);
  uint32_t count = wfe_ipc_get_u32(&r);
  if (r.failed || count > 64)
    return -1;
  h->proxies = calloc(count + 1, sizeof(*h->proxies));
  h->engines = calloc(count + 1, sizeof(*h->engines));
  if (!h->proxies || !h->engines)
    return -1;
  for (uint32_t i = 0; i < count; i++) {
    struct proxy *p = &h->proxies[i];
    h->plugin.engine_count = i + 1;
    p->host = h;
    p->index = wfe_ipc_get_u32(&r);
    p->name = wfe_ipc_get_str(&r, 63);
    p->version = wfe_ipc_get_str(&r, 256);
    p->description = wfe_ipc_get_str(&r, 1024);
    p->api_version = wfe_ipc_get_str(&r, 253);
    p->kind = wfe_ipc_get_str(&r, 253);
    p->resource = wfe_ipc_get_str(&r, 253);
    int32_t status_subresource = wfe_ipc_get_i32(&r);
    uint32_t flags = wfe_ipc_get_u32(&r);
    if (r.failed || !p->name || !p->version || !p->api_version || !p->kind ||
        !p->resource)
      return -1;
    p->run_type = (wfe_run_type){sizeof(wfe_run_type), p->api_version, p->kind,
                                 p->resource, status_subresource != 0};
    p->desc = (wfe_engine){
        .struct_size = sizeof(wfe_engine),
        .name = p->name,
        .version = p->version,
        .description = p->description ? p->description : "",
        .run_type = &p->run_type,
        .create = proxy_create,
        .destroy = proxy_destroy,
        .validate = proxy_validate,
        .render = proxy_render,
        .interpret = proxy_interpret,
        .cancel = proxy_cancel,
        .describe = (flags & 1u) ? proxy_describe : NULL,
        .get_extension = NULL,
    };
    h->engines[i] = (struct wfe_engine_host_engine){p->index, &p->desc, p};
  }
  uint32_t refusals = wfe_ipc_get_u32(&r);
  if (r.failed || refusals > 64)
    return -1;
  h->refused = calloc(refusals + 1, sizeof(*h->refused));
  h->refusal_reasons = calloc(refusals + 1, sizeof(*h->refusal_reasons));
  if (!h->refused || !h->refusal_reasons)
    return -1;
  for (uint32_t i = 0; i < refusals; i++) {
    h->plugin.refusal_count = i + 1;
    h->refused[i] = wfe_ipc_get_str(&r, 256);
    h->refusal_reasons[i] = wfe_ipc_get_str(&r, 4096);
    if (!h->refused[i] || !h->refusal_reasons[i])
      return -1;
  }
  if (wfe_ipc_end(&r))
    return -1;
  h->plugin.name = h->plugin_name ? h->plugin_name : "";
  h->plugin.version = h->plugin_version ? h->plugin_version : "";
  h->plugin.engines = h->engines;
  h->plugin.refused_engines = (const char *const *)h->refused;
  h->plugin.refusal_reasons = (const char *const *)h->refusal_reasons;
  return 0;
}

/* Starts a process and reads its description. For a restart, the
 * description must match the first one. Returns 0 with the process, 1 with
 * `why`, or an error. */
static int launch(struct wfe_engine_host *h, int restart, pid_t *pid_out,
                  int *sock_out, int *err_out, struct wfe_buf *why,
                  struct wfe_error *err)
{
  pid_t pid = 0;
  int sock = -1, err_fd = -1;
  int rc = spawn(h, &pid, &sock, &err_fd, err);
  if (rc)
    return rc;
  h->line_len = 0;
  h->culprit = 0;
  h->culprit_what[0] = '\0';
  pthread_mutex_lock(&h->lock);
  wfe_buf_clear(&h->last_words);
  pthread_mutex_unlock(&h->lock);
  int64_t deadline = now_ns() + (int64_t)h->limits.load_timeout_ms * 1000000;
  struct wfe_ipc_header header;
  struct wfe_buf body = WFE_BUF_INIT;
  int outcome = recv_until(h, sock, err_fd, deadline, &header, &body);
  if (outcome == 0 && header.type == WFE_IPC_LOAD_FAILED) {
    struct wfe_ipc_reader r;
    wfe_ipc_reader_init(&r, body.data, body.len);
    char *reason = wfe_ipc_get_str(&r, 8192);
    wfe_buf_puts(why, reason ? reason : "the plugin could not be loaded");
    free(reason);
    close(sock);
    reap(pid, 1000);
    close(err_fd);
    wfe_buf_free(&body);
    return 1;
  }
  if (outcome == 0 && header.type != WFE_IPC_READY)
    outcome = -1;
  if (outcome == 0 && !restart && read_description(h, &body)) {
    free_description(h);
    outcome = -1;
  }
  if (outcome == 0 && restart) {
    /* The same file must describe the same engines. */
    struct wfe_engine_host probe;
    memset(&probe, 0, sizeof(probe));
    int same = read_description(&probe, &body) == 0 &&
               probe.plugin.engine_count == h->plugin.engine_count;
    for (size_t i = 0; same && i < h->plugin.engine_count; i++)
      same = probe.proxies[i].index == h->proxies[i].index &&
             !strcmp(probe.proxies[i].name, h->proxies[i].name) &&
             !strcmp(probe.proxies[i].api_version, h->proxies[i].api_version) &&
             !strcmp(probe.proxies[i].resource, h->proxies[i].resource);
    free_description(&probe);
    if (!same) {
      wfe_buf_puts(why, "the plugin file now describes other engines than "
                        "when it was loaded; a reload will pick it up");
      kill(pid, SIGKILL);
      close(sock);
      reap(pid, 1000);
      close(err_fd);
      wfe_buf_free(&body);
      return 1;
    }
  }
  wfe_buf_free(&body);
  if (outcome) {
    fail_start(h, pid, sock, err_fd, outcome, "loading", why);
    return 1;
  }
  *pid_out = pid;
  *sock_out = sock;
  *err_out = err_fd;
  return 0;
}

/* Sends CREATE for the recorded engines and reads CREATED. Returns 0 (with
 * per-engine outcomes when `created` is given), 1 with `why`, or an error. */
static int create_engines(struct wfe_engine_host *h, pid_t pid, int sock,
                          int err_fd, int *created, char **reasons,
                          struct wfe_buf *why)
{
  struct wfe_buf frame = WFE_BUF_INIT;
  int rc = wfe_ipc_begin(&frame, WFE_IPC_CREATE, 0);
  if (!rc)
    rc = wfe_ipc_put_u64(&frame, h->limits.memory_bytes);
  if (!rc)
    rc = wfe_ipc_put_u64(&frame, h->limits.cpu_seconds);
  if (!rc)
    rc = wfe_ipc_put_u64(&frame, h->limits.max_output);
  if (!rc)
    rc = wfe_ipc_put_u32(&frame, (uint32_t)h->created_count);
  for (size_t i = 0; i < h->created_count && !rc; i++) {
    const char *config = h->created_configs[i];
    rc = wfe_ipc_put_u32(&frame, h->proxies[h->created_positions[i]].index);
    if (!rc)
      rc = wfe_ipc_put_bytes(&frame, config, strlen(config));
  }
  if (!rc)
    rc = wfe_ipc_finish(&frame);
  int64_t deadline = now_ns() + (int64_t)h->limits.load_timeout_ms * 1000000;
  if (!rc)
    rc = wfe_ipc_send(sock, &frame, deadline);
  wfe_buf_free(&frame);
  struct wfe_ipc_header header;
  struct wfe_buf body = WFE_BUF_INIT;
  int outcome = rc ? 1 : recv_until(h, sock, err_fd, deadline, &header, &body);
  if (outcome == 0 && header.type != WFE_IPC_CREATED)
    outcome = -1;
  if (outcome == 0) {
    struct wfe_ipc_reader r;
    wfe_ipc_reader_init(&r, body.data, body.len);
    uint32_t count = wfe_ipc_get_u32(&r);
    if (count != h->created_count)
      outcome = -1;
    for (uint32_t i = 0; outcome == 0 && i < count; i++) {
      int32_t status = wfe_ipc_get_i32(&r);
      char *reason = wfe_ipc_get_str(&r, 8192);
      int ok = status == WFE_OK && !r.failed;
      if (r.failed)
        outcome = -1;
      else if (created)
        created[i] = ok;
      else if (!ok)
        outcome = 3; /* a restart whose create fails */
      if (reasons && !ok && outcome == 0) {
        reasons[i] = reason;
        reason = NULL;
      }
      free(reason);
    }
    if (outcome == 0 && wfe_ipc_end(&r))
      outcome = -1;
  }
  wfe_buf_free(&body);
  if (outcome == 3) {
    kill(pid, SIGKILL);
    close(sock);
    reap(pid, 1000);
    close(err_fd);
    wfe_buf_puts(why, "an engine's create failed on restart");
    return 1;
  }
  if (outcome) {
    fail_start(h, pid, sock, err_fd, outcome, "creating its engines", why);
    return 1;
  }
  return 0;
}

/* ---- the supervisor ------------------------------------------------------ */

/* Decides the fate of every call of the dead incarnation. Called locked. */
static void settle_calls(struct wfe_engine_host *h)
{
  for (struct call *c = h->calls; c; c = c->next) {
    if (c->incarnation != h->incarnation || c->fate != F_PENDING)
      continue;
    if (h->culprit)
      c->fate = c->id == h->culprit ? F_CRASHED : F_RESTARTED;
    else if (h->killed_for_deadline)
      c->fate = F_RESTARTED;
    else
      c->fate = F_CRASHED;
    pthread_cond_signal(&c->cond);
  }
}

/* Whether process `pid` has ended, without reaping it. */
static int has_ended(pid_t pid)
{
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

/* Watches one incarnation until its process ends: its stderr meanwhile,
 * then its burial. The callers read the socket themselves. */
static void serve(struct wfe_engine_host *h)
{
  pthread_mutex_lock(&h->lock);
  int err_fd = h->err_fd, pidfd = h->pidfd;
  pid_t pid = h->pid;
  pthread_mutex_unlock(&h->lock);
  for (;;) {
    struct pollfd fds[2] = {{pidfd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    /* Without a pidfd (an old kernel), look every 100 ms. */
    int n = poll(fds, 2, pidfd >= 0 ? -1 : 100);
    if (n < 0 && errno != EINTR)
      break;
    if (err_fd >= 0 && n > 0 && fds[1].revents && drain_stderr(h, err_fd)) {
      close(err_fd);
      err_fd = -1;
    }
    if (pidfd >= 0 ? n > 0 && fds[0].revents : has_ended(pid))
      break;
  }
  /* Bury it: no reader left, then from here nobody sends to this socket or
   * signals this pid (ours until reaped, the descriptor until closed). */
  pthread_mutex_lock(&h->lock);
  h->dying = 1;
  if (h->sock >= 0)
    shutdown(h->sock, SHUT_RDWR);
  for (struct call *c = h->calls; c; c = c->next)
    pthread_cond_signal(&c->cond);
  while (h->reading)
    pthread_cond_wait(&h->changed, &h->lock);
  pthread_mutex_unlock(&h->lock);
  pthread_mutex_lock(&h->write_lock);
  pthread_mutex_lock(&h->lock);
  int sock = h->sock;
  h->pid = 0;
  h->sock = h->err_fd = h->pidfd = -1;
  const char *broke = h->broke;
  pthread_mutex_unlock(&h->lock);
  pthread_mutex_unlock(&h->write_lock);
  int status = reap(pid, 1000);
  /* The crash handler's line may still be in the pipe. */
  int64_t until = now_ns() + 200000000;
  while (err_fd >= 0 && now_ns() < until) {
    struct pollfd p = {err_fd, POLLIN, 0};
    if (poll(&p, 1, 20) > 0 && drain_stderr(h, err_fd))
      break;
  }
  if (err_fd >= 0)
    close(err_fd);
  if (pidfd >= 0)
    close(pidfd);
  close(sock);

  char how[256];
  describe_status(status, how, sizeof(how));
  pthread_mutex_lock(&h->lock);
  if (broke)
    snprintf(h->fate, sizeof(h->fate), "%s and was killed", broke);
  else if (h->culprit_what[0])
    snprintf(h->fate, sizeof(h->fate), "was killed by %s", h->culprit_what);
  else if (h->killed_for_deadline)
    snprintf(h->fate, sizeof(h->fate),
             "was killed after a call missed its "
             "deadline");
  else
    snprintf(h->fate, sizeof(h->fate), "%s", how);
  settle_calls(h);
  h->dying = h->eof = 0;
  h->broke = NULL;
  if (h->state == H_READY)
    h->state = H_DOWN;
  pthread_cond_broadcast(&h->changed);
  pthread_mutex_unlock(&h->lock);
}

/* Restarts a dead host: at once when it had lived a while (a host that
 * died of one call is healthy again the moment it is reloaded, and the
 * caller's fault counting stops a poison input); when it keeps dying young,
 * after 100 ms, doubling to 500 ms, so it never spins and is still back
 * within a second; when a restart fails (the file no longer loads), doubling
 * up to 10 s. */
static void *supervise(void *arg)
{
  struct wfe_engine_host *h = arg;
  long backoff_ms = 0;
  for (;;) {
    int64_t born = now_ns();
    serve(h);
    if (now_ns() - born >= (int64_t)HEALTHY_AFTER_MS * 1000000)
      backoff_ms = 0;
    pthread_mutex_lock(&h->lock);
    if (h->state == H_STOPPING) {
      h->state = H_STOPPED;
      pthread_cond_broadcast(&h->changed);
      pthread_mutex_unlock(&h->lock);
      return NULL;
    }
    char fate[512];
    snprintf(fate, sizeof(fate), "%s", h->fate);
    pthread_mutex_unlock(&h->lock);
    const char *labels[] = {h->plugin_path};
    wfe_metric_add(h->restarts_metric, labels, 1);
    wfe_log_error(LOGGER, NULL,
                  "engine host of %s (plugin %s) %s; restarting in %ld ms",
                  h->plugin.engine_count ? h->proxies[0].name : "?",
                  h->plugin_path, fate, backoff_ms);
    for (;;) {
      /* Wait out the backoff, or a stop. */
      pthread_mutex_lock(&h->lock);
      int64_t wake = now_ns() + (int64_t)backoff_ms * 1000000;
      struct timespec until;
      deadline_timespec(wake, &until);
      while (h->state != H_STOPPING && now_ns() < wake)
        pthread_cond_timedwait(&h->changed, &h->lock, &until);
      int stopping = h->state == H_STOPPING;
      if (stopping) {
        h->state = H_STOPPED;
        pthread_cond_broadcast(&h->changed);
      }
      pthread_mutex_unlock(&h->lock);
      if (stopping)
        return NULL;

      int64_t started = now_ns();
      pid_t pid = 0;
      int sock = -1, err_fd = -1;
      struct wfe_buf why = WFE_BUF_INIT;
      struct wfe_error err = WFE_ERROR_INIT;
      int rc = launch(h, 1, &pid, &sock, &err_fd, &why, &err);
      if (!rc)
        rc = create_engines(h, pid, sock, err_fd, NULL, NULL, &why);
      /* The next death, or this failure, waits longer. */
      backoff_ms = backoff_ms ? backoff_ms * 2 : RESTART_BACKOFF_FIRST_MS;
      if (backoff_ms > (rc ? RESTART_BACKOFF_MAX_MS : DEATH_BACKOFF_MAX_MS))
        backoff_ms = rc ? RESTART_BACKOFF_MAX_MS : DEATH_BACKOFF_MAX_MS;
      if (rc) {
        pthread_mutex_lock(&h->lock);
        snprintf(h->fate, sizeof(h->fate), "could not be restarted: %s",
                 rc == 1 ? wfe_buf_str(&why) : wfe_error_message(&err));
        wfe_log_error(LOGGER, NULL, "engine host of %s %s; again in %ld ms",
                      h->plugin_path, h->fate, backoff_ms);
        pthread_mutex_unlock(&h->lock);
        wfe_buf_free(&why);
        wfe_error_clear(&err);
        continue;
      }
      wfe_buf_free(&why);
      wfe_error_clear(&err);
      pthread_mutex_lock(&h->lock);
      h->pid = pid;
      h->sock = sock;
      h->err_fd = err_fd;
      h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
      h->incarnation++;
      h->killed_for_deadline = 0;
      h->restarts++;
      int stop_now = h->state == H_STOPPING;
      if (!stop_now)
        h->state = H_READY;
      pthread_cond_broadcast(&h->changed);
      pthread_mutex_unlock(&h->lock);
      wfe_log_info(
          LOGGER, NULL, "engine host of %s restarted (pid %d) in %.1f ms",
          h->plugin_path, (int)pid, (double)(now_ns() - started) / 1e6);
      if (stop_now)
        shutdown(sock, SHUT_RDWR);
      break;
    }
  }
}

/* ---- life cycle --------------------------------------------------------- */

static void free_host(struct wfe_engine_host *h)
{
  free_description(h);
  for (size_t i = 0; i < h->created_count; i++)
    free(h->created_configs[i]);
  free(h->created_configs);
  free(h->created_positions);
  free(h->executable);
  free(h->plugin_path);
  free(h->real_path);
  wfe_buf_free(&h->last_words);
  pthread_mutex_destroy(&h->lock);
  pthread_mutex_destroy(&h->write_lock);
  pthread_cond_destroy(&h->changed);
  free(h);
}

static void register_metrics(struct wfe_engine_host *h, struct wfe_metrics *m)
{
  if (!m)
    return;
  static const char *const plugin_label[] = {"plugin"};
  static const char *const call_labels[] = {"engine", "operation", "result"};
  static const char *const duration_labels[] = {"engine", "operation"};
  static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                   0.005,  0.01,    0.025,  0.05,  0.1,
                                   0.25,   0.5,     1,      2.5,   5};
  h->restarts_metric = wfe_metrics_counter(
      m, "wfe_engine_host_restarts_total",
      "Engine host processes restarted after a crash, exit or deadline",
      plugin_label, 1);
  h->calls_metric = wfe_metrics_counter(
      m, "wfe_engine_calls_total",
      "Calls into engines by engine, operation and result", call_labels, 3);
  h->duration_metric = wfe_metrics_histogram(
      m, "wfe_engine_call_duration_seconds",
      "Time of calls into engines, the engine host round trip included",
      duration_labels, 2, buckets, sizeof(buckets) / sizeof(buckets[0]));
}

int wfe_engine_host_start(const struct wfe_engine_host_options *options,
                          struct wfe_engine_host **out, struct wfe_buf *why,
                          struct wfe_error *err)
{
  *out = NULL;
  if (!options->executable || !options->plugin_path || !options->real_path ||
      !options->services)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "engine host options are incomplete");
  struct wfe_engine_host *h = calloc(1, sizeof(*h));
  if (!h)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  h->executable = strdup(options->executable);
  h->plugin_path = strdup(options->plugin_path);
  h->real_path = strdup(options->real_path);
  h->services = options->services;
  h->limits = options->limits;
  default_limits(&h->limits);
  h->threads = options->threads > 0 ? options->threads : DEFAULT_THREADS;
  h->refs = 1;
  h->state = H_STARTING;
  h->sock = h->err_fd = h->pidfd = -1;
  pthread_mutex_init(&h->lock, NULL);
  pthread_mutex_init(&h->write_lock, NULL);
  cond_init_monotonic(&h->changed);
  register_metrics(h, options->metrics);
  if (!h->executable || !h->plugin_path || !h->real_path) {
    free_host(h);
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  int rc = launch(h, 0, &h->pid, &h->sock, &h->err_fd, why, err);
  if (rc) {
    free_host(h);
    return rc;
  }
  *out = h;
  return 0;
}

const struct wfe_engine_host_plugin *
wfe_engine_host_plugin(const struct wfe_engine_host *host)
{
  return &host->plugin;
}

int wfe_engine_host_create(struct wfe_engine_host *h,
                           const struct wfe_engine_host_limits *limits,
                           size_t count, const size_t *positions,
                           const char *const *configs, int *created,
                           char **reasons, struct wfe_error *err)
{
  if (limits) {
    long load_timeout_ms = h->limits.load_timeout_ms;
    h->limits = *limits;
    if (h->limits.load_timeout_ms <= 0)
      h->limits.load_timeout_ms = load_timeout_ms;
    default_limits(&h->limits);
  }
  h->created_positions = calloc(count ? count : 1, sizeof(size_t));
  h->created_configs = calloc(count ? count : 1, sizeof(char *));
  if (!h->created_positions || !h->created_configs)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  for (size_t i = 0; i < count; i++) {
    if (positions[i] >= h->plugin.engine_count)
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                           "no engine at position %zu", positions[i]);
    h->created_positions[i] = positions[i];
    if (!(h->created_configs[i] = strdup(configs[i] ? configs[i] : "{}")))
      return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
    h->created_count = i + 1;
  }
  struct wfe_buf why = WFE_BUF_INIT;
  int rc =
      create_engines(h, h->pid, h->sock, h->err_fd, created, reasons, &why);
  if (rc) {
    wfe_error_set(err, WFE_E_UNAVAILABLE, 0, "EngineHostFailed", NULL,
                  "the engine host of %s %s", h->plugin_path,
                  wfe_buf_str(&why));
    wfe_buf_free(&why);
    h->pid = 0;
    h->sock = h->err_fd = -1;
    h->state = H_STOPPED;
    return WFE_E_UNAVAILABLE;
  }
  wfe_buf_free(&why);
  /* Only what was created is restarted with the host. */
  size_t kept = 0;
  for (size_t i = 0; i < count; i++) {
    if (created[i]) {
      h->created_positions[kept] = h->created_positions[i];
      h->created_configs[kept++] = h->created_configs[i];
    } else {
      free(h->created_configs[i]);
    }
  }
  h->created_count = kept;
  pthread_mutex_lock(&h->lock);
  h->state = H_READY;
  h->incarnation = 1;
  h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
  pthread_mutex_unlock(&h->lock);
  if (pthread_create(&h->supervisor, NULL, supervise, h)) {
    pthread_mutex_lock(&h->lock);
    h->state = H_DOWN;
    pthread_mutex_unlock(&h->lock);
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 0, "ThreadFailed", NULL,
                         "cannot start the supervisor of %s", h->plugin_path);
  }
  h->supervisor_started = 1;
  return 0;
}

void wfe_engine_host_ref(struct wfe_engine_host *h)
{
  pthread_mutex_lock(&h->lock);
  h->refs++;
  pthread_mutex_unlock(&h->lock);
}

void wfe_engine_host_unref(struct wfe_engine_host *h)
{
  if (!h)
    return;
  pthread_mutex_lock(&h->lock);
  int last = --h->refs == 0;
  if (last && h->state != H_STOPPED)
    h->state = H_STOPPING;
  /* End of stream asks the host to destroy its engines and exit; the
   * supervisor reaps it (and kills it after a second). */
  if (last && h->supervisor_started && h->sock >= 0)
    shutdown(h->sock, SHUT_WR);
  pthread_cond_broadcast(&h->changed);
  pthread_mutex_unlock(&h->lock);
  if (!last)
    return;
  if (h->supervisor_started) {
    pthread_join(h->supervisor, NULL);
  } else if (h->pid > 0) {
    close(h->sock);
    reap(h->pid, 1000);
    if (h->err_fd >= 0)
      close(h->err_fd);
  }
  free_host(h);
}

int wfe_engine_host_pid(struct wfe_engine_host *h)
{
  pthread_mutex_lock(&h->lock);
  int pid = h->state == H_READY ? (int)h->pid : 0;
  pthread_mutex_unlock(&h->lock);
  return pid;
}

uint64_t wfe_engine_host_restarts(struct wfe_engine_host *h)
{
  pthread_mutex_lock(&h->lock);
  uint64_t n = h->restarts;
  pthread_mutex_unlock(&h->lock);
  return n;
}
