/*
 * WorkflowExecution contract checks; see execution.h. Every violation is
 * collected, so a person fixes a resource in one go.
 */
#include "execution.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <wfe/engine.h>

#include "buf.h"
#include "json_util.h"
#include "names.h"

struct violations {
  struct wfe_buf message;
  char *first_field;
  int count;
  int nomem;
  unsigned flags;
};

static void violation(struct violations *v, const char *field, const char *rule)
{
  v->count++;
  if (!v->first_field) {
    v->first_field = strdup(field);
    v->nomem |= v->first_field == NULL;
  }
  v->nomem |= wfe_buf_printf(&v->message, "%s%s: %s",
                             v->message.len ? "; " : "", field, rule) != 0;
}

static int is_parameter_name(const char *s)
{
  size_t len = strlen(s);
  if (len == 0 || len > WFE_MAX_PARAMETER_NAME || !(s[0] >= 'A' && s[0] <= 'Z'))
    return 0;
  for (size_t i = 1; i < len; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
          s[i] == '_'))
      return 0;
  return 1;
}

static int is_digest(const char *s)
{
  if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
    return 0;
  for (const char *p = s + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return 0;
  return 1;
}

/* The length of UTF-8 text in characters (code points), as OpenAPI's
 * maxLength counts it: the API server admits 32768 two-byte characters
 * where 32768 bytes would refuse half of them. */
static size_t utf8_length(const char *s, size_t bytes)
{
  size_t chars = 0;
  for (size_t i = 0; i < bytes; i++)
    chars += ((unsigned char)s[i] & 0xc0) != 0x80;
  return chars;
}

static size_t string_length(json_object *value)
{
  return utf8_length(json_object_get_string(value),
                     (size_t)json_object_get_string_len(value));
}

/* Rejects members of `obj` not in the NULL-terminated `known` list, when
 * the caller asked for strict fields. */
static void check_known_members(struct violations *v, json_object *obj,
                                const char *path, const char *const *known)
{
  if (!(v->flags & WFE_EXECUTION_STRICT_FIELDS))
    return;
  json_object_object_foreach(obj, key, value)
  {
    (void)value;
    int found = 0;
    for (const char *const *k = known; *k && !found; k++)
      found = strcmp(*k, key) == 0;
    if (!found) {
      struct wfe_buf field = WFE_BUF_INIT;
      v->nomem |= wfe_buf_printf(&field, "%s.%s", path, key) != 0;
      violation(v, wfe_buf_str(&field), "unknown field");
      wfe_buf_free(&field);
    }
  }
}

/* A required (or optional) string member; returns it or NULL. */
static const char *string_member(struct violations *v, json_object *obj,
                                 const char *key, const char *path,
                                 int required, size_t max_len)
{
  json_object *value = NULL;
  struct wfe_buf field = WFE_BUF_INIT;
  v->nomem |= wfe_buf_printf(&field, "%s.%s", path, key) != 0;
  const char *result = NULL;
  if (!json_object_object_get_ex(obj, key, &value) || !value) {
    if (required)
      violation(v, wfe_buf_str(&field), "required");
  } else if (!json_object_is_type(value, json_type_string)) {
    violation(v, wfe_buf_str(&field), "must be a string");
  } else if (required && json_object_get_string_len(value) == 0) {
    violation(v, wfe_buf_str(&field), "must not be empty");
  } else if (string_length(value) > max_len) {
    struct wfe_buf rule = WFE_BUF_INIT;
    v->nomem |=
        wfe_buf_printf(&rule, "must be at most %zu characters", max_len);
    violation(v, wfe_buf_str(&field), wfe_buf_str(&rule));
    wfe_buf_free(&rule);
  } else {
    result = json_object_get_string(value);
  }
  wfe_buf_free(&field);
  return result;
}

/* The object member `key`, or NULL (with a violation when required or when
 * present but not an object). */
static json_object *object_member(struct violations *v, json_object *obj,
                                  const char *key, const char *field,
                                  int required)
{
  json_object *value = NULL;
  if (!json_object_object_get_ex(obj, key, &value) || !value) {
    if (required)
      violation(v, field, "required");
    return NULL;
  }
  if (!json_object_is_type(value, json_type_object)) {
    violation(v, field, "must be an object");
    return NULL;
  }
  return value;
}

static void check_metadata(struct violations *v, json_object *execution)
{
  json_object *metadata =
      object_member(v, execution, "metadata", "metadata", 1);
  if (!metadata)
    return;
  const char *name = string_member(v, metadata, "name", "metadata", 1, 253);
  if (name && !wfe_is_dns_subdomain(name))
    violation(v, "metadata.name",
              "must be a DNS subdomain (lowercase alphanumerics, '-' and "
              "'.', at most 253 characters)");
  const char *ns = string_member(v, metadata, "namespace", "metadata", 0, 63);
  if (ns && !wfe_is_dns_label(ns))
    violation(v, "metadata.namespace", "must be a DNS label");
}

static void check_workflow_ref(struct violations *v, json_object *spec)
{
  json_object *ref =
      object_member(v, spec, "workflowRef", "spec.workflowRef", 1);
  if (!ref)
    return;
  static const char *const known[] = {"workflowId",     "version",
                                      "containerImage", "containerDigest",
                                      "engine",         NULL};
  check_known_members(v, ref, "spec.workflowRef", known);
  string_member(v, ref, "workflowId", "spec.workflowRef", 1, 253);
  string_member(v, ref, "version", "spec.workflowRef", 1, 63);
  string_member(v, ref, "containerImage", "spec.workflowRef", 1,
                WFE_MAX_IMAGE_REF);
  const char *digest =
      string_member(v, ref, "containerDigest", "spec.workflowRef", 0, 71);
  if (digest && !is_digest(digest))
    violation(v, "spec.workflowRef.containerDigest",
              "must match ^sha256:[0-9a-f]{64}$");
  const char *engine =
      string_member(v, ref, "engine", "spec.workflowRef", 0, 63);
  if (engine && !wfe_is_dns_label(engine))
    violation(v, "spec.workflowRef.engine",
              "must be a DNS label (lowercase alphanumerics and '-', at most "
              "63 characters)");
}

static void check_parameters(struct violations *v, json_object *spec)
{
  json_object *params =
      object_member(v, spec, "parameters", "spec.parameters", 0);
  if (!params)
    return;
  if (json_object_object_length(params) > WFE_MAX_PARAMETERS)
    violation(v, "spec.parameters", "must have at most 100 entries");
  json_object_object_foreach(params, key, value)
  {
    struct wfe_buf field = WFE_BUF_INIT;
    v->nomem |= wfe_buf_printf(&field, "spec.parameters.%s", key) != 0;
    if (!is_parameter_name(key))
      violation(v, wfe_buf_str(&field),
                "name must match ^[A-Z][A-Z0-9_]*$ (UPPER_SNAKE_CASE, at "
                "most 63 characters)");
    if (!json_object_is_type(value, json_type_string))
      violation(v, wfe_buf_str(&field), "value must be a string");
    else if (string_length(value) > WFE_MAX_PARAMETER_VALUE)
      violation(v, wfe_buf_str(&field),
                "value must be at most 32768 characters");
    wfe_buf_free(&field);
  }
}

static void check_spec(struct violations *v, json_object *execution)
{
  json_object *spec = object_member(v, execution, "spec", "spec", 1);
  if (!spec)
    return;
  static const char *const known[] = {
      "remediationRequestRef", "workflowRef", "parameters", "confidence",
      "executionConfig",       NULL};
  check_known_members(v, spec, "spec", known);

  json_object *parent = object_member(v, spec, "remediationRequestRef",
                                      "spec.remediationRequestRef", 1);
  if (parent)
    string_member(v, parent, "name", "spec.remediationRequestRef", 1, 253);

  check_workflow_ref(v, spec);
  check_parameters(v, spec);

  json_object *confidence = NULL;
  if (json_object_object_get_ex(spec, "confidence", &confidence) &&
      confidence) {
    if (!json_object_is_type(confidence, json_type_double) &&
        !json_object_is_type(confidence, json_type_int))
      violation(v, "spec.confidence", "must be a number");
    else {
      double c = json_object_get_double(confidence);
      if (!(c >= 0.0 && c <= 1.0))
        violation(v, "spec.confidence", "must be between 0 and 1");
    }
  }

  json_object *exec =
      object_member(v, spec, "executionConfig", "spec.executionConfig", 0);
  if (exec) {
    static const char *const exec_known[] = {"serviceAccountName", NULL};
    check_known_members(v, exec, "spec.executionConfig", exec_known);
    const char *sa = string_member(v, exec, "serviceAccountName",
                                   "spec.executionConfig", 0, 253);
    if (sa && !wfe_is_dns_subdomain(sa))
      violation(v, "spec.executionConfig.serviceAccountName",
                "must be a DNS subdomain");
  }
}

int wfe_execution_validate(json_object *execution, unsigned flags,
                           struct wfe_error *err)
{
  struct violations v = {WFE_BUF_INIT, NULL, 0, 0, flags};
  if (!json_object_is_type(execution, json_type_object)) {
    violation(&v, "(root)", "must be an object");
  } else {
    const char *api_version = wfe_json_get_string(execution, "apiVersion");
    const char *kind = wfe_json_get_string(execution, "kind");
    if (api_version && strcmp(api_version, WFE_EXECUTION_API_VERSION) != 0)
      violation(&v, "apiVersion", "must be " WFE_EXECUTION_API_VERSION);
    if (kind && strcmp(kind, WFE_EXECUTION_KIND) != 0)
      violation(&v, "kind", "must be " WFE_EXECUTION_KIND);
    check_metadata(&v, execution);
    check_spec(&v, execution);
  }
  int rc = 0;
  if (v.nomem)
    rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL,
                       "out of memory while validating");
  else if (v.count)
    rc = wfe_error_set(err, WFE_E_INVALID, 0, "InvalidSpec", v.first_field,
                       "%s", wfe_buf_str(&v.message));
  free(v.first_field);
  wfe_buf_free(&v.message);
  return rc;
}

const char *wfe_execution_engine(json_object *execution,
                                 const char *default_engine)
{
  const char *engine =
      wfe_json_get_string(execution, "spec.workflowRef.engine");
  return engine && *engine ? engine : default_engine;
}
