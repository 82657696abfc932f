/*
 * Names the engines check or make: Kubernetes DNS-1123 names, OCI image
 * references (a Tekton bundle, a Job's container image), and the run name
 * derived from a WorkflowExecution's identity. Pure functions; only the run
 * name allocates (the identity it hashes).
 */
#include <stdlib.h>
#include <string.h>

#include "engine_kit.h"

/* The longest image reference accepted, and the longest repository name
 * (registry and path) as the distribution reference grammar caps it. */
#define EK_IMAGE_MAX 1024
#define EK_IMAGE_NAME_MAX 255
#define EK_TAG_MAX 128

/* The run name: prefix, '-', and this many hex digits of the identity's
 * SHA-256 (40 bits; the prefix already separates most names). */
#define EK_NAME_HASH_LEN 10
#define EK_NAME_PREFIX_MAX (EK_DNS_LABEL_MAX - 1 - EK_NAME_HASH_LEN)

static int is_lower_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int is_lower_hex(char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int is_label(const char *s, size_t len)
{
  if (len == 0 || len > EK_DNS_LABEL_MAX || !is_lower_alnum(s[0]) ||
      !is_lower_alnum(s[len - 1]))
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!is_lower_alnum(s[i]) && s[i] != '-')
      return 0;
  return 1;
}

int ek_is_dns_label(const char *s)
{
  return s && is_label(s, strlen(s));
}

int ek_is_dns_subdomain(const char *s)
{
  if (!s)
    return 0;
  size_t len = strlen(s);
  if (len == 0 || len > EK_DNS_SUBDOMAIN_MAX)
    return 0;
  /* Kubernetes' subdomain rule: labels of [a-z0-9-] that start and end
   * alphanumeric, joined by dots (a label may exceed 63 here). */
  const char *label = s;
  for (const char *p = s;; p++) {
    if (*p == '.' || *p == '\0') {
      size_t n = (size_t)(p - label);
      if (n == 0 || !is_lower_alnum(label[0]) || !is_lower_alnum(p[-1]))
        return 0;
      if (*p == '\0')
        return 1;
      label = p + 1;
    } else if (!is_lower_alnum(*p) && *p != '-') {
      return 0;
    }
  }
}

int ek_is_identifier(const char *name, const char *extra)
{
  char c = name[0];
  if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
    return 0;
  for (const char *p = name; *p; p++)
    if (!is_alnum(*p) && *p != '_' && !strchr(extra, *p))
      return 0;
  return 1;
}

static int is_hex_run(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (!is_lower_hex(s[i]))
      return 0;
  return 1;
}

int ek_is_sha256_digest(const char *digest, size_t len)
{
  return len == 7 + 64 && memcmp(digest, "sha256:", 7) == 0 &&
         is_hex_run(digest + 7, 64);
}

/* The digests the OCI image spec registers: sha256 and sha512. */
static int is_image_digest(const char *digest, size_t len)
{
  if (ek_is_sha256_digest(digest, len))
    return 1;
  return len == 7 + 128 && memcmp(digest, "sha512:", 7) == 0 &&
         is_hex_run(digest + 7, 128);
}

static int is_tag(const char *s, size_t len)
{
  if (len == 0 || len > EK_TAG_MAX || s[0] == '.' || s[0] == '-')
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
      return 0;
  return 1;
}

/* A registry: host components of [A-Za-z0-9-] (not starting or ending with
 * '-') joined by '.', or a bracketed IPv6 address, then an optional port. */
static int is_registry(const char *s, size_t len)
{
  size_t host_len = len;
  const char *colon = NULL;
  if (len > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', len);
    if (!close || close == s + 1)
      return 0;
    for (const char *p = s + 1; p < close; p++)
      if (!is_lower_hex(*p) && !(*p >= 'A' && *p <= 'F') && *p != ':')
        return 0;
    host_len = (size_t)(close - s) + 1;
    if (host_len < len && s[host_len] != ':')
      return 0;
    colon = host_len < len ? s + host_len : NULL;
  } else {
    colon = memchr(s, ':', len);
    host_len = colon ? (size_t)(colon - s) : len;
    size_t start = 0;
    for (size_t i = 0; i <= host_len; i++) {
      if (i < host_len && s[i] != '.') {
        if (!is_alnum(s[i]) && s[i] != '-')
          return 0;
        continue;
      }
      if (i == start || s[start] == '-' || s[i - 1] == '-')
        return 0;
      start = i + 1;
    }
  }
  if (colon) {
    const char *port = colon + 1, *end = s + len;
    if (port == end || end - port > 5)
      return 0;
    for (const char *p = port; p < end; p++)
      if (*p < '0' || *p > '9')
        return 0;
  }
  return 1;
}

/* A repository path component: lowercase alphanumeric runs joined by one
 * separator ('.', '_', '__' or any number of '-'). Returns a problem or
 * NULL. */
static const char *path_component_problem(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (s[i] >= 'A' && s[i] <= 'Z')
      return "the repository part must be lowercase";
  if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
    return "each repository path component must start and end with a "
           "lowercase letter or digit";
  for (size_t i = 0; i < len;) {
    if (is_lower_alnum(s[i])) {
      i++;
      continue;
    }
    size_t run = 0;
    while (i + run < len && !is_lower_alnum(s[i + run]))
      run++;
    int dashes = 1;
    for (size_t j = 0; j < run; j++)
      dashes &= s[i + j] == '-';
    int ok = dashes || (run == 1 && (s[i] == '.' || s[i] == '_')) ||
             (run == 2 && s[i] == '_' && s[i + 1] == '_');
    if (!ok)
      return "repository path components may only contain lowercase letters "
             "and digits separated by '.', '_', '__' or '-'";
    i += run;
  }
  return NULL;
}

