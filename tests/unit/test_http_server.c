/* The HTTP endpoints, spoken to over loopback with libcurl. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "http_server.h"
#include "metrics.h"
#include "serving_cert.h"
#include "status.h"

struct reply {
  long status;
  struct wfe_buf body;
  struct wfe_buf headers;
};

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
  wfe_buf_append(userdata, data, size * n);
  return size * n;
}

/* Sends `method` to the server's `path`, over HTTPS when `tls` (the
 * certificate not verified: it is self-signed), with `authorization` as the
 * Authorization header when non-NULL; the caller frees the reply. */
static void send_request(uint16_t port, int tls, const char *method,
                         const char *path, const char *authorization,
                         struct reply *out)
{
  char url[128], header[256];
  snprintf(url, sizeof(url), "%s://127.0.0.1:%u%s", tls ? "https" : "http",
           (unsigned)port, path);
  memset(out, 0, sizeof(*out));
  CURL *curl = curl_easy_init();
  assert_non_null(curl);
  struct curl_slist *headers = NULL;
  if (authorization) {
    snprintf(header, sizeof(header), "Authorization: %s", authorization);
    headers = curl_slist_append(NULL, header);
    assert_non_null(headers);
  }
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out->body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out->headers);
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "POST") == 0)
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "x=1");
  else if (strcmp(method, "GET") != 0)
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  assert_int_equal(curl_easy_perform(curl), CURLE_OK);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
}

static void request(uint16_t port, const char *method, const char *path,
                    struct reply *out)
{
  send_request(port, 0, method, path, NULL, out);
}

static void request_tls(uint16_t port, const char *path,
                        const char *authorization, struct reply *out)
{
  send_request(port, 1, "GET", path, authorization, out);
}

static void reply_free(struct reply *reply)
{
  wfe_buf_free(&reply->body);
  wfe_buf_free(&reply->headers);
}

/* GET `path` (over HTTPS with `authorization` when `tls`) answers `status`
 * and, when non-NULL, `body`; a 401 names the Bearer scheme. */
static void assert_answer(uint16_t port, int tls, const char *path,
                          const char *authorization, long status,
                          const char *body)
{
  struct reply reply;
  send_request(port, tls, "GET", path, authorization, &reply);
  assert_int_equal(reply.status, status);
  if (body)
    assert_string_equal(wfe_buf_str(&reply.body), body);
  if (tls && status == 401)
    assert_non_null(
        strstr(wfe_buf_str(&reply.headers), "WWW-Authenticate: Bearer"));
  reply_free(&reply);
}

static void assert_get(uint16_t port, const char *path, long status,
                       const char *body)
{
  assert_answer(port, 0, path, NULL, status, body);
}

static struct wfe_http_server *start(struct wfe_http_server_options *options)
{
  struct wfe_http_server *server = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (!options->bind_address)
    options->bind_address = "127.0.0.1:0";
  int rc = wfe_http_server_start(options, &server, &err);
  if (rc)
    fail_msg("start: %s", wfe_error_message(&err));
  assert_non_null(server);
  assert_true(wfe_http_server_port(server) > 0);
  wfe_error_clear(&err);
  return server;
}

static atomic_int ready_flag;

static int readiness(void *ctx, struct wfe_buf *reason)
{
  if (atomic_load(&ready_flag))
    return 1;
  wfe_buf_puts(reason, ctx);
  return 0;
}

static void test_http_healthz_answers_ok(void **state)
{
  struct wfe_http_server_options options = {0};
  struct wfe_http_server *server = start(&options);
  assert_get(wfe_http_server_port(server), "/healthz", 200, "ok");
  /* The query string does not matter. */
  assert_get(wfe_http_server_port(server), "/healthz?verbose=1", 200, "ok");
  wfe_http_server_stop(server);
}

