/*
 * The Job engine, through the ABI: the built job.so is loaded with dlopen,
 * given a host from wfe_host_services_init, and driven with
 * WorkflowExecution and Job documents from tests/data/job and the engine's
 * conformance vectors (engines/job/conformance). A test lister
 * serves the pods of a Job from engines/job/conformance/host/pods/<job>.json
 * for failure detail and image pulls; no API server is involved. A second host
 * table, cut to the size of ABI 1.0, has no list_objects at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <wfe/engine.h>

#include "buf.h"
#include "engine_support.h"
#include "error.h"
#include "host.h"

#define PODS_DIR WFE_ENGINES_DIR "/job/conformance/host/pods"
#define JOB_LABEL "batch.kubernetes.io/job-name="

struct fixture {
  struct test_engine t; /* its host's context is the fixture */
  int lister_calls;
};

/* ---- the host ------------------------------------------------------------ */

/* `text` with every "@NOW@" replaced by the current time (RFC 3339, UTC), so
 * that a pod can have started just now. Returns a malloc'd string. */
static char *with_now(const char *text)
{
  char now[32];
  time_t t = time(NULL);
  assert_true(t != (time_t)-1);
  struct tm tm;
  assert_non_null(gmtime_r(&t, &tm));
  assert_int_equal(strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm), 20);
  /* "@NOW@" (5) becomes 20 characters: at most 4 to 1 */
  char *out = malloc(strlen(text) * 4 + 1);
  assert_non_null(out);
  char *q = out;
  for (const char *p = text; *p;) {
    if (strncmp(p, "@NOW@", 5) == 0) {
      memcpy(q, now, 20);
      q += 20;
      p += 5;
    } else {
      *q++ = *p++;
    }
  }
  *q = '\0';
  return out;
}

/* Serves the conformance vectors' host/pods/<job>.json for the selector of the
 * Job <job> (an empty list when there is no such file); a Job named
 * "unavailable-..." answers as an unreachable API server would. */
static int pod_lister(void *ctx, const char *api_version, const char *resource,
                      const char *namespace_name, const char *label_selector,
                      const char *field_selector, struct wfe_buf *out,
                      struct wfe_error *err)
{
  struct fixture *f = ctx;
  f->lister_calls++;
  test_check_request(api_version, resource, namespace_name, "v1", "pods");
  assert_string_equal(field_selector, "");
  assert_memory_equal(label_selector, JOB_LABEL, strlen(JOB_LABEL));
  const char *job = label_selector + strlen(JOB_LABEL);
  if (strncmp(job, "unavailable-", 12) == 0)
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "ApiUnavailable", NULL,
                         "GET pods: connection refused");
  char *path = test_format("%s/%s.json", PODS_DIR, job);
  FILE *file = fopen(path, "rb");
  if (!file) {
    free(path);
    return wfe_buf_puts(out, "{\"apiVersion\":\"v1\",\"kind\":\"PodList\","
                             "\"metadata\":{},\"items\":[]}");
  }
  assert_int_equal(fclose(file), 0);
  char *text = test_read_file(path);
  free(path);
  char *now = with_now(text);
  int rc = wfe_buf_puts(out, now);
  free(now);
  free(text);
  return rc;
}

enum host_kind {
  HOST_WITH_PODS, /* ABI 1.1, pods served */
  HOST_OFFLINE,   /* ABI 1.1, list_objects answers WFE_E_UNSUPPORTED */
  HOST_ABI_1_0,   /* a table sized as an ABI 1.0 host's: no list_objects */
};

static void host_init(struct fixture *f, enum host_kind kind)
{
  wfe_host_services_init(&f->t.services, NULL, f);
  if (kind != HOST_OFFLINE)
    wfe_host_services_set_lister(&f->t.services, pod_lister, f);
  f->t.host = f->t.services.table;
  if (kind == HOST_ABI_1_0) {
    /* The size says there is no list_objects: the engine must not call the
     * (working) one left behind it, as a 1.0 host's table ends there. */
    f->t.host.struct_size = (uint32_t)offsetof(wfe_host, list_objects);
    f->t.host.abi_minor = 0;
  }
}

