/*
 * Reading a WorkflowExecution and checking what Tekton needs of it beyond
 * the generic contract the host already enforced: a bundle reference Tekton
 * can resolve, a digest that does not contradict the image's own, string
 * parameters whose names Tekton accepts and does not see as duplicates, and a
 * valid service account name. Render reads through the same code, so it never
 * emits a run that validate would refuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tekton.h"

/* Limits on the identity, far above what the API server allows (a UID is 36
 * characters), so that the run name's hash input has a fixed bound. */
#define TK_UID_MAX 128

static int check_length(const struct tk_ctx *ctx, const char *field,
                        const char *value, size_t max)
{
  if (strlen(value) <= max)
    return WFE_OK;
  return tk_fail(ctx, WFE_E_INVALID, "InvalidField", field,
                 "%s must be at most %zu characters", field, max);
}

static int read_metadata(const struct tk_ctx *ctx, json_object *document,
                         struct tk_execution *out)
{
  json_object *metadata;
  int rc =
      tk_member(ctx, document, "", "metadata", json_type_object, 1, &metadata);
  if (rc == WFE_OK)
    rc = tk_member_string(ctx, metadata, "metadata", "name", 1, &out->name);
  if (rc == WFE_OK)
    rc = tk_member_string(ctx, metadata, "metadata", "namespace", 0,
                          &out->namespace_name);
  if (rc == WFE_OK)
    rc = tk_member_string(ctx, metadata, "metadata", "uid", 0, &out->uid);
  if (rc != WFE_OK)
    return rc;
  if (!out->namespace_name)
    out->namespace_name = "";
  if (!out->uid)
    out->uid = "";
  if (out->name[0] == '\0')
    return tk_fail(ctx, WFE_E_INVALID, "InvalidField", "metadata.name",
                   "metadata.name must not be empty");
  rc = check_length(ctx, "metadata.name", out->name, TK_DNS_SUBDOMAIN_MAX);
  if (rc == WFE_OK)
    rc = check_length(ctx, "metadata.namespace", out->namespace_name,
                      TK_DNS_LABEL_MAX);
  if (rc == WFE_OK)
    rc = check_length(ctx, "metadata.uid", out->uid, TK_UID_MAX);
  return rc;
}

/* The bundle: a plausible OCI reference, and when spec.workflowRef pins a
 * digest that the image also carries, the same one. */
static int check_bundle(const struct tk_ctx *ctx, struct tk_execution *out)
{
  const char *problem;
  if (tk_parse_image(out->container_image, &out->image, &problem) != 0)
    return tk_fail(ctx, WFE_E_INVALID, "InvalidContainerImage",
                   "spec.workflowRef.containerImage",
                   "spec.workflowRef.containerImage \"%.300s\" is not a valid "
                   "OCI image reference: %s",
                   out->container_image, problem);
  const char *digest = out->container_digest;
  if (!digest)
    return WFE_OK;
  if (!tk_is_sha256_digest(digest, strlen(digest)))
    return tk_fail(ctx, WFE_E_INVALID, "InvalidDigest",
                   "spec.workflowRef.containerDigest",
                   "spec.workflowRef.containerDigest must be sha256: "
                   "followed by 64 lowercase hex digits");
  if (out->image.digest &&
      (out->image.digest_len != strlen(digest) ||
       memcmp(out->image.digest, digest, out->image.digest_len) != 0))
    return tk_fail(ctx, WFE_E_INVALID, "ConflictingDigest",
                   "spec.workflowRef.containerDigest",
                   "spec.workflowRef.containerDigest %s differs from the "
                   "digest %.*s already in spec.workflowRef.containerImage: "
                   "give the digest once, or the same one in both",
                   digest, (int)out->image.digest_len, out->image.digest);
  return WFE_OK;
}

static int read_workflow_ref(const struct tk_ctx *ctx, json_object *spec,
                             struct tk_execution *out)
{
  static const char path[] = "spec.workflowRef";
  json_object *ref;
  int rc =
      tk_member(ctx, spec, "spec", "workflowRef", json_type_object, 1, &ref);
  if (rc == WFE_OK)
    rc = tk_member_string(ctx, ref, path, "workflowId", 1, &out->workflow_id);
  if (rc == WFE_OK)
    rc = tk_member_string(ctx, ref, path, "version", 1, &out->version);
  if (rc == WFE_OK)
    rc = tk_member_string(ctx, ref, path, "containerImage", 1,
                          &out->container_image);
  if (rc == WFE_OK)
    rc = tk_member_string(ctx, ref, path, "containerDigest", 0,
                          &out->container_digest);
  if (rc == WFE_OK)
    rc = check_bundle(ctx, out);
  return rc;
}

/* Tekton's parameter name rule: letters, digits, '_', '-', '.', starting
 * with a letter or '_'. Our UPPER_SNAKE_CASE names always pass. */
static int is_tekton_param_name(const char *name)
{
  char c = name[0];
  if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
    return 0;
  for (const char *p = name; *p; p++) {
    c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
      return 0;
  }
  return 1;
}

static int ascii_casecmp(const char *a, const char *b)
{
  for (;; a++, b++) {
    int ca = (unsigned char)*a, cb = (unsigned char)*b;
    if (ca >= 'A' && ca <= 'Z')
      ca += 'a' - 'A';
    if (cb >= 'A' && cb <= 'Z')
      cb += 'a' - 'A';
    if (ca != cb || ca == 0)
      return ca - cb;
  }
}

