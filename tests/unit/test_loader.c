/*
 * Specification of the plugin loader (core/engine/plugin_loader.c), run against
 * the fixture plugins of tests/fixtures/plugins, with the plugins loaded in
 * this process (engineIsolation: none), where the fixtures can append their
 * calls (init, create, destroy, fini) to a log file named by
 * $WFE_FIXTURE_CALLS. Each test builds a plugin directory from copies of the
 * fixtures inside a fresh temporary directory, loads it, and checks what was
 * registered, what was rejected and why. test_engine_host.c checks the same
 * loader with every plugin in an engine host process.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "host.h"
#include "log.h"
#include "plugin_dir.h"
#include "plugin_loader.h"

/* The timestamped directory of a ConfigMap volume, as the kubelet names it. */
#define CONFIGMAP_TS_DIR "..2026_11_26_10_00_00.123456789"

struct env {
  char root[PATH_MAX / 2]; /* the temporary directory holding all below */
  char dir[PATH_MAX];      /* the plugin directory under test */
  char calls[PATH_MAX];    /* the fixtures' call log */
  int mounted;             /* a tmpfs is mounted on dir */
  FILE *log;               /* what the loader logged */
  struct wfe_host_services host;
  struct wfe_loader_options opts;
  struct wfe_registry *reg;
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

static char *read_text(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return strdup("");
  static char text[65536];
  size_t n = fread(text, 1, sizeof(text) - 1, f);
  text[n] = '\0';
  fclose(f);
  return strdup(text);
}

static struct wfe_registry *load(struct env *e)
{
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = wfe_registry_load(&e->opts, &e->reg, &err);
  if (rc)
    fail_msg("wfe_registry_load failed: %s", wfe_error_message(&err));
  wfe_error_clear(&err);
  return e->reg;
}

static const struct wfe_rejection *rejection_of(const struct env *e,
                                                const char *name)
{
  return plugin_dir_rejection(e->reg, path_in(e, name));
}

/* Asserts that DIR/name was rejected as a whole file, for a reason that
 * contains each of the NULL-terminated strings. */
#define assert_rejected(e, name, ...)                                          \
  assert_rejected_at((e), (name), __FILE__, __LINE__, __VA_ARGS__, NULL)

static void assert_rejected_at(const struct env *e, const char *name,
                               const char *file, int line, ...)
{
  const struct wfe_rejection *r = rejection_of(e, name);
  if (!r) {
    print_error("%s was not rejected\n", path_in(e, name));
    _fail(file, line);
  }
  va_list ap;
  va_start(ap, line);
  for (const char *needle; (needle = va_arg(ap, const char *));)
    assert_contains_at(r->reason, needle, file, line);
  va_end(ap);
}

static int is_loaded_in_process(const char *path)
{
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (handle)
    dlclose(handle);
  return handle != NULL;
}

static int mount_tmpfs(struct env *e)
{
  if (mount("tmpfs", e->dir, "tmpfs", MS_NOSUID | MS_NODEV,
            "mode=0777,size=16m") != 0)
    return -1;
  e->mounted = 1;
  return 0;
}

static int remount_read_only(const struct env *e)
{
  /* Source and type are ignored on a remount, but valgrind wants strings. */
  return mount("tmpfs", e->dir, "tmpfs",
               MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

/* What Kubernetes makes of a ConfigMap holding tekton.so: the file in a
 * timestamped directory, reached through the ..data symlink, on top of a
 * 0777 directory. The plugin inside is the good fixture. */
static void make_configmap_layout(const struct env *e)
{
  assert_int_equal(mkdir(path_in(e, CONFIGMAP_TS_DIR), 0755), 0);
  add_plugin(e, WFE_FIXTURE_GOOD, CONFIGMAP_TS_DIR "/tekton.so");
  assert_int_equal(symlink(CONFIGMAP_TS_DIR, path_in(e, "..data")), 0);
  assert_int_equal(symlink("..data/tekton.so", path_in(e, "tekton.so")), 0);
  assert_int_equal(chmod(e->dir, 0777), 0);
}

static const char *read_only_prefix;

/* The test seam: everything under read_only_prefix is on a read-only
 * filesystem. */
static int is_under_read_only_prefix(const char *path)
{
  return strncmp(path, read_only_prefix, strlen(read_only_prefix)) == 0;
}

static const char *config_of(void *ctx, const char *engine_name)
{
  return strcmp(engine_name, "fixture-good") == 0 ? (const char *)ctx : NULL;
}

/* ---------------------------------------------------------------------------
 * Set-up and tear-down
 */

static int setup(void **state)
{
  struct env *e = calloc(1, sizeof(*e));
  if (plugin_dir_make(e->root, sizeof(e->root), e->dir, sizeof(e->dir),
                      "wfe-loader"))
    return -1;
  snprintf(e->calls, sizeof(e->calls), "%s/calls.log", e->root);
  setenv("WFE_FIXTURE_CALLS", e->calls, 1);
  e->log = tmpfile();
  wfe_log_setup(WFE_LOG_FORMAT_TEXT, WFE_LOG_DEBUG, e->log);
  wfe_host_services_init(&e->host, NULL, NULL);
  e->opts.plugins_dir = e->dir;
  e->opts.host = &e->host.table;
  e->opts.isolation = WFE_ISOLATION_NONE;
  *state = e;
  return 0;
}

static int teardown(void **state)
{
  struct env *e = *state;
  wfe_registry_free(e->reg); /* before umount: the plugins are mapped */
  if (e->mounted)
    umount2(e->dir, MNT_DETACH);
  chmod(e->dir, 0755);
  plugin_dir_remove(e->root);
  unsetenv("WFE_FIXTURE_CALLS");
  wfe_log_setup(WFE_LOG_FORMAT_TEXT, WFE_LOG_INFO, NULL);
  if (e->log)
    fclose(e->log);
  read_only_prefix = NULL;
  free(e);
  return 0;
}

/* ---------------------------------------------------------------------------
 * Loading good plugins
 */

static void test_loader_registers_engines_of_good_plugins(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  add_plugin(e, WFE_FIXTURE_TWO, "two.so");

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_rejected_count(reg), 0);
  assert_int_equal(wfe_registry_engine_count(reg), 3);
  assert_string_equal(wfe_registry_engine_at(reg, 0)->engine->name,
                      "fixture-good");
  assert_string_equal(wfe_registry_engine_at(reg, 1)->engine->name,
                      "fixture-two-a");
  assert_string_equal(wfe_registry_engine_at(reg, 2)->engine->name,
                      "fixture-two-b");
  assert_null(wfe_registry_engine_at(reg, 3));
  const struct wfe_engine_slot *two_b = wfe_registry_find(reg, "fixture-two-b");
  assert_non_null(two_b);
  assert_non_null(two_b->instance);
  assert_string_equal(two_b->plugin->path, path_in(e, "two.so"));
  struct wfe_buf names = WFE_BUF_INIT;
  assert_int_equal(wfe_registry_engine_names(reg, &names), 0);
  assert_string_equal(wfe_buf_str(&names),
                      "fixture-good, fixture-two-a, fixture-two-b");
  wfe_buf_free(&names);
}

static void
test_loader_records_path_hash_abi_and_engines_of_each_plugin(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  add_plugin(e, WFE_FIXTURE_TWO, "two.so");

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_plugin_count(reg), 2);
  const struct wfe_plugin_record *two = wfe_registry_plugin_at(reg, 1);
  assert_string_equal(two->path, path_in(e, "two.so"));
  char *real = realpath(path_in(e, "two.so"), NULL);
  assert_string_equal(two->real_path, real);
  free(real);
  char expected_sha[65];
  assert_int_equal(wfe_sha256_file(path_in(e, "two.so"), expected_sha, NULL),
                   0);
  assert_string_equal(two->sha256, expected_sha);
  assert_int_equal(two->abi_major, WFE_ENGINE_ABI_MAJOR);
  assert_int_equal(two->abi_minor, WFE_ENGINE_ABI_MINOR);
  assert_string_equal(two->name, "fixture-two");
  assert_string_equal(two->version, "2.0.0");
  assert_int_equal(two->engine_count, 2);
  assert_string_equal(two->engines[0]->engine->name, "fixture-two-a");
  assert_string_equal(two->engines[1]->engine->name, "fixture-two-b");
  assert_ptr_equal(two->engines[0]->plugin, two);
}

static void test_loader_passes_engine_configuration_to_create(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  add_plugin(e, WFE_FIXTURE_TWO, "two.so");
  e->opts.engine_config = config_of;
  e->opts.engine_config_ctx = "{\"server\":\"https://example.test\"}";

  struct wfe_registry *reg = load(e);

  /* The fixture's instance is a copy of the configuration it was given. */
  assert_string_equal(wfe_registry_find(reg, "fixture-good")->instance,
                      "{\"server\":\"https://example.test\"}");
  assert_string_equal(wfe_registry_find(reg, "fixture-two-a")->instance, "{}");
}

static void test_loader_finds_engines_by_exact_name_only(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");

  struct wfe_registry *reg = load(e);

  assert_non_null(wfe_registry_find(reg, "fixture-good"));
  assert_null(wfe_registry_find(reg, "Fixture-Good"));
  assert_null(wfe_registry_find(reg, "fixture"));
  assert_null(wfe_registry_find(reg, "fixture-good "));
  assert_null(wfe_registry_find(reg, "good"));
  assert_null(wfe_registry_find(reg, "good.so"));
  assert_null(wfe_registry_find(reg, "../plugins/good.so"));
  assert_null(wfe_registry_find(reg, ""));
  assert_null(wfe_registry_find(reg, NULL));
}

static void test_loader_loads_an_empty_directory(void **state)
{
  struct env *e = *state;

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_engine_count(reg), 0);
  assert_int_equal(wfe_registry_plugin_count(reg), 0);
  assert_int_equal(wfe_registry_rejected_count(reg), 0);
  struct wfe_buf names = WFE_BUF_INIT;
  assert_int_equal(wfe_registry_engine_names(reg, &names), 0);
  assert_string_equal(wfe_buf_str(&names), "none");
  wfe_buf_free(&names);
}

