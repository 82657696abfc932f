/*
 * The Argo Workflows engine plugin. It loads and dispatches through the same
 * ABI as every engine, reads a Workflow's status and writes its stop patch,
 * but it cannot render yet: Argo cannot run a Pipeline bundle, and mapping
 * WorkflowExecutions onto WorkflowTemplates is not built. Any execution asking
 * for it fails with a clear, permanent NotImplemented error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <wfe/engine.h>

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

static int fail(const wfe_host *host, wfe_error *err, int code,
                const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int fail(const wfe_host *host, wfe_error *err, int code,
                const char *reason, const char *field, const char *fmt, ...)
{
  char message[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof(message), fmt, ap);
  va_end(ap);
  host->error_set(err, code, 0, reason, field, message);
  return code;
}

static int nomem(const wfe_host *host, wfe_error *err)
{
  return fail(host, err, WFE_E_NOMEM, "OutOfMemory", NULL,
              "the argo engine ran out of memory");
}

/* Parses `len` bytes of JSON text that must hold one object. */
static int parse_object(const wfe_host *host, wfe_error *err, const char *text,
                        size_t len, const char *what, json_object **out)
{
  *out = NULL;
  if (!text || len == 0 || len > (size_t)INT32_MAX || memchr(text, '\0', len))
    return fail(host, err, WFE_E_INVALID, "InvalidJSON", NULL,
                "the %s is not valid JSON text", what);
  json_tokener *tok = json_tokener_new_ex(128);
  if (!tok)
    return nomem(host, err);
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
                                  JSON_TOKENER_ALLOW_TRAILING_CHARS);
  json_object *document = json_tokener_parse_ex(tok, text, (int)len);
  int ok = json_tokener_get_error(tok) == json_tokener_success;
  for (size_t i = json_tokener_get_parse_end(tok); ok && i < len; i++)
    ok =
        text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r';
  json_tokener_free(tok);
  if (!ok || !json_object_is_type(document, json_type_object)) {
    json_object_put(document);
    return fail(host, err, WFE_E_INVALID, "InvalidJSON", NULL,
                "the %s must be a JSON object", what);
  }
  *out = document;
  return WFE_OK;
}

