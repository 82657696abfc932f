/*
 * The metrics endpoint's serving certificate; see serving_cert.h. Each
 * certificate read (or generated) is one generation: the newest is served,
 * older ones are kept until the end, because a TLS session keeps pointers
 * to the certificate it was handshaken with. Certificates change rarely
 * (a renewal every few weeks), so the few kilobytes kept are no concern.
 */
#include "serving_cert.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "backoff.h"
#include "log.h"
#include "names.h"
#include "sha256.h"

#define LOGGER "metrics"
#define MAX_CHAIN 16
/* A generated certificate lives as long as the process, up to a year. */
#define GENERATED_DAYS 365

struct generation {
  gnutls_pcert_st pcert[MAX_CHAIN];
  unsigned count;
  gnutls_privkey_t key;
  char fingerprint[65];
  struct generation *older;
};

/* What tells a file's content changed without reading it. */
struct file_id {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
};

struct wfe_serving_cert {
  pthread_mutex_t lock;
  char *cert_file, *key_file; /* NULL: generated */
  long check_interval_ms;
  int64_t next_check_ms;
  struct file_id cert_id, key_id;
  struct generation *current; /* the newest; older ones chained */
  unsigned reloads;
};

static void generation_free(struct generation *g)
{
  while (g) {
    struct generation *older = g->older;
    for (unsigned i = 0; i < g->count; i++)
      gnutls_pcert_deinit(&g->pcert[i]);
    if (g->key)
      gnutls_privkey_deinit(g->key);
    free(g);
    g = older;
  }
}

static int file_id_of(const char *path, struct file_id *out)
{
  struct stat st;
  if (stat(path, &st) != 0) /* follows the ..data links of a Secret volume */
    return -1;
  memset(out, 0, sizeof(*out));
  out->dev = st.st_dev;
  out->ino = st.st_ino;
  out->size = st.st_size;
  out->mtime = st.st_mtim;
  return 0;
}

static int same_file_id(const struct file_id *a, const struct file_id *b)
{
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec &&
         a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* The key's public half must be the leaf's: a certificate renewed before
 * its key (or the reverse) is not served. */
static int key_matches(const struct generation *g)
{
  gnutls_pubkey_t pub = NULL;
  unsigned char a[64], b[64];
  size_t a_len = sizeof(a), b_len = sizeof(b);
  int ok =
      gnutls_pubkey_init(&pub) == 0 &&
      gnutls_pubkey_import_privkey(pub, g->key, 0, 0) == 0 &&
      gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &a_len) == 0 &&
      gnutls_pubkey_get_key_id(g->pcert[0].pubkey, GNUTLS_KEYID_USE_SHA256, b,
                               &b_len) == 0 &&
      a_len == b_len && memcmp(a, b, a_len) == 0;
  if (pub)
    gnutls_pubkey_deinit(pub);
  return ok;
}

