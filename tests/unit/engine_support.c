/* Helpers for the engine tests; see engine_support.h. */
#include "engine_support.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

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

void test_close_engine(struct test_engine *t)
{
  t->engine->destroy(t->instance);
  t->instance = NULL;
  if (dlclose(t->module) != 0)
    fail_msg("dlclose: %s", dlerror());
  t->module = NULL;
}

int test_create_engine(struct test_engine *t, const char *config,
                       struct wfe_error *err)
{
  return t->engine->create(&t->host, config, strlen(config), &t->instance, err);
}

void *test_setup_fixture(void **state, size_t size, const char *path)
{
  assert_true(size >= sizeof(struct test_engine));
  struct test_engine *t = calloc(1, size);
  assert_non_null(t);
  t->initial_state = *state;
  t->engine = test_open_engine(path, &t->module);
  *state = t;
  return t;
}

int test_teardown_fixture(void **state)
{
  struct test_engine *t = *state;
  test_close_engine(t);
  free(t);
  return 0;
}

void test_start_engine(struct test_engine *t, const char *config)
{
  struct wfe_error err = WFE_ERROR_INIT;
  if (test_create_engine(t, config, &err) != WFE_OK)
    fail_msg("create %s: %s", config, wfe_error_message(&err));
}

void test_recreate_engine(struct test_engine *t, const char *config)
{
  t->engine->destroy(t->instance);
  t->instance = NULL;
  test_start_engine(t, config);
}

int test_call_render(struct test_engine *t, const char *text,
                     struct wfe_buf *out, struct wfe_error *err)
{
  return t->engine->render(t->instance, text, strlen(text), out, err);
}

int test_call_interpret(struct test_engine *t, const char *text,
                        struct wfe_buf *out, struct wfe_error *err)
{
  return t->engine->interpret(t->instance, text, strlen(text), out, err);
}

char *test_format(const char *format, ...)
{
  va_list args;
  va_start(args, format);
  int len = vsnprintf(NULL, 0, format, args);
  va_end(args);
  if (len < 0)
    fail_msg("cannot format \"%s\"", format);
  char *text = malloc((size_t)len + 1);
  assert_non_null(text);
  va_start(args, format);
  int written = vsnprintf(text, (size_t)len + 1, format, args);
  va_end(args);
  assert_int_equal(written, len);
  return text;
}

/* An engine's conformance vectors (engines/<name>/conformance/, what
 * wfe-engine-check runs) are its tests' data too: a path starting with
 * "conformance/" is read from there, any other from tests/data/<name>/. */
char *test_read_data(const char *subdir, const char *relative)
{
  static const char vectors[] = "conformance/";
  char *path =
      strncmp(relative, vectors, strlen(vectors)) == 0
          ? test_format("%s/%s/%s", WFE_ENGINES_DIR, subdir, relative)
          : test_format("%s/%s/%s", WFE_TEST_DATA_DIR, subdir, relative);
  char *text = test_read_file(path);
  free(path);
  return text;
}

