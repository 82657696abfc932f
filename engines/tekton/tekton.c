/*
 * The Tekton engine plugin: its descriptor and entry point, the instance
 * life cycle (configuration), cancel and describe. The operations that read
 * WorkflowExecutions and PipelineRuns live in validate.c, render.c and
 * interpret.c.
 */
#include <stdlib.h>
#include <string.h>

#include "tekton.h"

#ifndef TK_VERSION
#define TK_VERSION "0.0.0"
#endif

#define TK_DESCRIPTION                                                         \
  "Runs each WorkflowExecution as a Tekton PipelineRun of a Pipeline taken "   \
  "from an OCI bundle"

/* A configuration key that holds a Kubernetes name, and where it goes. */
struct tk_config_key {
  const char *key;
  int (*is_valid)(const char *value);
  const char *rule;
  size_t offset; /* of the char array in struct tk_engine */
  size_t size;
};

#define TK_KEY(name, check, rule, member)                                      \
  {                                                                            \
    name, check, rule, offsetof(struct tk_engine, member),                     \
        sizeof(((struct tk_engine *)0)->member)                                \
  }

static const struct tk_config_key config_keys[] = {
    TK_KEY("pipelineName", ek_is_dns_label, "a DNS-1123 label", pipeline_name),
    TK_KEY("bundleSecret", ek_is_dns_subdomain, "a DNS-1123 subdomain",
           bundle_secret),
    TK_KEY("bundleServiceAccount", ek_is_dns_subdomain, "a DNS-1123 subdomain",
           bundle_service_account),
};

#define TK_CONFIG_KEY_COUNT (sizeof(config_keys) / sizeof(config_keys[0]))

static int apply_config_key(const struct ek_ctx *ctx, void *instance,
                            const char *key, json_object *value)
{
  struct tk_engine *engine = instance;
  for (size_t i = 0; i < TK_CONFIG_KEY_COUNT; i++) {
    const struct tk_config_key *k = &config_keys[i];
    if (strcmp(k->key, key) != 0)
      continue;
    if (!json_object_is_type(value, json_type_string))
      return ek_fail(ctx, WFE_E_INVALID, "InvalidConfig", key,
                     "tekton engine configuration: %s must be a string", key);
    const char *text = json_object_get_string(value);
    if (!k->is_valid(text) || strlen(text) >= k->size)
      return ek_fail(ctx, WFE_E_INVALID, "InvalidConfig", key,
                     "tekton engine configuration: %s \"%.260s\" must be %s",
                     key, text, k->rule);
    memcpy((char *)engine + k->offset, text, strlen(text) + 1);
    return WFE_OK;
  }
  return ek_fail(ctx, WFE_E_INVALID, "UnknownConfigKey", key,
                 "tekton engine configuration: unknown key \"%.200s\" (known: "
                 "pipelineName, bundleSecret, bundleServiceAccount)",
                 key);
}

static void set_defaults(void *instance)
{
  struct tk_engine *engine = instance;
  memcpy(engine->pipeline_name, TK_DEFAULT_PIPELINE_NAME,
         sizeof(TK_DEFAULT_PIPELINE_NAME));
}

static int32_t tk_create(const wfe_host *host, const char *config_json,
                         size_t config_len, void **out, wfe_error *err)
{
  return ek_create(host, config_json, config_len, "tekton engine configuration",
                   sizeof(struct tk_engine), set_defaults, apply_config_key,
                   out, err);
}

static void tk_destroy(void *instance)
{
  free(instance);
}

static int32_t tk_cancel(void *instance, const char *run_json, size_t run_len,
                         wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  int rc = ek_ctx_open(instance, err, &ctx);
  return rc ? rc
            : ek_emit_text(&ctx, "{\"spec\":{\"status\":\"Cancelled\"}}", out);
}

static json_object *new_description(const struct tk_engine *engine)
{
  json_object *description = json_object_new_object();
  json_object *config = json_object_new_object();
  int failed = !description || !config ||
               ek_add_string(description, "name", TK_ENGINE_NAME) ||
               ek_add_string(description, "version", TK_VERSION) ||
               ek_add_string(description, "description", TK_DESCRIPTION);
  for (size_t i = 0; !failed && i < TK_CONFIG_KEY_COUNT; i++) {
    const char *value = (const char *)engine + config_keys[i].offset;
    if (value[0])
      failed = ek_add_string(config, config_keys[i].key, value);
  }
  if (!failed) {
    failed = ek_add(description, "config", config);
    config = NULL;
  }
  json_object_put(config);
  if (failed) {
    json_object_put(description);
    return NULL;
  }
  return description;
}

static int32_t tk_describe(void *instance, wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  int rc = ek_ctx_open(instance, err, &ctx);
  return rc ? rc : ek_emit_owned(&ctx, new_description(instance), out);
}

static const wfe_run_type pipeline_run_type = {
    .struct_size = sizeof(wfe_run_type),
    .api_version = TK_RUN_API_VERSION,
    .kind = TK_RUN_KIND,
    .resource = "pipelineruns",
    .has_status_subresource = 1,
};

static const wfe_engine tekton_engine = {
    .struct_size = sizeof(wfe_engine),
    .name = TK_ENGINE_NAME,
    .version = TK_VERSION,
    .description = TK_DESCRIPTION,
    .run_type = &pipeline_run_type,
    .create = tk_create,
    .destroy = tk_destroy,
    .validate = tk_validate,
    .render = tk_render,
    .interpret = tk_interpret,
    .cancel = tk_cancel,
    .describe = tk_describe,
    .get_extension = NULL,
};

static const wfe_engine *const engines[] = {&tekton_engine};

WFE_PLUGIN_DEFINE("tekton", TK_VERSION, NULL, NULL, engines)