static void test_loader_fails_when_directory_cannot_be_read(void **state)
{
  struct env *e = *state;
  e->opts.plugins_dir = path_in(e, "does-not-exist");
  struct wfe_error err = WFE_ERROR_INIT;

  int rc = wfe_registry_load(&e->opts, &e->reg, &err);

  assert_int_equal(rc, WFE_E_NOT_FOUND);
  assert_null(e->reg);
  assert_contains(wfe_error_message(&err), "does-not-exist");
  wfe_error_clear(&err);
}

/* ---------------------------------------------------------------------------
 * What is not a plugin
 */

static void test_loader_ignores_hidden_files(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, ".good.so");
  add_plugin(e, WFE_FIXTURE_ABI_MINOR, ".newer.so");

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_engine_count(reg), 0);
  assert_int_equal(wfe_registry_rejected_count(reg), 0);
}

static void test_loader_ignores_files_not_named_so(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so.bak");
  add_plugin(e, WFE_FIXTURE_GOOD, "good.sox");
  add_plugin(e, WFE_FIXTURE_GOOD, "good");
  add_plugin(e, WFE_FIXTURE_ABI_MINOR, "README");

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_engine_count(reg), 0);
  assert_int_equal(wfe_registry_rejected_count(reg), 0);
}

static void test_loader_ignores_directories_named_so(void **state)
{
  struct env *e = *state;
  assert_int_equal(mkdir(path_in(e, "sub.so"), 0755), 0);
  add_plugin(e, WFE_FIXTURE_GOOD, "sub.so/good.so");

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_engine_count(reg), 0);
  assert_int_equal(wfe_registry_rejected_count(reg), 0);
}

