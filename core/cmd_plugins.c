/*
 * `wfe-controller plugins`: what the plugin directory holds, offline. Lists
 * the engines that loaded and the files that were refused, with reasons;
 * fails when a required engine is missing.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "json_util.h"
#include "log.h"

static void usage(FILE *out)
{
  fputs(
      "Usage: wfe-controller plugins [--plugins-dir DIR] [--config FILE]\n"
      "                              [--required-engines a,b] [-o json|text]\n"
      "\n"
      "Loads every engine plugin of the plugin directory and lists the\n"
      "engines (name, version, ABI, path, sha256) and the refused files\n"
      "with their reasons. Exits 1 when a required engine did not load.\n",
      out);
}

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

int wfe_cmd_plugins(int argc, char **argv)
{
  static const struct option options[] = {
      {"plugins-dir", required_argument, NULL, 'p'},
      {"config", required_argument, NULL, 'c'},
      {"required-engines", required_argument, NULL, 'r'},
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct wfe_config config;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_config_init(&config))
    return WFE_EXIT_FAILURE;
  const char *output = "text";
  const char *plugins_dir = NULL, *required = NULL;
  int exit_code = WFE_EXIT_USAGE, opt;
  while ((opt = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
    switch (opt) {
    case 'p':
      plugins_dir = optarg;
      break;
    case 'c':
      if (wfe_config_load_file(&config, optarg, &err))
        goto out;
      break;
    case 'r':
      required = optarg;
      break;
    case 'o':
      output = optarg;
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
  if (optind < argc || (strcmp(output, "json") && strcmp(output, "text"))) {
    usage(stderr);
    goto out;
  }
  if ((plugins_dir &&
       wfe_config_set_string(&config.plugins_dir, plugins_dir)) ||
      (required &&
       wfe_config_set_list(&config.required_engines,
                           &config.required_engine_count, required))) {
    exit_code = WFE_EXIT_FAILURE;
    goto out;
  }
  /* The listing is the output; keep the loader's own log lines quiet. */
  wfe_log_setup(WFE_LOG_FORMAT_TEXT, WFE_LOG_ERROR - 1, stderr);

  struct wfe_host_services services;
  wfe_host_services_init(&services, NULL, NULL);
  struct wfe_registry *reg = NULL;
  exit_code = WFE_EXIT_FAILURE;
  if (wfe_cli_load_registry(&config, &services, &reg, &err))
    goto out;
  if (strcmp(output, "json") == 0) {
    json_object *listing = listing_json(reg);
    const char *text = listing
                           ? json_object_to_json_string_ext(
                                 listing, JSON_C_TO_STRING_PRETTY |
                                              JSON_C_TO_STRING_NOSLASHESCAPE)
                           : NULL;
    if (text)
      puts(text);
    json_object_put(listing);
    if (!text) {
      wfe_error_set(&err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
      wfe_registry_free(reg);
      goto out;
    }
  } else {
    print_text(reg);
  }
  exit_code =
      wfe_registry_require(reg, (const char *const *)config.required_engines,
                           config.required_engine_count, &err)
          ? WFE_EXIT_FAILURE
          : WFE_EXIT_OK;
  wfe_registry_free(reg);
out:
  if (err.code)
    wfe_cli_error(&err);
  wfe_error_clear(&err);
  wfe_config_free(&config);
  return exit_code;
}
