/*
 * The WorkflowExecution contract: every rule of the CRD schema, checked again
 * by the controller, names the field and the rule, and is never stricter
 * than the API server (tests/e2e checks the same boundaries against it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wfe/engine.h>

#include <cmocka.h>

#include "error.h"
#include "execution.h"
#include "json_util.h"

static const char *valid =
    "{\"apiVersion\":\"kubernaut.ai/v1alpha1\",\"kind\":\"WorkflowExecution\","
    "\"metadata\":{\"name\":\"wfe-1\",\"namespace\":\"demo\",\"uid\":\"u1\"},"
    "\"spec\":{\"remediationRequestRef\":{\"name\":\"rr-1\"},"
    "\"workflowRef\":{\"workflowId\":\"restart\",\"version\":\"1.0\","
    "\"containerImage\":\"r.example/w:1\"},"
    "\"parameters\":{\"A\":\"1\",\"B_2\":\"x\"},\"confidence\":0.5,"
    "\"executionConfig\":{\"serviceAccountName\":\"runner\"}}}";

static json_object *parse_valid(void)
{
  json_object *obj = wfe_json_parse(valid, strlen(valid));
  assert_non_null(obj);
  return obj;
}

/* Sets `path` (dotted; the last step is created) to the JSON `value`
 * ("null" deletes it), validates, and checks the outcome. */
static void expect_rule(const char *path, const char *value, const char *field,
                        const char *rule_fragment)
{
  json_object *obj = parse_valid();
  char parent[256];
  const char *dot = strrchr(path, '.');
  snprintf(parent, sizeof(parent), "%.*s", (int)(dot - path), path);
  json_object *container = wfe_json_get(obj, parent);
  assert_non_null(container);
  if (strcmp(value, "null") == 0)
    json_object_object_del(container, dot + 1);
  else
    json_object_object_add(container, dot + 1,
                           wfe_json_parse(value, strlen(value)));
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = wfe_execution_validate(obj, WFE_EXECUTION_STRICT_FIELDS, &err);
  if (!field) {
    assert_int_equal(rc, 0);
  } else {
    assert_int_equal(rc, WFE_E_INVALID);
    assert_string_equal(err.field, field);
    assert_string_equal(err.reason, "InvalidSpec");
    if (!strstr(err.message, rule_fragment))
      fail_msg("message \"%s\" lacks \"%s\"", err.message, rule_fragment);
    assert_non_null(strstr(err.message, field));
  }
  wfe_error_clear(&err);
  json_object_put(obj);
}

static void test_execution_accepts_a_valid_resource(void **state)
{
  json_object *obj = parse_valid();
  assert_int_equal(wfe_execution_validate(obj, 0, NULL), 0);
  json_object_put(obj);
}

static void test_execution_requires_each_required_field(void **state)
{
  expect_rule("spec.remediationRequestRef", "null",
              "spec.remediationRequestRef", "required");
  expect_rule("spec.remediationRequestRef.name", "null",
              "spec.remediationRequestRef.name", "required");
  expect_rule("spec.workflowRef", "null", "spec.workflowRef", "required");
  expect_rule("spec.workflowRef.workflowId", "null",
              "spec.workflowRef.workflowId", "required");
  expect_rule("spec.workflowRef.version", "null", "spec.workflowRef.version",
              "required");
  expect_rule("spec.workflowRef.containerImage", "null",
              "spec.workflowRef.containerImage", "required");
  expect_rule("spec.workflowRef.containerImage", "\"\"",
              "spec.workflowRef.containerImage", "must not be empty");
  expect_rule("metadata.name", "null", "metadata.name", "required");
}

static void test_execution_checks_parameter_names(void **state)
{
  expect_rule("spec.parameters.lower", "\"x\"", "spec.parameters.lower",
              "^[A-Z][A-Z0-9_]*$");
  expect_rule("spec.parameters.1ABC", "\"x\"", "spec.parameters.1ABC",
              "UPPER_SNAKE_CASE");
  expect_rule("spec.parameters.A-B", "\"x\"", "spec.parameters.A-B",
              "UPPER_SNAKE_CASE");
  expect_rule("spec.parameters.GOOD_NAME_9", "\"x\"", NULL, NULL);
}

