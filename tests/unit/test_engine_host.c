/*
 * Specification of engine isolation: the loader with every plugin in an
 * engine host process (core/engine/engine_host.c, host_main.c, sandbox.c),
 * against the fixture plugins, among them `misbehave`, an engine that
 * crashes, hangs, escapes or answers garbage on request. Each test builds a
 * plugin directory in a fresh temporary directory, loads it, and calls the
 * engines through dispatch as the controller does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backoff.h"
#include "dispatch.h"
#include "engine_set.h"
#include "host.h"
#include "json_util.h"
#include "log.h"
#include "plugin_dir.h"
#include "plugin_loader.h"

struct env {
  char root[PATH_MAX / 2];
  char dir[PATH_MAX];
  FILE *log;
  struct wfe_host_services host;
  struct wfe_loader_options opts;
  struct wfe_registry *reg;
  long call_timeout_ms;
  /* What the fake cluster answers to get_object. */
  const char *object;
  /* What it answers to list_objects, and the selectors it was given. */
  const char *list;
  char labels[256], fields[256];
};

/* ---------------------------------------------------------------------------
 * Helpers
 */

/* DIR/name; the result lives until the fourth next call. */
static const char *path_in(const struct env *e, const char *name)
{
  return plugin_dir_path(e->dir, name);
}

/* Copies a fixture into the plugin directory as `name`, mode 0644. */
static void add_plugin(const struct env *e, const char *fixture,
                       const char *name)
{
  plugin_dir_copy(fixture, path_in(e, name), 0644);
}

static void engine_limits(void *ctx, const char *name,
                          struct wfe_engine_host_limits *out)
{
  const struct env *e = ctx;
  out->call_timeout_ms = e->call_timeout_ms;
}

static int fake_get(void *ctx, const char *api_version, const char *resource,
                    const char *namespace_name, const char *name,
                    struct wfe_buf *out, struct wfe_error *err)
{
  const struct env *e = ctx;
  if (!e->object)
    return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NotFound", NULL,
                         "%s %s not found", resource, name);
  return wfe_buf_puts(out, e->object);
}

static int fake_list(void *ctx, const char *api_version, const char *resource,
                     const char *namespace_name, const char *label_selector,
                     const char *field_selector, struct wfe_buf *out,
                     struct wfe_error *err)
{
  struct env *e = ctx;
  snprintf(e->labels, sizeof(e->labels), "%s", label_selector);
  snprintf(e->fields, sizeof(e->fields), "%s", field_selector);
  if (!e->list)
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "Unavailable", NULL,
                         "the API server did not answer");
  return wfe_buf_puts(out, e->list);
}

static struct wfe_registry *load(struct env *e)
{
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_registry_load(&e->opts, &e->reg, &err))
    fail_msg("wfe_registry_load failed: %s", wfe_error_message(&err));
  wfe_error_clear(&err);
  return e->reg;
}

static const struct wfe_rejection *rejection_of(const struct env *e,
                                                const char *name)
{
  return plugin_dir_rejection(e->reg, path_in(e, name));
}

/* A WorkflowExecution whose MODE parameter asks the misbehave engine for
 * `mode` (NULL: none). */
static json_object *execution(const char *name, const char *mode)
{
  char text[1024];
  snprintf(
      text, sizeof(text),
      "{\"apiVersion\":\"kubernaut.ai/v1alpha1\","
      "\"kind\":\"WorkflowExecution\",\"metadata\":{\"name\":\"%s\","
      "\"namespace\":\"demo\",\"uid\":\"u-%s\"},\"spec\":{"
      "\"remediationRequestRef\":{\"name\":\"rr\"},\"workflowRef\":{"
      "\"workflowId\":\"w\",\"version\":\"1\",\"containerImage\":"
      "\"r.example/w:1\",\"engine\":\"misbehave\"},\"parameters\":{%s%s%s}}}",
      name, name, mode ? "\"MODE\":\"" : "", mode ? mode : "",
      mode ? "\"" : "");
  json_object *obj = wfe_json_parse(text, strlen(text));
  assert_non_null(obj);
  return obj;
}

