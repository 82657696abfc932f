/*
 * The Prometheus registry; see metrics.h. Each family keeps its series in an
 * array sorted by label values, so a lookup is a binary search and the
 * exposition comes out in a stable order without sorting at render time.
 * One mutex per family keeps updates of different families independent; the
 * registry's mutex guards the family list and the render hooks.
 */
#include "metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "status.h"

enum family_type { FAMILY_COUNTER, FAMILY_GAUGE, FAMILY_HISTOGRAM };

struct series {
  char **label_values;
  double value;      /* counters and gauges */
  uint64_t *buckets; /* histograms: per-bucket (not cumulative), +Inf last */
  double sum;        /* histograms */
  uint64_t count;    /* histograms */
};

struct wfe_metric {
  char *name;
  char *help;
  enum family_type type;
  char **label_names;
  size_t label_count;
  double *bounds; /* histograms: ascending upper bounds, +Inf implied */
  size_t bound_count;
  pthread_mutex_t lock;
  struct series **series;
  size_t series_len;
  size_t series_cap;
};

struct render_hook {
  wfe_metrics_hook_fn fn;
  void *ctx;
};

struct process_collector {
  struct wfe_metric *cpu_seconds;
  struct wfe_metric *resident_bytes;
  struct wfe_metric *virtual_bytes;
  struct wfe_metric *start_time;
  struct wfe_metric *open_fds;
  struct wfe_metric *max_fds;
};

struct wfe_metrics {
  pthread_mutex_t lock;
  struct wfe_metric **families; /* sorted by name */
  size_t family_len;
  size_t family_cap;
  struct render_hook *hooks;
  size_t hook_len;
  size_t hook_cap;
  struct process_collector *process;
};

/* --- Families ------------------------------------------------------------ */

static void free_strings(char **strings, size_t count)
{
  if (!strings)
    return;
  for (size_t i = 0; i < count; i++)
    free(strings[i]);
  free(strings);
}

static void series_free(struct series *series, size_t label_count)
{
  if (!series)
    return;
  free_strings(series->label_values, label_count);
  free(series->buckets);
  free(series);
}

static void family_free(struct wfe_metric *family)
{
  if (!family)
    return;
  for (size_t i = 0; i < family->series_len; i++)
    series_free(family->series[i], family->label_count);
  free(family->series);
  free_strings(family->label_names, family->label_count);
  free(family->bounds);
  free(family->name);
  free(family->help);
  pthread_mutex_destroy(&family->lock);
  free(family);
}

static int valid_name(const char *name, int allow_colon)
{
  if (!name || !*name)
    return 0;
  for (const char *p = name; *p; p++) {
    char c = *p;
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                (allow_colon && c == ':');
    if (!alpha && !(p != name && c >= '0' && c <= '9'))
      return 0;
  }
  return 1;
}

static char **copy_strings(const char *const *strings, size_t count)
{
  char **copy = calloc(count ? count : 1, sizeof(*copy));
  if (!copy)
    return NULL;
  for (size_t i = 0; i < count; i++) {
    copy[i] = strdup(strings[i] ? strings[i] : "");
    if (!copy[i]) {
      free_strings(copy, count);
      return NULL;
    }
  }
  return copy;
}

static struct series *series_new(const struct wfe_metric *family,
                                 const char *const *label_values)
{
  struct series *series = calloc(1, sizeof(*series));
  if (!series)
    return NULL;
  series->label_values = copy_strings(label_values, family->label_count);
  if (!series->label_values) {
    free(series);
    return NULL;
  }
  if (family->type == FAMILY_HISTOGRAM) {
    series->buckets = calloc(family->bound_count + 1, sizeof(*series->buckets));
    if (!series->buckets) {
      series_free(series, family->label_count);
      return NULL;
    }
  }
  return series;
}

static int compare_labels(char *const *a, const char *const *b, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    int c = strcmp(a[i], b[i] ? b[i] : "");
    if (c)
      return c;
  }
  return 0;
}

/* The series for `label_values`, created on first use; NULL when memory runs
 * out. Called with the family locked. */
