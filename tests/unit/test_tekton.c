/*
 * The Tekton engine, through the ABI: the built tekton.so is loaded with
 * dlopen, given a host from wfe_host_services_init, and driven with
 * WorkflowExecution and PipelineRun documents from tests/data/tekton and the
 * engine's conformance vectors (engines/tekton/conformance). A test
 * getter serves TaskRun fixtures for failure detail; no API server is
 * involved.
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

#define TASK_RUNS_DIR WFE_ENGINES_DIR "/tekton/conformance/host/taskruns"

struct fixture {
  struct test_engine t; /* its host's context is the fixture */
  int getter_calls;
};

/* ---- helpers ------------------------------------------------------------ */

/* Serves the conformance vectors' host/taskruns/<name>.json; a name starting
 * with "unavailable-" answers as an unreachable API server would. */
static int taskrun_getter(void *ctx, const char *api_version,
                          const char *resource, const char *namespace_name,
                          const char *name, struct wfe_buf *out,
                          struct wfe_error *err)
{
  struct fixture *f = ctx;
  f->getter_calls++;
  test_check_request(api_version, resource, namespace_name, "tekton.dev/v1",
                     "taskruns");
  if (strncmp(name, "unavailable-", 12) == 0)
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "ApiUnavailable", NULL,
                         "GET taskruns/%s: connection refused", name);
  char *path = test_format("%s/%s.json", TASK_RUNS_DIR, name);
  FILE *file = fopen(path, "rb");
  if (!file) {
    free(path);
    return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NotFound", NULL,
                         "taskruns %s not found", name);
  }
  assert_int_equal(fclose(file), 0);
  char *text = test_read_file(path);
  free(path);
  int rc = wfe_buf_puts(out, text);
  free(text);
  return rc;
}

static void host_init(struct fixture *f, int with_getter)
{
  wfe_host_services_init(&f->t.services, with_getter ? taskrun_getter : NULL,
                         f);
  f->t.host = f->t.services.table;
}

static int setup(void **state)
{
  struct fixture *f = test_setup_fixture(state, sizeof(*f), WFE_TEKTON_PLUGIN);
  host_init(f, 1);
  test_start_engine(&f->t, "{}");
  return 0;
}

/* ---- render (the golden PipelineRuns: GOLDEN in main) ------------------- */

static void test_render_uses_the_configured_pipeline_name(void **state)
{
  struct fixture *f = *state;
  char *config = test_read_data(
      "tekton", "conformance/render/custom-pipeline/config.json");
  test_recreate_engine(&f->t, config);
  free(config);
  test_check_golden(&f->t, "tekton", "custom-pipeline");
}

static void test_render_output_is_deterministic(void **state)
{
  struct fixture *f = *state;
  test_check_render_deterministic(
      &f->t, "tekton", "conformance/render/many-params/execution.json");
}

/* ---- render: run names -------------------------------------------------- */

/* RFC 1123 label, written out without regular expressions. */
static int is_dns_label(const char *s)
{
  size_t len = strlen(s);
  if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
          s[i] == '-'))
      return 0;
  return 1;
}

static char *execution_named(const char *ns, const char *name, const char *uid)
{
  json_object *doc = json_tokener_parse(
      "{\"apiVersion\":\"kubernaut.ai/"
      "v1alpha1\",\"kind\":\"WorkflowExecution\","
      "\"metadata\":{},\"spec\":{\"workflowRef\":{"
      "\"workflowId\":\"w\",\"version\":\"1\",\"containerImage\":"
      "\"quay.io/k/w:1\"}}}");
  json_object *metadata = json_object_object_get(doc, "metadata");
  json_object_object_add(metadata, "namespace", json_object_new_string(ns));
  json_object_object_add(metadata, "name", json_object_new_string(name));
  json_object_object_add(metadata, "uid", json_object_new_string(uid));
  char *text = strdup(json_object_to_json_string(doc));
  assert_non_null(text);
  json_object_put(doc);
  return text;
}

