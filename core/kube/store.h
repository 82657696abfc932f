/*
 * The informer's cache: the last known state of every object of one watched
 * resource, keyed "namespace/name" ("name" when cluster-scoped). One writer
 * (the informer's reflector thread) and any number of readers (reconciler
 * workers); a reader never waits for a list or a parse, only for a pointer
 * swap.
 *
 * Memory is the point of the layout: an object is kept as its compact JSON
 * text plus the few fields the cache needs (key, uid, resourceVersion, the
 * values of the indexed labels), all in one allocation. A json-c tree costs
 * several times its text, so readers get a fresh tree parsed on demand, or
 * the text itself through a reference-counted item.
 *
 * Threading: the functions under "Readers" are thread-safe. The functions
 * under "Writer" must be called from one thread at a time (the reflector);
 * they may run concurrently with readers.
 */
#ifndef WFE_KUBE_STORE_H
#define WFE_KUBE_STORE_H

#include <stddef.h>

#include <json-c/json.h>

#include "error.h"

struct wfe_store;

/*
 * One cached object: immutable once published, shared by reference. Every
 * pointer it hands out lives as long as the caller's reference.
 */
struct wfe_store_item;

/*
 * Strips fields before an object is stored and handed to handlers (like
 * controller-runtime's cache transform). Changes `obj` in place. Returns 0,
 * or a negative WFE_E_* to drop the object (it is then neither stored nor
 * reported).
 */
typedef int (*wfe_store_transform_fn)(void *ctx, json_object *obj);

#define WFE_STORE_MAX_INDEX_LABELS 8

struct wfe_store_options {
  /* Label keys to index, NULL-terminated, at most WFE_STORE_MAX_INDEX_LABELS;
   * may be NULL. Their values are kept beside the text so wfe_store_list can
   * filter without parsing. The array and strings are copied. */
  const char *const *index_labels;
};

/* Returns NULL when out of memory or given too many index labels.
 * `options` may be NULL. */
struct wfe_store *wfe_store_new(const struct wfe_store_options *options);
/* Frees the store; items still referenced by readers stay valid until they
 * are released. Accepts NULL. */
void wfe_store_free(struct wfe_store *store);

/* The cache key of an object: "namespace/name", or "name" without a
 * namespace. Returns a malloc'ed string the caller frees, or NULL when the
 * object has no metadata.name or memory ran out. */
char *wfe_store_key_of(json_object *obj);

/* --- Readers (thread-safe) --------------------------------------------- */

/* Number of cached objects. */
size_t wfe_store_len(struct wfe_store *store);

/*
 * A freshly parsed copy of the cached object in `*out`, owned by the caller
 * (json_object_put). Returns 0, WFE_E_NOT_FOUND, or WFE_E_NOMEM.
 */
int wfe_store_get(struct wfe_store *store, const char *key, json_object **out);

/*
 * A new reference to the cached item in `*out`; release it with
 * wfe_store_item_release. Cheaper than wfe_store_get when only the text or
 * the indexed fields are needed. Returns 0 or WFE_E_NOT_FOUND.
 */
int wfe_store_get_item(struct wfe_store *store, const char *key,
                       struct wfe_store_item **out);

/*
 * A snapshot of the cache: an array of new item references in `*out`
 * (`*count` entries, in no particular order), to free with
 * wfe_store_items_release. With `label` non-NULL only items whose label
 * `label` equals `value` are returned; `label` must be one of the indexed
 * labels (else WFE_E_INVALID). Linear in the size of the cache; parses
 * nothing. Returns 0, WFE_E_INVALID or WFE_E_NOMEM.
 */
int wfe_store_list(struct wfe_store *store, const char *label,
                   const char *value, struct wfe_store_item ***out,
                   size_t *count);
void wfe_store_items_release(struct wfe_store_item **items, size_t count);

/* Adds a reference to / drops a reference from an item. Accept NULL. */
struct wfe_store_item *wfe_store_item_ref(struct wfe_store_item *item);
void wfe_store_item_release(struct wfe_store_item *item);

/* Fields of an item, owned by it. The namespace is "" when cluster-scoped;
 * uid and resource_version are "" when the object has none; a label value is
 * NULL when the object has no such label or it is not indexed; label
 * lookups need the store to be alive, the other fields do not. */
const char *wfe_store_item_key(const struct wfe_store_item *item);
const char *wfe_store_item_namespace(const struct wfe_store_item *item);
const char *wfe_store_item_name(const struct wfe_store_item *item);
const char *wfe_store_item_uid(const struct wfe_store_item *item);
const char *wfe_store_item_resource_version(const struct wfe_store_item *item);
const char *wfe_store_item_label(const struct wfe_store_item *item,
                                 const char *label);
/* The compact JSON text and its length (NUL-terminated). */
const char *wfe_store_item_json(const struct wfe_store_item *item, size_t *len);
/* Parses the text into a new json-c tree the caller owns. Returns 0 or
 * WFE_E_NOMEM. */
int wfe_store_item_parse(const struct wfe_store_item *item, json_object **out);

/* Bytes held for the cached objects (items and table), for metrics and the
 * benchmark. */
size_t wfe_store_bytes(struct wfe_store *store);

/* --- Writer (one thread) ----------------------------------------------- */

/* What a write did to the cache. */
enum wfe_store_change {
  WFE_STORE_UNCHANGED, /* same resourceVersion as cached: nothing reported */
  WFE_STORE_ADDED,
  WFE_STORE_UPDATED,
  WFE_STORE_DELETED,
};

/*
 * Stores `obj` (borrowed; already transformed) under its key, replacing the
 * cached item. `*change` says what happened; when `old` is non-NULL and the
 * object replaced a cached one, `*old` is a reference to the replaced item
 * (release it), else NULL. An object with the cached resourceVersion is
 * UNCHANGED (during a relist it is still marked as listed). Returns 0,
 * WFE_E_INVALID (no name) or WFE_E_NOMEM.
 */
int wfe_store_upsert(struct wfe_store *store, json_object *obj,
                     enum wfe_store_change *change,
                     struct wfe_store_item **old);

/*
 * Removes the object's key. `*old` receives the removed item (release it),
 * or NULL when the key was not cached. Returns 0 or WFE_E_INVALID.
 */
int wfe_store_remove(struct wfe_store *store, json_object *obj,
                     struct wfe_store_item **old);

/*
 * A relist, as kube-rs's Init / InitApply... / InitDone: relist_begin, then
 * wfe_store_upsert for every listed object, then relist_end. relist_end
 * removes whatever was cached but not upserted since relist_begin and hands
 * the removed items to `deleted` (the item is borrowed for the call), once
 * each. Readers see a mix of old and new objects during a relist, never a
 * missing one that still exists. A relist that fails half way is simply
 * followed by another relist_begin.
 */
void wfe_store_relist_begin(struct wfe_store *store);
void wfe_store_relist_end(struct wfe_store *store,
                          void (*deleted)(void *ctx,
                                          struct wfe_store_item *item),
                          void *ctx);

/* Removes every item (no callbacks). */
void wfe_store_clear(struct wfe_store *store);

#endif
