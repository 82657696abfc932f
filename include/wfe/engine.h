/*
 * wfe/engine.h - the workflow engine plugin ABI of wfe, version 1.1.
 *
 * An engine plugin is a shared object that the wfe controller loads with
 * dlopen(RTLD_NOW | RTLD_LOCAL) from its plugin directory. It exports exactly
 * one function, wfe_plugin_entry(), which returns a constant descriptor of the
 * plugin and of the engines it provides. Everything else in the plugin should
 * be hidden (-fvisibility=hidden).
 *
 * Engines translate; the host does all I/O. An engine receives JSON text and
 * answers with JSON text written into host-owned buffers. No type of any
 * third-party library crosses this boundary, and an engine never talks to the
 * Kubernetes API itself: when it needs a related object it asks the host.
 *
 * Rules that hold for every declaration below:
 * - Strings are UTF-8 and NUL-terminated unless a length is given with them.
 *   JSON text passed in is NOT NUL-terminated: use the length.
 * - Structs begin with struct_size and only ever grow at the end. A reader
 *   touches a member only when struct_size says it is present
 *   (WFE_HAS_MEMBER). Pointers the host passes in are valid for the duration
 *   of the call only, unless stated otherwise.
 * - Status codes are int32_t: WFE_OK (0) on success, a negative WFE_E_* code
 *   on failure, with detail in a caller-owned wfe_error.
 * - Thread-safety is tagged on every function: [thread-safe] may be called
 *   concurrently from any thread; [main-thread] is called by the host from
 *   one thread, never concurrently with any other call into the same plugin.
 *
 * This header depends on <stddef.h> and <stdint.h> only and compiles as
 * strict ISO C99/C11 and as C++. See docs/plugin-abi.md for the policy and
 * the changelog.
 */
#ifndef WFE_ENGINE_H
#define WFE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Versioning
 *
 * The host accepts a plugin when plugin major == host major and plugin
 * minor <= host minor. A minor release only appends members to structs and
 * adds status codes or extension ids; a major release may change anything.
 */
#define WFE_ENGINE_ABI_MAJOR 1
#define WFE_ENGINE_ABI_MINOR 1

/* The name of the one exported entry function, for dlsym(). */
#define WFE_PLUGIN_ENTRY_SYMBOL "wfe_plugin_entry"

