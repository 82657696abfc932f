/*
 * The Kubernetes API client over libcurl; see kube_client.h.
 *
 * Connections: curl's shared connection cache (CURL_LOCK_DATA_CONNECT) is
 * documented as unsafe between concurrent threads (curl KNOWN_BUGS "A shared
 * connection cache is not thread-safe"), so the share holds only the DNS
 * cache and TLS sessions, and connections live in easy handles kept in a
 * small pool: a request takes a handle (and the warm connection it holds),
 * and gives it back afterwards. One thread uses a handle at a time.
 * Watches run one handle each on a private multi handle, so the stop flag
 * and the idle check are looked at every 100 ms.
 */
#include "kube_client.h"

#include "json_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "backoff.h"
#include "kubeconfig.h"
#include "metrics.h"
#include "status.h"

#define POOL_MAX 16
#define RESPONSE_MAX (512u * 1024u * 1024u)
#define ERROR_BODY_MAX (1024u * 1024u)
#define WATCH_EVENT_MAX (16u * 1024u * 1024u)
#define WATCH_POLL_MS 100
#define CONNECT_TIMEOUT_MAX_MS 10000L

struct wfe_kube_client {
  struct wfe_kube_config *config;
  struct wfe_kube_auth *auth;
  long request_timeout_ms;
  int max_retries;
  long backoff_base_ms;
  long backoff_cap_ms;
  char *user_agent;
  char *base_url;   /* server, or tls-server-name in place of the host */
  char *host_label; /* host[:port] for metrics */
  struct curl_slist *connect_to;
  CURLSH *share;
  pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
  pthread_mutex_t pool_lock;
  CURL *pool[POOL_MAX];
  size_t pool_count;
  struct wfe_metric *requests_total;
};

/* --- Process-wide curl initialisation ------------------------------------
 * curl_global_init runs with the first client and curl_global_cleanup after
 * the last one is freed. */
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned global_users;

static int global_acquire(void)
{
  int rc = 0;
  pthread_mutex_lock(&global_lock);
  if (global_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    rc = -1;
  if (!rc)
    global_users++;
  pthread_mutex_unlock(&global_lock);
  return rc;
}

static void global_release(void)
{
  pthread_mutex_lock(&global_lock);
  if (global_users && --global_users == 0)
    curl_global_cleanup();
  pthread_mutex_unlock(&global_lock);
}

static void share_lock(CURL *handle, curl_lock_data data,
                       curl_lock_access access, void *userptr)
{
  struct wfe_kube_client *client = userptr;
  pthread_mutex_lock(&client->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
  struct wfe_kube_client *client = userptr;
  pthread_mutex_unlock(&client->share_locks[data]);
}

static int nomem(struct wfe_error *err)
{
  return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL,
                       "out of memory");
}

/* --- Paths and queries --------------------------------------------------- */

static int is_unreserved(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

static int append_escaped(struct wfe_buf *buf, const char *s, size_t len)
{
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
    int rc = is_unreserved(c) ? wfe_buf_append(buf, (const char *)&s[i], 1)
                              : wfe_buf_append(buf, esc, 3);
    if (rc)
      return rc;
  }
  return 0;
}

static int append_segment(struct wfe_buf *buf, const char *s, size_t len)
{
  if (len == 0 || (len == 1 && s[0] == '.') ||
      (len == 2 && s[0] == '.' && s[1] == '.'))
    return WFE_E_INVALID;
  if (wfe_buf_append(buf, "/", 1))
    return WFE_E_NOMEM;
  return append_escaped(buf, s, len);
}

int wfe_kube_path(const struct wfe_resource *res, const char *namespace_name,
                  const char *name, const char *subresource,
                  struct wfe_buf *out)
{
  if (!res || !res->api_version || !res->resource || (subresource && !name))
    return WFE_E_INVALID;
  const char *av = res->api_version;
  const char *slash = strchr(av, '/');
  int rc;
  if (!slash) {
    rc = wfe_buf_puts(out, "/api");
    if (!rc)
      rc = append_segment(out, av, strlen(av));
  } else {
    if (strchr(slash + 1, '/'))
      return WFE_E_INVALID;
    rc = wfe_buf_puts(out, "/apis");
    if (!rc)
      rc = append_segment(out, av, (size_t)(slash - av));
    if (!rc)
      rc = append_segment(out, slash + 1, strlen(slash + 1));
  }
  if (!rc && namespace_name) {
    if (!res->namespaced)
      return WFE_E_INVALID;
    rc = wfe_buf_puts(out, "/namespaces");
    if (!rc)
      rc = append_segment(out, namespace_name, strlen(namespace_name));
  }
  if (!rc)
    rc = append_segment(out, res->resource, strlen(res->resource));
  if (!rc && name)
    rc = append_segment(out, name, strlen(name));
  if (!rc && subresource)
    rc = append_segment(out, subresource, strlen(subresource));
  return rc;
}

/* Appends "?key=value" or "&key=value"; NULL values are skipped. */
static int query_add(struct wfe_buf *url, const char *key, const char *value)
{
  if (!value)
    return 0;
  int rc = wfe_buf_puts(url, strchr(wfe_buf_str(url), '?') ? "&" : "?");
  if (!rc)
    rc = wfe_buf_puts(url, key);
  if (!rc)
    rc = wfe_buf_append(url, "=", 1);
  if (!rc)
    rc = append_escaped(url, value, strlen(value));
  return rc;
}

static int build_url(struct wfe_kube_client *client,
                     const struct wfe_resource *res, const char *namespace_name,
                     const char *name, const char *subresource,
                     struct wfe_buf *url, struct wfe_error *err)
{
  int rc = wfe_buf_puts(url, client->base_url);
  if (!rc)
    rc = wfe_kube_path(res, namespace_name, name, subresource, url);
  if (rc == WFE_E_NOMEM)
    return nomem(err);
  if (rc)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidPath", NULL,
                         "invalid request path for %s %s%s%s%s%s",
                         res && res->api_version ? res->api_version : "?",
                         res && res->resource ? res->resource : "?",
                         namespace_name ? " in namespace " : "",
                         namespace_name ? namespace_name : "", name ? " " : "",
                         name ? name : "");
  return 0;
}

