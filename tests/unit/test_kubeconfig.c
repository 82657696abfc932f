/*
 * Kubeconfig and in-cluster configuration: the KUBECONFIG merge rules,
 * relative paths, base64 data, contexts, the auth methods (token, tokenFile
 * with periodic re-reads, client certificates, exec plugins), refusals, and
 * errors that name the file and the key. Every test works in its own
 * temporary directory.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "kubeconfig.h"
#include "status.h"

/* "-----BEGIN CERTIFICATE-----\nfake\n" in base64 */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmZha2UK"
#define CA_PEM "-----BEGIN CERTIFICATE-----\nfake\n"

struct fixture {
  char dir[64];
};

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
  return remove(path);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/wfe-kubeconfig-XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  unsetenv("KUBECONFIG");
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* Writes `content` to dir/name (making dir/sub directories) and returns the
 * path in a static-per-call buffer the caller copies or uses at once. */
static char *write_file(const struct fixture *f, const char *name,
                        const char *content, mode_t mode)
{
  static char path[4][256];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, 256, "%s/%s", f->dir, name);
  char *slash = strrchr(p, '/');
  *slash = '\0';
  mkdir(p, 0755);
  *slash = '/';
  FILE *out = fopen(p, "w");
  assert_non_null(out);
  fputs(content, out);
  fclose(out);
  chmod(p, mode);
  return p;
}

static const char *basic_kubeconfig =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: admin@one\n"
    "clusters:\n"
    "- name: one\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443/\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "- name: two\n"
    "  cluster:\n"
    "    server: https://two.example:443\n"
    "    tls-server-name: kubernetes.default\n"
    "users:\n"
    "- name: admin\n"
    "  user:\n"
    "    token: secret-admin-token\n"
    "- name: viewer\n"
    "  user:\n"
    "    token: viewer-token\n"
    "contexts:\n"
    "- name: admin@one\n"
    "  context: {cluster: one, user: admin, namespace: team-a}\n"
    "- name: viewer@two\n"
    "  context: {cluster: two, user: viewer}\n";

static void assert_contains(const char *text, const char *part)
{
  if (!text || !strstr(text, part))
    fail_msg("\"%s\" does not contain \"%s\"", text ? text : "(null)", part);
}

static void
test_kubeconfig_current_context_picks_cluster_user_namespace(void **state)
{
  struct fixture *f = *state;
  const char *path = write_file(f, "config", basic_kubeconfig, 0600);
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_from_files(&path, 1, NULL, &c, &err), 0);
  assert_string_equal(c->server, "https://127.0.0.1:6443");
  assert_int_equal(c->ca_data_len, strlen(CA_PEM));
  assert_memory_equal(c->ca_data, CA_PEM, strlen(CA_PEM));
  assert_null(c->ca_file);
  assert_string_equal(c->token, "secret-admin-token");
  assert_string_equal(c->namespace_name, "team-a");
  assert_contains(c->source, "admin@one");
  wfe_kube_config_free(c);
}

static void test_kubeconfig_explicit_context_overrides_current(void **state)
{
  struct fixture *f = *state;
  const char *path = write_file(f, "config", basic_kubeconfig, 0600);
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_from_files(&path, 1, "viewer@two", &c, &err),
                   0);
  assert_string_equal(c->server, "https://two.example:443");
  assert_string_equal(c->tls_server_name, "kubernetes.default");
  assert_string_equal(c->token, "viewer-token");
  assert_string_equal(c->namespace_name, "default");
  wfe_kube_config_free(c);
}

