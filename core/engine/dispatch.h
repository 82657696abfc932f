/*
 * Calls into an engine, with every answer checked before the core trusts it:
 * a rendered run must be a JSON object of the engine's declared run type
 * whose name is a DNS label; an interpretation must carry a known phase (and
 * an outcome when terminal); a cancel patch must be a JSON object. A failure
 * always comes back with a reason: an engine that fails without saying why
 * gets a generic one naming it. Knows engines, not the resource they run:
 * the WorkflowExecution contract and the run's identity are the
 * controller's.
 */
#ifndef WFE_ENGINE_DISPATCH_H
#define WFE_ENGINE_DISPATCH_H

#include <json-c/json.h>

#include "error.h"
#include "plugin_loader.h"

/*
 * Asks the engine to validate `execution`, then to render its run object.
 * On success *out is the engine's run object, checked (caller puts it).
 * Errors keep the engine's code, reason, field and retryable flag; a
 * malformed answer is WFE_E_INTERNAL with reason "EngineMalformedOutput"
 * naming the engine.
 */
int wfe_dispatch_render(const struct wfe_engine_slot *slot,
                        json_object *execution, json_object **out,
                        struct wfe_error *err);

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

#endif
