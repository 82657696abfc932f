/* A WorkflowExecution's run object; see run_object.h. */
#include "run_object.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dispatch.h"
#include "execution.h"
#include "json_util.h"

int wfe_run_select_engine(const struct wfe_registry *registry,
                          json_object *execution, const char *default_engine,
                          const struct wfe_engine_slot **out,
                          struct wfe_error *err)
{
  const char *name = wfe_execution_engine(execution, default_engine);
  *out = name ? wfe_registry_find(registry, name) : NULL;
  if (*out)
    return 0;
  struct wfe_buf loaded = WFE_BUF_INIT, why = WFE_BUF_INIT;
  int rc = wfe_registry_engine_names(registry, &loaded);
  if (!rc && name)
    rc = wfe_registry_why_missing(registry, name, &why);
  if (rc)
    rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  else
    rc = wfe_error_set(
        err, WFE_E_NOT_FOUND, 0, "UnsupportedEngine", "spec.workflowRef.engine",
        "spec.workflowRef.engine: engine \"%s\" is not "
        "loaded%s (loaded engines: %s)",
        name ? name : "", wfe_buf_str(&why), wfe_buf_str(&loaded));
  wfe_buf_free(&loaded);
  wfe_buf_free(&why);
  return rc;
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

int wfe_run_render(const struct wfe_engine_slot *slot, json_object *execution,
                   unsigned execution_flags, const char *run_namespace,
                   json_object **out, struct wfe_error *err)
{
  *out = NULL;
  int rc = wfe_execution_validate(execution, execution_flags, err);
  if (!rc)
    rc = wfe_dispatch_render(slot, execution, out, err);
  if (!rc && apply_identity(*out, execution, run_namespace)) {
    json_object_put(*out);
    *out = NULL;
    rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  }
  return rc;
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
