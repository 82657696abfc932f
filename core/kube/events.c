/*
 * The Event recorder; see events.h. Callers update an aggregation cache
 * under a lock and queue the series that changed; one thread writes them.
 * A series already queued is not queued twice: however many repeats arrive
 * before the thread gets to it, it costs one write carrying the last count.
 */
#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "json_util.h"
#include "kube_client.h"
#include "leader.h" /* MicroTime formatting */
#include "metrics.h"

static const struct wfe_resource event_resource = {"events.k8s.io/v1", "events",
                                                   1};

#define HASH_BUCKETS 1024
#define NAME_MAX_LEN 253     /* a DNS subdomain */
#define INSTANCE_MAX_LEN 128 /* reportingInstance validation limit */

/* One aggregated series: an Event and its repeats. */
struct series {
  char *key;
  uint64_t hash;
  char *namespace_name;
  char *object_name;
  json_object *regarding; /* ObjectReference; owned */
  char *type;
  char *reason;
  char *note;
  char *event_name; /* NULL until created */
  int64_t first_us; /* wall clock, for eventTime */
  int64_t last_us;  /* wall clock, for series.lastObservedTime */
  int64_t last_ms;  /* monotonic, for the window */
  int32_t count;    /* occurrences recorded */
  int32_t written;  /* occurrences the API holds; 0: not created */
  int pending;      /* in the queue */
  int busy;         /* being written */
  struct series *hash_next;
  struct series *queue_next;
};

struct wfe_event_recorder {
  struct wfe_kube_client *client;
  struct wfe_event_sink sink;
  char *controller;
  char *instance;
  size_t queue_size;
  size_t cache_size;
  long window_ms;
  long shutdown_timeout_ms;
  int (*gate)(void *gate_ctx);
  void *gate_ctx;
  struct wfe_metric *dropped_counter;

  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t work;  /* the queue got an entry, or stopping */
  pthread_cond_t idle;  /* the queue drained */
  pthread_t thread;
  int thread_started;
  int writing; /* the thread is writing a series */
  int stopping;
  int64_t stop_deadline_ms;
  struct series *buckets[HASH_BUCKETS];
  size_t series_count;
  struct series *queue_head;
  struct series *queue_tail;
  size_t queue_len;
  uint64_t dropped;
  struct wfe_error last_error; /* the latest failed write */
  int64_t last_name_ns;        /* keeps generated names unique */
};

/* ------------------------------------------------------------------------
 * Pure parts */

char *wfe_event_note(const char *message)
{
  struct wfe_buf note = WFE_BUF_INIT;
  if (wfe_buf_append_cut(&note, message ? message : "", WFE_EVENT_NOTE_MAX,
                         NULL)) {
    wfe_buf_free(&note);
    return NULL;
  }
  return wfe_buf_steal(&note);
}

/* A reference member, from an ObjectReference or from an object's
 * metadata. */
static const char *ref_get(json_object *obj, const char *key)
{
  json_object *meta = json_object_object_get(obj, "metadata");
  if (meta && strcmp(key, "apiVersion") != 0 && strcmp(key, "kind") != 0)
    return wfe_json_get_string(meta, key);
  return wfe_json_get_string(obj, key);
}

static const char *const ref_keys[] = {"apiVersion", "kind", "namespace",
                                       "name",       "uid",  "resourceVersion"};

int wfe_event_key(json_object *involved_object, const char *type,
                  const char *reason, const char *note, struct wfe_buf *out)
{
  const char *kind = ref_get(involved_object, "kind");
  const char *name = ref_get(involved_object, "name");
  if (!kind || !*kind || !name || !*name)
    return WFE_E_INVALID;
  const char *uid = ref_get(involved_object, "uid");
  const char *api_version = ref_get(involved_object, "apiVersion");
  const char *namespace_name = ref_get(involved_object, "namespace");
  int rc;
  /* The uid tells a recreated object from its namesake; without one the
   * full name has to do. Unit separators keep fields from running into
   * each other. */
  if (uid && *uid)
    rc = wfe_buf_printf(out, "uid:%s", uid);
  else
    rc = wfe_buf_printf(out, "ref:%s\x1f%s\x1f%s\x1f%s",
                        api_version ? api_version : "", kind,
                        namespace_name ? namespace_name : "", name);
  if (!rc)
    rc = wfe_buf_printf(out, "\x1f%s\x1f%s\x1f%s", type ? type : "",
                        reason ? reason : "", note ? note : "");
  return rc;
}

