/*
 * The API client (core/kube/kube_client.h) against a real control plane started
 * with tests/cluster/up: CRUD on ConfigMaps and on a custom resource, paged
 * lists, strict field validation, conflicts, preconditions, watches, and the
 * failures a controller meets in production (wrong CA, wrong token, missing
 * RBAC, a rotated token file, a throttled identity). Each test works in its
 * own namespace and deletes it afterwards.
 *
 *   WFE_TEST_PLANE=DIR ctest -L integration -R test_client
 *
 * Skips when WFE_TEST_PLANE is unset.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backoff.h"
#include "json_util.h"
#include "kube_client.h"
#include "metrics.h"
#include "plane.h"
#include "status.h"

#define CONTROLLER_USER "system:serviceaccount:wfe-system:wfe-controller"

static const struct wfe_resource configmaps = {"v1", "configmaps", 1};
static const struct wfe_resource namespaces = {"v1", "namespaces", 0};
static const struct wfe_resource secrets = {"v1", "secrets", 1};
static const struct wfe_resource roles = {"rbac.authorization.k8s.io/v1",
                                          "roles", 1};
static const struct wfe_resource rolebindings = {"rbac.authorization.k8s.io/v1",
                                                 "rolebindings", 1};
/* The project's own CRD: no controller acts on it while these tests run (the
 * plane's Tekton would reconcile a PipelineRun under the test's feet). */
static const struct wfe_resource executions = {"kubernaut.ai/v1alpha1",
                                               "workflowexecutions", 1};

static char ns[64]; /* the current test's namespace */

static void assert_contains(const char *text, const char *part)
{
  if (!text || !strstr(text, part))
    fail_msg("\"%s\" does not contain \"%s\"", text ? text : "(null)", part);
}

static json_object *parse(const char *fmt, ...)
{
  char text[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  json_object *obj = wfe_json_parse(text, strlen(text));
  assert_non_null(obj);
  return obj;
}

static struct wfe_kube_client *
new_client(const struct wfe_kube_config *config,
           const struct wfe_kube_client_options *options)
{
  struct wfe_kube_client *client = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_kube_client_new(config, options, &client, &err))
    fail_msg("client: %s", wfe_error_message(&err));
  return client;
}

/* --- Fixtures ----------------------------------------------------------- */

static int group_setup(void **state)
{
  return plane_open(NULL);
}

static int group_teardown(void **state)
{
  plane_close();
  return 0;
}

static int setup(void **state)
{
  if (!plane.admin)
    return 0;
  struct wfe_error err = WFE_ERROR_INIT;
  if (plane_create_namespace("wfe-client", ns, sizeof(ns), &err))
    fail_msg("namespace %s: %s", ns, wfe_error_message(&err));
  return 0;
}

static int teardown(void **state)
{
  if (plane.admin)
    plane_delete_namespace(ns);
  return 0;
}

static json_object *create_configmap(const char *name, const char *value)
{
  json_object *cm = parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                          "\"metadata\":{\"name\":\"%s\",\"labels\":"
                          "{\"made-by\":\"test-client\"}},"
                          "\"data\":{\"k\":\"%s\"}}",
                          name, value);
  json_object *out = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_kube_create(plane.admin, &configmaps, ns, cm, &out, &err))
    fail_msg("create %s: %s", name, wfe_error_message(&err));
  json_object_put(cm);
  return out;
}

/* --- CRUD --------------------------------------------------------------- */

