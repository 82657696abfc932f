/*
 * What the engine tests share: loading a built engine module the way the
 * loader does (dlopen, the entry symbol, one engine), reading test data,
 * comparing JSON documents with both printed on a mismatch, and the checks
 * every engine's tests make through the ABI (golden renders, refused
 * executions and configurations, malformed runs, cancel patches, the run
 * type). For cmocka tests; every helper fails the running test on error.
 */
#ifndef WFE_TEST_ENGINE_SUPPORT_H
#define WFE_TEST_ENGINE_SUPPORT_H

#include <stdbool.h>

#include <json-c/json.h>
#include <wfe/engine.h>

#include "buf.h"
#include "error.h"
#include "host.h"

/* One loaded engine with its host and instance, as a test fixture holds it.
 * The test fills in `services` and `host`; `host` is what the engine is
 * created with. */
struct test_engine {
  void *module;
  const wfe_engine *engine;
  struct wfe_host_services services;
  wfe_host host;
  void *instance;
  void *initial_state; /* cmocka's, before setup: a GOLDEN test's case */
};

/* For a cmocka setup: a zeroed fixture of `size` bytes whose first member is
 * a struct test_engine, with the module at `path` open and the initial state
 * kept; *state becomes the fixture. */
void *test_setup_fixture(void **state, size_t size, const char *path);

/* For a cmocka teardown: closes and frees a test_setup_fixture fixture. */
int test_teardown_fixture(void **state);

/* Creates t's instance from `config`, which must be accepted. */
void test_start_engine(struct test_engine *t, const char *config);

/* Opens the module at `path` and returns its only engine; *out_module is
 * the handle to dlclose. */
const wfe_engine *test_open_engine(const char *path, void **out_module);

/* Destroys t's instance and closes its module. */
void test_close_engine(struct test_engine *t);

/* Creates t's instance from `config` with t->host. */
int test_create_engine(struct test_engine *t, const char *config,
                       struct wfe_error *err);

/* Destroys t's instance and creates it again from `config`, which must be
 * accepted. */
void test_recreate_engine(struct test_engine *t, const char *config);

/* Renders or interprets the NUL-terminated document `text` with t. */
int test_call_render(struct test_engine *t, const char *text,
                     struct wfe_buf *out, struct wfe_error *err);
int test_call_interpret(struct test_engine *t, const char *text,
                        struct wfe_buf *out, struct wfe_error *err);

