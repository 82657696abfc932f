/*
 * The descriptor and the instance: what the loader already enforced (the
 * ABI version and struct sizes: a plugin that fails them never gets here)
 * reported as checks, the names and run type a host relies on, and create
 * with a good and a bad configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "json_util.h"
#include "names.h"

/* The key the kit adds to a configuration: no engine knows it. */
#define CHECK_UNKNOWN_KEY "wfeCheckUnknownKey"

/* How long loading may take: an engine host's default load timeout. */
#define LOAD_TIMEOUT_S 10

static int report(struct check_kit *kit, const char *name, int ok,
                  const char *message)
{
  return check_report_add(&kit->report, name, ok, 0, message);
}

static int check_version(struct check_kit *kit)
{
  const wfe_plugin *p = kit->image->desc;
  struct wfe_buf msg = WFE_BUF_INIT;
  int rc =
      wfe_buf_printf(&msg, "plugin ABI %u.%u, host ABI %u.%u", p->abi_major,
                     p->abi_minor, WFE_ENGINE_ABI_MAJOR, WFE_ENGINE_ABI_MINOR);
  for (size_t i = 0; !rc && i < kit->image->refusal_count; i++)
    rc = wfe_buf_printf(&msg, "; engine %s refused: %s",
                        kit->image->refusals[i].engine,
                        kit->image->refusals[i].reason);
  if (!rc)
    rc = report(kit, "descriptor.version", kit->image->refusal_count == 0,
                wfe_buf_str(&msg));
  wfe_buf_free(&msg);
  return rc;
}

/* "v1" or "group/version", lowercase DNS-ish parts. */
static int is_api_version(const char *s)
{
  const char *slash = strchr(s, '/');
  if (!slash)
    return wfe_is_dns_label(s);
  char *group = strndup(s, (size_t)(slash - s));
  int ok = group && wfe_is_dns_subdomain(group) && wfe_is_dns_label(slash + 1);
  free(group);
  return ok;
}

/* The first problem with the names of the plugin and the engine, or NULL. */
static const char *names_problem(const wfe_plugin *p, const wfe_engine *e)
{
  const wfe_run_type *rt = e->run_type;
  if (!p->name || !*p->name || !p->version || !*p->version)
    return "the plugin has no name or no version";
  if (!e->version || !*e->version)
    return "the engine has no version";
  if (!e->description || !*e->description)
    return "the engine has no description";
  if (!is_api_version(rt->api_version))
    return "run_type.api_version is not \"v1\" or \"group/version\"";
  if (!(rt->kind[0] >= 'A' && rt->kind[0] <= 'Z'))
    return "run_type.kind does not start with a capital letter";
  if (!wfe_is_dns_label(rt->resource))
    return "run_type.resource is not a lowercase plural name";
  return NULL;
}

/* The engine to check: `name` (--engine), or the plugin's only one. 0 with
 * its index, or 1 when there is none such. */
static int select_engine_of(const struct wfe_plugin_image *image,
                            const char *name, size_t *out)
{
  for (size_t i = 0; i < image->engine_count; i++)
    if (name ? strcmp(image->engines[i]->name, name) == 0
             : image->engine_count == 1) {
      *out = i;
      return 0;
    }
  return 1;
}

/* Loads the plugin, creates its engine and unloads it all again in the
 * child: whether it refuses is for the checks that follow, in the kit's own
 * process, to say; only a crash, an exit or a hang fails this one. */
static int load_in_child(struct check_kit *kit, const void *arg,
                         struct wfe_buf *why)
{
  (void)arg;
  struct wfe_plugin_image *image = NULL;
  struct wfe_buf refused = WFE_BUF_INIT;
  int rc = wfe_plugin_image_open(kit->plugin_path, &kit->services.table, &image,
                                 &refused);
  size_t i = 0;
  if (rc == 0 && select_engine_of(image, kit->engine_name, &i) == 0)
    rc = wfe_plugin_image_create(image, i, &kit->services.table, kit->config,
                                 kit->config_len, &refused);
  wfe_plugin_image_close(image);
  wfe_buf_free(&refused);
  if (rc == WFE_E_NOMEM)
    wfe_buf_puts(why, "out of memory");
  return rc != WFE_E_NOMEM;
}

