/*
 * Interpreting a PipelineRun: its Succeeded condition (found by type, never
 * by position) decides phase and outcome; when the run failed, the first
 * failed TaskRun among status.childReferences, read through the host, tells
 * which task and step broke and with which exit code. Tekton marks user
 * errors with a "[User error] " message prefix: it is stripped from messages
 * and reported as "userError": true. messages.c words the message (and its
 * detail) for an operator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tekton.h"

#define TK_USER_ERROR_PREFIX "[User error] "

/* A Succeeded condition, borrowed from the parsed run. */
struct tk_condition {
  const char *status;  /* "True", "False" or "Unknown" */
  const char *reason;  /* may be NULL */
  const char *message; /* may be NULL */
};

/* What the condition means for the execution. */
struct tk_verdict {
  const char *phase;
  const char *outcome; /* NULL while running */
  int cancelled;
};

static int read_condition(const struct ek_ctx *ctx, json_object *entry,
                          const char *path, struct tk_condition *out)
{
  int rc = ek_member_string(ctx, entry, path, "status", 1, &out->status);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, entry, path, "reason", 0, &out->reason);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, entry, path, "message", 0, &out->message);
  if (rc != WFE_OK)
    return rc;
  if (strcmp(out->status, "True") && strcmp(out->status, "False") &&
      strcmp(out->status, "Unknown"))
    return ek_fail(ctx, WFE_E_INVALID, "InvalidField", path,
                   "%s.status must be True, False or Unknown", path);
  return WFE_OK;
}

/* Finds the condition of type Succeeded in status.conditions. Sets *found. */
static int find_succeeded(const struct ek_ctx *ctx, json_object *status,
                          struct tk_condition *out, int *found)
{
  json_object *conditions;
  *found = 0;
  int rc = ek_member(ctx, status, "status", "conditions", json_type_array, 0,
                     &conditions);
  size_t count = conditions ? json_object_array_length(conditions) : 0;
  for (size_t i = 0; rc == WFE_OK && i < count; i++) {
    char path[64];
    snprintf(path, sizeof(path), "status.conditions[%zu]", i);
    json_object *entry = json_object_array_get_idx(conditions, i);
    const char *type;
    if (!json_object_is_type(entry, json_type_object))
      return ek_fail(ctx, WFE_E_INVALID, "InvalidField", path,
                     "%s must be an object", path);
    rc = ek_member_string(ctx, entry, path, "type", 1, &type);
    if (rc == WFE_OK && strcmp(type, "Succeeded") == 0) {
      *found = 1;
      return read_condition(ctx, entry, path, out);
    }
  }
  return rc;
}

static struct tk_verdict classify(const struct tk_condition *condition)
{
  struct tk_verdict verdict = {"Running", NULL, 0};
  const char *reason = condition->reason ? condition->reason : "";
  if (strcmp(condition->status, "True") == 0) {
    verdict.phase = "Completed";
    verdict.outcome = "Success";
  } else if (strcmp(condition->status, "False") == 0) {
    verdict.phase = "Failed";
    verdict.outcome =
        strcmp(reason, "PipelineRunTimeout") == 0 ? "Timeout" : "Failed";
    verdict.cancelled = strcmp(reason, "Cancelled") == 0 ||
                        strcmp(reason, "CancelledRunFinally") == 0 ||
                        strcmp(reason, "StoppedRunFinally") == 0;
  }
  return verdict;
}

/* The message without Tekton's user-error prefix; sets *user_error. */
static const char *strip_user_error(const char *message, int *user_error)
{
  size_t n = strlen(TK_USER_ERROR_PREFIX);
  if (message && strncmp(message, TK_USER_ERROR_PREFIX, n) == 0) {
    *user_error = 1;
    return message + n;
  }
  return message;
}

/* ---- Failure detail from the TaskRuns ---------------------------------- */

/* Reads a TaskRun through the host. WFE_OK with *out (owned, or NULL when it
 * cannot be used: gone, or not a TaskRun document); otherwise the host's
 * code: WFE_E_UNSUPPORTED (offline), WFE_E_UNAVAILABLE (retry), ... */
