/*
 * Reading a WorkflowExecution: the fields every engine uses, checked beyond
 * the CRD's schema where an engine needs more (a run name needs bounded
 * identity fields, an image reference must parse, a digest must not
 * contradict the image's own). What an engine asks of the parameters it
 * checks through a hook, so validate and render share one reading and render
 * never emits a run validate would refuse.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_kit.h"

/* Limits on the identity, far above what the API server allows (a UID is 36
 * characters), so that the run name's hash input stays small. */
#define EK_UID_MAX 128

static int check_length(const struct ek_ctx *ctx, const char *field,
                        const char *value, size_t max)
{
  if (strlen(value) <= max)
    return WFE_OK;
  return ek_fail(ctx, WFE_E_INVALID, "InvalidField", field,
                 "%s must be at most %zu characters", field, max);
}

static int read_metadata(const struct ek_ctx *ctx, json_object *document,
                         struct ek_execution *out)
{
  json_object *metadata;
  int rc =
      ek_member(ctx, document, "", "metadata", json_type_object, 1, &metadata);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, metadata, "metadata", "name", 1, &out->name);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, metadata, "metadata", "namespace", 0,
                          &out->namespace_name);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, metadata, "metadata", "uid", 0, &out->uid);
  if (rc != WFE_OK)
    return rc;
  if (!out->namespace_name)
    out->namespace_name = "";
  if (!out->uid)
    out->uid = "";
  if (out->name[0] == '\0')
    return ek_fail(ctx, WFE_E_INVALID, "InvalidField", "metadata.name",
                   "metadata.name must not be empty");
  rc = check_length(ctx, "metadata.name", out->name, EK_DNS_SUBDOMAIN_MAX);
  if (rc == WFE_OK)
    rc = check_length(ctx, "metadata.namespace", out->namespace_name,
                      EK_DNS_LABEL_MAX);
  if (rc == WFE_OK)
    rc = check_length(ctx, "metadata.uid", out->uid, EK_UID_MAX);
  return rc;
}

/* The image: a plausible OCI reference, and when spec.workflowRef pins a
 * digest that the image also carries, the same one. */
static int check_image(const struct ek_ctx *ctx, struct ek_execution *out)
{
  const char *problem;
  if (ek_parse_image(out->container_image, &out->image, &problem) != 0)
    return ek_fail(ctx, WFE_E_INVALID, "InvalidContainerImage",
                   "spec.workflowRef.containerImage",
                   "spec.workflowRef.containerImage \"%.300s\" is not a valid "
                   "OCI image reference: %s",
                   out->container_image, problem);
  const char *digest = out->container_digest;
  if (!digest)
    return WFE_OK;
  if (!ek_is_sha256_digest(digest, strlen(digest)))
    return ek_fail(ctx, WFE_E_INVALID, "InvalidDigest",
                   "spec.workflowRef.containerDigest",
                   "spec.workflowRef.containerDigest must be sha256: "
                   "followed by 64 lowercase hex digits");
  if (out->image.digest &&
      (out->image.digest_len != strlen(digest) ||
       memcmp(out->image.digest, digest, out->image.digest_len) != 0))
    return ek_fail(ctx, WFE_E_INVALID, "ConflictingDigest",
                   "spec.workflowRef.containerDigest",
                   "spec.workflowRef.containerDigest %s differs from the "
                   "digest %.*s already in spec.workflowRef.containerImage: "
                   "give the digest once, or the same one in both",
                   digest, (int)out->image.digest_len, out->image.digest);
  return WFE_OK;
}

static int read_workflow_ref(const struct ek_ctx *ctx, json_object *spec,
                             struct ek_execution *out)
{
  static const char path[] = "spec.workflowRef";
  json_object *ref;
  int rc =
      ek_member(ctx, spec, "spec", "workflowRef", json_type_object, 1, &ref);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, ref, path, "workflowId", 1, &out->workflow_id);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, ref, path, "version", 1, &out->version);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, ref, path, "containerImage", 1,
                          &out->container_image);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, ref, path, "containerDigest", 0,
                          &out->container_digest);
  if (rc == WFE_OK)
    rc = check_image(ctx, out);
  return rc;
}

