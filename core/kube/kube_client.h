/*
 * The Kubernetes API client: REST calls and watch streams on any
 * group/version/resource, over one shared pool of verified TLS connections.
 * It knows HTTP and the API's conventions (Status errors, resourceVersion,
 * retries with backoff) and nothing about the objects it moves. Every
 * function is thread-safe; one client is shared by every thread of the
 * process.
 *
 * Objects travel as json-c objects. Ownership: an `obj` argument is borrowed;
 * an `out` object is a new reference the caller must json_object_put.
 * Errors: 0, or a negative WFE_E_* code with `err` filled; when the API server
 * answered with a Status, err->http_status is its code, err->reason its
 * reason ("NotFound", "AlreadyExists", "Conflict", "Forbidden", "Expired",
 * ...) and err->message its message. Mapping: 404 -> WFE_E_NOT_FOUND,
 * 400/403/409/410/422 -> WFE_E_INVALID, 401 -> WFE_E_INVALID,
 * 429/5xx/transport -> WFE_E_UNAVAILABLE with retryable set, except a
 * failed TLS verification (reason "TLSVerificationFailed"), which is
 * WFE_E_INVALID: retrying cannot fix a wrong CA. A 401 makes the client read
 * a token file (or run an exec plugin) again once before it gives up.
 */
#ifndef WFE_KUBE_KUBE_CLIENT_H
#define WFE_KUBE_KUBE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "error.h"

struct wfe_kube_config; /* kubeconfig.h */
struct wfe_kube_client;
struct wfe_metrics; /* metrics.h; may be NULL */

/* A resource type: "v1"/"configmaps" or "batch/v1"/"jobs". */
struct wfe_resource {
  const char *api_version; /* "v1" for the core group, else "group/version" */
  const char *resource;    /* plural, lowercase */
  int namespaced;          /* non-zero for namespaced resources */
};

struct wfe_kube_client_options {
  /* Per-request timeout (not for watches), default 30000. */
  long request_timeout_ms;
  /* Retries of 429, 5xx and transport errors: 0 means 5, negative none. */
  int max_retries;
  /* Backoff between retries: base and cap, default 200 ms and 10 s, jittered;
   * a Retry-After header overrides the base. */
  long backoff_base_ms;
  long backoff_cap_ms;
  /* How often a token file is re-read, default (0) 60 s; a negative value
   * re-reads it for every request. */
  long token_reread_seconds;
  /* User-Agent, default "wfe-controller/<version>". */
  const char *user_agent;
  /* Counts rest_client_requests_total{code,method,host}; may be NULL. */
  struct wfe_metrics *metrics;
};

/* `config` is copied; the client does not keep the pointer. */
int wfe_kube_client_new(const struct wfe_kube_config *config,
                        const struct wfe_kube_client_options *options,
                        struct wfe_kube_client **out, struct wfe_error *err);
void wfe_kube_client_free(struct wfe_kube_client *client);

/* The default namespace of the configuration (in-cluster: the pod's). */
const char *wfe_kube_client_namespace(const struct wfe_kube_client *client);

/* --- REST ---------------------------------------------------------------
 * `namespace_name` is NULL for cluster-scoped resources or, for list and
 * watch, for all namespaces. `subresource` is NULL or e.g. "status". */

int wfe_kube_get(struct wfe_kube_client *client, const struct wfe_resource *res,
                 const char *namespace_name, const char *name,
                 json_object **out, struct wfe_error *err);

struct wfe_list_options {
  const char *label_selector; /* NULL for none */
  const char *field_selector; /* NULL for none */
  long limit;                 /* page size; 0 means 500 */
  int first_page_only;        /* stop after one page (probes, samples) */
};

/*
 * Lists every page (following `continue`). Calls `item` for each object in
 * order (the object is borrowed for the call; `item` may be NULL). On
 * success stores the list's
 * resourceVersion in `out_resource_version` (caller frees) when non-NULL.
 * A non-zero return from `item` stops the listing and is returned.
 */
int wfe_kube_list(struct wfe_kube_client *client,
                  const struct wfe_resource *res, const char *namespace_name,
                  const struct wfe_list_options *options,
                  int (*item)(void *ctx, json_object *obj), void *ctx,
                  char **out_resource_version, struct wfe_error *err);

/* POST with fieldValidation=Strict. */
int wfe_kube_create(struct wfe_kube_client *client,
                    const struct wfe_resource *res, const char *namespace_name,
                    json_object *obj, json_object **out, struct wfe_error *err);

