/*
 * The plugin loader: scans the plugin directory, loads every engine plugin it
 * trusts, and registers their engines by name. By default each plugin file
 * runs in an engine host process of its own (engine_host.h), sandboxed, so a
 * plugin that crashes, hangs or misbehaves while loading or later never
 * takes the controller down; with WFE_ISOLATION_NONE the plugins are
 * dlopen'ed into this process (plugin.h), for development and comparison.
 *
 * Loading happens in two passes over the files, in byte-wise sorted order:
 * first every plugin is opened and its engines described; then an engine
 * name that two files claim is refused in both (naming both: neither may
 * silently take the other's place), and the remaining engines are created
 * with their configuration. What is refused is recorded with the file and
 * the precise reason ("exited with status 3 while loading", "plugin ABI 2.0
 * has a different major version than host ABI 1.0", ...) and logged, and
 * the scan goes on. Whether a missing engine is fatal is the caller's
 * decision (wfe_registry_require).
 *
 * Trust: the directory is trusted input, yet every file and directory on the
 * way must not be writable by group or others (unless it lives on a
 * read-only filesystem, as a Kubernetes ConfigMap volume does) nor owned by a
 * user other than root or us. Engine names coming from resources are not
 * trusted: lookups compare strings and never build paths.
 *
 * Threading: wfe_registry_load and wfe_registry_free run on one thread. A
 * loaded registry is immutable, so every accessor below may be called from
 * any thread while nobody frees it.
 */
#ifndef WFE_ENGINE_PLUGIN_LOADER_H
#define WFE_ENGINE_PLUGIN_LOADER_H

#include <stddef.h>

#include <wfe/engine.h>

#include "buf.h"
#include "engine_host.h"
#include "error.h"

struct wfe_engine_slot;
struct wfe_metrics;
struct wfe_registry;

enum wfe_isolation {
  WFE_ISOLATION_PROCESS, /* one sandboxed engine host per plugin file */
  WFE_ISOLATION_NONE,    /* plugins in this process */
};

/* A plugin file that loaded and registered at least one engine. Owned by the
 * registry; every member lives until wfe_registry_free. */
struct wfe_plugin_record {
  char *path;         /* as found: plugins_dir + "/" + file name */
  char *real_path;    /* after following symlinks: the file that was loaded */
  char sha256[65];    /* lowercase hex SHA-256 of the file's contents */
  unsigned abi_major; /* the ABI the plugin was built against */
  unsigned abi_minor;
  char *name; /* the plugin's own name and version (copies; "" if unset) */
  char *version;
  size_t engine_count; /* the engines of this plugin that were registered, */
  const struct wfe_engine_slot **engines; /* in the plugin's order */
  struct wfe_engine_host *host; /* its engine host; NULL in this process */
};

/* A registered engine: what the rest of the core dispatches to. */
struct wfe_engine_slot {
  const wfe_engine *engine;               /* its descriptor (or a proxy's) */
  void *instance;                         /* from create; may be NULL */
  const struct wfe_plugin_record *plugin; /* the file it came from */
  size_t max_output;                      /* bytes an operation may answer */
  /* validate then render in one go, when that is cheaper than two calls
   * (an engine host: one round trip); NULL: call them in turn. */
  int32_t (*validate_render)(void *instance, const char *json, size_t len,
                             wfe_buf *out, wfe_error *err);
};

/* A file, or one engine of a file, that was refused. */
struct wfe_rejection {
  char *path;   /* the file as found in the directory */
  char *engine; /* the engine's name when only that engine was refused,
                   NULL when the whole file was */
  char *reason; /* the precise cause, without the path (it is in `path`) */
};

struct wfe_loader_options {
  /* The directory to scan. Not recursive; hidden entries are ignored. */
  const char *plugins_dir;
  /* The host table: given to plugins loaded in this process; for engine
   * hosts, what answers their log lines and get_object. Must outlive the
   * registry. */
  const wfe_host *host;
  /* Returns the JSON configuration of an engine, or NULL for "{}". The text
   * only needs to live until the call to create returns. May be NULL. */
  const char *(*engine_config)(void *ctx, const char *engine_name);
  void *engine_config_ctx;
  /* Test seam: non-zero when `path` is on a read-only filesystem. NULL (the
   * default) asks statvfs for ST_RDONLY. */
  int (*is_read_only)(const char *path);

