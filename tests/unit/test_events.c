/*
 * Specification of the Event recorder (core/kube/events.c) without a server:
 * note truncation, the aggregation key, and the recorder's aggregation, window,
 * coalescing, bounded queue and gate, observed through a fake sink that
 * records every create and patch. The API's side is covered by
 * tests/integration/test_events.c.
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

#include <cmocka.h>

#include "events.h"
#include "json_util.h"

static json_object *parse(const char *text)
{
  return wfe_json_parse(text, strlen(text));
}

/* ------------------------------------------------------------------------
 * A sink that remembers what was written; can hold the writer thread. */

#define MAX_WRITES 32

struct fake_sink {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int hold;    /* block create() while set */
  int entered; /* create() was entered */
  int creates;
  int patches;
  json_object *created[MAX_WRITES]; /* copies of the created events */
  char *patch_names[MAX_WRITES];
  char *patch_bodies[MAX_WRITES];
};

static int fake_create(void *ctx, const char *namespace_name,
                       json_object *event, struct wfe_error *err)
{
  struct fake_sink *sink = ctx;
  pthread_mutex_lock(&sink->lock);
  sink->entered = 1;
  pthread_cond_broadcast(&sink->cond);
  while (sink->hold)
    pthread_cond_wait(&sink->cond, &sink->lock);
  if (sink->creates < MAX_WRITES)
    sink->created[sink->creates] = json_object_get(event);
  sink->creates++;
  pthread_mutex_unlock(&sink->lock);
  return 0;
}

static int fake_patch(void *ctx, const char *namespace_name, const char *name,
                      const char *merge_patch, struct wfe_error *err)
{
  struct fake_sink *sink = ctx;
  pthread_mutex_lock(&sink->lock);
  if (sink->patches < MAX_WRITES) {
    sink->patch_names[sink->patches] = strdup(name);
    sink->patch_bodies[sink->patches] = strdup(merge_patch);
  }
  sink->patches++;
  pthread_mutex_unlock(&sink->lock);
  return 0;
}

struct fixture {
  struct fake_sink sink;
  struct wfe_event_sink sink_ops;
  struct wfe_event_recorder_options options;
  struct wfe_event_recorder *recorder;
  json_object *pod; /* an ObjectReference */
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  pthread_mutex_init(&f->sink.lock, NULL);
  pthread_cond_init(&f->sink.cond, NULL);
  f->sink_ops.create = fake_create;
  f->sink_ops.patch = fake_patch;
  f->sink_ops.ctx = &f->sink;
  f->options.sink = &f->sink_ops;
  f->options.reporting_instance = "host_0123";
  f->pod = parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"namespace\":\"ns\","
                 "\"name\":\"web\",\"uid\":\"u-1\",\"resourceVersion\":\"7\"}");
  *state = f;
  return 0;
}

static void start(struct fixture *f)
{
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(
      wfe_event_recorder_new(NULL, &f->options, &f->recorder, &err), 0);
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  pthread_mutex_lock(&f->sink.lock);
  f->sink.hold = 0;
  pthread_cond_broadcast(&f->sink.cond);
  pthread_mutex_unlock(&f->sink.lock);
  wfe_event_recorder_free(f->recorder);
  for (int i = 0; i < MAX_WRITES; i++) {
    json_object_put(f->sink.created[i]);
    free(f->sink.patch_names[i]);
    free(f->sink.patch_bodies[i]);
  }
  json_object_put(f->pod);
  pthread_mutex_destroy(&f->sink.lock);
  pthread_cond_destroy(&f->sink.cond);
  free(f);
  return 0;
}

static void flush(struct fixture *f)
{
  assert_int_equal(wfe_event_recorder_flush(f->recorder, 5000), 0);
}

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------
 * Pure parts */

static void test_note_keeps_messages_that_fit(void **state)
{
  char *note = wfe_event_note("created PipelineRun x");
  assert_string_equal(note, "created PipelineRun x");
  free(note);
  char exact[WFE_EVENT_NOTE_MAX + 1];
  memset(exact, 'a', WFE_EVENT_NOTE_MAX);
  exact[WFE_EVENT_NOTE_MAX] = '\0';
  note = wfe_event_note(exact);
  assert_string_equal(note, exact);
  free(note);
  note = wfe_event_note(NULL);
  assert_string_equal(note, "");
  free(note);
}

