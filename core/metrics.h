/*
 * A small Prometheus registry: counters, gauges and histograms with labels,
 * rendered in the text exposition format (version 0.0.4) for /metrics.
 * Families are created once at start-up; updating a series is thread-safe
 * and cheap. Label values are given as arrays in the order of the family's
 * label names; a series is created on first use.
 */
#ifndef WFE_CORE_METRICS_H
#define WFE_CORE_METRICS_H

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

/* Appends the text exposition of every family. Returns 0 or WFE_E_NOMEM. */
int wfe_metrics_render(struct wfe_metrics *metrics, struct wfe_buf *out);

#endif
