/*
 * What the engine does with input nobody documented: error records on
 * failure, truncated, mistyped, deeply nested and huge documents, and many
 * threads at once. The controller checks each answer before it trusts it
 * (dispatch.c), and runs engines in a sandboxed host so a crash is
 * contained; the kit makes such faults visible before they ship.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "json_util.h"

#define DEEP_LEVELS 10000
#define HUGE_BYTES (8u << 20)
#define THREADS 8
#define CALLS_PER_THREAD 200

enum call_kind { CALL_RENDER, CALL_INTERPRET };

/* One call the robustness checks make, and whether it must fail. */
struct probe {
  const char *label;
  enum call_kind kind;
  char *input; /* owned */
  int must_fail;
};

static void call(struct check_kit *kit, enum call_kind kind, const char *input,
                 size_t len, struct check_call *out)
{
  if (kind == CALL_RENDER)
    check_call_render(kit, kit->instance, input, len, out);
  else
    check_call_interpret(kit, input, len, out);
}

/* An answer that is not an error must be a JSON object (interpret: with a
 * phase); an error must be well-formed. 1 when the answer is acceptable. */
static int judge(struct check_kit *kit, const struct probe *p,
                 struct wfe_buf *why)
{
  struct check_call c = CHECK_CALL_INIT;
  call(kit, p->kind, p->input, strlen(p->input), &c);
  int ok = 1;
  if (c.status != WFE_OK) {
    struct wfe_buf shape = WFE_BUF_INIT;
    ok = check_error_shape(&c, &shape);
    if (!ok)
      wfe_buf_printf(why, "%s: %s", p->label, wfe_buf_str(&shape));
    wfe_buf_free(&shape);
  } else if (p->must_fail) {
    ok = 0;
    wfe_buf_printf(why, "%s: succeeded; it must fail with a clear error",
                   p->label);
  } else {
    json_object *doc = wfe_json_parse(wfe_buf_str(&c.out), c.out.len);
    ok = json_object_is_type(doc, json_type_object) &&
         (p->kind == CALL_RENDER || wfe_json_get_string(doc, "phase"));
    if (!ok)
      wfe_buf_printf(
          why, "%s: answered OK with text that is not a %s", p->label,
          p->kind == CALL_RENDER ? "JSON object" : "document with a phase");
    json_object_put(doc);
  }
  check_call_free(&c);
  return ok;
}

static int judge_all(struct check_kit *kit, struct probe *probes, size_t count,
                     struct wfe_buf *why)
{
  int ok = 1;
  for (size_t i = 0; i < count; i++) {
    if (!probes[i].input) {
      wfe_buf_printf(why, "%s: out of memory building the input",
                     probes[i].label);
      ok = 0;
    } else if (!judge(kit, &probes[i], why)) {
      ok = 0;
      wfe_buf_puts(why, "; ");
    }
    free(probes[i].input);
  }
  if (!ok && why->len >= 2 && strcmp(why->data + why->len - 2, "; ") == 0)
    why->data[why->len -= 2] = '\0';
  return ok;
}

static char *truncated(const char *text, size_t len)
{
  return strndup(text, len / 2);
}

/* `text` (a JSON object) with `path`'s member replaced by `value` (taken);
 * NULL on failure. */
static char *with_member(const char *text, size_t len, const char *path,
                         json_object *value)
{
  json_object *doc = wfe_json_parse(text, len);
  const char *dot = strrchr(path, '.');
  char *parent_path = dot ? strndup(path, (size_t)(dot - path)) : NULL;
  json_object *parent =
      parent_path ? wfe_json_ensure_object(doc, parent_path) : doc;
  char *out = NULL;
  if (parent && value &&
      json_object_object_add(parent, dot ? dot + 1 : path, value) == 0) {
    value = NULL;
    const char *t = wfe_json_text(doc, NULL);
    out = t ? strdup(t) : NULL;
  }
  json_object_put(value);
  json_object_put(doc);
  free(parent_path);
  return out;
}

/* `text` with `member` set to raw JSON `raw` spliced in after the opening
 * brace: how a nesting too deep for any parser is built without one. */
static char *with_raw_member(const char *text, const char *member,
                             const char *raw)
{
  const char *brace = strchr(text, '{');
  char *out = NULL;
  if (brace && asprintf(&out, "{\"%s\":%s,%s", member, raw, brace + 1) < 0)
    out = NULL;
  return out;
}

