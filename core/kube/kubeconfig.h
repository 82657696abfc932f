/*
 * Where the API server is and who we are to it: kubeconfig files (the
 * KUBECONFIG path list, contexts, clusters, users, exec credential plugins)
 * and the in-cluster service account, resolved into one wfe_kube_config the
 * API client (kube_client.h) copies. Credentials that change while the
 * process runs -- a rotated token file, an exec plugin's expiring token --
 * are produced on demand by a wfe_kube_auth, never cached for the process
 * lifetime. TLS is always verified: a kubeconfig that asks otherwise is
 * refused. Errors name the file, the key and the reason; they never carry a
 * token.
 */
#ifndef WFE_KUBE_KUBECONFIG_H
#define WFE_KUBE_KUBECONFIG_H

#include <stddef.h>

#include "error.h"

/* The default in-cluster service-account directory. */
#define WFE_KUBE_SERVICE_ACCOUNT_DIR                                           \
  "/var/run/secrets/kubernetes.io/serviceaccount"

struct wfe_kube_exec_env {
  char *name;
  char *value;
};

/* A user's exec credential plugin (client.authentication.k8s.io). */
struct wfe_kube_exec {
  char *api_version; /* "client.authentication.k8s.io/v1" or v1beta1 */
  char *command;     /* resolved against its kubeconfig when it holds a '/' */
  char **args;       /* arg_count strings */
  size_t arg_count;
  struct wfe_kube_exec_env *env; /* added to the process environment */
  size_t env_count;
};

/*
 * A resolved configuration. Every string is owned by the struct; NULL when
 * unset. `*_data` members hold decoded bytes (PEM), with their length.
 */
struct wfe_kube_config {
  char *source;          /* "path (context name)" or "in-cluster", for errors */
  char *server;          /* "https://host:port[/prefix]", no trailing '/' */
  char *tls_server_name; /* verify the server under this name instead */
  char *ca_file;
  char *ca_data;
  size_t ca_data_len;
  char *client_cert_file;
  char *client_cert_data;
  size_t client_cert_data_len;
  char *client_key_file;
  char *client_key_data; /* secret */
  size_t client_key_data_len;
  char *token;      /* secret; a static bearer token */
  char *token_file; /* re-read periodically; wins over `token` */
  struct wfe_kube_exec *exec;
  char *namespace_name; /* the context's namespace, else "default" */
};

struct wfe_kube_config_load_options {
  /* The --kubeconfig flag: when set, only this file is read. */
  const char *explicit_path;
  /* A context name; NULL uses the kubeconfig's current-context. */
  const char *context;
  /* The in-cluster service-account directory; NULL means
   * WFE_KUBE_SERVICE_ACCOUNT_DIR. For tests. */
  const char *service_account_dir;
};

/*
 * Finds the configuration as client-go does: the explicit path, else the
 * KUBECONFIG path list, else in-cluster when KUBERNETES_SERVICE_HOST is set,
 * else $HOME/.kube/config. `options` may be NULL. On success *out is a new
 * configuration (wfe_kube_config_free). Returns 0, WFE_E_INVALID (a bad or
 * refused file: err names file, key and reason), WFE_E_NOT_FOUND (no
 * configuration anywhere), WFE_E_UNSUPPORTED (an auth method we lack) or
 * WFE_E_NOMEM.
 */
int wfe_kube_config_load(const struct wfe_kube_config_load_options *options,
                         struct wfe_kube_config **out, struct wfe_error *err);

/*
 * Reads `count` kubeconfig files in order, merged as client-go merges the
 * KUBECONFIG list: the first file to set a named cluster, user or context, or
 * current-context, wins; relative paths resolve against the file that holds
 * them; missing files are skipped unless `count` is 1. Then resolves
 * `context` (NULL: current-context).
 */
int wfe_kube_config_from_files(const char *const *paths, size_t count,
                               const char *context,
                               struct wfe_kube_config **out,
                               struct wfe_error *err);

/* One kubeconfig held in memory; relative paths resolve against `base_dir`
 * (NULL: the working directory). `source` names it in errors. */
int wfe_kube_config_parse(const char *text, size_t len, const char *source,
                          const char *base_dir, const char *context,
                          struct wfe_kube_config **out, struct wfe_error *err);

/* In-cluster: KUBERNETES_SERVICE_HOST/_PORT and the service-account
 * directory (NULL: WFE_KUBE_SERVICE_ACCOUNT_DIR). */
int wfe_kube_config_in_cluster(const char *service_account_dir,
                               struct wfe_kube_config **out,
                               struct wfe_error *err);

/* A deep copy. Returns 0 or WFE_E_NOMEM. */
int wfe_kube_config_copy(const struct wfe_kube_config *config,
                         struct wfe_kube_config **out);

/* Frees the configuration, wiping its secrets. Accepts NULL. */
void wfe_kube_config_free(struct wfe_kube_config *config);

/* --- Credentials on demand ------------------------------------------------
 * A wfe_kube_auth turns a configuration into the credentials of one request.
 * Thread-safe. It borrows `config`, which must outlive it. */
struct wfe_kube_auth;

struct wfe_kube_credentials {
  char *token; /* secret; NULL for none */
  /* From an exec plugin; NULL when the configuration's own are used. */
  char *client_cert_data;
  size_t client_cert_data_len;
  char *client_key_data; /* secret */
  size_t client_key_data_len;
};

/* `token_reread_seconds`: how long a token file's contents are used before
 * the file is read again; 0 reads it for every request. */
int wfe_kube_auth_new(const struct wfe_kube_config *config,
                      long token_reread_seconds, struct wfe_kube_auth **out,
                      struct wfe_error *err);
void wfe_kube_auth_free(struct wfe_kube_auth *auth);

/*
 * The credentials for a request now: the token file's contents (re-read when
 * older than the period; the last good value survives a failed read), the
 * static token, or an exec plugin's output (cached until its expiry). The
 * caller clears `out` with wfe_kube_credentials_clear. Returns 0 or an error
 * naming the file or the plugin.
 */
int wfe_kube_auth_get(struct wfe_kube_auth *auth,
                      struct wfe_kube_credentials *out, struct wfe_error *err);

/* Forget cached credentials (after a 401), so the next get re-reads the
 * token file or runs the plugin again. */
void wfe_kube_auth_invalidate(struct wfe_kube_auth *auth);

/* Wipes and frees the members. Accepts NULL. */
void wfe_kube_credentials_clear(struct wfe_kube_credentials *creds);

/* Decodes standard base64 (padding optional, whitespace ignored) into a new
 * NUL-terminated buffer. Returns 0, WFE_E_INVALID or WFE_E_NOMEM. */
int wfe_base64_decode(const char *text, size_t len, char **out,
                      size_t *out_len);

#endif
