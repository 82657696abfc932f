/*
 * Specification of the pure parts of leader election (core/kube/leader.c):
 * Lease times in metav1.MicroTime format, the takeover decision, and the checks
 * on the elector's options. The election itself runs against a real API server
 * in tests/integration/test_leader.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "leader.h"
#include "metrics.h"

/* 2006-01-02T15:04:05Z, Go's reference time. */
#define REFERENCE_US INT64_C(1136214245000000)

static void test_microtime_formats_epoch_with_six_fraction_digits(void **state)
{
  char text[WFE_MICROTIME_LEN + 1];
  assert_int_equal(wfe_microtime_format(0, text, sizeof(text)), 0);
  assert_string_equal(text, "1970-01-01T00:00:00.000000Z");
}

static void test_microtime_formats_reference_time_with_micros(void **state)
{
  char text[WFE_MICROTIME_LEN + 1];
  assert_int_equal(
      wfe_microtime_format(REFERENCE_US + 123456, text, sizeof(text)), 0);
  assert_string_equal(text, "2006-01-02T15:04:05.123456Z");
  assert_int_equal(strlen(text), WFE_MICROTIME_LEN);
}

static void test_microtime_format_rejects_small_buffer(void **state)
{
  char text[WFE_MICROTIME_LEN];
  assert_int_equal(wfe_microtime_format(0, text, sizeof(text)), WFE_E_INVALID);
}

static void test_microtime_parse_round_trips_format(void **state)
{
  char text[WFE_MICROTIME_LEN + 1];
  int64_t now = wfe_microtime_now();
  assert_int_equal(wfe_microtime_format(now, text, sizeof(text)), 0);
  int64_t parsed = 0;
  assert_int_equal(wfe_microtime_parse(text, &parsed), 0);
  assert_int_equal(parsed, now);
}

static void test_microtime_parse_accepts_rfc3339_variants(void **state)
{
  int64_t t = 0;
  assert_int_equal(wfe_microtime_parse("2006-01-02T15:04:05Z", &t), 0);
  assert_int_equal(t, REFERENCE_US);
  assert_int_equal(wfe_microtime_parse("2006-01-02T16:04:05+01:00", &t), 0);
  assert_int_equal(t, REFERENCE_US);
  assert_int_equal(wfe_microtime_parse("2006-01-02T15:04:05.5Z", &t), 0);
  assert_int_equal(t, REFERENCE_US + 500000);
  /* Nanoseconds (metav1.Time from other clients) are cut to micros. */
  assert_int_equal(wfe_microtime_parse("2006-01-02T15:04:05.123456789Z", &t),
                   0);
  assert_int_equal(t, REFERENCE_US + 123456);
  assert_int_equal(wfe_microtime_parse("2000-02-29T00:00:00Z", &t), 0);
}

static void test_microtime_parse_rejects_malformed_times(void **state)
{
  static const char *const bad[] = {
      "",
      "2006-01-02",
      "2006-01-02T15:04:05",      /* no zone */
      "2006-01-02 15:04:05Z",     /* space */
      "2006-13-02T15:04:05Z",     /* month */
      "2006-02-29T15:04:05Z",     /* not a leap year */
      "2006-01-02T24:00:00Z",     /* hour */
      "2006-01-02T15:04:05.Z",    /* empty fraction */
      "2006-01-02T15:04:05Zjunk", /* trailing */
      "2006-01-02T15:04:05+0100", /* offset without colon */
      "2006-01-02T15:04:05.1234567890Z",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int64_t t = 42;
    assert_int_equal(wfe_microtime_parse(bad[i], &t), WFE_E_INVALID);
    assert_int_equal(t, 42);
  }
}

static void test_lease_without_holder_is_free(void **state)
{
  assert_int_equal(wfe_lease_decide(NULL, "me", 15, 0, 0), WFE_LEASE_FREE);
  /* A released lease: holder "" and one second, taken at once. */
  assert_int_equal(wfe_lease_decide("", "me", 1, 1000, 1000), WFE_LEASE_FREE);
}

static void test_lease_held_by_us_is_ours_even_when_old(void **state)
{
  assert_int_equal(wfe_lease_decide("me", "me", 15, 0, 999999), WFE_LEASE_OURS);
}