/* --- One HTTP exchange --------------------------------------------------- */

struct response {
  long status;
  struct wfe_buf body;
  size_t max;
  int too_large;
  int64_t retry_after_ms; /* -1: none */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
  struct response *resp = userdata;
  size_t len = size * nmemb;
  if (resp->body.len + len > resp->max) {
    resp->too_large = 1;
    return 0;
  }
  return wfe_buf_append(&resp->body, data, len) ? 0 : len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
  struct response *resp = userdata;
  size_t len = size * nmemb;
  static const char name[] = "retry-after:";
  if (len > sizeof(name) - 1 && len < 256 &&
      strncasecmp(data, name, sizeof(name) - 1) == 0) {
    char value[256];
    size_t start = sizeof(name) - 1, end = len;
    while (start < end && (data[start] == ' ' || data[start] == '\t'))
      start++;
    while (end > start && strchr(" \t\r\n", data[end - 1]))
      end--;
    memcpy(value, data + start, end - start);
    value[end - start] = '\0';
    int64_t ms;
    if (wfe_retry_after_parse(value, time(NULL), &ms) == 0)
      resp->retry_after_ms = ms;
  }
  return len;
}

/* Wipes header strings (the Authorization header holds the token). */
static void free_headers(struct curl_slist *headers)
{
  for (struct curl_slist *h = headers; h; h = h->next)
    explicit_bzero(h->data, strlen(h->data));
  curl_slist_free_all(headers);
}

static struct curl_slist *add_header(struct curl_slist *list, const char *h,
                                     int *failed)
{
  struct curl_slist *next = curl_slist_append(list, h);
  if (!next) {
    *failed = 1;
    return list;
  }
  return next;
}

/* Request headers: Accept, Content-Type, no Expect, the bearer token. */
static struct curl_slist *
build_headers(const struct wfe_kube_credentials *creds, const char *accept,
              const char *content_type, int *failed)
{
  struct curl_slist *headers = NULL;
  struct wfe_buf line = WFE_BUF_INIT;
  *failed = 0;
  headers = add_header(headers, accept, failed);
  headers = add_header(headers, "Expect:", failed);
  if (content_type) {
    if (wfe_buf_printf(&line, "Content-Type: %s", content_type))
      *failed = 1;
    else
      headers = add_header(headers, line.data, failed);
  }
  if (creds->token) {
    wfe_buf_clear(&line);
    if (wfe_buf_printf(&line, "Authorization: Bearer %s", creds->token))
      *failed = 1;
    else
      headers = add_header(headers, line.data, failed);
    if (line.data)
      explicit_bzero(line.data, line.cap);
  }
  wfe_buf_free(&line);
  return headers;
}

/* curl_easy_setopt until the first failure, which `status` then keeps. */
#define SETOPT(status, h, opt, val)                                            \
  do {                                                                         \
    if ((status) == CURLE_OK)                                                  \
      (status) = curl_easy_setopt((h), (opt), (val));                          \
  } while (0)

/* The connect timeout: the request timeout, capped. */
static long connect_timeout_ms(const struct wfe_kube_client *client)
{
  return client->request_timeout_ms < CONNECT_TIMEOUT_MAX_MS
             ? client->request_timeout_ms
             : CONNECT_TIMEOUT_MAX_MS;
}

