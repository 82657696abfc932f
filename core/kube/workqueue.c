/*
 * The work queue; see workqueue.h. One record per known key lives in a hash
 * table while the key is queued, in processing, waiting for a deadline or
 * carrying a failure count. The ready keys form a FIFO through the records,
 * the delayed ones a min-heap of deadlines. One mutex guards it all; getters
 * wait on `ready_cond` (with a deadline when keys are delayed) and drains on
 * `idle_cond`, both on the monotonic clock.
 */
#include "workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "metrics.h"
#include "status.h"

#define NOT_IN_HEAP SIZE_MAX

struct entry {
  char *key;
  uint64_t hash;
  struct entry *chain;      /* hash bucket */
  struct entry *ready_next; /* FIFO of ready keys */
  /* client-go's "dirty": needs processing (queued, or re-added while in
   * processing). Queued = dirty && !processing. */
  int dirty;
  int processing;
  size_t heap_index; /* NOT_IN_HEAP unless waiting for a deadline */
  int64_t deadline_ns;
  unsigned failures;  /* add_rate_limited since forget */
  int64_t added_ns;   /* when it became dirty */
  int64_t started_ns; /* when handed out */
};

struct queue_metrics {
  const char *labels[1]; /* { name } */
  struct wfe_metric *depth;
  struct wfe_metric *adds;
  struct wfe_metric *queue_duration;
  struct wfe_metric *work_duration;
  struct wfe_metric *retries;
  struct wfe_metric *unfinished;
  struct wfe_metric *longest;
};

struct wfe_workqueue {
  pthread_mutex_t lock;
  pthread_cond_t ready_cond;
  pthread_cond_t idle_cond;

  struct entry **table;
  size_t table_size; /* a power of two */
  size_t entry_count;

  struct entry *ready_head;
  struct entry *ready_tail;
  size_t ready_len;

  struct entry **heap;
  size_t heap_len;
  size_t heap_cap;

  size_t processing;
  int shutting_down;

  int64_t base_delay_ms;
  int64_t max_delay_ms;
  struct wfe_token_bucket bucket;

  char *name;
  struct wfe_metrics *registry;
  struct queue_metrics metrics;
};

static const double duration_buckets[] = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4,
                                          1e-3, 1e-2, 1e-1, 1,    10};

/* --- Hash table ---------------------------------------------------------- */

static uint64_t hash_key(const char *key)
{
  uint64_t hash = 0xcbf29ce484222325ULL; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)key; *p; p++)
    hash = (hash ^ *p) * 0x100000001b3ULL;
  return hash;
}

static struct entry *lookup(struct wfe_workqueue *queue, const char *key)
{
  uint64_t hash = hash_key(key);
  struct entry *entry = queue->table[hash & (queue->table_size - 1)];
  for (; entry; entry = entry->chain)
    if (entry->hash == hash && strcmp(entry->key, key) == 0)
      return entry;
  return NULL;
}

static int table_grow(struct wfe_workqueue *queue)
{
  size_t size = queue->table_size * 2;
  struct entry **table = calloc(size, sizeof(*table));
  if (!table)
    return WFE_E_NOMEM;
  for (size_t i = 0; i < queue->table_size; i++) {
    struct entry *entry = queue->table[i];
    while (entry) {
      struct entry *next = entry->chain;
      size_t slot = entry->hash & (size - 1);
      entry->chain = table[slot];
      table[slot] = entry;
      entry = next;
    }
  }
  free(queue->table);
  queue->table = table;
  queue->table_size = size;
  return 0;
}

static struct entry *lookup_or_create(struct wfe_workqueue *queue,
                                      const char *key)
{
  struct entry *entry = lookup(queue, key);
  if (entry)
    return entry;
  /* A full table only slows down; growing is best effort. */
  if (queue->entry_count >= queue->table_size)
    (void)table_grow(queue);
  entry = calloc(1, sizeof(*entry));
  if (!entry)
    return NULL;
  entry->key = strdup(key);
  if (!entry->key) {
    free(entry);
    return NULL;
  }
  entry->hash = hash_key(key);
  entry->heap_index = NOT_IN_HEAP;
  size_t slot = entry->hash & (queue->table_size - 1);
  entry->chain = queue->table[slot];
  queue->table[slot] = entry;
  queue->entry_count++;
  return entry;
}

