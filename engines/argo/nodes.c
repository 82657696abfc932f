/*
 * What a failed Workflow's nodes say: the Pod node that failed first, as
 * the failure of the interpret document. The workflow-controller keeps the
 * nodes in status.nodes; for a large Workflow it may instead store them as
 * status.compressedNodes (base64 of the gzip of the nodes' JSON) or, with
 * node status offloading, in its database (status.offloadNodeStatusVersion
 * set, no nodes), where the engine cannot reach them. The nodes are taken as
 * the API returns them: anything of an unexpected shape, a compressed status
 * that does not decode, inflates past ARGO_NODES_MAX or is not JSON, gives
 * no detail, never an error.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "argo.h"

/* The most bytes compressed node status may inflate to. */
#define ARGO_NODES_MAX (16u * 1024u * 1024u)

/* The step of every failure: Argo runs a template's container as "main". */
#define ARGO_MAIN_CONTAINER "main"

enum decode_result { DECODE_OK, DECODE_BAD, DECODE_NOMEM };

/* ---- base64 -----------------------------------------------------------------
 */

static int base64_value(char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Decodes standard base64 (padded, line breaks ignored, as Go's
 * StdEncoding writes and reads it) into a malloc'd *out of *out_len
 * bytes. */
static enum decode_result base64_decode(const char *text, size_t len,
                                        unsigned char **out, size_t *out_len)
{
  unsigned char *bytes = malloc(len / 4 * 3 + 3);
  if (!bytes)
    return DECODE_NOMEM;
  size_t n = 0, quad = 0, padding = 0;
  uint32_t bits = 0;
  int done = 0, bad = 0;
  for (size_t i = 0; i < len && !bad; i++) {
    char c = text[i];
    if (c == '\r' || c == '\n')
      continue;
    int value = c == '=' ? 0 : base64_value(c);
    /* nothing after the padded end; '=' only as the 3rd and 4th of four,
     * and then only '=' */
    bad = done || value < 0 || (c == '=' && quad < 2) || (padding && c != '=');
    padding += c == '=';
    bits = bits << 6 | (uint32_t)(value < 0 ? 0 : value);
    if (bad || ++quad < 4)
      continue;
    bytes[n++] = (unsigned char)(bits >> 16);
    if (padding < 2)
      bytes[n++] = (unsigned char)(bits >> 8);
    if (padding < 1)
      bytes[n++] = (unsigned char)bits;
    quad = 0;
    bits = 0;
    done = padding > 0;
  }
  if (bad || quad != 0 || n == 0) {
    free(bytes);
    return DECODE_BAD;
  }
  *out = bytes;
  *out_len = n;
  return DECODE_OK;
}

/* ---- gzip -------------------------------------------------------------------
 */

/* Inflates one gzip stream, and nothing after it, into a malloc'd,
 * NUL-terminated *out of at most ARGO_NODES_MAX bytes. */
static enum decode_result gunzip(const unsigned char *data, size_t len,
                                 char **out, size_t *out_len)
{
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (len > UINT32_MAX)
    return DECODE_BAD;
  if (inflateInit2(&z, 15 + 16) != Z_OK) /* 16: gzip framing */
    return DECODE_NOMEM;
  size_t size = len * 4 < 4096 ? 4096 : len * 4;
  size = size > ARGO_NODES_MAX ? ARGO_NODES_MAX : size;
  char *text = malloc(size + 1);
  enum decode_result result = text ? DECODE_BAD : DECODE_NOMEM;
  z.next_in = (unsigned char *)(uintptr_t)data;
  z.avail_in = (uInt)len;
  int zrc = Z_OK;
  while (text && zrc == Z_OK) {
    if (z.total_out == size) {
      if (size == ARGO_NODES_MAX)
        break; /* more than the bound */
      size = size * 2 > ARGO_NODES_MAX ? ARGO_NODES_MAX : size * 2;
      char *grown = realloc(text, size + 1);
      if (!grown) {
        result = DECODE_NOMEM;
        break;
      }
      text = grown;
    }
    z.next_out = (unsigned char *)text + z.total_out;
    z.avail_out = (uInt)(size - z.total_out);
    zrc = inflate(&z, Z_NO_FLUSH);
    if (zrc == Z_MEM_ERROR)
      result = DECODE_NOMEM;
  }
  if (zrc == Z_STREAM_END && z.avail_in == 0) {
    result = DECODE_OK;
    text[z.total_out] = '\0';
    *out = text;
    *out_len = z.total_out;
  } else {
    free(text);
  }
  inflateEnd(&z);
  return result;
}

/* The nodes of status.compressedNodes, parsed into *out (owned). */
static enum decode_result decompress_nodes(const struct ek_ctx *ctx,
                                           json_object *encoded,
                                           json_object **out)
{
  unsigned char *compressed = NULL;
  char *text = NULL;
  size_t compressed_len = 0, text_len = 0;
  *out = NULL;
  enum decode_result result =
      base64_decode(json_object_get_string(encoded),
                    (size_t)json_object_get_string_len(encoded), &compressed,
                    &compressed_len);
  if (result == DECODE_OK)
    result = gunzip(compressed, compressed_len, &text, &text_len);
  if (result == DECODE_OK) {
    /* Not JSON, or not an object: no detail. */
    struct ek_ctx quiet = {ctx->host, NULL};
    if (ek_parse(&quiet, text, text_len, "status.compressedNodes",
                 "InvalidNodes", out) != WFE_OK)
      result = DECODE_BAD;
  }
  free(compressed);
  free(text);
  return result;
}

/* ---- the failed node --------------------------------------------------------
 */

static json_object *member(json_object *object, const char *key)
{
  json_object *value = NULL;
  if (json_object_is_type(object, json_type_object))
    json_object_object_get_ex(object, key, &value);
  return value;
}

static int is_failed_pod(json_object *node)
{
  const char *type = ek_get_string(node, "type");
  const char *phase = ek_get_string(node, "phase");
  return type && phase && strcmp(type, "Pod") == 0 &&
         (strcmp(phase, "Failed") == 0 || strcmp(phase, "Error") == 0);
}

/* A node's name for ordering: its name, else its id (the map's key). */
static const char *node_name(json_object *node, const char *id)
{
  const char *name = ek_get_string(node, "name");
  return name ? name : id;
}

/* Non-zero when node `a` (id `a_id`) comes before `b`: the earlier
 * finishedAt (RFC 3339 in UTC, as the controller writes it, compares as
 * text; a node without one comes last), then the name. */
static int comes_before(json_object *a, const char *a_id, json_object *b,
                        const char *b_id)
{
  const char *a_time = ek_get_string(a, "finishedAt");
  const char *b_time = ek_get_string(b, "finishedAt");
  if (a_time && b_time) {
    int order = strcmp(a_time, b_time);
    if (order != 0)
      return order < 0;
  } else if (a_time || b_time) {
    return a_time != NULL;
  }
  return strcmp(node_name(a, a_id), node_name(b, b_id)) < 0;
}

static json_object *find_failed_pod(json_object *nodes)
{
  json_object *found = NULL;
  const char *found_id = NULL;
  json_object_object_foreach(nodes, id, node)
  {
    if (is_failed_pod(node) &&
        (!found || comes_before(node, id, found, found_id))) {
      found = node;
      found_id = id;
    }
  }
  return found;
}

/* The N of "(exit code N)" in a node's message ("Error (exit code 3)"). */
static int parse_exit_code(const char *message, int64_t *out)
{
  static const char marker[] = "(exit code ";
  const char *p = message ? strstr(message, marker) : NULL;
  if (!p)
    return -1;
  p += sizeof(marker) - 1;
  int negative = *p == '-';
  p += negative;
  int64_t code = 0;
  const char *digits = p;
  for (; *p >= '0' && *p <= '9'; p++) {
    code = code * 10 + (*p - '0');
    if (code > INT32_MAX)
      return -1;
  }
  if (p == digits || *p != ')')
    return -1;
  *out = negative ? -code : code;
  return 0;
}

static json_object *new_failure(json_object *node)
{
  const char *task = ek_get_string(node, "displayName");
  if (!task)
    task = ek_get_string(node, "templateName");
  const char *message = ek_get_string(node, "message");
  int64_t exit_code;
  int has_exit_code = parse_exit_code(message, &exit_code) == 0;
  json_object *failure = json_object_new_object();
  if (failure &&
      (ek_add_optional(failure, "task", task) ||
       ek_add_string(failure, "step", ARGO_MAIN_CONTAINER) ||
       (has_exit_code && ek_add_int(failure, "exitCode", exit_code)) ||
       ek_add_optional(failure, "reason", ek_get_string(node, "phase")) ||
       ek_add_optional(failure, "message", message))) {
    json_object_put(failure);
    return NULL;
  }
  return failure;
}

/* Fills out->failure from `nodes` (any JSON, or NULL). 0, or -1 when memory
 * ran out. */
static int report_nodes(json_object *nodes, struct argo_node_report *out)
{
  json_object *node = json_object_is_type(nodes, json_type_object)
                          ? find_failed_pod(nodes)
                          : NULL;
  if (!node)
    return 0;
  out->failure = new_failure(node);
  return out->failure ? 0 : -1;
}

int argo_read_nodes(const struct ek_ctx *ctx, json_object *status,
                    struct argo_node_report *out)
{
  memset(out, 0, sizeof(*out));
  json_object *nodes = member(status, "nodes");
  json_object *compressed = member(status, "compressedNodes");
  const char *offloaded = ek_get_string(status, "offloadNodeStatusVersion");
  int failed = 0;
  if (nodes) {
    failed = report_nodes(nodes, out);
  } else if (json_object_is_type(compressed, json_type_string)) {
    json_object *inflated;
    enum decode_result result = decompress_nodes(ctx, compressed, &inflated);
    if (result == DECODE_NOMEM)
      return ek_nomem(ctx);
    if (result == DECODE_BAD)
      out->note = "status.compressedNodes could not be read; no failure "
                  "detail";
    failed = report_nodes(inflated, out);
    json_object_put(inflated);
  } else if (offloaded && *offloaded) {
    out->note = "node status offloaded; no failure detail";
  }
  if (failed) {
    argo_node_report_free(out);
    return ek_nomem(ctx);
  }
  return WFE_OK;
}

void argo_node_report_free(struct argo_node_report *report)
{
  json_object_put(report->failure);
  memset(report, 0, sizeof(*report));
}
