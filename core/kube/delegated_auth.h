/*
 * Who may scrape /metrics, decided by the API server as controller-runtime's
 * WithAuthenticationAndAuthorization filter does: the request's bearer token
 * goes into a TokenReview (authentication.k8s.io/v1); the user it names into
 * a SubjectAccessReview (authorization.k8s.io/v1) for the non-resource URL
 * and verb. Answers are cached, allowed and denied alike, keyed by the
 * SHA-256 of the token (the token itself is never kept nor logged), for a
 * short time and a bounded number of tokens, so a scrape every few seconds
 * costs the API server almost nothing. An API server that cannot answer
 * (timeout, error, our own RBAC missing) fails the scrape closed and is not
 * cached.
 */
#ifndef WFE_KUBE_DELEGATED_AUTH_H
#define WFE_KUBE_DELEGATED_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

struct wfe_kube_client;
struct wfe_metrics;

enum wfe_auth_decision {
  WFE_AUTH_ALLOWED = 0,
  WFE_AUTH_UNAUTHENTICATED, /* no token, or the API server rejects it: 401 */
  WFE_AUTH_FORBIDDEN,       /* authenticated, not allowed: 403 */
  WFE_AUTH_UNAVAILABLE,     /* the API server could not tell: 503 */
};

/* The HTTP status of a decision: 200, 401, 403, 503. */
unsigned wfe_auth_http_status(enum wfe_auth_decision decision);

/* --- The cache ------------------------------------------------------------
 * Decisions by token digest, each until its expiry (monotonic ms). Full, it
 * drops the expired entries, then the one that expires first. Thread-safe.
 * Exposed for the unit tests; wfe_delegated_auth uses it. */
struct wfe_auth_cache;

/* `capacity` entries, at least 1. NULL on out of memory. */
struct wfe_auth_cache *wfe_auth_cache_new(size_t capacity);
void wfe_auth_cache_free(struct wfe_auth_cache *cache);
/* Returns 1 with *out set when a live entry exists at `now_ms`, else 0. */
int wfe_auth_cache_get(struct wfe_auth_cache *cache,
                       const unsigned char digest[32], int64_t now_ms,
                       enum wfe_auth_decision *out);
void wfe_auth_cache_put(struct wfe_auth_cache *cache,
                        const unsigned char digest[32],
                        enum wfe_auth_decision decision, int64_t expires_ms,
                        int64_t now_ms);
size_t wfe_auth_cache_size(struct wfe_auth_cache *cache);

/* --- The API server's answers (outside input; fuzzed) -----------------------
 */

/*
 * Reads a TokenReview answer. Returns 1 when status.authenticated is true,
 * with *out_user a new SubjectAccessReview spec for that user (user, uid,
 * groups, extra copied when well-formed) to complete and put; 0 when not
 * authenticated; WFE_E_INVALID when the answer is not a TokenReview status
 * we can read (no user name), WFE_E_NOMEM.
 */
int wfe_auth_read_token_review(json_object *review, json_object **out_user);

/* Reads a SubjectAccessReview answer: 1 when status.allowed is true and
 * status.denied is not, else 0. */
int wfe_auth_read_access_review(json_object *review);

/* --- Delegated authentication and authorization ------------------------- */

struct wfe_delegated_auth_options {
  /* Makes the reviews; borrowed, must outlive the checker. Give it a short
   * request timeout and no retries: a scrape waits for it. */
  struct wfe_kube_client *client;
  long allow_ttl_ms; /* how long an allowed token stays allowed: 0 none */
  long deny_ttl_ms;  /* how long a refused token stays refused: 0 none */
  size_t cache_size; /* tokens remembered; 0 means 1024 */
  const char *verb;  /* "get" */
  const char *path;  /* "/metrics" */
  struct wfe_metrics *metrics; /* wfe_metrics_auth_total{result}; may be NULL */
};

struct wfe_delegated_auth;

int wfe_delegated_auth_new(const struct wfe_delegated_auth_options *options,
                           struct wfe_delegated_auth **out,
                           struct wfe_error *err);
void wfe_delegated_auth_free(struct wfe_delegated_auth *auth);

/* Decides for one request's bearer token (NULL or "" when it had none).
 * Thread-safe; may block for one TokenReview and one SubjectAccessReview. */
enum wfe_auth_decision wfe_delegated_auth_check(struct wfe_delegated_auth *auth,
                                                const char *token);

#endif
