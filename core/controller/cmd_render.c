/*
 * `wfe-controller render`: the run object the controller would create for a
 * WorkflowExecution, printed as JSON, without any cluster. The same
 * rendering code as the reconciler, so what it prints is what would be
 * created.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "execution.h"
#include "log.h"
#include "run_object.h"
#include "yaml_reader.h"

static const char usage_text[] =
    "Usage: wfe-controller render -f FILE [--plugins-dir DIR]\n"
    "                             [--config FILE] "
    "[--execution-namespace NS]\n"
    "\n"
    "Reads a WorkflowExecution (YAML or JSON; '-' for standard input) and\n"
    "prints the run object its engine would create, as JSON. Never\n"
    "contacts a cluster. Exits 1 with the field and the rule on an\n"
    "invalid resource, an unknown engine or an engine error.\n";

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
  rc = wfe_cli_load_registry(config, &services, NULL, &reg, err);
  const struct wfe_engine_slot *slot = NULL;
  if (!rc)
    rc = wfe_run_select_engine(reg, execution, config->default_engine, &slot,
                               err);
  json_object *run = NULL;
  if (!rc)
    rc = wfe_run_render(slot, execution, WFE_EXECUTION_STRICT_FIELDS,
                        config->execution_namespace, &run, err);
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

static int apply_option(void *ctx, int opt, const char *arg)
{
  *(const char **)ctx = arg; /* -f FILE, the only option of our own */
  return 0;
}

int wfe_cmd_render(int argc, char **argv)
{
  static const struct option options[] = {
      {"filename", required_argument, NULL, 'f'},
      {"plugins-dir", required_argument, NULL, WFE_CLI_PLUGINS_DIR},
      {"config", required_argument, NULL, WFE_CLI_CONFIG},
      {"engine-isolation", required_argument, NULL, WFE_CLI_ENGINE_ISOLATION},
      {"execution-namespace", required_argument, NULL,
       WFE_CLI_EXECUTION_NAMESPACE},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *file = NULL;
  const struct wfe_cli_command command = {.usage = usage_text,
                                          .short_options = "f:",
                                          .options = options,
                                          .apply = apply_option,
                                          .ctx = &file};
  struct wfe_config config;
  struct wfe_error err = WFE_ERROR_INIT;
  int exit_code = wfe_cli_parse(&command, argc, argv, &config, &err);
  if (exit_code == WFE_CLI_CONTINUE && !file) {
    fputs(usage_text, stderr);
    exit_code = WFE_EXIT_USAGE;
  }
  if (exit_code == WFE_CLI_CONTINUE && wfe_config_validate(&config, &err))
    exit_code = WFE_EXIT_USAGE;
  if (exit_code != WFE_CLI_CONTINUE)
    return wfe_cli_finish(exit_code, &config, &err);
  /* Rejected plugins are worth a warning here: they may explain an unknown
   * engine. */
  wfe_log_setup(WFE_LOG_FORMAT_TEXT, WFE_LOG_WARN, stderr);
  exit_code = render_file(&config, file, &err) ? WFE_EXIT_FAILURE : WFE_EXIT_OK;
  return wfe_cli_finish(exit_code, &config, &err);
}
