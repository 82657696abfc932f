/*
 * Interpreting a Job: its conditions (found by type, never by position)
 * decide phase and outcome. Complete and Failed are terminal; Suspended is
 * how cancel ends a Job; SuccessCriteriaMet and FailureTarget (Kubernetes
 * 1.31+) say the Job is about to end, but it has not until Complete or
 * Failed appear. The Job's pods, read through the host (pods.c), tell which
 * container of a failed Job exited with what, and whether a running Job's
 * container cannot pull its image: within the configured grace the run is
 * still running and the host is asked to look again when the grace ends;
 * past it the run has failed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

/* The Job's status as interpret reads it, borrowed from the parsed Job. */
struct job_status {
  const char *name;           /* metadata.name, or NULL */
  const char *namespace_name; /* metadata.namespace, or NULL */
  int has_conditions;
  /* The True condition that decides, by precedence (see find_decisive). */
  const char *type; /* NULL when none */
  const char *reason;
  const char *message;
  const char *start_time;
  const char *completion_time;
  int64_t active, ready, failed;
};

/* The interpret document being built. Strings borrowed, except `owned`. */
struct job_result {
  const char *phase;
  const char *outcome; /* NULL while running */
  const char *reason;
  const char *message;
  char *owned;           /* a message made for this document */
  int64_t recheck_after; /* 0: none */
  json_object *failure;  /* owned, or NULL */
};

/* The longest wait recheckAfterSeconds may ask for (the ABI's bound); a
 * longer grace is looked at again, and again, until it ends. */
#define JOB_RECHECK_MAX 3600

/* The condition types that decide, the first True one by this order. */
static const char *const decisive_types[] = {
    "Complete", "Failed", "Suspended", "FailureTarget", "SuccessCriteriaMet",
};

#define JOB_DECISIVE_COUNT (sizeof(decisive_types) / sizeof(decisive_types[0]))

/* ---- reading the Job ---------------------------------------------------- */

static int read_condition(const struct ek_ctx *ctx, json_object *conditions,
                          size_t i, size_t *rank, struct job_status *out)
{
  char *path = ek_strdup_printf("status.conditions[%zu]", i);
  if (!path)
    return ek_nomem(ctx);
  json_object *entry = json_object_array_get_idx(conditions, i);
  const char *type = NULL, *status = NULL, *reason = NULL, *message = NULL;
  int rc = WFE_OK;
  if (!json_object_is_type(entry, json_type_object))
    rc = ek_fail(ctx, WFE_E_INVALID, "InvalidField", path,
                 "%s must be an object", path);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, entry, path, "type", 1, &type);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, entry, path, "status", 1, &status);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, entry, path, "reason", 0, &reason);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, entry, path, "message", 0, &message);
  free(path);
  for (size_t r = 0; rc == WFE_OK && r < *rank; r++) {
    if (strcmp(type, decisive_types[r]) != 0 || strcmp(status, "True") != 0)
      continue;
    *rank = r;
    out->type = type;
    out->reason = reason;
    out->message = message;
  }
  return rc;
}

/* Finds the decisive True condition in status.conditions. */
static int find_decisive(const struct ek_ctx *ctx, json_object *status,
                         struct job_status *out)
{
  json_object *conditions;
  int rc = ek_member(ctx, status, "status", "conditions", json_type_array, 0,
                     &conditions);
  size_t count = conditions ? json_object_array_length(conditions) : 0;
  size_t rank = JOB_DECISIVE_COUNT;
  out->has_conditions = count > 0;
  for (size_t i = 0; rc == WFE_OK && i < count; i++)
    rc = read_condition(ctx, conditions, i, &rank, out);
  return rc;
}