/* Drops the record once nothing refers to the key any more. */
static void release_if_unused(struct wfe_workqueue *queue, struct entry *entry)
{
  if (entry->dirty || entry->processing || entry->heap_index != NOT_IN_HEAP ||
      entry->failures)
    return;
  struct entry **link = &queue->table[entry->hash & (queue->table_size - 1)];
  while (*link != entry)
    link = &(*link)->chain;
  *link = entry->chain;
  queue->entry_count--;
  free(entry->key);
  free(entry);
}

/* --- Delayed keys: a binary min-heap on deadline_ns ----------------------- */

static void heap_place(struct wfe_workqueue *queue, size_t index,
                       struct entry *entry)
{
  queue->heap[index] = entry;
  entry->heap_index = index;
}

static void heap_sift_up(struct wfe_workqueue *queue, size_t index)
{
  struct entry *entry = queue->heap[index];
  while (index > 0) {
    size_t parent = (index - 1) / 2;
    if (queue->heap[parent]->deadline_ns <= entry->deadline_ns)
      break;
    heap_place(queue, index, queue->heap[parent]);
    index = parent;
  }
  heap_place(queue, index, entry);
}

static void heap_sift_down(struct wfe_workqueue *queue, size_t index)
{
  struct entry *entry = queue->heap[index];
  for (;;) {
    size_t child = 2 * index + 1;
    if (child >= queue->heap_len)
      break;
    if (child + 1 < queue->heap_len &&
        queue->heap[child + 1]->deadline_ns < queue->heap[child]->deadline_ns)
      child++;
    if (entry->deadline_ns <= queue->heap[child]->deadline_ns)
      break;
    heap_place(queue, index, queue->heap[child]);
    index = child;
  }
  heap_place(queue, index, entry);
}

static int heap_push(struct wfe_workqueue *queue, struct entry *entry)
{
  if (queue->heap_len == queue->heap_cap) {
    size_t cap = queue->heap_cap ? queue->heap_cap * 2 : 16;
    struct entry **heap = realloc(queue->heap, cap * sizeof(*heap));
    if (!heap)
      return WFE_E_NOMEM;
    queue->heap = heap;
    queue->heap_cap = cap;
  }
  queue->heap[queue->heap_len] = entry;
  entry->heap_index = queue->heap_len++;
  heap_sift_up(queue, entry->heap_index);
  return 0;
}

static struct entry *heap_pop(struct wfe_workqueue *queue)
{
  struct entry *top = queue->heap[0];
  top->heap_index = NOT_IN_HEAP;
  queue->heap_len--;
  if (queue->heap_len) {
    queue->heap[0] = queue->heap[queue->heap_len];
    heap_sift_down(queue, 0);
  }
  return top;
}

/* --- Core operations, called with the lock held -------------------------- */

static void depth_changed(struct wfe_workqueue *queue)
{
  wfe_metric_set(queue->metrics.depth, queue->metrics.labels,
                 (double)queue->ready_len);
}

static void push_ready(struct wfe_workqueue *queue, struct entry *entry)
{
  entry->ready_next = NULL;
  if (queue->ready_tail)
    queue->ready_tail->ready_next = entry;
  else
    queue->ready_head = entry;
  queue->ready_tail = entry;
  queue->ready_len++;
  depth_changed(queue);
  pthread_cond_signal(&queue->ready_cond);
}

static struct entry *pop_ready(struct wfe_workqueue *queue)
{
  struct entry *entry = queue->ready_head;
  queue->ready_head = entry->ready_next;
  if (!queue->ready_head)
    queue->ready_tail = NULL;
  entry->ready_next = NULL;
  queue->ready_len--;
  depth_changed(queue);
  return entry;
}

static void mark_dirty(struct wfe_workqueue *queue, struct entry *entry,
                       int64_t now_ns)
{
  if (entry->dirty)
    return; /* already queued, or queued again after its processing */
  wfe_metric_add(queue->metrics.adds, queue->metrics.labels, 1);
  entry->dirty = 1;
  entry->added_ns = now_ns;
  if (!entry->processing)
    push_ready(queue, entry);
}

static void promote_due(struct wfe_workqueue *queue, int64_t now_ns)
{
  while (queue->heap_len && queue->heap[0]->deadline_ns <= now_ns)
    mark_dirty(queue, heap_pop(queue), now_ns);
}

static int add_locked(struct wfe_workqueue *queue, const char *key)
{
  struct entry *entry = lookup_or_create(queue, key);
  if (!entry)
    return WFE_E_NOMEM;
  mark_dirty(queue, entry, wfe_monotonic_ns());
  return 0;
}

