/*
 * Interpreting a Workflow: status.phase decides phase and outcome (Argo's
 * phases: Pending, Running, Succeeded, Failed, Error; none before the
 * workflow-controller first looks at the Workflow). A Failed or Error
 * Workflow whose message says a deadline ran out is a Timeout. A failed
 * Workflow's nodes (nodes.c) tell which step failed and how. Workflows have
 * no status subresource: everything is read from the object as the API
 * returns it.
 */
#include <stdlib.h>
#include <string.h>

#include "argo.h"

/* The status members interpret reads, borrowed from the parsed Workflow. */
struct argo_status {
  json_object *object; /* status, or NULL */
  const char *phase;
  const char *message;
  const char *progress;
  const char *started_at;
  const char *finished_at;
};

static int read_status(const struct ek_ctx *ctx, json_object *workflow,
                       struct argo_status *out)
{
  static const char path[] = "status";
  memset(out, 0, sizeof(*out));
  int rc =
      ek_member(ctx, workflow, "", "status", json_type_object, 0, &out->object);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, out->object, path, "phase", 0, &out->phase);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, out->object, path, "message", 0, &out->message);
  if (rc == WFE_OK)
    rc =
        ek_member_string(ctx, out->object, path, "progress", 0, &out->progress);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, out->object, path, "startedAt", 0,
                          &out->started_at);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, out->object, path, "finishedAt", 0,
                          &out->finished_at);
  return rc;
}

static int is_phase(const struct argo_status *status, const char *phase)
{
  return status->phase && strcmp(status->phase, phase) == 0;
}

/* Argo's deadline messages: the workflow's activeDeadlineSeconds, a step's
 * deadline, a retry strategy's maxDuration, a pod's activeDeadlineSeconds. */
static int is_deadline_message(const char *message)
{
  static const char *const markers[] = {
      "activeDeadlineSeconds",
      "exceeded its deadline",
      "Max duration limit exceeded",
      "longer than the specified deadline",
  };
  for (size_t i = 0; message && i < sizeof(markers) / sizeof(markers[0]); i++)
    if (strstr(message, markers[i]))
      return 1;
  return 0;
}

/* The verdict members of the interpret document: `outcome` and `message`
 * may be NULL. 0, or -1 when memory ran out. */
static int add_verdict(json_object *document, const char *phase,
                       const char *outcome, const char *reason,
                       const char *message)
{
  return ek_add_string(document, "phase", phase) ||
         ek_add_optional(document, "outcome", outcome) ||
         ek_add_string(document, "reason", reason) ||
         ek_add_optional(document, "message", message);
}

/* Pending: not started by the workflow-controller (no phase, no start), or
 * held back by it (a mutex, semaphore or parallelism limit: its message
 * says which). */
static int add_pending(json_object *document, const struct argo_status *status)
{
  int untouched = (!status->phase || !*status->phase) && !status->started_at;
  return add_verdict(document, "Pending", NULL, "Pending",
                     untouched ? "the Argo workflow-controller has not "
                                 "started the Workflow yet"
                               : status->message);
}

/* Running: "steps done: 1/2", and the controller's message after it when
 * there is one. */
static int add_running(json_object *document, const struct argo_status *status)
{
  if (!status->progress || !*status->progress)
    return add_verdict(document, "Running", NULL, "Running", status->message);
  char *message = status->message && *status->message
                      ? ek_strdup_printf("steps done: %s; %s", status->progress,
                                         status->message)
                      : ek_strdup_printf("steps done: %s", status->progress);
  int failed =
      !message || add_verdict(document, "Running", NULL, "Running", message);
  free(message);
  return failed;
}

/* Failed or Error: a Timeout when the message says a deadline ran out; the
 * failed node's detail, or why there is none. */
static int add_failed(const struct ek_ctx *ctx, json_object *document,
                      const struct argo_status *status)
{
  struct argo_node_report report;
  const char *outcome =
      is_deadline_message(status->message) ? "Timeout" : "Failed";
  if (add_verdict(document, "Failed", outcome, status->phase, status->message))
    return ek_nomem(ctx);
  int rc = argo_read_nodes(ctx, status->object, &report);
  if (rc == WFE_OK && ek_add_optional(document, "detail", report.note))
    rc = ek_nomem(ctx);
  if (rc == WFE_OK && report.failure) {
    rc = ek_add(document, "failure", report.failure) ? ek_nomem(ctx) : WFE_OK;
    report.failure = NULL;
  }
  argo_node_report_free(&report);
  return rc;
}

/* The members for the Workflow's phase. */
static int add_phase(const struct ek_ctx *ctx, json_object *document,
                     const struct argo_status *status)
{
  int failed;
  if (!status->phase || !*status->phase || is_phase(status, "Pending"))
    failed = add_pending(document, status);
  else if (is_phase(status, "Running"))
    failed = add_running(document, status);
  else if (is_phase(status, "Succeeded"))
    failed = add_verdict(document, "Completed", "Success", "Succeeded",
                         status->message);
  else if (is_phase(status, "Failed") || is_phase(status, "Error"))
    return add_failed(ctx, document, status);
  else
    return ek_fail(ctx, WFE_E_INVALID, "InvalidField", "status.phase",
                   "status.phase \"%.100s\" is not an Argo Workflow phase "
                   "(Pending, Running, Succeeded, Failed, Error)",
                   status->phase);
  return failed ? ek_nomem(ctx) : WFE_OK;
}

static int interpret_workflow(const struct ek_ctx *ctx, const void *instance,
                              json_object *workflow, json_object **out)
{
  struct argo_status status;
  *out = NULL;
  int rc = read_status(ctx, workflow, &status);
  if (rc != WFE_OK)
    return rc;
  json_object *document = json_object_new_object();
  if (!document)
    return ek_nomem(ctx);
  rc = add_phase(ctx, document, &status);
  if (rc == WFE_OK &&
      (ek_add_optional(document, "startTime", status.started_at) ||
       ek_add_optional(document, "completionTime", status.finished_at)))
    rc = ek_nomem(ctx);
  if (rc != WFE_OK) {
    json_object_put(document);
    return rc;
  }
  *out = document;
  return WFE_OK;
}

int32_t argo_interpret(void *instance, const char *run_json, size_t run_len,
                       wfe_buf *out, wfe_error *err)
{
  return ek_answer(instance, run_json, run_len, "Workflow", "InvalidRun",
                   interpret_workflow, out, err);
}
