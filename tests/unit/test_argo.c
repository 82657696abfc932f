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

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <wfe/engine.h>

#include "buf.h"
#include "engine_support.h"
#include "error.h"
#include "host.h"

struct fixture {
  void *module;
  const wfe_engine *engine;
  struct wfe_host_services services;
  void *instance;
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  f->engine = test_open_engine(WFE_ARGO_PLUGIN, &f->module);
  wfe_host_services_init(&f->services, NULL, NULL);
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(
      f->engine->create(&f->services.table, "{}", 2, &f->instance, &err),
      WFE_OK);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  f->engine->destroy(f->instance);
  dlclose(f->module);
  free(f);
  return 0;
}

static void test_argo_engine_is_a_workflow_engine(void **state)
{
  struct fixture *f = *state;
  assert_string_equal(f->engine->name, "argo");
  assert_string_equal(f->engine->run_type->api_version, "argoproj.io/v1alpha1");
  assert_string_equal(f->engine->run_type->kind, "Workflow");
  assert_string_equal(f->engine->run_type->resource, "workflows");
  assert_false(f->engine->run_type->has_status_subresource);
}

static void test_argo_create_rejects_any_config_key(void **state)
{
  struct fixture *f = *state;
  struct wfe_error err = WFE_ERROR_INIT;
  void *instance = NULL;
  const char *config = "{\"namespace\":\"argo\"}";
  assert_int_equal(f->engine->create(&f->services.table, config, strlen(config),
                                     &instance, &err),
                   WFE_E_INVALID);
  assert_null(instance);
  assert_string_equal(err.reason, "UnknownConfigKey");
  assert_string_equal(err.field, "namespace");
  wfe_error_clear(&err);
}

static void test_argo_validate_accepts_our_parameters(void **state)
{
  struct fixture *f = *state;
  char *execution = test_read_data("argo", "execution.json");
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(
      f->engine->validate(f->instance, execution, strlen(execution), &err),
      WFE_OK);
  free(execution);
}

static void test_argo_render_is_not_implemented(void **state)
{
  struct fixture *f = *state;
  char *execution = test_read_data("argo", "execution.json");
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(
      f->engine->render(f->instance, execution, strlen(execution), &out, &err),
      WFE_E_UNSUPPORTED);
  assert_string_equal(err.reason, "NotImplemented");
  assert_false(err.retryable);
  assert_non_null(strstr(err.message, "not implemented yet"));
  assert_non_null(strstr(err.message, "\"tekton\""));
  assert_int_equal(out.len, 0);
  wfe_error_clear(&err);
  free(execution);
}

static void expect_phase(struct fixture *f, const char *status,
                         const char *expected)
{
  char run[1024];
  snprintf(run, sizeof(run),
           "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\","
           "\"metadata\":{\"name\":\"wf\",\"namespace\":\"payments\"},"
           "\"status\":%s}",
           status);
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = f->engine->interpret(f->instance, run, strlen(run), &out, &err);
  if (rc != WFE_OK)
    fail_msg("%s: %s", status, wfe_error_message(&err));
  test_assert_json_equal(wfe_buf_str(&out), expected, "argo");
  wfe_buf_free(&out);
}

static void test_argo_interpret_maps_phases(void **state)
{
  struct fixture *f = *state;
  expect_phase(f, "{}", "{\"phase\":\"Running\",\"reason\":\"Pending\"}");
  expect_phase(f, "{\"phase\":\"\"}",
               "{\"phase\":\"Running\",\"reason\":\"Pending\"}");
  expect_phase(f, "{\"phase\":\"Pending\"}",
               "{\"phase\":\"Running\",\"reason\":\"Pending\"}");
  expect_phase(f,
               "{\"phase\":\"Running\",\"startedAt\":\"2025-11-20T09:14:04Z\"}",
               "{\"phase\":\"Running\",\"reason\":\"Running\",\"startTime\":"
               "\"2025-11-20T09:14:04Z\"}");
  expect_phase(
      f,
      "{\"phase\":\"Succeeded\",\"startedAt\":\"2025-11-20T09:14:04Z\","
      "\"finishedAt\":\"2025-11-20T09:16:41Z\"}",
      "{\"phase\":\"Completed\",\"outcome\":\"Success\",\"reason\":"
      "\"Succeeded\",\"startTime\":\"2025-11-20T09:14:04Z\","
      "\"completionTime\":\"2025-11-20T09:16:41Z\"}");
  expect_phase(f,
               "{\"phase\":\"Failed\",\"message\":\"child 'wf-123' failed\"}",
               "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
               "\"Failed\",\"message\":\"child 'wf-123' failed\"}");
  expect_phase(f, "{\"phase\":\"Error\",\"message\":\"pod deleted\"}",
               "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
               "\"Error\",\"message\":\"pod deleted\"}");
}

static void test_argo_interpret_deadline_messages_are_timeouts(void **state)
{
  struct fixture *f = *state;
  expect_phase(f,
               "{\"phase\":\"Failed\",\"message\":\"Step exceeded its "
               "deadline\"}",
               "{\"phase\":\"Failed\",\"outcome\":\"Timeout\",\"reason\":"
               "\"Failed\",\"message\":\"Step exceeded its deadline\"}");
  expect_phase(f,
               "{\"phase\":\"Failed\",\"message\":\"Workflow exceeded "
               "activeDeadlineSeconds\"}",
               "{\"phase\":\"Failed\",\"outcome\":\"Timeout\",\"reason\":"
               "\"Failed\",\"message\":\"Workflow exceeded "
               "activeDeadlineSeconds\"}");
}

static void test_argo_interpret_rejects_an_unknown_phase(void **state)
{
  struct fixture *f = *state;
  const char *run = "{\"status\":{\"phase\":\"Exploded\"}}";
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(
      f->engine->interpret(f->instance, run, strlen(run), &out, &err),
      WFE_E_INVALID);
  assert_string_equal(err.field, "status.phase");
  wfe_error_clear(&err);
  run = "{\"status\":{\"phase\":3}}";
  assert_int_equal(
      f->engine->interpret(f->instance, run, strlen(run), &out, &err),
      WFE_E_INVALID);
  assert_string_equal(err.field, "status.phase");
  wfe_error_clear(&err);
}

static void test_argo_cancel_stops_the_workflow(void **state)
{
  struct fixture *f = *state;
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(f->engine->cancel(f->instance, "{}", 2, &out, &err), WFE_OK);
  test_assert_json_equal(wfe_buf_str(&out),
                         "{\"spec\":{\"shutdown\":\"Stop\"}}", "argo");
  wfe_buf_free(&out);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

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
