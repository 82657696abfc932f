/*
 * The Argo engine, through the ABI: the built argo.so is loaded with dlopen,
 * given a host from wfe_host_services_init, and driven with
 * WorkflowExecution and Workflow documents from tests/data/argo (Workflows
 * as Argo Workflows v3.7 writes them; the compressed-node fixtures are made
 * by tests/data/argo/status/make-compressed.py). No API server is involved:
 * the engine reads only the Workflow.
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

/* The configuration of the "mapped" golden render. */
#define MAPPED_CONFIG                                                          \
  "{\"activeDeadlineSeconds\":900,\"clusterScope\":true,\"templates\":"        \
  "{\"restart-deployment\":\"kubernaut-restart\"}}"

static int setup_with(void **state, const char *config)
{
  struct test_engine *t =
      test_setup_fixture(state, sizeof(*t), WFE_ARGO_PLUGIN);
  wfe_host_services_init(&t->services, NULL, NULL);
  t->host = t->services.table;
  test_start_engine(t, config);
  return 0;
}

static int setup(void **state)
{
  return setup_with(state, "{}");
}

static int setup_mapped(void **state)
{
  return setup_with(state, MAPPED_CONFIG);
}

/* ---- configuration ------------------------------------------------------- */

static void test_config_defaults_every_key(void **state)
{
  test_check_describe(*state, "argo",
                      "{\"activeDeadlineSeconds\":3600,\"clusterScope\":false,"
                      "\"templates\":{}}");
}

static void test_config_accepts_each_key_and_describes_it(void **state)
{
  struct test_engine *t = *state;
  test_recreate_engine(t, MAPPED_CONFIG);
  test_check_describe(t, "argo", MAPPED_CONFIG);
  test_recreate_engine(t, "{\"activeDeadlineSeconds\":604800,"
                          "\"clusterScope\":false,\"templates\":{}}");
  test_check_describe(t, "argo",
                      "{\"activeDeadlineSeconds\":604800,\"clusterScope\":"
                      "false,\"templates\":{}}");
  test_recreate_engine(t, "{\"activeDeadlineSeconds\":1}");
  test_check_describe(t, "argo",
                      "{\"activeDeadlineSeconds\":1,\"clusterScope\":false,"
                      "\"templates\":{}}");
}

static void test_config_rejects_an_unknown_key_naming_it(void **state)
{
  struct test_engine *t = *state;
  test_expect_config_invalid(t, "{\"podGCStrategy\":\"OnPodSuccess\"}",
                             "UnknownConfigKey", "podGCStrategy",
                             "podGCStrategy");
  /* refused after an accepted map: nothing of it is kept (ASan: no leak) */
  test_expect_config_invalid(
      t, "{\"templates\":{\"a\":\"b\"},\"namespace\":\"x\"}",
      "UnknownConfigKey", "namespace", "namespace");
}

static void test_config_rejects_wrong_types_and_ranges(void **state)
{
  static const char deadline[] = "must be an integer from 1 to 604800";
  static const char subdomain[] = "DNS-1123 subdomain";
  /* each refused as InvalidConfig: the key named (NULL: none), and words of
   * its message (NULL: any) */
  static const struct {
    const char *config;
    const char *field;
    const char *words;
  } cases[] = {
      {"{\"activeDeadlineSeconds\":\"1h\"}", "activeDeadlineSeconds", deadline},
      {"{\"activeDeadlineSeconds\":0}", "activeDeadlineSeconds", deadline},
      {"{\"activeDeadlineSeconds\":604801}", "activeDeadlineSeconds", deadline},
      {"{\"activeDeadlineSeconds\":60.5}", "activeDeadlineSeconds", deadline},
      {"{\"activeDeadlineSeconds\":null}", "activeDeadlineSeconds", deadline},
      {"{\"clusterScope\":\"true\"}", "clusterScope", "must be a boolean"},
      {"{\"clusterScope\":1}", "clusterScope", "must be a boolean"},
      {"{\"templates\":[]}", "templates", "must be an object"},
      {"{\"templates\":{\"restart\":\"Restart_Deployment\"}}",
       "templates.restart", subdomain},
      {"{\"templates\":{\"restart\":\"\"}}", "templates.restart", subdomain},
      {"{\"templates\":{\"restart\":7}}", "templates.restart", subdomain},
      {"[]", NULL, NULL},
      {"{", NULL, NULL},
  };
  struct test_engine *t = *state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    test_expect_config_invalid(t, cases[i].config, "InvalidConfig",
                               cases[i].field, cases[i].words);
}

