/*
 * The host services table; see host.h. Everything here is thread-safe: the
 * table is immutable after init and each function works on its arguments.
 */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sha256.h"

static void host_log(const wfe_host *host, int32_t level,
                     const char *engine_name, const char *message)
{
  const struct wfe_host_services *services = host->host_data;
  if (level < WFE_LOG_ERROR)
    level = WFE_LOG_ERROR;
  if (level > WFE_LOG_DEBUG)
    level = WFE_LOG_DEBUG;
  if (services->log)
    services->log(services->log_ctx, level, engine_name,
                  message ? message : "");
  else
    wfe_log(level, engine_name ? engine_name : "plugin", NULL, "%s",
            message ? message : "");
}

static int32_t host_buf_append(wfe_buf *buf, const char *data, size_t len)
{
  if (!buf || (!data && len))
    return WFE_E_INVALID;
  return wfe_buf_append((struct wfe_buf *)buf, data, len);
}

static void host_error_set(wfe_error *err, int32_t code, int32_t retryable,
                           const char *reason, const char *field,
                           const char *message)
{
  wfe_error_set((struct wfe_error *)err, code, retryable,
                reason ? reason : "EngineError", field, message ? "%s" : NULL,
                message);
}

/* One path segment of an API URL: DNS-ish characters only, never "." or
 * "..", so nothing an engine passes can walk the URL. */
static int is_segment(const char *s, int allow_one_slash)
{
  if (!s || !*s || strlen(s) > 253 || strcmp(s, ".") == 0 ||
      strcmp(s, "..") == 0)
    return 0;
  int slashes = 0;
  for (const char *p = s; *p; p++) {
    if (*p == '/') {
      if (!allow_one_slash || ++slashes > 1 || p == s || p[1] == '\0')
        return 0;
      continue;
    }
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '.'))
      return 0;
  }
  return 1;
}

static int32_t host_get_object(const wfe_host *host, const char *api_version,
                               const char *resource, const char *namespace_name,
                               const char *name, wfe_buf *out, wfe_error *err)
{
  struct wfe_error *error = (struct wfe_error *)err;
  const struct wfe_host_services *services = host->host_data;
  if (!is_segment(api_version, 1) || !is_segment(resource, 0) ||
      !is_segment(name, 0) ||
      (namespace_name && !is_segment(namespace_name, 0)) || !out)
    return wfe_error_set(error, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "get_object: every argument must be one path "
                         "segment of [A-Za-z0-9.-]");
  if (!services->getter)
    return wfe_error_set(error, WFE_E_UNSUPPORTED, 0, "NoCluster", NULL,
                         "no cluster to read %s %s from (offline)", resource,
                         name);
  return services->getter(services->getter_ctx, api_version, resource,
                          namespace_name, name, (struct wfe_buf *)out, error);
}

/* A selector as the API takes it: printable ASCII, bounded. */
static int is_selector(const char *s)
{
  size_t n = 0;
  for (; s && *s; s++, n++)
    if (*s < 0x20 || *s > 0x7e || n >= WFE_SELECTOR_MAX)
      return 0;
  return 1;
}

static int32_t host_list_objects(const wfe_host *host, const char *api_version,
                                 const char *resource,
                                 const char *namespace_name,
                                 const char *label_selector,
                                 const char *field_selector, wfe_buf *out,
                                 wfe_error *err)
{
  struct wfe_error *error = (struct wfe_error *)err;
  const struct wfe_host_services *services = host->host_data;
  if (!is_segment(api_version, 1) || !is_segment(resource, 0) ||
      (namespace_name && !is_segment(namespace_name, 0)) || !out)
    return wfe_error_set(error, WFE_E_INVALID, 0, "InvalidArgument", NULL,
                         "list_objects: api_version, resource and namespace "
                         "must each be one path segment of [A-Za-z0-9.-]");
  if (!is_selector(label_selector) || !is_selector(field_selector))
    return wfe_error_set(error, WFE_E_INVALID, 0, "InvalidSelector", NULL,
                         "list_objects: a selector must be printable ASCII of "
                         "at most %d bytes",
                         WFE_SELECTOR_MAX);
  if (!services->lister)
    return wfe_error_set(error, WFE_E_UNSUPPORTED, 0, "NoCluster", NULL,
                         "no cluster to list %s from (offline)", resource);
  return services->lister(services->lister_ctx, api_version, resource,
                          namespace_name, label_selector ? label_selector : "",
                          field_selector ? field_selector : "",
                          (struct wfe_buf *)out, error);
}

static wfe_buf *host_buf_new(void)
{
  return calloc(1, sizeof(struct wfe_buf));
}

static const char *host_buf_data(const wfe_buf *buf, size_t *len)
{
  if (len)
    *len = buf ? buf->len : 0;
  return buf ? wfe_buf_str(buf) : "";
}

static void host_buf_free(wfe_buf *buf)
{
  wfe_buf_free(buf);
  free(buf);
}

static void host_sha256_hex(const void *data, size_t len, char out_hex[65])
{
  wfe_sha256_hex(data, len, out_hex);
}

void wfe_host_services_set_lister(struct wfe_host_services *services,
                                  wfe_object_lister_fn lister, void *lister_ctx)
{
  services->lister = lister;
  services->lister_ctx = lister_ctx;
}

void wfe_host_services_init(struct wfe_host_services *services,
                            wfe_object_getter_fn getter, void *getter_ctx)
{
  memset(services, 0, sizeof(*services));
  services->getter = getter;
  services->getter_ctx = getter_ctx;
  wfe_host *t = &services->table;
  t->struct_size = sizeof(*t);
  t->abi_major = WFE_ENGINE_ABI_MAJOR;
  t->abi_minor = WFE_ENGINE_ABI_MINOR;
  t->host_data = services;
  t->log = host_log;
  t->buf_append = host_buf_append;
  t->error_set = host_error_set;
  t->get_object = host_get_object;
  t->list_objects = host_list_objects;
  t->sha256_hex = host_sha256_hex;
  t->buf_new = host_buf_new;
  t->buf_data = host_buf_data;
  t->buf_free = host_buf_free;
}

int wfe_sha256_file(const char *path, char out_hex[65], struct wfe_error *err)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "ReadFailed", NULL, "%s: %s",
                         path, strerror(errno));
  struct wfe_sha256 ctx;
  wfe_sha256_init(&ctx);
  unsigned char chunk[65536];
  int rc = 0;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = wfe_error_set(err, WFE_E_UNAVAILABLE, 0, "ReadFailed", NULL,
                         "%s: %s", path, strerror(errno));
      break;
    }
    if (n == 0)
      break;
    wfe_sha256_update(&ctx, chunk, (size_t)n);
  }
  close(fd);
  if (!rc) {
    unsigned char digest[32];
    wfe_sha256_final(&ctx, digest);
    wfe_sha256_to_hex(digest, out_hex);
  }
  return rc;
}