static int robust_truncated(struct check_kit *kit, const void *arg,
                            struct wfe_buf *why)
{
  (void)arg;
  struct probe probes[] = {
      {"render of a truncated execution", CALL_RENDER,
       truncated(kit->execution, kit->execution_len), 1},
      {"interpret of a truncated run", CALL_INTERPRET,
       truncated(kit->run, kit->run_len), 1},
  };
  return judge_all(kit, probes, 2, why);
}

/* Refused with a clear error or answered: an engine need not read every
 * field (the host checked the CRD's schema), but must not trust a type. */
static int robust_mistyped(struct check_kit *kit, const void *arg,
                           struct wfe_buf *why)
{
  (void)arg;
  const char *e = kit->execution, *r = kit->run;
  size_t el = kit->execution_len, rl = kit->run_len;
  struct probe probes[] = {
      {"render with spec.workflowRef.containerImage a number", CALL_RENDER,
       with_member(e, el, "spec.workflowRef.containerImage",
                   json_object_new_int(42)),
       0},
      {"render with spec.parameters a string", CALL_RENDER,
       with_member(e, el, "spec.parameters", json_object_new_string("x")), 0},
      {"render with metadata.name a number", CALL_RENDER,
       with_member(e, el, "metadata.name", json_object_new_int(7)), 0},
      {"interpret with status a string", CALL_INTERPRET,
       with_member(r, rl, "status", json_object_new_string("x")), 0},
      {"interpret with status.conditions a number", CALL_INTERPRET,
       with_member(r, rl, "status.conditions", json_object_new_int(5)), 0},
      {"interpret with metadata an array", CALL_INTERPRET,
       with_member(r, rl, "metadata", json_object_new_array()), 0},
  };
  return judge_all(kit, probes, sizeof(probes) / sizeof(probes[0]), why);
}

static char *deep_array(void)
{
  char *raw = malloc(2 * DEEP_LEVELS + 1);
  if (raw) {
    memset(raw, '[', DEEP_LEVELS);
    memset(raw + DEEP_LEVELS, ']', DEEP_LEVELS);
    raw[2 * DEEP_LEVELS] = '\0';
  }
  return raw;
}

static int robust_deep_nesting(struct check_kit *kit, const void *arg,
                               struct wfe_buf *why)
{
  (void)arg;
  char *deep = deep_array();
  if (!deep)
    return wfe_buf_puts(why, "out of memory"), 0;
  struct probe probes[] = {
      {"render of an execution nested 10000 levels deep", CALL_RENDER,
       with_raw_member(kit->execution, "deep", deep), 0},
      {"interpret of a run nested 10000 levels deep", CALL_INTERPRET,
       with_raw_member(kit->run, "deep", deep), 0},
  };
  free(deep);
  return judge_all(kit, probes, 2, why);
}

static json_object *huge_string(void)
{
  char *text = malloc(HUGE_BYTES + 1);
  if (!text)
    return NULL;
  memset(text, 'x', HUGE_BYTES);
  text[HUGE_BYTES] = '\0';
  json_object *s = json_object_new_string_len(text, (int)HUGE_BYTES);
  free(text);
  return s;
}

static int robust_huge(struct check_kit *kit, const void *arg,
                       struct wfe_buf *why)
{
  (void)arg;
  struct probe probes[] = {
      {"render with an 8 MiB parameter value", CALL_RENDER,
       with_member(kit->execution, kit->execution_len, "spec.parameters.HUGE",
                   huge_string()),
       0},
      {"interpret with an 8 MiB status message", CALL_INTERPRET,
       with_member(kit->run, kit->run_len, "status.message", huge_string()), 0},
  };
  return judge_all(kit, probes, 2, why);
}

/* Inputs every engine must refuse, each failure judged by its record. */
static int errors_shape(struct check_kit *kit, const void *arg,
                        struct wfe_buf *why)
{
  (void)arg;
  struct probe probes[] = {
      {"render of text that is not JSON", CALL_RENDER, strdup("not json"), 1},
      {"render of an execution without spec", CALL_RENDER,
       strdup("{\"apiVersion\":\"kubernaut.ai/v1alpha1\","
              "\"kind\":\"WorkflowExecution\",\"metadata\":{\"name\":\"x\","
              "\"namespace\":\"y\",\"uid\":\"z\"}}"),
       1},
      {"render of a JSON array", CALL_RENDER, strdup("[]"), 1},
      {"interpret of text that is not JSON", CALL_INTERPRET, strdup("not json"),
       1},
      {"interpret of a JSON array", CALL_INTERPRET, strdup("[]"), 1},
  };
  return judge_all(kit, probes, sizeof(probes) / sizeof(probes[0]), why);
}

