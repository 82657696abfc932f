/*
 * Rendering a WorkflowExecution as a tekton.dev/v1 PipelineRun that takes its
 * Pipeline from an OCI bundle through Tekton's bundles resolver. The output
 * is deterministic: members in a fixed order, params sorted by name, and a
 * name derived only from the execution's identity. The host adds the
 * namespace, the identity labels and the ownerReference afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "tekton.h"

static json_object *new_param(const char *name, const char *value)
{
  json_object *param = json_object_new_object();
  if (!param)
    return NULL;
  if (ek_add_string(param, "name", name) ||
      ek_add_string(param, "value", value)) {
    json_object_put(param);
    return NULL;
  }
  return param;
}

static int add_param(json_object *params, const char *name, const char *value)
{
  return ek_append(params, new_param(name, value));
}

/* The bundle reference: the image, pinned with "@<digest>" when the
 * execution gives a digest and the image has none (when it has one, validate
 * made sure it is the same). Returns a malloc'd string or NULL. */
static char *bundle_reference(const struct ek_execution *execution)
{
  const char *image = execution->container_image;
  const char *digest = execution->container_digest;
  size_t image_len = strlen(image);
  size_t digest_len = digest && !execution->image.digest ? strlen(digest) : 0;
  char *bundle = malloc(image_len + 1 + digest_len + 1);
  if (!bundle)
    return NULL;
  memcpy(bundle, image, image_len);
  if (digest_len) {
    bundle[image_len] = '@';
    memcpy(bundle + image_len + 1, digest, digest_len);
    image_len += 1 + digest_len;
  }
  bundle[image_len] = '\0';
  return bundle;
}

static json_object *new_pipeline_ref(const struct tk_engine *engine,
                                     const struct ek_execution *execution)
{
  char *bundle = bundle_reference(execution);
  json_object *ref = json_object_new_object();
  json_object *params = json_object_new_array();
  int failed = !bundle || !ref || !params;
  failed = failed || add_param(params, "bundle", bundle) ||
           add_param(params, "name", engine->pipeline_name) ||
           add_param(params, "kind", "pipeline");
  if (!failed && engine->bundle_secret[0])
    failed = add_param(params, "secret", engine->bundle_secret);
  if (!failed && engine->bundle_service_account[0])
    failed =
        add_param(params, "serviceAccount", engine->bundle_service_account);
  free(bundle);
  if (!failed)
    failed = ek_add_string(ref, "resolver", "bundles");
  if (!failed) {
    failed = ek_add(ref, "params", params);
    params = NULL; /* ek_add took it, or put it */
  }
  json_object_put(params);
  if (failed) {
    json_object_put(ref);
    return NULL;
  }
  return ref;
}

static json_object *new_params(const struct ek_execution *execution)
{
  json_object *params = json_object_new_array();
  for (size_t i = 0; params && i < execution->parameter_count; i++) {
    const char *name = execution->parameter_names[i];
    json_object *value = json_object_object_get(execution->parameters, name);
    if (add_param(params, name, json_object_get_string(value))) {
      json_object_put(params);
      return NULL;
    }
  }
  return params;
}

static json_object *new_task_run_template(const char *service_account)
{
  json_object *run_template = json_object_new_object();
  if (run_template &&
      ek_add_string(run_template, "serviceAccountName", service_account)) {
    json_object_put(run_template);
    return NULL;
  }
  return run_template;
}

static json_object *new_spec(const struct tk_engine *engine,
                             const struct ek_execution *execution)
{
  json_object *spec = json_object_new_object();
  if (!spec)
    return NULL;
  int failed = ek_add(spec, "pipelineRef", new_pipeline_ref(engine, execution));
  if (!failed && execution->parameter_count)
    failed = ek_add(spec, "params", new_params(execution));
  if (!failed && execution->service_account)
    failed = ek_add(spec, "taskRunTemplate",
                    new_task_run_template(execution->service_account));
  if (failed) {
    json_object_put(spec);
    return NULL;
  }
  return spec;
}

/* Label values are capped at 63 restricted characters; workflow ids and
 * versions are free text, so they travel as annotations. */
static json_object *new_metadata(const struct tk_engine *engine,
                                 const struct ek_execution *execution)
{
  char name[EK_DNS_LABEL_MAX + 1];
  int named = ek_run_name(engine->host, execution->namespace_name,
                          execution->name, execution->uid, name) == 0;
  json_object *metadata = json_object_new_object();
  json_object *annotations = json_object_new_object();
  int failed = !named || !metadata || !annotations ||
               ek_add_string(annotations, "kubernaut.ai/workflow-id",
                             execution->workflow_id) ||
               ek_add_string(annotations, "kubernaut.ai/workflow-version",
                             execution->version) ||
               ek_add_string(metadata, "name", name);
  if (!failed) {
    failed = ek_add(metadata, "annotations", annotations);
    annotations = NULL;
  }
  json_object_put(annotations);
  if (failed) {
    json_object_put(metadata);
    return NULL;
  }
  return metadata;
}

static json_object *new_pipeline_run(const void *instance,
                                     const struct ek_execution *execution)
{
  const struct tk_engine *engine = instance;
  json_object *run = json_object_new_object();
  if (!run)
    return NULL;
  if (ek_add_string(run, "apiVersion", TK_RUN_API_VERSION) ||
      ek_add_string(run, "kind", TK_RUN_KIND) ||
      ek_add(run, "metadata", new_metadata(engine, execution)) ||
      ek_add(run, "spec", new_spec(engine, execution))) {
    json_object_put(run);
    return NULL;
  }
  return run;
}

int32_t tk_render(void *instance, const char *execution_json,
                  size_t execution_len, wfe_buf *out, wfe_error *err)
{
  return ek_render(instance, execution_json, execution_len, tk_check_parameters,
                   new_pipeline_run, out, err);
}
