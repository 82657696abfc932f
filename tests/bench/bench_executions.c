/*
 * The controller under load, measured from outside: creates N
 * WorkflowExecutions at once in a fresh namespace of a running control plane
 * (with wfe-controller running against it), plays Tekton by completing each
 * PipelineRun as soon as it appears, and prints the delays a user sees:
 * creation of an execution to creation of its run, and completion of the run
 * to the execution's terminal status; plus throughput, and the controller's
 * RSS and CPU time when its pid is given. With --check it verifies that every
 * execution ended Completed/Success with exactly one run each, and exits
 * non-zero otherwise (the end-to-end suite uses it so).
 *
 *   bench_executions --plane DIR [--count N] [--threads T] [--rate R]
 *                    [--check] [--controller-pid PID] [--keep]
 *
 * --rate R creates R executions per second instead of all at once, which
 * measures the controller's own delay rather than the queue in front of a
 * saturated API server.
 *
 * --no-controller makes, with no controller running, exactly the API
 * writes one execution costs the controller -- its run created, the
 * Running status, the run created Event, then once the run completes the
 * terminal status and its Event -- from as many concurrent clients as the
 * creators and completers: the throughput the API server allows this
 * workload, against which a controller's burst throughput is measured.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "buf.h"
#include "error.h"
#include "json_util.h"
#include "kube_client.h"
#include "kubeconfig.h"

static const struct wfe_resource executions = {"kubernaut.ai/v1alpha1",
                                               "workflowexecutions", 1};
static const struct wfe_resource runs = {"tekton.dev/v1", "pipelineruns", 1};
static const struct wfe_resource namespaces = {"v1", "namespaces", 0};

struct record {
  int64_t created_ns;   /* execution POST sent */
  int64_t run_seen_ns;  /* run ADDED event received */
  int64_t completed_ns; /* run status PATCH answered */
  int64_t terminal_ns;  /* execution's terminal event received */
  int success;
  char run[64];
  char rv[32]; /* the execution's resourceVersion after its last write */
};

static struct {
  struct wfe_kube_client *client;
  char ns[64];
  int count;
  struct record *records;
  atomic_int terminal;
  atomic_int next;
  double rate; /* executions per second; 0: all at once */
  int64_t start_ns;
  volatile int stop;
  pthread_mutex_t lock; /* pending runs to complete */
  pthread_cond_t cond;
  int *pending;
  int pending_len;
  int no_controller; /* play the controller's writes too */
} bench = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* Executions are named b-00042; their runs begin with that name. */
static int index_of(const char *name)
{
  if (!name || strncmp(name, "b-", 2) != 0)
    return -1;
  int i = atoi(name + 2);
  return i >= 0 && i < bench.count ? i : -1;
}

static int on_run(void *ctx, enum wfe_watch_event_type type, json_object *obj)
{
  (void)ctx;
  const char *name = wfe_json_get_string(obj, "metadata.name");
  int i = index_of(name);
  if (type != WFE_WATCH_ADDED || i < 0 || bench.records[i].run_seen_ns)
    return 0;
  bench.records[i].run_seen_ns = wfe_monotonic_ns();
  snprintf(bench.records[i].run, sizeof(bench.records[i].run), "%s", name);
  pthread_mutex_lock(&bench.lock);
  bench.pending[bench.pending_len++] = i;
  pthread_cond_signal(&bench.cond);
  pthread_mutex_unlock(&bench.lock);
  return 0;
}

static int on_execution(void *ctx, enum wfe_watch_event_type type,
                        json_object *obj)
{
  (void)ctx;
  const char *phase = wfe_json_get_string(obj, "status.phase");
  int i = index_of(wfe_json_get_string(obj, "metadata.name"));
  if (type == WFE_WATCH_DELETED || i < 0 || !phase ||
      bench.records[i].terminal_ns ||
      (strcmp(phase, "Completed") && strcmp(phase, "Failed")))
    return 0;
  const char *outcome = wfe_json_get_string(obj, "status.outcome");
  bench.records[i].success = outcome && !strcmp(outcome, "Success");
  bench.records[i].terminal_ns = wfe_monotonic_ns();
  atomic_fetch_add(&bench.terminal, 1);
  return 0;
}