/* ---- concurrency ---- */

struct expected_answer {
  int32_t status;
  char *text;
};

struct worker {
  struct check_kit *kit;
  const struct expected_answer *expected; /* [CALL_RENDER], [CALL_INTERPRET] */
  int mismatches;
};

static int answer_matches(const struct check_call *c,
                          const struct expected_answer *e)
{
  return c->status == e->status && strcmp(wfe_buf_str(&c->out), e->text) == 0;
}

static void *work(void *arg)
{
  struct worker *w = arg;
  struct check_kit *kit = w->kit;
  for (int i = 0; i < CALLS_PER_THREAD; i++) {
    enum call_kind kind = i % 2 ? CALL_INTERPRET : CALL_RENDER;
    const char *input = kind == CALL_RENDER ? kit->execution : kit->run;
    size_t len = kind == CALL_RENDER ? kit->execution_len : kit->run_len;
    struct check_call c = CHECK_CALL_INIT;
    call(kit, kind, input, len, &c);
    w->mismatches += !answer_matches(&c, &w->expected[kind]);
    check_call_free(&c);
  }
  return NULL;
}

static int serial_answer(struct check_kit *kit, enum call_kind kind,
                         struct expected_answer *out)
{
  struct check_call c = CHECK_CALL_INIT;
  call(kit, kind, kind == CALL_RENDER ? kit->execution : kit->run,
       kind == CALL_RENDER ? kit->execution_len : kit->run_len, &c);
  out->status = c.status;
  out->text = strdup(wfe_buf_str(&c.out));
  check_call_free(&c);
  return out->text ? 0 : WFE_E_NOMEM;
}

static int concurrency(struct check_kit *kit, const void *arg,
                       struct wfe_buf *why)
{
  (void)arg;
  struct expected_answer expected[2] = {{0, NULL}, {0, NULL}};
  struct worker workers[THREADS];
  pthread_t threads[THREADS];
  int started = 0, mismatches = 0;
  /* The workers' stacks are an engine host's, like the check's own. */
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) ||
      pthread_attr_setstacksize(&attr, WFE_ENGINE_HOST_STACK_SIZE))
    wfe_buf_puts(why, "could not set up threads");
  else if (serial_answer(kit, CALL_RENDER, &expected[CALL_RENDER]) ||
           serial_answer(kit, CALL_INTERPRET, &expected[CALL_INTERPRET]))
    wfe_buf_puts(why, "out of memory");
  else
    for (; started < THREADS; started++) {
      workers[started] = (struct worker){kit, expected, 0};
      if (pthread_create(&threads[started], &attr, work, &workers[started]))
        break;
    }
  pthread_attr_destroy(&attr);
  for (int i = 0; i < started; i++) {
    pthread_join(threads[i], NULL);
    mismatches += workers[i].mismatches;
  }
  free(expected[0].text);
  free(expected[1].text);
  if (started < THREADS && !why->len)
    wfe_buf_printf(why, "could start only %d threads", started);
  else if (mismatches)
    wfe_buf_printf(why,
                   "%d of %d concurrent render and interpret calls "
                   "answered differently than the same call alone",
                   mismatches, THREADS * CALLS_PER_THREAD);
  return started == THREADS && mismatches == 0;
}

int check_errors(struct check_kit *kit)
{
  return check_isolated(kit, "errors.shape", errors_shape, NULL, 30);
}

int check_robustness(struct check_kit *kit)
{
  int rc = check_isolated(kit, "robust.truncated", robust_truncated, NULL, 30);
  if (!rc)
    rc = check_isolated(kit, "robust.mistyped", robust_mistyped, NULL, 30);
  if (!rc)
    rc = check_isolated(kit, "robust.deep-nesting", robust_deep_nesting, NULL,
                        60);
  if (!rc)
    rc = check_isolated(kit, "robust.huge", robust_huge, NULL, 120);
  return rc;
}

int check_concurrency(struct check_kit *kit)
{
  return check_isolated(kit, "concurrency", concurrency, NULL, 300);
}
