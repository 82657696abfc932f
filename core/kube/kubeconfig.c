/*
 * Kubeconfig and in-cluster configuration; see kubeconfig.h. Files are read
 * through the YAML reader into json-c and walked here: one walk for all the
 * merge rules, so a key is looked up in the files in order and the first
 * file that names an entry owns it (and its relative paths).
 */
#include "kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "status.h"
#include "yaml_reader.h"

extern char **environ;

#define TOKEN_FILE_MAX (64 * 1024)
#define EXEC_OUTPUT_MAX (1024 * 1024)
#define EXEC_TIMEOUT_MS 60000
/* Run the plugin again this long before its credentials expire. */
#define EXEC_EXPIRY_MARGIN_S 10
#define EXEC_API_V1 "client.authentication.k8s.io/v1"
#define EXEC_API_V1BETA1 "client.authentication.k8s.io/v1beta1"

static void free_secret(char *secret, size_t len)
{
  if (!secret)
    return;
  explicit_bzero(secret, len ? len : strlen(secret));
  free(secret);
}

static int nomem(struct wfe_error *err)
{
  return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL,
                       "out of memory");
}

/* --- base64 -------------------------------------------------------------- */

static int b64_value(unsigned char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

int wfe_base64_decode(const char *text, size_t len, char **out, size_t *out_len)
{
  *out = NULL;
  *out_len = 0;
  char *data = malloc(len / 4 * 3 + 4);
  if (!data)
    return WFE_E_NOMEM;
  size_t n = 0, pad = 0;
  unsigned acc = 0, bits = 0, digits = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
      continue;
    if (c == '=') {
      pad++;
      continue;
    }
    int v = b64_value(c);
    if (v < 0 || pad) /* foreign character, or data after padding */
      goto invalid;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    digits++;
    if (bits >= 8) {
      bits -= 8;
      data[n++] = (char)((acc >> bits) & 0xff);
    }
  }
  /* A lone trailing digit cannot encode a byte; padding must fit. */
  if (digits % 4 == 1 || pad > 2 || (pad && (digits + pad) % 4 != 0))
    goto invalid;
  data[n] = '\0';
  *out = data;
  *out_len = n;
  return 0;
invalid:
  free_secret(data, len / 4 * 3 + 4);
  return WFE_E_INVALID;
}

/* --- Small helpers ------------------------------------------------------- */

static char *path_join(const char *dir, const char *rel)
{
  struct wfe_buf buf = WFE_BUF_INIT;
  while (rel[0] == '.' && rel[1] == '/') {
    rel += 2;
    while (rel[0] == '/')
      rel++;
  }
  if (rel[0] == '/' || !dir || !dir[0])
    return strdup(rel);
  if (wfe_buf_printf(&buf, "%s/%s", dir, rel))
    return NULL;
  return wfe_buf_steal(&buf);
}

static char *dir_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  if (!slash)
    return strdup(".");
  if (slash == path)
    return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

static char *trim_dup(const char *text, size_t len)
{
  while (len && strchr(" \t\r\n", text[0])) {
    text++;
    len--;
  }
  while (len && strchr(" \t\r\n", text[len - 1]))
    len--;
  return strndup(text, len);
}

/* Reads at most `max` bytes of a file into a new NUL-terminated buffer. */
static int read_small_file(const char *path, size_t max, char **out,
                           size_t *out_len, struct wfe_error *err)
{
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return wfe_error_set(err, errno == ENOENT ? WFE_E_NOT_FOUND : WFE_E_INVALID,
                         0, "ReadFailed", NULL, "%s: %s", path,
                         strerror(errno));
  struct wfe_buf buf = WFE_BUF_INIT;
  char chunk[4096];
  int rc = 0;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = wfe_error_set(err, WFE_E_INVALID, 0, "ReadFailed", NULL, "%s: %s",
                         path, strerror(errno));
      break;
    }
    if (n == 0)
      break;
    if (buf.len + (size_t)n > max) {
      rc = wfe_error_set(err, WFE_E_INVALID, 0, "TooLarge", NULL,
                         "%s: larger than %zu bytes", path, max);
      break;
    }
    if (wfe_buf_append(&buf, chunk, (size_t)n)) {
      rc = nomem(err);
      break;
    }
  }
  explicit_bzero(chunk, sizeof(chunk));
  close(fd);
  if (rc) {
    free_secret(buf.data, buf.cap);
    return rc;
  }
  *out_len = buf.len;
  *out = buf.data ? wfe_buf_steal(&buf) : strdup("");
  return *out ? 0 : nomem(err);
}

static int read_token_file(const char *path, char **out, struct wfe_error *err)
{
  char *raw = NULL;
  size_t len = 0;
  int rc = read_small_file(path, TOKEN_FILE_MAX, &raw, &len, err);
  if (rc)
    return rc;
  *out = trim_dup(raw, len);
  free_secret(raw, len);
  if (!*out)
    return nomem(err);
  if (!(*out)[0]) {
    free(*out);
    *out = NULL;
    return wfe_error_set(err, WFE_E_INVALID, 0, "EmptyToken", NULL,
                         "%s: the token file is empty", path);
  }
  return 0;
}

/* --- The kubeconfig walk ------------------------------------------------- */

struct kc_file {
  json_object *doc;
  const char *name; /* the path, or the in-memory source */
  char *dir;        /* what relative paths resolve against */
};

struct kc_set {
  struct kc_file *files;
  size_t count;
};

/* An entry of clusters/users/contexts: `obj` is its cluster/user/context
 * mapping, found in `file`. */
struct kc_entry {
  const struct kc_file *file;
  json_object *obj;
  const char *list;     /* "clusters" */
  const char *name;     /* the entry's name */
  const char *item_key; /* "cluster" */
};

