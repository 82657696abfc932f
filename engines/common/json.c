/*
 * JSON plumbing shared by the engines: strict parsing of the text the host
 * passes in, typed member access that names the failing field path, checked
 * construction, compact output into host buffers, and error reporting
 * through the host table.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_kit.h"

/* Run objects embed whole specs (a Pipeline's, a pod template) in their
 * status; json-c's default depth of 32 is too shallow to be safe for those. */
#define EK_JSON_MAX_DEPTH 128

/* Messages up to this length need no allocation. */
#define EK_MESSAGE_INLINE 256

/* The formatted text in `inline_buf` when it fits, else malloc'd into
 * *heap; on a failed malloc the cut text in `inline_buf`. */
static const char *format_message(char inline_buf[EK_MESSAGE_INLINE],
                                  char **heap, const char *fmt, va_list ap)
{
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(inline_buf, EK_MESSAGE_INLINE, fmt, ap);
  *heap = NULL;
  if (n >= EK_MESSAGE_INLINE && (*heap = malloc((size_t)n + 1)) != NULL)
    vsnprintf(*heap, (size_t)n + 1, fmt, again);
  va_end(again);
  if (n < 0)
    inline_buf[0] = '\0';
  return *heap ? *heap : inline_buf;
}

int ek_fail(const struct ek_ctx *ctx, int code, const char *reason,
            const char *field, const char *fmt, ...)
{
  char inline_buf[EK_MESSAGE_INLINE];
  char *heap;
  va_list ap;
  va_start(ap, fmt);
  const char *message = format_message(inline_buf, &heap, fmt, ap);
  va_end(ap);
  ctx->host->error_set(ctx->err, code, 0, reason, field, message);
  free(heap);
  return code;
}

int ek_nomem(const struct ek_ctx *ctx)
{
  return ek_fail(ctx, WFE_E_NOMEM, "OutOfMemory", NULL,
                 "the engine ran out of memory");
}

char *ek_strdup_printf(const char *fmt, ...)
{
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (text)
    vsnprintf(text, (size_t)n + 1, fmt, again);
  va_end(again);
  return text;
}

static int only_whitespace(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return 0;
  return 1;
}

