/*
 * The Argo Workflows engine plugin. It loads and dispatches through the same
 * ABI as every engine, reads a Workflow's status and writes its stop patch,
 * but it cannot render yet: Argo cannot run a Pipeline bundle, and mapping
 * WorkflowExecutions onto WorkflowTemplates is not built. Any execution asking
 * for it fails with a clear, permanent NotImplemented error.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <wfe/engine.h>

#include "engine_kit.h"

#ifndef ARGO_VERSION
#define ARGO_VERSION "0.0.0"
#endif

#define ARGO_ENGINE_NAME "argo"
#define ARGO_DESCRIPTION                                                       \
  "Runs WorkflowExecutions as Argo Workflows (not implemented yet: render "    \
  "fails with NotImplemented)"

/* An instance holds the host table only: the engine takes no configuration. */
struct argo_engine {
  const wfe_host *host;
};

static int refuse_config_key(const struct ek_ctx *ctx, void *instance,
                             const char *key, json_object *value)
{
  return ek_fail(ctx, WFE_E_INVALID, "UnknownConfigKey", key,
                 "argo engine configuration: unknown key \"%.200s\" (the argo "
                 "engine takes no configuration)",
                 key);
}

static int32_t argo_create(const wfe_host *host, const char *config_json,
                           size_t config_len, void **out, wfe_error *err)
{
  return ek_create(host, config_json, config_len, "argo engine configuration",
                   sizeof(struct argo_engine), NULL, refuse_config_key, out,
                   err);
}

static void argo_destroy(void *instance)
{
  free(instance);
}

/* Argo's parameter names: ^[-a-zA-Z0-9_]+$. */
static int is_argo_param_name(const char *name)
{
  if (!*name)
    return 0;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
      return 0;
  return 1;
}

static int check_parameter(const struct ek_ctx *ctx, const char *name,
                           json_object *value)
{
  char *field = ek_parameter_field(name);
  if (!field)
    return ek_nomem(ctx);
  int rc = WFE_OK;
  if (!is_argo_param_name(name))
    rc = ek_fail(ctx, WFE_E_INVALID, "InvalidParameterName", field,
                 "%s: Argo parameter names contain only letters, digits, "
                 "'-' and '_'",
                 field);
  else if (!json_object_is_type(value, json_type_string))
    rc = ek_fail(ctx, WFE_E_INVALID, "InvalidParameterValue", field,
                 "%s must be a string", field);
  free(field);
  return rc;
}

static int check_parameters(const struct ek_ctx *ctx, json_object *execution)
{
  json_object *spec, *parameters;
  int rc = ek_member(ctx, execution, "", "spec", json_type_object, 0, &spec);
  if (rc == WFE_OK)
    rc = ek_member(ctx, spec, "spec", "parameters", json_type_object, 0,
                   &parameters);
  if (rc != WFE_OK || !parameters)
    return rc;
  json_object_object_foreach(parameters, key, value)
  {
    rc = check_parameter(ctx, key, value);
    if (rc != WFE_OK)
      return rc;
  }
  return WFE_OK;
}

static int32_t argo_validate(void *instance, const char *execution_json,
                             size_t execution_len, wfe_error *err)
{
  struct ek_ctx ctx;
  json_object *execution = NULL;
  int rc = ek_ctx_open(instance, err, &ctx);
  if (rc == WFE_OK)
    rc = ek_parse(&ctx, execution_json, execution_len, "WorkflowExecution",
                  "InvalidJSON", &execution);
  if (rc == WFE_OK)
    rc = check_parameters(&ctx, execution);
  json_object_put(execution);
  return rc;
}

static int32_t argo_render(void *instance, const char *execution_json,
                           size_t execution_len, wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  int rc = ek_ctx_open(instance, err, &ctx);
  return rc ? rc
            : ek_fail(&ctx, WFE_E_UNSUPPORTED, "NotImplemented",
                      "spec.workflowRef.engine",
                      "the argo engine is not implemented yet: "
                      "WorkflowExecutions cannot run on Argo Workflows in this "
                      "release (use engine \"tekton\")");
}

/* ---- interpret ---------------------------------------------------------- */

/* Argo's deadline messages: the workflow's activeDeadlineSeconds, a step's
 * deadline, a retry strategy's maxDuration, a pod's activeDeadlineSeconds. */