/* True when a struct whose first member is struct_size contains `member`. */
#define WFE_HAS_MEMBER(ptr, type, member)                                      \
  ((ptr)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* ---------------------------------------------------------------------------
 * Status codes
 */
#define WFE_OK 0
/* The input is invalid: a user error that retrying cannot fix. */
#define WFE_E_INVALID (-1)
/* The operation or the requested feature is not implemented. */
#define WFE_E_UNSUPPORTED (-2)
/* Out of memory. */
#define WFE_E_NOMEM (-3)
/* A transient failure (e.g. the API server did not answer); retry later. */
#define WFE_E_UNAVAILABLE (-4)
/* The requested object does not exist (wfe_host.get_object). */
#define WFE_E_NOT_FOUND (-5)
/* A bug or an impossible state inside the engine or the host. */
#define WFE_E_INTERNAL (-6)

/* Log levels for wfe_host.log. */
#define WFE_LOG_ERROR 0
#define WFE_LOG_WARN 1
#define WFE_LOG_INFO 2
#define WFE_LOG_DEBUG 3

/* ---------------------------------------------------------------------------
 * Host-owned opaque objects
 */

/*
 * An output buffer owned by the host. The engine appends text to it with
 * wfe_host.buf_append; the host reads and frees it after the call returns.
 * Valid only during the call that received it.
 */
typedef struct wfe_buf wfe_buf;

/*
 * An error record owned by the caller (the host), filled by the engine with
 * wfe_host.error_set when an operation fails. It carries a status code, a
 * retryable flag, a short machine-readable reason (CamelCase, e.g.
 * "InvalidDigest"), the field path the error is about (e.g.
 * "spec.workflowRef.containerDigest"; may be NULL) and a message for people.
 * The host copies every string, so nothing is truncated and the engine may
 * pass stack buffers. Valid only during the call that received it.
 */
typedef struct wfe_error wfe_error;

/* ---------------------------------------------------------------------------
 * Host services: a table the host passes to the plugin at init and to every
 * engine at create. The table and every function in it stay valid until the
 * plugin's fini returns. Every function is [thread-safe].
 */
typedef struct wfe_host {
  /* sizeof(wfe_host) as the host was compiled. */
  uint32_t struct_size;
  /* The host's ABI version. */
  uint16_t abi_major;
  uint16_t abi_minor;
  /* Host context, for the host's own use; engines pass the table, not this. */
  void *host_data;

  /*
   * Writes a log line attributed to the engine `engine_name` (may be NULL
   * for plugin-wide messages). `message` is plain text without a newline. The
   * host adds time, level and structure. Never log secrets.
   */
  void (*log)(const struct wfe_host *host, int32_t level,
              const char *engine_name, const char *message);

  /*
   * Appends `len` bytes of `data` to `buf`.
   * Returns WFE_OK or WFE_E_NOMEM; after a failure the engine should fail
   * its operation with WFE_E_NOMEM.
   */
  int32_t (*buf_append)(wfe_buf *buf, const char *data, size_t len);

  /*
   * Fills `err` (which may be NULL, then this does nothing). `code` is the
   * WFE_E_* status the operation returns; `retryable` is non-zero when the
   * same call may succeed later. `reason` must not be NULL; `field` and
   * `message` may be NULL. The strings are copied. A second call replaces
   * what the first one set.
   */
  void (*error_set)(wfe_error *err, int32_t code, int32_t retryable,
                    const char *reason, const char *field, const char *message);

  /*
   * Reads one object from the Kubernetes API, with the controller's
   * credentials, and appends its JSON text to `out`. Read-only: there is no
   * way to write through the host table. Each argument must be a single
   * path segment (api_version may hold one '/', as "tekton.dev/v1"); the host
   * rejects anything else with WFE_E_INVALID. `namespace_name` may be NULL
   * for cluster-scoped resources.
   *
   * Returns WFE_OK; WFE_E_NOT_FOUND when the object does not exist;
   * WFE_E_UNAVAILABLE (retryable) when the API could not be reached;
   * WFE_E_UNSUPPORTED when the host has no cluster (offline rendering). The
   * host fills `err` on failure. May block for up to the host's request
   * timeout; call it only from operations, never from create.
   */
  int32_t (*get_object)(const struct wfe_host *host, const char *api_version,
                        const char *resource, const char *namespace_name,
                        const char *name, wfe_buf *out, wfe_error *err);

  /*
   * Writes the lowercase hex SHA-256 of `len` bytes of `data` and a
   * terminating NUL into `out_hex` (65 bytes). For deterministic names.
   */
  void (*sha256_hex)(const void *data, size_t len, char out_hex[65]);

  /*
   * Host buffers an engine can make and read, for the answers of
   * get_object. buf_new returns an empty buffer (NULL when out of memory);
   * buf_data returns its bytes, NUL-terminated ("" when empty), with their
   * count in *len when len is not NULL, valid until the next append or free;
   * buf_free frees a buffer from buf_new and accepts NULL. A buffer the host
   * passed into an operation must not be freed by the engine.
   */
  wfe_buf *(*buf_new)(void);
  const char *(*buf_data)(const wfe_buf *buf, size_t *len);
  void (*buf_free)(wfe_buf *buf);

  /* ---- ABI 1.1. A 1.0 host has none of what follows: check with
   * WFE_HAS_MEMBER(host, wfe_host, list_objects) before use. ---- */

  /*
   * Lists objects of one resource from the Kubernetes API, with the
   * controller's credentials, and appends the API's list JSON to `out`
   * ({"apiVersion", "kind": "...List", "metadata", "items": [...]}). Read-only,
   * like get_object, with the same rules for `api_version`, `resource` and
   * `namespace_name` (NULL: every namespace, or a cluster-scoped resource).
   * `label_selector` and `field_selector` are Kubernetes selectors in their
   * text form ("batch.kubernetes.io/job-name=x", "involvedObject.name=p"),
   * NULL or "" for none, at most 1024 bytes each, printable ASCII. The host
   * returns at most WFE_LIST_MAX_ITEMS items (then metadata.continue is set
   * and the rest is not returned): select narrowly.
   *
   * Returns WFE_OK; WFE_E_INVALID for a bad argument or a selector the API
   * server refuses; WFE_E_UNAVAILABLE (retryable) when the API could not be
   * reached; WFE_E_UNSUPPORTED when the host has no cluster (offline). May
   * block like get_object; call it only from operations.
   */
  int32_t (*list_objects)(const struct wfe_host *host, const char *api_version,
                          const char *resource, const char *namespace_name,
                          const char *label_selector,
                          const char *field_selector, wfe_buf *out,
                          wfe_error *err);
} wfe_host;

/* The most items one wfe_host.list_objects returns (ABI 1.1). */
#define WFE_LIST_MAX_ITEMS 100

/* ---------------------------------------------------------------------------
 * The run object an engine produces, so the host can create it, watch it and
 * map it back to its WorkflowExecution without knowing anything about it.
 */
typedef struct wfe_run_type {
  uint32_t struct_size;
  /* "group/version" of the run object, e.g. "tekton.dev/v1". */
  const char *api_version;
  /* Its kind, e.g. "PipelineRun". */
  const char *kind;
  /* Its plural resource name, e.g. "pipelineruns". */
  const char *resource;
  /* Non-zero when the resource has a status subresource. */
  int32_t has_status_subresource;
} wfe_run_type;

/* ---------------------------------------------------------------------------
 * An engine. All strings and the struct itself are static data of the plugin
 * and live until the plugin is unloaded. The host never writes to it.
 *
 * JSON documents exchanged with every operation are specified in
 * docs/plugin-abi.md; in short:
 *   validate / render input: the WorkflowExecution object as the API returns
 *     it (apiVersion, kind, metadata, spec); render output: the run object's
 *     JSON with at least metadata.name and spec. The host owns
 *     metadata.namespace, the kubernaut.ai identity labels and annotations,
 *     and metadata.ownerReferences: it sets them after render, overwriting
 *     what the engine wrote there.
 *   interpret input: the run object as the API returns it; output:
 *     {"phase": "Pending"|"Running"|"Completed"|"Failed",
 *      "outcome": "Success"|"Failed"|"Timeout"  (terminal phases only),
 *      "reason": "...", "message": "...", "detail": "...",
 *      "startTime": "RFC 3339", "completionTime": "RFC 3339",
 *      "failure": {"task", "step", "exitCode", "reason", "message"}}
 *     with every member but "phase" optional. "reason" (a CamelCase word)
 *     and "message" (short, for the execution's status) describe the run
 *     now: the status follows them while the run runs. "detail" is the full
 *     text a short message leaves out; it goes to the Event only.
 *     "recheckAfterSeconds" (ABI 1.1 hosts; an integer, 1..3600) asks the
 *     host to interpret the run again after that long even if it does not
 *     change (a verdict that depends on time).
 *   cancel output: a JSON merge patch for the run object.
 *   describe output: {"name", "version", "description", "config": {...}}.
 */
typedef struct wfe_engine {
  uint32_t struct_size;
  /* The dispatch key matched against spec.workflowRef.engine: a DNS label
   * (lowercase alphanumerics and '-', at most 63 characters). */
  const char *name;
  /* The engine's own version, e.g. "1.2.0". */
  const char *version;
  /* One line for people. */
  const char *description;
  /* The run object this engine creates. Must not be NULL. */
  const wfe_run_type *run_type;

  /*
   * [main-thread] Creates an engine instance from its configuration: the
   * JSON object from the controller's configuration file for this engine
   * ("{}" when there is none). `host` stays valid until destroy.
   * On success sets *out (may be NULL for an engine with no state) and
   * returns WFE_OK; otherwise returns WFE_E_INVALID (bad configuration,
   * naming the key) or another code, with `err` filled.
   */
  int32_t (*create)(const wfe_host *host, const char *config_json,
                    size_t config_len, void **out, wfe_error *err);

  /* [main-thread] Destroys an instance from create. Accepts NULL. Called
   * only when no other call on the instance is in progress. */
  void (*destroy)(void *instance);

  /*
   * [thread-safe] Checks what this engine needs of a WorkflowExecution
   * beyond the contract the host already checked (the CRD's schema).
   * Returns WFE_OK, or WFE_E_INVALID with `err` naming the field and the
   * rule. Must not block.
   */
  int32_t (*validate)(void *instance, const char *execution_json,
                      size_t execution_len, wfe_error *err);

  /*
   * [thread-safe] Renders the run object for a valid WorkflowExecution into
   * `out`. Deterministic: the same input always gives the same output, and
   * the name is derived from the execution's identity (at most 63
   * characters, a DNS label). Returns WFE_OK, WFE_E_INVALID,
   * WFE_E_UNSUPPORTED (the engine cannot run this yet: permanent) or another
   * code, with `err` filled. Must not block.
   */
  int32_t (*render)(void *instance, const char *execution_json,
                    size_t execution_len, wfe_buf *out, wfe_error *err);

  /*
   * [thread-safe] Interprets a run object's status into the document
   * described above. May call host->get_object for related objects (and so
   * block); a WFE_E_UNAVAILABLE from there should be returned as is, so the
   * host retries. Returns WFE_OK or a code with `err` filled.
   */
  int32_t (*interpret)(void *instance, const char *run_json, size_t run_len,
                       wfe_buf *out, wfe_error *err);

  /*
   * [thread-safe] Writes the JSON merge patch that cancels the run.
   * Returns WFE_OK, or WFE_E_UNSUPPORTED when runs cannot be cancelled.
   */
  int32_t (*cancel)(void *instance, const char *run_json, size_t run_len,
                    wfe_buf *out, wfe_error *err);

  /*
   * [thread-safe] Optional (may be NULL). Describes the engine and its
   * effective configuration.
   */
  int32_t (*describe)(void *instance, wfe_buf *out, wfe_error *err);

  /*
   * [thread-safe] Optional (may be NULL). Returns the extension identified
   * by `id` (a reverse-DNS string such as "ai.kubernaut.wfe.foo/1"), or NULL
   * when the engine does not implement it. How later capabilities are added
   * without a major version.
   */
  const void *(*get_extension)(void *instance, const char *id);
} wfe_engine;

/* ---------------------------------------------------------------------------
 * A plugin: what wfe_plugin_entry returns. Static data of the plugin, valid
 * until it is unloaded.
 */
typedef struct wfe_plugin {
  uint32_t struct_size;
  /* The ABI the plugin was compiled against: WFE_ENGINE_ABI_MAJOR/MINOR. */
  uint16_t abi_major;
  uint16_t abi_minor;
  /* The plugin's name and version, for people and logs. */
  const char *name;
  const char *version;

  /*
   * [main-thread] Optional (may be NULL). Called once after loading, before
   * any engine is created. Returns WFE_OK, or a code with `err` filled; then
   * the host skips the plugin and reports why.
   */
  int32_t (*init)(const wfe_host *host, wfe_error *err);

  /* [main-thread] Optional (may be NULL). Called once before the host stops
   * using the plugin, after every engine instance is destroyed. */
  void (*fini)(void);

  /* The engines this plugin provides. */
  size_t engine_count;
  const wfe_engine *const *engines;
} wfe_plugin;

/* ---------------------------------------------------------------------------
 * The entry point. A plugin defines it with WFE_PLUGIN_EXPORT:
 *
 *   WFE_PLUGIN_EXPORT const wfe_plugin *wfe_plugin_entry(void)
 *   {
 *     return &my_plugin;
 *   }
 *
 * [main-thread] Returns a pointer to static data; never NULL for a valid
 * plugin. Must have no side effects: the host may call it more than once.
 */
#if defined(_WIN32)
#define WFE_PLUGIN_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define WFE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define WFE_PLUGIN_EXPORT
#endif

typedef const wfe_plugin *(*wfe_plugin_entry_fn)(void);

/* The entry every plugin defines (declared here so plugins built with
 * -Wmissing-prototypes need not declare it themselves). */
WFE_PLUGIN_EXPORT const wfe_plugin *wfe_plugin_entry(void);

/*
 * The usual way to write the above: WFE_PLUGIN_DEFINE defines the plugin's
 * descriptor, built against this header's ABI version, and the entry that
 * returns it. `plugin_name` and `plugin_version` are strings with static
 * storage; `init_fn` and `fini_fn` may be NULL; `engine_array` is an array
 * (not a pointer) of `const wfe_engine *`, whose length becomes
 * engine_count. Use it once, at file scope:
 *
 *   static const wfe_engine *const my_engines[] = {&my_engine};
 *   WFE_PLUGIN_DEFINE("acme", "1.0.0", NULL, NULL, my_engines)
 *
 * WFE_PLUGIN_DESCRIPTOR is the initializer alone, for a plugin that writes
 * its entry itself.
 */
#define WFE_PLUGIN_DESCRIPTOR(plugin_name, plugin_version, init_fn, fini_fn,   \
                              engine_array)                                    \
  {                                                                            \
    sizeof(wfe_plugin), WFE_ENGINE_ABI_MAJOR, WFE_ENGINE_ABI_MINOR,            \
        (plugin_name), (plugin_version), (init_fn), (fini_fn),                 \
        sizeof(engine_array) / sizeof((engine_array)[0]), (engine_array)       \
  }

#define WFE_PLUGIN_DEFINE(plugin_name, plugin_version, init_fn, fini_fn,       \
                          engine_array)                                        \
  static const wfe_plugin wfe_plugin_descriptor_ = WFE_PLUGIN_DESCRIPTOR(      \
      plugin_name, plugin_version, init_fn, fini_fn, engine_array);            \
  WFE_PLUGIN_EXPORT const wfe_plugin *wfe_plugin_entry(void)                   \
  {                                                                            \
    return &wfe_plugin_descriptor_;                                            \
  }

#ifdef __cplusplus
}
#endif

#endif /* WFE_ENGINE_H */
