/*
 * The host services table handed to engine plugins (wfe_host in the ABI):
 * logging, host-owned buffers and errors, SHA-256, and a read-only object
 * getter that the controller supplies when a cluster is there (offline
 * commands pass none, and engines get WFE_E_UNSUPPORTED). The same table
 * serves engines loaded in the controller and, with a logger and a getter
 * that travel over its socket, engines in an engine host process.
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

/* Lists objects (ABI 1.1 list_objects); the resource arguments are checked
 * like the getter's, the selectors are printable ASCII of at most
 * WFE_SELECTOR_MAX bytes ("" for none). Appends the API's list JSON, at most
 * WFE_LIST_MAX_ITEMS items. Returns WFE_OK or a WFE_E_* code with `err`
 * filled. */
typedef int (*wfe_object_lister_fn)(void *ctx, const char *api_version,
                                    const char *resource,
                                    const char *namespace_name,
                                    const char *label_selector,
                                    const char *field_selector,
                                    struct wfe_buf *out, struct wfe_error *err);

#define WFE_SELECTOR_MAX 1024

/* Writes one log line of an engine (`engine` may be NULL: the plugin). */
typedef void (*wfe_host_log_fn)(void *ctx, int level, const char *engine,
                                const char *message);

struct wfe_host_services {
  wfe_host table; /* what plugins see; table.host_data points back here */
  wfe_object_getter_fn getter;
  void *getter_ctx;
  wfe_object_lister_fn lister; /* NULL: list_objects is WFE_E_UNSUPPORTED */
  void *lister_ctx;
  wfe_host_log_fn log; /* NULL: the core's logger */
  void *log_ctx;
};

/* Fills `services`; `getter` may be NULL (offline). `services` must outlive
 * every plugin that was given &services->table. Set `log` afterwards to
 * send engine log lines elsewhere. */
void wfe_host_services_init(struct wfe_host_services *services,
                            wfe_object_getter_fn getter, void *getter_ctx);

/* Sets what answers list_objects (NULL: offline). */
void wfe_host_services_set_lister(struct wfe_host_services *services,
                                  wfe_object_lister_fn lister,
                                  void *lister_ctx);

/* Lowercase hex SHA-256 of a file's contents. Returns 0 or a WFE_E_* code
 * with `err` filled (naming the path). */
int wfe_sha256_file(const char *path, char out_hex[65], struct wfe_error *err);

#endif
