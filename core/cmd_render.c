/*
 * `wfe-controller render`: the run object the controller would create for a
 * WorkflowExecution, printed as JSON, without any cluster. The same dispatch
 * code as the reconciler, so what it prints is what would be created.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "dispatch.h"
#include "log.h"
#include "yaml_reader.h"

static void usage(FILE *out)
{
  fputs("Usage: wfe-controller render -f FILE [--plugins-dir DIR]\n"
        "                             [--config FILE] "
        "[--execution-namespace NS]\n"
        "\n"
        "Reads a WorkflowExecution (YAML or JSON; '-' for standard input) and\n"
        "prints the run object its engine would create, as JSON. Never\n"
        "contacts a cluster. Exits 1 with the field and the rule on an\n"
        "invalid resource, an unknown engine or an engine error.\n",
        out);
}

static int render_file(const struct wfe_config *config, const char *file,
                       struct wfe_error *err)
{
  json_object *execution = NULL;
  int rc = wfe_yaml_parse_file(file, &execution, err);
  if (rc)
    return rc;
  struct wfe_host_services services;
  wfe_host_services_init(&services, NULL, NULL);
  struct wfe_registry *reg = NULL;
  rc = wfe_cli_load_registry(config, &services, &reg, err);
  const struct wfe_engine_slot *slot = NULL;
  if (!rc)
    rc =
        wfe_dispatch_select(reg, execution, config->default_engine, &slot, err);
  json_object *run = NULL;
  if (!rc)
    rc = wfe_dispatch_render(slot, execution, config->execution_namespace, &run,
                             err);
  if (!rc) {
    const char *text = json_object_to_json_string_ext(
        run, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text)
      puts(text);
    else
      rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  json_object_put(run);
  json_object_put(execution);
  wfe_registry_free(reg);
  return rc;
}

int wfe_cmd_render(int argc, char **argv)
{
  static const struct option options[] = {
      {"filename", required_argument, NULL, 'f'},
      {"plugins-dir", required_argument, NULL, 'p'},
      {"config", required_argument, NULL, 'c'},
      {"execution-namespace", required_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct wfe_config config;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_config_init(&config))
    return WFE_EXIT_FAILURE;
  const char *file = NULL, *plugins_dir = NULL, *execution_ns = NULL;
  int exit_code = WFE_EXIT_USAGE, opt;
  while ((opt = getopt_long(argc, argv, "f:h", options, NULL)) != -1) {
    switch (opt) {
    case 'f':
      file = optarg;
      break;
    case 'p':
      plugins_dir = optarg;
      break;
    case 'c':
      if (wfe_config_load_file(&config, optarg, &err))
        goto out;
      break;
    case 'n':
      execution_ns = optarg;
      break;
    case 'h':
      usage(stdout);
      exit_code = WFE_EXIT_OK;
      goto out;
    default:
      usage(stderr);
      goto out;
    }
  }
  if (!file || optind < argc) {
    usage(stderr);
    goto out;
  }
  if ((plugins_dir &&
       wfe_config_set_string(&config.plugins_dir, plugins_dir)) ||
      (execution_ns &&
       wfe_config_set_string(&config.execution_namespace, execution_ns))) {
    exit_code = WFE_EXIT_FAILURE;
    goto out;
  }
  if (wfe_config_validate(&config, &err))
    goto out;
  /* Rejected plugins are worth a warning here: they may explain an unknown
   * engine. */
  wfe_log_setup(WFE_LOG_FORMAT_TEXT, WFE_LOG_WARN, stderr);
  exit_code = render_file(&config, file, &err) ? WFE_EXIT_FAILURE : WFE_EXIT_OK;
out:
  if (err.code)
    wfe_cli_error(&err);
  wfe_error_clear(&err);
  wfe_config_free(&config);
  return exit_code;
}
