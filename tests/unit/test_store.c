/*
 * The informer's cache (core/kube/store.h) and the event-to-key helpers of
 * core/kube/informer.h, without a server: writes and what they report, readers
 * racing the writer, the relist diff, the transform, and what an object
 * costs in memory.
 */
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "informer.h"
#include "status.h"
#include "store.h"

/* A ConfigMap-like object; `data_len` bytes of payload. */
static json_object *make_object(const char *ns, const char *name,
                                const char *rv, const char *app,
                                size_t data_len)
{
  char text[512];
  snprintf(text, sizeof(text),
           "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
           "\"name\":\"%s\",%s%s%s\"uid\":\"uid-%s\","
           "\"resourceVersion\":\"%s\",\"labels\":{\"app\":\"%s\"},"
           "\"managedFields\":[{\"manager\":\"kubectl\",\"operation\":"
           "\"Update\",\"fieldsV1\":{\"f:data\":{}}}]},\"data\":{}}",
           name, ns ? "\"namespace\":\"" : "", ns ? ns : "", ns ? "\"," : "",
           name, rv, app ? app : "none");
  json_object *obj = json_tokener_parse(text);
  assert_non_null(obj);
  if (data_len) {
    char *payload = malloc(data_len + 1);
    assert_non_null(payload);
    for (size_t i = 0; i < data_len; i++)
      payload[i] = (char)('a' + (i * 7 + strlen(name)) % 26);
    payload[data_len] = '\0';
    json_object *data;
    assert_true(json_object_object_get_ex(obj, "data", &data));
    json_object_object_add(data, "payload", json_object_new_string(payload));
    free(payload);
  }
  return obj;
}

static enum wfe_store_change upsert(struct wfe_store *store, const char *ns,
                                    const char *name, const char *rv)
{
  enum wfe_store_change change;
  json_object *obj = make_object(ns, name, rv, "web", 0);
  assert_int_equal(wfe_store_upsert(store, obj, &change, NULL), 0);
  json_object_put(obj);
  return change;
}

static void test_store_add_update_delete_report_each_change(void **state)
{
  struct wfe_store *store = wfe_store_new(NULL);
  assert_non_null(store);
  enum wfe_store_change change;
  struct wfe_store_item *old = NULL;

  json_object *v1 = make_object("ns1", "a", "10", "web", 0);
  assert_int_equal(wfe_store_upsert(store, v1, &change, &old), 0);
  assert_int_equal(change, WFE_STORE_ADDED);
  assert_null(old);
  assert_int_equal(wfe_store_len(store), 1);

  /* The same resourceVersion again (a re-watch replaying it) is no news. */
  assert_int_equal(wfe_store_upsert(store, v1, &change, &old), 0);
  assert_int_equal(change, WFE_STORE_UNCHANGED);
  assert_null(old);

  json_object *v2 = make_object("ns1", "a", "11", "db", 0);
  assert_int_equal(wfe_store_upsert(store, v2, &change, &old), 0);
  assert_int_equal(change, WFE_STORE_UPDATED);
  assert_non_null(old);
  assert_string_equal(wfe_store_item_resource_version(old), "10");
  wfe_store_item_release(old);

  json_object *got = NULL;
  assert_int_equal(wfe_store_get(store, "ns1/a", &got), 0);
  assert_string_equal(
      json_object_get_string(json_object_object_get(
          json_object_object_get(got, "metadata"), "resourceVersion")),
      "11");
  json_object_put(got);

  struct wfe_store_item *item;
  assert_int_equal(wfe_store_get_item(store, "ns1/a", &item), 0);
  assert_string_equal(wfe_store_item_key(item), "ns1/a");
  assert_string_equal(wfe_store_item_namespace(item), "ns1");
  assert_string_equal(wfe_store_item_name(item), "a");
  assert_string_equal(wfe_store_item_uid(item), "uid-a");

  /* A reader's reference outlives the removal. */
  assert_int_equal(wfe_store_remove(store, v2, &old), 0);
  assert_non_null(old);
  wfe_store_item_release(old);
  assert_int_equal(wfe_store_len(store), 0);
  assert_int_equal(wfe_store_get(store, "ns1/a", &got), WFE_E_NOT_FOUND);
  assert_null(got);
  size_t len;
  assert_non_null(strstr(wfe_store_item_json(item, &len), "\"11\""));
  wfe_store_item_release(item);

  /* Removing what is not cached reports nothing. */
  assert_int_equal(wfe_store_remove(store, v2, &old), 0);
  assert_null(old);

  json_object_put(v1);
  json_object_put(v2);
  wfe_store_free(store);
}