static void render_name_in(struct fixture *f, const char *ns, const char *name,
                           const char *uid, char out[64])
{
  char *execution = execution_named(ns, name, uid);
  struct wfe_buf buf = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  if (test_call_render(&f->t, execution, &buf, &err) != WFE_OK)
    fail_msg("render of \"%s\": %s", name, wfe_error_message(&err));
  json_object *run = json_tokener_parse(wfe_buf_str(&buf));
  json_object *metadata = json_object_object_get(run, "metadata");
  const char *run_name =
      json_object_get_string(json_object_object_get(metadata, "name"));
  assert_non_null(run_name);
  if (!is_dns_label(run_name))
    fail_msg("\"%s\" gave \"%s\", not a DNS label", name, run_name);
  /* a DNS label has at most 63 characters: it fits */
  assert_int_equal(snprintf(out, 64, "%s", run_name), strlen(run_name));
  json_object_put(run);
  wfe_buf_free(&buf);
  free(execution);
}

static void render_name(struct fixture *f, const char *name, const char *uid,
                        char out[64])
{
  render_name_in(f, "payments", name, uid, out);
}

static void test_render_name_is_a_dns_label_for_any_name(void **state)
{
  static const char *const patterns[] = {"a",   "ab.", "a-b.", "x--.",
                                         "9.-", "-.",  "Ab_c."};
  struct fixture *f = *state;
  char name[254], run_name[64];
  for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
    size_t plen = strlen(patterns[p]);
    for (size_t len = 1; len <= 253; len++) {
      for (size_t i = 0; i < len; i++)
        name[i] = patterns[p][i % plen];
      name[len] = '\0';
      render_name(f, name, "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", run_name);
    }
  }
}

static void test_render_name_differs_by_uid_and_namespace_identity(void **state)
{
  struct fixture *f = *state;
  char a[64], b[64], again[64];
  render_name(f, "wfe-one", "uid-1", a);
  render_name(f, "wfe-one", "uid-2", b);
  render_name(f, "wfe-one", "uid-1", again);
  assert_string_not_equal(a, b);
  assert_string_equal(a, again);
  char other_ns[64];
  render_name_in(f, "billing", "wfe-one", "uid-1", other_ns);
  assert_string_not_equal(a, other_ns);
  assert_memory_equal(a, "wfe-one-", 8);
}

/* ---- validate ----------------------------------------------------------- */

static json_object *valid_execution(void)
{
  return test_read_json("tekton", "conformance/render/digest/execution.json");
}

/* Validates `doc` (consumed) and expects WFE_E_INVALID with `reason` and
 * `field`; returns the message (caller frees). */
static char *expect_invalid(struct fixture *f, json_object *doc,
                            const char *reason, const char *field)
{
  return test_expect_invalid(&f->t, doc, reason, field);
}

static void expect_image_invalid(struct fixture *f, const char *image)
{
  json_object *doc = valid_execution();
  test_set_path(doc, "spec.workflowRef.containerDigest", NULL);
  test_set_path(doc, "spec.workflowRef.containerImage",
                json_object_new_string(image));
  free(expect_invalid(f, doc, "InvalidContainerImage",
                      "spec.workflowRef.containerImage"));
}

static void test_validate_accepts_a_valid_execution(void **state)
{
  struct fixture *f = *state;
  test_check_valid(&f->t, "tekton", "conformance/render/digest/execution.json");
}

static void test_validate_accepts_plausible_image_references(void **state)
{
  static const char *const images[] = {
      "ubuntu",
      "localhost:5000/team/bundle:v1",
      "Registry.Example.COM/team/bundle",
      "[::1]:5000/bundle@sha256:"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "quay.io/a__b/c-d--e.f_g:1.0-rc_1",
  };
  struct fixture *f = *state;
  for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
    json_object *doc = valid_execution();
    test_set_path(doc, "spec.workflowRef.containerDigest", NULL);
    test_set_path(doc, "spec.workflowRef.containerImage",
                  json_object_new_string(images[i]));
    const char *text = json_object_to_json_string(doc);
    struct wfe_error err = WFE_ERROR_INIT;
    int rc = f->t.engine->validate(f->t.instance, text, strlen(text), &err);
    if (rc != WFE_OK)
      fail_msg("%s: %s", images[i], wfe_error_message(&err));
    json_object_put(doc);
  }
}