static int add_after_locked(struct wfe_workqueue *queue, struct entry *entry,
                            int64_t delay_ms)
{
  int64_t now = wfe_monotonic_ns();
  wfe_metric_add(queue->metrics.retries, queue->metrics.labels, 1);
  if (delay_ms <= 0) {
    mark_dirty(queue, entry, now);
    return 0;
  }
  int64_t deadline = delay_ms > (INT64_MAX - now) / 1000000
                         ? INT64_MAX
                         : now + delay_ms * 1000000;
  if (entry->heap_index == NOT_IN_HEAP) {
    entry->deadline_ns = deadline;
    int rc = heap_push(queue, entry);
    if (rc) {
      release_if_unused(queue, entry);
      return rc;
    }
  } else if (deadline < entry->deadline_ns) {
    entry->deadline_ns = deadline;
    heap_sift_up(queue, entry->heap_index);
  } else {
    return 0; /* the earlier deadline wins */
  }
  /* A new earliest deadline: sleeping getters must shorten their wait. */
  if (entry->heap_index == 0)
    pthread_cond_broadcast(&queue->ready_cond);
  return 0;
}

/* Records the monotonic deadline for pthread_cond_timedwait. */
static struct timespec to_timespec(int64_t ns)
{
  struct timespec ts;
  ts.tv_sec = (time_t)(ns / 1000000000);
  ts.tv_nsec = (long)(ns % 1000000000);
  return ts;
}

/* --- Metrics ------------------------------------------------------------- */

/* Samples the work in progress just before /metrics renders. */
static void sample_unfinished_work(void *ctx)
{
  struct wfe_workqueue *queue = ctx;
  pthread_mutex_lock(&queue->lock);
  int64_t now = wfe_monotonic_ns();
  double total = 0, longest = 0;
  for (size_t i = 0; i < queue->table_size; i++) {
    for (struct entry *e = queue->table[i]; e; e = e->chain) {
      if (!e->processing)
        continue;
      double seconds = (double)(now - e->started_ns) / 1e9;
      total += seconds;
      if (seconds > longest)
        longest = seconds;
    }
  }
  wfe_metric_set(queue->metrics.unfinished, queue->metrics.labels, total);
  wfe_metric_set(queue->metrics.longest, queue->metrics.labels, longest);
  pthread_mutex_unlock(&queue->lock);
}

static int metrics_register(struct wfe_workqueue *queue)
{
  static const char *const label_names[] = {"name"};
  struct wfe_metrics *r = queue->registry;
  struct queue_metrics *m = &queue->metrics;
  m->labels[0] = queue->name;
  m->depth = wfe_metrics_gauge(r, "workqueue_depth",
                               "Current depth of workqueue", label_names, 1);
  m->adds = wfe_metrics_counter(r, "workqueue_adds_total",
                                "Total number of adds handled by workqueue",
                                label_names, 1);
  m->queue_duration = wfe_metrics_histogram(
      r, "workqueue_queue_duration_seconds",
      "How long in seconds an item stays in workqueue before being requested",
      label_names, 1, duration_buckets,
      sizeof(duration_buckets) / sizeof(duration_buckets[0]));
  m->work_duration = wfe_metrics_histogram(
      r, "workqueue_work_duration_seconds",
      "How long in seconds processing an item from workqueue takes.",
      label_names, 1, duration_buckets,
      sizeof(duration_buckets) / sizeof(duration_buckets[0]));
  m->retries = wfe_metrics_counter(
      r, "workqueue_retries_total",
      "Total number of retries handled by workqueue", label_names, 1);
  m->unfinished = wfe_metrics_gauge(
      r, "workqueue_unfinished_work_seconds",
      "How many seconds of work has been done that is in progress and hasn't "
      "been observed by work_duration. Large values indicate stuck threads. "
      "One can deduce the number of stuck threads by observing the rate at "
      "which this increases.",
      label_names, 1);
  m->longest = wfe_metrics_gauge(
      r, "workqueue_longest_running_processor_seconds",
      "How many seconds has the longest running processor for workqueue been "
      "running.",
      label_names, 1);
  if (!m->depth || !m->adds || !m->queue_duration || !m->work_duration ||
      !m->retries || !m->unfinished || !m->longest)
    return WFE_E_NOMEM;
  /* Series appear at zero from the start, as client-go's do. */
  wfe_metric_set(m->depth, m->labels, 0);
  wfe_metric_add(m->adds, m->labels, 0);
  wfe_metric_add(m->retries, m->labels, 0);
  wfe_metric_set(m->unfinished, m->labels, 0);
  wfe_metric_set(m->longest, m->labels, 0);
  return wfe_metrics_add_render_hook(r, sample_unfinished_work, queue);
}