/* ---------------------------------------------------------------------------
 * Rejected files: each names the file and the precise cause, and the scan
 * goes on.
 */

static void test_loader_rejects_unloadable_file_with_dlerror_text(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_UNDEFINED, "undefined.so");

  load(e);

  assert_rejected(e, "undefined.so", "cannot load: ",
                  "undefined symbol: wfe_fixture_no_such_function");
}

static void test_loader_rejects_non_elf_file_with_dlerror_text(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_NOT_ELF, "x.so");
  /* What the dynamic linker itself says about the file. */
  assert_null(dlopen(path_in(e, "x.so"), RTLD_NOW | RTLD_LOCAL));
  char *expected = strdup(dlerror());

  load(e);

  assert_rejected(e, "x.so", "cannot load: ", expected);
  free(expected);
}

static void test_loader_rejects_plugin_without_entry_symbol(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_NO_ENTRY, "no-entry.so");

  load(e);

  assert_rejected(e, "no-entry.so", "no entry symbol wfe_plugin_entry");
}

static void test_loader_rejects_entry_returning_null(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_NULL_ENTRY, "null-entry.so");

  load(e);

  assert_rejected(e, "null-entry.so", "wfe_plugin_entry() returned NULL");
}

static void test_loader_rejects_different_major_abi(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_ABI_MAJOR, "abi-major.so");

  load(e);

  assert_rejected(e, "abi-major.so",
                  "plugin ABI 2.0 has a different major version than host "
                  "ABI 1.1");
  assert_null(wfe_registry_find(e->reg, "fixture-abi-major"));
}