static int entry_fail(const struct kc_entry *e, int code, const char *key,
                      const char *why, struct wfe_error *err)
{
  return wfe_error_set(err, code, 0,
                       code == WFE_E_UNSUPPORTED ? "Unsupported"
                                                 : "InvalidKubeconfig",
                       key, "%s: %s[%s].%s.%s: %s", e->file->name, e->list,
                       e->name, e->item_key, key, why);
}

/* A string member: *out borrowed, NULL when absent, null or empty. */
static int entry_string(const struct kc_entry *e, const char *key,
                        const char **out, struct wfe_error *err)
{
  json_object *value = NULL;
  *out = NULL;
  if (!json_object_object_get_ex(e->obj, key, &value) || !value)
    return 0;
  if (!json_object_is_type(value, json_type_string))
    return entry_fail(e, WFE_E_INVALID, key, "must be a string", err);
  const char *s = json_object_get_string(value);
  *out = s[0] ? s : NULL;
  return 0;
}

static int entry_string_dup(const struct kc_entry *e, const char *key,
                            char **out, struct wfe_error *err)
{
  const char *s = NULL;
  int rc = entry_string(e, key, &s, err);
  *out = NULL;
  if (rc || !s)
    return rc;
  *out = strdup(s);
  return *out ? 0 : nomem(err);
}

/* A file path member, resolved against the entry's file. */
static int entry_path(const struct kc_entry *e, const char *key, char **out,
                      struct wfe_error *err)
{
  const char *s = NULL;
  int rc = entry_string(e, key, &s, err);
  *out = NULL;
  if (rc || !s)
    return rc;
  *out = path_join(e->file->dir, s);
  return *out ? 0 : nomem(err);
}

/* A base64 member, decoded. */
static int entry_data(const struct kc_entry *e, const char *key, char **out,
                      size_t *out_len, struct wfe_error *err)
{
  const char *s = NULL;
  int rc = entry_string(e, key, &s, err);
  *out = NULL;
  *out_len = 0;
  if (rc || !s)
    return rc;
  rc = wfe_base64_decode(s, strlen(s), out, out_len);
  if (rc == WFE_E_NOMEM)
    return nomem(err);
  if (rc)
    return entry_fail(e, WFE_E_INVALID, key, "is not valid base64", err);
  return 0;
}

static int entry_bool(const struct kc_entry *e, const char *key, int *out,
                      struct wfe_error *err)
{
  json_object *value = NULL;
  *out = 0;
  if (!json_object_object_get_ex(e->obj, key, &value) || !value)
    return 0;
  if (!json_object_is_type(value, json_type_boolean))
    return entry_fail(e, WFE_E_INVALID, key, "must be true or false", err);
  *out = json_object_get_boolean(value);
  return 0;
}

static int entry_has(const struct kc_entry *e, const char *key)
{
  json_object *value = NULL;
  return json_object_object_get_ex(e->obj, key, &value) && value;
}

/*
 * Finds `name` in the `list` ("clusters") of the files, first file first,
 * and its `item_key` ("cluster") mapping. WFE_E_INVALID naming what was
 * looked for when no file has it.
 */
static int kc_find(const struct kc_set *set, const char *list,
                   const char *item_key, const char *name, struct kc_entry *out,
                   struct wfe_error *err)
{
  for (size_t f = 0; f < set->count; f++) {
    const struct kc_file *file = &set->files[f];
    json_object *array = NULL;
    if (!json_object_object_get_ex(file->doc, list, &array) || !array)
      continue;
    if (!json_object_is_type(array, json_type_array))
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidKubeconfig", list,
                           "%s: %s: must be a list", file->name, list);
    size_t n = json_object_array_length(array);
    for (size_t i = 0; i < n; i++) {
      json_object *item = json_object_array_get_idx(array, i);
      json_object *item_name = NULL, *body = NULL;
      if (!json_object_is_type(item, json_type_object) ||
          !json_object_object_get_ex(item, "name", &item_name) ||
          !json_object_is_type(item_name, json_type_string))
        return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidKubeconfig", list,
                             "%s: %s[%zu]: must be a mapping with a name",
                             file->name, list, i);
      if (strcmp(json_object_get_string(item_name), name) != 0)
        continue;
      if (!json_object_object_get_ex(item, item_key, &body) ||
          !json_object_is_type(body, json_type_object))
        return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidKubeconfig",
                             item_key,
                             "%s: %s[%s].%s: missing or not a mapping",
                             file->name, list, name, item_key);
      *out = (struct kc_entry){file, body, list, name, item_key};
      return 0;
    }
  }
  return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidKubeconfig", list,
                       "%s %s: no %s named \"%s\"",
                       set->count == 1 ? "kubeconfig" : "kubeconfigs",
                       set->files[0].name, item_key, name);
}

static int kc_current_context(const struct kc_set *set, const char **out,
                              struct wfe_error *err)
{
  *out = NULL;
  for (size_t f = 0; f < set->count; f++) {
    json_object *value = NULL;
    if (!json_object_object_get_ex(set->files[f].doc, "current-context",
                                   &value) ||
        !value)
      continue;
    if (!json_object_is_type(value, json_type_string))
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidKubeconfig",
                           "current-context", "%s: current-context: %s",
                           set->files[f].name, "must be a string");
    if (json_object_get_string(value)[0]) {
      *out = json_object_get_string(value);
      return 0;
    }
  }
  return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidKubeconfig",
                       "current-context",
                       "%s: current-context is not set and no context was "
                       "given",
                       set->files[0].name);
}