/* ---- render (the golden Workflows: GOLDEN in main) ----------------------- */

static json_object *valid_execution(void)
{
  return test_read_json("argo", "execution.json");
}

static void test_render_output_is_deterministic(void **state)
{
  test_check_render_deterministic(*state, "argo",
                                  "conformance/render/params/execution.json");
}

static void
test_render_names_the_workflow_by_the_execution_identity(void **state)
{
  test_check_run_identity(*state, "argo", "execution.json",
                          "wfe-restart-checkout-5878e39ea1");
}

static void test_render_ignores_the_container_image_and_digest(void **state)
{
  struct test_engine *t = *state;
  json_object *other = valid_execution();
  test_set_path(other, "spec.workflowRef.containerImage",
                json_object_new_string("registry.invalid/other/image:v9"));
  test_set_path(other, "spec.workflowRef.containerDigest", NULL);
  json_object *a = test_render_doc(t, valid_execution());
  json_object *b = test_render_doc(t, other);
  assert_true(json_object_equal(a, b));
  json_object_put(a);
  json_object_put(b);
}

static void test_render_passes_a_value_with_a_nul_exactly(void **state)
{
  json_object *execution = valid_execution();
  test_set_path(execution, "spec.parameters.TARGET_DEPLOYMENT",
                json_object_new_string_len("a\0b", 3));
  json_object *run = test_render_doc(*state, execution);
  json_object *spec = json_object_object_get(run, "spec");
  json_object *parameters = json_object_object_get(
      json_object_object_get(spec, "arguments"), "parameters");
  json_object *value =
      json_object_object_get(json_object_array_get_idx(parameters, 0), "value");
  assert_int_equal(json_object_get_string_len(value), 3);
  assert_memory_equal(json_object_get_string(value), "a\0b", 3);
  json_object_put(run);
}

static void test_render_uses_the_mapping_over_the_derived_name(void **state)
{
  struct test_engine *t = *state;
  test_recreate_engine(t, "{\"templates\":{\"Restart Deployment!\":"
                          "\"restart-v2\"}}");
  json_object *execution = valid_execution();
  test_set_path(execution, "spec.workflowRef.workflowId",
                json_object_new_string("Restart Deployment!"));
  json_object *run = test_render_doc(t, execution);
  json_object *ref = json_object_object_get(json_object_object_get(run, "spec"),
                                            "workflowTemplateRef");
  test_assert_json_equal(json_object_to_json_string(ref),
                         "{\"name\":\"restart-v2\"}", "workflowTemplateRef");
  json_object_put(run);
}

/* ---- validate ------------------------------------------------------------ */

static void test_validate_accepts_a_valid_execution(void **state)
{
  struct test_engine *t = *state;
  test_check_valid(t, "argo", "execution.json");
  test_check_valid(t, "argo", "conformance/render/params/execution.json");
}

static void test_validate_accepts_argo_parameter_names(void **state)
{
  static const char *const names[] = {"1ST", "-x", "replica-count", "a_b", "Z"};
  struct test_engine *t = *state;
  json_object *doc = valid_execution();
  json_object *parameters = json_object_new_object();
  assert_non_null(parameters);
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    json_object_object_add(parameters, names[i], json_object_new_string("v"));
  test_set_path(doc, "spec.parameters", parameters);
  const char *text = json_object_to_json_string(doc);
  struct wfe_error err = WFE_ERROR_INIT;
  if (t->engine->validate(t->instance, text, strlen(text), &err) != WFE_OK)
    fail_msg("%s", wfe_error_message(&err));
  json_object_put(doc);
}

static void test_validate_accepts_a_mapped_workflow_id(void **state)
{
  struct test_engine *t = *state;
  test_recreate_engine(t, "{\"templates\":{\"___\":\"restart\"}}");
  json_object *doc = valid_execution();
  test_set_path(doc, "spec.workflowRef.workflowId",
                json_object_new_string("___"));
  const char *text = json_object_to_json_string(doc);
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(t->engine->validate(t->instance, text, strlen(text), &err),
                   WFE_OK);
  json_object_put(doc);
}

