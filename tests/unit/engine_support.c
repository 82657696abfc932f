/* Helpers for the engine tests; see engine_support.h. */
#include "engine_support.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <json-c/json.h>

const wfe_engine *test_open_engine(const char *path, void **out_module)
{
  void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!module)
    fail_msg("dlopen: %s", dlerror());
  wfe_plugin_entry_fn entry;
  *(void **)&entry = dlsym(module, WFE_PLUGIN_ENTRY_SYMBOL);
  assert_non_null(entry);
  const wfe_plugin *plugin = entry();
  assert_int_equal(plugin->abi_major, WFE_ENGINE_ABI_MAJOR);
  assert_int_equal(plugin->engine_count, 1);
  *out_module = module;
  return plugin->engines[0];
}

char *test_read_data(const char *subdir, const char *relative)
{
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s/%s", WFE_TEST_DATA_DIR, subdir, relative);
  return test_read_file(path);
}

char *test_read_file(const char *path)
{
  FILE *file = fopen(path, "rb");
  if (!file)
    fail_msg("cannot open %s", path);
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  char *text = malloc((size_t)size + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
  text[size] = '\0';
  fclose(file);
  return text;
}

void test_assert_json_equal(const char *actual, const char *expected,
                            const char *label)
{
  json_object *a = json_tokener_parse(actual);
  json_object *e = json_tokener_parse(expected);
  if (!a)
    fail_msg("%s: output is not JSON:\n%s", label, actual);
  assert_non_null(e);
  if (!json_object_equal(a, e)) {
    int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE;
    print_error("%s: documents differ\n--- expected\n%s\n+++ actual\n%s\n",
                label, json_object_to_json_string_ext(e, flags),
                json_object_to_json_string_ext(a, flags));
    json_object_put(a);
    json_object_put(e);
    fail();
  }
  json_object_put(a);
  json_object_put(e);
}
