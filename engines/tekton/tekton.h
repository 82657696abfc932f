/*
 * The Tekton engine's private declarations. The engine turns a
 * WorkflowExecution into a tekton.dev/v1 PipelineRun that runs a Pipeline
 * from an OCI bundle, and reads a PipelineRun's status (and its TaskRuns',
 * for failure detail) back into the ABI's interpret document. It is built
 * against the public ABI header and json-c only, as a third party would.
 *
 * Files, by role: tekton.c (the plugin descriptor, instance life cycle,
 * cancel, describe), validate.c, render.c, interpret.c, messages.c (what an
 * operator reads of a run's condition). JSON plumbing, names and the reading
 * of a WorkflowExecution come from the engine kit (engines/common).
 */
#ifndef WFE_TEKTON_H
#define WFE_TEKTON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <wfe/engine.h>

#include "engine_kit.h"

#define TK_ENGINE_NAME "tekton"
#define TK_RUN_API_VERSION "tekton.dev/v1"
#define TK_RUN_KIND "PipelineRun"
#define TK_DEFAULT_PIPELINE_NAME "workflow"

/* An engine instance: the effective configuration. Immutable after create,
 * so every operation may run concurrently. Empty strings mean "not set". */
struct tk_engine {
  const wfe_host *host;
  char pipeline_name[EK_DNS_LABEL_MAX + 1];
  char bundle_secret[EK_DNS_SUBDOMAIN_MAX + 1];
  char bundle_service_account[EK_DNS_SUBDOMAIN_MAX + 1];
};

/* ---- messages.c --------------------------------------------------------- */

/* What the interpret document says of a run: "message" for the execution's
 * status, short; "detail", Tekton's whole text, when the message leaves
 * some of it out. Both malloc'd, NULL for none. */
struct tk_text {
  char *message;
  char *detail;
};

/* Fills *out from the Succeeded condition's status ("True", "False",
 * "Unknown"), reason (not NULL) and message (the user-error prefix gone;
 * may be NULL), and whether the run was cancelled. 0, or -1 when memory ran
 * out (*out then empty). */
int tk_text_for(const char *status, const char *reason, const char *message,
                int cancelled, struct tk_text *out);

/* Frees what tk_text_for made; accepts an emptied record. */
void tk_text_free(struct tk_text *text);

/* ---- validate.c / render.c / interpret.c (the ABI operations) ---------- */

/* The kit's parameters hook (ek_execution_open): what tekton asks of
 * spec.parameters. validate and render read the execution through it. */
int tk_check_parameters(const struct ek_ctx *ctx,
                        const struct ek_execution *execution);

int32_t tk_validate(void *instance, const char *execution_json,
                    size_t execution_len, wfe_error *err);
int32_t tk_render(void *instance, const char *execution_json,
                  size_t execution_len, wfe_buf *out, wfe_error *err);
int32_t tk_interpret(void *instance, const char *run_json, size_t run_len,
                     wfe_buf *out, wfe_error *err);

#endif
