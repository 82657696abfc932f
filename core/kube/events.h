/*
 * The Kubernetes Event recorder: what the controller did to an object, for
 * `kubectl describe` and `kubectl get events`. Recording never blocks the
 * caller: events go to a bounded queue written by one thread, and when the
 * queue is full the event is dropped and counted. Repeats are aggregated as
 * client-go does: the same (object, type, reason, message) seen again within
 * the aggregation window updates the existing Event's series (count and
 * last observed time) by a PATCH instead of creating another Event.
 *
 * Events are written as events.k8s.io/v1: the current Events API, the one
 * client-go's tools/events recorder writes. It carries reportingController
 * and reportingInstance as first-class fields and aggregation as `series`;
 * the API server serves every Event under both groups, so `kubectl get
 * events` and `kubectl describe` show them all the same. RBAC: create and
 * patch on events in the events.k8s.io group.
 *
 * Thread-safety: wfe_event_record, wfe_event_recorder_flush and
 * wfe_event_recorder_dropped may be called from any thread; new and free
 * from one.
 */
#ifndef WFE_KUBE_EVENTS_H
#define WFE_KUBE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "error.h"

struct wfe_kube_client;
struct wfe_metrics;
struct wfe_event_recorder;

/* The API's limit on an Event's note (events.k8s.io/v1 validation,
 * NoteLengthLimit), in bytes. Longer messages are cut to fit and end with
 * "...". */
#define WFE_EVENT_NOTE_MAX 1024

/*
 * Where events go. The default writes to the API server through the client;
 * unit tests plug in a fake. Both functions run on the recorder's thread.
 * create: `event` is an events.k8s.io/v1 Event (borrowed); a name clash is
 * WFE_E_INVALID with reason "AlreadyExists". patch: a JSON merge patch on
 * Event `name`; a vanished Event is WFE_E_NOT_FOUND.
 */
struct wfe_event_sink {
  int (*create)(void *ctx, const char *namespace_name, json_object *event,
                struct wfe_error *err);
  int (*patch)(void *ctx, const char *namespace_name, const char *name,
               const char *merge_patch, struct wfe_error *err);
  void *ctx;
};

struct wfe_event_recorder_options {
  /* reportingController, default "wfe-controller". (core/v1 readers see
   * it as reportingComponent; source.component is for old-style Events
   * only: the API refuses deprecatedSource on an events.k8s.io/v1 Event.) */
  const char *reporting_controller;
  /* reportingInstance: the leader identity; default the host name. At most
   * 128 bytes are used. */
  const char *reporting_instance;
  /* Events waiting to be written, default 1000; beyond that, dropped. */
  size_t queue_size;
  /* Aggregated series remembered, default 4096 (oldest idle forgotten). */
  size_t cache_size;
  /* A repeat later than this after the last occurrence starts a new Event.
   * Default 6 minutes, client-go's series finish time. */
  long aggregation_window_ms;
  /* How long free() waits for queued events to be written, default 5000. */
  long shutdown_timeout_ms;
  /* Asked before every write; 0 drops the event (a standby or a lost leader
   * must not write). NULL: always write. wfe_leader_gate fits. */
  int (*gate)(void *gate_ctx);
  void *gate_ctx;
  /* event_recorder_dropped_total; NULL for none. */
  struct wfe_metrics *metrics;
  /* NULL: write through `client`. */
  const struct wfe_event_sink *sink;
};

/* `client` is borrowed and must outlive the recorder (it may be NULL when a
 * sink is given). `options` may be NULL; its strings are copied. */
int wfe_event_recorder_new(struct wfe_kube_client *client,
                           const struct wfe_event_recorder_options *options,
                           struct wfe_event_recorder **out,
                           struct wfe_error *err);

/*
 * Queues an event about `involved_object`: either an ObjectReference
 * (apiVersion, kind, namespace, name, uid, resourceVersion) or the object
 * itself (then the reference is read from apiVersion, kind and metadata).
 * `type` is "Normal" or "Warning"; `reason` is CamelCase (also used as the
 * Event's action). Everything is copied; never blocks on I/O. Returns 0,
 * WFE_E_INVALID for a bad argument, or WFE_E_UNAVAILABLE when the event was
 * dropped (queue full, shutting down). [thread-safe]
 */
int wfe_event_record(struct wfe_event_recorder *recorder,
                     json_object *involved_object, const char *type,
                     const char *reason, const char *message);

/* Waits until every queued event is written (or given up). Returns 0, or
 * WFE_E_UNAVAILABLE after `timeout_ms`. [thread-safe] */
int wfe_event_recorder_flush(struct wfe_event_recorder *recorder,
                             long timeout_ms);

/* Events dropped so far (queue full, shutdown, gate closed, API refused). */
uint64_t wfe_event_recorder_dropped(struct wfe_event_recorder *recorder);

/* The latest write that failed (e.g. Forbidden: RBAC lacks events), for
 * the caller to log: returns its WFE_E_* code and fills `out` (may be
 * NULL), or returns 0 when no write failed. [thread-safe] */
int wfe_event_recorder_last_error(struct wfe_event_recorder *recorder,
                                  struct wfe_error *out);

/* Flushes for at most shutdown_timeout_ms (plus a request in flight), then
 * stops the thread and frees. Accepts NULL. */
void wfe_event_recorder_free(struct wfe_event_recorder *recorder);

/* --- Pure parts, exposed for unit tests ---------------------------------- */

/* The note for `message`: unchanged when it fits WFE_EVENT_NOTE_MAX, else
 * cut at a UTF-8 character boundary and ended with "...". New string, the
 * caller frees; NULL on out of memory. */
char *wfe_event_note(const char *message);

/* The aggregation key of an event: the object (its uid, else apiVersion,
 * kind, namespace and name), type, reason and note. Appends to `out`.
 * Returns 0, WFE_E_INVALID (no object name or kind) or WFE_E_NOMEM. */
int wfe_event_key(json_object *involved_object, const char *type,
                  const char *reason, const char *note, struct wfe_buf *out);

#endif