static void test_store_keys_cluster_scoped_objects_by_name(void **state)
{
  struct wfe_store *store = wfe_store_new(NULL);
  assert_int_equal(upsert(store, NULL, "node-1", "5"), WFE_STORE_ADDED);
  struct wfe_store_item *item;
  assert_int_equal(wfe_store_get_item(store, "node-1", &item), 0);
  assert_string_equal(wfe_store_item_namespace(item), "");
  assert_string_equal(wfe_store_item_name(item), "node-1");
  wfe_store_item_release(item);

  json_object *nameless = json_tokener_parse("{\"metadata\":{}}");
  enum wfe_store_change change;
  assert_int_equal(wfe_store_upsert(store, nameless, &change, NULL),
                   WFE_E_INVALID);
  json_object_put(nameless);
  wfe_store_free(store);
}

static void test_store_grows_and_finds_every_key(void **state)
{
  struct wfe_store *store = wfe_store_new(NULL);
  char name[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof(name), "obj-%d", i);
    assert_int_equal(upsert(store, "ns", name, "1"), WFE_STORE_ADDED);
  }
  assert_int_equal(wfe_store_len(store), 3000);
  for (int i = 0; i < 3000; i++) {
    char key[40];
    snprintf(key, sizeof(key), "ns/obj-%d", i);
    struct wfe_store_item *item;
    assert_int_equal(wfe_store_get_item(store, key, &item), 0);
    wfe_store_item_release(item);
  }
  wfe_store_free(store);
}

struct deletions {
  char keys[16][32];
  size_t count;
};

static void record_deletion(void *ctx, struct wfe_store_item *item)
{
  struct deletions *deletions = ctx;
  assert_true(deletions->count < 16);
  snprintf(deletions->keys[deletions->count++], 32, "%s",
           wfe_store_item_key(item));
}

static void test_store_relist_reports_deletions_and_updates_once(void **state)
{
  struct wfe_store *store = wfe_store_new(NULL);
  wfe_store_relist_begin(store);
  assert_int_equal(upsert(store, "ns", "kept", "1"), WFE_STORE_ADDED);
  assert_int_equal(upsert(store, "ns", "changed", "2"), WFE_STORE_ADDED);
  assert_int_equal(upsert(store, "ns", "gone", "3"), WFE_STORE_ADDED);
  struct deletions deletions = {0};
  wfe_store_relist_end(store, record_deletion, &deletions);
  assert_int_equal(deletions.count, 0);

  /* The watch was away: "gone" was deleted, "changed" updated, "new"
   * created. */
  wfe_store_relist_begin(store);
  assert_int_equal(upsert(store, "ns", "kept", "1"), WFE_STORE_UNCHANGED);
  assert_int_equal(upsert(store, "ns", "changed", "7"), WFE_STORE_UPDATED);
  assert_int_equal(upsert(store, "ns", "new", "8"), WFE_STORE_ADDED);
  wfe_store_relist_end(store, record_deletion, &deletions);
  assert_int_equal(deletions.count, 1);
  assert_string_equal(deletions.keys[0], "ns/gone");
  assert_int_equal(wfe_store_len(store), 3);

  /* A relist that sees the same state reports nothing at all. */
  wfe_store_relist_begin(store);
  assert_int_equal(upsert(store, "ns", "kept", "1"), WFE_STORE_UNCHANGED);
  assert_int_equal(upsert(store, "ns", "changed", "7"), WFE_STORE_UNCHANGED);
  assert_int_equal(upsert(store, "ns", "new", "8"), WFE_STORE_UNCHANGED);
  wfe_store_relist_end(store, record_deletion, &deletions);
  assert_int_equal(deletions.count, 1);

  /* A relist that failed half way is followed by a complete one; only
   * the complete one decides what is gone. */
  wfe_store_relist_begin(store);
  assert_int_equal(upsert(store, "ns", "kept", "1"), WFE_STORE_UNCHANGED);
  wfe_store_relist_begin(store);
  assert_int_equal(upsert(store, "ns", "new", "8"), WFE_STORE_UNCHANGED);
  wfe_store_relist_end(store, record_deletion, &deletions);
  assert_int_equal(deletions.count, 3);
  assert_int_equal(wfe_store_len(store), 1);
  wfe_store_free(store);
}

