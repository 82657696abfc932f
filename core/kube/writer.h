/*
 * Writing objects safely: status through the /status subresource with the
 * observed resourceVersion (a 409 Conflict re-reads the object and re-applies
 * the caller's change), and finalizers through JSON patches guarded by a
 * `test` op, so two writers racing never lose or duplicate an entry. Every
 * write first asks a gate -- the leader elector -- and is refused when this
 * process may not write. Knows the API's conventions, no resource in
 * particular.
 *
 * Thread-safety: every function may be called from any thread (the client
 * is thread-safe); callbacks run on the caller's thread.
 */
#ifndef WFE_KUBE_WRITER_H
#define WFE_KUBE_WRITER_H

#include <json-c/json.h>

#include "error.h"

struct wfe_kube_client;
struct wfe_resource;

/* Non-zero when this process may write now. wfe_leader_gate fits. */
typedef int (*wfe_write_gate_fn)(void *ctx);

struct wfe_write_options {
  /* Asked before every write request; when it answers 0 the function fails
   * with WFE_E_UNAVAILABLE, reason "NotLeader". NULL: always allowed. */
  wfe_write_gate_fn gate;
  void *gate_ctx;
  /* Write requests tried before a run of conflicts is given up, default 5.
   * Between them: jittered backoff from backoff_base_ms (default 20),
   * doubling up to backoff_cap_ms (default 1000). */
  int max_attempts;
  long backoff_base_ms;
  long backoff_cap_ms;
};

/* What a mutation callback answers. */
enum wfe_mutate_result {
  WFE_MUTATE_SKIP = 0,  /* the object already says it: write nothing */
  WFE_MUTATE_WRITE = 1, /* changed: write it */
};

/*
 * Applies the wanted change to `obj`, a private copy of the newest object
 * read, and decides whether it is still needed: WFE_MUTATE_WRITE,
 * WFE_MUTATE_SKIP, or a negative WFE_E_* (with `err` filled) to abort.
 * Called again on a fresh copy after every conflict.
 */
typedef int (*wfe_mutate_fn)(void *ctx, json_object *obj,
                             struct wfe_error *err);

/*
 * Writes the status of `namespace_name`/`name` (NULL namespace for cluster
 * scope): mutates a copy of `observed` (borrowed; NULL reads the object
 * first) and PUTs it to the /status subresource with its resourceVersion.
 * Only the status is written; the API server ignores other changes there.
 * On 409 Conflict: backoff, GET, mutate again, retry, at most max_attempts
 * writes.
 *
 * `out` (may be NULL) receives the object as written, or on SKIP the
 * newest object read; the caller puts it. `out_writes` (may be NULL)
 * receives the number of write requests sent, conflicts included, also on
 * failure. Returns 0, the mutation's error, WFE_E_UNAVAILABLE "NotLeader",
 * WFE_E_INVALID with http_status 409 after max_attempts conflicts, or the
 * client's error.
 */
int wfe_write_status(struct wfe_kube_client *client,
                     const struct wfe_resource *res, const char *namespace_name,
                     const char *name, json_object *observed,
                     wfe_mutate_fn mutate, void *ctx,
                     const struct wfe_write_options *options, json_object **out,
                     int *out_writes, struct wfe_error *err);

/*
 * Adds `finalizer` to metadata.finalizers unless it is there already (then
 * nothing is written). A JSON patch that tests the finalizers read (or the
 * resourceVersion when there are none) then appends; when the test fails
 * because someone else wrote meanwhile, the object is read again and the
 * decision made again. `options`, `out`, `out_writes` as for
 * wfe_write_status; NOT_FOUND when the object is gone.
 */
int wfe_finalizer_add(struct wfe_kube_client *client,
                      const struct wfe_resource *res,
                      const char *namespace_name, const char *name,
                      const char *finalizer,
                      const struct wfe_write_options *options,
                      json_object **out, int *out_writes,
                      struct wfe_error *err);

/* Removes every occurrence of `finalizer` (one per write, each at its
 * tested index); nothing is written when it is absent. As above. */
int wfe_finalizer_remove(struct wfe_kube_client *client,
                         const struct wfe_resource *res,
                         const char *namespace_name, const char *name,
                         const char *finalizer,
                         const struct wfe_write_options *options,
                         json_object **out, int *out_writes,
                         struct wfe_error *err);

#endif
