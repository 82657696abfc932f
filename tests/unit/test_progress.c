/*
 * The bound on a running execution's status writes (progress.h), on a clock
 * the test moves: when a change of reason or of message may be written, how
 * many writes a run costs however often its engine's reading changes, and
 * the Event reason a change of reason gets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "progress.h"
#include "status.h"

#define KEY "shop/restart-checkout"

static struct wfe_progress *new_progress(int64_t interval_ms)
{
  struct wfe_progress *progress = NULL;
  assert_int_equal(wfe_progress_new(interval_ms, &progress), 0);
  assert_non_null(progress);
  return progress;
}

/* Most tests: the default interval, 10 s. */
static int setup(void **state)
{
  *state = new_progress(10000);
  return 0;
}

static int teardown(void **state)
{
  wfe_progress_free(*state);
  return 0;
}

static void test_progress_writes_the_first_change_at_once(void **state)
{
  struct wfe_progress *progress = *state;
  assert_int_equal(wfe_progress_delay(progress, KEY, 0, 5000), 0);
  assert_int_equal(wfe_progress_delay(progress, KEY, 1, 5000), 0);
}

static void test_progress_holds_a_new_message_for_the_interval(void **state)
{
  struct wfe_progress *progress = *state;
  wfe_progress_written(progress, KEY, 1000);
  assert_int_equal(wfe_progress_delay(progress, KEY, 0, 1000), 10000);
  assert_int_equal(wfe_progress_delay(progress, KEY, 0, 4000), 7000);
  assert_int_equal(wfe_progress_delay(progress, KEY, 0, 10999), 1);
  assert_int_equal(wfe_progress_delay(progress, KEY, 0, 11000), 0);
  assert_int_equal(wfe_progress_delay(progress, KEY, 0, 60000), 0);
}

static void test_progress_holds_a_new_reason_for_one_second(void **state)
{
  struct wfe_progress *progress = *state;
  wfe_progress_written(progress, KEY, 1000);
  assert_int_equal(wfe_progress_delay(progress, KEY, 1, 1200),
                   WFE_PROGRESS_REASON_GAP_MS - 200);
  assert_int_equal(wfe_progress_delay(progress, KEY, 1, 2000), 0);
  /* A message alone still waits for the interval. */
  assert_int_equal(wfe_progress_delay(progress, KEY, 0, 2000), 9000);
}

static void test_progress_bounds_each_execution_on_its_own(void **state)
{
  struct wfe_progress *progress = *state;
  wfe_progress_written(progress, KEY, 1000);
  assert_int_equal(wfe_progress_delay(progress, "shop/other", 0, 1000), 0);
  wfe_progress_forget(progress, KEY);
  assert_int_equal(wfe_progress_delay(progress, KEY, 0, 1000), 0);
  wfe_progress_forget(progress, "never/seen");
}

static void test_progress_interval_is_never_below_the_reason_gap(void **state)
{
  (void)state;
  struct wfe_progress *progress = new_progress(10);
  wfe_progress_written(progress, KEY, 0);
  assert_int_equal(wfe_progress_delay(progress, KEY, 0, 0),
                   WFE_PROGRESS_REASON_GAP_MS);
  wfe_progress_free(progress);
}

static void test_progress_survives_a_clock_that_steps_back(void **state)
{
  struct wfe_progress *progress = *state;
  wfe_progress_written(progress, KEY, 5000);
  assert_int_equal(wfe_progress_delay(progress, KEY, 0, 4000), 10000);
}

/* The reconciler's use of the bound: a change is written when its delay is
 * 0, otherwise it waits (a requeue); returns the writes over `duration_ms`
 * when the engine's reading changes every `every_ms`. */
static int writes_over(struct wfe_progress *progress, int reason_changes,
                       int64_t every_ms, int64_t duration_ms)
{
  int writes = 0;
  for (int64_t now = 0; now <= duration_ms; now += every_ms) {
    if (wfe_progress_delay(progress, KEY, reason_changes, now) == 0) {
      wfe_progress_written(progress, KEY, now);
      writes++;
    }
  }
  return writes;
}

static void test_progress_bounds_a_chatty_engine(void **state)
{
  struct wfe_progress *progress = *state;
  /* A new message every 100 ms for a minute: one write per interval. */
  assert_int_equal(writes_over(progress, 0, 100, 60000), 7);
  wfe_progress_forget(progress, KEY);
  /* A new reason every 100 ms (a flapping engine): one write a second. */
  assert_int_equal(writes_over(progress, 1, 100, 60000), 61);
}

static void test_progress_event_reason_is_the_engines_camel_case(void **state)
{
  assert_string_equal(wfe_progress_event_reason("ResolvingPipelineRef"),
                      "ResolvingPipelineRef");
  assert_string_equal(wfe_progress_event_reason("Running"), "Running");
  assert_string_equal(wfe_progress_event_reason("PipelineRunStopping2"),
                      "PipelineRunStopping2");
  const char *other[] = {
      "", "running", "Task failed", "Stopping!", "Resolving-x", "Ré", NULL};
  for (int i = 0; other[i]; i++)
    assert_string_equal(wfe_progress_event_reason(other[i]),
                        WFE_PROGRESS_EVENT_REASON);
  assert_string_equal(wfe_progress_event_reason(NULL),
                      WFE_PROGRESS_EVENT_REASON);
  char longest[130];
  longest[0] = 'A';
  for (int i = 1; i < 129; i++)
    longest[i] = 'b';
  longest[129] = '\0'; /* 129 bytes: one past the Event's limit */
  assert_string_equal(wfe_progress_event_reason(longest),
                      WFE_PROGRESS_EVENT_REASON);
  longest[128] = '\0';
  assert_ptr_equal(wfe_progress_event_reason(longest), longest);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_progress_writes_the_first_change_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_progress_holds_a_new_message_for_the_interval, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_progress_holds_a_new_reason_for_one_second, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_progress_bounds_each_execution_on_its_own, setup, teardown),
      cmocka_unit_test(test_progress_interval_is_never_below_the_reason_gap),
      cmocka_unit_test_setup_teardown(
          test_progress_survives_a_clock_that_steps_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_progress_bounds_a_chatty_engine,
                                      setup, teardown),
      cmocka_unit_test(test_progress_event_reason_is_the_engines_camel_case),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