static void test_kubeconfig_list_first_file_to_set_a_key_wins(void **state)
{
  struct fixture *f = *state;
  char first[256], second[256];
  /* The first file sets current-context and cluster "c"; the second sets
   * them too, plus the context and user the first lacks. */
  snprintf(first, sizeof(first), "%s",
           write_file(f, "a/config",
                      "current-context: ctx\n"
                      "clusters:\n"
                      "- name: c\n"
                      "  cluster: {server: 'https://first:1'}\n",
                      0600));
  snprintf(second, sizeof(second), "%s",
           write_file(f, "b/config",
                      "current-context: other\n"
                      "clusters:\n"
                      "- name: c\n"
                      "  cluster: {server: 'https://second:2'}\n"
                      "contexts:\n"
                      "- name: ctx\n"
                      "  context: {cluster: c, user: u}\n"
                      "users:\n"
                      "- name: u\n"
                      "  user: {token: from-second}\n",
                      0600));
  const char *paths[] = {first, second};
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_from_files(paths, 2, NULL, &c, &err), 0);
  assert_string_equal(c->server, "https://first:1");
  assert_string_equal(c->token, "from-second");
  wfe_kube_config_free(c);
}

static void test_kubeconfig_list_skips_missing_files(void **state)
{
  struct fixture *f = *state;
  char missing[256];
  snprintf(missing, sizeof(missing), "%s/nope/config", f->dir);
  const char *present = write_file(f, "config", basic_kubeconfig, 0600);
  char list[600];
  snprintf(list, sizeof(list), "%s::%s", missing, present);
  setenv("KUBECONFIG", list, 1);
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_load(NULL, &c, &err), 0);
  assert_string_equal(c->server, "https://127.0.0.1:6443");
  wfe_kube_config_free(c);
  unsetenv("KUBECONFIG");
}

static void
test_kubeconfig_relative_paths_resolve_against_their_file(void **state)
{
  struct fixture *f = *state;
  char path[256];
  snprintf(path, sizeof(path), "%s",
           write_file(f, "sub/config",
                      "current-context: x\n"
                      "clusters:\n"
                      "- name: c\n"
                      "  cluster:\n"
                      "    server: https://h:1\n"
                      "    certificate-authority: pki/ca.crt\n"
                      "users:\n"
                      "- name: u\n"
                      "  user:\n"
                      "    tokenFile: token\n"
                      "    client-certificate: /abs/client.crt\n"
                      "    client-key: pki/client.key\n"
                      "contexts:\n"
                      "- name: x\n"
                      "  context: {cluster: c, user: u}\n",
                      0600));
  const char *p = path;
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_from_files(&p, 1, NULL, &c, &err), 0);
  char expect[300];
  snprintf(expect, sizeof(expect), "%s/sub/pki/ca.crt", f->dir);
  assert_string_equal(c->ca_file, expect);
  snprintf(expect, sizeof(expect), "%s/sub/token", f->dir);
  assert_string_equal(c->token_file, expect);
  assert_string_equal(c->client_cert_file, "/abs/client.crt");
  snprintf(expect, sizeof(expect), "%s/sub/pki/client.key", f->dir);
  assert_string_equal(c->client_key_file, expect);
  wfe_kube_config_free(c);
}

static void test_kubeconfig_client_certificate_data_is_decoded(void **state)
{
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  const char *text = "current-context: x\n"
                     "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                     "users:\n"
                     "- name: u\n"
                     "  user:\n"
                     "    client-certificate-data: Y2VydA==\n"
                     "    client-key-data: a2V5\n"
                     "contexts: [{name: x, context: {cluster: c, user: u}}]\n";
  assert_int_equal(
      wfe_kube_config_parse(text, strlen(text), "mem", NULL, NULL, &c, &err),
      0);
  assert_int_equal(c->client_cert_data_len, 4);
  assert_string_equal(c->client_cert_data, "cert");
  assert_string_equal(c->client_key_data, "key");
  assert_null(c->token);
  wfe_kube_config_free(c);
}

/* Loads `text` from a file named "config" and expects failure `code` with a
 * message containing every given part. */
static void expect_failure(struct fixture *f, const char *text, int code, ...)
{
  const char *path = write_file(f, "config", text, 0600);
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_from_files(&path, 1, NULL, &c, &err), code);
  assert_null(c);
  assert_contains(err.message, path);
  va_list ap;
  va_start(ap, code);
  for (const char *part; (part = va_arg(ap, const char *)) != NULL;)
    assert_contains(err.message, part);
  va_end(ap);
  wfe_error_clear(&err);
}

