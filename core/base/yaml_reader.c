/*
 * YAML to json-c with libyaml's event parser; see yaml_reader.h. A recursive
 * descent over events, depth-limited so hostile input cannot blow the stack.
 */
#include "yaml_reader.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "buf.h"
#include "status.h"

#define YAML_MAX_DEPTH 64
#define YAML_MAX_FILE (16u * 1024u * 1024u)

struct reader {
  yaml_parser_t parser;
  const char *source;
  struct wfe_error *err;
};

static int fail_at(struct reader *r, const yaml_mark_t *mark,
                   const char *problem)
{
  return wfe_error_set(r->err, WFE_E_INVALID, 0, "InvalidYAML", NULL,
                       "%s:%zu:%zu: %s", r->source, mark->line + 1,
                       mark->column + 1, problem);
}

static int nomem(struct reader *r)
{
  return wfe_error_set(r->err, WFE_E_NOMEM, 0, "OutOfMemory", NULL,
                       "%s: out of memory", r->source);
}

static int next_event(struct reader *r, yaml_event_t *event)
{
  if (yaml_parser_parse(&r->parser, event))
    return 0;
  const char *problem = r->parser.problem ? r->parser.problem : "parse error";
  return wfe_error_set(
      r->err, WFE_E_INVALID, 0, "InvalidYAML", NULL, "%s:%zu:%zu: %s%s%s",
      r->source, r->parser.problem_mark.line + 1,
      r->parser.problem_mark.column + 1, problem, r->parser.context ? " " : "",
      r->parser.context ? r->parser.context : "");
}

static int is_tag(const yaml_char_t *tag, const char *name)
{
  return tag && strcmp((const char *)tag, name) == 0;
}

/* YAML 1.2 core schema for plain scalars. */
static json_object *plain_scalar(const char *s, size_t len)
{
  if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
      strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
    return NULL; /* json null */
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
    return json_object_new_boolean(1);
  if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
    return json_object_new_boolean(0);
  char *end = NULL;
  errno = 0;
  if (strspn(s, "+-0123456789") == len && strcspn(s, "0123456789") < len) {
    long long v = strtoll(s, &end, 10);
    if (errno == 0 && end == s + len && (s[0] != '+' || len > 1))
      return json_object_new_int64(v);
  }
  if (strspn(s, "+-0123456789.eE") == len && strcspn(s, "0123456789") < len) {
    errno = 0;
    double d = strtod(s, &end);
    if (errno == 0 && end == s + len && isfinite(d))
      return json_object_new_double(d);
  }
  return json_object_new_string_len(s, (int)len);
}

static int scalar_value(struct reader *r, const yaml_event_t *ev,
                        json_object **out)
{
  const char *value = (const char *)ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  if (len > INT32_MAX)
    return fail_at(r, &ev->start_mark, "scalar too long");
  const yaml_char_t *tag = ev->data.scalar.tag;
  if (tag && !is_tag(tag, YAML_STR_TAG) && !is_tag(tag, "!") &&
      !is_tag(tag, YAML_INT_TAG) && !is_tag(tag, YAML_BOOL_TAG) &&
      !is_tag(tag, YAML_FLOAT_TAG) && !is_tag(tag, YAML_NULL_TAG))
    return fail_at(r, &ev->start_mark, "unsupported tag");
  int quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
  if (quoted || is_tag(tag, YAML_STR_TAG) || is_tag(tag, "!")) {
    *out = json_object_new_string_len(value, (int)len);
    return *out ? 0 : nomem(r);
  }
  *out = plain_scalar(value, len);
  if (!*out &&
      !(len == 0 || strcmp(value, "~") == 0 || strcasecmp(value, "null") == 0))
    return nomem(r);
  return 0;
}

static int parse_node(struct reader *r, yaml_event_t *ev, int depth,
                      json_object **out);

static int parse_mapping(struct reader *r, int depth, json_object **out)
{
  json_object *map = json_object_new_object();
  if (!map)
    return nomem(r);
  for (;;) {
    yaml_event_t key;
    int rc = next_event(r, &key);
    if (rc)
      goto fail;
    if (key.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&key);
      *out = map;
      return 0;
    }
    if (key.type != YAML_SCALAR_EVENT) {
      rc = fail_at(r, &key.start_mark, "mapping keys must be scalars");
      yaml_event_delete(&key);
      goto fail;
    }
    const char *name = (const char *)key.data.scalar.value;
    if (json_object_object_get_ex(map, name, NULL)) {
      struct wfe_buf msg = WFE_BUF_INIT;
      rc = wfe_buf_printf(&msg, "duplicate key \"%s\"", name)
               ? nomem(r)
               : fail_at(r, &key.start_mark, msg.data);
      wfe_buf_free(&msg);
      yaml_event_delete(&key);
      goto fail;
    }
    yaml_event_t value_event;
    rc = next_event(r, &value_event);
    json_object *value = NULL;
    if (!rc)
      rc = parse_node(r, &value_event, depth + 1, &value);
    if (!rc && json_object_object_add(map, name, value)) {
      json_object_put(value);
      rc = nomem(r);
    }
    yaml_event_delete(&key);
    if (rc)
      goto fail;
  }
fail:
  json_object_put(map);
  return r->err->code ? r->err->code : nomem(r);
}

