/*
 * Delegated authentication and authorization of scrapes: the decision cache
 * (expiry of allowed and refused tokens, its bound) and how the API
 * server's TokenReview and SubjectAccessReview answers map to a decision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "delegated_auth.h"
#include "json_util.h"
#include "sha256.h"

static void digest_of(const char *token, unsigned char out[32])
{
  struct wfe_sha256 sha;
  wfe_sha256_init(&sha);
  wfe_sha256_update(&sha, token, strlen(token));
  wfe_sha256_final(&sha, out);
}

static void test_auth_cache_expires_allowed_and_refused_tokens(void **state)
{
  struct wfe_auth_cache *cache = wfe_auth_cache_new(8);
  assert_non_null(cache);
  unsigned char reader[32], stranger[32];
  digest_of("reader", reader);
  digest_of("stranger", stranger);
  enum wfe_auth_decision d = WFE_AUTH_UNAVAILABLE;
  assert_false(wfe_auth_cache_get(cache, reader, 0, &d));
  /* Allowed for 60 s, refused for 30 s, from t = 1000 ms. */
  wfe_auth_cache_put(cache, reader, WFE_AUTH_ALLOWED, 61000, 1000);
  wfe_auth_cache_put(cache, stranger, WFE_AUTH_FORBIDDEN, 31000, 1000);
  assert_true(wfe_auth_cache_get(cache, reader, 30999, &d));
  assert_int_equal(d, WFE_AUTH_ALLOWED);
  assert_true(wfe_auth_cache_get(cache, stranger, 30999, &d));
  assert_int_equal(d, WFE_AUTH_FORBIDDEN);
  assert_false(wfe_auth_cache_get(cache, stranger, 31000, &d));
  assert_true(wfe_auth_cache_get(cache, reader, 60999, &d));
  assert_false(wfe_auth_cache_get(cache, reader, 61000, &d));
  /* A new answer replaces the old one: the same token, now refused. */
  wfe_auth_cache_put(cache, reader, WFE_AUTH_UNAUTHENTICATED, 70000, 61000);
  assert_true(wfe_auth_cache_get(cache, reader, 61001, &d));
  assert_int_equal(d, WFE_AUTH_UNAUTHENTICATED);
  assert_int_equal(wfe_auth_cache_size(cache), 2);
  /* A TTL of 0 caches nothing. */
  unsigned char other[32];
  digest_of("other", other);
  wfe_auth_cache_put(cache, other, WFE_AUTH_ALLOWED, 5000, 5000);
  assert_false(wfe_auth_cache_get(cache, other, 5000, &d));
  wfe_auth_cache_free(cache);
}

static void test_auth_cache_is_bounded(void **state)
{
  struct wfe_auth_cache *cache = wfe_auth_cache_new(4);
  unsigned char digest[32];
  char token[16];
  enum wfe_auth_decision d;
  /* Four tokens expiring at 10, 20, 30, 40 s. */
  for (int i = 1; i <= 4; i++) {
    snprintf(token, sizeof(token), "t%d", i);
    digest_of(token, digest);
    wfe_auth_cache_put(cache, digest, WFE_AUTH_ALLOWED, i * 10000, 0);
  }
  assert_int_equal(wfe_auth_cache_size(cache), 4);
  /* A fifth pushes out the one that expires first (t1). */
  digest_of("t5", digest);
  wfe_auth_cache_put(cache, digest, WFE_AUTH_FORBIDDEN, 50000, 0);
  assert_int_equal(wfe_auth_cache_size(cache), 4);
  assert_true(wfe_auth_cache_get(cache, digest, 1, &d));
  digest_of("t1", digest);
  assert_false(wfe_auth_cache_get(cache, digest, 1, &d));
  digest_of("t2", digest);
  assert_true(wfe_auth_cache_get(cache, digest, 1, &d));
  /* At 35 s t2 and t3 have expired: both make room at once. */
  digest_of("t6", digest);
  wfe_auth_cache_put(cache, digest, WFE_AUTH_ALLOWED, 95000, 35000);
  assert_int_equal(wfe_auth_cache_size(cache), 3);
  /* Thousands of tokens never grow it. */
  for (int i = 0; i < 5000; i++) {
    snprintf(token, sizeof(token), "x%d", i);
    digest_of(token, digest);
    wfe_auth_cache_put(cache, digest, WFE_AUTH_UNAUTHENTICATED, 100000 + i,
                       36000);
  }
  assert_int_equal(wfe_auth_cache_size(cache), 4);
  wfe_auth_cache_free(cache);
}

static json_object *parse(const char *text)
{
  json_object *obj = wfe_json_parse(text, strlen(text));
  assert_non_null(obj);
  return obj;
}

