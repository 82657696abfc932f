/*
 * The engine's documented behaviour, case by case: render and interpret of
 * every vector compared with its expected document as JSON values,
 * determinism, the run names, cancel and describe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "json_util.h"
#include "names.h"

/* An instance for a case that brings its own configuration. NULL (with
 * `why`) when create refused it. */
static void *case_instance(struct check_kit *kit, const struct check_case *c,
                           struct wfe_buf *why)
{
  if (!c->config)
    return kit->instance;
  struct check_call call = CHECK_CALL_INIT;
  void *instance = NULL;
  call.status =
      kit->engine->create(&kit->services.table, c->config, c->config_len,
                          &instance, (wfe_error *)&call.err);
  if (call.status != WFE_OK)
    wfe_buf_printf(why, "create with config.json failed: %s",
                   wfe_error_message(&call.err));
  check_call_free(&call);
  return call.status == WFE_OK ? instance : NULL;
}

/* The refusal of an error vector: {"error": {"code": "invalid", "reason":
 * "InvalidDigest", "field": "spec.workflowRef.containerDigest"}}, each
 * member optional and compared when present; the record well-formed. */
static int check_refusal(const struct check_call *call, const char *expected,
                         struct wfe_buf *why)
{
  if (call->status == WFE_OK) {
    wfe_buf_printf(why, "answered %.200s; expected a refusal: %.200s",
                   wfe_buf_str(&call->out), expected);
    return 0;
  }
  if (!check_error_shape(call, why))
    return 0;
  json_object *doc = wfe_json_parse(expected, strlen(expected));
  json_object *want = wfe_json_get(doc, "error");
  struct {
    const char *member, *actual;
  } parts[] = {{"code", wfe_status_name(call->status)},
               {"reason", call->err.reason},
               {"field", call->err.field}};
  int ok = 1;
  for (size_t i = 0; ok && i < sizeof(parts) / sizeof(parts[0]); i++) {
    const char *wanted = wfe_json_get_string(want, parts[i].member);
    if (wanted && (!parts[i].actual || strcmp(wanted, parts[i].actual) != 0)) {
      wfe_buf_printf(why, "error %s: expected \"%s\", got \"%s\" (%s)",
                     parts[i].member, wanted,
                     parts[i].actual ? parts[i].actual : "NULL",
                     wfe_error_message(&call->err));
      ok = 0;
    }
  }
  json_object_put(doc);
  return ok;
}

static int render_vector(struct check_kit *kit, const void *arg,
                         struct wfe_buf *why)
{
  const struct check_case *c = arg;
  void *instance = case_instance(kit, c, why);
  if (c->config && !instance)
    return 0;
  struct check_call call = CHECK_CALL_INIT;
  check_call_render(kit, instance, c->input, c->input_len, &call);
  int ok = 0;
  if (c->expects_error)
    ok = check_refusal(&call, c->expected, why);
  else if (call.status != WFE_OK)
    wfe_buf_printf(why, "render failed: %s (%s)", wfe_error_message(&call.err),
                   call.err.reason ? call.err.reason : "no reason");
  else
    ok = check_json_equal(wfe_buf_str(&call.out), c->expected, why);
  check_call_free(&call);
  if (instance != kit->instance)
    kit->engine->destroy(instance);
  return ok;
}

static int interpret_vector(struct check_kit *kit, const void *arg,
                            struct wfe_buf *why)
{
  const struct check_case *c = arg;
  struct check_call call = CHECK_CALL_INIT;
  check_call_interpret(kit, c->input, c->input_len, &call);
  int ok = 0;
  if (c->expects_error)
    ok = check_refusal(&call, c->expected, why);
  else if (call.status != WFE_OK)
    wfe_buf_printf(why, "interpret failed: %s (%s)",
                   wfe_error_message(&call.err),
                   call.err.reason ? call.err.reason : "no reason");
  else
    ok = check_json_equal(wfe_buf_str(&call.out), c->expected, why);
  check_call_free(&call);
  return ok;
}

