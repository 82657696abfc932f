/*
 * JSON plumbing shared by the Tekton engine's operations: strict parsing of
 * the text the host passes in, typed member access that names the failing
 * field path, checked construction, compact output into host buffers, and
 * error reporting through the host table.
 */
#include <stdio.h>
#include <string.h>

#include "tekton.h"

/* Run objects embed whole Pipeline specs in their status; json-c's default
 * depth of 32 is too shallow to be safe for those. */
#define TK_JSON_MAX_DEPTH 128

int tk_fail(const struct tk_ctx *ctx, int code, const char *reason,
            const char *field, const char *fmt, ...)
{
  char message[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof(message), fmt, ap);
  va_end(ap);
  ctx->host->error_set(ctx->err, code, 0, reason, field, message);
  return code;
}

int tk_nomem(const struct tk_ctx *ctx)
{
  return tk_fail(ctx, WFE_E_NOMEM, "OutOfMemory", NULL,
                 "the tekton engine ran out of memory");
}

static int only_whitespace(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return 0;
  return 1;
}

int tk_parse(const struct tk_ctx *ctx, const char *text, size_t len,
             const char *what, const char *reason, json_object **out)
{
  *out = NULL;
  if (!text || len == 0)
    return tk_fail(ctx, WFE_E_INVALID, reason, NULL, "the %s is empty", what);
  /* json-c stops at a NUL byte; valid JSON text never contains one. */
  if (memchr(text, '\0', len) || len > (size_t)INT32_MAX)
    return tk_fail(ctx, WFE_E_INVALID, reason, NULL,
                   "the %s is not valid JSON text", what);
  json_tokener *tok = json_tokener_new_ex(TK_JSON_MAX_DEPTH);
  if (!tok)
    return tk_nomem(ctx);
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
                                  JSON_TOKENER_ALLOW_TRAILING_CHARS);
  json_object *document = json_tokener_parse_ex(tok, text, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (jerr != json_tokener_success || !document ||
      !only_whitespace(text + end, len - end)) {
    json_object_put(document);
    return tk_fail(
        ctx, WFE_E_INVALID, reason, NULL, "the %s is not valid JSON: %s", what,
        jerr == json_tokener_success ? "unexpected text after the value"
                                     : json_tokener_error_desc(jerr));
  }
  if (!json_object_is_type(document, json_type_object)) {
    json_object_put(document);
    return tk_fail(ctx, WFE_E_INVALID, reason, NULL,
                   "the %s must be a JSON object", what);
  }
  *out = document;
  return WFE_OK;
}

static const char *type_noun(json_type type)
{
  switch (type) {
  case json_type_object:
    return "an object";
  case json_type_array:
    return "an array";
  case json_type_string:
    return "a string";
  case json_type_int:
    return "an integer";
  case json_type_boolean:
    return "a boolean";
  default:
    return "a number";
  }
}

int tk_member(const struct tk_ctx *ctx, json_object *parent,
              const char *parent_path, const char *key, json_type type,
              int required, json_object **out)
{
  char path[512];
  json_object *value = NULL;
  *out = NULL;
  if (parent)
    json_object_object_get_ex(parent, key, &value);
  snprintf(path, sizeof(path), "%s%s%s", parent_path, *parent_path ? "." : "",
           key);
  if (!value) {
    if (!required)
      return WFE_OK;
    return tk_fail(ctx, WFE_E_INVALID, "MissingField", path, "%s is required",
                   path);
  }
  if (!json_object_is_type(value, type))
    return tk_fail(ctx, WFE_E_INVALID, "InvalidField", path, "%s must be %s",
                   path, type_noun(type));
  *out = value;
  return WFE_OK;
}

int tk_member_string(const struct tk_ctx *ctx, json_object *parent,
                     const char *parent_path, const char *key, int required,
                     const char **out)
{
  json_object *value;
  int rc = tk_member(ctx, parent, parent_path, key, json_type_string, required,
                     &value);
  *out = value ? json_object_get_string(value) : NULL;
  return rc;
}

int tk_add(json_object *object, const char *key, json_object *value)
{
  if (!value)
    return -1;
  if (json_object_object_add(object, key, value) != 0) {
    json_object_put(value);
    return -1;
  }
  return 0;
}

int tk_add_string(json_object *object, const char *key, const char *value)
{
  return tk_add(object, key, json_object_new_string(value));
}

int tk_append(json_object *array, json_object *value)
{
  if (!value)
    return -1;
  if (json_object_array_add(array, value) != 0) {
    json_object_put(value);
    return -1;
  }
  return 0;
}

int tk_emit(const struct tk_ctx *ctx, json_object *document, wfe_buf *out)
{
  size_t len = 0;
  const char *text = json_object_to_json_string_length(
      document, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  if (!text || ctx->host->buf_append(out, text, len) != WFE_OK)
    return tk_nomem(ctx);
  return WFE_OK;
}
