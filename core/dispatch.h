/*
 * Dispatch of a WorkflowExecution to its engine, and the run object's
 * identity. Everything the core does around an engine call lives here, so the
 * reconciler and the offline CLI behave the same: the contract check, engine
 * selection, the engine's own validation, rendering, and the metadata the
 * core owns on every run object (namespace, identity labels and annotation,
 * ownerReference). Engine output is checked before anything trusts it.
 */
#ifndef WFE_CORE_DISPATCH_H
#define WFE_CORE_DISPATCH_H

#include <json-c/json.h>

#include "error.h"
#include "plugin_loader.h"

/* The metadata that ties a run object to its WorkflowExecution. Label values
 * are capped at 63 characters, so the full "namespace/name" key travels in
 * an annotation and the labels serve selection. */
#define WFE_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define WFE_MANAGED_BY "wfe-controller"
#define WFE_LABEL_EXECUTION "kubernaut.ai/workflow-execution"
#define WFE_LABEL_SOURCE_NAMESPACE "kubernaut.ai/source-namespace"
#define WFE_LABEL_EXECUTION_UID "kubernaut.ai/workflow-execution-uid"
#define WFE_ANNOTATION_EXECUTION "kubernaut.ai/workflow-execution"

/*
 * Selects the engine named by spec.workflowRef.engine (or `default_engine`).
 * Returns 0, or WFE_E_NOT_FOUND with reason "UnsupportedEngine", field
 * spec.workflowRef.engine and a message listing the loaded engines.
 */
int wfe_dispatch_select(const struct wfe_registry *registry,
                        json_object *execution, const char *default_engine,
                        const struct wfe_engine_slot **out,
                        struct wfe_error *err);

/*
 * Validates `execution` (the contract, then the engine's own rules) and
 * renders its run object for creation in `run_namespace` (NULL: the
 * execution's own namespace, which gets an ownerReference when the uid is
 * known). On success *out is the complete run object (caller puts it).
 * Errors keep the engine's code, reason, field and retryable flag; a
 * malformed engine answer is WFE_E_INTERNAL naming the engine.
 */
int wfe_dispatch_render(const struct wfe_engine_slot *slot,
                        json_object *execution, const char *run_namespace,
                        json_object **out, struct wfe_error *err);

/*
 * Interprets a run object through its engine. *out is the engine's status
 * document, checked: "phase" is Pending/Running/Completed/Failed, terminal
 * phases carry "outcome" Success/Failed/Timeout.
 */
int wfe_dispatch_interpret(const struct wfe_engine_slot *slot, json_object *run,
                           json_object **out, struct wfe_error *err);

/* The merge patch that cancels `run`, as JSON text (caller frees). */
int wfe_dispatch_cancel_patch(const struct wfe_engine_slot *slot,
                              json_object *run, char **out,
                              struct wfe_error *err);

/* The "namespace/name" key of the WorkflowExecution a run object belongs
 * to, from its annotation; NULL when it is not ours. Borrowed. */
const char *wfe_run_execution_key(json_object *run);

/* Non-zero when `run` carries the identity of the execution with `uid`. */
int wfe_run_belongs_to(json_object *run, const char *uid);

#endif