/* Renders `text` twice; 1 when both answers are the same bytes. */
static int renders_alike(struct check_kit *kit, const char *label,
                         const char *text, size_t len, struct wfe_buf *why)
{
  struct check_call first = CHECK_CALL_INIT, second = CHECK_CALL_INIT;
  check_call_render(kit, kit->instance, text, len, &first);
  check_call_render(kit, kit->instance, text, len, &second);
  int same = first.status == second.status && first.out.len == second.out.len &&
             memcmp(wfe_buf_str(&first.out), wfe_buf_str(&second.out),
                    first.out.len) == 0;
  if (!same)
    wfe_buf_printf(why, "%s: two renders of the same input differ", label);
  check_call_free(&first);
  check_call_free(&second);
  return same;
}

static int render_deterministic(struct check_kit *kit, const void *arg,
                                struct wfe_buf *why)
{
  (void)arg;
  int ok = renders_alike(kit, "the base execution", kit->execution,
                         kit->execution_len, why);
  for (size_t i = 0; ok && i < kit->vectors.render_count; i++) {
    const struct check_case *c = &kit->vectors.render[i];
    if (!c->config && !c->expects_error)
      ok = renders_alike(kit, c->name, c->input, c->input_len, why);
  }
  return ok;
}

/* The base execution with metadata `key` set to `value`, as JSON text
 * (caller frees); NULL when memory ran out. */
static char *execution_with(const struct check_kit *kit, const char *key,
                            const char *value)
{
  json_object *execution = wfe_json_parse(kit->execution, kit->execution_len);
  json_object *metadata = wfe_json_ensure_object(execution, "metadata");
  char *text = NULL;
  if (metadata && wfe_json_set_string(metadata, key, value) == 0) {
    const char *t = wfe_json_text(execution, NULL);
    text = t ? strdup(t) : NULL;
  }
  json_object_put(execution);
  return text;
}

/* The run name render gives `execution`; NULL with `why` when it fails. */
static char *rendered_name(struct check_kit *kit, const char *label,
                           const char *execution, struct wfe_buf *why)
{
  struct check_call call = CHECK_CALL_INIT;
  check_call_render(kit, kit->instance, execution, strlen(execution), &call);
  char *name = NULL;
  if (call.status != WFE_OK)
    wfe_buf_printf(why, "%s: render failed: %s", label,
                   wfe_error_message(&call.err));
  else if (!(name = check_run_name(wfe_buf_str(&call.out))))
    wfe_buf_printf(why, "%s: the run object has no metadata.name", label);
  check_call_free(&call);
  return name;
}

static int name_is_label(struct check_kit *kit, const char *label,
                         const char *execution, struct wfe_buf *why)
{
  char *name = rendered_name(kit, label, execution, why);
  int ok = name && wfe_is_dns_label(name);
  if (name && !ok)
    wfe_buf_printf(why,
                   "%s: run name \"%.80s\" (%zu characters) is not a DNS "
                   "label of at most 63",
                   label, name, strlen(name));
  free(name);
  return ok;
}

static int names_dns_label(struct check_kit *kit, const void *arg,
                           struct wfe_buf *why)
{
  (void)arg;
  /* The longest name the API server admits for a WorkflowExecution. */
  char long_name[254];
  memset(long_name, 'a', 253);
  long_name[253] = '\0';
  char *execution = execution_with(kit, "name", long_name);
  if (!execution)
    return wfe_buf_puts(why, "out of memory"), 0;
  int ok =
      name_is_label(kit, "a 253-character execution name", execution, why) &&
      name_is_label(kit, "the base execution", kit->execution, why);
  free(execution);
  for (size_t i = 0; ok && i < kit->vectors.render_count; i++) {
    const struct check_case *c = &kit->vectors.render[i];
    if (!c->config && !c->expects_error)
      ok = name_is_label(kit, c->name, c->input, why);
  }
  return ok;
}

static int names_uid_distinct(struct check_kit *kit, const void *arg,
                              struct wfe_buf *why)
{
  (void)arg;
  char *first =
      execution_with(kit, "uid", "0f8e1a52-5c3b-4d1e-9a7f-000000000001");
  char *second =
      execution_with(kit, "uid", "0f8e1a52-5c3b-4d1e-9a7f-000000000002");
  char *first_name = first ? rendered_name(kit, "uid 1", first, why) : NULL;
  char *second_name =
      first_name && second ? rendered_name(kit, "uid 2", second, why) : NULL;
  int ok = first_name && second_name && strcmp(first_name, second_name) != 0;
  if (first_name && second_name && !ok)
    wfe_buf_printf(why,
                   "two executions that differ only in metadata.uid both "
                   "get the run name \"%s\"",
                   first_name);
  if (!first || !second)
    wfe_buf_puts(why, "out of memory");
  free(first);
  free(second);
  free(first_name);
  free(second_name);
  return ok;
}