static void test_execution_requires_string_parameter_values(void **state)
{
  expect_rule("spec.parameters.COUNT", "3", "spec.parameters.COUNT",
              "value must be a string");
}

static void test_execution_limits_parameter_values_and_count(void **state)
{
  json_object *obj = parse_valid();
  json_object *params = wfe_json_get(obj, "spec.parameters");
  struct wfe_error err = WFE_ERROR_INIT;
  /* Values: 32768 characters pass, 32769 do not. */
  char big[WFE_MAX_PARAMETER_VALUE + 2];
  memset(big, 'x', sizeof(big) - 1);
  big[WFE_MAX_PARAMETER_VALUE] = '\0';
  json_object_object_add(params, "BIG", json_object_new_string(big));
  assert_int_equal(wfe_execution_validate(obj, 0, &err), 0);
  big[WFE_MAX_PARAMETER_VALUE] = 'x';
  big[WFE_MAX_PARAMETER_VALUE + 1] = '\0';
  json_object_object_add(params, "BIG", json_object_new_string(big));
  assert_int_equal(wfe_execution_validate(obj, 0, &err), WFE_E_INVALID);
  assert_string_equal(err.field, "spec.parameters.BIG");
  assert_non_null(strstr(err.message, "at most 32768 characters"));
  json_object_object_del(params, "BIG");
  /* maxLength counts characters, as the API server does: 32768 two-byte
   * characters (65536 bytes) pass, one more does not. */
  char *wide = malloc(2 * (WFE_MAX_PARAMETER_VALUE + 1) + 1);
  assert_non_null(wide);
  for (int i = 0; i <= WFE_MAX_PARAMETER_VALUE; i++)
    memcpy(wide + 2 * i, "\xc3\xa9", 2); /* U+00E9 */
  wide[2 * WFE_MAX_PARAMETER_VALUE] = '\0';
  json_object_object_add(params, "WIDE", json_object_new_string(wide));
  assert_int_equal(wfe_execution_validate(obj, 0, &err), 0);
  wide[2 * WFE_MAX_PARAMETER_VALUE] = '\xc3';
  wide[2 * WFE_MAX_PARAMETER_VALUE + 2] = '\0';
  json_object_object_add(params, "WIDE", json_object_new_string(wide));
  assert_int_equal(wfe_execution_validate(obj, 0, &err), WFE_E_INVALID);
  assert_string_equal(err.field, "spec.parameters.WIDE");
  json_object_object_del(params, "WIDE");
  free(wide);
  /* Names: 63 characters pass, 64 do not. */
  char name[WFE_MAX_PARAMETER_NAME + 2];
  memset(name, 'A', sizeof(name) - 1);
  name[WFE_MAX_PARAMETER_NAME] = '\0';
  json_object_object_add(params, name, json_object_new_string("v"));
  assert_int_equal(wfe_execution_validate(obj, 0, &err), 0);
  json_object_object_del(params, name);
  name[WFE_MAX_PARAMETER_NAME] = 'A';
  name[WFE_MAX_PARAMETER_NAME + 1] = '\0';
  json_object_object_add(params, name, json_object_new_string("v"));
  assert_int_equal(wfe_execution_validate(obj, 0, &err), WFE_E_INVALID);
  assert_non_null(strstr(err.message, "at most 63 characters"));
  json_object_object_del(params, name);
  /* Count: 100 entries pass, 101 do not (the valid resource has 2). */
  for (int i = 0; i < WFE_MAX_PARAMETERS - 2; i++) {
    char key[16];
    snprintf(key, sizeof(key), "P%d", i);
    json_object_object_add(params, key, json_object_new_string("v"));
  }
  assert_int_equal(wfe_execution_validate(obj, 0, &err), 0);
  json_object_object_add(params, "ONE_MORE", json_object_new_string("v"));
  assert_int_equal(wfe_execution_validate(obj, 0, &err), WFE_E_INVALID);
  assert_string_equal(err.field, "spec.parameters");
  assert_non_null(strstr(err.message, "at most 100 entries"));
  wfe_error_clear(&err);
  json_object_put(obj);
}