/* --- Public API ---------------------------------------------------------- */

int wfe_workqueue_new(const struct wfe_workqueue_options *options,
                      struct wfe_workqueue **out)
{
  static const struct wfe_workqueue_options defaults = {0};
  if (!options)
    options = &defaults;
  *out = NULL;
  struct wfe_workqueue *queue = calloc(1, sizeof(*queue));
  if (!queue)
    return WFE_E_NOMEM;
  pthread_mutex_init(&queue->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&queue->ready_cond, &attr);
  pthread_cond_init(&queue->idle_cond, &attr);
  pthread_condattr_destroy(&attr);

  queue->base_delay_ms =
      options->base_delay_ms > 0 ? options->base_delay_ms : 5;
  queue->max_delay_ms =
      options->max_delay_ms > 0 ? options->max_delay_ms : 1000000;
  double qps = options->qps == 0 ? 10.0 : options->qps;
  int burst = options->burst > 0 ? options->burst : 100;
  wfe_token_bucket_init(&queue->bucket, qps, burst, wfe_monotonic_ms());

  queue->table_size = 64;
  queue->table = calloc(queue->table_size, sizeof(*queue->table));
  queue->name = strdup(options->name ? options->name : "");
  if (!queue->table || !queue->name) {
    wfe_workqueue_free(queue);
    return WFE_E_NOMEM;
  }
  if (options->metrics) {
    queue->registry = options->metrics;
    if (metrics_register(queue)) {
      wfe_workqueue_free(queue);
      return WFE_E_NOMEM;
    }
  }
  *out = queue;
  return 0;
}

void wfe_workqueue_free(struct wfe_workqueue *queue)
{
  if (!queue)
    return;
  if (queue->registry)
    wfe_metrics_remove_render_hook(queue->registry, sample_unfinished_work,
                                   queue);
  for (size_t i = 0; queue->table && i < queue->table_size; i++) {
    struct entry *entry = queue->table[i];
    while (entry) {
      struct entry *next = entry->chain;
      free(entry->key);
      free(entry);
      entry = next;
    }
  }
  free(queue->table);
  free(queue->heap);
  free(queue->name);
  pthread_cond_destroy(&queue->ready_cond);
  pthread_cond_destroy(&queue->idle_cond);
  pthread_mutex_destroy(&queue->lock);
  free(queue);
}

int wfe_workqueue_add(struct wfe_workqueue *queue, const char *key)
{
  pthread_mutex_lock(&queue->lock);
  int rc = queue->shutting_down ? WFE_E_UNAVAILABLE : add_locked(queue, key);
  pthread_mutex_unlock(&queue->lock);
  return rc;
}

int wfe_workqueue_add_after(struct wfe_workqueue *queue, const char *key,
                            int64_t delay_ms)
{
  int rc = WFE_E_UNAVAILABLE;
  pthread_mutex_lock(&queue->lock);
  if (!queue->shutting_down) {
    struct entry *entry = lookup_or_create(queue, key);
    rc = entry ? add_after_locked(queue, entry, delay_ms) : WFE_E_NOMEM;
  }
  pthread_mutex_unlock(&queue->lock);
  return rc;
}

int wfe_workqueue_add_rate_limited(struct wfe_workqueue *queue, const char *key)
{
  int rc = WFE_E_UNAVAILABLE;
  pthread_mutex_lock(&queue->lock);
  if (!queue->shutting_down) {
    struct entry *entry = lookup_or_create(queue, key);
    rc = WFE_E_NOMEM;
    if (entry) {
      /* client-go's MaxOfRateLimiter over the per-item exponential limiter
       * and the overall bucket. */
      int64_t delay = wfe_backoff_exponential(
          queue->base_delay_ms, queue->max_delay_ms, 2.0, entry->failures);
      if (entry->failures < UINT32_MAX)
        entry->failures++;
      int64_t overall =
          wfe_token_bucket_reserve(&queue->bucket, wfe_monotonic_ms());
      rc = add_after_locked(queue, entry, delay > overall ? delay : overall);
    }
  }
  pthread_mutex_unlock(&queue->lock);
  return rc;
}

void wfe_workqueue_forget(struct wfe_workqueue *queue, const char *key)
{
  pthread_mutex_lock(&queue->lock);
  struct entry *entry = lookup(queue, key);
  if (entry) {
    entry->failures = 0;
    release_if_unused(queue, entry);
  }
  pthread_mutex_unlock(&queue->lock);
}