static void test_loader_rejects_newer_minor_abi(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_ABI_MINOR, "abi-minor.so");

  load(e);

  assert_rejected(e, "abi-minor.so",
                  "plugin ABI 1.99 is newer than host ABI 1.1");
  assert_null(wfe_registry_find(e->reg, "fixture-abi-minor"));
}

static void test_loader_rejects_plugin_struct_smaller_than_abi_1_0(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_SMALL_PLUGIN, "small-plugin.so");

  load(e);

  assert_rejected(e, "small-plugin.so", "plugin descriptor is ",
                  "smaller than the ", "bytes of ABI 1.0");
}

static void test_loader_rejects_engine_struct_smaller_than_abi_1_0(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_SMALL_ENGINE, "small-engine.so");

  load(e);

  const struct wfe_rejection *r = rejection_of(e, "small-engine.so");
  assert_non_null(r);
  assert_string_equal(r->engine, "fixture-small-engine");
  assert_contains(r->reason, "engine descriptor is ");
  assert_contains(r->reason, "bytes of ABI 1.0");
  assert_int_equal(wfe_registry_plugin_count(e->reg), 0);
}

static void
test_loader_rejects_plugin_whose_init_fails_with_its_message(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_INIT_FAILS, "init-fails.so");

  load(e);

  assert_rejected(e, "init-fails.so",
                  "init failed: ", "fixture init refuses: license file missing",
                  "NoLicense");
  assert_null(wfe_registry_find(e->reg, "fixture-init-fails"));
  /* fini pairs with a successful init only. */
  char *calls = read_text(e->calls);
  assert_null(strstr(calls, "fini"));
  free(calls);
}

static void
test_loader_rejects_engine_whose_create_fails_with_its_message(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_CREATE_FAILS, "create-fails.so");

  load(e);

  const struct wfe_rejection *r = rejection_of(e, "create-fails.so");
  assert_non_null(r);
  assert_string_equal(r->engine, "fixture-create-fails");
  assert_contains(r->reason, "create failed: missing key 'server'");
  assert_contains(r->reason, "InvalidConfig");
  assert_null(wfe_registry_find(e->reg, "fixture-create-fails"));
  /* No engine of it is in use: it was finished and unloaded. */
  assert_int_equal(wfe_registry_plugin_count(e->reg), 0);
  char *calls = read_text(e->calls);
  assert_contains(calls, "fini of create-fails");
  free(calls);
}