static void test_http_readyz_flips_from_503_to_200(void **state)
{
  struct wfe_http_server_options options = {0};
  options.ready = readiness;
  options.ready_ctx = "caches not synced";
  atomic_store(&ready_flag, 0);
  struct wfe_http_server *server = start(&options);
  uint16_t port = wfe_http_server_port(server);
  assert_get(port, "/readyz", 503, "caches not synced\n");
  atomic_store(&ready_flag, 1);
  assert_get(port, "/readyz", 200, "ok");
  wfe_http_server_stop(server);
}

static void test_http_metrics_renders_the_registry(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  wfe_metric_add(
      wfe_metrics_counter(metrics, "wfe_test_total", "Test.", NULL, 0), NULL,
      7);
  struct wfe_http_server_options options = {0};
  options.metrics = metrics;
  struct wfe_http_server *server = start(&options);
  struct reply reply;
  request(wfe_http_server_port(server), "GET", "/metrics", &reply);
  assert_int_equal(reply.status, 200);
  assert_string_equal(wfe_buf_str(&reply.body),
                      "# HELP wfe_test_total Test.\n"
                      "# TYPE wfe_test_total counter\n"
                      "wfe_test_total 7\n");
  assert_non_null(strstr(wfe_buf_str(&reply.headers),
                         "Content-Type: text/plain; version=0.0.4; "
                         "charset=utf-8\r\n"));
  reply_free(&reply);
  wfe_http_server_stop(server);
  wfe_metrics_free(metrics);
}

static void test_http_head_answers_without_body(void **state)
{
  struct wfe_http_server_options options = {0};
  struct wfe_http_server *server = start(&options);
  struct reply reply;
  request(wfe_http_server_port(server), "HEAD", "/healthz", &reply);
  assert_int_equal(reply.status, 200);
  assert_int_equal(reply.body.len, 0);
  reply_free(&reply);
  wfe_http_server_stop(server);
}

static void test_http_unknown_path_is_404(void **state)
{
  struct wfe_http_server_options options = {0};
  struct wfe_http_server *server = start(&options);
  assert_get(wfe_http_server_port(server), "/", 404, NULL);
  assert_get(wfe_http_server_port(server), "/healthz/extra", 404, NULL);
  assert_get(wfe_http_server_port(server), "/metricsx", 404, NULL);
  wfe_http_server_stop(server);
}

static void test_http_other_methods_are_405_with_allow(void **state)
{
  struct wfe_http_server_options options = {0};
  struct wfe_http_server *server = start(&options);
  const char *methods[] = {"POST", "PUT", "DELETE"};
  for (size_t i = 0; i < 3; i++) {
    struct reply reply;
    request(wfe_http_server_port(server), methods[i], "/healthz", &reply);
    assert_int_equal(reply.status, 405);
    assert_non_null(strstr(wfe_buf_str(&reply.headers), "Allow: GET, HEAD"));
    reply_free(&reply);
  }
  wfe_http_server_stop(server);
}

static void test_http_server_serves_only_its_chosen_endpoints(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  struct wfe_http_server_options probes = {0}, scrape = {0};
  probes.endpoints = WFE_HTTP_PROBES;
  probes.metrics = metrics;
  scrape.endpoints = WFE_HTTP_METRICS;
  scrape.metrics = metrics;
  struct wfe_http_server *probe_server = start(&probes);
  struct wfe_http_server *metrics_server = start(&scrape);
  uint16_t probe_port = wfe_http_server_port(probe_server);
  uint16_t metrics_port = wfe_http_server_port(metrics_server);
  assert_int_not_equal(probe_port, metrics_port);
  assert_get(probe_port, "/healthz", 200, "ok");
  assert_get(probe_port, "/readyz", 200, "ok");
  assert_get(probe_port, "/metrics", 404, NULL);
  assert_get(metrics_port, "/metrics", 200, "");
  assert_get(metrics_port, "/healthz", 404, NULL);
  wfe_http_server_stop(probe_server);
  wfe_http_server_stop(metrics_server);
  wfe_metrics_free(metrics);
}

