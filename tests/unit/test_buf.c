/*
 * The buffer's cut: text kept to a number of bytes, never split inside a
 * UTF-8 character, and marked with "..." when it was cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "status.h"

static void expect_cut(const char *text, size_t max, const char *expected,
                       int expected_cut)
{
  struct wfe_buf buf = WFE_BUF_INIT;
  int cut = -1;
  assert_int_equal(wfe_buf_append_cut(&buf, text, max, &cut), 0);
  assert_string_equal(wfe_buf_str(&buf), expected);
  assert_int_equal(cut, expected_cut);
  assert_true(buf.len <= max);
  wfe_buf_free(&buf);
}

static void test_buf_cut_keeps_text_that_fits(void **state)
{
  (void)state;
  expect_cut("", 8, "", 0);
  expect_cut("short", 8, "short", 0);
  expect_cut("exactly8", 8, "exactly8", 0);
}

static void test_buf_cut_ends_a_longer_text_with_an_ellipsis(void **state)
{
  (void)state;
  expect_cut("exactly 9", 8, "exact...", 1);
  expect_cut("a longer message than fits", 10, "a longe...", 1);
}

static void test_buf_cut_never_splits_a_utf8_character(void **state)
{
  (void)state;
  /* "é" is 2 bytes, "€" 3: a cut inside either backs up before it. */
  expect_cut("abcd\xc3\xa9xyz", 8, "abcd...", 1);
  expect_cut("abc\xe2\x82\xac"
             "defgh",
             8, "abc...", 1);
  expect_cut("ab\xe2\x82\xac"
             "defgh",
             8, "ab\xe2\x82\xac...", 1);
  expect_cut("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 5, "...", 1);
}

static void test_buf_cut_appends_after_what_is_there(void **state)
{
  (void)state;
  struct wfe_buf buf = WFE_BUF_INIT;
  assert_int_equal(wfe_buf_puts(&buf, "message: "), 0);
  assert_int_equal(wfe_buf_append_cut(&buf, "0123456789", 6, NULL), 0);
  assert_string_equal(wfe_buf_str(&buf), "message: 012...");
  wfe_buf_free(&buf);
}

static void test_buf_cut_respects_the_buffer_limit(void **state)
{
  (void)state;
  struct wfe_buf buf = WFE_BUF_INIT;
  buf.limit = 4;
  assert_int_equal(wfe_buf_append_cut(&buf, "0123456789", 6, NULL),
                   WFE_E_NOMEM);
  assert_true(buf.exceeded);
  assert_string_equal(wfe_buf_str(&buf), "");
  wfe_buf_free(&buf);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_buf_cut_keeps_text_that_fits),
      cmocka_unit_test(test_buf_cut_ends_a_longer_text_with_an_ellipsis),
      cmocka_unit_test(test_buf_cut_never_splits_a_utf8_character),
      cmocka_unit_test(test_buf_cut_appends_after_what_is_there),
      cmocka_unit_test(test_buf_cut_respects_the_buffer_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