static int fetch_task_run(const struct ek_ctx *ctx, const char *namespace_name,
                          const char *name, json_object **out)
{
  const wfe_host *host = ctx->host;
  *out = NULL;
  wfe_buf *buf = host->buf_new();
  if (!buf)
    return ek_nomem(ctx);
  int rc = ctx->host->get_object(ctx->host, TK_RUN_API_VERSION, "taskruns",
                                 namespace_name, name, buf, ctx->err);
  if (rc == WFE_OK) {
    size_t len = 0;
    const char *text = host->buf_data(buf, &len);
    /* A TaskRun we cannot parse gives no detail; the outcome stands. */
    struct ek_ctx quiet = {ctx->host, NULL};
    ek_parse(&quiet, text, len, "TaskRun", "InvalidTaskRun", out);
  }
  host->buf_free(buf);
  if (rc == WFE_E_NOT_FOUND || rc == WFE_E_INVALID)
    rc = WFE_OK; /* gone, or a name the host will not ask for: skip it */
  return rc;
}

/* The first step that exited non-zero: adds "step" and "exitCode". A step
 * whose terminated reason is the TaskRun's own reason was ended by Tekton
 * after it deleted the pod (cancellation, timeout, an image that cannot be
 * pulled): its exit code 1 is Tekton's, not the container's, so it is
 * skipped. */
static int add_failed_step(json_object *task_run, const char *task_run_reason,
                           json_object *failure)
{
  json_object *status = json_object_object_get(task_run, "status");
  json_object *steps = json_object_object_get(status, "steps");
  if (!json_object_is_type(steps, json_type_array))
    return 0;
  for (size_t i = 0; i < json_object_array_length(steps); i++) {
    json_object *step = json_object_array_get_idx(steps, i);
    json_object *terminated = json_object_object_get(step, "terminated");
    json_object *code = json_object_object_get(terminated, "exitCode");
    json_object *name = json_object_object_get(step, "name");
    const char *reason =
        json_object_get_string(json_object_object_get(terminated, "reason"));
    if (!json_object_is_type(code, json_type_int) ||
        json_object_get_int64(code) == 0 ||
        (reason && task_run_reason && strcmp(reason, task_run_reason) == 0))
      continue;
    if (json_object_is_type(name, json_type_string) &&
        ek_add_string(failure, "step", json_object_get_string(name)))
      return -1;
    return ek_add(failure, "exitCode",
                  json_object_new_int64(json_object_get_int64(code)));
  }
  return 0;
}

/* When `task_run` failed, builds the failure object into *out (else NULL).
 * A TaskRun Tekton cancelled (the PipelineRun was cancelled or timed out)
 * did not fail: it has no failure of its own to report. */
static int task_run_failure(json_object *task_run, const char *task,
                            json_object **out)
{
  int user_error = 0;
  *out = NULL;
  json_object *entry = ek_condition(task_run, "Succeeded");
  struct tk_condition condition = {ek_get_string(entry, "status"),
                                   ek_get_string(entry, "reason"),
                                   ek_get_string(entry, "message")};
  if (!condition.status || strcmp(condition.status, "False") != 0 ||
      (condition.reason && strcmp(condition.reason, "TaskRunCancelled") == 0))
    return 0;
  json_object *failure = json_object_new_object();
  const char *message = strip_user_error(condition.message, &user_error);
  int failed = !failure || (task && ek_add_string(failure, "task", task)) ||
               add_failed_step(task_run, condition.reason, failure) ||
               (condition.reason &&
                ek_add_string(failure, "reason", condition.reason)) ||
               (message && ek_add_string(failure, "message", message));
  if (failed) {
    json_object_put(failure);
    return -1;
  }
  *out = failure;
  return 0;
}

/* Walks status.childReferences in order and sets *out to the failure of the
 * first TaskRun that failed, or NULL. Returns WFE_OK or a code to return
 * (WFE_E_UNAVAILABLE as the host gave it, so the host retries). */