static void test_validate_rejects_implausible_image_references(void **state)
{
  struct fixture *f = *state;
  char too_long[1100];
  memset(too_long, 'a', sizeof(too_long) - 1);
  too_long[sizeof(too_long) - 1] = '\0';
  expect_image_invalid(f, "");
  expect_image_invalid(f, "quay.io/team/bundle :v1");
  expect_image_invalid(f, "quay.io/team/bun\ndle");
  expect_image_invalid(f, "quay.io/team/bun\x01"
                          "dle");
  expect_image_invalid(f, "quay.io/Team/Bundle:v1");
  expect_image_invalid(f, "quay.io/team/bundle:-v1");
  expect_image_invalid(f, "quay.io/team/bundle@sha256:abc");
  expect_image_invalid(f, "quay.io//bundle");
  expect_image_invalid(f, "-quay.io/bundle");
  expect_image_invalid(f, too_long);
}

static void
test_validate_rejects_a_digest_that_contradicts_the_image(void **state)
{
  struct fixture *f = *state;
  json_object *doc = valid_execution();
  const char *image_digest =
      "sha256:1111111111111111111111111111111111111111111111111111111111111111";
  char *image = test_format("quay.io/team/bundle:v1@%s", image_digest);
  test_set_path(doc, "spec.workflowRef.containerImage",
                json_object_new_string(image));
  free(image);
  char *message = expect_invalid(f, doc, "ConflictingDigest",
                                 "spec.workflowRef.containerDigest");
  assert_non_null(strstr(message, image_digest));
  assert_non_null(strstr(message, "sha256:aaaaaaaa"));
  free(message);
}

static void test_validate_rejects_a_malformed_digest(void **state)
{
  json_object *doc = valid_execution();
  test_set_path(doc, "spec.workflowRef.containerDigest",
                json_object_new_string("sha256:ABC"));
  free(expect_invalid(*state, doc, "InvalidDigest",
                      "spec.workflowRef.containerDigest"));
}

static void
test_validate_rejects_parameter_values_that_are_not_strings(void **state)
{
  json_object *values[] = {json_object_new_int(3), NULL,
                           json_object_new_object(),
                           json_object_new_boolean(1)};
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    json_object *doc = valid_execution();
    json_object *parameters = json_object_object_get(
        json_object_object_get(doc, "spec"), "parameters");
    json_object_object_add(parameters, "REPLICAS", values[i]);
    free(expect_invalid(*state, doc, "InvalidParameterValue",
                        "spec.parameters.REPLICAS"));
  }
}

static void test_validate_rejects_names_that_differ_only_in_case(void **state)
{
  json_object *doc = valid_execution();
  test_set_path(doc, "spec.parameters.target_deployment",
                json_object_new_string("x"));
  char *message = expect_invalid(*state, doc, "DuplicateParameter",
                                 "spec.parameters.target_deployment");
  assert_non_null(strstr(message, "TARGET_DEPLOYMENT"));
  free(message);
}

static void test_validate_rejects_an_invalid_service_account(void **state)
{
  static const char *const names[] = {"Runner", "runner_sa", ".runner",
                                      "runner-", ""};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    json_object *doc = valid_execution();
    test_set_path(doc, "spec.executionConfig.serviceAccountName",
                  json_object_new_string(names[i]));
    free(expect_invalid(*state, doc, "InvalidServiceAccountName",
                        "spec.executionConfig.serviceAccountName"));
  }
}

static void test_validate_names_a_missing_or_mistyped_field(void **state)
{
  struct fixture *f = *state;
  json_object *doc = valid_execution();
  test_set_path(doc, "spec.workflowRef.containerImage", NULL);
  free(expect_invalid(f, doc, "MissingField",
                      "spec.workflowRef.containerImage"));
  doc = valid_execution();
  test_set_path(doc, "spec.workflowRef", json_object_new_string("tekton"));
  free(expect_invalid(f, doc, "InvalidField", "spec.workflowRef"));
  doc = valid_execution();
  test_set_path(doc, "spec.parameters", json_object_new_array());
  free(expect_invalid(f, doc, "InvalidField", "spec.parameters"));
  doc = valid_execution();
  test_set_path(doc, "metadata.name", NULL);
  free(expect_invalid(f, doc, "MissingField", "metadata.name"));
}

