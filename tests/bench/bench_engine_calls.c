/*
 * What engine isolation costs a call, and what each engine's calls cost: an
 * engine (tekton by default; job, argo) loaded from a plugin directory once
 * in this process (engineIsolation: none) and once in an engine host
 * process (process), then the same render and interpret calls through
 * dispatch, as the reconciler makes them, from 1 and from 4 threads. Prints
 * p50/p99 per call in both modes and the difference, and the RSS of the
 * engine host process.
 *
 *   bench_engine_calls PLUGINS_DIR [CALLS] [ENGINE]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "dispatch.h"
#include "host.h"
#include "json_util.h"
#include "plugin_loader.h"

static const char execution_text[] =
    "{\"apiVersion\":\"kubernaut.ai/v1alpha1\",\"kind\":\"WorkflowExecution\","
    "\"metadata\":{\"name\":\"restart-checkout-api\",\"namespace\":\"demo\","
    "\"uid\":\"0b5e3a1c-7c2e-4b9a-9a57-3f1d2c4e5f60\",\"generation\":1},"
    "\"spec\":{\"remediationRequestRef\":{\"kind\":\"RemediationRequest\","
    "\"name\":\"rr-1\"},\"workflowRef\":{\"workflowId\":\"restart-pod\","
    "\"version\":\"1.4.0\",\"containerImage\":\"registry.example.com/"
    "workflows/restart-pod:1.4.0\"},\"parameters\":{\"TARGET_NAMESPACE\":"
    "\"shop\",\"TARGET_DEPLOYMENT\":\"checkout-api\"},\"confidence\":0.9}}";

#define ECHO_RUN                                                               \
  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"      \
  "\"restart-checkout-api-70bdeb8a22\",\"namespace\":\"demo\"},\"data\":"      \
  "{\"workflowId\":\"restart-pod\",\"phase\":\"\"}}"

/* A running run of each engine, for interpret (no pod list to read: the
 * bench gives the engines no cluster). */
static const struct {
  const char *engine, *run;
} runs[] = {
    {"tekton",
     "{\"apiVersion\":\"tekton.dev/v1\",\"kind\":\"PipelineRun\",\"metadata\":"
     "{\"name\":\"restart-checkout-api-70bdeb8a22\",\"namespace\":\"demo\"},"
     "\"status\":{\"conditions\":[{\"type\":\"Succeeded\",\"status\":"
     "\"Unknown\",\"reason\":\"Running\",\"message\":\"Tasks Completed: 1 "
     "(Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0\"}],"
     "\"startTime\":\"2026-11-30T10:00:00Z\"}}"},
    {"job", "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":"
            "{\"name\":\"restart-checkout-api-70bdeb8a22\",\"namespace\":"
            "\"demo\"},\"status\":{\"startTime\":\"2026-11-30T10:00:00Z\","
            "\"active\":1,\"ready\":1}}"},
    {"argo", "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\","
             "\"metadata\":{\"name\":\"restart-checkout-api-70bdeb8a22\","
             "\"namespace\":\"demo\"},\"status\":{\"phase\":\"Running\","
             "\"startedAt\":\"2026-11-30T10:00:00Z\",\"progress\":\"1/2\"}}"},
    /* The example engines of engines/go and engines/rust: a ConfigMap. */
    {"echo-go", ECHO_RUN},
    {"echo-rust", ECHO_RUN},
};
static const char *run_text; /* the chosen engine's */

struct job {
  const struct wfe_engine_slot *slot;
  int calls;
  int64_t *render_ns, *interpret_ns;
  int failures;
};

static void *run_calls(void *arg)
{
  struct job *job = arg;
  json_object *execution =
      wfe_json_parse(execution_text, sizeof(execution_text) - 1);
  json_object *run = wfe_json_parse(run_text, strlen(run_text));
  for (int i = 0; i < job->calls; i++) {
    struct wfe_error err = WFE_ERROR_INIT;
    json_object *out = NULL;
    int64_t t0 = wfe_monotonic_ns();
    job->failures += wfe_dispatch_render(job->slot, execution, &out, &err) != 0;
    int64_t t1 = wfe_monotonic_ns();
    json_object_put(out);
    out = NULL;
    job->failures += wfe_dispatch_interpret(job->slot, run, &out, &err) != 0;
    int64_t t2 = wfe_monotonic_ns();
    json_object_put(out);
    wfe_error_clear(&err);
    job->render_ns[i] = t1 - t0;
    job->interpret_ns[i] = t2 - t1;
  }
  json_object_put(execution);
  json_object_put(run);
  return NULL;
}