static int read_counts(const struct ek_ctx *ctx, json_object *status,
                       struct job_status *out)
{
  int rc = ek_member_int(ctx, status, "status", "active", 0, &out->active);
  if (rc == WFE_OK)
    rc = ek_member_int(ctx, status, "status", "ready", 0, &out->ready);
  if (rc == WFE_OK)
    rc = ek_member_int(ctx, status, "status", "failed", 0, &out->failed);
  return rc;
}

static int read_job(const struct ek_ctx *ctx, json_object *job,
                    struct job_status *out)
{
  json_object *metadata, *status;
  memset(out, 0, sizeof(*out));
  int rc = ek_member(ctx, job, "", "metadata", json_type_object, 0, &metadata);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, metadata, "metadata", "name", 0, &out->name);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, metadata, "metadata", "namespace", 0,
                          &out->namespace_name);
  if (rc == WFE_OK)
    rc = ek_member(ctx, job, "", "status", json_type_object, 0, &status);
  if (rc == WFE_OK)
    rc = find_decisive(ctx, status, out);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, status, "status", "startTime", 0,
                          &out->start_time);
  if (rc == WFE_OK)
    rc = ek_member_string(ctx, status, "status", "completionTime", 0,
                          &out->completion_time);
  if (rc == WFE_OK)
    rc = read_counts(ctx, status, out);
  return rc;
}

/* ---- what the conditions mean ------------------------------------------- */

static int is_type(const struct job_status *status, const char *type)
{
  return status->type && strcmp(status->type, type) == 0;
}

/* The message of a condition, or `fallback` when it has none. */
static const char *message_or(const struct job_status *status,
                              const char *fallback)
{
  return status->message && *status->message ? status->message : fallback;
}

static void terminal(const struct job_status *status, struct job_result *out)
{
  if (is_type(status, "Complete")) {
    *out = (struct job_result){.phase = "Completed",
                               .outcome = "Success",
                               .reason = "Completed",
                               .message = message_or(status, NULL)};
  } else if (is_type(status, "Suspended")) {
    *out = (struct job_result){
        .phase = "Failed",
        .outcome = "Failed",
        .reason = "Cancelled",
        .message = "the Job was suspended (cancelled): the Job controller "
                   "deleted its pods"};
  } else {
    const char *reason = status->reason ? status->reason : "Failed";
    int deadline = strcmp(reason, "DeadlineExceeded") == 0;
    *out = (struct job_result){.phase = "Failed",
                               .outcome = deadline ? "Timeout" : "Failed",
                               .reason = reason,
                               .message = message_or(status, NULL)};
  }
}

/* "2 active (1 ready), 1 failed": what the Job controller counts. */
static char *counts_message(const struct job_status *status)
{
  return ek_strdup_printf("pods: %" PRId64 " active (%" PRId64
                          " ready), %" PRId64 " failed",
                          status->active, status->ready, status->failed);
}

static int running(const struct job_status *status, struct job_result *out)
{
  *out = (struct job_result){.phase = "Running", .reason = "Running"};
  if (is_type(status, "FailureTarget")) {
    out->reason = status->reason ? status->reason : "FailureTarget";
    out->owned = ek_strdup_printf(
        "the Job is failing, the Job controller is ending its pods: %s",
        message_or(status, out->reason));
  } else if (is_type(status, "SuccessCriteriaMet")) {
    out->reason = "SuccessCriteriaMet";
    out->message = "the Job met its success criteria, the Job controller is "
                   "ending its remaining pods";
    return 0;
  } else if (!status->has_conditions && !status->start_time) {
    out->phase = "Pending";
    out->reason = "Pending";
    out->message = "the Job controller has not started the Job yet";
    return 0;
  } else {
    out->owned = counts_message(status);
  }
  out->message = out->owned;
  return out->owned ? 0 : -1;
}

static int is_terminal(const struct job_status *status)
{
  return is_type(status, "Complete") || is_type(status, "Failed") ||
         is_type(status, "Suspended");
}

/* ---- what the pods add -------------------------------------------------- */