static int setup(void **state)
{
  struct fixture *f = test_setup_fixture(state, sizeof(*f), WFE_JOB_PLUGIN);
  host_init(f, HOST_WITH_PODS);
  test_start_engine(&f->t, "{}");
  return 0;
}

/* ---- configuration ------------------------------------------------------- */

static void describe(struct fixture *f, const char *expected_config)
{
  test_check_describe(&f->t, "job", expected_config);
}

static void test_config_defaults_every_key(void **state)
{
  describe(*state, "{\"activeDeadlineSeconds\":3600,"
                   "\"ttlSecondsAfterFinished\":86400,"
                   "\"imagePullGraceSeconds\":300}");
}

static void test_config_accepts_each_key_within_its_range(void **state)
{
  struct fixture *f = *state;
  test_recreate_engine(&f->t, "{\"activeDeadlineSeconds\":1}");
  describe(f, "{\"activeDeadlineSeconds\":1,\"ttlSecondsAfterFinished\":86400,"
              "\"imagePullGraceSeconds\":300}");
  test_recreate_engine(&f->t, "{\"ttlSecondsAfterFinished\":0}");
  describe(f, "{\"activeDeadlineSeconds\":3600,\"ttlSecondsAfterFinished\":0,"
              "\"imagePullGraceSeconds\":300}");
  test_recreate_engine(&f->t, "{\"imagePullGraceSeconds\":86400,"
                              "\"activeDeadlineSeconds\":604800,"
                              "\"ttlSecondsAfterFinished\":2592000}");
  describe(f, "{\"activeDeadlineSeconds\":604800,"
              "\"ttlSecondsAfterFinished\":2592000,"
              "\"imagePullGraceSeconds\":86400}");
}

static void test_config_rejects_an_unknown_key_naming_it(void **state)
{
  struct fixture *f = *state;
  test_expect_config_invalid(&f->t, "{\"backoffLimit\":3}", "UnknownConfigKey",
                             "backoffLimit", "backoffLimit");
}

static void test_config_rejects_wrong_types_and_ranges(void **state)
{
  static const char rule[] = "must be an integer from";
  /* each refused as InvalidConfig: the key named (NULL: none), and words of
   * its message (NULL: any) */
  static const struct {
    const char *config;
    const char *field;
    const char *words;
  } cases[] = {
      {"{\"activeDeadlineSeconds\":\"1h\"}", "activeDeadlineSeconds", rule},
      {"{\"activeDeadlineSeconds\":0}", "activeDeadlineSeconds", "1 to 604800"},
      {"{\"activeDeadlineSeconds\":604801}", "activeDeadlineSeconds", rule},
      {"{\"activeDeadlineSeconds\":60.5}", "activeDeadlineSeconds", rule},
      {"{\"ttlSecondsAfterFinished\":-1}", "ttlSecondsAfterFinished",
       "0 to 2592000"},
      {"{\"ttlSecondsAfterFinished\":2592001}", "ttlSecondsAfterFinished",
       rule},
      {"{\"imagePullGraceSeconds\":86401}", "imagePullGraceSeconds",
       "0 to 86400"},
      {"{\"imagePullGraceSeconds\":true}", "imagePullGraceSeconds", rule},
      {"{\"imagePullGraceSeconds\":null}", "imagePullGraceSeconds", rule},
      {"[]", NULL, NULL},
      {"{", NULL, NULL},
  };
  struct fixture *f = *state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    test_expect_config_invalid(&f->t, cases[i].config, "InvalidConfig",
                               cases[i].field, cases[i].words);
}

static void test_config_sets_the_job_deadline_and_ttl(void **state)
{
  struct fixture *f = *state;
  test_recreate_engine(&f->t, "{\"activeDeadlineSeconds\":900,"
                              "\"ttlSecondsAfterFinished\":0}");
  char *execution =
      test_read_data("job", "conformance/render/no-digest/execution.json");
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(test_call_render(&f->t, execution, &out, &err), WFE_OK);
  assert_non_null(strstr(wfe_buf_str(&out), "\"activeDeadlineSeconds\":900,"
                                            "\"ttlSecondsAfterFinished\":0,"));
  wfe_buf_free(&out);
  free(execution);
}

