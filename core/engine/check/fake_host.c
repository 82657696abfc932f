/*
 * The host the kit gives engines: the core's own table (host.c), with the
 * cluster replaced by the objects of the vectors' host/ folder, and an
 * error_set that keeps what the engine passed. The core's error_set puts a
 * generic reason where an engine gave none; the kit must see the gap to
 * report it (errors.shape).
 */
#include <string.h>

#include <json-c/json.h>

#include "check.h"

static void keep_error_set(wfe_error *err, int32_t code, int32_t retryable,
                           const char *reason, const char *field,
                           const char *message)
{
  wfe_error_set((struct wfe_error *)err, code, retryable, reason, field,
                message ? "%s" : NULL, message);
}

static const struct check_object *
find_object(const struct check_vectors *v, const char *api_version,
            const char *resource, const char *namespace_name, const char *name)
{
  for (size_t i = 0; i < v->object_count; i++) {
    const struct check_object *o = &v->objects[i];
    if (strcmp(o->api_version, api_version) == 0 &&
        strcmp(o->resource, resource) == 0 &&
        strcmp(o->namespace_name, namespace_name ? namespace_name : "") == 0 &&
        strcmp(o->name, name) == 0)
      return o;
  }
  return NULL;
}

static int get_object(void *ctx, const char *api_version, const char *resource,
                      const char *namespace_name, const char *name,
                      struct wfe_buf *out, struct wfe_error *err)
{
  const struct check_object *o =
      find_object(ctx, api_version, resource, namespace_name, name);
  if (!o)
    return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NotFound", NULL,
                         "%s %s \"%s\" not found", api_version, resource, name);
  return wfe_buf_puts(out, o->json);
}

/* Whether `labels` (an object) satisfies `selector`: comma-separated
 * key=value or key==value terms, all of which must hold. Returns 1, 0, or
 * -1 for a term the kit does not understand. */
static int labels_match(json_object *labels, const char *selector)
{
  size_t len = strlen(selector);
  char term[WFE_SELECTOR_MAX + 1];
  if (len > WFE_SELECTOR_MAX)
    return -1; /* the core's host refused it already; never cut it */
  memcpy(term, selector, len + 1);
  char *save = NULL;
  int match = 1;
  for (char *t = strtok_r(term, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(t, '=');
    if (!eq || eq == t || strchr(t, '!'))
      return -1;
    *eq = '\0';
    const char *want = eq[1] == '=' ? eq + 2 : eq + 1;
    json_object *have = NULL;
    if (!json_object_object_get_ex(labels, t, &have) ||
        !json_object_is_type(have, json_type_string) ||
        strcmp(json_object_get_string(have), want) != 0)
      match = 0;
  }
  return match;
}

static int append_item(struct wfe_buf *out, const struct check_object *o,
                       int *first)
{
  int rc = wfe_buf_puts(out, *first ? "" : ",");
  *first = 0;
  return rc ? rc : wfe_buf_puts(out, o->json);
}

static int list_objects(void *ctx, const char *api_version,
                        const char *resource, const char *namespace_name,
                        const char *label_selector, const char *field_selector,
                        struct wfe_buf *out, struct wfe_error *err)
{
  const struct check_vectors *v = ctx;
  if (*field_selector)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidSelector", NULL,
                         "the kit's fake host supports no field selector");
  int rc = wfe_buf_printf(out,
                          "{\"apiVersion\":\"%s\",\"kind\":\"List\","
                          "\"metadata\":{},\"items\":[",
                          api_version);
  int first = 1;
  for (size_t i = 0; !rc && i < v->object_count; i++) {
    const struct check_object *o = &v->objects[i];
    if (strcmp(o->api_version, api_version) != 0 ||
        strcmp(o->resource, resource) != 0 ||
        (namespace_name && strcmp(o->namespace_name, namespace_name) != 0))
      continue;
    json_object *obj = json_tokener_parse(o->json);
    json_object *labels = NULL;
    json_object *metadata = NULL;
    if (json_object_object_get_ex(obj, "metadata", &metadata))
      json_object_object_get_ex(metadata, "labels", &labels);
    int match = labels_match(labels, label_selector);
    json_object_put(obj);
    if (match < 0)
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidSelector", NULL,
                           "the kit's fake host understands only key=value "
                           "label selectors, not \"%s\"",
                           label_selector);
    if (match)
      rc = append_item(out, o, &first);
  }
  return rc ? rc : wfe_buf_puts(out, "]}");
}

void check_host_init(struct wfe_host_services *services,
                     const struct check_vectors *v)
{
  wfe_host_services_init(services, get_object, (void *)v);
  wfe_host_services_set_lister(services, list_objects, (void *)v);
  services->table.error_set = keep_error_set;
}