static void test_http_wildcard_address_listens_on_loopback_too(void **state)
{
  struct wfe_http_server_options options = {0};
  options.bind_address = ":0";
  struct wfe_http_server *server = start(&options);
  assert_get(wfe_http_server_port(server), "/healthz", 200, "ok");
  wfe_http_server_stop(server);
}

static void test_http_port_in_use_is_unavailable(void **state)
{
  struct wfe_http_server_options options = {0};
  struct wfe_http_server *first = start(&options);
  char address[32];
  snprintf(address, sizeof(address), "127.0.0.1:%u",
           (unsigned)wfe_http_server_port(first));
  struct wfe_http_server_options again = {0};
  again.bind_address = address;
  struct wfe_http_server *second = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_http_server_start(&again, &second, &err),
                   WFE_E_UNAVAILABLE);
  assert_null(second);
  assert_non_null(strstr(wfe_error_message(&err), address));
  wfe_error_clear(&err);
  wfe_http_server_stop(first);
}

/* --- HTTPS and authorization ---------------------------------------------- */

/* The token the authorizer last saw ("(none)" when NULL; the value only
 * lives for the call, so it is copied). */
static char last_token[64];

/* "reader" may scrape, "stranger" is known but not allowed, "down" finds
 * the API server away; anything else is unknown. */
static unsigned fake_authorize(void *ctx, const char *token)
{
  (void)ctx;
  snprintf(last_token, sizeof(last_token), "%s", token ? token : "(none)");
  if (!token)
    return 401;
  if (!strcmp(token, "reader"))
    return 200;
  if (!strcmp(token, "stranger"))
    return 403;
  if (!strcmp(token, "down"))
    return 503;
  return 401;
}

static struct wfe_serving_cert *new_cert(const char *cert_file,
                                         const char *key_file)
{
  struct wfe_serving_cert_options options = {cert_file, key_file, 1};
  struct wfe_serving_cert *cert = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_serving_cert_new(&options, &cert, &err))
    fail_msg("serving cert: %s", wfe_error_message(&err));
  return cert;
}

static void assert_scrape(uint16_t port, const char *authorization, long status,
                          const char *body)
{
  assert_answer(port, 1, "/metrics", authorization, status, body);
}

static void test_https_metrics_answer_as_the_authorizer_decides(void **state)
{
  struct wfe_metrics *metrics = wfe_metrics_new();
  wfe_metric_add(
      wfe_metrics_counter(metrics, "wfe_test_total", "Test.", NULL, 0), NULL,
      1);
  struct wfe_serving_cert *cert = new_cert(NULL, NULL);
  assert_true(wfe_serving_cert_generated(cert));
  struct wfe_http_server_options options = {0};
  options.endpoints = WFE_HTTP_METRICS;
  options.metrics = metrics;
  options.tls = cert;
  options.authorize = fake_authorize;
  struct wfe_http_server *server = start(&options);
  uint16_t port = wfe_http_server_port(server);
  assert_scrape(port, NULL, 401, "Unauthorized\n");
  assert_string_equal(last_token, "(none)");
  assert_scrape(port, "Basic cmVhZGVyOg==", 401, NULL);
  assert_string_equal(last_token, "(none)");
  assert_scrape(port, "Bearer ", 401, NULL);
  assert_scrape(port, "Bearer nobody", 401, NULL);
  assert_scrape(port, "Bearer stranger", 403, "Forbidden\n");
  assert_scrape(port, "Bearer down", 503, NULL);
  struct reply reply;
  request_tls(port, "/metrics", "bearer  reader", &reply);
  assert_int_equal(reply.status, 200);
  assert_string_equal(last_token, "reader");
  assert_non_null(strstr(wfe_buf_str(&reply.body), "wfe_test_total 1"));
  reply_free(&reply);
  /* Other paths answer 404 without asking. */
  snprintf(last_token, sizeof(last_token), "untouched");
  request_tls(port, "/healthz", "Bearer reader", &reply);
  assert_int_equal(reply.status, 404);
  assert_string_equal(last_token, "untouched");
  reply_free(&reply);
  wfe_http_server_stop(server);
  wfe_serving_cert_free(cert);
  wfe_metrics_free(metrics);
}

