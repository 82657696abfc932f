/*
 * echo-c: the template's engine, a starting point for your own. It is the
 * echo engine of engines/go and engines/rust, in C: its run object is a
 * ConfigMap holding the execution's workflow and parameters, and whoever
 * carries the run out writes its state into data.phase (README.md). Built
 * against the installed <wfe/engine.h> and json-c only.
 *
 * To make it yours: rename the engine (ENGINE_NAME), choose your run object
 * (run_type, render), read its state (interpret), and keep conformance/ in
 * step; `./ci.sh` tells you what the controller will think of it.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <wfe/engine.h>

#define ENGINE_NAME "echo-c"
#define ENGINE_VERSION "1.0.0"

static const wfe_run_type run_type = {
    sizeof(wfe_run_type), "v1", "ConfigMap", "configmaps", 0,
};

struct echo {
  const wfe_host *host;
  char phase_key[254];
};

/* ---- small helpers ------------------------------------------------------ */

static int32_t fail(const struct echo *e, wfe_error *err, int32_t code,
                    const char *reason, const char *field, const char *message)
{
  e->host->error_set(err, code, 0, reason, field, message);
  return code;
}

/* A ConfigMap data key: [-._a-zA-Z0-9], 1 to 253 characters. */
static int is_data_key(const char *key)
{
  size_t n = strlen(key);
  if (n == 0 || n > 253)
    return 0;
  for (const char *p = key; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
      return 0;
  return 1;
}

/* The member at a dotted path, or NULL. */
static json_object *at(json_object *doc, const char *path)
{
  char part[128];
  while (doc && *path) {
    size_t n = strcspn(path, ".");
    if (n >= sizeof(part))
      return NULL;
    memcpy(part, path, n);
    part[n] = '\0';
    if (!json_object_is_type(doc, json_type_object) ||
        !json_object_object_get_ex(doc, part, &doc))
      return NULL;
    path += n + (path[n] == '.');
  }
  return doc;
}

/* The document, or NULL when it is not JSON (or nested deeper than 64). */
static json_object *parse(const char *json, size_t len)
{
  json_tokener *tok = len <= INT_MAX ? json_tokener_new_ex(64) : NULL;
  if (!tok)
    return NULL;
  json_object *doc = json_tokener_parse_ex(tok, json, (int)len);
  if (json_tokener_get_error(tok) != json_tokener_success ||
      json_tokener_get_parse_end(tok) != len) {
    json_object_put(doc);
    doc = NULL;
  }
  json_tokener_free(tok);
  return doc;
}

static int32_t emit(const struct echo *e, json_object *doc, wfe_buf *out,
                    wfe_error *err)
{
  size_t len = 0;
  const char *text =
      doc ? json_object_to_json_string_length(doc, JSON_C_TO_STRING_PLAIN, &len)
          : NULL;
  int32_t rc = text && e->host->buf_append(out, text, len) == WFE_OK
                   ? WFE_OK
                   : fail(e, err, WFE_E_NOMEM, "OutOfMemory", NULL, NULL);
  json_object_put(doc);
  return rc;
}

/* ---- create ------------------------------------------------------------- */

static int32_t echo_create(const wfe_host *host, const char *config,
                           size_t config_len, void **out, wfe_error *err)
{
  struct echo probe = {host, "phase"};
  json_object *doc = config_len ? parse(config, config_len) : NULL;
  if (config_len && !json_object_is_type(doc, json_type_object)) {
    json_object_put(doc);
    return fail(&probe, err, WFE_E_INVALID, "InvalidConfig", NULL,
                "the configuration is not a JSON object");
  }
  int32_t rc = WFE_OK;
  if (doc) {
    json_object_object_foreach(doc, key, value)
    {
      char message[512];
      if (strcmp(key, "phaseKey") != 0) {
        snprintf(message, sizeof(message),
                 "unknown configuration key \"%.200s\" (known: phaseKey)", key);
        rc = fail(&probe, err, WFE_E_INVALID, "UnknownConfigKey", key, message);
        break;
      }
      const char *k = json_object_get_string(value);
      if (!json_object_is_type(value, json_type_string) || !is_data_key(k)) {
        rc = fail(&probe, err, WFE_E_INVALID, "InvalidConfig", key,
                  "phaseKey must be a ConfigMap data key ([-._a-zA-Z0-9], 1 "
                  "to 253)");
        break;
      }
      strcpy(probe.phase_key, k); /* fits: at most 253 bytes */
    }
  }
  json_object_put(doc);
  if (rc != WFE_OK)
    return rc;
  struct echo *e = malloc(sizeof(*e));
  if (!e)
    return fail(&probe, err, WFE_E_NOMEM, "OutOfMemory", NULL, NULL);
  *e = probe;
  *out = e;
  return WFE_OK;
}

static void echo_destroy(void *instance)
{
  free(instance);
}

/* ---- validate and render ------------------------------------------------- */

/* metadata.uid too, when present: a file rendered offline has none yet. */
static const char *const required[] = {
    "metadata.name",
    "metadata.namespace",
    "spec.workflowRef.workflowId",
};

/* Checks what the engine reads; WFE_OK, or the error naming the field. */
static int32_t check(const struct echo *e, json_object *x, wfe_error *err)
{
  char message[512];
  if (!json_object_is_type(x, json_type_object))
    return fail(e, err, WFE_E_INVALID, "MalformedExecution", NULL,
                "the WorkflowExecution is not a JSON object");
  for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
    json_object *v = at(x, required[i]);
    if (v && !json_object_is_type(v, json_type_string)) {
      snprintf(message, sizeof(message), "%s must be a string", required[i]);
      return fail(e, err, WFE_E_INVALID, "MalformedExecution", required[i],
                  message);
    }
    if (!v || !*json_object_get_string(v)) {
      snprintf(message, sizeof(message), "%s is required", required[i]);
      return fail(e, err, WFE_E_INVALID, "MissingField", required[i], message);
    }
  }
  json_object *uid = at(x, "metadata.uid");
  if (uid && !json_object_is_type(uid, json_type_string))
    return fail(e, err, WFE_E_INVALID, "MalformedExecution", "metadata.uid",
                "metadata.uid must be a string");
  json_object *params = at(x, "spec.parameters");
  if (params && !json_object_is_type(params, json_type_object))
    return fail(e, err, WFE_E_INVALID, "InvalidParameter", "spec.parameters",
                "spec.parameters must be an object");
  if (params) {
    json_object_object_foreach(params, name, value)
    {
      char field[300], key[300];
      snprintf(field, sizeof(field), "spec.parameters.%.200s", name);
      snprintf(key, sizeof(key), "param.%.250s", name);
      if (strlen(name) > 200 || !is_data_key(key))
        return fail(e, err, WFE_E_INVALID, "InvalidParameterName", field,
                    "a parameter name must be a ConfigMap data key after "
                    "\"param.\"");
      if (!json_object_is_type(value, json_type_string)) {
        snprintf(message, sizeof(message), "%s must be a string", field);
        return fail(e, err, WFE_E_INVALID, "InvalidParameter", field, message);
      }
    }
  }
  return WFE_OK;
}