static void test_kubeconfig_refuses_insecure_skip_tls_verify(void **state)
{
  expect_failure(*state,
                 "current-context: x\n"
                 "clusters:\n"
                 "- name: c\n"
                 "  cluster:\n"
                 "    server: https://h:1\n"
                 "    insecure-skip-tls-verify: true\n"
                 "contexts: [{name: x, context: {cluster: c}}]\n",
                 WFE_E_INVALID, "clusters[c].cluster.insecure-skip-tls-verify",
                 "TLS is always verified", NULL);
}

static void test_kubeconfig_names_a_missing_server(void **state)
{
  expect_failure(*state,
                 "current-context: x\n"
                 "clusters: [{name: c, cluster: {certificate-authority: ca}}]\n"
                 "contexts: [{name: x, context: {cluster: c}}]\n",
                 WFE_E_INVALID, "clusters[c].cluster.server", "missing", NULL);
}

static void test_kubeconfig_refuses_plain_http(void **state)
{
  expect_failure(*state,
                 "current-context: x\n"
                 "clusters: [{name: c, cluster: {server: 'http://h:8080'}}]\n"
                 "contexts: [{name: x, context: {cluster: c}}]\n",
                 WFE_E_INVALID, "server", "https://", NULL);
}

static void test_kubeconfig_names_an_unknown_context(void **state)
{
  expect_failure(*state,
                 "current-context: gone\n"
                 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                 "contexts: [{name: x, context: {cluster: c}}]\n",
                 WFE_E_INVALID, "no context named \"gone\"", NULL);
}

static void test_kubeconfig_names_an_unknown_user(void **state)
{
  expect_failure(*state,
                 "current-context: x\n"
                 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                 "contexts: [{name: x, context: {cluster: c, user: who}}]\n",
                 WFE_E_INVALID, "no user named \"who\"", NULL);
}

static void test_kubeconfig_names_bad_base64(void **state)
{
  expect_failure(*state,
                 "current-context: x\n"
                 "clusters:\n"
                 "- name: c\n"
                 "  cluster:\n"
                 "    server: https://h\n"
                 "    certificate-authority-data: '***'\n"
                 "contexts: [{name: x, context: {cluster: c}}]\n",
                 WFE_E_INVALID, "certificate-authority-data",
                 "not valid base64", NULL);
}

static void test_kubeconfig_needs_a_key_with_a_client_certificate(void **state)
{
  expect_failure(*state,
                 "current-context: x\n"
                 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                 "users: [{name: u, user: {client-certificate: c.crt}}]\n"
                 "contexts: [{name: x, context: {cluster: c, user: u}}]\n",
                 WFE_E_INVALID, "users[u].user.client-key", NULL);
}

static void test_kubeconfig_refuses_auth_providers(void **state)
{
  expect_failure(*state,
                 "current-context: x\n"
                 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                 "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n"
                 "contexts: [{name: x, context: {cluster: c, user: u}}]\n",
                 WFE_E_UNSUPPORTED, "users[u].user.auth-provider", NULL);
}

static void test_kubeconfig_names_a_wrongly_typed_key(void **state)
{
  expect_failure(*state,
                 "current-context: x\n"
                 "clusters: [{name: c, cluster: {server: [1]}}]\n"
                 "contexts: [{name: x, context: {cluster: c}}]\n",
                 WFE_E_INVALID, "clusters[c].cluster.server",
                 "must be a string", NULL);
}

static void test_kubeconfig_reports_yaml_errors_with_the_file(void **state)
{
  expect_failure(*state, "clusters: [\n", WFE_E_INVALID, NULL);
}