static int fill_cluster(const struct kc_entry *e, struct wfe_kube_config *c,
                        struct wfe_error *err)
{
  int insecure = 0;
  int rc = entry_bool(e, "insecure-skip-tls-verify", &insecure, err);
  if (rc)
    return rc;
  if (insecure)
    return entry_fail(e, WFE_E_INVALID, "insecure-skip-tls-verify",
                      "refused: TLS is always verified; give "
                      "certificate-authority or certificate-authority-data",
                      err);
  if ((rc = entry_string_dup(e, "server", &c->server, err)))
    return rc;
  if (!c->server)
    return entry_fail(e, WFE_E_INVALID, "server", "missing", err);
  if (strncmp(c->server, "https://", 8) != 0 || !c->server[8])
    return entry_fail(e, WFE_E_INVALID, "server",
                      "must be an https:// URL (TLS is always verified)", err);
  size_t len = strlen(c->server);
  while (len > 8 && c->server[len - 1] == '/')
    c->server[--len] = '\0';
  if ((rc = entry_string_dup(e, "tls-server-name", &c->tls_server_name, err)) ||
      (rc = entry_path(e, "certificate-authority", &c->ca_file, err)) ||
      (rc = entry_data(e, "certificate-authority-data", &c->ca_data,
                       &c->ca_data_len, err)))
    return rc;
  if (c->ca_file && c->ca_data)
    return entry_fail(e, WFE_E_INVALID, "certificate-authority-data",
                      "certificate-authority is set as well; give one", err);
  if (entry_has(e, "proxy-url"))
    return entry_fail(e, WFE_E_UNSUPPORTED, "proxy-url", "not supported", err);
  return 0;
}

static int fill_exec(const struct kc_entry *user, json_object *exec_obj,
                     struct wfe_kube_config *c, struct wfe_error *err)
{
  struct kc_entry e = *user;
  e.obj = exec_obj;
  e.item_key = "user.exec";
  if (!json_object_is_type(exec_obj, json_type_object))
    return entry_fail(user, WFE_E_INVALID, "exec", "must be a mapping", err);
  struct wfe_kube_exec *x = calloc(1, sizeof(*x));
  if (!x)
    return nomem(err);
  c->exec = x;
  int rc;
  if ((rc = entry_string_dup(&e, "apiVersion", &x->api_version, err)) ||
      (rc = entry_string_dup(&e, "command", &x->command, err)))
    return rc;
  if (!x->api_version)
    return entry_fail(&e, WFE_E_INVALID, "apiVersion", "missing", err);
  if (strcmp(x->api_version, EXEC_API_V1) != 0 &&
      strcmp(x->api_version, EXEC_API_V1BETA1) != 0)
    return entry_fail(
        &e, WFE_E_UNSUPPORTED, "apiVersion",
        "only " EXEC_API_V1 " and " EXEC_API_V1BETA1 " are supported", err);
  if (!x->command)
    return entry_fail(&e, WFE_E_INVALID, "command", "missing", err);
  if (strchr(x->command, '/') && x->command[0] != '/') {
    /* client-go: a command with a path separator is a relative path. */
    char *resolved = path_join(e.file->dir, x->command);
    if (!resolved)
      return nomem(err);
    free(x->command);
    x->command = resolved;
  }
  json_object *args = NULL, *env = NULL;
  if (json_object_object_get_ex(exec_obj, "args", &args) && args) {
    if (!json_object_is_type(args, json_type_array))
      return entry_fail(&e, WFE_E_INVALID, "args", "must be a list", err);
    size_t n = json_object_array_length(args);
    x->args = calloc(n + 1, sizeof(*x->args));
    if (!x->args)
      return nomem(err);
    for (size_t i = 0; i < n; i++) {
      json_object *arg = json_object_array_get_idx(args, i);
      if (!json_object_is_type(arg, json_type_string))
        return entry_fail(&e, WFE_E_INVALID, "args", "must be strings", err);
      if (!(x->args[i] = strdup(json_object_get_string(arg))))
        return nomem(err);
      x->arg_count++;
    }
  }
  if (json_object_object_get_ex(exec_obj, "env", &env) && env) {
    if (!json_object_is_type(env, json_type_array))
      return entry_fail(&e, WFE_E_INVALID, "env", "must be a list", err);
    size_t n = json_object_array_length(env);
    x->env = calloc(n + 1, sizeof(*x->env));
    if (!x->env)
      return nomem(err);
    for (size_t i = 0; i < n; i++) {
      json_object *item = json_object_array_get_idx(env, i), *name, *value;
      if (!json_object_is_type(item, json_type_object) ||
          !json_object_object_get_ex(item, "name", &name) ||
          !json_object_is_type(name, json_type_string) ||
          !json_object_get_string(name)[0] ||
          strchr(json_object_get_string(name), '=') ||
          !json_object_object_get_ex(item, "value", &value) ||
          !json_object_is_type(value, json_type_string))
        return entry_fail(&e, WFE_E_INVALID, "env",
                          "each item needs a name and a string value", err);
      x->env[i].name = strdup(json_object_get_string(name));
      x->env[i].value = strdup(json_object_get_string(value));
      x->env_count++;
      if (!x->env[i].name || !x->env[i].value)
        return nomem(err);
    }
  }
  return 0;
}

