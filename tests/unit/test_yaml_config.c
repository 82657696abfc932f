/*
 * YAML to JSON (the one place) and the controller configuration read on top
 * of it: types, errors with line numbers, and every config key checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wfe/engine.h>

#include <cmocka.h>

#include "config.h"
#include "error.h"
#include "json_util.h"
#include "yaml_reader.h"

static json_object *parse_ok(const char *text)
{
  json_object *obj = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = wfe_yaml_parse(text, strlen(text), "t.yaml", &obj, &err);
  if (rc)
    fail_msg("parse failed: %s", wfe_error_message(&err));
  return obj;
}

static void expect_yaml_error(const char *text, const char *fragment)
{
  json_object *obj = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_yaml_parse(text, strlen(text), "t.yaml", &obj, &err),
                   WFE_E_INVALID);
  assert_null(obj);
  if (!strstr(err.message, fragment))
    fail_msg("\"%s\" lacks \"%s\"", err.message, fragment);
  wfe_error_clear(&err);
}

static void test_yaml_types_follow_the_core_schema(void **state)
{
  json_object *obj = parse_ok("a: 1\nb: 1.5\nc: true\nd: null\ne: \"1\"\n"
                              "f: hello world\ng: [x, 2]\nh: '007'\n"
                              "i: 1.4.0\nj: ~\n");
  assert_true(json_object_is_type(wfe_json_get(obj, "a"), json_type_int));
  assert_true(json_object_is_type(wfe_json_get(obj, "b"), json_type_double));
  assert_true(json_object_is_type(wfe_json_get(obj, "c"), json_type_boolean));
  assert_null(wfe_json_get(obj, "d"));
  assert_string_equal(wfe_json_get_string(obj, "e"), "1");
  assert_string_equal(wfe_json_get_string(obj, "f"), "hello world");
  assert_string_equal(wfe_json_get_string(obj, "h"), "007");
  assert_string_equal(wfe_json_get_string(obj, "i"), "1.4.0");
  assert_int_equal(json_object_array_length(wfe_json_get(obj, "g")), 2);
  json_object_put(obj);
}

static void test_yaml_reads_json_too(void **state)
{
  json_object *obj = parse_ok("{\"a\": {\"b\": [1, \"two\"]}, \"u\": "
                              "\"\\u00e9\\\"q\"}");
  assert_string_equal(wfe_json_get_string(obj, "u"), "\xc3\xa9\"q");
  json_object_put(obj);
}

static void test_yaml_errors_name_line_and_column(void **state)
{
  expect_yaml_error("a: 1\nb: [1,\n", "t.yaml:3:1:");
  expect_yaml_error("a: 1\n  b: 2\n", "t.yaml:2:4:");
}

static void test_yaml_rejects_duplicates_aliases_and_streams(void **state)
{
  expect_yaml_error("a: 1\na: 2\n", "duplicate key \"a\"");
  expect_yaml_error("a: &x 1\nb: *x\n", "anchors and aliases");
  expect_yaml_error("a: 1\n---\nb: 2\n", "exactly one YAML document");
  expect_yaml_error("", "empty document");
  expect_yaml_error("a: !custom 1\n", "unsupported tag");
}

static void test_yaml_limits_nesting_depth(void **state)
{
  char deep[400];
  size_t n = 0;
  for (int i = 0; i < 100; i++)
    deep[n++] = '[';
  for (int i = 0; i < 100; i++)
    deep[n++] = ']';
  deep[n] = '\0';
  expect_yaml_error(deep, "nested too deeply");
}

static char *write_temp(const char *text)
{
  char *path = strdup("/tmp/wfe-config-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

static void test_config_reads_every_key(void **state)
{
  char *path = write_temp(
      "kubeconfig: /k\nnamespaces: [a, b]\nexecutionNamespace: runs\n"
      "pluginsDir: /p\nrequiredEngines: [tekton]\ndefaultEngine: tekton\n"
      "engines:\n  tekton: {pipelineName: main}\nworkers: 8\n"
      "leaderElection: {enabled: true, namespace: ns, id: lock, "
      "leaseDuration: 20s, renewDeadline: 15s, retryPeriod: 1500ms}\n"
      "metricsBindAddress: \":9999\"\nhealthProbeBindAddress: \"0\"\n"
      "log: {format: text, level: debug}\nresyncPeriod: 1m\n"
      "shutdownGracePeriod: 5s\nengineIsolation: none\n"
      "statusProgressInterval: 30s\n"
      "engineHost: {callTimeout: 2s, loadTimeout: 3s, memoryLimit: 256Mi, "
      "cpuLimit: 5m, maxOutputSize: 512Ki, maxConsecutiveFaults: 5, "
      "engines: {tekton: {callTimeout: 9s, memoryLimit: 1Gi}}}\n");
  struct wfe_config c;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_config_init(&c), 0);
  assert_int_equal(wfe_config_load_file(&c, path, &err), 0);
  assert_int_equal(wfe_config_validate(&c, &err), 0);
  assert_string_equal(c.kubeconfig, "/k");
  assert_int_equal(c.namespace_count, 2);
  assert_string_equal(c.namespaces[1], "b");
  assert_string_equal(c.execution_namespace, "runs");
  assert_string_equal(c.required_engines[0], "tekton");
  assert_string_equal(wfe_config_engine_json(&c, "tekton"),
                      "{\"pipelineName\":\"main\"}");
  assert_null(wfe_config_engine_json(&c, "argo"));
  assert_int_equal(c.workers, 8);
  assert_true(c.leader_elect);
  assert_int_equal(c.lease_duration_ms, 20000);
  assert_int_equal(c.retry_period_ms, 1500);
  assert_int_equal(c.resync_period_ms, 60000);
  assert_string_equal(c.log_level, "debug");
  assert_string_equal(c.log_format, "text");
  assert_string_equal(c.plugins_dir, "/p");
  assert_string_equal(c.default_engine, "tekton");
  assert_string_equal(c.leader_election_namespace, "ns");
  assert_string_equal(c.leader_election_id, "lock");
  assert_int_equal(c.renew_deadline_ms, 15000);
  assert_string_equal(c.metrics_bind_address, ":9999");
  assert_string_equal(c.health_probe_bind_address, "0");
  assert_int_equal(c.shutdown_grace_ms, 5000);
  assert_int_equal(c.status_progress_interval_ms, 30000);
  assert_int_equal(c.engine_isolation, WFE_ISOLATION_NONE);
  assert_int_equal(c.max_consecutive_faults, 5);
  struct wfe_engine_host_limits l;
  wfe_config_engine_limits(&c, "argo", &l);
  assert_int_equal(l.call_timeout_ms, 2000);
  assert_int_equal(l.load_timeout_ms, 3000);
  assert_true(l.memory_bytes == 256ull << 20);
  assert_true(l.cpu_seconds == 300);
  assert_true(l.max_output == 512ull << 10);
  wfe_config_engine_limits(&c, "tekton", &l); /* its own over the defaults */
  assert_int_equal(l.call_timeout_ms, 9000);
  assert_true(l.memory_bytes == 1ull << 30);
  assert_true(l.max_output == 512ull << 10);
  wfe_config_free(&c);
  unlink(path);
  free(path);
}