static void test_configmap_create_get_update_patch_delete(void **state)
{
  plane_need();
  struct wfe_error err = WFE_ERROR_INIT;
  json_object *created = create_configmap("crud", "one");
  assert_non_null(wfe_json_get_string(created, "metadata.uid"));

  json_object *got = NULL;
  assert_int_equal(
      wfe_kube_get(plane.admin, &configmaps, ns, "crud", &got, &err), 0);
  assert_string_equal(wfe_json_get_string(got, "data.k"), "one");

  json_object *data = wfe_json_get(got, "data");
  wfe_json_set_string(data, "k", "two");
  json_object *updated = NULL;
  assert_int_equal(wfe_kube_update(plane.admin, &configmaps, ns, "crud", NULL,
                                   got, &updated, &err),
                   0);
  assert_string_equal(wfe_json_get_string(updated, "data.k"), "two");

  json_object *patched = NULL;
  assert_int_equal(wfe_kube_patch(plane.admin, &configmaps, ns, "crud", NULL,
                                  WFE_PATCH_MERGE,
                                  "{\"data\":{\"m\":\"merged\"}}", &patched,
                                  &err),
                   0);
  assert_string_equal(wfe_json_get_string(patched, "data.m"), "merged");
  assert_string_equal(wfe_json_get_string(patched, "data.k"), "two");
  json_object_put(patched);

  /* A JSON patch with a failing test op changes nothing. */
  assert_int_equal(
      wfe_kube_patch(
          plane.admin, &configmaps, ns, "crud", NULL, WFE_PATCH_JSON,
          "[{\"op\":\"test\",\"path\":\"/data/k\",\"value\":\"x\"},"
          "{\"op\":\"replace\",\"path\":\"/data/k\",\"value\":\"y\"}]",
          &patched, &err),
      WFE_E_INVALID);
  assert_int_equal(err.http_status, 422);
  wfe_error_clear(&err);
  assert_int_equal(
      wfe_kube_patch(
          plane.admin, &configmaps, ns, "crud", NULL, WFE_PATCH_JSON,
          "[{\"op\":\"test\",\"path\":\"/data/k\",\"value\":\"two\"},"
          "{\"op\":\"replace\",\"path\":\"/data/k\",\"value\":\"y\"}]",
          &patched, &err),
      0);
  assert_string_equal(wfe_json_get_string(patched, "data.k"), "y");
  json_object_put(patched);

  assert_int_equal(
      wfe_kube_delete(plane.admin, &configmaps, ns, "crud", NULL, &err), 0);
  json_object *gone = NULL;
  assert_int_equal(
      wfe_kube_get(plane.admin, &configmaps, ns, "crud", &gone, &err),
      WFE_E_NOT_FOUND);
  json_object_put(created);
  json_object_put(got);
  json_object_put(updated);
  wfe_error_clear(&err);
}

static void test_custom_resource_crud_with_status_subresource(void **state)
{
  plane_need();
  struct wfe_error err = WFE_ERROR_INIT;
  json_object *run =
      parse("{\"apiVersion\":\"kubernaut.ai/"
            "v1alpha1\",\"kind\":\"WorkflowExecution\","
            "\"metadata\":{\"name\":\"wfe-1\"},"
            "\"spec\":{\"remediationRequestRef\":{\"name\":\"rr-1\"},"
            "\"workflowRef\":{\"workflowId\":\"build\",\"version\":\"1\","
            "\"containerImage\":\"registry.test/build:1\"}}}");
  json_object *created = NULL, *got = NULL, *status = NULL, *patched = NULL;
  if (wfe_kube_create(plane.admin, &executions, ns, run, &created, &err))
    fail_msg("create: %s", wfe_error_message(&err));
  assert_string_equal(
      wfe_json_get_string(created, "spec.workflowRef.workflowId"), "build");

  /* PUT of the status subresource. */
  assert_int_equal(
      wfe_kube_get(plane.admin, &executions, ns, "wfe-1", &got, &err), 0);
  json_object_object_add(got, "status", parse("{\"phase\":\"Running\"}"));
  if (wfe_kube_update(plane.admin, &executions, ns, "wfe-1", "status", got,
                      &status, &err))
    fail_msg("update status: %s", wfe_error_message(&err));
  assert_string_equal(wfe_json_get_string(status, "status.phase"), "Running");

  /* A merge patch of the main resource leaves the status alone. */
  assert_int_equal(wfe_kube_patch(plane.admin, &executions, ns, "wfe-1", NULL,
                                  WFE_PATCH_MERGE,
                                  "{\"metadata\":{\"labels\":{\"k\":\"v\"}},"
                                  "\"status\":{\"phase\":\"Failed\"}}",
                                  &patched, &err),
                   0);
  assert_string_equal(wfe_json_get_string(patched, "metadata.labels.k"), "v");
  assert_string_equal(wfe_json_get_string(patched, "status.phase"), "Running");
  assert_int_equal(
      wfe_kube_delete(plane.admin, &executions, ns, "wfe-1", NULL, &err), 0);
  json_object_put(run);
  json_object_put(created);
  json_object_put(got);
  json_object_put(status);
  json_object_put(patched);
}

