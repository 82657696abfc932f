/* The engine a target fuzzes, loaded once per fuzzing process from the
 * build's plugin directory, for the targets that fuzz what engines read. One
 * source serves every engine: WFE_FUZZ_ENGINE names it (tekton when the
 * build does not say). `lister` (may be NULL: list_objects is offline)
 * answers the engine's list_objects, with `lister_ctx`; both are fixed by
 * the first call. */
#ifndef WFE_FUZZ_COMMON_H
#define WFE_FUZZ_COMMON_H

#include <stdlib.h>

#include "host.h"
#include "plugin_loader.h"

#ifndef WFE_FUZZ_ENGINE
#define WFE_FUZZ_ENGINE "tekton"
#endif

static const struct wfe_engine_slot *fuzz_engine(wfe_object_lister_fn lister,
                                                 void *lister_ctx)
{
  static struct wfe_host_services services;
  static struct wfe_registry *registry;
  if (!registry) {
    struct wfe_error err = WFE_ERROR_INIT;
    wfe_host_services_init(&services, NULL, NULL);
    wfe_host_services_set_lister(&services, lister, lister_ctx);
    struct wfe_loader_options options = {
        .plugins_dir = WFE_FUZZ_PLUGINS_DIR,
        .host = &services.table,
        .isolation = WFE_ISOLATION_NONE, /* the engine's code, fuzzed */
    };
    if (wfe_registry_load(&options, &registry, &err) ||
        !wfe_registry_find(registry, WFE_FUZZ_ENGINE))
      abort();
  }
  return wfe_registry_find(registry, WFE_FUZZ_ENGINE);
}

#endif
