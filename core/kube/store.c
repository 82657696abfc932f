/*
 * The informer's cache (store.h). A chained hash table of immutable,
 * reference-counted items behind a reader-writer lock. The lock is held only
 * to find or swap a pointer: the writer builds an item (serialising the JSON)
 * before taking it, readers parse after dropping it, so a reconciler worker
 * never waits for JSON work of another thread.
 *
 * An item is one allocation: the header, the indexed label values' pointers,
 * then the strings (key, namespace, uid, resourceVersion, label values, JSON
 * text) back to back. For a ~1 KiB object that is the text plus ~150 bytes.
 */
#include "store.h"

#include "json_util.h"
#include "status.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct wfe_store_item {
  atomic_uint refs;
  uint32_t mark; /* relist generation that last saw it; writer only */
  uint32_t hash; /* of key */
  uint32_t json_len;
  size_t size;                 /* bytes allocated, for wfe_store_bytes */
  struct wfe_store_item *next; /* bucket chain; changed under the write lock */
  const struct wfe_store *store; /* for label lookups by name */
  const char *key;
  const char *name; /* inside key */
  const char *namespace_name;
  const char *uid;
  const char *resource_version;
  const char *json;
  const char *labels[]; /* one per indexed label; NULL when absent */
};

struct wfe_store {
  pthread_rwlock_t lock;
  struct wfe_store_item **buckets;
  size_t bucket_count; /* a power of two */
  size_t count;
  uint32_t generation; /* of the relist in progress or last done */
  char **index_labels;
  size_t index_label_count;
  atomic_size_t bytes;
};

#define INITIAL_BUCKETS 64

static uint32_t hash_key(const char *key)
{
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
    h ^= *p;
    h *= 16777619u;
  }
  return h;
}

struct wfe_store *wfe_store_new(const struct wfe_store_options *options)
{
  struct wfe_store *store = calloc(1, sizeof(*store));
  if (!store)
    return NULL;
  if (pthread_rwlock_init(&store->lock, NULL) != 0) {
    free(store);
    return NULL;
  }
  store->bucket_count = INITIAL_BUCKETS;
  store->buckets = calloc(store->bucket_count, sizeof(*store->buckets));
  if (!store->buckets)
    goto fail;
  if (options && options->index_labels) {
    size_t n = 0;
    while (options->index_labels[n])
      n++;
    if (n > WFE_STORE_MAX_INDEX_LABELS)
      goto fail;
    store->index_labels = calloc(n + 1, sizeof(char *));
    if (!store->index_labels)
      goto fail;
    for (size_t i = 0; i < n; i++) {
      store->index_labels[i] = strdup(options->index_labels[i]);
      if (!store->index_labels[i])
        goto fail;
      store->index_label_count++;
    }
  }
  atomic_init(&store->bytes, store->bucket_count * sizeof(void *));
  return store;
fail:
  wfe_store_free(store);
  return NULL;
}

void wfe_store_free(struct wfe_store *store)
{
  if (!store)
    return;
  wfe_store_clear(store);
  for (size_t i = 0; i < store->index_label_count; i++)
    free(store->index_labels[i]);
  free(store->index_labels);
  free(store->buckets);
  pthread_rwlock_destroy(&store->lock);
  free(store);
}

static const char *string_at(json_object *obj, const char *section,
                             const char *field)
{
  json_object *metadata, *parent, *value;
  if (!json_object_object_get_ex(obj, "metadata", &metadata))
    return NULL;
  parent = metadata;
  if (section && !json_object_object_get_ex(metadata, section, &parent))
    return NULL;
  if (!json_object_object_get_ex(parent, field, &value) ||
      !json_object_is_type(value, json_type_string))
    return NULL;
  return json_object_get_string(value);
}

char *wfe_store_key_of(json_object *obj)
{
  const char *name = string_at(obj, NULL, "name");
  const char *ns = string_at(obj, NULL, "namespace");
  if (!name || !*name)
    return NULL;
  size_t name_len = strlen(name);
  size_t ns_len = ns ? strlen(ns) : 0;
  char *key = malloc(ns_len + 1 + name_len + 1);
  if (!key)
    return NULL;
  if (ns_len) {
    memcpy(key, ns, ns_len);
    key[ns_len] = '/';
    memcpy(key + ns_len + 1, name, name_len + 1);
  } else {
    memcpy(key, name, name_len + 1);
  }
  return key;
}

/* --- Items -------------------------------------------------------------- */