/* Renders through dispatch; returns the status, the error in `err`. */
static int render(const struct wfe_engine_slot *slot, const char *mode,
                  struct wfe_error *err)
{
  json_object *exec = execution(mode ? mode : "plain", mode);
  json_object *run = NULL;
  int rc = wfe_dispatch_render(slot, exec, &run, err);
  json_object_put(run);
  json_object_put(exec);
  return rc;
}

/* A ConfigMap run of the misbehave engine, for interpret. */
static int interpret(const struct wfe_engine_slot *slot, const char *mode,
                     const char *state, json_object **reading,
                     struct wfe_error *err)
{
  char text[512];
  snprintf(text, sizeof(text),
           "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
           "\"name\":\"mb-1\",\"namespace\":\"demo\"},\"data\":{\"mode\":"
           "\"%s\",\"state\":\"%s\"}}",
           mode, state);
  json_object *run = wfe_json_parse(text, strlen(text));
  int rc = wfe_dispatch_interpret(slot, run, reading, err);
  json_object_put(run);
  return rc;
}

static const struct wfe_engine_slot *misbehave(struct env *e)
{
  add_plugin(e, WFE_FIXTURE_MISBEHAVE, "misbehave.so");
  load(e);
  const struct wfe_engine_slot *slot = wfe_registry_find(e->reg, "misbehave");
  assert_non_null(slot);
  return slot;
}

static char *read_proc(int pid, const char *what)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
  FILE *f = fopen(path, "r");
  if (!f)
    return strdup("");
  static char text[65536];
  size_t n = fread(text, 1, sizeof(text) - 1, f);
  text[n] = '\0';
  fclose(f);
  return strdup(text);
}

static char *logged(const struct env *e)
{
  fflush(e->log);
  rewind(e->log);
  static char text[1 << 16];
  size_t n = fread(text, 1, sizeof(text) - 1, e->log);
  text[n] = '\0';
  return text;
}

/* ---------------------------------------------------------------------------
 * Set-up and tear-down
 */

static int setup(void **state)
{
  struct env *e = calloc(1, sizeof(*e));
  if (plugin_dir_make(e->root, sizeof(e->root), e->dir, sizeof(e->dir),
                      "wfe-host"))
    return -1;
  e->log = tmpfile();
  wfe_log_setup(WFE_LOG_FORMAT_TEXT, WFE_LOG_DEBUG, e->log);
  wfe_host_services_init(&e->host, fake_get, e);
  wfe_host_services_set_lister(&e->host, fake_list, e);
  e->call_timeout_ms = 2000;
  e->opts.plugins_dir = e->dir;
  e->opts.host = &e->host.table;
  e->opts.isolation = WFE_ISOLATION_PROCESS;
  e->opts.host_executable = WFE_ENGINE_HOST_PROGRAM;
  e->opts.host_threads = 4;
  e->opts.host_load_timeout_ms = 5000;
  e->opts.engine_limits = engine_limits;
  e->opts.engine_limits_ctx = e;
  *state = e;
  return 0;
}

static int teardown(void **state)
{
  struct env *e = *state;
  wfe_registry_free(e->reg);
  plugin_dir_remove(e->root);
  wfe_log_setup(WFE_LOG_FORMAT_TEXT, WFE_LOG_INFO, NULL);
  if (e->log)
    fclose(e->log);
  free(e);
  return 0;
}

/* ---------------------------------------------------------------------------
 * Loading in a host
 */

static void test_host_loads_plugin_in_a_process_of_its_own(void **state)
{
  struct env *e = *state;
  const struct wfe_engine_slot *slot = misbehave(e);
  struct wfe_engine_host *host = slot->plugin->host;
  assert_non_null(host);
  int pid = wfe_engine_host_pid(host);
  assert_true(pid > 0 && pid != getpid());
  /* The plugin is not in this process. */
  char *maps = read_proc(getpid(), "maps");
  assert_null(strstr(maps, "misbehave.so"));
  free(maps);
  maps = read_proc(pid, "maps");
  assert_contains(maps, "misbehave.so");
  free(maps);
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(render(slot, NULL, &err), 0);
  wfe_error_clear(&err);
}

