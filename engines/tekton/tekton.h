/*
 * The Tekton engine's private declarations. The engine turns a
 * WorkflowExecution into a tekton.dev/v1 PipelineRun that runs a Pipeline
 * from an OCI bundle, and reads a PipelineRun's status (and its TaskRuns',
 * for failure detail) back into the ABI's interpret document. It is built
 * against the public ABI header and json-c only, as a third party would.
 *
 * Files, by role: tekton.c (the plugin descriptor, instance life cycle,
 * cancel, describe), json.c (parsing, typed member access, output, errors),
 * names.c (DNS names, OCI references, the run name), validate.c, render.c,
 * interpret.c, messages.c (what an operator reads of a run's condition).
 */
#ifndef WFE_TEKTON_H
#define WFE_TEKTON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <wfe/engine.h>

#define TK_ENGINE_NAME "tekton"
#define TK_RUN_API_VERSION "tekton.dev/v1"
#define TK_RUN_KIND "PipelineRun"
#define TK_DEFAULT_PIPELINE_NAME "workflow"

/* Kubernetes name limits. */
#define TK_DNS_LABEL_MAX 63
#define TK_DNS_SUBDOMAIN_MAX 253

/* An engine instance: the effective configuration. Immutable after create,
 * so every operation may run concurrently. Empty strings mean "not set". */
struct tk_engine {
  const wfe_host *host;
  char pipeline_name[TK_DNS_LABEL_MAX + 1];
  char bundle_secret[TK_DNS_SUBDOMAIN_MAX + 1];
  char bundle_service_account[TK_DNS_SUBDOMAIN_MAX + 1];
};

/* What every helper needs to report an error: the host table and the
 * caller's error record (both borrowed for one ABI call). */
struct tk_ctx {
  const wfe_host *host;
  wfe_error *err;
};

/* ---- json.c ------------------------------------------------------------ */

/* Fills the error record (message formatted printf-style; truncated at 1 KiB,
 * which no message of this engine reaches) and returns `code`. */
int tk_fail(const struct tk_ctx *ctx, int code, const char *reason,
            const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Parses `len` bytes of JSON text (strict, UTF-8 checked, nothing but
 * whitespace after the value) into *out, which the caller puts. `what` names
 * the document in errors; a parse error is WFE_E_INVALID with `reason`. */
int tk_parse(const struct tk_ctx *ctx, const char *text, size_t len,
             const char *what, const char *reason, json_object **out);

/* Looks up `key` in `parent` (an object; `parent_path` is its field path,
 * "" for the root). A JSON null counts as absent. Sets *out (borrowed) to the
 * member, or NULL when absent and not `required`. A missing required member
 * is WFE_E_INVALID "MissingField", one of another type "InvalidField", both
 * naming the full path. */
int tk_member(const struct tk_ctx *ctx, json_object *parent,
              const char *parent_path, const char *key, json_type type,
              int required, json_object **out);

/* The same for a string member: *out is the string or NULL. */
int tk_member_string(const struct tk_ctx *ctx, json_object *parent,
                     const char *parent_path, const char *key, int required,
                     const char **out);

/* Adds a member, taking `value`; a NULL `value` (a failed json-c
 * allocation) or a failed add is -1, and `value` is put. */
int tk_add(json_object *object, const char *key, json_object *value);
int tk_add_string(json_object *object, const char *key, const char *value);
int tk_append(json_object *array, json_object *value);

/* Appends the compact JSON text of `document` to `out`. */
int tk_emit(const struct tk_ctx *ctx, json_object *document, wfe_buf *out);

/* The WFE_E_NOMEM error. */
int tk_nomem(const struct tk_ctx *ctx);

/* ---- names.c ----------------------------------------------------------- */

/* Non-zero when `s` is a DNS-1123 label (at most 63 of [a-z0-9-], starting
 * and ending alphanumeric) or subdomain (labels joined by '.', at most
 * 253). */
int tk_is_dns_label(const char *s);
int tk_is_dns_subdomain(const char *s);

/* A container image reference split into its parts (pointers into the
 * original text, with lengths). */
struct tk_image_ref {
  const char *name; /* [registry/]repository */
  size_t name_len;
  const char *digest; /* "sha256:..." without the '@', or NULL */
  size_t digest_len;
};

/* Checks that `image` is a plausible OCI reference: [registry/]repository
 * [:tag][@algorithm:hex], no whitespace or control characters, repository
 * components lowercase. On failure fills *problem with a static sentence
 * saying which rule is broken and returns -1. */
int tk_parse_image(const char *image, struct tk_image_ref *out,
                   const char **problem);

/* Non-zero when `digest` is "sha256:" and 64 lowercase hex digits. */
int tk_is_sha256_digest(const char *digest, size_t len);

/* Writes the PipelineRun name for a WorkflowExecution into `out`: the name
 * made a DNS label and cut to 52 characters, '-', and 10 hex digits of the
 * SHA-256 of "<namespace>/<name>/<uid>". At most 63 characters, a DNS
 * label, the same for the same identity. */
void tk_run_name(const wfe_host *host, const char *namespace_name,
                 const char *name, const char *uid,
                 char out[TK_DNS_LABEL_MAX + 1]);

/* ---- messages.c --------------------------------------------------------- */

/* What the interpret document says of a run: "message" for the execution's
 * status, short; "detail", Tekton's whole text, when the message leaves
 * some of it out. Both malloc'd, NULL for none. */
struct tk_text {
  char *message;
  char *detail;
};

/* Fills *out from the Succeeded condition's status ("True", "False",
 * "Unknown"), reason (not NULL) and message (the user-error prefix gone;
 * may be NULL), and whether the run was cancelled. 0, or -1 when memory ran
 * out (*out then empty). */
int tk_text_for(const char *status, const char *reason, const char *message,
                int cancelled, struct tk_text *out);

/* Frees what tk_text_for made; accepts an emptied record. */
void tk_text_free(struct tk_text *text);

/* ---- validate.c / render.c / interpret.c (the ABI operations) ---------- */

/* A WorkflowExecution loaded for one operation: the parsed document and the
 * parts the engine uses, borrowed from it. `parameter_names` is sorted by
 * name (byte order). */
struct tk_execution {
  json_object *document; /* owned; tk_execution_free puts it */
  const char *name;
  const char *namespace_name; /* "" when absent */
  const char *uid;            /* "" when absent */
  const char *workflow_id;
  const char *version;
  const char *container_image;
  const char *container_digest; /* NULL when absent */
  struct tk_image_ref image;
  const char *service_account; /* NULL when absent */
  size_t parameter_count;
  const char **parameter_names; /* malloc'd array */
  json_object *parameters;      /* the spec.parameters object, or NULL */
};

/* The prologue validate and render share: checks the instance, fills `ctx`
 * for the call (its host, the caller's `err`), parses `json` and reads and
 * checks the execution into `out`. Returns WFE_OK or a code with `err`
 * filled; call tk_execution_free on `out` either way. */
int tk_execution_open(void *instance, const char *json, size_t len,
                      wfe_error *err, struct tk_ctx *ctx,
                      struct tk_execution *out);

/* Releases what tk_execution_open loaded; accepts a zeroed record. */
void tk_execution_free(struct tk_execution *execution);

int32_t tk_validate(void *instance, const char *execution_json,
                    size_t execution_len, wfe_error *err);
int32_t tk_render(void *instance, const char *execution_json,
                  size_t execution_len, wfe_buf *out, wfe_error *err);
int32_t tk_interpret(void *instance, const char *run_json, size_t run_len,
                     wfe_buf *out, wfe_error *err);

#endif
