/*
 * `wfe-controller plugins`: what the plugin directory holds, offline. Lists
 * the engines that loaded and the files that were refused, with reasons;
 * fails when a required engine is missing.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "json_util.h"
#include "log.h"

static const char usage_text[] =
    "Usage: wfe-controller plugins [--plugins-dir DIR] [--config FILE]\n"
    "                              [--required-engines a,b] [-o json|text]\n"
    "\n"
    "Loads every engine plugin of the plugin directory and lists the\n"
    "engines (name, version, ABI, path, sha256) and the refused files\n"
    "with their reasons. Exits 1 when a required engine did not load.\n";

static json_object *listing_json(const struct wfe_registry *reg)
{
  json_object *root = json_object_new_object();
  json_object *engines = json_object_new_array();
  json_object *rejected = json_object_new_array();
  if (!root || !engines || !rejected) {
    json_object_put(root);
    json_object_put(engines);
    json_object_put(rejected);
    return NULL;
  }
  json_object_object_add(root, "engines", engines);
  json_object_object_add(root, "rejected", rejected);
  for (size_t i = 0; i < wfe_registry_engine_count(reg); i++) {
    const struct wfe_engine_slot *slot = wfe_registry_engine_at(reg, i);
    char abi[32];
    snprintf(abi, sizeof(abi), "%u.%u", slot->plugin->abi_major,
             slot->plugin->abi_minor);
    json_object *e = json_object_new_object();
    if (!e || json_object_array_add(engines, e) ||
        wfe_json_set_string(e, "name", slot->engine->name) ||
        wfe_json_set_string(e, "version", slot->engine->version) ||
        wfe_json_set_string(e, "abi", abi) ||
        wfe_json_set_string(e, "path", slot->plugin->path) ||
        wfe_json_set_string(e, "sha256", slot->plugin->sha256)) {
      json_object_put(root);
      return NULL;
    }
  }
  for (size_t i = 0; i < wfe_registry_rejected_count(reg); i++) {
    const struct wfe_rejection *r = wfe_registry_rejected_at(reg, i);
    json_object *e = json_object_new_object();
    if (!e || json_object_array_add(rejected, e) ||
        wfe_json_set_string(e, "path", r->path) ||
        (r->engine && wfe_json_set_string(e, "engine", r->engine)) ||
        wfe_json_set_string(e, "reason", r->reason)) {
      json_object_put(root);
      return NULL;
    }
  }
  return root;
}

static void print_text(const struct wfe_registry *reg)
{
  printf("%-16s %-10s %-5s %-64s %s\n", "ENGINE", "VERSION", "ABI", "SHA256",
         "PATH");
  for (size_t i = 0; i < wfe_registry_engine_count(reg); i++) {
    const struct wfe_engine_slot *slot = wfe_registry_engine_at(reg, i);
    printf("%-16s %-10s %u.%-3u %-64s %s\n", slot->engine->name,
           slot->engine->version, slot->plugin->abi_major,
           slot->plugin->abi_minor, slot->plugin->sha256, slot->plugin->path);
  }
  size_t rejected = wfe_registry_rejected_count(reg);
  if (rejected)
    printf("\nREJECTED\n");
  for (size_t i = 0; i < rejected; i++) {
    const struct wfe_rejection *r = wfe_registry_rejected_at(reg, i);
    printf("%s%s%s: %s\n", r->path, r->engine ? " engine " : "",
           r->engine ? r->engine : "", r->reason);
  }
}

static int apply_option(void *ctx, int opt, const char *arg)
{
  const char **output = ctx;
  if (opt != 'o' || (strcmp(arg, "json") && strcmp(arg, "text"))) {
    fputs(usage_text, stderr);
    return WFE_EXIT_USAGE;
  }
  *output = arg;
  return 0;
}

/* Prints the listing; returns 0 or WFE_E_NOMEM. */
static int print_listing(const struct wfe_registry *reg, const char *output)
{
  if (strcmp(output, "json") != 0) {
    print_text(reg);
    return 0;
  }
  json_object *listing = listing_json(reg);
  const char *text = listing ? json_object_to_json_string_ext(
                                   listing, JSON_C_TO_STRING_PRETTY |
                                                JSON_C_TO_STRING_NOSLASHESCAPE)
                             : NULL;
  if (text)
    puts(text);
  json_object_put(listing);
  return text ? 0 : WFE_E_NOMEM;
}

int wfe_cmd_plugins(int argc, char **argv)
{
  static const struct option options[] = {
      {"plugins-dir", required_argument, NULL, WFE_CLI_PLUGINS_DIR},
      {"config", required_argument, NULL, WFE_CLI_CONFIG},
      {"engine-isolation", required_argument, NULL, WFE_CLI_ENGINE_ISOLATION},
      {"required-engines", required_argument, NULL, WFE_CLI_REQUIRED_ENGINES},
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *output = "text";
  const struct wfe_cli_command command = {.usage = usage_text,
                                          .short_options = "o:",
                                          .options = options,
                                          .apply = apply_option,
                                          .ctx = &output};
  struct wfe_config config;
  struct wfe_error err = WFE_ERROR_INIT;
  int exit_code = wfe_cli_parse(&command, argc, argv, &config, &err);
  if (exit_code != WFE_CLI_CONTINUE)
    return wfe_cli_finish(exit_code, &config, &err);
  /* The listing is the output; keep the loader's own log lines quiet. */
  wfe_log_setup(WFE_LOG_FORMAT_TEXT, WFE_LOG_ERROR - 1, stderr);

  struct wfe_host_services services;
  wfe_host_services_init(&services, NULL, NULL);
  struct wfe_registry *reg = NULL;
  exit_code = WFE_EXIT_FAILURE;
  if (!wfe_cli_load_registry(&config, &services, NULL, &reg, &err)) {
    if (print_listing(reg, output))
      wfe_error_set(&err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
    else if (!wfe_registry_require(reg,
                                   (const char *const *)config.required_engines,
                                   config.required_engine_count, &err))
      exit_code = WFE_EXIT_OK;
  }
  wfe_registry_free(reg);
  return wfe_cli_finish(exit_code, &config, &err);
}
