/*
 * What the wfe-controller commands share: the configuration from --config and
 * the common flags, the plugin directory found relative to the executable,
 * and the engine registry built from both.
 */
#ifndef WFE_CORE_CLI_H
#define WFE_CORE_CLI_H

#include "config.h"
#include "host.h"
#include "plugin_loader.h"

/* Exit codes of every command. */
#define WFE_EXIT_OK 0
#define WFE_EXIT_FAILURE 1 /* the operation failed (invalid input, ...) */
#define WFE_EXIT_USAGE 2   /* bad command line or configuration */

/* Loads the registry for `config` (its pluginsDir or the default) with the
 * per-engine configuration blocks. Rejections are logged by the loader. */
int wfe_cli_load_registry(const struct wfe_config *config,
                          const struct wfe_host_services *services,
                          struct wfe_registry **out, struct wfe_error *err);

/* Prints an error the way every command does: "wfe-controller: <message>". */
void wfe_cli_error(const struct wfe_error *err);

int wfe_cmd_plugins(int argc, char **argv);
int wfe_cmd_render(int argc, char **argv);
int wfe_cmd_run(int argc, char **argv);

#endif
