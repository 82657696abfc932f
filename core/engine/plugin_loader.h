/*
 * The plugin loader: scans the plugin directory once at start-up, loads every
 * engine plugin it trusts (dlopen RTLD_NOW | RTLD_LOCAL), checks its ABI and
 * descriptors, creates one instance per engine and registers the engines by
 * name. What it refuses is recorded with the file and the precise reason and
 * skipped; only an unreadable directory or lack of memory fails the load.
 * Whether a missing engine is fatal is the caller's decision
 * (wfe_registry_require), so a listing can still be printed first.
 *
 * Trust: the directory is trusted input, yet every file and directory on the
 * way must not be writable by group or others (unless it lives on a
 * read-only filesystem, as a Kubernetes ConfigMap volume does) nor owned by a
 * user other than root or us. Engine names coming from resources are not
 * trusted: lookups compare strings and never build paths.
 *
 * Threading: wfe_registry_load and wfe_registry_free run on the main thread.
 * A loaded registry is immutable, so every read-only accessor below may be
 * called from any thread while nobody frees it.
 */
#ifndef WFE_ENGINE_PLUGIN_LOADER_H
#define WFE_ENGINE_PLUGIN_LOADER_H

#include <stddef.h>

#include <wfe/engine.h>

#include "buf.h"
#include "error.h"

struct wfe_engine_slot;

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
};

/* A registered engine: what the rest of the core dispatches to. */
struct wfe_engine_slot {
  const wfe_engine *engine;               /* the plugin's static descriptor */
  void *instance;                         /* from engine->create; may be NULL */
  const struct wfe_plugin_record *plugin; /* the file it came from */
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
  /* The host table given to every plugin (wfe_host_services_init). Must
   * outlive the registry. */
  const wfe_host *host;
  /* Returns the JSON configuration of an engine, or NULL for "{}". The text
   * only needs to live until the call to create returns. May be NULL. */
  const char *(*engine_config)(void *ctx, const char *engine_name);
  void *engine_config_ctx;
  /* Test seam: non-zero when `path` is on a read-only filesystem. NULL (the
   * default) asks statvfs for ST_RDONLY. */
  int (*is_read_only)(const char *path);
};

struct wfe_registry;

/*
 * Scans opts->plugins_dir in byte-wise sorted file-name order, so the outcome
 * (which of two files with the same engine wins) is deterministic, and
 * builds a registry of what loaded and what was rejected. Every rejection is
 * also logged (logger "loader"). On success sets *out (free it with
 * wfe_registry_free) and returns 0, even when nothing loaded. Fails only
 * when the directory cannot be read (WFE_E_NOT_FOUND / WFE_E_UNAVAILABLE),
 * the options are incomplete (WFE_E_INVALID) or memory runs out
 * (WFE_E_NOMEM), with `err` filled.
 */
int wfe_registry_load(const struct wfe_loader_options *opts,
                      struct wfe_registry **out, struct wfe_error *err);

/*
 * Checks that each of the `count` engine `names` is registered. Returns 0, or
 * WFE_E_NOT_FOUND with `err` naming every missing engine and those that did
 * load (the rejections are in the registry for the details).
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

/* Destroys every engine instance, calls each plugin's fini, then unloads the
 * plugins. Nothing from the registry may be used afterwards. Accepts NULL. */
void wfe_registry_free(struct wfe_registry *reg);

#endif
