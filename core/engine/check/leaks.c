/*
 * The check "leaks": the kit runs itself again under valgrind, with every
 * check in the one process valgrind watches (CHECK_IN_PROCESS_ENV), and
 * fails when valgrind reports a memory error or a definite or indirect
 * leak. The checks' own verdicts come from the run without valgrind; this
 * run only answers whether valgrind found something.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* What valgrind exits with when it found an error or a leak. */
#define VALGRIND_ERROR_EXIT 99

/* Whether `program` is an executable file in a directory of $PATH. */
static int on_path(const char *program)
{
  const char *path = getenv("PATH");
  char *copy = path ? strdup(path) : NULL;
  int found = 0;
  char *save = NULL;
  for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found;
       dir = strtok_r(NULL, ":", &save)) {
    char *file = NULL;
    if (asprintf(&file, "%s/%s", dir, program) >= 0) {
      found = access(file, X_OK) == 0;
      free(file);
    }
  }
  free(copy);
  return found;
}

static void exec_valgrind(const char *self, int argc, char **argv, int out)
{
  static const char *const prefix[] = {
      "valgrind", "--quiet", "--leak-check=full",
      "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99"};
  size_t n_prefix = sizeof(prefix) / sizeof(prefix[0]);
  char **args = calloc(n_prefix + (size_t)argc + 1, sizeof(*args));
  if (!args || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
    _exit(127);
  size_t n = 0;
  for (size_t i = 0; i < n_prefix; i++)
    args[n++] = (char *)prefix[i];
  args[n++] = (char *)self;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--valgrind") != 0)
      args[n++] = argv[i];
  setenv("WFE_ENGINE_CHECK_VALGRIND", "0", 1);
  setenv(CHECK_IN_PROCESS_ENV, "1", 1);
  execvp("valgrind", args);
  _exit(127);
}

/* Runs the kit under valgrind; its combined output in `out`. Returns the
 * wait status, or -1 when it could not be started. */
static int run_under_valgrind(int argc, char **argv, struct wfe_buf *out)
{
  char *self = check_self_path();
  int fds[2];
  if (!self || pipe(fds)) {
    free(self);
    return -1;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    exec_valgrind(self, argc, argv, fds[1]);
  }
  free(self);
  close(fds[1]);
  int rc = pid < 0 ? -1 : check_read_fd(fds[0], out) == WFE_E_NOMEM;
  close(fds[0]);
  int status = -1;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return rc ? -1 : status;
}

int check_leaks(struct check_kit *kit, int argc, char **argv)
{
  if (!on_path("valgrind"))
    return check_report_add(&kit->report, "leaks", 1, 1,
                            "valgrind is not on PATH");
  struct wfe_buf out = WFE_BUF_INIT, why = WFE_BUF_INIT;
  int status = run_under_valgrind(argc, argv, &out);
  const char *text = wfe_buf_str(&out);
  int ok = 0, rc = 0;
  if (status == -1)
    rc = wfe_buf_puts(&why, "could not start valgrind");
  else if (WIFEXITED(status) && WEXITSTATUS(status) == VALGRIND_ERROR_EXIT)
    rc = wfe_buf_printf(&why,
                        "valgrind found memory errors or leaks (run the kit "
                        "under valgrind to see all): %.600s",
                        strstr(text, "==") ? strstr(text, "==") : text);
  else if (!strstr(text, " passed, "))
    rc = wfe_buf_printf(&why,
                        "the run under valgrind did not finish (with every "
                        "check in one process, an engine that crashes ends "
                        "it: see the checks that failed): %.300s",
                        text);
  else
    ok = 1;
  if (!rc)
    rc = check_report_add(&kit->report, "leaks", ok, 0, wfe_buf_str(&why));
  wfe_buf_free(&out);
  wfe_buf_free(&why);
  return rc;
}