static void
test_note_cuts_long_messages_to_the_api_limit_with_ellipsis(void **state)
{
  char long_message[3000];
  memset(long_message, 'x', sizeof(long_message) - 1);
  long_message[sizeof(long_message) - 1] = '\0';
  char *note = wfe_event_note(long_message);
  assert_int_equal(strlen(note), WFE_EVENT_NOTE_MAX);
  assert_string_equal(note + WFE_EVENT_NOTE_MAX - 3, "...");
  free(note);
}

static void test_note_never_splits_a_utf8_character(void **state)
{
  /* "é" is two bytes: with an odd start the cut falls inside one. */
  char message[2100] = "ab";
  for (size_t i = 2; i + 2 < sizeof(message); i += 2)
    memcpy(message + i, "\xc3\xa9", 2);
  message[sizeof(message) - 1] = '\0';
  message[sizeof(message) - 2] = '\0';
  char *note = wfe_event_note(message);
  size_t len = strlen(note);
  assert_true(len <= WFE_EVENT_NOTE_MAX);
  assert_string_equal(note + len - 3, "...");
  /* The byte before "..." ends a character: it is not a lead byte. */
  assert_int_equal((unsigned char)note[len - 4], 0xa9);
  free(note);
}

static char *key_of(json_object *obj, const char *type, const char *reason,
                    const char *note)
{
  struct wfe_buf key = WFE_BUF_INIT;
  if (wfe_event_key(obj, type, reason, note, &key) != 0) {
    wfe_buf_free(&key);
    return NULL;
  }
  return wfe_buf_steal(&key);
}

static void test_key_is_object_type_reason_and_note(void **state)
{
  struct fixture *f = *state;
  char *base = key_of(f->pod, "Normal", "Created", "made it");
  char *same = key_of(f->pod, "Normal", "Created", "made it");
  char *other_type = key_of(f->pod, "Warning", "Created", "made it");
  char *other_reason = key_of(f->pod, "Normal", "Deleted", "made it");
  char *other_note = key_of(f->pod, "Normal", "Created", "made that");
  assert_string_equal(base, same);
  assert_string_not_equal(base, other_type);
  assert_string_not_equal(base, other_reason);
  assert_string_not_equal(base, other_note);
  free(base);
  free(same);
  free(other_type);
  free(other_reason);
  free(other_note);
}

static void test_key_follows_uid_not_resource_version(void **state)
{
  json_object *newer =
      parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"namespace\":\"ns\","
            "\"name\":\"web\",\"uid\":\"u-1\",\"resourceVersion\":\"8\"}");
  json_object *recreated =
      parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"namespace\":\"ns\","
            "\"name\":\"web\",\"uid\":\"u-2\"}");
  struct fixture *f = *state;
  char *a = key_of(f->pod, "Normal", "R", "m");
  char *b = key_of(newer, "Normal", "R", "m");
  char *c = key_of(recreated, "Normal", "R", "m");
  assert_string_equal(a, b);
  assert_string_not_equal(a, c);
  free(a);
  free(b);
  free(c);
  json_object_put(newer);
  json_object_put(recreated);
}

static void test_key_reads_a_whole_object_like_its_reference(void **state)
{
  struct fixture *f = *state;
  json_object *object = parse(
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":"
      "\"ns\",\"name\":\"web\",\"uid\":\"u-1\"},\"spec\":{}}");
  char *a = key_of(f->pod, "Normal", "R", "m");
  char *b = key_of(object, "Normal", "R", "m");
  assert_string_equal(a, b);
  free(a);
  free(b);
  json_object_put(object);
}

static void test_key_needs_kind_and_name(void **state)
{
  json_object *nameless = parse("{\"kind\":\"Pod\",\"uid\":\"u\"}");
  assert_null(key_of(nameless, "Normal", "R", "m"));
  json_object_put(nameless);
}

/* ------------------------------------------------------------------------
 * The recorder */