char *test_read_file(const char *path)
{
  FILE *file = fopen(path, "rb");
  if (!file)
    fail_msg("cannot open %s", path);
  if (fseek(file, 0, SEEK_END) != 0)
    fail_msg("cannot seek in %s", path);
  long size = ftell(file);
  if (size < 0)
    fail_msg("cannot size %s", path);
  if (fseek(file, 0, SEEK_SET) != 0)
    fail_msg("cannot seek in %s", path);
  char *text = malloc((size_t)size + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
  text[size] = '\0';
  if (fclose(file) != 0)
    fail_msg("cannot close %s", path);
  return text;
}

json_object *test_read_json(const char *subdir, const char *relative)
{
  char *text = test_read_data(subdir, relative);
  json_object *doc = json_tokener_parse(text);
  free(text);
  if (!doc)
    fail_msg("%s/%s is not JSON", subdir, relative);
  return doc;
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

void test_set_path(json_object *doc, const char *path, json_object *value)
{
  char *copy = strdup(path);
  assert_non_null(copy);
  char *key = copy, *dot;
  while ((dot = strchr(key, '.'))) {
    *dot = '\0';
    json_object *next = json_object_object_get(doc, key);
    if (!next) {
      next = json_object_new_object();
      assert_non_null(next);
      assert_int_equal(json_object_object_add(doc, key, next), 0);
    }
    doc = next;
    key = dot + 1;
  }
  if (value)
    assert_int_equal(json_object_object_add(doc, key, value), 0);
  else
    json_object_object_del(doc, key);
  free(copy);
}

void test_check_golden(struct test_engine *t, const char *subdir,
                       const char *name)
{
  char *path = test_format("conformance/render/%s/execution.json", name);
  char *execution = test_read_data(subdir, path);
  free(path);
  path = test_format("conformance/render/%s/expected.json", name);
  char *expected = test_read_data(subdir, path);
  free(path);
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = test_call_render(t, execution, &out, &err);
  if (rc != WFE_OK)
    fail_msg("%s: render failed: %s", name, wfe_error_message(&err));
  test_assert_json_equal(wfe_buf_str(&out), expected, name);
  wfe_buf_free(&out);
  free(execution);
  free(expected);
}

void test_check_golden_case(void **state)
{
  struct test_engine *t = *state;
  const struct test_golden *golden = t->initial_state;
  assert_non_null(golden);
  test_check_golden(t, golden->subdir, golden->name);
}

void test_check_describe(struct test_engine *t, const char *name,
                         const char *expected_config)
{
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(t->engine->describe(t->instance, &out, &err), WFE_OK);
  json_object *doc = json_tokener_parse(wfe_buf_str(&out));
  assert_non_null(doc);
  assert_string_equal(
      json_object_get_string(json_object_object_get(doc, "name")), name);
  assert_string_equal(
      json_object_get_string(json_object_object_get(doc, "version")),
      WFE_VERSION);
  assert_non_null(json_object_object_get(doc, "description"));
  test_assert_json_equal(
      json_object_to_json_string(json_object_object_get(doc, "config")),
      expected_config, "config");
  json_object_put(doc);
  wfe_buf_free(&out);
}

json_object *test_render_doc(struct test_engine *t, json_object *execution)
{
  const char *text = json_object_to_json_string(execution);
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  if (test_call_render(t, text, &out, &err) != WFE_OK)
    fail_msg("render: %s", wfe_error_message(&err));
  json_object *run = json_tokener_parse(wfe_buf_str(&out));
  assert_non_null(run);
  wfe_buf_free(&out);
  json_object_put(execution);
  return run;
}

const char *test_run_name(json_object *run)
{
  return json_object_get_string(
      json_object_object_get(json_object_object_get(run, "metadata"), "name"));
}

void test_check_run_identity(struct test_engine *t, const char *subdir,
                             const char *relative, const char *expected_name)
{
  json_object *other = test_read_json(subdir, relative);
  test_set_path(other, "metadata.uid", json_object_new_string("another-uid"));
  json_object *run = test_render_doc(t, test_read_json(subdir, relative));
  json_object *renamed = test_render_doc(t, other);
  assert_string_equal(test_run_name(run), expected_name);
  assert_string_not_equal(test_run_name(renamed), expected_name);
  const char *hash = strrchr(expected_name, '-');
  assert_non_null(hash);
  assert_memory_equal(test_run_name(renamed), expected_name,
                      (size_t)(hash - expected_name) + 1);
  json_object *metadata = json_object_object_get(run, "metadata");
  assert_null(json_object_object_get(metadata, "namespace"));
  assert_null(json_object_object_get(metadata, "labels"));
  assert_null(json_object_object_get(metadata, "ownerReferences"));
  json_object_put(run);
  json_object_put(renamed);
}

void test_check_render_deterministic(struct test_engine *t, const char *subdir,
                                     const char *relative)
{
  char *execution = test_read_data(subdir, relative);
  struct wfe_buf first = WFE_BUF_INIT, second = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(test_call_render(t, execution, &first, &err), WFE_OK);
  assert_int_equal(test_call_render(t, execution, &second, &err), WFE_OK);
  assert_string_equal(wfe_buf_str(&first), wfe_buf_str(&second));
  wfe_buf_free(&first);
  wfe_buf_free(&second);
  free(execution);
}

void test_check_valid(struct test_engine *t, const char *subdir,
                      const char *relative)
{
  char *text = test_read_data(subdir, relative);
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(t->engine->validate(t->instance, text, strlen(text), &err),
                   WFE_OK);
  free(text);
}

char *test_expect_invalid(struct test_engine *t, json_object *doc,
                          const char *reason, const char *field)
{
  const char *text = json_object_to_json_string(doc);
  assert_non_null(text);
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = t->engine->validate(t->instance, text, strlen(text), &err);
  if (rc != WFE_E_INVALID)
    fail_msg("expected %s on %s, got %d", reason, field, rc);
  assert_string_equal(err.reason, reason);
  assert_string_equal(err.field, field);
  assert_false(err.retryable);
  assert_non_null(err.message);
  /* render refuses what validate refuses, with the same error */
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error render_err = WFE_ERROR_INIT;
  assert_int_equal(test_call_render(t, text, &out, &render_err), WFE_E_INVALID);
  assert_string_equal(render_err.field, field);
  assert_int_equal(out.len, 0);
  char *message = strdup(err.message);
  assert_non_null(message);
  wfe_error_clear(&err);
  wfe_error_clear(&render_err);
  json_object_put(doc);
  return message;
}

void test_expect_invalid_edit(struct test_engine *t, json_object *doc,
                              const char *path, const char *value,
                              const char *reason, const char *field)
{
  json_object *parsed = NULL;
  if (value) {
    parsed = json_tokener_parse(value);
    if (!parsed)
      fail_msg("%s: %s is not JSON", path, value);
  }
  test_set_path(doc, path, parsed);
  char *message = test_expect_invalid(t, doc, reason, field);
  if (!strstr(message, field))
    fail_msg("\"%s\" does not name %s", message, field);
  free(message);
}

void test_expect_config_invalid(struct test_engine *t, const char *config,
                                const char *reason, const char *field,
                                const char *words)
{
  struct wfe_error err = WFE_ERROR_INIT;
  void *instance = (void *)1;
  assert_int_equal(
      t->engine->create(&t->host, config, strlen(config), &instance, &err),
      WFE_E_INVALID);
  assert_null(instance);
  assert_string_equal(err.reason, reason);
  if (field)
    assert_string_equal(err.field, field);
  if (words && !strstr(err.message, words))
    fail_msg("%s: \"%s\" does not say \"%s\"", config, err.message, words);
  wfe_error_clear(&err);
}

void test_expect_interpret_invalid(struct test_engine *t, const char *run,
                                   const char *field)
{
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(test_call_interpret(t, run, &out, &err), WFE_E_INVALID);
  if (field)
    assert_string_equal(err.field, field);
  assert_false(err.retryable);
  wfe_error_clear(&err);
  wfe_buf_free(&out);
}

char *test_interpret_data(struct test_engine *t, const char *subdir,
                          const char *fixture, int expected_rc,
                          struct wfe_error *err)
{
  /* A run that is a conformance vector lives with the engine. */
  char *path = test_format("%s/%s/conformance/interpret/%s/run.json",
                           WFE_ENGINES_DIR, subdir, fixture);
  if (access(path, F_OK) != 0) {
    free(path);
    path =
        test_format("%s/%s/status/%s.json", WFE_TEST_DATA_DIR, subdir, fixture);
  }
  char *run = test_read_file(path);
  free(path);
  struct wfe_buf out = WFE_BUF_INIT;
  int rc = test_call_interpret(t, run, &out, err);
  free(run);
  if (rc != expected_rc)
    fail_msg("%s: interpret gave %d: %s", fixture, rc, wfe_error_message(err));
  char *text = strdup(wfe_buf_str(&out));
  assert_non_null(text);
  wfe_buf_free(&out);
  return text;
}

void test_check_interpret(struct test_engine *t, const char *subdir,
                          const char *fixture, const char *expected)
{
  struct wfe_error err = WFE_ERROR_INIT;
  char *text = test_interpret_data(t, subdir, fixture, WFE_OK, &err);
  test_assert_json_equal(text, expected, fixture);
  free(text);
  wfe_error_clear(&err);
}

void test_check_interpret_vector(struct test_engine *t, const char *subdir,
                                 const char *name)
{
  char *path = test_format("conformance/interpret/%s/expected.json", name);
  char *expected = test_read_data(subdir, path);
  test_check_interpret(t, subdir, name, expected);
  free(expected);
  free(path);
}

void test_expect_malformed_status(struct test_engine *t,
                                  const char *succeeded_type, const char *run,
                                  const char *field)
{
  test_expect_interpret_invalid(t, "{\"status\":[]}", "status");
  test_expect_interpret_invalid(t, "{\"status\":{\"conditions\":{}}}",
                                "status.conditions");
  test_expect_interpret_invalid(t, "{\"status\":{\"conditions\":[7]}}",
                                "status.conditions[0]");
  char *untold = test_format(
      "{\"status\":{\"conditions\":[{\"type\":\"%s\"}]}}", succeeded_type);
  test_expect_interpret_invalid(t, untold, "status.conditions[0].status");
  free(untold);
  test_expect_interpret_invalid(t, run, field);
  test_expect_interpret_invalid(t, "{\"status\":{\"startTime\":1}}",
                                "status.startTime");
  test_expect_interpret_invalid(t, "not json", NULL);
}

void test_check_request(const char *api_version, const char *resource,
                        const char *namespace_name,
                        const char *want_api_version, const char *want_resource)
{
  assert_string_equal(api_version, want_api_version);
  assert_string_equal(resource, want_resource);
  assert_string_equal(namespace_name, "payments");
}

void test_check_cancel(struct test_engine *t, const char *run,
                       const char *expected, const char *label)
{
  struct wfe_buf out = WFE_BUF_INIT;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(t->engine->cancel(t->instance, run, strlen(run), &out, &err),
                   WFE_OK);
  test_assert_json_equal(wfe_buf_str(&out), expected, label);
  wfe_buf_free(&out);
}

void test_check_run_type(const wfe_engine *engine, const char *name,
                         const char *api_version, const char *kind,
                         const char *resource, bool has_status_subresource)
{
  assert_string_equal(engine->name, name);
  assert_string_equal(engine->run_type->api_version, api_version);
  assert_string_equal(engine->run_type->kind, kind);
  assert_string_equal(engine->run_type->resource, resource);
  if (has_status_subresource)
    assert_true(engine->run_type->has_status_subresource);
  else
    assert_false(engine->run_type->has_status_subresource);
}
