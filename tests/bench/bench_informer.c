/*
 * What the informer costs: resident memory for a cache of N ~1 KiB objects,
 * the idle footprint of a client with one empty informer, the time to the
 * first sync, and the delay from sending an update to the handler seeing it
 * (p50/p99). Prints figures; asserts nothing.
 *
 *   tests/cluster/up /tmp/plane
 *   BUILD/tests/bench/bench_informer /tmp/plane [objects [updates [threads]]]
 *   tests/cluster/down /tmp/plane
 *
 * Defaults: 10000 objects, 1000 updates, 8 creating threads. The objects are
 * ConfigMaps in a fresh namespace, created by a child process so that the
 * measuring process never held them; the namespace is deleted at the end.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backoff.h"
#include "informer.h"
#include "json_util.h"
#include "kube_client.h"
#include "kubeconfig.h"

static const struct wfe_resource configmaps = {"v1", "configmaps", 1};
static const struct wfe_resource namespaces = {"v1", "namespaces", 0};

static long rss_kib(void)
{
  FILE *status = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (status && fgets(line, sizeof(line), status))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  if (status)
    fclose(status);
  return kib;
}

static struct wfe_kube_client *connect_plane(const char *dir)
{
  char path[1024];
  snprintf(path, sizeof(path), "%s/admin.kubeconfig", dir);
  const char *paths[] = {path};
  struct wfe_kube_config *config = NULL;
  struct wfe_kube_client *client = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  struct wfe_kube_client_options options = {.max_retries = 10};
  if (wfe_kube_config_from_files(paths, 1, NULL, &config, &err) != 0 ||
      wfe_kube_client_new(config, &options, &client, &err) != 0) {
    fprintf(stderr, "bench_informer: %s: %s\n", path, wfe_error_message(&err));
    exit(1);
  }
  wfe_kube_config_free(config);
  return client;
}

static void create_namespace(struct wfe_kube_client *client, const char *ns)
{
  char body[256];
  snprintf(body, sizeof(body),
           "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
           "\"metadata\":{\"name\":\"%s\"}}",
           ns);
  json_object *obj = json_tokener_parse(body);
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_kube_create(client, &namespaces, NULL, obj, NULL, &err) != 0) {
    fprintf(stderr, "bench_informer: namespace %s: %s\n", ns,
            wfe_error_message(&err));
    exit(1);
  }
  json_object_put(obj);
}

/* --- Creating the objects (in a child process) -------------------------- */

struct creator {
  struct wfe_kube_client *client;
  const char *ns;
  int first, step, count;
  int failures;
};

static void *create_some(void *arg)
{
  struct creator *c = arg;
  char payload[901];
  for (int i = c->first; i < c->count; i += c->step) {
    for (size_t j = 0; j < sizeof(payload) - 1; j++)
      payload[j] = (char)('a' + (i * 31 + j * 7) % 26);
    payload[sizeof(payload) - 1] = '\0';
    char body[1200];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
             "\"name\":\"obj-%05d\",\"labels\":{\"app\":\"bench\"}},"
             "\"data\":{\"seq\":\"0\",\"payload\":\"%s\"}}",
             i, payload);
    json_object *obj = json_tokener_parse(body);
    struct wfe_error err = WFE_ERROR_INIT;
    if (wfe_kube_create(c->client, &configmaps, c->ns, obj, NULL, &err) != 0 &&
        strcmp(err.reason ? err.reason : "", "AlreadyExists") != 0) {
      if (c->failures++ < 3)
        fprintf(stderr, "bench_informer: create obj-%05d: %s\n", i,
                wfe_error_message(&err));
    }
    wfe_error_clear(&err);
    json_object_put(obj);
  }
  return NULL;
}