static int is_deadline_message(const char *message)
{
  static const char *const markers[] = {
      "activeDeadlineSeconds",
      "exceeded its deadline",
      "Max duration limit exceeded",
      "longer than the specified deadline",
  };
  for (size_t i = 0; message && i < sizeof(markers) / sizeof(markers[0]); i++)
    if (strstr(message, markers[i]))
      return 1;
  return 0;
}

struct argo_verdict {
  const char *phase;
  const char *outcome; /* NULL while running */
  const char *reason;
};

/* Maps status.phase; returns -1 for a phase Argo does not have. */
static int classify(const char *phase, const char *message,
                    struct argo_verdict *out)
{
  if (!phase || !*phase || strcmp(phase, "Pending") == 0)
    *out = (struct argo_verdict){"Running", NULL, "Pending"};
  else if (strcmp(phase, "Running") == 0)
    *out = (struct argo_verdict){"Running", NULL, "Running"};
  else if (strcmp(phase, "Succeeded") == 0)
    *out = (struct argo_verdict){"Completed", "Success", "Succeeded"};
  else if (strcmp(phase, "Failed") == 0 || strcmp(phase, "Error") == 0)
    *out = (struct argo_verdict){
        "Failed", is_deadline_message(message) ? "Timeout" : "Failed", phase};
  else
    return -1;
  return 0;
}

/* The status members interpret reads, each a string or absent. */
struct argo_status {
  const char *phase;
  const char *message;
  const char *started_at;
  const char *finished_at;
};

static int read_status(const struct ek_ctx *ctx, json_object *workflow,
                       struct argo_status *out)
{
  json_object *status;
  int rc = ek_member(ctx, workflow, "", "status", json_type_object, 0, &status);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, status, "status", "phase", 0, &out->phase);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, status, "status", "message", 0, &out->message);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, status, "status", "startedAt", 0,
                          &out->started_at);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, status, "status", "finishedAt", 0,
                          &out->finished_at);
  return rc;
}

static json_object *new_result(const struct argo_verdict *verdict,
                               const struct argo_status *status)
{
  json_object *result = json_object_new_object();
  if (result &&
      (ek_add_string(result, "phase", verdict->phase) ||
       ek_add_optional(result, "outcome", verdict->outcome) ||
       ek_add_optional(result, "reason", verdict->reason) ||
       ek_add_optional(result, "message", status->message) ||
       ek_add_optional(result, "startTime", status->started_at) ||
       ek_add_optional(result, "completionTime", status->finished_at))) {
    json_object_put(result);
    return NULL;
  }
  return result;
}

static int interpret_workflow(const struct ek_ctx *ctx, const void *instance,
                              json_object *workflow, json_object **out)
{
  struct argo_status status = {NULL, NULL, NULL, NULL};
  struct argo_verdict verdict;
  int rc = read_status(ctx, workflow, &status);
  if (rc != WFE_OK)
    return rc;
  if (classify(status.phase, status.message, &verdict) != 0)
    return ek_fail(ctx, WFE_E_INVALID, "InvalidField", "status.phase",
                   "status.phase \"%.100s\" is not an Argo Workflow phase",
                   status.phase);
  *out = new_result(&verdict, &status);
  return *out ? WFE_OK : ek_nomem(ctx);
}

static int32_t argo_interpret(void *instance, const char *run_json,
                              size_t run_len, wfe_buf *out, wfe_error *err)
{
  return ek_answer(instance, run_json, run_len, "Workflow", "InvalidJSON",
                   interpret_workflow, out, err);
}

/* Stop, not Terminate: Argo still runs the workflow's exit handlers. */
static int32_t argo_cancel(void *instance, const char *run_json, size_t run_len,
                           wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  int rc = ek_ctx_open(instance, err, &ctx);
  return rc ? rc
            : ek_emit_text(&ctx, "{\"spec\":{\"shutdown\":\"Stop\"}}", out);
}

static int32_t argo_describe(void *instance, wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  int rc = ek_ctx_open(instance, err, &ctx);
  return rc ? rc
            : ek_emit_text(&ctx,
                           "{\"name\":\"" ARGO_ENGINE_NAME
                           "\",\"version\":\"" ARGO_VERSION
                           "\",\"description\":\"" ARGO_DESCRIPTION
                           "\",\"config\":{}}",
                           out);
}

static const wfe_run_type workflow_run_type = {
    .struct_size = sizeof(wfe_run_type),
    .api_version = "argoproj.io/v1alpha1",
    .kind = "Workflow",
    .resource = "workflows",
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