static int cancel(struct check_kit *kit, const void *arg, struct wfe_buf *why)
{
  (void)arg;
  struct check_call call = CHECK_CALL_INIT;
  check_call_cancel(kit, kit->run, kit->run_len, &call);
  int ok = 0;
  if (call.status == WFE_E_UNSUPPORTED)
    ok = check_error_shape(&call, why);
  else if (call.status != WFE_OK)
    wfe_buf_printf(why,
                   "cancel failed: %s; an engine that cannot cancel "
                   "returns WFE_E_UNSUPPORTED",
                   wfe_error_message(&call.err));
  else {
    json_object *patch = wfe_json_parse(wfe_buf_str(&call.out), call.out.len);
    ok = json_object_is_type(patch, json_type_object);
    if (!ok)
      wfe_buf_printf(why, "the patch is not a JSON object: %.200s",
                     wfe_buf_str(&call.out));
    json_object_put(patch);
  }
  check_call_free(&call);
  return ok;
}

static int describe(struct check_kit *kit, const void *arg, struct wfe_buf *why)
{
  (void)arg;
  if (!kit->engine->describe)
    return wfe_buf_puts(why, "the engine has no describe"), -1;
  struct check_call call = CHECK_CALL_INIT;
  call.status = kit->engine->describe(kit->instance, (wfe_buf *)&call.out,
                                      (wfe_error *)&call.err);
  json_object *doc = call.status == WFE_OK
                         ? wfe_json_parse(wfe_buf_str(&call.out), call.out.len)
                         : NULL;
  const char *name = wfe_json_get_string(doc, "name");
  int ok = name && strcmp(name, kit->engine->name) == 0;
  if (!ok)
    wfe_buf_printf(why,
                   "describe must answer a JSON object whose name is "
                   "the engine's: status %d, %.200s",
                   call.status, wfe_buf_str(&call.out));
  json_object_put(doc);
  check_call_free(&call);
  return ok;
}

/* Runs `fn` once per case, each as "<prefix>/<case name>". */
static int each_case(struct check_kit *kit, const char *prefix,
                     const struct check_case *cases, size_t count, check_fn fn)
{
  int rc = 0;
  for (size_t i = 0; !rc && i < count; i++) {
    char *name = NULL;
    if (asprintf(&name, "%s/%s", prefix, cases[i].name) < 0)
      return WFE_E_NOMEM;
    rc = check_isolated(kit, name, fn, &cases[i], 60);
    free(name);
  }
  return rc;
}

int check_render(struct check_kit *kit)
{
  const struct check_vectors *v = &kit->vectors;
  int rc = each_case(kit, "render.vector", v->render, v->render_count,
                     render_vector);
  if (!rc && v->render_count == 0)
    rc = check_report_add(&kit->report, "render.vector", 0, 1,
                          "no render vectors (--vectors DIR/render/)");
  if (!rc)
    rc = check_isolated(kit, "render.deterministic", render_deterministic, NULL,
                        60);
  if (!rc)
    rc = check_isolated(kit, "names.dns-label", names_dns_label, NULL, 60);
  if (!rc)
    rc =
        check_isolated(kit, "names.uid-distinct", names_uid_distinct, NULL, 60);
  return rc;
}

int check_interpret(struct check_kit *kit)
{
  const struct check_vectors *v = &kit->vectors;
  int rc = each_case(kit, "interpret.vector", v->interpret, v->interpret_count,
                     interpret_vector);
  if (!rc && v->interpret_count == 0)
    rc = check_report_add(&kit->report, "interpret.vector", 0, 1,
                          "no interpret vectors (--vectors DIR/interpret/)");
  if (!rc)
    rc = check_isolated(kit, "cancel", cancel, NULL, 30);
  if (!rc)
    rc = check_isolated(kit, "describe", describe, NULL, 30);
  return rc;
}
