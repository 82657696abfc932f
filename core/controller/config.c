/*
 * Controller configuration; see config.h. The file is YAML read through
 * yaml_reader.c; the schema is walked here once, key by key.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <wfe/engine.h>

#include "json_util.h"
#include "log.h"
#include "names.h"
#include "yaml_reader.h"

int wfe_config_set_string(char **member, const char *value)
{
  char *copy = NULL;
  if (value && !(copy = strdup(value)))
    return WFE_E_NOMEM;
  free(*member);
  *member = copy;
  return 0;
}

static void free_list(char **list, size_t count)
{
  for (size_t i = 0; i < count; i++)
    free(list[i]);
  free(list);
}

int wfe_config_set_list(char ***list, size_t *count, const char *csv)
{
  char **items = NULL;
  size_t n = 0;
  const char *p = csv;
  while (p && *p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len) {
      char **grown = realloc(items, (n + 1) * sizeof(*items));
      if (!grown || !(grown[n] = strndup(p, len))) {
        free_list(grown ? grown : items, n);
        return WFE_E_NOMEM;
      }
      items = grown;
      n++;
    }
    p = comma ? comma + 1 : NULL;
  }
  free_list(*list, *count);
  *list = items;
  *count = n;
  return 0;
}

int wfe_parse_duration_ms(const char *text, long *out)
{
  char *end = NULL;
  errno = 0;
  double value = strtod(text, &end);
  if (errno || end == text || value < 0)
    return WFE_E_INVALID;
  double scale;
  if (strcmp(end, "ms") == 0)
    scale = 1;
  else if (strcmp(end, "s") == 0)
    scale = 1000;
  else if (strcmp(end, "m") == 0)
    scale = 60000;
  else if (strcmp(end, "h") == 0)
    scale = 3600000;
  else
    return WFE_E_INVALID;
  if (value * scale > (double)LONG_MAX / 2)
    return WFE_E_INVALID;
  *out = (long)(value * scale + 0.5);
  return 0;
}

int wfe_parse_bytes(const char *text, uint64_t *out)
{
  static const struct {
    const char *suffix;
    uint64_t scale;
  } units[] = {{"", 1},           {"k", 1000},        {"M", 1000000},
               {"G", 1000000000}, {"Ki", 1ull << 10}, {"Mi", 1ull << 20},
               {"Gi", 1ull << 30}};
  if (!text || !(*text >= '0' && *text <= '9'))
    return WFE_E_INVALID;
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno)
    return WFE_E_INVALID;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (!strcmp(end, units[i].suffix)) {
      if (value > UINT64_MAX / units[i].scale)
        return WFE_E_INVALID;
      *out = value * units[i].scale;
      return 0;
    }
  return WFE_E_INVALID;
}

int wfe_parse_isolation(const char *text, enum wfe_isolation *out)
{
  if (text && !strcmp(text, "process"))
    *out = WFE_ISOLATION_PROCESS;
  else if (text && !strcmp(text, "none"))
    *out = WFE_ISOLATION_NONE;
  else
    return WFE_E_INVALID;
  return 0;
}

int wfe_parse_bool(const char *text, int *out)
{
  if (text && !strcmp(text, "true"))
    *out = 1;
  else if (text && !strcmp(text, "false"))
    *out = 0;
  else
    return WFE_E_INVALID;
  return 0;
}

const char *wfe_config_metrics_bind_address(const struct wfe_config *config)
{
  if (config->metrics_bind_address)
    return config->metrics_bind_address;
  return config->metrics_secure ? ":8443" : ":9090";
}

int wfe_config_init(struct wfe_config *config)
{
  memset(config, 0, sizeof(*config));
  config->metrics_secure = 1;
  config->metrics_auth_allow_ttl_ms = 60000;
  config->metrics_auth_deny_ttl_ms = 30000;
  config->metrics_auth_cache_size = 1024;
  config->metrics_auth_timeout_ms = 3000;
  config->workers = 4;
  config->engine_isolation = WFE_ISOLATION_PROCESS;
  config->max_consecutive_faults = 3;
  config->lease_duration_ms = 15000;
  config->renew_deadline_ms = 10000;
  config->retry_period_ms = 2000;
  config->resync_period_ms = 10000;
  config->shutdown_grace_ms = 30000;
  config->status_progress_interval_ms = 10000;
  if (wfe_config_set_string(&config->default_engine, "tekton") ||
      wfe_config_set_string(&config->leader_election_namespace, "wfe-system") ||
      wfe_config_set_string(&config->leader_election_id, "wfe-controller") ||
      wfe_config_set_string(&config->health_probe_bind_address, ":8081") ||
      wfe_config_set_string(&config->log_format, "json") ||
      wfe_config_set_string(&config->log_level, "info")) {
    wfe_config_free(config);
    return WFE_E_NOMEM;
  }
  return 0;
}

/* --- reading the file --------------------------------------------------- */

