/*
 * The informer (core/kube/informer.h) against a real control plane started with
 * tests/cluster/up: initial sync, events, scoping, and recovery from the
 * faults tests/cluster/fault injects (apiserver restart, 410 after etcd
 * compaction, a hung apiserver). Each test works in its own namespace of
 * ConfigMaps, so the informer is exercised on a plain built-in type.
 *
 *   WFE_TEST_PLANE=DIR ctest -L integration -R informer
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
#include "informer.h"
#include "json_util.h"
#include "kube_client.h"
#include "metrics.h"
#include "plane.h"
#include "status.h"

static const struct wfe_resource configmaps = {"v1", "configmaps", 1};

/* --- Events the handler saw --------------------------------------------- */

struct event {
  enum wfe_informer_event_type type;
  char key[128];
  char rv[32];
  char old_rv[32];
  int final_state_unknown;
};

struct recorder {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  struct event *events;
  size_t count;
  size_t cap;
};

static void recorder_init(struct recorder *rec)
{
  memset(rec, 0, sizeof(*rec));
  pthread_mutex_init(&rec->mutex, NULL);
  pthread_cond_init(&rec->cond, NULL);
}

static void recorder_free(struct recorder *rec)
{
  free(rec->events);
  pthread_cond_destroy(&rec->cond);
  pthread_mutex_destroy(&rec->mutex);
}

static void copy_rv(char *dst, json_object *obj)
{
  const char *rv = wfe_json_get_string(obj, "metadata.resourceVersion");
  snprintf(dst, 32, "%s", rv ? rv : "");
}

static void record(void *ctx, enum wfe_informer_event_type type,
                   json_object *obj, json_object *old, int final_state_unknown)
{
  struct recorder *rec = ctx;
  struct event event = {.type = type,
                        .final_state_unknown = final_state_unknown};
  struct wfe_buf key = WFE_BUF_INIT;
  wfe_object_key(obj, &key);
  snprintf(event.key, sizeof(event.key), "%s", wfe_buf_str(&key));
  wfe_buf_free(&key);
  copy_rv(event.rv, obj);
  if (old)
    copy_rv(event.old_rv, old);
  pthread_mutex_lock(&rec->mutex);
  if (rec->count == rec->cap) {
    rec->cap = rec->cap ? rec->cap * 2 : 64;
    rec->events = realloc(rec->events, rec->cap * sizeof(*rec->events));
  }
  rec->events[rec->count++] = event;
  pthread_cond_broadcast(&rec->cond);
  pthread_mutex_unlock(&rec->mutex);
}

/* How many events of `type` for `key` (any key when NULL) were seen. */
static size_t count_events(struct recorder *rec,
                           enum wfe_informer_event_type type, const char *key,
                           int final_state_unknown)
{
  size_t n = 0;
  pthread_mutex_lock(&rec->mutex);
  for (size_t i = 0; i < rec->count; i++)
    if (rec->events[i].type == type &&
        (!key || strcmp(rec->events[i].key, key) == 0) &&
        (final_state_unknown < 0 ||
         rec->events[i].final_state_unknown == final_state_unknown))
      n++;
  pthread_mutex_unlock(&rec->mutex);
  return n;
}

/* Waits up to `timeout_ms` for at least `want` such events. */
static int wait_events(struct recorder *rec, enum wfe_informer_event_type type,
                       const char *key, int final_state_unknown, size_t want,
                       long timeout_ms)
{
  int64_t deadline = wfe_monotonic_ms() + timeout_ms;
  while (count_events(rec, type, key, final_state_unknown) < want) {
    if (wfe_monotonic_ms() > deadline)
      return 0;
    usleep(20000);
  }
  return 1;
}

static struct wfe_informer_stats stats_of(struct wfe_informer *informer);