/* ---- render (the golden Jobs: GOLDEN in main) ---------------------------- */

static void test_render_output_is_deterministic(void **state)
{
  struct fixture *f = *state;
  test_check_render_deterministic(&f->t, "job",
                                  "conformance/render/params/execution.json");
}

/* The parsed Job rendered for `execution` (a document, consumed). */
static json_object *render_doc(struct fixture *f, json_object *execution)
{
  return test_render_doc(&f->t, execution);
}

static json_object *valid_execution(void)
{
  return test_read_json("job", "conformance/render/digest/execution.json");
}

static const char *job_name(json_object *job)
{
  return json_object_get_string(
      json_object_object_get(json_object_object_get(job, "metadata"), "name"));
}

static void test_render_names_executions_differing_in_uid_apart(void **state)
{
  struct fixture *f = *state;
  json_object *other = valid_execution();
  json_object_object_add(json_object_object_get(other, "metadata"), "uid",
                         json_object_new_string("another-uid"));
  json_object *a = render_doc(f, valid_execution());
  json_object *b = render_doc(f, other);
  assert_string_equal(job_name(a), "wfe-restart-checkout-5878e39ea1");
  assert_string_not_equal(job_name(a), job_name(b));
  assert_memory_equal(job_name(b), "wfe-restart-checkout-", 21);
  json_object_put(a);
  json_object_put(b);
}

static void
test_render_leaves_namespace_labels_and_owners_to_the_host(void **state)
{
  json_object *job = render_doc(*state, valid_execution());
  json_object *metadata = json_object_object_get(job, "metadata");
  assert_null(json_object_object_get(metadata, "namespace"));
  assert_null(json_object_object_get(metadata, "labels"));
  assert_null(json_object_object_get(metadata, "ownerReferences"));
  json_object_put(job);
}

/* ---- validate ------------------------------------------------------------ */

/* Validates `doc` (consumed) and expects WFE_E_INVALID with `reason` and
 * `field`, and a message that names the field; render refuses it alike. */
static void expect_invalid(struct fixture *f, json_object *doc,
                           const char *reason, const char *field)
{
  char *message = test_expect_invalid(&f->t, doc, reason, field);
  if (!strstr(message, field))
    fail_msg("\"%s\" does not name %s", message, field);
  free(message);
}

static void test_validate_accepts_a_valid_execution(void **state)
{
  struct fixture *f = *state;
  test_check_valid(&f->t, "job", "conformance/render/params/execution.json");
}

static void test_validate_rejects_an_invalid_image_reference(void **state)
{
  static const char *const images[] = {"", "quay.io/Team/Restart:v1",
                                       "quay.io/team/restart :v1",
                                       "quay.io/team/restart:-v1"};
  for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
    json_object *doc = valid_execution();
    test_set_path(doc, "spec.workflowRef.containerImage",
                  json_object_new_string(images[i]));
    expect_invalid(*state, doc, "InvalidContainerImage",
                   "spec.workflowRef.containerImage");
  }
}

static void
test_validate_rejects_a_malformed_or_conflicting_digest(void **state)
{
  json_object *doc = valid_execution();
  test_set_path(doc, "spec.workflowRef.containerDigest",
                json_object_new_string("sha256:ABC"));
  expect_invalid(*state, doc, "InvalidDigest",
                 "spec.workflowRef.containerDigest");
  doc = valid_execution();
  test_set_path(
      doc, "spec.workflowRef.containerImage",
      json_object_new_string("quay.io/team/restart@sha256:"
                             "1111111111111111111111111111111111111111111"
                             "111111111111111111111"));
  expect_invalid(*state, doc, "ConflictingDigest",
                 "spec.workflowRef.containerDigest");
}

static void test_validate_rejects_names_that_cannot_be_env_vars(void **state)
{
  static const char *const names[] = {"1ST", "A-B", "A.B", "A B", "Ä"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    json_object *doc = valid_execution();
    json_object_object_add(
        json_object_object_get(json_object_object_get(doc, "spec"),
                               "parameters"),
        names[i], json_object_new_string("x"));
    char *field = test_format("spec.parameters.%s", names[i]);
    expect_invalid(*state, doc, "InvalidParameterName", field);
    free(field);
  }
}

