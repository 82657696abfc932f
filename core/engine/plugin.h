/*
 * One plugin file loaded into this process: dlopen(RTLD_NOW | RTLD_LOCAL),
 * the entry, the ABI negotiation and the checks of every descriptor, init,
 * and the engines' create and destroy. The engine host process uses it to
 * load its one plugin; with engineIsolation: none the loader uses it in the
 * controller itself. It knows neither directories nor registries.
 *
 * Threading: everything here runs on one thread; a loaded image is then
 * read-only, so its engines may be called from any thread.
 */
#ifndef WFE_ENGINE_PLUGIN_H
#define WFE_ENGINE_PLUGIN_H

#include <stddef.h>

#include <wfe/engine.h>

#include "buf.h"

/* The stack of each thread an engine host calls engines on: what an
 * engine's recursion has to fit in (wfe-engine-check calls engines on
 * stacks of the same size). */
#define WFE_ENGINE_HOST_STACK_SIZE (1 << 20)

/* An engine of the plugin that its checks refused. */
struct wfe_plugin_refusal {
  char *engine; /* its name, or "#<index>" when it has none */
  char *reason;
};

struct wfe_plugin_image {
  void *handle;
  const wfe_plugin *desc;
  /* The engines that passed their checks, in the plugin's order, with their
   * index in desc->engines and, once created, their instance. */
  size_t engine_count;
  const wfe_engine **engines;
  size_t *indexes;
  void **instances;
  int *created;
  /* The engines that did not. */
  size_t refusal_count;
  struct wfe_plugin_refusal *refusals;
  int inited; /* init ran and succeeded: fini is due */
};

/*
 * Loads `real_path`, checks the plugin and each engine descriptor, and runs
 * the plugin's init with `host` (only when an engine passed). Returns 0
 * with *out, whose refusals list the engines that did not pass; 1 when the
 * whole file is refused, with the reason in `why` (nothing stays loaded);
 * or WFE_E_NOMEM.
 */
int wfe_plugin_image_open(const char *real_path, const wfe_host *host,
                          struct wfe_plugin_image **out, struct wfe_buf *why);

/*
 * Creates engine `i` (an index into image->engines) with its configuration
 * JSON. Returns 0; 1 when create failed, with "create failed: <message>
 * (Reason, field F, code)" in `why`; or WFE_E_NOMEM.
 */
int wfe_plugin_image_create(struct wfe_plugin_image *image, size_t i,
                            const wfe_host *host, const char *config,
                            size_t config_len, struct wfe_buf *why);

/* Destroys the created instances (last first), calls fini when init ran,
 * and unloads the file. Accepts NULL. */
void wfe_plugin_image_close(struct wfe_plugin_image *image);

#endif