static void test_config_defaults_the_progress_interval_to_10s(void **state)
{
  struct wfe_config c;
  assert_int_equal(wfe_config_init(&c), 0);
  assert_int_equal(c.status_progress_interval_ms, 10000);
  wfe_config_free(&c);
}

static void test_config_metrics_are_secure_by_default_on_8443(void **state)
{
  struct wfe_config c;
  assert_int_equal(wfe_config_init(&c), 0);
  assert_true(c.metrics_secure);
  assert_null(c.metrics_cert_file);
  assert_string_equal(wfe_config_metrics_bind_address(&c), ":8443");
  assert_int_equal(c.metrics_auth_allow_ttl_ms, 60000);
  assert_int_equal(c.metrics_auth_deny_ttl_ms, 30000);
  assert_int_equal(c.metrics_auth_cache_size, 1024);
  assert_int_equal(c.metrics_auth_timeout_ms, 3000);
  c.metrics_secure = 0; /* plain HTTP keeps the old port */
  assert_string_equal(wfe_config_metrics_bind_address(&c), ":9090");
  wfe_config_free(&c);
}

static void test_config_reads_the_metrics_keys(void **state)
{
  char *path = write_temp(
      "metricsSecure: true\nmetricsCertFile: /certs/tls.crt\n"
      "metricsKeyFile: /certs/tls.key\nmetricsBindAddress: \":9443\"\n"
      "metricsAuth: {allowCacheTTL: 2s, denyCacheTTL: 0s, cacheSize: 10, "
      "timeout: 500ms}\n");
  struct wfe_config c;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_config_init(&c), 0);
  assert_int_equal(wfe_config_load_file(&c, path, &err), 0);
  assert_int_equal(wfe_config_validate(&c, &err), 0);
  assert_true(c.metrics_secure);
  assert_string_equal(c.metrics_cert_file, "/certs/tls.crt");
  assert_string_equal(c.metrics_key_file, "/certs/tls.key");
  assert_string_equal(wfe_config_metrics_bind_address(&c), ":9443");
  assert_int_equal(c.metrics_auth_allow_ttl_ms, 2000);
  assert_int_equal(c.metrics_auth_deny_ttl_ms, 0);
  assert_int_equal(c.metrics_auth_cache_size, 10);
  assert_int_equal(c.metrics_auth_timeout_ms, 500);
  wfe_config_free(&c);
  unlink(path);
  free(path);
  int value = -1;
  assert_int_equal(wfe_parse_bool("false", &value), 0);
  assert_int_equal(value, 0);
  assert_int_equal(wfe_parse_bool("true", &value), 0);
  assert_int_equal(value, 1);
  assert_int_equal(wfe_parse_bool("yes", &value), WFE_E_INVALID);
  assert_int_equal(wfe_parse_bool(NULL, &value), WFE_E_INVALID);
}

