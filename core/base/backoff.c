/* Backoff, token bucket and Retry-After; see backoff.h. */
#include "backoff.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "status.h"

int64_t wfe_monotonic_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t wfe_monotonic_ms(void)
{
  return wfe_monotonic_ns() / 1000000;
}

int64_t wfe_backoff_exponential(int64_t base_ms, int64_t cap_ms, double factor,
                                unsigned attempt)
{
  if (base_ms <= 0)
    return 0;
  /* Doubles saturate instead of overflowing; the cap bounds the result.
   * A loop instead of pow() keeps libm out of the link. */
  double delay = (double)base_ms;
  double limit = cap_ms > 0 ? (double)cap_ms : (double)INT64_MAX;
  for (unsigned i = 0; i < attempt && factor > 1.0 && delay < limit; i++)
    delay *= factor;
  if (cap_ms > 0 && delay >= (double)cap_ms)
    return cap_ms;
  if (delay >= (double)INT64_MAX)
    return INT64_MAX;
  return (int64_t)delay;
}

int64_t wfe_backoff_jitter(int64_t delay_ms, enum wfe_jitter jitter,
                           double random01)
{
  if (random01 < 0.0 || random01 >= 1.0)
    random01 = 0.0;
  switch (jitter) {
  case WFE_JITTER_FULL:
    return (int64_t)((double)delay_ms * random01);
  case WFE_JITTER_EQUAL:
    return delay_ms / 2 +
           (int64_t)((double)(delay_ms - delay_ms / 2) * random01);
  case WFE_JITTER_NONE:
  default:
    return delay_ms;
  }
}

/* xorshift64*: good enough for spreading retries, needs no lock. */
static double internal_rand(struct wfe_backoff *backoff)
{
  uint64_t x = backoff->rand_state;
  if (!x)
    x = (uint64_t)wfe_monotonic_ns() ^ (uint64_t)(uintptr_t)backoff ^
        0x9e3779b97f4a7c15ULL;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  backoff->rand_state = x;
  return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

void wfe_backoff_init(struct wfe_backoff *backoff, int64_t base_ms,
                      int64_t cap_ms, enum wfe_jitter jitter)
{
  memset(backoff, 0, sizeof(*backoff));
  backoff->base_ms = base_ms;
  backoff->cap_ms = cap_ms;
  backoff->factor = 2.0;
  backoff->jitter = jitter;
}

void wfe_backoff_init_reflector(struct wfe_backoff *backoff)
{
  wfe_backoff_init(backoff, 800, 30000, WFE_JITTER_EQUAL);
  backoff->reset_after_ms = 120000;
}

int64_t wfe_backoff_next(struct wfe_backoff *backoff, int64_t now_ms)
{
  if (backoff->attempt && backoff->reset_after_ms > 0 &&
      now_ms - backoff->last_failure_ms >= backoff->reset_after_ms)
    backoff->attempt = 0;
  int64_t delay = wfe_backoff_exponential(backoff->base_ms, backoff->cap_ms,
                                          backoff->factor, backoff->attempt);
  /* Stop counting once the cap is reached, so the counter cannot wrap. */
  if (backoff->cap_ms <= 0 || delay < backoff->cap_ms)
    backoff->attempt++;
  backoff->last_failure_ms = now_ms;
  double r =
      backoff->rand ? backoff->rand(backoff->rand_ctx) : internal_rand(backoff);
  return wfe_backoff_jitter(delay, backoff->jitter, r);
}

void wfe_backoff_reset(struct wfe_backoff *backoff)
{
  backoff->attempt = 0;
}

void wfe_token_bucket_init(struct wfe_token_bucket *bucket, double rate,
                           double burst, int64_t now_ms)
{
  bucket->rate = rate;
  bucket->burst = burst < 1.0 ? 1.0 : burst;
  bucket->tokens = bucket->burst;
  bucket->last_ms = now_ms;
}

static void bucket_refill(struct wfe_token_bucket *bucket, int64_t now_ms)
{
  if (now_ms <= bucket->last_ms)
    return;
  bucket->tokens += (double)(now_ms - bucket->last_ms) * bucket->rate / 1000.0;
  if (bucket->tokens > bucket->burst)
    bucket->tokens = bucket->burst;
  bucket->last_ms = now_ms;
}

int64_t wfe_token_bucket_reserve(struct wfe_token_bucket *bucket,
                                 int64_t now_ms)
{
  if (bucket->rate <= 0.0)
    return 0;
  bucket_refill(bucket, now_ms);
  bucket->tokens -= 1.0;
  if (bucket->tokens >= 0.0)
    return 0;
  double wait = -bucket->tokens * 1000.0 / bucket->rate;
  int64_t whole = (int64_t)wait;
  return (double)whole < wait ? whole + 1 : whole;
}

int wfe_token_bucket_try_take(struct wfe_token_bucket *bucket, int64_t now_ms)
{
  if (bucket->rate <= 0.0)
    return 1;
  bucket_refill(bucket, now_ms);
  if (bucket->tokens < 1.0)
    return 0;
  bucket->tokens -= 1.0;
  return 1;
}

/* --- Retry-After ---------------------------------------------------------- */

static int month_index(const char *name)
{
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; i++)
    if (strcmp(name, months[i]) == 0)
      return i;
  return -1;
}