static void *watcher(void *arg)
{
  const struct wfe_resource *res = arg;
  struct wfe_watch_options options = {.timeout_seconds = 600,
                                      .stop = &bench.stop};
  while (!bench.stop) {
    struct wfe_error err = WFE_ERROR_INIT;
    wfe_kube_watch(bench.client, res, bench.ns, &options,
                   res == &runs ? on_run : on_execution, NULL, &err);
    wfe_error_clear(&err);
  }
  return NULL;
}

/* Writes an Event about execution i, as the controller's recorder does. */
static void event(int i, const char *reason)
{
  char doc[1024], lower[64];
  size_t n = 0;
  for (; reason[n] && n + 1 < sizeof(lower); n++)
    lower[n] =
        (char)(reason[n] >= 'A' && reason[n] <= 'Z' ? reason[n] - 'A' + 'a'
                                                    : reason[n]);
  lower[n] = '\0';
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm tm;
  char at[40];
  strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S", gmtime_r(&now.tv_sec, &tm));
  snprintf(doc, sizeof(doc),
           "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\","
           "\"metadata\":{\"name\":\"b-%05d.%s\"},\"eventTime\":"
           "\"%s.%06ldZ\",\"reportingController\":\"bench\","
           "\"reportingInstance\":\"bench\",\"action\":\"%s\",\"reason\":"
           "\"%s\",\"type\":\"Normal\",\"note\":\"bench\",\"regarding\":{"
           "\"apiVersion\":\"kubernaut.ai/v1alpha1\",\"kind\":"
           "\"WorkflowExecution\",\"name\":\"b-%05d\",\"namespace\":\"%s\"}}",
           i, lower, at, now.tv_nsec / 1000, reason, reason, i, bench.ns);
  json_object *obj = wfe_json_parse(doc, strlen(doc));
  struct wfe_error err = WFE_ERROR_INIT;
  static const struct wfe_resource events = {"events.k8s.io/v1", "events", 1};
  if (!obj || wfe_kube_create(bench.client, &events, bench.ns, obj, NULL, &err))
    fprintf(stderr, "event for b-%05d: %s\n", i, wfe_error_message(&err));
  wfe_error_clear(&err);
  json_object_put(obj);
}

/* The status writes the controller makes: Running (with the run), then the
 * terminal one. A status PATCH costs the API server what the controller's
 * PUT does: one read-modify-write of the object. */
static void controller_writes(int i, int terminal)
{
  char patch[512], name[16];
  snprintf(name, sizeof(name), "b-%05d", i);
  time_t t = time(NULL);
  struct tm tm;
  char now[32];
  strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
  if (terminal)
    snprintf(patch, sizeof(patch),
             "{\"status\":{\"phase\":\"Completed\",\"outcome\":\"Success\","
             "\"completionTime\":\"%s\"}}",
             now);
  else
    snprintf(patch, sizeof(patch),
             "{\"status\":{\"phase\":\"Running\",\"startTime\":\"%s\","
             "\"pipelineRunRef\":{\"name\":\"%s\"}}}",
             now, bench.records[i].run);
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_kube_patch(bench.client, &executions, bench.ns, name, "status",
                     WFE_PATCH_MERGE, patch, NULL, &err))
    fprintf(stderr, "status of %s: %s\n", name, wfe_error_message(&err));
  wfe_error_clear(&err);
  event(i, terminal ? "WorkflowCompleted" : "PipelineRunCreated");
}