static void test_store_lists_by_indexed_label(void **state)
{
  const char *const labels[] = {"app", NULL};
  struct wfe_store_options options = {.index_labels = labels};
  struct wfe_store *store = wfe_store_new(&options);
  enum wfe_store_change change;
  const char *apps[] = {"web", "db", "web", NULL};
  for (int i = 0; i < 4; i++) {
    char name[16];
    snprintf(name, sizeof(name), "o%d", i);
    json_object *obj = make_object("ns", name, "1", apps[i], 0);
    if (!apps[i])
      json_object_object_del(json_object_object_get(obj, "metadata"), "labels");
    assert_int_equal(wfe_store_upsert(store, obj, &change, NULL), 0);
    json_object_put(obj);
  }
  struct wfe_store_item **items;
  size_t count;
  assert_int_equal(wfe_store_list(store, "app", "web", &items, &count), 0);
  assert_int_equal(count, 2);
  for (size_t i = 0; i < count; i++)
    assert_string_equal(wfe_store_item_label(items[i], "app"), "web");
  wfe_store_items_release(items, count);

  assert_int_equal(wfe_store_list(store, NULL, NULL, &items, &count), 0);
  assert_int_equal(count, 4);
  wfe_store_items_release(items, count);

  assert_int_equal(wfe_store_list(store, "tier", "x", &items, &count),
                   WFE_E_INVALID);
  wfe_store_free(store);
}

static void test_transform_strips_managed_fields(void **state)
{
  struct wfe_store *store = wfe_store_new(NULL);
  json_object *obj = make_object("ns", "a", "1", "web", 0);
  assert_int_equal(wfe_informer_strip_managed_fields(NULL, obj), 0);
  enum wfe_store_change change;
  assert_int_equal(wfe_store_upsert(store, obj, &change, NULL), 0);
  json_object_put(obj);

  struct wfe_store_item *item;
  assert_int_equal(wfe_store_get_item(store, "ns/a", &item), 0);
  const char *json = wfe_store_item_json(item, NULL);
  assert_null(strstr(json, "managedFields"));
  assert_non_null(strstr(json, "\"labels\":{\"app\":\"web\"}"));
  /* Compact text: no spaces, no escaped slashes. */
  assert_null(strchr(json, ' '));
  wfe_store_item_release(item);
  wfe_store_free(store);
}

/* --- Readers racing the writer ------------------------------------------ */

#define RACE_KEYS 64
#define RACE_ROUNDS 300

struct race {
  struct wfe_store *store;
  volatile int done;
  unsigned long reads;
};

static void *race_reader(void *arg)
{
  struct race *race = arg;
  unsigned long reads = 0;
  unsigned i = 0;
  while (!race->done) {
    char key[32];
    snprintf(key, sizeof(key), "ns/k%u", i++ % RACE_KEYS);
    json_object *obj = NULL;
    if (wfe_store_get(race->store, key, &obj) == 0) {
      /* Every object read is whole: its name matches its key and its
       * payload matches its resourceVersion. */
      json_object *metadata = json_object_object_get(obj, "metadata");
      const char *rv = json_object_get_string(
          json_object_object_get(metadata, "resourceVersion"));
      const char *payload = json_object_get_string(
          json_object_object_get(json_object_object_get(obj, "data"), "rv"));
      assert_string_equal(
          key + 3,
          json_object_get_string(json_object_object_get(metadata, "name")));
      assert_string_equal(rv, payload);
      json_object_put(obj);
      reads++;
    }
    if (i % 16 == 0) {
      struct wfe_store_item **items;
      size_t count;
      assert_int_equal(wfe_store_list(race->store, NULL, NULL, &items, &count),
                       0);
      assert_true(count <= RACE_KEYS);
      wfe_store_items_release(items, count);
    }
  }
  __atomic_fetch_add(&race->reads, reads, __ATOMIC_RELAXED);
  return NULL;
}

