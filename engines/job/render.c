/*
 * Rendering a WorkflowExecution as a batch/v1 Job: one pod that runs the
 * workflow's image once (no retries, disruptions not counted), with the
 * parameters as its environment, under a security context that Pod Security
 * "restricted" admits, bounded by the configured deadline and cleaned up
 * after the configured time. The output is deterministic: members in a
 * fixed order, env sorted by name, and a name derived only from the
 * execution's identity. The host adds the namespace, the identity labels
 * and the ownerReference afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "job.h"

/* A new object that `fill` filled from `arg`; NULL when anything failed. */
typedef int (*fill_fn)(json_object *object, const void *arg);

static json_object *new_filled(fill_fn fill, const void *arg)
{
  json_object *object = json_object_new_object();
  if (object && fill(object, arg)) {
    json_object_put(object);
    return NULL;
  }
  return object;
}

static json_object *new_string_array(const char *only)
{
  json_object *array = json_object_new_array();
  if (array && ek_append(array, json_object_new_string(only))) {
    json_object_put(array);
    return NULL;
  }
  return array;
}

/* The image the container runs: pinned as "<name>@<digest>" when the
 * execution gives a digest, whatever tag or digest the reference had (a
 * digest there is the same one: validate refused another). Returns a
 * malloc'd string or NULL. */
static char *container_image(const struct ek_execution *execution)
{
  if (!execution->container_digest)
    return ek_strdup_printf("%s", execution->container_image);
  return ek_strdup_printf("%.*s@%s", (int)execution->image.name_len,
                          execution->image.name, execution->container_digest);
}

/* ---- the pod's security ------------------------------------------------- */

static int fill_seccomp(json_object *profile, const void *unused)
{
  return ek_add_string(profile, "type", "RuntimeDefault");
}

static int fill_pod_security(json_object *context, const void *unused)
{
  return ek_add_bool(context, "runAsNonRoot", 1) ||
         ek_add(context, "seccompProfile", new_filled(fill_seccomp, NULL));
}

static int fill_capabilities(json_object *capabilities, const void *unused)
{
  return ek_add(capabilities, "drop", new_string_array("ALL"));
}

static int fill_container_security(json_object *context, const void *unused)
{
  return ek_add_bool(context, "allowPrivilegeEscalation", 0) ||
         ek_add(context, "capabilities", new_filled(fill_capabilities, NULL)) ||
         ek_add_bool(context, "runAsNonRoot", 1);
}

/* ---- the container ------------------------------------------------------ */

struct env_var {
  const char *name;
  const char *value;
};

/* The kubelet expands "$(NAME)" in env values and turns "$$" into "$";
 * doubling every '$' makes the container see the parameter's value exactly.
 * Returns a malloc'd string or NULL. */
static char *escape_env_value(const char *value)
{
  size_t len = strlen(value), dollars = 0;
  for (const char *p = value; *p; p++)
    dollars += *p == '$';
  char *escaped = malloc(len + dollars + 1);
  if (!escaped)
    return NULL;
  char *q = escaped;
  for (const char *p = value; *p; p++) {
    if (*p == '$')
      *q++ = '$';
    *q++ = *p;
  }
  *q = '\0';
  return escaped;
}

static int fill_env_var(json_object *var, const void *arg)
{
  const struct env_var *env = arg;
  char *value = escape_env_value(env->value);
  int failed = !value || ek_add_string(var, "name", env->name) ||
               ek_add_string(var, "value", value);
  free(value);
  return failed;
}

static json_object *new_env(const struct ek_execution *execution)
{
  json_object *env = json_object_new_array();
  for (size_t i = 0; env && i < execution->parameter_count; i++) {
    struct env_var var = {execution->parameter_names[i], NULL};
    var.value = json_object_get_string(
        json_object_object_get(execution->parameters, var.name));
    if (ek_append(env, new_filled(fill_env_var, &var))) {
      json_object_put(env);
      return NULL;
    }
  }
  return env;
}

static int fill_container(json_object *container, const void *arg)
{
  const struct ek_execution *execution = arg;
  char *image = container_image(execution);
  int failed = !image || ek_add_string(container, "name", JOB_CONTAINER_NAME) ||
               ek_add_string(container, "image", image);
  free(image);
  if (!failed && execution->parameter_count)
    failed = ek_add(container, "env", new_env(execution));
  return failed || ek_add(container, "securityContext",
                          new_filled(fill_container_security, NULL));
}

