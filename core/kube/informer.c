/*
 * The informer (informer.h): a reflector thread that keeps a store equal to
 * the server's state of one resource type and scope, and reports every
 * change to the handlers. The loop is client-go's Reflector.ListAndWatch:
 *
 *   list (paged) -> relist diff into the store -> watch from the list's RV
 *     stream ended (server timeout)  -> watch again from the last RV
 *     410 (on the request or inside the stream) -> list again
 *     any other failure, idle drop   -> backoff, then watch from the last RV
 *
 * All store writes and handler calls happen on the reflector thread, so
 * handlers see events in the order the server produced them.
 */
#include "informer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "json_util.h"
#include "metrics.h"
#include "status.h"

/* Handler return values that end a watch (positive: never WFE_E_*). */
#define WATCH_EXPIRED 1 /* 410 inside the stream: relist */
#define WATCH_FAILED 2  /* another ERROR event: back off, watch again */
#define LIST_STOPPED 3  /* the stop flag was raised during a list */

/* A watch that ends sooner than this without an event is treated as a
 * failure, so a server that closes streams at once is not hammered. */
#define SHORT_WATCH_MS 1000

struct handler {
  wfe_informer_event_fn fn;
  void *ctx;
};

struct wfe_informer {
  struct wfe_kube_client *client;
  struct wfe_resource resource;
  char *api_version;
  char *resource_name;
  char *namespace_name;
  char *label_selector;
  char *field_selector;
  char *name;
  long page_size;
  long timeout_min_s;
  long timeout_max_s;
  long idle_timeout_ms;
  wfe_store_transform_fn transform;
  void *transform_ctx;
  int keep_managed_fields;

  struct wfe_store *store;
  struct handler *handlers;
  size_t handler_count;
  struct wfe_metric *relists_metric;
  struct wfe_metric *restarts_metric;
  struct wfe_metric *objects_metric;

  /* Reflector state: touched by the reflector thread, or by the
   * controlling thread while the reflector is not running. */
  struct wfe_backoff backoff;
  uint64_t rand_state;
  int need_list;
  int watch_after_list;  /* the next watch is the first after a list */
  uint64_t watch_events; /* events of the current watch */

  pthread_t thread;
  int started;       /* ever started: no more handlers */
  int joinable;      /* a thread exists to join */
  volatile int stop; /* polled by the client during lists and watches */

  /* Under `mutex`: what other threads read. */
  pthread_mutex_t mutex;
  pthread_cond_t cond; /* synced, stopped, stop requested */
  int running;
  int synced;
  struct wfe_buf resource_version;
  struct wfe_informer_stats stats;
};

/* --- Small helpers ------------------------------------------------------ */

static int dup_opt(const char *src, char **out)
{
  *out = NULL;
  if (!src)
    return 0;
  *out = strdup(src);
  return *out ? 0 : WFE_E_NOMEM;
}

static uint64_t next_random(struct wfe_informer *informer)
{
  uint64_t x = informer->rand_state; /* xorshift64* */
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  informer->rand_state = x;
  return x * 2685821657736338717ull;
}

static long watch_timeout_s(struct wfe_informer *informer)
{
  long span = informer->timeout_max_s - informer->timeout_min_s + 1;
  return informer->timeout_min_s +
         (long)(next_random(informer) % (uint64_t)span);
}

/* Sleeps up to `ms`, waking early when asked to stop. */
static void sleep_ms(struct wfe_informer *informer, int64_t ms)
{
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += ms / 1000;
  deadline.tv_nsec += (ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&informer->mutex);
  while (!informer->stop &&
         pthread_cond_timedwait(&informer->cond, &informer->mutex, &deadline) ==
             0)
    ;
  pthread_mutex_unlock(&informer->mutex);
}

static void count(struct wfe_informer *informer, uint64_t *counter)
{
  pthread_mutex_lock(&informer->mutex);
  (*counter)++;
  pthread_mutex_unlock(&informer->mutex);
}

static void set_resource_version(struct wfe_informer *informer, const char *rv)
{
  if (!rv || !*rv)
    return;
  pthread_mutex_lock(&informer->mutex);
  wfe_buf_clear(&informer->resource_version);
  /* On out of memory the buffer stays empty and the next watch starts from
   * "now"; the next relist repairs what that misses. */
  if (wfe_buf_puts(&informer->resource_version, rv) != 0)
    informer->need_list = 1;
  pthread_mutex_unlock(&informer->mutex);
}

