/*
 * The Event recorder (core/kube/events.h) against a real control plane started
 * with tests/cluster/up: the API accepts the events.k8s.io/v1 Events it
 * writes, a repeat updates the existing Event's series instead of creating
 * another, and an over-long message is cut to the API's note limit.
 *
 *   WFE_TEST_PLANE=DIR ctest -L integration -R events
 *
 * Skips when WFE_TEST_PLANE is unset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "events.h"
#include "json_util.h"
#include "kube_client.h"
#include "plane.h"

static const struct wfe_resource configmaps = {"v1", "configmaps", 1};
static const struct wfe_resource events = {"events.k8s.io/v1", "events", 1};
static const struct wfe_resource core_events = {"v1", "events", 1};

static char ns[64];

/* What a test made, freed by teardown_test even when the test fails: a
 * recorder's thread must not outlive it. */
struct fixture {
  json_object *subject;
  struct wfe_event_recorder *recorder;
};

static json_object *parse(const char *text)
{
  return wfe_json_parse(text, strlen(text));
}

static int setup_plane(void **state)
{
  int rc = plane_open(NULL);
  if (rc || !plane.admin)
    return rc;
  struct wfe_error err = WFE_ERROR_INIT;
  rc = plane_create_namespace("events", ns, sizeof(ns), &err);
  if (rc)
    fprintf(stderr, "cannot use the plane in %s: %s\n", plane.dir,
            wfe_error_message(&err));
  wfe_error_clear(&err);
  return rc;
}

static int teardown_plane(void **state)
{
  if (plane.admin)
    plane_delete_namespace(ns);
  plane_close();
  return 0;
}

static int setup_test(void **state)
{
  *state = calloc(1, sizeof(struct fixture));
  return *state ? 0 : -1;
}

static int teardown_test(void **state)
{
  struct fixture *f = *state;
  wfe_event_recorder_free(f->recorder);
  json_object_put(f->subject);
  free(f);
  return 0;
}

/* A ConfigMap to talk about; returns it as the API answered. */
static json_object *create_subject(const char *name)
{
  char body[256];
  snprintf(body, sizeof(body),
           "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
           "\"name\":\"%s\"}}",
           name);
  json_object *obj = parse(body);
  json_object *created = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_kube_create(plane.admin, &configmaps, ns, obj, &created, &err) != 0)
    fail_msg("create %s: %s", name, wfe_error_message(&err));
  json_object_put(obj);
  /* The API answers without apiVersion/kind on some paths; set them. */
  json_object_object_add(created, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(created, "kind", json_object_new_string("ConfigMap"));
  return created;
}

struct found {
  const char *regarding;
  int count;
  json_object *last; /* the last matching Event, a new reference */
};

static int collect(void *ctx, json_object *obj)
{
  struct found *found = ctx;
  const char *name = wfe_json_get_string(obj, "regarding.name");
  if (!name)
    name = wfe_json_get_string(obj, "involvedObject.name");
  if (name && strcmp(name, found->regarding) == 0) {
    found->count++;
    json_object_put(found->last);
    found->last = json_object_get(obj);
  }
  return 0;
}

/* The Events about `regarding` in the test namespace, through `res`. */
static int list_events(const struct wfe_resource *res, const char *regarding,
                       json_object **last)
{
  struct found found = {regarding, 0, NULL};
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_kube_list(plane.admin, res, ns, NULL, collect, &found, NULL, &err) !=
      0)
    fail_msg("list events: %s", wfe_error_message(&err));
  if (last)
    *last = found.last;
  else
    json_object_put(found.last);
  return found.count;
}

static struct wfe_event_recorder *new_recorder(void)
{
  struct wfe_event_recorder_options options = {.reporting_instance =
                                                   "test-host_0001"};
  struct wfe_event_recorder *recorder = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_event_recorder_new(plane.admin, &options, &recorder, &err) != 0)
    fail_msg("recorder: %s", wfe_error_message(&err));
  return recorder;
}

static void test_event_repeat_increments_count_instead_of_creating(void **state)
{
  struct fixture *f = *state;
  plane_need();
  json_object *subject = f->subject = create_subject("subject");
  struct wfe_event_recorder *recorder = f->recorder = new_recorder();

  assert_int_equal(wfe_event_record(recorder, subject, "Normal",
                                    "PipelineStarted", "started the run"),
                   0);
  assert_int_equal(wfe_event_recorder_flush(recorder, 10000), 0);
  json_object *event = NULL;
  assert_int_equal(list_events(&events, "subject", &event), 1);
  assert_string_equal(wfe_json_get_string(event, "reason"), "PipelineStarted");
  assert_string_equal(wfe_json_get_string(event, "reportingController"),
                      "wfe-controller");
  assert_string_equal(wfe_json_get_string(event, "regarding.uid"),
                      wfe_json_get_string(subject, "metadata.uid"));
  assert_null(wfe_json_get(event, "series"));
  char first_name[300];
  snprintf(first_name, sizeof(first_name), "%s",
           wfe_json_get_string(event, "metadata.name"));
  assert_int_equal(strncmp(first_name, "subject.", 8), 0);
  json_object_put(event);

  assert_int_equal(wfe_event_record(recorder, subject, "Normal",
                                    "PipelineStarted", "started the run"),
                   0);
  assert_int_equal(wfe_event_recorder_flush(recorder, 10000), 0);
  assert_int_equal(list_events(&events, "subject", &event), 1);
  assert_string_equal(wfe_json_get_string(event, "metadata.name"), first_name);
  assert_int_equal(json_object_get_int(wfe_json_get(event, "series.count")), 2);
  json_object_put(event);
  /* kubectl get events reads core/v1: the same single Event. */
  assert_int_equal(list_events(&core_events, "subject", NULL), 1);
  assert_int_equal(wfe_event_recorder_dropped(recorder), 0);

  /* Another message is another Event. */
  wfe_event_record(recorder, subject, "Warning", "PipelineFailed", "boom");
  wfe_event_recorder_free(recorder); /* flushes */
  f->recorder = NULL;
  assert_int_equal(list_events(&events, "subject", NULL), 2);
}

static void test_event_long_message_is_cut_to_the_note_limit(void **state)
{
  struct fixture *f = *state;
  plane_need();
  json_object *subject = f->subject = create_subject("long");
  struct wfe_event_recorder *recorder = f->recorder = new_recorder();
  char message[4000];
  memset(message, 'm', sizeof(message) - 1);
  message[sizeof(message) - 1] = '\0';
  assert_int_equal(
      wfe_event_record(recorder, subject, "Warning", "TooLong", message), 0);
  assert_int_equal(wfe_event_recorder_flush(recorder, 10000), 0);
  assert_int_equal(wfe_event_recorder_dropped(recorder), 0);
  json_object *event = NULL;
  assert_int_equal(list_events(&events, "long", &event), 1);
  const char *note = wfe_json_get_string(event, "note");
  assert_int_equal(strlen(note), WFE_EVENT_NOTE_MAX);
  assert_string_equal(note + WFE_EVENT_NOTE_MAX - 3, "...");
  json_object_put(event);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup_test, teardown_test)
      T(test_event_repeat_increments_count_instead_of_creating),
      T(test_event_long_message_is_cut_to_the_note_limit),
#undef T
  };
  return cmocka_run_group_tests(tests, setup_plane, teardown_plane);
}