static int parse_sequence(struct reader *r, int depth, json_object **out)
{
  json_object *array = json_object_new_array();
  if (!array)
    return nomem(r);
  for (;;) {
    yaml_event_t ev;
    int rc = next_event(r, &ev);
    if (rc)
      break;
    if (ev.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&ev);
      *out = array;
      return 0;
    }
    json_object *item = NULL;
    rc = parse_node(r, &ev, depth + 1, &item);
    if (rc)
      break;
    if (json_object_array_add(array, item)) {
      json_object_put(item);
      nomem(r);
      break;
    }
  }
  json_object_put(array);
  return r->err->code ? r->err->code : nomem(r);
}

/* Consumes `ev` (deletes it) and, for collections, the events up to and
 * including the matching end event. */
static int parse_node(struct reader *r, yaml_event_t *ev, int depth,
                      json_object **out)
{
  int rc;
  *out = NULL;
  if (depth > YAML_MAX_DEPTH) {
    rc = fail_at(r, &ev->start_mark, "nested too deeply");
  } else if (ev->type == YAML_ALIAS_EVENT ||
             (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.anchor) ||
             (ev->type == YAML_MAPPING_START_EVENT &&
              ev->data.mapping_start.anchor) ||
             (ev->type == YAML_SEQUENCE_START_EVENT &&
              ev->data.sequence_start.anchor)) {
    rc = fail_at(r, &ev->start_mark, "anchors and aliases are not supported");
  } else if (ev->type == YAML_SCALAR_EVENT) {
    rc = scalar_value(r, ev, out);
  } else if (ev->type == YAML_MAPPING_START_EVENT) {
    rc = parse_mapping(r, depth, out);
  } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
    rc = parse_sequence(r, depth, out);
  } else {
    rc = fail_at(r, &ev->start_mark, "unexpected event");
  }
  yaml_event_delete(ev);
  return rc;
}

/* Expects `type` next; fills `ev` (caller deletes) */
static int expect(struct reader *r, yaml_event_type_t type, yaml_event_t *ev,
                  const char *problem)
{
  int rc = next_event(r, ev);
  if (rc)
    return rc;
  if (ev->type != type) {
    rc = fail_at(r, &ev->start_mark, problem);
    yaml_event_delete(ev);
  }
  return rc;
}

int wfe_yaml_parse(const char *text, size_t len, const char *source,
                   json_object **out, struct wfe_error *err)
{
  struct wfe_error local = WFE_ERROR_INIT;
  struct reader r = {.source = source ? source : "<input>",
                     .err = err ? err : &local};
  *out = NULL;
  if (!yaml_parser_initialize(&r.parser))
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL,
                         "cannot start the YAML parser");
  yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
  yaml_event_t ev;
  json_object *doc = NULL;
  int rc = expect(&r, YAML_STREAM_START_EVENT, &ev, "expected a stream");
  if (!rc) {
    yaml_event_delete(&ev);
    rc = next_event(&r, &ev);
  }
  if (!rc && ev.type == YAML_STREAM_END_EVENT) {
    rc = fail_at(&r, &ev.start_mark, "empty document");
    yaml_event_delete(&ev);
  } else if (!rc) {
    yaml_event_delete(&ev); /* document start */
    rc = next_event(&r, &ev);
    if (!rc)
      rc = parse_node(&r, &ev, 0, &doc);
    if (!rc)
      rc = expect(&r, YAML_DOCUMENT_END_EVENT, &ev, "expected document end");
    if (!rc) {
      yaml_event_delete(&ev);
      rc = expect(&r, YAML_STREAM_END_EVENT, &ev,
                  "expected exactly one YAML document");
      if (!rc)
        yaml_event_delete(&ev);
    }
  }
  yaml_parser_delete(&r.parser);
  if (rc) {
    json_object_put(doc);
    wfe_error_clear(&local);
    return rc;
  }
  *out = doc;
  return 0;
}

int wfe_yaml_parse_file(const char *path, json_object **out,
                        struct wfe_error *err)
{
  int from_stdin = strcmp(path, "-") == 0;
  FILE *f = from_stdin ? stdin : fopen(path, "rb");
  *out = NULL;
  if (!f)
    return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "ReadFailed", NULL, "%s: %s",
                         path, strerror(errno));
  struct wfe_buf text = WFE_BUF_INIT;
  char chunk[8192];
  size_t n;
  int rc = 0;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    if (text.len + n > YAML_MAX_FILE) {
      rc = wfe_error_set(err, WFE_E_INVALID, 0, "TooLarge", NULL,
                         "%s: larger than %u bytes", path, YAML_MAX_FILE);
      break;
    }
    if ((rc = wfe_buf_append(&text, chunk, n))) {
      wfe_error_set(err, rc, 0, "OutOfMemory", NULL, "%s: out of memory", path);
      break;
    }
  }
  if (!rc && ferror(f))
    rc = wfe_error_set(err, WFE_E_UNAVAILABLE, 0, "ReadFailed", NULL,
                       "%s: read error", path);
  if (!from_stdin)
    fclose(f);
  if (!rc)
    rc = wfe_yaml_parse(wfe_buf_str(&text), text.len,
                        from_stdin ? "<stdin>" : path, out, err);
  wfe_buf_free(&text);
  return rc;
}