/* No token, no API connection, no capability, no way back to privileges:
 * the host holds only its socket and stderr, an empty environment, and is
 * sealed with seccomp. */
static void test_host_runs_sandboxed_with_nothing_inherited(void **state)
{
  struct env *e = *state;
  const struct wfe_engine_slot *slot = misbehave(e);
  int pid = wfe_engine_host_pid(slot->plugin->host);
  char *status = read_proc(pid, "status");
  assert_contains(status, "NoNewPrivs:\t1");
  assert_contains(status, "Seccomp:\t2");
  assert_contains(status, "CapEff:\t0000000000000000");
  assert_contains(status, "CapPrm:\t0000000000000000");
  assert_contains(status, "CapBnd:\t0000000000000000");
  free(status);
  char *environ = read_proc(pid, "environ");
  assert_string_equal(environ, "");
  free(environ);
  char fds[64];
  snprintf(fds, sizeof(fds), "/proc/%d/fd", pid);
  DIR *dir = opendir(fds);
  assert_non_null(dir);
  int count = 0, max_fd = -1;
  for (struct dirent *d; (d = readdir(dir));) {
    if (d->d_name[0] == '.')
      continue;
    count++;
    if (atoi(d->d_name) > max_fd)
      max_fd = atoi(d->d_name);
  }
  closedir(dir);
  assert_int_equal(count, 4); /* /dev/null, stderr pipe twice, the socket */
  assert_int_equal(max_fd, 3);
}

static void test_host_reports_descriptor_refusals(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_BAD_NAME, "bad-name.so");
  add_plugin(e, WFE_FIXTURE_ABI_MAJOR, "abi-major.so");
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  load(e);
  const struct wfe_rejection *r = rejection_of(e, "bad-name.so");
  assert_non_null(r);
  assert_string_equal(r->engine, "Bad_Name");
  assert_contains(r->reason, "engine name \"Bad_Name\" is not a DNS label");
  r = rejection_of(e, "abi-major.so");
  assert_non_null(r);
  assert_null(r->engine);
  assert_contains(r->reason, "plugin ABI 2.0 has a different major version");
  assert_non_null(wfe_registry_find(e->reg, "fixture-good"));
}

static void test_host_refuses_plugin_that_exits_while_loading(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_EXIT_ON_LOAD, "exits.so");
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  load(e);
  const struct wfe_rejection *r = rejection_of(e, "exits.so");
  assert_non_null(r);
  assert_contains(r->reason, "exited with status 3 while loading");
  assert_non_null(wfe_registry_find(e->reg, "fixture-good"));
}

static void test_host_refuses_plugin_that_crashes_while_loading(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_CRASH_ON_LOAD, "crashes.so");
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  load(e);
  const struct wfe_rejection *r = rejection_of(e, "crashes.so");
  assert_non_null(r);
  assert_contains(r->reason, "signal 11 (SIGSEGV)");
  assert_contains(r->reason, "while loading");
  assert_non_null(wfe_registry_find(e->reg, "fixture-good"));
}

static void test_host_gives_up_on_plugin_that_never_loads(void **state)
{
  struct env *e = *state;
  e->opts.host_load_timeout_ms = 500;
  add_plugin(e, WFE_FIXTURE_HANG_ON_LOAD, "hangs.so");
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  int64_t start = wfe_monotonic_ns();
  load(e);
  double seconds = (double)(wfe_monotonic_ns() - start) / 1e9;
  const struct wfe_rejection *r = rejection_of(e, "hangs.so");
  assert_non_null(r);
  assert_contains(r->reason, "did not finish loading within 500 ms");
  assert_true(seconds < 3);
  assert_non_null(wfe_registry_find(e->reg, "fixture-good"));
}

/* A file sorting first cannot take over another's engine name: both are
 * refused, naming each other. */
