/*
 * The Job engine's private declarations. The engine runs a WorkflowExecution
 * as a Kubernetes batch/v1 Job: one pod, one container running the
 * workflow's image with the parameters as its environment, and reads the
 * Job's conditions (and its pods', through the host, for failure detail and
 * images that cannot be pulled) back into the ABI's interpret document. It
 * is built against the public ABI header, json-c and the engine kit only, as
 * a third party would.
 *
 * Files, by role: job.c (the plugin descriptor, configuration, cancel,
 * describe), validate.c, render.c, interpret.c (the Job's conditions),
 * pods.c (what the Job's pods say: the failed container, an image pull that
 * does not succeed).
 */
#ifndef WFE_JOB_H
#define WFE_JOB_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <wfe/engine.h>

#include "engine_kit.h"

#define JOB_ENGINE_NAME "job"
#define JOB_RUN_API_VERSION "batch/v1"
#define JOB_RUN_KIND "Job"
#define JOB_RUN_RESOURCE "jobs"
/* The one container of the Job's pod. */
#define JOB_CONTAINER_NAME "workflow"
/* The label the Job controller puts on the pods of a Job. */
#define JOB_NAME_LABEL "batch.kubernetes.io/job-name"

/* An engine instance: the effective configuration. Immutable after create,
 * so every operation may run concurrently. */
struct job_engine {
  const wfe_host *host;
  int64_t active_deadline_seconds;
  int64_t ttl_seconds_after_finished;
  int64_t image_pull_grace_seconds;
};

/* ---- validate.c / render.c / interpret.c (the ABI operations) ---------- */

/* The kit's parameters hook (ek_execution_open): what the Job engine asks of
 * spec.parameters. validate and render read the execution through it. */
int job_check_parameters(const struct ek_ctx *ctx,
                         const struct ek_execution *execution);

int32_t job_validate(void *instance, const char *execution_json,
                     size_t execution_len, wfe_error *err);
int32_t job_render(void *instance, const char *execution_json,
                   size_t execution_len, wfe_buf *out, wfe_error *err);
int32_t job_interpret(void *instance, const char *run_json, size_t run_len,
                      wfe_buf *out, wfe_error *err);

/* ---- pods.c ------------------------------------------------------------- */

/* What the pods of a Job say, for interpret. Everything malloc'd or owned,
 * NULL for nothing to say. */
struct job_pod_report {
  /* The failure object of the interpret document ({task, step, exitCode,
   * reason, message}); owned. */
  json_object *failure;
  /* Set when a container cannot pull its image: the message for the
   * execution ("cannot pull image <image>: <why>"), and how long the pull
   * has been failing, in seconds since its pod started. */
  char *image_pull_message;
  int64_t image_pull_seconds;
};

/* Lists the pods of the Job `job_name` in `namespace_name` through the host
 * and fills `out`: with `want_failure`, the failed pod's first container
 * that exited non-zero; otherwise, a container waiting on an image it cannot
 * pull (then also its failure object, for when the grace is over). Without
 * list_objects (an ABI 1.0 host) or offline, nothing. Returns WFE_OK, or
 * WFE_E_UNAVAILABLE as the host gave it (retry), or WFE_E_NOMEM. */
int job_read_pods(const struct ek_ctx *ctx, const char *namespace_name,
                  const char *job_name, int want_failure,
                  struct job_pod_report *out);

/* Frees what job_read_pods filled; accepts an empty report. */
void job_pod_report_free(struct job_pod_report *report);

#endif