static int emit(const wfe_host *host, wfe_error *err, json_object *document,
                wfe_buf *out)
{
  size_t len = 0;
  const char *text = json_object_to_json_string_length(
      document, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  if (!text || host->buf_append(out, text, len) != WFE_OK)
    return nomem(host, err);
  return WFE_OK;
}

static int32_t argo_create(const wfe_host *host, const char *config_json,
                           size_t config_len, void **out, wfe_error *err)
{
  json_object *config = NULL;
  *out = NULL;
  if (config_json && config_len) {
    int rc = parse_object(host, err, config_json, config_len,
                          "argo engine configuration", &config);
    if (rc != WFE_OK)
      return rc;
    json_object_object_foreach(config, key, value)
    {
      (void)value;
      rc = fail(host, err, WFE_E_INVALID, "UnknownConfigKey", key,
                "argo engine configuration: unknown key \"%.200s\" (the argo "
                "engine takes no configuration)",
                key);
      json_object_put(config);
      return rc;
    }
    json_object_put(config);
  }
  struct argo_engine *engine = calloc(1, sizeof(*engine));
  if (!engine)
    return nomem(host, err);
  engine->host = host;
  *out = engine;
  return WFE_OK;
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

static int check_parameters(const wfe_host *host, wfe_error *err,
                            json_object *execution)
{
  json_object *spec = json_object_object_get(execution, "spec");
  json_object *parameters = json_object_object_get(spec, "parameters");
  if (!parameters)
    return WFE_OK;
  if (!json_object_is_type(parameters, json_type_object))
    return fail(host, err, WFE_E_INVALID, "InvalidField", "spec.parameters",
                "spec.parameters must be an object");
  json_object_object_foreach(parameters, key, value)
  {
    char field[300];
    snprintf(field, sizeof(field), "spec.parameters.%.250s", key);
    if (!is_argo_param_name(key))
      return fail(host, err, WFE_E_INVALID, "InvalidParameterName", field,
                  "%s: Argo parameter names contain only letters, digits, "
                  "'-' and '_'",
                  field);
    if (!json_object_is_type(value, json_type_string))
      return fail(host, err, WFE_E_INVALID, "InvalidParameterValue", field,
                  "%s must be a string", field);
  }
  return WFE_OK;
}

static int32_t argo_validate(void *instance, const char *execution_json,
                             size_t execution_len, wfe_error *err)
{
  const struct argo_engine *engine = instance;
  if (!engine)
    return WFE_E_INTERNAL;
  json_object *execution;
  int rc = parse_object(engine->host, err, execution_json, execution_len,
                        "WorkflowExecution", &execution);
  if (rc == WFE_OK)
    rc = check_parameters(engine->host, err, execution);
  json_object_put(execution);
  return rc;
}

static int32_t argo_render(void *instance, const char *execution_json,
                           size_t execution_len, wfe_buf *out, wfe_error *err)
{
  const struct argo_engine *engine = instance;
  if (!engine)
    return WFE_E_INTERNAL;
  return fail(engine->host, err, WFE_E_UNSUPPORTED, "NotImplemented",
              "spec.workflowRef.engine",
              "the argo engine is not implemented yet: WorkflowExecutions "
              "cannot run on Argo Workflows in this release (use engine "
              "\"tekton\")");
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

/* A string member of `object` (NULL when absent); -1 when of another type. */
static int get_string(json_object *object, const char *key, const char **out)
{
  json_object *value = json_object_object_get(object, key);
  *out = NULL;
  if (!value)
    return 0;
  if (!json_object_is_type(value, json_type_string))
    return -1;
  *out = json_object_get_string(value);
  return 0;
}

static int add_string(json_object *object, const char *key, const char *value)
{
  if (!value)
    return 0;
  json_object *string = json_object_new_string(value);
  if (!string)
    return -1;
  if (json_object_object_add(object, key, string) != 0) {
    json_object_put(string);
    return -1;
  }
  return 0;
}

static int interpret_status(const wfe_host *host, wfe_error *err,
                            json_object *status, wfe_buf *out)
{
  static const char *const keys[] = {"phase", "message", "startedAt",
                                     "finishedAt"};
  const char *values[4];
  for (size_t i = 0; i < 4; i++) {
    if (get_string(status, keys[i], &values[i]) == 0)
      continue;
    char field[32];
    snprintf(field, sizeof(field), "status.%s", keys[i]);
    return fail(host, err, WFE_E_INVALID, "InvalidField", field,
                "%s must be a string", field);
  }
  struct argo_verdict verdict;
  if (classify(values[0], values[1], &verdict) != 0)
    return fail(host, err, WFE_E_INVALID, "InvalidField", "status.phase",
                "status.phase \"%.100s\" is not an Argo Workflow phase",
                values[0]);
  json_object *result = json_object_new_object();
  int failed = !result || add_string(result, "phase", verdict.phase) ||
               add_string(result, "outcome", verdict.outcome) ||
               add_string(result, "reason", verdict.reason) ||
               add_string(result, "message", values[1]) ||
               add_string(result, "startTime", values[2]) ||
               add_string(result, "completionTime", values[3]);
  int rc = failed ? nomem(host, err) : emit(host, err, result, out);
  json_object_put(result);
  return rc;
}

static int32_t argo_interpret(void *instance, const char *run_json,
                              size_t run_len, wfe_buf *out, wfe_error *err)
{
  const struct argo_engine *engine = instance;
  if (!engine)
    return WFE_E_INTERNAL;
  json_object *workflow;
  int rc =
      parse_object(engine->host, err, run_json, run_len, "Workflow", &workflow);
  if (rc != WFE_OK)
    return rc;
  json_object *status = json_object_object_get(workflow, "status");
  if (status && !json_object_is_type(status, json_type_object))
    rc = fail(engine->host, err, WFE_E_INVALID, "InvalidField", "status",
              "status must be an object");
  else
    rc = interpret_status(engine->host, err, status, out);
  json_object_put(workflow);
  return rc;
}

/* Stop, not Terminate: Argo still runs the workflow's exit handlers. */
static int32_t argo_cancel(void *instance, const char *run_json, size_t run_len,
                           wfe_buf *out, wfe_error *err)
{
  static const char patch[] = "{\"spec\":{\"shutdown\":\"Stop\"}}";
  const struct argo_engine *engine = instance;
  if (!engine)
    return WFE_E_INTERNAL;
  if (engine->host->buf_append(out, patch, sizeof(patch) - 1) != WFE_OK)
    return nomem(engine->host, err);
  return WFE_OK;
}

static int32_t argo_describe(void *instance, wfe_buf *out, wfe_error *err)
{
  static const char description[] =
      "{\"name\":\"" ARGO_ENGINE_NAME "\",\"version\":\"" ARGO_VERSION
      "\",\"description\":\"" ARGO_DESCRIPTION "\",\"config\":{}}";
  const struct argo_engine *engine = instance;
  if (!engine)
    return WFE_E_INTERNAL;
  if (engine->host->buf_append(out, description, sizeof(description) - 1) !=
      WFE_OK)
    return nomem(engine->host, err);
  return WFE_OK;
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