static void test_execution_checks_digest_pattern(void **state)
{
  expect_rule("spec.workflowRef.containerDigest", "\"sha256:abc\"",
              "spec.workflowRef.containerDigest", "^sha256:[0-9a-f]{64}$");
  expect_rule("spec.workflowRef.containerDigest",
              "\"sha256:ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
              "ABCDEF0123456789\"",
              "spec.workflowRef.containerDigest", "sha256");
  expect_rule("spec.workflowRef.containerDigest",
              "\"sha256:4b8f2e6a1c3d5e7f9a0b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f"
              "2a4b6c8d0e2f\"",
              NULL, NULL);
}

static void test_execution_checks_engine_is_a_dns_label(void **state)
{
  expect_rule("spec.workflowRef.engine", "\"Tekton\"",
              "spec.workflowRef.engine", "DNS label");
  expect_rule("spec.workflowRef.engine", "\"../../etc/x\"",
              "spec.workflowRef.engine", "DNS label");
  expect_rule("spec.workflowRef.engine", "\"argo\"", NULL, NULL);
}

static void test_execution_checks_confidence_range(void **state)
{
  expect_rule("spec.confidence", "1.01", "spec.confidence", "between 0 and 1");
  expect_rule("spec.confidence", "-0.1", "spec.confidence", "between 0 and 1");
  expect_rule("spec.confidence", "\"high\"", "spec.confidence",
              "must be a number");
  expect_rule("spec.confidence", "1", NULL, NULL);
  expect_rule("spec.confidence", "0", NULL, NULL);
}

static void test_execution_checks_service_account_name(void **state)
{
  expect_rule("spec.executionConfig.serviceAccountName", "\"Bad_SA\"",
              "spec.executionConfig.serviceAccountName", "DNS subdomain");
}

static void test_execution_rejects_unknown_spec_fields_when_strict(void **state)
{
  expect_rule("spec.timeout", "\"1h\"", "spec.timeout", "unknown field");
  expect_rule("spec.workflowRef.bundle", "\"x\"", "spec.workflowRef.bundle",
              "unknown field");
}

/* An object from the API server was pruned to the installed CRD, which may
 * know fields this controller does not: they are no reason to fail it. */
static void test_execution_ignores_fields_the_api_server_admitted(void **state)
{
  json_object *obj = parse_valid();
  json_object_object_add(wfe_json_get(obj, "spec"), "timeout",
                         json_object_new_string("1h"));
  json_object_object_add(wfe_json_get(obj, "spec.workflowRef"), "bundle",
                         json_object_new_string("x"));
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_execution_validate(obj, 0, &err), 0);
  assert_int_equal(
      wfe_execution_validate(obj, WFE_EXECUTION_STRICT_FIELDS, &err),
      WFE_E_INVALID);
  wfe_error_clear(&err);
  json_object_put(obj);
}

/* A string of `count` copies of `unit`, as a JSON string literal. */
static char *json_repeat(const char *unit, size_t count)
{
  size_t unit_len = strlen(unit);
  char *s = malloc(unit_len * count + 3);
  assert_non_null(s);
  s[0] = '"';
  for (size_t i = 0; i < count; i++)
    memcpy(s + 1 + i * unit_len, unit, unit_len);
  strcpy(s + 1 + count * unit_len, "\"");
  return s;
}

/* The API server's own limits, at their edges: names by apimachinery's
 * IsDNS1123Subdomain (253 in all, parts unbounded), lengths in characters. */