static uint64_t hash_key(const char *key)
{
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
    h ^= *p;
    h *= 1099511628211ULL;
  }
  return h;
}

/* ------------------------------------------------------------------------
 * The default sink: the API server */

static int api_create(void *ctx, const char *namespace_name, json_object *event,
                      struct wfe_error *err)
{
  json_object *created = NULL;
  int rc = wfe_kube_create(ctx, &event_resource, namespace_name, event,
                           &created, err);
  json_object_put(created);
  return rc;
}

static int api_patch(void *ctx, const char *namespace_name, const char *name,
                     const char *merge_patch, struct wfe_error *err)
{
  json_object *patched = NULL;
  int rc = wfe_kube_patch(ctx, &event_resource, namespace_name, name, NULL,
                          WFE_PATCH_MERGE, merge_patch, &patched, err);
  json_object_put(patched);
  return rc;
}

/* ------------------------------------------------------------------------
 * The cache */

static void series_free(struct series *s)
{
  if (!s)
    return;
  free(s->key);
  free(s->namespace_name);
  free(s->object_name);
  json_object_put(s->regarding);
  free(s->type);
  free(s->reason);
  free(s->note);
  free(s->event_name);
  free(s);
}

static struct series *cache_find(struct wfe_event_recorder *r, const char *key,
                                 uint64_t hash)
{
  for (struct series *s = r->buckets[hash % HASH_BUCKETS]; s; s = s->hash_next)
    if (s->hash == hash && strcmp(s->key, key) == 0)
      return s;
  return NULL;
}

static void cache_remove(struct wfe_event_recorder *r, struct series *victim)
{
  struct series **link = &r->buckets[victim->hash % HASH_BUCKETS];
  while (*link && *link != victim)
    link = &(*link)->hash_next;
  if (*link)
    *link = victim->hash_next;
  r->series_count--;
  series_free(victim);
}

/* Makes room for one series by forgetting the one idle longest. Returns 0,
 * or -1 when every series is still queued or being written. */
static int cache_make_room(struct wfe_event_recorder *r)
{
  if (r->series_count < r->cache_size)
    return 0;
  struct series *oldest = NULL;
  for (size_t b = 0; b < HASH_BUCKETS; b++)
    for (struct series *s = r->buckets[b]; s; s = s->hash_next)
      if (!s->pending && !s->busy && (!oldest || s->last_ms < oldest->last_ms))
        oldest = s;
  if (!oldest)
    return -1;
  cache_remove(r, oldest);
  return 0;
}

static struct series *series_new(json_object *involved_object, const char *type,
                                 const char *reason, char *note, char *key,
                                 uint64_t hash)
{
  struct series *s = calloc(1, sizeof(*s));
  if (!s)
    return NULL;
  s->key = key;
  s->hash = hash;
  s->note = note;
  s->type = strdup(type);
  s->reason = strdup(reason);
  const char *namespace_name = ref_get(involved_object, "namespace");
  /* Events about cluster-scoped objects go to "default", as client-go's. */
  s->namespace_name =
      strdup(namespace_name && *namespace_name ? namespace_name : "default");
  s->object_name = strdup(ref_get(involved_object, "name"));
  s->regarding = json_object_new_object();
  if (s->regarding)
    for (size_t i = 0; i < sizeof(ref_keys) / sizeof(ref_keys[0]); i++) {
      const char *value = ref_get(involved_object, ref_keys[i]);
      if (value && *value)
        json_object_object_add(s->regarding, ref_keys[i],
                               json_object_new_string(value));
    }
  if (!s->type || !s->reason || !s->namespace_name || !s->object_name ||
      !s->regarding) {
    s->key = NULL; /* the caller still owns key and note on failure */
    s->note = NULL;
    series_free(s);
    return NULL;
  }
  return s;
}

