/*
 * The Argo engine plugin: its descriptor and entry point, the instance life
 * cycle (configuration), cancel and describe. The operations that read
 * WorkflowExecutions and Workflows live in render.c, interpret.c and
 * nodes.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "argo.h"

#ifndef ARGO_VERSION
#define ARGO_VERSION "0.0.0"
#endif

#define ARGO_DESCRIPTION                                                       \
  "Runs each WorkflowExecution as an Argo Workflows Workflow of the "          \
  "WorkflowTemplate its workflowId names, with its parameters as the "         \
  "Workflow's arguments"

#define ARGO_CONFIG "argo engine configuration"
#define ARGO_DEADLINE_MIN 1
#define ARGO_DEADLINE_MAX 604800
#define ARGO_DEADLINE_DEFAULT 3600

static void set_defaults(void *instance)
{
  struct argo_engine *engine = instance;
  engine->active_deadline_seconds = ARGO_DEADLINE_DEFAULT;
}

static int apply_deadline(const struct ek_ctx *ctx, struct argo_engine *engine,
                          const char *key, json_object *value)
{
  int64_t seconds = json_object_get_int64(value);
  if (!json_object_is_type(value, json_type_int) ||
      seconds < ARGO_DEADLINE_MIN || seconds > ARGO_DEADLINE_MAX)
    return ek_fail(ctx, WFE_E_INVALID, "InvalidConfig", key,
                   ARGO_CONFIG ": %s must be an integer from %d to %d", key,
                   ARGO_DEADLINE_MIN, ARGO_DEADLINE_MAX);
  engine->active_deadline_seconds = seconds;
  return WFE_OK;
}

static int apply_cluster_scope(const struct ek_ctx *ctx,
                               struct argo_engine *engine, const char *key,
                               json_object *value)
{
  if (!json_object_is_type(value, json_type_boolean))
    return ek_fail(ctx, WFE_E_INVALID, "InvalidConfig", key,
                   ARGO_CONFIG ": %s must be a boolean (true: the templates "
                               "are ClusterWorkflowTemplates)",
                   key);
  engine->cluster_scope = json_object_get_boolean(value);
  return WFE_OK;
}

static int check_template(const struct ek_ctx *ctx, const char *workflow_id,
                          json_object *name)
{
  if (json_object_is_type(name, json_type_string) &&
      ek_is_dns_subdomain(json_object_get_string(name)))
    return WFE_OK;
  char *field = ek_strdup_printf("templates.%s", workflow_id);
  if (!field)
    return ek_nomem(ctx);
  int rc = ek_fail(ctx, WFE_E_INVALID, "InvalidConfig", field,
                   ARGO_CONFIG ": %s must be a WorkflowTemplate name, a "
                               "DNS-1123 subdomain: at most 253 lowercase "
                               "letters, digits, '-' and '.', starting and "
                               "ending with a letter or digit",
                   field);
  free(field);
  return rc;
}

/* Only checks: the map is taken once every key is accepted (take_templates),
 * as the kit frees a refused instance without asking the engine. */
static int check_templates(const struct ek_ctx *ctx, const char *key,
                           json_object *value)
{
  if (!json_object_is_type(value, json_type_object))
    return ek_fail(ctx, WFE_E_INVALID, "InvalidConfig", key,
                   ARGO_CONFIG ": %s must be an object mapping workflowIds to "
                               "WorkflowTemplate names",
                   key);
  json_object_object_foreach(value, workflow_id, name)
  {
    int rc = check_template(ctx, workflow_id, name);
    if (rc != WFE_OK)
      return rc;
  }
  return WFE_OK;
}

static int apply_config_key(const struct ek_ctx *ctx, void *instance,
                            const char *key, json_object *value)
{
  if (strcmp(key, "activeDeadlineSeconds") == 0)
    return apply_deadline(ctx, instance, key, value);
  if (strcmp(key, "clusterScope") == 0)
    return apply_cluster_scope(ctx, instance, key, value);
  if (strcmp(key, "templates") == 0)
    return check_templates(ctx, key, value);
  return ek_fail(ctx, WFE_E_INVALID, "UnknownConfigKey", key,
                 ARGO_CONFIG ": unknown key \"%.200s\" (known: "
                             "activeDeadlineSeconds, clusterScope, templates)",
                 key);
}