/* What the informer did, for a failing test's output. */
static void dump(struct recorder *rec, struct wfe_informer *informer)
{
  struct wfe_informer_stats stats = stats_of(informer);
  struct wfe_buf rv = WFE_BUF_INIT;
  wfe_informer_resource_version(informer, &rv);
  print_error("informer: lists %llu relists %llu watch restarts %llu "
              "errors %llu, resourceVersion %s; events:\n",
              (unsigned long long)stats.lists,
              (unsigned long long)stats.relists,
              (unsigned long long)stats.watch_restarts,
              (unsigned long long)stats.errors, wfe_buf_str(&rv));
  wfe_buf_free(&rv);
  static const char *const names[] = {"ADDED", "UPDATED", "DELETED"};
  pthread_mutex_lock(&rec->mutex);
  for (size_t i = 0; i < rec->count; i++)
    print_error("  %s %s rv=%s%s\n", names[rec->events[i].type],
                rec->events[i].key, rec->events[i].rv,
                rec->events[i].final_state_unknown ? " final-state-unknown"
                                                   : "");
  pthread_mutex_unlock(&rec->mutex);
}

/* --- Plane, fixture and objects ------------------------------------------ */

static int setup_plane(void **state)
{
  struct wfe_kube_client_options options = {.max_retries = 10};
  return plane_open(&options);
}

static int teardown_plane(void **state)
{
  plane_close();
  return 0;
}

/* What a test starts, stopped and freed by teardown_test even when an
 * assertion fails midway: no informer may go on running, and calling its
 * handler, once the test that started it is over. */
struct fixture {
  char ns[2][64]; /* the test's namespaces, deleted afterwards */
  struct recorder rec[2];
  struct wfe_informer *informer[2]; /* informer[i] records into rec[i] */
  struct wfe_metrics *metrics;
};

static int setup_test(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  if (!f)
    return -1;
  for (int i = 0; i < 2; i++)
    recorder_init(&f->rec[i]);
  *state = f;
  return 0;
}

static int teardown_test(void **state)
{
  struct fixture *f = *state;
  for (int i = 0; i < 2; i++)
    wfe_informer_free(f->informer[i]);
  wfe_metrics_free(f->metrics);
  for (int i = 0; i < 2; i++) {
    recorder_free(&f->rec[i]);
    if (f->ns[i][0])
      plane_delete_namespace(f->ns[i]);
  }
  free(f);
  return 0;
}

/* A fresh namespace "inf-<what>-<unique>" of the test. */
static const char *create_namespace(struct fixture *f, const char *what)
{
  int i = f->ns[0][0] ? 1 : 0;
  char prefix[32];
  snprintf(prefix, sizeof(prefix), "inf-%s", what);
  struct wfe_error err = WFE_ERROR_INIT;
  if (plane_create_namespace(prefix, f->ns[i], sizeof(f->ns[i]), &err) != 0)
    fail_msg("create namespace %s: %s", f->ns[i], wfe_error_message(&err));
  return f->ns[i];
}

static void create_configmap(const char *ns, const char *name, const char *app)
{
  char body[512];
  snprintf(body, sizeof(body),
           "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
           "\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}},\"data\":{\"v\":"
           "\"1\"}}",
           name, app ? app : "none");
  json_object *obj = json_tokener_parse(body);
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = wfe_kube_create(plane.admin, &configmaps, ns, obj, NULL, &err);
  if (rc != 0)
    fail_msg("create %s/%s: %s", ns, name, wfe_error_message(&err));
  json_object_put(obj);
}

static void patch_configmap(const char *ns, const char *name, const char *patch)
{
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = wfe_kube_patch(plane.admin, &configmaps, ns, name, NULL,
                          WFE_PATCH_MERGE, patch, NULL, &err);
  if (rc != 0)
    fail_msg("patch %s/%s: %s", ns, name, wfe_error_message(&err));
}

static void delete_configmap(const char *ns, const char *name)
{
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = wfe_kube_delete(plane.admin, &configmaps, ns, name, NULL, &err);
  if (rc != 0)
    fail_msg("delete %s/%s: %s", ns, name, wfe_error_message(&err));
}

/* --- The cache against the server --------------------------------------- */

struct listing {
  char (*keys)[160]; /* "ns/name=rv" */
  size_t count;
};

static int collect(void *ctx, json_object *obj)
{
  struct listing *listing = ctx;
  listing->keys =
      realloc(listing->keys, (listing->count + 1) * sizeof(*listing->keys));
  struct wfe_buf key = WFE_BUF_INIT;
  wfe_object_key(obj, &key);
  snprintf(listing->keys[listing->count++], 160, "%s=%s", wfe_buf_str(&key),
           wfe_json_get_string(obj, "metadata.resourceVersion"));
  wfe_buf_free(&key);
  return 0;
}

