/* The control plane of the integration tests: see plane.h. */
#include "plane.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backoff.h"
#include "json_util.h"

struct plane plane;

static const struct wfe_resource namespaces = {"v1", "namespaces", 0};

int plane_open(const struct wfe_kube_client_options *options)
{
  const char *dir = getenv("WFE_TEST_PLANE");
  if (!dir || !*dir)
    return 0;
  snprintf(plane.dir, sizeof(plane.dir), "%s", dir);
  char path[600];
  const char *paths[] = {plane_path("admin.kubeconfig", path, sizeof(path))};
  struct wfe_error err = WFE_ERROR_INIT;
  int rc =
      wfe_kube_config_from_files(paths, 1, NULL, &plane.admin_config, &err);
  if (rc == 0)
    rc = wfe_kube_client_new(plane.admin_config, options, &plane.admin, &err);
  if (rc)
    fprintf(stderr, "cannot reach the plane in %s: %s\n", dir,
            wfe_error_message(&err));
  wfe_error_clear(&err);
  return rc;
}

void plane_close(void)
{
  wfe_kube_client_free(plane.admin);
  wfe_kube_config_free(plane.admin_config);
  plane.admin = NULL;
  plane.admin_config = NULL;
}

void plane_need(void)
{
  if (!plane.admin)
    skip();
}

char *plane_path(const char *name, char *out, size_t size)
{
  snprintf(out, size, "%s/%s", plane.dir, name);
  return out;
}

struct wfe_kube_config *plane_load_config(const char *name)
{
  char path[600];
  const char *paths[] = {plane_path(name, path, sizeof(path))};
  struct wfe_kube_config *config = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (wfe_kube_config_from_files(paths, 1, NULL, &config, &err))
    fail_msg("%s: %s", path, wfe_error_message(&err));
  return config;
}

int plane_create_namespace(const char *prefix, char *out, size_t size,
                           struct wfe_error *err)
{
  /* The time tells runs apart, the counter namespaces of one run. */
  static unsigned counter;
  snprintf(out, size, "%s-%lx-%u", prefix,
           (unsigned long)(wfe_monotonic_ns() & 0xffffff), counter++);
  char body[256];
  snprintf(body, sizeof(body),
           "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
           "\"name\":\"%s\"}}",
           out);
  json_object *obj = wfe_json_parse(body, strlen(body));
  int rc = wfe_kube_create(plane.admin, &namespaces, NULL, obj, NULL, err);
  json_object_put(obj);
  return rc;
}

void plane_delete_namespace(const char *ns)
{
  struct wfe_error err = WFE_ERROR_INIT;
  wfe_kube_delete(plane.admin, &namespaces, NULL, ns, NULL, &err);
  wfe_error_clear(&err);
}

int plane_run_fault(const char *action)
{
  char command[1200];
  snprintf(command, sizeof(command), "'%s/fault' '%s' %s >/dev/null",
           WFE_TEST_CLUSTER_DIR, plane.dir, action);
  return system(command);
}

void plane_fault(const char *action)
{
  if (plane_run_fault(action) != 0)
    fail_msg("fault %s failed", action);
}

int plane_watch_cache(void)
{
  char path[600];
  FILE *env = fopen(plane_path("env", path, sizeof(path)), "r");
  char line[1024];
  int cache = 1;
  while (env && fgets(line, sizeof(line), env))
    if (strncmp(line, "export WFE_PLANE_WATCH_CACHE=0", 30) == 0)
      cache = 0;
  if (env)
    fclose(env);
  return cache;
}