struct reader {
  const char *path;
  struct wfe_error *err;
};

static int bad_key(struct reader *r, const char *key, const char *reason)
{
  return wfe_error_set(r->err, WFE_E_INVALID, 0, "InvalidConfig", key,
                       "%s: %s: %s", r->path, key, reason);
}

static int read_string(struct reader *r, json_object *value, const char *key,
                       char **member)
{
  if (!json_object_is_type(value, json_type_string))
    return bad_key(r, key, "must be a string");
  const char *s = json_object_get_string(value);
  return wfe_config_set_string(member, *s ? s : NULL);
}

static int read_int(struct reader *r, json_object *value, const char *key,
                    int min, int max, int *member)
{
  if (!json_object_is_type(value, json_type_int))
    return bad_key(r, key, "must be an integer");
  int64_t v = json_object_get_int64(value);
  if (v < min || v > max) {
    char reason[64];
    snprintf(reason, sizeof(reason), "must be between %d and %d", min, max);
    return bad_key(r, key, reason);
  }
  *member = (int)v;
  return 0;
}

static int read_bool(struct reader *r, json_object *value, const char *key,
                     int *member)
{
  if (!json_object_is_type(value, json_type_boolean))
    return bad_key(r, key, "must be true or false");
  *member = json_object_get_boolean(value);
  return 0;
}

static int read_duration(struct reader *r, json_object *value, const char *key,
                         long *member)
{
  if (!json_object_is_type(value, json_type_string) ||
      wfe_parse_duration_ms(json_object_get_string(value), member))
    return bad_key(r, key, "must be a duration such as \"500ms\", \"15s\"");
  return 0;
}

static int read_list(struct reader *r, json_object *value, const char *key,
                     int dns_labels, char ***list, size_t *count)
{
  if (!json_object_is_type(value, json_type_array))
    return bad_key(r, key, "must be a list of strings");
  size_t n = json_object_array_length(value);
  char **items = calloc(n ? n : 1, sizeof(*items));
  if (!items)
    return WFE_E_NOMEM;
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(value, i);
    const char *s = json_object_get_string(item);
    if (!json_object_is_type(item, json_type_string) ||
        (dns_labels && !wfe_is_dns_label(s))) {
      free_list(items, i);
      return bad_key(r, key,
                     dns_labels ? "every entry must be a DNS label"
                                : "every entry must be a string");
    }
    if (!(items[i] = strdup(s))) {
      free_list(items, i);
      return WFE_E_NOMEM;
    }
  }
  free_list(*list, *count);
  *list = items;
  *count = n;
  return 0;
}

static int read_engines(struct reader *r, struct wfe_config *config,
                        json_object *value)
{
  if (!json_object_is_type(value, json_type_object))
    return bad_key(r, "engines", "must be a map of engine name to settings");
  json_object_object_foreach(value, name, settings)
  {
    char key[128];
    snprintf(key, sizeof(key), "engines.%.100s", name);
    if (!wfe_is_dns_label(name))
      return bad_key(r, key, "engine names are DNS labels");
    if (!json_object_is_type(settings, json_type_object))
      return bad_key(r, key, "must be a map of settings");
    const char *text = wfe_json_text(settings, NULL);
    if (!text)
      return WFE_E_NOMEM;
    struct wfe_engine_config *grown =
        realloc(config->engines, (config->engine_count + 1) * sizeof(*grown));
    if (!grown)
      return WFE_E_NOMEM;
    config->engines = grown;
    struct wfe_engine_config *slot = &grown[config->engine_count];
    slot->name = strdup(name);
    slot->json = strdup(text);
    if (!slot->name || !slot->json) {
      free(slot->name);
      free(slot->json);
      return WFE_E_NOMEM;
    }
    config->engine_count++;
  }
  return 0;
}

