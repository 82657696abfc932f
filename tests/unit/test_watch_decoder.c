/*
 * The parts of the API client that need no server: watch stream framing
 * (newline-delimited JSON events split anywhere, bookmarks, in-stream 410
 * errors, malformed and oversized events), request path building with
 * escaping, and creating a client from a configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "status.h"

struct seen {
  int count;
  enum wfe_watch_event_type types[16];
  char names[16][64];
  int64_t codes[16];
  int stop_after; /* return 42 after this many events; 0: never */
};

static int record(void *ctx, enum wfe_watch_event_type type, json_object *obj)
{
  struct seen *s = ctx;
  assert_true(s->count < 16);
  s->types[s->count] = type;
  json_object *metadata = NULL, *name = NULL, *code = NULL;
  if (json_object_object_get_ex(obj, "metadata", &metadata) &&
      json_object_object_get_ex(metadata, "name", &name))
    snprintf(s->names[s->count], sizeof(s->names[0]), "%s",
             json_object_get_string(name));
  if (json_object_object_get_ex(obj, "code", &code))
    s->codes[s->count] = json_object_get_int64(code);
  s->count++;
  return s->stop_after && s->count >= s->stop_after ? 42 : 0;
}

static const char stream[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":"
    "{\"name\":\"a\",\"resourceVersion\":\"10\"}}}\n"
    "\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"b\"},"
    "\"data\":{\"k\":\"line\\nbreak\"}}}\r\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":"
    "\"12\"}}}\n"
    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"c\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
    "\"status\":\"Failure\",\"message\":\"too old resource version: 1 (5)\","
    "\"reason\":\"Expired\",\"code\":410}}\n";

static void assert_stream_events(const struct seen *s)
{
  assert_int_equal(s->count, 5);
  assert_int_equal(s->types[0], WFE_WATCH_ADDED);
  assert_string_equal(s->names[0], "a");
  assert_int_equal(s->types[1], WFE_WATCH_MODIFIED);
  assert_string_equal(s->names[1], "b");
  assert_int_equal(s->types[2], WFE_WATCH_BOOKMARK);
  assert_int_equal(s->types[3], WFE_WATCH_DELETED);
  assert_string_equal(s->names[3], "c");
  assert_int_equal(s->types[4], WFE_WATCH_ERROR);
  assert_int_equal(s->codes[4], 410);
}

static void test_decoder_reads_several_events_in_one_chunk(void **state)
{
  struct seen s = {0};
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_watch_decoder *d = wfe_watch_decoder_new(record, &s);
  assert_int_equal(wfe_watch_decoder_feed(d, stream, strlen(stream), &err), 0);
  assert_stream_events(&s);
  wfe_watch_decoder_free(d);
}

static void test_decoder_handles_a_split_at_every_byte(void **state)
{
  size_t len = strlen(stream);
  for (size_t cut = 0; cut <= len; cut++) {
    struct seen s = {0};
    struct wfe_error err = WFE_ERROR_INIT;
    struct wfe_watch_decoder *d = wfe_watch_decoder_new(record, &s);
    assert_int_equal(wfe_watch_decoder_feed(d, stream, cut, &err), 0);
    assert_int_equal(wfe_watch_decoder_feed(d, stream + cut, len - cut, &err),
                     0);
    assert_stream_events(&s);
    wfe_watch_decoder_free(d);
  }
}

static void test_decoder_handles_one_byte_at_a_time(void **state)
{
  struct seen s = {0};
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_watch_decoder *d = wfe_watch_decoder_new(record, &s);
  for (size_t i = 0; stream[i]; i++)
    assert_int_equal(wfe_watch_decoder_feed(d, &stream[i], 1, &err), 0);
  assert_stream_events(&s);
  wfe_watch_decoder_free(d);
}

static void test_decoder_ignores_blank_keepalive_lines(void **state)
{
  struct seen s = {0};
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_watch_decoder *d = wfe_watch_decoder_new(record, &s);
  const char *blank = "\n\r\n  \n\t\n";
  assert_int_equal(wfe_watch_decoder_feed(d, blank, strlen(blank), &err), 0);
  assert_int_equal(s.count, 0);
  wfe_watch_decoder_free(d);
}

static void test_decoder_waits_for_the_newline(void **state)
{
  struct seen s = {0};
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_watch_decoder *d = wfe_watch_decoder_new(record, &s);
  const char *event = "{\"type\":\"ADDED\",\"object\":{}}";
  assert_int_equal(wfe_watch_decoder_feed(d, event, strlen(event), &err), 0);
  assert_int_equal(s.count, 0);
  assert_int_equal(wfe_watch_decoder_feed(d, "\n", 1, &err), 0);
  assert_int_equal(s.count, 1);
  wfe_watch_decoder_free(d);
}

static void expect_malformed(const char *line, const char *part)
{
  struct seen s = {0};
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_watch_decoder *d = wfe_watch_decoder_new(record, &s);
  assert_int_equal(wfe_watch_decoder_feed(d, line, strlen(line), &err),
                   WFE_E_INVALID);
  assert_non_null(strstr(wfe_error_message(&err), part));
  wfe_error_clear(&err);
  /* The stream cannot be trusted after that. */
  const char *good = "{\"type\":\"ADDED\",\"object\":{}}\n";
  assert_int_equal(wfe_watch_decoder_feed(d, good, strlen(good), &err),
                   WFE_E_INVALID);
  assert_int_equal(s.count, 0);
  wfe_error_clear(&err);
  wfe_watch_decoder_free(d);
}

static void test_decoder_rejects_malformed_events(void **state)
{
  expect_malformed("{\"type\":\"ADDED\",\"object\":{}\n", "not valid JSON");
  expect_malformed("{\"type\":\"ADDED\",\"object\":{}} trailing\n",
                   "not valid JSON");
  expect_malformed("[1,2]\n", "no type");
  expect_malformed("{\"object\":{}}\n", "no type");
  expect_malformed("{\"type\":\"RENAMED\",\"object\":{}}\n",
                   "unknown event type \"RENAMED\"");
  expect_malformed("{\"type\":\"ADDED\",\"object\":\"x\"}\n", "no object");
  expect_malformed("{\"type\":\"ADDED\"}\n", "no object");
}

static void test_decoder_refuses_an_event_over_the_cap(void **state)
{
  struct seen s = {0};
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_watch_decoder *d = wfe_watch_decoder_new(record, &s);
  size_t chunk_len = 1024 * 1024;
  char *chunk = malloc(chunk_len);
  memset(chunk, ' ', chunk_len);
  int rc = 0;
  for (int i = 0; i < 17 && !rc; i++)
    rc = wfe_watch_decoder_feed(d, chunk, chunk_len, &err);
  assert_int_equal(rc, WFE_E_INVALID);
  assert_string_equal(err.reason, "WatchEventTooLarge");
  assert_non_null(strstr(err.message, "larger than"));
  wfe_error_clear(&err);
  free(chunk);
  wfe_watch_decoder_free(d);
}

static void test_decoder_accepts_a_large_event_under_the_cap(void **state)
{
  struct seen s = {0};
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_watch_decoder *d = wfe_watch_decoder_new(record, &s);
  struct wfe_buf event = WFE_BUF_INIT;
  wfe_buf_puts(&event, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\""
                       ":\"big\"},\"data\":{\"k\":\"");
  for (int i = 0; i < 3 * 1024 * 1024 / 64; i++)
    wfe_buf_puts(&event, "0123456789abcdef0123456789abcdef0123456789abcdef"
                         "0123456789abcdef");
  wfe_buf_puts(&event, "\"}}}\n");
  /* Fed in odd-sized pieces, as a socket would deliver it. */
  for (size_t off = 0; off < event.len; off += 16381) {
    size_t n = event.len - off < 16381 ? event.len - off : 16381;
    assert_int_equal(wfe_watch_decoder_feed(d, event.data + off, n, &err), 0);
  }
  assert_int_equal(s.count, 1);
  assert_string_equal(s.names[0], "big");
  wfe_buf_free(&event);
  wfe_watch_decoder_free(d);
}

static void test_decoder_returns_the_handlers_value(void **state)
{
  struct seen s = {.stop_after = 2};
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_watch_decoder *d = wfe_watch_decoder_new(record, &s);
  assert_int_equal(wfe_watch_decoder_feed(d, stream, strlen(stream), &err), 42);
  assert_int_equal(s.count, 2);
  wfe_watch_decoder_free(d);
}

/* --- Paths ---------------------------------------------------------------- */

static void expect_path(const struct wfe_resource *res, const char *ns,
                        const char *name, const char *sub, const char *expect)
{
  struct wfe_buf out = WFE_BUF_INIT;
  assert_int_equal(wfe_kube_path(res, ns, name, sub, &out), 0);
  assert_string_equal(wfe_buf_str(&out), expect);
  wfe_buf_free(&out);
}

static void test_path_core_and_group_resources(void **state)
{
  struct wfe_resource cm = {"v1", "configmaps", 1};
  struct wfe_resource ns = {"v1", "namespaces", 0};
  struct wfe_resource pr = {"tekton.dev/v1", "pipelineruns", 1};
  expect_path(&cm, "default", "x", NULL,
              "/api/v1/namespaces/default/configmaps/x");
  expect_path(&cm, NULL, NULL, NULL, "/api/v1/configmaps");
  expect_path(&ns, NULL, "team-a", NULL, "/api/v1/namespaces/team-a");
  expect_path(&pr, "ci", "run-1", "status",
              "/apis/tekton.dev/v1/namespaces/ci/pipelineruns/run-1/status");
  expect_path(&pr, "ci", NULL, NULL,
              "/apis/tekton.dev/v1/namespaces/ci/pipelineruns");
}

static void test_path_escapes_each_segment(void **state)
{
  struct wfe_resource cm = {"v1", "configmaps", 1};
  expect_path(&cm, "a b", "x/y?z#%", NULL,
              "/api/v1/namespaces/a%20b/configmaps/x%2Fy%3Fz%23%25");
  expect_path(&cm, "ns", "na\xc3\xafve", NULL,
              "/api/v1/namespaces/ns/configmaps/na%C3%AFve");
}

static void test_path_rejects_bad_segments(void **state)
{
  struct wfe_resource cm = {"v1", "configmaps", 1};
  struct wfe_resource ns = {"v1", "namespaces", 0};
  struct wfe_resource bad = {"a/b/c", "things", 1};
  struct wfe_buf out = WFE_BUF_INIT;
  assert_int_equal(wfe_kube_path(&cm, "ns", "..", NULL, &out), WFE_E_INVALID);
  wfe_buf_clear(&out);
  assert_int_equal(wfe_kube_path(&cm, "ns", "", NULL, &out), WFE_E_INVALID);
  wfe_buf_clear(&out);
  assert_int_equal(wfe_kube_path(&cm, "ns", NULL, "status", &out),
                   WFE_E_INVALID);
  wfe_buf_clear(&out);
  assert_int_equal(wfe_kube_path(&ns, "ns", "x", NULL, &out), WFE_E_INVALID);
  wfe_buf_clear(&out);
  assert_int_equal(wfe_kube_path(&bad, "ns", "x", NULL, &out), WFE_E_INVALID);
  wfe_buf_free(&out);
}

/* --- Client lifecycle ----------------------------------------------------- */

static void test_client_copies_its_configuration(void **state)
{
  struct wfe_kube_config *config = NULL;
  struct wfe_kube_client *client = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  const char *text = "current-context: x\n"
                     "clusters: [{name: c, cluster: {server: "
                     "'https://127.0.0.1:1/prefix/', tls-server-name: api}}]\n"
                     "users: [{name: u, user: {token: t}}]\n"
                     "contexts: [{name: x, context: {cluster: c, user: u, "
                     "namespace: ns1}}]\n";
  assert_int_equal(wfe_kube_config_parse(text, strlen(text), "mem", NULL, NULL,
                                         &config, &err),
                   0);
  assert_int_equal(wfe_kube_client_new(config, NULL, &client, &err), 0);
  wfe_kube_config_free(config);
  assert_string_equal(wfe_kube_client_namespace(client), "ns1");
  wfe_kube_client_free(client);
  wfe_kube_client_free(NULL);
}

static void test_client_reports_an_unreachable_server(void **state)
{
  /* Port 1 on loopback refuses at once: a retryable transport error, after
   * the configured retries. */
  struct wfe_kube_config config = {.server = "https://127.0.0.1:1",
                                   .token = "s3cr3t-token"};
  struct wfe_kube_client_options options = {
      .max_retries = 2, .backoff_base_ms = 1, .backoff_cap_ms = 2};
  struct wfe_kube_client *client = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_client_new(&config, &options, &client, &err), 0);
  struct wfe_resource cm = {"v1", "configmaps", 1};
  json_object *obj = NULL;
  assert_int_equal(wfe_kube_get(client, &cm, "default", "x", &obj, &err),
                   WFE_E_UNAVAILABLE);
  assert_true(err.retryable);
  assert_null(obj);
  assert_non_null(strstr(err.message, "/api/v1/namespaces/default/"));
  assert_null(strstr(err.message, "s3cr3t"));
  wfe_error_clear(&err);
  wfe_kube_client_free(client);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decoder_reads_several_events_in_one_chunk),
      cmocka_unit_test(test_decoder_handles_a_split_at_every_byte),
      cmocka_unit_test(test_decoder_handles_one_byte_at_a_time),
      cmocka_unit_test(test_decoder_ignores_blank_keepalive_lines),
      cmocka_unit_test(test_decoder_waits_for_the_newline),
      cmocka_unit_test(test_decoder_rejects_malformed_events),
      cmocka_unit_test(test_decoder_refuses_an_event_over_the_cap),
      cmocka_unit_test(test_decoder_accepts_a_large_event_under_the_cap),
      cmocka_unit_test(test_decoder_returns_the_handlers_value),
      cmocka_unit_test(test_path_core_and_group_resources),
      cmocka_unit_test(test_path_escapes_each_segment),
      cmocka_unit_test(test_path_rejects_bad_segments),
      cmocka_unit_test(test_client_copies_its_configuration),
      cmocka_unit_test(test_client_reports_an_unreachable_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