static struct series *family_series(struct wfe_metric *family,
                                    const char *const *label_values)
{
  size_t lo = 0, hi = family->series_len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = compare_labels(family->series[mid]->label_values, label_values,
                           family->label_count);
    if (c == 0)
      return family->series[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (family->series_len == family->series_cap) {
    size_t cap = family->series_cap ? family->series_cap * 2 : 4;
    struct series **grown = realloc(family->series, cap * sizeof(*grown));
    if (!grown)
      return NULL;
    family->series = grown;
    family->series_cap = cap;
  }
  struct series *series = series_new(family, label_values);
  if (!series)
    return NULL;
  memmove(family->series + lo + 1, family->series + lo,
          (family->series_len - lo) * sizeof(*family->series));
  family->series[lo] = series;
  family->series_len++;
  return series;
}

static int same_shape(const struct wfe_metric *family, enum family_type type,
                      const char *const *label_names, size_t label_count,
                      const double *bounds, size_t bound_count)
{
  if (family->type != type || family->label_count != label_count)
    return 0;
  for (size_t i = 0; i < label_count; i++)
    if (strcmp(family->label_names[i], label_names[i]) != 0)
      return 0;
  if (type == FAMILY_HISTOGRAM) {
    if (family->bound_count != bound_count)
      return 0;
    for (size_t i = 0; i < bound_count; i++)
      if (family->bounds[i] != bounds[i])
        return 0;
  }
  return 1;
}

static int valid_shape(const char *name, enum family_type type,
                       const char *const *label_names, size_t label_count,
                       const double *bounds, size_t bound_count)
{
  if (!valid_name(name, 1) || (label_count && !label_names))
    return 0;
  for (size_t i = 0; i < label_count; i++) {
    if (!valid_name(label_names[i], 0) || strncmp(label_names[i], "__", 2) == 0)
      return 0;
    if (type == FAMILY_HISTOGRAM && strcmp(label_names[i], "le") == 0)
      return 0;
    for (size_t j = 0; j < i; j++)
      if (strcmp(label_names[i], label_names[j]) == 0)
        return 0;
  }
  if (type == FAMILY_HISTOGRAM) {
    if (bound_count && !bounds)
      return 0;
    for (size_t i = 0; i < bound_count; i++)
      if (isnan(bounds[i]) || isinf(bounds[i]) ||
          (i && !(bounds[i] > bounds[i - 1])))
        return 0;
  }
  return 1;
}

static struct wfe_metric *family_new(const char *name, const char *help,
                                     enum family_type type,
                                     const char *const *label_names,
                                     size_t label_count, const double *bounds,
                                     size_t bound_count)
{
  struct wfe_metric *family = calloc(1, sizeof(*family));
  if (!family)
    return NULL;
  pthread_mutex_init(&family->lock, NULL);
  family->type = type;
  family->label_count = label_count;
  family->bound_count = bound_count;
  family->name = strdup(name);
  family->help = strdup(help ? help : "");
  family->label_names = copy_strings(label_names, label_count);
  if (bound_count) {
    family->bounds = malloc(bound_count * sizeof(*family->bounds));
    if (family->bounds)
      memcpy(family->bounds, bounds, bound_count * sizeof(*bounds));
  }
  if (!family->name || !family->help || !family->label_names ||
      (bound_count && !family->bounds)) {
    family_free(family);
    return NULL;
  }
  /* An unlabelled family has exactly one series: expose it from the start,
   * as Prometheus clients do. */
  if (label_count == 0 && !family_series(family, NULL)) {
    family_free(family);
    return NULL;
  }
  return family;
}

static struct wfe_metric *
registry_add(struct wfe_metrics *metrics, const char *name, const char *help,
             enum family_type type, const char *const *label_names,
             size_t label_count, const double *bounds, size_t bound_count)
{
  if (!metrics ||
      !valid_shape(name, type, label_names, label_count, bounds, bound_count))
    return NULL;
  struct wfe_metric *result = NULL;
  pthread_mutex_lock(&metrics->lock);
  size_t lo = 0, hi = metrics->family_len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(metrics->families[mid]->name, name);
    if (c == 0) {
      struct wfe_metric *found = metrics->families[mid];
      if (same_shape(found, type, label_names, label_count, bounds,
                     bound_count))
        result = found;
      goto out;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (metrics->family_len == metrics->family_cap) {
    size_t cap = metrics->family_cap ? metrics->family_cap * 2 : 16;
    struct wfe_metric **grown =
        realloc(metrics->families, cap * sizeof(*grown));
    if (!grown)
      goto out;
    metrics->families = grown;
    metrics->family_cap = cap;
  }
  result = family_new(name, help, type, label_names, label_count, bounds,
                      bound_count);
  if (!result)
    goto out;
  memmove(metrics->families + lo + 1, metrics->families + lo,
          (metrics->family_len - lo) * sizeof(*metrics->families));
  metrics->families[lo] = result;
  metrics->family_len++;
out:
  pthread_mutex_unlock(&metrics->lock);
  return result;
}

struct wfe_metrics *wfe_metrics_new(void)
{
  struct wfe_metrics *metrics = calloc(1, sizeof(*metrics));
  if (!metrics)
    return NULL;
  pthread_mutex_init(&metrics->lock, NULL);
  return metrics;
}

void wfe_metrics_free(struct wfe_metrics *metrics)
{
  if (!metrics)
    return;
  for (size_t i = 0; i < metrics->family_len; i++)
    family_free(metrics->families[i]);
  free(metrics->families);
  free(metrics->hooks);
  free(metrics->process);
  pthread_mutex_destroy(&metrics->lock);
  free(metrics);
}

struct wfe_metric *wfe_metrics_counter(struct wfe_metrics *metrics,
                                       const char *name, const char *help,
                                       const char *const *label_names,
                                       size_t label_count)
{
  return registry_add(metrics, name, help, FAMILY_COUNTER, label_names,
                      label_count, NULL, 0);
}

struct wfe_metric *wfe_metrics_gauge(struct wfe_metrics *metrics,
                                     const char *name, const char *help,
                                     const char *const *label_names,
                                     size_t label_count)
{
  return registry_add(metrics, name, help, FAMILY_GAUGE, label_names,
                      label_count, NULL, 0);
}

struct wfe_metric *wfe_metrics_histogram(struct wfe_metrics *metrics,
                                         const char *name, const char *help,
                                         const char *const *label_names,
                                         size_t label_count,
                                         const double *buckets,
                                         size_t bucket_count)
{
  return registry_add(metrics, name, help, FAMILY_HISTOGRAM, label_names,
                      label_count, buckets, bucket_count);
}

/* --- Updates ------------------------------------------------------------- */

static int labels_usable(const struct wfe_metric *metric,
                         const char *const *label_values)
{
  return metric && (metric->label_count == 0 || label_values);
}

/* Stores a counter's or gauge's value; the process collector also uses it to
 * copy the kernel's CPU counter. */
static void metric_store(struct wfe_metric *metric,
                         const char *const *label_values, double value, int add)
{
  pthread_mutex_lock(&metric->lock);
  struct series *series = family_series(metric, label_values);
  if (series)
    series->value = add ? series->value + value : value;
  pthread_mutex_unlock(&metric->lock);
}

void wfe_metric_add(struct wfe_metric *metric, const char *const *label_values,
                    double delta)
{
  if (!labels_usable(metric, label_values) || isnan(delta))
    return;
  if (metric->type == FAMILY_HISTOGRAM ||
      (metric->type == FAMILY_COUNTER && delta < 0))
    return;
  metric_store(metric, label_values, delta, 1);
}

void wfe_metric_set(struct wfe_metric *metric, const char *const *label_values,
                    double value)
{
  if (!labels_usable(metric, label_values) || metric->type != FAMILY_GAUGE)
    return;
  metric_store(metric, label_values, value, 0);
}

void wfe_metric_observe(struct wfe_metric *metric,
                        const char *const *label_values, double value)
{
  if (!labels_usable(metric, label_values) ||
      metric->type != FAMILY_HISTOGRAM || isnan(value))
    return;
  /* Find the bucket before taking the lock. */
  size_t bucket = 0;
  while (bucket < metric->bound_count && value > metric->bounds[bucket])
    bucket++;
  pthread_mutex_lock(&metric->lock);
  struct series *series = family_series(metric, label_values);
  if (series) {
    series->buckets[bucket]++;
    series->sum += value;
    series->count++;
  }
  pthread_mutex_unlock(&metric->lock);
}

int wfe_metric_get(struct wfe_metric *metric, const char *const *label_values,
                   double *out)
{
  if (!labels_usable(metric, label_values))
    return WFE_E_NOT_FOUND;
  int rc = WFE_E_NOT_FOUND;
  pthread_mutex_lock(&metric->lock);
  for (size_t i = 0; i < metric->series_len; i++) {
    const struct series *series = metric->series[i];
    if (compare_labels(series->label_values, label_values,
                       metric->label_count) == 0) {
      *out = metric->type == FAMILY_HISTOGRAM ? (double)series->count
                                              : series->value;
      rc = 0;
      break;
    }
  }
  pthread_mutex_unlock(&metric->lock);
  return rc;
}

/* --- Exposition ---------------------------------------------------------- */

/*
 * Formats like Go's strconv.FormatFloat(v, 'g', -1, 64), which the Prometheus
 * clients use: the shortest digits that read back as the same double, in
 * exponent form when the exponent is below -4 or at least 6
 * (1e-08, 0.005, 100, 1e+06, 1.5e+09).
 */
static void format_double(char out[40], double value)
{
  if (isnan(value)) {
    strcpy(out, "NaN");
    return;
  }
  if (isinf(value)) {
    strcpy(out, value > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (value == 0) {
    strcpy(out, signbit(value) ? "-0" : "0");
    return;
  }
  int digits = 1;
  for (; digits < 17; digits++) {
    snprintf(out, 40, "%.*e", digits - 1, value);
    if (strtod(out, NULL) == value)
      break;
  }
  snprintf(out, 40, "%.*e", digits - 1, value);
  int exponent = atoi(strchr(out, 'e') + 1);
  if (exponent < -4 || exponent >= 6)
    return; /* already "d.ddde+XX", as Go writes it */
  int decimals = digits - 1 - exponent;
  snprintf(out, 40, "%.*f", decimals > 0 ? decimals : 0, value);
}

/* HELP text escapes backslash and newline; label values also the quote. */
static int append_escaped(struct wfe_buf *out, const char *text, int quote)
{
  int rc = 0;
  const char *run = text;
  for (const char *p = text; *p && !rc; p++) {
    const char *escape = NULL;
    if (*p == '\\')
      escape = "\\\\";
    else if (*p == '\n')
      escape = "\\n";
    else if (*p == '"' && quote)
      escape = "\\\"";
    if (!escape)
      continue;
    rc = wfe_buf_append(out, run, (size_t)(p - run));
    if (!rc)
      rc = wfe_buf_puts(out, escape);
    run = p + 1;
  }
  if (!rc)
    rc = wfe_buf_puts(out, run);
  return rc;
}

/* Writes `name{labels[,le="bound"]} value\n`. */
static int render_sample(struct wfe_buf *out, const struct wfe_metric *family,
                         const char *suffix, const struct series *series,
                         const char *le, double value)
{
  char number[40];
  int rc = wfe_buf_puts(out, family->name);
  if (!rc)
    rc = wfe_buf_puts(out, suffix);
  if (!rc && (family->label_count || le))
    rc = wfe_buf_puts(out, "{");
  for (size_t i = 0; i < family->label_count && !rc; i++) {
    rc = wfe_buf_printf(out, "%s%s=\"", i ? "," : "", family->label_names[i]);
    if (!rc)
      rc = append_escaped(out, series->label_values[i], 1);
    if (!rc)
      rc = wfe_buf_puts(out, "\"");
  }
  if (!rc && le)
    rc = wfe_buf_printf(out, "%sle=\"%s\"", family->label_count ? "," : "", le);
  if (!rc && (family->label_count || le))
    rc = wfe_buf_puts(out, "}");
  format_double(number, value);
  if (!rc)
    rc = wfe_buf_printf(out, " %s\n", number);
  return rc;
}

static int render_histogram(struct wfe_buf *out,
                            const struct wfe_metric *family,
                            const struct series *series)
{
  char le[40];
  uint64_t cumulative = 0;
  int rc = 0;
  for (size_t b = 0; b < family->bound_count && !rc; b++) {
    cumulative += series->buckets[b];
    format_double(le, family->bounds[b]);
    rc = render_sample(out, family, "_bucket", series, le, (double)cumulative);
  }
  if (!rc)
    rc = render_sample(out, family, "_bucket", series, "+Inf",
                       (double)series->count);
  if (!rc)
    rc = render_sample(out, family, "_sum", series, NULL, series->sum);
  if (!rc)
    rc = render_sample(out, family, "_count", series, NULL,
                       (double)series->count);
  return rc;
}

static int render_family(struct wfe_buf *out, struct wfe_metric *family)
{
  static const char *const type_names[] = {"counter", "gauge", "histogram"};
  int rc = 0;
  pthread_mutex_lock(&family->lock);
  if (family->series_len == 0)
    goto out;
  rc = wfe_buf_printf(out, "# HELP %s ", family->name);
  if (!rc)
    rc = append_escaped(out, family->help, 0);
  if (!rc)
    rc = wfe_buf_printf(out, "\n# TYPE %s %s\n", family->name,
                        type_names[family->type]);
  for (size_t i = 0; i < family->series_len && !rc; i++) {
    const struct series *series = family->series[i];
    if (family->type == FAMILY_HISTOGRAM)
      rc = render_histogram(out, family, series);
    else
      rc = render_sample(out, family, "", series, NULL, series->value);
  }
out:
  pthread_mutex_unlock(&family->lock);
  return rc;
}

int wfe_metrics_render(struct wfe_metrics *metrics, struct wfe_buf *out)
{
  int rc = 0;
  pthread_mutex_lock(&metrics->lock);
  for (size_t i = 0; i < metrics->hook_len; i++)
    metrics->hooks[i].fn(metrics->hooks[i].ctx);
  for (size_t i = 0; i < metrics->family_len && !rc; i++)
    rc = render_family(out, metrics->families[i]);
  pthread_mutex_unlock(&metrics->lock);
  return rc;
}

/* --- Render hooks -------------------------------------------------------- */

int wfe_metrics_add_render_hook(struct wfe_metrics *metrics,
                                wfe_metrics_hook_fn fn, void *ctx)
{
  int rc = 0;
  pthread_mutex_lock(&metrics->lock);
  if (metrics->hook_len == metrics->hook_cap) {
    size_t cap = metrics->hook_cap ? metrics->hook_cap * 2 : 4;
    struct render_hook *grown = realloc(metrics->hooks, cap * sizeof(*grown));
    if (!grown) {
      rc = WFE_E_NOMEM;
      goto out;
    }
    metrics->hooks = grown;
    metrics->hook_cap = cap;
  }
  metrics->hooks[metrics->hook_len].fn = fn;
  metrics->hooks[metrics->hook_len].ctx = ctx;
  metrics->hook_len++;
out:
  pthread_mutex_unlock(&metrics->lock);
  return rc;
}

void wfe_metrics_remove_render_hook(struct wfe_metrics *metrics,
                                    wfe_metrics_hook_fn fn, void *ctx)
{
  if (!metrics)
    return;
  pthread_mutex_lock(&metrics->lock);
  for (size_t i = 0; i < metrics->hook_len; i++) {
    if (metrics->hooks[i].fn == fn && metrics->hooks[i].ctx == ctx) {
      memmove(metrics->hooks + i, metrics->hooks + i + 1,
              (metrics->hook_len - i - 1) * sizeof(*metrics->hooks));
      metrics->hook_len--;
      break;
    }
  }
  pthread_mutex_unlock(&metrics->lock);
}

/* --- Process collector --------------------------------------------------- */

/* Boot time in seconds since the epoch, from /proc/stat. */
static long long boot_time(void)
{
  FILE *file = fopen("/proc/stat", "re");
  if (!file)
    return -1;
  char line[256];
  long long btime = -1;
  while (fgets(line, sizeof(line), file))
    if (sscanf(line, "btime %lld", &btime) == 1)
      break;
  fclose(file);
  return btime;
}

static long count_open_fds(void)
{
  DIR *dir = opendir("/proc/self/fd");
  if (!dir)
    return -1;
  long count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)))
    if (entry->d_name[0] != '.')
      count++;
  closedir(dir);
  return count - 1; /* the directory being read */
}

static void process_collect(void *ctx)
{
  struct process_collector *pc = ctx;
  long ticks = sysconf(_SC_CLK_TCK);
  long page = sysconf(_SC_PAGESIZE);
  FILE *file = fopen("/proc/self/stat", "re");
  if (file) {
    char line[1024];
    size_t n = fread(line, 1, sizeof(line) - 1, file);
    fclose(file);
    line[n] = '\0';
    /* The command name may contain spaces and parentheses: skip to the last
     * ')'; the fields after it start with the state (field 3). */
    char *rest = strrchr(line, ')');
    unsigned long long utime, stime, start_ticks, vsize;
    long long rss;
    if (rest && ticks > 0 &&
        sscanf(rest + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d "
               "%*d %*d %*d %*d %*d %llu %llu %lld",
               &utime, &stime, &start_ticks, &vsize, &rss) == 5) {
      metric_store(pc->cpu_seconds, NULL, (double)(utime + stime) / ticks, 0);
      metric_store(pc->virtual_bytes, NULL, (double)vsize, 0);
      metric_store(pc->resident_bytes, NULL, (double)rss * page, 0);
      long long btime = boot_time();
      if (btime >= 0)
        metric_store(pc->start_time, NULL,
                     (double)btime + (double)start_ticks / ticks, 0);
    }
  }
  long fds = count_open_fds();
  if (fds >= 0)
    metric_store(pc->open_fds, NULL, (double)fds, 0);
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
    metric_store(
        pc->max_fds, NULL,
        limit.rlim_cur == RLIM_INFINITY ? INFINITY : (double)limit.rlim_cur, 0);
}

int wfe_metrics_register_process_collector(struct wfe_metrics *metrics)
{
  pthread_mutex_lock(&metrics->lock);
  int registered = metrics->process != NULL;
  pthread_mutex_unlock(&metrics->lock);
  if (registered)
    return 0;
  struct process_collector *pc = calloc(1, sizeof(*pc));
  if (!pc)
    return WFE_E_NOMEM;
  pc->cpu_seconds = wfe_metrics_counter(
      metrics, "process_cpu_seconds_total",
      "Total user and system CPU time spent in seconds.", NULL, 0);
  pc->resident_bytes =
      wfe_metrics_gauge(metrics, "process_resident_memory_bytes",
                        "Resident memory size in bytes.", NULL, 0);
  pc->virtual_bytes =
      wfe_metrics_gauge(metrics, "process_virtual_memory_bytes",
                        "Virtual memory size in bytes.", NULL, 0);
  pc->start_time = wfe_metrics_gauge(
      metrics, "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.", NULL, 0);
  pc->open_fds = wfe_metrics_gauge(metrics, "process_open_fds",
                                   "Number of open file descriptors.", NULL, 0);
  pc->max_fds =
      wfe_metrics_gauge(metrics, "process_max_fds",
                        "Maximum number of open file descriptors.", NULL, 0);
  if (!pc->cpu_seconds || !pc->resident_bytes || !pc->virtual_bytes ||
      !pc->start_time || !pc->open_fds || !pc->max_fds) {
    free(pc);
    return WFE_E_NOMEM;
  }
  int rc = wfe_metrics_add_render_hook(metrics, process_collect, pc);
  if (rc) {
    free(pc);
    return rc;
  }
  pthread_mutex_lock(&metrics->lock);
  metrics->process = pc;
  pthread_mutex_unlock(&metrics->lock);
  return 0;
}