static int compare_keys(const void *a, const void *b)
{
  return strcmp(a, b);
}

/* The server's "key=rv" set for `ns`, sorted, joined by spaces. */
static void server_state(const char *ns, const char *selector,
                         struct wfe_buf *out)
{
  struct listing listing = {0};
  struct wfe_list_options options = {.label_selector = selector};
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = wfe_kube_list(plane.admin, &configmaps, ns, &options, collect,
                         &listing, NULL, &err);
  if (rc != 0)
    fail_msg("list %s: %s", ns, wfe_error_message(&err));
  qsort(listing.keys, listing.count, sizeof(*listing.keys), compare_keys);
  for (size_t i = 0; i < listing.count; i++)
    wfe_buf_printf(out, "%s ", listing.keys[i]);
  free(listing.keys);
}

/* The same for the informer's cache. */
static void cache_state(struct wfe_informer *informer, struct wfe_buf *out)
{
  struct wfe_store_item **items;
  size_t count;
  assert_int_equal(
      wfe_store_list(wfe_informer_store(informer), NULL, NULL, &items, &count),
      0);
  char(*keys)[160] = calloc(count ? count : 1, sizeof(*keys));
  for (size_t i = 0; i < count; i++)
    snprintf(keys[i], 160, "%s=%s", wfe_store_item_key(items[i]),
             wfe_store_item_resource_version(items[i]));
  qsort(keys, count, sizeof(*keys), compare_keys);
  for (size_t i = 0; i < count; i++)
    wfe_buf_printf(out, "%s ", keys[i]);
  free(keys);
  wfe_store_items_release(items, count);
}

/* Waits until the cache equals the server's state of `ns`. */
static void assert_cache_converges(struct wfe_informer *informer,
                                   const char *ns, const char *selector)
{
  struct wfe_buf server = WFE_BUF_INIT, cache = WFE_BUF_INIT;
  int64_t deadline = wfe_monotonic_ms() + 30000;
  for (;;) {
    wfe_buf_clear(&server);
    wfe_buf_clear(&cache);
    server_state(ns, selector, &server);
    cache_state(informer, &cache);
    if (strcmp(wfe_buf_str(&server), wfe_buf_str(&cache)) == 0)
      break;
    if (wfe_monotonic_ms() > deadline)
      fail_msg("cache never matched the server:\n  server: %s\n  cache:  %s",
               wfe_buf_str(&server), wfe_buf_str(&cache));
    usleep(100000);
  }
  wfe_buf_free(&server);
  wfe_buf_free(&cache);
}

/* Informer `i` of the test: on ConfigMaps of `ns`, with test-sized
 * timeouts, recording into f->rec[i], started. */
static struct wfe_informer *start_informer(struct fixture *f, int i,
                                           const char *ns, const char *selector,
                                           struct wfe_informer_options *extra)
{
  struct wfe_informer_options options = {0};
  if (extra)
    options = *extra;
  options.resource = configmaps;
  options.namespace_name = ns;
  options.label_selector = selector;
  if (!options.watch_timeout_min_s)
    options.watch_timeout_min_s = 30;
  if (!options.backoff_base_ms)
    options.backoff_base_ms = 100;
  if (!options.backoff_cap_ms)
    options.backoff_cap_ms = 1000;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(
      wfe_informer_new(plane.admin, &options, &f->informer[i], &err), 0);
  struct wfe_informer *informer = f->informer[i];
  assert_int_equal(wfe_informer_add_handler(informer, record, &f->rec[i]), 0);
  assert_int_equal(wfe_informer_start(informer, &err), 0);
  assert_int_equal(wfe_informer_wait_synced(informer, 30000), 0);
  return informer;
}

static struct wfe_informer_stats stats_of(struct wfe_informer *informer)
{
  struct wfe_informer_stats stats;
  wfe_informer_get_stats(informer, &stats);
  return stats;
}

/* --- Tests -------------------------------------------------------------- */

