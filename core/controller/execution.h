/*
 * The WorkflowExecution contract (kubernaut.ai/v1alpha1): the checks the CRD
 * schema makes, made again in the controller because a CRD can be older than
 * the controller, and because the offline CLI has no API server. Pure
 * functions over json-c; the reconciler and the `render` command share them.
 */
#ifndef WFE_CONTROLLER_EXECUTION_H
#define WFE_CONTROLLER_EXECUTION_H

#include <json-c/json.h>

#include "error.h"

#define WFE_EXECUTION_API_VERSION "kubernaut.ai/v1alpha1"
#define WFE_EXECUTION_KIND "WorkflowExecution"

/* Limits, the same as deploy/crd's schema. */
#define WFE_MAX_PARAMETERS 100
#define WFE_MAX_PARAMETER_NAME 63
#define WFE_MAX_PARAMETER_VALUE 32768
#define WFE_MAX_IMAGE_REF 512

/* The most bytes of an engine's message that status.message keeps: a longer
 * one is cut on a UTF-8 character boundary and ends "..." (its Event has it
 * whole, or the engine's detail). */
#define WFE_STATUS_MESSAGE_MAX 256

/*
 * Flags of wfe_execution_validate. Unknown fields are errors only with
 * WFE_EXECUTION_STRICT_FIELDS, as kubectl's strict field validation makes
 * them: for documents read from a file. An object read from the API server
 * has been pruned to the installed CRD's schema already, and that schema
 * may be newer than this controller: a field it admitted is never a reason
 * to fail.
 */
#define WFE_EXECUTION_STRICT_FIELDS 1u

/*
 * Checks `execution` against the contract, never more strictly than the
 * API server does (lengths count characters as the schema's maxLength does,
 * names follow apimachinery's rules). Returns 0, or WFE_E_INVALID with
 * err->field the first offending field, err->reason "InvalidSpec" and a
 * message naming every offending field and its rule ("; "-separated).
 */
int wfe_execution_validate(json_object *execution, unsigned flags,
                           struct wfe_error *err);

/* spec.workflowRef.engine, or `default_engine` when unset. Borrowed. */
const char *wfe_execution_engine(json_object *execution,
                                 const char *default_engine);

#endif