static void test_host_refuses_both_files_claiming_one_name(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_NAMED, "tekton.so");
  add_plugin(e, WFE_FIXTURE_NAMED, "tekton.impostor.so");
  load(e);
  assert_null(wfe_registry_find(e->reg, "tekton"));
  const struct wfe_rejection *a = rejection_of(e, "tekton.so");
  const struct wfe_rejection *b = rejection_of(e, "tekton.impostor.so");
  assert_non_null(a);
  assert_non_null(b);
  assert_contains(a->reason, path_in(e, "tekton.impostor.so"));
  assert_contains(b->reason, path_in(e, "tekton.so"));
  const char *required[] = {"tekton"};
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_registry_require(e->reg, required, 1, &err),
                   WFE_E_NOT_FOUND);
  assert_contains(err.message, "also offered by");
  wfe_error_clear(&err);
}

/* ---------------------------------------------------------------------------
 * Faults during calls
 */

static void expect_fault(struct env *e, const char *mode, const char *reason,
                         const char *fragment)
{
  const struct wfe_engine_slot *slot = misbehave(e);
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = render(slot, mode, &err);
  assert_int_not_equal(rc, 0);
  assert_string_equal(err.reason, reason);
  assert_contains(err.message, "engine misbehave");
  assert_contains(err.message, path_in(e, "misbehave.so"));
  assert_contains(err.message, fragment);
  /* Restarted, and serving again. */
  wfe_error_clear(&err);
  int64_t deadline = wfe_monotonic_ns() + 3000000000LL;
  while ((rc = render(slot, NULL, &err)) != 0 &&
         wfe_monotonic_ns() < deadline) {
    wfe_error_clear(&err);
    usleep(20000);
  }
  assert_int_equal(rc, 0);
  assert_true(wfe_engine_host_restarts(slot->plugin->host) >= 1);
  wfe_error_clear(&err);
}

static void test_host_crash_fails_the_call_and_restarts(void **state)
{
  expect_fault(*state, "crash", "EngineCrashed", "signal 11 (SIGSEGV)");
}

static void test_host_abort_fails_the_call_and_restarts(void **state)
{
  expect_fault(*state, "abort", "EngineCrashed", "signal 6 (SIGABRT)");
}

static void test_host_exit_fails_the_call_and_restarts(void **state)
{
  expect_fault(*state, "exit", "EngineCrashed", "exited with status 7");
}

static void test_host_deadline_kills_a_hanging_call(void **state)
{
  struct env *e = *state;
  e->call_timeout_ms = 300;
  int64_t start = wfe_monotonic_ns();
  expect_fault(e, "hang", "EngineTimeout", "did not answer render within 300");
  assert_true((double)(wfe_monotonic_ns() - start) / 1e9 < 3);
}

static void test_sandbox_stops_reading_the_token_file(void **state)
{
  expect_fault(*state, "open", "EngineCrashed", "forbidden system call openat");
}

static void test_sandbox_stops_connecting_to_the_api_server(void **state)
{
  expect_fault(*state, "connect", "EngineCrashed",
               "forbidden system call socket");
}

static void test_sandbox_stops_running_a_shell(void **state)
{
  expect_fault(*state, "exec", "EngineCrashed", "forbidden system call execve");
}

static void test_sandbox_stops_forking(void **state)
{
  expect_fault(*state, "fork", "EngineCrashed", "forbidden system call clone");
}

/* What a language runtime needs (Go's): threads, and an eventfd woken
 * through epoll; the host keeps serving without a restart. */
static void test_sandbox_lets_a_runtime_start_threads_and_wait(void **state)
{
  struct env *e = *state;
  const struct wfe_engine_slot *slot = misbehave(e);
  struct wfe_error err = WFE_ERROR_INIT;
  for (int i = 0; i < 3; i++) {
    int rc = render(slot, "thread", &err);
    if (rc)
      fail_msg("render with a thread: %s: %s", err.reason ? err.reason : "-",
               wfe_error_message(&err));
  }
  assert_int_equal(wfe_engine_host_restarts(slot->plugin->host), 0);
  wfe_error_clear(&err);
}

/* Only the culprit is blamed: calls in flight on the same host when another
 * call crashed it fail as EngineRestarted (or succeed), never EngineCrashed. */
struct bystander {
  const struct wfe_engine_slot *slot;
  int crashed;
  int done;
};

