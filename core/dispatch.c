/* Engine dispatch and run identity; see dispatch.h. */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

#include <wfe/engine.h>

#include "buf.h"
#include "execution.h"
#include "json_util.h"

int wfe_dispatch_select(const struct wfe_registry *registry,
                        json_object *execution, const char *default_engine,
                        const struct wfe_engine_slot **out,
                        struct wfe_error *err)
{
  const char *name = wfe_execution_engine(execution, default_engine);
  *out = name ? wfe_registry_find(registry, name) : NULL;
  if (*out)
    return 0;
  struct wfe_buf loaded = WFE_BUF_INIT;
  if (wfe_registry_engine_names(registry, &loaded))
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  int rc = wfe_error_set(err, WFE_E_NOT_FOUND, 0, "UnsupportedEngine",
                         "spec.workflowRef.engine",
                         "spec.workflowRef.engine: engine \"%s\" is not "
                         "loaded (loaded engines: %s)",
                         name ? name : "", wfe_buf_str(&loaded));
  wfe_buf_free(&loaded);
  return rc;
}

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

static int set_label(json_object *labels, const char *key, const char *value)
{
  return value ? wfe_json_set_string(labels, key, value) : 0;
}

/* Writes the identity the core owns over whatever the engine put there. */
static int apply_identity(json_object *run, json_object *execution,
                          const char *run_namespace)
{
  const char *ns = wfe_json_get_string(execution, "metadata.namespace");
  const char *name = wfe_json_get_string(execution, "metadata.name");
  const char *uid = wfe_json_get_string(execution, "metadata.uid");
  if (!ns)
    ns = "default";
  if (!run_namespace)
    run_namespace = ns;

  json_object *metadata = wfe_json_ensure_object(run, "metadata");
  json_object *labels = wfe_json_ensure_object(run, "metadata.labels");
  json_object *annotations =
      wfe_json_ensure_object(run, "metadata.annotations");
  if (!metadata || !labels || !annotations)
    return WFE_E_NOMEM;

  struct wfe_buf key = WFE_BUF_INIT;
  int rc = wfe_buf_printf(&key, "%s/%s", ns, name);
  if (!rc)
    rc = wfe_json_set_string(metadata, "namespace", run_namespace);
  if (!rc)
    rc = set_label(labels, WFE_LABEL_MANAGED_BY, WFE_MANAGED_BY);
  if (!rc)
    rc = set_label(labels, WFE_LABEL_SOURCE_NAMESPACE, ns);
  json_object_object_del(labels, WFE_LABEL_EXECUTION);
  if (!rc && strlen(name) <= 63)
    rc = set_label(labels, WFE_LABEL_EXECUTION, name);
  json_object_object_del(labels, WFE_LABEL_EXECUTION_UID);
  if (!rc)
    rc = set_label(labels, WFE_LABEL_EXECUTION_UID, uid);
  if (!rc)
    rc = wfe_json_set_string(annotations, WFE_ANNOTATION_EXECUTION,
                             wfe_buf_str(&key));
  wfe_buf_free(&key);
  json_object_object_del(metadata, "ownerReferences");
  if (rc || !uid || strcmp(run_namespace, ns) != 0)
    return rc;

  /* Same namespace: the garbage collector deletes the run with its owner. */
  json_object *owners = json_object_new_array();
  json_object *owner = json_object_new_object();
  if (!owners || !owner || json_object_array_add(owners, owner)) {
    json_object_put(owner);
    json_object_put(owners);
    return WFE_E_NOMEM;
  }
  json_object_object_add(metadata, "ownerReferences", owners);
  if (wfe_json_set_string(owner, "apiVersion", WFE_EXECUTION_API_VERSION) ||
      wfe_json_set_string(owner, "kind", WFE_EXECUTION_KIND) ||
      wfe_json_set_string(owner, "name", name) ||
      wfe_json_set_string(owner, "uid", uid) ||
      json_object_object_add(owner, "controller", json_object_new_boolean(1)) ||
      json_object_object_add(owner, "blockOwnerDeletion",
                             json_object_new_boolean(1)))
    return WFE_E_NOMEM;
  return 0;
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
                        json_object *execution, const char *run_namespace,
                        json_object **out, struct wfe_error *err)
{
  *out = NULL;
  int rc = wfe_execution_validate(execution, err);
  if (rc)
    return rc;
  size_t len = 0;
  const char *text = wfe_json_text(execution, &len);
  if (!text)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  const wfe_engine *engine = slot->engine;
  rc = engine->validate(slot->instance, text, len, err);
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
  if (!rc && apply_identity(run, execution, run_namespace))
    rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
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

const char *wfe_run_execution_key(json_object *run)
{
  json_object *annotations = wfe_json_get(run, "metadata.annotations");
  json_object *value = NULL;
  if (!json_object_is_type(annotations, json_type_object) ||
      !json_object_object_get_ex(annotations, WFE_ANNOTATION_EXECUTION,
                                 &value) ||
      !json_object_is_type(value, json_type_string))
    return NULL;
  const char *key = json_object_get_string(value);
  const char *slash = strchr(key, '/');
  return slash && slash != key && slash[1] && !strchr(slash + 1, '/') ? key
                                                                      : NULL;
}

int wfe_run_belongs_to(json_object *run, const char *uid)
{
  json_object *labels = wfe_json_get(run, "metadata.labels");
  json_object *value = NULL;
  return uid && json_object_is_type(labels, json_type_object) &&
         json_object_object_get_ex(labels, WFE_LABEL_EXECUTION_UID, &value) &&
         json_object_is_type(value, json_type_string) &&
         strcmp(json_object_get_string(value), uid) == 0;
}