static int fill_user(const struct kc_entry *e, struct wfe_kube_config *c,
                     struct wfe_error *err)
{
  int rc;
  if (entry_has(e, "auth-provider"))
    return entry_fail(e, WFE_E_UNSUPPORTED, "auth-provider",
                      "auth providers are not supported; use exec", err);
  if (entry_has(e, "username") || entry_has(e, "password"))
    return entry_fail(e, WFE_E_UNSUPPORTED, "username",
                      "basic authentication is not supported", err);
  if ((rc = entry_string_dup(e, "token", &c->token, err)) ||
      (rc = entry_path(e, "tokenFile", &c->token_file, err)) ||
      (rc = entry_path(e, "client-certificate", &c->client_cert_file, err)) ||
      (rc = entry_data(e, "client-certificate-data", &c->client_cert_data,
                       &c->client_cert_data_len, err)) ||
      (rc = entry_path(e, "client-key", &c->client_key_file, err)) ||
      (rc = entry_data(e, "client-key-data", &c->client_key_data,
                       &c->client_key_data_len, err)))
    return rc;
  if (c->client_cert_file && c->client_cert_data)
    return entry_fail(e, WFE_E_INVALID, "client-certificate-data",
                      "client-certificate is set as well; give one", err);
  if (c->client_key_file && c->client_key_data)
    return entry_fail(e, WFE_E_INVALID, "client-key-data",
                      "client-key is set as well; give one", err);
  int has_cert = c->client_cert_file || c->client_cert_data;
  int has_key = c->client_key_file || c->client_key_data;
  if (has_cert != has_key)
    return entry_fail(e, WFE_E_INVALID,
                      has_cert ? "client-key" : "client-certificate",
                      "missing: a client certificate needs its key", err);
  json_object *exec_obj = NULL;
  if (json_object_object_get_ex(e->obj, "exec", &exec_obj) && exec_obj) {
    if ((rc = fill_exec(e, exec_obj, c, err)))
      return rc;
  }
  return 0;
}

static int kc_resolve(const struct kc_set *set, const char *context,
                      struct wfe_kube_config **out, struct wfe_error *err)
{
  int rc = 0;
  if (!context && (rc = kc_current_context(set, &context, err)))
    return rc;
  struct wfe_kube_config *c = calloc(1, sizeof(*c));
  if (!c)
    return nomem(err);
  struct kc_entry ctx, cluster, user;
  const char *cluster_name = NULL, *user_name = NULL, *ns = NULL;
  if ((rc = kc_find(set, "contexts", "context", context, &ctx, err)) ||
      (rc = entry_string(&ctx, "cluster", &cluster_name, err)) ||
      (rc = entry_string(&ctx, "user", &user_name, err)) ||
      (rc = entry_string(&ctx, "namespace", &ns, err)))
    goto fail;
  if (!cluster_name) {
    rc = entry_fail(&ctx, WFE_E_INVALID, "cluster", "missing", err);
    goto fail;
  }
  if ((rc = kc_find(set, "clusters", "cluster", cluster_name, &cluster, err)) ||
      (rc = fill_cluster(&cluster, c, err)))
    goto fail;
  if (user_name &&
      ((rc = kc_find(set, "users", "user", user_name, &user, err)) ||
       (rc = fill_user(&user, c, err))))
    goto fail;
  struct wfe_buf source = WFE_BUF_INIT;
  c->namespace_name = strdup(ns ? ns : "default");
  if (!c->namespace_name ||
      wfe_buf_printf(&source, "%s (context %s)", ctx.file->name, context)) {
    rc = nomem(err);
    goto fail;
  }
  c->source = wfe_buf_steal(&source);
  *out = c;
  return 0;
fail:
  wfe_kube_config_free(c);
  return rc;
}

static void kc_set_clear(struct kc_set *set)
{
  for (size_t i = 0; i < set->count; i++) {
    json_object_put(set->files[i].doc);
    free(set->files[i].dir);
  }
  free(set->files);
  set->files = NULL;
  set->count = 0;
}

static int kc_add(struct kc_set *set, json_object *doc, const char *name,
                  char *dir, struct wfe_error *err)
{
  if (!json_object_is_type(doc, json_type_object)) {
    json_object_put(doc);
    free(dir);
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidKubeconfig", NULL,
                         "%s: not a mapping", name);
  }
  struct kc_file *files =
      realloc(set->files, (set->count + 1) * sizeof(*files));
  if (!files) {
    json_object_put(doc);
    free(dir);
    return nomem(err);
  }
  set->files = files;
  files[set->count++] = (struct kc_file){doc, name, dir};
  return 0;
}

int wfe_kube_config_parse(const char *text, size_t len, const char *source,
                          const char *base_dir, const char *context,
                          struct wfe_kube_config **out, struct wfe_error *err)
{
  struct kc_set set = {0};
  json_object *doc = NULL;
  *out = NULL;
  source = source ? source : "<kubeconfig>";
  int rc = wfe_yaml_parse(text, len, source, &doc, err);
  if (rc)
    return rc;
  char *dir = strdup(base_dir ? base_dir : ".");
  if (!dir) {
    json_object_put(doc);
    return nomem(err);
  }
  if (!(rc = kc_add(&set, doc, source, dir, err)))
    rc = kc_resolve(&set, context, out, err);
  kc_set_clear(&set);
  return rc;
}

int wfe_kube_config_from_files(const char *const *paths, size_t count,
                               const char *context,
                               struct wfe_kube_config **out,
                               struct wfe_error *err)
{
  struct kc_set set = {0};
  int rc = 0;
  *out = NULL;
  for (size_t i = 0; i < count && !rc; i++) {
    if (!paths[i] || !paths[i][0])
      continue;
    /* A KUBECONFIG list may name files that do not exist (yet). */
    if (count > 1 && access(paths[i], F_OK) != 0 && errno == ENOENT)
      continue;
    json_object *doc = NULL;
    rc = wfe_yaml_parse_file(paths[i], &doc, err);
    if (!rc) {
      char *dir = dir_of(paths[i]);
      rc = dir ? kc_add(&set, doc, paths[i], dir, err)
               : (json_object_put(doc), nomem(err));
    }
  }
  if (!rc && set.count == 0)
    rc = wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NoConfiguration", NULL,
                       "none of the %zu kubeconfig files exist", count);
  if (!rc)
    rc = kc_resolve(&set, context, out, err);
  kc_set_clear(&set);
  return rc;
}

/* --- In-cluster ---------------------------------------------------------- */