static int compare_names_nocase(const void *a, const void *b)
{
  return ascii_casecmp(*(const char *const *)a, *(const char *const *)b);
}

static int compare_names(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int check_parameter(const struct tk_ctx *ctx, const char *name,
                           json_object *value)
{
  char field[512];
  snprintf(field, sizeof(field), "spec.parameters.%s", name);
  if (!is_tekton_param_name(name))
    return tk_fail(ctx, WFE_E_INVALID, "InvalidParameterName", field,
                   "%s: Tekton parameter names start with a letter or '_' "
                   "and contain only letters, digits, '_', '-' and '.'",
                   field);
  if (!json_object_is_type(value, json_type_string))
    return tk_fail(ctx, WFE_E_INVALID, "InvalidParameterValue", field,
                   "%s must be a string: parameters are passed to Tekton as "
                   "string params",
                   field);
  return WFE_OK;
}

/* Tekton rejects parameter names that differ only in case. `names` is sorted
 * case-insensitively, so such names are neighbours. */
static int check_duplicates(const struct tk_ctx *ctx, const char **names,
                            size_t count)
{
  for (size_t i = 1; i < count; i++) {
    if (ascii_casecmp(names[i - 1], names[i]) != 0)
      continue;
    char field[512];
    snprintf(field, sizeof(field), "spec.parameters.%s", names[i]);
    return tk_fail(ctx, WFE_E_INVALID, "DuplicateParameter", field,
                   "spec.parameters has both %.200s and %.200s: Tekton "
                   "rejects parameter names that differ only in case",
                   names[i - 1], names[i]);
  }
  return WFE_OK;
}

static int read_parameters(const struct tk_ctx *ctx, json_object *spec,
                           struct tk_execution *out)
{
  int rc = tk_member(ctx, spec, "spec", "parameters", json_type_object, 0,
                     &out->parameters);
  if (rc != WFE_OK || !out->parameters)
    return rc;
  size_t count = (size_t)json_object_object_length(out->parameters);
  if (count == 0)
    return WFE_OK;
  out->parameter_names = calloc(count, sizeof(*out->parameter_names));
  if (!out->parameter_names)
    return tk_nomem(ctx);
  json_object_object_foreach(out->parameters, key, value)
  {
    rc = check_parameter(ctx, key, value);
    if (rc != WFE_OK)
      return rc;
    out->parameter_names[out->parameter_count++] = key;
  }
  qsort(out->parameter_names, count, sizeof(*out->parameter_names),
        compare_names_nocase);
  rc = check_duplicates(ctx, out->parameter_names, count);
  qsort(out->parameter_names, count, sizeof(*out->parameter_names),
        compare_names);
  return rc;
}

static int read_execution_config(const struct tk_ctx *ctx, json_object *spec,
                                 struct tk_execution *out)
{
  static const char field[] = "spec.executionConfig.serviceAccountName";
  json_object *config;
  int rc = tk_member(ctx, spec, "spec", "executionConfig", json_type_object, 0,
                     &config);
  if (rc == WFE_OK)
    rc = tk_member_string(ctx, config, "spec.executionConfig",
                          "serviceAccountName", 0, &out->service_account);
  if (rc != WFE_OK || !out->service_account)
    return rc;
  if (!tk_is_dns_subdomain(out->service_account))
    return tk_fail(ctx, WFE_E_INVALID, "InvalidServiceAccountName", field,
                   "%s \"%.260s\" must be a DNS-1123 subdomain: at most 253 "
                   "lowercase letters, digits, '-' and '.', starting and "
                   "ending with a letter or digit",
                   field, out->service_account);
  return WFE_OK;
}

/* Reads the parts of `document` the engine uses into `out`, which has the
 * document set. */
static int execution_read(const struct tk_ctx *ctx, json_object *document,
                          struct tk_execution *out)
{
  json_object *spec;
  int rc = read_metadata(ctx, document, out);
  if (rc == WFE_OK)
    rc = tk_member(ctx, document, "", "spec", json_type_object, 1, &spec);
  if (rc == WFE_OK)
    rc = read_workflow_ref(ctx, spec, out);
  if (rc == WFE_OK)
    rc = read_parameters(ctx, spec, out);
  if (rc == WFE_OK)
    rc = read_execution_config(ctx, spec, out);
  return rc;
}

void tk_execution_free(struct tk_execution *execution)
{
  if (!execution)
    return;
  free(execution->parameter_names);
  json_object_put(execution->document);
  memset(execution, 0, sizeof(*execution));
}

int tk_execution_open(void *instance, const char *json, size_t len,
                      wfe_error *err, struct tk_ctx *ctx,
                      struct tk_execution *out)
{
  memset(out, 0, sizeof(*out));
  const struct tk_engine *engine = instance;
  if (!engine)
    return WFE_E_INTERNAL;
  ctx->host = engine->host;
  ctx->err = err;
  int rc = tk_parse(ctx, json, len, "WorkflowExecution",
                    "InvalidWorkflowExecution", &out->document);
  if (rc == WFE_OK)
    rc = execution_read(ctx, out->document, out);
  if (rc != WFE_OK)
    tk_execution_free(out);
  return rc;
}

int32_t tk_validate(void *instance, const char *execution_json,
                    size_t execution_len, wfe_error *err)
{
  struct tk_ctx ctx;
  struct tk_execution execution;
  int rc = tk_execution_open(instance, execution_json, execution_len, err, &ctx,
                             &execution);
  tk_execution_free(&execution);
  return rc;
}