/* ---- the pod template and the Job spec ---------------------------------- */

static int fill_pod_spec(json_object *spec, const void *arg)
{
  const struct ek_execution *execution = arg;
  json_object *containers = json_object_new_array();
  int failed = !containers || ek_add_string(spec, "restartPolicy", "Never");
  if (!failed && execution->service_account)
    failed =
        ek_add_string(spec, "serviceAccountName", execution->service_account);
  failed = failed ||
           ek_add(spec, "securityContext", new_filled(fill_pod_security, NULL));
  failed =
      failed || ek_append(containers, new_filled(fill_container, execution));
  if (failed) {
    json_object_put(containers);
    return -1;
  }
  return ek_add(spec, "containers", containers);
}

static int fill_template(json_object *template, const void *execution)
{
  return ek_add(template, "spec", new_filled(fill_pod_spec, execution));
}

/* Disruptions (preemption, eviction, node drain) do not count as failures:
 * with a backoff limit of 0 the Job gets another pod instead. */
static int fill_disruption_pattern(json_object *pattern, const void *unused)
{
  /* status defaults to True; older API servers require it written out. */
  return ek_add_string(pattern, "type", "DisruptionTarget") ||
         ek_add_string(pattern, "status", "True");
}

static int fill_ignore_disruptions(json_object *rule, const void *unused)
{
  json_object *conditions = json_object_new_array();
  if (!conditions ||
      ek_append(conditions, new_filled(fill_disruption_pattern, NULL))) {
    json_object_put(conditions);
    return -1;
  }
  return ek_add_string(rule, "action", "Ignore") ||
         ek_add(rule, "onPodConditions", conditions);
}

static int fill_pod_failure_policy(json_object *policy, const void *unused)
{
  json_object *rules = json_object_new_array();
  if (!rules || ek_append(rules, new_filled(fill_ignore_disruptions, NULL))) {
    json_object_put(rules);
    return -1;
  }
  return ek_add(policy, "rules", rules);
}

struct job_render {
  const struct job_engine *engine;
  const struct ek_execution *execution;
};

static int fill_job_spec(json_object *spec, const void *arg)
{
  const struct job_render *r = arg;
  return ek_add_int(spec, "backoffLimit", 0) ||
         ek_add_int(spec, "activeDeadlineSeconds",
                    r->engine->active_deadline_seconds) ||
         ek_add_int(spec, "ttlSecondsAfterFinished",
                    r->engine->ttl_seconds_after_finished) ||
         ek_add(spec, "podFailurePolicy",
                new_filled(fill_pod_failure_policy, NULL)) ||
         ek_add(spec, "template", new_filled(fill_template, r->execution));
}

/* ---- the Job ------------------------------------------------------------ */

/* Workflow ids and versions are free text, so they travel as annotations
 * (label values are capped at 63 restricted characters), as with tekton. */
static int fill_annotations(json_object *annotations, const void *arg)
{
  const struct ek_execution *execution = arg;
  return ek_add_string(annotations, "kubernaut.ai/workflow-id",
                       execution->workflow_id) ||
         ek_add_string(annotations, "kubernaut.ai/workflow-version",
                       execution->version);
}

static int fill_metadata(json_object *metadata, const void *arg)
{
  const struct job_render *r = arg;
  const struct ek_execution *execution = r->execution;
  char name[EK_DNS_LABEL_MAX + 1];
  return ek_run_name(r->engine->host, execution->namespace_name,
                     execution->name, execution->uid, name) ||
         ek_add_string(metadata, "name", name) ||
         ek_add(metadata, "annotations",
                new_filled(fill_annotations, execution));
}

static int fill_job(json_object *job, const void *r)
{
  return ek_add_string(job, "apiVersion", JOB_RUN_API_VERSION) ||
         ek_add_string(job, "kind", JOB_RUN_KIND) ||
         ek_add(job, "metadata", new_filled(fill_metadata, r)) ||
         ek_add(job, "spec", new_filled(fill_job_spec, r));
}

static json_object *new_job(const void *instance,
                            const struct ek_execution *execution)
{
  struct job_render r = {instance, execution};
  return new_filled(fill_job, &r);
}

int32_t job_render(void *instance, const char *execution_json,
                   size_t execution_len, wfe_buf *out, wfe_error *err)
{
  return ek_render(instance, execution_json, execution_len,
                   job_check_parameters, new_job, out, err);
}