static void drop_locked(struct wfe_event_recorder *r)
{
  r->dropped++;
  wfe_metric_add(r->dropped_counter, NULL, 1);
}

static void enqueue_locked(struct wfe_event_recorder *r, struct series *s)
{
  s->pending = 1;
  s->queue_next = NULL;
  if (r->queue_tail)
    r->queue_tail->queue_next = s;
  else
    r->queue_head = s;
  r->queue_tail = s;
  r->queue_len++;
  pthread_cond_signal(&r->work);
}

int wfe_event_record(struct wfe_event_recorder *recorder,
                     json_object *involved_object, const char *type,
                     const char *reason, const char *message)
{
  if (!recorder || !involved_object || !type ||
      (strcmp(type, "Normal") != 0 && strcmp(type, "Warning") != 0) ||
      !reason || !*reason || strlen(reason) > 128)
    return WFE_E_INVALID;
  char *note = wfe_event_note(message);
  struct wfe_buf key = WFE_BUF_INIT;
  if (!note) {
    return WFE_E_NOMEM;
  }
  int rc = wfe_event_key(involved_object, type, reason, note, &key);
  if (rc) {
    free(note);
    wfe_buf_free(&key);
    return rc;
  }
  uint64_t hash = hash_key(wfe_buf_str(&key));
  int64_t now_ms = wfe_monotonic_ms();
  int64_t now_us = wfe_microtime_now();

  pthread_mutex_lock(&recorder->lock);
  struct series *s = cache_find(recorder, wfe_buf_str(&key), hash);
  int queue_full = recorder->queue_len >= recorder->queue_size;
  rc = 0;
  if (recorder->stopping || ((!s || !s->pending) && queue_full)) {
    drop_locked(recorder);
    rc = WFE_E_UNAVAILABLE;
  } else if (s && (s->pending || s->busy ||
                   now_ms - s->last_ms <= recorder->window_ms)) {
    /* A repeat: the series grows, one queued write carries it. */
    s->count++;
    s->last_us = now_us;
    s->last_ms = now_ms;
    if (!s->pending)
      enqueue_locked(recorder, s);
  } else if (s) {
    /* The window passed: a new Event, as if never seen. */
    free(s->event_name);
    s->event_name = NULL;
    s->count = 1;
    s->written = 0;
    s->first_us = s->last_us = now_us;
    s->last_ms = now_ms;
    enqueue_locked(recorder, s);
  } else if (cache_make_room(recorder) != 0) {
    drop_locked(recorder);
    rc = WFE_E_UNAVAILABLE;
  } else {
    s = series_new(involved_object, type, reason, note, wfe_buf_steal(&key),
                   hash);
    if (!s) {
      rc = WFE_E_NOMEM;
    } else {
      note = NULL; /* owned by the series now */
      s->count = 1;
      s->first_us = s->last_us = now_us;
      s->last_ms = now_ms;
      struct series **bucket = &recorder->buckets[hash % HASH_BUCKETS];
      s->hash_next = *bucket;
      *bucket = s;
      recorder->series_count++;
      enqueue_locked(recorder, s);
    }
  }
  pthread_mutex_unlock(&recorder->lock);
  free(note);
  wfe_buf_free(&key);
  return rc;
}

/* ------------------------------------------------------------------------
 * The writer thread */

/* What the thread writes, copied under the lock. */
struct snapshot {
  int32_t count;
  int32_t written;
  int64_t first_us;
  int64_t last_us;
  char *event_name;
};

static void add_string(json_object *obj, const char *key, const char *value)
{
  json_object_object_add(obj, key, json_object_new_string(value));
}

