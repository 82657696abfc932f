/*
 * An example third-party engine, built out of tree against the installed
 * <wfe/engine.h> and json-c only. Its "run object" is a ConfigMap, which
 * shows that the core creates and watches whatever an engine declares: it
 * carries the image and, in data.phase, how the run ends ("Done", "Failed").
 * It keeps the whole contract, as wfe-engine-check checks it with the
 * vectors in conformance/: unknown configuration keys are refused by name,
 * every failure fills its error record, the run name is derived from the
 * execution's identity, and nothing is shared between calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <wfe/engine.h>

static const wfe_run_type run_type = {
    sizeof(wfe_run_type), "v1", "ConfigMap", "configmaps", 0,
};

/* Set by create, which the host calls before any operation. */
static const wfe_host *host_table;

static int32_t fail(wfe_error *err, int32_t code, const char *reason,
                    const char *field, const char *message)
{
  host_table->error_set(err, code, 0, reason, field, message);
  return code;
}

/* `len` bytes of JSON as an object, or NULL. json-c's tokener stops at its
 * default depth (32), so deep input is refused, not walked. */
static json_object *parse_object(const char *json, size_t len)
{
  json_tokener *tok = json_tokener_new();
  json_object *doc = NULL;
  if (tok && len <= INT32_MAX)
    doc = json_tokener_parse_ex(tok, json, (int)len);
  if (doc && (json_tokener_get_error(tok) != json_tokener_success ||
              !json_object_is_type(doc, json_type_object))) {
    json_object_put(doc);
    doc = NULL;
  }
  json_tokener_free(tok);
  return doc;
}