static void test_validate_rejects_values_that_are_not_env_strings(void **state)
{
  json_object *values[] = {json_object_new_int(3), json_object_new_object(),
                           json_object_new_string_len("a\0b", 3)};
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    json_object *doc = valid_execution();
    test_set_path(doc, "spec.parameters.REPLICAS", values[i]);
    expect_invalid(*state, doc, "InvalidParameterValue",
                   "spec.parameters.REPLICAS");
  }
}

static void test_validate_names_missing_and_mistyped_fields(void **state)
{
  struct fixture *f = *state;
  json_object *doc = valid_execution();
  test_set_path(doc, "spec.workflowRef.containerImage", NULL);
  expect_invalid(f, doc, "MissingField", "spec.workflowRef.containerImage");
  doc = valid_execution();
  test_set_path(doc, "spec.parameters", json_object_new_array());
  expect_invalid(f, doc, "InvalidField", "spec.parameters");
  doc = valid_execution();
  test_set_path(doc, "spec.executionConfig.serviceAccountName",
                json_object_new_string("Runner_SA"));
  expect_invalid(f, doc, "InvalidServiceAccountName",
                 "spec.executionConfig.serviceAccountName");
}

/* ---- interpret ----------------------------------------------------------- */

#define BACKOFF                                                                \
  "\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"                    \
  "\"BackoffLimitExceeded\",\"message\":\"Job has reached the specified "      \
  "backoff limit\"," TEST_STARTED

static char *interpret_fixture(struct fixture *f, const char *fixture,
                               int expected_rc, struct wfe_error *err)
{
  return test_interpret_data(&f->t, "job", fixture, expected_rc, err);
}

static void check_interpret(struct fixture *f, const char *fixture,
                            const char *expected)
{
  test_check_interpret(&f->t, "job", fixture, expected);
}

/* The engine's conformance vector interpret/<name>/: the same case
 * wfe-engine-check runs. */
static void check_vector(struct fixture *f, const char *name)
{
  test_check_interpret_vector(&f->t, "job", name);
}

static void test_interpret_without_status_is_pending(void **state)
{
  struct fixture *f = *state;
  static const char pending[] =
      "{\"phase\":\"Pending\",\"reason\":\"Pending\",\"message\":\"the Job "
      "controller has not started the Job yet\"}";
  check_vector(f, "no-status");
  check_interpret(f, "empty-status", pending);
  assert_int_equal(f->lister_calls, 0);
}

static void test_interpret_active_is_running_with_pod_counts(void **state)
{
  struct fixture *f = *state;
  check_vector(f, "active");
  check_interpret(f, "suspend-resumed",
                  "{\"phase\":\"Running\",\"reason\":\"Running\",\"message\":"
                  "\"pods: 1 active (1 ready), 0 failed\"," TEST_STARTED "}");
  assert_int_equal(f->lister_calls, 0); /* every pod ready: nothing to ask */
}

static void test_interpret_complete_is_completed_success(void **state)
{
  struct fixture *f = *state;
  check_vector(f, "complete");
  assert_int_equal(f->lister_calls, 0);
}

static void test_interpret_deadline_exceeded_is_failed_timeout(void **state)
{
  struct fixture *f = *state;
  check_vector(f, "deadline");
  assert_int_equal(f->lister_calls, 0);
}

static void test_interpret_failed_names_the_pod_that_exited_2(void **state)
{
  struct fixture *f = *state;
  check_vector(f, "failed-exit-2");
  assert_int_equal(f->lister_calls, 1);
}

static void test_interpret_failed_oom_killed_skips_disrupted_pods(void **state)
{
  check_vector(*state, "failed-oom");
}

static void test_interpret_suspended_is_cancelled(void **state)
{
  check_interpret(
      *state, "suspended",
      "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":"
      "\"Cancelled\",\"message\":\"the Job was suspended "
      "(cancelled): the Job controller deleted its pods\"," TEST_STARTED "}");
}