/* TLS, identity and transport options common to REST calls and watches. */
static int setup_handle(struct wfe_kube_client *client, CURL *h,
                        const char *url,
                        const struct wfe_kube_credentials *creds, char *errbuf)
{
  const struct wfe_kube_config *c = client->config;
  CURLcode rc = CURLE_OK;
  SETOPT(rc, h, CURLOPT_URL, url);
  SETOPT(rc, h, CURLOPT_SHARE, client->share);
  SETOPT(rc, h, CURLOPT_NOSIGNAL, 1L);
  SETOPT(rc, h, CURLOPT_PROTOCOLS_STR, "https");
  SETOPT(rc, h, CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT(rc, h, CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(rc, h, CURLOPT_SSL_VERIFYHOST, 2L);
  SETOPT(rc, h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  SETOPT(rc, h, CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(rc, h, CURLOPT_USERAGENT, client->user_agent);
  SETOPT(rc, h, CURLOPT_ERRORBUFFER, errbuf);
  if (client->connect_to)
    SETOPT(rc, h, CURLOPT_CONNECT_TO, client->connect_to);
  if (c->ca_data) {
    struct curl_blob blob = {c->ca_data, c->ca_data_len, CURL_BLOB_COPY};
    SETOPT(rc, h, CURLOPT_CAINFO_BLOB, &blob);
  } else if (c->ca_file) {
    SETOPT(rc, h, CURLOPT_CAINFO, c->ca_file);
  }
  const char *cert =
      creds->client_cert_data ? creds->client_cert_data : c->client_cert_data;
  size_t cert_len = creds->client_cert_data ? creds->client_cert_data_len
                                            : c->client_cert_data_len;
  const char *key =
      creds->client_key_data ? creds->client_key_data : c->client_key_data;
  size_t key_len = creds->client_key_data ? creds->client_key_data_len
                                          : c->client_key_data_len;
  if (cert) {
    struct curl_blob blob = {(void *)cert, cert_len, CURL_BLOB_COPY};
    SETOPT(rc, h, CURLOPT_SSLCERT_BLOB, &blob);
    SETOPT(rc, h, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (c->client_cert_file) {
    SETOPT(rc, h, CURLOPT_SSLCERT, c->client_cert_file);
  }
  if (key) {
    struct curl_blob blob = {(void *)key, key_len, CURL_BLOB_COPY};
    SETOPT(rc, h, CURLOPT_SSLKEY_BLOB, &blob);
    SETOPT(rc, h, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (c->client_key_file) {
    SETOPT(rc, h, CURLOPT_SSLKEY, c->client_key_file);
  }
  return rc == CURLE_OK ? 0 : -1;
}

static CURL *pool_take(struct wfe_kube_client *client)
{
  CURL *h = NULL;
  pthread_mutex_lock(&client->pool_lock);
  if (client->pool_count)
    h = client->pool[--client->pool_count];
  pthread_mutex_unlock(&client->pool_lock);
  return h ? h : curl_easy_init();
}

static void pool_give(struct wfe_kube_client *client, CURL *h)
{
  /* Forget the request's pointers (error buffer, callbacks' data on the
   * caller's stack, headers); the live connection stays. */
  curl_easy_reset(h);
  pthread_mutex_lock(&client->pool_lock);
  if (client->pool_count < POOL_MAX) {
    client->pool[client->pool_count++] = h;
    h = NULL;
  }
  pthread_mutex_unlock(&client->pool_lock);
  if (h)
    curl_easy_cleanup(h);
}

static void count_request(struct wfe_kube_client *client, const char *method,
                          long status)
{
  if (!client->requests_total)
    return;
  char code[24];
  if (status > 0)
    snprintf(code, sizeof(code), "%ld", status);
  else
    snprintf(code, sizeof(code), "<error>");
  const char *labels[] = {code, method, client->host_label};
  wfe_metric_add(client->requests_total, labels, 1);
}

/* Replaces every occurrence of `secret` in the error's message. */
static void scrub(struct wfe_error *err, const char *secret)
{
  if (!err || !err->message || !secret || strlen(secret) < 4)
    return;
  char *hit;
  size_t n = strlen(secret);
  while ((hit = strstr(err->message, secret)) != NULL) {
    memset(hit, '*', n);
  }
}

/* A transport failure, described without the token. TLS trust problems are
 * configuration errors: retrying cannot fix them. */
static int transport_error(CURLcode code, const char *method, const char *url,
                           const char *errbuf, struct wfe_error *err)
{
  const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(code);
  switch (code) {
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    return wfe_error_set(err, WFE_E_INVALID, 0, "TLSVerificationFailed", NULL,
                         "%s %s: TLS verification failed: %s", method, url,
                         detail);
  case CURLE_OPERATION_TIMEDOUT:
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "Timeout", NULL,
                         "%s %s: %s", method, url, detail);
  case CURLE_OUT_OF_MEMORY:
    return nomem(err);
  default:
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "TransportError", NULL,
                         "%s %s: %s", method, url, detail);
  }
}

struct request {
  const char *method;
  const char *url;
  const char *body; /* NULL for none */
  size_t body_len;
  const char *content_type;
};

/* One attempt: 0 with resp->status set, or a transport error. */
static int perform_once(struct wfe_kube_client *client,
                        const struct request *req,
                        const struct wfe_kube_credentials *creds,
                        struct response *resp, struct wfe_error *err)
{
  char errbuf[CURL_ERROR_SIZE] = "";
  int failed = 0;
  CURL *h = pool_take(client);
  if (!h)
    return nomem(err);
  struct curl_slist *headers = build_headers(creds, "Accept: application/json",
                                             req->content_type, &failed);
  int rc = failed || setup_handle(client, h, req->url, creds, errbuf);
  CURLcode code = CURLE_OK;
  SETOPT(code, h, CURLOPT_HTTPHEADER, headers);
  SETOPT(code, h, CURLOPT_TIMEOUT_MS, client->request_timeout_ms);
  SETOPT(code, h, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms(client));
  SETOPT(code, h, CURLOPT_ACCEPT_ENCODING, "");
  SETOPT(code, h, CURLOPT_WRITEFUNCTION, on_body);
  SETOPT(code, h, CURLOPT_WRITEDATA, resp);
  SETOPT(code, h, CURLOPT_HEADERFUNCTION, on_header);
  SETOPT(code, h, CURLOPT_HEADERDATA, resp);
  if (strcmp(req->method, "GET") != 0)
    SETOPT(code, h, CURLOPT_CUSTOMREQUEST, req->method);
  if (req->body) {
    SETOPT(code, h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    SETOPT(code, h, CURLOPT_POSTFIELDS, req->body);
  }
  if (rc || code != CURLE_OK) {
    free_headers(headers);
    curl_easy_cleanup(h);
    return wfe_error_set(err, WFE_E_INTERNAL, 0, "ClientSetupFailed", NULL,
                         "%s %s: cannot set up the request", req->method,
                         req->url);
  }
  code = curl_easy_perform(h);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  free_headers(headers);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
  if (code == CURLE_WRITE_ERROR && resp->too_large)
    rc = wfe_error_set(err, WFE_E_INVALID, 0, "ResponseTooLarge", NULL,
                       "%s %s: the response is larger than %zu bytes",
                       req->method, req->url, resp->max);
  else if (code != CURLE_OK)
    rc = transport_error(code, req->method, req->url, errbuf, err);
  count_request(client, req->method, code == CURLE_OK ? resp->status : 0);
  pool_give(client, h);
  return rc;
}

static const char *reason_for(long status)
{
  switch (status) {
  case 400:
    return "BadRequest";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "NotFound";
  case 405:
    return "MethodNotAllowed";
  case 409:
    return "Conflict";
  case 410:
    return "Expired";
  case 415:
    return "UnsupportedMediaType";
  case 422:
    return "Invalid";
  case 429:
    return "TooManyRequests";
  case 504:
    return "Timeout";
  case 503:
    return "ServiceUnavailable";
  default:
    return status >= 500 ? "InternalError" : "Unknown";
  }
}

static const char *member_string(json_object *obj, const char *key)
{
  json_object *value = NULL;
  if (!json_object_object_get_ex(obj, key, &value) ||
      !json_object_is_type(value, json_type_string))
    return NULL;
  return json_object_get_string(value);
}

/* An error from a non-2xx answer, from its Status when it has one. */
static int status_error(long status, const char *method, const char *url,
                        const struct wfe_buf *body, struct wfe_error *err)
{
  json_object *doc = body->len ? wfe_json_parse(body->data, body->len) : NULL;
  const char *kind = doc ? member_string(doc, "kind") : NULL;
  const char *reason = NULL, *message = NULL;
  if (kind && strcmp(kind, "Status") == 0) {
    reason = member_string(doc, "reason");
    message = member_string(doc, "message");
  }
  if (!reason || !reason[0])
    reason = reason_for(status);
  int code, retryable = 0;
  if (status == 404) {
    code = WFE_E_NOT_FOUND;
  } else if (status == 429 || status >= 500) {
    code = WFE_E_UNAVAILABLE;
    retryable = 1;
  } else {
    code = WFE_E_INVALID;
  }
  if (message && message[0]) {
    wfe_error_set(err, code, retryable, reason, NULL, "%s", message);
  } else {
    /* No Status: quote the start of the body, printable bytes only. */
    char excerpt[201];
    size_t n = 0;
    for (size_t i = 0; i < body->len && n < sizeof(excerpt) - 1; i++)
      excerpt[n++] =
          (body->data[i] >= 0x20 && body->data[i] < 0x7f) ? body->data[i] : ' ';
    excerpt[n] = '\0';
    wfe_error_set(err, code, retryable, reason, NULL, "%s %s: HTTP %ld%s%s",
                  method, url, status, n ? ": " : "", excerpt);
  }
  if (err)
    err->http_status = (int32_t)status;
  json_object_put(doc);
  return code;
}

static void sleep_ms(int64_t ms)
{
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static double random01(void)
{
  /* A per-thread xorshift seeded from the clock: jitter, not secrets. */
  static __thread uint64_t state;
  if (!state)
    state = (uint64_t)wfe_monotonic_ns() ^ (uint64_t)(uintptr_t)&state ^
            0x9e3779b97f4a7c15ull;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (double)(state >> 11) / 9007199254740992.0;
}

static int64_t retry_delay(struct wfe_kube_client *client, unsigned attempt,
                           int64_t retry_after_ms)
{
  int64_t base =
      retry_after_ms > 0 ? retry_after_ms : (int64_t)client->backoff_base_ms;
  int64_t delay = wfe_backoff_exponential(base, client->backoff_cap_ms, 2.0,
                                          retry_after_ms > 0 ? 0 : attempt);
  if (retry_after_ms > 0) /* the server said when: spread a little after it */
    return delay +
           wfe_backoff_jitter(delay / 10 + 1, WFE_JITTER_FULL, random01());
  return wfe_backoff_jitter(delay, WFE_JITTER_EQUAL, random01());
}

/*
 * A request with retries: 429, 5xx and transport failures are retried with
 * capped, jittered exponential backoff (Retry-After honoured); a 401 makes
 * the credentials be read again once, for rotated tokens. On success the
 * body is in resp->body; otherwise err says why.
 */
static int do_request(struct wfe_kube_client *client, const struct request *req,
                      struct response *resp, struct wfe_error *err)
{
  int refreshed = 0, rc = 0;
  int can_refresh = client->config->token_file || client->config->exec;
  char *last_token = NULL;
  for (unsigned attempt = 0;; attempt++) {
    struct wfe_kube_credentials creds;
    wfe_buf_clear(&resp->body);
    resp->status = 0;
    resp->too_large = 0;
    resp->retry_after_ms = -1;
    rc = wfe_kube_auth_get(client->auth, &creds, err);
    if (rc)
      break;
    free(last_token);
    last_token = creds.token ? strdup(creds.token) : NULL;
    rc = perform_once(client, req, &creds, resp, err);
    wfe_kube_credentials_clear(&creds);
    if (!rc && resp->status == 401 && can_refresh && !refreshed) {
      wfe_kube_auth_invalidate(client->auth);
      refreshed = 1;
      attempt--;
      continue;
    }
    int retry = rc ? (err && err->retryable)
                   : (resp->status == 429 || resp->status >= 500);
    if (!retry || attempt >= (unsigned)client->max_retries)
      break;
    sleep_ms(retry_delay(client, attempt, resp->retry_after_ms));
  }
  if (!rc && (resp->status < 200 || resp->status > 299))
    rc = status_error(resp->status, req->method, req->url, &resp->body, err);
  if (rc)
    scrub(err, last_token);
  if (last_token)
    explicit_bzero(last_token, strlen(last_token));
  free(last_token);
  return rc;
}

/* A request whose answer is one JSON object: *out when `out` is non-NULL. */
static int request_json(struct wfe_kube_client *client,
                        const struct request *req, json_object **out,
                        struct wfe_error *err)
{
  struct response resp = {.max = RESPONSE_MAX};
  if (out)
    *out = NULL;
  int rc = do_request(client, req, &resp, err);
  if (!rc && out) {
    *out = wfe_json_parse(wfe_buf_str(&resp.body), resp.body.len);
    if (!*out || !json_object_is_type(*out, json_type_object)) {
      json_object_put(*out);
      *out = NULL;
      rc = wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "InvalidResponse", NULL,
                         "%s %s: the answer is not a JSON object", req->method,
                         req->url);
    }
  }
  wfe_buf_free(&resp.body);
  return rc;
}

/* --- Lifecycle ----------------------------------------------------------- */

/* Splits the server URL; with tls-server-name the URL names that host and
 * CONNECT_TO sends the connection to the real one, so curl verifies the
 * certificate (and sends SNI) for the configured name. */
static int setup_endpoint(struct wfe_kube_client *client, struct wfe_error *err)
{
  const struct wfe_kube_config *c = client->config;
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL, *path = NULL;
  int rc = 0;
  if (!u)
    return nomem(err);
  if (curl_url_set(u, CURLUPART_URL, c->server, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
    rc = wfe_error_set(err, WFE_E_INVALID, 0, "InvalidServer", "server",
                       "%s: server %s is not a valid URL",
                       c->source ? c->source : "configuration", c->server);
    goto done;
  }
  size_t path_len = strlen(path);
  while (path_len && path[path_len - 1] == '/')
    path_len--;
  struct wfe_buf base = WFE_BUF_INIT, label = WFE_BUF_INIT,
                 connect = WFE_BUF_INIT;
  const char *url_host = c->tls_server_name ? c->tls_server_name : host;
  if (wfe_buf_printf(&base, "https://%s:%s%.*s", url_host, port, (int)path_len,
                     path) ||
      wfe_buf_printf(&label, "%s:%s", host, port) ||
      (c->tls_server_name &&
       wfe_buf_printf(&connect, "%s:%s:%s:%s", c->tls_server_name, port, host,
                      port))) {
    wfe_buf_free(&base);
    wfe_buf_free(&label);
    wfe_buf_free(&connect);
    rc = nomem(err);
    goto done;
  }
  client->base_url = wfe_buf_steal(&base);
  client->host_label = wfe_buf_steal(&label);
  if (connect.data) {
    client->connect_to = curl_slist_append(NULL, connect.data);
    wfe_buf_free(&connect);
    if (!client->connect_to)
      rc = nomem(err);
  }
done:
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
  return rc;
}

int wfe_kube_client_new(const struct wfe_kube_config *config,
                        const struct wfe_kube_client_options *options,
                        struct wfe_kube_client **out, struct wfe_error *err)
{
  struct wfe_kube_client_options none = {0};
  const struct wfe_kube_client_options *o = options ? options : &none;
  *out = NULL;
  if (!config || !config->server)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidConfig", "server",
                         "the configuration names no server");
  if (global_acquire())
    return wfe_error_set(err, WFE_E_INTERNAL, 0, "CurlInitFailed", NULL,
                         "libcurl could not be initialised");
  struct wfe_kube_client *client = calloc(1, sizeof(*client));
  if (!client) {
    global_release();
    return nomem(err);
  }
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init(&client->share_locks[i], NULL);
  pthread_mutex_init(&client->pool_lock, NULL);
  client->request_timeout_ms =
      o->request_timeout_ms > 0 ? o->request_timeout_ms : 30000;
  client->max_retries =
      o->max_retries > 0 ? o->max_retries : (o->max_retries < 0 ? 0 : 5);
  client->backoff_base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms : 200;
  client->backoff_cap_ms = o->backoff_cap_ms > 0 ? o->backoff_cap_ms : 10000;
  long reread = o->token_reread_seconds == 0  ? 60
                : o->token_reread_seconds < 0 ? 0
                                              : o->token_reread_seconds;
  struct wfe_buf agent = WFE_BUF_INIT;
  int rc = 0;
  if (wfe_kube_config_copy(config, &client->config) ||
      (o->user_agent ? wfe_buf_puts(&agent, o->user_agent)
                     : wfe_buf_puts(&agent, "wfe-controller/" WFE_VERSION))) {
    wfe_buf_free(&agent);
    rc = nomem(err);
    goto fail;
  }
  client->user_agent = wfe_buf_steal(&agent);
  if ((rc = wfe_kube_auth_new(client->config, reread, &client->auth, err)) ||
      (rc = setup_endpoint(client, err)))
    goto fail;
  client->share = curl_share_init();
  if (!client->share ||
      curl_share_setopt(client->share, CURLSHOPT_LOCKFUNC, share_lock) ||
      curl_share_setopt(client->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
      curl_share_setopt(client->share, CURLSHOPT_USERDATA, client) ||
      curl_share_setopt(client->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
      curl_share_setopt(client->share, CURLSHOPT_SHARE,
                        CURL_LOCK_DATA_SSL_SESSION)) {
    rc = wfe_error_set(err, WFE_E_INTERNAL, 0, "CurlInitFailed", NULL,
                       "cannot set up the shared curl state");
    goto fail;
  }
  if (o->metrics) {
    static const char *const labels[] = {"code", "method", "host"};
    client->requests_total = wfe_metrics_counter(
        o->metrics, "rest_client_requests_total",
        "Number of HTTP requests, partitioned by status code, method, and "
        "host.",
        labels, 3);
  }
  *out = client;
  return 0;
fail:
  wfe_kube_client_free(client);
  return rc;
}

void wfe_kube_client_free(struct wfe_kube_client *client)
{
  if (!client)
    return;
  for (size_t i = 0; i < client->pool_count; i++)
    curl_easy_cleanup(client->pool[i]);
  if (client->share)
    curl_share_cleanup(client->share);
  curl_slist_free_all(client->connect_to);
  wfe_kube_auth_free(client->auth);
  wfe_kube_config_free(client->config);
  free(client->user_agent);
  free(client->base_url);
  free(client->host_label);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy(&client->share_locks[i]);
  pthread_mutex_destroy(&client->pool_lock);
  free(client);
  global_release();
}

const char *wfe_kube_client_namespace(const struct wfe_kube_client *client)
{
  return client->config->namespace_name ? client->config->namespace_name
                                        : "default";
}

/* --- REST ---------------------------------------------------------------- */

int wfe_kube_get(struct wfe_kube_client *client, const struct wfe_resource *res,
                 const char *namespace_name, const char *name,
                 json_object **out, struct wfe_error *err)
{
  struct wfe_buf url = WFE_BUF_INIT;
  *out = NULL;
  if (!name)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidPath", NULL,
                         "get needs a name");
  int rc = build_url(client, res, namespace_name, name, NULL, &url, err);
  if (!rc) {
    struct request req = {"GET", url.data, NULL, 0, NULL};
    rc = request_json(client, &req, out, err);
  }
  wfe_buf_free(&url);
  return rc;
}

/* One page: calls `item` for each object, returns the continue token. */
static int list_page(struct wfe_kube_client *client, const char *url,
                     int (*item)(void *ctx, json_object *obj), void *ctx,
                     char **out_continue, char **out_rv, struct wfe_error *err)
{
  json_object *list = NULL;
  struct request req = {"GET", url, NULL, 0, NULL};
  int rc = request_json(client, &req, &list, err);
  if (rc)
    return rc;
  json_object *items = NULL, *metadata = NULL;
  json_object_object_get_ex(list, "metadata", &metadata);
  if (json_object_object_get_ex(list, "items", &items) && items &&
      !json_object_is_type(items, json_type_array))
    rc = wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "InvalidResponse", NULL,
                       "GET %s: items is not a list", url);
  size_t n = items && !rc ? json_object_array_length(items) : 0;
  for (size_t i = 0; item && i < n && !rc; i++)
    rc = item(ctx, json_object_array_get_idx(items, i));
  const char *token = metadata ? member_string(metadata, "continue") : NULL;
  const char *rv = metadata ? member_string(metadata, "resourceVersion") : NULL;
  if (!rc && token && token[0] && !(*out_continue = strdup(token)))
    rc = nomem(err);
  if (!rc && rv) {
    free(*out_rv);
    if (!(*out_rv = strdup(rv)))
      rc = nomem(err);
  }
  json_object_put(list);
  return rc;
}

int wfe_kube_list(struct wfe_kube_client *client,
                  const struct wfe_resource *res, const char *namespace_name,
                  const struct wfe_list_options *options,
                  int (*item)(void *ctx, json_object *obj), void *ctx,
                  char **out_resource_version, struct wfe_error *err)
{
  struct wfe_list_options none = {0};
  const struct wfe_list_options *o = options ? options : &none;
  struct wfe_buf base = WFE_BUF_INIT, url = WFE_BUF_INIT;
  char limit[32], *token = NULL, *rv = NULL;
  snprintf(limit, sizeof(limit), "%ld", o->limit > 0 ? o->limit : 500L);
  if (out_resource_version)
    *out_resource_version = NULL;
  int rc = build_url(client, res, namespace_name, NULL, NULL, &base, err);
  if (!rc && (query_add(&base, "labelSelector", o->label_selector) ||
              query_add(&base, "fieldSelector", o->field_selector) ||
              query_add(&base, "limit", limit)))
    rc = nomem(err);
  do {
    wfe_buf_clear(&url);
    if (!rc && (wfe_buf_puts(&url, wfe_buf_str(&base)) ||
                query_add(&url, "continue", token)))
      rc = nomem(err);
    free(token);
    token = NULL;
    if (!rc)
      rc = list_page(client, url.data, item, ctx, &token, &rv, err);
  } while (!rc && token && !o->first_page_only);
  free(token);
  if (!rc && out_resource_version) {
    *out_resource_version = rv;
    rv = NULL;
  }
  free(rv);
  wfe_buf_free(&base);
  wfe_buf_free(&url);
  return rc;
}

/* A request with a JSON body. */
static int write_request(struct wfe_kube_client *client, const char *method,
                         const struct wfe_resource *res,
                         const char *namespace_name, const char *name,
                         const char *subresource, const char *query_key,
                         const char *query_value, const char *content_type,
                         const char *body, size_t body_len, json_object **out,
                         struct wfe_error *err)
{
  struct wfe_buf url = WFE_BUF_INIT;
  if (out)
    *out = NULL;
  int rc = build_url(client, res, namespace_name, name, subresource, &url, err);
  if (!rc && query_add(&url, query_key, query_value))
    rc = nomem(err);
  if (!rc) {
    struct request req = {method, url.data, body, body_len, content_type};
    rc = request_json(client, &req, out, err);
  }
  wfe_buf_free(&url);
  return rc;
}

static const char *json_text(json_object *obj, size_t *len)
{
  return json_object_to_json_string_length(
      obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

int wfe_kube_create(struct wfe_kube_client *client,
                    const struct wfe_resource *res, const char *namespace_name,
                    json_object *obj, json_object **out, struct wfe_error *err)
{
  size_t len = 0;
  const char *body = json_text(obj, &len);
  if (!body)
    return nomem(err);
  return write_request(client, "POST", res, namespace_name, NULL, NULL,
                       "fieldValidation", "Strict", "application/json", body,
                       len, out, err);
}

int wfe_kube_update(struct wfe_kube_client *client,
                    const struct wfe_resource *res, const char *namespace_name,
                    const char *name, const char *subresource, json_object *obj,
                    json_object **out, struct wfe_error *err)
{
  size_t len = 0;
  if (!name)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidPath", NULL,
                         "update needs a name");
  const char *body = json_text(obj, &len);
  if (!body)
    return nomem(err);
  return write_request(client, "PUT", res, namespace_name, name, subresource,
                       NULL, NULL, "application/json", body, len, out, err);
}

int wfe_kube_patch(struct wfe_kube_client *client,
                   const struct wfe_resource *res, const char *namespace_name,
                   const char *name, const char *subresource,
                   enum wfe_patch_type type, const char *patch,
                   json_object **out, struct wfe_error *err)
{
  if (!name || !patch)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidPath", NULL,
                         "patch needs a name and a patch");
  const char *content_type = type == WFE_PATCH_JSON
                                 ? "application/json-patch+json"
                                 : "application/merge-patch+json";
  return write_request(client, "PATCH", res, namespace_name, name, subresource,
                       NULL, NULL, content_type, patch, strlen(patch), out,
                       err);
}

int wfe_kube_delete(struct wfe_kube_client *client,
                    const struct wfe_resource *res, const char *namespace_name,
                    const char *name, const struct wfe_delete_options *options,
                    struct wfe_error *err)
{
  if (!name)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidPath", NULL,
                         "delete needs a name");
  json_object *body = json_object_new_object();
  int failed = !body;
  if (body) {
    failed |= json_object_object_add(body, "kind",
                                     json_object_new_string("DeleteOptions"));
    failed |= json_object_object_add(body, "apiVersion",
                                     json_object_new_string("v1"));
  }
  if (body && options &&
      (options->precondition_uid || options->precondition_resource_version)) {
    json_object *pre = json_object_new_object();
    failed |= !pre || json_object_object_add(body, "preconditions", pre);
    if (pre && options->precondition_uid)
      failed |= json_object_object_add(
          pre, "uid", json_object_new_string(options->precondition_uid));
    if (pre && options->precondition_resource_version)
      failed |= json_object_object_add(
          pre, "resourceVersion",
          json_object_new_string(options->precondition_resource_version));
  }
  if (body && options && options->propagation_policy)
    failed |= json_object_object_add(
        body, "propagationPolicy",
        json_object_new_string(options->propagation_policy));
  size_t len = 0;
  const char *text = failed ? NULL : json_text(body, &len);
  int rc =
      text ? write_request(client, "DELETE", res, namespace_name, name, NULL,
                           NULL, NULL, "application/json", text, len, NULL, err)
           : nomem(err);
  json_object_put(body);
  return rc;
}

/* --- Watch decoder ------------------------------------------------------- */

struct wfe_watch_decoder {
  wfe_watch_fn fn;
  void *ctx;
  struct wfe_buf line; /* the incomplete line so far */
  int failed;
};

struct wfe_watch_decoder *wfe_watch_decoder_new(wfe_watch_fn fn, void *ctx)
{
  struct wfe_watch_decoder *d = calloc(1, sizeof(*d));
  if (d) {
    d->fn = fn;
    d->ctx = ctx;
  }
  return d;
}

void wfe_watch_decoder_free(struct wfe_watch_decoder *decoder)
{
  if (!decoder)
    return;
  wfe_buf_free(&decoder->line);
  free(decoder);
}

static int decoder_fail(struct wfe_watch_decoder *d, struct wfe_error *err,
                        const char *problem, const char *detail)
{
  d->failed = 1;
  return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidWatchEvent", NULL,
                       "watch stream: %s%.64s%s", problem, detail,
                       detail[0] ? "\"" : "");
}

static int event_type(const char *name, enum wfe_watch_event_type *out)
{
  static const struct {
    const char *name;
    enum wfe_watch_event_type type;
  } types[] = {{"ADDED", WFE_WATCH_ADDED},
               {"MODIFIED", WFE_WATCH_MODIFIED},
               {"DELETED", WFE_WATCH_DELETED},
               {"BOOKMARK", WFE_WATCH_BOOKMARK},
               {"ERROR", WFE_WATCH_ERROR}};
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    if (strcmp(name, types[i].name) == 0) {
      *out = types[i].type;
      return 0;
    }
  return -1;
}

static int decode_line(struct wfe_watch_decoder *d, const char *line,
                       size_t len, struct wfe_error *err)
{
  size_t i = 0;
  while (i < len && strchr(" \t\r", line[i]))
    i++;
  if (i == len)
    return 0; /* a blank line: keepalive */
  json_object *event = wfe_json_parse(line, len);
  if (!event)
    return decoder_fail(d, err, "an event is not valid JSON", "");
  json_object *obj = NULL;
  const char *type_name = NULL;
  enum wfe_watch_event_type type = WFE_WATCH_ERROR;
  int rc = 0;
  if (!json_object_is_type(event, json_type_object) ||
      !(type_name = member_string(event, "type")))
    rc = decoder_fail(d, err, "an event has no type", "");
  else if (event_type(type_name, &type) != 0)
    rc = decoder_fail(d, err, "unknown event type \"", type_name);
  else if (!json_object_object_get_ex(event, "object", &obj) ||
           !json_object_is_type(obj, json_type_object))
    rc = decoder_fail(d, err, "an event has no object: type \"", type_name);
  if (!rc)
    rc = d->fn(d->ctx, type, obj);
  json_object_put(event);
  return rc;
}

int wfe_watch_decoder_feed(struct wfe_watch_decoder *d, const char *data,
                           size_t len, struct wfe_error *err)
{
  if (d->failed)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidWatchEvent", NULL,
                         "watch stream: decoding already failed");
  while (len) {
    const char *nl = memchr(data, '\n', len);
    size_t seg = nl ? (size_t)(nl - data) : len;
    if (d->line.len + seg > WATCH_EVENT_MAX) {
      d->failed = 1;
      return wfe_error_set(err, WFE_E_INVALID, 0, "WatchEventTooLarge", NULL,
                           "watch stream: an event is larger than %u bytes",
                           WATCH_EVENT_MAX);
    }
    if (!nl) {
      if (wfe_buf_append(&d->line, data, seg)) {
        d->failed = 1;
        return nomem(err);
      }
      return 0;
    }
    int rc;
    if (d->line.len == 0) {
      rc = decode_line(d, data, seg, err); /* whole line in this chunk */
    } else {
      if (wfe_buf_append(&d->line, data, seg)) {
        d->failed = 1;
        return nomem(err);
      }
      rc = decode_line(d, d->line.data, d->line.len, err);
      wfe_buf_clear(&d->line);
    }
    if (rc)
      return rc;
    data = nl + 1;
    len -= seg + 1;
  }
  return 0;
}

/* --- Watch --------------------------------------------------------------- */

struct watch_state {
  struct wfe_watch_decoder *decoder;
  struct wfe_error *err;
  CURL *handle;
  long status; /* 0 until the headers are in */
  struct wfe_buf error_body;
  int rc; /* the decoder's or handler's non-zero result */
  const volatile int *stop;
  int stopped;
  int idle;
  int64_t last_byte_ms;
  int64_t idle_timeout_ms;
};

static size_t on_watch_body(char *data, size_t size, size_t nmemb,
                            void *userdata)
{
  struct watch_state *w = userdata;
  size_t len = size * nmemb;
  w->last_byte_ms = wfe_monotonic_ms();
  if (!w->status)
    curl_easy_getinfo(w->handle, CURLINFO_RESPONSE_CODE, &w->status);
  if (w->status != 200) {
    if (w->error_body.len + len > ERROR_BODY_MAX)
      return len; /* enough to explain the error */
    return wfe_buf_append(&w->error_body, data, len) ? 0 : len;
  }
  w->rc = wfe_watch_decoder_feed(w->decoder, data, len, w->err);
  return w->rc ? 0 : len;
}

/* Every check that can end a watch early; non-zero to abort. */
static int watch_check(struct watch_state *w)
{
  if (w->stop && *w->stop) {
    w->stopped = 1;
    return 1;
  }
  if (wfe_monotonic_ms() - w->last_byte_ms > w->idle_timeout_ms) {
    w->idle = 1;
    return 1;
  }
  return 0;
}

static int on_watch_progress(void *userdata, curl_off_t dltotal,
                             curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow)
{
  return watch_check(userdata);
}

static int build_watch_url(struct wfe_kube_client *client,
                           const struct wfe_resource *res,
                           const char *namespace_name,
                           const struct wfe_watch_options *o, long timeout_s,
                           struct wfe_buf *url, struct wfe_error *err)
{
  char timeout[32];
  snprintf(timeout, sizeof(timeout), "%ld", timeout_s);
  int rc = build_url(client, res, namespace_name, NULL, NULL, url, err);
  if (!rc && (query_add(url, "watch", "1") ||
              query_add(url, "allowWatchBookmarks",
                        o->allow_bookmarks ? "true" : NULL) ||
              query_add(url, "timeoutSeconds", timeout) ||
              query_add(url, "resourceVersion", o->resource_version) ||
              query_add(url, "labelSelector", o->label_selector) ||
              query_add(url, "fieldSelector", o->field_selector)))
    rc = nomem(err);
  return rc;
}

/* Drives one transfer on a private multi handle, checking the stop flag and
 * the idle time every WATCH_POLL_MS. Returns curl's result. */
static CURLcode run_watch_transfer(CURL *h, struct watch_state *w)
{
  CURLM *multi = curl_multi_init();
  if (!multi)
    return CURLE_OUT_OF_MEMORY;
  CURLcode result = CURLE_OK;
  if (curl_multi_add_handle(multi, h) != CURLM_OK) {
    curl_multi_cleanup(multi);
    return CURLE_OUT_OF_MEMORY;
  }
  int running = 1;
  while (running) {
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      result = CURLE_RECV_ERROR;
      break;
    }
    if (!running)
      break;
    if (w->rc || watch_check(w)) {
      result = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    curl_multi_poll(multi, NULL, 0, WATCH_POLL_MS, NULL);
  }
  int left;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(multi, &left)) != NULL)
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
      result = msg->data.result;
  curl_multi_remove_handle(multi, h);
  curl_multi_cleanup(multi);
  return result;
}

static int watch_result(struct wfe_kube_client *client, CURLcode code,
                        struct watch_state *w, const char *url,
                        const char *errbuf, const char *token,
                        struct wfe_error *err)
{
  if (w->rc)
    return w->rc; /* the decoder's error or the handler's value */
  if (w->stopped)
    return 0;
  if (w->idle)
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "WatchIdle", NULL,
                         "GET %s: no data for %lld ms; dropped the watch", url,
                         (long long)w->idle_timeout_ms);
  if (code != CURLE_OK) {
    int rc = transport_error(code, "GET", url, errbuf, err);
    scrub(err, token);
    return rc;
  }
  if (w->status == 200) {
    /* The stream ended: a last event without its newline still counts. */
    int rc = wfe_watch_decoder_feed(w->decoder, "\n", 1, err);
    return rc;
  }
  if (w->status == 401)
    wfe_kube_auth_invalidate(client->auth);
  int rc = status_error(w->status, "GET", url, &w->error_body, err);
  scrub(err, token);
  return rc;
}

int wfe_kube_watch(struct wfe_kube_client *client,
                   const struct wfe_resource *res, const char *namespace_name,
                   const struct wfe_watch_options *options, wfe_watch_fn fn,
                   void *ctx, struct wfe_error *err)
{
  struct wfe_watch_options none = {0};
  const struct wfe_watch_options *o = options ? options : &none;
  long timeout_s = o->timeout_seconds > 0 ? o->timeout_seconds : 300;
  struct wfe_buf url = WFE_BUF_INIT;
  struct wfe_kube_credentials creds = {0};
  struct watch_state w = {.err = err, .stop = o->stop};
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *headers = NULL;
  CURL *h = NULL;
  int failed = 0;
  w.idle_timeout_ms =
      o->idle_timeout_ms > 0 ? o->idle_timeout_ms : timeout_s * 1000 + 30000;
  int rc =
      build_watch_url(client, res, namespace_name, o, timeout_s, &url, err);
  if (!rc)
    rc = wfe_kube_auth_get(client->auth, &creds, err);
  if (rc)
    goto done;
  w.decoder = wfe_watch_decoder_new(fn, ctx);
  headers = build_headers(&creds, "Accept: application/json", NULL, &failed);
  h = curl_easy_init();
  if (!w.decoder || !h || failed) {
    rc = nomem(err);
    goto done;
  }
  w.handle = h;
  CURLcode code = setup_handle(client, h, url.data, &creds, errbuf)
                      ? CURLE_BAD_FUNCTION_ARGUMENT
                      : CURLE_OK;
  SETOPT(code, h, CURLOPT_HTTPHEADER, headers);
  SETOPT(code, h, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms(client));
  SETOPT(code, h, CURLOPT_WRITEFUNCTION, on_watch_body);
  SETOPT(code, h, CURLOPT_WRITEDATA, &w);
  SETOPT(code, h, CURLOPT_NOPROGRESS, 0L);
  SETOPT(code, h, CURLOPT_XFERINFOFUNCTION, on_watch_progress);
  SETOPT(code, h, CURLOPT_XFERINFODATA, &w);
  if (code != CURLE_OK) {
    rc = wfe_error_set(err, WFE_E_INTERNAL, 0, "ClientSetupFailed", NULL,
                       "GET %s: cannot set up the watch", url.data);
    goto done;
  }
  w.last_byte_ms = wfe_monotonic_ms();
  code = run_watch_transfer(h, &w);
  if (!w.status)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &w.status);
  count_request(client, "GET",
                code == CURLE_OK || w.stopped || w.rc ? w.status : 0);
  rc = watch_result(client, code, &w, url.data, errbuf, creds.token, err);
done:
  free_headers(headers);
  if (h)
    curl_easy_cleanup(h);
  wfe_watch_decoder_free(w.decoder);
  wfe_buf_free(&w.error_body);
  wfe_kube_credentials_clear(&creds);
  wfe_buf_free(&url);
  return rc;
}