int wfe_kube_config_in_cluster(const char *service_account_dir,
                               struct wfe_kube_config **out,
                               struct wfe_error *err)
{
  const char *dir =
      service_account_dir ? service_account_dir : WFE_KUBE_SERVICE_ACCOUNT_DIR;
  const char *host = getenv("KUBERNETES_SERVICE_HOST");
  const char *port = getenv("KUBERNETES_SERVICE_PORT");
  *out = NULL;
  if (!host || !host[0] || !port || !port[0])
    return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NoConfiguration", NULL,
                         "in-cluster: KUBERNETES_SERVICE_HOST and "
                         "KUBERNETES_SERVICE_PORT must be set");
  struct wfe_kube_config *c = calloc(1, sizeof(*c));
  if (!c)
    return nomem(err);
  struct wfe_buf server = WFE_BUF_INIT;
  int rc = 0;
  int ipv6 = strchr(host, ':') != NULL;
  if (wfe_buf_printf(&server, "https://%s%s%s:%s", ipv6 ? "[" : "", host,
                     ipv6 ? "]" : "", port) ||
      !(c->source = strdup("in-cluster")) ||
      !(c->token_file = path_join(dir, "token")) ||
      !(c->ca_file = path_join(dir, "ca.crt"))) {
    wfe_buf_free(&server);
    rc = nomem(err);
    goto fail;
  }
  c->server = wfe_buf_steal(&server);
  /* Fail now, naming the file, rather than on the first request. */
  char *token = NULL;
  if ((rc = read_token_file(c->token_file, &token, err))) {
    wfe_error_prefix(err, "in-cluster");
    goto fail;
  }
  free_secret(token, 0);
  if (access(c->ca_file, R_OK) != 0) {
    rc = wfe_error_set(err, WFE_E_INVALID, 0, "ReadFailed", NULL,
                       "in-cluster: %s: %s", c->ca_file, strerror(errno));
    goto fail;
  }
  char *ns_path = path_join(dir, "namespace"), *ns_raw = NULL;
  size_t ns_len = 0;
  struct wfe_error ignored = WFE_ERROR_INIT;
  if (ns_path &&
      read_small_file(ns_path, 4096, &ns_raw, &ns_len, &ignored) == 0)
    c->namespace_name = trim_dup(ns_raw, ns_len);
  wfe_error_clear(&ignored);
  free(ns_raw);
  free(ns_path);
  if (c->namespace_name && !c->namespace_name[0]) {
    free(c->namespace_name);
    c->namespace_name = NULL;
  }
  if (!c->namespace_name && !(c->namespace_name = strdup("default"))) {
    rc = nomem(err);
    goto fail;
  }
  *out = c;
  return 0;
fail:
  wfe_kube_config_free(c);
  return rc;
}

/* --- The search order ---------------------------------------------------- */

static int load_kubeconfig_env(const char *list, const char *context,
                               struct wfe_kube_config **out,
                               struct wfe_error *err)
{
  char *copy = strdup(list);
  size_t count = 0, cap = 8;
  const char **paths = malloc(cap * sizeof(*paths));
  if (!copy || !paths) {
    free(copy);
    free(paths);
    return nomem(err);
  }
  int rc = 0;
  char *save = NULL;
  for (char *p = strtok_r(copy, ":", &save); p;
       p = strtok_r(NULL, ":", &save)) {
    if (count == cap) {
      const char **grown = realloc(paths, 2 * cap * sizeof(*paths));
      if (!grown) {
        rc = nomem(err);
        break;
      }
      paths = grown;
      cap *= 2;
    }
    paths[count++] = p;
  }
  if (!rc && count == 1)
    /* One name is still a list: a missing file is skipped, then reported. */
    rc = access(paths[0], F_OK) == 0
             ? wfe_kube_config_from_files(paths, 1, context, out, err)
             : wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NoConfiguration", NULL,
                             "KUBECONFIG: %s: %s", paths[0], strerror(errno));
  else if (!rc)
    rc = wfe_kube_config_from_files(paths, count, context, out, err);
  if (rc && rc != WFE_E_NOMEM && count != 1)
    wfe_error_prefix(err, "KUBECONFIG");
  free(paths);
  free(copy);
  return rc;
}

int wfe_kube_config_load(const struct wfe_kube_config_load_options *options,
                         struct wfe_kube_config **out, struct wfe_error *err)
{
  struct wfe_kube_config_load_options none = {0};
  const struct wfe_kube_config_load_options *o = options ? options : &none;
  *out = NULL;
  if (o->explicit_path && o->explicit_path[0])
    return wfe_kube_config_from_files(&o->explicit_path, 1, o->context, out,
                                      err);
  const char *env = getenv("KUBECONFIG");
  if (env && env[0])
    return load_kubeconfig_env(env, o->context, out, err);
  const char *host = getenv("KUBERNETES_SERVICE_HOST");
  if (host && host[0])
    return wfe_kube_config_in_cluster(o->service_account_dir, out, err);
  const char *home = getenv("HOME");
  if (home && home[0]) {
    struct wfe_buf path = WFE_BUF_INIT;
    if (wfe_buf_printf(&path, "%s/.kube/config", home))
      return nomem(err);
    int rc;
    if (access(path.data, F_OK) == 0) {
      const char *p = path.data;
      rc = wfe_kube_config_from_files(&p, 1, o->context, out, err);
    } else {
      rc = wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NoConfiguration", NULL,
                         "no configuration: no --kubeconfig, KUBECONFIG "
                         "unset, not in a cluster, and %s does not exist",
                         path.data);
    }
    wfe_buf_free(&path);
    return rc;
  }
  return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NoConfiguration", NULL,
                       "no configuration: no --kubeconfig, KUBECONFIG unset, "
                       "not in a cluster, and HOME unset");
}

/* --- Copy and free ------------------------------------------------------- */

static void exec_free(struct wfe_kube_exec *x)
{
  if (!x)
    return;
  free(x->api_version);
  free(x->command);
  for (size_t i = 0; i < x->arg_count; i++)
    free(x->args[i]);
  free(x->args);
  for (size_t i = 0; i < x->env_count; i++) {
    free(x->env[i].name);
    free_secret(x->env[i].value, 0);
  }
  free(x->env);
  free(x);
}