static void update_objects_metric(struct wfe_informer *informer)
{
  const char *labels[] = {informer->name};
  wfe_metric_set(informer->objects_metric, labels,
                 (double)wfe_store_len(informer->store));
}

/* --- Reporting ---------------------------------------------------------- */

static void emit(struct wfe_informer *informer,
                 enum wfe_informer_event_type type, json_object *obj,
                 json_object *old, int final_state_unknown)
{
  if (!informer->handler_count)
    return;
  count(informer, &informer->stats.events);
  for (size_t i = 0; i < informer->handler_count; i++)
    informer->handlers[i].fn(informer->handlers[i].ctx, type, obj, old,
                             final_state_unknown);
}

/* Runs the transforms; non-zero means the object is dropped. */
static int transform(struct wfe_informer *informer, json_object *obj)
{
  if (!informer->keep_managed_fields)
    wfe_informer_strip_managed_fields(NULL, obj);
  if (informer->transform)
    return informer->transform(informer->transform_ctx, obj);
  return 0;
}

/* An object as listed or as ADDED/MODIFIED by the watch. */
static void apply_upsert(struct wfe_informer *informer, json_object *obj)
{
  enum wfe_store_change change;
  struct wfe_store_item *old_item = NULL;
  if (transform(informer, obj) != 0)
    return;
  if (wfe_store_upsert(informer->store, obj, &change,
                       informer->handler_count ? &old_item : NULL) != 0) {
    /* Out of memory, or an object without a name: the cache misses it
     * until the next relist. */
    count(informer, &informer->stats.errors);
    return;
  }
  if (change == WFE_STORE_ADDED) {
    emit(informer, WFE_INFORMER_ADDED, obj, NULL, 0);
    update_objects_metric(informer);
  } else if (change == WFE_STORE_UPDATED) {
    json_object *old = NULL;
    if (old_item)
      wfe_store_item_parse(old_item, &old);
    emit(informer, WFE_INFORMER_UPDATED, obj, old, 0);
    json_object_put(old);
  }
  wfe_store_item_release(old_item);
}

static void apply_delete(struct wfe_informer *informer, json_object *obj)
{
  struct wfe_store_item *old_item = NULL;
  transform(informer, obj); /* the handlers see what they would have seen */
  if (wfe_store_remove(informer->store, obj, &old_item) != 0)
    return;
  if (old_item) {
    emit(informer, WFE_INFORMER_DELETED, obj, NULL, 0);
    update_objects_metric(informer);
    wfe_store_item_release(old_item);
  }
}

static void report_relist_deletion(void *ctx, struct wfe_store_item *item)
{
  struct wfe_informer *informer = ctx;
  json_object *last = NULL;
  if (!informer->handler_count || wfe_store_item_parse(item, &last) != 0)
    return;
  emit(informer, WFE_INFORMER_DELETED, last, NULL, 1);
  json_object_put(last);
}

/* --- List --------------------------------------------------------------- */

static int on_list_item(void *ctx, json_object *obj)
{
  struct wfe_informer *informer = ctx;
  if (informer->stop)
    return LIST_STOPPED;
  apply_upsert(informer, obj);
  return 0;
}

static int list(struct wfe_informer *informer, struct wfe_error *err)
{
  struct wfe_list_options options = {
      .label_selector = informer->label_selector,
      .field_selector = informer->field_selector,
      .limit = informer->page_size,
  };
  char *rv = NULL;
  wfe_store_relist_begin(informer->store);
  int rc = wfe_kube_list(informer->client, &informer->resource,
                         informer->namespace_name, &options, on_list_item,
                         informer, &rv, err);
  if (rc != 0) {
    free(rv);
    return rc;
  }
  wfe_store_relist_end(informer->store, report_relist_deletion, informer);
  update_objects_metric(informer);
  set_resource_version(informer, rv);
  free(rv);

  pthread_mutex_lock(&informer->mutex);
  informer->stats.lists++;
  int relist = informer->stats.lists > 1;
  if (relist)
    informer->stats.relists++;
  informer->synced = 1;
  pthread_cond_broadcast(&informer->cond);
  pthread_mutex_unlock(&informer->mutex);
  if (relist) {
    const char *labels[] = {informer->name};
    wfe_metric_add(informer->relists_metric, labels, 1);
  }
  informer->need_list = 0;
  informer->watch_after_list = 1;
  return 0;
}

