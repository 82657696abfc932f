/*
 * What the pods of a Job say, read through the host's list_objects (ABI
 * 1.1) with the label the Job controller puts on them: for a failed Job, the
 * container that exited non-zero; for a running one, a container that cannot
 * pull its image, and since when. The pods are taken as the API returns
 * them: a field of an unexpected shape gives no detail, never an error.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"

/* The waiting reasons of a container whose image the kubelet cannot pull. */
static int is_image_pull_failure(const char *reason)
{
  return reason && (strcmp(reason, "ErrImagePull") == 0 ||
                    strcmp(reason, "ImagePullBackOff") == 0 ||
                    strcmp(reason, "InvalidImageName") == 0);
}

static json_object *member(json_object *object, const char *key)
{
  json_object *value = NULL;
  if (json_object_is_type(object, json_type_object))
    json_object_object_get_ex(object, key, &value);
  return value;
}

/* ---- time --------------------------------------------------------------- */

static int is_leap_year(int64_t year)
{
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Days from 1970-01-01 to a date of 1970 to 9999 (checked by the caller). */
static int64_t days_since_epoch(int64_t year, int64_t month, int64_t day)
{
  static const int64_t days_before_month[] = {0,   31,  59,  90,  120, 151,
                                              181, 212, 243, 273, 304, 334};
  int64_t days = 0;
  for (int64_t y = 1970; y < year; y++)
    days += is_leap_year(y) ? 366 : 365;
  days += days_before_month[month - 1] + (month > 2 && is_leap_year(year));
  return days + day - 1;
}

static int digits(const char *s, int n, int64_t *out)
{
  *out = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    *out = *out * 10 + (s[i] - '0');
  }
  return 0;
}

/* Seconds since the epoch of a Kubernetes timestamp, RFC 3339 in UTC
 * ("2025-11-20T09:14:04Z", a fraction allowed). 0, or -1 when it is not
 * one. */
static int parse_timestamp(const char *s, int64_t *out)
{
  int64_t year, month, day, hour, minute, second;
  if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
      digits(s, 4, &year) || digits(s + 5, 2, &month) ||
      digits(s + 8, 2, &day) || digits(s + 11, 2, &hour) ||
      digits(s + 14, 2, &minute) || digits(s + 17, 2, &second) || year < 1970 ||
      month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60)
    return -1;
  const char *zone = s + 19;
  if (*zone == '.')
    for (zone++; *zone >= '0' && *zone <= '9'; zone++)
      ;
  if (strcmp(zone, "Z") != 0 && strcmp(zone, "z") != 0)
    return -1;
  *out = days_since_epoch(year, month, day) * 86400 + hour * 3600 +
         minute * 60 + second;
  return 0;
}

/* How long the pod has been there: since status.startTime, else
 * metadata.creationTimestamp; 0 when neither can be read (the grace then
 * starts now, never ends early). */
static int64_t pod_age_seconds(json_object *pod)
{
  const char *since = ek_get_string(member(pod, "status"), "startTime");
  if (!since)
    since = ek_get_string(member(pod, "metadata"), "creationTimestamp");
  int64_t started;
  if (parse_timestamp(since, &started) != 0)
    return 0;
  int64_t age = (int64_t)time(NULL) - started;
  return age > 0 ? age : 0;
}

/* ---- the failure object ------------------------------------------------- */

/* {task: the pod, step: the container, exitCode (when `exit_code` is not
 * NULL), reason, message}, leaving out what is NULL. */
static json_object *new_failure(const char *pod, const char *container,
                                json_object *exit_code, const char *reason,
                                const char *message)
{
  json_object *failure = json_object_new_object();
  if (!failure)
    return NULL;
  if (ek_add_optional(failure, "task", pod) ||
      ek_add_optional(failure, "step", container) ||
      (exit_code &&
       ek_add_int(failure, "exitCode", json_object_get_int64(exit_code))) ||
      ek_add_optional(failure, "reason", reason) ||
      ek_add_optional(failure, "message", message)) {
    json_object_put(failure);
    return NULL;
  }
  return failure;
}

/* A test of one container status. */
typedef int (*container_test_fn)(json_object *container);

static int exited_non_zero(json_object *container)
{
  json_object *terminated = member(member(container, "state"), "terminated");
  json_object *code = member(terminated, "exitCode");
  return json_object_is_type(code, json_type_int) &&
         json_object_get_int64(code) != 0;
}

static int cannot_pull(json_object *container)
{
  json_object *waiting = member(member(container, "state"), "waiting");
  return is_image_pull_failure(ek_get_string(waiting, "reason"));
}

/* The first container status in the pod's `status` that passes `test`, init
 * containers first (they run first), or NULL. */
static json_object *find_container(json_object *status, container_test_fn test)
{
  static const char *const lists[] = {"initContainerStatuses",
                                      "containerStatuses"};
  for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
    json_object *statuses = member(status, lists[l]);
    size_t count = json_object_is_type(statuses, json_type_array)
                       ? json_object_array_length(statuses)
                       : 0;
    for (size_t i = 0; i < count; i++) {
      json_object *container = json_object_array_get_idx(statuses, i);
      if (test(container))
        return container;
    }
  }
  return NULL;
}

