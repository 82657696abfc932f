/*
 * The HTTP endpoints; see http_server.h. The listening socket is made here
 * (so "all interfaces" can mean IPv6 and IPv4 at once, with a fallback to
 * IPv4 on hosts without IPv6) and handed to libmicrohttpd, which runs one
 * internal polling thread and owns the socket from then on.
 */
#include "http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "metrics.h"
#include "serving_cert.h"
#include "status.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_CONTENT_TYPE "text/plain; charset=utf-8"

struct wfe_http_server {
  struct MHD_Daemon *daemon;
  unsigned endpoints;
  struct wfe_metrics *metrics;
  wfe_http_ready_fn ready;
  void *ready_ctx;
  struct wfe_serving_cert *tls;
  wfe_http_authorize_fn authorize;
  void *authorize_ctx;
  uint16_t port;
};

/* --- Addresses ----------------------------------------------------------- */

int wfe_http_parse_bind_address(const char *address, char **host,
                                uint16_t *port, struct wfe_error *err)
{
  *host = NULL;
  if (!address)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidBindAddress", NULL,
                         "no bind address");
  const char *colon = strrchr(address, ':');
  const char *host_start = address, *host_end = colon;
  if (address[0] == '[') {
    const char *close = strchr(address, ']');
    if (!close || close[1] != ':')
      colon = NULL;
    host_start = address + 1;
    host_end = close;
  } else if (colon && memchr(address, ':', (size_t)(colon - address))) {
    colon = NULL; /* a bare IPv6 address needs brackets */
  }
  if (!colon || !colon[1] || strlen(colon + 1) > 5)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidBindAddress", NULL,
                         "bind address \"%s\" is not host:port", address);
  long value = 0;
  for (const char *p = colon + 1; *p; p++) {
    if (*p < '0' || *p > '9')
      return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidBindAddress", NULL,
                           "bind address \"%s\" has an invalid port", address);
    value = value * 10 + (*p - '0');
  }
  if (value > 65535)
    return wfe_error_set(err, WFE_E_INVALID, 0, "InvalidBindAddress", NULL,
                         "bind address \"%s\" has an invalid port", address);
  *host = strndup(host_start, (size_t)(host_end - host_start));
  if (!*host)
    return wfe_error_set(err, WFE_E_NOMEM, 0, NULL, NULL, "out of memory");
  *port = (uint16_t)value;
  return 0;
}

static int open_socket(const struct addrinfo *ai)
{
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                  ai->ai_protocol);
  if (fd < 0)
    return -1;
  int on = 1, off = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  /* An IPv6 wildcard also takes IPv4, as Go's ":port" does. */
  if (ai->ai_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

/* Binds `address`; returns the listening socket, or -1 with `err` set. */
static int bind_address(const char *address, struct wfe_error *err)
{
  char *host;
  uint16_t port;
  int rc = wfe_http_parse_bind_address(address, &host, &port, err);
  if (rc)
    return -1;
  char service[8];
  snprintf(service, sizeof(service), "%u", (unsigned)port);
  struct addrinfo hints = {0}, *list = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int wildcard = host[0] == '\0';
  rc = getaddrinfo(wildcard ? NULL : host, service, &hints, &list);
  if (rc) {
    wfe_error_set(err, WFE_E_INVALID, 0, "InvalidBindAddress", NULL,
                  "cannot resolve \"%s\": %s", address, gai_strerror(rc));
    free(host);
    return -1;
  }
  int fd = -1, saved = 0;
  /* For the wildcard, try the dual-stack IPv6 socket first. */
  for (int pass = 0; pass < 2 && fd < 0; pass++) {
    for (const struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
      if (wildcard && (pass == 0) != (ai->ai_family == AF_INET6))
        continue;
      if (!wildcard && pass == 1)
        break;
      fd = open_socket(ai);
      if (fd < 0)
        saved = errno;
    }
  }
  freeaddrinfo(list);
  if (fd < 0)
    wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "BindFailed", NULL,
                  "cannot listen on \"%s\": %s", address,
                  strerror(saved ? saved : EADDRNOTAVAIL));
  free(host);
  return fd;
}