static void *render_plain_repeatedly(void *arg)
{
  struct bystander *b = arg;
  for (int i = 0; i < 40; i++) {
    struct wfe_error err = WFE_ERROR_INIT;
    if (render(b->slot, NULL, &err) && err.reason &&
        !strcmp(err.reason, "EngineCrashed"))
      b->crashed++;
    wfe_error_clear(&err);
  }
  b->done = 1;
  return NULL;
}

static void test_host_blames_only_the_crashing_call(void **state)
{
  struct env *e = *state;
  const struct wfe_engine_slot *slot = misbehave(e);
  struct bystander b[3] = {{slot, 0, 0}, {slot, 0, 0}, {slot, 0, 0}};
  pthread_t threads[3];
  for (int i = 0; i < 3; i++)
    pthread_create(&threads[i], NULL, render_plain_repeatedly, &b[i]);
  for (int i = 0; i < 3; i++) {
    struct wfe_error err = WFE_ERROR_INIT;
    assert_int_not_equal(render(slot, "crash", &err), 0);
    assert_string_equal(err.reason, "EngineCrashed");
    wfe_error_clear(&err);
  }
  for (int i = 0; i < 3; i++)
    pthread_join(threads[i], NULL);
  for (int i = 0; i < 3; i++)
    assert_int_equal(b[i].crashed, 0);
}

/* Large inputs parsed and freed by the host's serving threads make glibc
 * give memory back to the system; the sealed host must survive that (a
 * second malloc arena would read /proc to decide how, which the seal
 * refuses). */
static void test_host_survives_freeing_large_inputs(void **state)
{
  struct env *e = *state;
  const struct wfe_engine_slot *slot = misbehave(e);
  json_object *exec = execution("large", NULL);
  json_object *params = wfe_json_get(exec, "spec.parameters");
  assert_non_null(params);
  static char big[32769];
  memset(big, 'x', sizeof(big) - 1);
  json_object_object_add(params, "BIG", json_object_new_string(big));
  for (int i = 0; i < 30; i++) {
    struct wfe_error err = WFE_ERROR_INIT;
    json_object *run = NULL;
    int rc = wfe_dispatch_render(slot, exec, &run, &err);
    if (rc)
      fail_msg("render %d: %s (%s)", i, err.reason ? err.reason : "?",
               wfe_error_message(&err));
    json_object_put(run);
    wfe_error_clear(&err);
  }
  json_object_put(exec);
}

/* One engine's fault never touches another plugin's host. */
static void test_host_crash_leaves_other_hosts_alone(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  const struct wfe_engine_slot *slot = misbehave(e);
  const struct wfe_engine_slot *good =
      wfe_registry_find(e->reg, "fixture-good");
  int good_pid = wfe_engine_host_pid(good->plugin->host);
  struct wfe_error err = WFE_ERROR_INIT;
  render(slot, "crash", &err);
  wfe_error_clear(&err);
  assert_int_equal(wfe_engine_host_pid(good->plugin->host), good_pid);
  assert_int_equal(wfe_engine_host_restarts(good->plugin->host), 0);
}

/* ---------------------------------------------------------------------------
 * Answers the core cannot use
 */

static void expect_bad_answer(struct env *e, const char *mode,
                              const char *reason, const char *fragment)
{
  const struct wfe_engine_slot *slot = misbehave(e);
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = render(slot, mode, &err);
  assert_int_equal(rc, WFE_E_INTERNAL);
  assert_string_equal(err.reason, reason);
  assert_false(err.retryable);
  assert_contains(err.message, "engine misbehave");
  assert_contains(err.message, fragment);
  wfe_error_clear(&err);
  assert_int_equal(wfe_engine_host_restarts(slot->plugin->host), 0);
}

static void test_output_over_the_cap_is_refused(void **state)
{
  expect_bad_answer(*state, "huge", "EngineOutputTooLarge",
                    "more than 1048576 bytes");
}

static void test_output_that_is_not_json_is_refused(void **state)
{
  expect_bad_answer(*state, "garbage", "EngineMalformedOutput", "not JSON");
}

static void test_run_name_that_is_not_a_label_is_refused(void **state)
{
  expect_bad_answer(*state, "badname", "EngineInvalidRunName", "Bad_Name");
}

