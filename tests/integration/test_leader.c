/*
 * Leader election (core/kube/leader.h) between separate processes against a
 * real control plane started with tests/cluster/up. Each test starts two
 * leader_candidate processes on one Lease with client-go's default timings
 * (15 s lease, 10 s renew deadline, 2 s retry) and reads what they report:
 * exactly one leads; SIGTERM hands over within about one retry period;
 * SIGKILL within the lease duration; a leader whose API server stops
 * answering stops writing by its renew deadline and exits non-zero. Takeover
 * times are printed; the bounds asserted are generous (lease based), so
 * the test does not flake on a slow machine.
 *
 *   WFE_TEST_PLANE=DIR ctest -L integration -R leader
 *
 * Skips when WFE_TEST_PLANE is unset.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "backoff.h"
#include "json_util.h"
#include "kube_client.h"
#include "plane.h"

extern char **environ;

#define LEASE_MS 15000
#define RENEW_MS 10000
#define RETRY_MS 2000

static struct {
  char kubeconfig[600];
  char work[64]; /* a temporary directory for the candidates' output */
  int paused;    /* the apiserver is paused: resume it whatever happens */
} fixture;

struct candidate {
  pid_t pid; /* 0 once reaped */
  int status;
  char out[256];
};

static struct candidate candidates[2];
static char ns[64];

/* --- Plane ---------------------------------------------------------------- */

static int setup_plane(void **state)
{
  int rc = plane_open(NULL);
  if (rc || !plane.admin)
    return rc;
  plane_path("admin.kubeconfig", fixture.kubeconfig,
             sizeof(fixture.kubeconfig));
  snprintf(fixture.work, sizeof(fixture.work), "/tmp/wfe-leader-XXXXXX");
  if (!mkdtemp(fixture.work))
    return -1;
  return 0;
}

static int teardown_plane(void **state)
{
  if (plane.admin) {
    char command[200];
    snprintf(command, sizeof(command), "rm -rf '%s'", fixture.work);
    if (system(command) != 0)
      fprintf(stderr, "could not remove %s\n", fixture.work);
  }
  plane_close();
  return 0;
}

/* --- Candidates ------------------------------------------------------------
 */

static void spawn_candidate(struct candidate *c, const char *lease, int index)
{
  snprintf(c->out, sizeof(c->out), "%s/%s-%s-%d.out", fixture.work, ns, lease,
           index);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, c->out,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  char *argv[] = {(char *)WFE_LEADER_CANDIDATE, fixture.kubeconfig, ns,
                  (char *)lease, NULL};
  int rc =
      posix_spawn(&c->pid, WFE_LEADER_CANDIDATE, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  assert_int_equal(rc, 0);
  c->status = -1;
}

/* The time on the first (or last) line starting with `word`, or -1. */
static int64_t reported(const struct candidate *c, const char *word, int last)
{
  FILE *f = fopen(c->out, "r");
  if (!f)
    return -1;
  char line[256];
  int64_t found = -1;
  size_t len = strlen(word);
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, word, len) == 0 && line[len] == ' ') {
      found = strtoll(line + len + 1, NULL, 10);
      if (!last)
        break;
    }
  }
  fclose(f);
  return found;
}

/* The identity the candidate reported, in `out`. */
static void identity_of(const struct candidate *c, char *out, size_t size)
{
  out[0] = '\0';
  FILE *f = fopen(c->out, "r");
  char line[256];
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, "identity ", 9) == 0) {
      snprintf(out, size, "%.200s", line + 9);
      out[strcspn(out, "\n")] = '\0';
      break;
    }
  if (f)
    fclose(f);
}