/* --- Watch -------------------------------------------------------------- */

static int status_code(json_object *status)
{
  json_object *code;
  if (json_object_object_get_ex(status, "code", &code))
    return json_object_get_int(code);
  return 0;
}

static int on_watch_event(void *ctx, enum wfe_watch_event_type type,
                          json_object *obj)
{
  struct wfe_informer *informer = ctx;
  informer->watch_events++;
  switch (type) {
  case WFE_WATCH_ERROR:
    return status_code(obj) == 410 ? WATCH_EXPIRED : WATCH_FAILED;
  case WFE_WATCH_ADDED:
  case WFE_WATCH_MODIFIED:
    apply_upsert(informer, obj);
    break;
  case WFE_WATCH_DELETED:
    apply_delete(informer, obj);
    break;
  case WFE_WATCH_BOOKMARK:
    break;
  }
  /* Read after the store write: the transform leaves the RV alone. */
  set_resource_version(informer,
                       wfe_json_get_string(obj, "metadata.resourceVersion"));
  return 0;
}

/* One watch request. Returns 0 to watch again at once, WATCH_EXPIRED to
 * relist, or a failure (negative, or WATCH_FAILED) to back off. */
static int watch(struct wfe_informer *informer, struct wfe_error *err)
{
  struct wfe_buf rv = WFE_BUF_INIT;
  pthread_mutex_lock(&informer->mutex);
  int rc = wfe_buf_puts(&rv, wfe_buf_str(&informer->resource_version));
  pthread_mutex_unlock(&informer->mutex);
  if (rc != 0)
    return rc;

  if (!informer->watch_after_list) {
    count(informer, &informer->stats.watch_restarts);
    const char *labels[] = {informer->name};
    wfe_metric_add(informer->restarts_metric, labels, 1);
  }
  informer->watch_after_list = 0;
  informer->watch_events = 0;

  struct wfe_watch_options options = {
      .label_selector = informer->label_selector,
      .field_selector = informer->field_selector,
      .resource_version = rv.len ? wfe_buf_str(&rv) : NULL,
      .timeout_seconds = watch_timeout_s(informer),
      .idle_timeout_ms = informer->idle_timeout_ms,
      .allow_bookmarks = 1,
      .stop = &informer->stop,
  };
  int64_t started = wfe_monotonic_ms();
  rc = wfe_kube_watch(informer->client, &informer->resource,
                      informer->namespace_name, &options, on_watch_event,
                      informer, err);
  wfe_buf_free(&rv);
  if (rc == WFE_E_INVALID && err->http_status == 410)
    return WATCH_EXPIRED;
  if (rc == 0 && !informer->stop && informer->watch_events == 0 &&
      wfe_monotonic_ms() - started < SHORT_WATCH_MS)
    return WATCH_FAILED;
  return rc;
}

/* --- The reflector thread ----------------------------------------------- */

static void back_off(struct wfe_informer *informer)
{
  count(informer, &informer->stats.errors);
  sleep_ms(informer, wfe_backoff_next(&informer->backoff, wfe_monotonic_ms()));
}

static void *reflector_main(void *arg)
{
  struct wfe_informer *informer = arg;
  struct wfe_error err = WFE_ERROR_INIT;
  while (!informer->stop) {
    int rc;
    if (informer->need_list) {
      rc = list(informer, &err);
      wfe_error_clear(&err);
      if (rc == LIST_STOPPED)
        break;
      if (rc != 0) {
        back_off(informer);
        continue;
      }
    }
    rc = watch(informer, &err);
    wfe_error_clear(&err);
    if (informer->stop)
      break;
    if (rc == WATCH_EXPIRED)
      informer->need_list = 1;
    else if (rc != 0)
      back_off(informer);
  }
  pthread_mutex_lock(&informer->mutex);
  informer->running = 0;
  pthread_cond_broadcast(&informer->cond);
  pthread_mutex_unlock(&informer->mutex);
  return NULL;
}

/* --- Lifecycle ---------------------------------------------------------- */

