/*
 * What the wfe-controller commands share: one command-line parser (the
 * configuration file from --config first, wherever it stands, then every
 * flag over it), the flags that set configuration keys, the plugin
 * directory found relative to the executable, and the engine registry built
 * from all of it.
 */
#ifndef WFE_CONTROLLER_CLI_H
#define WFE_CONTROLLER_CLI_H

#include <getopt.h>

#include "config.h"
#include "host.h"
#include "plugin_loader.h"

/* Exit codes of every command. */
#define WFE_EXIT_OK 0
#define WFE_EXIT_FAILURE 1 /* the operation failed (invalid input, ...) */
#define WFE_EXIT_USAGE 2   /* bad command line or configuration */

/* The long options that set a configuration key, shared by the commands
 * (each lists those it takes in its own option table). Values above any
 * short option's character. */
enum wfe_cli_flag {
  WFE_CLI_CONFIG = 256,
  WFE_CLI_KUBECONFIG,
  WFE_CLI_NAMESPACES,
  WFE_CLI_EXECUTION_NAMESPACE,
  WFE_CLI_PLUGINS_DIR,
  WFE_CLI_REQUIRED_ENGINES,
  WFE_CLI_DEFAULT_ENGINE,
  WFE_CLI_WORKERS,
  WFE_CLI_LEADER_ELECT,
  WFE_CLI_LEADER_NAMESPACE,
  WFE_CLI_LEADER_ID,
  WFE_CLI_METRICS,
  WFE_CLI_METRICS_SECURE,
  WFE_CLI_METRICS_CERT_FILE,
  WFE_CLI_METRICS_KEY_FILE,
  WFE_CLI_PROBES,
  WFE_CLI_LOG_FORMAT,
  WFE_CLI_LOG_LEVEL,
  WFE_CLI_ENGINE_ISOLATION,
};

/* A command's command line. */
struct wfe_cli_command {
  const char *usage;         /* the --help text; also printed on misuse */
  const char *short_options; /* getopt's, besides "h" */
  /* getopt_long's table, zero-terminated: the command's own options (short
   * option characters as values) and the wfe_cli_flag ones it takes; --help
   * is always understood. */
  const struct option *options;
  /* Applies one of the command's own options (not a wfe_cli_flag) to its
   * state `ctx`. Returns 0, or WFE_EXIT_USAGE for a bad value. May be NULL
   * when the command has none. */
  int (*apply)(void *ctx, int opt, const char *arg);
  void *ctx;
};

/* What wfe_cli_parse returns when the command should go on. */
#define WFE_CLI_CONTINUE (-1)

/*
 * Initialises `config` and parses argv (argv[0] is the command's name): the
 * --config file first, then every option in order, so flags override the
 * file. Returns WFE_CLI_CONTINUE, or the exit code to end with:
 * WFE_EXIT_OK after --help, WFE_EXIT_USAGE for a bad command line (usage
 * printed) or a bad file or flag value (err names the key),
 * WFE_EXIT_FAILURE when memory runs out. End the command with
 * wfe_cli_finish either way.
 */
int wfe_cli_parse(const struct wfe_cli_command *command, int argc, char **argv,
                  struct wfe_config *config, struct wfe_error *err);

/* Prints `err` when it is set (wfe_cli_error), frees it and `config`, and
 * returns `exit_code`. */
int wfe_cli_finish(int exit_code, struct wfe_config *config,
                   struct wfe_error *err);

/* What a long-running load adds: metrics, and the registry it replaces. */
struct wfe_cli_load {
  struct wfe_metrics *metrics;
  const struct wfe_registry *previous;
};

/* Loads the registry for `config` (its pluginsDir or the default, its
 * isolation with the wfe-engine-host installed beside the executable, the
 * per-engine configuration blocks and limits). `load` may be NULL.
 * Rejections are logged by the loader. */
int wfe_cli_load_registry(const struct wfe_config *config,
                          const struct wfe_host_services *services,
                          const struct wfe_cli_load *load,
                          struct wfe_registry **out, struct wfe_error *err);

/* The plugin directory of `config`: its pluginsDir, or the one installed
 * beside the executable. Newly allocated; NULL when neither is known. */
char *wfe_cli_plugins_dir(const struct wfe_config *config);

/* Prints an error the way every command does: "wfe-controller: <message>". */
void wfe_cli_error(const struct wfe_error *err);

int wfe_cmd_plugins(int argc, char **argv);
int wfe_cmd_render(int argc, char **argv);
int wfe_cmd_run(int argc, char **argv);

#endif