/* printf into a new string; free it. */
char *test_format(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/* The whole file at `path`, NUL-terminated; free it. */
char *test_read_file(const char *path);

/* The file WFE_TEST_DATA_DIR/<subdir>/<relative>, as test_read_file. */
char *test_read_data(const char *subdir, const char *relative);

/* That file parsed as JSON; free it with json_object_put. */
json_object *test_read_json(const char *subdir, const char *relative);

/* Fails, printing both documents, when they differ as JSON. `label` names
 * the case. */
void test_assert_json_equal(const char *actual, const char *expected,
                            const char *label);

/* Sets (or with a NULL value, removes) the member of `doc` at a dotted
 * path, making the objects on the way; `value` is consumed. */
void test_set_path(json_object *doc, const char *path, json_object *value);

/* Renders the engine's conformance vector render/<name>/execution.json and
 * compares the result with render/<name>/expected.json, as wfe-engine-check
 * does (engines/<subdir>/conformance/). */
void test_check_golden(struct test_engine *t, const char *subdir,
                       const char *name);

/* A golden render: the case of a TEST_GOLDEN_CASE test. */
struct test_golden {
  const char *subdir;
  const char *name;
};

/* The test function of a TEST_GOLDEN_CASE: test_check_golden with the
 * test_golden that is the fixture's initial state. */
void test_check_golden_case(void **state);

/* A cmocka test of `test` on a test_setup_fixture fixture made by `setup`. */
#define TEST_ENGINE_CASE(test, setup)                                          \
  cmocka_unit_test_setup_teardown(test, setup, test_teardown_fixture)

/* A cmocka test named `test` that checks the golden render `case_name` of
 * `data` (test_check_golden(t, data, case_name)) on a fixture made by
 * `setup`. */
#define TEST_GOLDEN_CASE(test, setup, data, case_name)                         \
  {                                                                            \
    .name = #test, .test_func = test_check_golden_case, .setup_func = setup,   \
    .teardown_func = test_teardown_fixture,                                    \
    .initial_state = &(struct test_golden)                                     \
    {                                                                          \
      .subdir = data, .name = case_name                                        \
    }                                                                          \
  }

/* The engine's describe: its name, the build's version, a description, and
 * the configuration `expected_config` (JSON). */
void test_check_describe(struct test_engine *t, const char *name,
                         const char *expected_config);

/* The parsed run rendered for `execution` (a document, consumed), which
 * must render. */
json_object *test_render_doc(struct test_engine *t, json_object *execution);

/* The metadata.name of a rendered run, or NULL. */
const char *test_run_name(json_object *run);

/* Renders the execution <subdir>/<relative>: the run is named
 * `expected_name` and leaves metadata.namespace, labels and ownerReferences
 * to the host; the same execution with another uid gets another name with
 * the same prefix (the name up to its hash). */
void test_check_run_identity(struct test_engine *t, const char *subdir,
                             const char *relative, const char *expected_name);

/* Renders the execution <subdir>/<relative> twice: the same text. */
void test_check_render_deterministic(struct test_engine *t, const char *subdir,
                                     const char *relative);

/* Validates the execution <subdir>/<relative>: accepted. */
void test_check_valid(struct test_engine *t, const char *subdir,
                      const char *relative);

/* Validates `doc` (consumed) and expects WFE_E_INVALID with `reason` and
 * `field`, not retryable; render refuses it alike. Returns the message
 * (caller frees). */
char *test_expect_invalid(struct test_engine *t, json_object *doc,
                          const char *reason, const char *field);

/* Sets the member of `doc` (consumed) at the dotted `path` to the JSON text
 * `value` (NULL: removes it), then test_expect_invalid with `reason` and
 * `field`, and the message must name `field`. */
void test_expect_invalid_edit(struct test_engine *t, json_object *doc,
                              const char *path, const char *value,
                              const char *reason, const char *field);

/* Creating an instance from `config` fails with WFE_E_INVALID and `reason`,
 * leaving no instance; `field` (unless NULL) is the error's field and
 * `words` (unless NULL) stand in its message. */
void test_expect_config_invalid(struct test_engine *t, const char *config,
                                const char *reason, const char *field,
                                const char *words);

/* Interpreting `run` fails with WFE_E_INVALID, not retryable, naming
 * `field` (unless NULL). */
void test_expect_interpret_invalid(struct test_engine *t, const char *run,
                                   const char *field);

/* Interprets <subdir>/status/<fixture>.json, expecting `expected_rc`, and
 * returns the document written (caller frees); *err is the error. */
char *test_interpret_data(struct test_engine *t, const char *subdir,
                          const char *fixture, int expected_rc,
                          struct wfe_error *err);

/* Interprets <subdir>/status/<fixture>.json: the document `expected`. */
void test_check_interpret(struct test_engine *t, const char *subdir,
                          const char *fixture, const char *expected);

/* test_check_interpret of the engine's conformance vector
 * interpret/<name>/ (run.json) against its expected.json. */
void test_check_interpret_vector(struct test_engine *t, const char *subdir,
                                 const char *name);

/* The start and completion times of the runs in tests/data, as the
 * interpret document states them. */
#define TEST_STARTED "\"startTime\":\"2025-11-20T09:14:04Z\""
#define TEST_FINISHED "\"completionTime\":\"2025-11-20T09:16:41Z\""

/* The malformed runs every engine names (test_expect_interpret_invalid
 * each): status not an object, conditions not an array, a condition not an
 * object, a `succeeded_type` condition without a status, then `run` naming
 * `field` (what is malformed for this engine only), a startTime that is not
 * a string, and text that is not JSON. */
void test_expect_malformed_status(struct test_engine *t,
                                  const char *succeeded_type, const char *run,
                                  const char *field);

/* For a test lister or getter: fails unless the host was asked for
 * `want_resource` of `want_api_version` in the namespace "payments", where
 * the fixtures' runs are. */
void test_check_request(const char *api_version, const char *resource,
                        const char *namespace_name,
                        const char *want_api_version,
                        const char *want_resource);

/* Cancelling `run` gives the patch `expected`; `label` names the case. */
void test_check_cancel(struct test_engine *t, const char *run,
                       const char *expected, const char *label);

/* The engine's name and run type are these. */
void test_check_run_type(const wfe_engine *engine, const char *name,
                         const char *api_version, const char *kind,
                         const char *resource, bool has_status_subresource);

#endif