static void test_validate_rejects_text_that_is_not_json(void **state)
{
  static const char *const texts[] = {"", "{", "[]", "{\"a\":1} x", "nul"};
  struct fixture *f = *state;
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    struct wfe_error err = WFE_ERROR_INIT;
    assert_int_equal(
        f->t.engine->validate(f->t.instance, texts[i], strlen(texts[i]), &err),
        WFE_E_INVALID);
    wfe_error_clear(&err);
  }
  /* the length is honoured: no NUL terminator is read past */
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(f->t.engine->validate(f->t.instance, "{}garbage", 2, &err),
                   WFE_E_INVALID);
  assert_string_equal(err.field, "metadata");
  wfe_error_clear(&err);
}

/* ---- configuration ------------------------------------------------------ */

static void describe(struct fixture *f, const char *expected)
{
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(f->t.engine->describe(f->t.instance, &out, &err), WFE_OK);
  test_assert_json_equal(wfe_buf_str(&out), expected, "describe");
  wfe_buf_free(&out);
}

static void test_config_defaults_the_pipeline_name_to_workflow(void **state)
{
  describe(*state, "{\"name\":\"tekton\",\"version\":\"" WFE_VERSION "\","
                   "\"description\":\"Runs each WorkflowExecution as a Tekton "
                   "PipelineRun of a Pipeline taken from an OCI bundle\","
                   "\"config\":{\"pipelineName\":\"workflow\"}}");
}

static void
test_config_accepts_pipeline_name_and_bundle_credentials(void **state)
{
  struct fixture *f = *state;
  struct wfe_error err = WFE_ERROR_INIT;
  const char *config = "{\"pipelineName\":\"remediate\",\"bundleSecret\":"
                       "\"quay-pull\",\"bundleServiceAccount\":\"puller\"}";
  test_recreate_engine(&f->t, config);
  struct wfe_buf out = WFE_BUF_INIT;
  assert_int_equal(f->t.engine->describe(f->t.instance, &out, &err), WFE_OK);
  json_object *doc = json_tokener_parse(wfe_buf_str(&out));
  test_assert_json_equal(
      json_object_to_json_string(json_object_object_get(doc, "config")), config,
      "config");
  json_object_put(doc);
  wfe_buf_free(&out);

  /* the credentials go to the bundles resolver */
  char *execution =
      test_read_data("tekton", "conformance/render/no-digest/execution.json");
  assert_int_equal(test_call_render(&f->t, execution, &out, &err), WFE_OK);
  assert_non_null(strstr(wfe_buf_str(&out),
                         "{\"name\":\"secret\",\"value\":\"quay-pull\"},"
                         "{\"name\":\"serviceAccount\",\"value\":\"puller\"}"));
  wfe_buf_free(&out);
  free(execution);
}

static void test_config_rejects_an_unknown_key(void **state)
{
  struct fixture *f = *state;
  test_expect_config_invalid(&f->t, "{\"timeoutPipeline\":\"1h\"}",
                             "UnknownConfigKey", "timeoutPipeline", NULL);
}

static void test_config_rejects_a_value_of_the_wrong_type(void **state)
{
  struct fixture *f = *state;
  test_expect_config_invalid(&f->t, "{\"pipelineName\":7}", "InvalidConfig",
                             "pipelineName", NULL);
  test_expect_config_invalid(&f->t, "{\"pipelineName\":\"Not_A_Label\"}",
                             "InvalidConfig", "pipelineName", NULL);
  test_expect_config_invalid(&f->t, "{\"bundleSecret\":\"a..b\"}",
                             "InvalidConfig", "bundleSecret", NULL);
  test_expect_config_invalid(&f->t, "[]", "InvalidConfig", NULL, NULL);
}

/* ---- interpret ---------------------------------------------------------- */

#define RESTART_FAILED                                                         \
  "\"failure\":{\"task\":\"restart\",\"step\":\"rollout-restart\","            \
  "\"exitCode\":1,\"reason\":\"Failed\",\"message\":\"\\\"step-rollout-"       \
  "restart\\\" exited with code 1\"}"

static void check_interpret(struct fixture *f, const char *fixture,
                            const char *expected)
{
  test_check_interpret(&f->t, "tekton", fixture, expected);
}

