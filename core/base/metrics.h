/*
 * A small Prometheus registry: counters, gauges and histograms with labels,
 * rendered in the text exposition format (version 0.0.4) for /metrics.
 * Families are created once at start-up; updating a series is thread-safe
 * and cheap. Label values are given as arrays in the order of the family's
 * label names; a series is created on first use.
 */
#ifndef WFE_BASE_METRICS_H
#define WFE_BASE_METRICS_H

#include <stddef.h>

#include "buf.h"

struct wfe_metrics;
struct wfe_metric; /* one family */

struct wfe_metrics *wfe_metrics_new(void);
void wfe_metrics_free(struct wfe_metrics *metrics);

/*
 * Register a family. `label_names` is an array of `label_count` names (may be
 * NULL when 0). Registering the same name twice returns the first family when
 * the type and labels match, else NULL. NULL also on out of memory; updating
 * a NULL family does nothing, so callers need not check on every update.
 */
struct wfe_metric *wfe_metrics_counter(struct wfe_metrics *metrics,
                                       const char *name, const char *help,
                                       const char *const *label_names,
                                       size_t label_count);
struct wfe_metric *wfe_metrics_gauge(struct wfe_metrics *metrics,
                                     const char *name, const char *help,
                                     const char *const *label_names,
                                     size_t label_count);
/* `buckets`: ascending upper bounds, +Inf implied. */
struct wfe_metric *wfe_metrics_histogram(struct wfe_metrics *metrics,
                                         const char *name, const char *help,
                                         const char *const *label_names,
                                         size_t label_count,
                                         const double *buckets,
                                         size_t bucket_count);

/* `label_values` has the family's label_count entries. */
void wfe_metric_add(struct wfe_metric *metric, const char *const *label_values,
                    double delta); /* counters and gauges */
void wfe_metric_set(struct wfe_metric *metric, const char *const *label_values,
                    double value); /* gauges */
void wfe_metric_observe(struct wfe_metric *metric,
                        const char *const *label_values,
                        double value); /* histograms */

/*
 * The current value of one series: a counter's or gauge's value, or a
 * histogram's observation count. Returns 0, or WFE_E_NOT_FOUND when the
 * series was never used (or `metric` is NULL). For tests and diagnostics.
 */
int wfe_metric_get(struct wfe_metric *metric, const char *const *label_values,
                   double *out);

/*
 * Appends the text exposition of every family, families sorted by name and
 * series by label values. Calls the render hooks first. Returns 0 or
 * WFE_E_NOMEM.
 */
int wfe_metrics_render(struct wfe_metrics *metrics, struct wfe_buf *out);

/*
 * Render hooks bring gauges that are sampled, not updated, up to date just
 * before rendering (the work queue's unfinished work, the process's memory).
 * A hook runs on the rendering thread, with no family locked, and must only
 * update metrics. Removal waits for a running render, so after it returns
 * the hook is not running and `ctx` may be freed. Add returns 0 or
 * WFE_E_NOMEM; removing an unknown (fn, ctx) pair does nothing.
 */
typedef void (*wfe_metrics_hook_fn)(void *ctx);
int wfe_metrics_add_render_hook(struct wfe_metrics *metrics,
                                wfe_metrics_hook_fn fn, void *ctx);
void wfe_metrics_remove_render_hook(struct wfe_metrics *metrics,
                                    wfe_metrics_hook_fn fn, void *ctx);

/*
 * Registers the standard process metrics, read from /proc/self at render
 * time: process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_start_time_seconds,
 * process_open_fds, process_max_fds. Returns 0 or WFE_E_NOMEM.
 */
int wfe_metrics_register_process_collector(struct wfe_metrics *metrics);

#endif