static int copy_options(struct wfe_informer *informer,
                        const struct wfe_informer_options *options)
{
  const struct wfe_resource *res = &options->resource;
  if (dup_opt(res->api_version, &informer->api_version) ||
      dup_opt(res->resource, &informer->resource_name) ||
      dup_opt(options->namespace_name, &informer->namespace_name) ||
      dup_opt(options->label_selector, &informer->label_selector) ||
      dup_opt(options->field_selector, &informer->field_selector) ||
      dup_opt(options->name ? options->name : res->resource, &informer->name))
    return WFE_E_NOMEM;
  informer->resource.api_version = informer->api_version;
  informer->resource.resource = informer->resource_name;
  informer->resource.namespaced = res->namespaced;
  informer->page_size = options->page_size;
  informer->timeout_min_s =
      options->watch_timeout_min_s > 0 ? options->watch_timeout_min_s : 300;
  informer->timeout_max_s = options->watch_timeout_max_s > 0
                                ? options->watch_timeout_max_s
                                : informer->timeout_min_s * 2;
  if (informer->timeout_max_s < informer->timeout_min_s)
    informer->timeout_max_s = informer->timeout_min_s;
  informer->idle_timeout_ms = options->idle_timeout_ms;
  informer->transform = options->transform;
  informer->transform_ctx = options->transform_ctx;
  informer->keep_managed_fields = options->keep_managed_fields;

  wfe_backoff_init_reflector(&informer->backoff);
  if (options->backoff_base_ms > 0)
    informer->backoff.base_ms = options->backoff_base_ms;
  if (options->backoff_cap_ms > 0)
    informer->backoff.cap_ms = options->backoff_cap_ms;
  if (options->backoff_reset_ms > 0)
    informer->backoff.reset_after_ms = options->backoff_reset_ms;
  return 0;
}

static void register_metrics(struct wfe_informer *informer,
                             struct wfe_metrics *metrics)
{
  static const char *const label_names[] = {"resource"};
  if (!metrics)
    return;
  informer->relists_metric = wfe_metrics_counter(
      metrics, "wfe_informer_relists_total",
      "Lists after the first one (expired resourceVersion, failed list).",
      label_names, 1);
  informer->restarts_metric = wfe_metrics_counter(
      metrics, "wfe_informer_watch_restarts_total",
      "Watches resumed from a resourceVersion after a stream ended.",
      label_names, 1);
  informer->objects_metric =
      wfe_metrics_gauge(metrics, "wfe_informer_objects",
                        "Objects in the informer's cache.", label_names, 1);
}

int wfe_informer_new(struct wfe_kube_client *client,
                     const struct wfe_informer_options *options,
                     struct wfe_informer **out, struct wfe_error *err)
{
  *out = NULL;
  if (!client || !options || !options->resource.api_version ||
      !options->resource.resource)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidInformer", "resource",
                         "an informer needs a client and a resource");
  if (options->namespace_name && !options->resource.namespaced)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidInformer", "namespace",
                         "%s is cluster-scoped", options->resource.resource);

  struct wfe_informer *informer = calloc(1, sizeof(*informer));
  if (!informer)
    return wfe_error_set(err, WFE_E_NOMEM, 1, "OutOfMemory", NULL,
                         "out of memory");
  informer->client = client;
  pthread_mutex_init(&informer->mutex, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&informer->cond, &attr);
  pthread_condattr_destroy(&attr);
  informer->need_list = 1;

  struct wfe_store_options store_options = {.index_labels =
                                                options->index_labels};
  informer->store = wfe_store_new(&store_options);
  if (!informer->store || copy_options(informer, options) != 0) {
    int too_many = informer->store == NULL && options->index_labels;
    wfe_informer_free(informer);
    if (too_many)
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidInformer",
                           "index_labels", "more than %d index labels",
                           WFE_STORE_MAX_INDEX_LABELS);
    return wfe_error_set(err, WFE_E_NOMEM, 1, "OutOfMemory", NULL,
                         "out of memory");
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  informer->rand_state = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)now.tv_sec ^
                         (uintptr_t)informer;
  if (!informer->rand_state)
    informer->rand_state = 88172645463325252ull;
  register_metrics(informer, options->metrics);
  *out = informer;
  return 0;
}