static json_object *series_json(const struct series *s, int64_t last_us,
                                int32_t count)
{
  char last[WFE_MICROTIME_LEN + 1];
  wfe_microtime_format(last_us, last, sizeof(last));
  json_object *series = json_object_new_object();
  json_object_object_add(series, "count", json_object_new_int(count));
  add_string(series, "lastObservedTime", last);
  return series;
}

static json_object *event_json(struct wfe_event_recorder *r,
                               const struct series *s, const char *name,
                               const struct snapshot *snap)
{
  char first[WFE_MICROTIME_LEN + 1];
  wfe_microtime_format(snap->first_us, first, sizeof(first));
  json_object *event = json_object_new_object();
  json_object *meta = json_object_new_object();
  add_string(event, "apiVersion", "events.k8s.io/v1");
  add_string(event, "kind", "Event");
  add_string(meta, "name", name);
  add_string(meta, "namespace", s->namespace_name);
  json_object_object_add(event, "metadata", meta);
  add_string(event, "eventTime", first);
  add_string(event, "reportingController", r->controller);
  add_string(event, "reportingInstance", r->instance);
  add_string(event, "action", s->reason);
  add_string(event, "reason", s->reason);
  add_string(event, "type", s->type);
  add_string(event, "note", s->note);
  json_object_object_add(event, "regarding", json_object_get(s->regarding));
  if (snap->count > 1)
    json_object_object_add(event, "series",
                           series_json(s, snap->last_us, snap->count));
  return event;
}

/* "<object name>.<hex nanoseconds>", client-go's naming, unique per
 * recorder even within one nanosecond. */
static char *event_name(struct wfe_event_recorder *r, const struct series *s)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  pthread_mutex_lock(&r->lock);
  if (ns <= r->last_name_ns)
    ns = r->last_name_ns + 1;
  r->last_name_ns = ns;
  pthread_mutex_unlock(&r->lock);
  size_t prefix = strlen(s->object_name);
  if (prefix > NAME_MAX_LEN - 17)
    prefix = NAME_MAX_LEN - 17;
  while (prefix > 0 && (s->object_name[prefix - 1] == '.' ||
                        s->object_name[prefix - 1] == '-'))
    prefix--;
  struct wfe_buf name = WFE_BUF_INIT;
  if (wfe_buf_printf(&name, "%.*s.%llx", (int)prefix, s->object_name,
                     (unsigned long long)ns)) {
    wfe_buf_free(&name);
    return NULL;
  }
  return wfe_buf_steal(&name);
}

static int write_create(struct wfe_event_recorder *r, const struct series *s,
                        struct snapshot *snap, struct wfe_error *err)
{
  for (int attempt = 0; attempt < 3; attempt++) {
    char *name = event_name(r, s);
    if (!name)
      return WFE_E_NOMEM;
    json_object *event = event_json(r, s, name, snap);
    wfe_error_clear(err);
    int rc = event ? r->sink.create(r->sink.ctx, s->namespace_name, event, err)
                   : WFE_E_NOMEM;
    int clash = rc && err->reason && strcmp(err->reason, "AlreadyExists") == 0;
    json_object_put(event);
    if (!rc) {
      free(snap->event_name);
      snap->event_name = name;
      return 0;
    }
    free(name);
    if (!clash)
      return rc;
  }
  return WFE_E_UNAVAILABLE;
}

static int write_patch(struct wfe_event_recorder *r, const struct series *s,
                       struct snapshot *snap, struct wfe_error *err)
{
  json_object *patch = json_object_new_object();
  if (!patch)
    return WFE_E_NOMEM;
  json_object_object_add(patch, "series",
                         series_json(s, snap->last_us, snap->count));
  int rc = r->sink.patch(
      r->sink.ctx, s->namespace_name, snap->event_name,
      json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN |
                                                JSON_C_TO_STRING_NOSLASHESCAPE),
      err);
  json_object_put(patch);
  if (rc == WFE_E_NOT_FOUND) {
    /* Events expire (one hour by default): start a new one, counting the
     * occurrences since the first. */
    return write_create(r, s, snap, err);
  }
  return rc;
}

