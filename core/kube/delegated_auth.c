/*
 * Delegated authentication and authorization of scrapes; see
 * delegated_auth.h. Two POSTs through the API client, their answers read
 * here, the outcome cached by token digest.
 */
#include "delegated_auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "json_util.h"
#include "kube_client.h"
#include "log.h"
#include "metrics.h"
#include "sha256.h"

#define LOGGER "metrics"

unsigned wfe_auth_http_status(enum wfe_auth_decision decision)
{
  switch (decision) {
  case WFE_AUTH_ALLOWED:
    return 200;
  case WFE_AUTH_UNAUTHENTICATED:
    return 401;
  case WFE_AUTH_FORBIDDEN:
    return 403;
  default:
    return 503;
  }
}

/* --- The cache ------------------------------------------------------------ */

struct cache_entry {
  unsigned char digest[32];
  int64_t expires_ms;
  enum wfe_auth_decision decision;
};

struct wfe_auth_cache {
  pthread_mutex_t lock;
  struct cache_entry *entries;
  size_t count, capacity;
};

struct wfe_auth_cache *wfe_auth_cache_new(size_t capacity)
{
  struct wfe_auth_cache *cache = calloc(1, sizeof(*cache));
  if (!cache)
    return NULL;
  cache->capacity = capacity ? capacity : 1;
  cache->entries = calloc(cache->capacity, sizeof(*cache->entries));
  if (!cache->entries) {
    free(cache);
    return NULL;
  }
  pthread_mutex_init(&cache->lock, NULL);
  return cache;
}

void wfe_auth_cache_free(struct wfe_auth_cache *cache)
{
  if (!cache)
    return;
  pthread_mutex_destroy(&cache->lock);
  free(cache->entries);
  free(cache);
}

/* The entry of `digest`, or NULL. Under the lock. */
static struct cache_entry *cache_find(struct wfe_auth_cache *cache,
                                      const unsigned char digest[32])
{
  for (size_t i = 0; i < cache->count; i++)
    if (!memcmp(cache->entries[i].digest, digest, 32))
      return &cache->entries[i];
  return NULL;
}

int wfe_auth_cache_get(struct wfe_auth_cache *cache,
                       const unsigned char digest[32], int64_t now_ms,
                       enum wfe_auth_decision *out)
{
  pthread_mutex_lock(&cache->lock);
  struct cache_entry *e = cache_find(cache, digest);
  int hit = e && e->expires_ms > now_ms;
  if (hit)
    *out = e->decision;
  pthread_mutex_unlock(&cache->lock);
  return hit;
}

/* Makes room for one entry: drops the expired ones, else the one that
 * expires first. Under the lock. */
static void cache_evict(struct wfe_auth_cache *cache, int64_t now_ms)
{
  size_t kept = 0, first = 0;
  for (size_t i = 0; i < cache->count; i++)
    if (cache->entries[i].expires_ms > now_ms)
      cache->entries[kept++] = cache->entries[i];
  cache->count = kept;
  if (kept < cache->capacity)
    return;
  for (size_t i = 1; i < cache->count; i++)
    if (cache->entries[i].expires_ms < cache->entries[first].expires_ms)
      first = i;
  cache->entries[first] = cache->entries[--cache->count];
}

void wfe_auth_cache_put(struct wfe_auth_cache *cache,
                        const unsigned char digest[32],
                        enum wfe_auth_decision decision, int64_t expires_ms,
                        int64_t now_ms)
{
  if (expires_ms <= now_ms)
    return;
  pthread_mutex_lock(&cache->lock);
  struct cache_entry *e = cache_find(cache, digest);
  if (!e) {
    if (cache->count == cache->capacity)
      cache_evict(cache, now_ms);
    e = &cache->entries[cache->count++];
    memcpy(e->digest, digest, 32);
  }
  e->decision = decision;
  e->expires_ms = expires_ms;
  pthread_mutex_unlock(&cache->lock);
}

size_t wfe_auth_cache_size(struct wfe_auth_cache *cache)
{
  pthread_mutex_lock(&cache->lock);
  size_t n = cache->count;
  pthread_mutex_unlock(&cache->lock);
  return n;
}

/* --- Reading the reviews ----------------------------------------------------
 */

/* Copies `key` of `from` into `to` when it has type `type`. */
static int copy_member(json_object *from, json_object *to, const char *key,
                       json_type type)
{
  json_object *value = NULL;
  if (!json_object_object_get_ex(from, key, &value) ||
      !json_object_is_type(value, type))
    return 0;
  return json_object_object_add(to, key, json_object_get(value)) ? WFE_E_NOMEM
                                                                 : 0;
}