struct names {
  int count;
  char first[64];
};

static int count_item(void *ctx, json_object *obj)
{
  struct names *names = ctx;
  if (names->count++ == 0)
    snprintf(names->first, sizeof(names->first), "%s",
             wfe_json_get_string(obj, "metadata.name"));
  return 0;
}

/* The counter the client counts its requests in, by code, method and host. */
static struct wfe_metric *requests_total(struct wfe_metrics *metrics)
{
  static const char *const labels[] = {"code", "method", "host"};
  return wfe_metrics_counter(
      metrics, "rest_client_requests_total",
      "Number of HTTP requests, partitioned by status code, method, and host.",
      labels, 3);
}

static void test_list_follows_continue_across_pages(void **state)
{
  plane_need();
  struct wfe_metrics *metrics = wfe_metrics_new();
  struct wfe_kube_client_options options = {.metrics = metrics};
  struct wfe_kube_client *client = new_client(plane.admin_config, &options);
  for (int i = 0; i < 120; i++) {
    char name[32];
    snprintf(name, sizeof(name), "page-%03d", i);
    json_object_put(create_configmap(name, "v"));
  }
  struct names names = {0};
  struct wfe_list_options list = {.limit = 50,
                                  .label_selector = "made-by=test-client"};
  char *rv = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_list(client, &configmaps, ns, &list, count_item,
                                 &names, &rv, &err),
                   0);
  assert_int_equal(names.count, 120);
  assert_string_equal(names.first, "page-000");
  assert_non_null(rv);
  assert_true(atoll(rv) > 0);
  free(rv);

  /* Three pages: three GETs, counted in rest_client_requests_total. */
  struct wfe_metric *requests = requests_total(metrics);
  const char *host = strstr(plane.admin_config->server, "://") + 3;
  const char *series[] = {"200", "GET", host};
  double gets = 0;
  assert_int_equal(wfe_metric_get(requests, series, &gets), 0);
  assert_true(gets == 3.0);

  /* A label selector narrows the list. */
  names.count = 0;
  list.label_selector = "no-such-label=x";
  assert_int_equal(wfe_kube_list(client, &configmaps, ns, &list, count_item,
                                 &names, NULL, &err),
                   0);
  assert_int_equal(names.count, 0);
  wfe_kube_client_free(client);
  wfe_metrics_free(metrics);
}

/* --- API errors --------------------------------------------------------- */

static void test_create_with_unknown_field_is_rejected(void **state)
{
  plane_need();
  json_object *cm = parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                          "\"metadata\":{\"name\":\"strict\"},"
                          "\"data\":{\"k\":\"v\"},\"spec\":{\"oops\":1}}");
  json_object *out = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(
      wfe_kube_create(plane.admin, &configmaps, ns, cm, &out, &err),
      WFE_E_INVALID);
  assert_null(out);
  assert_int_equal(err.http_status, 400);
  assert_contains(err.message, "unknown field \"spec\"");
  wfe_error_clear(&err);
  json_object_put(cm);
}

static void test_stale_update_is_a_conflict(void **state)
{
  plane_need();
  json_object *cm = create_configmap("conflict", "one"), *out = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  wfe_json_set_string(wfe_json_get(cm, "data"), "k", "two");
  assert_int_equal(wfe_kube_update(plane.admin, &configmaps, ns, "conflict",
                                   NULL, cm, &out, &err),
                   0);
  json_object_put(out);
  /* `cm` still carries the first resourceVersion. */
  wfe_json_set_string(wfe_json_get(cm, "data"), "k", "three");
  assert_int_equal(wfe_kube_update(plane.admin, &configmaps, ns, "conflict",
                                   NULL, cm, &out, &err),
                   WFE_E_INVALID);
  assert_null(out);
  assert_int_equal(err.http_status, 409);
  assert_string_equal(err.reason, "Conflict");
  assert_contains(err.message, "the object has been modified");
  assert_false(err.retryable);
  wfe_error_clear(&err);
  json_object_put(cm);
}