/* The string at obj.a.b (b may be NULL), or NULL. */
static const char *get_string(json_object *obj, const char *a, const char *b)
{
  json_object *v = NULL;
  if (!json_object_object_get_ex(obj, a, &v) ||
      (b && !json_object_object_get_ex(v, b, &v)) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static int32_t example_create(const wfe_host *host, const char *config,
                              size_t config_len, void **out, wfe_error *err)
{
  host_table = host;
  *out = NULL; /* no state */
  json_object *doc = parse_object(config, config_len);
  if (!doc)
    return fail(err, WFE_E_INVALID, "InvalidConfig", NULL,
                "the configuration is not a JSON object");
  int32_t rc = WFE_OK;
  json_object_object_foreach(doc, key, value)
  {
    char message[200];
    (void)value;
    snprintf(message, sizeof(message), "unknown configuration key %.150s",
             key); /* this engine has no keys */
    rc = fail(err, WFE_E_INVALID, "UnknownConfigKey", key, message);
    break;
  }
  json_object_put(doc);
  return rc;
}

static void example_destroy(void *instance)
{
  (void)instance;
}

/* What this engine needs of an execution. */
static int32_t check_execution(json_object *doc, wfe_error *err)
{
  json_object *spec = NULL, *params = NULL;
  if (!get_string(doc, "metadata", "name") ||
      !get_string(doc, "metadata", "namespace"))
    return fail(err, WFE_E_INVALID, "MissingField", "metadata",
                "metadata.name and metadata.namespace must be strings");
  if (!json_object_object_get_ex(doc, "spec", &spec) ||
      !get_string(spec, "workflowRef", "containerImage"))
    return fail(err, WFE_E_INVALID, "MissingField",
                "spec.workflowRef.containerImage",
                "spec.workflowRef.containerImage must be a string");
  if (json_object_object_get_ex(spec, "parameters", &params) &&
      !json_object_is_type(params, json_type_object))
    return fail(err, WFE_E_INVALID, "InvalidField", "spec.parameters",
                "spec.parameters must be an object");
  return WFE_OK;
}

static int32_t example_validate(void *instance, const char *json, size_t len,
                                wfe_error *err)
{
  (void)instance;
  json_object *doc = parse_object(json, len);
  if (!doc)
    return fail(err, WFE_E_INVALID, "InvalidJSON", NULL,
                "the execution is not a JSON object");
  int32_t rc = check_execution(doc, err);
  json_object_put(doc);
  return rc;
}

/* "example-" and 16 hex digits of SHA-256 of "namespace/name/uid": the
 * same execution always gets the same run, a recreated one (new uid) a new
 * run. Returns 0, or -1 when memory ran out. */
static int run_name(json_object *doc, char out[25])
{
  const char *ns = get_string(doc, "metadata", "namespace");
  const char *name = get_string(doc, "metadata", "name");
  const char *uid = get_string(doc, "metadata", "uid");
  if (!uid)
    uid = "";
  size_t len = strlen(ns) + strlen(name) + strlen(uid) + 2;
  char *identity = malloc(len + 1);
  if (!identity)
    return -1;
  snprintf(identity, len + 1, "%s/%s/%s", ns, name, uid);
  char hex[65];
  host_table->sha256_hex(identity, len, hex);
  free(identity);
  snprintf(out, 25, "example-%.16s", hex);
  return 0;
}

static int32_t append_run(json_object *doc, wfe_buf *out, wfe_error *err)
{
  char name[25];
  if (run_name(doc, name))
    return fail(err, WFE_E_NOMEM, "OutOfMemory", NULL, "out of memory");
  json_object *image = json_object_new_string(get_string(
      json_object_object_get(doc, "spec"), "workflowRef", "containerImage"));
  json_object *run = json_object_new_object();
  json_object *metadata = json_object_new_object();
  json_object *data = json_object_new_object();
  const char *text = NULL;
  if (image && run && metadata && data) {
    json_object_object_add(run, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(run, "kind", json_object_new_string("ConfigMap"));
    json_object_object_add(metadata, "name", json_object_new_string(name));
    json_object_object_add(run, "metadata", metadata);
    json_object_object_add(data, "image", image);
    json_object_object_add(data, "phase", json_object_new_string(""));
    json_object_object_add(run, "data", data);
    image = metadata = data = NULL; /* owned by run now */
    text = json_object_to_json_string_ext(
        run, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  }
  int32_t rc =
      text && host_table->buf_append(out, text, strlen(text)) == WFE_OK
          ? WFE_OK
          : fail(err, WFE_E_NOMEM, "OutOfMemory", NULL, "out of memory");
  json_object_put(image);
  json_object_put(metadata);
  json_object_put(data);
  json_object_put(run);
  return rc;
}

static int32_t example_render(void *instance, const char *json, size_t len,
                              wfe_buf *out, wfe_error *err)
{
  (void)instance;
  json_object *doc = parse_object(json, len);
  if (!doc)
    return fail(err, WFE_E_INVALID, "InvalidJSON", NULL,
                "the execution is not a JSON object");
  int32_t rc = check_execution(doc, err);
  if (rc == WFE_OK)
    rc = append_run(doc, out, err);
  json_object_put(doc);
  return rc;
}

static int32_t example_interpret(void *instance, const char *json, size_t len,
                                 wfe_buf *out, wfe_error *err)
{
  static const char done[] =
      "{\"phase\":\"Completed\",\"outcome\":\"Success\",\"reason\":\"Done\"}";
  static const char failed[] =
      "{\"phase\":\"Failed\",\"outcome\":\"Failed\",\"reason\":\"Failed\","
      "\"message\":\"the workflow failed\"}";
  static const char running[] =
      "{\"phase\":\"Running\",\"reason\":\"Running\"}";
  (void)instance;
  json_object *doc = parse_object(json, len);
  if (!doc)
    return fail(err, WFE_E_INVALID, "InvalidJSON", NULL,
                "the run is not a JSON object");
  const char *phase = get_string(doc, "data", "phase");
  const char *answer = !phase                         ? running
                       : strcmp(phase, "Done") == 0   ? done
                       : strcmp(phase, "Failed") == 0 ? failed
                                                      : running;
  json_object_put(doc);
  if (host_table->buf_append(out, answer, strlen(answer)) != WFE_OK)
    return fail(err, WFE_E_NOMEM, "OutOfMemory", NULL, "out of memory");
  return WFE_OK;
}

static int32_t example_cancel(void *instance, const char *json, size_t len,
                              wfe_buf *out, wfe_error *err)
{
  (void)instance;
  (void)json;
  (void)len;
  (void)out;
  return fail(err, WFE_E_UNSUPPORTED, "NotCancellable", NULL,
              "example runs cannot be cancelled");
}

static const wfe_engine example_engine = {
    sizeof(wfe_engine),
    "example",
    "1.0.0",
    "An out-of-tree example engine",
    &run_type,
    example_create,
    example_destroy,
    example_validate,
    example_render,
    example_interpret,
    example_cancel,
    NULL,
    NULL,
};

static const wfe_engine *const engines[] = {&example_engine};

WFE_PLUGIN_DEFINE("example", "1.0.0", NULL, NULL, engines)