void wfe_kube_config_free(struct wfe_kube_config *c)
{
  if (!c)
    return;
  free(c->source);
  free(c->server);
  free(c->tls_server_name);
  free(c->ca_file);
  free(c->ca_data);
  free(c->client_cert_file);
  free(c->client_cert_data);
  free(c->client_key_file);
  free_secret(c->client_key_data, c->client_key_data_len);
  free_secret(c->token, 0);
  free(c->token_file);
  exec_free(c->exec);
  free(c->namespace_name);
  free(c);
}

static int dup_str(const char *s, char **out)
{
  *out = NULL;
  if (!s)
    return 0;
  *out = strdup(s);
  return *out ? 0 : -1;
}

static int dup_mem(const char *s, size_t len, char **out)
{
  *out = NULL;
  if (!s)
    return 0;
  if (!(*out = malloc(len + 1)))
    return -1;
  memcpy(*out, s, len);
  (*out)[len] = '\0';
  return 0;
}

static int exec_copy(const struct wfe_kube_exec *x, struct wfe_kube_exec **out)
{
  *out = NULL;
  if (!x)
    return 0;
  struct wfe_kube_exec *y = calloc(1, sizeof(*y));
  if (!y)
    return -1;
  *out = y;
  if (dup_str(x->api_version, &y->api_version) ||
      dup_str(x->command, &y->command) ||
      !(y->args = calloc(x->arg_count + 1, sizeof(*y->args))) ||
      !(y->env = calloc(x->env_count + 1, sizeof(*y->env))))
    return -1;
  for (; y->arg_count < x->arg_count; y->arg_count++)
    if (dup_str(x->args[y->arg_count], &y->args[y->arg_count]))
      return -1;
  for (; y->env_count < x->env_count; y->env_count++) {
    struct wfe_kube_exec_env *to = &y->env[y->env_count];
    const struct wfe_kube_exec_env *from = &x->env[y->env_count];
    if (dup_str(from->name, &to->name) || dup_str(from->value, &to->value)) {
      y->env_count++;
      return -1;
    }
  }
  return 0;
}

int wfe_kube_config_copy(const struct wfe_kube_config *c,
                         struct wfe_kube_config **out)
{
  struct wfe_kube_config *d = calloc(1, sizeof(*d));
  *out = NULL;
  if (!d)
    return WFE_E_NOMEM;
  d->ca_data_len = c->ca_data_len;
  d->client_cert_data_len = c->client_cert_data_len;
  d->client_key_data_len = c->client_key_data_len;
  if (dup_str(c->source, &d->source) || dup_str(c->server, &d->server) ||
      dup_str(c->tls_server_name, &d->tls_server_name) ||
      dup_str(c->ca_file, &d->ca_file) ||
      dup_mem(c->ca_data, c->ca_data_len, &d->ca_data) ||
      dup_str(c->client_cert_file, &d->client_cert_file) ||
      dup_mem(c->client_cert_data, c->client_cert_data_len,
              &d->client_cert_data) ||
      dup_str(c->client_key_file, &d->client_key_file) ||
      dup_mem(c->client_key_data, c->client_key_data_len,
              &d->client_key_data) ||
      dup_str(c->token, &d->token) || dup_str(c->token_file, &d->token_file) ||
      exec_copy(c->exec, &d->exec) ||
      dup_str(c->namespace_name, &d->namespace_name)) {
    wfe_kube_config_free(d);
    return WFE_E_NOMEM;
  }
  *out = d;
  return 0;
}

/* --- Exec credential plugins --------------------------------------------- */

/* The process environment plus the plugin's variables (which win) plus
 * KUBERNETES_EXEC_INFO. Only the array is allocated. */
static char **exec_environment(const struct wfe_kube_exec *x,
                               struct wfe_buf *storage)
{
  size_t n = 0;
  while (environ && environ[n])
    n++;
  char **envp = calloc(n + x->env_count + 2, sizeof(*envp));
  if (!envp)
    return NULL;
  /* Offsets into `storage` first; pointers once it stops moving. */
  size_t *offsets = calloc(x->env_count + 1, sizeof(*offsets));
  if (!offsets) {
    free(envp);
    return NULL;
  }
  int rc = 0;
  for (size_t i = 0; i < x->env_count && !rc; i++) {
    offsets[i] = storage->len;
    rc = wfe_buf_printf(storage, "%s=%s", x->env[i].name, x->env[i].value) ||
         wfe_buf_append(storage, "", 1);
  }
  offsets[x->env_count] = storage->len;
  if (!rc)
    rc = wfe_buf_printf(storage,
                        "KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\","
                        "\"kind\":\"ExecCredential\",\"spec\":"
                        "{\"interactive\":false}}",
                        x->api_version);
  if (rc) {
    free(offsets);
    free(envp);
    return NULL;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(environ[i], '=');
    size_t name_len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
    int overridden = strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21) == 0;
    for (size_t j = 0; j < x->env_count && !overridden; j++)
      overridden = strlen(x->env[j].name) == name_len &&
                   strncmp(x->env[j].name, environ[i], name_len) == 0;
    if (!overridden)
      envp[k++] = environ[i];
  }
  for (size_t i = 0; i <= x->env_count; i++)
    envp[k++] = storage->data + offsets[i];
  free(offsets);
  return envp;
}

