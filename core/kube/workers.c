/* The worker pool behind a controller; see workers.h. */
#include "workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "log.h"
#include "metrics.h"
#include "workqueue.h"

struct wfe_workers {
  struct wfe_workers_options options;
  char *name;
  pthread_t *threads;
  int started;
  int joined;
  struct wfe_metric *reconcile_total;
  struct wfe_metric *reconcile_errors;
  struct wfe_metric *reconcile_time;
  struct wfe_metric *active_workers;
};

static const double reconcile_buckets[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3,  0.35,
    0.4,   0.45, 0.5,   0.6,  0.7, 0.8,  0.9, 1.0,  1.25, 1.5,
    1.75,  2.0,  2.5,   3.0,  3.5, 4.0,  4.5, 5,    6,    7,
    8,     9,    10,    15,   20,  25,   30,  40,   50,   60};

static void register_metrics(struct wfe_workers *c)
{
  struct wfe_metrics *m = c->options.metrics;
  if (!m)
    return;
  static const char *const result_labels[] = {"controller", "result"};
  static const char *const controller_label[] = {"controller"};
  c->reconcile_total = wfe_metrics_counter(
      m, "controller_runtime_reconcile_total",
      "Total number of reconciliations per controller", result_labels, 2);
  c->reconcile_errors = wfe_metrics_counter(
      m, "controller_runtime_reconcile_errors_total",
      "Total number of reconciliation errors per controller", controller_label,
      1);
  c->reconcile_time = wfe_metrics_histogram(
      m, "controller_runtime_reconcile_time_seconds",
      "Length of time per reconciliation per controller", controller_label, 1,
      reconcile_buckets,
      sizeof(reconcile_buckets) / sizeof(reconcile_buckets[0]));
  c->active_workers = wfe_metrics_gauge(
      m, "controller_runtime_active_workers",
      "Number of currently used workers per controller", controller_label, 1);
  struct wfe_metric *max = wfe_metrics_gauge(
      m, "controller_runtime_max_concurrent_reconciles",
      "Maximum number of concurrent reconciles per controller",
      controller_label, 1);
  const char *labels[] = {c->name};
  wfe_metric_set(max, labels, c->options.workers);
}

static void process(struct wfe_workers *c, const char *key)
{
  const char *labels[] = {c->name, NULL};
  struct wfe_reconcile_result result = {0};
  struct wfe_error err = WFE_ERROR_INIT;
  wfe_metric_add(c->active_workers, labels, 1);
  int64_t start = wfe_monotonic_ns();
  int rc = c->options.reconcile(c->options.reconcile_ctx, key, &result, &err);
  double seconds = (double)(wfe_monotonic_ns() - start) / 1e9;
  wfe_metric_add(c->active_workers, labels, -1);
  wfe_metric_observe(c->reconcile_time, labels, seconds);

  if (rc) {
    labels[1] = "error";
    wfe_metric_add(c->reconcile_errors, labels, 1);
    /* An API refusal (403 from RBAC, a webhook's 4xx) may be fixed by an
     * operator: back off and try again. Only errors of our own making that
     * no retry can change are dropped. */
    int permanent = rc == WFE_E_INVALID && !err.retryable && !err.http_status;
    wfe_log_error(c->name, key, "reconcile failed%s: %s",
                  permanent ? "" : ", will retry", wfe_error_message(&err));
    if (permanent)
      wfe_workqueue_forget(c->options.queue, key);
    else
      wfe_workqueue_add_rate_limited(c->options.queue, key);
  } else {
    wfe_workqueue_forget(c->options.queue, key);
    if (result.requeue_after_ms > 0) {
      labels[1] = "requeue_after";
      wfe_workqueue_add_after(c->options.queue, key, result.requeue_after_ms);
    } else {
      labels[1] = "success";
    }
  }
  wfe_metric_add(c->reconcile_total, labels, 1);
  wfe_error_clear(&err);
}

static void *worker(void *arg)
{
  struct wfe_workers *c = arg;
  const char *key = NULL;
  while (wfe_workqueue_get(c->options.queue, &key)) {
    process(c, key);
    wfe_workqueue_done(c->options.queue, key);
  }
  return NULL;
}

int wfe_workers_start(const struct wfe_workers_options *options,
                      struct wfe_workers **out, struct wfe_error *err)
{
  *out = NULL;
  if (!options->queue || !options->reconcile)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "a controller needs a queue and a reconcile function");
  struct wfe_workers *c = calloc(1, sizeof(*c));
  if (!c)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  c->options = *options;
  if (c->options.workers < 1)
    c->options.workers = 1;
  c->name = strdup(options->name ? options->name : "controller");
  c->threads = calloc((size_t)c->options.workers, sizeof(*c->threads));
  if (!c->name || !c->threads) {
    wfe_workers_free(c);
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  c->options.name = c->name;
  register_metrics(c);
  for (; c->started < c->options.workers; c->started++) {
    if (pthread_create(&c->threads[c->started], NULL, worker, c) != 0) {
      wfe_workqueue_shutdown(c->options.queue);
      for (int i = 0; i < c->started; i++)
        pthread_join(c->threads[i], NULL);
      wfe_workers_free(c);
      return wfe_error_set(err, WFE_E_UNAVAILABLE, 0, "ThreadFailed", NULL,
                           "cannot start worker threads");
    }
  }
  *out = c;
  return 0;
}

int wfe_workers_stop(struct wfe_workers *c, long grace_ms)
{
  if (!c || c->joined)
    return 0;
  int rc = wfe_workqueue_shutdown_drain(c->options.queue, grace_ms);
  if (rc) {
    wfe_log_warn(c->name, NULL,
                 "in-flight reconciles did not finish within %ld ms", grace_ms);
    return WFE_E_UNAVAILABLE;
  }
  for (int i = 0; i < c->started; i++)
    pthread_join(c->threads[i], NULL);
  c->joined = 1;
  return 0;
}

void wfe_workers_free(struct wfe_workers *c)
{
  if (!c)
    return;
  free(c->threads);
  free(c->name);
  free(c);
}