static int compare_names(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int read_parameters(const struct ek_ctx *ctx, json_object *spec,
                           ek_parameters_check_fn check_parameters,
                           struct ek_execution *out)
{
  int rc = ek_member(ctx, spec, "spec", "parameters", json_type_object, 0,
                     &out->parameters);
  if (rc != WFE_OK || !out->parameters)
    return rc;
  size_t count = (size_t)json_object_object_length(out->parameters);
  if (count > 0) {
    out->parameter_names = calloc(count, sizeof(*out->parameter_names));
    if (!out->parameter_names)
      return ek_nomem(ctx);
    json_object_object_foreach(out->parameters, key, value)
    {
      (void)value;
      out->parameter_names[out->parameter_count++] = key;
    }
    qsort(out->parameter_names, count, sizeof(*out->parameter_names),
          compare_names);
  }
  return check_parameters ? check_parameters(ctx, out) : WFE_OK;
}

static int read_execution_config(const struct ek_ctx *ctx, json_object *spec,
                                 struct ek_execution *out)
{
  static const char field[] = "spec.executionConfig.serviceAccountName";
  json_object *config;
  int rc = ek_member(ctx, spec, "spec", "executionConfig", json_type_object, 0,
                     &config);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, config, "spec.executionConfig",
                          "serviceAccountName", 0, &out->service_account);
  if (rc != WFE_OK || !out->service_account)
    return rc;
  if (!ek_is_dns_subdomain(out->service_account))
    return ek_fail(ctx, WFE_E_INVALID, "InvalidServiceAccountName", field,
                   "%s \"%.260s\" must be a DNS-1123 subdomain: at most 253 "
                   "lowercase letters, digits, '-' and '.', starting and "
                   "ending with a letter or digit",
                   field, out->service_account);
  return WFE_OK;
}

/* Reads the parts of `document` the engines use into `out`, which has the
 * document set. */
static int execution_read(const struct ek_ctx *ctx, json_object *document,
                          ek_parameters_check_fn check_parameters,
                          struct ek_execution *out)
{
  json_object *spec;
  int rc = read_metadata(ctx, document, out);
  if (rc == WFE_OK)
    rc = ek_member(ctx, document, "", "spec", json_type_object, 1, &spec);
  if (rc == WFE_OK)
    rc = read_workflow_ref(ctx, spec, out);
  if (rc == WFE_OK)
    rc = read_parameters(ctx, spec, check_parameters, out);
  if (rc == WFE_OK)
    rc = read_execution_config(ctx, spec, out);
  return rc;
}

void ek_execution_free(struct ek_execution *execution)
{
  if (!execution)
    return;
  free(execution->parameter_names);
  json_object_put(execution->document);
  memset(execution, 0, sizeof(*execution));
}

int ek_execution_open(const void *instance, const char *json, size_t len,
                      wfe_error *err, ek_parameters_check_fn check_parameters,
                      struct ek_ctx *ctx, struct ek_execution *out)
{
  memset(out, 0, sizeof(*out));
  int rc = ek_ctx_open(instance, err, ctx);
  if (rc == WFE_OK)
    rc = ek_parse(ctx, json, len, "WorkflowExecution",
                  "InvalidWorkflowExecution", &out->document);
  if (rc == WFE_OK)
    rc = execution_read(ctx, out->document, check_parameters, out);
  if (rc != WFE_OK)
    ek_execution_free(out);
  return rc;
}

int32_t ek_validate(const void *instance, const char *json, size_t len,
                    ek_parameters_check_fn check_parameters, wfe_error *err)
{
  struct ek_ctx ctx;
  struct ek_execution execution;
  int rc = ek_execution_open(instance, json, len, err, check_parameters, &ctx,
                             &execution);
  ek_execution_free(&execution);
  return rc;
}

int32_t ek_render(const void *instance, const char *json, size_t len,
                  ek_parameters_check_fn check_parameters, ek_build_fn build,
                  wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  struct ek_execution execution;
  int rc = ek_execution_open(instance, json, len, err, check_parameters, &ctx,
                             &execution);
  if (rc == WFE_OK)
    rc = ek_emit_owned(&ctx, build(instance, &execution), out);
  ek_execution_free(&execution);
  return rc;
}

static int has_nul(json_object *value)
{
  return strlen(json_object_get_string(value)) !=
         (size_t)json_object_get_string_len(value);
}

int ek_check_parameter(const struct ek_ctx *ctx,
                       const struct ek_parameter_rule *rule, const char *name,
                       json_object *value)
{
  char *field = ek_parameter_field(name);
  if (!field)
    return ek_nomem(ctx);
  int rc = WFE_OK;
  if (!ek_is_identifier(name, rule->name_extra))
    rc = ek_fail(ctx, WFE_E_INVALID, "InvalidParameterName", field, "%s: %s",
                 field, rule->name_rule);
  else if (!json_object_is_type(value, json_type_string))
    rc = ek_fail(ctx, WFE_E_INVALID, "InvalidParameterValue", field,
                 "%s must be a string: %s", field, rule->value_rule);
  else if (rule->refuse_nul && has_nul(value))
    rc = ek_fail(ctx, WFE_E_INVALID, "InvalidParameterValue", field,
                 "%s must not contain a NUL character: %s", field,
                 rule->value_rule);
  free(field);
  return rc;
}

char *ek_parameter_field(const char *name)
{
  return ek_strdup_printf("spec.parameters.%s", name);
}