static void test_informer_initial_sync_sees_existing_objects(void **state)
{
  struct fixture *f = *state;
  plane_need();
  const char *ns = create_namespace(f, "sync");
  for (int i = 0; i < 5; i++) {
    char name[16];
    snprintf(name, sizeof(name), "cm-%d", i);
    create_configmap(ns, name, "web");
  }
  struct recorder *rec = &f->rec[0];
  /* Pages of two: the list follows `continue` across three pages. Short
   * server timeouts: the watch ends and resumes while the test runs. */
  struct wfe_informer_options options = {
      .page_size = 2, .watch_timeout_min_s = 2, .watch_timeout_max_s = 3};
  struct wfe_informer *informer = start_informer(f, 0, ns, NULL, &options);
  assert_true(wfe_informer_has_synced(informer));
  /* The five, and the namespace's kube-root-ca.crt when a controller-manager
   * publishes it: whatever the server has, each reported once. */
  size_t listed = wfe_store_len(wfe_informer_store(informer));
  assert_true(listed >= 5);
  assert_int_equal(count_events(rec, WFE_INFORMER_ADDED, NULL, -1), listed);
  assert_cache_converges(informer, ns, NULL);

  json_object *cached = NULL;
  char key[128];
  snprintf(key, sizeof(key), "%s/cm-3", ns);
  assert_int_equal(wfe_store_get(wfe_informer_store(informer), key, &cached),
                   0);
  assert_null(wfe_json_get(cached, "metadata.managedFields"));
  assert_string_equal(wfe_json_get_string(cached, "data.v"), "1");
  json_object_put(cached);

  /* Past the server's timeout the watch resumes and still delivers. */
  sleep(4);
  create_configmap(ns, "late", "web");
  snprintf(key, sizeof(key), "%s/late", ns);
  assert_true(wait_events(rec, WFE_INFORMER_ADDED, key, 0, 1, 10000));
  assert_true(stats_of(informer).watch_restarts >= 1);
  assert_int_equal(stats_of(informer).relists, 0);
}

static void test_informer_reports_added_updated_deleted(void **state)
{
  struct fixture *f = *state;
  plane_need();
  char key[128];
  const char *ns = create_namespace(f, "events");
  struct recorder *rec = &f->rec[0];
  struct wfe_informer *informer = start_informer(f, 0, ns, NULL, NULL);
  snprintf(key, sizeof(key), "%s/cm", ns);

  create_configmap(ns, "cm", "web");
  assert_true(wait_events(rec, WFE_INFORMER_ADDED, key, 0, 1, 10000));

  patch_configmap(ns, "cm", "{\"data\":{\"v\":\"2\"}}");
  assert_true(wait_events(rec, WFE_INFORMER_UPDATED, key, 0, 1, 10000));
  pthread_mutex_lock(&rec->mutex);
  struct event update = rec->events[rec->count - 1];
  pthread_mutex_unlock(&rec->mutex);
  assert_int_equal(update.type, WFE_INFORMER_UPDATED);
  assert_string_not_equal(update.rv, update.old_rv);
  assert_true(update.old_rv[0] != '\0');
  json_object *cached = NULL;
  assert_int_equal(wfe_store_get(wfe_informer_store(informer), key, &cached),
                   0);
  assert_string_equal(wfe_json_get_string(cached, "data.v"), "2");
  json_object_put(cached);

  delete_configmap(ns, "cm");
  assert_true(wait_events(rec, WFE_INFORMER_DELETED, key, 0, 1, 10000));
  struct wfe_store_item *item;
  assert_int_equal(wfe_store_get_item(wfe_informer_store(informer), key, &item),
                   WFE_E_NOT_FOUND);
  /* Each change was reported once. */
  assert_int_equal(count_events(rec, WFE_INFORMER_ADDED, key, -1), 1);
  assert_int_equal(count_events(rec, WFE_INFORMER_UPDATED, key, -1), 1);
  assert_int_equal(count_events(rec, WFE_INFORMER_DELETED, key, -1), 1);
}

