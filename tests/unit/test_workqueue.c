/* The work queue: client-go's guarantees, one test each. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "backoff.h"
#include "metrics.h"
#include "status.h"
#include "workqueue.h"

static struct wfe_workqueue *new_queue(const struct wfe_workqueue_options *o)
{
  struct wfe_workqueue *queue = NULL;
  assert_int_equal(wfe_workqueue_new(o, &queue), 0);
  assert_non_null(queue);
  return queue;
}

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

/* Gets a key, asserting what it is; returns the queue-owned pointer. */
static const char *expect_get(struct wfe_workqueue *queue, const char *want)
{
  const char *key = NULL;
  assert_int_equal(wfe_workqueue_get(queue, &key), 1);
  assert_string_equal(key, want);
  return key;
}

static void test_workqueue_collapses_duplicate_adds(void **state)
{
  struct wfe_workqueue *queue = new_queue(NULL);
  assert_int_equal(wfe_workqueue_add(queue, "ns/a"), 0);
  assert_int_equal(wfe_workqueue_add(queue, "ns/a"), 0);
  assert_int_equal(wfe_workqueue_add(queue, "ns/b"), 0);
  assert_int_equal(wfe_workqueue_add(queue, "ns/a"), 0);
  assert_int_equal(wfe_workqueue_len(queue), 2);
  wfe_workqueue_done(queue, expect_get(queue, "ns/a"));
  wfe_workqueue_done(queue, expect_get(queue, "ns/b"));
  assert_int_equal(wfe_workqueue_len(queue), 0);
  wfe_workqueue_free(queue);
}

static void test_workqueue_hands_out_keys_in_fifo_order(void **state)
{
  struct wfe_workqueue *queue = new_queue(NULL);
  char key[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof(key), "ns/k%d", i);
    assert_int_equal(wfe_workqueue_add(queue, key), 0);
  }
  assert_int_equal(wfe_workqueue_len(queue), 5000);
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof(key), "ns/k%d", i);
    wfe_workqueue_done(queue, expect_get(queue, key));
  }
  wfe_workqueue_free(queue);
}

static void
test_workqueue_requeues_a_key_added_during_processing_once(void **state)
{
  struct wfe_workqueue *queue = new_queue(NULL);
  wfe_workqueue_add(queue, "ns/a");
  const char *key = expect_get(queue, "ns/a");
  /* Events keep coming while the worker holds the key. */
  wfe_workqueue_add(queue, "ns/a");
  wfe_workqueue_add(queue, "ns/a");
  assert_int_equal(wfe_workqueue_len(queue), 0); /* not handed out twice */
  wfe_workqueue_done(queue, key);
  assert_int_equal(wfe_workqueue_len(queue), 1);
  wfe_workqueue_done(queue, expect_get(queue, "ns/a"));
  assert_int_equal(wfe_workqueue_len(queue), 0);
  wfe_workqueue_free(queue);
}

#define HAMMER_KEYS 8
#define HAMMER_WORKERS 6

struct hammer {
  struct wfe_workqueue *queue;
  atomic_int in_flight[HAMMER_KEYS];
  atomic_int overlaps;
  atomic_int processed;
};

static void *hammer_worker(void *arg)
{
  struct hammer *h = arg;
  const char *key;
  while (wfe_workqueue_get(h->queue, &key)) {
    int index = atoi(key + 1);
    if (atomic_fetch_add(&h->in_flight[index], 1) != 0)
      atomic_fetch_add(&h->overlaps, 1);
    for (volatile int spin = 0; spin < 2000; spin++)
      ;
    atomic_fetch_sub(&h->in_flight[index], 1);
    atomic_fetch_add(&h->processed, 1);
    wfe_workqueue_done(h->queue, key);
  }
  return NULL;
}

