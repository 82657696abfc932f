/*
 * An engine's test vectors, read once at start:
 *
 *   render/<case>/execution.json   a WorkflowExecution
 *   render/<case>/expected.json    the run object render must answer
 *   render/<case>/config.json      optional: the engine's configuration
 *   interpret/<case>/run.json      a run object as the API returns it
 *   interpret/<case>/expected.json the document interpret must answer
 *   (an expected.json of {"error": {"code", "reason", "field"}} alone is a
 *   refusal the operation must answer)
 *   host/<resource>/<any>.json     objects (or a List of them) the fake
 *                                  host serves, <resource> being the plural
 *                                  name the engine asks for ("taskruns")
 *
 * Cases run in byte-wise order of their folder names. Host objects are
 * indexed by their own apiVersion, metadata.namespace and metadata.name:
 * what an engine asks for is compared with those, never made into a path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "json_util.h"

int check_read_file(const char *path, char **out, size_t *out_len,
                    struct wfe_error *err)
{
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "ReadFailed", NULL, "%s: %s",
                         path, strerror(errno));
  struct wfe_buf text = WFE_BUF_INIT;
  int rc = check_read_fd(fd, &text);
  if (rc == WFE_E_UNAVAILABLE)
    wfe_error_set(err, rc, 0, "ReadFailed", NULL, "%s: %s", path,
                  strerror(errno));
  close(fd);
  if (!rc && wfe_buf_reserve(&text, 0))
    rc = WFE_E_NOMEM;
  if (!rc) {
    if (out_len)
      *out_len = text.len;
    *out = text.data ? wfe_buf_steal(&text) : strdup("");
    if (!*out)
      rc = WFE_E_NOMEM;
  }
  wfe_buf_free(&text);
  if (rc == WFE_E_NOMEM)
    wfe_error_set(err, rc, 0, "OutOfMemory", NULL, NULL);
  return rc;
}

/* Reads `dir`/`name`/`file` as JSON text; with `optional`, a missing file
 * leaves *out NULL. */
static int read_part(const char *dir, const char *name, const char *file,
                     int optional, char **out, size_t *out_len,
                     struct wfe_error *err)
{
  char *path = NULL;
  if (asprintf(&path, "%s/%s/%s", dir, name, file) < 0)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  int rc = 0;
  if (!optional || access(path, F_OK) == 0)
    rc = check_read_file(path, out, out_len, err);
  free(path);
  return rc;
}

/* The visible sub-folders or files of `dir`, sorted; a missing `dir` has
 * none. */
static int list_dir(const char *dir, struct dirent ***out, int *count,
                    struct wfe_error *err)
{
  *out = NULL;
  *count = 0;
  if (access(dir, F_OK) != 0)
    return 0;
  int n = scandir(dir, out, NULL, alphasort);
  if (n < 0)
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 0, "ReadFailed", NULL,
                         "%s: %s", dir, strerror(errno));
  *count = n;
  return 0;
}

static void free_list(struct dirent **list, int count)
{
  for (int i = 0; i < count; i++)
    free(list[i]);
  free(list);
}

/* Whether an expected document is a refusal: {"error": {...}} alone. */
static int is_error_document(const char *expected)
{
  json_object *doc = wfe_json_parse(expected, strlen(expected));
  json_object *error = NULL;
  int is_error = json_object_is_type(doc, json_type_object) &&
                 json_object_object_length(doc) == 1 &&
                 json_object_object_get_ex(doc, "error", &error) &&
                 json_object_is_type(error, json_type_object);
  json_object_put(doc);
  return is_error;
}

static int read_cases(const char *vectors, const char *kind,
                      const char *input_file, struct check_case **out,
                      size_t *out_count, struct wfe_error *err)
{
  char *dir = NULL;
  if (asprintf(&dir, "%s/%s", vectors, kind) < 0)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  struct dirent **list = NULL;
  int count = 0;
  int rc = list_dir(dir, &list, &count, err);
  if (!rc && count > 0 && !(*out = calloc((size_t)count, sizeof(**out))))
    rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  for (int i = 0; !rc && i < count; i++) {
    const char *name = list[i]->d_name;
    if (name[0] == '.')
      continue;
    struct check_case *c = &(*out)[(*out_count)++];
    if (!(c->name = strdup(name)))
      rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
    if (!rc)
      rc = read_part(dir, name, input_file, 0, &c->input, &c->input_len, err);
    if (!rc)
      rc = read_part(dir, name, "expected.json", 0, &c->expected, NULL, err);
    if (!rc && strcmp(kind, "render") == 0)
      rc = read_part(dir, name, "config.json", 1, &c->config, &c->config_len,
                     err);
    if (!rc)
      c->expects_error = is_error_document(c->expected);
  }
  free_list(list, count);
  free(dir);
  return rc;
}