static int32_t echo_validate(void *instance, const char *json, size_t len,
                             wfe_error *err)
{
  const struct echo *e = instance;
  json_object *x = parse(json, len);
  int32_t rc = x ? check(e, x, err)
                 : fail(e, err, WFE_E_INVALID, "MalformedExecution", NULL,
                        "the WorkflowExecution is not JSON");
  json_object_put(x);
  return rc;
}

static const char *string_at(json_object *doc, const char *path)
{
  return json_object_get_string(at(doc, path));
}

/* The execution's name as a DNS label, cut to leave room for ten hex digits
 * of the SHA-256 of namespace/name/uid. */
static int run_name(const struct echo *e, json_object *x, char out[64])
{
  const char *name = string_at(x, "metadata.name");
  const char *ns = string_at(x, "metadata.namespace");
  const char *uid = at(x, "metadata.uid") ? string_at(x, "metadata.uid") : "";
  size_t size = strlen(ns) + strlen(name) + strlen(uid) + 3;
  char *id = malloc(size);
  if (!id)
    return -1;
  snprintf(id, size, "%s/%s/%s", ns, name, uid);
  char hex[65];
  e->host->sha256_hex(id, strlen(id), hex);
  free(id);
  size_t n = 0;
  for (; name[n] && n < 52; n++)
    out[n] = name[n] == '.' ? '-' : (char)tolower((unsigned char)name[n]);
  while (n && out[n - 1] == '-')
    n--;
  snprintf(out + n, 64 - n, "-%.10s", hex);
  return 0;
}

