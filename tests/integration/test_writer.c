/*
 * The object writers (core/kube/writer.h) against a real control plane started
 * with tests/cluster/up: status through /status with a 409 re-read, the
 * write gate, and finalizers added and removed by guarded JSON patches,
 * including racing writers. The objects are Widgets of a tiny CRD with a
 * status subresource that this test installs and removes again.
 *
 *   WFE_TEST_PLANE=DIR ctest -L integration -R writer
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
#include <unistd.h>

#include <cmocka.h>

#include "backoff.h"
#include "json_util.h"
#include "kube_client.h"
#include "plane.h"
#include "writer.h"

static const struct wfe_resource crds = {"apiextensions.k8s.io/v1",
                                         "customresourcedefinitions", 0};
static const struct wfe_resource widgets = {"writer.wfe.test/v1", "widgets", 1};

#define CRD_NAME "widgets.writer.wfe.test"
#define FINALIZER "wfe.test/cleanup"

static char ns[64];

static json_object *parse(const char *text)
{
  return wfe_json_parse(text, strlen(text));
}

static void check(int rc, struct wfe_error *err, const char *what)
{
  if (rc != 0)
    fail_msg("%s: %s (%d, HTTP %d %s)", what, wfe_error_message(err), rc,
             err->http_status, err->reason ? err->reason : "");
  wfe_error_clear(err);
}

/* --- Plane, CRD and namespace -------------------------------------------- */

static int crd_ready(void)
{
  json_object *crd = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  int ready = 0;
  if (wfe_kube_get(plane.admin, &crds, NULL, CRD_NAME, &crd, &err) == 0) {
    json_object *conditions = wfe_json_get(crd, "status.conditions");
    size_t n = json_object_is_type(conditions, json_type_array)
                   ? json_object_array_length(conditions)
                   : 0;
    for (size_t i = 0; i < n; i++) {
      json_object *c = json_object_array_get_idx(conditions, i);
      const char *type = wfe_json_get_string(c, "type");
      const char *status = wfe_json_get_string(c, "status");
      if (type && status && strcmp(type, "Established") == 0 &&
          strcmp(status, "True") == 0)
        ready = 1;
    }
  }
  json_object_put(crd);
  wfe_error_clear(&err);
  if (!ready)
    return 0;
  /* Established comes a moment before the endpoint serves. */
  struct wfe_error list_err = WFE_ERROR_INIT;
  int rc = wfe_kube_list(plane.admin, &widgets, "default", NULL, NULL, NULL,
                         NULL, &list_err);
  wfe_error_clear(&list_err);
  return rc == 0;
}

static int setup_plane(void **state)
{
  int rc = plane_open(NULL);
  if (rc || !plane.admin)
    return rc;
  struct wfe_error err = WFE_ERROR_INIT;
  /* A CRD left terminating by the previous run must be gone first. */
  int64_t gone_by = wfe_monotonic_ms() + 60000;
  for (;;) {
    json_object *old = NULL;
    rc = wfe_kube_get(plane.admin, &crds, NULL, CRD_NAME, &old, &err);
    int terminating =
        rc == 0 && wfe_json_get(old, "metadata.deletionTimestamp") != NULL;
    json_object_put(old);
    wfe_error_clear(&err);
    if (!terminating)
      break;
    if (wfe_monotonic_ms() > gone_by) {
      fprintf(stderr, "the test CRD is still terminating\n");
      return -1;
    }
    usleep(200000);
  }
  json_object *crd = parse(
      "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":"
      "\"CustomResourceDefinition\",\"metadata\":{\"name\":\"" CRD_NAME
      "\"},\"spec\":{\"group\":\"writer.wfe.test\",\"scope\":\"Namespaced\","
      "\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":"
      "\"Widget\",\"listKind\":\"WidgetList\"},\"versions\":[{\"name\":\"v1\","
      "\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}},"
      "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"
      "\"spec\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":"
      "true},\"status\":{\"type\":\"object\","
      "\"x-kubernetes-preserve-unknown-fields\":true}}}}}]}}");
  rc = wfe_kube_create(plane.admin, &crds, NULL, crd, NULL, &err);
  json_object_put(crd);
  if (rc && !(err.reason && strcmp(err.reason, "AlreadyExists") == 0)) {
    fprintf(stderr, "cannot create the test CRD: %s\n",
            wfe_error_message(&err));
    wfe_error_clear(&err);
    return rc;
  }
  wfe_error_clear(&err);
  int64_t deadline = wfe_monotonic_ms() + 30000;
  while (!crd_ready()) {
    if (wfe_monotonic_ms() > deadline) {
      fprintf(stderr, "the test CRD did not become ready\n");
      return -1;
    }
    usleep(100000);
  }
  rc = plane_create_namespace("writer", ns, sizeof(ns), &err);
  if (rc)
    fprintf(stderr, "cannot create namespace %s: %s\n", ns,
            wfe_error_message(&err));
  wfe_error_clear(&err);
  return rc;
}

