/* Calls into engines with their answers checked; see dispatch.h. */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

#include <wfe/engine.h>

#include "buf.h"
#include "json_util.h"
#include "names.h"

/* Runs one engine operation's error through: a missing record becomes a
 * generic one naming the engine, so no failure is ever silent. */
static int engine_failed(const struct wfe_engine_slot *slot, int rc,
                         const char *op, struct wfe_error *err)
{
  if (err && !err->reason)
    wfe_error_set(err, rc, 0, "EngineError", NULL, "engine %s: %s failed (%s)",
                  slot->engine->name, op, wfe_status_name(rc));
  if (err)
    err->code = rc;
  return rc;
}

static int malformed(const struct wfe_engine_slot *slot, const char *what,
                     struct wfe_error *err)
{
  return wfe_error_set(err, WFE_E_INTERNAL, 0, "EngineMalformedOutput", NULL,
                       "engine %s: %s", slot->engine->name, what);
}

/* What the core relies on in a rendered run object. */
static int check_rendered(const struct wfe_engine_slot *slot, json_object *run,
                          struct wfe_error *err)
{
  const wfe_run_type *type = slot->engine->run_type;
  if (!json_object_is_type(run, json_type_object))
    return malformed(slot, "render did not return a JSON object", err);
  const char *api_version = wfe_json_get_string(run, "apiVersion");
  const char *kind = wfe_json_get_string(run, "kind");
  if (!api_version || strcmp(api_version, type->api_version) || !kind ||
      strcmp(kind, type->kind))
    return malformed(slot,
                     "render returned another apiVersion/kind than "
                     "the engine's run type",
                     err);
  const char *name = wfe_json_get_string(run, "metadata.name");
  if (!wfe_is_dns_label(name))
    return malformed(slot,
                     "render returned a metadata.name that is not a "
                     "DNS label of at most 63 characters",
                     err);
  return 0;
}

int wfe_dispatch_render(const struct wfe_engine_slot *slot,
                        json_object *execution, json_object **out,
                        struct wfe_error *err)
{
  *out = NULL;
  size_t len = 0;
  const char *text = wfe_json_text(execution, &len);
  if (!text)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  const wfe_engine *engine = slot->engine;
  int rc = engine->validate(slot->instance, text, len, err);
  if (rc)
    return engine_failed(slot, rc, "validate", err);

  struct wfe_buf rendered = WFE_BUF_INIT;
  rc = engine->render(slot->instance, text, len, &rendered, err);
  if (rc) {
    wfe_buf_free(&rendered);
    return engine_failed(slot, rc, "render", err);
  }
  json_object *run = wfe_json_parse(wfe_buf_str(&rendered), rendered.len);
  wfe_buf_free(&rendered);
  if (!run)
    return malformed(slot, "render returned text that is not JSON", err);
  rc = check_rendered(slot, run, err);
  if (rc) {
    json_object_put(run);
    return rc;
  }
  *out = run;
  return 0;
}

static int one_of(const char *value, const char *const *allowed)
{
  for (; value && *allowed; allowed++)
    if (strcmp(value, *allowed) == 0)
      return 1;
  return 0;
}

int wfe_dispatch_interpret(const struct wfe_engine_slot *slot, json_object *run,
                           json_object **out, struct wfe_error *err)
{
  static const char *const phases[] = {"Pending", "Running", "Completed",
                                       "Failed", NULL};
  static const char *const outcomes[] = {"Success", "Failed", "Timeout", NULL};
  *out = NULL;
  size_t len = 0;
  const char *text = wfe_json_text(run, &len);
  if (!text)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  struct wfe_buf answer = WFE_BUF_INIT;
  int rc = slot->engine->interpret(slot->instance, text, len, &answer, err);
  if (rc) {
    wfe_buf_free(&answer);
    return engine_failed(slot, rc, "interpret", err);
  }
  json_object *status = wfe_json_parse(wfe_buf_str(&answer), answer.len);
  wfe_buf_free(&answer);
  const char *phase = wfe_json_get_string(status, "phase");
  const char *outcome = wfe_json_get_string(status, "outcome");
  int terminal =
      phase && (!strcmp(phase, "Completed") || !strcmp(phase, "Failed"));
  if (!json_object_is_type(status, json_type_object) ||
      !one_of(phase, phases) || (terminal && !one_of(outcome, outcomes))) {
    json_object_put(status);
    return malformed(slot, "interpret returned no valid phase/outcome", err);
  }
  *out = status;
  return 0;
}

int wfe_dispatch_cancel_patch(const struct wfe_engine_slot *slot,
                              json_object *run, char **out,
                              struct wfe_error *err)
{
  *out = NULL;
  size_t len = 0;
  const char *text = wfe_json_text(run, &len);
  if (!text)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  struct wfe_buf patch = WFE_BUF_INIT;
  int rc = slot->engine->cancel(slot->instance, text, len, &patch, err);
  if (rc) {
    wfe_buf_free(&patch);
    return engine_failed(slot, rc, "cancel", err);
  }
  json_object *parsed = wfe_json_parse(wfe_buf_str(&patch), patch.len);
  int ok = json_object_is_type(parsed, json_type_object);
  json_object_put(parsed);
  if (!ok) {
    wfe_buf_free(&patch);
    return malformed(slot, "cancel did not return a JSON merge patch", err);
  }
  *out = wfe_buf_steal(&patch);
  return 0;
}