static void test_store_readers_see_whole_objects_while_writer_runs(void **state)
{
  struct race race = {.store = wfe_store_new(NULL)};
  pthread_t readers[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&readers[i], NULL, race_reader, &race), 0);
  enum wfe_store_change change;
  for (int round = 0; round < RACE_ROUNDS; round++) {
    if (round % 50 == 49)
      wfe_store_relist_begin(race.store);
    for (int k = 0; k < RACE_KEYS; k++) {
      char name[16], rv[16];
      snprintf(name, sizeof(name), "k%d", k);
      snprintf(rv, sizeof(rv), "%d", round * RACE_KEYS + k + 1);
      json_object *obj = make_object("ns", name, rv, "web", 64);
      json_object_object_add(json_object_object_get(obj, "data"), "rv",
                             json_object_new_string(rv));
      if ((k + round) % 7 == 0)
        assert_int_equal(wfe_store_remove(race.store, obj, NULL), 0);
      else
        assert_int_equal(wfe_store_upsert(race.store, obj, &change, NULL), 0);
      json_object_put(obj);
    }
    if (round % 50 == 49)
      wfe_store_relist_end(race.store, NULL, NULL);
  }
  race.done = 1;
  for (int i = 0; i < 4; i++)
    pthread_join(readers[i], NULL);
  print_message("  %lu reads during %d writes\n", race.reads,
                RACE_ROUNDS * RACE_KEYS);
  wfe_store_free(race.store);
}

/* --- Memory ------------------------------------------------------------- */