static int teardown_plane(void **state)
{
  if (!plane.admin)
    return 0;
  struct wfe_error err = WFE_ERROR_INIT;
  /* Widgets still carrying a finalizer would keep the namespace alive. */
  const char *names[] = {"conflict",  "skip",      "gated",      "idem",
                         "race-same", "race-many", "race-remove"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    wfe_kube_patch(plane.admin, &widgets, ns, names[i], NULL, WFE_PATCH_MERGE,
                   "{\"metadata\":{\"finalizers\":null}}", NULL, &err);
    wfe_error_clear(&err);
  }
  plane_delete_namespace(ns);
  wfe_kube_delete(plane.admin, &crds, NULL, CRD_NAME, NULL, &err);
  wfe_error_clear(&err);
  plane_close();
  return 0;
}

static json_object *create_widget(const char *name, const char *finalizers)
{
  char body[512];
  snprintf(body, sizeof(body),
           "{\"apiVersion\":\"writer.wfe.test/v1\",\"kind\":\"Widget\","
           "\"metadata\":{\"name\":\"%s\"%s%s},\"spec\":{\"size\":1}}",
           name, finalizers ? ",\"finalizers\":" : "",
           finalizers ? finalizers : "");
  json_object *obj = parse(body);
  json_object *created = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  check(wfe_kube_create(plane.admin, &widgets, ns, obj, &created, &err), &err,
        "create widget");
  json_object_put(obj);
  return created;
}

static json_object *get_widget(const char *name)
{
  json_object *obj = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  check(wfe_kube_get(plane.admin, &widgets, ns, name, &obj, &err), &err,
        "get widget");
  return obj;
}

/* --- Status --------------------------------------------------------------- */

struct phase_change {
  const char *phase;
  int calls;
};

/* Sets status.phase, and tries to sneak in a spec change that /status must
 * not write. Skips when the phase is already there. */
static int set_phase(void *ctx, json_object *obj, struct wfe_error *err)
{
  struct phase_change *change = ctx;
  change->calls++;
  const char *phase = wfe_json_get_string(obj, "status.phase");
  if (phase && strcmp(phase, change->phase) == 0)
    return WFE_MUTATE_SKIP;
  json_object *status = wfe_json_ensure_object(obj, "status");
  json_object_object_add(status, "phase",
                         json_object_new_string(change->phase));
  json_object_object_add(wfe_json_get(obj, "spec"), "size",
                         json_object_new_int(99));
  return WFE_MUTATE_WRITE;
}

static void
test_write_status_rereads_after_conflict_and_counts_writes(void **state)
{
  plane_need();
  json_object *observed = create_widget("conflict", NULL);
  /* Someone else writes the status between our read and our write. */
  struct wfe_error err = WFE_ERROR_INIT;
  check(wfe_kube_patch(plane.admin, &widgets, ns, "conflict", "status",
                       WFE_PATCH_MERGE, "{\"status\":{\"other\":\"theirs\"}}",
                       NULL, &err),
        &err, "concurrent status patch");

  struct phase_change change = {"Running", 0};
  json_object *written = NULL;
  int writes = -1;
  check(wfe_write_status(plane.admin, &widgets, ns, "conflict", observed,
                         set_phase, &change, NULL, &written, &writes, &err),
        &err, "write status");
  assert_int_equal(writes, 2); /* one 409, one success */
  assert_int_equal(change.calls, 2);
  assert_string_equal(wfe_json_get_string(written, "status.phase"), "Running");

  json_object *now = get_widget("conflict");
  assert_string_equal(wfe_json_get_string(now, "status.phase"), "Running");
  /* The concurrent write survived: we re-read, not overwrote. */
  assert_string_equal(wfe_json_get_string(now, "status.other"), "theirs");
  /* /status wrote the status only. */
  assert_int_equal(json_object_get_int(wfe_json_get(now, "spec.size")), 1);
  json_object_put(now);
  json_object_put(written);
  json_object_put(observed);
}