static void
test_loader_rejects_engine_name_that_is_not_a_dns_label(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_BAD_NAME, "bad-name.so");

  load(e);

  const struct wfe_rejection *r = rejection_of(e, "bad-name.so");
  assert_non_null(r);
  assert_string_equal(r->engine, "Bad_Name");
  assert_contains(r->reason, "engine name \"Bad_Name\" is not a DNS label");
  assert_int_equal(wfe_registry_engine_count(e->reg), 0);
}

/* An impostor whose file sorts first must not take a name over: both
 * files are refused, each naming the other, and a required engine so
 * refused is missing with the reason. */
static void
test_loader_refuses_every_file_claiming_one_engine_name(void **state)
{
  struct env *e = *state;
  /* Created in the opposite order to the sorted one. */
  add_plugin(e, WFE_FIXTURE_DUPLICATE, "20-duplicate.so");
  add_plugin(e, WFE_FIXTURE_GOOD, "10-good.so");
  add_plugin(e, WFE_FIXTURE_TWO, "30-two.so");

  struct wfe_registry *reg = load(e);

  assert_null(wfe_registry_find(reg, "fixture-good"));
  assert_non_null(wfe_registry_find(reg, "fixture-two-a"));
  const struct wfe_rejection *first = rejection_of(e, "10-good.so");
  const struct wfe_rejection *second = rejection_of(e, "20-duplicate.so");
  assert_non_null(first);
  assert_non_null(second);
  assert_string_equal(first->engine, "fixture-good");
  assert_string_equal(second->engine, "fixture-good");
  assert_contains(first->reason, "engine \"fixture-good\" is also offered by ");
  assert_contains(first->reason, path_in(e, "20-duplicate.so"));
  assert_contains(second->reason, path_in(e, "10-good.so"));
  /* Neither was created (the two creates are 30-two.so's engines), and
   * nothing of them stays loaded: 10-good.so's init is paired with fini. */
  assert_int_equal(wfe_registry_plugin_count(reg), 1);
  char *calls = read_text(e->calls);
  assert_string_equal(calls, "init\nfini\ncreate {}\ncreate {}\n");
  free(calls);
  const char *required[] = {"fixture-good"};
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_registry_require(reg, required, 1, &err),
                   WFE_E_NOT_FOUND);
  assert_contains(err.message, "\"fixture-good\" (refused in ");
  assert_contains(err.message, "also offered by");
  wfe_error_clear(&err);
}

/* Why an engine is missing: its own refusal, or that of the whole file
 * named after it; never a file whose name merely starts with it. */
static void test_loader_says_why_an_engine_is_missing(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_ABI_MAJOR, "acme.so");
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  load(e);

  struct wfe_buf why = WFE_BUF_INIT;
  assert_int_equal(wfe_registry_why_missing(e->reg, "acme", &why), 0);
  assert_contains(wfe_buf_str(&why), "(refused in ");
  assert_contains(wfe_buf_str(&why), path_in(e, "acme.so"));
  assert_contains(wfe_buf_str(&why), "different major version");
  wfe_buf_clear(&why);
  assert_int_equal(wfe_registry_why_missing(e->reg, "acm", &why), 0);
  assert_string_equal(wfe_buf_str(&why), "");
  assert_int_equal(wfe_registry_why_missing(e->reg, "fixture-good", &why), 0);
  assert_string_equal(wfe_buf_str(&why), "");
  wfe_buf_free(&why);
}

static void test_loader_rejects_same_file_reached_twice(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "a.so");
  assert_int_equal(symlink("a.so", path_in(e, "b.so")), 0);

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_plugin_count(reg), 1);
  assert_rejected(e, "b.so", "the same file is already loaded",
                  path_in(e, "a.so"));
  char *calls = read_text(e->calls);
  assert_string_equal(calls, "init\ncreate {}\n");
  free(calls);
}