static void test_missing_object_is_not_found(void **state)
{
  plane_need();
  json_object *out = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(
      wfe_kube_get(plane.admin, &configmaps, ns, "absent", &out, &err),
      WFE_E_NOT_FOUND);
  assert_int_equal(err.http_status, 404);
  assert_string_equal(err.reason, "NotFound");
  assert_contains(err.message, "configmaps \"absent\" not found");
  assert_false(err.retryable);
  wfe_error_clear(&err);
  assert_int_equal(
      wfe_kube_delete(plane.admin, &configmaps, ns, "absent", NULL, &err),
      WFE_E_NOT_FOUND);
  wfe_error_clear(&err);
}

static void test_delete_with_a_wrong_uid_precondition_fails(void **state)
{
  plane_need();
  json_object *cm = create_configmap("guarded", "v");
  struct wfe_delete_options wrong = {.precondition_uid =
                                         "00000000-0000-0000-0000-000000000000",
                                     .propagation_policy = "Background"};
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(
      wfe_kube_delete(plane.admin, &configmaps, ns, "guarded", &wrong, &err),
      WFE_E_INVALID);
  assert_int_equal(err.http_status, 409);
  assert_contains(err.message, "the UID in the precondition");
  wfe_error_clear(&err);
  struct wfe_delete_options right = {
      .precondition_uid = wfe_json_get_string(cm, "metadata.uid"),
      .propagation_policy = "Foreground"};
  assert_int_equal(
      wfe_kube_delete(plane.admin, &configmaps, ns, "guarded", &right, &err),
      0);
  json_object_put(cm);
}

/* --- Watch -------------------------------------------------------------- */

struct watched {
  int added, modified, deleted, errors;
  int64_t error_code;
  char last_rv[32];
};

static int on_event(void *ctx, enum wfe_watch_event_type type, json_object *obj)
{
  struct watched *w = ctx;
  const char *rv = wfe_json_get_string(obj, "metadata.resourceVersion");
  if (rv)
    snprintf(w->last_rv, sizeof(w->last_rv), "%s", rv);
  switch (type) {
  case WFE_WATCH_ADDED:
    w->added++;
    break;
  case WFE_WATCH_MODIFIED:
    w->modified++;
    break;
  case WFE_WATCH_DELETED:
    w->deleted++;
    return 1; /* seen everything */
  case WFE_WATCH_ERROR: {
    json_object *code = wfe_json_get(obj, "code");
    w->errors++;
    w->error_code = code ? json_object_get_int64(code) : 0;
    return 2;
  }
  default:
    break;
  }
  return 0;
}

static int ignore_item(void *ctx, json_object *obj)
{
  return 0;
}

static void test_watch_sees_added_modified_deleted(void **state)
{
  plane_need();
  struct wfe_error err = WFE_ERROR_INIT;
  char *rv = NULL;
  assert_int_equal(wfe_kube_list(plane.admin, &configmaps, ns, NULL,
                                 ignore_item, NULL, &rv, &err),
                   0);
  json_object_put(create_configmap("watched", "one"));
  json_object *patched = NULL;
  assert_int_equal(wfe_kube_patch(plane.admin, &configmaps, ns, "watched", NULL,
                                  WFE_PATCH_MERGE, "{\"data\":{\"k\":\"two\"}}",
                                  &patched, &err),
                   0);
  json_object_put(patched);
  assert_int_equal(
      wfe_kube_delete(plane.admin, &configmaps, ns, "watched", NULL, &err), 0);
  struct watched w = {0};
  struct wfe_watch_options options = {
      .resource_version = rv, .timeout_seconds = 30, .allow_bookmarks = 1};
  assert_int_equal(wfe_kube_watch(plane.admin, &configmaps, ns, &options,
                                  on_event, &w, &err),
                   1);
  assert_int_equal(w.added, 1);
  assert_int_equal(w.modified, 1);
  assert_int_equal(w.deleted, 1);
  free(rv);
}

struct stopper {
  volatile int stop;
  int delay_ms;
};

static void *stop_later(void *arg)
{
  struct stopper *s = arg;
  usleep((useconds_t)s->delay_ms * 1000);
  s->stop = 1;
  return NULL;
}

