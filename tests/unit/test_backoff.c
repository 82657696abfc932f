/* Backoff, token bucket and Retry-After: the waiting rules of the runtime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"
#include "status.h"

static double fixed_random(void *ctx)
{
  return *(const double *)ctx;
}

static void test_backoff_doubles_from_base_up_to_cap(void **state)
{
  struct wfe_backoff backoff;
  wfe_backoff_init(&backoff, 800, 30000, WFE_JITTER_NONE);
  const int64_t expected[] = {800,   1600,  3200,  6400, 12800,
                              25600, 30000, 30000, 30000};
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
    assert_int_equal(wfe_backoff_next(&backoff, (int64_t)i), expected[i]);
}

static void test_backoff_exponential_never_overflows(void **state)
{
  assert_int_equal(wfe_backoff_exponential(5, 1000000, 2.0, 0), 5);
  assert_int_equal(wfe_backoff_exponential(5, 1000000, 2.0, 10), 5120);
  assert_int_equal(wfe_backoff_exponential(5, 1000000, 2.0, 1000), 1000000);
  assert_int_equal(wfe_backoff_exponential(5, 1000000, 2.0, UINT32_MAX),
                   1000000);
  assert_true(wfe_backoff_exponential(5, 0, 2.0, 5000) == INT64_MAX);
}

static void test_backoff_full_jitter_stays_below_the_delay(void **state)
{
  double r = 0.0;
  struct wfe_backoff backoff;
  wfe_backoff_init(&backoff, 1000, 30000, WFE_JITTER_FULL);
  backoff.rand = fixed_random;
  backoff.rand_ctx = &r;
  assert_int_equal(wfe_backoff_next(&backoff, 0), 0);
  r = 0.5;
  assert_int_equal(wfe_backoff_next(&backoff, 0), 1000); /* half of 2000 */
  r = 0.999999;
  assert_int_equal(wfe_backoff_next(&backoff, 0), 3999); /* below 4000 */
}

static void test_backoff_equal_jitter_keeps_at_least_half(void **state)
{
  assert_int_equal(wfe_backoff_jitter(1000, WFE_JITTER_EQUAL, 0.0), 500);
  assert_int_equal(wfe_backoff_jitter(1000, WFE_JITTER_EQUAL, 0.5), 750);
  assert_int_equal(wfe_backoff_jitter(1000, WFE_JITTER_EQUAL, 0.999999), 999);
  assert_int_equal(wfe_backoff_jitter(1000, WFE_JITTER_NONE, 0.7), 1000);
  /* A broken random source cannot push the delay out of range. */
  assert_int_equal(wfe_backoff_jitter(1000, WFE_JITTER_FULL, 7.0), 0);
}

static void test_backoff_internal_random_respects_jitter_bounds(void **state)
{
  struct wfe_backoff backoff;
  wfe_backoff_init_reflector(&backoff);
  for (int i = 0; i < 1000; i++) {
    wfe_backoff_reset(&backoff);
    int64_t delay = wfe_backoff_next(&backoff, 0);
    assert_true(delay >= 400 && delay < 800);
  }
  for (int i = 0; i < 20; i++) {
    int64_t delay = wfe_backoff_next(&backoff, 0);
    assert_true(delay >= 0 && delay < 30000);
  }
  int64_t capped = wfe_backoff_next(&backoff, 0);
  assert_true(capped >= 15000 && capped < 30000);
}

static void test_backoff_reset_starts_from_base_again(void **state)
{
  struct wfe_backoff backoff;
  wfe_backoff_init(&backoff, 100, 10000, WFE_JITTER_NONE);
  wfe_backoff_next(&backoff, 0);
  wfe_backoff_next(&backoff, 0);
  assert_int_equal(wfe_backoff_next(&backoff, 0), 400);
  wfe_backoff_reset(&backoff);
  assert_int_equal(wfe_backoff_next(&backoff, 0), 100);
}

static void
test_backoff_reflector_forgets_after_two_minutes_of_health(void **state)
{
  double r = 0.999999;
  struct wfe_backoff backoff;
  wfe_backoff_init_reflector(&backoff);
  backoff.jitter = WFE_JITTER_NONE;
  backoff.rand = fixed_random;
  backoff.rand_ctx = &r;
  assert_int_equal(wfe_backoff_next(&backoff, 0), 800);
  assert_int_equal(wfe_backoff_next(&backoff, 1000), 1600);
  /* Failures closer than 2 minutes keep growing... */
  assert_int_equal(wfe_backoff_next(&backoff, 1000 + 119999), 3200);
  /* ...a 2-minute healthy stretch starts over. */
  assert_int_equal(wfe_backoff_next(&backoff, 1000 + 119999 + 120000), 800);
}

static void test_token_bucket_allows_burst_then_rate(void **state)
{
  struct wfe_token_bucket bucket;
  wfe_token_bucket_init(&bucket, 10, 100, 0);
  for (int i = 0; i < 100; i++)
    assert_int_equal(wfe_token_bucket_reserve(&bucket, 0), 0);
  /* The 101st token comes after 100 ms, the 102nd after 200 ms. */
  assert_int_equal(wfe_token_bucket_reserve(&bucket, 0), 100);
  assert_int_equal(wfe_token_bucket_reserve(&bucket, 0), 200);
  /* 300 ms later the debt is paid and one token is spare. */
  assert_int_equal(wfe_token_bucket_reserve(&bucket, 300), 0);
  assert_int_equal(wfe_token_bucket_reserve(&bucket, 300), 100);
}