static void test_loader_carries_on_after_each_rejection(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_ABI_MAJOR, "a.so");
  add_plugin(e, WFE_FIXTURE_UNDEFINED, "b.so");
  add_plugin(e, WFE_FIXTURE_GOOD, "c.so");
  add_plugin(e, WFE_FIXTURE_INIT_FAILS, "d.so");
  add_plugin(e, WFE_FIXTURE_NOT_ELF, "e.so");
  add_plugin(e, WFE_FIXTURE_TWO, "f.so");
  add_plugin(e, WFE_FIXTURE_BAD_NAME, "g.so");

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_engine_count(reg), 3);
  assert_int_equal(wfe_registry_rejected_count(reg), 5);
  const char *rejected[] = {"a.so", "b.so", "d.so", "e.so", "g.so"};
  for (size_t i = 0; i < 5; i++)
    assert_string_equal(wfe_registry_rejected_at(reg, i)->path,
                        path_in(e, rejected[i]));
  assert_null(wfe_registry_rejected_at(reg, 5));
}

static void test_loader_logs_each_rejection_with_path_and_reason(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_ABI_MINOR, "abi-minor.so");
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");

  load(e);

  fflush(e->log);
  rewind(e->log);
  char text[8192];
  size_t n = fread(text, 1, sizeof(text) - 1, e->log);
  text[n] = '\0';
  char expected[PATH_MAX * 2];
  snprintf(expected, sizeof(expected),
           "loader: rejected %s: plugin ABI 1.99 is newer than host ABI 1.1",
           path_in(e, "abi-minor.so"));
  assert_contains(text, expected);
  snprintf(expected, sizeof(expected), "loader: loaded %s: plugin fixture-good",
           path_in(e, "good.so"));
  assert_contains(text, expected);
}

/* ---------------------------------------------------------------------------
 * Trust
 */

static void test_loader_rejects_group_writable_file(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  assert_int_equal(chmod(path_in(e, "good.so"), 0664), 0);

  struct wfe_registry *reg = load(e);

  assert_null(wfe_registry_find(reg, "fixture-good"));
  assert_rejected(e, "good.so", "is writable by group (mode 0664)");
}

static void test_loader_rejects_world_writable_file(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  assert_int_equal(chmod(path_in(e, "good.so"), 0646), 0);

  struct wfe_registry *reg = load(e);

  assert_null(wfe_registry_find(reg, "fixture-good"));
  assert_rejected(e, "good.so", "is writable by others (mode 0646)",
                  "not on a read-only filesystem");
}

static void test_loader_rejects_world_writable_directory(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  add_plugin(e, WFE_FIXTURE_TWO, "two.so");
  assert_int_equal(chmod(e->dir, 0777), 0);

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_engine_count(reg), 0);
  assert_rejected(e, "good.so", e->dir,
                  "is writable by group and others (mode 0777)");
  assert_rejected(e, "two.so", e->dir);
}

static void test_loader_rejects_group_writable_directory(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  assert_int_equal(chmod(e->dir, 0775), 0);

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_engine_count(reg), 0);
  assert_rejected(e, "good.so", "directory ", e->dir,
                  "is writable by group (mode 0775)");
}

static void test_loader_rejects_symlink_into_writable_directory(void **state)
{
  struct env *e = *state;
  char elsewhere[PATH_MAX * 2], target[PATH_MAX * 3];
  snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", e->root);
  assert_int_equal(mkdir(elsewhere, 0755), 0);
  assert_int_equal(chmod(elsewhere, 0777), 0);
  snprintf(target, sizeof(target), "%s/good.so", elsewhere);
  plugin_dir_copy(WFE_FIXTURE_GOOD, target, 0644);
  assert_int_equal(symlink(target, path_in(e, "good.so")), 0);
  char *real_dir = realpath(elsewhere, NULL);

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_engine_count(reg), 0);
  assert_rejected(e, "good.so", "directory ", real_dir,
                  "is writable by group and others (mode 0777)");
  free(real_dir);
}