static void test_watch_stops_on_the_flag_and_drops_idle_streams(void **state)
{
  plane_need();
  struct wfe_error err = WFE_ERROR_INIT;
  struct watched w = {0};
  struct stopper stopper = {.delay_ms = 300};
  struct wfe_watch_options options = {.timeout_seconds = 60,
                                      .stop = &stopper.stop};
  pthread_t thread;
  pthread_create(&thread, NULL, stop_later, &stopper);
  int64_t start = wfe_monotonic_ms();
  int rc = wfe_kube_watch(plane.admin, &configmaps, ns, &options, on_event, &w,
                          &err);
  int64_t took = wfe_monotonic_ms() - start;
  /* Joined before any assertion: the thread writes to this frame. */
  pthread_join(thread, NULL);
  assert_int_equal(rc, 0);
  assert_true(took >= 250 && took < 2000);

  /* Silence longer than idle_timeout_ms ends the watch, retryably. The
   * namespace's kube-root-ca.crt arrives first (no resourceVersion). */
  options.stop = NULL;
  options.idle_timeout_ms = 700;
  start = wfe_monotonic_ms();
  assert_int_equal(wfe_kube_watch(plane.admin, &configmaps, ns, &options,
                                  on_event, &w, &err),
                   WFE_E_UNAVAILABLE);
  took = wfe_monotonic_ms() - start;
  assert_string_equal(err.reason, "WatchIdle");
  assert_true(err.retryable);
  assert_true(took >= 600 && took < 3000);
  wfe_error_clear(&err);
}

static void test_watch_from_an_expired_version_reports_410(void **state)
{
  plane_need();
  /* Compaction expires every older resourceVersion in etcd. Whether the
   * apiserver then answers the request with 410 or sends an ERROR event
   * with code 410 depends on its watch cache; both must reach the caller. A
   * watch cache that still holds the version may serve it: then the watch
   * just times out, which only a plane without the cache rules out. */
  plane_fault("compact");
  struct wfe_error err = WFE_ERROR_INIT;
  struct watched w = {0};
  struct wfe_watch_options options = {
      .resource_version = "2", .timeout_seconds = 3, .idle_timeout_ms = 15000};
  int rc = wfe_kube_watch(plane.admin, &configmaps, ns, &options, on_event, &w,
                          &err);
  if (rc == 2) {
    assert_int_equal(w.errors, 1);
    assert_int_equal(w.error_code, 410);
  } else if (rc == 0 && plane_watch_cache()) {
    print_message("the watch cache still served resourceVersion 2\n");
  } else {
    assert_int_equal(rc, WFE_E_INVALID);
    assert_int_equal(err.http_status, 410);
    assert_false(err.retryable);
  }
  wfe_error_clear(&err);
}

/* --- Identity and trust ------------------------------------------------- */

static void test_a_different_ca_fails_tls_verification(void **state)
{
  plane_need();
  char dir[] = "/tmp/wfe-client-ca-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char command[512];
  snprintf(command, sizeof(command),
           "openssl req -x509 -new -nodes -days 1 -subj /CN=other-ca "
           "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
           "-keyout %s/ca.key -out %s/ca.crt 2>/dev/null",
           dir, dir);
  assert_int_equal(system(command), 0);
  struct wfe_kube_config *config = NULL;
  assert_int_equal(wfe_kube_config_copy(plane.admin_config, &config), 0);
  free(config->ca_data);
  config->ca_data = NULL;
  config->ca_data_len = 0;
  char ca[600];
  snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
  config->ca_file = strdup(ca);
  struct wfe_kube_client *client = new_client(config, NULL);
  json_object *out = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_get(client, &namespaces, NULL, ns, &out, &err),
                   WFE_E_INVALID);
  assert_string_equal(err.reason, "TLSVerificationFailed");
  assert_contains(err.message, "TLS verification failed");
  assert_contains(err.message, "certificate");
  assert_false(err.retryable);
  wfe_error_clear(&err);
  wfe_kube_client_free(client);
  wfe_kube_config_free(config);
  snprintf(command, sizeof(command), "rm -rf %s", dir);
  assert_int_equal(system(command), 0);
}

static void test_a_wrong_token_is_unauthorized(void **state)
{
  plane_need();
  struct wfe_kube_config *config = NULL;
  assert_int_equal(wfe_kube_config_copy(plane.admin_config, &config), 0);
  free(config->token);
  config->token = strdup("wrong-token-0123456789");
  struct wfe_kube_client *client = new_client(config, NULL);
  json_object *out = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_get(client, &namespaces, NULL, ns, &out, &err),
                   WFE_E_INVALID);
  assert_int_equal(err.http_status, 401);
  assert_string_equal(err.reason, "Unauthorized");
  assert_contains(err.message, "Unauthorized");
  assert_null(strstr(err.message, "wrong-token"));
  wfe_error_clear(&err);
  wfe_kube_client_free(client);
  wfe_kube_config_free(config);
}

