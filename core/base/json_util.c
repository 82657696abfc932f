/* json-c helpers; see json_util.h. */
#include "json_util.h"

#include <stdint.h>
#include <string.h>

#include "status.h"

/* Follows the dotted components of `path`; creates missing objects when
 * `create` is set. */
static json_object *walk(json_object *obj, const char *path, int create)
{
  const char *p = path;
  while (obj && *p) {
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    char key[128];
    if (len == 0 || len >= sizeof(key) ||
        !json_object_is_type(obj, json_type_object))
      return NULL;
    memcpy(key, p, len);
    key[len] = '\0';
    json_object *next = NULL;
    if (!json_object_object_get_ex(obj, key, &next) && create) {
      next = json_object_new_object();
      if (!next || json_object_object_add(obj, key, next)) {
        json_object_put(next);
        return NULL;
      }
    }
    obj = next;
    p += len + (dot ? 1 : 0);
  }
  return obj;
}

json_object *wfe_json_get(json_object *obj, const char *path)
{
  return walk(obj, path, 0);
}

const char *wfe_json_get_string(json_object *obj, const char *path)
{
  json_object *value = walk(obj, path, 0);
  return json_object_is_type(value, json_type_string)
             ? json_object_get_string(value)
             : NULL;
}

json_object *wfe_json_ensure_object(json_object *obj, const char *path)
{
  json_object *value = walk(obj, path, 1);
  return json_object_is_type(value, json_type_object) ? value : NULL;
}

int wfe_json_set_string(json_object *obj, const char *key, const char *value)
{
  json_object *str = json_object_new_string(value);
  if (!str || json_object_object_add(obj, key, str)) {
    json_object_put(str);
    return WFE_E_NOMEM;
  }
  return 0;
}

const char *wfe_json_text(json_object *obj, size_t *out_len)
{
  size_t len = 0;
  const char *text = json_object_to_json_string_length(
      obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  if (out_len)
    *out_len = text ? len : 0;
  return text;
}

json_object *wfe_json_parse(const char *text, size_t len)
{
  if (len > INT32_MAX - 1)
    return NULL;
  json_tokener *tok = json_tokener_new_ex(WFE_JSON_MAX_DEPTH);
  if (!tok)
    return NULL;
  json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
  size_t end = json_tokener_get_parse_end(tok);
  if (!obj && json_tokener_get_error(tok) == json_tokener_continue &&
      end == len) {
    /* A bare number may go on in the next chunk: a NUL ends it. */
    obj = json_tokener_parse_ex(tok, "", 1);
    end = len;
  }
  while (end < len && (text[end] == ' ' || text[end] == '\t' ||
                       text[end] == '\r' || text[end] == '\n'))
    end++;
  int complete =
      json_tokener_get_error(tok) == json_tokener_success && end == len;
  json_tokener_free(tok);
  if (!complete) {
    json_object_put(obj);
    return NULL;
  }
  return obj;
}