static void test_write_status_writes_nothing_when_mutation_skips(void **state)
{
  plane_need();
  json_object *observed = create_widget("skip", NULL);
  struct phase_change change = {"Done", 0};
  int writes = -1;
  struct wfe_error err = WFE_ERROR_INIT;
  check(wfe_write_status(plane.admin, &widgets, ns, "skip", observed, set_phase,
                         &change, NULL, NULL, &writes, &err),
        &err, "first write");
  assert_int_equal(writes, 1);
  /* Again, from the stale object: 409, re-read, already Done: skip. */
  check(wfe_write_status(plane.admin, &widgets, ns, "skip", observed, set_phase,
                         &change, NULL, NULL, &writes, &err),
        &err, "second write");
  assert_int_equal(writes, 1);
  /* From no object at all: read, already Done, nothing written. */
  check(wfe_write_status(plane.admin, &widgets, ns, "skip", NULL, set_phase,
                         &change, NULL, NULL, &writes, &err),
        &err, "third write");
  assert_int_equal(writes, 0);
  json_object_put(observed);
}

static int closed_gate(void *ctx)
{
  return 0;
}

static void test_writes_are_refused_when_the_gate_is_closed(void **state)
{
  plane_need();
  json_object *observed = create_widget("gated", NULL);
  const char *rv = wfe_json_get_string(observed, "metadata.resourceVersion");
  struct wfe_write_options options = {.gate = closed_gate};
  struct phase_change change = {"Running", 0};
  int writes = -1;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_write_status(plane.admin, &widgets, ns, "gated",
                                    observed, set_phase, &change, &options,
                                    NULL, &writes, &err),
                   WFE_E_UNAVAILABLE);
  assert_string_equal(err.reason, "NotLeader");
  assert_int_equal(writes, 0);
  wfe_error_clear(&err);
  assert_int_equal(wfe_finalizer_add(plane.admin, &widgets, ns, "gated",
                                     FINALIZER, &options, NULL, &writes, &err),
                   WFE_E_UNAVAILABLE);
  assert_string_equal(err.reason, "NotLeader");
  assert_int_equal(writes, 0);
  wfe_error_clear(&err);
  json_object *now = get_widget("gated");
  assert_string_equal(wfe_json_get_string(now, "metadata.resourceVersion"), rv);
  json_object_put(now);
  json_object_put(observed);
}

/* --- Finalizers ------------------------------------------------------------
 */

/* How many entries of metadata.finalizers equal `finalizer`, and in all. */
static int count_finalizer(const char *name, const char *finalizer, int *total)
{
  json_object *obj = get_widget(name);
  json_object *list = wfe_json_get(obj, "metadata.finalizers");
  size_t n = json_object_is_type(list, json_type_array)
                 ? json_object_array_length(list)
                 : 0;
  int count = 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(list, i)),
               finalizer) == 0)
      count++;
  if (total)
    *total = (int)n;
  json_object_put(obj);
  return count;
}

static void test_finalizer_add_and_remove_are_idempotent(void **state)
{
  plane_need();
  json_object_put(create_widget("idem", NULL));
  int writes = -1, total = 0;
  struct wfe_error err = WFE_ERROR_INIT;
  check(wfe_finalizer_add(plane.admin, &widgets, ns, "idem", FINALIZER, NULL,
                          NULL, &writes, &err),
        &err, "add");
  assert_int_equal(writes, 1);
  check(wfe_finalizer_add(plane.admin, &widgets, ns, "idem", FINALIZER, NULL,
                          NULL, &writes, &err),
        &err, "add again");
  assert_int_equal(writes, 0);
  assert_int_equal(count_finalizer("idem", FINALIZER, &total), 1);
  assert_int_equal(total, 1);

  json_object *out = NULL;
  check(wfe_finalizer_remove(plane.admin, &widgets, ns, "idem", FINALIZER, NULL,
                             &out, &writes, &err),
        &err, "remove");
  assert_int_equal(writes, 1);
  assert_null(wfe_json_get(out, "metadata.finalizers"));
  json_object_put(out);
  check(wfe_finalizer_remove(plane.admin, &widgets, ns, "idem", FINALIZER, NULL,
                             NULL, &writes, &err),
        &err, "remove again");
  assert_int_equal(writes, 0);
  assert_int_equal(count_finalizer("idem", FINALIZER, &total), 0);
  assert_int_equal(total, 0);
}

