/*
 * Validating and rendering a WorkflowExecution as an Argo Workflow. The
 * execution is read by the kit (identity, workflowRef, parameters, service
 * account); the engine adds Argo's rule for parameters and resolves the
 * WorkflowTemplate the Workflow references: the configured mapping for the
 * workflowId, or the workflowId itself made a DNS-1123 subdomain. Render
 * goes through the same checks, so it never emits a Workflow that validate
 * would refuse. The output is deterministic: members in a fixed order,
 * arguments sorted by name, a name derived only from the execution's
 * identity. containerImage and containerDigest play no part: the template
 * names its own images.
 */
#include <stdlib.h>
#include <string.h>

#include "argo.h"

/* ---- validate ------------------------------------------------------------ */

/* Argo's parameter names: ^[-a-zA-Z0-9_]+$. */
static int is_argo_parameter_name(const char *name)
{
  if (!*name)
    return 0;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
      return 0;
  return 1;
}

static int check_parameter(const struct ek_ctx *ctx, const char *name,
                           json_object *value)
{
  char *field = ek_parameter_field(name);
  if (!field)
    return ek_nomem(ctx);
  int rc = WFE_OK;
  if (!is_argo_parameter_name(name))
    rc = ek_fail(ctx, WFE_E_INVALID, "InvalidParameterName", field,
                 "%s: Argo parameter names contain only letters, digits, "
                 "'-' and '_'",
                 field);
  else if (!json_object_is_type(value, json_type_string))
    rc = ek_fail(ctx, WFE_E_INVALID, "InvalidParameterValue", field,
                 "%s must be a string: parameters are passed to the Workflow "
                 "as its arguments' values",
                 field);
  free(field);
  return rc;
}

/* The kit's parameters hook: in name order, so the first error reported
 * does not depend on the document's member order. */
static int check_parameters(const struct ek_ctx *ctx,
                            const struct ek_execution *execution)
{
  for (size_t i = 0; i < execution->parameter_count; i++) {
    const char *name = execution->parameter_names[i];
    int rc = check_parameter(
        ctx, name, json_object_object_get(execution->parameters, name));
    if (rc != WFE_OK)
      return rc;
  }
  return WFE_OK;
}

/* ---- the template ---------------------------------------------------------
 */

static int is_subdomain_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

/* `workflow_id` made a DNS-1123 subdomain: lowercased, every other
 * character outside [a-z0-9.-] turned into '-', leading and trailing '-'
 * and '.' dropped. Returns a malloc'd string (maybe still not a subdomain:
 * the caller checks), or NULL when memory ran out. */
static char *derive_template_name(const char *workflow_id)
{
  size_t len = strlen(workflow_id);
  char *name = malloc(len + 1);
  if (!name)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    char c = workflow_id[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    name[i] = is_subdomain_char(c) ? c : '-';
  }
  size_t start = 0, end = len;
  while (start < end && (name[start] == '-' || name[start] == '.'))
    start++;
  while (end > start && (name[end - 1] == '-' || name[end - 1] == '.'))
    end--;
  memmove(name, name + start, end - start);
  name[end - start] = '\0';
  return name;
}

/* Sets *out to the WorkflowTemplate name for `execution` (malloc'd). */
static int resolve_template(const struct ek_ctx *ctx,
                            const struct argo_engine *engine,
                            const struct ek_execution *execution, char **out)
{
  static const char field[] = "spec.workflowRef.workflowId";
  json_object *mapped = NULL;
  *out = NULL;
  if (engine->templates &&
      json_object_object_get_ex(engine->templates, execution->workflow_id,
                                &mapped))
    *out = ek_strdup_printf("%s", json_object_get_string(mapped));
  else
    *out = derive_template_name(execution->workflow_id);
  if (!*out)
    return ek_nomem(ctx);
  if (ek_is_dns_subdomain(*out))
    return WFE_OK;
  free(*out);
  *out = NULL;
  return ek_fail(ctx, WFE_E_INVALID, "InvalidWorkflowId", field,
                 "%s \"%.260s\" cannot name an Argo WorkflowTemplate: made "
                 "lowercase, with characters other than letters, digits, '-' "
                 "and '.' turned into '-' and trimmed, it is no DNS-1123 "
                 "subdomain; map it to a template name in the argo engine's "
                 "\"templates\" configuration",
                 field, execution->workflow_id);
}

/* An execution read and resolved for one operation. */
struct argo_execution {
  struct ek_ctx ctx;
  struct ek_execution execution;
  char *template_name;
};

static int argo_execution_open(void *instance, const char *json, size_t len,
                               wfe_error *err, struct argo_execution *out)
{
  out->template_name = NULL;
  int rc = ek_execution_open(instance, json, len, err, check_parameters,
                             &out->ctx, &out->execution);
  if (rc == WFE_OK)
    rc = resolve_template(&out->ctx, instance, &out->execution,
                          &out->template_name);
  return rc;
}

