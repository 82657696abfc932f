/*
 * One leader-election candidate as its own process, for
 * tests/integration/test_leader.c: runs the elector (core/kube/leader.h) on a
 * Lease and reports on stdout, one line each, with CLOCK_MONOTONIC
 * milliseconds (comparable across processes on one host):
 *
 *   identity ID         at start
 *   leading T           on_started_leading
 *   write T             every 100 ms while wfe_leader_is_leader() -- the
 *                       writes a controller would make
 *   stopped T           on_stopped_leading
 *   released T RC       after SIGTERM/SIGINT: wfe_leader_release; exit 0
 *
 * A lost lease ends the process with the elector's default, exit status 1.
 *
 *   leader_candidate KUBECONFIG NAMESPACE LEASE [LEASE_MS RENEW_MS RETRY_MS]
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backoff.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "leader.h"

static void on_started(void *ctx)
{
  printf("leading %lld\n", (long long)wfe_monotonic_ms());
}

static void on_stopped(void *ctx)
{
  printf("stopped %lld\n", (long long)wfe_monotonic_ms());
}

int main(int argc, char **argv)
{
  if (argc != 4 && argc != 7) {
    fprintf(stderr,
            "usage: %s KUBECONFIG NAMESPACE LEASE "
            "[LEASE_MS RENEW_MS RETRY_MS]\n",
            argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* Signals are taken synchronously below; no thread may catch them. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);

  struct wfe_leader_options options = {.namespace_name = argv[2],
                                       .name = argv[3]};
  if (argc == 7) {
    options.lease_duration_ms = atol(argv[4]);
    options.renew_deadline_ms = atol(argv[5]);
    options.retry_period_ms = atol(argv[6]);
  }
  long renew_ms = options.renew_deadline_ms ? options.renew_deadline_ms : 10000;

  const char *paths[] = {argv[1]};
  struct wfe_kube_config *config = NULL;
  struct wfe_kube_client *client = NULL;
  struct wfe_leader *leader = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  /* The elector's own client: short requests, no retries of its own. */
  struct wfe_kube_client_options client_options = {
      .request_timeout_ms = renew_ms / 2, .max_retries = 0};
  struct wfe_leader_callbacks callbacks = {.on_started_leading = on_started,
                                           .on_stopped_leading = on_stopped};
  if (wfe_kube_config_from_files(paths, 1, NULL, &config, &err) ||
      wfe_kube_client_new(config, &client_options, &client, &err) ||
      wfe_leader_new(client, &options, &callbacks, &leader, &err) ||
      wfe_leader_start(leader, &err)) {
    fprintf(stderr, "leader_candidate: %s\n", wfe_error_message(&err));
    return 2;
  }
  printf("identity %s\n", wfe_leader_identity(leader));

  struct timespec tick = {0, 100 * 1000000L};
  for (;;) {
    int sig = sigtimedwait(&signals, NULL, &tick);
    if (sig == SIGTERM || sig == SIGINT)
      break;
    if (wfe_leader_is_leader(leader))
      printf("write %lld\n", (long long)wfe_monotonic_ms());
  }
  int rc = wfe_leader_release(leader, &err);
  printf("released %lld %d\n", (long long)wfe_monotonic_ms(), rc);
  if (rc)
    fprintf(stderr, "leader_candidate: %s\n", wfe_error_message(&err));
  wfe_leader_free(leader);
  wfe_kube_client_free(client);
  wfe_kube_config_free(config);
  wfe_error_clear(&err);
  return 0;
}
