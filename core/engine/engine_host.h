/*
 * The controller's side of an engine host: one helper process
 * (wfe-engine-host) per plugin file, in which the plugin is loaded and its
 * engines run, sandboxed. The controller starts it with posix_spawn, not a
 * fork: an empty environment, no descriptor but its socket and its stderr
 * pipe, so it holds no token and no API connection. Calls and the host
 * services travel over the socket (ipc.h).
 *
 * The engines of a host are presented as ordinary wfe_engine descriptors
 * whose operations are proxies, so the rest of the core calls them as it
 * calls an engine loaded in its own process. Each call has a deadline; the
 * time the controller itself spends answering the engine's get_object does
 * not count against it. A host that crashes, exits, breaks the protocol or
 * misses a deadline is reaped, and restarted with backoff by its supervisor
 * thread; calls in flight then fail with a retryable error whose reason
 * says whether this call was the cause:
 *
 *   EngineCrashed    the host died during this call (it was the culprit, or
 *                    no culprit is known: every call in flight is suspect)
 *   EngineTimeout    this call missed its deadline; the host was killed
 *   EngineRestarted  the host died of another call; this one is innocent
 *   EngineHostDown   the host was not running within this call's deadline
 *
 * so that the caller can count consecutive faults per execution. An output
 * over the size cap fails with EngineOutputTooLarge (not retryable).
 *
 * Threading: every function is thread-safe. A host lives until its last
 * reference is dropped; then it is asked to stop (its engines destroyed,
 * fini called) and killed if it does not within a second.
 */
#ifndef WFE_ENGINE_ENGINE_HOST_H
#define WFE_ENGINE_ENGINE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <wfe/engine.h>

#include "buf.h"
#include "error.h"

struct wfe_metrics;
struct wfe_engine_host;

/* Limits of one host; 0 takes the default. */
struct wfe_engine_host_limits {
  long call_timeout_ms;  /* per call: 5000 */
  long load_timeout_ms;  /* loading, create, restart: 10000 */
  uint64_t memory_bytes; /* RLIMIT_AS of the host: 512 MiB */
  uint64_t cpu_seconds;  /* RLIMIT_CPU; when spent, the host is recycled: 600 */
  uint64_t max_output;   /* bytes an operation may answer: 1 MiB */
};

struct wfe_engine_host_options {
  const char *executable;  /* the wfe-engine-host program */
  const char *plugin_path; /* as found in the plugin directory (messages) */
  const char *real_path;   /* the file the host loads */
  /* The controller's services table: engine log lines are written through
   * it and get_object answered by it. Must outlive the host. */
  const wfe_host *services;
  struct wfe_engine_host_limits limits;
  int threads;                 /* concurrent calls the host serves: 4 */
  struct wfe_metrics *metrics; /* may be NULL */
};

/* An engine the plugin offers, as its host described it. */
struct wfe_engine_host_engine {
  uint32_t index;           /* in the plugin's engines array */
  const wfe_engine *engine; /* the proxy descriptor; name, run_type, ... */
  void *instance;           /* what the proxy operations take */
};

/* The plugin as its host described it after loading. */
struct wfe_engine_host_plugin {
  unsigned abi_major, abi_minor;
  const char *name, *version;
  size_t engine_count; /* engines that passed their checks */
  const struct wfe_engine_host_engine *engines;
  size_t refusal_count; /* engines that did not */
  const char *const *refused_engines;
  const char *const *refusal_reasons;
};

/*
 * Starts a host for one plugin file and waits (load_timeout_ms at most) for
 * its description. Returns 0 with *out (one reference); 1 when the plugin
 * was refused, with the reason in `why` ("cannot load: ...", "exited with
 * status 3 while loading", "was killed by signal 11 (SIGSEGV) while
 * loading", "did not finish loading within 10 s"); or a WFE_E_* code with
 * `err` filled (the program could not be started, memory).
 */
int wfe_engine_host_start(const struct wfe_engine_host_options *options,
                          struct wfe_engine_host **out, struct wfe_buf *why,
                          struct wfe_error *err);

const struct wfe_engine_host_plugin *
wfe_engine_host_plugin(const struct wfe_engine_host *host);

/*
 * Creates the engines at `positions` (indexes into the plugin's `engines`)
 * with their configuration JSON, under `limits` (NULL: those of the
 * options; a 0 member: its default), then the host seals its sandbox and
 * serves. created[i] is set to 1 for each engine whose create succeeded,
 * else 0 with reasons[i] a new "create failed: ..." string (caller frees).
 * Returns 0, or a WFE_E_* code (the host died or failed to answer: nothing
 * was created; `err` says why). Call once.
 */
int wfe_engine_host_create(struct wfe_engine_host *host,
                           const struct wfe_engine_host_limits *limits,
                           size_t count, const size_t *positions,
                           const char *const *configs, int *created,
                           char **reasons, struct wfe_error *err);

/* The validate then render the core makes before creating a run, in one
 * round trip: `instance` is a proxy's. Answers as render does, or with
 * validate's error when validation failed. */
int32_t wfe_engine_host_validate_render(void *instance, const char *json,
                                        size_t len, wfe_buf *out,
                                        wfe_error *err);

void wfe_engine_host_ref(struct wfe_engine_host *host);
/* Drops a reference; the last stops the host. Accepts NULL. */
void wfe_engine_host_unref(struct wfe_engine_host *host);

/* The process id of the running host, or 0 (for tests and the listing). */
int wfe_engine_host_pid(struct wfe_engine_host *host);

/* How many times the host was restarted. */
uint64_t wfe_engine_host_restarts(struct wfe_engine_host *host);

#endif