static int all_strings(json_object *array)
{
  if (!json_object_is_type(array, json_type_array))
    return 0;
  for (size_t i = 0; i < json_object_array_length(array); i++)
    if (!json_object_is_type(json_object_array_get_idx(array, i),
                             json_type_string))
      return 0;
  return 1;
}

/* extra: a map of string lists; a malformed one is not passed on. */
static int well_formed_extra(json_object *extra)
{
  if (!json_object_is_type(extra, json_type_object))
    return 0;
  json_object_object_foreach(extra, key, values)
  {
    (void)key;
    if (!all_strings(values))
      return 0;
  }
  return 1;
}

int wfe_auth_read_token_review(json_object *review, json_object **out_user)
{
  *out_user = NULL;
  json_object *status = wfe_json_get(review, "status");
  json_object *authenticated = NULL;
  if (!status ||
      !json_object_object_get_ex(status, "authenticated", &authenticated) ||
      !json_object_is_type(authenticated, json_type_boolean) ||
      !json_object_get_boolean(authenticated))
    return 0;
  json_object *user = wfe_json_get(status, "user");
  const char *name = wfe_json_get_string(status, "user.username");
  if (!user || !name || !*name)
    return WFE_E_INVALID;
  json_object *spec = json_object_new_object();
  if (!spec)
    return WFE_E_NOMEM;
  int rc = wfe_json_set_string(spec, "user", name);
  if (!rc)
    rc = copy_member(user, spec, "uid", json_type_string);
  json_object *groups = NULL;
  if (!rc && json_object_object_get_ex(user, "groups", &groups) &&
      all_strings(groups))
    rc = copy_member(user, spec, "groups", json_type_array);
  json_object *extra = NULL;
  if (!rc && json_object_object_get_ex(user, "extra", &extra) &&
      well_formed_extra(extra))
    rc = copy_member(user, spec, "extra", json_type_object);
  if (rc) {
    json_object_put(spec);
    return rc;
  }
  *out_user = spec;
  return 1;
}

int wfe_auth_read_access_review(json_object *review)
{
  json_object *status = wfe_json_get(review, "status");
  json_object *allowed = NULL, *denied = NULL;
  if (!status || !json_object_object_get_ex(status, "allowed", &allowed) ||
      !json_object_is_type(allowed, json_type_boolean) ||
      !json_object_get_boolean(allowed))
    return 0;
  if (json_object_object_get_ex(status, "denied", &denied) &&
      json_object_get_boolean(denied))
    return 0;
  return 1;
}

/* --- Asking the API server --------------------------------------------------
 */

struct wfe_delegated_auth {
  struct wfe_kube_client *client;
  struct wfe_auth_cache *cache;
  long allow_ttl_ms, deny_ttl_ms;
  char *verb, *path;
  struct wfe_metric *total; /* wfe_metrics_auth_total{result} */
};

