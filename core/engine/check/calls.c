/*
 * Calls into the engine under test, and the judgements every check shares:
 * is an error record well-formed, are two JSON documents the same value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "json_util.h"

void check_call_free(struct check_call *call)
{
  wfe_buf_free(&call->out);
  wfe_error_clear(&call->err);
}

void check_call_render(const struct check_kit *kit, void *instance,
                       const char *json, size_t len, struct check_call *out)
{
  const wfe_engine *e = kit->engine;
  out->status = e->validate(instance, json, len, (wfe_error *)&out->err);
  if (out->status == WFE_OK)
    out->status = e->render(instance, json, len, (wfe_buf *)&out->out,
                            (wfe_error *)&out->err);
}

void check_call_interpret(const struct check_kit *kit, const char *json,
                          size_t len, struct check_call *out)
{
  out->status = kit->engine->interpret(
      kit->instance, json, len, (wfe_buf *)&out->out, (wfe_error *)&out->err);
}

void check_call_cancel(const struct check_kit *kit, const char *json,
                       size_t len, struct check_call *out)
{
  out->status = kit->engine->cancel(
      kit->instance, json, len, (wfe_buf *)&out->out, (wfe_error *)&out->err);
}

static int is_camel_case(const char *s)
{
  if (!s || !(*s >= 'A' && *s <= 'Z'))
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9')))
      return 0;
  return 1;
}

/* A field path: dotted members and [index] parts, no spaces. */
static int is_field_path(const char *s)
{
  if (!*s)
    return 0;
  for (; *s; s++)
    if (*s <= ' ' || *s == 0x7f)
      return 0;
  return 1;
}

int check_error_shape(const struct check_call *call, struct wfe_buf *why)
{
  const struct wfe_error *err = &call->err;
  const char *problem = NULL;
  if (call->status >= 0 || call->status < WFE_E_INTERNAL)
    problem = "the status is not a WFE_E_* code";
  else if (!err->reason)
    problem = "the error record has no reason (error_set was not called, or "
              "with a NULL reason)";
  else if (!is_camel_case(err->reason))
    problem = "the reason is not one CamelCase word";
  else if (err->code != call->status)
    problem = "the error record's code differs from the status returned";
  else if (!err->message || !*err->message)
    problem = "the error record has no message";
  else if (err->field && !is_field_path(err->field))
    problem = "the field is empty or holds spaces (a path like "
              "spec.workflowRef.containerImage, or NULL)";
  if (!problem)
    return 1;
  wfe_buf_printf(why, "%s (status %d, reason %s, field %s, message %.200s)",
                 problem, call->status, err->reason ? err->reason : "NULL",
                 err->field ? err->field : "NULL",
                 err->message ? err->message : "NULL");
  return 0;
}

static void describe_value(struct wfe_buf *why, json_object *v)
{
  const char *text =
      v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_NOSLASHESCAPE)
        : "(absent)";
  wfe_buf_printf(why, "%.160s%s", text ? text : "?",
                 text && strlen(text) > 160 ? "..." : "");
}

/* Finds the first place where `a` and `e` differ, for a message a person
 * can act on: "at spec.params[1].value: expected "x", got "y"". */
static void find_difference(json_object *a, json_object *e, struct wfe_buf *at,
                            struct wfe_buf *why)
{
  if (json_object_is_type(a, json_type_object) &&
      json_object_is_type(e, json_type_object)) {
    json_object_object_foreach(e, key, ev)
    {
      json_object *av = NULL;
      if (!json_object_object_get_ex(a, key, &av) ||
          !json_object_equal(av, ev)) {
        wfe_buf_printf(at, "%s%s", at->len ? "." : "", key);
        find_difference(av, ev, at, why);
        return;
      }
    }
    json_object_object_foreach(a, akey, av)
    {
      if (!json_object_object_get_ex(e, akey, NULL)) {
        wfe_buf_printf(why, "at %s%s%s: unexpected member ", wfe_buf_str(at),
                       at->len ? "." : "", akey);
        describe_value(why, av);
        return;
      }
    }
  }
  if (json_object_is_type(a, json_type_array) &&
      json_object_is_type(e, json_type_array) &&
      json_object_array_length(a) == json_object_array_length(e)) {
    for (size_t i = 0; i < json_object_array_length(e); i++) {
      json_object *av = json_object_array_get_idx(a, i);
      json_object *ev = json_object_array_get_idx(e, i);
      if (!json_object_equal(av, ev)) {
        wfe_buf_printf(at, "[%zu]", i);
        find_difference(av, ev, at, why);
        return;
      }
    }
  }
  wfe_buf_printf(why, "at %s: expected ", at->len ? wfe_buf_str(at) : "(top)");
  describe_value(why, e);
  wfe_buf_puts(why, ", got ");
  describe_value(why, a);
}

int check_json_equal(const char *actual, const char *expected,
                     struct wfe_buf *why)
{
  json_object *a = wfe_json_parse(actual, strlen(actual));
  json_object *e = wfe_json_parse(expected, strlen(expected));
  int equal = 0;
  if (!e)
    wfe_buf_puts(why, "expected.json is not valid JSON");
  else if (!a)
    wfe_buf_printf(why, "the answer is not valid JSON: %.200s", actual);
  else if (json_object_equal(a, e))
    equal = 1;
  else {
    struct wfe_buf at = WFE_BUF_INIT;
    find_difference(a, e, &at, why);
    wfe_buf_free(&at);
  }
  json_object_put(a);
  json_object_put(e);
  return equal;
}

char *check_run_name(const char *run_json)
{
  json_object *run = wfe_json_parse(run_json, strlen(run_json));
  const char *name = wfe_json_get_string(run, "metadata.name");
  char *copy = name ? strdup(name) : NULL;
  json_object_put(run);
  return copy;
}