/* Checks who holds `lease` and how often it changed hands. */
static void assert_lease(const char *lease, const struct candidate *holder,
                         int transitions)
{
  static const struct wfe_resource leases = {"coordination.k8s.io/v1", "leases",
                                             1};
  json_object *obj = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_get(plane.admin, &leases, ns, lease, &obj, &err),
                   0);
  char identity[256];
  identity_of(holder, identity, sizeof(identity));
  assert_string_equal(wfe_json_get_string(obj, "spec.holderIdentity"),
                      identity);
  assert_int_equal(
      json_object_get_int(wfe_json_get(obj, "spec.leaseTransitions")),
      transitions);
  assert_int_equal(
      json_object_get_int(wfe_json_get(obj, "spec.leaseDurationSeconds")),
      LEASE_MS / 1000);
  /* MicroTime: 2006-01-02T15:04:05.000000Z */
  assert_int_equal(strlen(wfe_json_get_string(obj, "spec.renewTime")), 27);
  json_object_put(obj);
}

/* Reaps `c` when it has exited; returns non-zero once it has. */
static int exited(struct candidate *c)
{
  if (!c->pid)
    return 1;
  if (waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
    c->pid = 0;
    return 1;
  }
  return 0;
}

static int wait_exit(struct candidate *c, long timeout_ms)
{
  int64_t deadline = wfe_monotonic_ms() + timeout_ms;
  while (!exited(c)) {
    if (wfe_monotonic_ms() > deadline)
      return 0;
    usleep(20000);
  }
  return 1;
}

/* Waits for one of the candidates to report `leading`; returns its index,
 * or -1 after `timeout_ms`. */
static int wait_leader(long timeout_ms, int only)
{
  int64_t deadline = wfe_monotonic_ms() + timeout_ms;
  for (;;) {
    for (int i = 0; i < 2; i++)
      if ((only < 0 || only == i) && reported(&candidates[i], "leading", 0) > 0)
        return i;
    if (wfe_monotonic_ms() > deadline)
      return -1;
    usleep(20000);
  }
}

static void stop_candidates(void)
{
  for (int i = 0; i < 2; i++) {
    struct candidate *c = &candidates[i];
    if (c->pid && !exited(c)) {
      kill(c->pid, SIGTERM);
      if (!wait_exit(c, 15000)) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &c->status, 0);
        c->pid = 0;
      }
    }
  }
}

static int setup_test(void **state)
{
  memset(candidates, 0, sizeof(candidates));
  if (!plane.admin)
    return 0;
  struct wfe_error err = WFE_ERROR_INIT;
  int rc = plane_create_namespace("leader", ns, sizeof(ns), &err);
  if (rc)
    fprintf(stderr, "create namespace %s: %s\n", ns, wfe_error_message(&err));
  wfe_error_clear(&err);
  return rc;
}

static int teardown_test(void **state)
{
  if (fixture.paused) {
    if (plane_run_fault("resume-apiserver") != 0)
      fprintf(stderr, "could not resume the apiserver\n");
    fixture.paused = 0;
  }
  if (!plane.admin)
    return 0;
  stop_candidates();
  plane_delete_namespace(ns);
  return 0;
}

/* Starts both candidates, waits for one to lead and checks that the other
 * does not; returns the leader's index. */
static int elect(const char *lease)
{
  spawn_candidate(&candidates[0], lease, 0);
  spawn_candidate(&candidates[1], lease, 1);
  int leader = wait_leader(LEASE_MS + 2 * RETRY_MS, -1);
  assert_true(leader >= 0);
  /* Give the other a few retry periods to (wrongly) claim it too. */
  usleep(2 * RETRY_MS * 1000 + 500000);
  assert_true(reported(&candidates[1 - leader], "leading", 0) < 0);
  assert_false(exited(&candidates[0]));
  assert_false(exited(&candidates[1]));
  return leader;
}

/* --- Tests ------------------------------------------------------------------
 */

