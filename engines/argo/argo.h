/*
 * The Argo engine's private declarations. The engine runs a
 * WorkflowExecution as an Argo Workflows Workflow that references a
 * WorkflowTemplate (or ClusterWorkflowTemplate) holding the workflow's
 * steps, with the execution's parameters as the Workflow's arguments, and
 * reads the Workflow's status (its phase, and its nodes for failure detail)
 * back into the ABI's interpret document. Built against the public ABI
 * header, json-c, zlib (compressed node status) and the engine kit only, as
 * a third party would.
 *
 * Files, by role: argo.c (the plugin descriptor, configuration, cancel,
 * describe), render.c (validate and render: the template an execution
 * resolves to, the Workflow), interpret.c (the Workflow's phase), nodes.c
 * (the failed node, from plain, compressed or offloaded node status).
 */
#ifndef WFE_ARGO_H
#define WFE_ARGO_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <wfe/engine.h>

#include "engine_kit.h"

#define ARGO_ENGINE_NAME "argo"
#define ARGO_RUN_API_VERSION "argoproj.io/v1alpha1"
#define ARGO_RUN_KIND "Workflow"
#define ARGO_RUN_RESOURCE "workflows"

/* An engine instance: the effective configuration. Immutable after create,
 * so every operation may run concurrently; `templates` is only ever read
 * (lookups and iteration, which do not change a json-c object). */
struct argo_engine {
  const wfe_host *host;
  int64_t active_deadline_seconds;
  int cluster_scope;
  /* workflowId -> WorkflowTemplate name, every value a DNS-1123 subdomain;
   * owned, NULL when the configuration maps nothing. */
  json_object *templates;
};

/* ---- render.c (validate and render) ------------------------------------ */

int32_t argo_validate(void *instance, const char *execution_json,
                      size_t execution_len, wfe_error *err);
int32_t argo_render(void *instance, const char *execution_json,
                    size_t execution_len, wfe_buf *out, wfe_error *err);

/* ---- interpret.c --------------------------------------------------------- */

int32_t argo_interpret(void *instance, const char *run_json, size_t run_len,
                       wfe_buf *out, wfe_error *err);

/* ---- nodes.c ------------------------------------------------------------- */

/* What a failed Workflow's node status says. */
struct argo_node_report {
  /* The failure object of the interpret document ({task, step, exitCode,
   * reason, message}) of the failed Pod node; owned, NULL for none. */
  json_object *failure;
  /* Why there is no failure detail when the node status could not be read
   * (offloaded, or compressed and unreadable): static text, or NULL. */
  const char *note;
};

/* Reads `status` (the Workflow's status object, or NULL) for the failed
 * Pod node: status.nodes, else status.compressedNodes, else notes that the
 * nodes were offloaded. A node status of an unexpected shape gives no
 * detail, never an error. Returns WFE_OK, or WFE_E_NOMEM (then `out` is
 * empty). */
int argo_read_nodes(const struct ek_ctx *ctx, json_object *status,
                    struct argo_node_report *out);

/* Frees what argo_read_nodes filled; accepts an empty report. */
void argo_node_report_free(struct argo_node_report *report);

#endif
