/*
 * The Job engine plugin: its descriptor and entry point, the instance life
 * cycle (configuration), cancel and describe. The operations that read
 * WorkflowExecutions and Jobs live in validate.c, render.c and interpret.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

#ifndef JOB_VERSION
#define JOB_VERSION "0.0.0"
#endif

#define JOB_DESCRIPTION                                                        \
  "Runs each WorkflowExecution as a Kubernetes batch/v1 Job of the "           \
  "workflow's container image, with its parameters as environment variables"

/* An integer configuration key: its bounds, default and where it goes. */
struct job_config_key {
  const char *key;
  int64_t min;
  int64_t max;
  int64_t fallback;
  size_t offset; /* of the int64_t in struct job_engine */
};

#define JOB_KEY(name, lo, hi, def, member)                                     \
  {                                                                            \
    name, lo, hi, def, offsetof(struct job_engine, member)                     \
  }

static const struct job_config_key config_keys[] = {
    JOB_KEY("activeDeadlineSeconds", 1, 604800, 3600, active_deadline_seconds),
    JOB_KEY("ttlSecondsAfterFinished", 0, 2592000, 86400,
            ttl_seconds_after_finished),
    JOB_KEY("imagePullGraceSeconds", 0, 86400, 300, image_pull_grace_seconds),
};

#define JOB_CONFIG_KEY_COUNT (sizeof(config_keys) / sizeof(config_keys[0]))

/* The value of key `k` in `engine` (const only while describe reads it). */
static int64_t *config_value(const struct job_engine *engine,
                             const struct job_config_key *k)
{
  return (int64_t *)(uintptr_t)((const char *)engine + k->offset);
}

static int apply_config_key(const struct ek_ctx *ctx, void *instance,
                            const char *key, json_object *value)
{
  for (size_t i = 0; i < JOB_CONFIG_KEY_COUNT; i++) {
    const struct job_config_key *k = &config_keys[i];
    if (strcmp(k->key, key) != 0)
      continue;
    int64_t number = json_object_get_int64(value);
    if (!json_object_is_type(value, json_type_int) || number < k->min ||
        number > k->max)
      return ek_fail(ctx, WFE_E_INVALID, "InvalidConfig", key,
                     "job engine configuration: %s must be an integer from "
                     "%" PRId64 " to %" PRId64,
                     key, k->min, k->max);
    *config_value(instance, k) = number;
    return WFE_OK;
  }
  return ek_fail(ctx, WFE_E_INVALID, "UnknownConfigKey", key,
                 "job engine configuration: unknown key \"%.200s\" (known: "
                 "activeDeadlineSeconds, ttlSecondsAfterFinished, "
                 "imagePullGraceSeconds)",
                 key);
}

static void set_defaults(void *instance)
{
  for (size_t i = 0; i < JOB_CONFIG_KEY_COUNT; i++)
    *config_value(instance, &config_keys[i]) = config_keys[i].fallback;
}

static int32_t job_create(const wfe_host *host, const char *config_json,
                          size_t config_len, void **out, wfe_error *err)
{
  return ek_create(host, config_json, config_len, "job engine configuration",
                   sizeof(struct job_engine), set_defaults, apply_config_key,
                   out, err);
}

static void job_destroy(void *instance)
{
  free(instance);
}

/* Suspending a Job makes the Job controller delete its active pods (they get
 * their termination grace period) and mark the Job Suspended; interpret
 * reads that as cancelled. */
static int32_t job_cancel(void *instance, const char *run_json, size_t run_len,
                          wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  int rc = ek_ctx_open(instance, err, &ctx);
  return rc ? rc : ek_emit_text(&ctx, "{\"spec\":{\"suspend\":true}}", out);
}

static json_object *new_config(const struct job_engine *engine)
{
  json_object *config = json_object_new_object();
  for (size_t i = 0; config && i < JOB_CONFIG_KEY_COUNT; i++) {
    const struct job_config_key *k = &config_keys[i];
    if (ek_add_int(config, k->key, *config_value(engine, k))) {
      json_object_put(config);
      return NULL;
    }
  }
  return config;
}

static json_object *new_description(const struct job_engine *engine)
{
  json_object *description = json_object_new_object();
  if (!description)
    return NULL;
  if (ek_add_string(description, "name", JOB_ENGINE_NAME) ||
      ek_add_string(description, "version", JOB_VERSION) ||
      ek_add_string(description, "description", JOB_DESCRIPTION) ||
      ek_add(description, "config", new_config(engine))) {
    json_object_put(description);
    return NULL;
  }
  return description;
}

static int32_t job_describe(void *instance, wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  int rc = ek_ctx_open(instance, err, &ctx);
  return rc ? rc : ek_emit_owned(&ctx, new_description(instance), out);
}

static const wfe_run_type job_run_type = {
    .struct_size = sizeof(wfe_run_type),
    .api_version = JOB_RUN_API_VERSION,
    .kind = JOB_RUN_KIND,
    .resource = JOB_RUN_RESOURCE,
    .has_status_subresource = 1,
};

static const wfe_engine job_engine = {
    .struct_size = sizeof(wfe_engine),
    .name = JOB_ENGINE_NAME,
    .version = JOB_VERSION,
    .description = JOB_DESCRIPTION,
    .run_type = &job_run_type,
    .create = job_create,
    .destroy = job_destroy,
    .validate = job_validate,
    .render = job_render,
    .interpret = job_interpret,
    .cancel = job_cancel,
    .describe = job_describe,
    .get_extension = NULL,
};

static const wfe_engine *const engines[] = {&job_engine};

WFE_PLUGIN_DEFINE("job", JOB_VERSION, NULL, NULL, engines)