static int read_bytes(struct reader *r, json_object *value, const char *key,
                      uint64_t min, uint64_t *member)
{
  char reason[128];
  snprintf(reason, sizeof(reason),
           "must be a size such as \"512Mi\", \"1Gi\" or a byte count, at "
           "least %llu bytes",
           (unsigned long long)min);
  uint64_t bytes = 0;
  if (!json_object_is_type(value, json_type_string) &&
      !json_object_is_type(value, json_type_int))
    return bad_key(r, key, reason);
  if (wfe_parse_bytes(json_object_get_string(value), &bytes) || bytes < min)
    return bad_key(r, key, reason);
  *member = bytes;
  return 0;
}

/* A duration that must be positive, in ms or (whole) seconds. */
static int read_positive_duration(struct reader *r, json_object *value,
                                  const char *key, long *ms)
{
  long parsed = 0;
  if (!json_object_is_type(value, json_type_string) ||
      wfe_parse_duration_ms(json_object_get_string(value), &parsed) ||
      parsed <= 0)
    return bad_key(r, key,
                   "must be a positive duration such as \"500ms\", \"5s\"");
  *ms = parsed;
  return 0;
}

/* The keys an engine's host limits take, under `prefix`. Returns 1 when
 * `key` is none of them. */
static int read_limit(struct reader *r, const char *prefix, const char *key,
                      json_object *value, struct wfe_engine_host_limits *l)
{
  char name[192];
  snprintf(name, sizeof(name), "%s.%.100s", prefix, key);
  if (!strcmp(key, "callTimeout"))
    return read_positive_duration(r, value, name, &l->call_timeout_ms);
  if (!strcmp(key, "loadTimeout"))
    return read_positive_duration(r, value, name, &l->load_timeout_ms);
  if (!strcmp(key, "memoryLimit"))
    return read_bytes(r, value, name, 32ull << 20, &l->memory_bytes);
  if (!strcmp(key, "maxOutputSize"))
    return read_bytes(r, value, name, 1024, &l->max_output);
  if (!strcmp(key, "cpuLimit")) {
    long ms = 0;
    int rc = read_positive_duration(r, value, name, &ms);
    if (!rc && ms < 1000)
      rc = bad_key(r, name, "must be at least 1s of CPU time");
    if (!rc)
      l->cpu_seconds = (uint64_t)(ms + 999) / 1000;
    return rc;
  }
  return 1;
}

static int read_engine_host_overrides(struct reader *r,
                                      struct wfe_config *config,
                                      json_object *value)
{
  if (!json_object_is_type(value, json_type_object))
    return bad_key(r, "engineHost.engines",
                   "must be a map of engine name to limits");
  json_object_object_foreach(value, name, limits)
  {
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "engineHost.engines.%.60s", name);
    if (!wfe_is_dns_label(name))
      return bad_key(r, prefix, "engine names are DNS labels");
    if (!json_object_is_type(limits, json_type_object))
      return bad_key(r, prefix, "must be a map of limits");
    struct wfe_engine_host_config *grown = realloc(
        config->engine_hosts, (config->engine_host_count + 1) * sizeof(*grown));
    if (!grown)
      return WFE_E_NOMEM;
    config->engine_hosts = grown;
    struct wfe_engine_host_config *slot = &grown[config->engine_host_count];
    memset(slot, 0, sizeof(*slot));
    if (!(slot->name = strdup(name)))
      return WFE_E_NOMEM;
    config->engine_host_count++;
    json_object_object_foreach(limits, key, item)
    {
      int rc = read_limit(r, prefix, key, item, &slot->limits);
      if (rc == 1) {
        char full[192];
        snprintf(full, sizeof(full), "%s.%.60s", prefix, key);
        rc = bad_key(r, full,
                     "unknown key (known: callTimeout, loadTimeout, "
                     "memoryLimit, cpuLimit, maxOutputSize)");
      }
      if (rc)
        return rc;
    }
  }
  return 0;
}