/* PUT of the whole object (or of `subresource`); the object's
 * metadata.resourceVersion makes it conditional (409 when stale). */
int wfe_kube_update(struct wfe_kube_client *client,
                    const struct wfe_resource *res, const char *namespace_name,
                    const char *name, const char *subresource, json_object *obj,
                    json_object **out, struct wfe_error *err);

enum wfe_patch_type {
  WFE_PATCH_MERGE, /* application/merge-patch+json */
  WFE_PATCH_JSON,  /* application/json-patch+json */
};

int wfe_kube_patch(struct wfe_kube_client *client,
                   const struct wfe_resource *res, const char *namespace_name,
                   const char *name, const char *subresource,
                   enum wfe_patch_type type, const char *patch,
                   json_object **out, struct wfe_error *err);

struct wfe_delete_options {
  const char *precondition_uid;              /* NULL for none */
  const char *precondition_resource_version; /* NULL for none */
  const char *propagation_policy; /* "Background", "Foreground", NULL */
};

/* A missing object is WFE_E_NOT_FOUND; callers that only want it gone
 * treat that as success. */
int wfe_kube_delete(struct wfe_kube_client *client,
                    const struct wfe_resource *res, const char *namespace_name,
                    const char *name, const struct wfe_delete_options *options,
                    struct wfe_error *err);

/* --- Watch ----------------------------------------------------------------
 * One watch request: streams events until the server ends it (timeout), the
 * handler asks to stop, `stop` becomes non-zero, or the stream is silent for
 * longer than `idle_timeout_ms`. The informer (informer.h) turns this into
 * list-then-watch with relists and reconnects; most code uses that. */

enum wfe_watch_event_type {
  WFE_WATCH_ADDED,
  WFE_WATCH_MODIFIED,
  WFE_WATCH_DELETED,
  WFE_WATCH_BOOKMARK,
  WFE_WATCH_ERROR, /* obj is a Status; code 410 means the RV expired */
};

struct wfe_watch_options {
  const char *label_selector; /* NULL for none */
  const char *field_selector; /* NULL for none */
  /* Start after this. NULL: the server first sends the current state as
   * synthetic ADDED events, then changes (so list, then watch from the
   * list's resourceVersion). */
  const char *resource_version;
  long timeout_seconds;     /* server-side timeoutSeconds; 0 = 300 */
  long idle_timeout_ms;     /* drop a silent stream; 0 = timeout_seconds+30 s */
  int allow_bookmarks;      /* allowWatchBookmarks */
  const volatile int *stop; /* polled about every 100 ms; may be NULL */
};

/* Called for every event; `obj` is borrowed for the call. Return 0 to go on,
 * non-zero to end the watch (then wfe_kube_watch returns that value). */
typedef int (*wfe_watch_fn)(void *ctx, enum wfe_watch_event_type type,
                            json_object *obj);

/*
 * Returns 0 when the stream ended normally (server timeout, stop flag), a
 * handler's non-zero value, WFE_E_INVALID with http_status 410 and reason
 * "Expired" when the server answered 410 to the request itself, or another
 * error (transport failures and idle drops are WFE_E_UNAVAILABLE, retryable).
 * A 410 inside the stream arrives as a WFE_WATCH_ERROR event.
 */
int wfe_kube_watch(struct wfe_kube_client *client,
                   const struct wfe_resource *res, const char *namespace_name,
                   const struct wfe_watch_options *options, wfe_watch_fn fn,
                   void *ctx, struct wfe_error *err);

/* --- Watch stream framing (exposed for unit tests and fuzzing) ------------
 * Splits a byte stream into newline-delimited JSON events and parses each
 * into its type and object. Feed it chunks as they arrive. */
struct wfe_watch_decoder;
struct wfe_watch_decoder *wfe_watch_decoder_new(wfe_watch_fn fn, void *ctx);
/* Returns 0, a handler's non-zero value, or WFE_E_INVALID for a malformed
 * event (err filled) -- the stream cannot be trusted after that. */
int wfe_watch_decoder_feed(struct wfe_watch_decoder *decoder, const char *data,
                           size_t len, struct wfe_error *err);
void wfe_watch_decoder_free(struct wfe_watch_decoder *decoder);

/* Builds
 * "/apis/<group>/<version>[/namespaces/<ns>]/<resource>[/<name>[/<sub>]]" (or
 * "/api/v1/..."), escaping each segment. For tests and the host getter. */
int wfe_kube_path(const struct wfe_resource *res, const char *namespace_name,
                  const char *name, const char *subresource,
                  struct wfe_buf *out);

#endif
