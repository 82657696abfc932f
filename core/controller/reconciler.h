/*
 * The WorkflowExecution reconciler: ADR-044's flow for one key. It validates
 * the execution, dispatches it to its engine, creates the one run object the
 * engine renders (idempotently: the name is derived from the execution's
 * identity, an existing run with our uid label is adopted, any other is a
 * conflict left untouched), and writes phase and outcome back from the
 * engine's reading of the run.
 *
 * Engine trouble is told on the execution, never left in the log only: an
 * answer the core cannot use ends it Failed, once, with the engine's
 * reason; a transient failure sets the EngineAvailable condition False
 * (with the attempts so far) and a Warning Event, and is retried with
 * backoff; a crash or a missed deadline during its calls counts, and
 * max_consecutive_faults of them in a row end it Failed (EngineCrashed,
 * EngineTimeout). An execution whose run exists but whose engine is no
 * longer loaded waits for it under the same condition.
 *
 * While the run runs, the status follows the engine's reading (reason and
 * message, always together), within the bound of progress.h; a new reason
 * gets a Normal Event. Reads come from the caches; writes go to the API:
 * one create, one status write when the run starts, one when it ends, and
 * the progress writes between them that the bound allows.
 */
#ifndef WFE_CONTROLLER_RECONCILER_H
#define WFE_CONTROLLER_RECONCILER_H

#include <json-c/json.h>

#include <wfe/engine.h>

#include "engine_set.h"
#include "error.h"
#include "plugin_loader.h"
#include "workers.h"

struct wfe_kube_client;
struct wfe_event_recorder;
struct wfe_metrics;
struct wfe_reconciler;

/* The finalizer that deletes a run in a separate execution namespace. */
#define WFE_FINALIZER "kubernaut.ai/workflowexecution-run"

struct wfe_reconciler_options {
  struct wfe_kube_client *client;
  /* The engines; each reconcile holds the registry current when it
   * starts. */
  struct wfe_engine_set *engines;
  /* Consecutive engine crashes or deadlines during this execution's calls
   * after which it ends Failed (EngineCrashed / EngineTimeout): 3. */
  int max_consecutive_faults;
  const char *default_engine;      /* "tekton" */
  const char *execution_namespace; /* NULL: each execution's own */
  long resync_period_ms;           /* safety-net re-queue while running */
  /* The least time between two writes of a running execution's status for
   * a new message alone (progress.h): 10000. */
  long status_progress_interval_ms;

  /* Cache reads, supplied by whoever runs the informers. Each returns 0
   * with a new object in *out, WFE_E_NOT_FOUND, or another code. */
  int (*get_execution)(void *ctx, const char *namespace_name, const char *name,
                       json_object **out);
  int (*get_run)(void *ctx, const wfe_run_type *type,
                 const char *namespace_name, const char *name,
                 json_object **out);
  void *cache_ctx;

  /* Asked before every write (leader election); NULL: always. */
  int (*gate)(void *gate_ctx);
  void *gate_ctx;

  struct wfe_event_recorder *events; /* may be NULL */
  struct wfe_metrics *metrics;       /* may be NULL */
};

int wfe_reconciler_new(const struct wfe_reconciler_options *options,
                       struct wfe_reconciler **out, struct wfe_error *err);
void wfe_reconciler_free(struct wfe_reconciler *reconciler);

/* A wfe_reconcile_fn: `ctx` is the reconciler, `key` "namespace/name". */
int wfe_reconciler_reconcile(void *ctx, const char *key,
                             struct wfe_reconcile_result *result,
                             struct wfe_error *err);

#endif