static size_t heap_in_use(void)
{
  malloc_trim(0);
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

static void test_store_memory_per_object(void **state)
{
  enum { N = 10000 };
  size_t before = heap_in_use();
  struct wfe_store *store = wfe_store_new(NULL);
  size_t text = 0;
  enum wfe_store_change change;
  for (int i = 0; i < N; i++) {
    char name[32], rv[16];
    snprintf(name, sizeof(name), "config-%05d", i);
    snprintf(rv, sizeof(rv), "%d", 1000 + i);
    json_object *obj = make_object("bench", name, rv, "web", 800);
    wfe_informer_strip_managed_fields(NULL, obj);
    assert_int_equal(wfe_store_upsert(store, obj, &change, NULL), 0);
    size_t len;
    json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    text += len;
    json_object_put(obj);
  }
  size_t after = heap_in_use();

  /* For comparison: the same objects as json-c trees. */
  enum { TREES = 1000 };
  json_object **trees = calloc(TREES, sizeof(*trees));
  size_t trees_before = heap_in_use();
  for (int i = 0; i < TREES; i++) {
    struct wfe_store_item *item;
    char key[40];
    snprintf(key, sizeof(key), "bench/config-%05d", i);
    assert_int_equal(wfe_store_get_item(store, key, &item), 0);
    assert_int_equal(wfe_store_item_parse(item, &trees[i]), 0);
    wfe_store_item_release(item);
  }
  size_t trees_after = heap_in_use();
  for (int i = 0; i < TREES; i++)
    json_object_put(trees[i]);
  free(trees);

  /* mallinfo2 reads 0 under valgrind, whose allocator is its own. */
  print_message("  %d objects, %zu B of JSON text each: heap %zu B/object, "
                "store's own count %zu B/object; as json-c trees %zu "
                "B/object%s\n",
                N, text / N, (after - before) / N, wfe_store_bytes(store) / N,
                (trees_after - trees_before) / TREES,
                after == before ? " (heap figures unavailable)" : "");
  assert_int_equal(wfe_store_len(store), N);
  wfe_store_free(store);
}

/* --- Event to key helpers ----------------------------------------------- */

struct enqueued {
  char keys[4][64];
  size_t count;
};

static void enqueue(void *ctx, const char *key)
{
  struct enqueued *enqueued = ctx;
  assert_true(enqueued->count < 4);
  snprintf(enqueued->keys[enqueued->count++], 64, "%s", key);
}

static int owner_from_labels(void *ctx, json_object *obj, struct wfe_buf *key)
{
  return wfe_object_key_from_metadata(obj, "example.com/owner-namespace",
                                      "example.com/owner", key);
}

static json_object *run_object(const char *owner)
{
  char text[400];
  snprintf(text, sizeof(text),
           "{\"metadata\":{\"name\":\"run-1\",\"namespace\":\"runs\","
           "\"labels\":{\"example.com/owner\":\"%s\"},"
           "\"annotations\":{\"example.com/owner-namespace\":\"team-a\"},"
           "\"ownerReferences\":[{\"kind\":\"Other\",\"name\":\"x\","
           "\"controller\":false},{\"kind\":\"Parent\",\"name\":\"p\","
           "\"controller\":true}]}}",
           owner);
  json_object *obj = json_tokener_parse(text);
  assert_non_null(obj);
  return obj;
}

static void test_keys_map_runs_to_owners_and_relabels_reach_both(void **state)
{
  json_object *before = run_object("wf-1"), *after = run_object("wf-2");
  struct wfe_buf key = WFE_BUF_INIT;
  assert_int_equal(wfe_object_key(before, &key), 0);
  assert_string_equal(wfe_buf_str(&key), "runs/run-1");
  wfe_buf_clear(&key);
  assert_int_equal(wfe_object_owner_key(before, "Parent", &key), 0);
  assert_string_equal(wfe_buf_str(&key), "runs/p");
  wfe_buf_clear(&key);
  assert_int_equal(wfe_object_owner_key(before, "Other", &key),
                   WFE_E_NOT_FOUND);
  assert_int_equal(wfe_object_key_from_metadata(before, "missing",
                                                "example.com/owner", &key),
                   WFE_E_NOT_FOUND);
  wfe_buf_free(&key);

  struct enqueued enqueued = {0};
  struct wfe_informer_keys keys = {
      .map = owner_from_labels, .enqueue = enqueue, .enqueue_ctx = &enqueued};
  wfe_informer_keys_on_event(&keys, WFE_INFORMER_ADDED, before, NULL, 0);
  assert_int_equal(enqueued.count, 1);
  assert_string_equal(enqueued.keys[0], "team-a/wf-1");

  enqueued.count = 0;
  wfe_informer_keys_on_event(&keys, WFE_INFORMER_UPDATED, after, before, 0);
  assert_int_equal(enqueued.count, 2);
  assert_string_equal(enqueued.keys[0], "team-a/wf-2");
  assert_string_equal(enqueued.keys[1], "team-a/wf-1");

  enqueued.count = 0;
  wfe_informer_keys_on_event(&keys, WFE_INFORMER_UPDATED, after, after, 0);
  assert_int_equal(enqueued.count, 1);

  /* Without a map function an object is its own key. */
  enqueued.count = 0;
  keys.map = NULL;
  wfe_informer_keys_on_event(&keys, WFE_INFORMER_DELETED, after, NULL, 1);
  assert_int_equal(enqueued.count, 1);
  assert_string_equal(enqueued.keys[0], "runs/run-1");
  json_object_put(before);
  json_object_put(after);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_store_add_update_delete_report_each_change),
      cmocka_unit_test(test_store_keys_cluster_scoped_objects_by_name),
      cmocka_unit_test(test_store_grows_and_finds_every_key),
      cmocka_unit_test(test_store_relist_reports_deletions_and_updates_once),
      cmocka_unit_test(test_store_lists_by_indexed_label),
      cmocka_unit_test(test_transform_strips_managed_fields),
      cmocka_unit_test(test_store_readers_see_whole_objects_while_writer_runs),
      cmocka_unit_test(test_store_memory_per_object),
      cmocka_unit_test(test_keys_map_runs_to_owners_and_relabels_reach_both),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