static void expect_config_error(const char *text, const char *key,
                                const char *fragment)
{
  char *path = write_temp(text);
  struct wfe_config c;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_config_init(&c), 0);
  int rc = wfe_config_load_file(&c, path, &err);
  if (!rc)
    rc = wfe_config_validate(&c, &err);
  assert_int_equal(rc, WFE_E_INVALID);
  if (key)
    assert_string_equal(err.field, key);
  if (!strstr(err.message, fragment))
    fail_msg("\"%s\" lacks \"%s\"", err.message, fragment);
  wfe_error_clear(&err);
  wfe_config_free(&c);
  unlink(path);
  free(path);
}

static void test_config_errors_name_the_key_and_reason(void **state)
{
  expect_config_error("workers: many\n", "workers", "must be an integer");
  expect_config_error("workers: 0\n", "workers", "between 1 and 256");
  expect_config_error("wrokers: 2\n", "wrokers", "unknown key");
  expect_config_error("leaderElection: {leaseDuration: soon}\n",
                      "leaderElection.leaseDuration", "duration");
  expect_config_error("leaderElection: {enabled: true, leaseDuration: 1s}\n",
                      "leaderElection", "must exceed");
  expect_config_error("engines: {Tekton: {}}\n", "engines.Tekton",
                      "DNS labels");
  expect_config_error("engines: {tekton: 3}\n", "engines.tekton",
                      "map of settings");
  expect_config_error("namespaces: [Bad]\n", "namespaces", "DNS label");
  expect_config_error("log: {format: xml}\n", "log.format", "json");
  expect_config_error("defaultEngine: \"\"\n", "defaultEngine", "DNS label");
  expect_config_error("a: [\n", NULL, ":1:");
  expect_config_error("statusProgressInterval: 500ms\n",
                      "statusProgressInterval", "between 1s and 1h");
  expect_config_error("statusProgressInterval: 2h\n", "statusProgressInterval",
                      "between 1s and 1h");
  expect_config_error("statusProgressInterval: 10\n", "statusProgressInterval",
                      "duration");
  expect_config_error("engineIsolation: thread\n", "engineIsolation",
                      "\"process\" or \"none\"");
  expect_config_error("engineHost: {callTimeout: 0s}\n",
                      "engineHost.callTimeout", "positive duration");
  expect_config_error("engineHost: {memoryLimit: lots}\n",
                      "engineHost.memoryLimit", "such as \"512Mi\"");
  expect_config_error("engineHost: {memoryLimit: 1Mi}\n",
                      "engineHost.memoryLimit", "at least 33554432 bytes");
  expect_config_error("engineHost: {cpuLimit: 500ms}\n", "engineHost.cpuLimit",
                      "at least 1s");
  expect_config_error("engineHost: {maxConsecutiveFaults: 0}\n",
                      "engineHost.maxConsecutiveFaults", "between 1 and 100");
  expect_config_error("engineHost: {timeout: 1s}\n", "engineHost.timeout",
                      "unknown key");
  expect_config_error("engineHost: {engines: {Tekton: {}}}\n",
                      "engineHost.engines.Tekton", "DNS labels");
  expect_config_error("engineHost: {engines: {tekton: {memory: 1Gi}}}\n",
                      "engineHost.engines.tekton.memory", "unknown key");
  expect_config_error("metricsSecure: \"no\"\n", "metricsSecure",
                      "true or false");
  expect_config_error("metricsSecure: 1\n", "metricsSecure", "true or false");
  expect_config_error("metricsCertFile: 3\n", "metricsCertFile",
                      "must be a string");
  expect_config_error("metricsCertFile: /c/tls.crt\n", "metricsKeyFile",
                      "together with metricsCertFile");
  expect_config_error("metricsKeyFile: /c/tls.key\n", "metricsCertFile",
                      "together with metricsKeyFile");
  expect_config_error("metricsSecure: false\nmetricsCertFile: /c/tls.crt\n"
                      "metricsKeyFile: /c/tls.key\n",
                      "metricsCertFile", "metricsSecure is false");
  expect_config_error("metricsAuth: 5s\n", "metricsAuth", "must be a map");
  expect_config_error("metricsAuth: {allowCacheTTL: forever}\n",
                      "metricsAuth.allowCacheTTL", "duration");
  expect_config_error("metricsAuth: {denyCacheTTL: -1s}\n",
                      "metricsAuth.denyCacheTTL", "duration");
  expect_config_error("metricsAuth: {cacheSize: 0}\n", "metricsAuth.cacheSize",
                      "between 1 and 1000000");
  expect_config_error("metricsAuth: {timeout: 0s}\n", "metricsAuth.timeout",
                      "positive duration");
  expect_config_error("metricsAuth: {ttl: 1s}\n", "metricsAuth.ttl",
                      "unknown key (known: allowCacheTTL");
}