static int load_files(const char *cert_file, const char *key_file,
                      struct generation **out, struct wfe_error *err)
{
  gnutls_datum_t cert_pem = {NULL, 0}, key_pem = {NULL, 0};
  struct generation *g = calloc(1, sizeof(*g));
  if (!g)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  int rc = 0, gr;
  if ((gr = gnutls_load_file(cert_file, &cert_pem)) < 0) {
    rc = wfe_error_set(err, WFE_E_INVALID, 1, "CertificateUnreadable",
                       "metricsCertFile", "cannot read %s: %s", cert_file,
                       gnutls_strerror(gr));
  } else if ((gr = gnutls_load_file(key_file, &key_pem)) < 0) {
    rc = wfe_error_set(err, WFE_E_INVALID, 1, "CertificateUnreadable",
                       "metricsKeyFile", "cannot read %s: %s", key_file,
                       gnutls_strerror(gr));
  } else {
    g->count = MAX_CHAIN;
    if ((gr = gnutls_pcert_list_import_x509_raw(g->pcert, &g->count, &cert_pem,
                                                GNUTLS_X509_FMT_PEM, 0)) < 0) {
      g->count = 0;
      rc = wfe_error_set(err, WFE_E_INVALID, 1, "CertificateInvalid",
                         "metricsCertFile",
                         "%s: not a PEM certificate chain: %s", cert_file,
                         gnutls_strerror(gr));
    } else if (g->count == 0) {
      rc = wfe_error_set(err, WFE_E_INVALID, 1, "CertificateInvalid",
                         "metricsCertFile", "%s: no certificate", cert_file);
    } else if ((gr = gnutls_privkey_init(&g->key)) < 0 ||
               (gr = gnutls_privkey_import_x509_raw(
                    g->key, &key_pem, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
      rc = wfe_error_set(err, WFE_E_INVALID, 1, "CertificateInvalid",
                         "metricsKeyFile", "%s: not a PEM private key: %s",
                         key_file, gnutls_strerror(gr));
    } else if (!key_matches(g)) {
      rc = wfe_error_set(
          err, WFE_E_INVALID, 1, "CertificateInvalid", "metricsKeyFile",
          "%s is not the key of the certificate in %s", key_file, cert_file);
    }
  }
  gnutls_free(cert_pem.data);
  if (key_pem.data) {
    gnutls_memset(key_pem.data, 0, key_pem.size);
    gnutls_free(key_pem.data);
  }
  if (rc) {
    generation_free(g);
    return rc;
  }
  *out = g;
  return 0;
}

/* A self-signed ECDSA P-256 certificate for localhost and the host's name,
 * valid from a minute ago for GENERATED_DAYS. */
static int generate(struct generation **out, struct wfe_error *err)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  struct generation *g = calloc(1, sizeof(*g));
  if (!g)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  unsigned char serial[16];
  time_t now = time(NULL);
  static const char cn[] = "wfe-controller";
  static const char localhost[] = "localhost";
  static const unsigned char loopback4[] = {127, 0, 0, 1};
  char host[256] = "";
  int gr;
  if ((gr = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) == 0) {
    serial[0] &= 0x7f; /* a positive serial number */
    /* The pod's name, when it is one a certificate can carry. */
    if (gethostname(host, sizeof(host) - 1) != 0 || !wfe_is_dns_subdomain(host))
      host[0] = '\0';
  }
  if (gr < 0 || (gr = gnutls_x509_privkey_init(&key)) < 0 ||
      (gr = gnutls_x509_privkey_generate(
           key, GNUTLS_PK_ECDSA,
           GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
      (gr = gnutls_x509_crt_init(&crt)) < 0 ||
      (gr = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
      (gr = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
      (gr = gnutls_x509_crt_set_activation_time(crt, now - 60)) < 0 ||
      (gr = gnutls_x509_crt_set_expiration_time(
           crt, now + (time_t)GENERATED_DAYS * 86400)) < 0 ||
      (gr = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                          cn, sizeof(cn) - 1)) < 0 ||
      (gr = gnutls_x509_crt_set_subject_alt_name(
           crt, GNUTLS_SAN_DNSNAME, localhost, sizeof(localhost) - 1,
           GNUTLS_FSAN_APPEND)) < 0 ||
      (host[0] && (gr = gnutls_x509_crt_set_subject_alt_name(
                       crt, GNUTLS_SAN_DNSNAME, host, (unsigned)strlen(host),
                       GNUTLS_FSAN_APPEND)) < 0) ||
      (gr = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS,
                                                 loopback4, sizeof(loopback4),
                                                 GNUTLS_FSAN_APPEND)) < 0 ||
      (gr = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
      (gr = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) <
          0 ||
      (gr = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER,
                                                0)) < 0 ||
      (gr = gnutls_x509_crt_set_key(crt, key)) < 0 ||
      (gr = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
      (gr = gnutls_pcert_import_x509(&g->pcert[0], crt, 0)) < 0) {
    if (crt)
      gnutls_x509_crt_deinit(crt);
    if (key)
      gnutls_x509_privkey_deinit(key);
    free(g);
    return wfe_error_set(err, WFE_E_INVALID, 0, "CertificateGenerationFailed",
                         NULL, "cannot generate a self-signed certificate: %s",
                         gnutls_strerror(gr));
  }
  g->count = 1;
  gnutls_x509_crt_deinit(crt);
  if ((gr = gnutls_privkey_init(&g->key)) < 0 ||
      (gr = gnutls_privkey_import_x509(
           g->key, key, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0) {
    gnutls_x509_privkey_deinit(key);
    generation_free(g);
    return wfe_error_set(err, WFE_E_INVALID, 0, "CertificateGenerationFailed",
                         NULL, "cannot use the generated key: %s",
                         gnutls_strerror(gr));
  }
  *out = g;
  return 0;
}

static void set_fingerprint(struct generation *g)
{
  wfe_sha256_hex(g->pcert[0].cert.data, g->pcert[0].cert.size, g->fingerprint);
}

int wfe_serving_cert_new(const struct wfe_serving_cert_options *options,
                         struct wfe_serving_cert **out, struct wfe_error *err)
{
  *out = NULL;
  if (!options->cert_file != !options->key_file)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidConfig",
                         options->cert_file ? "metricsKeyFile"
                                            : "metricsCertFile",
                         "metricsCertFile and metricsKeyFile go together");
  struct wfe_serving_cert *cert = calloc(1, sizeof(*cert));
  if (!cert)
    return wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
  pthread_mutex_init(&cert->lock, NULL);
  cert->check_interval_ms =
      options->check_interval_ms > 0 ? options->check_interval_ms : 1000;
  int rc;
  if (options->cert_file) {
    cert->cert_file = strdup(options->cert_file);
    cert->key_file = strdup(options->key_file);
    if (!cert->cert_file || !cert->key_file)
      rc = wfe_error_set(err, WFE_E_NOMEM, 0, "OutOfMemory", NULL, NULL);
    else {
      /* The identities first: a change while reading is seen next time. */
      file_id_of(cert->cert_file, &cert->cert_id);
      file_id_of(cert->key_file, &cert->key_id);
      rc = load_files(cert->cert_file, cert->key_file, &cert->current, err);
    }
  } else {
    rc = generate(&cert->current, err);
  }
  if (rc) {
    wfe_serving_cert_free(cert);
    return rc;
  }
  set_fingerprint(cert->current);
  cert->next_check_ms = wfe_monotonic_ms() + cert->check_interval_ms;
  *out = cert;
  return 0;
}

void wfe_serving_cert_free(struct wfe_serving_cert *cert)
{
  if (!cert)
    return;
  generation_free(cert->current);
  free(cert->cert_file);
  free(cert->key_file);
  pthread_mutex_destroy(&cert->lock);
  free(cert);
}

int wfe_serving_cert_generated(const struct wfe_serving_cert *cert)
{
  return cert->cert_file == NULL;
}

void wfe_serving_cert_fingerprint(struct wfe_serving_cert *cert,
                                  char out_hex[65])
{
  pthread_mutex_lock(&cert->lock);
  memcpy(out_hex, cert->current->fingerprint, 65);
  pthread_mutex_unlock(&cert->lock);
}

unsigned wfe_serving_cert_reloads(struct wfe_serving_cert *cert)
{
  pthread_mutex_lock(&cert->lock);
  unsigned reloads = cert->reloads;
  pthread_mutex_unlock(&cert->lock);
  return reloads;
}

/* Reads the files again when their identity changed. Under the lock. */
static void reload_if_changed(struct wfe_serving_cert *cert)
{
  struct file_id cert_id, key_id;
  memset(&cert_id, 0, sizeof(cert_id));
  memset(&key_id, 0, sizeof(key_id));
  file_id_of(cert->cert_file, &cert_id);
  file_id_of(cert->key_file, &key_id);
  if (same_file_id(&cert_id, &cert->cert_id) &&
      same_file_id(&key_id, &cert->key_id))
    return;
  /* Remembered whatever comes of it: a bad pair is reported once, and read
   * again when one of the files changes once more. */
  cert->cert_id = cert_id;
  cert->key_id = key_id;
  struct generation *g = NULL;
  struct wfe_error err = WFE_ERROR_INIT;
  if (load_files(cert->cert_file, cert->key_file, &g, &err)) {
    wfe_log_warn(LOGGER, NULL,
                 "the metrics certificate files changed but cannot be used, "
                 "still serving sha256 %s: %s",
                 cert->current->fingerprint, wfe_error_message(&err));
    wfe_error_clear(&err);
    return;
  }
  set_fingerprint(g);
  g->older = cert->current;
  cert->current = g;
  cert->reloads++;
  wfe_log_info(LOGGER, NULL,
               "reloaded the metrics certificate from %s: now serving sha256 "
               "%s",
               cert->cert_file, g->fingerprint);
}

int wfe_serving_cert_select(struct wfe_serving_cert *cert,
                            gnutls_pcert_st **pcert, unsigned *count,
                            gnutls_privkey_t *key)
{
  pthread_mutex_lock(&cert->lock);
  if (cert->cert_file) {
    int64_t now = wfe_monotonic_ms();
    if (now >= cert->next_check_ms) {
      cert->next_check_ms = now + cert->check_interval_ms;
      reload_if_changed(cert);
    }
  }
  *pcert = cert->current->pcert;
  *count = cert->current->count;
  *key = cert->current->key;
  pthread_mutex_unlock(&cert->lock);
  return 0;
}
