/*
 * The workers of a controller loop: threads draining a work queue into a
 * reconcile function, with controller-runtime's metrics. A key is never
 * reconciled by two workers at once (the queue guarantees it); an error
 * re-queues the key with per-key backoff; success forgets the backoff and may
 * ask for a delayed re-queue. Knows nothing about what it reconciles.
 */
#ifndef WFE_KUBE_WORKERS_H
#define WFE_KUBE_WORKERS_H

#include "error.h"

struct wfe_metrics;
struct wfe_workqueue;
struct wfe_workers;

struct wfe_reconcile_result {
  long requeue_after_ms; /* > 0: reconcile again after this long */
};

/* Returns 0, or a WFE_E_* code with `err` filled: the key is re-queued with
 * per-key backoff (and the error logged) unless the code is WFE_E_INVALID,
 * err->retryable is 0 and the error is not an API server's answer -- a bad
 * key, which no retry can fix. */
typedef int (*wfe_reconcile_fn)(void *ctx, const char *key,
                                struct wfe_reconcile_result *result,
                                struct wfe_error *err);

struct wfe_workers_options {
  const char *name;            /* the `controller` label of the metrics */
  int workers;                 /* default 1 */
  struct wfe_workqueue *queue; /* borrowed; the workers shut it down */
  wfe_reconcile_fn reconcile;
  void *reconcile_ctx;
  struct wfe_metrics *metrics; /* may be NULL */
};

int wfe_workers_start(const struct wfe_workers_options *options,
                      struct wfe_workers **out, struct wfe_error *err);

/* Stops intake, lets in-flight reconciles finish for up to `grace_ms`, then
 * joins the workers. Returns 0, or WFE_E_UNAVAILABLE when work was still in
 * flight at the deadline (the workers are then left to the process exit). */
int wfe_workers_stop(struct wfe_workers *workers, long grace_ms);

/* Frees workers whose stop returned 0 (or that never started work).
 * Accepts NULL. */
void wfe_workers_free(struct wfe_workers *workers);

#endif
