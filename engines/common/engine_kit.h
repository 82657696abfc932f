/*
 * The engine kit: what every in-tree engine needs and nothing engine-specific.
 * Strict JSON parsing of the text the host passes in, typed member access
 * that names the failing field path, checked construction and output into
 * host buffers, error reporting through the host table, Kubernetes and OCI
 * name rules, the deterministic run name, the reading of a
 * WorkflowExecution's common fields, and the frame of each ABI operation
 * (create with its configuration, validate, render, an interpret that
 * answers one document with another). A static library linked into each
 * engine module, built like the engines against the public ABI header and
 * json-c only; no symbol of it is exported from a module.
 */
#ifndef WFE_ENGINE_KIT_H
#define WFE_ENGINE_KIT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <wfe/engine.h>

/* Kubernetes name limits. */
#define EK_DNS_LABEL_MAX 63
#define EK_DNS_SUBDOMAIN_MAX 253

/* What every helper needs to report an error: the host table and the
 * caller's error record (both borrowed for one ABI call; `err` may be NULL,
 * then errors are only returned). */
struct ek_ctx {
  const wfe_host *host;
  wfe_error *err;
};

/* ---- json.c ------------------------------------------------------------ */

/* Fills the error record (message formatted printf-style, whole at any
 * length; only when memory runs out is it cut to 255 bytes) and returns
 * `code`. */