static void test_interpret_success_criteria_met_is_not_terminal(void **state)
{
  check_interpret(*state, "success-criteria-met",
                  "{\"phase\":\"Running\",\"reason\":\"SuccessCriteriaMet\","
                  "\"message\":\"the Job met its success criteria, the Job "
                  "controller is ending its remaining pods\"," TEST_STARTED
                  "}");
}

static void test_interpret_failure_target_is_not_terminal(void **state)
{
  struct fixture *f = *state;
  check_interpret(f, "failure-target",
                  "{\"phase\":\"Running\",\"reason\":\"BackoffLimitExceeded\","
                  "\"message\":\"the Job is failing, the Job controller is "
                  "ending its pods: Job has reached the specified backoff "
                  "limit\"," TEST_STARTED "}");
  assert_int_equal(f->lister_calls, 0);
}

static void test_interpret_image_pull_within_grace_rechecks(void **state)
{
  struct fixture *f = *state;
  struct wfe_error err = WFE_ERROR_INIT;
  char *text = interpret_fixture(f, "image-pull-recent", WFE_OK, &err);
  json_object *doc = json_tokener_parse(text);
  assert_non_null(doc);
  json_object *recheck = json_object_object_get(doc, "recheckAfterSeconds");
  assert_true(json_object_is_type(recheck, json_type_int));
  int64_t seconds = json_object_get_int64(recheck);
  if (seconds < 290 || seconds > 300)
    fail_msg("recheckAfterSeconds %lld, not about 300", (long long)seconds);
  json_object_object_del(doc, "recheckAfterSeconds");
  test_assert_json_equal(
      json_object_to_json_string(doc),
      "{\"phase\":\"Running\",\"reason\":\"ImagePullBackOff\",\"message\":"
      "\"cannot pull image registry.invalid/team/restart:v9: Back-off pulling "
      "image \\\"registry.invalid/team/restart:v9\\\"\"," TEST_STARTED "}",
      "image-pull-recent");
  json_object_put(doc);
  free(text);
}

static void test_interpret_image_pull_past_grace_is_failed(void **state)
{
  check_vector(*state, "image-pull-old");
}

/* The interpret document of image-pull-recent by an engine created from
 * `config`; free it. */
static char *interpret_recent_pull(struct fixture *f, const char *config)
{
  test_recreate_engine(&f->t, config);
  struct wfe_error err = WFE_ERROR_INIT;
  return interpret_fixture(f, "image-pull-recent", WFE_OK, &err);
}

static void test_interpret_image_pull_grace_zero_fails_at_once(void **state)
{
  char *text = interpret_recent_pull(*state, "{\"imagePullGraceSeconds\":0}");
  assert_non_null(strstr(text, "\"phase\":\"Failed\""));
  assert_null(strstr(text, "recheckAfterSeconds"));
  free(text);
}

static void test_interpret_asks_again_within_the_abi_bound(void **state)
{
  char *text =
      interpret_recent_pull(*state, "{\"imagePullGraceSeconds\":86400}");
  assert_non_null(strstr(text, "\"phase\":\"Running\""));
  assert_non_null(strstr(text, "\"recheckAfterSeconds\":3600"));
  free(text);
}

static void test_interpret_returns_unavailable_as_retryable(void **state)
{
  struct fixture *f = *state;
  struct wfe_error err = WFE_ERROR_INIT;
  char *text =
      interpret_fixture(f, "failed-unavailable", WFE_E_UNAVAILABLE, &err);
  assert_true(err.retryable);
  assert_non_null(strstr(err.message, "connection refused"));
  assert_string_equal(text, "");
  free(text);
  wfe_error_clear(&err);
}

/* On a host that gives the engine no pods (`kind`), interpret still gives
 * the Job's outcome, without failure detail, and the pod pulling the image
 * of `pull_fixture` is only running. */
static void check_without_pods(struct fixture *f, enum host_kind kind,
                               const char *pull_fixture)
{
  host_init(f, kind);
  test_recreate_engine(&f->t, "{}");
  check_interpret(f, "failed-exit-2", "{" BACKOFF "}");
  check_interpret(f, pull_fixture,
                  "{\"phase\":\"Running\",\"reason\":\"Running\",\"message\":"
                  "\"pods: 1 active (0 ready), 0 failed\"," TEST_STARTED "}");
}