int ek_parse(const struct ek_ctx *ctx, const char *text, size_t len,
             const char *what, const char *reason, json_object **out)
{
  *out = NULL;
  if (!text || len == 0)
    return ek_fail(ctx, WFE_E_INVALID, reason, NULL, "the %s is empty", what);
  /* json-c stops at a NUL byte; valid JSON text never contains one. */
  if (memchr(text, '\0', len) || len > (size_t)INT32_MAX)
    return ek_fail(ctx, WFE_E_INVALID, reason, NULL,
                   "the %s is not valid JSON text", what);
  json_tokener *tok = json_tokener_new_ex(EK_JSON_MAX_DEPTH);
  if (!tok)
    return ek_nomem(ctx);
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
                                  JSON_TOKENER_ALLOW_TRAILING_CHARS);
  json_object *document = json_tokener_parse_ex(tok, text, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (jerr != json_tokener_success || !document ||
      !only_whitespace(text + end, len - end)) {
    json_object_put(document);
    return ek_fail(
        ctx, WFE_E_INVALID, reason, NULL, "the %s is not valid JSON: %s", what,
        jerr == json_tokener_success ? "unexpected text after the value"
                                     : json_tokener_error_desc(jerr));
  }
  if (!json_object_is_type(document, json_type_object)) {
    json_object_put(document);
    return ek_fail(ctx, WFE_E_INVALID, reason, NULL,
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

/* The error for member `key` of `parent_path`: missing, or not `type`. */
static int member_error(const struct ek_ctx *ctx, const char *parent_path,
                        const char *key, int missing, json_type type)
{
  char *path =
      ek_strdup_printf("%s%s%s", parent_path, *parent_path ? "." : "", key);
  if (!path)
    return ek_nomem(ctx);
  int rc = missing ? ek_fail(ctx, WFE_E_INVALID, "MissingField", path,
                             "%s is required", path)
                   : ek_fail(ctx, WFE_E_INVALID, "InvalidField", path,
                             "%s must be %s", path, type_noun(type));
  free(path);
  return rc;
}

int ek_member(const struct ek_ctx *ctx, json_object *parent,
              const char *parent_path, const char *key, json_type type,
              int required, json_object **out)
{
  json_object *value = NULL;
  *out = NULL;
  if (parent)
    json_object_object_get_ex(parent, key, &value);
  if (!value)
    return required ? member_error(ctx, parent_path, key, 1, type) : WFE_OK;
  if (!json_object_is_type(value, type))
    return member_error(ctx, parent_path, key, 0, type);
  *out = value;
  return WFE_OK;
}

int ek_member_string(const struct ek_ctx *ctx, json_object *parent,
                     const char *parent_path, const char *key, int required,
                     const char **out)
{
  json_object *value;
  int rc = ek_member(ctx, parent, parent_path, key, json_type_string, required,
                     &value);
  *out = value ? json_object_get_string(value) : NULL;
  return rc;
}

int ek_member_int(const struct ek_ctx *ctx, json_object *parent,
                  const char *parent_path, const char *key, int64_t fallback,
                  int64_t *out)
{
  json_object *value;
  int rc = ek_member(ctx, parent, parent_path, key, json_type_int, 0, &value);
  *out = value ? json_object_get_int64(value) : fallback;
  return rc;
}

int ek_add(json_object *object, const char *key, json_object *value)
{
  if (!value)
    return -1;
  if (json_object_object_add(object, key, value) != 0) {
    json_object_put(value);
    return -1;
  }
  return 0;
}

int ek_add_string(json_object *object, const char *key, const char *value)
{
  return ek_add(object, key, json_object_new_string(value));
}

int ek_add_optional(json_object *object, const char *key, const char *value)
{
  return value ? ek_add_string(object, key, value) : 0;
}

int ek_add_int(json_object *object, const char *key, int64_t value)
{
  return ek_add(object, key, json_object_new_int64(value));
}

int ek_add_bool(json_object *object, const char *key, int value)
{
  return ek_add(object, key, json_object_new_boolean(value));
}

int ek_append(json_object *array, json_object *value)
{
  if (!value)
    return -1;
  if (json_object_array_add(array, value) != 0) {
    json_object_put(value);
    return -1;
  }
  return 0;
}

int ek_emit(const struct ek_ctx *ctx, json_object *document, wfe_buf *out)
{
  size_t len = 0;
  const char *text = json_object_to_json_string_length(
      document, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  if (!text || ctx->host->buf_append(out, text, len) != WFE_OK)
    return ek_nomem(ctx);
  return WFE_OK;
}

int ek_emit_owned(const struct ek_ctx *ctx, json_object *document, wfe_buf *out)
{
  int rc = document ? ek_emit(ctx, document, out) : ek_nomem(ctx);
  json_object_put(document);
  return rc;
}

int ek_emit_text(const struct ek_ctx *ctx, const char *text, wfe_buf *out)
{
  if (ctx->host->buf_append(out, text, strlen(text)) != WFE_OK)
    return ek_nomem(ctx);
  return WFE_OK;
}

const char *ek_get_string(json_object *object, const char *key)
{
  json_object *value = NULL;
  if (!json_object_is_type(object, json_type_object) ||
      !json_object_object_get_ex(object, key, &value) ||
      !json_object_is_type(value, json_type_string))
    return NULL;
  return json_object_get_string(value);
}

json_object *ek_condition(json_object *object, const char *type)
{
  json_object *status = NULL, *conditions = NULL;
  if (!json_object_is_type(object, json_type_object) ||
      !json_object_object_get_ex(object, "status", &status) ||
      !json_object_is_type(status, json_type_object) ||
      !json_object_object_get_ex(status, "conditions", &conditions) ||
      !json_object_is_type(conditions, json_type_array))
    return NULL;
  for (size_t i = 0; i < json_object_array_length(conditions); i++) {
    json_object *entry = json_object_array_get_idx(conditions, i);
    const char *entry_type = ek_get_string(entry, "type");
    if (entry_type && strcmp(entry_type, type) == 0)
      return entry;
  }
  return NULL;
}

int ek_condition_true(json_object *object, const char *type)
{
  const char *status = ek_get_string(ek_condition(object, type), "status");
  return status && strcmp(status, "True") == 0;
}
