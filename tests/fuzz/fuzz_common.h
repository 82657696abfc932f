/* The tekton engine, loaded once per fuzzing process from the build's plugin
 * directory, for the targets that fuzz what engines read. */
#ifndef WFE_FUZZ_COMMON_H
#define WFE_FUZZ_COMMON_H

#include <stdlib.h>

#include "host.h"
#include "plugin_loader.h"

static const struct wfe_engine_slot *fuzz_tekton(void)
{
  static struct wfe_host_services services;
  static struct wfe_registry *registry;
  if (!registry) {
    struct wfe_error err = WFE_ERROR_INIT;
    wfe_host_services_init(&services, NULL, NULL);
    struct wfe_loader_options options = {
        .plugins_dir = WFE_FUZZ_PLUGINS_DIR,
        .host = &services.table,
        .isolation = WFE_ISOLATION_NONE, /* the engine's code, fuzzed */
    };
    if (wfe_registry_load(&options, &registry, &err) ||
        !wfe_registry_find(registry, "tekton"))
      abort();
  }
  return wfe_registry_find(registry, "tekton");
}

#endif