int wfe_delegated_auth_new(const struct wfe_delegated_auth_options *options,
                           struct wfe_delegated_auth **out,
                           struct wfe_error *err)
{
  *out = NULL;
  struct wfe_delegated_auth *auth = calloc(1, sizeof(*auth));
  if (!auth)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  auth->client = options->client;
  auth->allow_ttl_ms = options->allow_ttl_ms;
  auth->deny_ttl_ms = options->deny_ttl_ms;
  auth->cache =
      wfe_auth_cache_new(options->cache_size ? options->cache_size : 1024);
  auth->verb = strdup(options->verb ? options->verb : "get");
  auth->path = strdup(options->path ? options->path : "/metrics");
  if (!auth->cache || !auth->verb || !auth->path) {
    wfe_delegated_auth_free(auth);
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  static const char *const labels[] = {"result", "cached"};
  auth->total = wfe_metrics_counter(
      options->metrics, "wfe_metrics_auth_total",
      "Requests to the metrics endpoint by authentication and authorization "
      "result (allowed, unauthenticated, forbidden, unavailable) and whether "
      "the decision came from the cache.",
      labels, 2);
  *out = auth;
  return 0;
}

void wfe_delegated_auth_free(struct wfe_delegated_auth *auth)
{
  if (!auth)
    return;
  wfe_auth_cache_free(auth->cache);
  free(auth->verb);
  free(auth->path);
  free(auth);
}

static const char *decision_name(enum wfe_auth_decision decision)
{
  static const char *const names[] = {"allowed", "unauthenticated", "forbidden",
                                      "unavailable"};
  return names[decision];
}

/* The API server could not answer: say why, without the token (the answer
 * should never quote it; make sure). */
static enum wfe_auth_decision unavailable(const char *what, const char *token,
                                          struct wfe_error *err)
{
  char *message = err->message;
  size_t n = strlen(token);
  for (char *hit; message && n && (hit = strstr(message, token));)
    memset(hit, '*', n);
  wfe_log_warn(LOGGER, NULL,
               "cannot %s for a metrics request, refusing it (503): %s", what,
               wfe_error_message(err));
  wfe_error_clear(err);
  return WFE_AUTH_UNAVAILABLE;
}

/* The TokenReview, then the SubjectAccessReview: the decision, uncached. */
static enum wfe_auth_decision ask(struct wfe_delegated_auth *auth,
                                  const char *token)
{
  static const struct wfe_resource token_reviews = {"authentication.k8s.io/v1",
                                                    "tokenreviews", 0};
  static const struct wfe_resource access_reviews = {"authorization.k8s.io/v1",
                                                     "subjectaccessreviews", 0};
  struct wfe_error err = WFE_ERROR_INIT;
  json_object *request = json_object_new_object();
  json_object *spec = json_object_new_object();
  json_object *answer = NULL, *user = NULL, *attributes = NULL;
  enum wfe_auth_decision decision = WFE_AUTH_UNAVAILABLE;
  int rc =
      !request || !spec ||
      wfe_json_set_string(request, "apiVersion", token_reviews.api_version) ||
      wfe_json_set_string(request, "kind", "TokenReview") ||
      wfe_json_set_string(spec, "token", token) ||
      json_object_object_add(request, "spec", spec);
  if (rc) {
    json_object_put(spec);
    json_object_put(request);
    return WFE_AUTH_UNAVAILABLE;
  }
  rc = wfe_kube_create(auth->client, &token_reviews, NULL, request, &answer,
                       &err);
  json_object_put(request); /* the token: dropped at once */
  if (rc)
    return unavailable("create a TokenReview", token, &err);
  rc = wfe_auth_read_token_review(answer, &user);
  json_object_put(answer);
  answer = NULL;
  if (rc == 0)
    return WFE_AUTH_UNAUTHENTICATED;
  if (rc < 0) {
    wfe_error_set(&err, rc, 0, "InvalidResponse", NULL,
                  "the TokenReview's answer names no user");
    return unavailable("read a TokenReview", token, &err);
  }
  request = json_object_new_object();
  attributes = json_object_new_object();
  rc = !request || !attributes ||
       wfe_json_set_string(request, "apiVersion", access_reviews.api_version) ||
       wfe_json_set_string(request, "kind", "SubjectAccessReview") ||
       wfe_json_set_string(attributes, "path", auth->path) ||
       wfe_json_set_string(attributes, "verb", auth->verb) ||
       json_object_object_add(user, "nonResourceAttributes", attributes);
  if (rc) {
    json_object_put(attributes);
    json_object_put(user);
    json_object_put(request);
    return WFE_AUTH_UNAVAILABLE;
  }
  if (json_object_object_add(request, "spec", user)) {
    json_object_put(user);
    json_object_put(request);
    return WFE_AUTH_UNAVAILABLE;
  }
  rc = wfe_kube_create(auth->client, &access_reviews, NULL, request, &answer,
                       &err);
  json_object_put(request);
  if (rc)
    return unavailable("create a SubjectAccessReview", token, &err);
  decision = wfe_auth_read_access_review(answer) ? WFE_AUTH_ALLOWED
                                                 : WFE_AUTH_FORBIDDEN;
  json_object_put(answer);
  return decision;
}

enum wfe_auth_decision wfe_delegated_auth_check(struct wfe_delegated_auth *auth,
                                                const char *token)
{
  enum wfe_auth_decision decision = WFE_AUTH_UNAUTHENTICATED;
  const char *cached = "false";
  if (token && *token) {
    unsigned char digest[32];
    struct wfe_sha256 sha;
    wfe_sha256_init(&sha);
    wfe_sha256_update(&sha, token, strlen(token));
    wfe_sha256_final(&sha, digest);
    int64_t now = wfe_monotonic_ms();
    if (wfe_auth_cache_get(auth->cache, digest, now, &decision)) {
      cached = "true";
    } else {
      decision = ask(auth, token);
      now = wfe_monotonic_ms();
      if (decision == WFE_AUTH_ALLOWED)
        wfe_auth_cache_put(auth->cache, digest, decision,
                           now + auth->allow_ttl_ms, now);
      else if (decision != WFE_AUTH_UNAVAILABLE)
        wfe_auth_cache_put(auth->cache, digest, decision,
                           now + auth->deny_ttl_ms, now);
    }
  }
  wfe_metric_add(auth->total,
                 (const char *const[]){decision_name(decision), cached}, 1);
  return decision;
}