/* The three date forms RFC 9110 section 5.6.7 obliges recipients to accept. */
static int parse_http_date(const char *s, time_t *out)
{
  char wday[10], mon[4];
  int day = 0, year = 0, hour = 0, min = 0, sec = 0, end = -1;
  size_t len = strlen(s);
  /* %n is stored only when the whole pattern matched; `end == len` also
   * rejects trailing text. */
  sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wday, &day, mon,
         &year, &hour, &min, &sec, &end); /* IMF-fixdate */
  if (end < 0) {
    sscanf(s, "%9[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", wday, &day,
           mon, &year, &hour, &min, &sec, &end); /* RFC 850 */
    /* A two-digit year: read it as the closest century. */
    if (end >= 0)
      year += year < 70 ? 2000 : 1900;
  }
  if (end < 0)
    sscanf(s, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wday, mon, &day,
           &hour, &min, &sec, &year, &end); /* asctime */
  if (end < 0 || (size_t)end != len)
    return WFE_E_INVALID;
  int month = month_index(mon);
  if (month < 0 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 ||
      year < 1970 || hour < 0 || min < 0 || sec < 0)
    return WFE_E_INVALID;
  struct tm tm = {0};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  if (t == (time_t)-1)
    return WFE_E_INVALID;
  *out = t;
  return 0;
}

int wfe_retry_after_parse(const char *value, time_t now, int64_t *out)
{
  if (!value)
    return WFE_E_INVALID;
  while (*value == ' ' || *value == '\t')
    value++;
  size_t len = strlen(value);
  while (len && (value[len - 1] == ' ' || value[len - 1] == '\t' ||
                 value[len - 1] == '\r' || value[len - 1] == '\n'))
    len--;
  if (!len || len >= 64)
    return WFE_E_INVALID;
  char text[64];
  memcpy(text, value, len);
  text[len] = '\0';

  if (isdigit((unsigned char)text[0])) {
    int64_t seconds = 0;
    for (size_t i = 0; i < len; i++) {
      if (!isdigit((unsigned char)text[i]))
        return WFE_E_INVALID;
      /* Saturate absurd values rather than reject them. */
      if (seconds < INT64_MAX / 10000)
        seconds = seconds * 10 + (text[i] - '0');
    }
    *out = seconds * 1000;
    return 0;
  }
  time_t when;
  if (parse_http_date(text, &when))
    return WFE_E_INVALID;
  *out = when > now ? (int64_t)(when - now) * 1000 : 0;
  return 0;
}
