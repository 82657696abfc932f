/*
 * The WorkflowExecution reconciler; see reconciler.h. One reconcile reads the
 * execution and its run from the caches, decides, and makes at most the few
 * writes the step needs. Everything needed to resume after a crash lives in
 * the API server: the run's deterministic name and its labels.
 */
#include "reconciler.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "buf.h"
#include "dispatch.h"
#include "events.h"
#include "execution.h"
#include "json_util.h"
#include "kube_client.h"
#include "log.h"
#include "metrics.h"
#include "progress.h"
#include "run_object.h"
#include "writer.h"

#define LOGGER "reconciler"

static const struct wfe_resource executions_resource = {
    WFE_EXECUTION_API_VERSION, "workflowexecutions", 1};

enum write_kind { WRITE_CREATE, WRITE_STATUS, WRITE_FINALIZER, WRITE_DELETE };
static const char *const write_kinds[] = {"create", "status", "finalizer",
                                          "delete"};

struct wfe_reconciler {
  struct wfe_reconciler_options options;
  struct wfe_metric *executions_total;
  struct wfe_metric *duration;
  struct wfe_metric *running;
  struct wfe_metric *writes_total;
  pthread_mutex_t running_lock;
  json_object *running_keys; /* a set: keys of executions in Running */
  /* Our own last writes the cache may not have caught up with yet:
   * key -> {"before": resourceVersion written over, "object": as written}.
   * While the cache still shows "before", the written copy is newer; this
   * saves a 409 and a re-read on the next reconcile. */
  pthread_mutex_t written_lock;
  json_object *written;
  /* Engine trouble per execution, until a call succeeds:
   * key -> {"faults": consecutive crashes/deadlines, "attempts": transient
   * failures}. */
  pthread_mutex_t trouble_lock;
  json_object *trouble;
  struct wfe_progress *progress; /* when each running status was written */
};

/* One reconcile of one execution. */
struct pass {
  struct wfe_reconciler *r;
  const char *key;
  const char *namespace_name;
  const char *name;
  json_object *execution; /* newest copy; replaced after each write */
  const struct wfe_registry *registry; /* held for the whole pass */
  const struct wfe_engine_slot *slot;
  struct wfe_error *err;
};

/* The condition that tells whether the execution's engine answers. */
#define ENGINE_CONDITION "EngineAvailable"

/* ---- small helpers -------------------------------------------------------
 */

