/*
 * The Argo engine, through the ABI: it loads and creates like any engine,
 * refuses to render with a permanent NotImplemented error, maps Workflow
 * phases onto the interpret document, and stops Workflows with a shutdown
 * patch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <wfe/engine.h>

#include "buf.h"
#include "engine_support.h"
#include "error.h"
#include "host.h"

static int setup(void **state)
{
  struct test_engine *t =
      test_setup_fixture(state, sizeof(*t), WFE_ARGO_PLUGIN);
  wfe_host_services_init(&t->services, NULL, NULL);
  t->host = t->services.table;
  test_start_engine(t, "{}");
  return 0;
}

static void test_argo_engine_is_a_workflow_engine(void **state)
{
  struct test_engine *t = *state;
  test_check_run_type(t->engine, "argo", "argoproj.io/v1alpha1", "Workflow",
                      "workflows", false);
}

static void test_argo_create_rejects_any_config_key(void **state)
{
  struct test_engine *t = *state;
  struct wfe_error err = WFE_ERROR_INIT;
  void *instance = NULL;
  const char *config = "{\"namespace\":\"argo\"}";
  assert_int_equal(
      t->engine->create(&t->host, config, strlen(config), &instance, &err),
      WFE_E_INVALID);
  assert_null(instance);
  assert_string_equal(err.reason, "UnknownConfigKey");
  assert_string_equal(err.field, "namespace");
  wfe_error_clear(&err);
}

static void test_argo_validate_accepts_our_parameters(void **state)
{
  struct test_engine *t = *state;
  test_check_valid(t, "argo", "execution.json");
}

static void test_argo_render_is_not_implemented(void **state)
{
  struct test_engine *t = *state;
  char *execution = test_read_data("argo", "execution.json");
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(test_call_render(t, execution, &out, &err),
                   WFE_E_UNSUPPORTED);
  assert_string_equal(err.reason, "NotImplemented");
  assert_false(err.retryable);
  assert_non_null(strstr(err.message, "not implemented yet"));
  assert_non_null(strstr(err.message, "\"tekton\""));
  assert_int_equal(out.len, 0);
  wfe_error_clear(&err);
  free(execution);
}

static void expect_phase(struct test_engine *t, const char *status,
                         const char *expected)
{
  char *run = test_format(
      "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\","
      "\"metadata\":{\"name\":\"wf\",\"namespace\":\"payments\"},"
      "\"status\":%s}",
      status);
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = test_call_interpret(t, run, &out, &err);
  if (rc != WFE_OK)
    fail_msg("%s: %s", status, wfe_error_message(&err));
  test_assert_json_equal(wfe_buf_str(&out), expected, "argo");
  wfe_buf_free(&out);
  free(run);
}

static void test_argo_interpret_maps_phases(void **state)
{
  struct test_engine *t = *state;
  expect_phase(t, "{}", "{\"phase\":\"Running\",\"reason\":\"Pending\"}");
  expect_phase(t, "{\"phase\":\"\"}",
               "{\"phase\":\"Running\",\"reason\":\"Pending\"}");
  expect_phase(t, "{\"phase\":\"Pending\"}",
               "{\"phase\":\"Running\",\"reason\":\"Pending\"}");
  expect_phase(t,
               "{\"phase\":\"Running\",\"startedAt\":\"2025-11-20T09:14:04Z\"}",
               "{\"phase\":\"Running\",\"reason\":\"Running\",\"startTime\":"
               "\"2025-11-20T09:14:04Z\"}");
  expect_phase(
      t,
      "{\"phase\":\"Succeeded\",\"startedAt\":\"2025-11-20T09:14:04Z\","
      "\"finishedAt\":\"2025-11-20T09:16:41Z\"}",
      "{\"phase\":\"Completed\",\"outcome\":\"Success\",\"reason\":"
      "\"Succeeded\",\"startTime\":\"2025-11-20T09:14:04Z\","
      "\"completionTime\":\"2025-11-20T09:16:41Z\"}");
  expect_phase(t,
               "{\"phase\":\"Failed\",\"message\":\"child 'wf-123' failed\"}",
               "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
               "\"Failed\",\"message\":\"child 'wf-123' failed\"}");
  expect_phase(t, "{\"phase\":\"Error\",\"message\":\"pod deleted\"}",
               "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
               "\"Error\",\"message\":\"pod deleted\"}");
}

static void test_argo_interpret_deadline_messages_are_timeouts(void **state)
{
  struct test_engine *t = *state;
  expect_phase(t,
               "{\"phase\":\"Failed\",\"message\":\"Step exceeded its "
               "deadline\"}",
               "{\"phase\":\"Failed\",\"outcome\":\"Timeout\",\"reason\":"
               "\"Failed\",\"message\":\"Step exceeded its deadline\"}");
  expect_phase(t,
               "{\"phase\":\"Failed\",\"message\":\"Workflow exceeded "
               "activeDeadlineSeconds\"}",
               "{\"phase\":\"Failed\",\"outcome\":\"Timeout\",\"reason\":"
               "\"Failed\",\"message\":\"Workflow exceeded "
               "activeDeadlineSeconds\"}");
}

static void test_argo_interpret_rejects_an_unknown_phase(void **state)
{
  struct test_engine *t = *state;
  const char *run = "{\"status\":{\"phase\":\"Exploded\"}}";
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(test_call_interpret(t, run, &out, &err), WFE_E_INVALID);
  assert_string_equal(err.field, "status.phase");
  wfe_error_clear(&err);
  run = "{\"status\":{\"phase\":3}}";
  assert_int_equal(test_call_interpret(t, run, &out, &err), WFE_E_INVALID);
  assert_string_equal(err.field, "status.phase");
  wfe_error_clear(&err);
}

static void test_argo_cancel_stops_the_workflow(void **state)
{
  struct test_engine *t = *state;
  test_check_cancel(t, "{}", "{\"spec\":{\"shutdown\":\"Stop\"}}", "argo");
}

#define T(test) TEST_ENGINE_CASE(test, setup)

int main(void)
{
  const struct CMUnitTest tests[] = {
      T(test_argo_engine_is_a_workflow_engine),
      T(test_argo_create_rejects_any_config_key),
      T(test_argo_validate_accepts_our_parameters),
      T(test_argo_render_is_not_implemented),
      T(test_argo_interpret_maps_phases),
      T(test_argo_interpret_deadline_messages_are_timeouts),
      T(test_argo_interpret_rejects_an_unknown_phase),
      T(test_argo_cancel_stops_the_workflow),
  };
  return cmocka_run_group_tests_name("argo engine", tests, NULL, NULL);
}