static void test_recorder_creates_one_event_with_its_fields(void **state)
{
  struct fixture *f = *state;
  start(f);
  assert_int_equal(
      wfe_event_record(f->recorder, f->pod, "Normal", "Started", "go"), 0);
  flush(f);
  assert_int_equal(f->sink.creates, 1);
  assert_int_equal(f->sink.patches, 0);
  json_object *ev = f->sink.created[0];
  assert_string_equal(wfe_json_get_string(ev, "apiVersion"),
                      "events.k8s.io/v1");
  assert_string_equal(wfe_json_get_string(ev, "metadata.namespace"), "ns");
  const char *name = wfe_json_get_string(ev, "metadata.name");
  assert_int_equal(strncmp(name, "web.", 4), 0);
  assert_string_equal(wfe_json_get_string(ev, "reportingController"),
                      "wfe-controller");
  assert_string_equal(wfe_json_get_string(ev, "reportingInstance"),
                      "host_0123");
  assert_null(wfe_json_get(ev, "deprecatedSource"));
  assert_string_equal(wfe_json_get_string(ev, "reason"), "Started");
  assert_string_equal(wfe_json_get_string(ev, "action"), "Started");
  assert_string_equal(wfe_json_get_string(ev, "type"), "Normal");
  assert_string_equal(wfe_json_get_string(ev, "note"), "go");
  assert_string_equal(wfe_json_get_string(ev, "regarding.uid"), "u-1");
  assert_string_equal(wfe_json_get_string(ev, "regarding.resourceVersion"),
                      "7");
  assert_null(wfe_json_get(ev, "series"));
  assert_int_equal(strlen(wfe_json_get_string(ev, "eventTime")), 27);
}

static void test_recorder_patches_series_count_on_a_repeat(void **state)
{
  struct fixture *f = *state;
  start(f);
  wfe_event_record(f->recorder, f->pod, "Warning", "Failed", "boom");
  flush(f);
  wfe_event_record(f->recorder, f->pod, "Warning", "Failed", "boom");
  flush(f);
  wfe_event_record(f->recorder, f->pod, "Warning", "Failed", "boom");
  flush(f);
  assert_int_equal(f->sink.creates, 1);
  assert_int_equal(f->sink.patches, 2);
  assert_string_equal(f->sink.patch_names[0],
                      wfe_json_get_string(f->sink.created[0], "metadata.name"));
  json_object *patch = parse(f->sink.patch_bodies[1]);
  assert_int_equal(json_object_get_int(wfe_json_get(patch, "series.count")), 3);
  assert_non_null(wfe_json_get_string(patch, "series.lastObservedTime"));
  json_object_put(patch);
}

static void
test_recorder_creates_new_event_for_a_different_message(void **state)
{
  struct fixture *f = *state;
  start(f);
  wfe_event_record(f->recorder, f->pod, "Normal", "Progress", "step 1");
  wfe_event_record(f->recorder, f->pod, "Normal", "Progress", "step 2");
  flush(f);
  assert_int_equal(f->sink.creates, 2);
  assert_int_equal(f->sink.patches, 0);
}

static void test_recorder_starts_a_new_event_after_the_window(void **state)
{
  struct fixture *f = *state;
  f->options.aggregation_window_ms = 50;
  start(f);
  wfe_event_record(f->recorder, f->pod, "Normal", "Tick", "t");
  flush(f);
  sleep_ms(150);
  wfe_event_record(f->recorder, f->pod, "Normal", "Tick", "t");
  flush(f);
  assert_int_equal(f->sink.creates, 2);
  assert_int_equal(f->sink.patches, 0);
  assert_string_not_equal(
      wfe_json_get_string(f->sink.created[0], "metadata.name"),
      wfe_json_get_string(f->sink.created[1], "metadata.name"));
}

static void hold_writer_in_create(struct fixture *f)
{
  pthread_mutex_lock(&f->sink.lock);
  f->sink.hold = 1;
  pthread_mutex_unlock(&f->sink.lock);
  wfe_event_record(f->recorder, f->pod, "Normal", "First", "held");
  pthread_mutex_lock(&f->sink.lock);
  while (!f->sink.entered)
    pthread_cond_wait(&f->sink.cond, &f->sink.lock);
  pthread_mutex_unlock(&f->sink.lock);
}