static void test_execution_limits_match_the_api_server(void **state)
{
  struct {
    const char *path, *unit;
    size_t ok, field_len_too_long;
  } cases[] = {
      {"metadata.name", "a", 253, 254},
      {"spec.workflowRef.workflowId", "\xc3\xa9", 253, 254},
      {"spec.workflowRef.version", "\xc3\xa9", 63, 64},
      {"spec.workflowRef.containerImage", "\xc3\xa9", 512, 513},
      {"spec.remediationRequestRef.name", "\xe2\x82\xac", 253, 254},
      {"spec.executionConfig.serviceAccountName", "s", 253, 254},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *ok = json_repeat(cases[i].unit, cases[i].ok);
    char *too_long = json_repeat(cases[i].unit, cases[i].field_len_too_long);
    expect_rule(cases[i].path, ok, NULL, NULL);
    expect_rule(cases[i].path, too_long, cases[i].path, "");
    free(ok);
    free(too_long);
  }
  /* A part of a subdomain may be longer than 63 characters. */
  char *long_part = json_repeat("b", 100);
  long_part[1] = 'a';
  long_part[50] = '.';
  expect_rule("metadata.name", long_part, NULL, NULL);
  expect_rule("spec.executionConfig.serviceAccountName", long_part, NULL, NULL);
  free(long_part);
}

static void test_execution_reports_every_violation_at_once(void **state)
{
  json_object *obj = parse_valid();
  json_object_object_add(wfe_json_get(obj, "spec"), "confidence",
                         json_object_new_double(7));
  json_object_object_add(wfe_json_get(obj, "spec.parameters"), "bad",
                         json_object_new_string("x"));
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_execution_validate(obj, 0, &err), WFE_E_INVALID);
  assert_non_null(strstr(err.message, "spec.parameters.bad"));
  assert_non_null(strstr(err.message, "spec.confidence"));
  wfe_error_clear(&err);
  json_object_put(obj);
}

static void test_execution_checks_kind_and_api_version(void **state)
{
  expect_rule("metadata.name", "\"Not_A_Name\"", "metadata.name",
              "DNS subdomain");
  json_object *obj = parse_valid();
  json_object_object_add(obj, "kind", json_object_new_string("Pod"));
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_execution_validate(obj, 0, &err), WFE_E_INVALID);
  assert_string_equal(err.field, "kind");
  json_object_object_add(obj, "kind",
                         json_object_new_string("WorkflowExecution"));
  json_object_object_add(obj, "apiVersion",
                         json_object_new_string("kubernaut.ai/v1"));
  assert_int_equal(wfe_execution_validate(obj, 0, &err), WFE_E_INVALID);
  assert_string_equal(err.field, "apiVersion");
  assert_non_null(strstr(err.message, "must be kubernaut.ai/v1alpha1"));
  wfe_error_clear(&err);
  json_object_put(obj);
}

static void test_execution_engine_defaults_when_unset(void **state)
{
  json_object *obj = parse_valid();
  assert_string_equal(wfe_execution_engine(obj, "tekton"), "tekton");
  json_object_object_add(wfe_json_get(obj, "spec.workflowRef"), "engine",
                         json_object_new_string("argo"));
  assert_string_equal(wfe_execution_engine(obj, "tekton"), "argo");
  json_object_put(obj);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_execution_accepts_a_valid_resource),
      cmocka_unit_test(test_execution_requires_each_required_field),
      cmocka_unit_test(test_execution_checks_parameter_names),
      cmocka_unit_test(test_execution_requires_string_parameter_values),
      cmocka_unit_test(test_execution_limits_parameter_values_and_count),
      cmocka_unit_test(test_execution_checks_digest_pattern),
      cmocka_unit_test(test_execution_checks_engine_is_a_dns_label),
      cmocka_unit_test(test_execution_checks_confidence_range),
      cmocka_unit_test(test_execution_checks_service_account_name),
      cmocka_unit_test(test_execution_rejects_unknown_spec_fields_when_strict),
      cmocka_unit_test(test_execution_ignores_fields_the_api_server_admitted),
      cmocka_unit_test(test_execution_limits_match_the_api_server),
      cmocka_unit_test(test_execution_reports_every_violation_at_once),
      cmocka_unit_test(test_execution_checks_kind_and_api_version),
      cmocka_unit_test(test_execution_engine_defaults_when_unset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