static void test_controller_identity_without_rbac_is_forbidden(void **state)
{
  plane_need();
  struct wfe_kube_config *config = plane_load_config("controller.kubeconfig");
  struct wfe_kube_client *client = new_client(config, NULL);
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_list(client, &secrets, "kube-system", NULL,
                                 ignore_item, NULL, NULL, &err),
                   WFE_E_INVALID);
  assert_int_equal(err.http_status, 403);
  assert_string_equal(err.reason, "Forbidden");
  assert_contains(err.message, "secrets is forbidden");
  assert_contains(err.message, CONTROLLER_USER);
  wfe_error_clear(&err);
  wfe_kube_client_free(client);
  wfe_kube_config_free(config);
}

static void write_token(const char *path, const char *token)
{
  char tmp[700];
  snprintf(tmp, sizeof(tmp), "%s.new", path);
  FILE *out = fopen(tmp, "w");
  assert_non_null(out);
  fprintf(out, "%s\n", token);
  fclose(out);
  assert_int_equal(rename(tmp, path), 0); /* as the kubelet swaps it */
}

static void test_a_rotated_token_file_is_picked_up(void **state)
{
  plane_need();
  char dir[] = "/tmp/wfe-client-token-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char token_path[600];
  snprintf(token_path, sizeof(token_path), "%s/token", dir);
  write_token(token_path, "not-the-admin-token");
  struct wfe_kube_config *config = NULL;
  assert_int_equal(wfe_kube_config_copy(plane.admin_config, &config), 0);
  const char *admin_token = plane.admin_config->token;
  free(config->token);
  config->token = NULL;
  config->token_file = strdup(token_path);
  struct wfe_kube_client_options options = {.token_reread_seconds = 1};
  struct wfe_kube_client *client = new_client(config, &options);
  json_object *out = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_get(client, &namespaces, NULL, ns, &out, &err),
                   WFE_E_INVALID);
  assert_int_equal(err.http_status, 401);
  wfe_error_clear(&err);

  write_token(token_path, admin_token);
  sleep(1);
  assert_int_equal(wfe_kube_get(client, &namespaces, NULL, ns, &out, &err), 0);
  json_object_put(out);
  wfe_kube_client_free(client);

  /* With a long period, a 401 makes the client read the file again. */
  write_token(token_path, "not-the-admin-token");
  options.token_reread_seconds = 3600;
  client = new_client(config, &options);
  assert_int_equal(wfe_kube_get(client, &namespaces, NULL, ns, &out, &err),
                   WFE_E_INVALID);
  wfe_error_clear(&err);
  write_token(token_path, admin_token);
  assert_int_equal(wfe_kube_get(client, &namespaces, NULL, ns, &out, &err), 0);
  json_object_put(out);
  wfe_kube_client_free(client);
  wfe_kube_config_free(config);
  unlink(token_path);
  rmdir(dir);
}

/* --- Throttling ----------------------------------------------------------- */

struct hammer {
  struct wfe_kube_client *client;
  int requests;
  int failures;
  char first_error[256];
};

static void *hammer_run(void *arg)
{
  struct hammer *h = arg;
  for (int i = 0; i < h->requests; i++) {
    json_object *out = NULL;
    struct wfe_error err = WFE_ERROR_INIT;
    if (wfe_kube_get(h->client, &configmaps, ns, "target", &out, &err)) {
      if (!h->failures++)
        snprintf(h->first_error, sizeof(h->first_error), "%s",
                 wfe_error_message(&err));
    }
    json_object_put(out);
    wfe_error_clear(&err);
  }
  return NULL;
}