/* Creates the run of execution i, as the controller would. */
static void create_run(int i)
{
  char doc[1024];
  snprintf(bench.records[i].run, sizeof(bench.records[i].run),
           "b-%05d-0123456789", i);
  snprintf(doc, sizeof(doc),
           "{\"apiVersion\":\"tekton.dev/v1\",\"kind\":\"PipelineRun\","
           "\"metadata\":{\"name\":\"%s\",\"labels\":{"
           "\"app.kubernetes.io/managed-by\":\"bench\"}},\"spec\":{"
           "\"pipelineRef\":{\"resolver\":\"bundles\",\"params\":[{\"name\":"
           "\"bundle\",\"value\":\"registry.example.com/w/restart-pod:1.0.0\"},"
           "{\"name\":\"name\",\"value\":\"workflow\"},{\"name\":\"kind\","
           "\"value\":\"pipeline\"}]},\"params\":[{\"name\":\"TARGET\","
           "\"value\":\"t-%d\"}]}}",
           bench.records[i].run, i);
  json_object *obj = wfe_json_parse(doc, strlen(doc));
  struct wfe_error err = WFE_ERROR_INIT;
  if (!obj || wfe_kube_create(bench.client, &runs, bench.ns, obj, NULL, &err))
    fprintf(stderr, "run of b-%05d: %s\n", i, wfe_error_message(&err));
  wfe_error_clear(&err);
  json_object_put(obj);
}

/* Plays the Tekton controller: each run succeeds as soon as it exists. */
static void *completer(void *arg)
{
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&bench.lock);
    while (!bench.pending_len && !bench.stop)
      pthread_cond_wait(&bench.cond, &bench.lock);
    if (bench.stop) {
      pthread_mutex_unlock(&bench.lock);
      return NULL;
    }
    int i = bench.pending[--bench.pending_len];
    pthread_mutex_unlock(&bench.lock);

    char now[32], patch[512];
    time_t t = time(NULL);
    struct tm tm;
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    snprintf(patch, sizeof(patch),
             "{\"status\":{\"startTime\":\"%s\",\"completionTime\":\"%s\","
             "\"conditions\":[{\"type\":\"Succeeded\",\"status\":\"True\","
             "\"reason\":\"Succeeded\",\"message\":\"Tasks Completed: 1 "
             "(Failed: 0, Cancelled 0), Skipped: 0\","
             "\"lastTransitionTime\":\"%s\"}]}}",
             now, now, now);
    struct wfe_error err = WFE_ERROR_INIT;
    if (wfe_kube_patch(bench.client, &runs, bench.ns, bench.records[i].run,
                       "status", WFE_PATCH_MERGE, patch, NULL, &err))
      fprintf(stderr, "completing %s: %s\n", bench.records[i].run,
              wfe_error_message(&err));
    else
      bench.records[i].completed_ns = wfe_monotonic_ns();
    wfe_error_clear(&err);
    if (bench.no_controller)
      controller_writes(i, 1);
  }
}

static void *creator(void *arg)
{
  (void)arg;
  for (int i; (i = atomic_fetch_add(&bench.next, 1)) < bench.count;) {
    if (bench.rate > 0) { /* paced: execution i is due at i / rate */
      int64_t due = bench.start_ns + (int64_t)(i / bench.rate * 1e9);
      int64_t wait = due - wfe_monotonic_ns();
      if (wait > 0)
        usleep((useconds_t)(wait / 1000));
    }
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "{\"apiVersion\":\"kubernaut.ai/v1alpha1\",\"kind\":"
             "\"WorkflowExecution\",\"metadata\":{\"name\":\"b-%05d\"},"
             "\"spec\":{\"remediationRequestRef\":{\"name\":\"rr-%d\"},"
             "\"workflowRef\":{\"workflowId\":\"restart-pod\",\"version\":"
             "\"1.0.0\",\"containerImage\":\"registry.example.com/w/"
             "restart-pod:1.0.0\"},\"parameters\":{\"TARGET\":\"t-%d\"},"
             "\"confidence\":0.9}}",
             i, i, i);
    json_object *obj = wfe_json_parse(doc, strlen(doc));
    struct wfe_error err = WFE_ERROR_INIT;
    bench.records[i].created_ns = wfe_monotonic_ns();
    if (!obj ||
        wfe_kube_create(bench.client, &executions, bench.ns, obj, NULL, &err))
      fprintf(stderr, "creating b-%05d: %s\n", i, wfe_error_message(&err));
    wfe_error_clear(&err);
    json_object_put(obj);
    if (bench.no_controller) { /* what the controller would do next */
      create_run(i);
      controller_writes(i, 0);
    }
  }
  return NULL;
}

