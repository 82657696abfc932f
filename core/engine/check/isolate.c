/*
 * Runs a check in a process of its own, so that an engine that crashes,
 * exits or hangs fails that one check with what happened, and the kit goes
 * on. The process is this program started again (fork, then exec), which
 * loads the plugin as the first did and runs only the named check: a
 * forked copy alone would share the parent's loaded plugin, and a plugin
 * whose runtime started threads at load (Go's) finds them gone in a fork.
 * The child writes its reason to the pipe that is its standard output and
 * ends with _exit, its verdict in the status.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* How a child reports its verdict: statuses no sanitizer or stray exit(1)
 * in an engine is likely to produce. */
enum { CHILD_PASSED = 0, CHILD_FAILED = 70, CHILD_SKIPPED = 71 };

static void write_all(int fd, const char *data, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; /* the parent is gone: nobody to tell */
    data += n;
    len -= (size_t)n;
  }
}

/* One check on a thread whose stack is an engine host worker's: an engine
 * whose recursion fits the kit's main thread but not the controller's
 * workers must fail here, not in production. */
struct check_thread {
  struct check_kit *kit;
  check_fn fn;
  const void *arg;
  struct wfe_buf why;
  int verdict;
};

static void *run_check(void *data)
{
  struct check_thread *t = data;
  t->verdict = t->fn(t->kit, t->arg, &t->why);
  return NULL;
}

static int run_on_worker_stack(struct check_kit *kit, check_fn fn,
                               const void *arg, struct wfe_buf *why)
{
  struct check_thread t = {kit, fn, arg, WFE_BUF_INIT, 0};
  pthread_attr_t attr;
  pthread_t thread;
  int failed = pthread_attr_init(&attr) ||
               pthread_attr_setstacksize(&attr, WFE_ENGINE_HOST_STACK_SIZE) ||
               pthread_create(&thread, &attr, run_check, &t);
  pthread_attr_destroy(&attr);
  if (failed) {
    wfe_buf_puts(why, "could not start a thread for the check");
    return 0;
  }
  pthread_join(thread, NULL);
  *why = t.why;
  return t.verdict;
}

/* In the process started for this check: run it, tell the verdict. */
static void run_here(struct check_kit *kit, check_fn fn, const void *arg)
{
  struct wfe_buf why = WFE_BUF_INIT;
  int verdict = run_on_worker_stack(kit, fn, arg, &why);
  write_all(STDOUT_FILENO, wfe_buf_str(&why), why.len);
  _exit(verdict > 0   ? CHILD_PASSED
        : verdict < 0 ? CHILD_SKIPPED
                      : CHILD_FAILED);
}

/* The forked child: becomes this program again, told which check to run,
 * its verdict's reason written into `fd`. */
static void exec_check(const struct check_kit *kit, const char *name,
                       unsigned timeout_s, int fd)
{
  if (dup2(fd, STDOUT_FILENO) < 0 || setenv(CHECK_ONLY_ENV, name, 1))
    _exit(CHECK_EXIT_NOT_REACHED);
  alarm(timeout_s); /* kept across exec; its default action ends a hang */
  execv(kit->self, kit->argv);
  _exit(CHECK_EXIT_NOT_REACHED);
}
int check_read_fd(int fd, struct wfe_buf *out)
{
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return WFE_E_UNAVAILABLE;
    if (n == 0)
      return 0;
    if (wfe_buf_append(out, chunk, (size_t)n))
      return WFE_E_NOMEM;
  }
}

/* Turns how the child ended into a result. */
static int record(struct check_kit *kit, const char *name, int status,
                  unsigned timeout_s, struct wfe_buf *why)
{
  int ok = 0, skip = 0, rc = 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_PASSED)
    ok = 1;
  else if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SKIPPED)
    skip = 1;
  else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    rc = wfe_buf_printf(why, "%stimed out after %u s", why->len ? "; " : "",
                        timeout_s);
  else if (WIFSIGNALED(status))
    rc = wfe_buf_printf(why, "%sthe engine crashed: signal %d (%s)",
                        why->len ? "; " : "", WTERMSIG(status),
                        strsignal(WTERMSIG(status)));
  else if (WIFEXITED(status) && WEXITSTATUS(status) == CHECK_EXIT_NOT_REACHED)
    rc = wfe_buf_printf(why,
                        "%sthe check could not run: its process did not "
                        "load the plugin or create the engine as this one did",
                        why->len ? "; " : "");
  else if (!(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_FAILED))
    rc = wfe_buf_printf(why, "%sthe engine exited the process with status %d",
                        why->len ? "; " : "", WEXITSTATUS(status));
  if (!rc)
    rc = check_report_add(&kit->report, name, ok, skip, wfe_buf_str(why));
  return rc;
}

/* Under the kit's own valgrind run the checks stay in the process that
 * valgrind watches: a leak in a child would only fail that child. */
static int run_in_process(struct check_kit *kit, const char *name, check_fn fn,
                          const void *arg)
{
  struct wfe_buf why = WFE_BUF_INIT;
  int verdict = run_on_worker_stack(kit, fn, arg, &why);
  int rc = check_report_add(&kit->report, name, verdict > 0, verdict < 0,
                            wfe_buf_str(&why));
  wfe_buf_free(&why);
  return rc;
}

int check_isolated(struct check_kit *kit, const char *name, check_fn fn,
                   const void *arg, unsigned timeout_s)
{
  const char *only = getenv(CHECK_ONLY_ENV);
  if (only && strcmp(only, name) == 0)
    run_here(kit, fn, arg);
  if (only)
    return 0; /* another process runs that one */
  const char *in_process = getenv(CHECK_IN_PROCESS_ENV);
  if (in_process && strcmp(in_process, "1") == 0)
    return run_in_process(kit, name, fn, arg);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC))
    return check_report_add(&kit->report, name, 0, 0, "pipe failed");
  fflush(NULL); /* nothing buffered is written twice */
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return check_report_add(&kit->report, name, 0, 0, "fork failed");
  }
  if (pid == 0)
    exec_check(kit, name, timeout_s, fds[1]);
  close(fds[1]);
  struct wfe_buf why = WFE_BUF_INIT;
  /* A pipe that fails to read loses only the child's reason. */
  int rc = check_read_fd(fds[0], &why) == WFE_E_NOMEM ? WFE_E_NOMEM : 0;
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!rc)
    rc = record(kit, name, status, timeout_s, &why);
  wfe_buf_free(&why);
  return rc;
}

char *check_self_path(void)
{
  for (size_t size = 256; size <= 65536; size *= 2) {
    char *path = malloc(size);
    if (!path)
      return NULL;
    ssize_t n = readlink("/proc/self/exe", path, size);
    if (n >= 0 && (size_t)n < size) {
      path[n] = '\0';
      return path;
    }
    free(path);
    if (n < 0)
      return NULL;
  }
  return NULL;
}