static void test_workqueue_never_hands_a_key_to_two_workers(void **state)
{
  struct hammer h = {0};
  h.queue = new_queue(NULL);
  pthread_t workers[HAMMER_WORKERS];
  for (int i = 0; i < HAMMER_WORKERS; i++)
    pthread_create(&workers[i], NULL, hammer_worker, &h);
  char key[16];
  for (int i = 0; i < 50000; i++) {
    snprintf(key, sizeof(key), "k%d", i % HAMMER_KEYS);
    wfe_workqueue_add(h.queue, key);
  }
  /* Let the workers empty the queue, then stop them. */
  while (wfe_workqueue_len(h.queue) > 0)
    sleep_ms(1);
  assert_int_equal(wfe_workqueue_shutdown_drain(h.queue, 10000), 0);
  for (int i = 0; i < HAMMER_WORKERS; i++)
    pthread_join(workers[i], NULL);
  assert_int_equal(atomic_load(&h.overlaps), 0);
  assert_true(atomic_load(&h.processed) >= HAMMER_KEYS);
  wfe_workqueue_free(h.queue);
}

static void
test_workqueue_add_after_releases_keys_in_deadline_order(void **state)
{
  struct wfe_workqueue *queue = new_queue(NULL);
  int64_t start = wfe_monotonic_ms();
  wfe_workqueue_add_after(queue, "ns/c", 90);
  wfe_workqueue_add_after(queue, "ns/a", 30);
  wfe_workqueue_add_after(queue, "ns/b", 60);
  assert_int_equal(wfe_workqueue_len(queue), 0);
  wfe_workqueue_done(queue, expect_get(queue, "ns/a"));
  assert_true(wfe_monotonic_ms() - start >= 30);
  wfe_workqueue_done(queue, expect_get(queue, "ns/b"));
  assert_true(wfe_monotonic_ms() - start >= 60);
  wfe_workqueue_done(queue, expect_get(queue, "ns/c"));
  assert_true(wfe_monotonic_ms() - start >= 90);
  wfe_workqueue_free(queue);
}

static void test_workqueue_add_after_keeps_the_earliest_deadline(void **state)
{
  struct wfe_workqueue *queue = new_queue(NULL);
  int64_t start = wfe_monotonic_ms();
  wfe_workqueue_add_after(queue, "ns/late-then-early", 60000);
  wfe_workqueue_add_after(queue, "ns/late-then-early", 20);
  wfe_workqueue_add_after(queue, "ns/early-then-late", 40);
  wfe_workqueue_add_after(queue, "ns/early-then-late", 60000);
  wfe_workqueue_done(queue, expect_get(queue, "ns/late-then-early"));
  wfe_workqueue_done(queue, expect_get(queue, "ns/early-then-late"));
  /* Neither waited for the minute. */
  assert_true(wfe_monotonic_ms() - start < 30000);
  assert_int_equal(wfe_workqueue_len(queue), 0);
  wfe_workqueue_free(queue);
}

static void test_workqueue_add_after_without_delay_adds_now(void **state)
{
  struct wfe_workqueue *queue = new_queue(NULL);
  wfe_workqueue_add_after(queue, "ns/a", 0);
  wfe_workqueue_add_after(queue, "ns/b", -5);
  assert_int_equal(wfe_workqueue_len(queue), 2);
  wfe_workqueue_free(queue);
}

struct blocked_get {
  struct wfe_workqueue *queue;
  atomic_int started;
  int result;
  const char *key;
};

static void *blocked_get(void *arg)
{
  struct blocked_get *b = arg;
  atomic_store(&b->started, 1);
  b->result = wfe_workqueue_get(b->queue, &b->key);
  return NULL;
}

static void test_workqueue_delayed_key_wakes_a_blocked_getter(void **state)
{
  /* The getter sleeps with no deadline; a later add_after must shorten it. */
  struct blocked_get b = {new_queue(NULL), 0, -1, NULL};
  pthread_t thread;
  pthread_create(&thread, NULL, blocked_get, &b);
  while (!atomic_load(&b.started))
    sleep_ms(1);
  sleep_ms(20);
  wfe_workqueue_add_after(b.queue, "ns/x", 30);
  pthread_join(thread, NULL);
  assert_int_equal(b.result, 1);
  assert_string_equal(b.key, "ns/x");
  wfe_workqueue_done(b.queue, b.key);
  wfe_workqueue_free(b.queue);
}