#define RACERS 4

struct racer {
  pthread_barrier_t *start;
  const char *object;
  char finalizer[64];
  int add;
  int rc;
  int writes;
  char message[256];
};

static void *race(void *arg)
{
  struct racer *racer = arg;
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_write_options options = {.max_attempts = 20};
  pthread_barrier_wait(racer->start);
  if (racer->add)
    racer->rc = wfe_finalizer_add(plane.admin, &widgets, ns, racer->object,
                                  racer->finalizer, &options, NULL,
                                  &racer->writes, &err);
  else
    racer->rc = wfe_finalizer_remove(plane.admin, &widgets, ns, racer->object,
                                     racer->finalizer, &options, NULL,
                                     &racer->writes, &err);
  snprintf(racer->message, sizeof(racer->message), "%s",
           wfe_error_message(&err));
  wfe_error_clear(&err);
  return NULL;
}

/* Runs RACERS threads at once; returns the writes they made together. */
static int run_racers(struct racer *racers)
{
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, RACERS);
  pthread_t threads[RACERS];
  for (int i = 0; i < RACERS; i++) {
    racers[i].start = &start;
    pthread_create(&threads[i], NULL, race, &racers[i]);
  }
  int writes = 0;
  for (int i = 0; i < RACERS; i++) {
    pthread_join(threads[i], NULL);
    if (racers[i].rc != 0)
      fail_msg("racer %d: %s", i, racers[i].message);
    writes += racers[i].writes;
  }
  pthread_barrier_destroy(&start);
  return writes;
}

static void test_finalizer_concurrent_adders_leave_one_entry(void **state)
{
  plane_need();
  /* One other finalizer already there: the guard tests the array. */
  json_object_put(create_widget("race-same", "[\"wfe.test/other\"]"));
  struct racer racers[RACERS] = {0};
  for (int i = 0; i < RACERS; i++) {
    racers[i].object = "race-same";
    racers[i].add = 1;
    snprintf(racers[i].finalizer, sizeof(racers[i].finalizer), FINALIZER);
  }
  int writes = run_racers(racers);
  int total = 0;
  assert_int_equal(count_finalizer("race-same", FINALIZER, &total), 1);
  assert_int_equal(total, 2);
  printf("# %d racers adding the same finalizer made %d write requests\n",
         RACERS, writes);
  assert_true(writes >= 1);
}

static void test_finalizer_concurrent_changes_lose_nothing(void **state)
{
  plane_need();
  json_object_put(create_widget("race-many", NULL));
  struct racer racers[RACERS] = {0};
  for (int i = 0; i < RACERS; i++) {
    racers[i].object = "race-many";
    racers[i].add = 1;
    snprintf(racers[i].finalizer, sizeof(racers[i].finalizer), "wfe.test/f%d",
             i);
  }
  run_racers(racers);
  int total = 0;
  for (int i = 0; i < RACERS; i++)
    assert_int_equal(count_finalizer("race-many", racers[i].finalizer, &total),
                     1);
  assert_int_equal(total, RACERS);

  /* Removing by index while the indexes shift under each remover: each
   * must take out its own entry, never a neighbour. */
  json_object_put(create_widget(
      "race-remove",
      "[\"wfe.test/f0\",\"wfe.test/f1\",\"wfe.test/f2\",\"wfe.test/f3\","
      "\"wfe.test/keep\"]"));
  for (int i = 0; i < RACERS; i++) {
    racers[i].object = "race-remove";
    racers[i].add = 0;
  }
  run_racers(racers);
  assert_int_equal(count_finalizer("race-remove", "wfe.test/keep", &total), 1);
  assert_int_equal(total, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(
          test_write_status_rereads_after_conflict_and_counts_writes),
      cmocka_unit_test(test_write_status_writes_nothing_when_mutation_skips),
      cmocka_unit_test(test_writes_are_refused_when_the_gate_is_closed),
      cmocka_unit_test(test_finalizer_add_and_remove_are_idempotent),
      cmocka_unit_test(test_finalizer_concurrent_adders_leave_one_entry),
      cmocka_unit_test(test_finalizer_concurrent_changes_lose_nothing),
  };
  return cmocka_run_group_tests(tests, setup_plane, teardown_plane);
}