/* Takes the checked `templates` map of the configuration into `engine`. */
static int take_templates(const struct ek_ctx *ctx, struct argo_engine *engine,
                          const char *config_json, size_t config_len)
{
  json_object *config, *templates;
  if (!config_json || config_len == 0)
    return WFE_OK;
  int rc = ek_parse(ctx, config_json, config_len, ARGO_CONFIG, "InvalidConfig",
                    &config);
  if (rc == WFE_OK)
    rc = ek_member(ctx, config, "", "templates", json_type_object, 0,
                   &templates);
  if (rc == WFE_OK && templates)
    engine->templates = json_object_get(templates);
  json_object_put(config);
  return rc;
}

static void argo_destroy(void *instance)
{
  struct argo_engine *engine = instance;
  if (engine)
    json_object_put(engine->templates);
  free(engine);
}

static int32_t argo_create(const wfe_host *host, const char *config_json,
                           size_t config_len, void **out, wfe_error *err)
{
  struct ek_ctx ctx = {host, err};
  int rc = ek_create(host, config_json, config_len, ARGO_CONFIG,
                     sizeof(struct argo_engine), set_defaults, apply_config_key,
                     out, err);
  if (rc == WFE_OK)
    rc = take_templates(&ctx, *out, config_json, config_len);
  if (rc != WFE_OK) {
    argo_destroy(*out);
    *out = NULL;
  }
  return rc;
}

/* Stop, not Terminate: the workflow-controller stops the running pods and
 * starts no more steps, but still runs the Workflow's exit handlers. */
static int32_t argo_cancel(void *instance, const char *run_json, size_t run_len,
                           wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  int rc = ek_ctx_open(instance, err, &ctx);
  return rc ? rc
            : ek_emit_text(&ctx, "{\"spec\":{\"shutdown\":\"Stop\"}}", out);
}

/* A copy of the map (the instance's own object is shared by concurrent
 * operations and is not handed out). */
static json_object *new_templates(const struct argo_engine *engine)
{
  json_object *templates = json_object_new_object();
  if (!templates || !engine->templates)
    return templates;
  json_object_object_foreach(engine->templates, workflow_id, name)
  {
    if (ek_add_string(templates, workflow_id, json_object_get_string(name))) {
      json_object_put(templates);
      return NULL;
    }
  }
  return templates;
}

static json_object *new_config(const struct argo_engine *engine)
{
  json_object *config = json_object_new_object();
  if (config && (ek_add_int(config, "activeDeadlineSeconds",
                            engine->active_deadline_seconds) ||
                 ek_add_bool(config, "clusterScope", engine->cluster_scope) ||
                 ek_add(config, "templates", new_templates(engine)))) {
    json_object_put(config);
    return NULL;
  }
  return config;
}

static json_object *new_description(const struct argo_engine *engine)
{
  json_object *description = json_object_new_object();
  if (description &&
      (ek_add_string(description, "name", ARGO_ENGINE_NAME) ||
       ek_add_string(description, "version", ARGO_VERSION) ||
       ek_add_string(description, "description", ARGO_DESCRIPTION) ||
       ek_add(description, "config", new_config(engine)))) {
    json_object_put(description);
    return NULL;
  }
  return description;
}

static int32_t argo_describe(void *instance, wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  int rc = ek_ctx_open(instance, err, &ctx);
  return rc ? rc : ek_emit_owned(&ctx, new_description(instance), out);
}

/* Workflows have no status subresource: the workflow-controller writes the
 * whole object. */
static const wfe_run_type workflow_run_type = {
    .struct_size = sizeof(wfe_run_type),
    .api_version = ARGO_RUN_API_VERSION,
    .kind = ARGO_RUN_KIND,
    .resource = ARGO_RUN_RESOURCE,
    .has_status_subresource = 0,
};

static const wfe_engine argo_engine = {
    .struct_size = sizeof(wfe_engine),
    .name = ARGO_ENGINE_NAME,
    .version = ARGO_VERSION,
    .description = ARGO_DESCRIPTION,
    .run_type = &workflow_run_type,
    .create = argo_create,
    .destroy = argo_destroy,
    .validate = argo_validate,
    .render = argo_render,
    .interpret = argo_interpret,
    .cancel = argo_cancel,
    .describe = argo_describe,
    .get_extension = NULL,
};

static const wfe_engine *const engines[] = {&argo_engine};

WFE_PLUGIN_DEFINE("argo", ARGO_VERSION, NULL, NULL, engines)