void wfe_informer_free(struct wfe_informer *informer)
{
  if (!informer)
    return;
  wfe_informer_stop(informer);
  wfe_store_free(informer->store);
  free(informer->handlers);
  wfe_buf_free(&informer->resource_version);
  free(informer->api_version);
  free(informer->resource_name);
  free(informer->namespace_name);
  free(informer->label_selector);
  free(informer->field_selector);
  free(informer->name);
  pthread_cond_destroy(&informer->cond);
  pthread_mutex_destroy(&informer->mutex);
  free(informer);
}

int wfe_informer_add_handler(struct wfe_informer *informer,
                             wfe_informer_event_fn fn, void *ctx)
{
  if (!fn || informer->started)
    return WFE_E_INVALID;
  struct handler *handlers = realloc(
      informer->handlers, (informer->handler_count + 1) * sizeof(*handlers));
  if (!handlers)
    return WFE_E_NOMEM;
  handlers[informer->handler_count++] = (struct handler){fn, ctx};
  informer->handlers = handlers;
  return 0;
}

int wfe_informer_start(struct wfe_informer *informer, struct wfe_error *err)
{
  if (informer->joinable)
    return wfe_error_set(err, WFE_E_INVALID, 0, "AlreadyRunning", NULL,
                         "informer %s is already running", informer->name);
  informer->stop = 0;
  informer->started = 1;
  /* A resumed informer's first watch counts as a restart. */
  informer->watch_after_list = 0;
  pthread_mutex_lock(&informer->mutex);
  informer->running = 1;
  pthread_mutex_unlock(&informer->mutex);
  int rc = pthread_create(&informer->thread, NULL, reflector_main, informer);
  if (rc != 0) {
    pthread_mutex_lock(&informer->mutex);
    informer->running = 0;
    pthread_mutex_unlock(&informer->mutex);
    return wfe_error_set(err, WFE_E_NOMEM, 1, "ThreadFailed", NULL,
                         "cannot start the reflector of %s: %s", informer->name,
                         strerror(rc));
  }
  informer->joinable = 1;
  return 0;
}

void wfe_informer_stop(struct wfe_informer *informer)
{
  if (!informer->joinable)
    return;
  pthread_mutex_lock(&informer->mutex);
  informer->stop = 1;
  pthread_cond_broadcast(&informer->cond);
  pthread_mutex_unlock(&informer->mutex);
  pthread_join(informer->thread, NULL);
  informer->joinable = 0;
}

int wfe_informer_has_synced(struct wfe_informer *informer)
{
  pthread_mutex_lock(&informer->mutex);
  int synced = informer->synced;
  pthread_mutex_unlock(&informer->mutex);
  return synced;
}

int wfe_informer_wait_synced(struct wfe_informer *informer, long timeout_ms)
{
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  if (timeout_ms >= 0) {
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
  }
  int timed_out = 0;
  pthread_mutex_lock(&informer->mutex);
  while (!informer->synced && informer->running && !timed_out) {
    if (timeout_ms < 0)
      pthread_cond_wait(&informer->cond, &informer->mutex);
    else
      timed_out = pthread_cond_timedwait(&informer->cond, &informer->mutex,
                                         &deadline) != 0;
  }
  int synced = informer->synced;
  pthread_mutex_unlock(&informer->mutex);
  return synced ? 0 : WFE_E_UNAVAILABLE;
}

struct wfe_store *wfe_informer_store(struct wfe_informer *informer)
{
  return informer->store;
}

void wfe_informer_get_stats(struct wfe_informer *informer,
                            struct wfe_informer_stats *out)
{
  pthread_mutex_lock(&informer->mutex);
  *out = informer->stats;
  pthread_mutex_unlock(&informer->mutex);
}

int wfe_informer_resource_version(struct wfe_informer *informer,
                                  struct wfe_buf *out)
{
  pthread_mutex_lock(&informer->mutex);
  int rc = wfe_buf_puts(out, wfe_buf_str(&informer->resource_version));
  pthread_mutex_unlock(&informer->mutex);
  return rc;
}