static void test_a_throttled_identity_slows_down_but_succeeds(void **state)
{
  plane_need();
  json_object_put(create_configmap("target", "v"));
  /* The built-in "view" role is aggregated by a controller this plane does
   * not run: grant exactly what the test needs. */
  json_object *role = parse(
      "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\","
      "\"metadata\":{\"name\":\"read-configmaps\"},\"rules\":[{"
      "\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
      "\"verbs\":[\"get\"]}]}");
  struct wfe_error role_err = WFE_ERROR_INIT;
  assert_int_equal(
      wfe_kube_create(plane.admin, &roles, ns, role, NULL, &role_err), 0);
  json_object_put(role);
  json_object *binding = parse(
      "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":"
      "\"RoleBinding\",\"metadata\":{\"name\":\"controller-view\"},"
      "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":"
      "\"Role\",\"name\":\"read-configmaps\"},\"subjects\":[{\"kind\":\"User\","
      "\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"" CONTROLLER_USER
      "\"}]}");
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(
      wfe_kube_create(plane.admin, &rolebindings, ns, binding, NULL, &err), 0);
  json_object_put(binding);

  struct wfe_metrics *metrics = wfe_metrics_new();
  struct wfe_kube_config *config = plane_load_config("controller.kubeconfig");
  struct wfe_kube_client_options options = {.metrics = metrics,
                                            .max_retries = 12,
                                            .backoff_base_ms = 50,
                                            .backoff_cap_ms = 2000};
  struct wfe_kube_client *client = new_client(config, &options);
  /* RBAC caches: wait until the binding works. */
  for (int i = 0; i < 50; i++) {
    json_object *out = NULL;
    int rc = wfe_kube_get(client, &configmaps, ns, "target", &out, &err);
    json_object_put(out);
    wfe_error_clear(&err);
    if (!rc)
      break;
    usleep(100 * 1000);
  }

  plane_fault("throttle " CONTROLLER_USER " 1");
  /* Priority and fairness rejects only requests that overlap while the
   * level's seats are taken, and applies a new configuration a little
   * later: hammer in bursts until the server has said 429 at least once. */
  enum { THREADS = 8, EACH = 15, BURSTS = 10 };
  struct wfe_metric *requests = requests_total(metrics);
  const char *host = strstr(config->server, "://") + 3;
  const char *ok[] = {"200", "GET", host}, *throttled[] = {"429", "GET", host};
  double rejections = 0;
  int failures = 0, sent = 0;
  int64_t start = wfe_monotonic_ms();
  for (int burst = 0; burst < BURSTS && rejections == 0; burst++) {
    struct hammer hammers[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
      hammers[i] = (struct hammer){.client = client, .requests = EACH};
      pthread_create(&threads[i], NULL, hammer_run, &hammers[i]);
    }
    for (int i = 0; i < THREADS; i++) {
      pthread_join(threads[i], NULL);
      if (hammers[i].failures)
        print_message("thread %d: %s\n", i, hammers[i].first_error);
      failures += hammers[i].failures;
    }
    sent += THREADS * EACH;
    wfe_metric_get(requests, throttled, &rejections);
  }
  int64_t took = wfe_monotonic_ms() - start;
  plane_fault("unthrottle");

  double oks = 0;
  wfe_metric_get(requests, ok, &oks);
  print_message("%d requests in %lld ms; %.0f answered 429\n", sent,
                (long long)took, rejections);
  /* Slowed down, nothing lost: every request answered 200 in the end. */
  assert_int_equal(failures, 0);
  assert_true(oks >= sent);
  assert_true(rejections > 0);
  wfe_kube_client_free(client);
  wfe_kube_config_free(config);
  wfe_metrics_free(metrics);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_configmap_create_get_update_patch_delete),
      T(test_custom_resource_crud_with_status_subresource),
      T(test_list_follows_continue_across_pages),
      T(test_create_with_unknown_field_is_rejected),
      T(test_stale_update_is_a_conflict),
      T(test_missing_object_is_not_found),
      T(test_delete_with_a_wrong_uid_precondition_fails),
      T(test_watch_sees_added_modified_deleted),
      T(test_watch_stops_on_the_flag_and_drops_idle_streams),
      T(test_watch_from_an_expired_version_reports_410),
      T(test_a_different_ca_fails_tls_verification),
      T(test_a_wrong_token_is_unauthorized),
      T(test_controller_identity_without_rbac_is_forbidden),
      T(test_a_rotated_token_file_is_picked_up),
      T(test_a_throttled_identity_slows_down_but_succeeds),
#undef T
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