static long ms_since(const struct timespec *start)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start->tv_sec) * 1000 +
         (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Runs the plugin without a shell; its standard output lands in `out`. */
static int exec_run(const struct wfe_kube_exec *x, struct wfe_buf *out,
                    struct wfe_error *err)
{
  struct wfe_buf env_storage = WFE_BUF_INIT;
  char **argv = calloc(x->arg_count + 2, sizeof(*argv));
  char **envp = exec_environment(x, &env_storage);
  int pipefd[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  int actions_ready = 0, rc = 0;
  pid_t pid = -1;
  if (!argv || !envp) {
    rc = nomem(err);
    goto done;
  }
  argv[0] = x->command;
  for (size_t i = 0; i < x->arg_count; i++)
    argv[i + 1] = x->args[i];
  if (pipe2(pipefd, O_CLOEXEC) != 0 ||
      posix_spawn_file_actions_init(&actions) != 0) {
    rc = wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "ExecFailed", NULL,
                       "exec plugin %s: %s", x->command, strerror(errno));
    goto done;
  }
  actions_ready = 1;
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  int spawn_rc = posix_spawnp(&pid, x->command, &actions, NULL, argv, envp);
  close(pipefd[1]);
  pipefd[1] = -1;
  if (spawn_rc != 0) {
    pid = -1;
    rc = wfe_error_set(err, WFE_E_INVALID, 0, "ExecFailed", NULL,
                       "exec plugin %s: cannot run it: %s", x->command,
                       strerror(spawn_rc));
    goto done;
  }
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    long left = EXEC_TIMEOUT_MS - ms_since(&start);
    struct pollfd pfd = {pipefd[0], POLLIN, 0};
    int ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0) {
      kill(pid, SIGKILL);
      rc = wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "ExecTimeout", NULL,
                         "exec plugin %s: no answer within %d s", x->command,
                         EXEC_TIMEOUT_MS / 1000);
      break;
    }
    char chunk[4096];
    ssize_t n = read(pipefd[0], chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (out->len + (size_t)n > EXEC_OUTPUT_MAX) {
      kill(pid, SIGKILL);
      rc = wfe_error_set(err, WFE_E_INVALID, 0, "ExecFailed", NULL,
                         "exec plugin %s: output larger than %d bytes",
                         x->command, EXEC_OUTPUT_MAX);
      break;
    }
    rc = wfe_buf_append(out, chunk, (size_t)n);
    explicit_bzero(chunk, sizeof(chunk));
    if (rc) {
      kill(pid, SIGKILL);
      rc = nomem(err);
      break;
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!rc && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    rc = wfe_error_set(
        err, WFE_E_INVALID, 0, "ExecFailed", NULL, "exec plugin %s: %s %d",
        x->command,
        WIFEXITED(status) ? "exited with status" : "killed by signal",
        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
done:
  if (actions_ready)
    posix_spawn_file_actions_destroy(&actions);
  if (pipefd[0] >= 0)
    close(pipefd[0]);
  if (pipefd[1] >= 0)
    close(pipefd[1]);
  free(argv);
  free(envp);
  free_secret(env_storage.data, env_storage.cap);
  return rc;
}

/* RFC 3339 ("2024-01-02T03:04:05Z", fractions and offsets allowed). */
static int parse_rfc3339(const char *text, time_t *out)
{
  struct tm tm = {0};
  const char *p = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p)
    return -1;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++)
      ;
  long offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int hours, minutes;
    if (sscanf(p + 1, "%2d:%2d", &hours, &minutes) != 2)
      return -1;
    offset = (hours * 60L + minutes) * 60L * (*p == '+' ? 1 : -1);
    p += 6;
  } else {
    return -1;
  }
  if (*p)
    return -1;
  *out = timegm(&tm) - offset;
  return 0;
}

struct exec_result {
  char *token;
  char *cert;
  size_t cert_len;
  char *key;
  size_t key_len;
  time_t expiry; /* 0: none */
};

static int exec_parse(const struct wfe_kube_exec *x, const char *text,
                      size_t len, struct exec_result *out,
                      struct wfe_error *err)
{
  /* Never quote the output: it holds the credentials. */
  json_tokener *tok = json_tokener_new();
  if (!tok)
    return nomem(err);
  json_object *doc = json_tokener_parse_ex(tok, text, (int)len);
  int complete = doc && json_tokener_get_error(tok) == json_tokener_success;
  json_tokener_free(tok);
  json_object *api = NULL, *kind = NULL, *status = NULL, *value = NULL;
  const char *problem = NULL;
  if (!complete || !json_object_is_type(doc, json_type_object))
    problem = "its output is not a JSON object";
  else if (!json_object_object_get_ex(doc, "kind", &kind) ||
           strcmp(json_object_get_string(kind), "ExecCredential") != 0)
    problem = "its output is not an ExecCredential";
  else if (!json_object_object_get_ex(doc, "apiVersion", &api) ||
           strcmp(json_object_get_string(api), x->api_version) != 0)
    problem = "its output has another apiVersion than the kubeconfig asks";
  else if (!json_object_object_get_ex(doc, "status", &status) ||
           !json_object_is_type(status, json_type_object))
    problem = "its output has no status";
  if (!problem) {
    if (json_object_object_get_ex(status, "token", &value) &&
        json_object_is_type(value, json_type_string) &&
        json_object_get_string_len(value) > 0)
      out->token = strdup(json_object_get_string(value));
    if (json_object_object_get_ex(status, "clientCertificateData", &value) &&
        json_object_is_type(value, json_type_string)) {
      out->cert_len = (size_t)json_object_get_string_len(value);
      out->cert = strndup(json_object_get_string(value), out->cert_len);
    }
    if (json_object_object_get_ex(status, "clientKeyData", &value) &&
        json_object_is_type(value, json_type_string)) {
      out->key_len = (size_t)json_object_get_string_len(value);
      out->key = strndup(json_object_get_string(value), out->key_len);
    }
    if (json_object_object_get_ex(status, "expirationTimestamp", &value) &&
        value &&
        (!json_object_is_type(value, json_type_string) ||
         parse_rfc3339(json_object_get_string(value), &out->expiry) != 0))
      problem = "status.expirationTimestamp is not an RFC 3339 time";
    else if (!out->token && !(out->cert && out->key))
      problem = "status has neither a token nor clientCertificateData and "
                "clientKeyData";
    else if (!!out->cert != !!out->key)
      problem = "status.clientCertificateData and clientKeyData come "
                "together";
  }
  if (doc)
    json_object_put(doc);
  if (problem)
    return wfe_error_set(err, WFE_E_INVALID, 0, "ExecFailed", NULL,
                         "exec plugin %s: %s", x->command, problem);
  return 0;
}

