/*
 * The watch/cache layer: one informer per watched resource type and scope,
 * like client-go's shared informer or kube-rs's watcher -> reflector store.
 * A reflector thread lists (paged), then watches from the list's
 * resourceVersion with bookmarks, re-watches from the last seen
 * resourceVersion when a stream ends or goes silent, relists on 410 Gone,
 * and reconnects with backoff on errors. It is the only writer of the
 * informer's store (store.h), which reconciler workers read; after each
 * change of the store it calls the event handlers.
 *
 * It knows nothing about the objects it caches. Mapping an event to
 * work-queue keys is the handler's business;
 * wfe_informer_keys_on_event is a ready-made handler for that.
 *
 * The first list reports every object as ADDED before has_synced turns
 * true; a controller starts its workers after wfe_informer_wait_synced, so
 * nothing is reconciled against a partial cache.
 *
 * Threading: new/free/start/stop/add_handler from one controlling thread;
 * every other function is thread-safe. Handlers run on the reflector thread,
 * one at a time, and must not block for long (enqueue and return).
 */
#ifndef WFE_KUBE_INFORMER_H
#define WFE_KUBE_INFORMER_H

#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "error.h"
#include "kube_client.h"
#include "store.h"

struct wfe_informer;
struct wfe_metrics;

enum wfe_informer_event_type {
  WFE_INFORMER_ADDED,
  WFE_INFORMER_UPDATED,
  WFE_INFORMER_DELETED,
};

/*
 * An event, called after the store holds the new state. `obj` is the new
 * state (ADDED, UPDATED) or the last state (DELETED); `old` is the replaced
 * state for UPDATED, else NULL. Both are borrowed for the call (take a
 * reference with json_object_get to keep one) and already transformed.
 * `final_state_unknown` is non-zero for a DELETED found by a relist: the
 * object vanished while the watch was away, `obj` is the last cached state
 * (client-go's DeletedFinalStateUnknown).
 */
typedef void (*wfe_informer_event_fn)(void *ctx,
                                      enum wfe_informer_event_type type,
                                      json_object *obj, json_object *old,
                                      int final_state_unknown);

struct wfe_informer_options {
  /* The watched type; copied. */
  struct wfe_resource resource;
  /* NULL: all namespaces (or cluster-scoped); else one namespace. */
  const char *namespace_name;
  const char *label_selector; /* NULL for none */
  const char *field_selector; /* NULL for none */
  /* The "resource" label of the metrics and the name in errors; default
   * the resource's plural. */
  const char *name;
  long page_size; /* list limit; 0 = 500 */
  /* Server-side watch timeout, picked at random in [min, max] seconds for
   * every watch request; 0 = client-go's 300..600. */
  long watch_timeout_min_s;
  long watch_timeout_max_s;
  /* A stream silent for this long is dropped and resumed; 0 = the
   * client's default (the watch timeout + 30 s). Bookmarks arrive about
   * every minute, so an idle timeout under that drops healthy streams. */
  long idle_timeout_ms;
  /* Reconnect backoff; 0 = client-go's reflector: 800 ms doubling to 30 s,
   * jittered, forgotten after 2 min without failure. */
  long backoff_base_ms;
  long backoff_cap_ms;
  long backoff_reset_ms;
  /* Called on every object before it is stored and reported, after
   * metadata.managedFields is stripped (unless keep_managed_fields). May
   * return an error to drop the object. NULL for none. */
  wfe_store_transform_fn transform;
  void *transform_ctx;
  int keep_managed_fields;
  /* Label keys the store indexes (store.h); NULL-terminated, may be NULL. */
  const char *const *index_labels;
  /* wfe_informer_{relists,watch_restarts}_total{resource} and
   * wfe_informer_objects{resource}; may be NULL. Must outlive the informer. */
  struct wfe_metrics *metrics;
};

/*
 * A stopped informer over `client` (borrowed; must outlive it). Options are
 * copied. Returns 0, WFE_E_INVALID or WFE_E_NOMEM.
 */
int wfe_informer_new(struct wfe_kube_client *client,
                     const struct wfe_informer_options *options,
                     struct wfe_informer **out, struct wfe_error *err);
/* Stops the informer and frees it with its store. Accepts NULL. */
void wfe_informer_free(struct wfe_informer *informer);

/* Adds a handler, before the first start only (else WFE_E_INVALID).
 * Handlers run in the order added. Returns 0, WFE_E_INVALID, WFE_E_NOMEM. */