struct wfe_store_item *wfe_store_item_ref(struct wfe_store_item *item)
{
  if (item)
    atomic_fetch_add_explicit(&item->refs, 1, memory_order_relaxed);
  return item;
}

void wfe_store_item_release(struct wfe_store_item *item)
{
  if (item &&
      atomic_fetch_sub_explicit(&item->refs, 1, memory_order_acq_rel) == 1)
    free(item);
}

const char *wfe_store_item_key(const struct wfe_store_item *item)
{
  return item->key;
}

const char *wfe_store_item_namespace(const struct wfe_store_item *item)
{
  return item->namespace_name;
}

const char *wfe_store_item_name(const struct wfe_store_item *item)
{
  return item->name;
}

const char *wfe_store_item_uid(const struct wfe_store_item *item)
{
  return item->uid;
}

const char *wfe_store_item_resource_version(const struct wfe_store_item *item)
{
  return item->resource_version;
}

const char *wfe_store_item_json(const struct wfe_store_item *item, size_t *len)
{
  if (len)
    *len = item->json_len;
  return item->json;
}

int wfe_store_item_parse(const struct wfe_store_item *item, json_object **out)
{
  *out = wfe_json_parse(item->json, item->json_len);
  /* The text was written by json-c itself: only memory can fail here. */
  return *out ? 0 : WFE_E_NOMEM;
}

/* Index of `label` among the store's indexed labels, or -1. The label names
 * never change after wfe_store_new, so no lock is needed. */
static int label_slot(const struct wfe_store *store, const char *label)
{
  for (size_t i = 0; i < store->index_label_count; i++)
    if (strcmp(store->index_labels[i], label) == 0)
      return (int)i;
  return -1;
}

const char *wfe_store_item_label(const struct wfe_store_item *item,
                                 const char *label)
{
  int slot = label_slot(item->store, label);
  return slot < 0 ? NULL : item->labels[slot];
}

/* Builds an item from a (transformed) object; NULL on a missing name
 * (`*rc` WFE_E_INVALID) or out of memory (`*rc` WFE_E_NOMEM). */
static struct wfe_store_item *item_new(const struct wfe_store *store,
                                       json_object *obj, int *rc)
{
  const char *name = string_at(obj, NULL, "name");
  const char *ns = string_at(obj, NULL, "namespace");
  const char *uid = string_at(obj, NULL, "uid");
  const char *rv = string_at(obj, NULL, "resourceVersion");
  if (!name || !*name) {
    *rc = WFE_E_INVALID;
    return NULL;
  }
  ns = ns ? ns : "";
  uid = uid ? uid : "";
  rv = rv ? rv : "";
  size_t json_len = 0;
  const char *json = wfe_json_text(obj, &json_len);
  if (!json || json_len > UINT32_MAX) {
    *rc = WFE_E_NOMEM;
    return NULL;
  }

  size_t n = store->index_label_count;
  const char *label_values[WFE_STORE_MAX_INDEX_LABELS];
  size_t ns_len = strlen(ns), name_len = strlen(name);
  size_t key_len = ns_len ? ns_len + 1 + name_len : name_len;
  size_t strings = key_len + 1 + ns_len + 1 + strlen(uid) + 1 + strlen(rv) + 1 +
                   json_len + 1;
  for (size_t i = 0; i < n; i++) {
    label_values[i] = string_at(obj, "labels", store->index_labels[i]);
    if (label_values[i])
      strings += strlen(label_values[i]) + 1;
  }
  size_t size = sizeof(struct wfe_store_item) + n * sizeof(char *) + strings;
  struct wfe_store_item *item = malloc(size);
  if (!item) {
    *rc = WFE_E_NOMEM;
    return NULL;
  }
  atomic_init(&item->refs, 1);
  item->mark = 0;
  item->next = NULL;
  item->store = store;
  item->size = size;
  item->json_len = (uint32_t)json_len;

  char *p = (char *)&item->labels[n];
#define PUT(field, src, len)                                                   \
  do {                                                                         \
    memcpy(p, (src), (len));                                                   \
    p[(len)] = '\0';                                                           \
    (field) = p;                                                               \
    p += (len) + 1;                                                            \
  } while (0)
  char *key = p;
  if (ns_len) {
    memcpy(p, ns, ns_len);
    p[ns_len] = '/';
    memcpy(p + ns_len + 1, name, name_len);
  } else {
    memcpy(p, name, name_len);
  }
  p[key_len] = '\0';
  item->key = key;
  item->name = key + (ns_len ? ns_len + 1 : 0);
  p += key_len + 1;
  PUT(item->namespace_name, ns, ns_len);
  PUT(item->uid, uid, strlen(uid));
  PUT(item->resource_version, rv, strlen(rv));
  for (size_t i = 0; i < n; i++) {
    if (label_values[i])
      PUT(item->labels[i], label_values[i], strlen(label_values[i]));
    else
      item->labels[i] = NULL;
  }
  PUT(item->json, json, json_len);
#undef PUT
  item->hash = hash_key(item->key);
  return item;
}

