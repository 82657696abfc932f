/* Calls into engines with their answers checked; see dispatch.h. */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

#include <wfe/engine.h>

#include "buf.h"
#include "json_util.h"
#include "names.h"

/* "engine tekton (plugin /usr/lib/wfe/plugins.d/tekton.so)" */
#define ENGINE_FMT "engine %s (plugin %s)"
#define ENGINE_ARGS(slot) (slot)->engine->name, (slot)->plugin->path

/* Runs one engine operation's error through: a missing record becomes a
 * generic one naming the engine, so no failure is ever silent; an output
 * that outgrew the cap says so. */
static int engine_failed(const struct wfe_engine_slot *slot, int rc,
                         const char *op, const struct wfe_buf *output,
                         struct wfe_error *err)
{
  if (output && output->exceeded)
    return wfe_error_set(err, WFE_E_INTERNAL, 0, "EngineOutputTooLarge", NULL,
                         ENGINE_FMT " answered %s with more than %zu bytes "
                                    "(the cap): nothing was sent to the API "
                                    "server",
                         ENGINE_ARGS(slot), op, slot->max_output);
  if (err && !err->reason)
    wfe_error_set(err, rc, 0, "EngineError", NULL,
                  ENGINE_FMT ": %s failed (%s) without saying why",
                  ENGINE_ARGS(slot), op, wfe_status_name(rc));
  if (err)
    err->code = rc;
  return rc;
}

/* An answer the core cannot use: permanent, named after what is wrong. */
static int malformed(const struct wfe_engine_slot *slot, const char *reason,
                     const char *what, struct wfe_error *err)
{
  return wfe_error_set(err, WFE_E_INTERNAL, 0, reason, NULL, ENGINE_FMT ": %s",
                       ENGINE_ARGS(slot), what);
}

/* What the core relies on in a rendered run object. */
static int check_rendered(const struct wfe_engine_slot *slot, json_object *run,
                          struct wfe_error *err)
{
  const wfe_run_type *type = slot->engine->run_type;
  if (!json_object_is_type(run, json_type_object))
    return malformed(slot, "EngineMalformedOutput",
                     "render did not return a JSON object", err);
  const char *api_version = wfe_json_get_string(run, "apiVersion");
  const char *kind = wfe_json_get_string(run, "kind");
  if (!api_version || strcmp(api_version, type->api_version) || !kind ||
      strcmp(kind, type->kind)) {
    struct wfe_buf what = WFE_BUF_INIT;
    wfe_buf_printf(&what,
                   "render returned apiVersion \"%.100s\", kind \"%.100s\", "
                   "not the %s %s the engine declares",
                   api_version ? api_version : "", kind ? kind : "",
                   type->api_version, type->kind);
    int rc = malformed(slot, "EngineWrongRunType", wfe_buf_str(&what), err);
    wfe_buf_free(&what);
    return rc;
  }
  const char *name = wfe_json_get_string(run, "metadata.name");
  if (!wfe_is_dns_label(name)) {
    struct wfe_buf what = WFE_BUF_INIT;
    wfe_buf_printf(&what,
                   "render returned metadata.name \"%.100s\", which is not "
                   "a DNS label of at most 63 characters",
                   name ? name : "");
    int rc = malformed(slot, "EngineInvalidRunName", wfe_buf_str(&what), err);
    wfe_buf_free(&what);
    return rc;
  }
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
  struct wfe_buf rendered = WFE_BUF_INIT;
  rendered.limit = slot->max_output;
  int rc;
  if (slot->validate_render) {
    rc = slot->validate_render(slot->instance, text, len, (wfe_buf *)&rendered,
                               (wfe_error *)err);
  } else {
    rc = engine->validate(slot->instance, text, len, (wfe_error *)err);
    if (rc)
      return engine_failed(slot, rc, "validate", NULL, err);
    rc = engine->render(slot->instance, text, len, (wfe_buf *)&rendered,
                        (wfe_error *)err);
  }
  if (rc) {
    rc = engine_failed(slot, rc, "render", &rendered, err);
    wfe_buf_free(&rendered);
    return rc;
  }
  json_object *run = wfe_json_parse(wfe_buf_str(&rendered), rendered.len);
  wfe_buf_free(&rendered);
  if (!run)
    return malformed(slot, "EngineMalformedOutput",
                     "render returned text that is not JSON", err);
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
  answer.limit = slot->max_output;
  int rc = slot->engine->interpret(slot->instance, text, len,
                                   (wfe_buf *)&answer, (wfe_error *)err);
  if (rc) {
    rc = engine_failed(slot, rc, "interpret", &answer, err);
    wfe_buf_free(&answer);
    return rc;
  }
  json_object *status = wfe_json_parse(wfe_buf_str(&answer), answer.len);
  wfe_buf_free(&answer);
  if (!json_object_is_type(status, json_type_object)) {
    json_object_put(status);
    return malformed(slot, "EngineMalformedOutput",
                     "interpret did not return a JSON object", err);
  }
  const char *phase = wfe_json_get_string(status, "phase");
  const char *outcome = wfe_json_get_string(status, "outcome");
  int terminal =
      phase && (!strcmp(phase, "Completed") || !strcmp(phase, "Failed"));
  if (!one_of(phase, phases) || (terminal && !one_of(outcome, outcomes))) {
    struct wfe_buf what = WFE_BUF_INIT;
    wfe_buf_printf(&what,
                   "interpret returned phase \"%.60s\"%s%.60s%s: the phase "
                   "must be Pending, Running, Completed or Failed, and a "
                   "terminal one needs an outcome of Success, Failed or "
                   "Timeout",
                   phase ? phase : "", outcome ? ", outcome \"" : "",
                   outcome ? outcome : "", outcome ? "\"" : "");
    rc = malformed(slot, "EngineInvalidPhase", wfe_buf_str(&what), err);
    wfe_buf_free(&what);
    json_object_put(status);
    return rc;
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
  patch.limit = slot->max_output;
  int rc = slot->engine->cancel(slot->instance, text, len, (wfe_buf *)&patch,
                                (wfe_error *)err);
  if (rc) {
    rc = engine_failed(slot, rc, "cancel", &patch, err);
    wfe_buf_free(&patch);
    return rc;
  }
  json_object *parsed = wfe_json_parse(wfe_buf_str(&patch), patch.len);
  int ok = json_object_is_type(parsed, json_type_object);
  json_object_put(parsed);
  if (!ok) {
    wfe_buf_free(&patch);
    return malformed(slot, "EngineMalformedOutput",
                     "cancel did not return a JSON merge patch", err);
  }
  *out = wfe_buf_steal(&patch);
  return 0;
}