static void argo_execution_free(struct argo_execution *execution)
{
  ek_execution_free(&execution->execution);
  free(execution->template_name);
  execution->template_name = NULL;
}

int32_t argo_validate(void *instance, const char *execution_json,
                      size_t execution_len, wfe_error *err)
{
  struct argo_execution e;
  int rc =
      argo_execution_open(instance, execution_json, execution_len, err, &e);
  argo_execution_free(&e);
  return rc;
}

/* ---- render ---------------------------------------------------------------
 */

/* Puts both objects and answers NULL: for a failed construction. */
static json_object *drop(json_object *a, json_object *b)
{
  json_object_put(a);
  json_object_put(b);
  return NULL;
}

/* The run name and the workflow's identity. Workflow ids and versions are
 * free text, so they travel as annotations, as with the other engines. */
static json_object *new_metadata(const struct argo_engine *engine,
                                 const struct ek_execution *execution)
{
  char name[EK_DNS_LABEL_MAX + 1];
  json_object *metadata = json_object_new_object();
  json_object *annotations = json_object_new_object();
  if (!metadata || !annotations ||
      ek_run_name(engine->host, execution->namespace_name, execution->name,
                  execution->uid, name) ||
      ek_add_string(metadata, "name", name) ||
      ek_add_string(annotations, "kubernaut.ai/workflow-id",
                    execution->workflow_id) ||
      ek_add_string(annotations, "kubernaut.ai/workflow-version",
                    execution->version))
    return drop(metadata, annotations);
  return ek_add(metadata, "annotations", annotations) ? drop(metadata, NULL)
                                                      : metadata;
}

/* {name[, clusterScope: true]}: a WorkflowTemplate, or with clusterScope a
 * ClusterWorkflowTemplate. */
static json_object *new_template_ref(const struct argo_engine *engine,
                                     const char *template_name)
{
  json_object *ref = json_object_new_object();
  if (!ref || ek_add_string(ref, "name", template_name) ||
      (engine->cluster_scope && ek_add_bool(ref, "clusterScope", 1)))
    return drop(ref, NULL);
  return ref;
}

/* One argument, {name, value}: the value taken with its length, so it
 * reaches the Workflow exactly as given. */
static json_object *new_argument(const struct ek_execution *execution,
                                 const char *name)
{
  json_object *value = json_object_object_get(execution->parameters, name);
  json_object *argument = json_object_new_object();
  if (!argument || ek_add_string(argument, "name", name) ||
      ek_add(argument, "value",
             json_object_new_string_len(json_object_get_string(value),
                                        json_object_get_string_len(value))))
    return drop(argument, NULL);
  return argument;
}

/* {parameters: [...]} in name order. */
static json_object *new_arguments(const struct ek_execution *execution)
{
  json_object *arguments = json_object_new_object();
  json_object *parameters = json_object_new_array();
  if (!arguments || !parameters)
    return drop(arguments, parameters);
  for (size_t i = 0; i < execution->parameter_count; i++)
    if (ek_append(parameters,
                  new_argument(execution, execution->parameter_names[i])))
      return drop(arguments, parameters);
  return ek_add(arguments, "parameters", parameters) ? drop(arguments, NULL)
                                                     : arguments;
}

static json_object *new_spec(const struct argo_engine *engine,
                             const struct argo_execution *e)
{
  const struct ek_execution *execution = &e->execution;
  json_object *spec = json_object_new_object();
  if (!spec ||
      ek_add(spec, "workflowTemplateRef",
             new_template_ref(engine, e->template_name)) ||
      (execution->parameter_count &&
       ek_add(spec, "arguments", new_arguments(execution))) ||
      ek_add_optional(spec, "serviceAccountName", execution->service_account) ||
      ek_add_int(spec, "activeDeadlineSeconds",
                 engine->active_deadline_seconds))
    return drop(spec, NULL);
  return spec;
}

static json_object *new_workflow(const struct argo_engine *engine,
                                 const struct argo_execution *e)
{
  json_object *workflow = json_object_new_object();
  if (!workflow ||
      ek_add_string(workflow, "apiVersion", ARGO_RUN_API_VERSION) ||
      ek_add_string(workflow, "kind", ARGO_RUN_KIND) ||
      ek_add(workflow, "metadata", new_metadata(engine, &e->execution)) ||
      ek_add(workflow, "spec", new_spec(engine, e)))
    return drop(workflow, NULL);
  return workflow;
}

int32_t argo_render(void *instance, const char *execution_json,
                    size_t execution_len, wfe_buf *out, wfe_error *err)
{
  struct argo_execution e;
  int rc =
      argo_execution_open(instance, execution_json, execution_len, err, &e);
  if (rc == WFE_OK)
    rc = ek_emit_owned(&e.ctx, new_workflow(instance, &e), out);
  argo_execution_free(&e);
  return rc;
}