static int read_engine_host(struct reader *r, struct wfe_config *config,
                            json_object *value)
{
  if (!json_object_is_type(value, json_type_object))
    return bad_key(r, "engineHost", "must be a map");
  json_object_object_foreach(value, key, item)
  {
    int rc;
    if (!strcmp(key, "engines"))
      rc = read_engine_host_overrides(r, config, item);
    else if (!strcmp(key, "maxConsecutiveFaults"))
      rc = read_int(r, item, "engineHost.maxConsecutiveFaults", 1, 100,
                    &config->max_consecutive_faults);
    else if ((rc = read_limit(r, "engineHost", key, item,
                              &config->host_limits)) == 1) {
      char name[160];
      snprintf(name, sizeof(name), "engineHost.%.100s", key);
      rc = bad_key(r, name,
                   "unknown key (known: callTimeout, loadTimeout, "
                   "memoryLimit, cpuLimit, maxOutputSize, "
                   "maxConsecutiveFaults, engines)");
    }
    if (rc)
      return rc;
  }
  return 0;
}

static int read_leader_election(struct reader *r, struct wfe_config *config,
                                json_object *value)
{
  if (!json_object_is_type(value, json_type_object))
    return bad_key(r, "leaderElection", "must be a map");
  json_object_object_foreach(value, key, item)
  {
    int rc;
    if (!strcmp(key, "enabled"))
      rc = read_bool(r, item, "leaderElection.enabled", &config->leader_elect);
    else if (!strcmp(key, "namespace"))
      rc = read_string(r, item, "leaderElection.namespace",
                       &config->leader_election_namespace);
    else if (!strcmp(key, "id"))
      rc = read_string(r, item, "leaderElection.id",
                       &config->leader_election_id);
    else if (!strcmp(key, "leaseDuration"))
      rc = read_duration(r, item, "leaderElection.leaseDuration",
                         &config->lease_duration_ms);
    else if (!strcmp(key, "renewDeadline"))
      rc = read_duration(r, item, "leaderElection.renewDeadline",
                         &config->renew_deadline_ms);
    else if (!strcmp(key, "retryPeriod"))
      rc = read_duration(r, item, "leaderElection.retryPeriod",
                         &config->retry_period_ms);
    else {
      char name[160];
      snprintf(name, sizeof(name), "leaderElection.%.100s", key);
      rc = bad_key(r, name, "unknown key");
    }
    if (rc)
      return rc;
  }
  return 0;
}

static int read_log(struct reader *r, struct wfe_config *config,
                    json_object *value)
{
  if (!json_object_is_type(value, json_type_object))
    return bad_key(r, "log", "must be a map");
  json_object_object_foreach(value, key, item)
  {
    int rc;
    if (!strcmp(key, "format"))
      rc = read_string(r, item, "log.format", &config->log_format);
    else if (!strcmp(key, "level"))
      rc = read_string(r, item, "log.level", &config->log_level);
    else {
      char name[160];
      snprintf(name, sizeof(name), "log.%.100s", key);
      rc = bad_key(r, name, "unknown key");
    }
    if (rc)
      return rc;
  }
  return 0;
}

static int read_metrics_auth(struct reader *r, struct wfe_config *config,
                             json_object *value)
{
  if (!json_object_is_type(value, json_type_object))
    return bad_key(r, "metricsAuth", "must be a map");
  json_object_object_foreach(value, key, item)
  {
    int rc;
    if (!strcmp(key, "allowCacheTTL"))
      rc = read_duration(r, item, "metricsAuth.allowCacheTTL",
                         &config->metrics_auth_allow_ttl_ms);
    else if (!strcmp(key, "denyCacheTTL"))
      rc = read_duration(r, item, "metricsAuth.denyCacheTTL",
                         &config->metrics_auth_deny_ttl_ms);
    else if (!strcmp(key, "cacheSize"))
      rc = read_int(r, item, "metricsAuth.cacheSize", 1, 1000000,
                    &config->metrics_auth_cache_size);
    else if (!strcmp(key, "timeout"))
      rc = read_positive_duration(r, item, "metricsAuth.timeout",
                                  &config->metrics_auth_timeout_ms);
    else {
      char name[160];
      snprintf(name, sizeof(name), "metricsAuth.%.100s", key);
      rc = bad_key(r, name,
                   "unknown key (known: allowCacheTTL, denyCacheTTL, "
                   "cacheSize, timeout)");
    }
    if (rc)
      return rc;
  }
  return 0;
}

