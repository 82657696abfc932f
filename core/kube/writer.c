/*
 * Object writes with optimistic concurrency; see writer.h. Each function is
 * one loop: read, decide, ask the gate, write conditionally, and on a lost
 * race back off and start over from a fresh read.
 */
#include "writer.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "buf.h"
#include "json_util.h"
#include "kube_client.h"

struct loop {
  const struct wfe_write_options *options;
  int max_attempts;
  struct wfe_backoff backoff;
  int writes;
};

static void loop_init(struct loop *loop,
                      const struct wfe_write_options *options)
{
  static const struct wfe_write_options defaults = {0};
  loop->options = options ? options : &defaults;
  loop->writes = 0;
  loop->max_attempts =
      loop->options->max_attempts > 0 ? loop->options->max_attempts : 5;
  wfe_backoff_init(
      &loop->backoff,
      loop->options->backoff_base_ms > 0 ? loop->options->backoff_base_ms : 20,
      loop->options->backoff_cap_ms > 0 ? loop->options->backoff_cap_ms : 1000,
      WFE_JITTER_EQUAL);
}

/* Asks the gate; fails with NotLeader when it says no. */
static int loop_may_write(struct loop *loop, const char *what,
                          const char *namespace_name, const char *name,
                          struct wfe_error *err)
{
  if (!loop->options->gate || loop->options->gate(loop->options->gate_ctx))
    return 0;
  return wfe_error_set(err, WFE_E_UNAVAILABLE, 0, "NotLeader", NULL,
                       "not the leader: refusing to write %s of %s%s%s", what,
                       namespace_name ? namespace_name : "",
                       namespace_name ? "/" : "", name);
}

