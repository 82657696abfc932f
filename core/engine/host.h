/*
 * The host services table handed to engine plugins (wfe_host in the ABI):
 * logging into the core's logger, host-owned buffers and errors, SHA-256,
 * and a read-only object getter that the runtime supplies when a cluster is
 * there (offline commands pass none, and engines get WFE_E_UNSUPPORTED).
 */
#ifndef WFE_ENGINE_HOST_H
#define WFE_ENGINE_HOST_H

#include <stddef.h>

#include <wfe/engine.h>

#include "buf.h"
#include "error.h"

/* Reads one object; the arguments are already checked to be safe path
 * segments. Returns WFE_OK or a WFE_E_* code with `err` filled. */
typedef int (*wfe_object_getter_fn)(void *ctx, const char *api_version,
                                    const char *resource,
                                    const char *namespace_name,
                                    const char *name, struct wfe_buf *out,
                                    struct wfe_error *err);

struct wfe_host_services {
  wfe_host table; /* what plugins see; table.host_data points back here */
  wfe_object_getter_fn getter;
  void *getter_ctx;
};

/* Fills `services`; `getter` may be NULL (offline). `services` must outlive
 * every plugin that was given &services->table. */
void wfe_host_services_init(struct wfe_host_services *services,
                            wfe_object_getter_fn getter, void *getter_ctx);

/* Lowercase hex SHA-256 of a buffer (65 bytes with the NUL). */
void wfe_sha256_hex(const void *data, size_t len, char out_hex[65]);

/* Lowercase hex SHA-256 of a file's contents. Returns 0 or a WFE_E_* code
 * with `err` filled (naming the path). */
int wfe_sha256_file(const char *path, char out_hex[65], struct wfe_error *err);

#endif
