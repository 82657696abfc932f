/* Shared command-line plumbing; see cli.h. */
#include "cli.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

/* Applies one wfe_cli_flag to `c`. Returns 0, WFE_E_INVALID with `err`
 * naming the key, or WFE_E_NOMEM. */
static int apply_config_flag(struct wfe_config *c, int opt, const char *arg,
                             struct wfe_error *err)
{
  switch (opt) {
  case WFE_CLI_KUBECONFIG:
    return wfe_config_set_string(&c->kubeconfig, arg);
  case WFE_CLI_NAMESPACES:
    return wfe_config_set_list(&c->namespaces, &c->namespace_count, arg);
  case WFE_CLI_EXECUTION_NAMESPACE:
    return wfe_config_set_string(&c->execution_namespace, *arg ? arg : NULL);
  case WFE_CLI_PLUGINS_DIR:
    return wfe_config_set_string(&c->plugins_dir, arg);
  case WFE_CLI_REQUIRED_ENGINES:
    return wfe_config_set_list(&c->required_engines, &c->required_engine_count,
                               arg);
  case WFE_CLI_DEFAULT_ENGINE:
    return wfe_config_set_string(&c->default_engine, arg);
  case WFE_CLI_WORKERS: {
    char *end = NULL;
    long n = strtol(arg, &end, 10);
    if (*end || n < 1 || n > 256)
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidFlag", "workers",
                           "--workers: must be between 1 and 256");
    c->workers = (int)n;
    return 0;
  }
  case WFE_CLI_LEADER_ELECT:
    if (wfe_parse_bool(arg ? arg : "true", &c->leader_elect))
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidFlag",
                           "leaderElection.enabled",
                           "--leader-elect: must be true or false");
    return 0;
  case WFE_CLI_LEADER_NAMESPACE:
    return wfe_config_set_string(&c->leader_election_namespace, arg);
  case WFE_CLI_LEADER_ID:
    return wfe_config_set_string(&c->leader_election_id, arg);
  case WFE_CLI_METRICS:
    return wfe_config_set_string(&c->metrics_bind_address, arg);
  case WFE_CLI_METRICS_SECURE:
    if (wfe_parse_bool(arg ? arg : "true", &c->metrics_secure))
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidFlag",
                           "metricsSecure",
                           "--metrics-secure: must be true or false");
    return 0;
  case WFE_CLI_METRICS_CERT_FILE:
    return wfe_config_set_string(&c->metrics_cert_file, *arg ? arg : NULL);
  case WFE_CLI_METRICS_KEY_FILE:
    return wfe_config_set_string(&c->metrics_key_file, *arg ? arg : NULL);
  case WFE_CLI_PROBES:
    return wfe_config_set_string(&c->health_probe_bind_address, arg);
  case WFE_CLI_LOG_FORMAT:
    return wfe_config_set_string(&c->log_format, arg);
  case WFE_CLI_LOG_LEVEL:
    return wfe_config_set_string(&c->log_level, arg);
  case WFE_CLI_ENGINE_ISOLATION:
    if (wfe_parse_isolation(arg, &c->engine_isolation))
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidFlag",
                           "engineIsolation",
                           "--engine-isolation: must be process or none");
    return 0;
  default:
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidFlag", NULL,
                         "unknown option");
  }
}

