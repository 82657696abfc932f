/*
 * The controller process; see manager.h. Informers run in every replica (a
 * standby keeps warm caches); the reconciler's workers start only once the
 * caches have synced and, with leader election, once this replica leads.
 */
#include "manager.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "delegated_auth.h"
#include "engine_set.h"
#include "events.h"
#include "execution.h"
#include "host.h"
#include "http_server.h"
#include "informer.h"
#include "json_util.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "leader.h"
#include "log.h"
#include "metrics.h"
#include "reconciler.h"
#include "run_object.h"
#include "serving_cert.h"
#include "store.h"
#include "workers.h"
#include "workqueue.h"

#define LOGGER "manager"

/* The informers of one watched type: one per namespace, or one for all. */
struct watch {
  wfe_run_type type; /* a run type (strings owned); unset for executions */
  struct wfe_informer **informers;
  char **namespaces; /* parallel; NULL entry: all namespaces */
  size_t count;
};

struct manager {
  const struct wfe_config *config;
  struct wfe_metrics *metrics;
  struct wfe_kube_client *client;
  struct wfe_kube_client *leader_client;
  struct wfe_kube_client *auth_client; /* the scrapes' reviews */
  struct wfe_serving_cert *metrics_cert;
  struct wfe_delegated_auth *metrics_auth;
  struct wfe_host_services services;
  struct wfe_engine_set *engines;
  char *plugins_dir; /* watched for changes */
  json_object *pod;  /* this controller's Pod, for Events; may be NULL */
  struct watch executions;
  /* The watched run types: grows when a reload brings a new one, under
   * runs_lock (read by every reconcile). */
  pthread_rwlock_t runs_lock;
  struct watch *runs;
  size_t run_count, run_cap;
  struct wfe_workqueue *queue;
  struct wfe_reconciler *reconciler;
  struct wfe_workers *workers;
  struct wfe_event_recorder *events;
  struct wfe_leader *leader;
  struct wfe_http_server *probes;
  struct wfe_http_server *metrics_server;
  struct wfe_informer_keys execution_keys;
  struct wfe_informer_keys run_keys;
  atomic_int synced;
  pthread_mutex_t workers_lock;
  int stopping;
};

/* ---- the host's read-only getter for engines ---------------------------
 */

static int host_getter(void *ctx, const char *api_version, const char *resource,
                       const char *namespace_name, const char *name,
                       struct wfe_buf *out, struct wfe_error *err)
{
  struct manager *m = ctx;
  struct wfe_resource res = {api_version, resource, namespace_name != NULL};
  json_object *obj = NULL;
  int rc = wfe_kube_get(m->client, &res, namespace_name, name, &obj, err);
  if (rc && err->http_status == 403) /* RBAC: say so, the engine may not */
    wfe_log_warn(LOGGER, NULL, "an engine may not read %s %s/%s: %s", resource,
                 namespace_name ? namespace_name : "", name,
                 wfe_error_message(err));
  if (rc)
    return rc;
  size_t len = 0;
  const char *text = wfe_json_text(obj, &len);
  rc = text ? wfe_buf_append(out, text, len) : WFE_E_NOMEM;
  json_object_put(obj);
  if (rc)
    wfe_error_set(err, rc, 0, "OutOfMemory", NULL, NULL);
  return rc;
}

/* The host's read-only lister for engines (ABI 1.1 list_objects): the first
 * WFE_LIST_MAX_ITEMS objects, as a List. */
struct listed {
  json_object *items;
  int count;
};

static int add_listed(void *ctx, json_object *obj)
{
  struct listed *l = ctx;
  if (l->count++ >= WFE_LIST_MAX_ITEMS)
    return 0; /* the one past the cap: only says there are more */
  return json_object_array_add(l->items, json_object_get(obj)) ? WFE_E_NOMEM
                                                               : 0;
}