/* Docker's rule: the first component is a registry when it has a '.' or a
 * ':', is "localhost", or has an uppercase letter. */
static int looks_like_registry(const char *s, size_t len)
{
  if (len == 9 && memcmp(s, "localhost", 9) == 0)
    return 1;
  for (size_t i = 0; i < len; i++)
    if (s[i] == '.' || s[i] == ':' || s[i] == '[' ||
        (s[i] >= 'A' && s[i] <= 'Z'))
      return 1;
  return 0;
}

static const char *name_problem(const char *name, size_t len)
{
  if (len == 0)
    return "the repository name is empty";
  if (len > EK_IMAGE_NAME_MAX)
    return "the repository name is longer than 255 characters";
  const char *end = name + len, *component = name;
  const char *slash = memchr(name, '/', len);
  if (slash && looks_like_registry(name, (size_t)(slash - name))) {
    if (!is_registry(name, (size_t)(slash - name)))
      return "the registry host is not a valid host[:port]";
    component = slash + 1;
  }
  for (;;) {
    const char *next = memchr(component, '/', (size_t)(end - component));
    const char *stop = next ? next : end;
    const char *problem =
        path_component_problem(component, (size_t)(stop - component));
    if (problem)
      return problem;
    if (!next)
      return NULL;
    component = next + 1;
  }
}

int ek_parse_image(const char *image, struct ek_image_ref *out,
                   const char **problem)
{
  memset(out, 0, sizeof(*out));
  size_t len = strlen(image);
  *problem = NULL;
  if (len == 0)
    *problem = "it must not be empty";
  else if (len > EK_IMAGE_MAX)
    *problem = "it is longer than 1024 characters";
  for (size_t i = 0; !*problem && i < len; i++)
    if ((unsigned char)image[i] <= ' ' || image[i] == 0x7f)
      *problem = "it must not contain whitespace or control characters";
  if (*problem)
    return -1;

  size_t name_len = len;
  const char *at = memchr(image, '@', len);
  if (at) {
    out->digest = at + 1;
    out->digest_len = len - (size_t)(out->digest - image);
    name_len = (size_t)(at - image);
    if (!is_image_digest(out->digest, out->digest_len)) {
      *problem = "the digest after '@' must be sha256:<64 lowercase hex "
                 "digits> (or sha512:<128>)";
      return -1;
    }
  }
  /* A tag is a ':' after the last '/' (a ':' before it is a port). */
  const char *last_slash = NULL;
  for (const char *p = image; p < image + name_len; p++)
    if (*p == '/')
      last_slash = p;
  const char *from = last_slash ? last_slash + 1 : image;
  const char *colon = memchr(from, ':', (size_t)(image + name_len - from));
  if (colon) {
    if (!is_tag(colon + 1, (size_t)(image + name_len - colon - 1))) {
      *problem = "the tag must be 1 to 128 of [A-Za-z0-9_.-], not starting "
                 "with '.' or '-'";
      return -1;
    }
    name_len = (size_t)(colon - image);
  }
  *problem = name_problem(image, name_len);
  if (*problem)
    return -1;
  out->name = image;
  out->name_len = name_len;
  return 0;
}

/* The name made a label: lowercase, every other character (the dots of a
 * subdomain above all) a '-', no leading '-', cut, no trailing '-'; "wfe"
 * when nothing is left. Returns its length. */
static size_t name_prefix(const char *name, char out[EK_NAME_PREFIX_MAX + 1])
{
  size_t n = 0;
  for (const char *p = name; *p && n < EK_NAME_PREFIX_MAX; p++) {
    char c = *p;
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (!is_lower_alnum(c))
      c = '-';
    if (c == '-' && n == 0)
      continue;
    out[n++] = c;
  }
  while (n > 0 && out[n - 1] == '-')
    n--;
  if (n == 0) {
    memcpy(out, "wfe", 3);
    n = 3;
  }
  return n;
}

int ek_run_name(const wfe_host *host, const char *namespace_name,
                const char *name, const char *uid,
                char out[EK_DNS_LABEL_MAX + 1])
{
  size_t n = name_prefix(name, out);
  /* The identity hashed, so a recreated execution (new uid) or the same
   * name in another namespace gets another run. */
  size_t ns_len = strlen(namespace_name), name_len = strlen(name);
  size_t uid_len = strlen(uid);
  size_t identity_len = ns_len + 1 + name_len + 1 + uid_len;
  char *identity = malloc(identity_len);
  if (!identity)
    return -1;
  memcpy(identity, namespace_name, ns_len);
  identity[ns_len] = '/';
  memcpy(identity + ns_len + 1, name, name_len);
  identity[ns_len + 1 + name_len] = '/';
  memcpy(identity + ns_len + name_len + 2, uid, uid_len);
  char hex[65];
  host->sha256_hex(identity, identity_len, hex);
  free(identity);
  out[n++] = '-';
  memcpy(out + n, hex, EK_NAME_HASH_LEN);
  out[n + EK_NAME_HASH_LEN] = '\0';
  return 0;
}