int wfe_cli_parse(const struct wfe_cli_command *command, int argc, char **argv,
                  struct wfe_config *config, struct wfe_error *err)
{
  if (wfe_config_init(config))
    return WFE_EXIT_FAILURE;
  /* The file first, wherever --config stands, so every flag overrides it. */
  for (int i = 1; i < argc; i++) {
    const char *file = NULL;
    if (!strcmp(argv[i], "--"))
      break;
    if (!strcmp(argv[i], "--config") && i + 1 < argc)
      file = argv[++i];
    else if (!strncmp(argv[i], "--config=", 9))
      file = argv[i] + 9;
    if (file && wfe_config_load_file(config, file, err))
      return err->code == WFE_E_NOMEM ? WFE_EXIT_FAILURE : WFE_EXIT_USAGE;
  }
  struct wfe_buf short_options = WFE_BUF_INIT;
  if (wfe_buf_printf(&short_options, "%sh",
                     command->short_options ? command->short_options : ""))
    return WFE_EXIT_FAILURE;
  int exit_code = WFE_CLI_CONTINUE, opt;
  optind = 1;
  while (exit_code == WFE_CLI_CONTINUE &&
         (opt = getopt_long(argc, argv, short_options.data, command->options,
                            NULL)) != -1) {
    if (opt == 'h') {
      fputs(command->usage, stdout);
      exit_code = WFE_EXIT_OK;
    } else if (opt == '?') {
      fputs(command->usage, stderr);
      exit_code = WFE_EXIT_USAGE;
    } else if (opt == WFE_CLI_CONFIG) {
      continue; /* read above */
    } else if (opt < WFE_CLI_CONFIG) {
      exit_code = command->apply ? command->apply(command->ctx, opt, optarg)
                                 : WFE_EXIT_USAGE;
      if (exit_code == 0)
        exit_code = WFE_CLI_CONTINUE;
    } else if (apply_config_flag(config, opt, optarg, err)) {
      exit_code = err->code ? WFE_EXIT_USAGE : WFE_EXIT_FAILURE;
      if (!err->code)
        wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
    }
  }
  wfe_buf_free(&short_options);
  if (exit_code == WFE_CLI_CONTINUE && optind < argc) {
    fputs(command->usage, stderr);
    exit_code = WFE_EXIT_USAGE;
  }
  return exit_code;
}

int wfe_cli_finish(int exit_code, struct wfe_config *config,
                   struct wfe_error *err)
{
  if (err->code)
    wfe_cli_error(err);
  wfe_error_clear(err);
  wfe_config_free(config);
  return exit_code;
}

/* <directory of the running executable>/../`subdir`, newly allocated, or
 * NULL when the executable's path cannot be read. */
static char *beside_executable(const char *subdir)
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
  int rc = wfe_buf_printf(&dir, "%s/../%s", bin_dir, subdir);
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

char *wfe_cli_plugins_dir(const struct wfe_config *config)
{
  return config->plugins_dir ? strdup(config->plugins_dir)
                             : beside_executable(WFE_PLUGIN_SUBDIR);
}

static const char *engine_config(void *ctx, const char *engine_name)
{
  return wfe_config_engine_json(ctx, engine_name);
}

static void engine_limits(void *ctx, const char *engine_name,
                          struct wfe_engine_host_limits *out)
{
  wfe_config_engine_limits(ctx, engine_name, out);
}

int wfe_cli_load_registry(const struct wfe_config *config,
                          const struct wfe_host_services *services,
                          const struct wfe_cli_load *load,
                          struct wfe_registry **out, struct wfe_error *err)
{
  char *default_dir = NULL, *host_program = NULL;
  const char *dir = config->plugins_dir;
  if (!dir) {
    default_dir = beside_executable(WFE_PLUGIN_SUBDIR);
    if (!default_dir)
      return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NoPluginsDir",
                           "pluginsDir",
                           "cannot find the plugin directory next to the "
                           "executable; pass --plugins-dir");
    dir = default_dir;
  }
  if (config->engine_isolation == WFE_ISOLATION_PROCESS &&
      !(host_program =
            beside_executable(WFE_ENGINE_HOST_SUBDIR "/wfe-engine-host"))) {
    free(default_dir);
    return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NoEngineHost", NULL,
                         "cannot find wfe-engine-host next to the "
                         "executable");
  }
  struct wfe_loader_options options = {
      .plugins_dir = dir,
      .host = &services->table,
      .engine_config = engine_config,
      .engine_config_ctx = (void *)config,
      .isolation = config->engine_isolation,
      .host_executable = host_program,
      .host_threads = config->workers,
      .host_load_timeout_ms = config->host_limits.load_timeout_ms,
      .engine_limits = engine_limits,
      .engine_limits_ctx = (void *)config,
      .metrics = load ? load->metrics : NULL,
      .previous = load ? load->previous : NULL,
  };
  int rc = wfe_registry_load(&options, out, err);
  free(default_dir);
  free(host_program);
  return rc;
}

void wfe_cli_error(const struct wfe_error *err)
{
  fprintf(stderr, "wfe-controller: %s\n", wfe_error_message(err));
}