static int host_lister(void *ctx, const char *api_version, const char *resource,
                       const char *namespace_name, const char *label_selector,
                       const char *field_selector, struct wfe_buf *out,
                       struct wfe_error *err)
{
  struct manager *m = ctx;
  struct wfe_resource res = {api_version, resource, namespace_name != NULL};
  struct wfe_list_options options = {
      .label_selector = *label_selector ? label_selector : NULL,
      .field_selector = *field_selector ? field_selector : NULL,
      .limit = WFE_LIST_MAX_ITEMS + 1,
      .first_page_only = 1,
  };
  struct listed l = {json_object_new_array(), 0};
  char *rv = NULL;
  if (!l.items)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  int rc = wfe_kube_list(m->client, &res, namespace_name, &options, add_listed,
                         &l, &rv, err);
  if (rc && err->http_status == 403)
    wfe_log_warn(LOGGER, NULL, "an engine may not list %s in %s: %s", resource,
                 namespace_name ? namespace_name : "every namespace",
                 wfe_error_message(err));
  json_object *list = rc ? NULL : json_object_new_object();
  json_object *metadata = rc ? NULL : json_object_new_object();
  if (!rc && (!list || !metadata ||
              wfe_json_set_string(list, "apiVersion", api_version) ||
              wfe_json_set_string(list, "kind", "List") ||
              (rv && wfe_json_set_string(metadata, "resourceVersion", rv)) ||
              (l.count > WFE_LIST_MAX_ITEMS &&
               wfe_json_set_string(metadata, "continue", "truncated")))) {
    rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  if (!rc) {
    /* json-c takes a member only when the add succeeds. */
    int added = json_object_object_add(list, "metadata", metadata);
    if (!added)
      metadata = NULL;
    added = added || json_object_object_add(list, "items", l.items);
    if (!added)
      l.items = NULL;
    size_t len = 0;
    const char *text = added ? NULL : wfe_json_text(list, &len);
    if (!text || wfe_buf_append(out, text, len))
      rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  json_object_put(metadata);
  json_object_put(list);
  json_object_put(l.items);
  free(rv);
  return rc;
}

/* ---- caches -------------------------------------------------------------
 */

static int watch_get(const struct watch *w, const char *namespace_name,
                     const char *name, json_object **out)
{
  struct wfe_buf key = WFE_BUF_INIT;
  if (wfe_buf_printf(&key, "%s/%s", namespace_name, name))
    return WFE_E_NOMEM;
  int rc = WFE_E_NOT_FOUND;
  for (size_t i = 0; i < w->count && rc == WFE_E_NOT_FOUND; i++)
    if (!w->namespaces[i] || !strcmp(w->namespaces[i], namespace_name))
      rc = wfe_store_get(wfe_informer_store(w->informers[i]), key.data, out);
  wfe_buf_free(&key);
  return rc;
}

static int get_execution(void *ctx, const char *namespace_name,
                         const char *name, json_object **out)
{
  struct manager *m = ctx;
  return watch_get(&m->executions, namespace_name, name, out);
}

static int same_type(const wfe_run_type *a, const wfe_run_type *b)
{
  return !strcmp(a->api_version, b->api_version) &&
         !strcmp(a->resource, b->resource);
}

static int get_run(void *ctx, const wfe_run_type *type,
                   const char *namespace_name, const char *name,
                   json_object **out)
{
  struct manager *m = ctx;
  int rc = WFE_E_NOT_FOUND; /* not watched: the reconciler asks the API */
  pthread_rwlock_rdlock(&m->runs_lock);
  for (size_t i = 0; i < m->run_count; i++)
    if (same_type(&m->runs[i].type, type)) {
      rc = watch_get(&m->runs[i], namespace_name, name, out);
      break;
    }
  pthread_rwlock_unlock(&m->runs_lock);
  return rc;
}

static int run_key(void *ctx, json_object *run, struct wfe_buf *key)
{
  (void)ctx;
  const char *owner = wfe_run_execution_key(run);
  return owner ? wfe_buf_puts(key, owner) : 1;
}

static void enqueue(void *ctx, const char *key)
{
  wfe_workqueue_add(ctx, key);
}

static int add_informer(struct manager *m, struct watch *w,
                        const struct wfe_resource *res, const char *ns,
                        const char *selector, struct wfe_informer_keys *keys,
                        struct wfe_error *err)
{
  struct wfe_informer **informers =
      realloc(w->informers, (w->count + 1) * sizeof(*informers));
  if (informers)
    w->informers = informers;
  char **namespaces =
      realloc(w->namespaces, (w->count + 1) * sizeof(*namespaces));
  if (namespaces)
    w->namespaces = namespaces;
  if (!informers || !namespaces)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  w->namespaces[w->count] = ns ? strdup(ns) : NULL;
  if (ns && !w->namespaces[w->count])
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  struct wfe_informer_options options = {
      .resource = *res,
      .namespace_name = ns,
      .label_selector = selector,
      .metrics = m->metrics,
  };
  struct wfe_informer *informer = NULL;
  int rc = wfe_informer_new(m->client, &options, &informer, err);
  if (!rc)
    rc = wfe_informer_add_handler(informer, wfe_informer_keys_on_event, keys);
  if (rc) {
    free(w->namespaces[w->count]);
    wfe_informer_free(informer);
    return rc ? rc : WFE_E_NOMEM;
  }
  w->informers[w->count++] = informer;
  return 0;
}

/* The namespaces to watch a type in: the configured list, or all (NULL). */
static int add_informers(struct manager *m, struct watch *w,
                         const struct wfe_resource *res, const char *only_ns,
                         const char *selector, struct wfe_informer_keys *keys,
                         struct wfe_error *err)
{
  if (only_ns)
    return add_informer(m, w, res, only_ns, selector, keys, err);
  if (m->config->namespace_count == 0)
    return add_informer(m, w, res, NULL, selector, keys, err);
  for (size_t i = 0; i < m->config->namespace_count; i++) {
    int rc =
        add_informer(m, w, res, m->config->namespaces[i], selector, keys, err);
    if (rc)
      return rc;
  }
  return 0;
}

/* Can we list this run type at all? A type whose CRD is not installed, or
 * that RBAC does not let us list, is not watched: its executions still work,
 * through reads of the API, only slower to notice completion. */
static int can_list(struct manager *m, const struct wfe_resource *res,
                    const char *ns)
{
  struct wfe_list_options options = {.limit = 1, .first_page_only = 1};
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = wfe_kube_list(m->client, res, ns, &options, NULL, NULL, NULL, &err);
  if (rc)
    wfe_log_warn(LOGGER, NULL,
                 "not watching %s in %s: %s; completion is noticed by the "
                 "%ld ms re-check only",
                 res->resource, ns ? ns : "all namespaces",
                 wfe_error_message(&err), m->config->resync_period_ms);
  wfe_error_clear(&err);
  return rc == 0;
}

static void free_watch(struct watch *w)
{
  for (size_t i = 0; i < w->count; i++) {
    wfe_informer_free(w->informers[i]);
    free(w->namespaces[i]);
  }
  free(w->informers);
  free(w->namespaces);
  free((char *)w->type.api_version);
  free((char *)w->type.kind);
  free((char *)w->type.resource);
}

/* Starts watching the run types of `reg` not watched yet. Returns 0 or an
 * error; a type that cannot be listed is skipped (logged). With `start`
 * the new informers are started at once (a reload); at start-up they are
 * started with the others. */
static int watch_run_types(struct manager *m, const struct wfe_registry *reg,
                           int start, struct wfe_error *err)
{
  const char *run_ns = m->config->execution_namespace;
  for (size_t i = 0; i < wfe_registry_engine_count(reg); i++) {
    const wfe_run_type *type = wfe_registry_engine_at(reg, i)->engine->run_type;
    int seen = 0;
    pthread_rwlock_rdlock(&m->runs_lock);
    for (size_t j = 0; j < m->run_count && !seen; j++)
      seen = same_type(&m->runs[j].type, type);
    pthread_rwlock_unlock(&m->runs_lock);
    struct wfe_resource res = {type->api_version, type->resource, 1};
    if (seen || !can_list(m, &res,
                          run_ns ? run_ns
                                 : (m->config->namespace_count
                                        ? m->config->namespaces[0]
                                        : NULL)))
      continue;
    struct watch w;
    memset(&w, 0, sizeof(w));
    w.type = (wfe_run_type){sizeof(wfe_run_type), strdup(type->api_version),
                            strdup(type->kind), strdup(type->resource),
                            type->has_status_subresource};
    int rc = !w.type.api_version || !w.type.kind || !w.type.resource
                 ? wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL)
                 : add_informers(m, &w, &res, run_ns,
                                 WFE_LABEL_MANAGED_BY "=" WFE_MANAGED_BY,
                                 &m->run_keys, err);
    for (size_t k = 0; !rc && start && k < w.count; k++)
      rc = wfe_informer_start(w.informers[k], err);
    pthread_rwlock_wrlock(&m->runs_lock);
    struct watch *grown =
        m->run_count < m->run_cap
            ? m->runs
            : realloc(m->runs, (m->run_cap ? m->run_cap * 2 : 4) * sizeof(w));
    if (grown && grown != m->runs) {
      m->runs = grown;
      m->run_cap = m->run_cap ? m->run_cap * 2 : 4;
    }
    if (grown)
      m->runs[m->run_count++] = w;
    pthread_rwlock_unlock(&m->runs_lock);
    if (!grown) {
      free_watch(&w);
      rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
    }
    if (rc)
      return rc;
    wfe_log_info(LOGGER, NULL, "watching %s %s", type->api_version,
                 type->resource);
  }
  return 0;
}

static int setup_informers(struct manager *m, struct wfe_error *err)
{
  static const struct wfe_resource executions = {WFE_EXECUTION_API_VERSION,
                                                 "workflowexecutions", 1};
  m->execution_keys = (struct wfe_informer_keys){NULL, NULL, enqueue, m->queue};
  m->run_keys = (struct wfe_informer_keys){run_key, NULL, enqueue, m->queue};
  int rc = add_informers(m, &m->executions, &executions, NULL, NULL,
                         &m->execution_keys, err);
  if (rc)
    return rc;
  const struct wfe_registry *reg = wfe_engine_set_acquire(m->engines);
  rc = watch_run_types(m, reg, 0, err);
  wfe_engine_set_release(m->engines, reg);
  return rc;
}

static int for_each_informer(struct manager *m,
                             int (*fn)(struct wfe_informer *, void *),
                             void *arg)
{
  for (size_t i = 0; i < m->executions.count; i++)
    if (fn(m->executions.informers[i], arg))
      return 1;
  int stopped = 0;
  pthread_rwlock_rdlock(&m->runs_lock);
  for (size_t r = 0; r < m->run_count && !stopped; r++)
    for (size_t i = 0; i < m->runs[r].count && !stopped; i++)
      stopped = fn(m->runs[r].informers[i], arg);
  pthread_rwlock_unlock(&m->runs_lock);
  return stopped;
}

static int informer_start(struct wfe_informer *informer, void *arg)
{
  return wfe_informer_start(informer, arg) != 0;
}

/* Waits for one cache; a SIGTERM or SIGINT meanwhile ends the wait (and
 * start-up) with 1. `arg` is the blocked signal set. */
static int informer_wait(struct wfe_informer *informer, void *arg)
{
  const sigset_t *signals = arg;
  struct timespec now = {0, 0};
  for (int waited = 0; wfe_informer_wait_synced(informer, 1000); waited++) {
    int sig = sigtimedwait(signals, NULL, &now);
    if (sig == SIGTERM || sig == SIGINT) {
      wfe_log_info(LOGGER, NULL,
                   "received a signal before the caches "
                   "synced: stopping");
      return 1;
    }
    if (waited % 5 == 4)
      wfe_log_info(LOGGER, NULL, "waiting for the caches to sync");
  }
  return 0;
}

static int informer_stop(struct wfe_informer *informer, void *arg)
{
  (void)arg;
  wfe_informer_stop(informer);
  return 0;
}

/* ---- engines, and their live reload --------------------------------------
 */

static int load_engines(void *ctx, const struct wfe_registry *previous,
                        struct wfe_registry **out, struct wfe_error *err)
{
  struct manager *m = ctx;
  struct wfe_cli_load load = {m->metrics, previous};
  return wfe_cli_load_registry(m->config, &m->services, &load, out, err);
}

/* Where an engine of `reg` comes from: "tekton 0.1.0 (sha256 ab12...)". */
static const struct wfe_engine_slot *slot_named(const struct wfe_registry *reg,
                                                const char *name)
{
  return wfe_registry_find(reg, name);
}

static int same_engine(const struct wfe_engine_slot *a,
                       const struct wfe_engine_slot *b)
{
  return !strcmp(a->plugin->sha256, b->plugin->sha256) &&
         !strcmp(a->plugin->path, b->plugin->path);
}

/* Logs and records (an Event on this Pod, when it is known) what a reload
 * changed, watches new run types, and re-checks every execution: one whose
 * engine left waits under a condition, one whose engine came back
 * continues. */
static void engines_changed(void *ctx, const struct wfe_registry *before,
                            const struct wfe_registry *now)
{
  struct manager *m = ctx;
  struct wfe_buf added = WFE_BUF_INIT, removed = WFE_BUF_INIT,
                 replaced = WFE_BUF_INIT;
  for (size_t i = 0; i < wfe_registry_engine_count(now); i++) {
    const struct wfe_engine_slot *s = wfe_registry_engine_at(now, i);
    const struct wfe_engine_slot *old = slot_named(before, s->engine->name);
    if (!old)
      wfe_buf_printf(&added, "%s%s %s", added.len ? ", " : "", s->engine->name,
                     s->engine->version);
    else if (!same_engine(old, s))
      wfe_buf_printf(&replaced, "%s%s %s -> %s", replaced.len ? ", " : "",
                     s->engine->name, old->engine->version, s->engine->version);
  }
  for (size_t i = 0; i < wfe_registry_engine_count(before); i++) {
    const struct wfe_engine_slot *s = wfe_registry_engine_at(before, i);
    if (!slot_named(now, s->engine->name))
      wfe_buf_printf(&removed, "%s%s", removed.len ? ", " : "",
                     s->engine->name);
  }
  struct wfe_buf message = WFE_BUF_INIT;
  wfe_buf_printf(&message,
                 "engines reloaded from %s: added: %s; replaced: "
                 "%s; removed: %s; %zu file%s refused",
                 m->plugins_dir, added.len ? added.data : "none",
                 replaced.len ? replaced.data : "none",
                 removed.len ? removed.data : "none",
                 wfe_registry_rejected_count(now),
                 wfe_registry_rejected_count(now) == 1 ? "" : "s");
  wfe_log_info(LOGGER, NULL, "%s", wfe_buf_str(&message));
  if (m->pod && m->events)
    wfe_event_record(m->events, m->pod, removed.len ? "Warning" : "Normal",
                     "EnginesReloaded", wfe_buf_str(&message));
  for (size_t i = 0; i < m->config->required_engine_count; i++)
    if (!wfe_registry_find(now, m->config->required_engines[i]))
      wfe_log_error(LOGGER, NULL,
                    "required engine %s is no longer loaded: its executions "
                    "wait until it returns",
                    m->config->required_engines[i]);
  wfe_buf_free(&message);
  wfe_buf_free(&added);
  wfe_buf_free(&removed);
  wfe_buf_free(&replaced);

  struct wfe_error err = WFE_ERROR_INIT;
  if (watch_run_types(m, now, 1, &err))
    wfe_log_error(LOGGER, NULL, "cannot watch the new run types: %s",
                  wfe_error_message(&err));
  wfe_error_clear(&err);
  for (size_t i = 0; i < m->executions.count; i++) {
    struct wfe_store_item **items = NULL;
    size_t count = 0;
    if (wfe_store_list(wfe_informer_store(m->executions.informers[i]), NULL,
                       NULL, &items, &count))
      continue;
    for (size_t j = 0; j < count; j++)
      wfe_workqueue_add(m->queue, wfe_store_item_key(items[j]));
    wfe_store_items_release(items, count);
  }
}

/* This controller's Pod, from the downward API (POD_NAME, POD_NAMESPACE,
 * POD_UID), as the object of its own Events; NULL outside a cluster. */
static json_object *own_pod(void)
{
  const char *name = getenv("POD_NAME"), *ns = getenv("POD_NAMESPACE");
  const char *uid = getenv("POD_UID");
  if (!name || !*name || !ns || !*ns)
    return NULL;
  json_object *pod = json_object_new_object();
  if (pod && (wfe_json_set_string(pod, "apiVersion", "v1") ||
              wfe_json_set_string(pod, "kind", "Pod") ||
              wfe_json_set_string(pod, "name", name) ||
              wfe_json_set_string(pod, "namespace", ns) ||
              (uid && *uid && wfe_json_set_string(pod, "uid", uid)))) {
    json_object_put(pod);
    return NULL;
  }
  return pod;
}

/* ---- workers and leadership ---------------------------------------------
 */

static void start_workers(void *ctx)
{
  struct manager *m = ctx;
  pthread_mutex_lock(&m->workers_lock);
  if (!m->workers && !m->stopping) {
    struct wfe_workers_options options = {
        .name = "workflowexecution",
        .workers = m->config->workers,
        .queue = m->queue,
        .reconcile = wfe_reconciler_reconcile,
        .reconcile_ctx = m->reconciler,
        .metrics = m->metrics,
    };
    struct wfe_error err = WFE_ERROR_INIT;
    if (wfe_workers_start(&options, &m->workers, &err))
      wfe_log_error(LOGGER, NULL, "cannot start workers: %s",
                    wfe_error_message(&err));
    else
      wfe_log_info(LOGGER, NULL, "started %d workers", m->config->workers);
    wfe_error_clear(&err);
  }
  pthread_mutex_unlock(&m->workers_lock);
}

static void stopped_leading(void *ctx)
{
  (void)ctx;
  wfe_log_warn(LOGGER, NULL, "stopped leading: no more writes");
}

static int ready(void *ctx, struct wfe_buf *reason)
{
  struct manager *m = ctx;
  if (atomic_load(&m->synced))
    return 1;
  wfe_buf_puts(reason, "caches not synced yet");
  return 0;
}

/* ---- start and stop -----------------------------------------------------
 */

static int start_client(struct manager *m, struct wfe_error *err)
{
  struct wfe_kube_config_load_options load = {.explicit_path =
                                                  m->config->kubeconfig};
  struct wfe_kube_config *kube = NULL;
  int rc = wfe_kube_config_load(&load, &kube, err);
  if (rc)
    return rc;
  struct wfe_kube_client_options options = {.metrics = m->metrics};
  rc = wfe_kube_client_new(kube, &options, &m->client, err);
  if (!rc && m->config->leader_elect) {
    /* The elector's own client: short timeouts, no retries of its own. */
    struct wfe_kube_client_options lease = {
        .request_timeout_ms = m->config->renew_deadline_ms / 2,
        .max_retries = -1,
        .metrics = m->metrics,
    };
    rc = wfe_kube_client_new(kube, &lease, &m->leader_client, err);
  }
  if (!rc && m->config->metrics_secure) {
    /* The scrapes' reviews: a scrape waits for them, so a short timeout and
     * no retries; an API server that does not answer fails it closed. */
    struct wfe_kube_client_options reviews = {
        .request_timeout_ms = m->config->metrics_auth_timeout_ms,
        .max_retries = -1,
        .metrics = m->metrics,
    };
    rc = wfe_kube_client_new(kube, &reviews, &m->auth_client, err);
  }
  wfe_kube_config_free(kube);
  return rc;
}

static unsigned authorize_scrape(void *ctx, const char *token)
{
  return wfe_auth_http_status(wfe_delegated_auth_check(ctx, token));
}

/* metricsSecure: the serving certificate and the API server's reviews. */
static int secure_metrics(struct manager *m, const char *address,
                          struct wfe_http_server_options *options,
                          struct wfe_error *err)
{
  const struct wfe_config *c = m->config;
  struct wfe_serving_cert_options cert = {
      .cert_file = c->metrics_cert_file,
      .key_file = c->metrics_key_file,
  };
  int rc = wfe_serving_cert_new(&cert, &m->metrics_cert, err);
  if (rc)
    return rc;
  struct wfe_delegated_auth_options auth = {
      .client = m->auth_client,
      .allow_ttl_ms = c->metrics_auth_allow_ttl_ms,
      .deny_ttl_ms = c->metrics_auth_deny_ttl_ms,
      .cache_size = (size_t)c->metrics_auth_cache_size,
      .verb = "get",
      .path = "/metrics",
      .metrics = m->metrics,
  };
  if ((rc = wfe_delegated_auth_new(&auth, &m->metrics_auth, err)))
    return rc;
  options->tls = m->metrics_cert;
  options->authorize = authorize_scrape;
  options->authorize_ctx = m->metrics_auth;
  char fingerprint[65];
  wfe_serving_cert_fingerprint(m->metrics_cert, fingerprint);
  if (wfe_serving_cert_generated(m->metrics_cert))
    wfe_log_info(LOGGER, NULL,
                 "serving metrics on %s over HTTPS with a self-signed "
                 "certificate generated at start-up (sha256 %s); set "
                 "metricsCertFile and metricsKeyFile to serve another",
                 address, fingerprint);
  else
    wfe_log_info(LOGGER, NULL,
                 "serving metrics on %s over HTTPS with the certificate of "
                 "%s (sha256 %s), read again when it changes",
                 address, c->metrics_cert_file, fingerprint);
  return 0;
}

static int start_endpoints(struct manager *m, struct wfe_error *err)
{
  const char *probes = m->config->health_probe_bind_address;
  const char *metrics = wfe_config_metrics_bind_address(m->config);
  int rc = 0;
  if (probes && strcmp(probes, "0") != 0) {
    struct wfe_http_server_options options = {
        .bind_address = probes,
        .endpoints = WFE_HTTP_PROBES,
        .ready = ready,
        .ready_ctx = m,
    };
    rc = wfe_http_server_start(&options, &m->probes, err);
  }
  if (!rc && metrics && strcmp(metrics, "0") != 0) {
    struct wfe_http_server_options options = {
        .bind_address = metrics,
        .endpoints = WFE_HTTP_METRICS,
        .metrics = m->metrics,
    };
    if (m->config->metrics_secure)
      rc = secure_metrics(m, metrics, &options, err);
    else
      wfe_log_warn(LOGGER, NULL,
                   "serving metrics on %s over plain HTTP to anyone who can "
                   "reach it (metricsSecure: false)",
                   metrics);
    if (!rc)
      rc = wfe_http_server_start(&options, &m->metrics_server, err);
  }
  return rc;
}

/* Returns 0 when running, 1 when a signal came during start-up (a clean
 * stop), or an error code. */
static int start(struct manager *m, const sigset_t *signals,
                 struct wfe_error *err)
{
  int rc = start_client(m, err);
  if (rc)
    return rc;
  wfe_host_services_init(&m->services, host_getter, m);
  wfe_host_services_set_lister(&m->services, host_lister, m);
  m->plugins_dir = wfe_cli_plugins_dir(m->config);
  struct wfe_engine_set_options engines = {
      .load = load_engines,
      .load_ctx = m,
      .changed = engines_changed,
      .changed_ctx = m,
      /* In this process a changed file cannot be loaded beside the old one:
       * reload needs engine hosts. */
      .watch_dir = m->config->engine_isolation == WFE_ISOLATION_PROCESS
                       ? m->plugins_dir
                       : NULL,
  };
  if ((rc = wfe_engine_set_start(&engines, &m->engines, err)))
    return rc;
  const struct wfe_registry *reg = wfe_engine_set_acquire(m->engines);
  rc = wfe_registry_require(reg,
                            (const char *const *)m->config->required_engines,
                            m->config->required_engine_count, err);
  struct wfe_buf names = WFE_BUF_INIT;
  wfe_registry_engine_names(reg, &names);
  wfe_engine_set_release(m->engines, reg);
  if (rc) {
    wfe_buf_free(&names);
    return rc;
  }
  wfe_log_info(LOGGER, NULL, "engines loaded: %s (%s)", wfe_buf_str(&names),
               m->config->engine_isolation == WFE_ISOLATION_PROCESS
                   ? "each plugin in a sandboxed engine host"
                   : "in this process, not isolated");
  wfe_buf_free(&names);

