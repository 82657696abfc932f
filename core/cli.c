/* Shared command-line plumbing; see cli.h. */
#include "cli.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

/* <directory of the running executable>/../lib/wfe/plugins.d, newly
 * allocated, or NULL when the executable's path cannot be read. */
static char *default_plugins_dir(void)
{
  struct wfe_buf exe = WFE_BUF_INIT;
  size_t size = 256;
  for (;;) {
    wfe_buf_clear(&exe);
    char *path = malloc(size);
    if (!path)
      return NULL;
    ssize_t n = readlink("/proc/self/exe", path, size);
    if (n < 0) {
      free(path);
      return NULL;
    }
    if ((size_t)n < size) {
      int rc = wfe_buf_append(&exe, path, (size_t)n);
      free(path);
      if (rc)
        return NULL;
      break;
    }
    free(path);
    size *= 2;
  }
  /* <prefix>/bin/wfe-controller -> <prefix>/lib/wfe/plugins.d */
  char *bin_dir = dirname(exe.data);
  struct wfe_buf dir = WFE_BUF_INIT;
  int rc = wfe_buf_printf(&dir, "%s/../%s", bin_dir, WFE_PLUGIN_SUBDIR);
  wfe_buf_free(&exe);
  char *resolved = rc ? NULL : realpath(dir.data, NULL);
  if (resolved) { /* a tidy path for listings; the raw one works as well */
    wfe_buf_free(&dir);
    return resolved;
  }
  if (rc) {
    wfe_buf_free(&dir);
    return NULL;
  }
  return wfe_buf_steal(&dir);
}

static const char *engine_config(void *ctx, const char *engine_name)
{
  return wfe_config_engine_json(ctx, engine_name);
}

int wfe_cli_load_registry(const struct wfe_config *config,
                          const struct wfe_host_services *services,
                          struct wfe_registry **out, struct wfe_error *err)
{
  char *default_dir = NULL;
  const char *dir = config->plugins_dir;
  if (!dir) {
    default_dir = default_plugins_dir();
    if (!default_dir)
      return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NoPluginsDir",
                           "pluginsDir",
                           "cannot find the plugin directory next to the "
                           "executable; pass --plugins-dir");
    dir = default_dir;
  }
  struct wfe_loader_options options = {
      .plugins_dir = dir,
      .host = &services->table,
      .engine_config = engine_config,
      .engine_config_ctx = (void *)config,
  };
  int rc = wfe_registry_load(&options, out, err);
  free(default_dir);
  return rc;
}

void wfe_cli_error(const struct wfe_error *err)
{
  fprintf(stderr, "wfe-controller: %s\n", wfe_error_message(err));
}