static void test_informer_resumes_after_apiserver_restart(void **state)
{
  struct fixture *f = *state;
  plane_need();
  const char *ns = create_namespace(f, "restart");
  create_configmap(ns, "keep", "web");
  create_configmap(ns, "change", "web");
  create_configmap(ns, "drop", "web");
  struct recorder *rec = &f->rec[0];
  struct wfe_informer *informer = start_informer(f, 0, ns, NULL, NULL);
  uint64_t restarts = stats_of(informer).watch_restarts;

  plane_fault("restart-apiserver");
  create_configmap(ns, "new", "web");
  patch_configmap(ns, "change", "{\"data\":{\"v\":\"2\"}}");
  delete_configmap(ns, "drop");

  assert_cache_converges(informer, ns, NULL);
  char key[128];
  snprintf(key, sizeof(key), "%s/drop", ns);
  assert_int_equal(count_events(rec, WFE_INFORMER_DELETED, key, -1), 1);
  assert_true(stats_of(informer).watch_restarts > restarts);
}

static void test_informer_relists_on_410_and_reports_deletions(void **state)
{
  struct fixture *f = *state;
  plane_need();
  const char *ns = create_namespace(f, "gone");
  create_configmap(ns, "a", "web");
  create_configmap(ns, "b", "web");
  create_configmap(ns, "c", "web");
  struct recorder *rec = &f->rec[0];
  struct wfe_metrics *metrics = f->metrics = wfe_metrics_new();
  struct wfe_informer_options options = {.metrics = metrics,
                                         .name = "configmaps-gone"};
  struct wfe_informer *informer = start_informer(f, 0, ns, NULL, &options);
  assert_int_equal(stats_of(informer).relists, 0);

  /* The watch is away while objects go and etcd forgets the history. */
  wfe_informer_stop(informer);
  delete_configmap(ns, "a");
  delete_configmap(ns, "b");
  patch_configmap(ns, "c", "{\"data\":{\"v\":\"2\"}}");
  plane_fault("compact");
  if (plane_watch_cache()) {
    /* The apiserver's watch cache may still serve the informer's
     * resourceVersion after compaction; one older than anything it holds
     * gets the same 410 a compacted etcd gives. */
    assert_int_equal(wfe_informer_set_resource_version(informer, "1"), 0);
  }
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_informer_start(informer, &err), 0);

  char key_a[128], key_b[128], key_c[128];
  snprintf(key_a, sizeof(key_a), "%s/a", ns);
  snprintf(key_b, sizeof(key_b), "%s/b", ns);
  snprintf(key_c, sizeof(key_c), "%s/c", ns);
  if (!wait_events(rec, WFE_INFORMER_DELETED, key_a, 1, 1, 20000))
    dump(rec, informer);
  assert_true(count_events(rec, WFE_INFORMER_DELETED, key_a, 1) == 1);
  assert_true(wait_events(rec, WFE_INFORMER_DELETED, key_b, 1, 1, 20000));
  assert_true(wait_events(rec, WFE_INFORMER_UPDATED, key_c, 0, 1, 20000));
  assert_cache_converges(informer, ns, NULL);
  assert_true(stats_of(informer).relists >= 1);
  /* Exactly once each, however the relist and the watch interleave. */
  assert_int_equal(count_events(rec, WFE_INFORMER_DELETED, key_a, -1), 1);
  assert_int_equal(count_events(rec, WFE_INFORMER_DELETED, key_b, -1), 1);
  assert_int_equal(count_events(rec, WFE_INFORMER_UPDATED, key_c, -1), 1);

  struct wfe_buf text = WFE_BUF_INIT;
  assert_int_equal(wfe_metrics_render(metrics, &text), 0);
  assert_non_null(
      strstr(wfe_buf_str(&text),
             "wfe_informer_relists_total{resource=\"configmaps-gone\"} 1"));
  assert_non_null(
      strstr(wfe_buf_str(&text),
             "wfe_informer_objects{resource=\"configmaps-gone\"} 1"));
  wfe_buf_free(&text);
}

static void test_informer_label_selector_scopes_objects(void **state)
{
  struct fixture *f = *state;
  plane_need();
  char key[128];
  const char *ns = create_namespace(f, "labels");
  create_configmap(ns, "web-1", "web");
  create_configmap(ns, "db-1", "db");
  struct recorder *rec = &f->rec[0];
  struct wfe_informer *informer = start_informer(f, 0, ns, "app=web", NULL);
  assert_int_equal(wfe_store_len(wfe_informer_store(informer)), 1);

  create_configmap(ns, "db-2", "db");
  create_configmap(ns, "web-2", "web");
  snprintf(key, sizeof(key), "%s/web-2", ns);
  assert_true(wait_events(rec, WFE_INFORMER_ADDED, key, 0, 1, 10000));
  /* An object that stops matching leaves the cache as a deletion. */
  patch_configmap(ns, "web-1", "{\"metadata\":{\"labels\":{\"app\":\"db\"}}}");
  snprintf(key, sizeof(key), "%s/web-1", ns);
  assert_true(wait_events(rec, WFE_INFORMER_DELETED, key, -1, 1, 10000));
  assert_cache_converges(informer, ns, "app=web");
  assert_int_equal(wfe_store_len(wfe_informer_store(informer)), 1);
  assert_int_equal(count_events(rec, WFE_INFORMER_ADDED, NULL, -1), 2);
}