/* The engine's conformance vector interpret/<name>/: the same case
 * wfe-engine-check runs. */
static void check_vector(struct fixture *f, const char *name)
{
  test_check_interpret_vector(&f->t, "tekton", name);
}

static void test_interpret_succeeded_is_completed_success(void **state)
{
  struct fixture *f = *state;
  check_vector(f, "succeeded");
  assert_int_equal(f->getter_calls, 0);
}

static void test_interpret_failed_names_the_failed_task_and_step(void **state)
{
  struct fixture *f = *state;
  check_vector(f, "failed-taskrun");
  assert_int_equal(f->getter_calls, 2);
}

static void test_interpret_pipeline_run_timeout_is_failed_timeout(void **state)
{
  check_vector(*state, "timeout");
}

static void test_interpret_cancelled_is_failed_and_says_cancelled(void **state)
{
  check_interpret(*state, "cancelled",
                  "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
                  "\"Cancelled\",\"message\":\"PipelineRun "
                  "\\\"wfe-restart-checkout-5878e39ea1\\\" was "
                  "cancelled\"," TEST_STARTED "," TEST_FINISHED "}");
}

/* Tekton ends the TaskRuns of a cancelled run itself, each running step
 * "terminated" with exit code 1 and the TaskRun's reason: none of it is a
 * failure of the pods. */
static void test_interpret_cancelled_task_runs_give_no_failure(void **state)
{
  struct fixture *f = *state;
  check_interpret(f, "cancelled-taskrun",
                  "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
                  "\"Cancelled\",\"message\":\"PipelineRun "
                  "\\\"wfe-restart-checkout-5878e39ea1\\\" was "
                  "cancelled\"," TEST_STARTED "," TEST_FINISHED "}");
  assert_int_equal(f->getter_calls, 1);
}

/* A TaskRun that timed out failed, but its step's exit code is Tekton's. */
static void
test_interpret_task_run_timeout_names_the_task_not_a_step(void **state)
{
  check_vector(*state, "taskrun-timeout");
}

static void test_interpret_strips_the_user_error_prefix(void **state)
{
  check_vector(*state, "couldnt-get-pipeline");
}

static void
test_interpret_pipeline_validation_failed_is_a_user_error(void **state)
{
  check_interpret(
      *state, "validation-failed",
      "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
      "\"PipelineValidationFailed\",\"message\":\"Pipeline "
      "payments/workflow can't be Run; it has an invalid spec: "
      "invalid value: duplicate param name: spec.params[1].name\"," TEST_STARTED
      "," TEST_FINISHED ",\"userError\":true}");
}

static void test_interpret_running_is_running_with_the_reason(void **state)
{
  check_vector(*state, "running");
}

static void test_interpret_resolving_pipeline_ref_is_running(void **state)
{
  check_interpret(*state, "resolving",
                  "{\"phase\":\"Running\",\"reason\":\"ResolvingPipelineRef\","
                  "\"message\":\"resolving the Pipeline from its bundle\"}");
}

static void test_interpret_without_conditions_is_running_pending(void **state)
{
  check_vector(*state, "no-conditions");
}

/* Interprets a run whose Succeeded condition is (status, reason, message)
 * and returns the document; free it with json_object_put. */
static json_object *interpret_condition(struct fixture *f, const char *status,
                                        const char *reason, const char *message)
{
  json_object *condition = json_object_new_object();
  json_object_object_add(condition, "type",
                         json_object_new_string("Succeeded"));
  json_object_object_add(condition, "status", json_object_new_string(status));
  json_object_object_add(condition, "reason", json_object_new_string(reason));
  json_object_object_add(condition, "message", json_object_new_string(message));
  json_object *conditions = json_object_new_array();
  json_object_array_add(conditions, condition);
  json_object *run_status = json_object_new_object();
  json_object_object_add(run_status, "conditions", conditions);
  json_object *run = json_object_new_object();
  json_object_object_add(run, "status", run_status);
  const char *text = json_object_to_json_string(run);
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = test_call_interpret(&f->t, text, &out, &err);
  if (rc != WFE_OK)
    fail_msg("%s: interpret failed: %s", reason, wfe_error_message(&err));
  json_object *document = json_tokener_parse(wfe_buf_str(&out));
  assert_non_null(document);
  wfe_buf_free(&out);
  json_object_put(run);
  return document;
}