static int count_item(void *ctx, json_object *obj)
{
  (void)obj;
  (*(int *)ctx)++;
  return 0;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* p50 and p99 of (to - from) over every record that has both, in ms. */
static void delays(const char *what, size_t from, size_t to)
{
  int64_t *d = calloc((size_t)bench.count, sizeof(*d));
  int n = 0;
  for (int i = 0; d && i < bench.count; i++) {
    const char *r = (const char *)&bench.records[i];
    int64_t a = *(const int64_t *)(r + from), b = *(const int64_t *)(r + to);
    if (a && b)
      d[n++] = b - a;
  }
  if (n) {
    qsort(d, (size_t)n, sizeof(*d), cmp_i64);
    printf("%-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (n=%d)\n", what,
           (double)d[n / 2] / 1e6, (double)d[(n * 99) / 100] / 1e6,
           (double)d[n - 1] / 1e6, n);
  }
  free(d);
}

static void controller_usage(int pid)
{
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof(line), f))
    if (!strncmp(line, "VmRSS:", 6) || !strncmp(line, "VmHWM:", 6))
      printf("controller %s", line);
  if (f)
    fclose(f);
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  f = fopen(path, "r");
  unsigned long utime = 0, stime = 0;
  if (f && fscanf(f,
                  "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                  "%lu %lu",
                  &utime, &stime) == 2)
    printf("controller CPU time: %.2f s (user %.2f, system %.2f)\n",
           (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK),
           (double)utime / (double)sysconf(_SC_CLK_TCK),
           (double)stime / (double)sysconf(_SC_CLK_TCK));
  if (f)
    fclose(f);
}