static int add_object(struct check_vectors *v, json_object *obj,
                      const char *list_api_version, const char *resource)
{
  const char *api_version = wfe_json_get_string(obj, "apiVersion");
  const char *name = wfe_json_get_string(obj, "metadata.name");
  const char *ns = wfe_json_get_string(obj, "metadata.namespace");
  if (!api_version)
    api_version = list_api_version; /* list items often omit it */
  if (!api_version || !name)
    return WFE_E_INVALID;
  struct check_object *grown =
      realloc(v->objects, (v->object_count + 1) * sizeof(*grown));
  if (!grown)
    return WFE_E_NOMEM;
  v->objects = grown;
  struct check_object *o = &grown[v->object_count];
  memset(o, 0, sizeof(*o));
  o->api_version = strdup(api_version);
  o->resource = strdup(resource);
  o->namespace_name = strdup(ns ? ns : "");
  o->name = strdup(name);
  const char *text = wfe_json_text(obj, NULL);
  o->json = text ? strdup(text) : NULL;
  v->object_count++; /* counted now, so check_vectors_free frees it */
  if (!o->api_version || !o->resource || !o->namespace_name || !o->name ||
      !o->json)
    return WFE_E_NOMEM;
  return 0;
}

/* Adds the object, or each item of the List, that `path` holds. */
static int read_host_file(struct check_vectors *v, const char *path,
                          const char *resource, struct wfe_error *err)
{
  char *text = NULL;
  size_t len = 0;
  int rc = check_read_file(path, &text, &len, err);
  if (rc)
    return rc;
  json_object *doc = wfe_json_parse(text, len);
  free(text);
  json_object *items = wfe_json_get(doc, "items");
  if (!doc)
    rc = WFE_E_INVALID;
  else if (json_object_is_type(items, json_type_array))
    for (size_t i = 0; !rc && i < json_object_array_length(items); i++)
      rc = add_object(v, json_object_array_get_idx(items, i),
                      wfe_json_get_string(doc, "apiVersion"), resource);
  else
    rc = add_object(v, doc, NULL, resource);
  json_object_put(doc);
  if (rc == WFE_E_INVALID)
    return wfe_error_set(err, rc, 0, "InvalidVector", NULL,
                         "%s: not a JSON object (or List) with apiVersion "
                         "and metadata.name",
                         path);
  return rc ? wfe_error_set(err, rc, 0, "OutOfMemory", NULL, NULL) : 0;
}

static int read_resource(struct check_vectors *v, const char *host_dir,
                         const char *resource, struct wfe_error *err)
{
  char *dir = NULL;
  if (asprintf(&dir, "%s/%s", host_dir, resource) < 0)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  struct dirent **files = NULL;
  int count = 0;
  int rc = list_dir(dir, &files, &count, err);
  for (int i = 0; !rc && i < count; i++) {
    const char *file = files[i]->d_name;
    size_t n = strlen(file);
    if (file[0] == '.' || n < 6 || strcmp(file + n - 5, ".json") != 0)
      continue;
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, file) < 0)
      rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
    else
      rc = read_host_file(v, path, resource, err);
    free(path);
  }
  free_list(files, count);
  free(dir);
  return rc;
}

static int read_host(const char *vectors, struct check_vectors *v,
                     struct wfe_error *err)
{
  char *host_dir = NULL;
  if (asprintf(&host_dir, "%s/host", vectors) < 0)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  struct dirent **resources = NULL;
  int count = 0;
  int rc = list_dir(host_dir, &resources, &count, err);
  for (int i = 0; !rc && i < count; i++)
    if (resources[i]->d_name[0] != '.')
      rc = read_resource(v, host_dir, resources[i]->d_name, err);
  free_list(resources, count);
  free(host_dir);
  return rc;
}

int check_vectors_read(const char *dir, struct check_vectors *out,
                       struct wfe_error *err)
{
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return wfe_error_set(err, WFE_E_NOT_FOUND, 0, "NoVectors", NULL,
                         "%s: not a directory", dir);
  int rc = read_cases(dir, "render", "execution.json", &out->render,
                      &out->render_count, err);
  if (!rc)
    rc = read_cases(dir, "interpret", "run.json", &out->interpret,
                    &out->interpret_count, err);
  if (!rc)
    rc = read_host(dir, out, err);
  return rc;
}

static void free_cases(struct check_case *cases, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    free(cases[i].name);
    free(cases[i].input);
    free(cases[i].expected);
    free(cases[i].config);
  }
  free(cases);
}

void check_vectors_free(struct check_vectors *v)
{
  free_cases(v->render, v->render_count);
  free_cases(v->interpret, v->interpret_count);
  for (size_t i = 0; i < v->object_count; i++) {
    free(v->objects[i].api_version);
    free(v->objects[i].resource);
    free(v->objects[i].namespace_name);
    free(v->objects[i].name);
    free(v->objects[i].json);
  }
  free(v->objects);
  memset(v, 0, sizeof(*v));
}
