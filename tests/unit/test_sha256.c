/*
 * SHA-256 against the FIPS 180-4 and NIST CAVP vectors: empty, one block,
 * two blocks, a million bytes fed in uneven pieces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

static void test_sha256_of_short_messages(void **state)
{
  char hex[65];
  wfe_sha256_hex("", 0, hex);
  assert_string_equal(
      hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  wfe_sha256_hex("abc", 3, hex);
  assert_string_equal(
      hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two_blocks =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  wfe_sha256_hex(two_blocks, strlen(two_blocks), hex);
  assert_string_equal(
      hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* Lengths around the padding boundary: 55 bytes fit one block, 56 need two. */
static void test_sha256_at_the_padding_boundary(void **state)
{
  char data[64], hex[65];
  memset(data, 'a', sizeof(data));
  wfe_sha256_hex(data, 55, hex);
  assert_string_equal(
      hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  wfe_sha256_hex(data, 56, hex);
  assert_string_equal(
      hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  wfe_sha256_hex(data, 64, hex);
  assert_string_equal(
      hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_sha256_of_a_million_a_in_pieces(void **state)
{
  struct wfe_sha256 ctx;
  wfe_sha256_init(&ctx);
  char chunk[997];
  memset(chunk, 'a', sizeof(chunk));
  size_t left = 1000000;
  for (size_t piece = 1; left; piece = piece * 7 % sizeof(chunk) + 1) {
    size_t n = piece < left ? piece : left;
    wfe_sha256_update(&ctx, chunk, n);
    left -= n;
  }
  unsigned char digest[32];
  char hex[65];
  wfe_sha256_final(&ctx, digest);
  wfe_sha256_to_hex(digest, hex);
  assert_string_equal(
      hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_of_short_messages),
      cmocka_unit_test(test_sha256_at_the_padding_boundary),
      cmocka_unit_test(test_sha256_of_a_million_a_in_pieces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