static void
test_interpret_offline_gives_the_outcome_without_detail(void **state)
{
  check_without_pods(*state, HOST_OFFLINE, "image-pull-old");
}

static void test_interpret_on_an_abi_1_0_host_gives_no_detail(void **state)
{
  struct fixture *f = *state;
  check_without_pods(f, HOST_ABI_1_0, "image-pull-recent");
  assert_int_equal(f->lister_calls, 0);
}

static void test_interpret_names_a_malformed_status_field(void **state)
{
  struct fixture *f = *state;
  test_expect_malformed_status(
      &f->t, "Complete", "{\"status\":{\"active\":\"1\"}}", "status.active");
}

/* ---- cancel and the run type --------------------------------------------- */

static void test_cancel_suspends_the_job(void **state)
{
  struct fixture *f = *state;
  char *run = test_read_data("job", "conformance/interpret/active/run.json");
  test_check_cancel(&f->t, run, "{\"spec\":{\"suspend\":true}}", "cancel");
  free(run);
}

static void test_engine_describes_its_run_type(void **state)
{
  struct fixture *f = *state;
  test_check_run_type(f->t.engine, "job", "batch/v1", "Job", "jobs", true);
}

#define T(test) TEST_ENGINE_CASE(test, setup)
#define GOLDEN(test, name) TEST_GOLDEN_CASE(test, setup, "job", name)

int main(void)
{
  const struct CMUnitTest tests[] = {
      T(test_config_defaults_every_key),
      T(test_config_accepts_each_key_within_its_range),
      T(test_config_rejects_an_unknown_key_naming_it),
      T(test_config_rejects_wrong_types_and_ranges),
      T(test_config_sets_the_job_deadline_and_ttl),
      GOLDEN(test_render_pins_the_image_to_the_digest_replacing_the_tag,
             "digest"),
      GOLDEN(test_render_runs_the_image_as_is_without_a_digest, "no-digest"),
      GOLDEN(test_render_keeps_one_digest_when_the_image_has_it, "same-digest"),
      GOLDEN(test_render_passes_params_as_env_sorted_and_exact, "params"),
      GOLDEN(test_render_sets_the_pod_service_account, "service-account"),
      T(test_render_output_is_deterministic),
      T(test_render_names_executions_differing_in_uid_apart),
      T(test_render_leaves_namespace_labels_and_owners_to_the_host),
      T(test_validate_accepts_a_valid_execution),
      T(test_validate_rejects_an_invalid_image_reference),
      T(test_validate_rejects_a_malformed_or_conflicting_digest),
      T(test_validate_rejects_names_that_cannot_be_env_vars),
      T(test_validate_rejects_values_that_are_not_env_strings),
      T(test_validate_names_missing_and_mistyped_fields),
      T(test_interpret_without_status_is_pending),
      T(test_interpret_active_is_running_with_pod_counts),
      T(test_interpret_complete_is_completed_success),
      T(test_interpret_deadline_exceeded_is_failed_timeout),
      T(test_interpret_failed_names_the_pod_that_exited_2),
      T(test_interpret_failed_oom_killed_skips_disrupted_pods),
      T(test_interpret_suspended_is_cancelled),
      T(test_interpret_success_criteria_met_is_not_terminal),
      T(test_interpret_failure_target_is_not_terminal),
      T(test_interpret_image_pull_within_grace_rechecks),
      T(test_interpret_image_pull_past_grace_is_failed),
      T(test_interpret_image_pull_grace_zero_fails_at_once),
      T(test_interpret_asks_again_within_the_abi_bound),
      T(test_interpret_returns_unavailable_as_retryable),
      T(test_interpret_offline_gives_the_outcome_without_detail),
      T(test_interpret_on_an_abi_1_0_host_gives_no_detail),
      T(test_interpret_names_a_malformed_status_field),
      T(test_cancel_suspends_the_job),
      T(test_engine_describes_its_run_type),
  };
  return cmocka_run_group_tests_name("job engine", tests, NULL, NULL);
}