/* What validate refuses: the member at `path` set to the JSON `value`
 * (NULL: removed) gives `reason` on `field`. */
struct refusal {
  const char *path;
  const char *value;
  const char *reason;
  const char *field;
};

#define NAME(n)                                                                \
  {                                                                            \
    "spec.parameters." n, "\"x\"", "InvalidParameterName",                     \
        "spec.parameters." n                                                   \
  }
#define VALUE(v)                                                               \
  {                                                                            \
    "spec.parameters.REPLICAS", v, "InvalidParameterValue",                    \
        "spec.parameters.REPLICAS"                                             \
  }
#define WORKFLOW_ID(id)                                                        \
  {                                                                            \
    "spec.workflowRef.workflowId", "\"" id "\"", "InvalidWorkflowId",          \
        "spec.workflowRef.workflowId"                                          \
  }

static void test_validate_refuses_what_argo_cannot_run(void **state)
{
  static const struct refusal cases[] = {
      /* parameter names outside ^[-a-zA-Z0-9_]+$ */
      NAME("A:B"),
      NAME("a/b"),
      NAME("A:B"),
      NAME("a/b"),
      NAME("Ä"),
      NAME("x$"),
      /* values that are not strings */
      VALUE("3"),
      VALUE("{}"),
      VALUE("true"),
      /* workflowIds that make no template name */
      WORKFLOW_ID("___"),
      WORKFLOW_ID("..."),
      WORKFLOW_ID("restart..deployment"),
      WORKFLOW_ID("restart.-deployment"),
      WORKFLOW_ID("☃"),
      /* the kit's reading */
      {"spec.workflowRef.workflowId", NULL, "MissingField",
       "spec.workflowRef.workflowId"},
      {"spec.parameters", "[]", "InvalidField", "spec.parameters"},
      {"spec.executionConfig.serviceAccountName", "\"Runner_SA\"",
       "InvalidServiceAccountName", "spec.executionConfig.serviceAccountName"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    test_expect_invalid_edit(*state, valid_execution(), cases[i].path,
                             cases[i].value, cases[i].reason, cases[i].field);
}

/* ---- interpret ----------------------------------------------------------- */

#define FAILED                                                                 \
  "\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":\"Failed\","         \
  "\"message\":\"child 'wfe-restart-checkout-5878e39ea1-3087193346' "          \
  "failed\""
#define EXIT_3                                                                 \
  "\"failure\":{\"task\":\"restart\",\"step\":\"main\",\"exitCode\":3,"        \
  "\"reason\":\"Failed\",\"message\":\"Error (exit code 3)\"}"

static void check_interpret(struct test_engine *t, const char *fixture,
                            const char *expected)
{
  test_check_interpret(t, "argo", fixture, expected);
}

/* The engine's conformance vector interpret/<name>/: the same case
 * wfe-engine-check runs. */
static void check_vector(struct test_engine *t, const char *name)
{
  test_check_interpret_vector(t, "argo", name);
}

/* Interprets a Workflow whose status is `status`: the document
 * `expected`. */
static void expect_status(struct test_engine *t, const char *status,
                          const char *expected)
{
  char *run = test_format(
      "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\","
      "\"metadata\":{\"name\":\"wf\",\"namespace\":\"payments\"},"
      "\"status\":%s}",
      status);
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  if (test_call_interpret(t, run, &out, &err) != WFE_OK)
    fail_msg("%s: %s", status, wfe_error_message(&err));
  test_assert_json_equal(wfe_buf_str(&out), expected, status);
  wfe_buf_free(&out);
  free(run);
}

static void test_interpret_an_untouched_workflow_is_pending(void **state)
{
  static const char pending[] =
      "{\"phase\":\"Pending\",\"reason\":\"Pending\",\"message\":\"the Argo "
      "workflow-controller has not started the Workflow yet\"}";
  struct test_engine *t = *state;
  check_vector(t, "no-status");
  check_interpret(t, "empty-status", pending);
  expect_status(t, "{\"phase\":\"\"}", pending);
}

static void test_interpret_a_held_workflow_is_pending_with_why(void **state)
{
  check_interpret(*state, "pending-mutex",
                  "{\"phase\":\"Pending\",\"reason\":\"Pending\",\"message\":"
                  "\"Waiting for payments/Mutex/checkout lock. Lock status: "
                  "0/1\"," TEST_STARTED "}");
  expect_status(*state, "{\"phase\":\"Pending\"}",
                "{\"phase\":\"Pending\",\"reason\":\"Pending\"}");
}

static void test_interpret_running_tells_the_steps_done(void **state)
{
  struct test_engine *t = *state;
  check_vector(t, "running");
  expect_status(t,
                "{\"phase\":\"Running\",\"progress\":\"0/1\",\"message\":"
                "\"Waiting for payments/Semaphore/quota\"}",
                "{\"phase\":\"Running\",\"reason\":\"Running\",\"message\":"
                "\"steps done: 0/1; Waiting for payments/Semaphore/quota\"}");
  expect_status(t, "{\"phase\":\"Running\"}",
                "{\"phase\":\"Running\",\"reason\":\"Running\"}");
}

static void test_interpret_succeeded_is_completed_success(void **state)
{
  check_vector(*state, "succeeded");
}

static void test_interpret_failed_names_the_pod_that_exited_3(void **state)
{
  check_vector(*state, "failed-exit-3");
}

static void test_interpret_failed_pods_at_one_time_go_by_name(void **state)
{
  check_interpret(*state, "failed-tie",
                  "{" FAILED "," TEST_STARTED "," TEST_FINISHED
                  ",\"failure\":{\"task\":\"notify\",\"step\":\"main\","
                  "\"reason\":\"Error\",\"message\":\"pod deleted\"}}");
}

static void test_interpret_error_is_failed_with_its_reason(void **state)
{
  check_vector(*state, "error");
}

static void test_interpret_deadline_is_failed_timeout(void **state)
{
  struct test_engine *t = *state;
  check_vector(t, "deadline");
  static const char *const messages[] = {
      "Workflow exceeded activeDeadlineSeconds",
      "Max duration limit exceeded",
      "Pod was active on the node longer than the specified deadline",
  };
  for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
    char *status =
        test_format("{\"phase\":\"Error\",\"message\":\"%s\"}", messages[i]);
    char *expected = test_format("{\"phase\":\"Failed\",\"outcome\":"
                                 "\"Timeout\",\"reason\":\"Error\","
                                 "\"message\":\"%s\"}",
                                 messages[i]);
    expect_status(t, status, expected);
    free(status);
    free(expected);
  }
}

static void test_interpret_reads_compressed_nodes(void **state)
{
  check_interpret(*state, "compressed",
                  "{" FAILED "," TEST_STARTED "," TEST_FINISHED "," EXIT_3 "}");
}

static void
test_interpret_unreadable_compressed_nodes_give_no_detail(void **state)
{
  static const char *const fixtures[] = {
      "compressed-corrupt", "compressed-not-json", "compressed-huge"};
  for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
    check_interpret(*state, fixtures[i],
                    "{" FAILED ",\"detail\":\"status.compressedNodes could "
                    "not be read; no failure detail\"," TEST_STARTED
                    "," TEST_FINISHED "}");
  static const char *const encoded[] = {"",         "====", "QQ",
                                        "QQ==QQ==", "QUJD", "H4sIAAAAAAAA"};
  for (size_t i = 0; i < sizeof(encoded) / sizeof(encoded[0]); i++) {
    char *status = test_format(
        "{\"phase\":\"Failed\",\"compressedNodes\":\"%s\"}", encoded[i]);
    expect_status(*state, status,
                  "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
                  "\"Failed\",\"detail\":\"status.compressedNodes could not "
                  "be read; no failure detail\"}");
    free(status);
  }
}

static void test_interpret_offloaded_nodes_give_no_detail(void **state)
{
  check_interpret(*state, "offloaded",
                  "{" FAILED ",\"detail\":\"node status offloaded; no failure "
                  "detail\"," TEST_STARTED "," TEST_FINISHED "}");
}

static void test_interpret_nodes_of_another_shape_give_no_detail(void **state)
{
  struct test_engine *t = *state;
  static const char failed[] =
      "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":\"Failed\"}";
  expect_status(t, "{\"phase\":\"Failed\",\"nodes\":[]}", failed);
  expect_status(t, "{\"phase\":\"Failed\",\"nodes\":{\"a\":7}}", failed);
  expect_status(t,
                "{\"phase\":\"Failed\",\"nodes\":{\"a\":{\"type\":\"Pod\","
                "\"phase\":\"Failed\",\"message\":\"(exit code 99999999999)\","
                "\"finishedAt\":3}}}",
                "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
                "\"Failed\",\"failure\":{\"step\":\"main\",\"reason\":"
                "\"Failed\",\"message\":\"(exit code 99999999999)\"}}");
}

static void test_interpret_rejects_an_unknown_phase(void **state)
{
  struct test_engine *t = *state;
  test_expect_interpret_invalid(t, "{\"status\":{\"phase\":\"Exploded\"}}",
                                "status.phase");
  test_expect_interpret_invalid(t, "{\"status\":{\"phase\":3}}",
                                "status.phase");
}

static void test_interpret_names_a_malformed_status_field(void **state)
{
  struct test_engine *t = *state;
  test_expect_interpret_invalid(t, "{\"status\":[]}", "status");
  test_expect_interpret_invalid(t, "{\"status\":{\"startedAt\":1}}",
                                "status.startedAt");
  test_expect_interpret_invalid(
      t, "{\"status\":{\"phase\":\"Running\",\"progress\":1}}",
      "status.progress");
  test_expect_interpret_invalid(t, "not json", NULL);
}

/* ---- cancel and the run type --------------------------------------------- */

static void test_cancel_stops_the_workflow(void **state)
{
  struct test_engine *t = *state;
  char *run = test_read_data("argo", "conformance/interpret/running/run.json");
  test_check_cancel(t, run, "{\"spec\":{\"shutdown\":\"Stop\"}}", "cancel");
  free(run);
}

static void test_engine_describes_its_run_type(void **state)
{
  struct test_engine *t = *state;
  test_check_run_type(t->engine, "argo", "argoproj.io/v1alpha1", "Workflow",
                      "workflows", false);
}

#define T(test) TEST_ENGINE_CASE(test, setup)
#define GOLDEN(test, name) TEST_GOLDEN_CASE(test, setup, "argo", name)

int main(void)
{
  const struct CMUnitTest tests[] = {
      T(test_config_defaults_every_key),
      T(test_config_accepts_each_key_and_describes_it),
      T(test_config_rejects_an_unknown_key_naming_it),
      T(test_config_rejects_wrong_types_and_ranges),
      GOLDEN(test_render_passes_params_as_arguments_sorted_and_exact, "params"),
      GOLDEN(test_render_derives_the_template_name_from_the_workflow_id,
             "derived-name"),
      GOLDEN(test_render_sets_the_workflow_service_account, "service-account"),
      TEST_GOLDEN_CASE(
          test_render_maps_the_template_cluster_scoped_with_its_deadline,
          setup_mapped, "argo", "mapped"),
      T(test_render_output_is_deterministic),
      T(test_render_names_the_workflow_by_the_execution_identity),
      T(test_render_ignores_the_container_image_and_digest),
      T(test_render_passes_a_value_with_a_nul_exactly),
      T(test_render_uses_the_mapping_over_the_derived_name),
      T(test_validate_accepts_a_valid_execution),
      T(test_validate_accepts_argo_parameter_names),
      T(test_validate_accepts_a_mapped_workflow_id),
      T(test_validate_refuses_what_argo_cannot_run),
      T(test_interpret_an_untouched_workflow_is_pending),
      T(test_interpret_a_held_workflow_is_pending_with_why),
      T(test_interpret_running_tells_the_steps_done),
      T(test_interpret_succeeded_is_completed_success),
      T(test_interpret_failed_names_the_pod_that_exited_3),
      T(test_interpret_failed_pods_at_one_time_go_by_name),
      T(test_interpret_error_is_failed_with_its_reason),
      T(test_interpret_deadline_is_failed_timeout),
      T(test_interpret_reads_compressed_nodes),
      T(test_interpret_unreadable_compressed_nodes_give_no_detail),
      T(test_interpret_offloaded_nodes_give_no_detail),
      T(test_interpret_nodes_of_another_shape_give_no_detail),
      T(test_interpret_rejects_an_unknown_phase),
      T(test_interpret_names_a_malformed_status_field),
      T(test_cancel_stops_the_workflow),
      T(test_engine_describes_its_run_type),
  };
  return cmocka_run_group_tests_name("argo engine", tests, NULL, NULL);
}