static int create_objects(const char *dir, const char *ns, int count,
                          int threads)
{
  struct wfe_kube_client *client = connect_plane(dir);
  create_namespace(client, ns);
  struct creator creators[64];
  pthread_t tids[64];
  int failures = 0;
  for (int t = 0; t < threads; t++) {
    creators[t] = (struct creator){client, ns, t, threads, count, 0};
    pthread_create(&tids[t], NULL, create_some, &creators[t]);
  }
  for (int t = 0; t < threads; t++) {
    pthread_join(tids[t], NULL);
    failures += creators[t].failures;
  }
  wfe_kube_client_free(client);
  return failures ? 1 : 0;
}

/* --- Update delay ------------------------------------------------------- */

struct delays {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int64_t *seen_ns; /* by sequence number; 0 until seen */
  int updates;
};

static void on_event(void *ctx, enum wfe_informer_event_type type,
                     json_object *obj, json_object *old,
                     int final_state_unknown)
{
  struct delays *d = ctx;
  if (type != WFE_INFORMER_UPDATED)
    return;
  int64_t now = wfe_monotonic_ns();
  const char *seq = wfe_json_get_string(obj, "data.seq");
  int n = seq ? atoi(seq) : 0;
  if (n <= 0 || n > d->updates)
    return;
  pthread_mutex_lock(&d->mutex);
  if (!d->seen_ns[n - 1])
    d->seen_ns[n - 1] = now;
  pthread_cond_broadcast(&d->cond);
  pthread_mutex_unlock(&d->mutex);
}

static int compare_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void measure_delays(struct wfe_kube_client *client, const char *ns,
                           int objects, struct delays *d)
{
  int64_t *delay = calloc((size_t)d->updates, sizeof(*delay));
  int done = 0;
  for (int i = 1; i <= d->updates; i++) {
    char name[32], patch[64];
    snprintf(name, sizeof(name), "obj-%05d", (i * 7919) % objects);
    snprintf(patch, sizeof(patch), "{\"data\":{\"seq\":\"%d\"}}", i);
    struct wfe_error err = WFE_ERROR_INIT;
    int64_t sent = wfe_monotonic_ns();
    if (wfe_kube_patch(client, &configmaps, ns, name, NULL, WFE_PATCH_MERGE,
                       patch, NULL, &err) != 0) {
      fprintf(stderr, "bench_informer: patch %s: %s\n", name,
              wfe_error_message(&err));
      wfe_error_clear(&err);
      continue;
    }
    /* One update in flight at a time: the delay is the pipeline's, not a
     * queue's. */
    int64_t give_up = wfe_monotonic_ms() + 10000;
    pthread_mutex_lock(&d->mutex);
    while (!d->seen_ns[i - 1] && wfe_monotonic_ms() < give_up) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += 50000000;
      if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
      }
      pthread_cond_timedwait(&d->cond, &d->mutex, &until);
    }
    if (d->seen_ns[i - 1])
      delay[done++] = d->seen_ns[i - 1] - sent;
    pthread_mutex_unlock(&d->mutex);
  }
  qsort(delay, (size_t)done, sizeof(*delay), compare_i64);
  if (done) {
    printf("update -> handler delay over %d updates: p50 %.2f ms, p99 %.2f "
           "ms, max %.2f ms\n",
           done, delay[done / 2] / 1e6, delay[(done * 99) / 100] / 1e6,
           delay[done - 1] / 1e6);
  }
  if (done < d->updates)
    printf("  %d updates never reached the handler within 10 s\n",
           d->updates - done);
  free(delay);
}

/* --- Main --------------------------------------------------------------- */

static struct wfe_informer *start(struct wfe_kube_client *client,
                                  const char *ns, wfe_informer_event_fn fn,
                                  void *ctx)
{
  struct wfe_informer_options options = {.resource = configmaps,
                                         .namespace_name = ns};
  struct wfe_informer *informer = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_informer_new(client, &options, &informer, &err) != 0 ||
      (fn && wfe_informer_add_handler(informer, fn, ctx) != 0) ||
      wfe_informer_start(informer, &err) != 0 ||
      wfe_informer_wait_synced(informer, 600000) != 0) {
    fprintf(stderr, "bench_informer: informer on %s: %s\n", ns,
            wfe_error_message(&err));
    exit(1);
  }
  return informer;
}