static void test_https_refuses_plain_http(void **state)
{
  struct wfe_serving_cert *cert = new_cert(NULL, NULL);
  struct wfe_http_server_options options = {0};
  options.tls = cert;
  struct wfe_http_server *server = start(&options);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz",
           (unsigned)wfe_http_server_port(server));
  CURL *curl = curl_easy_init();
  assert_non_null(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  long status = 0;
  CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  assert_true(code != CURLE_OK || status != 200);
  curl_easy_cleanup(curl);
  wfe_http_server_stop(server);
  wfe_serving_cert_free(cert);
}

/* A key and self-signed certificate made by openssl into DIR/NAME.{crt,key}. */
static void make_pair(const char *dir, const char *name)
{
  char command[1024];
  snprintf(command, sizeof(command),
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
           "-nodes -days 1 -subj /CN=%s -keyout %s/%s.key -out %s/%s.crt "
           ">/dev/null 2>&1",
           name, dir, name, dir, name);
  if (system(command) != 0)
    fail_msg("openssl could not make %s", name);
}

static void install_pair(const char *dir, const char *name)
{
  char command[1024];
  /* As a Secret volume changes: new files, then renamed over the old. */
  snprintf(command, sizeof(command),
           "cp %s/%s.crt %s/tls.crt.new && cp %s/%s.key %s/tls.key.new && "
           "mv %s/tls.key.new %s/tls.key && mv %s/tls.crt.new %s/tls.crt",
           dir, name, dir, dir, name, dir, dir, dir, dir, dir);
  assert_int_equal(system(command), 0);
}

static void scrape_once(uint16_t port)
{
  struct reply reply;
  request_tls(port, "/healthz", NULL, &reply);
  assert_int_equal(reply.status, 200);
  reply_free(&reply);
}

static void test_https_serves_a_renewed_certificate_file(void **state)
{
  char dir[] = "/tmp/wfe-cert-XXXXXX", crt[64], key[64];
  assert_non_null(mkdtemp(dir));
  make_pair(dir, "first");
  make_pair(dir, "second");
  make_pair(dir, "third");
  install_pair(dir, "first");
  snprintf(crt, sizeof(crt), "%s/tls.crt", dir);
  snprintf(key, sizeof(key), "%s/tls.key", dir);
  struct wfe_serving_cert *cert = new_cert(crt, key);
  assert_false(wfe_serving_cert_generated(cert));
  char first[65], now[65];
  wfe_serving_cert_fingerprint(cert, first);
  struct wfe_http_server_options options = {0};
  options.tls = cert;
  struct wfe_http_server *server = start(&options);
  uint16_t port = wfe_http_server_port(server);
  scrape_once(port);
  assert_int_equal(wfe_serving_cert_reloads(cert), 0);

  install_pair(dir, "second");
  usleep(5000);
  scrape_once(port); /* the handshake sees the change */
  assert_int_equal(wfe_serving_cert_reloads(cert), 1);
  wfe_serving_cert_fingerprint(cert, now);
  assert_string_not_equal(now, first);

  /* A key that is not the certificate's is not served: the last good pair
   * stays. */
  char command[512];
  snprintf(command, sizeof(command), "cp %s/third.key %s/tls.key", dir, dir);
  assert_int_equal(system(command), 0);
  usleep(5000);
  scrape_once(port);
  assert_int_equal(wfe_serving_cert_reloads(cert), 1);
  char still[65];
  wfe_serving_cert_fingerprint(cert, still);
  assert_string_equal(still, now);

  wfe_http_server_stop(server);
  wfe_serving_cert_free(cert);
  snprintf(command, sizeof(command), "rm -rf %s", dir);
  assert_int_equal(system(command), 0);
}

