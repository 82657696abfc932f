/*
 * The certificate the metrics endpoint serves over TLS: read from a PEM
 * certificate (chain) and key file -- what a cert-manager Certificate or a
 * mounted kubernetes.io/tls Secret gives -- and read again when the files
 * change, or, when no files are configured, a self-signed one generated in
 * memory at start-up. The HTTP server asks for it on every TLS handshake
 * (wfe_serving_cert_select), so a renewed certificate is served from the
 * next connection on, without a restart.
 */
#ifndef WFE_KUBE_SERVING_CERT_H
#define WFE_KUBE_SERVING_CERT_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "error.h"

struct wfe_serving_cert;

struct wfe_serving_cert_options {
  /* Both set, or both NULL for a generated self-signed certificate. */
  const char *cert_file; /* PEM, the leaf first, then its chain */
  const char *key_file;  /* PEM private key of the leaf */
  /* How often a handshake may look at the files' identity (device, inode,
   * size, mtime) for a change; 0 means 1000 ms. */
  long check_interval_ms;
};

/*
 * Loads or generates the certificate. Returns 0 with *out set, or
 * WFE_E_INVALID (unreadable files, not PEM, key and certificate do not
 * match; err names the file) or WFE_E_NOMEM.
 */
int wfe_serving_cert_new(const struct wfe_serving_cert_options *options,
                         struct wfe_serving_cert **out, struct wfe_error *err);

/* Frees every certificate it served. Only after the TLS server using it has
 * stopped. Accepts NULL. */
void wfe_serving_cert_free(struct wfe_serving_cert *cert);

/* Non-zero when the certificate was generated (no files configured). */
int wfe_serving_cert_generated(const struct wfe_serving_cert *cert);

/* Lowercase hex SHA-256 of the current leaf certificate (DER), as
 * `openssl x509 -fingerprint -sha256` prints it, without the colons. */
void wfe_serving_cert_fingerprint(struct wfe_serving_cert *cert,
                                  char out_hex[65]);

/*
 * The certificate for one handshake: first, at most once per check
 * interval, reads the files again when they changed (a failed read keeps
 * the certificate served so far, logged once per change). *pcert, *count
 * and *key stay owned by `cert` and valid until wfe_serving_cert_free, so a
 * session may hold them past a reload. Thread-safe. Returns 0.
 */
int wfe_serving_cert_select(struct wfe_serving_cert *cert,
                            gnutls_pcert_st **pcert, unsigned *count,
                            gnutls_privkey_t *key);

/* How many times the files were read again successfully since start. */
unsigned wfe_serving_cert_reloads(struct wfe_serving_cert *cert);

#endif
