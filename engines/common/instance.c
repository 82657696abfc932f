/*
 * An engine instance's life cycle as every engine has it: the configuration
 * parsed and applied key by key onto a fresh instance, and the context each
 * operation on it starts from. The instance's layout is the engine's, except
 * that it begins with the host table. And the frame of an operation that
 * reads one document and answers with another.
 */
#include <stdlib.h>

#include "engine_kit.h"

/* What every instance from ek_create begins with. */
struct ek_instance_head {
  const wfe_host *host;
};

static int apply_config(const struct ek_ctx *ctx, void *instance,
                        json_object *config, ek_config_apply_fn apply)
{
  if (!config)
    return WFE_OK;
  json_object_object_foreach(config, key, value)
  {
    int rc = apply(ctx, instance, key, value);
    if (rc != WFE_OK)
      return rc;
  }
  return WFE_OK;
}

int ek_create(const wfe_host *host, const char *config_json, size_t config_len,
              const char *what, size_t size, void (*defaults)(void *instance),
              ek_config_apply_fn apply, void **out, wfe_error *err)
{
  struct ek_ctx ctx = {host, err};
  json_object *config = NULL;
  *out = NULL;
  if (size < sizeof(struct ek_instance_head))
    return ek_fail(&ctx, WFE_E_INTERNAL, "InternalError", NULL,
                   "%s: the instance has no room for its host", what);
  if (config_json && config_len) {
    int rc =
        ek_parse(&ctx, config_json, config_len, what, "InvalidConfig", &config);
    if (rc != WFE_OK)
      return rc;
  }
  struct ek_instance_head *instance = calloc(1, size);
  if (!instance) {
    json_object_put(config);
    return ek_nomem(&ctx);
  }
  instance->host = host;
  if (defaults)
    defaults(instance);
  int rc = apply_config(&ctx, instance, config, apply);
  json_object_put(config);
  if (rc != WFE_OK) {
    free(instance);
    return rc;
  }
  *out = instance;
  return WFE_OK;
}

int ek_ctx_open(const void *instance, wfe_error *err, struct ek_ctx *out)
{
  const struct ek_instance_head *head = instance;
  out->host = head ? head->host : NULL;
  out->err = err;
  return head ? WFE_OK : WFE_E_INTERNAL;
}

int ek_answer(const void *instance, const char *json, size_t len,
              const char *what, const char *reason, ek_answer_fn answer,
              wfe_buf *out, wfe_error *err)
{
  struct ek_ctx ctx;
  json_object *document = NULL, *result = NULL;
  int rc = ek_ctx_open(instance, err, &ctx);
  if (rc == WFE_OK)
    rc = ek_parse(&ctx, json, len, what, reason, &document);
  if (rc == WFE_OK)
    rc = answer(&ctx, instance, document, &result);
  json_object_put(document);
  if (rc != WFE_OK) {
    json_object_put(result);
    return rc;
  }
  return ek_emit_owned(&ctx, result, out);
}