static void test_two_candidates_elect_exactly_one_leader_and_sigterm_hands_over(
    void **state)
{
  plane_need();
  int leader = elect("term");
  struct candidate *old = &candidates[leader];
  struct candidate *standby = &candidates[1 - leader];

  int64_t signalled = wfe_monotonic_ms();
  kill(old->pid, SIGTERM);
  assert_true(wait_exit(old, 15000));
  assert_true(WIFEXITED(old->status));
  assert_int_equal(WEXITSTATUS(old->status), 0);
  assert_true(reported(old, "released", 0) > 0);

  assert_int_equal(wait_leader(LEASE_MS, 1 - leader), 1 - leader);
  int64_t took_over = reported(standby, "leading", 0);
  printf("# SIGTERM takeover: %lld ms (retry period %d ms)\n",
         (long long)(took_over - signalled), RETRY_MS);
  /* Released, not expired: well inside the lease duration. */
  assert_true(took_over - signalled < LEASE_MS);
  /* The old leader's last write came before the new leader's first. */
  usleep(300000);
  int64_t old_last = reported(old, "write", 1);
  int64_t new_first = reported(standby, "write", 0);
  assert_true(new_first > 0);
  assert_true(old_last < new_first);
  assert_lease("term", standby, 1);
}

static void
test_sigkilled_leader_is_replaced_within_the_lease_duration(void **state)
{
  plane_need();
  int leader = elect("kill");
  struct candidate *old = &candidates[leader];
  struct candidate *standby = &candidates[1 - leader];

  int64_t killed = wfe_monotonic_ms();
  int64_t old_last = reported(old, "write", 1);
  kill(old->pid, SIGKILL);
  assert_true(wait_exit(old, 5000));

  assert_int_equal(wait_leader(LEASE_MS + 3 * RETRY_MS, 1 - leader),
                   1 - leader);
  int64_t took_over = reported(standby, "leading", 0);
  printf("# SIGKILL takeover: %lld ms (lease %d ms + retry %d ms)\n",
         (long long)(took_over - killed), LEASE_MS, RETRY_MS);
  /* Expiry is counted from the standby's last sight of a renewal, up to
   * one retry period before the kill, checked every retry period. */
  assert_true(took_over - killed <= LEASE_MS + 2 * RETRY_MS + 1000);
  assert_true(old_last < took_over);
  assert_lease("kill", standby, 1);
}

static void
test_leader_that_cannot_renew_stops_writing_and_exits_non_zero(void **state)
{
  plane_need();
  int leader = elect("pause");
  struct candidate *old = &candidates[leader];
  struct candidate *standby = &candidates[1 - leader];

  int64_t paused = wfe_monotonic_ms();
  plane_fault("pause-apiserver");
  fixture.paused = 1;
  /* The last renewal was at most one retry period before the pause; the
   * deadline is renew deadline after it. Allow generously for the exit. */
  assert_true(wait_exit(old, RENEW_MS + 5000));
  int64_t exited_at = wfe_monotonic_ms();
  printf("# paused apiserver: leader stopped after %lld ms, exited after "
         "%lld ms (renew deadline %d ms)\n",
         (long long)(reported(old, "stopped", 0) - paused),
         (long long)(exited_at - paused), RENEW_MS);
  assert_true(WIFEXITED(old->status));
  assert_int_equal(WEXITSTATUS(old->status), 1);
  assert_true(reported(old, "stopped", 0) > 0);
  /* Writes stopped by the renew deadline, before anyone could take over. */
  int64_t last_write = reported(old, "write", 1);
  assert_true(last_write - paused <= RENEW_MS + 200);
  assert_true(last_write - paused < LEASE_MS);

  plane_fault("resume-apiserver");
  fixture.paused = 0;
  /* The standby takes over once the lease it saw last expires. */
  assert_int_equal(wait_leader(LEASE_MS + 4 * RETRY_MS, 1 - leader),
                   1 - leader);
  assert_true(reported(standby, "leading", 0) > last_write);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup_test, teardown_test)
      T(test_two_candidates_elect_exactly_one_leader_and_sigterm_hands_over),
      T(test_sigkilled_leader_is_replaced_within_the_lease_duration),
      T(test_leader_that_cannot_renew_stops_writing_and_exits_non_zero),
#undef T
  };
  return cmocka_run_group_tests(tests, setup_plane, teardown_plane);
}
