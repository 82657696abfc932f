/*
 * The plugin loader; see plugin_loader.h. One pass over the directory in
 * sorted order: trust checks on the path, dlopen, ABI and descriptor checks,
 * the plugin's init, then per engine a descriptor check, create and
 * registration. Every refusal becomes a wfe_rejection plus a log line, and
 * the scan goes on. A plugin is dlclosed only while none of its engines is
 * registered: on rejection, or in wfe_registry_free after destroy and fini.
 */
#include "plugin_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "host.h"
#include "log.h"
#include "names.h"

#define LOGGER "loader"

/* Sizes of the ABI 1.0 structs: the least a plugin may hand us. Measured to
 * the end of the last 1.0 member, so tail padding does not count. */
#define END_OF(type, member)                                                   \
  (offsetof(type, member) + sizeof(((type *)0)->member))
#define PLUGIN_V1_0_SIZE END_OF(wfe_plugin, engines)
#define ENGINE_V1_0_SIZE END_OF(wfe_engine, get_extension)
#define RUN_TYPE_V1_0_SIZE END_OF(wfe_run_type, has_status_subresource)
/* Enough of a plugin struct to read its ABI version, whatever the version. */
#define PLUGIN_VERSION_SIZE END_OF(wfe_plugin, abi_minor)

#define DNS_LABEL_MAX 63

struct loaded_plugin {
  struct wfe_plugin_record record; /* first: records are handed out */
  void *handle;
  const wfe_plugin *desc;
};

struct wfe_registry {
  struct loaded_plugin **plugins; /* load order */
  size_t plugin_count, plugin_cap;
  struct wfe_engine_slot **engines; /* sorted by name */
  size_t engine_count, engine_cap;
  struct wfe_rejection *rejected; /* scan order */
  size_t rejected_count, rejected_cap;
};

/* What one load needs besides the registry it fills. */
struct scan {
  const struct wfe_loader_options *opts;
  struct wfe_registry *reg;
  /* Why the top directory is not trusted, or NULL when it is. */
  char *dir_problem;
};

/* ---------------------------------------------------------------------------
 * Small helpers
 */

/* Returns `array` with room for one more element at `count` (reallocated
 * when full, updating *cap), or NULL when memory runs out; then `array` is
 * unchanged. */
static void *reserve(void *array, size_t *cap, size_t count, size_t elem_size)
{
  if (count < *cap)
    return array;
  size_t new_cap = *cap ? *cap * 2 : 8;
  void *grown = realloc(array, new_cap * elem_size);
  if (grown)
    *cap = new_cap;
  return grown;
}