int ek_fail(const struct ek_ctx *ctx, int code, const char *reason,
            const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The WFE_E_NOMEM error. */
int ek_nomem(const struct ek_ctx *ctx);

/* A malloc'd printf-style string, or NULL when memory ran out. */
char *ek_strdup_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Parses `len` bytes of JSON text (strict, UTF-8 checked, nothing but
 * whitespace after the value, nesting up to 128) into *out, a JSON object
 * the caller puts. `what` names the document in errors; a parse error is
 * WFE_E_INVALID with `reason`. */
int ek_parse(const struct ek_ctx *ctx, const char *text, size_t len,
             const char *what, const char *reason, json_object **out);

/* Looks up `key` in `parent` (an object or NULL; `parent_path` is its field
 * path, "" for the root). A JSON null counts as absent. Sets *out (borrowed)
 * to the member, or NULL when absent and not `required`. A missing required
 * member is WFE_E_INVALID "MissingField", one of another type
 * "InvalidField", both naming the full path. */
int ek_member(const struct ek_ctx *ctx, json_object *parent,
              const char *parent_path, const char *key, json_type type,
              int required, json_object **out);

/* The same for a string member: *out is the string or NULL. */
int ek_member_string(const struct ek_ctx *ctx, json_object *parent,
                     const char *parent_path, const char *key, int required,
                     const char **out);

/* The same for an integer member: *out is its value, or `fallback` when it
 * is absent. */
int ek_member_int(const struct ek_ctx *ctx, json_object *parent,
                  const char *parent_path, const char *key, int64_t fallback,
                  int64_t *out);

/* Adds a member, taking `value`; a NULL `value` (a failed json-c
 * allocation) or a failed add is -1, and `value` is put. */
int ek_add(json_object *object, const char *key, json_object *value);
int ek_add_string(json_object *object, const char *key, const char *value);
/* Adds `value` when it is not NULL; 0 otherwise. */
int ek_add_optional(json_object *object, const char *key, const char *value);
int ek_add_int(json_object *object, const char *key, int64_t value);
int ek_add_bool(json_object *object, const char *key, int value);
int ek_append(json_object *array, json_object *value);

/* Appends the compact JSON text of `document` to `out`. */
int ek_emit(const struct ek_ctx *ctx, json_object *document, wfe_buf *out);

/* The same, taking `document` (put afterwards); NULL, a failed
 * construction, is WFE_E_NOMEM. */
int ek_emit_owned(const struct ek_ctx *ctx, json_object *document,
                  wfe_buf *out);

/* Appends the NUL-terminated `text` (a constant answer, such as a cancel
 * patch) to `out`. */
int ek_emit_text(const struct ek_ctx *ctx, const char *text, wfe_buf *out);

/* The string member `key` of `object`, or NULL when `object` is no object or
 * the member is absent or no string. For reading documents an engine takes
 * as they come (a related object whose shape it does not insist on). */
const char *ek_get_string(json_object *object, const char *key);

/* The entry of `object`'s status.conditions whose type is `type` (borrowed),
 * or NULL: conditions are found by type, never by position. */
json_object *ek_condition(json_object *object, const char *type);

/* Non-zero when that condition is there with status "True". */
int ek_condition_true(json_object *object, const char *type);

/* ---- instance.c ------------------------------------------------------- */

/* Every engine instance made by ek_create begins with the host table it was
 * created with (the rest is the engine's): `struct x { const wfe_host *host;
 * ... }`. */

/* Applies one member of the configuration object to a new instance; returns
 * WFE_OK, or WFE_E_INVALID naming the key through `ctx`. */
typedef int (*ek_config_apply_fn)(const struct ek_ctx *ctx, void *instance,
                                  const char *key, json_object *value);

/* The body of an engine's create: parses the configuration text (none or
 * empty: no members; `what` names it in errors, reason InvalidConfig), makes
 * a zeroed instance of `size` bytes whose first member is set to `host`,
 * calls `defaults` on it (may be NULL) and `apply` on each configuration
 * member in order. Sets *out, or on failure frees the instance, leaves *out
 * NULL and returns the code with `err` filled. */
int ek_create(const wfe_host *host, const char *config_json, size_t config_len,
              const char *what, size_t size, void (*defaults)(void *instance),
              ek_config_apply_fn apply, void **out, wfe_error *err);

/* The context of one operation on an instance from ek_create: its host and
 * the caller's `err`. WFE_E_INTERNAL when `instance` is NULL. */
int ek_ctx_open(const void *instance, wfe_error *err, struct ek_ctx *out);

/* Reads a parsed document into the answer document *out (owned); returns
 * WFE_OK or a code with the error filled through `ctx`. */
typedef int (*ek_answer_fn)(const struct ek_ctx *ctx, const void *instance,
                            json_object *document, json_object **out);

/* The body of an operation that answers one document with another (an
 * interpret): opens the context, parses `json` (`what` names it in errors,
 * refused with `reason`), calls `answer` and appends its document to
 * `out`. */
int ek_answer(const void *instance, const char *json, size_t len,
              const char *what, const char *reason, ek_answer_fn answer,
              wfe_buf *out, wfe_error *err);

/* ---- names.c ----------------------------------------------------------- */

/* Non-zero when `s` is a DNS-1123 label (at most 63 of [a-z0-9-], starting
 * and ending alphanumeric) or subdomain (labels joined by '.', at most
 * 253). */
int ek_is_dns_label(const char *s);
int ek_is_dns_subdomain(const char *s);

/* A container image reference split into its parts (pointers into the
 * original text, with lengths). */
struct ek_image_ref {
  const char *name; /* [registry/]repository */
  size_t name_len;
  const char *digest; /* "sha256:..." without the '@', or NULL */
  size_t digest_len;
};

/* Checks that `image` is a plausible OCI reference: [registry/]repository
 * [:tag][@algorithm:hex], no whitespace or control characters, repository
 * components lowercase. On failure fills *problem with a static sentence
 * saying which rule is broken and returns -1. */
int ek_parse_image(const char *image, struct ek_image_ref *out,
                   const char **problem);

/* Non-zero when `name` starts with a letter or '_' and goes on with
 * letters, digits, '_' and the characters of `extra` ("" for none): a C
 * identifier, or with "-." a Tekton parameter name. */
int ek_is_identifier(const char *name, const char *extra);

/* Non-zero when `digest` is "sha256:" and 64 lowercase hex digits. */
int ek_is_sha256_digest(const char *digest, size_t len);

/* Writes the run name for a WorkflowExecution into `out`: the name made a
 * DNS label and cut to 52 characters, '-', and 10 hex digits of the SHA-256
 * of "<namespace>/<name>/<uid>". At most 63 characters, a DNS label, the
 * same for the same identity. 0, or -1 when memory ran out. */
int ek_run_name(const wfe_host *host, const char *namespace_name,
                const char *name, const char *uid,
                char out[EK_DNS_LABEL_MAX + 1]);

/* ---- execution.c -------------------------------------------------------- */

/* A WorkflowExecution loaded for one operation: the parsed document and the
 * parts every engine uses, borrowed from it. `parameter_names` is sorted by
 * name (byte order). */
struct ek_execution {
  json_object *document; /* owned; ek_execution_free puts it */
  const char *name;
  const char *namespace_name; /* "" when absent */
  const char *uid;            /* "" when absent */
  const char *workflow_id;
  const char *version;
  const char *container_image;
  const char *container_digest; /* NULL when absent */
  struct ek_image_ref image;
  const char *service_account; /* NULL when absent */
  size_t parameter_count;
  const char **parameter_names; /* malloc'd array */
  json_object *parameters;      /* the spec.parameters object, or NULL */
};

/* What an engine asks of the parameters beyond their being an object: called
 * once the names are read and sorted, before spec.executionConfig is read.
 * Returns WFE_OK or a code with the error filled through `ctx`. */
typedef int (*ek_parameters_check_fn)(const struct ek_ctx *ctx,
                                      const struct ek_execution *execution);

/* The prologue of validate and render: opens the context of the operation
 * on `instance` (an instance from ek_create) into `ctx`, parses `json` and
 * reads the execution into `out`: metadata (name required, lengths
 * bounded), spec.workflowRef (workflowId, version, containerImage a
 * plausible OCI reference, containerDigest sha256 and not contradicting a
 * digest in the image), spec.parameters (an object; `check_parameters` on
 * it, may be NULL) and spec.executionConfig.serviceAccountName (a DNS-1123
 * subdomain). Errors name the field and the rule. Returns WFE_OK or a code
 * with `err` filled; call ek_execution_free on `out` either way. */
int ek_execution_open(const void *instance, const char *json, size_t len,
                      wfe_error *err, ek_parameters_check_fn check_parameters,
                      struct ek_ctx *ctx, struct ek_execution *out);

/* The whole of a validate operation: opens and releases. */
int32_t ek_validate(const void *instance, const char *json, size_t len,
                    ek_parameters_check_fn check_parameters, wfe_error *err);

/* Builds the run object of an execution; NULL when memory ran out. */
typedef json_object *(*ek_build_fn)(const void *instance,
                                    const struct ek_execution *execution);

/* The whole of a render operation: opens the execution, builds the run with
 * `build` and appends it to `out`. */
int32_t ek_render(const void *instance, const char *json, size_t len,
                  ek_parameters_check_fn check_parameters, ek_build_fn build,
                  wfe_buf *out, wfe_error *err);

/* Releases what ek_execution_open loaded; accepts a zeroed record. */
void ek_execution_free(struct ek_execution *execution);

/* What an engine accepts as one parameter: a name ek_is_identifier takes
 * with `name_extra`, a string value, and with `refuse_nul`, one without a
 * NUL character. The words say the rule in errors, after the field:
 * "<field>: <name_rule>", "<field> must be a string: <value_rule>". */
struct ek_parameter_rule {
  const char *name_extra;
  const char *name_rule;
  const char *value_rule;
  int refuse_nul;
};

/* Checks one parameter against `rule`: WFE_OK, or WFE_E_INVALID with
 * InvalidParameterName or InvalidParameterValue on spec.parameters.<name>. */
int ek_check_parameter(const struct ek_ctx *ctx,
                       const struct ek_parameter_rule *rule, const char *name,
                       json_object *value);

/* The field path of one parameter, "spec.parameters.<name>", malloc'd, or
 * NULL when memory ran out. */
char *ek_parameter_field(const char *name);

#endif