/* A pod the Job controller does not count as failed: disrupted (preempted,
 * evicted, drained), which the rendered podFailurePolicy ignores. */
static int is_disrupted(json_object *pod)
{
  return ek_condition_true(pod, "DisruptionTarget");
}

/* When `pod` failed (and was not disrupted), its failure object into *out:
 * the first container, init containers first, that exited non-zero, else
 * the pod's own reason and message. 0, or -1 when memory ran out. */
static int pod_failure(json_object *pod, json_object **out)
{
  json_object *status = member(pod, "status");
  const char *phase = ek_get_string(status, "phase");
  const char *pod_name = ek_get_string(member(pod, "metadata"), "name");
  if (!phase || strcmp(phase, "Failed") != 0 || is_disrupted(pod))
    return 0;
  json_object *container = find_container(status, exited_non_zero);
  if (container) {
    json_object *terminated = member(member(container, "state"), "terminated");
    *out = new_failure(pod_name, ek_get_string(container, "name"),
                       member(terminated, "exitCode"),
                       ek_get_string(terminated, "reason"),
                       ek_get_string(terminated, "message"));
  } else {
    *out = new_failure(pod_name, NULL, NULL, ek_get_string(status, "reason"),
                       ek_get_string(status, "message"));
  }
  return *out ? 0 : -1;
}

/* ---- image pulls -------------------------------------------------------- */

/* When a container of `pod` cannot pull its image, fills the image pull
 * part of `out`. 0, or -1 when memory ran out. */
static int pod_image_pull(json_object *pod, struct job_pod_report *out)
{
  json_object *status = member(pod, "status");
  json_object *container = find_container(status, cannot_pull);
  if (!container)
    return 0;
  json_object *waiting = member(member(container, "state"), "waiting");
  const char *reason = ek_get_string(waiting, "reason");
  const char *why = ek_get_string(waiting, "message");
  const char *image = ek_get_string(container, "image");
  out->image_pull_message =
      ek_strdup_printf("cannot pull image %s: %s", image ? image : "(unknown)",
                       why ? why : reason);
  out->failure =
      new_failure(ek_get_string(member(pod, "metadata"), "name"),
                  ek_get_string(container, "name"), NULL, reason, why);
  out->image_pull_seconds = pod_age_seconds(pod);
  return out->image_pull_message && out->failure ? 0 : -1;
}

/* ---- the list ----------------------------------------------------------- */

/* Lists the Job's pods into *out (owned, or NULL: no detail). Returns
 * WFE_OK or the host's code to return. */
static int list_pods(const struct ek_ctx *ctx, const char *namespace_name,
                     const char *job_name, json_object **out)
{
  const wfe_host *host = ctx->host;
  *out = NULL;
  char *selector = ek_strdup_printf("%s=%s", JOB_NAME_LABEL, job_name);
  wfe_buf *buf = selector ? host->buf_new() : NULL;
  if (!buf) {
    free(selector);
    return ek_nomem(ctx);
  }
  int rc = host->list_objects(host, "v1", "pods", namespace_name, selector,
                              NULL, buf, ctx->err);
  if (rc == WFE_OK) {
    size_t len = 0;
    const char *text = host->buf_data(buf, &len);
    /* A list we cannot parse gives no detail; the outcome stands. */
    struct ek_ctx quiet = {host, NULL};
    ek_parse(&quiet, text, len, "PodList", "InvalidPodList", out);
  }
  host->buf_free(buf);
  free(selector);
  /* Offline, or a name the host will not ask for: no detail. */
  if (rc == WFE_E_UNSUPPORTED || rc == WFE_E_INVALID || rc == WFE_E_NOT_FOUND)
    rc = WFE_OK;
  return rc;
}

static int can_list(const wfe_host *host)
{
  return WFE_HAS_MEMBER(host, wfe_host, list_objects) && host->list_objects;
}

int job_read_pods(const struct ek_ctx *ctx, const char *namespace_name,
                  const char *job_name, int want_failure,
                  struct job_pod_report *out)
{
  json_object *list;
  memset(out, 0, sizeof(*out));
  if (!can_list(ctx->host) || !namespace_name || !job_name)
    return WFE_OK;
  int rc = list_pods(ctx, namespace_name, job_name, &list);
  json_object *items = member(list, "items");
  size_t count = json_object_is_type(items, json_type_array)
                     ? json_object_array_length(items)
                     : 0;
  int failed = 0;
  for (size_t i = 0; rc == WFE_OK && !failed && i < count; i++) {
    json_object *pod = json_object_array_get_idx(items, i);
    failed = want_failure ? pod_failure(pod, &out->failure)
                          : pod_image_pull(pod, out);
    if (out->failure)
      break;
  }
  json_object_put(list);
  if (failed) {
    job_pod_report_free(out);
    return ek_nomem(ctx);
  }
  return rc;
}

void job_pod_report_free(struct job_pod_report *report)
{
  json_object_put(report->failure);
  free(report->image_pull_message);
  memset(report, 0, sizeof(*report));
}