static void test_kubeconfig_missing_explicit_file_is_named(void **state)
{
  struct fixture *f = *state;
  char path[256];
  snprintf(path, sizeof(path), "%s/absent", f->dir);
  struct wfe_kube_config_load_options o = {.explicit_path = path};
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_not_equal(wfe_kube_config_load(&o, &c, &err), 0);
  assert_contains(err.message, path);
  wfe_error_clear(&err);
}

/* --- Token files ---------------------------------------------------------- */

static void assert_token(struct wfe_kube_auth *auth, const char *expect)
{
  struct wfe_kube_credentials creds;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_auth_get(auth, &creds, &err), 0);
  assert_string_equal(creds.token, expect);
  wfe_kube_credentials_clear(&creds);
}

static void test_token_file_wins_over_token_and_is_reread(void **state)
{
  struct fixture *f = *state;
  write_file(f, "token", "token-one\n", 0600);
  char path[256];
  snprintf(path, sizeof(path), "%s",
           write_file(f, "config",
                      "current-context: x\n"
                      "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                      "users: [{name: u, user: {token: static, tokenFile: "
                      "token}}]\n"
                      "contexts: [{name: x, context: {cluster: c, user: u}}]\n",
                      0600));
  const char *p = path;
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_from_files(&p, 1, NULL, &c, &err), 0);
  struct wfe_kube_auth *hourly = NULL, *always = NULL;
  assert_int_equal(wfe_kube_auth_new(c, 3600, &hourly, &err), 0);
  assert_int_equal(wfe_kube_auth_new(c, 0, &always, &err), 0);
  assert_token(hourly, "token-one");
  assert_token(always, "token-one");

  write_file(f, "token", "token-two", 0600); /* rotated */
  assert_token(hourly, "token-one");         /* within its period */
  assert_token(always, "token-two");
  wfe_kube_auth_invalidate(hourly); /* what a 401 does */
  assert_token(hourly, "token-two");

  /* A failed read keeps the last good token. */
  char token_path[300];
  snprintf(token_path, sizeof(token_path), "%s/token", f->dir);
  unlink(token_path);
  assert_token(always, "token-two");
  wfe_kube_auth_free(hourly);
  wfe_kube_auth_free(always);
  wfe_kube_config_free(c);
}

static void test_unreadable_token_file_is_named(void **state)
{
  struct fixture *f = *state;
  char token_path[300];
  snprintf(token_path, sizeof(token_path), "%s/missing-token", f->dir);
  struct wfe_kube_config c = {.server = "https://h", .token_file = token_path};
  struct wfe_kube_auth *auth = NULL;
  struct wfe_kube_credentials creds;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_auth_new(&c, 60, &auth, &err), 0);
  assert_int_not_equal(wfe_kube_auth_get(auth, &creds, &err), 0);
  assert_contains(err.message, token_path);
  wfe_error_clear(&err);
  wfe_kube_auth_free(auth);
}

/* --- In-cluster ----------------------------------------------------------- */

static void test_in_cluster_reads_the_service_account_dir(void **state)
{
  struct fixture *f = *state;
  write_file(f, "sa/token", "pod-token-1\n", 0600);
  write_file(f, "sa/ca.crt", CA_PEM, 0644);
  write_file(f, "sa/namespace", "wfe-system", 0644);
  char sa[256];
  snprintf(sa, sizeof(sa), "%s/sa", f->dir);
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  struct wfe_kube_config_load_options o = {.service_account_dir = sa};
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_load(&o, &c, &err), 0);
  assert_string_equal(c->server, "https://10.96.0.1:443");
  assert_string_equal(c->namespace_name, "wfe-system");
  assert_string_equal(c->source, "in-cluster");
  char expect[300];
  snprintf(expect, sizeof(expect), "%s/ca.crt", sa);
  assert_string_equal(c->ca_file, expect);

  /* The kubelet rotates the projected token: the next read sees it. */
  struct wfe_kube_auth *auth = NULL;
  assert_int_equal(wfe_kube_auth_new(c, 0, &auth, &err), 0);
  assert_token(auth, "pod-token-1");
  write_file(f, "sa/token", "pod-token-2\n", 0600);
  assert_token(auth, "pod-token-2");
  wfe_kube_auth_free(auth);
  wfe_kube_config_free(c);
}