unsigned wfe_workqueue_num_requeues(struct wfe_workqueue *queue,
                                    const char *key)
{
  pthread_mutex_lock(&queue->lock);
  struct entry *entry = lookup(queue, key);
  unsigned failures = entry ? entry->failures : 0;
  pthread_mutex_unlock(&queue->lock);
  return failures;
}

int wfe_workqueue_get_timed(struct wfe_workqueue *queue, const char **out,
                            int64_t *waited_ns)
{
  *out = NULL;
  pthread_mutex_lock(&queue->lock);
  int64_t now;
  for (;;) {
    if (queue->shutting_down) {
      pthread_mutex_unlock(&queue->lock);
      return 0;
    }
    now = wfe_monotonic_ns();
    promote_due(queue, now);
    if (queue->ready_head)
      break;
    if (queue->heap_len) {
      struct timespec until = to_timespec(queue->heap[0]->deadline_ns);
      pthread_cond_timedwait(&queue->ready_cond, &queue->lock, &until);
    } else {
      pthread_cond_wait(&queue->ready_cond, &queue->lock);
    }
  }
  struct entry *entry = pop_ready(queue);
  entry->dirty = 0;
  entry->processing = 1;
  entry->started_ns = now;
  queue->processing++;
  int64_t waited = now - entry->added_ns;
  wfe_metric_observe(queue->metrics.queue_duration, queue->metrics.labels,
                     (double)waited / 1e9);
  pthread_mutex_unlock(&queue->lock);
  if (waited_ns)
    *waited_ns = waited;
  *out = entry->key;
  return 1;
}

int wfe_workqueue_get(struct wfe_workqueue *queue, const char **out)
{
  return wfe_workqueue_get_timed(queue, out, NULL);
}

void wfe_workqueue_done(struct wfe_workqueue *queue, const char *key)
{
  pthread_mutex_lock(&queue->lock);
  struct entry *entry = lookup(queue, key);
  if (!entry || !entry->processing) {
    pthread_mutex_unlock(&queue->lock);
    return; /* not handed out: a caller's bug, but harmless */
  }
  int64_t now = wfe_monotonic_ns();
  wfe_metric_observe(queue->metrics.work_duration, queue->metrics.labels,
                     (double)(now - entry->started_ns) / 1e9);
  entry->processing = 0;
  queue->processing--;
  if (entry->dirty) {
    if (queue->shutting_down)
      entry->dirty = 0; /* nobody will take it any more */
    else
      push_ready(queue, entry);
  }
  release_if_unused(queue, entry); /* `key` may be gone from here on */
  if (queue->processing == 0)
    pthread_cond_broadcast(&queue->idle_cond);
  pthread_mutex_unlock(&queue->lock);
}

void wfe_workqueue_shutdown(struct wfe_workqueue *queue)
{
  pthread_mutex_lock(&queue->lock);
  queue->shutting_down = 1;
  pthread_cond_broadcast(&queue->ready_cond);
  pthread_mutex_unlock(&queue->lock);
}

int wfe_workqueue_shutdown_drain(struct wfe_workqueue *queue,
                                 int64_t timeout_ms)
{
  wfe_workqueue_shutdown(queue);
  int rc = 0;
  pthread_mutex_lock(&queue->lock);
  if (timeout_ms > INT64_MAX / 2000000)
    timeout_ms = -1; /* centuries: the same as no limit */
  struct timespec until = to_timespec(
      wfe_monotonic_ns() + (timeout_ms > 0 ? timeout_ms : 0) * 1000000);
  while (queue->processing > 0) {
    if (timeout_ms < 0) {
      pthread_cond_wait(&queue->idle_cond, &queue->lock);
    } else if (pthread_cond_timedwait(&queue->idle_cond, &queue->lock,
                                      &until) == ETIMEDOUT) {
      rc = queue->processing > 0 ? WFE_E_UNAVAILABLE : 0;
      break;
    }
  }
  pthread_mutex_unlock(&queue->lock);
  return rc;
}

int wfe_workqueue_is_shutting_down(struct wfe_workqueue *queue)
{
  pthread_mutex_lock(&queue->lock);
  int shutting_down = queue->shutting_down;
  pthread_mutex_unlock(&queue->lock);
  return shutting_down;
}

size_t wfe_workqueue_len(struct wfe_workqueue *queue)
{
  pthread_mutex_lock(&queue->lock);
  if (!queue->shutting_down)
    promote_due(queue, wfe_monotonic_ns());
  size_t len = queue->ready_len;
  pthread_mutex_unlock(&queue->lock);
  return len;
}
