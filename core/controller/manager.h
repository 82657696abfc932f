/*
 * The running controller, assembled: configuration in, then the API client,
 * the engine registry, informers on WorkflowExecutions and on every engine's
 * run type, the work queue and the reconciler's workers, Events, leader
 * election, the probe and metrics endpoints, and an orderly stop on
 * SIGTERM/SIGINT. The composition root: the only place that knows all parts.
 */
#ifndef WFE_CONTROLLER_MANAGER_H
#define WFE_CONTROLLER_MANAGER_H

#include "config.h"
#include "error.h"

/*
 * Runs until SIGTERM or SIGINT (blocked in every thread; the calling thread
 * waits for them), then stops intake, lets in-flight work finish within the
 * grace period, releases the lease and returns 0. A start-up failure
 * (configuration, cluster, a required engine missing, a port taken) returns
 * its code with `err` naming the cause.
 */
int wfe_manager_run(const struct wfe_config *config, struct wfe_error *err);

#endif