static void test_in_cluster_brackets_ipv6_hosts(void **state)
{
  struct fixture *f = *state;
  write_file(f, "sa/token", "t", 0600);
  write_file(f, "sa/ca.crt", CA_PEM, 0644);
  char sa[256];
  snprintf(sa, sizeof(sa), "%s/sa", f->dir);
  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_in_cluster(sa, &c, &err), 0);
  assert_string_equal(c->server, "https://[fd00::1]:6443");
  assert_string_equal(c->namespace_name, "default");
  wfe_kube_config_free(c);
}

static void test_in_cluster_names_a_missing_token(void **state)
{
  struct fixture *f = *state;
  write_file(f, "sa/ca.crt", CA_PEM, 0644);
  char sa[256];
  snprintf(sa, sizeof(sa), "%s/sa", f->dir);
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_not_equal(wfe_kube_config_in_cluster(sa, &c, &err), 0);
  assert_contains(err.message, "sa/token");
  wfe_error_clear(&err);
}

static void
test_load_order_explicit_then_kubeconfig_then_in_cluster(void **state)
{
  struct fixture *f = *state;
  char one[256], two[256];
  snprintf(
      one, sizeof(one), "%s",
      write_file(f, "one",
                 "current-context: x\n"
                 "clusters: [{name: c, cluster: {server: 'https://one'}}]\n"
                 "contexts: [{name: x, context: {cluster: c}}]\n",
                 0600));
  snprintf(
      two, sizeof(two), "%s",
      write_file(f, "two",
                 "current-context: x\n"
                 "clusters: [{name: c, cluster: {server: 'https://two'}}]\n"
                 "contexts: [{name: x, context: {cluster: c}}]\n",
                 0600));
  write_file(f, "sa/token", "t", 0600);
  write_file(f, "sa/ca.crt", CA_PEM, 0644);
  char sa[256];
  snprintf(sa, sizeof(sa), "%s/sa", f->dir);
  setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  setenv("KUBECONFIG", two, 1);
  struct wfe_kube_config_load_options o = {.explicit_path = one,
                                           .service_account_dir = sa};
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_load(&o, &c, &err), 0);
  assert_string_equal(c->server, "https://one");
  wfe_kube_config_free(c);
  o.explicit_path = NULL;
  assert_int_equal(wfe_kube_config_load(&o, &c, &err), 0);
  assert_string_equal(c->server, "https://two");
  wfe_kube_config_free(c);
  unsetenv("KUBECONFIG");
  assert_int_equal(wfe_kube_config_load(&o, &c, &err), 0);
  assert_string_equal(c->server, "https://10.0.0.1:443");
  wfe_kube_config_free(c);
  unsetenv("KUBERNETES_SERVICE_HOST");
  char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
  setenv("HOME", f->dir, 1); /* no .kube/config there */
  assert_int_equal(wfe_kube_config_load(&o, &c, &err), WFE_E_NOT_FOUND);
  wfe_error_clear(&err);
  write_file(f, ".kube/config",
             "current-context: x\n"
             "clusters: [{name: c, cluster: {server: 'https://home'}}]\n"
             "contexts: [{name: x, context: {cluster: c}}]\n",
             0600);
  assert_int_equal(wfe_kube_config_load(&o, &c, &err), 0);
  assert_string_equal(c->server, "https://home");
  wfe_kube_config_free(c);
  if (home)
    setenv("HOME", home, 1);
  free(home);
}

/* --- Exec plugins --------------------------------------------------------- */

/* The plugin counts its runs in a file and prints a token made of its
 * argument and an environment variable from the kubeconfig. */