static void now_rfc3339(char out[32])
{
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int parse_rfc3339(const char *text, time_t *out)
{
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *end = text ? strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  if (!end)
    return -1;
  *out = timegm(&tm);
  return 0;
}

static void count_write(struct wfe_reconciler *r, enum write_kind kind, int n)
{
  if (n <= 0)
    return;
  const char *labels[] = {write_kinds[kind]};
  wfe_metric_add(r->writes_total, labels, n);
}

static const char *engine_name_of(const struct pass *p)
{
  return p->slot
             ? p->slot->engine->name
             : wfe_execution_engine(p->execution, p->r->options.default_engine);
}

static void record_event(struct pass *p, const char *type, const char *reason,
                         const char *message)
{
  if (p->r->options.events)
    wfe_event_record(p->r->options.events, p->execution, type, reason, message);
}

static void track_running(struct wfe_reconciler *r, const char *key,
                          int running)
{
  pthread_mutex_lock(&r->running_lock);
  if (running)
    json_object_object_add(r->running_keys, key, NULL);
  else
    json_object_object_del(r->running_keys, key);
  const char *labels[] = {NULL};
  wfe_metric_set(r->running, labels,
                 (double)json_object_object_length(r->running_keys));
  pthread_mutex_unlock(&r->running_lock);
}

/* ---- status --------------------------------------------------------------
 * A status write names what it wants; the mutation applies it to the newest
 * copy and skips the write when the copy already says it (after a conflict,
 * or when a previous reconcile wrote it already). */

struct status_change {
  const char *phase;   /* always set */
  const char *outcome; /* terminal phases */
  const char *reason;
  const char *message;
  const char *engine;
  json_object *run_ref; /* borrowed; NULL keeps what is there */
  const char *start_time;
  const char *completion_time;
  json_object *failure;         /* borrowed; NULL removes it */
  const char *condition_status; /* of the "Succeeded" condition */
};

/* The EngineAvailable condition's status in `status`, or NULL. */
static const char *engine_condition(json_object *execution)
{
  json_object *conditions = wfe_json_get(execution, "status.conditions");
  for (size_t i = 0; json_object_is_type(conditions, json_type_array) &&
                     i < json_object_array_length(conditions);
       i++) {
    json_object *c = json_object_array_get_idx(conditions, i);
    const char *type = wfe_json_get_string(c, "type");
    if (type && !strcmp(type, ENGINE_CONDITION))
      return wfe_json_get_string(c, "status");
  }
  return NULL;
}

static int set_or_delete(json_object *obj, const char *key, const char *value)
{
  if (!value) {
    json_object_object_del(obj, key);
    return 0;
  }
  return wfe_json_set_string(obj, key, value);
}

/* Sets condition `type`, keeping lastTransitionTime when the status stays. */
static int set_condition(json_object *status, const char *type,
                         const char *condition_status, const char *reason,
                         const char *message, int64_t generation)
{
  json_object *conditions = NULL;
  if (!json_object_object_get_ex(status, "conditions", &conditions) ||
      !json_object_is_type(conditions, json_type_array)) {
    conditions = json_object_new_array();
    if (!conditions ||
        json_object_object_add(status, "conditions", conditions)) {
      json_object_put(conditions);
      return WFE_E_NOMEM;
    }
  }
  json_object *condition = NULL;
  for (size_t i = 0; i < json_object_array_length(conditions); i++) {
    json_object *c = json_object_array_get_idx(conditions, i);
    const char *t = wfe_json_get_string(c, "type");
    if (t && strcmp(t, type) == 0)
      condition = c;
  }
  if (!condition) {
    condition = json_object_new_object();
    if (!condition || json_object_array_add(conditions, condition)) {
      json_object_put(condition);
      return WFE_E_NOMEM;
    }
  }
  const char *old_status = wfe_json_get_string(condition, "status");
  char now[32];
  now_rfc3339(now);
  int rc = wfe_json_set_string(condition, "type", type);
  if (!rc && (!old_status || strcmp(old_status, condition_status) != 0))
    rc = wfe_json_set_string(condition, "lastTransitionTime", now);
  if (!rc)
    rc = wfe_json_set_string(condition, "status", condition_status);
  if (!rc)
    rc = wfe_json_set_string(condition, "reason", reason);
  if (!rc)
    rc = wfe_json_set_string(condition, "message", message ? message : "");
  if (!rc && json_object_object_add(condition, "observedGeneration",
                                    json_object_new_int64(generation)))
    rc = WFE_E_NOMEM;
  return rc;
}

/* Runs `edit` on the status of `obj` (made when missing) and answers the
 * writer: WFE_MUTATE_WRITE when the status changed, WFE_MUTATE_SKIP when it
 * said so already. `edit` returns 0 or WFE_E_NOMEM. */
static int edit_status(json_object *obj,
                       int (*edit)(const void *change, json_object *obj,
                                   json_object *status, int64_t generation),
                       const void *change, struct wfe_error *err)
{
  json_object *status = wfe_json_ensure_object(obj, "status");
  json_object *before = NULL;
  if (!status || json_object_deep_copy(status, &before, NULL))
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  int64_t generation =
      json_object_get_int64(wfe_json_get(obj, "metadata.generation"));
  int rc = edit(change, obj, status, generation);
  int changed = !json_object_equal(before, status);
  json_object_put(before);
  if (rc)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  return changed ? WFE_MUTATE_WRITE : WFE_MUTATE_SKIP;
}

static int edit_change(const void *change, json_object *obj,
                       json_object *status, int64_t generation)
{
  const struct status_change *c = change;
  const char *reason = c->reason ? c->reason : c->phase;
  int rc = set_or_delete(status, "phase", c->phase);
  if (!rc)
    rc = set_or_delete(status, "outcome", c->outcome);
  if (!rc)
    rc = set_or_delete(status, "reason", c->reason);
  if (!rc)
    rc = set_or_delete(status, "message", c->message);
  if (!rc && c->engine)
    rc = wfe_json_set_string(status, "engine", c->engine);
  json_object *copy = NULL;
  if (!rc && c->run_ref &&
      (json_object_deep_copy(c->run_ref, &copy, NULL) ||
       json_object_object_add(status, "pipelineRunRef", copy)))
    rc = WFE_E_NOMEM;
  /* Times are set once: a later reconcile never moves them. */
  if (!rc && c->start_time && !wfe_json_get(status, "startTime"))
    rc = wfe_json_set_string(status, "startTime", c->start_time);
  if (!rc && c->completion_time && !wfe_json_get(status, "completionTime"))
    rc = wfe_json_set_string(status, "completionTime", c->completion_time);
  json_object_object_del(status, "failureDetails");
  copy = NULL;
  if (!rc && c->failure &&
      (json_object_deep_copy(c->failure, &copy, NULL) ||
       json_object_object_add(status, "failureDetails", copy)))
    rc = WFE_E_NOMEM;
  if (!rc && json_object_object_add(status, "observedGeneration",
                                    json_object_new_int64(generation)))
    rc = WFE_E_NOMEM;
  if (!rc)
    rc = set_condition(status, "Succeeded", c->condition_status, reason,
                       c->message, generation);
  /* The engine answered this pass: a trouble condition is over. */
  const char *engine_state = engine_condition(obj);
  if (!rc && c->engine && engine_state && strcmp(engine_state, "True") != 0) {
    char message[160];
    snprintf(message, sizeof(message), "engine %s answers", c->engine);
    rc = set_condition(status, ENGINE_CONDITION, "True", "EngineAvailable",
                       message, generation);
  }
  return rc;
}

static int apply_change(void *ctx, json_object *obj, struct wfe_error *err)
{
  return edit_status(obj, edit_change, ctx, err);
}

static void remember_write(struct wfe_reconciler *r, const char *key,
                           const char *before, json_object *written)
{
  json_object *entry = json_object_new_object();
  json_object *copy = NULL;
  if (!entry || !before || json_object_deep_copy(written, &copy, NULL) ||
      wfe_json_set_string(entry, "before", before) ||
      json_object_object_add(entry, "object", copy)) {
    json_object_put(copy);
    json_object_put(entry);
    return; /* only an optimisation */
  }
  pthread_mutex_lock(&r->written_lock);
  json_object_object_add(r->written, key, entry);
  pthread_mutex_unlock(&r->written_lock);
}

/* The newest copy of `cached`: our own write when the cache lags it. Takes
 * ownership of `cached`. */
static json_object *freshest(struct wfe_reconciler *r, const char *key,
                             json_object *cached)
{
  const char *rv = wfe_json_get_string(cached, "metadata.resourceVersion");
  json_object *result = cached;
  pthread_mutex_lock(&r->written_lock);
  json_object *entry = NULL;
  if (json_object_object_get_ex(r->written, key, &entry)) {
    const char *before = wfe_json_get_string(entry, "before");
    json_object *copy = NULL;
    if (rv && before && !strcmp(rv, before) &&
        !json_object_deep_copy(wfe_json_get(entry, "object"), &copy, NULL)) {
      json_object_put(cached);
      result = copy;
    } else {
      json_object_object_del(r->written, key); /* the cache caught up */
    }
  }
  pthread_mutex_unlock(&r->written_lock);
  return result;
}

static void forget_write(struct wfe_reconciler *r, const char *key)
{
  pthread_mutex_lock(&r->written_lock);
  json_object_object_del(r->written, key);
  pthread_mutex_unlock(&r->written_lock);
}

/* Writes `change`; *out_written is non-zero when the API was changed (so
 * events and metrics fire once per transition). */
static int write_status(struct pass *p, const struct status_change *change,
                        int *out_written)
{
  struct wfe_write_options options = {.gate = p->r->options.gate,
                                      .gate_ctx = p->r->options.gate_ctx};
  json_object *written = NULL;
  int writes = 0;
  *out_written = 0;
  char *before = NULL;
  const char *rv =
      wfe_json_get_string(p->execution, "metadata.resourceVersion");
  if (rv && !(before = strdup(rv)))
    return wfe_error_set(p->err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  int rc =
      wfe_write_status(p->r->options.client, &executions_resource,
                       p->namespace_name, p->name, p->execution, apply_change,
                       (void *)change, &options, &written, &writes, p->err);
  count_write(p->r, WRITE_STATUS, writes);
  if (rc) {
    free(before);
    json_object_put(written);
    return rc;
  }
  if (written) {
    /* SKIP hands back the newest copy read; a write the object as written. */
    const char *phase = wfe_json_get_string(written, "status.phase");
    *out_written = writes > 0 && phase && strcmp(phase, change->phase) == 0;
    if (*out_written)
      remember_write(p->r, p->key, before, written);
    json_object_put(p->execution);
    p->execution = written;
  }
  free(before);
  return 0;
}

/* Ends the execution Failed without a run outcome worth more: validation,
 * unsupported engine, conflicts, a run deleted under it. */
static int fail_execution(struct pass *p, const char *reason,
                          const char *message, const char *event_reason)
{
  char now[32];
  now_rfc3339(now);
  struct status_change change = {
      .phase = "Failed",
      .outcome = "Failed",
      .reason = reason,
      .message = message,
      .engine = engine_name_of(p),
      .run_ref = wfe_json_get(p->execution, "status.pipelineRunRef"),
      .completion_time = now,
      .condition_status = "False",
  };
  int written = 0;
  struct wfe_error write_err = WFE_ERROR_INIT;
  struct wfe_error *saved = p->err;
  p->err = &write_err;
  int rc = write_status(p, &change, &written);
  p->err = saved;
  if (rc) {
    wfe_error_set(p->err, write_err.code, write_err.retryable, write_err.reason,
                  write_err.field, "%s", wfe_error_message(&write_err));
    wfe_error_clear(&write_err);
    return rc;
  }
  wfe_error_clear(&write_err);
  track_running(p->r, p->key, 0);
  wfe_progress_forget(p->r->progress, p->key);
  if (written) {
    wfe_log_info(LOGGER, p->key, "failed: %s: %s", reason, message);
    record_event(p, "Warning", event_reason, message);
    const char *labels[] = {engine_name_of(p), "Failed"};
    wfe_metric_add(p->r->executions_total, labels, 1);
  }
  return 0;
}

/* ---- deletion ------------------------------------------------------------
 */

static int has_finalizer(json_object *execution)
{
  json_object *list = wfe_json_get(execution, "metadata.finalizers");
  for (size_t i = 0; json_object_is_type(list, json_type_array) &&
                     i < json_object_array_length(list);
       i++) {
    const char *f = json_object_get_string(json_object_array_get_idx(list, i));
    if (f && strcmp(f, WFE_FINALIZER) == 0)
      return 1;
  }
  return 0;
}

/* With a separate execution namespace no ownerReference can reach the run,
 * so the finalizer deletes it before the execution goes. */
static int finalize(struct pass *p)
{
  if (!has_finalizer(p->execution))
    return 0;
  const char *run_ns =
      wfe_json_get_string(p->execution, "status.pipelineRunRef.namespace");
  const char *run_name =
      wfe_json_get_string(p->execution, "status.pipelineRunRef.name");
  const char *api_version =
      wfe_json_get_string(p->execution, "status.pipelineRunRef.apiVersion");
  const struct wfe_engine_slot *slot = NULL;
  struct wfe_error ignored = WFE_ERROR_INIT;
  wfe_run_select_engine(p->registry, p->execution, p->r->options.default_engine,
                        &slot, &ignored);
  wfe_error_clear(&ignored);
  if (run_ns && run_name && slot &&
      (!api_version ||
       strcmp(api_version, slot->engine->run_type->api_version) == 0)) {
    if (p->r->options.gate && !p->r->options.gate(p->r->options.gate_ctx))
      return wfe_error_set(p->err, WFE_E_UNAVAILABLE, 1, "NotLeader", NULL,
                           "not the leader: no writes");
    struct wfe_resource run_res = {slot->engine->run_type->api_version,
                                   slot->engine->run_type->resource, 1};
    struct wfe_delete_options del = {
        .precondition_uid =
            wfe_json_get_string(p->execution, "status.pipelineRunRef.uid"),
        .propagation_policy = "Background"};
    int rc = wfe_kube_delete(p->r->options.client, &run_res, run_ns, run_name,
                             &del, p->err);
    count_write(p->r, WRITE_DELETE, 1);
    if (rc && rc != WFE_E_NOT_FOUND &&
        !(p->err->http_status == 409)) /* uid changed: not our run */
      return rc;
    wfe_error_clear(p->err);
  }
  struct wfe_write_options options = {.gate = p->r->options.gate,
                                      .gate_ctx = p->r->options.gate_ctx};
  int writes = 0;
  int rc = wfe_finalizer_remove(p->r->options.client, &executions_resource,
                                p->namespace_name, p->name, WFE_FINALIZER,
                                &options, NULL, &writes, p->err);
  count_write(p->r, WRITE_FINALIZER, writes);
  if (rc == WFE_E_NOT_FOUND) {
    wfe_error_clear(p->err);
    rc = 0;
  }
  return rc;
}

/* ---- the run -------------------------------------------------------------
 */

static json_object *run_reference(const struct wfe_engine_slot *slot,
                                  json_object *run)
{
  json_object *ref = json_object_new_object();
  if (!ref)
    return NULL;
  const wfe_run_type *type = slot->engine->run_type;
  const char *uid = wfe_json_get_string(run, "metadata.uid");
  if (wfe_json_set_string(ref, "apiVersion", type->api_version) ||
      wfe_json_set_string(ref, "kind", type->kind) ||
      wfe_json_set_string(ref, "namespace",
                          wfe_json_get_string(run, "metadata.namespace")) ||
      wfe_json_set_string(ref, "name",
                          wfe_json_get_string(run, "metadata.name")) ||
      (uid && wfe_json_set_string(ref, "uid", uid))) {
    json_object_put(ref);
    return NULL;
  }
  return ref;
}

static void describe_run(const struct pass *p, json_object *run, char *out,
                         size_t size)
{
  snprintf(out, size, "%s %s/%s", p->slot->engine->run_type->kind,
           wfe_json_get_string(run, "metadata.namespace"),
           wfe_json_get_string(run, "metadata.name"));
}

/* Finds the run in the cache. When `confirm` is set, a run missing there is
 * looked up in the API server before it is declared gone (the cache may lag
 * a create by milliseconds); otherwise creating it settles the question. */
static int find_run(struct pass *p, json_object *rendered, int confirm,
                    json_object **out)
{
  const wfe_run_type *type = p->slot->engine->run_type;
  const char *ns = wfe_json_get_string(rendered, "metadata.namespace");
  const char *name = wfe_json_get_string(rendered, "metadata.name");
  *out = NULL;
  int rc = p->r->options.get_run(p->r->options.cache_ctx, type, ns, name, out);
  if (rc != WFE_E_NOT_FOUND || !confirm)
    return rc;
  struct wfe_resource res = {type->api_version, type->resource, 1};
  rc = wfe_kube_get(p->r->options.client, &res, ns, name, out, p->err);
  if (rc == WFE_E_NOT_FOUND)
    wfe_error_clear(p->err);
  return rc;
}

static int create_run(struct pass *p, json_object *rendered, json_object **out)
{
  const wfe_run_type *type = p->slot->engine->run_type;
  struct wfe_resource res = {type->api_version, type->resource, 1};
  const char *ns = wfe_json_get_string(rendered, "metadata.namespace");
  if (p->r->options.gate && !p->r->options.gate(p->r->options.gate_ctx))
    return wfe_error_set(p->err, WFE_E_UNAVAILABLE, 1, "NotLeader", NULL,
                         "not the leader: no writes");
  int rc =
      wfe_kube_create(p->r->options.client, &res, ns, rendered, out, p->err);
  count_write(p->r, WRITE_CREATE, 1);
  if (rc && p->err->http_status == 409) {
    /* Created by an earlier attempt (a retried POST, or a crash before the
     * status write): read it and decide about adoption. */
    wfe_error_clear(p->err);
    return wfe_kube_get(p->r->options.client, &res, ns,
                        wfe_json_get_string(rendered, "metadata.name"), out,
                        p->err);
  }
  if (rc) { /* e.g. forbidden by RBAC or a webhook: retried with backoff */
    char what[512];
    describe_run(p, rendered, what, sizeof(what));
    struct wfe_buf message = WFE_BUF_INIT;
    if (!wfe_buf_printf(&message, "Cannot create %s: %s", what,
                        wfe_error_message(p->err)))
      record_event(p, "Warning", "RunCreateFailed", wfe_buf_str(&message));
    wfe_buf_free(&message);
  } else {
    char what[512], message[640];
    describe_run(p, *out, what, sizeof(what));
    snprintf(message, sizeof(message), "Created %s", what);
    wfe_log_info(LOGGER, p->key, "%s", message);
    char reason[96];
    snprintf(reason, sizeof(reason), "%sCreated", type->kind);
    record_event(p, "Normal", reason, message);
  }
  return rc;
}

/* Appends where a failed run broke ("task T, step S exited with code N"),
 * after "; " when `out` holds text already. */
static int append_failure(struct wfe_buf *out, json_object *failure)
{
  const char *task = wfe_json_get_string(failure, "task");
  const char *step = wfe_json_get_string(failure, "step");
  json_object *exit_code = wfe_json_get(failure, "exitCode");
  if (!task)
    return 0;
  int rc = wfe_buf_printf(out, "%stask %s", out->len ? "; " : "", task);
  if (!rc && step)
    rc = wfe_buf_printf(out, ", step %s", step);
  if (!rc && exit_code)
    rc = wfe_buf_printf(out, " exited with code %d",
                        json_object_get_int(exit_code));
  return rc;
}

/* The text of the engine's reading: for the status, its message cut to
 * WFE_STATUS_MESSAGE_MAX (the core's own while a run without one runs);
 * for the Event, its detail or its whole message. A failed run adds where
 * it broke to both, for `kubectl get wfe`. */
static int reading_text(const struct pass *p, json_object *run,
                        json_object *reading, int terminal,
                        struct wfe_buf *status_text, struct wfe_buf *event_text)
{
  const char *message = wfe_json_get_string(reading, "message");
  const char *detail = wfe_json_get_string(reading, "detail");
  if (message && !*message)
    message = NULL;
  if (detail && !*detail)
    detail = NULL;
  int rc = 0;
  if (message)
    rc = wfe_buf_append_cut(status_text, message, WFE_STATUS_MESSAGE_MAX, NULL);
  else if (!terminal)
    rc = wfe_buf_printf(status_text, "%s %s/%s is running",
                        p->slot->engine->run_type->kind,
                        wfe_json_get_string(run, "metadata.namespace"),
                        wfe_json_get_string(run, "metadata.name"));
  if (!rc)
    rc = wfe_buf_puts(event_text, detail    ? detail
                                  : message ? message
                                            : wfe_buf_str(status_text));
  if (!rc && terminal)
    rc = append_failure(status_text, wfe_json_get(reading, "failure"));
  if (!rc && terminal)
    rc = append_failure(event_text, wfe_json_get(reading, "failure"));
  return rc;
}

static int same_text(const char *a, const char *b)
{
  return a && b ? strcmp(a, b) == 0 : a == b;
}

/*
 * The status follows a running run within the bound of progress.h: the
 * first Running write (and one that tells the engine answers again) goes
 * at once; after it, a change of reason waits for the 1 s gap and a new
 * message alone for statusProgressInterval, requeued so the newest reading
 * is written then. Reason and message are always written together, so a
 * message never outlives the state it describes. A new reason the engine
 * gave gets a Normal Event with the full text; the first Running write gets
 * none (the run's creation was told).
 */
static int report_running(struct pass *p, const struct status_change *change,
                          int engine_reason, const char *event_text,
                          struct wfe_reconcile_result *result)
{
  struct wfe_reconciler *r = p->r;
  const char *current = wfe_json_get_string(p->execution, "status.phase");
  const char *engine_state = engine_condition(p->execution);
  int started = current && !strcmp(current, "Running") &&
                wfe_json_get(p->execution, "status.pipelineRunRef.uid");
  int reason_changed = !same_text(
      wfe_json_get_string(p->execution, "status.reason"), change->reason);
  int message_changed = !same_text(
      wfe_json_get_string(p->execution, "status.message"), change->message);
  result->requeue_after_ms = r->options.resync_period_ms;
  if (started && (!engine_state || !strcmp(engine_state, "True"))) {
    if (!reason_changed && !message_changed) {
      wfe_log_debug(LOGGER, p->key, "still running (%s): no write",
                    change->reason);
      track_running(r, p->key, 1);
      return 0;
    }
    int64_t delay = wfe_progress_delay(r->progress, p->key, reason_changed,
                                       wfe_monotonic_ms());
    if (delay > 0) {
      wfe_log_debug(LOGGER, p->key, "running (%s): written in %lld ms",
                    change->reason, (long long)delay);
      if (delay < result->requeue_after_ms)
        result->requeue_after_ms = (long)delay;
      track_running(r, p->key, 1);
      return 0;
    }
  }
  int written = 0;
  int rc = write_status(p, change, &written);
  wfe_log_debug(LOGGER, p->key, "status Running (%s): %s", change->reason,
                rc        ? "write failed"
                : written ? "written"
                          : "already so");
  if (rc)
    return rc;
  track_running(r, p->key, 1);
  if (written)
    wfe_progress_written(r->progress, p->key, wfe_monotonic_ms());
  if (written && started && reason_changed && engine_reason) {
    wfe_log_info(LOGGER, p->key, "running: %s: %s", change->reason,
                 change->message);
    record_event(p, "Normal", wfe_progress_event_reason(change->reason),
                 event_text);
  }
  return 0;
}

/* Writes the outcome, never delayed; tells it once. */
static int report_terminal(struct pass *p, const struct status_change *change,
                           const char *event_text)
{
  int written = 0;
  int rc = write_status(p, change, &written);
  wfe_log_debug(LOGGER, p->key, "status %s (%s): %s", change->phase,
                change->reason,
                rc        ? "write failed"
                : written ? "written"
                          : "already so");
  if (rc)
    return rc;
  track_running(p->r, p->key, 0);
  wfe_progress_forget(p->r->progress, p->key);
  if (!written)
    return 0;
  const char *outcome = change->outcome;
  int success = strcmp(change->phase, "Completed") == 0;
  const char *text = *event_text ? event_text : outcome;
  wfe_log_info(LOGGER, p->key, "%s (%s): %s", change->phase, outcome, text);
  record_event(p, success ? "Normal" : "Warning",
               success ? "WorkflowCompleted" : "WorkflowFailed", text);
  const char *labels[] = {p->slot->engine->name, outcome};
  wfe_metric_add(p->r->executions_total, labels, 1);
  time_t t0, t1;
  if (!parse_rfc3339(wfe_json_get_string(p->execution, "status.startTime"),
                     &t0) &&
      !parse_rfc3339(wfe_json_get_string(p->execution, "status.completionTime"),
                     &t1))
    wfe_metric_observe(p->r->duration, labels, difftime(t1, t0));
  return 0;
}

/* A reading that depends on time (an image pull given a grace period) asks
 * to be read again after "recheckAfterSeconds" even when the run does not
 * change: 1 s to 1 h, never later than the resync. */
static void recheck_when_asked(json_object *reading,
                               struct wfe_reconcile_result *result)
{
  json_object *after = wfe_json_get(reading, "recheckAfterSeconds");
  if (!json_object_is_type(after, json_type_int))
    return;
  int64_t seconds = json_object_get_int64(after);
  seconds = seconds < 1 ? 1 : seconds > 3600 ? 3600 : seconds;
  if (result->requeue_after_ms <= 0 ||
      seconds * 1000 < result->requeue_after_ms)
    result->requeue_after_ms = (long)(seconds * 1000);
}

/* Writes what the engine's reading of the run says. */
static int report_run(struct pass *p, json_object *run, json_object *reading,
                      struct wfe_reconcile_result *result)
{
  const char *phase = wfe_json_get_string(reading, "phase");
  int terminal = !strcmp(phase, "Completed") || !strcmp(phase, "Failed");
  char now[32];
  now_rfc3339(now);
  struct wfe_buf status_text = WFE_BUF_INIT, event_text = WFE_BUF_INIT;
  json_object *ref = run_reference(p->slot, run);
  int rc =
      ref ? reading_text(p, run, reading, terminal, &status_text, &event_text)
          : WFE_E_NOMEM;
  if (rc) {
    json_object_put(ref);
    wfe_buf_free(&status_text);
    wfe_buf_free(&event_text);
    return wfe_error_set(p->err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  const char *start = wfe_json_get_string(reading, "startTime");
  const char *end = wfe_json_get_string(reading, "completionTime");
  const char *reason = wfe_json_get_string(reading, "reason");
  struct status_change change = {
      .phase = terminal ? phase : "Running",
      .outcome = terminal ? wfe_json_get_string(reading, "outcome") : NULL,
      .reason = reason ? reason : (terminal ? phase : "Running"),
      .message = status_text.len ? wfe_buf_str(&status_text) : NULL,
      .engine = p->slot->engine->name,
      .run_ref = ref,
      .start_time = start ? start : now,
      .completion_time = terminal ? (end ? end : now) : NULL,
      .failure = wfe_json_get(reading, "failure"),
      .condition_status =
          !terminal ? "Unknown"
                    : (!strcmp(phase, "Completed") ? "True" : "False"),
  };
  rc = terminal ? report_terminal(p, &change, wfe_buf_str(&event_text))
                : report_running(p, &change, reason != NULL,
                                 wfe_buf_str(&event_text), result);
  if (!rc && !terminal)
    recheck_when_asked(reading, result);
  json_object_put(ref);
  wfe_buf_free(&status_text);
  wfe_buf_free(&event_text);
  return rc;
}

/* ---- engine trouble ------------------------------------------------------
 * Counted per execution in memory (a restart starts counting afresh: the
 * worst it costs is a few more attempts), told on the resource. */

/* Adds one to the `what` count of `key` ("faults" or "attempts") and
 * returns the new count. */
static int count_trouble(struct wfe_reconciler *r, const char *key,
                         const char *what)
{
  pthread_mutex_lock(&r->trouble_lock);
  json_object *entry = NULL;
  if (!json_object_object_get_ex(r->trouble, key, &entry)) {
    entry = json_object_new_object();
    if (!entry || json_object_object_add(r->trouble, key, entry)) {
      pthread_mutex_unlock(&r->trouble_lock);
      return 1;
    }
  }
  json_object *count = NULL;
  int n = json_object_object_get_ex(entry, what, &count)
              ? json_object_get_int(count) + 1
              : 1;
  json_object_object_add(entry, what, json_object_new_int(n));
  pthread_mutex_unlock(&r->trouble_lock);
  return n;
}

static void clear_trouble(struct wfe_reconciler *r, const char *key)
{
  pthread_mutex_lock(&r->trouble_lock);
  json_object_object_del(r->trouble, key);
  pthread_mutex_unlock(&r->trouble_lock);
}

struct engine_condition_change {
  const char *reason;
  const char *message;
};

/* EngineAvailable False with the reason; an execution without a phase
 * becomes Pending, so its status is never empty. */
static int edit_engine_condition(const void *change, json_object *obj,
                                 json_object *status, int64_t generation)
{
  const struct engine_condition_change *c = change;
  (void)obj;
  int rc = 0;
  if (!wfe_json_get_string(status, "phase")) {
    rc = wfe_json_set_string(status, "phase", "Pending");
    if (!rc && json_object_object_add(status, "observedGeneration",
                                      json_object_new_int64(generation)))
      rc = WFE_E_NOMEM;
  }
  return rc ? rc
            : set_condition(status, ENGINE_CONDITION, "False", c->reason,
                            c->message, generation);
}

static int apply_engine_condition(void *ctx, json_object *obj,
                                  struct wfe_error *err)
{
  return edit_status(obj, edit_engine_condition, ctx, err);
}

/* Tells on the execution that its engine is in trouble: the condition
 * (written on the 1st, 2nd, 4th, 8th... attempt, so a long outage costs a
 * few writes, not one per retry) and a Warning Event (aggregated by the
 * recorder). Never fails the pass: the retry is what matters. */
static void tell_engine_trouble(struct pass *p, const char *reason,
                                const char *message, int attempt)
{
  wfe_log_warn(LOGGER, p->key, "%s: %s (attempt %d)", reason, message, attempt);
  record_event(p, "Warning", reason, message);
  if (attempt & (attempt - 1))
    return;
  struct wfe_buf text = WFE_BUF_INIT;
  if (wfe_buf_printf(&text, "%s (attempt %d; retried with backoff)", message,
                     attempt)) {
    wfe_buf_free(&text);
    return;
  }
  struct engine_condition_change change = {reason, wfe_buf_str(&text)};
  struct wfe_write_options options = {.gate = p->r->options.gate,
                                      .gate_ctx = p->r->options.gate_ctx};
  json_object *written = NULL;
  int writes = 0;
  struct wfe_error write_err = WFE_ERROR_INIT;
  if (wfe_write_status(p->r->options.client, &executions_resource,
                       p->namespace_name, p->name, p->execution,
                       apply_engine_condition, &change, &options, &written,
                       &writes, &write_err))
    wfe_log_warn(LOGGER, p->key, "cannot write the %s condition: %s",
                 ENGINE_CONDITION, wfe_error_message(&write_err));
  count_write(p->r, WRITE_STATUS, writes);
  if (written) {
    json_object_put(p->execution);
    p->execution = written;
  }
  wfe_error_clear(&write_err);
  wfe_buf_free(&text);
}

/* Ends the execution Failed with the engine error's reason and message
 * (`suffix` appended), naming `event` in the Warning Event. */
static int fail_with(struct pass *p, const char *suffix, const char *event)
{
  struct wfe_error *err = p->err;
  struct wfe_buf message = WFE_BUF_INIT;
  char *reason = strdup(err->reason ? err->reason : "EngineError");
  int rc = wfe_buf_printf(&message, "%s%s", wfe_error_message(err),
                          suffix ? suffix : "");
  wfe_error_clear(err);
  rc = !rc && reason
           ? fail_execution(p, reason, wfe_buf_str(&message),
                            event ? event : reason)
           : wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  free(reason);
  wfe_buf_free(&message);
  return rc;
}

/*
 * Maps an engine's error. A crash or missed deadline during this
 * execution's call counts toward max_consecutive_faults, then fails it; the
 * host restarted for another call's fault: retried at once, untold; other
 * transient trouble: told (condition, Event) and retried with backoff;
 * anything else -- invalid input, an unsupported feature, an answer the
 * core cannot use -- ends it Failed once, with the engine's reason.
 */
static int engine_error(struct pass *p, int rc)
{
  struct wfe_error *err = p->err;
  const char *reason = err->reason ? err->reason : "EngineError";
  if (!strcmp(reason, "EngineCrashed") || !strcmp(reason, "EngineTimeout")) {
    int faults = count_trouble(p->r, p->key, "faults");
    if (faults >= p->r->options.max_consecutive_faults) {
      char suffix[192];
      snprintf(suffix, sizeof(suffix),
               " -- %d times in a row during this execution's calls, so it "
               "is failed and stops costing the engine its host",
               faults);
      clear_trouble(p->r, p->key);
      return fail_with(p, suffix, NULL);
    }
    char *message = strdup(wfe_error_message(err));
    if (message)
      tell_engine_trouble(p, reason, message, faults);
    free(message);
    return rc;
  }
  if (!strcmp(reason, "EngineRestarted")) {
    wfe_log_debug(LOGGER, p->key, "retrying: %s", wfe_error_message(err));
    return rc;
  }
  if (err->retryable || rc == WFE_E_UNAVAILABLE || rc == WFE_E_NOMEM) {
    int attempt = count_trouble(p->r, p->key, "attempts");
    char *message = strdup(wfe_error_message(err));
    char *reason_copy = strdup(
        !strcmp(reason, "EngineHostDown") ? reason : "EngineUnavailable");
    if (message && reason_copy)
      tell_engine_trouble(p, reason_copy, message, attempt);
    free(message);
    free(reason_copy);
    return rc;
  }
  clear_trouble(p->r, p->key);
  const char *event =
      rc == WFE_E_UNSUPPORTED || !strcmp(reason, "UnsupportedEngine")
          ? "UnsupportedEngine"
      : rc == WFE_E_INVALID ? "ValidationFailed"
                            : "EngineFailed";
  return fail_with(p, NULL, event);
}

/* The engine of an execution whose run exists is not loaded (removed, or
 * refused on a reload): the run goes on without us; wait for the engine. */
static int engine_gone(struct pass *p, struct wfe_reconcile_result *result)
{
  int attempt = count_trouble(p->r, p->key, "attempts");
  char *message = strdup(wfe_error_message(p->err));
  wfe_error_clear(p->err);
  if (message) {
    struct wfe_buf text = WFE_BUF_INIT;
    if (!wfe_buf_printf(
            &text,
            "%s; the run %s is left as it is, and this execution "
            "waits for the engine to return",
            message,
            wfe_json_get_string(p->execution, "status.pipelineRunRef.name")))
      tell_engine_trouble(p, "EngineNotLoaded", wfe_buf_str(&text), attempt);
    wfe_buf_free(&text);
  }
  free(message);
  result->requeue_after_ms = p->r->options.resync_period_ms;
  return 0;
}

static int ensure_finalizer(struct pass *p)
{
  if (!p->r->options.execution_namespace || has_finalizer(p->execution))
    return 0;
  struct wfe_write_options options = {.gate = p->r->options.gate,
                                      .gate_ctx = p->r->options.gate_ctx};
  json_object *updated = NULL;
  int writes = 0;
  int rc = wfe_finalizer_add(p->r->options.client, &executions_resource,
                             p->namespace_name, p->name, WFE_FINALIZER,
                             &options, &updated, &writes, p->err);
  count_write(p->r, WRITE_FINALIZER, writes);
  if (!rc && updated) {
    json_object_put(p->execution);
    p->execution = updated;
  } else {
    json_object_put(updated);
  }
  return rc;
}

static int reconcile_run(struct pass *p, struct wfe_reconcile_result *result)
{
  json_object *rendered = NULL;
  int rc = wfe_run_render(p->slot, p->execution, 0,
                          p->r->options.execution_namespace, &rendered, p->err);
  if (rc)
    return engine_error(p, rc);

  json_object *run = NULL;
  const char *phase = wfe_json_get_string(p->execution, "status.phase");
  const char *known =
      wfe_json_get_string(p->execution, "status.pipelineRunRef.name");
  int started = phase && !strcmp(phase, "Running") && known &&
                !strcmp(known, wfe_json_get_string(rendered, "metadata.name"));
  /* A run stays where it was created: a change of executionNamespace since
   * then applies to new executions, and never loses a running one. */
  const char *known_ns =
      wfe_json_get_string(p->execution, "status.pipelineRunRef.namespace");
  const char *rendered_ns = wfe_json_get_string(rendered, "metadata.namespace");
  json_object *metadata = wfe_json_get(rendered, "metadata");
  if (started && known_ns && metadata &&
      (!rendered_ns || strcmp(known_ns, rendered_ns))) {
    json_object *ns = json_object_new_string(known_ns);
    if (!ns || json_object_object_add(metadata, "namespace", ns)) {
      json_object_put(ns);
      json_object_put(rendered);
      return wfe_error_set(p->err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
    }
  }
  wfe_log_debug(LOGGER, p->key, "rendered %s %s/%s",
                p->slot->engine->run_type->kind,
                wfe_json_get_string(rendered, "metadata.namespace"),
                wfe_json_get_string(rendered, "metadata.name"));
  rc = find_run(p, rendered, started, &run);
  wfe_log_debug(LOGGER, p->key, "run %s",
                rc == 0                 ? "found"
                : rc == WFE_E_NOT_FOUND ? "not found"
                                        : "lookup failed");
  if (rc == WFE_E_NOT_FOUND && started) {
    char what[512], message[640];
    describe_run(p, rendered, what, sizeof(what));
    snprintf(message, sizeof(message),
             "%s was deleted while the workflow was running", what);
    json_object_put(rendered);
    return fail_execution(p, "RunDeleted", message, "WorkflowFailed");
  }
  if (rc == WFE_E_NOT_FOUND)
    rc = create_run(p, rendered, &run);
  if (rc) {
    json_object_put(rendered);
    return rc;
  }
  if (!wfe_run_belongs_to(run,
                          wfe_json_get_string(p->execution, "metadata.uid"))) {
    char what[512], message[800];
    describe_run(p, rendered, what, sizeof(what));
    snprintf(message, sizeof(message),
             "%s already exists and does not belong to this "
             "WorkflowExecution; it was left untouched",
             what);
    json_object_put(rendered);
    json_object_put(run);
    return fail_execution(p, "RunConflict", message, "WorkflowFailed");
  }
  json_object_put(rendered);
  wfe_log_debug(LOGGER, p->key, "run %s belongs to this execution (uid %s)",
                wfe_json_get_string(run, "metadata.name"),
                wfe_json_get_string(p->execution, "metadata.uid"));

  json_object *reading = NULL;
  rc = wfe_dispatch_interpret(p->slot, run, &reading, p->err);
  if (!rc) {
    clear_trouble(p->r, p->key); /* the engine answered everything */
    wfe_log_debug(LOGGER, p->key, "interpreted: %s",
                  wfe_json_text(reading, NULL));
    rc = report_run(p, run, reading, result);
  } else {
    rc = engine_error(p, rc);
  }
  json_object_put(reading);
  json_object_put(run);
  return rc;
}

static int split_key(const char *key, struct wfe_buf *ns, const char **name)
{
  const char *slash = strchr(key, '/');
  if (!slash || slash == key || !slash[1])
    return WFE_E_INVALID;
  *name = slash + 1;
  return wfe_buf_append(ns, key, (size_t)(slash - key));
}

int wfe_reconciler_reconcile(void *ctx, const char *key,
                             struct wfe_reconcile_result *result,
                             struct wfe_error *err)
{
  struct wfe_reconciler *r = ctx;
  struct wfe_buf ns = WFE_BUF_INIT;
  const char *name = NULL;
  if (split_key(key, &ns, &name)) {
    wfe_buf_free(&ns);
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidKey", NULL,
                         "not a namespace/name key: %s", key);
  }
  struct pass p = {r, key, wfe_buf_str(&ns), name, NULL, NULL, NULL, err};
  int rc = r->options.get_execution(r->options.cache_ctx, p.namespace_name,
                                    name, &p.execution);
  if (rc == WFE_E_NOT_FOUND) { /* deleted: its run goes by ownerReference */
    track_running(r, key, 0);
    forget_write(r, key);
    clear_trouble(r, key);
    wfe_progress_forget(r->progress, key);
    wfe_buf_free(&ns);
    return 0;
  }
  if (rc) {
    wfe_buf_free(&ns);
    return wfe_error_set(err, rc, 1, "CacheError", NULL,
                         "cannot read %s from the cache", key);
  }

  p.execution = freshest(r, key, p.execution);
  p.registry = wfe_engine_set_acquire(r->options.engines);
  const char *phase = wfe_json_get_string(p.execution, "status.phase");
  int terminal =
      phase && (!strcmp(phase, "Completed") || !strcmp(phase, "Failed"));
  if (wfe_json_get(p.execution, "metadata.deletionTimestamp")) {
    rc = finalize(&p);
  } else if (terminal) {
    track_running(r, key, 0);
    clear_trouble(r, key);
    wfe_progress_forget(r->progress, key);
    rc = 0;
  } else if ((rc = wfe_run_select_engine(p.registry, p.execution,
                                         r->options.default_engine, &p.slot,
                                         err))) {
    rc = wfe_json_get_string(p.execution, "status.pipelineRunRef.name")
             ? engine_gone(&p, result)
             : engine_error(&p, rc);
  } else {
    wfe_log_debug(LOGGER, key, "engine %s (plugin %s)", p.slot->engine->name,
                  p.slot->plugin->path);
    if (!(rc = ensure_finalizer(&p)))
      rc = reconcile_run(&p, result);
  }
  json_object_put(p.execution);
  wfe_engine_set_release(r->options.engines, p.registry);
  wfe_buf_free(&ns);
  return rc;
}

/* ---- lifecycle -----------------------------------------------------------
 */

static void register_metrics(struct wfe_reconciler *r)
{
  struct wfe_metrics *m = r->options.metrics;
  if (!m)
    return;
  static const char *const outcome_labels[] = {"engine", "outcome"};
  static const char *const engine_label[] = {"engine"};
  static const char *const kind_label[] = {"kind"};
  static const double buckets[] = {1,   5,   10,   30,   60,  120,
                                   300, 600, 1800, 3600, 7200};
  r->executions_total = wfe_metrics_counter(
      m, "wfe_executions_total",
      "WorkflowExecutions that reached a terminal phase, by engine and "
      "outcome",
      outcome_labels, 2);
  r->duration = wfe_metrics_histogram(
      m, "wfe_execution_duration_seconds",
      "Time from a run's start to its completion", engine_label, 1, buckets,
      sizeof(buckets) / sizeof(buckets[0]));
  r->running = wfe_metrics_gauge(m, "wfe_executions_running",
                                 "WorkflowExecutions now Running", NULL, 0);
  r->writes_total = wfe_metrics_counter(
      m, "wfe_reconciler_api_writes_total",
      "API writes made by the reconciler, by kind", kind_label, 1);
}

int wfe_reconciler_new(const struct wfe_reconciler_options *options,
                       struct wfe_reconciler **out, struct wfe_error *err)
{
  *out = NULL;
  if (!options->client || !options->engines || !options->get_execution ||
      !options->get_run || !options->default_engine)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "reconciler options are incomplete");
  struct wfe_reconciler *r = calloc(1, sizeof(*r));
  if (!r || !(r->running_keys = json_object_new_object()) ||
      !(r->written = json_object_new_object()) ||
      !(r->trouble = json_object_new_object()) ||
      wfe_progress_new(options->status_progress_interval_ms > 0
                           ? options->status_progress_interval_ms
                           : 10000,
                       &r->progress)) {
    if (r) {
      json_object_put(r->running_keys);
      json_object_put(r->written);
      json_object_put(r->trouble);
    }
    free(r);
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  r->options = *options;
  if (r->options.resync_period_ms <= 0)
    r->options.resync_period_ms = 10000;
  if (r->options.max_consecutive_faults <= 0)
    r->options.max_consecutive_faults = 3;
  pthread_mutex_init(&r->running_lock, NULL);
  pthread_mutex_init(&r->written_lock, NULL);
  pthread_mutex_init(&r->trouble_lock, NULL);
  register_metrics(r);
  *out = r;
  return 0;
}

void wfe_reconciler_free(struct wfe_reconciler *r)
{
  if (!r)
    return;
  json_object_put(r->running_keys);
  json_object_put(r->written);
  json_object_put(r->trouble);
  wfe_progress_free(r->progress);
  pthread_mutex_destroy(&r->running_lock);
  pthread_mutex_destroy(&r->written_lock);
  pthread_mutex_destroy(&r->trouble_lock);
  free(r);
}