static void test_token_bucket_refills_no_more_than_burst(void **state)
{
  struct wfe_token_bucket bucket;
  wfe_token_bucket_init(&bucket, 10, 2, 0);
  assert_true(wfe_token_bucket_try_take(&bucket, 0));
  assert_true(wfe_token_bucket_try_take(&bucket, 0));
  assert_false(wfe_token_bucket_try_take(&bucket, 0));
  assert_false(wfe_token_bucket_try_take(&bucket, 99));
  assert_true(wfe_token_bucket_try_take(&bucket, 101));
  /* An hour idle stores only `burst` tokens. */
  assert_true(wfe_token_bucket_try_take(&bucket, 3600000));
  assert_true(wfe_token_bucket_try_take(&bucket, 3600000));
  assert_false(wfe_token_bucket_try_take(&bucket, 3600000));
}

static void test_token_bucket_with_no_rate_is_unlimited(void **state)
{
  struct wfe_token_bucket bucket;
  wfe_token_bucket_init(&bucket, -1, 1, 0);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(wfe_token_bucket_reserve(&bucket, 0), 0);
}

static void test_retry_after_reads_delta_seconds(void **state)
{
  int64_t delay = -1;
  assert_int_equal(wfe_retry_after_parse("120", 0, &delay), 0);
  assert_int_equal(delay, 120000);
  assert_int_equal(wfe_retry_after_parse(" 0 \r\n", 0, &delay), 0);
  assert_int_equal(delay, 0);
  assert_int_equal(wfe_retry_after_parse("99999999999999999999", 0, &delay), 0);
  assert_true(delay > 0);
}

static void test_retry_after_reads_all_three_http_date_forms(void **state)
{
  /* Sun, 06 Nov 1994 08:49:37 GMT is 784111777; ask 7 s before it. */
  time_t now = 784111777 - 7;
  int64_t delay = -1;
  assert_int_equal(
      wfe_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", now, &delay), 0);
  assert_int_equal(delay, 7000);
  delay = -1;
  assert_int_equal(
      wfe_retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", now, &delay), 0);
  assert_int_equal(delay, 7000);
  delay = -1;
  assert_int_equal(
      wfe_retry_after_parse("Sun Nov  6 08:49:37 1994", now, &delay), 0);
  assert_int_equal(delay, 7000);
}

static void test_retry_after_date_in_the_past_means_now(void **state)
{
  int64_t delay = -1;
  assert_int_equal(wfe_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT",
                                         784111777 + 60, &delay),
                   0);
  assert_int_equal(delay, 0);
}

static void test_retry_after_rejects_garbage(void **state)
{
  int64_t delay = 42;
  const char *bad[] = {"",
                       "soon",
                       "-5",
                       "1.5",
                       "12abc",
                       "Sun, 06 Foo 1994 08:49:37 GMT",
                       "Sun, 06 Nov 1994 08:49:37 CET",
                       "Sun, 32 Nov 1994 08:49:37 GMT",
                       "Sun, 06 Nov 1994 25:49:37 GMT",
                       "Sun, 06 Nov 1994 08:49:37 GMT trailing"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(wfe_retry_after_parse(bad[i], 0, &delay), WFE_E_INVALID);
  assert_int_equal(wfe_retry_after_parse(NULL, 0, &delay), WFE_E_INVALID);
  assert_int_equal(delay, 42);
}

static void test_monotonic_clock_does_not_go_back(void **state)
{
  int64_t a = wfe_monotonic_ns();
  int64_t b = wfe_monotonic_ns();
  assert_true(b >= a);
  assert_true(wfe_monotonic_ms() >= a / 1000000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backoff_doubles_from_base_up_to_cap),
      cmocka_unit_test(test_backoff_exponential_never_overflows),
      cmocka_unit_test(test_backoff_full_jitter_stays_below_the_delay),
      cmocka_unit_test(test_backoff_equal_jitter_keeps_at_least_half),
      cmocka_unit_test(test_backoff_internal_random_respects_jitter_bounds),
      cmocka_unit_test(test_backoff_reset_starts_from_base_again),
      cmocka_unit_test(
          test_backoff_reflector_forgets_after_two_minutes_of_health),
      cmocka_unit_test(test_token_bucket_allows_burst_then_rate),
      cmocka_unit_test(test_token_bucket_refills_no_more_than_burst),
      cmocka_unit_test(test_token_bucket_with_no_rate_is_unlimited),
      cmocka_unit_test(test_retry_after_reads_delta_seconds),
      cmocka_unit_test(test_retry_after_reads_all_three_http_date_forms),
      cmocka_unit_test(test_retry_after_date_in_the_past_means_now),
      cmocka_unit_test(test_retry_after_rejects_garbage),
      cmocka_unit_test(test_monotonic_clock_does_not_go_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