static void exec_result_clear(struct exec_result *r)
{
  free_secret(r->token, 0);
  free(r->cert);
  free_secret(r->key, r->key_len);
  memset(r, 0, sizeof(*r));
}

/* --- Credentials on demand ----------------------------------------------- */

struct wfe_kube_auth {
  const struct wfe_kube_config *config;
  long reread_seconds;
  pthread_mutex_t lock;
  char *file_token; /* last good contents of the token file */
  struct timespec file_read_at;
  int file_fresh; /* 0: read the file on the next get */
  struct exec_result exec;
  int exec_fresh;
};

int wfe_kube_auth_new(const struct wfe_kube_config *config,
                      long token_reread_seconds, struct wfe_kube_auth **out,
                      struct wfe_error *err)
{
  struct wfe_kube_auth *auth = calloc(1, sizeof(*auth));
  *out = NULL;
  if (!auth)
    return nomem(err);
  auth->config = config;
  auth->reread_seconds = token_reread_seconds < 0 ? 0 : token_reread_seconds;
  pthread_mutex_init(&auth->lock, NULL);
  *out = auth;
  return 0;
}

void wfe_kube_auth_free(struct wfe_kube_auth *auth)
{
  if (!auth)
    return;
  pthread_mutex_destroy(&auth->lock);
  free_secret(auth->file_token, 0);
  exec_result_clear(&auth->exec);
  free(auth);
}

void wfe_kube_auth_invalidate(struct wfe_kube_auth *auth)
{
  pthread_mutex_lock(&auth->lock);
  auth->file_fresh = 0;
  auth->exec_fresh = 0;
  pthread_mutex_unlock(&auth->lock);
}

void wfe_kube_credentials_clear(struct wfe_kube_credentials *creds)
{
  if (!creds)
    return;
  free_secret(creds->token, 0);
  free(creds->client_cert_data);
  free_secret(creds->client_key_data, creds->client_key_data_len);
  memset(creds, 0, sizeof(*creds));
}

static int file_token_locked(struct wfe_kube_auth *auth, char **out,
                             struct wfe_error *err)
{
  const char *path = auth->config->token_file;
  if (!auth->file_fresh || !auth->file_token ||
      ms_since(&auth->file_read_at) >= auth->reread_seconds * 1000) {
    char *token = NULL;
    struct wfe_error read_err = WFE_ERROR_INIT;
    int rc = read_token_file(path, &token, &read_err);
    if (rc && !auth->file_token) {
      /* Nothing to fall back on: the file was never readable. */
      rc = wfe_error_set(err, rc, rc == WFE_E_NOMEM, "TokenUnreadable", NULL,
                         "token file %s", wfe_error_message(&read_err));
      wfe_error_clear(&read_err);
      return rc;
    }
    wfe_error_clear(&read_err);
    if (!rc) {
      /* A failed read keeps the last good token (client-go does the same);
       * a good one replaces it. */
      free_secret(auth->file_token, 0);
      auth->file_token = token;
    }
    clock_gettime(CLOCK_MONOTONIC, &auth->file_read_at);
    auth->file_fresh = 1;
  }
  *out = strdup(auth->file_token);
  return *out ? 0 : nomem(err);
}

static int exec_locked(struct wfe_kube_auth *auth,
                       struct wfe_kube_credentials *out, struct wfe_error *err)
{
  const struct wfe_kube_exec *x = auth->config->exec;
  time_t now = time(NULL);
  int expired =
      auth->exec.expiry && now + EXEC_EXPIRY_MARGIN_S >= auth->exec.expiry;
  if (!auth->exec_fresh || expired) {
    struct wfe_buf output = WFE_BUF_INIT;
    struct exec_result result = {0};
    int rc = exec_run(x, &output, err);
    if (!rc)
      rc = exec_parse(x, wfe_buf_str(&output), output.len, &result, err);
    free_secret(output.data, output.cap);
    if (rc) {
      exec_result_clear(&result);
      return rc;
    }
    exec_result_clear(&auth->exec);
    auth->exec = result;
    auth->exec_fresh = 1;
  }
  if (dup_str(auth->exec.token, &out->token) ||
      dup_mem(auth->exec.cert, auth->exec.cert_len, &out->client_cert_data) ||
      dup_mem(auth->exec.key, auth->exec.key_len, &out->client_key_data))
    return nomem(err);
  out->client_cert_data_len = auth->exec.cert ? auth->exec.cert_len : 0;
  out->client_key_data_len = auth->exec.key ? auth->exec.key_len : 0;
  return 0;
}

int wfe_kube_auth_get(struct wfe_kube_auth *auth,
                      struct wfe_kube_credentials *out, struct wfe_error *err)
{
  const struct wfe_kube_config *c = auth->config;
  int rc = 0;
  memset(out, 0, sizeof(*out));
  pthread_mutex_lock(&auth->lock);
  if (c->token_file)
    rc = file_token_locked(auth, &out->token, err);
  else if (c->token)
    rc = dup_str(c->token, &out->token) ? nomem(err) : 0;
  else if (c->exec)
    rc = exec_locked(auth, out, err);
  pthread_mutex_unlock(&auth->lock);
  if (rc)
    wfe_kube_credentials_clear(out);
  return rc;
}
