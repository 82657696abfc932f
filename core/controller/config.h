/*
 * The controller's configuration: a YAML file (`--config`), then flags on top.
 * Every key is checked; an error names the key and the reason, and stops
 * start-up. Engine blocks are kept as JSON text and handed to each engine.
 */
#ifndef WFE_CONTROLLER_CONFIG_H
#define WFE_CONTROLLER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "engine_host.h"
#include "error.h"
#include "plugin_loader.h"

struct wfe_engine_config {
  char *name; /* engine name */
  char *json; /* its configuration object as JSON text */
};

/* engineHost.engines.<name>: one engine's host limits over the defaults. */
struct wfe_engine_host_config {
  char *name;
  struct wfe_engine_host_limits limits; /* 0 members: the defaults' */
};

struct wfe_config {
  char *kubeconfig;  /* NULL: KUBECONFIG, in-cluster, ~/.kube/config */
  char **namespaces; /* watched namespaces; none means all */
  size_t namespace_count;
  char *execution_namespace; /* NULL: each WorkflowExecution's own */
  char *plugins_dir;         /* NULL: <exe>/../lib/wfe/plugins.d */
  char **required_engines;
  size_t required_engine_count;
  char *default_engine; /* "tekton" */
  struct wfe_engine_config *engines;
  size_t engine_count;
  int workers; /* 4 */
  int leader_elect;
  char *leader_election_namespace; /* "wfe-system" */
  char *leader_election_id;        /* "wfe-controller" */
  long lease_duration_ms;          /* 15000 */
  long renew_deadline_ms;          /* 10000 */
  long retry_period_ms;            /* 2000 */
  /* NULL: ":8443" when metrics_secure, else ":9090"; "0" disables. Read it
   * through wfe_config_metrics_bind_address. */
  char *metrics_bind_address;
  /* metricsSecure: HTTPS, each scrape's token checked by the API server
   * (TokenReview, SubjectAccessReview); 0 serves plain HTTP to anyone. */
  int metrics_secure;              /* 1 */
  char *metrics_cert_file;         /* NULL: a self-signed certificate */
  char *metrics_key_file;          /* set with metrics_cert_file */
  long metrics_auth_allow_ttl_ms;  /* metricsAuth.allowCacheTTL: 60000 */
  long metrics_auth_deny_ttl_ms;   /* metricsAuth.denyCacheTTL: 30000 */
  int metrics_auth_cache_size;     /* metricsAuth.cacheSize: 1024 */
  long metrics_auth_timeout_ms;    /* metricsAuth.timeout: 3000 */
  char *health_probe_bind_address; /* ":8081"; "0" disables */
  char *log_format;                /* "json" or "text" */
  char *log_level;                 /* "info" */
  long resync_period_ms;  /* safety-net requeue of running ones: 10000 */
  long shutdown_grace_ms; /* in-flight work on SIGTERM: 30000 */
  /* statusProgressInterval: the least time between two writes of a running
   * execution's status for a new message alone: 10000 (1 s to 1 h). */
  long status_progress_interval_ms;
  enum wfe_isolation engine_isolation;         /* engineIsolation: process */
  struct wfe_engine_host_limits host_limits;   /* engineHost.*: 0 = default */
  struct wfe_engine_host_config *engine_hosts; /* engineHost.engines */
  size_t engine_host_count;
  int max_consecutive_faults; /* engineHost.maxConsecutiveFaults: 3 */
};

/* Fills `config` with the defaults. Returns 0 or WFE_E_NOMEM. */
int wfe_config_init(struct wfe_config *config);

/* Reads a YAML file over the current values. Returns 0 or WFE_E_INVALID with
 * err->field the key ("leaderElection.leaseDuration") and the reason. */
int wfe_config_load_file(struct wfe_config *config, const char *path,
                         struct wfe_error *err);

/* The metrics address in effect: the configured one, or the default for
 * metricsSecure (":8443" secure, ":9090" plain). Borrowed. */
const char *wfe_config_metrics_bind_address(const struct wfe_config *config);

/* Parses "true" or "false" (flags); returns 0 or WFE_E_INVALID. */
int wfe_parse_bool(const char *text, int *out);

/* Cross-field checks after files and flags are applied. */
int wfe_config_validate(const struct wfe_config *config, struct wfe_error *err);

/* The JSON text for engine `name` or NULL. Borrowed. */
const char *wfe_config_engine_json(const struct wfe_config *config,
                                   const char *name);

/* Replaces a string member (NULL clears). Returns 0 or WFE_E_NOMEM. */
int wfe_config_set_string(char **member, const char *value);

/* Parses "1500ms", "15s", "2m", "1h" (Go's duration subset) into ms. */
int wfe_parse_duration_ms(const char *text, long *out);

/* Parses a byte quantity as Kubernetes writes them: "1048576", "512Ki",
 * "512Mi", "1Gi", "1M", "1G". */
int wfe_parse_bytes(const char *text, uint64_t *out);

/* Parses "process" or "none". */
int wfe_parse_isolation(const char *text, enum wfe_isolation *out);

/* Engine `name`'s host limits: its engineHost.engines block over the
 * engineHost defaults. */
void wfe_config_engine_limits(const struct wfe_config *config, const char *name,
                              struct wfe_engine_host_limits *out);

/* Splits "a,b,c" into a string list, replacing `*list`. */
int wfe_config_set_list(char ***list, size_t *count, const char *csv);

void wfe_config_free(struct wfe_config *config);

#endif
