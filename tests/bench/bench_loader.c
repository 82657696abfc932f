/*
 * How long start-up spends loading plugins: a temporary directory with 100
 * copies of the "named" fixture (bench-000.so ... bench-099.so, each a
 * distinct engine named after its file), loaded and freed N times. Prints
 * min / median / max in milliseconds. A figure to watch, never an assertion.
 *
 *   bench_loader [runs]      (default 20)
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "log.h"
#include "plugin_loader.h"

#define PLUGIN_COPIES 100

static int copy_file(const char *from, const char *to)
{
  int in = open(from, O_RDONLY | O_CLOEXEC);
  int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  int rc = in >= 0 && out >= 0 ? 0 : -1;
  char chunk[65536];
  ssize_t n = 0;
  while (!rc && (n = read(in, chunk, sizeof(chunk))) > 0)
    if (write(out, chunk, (size_t)n) != n)
      rc = -1;
  if (n < 0)
    rc = -1;
  if (out >= 0 && fchmod(out, 0644) != 0)
    rc = -1;
  if (in >= 0)
    close(in);
  if (out >= 0)
    close(out);
  return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
  return remove(path);
}

static int compare_doubles(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
  int runs = argc > 1 ? atoi(argv[1]) : 20;
  if (runs < 1)
    runs = 1;
  char dir[PATH_MAX];
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof(dir), "%s/wfe-bench-loader-XXXXXX",
           tmp && *tmp ? tmp : P_tmpdir);
  if (!mkdtemp(dir) || chmod(dir, 0755) != 0) {
    perror("mkdtemp");
    return 1;
  }
  int rc = 0;
  for (int i = 0; i < PLUGIN_COPIES && !rc; i++) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/bench-%03d.so", dir, i);
    rc = copy_file(WFE_FIXTURE_NAMED, path);
  }
  if (rc)
    fprintf(stderr, "bench_loader: cannot populate %s\n", dir);

  wfe_log_setup(WFE_LOG_FORMAT_TEXT, WFE_LOG_ERROR, stderr);
  struct wfe_host_services host;
  wfe_host_services_init(&host, NULL, NULL);
  struct wfe_loader_options opts = {
      .plugins_dir = dir, .host = &host.table, .isolation = WFE_ISOLATION_NONE};
  double *times = calloc((size_t)runs, sizeof(*times));
  size_t engines = 0, rejected = 0;
  for (int run = 0; run < runs && !rc && times; run++) {
    struct wfe_registry *reg = NULL;
    struct wfe_error err = WFE_ERROR_INIT;
    double start = now_ms();
    rc = wfe_registry_load(&opts, &reg, &err);
    times[run] = now_ms() - start;
    if (rc)
      fprintf(stderr, "bench_loader: %s\n", wfe_error_message(&err));
    else {
      engines = wfe_registry_engine_count(reg);
      rejected = wfe_registry_rejected_count(reg);
    }
    wfe_error_clear(&err);
    wfe_registry_free(reg);
  }
  if (!rc && times) {
    qsort(times, (size_t)runs, sizeof(*times), compare_doubles);
    printf("wfe_registry_load: %d plugin files, %zu engines registered, %zu "
           "rejected\n",
           PLUGIN_COPIES, engines, rejected);
    printf("  runs %d  min %.2f ms  median %.2f ms  max %.2f ms  "
           "(%.1f us per plugin at the median)\n",
           runs, times[0], times[runs / 2], times[runs - 1],
           times[runs / 2] * 1e3 / PLUGIN_COPIES);
  }
  free(times);
  nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  return rc ? 1 : 0;
}
