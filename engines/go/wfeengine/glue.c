/*
 * The C side of package wfeengine: the descriptors the host reads and the
 * functions it calls, each a thin call into the Go functions of engine.go
 * (cgo lets a file that exports Go functions declare C, not define it).
 */
#include <pthread.h>
#include <stdint.h>

#include <wfe/engine.h>

#include "_cgo_export.h"
#include "glue.h"

static wfe_run_type run_type = {sizeof(wfe_run_type), 0, 0, 0, 0};
static wfe_engine engine;
static const wfe_engine *engines[1] = {&engine};
static wfe_plugin plugin;
static pthread_once_t described = PTHREAD_ONCE_INIT;

static int32_t glue_create(const wfe_host *host, const char *config,
                           size_t config_len, void **out, wfe_error *err)
{
  uintptr_t handle = 0;
  int32_t rc =
      wfeGoCreate((wfe_host *)host, (char *)config, config_len, &handle, err);
  *out = (void *)handle;
  return rc;
}

static void glue_destroy(void *instance)
{
  wfeGoDestroy((uintptr_t)instance);
}

static int32_t glue_validate(void *instance, const char *json, size_t len,
                             wfe_error *err)
{
  return wfeGoCall(WFE_GO_VALIDATE, (uintptr_t)instance, (char *)json, len,
                   NULL, err);
}

static int32_t glue_render(void *instance, const char *json, size_t len,
                           wfe_buf *out, wfe_error *err)
{
  return wfeGoCall(WFE_GO_RENDER, (uintptr_t)instance, (char *)json, len, out,
                   err);
}

static int32_t glue_interpret(void *instance, const char *json, size_t len,
                              wfe_buf *out, wfe_error *err)
{
  return wfeGoCall(WFE_GO_INTERPRET, (uintptr_t)instance, (char *)json, len,
                   out, err);
}

static int32_t glue_cancel(void *instance, const char *json, size_t len,
                           wfe_buf *out, wfe_error *err)
{
  return wfeGoCall(WFE_GO_CANCEL, (uintptr_t)instance, (char *)json, len, out,
                   err);
}

/* The Go side fills the strings (allocated once, never freed: the
 * descriptors must outlive every call). */
static void describe(void)
{
  struct wfe_go_descriptor d = {0};
  wfeGoDescribe(&d);
  run_type.api_version = d.api_version;
  run_type.kind = d.kind;
  run_type.resource = d.resource;
  run_type.has_status_subresource = d.has_status_subresource;
  engine = (wfe_engine){
      sizeof(wfe_engine),
      d.engine_name,
      d.engine_version,
      d.description,
      &run_type,
      glue_create,
      glue_destroy,
      glue_validate,
      glue_render,
      glue_interpret,
      glue_cancel,
      NULL,
      NULL,
  };
  plugin = (wfe_plugin){
      sizeof(wfe_plugin),
      WFE_ENGINE_ABI_MAJOR,
      WFE_ENGINE_ABI_MINOR,
      d.plugin_name,
      d.plugin_version,
      NULL,
      NULL,
      d.engine_name ? 1 : 0,
      engines,
  };
}

WFE_PLUGIN_EXPORT const wfe_plugin *wfe_plugin_entry(void)
{
  if (pthread_once(&described, describe) != 0 || !plugin.name)
    return NULL;
  return &plugin;
}

/* Calls through the host table, which Go cannot call directly. */
int32_t wfe_go_buf_append(const wfe_host *host, wfe_buf *buf, const char *data,
                          size_t len)
{
  return host->buf_append(buf, data, len);
}

void wfe_go_error_set(const wfe_host *host, wfe_error *err, int32_t code,
                      int32_t retryable, const char *reason, const char *field,
                      const char *message)
{
  host->error_set(err, code, retryable, reason, field, message);
}

void wfe_go_log(const wfe_host *host, int32_t level, const char *engine_name,
                const char *message)
{
  host->log(host, level, engine_name, message);
}

void wfe_go_sha256_hex(const wfe_host *host, const void *data, size_t len,
                       char out[65])
{
  host->sha256_hex(data, len, out);
}