int check_load(struct check_kit *kit)
{
  size_t before = kit->report.count;
  int rc = check_isolated(kit, "load", load_in_child, NULL, LOAD_TIMEOUT_S);
  if (!rc && kit->report.count > before &&
      !kit->report.results[kit->report.count - 1].ok)
    rc = 1; /* a plugin that takes its host down gets no further */
  return rc;
}

int check_descriptor(struct check_kit *kit)
{
  int rc = check_version(kit);
  size_t i = 0;
  if (rc)
    return rc;
  if (select_engine_of(kit->image, kit->engine_name, &i)) {
    rc = report(kit, "descriptor.names", 0,
                kit->image->engine_count == 0
                    ? "no engine of the plugin passed the loader's checks"
                : kit->engine_name
                    ? "the plugin provides no engine of that name"
                    : "the plugin provides several engines: choose one with "
                      "--engine");
    return rc ? rc : 1;
  }
  kit->engine = kit->image->engines[i];
  const char *problem = names_problem(kit->image->desc, kit->engine);
  return report(kit, "descriptor.names", !problem, problem);
}

/* The configuration with CHECK_UNKNOWN_KEY added; NULL when it is not a
 * JSON object or memory ran out. Caller frees. */
static char *config_with_unknown_key(const struct check_kit *kit)
{
  json_object *config = wfe_json_parse(kit->config, kit->config_len);
  char *text = NULL;
  if (json_object_is_type(config, json_type_object) &&
      json_object_object_add(config, CHECK_UNKNOWN_KEY,
                             json_object_new_int(1)) == 0) {
    const char *t = wfe_json_text(config, NULL);
    text = t ? strdup(t) : NULL;
  }
  json_object_put(config);
  return text;
}

/* Create must refuse an unknown key and name it. */
static int bad_config_names_key(struct check_kit *kit, const void *arg,
                                struct wfe_buf *why)
{
  (void)arg;
  char *config = config_with_unknown_key(kit);
  if (!config)
    return wfe_buf_puts(why, "--config is not a JSON object"), 0;
  struct check_call call = CHECK_CALL_INIT;
  void *instance = NULL;
  call.status =
      kit->engine->create(&kit->services.table, config, strlen(config),
                          &instance, (wfe_error *)&call.err);
  free(config);
  int ok = 0;
  if (call.status == WFE_OK) {
    kit->engine->destroy(instance);
    wfe_buf_puts(why, "create accepted a configuration with the unknown "
                      "key " CHECK_UNKNOWN_KEY);
  } else if (check_error_shape(&call, why)) {
    const char *f = call.err.field, *m = call.err.message;
    ok = (f && strstr(f, CHECK_UNKNOWN_KEY)) ||
         (m && strstr(m, CHECK_UNKNOWN_KEY));
    if (!ok)
      wfe_buf_printf(why,
                     "the error does not name the key " CHECK_UNKNOWN_KEY
                     " (field %s, message %.200s)",
                     f ? f : "NULL", m ? m : "NULL");
  }
  check_call_free(&call);
  return ok;
}

int check_create(struct check_kit *kit)
{
  size_t i = 0;
  while (kit->image->engines[i] != kit->engine)
    i++;
  struct wfe_buf why = WFE_BUF_INIT;
  int rc = wfe_plugin_image_create(kit->image, i, &kit->services.table,
                                   kit->config, kit->config_len, &why);
  if (rc == 0) {
    kit->instance = kit->image->instances[i];
    kit->created = 1;
  }
  if (rc >= 0) {
    int refused = rc > 0;
    rc = report(kit, "create.config", !refused, wfe_buf_str(&why));
    if (!rc && refused)
      rc = 1; /* nothing more can be checked without an instance */
  }
  wfe_buf_free(&why);
  if (rc)
    return rc;
  return check_isolated(kit, "create.bad-config-names-key",
                        bad_config_names_key, NULL, 30);
}