static int32_t echo_render(void *instance, const char *json, size_t len,
                           wfe_buf *out, wfe_error *err)
{
  const struct echo *e = instance;
  json_object *x = parse(json, len);
  int32_t rc = x ? check(e, x, err)
                 : fail(e, err, WFE_E_INVALID, "MalformedExecution", NULL,
                        "the WorkflowExecution is not JSON");
  char name[64];
  if (rc == WFE_OK && run_name(e, x, name))
    rc = fail(e, err, WFE_E_NOMEM, "OutOfMemory", NULL, NULL);
  if (rc != WFE_OK) {
    json_object_put(x);
    return rc;
  }
  json_object *run = json_object_new_object(), *meta = json_object_new_object(),
              *data = json_object_new_object();
  json_object_object_add(meta, "name", json_object_new_string(name));
  json_object_object_add(
      meta, "namespace",
      json_object_new_string(string_at(x, "metadata.namespace")));
  json_object_object_add(
      data, "workflowId",
      json_object_new_string(string_at(x, "spec.workflowRef.workflowId")));
  json_object_object_add(data, e->phase_key, json_object_new_string(""));
  json_object *params = at(x, "spec.parameters");
  if (params) {
    json_object_object_foreach(params, pname, value)
    {
      char key[300];
      snprintf(key, sizeof(key), "param.%s", pname); /* checked: fits */
      json_object_object_add(data, key, json_object_get(value));
    }
  }
  json_object_object_add(run, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(run, "kind", json_object_new_string("ConfigMap"));
  json_object_object_add(run, "metadata", meta);
  json_object_object_add(run, "data", data);
  json_object_put(x);
  return emit(e, run, out, err);
}

/* ---- interpret and cancel -------------------------------------------------
 */

static int32_t echo_interpret(void *instance, const char *json, size_t len,
                              wfe_buf *out, wfe_error *err)
{
  const struct echo *e = instance;
  json_object *run = parse(json, len);
  json_object *data = run ? at(run, "data") : NULL;
  int strings = json_object_is_type(data, json_type_object);
  if (strings) {
    json_object_object_foreach(data, key, value)
    {
      (void)key;
      strings = strings && json_object_is_type(value, json_type_string);
    }
  }
  if (!json_object_is_type(run, json_type_object) ||
      (data && !json_object_is_type(data, json_type_null) && !strings)) {
    json_object_put(run);
    return fail(e, err, WFE_E_INVALID, "MalformedRun", data ? "data" : NULL,
                "the ConfigMap is not JSON of its type");
  }
  json_object *member = NULL;
  const char *phase =
      strings && json_object_object_get_ex(data, e->phase_key, &member)
          ? json_object_get_string(member)
          : "";
  const char *message =
      strings && json_object_object_get_ex(data, "message", &member)
          ? json_object_get_string(member)
          : "";
  static const struct {
    const char *value, *phase, *outcome, *reason;
  } states[] = {
      {"", "Running", NULL, "Waiting"},
      {"Succeeded", "Completed", "Success", "Succeeded"},
      {"Failed", "Failed", "Failed", "Failed"},
      {"Cancelled", "Failed", "Failed", "Cancelled"},
      {"TimedOut", "Failed", "Timeout", "TimedOut"},
  };
  size_t i = 0;
  while (i < sizeof(states) / sizeof(states[0]) &&
         strcmp(states[i].value, phase) != 0)
    i++;
  json_object *doc = json_object_new_object();
  char text[600];
  if (i == sizeof(states) / sizeof(states[0])) {
    json_object_object_add(doc, "phase", json_object_new_string("Running"));
    json_object_object_add(doc, "reason",
                           json_object_new_string("UnknownPhase"));
    snprintf(text, sizeof(text), "data.%s is %.300s", e->phase_key, phase);
    json_object_object_add(doc, "message", json_object_new_string(text));
  } else {
    json_object_object_add(doc, "phase",
                           json_object_new_string(states[i].phase));
    if (states[i].outcome)
      json_object_object_add(doc, "outcome",
                             json_object_new_string(states[i].outcome));
    json_object_object_add(doc, "reason",
                           json_object_new_string(states[i].reason));
    if (i == 0) {
      snprintf(text, sizeof(text), "waiting for data.%s", e->phase_key);
      json_object_object_add(doc, "message", json_object_new_string(text));
    } else if (*message && states[i].outcome &&
               strcmp(states[i].phase, "Failed") == 0) {
      json_object_object_add(doc, "message", json_object_new_string(message));
    }
  }
  json_object_put(run);
  return emit(e, doc, out, err);
}

static int32_t echo_cancel(void *instance, const char *json, size_t len,
                           wfe_buf *out, wfe_error *err)
{
  const struct echo *e = instance;
  (void)json;
  (void)len;
  json_object *patch = json_object_new_object(),
              *data = json_object_new_object();
  json_object_object_add(data, e->phase_key,
                         json_object_new_string("Cancelled"));
  json_object_object_add(patch, "data", data);
  return emit(e, patch, out, err);
}

static const wfe_engine echo_engine = {
    sizeof(wfe_engine),
    ENGINE_NAME,
    ENGINE_VERSION,
    "Template engine in C: the run is a ConfigMap whose data.phase tells its "
    "state",
    &run_type,
    echo_create,
    echo_destroy,
    echo_validate,
    echo_render,
    echo_interpret,
    echo_cancel,
    NULL,
    NULL,
};

static const wfe_engine *const engines[] = {&echo_engine};

WFE_PLUGIN_DEFINE(ENGINE_NAME, ENGINE_VERSION, NULL, NULL, engines)