static void test_auth_token_review_names_the_user_to_authorize(void **state)
{
  json_object *review = parse(
      "{\"kind\":\"TokenReview\",\"status\":{\"authenticated\":true,"
      "\"user\":{\"username\":\"system:serviceaccount:mon:prometheus\","
      "\"uid\":\"u-1\",\"groups\":[\"system:serviceaccounts\","
      "\"system:authenticated\"],\"extra\":{\"authentication.kubernetes.io/"
      "pod-name\":[\"prom-0\"]}},\"audiences\":[\"https://kubernetes\"]}}");
  json_object *spec = NULL;
  assert_int_equal(wfe_auth_read_token_review(review, &spec), 1);
  assert_string_equal(wfe_json_text(spec, NULL),
                      "{\"user\":\"system:serviceaccount:mon:prometheus\","
                      "\"uid\":\"u-1\",\"groups\":[\"system:serviceaccounts\","
                      "\"system:authenticated\"],\"extra\":{\"authentication."
                      "kubernetes.io/pod-name\":[\"prom-0\"]}}");
  json_object_put(spec);
  json_object_put(review);
}

static void test_auth_token_review_refusals_and_garbage(void **state)
{
  static const struct {
    const char *answer;
    int want;
  } cases[] = {
      {"{\"status\":{\"authenticated\":false,\"error\":\"expired\"}}", 0},
      {"{\"status\":{}}", 0},
      {"{}", 0},
      {"[]", 0},
      {"{\"status\":{\"authenticated\":\"true\",\"user\":{\"username\":\"a\"}}"
       "}",
       0},
      {"{\"status\":{\"authenticated\":true}}", -1},
      {"{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"\"}}}",
       -1},
      {"{\"status\":{\"authenticated\":true,\"user\":{\"username\":7}}}", -1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_object *review = parse(cases[i].answer);
    json_object *spec = NULL;
    int rc = wfe_auth_read_token_review(review, &spec);
    if (cases[i].want < 0)
      assert_true(rc < 0);
    else
      assert_int_equal(rc, cases[i].want);
    assert_null(spec);
    json_object_put(review);
  }
  /* Malformed groups and extra are not passed on; the user still is. */
  json_object *review =
      parse("{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"a\","
            "\"groups\":[\"g\",1],\"extra\":{\"k\":\"v\"},\"uid\":2}}}");
  json_object *spec = NULL;
  assert_int_equal(wfe_auth_read_token_review(review, &spec), 1);
  assert_string_equal(wfe_json_text(spec, NULL), "{\"user\":\"a\"}");
  json_object_put(spec);
  json_object_put(review);
}

static void test_auth_access_review_allows_only_when_allowed(void **state)
{
  static const struct {
    const char *answer;
    int allowed;
  } cases[] = {
      {"{\"status\":{\"allowed\":true}}", 1},
      {"{\"status\":{\"allowed\":true,\"denied\":false}}", 1},
      {"{\"status\":{\"allowed\":false,\"reason\":\"no rule\"}}", 0},
      {"{\"status\":{\"allowed\":false,\"denied\":true}}", 0},
      {"{\"status\":{\"allowed\":true,\"denied\":true}}", 0},
      {"{\"status\":{\"allowed\":\"true\"}}", 0},
      {"{\"status\":{}}", 0},
      {"{}", 0},
      {"null", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_object *review =
        wfe_json_parse(cases[i].answer, strlen(cases[i].answer));
    assert_int_equal(wfe_auth_read_access_review(review), cases[i].allowed);
    json_object_put(review);
  }
}

static void test_auth_decisions_map_to_http_statuses(void **state)
{
  assert_int_equal(wfe_auth_http_status(WFE_AUTH_ALLOWED), 200);
  assert_int_equal(wfe_auth_http_status(WFE_AUTH_UNAUTHENTICATED), 401);
  assert_int_equal(wfe_auth_http_status(WFE_AUTH_FORBIDDEN), 403);
  assert_int_equal(wfe_auth_http_status(WFE_AUTH_UNAVAILABLE), 503);
}

static void test_auth_without_a_token_asks_nobody(void **state)
{
  /* No client at all: a request without a token must not need one. */
  struct wfe_delegated_auth_options options = {0};
  options.allow_ttl_ms = 60000;
  options.deny_ttl_ms = 30000;
  struct wfe_delegated_auth *auth = NULL;
  assert_int_equal(wfe_delegated_auth_new(&options, &auth, NULL), 0);
  assert_int_equal(wfe_delegated_auth_check(auth, NULL),
                   WFE_AUTH_UNAUTHENTICATED);
  assert_int_equal(wfe_delegated_auth_check(auth, ""),
                   WFE_AUTH_UNAUTHENTICATED);
  wfe_delegated_auth_free(auth);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_auth_cache_expires_allowed_and_refused_tokens),
      cmocka_unit_test(test_auth_cache_is_bounded),
      cmocka_unit_test(test_auth_token_review_names_the_user_to_authorize),
      cmocka_unit_test(test_auth_token_review_refusals_and_garbage),
      cmocka_unit_test(test_auth_access_review_allows_only_when_allowed),
      cmocka_unit_test(test_auth_decisions_map_to_http_statuses),
      cmocka_unit_test(test_auth_without_a_token_asks_nobody),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