static int64_t time_rate_limited(struct wfe_workqueue *queue, const char *key)
{
  int64_t start = wfe_monotonic_ms();
  assert_int_equal(wfe_workqueue_add_rate_limited(queue, key), 0);
  wfe_workqueue_done(queue, expect_get(queue, key));
  return wfe_monotonic_ms() - start;
}

static void
test_workqueue_rate_limited_backoff_grows_and_forget_resets(void **state)
{
  struct wfe_workqueue_options options = {0};
  options.base_delay_ms = 50;
  options.max_delay_ms = 10000;
  options.qps = -1;
  struct wfe_workqueue *queue = new_queue(&options);
  assert_int_equal(wfe_workqueue_num_requeues(queue, "ns/a"), 0);
  assert_true(time_rate_limited(queue, "ns/a") >= 50);
  assert_true(time_rate_limited(queue, "ns/a") >= 100);
  assert_true(time_rate_limited(queue, "ns/a") >= 200);
  assert_int_equal(wfe_workqueue_num_requeues(queue, "ns/a"), 3);
  wfe_workqueue_forget(queue, "ns/a");
  assert_int_equal(wfe_workqueue_num_requeues(queue, "ns/a"), 0);
  int64_t after_forget = time_rate_limited(queue, "ns/a");
  assert_true(after_forget >= 50 && after_forget < 400);
  assert_int_equal(wfe_workqueue_num_requeues(queue, "ns/a"), 1);
  /* Other keys have their own count. */
  assert_int_equal(wfe_workqueue_num_requeues(queue, "ns/b"), 0);
  wfe_workqueue_free(queue);
}

static void test_workqueue_overall_bucket_limits_rate_limited_adds(void **state)
{
  struct wfe_workqueue_options options = {0};
  options.base_delay_ms = 1;
  options.qps = 10;
  options.burst = 1;
  struct wfe_workqueue *queue = new_queue(&options);
  int64_t start = wfe_monotonic_ms();
  wfe_workqueue_add_rate_limited(queue, "ns/a");
  wfe_workqueue_add_rate_limited(queue, "ns/b");
  wfe_workqueue_done(queue, expect_get(queue, "ns/a"));
  wfe_workqueue_done(queue, expect_get(queue, "ns/b"));
  /* The second token of a 10 qps bucket comes 100 ms after the first. */
  assert_true(wfe_monotonic_ms() - start >= 99);
  wfe_workqueue_free(queue);
}

static void test_workqueue_shutdown_wakes_blocked_get(void **state)
{
  struct blocked_get b = {new_queue(NULL), 0, -1, NULL};
  /* A far deadline makes the getter use a timed wait. */
  wfe_workqueue_add_after(b.queue, "ns/later", 60000);
  pthread_t threads[2];
  struct blocked_get b2 = {new_queue(NULL), 0, -1, NULL};
  pthread_create(&threads[0], NULL, blocked_get, &b);
  pthread_create(&threads[1], NULL, blocked_get, &b2);
  while (!atomic_load(&b.started) || !atomic_load(&b2.started))
    sleep_ms(1);
  sleep_ms(20);
  wfe_workqueue_shutdown(b.queue);
  wfe_workqueue_shutdown(b2.queue);
  pthread_join(threads[0], NULL);
  pthread_join(threads[1], NULL);
  assert_int_equal(b.result, 0);
  assert_null(b.key);
  assert_int_equal(b2.result, 0);
  assert_true(wfe_workqueue_is_shutting_down(b.queue));
  wfe_workqueue_free(b.queue);
  wfe_workqueue_free(b2.queue);
}

static void test_workqueue_ignores_adds_after_shutdown(void **state)
{
  struct wfe_workqueue *queue = new_queue(NULL);
  wfe_workqueue_add(queue, "ns/queued");
  wfe_workqueue_shutdown(queue);
  assert_int_equal(wfe_workqueue_add(queue, "ns/a"), WFE_E_UNAVAILABLE);
  assert_int_equal(wfe_workqueue_add_after(queue, "ns/a", 10),
                   WFE_E_UNAVAILABLE);
  assert_int_equal(wfe_workqueue_add_rate_limited(queue, "ns/a"),
                   WFE_E_UNAVAILABLE);
  const char *key = "unchanged";
  assert_int_equal(wfe_workqueue_get(queue, &key), 0);
  assert_null(key);
  wfe_workqueue_free(queue);
}