/* Writes one series; called without the lock, the series marked busy. */
static int write_series(struct wfe_event_recorder *r, const struct series *s,
                        struct snapshot *snap, struct wfe_error *err)
{
  if (r->gate && !r->gate(r->gate_ctx))
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 0, "NotLeader", NULL,
                         "not the leader: event dropped");
  if (snap->written == 0 || !snap->event_name)
    return write_create(r, s, snap, err);
  return write_patch(r, s, snap, err);
}

static void *writer_main(void *arg)
{
  struct wfe_event_recorder *r = arg;
  pthread_mutex_lock(&r->lock);
  for (;;) {
    while (!r->queue_head && !r->stopping)
      pthread_cond_wait(&r->work, &r->lock);
    if (!r->queue_head)
      break; /* stopping and drained */
    struct series *s = r->queue_head;
    r->queue_head = s->queue_next;
    if (!r->queue_head)
      r->queue_tail = NULL;
    r->queue_len--;
    s->pending = 0;
    if (r->stopping && wfe_monotonic_ms() >= r->stop_deadline_ms) {
      drop_locked(r); /* out of time: give up what is left */
      continue;
    }
    s->busy = 1;
    r->writing = 1;
    struct snapshot snap = {s->count, s->written, s->first_us, s->last_us,
                            s->event_name ? strdup(s->event_name) : NULL};
    pthread_mutex_unlock(&r->lock);
    struct wfe_error err = WFE_ERROR_INIT;
    int rc = write_series(r, s, &snap, &err);
    pthread_mutex_lock(&r->lock);
    if (rc) {
      /* Keep the latest failure for wfe_event_recorder_last_error. */
      wfe_error_clear(&r->last_error);
      r->last_error = err;
    } else {
      wfe_error_clear(&err);
    }
    s->busy = 0;
    r->writing = 0;
    if (rc) {
      drop_locked(r);
    } else {
      /* A series being written only grows (record() treats it as a
       * repeat), so what this write made true still holds. */
      s->written = snap.count;
      free(s->event_name);
      s->event_name = snap.event_name;
      snap.event_name = NULL;
    }
    free(snap.event_name);
    if (!r->queue_head)
      pthread_cond_broadcast(&r->idle);
  }
  pthread_cond_broadcast(&r->idle);
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

/* ------------------------------------------------------------------------
 * Life cycle */

int wfe_event_recorder_new(struct wfe_kube_client *client,
                           const struct wfe_event_recorder_options *options,
                           struct wfe_event_recorder **out,
                           struct wfe_error *err)
{
  static const struct wfe_event_recorder_options defaults = {0};
  if (!options)
    options = &defaults;
  if (!out || (!client && !options->sink))
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "the event recorder needs a client or a sink");
  struct wfe_event_recorder *r = calloc(1, sizeof(*r));
  if (!r)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  r->client = client;
  if (options->sink) {
    r->sink = *options->sink;
  } else {
    r->sink.create = api_create;
    r->sink.patch = api_patch;
    r->sink.ctx = client;
  }
  r->controller =
      strdup(options->reporting_controller ? options->reporting_controller
                                           : "wfe-controller");
  char host[256] = "unknown";
  if (!options->reporting_instance && gethostname(host, sizeof(host)) != 0)
    snprintf(host, sizeof(host), "unknown");
  host[sizeof(host) - 1] = '\0';
  r->instance =
      strndup(options->reporting_instance ? options->reporting_instance : host,
              INSTANCE_MAX_LEN);
  r->queue_size = options->queue_size ? options->queue_size : 1000;
  r->cache_size = options->cache_size ? options->cache_size : 4096;
  if (r->cache_size < r->queue_size)
    r->cache_size = r->queue_size; /* every queued series must fit */
  r->window_ms = options->aggregation_window_ms ? options->aggregation_window_ms
                                                : 6 * 60 * 1000;
  r->shutdown_timeout_ms =
      options->shutdown_timeout_ms ? options->shutdown_timeout_ms : 5000;
  r->gate = options->gate;
  r->gate_ctx = options->gate_ctx;
  if (options->metrics)
    r->dropped_counter = wfe_metrics_counter(
        options->metrics, "event_recorder_dropped_total",
        "Kubernetes Events dropped: queue full, shutting down, not the "
        "leader, or refused by the API server.",
        NULL, 0);
  if (!r->controller || !r->instance) {
    free(r->controller);
    free(r->instance);
    free(r);
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  pthread_mutex_init(&r->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&r->work, &attr);
  pthread_cond_init(&r->idle, &attr);
  pthread_condattr_destroy(&attr);
  if (pthread_create(&r->thread, NULL, writer_main, r)) {
    wfe_event_recorder_free(r);
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "ThreadFailed", NULL,
                         "cannot start the event recorder thread");
  }
  r->thread_started = 1;
  *out = r;
  return 0;
}