  if ((rc = start_endpoints(m, err)))
    return rc;
  struct wfe_workqueue_options queue = {.name = "workflowexecution",
                                        .metrics = m->metrics};
  if (wfe_workqueue_new(&queue, &m->queue))
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  if (m->config->leader_elect) {
    struct wfe_leader_options options = {
        .namespace_name = m->config->leader_election_namespace,
        .name = m->config->leader_election_id,
        .lease_duration_ms = m->config->lease_duration_ms,
        .renew_deadline_ms = m->config->renew_deadline_ms,
        .retry_period_ms = m->config->retry_period_ms,
        .metrics = m->metrics,
    };
    struct wfe_leader_callbacks callbacks = {
        .on_started_leading = start_workers,
        .on_stopped_leading = stopped_leading,
        .ctx = m,
    };
    if ((rc = wfe_leader_new(m->leader_client, &options, &callbacks, &m->leader,
                             err)))
      return rc;
  }
  struct wfe_event_recorder_options events = {
      .reporting_instance = m->leader ? wfe_leader_identity(m->leader) : NULL,
      .gate = m->leader ? wfe_leader_gate : NULL,
      .gate_ctx = m->leader,
      .metrics = m->metrics,
  };
  if ((rc = wfe_event_recorder_new(m->client, &events, &m->events, err)))
    return rc;
  struct wfe_reconciler_options reconciler = {
      .client = m->client,
      .engines = m->engines,
      .max_consecutive_faults = m->config->max_consecutive_faults,
      .default_engine = m->config->default_engine,
      .execution_namespace = m->config->execution_namespace,
      .resync_period_ms = m->config->resync_period_ms,
      .status_progress_interval_ms = m->config->status_progress_interval_ms,
      .get_execution = get_execution,
      .get_run = get_run,
      .cache_ctx = m,
      .gate = m->leader ? wfe_leader_gate : NULL,
      .gate_ctx = m->leader,
      .events = m->events,
      .metrics = m->metrics,
  };
  if ((rc = wfe_reconciler_new(&reconciler, &m->reconciler, err)) ||
      (rc = setup_informers(m, err)))
    return rc;
  if (for_each_informer(m, informer_start, err))
    return err->code ? err->code : WFE_E_UNAVAILABLE;
  if (for_each_informer(m, informer_wait, (void *)signals))
    return 1;
  atomic_store(&m->synced, 1);
  wfe_log_info(LOGGER, NULL, "caches synced");
  if (m->leader)
    return wfe_leader_start(m->leader, err);
  start_workers(m);
  return 0;
}

static void stop(struct manager *m)
{
  pthread_mutex_lock(&m->workers_lock);
  m->stopping = 1;
  pthread_mutex_unlock(&m->workers_lock);
  int drained = 1;
  if (m->workers)
    drained = wfe_workers_stop(m->workers, m->config->shutdown_grace_ms) == 0;
  else if (m->queue)
    wfe_workqueue_shutdown(m->queue);
  if (m->leader) {
    struct wfe_error err = WFE_ERROR_INIT;
    if (wfe_leader_release(m->leader, &err))
      wfe_log_warn(LOGGER, NULL, "could not release the lease: %s",
                   wfe_error_message(&err));
    wfe_error_clear(&err);
  }
  wfe_event_recorder_free(m->events);
  for_each_informer(m, informer_stop, NULL);
  wfe_http_server_stop(m->probes);
  wfe_http_server_stop(m->metrics_server);
  wfe_delegated_auth_free(m->metrics_auth);
  wfe_serving_cert_free(m->metrics_cert);
  m->metrics_auth = NULL;
  m->metrics_cert = NULL;
  if (!drained) /* workers still run: leave the rest to the process exit */
    return;
  wfe_workers_free(m->workers);
  wfe_leader_free(m->leader);
  free_watch(&m->executions);
  for (size_t i = 0; i < m->run_count; i++)
    free_watch(&m->runs[i]);
  free(m->runs);
  wfe_reconciler_free(m->reconciler);
  wfe_workqueue_free(m->queue);
  wfe_engine_set_free(m->engines);
  free(m->plugins_dir);
  json_object_put(m->pod);
  pthread_rwlock_destroy(&m->runs_lock);
  wfe_kube_client_free(m->leader_client);
  wfe_kube_client_free(m->auth_client);
  wfe_kube_client_free(m->client);
  wfe_metrics_free(m->metrics);
}

int wfe_manager_run(const struct wfe_config *config, struct wfe_error *err)
{
  /* Signals go to the thread that waits for them, never to a worker. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct manager m;
  memset(&m, 0, sizeof(m));
  m.config = config;
  pthread_mutex_init(&m.workers_lock, NULL);
  pthread_rwlock_init(&m.runs_lock, NULL);
  m.pod = own_pod();
  m.metrics = wfe_metrics_new();
  if (!m.metrics)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  wfe_metrics_register_process_collector(m.metrics);

  int rc = start(&m, &signals, err);
  while (!rc) {
    /* Parsing JSON makes many small allocations; after a burst glibc keeps
     * the freed pages in its arenas. Hand them back now and then. */
    struct timespec trim_every = {30, 0};
    int sig = sigtimedwait(&signals, NULL, &trim_every);
    if (sig == SIGTERM || sig == SIGINT) {
      wfe_log_info(LOGGER, NULL, "received %s: stopping",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    malloc_trim(0);
  }
  stop(&m);
  pthread_mutex_destroy(&m.workers_lock);
  if (rc == 1) /* stopped by a signal while starting */
    rc = 0;
  if (!rc)
    wfe_log_info(LOGGER, NULL, "stopped");
  return rc;
}