static uint16_t socket_port(int fd)
{
  struct sockaddr_storage addr;
  socklen_t len = sizeof(addr);
  if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
    return 0;
  if (addr.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
  return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

/* --- Requests ------------------------------------------------------------ */

/* Queues a response; `body` is copied unless `take` (then freed by MHD). */
static enum MHD_Result respond(struct MHD_Connection *connection,
                               unsigned status, const char *content_type,
                               char *body, size_t len, int take)
{
  struct MHD_Response *response = MHD_create_response_from_buffer(
      len, body, take ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
  if (!response) {
    if (take)
      free(body);
    return MHD_NO;
  }
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  enum MHD_Result result = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return result;
}

static enum MHD_Result respond_text(struct MHD_Connection *connection,
                                    unsigned status, const char *text)
{
  return respond(connection, status, TEXT_CONTENT_TYPE, (char *)text,
                 strlen(text), 0);
}

const char *wfe_http_bearer_token(const char *header)
{
  if (!header)
    return NULL;
  while (*header == ' ' || *header == '\t')
    header++;
  if (strncasecmp(header, "Bearer", 6) != 0 ||
      (header[6] != ' ' && header[6] != '\t'))
    return NULL;
  const char *token = header + 7;
  while (*token == ' ' || *token == '\t')
    token++;
  return *token ? token : NULL;
}

/* The authorizer's refusal, as controller-runtime words it. */
static enum MHD_Result refuse(struct MHD_Connection *connection,
                              unsigned status)
{
  const char *text = status == MHD_HTTP_UNAUTHORIZED ? "Unauthorized\n"
                     : status == MHD_HTTP_FORBIDDEN
                         ? "Forbidden\n"
                         : "the API server cannot check the request now\n";
  struct MHD_Response *response = MHD_create_response_from_buffer(
      strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
  if (!response)
    return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                          TEXT_CONTENT_TYPE);
  MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (status == MHD_HTTP_UNAUTHORIZED)
    MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                            "Bearer");
  enum MHD_Result result = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return result;
}

static enum MHD_Result serve_readyz(struct wfe_http_server *server,
                                    struct MHD_Connection *connection)
{
  if (!server->ready)
    return respond_text(connection, MHD_HTTP_OK, "ok");
  struct wfe_buf reason = WFE_BUF_INIT;
  if (server->ready(server->ready_ctx, &reason)) {
    wfe_buf_free(&reason);
    return respond_text(connection, MHD_HTTP_OK, "ok");
  }
  if (reason.len == 0 || wfe_buf_puts(&reason, "\n") != 0) {
    wfe_buf_free(&reason);
    return respond_text(connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                        "not ready\n");
  }
  size_t len = reason.len;
  return respond(connection, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT_CONTENT_TYPE,
                 wfe_buf_steal(&reason), len, 1);
}

static enum MHD_Result serve_metrics(struct wfe_http_server *server,
                                     struct MHD_Connection *connection)
{
  struct wfe_buf text = WFE_BUF_INIT;
  if (server->metrics && wfe_metrics_render(server->metrics, &text) != 0) {
    wfe_buf_free(&text);
    return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                        "out of memory\n");
  }
  if (text.len == 0)
    return respond(connection, MHD_HTTP_OK, METRICS_CONTENT_TYPE, "", 0, 0);
  size_t len = text.len;
  return respond(connection, MHD_HTTP_OK, METRICS_CONTENT_TYPE,
                 wfe_buf_steal(&text), len, 1);
}

static enum MHD_Result
handle_request(void *cls, struct MHD_Connection *connection, const char *url,
               const char *method, const char *version, const char *upload_data,
               size_t *upload_data_size, void **state)
{
  struct wfe_http_server *server = cls;
  unsigned endpoint = 0;
  if (strcmp(url, "/healthz") == 0)
    endpoint = WFE_HTTP_HEALTHZ;
  else if (strcmp(url, "/readyz") == 0)
    endpoint = WFE_HTTP_READYZ;
  else if (strcmp(url, "/metrics") == 0)
    endpoint = WFE_HTTP_METRICS;
  if (!(endpoint & server->endpoints))
    return respond_text(connection, MHD_HTTP_NOT_FOUND, "404 page not found\n");
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
      strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return respond_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
                        "method not allowed\n");
  switch (endpoint) {
  case WFE_HTTP_READYZ:
    return serve_readyz(server, connection);
  case WFE_HTTP_METRICS:
    if (server->authorize) {
      const char *token = wfe_http_bearer_token(MHD_lookup_connection_value(
          connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
      unsigned status = server->authorize(server->authorize_ctx, token);
      if (status != MHD_HTTP_OK)
        return refuse(connection, status);
    }
    return serve_metrics(server, connection);
  default:
    return respond_text(connection, MHD_HTTP_OK, "ok");
  }
}

/* --- TLS ------------------------------------------------------------------ */

/* Each connection carries its server, for the certificate callback below. */
static void on_connection(void *cls, struct MHD_Connection *connection,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
  (void)connection;
  if (code == MHD_CONNECTION_NOTIFY_STARTED)
    *socket_context = cls;
}

/* gnutls asks for the certificate of each handshake. libmicrohttpd sets the
 * session's pointer to the connection (checked by the unit tests), whose
 * socket context on_connection set to the server. */
static int select_certificate(gnutls_session_t session,
                              const gnutls_datum_t *req_ca_dn, int nreqs,
                              const gnutls_pk_algorithm_t *pk_algos,
                              int pk_algos_length, gnutls_pcert_st **pcert,
                              unsigned int *pcert_length, gnutls_privkey_t *key)
{
  (void)req_ca_dn;
  (void)nreqs;
  (void)pk_algos;
  (void)pk_algos_length;
  struct MHD_Connection *connection = gnutls_session_get_ptr(session);
  const union MHD_ConnectionInfo *info =
      connection ? MHD_get_connection_info(connection,
                                           MHD_CONNECTION_INFO_SOCKET_CONTEXT)
                 : NULL;
  struct wfe_http_server *server = info ? info->socket_context : NULL;
  if (!server || !server->tls)
    return -1;
  return wfe_serving_cert_select(server->tls, pcert, pcert_length, key);
}

/* --- Life cycle ---------------------------------------------------------- */

int wfe_http_server_start(const struct wfe_http_server_options *options,
                          struct wfe_http_server **out, struct wfe_error *err)
{
  *out = NULL;
  struct wfe_http_server *server = calloc(1, sizeof(*server));
  if (!server)
    return wfe_error_set(err, WFE_E_NOMEM, 0, NULL, NULL, "out of memory");
  server->endpoints = options->endpoints ? options->endpoints : WFE_HTTP_ALL;
  server->metrics = options->metrics;
  server->ready = options->ready;
  server->ready_ctx = options->ready_ctx;
  server->tls = options->tls;
  server->authorize = options->authorize;
  server->authorize_ctx = options->authorize_ctx;

  int fd = bind_address(options->bind_address, err);
  if (fd < 0) {
    free(server);
    return err && err->code ? err->code : WFE_E_UNAVAILABLE;
  }
  server->port = socket_port(fd);
  unsigned limit = options->connection_limit ? options->connection_limit : 64;
  unsigned timeout = options->timeout_seconds ? options->timeout_seconds : 10;
  /* MHD_USE_ITC lets stop wake the polling thread at once. No
   * MHD_USE_ERROR_LOG: the core's library code does not write to stderr. */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC;
  if (server->tls)
    server->daemon = MHD_start_daemon(
        flags | MHD_USE_TLS, 0, NULL, NULL, handle_request, server,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, server, MHD_OPTION_HTTPS_CERT_CALLBACK,
        select_certificate, MHD_OPTION_HTTPS_PRIORITIES,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_END);
  else
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle_request, server, MHD_OPTION_LISTEN_SOCKET,
        fd, MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT,
        timeout, MHD_OPTION_END);
  if (!server->daemon) {
    close(fd);
    free(server);
    return wfe_error_set(err, WFE_E_UNAVAILABLE, 1, "ServerStartFailed", NULL,
                         "cannot start the HTTP server on \"%s\"",
                         options->bind_address);
  }
  *out = server;
  return 0;
}

uint16_t wfe_http_server_port(const struct wfe_http_server *server)
{
  return server->port;
}

void wfe_http_server_stop(struct wfe_http_server *server)
{
  if (!server)
    return;
  MHD_stop_daemon(server->daemon); /* joins its thread, closes the socket */
  free(server);
}