static void release_writer(struct fixture *f)
{
  pthread_mutex_lock(&f->sink.lock);
  f->sink.hold = 0;
  pthread_cond_broadcast(&f->sink.cond);
  pthread_mutex_unlock(&f->sink.lock);
}

static void test_recorder_drops_and_counts_when_the_queue_is_full(void **state)
{
  struct fixture *f = *state;
  f->options.queue_size = 1;
  start(f);
  hold_writer_in_create(f); /* the writer is busy, the queue empty */
  assert_int_equal(
      wfe_event_record(f->recorder, f->pod, "Normal", "Second", "queued"), 0);
  assert_int_equal(
      wfe_event_record(f->recorder, f->pod, "Normal", "Third", "no room"),
      WFE_E_UNAVAILABLE);
  assert_int_equal(wfe_event_recorder_dropped(f->recorder), 1);
  release_writer(f);
  flush(f);
  assert_int_equal(f->sink.creates, 2);
}

static void test_recorder_coalesces_repeats_waiting_in_the_queue(void **state)
{
  struct fixture *f = *state;
  f->options.queue_size = 1;
  start(f);
  hold_writer_in_create(f);
  /* Three repeats while the writer is busy take one queue slot. */
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        wfe_event_record(f->recorder, f->pod, "Normal", "Again", "same"), 0);
  assert_int_equal(wfe_event_recorder_dropped(f->recorder), 0);
  release_writer(f);
  flush(f);
  assert_int_equal(f->sink.creates, 2);
  assert_int_equal(f->sink.patches, 0);
  assert_int_equal(
      json_object_get_int(wfe_json_get(f->sink.created[1], "series.count")), 3);
}

static int closed_gate(void *ctx)
{
  return 0;
}

static void test_recorder_writes_nothing_when_the_gate_is_closed(void **state)
{
  struct fixture *f = *state;
  f->options.gate = closed_gate;
  start(f);
  wfe_event_record(f->recorder, f->pod, "Normal", "Standby", "no");
  flush(f);
  assert_int_equal(f->sink.creates, 0);
  assert_int_equal(wfe_event_recorder_dropped(f->recorder), 1);
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_event_recorder_last_error(f->recorder, &err),
                   WFE_E_UNAVAILABLE);
  assert_string_equal(err.reason, "NotLeader");
  wfe_error_clear(&err);
}

static void test_recorder_rejects_unknown_type_and_empty_reason(void **state)
{
  struct fixture *f = *state;
  start(f);
  assert_int_equal(wfe_event_record(f->recorder, f->pod, "Info", "R", "m"),
                   WFE_E_INVALID);
  assert_int_equal(wfe_event_record(f->recorder, f->pod, "Normal", "", "m"),
                   WFE_E_INVALID);
  flush(f);
  assert_int_equal(f->sink.creates, 0);
}

static void test_recorder_free_flushes_queued_events(void **state)
{
  struct fixture *f = *state;
  start(f);
  for (int i = 0; i < 5; i++) {
    char reason[16];
    snprintf(reason, sizeof(reason), "R%d", i);
    wfe_event_record(f->recorder, f->pod, "Normal", reason, "m");
  }
  wfe_event_recorder_free(f->recorder);
  f->recorder = NULL;
  assert_int_equal(f->sink.creates, 5);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_note_keeps_messages_that_fit),
      T(test_note_cuts_long_messages_to_the_api_limit_with_ellipsis),
      T(test_note_never_splits_a_utf8_character),
      T(test_key_is_object_type_reason_and_note),
      T(test_key_follows_uid_not_resource_version),
      T(test_key_reads_a_whole_object_like_its_reference),
      T(test_key_needs_kind_and_name),
      T(test_recorder_creates_one_event_with_its_fields),
      T(test_recorder_patches_series_count_on_a_repeat),
      T(test_recorder_creates_new_event_for_a_different_message),
      T(test_recorder_starts_a_new_event_after_the_window),
      T(test_recorder_drops_and_counts_when_the_queue_is_full),
      T(test_recorder_coalesces_repeats_waiting_in_the_queue),
      T(test_recorder_writes_nothing_when_the_gate_is_closed),
      T(test_recorder_rejects_unknown_type_and_empty_reason),
      T(test_recorder_free_flushes_queued_events),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