/* Checks the document's message and detail (NULL: absent). */
static void expect_text(json_object *document, const char *message,
                        const char *detail)
{
  json_object *m = NULL, *d = NULL;
  json_object_object_get_ex(document, "message", &m);
  json_object_object_get_ex(document, "detail", &d);
  if (message)
    assert_string_equal(json_object_get_string(m), message);
  else
    assert_null(m);
  if (detail)
    assert_string_equal(json_object_get_string(d), detail);
  else
    assert_null(d);
  json_object_put(document);
}

/* Tekton v1.12's messages, as its reconciler writes them. */
#define RESOLUTION_CONTEXT                                                     \
  "Error retrieving pipeline for pipelinerun "                                 \
  "shop/restart-checkout-70bdeb8a22: error requesting remote resource: "
#define TIMEOUT_MESSAGE                                                        \
  RESOLUTION_CONTEXT                                                           \
  "error updating resource request "                                           \
  "\"shop/bundles-6a3c9b2f1c0e8d7a4b5f9e8d7c6b5a49\" with "                    \
  "data: resolution took longer than global timeout of 1m0s"
#define MANIFEST_MESSAGE                                                       \
  RESOLUTION_CONTEXT                                                           \
  "error getting \"bundleresolver\" "                                          \
  "\"shop/bundles-6a3c9b2f1c0e8d7a4b5f9e8d7c6b5a49\": cannot retrieve the "    \
  "oci "                                                                       \
  "image: GET https://127.0.0.1:5000/v2/workflows/restart-pod/manifests/"      \
  "sha256:3f1a9c0b2e4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a3c5e7b9d1f3a5c7e9b0d2f4a: "  \
  "MANIFEST_UNKNOWN: manifest unknown; map[Tag:sha256:3f1a9c0b]"

static void
test_interpret_a_resolution_timeout_says_the_cause_only(void **state)
{
  expect_text(interpret_condition(*state, "False", "CouldntGetPipeline",
                                  TIMEOUT_MESSAGE),
              "cannot fetch the Pipeline from its bundle: resolution took "
              "longer than global timeout of 1m0s",
              TIMEOUT_MESSAGE);
}

static void
test_interpret_a_missing_manifest_keeps_the_registry_error(void **state)
{
  assert_true(strlen(MANIFEST_MESSAGE) > 350);
  json_object *document = interpret_condition(
      *state, "False", "CouldntGetPipeline", "[User error] " MANIFEST_MESSAGE);
  const char *message =
      json_object_get_string(json_object_object_get(document, "message"));
  assert_null(strstr(message, "bundles-")); /* no internal request name */
  assert_true(
      json_object_get_boolean(json_object_object_get(document, "userError")));
  expect_text(document,
              "cannot fetch the Pipeline from its bundle: MANIFEST_UNKNOWN: "
              "manifest unknown",
              MANIFEST_MESSAGE);
}

static void test_interpret_other_remote_failures_say_their_cause(void **state)
{
  static const char message[] =
      "PipelineRun shop/x can't be Run; couldn't resolve all references: "
      "error requesting remote resource: error getting \"bundleresolver\" "
      "\"shop/bundles-1\": could not find object in image with kind: task "
      "and name: restart";
  expect_text(
      interpret_condition(*state, "False", "PipelineValidationFailed", message),
      "cannot fetch a remote resource: could not find object in "
      "image with kind: task and name: restart",
      message);
  expect_text(interpret_condition(*state, "False", "CouldntGetPipeline",
                                  "pipelines.tekton.dev \"x\" not found"),
              "cannot fetch the Pipeline from its bundle: "
              "pipelines.tekton.dev \"x\" not found",
              NULL);
}

/* A condition and the message it gives (NULL: none; no detail). */
struct wording_case {
  const char *status;
  const char *reason;
  const char *message;
  const char *expected;
};