static char *dup_str(const char *s)
{
  return strdup(s ? s : "");
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

static int add_rejection(struct wfe_registry *reg, const char *path,
                         const char *engine, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int add_rejection(struct wfe_registry *reg, const char *path,
                         const char *engine, const char *fmt, ...)
{
  struct wfe_buf reason = WFE_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  int rc = wfe_buf_vprintf(&reason, fmt, ap);
  va_end(ap);
  struct wfe_rejection *rejected =
      rc ? NULL
         : reserve(reg->rejected, &reg->rejected_cap, reg->rejected_count,
                   sizeof(*rejected));
  if (!rejected) {
    wfe_buf_free(&reason);
    return WFE_E_NOMEM;
  }
  reg->rejected = rejected;
  struct wfe_rejection *r = &reg->rejected[reg->rejected_count];
  r->path = strdup(path);
  r->engine = engine ? strdup(engine) : NULL;
  r->reason = wfe_buf_steal(&reason);
  if (!r->path || (engine && !r->engine) || !r->reason) {
    free(r->path);
    free(r->engine);
    free(r->reason);
    return WFE_E_NOMEM;
  }
  reg->rejected_count++;
  if (engine)
    wfe_log_warn(LOGGER, NULL, "rejected engine \"%s\" of %s: %s", engine, path,
                 r->reason);
  else
    wfe_log_warn(LOGGER, NULL, "rejected %s: %s", path, r->reason);
  return 0;
}

/* ---------------------------------------------------------------------------
 * Trust: nobody but root and us may change what we load.
 */

static int default_is_read_only(const char *path)
{
  struct statvfs vfs;
  return statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

/*
 * Returns 0 when `path` (already stat'ed into `st`) is trusted, 1 with `why`
 * filled when it is not, WFE_E_NOMEM. A group/others-writable entry is fine
 * on a read-only filesystem: Kubernetes mounts a ConfigMap volume read-only
 * on top of a 0777 emptyDir.
 */
static int check_trust(const struct wfe_loader_options *opts, const char *what,
                       const char *path, const struct stat *st,
                       struct wfe_buf *why)
{
  uid_t euid = geteuid();
  if (st->st_uid != 0 && st->st_uid != euid)
    return wfe_buf_printf(why,
                          "%s %s is owned by uid %u, neither root nor this "
                          "process (uid %u)",
                          what, path, (unsigned)st->st_uid, (unsigned)euid)
               ? WFE_E_NOMEM
               : 1;
  mode_t writable = st->st_mode & (S_IWGRP | S_IWOTH);
  if (!writable)
    return 0;
  int (*is_read_only)(const char *) =
      opts->is_read_only ? opts->is_read_only : default_is_read_only;
  if (is_read_only(path))
    return 0;
  const char *by = writable == (S_IWGRP | S_IWOTH) ? "group and others"
                   : writable == S_IWGRP           ? "group"
                                                   : "others";
  return wfe_buf_printf(why,
                        "%s %s is writable by %s (mode %04o) and not on a "
                        "read-only filesystem",
                        what, path, by, (unsigned)(st->st_mode & 07777))
             ? WFE_E_NOMEM
             : 1;
}

/* The top directory, checked once per scan. */
static int check_top_dir(struct scan *s)
{
  struct stat st;
  const char *dir = s->opts->plugins_dir;
  if (stat(dir, &st) != 0)
    return 0; /* scandir has reported it already */
  struct wfe_buf why = WFE_BUF_INIT;
  int rc = check_trust(s->opts, "directory", dir, &st, &why);
  if (rc > 0) {
    s->dir_problem = wfe_buf_steal(&why);
    rc = s->dir_problem ? 0 : WFE_E_NOMEM;
  }
  wfe_buf_free(&why);
  return rc;
}

/* The resolved file and the directory that really contains it. Returns 0
 * trusted, 1 rejected (recorded), WFE_E_NOMEM. */
static int check_file_trust(struct scan *s, const char *path,
                            const char *real_path, const struct stat *file_st)
{
  struct wfe_buf why = WFE_BUF_INIT;
  int rc = check_trust(s->opts, "file", real_path, file_st, &why);
  if (rc == 0) {
    char *parent = strdup(real_path);
    if (!parent)
      return WFE_E_NOMEM;
    char *slash = strrchr(parent, '/');
    if (slash)
      *(slash == parent ? slash + 1 : slash) = '\0';
    struct stat dir_st;
    if (stat(parent, &dir_st) != 0)
      rc = wfe_buf_printf(&why, "cannot stat directory %s: %s", parent,
                          strerror(errno))
               ? WFE_E_NOMEM
               : 1;
    else
      rc = check_trust(s->opts, "directory", parent, &dir_st, &why);
    free(parent);
  }
  if (rc > 0)
    rc = add_rejection(s->reg, path, NULL, "%s", wfe_buf_str(&why))
             ? WFE_E_NOMEM
             : 1;
  wfe_buf_free(&why);
  return rc;
}

/* ---------------------------------------------------------------------------
 * Descriptor checks
 */

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
                        "letters, digits and '-', at most %d characters)",
                        e->name ? e->name : "(null)", DNS_LABEL_MAX);
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

/* ---------------------------------------------------------------------------
 * Registration
 */

/* Index of the first engine whose name is >= `name`. */
static size_t engine_position(const struct wfe_registry *reg, const char *name)
{
  size_t lo = 0, hi = reg->engine_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(reg->engines[mid]->engine->name, name) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int register_engine(struct wfe_registry *reg, struct loaded_plugin *lp,
                           const wfe_engine *e, void *instance)
{
  struct wfe_plugin_record *rec = &lp->record;
  struct wfe_engine_slot *slot = malloc(sizeof(*slot));
  if (!slot)
    return WFE_E_NOMEM;
  struct wfe_engine_slot **engines = reserve(
      reg->engines, &reg->engine_cap, reg->engine_count, sizeof(*engines));
  if (!engines) {
    free(slot);
    return WFE_E_NOMEM;
  }
  reg->engines = engines;
  slot->engine = e;
  slot->instance = instance;
  slot->plugin = rec;
  size_t at = engine_position(reg, e->name);
  memmove(&reg->engines[at + 1], &reg->engines[at],
          (reg->engine_count - at) * sizeof(*reg->engines));
  reg->engines[at] = slot;
  reg->engine_count++;
  /* rec->engines was sized for every engine of the plugin up front. */
  rec->engines[rec->engine_count++] = slot;
  return 0;
}

/* Checks, creates and registers engine `i` of a plugin. Returns 0 (also
 * when the engine was rejected) or WFE_E_NOMEM. */
static int load_engine(struct scan *s, struct loaded_plugin *lp, size_t i)
{
  const char *path = lp->record.path;
  const wfe_engine *e = lp->desc->engines[i];
  if (!e)
    return add_rejection(s->reg, path, NULL, "engine #%zu is NULL", i);

  struct wfe_buf why = WFE_BUF_INIT;
  int rc = check_engine(e, &why);
  if (rc) {
    char label[32];
    snprintf(label, sizeof(label), "#%zu", i);
    const char *engine =
        e->struct_size >= END_OF(wfe_engine, name) && e->name ? e->name : label;
    if (rc > 0)
      rc = add_rejection(s->reg, path, engine, "%s", wfe_buf_str(&why));
    wfe_buf_free(&why);
    return rc;
  }

  const struct wfe_engine_slot *existing = wfe_registry_find(s->reg, e->name);
  if (existing)
    return add_rejection(s->reg, path, e->name,
                         "engine \"%s\" is already registered by %s, which "
                         "stays",
                         e->name, existing->plugin->path);

  const char *config = NULL;
  if (s->opts->engine_config)
    config = s->opts->engine_config(s->opts->engine_config_ctx, e->name);
  if (!config)
    config = "{}";
  void *instance = NULL;
  struct wfe_error perr = WFE_ERROR_INIT;
  int32_t created =
      e->create(s->opts->host, config, strlen(config), &instance, &perr);
  if (created != WFE_OK) {
    rc = describe_plugin_error(&why, created, &perr);
    if (!rc)
      rc = add_rejection(s->reg, path, e->name, "create failed: %s",
                         wfe_buf_str(&why));
    wfe_error_clear(&perr);
    wfe_buf_free(&why);
    return rc;
  }
  wfe_error_clear(&perr);
  rc = register_engine(s->reg, lp, e, instance);
  if (rc)
    e->destroy(instance);
  return rc;
}

/* ---------------------------------------------------------------------------
 * Loading one file
 */

static void free_record(struct loaded_plugin *lp)
{
  if (!lp)
    return;
  free(lp->record.path);
  free(lp->record.real_path);
  free(lp->record.name);
  free(lp->record.version);
  free(lp->record.engines);
  free(lp);
}

/* Destroys the plugin's instances, calls fini and unloads it. */
static void unload_plugin(struct wfe_registry *reg, struct loaded_plugin *lp)
{
  struct wfe_plugin_record *rec = &lp->record;
  for (size_t i = rec->engine_count; i-- > 0;) {
    const struct wfe_engine_slot *slot = rec->engines[i];
    slot->engine->destroy(slot->instance);
    if (reg) {
      size_t at = engine_position(reg, slot->engine->name);
      memmove(&reg->engines[at], &reg->engines[at + 1],
              (reg->engine_count - at - 1) * sizeof(*reg->engines));
      reg->engine_count--;
    }
    free((void *)slot);
  }
  rec->engine_count = 0;
  if (lp->desc->fini)
    lp->desc->fini();
  dlclose(lp->handle);
  free_record(lp);
}

/* Names the plugin of this registry that holds `handle`, if any. */
static const char *loaded_path_of(const struct wfe_registry *reg, void *handle)
{
  for (size_t i = 0; i < reg->plugin_count; i++)
    if (reg->plugins[i]->handle == handle)
      return reg->plugins[i]->record.path;
  return NULL;
}

/* dlopens `real_path` and finds its descriptor. Returns 0 with lp->handle
 * and lp->desc set, 1
 * when rejected (recorded; nothing stays loaded), WFE_E_NOMEM. */
static int open_plugin(struct scan *s, const char *path, const char *real_path,
                       struct loaded_plugin *lp)
{
  /* The same file loaded twice would share one image: init would run twice
   * and the duplicate's fini would pull the rug from under the first. */
  dlerror();
  void *existing = dlopen(real_path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (existing) {
    const char *by = loaded_path_of(s->reg, existing);
    dlclose(existing);
    return add_rejection(s->reg, path, NULL,
                         "the same file is already loaded in this process%s%s",
                         by ? " as " : "", by ? by : "")
               ? WFE_E_NOMEM
               : 1;
  }

  dlerror();
  lp->handle = dlopen(real_path, RTLD_NOW | RTLD_LOCAL);
  if (!lp->handle) {
    const char *dl = dlerror();
    return add_rejection(s->reg, path, NULL, "cannot load: %s",
                         dl ? dl : "unknown dlopen error")
               ? WFE_E_NOMEM
               : 1;
  }
  dlerror();
  void *sym = dlsym(lp->handle, WFE_PLUGIN_ENTRY_SYMBOL);
  int rc = 0;
  if (!sym) {
    const char *dl = dlerror();
    rc = add_rejection(s->reg, path, NULL, "no entry symbol %s: %s",
                       WFE_PLUGIN_ENTRY_SYMBOL, dl ? dl : "not found");
    goto rejected;
  }
  wfe_plugin_entry_fn entry;
  memcpy(&entry, &sym, sizeof(entry)); /* object to function pointer */
  lp->desc = entry();
  if (!lp->desc) {
    rc = add_rejection(s->reg, path, NULL, "%s() returned NULL",
                       WFE_PLUGIN_ENTRY_SYMBOL);
    goto rejected;
  }
  struct wfe_buf why = WFE_BUF_INIT;
  rc = check_plugin(lp->desc, &why);
  if (rc == 0)
    return 0;
  if (rc > 0)
    rc = add_rejection(s->reg, path, NULL, "%s", wfe_buf_str(&why));
  wfe_buf_free(&why);
rejected:
  dlclose(lp->handle);
  lp->handle = NULL;
  return rc ? WFE_E_NOMEM : 1;
}

/* Fills the record of an opened plugin whose descriptor passed the checks. */
static int fill_record(struct loaded_plugin *lp)
{
  struct wfe_plugin_record *rec = &lp->record;
  rec->abi_major = lp->desc->abi_major;
  rec->abi_minor = lp->desc->abi_minor;
  rec->name = dup_str(lp->desc->name);
  rec->version = dup_str(lp->desc->version);
  rec->engines = calloc(lp->desc->engine_count, sizeof(*rec->engines));
  return rec->name && rec->version && rec->engines ? 0 : WFE_E_NOMEM;
}

static int push_plugin(struct wfe_registry *reg, struct loaded_plugin *lp)
{
  struct loaded_plugin **plugins = reserve(reg->plugins, &reg->plugin_cap,
                                           reg->plugin_count, sizeof(*plugins));
  if (!plugins)
    return WFE_E_NOMEM;
  reg->plugins = plugins;
  reg->plugins[reg->plugin_count++] = lp;
  return 0;
}

static void log_loaded(const struct wfe_plugin_record *rec)
{
  struct wfe_buf names = WFE_BUF_INIT;
  for (size_t i = 0; i < rec->engine_count; i++)
    wfe_buf_printf(&names, "%s%s", i ? ", " : "",
                   rec->engines[i]->engine->name);
  wfe_log_info(LOGGER, NULL,
               "loaded %s: plugin %s %s, ABI %u.%u, sha256 %s, engines: %s",
               rec->path, rec->name, rec->version, rec->abi_major,
               rec->abi_minor, rec->sha256, wfe_buf_str(&names));
  wfe_buf_free(&names);
}

/* Runs init and the engines of an opened plugin; keeps it when at least one
 * engine registered. Takes ownership of `lp`. */
static int start_plugin(struct scan *s, struct loaded_plugin *lp)
{
  const char *path = lp->record.path;
  int rc = fill_record(lp);
  if (rc)
    goto discard;
  if (lp->desc->init) {
    struct wfe_error perr = WFE_ERROR_INIT;
    int32_t status = lp->desc->init(s->opts->host, &perr);
    if (status != WFE_OK) {
      struct wfe_buf why = WFE_BUF_INIT;
      rc = describe_plugin_error(&why, status, &perr);
      if (!rc)
        rc = add_rejection(s->reg, path, NULL, "init failed: %s",
                           wfe_buf_str(&why));
      wfe_buf_free(&why);
      wfe_error_clear(&perr);
      goto discard; /* no fini after a failed init */
    }
    wfe_error_clear(&perr);
  }
  for (size_t i = 0; i < lp->desc->engine_count && !rc; i++)
    rc = load_engine(s, lp, i);
  if (!rc && lp->record.engine_count > 0)
    rc = push_plugin(s->reg, lp);
  if (!rc && lp->record.engine_count > 0) {
    log_loaded(&lp->record);
    return 0;
  }
  /* Nothing registered (each engine's rejection is recorded), or out of
   * memory: nothing of the plugin is in use, so it can go. */
  unload_plugin(s->reg, lp);
  return rc;
discard:
  dlclose(lp->handle);
  free_record(lp);
  return rc;
}

/* Stats, trust-checks, resolves and hashes DIR/name into `lp`. Returns 0
 * when it may be loaded, 1 when rejected (recorded) or ignored, WFE_E_NOMEM. */
static int inspect_file(struct scan *s, struct loaded_plugin *lp)
{
  const char *file = lp->record.path;
  struct stat st;
  if (stat(file, &st) != 0)
    return add_rejection(s->reg, file, NULL, "cannot stat: %s", strerror(errno))
               ? WFE_E_NOMEM
               : 1;
  if (!S_ISREG(st.st_mode)) {
    wfe_log_debug(LOGGER, NULL, "ignored %s: not a regular file", file);
    return 1;
  }
  if (s->dir_problem)
    return add_rejection(s->reg, file, NULL, "%s", s->dir_problem) ? WFE_E_NOMEM
                                                                   : 1;
  lp->record.real_path = realpath(file, NULL);
  if (!lp->record.real_path)
    return errno == ENOMEM ? WFE_E_NOMEM
           : add_rejection(s->reg, file, NULL, "cannot resolve: %s",
                           strerror(errno))
               ? WFE_E_NOMEM
               : 1;
  int rc = check_file_trust(s, file, lp->record.real_path, &st);
  if (rc)
    return rc;
  /* Hash before loading, so the digest is of what is about to run. */
  struct wfe_error herr = WFE_ERROR_INIT;
  if (wfe_sha256_file(lp->record.real_path, lp->record.sha256, &herr)) {
    rc = herr.code == WFE_E_NOMEM ||
                 add_rejection(s->reg, file, NULL, "cannot hash: %s",
                               wfe_error_message(&herr))
             ? WFE_E_NOMEM
             : 1;
    wfe_error_clear(&herr);
  }
  return rc;
}

/* Loads DIR/name. Returns 0 (loaded, rejected or ignored) or WFE_E_NOMEM. */
static int load_file(struct scan *s, const char *name)
{
  struct loaded_plugin *lp = calloc(1, sizeof(*lp));
  if (!lp)
    return WFE_E_NOMEM;
  const char *dir = s->opts->plugins_dir;
  size_t dir_len = strlen(dir);
  while (dir_len > 1 && dir[dir_len - 1] == '/')
    dir_len--; /* "plugins.d/" gives "plugins.d/x.so", not "plugins.d//x.so" */
  struct wfe_buf path = WFE_BUF_INIT;
  if (wfe_buf_printf(&path, "%.*s/%s", (int)dir_len, dir, name)) {
    free(lp);
    return WFE_E_NOMEM;
  }
  lp->record.path = wfe_buf_steal(&path);
  int rc = inspect_file(s, lp);
  if (rc == 0)
    rc = open_plugin(s, lp->record.path, lp->record.real_path, lp);
  if (rc == 0)
    return start_plugin(s, lp); /* takes lp */
  free_record(lp);
  return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------------------
 * The directory
 */

static int is_candidate(const struct dirent *entry)
{
  const char *name = entry->d_name;
  size_t len = strlen(name);
  return name[0] != '.' && len > 3 && strcmp(name + len - 3, ".so") == 0;
}

/* Byte-wise, unlike alphasort (strcoll): the order must not depend on the
 * locale, because it decides which of two duplicates wins. */
static int compare_names(const struct dirent **a, const struct dirent **b)
{
  return strcmp((*a)->d_name, (*b)->d_name);
}

int wfe_registry_load(const struct wfe_loader_options *opts,
                      struct wfe_registry **out, struct wfe_error *err)
{
  *out = NULL;
  if (!opts || !opts->plugins_dir || !opts->host)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "the plugin loader needs a directory and a host");
  struct scan s = {opts, calloc(1, sizeof(struct wfe_registry)), NULL};
  if (!s.reg)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL,
                         "out of memory");

  struct dirent **names = NULL;
  int n = scandir(opts->plugins_dir, &names, is_candidate, compare_names);
  if (n < 0) {
    int saved = errno;
    wfe_registry_free(s.reg);
    return wfe_error_set(err,
                         saved == ENOENT || saved == ENOTDIR ? WFE_E_NOT_FOUND
                         : saved == ENOMEM                   ? WFE_E_NOMEM
                                           : WFE_E_UNAVAILABLE,
                         0, "PluginDirUnreadable", NULL,
                         "cannot read plugin directory %s: %s",
                         opts->plugins_dir, strerror(saved));
  }
  int rc = check_top_dir(&s);
  for (int i = 0; i < n; i++) {
    if (!rc)
      rc = load_file(&s, names[i]->d_name);
    free(names[i]);
  }
  free(names);
  free(s.dir_problem);
  if (rc) {
    wfe_registry_free(s.reg);
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL,
                         "out of memory while loading plugins from %s",
                         opts->plugins_dir);
  }
  *out = s.reg;
  return 0;
}

/* ---------------------------------------------------------------------------
 * Queries
 */

int wfe_registry_require(const struct wfe_registry *reg,
                         const char *const *names, size_t count,
                         struct wfe_error *err)
{
  struct wfe_buf missing = WFE_BUF_INIT;
  size_t missing_count = 0;
  int rc = 0;
  for (size_t i = 0; i < count && !rc; i++) {
    if (wfe_registry_find(reg, names[i]))
      continue;
    rc = wfe_buf_printf(&missing, "%s\"%s\"", missing_count ? ", " : "",
                        names[i]);
    missing_count++;
  }
  if (!rc && missing_count == 0)
    return 0;
  struct wfe_buf loaded = WFE_BUF_INIT;
  if (!rc)
    rc = wfe_registry_engine_names(reg, &loaded);
  if (rc)
    rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL,
                       "out of memory");
  else
    rc = wfe_error_set(
        err, WFE_E_NOT_FOUND, 0, "EngineNotLoaded", NULL,
        "required engine%s %s %s not loaded (loaded: %s; %zu plugin "
        "rejection%s)",
        missing_count > 1 ? "s" : "", wfe_buf_str(&missing),
        missing_count > 1 ? "are" : "is", wfe_buf_str(&loaded),
        reg->rejected_count, reg->rejected_count == 1 ? "" : "s");
  wfe_buf_free(&loaded);
  wfe_buf_free(&missing);
  return rc;
}

const struct wfe_engine_slot *wfe_registry_find(const struct wfe_registry *reg,
                                                const char *name)
{
  if (!reg || !name)
    return NULL;
  size_t at = engine_position(reg, name);
  if (at < reg->engine_count &&
      strcmp(reg->engines[at]->engine->name, name) == 0)
    return reg->engines[at];
  return NULL;
}

size_t wfe_registry_engine_count(const struct wfe_registry *reg)
{
  return reg ? reg->engine_count : 0;
}

const struct wfe_engine_slot *
wfe_registry_engine_at(const struct wfe_registry *reg, size_t i)
{
  return reg && i < reg->engine_count ? reg->engines[i] : NULL;
}

size_t wfe_registry_plugin_count(const struct wfe_registry *reg)
{
  return reg ? reg->plugin_count : 0;
}

const struct wfe_plugin_record *
wfe_registry_plugin_at(const struct wfe_registry *reg, size_t i)
{
  return reg && i < reg->plugin_count ? &reg->plugins[i]->record : NULL;
}

size_t wfe_registry_rejected_count(const struct wfe_registry *reg)
{
  return reg ? reg->rejected_count : 0;
}

const struct wfe_rejection *
wfe_registry_rejected_at(const struct wfe_registry *reg, size_t i)
{
  return reg && i < reg->rejected_count ? &reg->rejected[i] : NULL;
}

int wfe_registry_engine_names(const struct wfe_registry *reg,
                              struct wfe_buf *out)
{
  if (reg->engine_count == 0)
    return wfe_buf_puts(out, "none");
  for (size_t i = 0; i < reg->engine_count; i++)
    if (wfe_buf_printf(out, "%s%s", i ? ", " : "",
                       reg->engines[i]->engine->name))
      return WFE_E_NOMEM;
  return 0;
}

void wfe_registry_free(struct wfe_registry *reg)
{
  if (!reg)
    return;
  for (size_t i = reg->plugin_count; i-- > 0;)
    unload_plugin(reg, reg->plugins[i]);
  for (size_t i = 0; i < reg->rejected_count; i++) {
    free(reg->rejected[i].path);
    free(reg->rejected[i].engine);
    free(reg->rejected[i].reason);
  }
  free(reg->rejected);
  free(reg->engines);
  free(reg->plugins);
  free(reg);
}
