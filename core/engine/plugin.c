/* One plugin file in this process; see plugin.h. */
#include "plugin.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "names.h"
#include "status.h"

/* Sizes of the ABI 1.0 structs: the least a plugin may hand us. Measured to
 * the end of the last 1.0 member, so tail padding does not count. */
#define END_OF(type, member)                                                   \
  (offsetof(type, member) + sizeof(((type *)0)->member))
#define PLUGIN_V1_0_SIZE END_OF(wfe_plugin, engines)
#define ENGINE_V1_0_SIZE END_OF(wfe_engine, get_extension)
#define RUN_TYPE_V1_0_SIZE END_OF(wfe_run_type, has_status_subresource)
/* Enough of a plugin struct to read its ABI version, whatever the version. */
#define PLUGIN_VERSION_SIZE END_OF(wfe_plugin, abi_minor)

/* Returns 0 when the plugin descriptor is usable, 1 with `why` filled. */
static int check_plugin(const wfe_plugin *desc, struct wfe_buf *why)
{
  int rc = 0;
  if (desc->struct_size < PLUGIN_VERSION_SIZE)
    rc = wfe_buf_printf(why,
                        "plugin descriptor is %u bytes, too small to "
                        "hold an ABI version",
                        (unsigned)desc->struct_size);
  else if (desc->abi_major != WFE_ENGINE_ABI_MAJOR)
    rc = wfe_buf_printf(why,
                        "plugin ABI %u.%u has a different major version than "
                        "host ABI %u.%u",
                        desc->abi_major, desc->abi_minor, WFE_ENGINE_ABI_MAJOR,
                        WFE_ENGINE_ABI_MINOR);
  else if (desc->abi_minor > WFE_ENGINE_ABI_MINOR)
    rc = wfe_buf_printf(why, "plugin ABI %u.%u is newer than host ABI %u.%u",
                        desc->abi_major, desc->abi_minor, WFE_ENGINE_ABI_MAJOR,
                        WFE_ENGINE_ABI_MINOR);
  else if (desc->struct_size < PLUGIN_V1_0_SIZE)
    rc = wfe_buf_printf(why,
                        "plugin descriptor is %u bytes, smaller than the %zu "
                        "bytes of ABI 1.0",
                        (unsigned)desc->struct_size, (size_t)PLUGIN_V1_0_SIZE);
  else if (desc->engine_count == 0 || !desc->engines)
    rc = wfe_buf_puts(why, "plugin provides no engines");
  else
    return 0;
  return rc ? WFE_E_NOMEM : 1;
}

/* The name of the first required engine operation that is NULL, or NULL. */
static const char *missing_operation(const wfe_engine *e)
{
  return !e->create      ? "create"
         : !e->destroy   ? "destroy"
         : !e->validate  ? "validate"
         : !e->render    ? "render"
         : !e->interpret ? "interpret"
         : !e->cancel    ? "cancel"
                         : NULL;
}

/* Returns 0 when the engine descriptor is usable, 1 with `why` filled. */
static int check_engine(const wfe_engine *e, struct wfe_buf *why)
{
  int rc = 0;
  if (e->struct_size < ENGINE_V1_0_SIZE)
    rc = wfe_buf_printf(why,
                        "engine descriptor is %u bytes, smaller than the %zu "
                        "bytes of ABI 1.0",
                        (unsigned)e->struct_size, (size_t)ENGINE_V1_0_SIZE);
  else if (!e->name || !wfe_is_dns_label(e->name))
    rc = wfe_buf_printf(why,
                        "engine name \"%.80s\" is not a DNS label (lowercase "
                        "letters, digits and '-', at most 63 characters)",
                        e->name ? e->name : "(null)");
  else if (!e->version)
    rc = wfe_buf_puts(why, "engine has no version");
  else if (!e->run_type || e->run_type->struct_size < RUN_TYPE_V1_0_SIZE)
    rc = wfe_buf_puts(why, "engine has no run_type or it is smaller than in "
                           "ABI 1.0");
  else if (!e->run_type->api_version || !e->run_type->kind ||
           !e->run_type->resource)
    rc = wfe_buf_puts(why, "engine run_type lacks api_version, kind or "
                           "resource");
  else if (missing_operation(e))
    rc = wfe_buf_printf(why, "engine lacks the required operation %s",
                        missing_operation(e));
  else
    return 0;
  return rc ? WFE_E_NOMEM : 1;
}

/* "message (Reason, field f, status)" from an error a plugin filled. */
static int describe_plugin_error(struct wfe_buf *out, int32_t rc,
                                 const struct wfe_error *perr)
{
  return wfe_buf_printf(out, "%s (%s%s%s%s%s%s)", wfe_error_message(perr),
                        perr->reason ? perr->reason : "",
                        perr->reason ? ", " : "", perr->field ? "field " : "",
                        perr->field ? perr->field : "", perr->field ? ", " : "",
                        wfe_status_name(rc));
}

static int add_refusal(struct wfe_plugin_image *image, const char *engine,
                       const char *reason)
{
  struct wfe_plugin_refusal *grown =
      realloc(image->refusals, (image->refusal_count + 1) * sizeof(*grown));
  if (!grown)
    return WFE_E_NOMEM;
  image->refusals = grown;
  struct wfe_plugin_refusal *r = &grown[image->refusal_count];
  r->engine = strdup(engine);
  r->reason = strdup(reason);
  if (!r->engine || !r->reason) {
    free(r->engine);
    free(r->reason);
    return WFE_E_NOMEM;
  }
  image->refusal_count++;
  return 0;
}