static void expect_wordings(struct fixture *f, const struct wording_case *cases,
                            size_t count)
{
  for (size_t i = 0; i < count; i++)
    expect_text(interpret_condition(f, cases[i].status, cases[i].reason,
                                    cases[i].message),
                cases[i].expected, NULL);
}

static void test_interpret_a_cancelled_run_says_so_once(void **state)
{
  static const struct wording_case cases[] = {
      {"False", "Cancelled", "PipelineRun \"x\" was cancelled",
       "PipelineRun \"x\" was cancelled"},
      {"False", "Cancelled", "", "the PipelineRun was cancelled"},
      {"False", "CancelledRunFinally",
       "Tasks Completed: 1 (Failed: 0, Cancelled 1), Skipped: 1",
       "the PipelineRun was cancelled: Tasks Completed: 1 (Failed: 0, "
       "Cancelled 1), Skipped: 1"},
  };
  expect_wordings(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_interpret_words_each_running_state(void **state)
{
  static const struct wording_case cases[] = {
      {"Unknown", "Started", "",
       "the Tekton controller started the PipelineRun"},
      {"Unknown", "ResolvingPipelineRef",
       "PipelineRun shop/x awaiting remote resource",
       "resolving the Pipeline from its bundle"},
      {"Unknown", "ResolvingTaskRef",
       "PipelineRun shop/x awaiting remote resource",
       "resolving the Pipeline's Tasks"},
      {"Unknown", "Running",
       "Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 2, Skipped: 0",
       "Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 2, "
       "Skipped: 0"},
      {"Unknown", "PipelineRunStopping",
       "Tasks Completed: 1 (Failed: 1, Cancelled 0), Incomplete: 1, Skipped: 0",
       "stopping: no new Tasks start; Tasks Completed: 1 (Failed: 1, "
       "Cancelled 0), Incomplete: 1, Skipped: 0"},
      {"Unknown", "PipelineRunPending", "PipelineRun \"x\" is pending",
       "PipelineRun \"x\" is pending"},
      {"Unknown", "SomethingNew", "", NULL},
  };
  expect_wordings(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_interpret_finds_succeeded_by_type_not_position(void **state)
{
  check_interpret(*state, "other-condition-first",
                  "{\"phase\":\"Completed\",\"outcome\":\"Success\",\"reason\":"
                  "\"Succeeded\",\"message\":\"Tasks Completed: 2 (Failed: 0, "
                  "Cancelled 0), Skipped: 0\"," TEST_STARTED "," TEST_FINISHED
                  "}");
}

static void test_interpret_skips_a_task_run_that_is_gone(void **state)
{
  struct fixture *f = *state;
  check_interpret(f, "taskrun-not-found",
                  "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
                  "\"Failed\",\"message\":\"Tasks Completed: 2 (Failed: 1, "
                  "Cancelled 0), Skipped: 0\"," TEST_STARTED "," TEST_FINISHED
                  "," RESTART_FAILED "}");
  assert_int_equal(f->getter_calls, 2);
}

static void test_interpret_returns_unavailable_as_retryable(void **state)
{
  struct fixture *f = *state;
  char *run = test_read_data("tekton", "status/taskrun-unavailable.json");
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(test_call_interpret(&f->t, run, &out, &err),
                   WFE_E_UNAVAILABLE);
  assert_true(err.retryable);
  assert_non_null(strstr(err.message, "connection refused"));
  assert_int_equal(out.len, 0);
  wfe_error_clear(&err);
  free(run);
}

static void
test_interpret_offline_gives_the_outcome_without_detail(void **state)
{
  struct fixture *f = *state;
  host_init(f, 0);
  check_interpret(f, "failed-taskrun",
                  "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
                  "\"Failed\",\"message\":\"Tasks Completed: 2 (Failed: 1, "
                  "Cancelled 0), Skipped: 0\"," TEST_STARTED "," TEST_FINISHED
                  "}");
}

static void test_interpret_names_a_malformed_status_field(void **state)
{
  struct fixture *f = *state;
  test_expect_malformed_status(&f->t, "Succeeded",
                               "{\"status\":{\"conditions\":[{\"type\":"
                               "\"Succeeded\",\"status\":\"Maybe\"}]}}",
                               "status.conditions[0]");
}

/* ---- cancel ------------------------------------------------------------- */

static void test_cancel_writes_the_cancelled_status_patch(void **state)
{
  struct fixture *f = *state;
  char *run =
      test_read_data("tekton", "conformance/interpret/running/run.json");
  test_check_cancel(&f->t, run, "{\"spec\":{\"status\":\"Cancelled\"}}",
                    "cancel");
  free(run);
}

static void test_engine_describes_its_run_type(void **state)
{
  struct fixture *f = *state;
  test_check_run_type(f->t.engine, "tekton", "tekton.dev/v1", "PipelineRun",
                      "pipelineruns", true);
}

#define T(test) TEST_ENGINE_CASE(test, setup)
#define GOLDEN(test, name) TEST_GOLDEN_CASE(test, setup, "tekton", name)

int main(void)
{
  const struct CMUnitTest tests[] = {
      GOLDEN(test_render_pins_the_bundle_to_the_given_digest, "digest"),
      GOLDEN(test_render_uses_the_image_as_is_without_a_digest, "no-digest"),
      GOLDEN(test_render_keeps_an_image_that_carries_the_same_digest,
             "same-digest"),
      GOLDEN(test_render_sorts_params_by_name, "many-params"),
      GOLDEN(test_render_keeps_unicode_quotes_and_newlines_in_values,
             "unicode-values"),
      GOLDEN(test_render_names_a_253_character_execution_within_63,
             "long-name"),
      GOLDEN(test_render_sets_the_task_run_service_account, "service-account"),
      GOLDEN(test_render_hashes_an_empty_uid_when_offline, "offline-no-uid"),
      T(test_render_uses_the_configured_pipeline_name),
      T(test_render_output_is_deterministic),
      T(test_render_name_is_a_dns_label_for_any_name),
      T(test_render_name_differs_by_uid_and_namespace_identity),
      T(test_validate_accepts_a_valid_execution),
      T(test_validate_accepts_plausible_image_references),
      T(test_validate_rejects_implausible_image_references),
      T(test_validate_rejects_a_digest_that_contradicts_the_image),
      T(test_validate_rejects_a_malformed_digest),
      T(test_validate_rejects_parameter_values_that_are_not_strings),
      T(test_validate_rejects_names_that_differ_only_in_case),
      T(test_validate_rejects_an_invalid_service_account),
      T(test_validate_names_a_missing_or_mistyped_field),
      T(test_validate_rejects_text_that_is_not_json),
      T(test_config_defaults_the_pipeline_name_to_workflow),
      T(test_config_accepts_pipeline_name_and_bundle_credentials),
      T(test_config_rejects_an_unknown_key),
      T(test_config_rejects_a_value_of_the_wrong_type),
      T(test_interpret_succeeded_is_completed_success),
      T(test_interpret_failed_names_the_failed_task_and_step),
      T(test_interpret_pipeline_run_timeout_is_failed_timeout),
      T(test_interpret_cancelled_is_failed_and_says_cancelled),
      T(test_interpret_cancelled_task_runs_give_no_failure),
      T(test_interpret_task_run_timeout_names_the_task_not_a_step),
      T(test_interpret_strips_the_user_error_prefix),
      T(test_interpret_pipeline_validation_failed_is_a_user_error),
      T(test_interpret_running_is_running_with_the_reason),
      T(test_interpret_resolving_pipeline_ref_is_running),
      T(test_interpret_without_conditions_is_running_pending),
      T(test_interpret_a_resolution_timeout_says_the_cause_only),
      T(test_interpret_a_missing_manifest_keeps_the_registry_error),
      T(test_interpret_other_remote_failures_say_their_cause),
      T(test_interpret_a_cancelled_run_says_so_once),
      T(test_interpret_words_each_running_state),
      T(test_interpret_finds_succeeded_by_type_not_position),
      T(test_interpret_skips_a_task_run_that_is_gone),
      T(test_interpret_returns_unavailable_as_retryable),
      T(test_interpret_offline_gives_the_outcome_without_detail),
      T(test_interpret_names_a_malformed_status_field),
      T(test_cancel_writes_the_cancelled_status_patch),
      T(test_engine_describes_its_run_type),
  };
  return cmocka_run_group_tests_name("tekton engine", tests, NULL, NULL);
}