/* Waits, with the lock held, until nothing is queued or being written. */
static int wait_idle_locked(struct wfe_event_recorder *r, int64_t deadline_ms)
{
  while (r->queue_head || r->writing) {
    if (wfe_monotonic_ms() >= deadline_ms)
      return WFE_E_UNAVAILABLE;
    struct timespec ts = {(time_t)(deadline_ms / 1000),
                          (long)(deadline_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&r->idle, &r->lock, &ts);
  }
  return 0;
}

int wfe_event_recorder_flush(struct wfe_event_recorder *recorder,
                             long timeout_ms)
{
  if (!recorder)
    return 0;
  pthread_mutex_lock(&recorder->lock);
  int rc = wait_idle_locked(recorder, wfe_monotonic_ms() + timeout_ms);
  pthread_mutex_unlock(&recorder->lock);
  return rc;
}

uint64_t wfe_event_recorder_dropped(struct wfe_event_recorder *recorder)
{
  if (!recorder)
    return 0;
  pthread_mutex_lock(&recorder->lock);
  uint64_t dropped = recorder->dropped;
  pthread_mutex_unlock(&recorder->lock);
  return dropped;
}

int wfe_event_recorder_last_error(struct wfe_event_recorder *recorder,
                                  struct wfe_error *out)
{
  if (!recorder)
    return 0;
  pthread_mutex_lock(&recorder->lock);
  struct wfe_error *last = &recorder->last_error;
  int code = last->code;
  if (code)
    wfe_error_set(out, last->code, last->retryable, last->reason, last->field,
                  "%s", wfe_error_message(last));
  if (out && code)
    out->http_status = last->http_status;
  pthread_mutex_unlock(&recorder->lock);
  return code;
}

void wfe_event_recorder_free(struct wfe_event_recorder *recorder)
{
  if (!recorder)
    return;
  if (recorder->thread_started) {
    pthread_mutex_lock(&recorder->lock);
    recorder->stopping = 1;
    recorder->stop_deadline_ms =
        wfe_monotonic_ms() + recorder->shutdown_timeout_ms;
    pthread_cond_broadcast(&recorder->work);
    pthread_mutex_unlock(&recorder->lock);
    /* The thread drains the queue until the deadline, then drops the rest;
     * a request in flight ends within the client's request timeout. */
    pthread_join(recorder->thread, NULL);
  }
  for (size_t b = 0; b < HASH_BUCKETS; b++) {
    struct series *s = recorder->buckets[b];
    while (s) {
      struct series *next = s->hash_next;
      series_free(s);
      s = next;
    }
  }
  wfe_error_clear(&recorder->last_error);
  pthread_mutex_destroy(&recorder->lock);
  pthread_cond_destroy(&recorder->work);
  pthread_cond_destroy(&recorder->idle);
  free(recorder->controller);
  free(recorder->instance);
  free(recorder);
}