static void loop_sleep(struct loop *loop)
{
  int64_t delay_ms = wfe_backoff_next(&loop->backoff, wfe_monotonic_ms());
  struct timespec ts = {(time_t)(delay_ms / 1000),
                        (long)(delay_ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

static int is_conflict(const struct wfe_error *err)
{
  return err->http_status == 409 ||
         (err->reason && strcmp(err->reason, "Conflict") == 0);
}

/* A JSON patch whose `test` op failed: the object changed since we read
 * it. The API server answers 422 Invalid with its generic "rejected our
 * request" message (the patch library's error is not passed on), while a
 * real validation failure names the object: "... is invalid: ...". */
static int is_failed_test(const struct wfe_error *err)
{
  if (is_conflict(err))
    return 1;
  return err->http_status == 422 &&
         !(err->message && strstr(err->message, " is invalid: "));
}

/* The API server's JSON patch `test` compares leaf values as raw bytes:
 * "a\/b" does not equal "a/b". Never escape slashes in a patch. */
static const char *patch_text(json_object *patch)
{
  return json_object_to_json_string_ext(
      patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void give_out(json_object **out, json_object *obj)
{
  if (out)
    *out = obj;
  else
    json_object_put(obj);
}

int wfe_write_status(struct wfe_kube_client *client,
                     const struct wfe_resource *res, const char *namespace_name,
                     const char *name, json_object *observed,
                     wfe_mutate_fn mutate, void *ctx,
                     const struct wfe_write_options *options, json_object **out,
                     int *out_writes, struct wfe_error *err)
{
  struct loop loop;
  loop_init(&loop, options);
  if (out)
    *out = NULL;
  if (out_writes)
    *out_writes = 0;
  if (!client || !res || !name || !mutate)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "write_status needs a client, resource, name and "
                         "mutation");
  json_object *current = NULL;
  int rc = 0;
  if (observed) {
    if (json_object_deep_copy(observed, &current, NULL) != 0)
      return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  } else {
    rc = wfe_kube_get(client, res, namespace_name, name, &current, err);
    if (rc)
      return rc;
  }
  for (int attempt = 0;; attempt++) {
    rc = mutate(ctx, current, err);
    if (rc < 0)
      break;
    if (rc == WFE_MUTATE_SKIP) {
      give_out(out, current);
      current = NULL;
      rc = 0;
      break;
    }
    rc = loop_may_write(&loop, "the status", namespace_name, name, err);
    if (rc)
      break;
    json_object *written = NULL;
    loop.writes++;
    rc = wfe_kube_update(client, res, namespace_name, name, "status", current,
                         &written, err);
    if (!rc) {
      give_out(out, written);
      break;
    }
    if (!is_conflict(err))
      break;
    if (attempt + 1 >= loop.max_attempts) {
      wfe_error_prefix(err, "status of %s: gave up after %d conflicts", name,
                       attempt + 1);
      break;
    }
    /* Someone else wrote since we read: read again and let the caller
     * decide whether its change still applies. */
    loop_sleep(&loop);
    json_object_put(current);
    current = NULL;
    wfe_error_clear(err);
    rc = wfe_kube_get(client, res, namespace_name, name, &current, err);
    if (rc)
      break;
  }
  json_object_put(current);
  if (out_writes)
    *out_writes = loop.writes;
  return rc;
}

/* The index of `finalizer` in `finalizers` (an array or NULL), or -1. */
static int finalizer_index(json_object *finalizers, const char *finalizer)
{
  if (!json_object_is_type(finalizers, json_type_array))
    return -1;
  size_t n = json_object_array_length(finalizers);
  for (size_t i = 0; i < n; i++) {
    const char *entry =
        json_object_get_string(json_object_array_get_idx(finalizers, i));
    if (entry && strcmp(entry, finalizer) == 0)
      return (int)i;
  }
  return -1;
}

/* The guarded patch: test what we decided on, then change it. Testing the
 * finalizers (not the resourceVersion) lets status writes by others pass
 * without a retry; with no finalizers yet there is nothing to test but the
 * resourceVersion. */
static json_object *finalizer_patch(json_object *obj, const char *finalizer,
                                    int remove_index)
{
  json_object *finalizers = wfe_json_get(obj, "metadata.finalizers");
  int have_array = json_object_is_type(finalizers, json_type_array);
  json_object *patch = json_object_new_array();
  json_object *test = json_object_new_object();
  json_object *change = json_object_new_object();
  if (!patch || !test || !change) {
    json_object_put(patch);
    json_object_put(test);
    json_object_put(change);
    return NULL;
  }
  json_object_object_add(test, "op", json_object_new_string("test"));
  if (have_array) {
    json_object *copy = NULL;
    json_object_deep_copy(finalizers, &copy, NULL);
    json_object_object_add(test, "path",
                           json_object_new_string("/metadata/finalizers"));
    json_object_object_add(test, "value", copy);
  } else {
    const char *rv = wfe_json_get_string(obj, "metadata.resourceVersion");
    json_object_object_add(test, "path",
                           json_object_new_string("/metadata/resourceVersion"));
    json_object_object_add(test, "value", json_object_new_string(rv ? rv : ""));
  }
  json_object_array_add(patch, test);
  if (remove_index >= 0) {
    char path[64];
    snprintf(path, sizeof(path), "/metadata/finalizers/%d", remove_index);
    json_object_object_add(change, "op", json_object_new_string("remove"));
    json_object_object_add(change, "path", json_object_new_string(path));
  } else if (have_array) {
    json_object_object_add(change, "op", json_object_new_string("add"));
    json_object_object_add(change, "path",
                           json_object_new_string("/metadata/finalizers/-"));
    json_object_object_add(change, "value", json_object_new_string(finalizer));
  } else {
    json_object *list = json_object_new_array();
    json_object_array_add(list, json_object_new_string(finalizer));
    json_object_object_add(change, "op", json_object_new_string("add"));
    json_object_object_add(change, "path",
                           json_object_new_string("/metadata/finalizers"));
    json_object_object_add(change, "value", list);
  }
  json_object_array_add(patch, change);
  return patch;
}

static int finalizer_change(struct wfe_kube_client *client,
                            const struct wfe_resource *res,
                            const char *namespace_name, const char *name,
                            const char *finalizer, int add,
                            const struct wfe_write_options *options,
                            json_object **out, int *out_writes,
                            struct wfe_error *err)
{
  struct loop loop;
  loop_init(&loop, options);
  if (out)
    *out = NULL;
  if (out_writes)
    *out_writes = 0;
  if (!client || !res || !name || !finalizer || !*finalizer)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "finalizer change needs a client, resource, name "
                         "and finalizer");
  int rc;
  for (int attempt = 0;; attempt++) {
    json_object *current = NULL;
    rc = wfe_kube_get(client, res, namespace_name, name, &current, err);
    if (rc)
      break;
    int index = finalizer_index(wfe_json_get(current, "metadata.finalizers"),
                                finalizer);
    if ((add && index >= 0) || (!add && index < 0)) {
      give_out(out, current); /* already as wanted */
      break;
    }
    rc = loop_may_write(&loop, "the finalizers", namespace_name, name, err);
    json_object *patch =
        rc ? NULL : finalizer_patch(current, finalizer, add ? -1 : index);
    json_object_put(current);
    if (rc)
      break;
    if (!patch) {
      rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
      break;
    }
    json_object *patched = NULL;
    loop.writes++;
    rc = wfe_kube_patch(client, res, namespace_name, name, NULL, WFE_PATCH_JSON,
                        patch_text(patch), &patched, err);
    json_object_put(patch);
    if (!rc && !add &&
        finalizer_index(wfe_json_get(patched, "metadata.finalizers"),
                        finalizer) >= 0) {
      /* It was listed twice: take the next one out too. */
      json_object_put(patched);
      continue;
    }
    if (!rc) {
      give_out(out, patched);
      break;
    }
    if (!is_failed_test(err))
      break;
    if (attempt + 1 >= loop.max_attempts) {
      wfe_error_prefix(err, "finalizers of %s: gave up after %d races", name,
                       attempt + 1);
      break;
    }
    loop_sleep(&loop);
    wfe_error_clear(err);
  }
  if (out_writes)
    *out_writes = loop.writes;
  return rc;
}

int wfe_finalizer_add(struct wfe_kube_client *client,
                      const struct wfe_resource *res,
                      const char *namespace_name, const char *name,
                      const char *finalizer,
                      const struct wfe_write_options *options,
                      json_object **out, int *out_writes, struct wfe_error *err)
{
  return finalizer_change(client, res, namespace_name, name, finalizer, 1,
                          options, out, out_writes, err);
}

int wfe_finalizer_remove(struct wfe_kube_client *client,
                         const struct wfe_resource *res,
                         const char *namespace_name, const char *name,
                         const char *finalizer,
                         const struct wfe_write_options *options,
                         json_object **out, int *out_writes,
                         struct wfe_error *err)
{
  return finalizer_change(client, res, namespace_name, name, finalizer, 0,
                          options, out, out_writes, err);
}