static void test_byte_quantities(void **state)
{
  uint64_t bytes = 0;
  assert_int_equal(wfe_parse_bytes("1048576", &bytes), 0);
  assert_true(bytes == 1048576);
  assert_int_equal(wfe_parse_bytes("512Mi", &bytes), 0);
  assert_true(bytes == 512ull << 20);
  assert_int_equal(wfe_parse_bytes("2G", &bytes), 0);
  assert_true(bytes == 2000000000ull);
  assert_int_not_equal(wfe_parse_bytes("1.5Gi", &bytes), 0);
  assert_int_not_equal(wfe_parse_bytes("-1", &bytes), 0);
  assert_int_not_equal(wfe_parse_bytes("Mi", &bytes), 0);
  assert_int_not_equal(wfe_parse_bytes("99999999999999999999", &bytes), 0);
  assert_int_not_equal(wfe_parse_bytes("20000000000Gi", &bytes), 0);
}

static void test_duration_parsing(void **state)
{
  long ms = 0;
  assert_int_equal(wfe_parse_duration_ms("250ms", &ms), 0);
  assert_int_equal(ms, 250);
  assert_int_equal(wfe_parse_duration_ms("1.5s", &ms), 0);
  assert_int_equal(ms, 1500);
  assert_int_equal(wfe_parse_duration_ms("2h", &ms), 0);
  assert_int_equal(ms, 7200000);
  assert_int_not_equal(wfe_parse_duration_ms("10", &ms), 0);
  assert_int_not_equal(wfe_parse_duration_ms("-1s", &ms), 0);
  assert_int_not_equal(wfe_parse_duration_ms("s", &ms), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_yaml_types_follow_the_core_schema),
      cmocka_unit_test(test_yaml_reads_json_too),
      cmocka_unit_test(test_yaml_errors_name_line_and_column),
      cmocka_unit_test(test_yaml_rejects_duplicates_aliases_and_streams),
      cmocka_unit_test(test_yaml_limits_nesting_depth),
      cmocka_unit_test(test_config_reads_every_key),
      cmocka_unit_test(test_config_defaults_the_progress_interval_to_10s),
      cmocka_unit_test(test_config_errors_name_the_key_and_reason),
      cmocka_unit_test(test_config_metrics_are_secure_by_default_on_8443),
      cmocka_unit_test(test_config_reads_the_metrics_keys),
      cmocka_unit_test(test_duration_parsing),
      cmocka_unit_test(test_byte_quantities),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