int wfe_informer_add_handler(struct wfe_informer *informer,
                             wfe_informer_event_fn fn, void *ctx);

/*
 * Starts the reflector thread. A first start lists; a start after stop
 * resumes the watch from the last resourceVersion with the cache as it was
 * (and relists if that resourceVersion has expired). Returns 0,
 * WFE_E_INVALID (already running) or WFE_E_NOMEM.
 */
int wfe_informer_start(struct wfe_informer *informer, struct wfe_error *err);
/* Asks the reflector to stop and joins it (within ~100 ms plus the longest
 * running handler). Does nothing when stopped. */
void wfe_informer_stop(struct wfe_informer *informer);

/* Non-zero once the first complete list is in the store; never goes back. */
int wfe_informer_has_synced(struct wfe_informer *informer);
/* Waits until synced: 0, or WFE_E_UNAVAILABLE when `timeout_ms` passed
 * first (< 0: no limit) or the informer is not running. */
int wfe_informer_wait_synced(struct wfe_informer *informer, long timeout_ms);

/* The cache (read it from any thread). Owned by the informer. */
struct wfe_store *wfe_informer_store(struct wfe_informer *informer);

struct wfe_informer_stats {
  uint64_t lists;          /* complete lists, the first one included */
  uint64_t relists;        /* lists after the first (410s, failed lists) */
  uint64_t watch_restarts; /* watches that resumed from a resourceVersion */
  uint64_t events;         /* handler events reported */
  uint64_t errors;         /* failed lists and watches */
};
void wfe_informer_get_stats(struct wfe_informer *informer,
                            struct wfe_informer_stats *out);

/* The last resourceVersion seen (list, event or bookmark), copied into
 * `out` ("" before the first list). Returns 0 or WFE_E_NOMEM. */
int wfe_informer_resource_version(struct wfe_informer *informer,
                                  struct wfe_buf *out);

/*
 * While stopped: the next start watches from `resource_version` instead of
 * the last seen one. For tests and tools that need a watch to begin from an
 * old (expired) resourceVersion. Returns 0, WFE_E_INVALID (running) or
 * WFE_E_NOMEM.
 */
int wfe_informer_set_resource_version(struct wfe_informer *informer,
                                      const char *resource_version);

/* --- From events to work-queue keys ------------------------------------- */

/*
 * The default transform: removes metadata.managedFields. Exposed so a custom
 * transform can build on it.
 */
int wfe_informer_strip_managed_fields(void *ctx, json_object *obj);

/* The object's own key, "namespace/name" or "name", appended to `out`.
 * Returns 0, WFE_E_INVALID (no name) or WFE_E_NOMEM. */
int wfe_object_key(json_object *obj, struct wfe_buf *out);

/*
 * The key of the object another one points at through its labels or
 * annotations, e.g. a run labelled with its owner's namespace and name:
 * "<metadata.labels|annotations[namespace_key]>/<...[name_key]>". Labels are
 * looked up first, then annotations. `namespace_key` NULL means the owner
 * lives in the object's own namespace. Returns 0, WFE_E_NOT_FOUND (no such
 * label/annotation), WFE_E_NOMEM.
 */
int wfe_object_key_from_metadata(json_object *obj, const char *namespace_key,
                                 const char *name_key, struct wfe_buf *out);

/*
 * The key of the object's controller owner (ownerReferences entry with
 * controller=true) when its kind is `owner_kind`; owners share the object's
 * namespace. Returns 0, WFE_E_NOT_FOUND, WFE_E_NOMEM.
 */
int wfe_object_owner_key(json_object *obj, const char *owner_kind,
                         struct wfe_buf *out);

/*
 * A handler that maps objects to keys and enqueues them. Use with
 * wfe_informer_add_handler(informer, wfe_informer_keys_on_event, &keys).
 * For an update both the old and the new object are mapped, so a key that
 * changed (a relabelled run) reaches both owners; the same key twice is
 * enqueued once.
 */
struct wfe_informer_keys {
  /* Appends the key of `obj` to `key`; returns 0 to enqueue it, non-zero to
   * skip the object. NULL means wfe_object_key. */
  int (*map)(void *ctx, json_object *obj, struct wfe_buf *key);
  void *map_ctx;
  /* Receives each key (borrowed for the call); e.g. a work-queue add. */
  void (*enqueue)(void *ctx, const char *key);
  void *enqueue_ctx;
};
void wfe_informer_keys_on_event(void *ctx, enum wfe_informer_event_type type,
                                json_object *obj, json_object *old,
                                int final_state_unknown);

#endif
