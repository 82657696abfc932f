/*
 * Waiting policies shared by the runtime: exponential backoff with a cap and
 * jitter (the API client's retries, the reflector's relists), the per-key
 * failure backoff and the overall token bucket of the work queue, and
 * Retry-After parsing. Everything here is pure: the caller passes the time
 * ("now", monotonic milliseconds) and may plug its own random source, so
 * tests are deterministic. None of these structs is locked; the owner
 * serializes access (the work queue does so under its mutex).
 */
#ifndef WFE_BASE_BACKOFF_H
#define WFE_BASE_BACKOFF_H

#include <stdint.h>
#include <time.h>

/* Monotonic time in milliseconds and nanoseconds (CLOCK_MONOTONIC). */
int64_t wfe_monotonic_ms(void);
int64_t wfe_monotonic_ns(void);

/* A random number in [0, 1). `ctx` is the pointer given with the function. */
typedef double (*wfe_rand_fn)(void *ctx);

enum wfe_jitter {
  WFE_JITTER_NONE,  /* exactly the exponential delay */
  WFE_JITTER_FULL,  /* uniform in [0, delay) */
  WFE_JITTER_EQUAL, /* uniform in [delay/2, delay) */
};

/* base * factor^attempt, capped at cap_ms; attempt 0 gives base_ms. Never
 * overflows. */
int64_t wfe_backoff_exponential(int64_t base_ms, int64_t cap_ms, double factor,
                                unsigned attempt);

/* Applies `jitter` to `delay_ms` with `random01` in [0, 1). */
int64_t wfe_backoff_jitter(int64_t delay_ms, enum wfe_jitter jitter,
                           double random01);

/*
 * A retry loop's state: attempts since the last success, reset when the last
 * failure is older than reset_after_ms (client-go's reflector forgets its
 * backoff after 2 minutes of health).
 */
struct wfe_backoff {
  int64_t base_ms;
  int64_t cap_ms;
  double factor;
  enum wfe_jitter jitter;
  int64_t reset_after_ms; /* 0: never reset by time */
  wfe_rand_fn rand;       /* NULL: an internal generator */
  void *rand_ctx;
  /* State. */
  unsigned attempt;
  int64_t last_failure_ms;
  uint64_t rand_state;
};

/* Initializes with factor 2 and no time-based reset. */
void wfe_backoff_init(struct wfe_backoff *backoff, int64_t base_ms,
                      int64_t cap_ms, enum wfe_jitter jitter);
/* client-go's reflector: 800 ms doubling to 30 s, equal jitter, reset after
 * 2 minutes without failure. */
void wfe_backoff_init_reflector(struct wfe_backoff *backoff);

/* Records a failure at `now_ms` and returns how long to wait before the next
 * attempt. */
int64_t wfe_backoff_next(struct wfe_backoff *backoff, int64_t now_ms);

/* Records a success: the next failure starts from base_ms again. */
void wfe_backoff_reset(struct wfe_backoff *backoff);

/*
 * A token bucket: `rate` tokens per second, at most `burst` stored; it starts
 * full. Like golang.org/x/time/rate's Reserve (client-go's
 * BucketRateLimiter), a reservation always succeeds and tells how long to
 * wait for its token; the bucket may go into debt. The work queue's default
 * is 10 per second, burst 100. rate <= 0 means unlimited.
 */
struct wfe_token_bucket {
  double rate;
  double burst;
  double tokens;
  int64_t last_ms;
};

void wfe_token_bucket_init(struct wfe_token_bucket *bucket, double rate,
                           double burst, int64_t now_ms);
/* Takes one token; returns the delay in ms until it is really available. */
int64_t wfe_token_bucket_reserve(struct wfe_token_bucket *bucket,
                                 int64_t now_ms);
/* Takes one token only when one is available now; returns 1 if taken. */
int wfe_token_bucket_try_take(struct wfe_token_bucket *bucket, int64_t now_ms);

/*
 * Parses an HTTP Retry-After value: delta-seconds ("120") or an HTTP-date
 * (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete RFC 850 and
 * asctime forms). `now` is the wall-clock time the date is measured against.
 * *out is the delay in milliseconds, 0 for a date in the past. Returns 0, or
 * WFE_E_INVALID leaving *out untouched.
 */
int wfe_retry_after_parse(const char *value, time_t now, int64_t *out);

#endif
