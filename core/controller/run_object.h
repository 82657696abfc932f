/*
 * A WorkflowExecution's run object, as the controller sees it: the engine
 * that makes it (spec.workflowRef.engine, or the default), the rendering
 * through the contract check and the engine, and the identity the core owns
 * on every run (namespace, labels, annotation, ownerReference), which maps a
 * run back to its execution and makes creation idempotent. The reconciler
 * and the offline `render` command share all of it, so what `render` prints
 * is what the controller creates.
 */
#ifndef WFE_CONTROLLER_RUN_OBJECT_H
#define WFE_CONTROLLER_RUN_OBJECT_H

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
int wfe_run_select_engine(const struct wfe_registry *registry,
                          json_object *execution, const char *default_engine,
                          const struct wfe_engine_slot **out,
                          struct wfe_error *err);

/*
 * Checks `execution` against the contract (`execution_flags` as for
 * wfe_execution_validate), has its engine validate and render it, and adds
 * the identity for creation in `run_namespace` (NULL: the execution's own
 * namespace, which gets an ownerReference when the uid is known). On
 * success *out is the complete run object (caller puts it). Errors are the
 * contract's (InvalidSpec) or the engine's (see wfe_dispatch_render).
 */
int wfe_run_render(const struct wfe_engine_slot *slot, json_object *execution,
                   unsigned execution_flags, const char *run_namespace,
                   json_object **out, struct wfe_error *err);

/* The "namespace/name" key of the WorkflowExecution a run object belongs
 * to, from its annotation; NULL when it is not ours. Borrowed. */
const char *wfe_run_execution_key(json_object *run);

/* Non-zero when `run` carries the identity of the execution with `uid`. */
int wfe_run_belongs_to(json_object *run, const char *uid);

#endif