static int read_top_level(struct reader *r, struct wfe_config *c,
                          const char *key, json_object *v)
{
  if (!strcmp(key, "kubeconfig"))
    return read_string(r, v, key, &c->kubeconfig);
  if (!strcmp(key, "namespaces"))
    return read_list(r, v, key, 1, &c->namespaces, &c->namespace_count);
  if (!strcmp(key, "executionNamespace"))
    return read_string(r, v, key, &c->execution_namespace);
  if (!strcmp(key, "pluginsDir"))
    return read_string(r, v, key, &c->plugins_dir);
  if (!strcmp(key, "requiredEngines"))
    return read_list(r, v, key, 1, &c->required_engines,
                     &c->required_engine_count);
  if (!strcmp(key, "defaultEngine"))
    return read_string(r, v, key, &c->default_engine);
  if (!strcmp(key, "engines"))
    return read_engines(r, c, v);
  if (!strcmp(key, "workers"))
    return read_int(r, v, key, 1, 256, &c->workers);
  if (!strcmp(key, "leaderElection"))
    return read_leader_election(r, c, v);
  if (!strcmp(key, "metricsBindAddress"))
    return read_string(r, v, key, &c->metrics_bind_address);
  if (!strcmp(key, "metricsSecure"))
    return read_bool(r, v, key, &c->metrics_secure);
  if (!strcmp(key, "metricsCertFile"))
    return read_string(r, v, key, &c->metrics_cert_file);
  if (!strcmp(key, "metricsKeyFile"))
    return read_string(r, v, key, &c->metrics_key_file);
  if (!strcmp(key, "metricsAuth"))
    return read_metrics_auth(r, c, v);
  if (!strcmp(key, "healthProbeBindAddress"))
    return read_string(r, v, key, &c->health_probe_bind_address);
  if (!strcmp(key, "log"))
    return read_log(r, c, v);
  if (!strcmp(key, "resyncPeriod"))
    return read_duration(r, v, key, &c->resync_period_ms);
  if (!strcmp(key, "shutdownGracePeriod"))
    return read_duration(r, v, key, &c->shutdown_grace_ms);
  if (!strcmp(key, "statusProgressInterval")) {
    long ms = 0;
    int rc = read_duration(r, v, key, &ms);
    if (!rc && (ms < 1000 || ms > 3600000))
      rc = bad_key(r, key, "must be between 1s and 1h");
    if (!rc)
      c->status_progress_interval_ms = ms;
    return rc;
  }
  if (!strcmp(key, "engineIsolation")) {
    if (!json_object_is_type(v, json_type_string) ||
        wfe_parse_isolation(json_object_get_string(v), &c->engine_isolation))
      return bad_key(r, key, "must be \"process\" or \"none\"");
    return 0;
  }
  if (!strcmp(key, "engineHost"))
    return read_engine_host(r, c, v);
  return bad_key(r, key, "unknown key");
}

int wfe_config_load_file(struct wfe_config *config, const char *path,
                         struct wfe_error *err)
{
  json_object *doc = NULL;
  int rc = wfe_yaml_parse_file(path, &doc, err);
  if (rc)
    return rc;
  struct reader r = {path, err};
  if (!json_object_is_type(doc, json_type_object)) {
    json_object_put(doc);
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidConfig", NULL,
                         "%s: must be a map of settings", path);
  }
  json_object_object_foreach(doc, key, value)
  {
    if ((rc = read_top_level(&r, config, key, value)))
      break;
  }
  json_object_put(doc);
  if (rc == WFE_E_NOMEM)
    wfe_error_set(err, rc, 0, "OutOfMemory", NULL, "%s: out of memory", path);
  return rc;
}

