/*
 * bench_workqueue [keys] [workers...]: the work queue's add-to-get latency.
 * For each worker count, two runs over `keys` distinct keys (default
 * 100000): "burst" adds them all at once (latency is mostly waiting in
 * line), "paced" adds them in small batches with pauses (latency is the
 * hand-off itself: lock, condvar wake-up, scheduling). Workers do no work
 * besides done, so the figures are the queue's own overhead.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backoff.h"
#include "workqueue.h"

struct run {
  struct wfe_workqueue *queue;
  int64_t *latencies;
  atomic_size_t count;
  size_t keys;
};

static void *worker(void *arg)
{
  struct run *run = arg;
  const char *key;
  int64_t waited;
  while (wfe_workqueue_get_timed(run->queue, &key, &waited)) {
    size_t slot = atomic_fetch_add(&run->count, 1);
    if (slot < run->keys)
      run->latencies[slot] = waited;
    wfe_workqueue_done(run->queue, key);
  }
  return NULL;
}

static int compare(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void pause_us(long us)
{
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
}

static int bench(size_t keys, int workers, int paced)
{
  struct run run = {0};
  run.keys = keys;
  run.latencies = calloc(keys, sizeof(*run.latencies));
  pthread_t *threads = calloc((size_t)workers, sizeof(*threads));
  struct wfe_workqueue_options options = {0};
  options.qps = -1;
  if (!run.latencies || !threads ||
      wfe_workqueue_new(&options, &run.queue) != 0) {
    fprintf(stderr, "out of memory\n");
    free(run.latencies);
    free(threads);
    return 1;
  }
  for (int i = 0; i < workers; i++)
    pthread_create(&threads[i], NULL, worker, &run);

  int64_t start = wfe_monotonic_ns();
  char key[64];
  for (size_t i = 0; i < keys; i++) {
    snprintf(key, sizeof(key), "namespace-%zu/object-%zu", i % 100, i);
    wfe_workqueue_add(run.queue, key);
    if (paced && i % 16 == 15)
      pause_us(50);
  }
  while (atomic_load(&run.count) < keys)
    pause_us(100);
  int64_t elapsed = wfe_monotonic_ns() - start;
  wfe_workqueue_shutdown_drain(run.queue, -1);
  for (int i = 0; i < workers; i++)
    pthread_join(threads[i], NULL);

  qsort(run.latencies, keys, sizeof(*run.latencies), compare);
  printf("%-6s workers=%-2d keys=%zu  p50=%8.1f us  p99=%9.1f us  "
         "max=%9.1f us  throughput=%.0f keys/s\n",
         paced ? "paced" : "burst", workers, keys,
         run.latencies[keys / 2] / 1e3, run.latencies[keys * 99 / 100] / 1e3,
         run.latencies[keys - 1] / 1e3, keys / (elapsed / 1e9));
  wfe_workqueue_free(run.queue);
  free(run.latencies);
  free(threads);
  return 0;
}

int main(int argc, char **argv)
{
  size_t keys = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
  if (keys == 0)
    keys = 100000;
  static const int default_workers[] = {1, 2, 4, 8};
  int rc = 0;
  for (int paced = 0; paced < 2; paced++) {
    if (argc > 2) {
      for (int i = 2; i < argc; i++)
        rc |= bench(keys, atoi(argv[i]) > 0 ? atoi(argv[i]) : 1, paced);
    } else {
      for (size_t i = 0; i < 4; i++)
        rc |= bench(keys, default_workers[i], paced);
    }
  }
  return rc;
}