static void test_loader_rejects_file_owned_by_another_user(void **state)
{
  struct env *e = *state;
  if (geteuid() != 0)
    skip(); /* only root can give a file away */
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  assert_int_equal(chown(path_in(e, "good.so"), 4242, (gid_t)-1), 0);

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_engine_count(reg), 0);
  assert_rejected(e, "good.so", "is owned by uid 4242");
}

static void test_loader_loads_configmap_layout_on_read_only_mount(void **state)
{
  struct env *e = *state;
  if (mount_tmpfs(e) != 0) {
    print_message("cannot mount a tmpfs (%s); covered by the seam test\n",
                  strerror(errno));
    skip();
  }
  make_configmap_layout(e);
  if (remount_read_only(e) != 0) {
    print_message("cannot remount read-only (%s)\n", strerror(errno));
    skip();
  }

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_rejected_count(reg), 0);
  const struct wfe_engine_slot *slot = wfe_registry_find(reg, "fixture-good");
  assert_non_null(slot);
  assert_string_equal(slot->plugin->path, path_in(e, "tekton.so"));
  assert_contains(slot->plugin->real_path, "/" CONFIGMAP_TS_DIR "/tekton.so");
}

static void
test_loader_loads_configmap_layout_when_seam_says_read_only(void **state)
{
  struct env *e = *state;
  make_configmap_layout(e);
  read_only_prefix = e->root;
  e->opts.is_read_only = is_under_read_only_prefix;

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_rejected_count(reg), 0);
  assert_non_null(wfe_registry_find(reg, "fixture-good"));
}

static void
test_loader_rejects_configmap_layout_when_not_read_only(void **state)
{
  struct env *e = *state;
  make_configmap_layout(e);

  struct wfe_registry *reg = load(e);

  assert_int_equal(wfe_registry_engine_count(reg), 0);
  assert_rejected(e, "tekton.so", e->dir,
                  "is writable by group and others (mode 0777) and not on a "
                  "read-only filesystem");
}

/* ---------------------------------------------------------------------------
 * Required engines
 */

static void
test_loader_require_names_missing_engines_and_loaded_ones(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  add_plugin(e, WFE_FIXTURE_TWO, "two.so");
  add_plugin(e, WFE_FIXTURE_ABI_MINOR, "tekton.so");
  struct wfe_registry *reg = load(e);
  const char *const required[] = {"fixture-good", "tekton", "argo"};
  struct wfe_error err = WFE_ERROR_INIT;

  int rc = wfe_registry_require(reg, required, 3, &err);

  assert_int_equal(rc, WFE_E_NOT_FOUND);
  assert_string_equal(err.reason, "EngineNotLoaded");
  /* tekton.so, the file named after the engine, was refused: why is said. */
  assert_contains(err.message, "required engines \"tekton\" (refused in ");
  assert_contains(err.message,
                  "tekton.so: plugin ABI 1.99 is newer than host ABI 1.1), "
                  "\"argo\" are not loaded");
  assert_contains(err.message,
                  "loaded: fixture-good, fixture-two-a, fixture-two-b");
  assert_contains(err.message, "1 plugin rejection");
  wfe_error_clear(&err);
}

static void test_loader_require_accepts_when_every_engine_loaded(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  add_plugin(e, WFE_FIXTURE_TWO, "two.so");
  struct wfe_registry *reg = load(e);
  const char *const required[] = {"fixture-two-b", "fixture-good"};
  struct wfe_error err = WFE_ERROR_INIT;

  assert_int_equal(wfe_registry_require(reg, required, 2, &err), 0);
  assert_int_equal(wfe_registry_require(reg, NULL, 0, &err), 0);
  assert_null(err.message);
}

