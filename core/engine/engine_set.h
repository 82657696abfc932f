/*
 * The engines a running controller dispatches to, reloaded live when the
 * plugin directory changes. A Kubernetes ConfigMap volume changes by
 * swapping its `..data` link to a new directory in one rename; a plain
 * directory changes file by file. An inotify watch on the directory (with
 * a periodic look at the files as a safety net for events the watch cannot
 * see) notices either; once the directory has been quiet for a moment the
 * set loads a new registry (new engine hosts for new or changed files, the
 * running hosts of unchanged files taken over), switches new calls to it,
 * and lets calls in flight finish on the old one before it is freed and
 * its unused hosts stopped.
 *
 * Threading: acquire and release from any thread; the callbacks run on the
 * watcher thread.
 */
#ifndef WFE_ENGINE_ENGINE_SET_H
#define WFE_ENGINE_ENGINE_SET_H

#include "error.h"
#include "plugin_loader.h"

struct wfe_engine_set;

struct wfe_engine_set_options {
  /* Loads a registry; `previous` is the one in use (hosts to take over),
   * NULL at start. Returns 0 with *out, or a WFE_E_* code with `err`. */
  int (*load)(void *ctx, const struct wfe_registry *previous,
              struct wfe_registry **out, struct wfe_error *err);
  void *load_ctx;
  /* After a reload switched registries (both valid during the call). */
  void (*changed)(void *ctx, const struct wfe_registry *before,
                  const struct wfe_registry *now);
  void *changed_ctx;
  /* The directory to watch; NULL: no reload. */
  const char *watch_dir;
  long settle_ms; /* quiet time before reloading: 500 */
  long rescan_ms; /* the safety-net look at the files: 30000 */
};

/* Loads the first registry and, with a watch_dir, starts watching. Returns
 * 0 with *out, or the load's error. */
int wfe_engine_set_start(const struct wfe_engine_set_options *options,
                         struct wfe_engine_set **out, struct wfe_error *err);

/* The current registry, held until released: a reload never frees it
 * under a caller. Never NULL. */
const struct wfe_registry *wfe_engine_set_acquire(struct wfe_engine_set *set);
void wfe_engine_set_release(struct wfe_engine_set *set,
                            const struct wfe_registry *reg);

/* Loads again now, as a change would (for tests and SIGHUP). Returns 0
 * when the set switched, or the load's error (the old registry stays). */
int wfe_engine_set_reload(struct wfe_engine_set *set, struct wfe_error *err);

/* How many reloads switched registries. */
unsigned long wfe_engine_set_generation(struct wfe_engine_set *set);

/* Stops watching and frees every registry; none may be held. Accepts
 * NULL. */
void wfe_engine_set_free(struct wfe_engine_set *set);

#endif