int wfe_informer_set_resource_version(struct wfe_informer *informer,
                                      const char *resource_version)
{
  if (informer->joinable || !resource_version)
    return WFE_E_INVALID;
  pthread_mutex_lock(&informer->mutex);
  wfe_buf_clear(&informer->resource_version);
  int rc = wfe_buf_puts(&informer->resource_version, resource_version);
  pthread_mutex_unlock(&informer->mutex);
  return rc;
}

/* --- Keys --------------------------------------------------------------- */

int wfe_informer_strip_managed_fields(void *ctx, json_object *obj)
{
  json_object *metadata;
  if (json_object_object_get_ex(obj, "metadata", &metadata))
    json_object_object_del(metadata, "managedFields");
  return 0;
}

static int append_key(const char *namespace_name, const char *name,
                      struct wfe_buf *out)
{
  if (!name || !*name)
    return WFE_E_INVALID;
  if (namespace_name && *namespace_name)
    return wfe_buf_printf(out, "%s/%s", namespace_name, name);
  return wfe_buf_puts(out, name);
}

int wfe_object_key(json_object *obj, struct wfe_buf *out)
{
  return append_key(wfe_json_get_string(obj, "metadata.namespace"),
                    wfe_json_get_string(obj, "metadata.name"), out);
}

/* A label's or, failing that, an annotation's value. Keys hold dots and
 * slashes, so no dotted-path lookup. */
static const char *metadata_value(json_object *obj, const char *key)
{
  static const char *const sections[] = {"labels", "annotations"};
  json_object *metadata = wfe_json_get(obj, "metadata"), *map, *value;
  for (size_t i = 0; i < 2; i++) {
    if (json_object_object_get_ex(metadata, sections[i], &map) &&
        json_object_object_get_ex(map, key, &value) &&
        json_object_is_type(value, json_type_string))
      return json_object_get_string(value);
  }
  return NULL;
}

int wfe_object_key_from_metadata(json_object *obj, const char *namespace_key,
                                 const char *name_key, struct wfe_buf *out)
{
  const char *name = metadata_value(obj, name_key);
  const char *ns = namespace_key
                       ? metadata_value(obj, namespace_key)
                       : wfe_json_get_string(obj, "metadata.namespace");
  if (!name || !*name || (namespace_key && (!ns || !*ns)))
    return WFE_E_NOT_FOUND;
  return append_key(ns, name, out);
}

int wfe_object_owner_key(json_object *obj, const char *owner_kind,
                         struct wfe_buf *out)
{
  json_object *refs = wfe_json_get(obj, "metadata.ownerReferences");
  if (!json_object_is_type(refs, json_type_array))
    return WFE_E_NOT_FOUND;
  for (size_t i = 0; i < json_object_array_length(refs); i++) {
    json_object *ref = json_object_array_get_idx(refs, i), *controller;
    const char *kind = wfe_json_get_string(ref, "kind");
    if (!json_object_object_get_ex(ref, "controller", &controller) ||
        !json_object_get_boolean(controller) || !kind ||
        strcmp(kind, owner_kind) != 0)
      continue;
    return append_key(wfe_json_get_string(obj, "metadata.namespace"),
                      wfe_json_get_string(ref, "name"), out);
  }
  return WFE_E_NOT_FOUND;
}

static int map_key(const struct wfe_informer_keys *keys, json_object *obj,
                   struct wfe_buf *key)
{
  wfe_buf_clear(key);
  if (keys->map)
    return keys->map(keys->map_ctx, obj, key);
  return wfe_object_key(obj, key);
}

void wfe_informer_keys_on_event(void *ctx, enum wfe_informer_event_type type,
                                json_object *obj, json_object *old,
                                int final_state_unknown)
{
  const struct wfe_informer_keys *keys = ctx;
  struct wfe_buf key = WFE_BUF_INIT, old_key = WFE_BUF_INIT;
  int have_key = map_key(keys, obj, &key) == 0 && key.len;
  if (have_key)
    keys->enqueue(keys->enqueue_ctx, wfe_buf_str(&key));
  if (type == WFE_INFORMER_UPDATED && old &&
      map_key(keys, old, &old_key) == 0 && old_key.len &&
      (!have_key || strcmp(wfe_buf_str(&key), wfe_buf_str(&old_key)) != 0))
    keys->enqueue(keys->enqueue_ctx, wfe_buf_str(&old_key));
  wfe_buf_free(&key);
  wfe_buf_free(&old_key);
}