static void test_loader_require_with_nothing_loaded_says_none(void **state)
{
  struct env *e = *state;
  struct wfe_registry *reg = load(e);
  const char *const required[] = {"tekton"};
  struct wfe_error err = WFE_ERROR_INIT;

  assert_int_equal(wfe_registry_require(reg, required, 1, &err),
                   WFE_E_NOT_FOUND);
  assert_contains(err.message, "required engine \"tekton\" is not loaded "
                               "(loaded: none; 0 plugin rejections)");
  wfe_error_clear(&err);
}

/* ---------------------------------------------------------------------------
 * Lifetime
 */

static void test_loader_free_destroys_instances_then_calls_fini(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  add_plugin(e, WFE_FIXTURE_TWO, "two.so");
  load(e);

  wfe_registry_free(e->reg);
  e->reg = NULL;

  char *calls = read_text(e->calls);
  assert_string_equal(calls, "init\n"
                             "create {}\n"
                             "create {}\n"
                             "create {}\n"
                             "destroy\n"
                             "destroy\n"
                             "destroy\n"
                             "fini\n");
  free(calls);
  wfe_registry_free(NULL);
}

static void test_loader_keeps_registered_plugins_loaded_until_free(void **state)
{
  struct env *e = *state;
  add_plugin(e, WFE_FIXTURE_GOOD, "good.so");
  add_plugin(e, WFE_FIXTURE_ABI_MINOR, "newer.so");
  load(e);

  assert_true(is_loaded_in_process(path_in(e, "good.so")));
  assert_false(is_loaded_in_process(path_in(e, "newer.so")));

  wfe_registry_free(e->reg);
  e->reg = NULL;

  assert_false(is_loaded_in_process(path_in(e, "good.so")));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_loader_registers_engines_of_good_plugins),
      T(test_loader_records_path_hash_abi_and_engines_of_each_plugin),
      T(test_loader_passes_engine_configuration_to_create),
      T(test_loader_finds_engines_by_exact_name_only),
      T(test_loader_loads_an_empty_directory),
      T(test_loader_fails_when_directory_cannot_be_read),
      T(test_loader_ignores_hidden_files),
      T(test_loader_ignores_files_not_named_so),
      T(test_loader_ignores_directories_named_so),
      T(test_loader_rejects_unloadable_file_with_dlerror_text),
      T(test_loader_rejects_non_elf_file_with_dlerror_text),
      T(test_loader_rejects_plugin_without_entry_symbol),
      T(test_loader_rejects_entry_returning_null),
      T(test_loader_rejects_different_major_abi),
      T(test_loader_rejects_newer_minor_abi),
      T(test_loader_rejects_plugin_struct_smaller_than_abi_1_0),
      T(test_loader_rejects_engine_struct_smaller_than_abi_1_0),
      T(test_loader_rejects_plugin_whose_init_fails_with_its_message),
      T(test_loader_rejects_engine_whose_create_fails_with_its_message),
      T(test_loader_rejects_engine_name_that_is_not_a_dns_label),
      T(test_loader_refuses_every_file_claiming_one_engine_name),
      T(test_loader_says_why_an_engine_is_missing),
      T(test_loader_rejects_same_file_reached_twice),
      T(test_loader_carries_on_after_each_rejection),
      T(test_loader_logs_each_rejection_with_path_and_reason),
      T(test_loader_rejects_group_writable_file),
      T(test_loader_rejects_world_writable_file),
      T(test_loader_rejects_world_writable_directory),
      T(test_loader_rejects_group_writable_directory),
      T(test_loader_rejects_symlink_into_writable_directory),
      T(test_loader_rejects_file_owned_by_another_user),
      T(test_loader_loads_configmap_layout_on_read_only_mount),
      T(test_loader_loads_configmap_layout_when_seam_says_read_only),
      T(test_loader_rejects_configmap_layout_when_not_read_only),
      T(test_loader_require_names_missing_engines_and_loaded_ones),
      T(test_loader_require_accepts_when_every_engine_loaded),
      T(test_loader_require_with_nothing_loaded_says_none),
      T(test_loader_free_destroys_instances_then_calls_fini),
      T(test_loader_keeps_registered_plugins_loaded_until_free),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
