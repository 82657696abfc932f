/*
 * Kubernetes' name rules as apimachinery states them: a label is bounded at
 * 63 characters, a subdomain at 253 in all with parts of any length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"

static const char *repeat(char *buf, char c, size_t n)
{
  memset(buf, c, n);
  buf[n] = '\0';
  return buf;
}

static void test_dns_label_pattern_and_bound(void **state)
{
  char buf[300];
  assert_true(wfe_is_dns_label("a"));
  assert_true(wfe_is_dns_label("a-1"));
  assert_true(wfe_is_dns_label("0a"));
  assert_false(wfe_is_dns_label("-a"));
  assert_false(wfe_is_dns_label("a-"));
  assert_false(wfe_is_dns_label("a.b"));
  assert_false(wfe_is_dns_label("A"));
  assert_false(wfe_is_dns_label(""));
  assert_false(wfe_is_dns_label(NULL));
  assert_true(wfe_is_dns_label(repeat(buf, 'a', 63)));
  assert_false(wfe_is_dns_label(repeat(buf, 'a', 64)));
}

static void test_dns_subdomain_bounds_the_whole_not_the_parts(void **state)
{
  char buf[300];
  assert_true(wfe_is_dns_subdomain("a.b-c.d"));
  assert_true(wfe_is_dns_subdomain(repeat(buf, 'a', 253)));
  assert_false(wfe_is_dns_subdomain(repeat(buf, 'a', 254)));
  repeat(buf, 'a', 253);
  buf[100] = '.'; /* parts of 100 and 152 characters */
  assert_true(wfe_is_dns_subdomain(buf));
}

static void test_dns_subdomain_pattern(void **state)
{
  assert_false(wfe_is_dns_subdomain(""));
  assert_false(wfe_is_dns_subdomain(NULL));
  assert_false(wfe_is_dns_subdomain("a..b"));
  assert_false(wfe_is_dns_subdomain("a.b."));
  assert_false(wfe_is_dns_subdomain(".a"));
  assert_false(wfe_is_dns_subdomain("a.-b"));
  assert_false(wfe_is_dns_subdomain("a-.b"));
  assert_false(wfe_is_dns_subdomain("a_b"));
  assert_false(wfe_is_dns_subdomain("a/b"));
  assert_false(wfe_is_dns_subdomain("A.b"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dns_label_pattern_and_bound),
      cmocka_unit_test(test_dns_subdomain_bounds_the_whole_not_the_parts),
      cmocka_unit_test(test_dns_subdomain_pattern),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
