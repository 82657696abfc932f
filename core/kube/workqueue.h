/*
 * The controller runtime's work queue, after client-go's rate-limiting
 * delaying queue. It holds keys (strings such as "namespace/name"), not
 * objects: a worker reads the current state from the cache, so however many
 * events arrived for an object, it is reconciled once.
 *
 * Guarantees:
 * - A key is queued at most once: adding a queued key does nothing.
 * - A key is never handed to two workers at once. A key added while a worker
 *   holds it is queued again when that worker calls done, and runs once more.
 * - add_after queues a key once a delay has passed; a key waiting with an
 *   earlier deadline keeps it. add_rate_limited waits the longer of the
 *   key's exponential backoff (5 ms doubling to 1000 s by default) and the
 *   overall token bucket (10 per second, burst 100); forget ends the key's
 *   backoff once it succeeded.
 * - After shutdown, adds are ignored and get returns 0 at once, even when
 *   keys are still queued (they are dropped: unlike client-go, no new work
 *   starts after shutdown; the next leader relists anyway). Keys already
 *   handed out may still be marked done.
 *
 * Every function is thread-safe. The delayed keys wait in a min-heap; waiting
 * getters sleep until the earliest deadline (monotonic clock), so no extra
 * thread runs.
 *
 * The pattern of use (the worker pool runs this loop in N threads):
 *
 *   const char *key;
 *   while (wfe_workqueue_get(queue, &key)) {
 *     int rc = reconcile(key);            // reads the cache, not the event
 *     if (rc == 0)
 *       wfe_workqueue_forget(queue, key); // success: reset the backoff
 *     else if (retryable)
 *       wfe_workqueue_add_rate_limited(queue, key);
 *     else if (requeue_after_ms > 0)      // e.g. the 10 s safety net
 *       wfe_workqueue_add_after(queue, key, requeue_after_ms);
 *     wfe_workqueue_done(queue, key);     // always, last; `key` dies here
 *   }
 *
 * and at exit: wfe_workqueue_shutdown_drain(queue, timeout), join the
 * workers, wfe_workqueue_free(queue).
 */
#ifndef WFE_KUBE_WORKQUEUE_H
#define WFE_KUBE_WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct wfe_metrics;
struct wfe_workqueue;

struct wfe_workqueue_options {
  /* The queue's name, the `name` label of the workqueue_* metrics. */
  const char *name;
  /* Where the metrics go; NULL for none. Borrowed: it must outlive the
   * queue (free the queue first). */
  struct wfe_metrics *metrics;
  /* Per-key backoff of add_rate_limited; 0 means 5 ms and 1000 s. */
  int64_t base_delay_ms;
  int64_t max_delay_ms;
  /* Overall bucket of add_rate_limited; qps 0 means 10, burst 0 means 100;
   * a negative qps means no overall limit. */
  double qps;
  int burst;
};

/* `options` may be NULL for all defaults. Returns 0 or WFE_E_NOMEM. */
int wfe_workqueue_new(const struct wfe_workqueue_options *options,
                      struct wfe_workqueue **out);

/* Frees the queue and its keys. No thread may be using it any more (shut it
 * down and join the workers first). Accepts NULL. */
void wfe_workqueue_free(struct wfe_workqueue *queue);

/*
 * Queues `key` (copied) unless it is queued already; a key being processed
 * is queued again when done. Returns 0, WFE_E_NOMEM, or WFE_E_UNAVAILABLE
 * when the queue is shutting down (callers may ignore it).
 */
int wfe_workqueue_add(struct wfe_workqueue *queue, const char *key);

/* Adds `key` once `delay_ms` has passed (at once when <= 0). A key already
 * waiting keeps the earlier of the two deadlines. Same returns as add. */
int wfe_workqueue_add_after(struct wfe_workqueue *queue, const char *key,
                            int64_t delay_ms);

/* Counts a failure of `key` and adds it after its backoff; see above. */
int wfe_workqueue_add_rate_limited(struct wfe_workqueue *queue,
                                   const char *key);

/* Ends the backoff of `key`: the next failure waits the base delay again.
 * It does not remove the key from the queue. */
void wfe_workqueue_forget(struct wfe_workqueue *queue, const char *key);

/* Failures counted by add_rate_limited since the last forget. */
unsigned wfe_workqueue_num_requeues(struct wfe_workqueue *queue,
                                    const char *key);

/*
 * Blocks until a key is ready, marks it as being processed and returns 1
 * with *out pointing to it; the string is owned by the queue and valid until
 * wfe_workqueue_done for that key. Returns 0 (and *out NULL) once the queue
 * is shut down. The caller must call done exactly once per key received.
 */
int wfe_workqueue_get(struct wfe_workqueue *queue, const char **out);

/* As get, also giving how long the key waited between its add and this get
 * (the latency the workqueue_queue_duration_seconds histogram records). */
int wfe_workqueue_get_timed(struct wfe_workqueue *queue, const char **out,
                            int64_t *waited_ns);

/* Ends the processing of `key` (a key received from get); queues it again if
 * it was added meanwhile. */
void wfe_workqueue_done(struct wfe_workqueue *queue, const char *key);

/* Stops the queue: wakes every blocked get, which returns 0. Idempotent. */
void wfe_workqueue_shutdown(struct wfe_workqueue *queue);

/*
 * Shuts down, then waits until every key handed out is done, at most
 * `timeout_ms` (< 0: without limit). Returns 0, or WFE_E_UNAVAILABLE when
 * the time ran out with keys still in flight.
 */
int wfe_workqueue_shutdown_drain(struct wfe_workqueue *queue,
                                 int64_t timeout_ms);

int wfe_workqueue_is_shutting_down(struct wfe_workqueue *queue);

/* Keys ready to be handed out (not those waiting for a delay, nor those in
 * processing). */
size_t wfe_workqueue_len(struct wfe_workqueue *queue);

#endif