/* A failed Job (not one that ran out of time: its pods were ended by the Job
 * controller) gets the failed container as its failure. */
static int add_failure(const struct ek_ctx *ctx,
                       const struct job_status *status, struct job_result *out)
{
  struct job_pod_report report;
  if (!is_type(status, "Failed") || strcmp(out->outcome, "Failed") != 0)
    return WFE_OK;
  int rc = job_read_pods(ctx, status->namespace_name, status->name, 1, &report);
  out->failure = report.failure;
  report.failure = NULL;
  job_pod_report_free(&report);
  return rc;
}

/* A running Job whose pods are not all ready may be waiting on an image it
 * cannot pull: within the grace it runs on (and the host looks again when
 * the grace ends), past it the run has failed. */
static int check_image_pull(const struct ek_ctx *ctx,
                            const struct job_engine *engine,
                            const struct job_status *status,
                            struct job_result *out)
{
  struct job_pod_report report;
  if (strcmp(out->phase, "Running") != 0 || status->type ||
      status->active <= status->ready)
    return WFE_OK;
  int rc = job_read_pods(ctx, status->namespace_name, status->name, 0, &report);
  if (rc != WFE_OK || !report.image_pull_message)
    return rc;
  free(out->owned);
  out->owned = report.image_pull_message;
  out->message = out->owned;
  out->reason = "ImagePullBackOff";
  int64_t left = engine->image_pull_grace_seconds - report.image_pull_seconds;
  if (left > 0) {
    out->recheck_after = left < JOB_RECHECK_MAX ? left : JOB_RECHECK_MAX;
  } else {
    out->phase = "Failed";
    out->outcome = "Failed";
    out->failure = report.failure;
    report.failure = NULL;
  }
  report.image_pull_message = NULL;
  job_pod_report_free(&report);
  return WFE_OK;
}

/* ---- the interpret document --------------------------------------------- */

/* Builds the document; takes result->failure. */
static json_object *new_document(const struct job_status *status,
                                 struct job_result *result)
{
  json_object *document = json_object_new_object();
  json_object *failure = result->failure;
  result->failure = NULL;
  int failed =
      !document || ek_add_string(document, "phase", result->phase) ||
      ek_add_optional(document, "outcome", result->outcome) ||
      ek_add_optional(document, "reason", result->reason) ||
      ek_add_optional(document, "message", result->message) ||
      ek_add_optional(document, "startTime", status->start_time) ||
      ek_add_optional(document, "completionTime", status->completion_time) ||
      (result->recheck_after &&
       ek_add_int(document, "recheckAfterSeconds", result->recheck_after));
  if (!failed && failure) {
    failed = ek_add(document, "failure", failure);
    failure = NULL;
  }
  json_object_put(failure);
  if (failed) {
    json_object_put(document);
    return NULL;
  }
  return document;
}

static int interpret_job(const struct ek_ctx *ctx, const void *instance,
                         json_object *job, json_object **out)
{
  const struct job_engine *engine = instance;
  struct job_status status;
  struct job_result result = {0};
  *out = NULL;
  int rc = read_job(ctx, job, &status);
  if (rc != WFE_OK)
    return rc;
  if (is_terminal(&status)) {
    terminal(&status, &result);
    rc = add_failure(ctx, &status, &result);
  } else if (running(&status, &result) != 0) {
    rc = ek_nomem(ctx);
  } else {
    rc = check_image_pull(ctx, engine, &status, &result);
  }
  if (rc == WFE_OK) {
    *out = new_document(&status, &result);
    rc = *out ? WFE_OK : ek_nomem(ctx);
  }
  json_object_put(result.failure);
  free(result.owned);
  return rc;
}

int32_t job_interpret(void *instance, const char *run_json, size_t run_len,
                      wfe_buf *out, wfe_error *err)
{
  return ek_answer(instance, run_json, run_len, "Job", "InvalidRun",
                   interpret_job, out, err);
}