  enum wfe_isolation isolation;
  /* WFE_ISOLATION_PROCESS: the wfe-engine-host program, the host's
   * concurrent calls (the controller's workers), and each engine's limits
   * (a host takes the largest of its engines'; NULL: the defaults). */
  const char *host_executable;
  int host_threads;
  long host_load_timeout_ms; /* loading a plugin in its host: 10000 */
  void (*engine_limits)(void *ctx, const char *engine_name,
                        struct wfe_engine_host_limits *out);
  void *engine_limits_ctx;
  /* Both modes: bytes an operation may answer when the engine's limits do
   * not say (0: 1 MiB). */
  size_t max_output;
  struct wfe_metrics *metrics; /* may be NULL */
  /* A registry loaded earlier from the same directory: the engine hosts of
   * files whose path and contents are unchanged, offering the same engines,
   * are taken over instead of started again. May be NULL. */
  const struct wfe_registry *previous;
};

/*
 * Scans opts->plugins_dir and builds a registry of what loaded and what was
 * refused. Every rejection is also logged (logger "loader"). On success
 * sets *out (free it with wfe_registry_free) and returns 0, even when
 * nothing loaded. Fails only when the directory cannot be read
 * (WFE_E_NOT_FOUND / WFE_E_UNAVAILABLE), the options are incomplete
 * (WFE_E_INVALID) or memory runs out (WFE_E_NOMEM), with `err` filled.
 */
int wfe_registry_load(const struct wfe_loader_options *opts,
                      struct wfe_registry **out, struct wfe_error *err);

/*
 * Checks that each of the `count` engine `names` is registered. Returns 0, or
 * WFE_E_NOT_FOUND with `err` naming every missing engine, why each was
 * refused when it was, and those that did load.
 */
int wfe_registry_require(const struct wfe_registry *reg,
                         const char *const *names, size_t count,
                         struct wfe_error *err);

/* The engine registered under exactly `name`, or NULL. */
const struct wfe_engine_slot *wfe_registry_find(const struct wfe_registry *reg,
                                                const char *name);

/* The registered engines, sorted by name. */
size_t wfe_registry_engine_count(const struct wfe_registry *reg);
const struct wfe_engine_slot *
wfe_registry_engine_at(const struct wfe_registry *reg, size_t i);

/* The loaded plugin files, in load (sorted file-name) order. */
size_t wfe_registry_plugin_count(const struct wfe_registry *reg);
const struct wfe_plugin_record *
wfe_registry_plugin_at(const struct wfe_registry *reg, size_t i);

/* The rejected files and engines, in scan order. */
size_t wfe_registry_rejected_count(const struct wfe_registry *reg);
const struct wfe_rejection *
wfe_registry_rejected_at(const struct wfe_registry *reg, size_t i);

/* Appends the registered engine names to `out`, sorted and comma-separated
 * ("argo, tekton"), or "none". Returns 0 or WFE_E_NOMEM. */
int wfe_registry_engine_names(const struct wfe_registry *reg,
                              struct wfe_buf *out);

/* Appends why engine `name` is not registered, when the loader refused it:
 * " (refused in PATH: REASON)" for each refusal of that engine, or of a
 * whole file named after it (NAME.so, the convention); nothing when nothing
 * says. Returns 0 or WFE_E_NOMEM. */
int wfe_registry_why_missing(const struct wfe_registry *reg, const char *name,
                             struct wfe_buf *out);

/* Destroys every engine instance, calls each plugin's fini, then unloads the
 * plugins; engine hosts still used by a newer registry stay. Nothing from
 * the registry may be used afterwards. Accepts NULL. */
void wfe_registry_free(struct wfe_registry *reg);

#endif