int main(int argc, char **argv)
{
  if (argc < 2 || argv[1][0] == '-') {
    fprintf(stderr,
            "usage: %s PLANE_DIR [objects [updates [threads]]]\n"
            "  PLANE_DIR: a plane started by tests/cluster/up\n"
            "  defaults: 10000 objects of ~1 KiB, 1000 updates, 8 threads\n",
            argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  int objects = argc > 2 ? atoi(argv[2]) : 10000;
  int updates = argc > 3 ? atoi(argv[3]) : 1000;
  int threads = argc > 4 ? atoi(argv[4]) : 8;
  if (objects < 1 || updates < 0 || threads < 1 || threads > 64) {
    fprintf(stderr, "bench_informer: bad numbers\n");
    return 2;
  }
  char ns[64], empty_ns[64];
  unsigned long tag = (unsigned long)(wfe_monotonic_ns() & 0xffffff);
  snprintf(ns, sizeof(ns), "bench-informer-%lx", tag);
  snprintf(empty_ns, sizeof(empty_ns), "bench-informer-empty-%lx", tag);

  int64_t t0 = wfe_monotonic_ms();
  pid_t child = fork();
  if (child == 0)
    _exit(create_objects(dir, ns, objects, threads));
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_informer: creating the objects failed\n");
    return 1;
  }
  printf("created %d ConfigMaps (~1 KiB) in %s with %d threads: %.1f s\n",
         objects, ns, threads, (wfe_monotonic_ms() - t0) / 1000.0);

  long rss_start = rss_kib();
  struct wfe_kube_client *client = connect_plane(dir);
  create_namespace(client, empty_ns);
  struct wfe_informer *idle = start(client, empty_ns, NULL, NULL);
  long rss_idle = rss_kib();
  printf("RSS: %ld KiB at start, %ld KiB idle (client + one empty informer, "
         "synced)\n",
         rss_start, rss_idle);

  struct delays d = {.updates = updates};
  pthread_mutex_init(&d.mutex, NULL);
  pthread_cond_init(&d.cond, NULL);
  d.seen_ns = calloc((size_t)updates + 1, sizeof(*d.seen_ns));
  t0 = wfe_monotonic_ms();
  struct wfe_informer *informer = start(client, ns, on_event, &d);
  int64_t sync_ms = wfe_monotonic_ms() - t0;
  long rss_synced = rss_kib();
  struct wfe_store *store = wfe_informer_store(informer);
  size_t cached = wfe_store_len(store);
  printf("first sync of %zu objects: %.2f s\n", cached, sync_ms / 1000.0);
  printf("RSS after sync: %ld KiB total; %.0f B/object over idle; store "
         "holds %.0f B/object\n",
         rss_synced, (rss_synced - rss_idle) * 1024.0 / (double)cached,
         (double)wfe_store_bytes(store) / (double)cached);
  malloc_trim(0);
  long rss_trimmed = rss_kib();
  printf("RSS after malloc_trim: %ld KiB total; %.0f B/object over idle\n",
         rss_trimmed, (rss_trimmed - rss_idle) * 1024.0 / (double)cached);

  if (updates)
    measure_delays(client, ns, objects, &d);
  printf("RSS at the end: %ld KiB\n", rss_kib());

  wfe_informer_free(informer);
  wfe_informer_free(idle);
  struct wfe_error err = WFE_ERROR_INIT;
  wfe_kube_delete(client, &namespaces, NULL, ns, NULL, &err);
  wfe_kube_delete(client, &namespaces, NULL, empty_ns, NULL, &err);
  wfe_error_clear(&err);
  wfe_kube_client_free(client);
  free(d.seen_ns);
  pthread_cond_destroy(&d.cond);
  pthread_mutex_destroy(&d.mutex);
  return 0;
}