/* --- Table -------------------------------------------------------------- */

/* The slot pointing at the item with `key`, or the empty slot at the end of
 * its chain. Callers hold the lock (either kind) or are the writer. */
static struct wfe_store_item **find_slot(const struct wfe_store *store,
                                         const char *key, uint32_t hash)
{
  struct wfe_store_item **slot =
      &store->buckets[hash & (store->bucket_count - 1)];
  while (*slot && ((*slot)->hash != hash || strcmp((*slot)->key, key) != 0))
    slot = &(*slot)->next;
  return slot;
}

/* Doubles the table; caller holds the write lock. On out of memory the
 * table stays as it is: longer chains, still correct. */
static void grow(struct wfe_store *store)
{
  size_t count = store->bucket_count * 2;
  struct wfe_store_item **buckets = calloc(count, sizeof(*buckets));
  if (!buckets)
    return;
  for (size_t i = 0; i < store->bucket_count; i++) {
    struct wfe_store_item *item = store->buckets[i], *next;
    for (; item; item = next) {
      next = item->next;
      struct wfe_store_item **head = &buckets[item->hash & (count - 1)];
      item->next = *head;
      *head = item;
    }
  }
  free(store->buckets);
  atomic_fetch_add(&store->bytes,
                   (count - store->bucket_count) * sizeof(void *));
  store->buckets = buckets;
  store->bucket_count = count;
}

size_t wfe_store_len(struct wfe_store *store)
{
  pthread_rwlock_rdlock(&store->lock);
  size_t count = store->count;
  pthread_rwlock_unlock(&store->lock);
  return count;
}

size_t wfe_store_bytes(struct wfe_store *store)
{
  return atomic_load(&store->bytes);
}

int wfe_store_get_item(struct wfe_store *store, const char *key,
                       struct wfe_store_item **out)
{
  pthread_rwlock_rdlock(&store->lock);
  struct wfe_store_item *item = *find_slot(store, key, hash_key(key));
  wfe_store_item_ref(item);
  pthread_rwlock_unlock(&store->lock);
  *out = item;
  return item ? 0 : WFE_E_NOT_FOUND;
}

int wfe_store_get(struct wfe_store *store, const char *key, json_object **out)
{
  struct wfe_store_item *item;
  *out = NULL;
  int rc = wfe_store_get_item(store, key, &item);
  if (rc == 0) {
    rc = wfe_store_item_parse(item, out);
    wfe_store_item_release(item);
  }
  return rc;
}

int wfe_store_list(struct wfe_store *store, const char *label,
                   const char *value, struct wfe_store_item ***out,
                   size_t *count)
{
  int slot = -1;
  *out = NULL;
  *count = 0;
  if (label && (slot = label_slot(store, label)) < 0)
    return WFE_E_INVALID;
  pthread_rwlock_rdlock(&store->lock);
  struct wfe_store_item **items =
      malloc((store->count ? store->count : 1) * sizeof(*items));
  if (!items) {
    pthread_rwlock_unlock(&store->lock);
    return WFE_E_NOMEM;
  }
  size_t n = 0;
  for (size_t i = 0; i < store->bucket_count; i++) {
    for (struct wfe_store_item *item = store->buckets[i]; item;
         item = item->next) {
      if (slot >= 0 && (!item->labels[slot] || !value ||
                        strcmp(item->labels[slot], value) != 0))
        continue;
      items[n++] = wfe_store_item_ref(item);
    }
  }
  pthread_rwlock_unlock(&store->lock);
  *out = items;
  *count = n;
  return 0;
}

void wfe_store_items_release(struct wfe_store_item **items, size_t count)
{
  if (!items)
    return;
  for (size_t i = 0; i < count; i++)
    wfe_store_item_release(items[i]);
  free(items);
}

/* --- Writer ------------------------------------------------------------- */

int wfe_store_upsert(struct wfe_store *store, json_object *obj,
                     enum wfe_store_change *change, struct wfe_store_item **old)
{
  int rc = 0;
  *change = WFE_STORE_UNCHANGED;
  if (old)
    *old = NULL;