static const char *plugin_script =
    "#!/bin/sh\n"
    "echo run >> \"$(dirname \"$0\")/runs\"\n"
    "[ -n \"$KUBERNETES_EXEC_INFO\" ] || exit 7\n"
    "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",'\n"
    "printf '\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s-%s\",'"
    " \"$1\" \"$PLUGIN_SUFFIX\"\n"
    "printf '\"expirationTimestamp\":\"%s\"}}\\n' \"$PLUGIN_EXPIRY\"\n";

static int count_runs(const struct fixture *f)
{
  char path[300], line[16];
  snprintf(path, sizeof(path), "%s/bin/runs", f->dir);
  FILE *in = fopen(path, "r");
  int n = 0;
  while (in && fgets(line, sizeof(line), in))
    n++;
  if (in)
    fclose(in);
  return n;
}

static struct wfe_kube_config *exec_config(struct fixture *f,
                                           const char *expiry)
{
  write_file(f, "bin/plugin", plugin_script, 0755);
  char text[1024];
  snprintf(text, sizeof(text),
           "current-context: x\n"
           "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
           "users:\n"
           "- name: u\n"
           "  user:\n"
           "    exec:\n"
           "      apiVersion: client.authentication.k8s.io/v1\n"
           "      command: ./bin/plugin\n"
           "      args: [tok]\n"
           "      env: [{name: PLUGIN_SUFFIX, value: en}, "
           "{name: PLUGIN_EXPIRY, value: '%s'}]\n"
           "contexts: [{name: x, context: {cluster: c, user: u}}]\n",
           expiry);
  const char *path = write_file(f, "config", text, 0600);
  struct wfe_kube_config *c = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_config_from_files(&path, 1, NULL, &c, &err), 0);
  assert_non_null(c->exec);
  return c;
}

static void test_exec_plugin_token_is_cached_until_expiry(void **state)
{
  struct fixture *f = *state;
  struct wfe_kube_config *c = exec_config(f, "2999-01-01T00:00:00Z");
  char expect[300];
  snprintf(expect, sizeof(expect), "%s/bin/plugin", f->dir);
  assert_string_equal(c->exec->command, expect);
  struct wfe_kube_auth *auth = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_auth_new(c, 60, &auth, &err), 0);
  assert_token(auth, "tok-en");
  assert_token(auth, "tok-en");
  assert_int_equal(count_runs(f), 1);
  wfe_kube_auth_invalidate(auth); /* a 401 runs it again */
  assert_token(auth, "tok-en");
  assert_int_equal(count_runs(f), 2);
  wfe_kube_auth_free(auth);
  wfe_kube_config_free(c);
}

static void test_exec_plugin_runs_again_after_expiry(void **state)
{
  struct fixture *f = *state;
  struct wfe_kube_config *c = exec_config(f, "2000-01-01T00:00:00.5+01:00");
  struct wfe_kube_auth *auth = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_auth_new(c, 60, &auth, &err), 0);
  assert_token(auth, "tok-en");
  assert_token(auth, "tok-en");
  assert_int_equal(count_runs(f), 2);
  wfe_kube_auth_free(auth);
  wfe_kube_config_free(c);
}

static void test_exec_plugin_failure_is_named(void **state)
{
  struct fixture *f = *state;
  struct wfe_kube_config *c = exec_config(f, "not-a-time");
  struct wfe_kube_auth *auth = NULL;
  struct wfe_kube_credentials creds;
  struct wfe_error err = WFE_ERROR_INIT;
  assert_int_equal(wfe_kube_auth_new(c, 60, &auth, &err), 0);
  assert_int_equal(wfe_kube_auth_get(auth, &creds, &err), WFE_E_INVALID);
  assert_contains(err.message, "bin/plugin");
  assert_contains(err.message, "expirationTimestamp");
  assert_null(strstr(err.message, "tok-en")); /* never the credential */
  wfe_error_clear(&err);

  write_file(f, "bin/plugin", "#!/bin/sh\nexit 3\n", 0755);
  assert_int_equal(wfe_kube_auth_get(auth, &creds, &err), WFE_E_INVALID);
  assert_contains(err.message, "exited with status 3");
  wfe_error_clear(&err);
  wfe_kube_auth_free(auth);
  wfe_kube_config_free(c);
}