int main(int argc, char **argv)
{
  static const struct option options[] = {
      {"plane", required_argument, NULL, 'p'},
      {"count", required_argument, NULL, 'n'},
      {"threads", required_argument, NULL, 't'},
      {"check", no_argument, NULL, 'c'},
      {"controller-pid", required_argument, NULL, 'P'},
      {"keep", no_argument, NULL, 'k'},
      {"rate", required_argument, NULL, 'r'},
      {"no-controller", no_argument, NULL, 'N'},
      {NULL, 0, NULL, 0},
  };
  const char *plane = NULL;
  int threads = 8, check = 0, pid = 0, keep = 0, opt;
  bench.count = 1000;
  while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (opt) {
    case 'p':
      plane = optarg;
      break;
    case 'n':
      bench.count = atoi(optarg);
      break;
    case 't':
      threads = atoi(optarg);
      break;
    case 'c':
      check = 1;
      break;
    case 'P':
      pid = atoi(optarg);
      break;
    case 'k':
      keep = 1;
      break;
    case 'r':
      bench.rate = atof(optarg);
      break;
    case 'N':
      bench.no_controller = 1;
      break;
    default:
      fprintf(stderr,
              "usage: %s --plane DIR [--count N] [--threads T] "
              "[--rate R] [--check] [--controller-pid PID] [--keep] "
              "[--no-controller]\n",
              argv[0]);
      return 2;
    }
  }
  if (!plane || bench.count < 1 || bench.count > 99999 || threads < 1) {
    fprintf(stderr, "%s: --plane DIR is required; 1 <= count <= 99999\n",
            argv[0]);
    return 2;
  }

  struct wfe_error err = WFE_ERROR_INIT;
  char kubeconfig[4096];
  snprintf(kubeconfig, sizeof(kubeconfig), "%s/admin.kubeconfig", plane);
  struct wfe_kube_config_load_options load = {.explicit_path = kubeconfig};
  struct wfe_kube_config *config = NULL;
  struct wfe_kube_client_options client_options = {.max_retries = 10};
  if (wfe_kube_config_load(&load, &config, &err) ||
      wfe_kube_client_new(config, &client_options, &bench.client, &err)) {
    fprintf(stderr, "%s\n", wfe_error_message(&err));
    return 1;
  }
  wfe_kube_config_free(config);
  bench.records = calloc((size_t)bench.count, sizeof(*bench.records));
  bench.pending = calloc((size_t)bench.count, sizeof(*bench.pending));
  if (!bench.records || !bench.pending)
    return 1;
  snprintf(bench.ns, sizeof(bench.ns), "bench-%ld-%d", (long)time(NULL),
           getpid() % 10000);
  char doc[160];
  snprintf(doc, sizeof(doc),
           "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
           "\"name\":\"%s\"}}",
           bench.ns);
  json_object *ns_obj = wfe_json_parse(doc, strlen(doc));
  if (wfe_kube_create(bench.client, &namespaces, NULL, ns_obj, NULL, &err)) {
    fprintf(stderr, "%s\n", wfe_error_message(&err));
    return 1;
  }
  json_object_put(ns_obj);

  pthread_t run_watch, execution_watch, workers[16], creators[64];
  int completers = threads < 16 ? threads : 16;
  if (threads > 64)
    threads = 64;
  pthread_create(&run_watch, NULL, watcher, (void *)&runs);
  pthread_create(&execution_watch, NULL, watcher, (void *)&executions);
  for (int i = 0; i < completers; i++)
    pthread_create(&workers[i], NULL, completer, NULL);
  usleep(500000); /* both watches open before the first create */

  int64_t start = wfe_monotonic_ns();
  bench.start_ns = start;
  for (int i = 0; i < threads; i++)
    pthread_create(&creators[i], NULL, creator, NULL);
  for (int i = 0; i < threads; i++)
    pthread_join(creators[i], NULL);
  int64_t created = wfe_monotonic_ns();
  while (atomic_load(&bench.terminal) < bench.count &&
         wfe_monotonic_ns() - start < 300 * 1000000000LL)
    usleep(10000);
  int64_t end = wfe_monotonic_ns();

  bench.stop = 1;
  pthread_mutex_lock(&bench.lock);
  pthread_cond_broadcast(&bench.cond);
  pthread_mutex_unlock(&bench.lock);
  for (int i = 0; i < completers; i++)
    pthread_join(workers[i], NULL);
  pthread_join(run_watch, NULL);
  pthread_join(execution_watch, NULL);

  int run_count = 0, successes = 0, terminal = atomic_load(&bench.terminal);
  wfe_kube_list(bench.client, &runs, bench.ns, NULL, count_item, &run_count,
                NULL, &err);
  wfe_error_clear(&err);
  for (int i = 0; i < bench.count; i++)
    successes += bench.records[i].success;

  printf("%d executions in %s: %d terminal (%d Completed/Success), %d runs\n",
         bench.count, bench.ns, terminal, successes, run_count);
  if (!check) {
    printf("created in %.2f s; all terminal after %.2f s: %.0f "
           "executions/s end to end\n",
           (double)(created - start) / 1e9, (double)(end - start) / 1e9,
           bench.count / ((double)(end - start) / 1e9));
    delays("execution created -> run created (seen)",
           offsetof(struct record, created_ns),
           offsetof(struct record, run_seen_ns));
    delays("run completed -> execution terminal (seen)",
           offsetof(struct record, completed_ns),
           offsetof(struct record, terminal_ns));
    if (pid)
      controller_usage(pid);
  }
  if (!keep) {
    wfe_kube_delete(bench.client, &namespaces, NULL, bench.ns, NULL, &err);
    wfe_error_clear(&err);
  }
  int ok = terminal == bench.count && successes == bench.count &&
           run_count == bench.count;
  wfe_kube_client_free(bench.client);
  free(bench.records);
  free(bench.pending);
  return ok ? 0 : 1;
}