  /* The writer is the only thread that changes the table, so it may look
   * without the lock. */
  char *key = wfe_store_key_of(obj);
  if (!key)
    return string_at(obj, NULL, "name") ? WFE_E_NOMEM : WFE_E_INVALID;
  uint32_t hash = hash_key(key);
  struct wfe_store_item *cached = *find_slot(store, key, hash);
  free(key);
  if (cached) {
    const char *rv = string_at(obj, NULL, "resourceVersion");
    if (rv && *rv && strcmp(rv, cached->resource_version) == 0) {
      cached->mark = store->generation;
      return 0;
    }
  }

  struct wfe_store_item *item = item_new(store, obj, &rc);
  if (!item)
    return rc;
  item->mark = store->generation;

  pthread_rwlock_wrlock(&store->lock);
  struct wfe_store_item **slot = find_slot(store, item->key, item->hash);
  struct wfe_store_item *replaced = *slot;
  if (replaced) {
    item->next = replaced->next;
    replaced->next = NULL;
  } else {
    store->count++;
  }
  *slot = item;
  if (store->count > store->bucket_count)
    grow(store);
  pthread_rwlock_unlock(&store->lock);

  atomic_fetch_add(&store->bytes, item->size);
  if (replaced) {
    atomic_fetch_sub(&store->bytes, replaced->size);
    *change = WFE_STORE_UPDATED;
    if (old)
      *old = replaced; /* the table's reference moves to the caller */
    else
      wfe_store_item_release(replaced);
  } else {
    *change = WFE_STORE_ADDED;
  }
  return 0;
}

/* Unlinks the item at `slot`; caller holds the write lock. Returns it with
 * the table's reference. */
static struct wfe_store_item *unlink_slot(struct wfe_store *store,
                                          struct wfe_store_item **slot)
{
  struct wfe_store_item *item = *slot;
  *slot = item->next;
  item->next = NULL;
  store->count--;
  atomic_fetch_sub(&store->bytes, item->size);
  return item;
}

int wfe_store_remove(struct wfe_store *store, json_object *obj,
                     struct wfe_store_item **old)
{
  struct wfe_store_item *removed = NULL;
  if (old)
    *old = NULL;
  char *key = wfe_store_key_of(obj);
  if (!key)
    return string_at(obj, NULL, "name") ? WFE_E_NOMEM : WFE_E_INVALID;
  uint32_t hash = hash_key(key);
  pthread_rwlock_wrlock(&store->lock);
  struct wfe_store_item **slot = find_slot(store, key, hash);
  if (*slot)
    removed = unlink_slot(store, slot);
  pthread_rwlock_unlock(&store->lock);
  free(key);
  if (old)
    *old = removed;
  else
    wfe_store_item_release(removed);
  return 0;
}

void wfe_store_relist_begin(struct wfe_store *store)
{
  store->generation++;
}

/* Unlinks every item not marked by the current relist (every item when
 * `everything`) into a list, chained through `next`, for the caller. */
static struct wfe_store_item *unlink_unmarked(struct wfe_store *store,
                                              int everything)
{
  struct wfe_store_item *removed = NULL;
  pthread_rwlock_wrlock(&store->lock);
  for (size_t i = 0; i < store->bucket_count; i++) {
    struct wfe_store_item **slot = &store->buckets[i];
    while (*slot) {
      if (!everything && (*slot)->mark == store->generation) {
        slot = &(*slot)->next;
        continue;
      }
      struct wfe_store_item *item = unlink_slot(store, slot);
      item->next = removed;
      removed = item;
    }
  }
  pthread_rwlock_unlock(&store->lock);
  return removed;
}

void wfe_store_relist_end(struct wfe_store *store,
                          void (*deleted)(void *ctx,
                                          struct wfe_store_item *item),
                          void *ctx)
{
  struct wfe_store_item *item = unlink_unmarked(store, 0), *next;
  /* Callbacks run without the lock: a handler may read the store. The
   * `next` links belong to this list now, no longer to the table. */
  for (; item; item = next) {
    next = item->next;
    item->next = NULL;
    if (deleted)
      deleted(ctx, item);
    wfe_store_item_release(item);
  }
}

void wfe_store_clear(struct wfe_store *store)
{
  struct wfe_store_item *item = unlink_unmarked(store, 1), *next;
  for (; item; item = next) {
    next = item->next;
    wfe_store_item_release(item);
  }
}
