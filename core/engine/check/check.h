/*
 * wfe-engine-check: the conformance kit for engine plugins. It loads a
 * plugin with the core's own loader (plugin.h), gives it a fake host that
 * serves objects from the engine's test vectors, and runs the contract of
 * docs/plugin-abi.md as named checks. Each check that calls into the engine
 * runs in a process of its own, so an engine that crashes or hangs fails that
 * check and the kit goes on. See docs/engine-check.md.
 */
#ifndef WFE_ENGINE_CHECK_H
#define WFE_ENGINE_CHECK_H

#include <stddef.h>

#include <wfe/engine.h>

#include "buf.h"
#include "error.h"
#include "host.h"
#include "plugin.h"

/* ---- vectors (vectors.c) ---- */

/* One object the fake host serves, indexed by what the object says of
 * itself, never by a file name. */
struct check_object {
  char *api_version;
  char *resource;       /* the folder it was found in: host/<resource>/ */
  char *namespace_name; /* "" for cluster-scoped objects */
  char *name;
  char *json; /* the object's text, compact */
};

/* A render or interpret case: render/<name>/ or interpret/<name>/. */
struct check_case {
  char *name;
  char *input; /* execution.json or run.json */
  size_t input_len;
  char *expected; /* expected.json */
  char *config;   /* render only: config.json, or NULL */
  size_t config_len;
  /* expected.json is {"error": {...}}: a refusal */
  int expects_error;
};

struct check_vectors {
  struct check_case *render;
  size_t render_count;
  struct check_case *interpret;
  size_t interpret_count;
  struct check_object *objects;
  size_t object_count;
};

/* Reads `dir` (layout in docs/engine-check.md). Returns 0 or a WFE_E_*
 * code with `err` naming the file. */
int check_vectors_read(const char *dir, struct check_vectors *out,
                       struct wfe_error *err);
void check_vectors_free(struct check_vectors *v);

/* Reads a whole file into a NUL-terminated string (*out, caller frees). */
int check_read_file(const char *path, char **out, size_t *out_len,
                    struct wfe_error *err);

/* ---- the fake host (fake_host.c) ---- */

/* Fills `services` with the core's host table, answering get_object and
 * list_objects from `v` and recording how engines fill error records. */
void check_host_init(struct wfe_host_services *services,
                     const struct check_vectors *v);

/* ---- results (report.c) ---- */

enum check_format { CHECK_TEXT, CHECK_TAP, CHECK_JSON };

struct check_result {
  char *name;
  int ok;
  int skip;
  char *message; /* why it failed or was skipped; may be NULL */
};

struct check_report {
  struct check_result *results;
  size_t count;
};

/* Records a result; `message` may be NULL. 0 or WFE_E_NOMEM. */
int check_report_add(struct check_report *r, const char *name, int ok, int skip,
                     const char *message);
size_t check_report_failed(const struct check_report *r);
/* Prints every result and the summary in `format` to stdout. */
int check_report_print(const struct check_report *r, enum check_format format);
void check_report_free(struct check_report *r);

/* ---- the kit ---- */

struct check_kit {
  const char *self; /* this program, and how it was started: each check */
  char **argv;      /* runs in a fresh process of it (isolate.c) */
  const char *plugin_path;
  const char *engine_name; /* --engine, or NULL: the plugin's only one */
  char *config;            /* --config's text, or "{}" */
  size_t config_len;
  struct check_vectors vectors;
  struct wfe_host_services services;
  struct wfe_plugin_image *image;
  const wfe_engine *engine;
  void *instance; /* from create; NULL is a valid instance */
  int created;
  /* What the checks feed the engine when no vector says otherwise. */
  char *execution;
  size_t execution_len;
  char *run;
  size_t run_len;
  struct check_report report;
};

/* A check body, run in a process of its own: returns 1 when it passed, 0 when
 * it failed, -1 when it does not apply (skipped), with the reason in `why`. */
typedef int (*check_fn)(struct check_kit *kit, const void *arg,
                        struct wfe_buf *why);

/* Runs `fn` in a child process and records the result under `name`. The
 * child is this program started afresh (CHECK_ONLY_ENV=name), which loads
 * the plugin anew and runs only that check: a forked copy of a process
 * whose plugin started threads (a Go runtime) would have lost them. A
 * crash, an exit or a hang (`timeout_s`) of the child fails the check.
 * With CHECK_IN_PROCESS_ENV=1 (the kit's valgrind run) it runs in this
 * process instead.
 * Returns 0 or WFE_E_NOMEM. */
/* Appends what `fd` gives until its end to `out`. 0 or WFE_E_NOMEM. */
int check_read_fd(int fd, struct wfe_buf *out);

#define CHECK_IN_PROCESS_ENV "WFE_ENGINE_CHECK_IN_PROCESS"
/* Set in a process the kit started to run the one check it names. */
#define CHECK_ONLY_ENV "WFE_ENGINE_CHECK_ONLY"
/* What such a process exits with when it never reached its check. */
#define CHECK_EXIT_NOT_REACHED 72

/* This program's file (readlink of /proc/self/exe; under valgrind that
 * would name valgrind, so it is read before). Caller frees; NULL on
 * failure. */
char *check_self_path(void);
int check_isolated(struct check_kit *kit, const char *name, check_fn fn,
                   const void *arg, unsigned timeout_s);

/* ---- calls and answers (calls.c) ---- */

/* One call's result: the status, the answer and the error record. */
struct check_call {
  int32_t status;
  struct wfe_buf out;
  struct wfe_error err;
};
#define CHECK_CALL_INIT                                                        \
  {                                                                            \
    0, WFE_BUF_INIT, WFE_ERROR_INIT                                            \
  }

void check_call_free(struct check_call *call);
/* validate then render, as the controller calls them. */
void check_call_render(const struct check_kit *kit, void *instance,
                       const char *json, size_t len, struct check_call *out);
void check_call_interpret(const struct check_kit *kit, const char *json,
                          size_t len, struct check_call *out);
void check_call_cancel(const struct check_kit *kit, const char *json,
                       size_t len, struct check_call *out);
/* Appends to `why` what is wrong with the error record of a failed call
 * (code, reason, field, message); returns 1 when it is well-formed. */
int check_error_shape(const struct check_call *call, struct wfe_buf *why);
/* Compares `actual` to `expected` as JSON values, not as text. Returns 1
 * when equal; otherwise 0 with the first difference in `why`. */
int check_json_equal(const char *actual, const char *expected,
                     struct wfe_buf *why);
/* metadata.name of a run object's text, or NULL; caller frees. */
char *check_run_name(const char *run_json);

/* ---- the checks (checks_*.c): each adds its results to kit->report ---- */

/* check_load returns 1 when the plugin took its process down: stop. */
int check_load(struct check_kit *kit);
int check_descriptor(struct check_kit *kit);
int check_create(struct check_kit *kit);
int check_render(struct check_kit *kit);
int check_interpret(struct check_kit *kit);
int check_errors(struct check_kit *kit);
int check_robustness(struct check_kit *kit);
int check_concurrency(struct check_kit *kit);
/* Runs this command (`argv`) again under valgrind: the check "leaks". */
int check_leaks(struct check_kit *kit, int argc, char **argv);

#endif