static void
test_lease_of_another_is_held_until_its_duration_passes(void **state)
{
  /* Observed (changed) at 10 s, 15 s lease: valid through 24.999 s. */
  assert_int_equal(wfe_lease_decide("other", "me", 15, 10000, 10000),
                   WFE_LEASE_HELD);
  assert_int_equal(wfe_lease_decide("other", "me", 15, 10000, 24999),
                   WFE_LEASE_HELD);
  assert_int_equal(wfe_lease_decide("other", "me", 15, 10000, 25000),
                   WFE_LEASE_EXPIRED);
}

static void test_lease_expiry_uses_the_records_duration_not_ours(void **state)
{
  /* The holder wrote a 60 s lease: 15 s later it is still valid. */
  assert_int_equal(wfe_lease_decide("other", "me", 60, 0, 15000),
                   WFE_LEASE_HELD);
  /* A record without a duration expires at once. */
  assert_int_equal(wfe_lease_decide("other", "me", 0, 0, 0), WFE_LEASE_EXPIRED);
}

static int fake_client_storage;
#define FAKE_CLIENT ((struct wfe_kube_client *)&fake_client_storage)

static void test_leader_new_rejects_renew_deadline_not_below_lease(void **state)
{
  struct wfe_leader_options options = {.namespace_name = "ns",
                                       .name = "lease",
                                       .lease_duration_ms = 10000,
                                       .renew_deadline_ms = 10000,
                                       .retry_period_ms = 2000};
  struct wfe_leader *leader = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_leader_new(FAKE_CLIENT, &options, NULL, &leader, &err),
                   WFE_E_INVALID);
  assert_null(leader);
  wfe_error_clear(&err);
  /* Retry too slow for the deadline. */
  options.lease_duration_ms = 15000;
  options.retry_period_ms = 9000;
  assert_int_equal(wfe_leader_new(FAKE_CLIENT, &options, NULL, &leader, &err),
                   WFE_E_INVALID);
  wfe_error_clear(&err);
}

static void
test_leader_default_identity_is_hostname_underscore_random(void **state)
{
  struct wfe_leader_options options = {.namespace_name = "ns", .name = "lease"};
  struct wfe_leader *a = NULL, *b = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_leader_new(FAKE_CLIENT, &options, NULL, &a, &err), 0);
  assert_int_equal(wfe_leader_new(FAKE_CLIENT, &options, NULL, &b, &err), 0);
  char host[256] = "";
  gethostname(host, sizeof(host));
  const char *id = wfe_leader_identity(a);
  assert_int_equal(strncmp(id, host, strlen(host)), 0);
  assert_int_equal(id[strlen(host)], '_');
  assert_int_equal(strlen(id + strlen(host) + 1), 16);
  assert_string_not_equal(id, wfe_leader_identity(b));
  /* Not started: not the leader, and release has nothing to hand back. */
  assert_int_equal(wfe_leader_is_leader(a), 0);
  assert_int_equal(wfe_leader_release(a, &err), 0);
  wfe_leader_free(a);
  wfe_leader_free(b);
  assert_int_equal(wfe_leader_is_leader(NULL), 0);
}

static void
test_leader_exports_master_status_as_zero_until_leading(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  struct wfe_leader_options options = {
      .namespace_name = "ns", .name = "wfe-leader", .metrics = metrics};
  struct wfe_leader *leader = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_leader_new(FAKE_CLIENT, &options, NULL, &leader, &err),
                   0);
  struct wfe_buf text = WFE_BUF_INIT;
  assert_int_equal(wfe_metrics_render(metrics, &text), 0);
  assert_non_null(
      strstr(wfe_buf_str(&text),
             "leader_election_master_status{name=\"wfe-leader\"} 0"));
  wfe_buf_free(&text);
  wfe_leader_free(leader);
  wfe_metrics_free(metrics);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test(name)
      T(test_microtime_formats_epoch_with_six_fraction_digits),
      T(test_microtime_formats_reference_time_with_micros),
      T(test_microtime_format_rejects_small_buffer),
      T(test_microtime_parse_round_trips_format),
      T(test_microtime_parse_accepts_rfc3339_variants),
      T(test_microtime_parse_rejects_malformed_times),
      T(test_lease_without_holder_is_free),
      T(test_lease_held_by_us_is_ours_even_when_old),
      T(test_lease_of_another_is_held_until_its_duration_passes),
      T(test_lease_expiry_uses_the_records_duration_not_ours),
      T(test_leader_new_rejects_renew_deadline_not_below_lease),
      T(test_leader_default_identity_is_hostname_underscore_random),
      T(test_leader_exports_master_status_as_zero_until_leading),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