static void test_run_of_another_kind_is_refused(void **state)
{
  expect_bad_answer(*state, "wrongkind", "EngineWrongRunType", "Secret");
}

static void test_unknown_phase_is_refused(void **state)
{
  struct env *e = *state;
  const struct wfe_engine_slot *slot = misbehave(e);
  json_object *reading = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(interpret(slot, "badphase", "running", &reading, &err),
                   WFE_E_INTERNAL);
  assert_string_equal(err.reason, "EngineInvalidPhase");
  assert_contains(err.message, "\"Exploded\"");
  assert_null(reading);
  wfe_error_clear(&err);
}

static void test_engine_errors_keep_their_reason_and_field(void **state)
{
  struct env *e = *state;
  const struct wfe_engine_slot *slot = misbehave(e);
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(render(slot, "unavailable", &err), WFE_E_UNAVAILABLE);
  assert_string_equal(err.reason, "BackendDown");
  assert_true(err.retryable);
  wfe_error_clear(&err);
  assert_int_equal(render(slot, "invalid", &err), WFE_E_INVALID);
  assert_string_equal(err.reason, "InvalidMode");
  assert_string_equal(err.field, "spec.parameters.MODE");
  wfe_error_clear(&err);
}

/* ---------------------------------------------------------------------------
 * Host services across the socket
 */

static void test_get_object_travels_to_the_controller(void **state)
{
  struct env *e = *state;
  e->object = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
              "\"name\":\"mb-1\"},\"data\":{\"state\":\"succeeded\"}}";
  const struct wfe_engine_slot *slot = misbehave(e);
  json_object *reading = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(interpret(slot, "getobject", "running", &reading, &err), 0);
  assert_string_equal(wfe_json_get_string(reading, "phase"), "Completed");
  json_object_put(reading);
  e->object = NULL; /* now NotFound reaches the engine as it is */
  assert_int_equal(interpret(slot, "getobject", "running", &reading, &err),
                   WFE_E_NOT_FOUND);
  assert_string_equal(err.reason, "NotFound");
  wfe_error_clear(&err);
}

/* ABI 1.1: list_objects crosses the socket with its selectors, and its
 * answers (items, an unavailable API) reach the engine as they are. */
static void test_list_objects_travels_to_the_controller(void **state)
{
  struct env *e = *state;
  const struct wfe_engine_slot *slot = misbehave(e);
  json_object *reading = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  e->list = "{\"kind\":\"List\",\"items\":[{\"metadata\":{\"name\":"
            "\"mb-1\"}}]}";
  assert_int_equal(interpret(slot, "listobjects", "running", &reading, &err),
                   0);
  assert_string_equal(wfe_json_get_string(reading, "phase"), "Completed");
  assert_string_equal(e->labels, "wfe.test/state=succeeded");
  assert_string_equal(e->fields, "metadata.name=mb-1");
  json_object_put(reading);
  e->list = "{\"kind\":\"List\",\"items\":[]}";
  assert_int_equal(interpret(slot, "listobjects", "running", &reading, &err),
                   0);
  assert_string_equal(wfe_json_get_string(reading, "phase"), "Running");
  json_object_put(reading);
  e->list = NULL;
  assert_int_equal(interpret(slot, "listobjects", "running", &reading, &err),
                   WFE_E_UNAVAILABLE);
  assert_true(err.retryable);
  wfe_error_clear(&err);
}

/* A plugin built against the frozen ABI 1.0 header loads under the 1.1
 * host, in a host process and in this one, and its get_object works. */
