/*
 * The control plane the integration tests run against, started with
 * tests/cluster/up DIR and named by WFE_TEST_PLANE=DIR: an admin client on
 * DIR/admin.kubeconfig, throwaway namespaces, the faults tests/cluster/fault
 * injects and the values of DIR/env. Each test opens it in its group setup
 * and skips (plane_need) when WFE_TEST_PLANE is unset.
 */
#ifndef WFE_TEST_PLANE_H
#define WFE_TEST_PLANE_H

#include <stddef.h>

#include "kube_client.h"
#include "kubeconfig.h"

struct plane {
  char dir[512];
  struct wfe_kube_config *admin_config;
  struct wfe_kube_client *admin; /* NULL without a plane */
};

extern struct plane plane;

/* For the group setup: reads WFE_TEST_PLANE and, when it is set, loads
 * DIR/admin.kubeconfig into plane.admin_config and plane.admin (made with
 * `options`, may be NULL). Returns 0, also without a plane, or non-zero
 * with a message on stderr when the plane cannot be used. */
int plane_open(const struct wfe_kube_client_options *options);
/* For the group teardown. */
void plane_close(void);
/* Skips the current test when there is no plane. */
void plane_need(void);

/* "DIR/name" in `out`; returns `out`. */
char *plane_path(const char *name, char *out, size_t size);
/* The kubeconfig DIR/name; fails the test when it cannot be loaded. */
struct wfe_kube_config *plane_load_config(const char *name);

/* Creates a namespace named "<prefix>-<unique>", into `out`. Returns 0 or
 * the WFE_E_* code with `err` set. */
int plane_create_namespace(const char *prefix, char *out, size_t size,
                           struct wfe_error *err);
/* Deletes namespace `ns` (and so everything in it), ignoring errors. */
void plane_delete_namespace(const char *ns);

/* Runs `tests/cluster/fault DIR action`; returns its exit status. */
int plane_run_fault(const char *action);
/* The same, failing the test unless the fault succeeded. */
void plane_fault(const char *action);

/* Whether the apiserver serves watches from its cache: not when the plane
 * was started with WFE_PLANE_WATCH_CACHE=0, as DIR/env records. */
int plane_watch_cache(void);

#endif