/* Sorts the plugin's engines into those that pass and those refused. */
static int check_engines(struct wfe_plugin_image *image)
{
  size_t n = image->desc->engine_count;
  image->engines = calloc(n, sizeof(*image->engines));
  image->indexes = calloc(n, sizeof(*image->indexes));
  image->instances = calloc(n, sizeof(*image->instances));
  image->created = calloc(n, sizeof(*image->created));
  if (!image->engines || !image->indexes || !image->instances ||
      !image->created)
    return WFE_E_NOMEM;
  for (size_t i = 0; i < n; i++) {
    const wfe_engine *e = image->desc->engines[i];
    char label[32];
    snprintf(label, sizeof(label), "#%zu", i);
    if (!e) {
      if (add_refusal(image, label, "the engine descriptor is NULL"))
        return WFE_E_NOMEM;
      continue;
    }
    struct wfe_buf why = WFE_BUF_INIT;
    int rc = check_engine(e, &why);
    if (rc == 0) {
      image->indexes[image->engine_count] = i;
      image->engines[image->engine_count++] = e;
      continue;
    }
    const char *name =
        e->struct_size >= END_OF(wfe_engine, name) && e->name ? e->name : label;
    if (rc > 0)
      rc = add_refusal(image, name, wfe_buf_str(&why));
    wfe_buf_free(&why);
    if (rc)
      return rc;
  }
  return 0;
}

static void free_image(struct wfe_plugin_image *image)
{
  for (size_t i = 0; i < image->refusal_count; i++) {
    free(image->refusals[i].engine);
    free(image->refusals[i].reason);
  }
  free(image->refusals);
  free(image->engines);
  free(image->indexes);
  free(image->instances);
  free(image->created);
  free(image);
}

/* dlopens and finds the descriptor. 0, 1 (refused, `why`), WFE_E_NOMEM. */
static int open_file(struct wfe_plugin_image *image, const char *real_path,
                     struct wfe_buf *why)
{
  /* The same file loaded twice would share one image: init would run twice
   * and the duplicate's fini would pull the rug from under the first. */
  dlerror();
  void *existing = dlopen(real_path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (existing) {
    dlclose(existing);
    return wfe_buf_puts(why, "the same file is already loaded in this "
                             "process")
               ? WFE_E_NOMEM
               : 1;
  }
  dlerror();
  image->handle = dlopen(real_path, RTLD_NOW | RTLD_LOCAL);
  if (!image->handle) {
    const char *dl = dlerror();
    return wfe_buf_printf(why, "cannot load: %s",
                          dl ? dl : "unknown dlopen error")
               ? WFE_E_NOMEM
               : 1;
  }
  dlerror();
  void *sym = dlsym(image->handle, WFE_PLUGIN_ENTRY_SYMBOL);
  int rc;
  if (!sym) {
    const char *dl = dlerror();
    rc = wfe_buf_printf(why, "no entry symbol %s: %s", WFE_PLUGIN_ENTRY_SYMBOL,
                        dl ? dl : "not found");
  } else {
    wfe_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof(entry)); /* object to function pointer */
    image->desc = entry();
    if (!image->desc)
      rc = wfe_buf_printf(why, "%s() returned NULL", WFE_PLUGIN_ENTRY_SYMBOL);
    else if ((rc = check_plugin(image->desc, why)) == 0)
      return 0;
    else if (rc > 0)
      rc = 0;
  }
  dlclose(image->handle);
  image->handle = NULL;
  return rc ? WFE_E_NOMEM : 1;
}

int wfe_plugin_image_open(const char *real_path, const wfe_host *host,
                          struct wfe_plugin_image **out, struct wfe_buf *why)
{
  *out = NULL;
  struct wfe_plugin_image *image = calloc(1, sizeof(*image));
  if (!image)
    return WFE_E_NOMEM;
  int rc = open_file(image, real_path, why);
  if (rc) {
    free_image(image);
    return rc;
  }
  if ((rc = check_engines(image)))
    goto fail;
  if (image->engine_count > 0 && image->desc->init) {
    struct wfe_error perr = WFE_ERROR_INIT;
    int32_t status = image->desc->init(host, &perr);
    if (status != WFE_OK) {
      rc = wfe_buf_puts(why, "init failed: ");
      if (!rc)
        rc = describe_plugin_error(why, status, &perr);
      wfe_error_clear(&perr);
      rc = rc ? WFE_E_NOMEM : 1;
      goto fail; /* no fini after a failed init */
    }
    wfe_error_clear(&perr);
  }
  image->inited = image->engine_count > 0;
  *out = image;
  return 0;
fail:
  dlclose(image->handle);
  free_image(image);
  return rc;
}

int wfe_plugin_image_create(struct wfe_plugin_image *image, size_t i,
                            const wfe_host *host, const char *config,
                            size_t config_len, struct wfe_buf *why)
{
  const wfe_engine *e = image->engines[i];
  struct wfe_error perr = WFE_ERROR_INIT;
  void *instance = NULL;
  int32_t status = e->create(host, config, config_len, &instance, &perr);
  int rc = 0;
  if (status == WFE_OK) {
    image->instances[i] = instance;
    image->created[i] = 1;
  } else {
    rc = wfe_buf_puts(why, "create failed: ");
    if (!rc)
      rc = describe_plugin_error(why, status, &perr);
    rc = rc ? WFE_E_NOMEM : 1;
  }
  wfe_error_clear(&perr);
  return rc;
}

void wfe_plugin_image_close(struct wfe_plugin_image *image)
{
  if (!image)
    return;
  for (size_t i = image->engine_count; i-- > 0;)
    if (image->created[i])
      image->engines[i]->destroy(image->instances[i]);
  if (image->inited && image->desc->fini)
    image->desc->fini();
  dlclose(image->handle);
  free_image(image);
}
