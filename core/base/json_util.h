/*
 * Small helpers over json-c used across the core: reading members by a dotted
 * path and serializing deterministically. One JSON walk, written once.
 */
#ifndef WFE_BASE_JSON_UTIL_H
#define WFE_BASE_JSON_UTIL_H

#include <json-c/json.h>

/* The member at `path` ("spec.template.metadata"), or NULL when any step is
 * missing or not an object. Borrowed. */
json_object *wfe_json_get(json_object *obj, const char *path);

/* The string at `path`, or NULL when missing or not a string. Borrowed. */
const char *wfe_json_get_string(json_object *obj, const char *path);

/* The object at `path`, creating missing objects on the way. Borrowed; NULL
 * on out of memory or when a step exists and is not an object. */
json_object *wfe_json_ensure_object(json_object *obj, const char *path);

/* Sets `key` of `obj` to a new string; returns 0 or WFE_E_NOMEM. */
int wfe_json_set_string(json_object *obj, const char *key, const char *value);

/* Compact JSON text of `obj`, keys in insertion order, '/' unescaped.
 * Owned by `obj`; valid until it changes or is freed. NULL on no memory. */
const char *wfe_json_text(json_object *obj, size_t *out_len);

/* How deep parsed JSON may nest: objects with schemas and managedFields go
 * past json-c's default of 32. */
#define WFE_JSON_MAX_DEPTH 128

/* Parses one JSON document (trailing whitespace allowed); NULL when invalid
 * or nested deeper than WFE_JSON_MAX_DEPTH. The caller puts the result. */
json_object *wfe_json_parse(const char *text, size_t len);

#endif