static void test_serving_cert_refuses_bad_files(void **state)
{
  struct wfe_serving_cert_options options = {"/nonexistent/tls.crt",
                                             "/nonexistent/tls.key", 0};
  struct wfe_serving_cert *cert = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_serving_cert_new(&options, &cert, &err), WFE_E_INVALID);
  assert_null(cert);
  assert_string_equal(err.field, "metricsCertFile");
  assert_non_null(strstr(err.message, "/nonexistent/tls.crt"));
  wfe_error_clear(&err);
  options.key_file = NULL;
  assert_int_equal(wfe_serving_cert_new(&options, &cert, &err), WFE_E_INVALID);
  assert_string_equal(err.field, "metricsKeyFile");
  wfe_error_clear(&err);
}

static void test_http_bearer_token_parsing(void **state)
{
  assert_string_equal(wfe_http_bearer_token("Bearer abc"), "abc");
  assert_string_equal(wfe_http_bearer_token("bearer   abc.def"), "abc.def");
  assert_null(wfe_http_bearer_token(NULL));
  assert_null(wfe_http_bearer_token("Bearer"));
  assert_null(wfe_http_bearer_token("Bearer   "));
  assert_null(wfe_http_bearer_token("Bearerabc"));
  assert_null(wfe_http_bearer_token("Basic abc"));
}

static void test_http_bind_address_parsing(void **state)
{
  char *host = NULL;
  uint16_t port = 0;
  assert_int_equal(
      wfe_http_parse_bind_address("127.0.0.1:8081", &host, &port, NULL), 0);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 8081);
  free(host);
  assert_int_equal(wfe_http_parse_bind_address(":9090", &host, &port, NULL), 0);
  assert_string_equal(host, "");
  assert_int_equal(port, 9090);
  free(host);
  assert_int_equal(wfe_http_parse_bind_address("[::1]:0", &host, &port, NULL),
                   0);
  assert_string_equal(host, "::1");
  assert_int_equal(port, 0);
  free(host);
  const char *bad[] = {"8080",   "host:",     "host:65536", "host:8o",
                       "::1:80", "[::1]8080", "[::1",       ":123456"};
  struct wfe_error err = WFE_ERROR_INIT;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(wfe_http_parse_bind_address(bad[i], &host, &port, &err),
                     WFE_E_INVALID);
    assert_null(host);
  }
  assert_string_equal(err.reason, "InvalidBindAddress");
  wfe_error_clear(&err);
}

static int count_fds(void)
{
  DIR *dir = opendir("/proc/self/fd");
  assert_non_null(dir);
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)))
    count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

static void test_http_stop_closes_every_socket(void **state)
{
  int before = count_fds();
  for (int i = 0; i < 3; i++) {
    struct wfe_http_server_options options = {0};
    struct wfe_http_server *server = start(&options);
    assert_get(wfe_http_server_port(server), "/healthz", 200, "ok");
    wfe_http_server_stop(server);
  }
  wfe_http_server_stop(NULL);
  assert_int_equal(count_fds(), before);
}

static int setup(void **state)
{
  return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
  curl_global_cleanup();
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_healthz_answers_ok),
      cmocka_unit_test(test_http_readyz_flips_from_503_to_200),
      cmocka_unit_test(test_http_metrics_renders_the_registry),
      cmocka_unit_test(test_http_head_answers_without_body),
      cmocka_unit_test(test_http_unknown_path_is_404),
      cmocka_unit_test(test_http_other_methods_are_405_with_allow),
      cmocka_unit_test(test_http_server_serves_only_its_chosen_endpoints),
      cmocka_unit_test(test_http_wildcard_address_listens_on_loopback_too),
      cmocka_unit_test(test_http_port_in_use_is_unavailable),
      cmocka_unit_test(test_https_metrics_answer_as_the_authorizer_decides),
      cmocka_unit_test(test_https_refuses_plain_http),
      cmocka_unit_test(test_https_serves_a_renewed_certificate_file),
      cmocka_unit_test(test_serving_cert_refuses_bad_files),
      cmocka_unit_test(test_http_bearer_token_parsing),
      cmocka_unit_test(test_http_bind_address_parsing),
      cmocka_unit_test(test_http_stop_closes_every_socket),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