static void test_exec_plugin_needs_a_known_api_version(void **state)
{
  expect_failure(*state,
                 "current-context: x\n"
                 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                 "users: [{name: u, user: {exec: {apiVersion: "
                 "client.authentication.k8s.io/v1alpha1, command: x}}}]\n"
                 "contexts: [{name: x, context: {cluster: c, user: u}}]\n",
                 WFE_E_UNSUPPORTED, "users[u].user.exec.apiVersion", NULL);
}

/* --- Copy and base64 ------------------------------------------------------ */

static void test_config_copy_is_deep(void **state)
{
  struct fixture *f = *state;
  struct wfe_kube_config *c = exec_config(f, "2999-01-01T00:00:00Z"), *d;
  assert_int_equal(wfe_kube_config_copy(c, &d), 0);
  assert_ptr_not_equal(c->exec, d->exec);
  assert_string_equal(d->exec->args[0], "tok");
  assert_string_equal(d->exec->env[1].name, "PLUGIN_EXPIRY");
  assert_string_equal(d->server, c->server);
  wfe_kube_config_free(c);
  wfe_kube_config_free(d);
}

static void test_base64_decodes_padding_and_whitespace(void **state)
{
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(wfe_base64_decode("aGVs\nbG8=", 9, &out, &len), 0);
  assert_int_equal(len, 5);
  assert_string_equal(out, "hello");
  free(out);
  assert_int_equal(wfe_base64_decode("aGVsbG8", 7, &out, &len), 0);
  assert_string_equal(out, "hello");
  free(out);
  assert_int_equal(wfe_base64_decode("", 0, &out, &len), 0);
  assert_int_equal(len, 0);
  free(out);
  assert_int_equal(wfe_base64_decode("a", 1, &out, &len), WFE_E_INVALID);
  assert_int_equal(wfe_base64_decode("aGVs=bG8", 8, &out, &len), WFE_E_INVALID);
  assert_int_equal(wfe_base64_decode("aG!s", 4, &out, &len), WFE_E_INVALID);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_kubeconfig_current_context_picks_cluster_user_namespace),
      T(test_kubeconfig_explicit_context_overrides_current),
      T(test_kubeconfig_list_first_file_to_set_a_key_wins),
      T(test_kubeconfig_list_skips_missing_files),
      T(test_kubeconfig_relative_paths_resolve_against_their_file),
      T(test_kubeconfig_client_certificate_data_is_decoded),
      T(test_kubeconfig_refuses_insecure_skip_tls_verify),
      T(test_kubeconfig_names_a_missing_server),
      T(test_kubeconfig_refuses_plain_http),
      T(test_kubeconfig_names_an_unknown_context),
      T(test_kubeconfig_names_an_unknown_user),
      T(test_kubeconfig_names_bad_base64),
      T(test_kubeconfig_needs_a_key_with_a_client_certificate),
      T(test_kubeconfig_refuses_auth_providers),
      T(test_kubeconfig_names_a_wrongly_typed_key),
      T(test_kubeconfig_reports_yaml_errors_with_the_file),
      T(test_kubeconfig_missing_explicit_file_is_named),
      T(test_token_file_wins_over_token_and_is_reread),
      T(test_unreadable_token_file_is_named),
      T(test_in_cluster_reads_the_service_account_dir),
      T(test_in_cluster_brackets_ipv6_hosts),
      T(test_in_cluster_names_a_missing_token),
      T(test_load_order_explicit_then_kubeconfig_then_in_cluster),
      T(test_exec_plugin_token_is_cached_until_expiry),
      T(test_exec_plugin_runs_again_after_expiry),
      T(test_exec_plugin_failure_is_named),
      T(test_exec_plugin_needs_a_known_api_version),
      T(test_config_copy_is_deep),
      T(test_base64_decodes_padding_and_whitespace),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