int wfe_config_validate(const struct wfe_config *config, struct wfe_error *err)
{
  if (!wfe_is_dns_label(config->default_engine))
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidConfig",
                         "defaultEngine", "defaultEngine: must be a DNS label");
  if (config->execution_namespace &&
      !wfe_is_dns_label(config->execution_namespace))
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidConfig",
                         "executionNamespace",
                         "executionNamespace: must be a DNS label");
  int level;
  if (!config->log_level || wfe_log_parse_level(config->log_level, &level))
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidConfig", "log.level",
                         "log.level: must be error, warn, info or debug");
  if (!config->log_format || (strcmp(config->log_format, "json") &&
                              strcmp(config->log_format, "text")))
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidConfig", "log.format",
                         "log.format: must be \"json\" or \"text\"");
  if (!config->metrics_cert_file != !config->metrics_key_file)
    return wfe_error_set(
        err, WFE_E_INVALID, 0, "InvalidConfig",
        config->metrics_cert_file ? "metricsKeyFile" : "metricsCertFile",
        "%s: must be set together with %s",
        config->metrics_cert_file ? "metricsKeyFile" : "metricsCertFile",
        config->metrics_cert_file ? "metricsCertFile" : "metricsKeyFile");
  if (config->metrics_cert_file && !config->metrics_secure)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidConfig",
                         "metricsCertFile",
                         "metricsCertFile: the certificate is for HTTPS, but "
                         "metricsSecure is false");
  if (config->leader_elect &&
      !(config->lease_duration_ms > config->renew_deadline_ms &&
        config->renew_deadline_ms > config->retry_period_ms &&
        config->retry_period_ms > 0))
    return wfe_error_set(
        err, WFE_E_INVALID, 0, "InvalidConfig", "leaderElection",
        "leaderElection: leaseDuration must exceed renewDeadline, which "
        "must exceed retryPeriod (> 0)");
  return 0;
}

void wfe_config_engine_limits(const struct wfe_config *config, const char *name,
                              struct wfe_engine_host_limits *out)
{
  *out = config->host_limits;
  for (size_t i = 0; i < config->engine_host_count; i++) {
    const struct wfe_engine_host_limits *l = &config->engine_hosts[i].limits;
    if (strcmp(config->engine_hosts[i].name, name) != 0)
      continue;
    if (l->call_timeout_ms)
      out->call_timeout_ms = l->call_timeout_ms;
    if (l->load_timeout_ms)
      out->load_timeout_ms = l->load_timeout_ms;
    if (l->memory_bytes)
      out->memory_bytes = l->memory_bytes;
    if (l->cpu_seconds)
      out->cpu_seconds = l->cpu_seconds;
    if (l->max_output)
      out->max_output = l->max_output;
  }
}

const char *wfe_config_engine_json(const struct wfe_config *config,
                                   const char *name)
{
  for (size_t i = 0; i < config->engine_count; i++)
    if (strcmp(config->engines[i].name, name) == 0)
      return config->engines[i].json;
  return NULL;
}

void wfe_config_free(struct wfe_config *config)
{
  if (!config)
    return;
  free(config->kubeconfig);
  free_list(config->namespaces, config->namespace_count);
  free(config->execution_namespace);
  free(config->plugins_dir);
  free_list(config->required_engines, config->required_engine_count);
  free(config->default_engine);
  for (size_t i = 0; i < config->engine_count; i++) {
    free(config->engines[i].name);
    free(config->engines[i].json);
  }
  free(config->engines);
  free(config->leader_election_namespace);
  free(config->leader_election_id);
  free(config->metrics_bind_address);
  free(config->metrics_cert_file);
  free(config->metrics_key_file);
  free(config->health_probe_bind_address);
  free(config->log_format);
  free(config->log_level);
  for (size_t i = 0; i < config->engine_host_count; i++)
    free(config->engine_hosts[i].name);
  free(config->engine_hosts);
  memset(config, 0, sizeof(*config));
}
