/* Kubernetes name rules; see names.h. */
#include "names.h"

#include <string.h>

static int is_alnum_lower(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One [a-z0-9]([-a-z0-9]*[a-z0-9])? part of `len` characters, unbounded. */
static int part_ok(const char *s, size_t len)
{
  if (len == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[len - 1]))
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!is_alnum_lower(s[i]) && s[i] != '-')
      return 0;
  return 1;
}

int wfe_is_dns_label(const char *s)
{
  if (!s)
    return 0;
  size_t len = strlen(s);
  return len <= 63 && part_ok(s, len);
}

int wfe_is_dns_subdomain(const char *s)
{
  if (!s)
    return 0;
  size_t len = strlen(s);
  if (len == 0 || len > 253)
    return 0;
  for (const char *p = s;;) {
    const char *dot = strchr(p, '.');
    size_t part = dot ? (size_t)(dot - p) : strlen(p);
    if (!part_ok(p, part))
      return 0;
    if (!dot)
      return 1;
    p = dot + 1;
  }
}