struct slow_worker {
  struct wfe_workqueue *queue;
  atomic_int holding;
  atomic_int finished;
};

static void *slow_worker(void *arg)
{
  struct slow_worker *w = arg;
  const char *key;
  if (wfe_workqueue_get(w->queue, &key)) {
    atomic_store(&w->holding, 1);
    sleep_ms(100);
    atomic_store(&w->finished, 1);
    wfe_workqueue_done(w->queue, key);
  }
  return NULL;
}

static void test_workqueue_drain_waits_for_in_flight_work(void **state)
{
  struct slow_worker w = {new_queue(NULL), 0, 0};
  wfe_workqueue_add(w.queue, "ns/slow");
  pthread_t thread;
  pthread_create(&thread, NULL, slow_worker, &w);
  while (!atomic_load(&w.holding))
    sleep_ms(1);
  assert_int_equal(wfe_workqueue_shutdown_drain(w.queue, 10000), 0);
  assert_int_equal(atomic_load(&w.finished), 1);
  pthread_join(thread, NULL);
  wfe_workqueue_free(w.queue);
}

static void test_workqueue_drain_times_out_when_work_is_stuck(void **state)
{
  struct wfe_workqueue *queue = new_queue(NULL);
  wfe_workqueue_add(queue, "ns/stuck");
  const char *key = expect_get(queue, "ns/stuck");
  int64_t start = wfe_monotonic_ms();
  assert_int_equal(wfe_workqueue_shutdown_drain(queue, 50), WFE_E_UNAVAILABLE);
  assert_true(wfe_monotonic_ms() - start >= 50);
  /* The stuck worker may still finish; the drain then succeeds at once. */
  wfe_workqueue_done(queue, key);
  assert_int_equal(wfe_workqueue_shutdown_drain(queue, 0), 0);
  wfe_workqueue_free(queue);
}

static void test_workqueue_get_timed_reports_time_since_add(void **state)
{
  struct wfe_workqueue *queue = new_queue(NULL);
  wfe_workqueue_add(queue, "ns/a");
  sleep_ms(20);
  const char *key;
  int64_t waited = -1;
  assert_int_equal(wfe_workqueue_get_timed(queue, &key, &waited), 1);
  assert_true(waited >= 20 * 1000000LL);
  wfe_workqueue_done(queue, key);
  wfe_workqueue_free(queue);
}

static double metric_value(struct wfe_metrics *metrics, const char *name,
                           int histogram)
{
  const char *const labels[] = {"name"};
  const char *const values[] = {"test"};
  static const double buckets[] = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4,
                                   1e-3, 1e-2, 1e-1, 1,    10};
  struct wfe_metric *family =
      histogram
          ? wfe_metrics_histogram(metrics, name, NULL, labels, 1, buckets, 10)
          : NULL;
  if (!family)
    family = wfe_metrics_counter(metrics, name, NULL, labels, 1);
  if (!family)
    family = wfe_metrics_gauge(metrics, name, NULL, labels, 1);
  assert_non_null(family);
  double value = -1;
  assert_int_equal(wfe_metric_get(family, values, &value), 0);
  return value;
}

