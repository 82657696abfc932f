/* Shared by glue.c and the cgo preamble of engine.go. */
#ifndef WFE_GO_GLUE_H
#define WFE_GO_GLUE_H

#include <stdint.h>

#include <wfe/engine.h>

enum { WFE_GO_VALIDATE, WFE_GO_RENDER, WFE_GO_INTERPRET, WFE_GO_CANCEL };

struct wfe_go_descriptor {
  const char *plugin_name, *plugin_version;
  const char *engine_name, *engine_version, *description;
  const char *api_version, *kind, *resource;
  int32_t has_status_subresource;
};

int32_t wfe_go_buf_append(const wfe_host *host, wfe_buf *buf, const char *data,
                          size_t len);
void wfe_go_error_set(const wfe_host *host, wfe_error *err, int32_t code,
                      int32_t retryable, const char *reason, const char *field,
                      const char *message);
void wfe_go_log(const wfe_host *host, int32_t level, const char *engine_name,
                const char *message);
void wfe_go_sha256_hex(const wfe_host *host, const void *data, size_t len,
                       char out[65]);

#endif
