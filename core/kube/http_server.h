/*
 * The controller's own HTTP endpoints: /healthz and /readyz for the kubelet's
 * probes, /metrics for Prometheus. Like controller-runtime, the probes and
 * the metrics may live on different addresses (--health-probe-bind-address,
 * --metrics-bind-address): run one server per address, each serving the
 * endpoints chosen for it. HTTP/1.1 with libmicrohttpd in its own thread;
 * GET and HEAD only. The probes stay plain HTTP for the kubelet; the metrics
 * server may serve TLS (a serving_cert.h certificate, chosen per handshake)
 * and ask an authorizer for each /metrics request's bearer token. The
 * server knows nothing of what it reports nor of who decides: readiness
 * and authorization are callbacks, metrics a registry.
 */
#ifndef WFE_KUBE_HTTP_SERVER_H
#define WFE_KUBE_HTTP_SERVER_H

#include <stdint.h>

#include "buf.h"
#include "error.h"

struct wfe_metrics;
struct wfe_http_server;
struct wfe_serving_cert;

/* The endpoints a server answers; others get 404. */
#define WFE_HTTP_HEALTHZ 0x1u /* 200 "ok" while the process runs */
#define WFE_HTTP_READYZ 0x2u  /* 200 "ok" or 503 with the reason */
#define WFE_HTTP_METRICS 0x4u /* the registry, text format 0.0.4 */
#define WFE_HTTP_PROBES (WFE_HTTP_HEALTHZ | WFE_HTTP_READYZ)
#define WFE_HTTP_ALL (WFE_HTTP_PROBES | WFE_HTTP_METRICS)

/*
 * Says whether the process is ready to work: returns non-zero when ready;
 * else 0, after appending a short reason for people to `reason` (e.g. "caches
 * not synced"). Called on the server's thread for every /readyz request, so
 * it must be thread-safe and quick (read a flag, take no long lock).
 */
typedef int (*wfe_http_ready_fn)(void *ctx, struct wfe_buf *reason);

/*
 * Decides whether a /metrics request may be answered. `token` is the
 * request's bearer token ("Authorization: Bearer ..."), or NULL when it had
 * none; borrowed for the call, never to be logged. Returns the HTTP status
 * to answer with: 200 to serve, 401 (the answer then carries
 * WWW-Authenticate: Bearer), 403, or 503. Called on the server's thread;
 * may block (the probes have their own server and are not held up).
 */
typedef unsigned (*wfe_http_authorize_fn)(void *ctx, const char *token);

struct wfe_http_server_options {
  /* "host:port", ":port" for every interface, "[v6]:port"; port 0 picks an
   * ephemeral port (see wfe_http_server_port). */
  const char *bind_address;
  unsigned endpoints; /* WFE_HTTP_* bits; 0 means WFE_HTTP_ALL */
  /* Rendered by /metrics; borrowed, must outlive the server. NULL serves an
   * empty exposition. */
  struct wfe_metrics *metrics;
  /* Readiness for /readyz; NULL means always ready. */
  wfe_http_ready_fn ready;
  void *ready_ctx;
  /* Non-NULL: serve HTTPS with this certificate (borrowed, must outlive the
   * server); NULL: plain HTTP. */
  struct wfe_serving_cert *tls;
  /* Non-NULL: /metrics answers only what it allows; NULL: everyone. */
  wfe_http_authorize_fn authorize;
  void *authorize_ctx;
  unsigned connection_limit; /* 0 means 64 */
  unsigned timeout_seconds;  /* idle connection timeout; 0 means 10 */
};

/*
 * Binds, listens and starts serving on a thread of the server's own.
 * Returns 0 with *out set, or WFE_E_INVALID (bad address), WFE_E_UNAVAILABLE
 * (cannot bind, e.g. the port is taken) or WFE_E_NOMEM, with `err` filled.
 */
int wfe_http_server_start(const struct wfe_http_server_options *options,
                          struct wfe_http_server **out, struct wfe_error *err);

/* The port the server listens on (the ephemeral one when 0 was asked). */
uint16_t wfe_http_server_port(const struct wfe_http_server *server);

/* Stops serving, closes every connection and the socket, frees the server.
 * Callbacks are not running any more when it returns. Accepts NULL. */
void wfe_http_server_stop(struct wfe_http_server *server);

/* The bearer token of an Authorization header value: a pointer into
 * `header` past "Bearer " (scheme case-insensitive, blanks skipped), or NULL
 * when there is none or it is empty. */
const char *wfe_http_bearer_token(const char *header);

/*
 * Splits a bind address into host and port: "127.0.0.1:8081" gives
 * "127.0.0.1" and 8081, ":9090" gives "" and 9090, "[::1]:80" gives "::1".
 * *host is allocated for the caller to free. Returns 0 or WFE_E_INVALID.
 * For validating flags before anything starts.
 */
int wfe_http_parse_bind_address(const char *address, char **host,
                                uint16_t *port, struct wfe_error *err);

#endif