static int cmp(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

struct figures {
  double p50, p99;
};

static struct figures percentiles(int64_t *d, int n)
{
  qsort(d, (size_t)n, sizeof(*d), cmp);
  return (struct figures){(double)d[n / 2] / 1e3,
                          (double)d[(n * 99) / 100] / 1e3};
}

/* Runs `threads` x `calls` of each operation; fills render and interpret
 * figures (µs). */
static int measure(const struct wfe_engine_slot *slot, int threads, int calls,
                   struct figures *render, struct figures *interpret)
{
  struct job jobs[8];
  pthread_t tids[8];
  int64_t *r = calloc((size_t)(threads * calls), sizeof(*r));
  int64_t *in = calloc((size_t)(threads * calls), sizeof(*in));
  if (!r || !in)
    return -1;
  for (int t = 0; t < threads; t++) {
    jobs[t] = (struct job){slot, calls, r + t * calls, in + t * calls, 0};
    pthread_create(&tids[t], NULL, run_calls, &jobs[t]);
  }
  int failures = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(tids[t], NULL);
    failures += jobs[t].failures;
  }
  *render = percentiles(r, threads * calls);
  *interpret = percentiles(in, threads * calls);
  free(r);
  free(in);
  return failures ? -1 : 0;
}

static uint64_t memory_bytes; /* 0: the default */

static void engine_limits(void *ctx, const char *engine,
                          struct wfe_engine_host_limits *out)
{
  (void)ctx;
  (void)engine;
  out->memory_bytes = memory_bytes;
}

static long rss_kib(int pid)
{
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  long kib = -1;
  while (f && fgets(line, sizeof(line), f))
    if (!strncmp(line, "VmRSS:", 6))
      kib = atol(line + 6);
  if (f)
    fclose(f);
  return kib;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr,
            "usage: %s PLUGINS_DIR [CALLS] [ENGINE]\n"
            "  WFE_BENCH_MEMORY_MIB=N: engine hosts of N MiB (Go: 2048)\n",
            argv[0]);
    return 2;
  }
  int calls = argc > 2 ? atoi(argv[2]) : 20000;
  /* A runtime that reserves much address space (Go) needs a larger host. */
  const char *memory_mib = getenv("WFE_BENCH_MEMORY_MIB");
  if (memory_mib)
    memory_bytes = strtoull(memory_mib, NULL, 10) << 20;
  const char *engine = argc > 3 ? argv[3] : "tekton";
  for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
    if (!strcmp(runs[i].engine, engine))
      run_text = runs[i].run;
  if (!run_text || calls < 1) {
    fprintf(stderr, "ENGINE is tekton, job, argo, echo-go or echo-rust; "
                    "CALLS at least 1\n");
    return 2;
  }
  struct wfe_host_services services;
  wfe_host_services_init(&services, NULL, NULL);
  struct figures results[2][2][2]; /* [mode][threads 1|4][render|interpret] */
  static const char *const modes[] = {"none", "process"};
  for (int mode = 0; mode < 2; mode++) {
    struct wfe_loader_options opts = {
        .plugins_dir = argv[1],
        .host = &services.table,
        .isolation = mode ? WFE_ISOLATION_PROCESS : WFE_ISOLATION_NONE,
        .host_executable = WFE_ENGINE_HOST_PROGRAM,
        .host_threads = 4,
        .engine_limits = memory_bytes ? engine_limits : NULL,
    };
    struct wfe_registry *reg = NULL;
    struct wfe_error err = WFE_ERROR_INIT;
    if (wfe_registry_load(&opts, &reg, &err)) {
      fprintf(stderr, "%s\n", wfe_error_message(&err));
      return 1;
    }
    const struct wfe_engine_slot *slot = wfe_registry_find(reg, engine);
    if (!slot) {
      fprintf(stderr, "no %s engine in %s\n", engine, argv[1]);
      return 1;
    }
    struct figures warm[2];
    measure(slot, 1, calls / 10 + 1, &warm[0], &warm[1]);
    if (measure(slot, 1, calls, &results[mode][0][0], &results[mode][0][1]) ||
        measure(slot, 4, calls / 4, &results[mode][1][0],
                &results[mode][1][1])) {
      fprintf(stderr, "calls failed in mode %s\n", modes[mode]);
      return 1;
    }
    if (slot->plugin->host)
      printf("engine host RSS after %d calls: %ld KiB (pid %d)\n", calls * 2,
             rss_kib(wfe_engine_host_pid(slot->plugin->host)),
             wfe_engine_host_pid(slot->plugin->host));
    wfe_registry_free(reg);
  }
  static const char *const ops[] = {"render", "interpret"};
  printf("%-10s %-8s %-24s %-24s %s\n", "operation", "threads",
         "in process p50/p99 (us)", "engine host p50/p99 (us)",
         "added p50/p99 (us)");
  for (int t = 0; t < 2; t++)
    for (int op = 0; op < 2; op++) {
      struct figures a = results[0][t][op], b = results[1][t][op];
      printf("%-10s %-8d %9.1f / %-12.1f %9.1f / %-12.1f %7.1f / %.1f\n",
             ops[op], t ? 4 : 1, a.p50, a.p99, b.p50, b.p99, b.p50 - a.p50,
             b.p99 - a.p99);
    }
  return 0;
}