static void test_informer_namespace_scopes_objects(void **state)
{
  struct fixture *f = *state;
  plane_need();
  char selector[128];
  const char *ns1 = create_namespace(f, "scope1");
  const char *ns2 = create_namespace(f, "scope2");
  /* A label only this test uses, so the all-namespaces informer sees only
   * the test's objects. */
  snprintf(selector, sizeof(selector), "app=%s", ns1);
  create_configmap(ns1, "one", ns1);
  create_configmap(ns2, "two", ns1);

  struct recorder *in_ns1 = &f->rec[0], *everywhere = &f->rec[1];
  struct wfe_informer *scoped = start_informer(f, 0, ns1, selector, NULL);
  struct wfe_informer *cluster = start_informer(f, 1, NULL, selector, NULL);
  assert_int_equal(wfe_store_len(wfe_informer_store(scoped)), 1);
  assert_int_equal(wfe_store_len(wfe_informer_store(cluster)), 2);

  create_configmap(ns2, "three", ns1);
  char key[128];
  snprintf(key, sizeof(key), "%s/three", ns2);
  assert_true(wait_events(everywhere, WFE_INFORMER_ADDED, key, 0, 1, 10000));
  create_configmap(ns1, "four", ns1);
  snprintf(key, sizeof(key), "%s/four", ns1);
  assert_true(wait_events(in_ns1, WFE_INFORMER_ADDED, key, 0, 1, 10000));
  assert_int_equal(count_events(in_ns1, WFE_INFORMER_ADDED, NULL, -1), 2);
  assert_int_equal(wfe_store_len(wfe_informer_store(scoped)), 2);
  assert_true(wait_events(everywhere, WFE_INFORMER_ADDED, key, 0, 1, 10000));
  assert_int_equal(wfe_store_len(wfe_informer_store(cluster)), 4);
}

static void test_informer_drops_a_silent_stream_and_resumes(void **state)
{
  struct fixture *f = *state;
  plane_need();
  char key[128];
  const char *ns = create_namespace(f, "silent");
  struct recorder *rec = &f->rec[0];
  struct wfe_informer_options options = {.idle_timeout_ms = 2000};
  struct wfe_informer *informer = start_informer(f, 0, ns, NULL, &options);
  struct wfe_informer_stats before = stats_of(informer);

  plane_fault("pause-apiserver");
  sleep(5); /* more than twice the idle timeout */
  struct wfe_informer_stats paused = stats_of(informer);
  plane_fault("resume-apiserver");
  /* The hung stream was dropped while the apiserver was stopped. */
  assert_true(paused.errors > before.errors);

  create_configmap(ns, "after", "web");
  snprintf(key, sizeof(key), "%s/after", ns);
  assert_true(wait_events(rec, WFE_INFORMER_ADDED, key, 0, 1, 20000));
  assert_true(stats_of(informer).watch_restarts > before.watch_restarts);
  assert_cache_converges(informer, ns, NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup_test, teardown_test)
      T(test_informer_initial_sync_sees_existing_objects),
      T(test_informer_reports_added_updated_deleted),
      T(test_informer_label_selector_scopes_objects),
      T(test_informer_namespace_scopes_objects),
      T(test_informer_relists_on_410_and_reports_deletions),
      T(test_informer_resumes_after_apiserver_restart),
      T(test_informer_drops_a_silent_stream_and_resumes),
#undef T
  };
  /* e.g. WFE_TEST_FILTER='*410*' runs one test. */
  if (getenv("WFE_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WFE_TEST_FILTER"));
  return cmocka_run_group_tests(tests, setup_plane, teardown_plane);
}