static void test_a_plugin_built_for_abi_1_0_works_unchanged(void **state)
{
  struct env *e = *state;
  static const enum wfe_isolation modes[] = {WFE_ISOLATION_PROCESS,
                                             WFE_ISOLATION_NONE};
  for (size_t i = 0; i < 2; i++) {
    e->opts.isolation = modes[i];
    wfe_registry_free(e->reg);
    e->reg = NULL;
    unlink(path_in(e, "misbehave.so"));
    add_plugin(e, WFE_FIXTURE_MISBEHAVE_ABI_1_0, "misbehave.so");
    load(e);
    const struct wfe_engine_slot *slot = wfe_registry_find(e->reg, "misbehave");
    assert_non_null(slot);
    e->object = "{\"metadata\":{\"name\":\"mb-1\"},\"data\":{\"state\":"
                "\"succeeded\"}}";
    json_object *reading = NULL;
    struct wfe_error err = WFE_ERROR_INIT;
    assert_int_equal(interpret(slot, "getobject", "running", &reading, &err),
                     0);
    assert_string_equal(wfe_json_get_string(reading, "phase"), "Completed");
    json_object_put(reading);
    assert_int_equal(render(slot, NULL, &err), 0);
    /* What 1.1 added is not there for it. */
    assert_int_equal(interpret(slot, "listobjects", "running", &reading, &err),
                     WFE_E_UNSUPPORTED);
    wfe_error_clear(&err);
  }
}

static void test_engine_log_lines_reach_the_controller_log(void **state)
{
  struct env *e = *state;
  const struct wfe_engine_slot *slot = misbehave(e);
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(render(slot, "log", &err), 0);
  wfe_error_clear(&err);
  assert_contains(logged(e), "rendering as asked");
}

/* ---------------------------------------------------------------------------
 * Reload
 */

static void test_reload_keeps_the_host_of_an_unchanged_file(void **state)
{
  struct env *e = *state;
  const struct wfe_engine_slot *slot = misbehave(e);
  int pid = wfe_engine_host_pid(slot->plugin->host);
  struct wfe_registry *first = e->reg;
  e->opts.previous = first;
  e->reg = NULL;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  load(e);
  const struct wfe_engine_slot *again = wfe_registry_find(e->reg, "misbehave");
  assert_non_null(again);
  assert_ptr_equal(again->plugin->host, slot->plugin->host);
  wfe_registry_free(first); /* the host stays: the new registry holds it */
  assert_int_equal(wfe_engine_host_pid(again->plugin->host), pid);
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(render(again, NULL, &err), 0);
  wfe_error_clear(&err);
  assert_non_null(wfe_registry_find(e->reg, "fixture-good"));
}

static void test_reload_replaces_the_host_of_a_changed_file(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "x.so");
  load(e);
  struct wfe_registry *first = e->reg;
  e->opts.previous = first;
  e->reg = NULL;
  unlink(path_in(e, "x.so"));
  add_plugin(e, WFE_FIXTURE_MISBEHAVE, "x.so");
  load(e);
  assert_null(wfe_registry_find(e->reg, "fixture-good"));
  assert_non_null(wfe_registry_find(e->reg, "misbehave"));
  wfe_registry_free(first);
}

static int load_into(void *ctx, const struct wfe_registry *previous,
                     struct wfe_registry **out, struct wfe_error *err)
{
  struct env *e = ctx;
  struct wfe_loader_options opts = e->opts;
  opts.previous = previous;
  return wfe_registry_load(&opts, out, err);
}

static int wait_generation(struct wfe_engine_set *set, unsigned long want)
{
  int64_t deadline = wfe_monotonic_ns() + 5000000000LL;
  while (wfe_engine_set_generation(set) < want && wfe_monotonic_ns() < deadline)
    usleep(20000);
  return wfe_engine_set_generation(set) >= want;
}