static void test_workqueue_metrics_follow_adds_gets_and_retries(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  struct wfe_workqueue_options options = {0};
  options.name = "test";
  options.metrics = metrics;
  options.qps = -1;
  struct wfe_workqueue *queue = new_queue(&options);
  assert_true(metric_value(metrics, "workqueue_adds_total", 0) == 0);

  wfe_workqueue_add(queue, "ns/a");
  wfe_workqueue_add(queue, "ns/a"); /* a duplicate is not an add */
  wfe_workqueue_add(queue, "ns/b");
  assert_true(metric_value(metrics, "workqueue_adds_total", 0) == 2);
  assert_true(metric_value(metrics, "workqueue_depth", 0) == 2);

  const char *a = expect_get(queue, "ns/a");
  assert_true(metric_value(metrics, "workqueue_depth", 0) == 1);
  assert_true(metric_value(metrics, "workqueue_queue_duration_seconds", 1) ==
              1);
  sleep_ms(20);

  /* While ns/a is in processing, the sampled gauges see it. */
  struct wfe_buf text = WFE_BUF_INIT;
  assert_int_equal(wfe_metrics_render(metrics, &text), 0);
  const char *unfinished =
      strstr(wfe_buf_str(&text),
             "\nworkqueue_unfinished_work_seconds{name=\"test\"} ");
  const char *longest =
      strstr(wfe_buf_str(&text),
             "\nworkqueue_longest_running_processor_seconds{name=\"test\"} ");
  assert_non_null(unfinished);
  assert_non_null(longest);
  assert_true(strtod(strchr(unfinished + 1, ' '), NULL) >= 0.02);
  assert_true(strtod(strchr(longest + 1, ' '), NULL) >= 0.02);
  assert_non_null(strstr(wfe_buf_str(&text),
                         "# TYPE workqueue_queue_duration_seconds histogram\n"
                         "workqueue_queue_duration_seconds_bucket{name="
                         "\"test\",le=\"1e-08\"} "));
  wfe_buf_free(&text);

  wfe_workqueue_add_rate_limited(queue, "ns/a");
  assert_true(metric_value(metrics, "workqueue_retries_total", 0) == 1);
  wfe_workqueue_done(queue, a);
  assert_true(metric_value(metrics, "workqueue_work_duration_seconds", 1) == 1);
  wfe_workqueue_free(queue);
  /* Freeing the queue removed its render hook. */
  assert_int_equal(wfe_metrics_render(metrics, &text), 0);
  wfe_buf_free(&text);
  wfe_metrics_free(metrics);
}

static void test_workqueue_free_releases_keys_in_every_state(void **state)
{
  struct wfe_workqueue *queue = new_queue(NULL);
  wfe_workqueue_add(queue, "ns/processing");
  expect_get(queue, "ns/processing");
  wfe_workqueue_add(queue, "ns/processing"); /* dirty while processing */
  wfe_workqueue_add(queue, "ns/queued");
  wfe_workqueue_add_after(queue, "ns/delayed", 60000);
  wfe_workqueue_add_rate_limited(queue, "ns/failed");
  wfe_workqueue_free(queue); /* the sanitizers and valgrind check this */
  wfe_workqueue_free(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_workqueue_collapses_duplicate_adds),
      cmocka_unit_test(test_workqueue_hands_out_keys_in_fifo_order),
      cmocka_unit_test(
          test_workqueue_requeues_a_key_added_during_processing_once),
      cmocka_unit_test(test_workqueue_never_hands_a_key_to_two_workers),
      cmocka_unit_test(
          test_workqueue_add_after_releases_keys_in_deadline_order),
      cmocka_unit_test(test_workqueue_add_after_keeps_the_earliest_deadline),
      cmocka_unit_test(test_workqueue_add_after_without_delay_adds_now),
      cmocka_unit_test(test_workqueue_delayed_key_wakes_a_blocked_getter),
      cmocka_unit_test(
          test_workqueue_rate_limited_backoff_grows_and_forget_resets),
      cmocka_unit_test(test_workqueue_overall_bucket_limits_rate_limited_adds),
      cmocka_unit_test(test_workqueue_shutdown_wakes_blocked_get),
      cmocka_unit_test(test_workqueue_ignores_adds_after_shutdown),
      cmocka_unit_test(test_workqueue_drain_waits_for_in_flight_work),
      cmocka_unit_test(test_workqueue_drain_times_out_when_work_is_stuck),
      cmocka_unit_test(test_workqueue_get_timed_reports_time_since_add),
      cmocka_unit_test(test_workqueue_metrics_follow_adds_gets_and_retries),
      cmocka_unit_test(test_workqueue_free_releases_keys_in_every_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
