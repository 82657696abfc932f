/*
 * The plugin loader; see plugin_loader.h. Per file: trust checks on the
 * path, the hash, then opening it in this process or in an engine host.
 * Then the names, then create. Every refusal becomes a wfe_rejection plus a
 * log line, and the scan goes on. A plugin is unloaded (its host stopped)
 * only while none of its engines is registered: on rejection, or in
 * wfe_registry_free after destroy and fini.
 */
#include "plugin_loader.h"

#include <dirent.h>
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
#include "plugin.h"

#define LOGGER "loader"
#define DEFAULT_MAX_OUTPUT (1u << 20)

/* An engine a file offers. */
struct offer {
  const wfe_engine *engine; /* the plugin's descriptor, or a host's proxy */
  void *instance;           /* a proxy's; in this process, once created */
  size_t position;          /* in the image's or the host's engine list */
  int refused;              /* its name is claimed twice */
  int created;
};

struct loaded_plugin {
  struct wfe_plugin_record record; /* first: records are handed out */
  struct wfe_plugin_image *image;  /* WFE_ISOLATION_NONE */
  /* WFE_ISOLATION_PROCESS: record.host. `kept` when it was taken over from
   * the previous registry with its engines created already. */
  int kept;
  size_t offer_count;
  struct offer *offers;
  struct wfe_engine_host_limits limits;
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
  /* The files opened so far, before they are registered. */
  struct loaded_plugin **open;
  size_t open_count, open_cap;
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

static int add_rejection(struct wfe_registry *reg, const char *path,
                         const char *engine, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

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
 * Opening a file: in this process, or in an engine host
 */

static void free_plugin(struct loaded_plugin *lp)
{
  if (!lp)
    return;
  wfe_plugin_image_close(lp->image);
  wfe_engine_host_unref(lp->record.host);
  free(lp->record.path);
  free(lp->record.real_path);
  free(lp->record.name);
  free(lp->record.version);
  free(lp->record.engines);
  free(lp->offers);
  free(lp);
}

static int set_identity(struct loaded_plugin *lp, unsigned abi_major,
                        unsigned abi_minor, const char *name,
                        const char *version, size_t offers)
{
  lp->record.abi_major = abi_major;
  lp->record.abi_minor = abi_minor;
  lp->record.name = strdup(name ? name : "");
  lp->record.version = strdup(version ? version : "");
  lp->offers = calloc(offers ? offers : 1, sizeof(*lp->offers));
  lp->record.engines = calloc(offers ? offers : 1, sizeof(*lp->record.engines));
  lp->offer_count = offers;
  return lp->record.name && lp->record.version && lp->offers &&
                 lp->record.engines
             ? 0
             : WFE_E_NOMEM;
}

/* In this process. 0 opened, 1 rejected (recorded), WFE_E_NOMEM. */
static int open_here(struct scan *s, struct loaded_plugin *lp)
{
  struct wfe_buf why = WFE_BUF_INIT;
  int rc = wfe_plugin_image_open(lp->record.real_path, s->opts->host,
                                 &lp->image, &why);
  if (rc > 0)
    rc = add_rejection(s->reg, lp->record.path, NULL, "%s", wfe_buf_str(&why))
             ? WFE_E_NOMEM
             : 1;
  wfe_buf_free(&why);
  if (rc)
    return rc;
  const struct wfe_plugin_image *img = lp->image;
  rc = set_identity(lp, img->desc->abi_major, img->desc->abi_minor,
                    img->desc->name, img->desc->version, img->engine_count);
  for (size_t i = 0; !rc && i < img->engine_count; i++)
    lp->offers[i] = (struct offer){img->engines[i], NULL, i, 0, 0};
  for (size_t i = 0; !rc && i < img->refusal_count; i++)
    rc = add_rejection(s->reg, lp->record.path, img->refusals[i].engine, "%s",
                       img->refusals[i].reason);
  return rc;
}

/* The plugin of the previous registry with this file unchanged, or NULL. */
static struct loaded_plugin *previous_of(const struct scan *s,
                                         const struct loaded_plugin *lp)
{
  const struct wfe_registry *prev = s->opts->previous;
  for (size_t i = 0; prev && i < prev->plugin_count; i++) {
    struct loaded_plugin *old = prev->plugins[i];
    if (old->record.host && !strcmp(old->record.path, lp->record.path) &&
        !strcmp(old->record.sha256, lp->record.sha256))
      return old;
  }
  return NULL;
}

static void offers_of_host(struct loaded_plugin *lp)
{
  const struct wfe_engine_host_plugin *p =
      wfe_engine_host_plugin(lp->record.host);
  for (size_t i = 0; i < p->engine_count; i++)
    lp->offers[i] =
        (struct offer){p->engines[i].engine, p->engines[i].instance, i, 0, 0};
}

/* In an engine host of its own, or (`may_keep`) the unchanged one of the
 * previous registry. 0 opened, 1 rejected (recorded), WFE_E_NOMEM. */
static int open_in_host(struct scan *s, struct loaded_plugin *lp, int may_keep)
{
  const struct loaded_plugin *old = may_keep ? previous_of(s, lp) : NULL;
  if (old) {
    wfe_engine_host_ref(old->record.host);
    lp->record.host = old->record.host;
    lp->kept = 1;
  } else {
    struct wfe_engine_host_options options = {
        .executable = s->opts->host_executable,
        .plugin_path = lp->record.path,
        .real_path = lp->record.real_path,
        .services = s->opts->host,
        .threads = s->opts->host_threads,
        .limits = {.load_timeout_ms = s->opts->host_load_timeout_ms},
        .metrics = s->opts->metrics,
    };
    struct wfe_buf why = WFE_BUF_INIT;
    struct wfe_error err = WFE_ERROR_INIT;
    int rc = wfe_engine_host_start(&options, &lp->record.host, &why, &err);
    if (rc) {
      rc = add_rejection(s->reg, lp->record.path, NULL, "%s",
                         rc == 1 ? wfe_buf_str(&why) : wfe_error_message(&err))
               ? WFE_E_NOMEM
               : 1;
      wfe_buf_free(&why);
      wfe_error_clear(&err);
      return rc;
    }
  }
  const struct wfe_engine_host_plugin *p =
      wfe_engine_host_plugin(lp->record.host);
  int rc = set_identity(lp, p->abi_major, p->abi_minor, p->name, p->version,
                        p->engine_count);
  if (rc)
    return rc;
  offers_of_host(lp);
  for (size_t i = 0; i < p->refusal_count; i++)
    if (add_rejection(s->reg, lp->record.path, p->refused_engines[i], "%s",
                      p->refusal_reasons[i]))
      return WFE_E_NOMEM;
  return 0;
}

/* The plugin opened in this scan from the same file, or NULL. */
static const struct loaded_plugin *opened_as(const struct scan *s,
                                             const char *real_path)
{
  for (size_t i = 0; i < s->open_count; i++)
    if (!strcmp(s->open[i]->record.real_path, real_path))
      return s->open[i];
  return NULL;
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

/* Opens DIR/name for the second pass. Returns 0 (opened, rejected or
 * ignored) or WFE_E_NOMEM. */
static int open_file(struct scan *s, const char *name)
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
  const struct loaded_plugin *twin =
      rc == 0 ? opened_as(s, lp->record.real_path) : NULL;
  /* The same file twice would be one image in this process (init twice, a
   * fini under the other's feet), and two hosts claiming the same names. */
  if (twin)
    rc = add_rejection(
             s->reg, lp->record.path, NULL,
             "the same file is already loaded%s as %s",
             s->opts->isolation == WFE_ISOLATION_NONE ? " in this process" : "",
             twin->record.path)
             ? WFE_E_NOMEM
             : 1;
  if (rc == 0)
    rc = s->opts->isolation == WFE_ISOLATION_NONE ? open_here(s, lp)
                                                  : open_in_host(s, lp, 1);
  if (rc == 0) {
    struct loaded_plugin **grown =
        reserve(s->open, &s->open_cap, s->open_count, sizeof(*grown));
    if (!grown)
      rc = WFE_E_NOMEM;
    else {
      s->open = grown;
      s->open[s->open_count++] = lp;
      return 0;
    }
  }
  free_plugin(lp);
  return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------------------
 * Names: one engine name, one file
 */

/* Refuses every offer whose name another file offers too, naming them all. */
static int refuse_duplicates(struct scan *s)
{
  for (size_t a = 0; a < s->open_count; a++) {
    struct loaded_plugin *lp = s->open[a];
    for (size_t i = 0; i < lp->offer_count; i++) {
      const char *name = lp->offers[i].engine->name;
      struct wfe_buf others = WFE_BUF_INIT;
      for (size_t b = 0; b < s->open_count; b++) {
        const struct loaded_plugin *other = s->open[b];
        for (size_t j = 0; b != a && j < other->offer_count; j++)
          if (!strcmp(other->offers[j].engine->name, name) &&
              wfe_buf_printf(&others, "%s%s", others.len ? ", " : "",
                             other->record.path)) {
            wfe_buf_free(&others);
            return WFE_E_NOMEM;
          }
      }
      int rc = 0;
      if (others.len) {
        lp->offers[i].refused = 1;
        rc = add_rejection(s->reg, lp->record.path, name,
                           "engine \"%s\" is also offered by %s: an engine "
                           "name must come from one file, so every file "
                           "claiming it is refused",
                           name, wfe_buf_str(&others));
      }
      wfe_buf_free(&others);
      if (rc)
        return rc;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------------------
 * Creating and registering
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
                           const struct offer *o, size_t max_output)
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
  *slot = (struct wfe_engine_slot){o->engine, o->instance, rec, max_output,
                                   rec->host ? wfe_engine_host_validate_render
                                             : NULL};
  size_t at = engine_position(reg, o->engine->name);
  memmove(&reg->engines[at + 1], &reg->engines[at],
          (reg->engine_count - at) * sizeof(*reg->engines));
  reg->engines[at] = slot;
  reg->engine_count++;
  rec->engines[rec->engine_count++] = slot;
  return 0;
}

static const char *config_of(const struct scan *s, const char *engine)
{
  const char *config =
      s->opts->engine_config
          ? s->opts->engine_config(s->opts->engine_config_ctx, engine)
          : NULL;
  return config ? config : "{}";
}

/* The limits of `engine`, with the loader's output default. */
static void limits_of(const struct scan *s, const char *engine,
                      struct wfe_engine_host_limits *out)
{
  memset(out, 0, sizeof(*out));
  if (s->opts->engine_limits)
    s->opts->engine_limits(s->opts->engine_limits_ctx, engine, out);
  if (!out->max_output)
    out->max_output =
        s->opts->max_output ? s->opts->max_output : DEFAULT_MAX_OUTPUT;
}

/* The largest of two engines' limits: a host serves both. */
static void widen(struct wfe_engine_host_limits *into,
                  const struct wfe_engine_host_limits *l)
{
  if (l->call_timeout_ms > into->call_timeout_ms)
    into->call_timeout_ms = l->call_timeout_ms;
  if (l->load_timeout_ms > into->load_timeout_ms)
    into->load_timeout_ms = l->load_timeout_ms;
  if (l->memory_bytes > into->memory_bytes)
    into->memory_bytes = l->memory_bytes;
  if (l->cpu_seconds > into->cpu_seconds)
    into->cpu_seconds = l->cpu_seconds;
  if (l->max_output > into->max_output)
    into->max_output = l->max_output;
}

static int create_here(struct scan *s, struct loaded_plugin *lp)
{
  for (size_t i = 0; i < lp->offer_count; i++) {
    struct offer *o = &lp->offers[i];
    if (o->refused)
      continue;
    const char *config = config_of(s, o->engine->name);
    struct wfe_buf why = WFE_BUF_INIT;
    int rc = wfe_plugin_image_create(lp->image, o->position, s->opts->host,
                                     config, strlen(config), &why);
    if (rc > 0)
      rc = add_rejection(s->reg, lp->record.path, o->engine->name, "%s",
                         wfe_buf_str(&why));
    else if (rc == 0) {
      o->created = 1;
      o->instance = lp->image->instances[o->position];
    }
    wfe_buf_free(&why);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* Whether a kept host's created engines are exactly those offered now. */
static int same_engines(const struct loaded_plugin *lp,
                        const struct loaded_plugin *old)
{
  size_t accepted = 0;
  for (size_t i = 0; i < lp->offer_count; i++) {
    if (lp->offers[i].refused)
      continue;
    accepted++;
    int found = 0;
    for (size_t j = 0; j < old->record.engine_count && !found; j++)
      found = old->record.engines[j]->engine == lp->offers[i].engine;
    if (!found)
      return 0;
  }
  return accepted == old->record.engine_count;
}

static int create_in_host(struct scan *s, struct loaded_plugin *lp)
{
  if (lp->kept) {
    const struct loaded_plugin *old = previous_of(s, lp);
    if (old && same_engines(lp, old)) {
      for (size_t i = 0; i < lp->offer_count; i++)
        lp->offers[i].created = !lp->offers[i].refused;
      return 0;
    }
    /* Offered otherwise now: a host of its own, created afresh. The same
     * file describes the same engines in the same order, so the names
     * refused stay refused. */
    size_t count = lp->offer_count;
    int *refused = calloc(count + 1, sizeof(*refused));
    if (!refused)
      return WFE_E_NOMEM;
    for (size_t i = 0; i < count; i++)
      refused[i] = lp->offers[i].refused;
    wfe_engine_host_unref(lp->record.host);
    lp->record.host = NULL;
    lp->kept = 0;
    free(lp->record.name);
    free(lp->record.version);
    free(lp->record.engines);
    free(lp->offers);
    lp->record.name = lp->record.version = NULL;
    lp->record.engines = NULL;
    lp->offers = NULL;
    lp->offer_count = 0;
    int rc = open_in_host(s, lp, 0);
    for (size_t i = 0; !rc && i < lp->offer_count && i < count; i++)
      lp->offers[i].refused = refused[i];
    free(refused);
    if (rc)
      return rc < 0 ? rc : 0; /* a rejection is recorded */
  }
  size_t n = 0;
  size_t *positions = calloc(lp->offer_count + 1, sizeof(*positions));
  const char **configs = calloc(lp->offer_count + 1, sizeof(*configs));
  int *created = calloc(lp->offer_count + 1, sizeof(*created));
  char **reasons = calloc(lp->offer_count + 1, sizeof(*reasons));
  size_t *offer_of = calloc(lp->offer_count + 1, sizeof(*offer_of));
  int rc =
      positions && configs && created && reasons && offer_of ? 0 : WFE_E_NOMEM;
  for (size_t i = 0; !rc && i < lp->offer_count; i++) {
    if (lp->offers[i].refused)
      continue;
    struct wfe_engine_host_limits l;
    limits_of(s, lp->offers[i].engine->name, &l);
    widen(&lp->limits, &l);
    positions[n] = lp->offers[i].position;
    configs[n] = config_of(s, lp->offers[i].engine->name);
    offer_of[n++] = i;
  }
  struct wfe_error err = WFE_ERROR_INIT;
  if (!rc && n &&
      wfe_engine_host_create(lp->record.host, &lp->limits, n, positions,
                             configs, created, reasons, &err))
    rc = add_rejection(s->reg, lp->record.path, NULL, "%s",
                       wfe_error_message(&err))
             ? WFE_E_NOMEM
             : 0;
  else
    for (size_t k = 0; !rc && k < n; k++) {
      struct offer *o = &lp->offers[offer_of[k]];
      o->created = created[k];
      if (!created[k])
        rc = add_rejection(s->reg, lp->record.path, o->engine->name, "%s",
                           reasons[k] ? reasons[k] : "create failed");
    }
  wfe_error_clear(&err);
  for (size_t k = 0; reasons && k < n; k++)
    free(reasons[k]);
  free(positions);
  free(configs);
  free(created);
  free(reasons);
  free(offer_of);
  return rc;
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

static void log_loaded(const struct loaded_plugin *lp)
{
  const struct wfe_plugin_record *rec = &lp->record;
  struct wfe_buf names = WFE_BUF_INIT;
  for (size_t i = 0; i < rec->engine_count; i++)
    wfe_buf_printf(&names, "%s%s", i ? ", " : "",
                   rec->engines[i]->engine->name);
  char where[64] = "in this process";
  if (rec->host)
    snprintf(where, sizeof(where), "in engine host pid %d",
             wfe_engine_host_pid(rec->host));
  wfe_log_info(LOGGER, NULL,
               "%s %s: plugin %s %s, ABI %u.%u, sha256 %s, engines: %s, %s",
               lp->kept ? "kept" : "loaded", rec->path, rec->name, rec->version,
               rec->abi_major, rec->abi_minor, rec->sha256, wfe_buf_str(&names),
               where);
  wfe_buf_free(&names);
}

/* Creates the engines of one opened file and registers them; keeps the file
 * when at least one registered. Takes `lp`. */
static int create_file(struct scan *s, struct loaded_plugin *lp)
{
  int rc = s->opts->isolation == WFE_ISOLATION_NONE ? create_here(s, lp)
                                                    : create_in_host(s, lp);
  for (size_t i = 0; !rc && i < lp->offer_count; i++) {
    const struct offer *o = &lp->offers[i];
    if (!o->created)
      continue;
    struct wfe_engine_host_limits l;
    limits_of(s, o->engine->name, &l);
    rc = register_engine(
        s->reg, lp, o, lp->record.host ? lp->limits.max_output : l.max_output);
  }
  if (!rc && lp->record.engine_count > 0)
    rc = push_plugin(s->reg, lp);
  if (!rc && lp->record.engine_count > 0) {
    log_loaded(lp);
    return 0;
  }
  /* Nothing registered (each engine's rejection is recorded), or out of
   * memory: nothing of the plugin is in use, so it can go. */
  for (size_t i = lp->record.engine_count; i-- > 0;) {
    const struct wfe_engine_slot *slot = lp->record.engines[i];
    size_t at = engine_position(s->reg, slot->engine->name);
    if (at < s->reg->engine_count && s->reg->engines[at] == slot) {
      memmove(&s->reg->engines[at], &s->reg->engines[at + 1],
              (s->reg->engine_count - at - 1) * sizeof(*s->reg->engines));
      s->reg->engine_count--;
    }
    free((void *)slot);
  }
  lp->record.engine_count = 0;
  free_plugin(lp);
  return rc;
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
  if (!opts || !opts->plugins_dir || !opts->host ||
      (opts->isolation == WFE_ISOLATION_PROCESS && !opts->host_executable))
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "the plugin loader needs a directory, a host and, "
                         "for engine hosts, their program");
  struct scan s = {opts, calloc(1, sizeof(struct wfe_registry)), NULL, NULL, 0,
                   0};
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
      rc = open_file(&s, names[i]->d_name);
    free(names[i]);
  }
  free(names);
  free(s.dir_problem);
  if (!rc)
    rc = refuse_duplicates(&s);
  for (size_t i = 0; i < s.open_count; i++) {
    if (!rc)
      rc = create_file(&s, s.open[i]); /* takes it */
    else
      free_plugin(s.open[i]);
  }
  free(s.open);
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

/* A refusal of the whole file NAME.so (whatever directory). */
static int is_file_of(const struct wfe_rejection *r, const char *name)
{
  const char *base = strrchr(r->path, '/');
  base = base ? base + 1 : r->path;
  size_t n = strlen(name);
  return !r->engine && strncmp(base, name, n) == 0 && !strcmp(base + n, ".so");
}

int wfe_registry_why_missing(const struct wfe_registry *reg, const char *name,
                             struct wfe_buf *out)
{
  int rc = 0;
  for (size_t j = 0; !rc && j < reg->rejected_count; j++) {
    const struct wfe_rejection *r = &reg->rejected[j];
    if ((r->engine && !strcmp(r->engine, name)) || is_file_of(r, name))
      rc = wfe_buf_printf(out, " (refused in %s: %s)", r->path, r->reason);
  }
  return rc;
}

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
    if (!rc)
      rc = wfe_registry_why_missing(reg, names[i], &missing);
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
  for (size_t i = reg->plugin_count; i-- > 0;) {
    struct loaded_plugin *lp = reg->plugins[i];
    for (size_t j = 0; j < lp->record.engine_count; j++)
      free((void *)lp->record.engines[j]);
    lp->record.engine_count = 0;
    free_plugin(lp); /* destroys, finis and unloads, or drops the host */
  }
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