static int failure_detail(const struct ek_ctx *ctx, json_object *run,
                          json_object *status, json_object **out)
{
  json_object *children = NULL, *metadata = NULL;
  const char *namespace_name = NULL;
  *out = NULL;
  int rc = ek_member(ctx, status, "status", "childReferences", json_type_array,
                     0, &children);
  if (rc == WFE_OK)
    rc = ek_member(ctx, run, "", "metadata", json_type_object, 0, &metadata);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, metadata, "metadata", "namespace", 0,
                          &namespace_name);
  if (rc != WFE_OK || !children || !namespace_name)
    return rc;
  for (size_t i = 0; i < json_object_array_length(children) && !*out; i++) {
    json_object *child = json_object_array_get_idx(children, i);
    const char *kind =
        json_object_get_string(json_object_object_get(child, "kind"));
    const char *name =
        json_object_get_string(json_object_object_get(child, "name"));
    const char *task = json_object_get_string(
        json_object_object_get(child, "pipelineTaskName"));
    json_object *task_run;
    if (!kind || strcmp(kind, "TaskRun") != 0 || !name)
      continue;
    rc = fetch_task_run(ctx, namespace_name, name, &task_run);
    if (rc == WFE_E_UNSUPPORTED)
      return WFE_OK; /* offline: no detail, the outcome stands */
    if (rc != WFE_OK)
      return rc;
    int failed = task_run && task_run_failure(task_run, task, out);
    json_object_put(task_run);
    if (failed)
      return ek_nomem(ctx);
  }
  return WFE_OK;
}

/* ---- The interpret document -------------------------------------------- */

/* Builds the document, taking `failure` (may be NULL). */
static json_object *new_result(const struct tk_condition *condition,
                               const struct tk_verdict *verdict,
                               const char *start_time,
                               const char *completion_time,
                               json_object *failure)
{
  int user_error = 0;
  const char *message = strip_user_error(condition->message, &user_error);
  struct tk_text text;
  json_object *result = NULL;
  int failed = tk_text_for(condition->status, condition->reason, message,
                           verdict->cancelled, &text) ||
               !(result = json_object_new_object()) ||
               ek_add_string(result, "phase", verdict->phase) ||
               ek_add_optional(result, "outcome", verdict->outcome) ||
               ek_add_optional(result, "reason", condition->reason) ||
               ek_add_optional(result, "message", text.message) ||
               ek_add_optional(result, "detail", text.detail) ||
               ek_add_optional(result, "startTime", start_time) ||
               ek_add_optional(result, "completionTime", completion_time);
  if (!failed && failure) {
    failed = ek_add(result, "failure", failure);
    failure = NULL;
  }
  failed = failed || (user_error &&
                      ek_add(result, "userError", json_object_new_boolean(1)));
  tk_text_free(&text);
  json_object_put(failure);
  if (failed) {
    json_object_put(result);
    return NULL;
  }
  return result;
}

/* The condition to interpret: the Succeeded one, or when the controller has
 * not written one yet, a stand-in that reads as pending. */
static int read_state(const struct ek_ctx *ctx, json_object *status,
                      struct tk_condition *condition)
{
  int found;
  int rc = find_succeeded(ctx, status, condition, &found);
  if (rc == WFE_OK && !found) {
    condition->status = "Unknown";
    condition->reason = "Pending";
    condition->message = "the Tekton controller has not started the "
                         "PipelineRun yet";
  }
  if (rc == WFE_OK && !condition->reason)
    condition->reason = strcmp(condition->status, "True") == 0    ? "Succeeded"
                        : strcmp(condition->status, "False") == 0 ? "Failed"
                                                                  : "Running";
  return rc;
}

static int interpret_run(const struct ek_ctx *ctx, const void *instance,
                         json_object *run, json_object **out)
{
  json_object *status, *failure = NULL;
  const char *start_time = NULL, *completion_time = NULL;
  struct tk_condition condition;
  *out = NULL;
  int rc = ek_member(ctx, run, "", "status", json_type_object, 0, &status);
  if (rc == WFE_OK)
    rc = read_state(ctx, status, &condition);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, status, "status", "startTime", 0, &start_time);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, status, "status", "completionTime", 0,
                          &completion_time);
  if (rc != WFE_OK)
    return rc;
  struct tk_verdict verdict = classify(&condition);
  if (strcmp(condition.status, "False") == 0) {
    rc = failure_detail(ctx, run, status, &failure);
    if (rc != WFE_OK)
      return rc;
  }
  *out = new_result(&condition, &verdict, start_time, completion_time, failure);
  return *out ? WFE_OK : ek_nomem(ctx);
}

int32_t tk_interpret(void *instance, const char *run_json, size_t run_len,
                     wfe_buf *out, wfe_error *err)
{
  return ek_answer(instance, run_json, run_len, "PipelineRun", "InvalidRun",
                   interpret_run, out, err);
}