/* A ConfigMap volume: files behind ..data, swapped by one rename. */
static void test_engine_set_reloads_on_a_configmap_swap(void **state)
{
  struct env *e = *state;
  assert_int_equal(mkdir(path_in(e, "..2026_01"), 0755), 0);
  add_plugin(e, WFE_FIXTURE_GOOD, "..2026_01/engine.so");
  assert_int_equal(symlink("..2026_01", path_in(e, "..data")), 0);
  assert_int_equal(symlink("..data/engine.so", path_in(e, "engine.so")), 0);
  struct wfe_engine_set_options options = {
      .load = load_into, .load_ctx = e, .watch_dir = e->dir, .settle_ms = 100};
  struct wfe_engine_set *set = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_engine_set_start(&options, &set, &err), 0);
  const struct wfe_registry *held = wfe_engine_set_acquire(set);
  assert_non_null(wfe_registry_find(held, "fixture-good"));

  /* The kubelet's way: a new directory, a new link, renamed over ..data. */
  assert_int_equal(mkdir(path_in(e, "..2026_02"), 0755), 0);
  add_plugin(e, WFE_FIXTURE_MISBEHAVE, "..2026_02/engine.so");
  assert_int_equal(symlink("..2026_02", path_in(e, "..data_tmp")), 0);
  char tmp[PATH_MAX * 2];
  snprintf(tmp, sizeof(tmp), "%s", path_in(e, "..data_tmp"));
  assert_int_equal(rename(tmp, path_in(e, "..data")), 0);
  assert_true(wait_generation(set, 1));

  const struct wfe_registry *now = wfe_engine_set_acquire(set);
  assert_non_null(wfe_registry_find(now, "misbehave"));
  assert_null(wfe_registry_find(now, "fixture-good"));
  /* The old one still serves whoever held it. */
  const struct wfe_engine_slot *old = wfe_registry_find(held, "fixture-good");
  assert_non_null(old);
  assert_true(wfe_engine_host_pid(old->plugin->host) > 0);
  wfe_engine_set_release(set, held);
  wfe_engine_set_release(set, now);
  wfe_engine_set_free(set);
  wfe_error_clear(&err);
}

static void test_engine_set_reloads_a_plain_directory(void **state)
{
  struct env *e = *state;
  struct wfe_engine_set_options options = {
      .load = load_into, .load_ctx = e, .watch_dir = e->dir, .settle_ms = 100};
  struct wfe_engine_set *set = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_engine_set_start(&options, &set, &err), 0);
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  assert_true(wait_generation(set, 1));
  const struct wfe_registry *now = wfe_engine_set_acquire(set);
  assert_non_null(wfe_registry_find(now, "fixture-good"));
  wfe_engine_set_release(set, now);
  unlink(path_in(e, "good.so"));
  assert_true(wait_generation(set, 2));
  now = wfe_engine_set_acquire(set);
  assert_null(wfe_registry_find(now, "fixture-good"));
  wfe_engine_set_release(set, now);
  wfe_engine_set_free(set);
}

#define T(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      T(test_host_loads_plugin_in_a_process_of_its_own),
      T(test_host_runs_sandboxed_with_nothing_inherited),
      T(test_host_reports_descriptor_refusals),
      T(test_host_refuses_plugin_that_exits_while_loading),
      T(test_host_refuses_plugin_that_crashes_while_loading),
      T(test_host_gives_up_on_plugin_that_never_loads),
      T(test_host_refuses_both_files_claiming_one_name),
      T(test_host_crash_fails_the_call_and_restarts),
      T(test_host_abort_fails_the_call_and_restarts),
      T(test_host_exit_fails_the_call_and_restarts),
      T(test_host_deadline_kills_a_hanging_call),
      T(test_sandbox_stops_reading_the_token_file),
      T(test_sandbox_stops_connecting_to_the_api_server),
      T(test_sandbox_stops_running_a_shell),
      T(test_sandbox_stops_forking),
      T(test_sandbox_lets_a_runtime_start_threads_and_wait),
      T(test_host_blames_only_the_crashing_call),
      T(test_host_survives_freeing_large_inputs),
      T(test_host_crash_leaves_other_hosts_alone),
      T(test_output_over_the_cap_is_refused),
      T(test_output_that_is_not_json_is_refused),
      T(test_run_name_that_is_not_a_label_is_refused),
      T(test_run_of_another_kind_is_refused),
      T(test_unknown_phase_is_refused),
      T(test_engine_errors_keep_their_reason_and_field),
      T(test_get_object_travels_to_the_controller),
      T(test_list_objects_travels_to_the_controller),
      T(test_a_plugin_built_for_abi_1_0_works_unchanged),
      T(test_engine_log_lines_reach_the_controller_log),
      T(test_reload_keeps_the_host_of_an_unchanged_file),
      T(test_reload_replaces_the_host_of_a_changed_file),
      T(test_engine_set_reloads_on_a_configmap_swap),
      T(test_engine_set_reloads_a_plain_directory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
